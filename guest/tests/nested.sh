# SPDX-License-Identifier: GPL-2.0
# Our QEMU (/opt/qemu) and its nested guest (/opt/nested): start, stop and
# watch it, see where its RAM is, trace its migrations, and the machine's
# memory beneath it. Sourced after ktap.sh (wait_for) by guest/tests/qemu.sh,
# guest/tests/qemu-base.sh, guest/tests/qemu-bench.sh and
# guest/bin/gmem-qemu-demo, the story 'make run' tells.
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
# -m, more QEMU arguments and guest kernel parameters for the next qemu_start.
qemu_m=$RAM qemu_extra= guest_append=

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
		-m "$qemu_m" -object "$BACKEND$1" -nodefaults -display none -no-reboot \
		-serial "file:$LOG" -kernel /opt/nested/bzImage $qemu_extra \
		-initrd /opt/nested/initramfs.cpio -append "console=ttyS0 quiet $guest_append"
}

# qemu_start ...: qemu_run in the background, until memcheck has filled the
# RAM and finished a round, or QEMU exited (its messages in /tmp/qemu.out).
# A nested guest still silent after 120 s is started once more, saying so:
# TCG's nested SVM now and then leaves a vCPU exiting without end, on the
# base kernel too (README), and nothing of the case has run yet.
qemu_start() {
	: > /tmp/qemu.out
	for try in 1 2; do
		: > $LOG
		qemu_run "$@" >> /tmp/qemu.out 2>&1 &
		qpid=$!
		wait_for 120 started_or_gone
		rounds_past 1 && return 0
		if [ $try = 2 ] || [ -s $LOG ] || ! kill -0 "$qpid" 2>/dev/null; then
			break
		fi
		echo "# the nested guest printed nothing in 120 s; KVM's counters" \
		     "that changed in 1 s: $(kvm_moving "$qpid"); starting it again"
		qemu_stop
	done
	echo "# the nested guest did not start"
	qemu_stuck
	sed 's/^/#   /' /tmp/qemu.out $LOG
	qemu_stop
	return 1
}

# kvm_counters DIR: "name value" for each of a VM's debugfs files that
# holds one number (not the histograms, not mmu_rmaps_stat, whose read
# walks every rmap under mmu_lock).
kvm_counters() {
	for f in "$1"/*; do
		case ${f##*/} in *_hist|mmu_rmaps_stat) continue ;; esac
		[ -f "$f" ] && echo "${f##*/} $(cat "$f")"
	done | awk 'NF == 2 && $2 ~ /^[0-9]+$/'
}

# kvm_moving PID: "name +N" for each of the VM's debugfs counters that
# changed in one second.
kvm_moving() {
	set -- /sys/kernel/debug/kvm/"$1"-*
	[ -d "$1" ] || { echo "no debugfs entry"; return; }
	kvm_counters "$1" > /tmp/kvm.0
	sleep 1
	kvm_counters "$1" |
		awk 'NR == FNR { v[$1] = $2; next } $2 != v[$1] { printf "%s %+.0f ", $1, $2 - v[$1] }' /tmp/kvm.0 -
}

# task_state DIR: one task's state, wait channel and kernel stack.
task_state() {
	echo "#   task ${1##*/} ($(cat "$1/comm")): $(sed -n 's/^State:\t//p' "$1/status")," \
	     "wchan $(cat "$1/wchan" 2>/dev/null)"
	sed 's/^/#     /' "$1/stack" 2>/dev/null
}

# qemu_stuck: what can be seen of a nested guest that stopped making
# progress: each QEMU thread, the VM's KVM counters that move, and every
# blocked (D) task of the machine, as sysrq-w would print them but without
# call traces in the kernel log, which the harness counts as reports.
qemu_stuck() {
	echo "# QEMU's threads:"
	for t in /proc/"$qpid"/task/*; do
		[ -d "$t" ] && task_state "$t"
	done
	echo "# KVM's counters that changed in 1 s: $(kvm_moving "$qpid")"
	echo "# blocked tasks:"
	for t in /proc/[0-9]*/task/*; do
		grep -q '^State:.D' "$t/status" 2>/dev/null && task_state "$t"
	done
	qemu_said
}

# qemu_said: what QEMU printed, and the end of the nested guest's console.
qemu_said() {
	echo "# QEMU's messages:"
	sed 's/^/#   /' /tmp/qemu.out
	echo "# the nested guest's console, last 30 lines:"
	tail -n 30 $LOG | sed 's/^/#   /'
}

# QEMU has not exited (a zombie, not yet waited for, has).
qemu_alive() {
	[ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null &&
		! grep -q '^State:.Z' /proc/"$qpid"/status 2>/dev/null
}

# qemu_exited: QEMU ended by itself: its exit status, and what it said.
qemu_exited() {
	wait "$qpid"
	echo "# QEMU exited with status $?"
	qpid=
	qemu_said
}

started_or_gone() { rounds_past 1 || ! kill -0 "$qpid" 2>/dev/null; }

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
	qemu_alive || { qemu_exited; return 1; }
	if ! wait_for 120 rounds_past $((r + 2)); then
		if qemu_alive; then
			echo "# no round after $r"
			qemu_stuck
		else
			echo "# no round after $r, and QEMU is gone"
			qemu_exited
		fi
		return 1
	fi
	if grep -q 'memcheck: round [0-9]*: offset' $LOG ||
	   sed -n 's/.* \([0-9]*\) mismatches.*/\1/p' $LOG | grep -qv '^0$'; then
		grep 'memcheck:.*\(offset\|[1-9][0-9]* mismatches\)' $LOG | head -n 5 | sed 's/^/# /'
		return 1
	fi
	echo "# memcheck: $(grep -c 'memcheck: round' $LOG) rounds of $RAM, no mismatch, longest" \
	     "stall $(sed -n 's/.*longest stall \([0-9]*\) ms.*/\1/p' $LOG | sort -n | tail -n 1) ms"
}

