#!/usr/bin/env bash
# Runs every Go fuzz target in the repository for COUNT executions each
# (default 5000x: the smoke run of `make test`; the nightly workflow
# .github/workflows/fuzz.yml runs far more). Each target's seeds also run
# as a plain test in every `go test`; this adds new inputs. A failure
# leaves its input in the package's testdata/fuzz/ to be committed with
# the fix, as a seed. Every target runs; the failed ones are listed at the end.
#
# A count, not a duration: a duration-based -fuzztime races the fuzzing
# coordinator's deadline in Go 1.26 and fails with "context deadline
# exceeded" and no crasher (golang/go#75804, fixed in Go 1.27).
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-5000x}
case "$count" in
  *[0-9]x) ;;
  *) echo "usage: $0 [COUNTx]   (e.g. 5000x)" >&2; exit 2 ;;
esac
# FUZZ_LANES targets at a time (default 1). With warm build caches two
# save time (4:24 -> 2:47 for the 44 targets on a busy machine), since each
# target spends most of its seconds linking and running its corpus; with
# cold caches two concurrent builds compile the same instrumented packages
# twice (9:24 against 5:52 one at a time), so one is the default. A
# target's output is shown whole once it ends.
lanes=${FUZZ_LANES:-1}
failures=$(mktemp)
trap 'rm -f "$failures"' EXIT
fuzz_one() {
  local out
  out=$(go test -run '^$' -fuzz "^$2\$" -fuzztime "$count" "./$1/" 2>&1) || echo "$1 $2" >>"$failures"
  printf '%s\n' "$out"
}
# By package and name: one name may be a target in two packages, and each
# package's must run.
for entry in $(git ls-files -z '*_test.go' | xargs -r0 grep -Ho '^func Fuzz[A-Za-z0-9_]*' | sed 's/:func /:/' | sort -u); do
  while [ "$(jobs -rp | wc -l)" -ge "$lanes" ]; do wait -n || true; done
  fuzz_one "$(dirname "${entry%%:*}")" "${entry#*:}" &
done
wait
if [ -s "$failures" ]; then
  sed 's/^/fuzz: failed: /' "$failures" >&2
  exit 1
fi
