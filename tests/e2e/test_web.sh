#!/bin/bash
# test_web.sh — opsledger-web over the embedded broker:
#  1. a generated consultancy (40 people, 4 weeks to 2026-W47) folded by
#     utilisation, billing, forecast, assurance and the archive, then by
#     opsledger-web; the instant T1 is recorded; then one approved entry of
#     2026-W46 is cut by an hour and everything folds again;
#  2. the API's figures equal each owning service's `query --format json`
#     for the same week (utilisation ORG/TEAM/PERSON, missing timesheets,
#     billing lines); an as_of=T1 answer equals `opsledger replay billing
#     --as-of T1` queried, and differs from the live one (the amendment);
#     `history` lists both revisions of the amended line with its delta;
#     `billing/explain` lists the entries behind it;
#  3. CSV (Accept and .csv) parses with the header's column count and no
#     cell starting a formula; errors: malformed week 400, unknown week 404,
#     malformed as_of 400, each naming its parameter;
#  4. the role matrix: every endpoint x {no token, exec, ops, finance}:
#     401 / 200 / 403 as the README's table says; ops answers hold no money
#     field, finance never a leave kind; security headers on every answer;
#  5. the sign-in form sets an HttpOnly SameSite=Strict cookie, pages open
#     with it per role (no <script>, no external reference, ops pages show no
#     amount), sign-out ends the session;
#  6. hostile names (HTML, script, quotes, control characters) render as text;
#  6a. the forecast's leave per week (forecast/leave and /forecast) equals
#     the leave computed from the produced hr.person and hr.leave
#     (tests/web/forecast_leave.py);
#  6b. headless Chromium (tests/web/browser.js, playwright-core): per role,
#     sign in, open every page, figures equal the API's, no console error,
#     no request leaving the origin, no leave kind for finance, no money for
#     ops, a screenshot of each page in $BUILD/web-screens;
#  7. TLS with a certificate made here (openssl): HTTPS answers, the
#     cookie is Secure, plain HTTP to the TLS port gets no answer.
# Usage: BUILD=build bash tests/e2e/test_web.sh   (or via tests/run-e2e.sh)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/rellib.sh"
e2e_init web
T=$E2E_TMP
D=$T/data
W=2026-W47
WA=2026-W46

start_broker || { e2e_finish; exit 1; }
gen_data "$T/gen" --people 40 --engagements 6 --weeks 4 --seed 5 --end-week "$W"
# a hostile name for one person (a higher revision of p-0003)
python3 - "$T/gen/hr.person.jsonl" >"$T/hostile.jsonl" <<'PY'
import json, sys
last = {}
for line in open(sys.argv[1]):
    v = json.loads(line)
    last[v["person_id"]] = v
v = last["p-0003"]
v.update(event_id="hostile-1", revision=v["revision"] + 1, occurred_at="2026-11-20T09:00:00Z",
         name="<script>alert(1)</script><img src=x onerror=alert(2)> \"O'Brien\" \x07\x1b[31m")
print(json.dumps(v))
PY
cat "$T/hostile.jsonl" >>"$T/gen/hr.person.jsonl"
# a contractor invoice to chase in the weekly report: received in $W for a
# period (2026-W41) outside the report's last 4 weeks, with no time logged
# then, so it is not MATCHED and the report lists it only by the day it was
# received (finance.contractor_invoice's occurred_at, which the web must fold
# for /weekly to equal `report weekly`)
python3 - "$T/gen/hr.person.jsonl" >"$T/invoice.jsonl" <<'PY'
import json, sys
last = {}
for line in open(sys.argv[1]):
    v = json.loads(line)
    last[v["person_id"]] = v
p = next(v for k, v in sorted(last.items()) if v["employment"] == "CONTRACTOR")
print(json.dumps({"event_id": "web-invoice-1", "occurred_at": "2026-11-18T10:00:00Z", "source": "finance",
                  "revision": 1, "invoice_id": "inv-web-chase-1", "person_id": p["person_id"],
                  "supplier": p["supplier"] or "Web Check Ltd", "period_first_day": "2026-10-05",
                  "period_last_day": "2026-10-09", "minutes_invoiced": 2250, "amount_minor": 225000,
                  "currency": p["currency"], "status": "RECEIVED"}))
PY
check "a contractor invoice to chase is made" test -s "$T/invoice.jsonl"
cat "$T/invoice.jsonl" >>"$T/gen/finance.contractor_invoice.jsonl"
check "the scenario is produced to the broker" produce_dir "$T/gen"

