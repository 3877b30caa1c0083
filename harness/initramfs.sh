#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Pack $BUILD/initramfs.cpio: busybox, guest/ (init, helpers, scripts, the
# suite list) and the test binaries the suite names. Uncompressed, so the
# kernel needs no decompressor. PROGS: where the programs were built (default
# $BUILD); EXTRA_SUITE: one more list for guest/ (make mutants). With
# SERIES (a tree of the series up to that one), the lists are $SUITE alone:
# guest/suite and guest/bench name programs that need the later series.
set -euo pipefail
: "${BUILD:?}"
top=$(cd "$(dirname "$0")/.." && pwd)
progs=${PROGS:-$BUILD}
lists=("$top/guest/suite" "$top/guest/bench" ${EXTRA_SUITE:+"$EXTRA_SUITE"})
[ -z "${SERIES:-}" ] || lists=("${SUITE:?}")
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

# Our QEMU, with the libraries it and numactl link, the firmware of the
# host's QEMU package, and the nested guest (harness/build-qemu.sh and
# build-nested.sh; guest/tests/qemu.sh runs them).
if [ -n "${QEMU_BUILD:-}" ]; then
	: "${NESTED:?}"
	mkdir -p "$root/opt/qemu/bin" "$root/opt/qemu/share" "$root/opt/nested"
	install -m 755 -s "$QEMU_BUILD/qemu-system-x86_64" "$root/opt/qemu/bin/"
	for bin in "$QEMU_BUILD/qemu-system-x86_64" /usr/bin/numactl /usr/bin/migratepages; do
		[ "$bin" = "$QEMU_BUILD/qemu-system-x86_64" ] || install -m 755 "$bin" "$root/bin/"
		for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
			mkdir -p "$root$(dirname "$lib")"
			cp -L "$lib" "$root$lib"
		done
	done
	cp /usr/share/seabios/bios-256k.bin /usr/share/qemu/linuxboot_dma.bin \
	   /usr/share/qemu/kvmvapic.bin "$root/opt/qemu/share/"
	cp "$NESTED/arch/x86/boot/bzImage" "$NESTED/initramfs.cpio" "$root/opt/nested/"
	install -m 755 "$NESTED/vm-ram" "$root/bin/"
fi

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
