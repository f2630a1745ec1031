#!/bin/bash
# Usage: tools/testing/litmus.sh [FILE.litmus...]   (default: tools/memory-model/*.litmus)
#
# Runs the project's LKMM litmus tests with herd7 and the kernel's own memory
# model (tools/memory-model of Debian's linux-source-6.12) and checks each
# test's "Observation" against the "Result:" line of its header comment
# (Never, Sometimes or Always).
#
# Debian 12 has no herdtools7. Newer Debian does: the herdtools7 deb and the
# libc6 and libgmp10 debs it needs (glibc 2.42) come from Debian unstable
# through the private apt configuration in $CACHE/apt-sid (lib.sh, sid_apt:
# its own sources list, lists and archives; the system's apt sources are
# never changed, no architecture is added) and are unpacked into
# $CACHE/herdtools7; herd7 runs under that glibc's own dynamic loader. Idempotent; a warm run downloads
# nothing.
# stdout: one line per test, then "litmus: P passed, F failed".
set -euo pipefail
# shellcheck source=vm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/vm/lib.sh"

[ $# -gt 0 ] || set -- "$REPO_ROOT"/tools/memory-model/*.litmus
HERD=$CACHE/herdtools7
RT=$HERD/rt/usr/lib/x86_64-linux-gnu
BIN=$HERD/root/usr/bin/herd7

fetch_herd() {
	sid_update_once || die "apt-get update of $SID_APT failed (Debian unstable unreachable?)"
	rm -rf "$HERD.tmp"
	mkdir -p "$HERD.tmp/debs"
	(cd "$HERD.tmp/debs" && setup_run "downloading herdtools7 libc6 libgmp10 (Debian unstable)" \
		sid_apt download herdtools7 libc6 libgmp10) ||
		die "apt-get download of herdtools7 failed"
	dpkg-deb -x "$HERD.tmp"/debs/herdtools7_*.deb "$HERD.tmp/root"
	for d in "$HERD.tmp"/debs/libc6_*.deb "$HERD.tmp"/debs/libgmp10_*.deb; do
		dpkg-deb -x "$d" "$HERD.tmp/rt"
	done
	rm -rf "$HERD"
	mv "$HERD.tmp" "$HERD"
}

herd7() {
	"$RT/ld-linux-x86-64.so.2" --library-path "$RT" "$BIN" \
		-set-libdir "$HERD/root/usr/share/herdtools7/herd" "$@"
}

need_pkgs apt xz-utils
with_lock herdtools7
if ! [ -x "$BIN" ] || ! herd7 -version >/dev/null 2>&1; then
	fetch_herd
fi
herd7 -version >/dev/null 2>&1 || die "herd7 does not run: $(herd7 -version 2>&1 | head -1)"
MODEL=$("$VM_DIR/fetch-source.sh" 6.12)/tools/memory-model

pass=0 fail=0
for t in "$@"; do
	t=$(realpath "$t")
	name=$(sed -n '1s/^C[[:space:]]\+//p' "$t")
	want=$(sed -n 's/^ \* Result: \([A-Za-z]*\).*/\1/p' "$t" | head -1)
	out=$(cd "$MODEL" && herd7 -conf linux-kernel.cfg "$t" 2>&1) || true
	got=$(sed -n "s/^Observation $name \([A-Za-z]*\) .*/\1/p" <<<"$out")
	if [ -n "$want" ] && [ "$got" = "$want" ]; then
		echo "litmus: $name: ok ($got)"
		pass=$((pass + 1))
	else
		printf '%s\n' "$out"
		echo "litmus: $name: FAIL (expected ${want:-a Result: line}, herd7 says ${got:-nothing})"
		fail=$((fail + 1))
	fi
done
echo "litmus: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
