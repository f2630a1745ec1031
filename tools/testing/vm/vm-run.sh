#!/bin/bash
# Usage: vm-run.sh --kver KVER --name NAME [--ko PATH.ko]... [--bin PATH]...
#                  [--tree DIR]... [--run 'CMD']... [--tap] [--echo]
#                  [--timeout SEC] [--append 'ARGS'] [--smp N] [--mem M]
#
# Boots KVER's kernel (fetch-kernel.sh) in QEMU/TCG with a busybox
# initramfs.  The guest prints `uname -r`, insmods the --ko files in order,
# runs each --run shell line (cwd /bin, where the --bin files are), rmmods the
# modules in reverse order and prints
#   MNSIM-VM-DONE rc=<0|1> rmmod=<ok|fail>
# then powers off.  rc=1: an insmod failed or a --run line exited non-zero
# (exit 4, kselftest's skip, is accepted only with ALLOW_SKIP=1).
# --tree DIR copies DIR's contents over the guest's root (e.g. a
# `make install DESTDIR=DIR` staging tree); busybox's applets stay in /bin.
# --echo prints what the --run lines print (stdout and stderr), and nothing
# of the kernel's, to stdout while the guest runs: the guest tags each line
# of theirs with "MNSIM-OUT " on the console and the host prints the tagged
# lines untagged.  The console log is written without the tags, as without
# --echo.  For `make demo` and other interactive targets.
#
# Kernels with CONFIG_DEBUG_KMEMLEAK (the -debug flavours): the guest scans
# and clears kmemleak before the first insmod (the kernel's own boot-time
# reports are not ours), scans twice more after the last rmmod and prints
#   MNSIM-VM-KMEMLEAK n=<reports>
# followed by the reports; any report fails the run.
#
# VM_GCOV_DIR=DIR (make coverage, a kernel with CONFIG_GCOV_KERNEL): after
# the last rmmod (gcov_persist keeps an unloaded module's counters) the guest
# copies every .gcda under /sys/kernel/debug/gcov (debugfs reports size 0, so
# each is read with cat), and prints them as a base64 gzip tarball between
# MNSIM-GCOV-BEGIN and MNSIM-GCOV-END on the console; the host unpacks it
# into DIR, paths as the guest's debugfs names them (the objects' build
# paths, under DIR). No data (no gcov in the kernel) fails the run.
#
# VM_EXPECTED_SKIPS='fixture.test ...': those tests' SKIPs pass (vm-test.sh
# names the ones the kernel's config cannot run); any other SKIP fails.
#
# Verdict (from the console log, $CACHE/logs/NAME-KVER.log): FAIL on timeout,
# a missing/bad DONE marker, any kernel splat; with --tap also on any
# `not ok`, `# SKIP` (unless ALLOW_SKIP=1), a skipped plan `1..0`, fewer
# `# Totals:` lines than --run lines, or Totals with fail/error > 0.
# stdout: `vm-run: log: PATH`, then last line
#   vm-run: NAME KVER: <P> passed, <F> failed[, <S> skipped]
# Exit 0 only when F is 0.  Env: ALLOW_SKIP=1, VM_TIMEOUT (default for
# --timeout, 600), VM_VERBOSE=1 (console to stderr live), QEMU_EXTRA='more qemu args', VM_KEEP_TMP=1 (keep initramfs dir),
# VM_ACCEL (default tcg,thread=single; kvm is opt-in: KVM does not work on
# the project's hosts).
#
# Why one host thread for all vCPUs: with QEMU 7.2's multi-threaded TCG, live
# patching of kernel text (text_poke_bp: static keys and static calls) can
# make a vCPU run a stale int3 -- "Oops: int3" on 6.12, a silent hang on 6.1
# -- on stock Debian kernels too, with no module loaded.  A trace event being
# enabled triggers it, and so does the boot itself: a CI run died at 1.5 s in
# sched_clock_cpu() right after "sched_clock: Marking stable" (a static key)
# before any module was loaded.  Single-threaded TCG still interleaves the
# two vCPUs (the bench's windows check catches its negative control there).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	sed -n '2,4p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

