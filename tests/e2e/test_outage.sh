#!/bin/bash
# tests/e2e/test_outage.sh — the broker becomes unreachable (issue 7, "Broker
# unreachable"; SPEC section 4, "publishing").
#
#  1. a generated data set in three parts: every topic but timesheet.entry and
#     a third of the time entries, then the second third, then the rest;
#  2. opsledger-utilisation and opsledger-billing run (no --stop-at-end) with
#     short client timeouts (-X socket.timeout.ms=3000) and a long linger
#     (-X linger.ms=1500), and catch up with part 1;
#  3. part 2 is produced; as soon as both services have folded some of it and
#     hold unpublished derived events in their outbox, the broker is frozen
#     with SIGSTOP for OUTAGE_SECS (12 s, four socket time-outs): the services
#     must stay up, log the broker problem, keep their projection (a dump
#     taken at the start of the outage equals one taken at its end) and keep
#     the unpublished events in the outbox;
#  4. SIGCONT; part 3 is produced; both services catch up (every record
#     folded, outbox_depth 0) within 60 s and exit 0 on SIGTERM;
#  5. on every derived topic, every key's emissions 1..N were published, the
#     last one equal to the projection's; a clean run of the same input into
#     another data dir has the same projection (relcheck.py dumps: every
#     database byte-identical but the emission history) and the same effect
#     counters and offsets.
#
# Usage: BUILD=build bash tests/e2e/test_outage.sh   (or via tests/run-e2e.sh)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/rellib.sh"
e2e_init outage
T=$E2E_TMP
START=$(date +%s)
OUTAGE_SECS=${OUTAGE_SECS:-12}
SERVICES="utilisation billing"
KX="-X socket.timeout.ms=3000 -X reconnect.backoff.max.ms=500 -X linger.ms=1500"

# ------------------------------------------------------------------ data
gen_data "$T/gen" --people 30 --weeks 5 --seed 11
mkdir -p "$T/p1" "$T/p2" "$T/p3"
for f in "$T"/gen/*.jsonl; do
    case $f in */timesheet.entry.jsonl) ;; *) cp "$f" "$T/p1/" ;; esac
done
TE=$T/gen/timesheet.entry.jsonl
n=$(grep -c . "$TE")
head -n $((n / 3)) "$TE" >"$T/p1/timesheet.entry.jsonl"
sed -n "$((n / 3 + 1)),$((2 * n / 3))p" "$TE" >"$T/p2/timesheet.entry.jsonl"
tail -n +$((2 * n / 3 + 1)) "$TE" >"$T/p3/timesheet.entry.jsonl"

start_broker || {
    e2e_finish
    exit 1
}
produce_dir "$T/p1" || fail "part 1 is produced"

# ------------------------------------------------------------------ 2. running
declare -A PID
for svc in $SERVICES; do
    # shellcheck disable=SC2086
    svc_start "$svc" "$T/run" "$T/run.$svc.log" $KX
    PID[$svc]=$SVC_PID
