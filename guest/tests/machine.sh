#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The test machine is what the suite assumes: two NUMA nodes with a CPU each,
# nested KVM on AMD SVM with NPT, a populated Movable zone whose blocks
# offline and online, a CMA area in debugfs, and a virtio-mem device that
# grows and shrinks when the guest asks the host (bin/host) to resize it.
. "$(dirname "$0")/ktap.sh"

node_has_cpu() { [ -n "$(cat /sys/devices/system/node/node"$1"/cpulist)" ]; }

two_nodes() {
	[ "$(ls -d /sys/devices/system/node/node[0-9]* | wc -l)" = 2 ] &&
		node_has_cpu 0 && node_has_cpu 1
}

nested_svm() {
	grep -qw svm /proc/cpuinfo && grep -qw npt /proc/cpuinfo &&
		[ -c /dev/kvm ] &&
		[ "$(cat /sys/module/kvm_amd/parameters/npt)" = Y ] &&
		[ "$(cat /sys/module/kvm_amd/parameters/nested)" = 1 ]
}

movable_present() {
	awk '$1 == "Node" && $4 == "Movable" { m = 1 }
	     m && $1 == "present" { if ($2 > 0) ok = 1; m = 0 }
	     END { exit !ok }' /proc/zoneinfo
}

# Offline and online again one Movable block, trying from the top: the
# highest block of a node can hold an early allocation and never offline.
movable_block_cycles() {
	for blk in $(ls -d /sys/devices/system/memory/memory* | sort -t y -k2 -n -r); do
		[ "$(cat "$blk/state")" = online ] || continue
		grep -q '^Movable$' "$blk/valid_zones" || continue
		echo offline > "$blk/state" 2>/dev/null || continue
		echo "# offlined and onlining ${blk##*/}"
		echo online_movable > "$blk/state" || return 1
		return 0
	done
	return 1
}

cma_area() {
	for c in /sys/kernel/debug/cma/*/count; do
		[ -f "$c" ] && [ "$(cat "$c")" -gt 0 ] && return 0
	done
	return 1
}

mem_total_kb() { awk '/^MemTotal:/ { print $2 }' /proc/meminfo; }

# vmem_resize BYTES: ask the host, then wait until the guest's MemTotal
# followed by at least 3/4 of the change (the driver plugs in steps).
vmem_resize() {
	before=$(mem_total_kb)
	plugged=$(host qom-get vmem0 size) || return 1
	host qom-set vmem0 requested-size "$1" || return 1
	want=$(( ($1 - plugged) / 1024 * 3 / 4 ))
	wait_for 60 grown_by "$before" "$want" || return 1
	echo "# virtio-mem: $plugged -> $(host qom-get vmem0 size) bytes plugged," \
	     "MemTotal $before -> $(mem_total_kb) kB"
}

grown_by() {
	d=$(( $(mem_total_kb) - $1 ))
	if [ "$2" -ge 0 ]; then [ "$d" -ge "$2" ]; else [ "$d" -le "$2" ]; fi
}

vmem_grow() { vmem_resize $((1024 * 1024 * 1024)); }
vmem_shrink() { vmem_resize $((256 * 1024 * 1024)); }

ktap_plan 7
ktap_case "two NUMA nodes, one CPU each" two_nodes
ktap_case "nested KVM: svm, npt, kvm_amd nested=1" nested_svm
ktap_case "ZONE_MOVABLE is populated" movable_present
ktap_case "a Movable memory block offlines and onlines" movable_block_cycles
ktap_case "CMA area in debugfs" cma_area
ktap_case "virtio-mem grows to 1 GiB on request" vmem_grow
ktap_case "virtio-mem shrinks to 256 MiB on request" vmem_shrink
ktap_exit
