#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The story of 'make run' (guest/bin/gmem-qemu-demo) works: each step moves
# the RAM of the running QEMU VM, and its guest never sees a wrong word.
. "$(dirname "$0")/ktap.sh"

gmem-qemu-demo > /tmp/qemu-demo.out 2>&1
rc=$?
sed 's/^/# /' /tmp/qemu-demo.out
# The demo leaves QEMU running for the shell.
qpid=$(sed -n 's/^QEMU pid \([0-9]*\);.*/\1/p' /tmp/qemu-demo.out)
[ -n "$qpid" ] && kill "$qpid"

moved() { grep -q "$1" /tmp/qemu-demo.out; }

ktap_plan 4
ktap_case "offlining moves the RAM out of each block that offlines" \
	moved "^# memory[0-9]*: held [1-9][0-9]* pages of the RAM, offlined$"
ktap_case "shrinking the machine's virtio-mem moves the RAM out of it" \
	moved "^virtio-mem: unplugged, its [1-9][0-9]* pages of the RAM moved out"
ktap_case "migratepages moves the RAM back to node 1" moved "^node 1 now holds [1-9][0-9]* pages, node 0 0$"
ktap_case "the guest never saw a wrong word" \
	sh -c "[ $rc = 0 ] && grep -q '^# memcheck: .* no mismatch' /tmp/qemu-demo.out"
ktap_exit
