#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Keep $TREE a git tree of the base with patches/ applied as commits.
#
# patches/series lists the patches in the order they apply, one path a line
# relative to patches/ (quilt's format); each folder is one series with its
# own cover letter (0000-cover-letter.patch, kept by hand, not listed). The
# tree marks where each series ends with a lightweight tag series/FOLDER.
# SERIES=NAME applies the series up to and including NAME only.
#
#   tree.sh sync     create the tree, or bring it up to date with patches/
#                    (refuses if the tree holds work that is not in patches/)
#   tree.sh force    throw away the tree's own work and re-apply patches/
#   tree.sh export   write each series' commits (base..series/FIRST,
#                    series/FIRST..series/SECOND, ...) back to its folder
#                    and patches/series
#   tree.sh worktree DIR
#                    make DIR a scratch worktree of the tree (detached, at
#                    'base' when new), for lint and build-each
#
# The base commit is made with fixed names and dates so that its id, and
# therefore the exported patches, are the same on every machine.
set -euo pipefail

cmd=$1
: "${TREE:?}" "${CACHE:?}" "${PATCHES:?}"
here=$(cd "$(dirname "$0")" && pwd)

git_() { git -C "$TREE" -c advice.detachedHead=false "$@"; }

# The patches to apply, from patches/series, up to the end of series
# $SERIES if set: one path a line, relative to $PATCHES.
patch_list() {
	local list=$PATCHES/series
	if [ ! -f "$list" ]; then
		echo "tree: $list is missing" >&2
		return 1
	fi
	grep -v '^\s*\(#\|$\)' "$list" | awk -v only="${SERIES:-}" '
		{ split($1, a, "/"); if (done && a[1] != last) exit
		  print $1; last = a[1]; if (a[1] == only) done = 1 }
		END { if (only != "" && !done) {
			print "tree: no series " only " in patches/series" > "/dev/stderr"
			exit 1 } }'
}

# The series (folders) of patches/series, in order.
series_names() {
	grep -v '^\s*\(#\|$\)' "$PATCHES/series" | cut -d/ -f1 | uniq
}

series_id() {
	local list
	list=$(patch_list)
	{
		echo "$BASE_SERIES $BASE_VERSION ${SERIES:-}"
		for p in $list; do
			echo "$p"
			cat "$PATCHES/$p"
		done
	} | sha256sum | cut -c1-16
}

stamp() { git_ rev-parse --git-path "gmem-$1"; }

record() {
	series_id > "$(stamp series)"
	git_ rev-parse HEAD > "$(stamp head)"
}

# Does the tree hold commits or edits that patches/ does not?
has_local_work() {
	[ "$(git_ rev-parse HEAD)" != "$(cat "$(stamp head)" 2>/dev/null)" ] ||
		[ -n "$(git_ status --porcelain --untracked-files=no)" ]
}

make_base() {
	local tarball
	tarball=$("$here/fetch-base.sh" "$CACHE")
	echo "tree: unpacking $(basename "$tarball") into $TREE"
	rm -rf "$TREE"
	mkdir -p "$TREE"
	tar -xf "$tarball" -C "$TREE" --strip-components=1
	# Debian's .gitignore ignores everything at the top level ("/*"), so
	# git would skip the new files a patch adds; drop that stanza.
	sed -i '/^# Debian packaging:/,/^!\/debian\/$/d' "$TREE/.gitignore"
	git_ init -q -b base-$BASE_SERIES
	# A scratch tree: git's automatic gc would repack 80,000 new objects in
	# the background, taking a core from the kernel build that follows.
	git_ config gc.auto 0
	git_ add -A -f
	GIT_AUTHOR_NAME=base GIT_AUTHOR_EMAIL=base@localhost \
	GIT_COMMITTER_NAME=base GIT_COMMITTER_EMAIL=base@localhost \
	GIT_AUTHOR_DATE='2026-01-01T00:00:00Z' \
	GIT_COMMITTER_DATE='2026-01-01T00:00:00Z' \
		git_ commit -q -m "Debian linux-source-$BASE_SERIES $BASE_VERSION"
	git_ tag -f base >/dev/null
	git_ checkout -q -b series
}

