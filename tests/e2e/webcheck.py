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
if not check("utilisation %s: %d rows (ORG, TEAM, PERSON) equal `query utilisation --format json`" % (W, len(qa)),
             len(qa) > 40 and qa == aa):
    # which rows differ (fields in the order of `fields`), for whoever reads the log
    for k in sorted(set(qa) | set(aa))[:400]:
        if qa.get(k) != aa.get(k):
            print("    %s|%s query=%s api=%s" % (k[0], k[1], qa.get(k), aa.get(k)))
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

# records that moved to another group (test_web.sh, before T1): shown only in
# their current group, and history lists every revision whatever its group
MV = json.load(open(os.path.join(A.tmp, "moves.json")))
lo = api("leave?person=" + MV["leave_old"])
ln = api("leave?person=" + MV["leave_new"])
check("a leave moved to another person is listed under the new person only, at its new revision",
      lo is not None and ln is not None and not any(r["leave_id"] == MV["leave_id"] for r in lo["items"])
      and [r["revision"] for r in ln["items"] if r["leave_id"] == MV["leave_id"]] == [MV["leave_rev"]])
lo0 = api("leave?person=%s&as_of=%s" % (MV["leave_old"], MV["t0"]))
check("as of before the move, the leave is under its old person",
      lo0 is not None and any(r["leave_id"] == MV["leave_id"] for r in lo0["items"]))
h = api("history?topic=hr.leave&key=" + urllib.parse.quote(MV["leave_id"]))
check("history of the moved leave lists every revision (both persons)",
      h is not None and len(h["items"]) >= 2 and h["items"][-1]["revision"] == MV["leave_rev"]
      and {r["record"]["person_id"] for r in h["items"]} >= {MV["leave_old"], MV["leave_new"]})
h0 = api("history?topic=hr.leave&key=%s&as_of=%s" % (urllib.parse.quote(MV["leave_id"]), MV["t0"]))
check("history of the moved leave as of before the move answers its old revisions",
      h0 is not None and len(h0["items"]) >= 1 and h0["items"][-1]["record"]["person_id"] == MV["leave_old"])
for which in ("entry_old", "entry_new"):
    x = api("billing/explain?key=" + urllib.parse.quote(MV[which]))
    ids = [(e["entry_id"], e["revision"]) for e in x["entries"]] if x else []
    mine = [rv for i, rv in ids if i == MV["entry_id"]]
    approved = sum(e["minutes"] for e in x["entries"] if e["status"] == "APPROVED") if x else -1
    check("explain %s (%s): the moved entry %s, approved minutes sum to the line's (%d vs %s)"
          % (MV[which], which, "absent" if which == "entry_old" else "once at its new revision", approved,
             x and x["line"]["approved_minutes"]),
          x is not None and approved == x["line"]["approved_minutes"]
          and mine == ([] if which == "entry_old" else [MV["entry_rev"]]))
x0 = api("billing/explain?key=%s&as_of=%s" % (urllib.parse.quote(MV["entry_old"]), MV["t0"]))
check("explain of the old line as of before the move lists the entry",
      x0 is not None and any(e["entry_id"] == MV["entry_id"] for e in x0["entries"]))

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

# allocations (delivery.allocation): one person's answer equals the input
# records' latest revisions for that person (by revision, then event_id)
ALLOC_F = ("allocation_id", "revision", "engagement_id", "person_id", "role", "percent", "first_day", "last_day",
           "status")
alloc_in = {}
for line in open(os.path.join(A.tmp, "gen", "delivery.allocation.jsonl")):
    v = json.loads(line)
    o = alloc_in.get(v["allocation_id"])
    if o is None or (v["revision"], v["event_id"]) > (o["revision"], o["event_id"]):
        alloc_in[v["allocation_id"]] = v
alloc_people = sorted({v["person_id"] for v in alloc_in.values() if v.get("person_id")})
AP = alloc_people[0] if alloc_people else "p-none"
alloc_want = sorted(tuple(v.get(f) for f in ALLOC_F) for v in alloc_in.values() if v.get("person_id") == AP)
al = api("allocations?person=" + urllib.parse.quote(AP))
got = sorted(tuple(r.get(f) for f in ALLOC_F) for r in al["items"]) if al else None
check("allocations of %s equal the input's latest revisions for that person (%d)" % (AP, len(alloc_want)),
      alloc_want and got == alloc_want)
