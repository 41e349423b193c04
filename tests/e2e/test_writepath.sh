#!/bin/bash
# tests/e2e/test_writepath.sh — LMDB's write path follows the backlog
# (lmdb_writemap=auto, the default; README, state engine; issue 15).
#
#  1. a service catches up a backlog larger than lmdb_writemap_backlog with
#     its metrics endpoint on (its lag thread reads the environment the
#     switch reopens): it takes the map ("path=writemap"), is back on pwrite
#     once under one batch behind ("path=pwrite"), exits 0, and its
#     projection equals a run on pwrite throughout (relcheck dumps);
#  2. restarted with nothing new to read it does not take the map (a
#     partition it has not consumed from yet counts from its stored offset,
#     not from the partition's start);
#  3. lmdb_writemap=2 is refused, naming the key, and so is an
#     lmdb_writemap_backlog at batch_max (the switch would flap);
#  4. a catch-up whose prefetch queue keeps filling does not sleep a
#     second each time (librdkafka 2.0's fetch back-off; the source wakes
#     the fetcher), and its projection equals the others;
#  5. the broker is killed while a catch-up is under way: the service,
#     which wakes the fetcher with a request to the dead leader, must
#     still stop on SIGTERM, with status 0 (librdkafka 2.0's watermark
#     query ignored its time-out and hung it for ever);
#  6. the catch-up of 4. against three brokers (the partitions' leaders
#     spread over them) does not stall either, and its projection equals
#     the others.
#
# Usage: BUILD=build bash tests/e2e/test_writepath.sh   (or via tests/run-e2e.sh)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/rellib.sh"
e2e_init writepath
T=$E2E_TMP
START=$(date +%s)
SVC=utilisation

gen_data "$T/gen" --people 30 --weeks 4 --seed 21
start_broker || {
    e2e_finish
    exit 1
}
produce_dir "$T/gen" || fail "the data set is produced"

# ------------------------------------------------------------ 1. catch-up
svc_catch_up "$SVC" "$T/auto" "$T/auto.log" -o batch_max=100 -o lmdb_writemap_backlog=300 \
    -o metrics.listen=127.0.0.1:0 -o metrics.lag_interval=100
rc=$?
check "the catch-up with lmdb_writemap=auto exits 0 (got $rc)" [ "$rc" -eq 0 ]
if grep -q 'msg="LMDB write path switched".*path=writemap' "$T/auto.log" &&
    grep -q 'msg="LMDB write path switched".*path=pwrite' "$T/auto.log"; then
    pass "it took the map while behind and went back to pwrite once caught up"
else
    fail "it took the map while behind and went back to pwrite once caught up"
    dump "$T/auto.log"
fi
svc_catch_up "$SVC" "$T/pwrite" "$T/pwrite.log" -o batch_max=100 -o lmdb_writemap=0 ||
    fail "the run on pwrite throughout exits 0"
check "the run on pwrite throughout never switches" bash -c "! grep -q 'write path switched' '$T/pwrite.log'"
svc_dump "$SVC" "$T/auto" "$T/auto.dump"
svc_dump "$SVC" "$T/pwrite" "$T/pwrite.dump"
run_check dumps "$SVC" "$T/auto.dump" "$T/pwrite.dump"

# ------------------------------------------------------------ 2. restart, caught up
svc_catch_up "$SVC" "$T/auto" "$T/restart.log" -o batch_max=100 -o lmdb_writemap_backlog=300 ||
    fail "the restart exits 0"
if grep -q 'write path switched' "$T/restart.log"; then
    fail "a restart with nothing to read stays on pwrite"
    dump "$T/restart.log"
else
    pass "a restart with nothing to read stays on pwrite"
fi

