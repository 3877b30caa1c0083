#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Figure 8 of make bench: the same QEMU VM (256 MiB, its guest checking all
# of it) on memory-backend-memfd (shmem) and on a migratable guest_memfd,
# in turn in each round: the time migratepages(8) takes to move it from
# node 1 to node 0, the time to offline the Movable blocks holding its RAM
# once it is back on node 1, and the guest's longest stall during each. One
# JSON object a measurement, for harness/bench.py; a kernel without the
# flag gets a skip for guest_memfd.
. "$(dirname "$0")/ktap.sh"
. "$(dirname "$0")/nested.sh"

rounds=${1:-3}
SHMEM=,share=on

now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

# The longest stall memcheck reported in the rounds after round $1.
stall_since() {
	sed -n 's/^memcheck: round \([0-9]*\): .*longest stall \([0-9]*\) ms.*/\1 \2/p' $LOG |
		awk -v r="$1" '$1 > r && $2 > m { m = $2 } END { print m + 0 }'
}

# record HOW KIND ROUND PAGES MS STALL_SINCE_ROUND
record() {
	wait_for 120 rounds_past $(($6 + 2))
	printf '{"fig": "qemu", "how": "%s", "kind": "%s", "round": %d, "pages": %d, "ms": %d, "stall_ms": %d}\n' \
		"$1" "$2" "$3" "$4" "$5" "$(stall_since "$6")"
}

# measure KIND FILE PROPS ROUND: 2 if QEMU refused PROPS.
measure() {
	RAM_FILE=$2
	if ! qemu_start numactl --membind=1 -- "$3" > /tmp/start.out; then
		grep -q 'guest-memfd' /tmp/qemu.out && return 2
		cat /tmp/start.out
		return 1
	fi
	cat /tmp/start.out
	# migratepages first, while all of the RAM is on node 1 (offlining
	# moves it to node 0); then back, untimed, for the offline.
	r=$(last_round)
	n1=$(ram node1)
	t=$(now_ms)
	migratepages "$qpid" 1 0
	ms=$(($(now_ms) - t))
	record migratepages "$1" "$4" $((n1 - $(ram node1))) $ms "$r"
	migratepages "$qpid" 0 1

	r=$(last_round)
	t=$(now_ms)
	offline_ram_blocks "" > /dev/null
	record offline "$1" "$4" $held $(($(now_ms) - t)) "$r"
	# shellcheck disable=SC2086 # one block a word
	online_blocks $offlined
	guest_fine > /dev/null
	rc=$?
	qemu_stop
	return $rc
}

plugged=$(vmem_plugged) && vmem_set 0 || exit 1
rc=0 gmem=1
for round in $(seq 1 "$rounds"); do
	measure shmem memfd: "$SHMEM" "$round" || rc=1
	[ $gmem = 1 ] || continue
	measure gmem kvm-gmem "$MOVABLE" "$round"
	case $? in
	0) ;;
	2)	gmem=0
		why=$(grep -m 1 'guest-memfd' /tmp/qemu.out | tr -d '"\\')
		echo "{\"skip\": \"qemu\", \"kind\": \"gmem\", \"why\": \"$why\"}" ;;
	*) rc=1 ;;
	esac
done
vmem_set "$plugged" || rc=1
exit $rc
