#!/bin/bash
# tests/e2e/test_people.sh — headcount and margin end to end over a real
# broker process (issue 20): records produced with `opsledger produce`,
# opsledger-billing, -people and -margin run to the end of their inputs
# (margin reads the lines billing published), then `report headcount` and
# `report margin` in text, CSV and JSON, and the weekly page's new sections,
# against figures worked out by hand below; strings from the data (a team
# that is a spreadsheet formula with an escape sequence, a supplier with
# HTML) are escaped for each format.
#
# By hand (every record's occurred_at is 2026-11-11, data week 2026-W46):
#   people: P1 (from 2024-01-01), D1 the delivery manager (from 2025-06-02),
#   L1 (2025-01-06, left on Sunday 2026-11-08: still counted that Sunday);
#   K1 a contractor. ORG 2026-W45: 3 employees, 1 leaver; 2026-W46: 2
#   (FTE 20000), window 2025-W47..2026-W46: P1 52 + D1 52 + L1 51 Sundays =
#   155, average 15500 / 52 = 298 (hundredths), attrition 1,000,000 / 298 =
#   3355 bp; median tenure at 2026-11-15 of 1049 (P1) and 531 (D1): the lower,
#   531. Delivery managers 2026-W47: supply D1 full time = 10000 bp; demand
#   A1 100 % x 5 days + A2 (open, PROPOSED) 50 % x 5 = 750 -> 15000 bp;
#   ratio 2250 x 10000 x 500 / (750 x 2250) = 6666 (SHORT).
#   margin G1 2026-W45 (GBP): billing's lines P1 2250 min and K1 1800 min at
#   80,000 a day = 400,000 + 320,000 = 720,000; P1 5 x 40,000 = 200,000; K1
#   INV1 75,000 all on G1 W45; cost 275,000, margin 445,000, 6180 bp. INV1:
#   logged 1800, invoiced 2250, billed 1800: +450 minutes = 75,000 x 450 /
#   2250 = 15,000 over-invoiced.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/rellib.sh"
e2e_init people
T=$E2E_TMP
D=$T/data
IN=$T/in
mkdir -p "$D" "$IN"

ev() { printf '"event_id":"%s","occurred_at":"2026-11-11T09:00:00Z","source":"e2e","revision":1' "$1"; }
person() { # id team role employment supplier cost joined left
    echo "{$(ev "p-$1"),\"person_id\":\"$1\",\"name\":\"N $1\",\"team\":\"$2\",\"role\":\"$3\",\"billable\":true,\"employment\":\"$4\",\"supplier\":$5,\"weekly_capacity_minutes\":2250,\"working_days\":31,\"day_cost_minor\":$6,\"currency\":\"GBP\",\"joined_on\":\"$7\",\"left_on\":$8}"
}
{
    person P1 data CONSULTANT EMPLOYEE null 40000 2024-01-01 null
    person D1 '=HYPERLINK(\"x\")\u001b[31m' DELIVERY_MANAGER EMPLOYEE null 50000 2025-06-02 null
    person L1 data CONSULTANT EMPLOYEE null 40000 2025-01-06 '"2026-11-08"'
    person K1 data CONSULTANT CONTRACTOR '"Evil"' 60000 2026-01-05 null
} >"$IN/hr.person.jsonl"
echo "{$(ev g1),\"engagement_id\":\"G1\",\"client\":\"Acme\",\"name\":\"Build\",\"billing\":\"TIME_AND_MATERIALS\",\"lead\":\"SELF\",\"bill_to\":\"Acme Ltd\",\"currency\":\"GBP\",\"minutes_per_day\":450,\"budget_minor\":100000000,\"starts_on\":\"2026-01-01\",\"ends_on\":\"2027-06-30\",\"rate_card\":[{\"role\":\"CONSULTANT\",\"day_rate_minor\":80000,\"effective_from\":\"2026-01-01\"}],\"status\":\"ACTIVE\"}" >"$IN/delivery.engagement.jsonl"
{
    echo "{$(ev a1),\"allocation_id\":\"A1\",\"engagement_id\":\"G1\",\"person_id\":\"D1\",\"role\":\"DELIVERY_MANAGER\",\"percent\":100,\"first_day\":\"2026-11-09\",\"last_day\":\"2026-11-22\",\"status\":\"CONFIRMED\"}"
    echo "{$(ev a2),\"allocation_id\":\"A2\",\"engagement_id\":\"G1\",\"person_id\":null,\"role\":\"DELIVERY_MANAGER\",\"percent\":50,\"first_day\":\"2026-11-16\",\"last_day\":\"2026-11-20\",\"status\":\"PROPOSED\"}"
} >"$IN/delivery.allocation.jsonl"
: >"$IN/timesheet.entry.jsonl"
for d in 02 03 04 05 06; do
    echo "{$(ev "t-P1-$d"),\"entry_id\":\"E-P1-$d\",\"person_id\":\"P1\",\"engagement_id\":\"G1\",\"activity\":\"DELIVERY\",\"work_date\":\"2026-11-$d\",\"minutes\":450,\"status\":\"APPROVED\"}" >>"$IN/timesheet.entry.jsonl"