apply_series() {
	local list p t name last= n=0 names=
	list=$(patch_list)
	git_ reset -q --hard base
	git_ clean -qfdx
	for t in $(git_ tag -l 'series/*'); do
		git_ tag -d "$t" >/dev/null
	done
	for p in $list; do
		name=${p%%/*}
		if [ "$name" != "$last" ]; then
			[ -z "$last" ] || git_ tag series/"$last"
			names="$names${names:+, }$name"
		fi
		git_ am -q --keep-cr "$PATCHES/$p"
		last=$name n=$((n + 1))
	done
	[ -z "$last" ] || git_ tag series/"$last"
	record
	echo "tree: $TREE at base + $n patches ($names)"
}

case $cmd in
sync)
	if ! git_ rev-parse -q --verify base >/dev/null 2>&1; then
		make_base
		apply_series
	elif [ "$(cat "$(stamp series)" 2>/dev/null)" != "$(series_id)" ]; then
		if has_local_work; then
			echo "tree: $TREE has work that is not in patches/ and patches/ changed;" >&2
			echo "tree: 'make export' to keep it, or 'make tree FORCE=1' to drop it" >&2
			exit 1
		fi
		apply_series
	fi
	;;
force)
	git_ rev-parse -q --verify base >/dev/null 2>&1 || make_base
	git_ am --abort >/dev/null 2>&1 || true
	apply_series
	;;
export)
	if [ -n "${SERIES:-}" ]; then
		echo "export: SERIES=$SERIES: export writes every series; run it on the full tree" >&2
		exit 1
	fi
	if [ -n "$(git_ status --porcelain --untracked-files=no)" ]; then
		echo "export: $TREE has uncommitted changes; commit them first" >&2
		exit 1
	fi
	# Each series ends at its tag, the tags follow patches/series' order on
	# HEAD's history, and the last is HEAD: nothing would be lost or land in
	# the wrong folder. git rebase does not move tags: after one, move them
	# with git tag -f series/NAME COMMIT.
	names=$(series_names)
	prev=base
	for name in $names; do
		tag=series/$name
		if ! git_ rev-parse -q --verify "refs/tags/$tag" >/dev/null; then
			echo "export: $TREE has no tag $tag, which marks where series $name ends;" >&2
			echo "export: tag its last commit (git tag series/$name COMMIT)" >&2
			exit 1
		fi
		if ! git_ merge-base --is-ancestor "$prev" "$tag" ||
		   ! git_ merge-base --is-ancestor "$tag" HEAD; then
			echo "export: $tag is not between $prev and HEAD (moved by a rebase?);" >&2
			echo "export: move it to the last commit of series $name (git tag -f $tag COMMIT)" >&2
			exit 1
		fi
		prev=$tag
	done
	if [ "$(git_ rev-parse "$prev")" != "$(git_ rev-parse HEAD)" ]; then
		echo "export: $(git_ rev-list --count "$prev"..HEAD) commits after $prev belong to no series;" >&2
		echo "export: move the tag of the series they belong to (git tag -f $prev HEAD)" >&2
		exit 1
	fi
	prev=base
	list=$(mktemp)
	for name in $names; do
		dir=$PATCHES/$name
		# Every numbered patch but the cover letter, which is kept by hand.
		for p in "$dir"/[0-9][0-9][0-9][0-9]-*.patch; do
			[ "${p##*/}" = 0000-cover-letter.patch ] || rm -f "$p"
		done
		mkdir -p "$dir"
		git_ -c core.abbrev=12 -c diff.noprefix=false -c diff.mnemonicPrefix=false \
		     -c diff.algorithm=default -c format.signature= \
			format-patch --no-signature --zero-commit --no-cover-letter \
			-o "$dir" "$prev..series/$name" |
			sed "s|^$PATCHES/||" >> "$list"
		echo "export: $(git_ rev-list --count "$prev..series/$name") patches in $dir"
		prev=series/$name
	done
	mv "$list" "$PATCHES/series"
	chmod 644 "$PATCHES/series"
	record
	;;
worktree)
	# make check creates worktrees in parallel; prune must not see another's
	# half made.
	exec 9> "$(git_ rev-parse --path-format=absolute --git-common-dir)/gmem-worktree.lock"
	flock 9
	if [ ! -e "$2/.git" ]; then
		rm -rf "$2"
		git_ worktree prune
		git_ worktree add -q --detach "$2" base
	fi
	;;
*)
	echo "usage: [SERIES=NAME] tree.sh sync|force|export|worktree DIR" >&2
	exit 2
	;;
esac