ae = api("allocations?engagement=" + urllib.parse.quote(alloc_want[0][2])) if alloc_want else None
want_e = sorted(v["allocation_id"] for v in alloc_in.values() if alloc_want and v["engagement_id"] == alloc_want[0][2])
check("allocations of an engagement equal the input's latest revisions for it",
      ae is not None and sorted(r["allocation_id"] for r in ae["items"]) == want_e)

# ---- 4. the role matrix (README "Access"): every endpoint x role
E = {"utilisation?week=" + W: "eof", "missing?week=" + W: "eof", "billing?week=" + W: "ef",
     "billing/explain?key=x": "ef", "contractors": "ef", "expenses": "ef", "forecast/weekly?week=" + W: "eof",
     "forecast/engagements": "eof", "forecast/demand?week=" + W: "eof", "forecast/leave?week=" + W: "eof", "delivery?week=" + W: "eof",
     "cover?from=2026-11-16&to=2026-11-29": "eof", "people": "eof", "engagements": "eof", "risks": "eof",
     "leave": "eo", "periods": "eof", "weeks": "eof", "headcount?week=" + W: "eof", "margin?week=" + W: "ef",
     "history?topic=finance.billing.line&key=x": "ef", "history?topic=hr.leave&key=x": "eo",
     "history?topic=ops.utilisation.weekly&key=ORG|org|" + W: "eof", "allocations": "eof",
     "allocations?person=p-0001": "eof", "history?topic=delivery.allocation&key=x": "eof"}
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

# ---- 5b. a session follows its token: revoked, replaced or downgraded tokens
# take effect on open browser sessions at once
TOKFILE = os.path.join(A.data, "web-tokens")


def token_add(name, role):
    return run(OL, "web", "token", "add", name, "--role", role, "--data-dir", A.data).strip()


def edit_tokens(fn):  # rewrites the token file as an administrator would (0600, temporary and rename)
    lines = open(TOKFILE).read().splitlines(True)
    with open(TOKFILE + ".t", "w") as f:
        f.writelines(fn(lines))
    os.chmod(TOKFILE + ".t", 0o600)
    os.replace(TOKFILE + ".t", TOKFILE)


def sign_in(token, headers=None):
    st, h, _ = req("/login", method="POST", body="token=" + urllib.parse.quote(token), headers=headers)
    return st, h.get("set-cookie", "").split(";")[0]


tk = token_add("t-down", "exec")
st, ck = sign_in(tk)
st1, _, _ = req("/billing", cookie=ck)
edit_tokens(lambda ls: [l.replace("t-down\texec\t", "t-down\tops\t") for l in ls])
st2, _, _ = req("/billing", cookie=ck)
st3, _, _ = req("/", cookie=ck)
check("a downgraded token's session takes the new role at once (/billing %d then %d, / %d)" % (st1, st2, st3),
      st == 303 and st1 == 200 and st2 == 403 and st3 == 200)
edit_tokens(lambda ls: [l for l in ls if not l.startswith("t-down\t")])
st4, h4, _ = req("/", cookie=ck)
check("a revoked token's session ends at once (/ -> %d %s)" % (st4, h4.get("location")),
      st4 == 303 and h4.get("location") == "/login")
tk = token_add("t-replaced", "finance")
st, ck = sign_in(tk)
st1, _, _ = req("/", cookie=ck)
token_add("t-replaced", "finance")  # the same name again: a new token, the old one revoked
st2, _, _ = req("/", cookie=ck)
check("a replaced token's session ends at once (%d then %d)" % (st1, st2), st1 == 200 and st2 == 303)

# ---- 5c. one token cannot fill the session table and sign everybody else out
st, victim = sign_in(TOK["finance"])
flood = token_add("t-flood", "ops")
codes = {}
for _ in range(1030):
    c, _ = sign_in(flood)
    codes[c] = codes.get(c, 0) + 1
stv, _, _ = req("/", cookie=victim)
check("1030 sign-ins with one token: at most 16 sessions, the rest 429 (%s); another user's session lives (%d)"
      % (codes, stv), 0 < codes.get(303, 0) <= 16 and codes.get(429, 0) == 1030 - codes.get(303, 0) and stv == 200)

