#!/bin/sh
# bench_web.sh — the opsledger-web rows of `make bench` (issue 17's targets),
# kept apart from scripts/bench.sh because they need their own data set (the
# read side of a stack the upstream services have published, 5,000 people)
# and take minutes, not the hour of phase A. scripts/bench.sh runs it and
# puts its samples in its one table; it can also run alone:
#
#   sh scripts/bench_web.sh BUILD SAMPLES_FILE [SEED]
#
# What it measures, in one run on the embedded broker:
#   fold      each upstream service (utilisation, billing, forecast,
#             assurance) from offset 0 to caught up with its outbox
#             published, then opsledger-web run over what they published:
#             records/s of each, and the web fold's rate over the fastest
#             upstream service's, measured back to back on the same broker
#   serve     opsledger-web serve, wrk -t2 -cC -dD --latency: the API's one
#             week of every person (scope=person, 5,000 rows) as JSON, its
#             CSV, and every page; requests/s and p99 of each; then the
#             first answer of each page for a new argument, and over the
#             snapshot after a fold commit (one changed person)
#
# Environment: BENCH_WEB_PEOPLE [5000] BENCH_WEB_WEEKS [4] BENCH_END_WEEK
# [2026-W47] BENCH_WEB_SECONDS [8] BENCH_WEB_CONN [16]; BENCH_WEB_BEFORE=PATH
# (another opsledger-web, e.g. a build of main) serves the same data beside
# this build's, and each request is measured against it first and then
# against this build, back to back (rows "... (before)")
set -eu

BUILD=${1:-build}
SAMPLES=${2:?usage: bench_web.sh BUILD SAMPLES_FILE [SEED]}
SEED=${3:-1}
PEOPLE=${BENCH_WEB_PEOPLE:-5000}
WEEKS=${BENCH_WEB_WEEKS:-4}
END_WEEK=${BENCH_END_WEEK:-2026-W47}
SECS=${BENCH_WEB_SECONDS:-8}
CONN=${BENCH_WEB_CONN:-16}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
BIN=$BUILD/bin
BEFORE=${BENCH_WEB_BEFORE:-}
W=$BUILD/bench/web
LOG=$W/logs
UPSTREAM="utilisation billing forecast assurance"

