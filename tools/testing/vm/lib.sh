# shellcheck shell=bash
# Common helpers for the VM test harness.  Source it, do not run it:
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Provides:
#   VM_DIR, REPO_ROOT   this folder and the repository root (derived, never absolute)
#   CACHE               ${XDG_CACHE_HOME:-$HOME/.cache}/mmu_notifier_sim
#   log MSG... / die MSG...        messages go to stderr only
#   SETUP_LOG                      $CACHE/logs/setup.log: apt's, dpkg's and downloads' output
#   setup_run WHAT CMD...          one "[setup] WHAT (log: ...)" line on stderr, CMD's
#                                  output appended to SETUP_LOG; on failure its last
#                                  30 lines and the command
#   need_pkgs PKG...               idempotent apt-get install (skips when dpkg says installed)
#   apt_update_once                `apt-get update`, at most once per script run
#   apt_candidate PKG [arm64|sid]  candidate version of PKG (empty when unknown),
#                                  in the system's lists or a private apt's
#   apt_lists_sig                  changes whenever the apt lists change (cache key)
#   fetch_deb PKG VERSION          apt-get download into $CACHE/debs once; prints the .deb path
#   with_lock NAME                 take an exclusive flock on $CACHE/locks/NAME (held until exit)
#   check_kver KVER                accept 6.1, 6.12, 6.1-arm64, 6.12-arm64, 6.1-debug, 6.12-debug, latest or kb-*
#   check_base_kver KVER           accept only 6.1 or 6.12 (Debian source/packages)
#   sid_apt / sid_apt_cache ARG... apt-get / apt-cache on Debian unstable through the
#                                  private configuration in $CACHE/apt-sid
#   sid_update_once                update those private lists, at most once per run
#   arm64_apt / arm64_apt_cache / arm64_update_once   the same for bookworm's
#                                  arm64 lists ($CACHE/apt-arm64)
#   arm64_busybox                  the arm64 guest's busybox, unpacked once
#   kbuild_cross KDIR              make arguments to cross-build for KDIR's arch
#   guest_cc KARCH                 the CC= of the guest's userspace for KARCH
#   fetch_deb PKG VER [arm64]      download a deb once into $CACHE/debs
#   write_env FILE WHO VAR=VALUE...   an env file of a kernel flavour (KVER KREL
#                                  KPKGVER KDIR VMLINUZ KCONFIG), written atomically
#   pick_sparse KDIR               the sparse C=1 must run for the kernel tree KDIR
#   sparse_ran LOG                 fail when Kbuild said in LOG that it skipped sparse

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# tools/testing/vm -> repository root (used by the scripts that source this)
# shellcheck disable=SC2034
REPO_ROOT=$(cd "$VM_DIR/../../.." && pwd)
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/mmu_notifier_sim
SCRIPT_NAME=$(basename "${0:-vm}" .sh)
export DEBIAN_FRONTEND=noninteractive
# tmp: private work folders of the scripts (mktemp -d "$CACHE/tmp/...")
mkdir -p "$CACHE/tmp"

log() {
	printf '[%s] %s\n' "$SCRIPT_NAME" "$*" >&2
}

die() {
	printf '[%s] ERROR: %s\n' "$SCRIPT_NAME" "$*" >&2
	exit 1
}

_pkg_installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = "installed" ]
}

# Set-up is quiet: one line on the terminal per install or download, and
# apt's, dpkg's and the downloads' own output in one log.
SETUP_LOG=$CACHE/logs/setup.log

# setup_run [--quiet-fail] WHAT CMD...: say "[setup] WHAT (log: ...)" on
# stderr and run CMD with its stdout and stderr appended to SETUP_LOG.  On
# failure print the log's last 30 lines and the command (unless
# --quiet-fail: the caller retries), and return CMD's status.
setup_run() {
	local quiet=0 what rc=0
	if [ "$1" = --quiet-fail ]; then
		quiet=1
		shift
	fi
	what=$1
	shift
	mkdir -p "${SETUP_LOG%/*}"
	printf '[setup] %s (log: %s)\n' "$what" "$SETUP_LOG" >&2
	printf '\n=== %s [%s] %s\n' "$(date '+%F %T')" "$SCRIPT_NAME" "$*" >>"$SETUP_LOG"
	"$@" </dev/null >>"$SETUP_LOG" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ] && [ "$quiet" = 0 ]; then
		{
			printf '[setup] FAILED (exit %s): %s\n' "$rc" "$*"
			printf '[setup] last 30 lines of %s:\n' "$SETUP_LOG"
			tail -n 30 "$SETUP_LOG"
		} >&2
	fi
	return "$rc"
}