fold_all() {
    for s in "$@"; do
        check "opsledger-$s folds to the end" svc_catch_up "$s" "$D" "$T/$s.log" -o batch_max=100000
    done
}
fold_all utilisation billing forecast assurance people margin archive web
# records that move to another group: a leave to another person, an approved
# entry of 2026-W45 to the same weekday of 2026-W46 (T0: before the move)
sleep 1.2
T0=$(python3 -c 'import datetime; print(datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z"))')
sleep 1.2
python3 - "$T/gen" "$T0" "$T/moves.json" <<'PY'
import datetime, json, os, sys
def latest(topic, idf):
    out = {}
    for line in open(os.path.join(sys.argv[1], topic + ".jsonl")):
        v = json.loads(line)
        if v["revision"] >= out.get(v[idf], {"revision": -1})["revision"]:
            out[v[idf]] = v
    return [out[k] for k in sorted(out)]
leave = next(v for v in latest("hr.leave", "leave_id") if v["person_id"] != "p-0001")
old_person = leave["person_id"]
leave.update(event_id="web-move-leave", revision=leave["revision"] + 1, person_id="p-0001",
             occurred_at="2026-11-20T10:00:00Z")
entry = next(v for v in latest("timesheet.entry", "entry_id")
             if v["status"] == "APPROVED" and v["activity"] == "DELIVERY" and v["engagement_id"]
             and "2026-11-02" <= v["work_date"] <= "2026-11-08")
old_date = entry["work_date"]
new_date = (datetime.date.fromisoformat(old_date) + datetime.timedelta(days=7)).isoformat()
entry.update(event_id="web-move-entry", revision=entry["revision"] + 1, work_date=new_date,
             occurred_at="2026-11-20T10:00:00Z")
# a leaver: a person with no time logged in 2026-W47 leaves on 2026-11-08, so
# utilisation deletes their 2026-W46 and W47 rows and publishes those keys
# once more at zero (the API must not show them, as the query does not)
w47 = {v["person_id"] for v in latest("timesheet.entry", "entry_id") if "2026-11-16" <= v["work_date"] <= "2026-11-22"}
leaver = next(v for v in latest("hr.person", "person_id")
              if v["person_id"].startswith("p-") and v["person_id"] not in w47 | {"p-0001", "p-0003"}
              and v["left_on"] is None and v["joined_on"] < "2026-10-01")
leaver.update(event_id="web-leaver", revision=leaver["revision"] + 1, left_on="2026-11-08",
              occurred_at="2026-11-20T10:00:00Z")
open(os.path.join(sys.argv[1], "..", "leaver.jsonl"), "w").write(json.dumps(leaver) + "\n")
open(os.path.join(sys.argv[1], "..", "move-leave.jsonl"), "w").write(json.dumps(leave) + "\n")
open(os.path.join(sys.argv[1], "..", "move-entry.jsonl"), "w").write(json.dumps(entry) + "\n")
json.dump({"t0": sys.argv[2], "leave_id": leave["leave_id"], "leave_old": old_person, "leave_new": "p-0001",
           "leave_rev": leave["revision"], "entry_id": entry["entry_id"], "entry_rev": entry["revision"],
           "entry_old": "%s|%s|2026-W45" % (entry["engagement_id"], entry["person_id"]),
           "entry_new": "%s|%s|2026-W46" % (entry["engagement_id"], entry["person_id"])}, open(sys.argv[3], "w"))
PY
check "a leave and an entry to move were found" test -s "$T/moves.json"
run_ol "$T/p.out" "$T/p.err" produce hr.leave --file "$T/move-leave.jsonl" || fail "produce the moved leave"
run_ol "$T/p.out" "$T/p.err" produce timesheet.entry --file "$T/move-entry.jsonl" || fail "produce the moved entry"
run_ol "$T/p.out" "$T/p.err" produce hr.person --file "$T/leaver.jsonl" || fail "produce the leaver"
fold_all utilisation billing forecast assurance people margin archive web
sleep 1.2
T1=$(python3 -c 'import datetime; print(datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z"))')
sleep 1.2
# one approved delivery entry of 2026-W46 cut by an hour
python3 - "$T/gen/timesheet.entry.jsonl" >"$T/amend.jsonl" <<'PY'
import json, sys
latest = {}
for line in open(sys.argv[1]):
    v = json.loads(line)
    if v["revision"] >= latest.get(v["entry_id"], {"revision": -1})["revision"]:
        latest[v["entry_id"]] = v
