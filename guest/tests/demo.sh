#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The demo of 'make run' works: with the flag, the VM's memory leaves every
# block the host offlines and the virtio-mem memory it unplugs while the
# guest checksums it without error; without it, offlining is refused at once.
. "$(dirname "$0")/ktap.sh"

gmem-demo > /tmp/demo.out 2>&1
rc=$?
gmem-demo --unmovable > /tmp/demo-unmovable.out 2>&1
rc_unmovable=$?
sed 's/^/# /' /tmp/demo.out /tmp/demo-unmovable.out

moved_offline() { grep -q "offline memory[0-9]*: done *[1-9][0-9]* pages moved" /tmp/demo.out; }
moved_virtio() { grep -q "virtio-mem shrunk to 0: done *[1-9][0-9]* pages moved" /tmp/demo.out; }
no_wrong() { [ $rc = 0 ] && grep -q "never saw a wrong byte" /tmp/demo.out; }
refused() {
	[ $rc_unmovable = 0 ] &&
		grep -q "offline memory[0-9]*: Device or resource busy *0 pages moved" /tmp/demo-unmovable.out &&
		! grep -q "offline memory[0-9]*: done" /tmp/demo-unmovable.out
}

ktap_plan 4
ktap_case "offlining moves the VM's memory" moved_offline
ktap_case "unplugging virtio-mem moves the VM's memory" moved_virtio
ktap_case "the guest never saw a wrong byte" no_wrong
ktap_case "without the flag, offlining is refused at once" refused
ktap_exit
