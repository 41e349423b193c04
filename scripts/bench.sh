#!/bin/sh
# make bench: one table of every performance figure of the issue, measured in
# one run on the embedded broker, each the median of BENCH_RUNS runs with the
# min and max shown, written as CSV to BUILD/bench/results.csv.
#
#   sh scripts/bench.sh BUILD [N] [SEED]          N input records (default 2000000), SEED (default 1)
#
# Phase A (N records): `opsledger generate` (5,000 people, as many weeks as
# give about N records), the embedded broker with enough partitions that no
# partition exceeds the mock broker's retention (5 MiB or 100,000 message
# sets), `opsledger produce` of the 10 input topics, then
#   raw          tests/bench/raw_consume.c reads all N records from offset 0
#   services     opsledger-<svc> run --stop-at-end into a fresh data dir, from
#                offset 0 to caught up with its outbox published; runs are
#                interleaved raw, utilisation, billing, archive so that each
#                ratio pairs runs taken back to back
#   replay       opsledger replay <svc> --as-of 2100-01-01T00:00:00Z of run 1
#   query        opsledger report utilisation --from W --to W, report
#                utilisation --to W (6 weeks), report billing --week W' on the
#                run-1 projections (5,000 people), wall time of the command
#   latency      tests/bench/paced_produce.c at BENCH_LAT_RATE records/s against
#                a live opsledger-utilisation (see that file for the definition)
#   web          scripts/bench_web.sh (its own 5,000-person data set): the web
#                fold's rate beside the upstream services' publish rates, wrk
#                against opsledger-web serve (API and every page)
# Phase B (memory, BENCH_SCALE x N records): a second data set of SCALE x N
# records (5,000 people and more weeks; past the generator's 260 weeks, more
# people), split at the instant T where N records have occurred; the
# records up to T are loaded and every service is run from offset 0 (RSS at
# N), then the rest is loaded and every service is run again from offset 0
# over all SCALE x N records (RSS at SCALE x N). Both on the same broker.
# Each stage starts with the bare consumer, so the same runs also give every
# service's rate and ratio to raw at N and at SCALE x N of this data set.
#
# Environment (defaults in brackets):
#   BENCH_RUNS [3]              runs per figure (at least 3 for the issue)
#   BENCH_SCALE [10]            memory phase scale; 0 or 1 skips phase B
#   BENCH_MEM_RUNS [BENCH_RUNS] runs per memory figure
#   BENCH_BATCH_MAX [50000]     -o batch_max for the throughput runs (the default of the services)
#   BENCH_LAT_BATCH_MAX ["50000 500"]  batch_max values the latency is measured at
#   BENCH_LAT_RATE [10000]  BENCH_LAT_SECONDS [20]
#   BENCH_LAT_LINGER [1]  linger.ms of the probe's producer
#   BENCH_LAT_BEFORE [unset]  the bin directory of another build: its
#                  utilisation folds its own copy of the data and takes the
#                  latency probe in turn with this build's (rows "(before)"),
#                  so a change is measured side by side under the same load
#   BENCH_PARTITIONS        force the partition count of phase A (phase B: BENCH_PARTITIONS_B)
#   BENCH_PEOPLE [5000]  BENCH_END_WEEK [2026-W47]
#   BENCH_KEEP [0]              1 keeps BUILD/bench/work (data, projections) afterwards
#   BENCH_TIMEOUT [1800]        per-command limit in seconds
#   BENCH_MAP_SIZE [64G]        -o map_size of every service (the default 1G is full at ~2M records)
# Needs a quiet machine: the figures are only comparable when nothing else runs.
set -eu

BUILD=${1:-build}
N=${2:-2000000}
SEED=${3:-1}
RUNS=${BENCH_RUNS:-3}
SCALE=${BENCH_SCALE:-10}
MEM_RUNS=${BENCH_MEM_RUNS:-$RUNS}
BATCH=${BENCH_BATCH_MAX:-50000}
LAT_BATCHES=${BENCH_LAT_BATCH_MAX:-50000 500}
LAT_RATE=${BENCH_LAT_RATE:-10000}
LAT_SECS=${BENCH_LAT_SECONDS:-20}
LAT_LINGER=${BENCH_LAT_LINGER:-1}
PEOPLE=${BENCH_PEOPLE:-5000}
END_WEEK=${BENCH_END_WEEK:-2026-W47}
KEEP=${BENCH_KEEP:-0}
TMO=${BENCH_TIMEOUT:-1800}
MAP=${BENCH_MAP_SIZE:-64G} # the 1G default map is full at ~2,000,000 records (utilisation)

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
BIN=$BUILD/bin
OUT=$BUILD/bench
HB=$OUT/bin
WORK=$OUT/work
SAMPLES=$OUT/samples.tsv
SETUP=$OUT/setup.txt
NOTES=$OUT/notes.txt
LOG=$OUT/logs

ALL_TOPICS="hr.person hr.leave delivery.engagement delivery.allocation timesheet.entry finance.contractor_invoice finance.expense finance.period delivery.risk ops.rota"
# every service binary (as deploy/embedded/stack.sh finds them): those that
# publish what others read first, the archive last
SERVICES=
for s in utilisation billing $(ls "$BIN" 2>/dev/null | sed -n 's/^opsledger-//p'); do
    [ "$s" != archive ] && [ -x "$BIN/opsledger-$s" ] || continue
    case " $SERVICES " in *" $s "*) continue ;; esac
    SERVICES="$SERVICES $s"
done
[ ! -x "$BIN/opsledger-archive" ] || SERVICES="$SERVICES archive"
SERVICES=${SERVICES# }
# BENCH_SERVICES narrows the services (utilisation always runs: latency and
# query use its run-1 projection); BENCH_SKIP="replay query latency floor metrics web" skips parts
if [ -n "${BENCH_SERVICES:-}" ]; then
    SERVICES=utilisation
    for s in $BENCH_SERVICES; do [ "$s" = utilisation ] || SERVICES="$SERVICES $s"; done
fi
SKIP=" ${BENCH_SKIP:-} "
skipped() { case $SKIP in *" $1 "*) return 0 ;; esac; return 1; }
# a replay reads the archive's run-1 directory: the archive runs whenever replay does
if ! skipped replay && [ -x "$BIN/opsledger-archive" ]; then
    case " $SERVICES " in *" archive "*) ;; *) SERVICES="$SERVICES archive" ;; esac
fi

