#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run one stage of the build or check and print its wall time, so that any
# run's log shows where its time went: "stage: NAME N s".
#
# Usage: stage.sh NAME COMMAND [ARGS...]
set -uo pipefail

name=$1
shift
start=$(date +%s)
"$@"
rc=$?
echo "stage: $name $(($(date +%s) - start)) s$([ $rc = 0 ] || echo " (failed, status $rc)")"
exit $rc
