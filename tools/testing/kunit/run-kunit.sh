#!/bin/bash
# Usage: run-kunit.sh KVER [--arch um|x86_64|arm64] [--debug|--coverage] [FILTER_GLOB]
#        (KVER: 6.1 or 6.12; default arch um)
#
# Runs the project's KUnit suites (tests/.kunitconfig) with the kernel's own
# tools/testing/kunit/kunit.py, in Debian's linux-source-KVER.
#
# --debug adds lockdep, DEBUG_VM, list and (not on UML) atomic-sleep checks
# (its own build tree, <arch>-<kver>-debug: a cold build the first time).
#
# --coverage (make coverage; UML only) builds with CONFIG_GCOV=y (and
# lockdep) in its own tree, <arch>-<kver>-cov: the UML binary writes each
# object's .gcda next to it when it exits; the old ones are removed first,
# so they hold this run alone.
#
# FILTER_GLOB is kunit.py's (suite[.test] glob). On x86_64 and arm64 it
# defaults to mnsim_real_mm: those runs exist for the real secondary-TLB hook
# path, and the other suites, arch-independent, take minutes under TCG (no
# KVM here; arm64 6.12: 1 s for mnsim_real_mm's 12 cases, 429 s for all 150).
#
# arm64 is cross-built (CROSS_COMPILE=aarch64-linux-gnu-, CC
# aarch64-linux-gnu-gcc-12: bookworm's cross gcc has no unversioned name)
# and boots in qemu-system-aarch64 with qemu_config_arm64.py, not kunit.py's
# own arm64 config (see that file for why).
#
# The project comes in as an in-tree overlay on a hard-linked copy of the
# unpacked source (the pristine tree of fetch-source.sh is never modified):
#   drivers/misc/mmu_notifier_sim -> this repository (symlink)
#   drivers/misc/Kconfig           + source ".../mmu_notifier_sim/Kconfig"
#   drivers/misc/Makefile          + obj-$(CONFIG_MMU_NOTIFIER_SIM) += ...
# Both edited files are rewritten (not edited in place), which breaks their
# hard links. Everything is idempotent; build trees live in
# $CACHE/kunit/<arch>-<kver>, never in the repository.
#
# stdout: the KTAP of the run, then one line
#   kunit: <arch> <kver>: P passed, F failed
# counting every test case and every parameter of a parameterised case. A
# skipped case counts as failed unless tools/testing/kunit/expected-skips
# lists it for this arch and kver. Logs of kunit.py go to stderr.
# Exit status: 0 only if F is 0, kunit.py succeeded and no test crashed.
set -euo pipefail
KUNIT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../vm/lib.sh
. "$KUNIT_DIR/../vm/lib.sh"

usage() {
	echo "usage: $0 KVER [--arch um|x86_64|arm64] [--debug|--coverage] [FILTER_GLOB]" >&2
	exit 2
}

KVER=${1:-}
[ $# -gt 0 ] && shift
check_kver "$KVER"
ARCH=um
DEBUG=
FILTER=()
while [ $# -gt 0 ]; do
	case $1 in
	--arch) [ $# -ge 2 ] || usage; ARCH=$2; shift 2 ;;
	--arch=*) ARCH=${1#--arch=}; shift ;;
	--debug) DEBUG=-debug; shift ;;
	--coverage) DEBUG=-cov; shift ;;
	-*) usage ;;
	*) FILTER=("$1"); shift ;;
	esac
done
case $ARCH in
um) ;;
x86_64 | arm64) [ ${#FILTER[@]} -gt 0 ] || FILTER=(mnsim_real_mm) ;;
*) die "--arch must be um, x86_64 or arm64 (got '$ARCH')" ;;
esac

DEPS=(flex bison libelf-dev cpio dwarves bc libssl-dev python3 gcc make)
case $ARCH in
x86_64) DEPS+=(qemu-system-x86) ;;
arm64) DEPS+=(qemu-system-arm gcc-12-aarch64-linux-gnu binutils-aarch64-linux-gnu) ;;
esac
need_pkgs "${DEPS[@]}"

SRC=$("$VM_DIR/fetch-source.sh" "$KVER")
SRC_STAMP=$(cat "$SRC/.mnsim-unpacked")
TREE=$CACHE/kunit/src/linux-$KVER
BUILD=$CACHE/kunit/$ARCH-$KVER$DEBUG
REPO=$(cd "$REPO_ROOT" && pwd -P)
OVERLAY_MARK="# mmu_notifier_sim KUnit overlay (tools/testing/kunit/run-kunit.sh)"
mkdir -p "$CACHE/kunit/src"