for b in opsledger opsledger-utilisation opsledger-billing; do
    [ -x "$BIN/$b" ] || { echo "bench: $BIN/$b not found (run make binaries)" >&2; exit 1; }
done
case $N in '' | *[!0-9]*) echo "bench: N must be a number of records" >&2; exit 2 ;; esac
[ "$N" -ge 20000 ] || { echo "bench: N must be at least 20000" >&2; exit 2; }
[ "$RUNS" -ge 1 ] || { echo "bench: BENCH_RUNS must be >= 1" >&2; exit 2; }

say() { printf '%s bench: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "FAILED: $*"; exit 1; }

# ------------------------------------------------------------ processes
BROKER_PID=
LIVE_PID=
CUR_PID=
cleanup() {
    trap - EXIT INT TERM
    for p in $CUR_PID $LIVE_PID; do kill -TERM "$p" 2>/dev/null || true; done
    for p in $CUR_PID $LIVE_PID; do
        i=0
        while kill -0 "$p" 2>/dev/null && [ $i -lt 150 ]; do i=$((i + 1)); sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
    done
    stop_broker
    if [ "$KEEP" != 1 ] && [ -d "$WORK" ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'say interrupted; exit 130' INT TERM

# runs "$@" in the background and waits for it, so that a signal reaches the
# trap at once; returns its status
run_wait() {
    "$@" &
    CUR_PID=$!
    rc=0
    wait "$CUR_PID" || rc=$?
    CUR_PID=
    return $rc
}

start_broker() { # PARTITIONS DIR
    mkdir -p "$2"
    rm -f "$2/bootstrap.txt"
    "$BIN/opsledger" broker --partitions "$1" --bootstrap-file "$2/bootstrap.txt" >/dev/null 2>"$2/broker.log" &
    BROKER_PID=$!
    i=0
    while [ ! -s "$2/bootstrap.txt" ]; do
        i=$((i + 1))
        kill -0 "$BROKER_PID" 2>/dev/null || die "the broker exited (see $2/broker.log)"
        [ $i -le 600 ] || die "the broker did not start in 60 s (see $2/broker.log)"
        sleep 0.1
    done
    OPSLEDGER_BROKERS=$(cat "$2/bootstrap.txt")
    export OPSLEDGER_BROKERS
    say "broker at $OPSLEDGER_BROKERS, $1 partitions per topic"
}

stop_broker() {
    [ -n "$BROKER_PID" ] || return 0
    kill -TERM "$BROKER_PID" 2>/dev/null || true
    i=0
    while kill -0 "$BROKER_PID" 2>/dev/null; do
        i=$((i + 1))
        [ $i -le 100 ] || { kill -KILL "$BROKER_PID" 2>/dev/null || true; break; }
        sleep 0.1
    done
    wait "$BROKER_PID" 2>/dev/null || true
    BROKER_PID=
}

# ------------------------------------------------------------ samples
# sample ROW FIGURE UNIT OP TARGET VALUE
sample() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" >>"$SAMPLES"; }
field() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" "$2"; } # field NAME FILE (key=value line)
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a != "nan") printf "%.6f", a / b; else print "nan" }'; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; } # utime + stime of pid (clock ticks)
machine_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; } # busy ticks of all cores
cores() { awk -v a="$1" -v b="$2" -v t0="$3" -v t1="$4" -v hz="$(getconf CLK_TCK)" 'BEGIN { if (t1 > t0) printf "%.2f", (b - a) / hz / (t1 - t0); else print "nan" }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { if (s + 0 > 0) printf "%.1f", n / s; else print "nan" }'; }

# ------------------------------------------------------------ helpers
rm -rf "$WORK" "$LOG" "$SAMPLES" "$SETUP" "$NOTES"
mkdir -p "$HB" "$WORK" "$LOG"
: >"$SAMPLES"
: >"$NOTES"
# the packages libopsledger.a links (the Makefile's PKGS but cmocka): the registry client needs libcurl, the HTTP listener libmicrohttpd, gzip zlib
PKGS="rdkafka avro-c lmdb jansson libcrypto libmicrohttpd libcurl zlib"
CFLAGS_B="-std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Icommon $(pkg-config --cflags $PKGS)"
LIBS_B="$BUILD/lib/libopsledger.a $(pkg-config --libs $PKGS) -lpthread -lm"
for p in raw_consume paced_produce rsswrap lmdb_floor state_floor; do
    # shellcheck disable=SC2086
    cc $CFLAGS_B -o "$HB/$p" "tests/bench/$p.c" $LIBS_B || die "cannot compile tests/bench/$p.c"
done

# count_lines DIR TOPIC...: records of these topics in DIR/<topic>.jsonl
count_lines() {
    d=$1
    shift
    t=0
    for tp in "$@"; do
        [ -s "$d/$tp.jsonl" ] && t=$((t + $(grep -c . "$d/$tp.jsonl")))
    done
    echo $t
}

# generate PEOPLE WEEKS DIR
generate() {
    mkdir -p "$(dirname "$3")"
    eng=$(($1 / 8))
    [ $eng -ge 6 ] || eng=6
    "$BIN/opsledger" generate --people "$1" --engagements $eng --weeks "$2" --seed "$SEED" \
        --end-week "$END_WEEK" --out "$3" >/dev/null 2>"$3.log" || die "generate (see $3.log)"
}

# shape M: "PEOPLE WEEKS" giving about M records (calibrated below)
shape() {
    awk -v m="$1" -v base="$CAL_BASE" -v pw="$CAL_PW" -v people="$PEOPLE" 'BEGIN {
        w = int((m - base) / pw + 0.5)
        if (w < 1) { w = 1; p = int(people * m / (base + pw) + 0.5); if (p < 20) p = 20 }
        else if (w > 260) { w = 260; p = int(people * m / (base + 260 * pw) + 0.5) }
        else p = people
        print p, w }'
}

# partitions BYTES LINES (of timesheet.entry, the largest topic, as JSON):
# per-topic partition count so that no partition keeps more than ~3 MiB of
# Avro (about 40 % of the JSON; the mock broker drops the oldest message sets
# past 5 MiB), with room for the skew of key hashing
partitions() {
    awk -v bytes="$1" -v lines="$2" 'BEGIN {
        p = int(bytes * 0.4 / (3 * 1048576)) + 1
        q = int(lines / 40000) + 1
        if (q > p) p = q
        if (p < 8) p = 8
        if (p > 1024) p = 1024
        print p }'
}
ts_size() { cat "$@" | wc -c; }
ts_lines() { cat "$@" | grep -c . || true; }