done
for svc in $SERVICES; do
    want=$(count_inputs "$svc" "$T"/p1/*.jsonl)
    if wait_caught_up "$svc" "$T/run" "$want" 30; then
        pass "$svc: folded part 1 ($want records) and published its outbox"
    else
        fail "$svc: folds part 1 ($want records) within 30 s (status: records $(status_of "$svc" "$T/run" records), outbox_depth $(status_of "$svc" "$T/run" outbox_depth))"
    fi
done

# ------------------------------------------------------------------ 3. outage
declare -A R0
for svc in $SERVICES; do R0[$svc]=$(status_of "$svc" "$T/run" records); done
produce_dir "$T/p2" || fail "part 2 is produced"
# freeze the broker as soon as both services hold unpublished events
ready=0
for _ in $(seq 60); do
    ready=1
    for svc in $SERVICES; do
        r=$(status_of "$svc" "$T/run" records)
        d=$(status_of "$svc" "$T/run" outbox_depth)
        { [ "${r:-0}" -gt "${R0[$svc]}" ] && [ "${d:-0}" -gt 0 ]; } || ready=0
    done
    [ "$ready" -eq 1 ] && break
    sleep 0.05
done
kill -STOP "$BROKER_PID"
declare -A LOGL
for svc in $SERVICES; do LOGL[$svc]=$(wc -l <"$T/run.$svc.log"); done
declare -A DEPTH
for svc in $SERVICES; do
    DEPTH[$svc]=$(status_of "$svc" "$T/run" outbox_depth)
    svc_dump "$svc" "$T/run" "$T/stop.$svc.dump"
done
if [ "$ready" -eq 1 ]; then
    pass "broker frozen (SIGSTOP) while both services hold unpublished events (outbox_depth: utilisation ${DEPTH[utilisation]}, billing ${DEPTH[billing]})"
else
    fail "both services fold part of part 2 and hold unpublished events before the broker is frozen"
fi
up=1
for _ in $(seq "$OUTAGE_SECS"); do
    sleep 1
    for svc in $SERVICES; do alive "${PID[$svc]}" || up=0; done
done
for svc in $SERVICES; do
    if alive "${PID[$svc]}"; then
        pass "$svc: still running after ${OUTAGE_SECS}s without a broker"
    else
        fail "$svc: keeps running while the broker is unreachable"
        dump "$T/run.$svc.log"
    fi
    svc_dump "$svc" "$T/run" "$T/end.$svc.dump"
    check "$svc: its projection is unchanged through the outage (dump at its start = dump at its end)" \
        cmp -s "$T/stop.$svc.dump" "$T/end.$svc.dump"
    d=$(status_of "$svc" "$T/run" outbox_depth)
    check "$svc: the unpublished events stay in the outbox (outbox_depth ${DEPTH[$svc]} at the start, ${d:-none} at the end)" \
        [ "${d:-0}" -gt 0 ]
    tail -n +"$((LOGL[$svc] + 1))" "$T/run.$svc.log" >"$T/outage.$svc.log"
    if grep -E 'level=(warn|error)' "$T/outage.$svc.log" | grep -qiE 'time(d)? ?out|disconnect|down|transport'; then
        pass "$svc: logs the broker problem ($(grep -c . "$T/outage.$svc.log") lines in ${OUTAGE_SECS}s), e.g.: $(
            grep -E 'level=(warn|error)' "$T/outage.$svc.log" | grep -iE 'time(d)? ?out|disconnect|down|transport' |
                tail -n 1 | sed 's/^ts=[^ ]* //' | cut -c1-160)"
    else
        fail "$svc: logs the broker problem (a warning or error about a time-out or disconnection)"
        dump "$T/run.$svc.log"
    fi
done
[ "$up" -eq 1 ] || fail "both services stayed up through the outage"
kill -CONT "$BROKER_PID"
T_CONT=$(now_ms)

# ------------------------------------------------------------------ 4. resume
produce_dir "$T/p3" || fail "part 3 is produced"
for svc in $SERVICES; do
    want=$(count_inputs "$svc" "$T"/p1/*.jsonl "$T"/p2/*.jsonl "$T"/p3/*.jsonl)
    if wait_caught_up "$svc" "$T/run" "$want" 60; then
        pass "$svc: after SIGCONT it folded every record ($want) and drained its outbox (outbox_depth 0) in $(($(now_ms) - T_CONT)) ms"
    else
        fail "$svc: after SIGCONT it folds every record ($want) and drains its outbox within 60 s (status: records $(status_of "$svc" "$T/run" records), outbox_depth $(status_of "$svc" "$T/run" outbox_depth))"
        dump "$T/run.$svc.log"
    fi
done
read_topics "$T/run.raw" $DERIVED_UTIL $DERIVED_BILL
for svc in $SERVICES; do
    svc_stop "${PID[$svc]}"
    if [ "$WAIT_STATUS" -eq 0 ]; then
        pass "$svc: exits 0 on SIGTERM"
    else
        fail "$svc: exits 0 on SIGTERM (got $WAIT_STATUS)"
        dump "$T/run.$svc.log"
    fi
    svc_dump "$svc" "$T/run" "$T/run.$svc.dump"
    "$BIN/opsledger-$svc" status --data-dir "$T/run" >"$T/run.$svc.status" 2>&1
done
run_check drained "$T/run.raw" "$T/run.utilisation.dump" $DERIVED_UTIL
run_check drained "$T/run.raw" "$T/run.billing.dump" $DERIVED_BILL

# ------------------------------------------------------------------ 5. clean run
for svc in $SERVICES; do
    svc_catch_up "$svc" "$T/clean" "$T/clean.$svc.log" ||
        fail "clean run: opsledger-$svc run --stop-at-end exits 0"
    svc_dump "$svc" "$T/clean" "$T/clean.$svc.dump"
    "$BIN/opsledger-$svc" status --data-dir "$T/clean" >"$T/clean.$svc.status" 2>&1
    run_check dumps "$svc (through the outage vs a clean run)" "$T/run.$svc.dump" "$T/clean.$svc.dump"
    run_check counters "$svc" "$T/run.$svc.status" "$T/clean.$svc.status"
done
stop_broker

# ------------------------------------------------------------------ 6. no broker at start
# a service started while no broker answers waits for it (about a minute),
# but a SIGTERM during that wait stops it at once, cleanly (systemd's
# TimeoutStopSec is 30 s; before, the wait ignored the signal for up to 60 s)
OPSLEDGER_BROKERS=127.0.0.1:9 "$BIN/opsledger-utilisation" run --data-dir "$T/nobroker" >"$T/nobroker.log" 2>&1 &
NB=$!
sleep 3
T0=$(date +%s%N)
kill -TERM "$NB"
NB_STATUS=0
for _ in $(seq 1 100); do kill -0 "$NB" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$NB" 2>/dev/null; then
    kill -KILL "$NB"
    wait "$NB" 2>/dev/null
    fail "waiting for an absent broker at start: SIGTERM stops the service within 10 s"
else
    wait "$NB"
    NB_STATUS=$?
    NB_MS=$((($(date +%s%N) - T0) / 1000000))
    check "waiting for an absent broker at start: SIGTERM stops the service within 3 s, status 0 (took ${NB_MS} ms)" \
        test "$NB_STATUS" = 0 -a "$NB_MS" -lt 3000
    check "... and it says it stopped before its record source was ready" \
        grep -q "stopped before the record source was ready" "$T/nobroker.log"
fi
assert_no_leftovers

echo "e2e outage: runtime $(($(date +%s) - START))s"
e2e_finish
exit $?
