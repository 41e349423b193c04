#!/bin/bash
# test_weekly.sh — the executive weekly report over the embedded broker:
#  1. a fixed scenario (opsledger generate, fixed seed, 40 people, 4 weeks
#     to 2026-W47) produced to the broker, finance's closed weeks after the
#     timesheets, then one approved entry of a closed week cut by an hour
#     (the largest post-close line); utilisation, billing, forecast and assurance
#     fold it in the order their topics need, each to the end;
#  2. `report weekly --week 2026-W47` (text) equals the reviewed expected
#     file tests/e2e/fixtures/weekly/expected-2026-W47.txt (set
#     UPDATE_EXPECTED=1 to rewrite it after a reviewed change);
#  3. the Markdown form has the same sections;
#  4. the HTML form is one self-contained file (no script, no external
#     reference) that headless Chromium renders, and the rendered page holds
#     the key figures of the text form (org utilisation, RAG counts, the
#     RED engagements, next week's cover gap);
#  5. a data directory without one service's projection names that service
#     in the report, still prints the others and exits 3 (a cron job notices);
#  6. (issue 18) the page reads without a decoder ring: every person named,
#     one unit convention, data as of and the running week not judged,
#     week-on-week change, pending time explained, contractors received in
#     the window, delivery managers' supply and demand, no trailing blanks;
#     a screenshot of the HTML page lands in $BUILD/weekly.png.
#
# Usage: BUILD=build bash tests/e2e/test_weekly.sh   (or via tests/run-e2e.sh)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/rellib.sh"
e2e_init weekly
T=$E2E_TMP
D=$T/data
W=2026-W47
EXPECTED=$FIXTURES/weekly/expected-$W.txt

start_broker || { e2e_finish; exit 1; }
gen_data "$T/gen" --people 40 --engagements 6 --weeks 4 --seed 5 --end-week "$W"
# finance closes its weeks after the timesheets are in; one approved entry
# of the closed 2026-W45 is then cut by an hour: exactly one post-close line
mv "$T/gen/finance.period.jsonl" "$T/finance.period.jsonl"
check "the scenario is produced to the broker" produce_dir "$T/gen"
python3 - "$T/gen/timesheet.entry.jsonl" >"$T/amend.jsonl" <<'PY'
import json, sys
latest = {}
for line in open(sys.argv[1]):
    v = json.loads(line)
    if v["revision"] >= latest.get(v["entry_id"], {"revision": -1})["revision"]:
        latest[v["entry_id"]] = v
for v in sorted(latest.values(), key=lambda v: v["entry_id"]):
    if (v["status"] == "APPROVED" and v["activity"] == "DELIVERY" and v["engagement_id"]
            and "2026-11-02" <= v["work_date"] <= "2026-11-08" and v["minutes"] >= 120):
        v.update(event_id="amend-1", revision=v["revision"] + 1, minutes=v["minutes"] - 60,
                 occurred_at="2026-11-19T12:00:00Z")
        print(json.dumps(v))
        break
PY
check "an approved 2026-W45 entry to amend was found" test -s "$T/amend.jsonl"

# each service to the end of its inputs, upstream first (forecast reads
# billing's lines, assurance reads forecast's engagements and utilisation's
# missing timesheets); --stop-at-end also publishes the outbox before exiting
fold_all() {
    for s in "$@"; do
        check "opsledger-$s folds to the end and publishes" svc_catch_up "$s" "$D" "$T/$s.log" -o batch_max=100000
    done
}
fold_all utilisation billing
run_ol "$T/p.out" "$T/p.err" produce finance.period --file "$T/finance.period.jsonl" || fail "produce finance.period"
fold_all billing # the weeks are closed before the amendment is read (one batch could fold them in any order)
run_ol "$T/p.out" "$T/p.err" produce timesheet.entry --file "$T/amend.jsonl" || fail "produce the amendment"
fold_all utilisation billing forecast assurance people margin
check "assurance folded delivery status and cover" test "$(status_of assurance "$D" emitted)" -gt 0

# 2. text against the reviewed expected file
if run_ol "$T/weekly.txt" "$T/weekly.err" report weekly --week "$W" --data-dir "$D"; then
    pass "report weekly --week $W exits 0"
else
    fail "report weekly --week $W exits 0"
    dump "$T/weekly.err"
fi
if [ "${UPDATE_EXPECTED:-0}" = 1 ]; then
    mkdir -p "$(dirname "$EXPECTED")"
    cp "$T/weekly.txt" "$EXPECTED"
    echo "  (wrote $EXPECTED: review it before committing)"
fi
if diff -u "$EXPECTED" "$T/weekly.txt" >"$T/weekly.diff"; then
    pass "the text report equals $(basename "$EXPECTED")"
else
    fail "the text report equals $(basename "$EXPECTED")"
    head -60 "$T/weekly.diff"
