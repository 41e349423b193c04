#!/bin/sh
# make demo: the embedded broker and every service, a generated consultancy
# (200 people, 25 engagements, 12 weeks), fed through Kafka, then the reports
# an operations manager reads. The stack is left running with opsledger-web's
# pages reachable (URL and a token per role printed); `sh
# deploy/embedded/stack.sh stop var/demo` stops it. OPSLEDGER_DEMO_STOP=1
# stops everything at the end instead (as before the web pages), and so does
# any failure.
set -eu
BUILD=${1:-build}
STATE=${OPSLEDGER_DEMO_DIR:-var/demo}
BIN=$BUILD/bin
END_WEEK=${OPSLEDGER_DEMO_END_WEEK:-2026-W47}
# the pages on a free loopback port unless one is given (several demos may share a machine)
OPSLEDGER_WEB_LISTEN=${OPSLEDGER_WEB_LISTEN:-127.0.0.1:0}; export OPSLEDGER_WEB_LISTEN

cleanup() { sh deploy/embedded/stack.sh stop "$STATE" "$BUILD" || true; }
trap cleanup EXIT INT TERM
# a demo stack left running by the last `make demo` is stopped first
[ -d "$STATE" ] && sh deploy/embedded/stack.sh stop "$STATE" "$BUILD" >/dev/null 2>&1 || true
rm -rf "$STATE"
mkdir -p "$STATE"

echo "== generating a consultancy: 200 people, 25 engagements, 12 weeks to $END_WEEK"
"$BIN/opsledger" generate --people 200 --engagements 25 --weeks 12 --seed 1 --end-week "$END_WEEK" --out "$STATE/input"

echo "== starting the embedded broker and the services"
sh deploy/embedded/stack.sh start "$STATE" "$BUILD"
OPSLEDGER_BROKERS=$(cat "$STATE/bootstrap.txt"); export OPSLEDGER_BROKERS

echo "== producing the input topics (invalid lines are rejected by number, never sent)"
# --timestamp-field occurred_at: each record's Kafka timestamp is the instant
# its change happened (as a CDC producer would stamp it), so the archive's
# knowledge time follows data time and `replay --as-of` means "known then"
total=0
for t in hr.person delivery.engagement delivery.allocation hr.leave timesheet.entry finance.period \
         finance.expense finance.contractor_invoice delivery.risk ops.rota; do
    f="$STATE/input/$t.jsonl"
    [ -e "$f" ] || continue
    "$BIN/opsledger" produce "$t" --file "$f" --timestamp-field occurred_at
    total=$((total + $(grep -c . "$f")))