done
for d in 02 03 04 05; do
    echo "{$(ev "t-K1-$d"),\"entry_id\":\"E-K1-$d\",\"person_id\":\"K1\",\"engagement_id\":\"G1\",\"activity\":\"DELIVERY\",\"work_date\":\"2026-11-$d\",\"minutes\":450,\"status\":\"APPROVED\"}" >>"$IN/timesheet.entry.jsonl"
done
echo "{$(ev i1),\"invoice_id\":\"INV1\",\"person_id\":\"K1\",\"supplier\":\"<b>Evil</b> & Co\\u001b]0;x\",\"period_first_day\":\"2026-11-02\",\"period_last_day\":\"2026-11-08\",\"minutes_invoiced\":2250,\"amount_minor\":75000,\"currency\":\"GBP\",\"status\":\"RECEIVED\"}" >"$IN/finance.contractor_invoice.jsonl"

start_broker || {
    e2e_finish
    exit 1
}
check "the records are produced" produce_dir "$IN"
for s in billing people margin; do # margin after billing: it reads the lines billing published
    check "opsledger-$s folds to the end and publishes" svc_catch_up "$s" "$D" "$T/$s.log"
done
# 4 people, 1 engagement, 9 entries, 1 invoice and billing's 2 lines of 2026-W45
check "margin read billing's two lines of 2026-W45" test "$(status_of margin "$D" records)" = 17

# ---- headcount
run_ol "$T/hc.csv" "$T/hc.err" report headcount --from 2026-W45 --to 2026-W47 --format csv --data-dir "$D" ||
    fail "report headcount --format csv exits 0"
check "ORG 2026-W45: 3 employees (the leaver on Sunday counted), 1 leaver" \
    grep -q '^org,"org",2026-W45,3,30000,0,1,1,' "$T/hc.csv"
check "ORG 2026-W46: 2 employees, average 2.98, attrition 3355 bp, median tenure 531 days" \
    grep -q '^org,"org",2026-W46,2,20000,0,0,1,298,3355,531,' "$T/hc.csv"
check "delivery managers 2026-W47: supply 10000, demand 15000, ratio 6666, not ahead" \
    grep -q '^role,"DELIVERY_MANAGER",2026-W47,1,10000,0,0,0,[0-9]*,[0-9]*,[0-9]*,10000,15000,6666,false$' "$T/hc.csv"
check "the contractor is counted apart" grep -q '^employment,"CONTRACTOR",2026-W46,1,10000,' "$T/hc.csv"
check "CSV: a team that is a formula is neutralised and its escape sequence made visible" \
    grep -q "^team,\"'=HYPERLINK(\"\"x\"\")\\\\x1b\[31m\",2026-W46," "$T/hc.csv"
run_ol "$T/hc.txt" "$T/hc.err" report headcount --from 2026-W45 --to 2026-W47 --data-dir "$D" ||
    fail "report headcount (text) exits 0"
