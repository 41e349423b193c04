#!/usr/bin/env python3
"""tests/e2e/esccheck.py — the checks of test_escape.sh (issue 14 item 8,
SPEC section 4: every string that reaches a report is escaped for its format).

  esccheck.py poison IN_DIR OUT_DIR MAP.json
      copies every IN_DIR/<topic>.jsonl to OUT_DIR with every free-text field
      (ids, names, team, role, client, bill_to, supplier, description,
      summary, owner, service_id; rate_card roles too) prefixed with a hostile
      string; the same original value always gets the same new value, so the
      references between records still hold. MAP.json: original -> hostile.
  esccheck.py text FILE MAP.json LABEL      terminal text (also CSV, JSON)
  esccheck.py csv FILE MAP.json LABEL NUMCOLS FREECOLS
  esccheck.py md FILE MAP.json LABEL
  esccheck.py html FILE MAP.json LABEL
  esccheck.py json FILE MAP.json LABEL [lines|array]

Each check prints "PASS ..." or "FAIL ..." lines (counted by the script).
Every check also asserts that hostile data did reach the output, so that
an output without any data never passes vacuously."""
import csv
import html.parser
import io
import json
import os
import re
import sys

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "\n## Injected heading\n",
    "[x](javascript:alert(1))",
    "Quote \" and, commas, ",
    "=1+1 ",
    "=HYPERLINK(\"http://x\") ",
    "\x1b[31mRED\x1b[0m ",
    "CR\roverwrite ",
    "BEL\x07 ",
    "+1-2 ",
    "@SUM(A1) ",
    "\u009b31m ",
    "\u202eevil ",
    "DEL\x7f ",
]
BILL_TO = "=HYPERLINK(\"http://x\"),Acme, \"Ltd\"\r\n<b>x</b> "
FIELDS = {"allocation_id", "engagement_id", "person_id", "role", "client", "name", "bill_to", "risk_id", "summary",
          "owner", "invoice_id", "expense_id", "supplier", "description", "leave_id", "team", "shift_id", "service_id",
          "entry_id"}
# fields of FIELDS' names that are enums in a topic's schema
ENUMS = {"ops.rota": ("role",)}
# every value the data cannot otherwise hold: proof the data reached the output
MARKERS = ["alert(1)", "Injected heading", "javascript", "HYPERLINK", "RED", "overwrite", "BEL", "SUM(A1)", "evil"]

failed = 0


def result(ok, msg):
    global failed
    print(("PASS " if ok else "FAIL ") + msg)
    if not ok:
        failed += 1


def poison(src, dst, mapfile):
    mapping = {}

    def new(field, v):
        if v not in mapping:
            if field == "bill_to":
                mapping[v] = BILL_TO + v
            else:
                mapping[v] = PAYLOADS[len(mapping) % len(PAYLOADS)] + v
        return mapping[v]

    def walk(x, enums):
        if isinstance(x, dict):
            for k, v in x.items():
                if k in FIELDS and k not in enums and isinstance(v, str):
                    x[k] = new(k, v)
                else:
                    walk(v, enums)
        elif isinstance(x, list):
            for v in x:
                walk(v, enums)

    os.makedirs(dst, exist_ok=True)
    for name in sorted(os.listdir(src)):
        if not name.endswith(".jsonl"):
            continue
        with open(os.path.join(src, name)) as f, open(os.path.join(dst, name), "w") as g:
            for line in f:
                if line.strip():
                    rec = json.loads(line)
                    walk(rec, ENUMS.get(name[:-6], ()))
                    g.write(json.dumps(rec) + "\n")
    with open(mapfile, "w") as f:
        json.dump(mapping, f)
    print(len(mapping))


