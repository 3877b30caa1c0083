#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The KUnit suites built into the kernel (config/debug.config) ran at boot,
# before /init; each keeps its results in debugfs. Report every case of every
# suite there as one KTAP line, "ok N SUITE.CASE", so the harness counts and
# names them. The suites below are the series' own: a kernel without one (a
# config that lost it, kunit.enable=0) fails rather than passing with no case,
# and so does a suite that reports fewer cases than it planned.
. "$(dirname "$0")/ktap.sh"

expected="kvm_x86_gmem_migratable kvm_sev_gmem_migratable"
dir=/sys/kernel/debug/kunit
list=/tmp/kunit.cases one=/tmp/kunit.suite diag=/tmp/kunit.diag

# cases SUITE FILE: a line per case of SUITE's results in FILE, "STATUS
# SUITE.CASE" (STATUS as ktap_result takes it); the suite's plan, its cases
# and their parameters are indented by 4, 4 and 8 spaces. A suite that did
# not run every case it planned adds a failure named SUITE, and a line
# "# why".
cases() {
	awk -v suite="$1" '
	/^    1\.\.[0-9]+$/ && plan == "" { plan = substr($0, 8) + 0; next }
	/^    (not )?ok [0-9]+ / {
		line = substr($0, 5)
		st = 0
		if (line ~ /^not /) {
			st = 1
			line = substr(line, 5)
		}
		sub(/^ok [0-9]+ /, "", line)
		if (match(line, / # SKIP/)) {
			line = substr(line, 1, RSTART - 1)
			if (!st)
				st = 4
		}
		print st, suite "." line
		n++
	}
	END {
		if (plan == "" || n != plan || !n) {
			print 1, suite
			print "# " suite ": ran " (n + 0) " of " \
				(plan == "" ? "no" : plan) " planned cases"
		}
	}' "$2"
}

: > "$list"
: > "$diag"
others=
for d in "$dir"/*/; do
	[ -d "$d" ] || continue
	suite=$(basename "$d")
	case " $expected " in *" $suite "*) ;; *) others="$others $suite" ;; esac
done
for suite in $expected $others; do
	results=$dir/$suite/results
	if [ -r "$results" ]; then
		cases "$suite" "$results" > "$one"
	else
		printf '1 %s\n# %s: no %s: not built in, or kunit.enable=0?\n' \
			"$suite" "$suite" "$results" > "$one"
	fi
	grep -v '^#' "$one" >> "$list"
	grep '^#' "$one" >> "$diag"
	# A suite with a case that did not pass: its whole log, which says why.
	grep -q '^[14] ' "$one" && [ -r "$results" ] &&
		awk -v s="$suite" '{ print "# " s ": " $0 }' "$results" >> "$diag"
done

ktap_plan "$(wc -l < "$list")"
while read -r st name; do
	ktap_result "$st" "$name"
done < "$list"
cat "$diag"
ktap_exit