KVER='' NAME='' TAP=0 ECHO=0 TIMEOUT=${VM_TIMEOUT:-600} EXTRA='' SMP=${SMP:-2} MEM=${MEM:-1G}
KOS=() BINS=() TREES=() RUNS=()
while [ $# -gt 0 ]; do
	case "$1" in
	--kver) KVER=${2:?}; shift 2 ;;
	--name) NAME=${2:?}; shift 2 ;;
	--ko) KOS+=("${2:?}"); shift 2 ;;
	--bin) BINS+=("${2:?}"); shift 2 ;;
	--tree) TREES+=("${2:?}"); shift 2 ;;
	--run) RUNS+=("${2:?}"); shift 2 ;;
	--tap) TAP=1; shift ;;
	--echo) ECHO=1; shift ;;
	--timeout) TIMEOUT=${2:?}; shift 2 ;;
	--append) EXTRA="$EXTRA ${2?}"; shift 2 ;;
	--smp) SMP=${2:?}; shift 2 ;;
	--mem) MEM=${2:?}; shift 2 ;;
	-h | --help) usage ;;
	*) log "unknown argument: $1"; usage ;;
	esac
done
check_kver "$KVER"
[ -n "$NAME" ] || { log "--name is required"; usage; }
case "$NAME" in */* | .*) die "--name must be a plain word: $NAME" ;; esac
case "$TIMEOUT" in '' | *[!0-9]*) die "--timeout must be seconds: $TIMEOUT" ;; esac
if [ "$TAP" = 1 ] && [ "${#RUNS[@]}" -eq 0 ]; then
	die "--tap needs at least one --run"
fi

need_pkgs busybox-static cpio gzip binutils

ENV_FILE=$("$VM_DIR/fetch-kernel.sh" "$KVER")
KARCH=amd64
# shellcheck source=/dev/null
. "$ENV_FILE"
# The guest's busybox and QEMU: the host's for x86_64; for arm64 the arm64
# busybox-static (a deb of the private arm64 apt, unpacked once) and
# qemu-system-aarch64's virt board. -cpu max with pauth-impdef: the
# architected pointer-authentication algorithm (QARMA) costs more than half
# of a boot under TCG; the implementation-defined one is as good for us.
case "$KARCH" in
amd64)
	need_pkgs qemu-system-x86
	BUSYBOX=/bin/busybox
	qemu_base=(qemu-system-x86_64)
	CONSOLE=ttyS0
	;;
arm64)
	need_pkgs qemu-system-arm
	BUSYBOX=$(arm64_busybox)
	qemu_base=(qemu-system-aarch64 -M virt -cpu max,pauth-impdef=on)
	CONSOLE=ttyAMA0
	;;
*) die "$ENV_FILE: unknown KARCH '$KARCH'" ;;
esac

# --- check inputs before spending a boot on them -------------------------
ko_names=()
for ko in "${KOS[@]}"; do
	[ -f "$ko" ] || die "no such module: $ko"
	vm=$(tr '\0' '\n' <"$ko" | sed -n 's/^vermagic=//p' | head -1)
	[ "${vm%% *}" = "$KREL" ] ||
		die "$ko: vermagic '${vm%% *}' does not match the $KVER guest kernel $KREL (rebuild with build-module.sh $KVER)"
	# the name rmmod needs is the module's own (KBUILD_MODNAME), not the file's
	mn=$(tr '\0' '\n' <"$ko" | sed -n 's/^name=//p' | head -1)
	[ -n "$mn" ] || mn=$(basename "$ko" .ko | tr - _)
	for n in "${ko_names[@]}"; do
		[ "${n#* }" != "$mn" ] || die "module $mn given twice"
	done
	ko_names+=("$(printf '%02d.ko' "${#ko_names[@]}") $mn")
done
for bin in "${BINS[@]}"; do
	[ -f "$bin" ] || die "no such file: $bin"
	if [ "$(head -c 4 "$bin" | tr -d '\0')" = $'\x7fELF' ] &&
		readelf -l "$bin" 2>/dev/null | grep -q 'program interpreter'; then
		die "$bin is dynamically linked: build it with gcc -static"
	fi
done
for tree in "${TREES[@]}"; do
	[ -d "$tree" ] || die "no such directory: $tree"
done

# --- initramfs ----------------------------------------------------------------
mkdir -p "$CACHE/tmp" "$CACHE/logs"
WORK=$(mktemp -d "$CACHE/tmp/vm-$NAME-$KVER.XXXXXX")
cleanup() {
	if [ "${VM_KEEP_TMP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
R=$WORK/root
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,root,etc/mnsim,lib/mnsim}
cp "$BUSYBOX" "$R/bin/busybox"
i=0
for ko in "${KOS[@]}"; do
	cp "$ko" "$R/lib/mnsim/$(printf '%02d.ko' "$i")"
	i=$((i + 1))
done
: >"$R/etc/mnsim/modules"
[ "${#ko_names[@]}" -eq 0 ] || printf '%s\n' "${ko_names[@]}" >"$R/etc/mnsim/modules"
for bin in "${BINS[@]}"; do
	cp "$bin" "$R/bin/"
	chmod 0755 "$R/bin/${bin##*/}"
