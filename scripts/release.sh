#!/bin/sh
# release.sh builds the release binaries: a static binary per platform, built
# by scripts/build.sh (CGO_ENABLED=0, -trimpath, version and commit stamped),
# packed with LICENSE, NOTICE, README.md and CHANGELOG.md into
# DIST/portcullis_VERSION_OS_ARCH.tar.gz, and DIST/SHA256SUMS over the
# archives in sha256sum format (check with `sha256sum -c SHA256SUMS`).
#
# Usage: scripts/release.sh          (or `make release VERSION=1.2.3`)
# Environment:
#   VERSION   default: the git tag or description, without a leading "v"
#   COMMIT    default: git rev-parse HEAD
#   DIST      output directory, emptied first (default: dist); one holding anything but
#             an earlier release's files (portcullis_*, SHA256SUMS) is refused, not emptied
#   PLATFORMS default: "linux/amd64 linux/arm64 darwin/arm64"
#   SOURCE_DATE_EPOCH  archive timestamps (default: the commit time), so the
#             same commit gives the same archives
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
fail() { echo "release: $*" >&2; exit 1; }

VERSION="${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
VERSION="${VERSION#v}"
COMMIT="${COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}"
DIST="${DIST:-dist}"
PLATFORMS="${PLATFORMS:-linux/amd64 linux/arm64 darwin/arm64}"
SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}"
case "$VERSION" in
*/* | *' '* | '') fail "VERSION \"$VERSION\" cannot name a file" ;;
esac

# GNU tar for reproducible archives (sorted names, fixed owner and mtime).
tar --version 2>/dev/null | grep -q 'GNU tar' || fail "GNU tar is required (macOS: brew install gnu-tar, then PATH)"
if command -v sha256sum >/dev/null 2>&1; then
	sha256() { sha256sum "$@"; }
else
	sha256() { shasum -a 256 "$@"; }
fi

# DIST is emptied below: refuse one that holds anything but an earlier release's files, so
# that DIST=. or DIST=$HOME by mistake deletes nothing.
if [ -e "$DIST" ]; then
	[ -d "$DIST" ] || fail "DIST $DIST is not a directory"
	for f in "$DIST"/* "$DIST"/.[!.]* "$DIST"/..?*; do
		[ -e "$f" ] || [ -L "$f" ] || continue
		case "${f##*/}" in
		portcullis_* | SHA256SUMS) ;;
		*) fail "DIST $DIST holds $f, not only release files: refusing to empty it (choose another DIST)" ;;
		esac
	done
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT INT TERM
rm -rf "$DIST"
mkdir -p "$DIST"

for platform in $PLATFORMS; do
	os=${platform%/*}
	arch=${platform#*/}
	name="portcullis_${VERSION}_${os}_${arch}"
	echo "release: building $name"
	mkdir "$stage/$name"
	GOOS="$os" GOARCH="$arch" VERSION="$VERSION" COMMIT="$COMMIT" OUT="$stage/$name/portcullis" \
		sh scripts/build.sh
	cp LICENSE NOTICE README.md CHANGELOG.md "$stage/$name/"
	tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
		-C "$stage" -cf - "$name" | gzip -n -9 >"$DIST/$name.tar.gz"
done

(cd "$DIST" && sha256 portcullis_*.tar.gz >SHA256SUMS)
echo "release: $DIST:"
cat "$DIST/SHA256SUMS"
