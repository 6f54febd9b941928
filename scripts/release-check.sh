#!/bin/sh
# release-check.sh runs scripts/release.sh into a temporary directory and
# checks what a release would publish: every platform cross-compiles, each
# archive holds a static binary for its OS and CPU plus the licence files,
# SHA256SUMS verifies, the binary for this machine runs and prints the
# stamped version, and a second run gives byte-identical archives.
#
# Usage: scripts/release-check.sh   (from anywhere; exits non-zero on any failure)
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
fail() { echo "release-check: FAIL: $*" >&2; exit 1; }
ok() { echo "release-check: ok: $*"; }
for tool in go file tar sha256sum; do
	command -v "$tool" >/dev/null 2>&1 || fail "$tool not found on PATH"
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
version="0.0.0-check"
commit="0123456789abcdef0123456789abcdef01234567"
export VERSION="$version" COMMIT="$commit" SOURCE_DATE_EPOCH=1700000000

# release.sh empties DIST first: a directory holding anything else is refused, untouched.
mkdir "$tmp/notdist" && echo keep >"$tmp/notdist/keep.txt"
if DIST="$tmp/notdist" sh scripts/release.sh >"$tmp/refused.log" 2>&1; then
	fail "release.sh emptied a DIST holding a file of someone else's"
fi
[ -f "$tmp/notdist/keep.txt" ] && grep -q "refusing to empty" "$tmp/refused.log" ||
	fail "release.sh did not refuse a DIST holding other files: $(cat "$tmp/refused.log")"
ok "release.sh refuses to empty a directory that holds other files"

DIST="$tmp/dist" sh scripts/release.sh >"$tmp/release.log" 2>&1 || { cat "$tmp/release.log"; fail "release.sh failed"; }
(cd "$tmp/dist" && sha256sum -c --strict SHA256SUMS) >/dev/null || fail "SHA256SUMS does not verify"
[ "$(wc -l <"$tmp/dist/SHA256SUMS")" -eq 3 ] || fail "SHA256SUMS lists $(wc -l <"$tmp/dist/SHA256SUMS") archives, want 3"
ok "SHA256SUMS verifies 3 archives"

host="$(go env GOHOSTOS)_$(go env GOHOSTARCH)"
for pa in "linux_amd64:ELF 64-bit LSB executable, x86-64" \
	"linux_arm64:ELF 64-bit LSB executable, ARM aarch64" \
	"darwin_arm64:Mach-O 64-bit arm64 executable"; do
	platform=${pa%%:*}
	want=${pa#*:}
	name="portcullis_${version}_${platform}"
	archive="$tmp/dist/$name.tar.gz"
	[ -f "$archive" ] || fail "no $name.tar.gz"
	listing=$(tar -tzf "$archive" | sort | tr '\n' ' ')
	[ "$listing" = "$name/ $name/CHANGELOG.md $name/LICENSE $name/NOTICE $name/README.md $name/portcullis " ] ||
		fail "$name.tar.gz holds: $listing"
	mkdir -p "$tmp/x"
	tar -xzf "$archive" -C "$tmp/x"
	desc=$(file -b "$tmp/x/$name/portcullis")
	case "$desc" in
	"$want"*) ;;
	*) fail "$platform binary is: $desc" ;;
	esac
	case "$platform:$desc" in
	linux_*:*"statically linked"* | darwin_*) ;;
	*) fail "$platform binary is not static: $desc" ;;
	esac
	ok "$platform: $want"
	if [ "$platform" = "$host" ]; then
		out=$("$tmp/x/$name/portcullis" version)
		case "$out" in
		"portcullis $version (commit $commit, go"*) ok "version: $out" ;;
		*) fail "version output is not stamped: $out" ;;
		esac
	fi
done

DIST="$tmp/dist2" sh scripts/release.sh >"$tmp/release2.log" 2>&1 || { cat "$tmp/release2.log"; fail "second release.sh failed"; }
cmp -s "$tmp/dist/SHA256SUMS" "$tmp/dist2/SHA256SUMS" || fail "a second run gave different archives (not reproducible)"
ok "reproducible: a second run gives the same checksums"
echo "release-check: PASS"
