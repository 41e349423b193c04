#!/bin/sh
# make demo: the embedded broker and every service, a generated consultancy
# (200 people, 25 engagements, 12 weeks), fed through Kafka, then the reports
# an operations manager reads; everything is stopped cleanly at the end.
set -eu
BUILD=${1:-build}
STATE=${OPSLEDGER_DEMO_DIR:-var/demo}
BIN=$BUILD/bin
END_WEEK=${OPSLEDGER_DEMO_END_WEEK:-2026-W47}
rm -rf "$STATE"
mkdir -p "$STATE"

cleanup() { sh deploy/embedded/stack.sh stop "$STATE" "$BUILD" || true; }
trap cleanup EXIT INT TERM

echo "== generating a consultancy: 200 people, 25 engagements, 12 weeks to $END_WEEK"
"$BIN/opsledger" generate --people 200 --engagements 25 --weeks 12 --seed 1 --end-week "$END_WEEK" --out "$STATE/input"

echo "== starting the embedded broker and the services"
sh deploy/embedded/stack.sh start "$STATE" "$BUILD"
OPSLEDGER_BROKERS=$(cat "$STATE/bootstrap.txt"); export OPSLEDGER_BROKERS

echo "== producing the input topics (invalid lines are rejected by number, never sent)"
total=0
for t in hr.person delivery.engagement delivery.allocation hr.leave timesheet.entry finance.period \
         finance.expense finance.contractor_invoice delivery.risk ops.rota; do
    f="$STATE/input/$t.jsonl"
    [ -e "$f" ] || continue
    "$BIN/opsledger" produce "$t" --file "$f"
    total=$((total + $(grep -c . "$f")))
done
for f in "$STATE"/input/invalid/*.jsonl; do
    [ -e "$f" ] || continue
    t=$(basename "$f" .jsonl)
    echo "-- $t: invalid lines"
    "$BIN/opsledger" produce "$t" --file "$f" || true
done

echo "== waiting for the utilisation service to fold everything"
want=0
for t in hr.person hr.leave timesheet.entry delivery.engagement; do
    want=$((want + $(grep -c . "$STATE/input/$t.jsonl")))
done
i=0
while :; do
    got=$("$BIN/opsledger" status utilisation --data-dir "$STATE/data" 2>/dev/null | awk '$1=="records"{print $2}')
    [ "${got:-0}" -ge "$want" ] && break
    i=$((i + 1))
    if [ $i -gt 600 ]; then echo "demo: utilisation folded ${got:-0} of $want records in 60 s" >&2; exit 1; fi
    sleep 0.1
done
"$BIN/opsledger" status utilisation --data-dir "$STATE/data"

echo
echo "== report: utilisation, the last 6 weeks"
"$BIN/opsledger" report utilisation --to "$END_WEEK" --data-dir "$STATE/data"
echo "== query: one team, the last week"
"$BIN/opsledger" query utilisation --week "$END_WEEK" --team data --data-dir "$STATE/data" | head -25
echo "== missing timesheets published (ops.timesheet.missing), first 5"
"$BIN/opsledger" tail ops.timesheet.missing --from-beginning --count 5
echo
echo "== stopping"
