#!/bin/bash
# Usage: vm-test.sh [--demo | --oracle-race N | --only "FIXTURE.TEST..."] KVER
#        (KVER: a flavour of lib.sh's check_kver)
#
# Builds the modules (W=1, sparse) and the kselftest for Debian's KVER kernel,
# boots it in QEMU and runs the kselftest (TAP) between insmod and rmmod.
# With --demo, runs the seed's scenario with mnsim instead (make demo).
# With --oracle-race N, boots with preempt=full and runs the oracle's race
# oracle.ats.shared_device_no_violation N times, ORACLE_RACE_MS (default
# 5000) each: full preemption widens the windows between a zap's PTE clear
# and its flush that the oracle must judge allowed (check-debug).
# With --only, runs just the named scenarios (fixture.test, in each of the
# fixture's modes ats, soft and defer; fixture.variant.test as named) in the
# same guest: for the mutant catalogue, whose headers name the scenarios
# that must catch each mutant.
# The last stdout line is vm-run.sh's "... P passed, F failed".
# Env: STRESS_SECS (how long mnsim_stress's mixed case runs, default 15);
# MODULE_MAKE_ARGS, more arguments for build-module.sh's make (make
# coverage: GCOV_PROFILE=y).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DEMO=0
RACE=0
if [ "${1:-}" = --demo ]; then
	DEMO=1
	shift
elif [ "${1:-}" = --oracle-race ]; then
	RACE=${2:-}
	[[ "$RACE" =~ ^[1-9][0-9]*$ ]] || die "--oracle-race needs a count"
	shift 2
fi
ONLY=()
if [ "${1:-}" = --only ]; then
	read -r -a ONLY <<<"${2:-}"
	[ "${#ONLY[@]}" -gt 0 ] || die "--only needs fixture.test names"
	shift 2
fi
KVER=${1:-}
check_kver "$KVER"

need_pkgs gcc make libc6-dev

KARCH=amd64
# shellcheck source=/dev/null
. "$("$VM_DIR/fetch-kernel.sh" "$KVER")"
# userspace for the guest: static, with the cross compiler for arm64
read -r -a ucc < <(guest_cc "$KARCH" | paste -sd' ')
read -r -a module_args <<<"${MODULE_MAKE_ARGS:-}"
mapfile -t BUILT < <("$VM_DIR/build-module.sh" "$KVER" "${module_args[@]}")
# A private copy: another build of the same kernel wipes the shared build dir.
mkdir -p "$CACHE/tmp"
KO_DIR=$(mktemp -d "$CACHE/tmp/ko.XXXXXX")
trap 'rm -rf "$KO_DIR"' EXIT
KOS=()
for ko in "${BUILT[@]}"; do
	cp "$ko" "$KO_DIR/" && KOS+=("$KO_DIR/${ko##*/}")
done
ko_args=()
# sec_tlb.ko exports what mmu_notifier_sim.ko uses: load it first.
for want in sec_tlb.ko mmu_notifier_sim.ko; do
	for ko in "${KOS[@]}"; do
		[ "${ko##*/}" = "$want" ] && ko_args+=(--ko "$ko")
	done
done
[ "${#ko_args[@]}" -eq 4 ] || die "build-module.sh did not produce both modules"

# Private too: concurrent runs from other trees would overwrite the binaries.
OUT=$(mktemp -d "$CACHE/tmp/userspace.XXXXXX")
trap 'rm -rf "$KO_DIR" "$OUT"' EXIT
if [ "$DEMO" = 1 ]; then
	# The seed's scenario twice: the hook keeps the order, DEFER breaks it.
	make -s -C "$REPO_ROOT/tools/mnsim" "${ucc[@]}" OUTPUT="$OUT" >&2
	# --echo: what the guest's commands print goes to stdout as they print it
	"$VM_DIR/vm-run.sh" --kver "$KVER" --name demo --echo "${ko_args[@]}" \
		--append numa_balancing=disable --bin "$OUT/mnsim" \
		--run "mnsim info" \
		--run "mnsim scenario seed --mode ats --expect kept" \
		--run "mnsim scenario seed --mode defer --expect violation"
	exit 0
fi

# kselftest_harness.h: the selftests build against 6.12's on every kernel
KSFT_DIR=$("$VM_DIR/fetch-source.sh" 6.12)/tools/testing/selftests
make -s -C "$REPO_ROOT/tools/testing/selftests/mmu_notifier_sim" "${ucc[@]}" \
	KSFT_DIR="$KSFT_DIR" OUTPUT="$OUT" >&2
if [ "$RACE" -gt 0 ]; then
	race=()
	for _ in $(seq "$RACE"); do
		race+=(--run "mnsim_stress -r oracle.ats.shared_device_no_violation --oracle-ms ${ORACLE_RACE_MS:-5000}")
	done
	# not exec: the EXIT trap removes the private copies
	"$VM_DIR/vm-run.sh" --kver "$KVER" --name oracle-race "${ko_args[@]}" \
		--smp 2 --append "numa_balancing=disable preempt=full" \
		--bin "$OUT/mnsim_stress" "${race[@]}" --tap
	exit 0
