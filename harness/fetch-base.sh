#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetch the base kernel source: Debian's linux-source-$BASE_SERIES .deb at
# $BASE_VERSION, and extract the tarball it ships into $CACHE. The tarball's
# sha256 is checked against $BASE_SHA256 (set it empty to skip, e.g. when
# trying another version).
#
# Usage: fetch-base.sh CACHE   (prints the tarball's path)
set -euo pipefail

cache=$1
: "${BASE_SERIES:?}" "${BASE_VERSION:?}"
tarball=$cache/linux-source-$BASE_SERIES-$BASE_VERSION.tar.xz

verify() {
	[ -z "${BASE_SHA256:-}" ] && return 0
	echo "$BASE_SHA256  $1" | sha256sum -c --quiet -
}

if [ -f "$tarball" ] && verify "$tarball"; then
	echo "$tarball"
	exit 0
fi

mkdir -p "$cache"
tmp=$(mktemp -d "$cache/fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root \
	"linux-source-$BASE_SERIES=$BASE_VERSION" >&2)
dpkg-deb --fsys-tarfile "$tmp"/linux-source-*.deb |
	tar -xO "./usr/src/linux-source-$BASE_SERIES.tar.xz" > "$tmp/src.tar.xz"
if ! verify "$tmp/src.tar.xz"; then
	echo "fetch-base: sha256 mismatch for linux-source-$BASE_SERIES $BASE_VERSION" >&2
	sha256sum "$tmp/src.tar.xz" >&2
	exit 1
fi
mv "$tmp/src.tar.xz" "$tarball"
echo "$tarball"
