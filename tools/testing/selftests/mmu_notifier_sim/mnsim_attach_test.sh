#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# mnsim attach against a running process (TAP). The target keeps COW-faulting
# its pages while an emulated device bound to it scans them with the
# coherence oracle on: ATS must report no violation, DEFER (with its range
# ends held 50 ms) must report some, mnsim stats must list the attached
# device while it scans, and Ctrl-C must stop a scan cleanly.
# shellcheck source-path=SCRIPTDIR source=mnsim_tap.sh
. "$(dirname "$0")/mnsim_tap.sh"

# attach_run MODE EXPECTED_RC [mnsim options...]
attach_run() {
	mode=$1
	want=$2
	shift 2
	mnsim_cow_storm 4 &
	pid=$!
	usleep 200000
	out=$(mnsim attach "$pid" --mode "$mode" --interval 0 "$@" 2>&1)
	rc=$?
	wait "$pid"
	echo "$out" | grep -v '^mnsim: pass' | sed 's/^/# /'
	if [ "$rc" = "$want" ] && echo "$out" | grep -q "process exited"; then
		tap OK "attach.$mode"
	else
		echo "# exit status $rc, expected $want"
		tap FAIL "attach.$mode"
	fi
}

echo "TAP version 13"
echo "1..4"
attach_run ats 0
attach_run defer 1 --delay-end 50

mnsim_cow_storm 4 &
pid=$!
# Let the shell's child exec first: attaching to the pre-exec mm would see
# it released by the exec and report "process exited after 0 passes".
usleep 200000
mnsim attach "$pid" --interval 0 >/tmp/attach.out 2>&1 &
scan=$!
usleep 500000
mnsim stats >/tmp/stats.out 2>&1
src=$?
mnsim stats --wide >>/tmp/stats.out 2>&1
sed 's/^/# /' /tmp/stats.out
# The table has a row whose TGID column is the target; the wide form names
# the mode; the totals line counts at least this device.
if [ "$src" = 0 ] && awk -v p="$pid" '$2 == p && $3 == "ats" { f = 1 } END { exit !f }' /tmp/stats.out &&
   grep -q "tgid=$pid mode=ats " /tmp/stats.out &&
   grep -q '^contexts=[1-9]' /tmp/stats.out; then
	tap OK stats.lists_attached_device
else
	tap FAIL stats.lists_attached_device
fi
kill -INT "$scan"
wait "$scan"
rc=$?
wait "$pid"
sed 's/^/# /' /tmp/attach.out | grep -v '^# mnsim: pass'
if [ "$rc" = 0 ] && grep -q "interrupted" /tmp/attach.out &&
   grep -q "^violations: 0" /tmp/attach.out; then
	tap OK attach.ctrl_c
else
	tap FAIL attach.ctrl_c
fi

tap_done
