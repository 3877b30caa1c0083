#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what the harness needs on a Debian 12 (bookworm) host, as root.
#
# Two extra suites come in through a sources file of our own: trixie-backports
# (only for the linux-source-7.3 .deb, which we download, never install) and
# bookworm-backports (qemu-system-x86 10.0, meson 1.7). Both are NotAutomatic,
# and the preferences file below keeps libc and the compilers on bookworm's
# versions whatever a later install asks for.
set -euo pipefail

SOURCES=/etc/apt/sources.list.d/gmem-migrate.sources
PREFS=/etc/apt/preferences.d/gmem-migrate
STAMP=/var/lib/gmem-migrate.deps

PKGS="build-essential flex bison bc libelf-dev libssl-dev cpio busybox-static
      uuid-dev ccache rsync python3 python3-ply python3-git git xz-utils zstd
      gnuplot-nox"
# make deb: the kernel's bindeb-pkg (debhelper, and its build dependencies).
PKGS="$PKGS kmod debhelper libdw-dev"
# qemu-system-x86 runs the test machine; inside it our own QEMU (qemu/,
# harness/build-qemu.sh, meson >= 1.5 and pycotap from bookworm-backports:
# the +ds tarball carries no python wheels) runs the nested guests, under
# numactl for migratepages; libnuma-dev for its host-nodes= (--enable-numa).
QEMU_PKGS="qemu-system-x86 meson python3-pycotap"
QEMU_BUILD_PKGS="ninja-build pkgconf python3-venv libglib2.0-dev zlib1g-dev libfdt-dev
      device-tree-compiler curl numactl libnuma-dev"
# make lint reads the QEMU series' docs with QEMU's Sphinx setup (qemu-docs.sh).
QEMU_BUILD_PKGS="$QEMU_BUILD_PKGS python3-sphinx python3-sphinx-rtd-theme"

need_root() {
	[ "$(id -u)" = 0 ] && return
	echo "deps: run as root (apt-get install)" >&2
	exit 1
}

want=$(printf '%s\n' "$PKGS $QEMU_PKGS $QEMU_BUILD_PKGS" "$(cat "$0")" | sha256sum | cut -c1-16)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] &&
   command -v qemu-system-x86_64 >/dev/null; then
	exit 0
fi
need_root

uri=$("$(dirname "$0")/mirror.sh")

cat > "$SOURCES" <<SRC
# gmem-migrate: base kernel source and a newer QEMU; see harness/deps.sh
Types: deb
URIs: $uri
Suites: bookworm-backports trixie-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC

cat > "$PREFS" <<'PIN'
# gmem-migrate: never take anything from trixie unless asked by name, and
# never move libc or the toolchain off bookworm.
Package: *
Pin: release n=trixie-backports
Pin-Priority: 1

Package: libc6 libc6-dev libc-bin libc-dev-bin libc-l10n locales gcc gcc-12 cpp cpp-12 g++ g++-12 libgcc-s1 libstdc++6 binutils
Pin: release n=bookworm-backports
Pin-Priority: -1
PIN

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $PKGS $QEMU_BUILD_PKGS >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends -t bookworm-backports $QEMU_PKGS >/dev/null
qemu-system-x86_64 --version | head -1
echo "$want" > "$STAMP"
