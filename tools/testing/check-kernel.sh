#!/bin/bash
# Usage: tools/testing/check-kernel.sh KBUILD=<dir>
#        tools/testing/check-kernel.sh SRC=<tree> [PATCHES="a.patch ..."] [CONFIG=test|debug]
#        ... [ONLY="fixture.test ..."]    (run by `make check-kernel`)
#
# The whole suite on one kernel you built, or that it builds first
# (build-kernel.sh): is every secondary TLB still notified in time?
#
# KBUILD is any x86_64 build tree with arch/x86/boot/bzImage,
# Module.symvers and .config.  Preflight on its .config: a required option
# that is missing stops the run with one line naming it (exit 2); a missing
# optional feature is listed, with the scenarios that need it.  Then, with
# the guest of vm-test.sh (two NUMA nodes, panic_on_warn, any splat fails):
# the W=1 module build (sparse where installed) against KBUILD, the
# selftests, the whole kselftest list and `mnsim attach` on a COW, munmap
# and KSM workload (mnsim_attach_test.sh).  The report ends the run: one row
# per scenario with its ATS, SOFT and DEFER results, then one sentence.
# DEFER is the positive control: its scenarios expect the violations DEFER
# makes, so a DEFER failure means the test no longer reaches the window on
# this kernel, and the report says so.
#
# ONLY runs just those scenarios, in each of their modes (check-mutants.sh
# on a mutant: the scenarios its header names).
#
# Exit: 0 clean, 1 a violation (any ATS or SOFT failure), 2 preflight,
# build or boot failure, or DEFER control lost.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 2
# `make check-kernel SRC=... CONFIG=...` exports its variables to every
# make below (MAKEFLAGS): tools/mnsim's SRC, for one, would be overridden.
unset MAKEFLAGS MAKEOVERRIDES MFLAGS SRC CONFIG PATCHES KBUILD ONLY
VM=tools/testing/vm
# for write_env and CACHE; its die() exits 1, so this script keeps its own exits
# shellcheck source=tools/testing/vm/lib.sh
. "$VM/lib.sh"

KBUILD='' SRC='' PATCHES='' CONFIG=test ONLY=''
for a in "$@"; do
	case "$a" in
	ONLY=*) ONLY=${a#ONLY=} ;;
	KBUILD=*) KBUILD=${a#KBUILD=} ;;
	SRC=*) SRC=${a#SRC=} ;;
	PATCHES=*) PATCHES=${a#PATCHES=} ;;
	CONFIG=*) CONFIG=${a#CONFIG=} ;;
	*) echo "check-kernel: unknown argument '$a'" >&2; exit 2 ;;
	esac
done
fail2() { echo "check-kernel: $*"; exit 2; }

if [ -z "$KBUILD" ]; then
	[ -n "$SRC" ] || fail2 "give KBUILD=<build dir> or SRC=<source tree>"
	args=(--src "$SRC" --config "$CONFIG")
	for p in $PATCHES; do args+=(--patch "$p"); done
	KBUILD=$("$VM/build-kernel.sh" "${args[@]}") || fail2 "kernel build failed (see above)"
fi
KBUILD=$(realpath -e "$KBUILD" 2>/dev/null) || fail2 "no build tree $KBUILD"
for f in arch/x86/boot/bzImage Module.symvers .config include/config/kernel.release; do
	[ -f "$KBUILD/$f" ] || fail2 "$KBUILD has no $f: not a complete x86_64 kernel build"
done

# --- preflight -------------------------------------------------------------
have() { grep -qE "^CONFIG_$1=[ym]" "$KBUILD/.config"; }
for opt in MMU_NOTIFIER MODULES MODULE_UNLOAD DEVTMPFS BLK_DEV_INITRD RD_GZIP \
	SERIAL_8250_CONSOLE PROC_FS SYSFS TMPFS SHMEM UNIX FUTEX; do
	have "$opt" || fail2 "preflight: CONFIG_$opt is required and not set in $KBUILD/.config"
