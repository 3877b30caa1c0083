#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Every patch of the series builds: check out each commit of $TREE since
# 'base' in a worktree of its own and build the kernel there, in one build
# directory, so each step is incremental. With SERIES, $TREE holds the series
# up to that one, and the worktree and build are its own.
set -euo pipefail
: "${TREE:?}" "${WORK:?}" "${VARIANT:?}"
here=$(cd "$(dirname "$0")" && pwd)

wt=$WORK/each-tree${SERIES:+-$SERIES}
"$here/tree.sh" worktree "$wt"
for c in $(git -C "$TREE" rev-list --reverse base..HEAD); do
	git -C "$wt" checkout -q "$c"
	echo "build-each: $(git -C "$wt" log -1 --format='%h %s')"
	TREE=$wt BUILD=$WORK/build-each-$VARIANT${SERIES:+-$SERIES} \
		"$here/build-kernel.sh" kernel >/dev/null
done
echo "build-each: $(git -C "$TREE" rev-list --count base..HEAD) commits build"