_APT_UPDATED=0
apt_update_once() {
	[ "$_APT_UPDATED" = 1 ] && return 0
	_APT_UPDATED=1
	setup_run "apt-get update" apt-get update -q -o DPkg::Lock::Timeout=300 ||
		log "apt-get update failed; going on with the lists apt has"
}

# need_pkgs PKG...: install whatever is missing; fast no-op otherwise.
need_pkgs() {
	local p missing=() cmd
	for p in "$@"; do
		_pkg_installed "$p" || missing+=("$p")
	done
	[ "${#missing[@]}" -eq 0 ] && return 0
	cmd=(apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300
		"${missing[@]}")
	# The lists may be stale (a package moved to a new version): one retry
	# after an update.
	setup_run --quiet-fail "installing ${missing[*]}" "${cmd[@]}" && return 0
	apt_update_once
	setup_run "installing ${missing[*]} (after apt-get update)" "${cmd[@]}" ||
		die "apt-get install ${missing[*]} failed"
}

apt_candidate() {
	local cache=(apt-cache)
	case "${2:-amd64}" in
	arm64) cache=(arm64_apt_cache) ;;
	sid) cache=(sid_apt_cache) ;;
	esac
	"${cache[@]}" policy "$1" 2>/dev/null |
		awk '/^  Candidate:/ { if ($2 != "(none)") print $2; exit }'
}

# apt's binary cache is disabled on this image (docker-clean), so every
# apt-cache call costs ~0.6 s: scripts remember answers keyed on this.
apt_lists_sig() {
	# shellcheck disable=SC2012 # names are apt's own, no odd characters
	ls -l --time-style=+%s /var/lib/apt/lists/*Release /var/lib/apt/lists/*Packages* 2>/dev/null |
		md5sum | cut -d' ' -f1
}

# deb_path PKG VERSION [arm64]: where apt-get download puts it (basename of
# Filename:); arm64: a package of the private arm64 lists (arm64_apt)
deb_path() {
	local f cache=(apt-cache)
	[ "${3:-amd64}" = amd64 ] || cache=(arm64_apt_cache)
	f=$("${cache[@]}" show "$1=$2" 2>/dev/null | awk '/^Filename:/ { print $2; exit }')
	[ -n "$f" ] || die "apt-cache show $1=$2 has no Filename"
	echo "$CACHE/debs/${f##*/}"
}

