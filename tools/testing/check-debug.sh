#!/bin/bash
# Usage: tools/testing/check-debug.sh     (run by `make check-debug`)
#
# The kselftests under debug kernels: for 6.12-debug and 6.1-debug
# (build-debug-kernel.sh: KASAN, lockdep, DEBUG_ATOMIC_SLEEP, KFENCE,
# DEBUG_VM, kmemleak) it builds the kernel (cached; a cold build takes tens of
# minutes), builds the module against it with W=1 and sparse, runs the whole
# kselftest (vm-test.sh: any splat fails it; vm-run.sh's kmemleak scan after
# rmmod fails it on any report), checks that the run really had the
# debugging on (check_debug_log below), and runs the oracle's race 50 times
# (ORACLE_RACES) under preempt=full (vm-test.sh --oracle-race): no verdict
# of a violation on a correct kernel.  Ends with "N passed, N failed".
# Env: VM_TIMEOUT (seconds per guest run; default here 1800: TCG with KASAN
# and lockdep is many times slower than the stock kernels' run), VM_ACCEL
# (vm-run.sh's).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
VM=tools/testing/vm
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/mmu_notifier_sim
LOGDIR=$CACHE/logs/check-debug
mkdir -p "$LOGDIR"
export VM_TIMEOUT=${VM_TIMEOUT:-1800}

# shellcheck source-path=SCRIPTDIR source=steps.sh
. tools/testing/steps.sh

# check_debug_log KVER SINCE: the kselftest guest log of KVER, written after
# SINCE (a stamp file), shows the debug kernel booted with its checkers on
# and the kmemleak scan after rmmod finding nothing.
check_debug_log() {
	local kver=$1 since=$2 env log krel kconfig opt bad=0
	env=$CACHE/kernels/$kver.env
	log=$CACHE/logs/kselftest-$kver.log
	[ -f "$env" ] || { echo "check-debug: no $env"; return 1; }
	[ "$log" -nt "$since" ] || { echo "check-debug: $log was not written by this run"; return 1; }
	# shellcheck source=/dev/null disable=SC2153 # KREL, KCONFIG: from the env file
	read -r krel kconfig < <(. "$env" && echo "$KREL $KCONFIG")
	ok() { echo "check-debug: ok: $*"; }
	no() { echo "check-debug: MISSING: $*"; bad=1; }
	# the booted kernel is the debug build (vm-run.sh prints `uname -r`)
	if grep -qxF "$krel" "$log"; then ok "guest ran $krel"; else no "uname -r $krel in $log"; fi
	for opt in KASAN KASAN_GENERIC PROVE_LOCKING DEBUG_ATOMIC_SLEEP KFENCE DEBUG_VM \
		DEBUG_KMEMLEAK; do
		if grep -qx "CONFIG_$opt=y" "$kconfig"; then ok "CONFIG_$opt=y"; else no "CONFIG_$opt=y in $kconfig"; fi
	done
	if grep -qx 'CONFIG_DEBUG_KMEMLEAK_DEFAULT_OFF=y' "$kconfig"; then
		no "kmemleak on at boot (CONFIG_DEBUG_KMEMLEAK_DEFAULT_OFF=y)"
	fi
	# and the booted kernel says so itself
	local -A boot=(
		[KASAN]='KernelAddressSanitizer initialized'
		[lockdep]='Lock dependency validator'
		[KFENCE]='kfence: initialized'
		[kmemleak]='kmemleak: Kernel memory leak detector initialized'
	)
	for opt in KASAN lockdep KFENCE kmemleak; do
		if grep -qF "${boot[$opt]}" "$log"; then ok "boot log: ${boot[$opt]}"; else no "boot log line '${boot[$opt]}'"; fi
	done
	# lockdep switches itself off after its first report or when a table
	# overflows; the rest of the run would then go unchecked
	if grep -qE 'turning off the locking correctness validator|lockdep is turned off' "$log"; then
		no "lockdep stayed on ($(grep -E 'turning off the locking|lockdep is turned off' "$log" | head -1))"
	fi
	if grep -qE 'kmemleak: .*(disabled|failed)' "$log"; then
		no "kmemleak stayed on ($(grep -E 'kmemleak: .*(disabled|failed)' "$log" | head -1))"
	fi
	# vm-run.sh fails on n>0; here the scan must also have happened at all
	if grep -qx 'MNSIM-VM-KMEMLEAK n=0' "$log"; then
		ok "kmemleak scan after rmmod: n=0"
	else
		no "'MNSIM-VM-KMEMLEAK n=0' ($(grep 'MNSIM-VM-KMEMLEAK' "$log" || echo 'no scan line'))"
	fi
	[ "$bad" -eq 0 ]
}

all_steps() {
	local kver since
	for kver in 6.12-debug 6.1-debug; do
		step "debug-kernel-$kver" "$VM/fetch-kernel.sh" "$kver"
		step "build-w1-sparse-$kver" "$VM/build-module.sh" "$kver"
		since=$LOGDIR/.kselftest-$kver.start
		touch "$since"
		step "kselftest-$kver" "$VM/vm-test.sh" "$kver"
		step "debug-log-$kver" check_debug_log "$kver" "$since"
		step "race-preempt-$kver" "$VM/vm-test.sh" \
			--oracle-race "${ORACLE_RACES:-50}" "$kver"
	done
}

steps_run all_steps
steps_report