# load DIR: every input topic of DIR into the broker; timesheet.entry (most
# of the records) by two producers in parallel, split by person so that every
# key keeps its order. The producers batch up to 1 MB per partition: the mock
# broker answers a Fetch with ONE message set per partition, so the rate any
# consumer reads at is proportional to the producer's batch size (with the
# default linger.ms=5 a 2,000,000-record load reads at ~30,000 records/s);
# 1 MB batches make it behave like a real broker (up to
# max.partition.fetch.bytes per partition and fetch)
PRODUCE_X="-X linger.ms=1000 -X batch.num.messages=1000000 -X batch.size=1000000 -X queue.buffering.max.messages=2000000"
load() {
    d=$1
    : >"$d/ts.0.jsonl"
    : >"$d/ts.1.jsonl"
    awk -v a="$d/ts.0.jsonl" -v b="$d/ts.1.jsonl" '{
        if (match($0, /"person_id":"[^"]*"/)) { s = substr($0, RSTART + 15, RLENGTH - 16); h = 0
            for (i = 1; i <= length(s); i++) h = (h * 31 + index("0123456789abcdefghijklmnopqrstuvwxyz-", substr(s, i, 1))) % 65521 }
        print > (h % 2 ? b : a) }' "$d/timesheet.entry.jsonl"
    pids=
    for part in 0 1; do
        "$BIN/opsledger" produce timesheet.entry --file "$d/ts.$part.jsonl" $PRODUCE_X 2>"$LOG/produce.ts.$part.log" &
        pids="$pids $!"
    done
    for t in $ALL_TOPICS; do
        [ "$t" = timesheet.entry ] && continue
        [ -s "$d/$t.jsonl" ] || continue
        "$BIN/opsledger" produce "$t" --file "$d/$t.jsonl" $PRODUCE_X 2>"$LOG/produce.$t.log" || die "produce $t (see $LOG/produce.$t.log)"
    done
    for p in $pids; do wait "$p" || die "produce timesheet.entry (see $LOG/produce.ts.*.log)"; done
    rm -f "$d/ts.0.jsonl" "$d/ts.1.jsonl"
}

# svc_run SVC DATADIR RESULTFILE: one service from offset 0 to caught up
svc_run() {
    run_wait "$HB/rsswrap" "$3" "$TMO" "$BIN/opsledger-$1" run --stop-at-end --data-dir "$2" -o batch_max="$BATCH" -o map_size="$MAP" ${BENCH_SVC_OPTS:-} \
        2>"$LOG/$1.$(basename "$2").log" || die "opsledger-$1 run failed (see $LOG/$1.$(basename "$2").log)"
}

# offsets_sum SVC DIR [TOPIC...]: the sum of the next offsets the service
# stored (all topics, or only these): the records it had to read
offsets_sum() {
    svc=$1 dir=$2
    shift 2
    "$BIN/opsledger" status "$svc" --db "$dir" 2>/dev/null | awk -v only="$*" '
        BEGIN { n = split(only, a, " "); for (i = 1; i <= n; i++) want[a[i]] = 1 }
        $1 ~ /^offset\// { split($1, k, "/"); if (n == 0 || (k[2] in want)) s += $2 }
        END { print s + 0 }'
}
counter() { "$BIN/opsledger" status "$1" --db "$2" 2>/dev/null | awk -v c="$3" '$1 == c { print $2 }'; }
# base_inputs SVC DIR: the input topics of the data set the service consumed
base_inputs() {
    "$BIN/opsledger" status "$1" --db "$2" 2>/dev/null | awk -v all="$ALL_TOPICS" '
        BEGIN { n = split(all, a, " "); for (i = 1; i <= n; i++) base[a[i]] = 1 }
        $1 ~ /^offset\// { split($1, k, "/"); if ((k[2] in base) && !(k[2] in seen)) { seen[k[2]] = 1; printf "%s ", k[2] } }'
}

# check_records SVC DBDIR EXPECTED_BASE_RECORDS: sets READ to the records
# the service read. Dies when it did not reach the end of the generated input
# topics or left outbox rows unpublished; notes when the broker had dropped
# old records of a derived topic it reads (the archive reads some)
check_records() {
    got=$(counter "$1" "$2" records)
    base=$(offsets_sum "$1" "$2" $(base_inputs "$1" "$2"))
    all=$(offsets_sum "$1" "$2")
    [ "$base" -eq "$3" ] || die "$1 reached offsets summing to $base in the input topics, expected $3"
    if [ "${got:-0}" -ne "$all" ]; then
        [ "${got:-0}" -ge "$3" ] || die "$1 read ${got:-0} records of $3: records were lost to the broker's retention (raise BENCH_PARTITIONS)"
        echo "note: $1 read ${got:-0} of the $all records its offsets span: the broker had dropped old derived records" >>"$NOTES"
    fi
    depth=$(counter "$1" "$2" outbox_depth)
    [ "${depth:-0}" -eq 0 ] || die "$1 stopped with $depth unpublished outbox rows"
    READ=${got:-0}
}

secs() { field wall_s "$1"; }
mib() { awk -v k="$(field "$2" "$1")" 'BEGIN { printf "%.1f", k / 1024 }'; }

# ------------------------------------------------------------ calibration
say "calibrating the generator ($PEOPLE people)"
generate "$PEOPLE" 2 "$WORK/cal2"
generate "$PEOPLE" 4 "$WORK/cal4"
c2=$(count_lines "$WORK/cal2" $ALL_TOPICS)
c4=$(count_lines "$WORK/cal4" $ALL_TOPICS)
CAL_PW=$(((c4 - c2) / 2))
CAL_BASE=$((c2 - 2 * CAL_PW))
rm -rf "$WORK/cal2" "$WORK/cal4" "$WORK"/cal*.log

# ================================================================ phase A
set -- $(shape "$N")
A_PEOPLE=$1 A_WEEKS=$2
A=$WORK/a
say "phase A: generating $A_PEOPLE people x $A_WEEKS weeks (seed $SEED)"
generate "$A_PEOPLE" "$A_WEEKS" "$A/input"
A_TOTAL=$(count_lines "$A/input" $ALL_TOPICS)
P_A=${BENCH_PARTITIONS:-$(partitions "$(ts_size "$A/input/timesheet.entry.jsonl")" "$(ts_lines "$A/input/timesheet.entry.jsonl")")}
start_broker "$P_A" "$A/broker"
t0=$(date +%s)
load "$A/input"
say "loaded $A_TOTAL records in $(($(date +%s) - t0)) s"

