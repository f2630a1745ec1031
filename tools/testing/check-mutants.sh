#!/bin/bash
# Usage: tools/testing/check-mutants.sh [MUTANT.patch...]   (make check-mutants;
#        make check runs it with every mutant of the catalogue)
#
# The mutant catalogue, tools/testing/mutants/*.patch: kernels broken on
# purpose, each of which the suite must catch.  A mutant's header names its
# base (Mnsim-Base: 6.1 or 6.12, Debian's linux-source-<base>), the verdict
# class it produces (Mnsim-Expect: A or B) and the scenario that must catch
# it in ATS (Mnsim-Caught-By: fixture.test).  For each base used: the
# unpatched kernel must pass with no violation (check-kernel.sh exit 0);
# each mutant is built on the same O= tree (build-kernel.sh, incremental),
# runs the scenarios its header names (check-kernel.sh ONLY=, each in ATS,
# SOFT and DEFER) and must be caught: check-kernel.sh exits 1 and its report marks the
# named scenario failed in ATS, with the expected verdict class from the
# ATS run's counters (A: a page freed under the device, case A or an
# access refused for it; B: a case-B verdict of the oracle or of the
# test's data check).  Prints a table (mutant, expected class,
# result, first violating scenario) and "P passed, F failed".
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 2
VM=tools/testing/vm
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/mmu_notifier_sim
LOGDIR=$CACHE/logs/mutants
mkdir -p "$LOGDIR"

if [ $# -gt 0 ]; then MUTANTS=("$@"); else MUTANTS=(tools/testing/mutants/*.patch); fi
hdr() { sed -n "s/^Mnsim-$2: *//p" "$1" | head -1; }

pass=0 fail=0 rows=()
declare -A base_ok
for m in "${MUTANTS[@]}"; do
	base=$(hdr "$m" Base)
	[ -n "${base_ok[$base]:-}" ] && continue
	src=$("$VM/fetch-source.sh" "$base") || exit 2
	log=$LOGDIR/base-$base.log
	echo "[check-mutants] base $base: unpatched (log: $log)"
	tools/testing/check-kernel.sh SRC="$src" >"$log" 2>&1
	rc=$?
	last=$(tail -1 "$log")
	if [ "$rc" = 0 ]; then pass=$((pass + 1)); base_ok[$base]=ok; else
		fail=$((fail + 1)); base_ok[$base]="FAIL (exit $rc)"; fi
	rows+=("$(printf '%-40s %-6s %-18s %s' "base $base (unpatched)" none "${base_ok[$base]}" "$last")")
done
for m in "${MUTANTS[@]}"; do
	base=$(hdr "$m" Base) expect=$(hdr "$m" Expect) by=$(hdr "$m" Caught-By)
	name=$(basename "$m" .patch)
	log=$LOGDIR/$name.log
	src=$("$VM/fetch-source.sh" "$base") || exit 2
	echo "[check-mutants] $name on $base: must be caught by $by in ATS (log: $log)"
	tools/testing/check-kernel.sh SRC="$src" PATCHES="$(realpath "$m")" ONLY="$by" \
		>"$log" 2>&1
	rc=$?
	viol=$(grep -m1 '^VIOLATION in' "$log" || echo "-")
	# the named scenario's report row: ATS result first, verdict class last
	row=$(grep -m1 -E "^${by%%.*}\.${by#*.} " "$log" || true)
	read -r _ ats _ _ _ _ _ _ _ _ class <<<"${row:-x - - - - - - - - - -}"
	if [ "$rc" != 1 ] || [ "$ats" != FAIL ]; then
		res="not caught (exit $rc)"
		fail=$((fail + 1))
	elif [ "$class" != "$expect" ]; then
		res="caught, class $class"
		fail=$((fail + 1))
	else
		res="caught, class $class"
		pass=$((pass + 1))
	fi
	rows+=("$(printf '%-40s %-6s %-18s %s' "$name" "$expect" "$res" "$viol")")
done
printf '%-40s %-6s %-18s %s\n' mutant class result "first violating scenario"
printf '%s\n' "${rows[@]}"
echo "check-mutants: $pass passed, $fail failed"
[ "$fail" = 0 ]
