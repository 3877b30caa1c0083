#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what the harness needs on a Debian 12 (bookworm) host, as root.
#
# Two extra suites come in through a sources file of our own: trixie-backports
# (only for the linux-source-7.3 .deb, which we download, never install) and
# bookworm-backports (qemu-system-x86 10.0). Both are NotAutomatic, and the
# preferences file below keeps libc and the compilers on bookworm's versions
# whatever a later install asks for.
set -euo pipefail

SOURCES=/etc/apt/sources.list.d/gmem-migrate.sources
PREFS=/etc/apt/preferences.d/gmem-migrate
STAMP=/var/lib/gmem-migrate.deps

PKGS="build-essential flex bison bc libelf-dev libssl-dev cpio busybox-static
      uuid-dev ccache rsync python3 python3-ply python3-git git xz-utils zstd
      gnuplot-nox"
QEMU_PKGS="qemu-system-x86"

need_root() {
	[ "$(id -u)" = 0 ] && return
	echo "deps: run as root (apt-get install)" >&2
	exit 1
}

want=$(printf '%s\n' "$PKGS $QEMU_PKGS" "$(cat "$0")" | sha256sum | cut -c1-16)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] &&
   command -v qemu-system-x86_64 >/dev/null; then
	exit 0
fi
need_root

# The Debian mirror this machine's own apt configuration uses for its release
# (a local mirror, if that is what the user set up); never a hard-coded host.
mirror() {
	local codename targets uri release entry
	codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
	targets=$(apt-get indextargets --no-release-info \
		--format '$(REPO_URI) $(RELEASE) $(SOURCESENTRY)')
	while read -r uri release entry; do
		if [ "$release" = "$codename" ] &&
		   [ "${entry%%:*}" != "$SOURCES" ]; then
			echo "$uri"
			return
		fi
	done <<< "$targets"
}
uri=$(mirror)
if [ -z "$uri" ]; then
	echo "deps: no apt source for this release in the apt configuration" >&2
	exit 1
fi

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
apt-get install -y -qq --no-install-recommends $PKGS >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends -t bookworm-backports $QEMU_PKGS >/dev/null
qemu-system-x86_64 --version | head -1
echo "$want" > "$STAMP"
