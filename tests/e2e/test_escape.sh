#!/bin/bash
# test_escape.sh — reports and queries cannot be injected (issue 14 item 8;
# SPEC section 4: "Every string that reaches a report is escaped for the
# format it is written in").
#
#  1. a generated consultancy (the scenario of test_weekly.sh: 40 people,
#     6 engagements, 4 weeks to 2026-W47, seed 5) whose every free-text field
#     (ids, names, team, role, client, bill_to, supplier, description, risk
#     summary and owner, service_id...) is prefixed with a hostile string:
#     <script>, <img onerror>, a newline and "## heading", a javascript:
#     link, quotes and commas, =1+1, =HYPERLINK(...), +, @, ESC[31m, CR, BEL,
#     DEL, a C1 CSI (U+009B), a bidi override (U+202E); every bill_to holds
#     commas, quotes, a CR LF and a tag (esccheck.py poison); the two
#     contractor invoices of tests/e2e/fixtures are added (the generator
#     writes none for this scenario);
#  2. produced to the embedded broker and folded by utilisation, billing,
#     forecast and assurance;
#  3. every query and report format is checked (esccheck.py):
#       terminal text: no raw control character (C0 but LF, DEL, C1, bidi),
#         valid UTF-8;
#       CSV: parses (python csv), every row has the header's column count,
#         numeric columns hold integers, no text cell starts with = + - @
#         TAB CR, free-text cells hold the values written (escaped);
#       JSON: printable ASCII only and the hostile values decode exactly;
#       Markdown: no raw HTML tag, no heading but the report's own, no link,
#         table rows keep their column count;
#       HTML: only the report's own tags, no event handler, no src;
#     and every check that the hostile data reached the output at all.
#  4. opsledger tail (JSON lines of the input records) likewise.
#
# Usage: BUILD=build bash tests/e2e/test_escape.sh   (or via tests/run-e2e.sh)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/rellib.sh"
e2e_init escape
T=$E2E_TMP
D=$T/data
W=2026-W47
ESCCHECK=$E2E_DIR/esccheck.py
MAP=$T/map.json

# esc_check KIND FILE LABEL [ARGS...]: esccheck.py's PASS/FAIL lines counted
ESC_N=0
esc_check() {
    local kind=$1 file=$2 label=$3 out line nfail=0 rc
    shift 3
    ESC_N=$((ESC_N + 1))
    out=$T/esccheck.$ESC_N.out
    bounded python3 "$ESCCHECK" "$kind" "$file" "$MAP" "$label" "$@" >"$out" 2>&1
    rc=$?
    while IFS= read -r line; do
        case $line in
        "PASS "*) pass "${line#PASS }" ;;
        "FAIL "*)
            fail "${line#FAIL }"
            nfail=$((nfail + 1))
            ;;
        *) printf '       %s\n' "$line" ;;
        esac
    done <"$out"
    [ "$rc" -eq 0 ] || [ "$nfail" -gt 0 ] || fail "esccheck.py $kind $label ran (exit status $rc)"
}

# out NAME ARGS...: opsledger ARGS into $T/NAME (stderr into $T/NAME.err); exit 0 checked
out() {
    local name=$1
    shift
    if run_ol "$T/$name" "$T/$name.err" "$@"; then
        pass "opsledger $* exits 0"
    else
        fail "opsledger $* exits 0"
        dump "$T/$name.err"
    fi
}

start_broker || { e2e_finish; exit 1; }
gen_data "$T/gen" --people 40 --engagements 6 --weeks 4 --seed 5 --end-week "$W"
# the generator writes no contractor invoice for this scenario: the fixtures' two
[ -s "$T/gen/finance.contractor_invoice.jsonl" ] || cp "$FIXTURES/finance.contractor_invoice.jsonl" "$T/gen/"
if n=$(bounded python3 "$ESCCHECK" poison "$T/gen" "$T/hostile" "$MAP" 2>"$T/poison.err"); then
    pass "esccheck.py poison made $n free-text values hostile"
else
    fail "esccheck.py poison rewrites the scenario"
    dump "$T/poison.err"
fi
check "the hostile scenario is produced to the broker" produce_dir "$T/hostile"
for s in utilisation billing forecast assurance people margin; do # margin after billing: it reads its lines
    check "opsledger-$s folds to the end and publishes" svc_catch_up "$s" "$D" "$T/$s.log" -o batch_max=100000
done

# utilisation
UNUM=capacity_minutes,leave_minutes,available_minutes,billable_minutes,sales_support_minutes,training_minutes
UNUM=$UNUM,internal_minutes,bench_minutes,live_support_minutes,non_billable_delivery_minutes,unclassified_minutes
UNUM=$UNUM,logged_minutes,utilisation_bp,target_bp,people
out util.txt query utilisation --week "$W" --data-dir "$D"
esc_check text "$T/util.txt" "query utilisation (table)"
out util.csv query utilisation --week "$W" --format csv --data-dir "$D"
esc_check csv "$T/util.csv" "query utilisation (csv)" "$UNUM" id,team
out util.json query utilisation --week "$W" --format json --data-dir "$D"
esc_check json "$T/util.json" "query utilisation (json)"
out utilrep.txt report utilisation --to "$W" --data-dir "$D"
esc_check text "$T/utilrep.txt" "report utilisation"

