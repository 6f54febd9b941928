# syntax=docker/dockerfile:1
#
# Portcullis container image: a static binary on distroless static (nonroot).
#   docker build --build-arg VERSION=1.2.3 --build-arg COMMIT=$(git rev-parse HEAD) -t portcullis .
# Multi-arch (what .github/workflows/release.yml does):
#   docker buildx build --platform linux/amd64,linux/arm64 --build-arg VERSION=1.2.3 ... .
# The build stage runs on the builder's own platform and cross-compiles for
# TARGETOS/TARGETARCH (set by buildx), so no emulation runs the compiler.
# scripts/docker-build-check.sh runs this file's build command locally and
# proves the result is static, stamped and built for the target platform
# (there is no Docker engine in CI).

# The Go version must equal the `go` line of go.mod (the check enforces it).
# Base images are named by tag, not yet by digest. To pin them, write
# image:tag@sha256:<digest> (docker buildx imagetools inspect image:tag);
# Dependabot (.github/dependabot.yml) then keeps tag and digest current
# together, and scripts/docker-build-check.sh accepts either form.
FROM --platform=$BUILDPLATFORM golang:1.26.8 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
# Set by buildx from --platform; empty with a plain `docker build` (the host's platform).
ARG TARGETOS
ARG TARGETARCH
# The one build command lives in scripts/build.sh (CGO_ENABLED=0, -trimpath,
# -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}").
RUN GOOS="${TARGETOS}" GOARCH="${TARGETARCH}" VERSION="${VERSION}" COMMIT="${COMMIT}" sh scripts/build.sh

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/portcullis /portcullis
# distroless "nonroot" is uid/gid 65532; numeric so runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 4180 9180
ENTRYPOINT ["/portcullis"]
CMD ["serve", "--config", "/etc/portcullis/config.toml"]