check "text: the delivery managers' week is SHORT at 66.66 %" grep -Eq '^  2026-W47 +1 +1\.00 +1\.50 +66\.66% .*SHORT$' "$T/hc.txt"
check "text: no raw control character" bash -c "! LC_ALL=C grep -q \$'\\x1b' '$T/hc.txt'"
run_ol "$T/hc.json" "$T/hc.err" report headcount --from 2026-W45 --to 2026-W47 --format json --data-dir "$D" ||
    fail "report headcount --format json exits 0"
check "JSON lines decode, the team kept exactly" python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
t = [r for r in rows if r["scope"] == "team" and r["week"] == "2026-W46" and r["id"].startswith("=HYPERLINK")]
assert len(t) == 1 and t[0]["id"] == "=HYPERLINK(\"x\")\x1b[31m" and t[0]["headcount"] == 1, t
o = [r for r in rows if r["scope"] == "org" and r["week"] == "2026-W46"][0]
assert o["attrition_bp"] == 3355 and o["median_tenure_days"] == 531, o
' "$T/hc.json"

# ---- margin
run_ol "$T/m.csv" "$T/m.err" report margin --week 2026-W45 --format csv --data-dir "$D" ||
    fail "report margin --format csv exits 0"
check "G1 2026-W45: revenue 720000, employees 200000, contractor 75000, margin 445000 = 6180 bp" \
    grep -q '^ENGAGEMENT,"G1","Acme",2026-W45,"GBP",720000,200000,75000,0,0,275000,445000,6180,2250,1800,0,0,' "$T/m.csv"
check "INV1: logged 1800, invoiced 2250, billed 1800, +450 minutes = 15000 over-invoiced" \
    grep -q '^CONTRACTOR,,,2026-W45,"GBP",.*,"INV1",2026-11-02,2026-11-08,RECEIVED,75000,1800,2250,1800,450,15000,0,0$' "$T/m.csv"
run_ol "$T/m.txt" "$T/m.err" report margin --week 2026-W45 --data-dir "$D" || fail "report margin (text) exits 0"
check "text: the invoice is flagged" grep -q 'INVOICE MISMATCH$' "$T/m.txt"
check "text: no raw control character" bash -c "! LC_ALL=C grep -q \$'\\x1b' '$T/m.txt'"
run_ol "$T/m.json" "$T/m.err" report margin --week 2026-W45 --format json --data-dir "$D" ||
    fail "report margin --format json exits 0"
check "JSON: the supplier kept exactly, the discrepancy flagged" python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
c = [r for r in rows if r["kind"] == "CONTRACTOR"][0]
assert c["supplier"] == "<b>Evil</b> & Co\x1b]0;x" and c["discrepancy"] is True and c["invoiced_minus_logged_minor"] == 15000, c
e = [r for r in rows if r["kind"] == "ENGAGEMENT"][0]
assert e["margin_bp"] == 6180 and e["revenue_minor"] == 720000, e
' "$T/m.json"
run_ol "$T/m.err2" "$T/m.err3" report margin --week 2026-W99 --data-dir "$D"
check "a week the year does not have is refused (exit 2)" test $? = 2

# ---- the weekly page (utilisation, forecast, assurance are not running: named, exit 3)
run_ol "$T/w.html" "$T/w.err" report weekly --week 2026-W46 --format html --data-dir "$D"
check "report weekly prints the page, incomplete (exit 3)" test $? = 3
check "HTML: the supplier is escaped" grep -q '&lt;b&gt;Evil&lt;/b&gt; &amp; Co' "$T/w.html"
check "HTML: no raw tag from the data" bash -c "! grep -q '<b>Evil' '$T/w.html'"
run_ol "$T/w.txt" "$T/w.err" report weekly --week 2026-W46 --data-dir "$D"
check "the page shows the delivery managers SHORT in 2026-W47" grep -Eq '^  2026-W47 +1 +1\.00 +1\.50 +66\.66% .*SHORT$' "$T/w.txt"
check "the page shows G1's margin of 2026-W45" grep -Eq '^  G1 +GBP +7200\.00 +2750\.00 +4450\.00 +61\.80%$' "$T/w.txt"
check "the page lists INV1" grep -Eq '^  INV1 +K1 ' "$T/w.txt"

stop_broker
assert_no_leftovers
e2e_finish
exit $?
