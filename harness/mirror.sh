#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Print the Debian mirror that this machine's own apt configuration uses for
# its release (a local mirror, if that is what the user set up), leaving out
# the sources file deps.sh writes: never a hard-coded host.
set -euo pipefail

codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
# shellcheck disable=SC2016 # apt's format fields, not shell expansions
while read -r uri release entry; do
	if [ "$release" = "$codename" ] &&
	   [ "${entry%%:*}" != /etc/apt/sources.list.d/gmem-migrate.sources ]; then
		echo "${uri%/}"
		exit 0
	fi
done < <(apt-get indextargets --no-release-info \
		--format '$(REPO_URI) $(RELEASE) $(SOURCESENTRY)')
echo "mirror: no apt source for $codename in the apt configuration" >&2
exit 1
