#!/bin/bash
# Usage: fetch-source.sh KVER        (KVER: 6.1 or 6.12)
#
# Downloads Debian's linux-source-<KVER> (newest candidate) into $CACHE/debs and
# unpacks its tarball once into $CACHE/src/linux-source-<KVER>/ (a stamp file
# holding the package version marks completion; a newer package re-unpacks).
# stdout: the source dir path only.  Logs: stderr.
# Used for kselftest_harness.h, scripts/checkpatch.pl and KUnit.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KVER=${1:-}
check_base_kver "$KVER"
PKG=linux-source-$KVER
SRC=$CACHE/src/$PKG
STAMP=$SRC/.mnsim-unpacked
RESOLVED=$CACHE/src/$PKG.resolved
mkdir -p "$CACHE/src"

need_pkgs xz-utils

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

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$PKG=$VER" ]; then
	echo "$SRC"
	exit 0
fi

with_lock "src-$PKG"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$PKG=$VER" ]; then
	echo "$SRC"
	exit 0
fi

DEB=$(fetch_deb "$PKG" "$VER")
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
echo "$SRC"