# The name of the RAM's file in QEMU's maps: "memfd:" for a plain memfd.
RAM_FILE=kvm-gmem
# Where the RAM is: vm-ram's summary line, field $1 (ino, mapped, node0...).
ram() { vm-ram "$qpid" $RAM_FILE | awk -v k="$1" 'NR == 1 { for (i = 1; i < NF; i += 2) if ($i == k) print $(i + 1) }'; }
ram_blocks() { vm-ram "$qpid" $RAM_FILE | sed -n 's/^memory\([0-9]*\) .*/\1/p'; }
# Pages of the RAM in memory block $1 (0 if none).
ram_in_block() { vm-ram "$qpid" $RAM_FILE | awk -v b="memory$1" '$1 == b { n = $2 } END { print n + 0 }'; }
# Pages of the RAM in PFNs $1 (LO-HI, hex).
ram_range() { vm-ram -r "$1" "$qpid" $RAM_FILE | sed -n 's/^range //p'; }

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
# Pages in a size of QEMU's syntax ($RAM: 256M).
size_pages() { echo $((${1%M} * 256)); }

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

# Node 1's memory blocks; all the machine's memory blocks.
node1_blocks() { ls -d /sys/devices/system/node/node1/memory[0-9]* | sed 's/.*memory//'; }
memory_blocks() { ls -d $MEM/memory[0-9]* | sed 's/.*memory//'; }

# online_blocks BLOCK...: online them movable again; 1 if one refuses.
online_blocks() {
	online_rc=0
	for b; do echo online_movable > $MEM/memory$b/state || online_rc=1; done
	return $online_rc
}

# qemu_start_in BLOCKS: qemu_start on node 1 with movable guest_memfd RAM
# that comes from the memory of virtio-mem and of BLOCKS: node 1's other
# Movable blocks step aside (offline) while QEMU starts, and come back.
qemu_start_in() {
	aside=
	for b in $(node1_blocks); do
		case " $1 " in *" $b "*) continue ;; esac
		grep -q '^Movable' $MEM/memory$b/valid_zones || continue
		in_virtio_mem "$b" && continue
		echo offline > $MEM/memory$b/state 2>/dev/null && aside="$aside $b"
	done
	qemu_start numactl --membind=1 -- $MOVABLE
	rc=$?
	# shellcheck disable=SC2086 # one block a word
	online_blocks $aside || rc=1
	return $rc
}

# offline_ram_blocks REFUSING: offline every Movable block that holds some
# of the RAM, a line each; $offlined lists those that went, $held counts
# the RAM's pages they held, $busy is 1 if a block not in REFUSING (what
# refusing_blocks found) refused.
offline_ram_blocks() {
	offlined= held=0 busy=0
	for b in $(ram_blocks); do
		grep -q '^Movable' $MEM/memory$b/valid_zones || continue
		n=$(ram_in_block "$b")
		if echo offline 2>/dev/null > $MEM/memory$b/state; then
			offlined="$offlined $b"
			held=$((held + n))
			echo "# memory$b: held $n pages of the RAM, offlined"
		else
			case " $1 " in
			*" $b "*)
				echo "# memory$b: held $n pages of the RAM, refused, as it did before QEMU started" ;;
			*)
				echo "# memory$b: held $n pages of the RAM, refused to offline"
				busy=1 ;;
			esac
		fi
	done
}

# The top Movable blocks of node 1 can hold boot allocations (memblock's,
# top-down: KASAN's shadow spans two) and refuse to offline: find them
# before QEMU starts, while they hold none of the RAM, from the top down
# to the first that offlines.
refusing_blocks() {
	for b in $(node1_blocks | sort -n -r); do
		grep -q '^Movable' $MEM/memory$b/valid_zones || continue
		grep -qx online $MEM/memory$b/state || continue
		in_virtio_mem "$b" && continue
		if ! echo offline > $MEM/memory$b/state 2>/dev/null; then
			printf '%s ' "$b"
			continue
		fi
		echo online_movable > $MEM/memory$b/state
		return
	done
}

# Cases that qemu.sh and qemu-base.sh share.

# qemu_refuses PROPS WORDS: QEMU exits at once, saying WORDS; the guest
# never ran.
qemu_refuses() {
	: > $LOG
	qemu_run "$1" > /tmp/qemu.out 2>&1 &
	qpid=$!
	wait_for 60 sh -c "! kill -0 $qpid 2>/dev/null" || { qemu_stop; return 1; }
	wait "$qpid"
	rc=$?
	qpid=
	sed 's/^/# /' /tmp/qemu.out
	[ $rc != 0 ] && grep -q "$2" /tmp/qemu.out && [ ! -s $LOG ]
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
