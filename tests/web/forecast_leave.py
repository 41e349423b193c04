#!/usr/bin/env python3
"""forecast_leave.py - test_web.sh's check of the leave the forecast shows
(issue 17: "the 12-week forecast, holidays shown"), against a running
opsledger-web.

The expected figures are computed here from the input files that were
produced (hr.person and hr.leave, the latest revision of each entity), by
the SPEC's rules written out again in Python, not by the web's code:
capacity per working day (remainder on the first working day, none outside
[joined_on, left_on]), BOOKED leave FULL / AM (larger half) / PM, overlapping
leave capped at the day, sums over billable people. The model itself is
checked against the forecast service: capacity - leave must equal the
forecast's available_minutes (`opsledger query forecast --format json`) for
every ORG and TEAM week, so a wrong rule here cannot pass unnoticed. Then
/api/v1/forecast/leave (ORG, TEAM and PERSON rows) and the /forecast page
(hours and minutes) must show exactly those figures.

Usage: forecast_leave.py --url URL --tokens DIR --bin BIN --data DATA_DIR
       --inputs FILE.jsonl... (hr.person and hr.leave records, any order)
Prints "ok   - ..." / "FAIL - ..." lines; exits 1 when a check failed."""
import argparse
import datetime
import html
import http.client
import json
import os
import re
import subprocess
import sys
import urllib.parse

ap = argparse.ArgumentParser()
for a in ("url", "tokens", "bin", "data"):
    ap.add_argument("--" + a, required=True)
ap.add_argument("--inputs", nargs="+", required=True)
A = ap.parse_args()
U = urllib.parse.urlparse(A.url)
TOK = {r: open(os.path.join(A.tokens, "token." + r)).read().strip() for r in ("exec", "ops", "finance")}
FAILED = 0


def check(msg, cond, detail=""):
    global FAILED
    print(("ok   - " if cond else "FAIL - ") + msg)
    if not cond:
        FAILED += 1
        if detail:
            print("  " + detail[:600])
    return cond


def req(path, headers):
    c = http.client.HTTPConnection(U.hostname, U.port, timeout=60)
    c.request("GET", path, headers=headers)
    r = c.getresponse()
    d = r.read()
    h = {k.lower(): v for k, v in r.getheaders()}
    c.close()
    return r.status, h, d


def api(path, role="exec"):
    st, _, d = req("/api/v1/" + path, {"Authorization": "Bearer " + TOK[role]})
    return json.loads(d) if st == 200 else None


# ---- the inputs: the latest revision of every person and leave
latest = {}
for f in A.inputs:
    for line in open(f):
        if not line.strip():
            continue
        v = json.loads(line)
        topic = "leave" if "leave_id" in v else "person" if "weekly_capacity_minutes" in v else None
        if not topic:
            continue
        k = (topic, v["leave_id"] if topic == "leave" else v["person_id"])
        old = latest.get(k)
        if not old or (v["revision"], v["event_id"]) > (old["revision"], old["event_id"]):
            latest[k] = v
people = {k[1]: v for k, v in latest.items() if k[0] == "person"}
leaves = [v for k, v in latest.items() if k[0] == "leave" and v["status"] == "BOOKED" and v["person_id"] in people]


def day(s):
    return datetime.date.fromisoformat(s) if s else None


def cap(p, d):
    wd = p["working_days"]
    joined, left = day(p["joined_on"]), day(p["left_on"])
    if (joined and d < joined) or (left and d > left) or not (wd >> d.weekday()) & 1:
        return 0
    days = [i for i in range(7) if (wd >> i) & 1]
    base, rem = divmod(p["weekly_capacity_minutes"], len(days))
    return base + (rem if d.weekday() == days[0] else 0)


def monday(week):
    return datetime.date.fromisocalendar(int(week[:4]), int(week[6:]), 1)


def person_week(pid, week):
    """(capacity, leave) of one person in one ISO week"""
    p, mon = people[pid], monday(week)
    days = [mon + datetime.timedelta(i) for i in range(7)]
    c = [cap(p, d) for d in days]
    avail = list(c)
    for lv in leaves:
        if lv["person_id"] != pid:
            continue
        for i, d in enumerate(days):
            if day(lv["first_day"]) <= d <= day(lv["last_day"]):
                part = c[i] if lv["portion"] == "FULL" else c[i] - c[i] // 2 if lv["portion"] == "AM" else c[i] // 2
                avail[i] = max(0, avail[i] - part)
    return sum(c), sum(c) - sum(avail)


def scope_week(scope, sid, week):
    """{capacity_minutes, leave_minutes, people_on_leave} as the SPEC's sums say"""
    if scope == "PERSON":
        ids = [sid] if sid in people else []
    else:
        ids = [i for i, p in people.items() if p["billable"] and (scope == "ORG" or p["team"] == sid)]
    c = l = n = 0
    for i in ids:
        pc, pl = person_week(i, week)
        c, l, n = c + pc, l + pl, n + (pl > 0)
    return {"capacity_minutes": c, "leave_minutes": l, "people_on_leave": n}


