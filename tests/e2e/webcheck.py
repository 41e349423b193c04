#!/usr/bin/env python3
"""webcheck.py - the checks of test_web.sh against a running opsledger-web.

Prints one line per check ("ok   - ..." / "FAIL - ..."); exits 1 when any
check failed. Stdlib only (urllib, csv, json, subprocess)."""
import argparse
import csv
import http.client
import io
import json
import os
import re
import subprocess
import sys
import urllib.parse

ap = argparse.ArgumentParser()
for a in ("url", "tokens", "bin", "data", "week", "amended-week", "t1", "tmp"):
    ap.add_argument("--" + a, required=True)
A = ap.parse_args()
U = urllib.parse.urlparse(A.url)
TOK = {r: open(os.path.join(A.tokens, "token." + r)).read().strip() for r in ("exec", "ops", "finance")}
FAILED = 0


def check(msg, cond):
    global FAILED
    print(("ok   - " if cond else "FAIL - ") + msg)
    if not cond:
        FAILED += 1
    return cond


def req(path, role=None, method="GET", body=None, headers=None, cookie=None):
    c = http.client.HTTPConnection(U.hostname, U.port, timeout=30)
    h = dict(headers or {})
    if role:
        h["Authorization"] = "Bearer " + TOK[role]
    if cookie:
        h["Cookie"] = cookie
    if body is not None:
        h["Content-Type"] = "application/x-www-form-urlencoded"
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    hdrs = {k.lower(): v for k, v in r.getheaders()}
    c.close()
    return r.status, hdrs, data


def api(path, role="exec"):
    st, h, d = req("/api/v1/" + path, role)
    if st != 200:
        print("  (%s -> %d %s)" % (path, st, d[:200]))
        return None
    return json.loads(d)


def run(*args):
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=120)
    if p.returncode not in (0, 3):
        print("  (%s exited %d: %s)" % (" ".join(args), p.returncode, p.stderr[:300]))
    return p.stdout


def jsonl(text):
    return [json.loads(l) for l in text.splitlines() if l.strip()]


W, WA = A.week, A.amended_week
OL = os.path.join(A.bin, "opsledger")

# ---- 2. the API's figures equal the owning services' queries
util_q = jsonl(run(OL, "query", "utilisation", "--week", W, "--format", "json", "--data-dir", A.data))
util_a = api("utilisation?week=" + W)["items"]
fields = ("capacity_minutes", "leave_minutes", "available_minutes", "billable_minutes", "logged_minutes",
          "utilisation_bp", "target_bp", "below_target", "people")
qa = {(r["scope"].upper(), r["id"]): tuple(r[f] for f in fields) for r in util_q}
aa = {(r["scope"], r["scope_id"]): tuple(r[f] for f in fields) for r in util_a}
check("utilisation %s: %d rows (ORG, TEAM, PERSON) equal `query utilisation --format json`" % (W, len(qa)),
      len(qa) > 40 and qa == aa)
for scope in ("org", "team", "person"):
    rows = api("utilisation?week=%s&scope=%s" % (W, scope))["items"]
    check("utilisation scope=%s: only %s rows, as many as the query's" % (scope, scope.upper()),
          rows and all(r["scope"] == scope.upper() for r in rows)
          and len(rows) == sum(1 for k in qa if k[0] == scope.upper()))
rng = api("utilisation?from=2026-W44&to=%s&scope=org" % W)["items"]
check("a week range returns one ORG row per week (2026-W44..%s)" % W,
      [r["week"] for r in rng] == ["2026-W44", "2026-W45", "2026-W46", W])

miss_q = jsonl(run(os.path.join(A.bin, "opsledger-utilisation"), "events", "--topic", "ops.timesheet.missing",
                   "--key-suffix", "|" + W, "--data-dir", A.data))
miss_a = api("missing?week=" + W)["items"]
check("missing timesheets %s equal utilisation's published events (%d keys)" % (W, len(miss_q)),
      {r["key"]: r["missing_minutes"] for r in miss_q} == {r["key"]: r["missing_minutes"] for r in miss_a})


