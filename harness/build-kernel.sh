#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Configure and build the kernel in $TREE into $BUILD (out of tree).
#
#   build-kernel.sh config   allnoconfig + config/ fragments, then verify
#                            (VARIANT=host: x86_64_defconfig + host.config)
#   build-kernel.sh kernel   config, bzImage and the uapi headers
#   build-kernel.sh deb      config, then linux-image, linux-headers and
#                            linux-libc-dev packages (bindeb-pkg) in $BUILD/..
#
# The fragments for $VARIANT are concatenated into $BUILD/fragment.config and
# passed as KCONFIG_ALLCONFIG. .config is regenerated only when that file
# changes, so an unchanged tree rebuilds nothing.
set -euo pipefail

cmd=$1
: "${TREE:?}" "${BUILD:?}" "${VARIANT:?}"
top=$(cd "$(dirname "$0")/.." && pwd)

case $VARIANT in
plain) fragments="base plain" ;;
debug) fragments="base debug" ;;
kasan) fragments="base debug kasan" ;;
nested) fragments="nested" ;;
unpatched) fragments="base unpatched" ;;
host) fragments="host" ;;
*) echo "build-kernel: unknown VARIANT '$VARIANT' (plain, debug, kasan, nested, unpatched, host)" >&2; exit 2 ;;
esac

cc=gcc
command -v ccache >/dev/null && cc="ccache gcc"
export KBUILD_BUILD_TIMESTAMP='2026-01-01' KBUILD_BUILD_USER=gmem KBUILD_BUILD_HOST=gmem
kmake() { make -C "$TREE" O="$BUILD" CC="$cc" HOSTCC="$cc" -j"$(nproc)" -s "$@"; }

# Every CONFIG_X=v requested must be in .config as asked; name the ones that
# Kconfig dropped (missing dependency, renamed symbol) and fail.
verify() {
	local want=$1 bad=0 line sym
	while IFS= read -r line; do
		case $line in CONFIG_*=*) ;; *) continue ;; esac
		grep -qxF "$line" "$BUILD/.config" && continue
		sym=${line%%=*}
		echo "config: $line requested, got: $(grep -E "^(# )?$sym[= ]" "$BUILD/.config" || echo "no such symbol")" >&2
		bad=1
	done < "$want"
	[ $bad = 0 ] || { echo "config: the options above did not survive olddefconfig" >&2; exit 1; }
}

configure() {
	mkdir -p "$BUILD"
	local frag=$BUILD/fragment.config new=$BUILD/fragment.config.new f
	for f in $fragments; do cat "$top/config/$f.config"; done > "$new"
	if [ -f "$BUILD/.config" ] && cmp -s "$new" "$frag"; then
		rm "$new"
		return
	fi
	if [ "$VARIANT" = host ]; then
		kmake defconfig
		"$TREE/scripts/kconfig/merge_config.sh" -m -O "$BUILD" "$BUILD/.config" "$new" >/dev/null
	else
		kmake KCONFIG_ALLCONFIG="$new" allnoconfig
	fi
	kmake olddefconfig
	verify "$new"
	mv "$new" "$frag"
	echo "config: $VARIANT ($fragments) in $BUILD/.config"
}

case $cmd in
config)
	configure
	;;
kernel)
	configure
	kmake bzImage
	kmake headers
	echo "kernel: $BUILD/arch/x86/boot/bzImage ($(kmake -s kernelrelease))"
	;;
deb)
	configure
	kmake bindeb-pkg >/dev/null
	;;
*)
	echo "usage: build-kernel.sh config|kernel|deb" >&2
	exit 2
	;;
esac
