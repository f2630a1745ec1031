#!/bin/bash
# Usage: fetch-source.sh KVER        (KVER: 6.1, 6.12 or latest)
#
# Downloads Debian's linux-source-<KVER> (newest candidate) into $CACHE/debs and
# unpacks its tarball once into $CACHE/src/linux-source-<KVER>/ (a stamp file
# holding the package version marks completion; a newer package re-unpacks).
# latest: Debian unstable's newest linux-source-X.Y, resolved at run time
# through the private apt configuration (lib.sh, sid_apt) and unpacked into
# $CACHE/src/linux-source-X.Y; offline, the last one unpacked serves (and
# the script says so); with none, it exits 77 after one loud line.
# stdout: the source dir path only.  Logs: stderr.
# Used for kselftest_harness.h, scripts/checkpatch.pl, KUnit and the kernels
# the project builds.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KVER=${1:-}
[ "$KVER" = latest ] || check_base_kver "$KVER"
mkdir -p "$CACHE/src"

need_pkgs xz-utils

if [ "$KVER" = latest ]; then
	LATEST=$CACHE/src/latest.resolved	# "PKG VERSION" of the last unpacked
	PKG='' VER=''
	if sid_update_once; then
		PKG=$(sid_apt_cache pkgnames linux-source- 2>/dev/null |
			grep -xE 'linux-source-[0-9]+\.[0-9]+' | sort -V | tail -1 || true)
		[ -z "$PKG" ] || VER=$(apt_candidate "$PKG" sid)
	fi
	if [ -z "$VER" ]; then
		if [ -s "$LATEST" ] && read -r PKG VER <"$LATEST" &&
			[ "$(cat "$CACHE/src/$PKG/.mnsim-unpacked" 2>/dev/null)" = "$PKG=$VER" ]; then
			log "Debian unstable unreachable: using the cached $PKG=$VER"
			echo "$CACHE/src/$PKG"
			exit 0
		fi
		echo "[$SCRIPT_NAME] SKIP latest: Debian unstable unreachable and no linux-source cached" >&2
		exit 77
	fi
	SRC=$CACHE/src/$PKG
	STAMP=$SRC/.mnsim-unpacked
else
	PKG=linux-source-$KVER
	SRC=$CACHE/src/$PKG
	STAMP=$SRC/.mnsim-unpacked
	RESOLVED=$CACHE/src/$PKG.resolved

	# candidate version, remembered until the apt lists change (apt-cache is slow here)
	SIG=$(apt_lists_sig)
	VER=
	if [ -s "$RESOLVED" ]; then
		read -r rsig VER <"$RESOLVED" || true
		[ "$rsig" = "$SIG" ] || VER=
	fi
	if [ -z "$VER" ]; then
		VER=$(apt_candidate "$PKG")
		if [ -z "$VER" ]; then
			apt_update_once
			SIG=$(apt_lists_sig)
			VER=$(apt_candidate "$PKG")
		fi
		if [ -z "$VER" ]; then
			if [ -f "$STAMP" ]; then
				log "apt does not know $PKG (offline?); using the unpacked $(cat "$STAMP")"
				echo "$SRC"
				exit 0
			fi
			die "apt does not know $PKG"
		fi
		echo "$SIG $VER" >"$RESOLVED.$$"
		mv -f "$RESOLVED.$$" "$RESOLVED"
	fi
fi

# unpacked: remember latest's answer for an offline run, print the tree
unpacked() {
	[ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$PKG=$VER" ] || return 1
	if [ "$KVER" = latest ]; then
		echo "$PKG $VER" >"$LATEST.$$"
		mv -f "$LATEST.$$" "$LATEST"
	fi
	echo "$SRC"
}
unpacked && exit 0
with_lock "src-$PKG"
unpacked && exit 0

if [ "$KVER" = latest ]; then
	DEB=$CACHE/debs/${PKG}_${VER//:/%3a}_all.deb
	if ! dpkg-deb --info "$DEB" >/dev/null 2>&1; then
		mkdir -p "$CACHE/debs"
		tmpd=$(mktemp -d "$CACHE/debs/.dl.XXXXXX")
		(cd "$tmpd" && setup_run "downloading $PKG=$VER (Debian unstable)" \
			sid_apt download -q "$PKG=$VER") ||
			{ rm -rf "$tmpd"; die "apt-get download $PKG=$VER failed"; }
		mv -f "$tmpd"/*.deb "$DEB"
		rm -rf "$tmpd"
	fi
else
	DEB=$(fetch_deb "$PKG" "$VER")
fi
TARBALL=./usr/src/$PKG.tar.xz
dpkg-deb -c "$DEB" | grep -q " $TARBALL\$" || die "$DEB has no $TARBALL"

NEW=$CACHE/src/.$PKG.tmp
rm -rf "$NEW"
mkdir -p "$NEW"
log "unpacking $PKG=$VER into $SRC"
# stream the tarball out of the deb: the 150 MB .tar.xz is never stored
dpkg-deb --fsys-tarfile "$DEB" | tar -xO "$TARBALL" | tar -xJ -C "$NEW" --strip-components=1
if [ ! -f "$NEW/Makefile" ] || [ ! -f "$NEW/scripts/checkpatch.pl" ]; then
	die "unpacked tree looks wrong: $NEW"
fi
echo "$PKG=$VER" >"$NEW/.mnsim-unpacked"
rm -rf "$SRC"
mv "$NEW" "$SRC"
unpacked
