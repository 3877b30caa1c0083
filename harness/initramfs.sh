#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Pack $BUILD/initramfs.cpio: busybox, guest/ (init, helpers, scripts, the
# suite list) and the test binaries the suite names. Uncompressed, so the
# kernel needs no decompressor. PROGS: where the programs were built (default
# $BUILD); EXTRA_SUITE: one more list for guest/ (make mutants).
set -euo pipefail
: "${BUILD:?}"
top=$(cd "$(dirname "$0")/.." && pwd)
progs=${PROGS:-$BUILD}
lists=("$top/guest/suite" "$top/guest/bench" ${EXTRA_SUITE:+"$EXTRA_SUITE"})
root=$BUILD/initramfs

rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,run,mnt}
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
	[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
mkdir -p "$root/sbin" "$root/usr"
ln -s ../bin "$root/usr/bin"
ln -s ../bin "$root/usr/sbin"

install -m 755 "$top/guest/init" "$root/init"
install -m 755 "$top"/guest/bin/* "$root/bin/"
install -m 755 "$progs/demo/gmem-demo" "$root/bin/gmem-demo"
mkdir -p "$root/guest"
cp -r "$top/guest/tests" "$root/guest/"
cp "${lists[@]}" "$root/guest/"

# Every kvm/... entry of the lists comes from the selftest build, every
# bench/... one from build-prog.sh.
missing=0
while read -r test _; do
	case $test in
	kvm/*) src=$progs/kselftest/$test ;;
	bench/*) src=$progs/$test ;;
	guest/*) src=$top/$test ;;
	*) continue ;;
	esac
	if [ ! -x "$src" ]; then
		echo "initramfs: $test is listed in guest/ but $src was not built" >&2
		missing=1
		continue
	fi
	mkdir -p "$root/$(dirname "$test")"
	cp "$src" "$root/$test"
done < <(grep -hv '^\s*\(#\|$\)' "${lists[@]}")
[ $missing = 0 ] || exit 1

(cd "$root" && find . | sort | cpio -o -H newc -R 0:0 --quiet) > "$BUILD/initramfs.cpio"
echo "initramfs: $BUILD/initramfs.cpio ($(du -h "$BUILD/initramfs.cpio" | cut -f1))"
