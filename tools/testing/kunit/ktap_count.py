#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Print the KTAP of a kunit.py test.log and count its results.

Usage: ktap_count.py --arch ARCH --kver KVER [--expected-skips FILE] TEST_LOG

Every leaf result counts: a test case, or each parameter of a parameterised
case (the case's own line and the suite's line are summaries). A skipped leaf
counts as failed unless FILE lists it for ARCH and KVER. A kernel splat
(BUG, WARNING, panic, lockdep report) or a missing result (the kernel
crashed) adds one failure. The last line printed is
    kunit: ARCH KVER: P passed, F failed
and the exit status is 1 when F is not 0.
"""
import argparse
import re
import sys

RESULT = re.compile(r'^(\s*)(ok|not ok) (\d+)(?: -)?\s*([^#]*?)\s*(?:#\s*(.*))?$')
PLAN = re.compile(r'^(\s*)1\.\.(\d+)\s*$')
SUBTEST = re.compile(r'^(\s*)# Subtest: (.*?)\s*$')
SPLAT = re.compile(r'(\bBUG:|WARNING:|Kernel panic|kernel BUG at|'
                   r'general protection fault|possible circular locking|'
                   r'possible recursive locking|inconsistent lock state|'
                   r'suspicious RCU usage|Call Trace:)')


def load_skips(path, arch, kver):
    """Regexes of test paths whose skip is expected on this arch and kver."""
    pats = []
    if not path:
        return pats
    try:
        with open(path, encoding='utf-8') as f:
            for line in f:
                line = line.split('#', 1)[0].strip()
                if not line:
                    continue
                a, k, pat = line.split(None, 2)
                if a in ('*', arch) and k in ('*', kver):
                    pats.append(re.compile(pat + r'$'))
    except FileNotFoundError:
        pass
    return pats


def ktap_lines(log):
    """The KTAP part of a console log, with the console prefix removed."""
    out, prefix, splats = [], None, []
    for raw in log:
        line = raw.rstrip('\n')
        if prefix is None:
            m = re.search(r'K?TAP version \d+', line)
            if not m:
                continue
            prefix = line[:m.start()]
        if SPLAT.search(line):
            splats.append(line)
        if prefix and line.startswith(prefix):
            line = line[len(prefix):]
        if (RESULT.match(line) or PLAN.match(line) or
                re.match(r'^\s*(#|K?TAP version)', line)):
            out.append(line)
    return out, splats


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--arch', required=True)
    ap.add_argument('--kver', required=True)
    ap.add_argument('--expected-skips')
    ap.add_argument('log')
    args = ap.parse_args()

    skips = load_skips(args.expected_skips, args.arch, args.kver)
    with open(args.log, encoding='utf-8', errors='replace') as f:
        lines, splats = ktap_lines(f)

    passed = failed = 0
    names = {}          # indent -> name of the subtest opened at that indent
    prev_indent = None  # indent of the previous result line
    top_plan = top_results = None
    for line in lines:
        print(line)
        m = SUBTEST.match(line)
        if m:
            names[len(m.group(1))] = m.group(2)
            continue
        m = PLAN.match(line)
        if m and not m.group(1) and top_plan is None:
            top_plan, top_results = int(m.group(2)), 0
            continue
        m = RESULT.match(line)
        if not m:
            continue
        indent = len(m.group(1))
        if indent == 0 and top_results is not None:
            top_results += 1
        # A summary line directly follows its last child, which is deeper.
        leaf = prev_indent is None or prev_indent <= indent
        prev_indent = indent
        if not leaf:
            continue
        path = '.'.join([names[i] for i in sorted(names) if i <= indent] +
                        [m.group(4)])
        directive = (m.group(5) or '').upper()
        if m.group(2) == 'not ok':
            failed += 1
        elif directive.startswith('SKIP'):
            if any(p.match(path) for p in skips):
                passed += 1
            else:
                print(f'# kunit: unexpected skip: {path}')
                failed += 1
        else:
            passed += 1

    if top_plan is None or top_results != top_plan:
        print(f'# kunit: {top_results or 0} of {top_plan or "?"} suites '
              'reported: the kernel crashed or hung')
        failed += 1
    if splats:
        print(f'# kunit: {len(splats)} kernel splat line(s), first: {splats[0].strip()}')
        failed += 1
    print(f'kunit: {args.arch} {args.kver}: {passed} passed, {failed} failed')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
