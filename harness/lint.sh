#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Every patch patches/series lists applies, in that order, on the base (all
# the series, whatever SERIES says), and passes scripts/checkpatch.pl
# --strict. A missing Signed-off-by is the one finding allowed: whoever
# posts the series adds their own. checkpatch also asks
# "does MAINTAINERS need updating?" of every added file; we answer it with
# get_maintainer.pl instead: each added file must already have a maintainer.
# The tree is Debian's tarball without upstream history, so checkpatch cannot
# look up the commit a Fixes: tag names (UNKNOWN_COMMIT_ID); the tag's form
# is still checked.
set -euo pipefail
: "${TREE:?}" "${WORK:?}" "${PATCHES:?}"

lt=$WORK/lint-tree
"$(dirname "$0")/tree.sh" worktree "$lt"
git -C "$lt" am --abort >/dev/null 2>&1 || true
git -C "$lt" reset -q --hard base
git -C "$lt" clean -qfdx

n=0 bad=0
for name in $(grep -v '^\s*\(#\|$\)' "$PATCHES/series"); do
	p=$PATCHES/$name
	n=$((n + 1))
	if ! git -C "$lt" am -q "$p" >/dev/null 2>&1; then
		echo "lint: $name does not apply on base + the patches before it"
		git -C "$lt" am --abort >/dev/null 2>&1 || true
		exit 1
	fi
	for f in $(git -C "$lt" diff --name-only --diff-filter=A HEAD~1 HEAD); do
		(cd "$lt" && ./scripts/get_maintainer.pl --no-git -f "$f") |
			grep -q '(maintainer' && continue
		echo "lint: $name adds $f, which no MAINTAINERS entry covers"
		bad=$((bad + 1))
	done
	# PATH: spdxcheck.py needs Debian's python3, with python3-ply and -git.
	if out=$(cd "$lt" && PATH=/usr/bin:$PATH ./scripts/checkpatch.pl --strict --quiet \
			--ignore MISSING_SIGN_OFF,FILE_PATH_CHANGES,UNKNOWN_COMMIT_ID \
			--no-summary --color=never "$p"); then
		echo "lint: $name: ok"
	else
		echo "lint: $name:"
		echo "$out" | sed 's/^/  /'
		bad=$((bad + 1))
	fi
done
echo "lint: $n patches, $bad findings"

# The QEMU series, with QEMU's own checkpatch.pl from the tree
# build-qemu.sh applied it to. One warning is expected: patch 6 adds the
# provisional flag to linux-headers by hand, not with
# update-linux-headers.sh, as its message explains.
qn=0 qbad=0
for p in "$(cd "$(dirname "$0")/.." && pwd)"/qemu/patches/[0-9]*.patch; do
	name=$(basename "$p")
	case $name in 0000-*) continue ;; esac
	qn=$((qn + 1))
	# Each finding is a paragraph that starts with ERROR: or WARNING:.
	out=$(cd "$WORK/qemu/src" && ./scripts/checkpatch.pl --color=never "$p" 2>&1 |
		awk -v RS= '/^(ERROR|WARNING):/ &&
			    !/are you using scripts\/update-linux-headers.sh/')
	if [ -z "$out" ]; then
		echo "lint: qemu/$name: ok"
	else
		echo "lint: qemu/$name:"
		echo "$out" | sed 's/^/  /'
		qbad=$((qbad + 1))
	fi
done
echo "lint: $qn QEMU patches, $qbad findings"

# The series' documentation (docs/system, qemu-options.hx, the QAPI schema)
# through QEMU's own Sphinx setup.
"$(dirname "$0")/qemu-docs.sh" "$WORK/qemu/src" | sed 's/^/lint: /' || qbad=$((qbad + 1))
[ $bad = 0 ] && [ $qbad = 0 ]
