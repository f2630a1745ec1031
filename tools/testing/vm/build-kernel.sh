#!/bin/bash
# Usage: build-kernel.sh --src DIR [--patch FILE]... [--config test|debug|coverage]
#                        [--out DIR] [--name NAME] [--no-copy]
#
# Builds an x86_64 test kernel from the source tree DIR (a git checkout, or
# an unpacked Debian linux-source), with the patches applied in order, and
# prints its build directory (the O= tree).  `make kernel` calls it.
#
# Config: x86_64_defconfig + test.config (+ debug.config for --config
# debug, + coverage.config for --config coverage), merged with
# scripts/kconfig/merge_config.sh, then olddefconfig; every line of the
# fragments must hold in the result (a later fragment wins for a symbol
# both set).
#
# The user's tree is never written.  The build runs in a working copy per
# base, $CACHE/kbuild/<base>/src, hard-linked from DIR (`cp -al`, without
# .git and without in-tree build output); a patch first breaks the link of
# every file it touches.  <base> hashes the source's identity (git describe
# and a hash of the uncommitted diff; or the Debian package version the
# project unpacked; or kernelversion and the path), the fragments, this
# recipe and gcc's version.  Before another patch set is applied the copy
# returns to the base: each file the last set touched is copied back from
# DIR with a new mtime (a link would keep the base's old mtime, which make
# would take for "older than the objects"), each file it created is removed.
# So one O= tree per base ($CACHE/kbuild/<base>/out, or --out) rebuilds
# incrementally, both when a patch comes and when it goes.  A build whose
# base, patches and fragments are unchanged and complete runs nothing; an
# --out tree that last built another source starts empty.  --no-copy builds
# from DIR itself (no patches then): for the project's own unpacked Debian
# sources (build-debug-kernel.sh), which no patch ever touches.
#
# --name NAME labels the kernel (KVER in the env file; default
# "kbuild-<base, 12 hex>").  The build directory gets mnsim.env, with the
# variables of the stock env files (KVER KREL KPKGVER KDIR VMLINUZ KCONFIG).
# The tree is then proven to serve out-of-tree modules (W=1 C=1, vermagic).
# A build error prints the first compiler error and the log's path.
# Env: JOBS (default: nproc).  Log: <build dir>.build.log; times are
# appended to <build dir>.times.  stdout: the build directory only.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# `make check-kernel SRC=... CONFIG=...` exports its variables to every
# make below (MAKEFLAGS): tools/mnsim's SRC, for one, would be overridden.
unset MAKEFLAGS MAKEOVERRIDES MFLAGS SRC CONFIG PATCHES KBUILD

SRC='' CONFIG=test OUT='' NAME='' NOCOPY=0
PATCHES=()
while [ $# -gt 0 ]; do
	case "$1" in
	--src) SRC=${2:?}; shift 2 ;;
	--patch) PATCHES+=("$(realpath -e "${2:?}")"); shift 2 ;;
	--config) CONFIG=${2:?}; shift 2 ;;
	--out) OUT=${2:?}; shift 2 ;;
	--name) NAME=${2:?}; shift 2 ;;
	--no-copy) NOCOPY=1; shift ;;
	*) die "unknown argument '$1' (see the usage at the top of $0)" ;;
	esac
done
[ -n "$SRC" ] || die "--src DIR is required"
SRC=$(realpath -e "$SRC")
if [ ! -f "$SRC/Makefile" ] || [ ! -f "$SRC/scripts/kconfig/merge_config.sh" ]; then
	die "$SRC is not a kernel source tree"
fi
[ "$NOCOPY" = 0 ] || [ "${#PATCHES[@]}" = 0 ] || die "--no-copy takes no --patch"
case "$CONFIG" in
test) FRAGS=("$VM_DIR/test.config") ;;
debug) FRAGS=("$VM_DIR/test.config" "$VM_DIR/debug.config") ;;
coverage) FRAGS=("$VM_DIR/test.config" "$VM_DIR/coverage.config") ;;
*) die "--config must be test, debug or coverage (got '$CONFIG')" ;;
esac
# Bump when the way the config or the copy is made changes.
RECIPE="x86_64_defconfig + ${CONFIG} fragments, olddefconfig, make all; linked copy; v1"

need_pkgs gcc-12 make flex bison bc libelf-dev libssl-dev cpio pahole dwarves \
	sparse xz-utils patch

