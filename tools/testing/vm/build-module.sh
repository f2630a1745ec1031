#!/bin/bash
# Usage: build-module.sh KVER [MAKE_ARG...]      (KVER: a flavour of check_kver)
#
# Builds the repository's out-of-tree module against Debian's KVER headers
# (fetch-kernel.sh): copies the top-level Kbuild, *.c, *.h and include/ into a
# fresh $CACHE/build/<krel>/module/ and runs
#   make -C $KDIR M=<that dir> W=1 C=1 [CHECK=$CHECK] MAKE_ARG... modules
# C=1 runs sparse on every file (the copy is fresh, so every file is checked).
# Env: CHECK (default: lib.sh's pick_sparse, bookworm's sparse unless the
# tree's checker validation refuses it), JOBS (default: nproc).
# Log: $CACHE/build/<krel>/build.log.  Fails on a build error, on any
# `warning:`/`error:` line (compiler, W=1, sparse, modpost), and when Kbuild
# says it skipped sparse.
# stdout: the .ko path(s) only.  Logs: stderr.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KVER=${1:-}
check_kver "$KVER"
shift

[ -f "$REPO_ROOT/Kbuild" ] ||
	die "no Kbuild in the repository root ($REPO_ROOT): nothing to build"

need_pkgs sparse make gcc-12

ENV_FILE=$("$VM_DIR/fetch-kernel.sh" "$KVER")
# shellcheck source=/dev/null
. "$ENV_FILE"

BUILD=$CACHE/build/$KREL
MOD=$BUILD/module
LOG=$BUILD/build.log
mkdir -p "$BUILD"
with_lock "build-$KREL"

# fresh copy: no stale objects, and sparse sees every file again
rm -rf "$MOD"
mkdir -p "$MOD"
cp "$REPO_ROOT/Kbuild" "$MOD/"
shopt -s nullglob
srcs=("$REPO_ROOT"/*.c "$REPO_ROOT"/*.h)
shopt -u nullglob
[ "${#srcs[@]}" -eq 0 ] || cp "${srcs[@]}" "$MOD/"
[ ! -d "$REPO_ROOT/include" ] || cp -r "$REPO_ROOT/include" "$MOD/"

read -r -a cross < <(kbuild_cross "$KDIR" | paste -sd' ')
args=(-C "$KDIR" M="$MOD" "${cross[@]}" W=1 C=1 -j"${JOBS:-$(nproc)}"
	CHECK="${CHECK:-$(pick_sparse "$KDIR")}" "$@" modules)
rc=0
# the command heads its log, not the terminal
echo "make ${args[*]}" >"$LOG"
make "${args[@]}" >>"$LOG" 2>&1 || rc=$?

bad=$(grep -nEi 'warning:|error:' "$LOG" || true)
if [ "$rc" -ne 0 ] || [ -n "$bad" ]; then
	if [ -n "$bad" ]; then
		printf '%s\n' "$bad" | head -60 >&2
	else
		tail -40 "$LOG" >&2
	fi
	die "module build for $KREL failed (make rc=$rc, $(printf '%s' "$bad" | grep -c . || true) warning/error lines); log: $LOG"
fi

sparse_ran "$LOG"

mapfile -t kos < <(find "$MOD" -name '*.ko' | sort)
[ "${#kos[@]}" -gt 0 ] || die "make succeeded but produced no .ko; log: $LOG"
log "built for $KREL: ${kos[*]##*/} (log: $LOG)"
printf '%s\n' "${kos[@]}"
