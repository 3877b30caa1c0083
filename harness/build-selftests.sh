#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the KVM selftests of $TREE, statically, against the uapi headers of
# the kernel in $BUILD, into $BUILD/kselftest/kvm. Nothing is written into
# the source tree.
set -euo pipefail
: "${TREE:?}" "${BUILD:?}"

cc=gcc
command -v ccache >/dev/null && cc="ccache gcc"
out=$BUILD/kselftest/kvm
mkdir -p "$out"
# No CCACHE_BASEDIR here: ccache would write the dependency files with
# relative targets, which make does not match to $out/*.o, and a changed
# header would not rebuild the tests that include it.
env -u CCACHE_BASEDIR make -C "$TREE/tools/testing/selftests/kvm" -s -j"$(nproc)" \
	OUTPUT="$out" CC="$cc" KHDR_INCLUDES="-isystem $BUILD/usr/include" \
	EXTRA_CFLAGS=-static LDFLAGS=-static
echo "selftests: $(find "$out" -type f -perm -u+x -name '*_test' | wc -l) KVM tests in $out"
