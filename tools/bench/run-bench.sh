#!/bin/bash
# Usage: tools/bench/run-bench.sh KVER [--smoke]      (KVER: 6.1 or 6.12)
#
# The benchmarks of issue 6 (see Documentation/benchmarks.rst). Builds
# sec_tlb.ko and mmu_notifier_sim.ko (tools/testing/vm/build-module.sh), the
# bench modules mnsim_bench.ko (P1, and P2's null notifier) and dmirror_read.ko
# (P4) with W=1 and sparse, and the static guest program mnsim_ubench; boots
# Debian's KVER kernel once in QEMU/TCG and runs every figure in that one
# guest. Prints
#   bench: <name> <value> <unit> (goal <op> <value>)
# for each of inval_flat, cow_overhead, read_vs_memcpy and vs_dmirror, then a
# summary, and last
#   bench: KVER: P passed, F failed
# A figure passes when it was produced and meets its goal; vs_dmirror (P4) is
# reported, not judged: it passes when produced. The windows check (not a
# figure: the access windows of the TLB under real parallelism, two vCPUs)
# passes when it prints "bench-check: windows ok", in both modes. A VM
# problem (kernel splat, timeout, failed rmmod) counts as one more failure.
#
# --smoke: small sizes and few repetitions (well under a minute in the guest);
# only checks that every figure is produced (the goals are for the full mode).
#
# Env: BENCH_FIGURES='a b' run only these figures (experiments; default: all),
#      BENCH_KO_DIR=dir  use the sec_tlb.ko, mmu_notifier_sim.ko, sec_tlb.h,
#      compat.h and Module.symvers found there instead of building the repository
#      (to benchmark a patched module); MEM (guest memory, default 1G).
# The guest console log is kept as $CACHE/logs/bench[-smoke]-KVER.log.
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../testing/vm/lib.sh
. "$BENCH_DIR/../testing/vm/lib.sh"

usage() {
	sed -n '2p' "${BASH_SOURCE[0]}" | sed 's/^# //' >&2
	exit 2
}

KVER='' SMOKE=0
while [ $# -gt 0 ]; do
	case "$1" in
	--smoke) SMOKE=1; shift ;;
	-h | --help) usage ;;
	-*) log "unknown option: $1"; usage ;;
	*) [ -z "$KVER" ] || usage; KVER=$1; shift ;;
	esac
done
check_kver "$KVER"

read -r -a FIGURES <<<"${BENCH_FIGURES:-inval_flat cow_overhead read_vs_memcpy vs_dmirror windows}"
for fig in "${FIGURES[@]}"; do
	case "$fig" in
	inval_flat | cow_overhead | read_vs_memcpy | vs_dmirror | windows) ;;
	*) die "unknown figure in BENCH_FIGURES: $fig" ;;
	esac
done
T_START=$(date +%s.%N)
need_pkgs gcc make libc6-dev sparse

ENV_FILE=$("$VM_DIR/fetch-kernel.sh" "$KVER")
# shellcheck source=/dev/null
. "$ENV_FILE"

OUT=$CACHE/bench/$KREL
with_lock "bench-$KREL"
rm -rf "$OUT"
mkdir -p "$OUT/main" "$OUT/mnsim_bench" "$OUT/dmirror"

# --- W=1 + sparse, no warning allowed ------------------------------------------
build_kmod() { # build_kmod DIR [MAKE_ARG...]
	local dir=$1 logf=$1/build.log rc=0 bad
	shift
	make -C "$KDIR" M="$dir" W=1 C=1 "$@" modules >"$logf" 2>&1 || rc=$?
	bad=$(grep -nEi 'warning:|error:' "$logf" || true)
	if [ "$rc" -ne 0 ] || [ -n "$bad" ]; then
		if [ -n "$bad" ]; then echo "$bad" | head -40 >&2; else tail -40 "$logf" >&2; fi
		die "building $dir for $KREL failed; log: $logf"
	fi
}

# --- the project's modules ----------------------------------------------------
# Built here, in this run's own folder (as build-module.sh does it, from a
# fresh copy of the sources): the shared build folder may be rebuilt from
# another checkout by a concurrent run between its build and our copy.
if [ -n "${BENCH_KO_DIR:-}" ]; then
	log "using the modules in $BENCH_KO_DIR"
	for f in sec_tlb.ko mmu_notifier_sim.ko sec_tlb.h compat.h Module.symvers; do
		cp "$BENCH_KO_DIR/$f" "$OUT/main/" || die "BENCH_KO_DIR has no $f"
	done
