#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the KVM selftests of $TREE, statically, against the uapi headers of
# the kernel in $BUILD, into $BUILD/kselftest/kvm: those that guest/suite,
# guest/bench and the mutants name (ALL=1: every one); with SERIES, those
# that $SUITE names, the tree holding only the series up to that one.
# Nothing is written into the source tree.
set -euo pipefail
: "${TREE:?}" "${BUILD:?}"
top=$(cd "$(dirname "$0")/.." && pwd)

cc=gcc
command -v ccache >/dev/null && cc="ccache gcc"
out=$BUILD/kselftest/kvm
mkdir -p "$out"
# No CCACHE_BASEDIR here: ccache would write the dependency files with
# relative targets, which make does not match to $out/*.o, and a changed
# header would not rebuild the tests that include it.
# The other hundred tests would take a cold build two more minutes.
goals=()
if [ "${ALL:-}" != 1 ]; then
	if [ -n "${SERIES:-}" ]; then
		lists=("${SUITE:?}") mutants=()
	else
		lists=("$top/guest/suite" "$top/guest/bench") mutants=("$top"/mutants/*.patch)
	fi
	mapfile -t goals < <({ cat "${lists[@]}"
			      [ ${#mutants[@]} = 0 ] || sed -n 's/^Catch: //p' "${mutants[@]}"; } |
			    awk '$1 ~ /^kvm\// { print o "/" substr($1, 5) }' o="$out" | sort -u)
fi
env -u CCACHE_BASEDIR make -C "$TREE/tools/testing/selftests/kvm" -s -j"$(nproc)" \
	OUTPUT="$out" CC="$cc" KHDR_INCLUDES="-isystem $BUILD/usr/include" \
	EXTRA_CFLAGS=-static LDFLAGS=-static "${goals[@]}"
echo "selftests: $(find "$out" -type f -perm -u+x -name '*_test' | wc -l) KVM tests in $out"
