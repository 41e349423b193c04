#!/bin/bash
# The forecast end to end over a real broker process: utilisation, billing,
# archive and forecast running; billing's finance.billing.line feeds the
# forecast's spend; records are produced with --timestamp-field occurred_at
# so that their Kafka timestamp (the archive's knowledge time) is the instant
# the change happened. Then `report budgets` and `report forecast-accuracy`
# are checked against figures computed by hand below.
#
# The scenario (tests/e2e/fixtures/forecast/), all times UTC:
#   P1 Ada  team data, CONSULTANT, billable, 2250 min/week Mon-Fri (450 a day)
#   P2 Bo   team data, SENIOR,     billable, 2250 min/week Mon-Fri
#   G1 Acme T&M, GBP, 450 min/day, budget 1,000,000 minor (10,000.00),
#           2026-10-05 .. 2026-11-27, day rates CONSULTANT 60,000, SENIOR 90,000
#   A1 P1 100 % CONFIRMED, A2 P2 50 % CONFIRMED, both 2026-10-05 .. 2026-11-27
#      (known 2026-10-02 and 2026-10-06, in 2026-W40 and 2026-W41)
#   L1 P1 SICK on Wed 2026-11-04 (2026-W45), known that morning
#   L2 P2 HOLIDAY 2026-12-21 .. 24, booked 2026-11-09 (2026-W46)
#   timesheets, APPROVED DELIVERY on G1: P1 450 on 2026-11-02, 03, 05, 06 and
#   09; P2 300 on 2026-11-02 .. 06
#
# Billing lines (amount = minutes x day rate / 450):
#   G1|P1|2026-W45  1800 x 60000 / 450 = 240,000
#   G1|P2|2026-W45  1500 x 90000 / 450 = 300,000
#   G1|P1|2026-W46   450 x 60000 / 450 =  60,000
#   spent to date = 600,000 (the forecast's data week is 2026-W46, L2's)
# Forecast to complete, 2026-W47 Monday .. ends_on 2026-11-27 (10 days):
#   P1 10 x 450 x 60000 / 450 = 600,000; P2 10 x 225 x 90000 / 450 = 450,000
#   FTC = 1,050,000; EAC = 1,650,000
# Run-out week: cumulative by week W45 540,000, W46 600,000, W47 600,000 +
#   300,000 + 225,000 = 1,125,000 > 1,000,000: 2026-W47
#
# Forecast accuracy of 2026-W45: the forecast replayed as of the end of
# 2026-W41 (2026-10-11T23:59:59.999Z) knows both people and allocations, not
# the sick day; its data week is 2026-W41 (A2's occurred_at):
#   P1 avail 2250, alloc 2250, billable 2250; P2 avail 2250, alloc 1125
#   org = team data: avail 4500 (75.0 h), alloc 3375 (56.2 h), billable 3375
#   (56.2 h), utilisation 3375 x 10000 / 4500 = 7500 bp (75.00 %)
# Actual 2026-W45 (utilisation):
#   P1 capacity 2250 - sick 450 = 1800 available, billable 4 x 450 = 1800
#   P2 available 2250, billable 5 x 300 = 1500
#   org: available 4050 (67.5 h), billable 3300 (55.0 h),
#   3300 x 10000 / 4050 = 8148 bp (81.48 %)
# error = 7500 - 8148 = -648 bp (-6.48 points); mean absolute error 648 bp.
set -u
. "$(dirname "$0")/lib.sh"
e2e_init forecast

D=$E2E_TMP/data
IN=$FIXTURES/forecast
mkdir -p "$D"
start_broker || { e2e_finish; exit 1; }

for s in archive utilisation billing forecast; do
    "$BIN/opsledger-$s" run --data-dir "$D" >"$E2E_TMP/$s.log" 2>&1 </dev/null 3>&- 4>&- &
    _track $!
done

counter() { "$BIN/opsledger-$2" status --data-dir "$D" 2>/dev/null | awk -v k="$1" '$1==k{print $2}'; }
# caught_up SERVICE RECORDS: folded at least that many records, outbox drained
caught_up() {
    for _i in $(seq 600); do
        _n=$(counter records "$1")
        if [ "${_n:-0}" -ge "$2" ] && [ "$(counter outbox_depth "$1")" = "0" ]; then return 0; fi
        sleep 0.1
    done
    return 1
}

for t in hr.person delivery.engagement delivery.allocation hr.leave timesheet.entry; do
    run_ol "$E2E_TMP/p.out" "$E2E_TMP/p-$t.err" produce "$t" --file "$IN/$t.jsonl" --timestamp-field occurred_at ||
        { fail "produce $t"; dump "$E2E_TMP/p-$t.err"; }
done
run_ol "$E2E_TMP/tail-person.jsonl" "$E2E_TMP/tail.err" tail hr.person --from-beginning --count 2
check "produce --timestamp-field: the Kafka timestamp is the record's occurred_at" \
    grep -q '"timestamp":"2026-10-01T09:00:00.000Z".*"occurred_at":"2026-10-01T09:00:00' "$E2E_TMP/tail-person.jsonl"
check "utilisation caught up (15 records)" caught_up utilisation 15
check "billing caught up (15 records)" caught_up billing 15

# the billing lines billing published: the forecast and the archive read them too
run_ol "$E2E_TMP/lines.jsonl" "$E2E_TMP/tail.err" tail finance.billing.line --from-beginning
nlines=$(grep -c . "$E2E_TMP/lines.jsonl")
check "billing published its lines ($nlines records)" test "$nlines" -ge 3
check "forecast caught up (7 records + $nlines billing lines)" caught_up forecast $((7 + nlines))
check "archive caught up (17 records + $nlines billing lines)" caught_up archive $((17 + nlines))