# fetch_deb PKG VERSION [arm64]: download once into $CACHE/debs; print the path
fetch_deb() {
	local pkg=$1 ver=$2 arch=${3:-amd64} path tmpd get=(apt-get)
	mkdir -p "$CACHE/debs"
	path=$(deb_path "$pkg" "$ver" "$arch")
	if [ -s "$path" ] && dpkg-deb --info "$path" >/dev/null 2>&1; then
		echo "$path"
		return 0
	fi
	[ "$arch" = amd64 ] || get=(arm64_apt)
	tmpd=$(mktemp -d "$CACHE/debs/.dl.XXXXXX")
	# apt-get download writes into the current directory
	(cd "$tmpd" && setup_run "downloading $pkg=$ver ($arch)" \
		"${get[@]}" download -q -o APT::Sandbox::User=root "$pkg=$ver") ||
		{ rm -rf "$tmpd"; die "apt-get download $pkg=$ver failed"; }
	# one .deb; apt-get download names it with the epoch as %3a
	mv -f "$tmpd"/*.deb "$path" || { rm -rf "$tmpd"; die "no .deb downloaded for $pkg"; }
	rm -rf "$tmpd"
	echo "$path"
}

with_lock() {
	mkdir -p "$CACHE/locks"
	exec {_lock_fd}>"$CACHE/locks/$1.lock"
	flock "$_lock_fd"
}

# A kernel flavour: Debian's own 6.1 or 6.12 kernel, or 6.1-debug/6.12-debug,
# built from Debian's linux-source with debug.config (build-debug-kernel.sh),
# or latest: Debian unstable's newest linux-source, built with test.config
# (fetch-kernel.sh). A kb-<hash> flavour is a build tree check-kernel.sh
# registered (its env file in $CACHE/kernels).
check_kver() {
	case "${1:-}" in
	6.1 | 6.12 | 6.1-arm64 | 6.12-arm64 | 6.1-debug | 6.12-debug | latest) ;;
	kb-*) [ -f "$CACHE/kernels/$1.env" ] || die "no $CACHE/kernels/$1.env (run check-kernel.sh)" ;;
	*) die "KVER must be 6.1 or 6.12 (Debian's kernels; 6.1-arm64, 6.12-arm64 for arm64), 6.1-debug or 6.12-debug (debug builds of their source) or latest (Debian unstable's newest source) (got '${1:-}')" ;;
	esac
}

# write_env FILE WHO KVER=.. KREL=.. KPKGVER=.. KDIR=.. VMLINUZ=.. KCONFIG=..:
# the env file of a kernel flavour, which build-module.sh, vm-run.sh and the
# others source. Written to a temporary file and renamed.
write_env() {
	local file=$1 who=$2 kv
	shift 2
	{
		echo "# generated by $who"
		for kv in "$@"; do
			printf '%s=%q\n' "${kv%%=*}" "${kv#*=}"
		done
	} >"$file.tmp.$$"
	mv -f "$file.tmp.$$" "$file"
}

# --- Debian unstable, privately ----------------------------------------------
# Newer Debian has what bookworm lacks (herdtools7, the newest linux-source,
# a sparse that parses it). Its lists, sources list (deb and deb-src) and
# downloads live in $CACHE/apt-sid: the system's apt sources are never
# changed and no architecture is added.
SID_APT=$CACHE/apt-sid
# _private_apt DIR SOURCE-LINE...: the sources list of the private apt in
# DIR (rewritten only when it changes) and, in _APT_OPTS, the options that
# make apt-get/apt-cache use it: its lists and downloads, never the system's.
_private_apt() {
	local dir=$1
	shift
	mkdir -p "$dir/etc" "$dir/lists/partial" "$dir/archives/partial"
	printf '%s\n' "$@" >"$dir/etc/sources.list.new"
	cmp -s "$dir/etc/sources.list.new" "$dir/etc/sources.list" ||
		mv -f "$dir/etc/sources.list.new" "$dir/etc/sources.list"
	rm -f "$dir/etc/sources.list.new"
	_APT_OPTS=(-o Dir::Etc::sourcelist="$dir/etc/sources.list" -o Dir::Etc::sourceparts=-
		-o Dir::State::Lists="$dir/lists" -o Dir::Cache="$dir"
		-o Dir::Cache::archives="$dir/archives" -o APT::Sandbox::User=root)
}
_sid_opts() {
	_private_apt "$SID_APT" "deb http://deb.debian.org/debian sid main" \
		"deb-src http://deb.debian.org/debian sid main"
	_SID_OPTS=("${_APT_OPTS[@]}")
}
sid_apt() {
	_sid_opts
	apt-get "${_SID_OPTS[@]}" "$@"
}
sid_apt_cache() {
	_sid_opts
	apt-cache "${_SID_OPTS[@]}" "$@"
}
# _lists_update_once DIR MINUTES WHAT APT...: update a private apt's lists
# (in DIR) unless a stamp there is younger than MINUTES; 0 when they are
# fresh, non-zero when the update failed (offline): callers then go on with
# what the cache holds, and say so. The answer holds for the rest of the
# script (one make check calls this from several scripts; an update costs
# a second or two).
declare -A _LISTS_UPDATED=()
_lists_update_once() {
	local dir=$1 minutes=$2 what=$3 stamp=$1/.mnsim-updated
	shift 3
	if [ -z "${_LISTS_UPDATED[$dir]:-}" ]; then
		_LISTS_UPDATED[$dir]=0
		if [ -z "$(find "$stamp" -mmin "-$minutes" 2>/dev/null)" ]; then
			if setup_run "$what" "$@" update -q; then
				touch "$stamp"
			else
				_LISTS_UPDATED[$dir]=1
			fi
		fi
	fi
	return "${_LISTS_UPDATED[$dir]}"
}
# sid_update_once: Debian unstable's lists, fresh for 30 minutes
sid_update_once() {
	_lists_update_once "$SID_APT/lists" 30 \
		"apt-get update (Debian unstable, private lists in $SID_APT)" sid_apt
}

# --- bookworm's arm64 packages, privately -------------------------------------
# Debian's arm64 kernels (image and headers) for the arm64 flavours
# (6.1-arm64, 6.12-arm64), and the arm64 busybox-static for their guest: a
# sources list limited to [arch=arm64], lists and downloads in
# $CACHE/apt-arm64, APT::Architecture=arm64 for this apt alone. The system's
# sources stay as they are and no architecture is added (no dpkg
# --add-architecture): the debs are only unpacked, never installed.
ARM64_APT=$CACHE/apt-arm64
_arm64_opts() {
	_private_apt "$ARM64_APT" \
		"deb [arch=arm64] http://deb.debian.org/debian bookworm main" \
		"deb [arch=arm64] http://deb.debian.org/debian bookworm-updates main" \
		"deb [arch=arm64] http://deb.debian.org/debian-security bookworm-security main"
	# its own (empty) dpkg status: nothing of arm64 is installed here
	mkdir -p "$ARM64_APT/state"
	: >"$ARM64_APT/state/status"
	_ARM64_OPTS=("${_APT_OPTS[@]}" -o Dir::State::status="$ARM64_APT/state/status"
		-o APT::Architecture=arm64 -o APT::Architectures=arm64)
}
arm64_apt() {
	_arm64_opts
	apt-get "${_ARM64_OPTS[@]}" "$@"
}
arm64_apt_cache() {
	_arm64_opts
	apt-cache "${_ARM64_OPTS[@]}" "$@"
}
# arm64_update_once: bookworm's arm64 lists, fresh for 6 hours (bookworm
# moves slowly)
arm64_update_once() {
	_lists_update_once "$ARM64_APT/lists" 360 \
		"apt-get update (bookworm arm64, private lists in $ARM64_APT)" arm64_apt
}

# arm64_busybox: the path of bookworm's arm64 busybox (static), unpacked
# once from its deb into $CACHE/arm64/busybox-<version>/
arm64_busybox() {
	local v d deb
	arm64_update_once || true
	v=$(apt_candidate busybox-static arm64)
	if [ -z "$v" ]; then
		d=$(find "$CACHE/arm64" -maxdepth 1 -name 'busybox-*' 2>/dev/null | sort -V | tail -1)
		[ -n "$d" ] || die "no arm64 busybox-static in the arm64 lists and none cached"
		echo "$d/bin/busybox"
		return 0
	fi
	d=$CACHE/arm64/busybox-${v//[:~]/_}
	if [ ! -x "$d/bin/busybox" ]; then
		deb=$(fetch_deb busybox-static "$v" arm64)
		rm -rf "$d.tmp"
		mkdir -p "$d.tmp"
		dpkg-deb -x "$deb" "$d.tmp"
		[ -x "$d.tmp/bin/busybox" ] || die "$deb has no bin/busybox"
		rm -rf "$d"
		mv "$d.tmp" "$d"
	fi
	echo "$d/bin/busybox"
}

# --- sparse ------------------------------------------------------------------
# From 6.14 or so Kbuild validates the checker (scripts/checker-valid.sh: it
# must parse __typeof_unqual__) and, when it cannot, prints "C=1 specified,
# but sparse is not available or not up to date", with no "warning:", and
# builds without sparse. Bookworm's sparse 0.6.4 fails that check on 7.x.
# pick_sparse KDIR prints the CHECK to use: bookworm's sparse where the tree
# has no such check or it passes, else the one fetch-sparse.sh builds from
# Debian unstable's source. sparse_ran LOG makes a skipped sparse a failure.
pick_sparse() {
	local kdir=$1 cv
	for cv in "$kdir/scripts/checker-valid.sh" "$kdir/source/scripts/checker-valid.sh"; do
		[ -f "$cv" ] && break
	done
	if [ ! -f "$cv" ] || [ "$(sh "$cv" sparse 2>/dev/null)" = 1 ]; then
		echo sparse
	else
		"$VM_DIR/fetch-sparse.sh"
	fi
}
sparse_ran() {
	if grep -q 'specified, but .* is not available or not up to date' "$1"; then
		grep -m1 'specified, but .* is not available' "$1" >&2
		die "Kbuild skipped sparse (C=1 without a checker); log: $1"
	fi
}

# check_base_kver KVER: a Debian kernel series only (for source packages)
check_base_kver() {
	case "${1:-}" in
	6.1 | 6.12) ;;
	*) die "KVER must be 6.1 or 6.12 here (got '${1:-}')" ;;
	esac
}

# kbuild_cross KDIR: the make arguments that cross-build modules for the tree
# KDIR when it is not the host's architecture (arm64: its .config). Debian's
# 6.12 arm64 headers set CROSS_COMPILE themselves (.kernelvariables); 6.1's
# only when dpkg's DEB_BUILD_ARCH and DEB_HOST_ARCH differ, so it is given.
kbuild_cross() {
	if grep -q '^CONFIG_ARM64=y' "$1/.config" 2>/dev/null; then
		need_pkgs gcc-12-aarch64-linux-gnu
		echo CROSS_COMPILE=aarch64-linux-gnu-
	fi
}

# guest_cc KARCH: the make argument that builds the guest's userspace (static)
# for KARCH: nothing for amd64, the cross compiler for arm64 (installed)
guest_cc() {
	if [ "${1:-amd64}" = arm64 ]; then
		need_pkgs gcc-12-aarch64-linux-gnu libc6-dev-arm64-cross
		echo CC=aarch64-linux-gnu-gcc-12
	fi
}

# prove_module_build KDIR KREL DIR WHO: prove that the kernel build tree KDIR
# serves out-of-tree modules: a tiny module that includes mmu_notifier.h,
# built in DIR (emptied first) with W=1 C=1, without a warning, and with a
# vermagic that starts with KREL. WHO names the caller in the module.
prove_module_build() {
	local kdir=$1 krel=$2 t=$3 who=$4 vm
	rm -rf "$t"
	mkdir -p "$t"
	cat >"$t/hello.c" <<EOT
// SPDX-License-Identifier: GPL-2.0
#include <linux/module.h>
#include <linux/init.h>
#include <linux/mmu_notifier.h>

static int __init hello_init(void)
{
	pr_info("hello: %d\n", (int)sizeof(struct mmu_notifier));
	return 0;
}

static void __exit hello_exit(void)
{
}

module_init(hello_init);
module_exit(hello_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("$who build check");
EOT
	echo 'obj-m += hello.o' >"$t/Kbuild"
	log "checking the headers: a test module, W=1 C=1 (log: $t/build.log)"
	# shellcheck disable=SC2046 # kbuild_cross prints whole arguments
	if ! make -C "$kdir" M="$t" $(kbuild_cross "$kdir") W=1 C=1 \
		CHECK="$(pick_sparse "$kdir")" modules >"$t/build.log" 2>&1; then
		cat "$t/build.log" >&2
		die "test module build against $kdir failed"
	fi
	if grep -Eiq 'warning:|error:' "$t/build.log"; then
		cat "$t/build.log" >&2
		die "test module build against $kdir printed warnings"
	fi
	sparse_ran "$t/build.log"
	vm=$(tr '\0' '\n' <"$t/hello.ko" | sed -n 's/^vermagic=//p' | head -1)
	case "$vm" in
	"$krel "*) ;;
	*) die "vermagic '$vm' does not start with $krel" ;;
	esac
	log "test module ok (vermagic: $vm)"
}
