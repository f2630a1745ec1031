#!/bin/bash
# Usage: tools/testing/install-test.sh KVER        (KVER: 6.1 or 6.12)
#
# Proves `make install` ships a working tool: from a copy of the repository's
# tracked files, `make install KDIR=<Debian KVER headers> DESTDIR=<stage>
# PREFIX=/usr` stages the modules (.ko.xz: Debian's .config compresses on
# modules_install), modules.dep, the uAPI header and mnsim.  On the host the
# staged header must compile on its own; in the guest (vm-run.sh --tree
# packs the staging tree into the initramfs, no --ko) `modprobe
# mmu_notifier_sim` must pull in sec_tlb by modules.dep, create the device,
# `mnsim info` must work, and `modprobe -r` must unload both.
# Last stdout line: vm-run.sh's "install KVER: P passed, F failed".
set -euo pipefail
# shellcheck source=vm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/vm/lib.sh"

KVER=${1:-}
check_kver "$KVER"
need_pkgs make gcc-12 kmod xz-utils libc6-dev

ENV_FILE=$("$VM_DIR/fetch-kernel.sh" "$KVER")
# shellcheck source=/dev/null
. "$ENV_FILE"

mkdir -p "$CACHE/tmp"
WORK=$(mktemp -d "$CACHE/tmp/install-$KVER.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
SRC=$WORK/src
STAGE=$WORK/stage
mkdir -p "$SRC" "$STAGE"
# What a fresh clone has: the tracked files, not this tree's build products.
if git -C "$REPO_ROOT" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$REPO_ROOT" ls-files -z | (cd "$REPO_ROOT" && xargs -0 cp --parents -t "$SRC")
else
	cp -a "$REPO_ROOT/." "$SRC/"
fi

# arm64: mnsim (and, with the same compiler, the modules) cross-built
read -r -a cross < <({ guest_cc "${KARCH:-amd64}"; kbuild_cross "$KDIR"; } | paste -sd' ')
log "make install DESTDIR=<stage> PREFIX=/usr for $KREL"
if ! make -C "$SRC" -s install KDIR="$KDIR" "${cross[@]}" DESTDIR="$STAGE" PREFIX=/usr \
	>"$WORK/install.log" 2>&1; then
	cat "$WORK/install.log" >&2
	die "make install failed"
fi

MODDIR=$STAGE/lib/modules/$KREL
for f in "$MODDIR"/modules.dep "$STAGE/usr/bin/mnsim" \
	"$STAGE/usr/include/linux/mmu_notifier_sim.h"; do
	[ -s "$f" ] || die "make install did not stage ${f#"$STAGE"}"
done
grep -Eq '^extra/mmu_notifier_sim\.ko(\.[a-z]+)?: extra/sec_tlb\.ko' "$MODDIR/modules.dep" ||
	die "modules.dep does not make mmu_notifier_sim depend on sec_tlb: $(cat "$MODDIR/modules.dep")"
# the list for the log only (untagged: steps.sh keeps it off the terminal)
echo "install-test: staged: $(cd "$STAGE" && find . -type f | sort | tr '\n' ' ')" >&2

# The header is uAPI: it must compile alone, in C, with no kernel headers.
printf '#include <linux/mmu_notifier_sim.h>\nint main(void) { return MNSIM_IOC_INFO == 0; }\n' \
	>"$WORK/hdr.c"
gcc -Wall -Wextra -Werror -I"$STAGE/usr/include" -o "$WORK/hdr" "$WORK/hdr.c" ||
	die "the staged uAPI header does not compile on its own"

# busybox's modprobe reads modules.dep and decompresses .ko.xz itself.
"$VM_DIR/vm-run.sh" --kver "$KVER" --name install --tree "$STAGE" \
	--run 'set -e  # single quotes: expanded in the guest
		ls -l "/lib/modules/$(uname -r)/extra"
		modprobe mmu_notifier_sim
		grep "^sec_tlb \|^mmu_notifier_sim " /proc/modules
		grep -q "^sec_tlb " /proc/modules
		test -c /dev/mmu_notifier_sim
		mnsim info
		modprobe -r mmu_notifier_sim sec_tlb
		! grep -q "^mmu_notifier_sim \|^sec_tlb " /proc/modules
		echo "install-test: modprobe, mnsim info, modprobe -r: ok"'