done
for tree in "${TREES[@]}"; do
	cp -a "$tree/." "$R/"
done
i=0
for cmd in "${RUNS[@]}"; do
	i=$((i + 1))
	printf '%s\n' "$cmd" >"$R/etc/mnsim/run-$(printf %03d "$i").sh"
done
echo "${ALLOW_SKIP:-0}" >"$R/etc/mnsim/allow_skip"
echo "$ECHO" >"$R/etc/mnsim/echo"
if [ -n "${VM_GCOV_DIR:-}" ]; then echo 1; else echo 0; fi >"$R/etc/mnsim/gcov"

cat >"$R/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t tmpfs tmpfs /tmp
exec </dev/null >/dev/console 2>&1
echo "MNSIM-VM-START"
uname -r
rc=0
rmm=ok
loaded=
KML=/sys/kernel/debug/kmemleak
if [ -e "$KML" ]; then
	echo scan >"$KML"
	echo clear >"$KML"
fi
while read -r f m; do
	if insmod "/lib/mnsim/$f"; then
		echo "MNSIM-VM-INSMOD $m ok"
		loaded="$m $loaded"
	else
		echo "MNSIM-VM-INSMOD $m FAILED"
		rc=1
		break
	fi
done </etc/mnsim/modules
allow_skip=$(cat /etc/mnsim/allow_skip)
echo_out=$(cat /etc/mnsim/echo)
if [ "$rc" = 0 ]; then
	n=0
	for f in /etc/mnsim/run-*.sh; do
		[ -f "$f" ] || continue
		n=$((n + 1))
		cd /bin || exit 1
		if [ "$echo_out" = 1 ]; then
			# tag the command's lines for the host (vm-run.sh --echo)
			{
				sh "$f" 2>&1
				echo $? >/tmp/.mnsim-run-rc
			} | sed 's/^/MNSIM-OUT /'
			r=$(cat /tmp/.mnsim-run-rc)
		else
			sh "$f"
			r=$?
		fi
		cd /
		echo "MNSIM-VM-RUN $n rc=$r"
		if [ "$r" != 0 ] && ! { [ "$r" = 4 ] && [ "$allow_skip" = 1 ]; }; then
			rc=1
		fi
	done
fi
for m in $loaded; do
	# where the module's text was, to map a later kmemleak trace back to it
	[ -e "$KML" ] && echo "MNSIM-VM-TEXT $m $(cat "/sys/module/$m/sections/.text" 2>/dev/null)"
	if rmmod "$m"; then
		echo "MNSIM-VM-RMMOD $m ok"
	else
		echo "MNSIM-VM-RMMOD $m FAILED"
		rmm=fail
	fi