# ------------------------------------------------------------ 3. bad values
# refused LABEL PATTERN OPTION...: the service exits non-zero saying PATTERN
refused() {
    local label=$1 pattern=$2 log=$T/refused.$RANDOM.log rc
    shift 2
    bounded "$BIN/opsledger-$SVC" run --data-dir "$T/bad" --stop-at-end "$@" >"$log" 2>&1
    rc=$?
    if [ "$rc" -ne 0 ] && grep -q "$pattern" "$log"; then
        pass "$label is refused (exit $rc), naming the key"
    else
        fail "$label is refused, naming the key (exit $rc)"
        dump "$log"
    fi
}
refused "lmdb_writemap=2" "lmdb_writemap must be auto, 0 or 1" -o lmdb_writemap=2
refused "lmdb_writemap_backlog at batch_max (the switch would flap)" "lmdb_writemap_backlog must be more than batch_max" \
    -o batch_max=100 -o lmdb_writemap_backlog=100

# ------------------------------------------------------------ 4. a full prefetch queue
# librdkafka 2.0 stops fetching once its queue holds queued.min.messages,
# and its broker thread then sleeps a second however soon the queue drains
# (common/ol_source.c, queue_emptied). With the queue held to 20 messages
# and fetches of 2 KiB, the data set takes dozens of fetches, each of which
# fills the queue: a catch-up that slept each time took 16 s on the machine
# that wrote this test, and 0-1 s when the source wakes the fetcher. The
# bound is a stall detector with a wide margin either way, not a speed target (make bench has those); the
# projection must equal the runs above.
SMALLQ="-o kafka.queued.min.messages=20 -o kafka.fetch.max.bytes=2048 -o kafka.max.partition.fetch.bytes=2048 -o kafka.message.max.bytes=2048"
# smallq_catch_up NAME WHAT: the catch-up into $T/NAME, bounded and compared
smallq_catch_up() {
    local t0=$SECONDS took
    # shellcheck disable=SC2086
    svc_catch_up "$SVC" "$T/$1" "$T/$1.log" -o batch_max=100 $SMALLQ ||
        fail "$2 exits 0"
    took=$((SECONDS - t0))
    check "$2 does not sleep a second each time the prefetch queue fills (${took} s, bound 8 s)" \
        [ "$took" -lt 8 ]
    svc_dump "$SVC" "$T/$1" "$T/$1.dump"
    run_check dumps "$SVC" "$T/$1.dump" "$T/pwrite.dump"
}
smallq_catch_up smallq "a catch-up with 20 queued messages"

