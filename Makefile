.PHONY: test demo build bench release

# Installs what the tests need (apt-get, go install, npm) and runs all of them.
test:
	./scripts/test.sh

# Runs the self-contained demo on 127.0.0.1.
demo:
	go run ./cmd/portcullis demo

build:
	CGO_ENABLED=0 go build -trimpath -o bin/portcullis ./cmd/portcullis

# Release binaries for linux/amd64, linux/arm64 and darwin/arm64 with SHA256SUMS in dist/
# (VERSION defaults to the git tag; see scripts/release.sh).
release:
	VERSION="$(VERSION)" COMMIT="$(COMMIT)" ./scripts/release.sh

bench:
	go test -run '^$$' -bench . -benchmem ./internal/cache/ ./policy/ ./session/ ./idp/ ./proxy/