done
if [ "$(cat /etc/mnsim/gcov)" = 1 ]; then
	G=/sys/kernel/debug/gcov
	find "$G" -name '*.gcda' | while read -r f; do
		r=/tmp/gcov${f#"$G"}
		mkdir -p "${r%/*}"
		cat "$f" >"$r"
	done
	echo "MNSIM-GCOV-BEGIN"
	tar -C /tmp/gcov -czf - . | base64
	echo "MNSIM-GCOV-END"
fi
if [ -e "$KML" ]; then
	# kmemleak reports objects older than 5 s that no scan found a pointer
	# to; two scans apart make a freshly freed module's objects settle.
	sleep 6
	echo scan >"$KML"
	sleep 6
	echo scan >"$KML"
	n=$(grep -c '^unreferenced object' "$KML")
	echo "MNSIM-VM-KMEMLEAK n=$n"
	cat "$KML"
fi
sync
echo "MNSIM-VM-DONE rc=$rc rmmod=$rmm"
poweroff -f
sleep 5
echo "MNSIM-VM-POWEROFF-FAILED"
EOF
chmod 0755 "$R/init"
INITRD=$WORK/initrd.gz
(cd "$R" && find . -print0 | cpio --null -o -H newc -R 0:0 --quiet) | gzip -1 >"$INITRD"

# --- boot ---------------------------------------------------------------------
LOG=$CACHE/logs/$NAME-$KVER.log
RAW=$WORK/console.raw
APPEND="console=$CONSOLE panic=-1 panic_on_warn=1 oops=panic softlockup_panic=1${EXTRA}"
ACCEL=${VM_ACCEL:-tcg,thread=single}
qemu=("${qemu_base[@]}" -accel "$ACCEL" -m "$MEM" -smp "$SMP" -nographic -no-reboot
	-nic none -kernel "$VMLINUZ" -initrd "$INITRD" -append "$APPEND")
if [ -n "${QEMU_EXTRA:-}" ]; then
	read -r -a qextra <<<"$QEMU_EXTRA"
	qemu+=("${qextra[@]}")
fi
log "booting $KREL ($NAME): ${#KOS[@]} module(s), ${#RUNS[@]} command(s), timeout ${TIMEOUT}s, -accel $ACCEL"
t0=$(date +%s.%N)
qrc=0
if [ "${VM_VERBOSE:-0}" = 1 ]; then
	timeout -k 10 "$TIMEOUT" "${qemu[@]}" </dev/null 2>&1 | tee "$RAW" >&2 || qrc=${PIPESTATUS[0]}
elif [ "$ECHO" = 1 ]; then
	timeout -k 10 "$TIMEOUT" "${qemu[@]}" </dev/null 2>&1 | tee "$RAW" |
		sed -un 's/\r$//; s/^MNSIM-OUT //p' || qrc=${PIPESTATUS[0]}
else
	timeout -k 10 "$TIMEOUT" "${qemu[@]}" </dev/null >"$RAW" 2>&1 || qrc=$?
fi
t1=$(date +%s.%N)
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
tr -d '\r' <"$RAW" | sed 's/^MNSIM-OUT //' >"$LOG"
log "guest finished in ${secs}s (qemu rc=$qrc); log: $LOG"
gcov_problem=
if [ -n "${VM_GCOV_DIR:-}" ]; then
	mkdir -p "$VM_GCOV_DIR"
	if ! sed -n '/^MNSIM-GCOV-BEGIN$/,/^MNSIM-GCOV-END$/p' "$LOG" | sed '1d;$d' |
		base64 -d | tar -C "$VM_GCOV_DIR" -xzf - 2>/dev/null; then
		gcov_problem="no gcov data from the guest (CONFIG_GCOV_KERNEL?)"
	elif ! find "$VM_GCOV_DIR" -name '*.gcda' | grep -q .; then
		gcov_problem="the guest's debugfs held no .gcda"
	else
		log "gcov: $(find "$VM_GCOV_DIR" -name '*.gcda' | wc -l) .gcda file(s) in $VM_GCOV_DIR"
	fi
fi
echo "vm-run: log: $LOG"

# --- verdict ------------------------------------------------------------------
problems=()  # one entry per verdict-level failure
offending=() # log lines to show
add_lines() { # add_lines TEXT: grep -n output
	local l
	while IFS= read -r l; do
		if [ -n "$l" ]; then offending+=("$l"); fi
	done <<<"$1"
}

[ -z "$gcov_problem" ] || problems+=("$gcov_problem")
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	problems+=("timeout after ${TIMEOUT}s")
elif [ "$qrc" != 0 ]; then
	problems+=("qemu exited with $qrc")
	add_lines "$(grep -n 'qemu' "$LOG" | head -5 || true)"
fi

done_line=$(grep -n 'MNSIM-VM-DONE ' "$LOG" | tail -1 || true)
case "$done_line" in
*"MNSIM-VM-DONE rc=0 rmmod=ok") ;;
"")
	problems+=("no MNSIM-VM-DONE marker")
	;;
*)
	problems+=("bad marker: ${done_line#*:}")
	add_lines "$done_line"
	add_lines "$(grep -nE 'MNSIM-VM-(INSMOD|RMMOD) .* FAILED|MNSIM-VM-RUN [0-9]+ rc=[1-9]' "$LOG" || true)"
	;;
esac

kml=$(grep -n 'MNSIM-VM-KMEMLEAK n=' "$LOG" | tail -1 || true)
case "$kml" in
"" | *"n=0") ;;
*)
	problems+=("kmemleak: ${kml##*n=} report(s)")
	# backtraces: 6.1 prints "[<addr>] sym", 6.12 "sym+off/size" or a bare
	# address (a module already unloaded: see MNSIM-VM-TEXT for its base)
	add_lines "$(grep -nE 'MNSIM-VM-(KMEMLEAK|TEXT)|unreferenced object|^    \[<|^    [A-Za-z_.0-9]+\+0x|^    0x[0-9a-f]+$' "$LOG" | head -40 || true)"
	;;
esac

