#!/bin/bash
# Usage: fetch-sparse.sh
#
# Prints the path of a sparse that Kbuild's checker validation accepts
# (scripts/checker-valid.sh of newer kernels: it must parse
# __typeof_unqual__, which bookworm's sparse 0.6.4 cannot). Debian unstable's
# sparse binary wants unstable's libc, so its *source* package is fetched
# through the private apt configuration (lib.sh, sid_apt) and the upstream
# tarball is built here, with bookworm's gcc, into $CACHE/sparse/<version>/:
# only the sparse program, without the optional LLVM, GTK, libxml and
# SQLite tools (Debian's two patches are for its packaging: --as-needed and
# gcc-16 for cgcc; neither matters to sparse itself). ~5 s on 2 cores.
#
# The build is kept and proven with the same test the kernel runs. Offline
# the newest cached build serves; with none, it fails.
# stdout: the sparse path only.  Logs: stderr.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TOP=$CACHE/sparse

# valid SPARSE: exits 0 when SPARSE parses what Kbuild's check feeds it
valid() {
	local t out
	t=$(mktemp "$CACHE/tmp/sparse-check.XXXXXX.c")
	cat >"$t" <<'EOF'
static inline int u(const int *q)
{
	__typeof_unqual__(*q) v = *q;
	return v;
}
EOF
	out=$("$1" "$t" 2>&1) || true
	rm -f "$t"
	! grep -q error <<<"$out"
}

cached() {
	local s
	for s in $(find "$TOP" -mindepth 2 -maxdepth 2 -name sparse -type f 2>/dev/null | sort -Vr); do
		if valid "$s"; then
			echo "$s"
			return 0
		fi
	done
	return 1
}

need_pkgs gcc-12 make
with_lock sparse
mkdir -p "$TOP"

VER=
if sid_update_once; then
	VER=$(sid_apt_cache showsrc sparse 2>/dev/null | awk '/^Version:/ { print $2 }' | sort -V | tail -1)
fi
if [ -z "$VER" ]; then
	s=$(cached) || die "Debian unstable unreachable and no sparse built in $TOP"
	log "Debian unstable unreachable: using the cached $s"
	echo "$s"
	exit 0
fi
OUT=$TOP/$VER
if [ -x "$OUT/sparse" ] && valid "$OUT/sparse"; then
	echo "$OUT/sparse"
	exit 0
fi

W=$(mktemp -d "$CACHE/tmp/sparse.XXXXXX")
trap 'rm -rf "$W"' EXIT
(cd "$W" && setup_run "downloading the sparse $VER source (Debian unstable)" \
	sid_apt source --download-only "sparse=$VER") || die "apt-get source sparse=$VER failed"
orig=$(find "$W" -maxdepth 1 -name 'sparse_*.orig.tar.*' | head -1)
[ -n "$orig" ] || die "no upstream tarball in the sparse $VER source package"
mkdir -p "$W/src"
tar -xf "$orig" -C "$W/src" --strip-components=1
setup_run "building sparse $VER" make -C "$W/src" -j"$(nproc)" CC=gcc-12 \
	HAVE_LLVM=no HAVE_GTK=no HAVE_LIBXML=no HAVE_SQLITE=no sparse ||
	die "building sparse $VER failed"
valid "$W/src/sparse" || die "the sparse $VER just built cannot parse __typeof_unqual__"
mkdir -p "$OUT"
cp "$W/src/sparse" "$OUT/sparse.tmp"
mv -f "$OUT/sparse.tmp" "$OUT/sparse"
log "sparse $VER built into $OUT"
echo "$OUT/sparse"