fi
make -s -C "$REPO_ROOT/tools/mnsim" "${ucc[@]}" OUTPUT="$OUT" >&2
ST=$REPO_ROOT/tools/testing/selftests/mmu_notifier_sim
if [ "${#ONLY[@]}" -gt 0 ]; then
	# the binary of each fixture, and one -r per mode (the harness skips
	# a name that does not exist; the TAP total then shows it)
	declare -A bin_of=([mnsim]=mmu_notifier_sim_test [seed]=mnsim_seed_test
		[mnsim_dev]=mmu_notifier_sim_test
		[events]=mnsim_events_test [park_order]=mnsim_events_test
		[rebind]=mnsim_events_test [scen]=mnsim_scenarios_test
		[perm]=mnsim_scenarios_test
		[share]=mnsim_share_test [oracle]=mnsim_stress [stress]=mnsim_stress)
	declare -A filt=()
	for t in "${ONLY[@]}"; do
		b=${bin_of[${t%%.*}]:-}
		[ -n "$b" ] && [[ $t == *.* ]] || die "--only: no binary for '$t' (fixture.test)"
		# fixture.variant.test, or a fixture without variants: as named
		if [[ $t == *.*.* ]] || [ "${t%%.*}" = mnsim_dev ] ||
			[ "${t%%.*}" = perm ]; then
			filt[$b]+=" -r $t"
			continue
		fi
		for m in ats soft defer; do
			filt[$b]+=" -r ${t%%.*}.$m.${t#*.}"
		done
	done
	only_args=()
	for b in "${!filt[@]}"; do
		only_args+=(--bin "$OUT/$b" --run "$b${filt[$b]}")
	done
fi
# Two NUMA nodes, one CPU each, for the migration scenario; each CPU in its
# own socket (two nodes sharing a socket trip topology_sane()'s WARN).
# numa_balancing=disable: nothing but the test may invalidate watched pages.
QEMU_EXTRA="${QEMU_EXTRA:-} -object memory-backend-ram,id=m0,size=1G \
-object memory-backend-ram,id=m1,size=1G \
-numa node,nodeid=0,cpus=0,memdev=m0 -numa node,nodeid=1,cpus=1,memdev=m1"
export QEMU_EXTRA
# Tests the kernel's config cannot run, and so may skip (vm-run.sh): the
# fail_nth test needs CONFIG_FAULT_INJECTION, which Debian's kernels and
# test.config leave out and coverage.config has.
VM_EXPECTED_SKIPS=
grep -q '^CONFIG_FAULT_INJECTION=y' "$KCONFIG" ||
	VM_EXPECTED_SKIPS+=" mnsim_dev.fail_nth_open_bind_park"
export VM_EXPECTED_SKIPS
if [ "${#ONLY[@]}" -gt 0 ]; then
	"$VM_DIR/vm-run.sh" --kver "$KVER" --name kselftest "${ko_args[@]}" \
		--smp 2,sockets=2,cores=1,threads=1 --mem 2G \
		--append numa_balancing=disable "${only_args[@]}" --tap
	exit 0
fi
"$VM_DIR/vm-run.sh" --kver "$KVER" --name kselftest "${ko_args[@]}" \
	--smp 2,sockets=2,cores=1,threads=1 --mem 2G \
	--append numa_balancing=disable \
	--bin "$OUT/mmu_notifier_sim_test" --run "mmu_notifier_sim_test" \
	--bin "$OUT/mnsim_seed_test" --run "mnsim_seed_test" \
	--bin "$OUT/mnsim_events_test" --run "mnsim_events_test" \
	--bin "$OUT/mnsim_scenarios_test" --run "mnsim_scenarios_test" \
	--bin "$OUT/mnsim_fuzz" --run "mnsim_fuzz --ops 100000" \
	--bin "$OUT/mnsim_share_test" --run "mnsim_share_test" \
	--bin "$OUT/mnsim_stress" --run "mnsim_stress --secs ${STRESS_SECS:-15}" \
	--bin "$OUT/mnsim" --bin "$OUT/mnsim_cow_storm" \
	--bin "$ST/mnsim_tap.sh" \
	--bin "$ST/mnsim_attach_test.sh" --run "mnsim_attach_test.sh" \
	--bin "$OUT/mnsim_selfcheck_fail" \
	--bin "$ST/mnsim_selfcheck.sh" --run "mnsim_selfcheck.sh" \
	--bin "$OUT/mnsim_hold" \
	--bin "$ST/mnsim_rmmod_test.sh" --run "mnsim_rmmod_test.sh" --tap