def billing_map(rows, api_rows):
    if api_rows:
        return {(r["kind"], r["engagement_id"], r["person_id"] or r["expense_id"]):
                (r["approved_minutes"], r["pending_minutes"], r["amount_minor"], r["day_rate_minor"]) for r in rows}
    return {(r["kind"].upper(), r["engagement_id"], r["id"]):
            (r["approved_minutes"], r["pending_minutes"], r["amount_minor"], r["day_rate_minor"]) for r in rows}


BQ = {}
for wk in (W, WA):
    bq = BQ[wk] = billing_map(jsonl(run(OL, "query", "billing", "--week", wk, "--format", "json", "--data-dir", A.data)), 0)
    ba = billing_map(api("billing?week=" + wk)["items"], 1)
    check("billing %s: %d lines equal `query billing --format json`" % (wk, len(bq)), len(bq) > 0 and bq == ba)

# as_of T1 equals a replay of billing as of T1
rep = os.path.join(A.tmp, "billing-asof")
run(OL, "replay", "billing", "--as-of", A.t1, "--out", rep, "--data-dir", A.data)
bq1 = billing_map(jsonl(run(OL, "query", "billing", "--week", WA, "--format", "json", "--db", rep)), 0)
ba1 = billing_map(api("billing?week=%s&as_of=%s" % (WA, A.t1))["items"], 1)
now = billing_map(api("billing?week=" + WA)["items"], 1)
check("billing %s as_of T1 equals `opsledger replay billing --as-of T1` (%d lines)" % (WA, len(bq1)),
      len(bq1) > 0 and bq1 == ba1)
changed = [k for k in now if now[k] != ba1.get(k)]
check("the amendment after T1 changed exactly one line (%s)" % changed, len(changed) == 1)
if changed:
    kind, eng, person = changed[0]
    key = "%s|%s|%s" % (eng, person, WA)
    h = api("history?topic=finance.billing.line&key=" + urllib.parse.quote(key))
    revs = h["items"] if h else []
    check("history lists every revision of the amended line, the last with a negative amount change",
          len(revs) >= 2 and revs[-1]["changes"].get("amount_minor", 0) < 0
          and revs[-1]["record"]["amount_minor"] == now[changed[0]][2])
    h1 = api("history?topic=finance.billing.line&key=%s&as_of=%s" % (urllib.parse.quote(key), A.t1))
    check("history as_of T1 stops before the amendment", h1 and len(h1["items"]) == len(revs) - 1)
    x = api("billing/explain?key=" + urllib.parse.quote(key))
    approved = sum(e["minutes"] for e in x["entries"] if e["status"] == "APPROVED") if x else -1
    check("explain lists the entries behind the line (approved minutes sum to the line's)",
          x and approved == x["line"]["approved_minutes"] and any(e["event_id"] == "web-amend-1" for e in x["entries"]))
    x1 = api("billing/explain?key=%s&as_of=%s" % (urllib.parse.quote(key), A.t1))
    check("explain as_of T1 shows the entry before the amendment",
          x1 and not any(e["event_id"] == "web-amend-1" for e in x1["entries"]))

# ---- 3. CSV and errors
st, h, d = req("/api/v1/billing.csv?week=" + W, "exec")
rows = list(csv.reader(io.StringIO(d.decode())))
check("billing.csv: 200 text/csv, one row per line, every row the header's width",
      st == 200 and h.get("content-type", "").startswith("text/csv") and len(rows) - 1 == len(BQ[W])
      and all(len(r) == len(rows[0]) for r in rows))
check("CSV cells never start a formula", all(not c or c[0] not in "=+-@\t\r" or re.fullmatch(r"-?\d+", c)
                                              for r in rows for c in r))
st, h, d = req("/api/v1/utilisation?week=%s&scope=org" % W, "exec", headers={"Accept": "text/csv"})
check("Accept: text/csv answers CSV", st == 200 and d.decode().startswith('"event_id"'))
for path, code, param in (("utilisation?week=2026-W60", 400, "week"), ("utilisation?week=junk", 400, "week"),
                          ("utilisation?week=2031-W02", 404, "week"), ("utilisation", 400, "week"),
                          ("utilisation?week=%s&as_of=yesterday" % W, 400, "as_of"),
                          ("cover?from=2026-13-01", 400, "from"), ("billing/explain", 400, "key"),
                          ("history?topic=nope&key=x", 400, "topic"), ("nope", 404, None)):
    st, h, d = req("/api/v1/" + path, "exec")
    try:
        body = json.loads(d)
    except ValueError:
        body = {}
    check("%s -> %d JSON naming %s (got %d %s)" % (path, code, param, st, body.get("error")),
          st == code and h.get("content-type") == "application/json" and body.get("parameter") == param)