done
# feature, option(s), the scenarios that need it
OPTIONAL=(
	"KSM|KSM|scen.*.ksm_*, attach KSM workload"
	"THP|TRANSPARENT_HUGEPAGE|scen.*.thp_*"
	"NUMA migration|NUMA MIGRATION|scen.*.migrate_numa, *_migrate_numa"
	"hugetlbfs|HUGETLBFS|scen.*.hugetlb_*"
	"userfaultfd|USERFAULTFD|rebind.read_events_racing_rebind"
	"trace events|EVENT_TRACING|the trace-event tests"
)
missing=()
for o in "${OPTIONAL[@]}"; do
	IFS='|' read -r feat opts scen <<<"$o"
	for opt in $opts; do
		have "$opt" || { missing+=("$feat (CONFIG_$opt): $scen"); break; }
	done
done
for m in "${missing[@]}"; do echo "check-kernel: preflight: no $m"; done

# --- the kernel as a harness flavour -----------------------------------------
KREL=$(cat "$KBUILD/include/config/kernel.release")
NAME=kb-$(printf '%s' "$KBUILD" | sha256sum | cut -c1-12)
mkdir -p "$CACHE/kernels"
write_env "$CACHE/kernels/$NAME.env" "tools/testing/check-kernel.sh for $KBUILD" \
	KVER="$NAME" KREL="$KREL" KPKGVER="build $KBUILD" KDIR="$KBUILD" \
	VMLINUZ="$KBUILD/arch/x86/boot/bzImage" KCONFIG="$KBUILD/.config"
echo "check-kernel: $KREL from $KBUILD (as $NAME)"

OUT=$CACHE/logs/check-kernel-$NAME.out
only=()
[ -z "$ONLY" ] || only=(--only "$ONLY")
"$VM/vm-test.sh" "${only[@]}" "$NAME" 2>&1 | tee "$OUT" | grep -E '^(vm-run|\[build-module\]|\[vm-run\])'
LOG=$CACHE/logs/kselftest-$NAME.log
if [ ! -f "$LOG" ] || [ ! "$LOG" -nt "$CACHE/kernels/$NAME.env" ]; then
	fail2 "no kselftest log: the module build or the boot failed (see $OUT)"
fi