# One run per kernel version at a time: the overlay symlink names one checkout.
with_lock "kunit-$KVER"

# --- the overlay tree ---------------------------------------------------
if [ ! -f "$TREE/.mnsim-kunit-src" ] ||
	[ "$(cat "$TREE/.mnsim-kunit-src")" != "$SRC_STAMP" ]; then
	log "hard-linking $SRC_STAMP into $TREE"
	rm -rf "$TREE" "$TREE.tmp"
	cp -al "$SRC" "$TREE.tmp"
	echo "$SRC_STAMP" >"$TREE.tmp/.mnsim-kunit-src"
	mv "$TREE.tmp" "$TREE"
fi

# append_once FILE LINE: add LINE (and the marker) unless FILE has the marker.
# The file is replaced, never written in place: it is a hard link into the
# pristine tree.
append_once() {
	local f=$1 line=$2
	grep -qxF "$OVERLAY_MARK" "$f" && return 0
	cat "$f" >"$f.mnsim.tmp"
	printf '\n%s\n%s\n' "$OVERLAY_MARK" "$line" >>"$f.mnsim.tmp"
	mv -f "$f.mnsim.tmp" "$f"
}

ln -sfn "$REPO" "$TREE/drivers/misc/mmu_notifier_sim"
# For --coverage: gcc 12 puts gcov's per-object destructors (which write the
# .gcda at exit) in .fini_array.00100, and UML's common.lds.S keeps only
# .fini_array there: the prioritised ones become an orphan section glibc
# never runs, and no .gcda is written. Keep them (as .init_array.* already
# is); without gcov there are none, so the other builds link as before.
# Replaced, never edited in place (a hard link into the pristine tree).
# The overlay tree serves every --arch; only arch/um reads this file.
LDS=$TREE/arch/um/include/asm/common.lds.S
if ! grep -qF '.fini_array.*' "$LDS"; then
	sed 's/^\t\*(\.fini_array)$/\t*(SORT_BY_INIT_PRIORITY(.fini_array.*)) *(.fini_array)/' \
		"$LDS" >"$LDS.mnsim.tmp"
	grep -qF '.fini_array.*' "$LDS.mnsim.tmp" || die "$LDS: no .fini_array line to extend"
	mv -f "$LDS.mnsim.tmp" "$LDS"
fi
# shellcheck disable=SC2016 # $(CONFIG_...) is make syntax
append_once "$TREE/drivers/misc/Kconfig" 'source "drivers/misc/mmu_notifier_sim/Kconfig"'
# shellcheck disable=SC2016
append_once "$TREE/drivers/misc/Makefile" 'obj-$(CONFIG_MMU_NOTIFIER_SIM) += mmu_notifier_sim/'

# --- the build tree -----------------------------------------------------
# A new source package has old mtimes: start its build from scratch.
if [ -d "$BUILD" ] && [ "$(cat "$BUILD/.mnsim-kunit-src" 2>/dev/null)" != "$SRC_STAMP" ]; then
	log "source changed to $SRC_STAMP: removing $BUILD"
	rm -rf "$BUILD"
fi
mkdir -p "$BUILD"
echo "$SRC_STAMP" >"$BUILD/.mnsim-kunit-src"
# Another checkout behind the symlink: its files may be older than our objects.
if [ "$(cat "$BUILD/.mnsim-kunit-repo" 2>/dev/null)" != "$REPO" ]; then
	rm -rf "$BUILD/drivers/misc/mmu_notifier_sim"
	echo "$REPO" >"$BUILD/.mnsim-kunit-repo"
fi

KUNIT_ARGS=(run --arch="$ARCH" --build_dir="$BUILD" --jobs="$(nproc)"
	--kunitconfig="$REPO/tests/.kunitconfig" --timeout=900)
if [ -f "$REPO/tests/kunitconfig.$ARCH" ]; then
	KUNIT_ARGS+=(--kunitconfig="$REPO/tests/kunitconfig.$ARCH")
fi
if [ "$ARCH" = arm64 ]; then
	# kunit.py passes --cross_compile as CROSS_COMPILE= and each
	# --make_options to both olddefconfig and the build: Kconfig probes
	# $(CC), so olddefconfig needs CC too, and $(CROSS_COMPILE)gcc does not
	# exist here (gcc-12-aarch64-linux-gnu installs only the -12 name).
	KUNIT_ARGS+=(--cross_compile=aarch64-linux-gnu-
		--make_options CC=aarch64-linux-gnu-gcc-12
		--qemu_config="$KUNIT_DIR/qemu_config_arm64.py")