# ---- 4. the role matrix (README "Access"): every endpoint x role
E = {"utilisation?week=" + W: "eof", "missing?week=" + W: "eof", "billing?week=" + W: "ef",
     "billing/explain?key=x": "ef", "contractors": "ef", "expenses": "ef", "forecast/weekly?week=" + W: "eof",
     "forecast/engagements": "eof", "forecast/demand?week=" + W: "eof", "delivery?week=" + W: "eof",
     "cover?from=2026-11-16&to=2026-11-29": "eof", "people": "eof", "engagements": "eof", "risks": "eof",
     "leave": "eo", "periods": "eof", "weeks": "eof", "headcount?week=" + W: "eof", "margin?week=" + W: "ef",
     "history?topic=finance.billing.line&key=x": "ef", "history?topic=hr.leave&key=x": "eo",
     "history?topic=ops.utilisation.weekly&key=ORG|org|" + W: "eof"}
bad = []
for path, allowed in E.items():
    st, h, _ = req("/api/v1/" + path)
    if st != 401 or "bearer" not in h.get("www-authenticate", "").lower():
        bad.append((path, "none", st))
    st, _, _ = req("/api/v1/" + path, headers={"Authorization": "Bearer olw_not-a-token"})
    if st != 401:
        bad.append((path, "bad token", st))
    for role in ("exec", "ops", "finance"):
        st, h, d = req("/api/v1/" + path, role)
        want_ok = role[0] in allowed
        ok = (st in (200, 404) if want_ok else st == 403)
        if not ok:
            bad.append((path, role, st))
        if st == 200 and role == "ops" and re.search(rb'"[a-z_]*_minor"|"rate_card"', d):
            bad.append((path, "ops sees money", st))
        if st == 200 and role == "finance" and re.search(rb'"kind":"(SICK|ANNUAL|PARENTAL|OTHER|UNPAID)', d):
            bad.append((path, "finance sees a leave kind", st))
        for hd, want in (("content-security-policy", "frame-ancestors 'none'"), ("x-content-type-options", "nosniff")):
            if want not in h.get(hd, ""):
                bad.append((path, role, "header " + hd))
check("role matrix: %d endpoints x {none, bad token, exec, ops, finance}: %s" % (len(E), bad or "as the table"),
      not bad)
d = api("delivery?week=" + W, "ops")
check("ops reads delivery status without budgets or spend",
      d and d["items"] and all("budget_minor" not in r and "spent_to_date_minor" not in r for r in d["items"]))
d = api("leave", "exec")
check("exec reads leave kinds", d and any("kind" in r for r in d["items"]))

# ---- 5. sign-in, pages, sign-out
st, h, _ = req("/")
check("a page without a session redirects to /login", st == 303 and h.get("location") == "/login")
st, h, _ = req("/login", method="POST", body="token=olw_wrong")
check("a wrong token at sign-in is 401 and sets no cookie", st == 401 and "set-cookie" not in h)
PAGES = ["/", "/utilisation", "/utilisation?team=%s", "/person?id=p-0003", "/engagement?id=e-01", "/billing",
         "/billing/line?key=%s", "/contractors", "/forecast", "/demand", "/delivery", "/cover"]