def visible(s):
    """the terminal form ol_escape gives a string (controls shown as \\xHH)"""
    out = []
    for ch in s:
        c = ord(ch)
        if c < 0x20 or c == 0x7F:
            out.append("\\x%02x" % c)
        elif 0x80 <= c <= 0x9F or c in (0x61C, 0x200E, 0x200F, 0x2028, 0x2029) or 0x202A <= c <= 0x202E \
                or 0x2066 <= c <= 0x2069:
            out.append("\\u%04x" % c)
        else:
            out.append(ch)
    return "".join(out)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def check_terminal(data, label):
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        result(False, "%s: valid UTF-8 (%s)" % (label, e))
        return None
    bad = sorted({"U+%04X" % ord(c) for c in text
                  if (ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F or ord(c) in (0x2028, 0x2029)
                  or 0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069})
    result(not bad, "%s: no raw control character%s" % (label, " (found %s)" % ", ".join(bad) if bad else ""))
    return text


def check_reached(text, label):
    hits = [m for m in MARKERS if m in text]
    result(len(hits) >= 2, "%s: the hostile data reached the output (%s)" % (label, ", ".join(hits) or "none"))


def cmd_text(path, label):
    text = check_terminal(read(path), label)
    if text is not None:
        check_reached(text, label)


FORMULA = ("=", "+", "-", "@", "\t", "\r")


def cmd_csv(path, mapping, label, numcols, freecols):
    text = check_terminal(read(path), label)
    if text is None:
        return
    check_reached(text, label)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        result(False, "%s: has a header" % label)
        return
    header = rows[0]
    numcols = [c for c in numcols.split(",") if c]
    freecols = [c for c in freecols.split(",") if c]
    missing = [c for c in numcols + freecols if c not in header]
    result(not missing, "%s: header names the columns checked %s" % (label, missing or ""))
    if missing:
        return
    widths = sorted({len(r) for r in rows[1:]})
    result(len(rows) > 1 and widths == [len(header)],
           "%s: %d rows, every one with the header's %d columns (widths %s)" % (label, len(rows) - 1, len(header),
                                                                                 widths))
    # what each free-text cell may hold: a hostile value as ol_escape writes it
    expected = set()
    for v in mapping.values():
        e = visible(v)
        expected.add(("'" + e) if v[:1] in FORMULA else e)
    live, notnum, wrong = [], [], []
    for r in rows[1:]:
        if len(r) != len(header):
            continue
        cell = dict(zip(header, r))
        for c in numcols:
            if cell[c] != "" and not re.fullmatch(r"-?[0-9]+", cell[c]):
                notnum.append((c, cell[c]))
        for c in header:
            if c not in numcols and cell[c][:1] in FORMULA:
                live.append((c, cell[c]))
        for c in freecols:
            if cell[c] not in expected and not re.fullmatch(r"[A-Za-z0-9_]*", cell[c]):
                wrong.append((c, cell[c]))
    result(not notnum, "%s: numeric columns %s hold integers%s" % (label, ",".join(numcols), notnum[:3] or ""))
    result(not live, "%s: no text cell starts with = + - @ TAB CR%s" % (label, live[:3] or ""))
    result(not wrong, "%s: free-text columns %s hold the values written (escaped)%s" % (label, ",".join(freecols),
                                                                                          wrong[:3] or ""))


def cmd_md(path, label):
    text = check_terminal(read(path), label)
    if text is None:
        return
    check_reached(text, label)
    tags = re.findall(r"<[A-Za-z/!?][^>\n]*>?", text)
    result(not tags, "%s: no raw HTML tag%s" % (label, " (%s)" % tags[:3] if tags else ""))
    heads = [ln for ln in text.split("\n") if ln.lstrip().startswith("#")
             and not re.fullmatch(r"(# Weekly delivery and operations report, [0-9]{4}-W[0-9]{2}|## [1-8]\. .*)", ln)]
    result(not heads, "%s: no heading but the report's own%s" % (label, " (%r)" % heads[:3] if heads else ""))
    links = re.findall(r"(?<!\\)\]\s*\(|<[a-z]+:", text)
    result(not links, "%s: no link or autolink%s" % (label, " (%r)" % links[:3] if links else ""))
    # the table rows keep their column count: every unescaped | counted
    bad = []
    for block in re.split(r"\n(?!\|)", text):
        lines = [ln for ln in block.split("\n") if ln.startswith("|")]
        counts = {len(re.findall(r"(?<!\\)\|", ln)) for ln in lines}
        if len(counts) > 1:
            bad.append(lines[0])
    result(not bad, "%s: every table row has its table's column count%s" % (label, " (%r)" % bad[:2] if bad else ""))


ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "b", "table", "tr", "th", "td", "ul",
                "li", "svg", "rect", "line", "text"}


class Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.bad = []

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED_TAGS:
            self.bad.append(tag)
        for k, _ in attrs:
            if k.startswith("on") or k in ("src", "href"):
                self.bad.append("%s[%s]" % (tag, k))


def cmd_html(path, label):
    text = check_terminal(read(path), label)
    if text is None:
        return
    check_reached(text, label)
    p = Tags()
    p.feed(text)
    result(not p.bad, "%s: only the report's own tags, no event handler or src%s" % (label, p.bad[:5] or ""))


def cmd_json(path, mapping, label, shape):
    data = read(path)
    ascii_ok = all(0x20 <= b < 0x7F or b == 0x0A for b in data)
    result(ascii_ok, "%s: printable ASCII only (every other character as a \\u escape)" % label)
    try:
        docs = [json.loads(ln) for ln in data.decode().split("\n") if ln.strip()] if shape == "lines" \
            else [json.loads(data)]
    except ValueError as e:
        result(False, "%s: parses as JSON (%s)" % (label, e))
        return
    values = set()

    def walk(x):
        if isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
        elif isinstance(x, str):
            values.add(x)

    walk(docs)
    exact = values & set(mapping.values())
    hostile = [v for v in exact if any(c in v for c in "\x1b\r\x07\n\x7f\u009b\u202e<")]
    result(len(hostile) >= 1, "%s: the hostile values decode exactly (%d of them)" % (label, len(hostile)))


def main(argv):
    if argv[1] == "poison":
        poison(argv[2], argv[3], argv[4])
        return 0
    kind, path, mapfile, label = argv[1:5]
    with open(mapfile) as f:
        mapping = json.load(f)
    if kind == "text":
        cmd_text(path, label)
    elif kind == "csv":
        cmd_csv(path, mapping, label, argv[5], argv[6])
    elif kind == "md":
        cmd_md(path, label)
    elif kind == "html":
        cmd_html(path, label)
    elif kind == "json":
        cmd_json(path, mapping, label, argv[5] if len(argv) > 5 else "lines")
    else:
        print("unknown check " + kind, file=sys.stderr)
        return 2
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