for v in sorted(latest.values(), key=lambda v: v["entry_id"]):
    if (v["status"] == "APPROVED" and v["activity"] == "DELIVERY" and v["engagement_id"]
            and "2026-11-09" <= v["work_date"] <= "2026-11-15" and v["minutes"] >= 120):
        v.update(event_id="web-amend-1", revision=v["revision"] + 1, minutes=v["minutes"] - 60,
                 occurred_at="2026-11-20T12:00:00Z")
        print(json.dumps(v))
        break
PY
check "an approved $WA entry to amend was found" test -s "$T/amend.jsonl"
run_ol "$T/p.out" "$T/p.err" produce timesheet.entry --file "$T/amend.jsonl" || fail "produce the amendment"
fold_all utilisation billing forecast assurance people margin archive web

# tokens, one per role
for r in exec ops finance; do
    if run_ol "$T/token.$r" "$T/token.$r.err" web token add "t-$r" --role $r --data-dir "$D"; then
        pass "opsledger web token add t-$r --role $r"
    else
        fail "opsledger web token add t-$r --role $r"
        dump "$T/token.$r.err"
    fi
done
run_ol "$T/badrole.out" "$T/badrole.err" web token add t-bad --role boss --data-dir "$D"
check "a token for an unknown role is refused (exit 2), naming the role" \
    bash -c "test $? = 2 && grep -q 'role \"boss\" is not one of exec, ops, finance' '$T/badrole.err'"
run_ol "$T/hash.out" "$T/hash.err" web token add '#ops-team' --role ops --data-dir "$D"
check "a token name starting with '#' (the tokens file's comment mark) is refused (exit 2)" \
    bash -c "test $? = 2 && grep -q \"must not start with '#'\" '$T/hash.err'"
check "the tokens file is 0600" test "$(stat -c %a "$D/web-tokens")" = 600
check "the tokens file holds no token, only hashes" bash -c "! grep -qF '$(cat "$T/token.exec")' '$D/web-tokens'"

"$BIN/opsledger-web" serve --data-dir "$D" --listen 127.0.0.1:0 --url-file "$T/url" >"$T/serve.log" 2>&1 &
_track $!
SERVE_PID=$!
for _ in $(seq 1 100); do [ -s "$T/url" ] && break; sleep 0.1; done
if [ -s "$T/url" ]; then pass "opsledger-web serve listens"; else
    fail "opsledger-web serve listens"
    dump "$T/serve.log"
    e2e_finish
    exit 1
fi
URL=$(cat "$T/url")

# 2-6: the checks themselves, in Python (urllib), against the live server
if python3 "$E2E_DIR/webcheck.py" --url "$URL" --tokens "$T" --bin "$BIN" --data "$D" --week "$W" \
    --amended-week "$WA" --t1 "$T1" --tmp "$T" >"$T/webcheck.out" 2>&1; then
    pass "API, roles, CSV, errors, pages and hostile names (webcheck.py)"
else
    fail "API, roles, CSV, errors, pages and hostile names (webcheck.py)"
fi
sed -e 's/^/  /' "$T/webcheck.out" | tail -n 80
# the forecast's leave per week (page and API) against the inputs, by rules
# written again in Python and checked against query forecast's available time
if python3 "$REPO/tests/web/forecast_leave.py" --url "$URL" --tokens "$T" --bin "$BIN" --data "$D" \
    --inputs "$T/gen/hr.person.jsonl" "$T/leaver.jsonl" "$T/gen/hr.leave.jsonl" "$T/move-leave.jsonl" >"$T/fcleave.out" 2>&1; then
    pass "the forecast's leave per week: API and page equal the inputs' figures (tests/web/forecast_leave.py)"
else
    fail "the forecast's leave per week: API and page equal the inputs' figures (tests/web/forecast_leave.py)"
fi
sed -e 's/^/  /' "$T/fcleave.out" | tail -n 30
# the browser: headless Chromium driven by playwright-core (tests/web/)
# playwright-core, pinned by tests/web/package-lock.json, installed out of
# tree (the source tree stays as cloned)
WEBT=$REPO/tests/web
WEB_NODE=$BUILD/web-node
if [ ! -f "$WEB_NODE/node_modules/.package-lock.json" ] || [ "$WEBT/package-lock.json" -nt "$WEB_NODE/node_modules/.package-lock.json" ]; then
    mkdir -p "$WEB_NODE" && cp "$WEBT/package.json" "$WEBT/package-lock.json" "$WEB_NODE/"
    (cd "$WEB_NODE" && bounded npm ci --no-audit --no-fund >"$T/npm.log" 2>&1) || { fail "npm ci of tests/web's package-lock.json"; dump "$T/npm.log"; }