fi
check "the report names no unavailable service" test ! -s "$T/weekly.err"
# post_close is data time (SPEC section 3): besides the amendment (first, the
# largest change), the generated data holds W44 entries amended on 11-13 and
# 11-16 after W44 closed on 11-11, and an e-05 rate rise effective 11-01
# published on 11-20, after W45 closed on 11-18: 14 lines in all
check "the late amendment is the largest post-close adjustment" \
    grep -Eq "^  2026-W45 .* e-04 .*\(p-0005\) .* GBP -130\.00$" "$T/weekly.txt"
check "14 post-close adjustments (data time)" grep -q "changed afterwards), largest first: 14$" "$T/weekly.txt"

# issue 18, the reports read without a decoder ring: names beside ids (every
# person the report names carries the name hr.person gives), the one unit
# convention (no basis points, minutes or decimal hours), the running week
# not judged, contractors received in the window, delivery managers' supply
# every person a report names carries the name hr.person gives: the page,
# and report demand (the scenario has no contractor invoice for report
# contractors to name)
run_ol "$T/demand.txt" "$T/demand.err" report demand --data-dir "$D" || fail "report demand"
named() { # FILE: "N people named, M without their name: ids"; non-zero when M > 0 or N = 0
    python3 - "$T/gen/hr.person.jsonl" "$1" <<'PY'
import json, re, sys
names = {}
for line in open(sys.argv[1]):
    v = json.loads(line)
    names[v["person_id"]] = v["name"]
text = open(sys.argv[2]).read()
ids = set(re.findall(r"p-\d{4}", text))
bad = [i for i in sorted(ids) if "%s (%s)" % (names.get(i, "?"), i) not in text]
print("%d people named, %d without their name: %s" % (len(ids), len(bad), " ".join(bad)))
sys.exit(1 if bad or not ids else 0)
PY
}
named "$T/weekly.txt" >"$T/names.out"
demand_names=$(named "$T/demand.txt")
demand_rc=$?
check "report demand names every person it lists: $demand_names" test "$demand_rc" = 0
check "every person on the page is named: $(cat "$T/names.out")" test "$(tail -c 24 "$T/names.out" | grep -c 'without their name: $')" = 1
check "no raw basis points, minutes or decimal hours in the text report" \
    bash -c "! grep -Eq '[0-9](bp|min)\b|[0-9]\.[0-9] h\b|_(RISK|TIMESHEETS|ROLE|BUDGET|LEAVE|BOOKED)\b' '$T/weekly.txt'"
check "money has thousands separators and a currency" grep -q "GBP 125,718\.84" "$T/weekly.txt"
check "the data-as-of line says the week is still in progress" \
    grep -q "^  Data as of 2026-11-20 [0-9:]* UTC\. 2026-W47 is still in progress" "$T/weekly.txt"
check "the running week is not judged against the target" grep -Eq "^  2026-W47 .* in progress$" "$T/weekly.txt"
check "week-on-week change of org utilisation" grep -q "pts on 2026-W46;" "$T/weekly.txt"
check "this week's pending time is explained" grep -q "^  Of which this week: nothing yet" "$T/weekly.txt"
check "the delivery-manager supply and demand is in the delivery section" \
    bash -c "sed -n '/^3\. Delivery status/,/^4\./p' '$T/weekly.txt' | grep -q 'Delivery managers: open roles against bench supply'"
run_ol "$T/contractors.txt" "$T/contractors.err" report contractors --from 2026-W44 --to "$W" --data-dir "$D" ||
    fail "report contractors --from 2026-W44 --to $W"
chase=$(grep -Ec '^  (OVER_INVOICED|UNDER_INVOICED|RATE_MISMATCH|OVERLAPPING|NO_TIMESHEETS) ' "$T/contractors.txt")
shown=$(sed -n 's/^  Contractor invoices to chase (received in .*): \([0-9]*\)$/\1/p' "$T/weekly.txt")
check "the page lists at least the $chase discrepancies report contractors shows for the window (got ${shown:-none})" \
    test "${shown:--1}" -ge "$chase"
# report billing and the page group by the same thing: every client (and
# bill-to where it differs) of report billing for a week in the window is a
# row of the page's billing table, written the same way
run_ol "$T/billing.txt" "$T/billing.err" report billing --week 2026-W45 --data-dir "$D" || fail "report billing --week 2026-W45"
python3 - "$T/billing.txt" "$T/weekly.txt" >"$T/groups.out" <<'PY'
import re, sys
bill = open(sys.argv[1]).read().split("\n")
head = next(l for l in bill if l.startswith("  client "))
at = head.index("bill to")  # the bill-to column starts under its header (left-aligned)
groups = set()
for l in bill[bill.index(head) + 1:]:
    m = re.match(r"^  (.*?) +\d+ +[\d,]+h\d\d ", l)
    if not m or l.startswith("  TOTAL"):
        continue
    client, bill_to = l[2:at].strip(), m.group(1)[at - 2:].strip()
    groups.add("%s (bill to %s)" % (client, bill_to) if bill_to else client)
