#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A real VMM on migratable guest_memfd. Our QEMU (qemu/patches) runs a
# nested guest whose 256 MiB of RAM is a guest_memfd
# (memory-backend-memfd,guest-memfd=on,guest-memfd-movable=on) while the
# guest's memcheck (nested/memcheck.c) checks and rewrites all of it
# without pause. Offlining every block that holds the RAM, and
# migratepages(8), move it; the guest never reads a wrong word and keeps
# running, and kvm:kvm_gmem_migrate_folio shows the moves. Without the
# property nothing moves and QEMU keeps running; the property is refused
# where it cannot work.
. "$(dirname "$0")/ktap.sh"

QEMU=/opt/qemu/bin/qemu-system-x86_64
LOG=/tmp/nested.log
RAM=256M
BACKEND=memory-backend-memfd,id=ram,size=$RAM
GMEM=,share=on,guest-memfd=on
MOVABLE=$GMEM,guest-memfd-movable=on
EVENT=/sys/kernel/tracing/events/kvm/kvm_gmem_migrate_folio/enable
TRACE=/sys/kernel/tracing/trace
MEM=/sys/devices/system/memory
qpid=

# qemu_run [numactl ARGS --] BACKEND_PROPS: QEMU and its nested guest, in
# this process (so that a background qemu_run's $! is QEMU's pid).
qemu_run() {
	numa=
	if [ "$1" = numactl ]; then
		shift
		while [ "$1" != -- ]; do numa="$numa $1"; shift; done
		shift
		numa="numactl$numa"
	fi
	# shellcheck disable=SC2086
	exec $numa $QEMU -L /opt/qemu/share -accel kvm -cpu host -M pc,memory-backend=ram \
		-m $RAM -object "$BACKEND$1" -nodefaults -display none -no-reboot \
		-serial "file:$LOG" -kernel /opt/nested/bzImage \
		-initrd /opt/nested/initramfs.cpio -append "console=ttyS0 quiet"
}

# qemu_start ...: qemu_run in the background, until memcheck has filled the
# RAM and finished a round.
qemu_start() {
	: > $LOG
	qemu_run "$@" > /tmp/qemu.out 2>&1 &
	qpid=$!
	wait_for 120 rounds_past 1 && return 0
	echo "# the nested guest did not start:"
	sed 's/^/#   /' /tmp/qemu.out $LOG
	return 1
}

qemu_stop() {
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null && wait "$qpid" 2>/dev/null
	qpid=
}

last_round() {
	sed -n 's/^memcheck: round \([0-9]*\): [0-9]* MiB.*/\1/p' $LOG | tail -n 1
}

rounds_past() { [ "$(last_round)" -ge "$1" ] 2>/dev/null; }

# The guest read every word it wrote, round after round, and is still
# running: two more rounds after the call.
guest_fine() {
	r=$(last_round)
	kill -0 "$qpid" 2>/dev/null || { echo "# QEMU exited"; return 1; }
	wait_for 120 rounds_past $((r + 2)) || { echo "# no round after $r"; return 1; }
	if grep -q 'memcheck: round [0-9]*: offset' $LOG ||
	   sed -n 's/.* \([0-9]*\) mismatches.*/\1/p' $LOG | grep -qv '^0$'; then
		grep 'memcheck:.*\(offset\|[1-9][0-9]* mismatches\)' $LOG | head -n 5 | sed 's/^/# /'
		return 1
	fi
	echo "# memcheck: $(grep -c 'memcheck: round' $LOG) rounds of $RAM, no mismatch, longest" \
	     "stall $(sed -n 's/.*longest stall \([0-9]*\) ms.*/\1/p' $LOG | sort -n | tail -n 1) ms"
}

# Where the RAM is: vm-ram's summary line, field $1 (ino, mapped, node0...).
ram() { vm-ram "$qpid" kvm-gmem | awk -v k="$1" 'NR == 1 { for (i = 1; i < NF; i += 2) if ($i == k) print $(i + 1) }'; }
ram_blocks() { vm-ram "$qpid" kvm-gmem | sed -n 's/^memory\([0-9]*\) .*/\1/p'; }
# Pages of the RAM in memory block $1 (0 if none).
ram_in_block() { vm-ram "$qpid" kvm-gmem | awk -v b="memory$1" '$1 == b { n = $2 } END { print n + 0 }'; }