fi
if [ -d "$WEB_NODE/node_modules/playwright-core" ]; then
    export NODE_PATH=$WEB_NODE/node_modules
    if E2E_CMD_TIMEOUT=300 bounded node "$WEBT/browser.js" "$URL" "$T" "$BUILD/web-screens" >"$T/browser.out" 2>&1; then
        pass "headless Chromium: sign-in per role, every page, figures equal the API's (screenshots in $BUILD/web-screens)"
    else
        fail "headless Chromium: sign-in per role, every page, figures equal the API's"
    fi
    grep -v '^ok' "$T/browser.out" | sed -e 's/^/  /' | head -40
fi
# the answer cache (services/web/cache.c): gzip is the same answer; roles do
# not share answers; a commit of the fold is seen at once by the next request
AX="Authorization: Bearer $(cat "$T/token.exec")"
AO="Authorization: Bearer $(cat "$T/token.ops")"
UQ="${URL}api/v1/utilisation?week=$W&scope=person"
curl -s -H "$AX" "$UQ" >"$T/c.plain" && curl -s --compressed -H "$AX" "$UQ" >"$T/c.gz" &&
    curl -s -o /dev/null -D "$T/c.h" -H "$AX" -H 'Accept-Encoding: gzip' "$UQ"
check "a gzip answer is the same answer" cmp -s "$T/c.plain" "$T/c.gz"
check "Accept-Encoding: gzip is answered with Content-Encoding: gzip" grep -qi '^Content-Encoding: gzip' "$T/c.h"
curl -s -H "$AX" "${URL}api/v1/engagements" >"$T/c.ex" && curl -s -H "$AO" "${URL}api/v1/engagements" >"$T/c.ops"
check "exec's cached answer is not ops's (money removed for ops)" \
    bash -c "grep -q '_minor' '$T/c.ex' && ! grep -q '_minor' '$T/c.ops'"
people() { curl -s -H "$AX" "${URL}api/v1/people" | python3 -c 'import json, sys; print(json.load(sys.stdin)["count"])'; }
C1=$(people)
C1b=$(people)
python3 - "$T/gen/hr.person.jsonl" >"$T/newperson.jsonl" <<'PY'
import json, sys
v = json.loads(open(sys.argv[1]).readline())
v.update(event_id="web-cache-person-1", person_id="p-web-cache-1", revision=1)
print(json.dumps(v))
PY
run_ol "$T/np.out" "$T/np.err" produce hr.person --file "$T/newperson.jsonl" || fail "produce a new person"
fold_all web
C2=$(people)
check "a new commit of the fold is answered at once ($C1, $C1b -> $C2 people)" \
    test "$C1" = "$C1b" -a "$C2" = "$((C1 + 1))"

# the row cache (services/web/rowcache.c) keeps parsed rows across
# snapshots by topic, key and revision: a conflicting version at the SAME
# revision with a larger event_id replaces the row, and the next answer
# must show it (a cache trusting the revision alone would serve the old)
pcsv() { curl -s -H "$AX" "${URL}api/v1/people.csv?person=p-web-cache-1" >"$1"; }
pcsv "$T/rc1.csv"
python3 - "$T/newperson.jsonl" >"$T/conflict.jsonl" <<'PY'
import json, sys
v = json.loads(open(sys.argv[1]).readline())
v.update(event_id="web-cache-person-2", name="Row Cache Replaced")
print(json.dumps(v))
PY
run_ol "$T/cf.out" "$T/cf.err" produce hr.person --file "$T/conflict.jsonl" || fail "produce the conflicting version"
fold_all web
pcsv "$T/rc2.csv"
check "an equal revision with a larger event_id replaces a row the row cache holds (people.csv)" \
    bash -c "grep -q p-web-cache-1 '$T/rc1.csv' && ! grep -q 'Row Cache Replaced' '$T/rc1.csv' && grep -q 'Row Cache Replaced' '$T/rc2.csv'"
# answers keep the connection open (libmicrohttpd closed it after each one
# queued in its first call: a new TCP connection per request)
check "two requests on one connection: the second reuses it" \
    bash -c "curl -sv -o /dev/null -o /dev/null -H '$AX' '${URL}api/v1/weeks' '${URL}api/v1/periods' 2>&1 | grep -q 'Re-using existing connection'"

check "no token reaches the server's log" bash -c "! grep -qF '$(cat "$T/token.exec")' '$T/serve.log'"

