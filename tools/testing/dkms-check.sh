#!/bin/bash
# Usage: tools/testing/dkms-check.sh [KVER...]     (default: 6.1 6.12)
#
# `dkms add` + `dkms build` of this tree against Debian's unpacked kernel
# headers, in a private DKMS tree (--dkmstree/--sourcetree), so the check
# neither needs the headers installed nor touches /var/lib/dkms.
set -euo pipefail
# shellcheck source=vm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/vm/lib.sh"

need_pkgs dkms
[ $# -gt 0 ] || set -- 6.1 6.12
NAME=mmu_notifier_sim
VER=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$REPO_ROOT/dkms.conf")
pass=0 fail=0
for kver in "$@"; do
	# shellcheck source=/dev/null
	. "$("$VM_DIR/fetch-kernel.sh" "$kver")"
	work=$(mktemp -d "$CACHE/tmp/dkms.XXXXXX")
	mkdir -p "$work/src/$NAME-$VER" "$work/tree"
	(cd "$REPO_ROOT" && git ls-files -z -- Kbuild Makefile dkms.conf '*.c' '*.h' include |
		xargs -0 cp --parents -t "$work/src/$NAME-$VER")
	if dkms add -m "$NAME" -v "$VER" --sourcetree "$work/src" --dkmstree "$work/tree" >&2 &&
	   dkms build -m "$NAME" -v "$VER" -k "$KREL" --kernelsourcedir "$KDIR" \
		--sourcetree "$work/src" --dkmstree "$work/tree" >&2 &&
	   ls "$work/tree/$NAME/$VER/$KREL/x86_64/module/"{sec_tlb,mmu_notifier_sim}.ko* >&2; then
		echo "dkms: built for $KREL"
		pass=$((pass + 1))
	else
		echo "dkms: FAILED for $KREL (see $work/tree/$NAME/$VER/build/make.log)"
		fail=$((fail + 1))
		continue
	fi
	rm -rf "$work"
done
echo "dkms: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
