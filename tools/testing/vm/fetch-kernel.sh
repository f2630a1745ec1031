#!/bin/bash
# Usage: fetch-kernel.sh KVER    (KVER: 6.1, 6.12, 6.1-arm64, 6.12-arm64,
#                                 6.1-debug, 6.12-debug or latest)
#
# 6.1-debug and 6.12-debug are handed to build-debug-kernel.sh (a debug
# kernel built from Debian's linux-source; same env file variables).
# latest: Debian unstable's newest linux-source (fetch-source.sh latest),
# built with test.config by build-kernel.sh and bookworm's gcc-12 (Debian's
# own 7.x headers want gcc-16 and unstable's libc); the build tree of the
# previous latest is removed once a newer one is built. Exits 77 when
# Debian unstable is unreachable and nothing is cached (fetch-source.sh).
# Finds the newest Debian amd64 kernel of that series (apt-cache, at run time),
# downloads image + headers + kbuild debs into $CACHE/debs (apt-get download),
# unpacks them into $CACHE/kernels/<krel>/root (image: only boot/), makes the
# unpacked headers tree usable from there (arch Makefile, absolute symlinks),
# proves it with a W=1 C=1 build of a tiny module, and writes
# $CACHE/kernels/<KVER>.env (KVER, KREL, KPKGVER, KDIR, VMLINUZ, KCONFIG).
# stdout: the path of the env file only.  Logs: stderr.
# Idempotent; a warm run does no download.  Offline with a cached kernel:
# falls back to the existing env file.
# 6.1-arm64 and 6.12-arm64: the same ABI's arm64 image and headers, from
# bookworm's arm64 lists of a private apt (lib.sh arm64_apt), with the
# amd64 -common headers and linux-kbuild (host tools): the headers'
# .kernelvariables set ARCH=arm64 and CROSS_COMPILE=aarch64-linux-gnu-, so
# `make -C KDIR M=...` cross-builds as is. The env file gets KARCH=arm64.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KVER=${1:-}
check_kver "$KVER"
case "$KVER" in
*-debug) exec "$VM_DIR/build-debug-kernel.sh" "${KVER%-debug}" ;;
kb-*) echo "$CACHE/kernels/$KVER.env"; exit 0 ;;
esac
ENV_FILE=$CACHE/kernels/$KVER.env
# DARCH: Debian's architecture of the kernel; BASE: the series
case "$KVER" in
*-arm64) DARCH=arm64 BASE=${KVER%-arm64} ;;
*) DARCH=amd64 BASE=$KVER ;;
esac

if [ "$KVER" = latest ]; then
	rc=0
	src=$("$VM_DIR/fetch-source.sh" latest) || rc=$?
	[ "$rc" = 0 ] || exit "$rc"
	out=$("$VM_DIR/build-kernel.sh" --src "$src" --config test --name latest)
	old=
	if [ -f "$ENV_FILE" ]; then
		# shellcheck source=/dev/null
		old=$(. "$ENV_FILE" && echo "$KDIR")
	fi
	with_lock kernel-latest
	cp "$out/mnsim.env" "$ENV_FILE.tmp.$$"
	mv -f "$ENV_FILE.tmp.$$" "$ENV_FILE"
	if [ -n "$old" ] && [ "$old" != "$out" ] && [ -d "$old" ]; then
		log "removing the previous latest kernel's build $(dirname "$old")"
		rm -rf "$(dirname "$old")"
	fi
	echo "$ENV_FILE"
	exit 0
fi

need_pkgs gcc-12 make pahole dwarves sparse libelf1 libssl3 zlib1g binutils
[ "$DARCH" = amd64 ] || need_pkgs gcc-12-aarch64-linux-gnu