shown = set()
for l in open(sys.argv[2]).read().split("\n"):
    m = re.match(r"^  (.*?) +[A-Z]{3} -?[\d,]+\.\d\d +[A-Z]{3} -?[\d,]+\.\d\d +[\d,]+h\d\d", l)
    if m:
        shown.add(m.group(1))
missing = sorted(g for g in groups if g not in shown)
print("%d groups in report billing, missing on the page: %s" % (len(groups), missing))
sys.exit(1 if missing or not groups else 0)
PY
check "report billing's client and bill-to groups are the page's: $(cat "$T/groups.out")" \
    grep -q "missing on the page: \[\]$" "$T/groups.out"
check "no line of the text report ends in a blank or a comma" bash -c "! grep -Eq '[ ,]$' '$T/weekly.txt'"

# 3. Markdown: the same eight sections as headings
run_ol "$T/weekly.md" "$T/md.err" report weekly --week "$W" --format md --data-dir "$D" || fail "report weekly --format md"
check "Markdown has the title and eight section headings" \
    test "$(grep -c '^## [1-8]\. ' "$T/weekly.md")" = 8 -a "$(grep -c "^# Weekly delivery and operations report, $W" "$T/weekly.md")" = 1

# 4. HTML, rendered by headless Chromium
# written under umask 000 over a file left world-writable: the report holds
# people's names and amounts, so it is created owner-only like state files
: >"$T/weekly.html" && chmod 666 "$T/weekly.html"
(umask 000 && run_ol "$T/out.txt" "$T/html.err" report weekly --week "$W" --format html --out "$T/weekly.html" \
    --data-dir "$D") || fail "report weekly --format html --out FILE"
check "report --out FILE is owner-only (0600) whatever the umask" test "$(stat -c %a "$T/weekly.html")" = 600
check "the HTML is self-contained (no script, no external reference)" \
    bash -c "! grep -Eiq '<script|<link|src=|https?://|@import' '$T/weekly.html'"
check "the HTML has two inline SVG charts" test "$(grep -c '<svg ' "$T/weekly.html")" = 2
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
    fail "chromium is installed (make deps installs Debian's chromium)"
else
    if bounded "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$T/chromium" --dump-dom "file://$T/weekly.html" >"$T/dom.html" 2>"$T/chromium.err" &&
        [ -s "$T/dom.html" ]; then
        pass "headless Chromium renders the page"
    else
        fail "headless Chromium renders the page"
        dump "$T/chromium.err"
    fi
    # the key figures, read from the text form, must be in the rendered page
    org=$(sed -n 's/^  Org utilisation in 2026-W47[a-z ]*: \([0-9.]*%\) .*/\1/p' "$T/weekly.txt")
    rag=$(sed -n 's/^  \([0-9]* RED, [0-9]* AMBER, [0-9]* GREEN\) active.*/\1/p' "$T/weekly.txt")
    check "text form has the org utilisation ($org) and the RAG counts ($rag)" test -n "$org" -a -n "$rag"
    check "rendered page shows org utilisation $org" grep -q "id=\"org-util\">$org<" "$T/dom.html"
    check "rendered page shows the RAG counts $rag" grep -q "id=\"rag-counts\">$rag<" "$T/dom.html"
    reds=$(sed -n 's/^  RED   \(e-[0-9]*\) .*/\1/p' "$T/weekly.txt")
    for e in $reds; do
        check "rendered page lists RED engagement $e" grep -q "<tr class=\"red\"><td>RED</td><td>$e " "$T/dom.html"
    done
    # a screenshot of the page for people to look at (build/weekly.png)
    rm -f "$BUILD/weekly.png"
    if bounded "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$T/chromium-shot" --screenshot="$BUILD/weekly.png" --window-size=1280,3000 \
        "file://$T/weekly.html" >"$T/shot.out" 2>&1 && [ "$(wc -c <"$BUILD/weekly.png")" -gt 20000 ]; then
        pass "headless Chromium writes a screenshot of the page to $BUILD/weekly.png"
    else
        fail "headless Chromium writes a screenshot of the page to $BUILD/weekly.png"
        dump "$T/shot.out"
    fi
    gapday=$(sed -n '/^6\. Live-service cover gaps/,$ s/^  svc-[a-z-]* *\(2026-[0-9-]*\) .*/\1/p' "$T/weekly.txt" | head -1)
    if [ -n "$gapday" ]; then
        check "rendered page shows the cover gap of $gapday" grep -q "<td class=\"k\">$gapday</td>" "$T/dom.html"
    fi
fi

# 5. a projection missing: named, the rest still printed
mkdir -p "$T/partial"
cp -r "$D/utilisation" "$T/partial/"
run_ol "$T/partial.txt" "$T/partial.err" report weekly --week "$W" --data-dir "$T/partial"
st=$?
check "report weekly prints the page and exits 3 (incomplete) with projections missing (got $st)" test "$st" = 3
check "the missing services are named in the report" grep -q "Not available: billing" "$T/partial.txt"
check "the utilisation section is still printed" grep -q "Org utilisation in $W so far: $org" "$T/partial.txt"

stop_broker
e2e_finish
