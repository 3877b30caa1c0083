#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A real VMM on migratable guest_memfd. Our QEMU (qemu/patches) runs a
# nested guest whose 256 MiB of RAM is a guest_memfd
# (memory-backend-memfd,guest-memfd=on,guest-memfd-movable=on) while the
# guest's memcheck (nested/memcheck.c) checks and rewrites all of it
# without pause. The machine's virtio-mem shrinking under it, offlining
# every block that holds it, migratepages(8), compaction and a CMA
# allocation move it; the guest never reads a wrong word and keeps running,
# and kvm:kvm_gmem_migrate_folio shows the moves. The guest's own virtio-mem,
# on a second guest_memfd, grows and shrinks, and what it unplugs goes back
# to this machine. Without the property nothing moves and QEMU keeps
# running; the property is refused where it cannot work.
. "$(dirname "$0")/ktap.sh"
. "$(dirname "$0")/nested.sh"

# The machine's virtio-mem shrinks to zero under the RAM: what it held
# moves out, the guest keeps running; plugged again afterwards.
virtio_mem_moves() {
	plugged=$(vmem_plugged) || return 1
	qemu_start_in "" || return 1
	held=$(ram_in_virtio_mem)
	echo "# virtio-mem: $(virtio_mem_range); the RAM in memory$(ram_blocks | paste -sd, -)"
	vmem_set 0
	rc=$?
	echo "# virtio-mem held $held pages of the RAM; shrunk to 0: $rc," \
	     "now $(vmem_plugged) bytes plugged; RAM mapped $(ram mapped)"
	[ "$held" -gt 0 ] && [ $rc = 0 ] && guest_fine
	r=$?
	qemu_stop
	vmem_set "$plugged" || r=1
	return $r
}

# Offline every Movable block that holds the RAM and keep it offline until
# the RAM is checked: all of it left. virtio-mem is unplugged for the case,
# so that the RAM lands in blocks offlined through sysfs; the top blocks
# may refuse, as found before.
offline_moves() {
	plugged=$(vmem_plugged) && vmem_set 0 || return 1
	refuses=$(refusing_blocks)
	qemu_start numactl --membind=1 -- $MOVABLE || return 1
	ino=$(ram ino)
	trace_start
	offline_ram_blocks "$refuses"
	ok=$busy
	left=0
	for b in $offlined; do
		n=$(ram_in_block "$b")
		left=$((left + n))
	done
	moved=$(traced "$ino" moved)
	trace_stop
	# shellcheck disable=SC2086 # one block a word
	online_blocks $offlined || ok=1
	echo "# $held pages in the blocks offlined, $left still there; traced: $moved moved"
	[ -n "$offlined" ] && [ $left = 0 ] && [ "$moved" -ge $held ] && [ $ok = 0 ] &&
		guest_fine
	r=$?
	qemu_stop
	vmem_set "$plugged" || r=1
	return $r
}

# Host memory hot-unplug as a host loses a DIMM: a DIMM plugged on node 1
# (onlined movable), node 1's other Movable blocks aside while QEMU starts
# so that the RAM lands in it, then the DIMM ejected through ACPI: the
# kernel offlines and removes its blocks, so all of the RAM they held moved.
DIMM_MIB=512
blocks_at_least() { [ "$(memory_blocks | wc -l)" -ge "$1" ]; }
dimm_gone() { ! host qom-get dimm0 size > /dev/null 2>&1; }
blocks_gone() { for b in $dimm; do [ ! -e $MEM/memory$b ] || return 1; done; }
hot_unplug_moves() {
	plugged=$(vmem_plugged) && vmem_set 0 || return 1
	before=$(memory_blocks)
	host dimm-add dimm0 $((DIMM_MIB << 20)) 1 || return 1
	dimm=
	want=$((DIMM_MIB * 1048576 / $(block_bytes)))
	wait_for 30 blocks_at_least $(($(echo "$before" | wc -l) + want))
	for b in $(memory_blocks); do
		echo "$before" | grep -qx "$b" || dimm="$dimm $b"
	done
	qemu_start_in "$dimm" || { host dimm-del dimm0; vmem_set "$plugged"; return 1; }
	ino=$(ram ino)
	held=0
	for b in $dimm; do held=$((held + $(ram_in_block "$b"))); done
	trace_start
	host dimm-del dimm0 && wait_for 120 dimm_gone
	rc=$?
	moved=$(traced "$ino" moved)
	trace_stop
	echo "# DIMM of $DIMM_MIB MiB on node 1 (memory$(echo $dimm | tr ' ' ,)): held $held of" \
	     "$(ram mapped) pages of the RAM; ejected: $rc; traced $moved moved;" \
	     "RAM now on node 1: $(ram node1), node 0: $(ram node0)"
	[ $rc = 0 ] && blocks_gone && [ "$held" -gt $(($(ram mapped) / 2)) ] &&
		[ "$moved" -ge "$held" ] && guest_fine
	r=$?
	qemu_stop
	vmem_set "$plugged" || r=1
	return $r
}