# --- resolve the newest complete ABI -------------------------------------
# apt's binary cache is disabled on this image (docker-clean), so each
# apt-cache call costs ~0.6 s: use two calls, and remember the answer until
# the apt lists change.
# prints: ABI VERSION KBUILD_PKG KBUILD_VERSION
resolve() {
	local abis abi img hdr com kb v vk pkgs=() pol
	case "$BASE" in
	6.1)
		abis=$(apt-cache pkgnames linux-image-6.1.0- |
			sed -nE 's/^linux-image-(6\.1\.0-[0-9]+)-amd64-unsigned$/\1/p' | sort -Vr)
		;;
	6.12)
		abis=$(apt-cache pkgnames linux-image-6.12. |
			sed -nE 's/^linux-image-(6\.12\.[0-9]+\+deb12)-amd64-unsigned$/\1/p' | sort -Vr)
		;;
	esac
	[ -n "$abis" ] || return 1
	kbuild_pkg() { if [ "$BASE" = 6.1 ]; then echo linux-kbuild-6.1; else echo "linux-kbuild-$1"; fi; }
	for abi in $abis; do
		pkgs+=("linux-image-$abi-amd64-unsigned" "linux-headers-$abi-amd64"
			"linux-headers-$abi-common" "$(kbuild_pkg "$abi")")
	done
	# "pkg cand VERSION" and "pkg has VERSION" lines
	pol=$(apt-cache policy "${pkgs[@]}" 2>/dev/null | awk '
		/^[^ ].*:$/ { p = substr($0, 1, length($0) - 1); next }
		/^  Candidate:/ { if ($2 != "(none)") print p, "cand", $2; next }
		/^ (\*\*\*|   ) [^ ]+ [0-9]+$/ { print p, "has", $(NF - 1) }')
	cand() { awk -v p="$1" '$1 == p && $2 == "cand" { print $3; exit }' <<<"$pol"; }
	for abi in $abis; do
		img=linux-image-$abi-amd64-unsigned
		hdr=linux-headers-$abi-amd64
		com=linux-headers-$abi-common
		kb=$(kbuild_pkg "$abi")
		v=$(cand "$img")
		[ -n "$v" ] || continue
		[ "$(cand "$hdr")" = "$v" ] || continue
		[ "$(cand "$com")" = "$v" ] || continue
		# another architecture: its image and headers of the same version
		if [ "$DARCH" != amd64 ]; then
			[ "$(apt_candidate "linux-image-$abi-$DARCH-unsigned" "$DARCH")" = "$v" ] ||
				continue
			[ "$(apt_candidate "linux-headers-$abi-$DARCH" "$DARCH")" = "$v" ] || continue
		fi
		# linux-kbuild-6.1 is shared by all 6.1 ABIs: prefer the exact version
		if awk -v p="$kb" -v v="$v" '$1 == p && $2 == "has" && $3 == v { f = 1 } END { exit !f }' <<<"$pol"; then
			vk=$v
		else
			vk=$(cand "$kb")
			[ -n "$vk" ] || continue
		fi
		echo "$abi $v $kb $vk"
		return 0
	done
	return 1
}

[ "$DARCH" = amd64 ] || arm64_update_once ||
	log "bookworm's arm64 lists could not be updated (offline?): using what is cached"

RESOLVED=$CACHE/kernels/$KVER.resolved
mkdir -p "$CACHE/kernels"
SIG=$(apt_lists_sig)
ABI=
if [ -s "$RESOLVED" ]; then
	read -r rsig ABI KPKGVER KBUILD_PKG KBUILD_VER <"$RESOLVED" || true
	[ "$rsig" = "$SIG" ] || ABI=
fi
if [ -z "$ABI" ]; then
	if ! read -r ABI KPKGVER KBUILD_PKG KBUILD_VER < <(resolve); then
		apt_update_once
		SIG=$(apt_lists_sig)
		if ! read -r ABI KPKGVER KBUILD_PKG KBUILD_VER < <(resolve); then
			if [ -s "$ENV_FILE" ]; then
				log "apt knows no $KVER kernel (offline?); using cached $ENV_FILE"
				echo "$ENV_FILE"
				exit 0
			fi
			die "no complete linux-image/headers/kbuild set found for $KVER"
		fi
	fi
	echo "$SIG $ABI $KPKGVER $KBUILD_PKG $KBUILD_VER" >"$RESOLVED.$$"
	mv -f "$RESOLVED.$$" "$RESOLVED"
fi

KREL=$ABI-$DARCH
KROOT=$CACHE/kernels/$KREL
ROOT=$KROOT/root
KDIR=$ROOT/usr/src/linux-headers-$KREL
COMMON=$ROOT/usr/src/linux-headers-$ABI-common
VMLINUZ=$ROOT/boot/vmlinuz-$KREL
STAMP=$KROOT/.complete

