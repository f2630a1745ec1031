#!/bin/bash
# Usage: tools/testing/compat-confined.sh
#
# Fails if any kernel source of the project other than compat.h tests the
# kernel version: compat.h is the only place that may know it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bad=$(git ls-files -- '*.c' '*.h' | grep -v -e '^compat\.h$' -e '^tools/' |
	xargs grep -l -E 'LINUX_VERSION_CODE|KERNEL_VERSION\(' || true)
if [ -n "$bad" ]; then
	echo "compat-confined: kernel version tests outside compat.h:" $bad
	echo "compat-confined: 0 passed, 1 failed"
	exit 1
fi
grep -q '#error' compat.h || { echo "compat-confined: compat.h has no #error bound"; exit 1; }
echo "compat-confined: 1 passed, 0 failed"