else
	need_pkgs gcc-12
	cp "$REPO_ROOT/Kbuild" "$REPO_ROOT"/*.c "$REPO_ROOT"/*.h "$OUT/main/"
	cp -r "$REPO_ROOT/include" "$OUT/main/"
	build_kmod "$OUT/main"
fi
cp "$BENCH_DIR/mnsim_bench/Kbuild" "$BENCH_DIR/mnsim_bench/mnsim_bench.c" \
	"$OUT/main/sec_tlb.h" "$OUT/main/compat.h" "$OUT/mnsim_bench/"
cp "$BENCH_DIR/dmirror/Kbuild" "$BENCH_DIR/dmirror/dmirror_read.c" \
	"$BENCH_DIR/dmirror/dmirror_read_uapi.h" "$OUT/dmirror/"
build_kmod "$OUT/mnsim_bench" KBUILD_EXTRA_SYMBOLS="$OUT/main/Module.symvers"
build_kmod "$OUT/dmirror"
make -s -C "$BENCH_DIR" OUTPUT="$OUT" >&2
log "built for $KREL in $OUT"

# --- one guest, every figure -----------------------------------------------------
mode=full name=bench timeout=1500
if [ "$SMOKE" = 1 ]; then
	mode=smoke name=bench-smoke timeout=300
fi
flag=''
[ "$SMOKE" = 0 ] || flag=--smoke
runs=()
for fig in "${FIGURES[@]}"; do
	# A benchmark that fails only loses its figure: keep the guest going.
	runs+=(--run "mnsim_ubench $flag $fig || echo bench-error: $fig exited \$?")
done
T_VM=$(date +%s.%N)
vm_rc=0
vm_out=$("$VM_DIR/vm-run.sh" --kver "$KVER" --name "$name" --timeout "$timeout" \
	--mem "${MEM:-1G}" --append numa_balancing=disable \
	--ko "$OUT/main/sec_tlb.ko" --ko "$OUT/main/mmu_notifier_sim.ko" \
	--ko "$OUT/mnsim_bench/mnsim_bench.ko" --ko "$OUT/dmirror/dmirror_read.ko" \
	--bin "$OUT/mnsim_ubench" "${runs[@]}") || vm_rc=$?
T_END=$(date +%s.%N)
LOG=$(sed -n 's/^vm-run: log: //p' <<<"$vm_out" | tail -1)
if [ -z "$LOG" ] || [ ! -f "$LOG" ]; then
	die "vm-run.sh left no console log: $vm_out"
fi

# --- figures, judged -------------------------------------------------------------
pass=0 fail=0 verdicts=()
for fig in "${FIGURES[@]}"; do
	if [ "$fig" = windows ]; then
		line=$(grep -E '^bench-check: windows ' "$LOG" | tail -1 || true)
		echo "${line:-bench-check: windows missing}"
		case "$line" in
		"bench-check: windows ok"*)
			verdicts+=("$(printf '%-15s PASS    %s' windows "${line#bench-check: windows ok }")")
			pass=$((pass + 1)) ;;
		*)
			verdicts+=("$(printf '%-15s FAIL    %s' windows "${line#bench-check: windows }")")
			fail=$((fail + 1)) ;;
		esac
		continue
	fi
	line=$(grep -E "^bench: $fig [0-9.]+ [a-z]+ \(goal (<=|>=|<|>) [0-9.]+\)$" "$LOG" | tail -1 || true)
	if [ -z "$line" ]; then
		echo "bench: $fig missing"
		fail=$((fail + 1))
		verdicts+=("$(printf '%-15s FAIL    not produced' "$fig")")
		continue
	fi
	echo "$line"
	read -r _ _ value unit _ op goal <<<"$line"
	goal=${goal%)}
	met=$(awk -v v="$value" -v g="$goal" -v op="$op" 'BEGIN {
		ok = (op == "<=") ? v <= g : (op == ">=") ? v >= g : (op == "<") ? v < g : v > g
		print ok ? "met" : "missed" }')
	if [ "$SMOKE" = 1 ]; then
		verdict="PASS    produced ($value $unit; goal $op $goal $met, not judged in smoke mode)"
		pass=$((pass + 1))
	elif [ "$fig" = vs_dmirror ]; then
		verdict="REPORT  $value $unit, goal $op $goal $met (reported, not judged)"
		pass=$((pass + 1))
	elif [ "$met" = met ]; then
		verdict="PASS    $value $op $goal"
		pass=$((pass + 1))
	else
		verdict="FAIL    $value, goal $op $goal missed"
		fail=$((fail + 1))
	fi
	verdicts+=("$(printf '%-15s %s' "$fig" "$verdict")")
done

vm_line=$(tail -1 <<<"$vm_out")
if [ "$vm_rc" -ne 0 ]; then
	fail=$((fail + 1))
	verdicts+=("$(printf '%-15s FAIL    %s' vm "$vm_line")")
fi

# --- summary ----------------------------------------------------------------------
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", b - a }'; }
echo
echo "Summary: $KREL, QEMU TCG ($(grep -c '^processor' /proc/cpuinfo 2>/dev/null || nproc) host CPUs," \
	"guest smp ${SMP:-2}, mem ${MEM:-1G}), $mode mode, $(date -u +%Y-%m-%d)"
printf '  %s\n' "${verdicts[@]}"
echo "Details:"
grep -E '^bench-(detail|error):' "$LOG" | sed 's/^/  /' || true
echo "Times: total $(secs "$T_START" "$T_END") s (build $(secs "$T_START" "$T_VM") s, guest $(secs "$T_VM" "$T_END") s); console log: $LOG"
echo "bench: $KVER: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