# --- the base: source identity, fragments, recipe, compiler ----------------
src_identity() {
	if git -C "$SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		echo "git $(git -C "$SRC" describe --always --dirty --abbrev=12)"
		git -C "$SRC" diff HEAD | sha256sum | cut -d' ' -f1
	elif [ -f "$SRC/.mnsim-unpacked" ]; then
		cat "$SRC/.mnsim-unpacked"
	else
		echo "tree $(make -s -C "$SRC" kernelversion) $SRC"
	fi
}
IDENT=$(src_identity | paste -sd' ')
BASE=$({
	echo "$RECIPE"
	echo "$IDENT"
	gcc --version | head -1
	cat "${FRAGS[@]}"
} | sha256sum | cut -c1-16)
PSET=$(for p in "${PATCHES[@]}"; do sha256sum <"$p"; done | sha256sum | cut -c1-16)
NAME=${NAME:-kbuild-${BASE:0:12}}
TOP=$CACHE/kbuild/$BASE
WORK=$TOP/src
[ "$NOCOPY" = 0 ] || WORK=$SRC
OUT=${OUT:-$TOP/out}
LOG=$OUT.build.log
TIMES=$OUT.times
KEY="$BASE $PSET"
KEY_FILE=$OUT/.mnsim-key
APPLIED=$WORK/.mnsim-applied	# "<patch set>" then the files it touched
CREATED=$WORK/.mnsim-created	# files the applied patches created
BZIMAGE=$OUT/arch/x86/boot/bzImage
mkdir -p "$TOP" "$(dirname "$OUT")"

with_lock "kbuild-$BASE"

built() {
	[ -f "$KEY_FILE" ] && [ "$(cat "$KEY_FILE")" = "$KEY" ] &&
		[ -f "$BZIMAGE" ] && [ -f "$OUT/Module.symvers" ] &&
		[ -f "$OUT/include/config/kernel.release" ] && [ -f "$OUT/mnsim.env" ]
}
if built; then
	echo "$OUT"
	exit 0
fi

# --- the working copy --------------------------------------------------------
if [ "$NOCOPY" = 1 ]; then
	:
elif [ ! -f "$WORK/.mnsim-copied" ]; then
	log "linking a working copy of $SRC ($IDENT) into $WORK"
	rm -rf "$WORK"
	cp -al "$SRC" "$WORK"
	# Unlinking in the copy leaves the user's tree as it is.
	rm -rf "$WORK/.git" "$WORK/.config" "$WORK/include/config" \
		"$WORK/include/generated" "$WORK"/arch/*/include/generated
	: >"$APPLIED"
	: >"$CREATED"
	touch "$WORK/.mnsim-copied"
fi

# break_link FILE: give FILE of the copy an inode of its own (new mtime)
break_link() {
	cp -- "$1" "$1.mnsim-tmp"
	mv -f -- "$1.mnsim-tmp" "$1"
}

# patch_files PATCH: the paths (-p1) a patch touches, one per line
patch_files() {
	sed -n -e 's#^--- a/\([^\t ]*\).*#\1#p' -e 's#^+++ b/\([^\t ]*\).*#\1#p' \
		"$1" | sort -u
}

restore_base() {
	local f
	[ -s "$APPLIED" ] || return 0
	log "returning $WORK to the base"
	tail -n +2 "$APPLIED" | while IFS= read -r f; do
		if grep -qxF -- "$f" "$CREATED"; then
			rm -f -- "$WORK/$f"
		elif [ -f "$SRC/$f" ]; then
			cp -- "$SRC/$f" "$WORK/$f.mnsim-tmp"
			mv -f -- "$WORK/$f.mnsim-tmp" "$WORK/$f"
		fi
	done
	: >"$APPLIED"
	: >"$CREATED"
}

if [ "$NOCOPY" = 0 ] && [ "$(head -1 "$APPLIED" 2>/dev/null)" != "$PSET" ]; then
	restore_base
	if [ "${#PATCHES[@]}" -gt 0 ]; then
		{
			echo "$PSET"
			for p in "${PATCHES[@]}"; do patch_files "$p"; done | sort -u
		} >"$APPLIED.new"
		tail -n +2 "$APPLIED.new" | while IFS= read -r f; do
			if [ -f "$WORK/$f" ]; then
				break_link "$WORK/$f"
			else
				echo "$f" >>"$CREATED"
			fi
		done
		mv -f "$APPLIED.new" "$APPLIED"
		for p in "${PATCHES[@]}"; do
			log "applying $p"
			if ! patch -d "$WORK" -p1 --forward --no-backup-if-mismatch \
				<"$p" >"$TOP/patch.log" 2>&1; then
				cat "$TOP/patch.log" >&2
				restore_base
				die "$p does not apply to $IDENT"
			fi
		done
	else
		echo "$PSET" >"$APPLIED"
	fi
fi

# --- configure, check, build -------------------------------------------------
# check_config: each line of the fragments holds in .config, the last
# fragment's line for a symbol set in several
check_config() {
	local line sym bad=()
	while IFS= read -r line; do
		case "$line" in
		"# CONFIG_"*" is not set")
			sym=${line#\# }
			sym=${sym%% *}
			if grep -q "^$sym=" "$OUT/.config"; then
				bad+=("$line (have: $(grep "^$sym=" "$OUT/.config"))")
			fi
			;;
		CONFIG_*=*)
			grep -qxF -- "$line" "$OUT/.config" ||
				bad+=("$line (have: $(grep -E "^(# )?${line%%=*}[= ]" "$OUT/.config" || echo nothing))")
			;;
		esac
	done < <(cat "${FRAGS[@]}" | awk '
		/^# CONFIG_.* is not set$/ { sym = $2 }
		/^CONFIG_/ { sym = $0; sub(/=.*/, "", sym) }
		/^(# )?CONFIG_/ { last[sym] = $0; order[++n] = sym }
		END { for (i = 1; i <= n; i++) if (!(order[i] in done)) {
			done[order[i]] = 1; print last[order[i]] } }')
	[ "${#bad[@]}" -eq 0 ] && return 0
	printf '  %s\n' "${bad[@]}" >&2
	die "$OUT/.config does not carry the $CONFIG fragments (dependencies unmet or symbol renamed in $IDENT)"
}