cat >"$SETUP" <<EOF
opsledger bench: N=$N requested, $A_TOTAL records generated ($A_PEOPLE people x $A_WEEKS weeks to $END_WEEK, seed $SEED),
$P_A partitions per topic, batch_max=$BATCH, $RUNS runs per figure; $(nproc) cores, $(uname -r), $(date -u +%Y-%m-%dT%H:%M:%SZ)
command: sh scripts/bench.sh $(basename "$BUILD") $N $SEED  (BENCH_SCALE=$SCALE BENCH_RUNS=$RUNS BENCH_MEM_RUNS=$MEM_RUNS)
EOF

# a first raw read checks that the broker kept every record (and warms it)
"$HB/raw_consume" "$OPSLEDGER_BROKERS" "$(echo $ALL_TOPICS | tr ' ' ',')" >"$WORK/raw.check" 2>"$LOG/raw.check.log" ||
    die "raw consumer (see $LOG/raw.check.log)"
got=$(field records "$WORK/raw.check")
[ "$got" -eq "$A_TOTAL" ] || die "the broker holds $got of $A_TOTAL records: raise BENCH_PARTITIONS (now $P_A)"

for r in $(seq "$RUNS"); do
    say "run $r/$RUNS: raw consumer"
    run_wait "$HB/rsswrap" "$WORK/raw.$r" "$TMO" "$HB/raw_consume" "$OPSLEDGER_BROKERS" "$(echo $ALL_TOPICS | tr ' ' ',')" \
        >"$WORK/raw.$r.out" 2>"$LOG/raw.$r.log" || die "raw consumer (see $LOG/raw.$r.log)"
    [ "$(field records "$WORK/raw.$r.out")" -eq "$A_TOTAL" ] || die "raw consumer read $(field records "$WORK/raw.$r.out") records"
    raw_rate=$(rate "$A_TOTAL" "$(secs "$WORK/raw.$r")")
    echo "$raw_rate" >"$WORK/raw.rate.$r"
    sample raw "all 10 input topics from offset 0" records/s - - "$raw_rate"
    for s in $SERVICES; do
        say "run $r/$RUNS: $s"
        d=$A/run$r
        svc_run "$s" "$d" "$WORK/$s.$r"
        check_records "$s" "$d/$s" "$(count_lines "$A/input" $(base_inputs "$s" "$d/$s"))"
        n=$READ
        v=$(rate "$n" "$(secs "$WORK/$s.$r")")
        sample "$s" "offset 0 to caught up" records/s - - "$v"
        echo "$s run $r: $n records in $(secs "$WORK/$s.$r") s, peak RSS $(mib "$WORK/$s.$r" maxrss_kb) MiB" >>"$NOTES"
        sample "$s" "ratio to raw" x ">=" 0.5 "$(div "$v" "$raw_rate")"
    done
    [ "$r" -eq 1 ] || rm -rf "$A/run$r"
done

# ------------------------------------------------------------ replay
for s in utilisation billing; do
    skipped replay && break
    case " $SERVICES " in *" $s "*) ;; *) continue ;; esac
    for r in $(seq "$RUNS"); do
        say "replay $s, run $r/$RUNS"
        rm -rf "$WORK/replay.$s"
        run_wait "$HB/rsswrap" "$WORK/replay.$s.$r" "$TMO" "$BIN/opsledger" replay "$s" --as-of 2100-01-01T00:00:00Z -o map_size="$MAP" \
            --out "$WORK/replay.$s" --data-dir "$A/run1" 2>"$LOG/replay.$s.$r.log" || die "replay $s (see $LOG/replay.$s.$r.log)"
        n=$(counter "$s" "$WORK/replay.$s" records)
        sample "replay $s" "archive to projection" records/s ">=" 1000000 "$(rate "$n" "$(secs "$WORK/replay.$s.$r")")"
        echo "replay $s run $r: $n records in $(secs "$WORK/replay.$s.$r") s" >>"$NOTES"
    done
    rm -rf "$WORK/replay.$s"
done

# ------------------------------------------------------------ query
QW=$END_WEEK
BW=$("$BIN/opsledger" week "$END_WEEK" -2) # the last CLOSED week of the generated finance periods
report_people=$(grep -c . "$A/input/hr.person.jsonl")
skipped query || {
for r in $(seq $((RUNS > 5 ? RUNS : 5))); do
    for q in util1 util6 billing; do
        case $q in
        util1) set -- report utilisation --from "$QW" --to "$QW" ;;
        util6) set -- report utilisation --to "$QW" ;;
        billing) set -- report billing --week "$BW" ;;
        esac
        run_wait "$HB/rsswrap" "$WORK/q.$q.$r" 60 "$BIN/opsledger" "$@" --data-dir "$A/run1" >"$WORK/q.$q.out" 2>&1 ||
            die "opsledger $* failed: $(head -3 "$WORK/q.$q.out")"
        ms=$(awk -v s="$(secs "$WORK/q.$q.$r")" 'BEGIN { printf "%.3f", s * 1000 }')
        case $q in
        util1) sample "query" "report utilisation --from $QW --to $QW, $A_PEOPLE people" ms "<=" 50 "$ms" ;;
        util6) sample "query" "report utilisation --to $QW (6 weeks)" ms - - "$ms" ;;
        billing) sample "query" "report billing --week $BW" ms "<=" 50 "$ms" ;;
        esac
    done
done
[ "$(wc -l <"$WORK/q.util1.out")" -gt 3 ] || die "report utilisation printed nothing: $(cat "$WORK/q.util1.out")"
}