# Compaction of node 1 moves the RAM: it sits at the bottom of node 1's
# free memory, as it was when QEMU started, and compaction carries pages
# from a zone's bottom to free pages at its top.
compaction_moves() {
	qemu_start numactl --membind=1 -- $MOVABLE || return 1
	ino=$(ram ino)
	mapped=$(ram mapped)
	trace_start
	echo 1 > /sys/devices/system/node/node1/compact
	rc=$?
	moved=$(traced "$ino" moved)
	in_use=$(traced "$ino" "in use")
	trace_stop
	echo "# compacting node 1: exit $rc; traced $moved moved, $in_use in use, of $mapped" \
	     "mapped pages; now mapped $(ram mapped), node 1 $(ram node1)"
	[ $rc = 0 ] && [ "$moved" -gt 0 ] && [ "$(ram mapped)" -ge "$mapped" ] &&
		[ "$(ram node1)" -ge "$mapped" ] && guest_fine
	r=$?
	qemu_stop
	return $r
}

CMA=/sys/kernel/debug/cma/reserved

# zone_free PFN: "FREE CMA_FREE" of the zone holding PFN, from zoneinfo.
zone_free() {
	awk -v pfn="$1" '
		/^Node/ { if (start != "" && start <= pfn) { found = 1; exit } free = cma = start = "" }
		$1 == "nr_free_pages" { free = $2 }
		$1 == "nr_free_cma" { cma = $2 }
		$1 == "start_pfn:" { start = $2 }
		END { if (found || (start != "" && start <= pfn)) print free, cma }' /proc/zoneinfo
}

# Movable allocations take CMA pages only while the area holds over half
# of its zone's free memory. Fill the zone with tmpfs files bound to its
# node until what is left is the RAM and the CMA area's free memory
# (guest_memfd_migrate_test's cma case does the same for a smaller file):
# as the guest fills its RAM, the zone's free memory falls below twice the
# CMA area's, and the RAM takes CMA pages half the time from then on. Free
# the filler, then an allocation of the whole area migrates the RAM out of
# it.
cma_moves() {
	base=$(cat $CMA/base_pfn) count=$(cat $CMA/count)
	blk=$((base * 4096 / $(block_bytes)))
	nid=$(ls -d $MEM/memory$blk/node* | sed 's/.*node//')
	mkdir -p /tmp/filler
	i=0
	while [ $i -lt 128 ]; do
		set -- $(zone_free "$base")
		pages=$(($1 - $2 - $(size_pages $RAM)))
		[ $pages -gt 0 ] || break
		[ $pages -gt 8192 ] && pages=8192
		numactl --membind="$nid" dd if=/dev/zero of=/tmp/filler/$i bs=4096 \
			count=$pages 2>/dev/null || break
		i=$((i + 1))
	done
	echo "# filled $(du -sm /tmp/filler | cut -f1) MiB of node $nid: zone free, CMA free: $*"
	qemu_start numactl --membind="$nid" -- $MOVABLE
	rc=$?
	rm -rf /tmp/filler
	[ $rc = 0 ] || return 1
	range=$(printf '%x-%x' "$base" $((base + count)))
	in_cma=$(ram_range "$range")
	ino=$(ram ino)
	trace_start
	echo "$count" > $CMA/alloc
	rc=$?
	still=$(ram_range "$range")
	moved=$(traced "$ino" moved)
	trace_stop
	[ $rc = 0 ] && { echo "$count" > $CMA/free || rc=1; }
	echo "# the RAM had $in_cma pages in the CMA area ($count pages at pfn $range);" \
	     "allocating all of it: exit $rc, $still left there, traced $moved moved"
	[ "$in_cma" -gt 0 ] && [ $rc = 0 ] && [ "$still" = 0 ] && [ "$moved" -ge "$in_cma" ] &&
		guest_fine
	r=$?
	qemu_stop
	return $r
}

# The nested guest's own virtio-mem device, its memory a second migratable
# guest_memfd, driven through the nested QEMU's QMP on a pair of fifos.
VMEM=128
NQMP=/tmp/nested-qmp

# nested_qmp COMMAND [ARGUMENTS]: prints the "return" of one QMP command.
nested_qmp() {
	n=$(grep -c '"return"\|"error"' $NQMP.log)
	echo "{\"execute\": \"$1\", \"arguments\": ${2:-{\}}}" > $NQMP.in
	wait_for 10 sh -c "[ \$(grep -c '\"return\"\\|\"error\"' $NQMP.log) -gt $n ]" || return 1
	grep '"return"\|"error"' $NQMP.log | tail -n 1 | tr -d '\r' |
		sed -n 's/^{"return": \(.*\)}$/\1/p' | grep .
}

