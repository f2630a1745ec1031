#!/bin/bash
# Usage: tools/testing/coverage.sh [KVER...]   (run by `make coverage`;
#        default KVER: 6.1 6.12)
#
# Line and branch coverage of both modules, merged from every suite that
# runs them:
#  - the kselftests in the VM, on a kernel of KVER's Debian source built by
#    `make kernel`'s recipe with test.config + coverage.config
#    (CONFIG_GCOV_KERNEL, lockdep), the modules built with GCOV_PROFILE=y;
#    the guest copies /sys/kernel/debug/gcov out through the serial console
#    (vm-run.sh, VM_GCOV_DIR: base64 of a tarball, no 9p under TCG needed);
#  - KUnit in UML on KVER (run-kunit.sh --coverage: CONFIG_GCOV=y, the
#    module built in; the .gcda are written when the UML binary exits).
# Each run is captured with lcov (gcov-12, branches on), its file names made
# the repository's, then all are merged: $CACHE/coverage/coverage.info, the
# HTML report $CACHE/coverage/html/index.html, and the one-screen summary
# (coverage-summary.py) on stdout and in $CACHE/coverage/summary.txt.
# COVERAGE_DOC=1 also rewrites Documentation/coverage.rst from it.
#
# Exit: 0 when every suite ran green and the report was written; 1 when a
# suite failed (its data is still merged and reported); 2 when no report
# could be made. The goals are not an exit status: the summary lists each
# shortfall (make check stays as it is: coverage needs its own kernels).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 2
# `make coverage KVERS=...` must not leak into the makes below.
unset MAKEFLAGS MAKEOVERRIDES MFLAGS
VM=tools/testing/vm
# shellcheck source=tools/testing/vm/lib.sh
. "$VM/lib.sh"
REPO=$(pwd -P)

KVERS=("$@")
[ "${#KVERS[@]}" -gt 0 ] || KVERS=(6.1 6.12)
for k in "${KVERS[@]}"; do
	case "$k" in 6.1 | 6.12) ;; *) die "coverage: KVER must be 6.1 or 6.12 (got '$k')" ;; esac
done
need_pkgs lcov gcc-12

COV=$CACHE/coverage
rm -rf "$COV/info" "$COV/gcda" "$COV/html"
mkdir -p "$COV/info" "$COV/gcda"
LCOV=(lcov --quiet --gcov-tool gcov-12 --rc lcov_branch_coverage=1)
failed=0
t0=$(date +%s)

# canon INFO DIR: the repository's path for every source file under DIR (a
# copy of the module's sources, or UML's overlay symlink to a checkout), so
# that runs built from different copies merge line by line. The sources are
# this checkout's files (build-module.sh copies them, run-kunit.sh links to
# them); the kernel's headers keep their paths and are left out later.
canon() {
	local info=$1 dir=$2 d
	for d in "$dir" "$(realpath -e "$dir")"; do
		sed -i "s#^SF:$d/#SF:$REPO/#" "$info"
	done
}

# capture NAME DIR [SRCDIR]: the .gcda in DIR (and the .gcno next to them)
# as $COV/info/NAME.info, the files of SRCDIR (default DIR) only.
capture() {
	local name=$1 dir=$2 srcdir=${3:-$2} raw=$COV/info/$1.raw
	if ! "${LCOV[@]}" --capture --directory "$dir" --output-file "$raw" \
		>"$COV/info/$name.log" 2>&1; then
		tail -5 "$COV/info/$name.log" >&2
		log "lcov could not capture $name (log: $COV/info/$name.log)"
		return 1
	fi
	canon "$raw" "$srcdir"
	"${LCOV[@]}" --extract "$raw" "$REPO/*" --output-file "$COV/info/$name.info" \
		>>"$COV/info/$name.log" 2>&1 || return 1
	rm -f "$raw"
	log "captured $name"
}

for kver in "${KVERS[@]}"; do
	# --- kselftests on the coverage kernel -------------------------------
	src=$("$VM/fetch-source.sh" "$kver") || { failed=1; continue; }
	kb=$("$VM/build-kernel.sh" --src "$src" --config coverage --name "kb-cov-$kver") ||
		{ failed=1; continue; }
	# shellcheck source=/dev/null
	. "$kb/mnsim.env"
	mkdir -p "$CACHE/kernels"
	cp "$kb/mnsim.env" "$CACHE/kernels/kb-cov-$kver.env"
	log "kselftests on $KREL with gcov (the counters come out on the console)"
	if ! VM_GCOV_DIR=$COV/gcda/$kver MODULE_MAKE_ARGS=GCOV_PROFILE=y \
		"$VM/vm-test.sh" "kb-cov-$kver" >"$COV/info/kselftest-$kver.out" 2>&1; then
		failed=1
		log "kselftest on $KREL failed: $(tail -1 "$COV/info/kselftest-$kver.out")"
	else
		log "$(tail -1 "$COV/info/kselftest-$kver.out")"
	fi
	# The guest names each .gcda by its object's build path: the module
	# dir of build-module.sh, where the .gcno are.
	mod=$CACHE/build/$KREL/module
	if [ -d "$COV/gcda/$kver$mod" ]; then
		cp "$COV/gcda/$kver$mod"/*.gcda "$mod/"
		capture "kselftest-$kver" "$mod" || failed=1
	else
		failed=1
		log "no .gcda of $mod from the guest"
	fi

	# --- KUnit in UML --------------------------------------------------------
	if ! "$REPO/tools/testing/kunit/run-kunit.sh" "$kver" --coverage \
		>"$COV/info/kunit-$kver.out" 2>&1; then
		failed=1
		log "KUnit um $kver failed: $(tail -1 "$COV/info/kunit-$kver.out")"
	else
		log "$(tail -1 "$COV/info/kunit-$kver.out")"
	fi
	capture "kunit-um-$kver" "$CACHE/kunit/um-$kver-cov/drivers/misc/mmu_notifier_sim" \
		"$CACHE/kunit/src/linux-$kver/drivers/misc/mmu_notifier_sim" || failed=1
done

infos=("$COV"/info/*.info)
[ -f "${infos[0]}" ] || die "coverage: no run produced data"
args=()
for i in "${infos[@]}"; do args+=(--add-tracefile "$i"); done
"${LCOV[@]}" "${args[@]}" --output-file "$COV/coverage.info" >"$COV/merge.log" 2>&1 ||
	{ cat "$COV/merge.log" >&2; exit 2; }
genhtml --quiet --branch-coverage --legend --title "mmu_notifier_sim $(git describe --always --dirty 2>/dev/null)" \
	--output-directory "$COV/html" "$COV/coverage.info" >"$COV/genhtml.log" 2>&1 ||
	{ cat "$COV/genhtml.log" >&2; exit 2; }

doc=()
[ "${COVERAGE_DOC:-0}" = 1 ] && doc=(--rst Documentation/coverage.rst)
base=("$COV"/info/kselftest-*.info)
extra=()
for i in "$COV"/info/kunit-*.info; do [ -f "$i" ] && extra+=("$i"); done
[ -f "${base[0]}" ] || die "coverage: no kselftest run produced data"
python3 tools/testing/coverage-summary.py --repo "$REPO" "${doc[@]}" \
	--base "${base[@]}" ${extra[0]:+--extra "${extra[@]}"} | tee "$COV/summary.txt"
log "report: $COV/html/index.html; summary: $COV/summary.txt ($(($(date +%s) - t0)) s)"
exit "$failed"