# billing
BNUM=approved_minutes,pending_minutes,unpriced_minutes,day_rate_minor,amount_minor
out bill.txt query billing --week "$W" --data-dir "$D"
esc_check text "$T/bill.txt" "query billing (table)"
out bill.csv query billing --week "$W" --format csv --data-dir "$D"
esc_check csv "$T/bill.csv" "query billing (csv)" "$BNUM" engagement_id,id,bill_to,role
out bill.json query billing --week "$W" --format json --data-dir "$D"
esc_check json "$T/bill.json" "query billing (json)"
out billrep.txt report billing --week "$W" --data-dir "$D"
esc_check text "$T/billrep.txt" "report billing"
out contr.txt report billing contractors --from 2026-W40 --to "$W" --data-dir "$D"
esc_check text "$T/contr.txt" "report billing contractors"

# forecast
FNUM=available_minutes,allocated_minutes,proposed_minutes,billable_minutes,utilisation_bp,bench_minutes
out fc.txt query forecast --data-dir "$D"
esc_check text "$T/fc.txt" "query forecast (table)"
out fc.csv query forecast --format csv --data-dir "$D"
esc_check csv "$T/fc.csv" "query forecast (csv)" "$FNUM" id,team
out fc.json query forecast --format json --data-dir "$D"
esc_check json "$T/fc.json" "query forecast (json)"
out fcrep.txt report forecast --data-dir "$D"
esc_check text "$T/fcrep.txt" "report forecast"
out budgets.txt report forecast budgets --data-dir "$D"
esc_check text "$T/budgets.txt" "report forecast budgets"
out demand.txt report forecast demand --data-dir "$D"
esc_check text "$T/demand.txt" "report forecast demand"

# assurance
out as.txt query assurance --week "$W" --data-dir "$D"
esc_check text "$T/as.txt" "query assurance (table)"
out as.json query assurance --week "$W" --format json --data-dir "$D"
esc_check json "$T/as.json" "query assurance (json)" array
out cover.txt query assurance cover --from 2026-11-16 --to 2026-11-29 --data-dir "$D"
esc_check text "$T/cover.txt" "query assurance cover (table)"
out cover.json query assurance cover --from 2026-11-16 --to 2026-11-29 --format json --data-dir "$D"
esc_check json "$T/cover.json" "query assurance cover (json)" array
out asrep.txt report assurance --week "$W" --data-dir "$D"
esc_check text "$T/asrep.txt" "report assurance"


# people
HNUM=headcount,fte_bp,joiners,leavers,window_leavers,avg_headcount_x100,attrition_bp,median_tenure_days
HNUM=$HNUM,dm_supply_fte_bp,dm_demand_fte_bp,dm_ratio_bp
out hc.txt report headcount --to "$W" --data-dir "$D"
esc_check text "$T/hc.txt" "report headcount (text)"
out hc.csv report headcount --to "$W" --format csv --data-dir "$D"
esc_check csv "$T/hc.csv" "report headcount (csv)" "$HNUM" id
out hc.json report headcount --to "$W" --format json --data-dir "$D"
esc_check json "$T/hc.json" "report headcount (json)"
out hcq.txt query people --week "$W" --data-dir "$D"
esc_check text "$T/hcq.txt" "query people (table)"

# margin (the last week ended: the contractor invoices of the fixtures overlap it)
MW=$("$OPSLEDGER" week "$W" -1)
MNUM=revenue_minor,employee_cost_minor,contractor_cost_minor,partner_cost_minor,expense_cost_minor,cost_minor
MNUM=$MNUM,margin_minor,margin_bp,employee_minutes,contractor_minutes,uninvoiced_minutes,uncosted_minutes
MNUM=$MNUM,invoice_amount_minor,minutes_logged,minutes_invoiced,minutes_billed,invoiced_minus_logged_minutes
MNUM=$MNUM,invoiced_minus_logged_minor,billed_minus_logged_minutes,billed_minus_logged_minor
out mg.txt report margin --week "$MW" --data-dir "$D"
esc_check text "$T/mg.txt" "report margin (text)"
out mg.csv report margin --week "$MW" --format csv --data-dir "$D"
esc_check csv "$T/mg.csv" "report margin (csv)" "$MNUM" engagement_id,client,person_id,supplier,invoice_id
out mg.json report margin --week "$MW" --format json --data-dir "$D"
esc_check json "$T/mg.json" "report margin (json)"
# the weekly report, three formats
out weekly.txt report weekly --week "$W" --data-dir "$D"
esc_check text "$T/weekly.txt" "report weekly (text)"
out weekly.md report weekly --week "$W" --format md --data-dir "$D"
esc_check md "$T/weekly.md" "report weekly (md)"
out weekly.out report weekly --week "$W" --format html --out "$T/weekly.html" --data-dir "$D"
esc_check html "$T/weekly.html" "report weekly (html)"

# tail: the input records as JSON lines
out tail.json tail hr.person --from-beginning
esc_check json "$T/tail.json" "tail hr.person"
esc_check text "$T/tail.json" "tail hr.person (terminal)"

stop_broker
e2e_finish
