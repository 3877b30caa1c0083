#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The nested guest of the QEMU tests, into $NESTED: a small kernel from
# $BASE_TREE (config/nested.config, VARIANT=nested; the series does not
# touch what it builds, so it never rebuilds for a change to the series), an
# initramfs whose /init is nested/memcheck, and nested/vm-ram for the test
# machine, which boots the guest under its own KVM on RAM from a migratable
# guest_memfd and reads memcheck's rounds on its console.
set -euo pipefail
: "${BASE_TREE:?}" "${NESTED:?}"
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")

TREE=$BASE_TREE VARIANT=nested BUILD=$NESTED "$here/build-kernel.sh" kernel >/dev/null

gcc -O2 -static -Wall -Wextra -o "$NESTED/memcheck" "$top/nested/memcheck.c"
# vm-ram runs in the test machine, beside QEMU.
gcc -O2 -static -Wall -Wextra -o "$NESTED/vm-ram" "$top/nested/vm-ram.c"
cat > "$NESTED/initramfs.list" <<EOF
dir /dev 755 0 0
dir /proc 755 0 0
file /init $NESTED/memcheck 755 0 0
EOF
"$NESTED/usr/gen_init_cpio" "$NESTED/initramfs.list" > "$NESTED/initramfs.cpio"
echo "nested: $NESTED/arch/x86/boot/bzImage, $NESTED/initramfs.cpio"
