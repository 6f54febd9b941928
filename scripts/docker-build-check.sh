#!/bin/sh
# docker-build-check.sh proves, without a Docker engine, that the Dockerfile's
# build command produces a static binary that runs and carries its stamped
# version, and that it cross-compiles for every platform of the multi-arch
# image the way buildx runs it (TARGETOS/TARGETARCH). It takes the RUN line of
# the build stage that calls scripts/build.sh verbatim from the Dockerfile and
# runs it here with the same build arguments, then checks the image
# invariants the Dockerfile promises.
#
# Usage: scripts/docker-build-check.sh   (from anywhere; exits non-zero on any failure)
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
dockerfile=Dockerfile
fail() { echo "docker-build-check: FAIL: $*" >&2; exit 1; }
ok() { echo "docker-build-check: ok: $*"; }

for tool in go readelf file awk; do
	command -v "$tool" >/dev/null 2>&1 || fail "$tool not found on PATH (readelf: Debian package binutils)"
done

# 1. The build stage is pinned to go.mod's Go version.
gomod_go=$(awk '$1 == "toolchain" { sub(/^go/, "", $2); t = $2 } $1 == "go" { g = $2 } END { print (t != "" ? t : g) }' go.mod)
[ -n "$gomod_go" ] || fail "no go line in go.mod"
build_line=$(awk 'toupper($1) == "FROM" && $NF == "build" && toupper($(NF-1)) == "AS" { print; exit }' "$dockerfile")
build_from=$(printf '%s\n' "$build_line" | awk '{ for (i = 2; i <= NF; i++) if ($i !~ /^--/) { print $i; exit } }')
# A base image may carry its digest (image:tag@sha256:...), which Dependabot
# then keeps current with the tag; the tag is what is checked.
strip_digest() { printf '%s\n' "$1" | sed 's/@sha256:[0-9a-f]\{64\}$//'; }
build_from=$(strip_digest "$build_from")
[ "$build_from" = "golang:$gomod_go" ] || fail "build stage is FROM $build_from, want golang:$gomod_go (go.mod)"
ok "build stage $build_from matches go.mod"
# Multi-arch: the compiler runs on the builder's platform and cross-compiles.
case "$build_line" in
*'--platform=$BUILDPLATFORM '*) ok "build stage runs on \$BUILDPLATFORM" ;;
*) fail "build stage is not FROM --platform=\$BUILDPLATFORM: $build_line" ;;
esac
grep -qx 'ARG TARGETOS' "$dockerfile" || fail "no ARG TARGETOS in the build stage"
grep -qx 'ARG TARGETARCH' "$dockerfile" || fail "no ARG TARGETARCH in the build stage"

# 2. Final stage and runtime invariants.
final_from=$(strip_digest "$(awk 'toupper($1) == "FROM" { f = $2 } END { print f }' "$dockerfile")")
[ "$final_from" = "gcr.io/distroless/static-debian12:nonroot" ] || fail "final stage is $final_from"
grep -qx 'USER 65532:65532' "$dockerfile" || fail "missing USER 65532:65532"
grep -qx 'ENTRYPOINT \["/portcullis"\]' "$dockerfile" || fail "missing ENTRYPOINT [\"/portcullis\"]"
grep -qx 'CMD \["serve", "--config", "/etc/portcullis/config.toml"\]' "$dockerfile" || fail "missing CMD"
grep -qx 'EXPOSE 4180 9180' "$dockerfile" || fail "missing EXPOSE 4180 9180"
ok "final stage $final_from, USER, ENTRYPOINT, CMD, EXPOSE"

# 3. The exact build command: the build stage's RUN line that calls scripts/build.sh.
run_lines=$(awk 'toupper($1) == "RUN" && /scripts\/build\.sh/ { sub(/^[ \t]*[Rr][Uu][Nn][ \t]+/, ""); print }' "$dockerfile")
[ -n "$run_lines" ] || fail "no RUN line calling scripts/build.sh in $dockerfile"
[ "$(printf '%s\n' "$run_lines" | wc -l)" -eq 1 ] || fail "more than one RUN line calls scripts/build.sh"
case "$run_lines" in
*'GOOS="${TARGETOS}"'*'GOARCH="${TARGETARCH}"'*) ;;
*) fail "the build command does not pass TARGETOS/TARGETARCH as GOOS/GOARCH: $run_lines" ;;
esac
# The same build arguments the Dockerfile declares, with check values.
version="check-$(date +%s)"
commit="0123456789abcdef0123456789abcdef01234567"
grep -q '^ARG VERSION' "$dockerfile" || fail "no ARG VERSION"
grep -q '^ARG COMMIT' "$dockerfile" || fail "no ARG COMMIT"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
bin="$tmp/portcullis"
# run_build OS ARCH OUT runs the build command as buildx does for OS/ARCH.
# The golang image sets no GOFLAGS, GOOS, GOARCH and no CGO_ENABLED; none may
# leak in from here. BuildKit sets the TARGET* build arguments.
run_build() {
	env -u GOFLAGS -u CGO_ENABLED -u GOOS -u GOARCH TARGETOS="$1" TARGETARCH="$2" \
		VERSION="$version" COMMIT="$commit" OUT="$3" sh -c "$run_lines"
}
host_os=$(go env GOHOSTOS) host_arch=$(go env GOHOSTARCH)
echo "docker-build-check: running: $run_lines (TARGETOS=$host_os TARGETARCH=$host_arch VERSION=$version COMMIT=$commit OUT=$bin)"
run_build "$host_os" "$host_arch" "$bin" || fail "build command failed"
[ -x "$bin" ] || fail "no binary at $bin"
ok "built $bin"
# The image's platforms (release.yml: linux/amd64,linux/arm64): each build is
# an ELF executable for its machine.
for arch in amd64 arm64; do
	out="$tmp/portcullis-linux-$arch"
	run_build linux "$arch" "$out" || fail "build command failed for linux/$arch"
	machine=$(readelf -h "$out" | awk -F: '/Machine:/ { gsub(/^[ \t]+/, "", $2); print $2 }')
	case "$arch:$machine" in
	"amd64:Advanced Micro Devices X86-64" | "arm64:AArch64") ok "linux/$arch: $machine" ;;
	*) fail "linux/$arch build is for machine \"$machine\"" ;;
	esac
done
# An empty TARGETOS/TARGETARCH (plain docker build without BuildKit) builds for the host.
run_build "" "" "$tmp/portcullis-default" || fail "build command failed without TARGETOS/TARGETARCH"
ok "empty TARGETOS/TARGETARCH builds for the host"

# 4. Static: no dynamic section, no interpreter.
readelf_out=$(readelf -d "$bin" 2>&1 || true)
case "$readelf_out" in
*"There is no dynamic section"*) ok "readelf -d: no dynamic section" ;;
*) fail "readelf -d shows a dynamic section: $readelf_out" ;;
esac
if readelf -l "$bin" | grep -q 'INTERP'; then fail "binary has a program interpreter"; fi
file_out=$(file "$bin")
case "$file_out" in
*"statically linked"*) ok "file: statically linked" ;;
*) fail "file does not say statically linked: $file_out" ;;
esac
# -s -w: no symbol table.
if readelf -S "$bin" | grep -q '\.symtab'; then fail "binary keeps its symbol table (-s missing)"; fi
ok "stripped (no .symtab)"

# 5. It runs and prints the stamped version and commit.
out=$("$bin" version) || fail "$bin version exited non-zero"
case "$out" in
"portcullis $version (commit $commit, go"*) ok "version: $out" ;;
*) fail "version output is not stamped: $out" ;;
esac
echo "docker-build-check: PASS"
