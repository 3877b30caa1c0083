#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Every planted bug in mutants/ turns the suite red. A mutant is a small
# patch over the series tip; its "Catch:" lines are guest/suite lines (a
# "boot:" line first) whose cases must fail with it. One at a time, in a
# worktree of $TREE at the tip, apply it, rebuild the kernel in one build
# directory (incrementally), boot it with those lines and note what failed.
# The test programs are the series' own, from $BUILD: mutants change the
# kernel only. Prints a table (also $WORK/mutants/table.txt) and fails if a
# mutant survived or no longer applies (the others still run).
#
#   mutants.sh [REGEX]   only the mutants whose names REGEX (Python's re)
#                        matches; none is an error
set -euo pipefail
: "${TREE:?}" "${WORK:?}" "${BUILD:?}" "${VARIANT:?}"
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
only=${1:-}

# The mutants to run: those whose names $only matches, by Python's re as
# TESTS is (vm.py), so that both take the same expressions. A bad one, or
# one that matches none, is an error before the worktree is touched.
names=$(for m in "$top"/mutants/*.patch; do basename "$m" .patch; done |
	PYTHONPATH=$here python3 -c 'import sys, vm
only = vm.pattern(sys.argv[1], "MUTANTS")
print("\n".join(name for name in sys.stdin.read().split() if only.search(name)))' "$only")
if [ -z "$names" ]; then
	echo "mutants: no mutant in $top/mutants matches MUTANTS '$only'" >&2
	exit 2
fi

# As deep below $WORK as $TREE and $BUILD, so that ccache (CCACHE_BASEDIR)
# finds the objects of the tree's own build.
dir=$WORK/mutants
mtree=$dir/linux
mbuild=$dir/build-$VARIANT
tip=$(git -C "$TREE" rev-parse HEAD)
"$here/tree.sh" worktree "$mtree"
mkdir -p "$mbuild"
table=$dir/table.txt
printf '%-34s %s\n' mutant 'caught by' > "$table"

survived=0
for name in $names; do
	m=$top/mutants/$name.patch
	echo "mutants: $name: $(sed -n 's/^Mutant: //p' "$m")"
	git -C "$mtree" checkout -q -f --detach "$tip"
	if ! git -C "$mtree" apply "$m"; then
		printf '%-34s %s\n' "$name" "DOES NOT APPLY to the series tip" | tee -a "$table"
		survived=$((survived + 1))
		continue
	fi
	TREE=$mtree BUILD=$mbuild "$here/build-kernel.sh" kernel >/dev/null
	suite=$mbuild/mutant.suite
	sed -n 's/^Catch: //p' "$m" > "$suite"
	PROGS=$BUILD EXTRA_SUITE=$suite BUILD=$mbuild "$here/initramfs.sh" >/dev/null
	log=$mbuild/$name.log
	"$here/vm.py" check --build "$mbuild" --suite "$suite" > "$log" 2>&1 || true
	summary=$(tail -n 1 "$log")
	# What failed: the cases vm.py names (else the programs), kernel
	# reports, a boot that did not finish. A case a program planned and
	# did not print has only its place for a name (#N): with its program.
	caught=$(sed -n -e 's/^vm: \([^ ]*\): \(#[0-9]*\): failed.*/\1 \2/p' \
		-e 's/^vm: [^ ]*: \([^ #][^ ]*\): failed.*/\1/p' "$log")
	[ -n "$caught" ] || caught=$(sed -n 's/^not ok [0-9]* \([^ ]*\).*/\1/p' "$log")
	caught=$( { echo "$caught"
		    sed -n -e 's/^kernel log: \([0-9]* reports\)/kernel log: \1/p' \
			   -e 's/^vm: the suite did not finish.*/did not finish/p' "$log"
		  } | sed "/^$/d" | sort -u | paste -sd ',' | sed 's/,/, /g')
	if [[ $summary =~ ^0\ passed,\ 0\ failed,\ [1-9] ]]; then
		result="not run here: its cases skip ($(grep -m1 -A1 '^vm: skipped' "$log" |
			tail -n 1 | sed 's/.*: //'))"
		survived=$((survived + 1))
	elif [[ ! $summary =~ ^[0-9]+\ passed,\ 0\ failed ]]; then
		result=$caught
	else
		result="SURVIVED ($summary)"
		survived=$((survived + 1))
	fi
	printf '%-34s %s\n' "$name" "$result" | tee -a "$table"
done
git -C "$mtree" checkout -q -f --detach "$tip"
echo "mutants: table in $table, logs in $mbuild/*.log"
cat "$table"
[ $survived = 0 ]
