#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Every errno of the uAPI's table is asserted by some test.

Usage: tools/testing/errno-table.py [--list]

The list of errnos is generated from the errno table in the DOC comment of
include/uapi/linux/mmu_notifier_sim.h (the rows between its two "=====" rules).
An errno counts as asserted where it appears in the arguments of an assertion
of a test source: kselftest_harness.h's EXPECT_*/ASSERT_*, the selftests'
EXPECT_ERRNO() and test_err_*() helpers, or KUnit's KUNIT_EXPECT_*/
KUNIT_ASSERT_*, in tools/testing/selftests/mmu_notifier_sim/*.c and tests/*.c.
A mention elsewhere (a retry loop, a comment, a switch of allowed errors) is
not an assertion and does not count.

Prints one TAP-like line per errno, with the number of assertions and the
tests holding the first of them, then "P passed, F failed". Exit status 1
when an errno of the table is asserted by no test, or the table is missing.
--list prints only the errnos of the table.
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEADER = ROOT / "include/uapi/linux/mmu_notifier_sim.h"
SOURCES = sorted((ROOT / "tools/testing/selftests/mmu_notifier_sim").glob("*.c")) + \
    sorted((ROOT / "tests").glob("*.c"))

ASSERT = re.compile(r"\b(?:KUNIT_(?:EXPECT|ASSERT)_\w+|EXPECT_\w+|ASSERT_\w+|"
                    r"test_err_\w+)\s*\(")
# The enclosing test: kselftest TEST*/FIXTURE hooks, a KUnit case function,
# or a kselftest helper that asserts for its callers (named as such).
TEST_OF = re.compile(r"^(?:TEST(?:_F)?(?:_TIMEOUT)?\((\w+)(?:,\s*(\w+))?|"
                     r"static void (\w+_test)\(struct kunit \*test\)|"
                     r"static [\w *]*?\b(\w+)\(struct __test_metadata \*_metadata)",
                     re.M)


def table_errnos(text):
    """The errnos of the header's table, in its order."""
    rows = []
    rules = 0
    for line in text.splitlines():
        body = line.lstrip(" *")
        if re.fullmatch(r"=+ =+", body.strip()):
            rules += 1
            if rules == 2:
                break
            continue
        if rules == 1:
            m = re.match(r"(E[A-Z0-9]+)\s", body)
            if m:
                rows.append(m.group(1))
    return rows if rules == 2 else []


def strip_comments(text):
    """Comments and string literals blanked, keeping offsets and lines."""
    def blank(m):
        return re.sub(r"[^\n]", " ", m.group(0))
    return re.sub(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"', blank, text,
                  flags=re.S)


def call_args(text, start):
    """The text of a call's arguments; @start is just after its '('."""
    depth = 1
    i = start
    while i < len(text) and depth:
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
        i += 1
    return text[start:i - 1]


def assertions(errnos):
    """errno -> list of (file:line, test) of the assertions naming it."""
    found = {e: [] for e in errnos}
    want = re.compile(r"\b(" + "|".join(errnos) + r")\b")
    for src in SOURCES:
        text = strip_comments(src.read_text())
        tests = [(m.start(), ".".join(g for g in m.groups() if g))
                 for m in TEST_OF.finditer(text)]
        for m in ASSERT.finditer(text):
            args = call_args(text, m.end())
            names = set(want.findall(args))
            if not names:
                continue
            line = text.count("\n", 0, m.start()) + 1
            test = "-"
            for pos, name in tests:
                if pos > m.start():
                    break
                test = name
            for e in names:
                found[e].append((f"{src.relative_to(ROOT)}:{line}", test))
    return found


def main():
    errnos = table_errnos(HEADER.read_text())
    if not errnos:
        print(f"errno-table: no errno table in {HEADER.relative_to(ROOT)}")
        print("0 passed, 1 failed")
        return 1
    if sys.argv[1:] == ["--list"]:
        print("\n".join(errnos))
        return 0
    found = assertions(errnos)
    failed = 0
    for i, e in enumerate(errnos, 1):
        hits = found[e]
        if hits:
            tests = []
            for _, t in hits:
                if t not in tests:
                    tests.append(t)
            more = f", +{len(tests) - 3} more" if len(tests) > 3 else ""
            print(f"ok {i} {e}: {len(hits)} assertions in {len(tests)} tests "
                  f"({', '.join(tests[:3])}{more}); first {hits[0][0]}")
        else:
            failed += 1
            print(f"not ok {i} {e}: in the uAPI's errno table, asserted by no test")
    print(f"errno-table: {len(errnos) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