# lockdep's reports, not its banner ("RCU lockdep checking is enabled").
SPLAT='WARNING:|BUG:|Oops|Kernel panic|possible (circular|recursive) locking|inconsistent lock state|INFO: possible|INFO: trying to register non-static key|turning off the locking correctness validator|suspicious RCU usage|sleeping function called from invalid context|KASAN|refcount_t:|general protection fault|Call Trace:|UBSAN|blocked for more than [0-9]+ seconds|detected stalls? on CPU'
splats=$(grep -nE "$SPLAT" "$LOG" | grep -v "Command line:" || true)
if [ -n "$splats" ]; then
	problems+=("kernel splat ($(grep -c . <<<"$splats") lines)")
	add_lines "$splats"
fi

P=0 F=0 S=0
if [ "$TAP" = 1 ]; then
	# passes: top-level `ok N` lines that are not skips; skips: at any level
	P=$(grep -E '^ok [0-9]+' "$LOG" | grep -cvE '# [Ss][Kk][Ii][Pp]' || true)
	skips=$(grep -nE '^[[:space:]]*(# )?ok [0-9]+.*# [Ss][Kk][Ii][Pp]' "$LOG" || true)
	# VM_EXPECTED_SKIPS: tests (fixture.test) this kernel cannot run, as
	# the caller read from its config (vm-test.sh): their SKIP passes,
	# with its reason in the log; any other SKIP still fails.
	nexp=0
	for t in ${VM_EXPECTED_SKIPS:-}; do
		e=$(grep -E "ok [0-9]+ ${t//./\\.} # [Ss][Kk][Ii][Pp]" <<<"$skips" || true)
		[ -n "$e" ] || continue
		nexp=$((nexp + $(grep -c . <<<"$e")))
		log "expected skip: ${e#*ok [0-9]* }"
		skips=$(grep -vxF -f <(printf '%s\n' "$e") <<<"$skips" || true)
	done
	P=$((P + nexp))
	S=$(grep -c . <<<"$skips" || true)
	notok=$(grep -nE '^[[:space:]]*(# )?not ok [0-9]+' "$LOG" || true)
	nnotok=$(grep -c . <<<"$notok" || true)
	F=$((F + nnotok))
	add_lines "$notok"
	if [ "${ALLOW_SKIP:-0}" != 1 ]; then
		F=$((F + S))
		S=0
		add_lines "$skips"
		empty=$(grep -nE '^[[:space:]]*(# )?1\.\.0' "$LOG" || true)
		if [ -n "$empty" ]; then
			problems+=("a TAP program skipped entirely (1..0)")
			add_lines "$empty"
		fi
	fi
	ntot=$(grep -cE '^[[:space:]]*(# )?# Totals:' "$LOG" || true)
	if [ "$ntot" -lt "${#RUNS[@]}" ]; then
		problems+=("only $ntot '# Totals:' line(s) for ${#RUNS[@]} TAP command(s)")
	fi
	# xpass counts: an expected failure that passes must lose its XFAIL.
	badtot=$(grep -nE '# Totals:' "$LOG" | grep -E ' (fail|xpass|error):[1-9]' || true)
	# A skip in Totals: one not seen as "ok N ... # SKIP" (counted above).
	if [ "${ALLOW_SKIP:-0}" != 1 ] && [ "$nexp" = 0 ]; then
		badtot=$(grep -nE '# Totals:' "$LOG" | grep -E ' (fail|xpass|error|skip):[1-9]' || true)
	fi
	if [ -n "$badtot" ]; then
		add_lines "$badtot"
		# not counted yet unless not ok / SKIP lines were seen
		if [ "$F" -eq 0 ]; then problems+=("Totals report failures"); fi
	fi
	F=$((F + ${#problems[@]}))
else
	if [ "${#problems[@]}" -eq 0 ]; then P=1; else F=1; fi
fi

if [ "$F" -gt 0 ] || [ "${#problems[@]}" -gt 0 ]; then
	[ "$F" -gt 0 ] || F=1
	{
		if [ "${#problems[@]}" -gt 0 ]; then
			msg=$(printf '%s; ' "${problems[@]}")
			echo "vm-run: $NAME $KVER FAILED: ${msg%; }"
		else
			echo "vm-run: $NAME $KVER FAILED: TAP failures"
		fi
		if [ "${#offending[@]}" -gt 0 ]; then
			printf '%s\n' "${offending[@]}" | sort -t: -k1,1n -u | head -40
		else
			tail -20 "$LOG"
		fi
		echo "vm-run: full log: $LOG"
	} >&2
fi

if [ "${ALLOW_SKIP:-0}" = 1 ] && [ "$S" -gt 0 ]; then
	echo "vm-run: $NAME $KVER: $P passed, $F failed, $S skipped"
else
	echo "vm-run: $NAME $KVER: $P passed, $F failed"
fi
[ "$F" -eq 0 ]