# Objects of another source would be newer than its files and never rebuilt.
if [ -f "$OUT/.mnsim-source" ] && [ "$(cat "$OUT/.mnsim-source")" != "$IDENT" ]; then
	log "source changed ($(cat "$OUT/.mnsim-source") -> $IDENT): clean build"
	rm -rf "$OUT"
fi
mkdir -p "$OUT"
rm -f "$KEY_FILE"
echo "$IDENT" >"$OUT/.mnsim-source"
if [ -f "$BZIMAGE" ]; then kind=incremental; else kind=cold; fi
log "configuring $NAME ($IDENT, $CONFIG) in $OUT"
{
	make -C "$WORK" O="$OUT" x86_64_defconfig
	"$WORK/scripts/kconfig/merge_config.sh" -m -O "$OUT" "$OUT/.config" "${FRAGS[@]}"
	make -C "$WORK" O="$OUT" olddefconfig
} >"$LOG" 2>&1 || { tail -30 "$LOG" >&2; die "configuring failed; log: $LOG"; }
check_config

JOBS=${JOBS:-$(nproc)}
last=
if [ -s "$TIMES" ]; then
	last=$(awk 'END { print "last build " $3 " (" $2 ", " $1 ")" }' "$TIMES")
fi
log "building $NAME ($kind, -j$JOBS, nice 10; ${last:-no build yet}); log: $LOG"
t0=$(date +%s)
if ! nice -n 10 make -C "$WORK" O="$OUT" -j"$JOBS" all >>"$LOG" 2>&1; then
	first=$(grep -m1 -E '(error|Error):' "$LOG" || grep -m1 -E 'Error [0-9]' "$LOG" || true)
	die "building $NAME failed: ${first:-see the log}; log: $LOG"
fi
t1=$(date +%s)
echo "$(date -u +%FT%TZ) $kind $((t1 - t0))s $NAME ${#PATCHES[@]}-patches" >>"$TIMES"
log "built $NAME in $((t1 - t0))s ($kind)"
if [ ! -f "$BZIMAGE" ] || [ ! -f "$OUT/Module.symvers" ]; then
	die "make succeeded but left no bzImage or Module.symvers in $OUT"
fi

KREL=$(cat "$OUT/include/config/kernel.release")
prove_module_build "$OUT" "$KREL" "$OUT.selftest" build-kernel.sh
write_env "$OUT/mnsim.env" tools/testing/vm/build-kernel.sh KVER="$NAME" KREL="$KREL" \
	KPKGVER="$IDENT${PATCHES[*]:+ + ${#PATCHES[@]} patch(es) $PSET}" KDIR="$OUT" \
	VMLINUZ="$BZIMAGE" KCONFIG="$OUT/.config"
echo "$KEY" >"$KEY_FILE"
echo "$OUT"