say() { printf '%s bench web: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "FAILED: $*"; exit 1; }
sample() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" >>"$SAMPLES"; }
command -v wrk >/dev/null 2>&1 || die "wrk not found (make deps installs it)"
for b in opsledger $(for s in $UPSTREAM web; do echo "opsledger-$s"; done); do
    [ -x "$BIN/$b" ] || die "$BIN/$b not found (run make binaries)"
done

BROKER_PID= SERVE_PID= BEFORE_PID=
cleanup() {
    for p in $SERVE_PID $BEFORE_PID $BROKER_PID; do kill -TERM "$p" 2>/dev/null || true; done
    for p in $SERVE_PID $BEFORE_PID $BROKER_PID; do wait "$p" 2>/dev/null || true; done
    [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$W/data" "$W/input"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
rm -rf "$W"
mkdir -p "$LOG"

say "generating $PEOPLE people x $WEEKS weeks to $END_WEEK"
"$BIN/opsledger" generate --people "$PEOPLE" --engagements $((PEOPLE / 8)) --weeks "$WEEKS" --seed "$SEED" \
    --end-week "$END_WEEK" --out "$W/input" >/dev/null 2>"$LOG/generate.log" || die "generate (see $LOG/generate.log)"
"$BIN/opsledger" broker --partitions 16 --bootstrap-file "$W/bootstrap.txt" >/dev/null 2>"$LOG/broker.log" &
BROKER_PID=$!
i=0
until [ -s "$W/bootstrap.txt" ]; do
    i=$((i + 1)); [ $i -le 600 ] || die "the broker did not start"; sleep 0.1
done
OPSLEDGER_BROKERS=$(cat "$W/bootstrap.txt")
export OPSLEDGER_BROKERS
for t in hr.person delivery.engagement delivery.allocation hr.leave timesheet.entry finance.period \
    finance.expense finance.contractor_invoice delivery.risk ops.rota; do
    [ -s "$W/input/$t.jsonl" ] || continue
    "$BIN/opsledger" produce "$t" --file "$W/input/$t.jsonl" --timestamp-field occurred_at \
        -X linger.ms=200 -X batch.size=1000000 >/dev/null 2>>"$LOG/produce.log" || die "produce $t"
done

now() { date +%s.%N; }
records() { "$BIN/opsledger" status "$1" --data-dir "$W/data" 2>/dev/null | awk '$1 == "records" { print $2 }'; }
counter() { "$BIN/opsledger" status "$1" --data-dir "$W/data" 2>/dev/null | awk -v c="$2" '$1 == c { print $2 }'; }
# fold SVC: from offset 0 to caught up; prints records/s (read) and emitted/s (published)
fold() {
    t0=$(now)
    "$BIN/opsledger-$1" run --stop-at-end --data-dir "$W/data" -o map_size=8G 2>"$LOG/$1.log" ||
        die "opsledger-$1 run (see $LOG/$1.log)"
    t1=$(now)
    n=$(records "$1")
    depth=$("$BIN/opsledger" status "$1" --data-dir "$W/data" 2>/dev/null | awk '$1 == "outbox_depth" { print $2 }')
    [ "${depth:-0}" -eq 0 ] || die "$1 stopped with $depth unpublished outbox rows"
    e=$(counter "$1" emitted)
    awk -v n="$n" -v e="${e:-0}" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f %.1f", n / (b - a), e / (b - a) }'
    echo "$1: $n records read, ${e:-0} published in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s" >>"$W/notes.txt"
}
best=0 bestname=
for s in $UPSTREAM; do
    say "fold: opsledger-$s"
    set -- $(fold "$s")
    sample "web fold" "upstream $s publishes (offset 0 to caught up)" records/s - - "$2"
    if awk -v a="$best" -v b="$2" 'BEGIN { exit !(b > a) }'; then best=$2 bestname=$s; fi
done
say "fold: opsledger-web"
set -- $(fold web)
sample "web fold" "opsledger-web run reads (inputs and derived, offset 0 to caught up)" records/s - - "$1"
sample "web fold" "web fold / fastest publisher ($bestname)" x ">=" 1 "$(awk -v a="$1" -v b="$best" 'BEGIN { printf "%.3f", a / b }')"
if [ -n "$BEFORE" ]; then # the same fold by the other build, into its own directory, right after
    t0=$(now)
    "$BEFORE" run --stop-at-end --data-dir "$W/before-data" -o map_size=8G 2>"$LOG/web-before.log" ||
        die "the other build's opsledger-web run (see $LOG/web-before.log)"
    t1=$(now)
    n=$("$BIN/opsledger" status web --data-dir "$W/before-data" 2>/dev/null | awk '$1 == "records" { print $2 }')
    sample "web fold (before)" "opsledger-web run reads (the other build)" records/s - - \
        "$(awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }')"
    rm -rf "$W/before-data"
fi
# BENCH_WEB_PERF=1: the web fold once more, from offset 0 into a scratch
# directory, under perf record -g (the report: perf report -i $W/fold.perf.data)
if [ "${BENCH_WEB_PERF:-0}" = 1 ] && command -v perf >/dev/null 2>&1; then
    perf record -g -o "$W/fold.perf.data" -- "$BIN/opsledger-web" run --stop-at-end --data-dir "$W/perf-data" \
        -o map_size=8G >/dev/null 2>"$LOG/web-perf.log" || die "perf record of the web fold (see $LOG/web-perf.log)"
    rm -rf "$W/perf-data"
fi

# ------------------------------------------------------------ serve
TOKEN=$("$BIN/opsledger" web token add bench --role exec --data-dir "$W/data" 2>"$LOG/token.log") || die "token add"
# serve BIN NAME: starts it; sets SPID and SURL
serve() {
    "$1" serve --data-dir "$W/data" --listen 127.0.0.1:0 --url-file "$W/url.$2" >"$LOG/serve.$2.out" 2>"$LOG/serve.$2.log" &
    SPID=$!
    i=0
    until [ -s "$W/url.$2" ]; do
        i=$((i + 1)); kill -0 "$SPID" 2>/dev/null || die "serve exited (see $LOG/serve.$2.log)"
        [ $i -le 300 ] || die "serve did not start"; sleep 0.1
    done
    SURL=$(cat "$W/url.$2")
}
serve "$BIN/opsledger-web" after
SERVE_PID=$SPID URL=$SURL
if [ -n "$BEFORE" ]; then
    serve "$BEFORE" before
    BEFORE_PID=$SPID BURL=$SURL
fi
WK=$END_WEEK
AUTH="Authorization: Bearer $TOKEN"
n=$(curl -sf -H "$AUTH" "${URL}api/v1/utilisation?week=$WK&scope=person" | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])') ||
    die "the API did not answer"
[ "$n" -ge $((PEOPLE * 9 / 10)) ] || die "the API answered $n people of $PEOPLE for $WK"
# a billing line key and a person and an engagement id for their pages
LINE=$(curl -sf -H "$AUTH" "${URL}api/v1/billing?week=$("$BIN/opsledger" week "$WK" -2)" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["key"])' 2>/dev/null || true)
PERSON=$(head -n 1 "$W/input/hr.person.jsonl" | sed -n 's/.*"person_id":"\([^"]*\)".*/\1/p')
ENG=$(head -n 1 "$W/input/delivery.engagement.jsonl" | sed -n 's/.*"engagement_id":"\([^"]*\)".*/\1/p')
TEAM=$(head -n 1 "$W/input/hr.person.jsonl" | sed -n 's/.*"team":"\([^"]*\)".*/\1/p')

# wrk1 URL OUT: one wrk run; sets RPS and P99 (ms)
wrk1() {
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" "$1")
    [ "$code" = 200 ] || die "$1 answered $code"
    wrk -t2 -c"$CONN" -d"${SECS}s" --latency -H "$AUTH" -H "Accept-Encoding: $ENC" "$1" >"$2" 2>&1 || die "wrk $1 (see $2)"
    ! grep -q 'Non-2xx' "$2" || die "$1: non-2xx answers under load (see $2)"
    RPS=$(awk '$1 == "Requests/sec:" { print $2 }' "$2")
    # wrk leaves answers slower than its 2 s timeout out of the latencies:
    # when more than 1 % of them were, p99 is unknown (above 2 s)
    if awk '$2 == "requests" && $3 == "in" { n = $1 } /Socket errors/ { for (i = 1; i < NF; i++) if ($i == "timeout") t = $(i + 1) }
        END { exit !(n == 0 || t * 100 > n) }' "$2"; then
        P99=nan
        return 0
    fi
    P99=$(awk '$1 == "99%" { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) sub(/ms$/, "", v);
        else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 } printf "%.2f", v }' "$2")
}
# bench_url ROW FIGURE PATH [TARGET_RPS [TARGET_P99]]: wrk (before, then this build), then the samples
bench_url() {
    out=$W/wrk.$ENC.$(echo "$3" | tr -c 'a-zA-Z0-9\n' _)
    if [ -n "$BEFORE" ]; then
        wrk1 "$BURL${3#/}" "$out.before.txt"
        sample "$1 (before)" "$2 requests/s" req/s - - "$RPS"
        sample "$1 (before)" "$2 p99" ms - - "$P99"
        echo "before $1 ($3): $(grep -E 'Requests/sec|Latency ' "$out.before.txt" | tr -s ' ' | tr '\n' ' ')" >>"$W/notes.txt"
    fi
    wrk1 "$URL${3#/}" "$out.txt"
    if [ -n "${4:-}" ]; then sample "$1" "$2 requests/s" req/s ">=" "$4" "$RPS"; else sample "$1" "$2 requests/s" req/s - - "$RPS"; fi
    sample "$1" "$2 p99" ms "<=" "${5:-100}" "$P99"
    echo "$1 ($3): $(grep -E 'Requests/sec|Latency ' "$out.txt" | tr -s ' ' | tr '\n' ' ')" >>"$W/notes.txt"
}
say "serve: wrk -t2 -c$CONN -d${SECS}s against $URL"
# as a browser asks (Accept-Encoding: gzip; so does curl --compressed), and
# uncompressed: 2.8 MB per answer, bound by copying bytes through loopback
ENC=gzip
bench_url "web API" "utilisation, one week, $n people, JSON, gzip" "/api/v1/utilisation?week=$WK&scope=person" 2000 50
bench_url "web API" "the same as CSV, gzip" "/api/v1/utilisation.csv?week=$WK&scope=person"
ENC=identity
bench_url "web API" "utilisation, one week, $n people, JSON, uncompressed" "/api/v1/utilisation?week=$WK&scope=person"
ENC=gzip
for p in / /utilisation "/utilisation?team=$TEAM" "/person?id=$PERSON" "/engagement?id=$ENG" /billing \
    ${LINE:+"/billing/line?key=$LINE"} /contractors /forecast /demand /delivery /cover /weekly; do
    bench_url "web page" "$p" "$p"
done
# cold: the first answer of a request never asked before (an argument no
# request had), over the snapshot the requests above warmed: rendered from
# the read model; this build's row cache holds the rows by then
for p in "api/v1/utilisation?week=$WK&scope=person" "" utilisation "person?id=$PERSON" "engagement?id=$ENG" billing \
    contractors forecast demand delivery cover weekly; do
    for which in ${BEFORE:+before} after; do
        [ $which = before ] && u=$BURL || u=$URL
        case $p in *\?*) sep='&' ;; *) sep='?' ;; esac # an argument no request had: not in the cache
        t=$(curl -s -o /dev/null -w '%{time_total}' -H "$AUTH" -H "Accept-Encoding: gzip" "$u$p${sep}cold=1") || die "curl /$p"
        [ "$(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" "$u$p${sep}cold=1")" = 200 ] || die "/$p${sep}cold=1 is not 200"
        ms=$(awk -v t="$t" 'BEGIN { printf "%.1f", t * 1000 }')
        [ $which = before ] && sample "web cold (before)" "/$p first answer" ms - - "$ms" || sample "web cold" "/$p first answer" ms - - "$ms"
    done
