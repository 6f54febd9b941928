#!/usr/bin/env bash
# Installs the Traefik the forward-auth tests run docs/forward-auth/traefik.yaml
# behind, as $(go env GOPATH)/bin/traefik. Traefik has no Debian package and
# its module cannot be "go install"ed (its go.mod has replace directives), so
# this builds its published Go module source as the main module. ACME's DNS
# challenge providers (about 850 packages of cloud SDKs, a third of the
# build) are left out: the tests use plain HTTP and the file provider.
set -euo pipefail
version=v3.6.12
bin="$(go env GOPATH)/bin/traefik"
# The version's output is read whole before it is searched: with pipefail, a
# reader that stops early (grep -q, head -1) makes Traefik's next write fail
# with SIGPIPE, and the pipeline, so the script, fail at random.
if [ -x "$bin" ] && [[ "$("$bin" version 2>/dev/null || true)" =~ Version:\ *${version#v}($'\n'|$) ]]; then
  exit 0
fi
work=$(mktemp -d)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
src=$(cd "$work" && go mod download -json "github.com/traefik/traefik/v3@$version" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$src" ] || { echo "install-traefik: no source for $version" >&2; exit 1; }
cp -r "$src" "$work/traefik"
chmod -R u+w "$work/traefik"
acme="$work/traefik/pkg/provider/acme/provider.go"
call='provider, err = dns.NewDNSChallengeProviderByName(p.DNSChallenge.Provider)'
grep -qF "$call" "$acme" || { echo "install-traefik: $acme changed; update this script" >&2; exit 1; }
sed -i -e 's#"github.com/go-acme/lego/v4/providers/dns"##' \
  -e "s#$call#err = fmt.Errorf(\"DNS challenges are not built in\")#" "$acme"
(cd "$work/traefik" && CGO_ENABLED=0 go build -trimpath \
  -ldflags "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=${version#v}" \
  -o "$bin.new" ./cmd/traefik)
mv "$bin.new" "$bin"
out=$("$bin" version)
echo "${out%%$'\n'*}"