# ---- 5d. sign-in and sign-out refuse cross-site POSTs
host = "%s:%d" % (U.hostname, U.port)
bad = []
for hdrs in ({"Origin": "http://evil.example"}, {"Origin": "null"}, {"Origin": "https://" + host},
             {"Sec-Fetch-Site": "cross-site"}, {"Origin": "http://" + host, "Sec-Fetch-Site": "cross-site"}):
    st, h, _ = req("/login", method="POST", body="token=" + urllib.parse.quote(TOK["exec"]), headers=hdrs)
    if st != 403 or "set-cookie" in h:
        bad.append(("/login", hdrs, st))
    st, h, _ = req("/logout", method="POST", cookie=victim, headers=hdrs)
    if st != 403:
        bad.append(("/logout", hdrs, st))
stv, _, _ = req("/", cookie=victim)
st, h, _ = req("/login", method="POST", body="token=" + urllib.parse.quote(TOK["exec"]),
               headers={"Origin": "http://" + host, "Sec-Fetch-Site": "same-origin"})
# a browser's form under Referrer-Policy: no-referrer sends Origin: null
st2, h, _ = req("/login", method="POST", body="token=" + urllib.parse.quote(TOK["exec"]),
                headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"})
check("cross-site sign-in and sign-out are 403 (%s); the session survived (%d); a same-origin sign-in works "
      "(%d; Origin null with Sec-Fetch-Site same-origin: %d)" % (bad or "all", stv, st, st2),
      not bad and stv == 200 and st == 303 and st2 == 303)

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

# the person page lists its allocations by engagement name (escaped)
if alloc_want:
    en = api("engagements?engagement=" + urllib.parse.quote(alloc_want[0][2]))
    ename = en["items"][0]["name"] if en and en["items"] else None
    st, h, d = req("/person?id=" + urllib.parse.quote(AP), cookie=cookie)
    html = d.decode()
    import html as htmlmod
    check("the person page of %s shows its allocation's engagement name (%s) in the allocations table" % (AP, ename),
          st == 200 and ename and "<h2>Allocations</h2>" in html
          and htmlmod.escape(ename, quote=True).replace("&#x27;", "&#39;") in html.split("<h2>Allocations</h2>")[1])
else:
    check("the generated data has an allocated person", False)

# roll-offs: allocations (not cancelled) whose last day falls in the data
# week or the three after it are marked "rolls off" on the person page
import datetime
wy, wn = int(W[:4]), int(W[6:])
ro_lo = datetime.date.fromisocalendar(wy, wn, 1).isoformat()
ro_hi = (datetime.date.fromisocalendar(wy, wn, 1) + datetime.timedelta(days=27)).isoformat()
ro = [v for v in alloc_in.values() if v.get("person_id") and v["status"] != "CANCELLED"
      and ro_lo <= v["last_day"] <= ro_hi]
if ro:
    rp = ro[0]["person_id"]
    n_ro = sum(1 for v in alloc_in.values() if v.get("person_id") == rp and v["status"] != "CANCELLED"
               and ro_lo <= v["last_day"] <= ro_hi)
    st, h, d = req("/person?id=" + urllib.parse.quote(rp), cookie=cookie)
    sec = d.decode().split("<h2>Allocations</h2>")[-1]
    check("the person page of %s marks its %d roll-off(s) (last day %s..%s), and only those" % (rp, n_ro, ro_lo, ro_hi),
          st == 200 and sec.count("<tr class=\"hl\">") == n_ro and sec.count("rolls off") == n_ro)
else:
    print("  (no allocation ends within four weeks of %s in this data: roll-off marking not exercised)" % W)

# ---- the weekly page: the same code as `opsledger report weekly --format html`
cli = run(OL, "report", "weekly", "--week", W, "--format", "html", "--data-dir", A.data)
st, h, d = req("/weekly?week=" + W, cookie=cookie)
page = d.decode()
stripped = re.sub(r"<style>body\{font:14px.*?</style>", "", page, count=1, flags=re.S)
stripped = re.sub(r"<header>.*?</header><div class=\"banner\">.*?</div>", "", stripped, count=1, flags=re.S)
check("the weekly page (exec) is `report weekly --format html` byte for byte, plus the site's header",
      st == 200 and len(cli) > 1000 and stripped == cli)
# the data holds a contractor invoice the report lists only by the day it was
# received (test_web.sh): the page listed none, the web not folding the invoices
check("the weekly report lists the contractor invoice received in %s for an older period (CLI %s, page %s)"
      % (W, "inv-web-chase-1" in cli, "inv-web-chase-1" in page),
      "inv-web-chase-1" in cli and "inv-web-chase-1" in page)
if stripped != cli:  # what differs, for whoever reads the log
    import difflib
    sys.stdout.writelines(list(difflib.unified_diff(cli.splitlines(True), stripped.splitlines(True), "cli", "web"))[:40])
csp = h.get("content-security-policy", "")
check("the weekly page's CSP allows exactly two style hashes", st == 200 and len(re.findall(r"'sha256-", csp)) == 2)
st, h, _ = req("/login", method="POST", body="token=" + urllib.parse.quote(TOK["ops"]))
st, h, d = req("/weekly?week=" + W, cookie=h.get("set-cookie", "").split(";")[0])
check("the weekly page for ops withholds billing and budgets, naming why",
      st == 200 and "not shown to the ops role" in d.decode() and not re.search(r"\b[A-Z]{3} -?[\d,]+\.\d\d\b", d.decode()))
# what ops may not read is said to be withheld, never shown as zeros; the
# forecast reaches ops without its money, so roll-offs are the exec page's
ops_page = d.decode()
st_e, _, d_e = req("/weekly?week=" + W, cookie=cookie)


def section(html, n):
    m = re.search(r"<h2>%d\..*?(?=<h2>|</body>)" % n, html, re.S)
    return m.group(0) if m else ""


billing_ops, roll_ops, roll_exec = section(ops_page, 2), section(ops_page, 5), section(d_e.decode(), 5)
check("the weekly page for ops says billing is not available and shows no figure of it (no '0 lines'); roll-offs "
      "equal exec's (%d rows); the forecast is not named unavailable"
      % roll_exec.count("<tr><td"),
      "Not available: not shown to the ops role" in billing_ops and "Post-close" not in billing_ops
      and "discrepancies" not in billing_ops and roll_exec.count("<tr><td") > 0 and roll_ops == roll_exec
      and "Not available: forecast" not in ops_page)
st, h, d = req("/weekly?week=" + W + "&as_of=" + A.t1, cookie=cookie)
check("the weekly page as of T1 renders (the figures as published then)", st == 200 and "Weekly" in d.decode())

# ---- the listener's own answers (405, 413, 414) carry the security headers
bad = []
for m in ("OPTIONS", "PUT", "DELETE", "TRACE", "PATCH"):
    st, h, _ = req("/api/v1/weeks", "exec", method=m)
    if st != 405:
        bad.append((m, st))
st413, h413, _ = req("/login", method="POST", body="token=" + "x" * 9000)
for m, st, h in [("PATCH", 405, h), ("POST 9000 bytes", st413, h413)]:
    for hd, want in (("content-security-policy", "frame-ancestors 'none'"), ("x-frame-options", "DENY"),
                     ("cache-control", "no-store"), ("x-content-type-options", "nosniff")):
        if want not in h.get(hd, ""):
            bad.append((m, st, hd))
check("405 (OPTIONS, PUT, DELETE, TRACE, PATCH) and 413 carry the security headers: %s" % (bad or "all"),
      not bad and st413 == 413)

# ---- a long query is answered (414 past 64 arguments), never dropped
many = "&".join("a%d=%d" % (i, i) for i in range(500))
try:
    st, h, d = req("/api/v1/utilisation?week=%s&scope=org&%s" % (W, many), "exec")
except (http.client.HTTPException, OSError) as e:
    st, h, d = 0, {}, str(e).encode()
st2, _, _ = req("/api/v1/utilisation?week=%s&scope=org&%s" % (W, "&".join("a%d=1" % i for i in range(40))), "exec")
check("a query of 500 arguments (%d bytes) is answered 414 with the headers (got %d); 40 arguments are 200 (%d)"
      % (len(many), st, st2), st == 414 and "frame-ancestors 'none'" in h.get("content-security-policy", "")
      and st2 == 200)

# ---- a parameter longer than any stored id is a 400 naming it, never a 500
long_bad = []
for ep, param in (("risks", "engagement"), ("allocations", "person"), ("expenses", "engagement"),
                  ("leave", "person")):
    st, _, d = req("/api/v1/%s?%s=%s" % (ep, param, "x" * 600), "exec")
    if st != 400 or param.encode() not in d:
        long_bad.append((ep, st, d[:120]))
check("a 600-byte id parameter of risks, allocations, expenses and leave is answered 400 naming it: %s"
      % long_bad, not long_bad)

# ---- a NUL byte in an argument is refused, naming it; as_of is bounded
bad = []
for path, param in (("utilisation?week=%s&scope=org&as_of=2026-11-20T09:00:00Z%%00junk" % W, "as_of"),
                    ("utilisation?week=%s%%00garbage&scope=org" % W, "week"),
                    ("utilisation?week=%s&scope=org%%00x" % W, "scope"),
                    ("utilisation?week=%s&scope=org&as_of=9999-12-31T23:59:59-23:59" % W, "as_of"),
                    ("utilisation?week=%s&scope=org&as_of=1969-12-31T23:59:59Z" % W, "as_of")):
    st, h, d = req("/api/v1/" + path, "exec")
    try:
        body = json.loads(d)
    except ValueError:
        body = {}
    if st != 400 or body.get("parameter") != param:
        bad.append((path, st, body.get("parameter")))
st, _, d = req("/api/v1/utilisation?week=%s&scope=org&as_of=9999-12-31T23:59:59Z" % W, "exec")
echo = json.loads(d).get("as_of") if st == 200 else None
check("NUL bytes and out-of-range instants are 400 naming the parameter (%s); as_of 9999-12-31T23:59:59Z is "
      "echoed as %s" % (bad or "all", echo), not bad and echo == "9999-12-31T23:59:59.000Z")
st, h, _ = req("/login", method="POST", body="token=" + urllib.parse.quote(TOK["exec"]))
cookie = h.get("set-cookie", "").split(";")[0]
st, _, d = req("/?as_of=yesterday", cookie=cookie)
st2, _, d2 = req("/utilisation?team=x%00y", cookie=cookie)
check("a page with a bad as_of or a NUL is a 400 page whose banner has the data's time (%d, %d)" % (st, st2),
      st == 400 and "Data as of" in d.decode() and "as_of" in d.decode()
      and st2 == 400 and "Data as of" in d2.decode() and "team" in d2.decode())

# ---- a repeated query argument is refused (400 naming it) before the answer
# cache is consulted: the cache's key sorts the arguments while the handler
# read the first occurrence, so week=W43&week=W44 could be served W44's answer
bad = []
for role_path in ("utilisation?week=2026-W44&week=2026-W45&x=1&scope=org",
                  "utilisation?week=2026-W45&week=2026-W44&x=2&scope=org",
                  "utilisation?week=2026-W44&week=2026-W45&x=2&scope=org",
                  "utilisation?week=%s&scope=org&as_of=%s&as_of=2026-01-01T00:00:00Z" % (W, A.t1),
                  "utilisation?week=%s&scope=org&as_of=2026-01-01T00:00:00Z&as_of=%s" % (W, A.t1)):
    st, h, d = req("/api/v1/" + role_path, "exec")
    try:
        body = json.loads(d)
    except ValueError:
        body = {}
    param = "as_of" if "as_of=" in role_path else "week"
    if st != 400 or h.get("content-type") != "application/json" or body.get("parameter") != param \
            or "repeated" not in body.get("error", ""):
        bad.append((role_path, st, body.get("parameter"), body.get("error")))
for path, param in (("/utilisation?team=a&team=b", "team"), ("/weekly?week=%s&week=2026-W44" % W, "week"),
                    ("/?as_of=%s&as_of=%s" % (A.t1, A.t1), "as_of"), ("/cover?x%3Cb%3E=1&x%3Cb%3E=2", "x<b>")):
    st, h, d = req(path, cookie=cookie)
    html = d.decode("utf-8", "replace")
    if st != 400 or "text/html" not in h.get("content-type", "") or "repeated" not in html \
            or ("parameter %s" % param.replace("<", "&lt;").replace(">", "&gt;")) not in html or "<b>" in html:
        bad.append((path, st))
check("a repeated query argument is 400 naming it, API (JSON) and pages (escaped HTML), whatever was asked "
      "before: %s" % (bad or "all"), not bad)

# ---- an unknown person or engagement is a 404 page (as the API answers 404
# for an unknown key), its id escaped; a malformed cover day is 400 naming it
bad = []
for path, code, want in (("/person?id=nobody", 404, "nobody"), ("/engagement?id=nobody", 404, "nobody"),
                         ("/person?id=%3Cb%3Ex", 404, "&lt;b&gt;x"), ("/engagement?id=%3Cb%3Ex", 404, "&lt;b&gt;x"),
                         ("/cover?from=garbage", 400, "from"), ("/cover?from=2026-13-01", 400, "from"),
                         ("/cover?from=%3Cb%3E", 400, "from")):
    st, h, d = req(path, cookie=cookie)
    html = d.decode("utf-8", "replace")
    if st != code or "text/html" not in h.get("content-type", "") or want not in html or "<b>" in html \
            or "Data as of" not in html:
        bad.append((path, st))
st, _, _ = req("/person?id=p-0001", cookie=cookie)
st2, _, _ = req("/cover?from=2026-11-16", cookie=cookie)
check("unknown person or engagement pages are 404, a malformed cover day 400, escaped: %s; a known person %d, "
      "a good day %d" % (bad or "all", st, st2), not bad and st == 200 and st2 == 200)

# ---- serve's own /metrics and /readyz (SPEC 5: every service serves them),
# unauthenticated like the other services' metrics endpoints
st, h, d = req("/metrics")
text = d.decode("utf-8", "replace")
st_r, h_r, d_r = req("/readyz")
st_h, _, _ = req("/healthz")
check("serve answers /metrics without a token (%d, %s) with opsledger_ series of service \"web\"; /readyz %d (%s); "
      "/healthz %d" % (st, h.get("content-type"), st_r, d_r[:60], st_h),
      st == 200 and h.get("content-type", "").startswith("text/plain; version=0.0.4")
      and 'opsledger_build_info{service="web"' in text and "opsledger_web_requests_total{" in text
      and 'opsledger_data_time_seconds{service="web"}' in text and st_r == 200 and d_r.startswith(b"ready")
      and st_h == 200)
import shutil
if shutil.which("promtool"):
    p = subprocess.run(["promtool", "check", "metrics"], input=d, capture_output=True, timeout=60)
    check("serve's /metrics passes promtool check metrics (%s)" % (p.stdout + p.stderr).decode()[:300].strip(),
          p.returncode == 0 and st == 200 and "opsledger_" in text)
else:
    print("  (promtool not installed: serve's /metrics not checked by it)")

# ---- slow clients (slowloris): one address holds at most 32 connections, and
# a request that is not complete 15 s after the connection (or its previous
# request) is cut, however it trickles; another address is still answered
import socket
import time
held = []
for _ in range(300):
    so = socket.socket()
    so.settimeout(5)
    try:
        so.connect((U.hostname, U.port))
        so.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        held.append(so)
    except OSError:
        so.close()


def alive(so):
    try:
        so.setblocking(False)
        return so.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        so.setblocking(True)


time.sleep(1)
other = http.client.HTTPConnection(U.hostname, U.port, timeout=5, source_address=("127.0.0.2", 0))
try:
    other.request("GET", "/healthz")
    st_other = other.getresponse().status
except (http.client.HTTPException, OSError):
    st_other = 0
other.close()
n_alive = sum(alive(so) for so in held)
check("300 trickling connections from one address: %d kept (at most 32); another address is answered (%d)"
      % (n_alive, st_other), n_alive <= 32 and st_other == 200)
t0 = time.time()
while time.time() - t0 < 24:  # a header line every 3 s: never idle
    for so in held:
        try:
            so.sendall(b"X-Slow: 1\r\n")
        except OSError:
            pass
    time.sleep(3)
n_alive = sum(alive(so) for so in held)
check("a request still incomplete after 24 s of trickling is cut (%d connections left)" % n_alive, n_alive == 0)
for so in held:
    so.close()

sys.exit(1 if FAILED else 0)
