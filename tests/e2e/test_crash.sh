#!/bin/bash
# tests/e2e/test_crash.sh — kill -9 at random instants (SPEC section 4,
# "exactly-once effect"; issue 7, "Crash").
#
#  1. clean run: a generated data set (opsledger generate --people 40
#     --weeks 6) is produced whole to a broker; opsledger-utilisation and
#     opsledger-billing run with --stop-at-end, never disturbed; their dumps,
#     status and derived topics (read raw with kcat) are kept; broker stopped;
#  2. crash run, on a fresh broker: the same data is produced gradually in the
#     background (CRASH_ROUNDS chunks per topic, each topic in its order);
#     the services (utilisation, billing and people) run at once, each killed with SIGKILL at random instants
#     (a seeded PRNG: CRASH_SEED, printed) at least CRASH_KILLS times and
#     restarted each time with a random batch_max (1..64), so kills land in
#     the fold, between commit and publish, and mid-publish; finally each runs
#     with --stop-at-end to catch up;
#  3. checks, per service: the dumps of the two runs are byte-identical, else
#     every database but `derived` byte-identical and `derived` equal in
#     state (see below); the effect counters (records, folded, duplicates,
#     stale, conflicts, dead letters), data time and every stored offset are
#     equal; the outbox is empty; per derived topic and run: no event_id with
#     two payloads, every key's revisions 1..N without a gap (nothing lost),
#     deltas summing to the final amounts, the final revision equal byte for
#     byte to the projection's last emission; between the runs: the same keys
#     and the same final payload ignoring event_id, revision, delta_* and
#     post_close, and how many final revisions are byte-identical.
#
# Emission history: a derived revision counts a key's emissions and the
# runtime emits once per key per batch, so a run that batched the same input
# differently (kills re-fold an uncommitted batch with whatever arrived
# since) has as correct a history with other revision numbers, event_ids,
# deltas and post_close flags. The test asserts the state and the invariants
# of the history, and reports (does not fail on) differing revision numbers.
#
# Usage: BUILD=build bash tests/e2e/test_crash.sh   (or via tests/run-e2e.sh)
# Knobs: CRASH_SEED, CRASH_KILLS (20), CRASH_ROUNDS (12), CRASH_PEOPLE (40), CRASH_WEEKS (6)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/rellib.sh"
e2e_init crash
T=$E2E_TMP
START=$(date +%s)
SEED=${CRASH_SEED:-20261123}
KILLS=${CRASH_KILLS:-20}
ROUNDS=${CRASH_ROUNDS:-12}
echo "crash: seed $SEED (CRASH_SEED=$SEED reproduces the kill delays and batch sizes), $KILLS kills per service"
RANDOM=$SEED
SERVICES="utilisation billing people"
DERIVED="$DERIVED_UTIL $DERIVED_BILL $DERIVED_PEOPLE"

# ------------------------------------------------------------------ data
gen_data "$T/gen" --people "${CRASH_PEOPLE:-40}" --weeks "${CRASH_WEEKS:-6}" --seed 7
bounded python3 "$RELCHECK" split "$T/gen" "$T/chunks" "$ROUNDS" >"$T/split.out" 2>&1 ||
    fail "split the data set into $ROUNDS rounds"

# ------------------------------------------------------------------ 1. clean run
start_broker || {
    e2e_finish
    exit 1
}
if produce_dir "$T/gen"; then pass "clean run: the data set is produced"; else
    fail "clean run: the data set is produced"
    dump "$T/produce.log"
fi
for svc in $SERVICES; do
    t0=$(now_ms)
    svc_catch_up "$svc" "$T/clean" "$T/clean.$svc.log"
    rc=$?
    if [ "$rc" -eq 0 ]; then
        pass "clean run: opsledger-$svc run --stop-at-end exits 0 ($(($(now_ms) - t0)) ms)"
    else
        fail "clean run: opsledger-$svc run --stop-at-end exits 0 (got $rc)"
        dump "$T/clean.$svc.log"
    fi
    svc_dump "$svc" "$T/clean" "$T/clean.$svc.dump"
    "$BIN/opsledger-$svc" status --data-dir "$T/clean" >"$T/clean.$svc.status" 2>&1