nested_vmem_size() { nested_qmp qom-get '{"path": "vm0", "property": "size"}'; }
nested_vmem_is() { [ "$(nested_vmem_size)" = "$1" ]; }
# Pages of the device's guest_memfd that hold memory (QEMU's mapping of it).
vmem_mapped() { vm-ram -s $VMEM "$qpid" kvm-gmem | sed -n 's/.* mapped \([0-9]*\) .*/\1/p'; }
vmem_mapped_over() { [ "$(vmem_mapped)" -gt "$1" ]; }
# Free memory, with the pages on per-CPU lists, which MemFree leaves out.
host_free_kb() {
	echo $(($(sed -n 's/^MemFree: *\([0-9]*\) kB/\1/p' /proc/meminfo) +
		4 * $(awk '$1 == "count:" { n += $2 } END { print n + 0 }' /proc/zoneinfo)))
}

# nested_vmem_set MIB: resize the device and wait until the guest did.
nested_vmem_set() {
	nested_qmp qom-set "{\"path\": \"vm0\", \"property\": \"requested-size\", \"value\": $(($1 << 20))}" >/dev/null &&
		wait_for 120 nested_vmem_is $(($1 << 20))
}

# The guest's virtio-mem grows, its memcheck rotates its data into the new
# memory, and shrinks to zero: the guest moves its data out, QEMU punches
# the unplugged memory out of the guest_memfd, and the host gets it back.
nested_virtio_mem() {
	rm -f $NQMP.in $NQMP.out && mkfifo $NQMP.in $NQMP.out || return 1
	# A writer of our own, so that the reader sees no end of file when
	# qemu_start stops a QEMU to start it again.
	exec 9<> $NQMP.out
	cat $NQMP.out > $NQMP.log &
	reader=$!
	qemu_m=$RAM,maxmem=1G
	qemu_extra="-object memory-backend-memfd,id=vmem,size=${VMEM}M$MOVABLE
		-device virtio-mem-pci,id=vm0,memdev=vmem,requested-size=0
		-chardev pipe,id=qmp,path=$NQMP -mon chardev=qmp,mode=control"
	guest_append="memhp_default_state=online_movable memcheck_rotate=16"
	qemu_start numactl --membind=1 -- $MOVABLE
	rc=$?
	qemu_m=$RAM qemu_extra= guest_append=
	r=1
	if [ $rc = 0 ] && nested_qmp qmp_capabilities >/dev/null && nested_vmem_set $VMEM; then
		# memcheck gives back and maps 16 MiB a round: half the device in use.
		wait_for 300 vmem_mapped_over $((VMEM * 256 / 2))
		held=$(vmem_mapped)
		free=$(host_free_kb)
		nested_vmem_set 0
		rc=$?
		echo "# the guest's virtio-mem: plugged $VMEM MiB, its memory held $held pages;" \
		     "shrunk to 0: $rc; it now holds $(vmem_mapped), the host has" \
		     "$((($(host_free_kb) - free) / 1024)) MiB more free"
		[ $rc = 0 ] && [ "$held" -gt $((VMEM * 256 / 2)) ] && [ "$(vmem_mapped)" = 0 ] &&
			[ $(($(host_free_kb) - free)) -ge $((held * 4 * 9 / 10)) ] &&
			nested_vmem_set $((VMEM / 2)) && guest_fine
		r=$?
	fi
	qemu_stop
	kill $reader 2>/dev/null
	exec 9>&-
	return $r
}


no_guest_memfd() { qemu_refuses ,share=on,guest-memfd-movable=on "guest-memfd-movable.*guest-memfd=on"; }
private_mapping() { qemu_refuses ,share=off,guest-memfd=on "share=on"; }

# virtio-mem first: as the machine booted, node 1 allocates from its memory
# first (memory plugged later goes to the end of the free lists).
ktap_plan 10
ktap_case "the machine's virtio-mem shrinks to zero under the RAM, the guest sees no wrong word" virtio_mem_moves
ktap_case "offlining every block that holds the RAM moves it, the guest sees no wrong word" offline_moves
ktap_case "ejecting a DIMM (ACPI hot-unplug) moves all the RAM it held, the guest sees no wrong word" hot_unplug_moves
ktap_case "migratepages moves the RAM to the other node, the guest sees no wrong word" migratepages_moves
ktap_case "without guest-memfd-movable, migratepages moves nothing and QEMU keeps running" migratepages_moves unmovable
ktap_case "compaction moves the RAM, the guest sees no wrong word" compaction_moves
ktap_case "a CMA allocation moves the RAM out of the area, the guest sees no wrong word" cma_moves
ktap_case "the guest's own virtio-mem on guest_memfd grows and shrinks, the host gets the memory back" nested_virtio_mem
ktap_case "guest-memfd-movable without guest-memfd=on is refused" no_guest_memfd
ktap_case "guest-memfd=on with share=off is refused" private_mapping
ktap_exit