# ---- the model against the forecast service's own available minutes
fq = [json.loads(l) for l in subprocess.run([os.path.join(A.bin, "opsledger"), "query", "forecast", "--format", "json",
                                             "--data-dir", A.data], capture_output=True, text=True,
                                            timeout=120).stdout.splitlines() if l.strip()]
for r in fq:
    r["scope"] = r["scope"].upper()  # query prints person, team, org
org = sorted((r for r in fq if r["scope"] == "ORG"), key=lambda r: r["week"])
weeks = [r["week"] for r in org]
check("query forecast has the 12-week horizon of the org (%d weeks)" % len(weeks), len(weeks) == 12)
bad = []
for r in fq:
    if r["scope"] == "PERSON":
        continue
    e = scope_week(r["scope"], r["id"], r["week"])
    if e["capacity_minutes"] - e["leave_minutes"] != r["available_minutes"]:
        bad.append((r["scope"], r["id"], r["week"], e, r["available_minutes"]))
check("the rules written here agree with the forecast service: capacity - leave = its available minutes "
      "(%d org and team weeks)" % sum(r["scope"] != "PERSON" for r in fq), fq and not bad, repr(bad[:3]))
want = {w: scope_week("ORG", "org", w) for w in weeks}
check("the demo data has leave in the horizon (else the checks below prove nothing): %s" %
      ", ".join("%s %d min" % (w, want[w]["leave_minutes"]) for w in weeks if want[w]["leave_minutes"]),
      sum(1 for w in weeks if want[w]["leave_minutes"]) >= 2)

# ---- the API: every role reads the same leave totals (no kind named)
for role in ("exec", "ops", "finance"):
    d = api("forecast/leave?from=%s&to=%s&scope=ORG" % (weeks[0], weeks[-1]), role) if weeks else None
    got = {r["week"]: {k: r[k] for k in ("capacity_minutes", "leave_minutes", "people_on_leave")}
           for r in (d or {}).get("items", [])}
    check("%s: forecast/leave (ORG) equals the leave computed from the inputs, week by week" % role,
          d is not None and got == want, "got %r want %r" % (got, want))
    check("%s: forecast/leave names no leave kind" % role,
          d is not None and not re.search(r'"kind"|HOLIDAY|SICK|PARENTAL', json.dumps(d)))
# TEAM and PERSON rows, and the join key with forecast/weekly
w0 = next((w for w in weeks if want[w]["leave_minutes"]), weeks[0] if weeks else "")
d = api("forecast/leave?week=" + w0)
fw = api("forecast/weekly?week=" + w0)
items = (d or {}).get("items", [])
bad = [(r["key"], r) for r in items
       if {k: r[k] for k in ("capacity_minutes", "leave_minutes", "people_on_leave")} !=
       scope_week(r["scope"], r["scope_id"], r["week"])]
check("forecast/leave of %s: every ORG, TEAM and PERSON row (%d) equals the inputs' figures" % (w0, len(items)),
      items and not bad, repr(bad[:3]))
check("forecast/leave has one row per forecast/weekly row, under its key",
      fw is not None and [r["key"] for r in items] == [r["key"] for r in fw["items"]])
on_leave = [r for r in items if r["scope"] == "PERSON" and r["leave_minutes"]]
check("forecast/leave?scope=PERSON&id=P: a person on leave in %s" % w0,
      on_leave and (api("forecast/leave?week=%s&scope=PERSON&id=%s" % (w0, urllib.parse.quote(on_leave[0]["scope_id"])))
                    or {}).get("items") == [on_leave[0]])
st, _, _ = req("/api/v1/forecast/leave?week=2026-W99", {"Authorization": "Bearer " + TOK["exec"]})
check("forecast/leave with a malformed week is 400", st == 400)


# ---- the page: capacity, leave and people on leave per week, in hours and minutes
def hm(m):
    return "%s%sh%02d" % ("-" if m < 0 else "", "{:,}".format(abs(m) // 60), abs(m) % 60)


for role in ("exec", "finance"):
    c = http.client.HTTPConnection(U.hostname, U.port, timeout=60)
    c.request("POST", "/login", body="token=" + urllib.parse.quote(TOK[role]),
              headers={"Content-Type": "application/x-www-form-urlencoded"})
    r = c.getresponse()
    r.read()
    cookie = (r.getheader("Set-Cookie") or "").split(";")[0]
    c.close()
    st, _, page = req("/forecast", {"Cookie": cookie})
    page = page.decode("utf-8", "replace")
    rows = {}
    for tr in re.findall(r"<tr>(.*?)</tr>", page, re.S):
        cells = [html.unescape(re.sub(r"<[^>]+>", "", td)).strip() for td in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
        if cells and re.match(r"\d{4}-W\d\d$", cells[0]):
            rows[cells[0]] = cells[1:4]
    exp = {w: [hm(want[w]["capacity_minutes"]), hm(want[w]["leave_minutes"]), str(want[w]["people_on_leave"])]
           for w in weeks}
    check("%s: /forecast shows each week's capacity, leave (h:mm) and people on leave as computed" % role,
          st == 200 and "leave (holidays)" in page and rows == exp, "got %r want %r" % (rows, exp))
sys.exit(1 if FAILED else 0)
