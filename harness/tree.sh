#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Keep $TREE a git tree of the base with patches/ applied as commits.
#
#   tree.sh sync     create the tree, or bring it up to date with patches/
#                    (refuses if the tree holds work that is not in patches/)
#   tree.sh force    throw away the tree's own work and re-apply patches/
#   tree.sh export   write the tree's commits since 'base' back to patches/
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

series_id() {
	{
		echo "$BASE_SERIES $BASE_VERSION"
		for p in "$PATCHES"/[0-9]*.patch; do
			[ -e "$p" ] || continue
			basename "$p"
			cat "$p"
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
	git_ reset -q --hard base
	git_ clean -qfdx
	local p n=0
	for p in "$PATCHES"/[0-9]*.patch; do
		[ -e "$p" ] || break
		case $(basename "$p") in 0000-*) continue ;; esac
		git_ am -q --keep-cr "$p"
		n=$((n + 1))
	done
	record
	echo "tree: $TREE at base + $n patches"
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
	if [ -n "$(git_ status --porcelain --untracked-files=no)" ]; then
		echo "export: $TREE has uncommitted changes; commit them first" >&2
		exit 1
	fi
	# Every numbered patch but the cover letter, which is kept by hand.
	for p in "$PATCHES"/[0-9][0-9][0-9][0-9]-*.patch; do
		[ "${p##*/}" = 0000-cover-letter.patch ] || rm -f "$p"
	done
	mkdir -p "$PATCHES"
	git_ -c core.abbrev=12 -c diff.noprefix=false -c diff.mnemonicPrefix=false \
	     -c diff.algorithm=default -c format.signature= \
		format-patch -q --no-signature --zero-commit --no-cover-letter \
		-o "$PATCHES" base..HEAD
	record
	echo "export: $(git_ rev-list --count base..HEAD) patches in $PATCHES"
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
	echo "usage: tree.sh sync|force|export|worktree DIR" >&2
	exit 2
	;;
esac
