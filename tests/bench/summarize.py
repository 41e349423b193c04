#!/usr/bin/env python3
"""summarize — the table of `make bench` from the samples scripts/bench.sh took.

    summarize.py SAMPLES.tsv RESULTS.csv [SETUP.txt]

SAMPLES.tsv: one measurement per line, tab-separated:
    row  figure  unit  op  target  value
(op is >=, <=, < or - for no target; value may be "nan" for a failed run).
Rows keep the order of their first sample. For each (row, figure) the table
shows the median, min and max of its samples, the target, and whether the
median meets it. The CSV has the same columns (and the sample count)."""
import csv
import math
import statistics
import sys


def fmt(v, unit):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if unit in ("records/s", "count"):
        return f"{v:,.0f}"
    if unit in ("x", "cores"):
        return f"{v:.2f}"
    if unit in ("ms", "MiB"):
        return f"{v:,.1f}"
    return f"{v:g}"


def main():
    samples, out_csv = sys.argv[1], sys.argv[2]
    setup = open(sys.argv[3]).read().rstrip("\n") if len(sys.argv) > 3 else ""
    groups = {}
    order = []
    with open(samples) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            row, figure, unit, op, target, value = line.split("\t")
            k = (row, figure)
            if k not in groups:
                groups[k] = {"unit": unit, "op": op, "target": target, "values": []}
                order.append(k)
            try:
                groups[k]["values"].append(float(value))
            except ValueError:
                groups[k]["values"].append(float("nan"))

    table = []
    for k in order:
        g = groups[k]
        vals = [v for v in g["values"] if not math.isnan(v)]
        failed = len(g["values"]) - len(vals)
        med = statistics.median(vals) if vals else float("nan")
        lo = min(vals) if vals else float("nan")
        hi = max(vals) if vals else float("nan")
        unit, op = g["unit"], g["op"]
        if op == "-":
            target, ok = "-", "-"
        else:
            t = float(g["target"])
            target = f"{op} {fmt(t, unit)} {unit}".strip()
            if not vals or failed:
                ok = "NO"
            elif op == ">=":
                ok = "yes" if med >= t else "NO"
            elif op == "<=":
                ok = "yes" if med <= t else "NO"
            elif op == "<":
                ok = "yes" if med < t else "NO"
            else:
                ok = "?"
        table.append(
            {
                "row": k[0],
                "figure": f"{k[1]} ({unit})" if unit else k[1],
                "median": fmt(med, unit),
                "min": fmt(lo, unit),
                "max": fmt(hi, unit),
                "target": target,
                "ok": ok + (f" ({failed} failed)" if failed else ""),
                "runs": len(g["values"]),
                "_raw": (med, lo, hi),
            }
        )

    cols = ["row", "figure", "median", "min", "max", "target", "ok"]
    heads = {"row": "row", "figure": "figure", "median": "median", "min": "min", "max": "max",
             "target": "target", "ok": "ok?"}
    w = {c: max(len(heads[c]), *(len(str(r[c])) for r in table)) if table else len(heads[c]) for c in cols}
    right = {"median", "min", "max"}

    def line(r):
        return "| " + " | ".join(
            (str(r[c]).rjust(w[c]) if c in right else str(r[c]).ljust(w[c])) for c in cols) + " |"

    if setup:
        print(setup)
        print()
    print(line(heads))
    print("|" + "|".join(("-" * (w[c] + 1) + ":") if c in right else "-" * (w[c] + 2) for c in cols) + "|")
    for r in table:
        print(line(r))

    with open(out_csv, "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["row", "figure", "median", "min", "max", "target", "ok", "runs"])
        for r in table:
            med, lo, hi = r["_raw"]
            wr.writerow([r["row"], r["figure"], f"{med:.6g}", f"{lo:.6g}", f"{hi:.6g}", r["target"], r["ok"],
                         r["runs"]])
    nok = sum(1 for r in table if r["ok"].startswith("NO"))
    print()
    print(f"targets: {sum(1 for r in table if r['ok'] == 'yes')} met, {nok} not met; CSV: {out_csv}")


if __name__ == "__main__":
    main()