# ------------------------------------------------------------ metrics (issue 16)
# before the latency probes: their records (in small message sets) would
# push some partitions past the broker's retention, and this phase reads
# every partition from offset 0
# utilisation from offset 0 with metrics.listen on, three ways, interleaved
# per run: no scraper, a scraper every 1 s (Prometheus's habit, at a short
# interval), and a scraper every 0.1 s whose curl times give the /metrics
# latency while the service folds at full rate (p99 over every scrape)
# metrics_run VARIANT INTERVAL_S RUN: sets MRATE (records/s); latencies of the
# scrapes in $WORK/scrape.VARIANT.RUN
metrics_run() {
    local v=$1 iv=$2 r=$3 d=$WORK/metrics.$1 log=$LOG/metrics.$1.$3.log port= n
    rm -rf "$d"
    : >"$WORK/scrape.$v.$r"
    "$HB/rsswrap" "$WORK/metrics.$v.$r" "$TMO" "$BIN/opsledger-utilisation" run --stop-at-end --data-dir "$d" \
        -o batch_max="$BATCH" -o map_size="$MAP" -o metrics.listen=127.0.0.1:0 ${BENCH_SVC_OPTS:-} 2>"$log" &
    local pid=$!
    CUR_PID=$pid
    if [ "$iv" != 0 ]; then
        while kill -0 "$pid" 2>/dev/null; do
            [ -n "$port" ] || port=$(sed -n 's/.*msg="metrics listening".*address=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -n 1)
            [ -z "$port" ] || curl -s -o /dev/null --max-time 2 -w '%{time_total}\n' "http://127.0.0.1:$port/metrics" \
                >>"$WORK/scrape.$v.$r" 2>/dev/null || true
            sleep "$iv"
        done
    fi
    wait "$pid" || die "opsledger-utilisation with metrics ($v) failed (see $log)"
    CUR_PID=
    # records the latency probes added to timesheet.entry (none when this runs first)
    extra=0
    for lf in "$WORK"/lat.*; do
        [ -s "$lf" ] && extra=$((extra + $(field produced "$lf")))
    done
    check_records utilisation "$d/utilisation" \
        "$(($(count_lines "$A/input" $(base_inputs utilisation "$d/utilisation")) + extra))"
    n=$READ
    MRATE=$(rate "$n" "$(secs "$WORK/metrics.$v.$r")")
    echo "metrics $v run $r: $n records in $(secs "$WORK/metrics.$v.$r") s, $(grep -c . "$WORK/scrape.$v.$r") scrapes" >>"$NOTES"
}
if ! skipped metrics && command -v curl >/dev/null 2>&1; then
    for r in $(seq "$RUNS"); do
        say "metrics run $r/$RUNS: no scraper, 1 s scraper, 0.1 s scraper"
        metrics_run none 0 "$r"
        r0=$MRATE
        metrics_run 1s 1 "$r"
        r1=$MRATE
        metrics_run fast 0.1 "$r"
        sample "metrics" "fold rate, metrics on, no scraper" records/s - - "$r0"
        sample "metrics" "fold rate, scraped every 1 s" records/s - - "$r1"
        sample "metrics" "scraped every 1 s / no scraper" x ">=" 0.98 "$(div "$r1" "$r0")"
        p99=$(sort -n "$WORK/scrape.fast.$r" | awk '{ a[NR] = $1 } END { if (NR == 0) { print "nan"; exit }
            i = int(NR * 0.99 + 0.999); if (i > NR) i = NR; printf "%.2f", a[i] * 1000 }')
        sample "metrics" "/metrics scrape p99 while folding, $P_A partitions/topic" ms "<=" 5 "$p99"
    done
fi

# ------------------------------------------------------------ latency
LAT_LOG=$LOG/latency
mkdir -p "$LAT_LOG"
k=0
skipped latency && LAT_BATCHES=
LAT_BUILDS="after"
if [ -n "${BENCH_LAT_BEFORE:-}" ] && [ -n "$LAT_BATCHES" ]; then
    [ -x "$BENCH_LAT_BEFORE/opsledger-utilisation" ] || die "BENCH_LAT_BEFORE: no opsledger-utilisation in $BENCH_LAT_BEFORE"
    say "latency: the before build's utilisation folds its own copy from offset 0"
    run_wait "$HB/rsswrap" "$WORK/utilisation.before" "$TMO" "$BENCH_LAT_BEFORE/opsledger-utilisation" run --stop-at-end \
        --data-dir "$A/before" -o batch_max="$BATCH" -o map_size="$MAP" ${BENCH_SVC_OPTS:-} 2>"$LOG/utilisation.before.log" ||
        die "the before build's utilisation failed (see $LOG/utilisation.before.log)"
    # its own status verb: this build's read-only open wants this build's databases
    n=$("$BENCH_LAT_BEFORE/opsledger" status utilisation --db "$A/before/utilisation" 2>/dev/null | awk '$1 == "records" { print $2 }')
    sample "utilisation (before)" "offset 0 to caught up" records/s - - "$(rate "$n" "$(secs "$WORK/utilisation.before")")"
    LAT_BUILDS="before after"
fi
for lb in $LAT_BATCHES; do
    for r in $(seq "$RUNS"); do
      # each probe leaves the broker's partitions longer (its fetch path walks
      # them, see tests/bench/README.md): the builds take turns going first
      order=$LAT_BUILDS
      [ $((r % 2)) -eq 0 ] && [ "$LAT_BUILDS" = "before after" ] && order="after before"
      for which in $order; do
        k=$((k + 1))
        wk=$("$BIN/opsledger" week "$END_WEEK" $((k + 1))) # a week no other entry is in
        if [ $which = before ]; then lat_bin=$BENCH_LAT_BEFORE lat_dir=$A/before lat_row=" (before)"; else lat_bin=$BIN lat_dir=$A/run1 lat_row=; fi
        say "latency$lat_row: $LAT_RATE records/s for $LAT_SECS s, batch_max=$lb, run $r/$RUNS (entries in $wk)"
        # first catch up with what the other build's probes produced, so the
        # live service starts with nothing queued
        run_wait "$lat_bin/opsledger-utilisation" run --stop-at-end --data-dir "$lat_dir" -o batch_max="$BATCH" \
            -o map_size="$MAP" ${BENCH_SVC_OPTS:-} 2>"$LAT_LOG/catchup.$k.log" || die "catching up (see $LAT_LOG/catchup.$k.log)"
        OPSLEDGER_LOG_LEVEL=debug "$lat_bin/opsledger-utilisation" run --data-dir "$lat_dir" -o batch_max="$lb" -o map_size="$MAP" ${BENCH_LAT_OPTS:-} 2>"$LAT_LOG/svc.$k.log" &
        LIVE_PID=$!
        i=0
        until grep -q 'assigned' "$LAT_LOG/svc.$k.log"; do
            i=$((i + 1))
            kill -0 "$LIVE_PID" 2>/dev/null || die "opsledger-utilisation exited (see $LAT_LOG/svc.$k.log)"
            [ $i -le 300 ] || die "opsledger-utilisation did not start in 30 s"
            sleep 0.1
        done
        sleep 2
        rc=0
        # CPU each process takes while the probe runs (jiffies of utime +
        # stime; on 2 cores the broker's share is what the others cannot use)
        cpu0_b=$(cpu_ticks "$BROKER_PID") cpu0_s=$(cpu_ticks "$LIVE_PID") cpu0_m=$(machine_ticks) t0_cpu=$(date +%s.%N)
        run_wait "$HB/paced_produce" --brokers "$OPSLEDGER_BROKERS" --schemas "$ROOT/schemas" --people "$A_PEOPLE" \
            --week "$wk" --occurred-week "$END_WEEK" --rate "$LAT_RATE" --seconds "$LAT_SECS" --tag "b$lb-r$r-$which" --linger "$LAT_LINGER" \
            >"$WORK/lat.$k" 2>"$LAT_LOG/probe.$k.log" || rc=$?
        cpu1_b=$(cpu_ticks "$BROKER_PID") cpu1_s=$(cpu_ticks "$LIVE_PID") cpu1_m=$(machine_ticks) t1_cpu=$(date +%s.%N)
        kill -TERM "$LIVE_PID" 2>/dev/null || true
        i=0
        while kill -0 "$LIVE_PID" 2>/dev/null; do
            i=$((i + 1))
            [ $i -le 300 ] || { kill -KILL "$LIVE_PID" 2>/dev/null || true; break; }
            sleep 0.1
        done
        wait "$LIVE_PID" 2>/dev/null || true
        LIVE_PID=
        [ -s "$WORK/lat.$k" ] || die "latency probe failed (see $LAT_LOG/probe.$k.log)"
        [ $rc -eq 0 ] || say "latency probe: $(cat "$WORK/lat.$k")"
        sample "latency batch_max=$lb$lat_row" "p50 produce -> PERSON row readable" ms - - "$(field p50_ms "$WORK/lat.$k")"
        sample "latency batch_max=$lb$lat_row" "p99 produce -> PERSON row readable" ms "<=" 100 "$(field p99_ms "$WORK/lat.$k")"
        sample "latency batch_max=$lb$lat_row" "CPU of the live service while probed" cores - - "$(cores "$cpu0_s" "$cpu1_s" "$t0_cpu" "$t1_cpu")"
        sample "latency batch_max=$lb$lat_row" "CPU of the embedded broker while probed" cores - - "$(cores "$cpu0_b" "$cpu1_b" "$t0_cpu" "$t1_cpu")"
        sample "latency batch_max=$lb$lat_row" "CPU of the machine while probed ($(nproc) cores)" cores - - "$(cores "$cpu0_m" "$cpu1_m" "$t0_cpu" "$t1_cpu")"
      done
    done
done
# ------------------------------------------------------------ floor
# tests/bench/lmdb_floor.c: the two rows the SPEC makes every folded record
# write (its event_id in the seen set, its entity's latest version), random
# keys, in LMDB alone: the rate no fold can beat with this state layout
if ! skipped floor; then
    for r in $(seq "$RUNS"); do
        say "floor, run $r/$RUNS: LMDB seen + entity puts for $A_TOTAL records"
        for mode in sync nosync; do
            f=$WORK/floor.$mode
            rm -rf "$f" && mkdir -p "$f"
            "$HB/lmdb_floor" "$f" run "$A_TOTAL" "$BATCH" "$mode" >"$WORK/floor.$mode.$r" 2>"$LOG/floor.$mode.$r.log" ||
                die "lmdb_floor (see $LOG/floor.$mode.$r.log)"
            v=$(field records_per_s "$WORK/floor.$mode.$r")
            echo "floor $mode run $r: $(cat "$WORK/floor.$mode.$r")" >>"$NOTES"
            if [ $mode = sync ]; then
                sample "floor (LMDB only)" "seen + entity puts, offset 0 to N, synced" records/s - - "$v"
                sample "floor (LMDB only)" "ratio to raw" x - - "$(div "$v" "$(cat "$WORK/raw.rate.$r")")"
            else
                sample "floor (LMDB only)" "the same without sync, as a replay" records/s - - "$v"
            fi
        done
        # the latency regime: small synced transactions into trees of N rows
        "$HB/lmdb_floor" "$WORK/floor.sync" run 20000 500 sync >"$WORK/floor.small.$r" 2>"$LOG/floor.small.$r.log" ||
            die "lmdb_floor (see $LOG/floor.small.$r.log)"
        echo "floor 500-record transactions run $r: $(cat "$WORK/floor.small.$r")" >>"$NOTES"
        sample "floor (LMDB only)" "at N rows, 500 records per synced txn" records/s - - \
            "$(field records_per_s "$WORK/floor.small.$r")"
        rm -rf "$WORK/floor.sync" "$WORK/floor.nosync"
    done
    # tests/bench/state_floor.c: the same work through the state engine that
    # replaced those two trees (common/ol_state: an append-only version log
    # and in-memory indexes), at N and at 10 x N records, side by side
    SF_N=${BENCH_STATE_N:-$A_TOTAL}
    for r in $(seq "$RUNS"); do
        for scale in 1 10; do
            n=$((SF_N * scale))
            for mode in sync pwrite nosync; do
                f=$WORK/state.$mode.$scale
                rm -rf "$f"
                say "state engine, run $r/$RUNS: $n records ($mode)"
                "$HB/state_floor" "$f" "$n" "$BATCH" "$mode" >"$WORK/state.$mode.$scale.$r" \
                    2>"$LOG/state.$mode.$scale.$r.log" || die "state_floor (see $LOG/state.$mode.$scale.$r.log)"
                echo "state engine $mode x$scale run $r: $(cat "$WORK/state.$mode.$scale.$r")" >>"$NOTES"
                v=$(field records_per_s "$WORK/state.$mode.$scale.$r")
                [ $scale = 1 ] && at=N || at="10 x N"
                if [ $mode = sync ]; then
                    sample "state engine (ol_state only)" "log + index, $at records, synced, lmdb_writemap=1" records/s - - "$v"
                    sample "state engine (ol_state only)" "index bytes per entity at $at" B "<=" 40 \
                        "$(field bytes_per_entity "$WORK/state.$mode.$scale.$r")"
                    sample "state engine (ol_state only)" "index ready after a crash at $at (last periodic snapshot + the rows after it)" ms "<=" 5000 \
                        "$(field crash_restart_ms "$WORK/state.$mode.$scale.$r")"
                    sample "state engine (ol_state only)" "rows after the last periodic snapshot at $at (index_snapshot_rows 2,000,000)" rows - - \
                        "$(field tail_rows "$WORK/state.$mode.$scale.$r")"
                    sample "state engine (ol_state only)" "index rebuilt from the whole log at $at (no snapshot)" ms - - \
                        "$(field rebuild_ms "$WORK/state.$mode.$scale.$r")"
                    sample "state engine (ol_state only)" "index loaded from its snapshot at $at (restart after a stop)" ms - - \
                        "$(field snapshot_load_ms "$WORK/state.$mode.$scale.$r")"
                    sample "state engine (ol_state only)" "periodic snapshots written during the $at run (in the rate)" ms - - \
                        "$(field periodic_save_ms "$WORK/state.$mode.$scale.$r")"
                elif [ $mode = pwrite ]; then
                    sample "state engine (ol_state only)" "log + index, $at records, synced (the default pwrite path)" records/s ">=" 1500000 "$v"
                    # the loop's CPU a record: the rest of its wall time waits for the commits' syncs
                    sample "state engine (ol_state only)" "CPU a record, $at records, pwrite path" us - - \
                        "$(awk -v c="$(field cpu_seconds "$WORK/state.$mode.$scale.$r")" -v n="$n" 'BEGIN { printf "%.3f", c * 1e6 / n }')"
                else
                    sample "state engine (ol_state only)" "log + index, $at records, no sync (replay)" records/s - - "$v"
                fi
                rm -rf "$f"
            done
        done
        sample "state engine (ol_state only)" "rate at 10 x N / rate at N (synced)" x ">=" 0.8 \
            "$(div "$(field records_per_s "$WORK/state.pwrite.10.$r")" "$(field records_per_s "$WORK/state.pwrite.1.$r")")"
        rm -rf "$WORK/state.small" && "$HB/state_floor" "$WORK/state.small" 20000 500 sync >"$WORK/state.small.$r" \
            2>"$LOG/state.small.$r.log" || die "state_floor (see $LOG/state.small.$r.log)"
        sample "state engine (ol_state only)" "500 records per synced txn" records/s - - \
            "$(field records_per_s "$WORK/state.small.$r")"
        rm -rf "$WORK/state.small"
    done
fi

stop_broker
[ "$KEEP" = 1 ] || rm -rf "$A/run1" "$A/input"

# ================================================================ phase B
if [ "$SCALE" -gt 1 ]; then
    M=$((N * SCALE))
    set -- $(shape "$M")
    B_PEOPLE=$1 B_WEEKS=$2
    B=$WORK/b
    say "phase B: generating $B_PEOPLE people x $B_WEEKS weeks (about $M records)"
    generate "$B_PEOPLE" "$B_WEEKS" "$B/input"
    B_TOTAL=$(count_lines "$B/input" $ALL_TOPICS)
    # the instant T by which N records have occurred: the N-th occurred_at
    mkdir -p "$B/ts" "$B/head" "$B/tail"
    for t in $ALL_TOPICS; do
        [ -s "$B/input/$t.jsonl" ] || continue
        sed -n 's/.*"occurred_at":"\([^"]*\)".*/\1/p' "$B/input/$t.jsonl" | sort >"$B/ts/$t"
    done
    T=$(sort -m "$B/ts"/* | sed -n "${N}{p;q}")
    rm -rf "$B/ts"
    for t in $ALL_TOPICS; do
        [ -s "$B/input/$t.jsonl" ] || continue
        awk -v T="$T" -v h="$B/head/$t.jsonl" -v tl="$B/tail/$t.jsonl" '{
            ts = ""; if (match($0, /"occurred_at":"[^"]*"/)) ts = substr($0, RSTART + 15, RLENGTH - 16)
            if (ts <= T) print > h; else print > tl }' "$B/input/$t.jsonl"
        touch "$B/head/$t.jsonl" "$B/tail/$t.jsonl"
    done
    [ "$KEEP" = 1 ] || rm -rf "$B/input"
    B_HEAD=$(count_lines "$B/head" $ALL_TOPICS)
    P_B=${BENCH_PARTITIONS_B:-$(partitions "$(ts_size "$B/head/timesheet.entry.jsonl" "$B/tail/timesheet.entry.jsonl")" \
        "$(ts_lines "$B/head/timesheet.entry.jsonl" "$B/tail/timesheet.entry.jsonl")")}
    echo "memory: $B_TOTAL records ($B_PEOPLE people x $B_WEEKS weeks), the first $B_HEAD (occurred_at <= $T) for 'at N'; $P_B partitions" >>"$SETUP"
    start_broker "$P_B" "$B/broker"
    for stage in head all; do
        if [ $stage = head ]; then
            say "phase B: loading the $B_HEAD records up to $T"
            load "$B/head"
        else
            say "phase B: loading the other $((B_TOTAL - B_HEAD)) records"
            load "$B/tail"
        fi
        for r in $(seq "$MEM_RUNS"); do
            # the ceiling at this size: a bare consumer of everything loaded
            want=$B_HEAD
            [ $stage = head ] || want=$B_TOTAL
            say "phase B $stage, run $r/$MEM_RUNS: raw consumer"
            run_wait "$HB/rsswrap" "$WORK/raw.$stage.$r" "$TMO" "$HB/raw_consume" "$OPSLEDGER_BROKERS" \
                "$(echo $ALL_TOPICS | tr ' ' ',')" >"$WORK/raw.$stage.$r.out" 2>"$LOG/raw.$stage.$r.log" ||
                die "raw consumer (see $LOG/raw.$stage.$r.log)"
            [ "$(field records "$WORK/raw.$stage.$r.out")" -eq "$want" ] ||
                die "raw consumer read $(field records "$WORK/raw.$stage.$r.out") of $want records: raise BENCH_PARTITIONS_B"
            raw_b=$(rate "$want" "$(secs "$WORK/raw.$stage.$r")")
            echo "$raw_b" >"$WORK/raw.rate.$stage.$r"
            for s in $SERVICES; do
                say "memory $stage, run $r/$MEM_RUNS: $s"
                d=$B/$stage.$r
                svc_run "$s" "$d" "$WORK/mem.$stage.$s.$r"
                n=$(count_lines "$B/head" $(base_inputs "$s" "$d/$s"))
                [ $stage = head ] || n=$((n + $(count_lines "$B/tail" $(base_inputs "$s" "$d/$s"))))
                check_records "$s" "$d/$s" "$n"
                n=$READ
                echo "memory $stage $s run $r: $n records in $(secs "$WORK/mem.$stage.$s.$r") s, peak RSS $(mib "$WORK/mem.$stage.$s.$r" maxrss_kb) MiB" >>"$NOTES"
                v=$(rate "$n" "$(secs "$WORK/mem.$stage.$s.$r")")
                echo "$v" >"$WORK/rate.$stage.$s.$r"
                rm -rf "$d"
            done
        done
    done
    stop_broker
    if ! skipped floor; then
        for stage in head all; do
            rows=$B_HEAD
            [ $stage = head ] || rows=$B_TOTAL
            say "memory floor: LMDB heap of a $BATCH-record transaction into trees of $rows rows"
            f=$WORK/floor.mem
            rm -rf "$f" && mkdir -p "$f"
            "$HB/lmdb_floor" "$f" preload "$rows" 2>"$LOG/floor.mem.$stage.log" || die "lmdb_floor preload"
            "$HB/lmdb_floor" "$f" run $((BATCH * 2)) "$BATCH" sync >"$WORK/floor.mem.$stage" 2>>"$LOG/floor.mem.$stage.log" ||
                die "lmdb_floor (see $LOG/floor.mem.$stage.log)"
            echo "memory floor $stage: $(cat "$WORK/floor.mem.$stage")" >>"$NOTES"
            rm -rf "$f"
        done
        a=$(awk -v k="$(field heap_kb "$WORK/floor.mem.head")" 'BEGIN { printf "%.1f", k / 1024 }')
        b=$(awk -v k="$(field heap_kb "$WORK/floor.mem.all")" 'BEGIN { printf "%.1f", k / 1024 }')
        sample "memory floor (LMDB only)" "dirty pages of one batch, trees of N rows" MiB - - "$a"
        sample "memory floor (LMDB only)" "dirty pages of one batch, trees of ${SCALE}xN rows" MiB - - "$b"
        sample "memory floor (LMDB only)" "${SCALE}xN / N" x - - "$(div "$b" "$a")"
    fi
    # issue 15's rate target at N and at SCALE x N of the same data set:
    # each service from offset 0 to caught up beside the bare consumer
    for r in $(seq "$MEM_RUNS"); do
        sample raw "all input topics from offset 0, phase B at N ($B_HEAD records)" records/s - - "$(cat "$WORK/raw.rate.head.$r")"
        sample raw "all input topics from offset 0 at ${SCALE}xN ($B_TOTAL records)" records/s - - "$(cat "$WORK/raw.rate.all.$r")"
        for s in $SERVICES; do
            a=$(cat "$WORK/rate.head.$s.$r")
            b=$(cat "$WORK/rate.all.$s.$r")
            sample "$s" "offset 0 to caught up, phase B at N" records/s - - "$a"
            sample "$s" "ratio to raw, phase B at N" x ">=" 0.5 "$(div "$a" "$(cat "$WORK/raw.rate.head.$r")")"
            sample "$s" "offset 0 to caught up at ${SCALE}xN" records/s - - "$b"
            sample "$s" "ratio to raw at ${SCALE}xN" x ">=" 0.5 "$(div "$b" "$(cat "$WORK/raw.rate.all.$r")")"
            sample "$s" "rate at ${SCALE}xN / rate at N (phase B)" x - - "$(div "$b" "$a")"
        done
    done
    for s in $SERVICES; do
        for r in $(seq "$MEM_RUNS"); do
            a=$(mib "$WORK/mem.head.$s.$r" maxrss_kb)
            b=$(mib "$WORK/mem.all.$s.$r" maxrss_kb)
            sample "memory $s" "peak RSS at N ($B_HEAD records)" MiB - - "$a"
            sample "memory $s" "peak RSS at ${SCALE}xN ($B_TOTAL records)" MiB - - "$b"
            sample "memory $s" "RSS ${SCALE}xN / RSS N" x "<" 1.2 "$(div "$b" "$a")"
            sample "memory $s" "peak anonymous RSS at N" MiB - - "$(mib "$WORK/mem.head.$s.$r" anon_peak_kb)"
            sample "memory $s" "peak anonymous RSS at ${SCALE}xN" MiB - - "$(mib "$WORK/mem.all.$s.$r" anon_peak_kb)"
            # issue 15's budget: 64 MiB + 40 bytes per live entity (the
            # entities the service's version log indexes, from its stop line)
            for stage in head all; do
                at=N
                [ $stage = head ] || at=${SCALE}xN
                ents=$(sed -n 's/.*msg="stopping".* entities=\([0-9]*\).*/\1/p' "$LOG/$s.$stage.$r.log" | tail -1)
                [ "${ents:-0}" -gt 0 ] || continue
                anon=$(field anon_peak_kb "$WORK/mem.$stage.$s.$r")
                sample "memory $s" "live entities at $at" count - - "$ents"
                sample "memory $s" "peak anonymous RSS per live entity at $at" B - - \
                    "$(awk -v a="$anon" -v e="$ents" 'BEGIN { printf "%.1f", a * 1024 / e }')"
                sample "memory $s" "peak anonymous RSS / (64 MiB + 40 B x live entities) at $at" x "<=" 1 \
                    "$(awk -v a="$anon" -v e="$ents" 'BEGIN { printf "%.3f", a * 1024 / (67108864 + 40 * e) }')"
            done
        done
    done
else
    echo "memory: skipped (BENCH_SCALE=$SCALE)" >>"$SETUP"
fi

# ------------------------------------------------------------ web (issue 17)
# scripts/bench_web.sh: its own 5,000-person data set on its own broker (a
# few minutes): the upstream services' publish rates beside opsledger-web's
# fold, then wrk against opsledger-web serve (the API's week of every person,
# every page); its samples join this table
if ! skipped web; then
    say "web: scripts/bench_web.sh"
    sh scripts/bench_web.sh "$BUILD" "$SAMPLES" "$SEED" || die "scripts/bench_web.sh (see $OUT/web/logs)"
    [ ! -s "$OUT/web/notes.txt" ] || cat "$OUT/web/notes.txt" >>"$NOTES"
fi

# ------------------------------------------------------------ the table
echo
python3 tests/bench/summarize.py "$SAMPLES" "$OUT/results.csv" "$SETUP" | tee "$OUT/results.txt"
echo "details: $NOTES; logs: $LOG"
