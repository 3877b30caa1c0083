# SPDX-License-Identifier: GPL-2.0
# KTAP output for the shell tests in guest/tests: source it, call
# ktap_plan N, then ktap_result 0|1|4 "description" per case, ktap_exit.
ktap_n=0 ktap_fail=0 ktap_skip=0 ktap_planned=

ktap_plan() { ktap_planned=$1; echo "TAP version 13"; echo "1..$1"; }

ktap_result() {
	ktap_n=$((ktap_n + 1))
	case $1 in
	0) echo "ok $ktap_n $2" ;;
	4) echo "ok $ktap_n $2 # SKIP"; ktap_skip=$((ktap_skip + 1)) ;;
	*) echo "not ok $ktap_n $2"; ktap_fail=$((ktap_fail + 1)) ;;
	esac
}

# ktap_case "description" command...: run a check function as one case.
ktap_case() {
	desc=$1
	shift
	"$@"
	ktap_result $? "$desc"
}

# Fails if the script ran other than the cases it planned: a case left out
# (a branch that skipped a ktap_case) would otherwise pass unseen.
ktap_exit() {
	echo "# Totals: pass:$((ktap_n - ktap_fail - ktap_skip)) fail:$ktap_fail skip:$ktap_skip"
	if [ "$ktap_n" != "$ktap_planned" ]; then
		echo "# ktap_exit: planned ${ktap_planned:-no} cases (ktap_plan), ran $ktap_n"
		exit 1
	fi
	[ $ktap_fail = 0 ] || exit 1
	[ $ktap_skip = 0 ] || [ $ktap_skip != $ktap_n ] || exit 4
	exit 0
}

# wait_for SECONDS command...: poll once a second until the command succeeds.
wait_for() {
	t=$1
	shift
	while ! "$@"; do
		t=$((t - 1))
		[ $t -gt 0 ] || return 1
		sleep 1
	done
}
