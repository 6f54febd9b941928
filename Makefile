.PHONY: test demo build bench

# Installs what the tests need (apt-get, go install, npm) and runs all of them.
test:
	./scripts/test.sh

# Runs the self-contained demo on 127.0.0.1.
demo:
	go run ./cmd/portcullis demo

build:
	CGO_ENABLED=0 go build -trimpath -o bin/portcullis ./cmd/portcullis

bench:
	go test -run '^$$' -bench . -benchmem ./internal/cache/ ./policy/ ./session/ ./idp/ ./proxy/
