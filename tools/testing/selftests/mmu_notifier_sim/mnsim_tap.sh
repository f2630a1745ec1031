#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# TAP helpers of the shell tests (mnsim_attach_test.sh, mnsim_rmmod_test.sh),
# sourced from the directory they run from:
#   . "$(dirname "$0")/mnsim_tap.sh"
# Print the plan ("1..N") yourself, then call tap/check once per test and
# tap_done last: it prints the kselftest Totals line and returns non-zero if
# any test failed.
n=0
fail=0

tap() {	# tap OK|FAIL NAME
	n=$((n + 1))
	if [ "$1" = OK ]; then
		echo "ok $n $2"
	else
		echo "not ok $n $2"
		fail=$((fail + 1))
	fi
}

check() {	# check NAME COMMAND...: ok when COMMAND succeeds
	name=$1
	shift
	if "$@"; then tap OK "$name"; else tap FAIL "$name"; fi
}

tap_done() {
	echo "# Totals: pass:$((n - fail)) fail:$fail xfail:0 xpass:0 skip:0 error:0"
	[ "$fail" = 0 ]
}
