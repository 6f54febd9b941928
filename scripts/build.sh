#!/bin/sh
# build.sh is the one build command of the release binary. The Dockerfile's
# build stage runs it, and scripts/docker-build-check.sh runs the Dockerfile's
# RUN line locally, so the image and the check can never build differently.
#
# Environment: VERSION and COMMIT are stamped into main.version/main.commit;
# OUT is the output path (default /out/portcullis, the path the Dockerfile copies);
# GOOS and GOARCH choose the target platform (default: this machine's), as the
# Dockerfile (TARGETOS/TARGETARCH) and scripts/release.sh set them.
set -eu
VERSION="${VERSION:-dev}"
COMMIT="${COMMIT:-unknown}"
OUT="${OUT:-/out/portcullis}"
# CGO off: a static binary that runs on distroless/static or scratch.
# -buildvcs=false: the Docker context has no .git; the commit comes from COMMIT.
export CGO_ENABLED=0
exec go build -buildvcs=false -trimpath \
	-ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
	-o "${OUT}" ./cmd/portcullis