# The trace holds one line per attempt: room for every page of the RAM.
BUFFER=/sys/kernel/tracing/buffer_size_kb
trace_start() {
	buffer_kb=$(sed 's/.*expanded: \([0-9]*\)).*/\1/' $BUFFER)
	echo 32768 > $BUFFER && echo 1 > $EVENT && : > $TRACE
}
traced() { grep -c "kvm_gmem_migrate_folio: ino $1 .*: $2\$" $TRACE; }
trace_stop() { echo 0 > $EVENT && echo "$buffer_kb" > $BUFFER; }

# The machine's virtio-mem memory: the first and last byte of its blocks.
virtio_mem_range() {
	lo= hi=
	for r in $(sed -n 's/^ *\([0-9a-f]*\)-\([0-9a-f]*\) : System RAM (virtio_mem)$/\1-\2/p' /proc/iomem); do
		s=$((0x${r%-*})) e=$((0x${r#*-}))
		[ -z "$lo" ] || [ $s -lt $lo ] && lo=$s
		[ -z "$hi" ] || [ $e -gt $hi ] && hi=$e
	done
	[ -n "$lo" ] && echo "$lo $hi"
}

block_bytes() { echo $((0x$(cat $MEM/block_size_bytes))); }

in_virtio_mem() {
	set -- "$1" $(virtio_mem_range)
	[ $# = 3 ] && [ $(($1 * $(block_bytes))) -ge "$2" ] && [ $(($1 * $(block_bytes))) -le "$3" ]
}

# Pages of the RAM in virtio-mem's blocks.
ram_in_virtio_mem() {
	n=0
	for b in $(ram_blocks); do
		in_virtio_mem "$b" && n=$((n + $(ram_in_block "$b")))
	done
	echo $n
}

vmem_plugged() { host qom-get vmem0 size; }
no_virtio_mem() { [ -z "$(virtio_mem_range)" ]; }

# vmem_set BYTES: ask the host to resize the machine's virtio-mem; for 0,
# wait until the guest gave all of it back.
vmem_set() {
	host qom-set vmem0 requested-size "$1" >/dev/null || return 1
	[ "$1" != 0 ] || wait_for 60 no_virtio_mem
}

# The top Movable block of node 1 can hold a boot allocation and refuse to
# offline: find it before QEMU starts, while it holds none of the RAM.
refusing_block() {
	for b in $(ls -d /sys/devices/system/node/node1/memory[0-9]* | sed 's/.*memory//' | sort -n -r); do
		grep -q '^Movable' $MEM/memory$b/valid_zones || continue
		in_virtio_mem "$b" && continue
		echo offline > $MEM/memory$b/state 2>/dev/null || { echo "$b"; return; }
		echo online_movable > $MEM/memory$b/state
		return
	done
}

# The machine's virtio-mem shrinks to zero under the RAM: what it held
# moves out, the guest keeps running; plugged again afterwards.
virtio_mem_moves() {
	plugged=$(vmem_plugged) || return 1
	# Node 1's other Movable blocks step aside while QEMU starts, so that
	# the RAM comes from virtio-mem's memory.
	aside=
	for b in $(ls -d /sys/devices/system/node/node1/memory[0-9]* | sed 's/.*memory//'); do
		grep -q '^Movable' $MEM/memory$b/valid_zones || continue
		in_virtio_mem "$b" && continue
		echo offline > $MEM/memory$b/state 2>/dev/null && aside="$aside $b"
	done
	qemu_start numactl --membind=1 -- $MOVABLE
	rc=$?
	for b in $aside; do echo online_movable > $MEM/memory$b/state || rc=1; done
	[ $rc = 0 ] || return 1
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
# so that the RAM lands in blocks offlined through sysfs; the top block
# may refuse, as found before.
offline_moves() {
	plugged=$(vmem_plugged) && vmem_set 0 || return 1
	refuses=$(refusing_block)
	qemu_start numactl --membind=1 -- $MOVABLE || return 1
	ino=$(ram ino)
	trace_start
	offlined= held=0 ok=0
	for b in $(ram_blocks); do
		grep -q '^Movable' $MEM/memory$b/valid_zones || continue
		n=$(ram_in_block "$b")
		if echo offline 2>/dev/null > $MEM/memory$b/state; then
			offlined="$offlined $b"
			held=$((held + n))
			echo "# memory$b: held $n pages of the RAM, offlined"
		elif [ "$b" = "$refuses" ]; then
			echo "# memory$b: held $n pages of the RAM, refused, as it did before QEMU started"
		else
			echo "# memory$b: held $n pages of the RAM, refused to offline"
			ok=1
		fi
	done
	left=0
	for b in $offlined; do
		n=$(ram_in_block "$b")
		left=$((left + n))
	done
	moved=$(traced "$ino" moved)
	trace_stop
	for b in $offlined; do echo online_movable > $MEM/memory$b/state || ok=1; done
	echo "# $held pages in the blocks offlined, $left still there; traced: $moved moved"
	[ -n "$offlined" ] && [ $left = 0 ] && [ "$moved" -ge $held ] && [ $ok = 0 ] &&
		guest_fine
	r=$?
	qemu_stop
	vmem_set "$plugged" || r=1
	return $r
}

# QEMU under numactl --membind=1; migratepages moves its RAM to node 0. With
# @1 = unmovable, the RAM stays on node 1 and QEMU keeps running.
migratepages_moves() {
	props=$MOVABLE
	[ "$1" = unmovable ] && props=$GMEM
	qemu_start numactl --membind=1 -- $props || return 1
	mapped=$(ram mapped)
	n1=$(ram node1)
	migratepages "$qpid" 1 0
	rc=$?
	echo "# migratepages $qpid 1 0: exit $rc; node 1 held $n1 of $mapped mapped pages," \
	     "now node 0 $(ram node0), node 1 $(ram node1)"
	if [ "$1" = unmovable ]; then
		[ "$(ram node1)" = "$n1" ] && [ "$(ram node0)" = 0 ] && guest_fine
	else
		[ $rc = 0 ] && [ "$n1" -gt $((mapped * 9 / 10)) ] && [ "$(ram node1)" = 0 ] &&
			[ "$(ram node0)" -ge "$n1" ] && guest_fine
	fi
	r=$?
	qemu_stop
	return $r
}

# qemu_refuses PROPS WORDS: QEMU exits at once, saying WORDS.
qemu_refuses() {
	: > $LOG
	qemu_run "$1" > /tmp/qemu.out 2>&1 &
	qpid=$!
	wait_for 60 sh -c "! kill -0 $qpid 2>/dev/null" || { qemu_stop; return 1; }
	wait "$qpid"
	rc=$?
	qpid=
	sed 's/^/# /' /tmp/qemu.out
	[ $rc != 0 ] && grep -q "$2" /tmp/qemu.out
}

no_guest_memfd() { qemu_refuses ,share=on,guest-memfd-movable=on "guest-memfd-movable.*guest-memfd=on"; }
private_mapping() { qemu_refuses ,share=off,guest-memfd=on "share=on"; }

# virtio-mem first: as the machine booted, node 1 allocates from its memory
# first (memory plugged later goes to the end of the free lists).
ktap_plan 6
ktap_case "the machine's virtio-mem shrinks to zero under the RAM, the guest sees no wrong word" virtio_mem_moves
ktap_case "offlining every block that holds the RAM moves it, the guest sees no wrong word" offline_moves
ktap_case "migratepages moves the RAM to the other node, the guest sees no wrong word" migratepages_moves
ktap_case "without guest-memfd-movable, migratepages moves nothing and QEMU keeps running" migratepages_moves unmovable
ktap_case "guest-memfd-movable without guest-memfd=on is refused" no_guest_memfd
ktap_case "guest-memfd=on with share=off is refused" private_mapping
ktap_exit
