#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-prog.sh DIR/NAME.c: build one program of ours (demo/gmem-demo, a
# small VMM; bench/gmem-bench, the benchmark) statically against the KVM
# selftest library that build-selftests.sh compiled (its objects, same
# flags), into $BUILD/DIR/NAME. Our code, not for upstream.
set -euo pipefail
: "${TREE:?}" "${BUILD:?}"
top=$(cd "$(dirname "$0")/.." && pwd)
src=$1
out=$BUILD/$(dirname "$src")/$(basename "$src" .c)

kvm=$TREE/tools/testing/selftests/kvm
lib=$BUILD/kselftest/kvm/lib
mkdir -p "$(dirname "$out")"
gcc -O2 -static -std=gnu99 -D_GNU_SOURCE= -DCONFIG_64BIT -U_FORTIFY_SOURCE \
	-fno-builtin-memcmp -fno-builtin-memcpy -fno-builtin-memset \
	-fno-builtin-strnlen -fno-stack-protector -fno-PIE -fno-strict-aliasing \
	-march=x86-64-v2 -Wall \
	-I"$TREE/tools/include" -I"$TREE/tools/arch/x86/include" \
	-I"$kvm/include" -I"$kvm/include/x86" -I"$TREE/tools/testing/selftests" \
	-isystem "$BUILD/usr/include" \
	"$top/$src" "$lib"/*.o "$lib"/x86/*.o -ldl -pthread -o "$out"
echo "$(basename "$out"): $out"
