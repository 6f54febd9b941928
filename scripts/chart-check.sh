#!/bin/sh
# chart-check.sh validates the config.toml the Helm chart renders from your
# values with `portcullis check`, without a cluster and without your secrets:
# for CI, before `helm upgrade`. The rendered configuration names its secret
# files under secretsDir; the pods get them from the Secret, CI has none, and
# check refuses a file it cannot read. So this renders with secretsDir in a
# temporary directory and puts stand-ins there: a random session secret, a
# fresh P-256 key, placeholder client secret and Redis password. It judges
# the configuration, not your secret values: `helm test RELEASE` checks those
# in the cluster, as the pods mount them.
#
# Usage: scripts/chart-check.sh [--strict] CHART [helm template flags: -f values.yaml, --set ...]
# --strict is check's: warnings fail too (every flag after CHART is helm's).
# Give the flags your deployment uses (with existingSecret, or the secrets.*
# values, since helm template cannot generate secrets). PORTCULLIS names the
# binary (default: portcullis on PATH), HELM helm's. Exit codes are
# check's: 0 valid, 2 problems (or warnings, with --strict); 1 when the chart
# does not render. A helm built with `go install` renders for Kubernetes
# v1.20, below the chart's kubeVersion: add --kube-version (your cluster's).
set -eu

strict=
if [ "${1:-}" = --strict ]; then
	strict=--strict
	shift
fi
[ $# -ge 1 ] || { echo "usage: $0 [--strict] CHART [helm template flags]" >&2; exit 1; }
chart=$1
shift
portcullis=${PORTCULLIS:-portcullis}
helm=${HELM:-helm}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
secrets=$tmp/secrets
mkdir -m 700 "$secrets"

"$helm" template chart-check "$chart" "$@" --set secretsDir="$secrets" \
	--show-only templates/configmap.yaml >"$tmp/configmap.yaml" || exit 1
# The ConfigMap's only data key is config.toml, a literal block indented by 4.
awk 'found { print substr($0, 5) } /^  config\.toml: \|/ { found = 1 }' \
	"$tmp/configmap.yaml" >"$tmp/config.toml"
[ -s "$tmp/config.toml" ] || { echo "$0: no config.toml in the rendered ConfigMap" >&2; exit 1; }

openssl rand -base64 32 >"$secrets/session-secrets"
openssl ecparam -name prime256v1 -genkey -noout -out "$secrets/assertion-key.pem" 2>/dev/null
echo stand-in-client-secret >"$secrets/client-secret"
echo stand-in-redis-password >"$secrets/redis-password"

rc=0
"$portcullis" check $strict --config "$tmp/config.toml" || rc=$?
exit "$rc"
