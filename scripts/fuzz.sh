#!/usr/bin/env bash
# Runs every Go fuzz target in the repository for COUNT executions each
# (default 5000x: the smoke run of `make test`; the nightly workflow
# .github/workflows/fuzz.yml runs far more). Each target's seeds also run
# as a plain test in every `go test`; this adds new inputs. A failure
# leaves its input in the package's testdata/fuzz/ to be committed with
# the fix, as a seed. Every target runs; the failed ones are listed at the end.
#
# Each package's instrumented test binary is built once (`go test -c
# -fuzz`) and run for each of its targets, from the package's directory
# and with the fuzz cache `go test -fuzz` uses: `go test -fuzz` per target
# linked the binary anew each time, which was most of the smoke run's
# minutes.
#
# A count, not a duration: a duration-based -fuzztime races the fuzzing
# coordinator's deadline in Go 1.26 and fails with "context deadline
# exceeded" and no crasher (golang/go#75804, fixed in Go 1.27).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
count=${1:-5000x}
case "$count" in
  *[0-9]x) ;;
  *) echo "usage: $0 [COUNTx]   (e.g. 5000x)" >&2; exit 2 ;;
esac
bins=$(mktemp -d)
failures=$bins/failures
trap 'rm -rf "$bins"' EXIT
fuzzcache="$(go env GOCACHE)/fuzz"
# By package and name: one name may be a target in two packages, and each
# package's must run.
# "DIR NAME" lines, DIR "." for the root package.
targets=$(git ls-files -z '*_test.go' | xargs -r0 grep -Ho '^func Fuzz[A-Za-z0-9_]*' |
  sed -e 's/:func / /' -e 's#^[^/]* #./& #' -e 's#/[^/ ]* # #' | sort -u)
for pkg in $(printf '%s\n' "$targets" | cut -d' ' -f1 | sort -u); do
  bin="$bins/${pkg//\//_}.test"
  if ! go test -c -fuzz '^Fuzz' -o "$bin" "./$pkg/"; then
    echo "$pkg (build)" >>"$failures"
    continue
  fi
  importpath=$(go list "./$pkg/")
  for name in $(printf '%s\n' "$targets" | awk -v p="$pkg" '$1 == p { print $2 }'); do
    echo "fuzz: $pkg $name"
    (cd "$root/$pkg" && "$bin" -test.run '^$' -test.fuzz "^$name\$" -test.fuzztime "$count" \
      -test.fuzzcachedir "$fuzzcache/$importpath") || echo "$pkg $name" >>"$failures"
  done
done
if [ -s "$failures" ]; then
  sed 's/^/fuzz: failed: /' "$failures" >&2
  exit 1
fi