fi
if [ "$DEBUG" = -cov ]; then
	[ "$ARCH" = um ] || die "--coverage is for UML (a VM kernel's is make coverage's)"
	for opt in CONFIG_DEBUG_KERNEL=y CONFIG_DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT=y \
		CONFIG_GCOV=y CONFIG_PROVE_LOCKING=y; do
		KUNIT_ARGS+=(--kconfig_add "$opt")
	done
	# gcc 12's libgcov.a defines a global mangle_path (in _gcov.o, which
	# never calls it), and so does fs/seq_file.c: the UML link fails with
	# "multiple definition of `mangle_path'" (the kernel's kunit docs
	# suggest gcc 6). The kernel's, linked first, may win: arch/um's
	# LINK_WRAPS (the same in 6.1 and 6.12) plus the linker's option.
	KUNIT_ARGS+=(--make_options "LINK_WRAPS=-Wl,--wrap,malloc -Wl,--wrap,free -Wl,--wrap,calloc -Wl,--allow-multiple-definition")
	find "$BUILD" -name '*.gcda' -delete
elif [ -n "$DEBUG" ]; then
	DEBUG_OPTS=(CONFIG_DEBUG_KERNEL=y CONFIG_PROVE_LOCKING=y CONFIG_DEBUG_LIST=y
		CONFIG_DEBUG_VM=y)
	# UML cannot preempt (ARCH_NO_PREEMPT): no atomic-sleep checking there.
	[ "$ARCH" = um ] || DEBUG_OPTS+=(CONFIG_DEBUG_ATOMIC_SLEEP=y)
	for opt in "${DEBUG_OPTS[@]}"; do
		KUNIT_ARGS+=(--kconfig_add "$opt")
	done
fi
rm -f "$BUILD/test.log"
# kunit.py's own lines (its compiler's among them) go to stderr, the step's
# log; the terminal gets one line before and one after, with the build time
# of this tree's last run (kunit.py's "Elapsed time" line: .mnsim-last-build).
LAST_BUILD=$BUILD/.mnsim-last-build
if [ -s "$LAST_BUILD" ]; then
	last="last build $(cat "$LAST_BUILD")"
else
	last="no build yet in this tree: a cold build takes minutes"
fi
log "building and running the KUnit kernel $ARCH-$KVER$DEBUG ($last)"
# detail, for the log only (no "[run-kunit]" tag: steps.sh keeps it off the terminal)
echo "run-kunit: kunit.py ${KUNIT_ARGS[*]} ${FILTER[*]}" >&2
start=$(date +%s)
rc=0
KOUT=$BUILD/kunit.py.out
python3 "$TREE/tools/testing/kunit/kunit.py" "${KUNIT_ARGS[@]}" "${FILTER[@]}" 2>&1 |
	tee "$KOUT" >&2 || rc=${PIPESTATUS[0]}
# "Elapsed time: 250.123s total, 1.234s configuring, 230.456s building, ..."
built=$(sed -nE 's/^.*Elapsed time: .* ([0-9.]+)s building, ([0-9.]+)s running.*$/\1 \2/p' \
	"$KOUT" | tail -n 1)
if [ -n "$built" ]; then
	read -r bsecs rsecs <<<"$built"
	printf '%.0f s (%s)\n' "$bsecs" "$(date '+%F %H:%M')" >"$LAST_BUILD"
	log "kunit.py exited $rc after $(($(date +%s) - start)) s: build $(printf '%.0f' "$bsecs") s, tests $(printf '%.0f' "$rsecs") s"
else
	log "kunit.py exited $rc after $(($(date +%s) - start)) s"
fi

# --- KTAP and totals ----------------------------------------------------
[ -f "$BUILD/test.log" ] || {
	echo "kunit: $ARCH $KVER: 0 passed, 1 failed"
	die "no test log: the kernel did not build or did not boot"
}
trc=0
python3 "$KUNIT_DIR/ktap_count.py" --arch "$ARCH" --kver "$KVER" \
	--expected-skips "$KUNIT_DIR/expected-skips" "$BUILD/test.log" || trc=$?
[ "$rc" -eq 0 ] && [ "$trc" -eq 0 ]
