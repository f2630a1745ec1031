#!/bin/bash
# Usage: checkpatch.sh FILE...
#
# Runs the 6.12 tree's scripts/checkpatch.pl (fetch-source.sh 6.12) as
#   checkpatch.pl --no-tree --strict --show-types -f FILE
# on each file.  A file passes only with 0 errors, 0 warnings and 0 checks.
# Env: CHECKPATCH_IGNORE=TYPE,TYPE (passed as --ignore),
#      CHECKPATCH_ARGS='more args' (word-split, passed through).
# stdout: checkpatch's report for failing files, one status line per file,
# and last `checkpatch: <P> passed, <F> failed` (counting files).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ $# -gt 0 ] || { sed -n '2,2p' "${BASH_SOURCE[0]}" | sed 's/^# //' >&2; exit 2; }

need_pkgs perl
SRC=$("$VM_DIR/fetch-source.sh" 6.12)
CP=$SRC/scripts/checkpatch.pl
[ -f "$CP" ] || die "no $CP"

args=(--no-tree --strict --show-types --color=never)
[ -z "${CHECKPATCH_IGNORE:-}" ] || args+=(--ignore "$CHECKPATCH_IGNORE")
if [ -n "${CHECKPATCH_ARGS:-}" ]; then
	read -r -a extra <<<"$CHECKPATCH_ARGS"
	args+=("${extra[@]}")
fi

P=0 F=0
for f in "$@"; do
	if [ ! -f "$f" ]; then
		echo "checkpatch: $f: FAIL (no such file)"
		F=$((F + 1))
		continue
	fi
	rc=0
	out=$(perl "$CP" "${args[@]}" -f "$f" 2>&1) || rc=$?
	# "total: 0 errors, 0 warnings, 0 checks, 42 lines checked"
	total=$(printf '%s\n' "$out" | grep -E '^total: [0-9]+ errors?, [0-9]+ warnings?, ([0-9]+ checks?, )?[0-9]+ lines checked' | tail -1 || true)
	if [ "$rc" -eq 0 ] && [ -n "$total" ] &&
		printf '%s\n' "$total" | grep -qE '^total: 0 errors?, 0 warnings?, (0 checks?, )?'; then
		echo "checkpatch: $f: ok"
		P=$((P + 1))
	else
		printf '%s\n' "$out"
		echo "checkpatch: $f: FAIL (${total:-checkpatch rc=$rc})"
		F=$((F + 1))
	fi
done
echo "checkpatch: $P passed, $F failed"
[ "$F" -eq 0 ]
