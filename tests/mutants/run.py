#!/usr/bin/env python3
"""tests/mutants/run.py — `make mutants`: does the suite notice a realistic bug?

Applies each single mutation of tests/mutants/mutants.txt, one at a time, to a
scratch copy of the tree, builds it, runs the unit tests (every
build/tests/test_* binary) and, only when they all pass, the end-to-end
scripts (the mutant's `e2e:` list, or all of tests/e2e/test_*.sh). A mutant
is KILLED when a test fails, SURVIVED when every test passes. Prints one
table (mutant, file, result, the tests that killed it, seconds) and exits 1
when any mutant survived, is stale (its original text does not occur exactly
once in its file), does not build, or was killed only by an end-to-end script
that also fails on the unmutated tree.

Never part of `make test`: it rebuilds once per mutant.

Usage: python3 tests/mutants/run.py [--only ID[,ID...]] [--list FILE]
                                    [--jobs N] [--keep] [--no-e2e]
Environment: E2E_TIMEOUT (seconds per e2e script, default 600, unless the
entry's `timeout:` says less),
UNIT_TIMEOUT (seconds per unit binary, default 300).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
KEYS = ("mutant", "file", "from", "to", "why", "e2e", "timeout")


class Mutant:
    def __init__(self, line):
        self.line = line
        self.fields = {}
        self.result = ""
        self.killers = []
        self.secs = 0.0
        self.note = ""
        self.flaky = []

    def __getattr__(self, name):
        if name in KEYS:
            return self.fields.get(name, "")
        raise AttributeError(name)


def parse(path):
    """Stanzas of `key: value` lines separated by blank lines; `#` starts a
    comment line; a line starting with whitespace continues the value above."""
    mutants, cur, last = [], None, None
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if line.lstrip().startswith("#"):
                continue
            if not line.strip():
                cur, last = None, None
                continue
            if line[0] in " \t" and cur is not None and last:
                cur.fields[last] += " " + line.strip()
                continue
            m = re.match(r"([a-z0-9]+):(.*)$", line)
            if not m or m.group(1) not in KEYS:
                sys.exit("%s:%d: expected one of %s: value" % (path, n, ", ".join(KEYS)))
            if cur is None:
                cur = Mutant(n)
                mutants.append(cur)
            key, last = m.group(1), m.group(1)
            if key in cur.fields:
                sys.exit("%s:%d: %s given twice in one entry" % (path, n, key))
            cur.fields[key] = m.group(2).strip()
    seen = set()
    for m in mutants:
        for k in ("mutant", "file", "from", "why"):
            if not m.fields.get(k):
                sys.exit("%s:%d: entry without %s" % (path, m.line, k))
        if "to" not in m.fields:
            sys.exit("%s:%d: entry without to (write `to:` with nothing for a deletion)" % (path, m.line))
        if m.fields.get("timeout", "0").isdigit() is False:
            sys.exit("%s:%d: timeout is a number of seconds" % (path, m.line))
        if m.mutant in seen:
            sys.exit("%s:%d: mutant %s listed twice" % (path, m.line, m.mutant))
        seen.add(m.mutant)
    return mutants


def check_stale(m):
    path = os.path.join(ROOT, m.file)
    if not os.path.isfile(path):
        return "no such file"
    with open(path, encoding="utf-8") as f:
        n = f.read().count(m.fields["from"])
    if n != 1:
        return "original text found %d times" % n
    if m.fields["from"] == m.fields["to"]:
        return "replacement equals the original"
    return ""


def run(cmd, cwd, log, timeout, env=None):
    """runs cmd with output into log; returns the exit status (124 on time-out)"""
    with open(log, "w") as out:
        p = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            return p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, 9)
            p.wait()
            return 124


def copy_tree(dst):
    """the working tree as it is (uncommitted edits included), without build
    outputs, the data directory or git metadata; modification times kept"""
    tar = subprocess.Popen(["tar", "-C", ROOT, "--exclude=./build", "--exclude=./var", "--exclude=./.git",
                            "-cf", "-", "."], stdout=subprocess.PIPE)
    rc = subprocess.call(["tar", "-C", dst, "-xf", "-"], stdin=tar.stdout)
    tar.stdout.close()
    if tar.wait() or rc:
        raise SystemExit("mutants: copying the tree failed")


class Scratch:
    def __init__(self, base, jobs):
        self.base = base
        self.tree = os.path.join(base, "tree")
        self.logs = os.path.join(base, "logs")
        self.tmp = os.path.join(base, "tmp")
        self.jobs = jobs
        for d in (self.tree, self.logs, self.tmp):
            os.makedirs(d)
        self.env = dict(os.environ)
        for k in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES"):
            self.env.pop(k, None)
        self.env["TMPDIR"] = self.tmp
        self.env["BUILD"] = os.path.join(self.tree, "build")

    def build(self, log):
        return run(["make", "-j%d" % self.jobs, "--no-print-directory", "binaries"], self.tree, log, 1800, self.env)

    def unit(self, tag, flaky=None):
        """every unit binary; the list of failures as binary:case. A binary
        that fails is run once more: one that then passes is noted in flaky
        (when given) and does not count, so a flaky test cannot pass for a
        kill."""
        failed = []
        tdir = os.path.join(self.tree, "build", "tests")
        limit = int(os.environ.get("UNIT_TIMEOUT", "300"))
        for name in sorted(os.listdir(tdir)):
            path = os.path.join(tdir, name)
            if not name.startswith("test_") or "." in name or not os.access(path, os.X_OK):
                continue
            log = os.path.join(self.logs, "%s.%s.log" % (tag, name))
            rc = run([path], self.tree, log, limit, self.env)
            if rc == 0:
                continue
            if flaky is not None and rc != 124 and run([path], self.tree, log + ".again", limit, self.env) == 0:
                flaky.append(name)
                continue
            with open(log, errors="replace") as f:
                cases = sorted(set(re.findall(r"^\[  FAILED  \] (test_\w+)$", f.read(), re.M)))
            if rc == 124:
                failed.append("%s (timed out)" % name)
            elif cases:
                failed += ["%s:%s" % (name, c) for c in cases]
            else:
                failed.append("%s (exit %d)" % (name, rc))
        return failed

    def e2e(self, tag, scripts, limit=0):
        """the scripts in order until one fails; the failing one or None"""
        limit = limit or int(os.environ.get("E2E_TIMEOUT", "600"))
        for s in scripts:
            path = os.path.join(self.tree, "tests", "e2e", s)
            with open(path) as f:
                shell = "bash" if "bash" in f.readline() else "sh"
            log = os.path.join(self.logs, "%s.%s.log" % (tag, s))
            rc = run(["timeout", "-k", "10", str(limit), shell, path], self.tree, log, limit + 30, self.env)
            if rc != 0:
                return s + (" (timed out)" if rc in (124, 137) else "")
        return None


def e2e_scripts(m, everything):
    spec = m.e2e
    if not spec:
        return everything
    if spec == "none":
        return []
    out = []
    for s in spec.split():
        s = s if s.endswith(".sh") else s + ".sh"
        if s not in everything:
            sys.exit("mutant %s: no tests/e2e/%s" % (m.mutant, s))
        out.append(s)
    return out


def fmt_table(mutants):
    rows = [("#", "mutant", "file", "result", "killed by", "secs")]
    for i, m in enumerate(mutants, 1):
        by = m.killers[0] + (" (+%d)" % (len(m.killers) - 1) if len(m.killers) > 1 else "") if m.killers else ""
        rows.append((str(i), m.mutant, m.file, m.result, by or m.note, "%.0f" % m.secs))
    w = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    lines = []
    for j, r in enumerate(rows):
        lines.append("  ".join(r[c].ljust(w[c]) if c < 5 else r[c].rjust(w[c]) for c in range(len(r))).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w[c] for c in range(len(r))))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--list", default=os.path.join(ROOT, "tests", "mutants", "mutants.txt"))
    ap.add_argument("--only", default="", help="comma-separated mutant ids")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--keep", action="store_true", help="keep the scratch tree and logs")
    ap.add_argument("--no-e2e", action="store_true", help="unit tests only (a survivor is reported UNIT-ONLY)")
    args = ap.parse_args()

    mutants = parse(args.list)
    if args.only:
        want = [x for x in args.only.split(",") if x]
        unknown = [x for x in want if x not in {m.mutant for m in mutants}]
        if unknown:
            sys.exit("unknown mutant(s): " + ", ".join(unknown))
        mutants = [m for m in mutants if m.mutant in want]
    everything = sorted(f for f in os.listdir(os.path.join(ROOT, "tests", "e2e"))
                        if f.startswith("test_") and f.endswith(".sh"))
    for m in mutants:
        why = check_stale(m)
        if why:
            m.result, m.note = "STALE", why

    t0 = time.time()
    base = tempfile.mkdtemp(prefix="ol-mutants-")
    sc = Scratch(base, args.jobs)
    print("mutants: %d entries from %s; scratch %s" % (len(mutants), os.path.relpath(args.list, ROOT), base),
          flush=True)
    status = 0
    try:
        copy_tree(sc.tree)
        tb = time.time()
        if sc.build(os.path.join(sc.logs, "baseline.build.log")):
            print("mutants: the unmutated tree does not build (log kept: %s/logs)" % base)
            args.keep = True
            return 2
        bad = sc.unit("baseline")
        if bad:
            print("mutants: unit tests fail on the unmutated tree: %s (logs kept: %s/logs)" % (", ".join(bad), base))
            args.keep = True
            return 2
        print("mutants: baseline built and unit-tested in %.0fs" % (time.time() - tb), flush=True)

        e2e_killers = {}
        todo = [m for m in mutants if not m.result]
        for i, m in enumerate(todo, 1):
            ts = time.time()
            path = os.path.join(sc.tree, m.file)
            with open(path, encoding="utf-8") as f:
                orig = f.read()
            try:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(orig.replace(m.fields["from"], m.fields["to"], 1))
                if sc.build(os.path.join(sc.logs, "%s.build.log" % m.mutant)):
                    m.result, m.note = "NO-BUILD", "logs/%s.build.log" % m.mutant
                else:
                    m.killers = sc.unit(m.mutant, m.flaky)
                    if m.killers:
                        m.result = "killed"
                    elif args.no_e2e:
                        m.result, m.note = "UNIT-ONLY", "survived the unit tests; e2e not run"
                    else:
                        scripts = e2e_scripts(m, everything)
                        k = sc.e2e(m.mutant, scripts, int(m.timeout or 0))
                        if k:
                            m.result, m.killers = "killed", ["e2e " + k]
                            e2e_killers.setdefault(k.split()[0], []).append(m)
                        else:
                            m.result = "SURVIVED"
                            m.note = "unit + " + ("%d e2e" % len(scripts) if scripts else "no e2e")
            finally:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(orig)  # a newer mtime: the next build recompiles it
            m.secs = time.time() - ts
            print("  [%d/%d] %-28s %-9s %s (%.0fs)" % (i, len(todo), m.mutant, m.result,
                                                     ", ".join(m.killers[:1]) or m.note, m.secs), flush=True)

        # an e2e script that killed a mutant must pass on the unmutated tree,
        # or its kills prove nothing
        if e2e_killers:
            if sc.build(os.path.join(sc.logs, "baseline2.build.log")):
                print("mutants: the restored tree does not build")
                return 2
            for s, ms in sorted(e2e_killers.items()):
                if sc.e2e("baseline", [s]):
                    for m in ms:
                        m.result, m.note = "UNSURE", "e2e %s fails unmutated too" % s
                        m.killers = []

        total = time.time() - t0
        print()
        print(fmt_table(mutants))
        counts = {}
        for m in mutants:
            counts[m.result] = counts.get(m.result, 0) + 1
        print()
        print("mutants: %s; %.0fs (%.1f min) in all" % (
            ", ".join("%d %s" % (n, r) for r, n in sorted(counts.items())), total, total / 60))
        for m in mutants:
            if m.flaky:
                print("  flaky with %s: %s failed once, then passed (not counted)" % (m.mutant, ", ".join(m.flaky)))
        for m in mutants:
            if m.result != "killed":
                print("  %s %s: %s" % (m.result, m.mutant, m.why))
                status = 1
        if args.keep:
            print("mutants: scratch kept: %s" % base)
        return status
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