# spent to date = the billing lines' amounts (last revision of each key)
sum=$(python3 - "$E2E_TMP/lines.jsonl" <<'PY'
import json, sys
last = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["key"] not in last or r["value"]["revision"] >= last[r["key"]]["revision"]:
        last[r["key"]] = r["value"]
print(sum(v["amount_minor"] for v in last.values()))
PY
)
check "the billing lines add up to the hand-computed 600000 (got $sum)" test "$sum" = 600000

run_ol "$E2E_TMP/eng.jsonl" "$E2E_TMP/tail.err" tail ops.forecast.engagement --from-beginning
python3 - "$E2E_TMP/eng.jsonl" >"$E2E_TMP/eng.txt" <<'PY'
import json, sys
last = None
for line in open(sys.argv[1]):
    v = json.loads(line)["value"]
    if last is None or v["revision"] >= last["revision"]:
        last = v
print(last["spent_to_date_minor"], last["forecast_to_complete_minor"], last["estimate_at_completion_minor"],
      last["budget_minor"], last["budget_runs_out_week"])
PY
check "ops.forecast.engagement G1: spent 600000, FTC 1050000, EAC 1650000, budget 1000000, runs out 2026-W47 (got $(cat "$E2E_TMP/eng.txt"))" \
    test "$(cat "$E2E_TMP/eng.txt")" = "600000 1050000 1650000 1000000 2026-W47"

run_ol "$E2E_TMP/budgets.txt" "$E2E_TMP/budgets.err" report budgets --data-dir "$D"
check "report budgets shows G1's spend to date 6,000.00 (= the billing lines)" grep -q 'G1.*6,000\.00' "$E2E_TMP/budgets.txt"
check "report budgets shows G1's run-out week 2026-W47" grep -q 'G1.*2026-W47' "$E2E_TMP/budgets.txt"
dump "$E2E_TMP/budgets.txt" "report budgets"

# forecast accuracy of 2026-W45, org and team data
run_ol "$E2E_TMP/acc.txt" "$E2E_TMP/acc.err" report forecast-accuracy --from 2026-W45 --to 2026-W45 --team data \
    --data-dir "$D"
acc_rc=$?
check "report forecast-accuracy exits 0 (got $acc_rc)" test "$acc_rc" = 0
want='  2026-W45 2026-W41       75.0       56.2       56.2   75.00%        67.5       55.0   81.48%   -6.48'
check "forecast-accuracy: org 2026-W45, forecast made in 2026-W41 vs actual, error -6.48 points" \
    grep -qxF -- "$want" "$E2E_TMP/acc.txt"
check "forecast-accuracy: the team data has the same line" \
    test "$(grep -cxF -- "$want" "$E2E_TMP/acc.txt")" = 2
check "forecast-accuracy: mean absolute error 648 bp" grep -qxF '  mean absolute error: 648 bp over 1 week' "$E2E_TMP/acc.txt"
dump "$E2E_TMP/acc.txt" "report forecast-accuracy --from 2026-W45 --to 2026-W45 --team data"
run_ol "$E2E_TMP/acc.csv" "$E2E_TMP/acc-csv.err" report forecast-accuracy --from 2026-W45 --to 2026-W45 \
    --format csv --data-dir "$D"
check "forecast-accuracy --format csv: exact minutes and basis points" grep -qxF \
    'org,"org",2026-W45,2026-W41,2026-10-11T23:59:59.999Z,4500,3375,3375,7500,4050,3300,8148,-648,""' "$E2E_TMP/acc.csv"
dump "$E2E_TMP/acc.csv" "report forecast-accuracy --format csv"
dump "$E2E_TMP/acc.err" "its stderr"
check "forecast-accuracy leaves no temporary directory behind" \
    test -z "$(find "${TMPDIR:-/tmp}" -maxdepth 1 -name 'opsledger-accuracy.*' -newer "$E2E_TMP/acc.txt" 2>/dev/null)"

# clear errors: a week that has not ended, a week nobody forecast, no archive
run_ol "$E2E_TMP/e1.out" "$E2E_TMP/e1.err" report forecast-accuracy --from 2026-W46 --to 2026-W46 --data-dir "$D"
check "forecast-accuracy refuses a week that has not ended (exit $?)" grep -q 'not a past week' "$E2E_TMP/e1.err"
run_ol "$E2E_TMP/e2.out" "$E2E_TMP/e2.err" report forecast-accuracy --from 2026-W39 --to 2026-W39 --data-dir "$D"
e2_rc=$?
check "forecast-accuracy names a week with no forecast and exits 1 (exit $e2_rc)" \
    sh -c "[ $e2_rc = 1 ] && grep -q '2026-W39: no forecast' '$E2E_TMP/e2.err'"
run_ol "$E2E_TMP/e3.out" "$E2E_TMP/e3.err" report forecast-accuracy --from 2026-W45 --to 2026-W45 --data-dir "$D" \
    --archive "$E2E_TMP/none"
check "forecast-accuracy without an archive says so" grep -q 'no audit archive at' "$E2E_TMP/e3.err"
run_ol "$E2E_TMP/e4.out" "$E2E_TMP/e4.err" report forecast-accuracy --from 2026-W45 --to 2026-W44 --data-dir "$D"
check "forecast-accuracy rejects --from after --to" grep -q 'is after --to' "$E2E_TMP/e4.err"

for e in e1 e2 e3 e4; do dump "$E2E_TMP/$e.err" "error case $e: stderr"; done
stop_broker
e2e_finish