done
read_topics "$T/clean.raw" $DERIVED
# diagnosis: a third run, undisturbed, one record per batch (its derived
# events go to the topics after they were read above). A difference from the
# clean run here is the fold depending on batching, not on crashes.
for svc in $SERVICES; do
    svc_catch_up "$svc" "$T/b1" "$T/b1.$svc.log" -o batch_max=1 ||
        fail "batch_max=1 run: opsledger-$svc run --stop-at-end exits 0"
    svc_dump "$svc" "$T/b1" "$T/b1.$svc.dump"
    run_check dumps "$svc (undisturbed, batch_max=1 vs 5000)" "$T/b1.$svc.dump" "$T/clean.$svc.dump"
done
stop_broker

# ------------------------------------------------------------------ 2. crash run
rm -f "$T/produce.log"
start_broker || {
    e2e_finish
    exit 1
}
# the gradual producer: round by round, every topic's chunk, a pause between
(
    for d in "$T"/chunks/*/; do
        for f in "$d"*.jsonl; do
            timeout 30 "$OPSLEDGER" produce "$(basename "$f" .jsonl)" --file "$f" >>"$T/produce.log" 2>&1 ||
                echo "FAILED: produce $f" >>"$T/produce.log"
        done
        sleep 0.25
    done
) 3>&- 4>&- </dev/null &
PRODUCER=$!
_track "$PRODUCER"

declare -A PID DEADLINE NKILL NOUTBOX NSTART NBUSY
for svc in $SERVICES; do
    NKILL[$svc]=0
    NBUSY[$svc]=0
    NOUTBOX[$svc]=0
    NSTART[$svc]=0
done
ARM_MS=600
# pstate PID: PST = the state of PID's main thread (R running, D in I/O, S
# sleeping, Z zombie, X gone), read without a fork: the loop polls it often
pstate() {
    PST=X
    read -r _ _ PST _ <"/proc/$1/stat" 2>/dev/null
}
# clock: NOW in milliseconds, without a fork
clock() {
    NOW=${EPOCHREALTIME/./}
    NOW=$((NOW / 1000))
}
# start SVC: a fresh process with a random batch size; from DEADLINE on it is
# killed as soon as its main thread is seen running (R) or in I/O (D) — in a
# fold or a commit — or, if it stays idle, ARM_MS later
start() {
    local bm=$((RANDOM % 64 + 1))
    svc_start "$1" "$T/crash" "$T/crash.$1.log" -o batch_max=$bm
    PID[$1]=$SVC_PID
    NSTART[$1]=$((NSTART[$1] + 1))
    clock
    DEADLINE[$1]=$((NOW + 50 + RANDOM % 750))
}
for svc in $SERVICES; do start "$svc"; done
t_kill=$(now_ms)
limit=$(($(now_ms) + 150000))
while :; do
    busy=0
    armed=0
    pstate "$PRODUCER"
    producing=0
    case $PST in X | Z) ;; *) producing=1 ;; esac
    clock
    for svc in $SERVICES; do
        [ "${NKILL[$svc]}" -lt "$KILLS" ] || [ "$producing" -eq 1 ] || continue
        busy=1
        [ "$NOW" -ge "${DEADLINE[$svc]}" ] || continue
        armed=1
        p=${PID[$svc]}
        pstate "$p"
        case $PST in
        R | D) NBUSY[$svc]=$((NBUSY[$svc] + 1)) ;;
        X | Z)
            wait_exit "$p" 1
            _untrack "$p"
            fail "$svc was running when killed (it exited with status $WAIT_STATUS)"
            dump "$T/crash.$svc.log"
            start "$svc"
            continue
            ;;
        *) [ "$NOW" -ge $((DEADLINE[$svc] + ARM_MS)) ] || continue ;;
        esac
        # (stderr: bash reports "Killed" when it reaps the process)
        { kill -KILL "$p" && wait_exit "$p" 5; } 2>/dev/null
        _untrack "$p"
        NKILL[$svc]=$((NKILL[$svc] + 1))
        echo "--- SIGKILL $(date +%T.%N | cut -c1-12) (kill ${NKILL[$svc]}, state $PST)" >>"$T/crash.$svc.log"
        d=$(status_of "$svc" "$T/crash" outbox_depth)
        [ "${d:-0}" -gt 0 ] && NOUTBOX[$svc]=$((NOUTBOX[$svc] + 1))
        start "$svc"
    done
    [ "$busy" -eq 1 ] || break
    if [ "$NOW" -ge "$limit" ]; then
        fail "the kill phase ends within 150 s"
        break
    fi
    if [ "$armed" -eq 1 ]; then sleep 0.002; else sleep 0.05; fi
done
secs=$((($(now_ms) - t_kill) / 1000))
for svc in $SERVICES; do
    if [ "${NKILL[$svc]}" -ge "$KILLS" ]; then
        pass "$svc: killed with SIGKILL ${NKILL[$svc]} times in ${secs}s and restarted each time" \
            "(${NBUSY[$svc]} kills hit its main thread running or in I/O, ${NOUTBOX[$svc]} left outbox rows to re-send)"
    else
        fail "$svc: killed with SIGKILL at least $KILLS times (got ${NKILL[$svc]})"
    fi
done
# the last processes: stopped the same way, then the catch-up runs
for svc in $SERVICES; do
    p=${PID[$svc]}
    { alive "$p" && kill -KILL "$p"; wait_exit "$p" 5; } 2>/dev/null
    _untrack "$p"
done
if wait_exit "$PRODUCER" 60 && ! grep -q FAILED "$T/produce.log"; then
    pass "the gradual producer sent every chunk ($(grep -c '^produced' "$T/produce.log") produce runs)"
else
    fail "the gradual producer sent every chunk"
    dump "$T/produce.log"
fi
_untrack "$PRODUCER"
for svc in $SERVICES; do
    t0=$(now_ms)
    svc_catch_up "$svc" "$T/crash" "$T/crash.$svc.log"
    rc=$?
    if [ "$rc" -eq 0 ]; then
        pass "crash run: opsledger-$svc run --stop-at-end catches up and exits 0 ($(($(now_ms) - t0)) ms)"
    else
        fail "crash run: opsledger-$svc run --stop-at-end exits 0 (got $rc)"
        dump "$T/crash.$svc.log"
    fi
    svc_dump "$svc" "$T/crash" "$T/crash.$svc.dump"
    "$BIN/opsledger-$svc" status --data-dir "$T/crash" >"$T/crash.$svc.status" 2>&1
    d=$(status_of "$svc" "$T/crash" outbox_depth)
    check "$svc: outbox_depth is 0 after the catch-up (got ${d:-none})" [ "${d:-x}" = 0 ]
done
read_topics "$T/crash.raw" $DERIVED
stop_broker

# ------------------------------------------------------------------ 3. checks
for svc in $SERVICES; do
    run_check dumps "$svc (crash run vs clean run)" "$T/crash.$svc.dump" "$T/clean.$svc.dump"
    run_check counters "$svc" "$T/crash.$svc.status" "$T/clean.$svc.status"
done
# shellcheck disable=SC2086
run_check topics crash clean "$T/crash.raw" "$T/clean.raw" \
    "$T/crash.utilisation.dump,$T/crash.billing.dump,$T/crash.people.dump" \
    "$T/clean.utilisation.dump,$T/clean.billing.dump,$T/clean.people.dump" $DERIVED
assert_no_leftovers

echo "e2e crash: runtime $(($(date +%s) - START))s, seed $SEED"
e2e_finish
exit $?