# ------------------------------------------------- 5. broker lost mid-catch-up
# A broker of its own, holding the time entries one record a message set
# (the mock broker answers a fetch with one message set a partition, so a
# partition is fetched a record at a time and stays known to be behind);
# a queue of 2 messages (a single record taken opens the wake's gate) and
# batches of 1 (the catch-up lasts). The service is frozen as soon as it
# has folded something, the broker is killed, and the service resumes,
# takes what was queued, finds the queue empty with partitions behind and
# asks their dead leader (queue_emptied; its debug line "woke the fetcher"
# must follow the kill). Then it must still stop on SIGTERM, with status
# 0. The wait is long (30 s; the outbox's bounded stop takes ~10 s without
# a broker): the test tells bounded from for ever, not fast from slow.
# Freezing the service at an instant its queue is empty (and the gate
# just reset) leaves nothing to take after the kill, so nothing is asked:
# such an attempt proves nothing either way and is made again, up to 3
# times; a hang or a bad status in any attempt fails at once.
# lost_attempt N: one attempt; LOST_R (records folded at the kill), LOST_WOKE
# ("before after" counts of the debug line), LOST_STATUS, LOST_MS
lost_attempt() {
    local dir=$T/lost.$1 log=$T/lost.$1.log pid _
    start_broker || return 1
    bounded "$OPSLEDGER" produce timesheet.entry --file "$T/gen/timesheet.entry.jsonl" -X linger.ms=0 \
        -X batch.num.messages=1 >>"$E2E_TMP/produce.log" 2>&1 || fail "the time entries are produced one a message set"
    OPSLEDGER_LOG_LEVEL=debug svc_start "$SVC" "$dir" "$log" -o batch_max=1 \
        -o kafka.queued.min.messages=2 -o kafka.fetch.max.bytes=2048 -o kafka.max.partition.fetch.bytes=2048 \
        -o kafka.message.max.bytes=2048 -X socket.timeout.ms=2000 -X reconnect.backoff.max.ms=500
    pid=$SVC_PID
    for _ in $(seq 200); do
        LOST_R=$(status_of "$SVC" "$dir" records)
        [ "${LOST_R:-0}" -gt 0 ] && break
        sleep 0.05
    done
    kill -STOP "$pid"
    LOST_R=$(status_of "$SVC" "$dir" records)
    local w0 w1
    w0=$(grep -c 'woke the fetcher' "$log")
    kill -KILL "$BROKER_PID"
    wait_exit "$BROKER_PID" 5
    _untrack "$BROKER_PID"
    BROKER_PID=
    kill -CONT "$pid"
    w1=$w0
    for _ in $(seq 30); do
        w1=$(grep -c 'woke the fetcher' "$log")
        [ "$w1" -gt "$w0" ] && break
        sleep 0.1
    done
    LOST_WOKE="$w0 $w1"
    LOST_ALIVE=0
    alive "$pid" && LOST_ALIVE=1
    local t0
    t0=$(now_ms)
    E2E_STOP_TIMEOUT=30 svc_stop "$pid"
    LOST_STATUS=$WAIT_STATUS LOST_MS=$(($(now_ms) - t0))
    [ "$LOST_STATUS" -eq 0 ] || dump "$log"
}
stop_broker
total=$(grep -c . "$T/gen/timesheet.entry.jsonl")
for attempt in 1 2 3; do
    lost_attempt "$attempt" || break
    mid=0
    [ "${LOST_R:-0}" -gt 0 ] && [ "${LOST_R:-0}" -lt "$total" ] && mid=1
    # shellcheck disable=SC2086  # two counts
    set -- $LOST_WOKE
    if [ "$mid" -eq 1 ] && [ "$2" -gt "$1" ]; then
        pass "attempt $attempt: the broker was killed mid-catch-up (${LOST_R} of $total records folded) and the service then asked the dead leader (woke the fetcher $1 times before, $2 after)"
        break
    fi
    [ "$attempt" -lt 3 ] ||
        fail "the broker is killed mid-catch-up and the service then asks the dead leader, in one of 3 attempts (last: ${LOST_R:-none} of $total records folded, woke the fetcher $1 times before, $2 after)"
    [ "$LOST_STATUS" -eq 0 ] || break
done
check "the service was still running without its broker" [ "$LOST_ALIVE" -eq 1 ]
if [ "$LOST_STATUS" -eq 0 ]; then
    pass "the service stopped on SIGTERM ${LOST_MS} ms after it, its broker gone (status 0)"
else
    fail "the service stops on SIGTERM with status 0 within 30 s after losing its broker mid-catch-up (status $LOST_STATUS; 999: killed after 30 s)"
fi

# ------------------------------------------------- 6. three leaders
# Each broker's fetcher stops on the full queue and sleeps a second unless
# woken; the source names every partition behind in its look-up, which
# librdkafka sends as one request to each leader. Partition p's leader is
# broker p mod 3 + 1: one partition per topic on each. On the machine that wrote this: 1 s; 2 s when only the
# first partition behind was named (one leader woken), 4 s with no wake at
# all: the bound catches a stall, it does not tell those apart (make bench
# measures speed), and the projection must equal the others.
start_broker --broker-count 3 --partitions 3 || {
    e2e_finish
    exit 1
}
produce_dir "$T/gen" || fail "the data set is produced to the three brokers"
smallq_catch_up three "the same catch-up from three brokers"
stop_broker

assert_no_leftovers
echo "e2e writepath: runtime $(($(date +%s) - START))s"
e2e_finish
exit $?