# 7. TLS with a certificate made here
if bounded openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 2 \
    -subj "/CN=localhost" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" >"$T/openssl.log" 2>&1; then
    "$BIN/opsledger-web" serve --data-dir "$D" --listen 127.0.0.1:0 --tls-cert "$T/cert.pem" --tls-key "$T/key.pem" \
        --url-file "$T/tls-url" >"$T/tls.log" 2>&1 &
    _track $!
    for _ in $(seq 1 100); do [ -s "$T/tls-url" ] && break; sleep 0.1; done
    TURL=$(cat "$T/tls-url" 2>/dev/null)
    check "the TLS listener's URL is https" bash -c "case '$TURL' in https://*) exit 0;; esac; exit 1"
    code=$(curl -s -o "$T/tls.json" -w '%{http_code}' --cacert "$T/cert.pem" \
        -H "Authorization: Bearer $(cat "$T/token.exec")" "${TURL}api/v1/utilisation?week=$W&scope=org")
    check "HTTPS with the certificate answers 200 (got $code)" test "$code" = 200
    check "the HTTPS answer has the org row" grep -q '"scope":"ORG"' "$T/tls.json"
    curl -s -D "$T/tls-login.h" -o /dev/null --cacert "$T/cert.pem" --data-urlencode "token=$(cat "$T/token.ops")" \
        "${TURL}login"
    check "the session cookie is Secure under TLS" grep -qi '^set-cookie: olw_session=.*; Secure' "$T/tls-login.h"
    check "HSTS under TLS" grep -qi '^strict-transport-security:' "$T/tls-login.h"
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://${TURL#https://}healthz")
    check "plain HTTP to the TLS port gets no HTTP answer (got $code)" test "$code" != 200
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "${TURL}healthz")
    check "an unknown certificate is refused by the client (curl without --cacert: $code)" test "$code" = 000
else
    fail "openssl makes a test certificate"
    dump "$T/openssl.log"
fi

# the answer cache holds what web.cache_mb says, counting the heap its
# entries hold: any signed-in user asking 8,000 distinct small questions
# made a 1 MiB cache take ~35 MB (a 74-byte answer kept a 4 KiB buffer);
# counting the answers' lengths alone, even with that buffer shrunk, lets
# 16,000 entries' structs grow it by ~9 MB
# (not under AddressSanitizer: its quarantine keeps freed memory resident)
if nm "$BIN/opsledger-web" 2>/dev/null | grep -q __asan_init; then
pass "skipped: the answer cache's resident memory under AddressSanitizer"
else
"$BIN/opsledger-web" serve --data-dir "$D" --listen 127.0.0.1:0 --url-file "$T/cache-url" -o web.cache_mb=1 \
    >"$T/cache.log" 2>&1 &
CACHE_PID=$!
_track "$CACHE_PID"
for _ in $(seq 100); do [ -s "$T/cache-url" ] && break; sleep 0.1; done
if python3 - "$(cat "$T/cache-url" 2>/dev/null)" "$(cat "$T/token.ops")" "$CACHE_PID" >"$T/cache.out" 2>&1 <<'PY'
import http.client, sys, urllib.parse
url, tok, pid = urllib.parse.urlparse(sys.argv[1]), sys.argv[2], sys.argv[3]
def rss():
    for l in open("/proc/%s/status" % pid):
        if l.startswith("VmRSS:"):
            return int(l.split()[1])
c = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
def ask(i):
    c.request("GET", "/api/v1/people?team=r%d" % i, headers={"Authorization": "Bearer " + tok})
    r = c.getresponse(); r.read()
    assert r.status == 200, r.status
for i in range(500):  # warm: threads, arenas, the read model
    ask(i)
before = rss()
for i in range(500, 16500):
    ask(i)
grown = rss() - before
print("VmRSS grew %d KiB over 16,000 cached answers (web.cache_mb=1; at most 3 MiB)" % grown)
sys.exit(0 if grown < 3 * 1024 else 1)
PY
then pass "$(cat "$T/cache.out")"; else fail "the answer cache stays near web.cache_mb: $(cat "$T/cache.out")"; fi
kill -TERM "$CACHE_PID" 2>/dev/null
wait_exit "$CACHE_PID" 10
_untrack "$CACHE_PID"
fi

kill -TERM "$SERVE_PID" 2>/dev/null
if wait_exit "$SERVE_PID" 10 && [ "$WAIT_STATUS" = 0 ]; then pass "serve stops on SIGTERM with status 0"; else
    fail "serve stops on SIGTERM with status 0"
fi
_untrack "$SERVE_PID"
check "serve removed its URL file on exit" test ! -e "$T/url"
stop_broker
e2e_finish