done
# after a fold commit: one changed person (a higher revision) folded while
# both servers run; the first answer of each request over the new snapshot
# (the answer cache holds nothing for it; rows that did not change may be
# in this build's row cache, as in a live run where the fold commits often)
python3 - "$W/input/hr.person.jsonl" >"$W/commit.jsonl" <<'PY'
import json, sys
v = json.loads(open(sys.argv[1]).readline())
v.update(event_id="bench-web-commit-1", revision=v["revision"] + 1000, name=v["name"] + " (bench)")
print(json.dumps(v))
PY
"$BIN/opsledger" produce hr.person --file "$W/commit.jsonl" >/dev/null 2>>"$LOG/produce.log" || die "produce the commit's record"
"$BIN/opsledger-web" run --stop-at-end --data-dir "$W/data" -o map_size=8G 2>"$LOG/web-commit.log" || die "the commit's fold"
for p in "api/v1/utilisation?week=$WK&scope=person" "" utilisation "person?id=$PERSON" "engagement?id=$ENG" billing \
    contractors forecast demand delivery cover weekly; do
    for which in ${BEFORE:+before} after; do
        [ $which = before ] && u=$BURL || u=$URL
        t=$(curl -s -o /dev/null -w '%{time_total}' -H "$AUTH" -H "Accept-Encoding: gzip" "$u$p") || die "curl /$p"
        ms=$(awk -v t="$t" 'BEGIN { printf "%.1f", t * 1000 }')
        [ $which = before ] && sample "web after a commit (before)" "/$p first answer" ms - - "$ms" ||
            sample "web after a commit" "/$p first answer" ms "<=" 100 "$ms"
    done
done
for p in $SERVE_PID $BEFORE_PID; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
SERVE_PID= BEFORE_PID=
grep -h 'cache_hits' "$LOG/serve.after.log" | tail -n 1 >>"$W/notes.txt" || true
say "done: $(wc -l <"$SAMPLES") samples; notes in $W/notes.txt"
