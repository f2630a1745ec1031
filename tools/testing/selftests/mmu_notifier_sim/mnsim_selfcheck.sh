#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Self-check of the test harness (TAP), not of the kernel: a test that fails
# half-way in a forked fixture (mnsim_selfcheck_fail) must fail, and must
# leave no child behind holding a device, so that the module's reference
# count is back to what it was and the rmmod tests that follow still pass.
# The failing program's own TAP goes to a file, not to the console, where
# vm-run.sh would count its "not ok" as a failure of the run.
MOD=mmu_notifier_sim
# shellcheck source-path=SCRIPTDIR source=mnsim_tap.sh
. "$(dirname "$0")/mnsim_tap.sh"

refcnt() { cat "/sys/module/$MOD/refcnt" 2>/dev/null || echo none; }

echo "TAP version 13"
echo "1..3"
r0=$(refcnt)
out=/tmp/mnsim_selfcheck_fail.out
mnsim_selfcheck_fail >"$out" 2>&1
rc=$?
sed -n 's/^/# | /; /not ok\|Expected\|deliberate\|child/p' "$out"
failed() { [ "$rc" != 0 ] && grep -q '^not ok 1 ' "$out"; }
check selfcheck.failing_test_fails failed
# The child dies with the test process (PR_SET_PDEATHSIG), asynchronously.
i=0
while [ "$(refcnt)" != "$r0" ] && [ "$i" -lt 100 ]; do
	i=$((i + 1))
	usleep 20000
done
echo "# refcnt: $r0 before, $(refcnt) after"
check selfcheck.no_device_left_open [ "$(refcnt)" = "$r0" ]
pid=$(sed -n 's/^# child \([0-9]*\) holds the device$/\1/p' "$out")
# gone, or a zombie (its files closed) that PID 1 has not reaped yet
gone() {
	[ -n "$pid" ] && { [ ! -e "/proc/$pid" ] ||
		grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null; }
}
check selfcheck.no_child_left gone
tap_done
