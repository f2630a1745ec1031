# shellcheck shell=bash
# The step runner shared by check.sh and check-debug.sh.  Source it, do not
# run it; set LOGDIR first.
#
#   steps_run FUNC     call FUNC, which calls `step` once per suite, twice:
#                      first only to count the steps, then to run them
#   step NAME CMD...   run one suite with its whole output in $LOGDIR/NAME.log;
#                      count it: a step that prints its own
#                      "P passed, F failed" line is counted by it; any other
#                      step counts as one test that passes when it exits 0.
#                      Exit 77 is a skip: neither passed nor failed, its
#                      reason (the log's last line) on the terminal and in
#                      the table. Returns the step's exit status (0 when
#                      only counting), so that later steps can depend on it
#   step_bg NAME CMD...  as step, in the background: a guest runs on one
#                      host thread (single-threaded TCG), so two guests on
#                      the machine's two cores take the time of one
#   steps_wait         wait for the background steps, count them as step
#                      does (in the order they started), print their
#                      progress lines; returns non-zero if one failed
#   steps_report       print a table with one row per step (passed, failed,
#                      seconds), then "N passed, N failed" summed over all
#                      steps; returns non-zero on any failure
#
# The terminal gets, per step, one line "[K/N MM:SS] NAME" (MM:SS: time since
# the first step), then only the step's progress lines: the harness's own
# "[script] message" lines (set-up, builds, boots) and its result line.  A
# failing step's log ends on the terminal too (its last 40 lines).  Compiler,
# apt, KTAP and TAP detail stay in the step's log.

total_pass=0
total_fail=0
summary=()
_step_mode=run
_step_n=0
_step_total=0
_step_t0=

steps_run() {
	_step_mode=count
	_step_n=0
	"$@"
	_step_total=$_step_n
	_step_mode=run
	_step_n=0
	_step_t0=$(date +%s)
	"$@"
}

# _step_progress: the lines of a step's output that say where it is
_step_progress() {
	grep --line-buffered -E '^\[[A-Za-z0-9_.-]+\] |[0-9]+ passed, [0-9]+ failed' || true
}

# _step_start NAME CMD...: number the step, print its line, start its log
_step_start() {
	local name=$1 el
	shift
	_step_log=${LOGDIR:?LOGDIR must be set before step}/$name.log
	[ -n "$_step_t0" ] || _step_t0=$(date +%s)
	_step_t1=$(date +%s)
	el=$((_step_t1 - _step_t0))
	printf '[%d/%d %02d:%02d] %s%s\n' "$_step_n" "${_step_total:-?}" \
		$((el / 60)) $((el % 60)) "$name" "${_step_bg:+ (in the background)}"
	echo "=== check: $name: $*" >"$_step_log"
}

step() {
	local name=$1 rc
	shift
	_step_n=$((_step_n + 1))
	[ "$_step_mode" = count ] && return 0
	_step_bg=
	_step_start "$name" "$@"
	"$@" 2>&1 | tee -a "$_step_log" | _step_progress
	rc=${PIPESTATUS[0]}
	_step_count "$name" "$_step_log" "$rc" "$_step_t1"
}

_step_bgs=()
step_bg() {
	local name=$1
	shift
	_step_n=$((_step_n + 1))
	[ "$_step_mode" = count ] && return 0
	_step_bg=1
	_step_start "$name" "$@"
	rm -f "$_step_log.rc"
	{
		"$@" >>"$_step_log" 2>&1
		echo "$? $(date +%s)" >"$_step_log.rc"
	} &
	_step_bgs+=("$name $! $_step_t1")
}

steps_wait() {
	local row name pid t0 t1 log rc ret=0
	[ "$_step_mode" = count ] && return 0
	for row in "${_step_bgs[@]}"; do
		read -r name pid t0 <<<"$row"
		wait "$pid"
		log=$LOGDIR/$name.log
		read -r rc t1 <"$log.rc" 2>/dev/null || { rc=1 t1=$(date +%s); }
		rm -f "$log.rc"
		echo "--- $name (background):"
		_step_progress <"$log"
		_step_count "$name" "$log" "$rc" "$t0" "$t1" || ret=1
	done
	_step_bgs=()
	return "$ret"
}

# _step_count NAME LOG RC T0 [T1]: count a step that ran from T0 to T1 (now)
_step_count() {
	local name=$1 log=$2 rc=$3 t0=$4 t1=${5:-$(date +%s)} line p f
	line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	if [ "$rc" -eq 77 ]; then
		echo "--- $name SKIPPED: $(tail -n 1 "$log")"
		summary+=("$name 0 0 $((t1 - t0)) $rc")
		return "$rc"
	fi
	if [[ $line =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
		p=${BASH_REMATCH[1]}
		f=${BASH_REMATCH[2]}
	elif [ "$rc" -eq 0 ]; then
		p=1 f=0
	else
		p=0 f=1
	fi
	# A failing exit status always counts, even if the step's own line missed it.
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	if [ "$f" -ne 0 ]; then
		echo "--- $name failed (exit $rc): last 40 lines of $log"
		tail -n 40 "$log"
		echo "---"
	fi
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	summary+=("$name $p $f $((t1 - t0)) $rc")
	return "$rc"
}

steps_report() {
	local row name p f secs rc el
	el=$(($(date +%s) - ${_step_t0:-$(date +%s)}))
	echo
	printf '%-28s %7s %7s %8s\n' step passed failed seconds
	for row in "${summary[@]}"; do
		read -r name p f secs rc <<<"$row"
		if [ "$rc" -eq 77 ]; then
			printf '%-28s %7s %7s %8s   (skipped)\n' "$name" - - "$secs"
		elif [ "$rc" -ne 0 ]; then
			printf '%-28s %7s %7s %8s   (exit %s)\n' "$name" "$p" "$f" "$secs" "$rc"
		else
			printf '%-28s %7s %7s %8s\n' "$name" "$p" "$f" "$secs"
		fi
	done
	printf '%-28s %7s %7s %8s\n' total "$total_pass" "$total_fail" "$el"
	echo "$total_pass passed, $total_fail failed"
	[ "$total_fail" -eq 0 ]
}