team = next(r["scope_id"] for r in util_a if r["scope"] == "TEAM")
line_key = api("billing?week=" + W)["items"][0]["key"]
for role in ("exec", "ops", "finance"):
    st, h, _ = req("/login", method="POST", body="token=" + urllib.parse.quote(TOK[role]))
    ck = h.get("set-cookie", "")
    check("%s signs in: 303 and an HttpOnly SameSite=Strict session cookie" % role,
          st == 303 and "HttpOnly" in ck and "SameSite=Strict" in ck and "Secure" not in ck)
    cookie = ck.split(";")[0]
    problems = []
    for p in PAGES:
        path = p % urllib.parse.quote(team) if "team=" in p else p % urllib.parse.quote(line_key) if "key=" in p else p
        st, h, d = req(path, cookie=cookie)
        html = d.decode("utf-8", "replace")
        money_page = p.startswith("/billing") or p == "/contractors"
        if role == "ops" and money_page:
            if st != 403:
                problems.append((path, st))
            continue
        if st != 200 or "text/html" not in h.get("content-type", ""):
            problems.append((path, st))
            continue
        os.makedirs(os.path.join(A.tmp, "pages"), exist_ok=True)
        with open(os.path.join(A.tmp, "pages", role + path.replace("/", "_").replace("?", "_") + ".html"), "w") as f:
            f.write(html)
        if re.search(r"<(script|link|img|iframe|object|embed)\b|<[^>]*\b(src|href|action)=\"?(https?:|//)|@import",
                     html, re.I):
            problems.append((path, "script, image or external reference"))
        if "Data as of" not in html and "No data" not in html:
            problems.append((path, "no data-as-of banner"))
        if 'name="as_of"' not in html:
            problems.append((path, "no as-of control"))
        if role == "ops" and re.search(r"\b[A-Z]{3} -?[\d,]+\.\d\d\b", html):
            problems.append((path, "ops sees an amount"))
        if role == "finance" and re.search(r"\b(SICK|SICKNESS)\b", html):
            problems.append((path, "finance sees a leave kind"))
        if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", html):
            problems.append((path, "raw control character"))
    check("%s opens every page it may (%d): %s" % (role, len(PAGES), problems or "all fine"), not problems)
    st, h, _ = req("/logout", method="POST", cookie=cookie)
    st2, _, _ = req("/", cookie=cookie)
    check("%s signs out: the cookie is cleared and no longer opens a page" % role,
          st == 303 and "Max-Age=0" in h.get("set-cookie", "") and st2 == 303)

# ---- 6. hostile names render as text
st, h, _ = req("/login", method="POST", body="token=" + urllib.parse.quote(TOK["exec"]))
cookie = h.get("set-cookie", "").split(";")[0]
st, h, d = req("/person?id=p-0003", cookie=cookie)
html = d.decode()
check("the hostile name is shown escaped on the person page",
      "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;img src=x onerror=alert(2)&gt;" in html
      and "<script" not in html and "<img" not in html and "\x07" not in html and "\x1b" not in html)
st, h, d = req("/utilisation?team=" + urllib.parse.quote(team), cookie=cookie)
check("the heat map shows names, not ids, and no injected element",
      st == 200 and "<script" not in d.decode() and "<img" not in d.decode())
p = api("people?person=p-0003")
check("the API returns the hostile name exactly (JSON escaping)", p and p["items"][0]["name"].startswith("<script>"))
st, h, d = req("/api/v1/people.csv?person=p-0003", "exec")
check("the CSV cell of the hostile name holds no raw control character",
      st == 200 and not re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", d.replace(b"\r\n", b"")))

# ---- the weekly page: the same code as `opsledger report weekly --format html`
cli = run(OL, "report", "weekly", "--week", W, "--format", "html", "--data-dir", A.data)
st, h, d = req("/weekly?week=" + W, cookie=cookie)
page = d.decode()
stripped = re.sub(r"<style>body\{font:14px.*?</style>", "", page, count=1, flags=re.S)
stripped = re.sub(r"<header>.*?</header><div class=\"banner\">.*?</div>", "", stripped, count=1, flags=re.S)
check("the weekly page (exec) is `report weekly --format html` byte for byte, plus the site's header",
      st == 200 and len(cli) > 1000 and stripped == cli)
csp = h.get("content-security-policy", "")
check("the weekly page's CSP allows exactly two style hashes", st == 200 and len(re.findall(r"'sha256-", csp)) == 2)
st, h, _ = req("/login", method="POST", body="token=" + urllib.parse.quote(TOK["ops"]))
st, h, d = req("/weekly?week=" + W, cookie=h.get("set-cookie", "").split(";")[0])
check("the weekly page for ops withholds billing and budgets, naming why",
      st == 200 and "not shown to the ops role" in d.decode() and not re.search(r"\b[A-Z]{3} -?[\d,]+\.\d\d\b", d.decode()))
st, h, d = req("/weekly?week=" + W + "&as_of=" + A.t1, cookie=cookie)
check("the weekly page as of T1 renders (the figures as published then)", st == 200 and "Weekly" in d.decode())

sys.exit(1 if FAILED else 0)