# --- the report -----------------------------------------------------------
# TAP results "ok N fixture.variant.test" / "not ok N ..."; the variant is
# the mode where the fixture has one. Each mode fixture's teardown prints
# "# mnsim-stats: hook=.. coherent=.. allowed=.. case_b=.. case_a=..
# refused=.. data_b=.." (mnsim_utils.h) inside the test's RUN ... OK/FAIL
# block; the row shows the ATS run's: the mode whose verdict this is about
# (DEFER violates by design). B counts the oracle's case-B verdicts and the
# test's own data check's (the seed's "B new, A old"); class: A when a page
# was freed under the device (case A, or an access refused for it), else B
# when B > 0. The last line of the awk is "n nviol first dfirst" for the
# sentence.
REPORT=$CACHE/logs/check-kernel-$NAME.report
read -r n nviol first dfirst < <(awk -v out="$REPORT" '
function mode_of(v) { return v == "ats" || v == "soft" || v == "defer" }
function val(k,   m) { return match(st, " " k "=[0-9]+") ? substr(st, RSTART + length(k) + 2, RLENGTH - length(k) - 2) + 0 : 0 }
/^# +RUN +[a-z_]+\.[a-z_]+\.[a-z0-9_]+ / { cur = $3; next }
/^# mnsim-stats: / && cur != "" {
	st = " " substr($0, 16)
	stats[cur] = sprintf("%d %d %d %d %d %d", val("hook"), val("coherent"), \
		val("allowed"), val("case_b") + val("data_b"), val("case_a"), val("refused"))
	next
}
/^(not )?ok [0-9]+ [a-z_]+\.[a-z_]+\.[a-z0-9_]+/ {
	res = ($1 == "not") ? "FAIL" : "ok"
	name = ($1 == "not") ? $4 : $3
	if (/# SKIP/) res = "skip"
	n = split(name, p, ".")
	if (n == 3 && mode_of(p[2])) { row = p[1] "." p[3]; col = p[2] }
	else next
	if (!(row in seen)) { seen[row] = 1; rows[++nr] = row }
	r[row, col] = res
	if (col == "ats" && (name in stats)) ats[row] = stats[name]
	if (res == "FAIL" && col != "defer") {
		nviol++
		# the seed scenario, when it failed, is the one named
		if (!first || (p[1] == "seed" && first !~ /^seed\./)) first = name
	}
	if (res == "FAIL" && col == "defer" && !dfirst) dfirst = name
}
function cell(row, col) { return ((row, col) in r) ? r[row, col] : "-" }
END {
	fmt = "%-44s %-4s %-4s %-5s %6s %6s %5s %4s %4s %4s %-5s\n"
	printf fmt, "scenario", "ATS", "SOFT", "DEFER", "hooks", "coher", "allow", \
		"B", "A", "refus", "class" > out
	for (i = 1; i <= nr; i++) {
		row = rows[i]
		if (row in ats) {
			split(ats[row], c, " ")
			cls = (c[5] + c[6] > 0) ? "A" : (c[4] > 0) ? "B" : "-"
		} else {
			c[1] = c[2] = c[3] = c[4] = c[5] = c[6] = "-"
			cls = "-"
		}
		printf fmt, row, cell(row, "ats"), cell(row, "soft"), cell(row, "defer"), \
			c[1], c[2], c[3], c[4], c[5], c[6], cls > out
	}
	print nr + 0, nviol + 0, (first ? first : "-"), (dfirst ? dfirst : "-")
}' "$LOG")
[ "$first" != - ] || first=''
[ "$dfirst" != - ] || dfirst=''
echo "ATS, SOFT, DEFER: the mode's result; hooks ... class: the ATS run's counters"
cat "$REPORT"
other=$(grep -E '^not ok [0-9]+ ' "$LOG" | grep -vE ' [a-z_]+\.(ats|soft|defer)\.' | head -1)
summary=$(grep -E '^vm-run: kselftest' "$OUT" | tail -1)
for m in "${missing[@]}"; do echo "SKIP (kernel config): $m"; done
echo "$summary"
if [ -n "$first" ]; then
	# the failing test's own lines: its drawn timeline (the seed's and the
	# scenarios' tests draw one from the recorded events) and its verdict
	block=$(sed -n "/RUN           ${first//./\\.} \.\.\./,/FAIL  ${first//./\\.}\$/p" "$LOG")
	why=$(grep -m1 -E 'violation:|VIOLATION' <<<"$block" || grep -m1 -E ':Expected' <<<"$block" || true)
	why=${why#\# }
	why=${why#[A-Z]*: }	# the test's own "ATS: " prefix
	if grep -q '^# \[Time' <<<"$block"; then
		echo "the first violating run, as recorded:"
		grep -E '^# (\[Time|(CPU|DEV)-thread-[0-9]+ +\{.+\}|seed timeline)' <<<"$block" |
			grep -v '{}$' | sed 's/^# /  /'
	fi
	rest=${first#*.}
	mode=${rest%%.*}
	echo "VIOLATION in ${first%%.*}.${rest#*.}, ${mode^^}: ${why:-see $LOG}"
	echo "($nviol ATS/SOFT results failed; report: $REPORT; log: $LOG)"
	exit 1
fi
if [ -n "$other" ]; then
	echo "VIOLATION or failure outside the mode scenarios: ${other#not ok * }; log: $LOG"
	exit 1
fi
if [ -n "$dfirst" ]; then
	echo "DEFER control lost in $dfirst: the test no longer reaches the window DEFER breaks on this kernel; log: $LOG"
	exit 2
fi
if grep -q 'FAILED' <<<"$summary" || ! grep -q ', 0 failed' <<<"$summary"; then
	echo "check-kernel: the run failed outside the tests (boot, splat, rmmod); log: $LOG"
	exit 2
fi
echo "no secondary-TLB violation in $n scenarios"
exit 0