done
for f in "$STATE"/input/invalid/*.jsonl; do
    [ -e "$f" ] || continue
    t=$(basename "$f" .jsonl)
    echo "-- $t: invalid lines"
    "$BIN/opsledger" produce "$t" --file "$f" --timestamp-field occurred_at || true
done

# wait_for SERVICE TOPIC...: until the service has read every line produced to its inputs
wait_for() {
    svc=$1; shift
    want=0
    for t in "$@"; do want=$((want + $(grep -c . "$STATE/input/$t.jsonl"))); done
    i=0
    while :; do
        got=$("$BIN/opsledger" status "$svc" --data-dir "$STATE/data" 2>/dev/null | awk '$1=="records"{print $2}')
        [ "${got:-0}" -ge "$want" ] && break
        i=$((i + 1))
        if [ $i -gt 1200 ]; then echo "demo: $svc folded ${got:-0} of $want records in 120 s" >&2; exit 1; fi
        sleep 0.1
    done
    echo "== $svc has folded all $want records"
    "$BIN/opsledger" status "$svc" --data-dir "$STATE/data"
}
wait_for utilisation hr.person hr.leave timesheet.entry delivery.engagement
wait_for billing delivery.engagement delivery.allocation hr.person timesheet.entry finance.expense \
    finance.contractor_invoice finance.period

echo
echo "== report: utilisation, the last 6 weeks"
"$BIN/opsledger" report utilisation --to "$END_WEEK" --data-dir "$STATE/data"
echo "== query: one team, the last week"
"$BIN/opsledger" query utilisation --week "$END_WEEK" --team data --data-dir "$STATE/data" | head -25
LAST_CLOSED=$("$BIN/opsledger" tail finance.period --from-beginning 2>/dev/null | python3 -c '
import json, sys
closed = {}
for line in sys.stdin:
    v = json.loads(line)["value"]
    if v["revision"] >= closed.get(v["iso_week"], (0, ""))[0]:
        closed[v["iso_week"]] = (v["revision"], v["status"])
print(max([w for w, (r, s) in closed.items() if s == "CLOSED"] or ["'"$END_WEEK"'"]))')
echo
echo "== report: billing for the last invoiced week, $LAST_CLOSED"
"$BIN/opsledger" report billing --week "$LAST_CLOSED" --data-dir "$STATE/data"
echo
echo "== report: contractor invoices, the last 8 weeks"
"$BIN/opsledger" report contractors --from "$("$BIN/opsledger" week "$END_WEEK" -7)" --to "$END_WEEK" --data-dir "$STATE/data"
echo
echo "== missing timesheets published (ops.timesheet.missing), first 5"
"$BIN/opsledger" tail ops.timesheet.missing --from-beginning --count 5
echo
# settle SERVICE UPSTREAM...: until every upstream service's outbox is
# empty and SERVICE has read nothing new for 2 s (it reads their derived topics)
settle() {
    svc=$1; shift
    i=0; same=0; last=-1
    while [ $same -lt 20 ]; do
        busy=0
        for up in "$@"; do
            depth=$("$BIN/opsledger" status "$up" --data-dir "$STATE/data" 2>/dev/null | awk '$1=="outbox_depth"{print $2}')
            [ "${depth:-1}" = 0 ] || busy=1
        done
        got=$("$BIN/opsledger" status "$svc" --data-dir "$STATE/data" 2>/dev/null | awk '$1=="records"{print $2}')
        if [ $busy = 0 ] && [ "$got" = "$last" ]; then same=$((same + 1)); else same=0; fi
        last=$got
        i=$((i + 1))
        if [ $i -gt 1200 ]; then echo "demo: $svc did not settle in 120 s" >&2; exit 1; fi
        sleep 0.1
    done
}
# forecast: its upstream inputs, then the billing lines billing published
wait_for forecast hr.person hr.leave delivery.allocation delivery.engagement
settle forecast billing
echo
echo "== report: forecast, 12 weeks ahead"
"$BIN/opsledger" report forecast --data-dir "$STATE/data"
echo "== report: engagement budgets, worst first"
"$BIN/opsledger" report budgets --data-dir "$STATE/data"
echo
echo "== report: demand and supply per role"
"$BIN/opsledger" report demand --data-dir "$STATE/data"
echo
# forecast accuracy: the last 4 weeks that have ended in the data (END_WEEK
# is still running), each against the forecast replayed from the archive as
# of 4 weeks before it; the archive must have every input record first
wait_for archive hr.person hr.leave delivery.allocation delivery.engagement timesheet.entry finance.period \
    finance.expense finance.contractor_invoice delivery.risk ops.rota >/dev/null
ACC_TO=$("$BIN/opsledger" week "$END_WEEK" -1)
ACC_FROM=$("$BIN/opsledger" week "$END_WEEK" -4)
echo "== report: forecast accuracy, $ACC_FROM .. $ACC_TO (forecasts made 4 weeks earlier vs actuals)"
"$BIN/opsledger" report forecast-accuracy --from "$ACC_FROM" --to "$ACC_TO" --data-dir "$STATE/data"
# assurance: its upstream inputs, then what forecast and utilisation published
wait_for assurance delivery.risk delivery.engagement delivery.allocation ops.rota hr.leave
settle assurance forecast utilisation
# people: headcount and retention; the delivery managers' supply 12 weeks ahead
wait_for people hr.person hr.leave delivery.allocation
echo
echo "== report: headcount and retention, 12 weeks to $END_WEEK; delivery managers 12 weeks ahead"
"$BIN/opsledger" report headcount --from "$("$BIN/opsledger" week "$END_WEEK" -11)" \
    --to "$("$BIN/opsledger" week "$END_WEEK" 11)" --data-dir "$STATE/data"
# margin: its upstream inputs, then the billing lines billing published
wait_for margin hr.person delivery.engagement timesheet.entry finance.contractor_invoice finance.expense
settle margin billing
echo
echo "== report: margin of $LAST_CLOSED, lowest first; contractor invoices matched three ways"
"$BIN/opsledger" report margin --week "$LAST_CLOSED" --data-dir "$STATE/data"
echo
echo "== the weekly executive report (opsledger report weekly)"
"$BIN/opsledger" report weekly --week "$END_WEEK" --data-dir "$STATE/data"
"$BIN/opsledger" report weekly --week "$END_WEEK" --format html --out "$STATE/weekly-$END_WEEK.html" --data-dir "$STATE/data"
"$BIN/opsledger" report weekly --week "$END_WEEK" --format md --out "$STATE/weekly-$END_WEEK.md" --data-dir "$STATE/data"
echo
echo "== the weekly report is written to $STATE/weekly-$END_WEEK.html (one self-contained page) and $STATE/weekly-$END_WEEK.md"
# the web read side: its fold has read what every service published
settle web utilisation billing forecast assurance people margin
echo
echo "== opsledger-web: the API and pages over what the services published"
i=0
while [ ! -s "$STATE/web.url" ]; do
    i=$((i + 1)); if [ $i -gt 100 ]; then echo "demo: opsledger-web serve did not start (see $STATE/logs/web-serve.log)" >&2; exit 1; fi
    sleep 0.1
done
echo "   pages:  $(cat "$STATE/web.url")   (sign in with a token below)"
echo "   API:    curl -H 'Authorization: Bearer TOKEN' '$(cat "$STATE/web.url")api/v1/utilisation?week=$END_WEEK&scope=org'"
for r in exec ops finance; do
    tok=$("$BIN/opsledger" web token add "demo-$r" --role $r --data-dir "$STATE/data" 2>/dev/null)
    echo "   token for $r: $tok"
done
if [ "${OPSLEDGER_DEMO_STOP:-0}" = 1 ]; then
    echo
    echo "== stopping"
    exit 0
fi
trap - EXIT INT TERM
echo
echo "== the demo stack (broker, services, opsledger-web) keeps running so the pages stay reachable;"
echo "   stop it with:  sh deploy/embedded/stack.sh stop $STATE $BUILD"
