#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build qemu-system-x86_64, for KVM only, from Debian's QEMU 10.2.2 source
# with qemu/patches/ applied: $WORK/qemu/src (a git tree, tag "base" and a
# commit per patch) and $WORK/qemu/build. The test machine runs it on
# migratable guest_memfd. The orig tarball is fetched once into $CACHE,
# from where this machine's apt configuration says, and sha256-checked.
# Rebuilt only when the series or this script changes; ccache if present.
set -euo pipefail
: "${CACHE:?}" "${WORK:?}"
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")

DEBVERSION=1:10.2.2+ds-1
TARBALL=qemu_10.2.2+ds.orig.tar.xz
SHA256=be05230fe47a6937cd29f28f562932c8125f9c93c2a82c625198f7a4aa601dfb
# The suites whose sources carry $DEBVERSION.
SUITES=${QEMU_SRC_SUITES:-sid}
# configure needs the python that Debian's meson is installed for, not the
# first python3 in PATH (a pyenv one, say).
PYTHON=/usr/bin/python3

dir=$WORK/qemu
src=$dir/src
build=$dir/build
binary=$build/qemu-system-x86_64
stamp=$dir/series
series=$({ cat "$0"; cat "$top"/qemu/patches/[0-9]*.patch; } | sha256sum | cut -c1-16)
if [ -x "$binary" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$series" ]; then
	echo "qemu: $binary"
	exit 0
fi

# Ask apt, through a private sources list and state, where the tarball is.
orig_uri() {
	local apt=$dir/apt uri suite
	local -a opts
	uri=$("$here/mirror.sh")
	rm -rf "$apt"
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/parts"
	for suite in $SUITES; do
		echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $suite main"
	done > "$apt/sources.list"
	opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=$apt/parts"
	      -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o "Debug::NoLocking=1")
	apt-get -qq "${opts[@]}" update >&2
	(cd "$apt" && apt-get -qq "${opts[@]}" source --print-uris "qemu=$DEBVERSION") |
		awk -v f="$TARBALL" '$2 == f { gsub("'\''", "", $1); print $1 }'
}

tarball=$CACHE/$TARBALL
if ! echo "$SHA256  $tarball" | sha256sum -c --quiet - 2>/dev/null; then
	mkdir -p "$CACHE" "$dir"
	uri=$(orig_uri)
	[ -n "$uri" ] || { echo "qemu: apt knows no $TARBALL in: $SUITES" >&2; exit 1; }
	curl -fsSL -o "$tarball.part" "$uri"
	echo "$SHA256  $tarball.part" | sha256sum -c --quiet - ||
		{ echo "qemu: $TARBALL: sha256 mismatch" >&2; exit 1; }
	mv "$tarball.part" "$tarball"
fi

rm -rf "$src" "$build"
mkdir -p "$src" "$build"
tar -xJf "$tarball" -C "$src" --strip-components=1
git -C "$src" init -q
git -C "$src" config gc.auto 0
git -C "$src" add -A -f .
GIT_AUTHOR_NAME=base GIT_AUTHOR_EMAIL=base@localhost \
GIT_COMMITTER_NAME=base GIT_COMMITTER_EMAIL=base@localhost \
GIT_AUTHOR_DATE='2026-01-01T00:00:00Z' GIT_COMMITTER_DATE='2026-01-01T00:00:00Z' \
	git -C "$src" commit -q -m "Debian qemu $DEBVERSION (orig)"
git -C "$src" tag base
for p in "$top"/qemu/patches/[0-9]*.patch; do
	case $(basename "$p") in 0000-*) continue ;; esac
	GIT_COMMITTER_NAME=gmem GIT_COMMITTER_EMAIL=gmem@localhost git -C "$src" am -q "$p"
done

# The +ds tarball lacks the prebuilt firmware (pc-bios/edk2-*.fd.bz2),
# which meson decompresses whenever it finds bzip2: configure and build
# with a PATH whose bzip2 is hidden behind a symlink farm without it.
path=
IFS=: read -ra dirs <<< "$PATH"
for d in "${dirs[@]}"; do
	if [ -x "$d/bzip2" ]; then
		farm=$build/.path/$(echo "$d" | tr / _)
		mkdir -p "$farm"
		for f in "$d"/*; do
			[ "${f##*/}" = bzip2 ] || ln -sf "$f" "$farm/"
		done
		d=$farm
	fi
	path=${path:+$path:}$d
done
export PATH=$path

cc=gcc
command -v ccache >/dev/null && cc="ccache gcc"
# --enable-numa (libnuma): the memory backends' host-nodes= and policy=
# (mbind), which --without-default-features would leave out.
(cd "$build" && "$src/configure" --python="$PYTHON" --cc="$cc" \
	--target-list=x86_64-softmmu --enable-kvm --disable-tcg \
	--without-default-features --disable-download --disable-docs --disable-debug-info \
	--disable-install-blobs --enable-numa > configure.log 2>&1) ||
	{ tail -20 "$build/configure.log" >&2; exit 1; }
ninja -C "$build" -j"$(nproc)" qemu-system-x86_64 > "$build/ninja.log" ||
	{ tail -40 "$build/ninja.log" >&2; exit 1; }
"$binary" -object memory-backend-memfd,help | grep -q guest-memfd-movable
echo "$series" > "$stamp"
echo "qemu: $binary"
