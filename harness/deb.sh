#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make deb: the patched kernel as Debian packages for a VM host
# (VARIANT=host, config/host.config, the kernel's bindeb-pkg), then check
# what an operator installs: the image boots with the series' KVM and mm
# options and carries the series, the headers build modules against it, and
# linux-libc-dev gives a VMM such as our QEMU the new flag.
set -euo pipefail
: "${BUILD:?}" "${WORK:?}"
here=$(cd "$(dirname "$0")" && pwd)

rm -f "$WORK"/linux-*.deb "$WORK"/linux-upstream_*
VARIANT=host "$here/build-kernel.sh" deb
krel=$(cat "$BUILD/include/config/kernel.release")

bad=0
check() {
	local what=$1
	shift
	if "$@"; then
		echo "deb: ok: $what"
	else
		echo "deb: FAILED: $what" >&2
		bad=1
	fi
}

root=$WORK/deb-root
rm -rf "$root"
mkdir -p "$root"
for deb in "$WORK"/linux-{image,headers,libc-dev}*.deb; do
	dpkg-deb --field "$deb" Package Version | paste -sd' ' | sed 's/^/deb: /'
	dpkg-deb -x "$deb" "$root"
done

config=$root/boot/config-$krel
check "boot/vmlinuz-$krel" test -s "$root/boot/vmlinuz-$krel"
for opt in KVM=m KVM_AMD=m KVM_INTEL=m MEMORY_HOTREMOVE=y MIGRATION=y COMPACTION=y \
	   CMA=y VIRTIO_MEM=m EVENT_TRACING=y; do
	check "CONFIG_$opt" grep -qx "CONFIG_$opt" "$config"
done
kvm=$(find "$root/lib/modules/$krel" -name 'kvm.ko*' | head -n 1)
check "kvm module with the guest_memfd migration tracepoint" \
	grep -q kvm_gmem_migrate_folio "${kvm:-/dev/null}"
check "headers for building modules" test -f "$root/usr/src/linux-headers-$krel/Module.symvers"
check "linux/kvm.h names GUEST_MEMFD_FLAG_MIGRATABLE" \
	grep -q '#define GUEST_MEMFD_FLAG_MIGRATABLE' "$root/usr/include/linux/kvm.h"
[ $bad = 0 ] || exit 1
ls "$WORK"/linux-*.deb
