# shellcheck shell=bash
# The step runner shared by check.sh and check-debug.sh.  Source it, do not
# run it; set LOGDIR first.
#
#   step NAME CMD...   run one suite, tee its output to $LOGDIR/NAME.log and
#                      count it: a step that prints its own
#                      "P passed, F failed" line is counted by it; any other
#                      step counts as one test that passes when it exits 0
#   steps_report       print one line per step, then "N passed, N failed"
#                      summed over all steps; returns non-zero on any failure

total_pass=0
total_fail=0
summary=()

step() {
	local name=$1 log line p f rc
	shift
	log=${LOGDIR:?LOGDIR must be set before step}/$name.log
	echo "=== check: $name: $*"
	"$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
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
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	summary+=("check: $name: $p passed, $f failed (exit $rc)")
}

steps_report() {
	echo
	printf '%s\n' "${summary[@]}"
	echo "$total_pass passed, $total_fail failed"
	[ "$total_fail" -eq 0 ]
}
