#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The one-screen summary of a merged lcov tracefile (make coverage).

Usage: coverage-summary.py --repo DIR [--rst FILE] [--reasons FILE]
                           --base INFO... [--extra INFO...]

The lines and branches counted are those the --base runs' builds instrument
(the kselftests' modules, built as for a real kernel); a line or branch is
covered when any run, --base or --extra (KUnit in UML), hits it. UML builds
the module with other flags (CONFIG_GCOV on the whole kernel) and
instruments lines the real builds do not, which would count as never run
there; so --extra adds hits, not lines.

Per file of the module (mmu_notifier_sim.c, sec_tlb.c and the headers with
code): lines and branches covered out of total, against the goals (95 % of
lines, 85 % of branches for the two .c files). Per function of the two .c
files: its uncovered lines. Then every function whose kernel-doc Context:
says it takes a lock and that no run reached: the coverage kernels run with
lockdep (coverage.config, run-kunit.sh --coverage), so such a function is a
locking path lockdep never validated.

--reasons FILE (default tools/testing/coverage-unreached.txt) gives, per
function, why its uncovered lines cannot be reached from a test
("file function: reason" lines); the summary prints the reason next to
those lines, and "no reason given" where there is none.

--rst FILE writes the same as a reStructuredText page, dated and tied to the
commit (git describe), for Documentation/.
"""
import argparse
import datetime
import re
import subprocess
import sys
from pathlib import Path

GOAL_FILES = ("mmu_notifier_sim.c", "sec_tlb.c")
LINE_GOAL = 95.0
BRANCH_GOAL = 85.0
# The test suites are compiled into mmu_notifier_sim.c's object: not product.
SKIP = re.compile(r"^tests/")


def merge(base, extra):
    """The records of @base (a list of parse() results), hits of all."""
    out = {}
    for files in base:
        for path, d in files.items():
            o = out.setdefault(path, {"da": {}, "br": {}, "fn": {}})
            for k, v in d["da"].items():
                o["da"][k] = o["da"].get(k, 0) + v
            for k, v in d["br"].items():
                o["br"][k] = o["br"].get(k, 0) + v
            for k, (line, hits) in d["fn"].items():
                old = o["fn"].get(k, (line, 0))
                o["fn"][k] = (old[0], old[1] + hits)
    for files in extra:
        for path, d in files.items():
            o = out.get(path)
            if not o:
                continue
            for k, v in d["da"].items():
                if k in o["da"]:
                    o["da"][k] += v
            for k, v in d["br"].items():
                if k in o["br"]:
                    o["br"][k] += v
            for k, (line, hits) in d["fn"].items():
                if k in o["fn"]:
                    o["fn"][k] = (o["fn"][k][0], o["fn"][k][1] + hits)
    return out


def parse(info):
    """{file: {"da": {line: hits}, "br": {(line, block, branch): taken},
    "fn": {name: (line, hits)}}}"""
    files = {}
    cur = None
    for raw in Path(info).read_text().splitlines():
        key, _, val = raw.partition(":")
        if key == "SF":
            cur = files.setdefault(val, {"da": {}, "br": {}, "fn": {}})
        elif cur is None:
            continue
        elif key == "DA":
            line, hits = val.split(",")[:2]
            cur["da"][int(line)] = cur["da"].get(int(line), 0) + int(hits)
        elif key == "BRDA":
            line, block, branch, taken = val.split(",")
            k = (int(line), block, branch)
            t = 0 if taken == "-" else int(taken)
            cur["br"][k] = cur["br"].get(k, 0) + t
        elif key == "FN":
            line, name = val.split(",", 1)
            old = cur["fn"].get(name, (int(line), 0))
            cur["fn"][name] = (int(line), old[1])
        elif key == "FNDA":
            hits, name = val.split(",", 1)
            old = cur["fn"].get(name, (0, 0))
            cur["fn"][name] = (old[0], old[1] + int(hits))
        elif key == "end_of_record":
            cur = None
    return files


def pct(a, b):
    return 100.0 * a / b if b else 100.0


def ranges(lines):
    """[3, 4, 5, 9] -> "3-5, 9"."""
    out = []
    for n in sorted(lines):
        if out and n == out[-1][1] + 1:
            out[-1][1] = n
        else:
            out.append([n, n])
    return ", ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in out)


def lock_functions(src):
    """Functions whose kernel-doc Context: says they take a lock."""
    text = src.read_text()
    found = []
    for m in re.finditer(r"/\*\*\n \* (\w+)\(\) - .*?\*/\n", text, re.S):
        doc = m.group(0)
        ctx = re.search(r"\* Context: (.*?)(?:\n \*\s*\n| \*/|\n \* Return)",
                        doc, re.S)
        if not ctx:
            continue
        c = " ".join(ctx.group(1).replace("*", " ").split())
        if re.search(r"\b(Takes|takes|Takes and releases|takes and releases)\b", c):
            found.append(m.group(1))
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", required=True)
    ap.add_argument("--rst")
    ap.add_argument("--reasons")
    ap.add_argument("--base", nargs="+", required=True)
    ap.add_argument("--extra", nargs="*", default=[])
    a = ap.parse_args()
    repo = Path(a.repo)
    files = merge([parse(i) for i in a.base], [parse(i) for i in a.extra])
    a.runs = " ".join(Path(i).stem for i in a.base) + \
        (" + hits of " + " ".join(Path(i).stem for i in a.extra) if a.extra else "")
    reasons = {}
    rpath = Path(a.reasons) if a.reasons else repo / "tools/testing/coverage-unreached.txt"
    if rpath.exists():
        for line in rpath.read_text().splitlines():
            m = re.match(r"^([\w./-]+) (\w+): (.+)$", line)
            if m:
                reasons[(m.group(1), m.group(2))] = m.group(3)
    rel = {}
    for path, d in files.items():
        try:
            r = str(Path(path).relative_to(repo))
        except ValueError:
            continue
        if not SKIP.match(r) and d["da"]:
            rel[r] = d

    out = []
    rev = subprocess.run(["git", "-C", str(repo), "describe", "--always", "--dirty"],
                         capture_output=True, text=True).stdout.strip() or "unknown"
    when = datetime.date.today().isoformat()
    out.append(f"coverage of {rev}, {when}; runs: {a.runs or '-'}")
    out.append("")
    hdr = f"{'file':<34} {'lines':>15} {'branches':>15}  goal"
    out.append(hdr)
    short = []
    for r in sorted(rel, key=lambda f: (f not in GOAL_FILES, f)):
        d = rel[r]
        lf, lh = len(d["da"]), sum(1 for h in d["da"].values() if h)
        bf, bh = len(d["br"]), sum(1 for t in d["br"].values() if t)
        goal = "-"
        if r in GOAL_FILES:
            ok = pct(lh, lf) >= LINE_GOAL and pct(bh, bf) >= BRANCH_GOAL
            goal = "met" if ok else f"NOT MET ({LINE_GOAL:.0f}/{BRANCH_GOAL:.0f} %)"
            if not ok:
                short.append(r)
        out.append(f"{r:<34} {lh:>5}/{lf:<5} {pct(lh, lf):5.1f}% "
                   f"{bh:>5}/{bf:<5} {pct(bh, bf):5.1f}%  {goal}")
    out.append("")
    for r in GOAL_FILES:
        d = rel.get(r)
        if not d:
            continue
        fns = sorted(d["fn"].items(), key=lambda kv: kv[1][0])
        starts = [(line, name) for name, (line, _) in fns]
        def owner_of(line):
            owner = "(outside functions)"
            for s, name in starts:
                if s <= line:
                    owner = name
                else:
                    break
            return owner
        per = {}
        for line, hits in d["da"].items():
            if not hits:
                per.setdefault(owner_of(line), []).append(line)
        # lines of a function with a branch never taken
        brs = {}
        for (line, _, _), taken in d["br"].items():
            if not taken:
                brs.setdefault(owner_of(line), set()).add(line)
        out.append(f"{r}: uncovered lines by function "
                   f"({sum(len(v) for v in per.values())} lines in {len(per)} functions)")
        for s, name in starts:
            if name in per:
                hits = d["fn"][name][1]
                why = reasons.get((r, name), "no reason given")
                out.append(f"  {name}{'' if hits else ' (never called)'}: "
                           f"{ranges(per[name])}: {why}")
        if "(outside functions)" in per:
            out.append(f"  (outside functions): {ranges(per['(outside functions)'])}")
        out.append("")
        out.append(f"{r}: lines with a branch never taken, by function "
                   f"({sum(len(v) for v in brs.values())} lines in {len(brs)} functions)")
        # a reason is owed where the file misses its branch goal
        owed = pct(sum(1 for t in d["br"].values() if t), len(d["br"])) < BRANCH_GOAL
        for s, name in starts:
            if name in brs:
                why = reasons.get((r, name), "no reason given" if owed else "")
                out.append(f"  {name}: {ranges(brs[name])}" + (f": {why}" if why else ""))
        out.append("")
    never = []
    for r in GOAL_FILES:
        d = rel.get(r)
        if not d:
            continue
        for name in lock_functions(repo / r):
            fn = d["fn"].get(name)
            if fn is None:
                continue    # inline or not compiled: no record of its own
            if fn[1] == 0:
                never.append(f"{r}: {name}")
    out.append("functions whose Context: takes a lock, never reached with lockdep on: "
               + (", ".join(never) if never else "none"))
    text = "\n".join(out)
    print(text)
    if a.rst:
        title = "Coverage of the module"
        rst = [
            ".. SPDX-License-Identifier: GPL-2.0", "",
            "=" * len(title), title, "=" * len(title), "",
            f"Generated by ``make coverage`` (``COVERAGE_DOC=1``) on {when}, "
            f"commit ``{rev}``: do not edit; see ``tools/testing/coverage.sh``.", "",
            "::", "",
        ]
        rst += ["   " + line if line else "" for line in out]
        Path(a.rst).write_text("\n".join(rst) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
