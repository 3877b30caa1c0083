#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Check the QEMU series' documentation with QEMU's own Sphinx setup: read
# the whole manual of the QEMU source tree $1 (docs/conf.py with its hxtool,
# qapidoc and kerneldoc extensions, so qemu-options.hx and the QAPI schema
# too) with Debian's python3-sphinx, as "ninja html" would, but without
# configure, and with Sphinx's dummy builder, which resolves every reference
# and writes nothing: a minute on 2 cores. Fails on any Sphinx warning in
# the files the series touches (the tree's diff from tag "base", as
# build-qemu.sh makes it); warnings in QEMU's other files are only shown.
set -euo pipefail
src=$(cd "${1:?usage: qemu-docs.sh QEMU_SOURCE_DIR}" && pwd)
# Debian's python3, which python3-sphinx is installed for (not a pyenv one).
PYTHON=/usr/bin/python3

"$PYTHON" -c 'import sphinx, sphinx_rtd_theme' 2>/dev/null ||
	{ echo "qemu-docs: needs python3-sphinx and python3-sphinx-rtd-theme" >&2; exit 1; }
ours=$(git -C "$src" diff --name-only base HEAD 2>/dev/null || true)
[ -n "$ours" ] || { echo "qemu-docs: $src: no tag base, or nothing after it" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PYTHON" -m sphinx -q -j auto -b dummy -w "$tmp/warnings" -d "$tmp/doctrees" \
	"$src/docs" "$tmp/out" > "$tmp/log" 2>&1 ||
	{ cat "$tmp/log" >&2; echo "qemu-docs: sphinx-build failed" >&2; exit 1; }

# hxtool and qapidoc name their files as docs/../FILE: match the tail.
grep -F -f <(sed 's|^|/|; s|$|:|' <<< "$ours") "$tmp/warnings" > "$tmp/ours" || true
grep -v -F -f "$tmp/ours" "$tmp/warnings" | sed 's/^/qemu-docs: not ours: /' || true
if [ -s "$tmp/ours" ]; then
	cat "$tmp/ours"
	echo "qemu-docs: $(wc -l < "$tmp/ours") Sphinx warnings or errors in the series' files" >&2
	exit 1
fi
echo "qemu-docs: no Sphinx warning in the series' files"
