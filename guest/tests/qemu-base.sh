#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Our QEMU on the unpatched base kernel (a boot with gmem.kernel=base): the
# kernel does not offer GUEST_MEMFD_FLAG_MIGRATABLE, so
# guest-memfd-movable=on is refused with QEMU's error before the guest
# runs, and without the property QEMU runs its guest on a guest_memfd as
# 7.3.4 does today, with none of it moving.
. "$(dirname "$0")/ktap.sh"
. "$(dirname "$0")/nested.sh"

# The boot really runs the base: KVM's trace events are there, the
# series' is not.
is_base() {
	events=$(dirname "$(dirname "$EVENT")")
	[ -d "$events" ] && [ ! -e "$(dirname "$EVENT")" ] &&
		echo "# $(uname -r): $(ls "$events" | wc -l) kvm events, no $(basename "$(dirname "$EVENT")")"
}

not_offered() {
	qemu_refuses "$MOVABLE" "guest-memfd-movable=on: KVM does not support movable guest_memfd pages" &&
		grep -q 'KVM_CAP_GUEST_MEMFD_FLAGS lacks GUEST_MEMFD_FLAG_MIGRATABLE' /tmp/qemu.out
}

ktap_plan 3
ktap_case "the kernel is the base: no guest_memfd migration event" is_base
ktap_case "guest-memfd-movable=on is refused: the kernel does not offer the flag" not_offered
ktap_case "without guest-memfd-movable the guest runs as before, migratepages moves nothing" \
	migratepages_moves unmovable
ktap_exit