env_file() {
	write_env "$ENV_FILE" tools/testing/vm/fetch-kernel.sh KVER="$KVER" KREL="$KREL" \
		KPKGVER="$KPKGVER" KDIR="$KDIR" VMLINUZ="$VMLINUZ" KCONFIG="$ROOT/boot/config-$KREL" \
		KARCH="$DARCH"
}

# --- warm path -----------------------------------------------------------
if [ -f "$STAMP" ] && [ -f "$VMLINUZ" ] && [ -d "$KDIR" ]; then
	# the include is absolute: re-point it if the cache folder was moved
	grep -qxF "include $COMMON/Makefile" "$KDIR/Makefile" ||
		printf 'include %s/Makefile\n' "$COMMON" >"$KDIR/Makefile"
	env_file
	echo "$ENV_FILE"
	exit 0
fi

with_lock "kernel-$KREL"
if [ -f "$STAMP" ] && [ -f "$VMLINUZ" ] && [ -d "$KDIR" ]; then
	env_file
	echo "$ENV_FILE"
	exit 0
fi

log "kernel $KVER: $KREL (package version $KPKGVER, $KBUILD_PKG $KBUILD_VER)"

# --- download --------------------------------------------------------------
DEB_IMG=$(fetch_deb "linux-image-$ABI-$DARCH-unsigned" "$KPKGVER" "$DARCH")
DEB_HDR=$(fetch_deb "linux-headers-$ABI-$DARCH" "$KPKGVER" "$DARCH")
DEB_COM=$(fetch_deb "linux-headers-$ABI-common" "$KPKGVER")
DEB_KB=$(fetch_deb "$KBUILD_PKG" "$KBUILD_VER")

# --- unpack into a fresh tree, then move into place ------------------------
rm -rf "$KROOT"
mkdir -p "$KROOT"
NEWROOT=$KROOT/root.tmp
mkdir -p "$NEWROOT"
log "unpacking into $KROOT"
for d in "$DEB_HDR" "$DEB_COM" "$DEB_KB"; do
	dpkg-deb -x "$d" "$NEWROOT"
done
# the image deb carries ~400 MB of modules; the guest only needs boot/
dpkg-deb --fsys-tarfile "$DEB_IMG" | tar -x -C "$NEWROOT" --wildcards './boot/*'

# --- fix-ups ---------------------------------------------------------------
# 1. arch headers Makefile: `include /usr/src/linux-headers-<abi>-common/Makefile`
HDR_MK=$NEWROOT/usr/src/linux-headers-$KREL/Makefile
grep -q "^include /usr/src/linux-headers-$ABI-common/Makefile\$" "$HDR_MK" ||
	die "unexpected $HDR_MK: $(head -c 200 "$HDR_MK")"
printf 'include %s/Makefile\n' "$COMMON" >"$HDR_MK"

# 2. absolute symlinks (lib/modules/<krel>/{build,source} -> /usr/src/...):
#    re-point every absolute link inside the tree to its unpacked target.
while IFS= read -r -d '' link; do
	target=$(readlink "$link")
	case "$target" in
	/*)
		rel=$(realpath -m --relative-to="$(dirname "$link")" "$NEWROOT$target")
		ln -sfn "$rel" "$link"
		echo "[$SCRIPT_NAME] symlink fixed: ${link#"$NEWROOT"/} -> $rel (was $target)" >>"$SETUP_LOG"
		;;
	esac
done < <(find "$NEWROOT" -type l -print0)
# relative links (scripts, tools -> ../../lib/linux-kbuild-*) resolve inside the tree as is

mv "$NEWROOT" "$ROOT"
[ -f "$VMLINUZ" ] || die "no $VMLINUZ in the image package"
[ -x "$KDIR/scripts/mod/modpost" ] || die "headers tree incomplete: no $KDIR/scripts/mod/modpost"

# dangling links would mean a missing package
dangling=$(find "$ROOT" -xtype l -print | head -5)
[ -z "$dangling" ] || die "dangling symlinks in $ROOT: $dangling"

# --- prove it: tiny module, W=1 C=1, modpost, vermagic ---------------------
prove_module_build "$KDIR" "$KREL" "$KROOT/selftest" fetch-kernel.sh

touch "$STAMP"
env_file
echo "$ENV_FILE"
