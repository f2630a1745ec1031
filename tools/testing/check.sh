#!/bin/bash
# Usage: tools/testing/check.sh     (run by `make check` and .ci/run)
#
# Runs every suite of the project and ends with a table of the steps and one
# line "N passed, N failed" summed over all of them; exits non-zero on any
# failure.  A step that prints its own "P passed, F failed" line is counted by
# it; any other step counts as one test that passes when it exits 0.  Each
# step's whole output is in $LOGDIR/<step>.log; the terminal shows where the
# run is (steps.sh).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 2
VM=tools/testing/vm
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/mmu_notifier_sim
LOGDIR=$CACHE/logs/check
mkdir -p "$LOGDIR"

# shellcheck source-path=SCRIPTDIR source=steps.sh
. tools/testing/steps.sh

read -r -a cp_files <<<"${CHECKPATCH_FILES:-}"
if [ "${#cp_files[@]}" -eq 0 ]; then
	echo "check.sh: run it as make check (CHECKPATCH_FILES unset)" >&2
	exit 2
fi
# compat.h is the one file allowed to test kernel versions (checked below).
others=()
for f in "${cp_files[@]}"; do
	[ "$f" = compat.h ] || others+=("$f")
done

all_steps() {
	step checkpatch "$VM/checkpatch.sh" "${others[@]}"
	step checkpatch-compat env CHECKPATCH_IGNORE=LINUX_VERSION_CODE,CONSTANT_COMPARISON \
		"$VM/checkpatch.sh" compat.h
	step compat-confined tools/testing/compat-confined.sh
	# Every errno of the uAPI header's table is asserted by some test.
	step errno-table tools/testing/errno-table.py
	# The LKMM litmus tests of the TLB's lock-free idle check (herd7).
	step litmus tools/testing/litmus.sh
	for kver in 6.1 6.12; do
		step "build-w1-sparse-$kver" "$VM/build-module.sh" "$kver"
	done
	# arm64: Debian's arm64 headers (a private apt of bookworm's arm64
	# lists), cross-built with aarch64-linux-gnu-gcc-12
	for kver in 6.1 6.12; do
		step "build-w1-sparse-$kver-arm64" "$VM/build-module.sh" "$kver-arm64"
	done
	step docs tools/testing/docs.sh
	step dkms tools/testing/dkms-check.sh
	# make install DESTDIR=stage, then modprobe + mnsim info from it in the guest.
	for kver in 6.1 6.12 6.1-arm64 6.12-arm64; do
		step "install-$kver" tools/testing/install-test.sh "$kver"
	done
	# Two guests at a time: each runs on one host thread (TCG), and the
	# machine has two cores.
	for kver in 6.1 6.12; do
		step_bg "kselftest-$kver" "$VM/vm-test.sh" "$kver"
	done
	steps_wait
	for kver in 6.1 6.12; do
		step_bg "kselftest-$kver-arm64" "$VM/vm-test.sh" "$kver-arm64"
	done
	steps_wait
	# Debian unstable's newest linux-source, built with test.config and
	# gcc-12 (KVER=latest): skipped, loudly, only when unstable is
	# unreachable and nothing is cached; a cached one serves offline.
	if step kernel-latest "$VM/fetch-kernel.sh" latest; then
		step build-w1-sparse-latest "$VM/build-module.sh" latest
		step_bg kselftest-latest "$VM/vm-test.sh" latest
	fi
	# a kernel built from source, unpatched and with mutant (a); the whole
	# catalogue (6.12's mutants need a second kernel) is make check-mutants.
	# Beside the newest kernel's guest: its own guests and build.
	step_bg mutants tools/testing/check-mutants.sh \
		tools/testing/mutants/a-6.1-cow-hook-at-range-end.patch
	steps_wait
	# KUnit: UML on both kernels; x86_64 and arm64 (QEMU) on 6.12, where UML
	# never calls the secondary-TLB hook and each architecture's TLB flush
	# does (make kunit KUNIT_ARCH=arm64 KVER=6.1: 6.1, whose hook generic mm
	# calls, measured 5 s warm, 158 s cold, left out).
	step kunit-um-6.1 tools/testing/kunit/run-kunit.sh 6.1
	step kunit-um-6.12 tools/testing/kunit/run-kunit.sh 6.12
	step kunit-x86_64-6.12 tools/testing/kunit/run-kunit.sh 6.12 --arch x86_64
	step kunit-arm64-6.12 tools/testing/kunit/run-kunit.sh 6.12 --arch arm64
	# Small sizes: proves every benchmark still runs; make bench judges goals.
	for kver in 6.1 6.12; do
		step "bench-smoke-$kver" tools/bench/run-bench.sh "$kver" --smoke
	done
}

steps_run all_steps
steps_report
