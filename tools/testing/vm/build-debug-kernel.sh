#!/bin/bash
# Usage: build-debug-kernel.sh KVER        (KVER: 6.1 or 6.12)
#
# Builds an x86_64 debug kernel (KASAN, lockdep, kmemleak, KFENCE, DEBUG_VM,
# DEBUG_ATOMIC_SLEEP: see debug.config) from Debian's linux-source-<KVER>
# (fetch-source.sh) with build-kernel.sh --config debug --no-copy, in the O=
# tree $CACHE/debug/<KVER>/, and writes $CACHE/kernels/<KVER>-debug.env with
# the variables of the stock env files:
#   KVER=<KVER>-debug  KREL=<kernelrelease, ends in -mnsim-debug>
#   KPKGVER=<the source package>  KDIR=<the O= tree>  VMLINUZ=<bzImage>
#   KCONFIG=<its .config>
# KDIR serves `make -C $KDIR M=... modules` like a headers tree.
# Normally reached as `fetch-kernel.sh <KVER>-debug`.
# Idempotent and incremental as build-kernel.sh is; a new source package
# starts a clean tree.  Cold build: 6-9 min on 2 idle cores.
# Env: JOBS.  Log: $CACHE/debug/<KVER>.build.log; build times are appended
# to $CACHE/debug/<KVER>.times.  stdout: the path of the env file only.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BASE=${1:-}
check_base_kver "$BASE"
KVER=$BASE-debug
ENV_FILE=$CACHE/kernels/$KVER.env
mkdir -p "$CACHE/kernels" "$CACHE/debug"

SRC=$("$VM_DIR/fetch-source.sh" "$BASE")
with_lock "debug-kernel-$BASE"
OUT=$("$VM_DIR/build-kernel.sh" --src "$SRC" --no-copy --config debug \
	--out "$CACHE/debug/$BASE" --name "$KVER")
KREL=$(cat "$OUT/include/config/kernel.release")
case "$KREL" in
*-mnsim-debug) ;;
*) die "kernel release '$KREL' lacks -mnsim-debug (CONFIG_LOCALVERSION?)" ;;
esac
cp -f "$OUT/mnsim.env" "$ENV_FILE.tmp.$$"
mv -f "$ENV_FILE.tmp.$$" "$ENV_FILE"
echo "$ENV_FILE"
