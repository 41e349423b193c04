#!/bin/bash
# tests/e2e/test_offsets.sh — stored offsets out of the broker's range (issue
# 14 item 1; SPEC section 4, "Offsets"): never skipped or re-read silently.
#
#  1. beyond the end: data set A is folded by opsledger-utilisation; the
#     embedded broker restarts (its topics come back empty, with 4 partitions
#     instead of 8) and a smaller data set B is produced. The service must stop (non-zero exit) before folding
#     anything, with a message naming topic, partition, stored offset and the
#     low/high watermarks; `status --lag` shows the negative lag as a fault and
#     exits non-zero; `offsets show` lists the faults.
#  2. `opsledger offsets reset utilisation --to-beginning` writes the offsets
#     (and a record shown by `status`); the service then reads every record of
#     B: as many records as a fresh data directory, and the same stored offset
#     of every partition (those of the partitions gone were removed).
#  3. before the start, while running: the service runs, is frozen (SIGSTOP),
#     and so much is produced to timesheet.entry partition 0 that the embedded
#     broker drops the oldest records (librdkafka's mock cluster keeps about
#     5 MiB per partition) past the service's position: on SIGCONT its fetch
#     is out of range and it must stop with the same message, no silent
#     reset; a restart is refused by the start-up check too. A reset while
#     the service runs is refused, naming its process.
#
# Usage: BUILD=build bash tests/e2e/test_offsets.sh   (or via tests/run-e2e.sh)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/rellib.sh"
e2e_init offsets
T=$E2E_TMP
SVC=utilisation

# counters of `status` that, summed, account for every record read
acct() { # DIR: records folded duplicates stale conflicts deadletters
    local k out=""
    for k in records folded duplicates stale conflicts deadletters; do
        out="$out $k=$(status_of "$SVC" "$1" "$k")"
    done
    echo "$out"
}
# delta DIR BEFORE_FILE: "k=after-before" for every counter of acct
delta() {
    local k a b out=""
    for k in records folded duplicates stale conflicts deadletters; do
        a=$(status_of "$SVC" "$1" "$k")
        b=$(awk -v k="$k" '$1 == k { print $2 }' "$2")
        out="$out $k=$((${a:-0} - ${b:-0}))"
    done
    echo "$out"
}

gen_data "$T/a" --people 30 --weeks 5 --seed 11
gen_data "$T/b" --people 20 --weeks 2 --seed 12

# ------------------------------------------------------------------ 1. beyond the end
start_broker || {
    e2e_finish
    exit 1
}
produce_dir "$T/a" || fail "data set A is produced"
WANT_A=$(count_inputs "$SVC" "$T"/a/*.jsonl)
svc_catch_up "$SVC" "$T/run" "$T/run1.log" || fail "$SVC folds data set A (exit 0)"
check "$SVC folded every record of A ($WANT_A)" [ "$(status_of "$SVC" "$T/run" records)" = "$WANT_A" ]
stop_broker
# recreated with fewer partitions too (8 -> 4): offsets of partitions 4..7 name nothing
start_broker --partitions 4 || {
    e2e_finish
    exit 1
}
produce_dir "$T/b" || fail "data set B is produced into the restarted broker"
WANT_B=$(count_inputs "$SVC" "$T"/b/*.jsonl)
"$BIN/opsledger-$SVC" status --data-dir "$T/run" >"$T/before.status" 2>&1

svc_catch_up "$SVC" "$T/run" "$T/run2.log"
rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]; then
    pass "$SVC refuses to run on stored offsets beyond the partitions' end (exit $rc)"
else
    fail "$SVC stops (non-zero exit) on stored offsets beyond the partitions' end (exit $rc)"
    dump "$T/run2.log"
fi
check "$SVC folded nothing of B (records $(status_of "$SVC" "$T/run" records), was $WANT_A)" \
    [ "$(status_of "$SVC" "$T/run" records)" = "$WANT_A" ]
line=$(grep -E 'level=error' "$T/run2.log" | grep -E 'beyond the partition.s end' | head -n 1)
if [ -n "$line" ] && echo "$line" | grep -qE 'topic=[a-z.]+ partition=[0-9]+ stored_offset=[0-9]+ low=0 high=[0-9]+'; then
    pass "the message names topic, partition, stored offset and both watermarks: $(echo "$line" | sed 's/^ts=[^ ]* //' | cut -c1-220)"
else
    fail "the error names topic, partition, stored offset and the low/high watermarks"
    dump "$T/run2.log"
fi

check "the start-up check also names stored offsets of partitions the topic no longer has" \
    grep -qE 'a partition the topic no longer has.*topic=[a-z.]+ partition=[4-7] stored_offset=[0-9]+ partitions=4' "$T/run2.log"
"$OPSLEDGER" status "$SVC" --lag --data-dir "$T/run" >"$T/lag.out" 2>"$T/lag.err"
rc=$?
check "status --lag exits non-zero on an out-of-range offset (exit $rc)" [ "$rc" -ne 0 ]
if grep -qE -- "-[0-9]+ \(stored offset beyond the partition's end: topic recreated\?" "$T/lag.out" &&
    ! grep -qE '^ *consumer_lag +0$' "$T/lag.out"; then
    pass "status --lag shows the negative lag as a fault, not 0: $(grep -m1 -E -- "beyond the partition's end" "$T/lag.out" | sed 's/^ *//' | cut -c1-160)"
else
    fail "status --lag shows a negative lag as a fault"
    dump "$T/lag.out" "status --lag"
fi
"$OPSLEDGER" offsets show "$SVC" --data-dir "$T/run" >"$T/show.out" 2>"$T/show.err"
rc=$?
if [ "$rc" -ne 0 ] && grep -q "beyond the partition's end" "$T/show.out"; then
    pass "offsets show lists the faults and exits non-zero"
else
    fail "offsets show lists the faults and exits non-zero (exit $rc)"
    dump "$T/show.out"
    dump "$T/show.err"
fi

# ------------------------------------------------------------------ 2. operator reset
# a misspelt topic is refused, naming the nearest, and nothing is stored
# (the embedded broker would create it, and the reset would be read by nobody)
"$OPSLEDGER" offsets reset "$SVC" --topic hr.persons --partition 0 --offset 0 --data-dir "$T/run" \
    >"$T/badtopic.out" 2>"$T/badtopic.err"
rc=$?
"$OPSLEDGER" status "$SVC" --data-dir "$T/run" >"$T/badtopic.status" 2>&1
check "offsets reset --topic hr.persons (no such topic) is refused naming hr.person (exit $rc), nothing stored" \
    bash -c "[ $rc -eq 2 ] && grep -q \"no topic 'hr.persons' in the contract (did you mean hr.person?)\" '$T/badtopic.err' &&
             ! grep -q 'hr.persons\|offsets_reset' '$T/badtopic.status'"
"$OPSLEDGER" offsets reset "$SVC" --to-beginning --data-dir "$T/run" >"$T/reset.out" 2>"$T/reset.err"
rc=$?
check "offsets reset $SVC --to-beginning exits 0 (exit $rc)" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || dump "$T/reset.err"
if grep -q 'level=info.*offsets reset' "$T/reset.err"; then
    pass "the reset is logged: $(grep -m1 'offsets reset' "$T/reset.err" | sed 's/^ts=[^ ]* //' | cut -c1-200)"
else
    fail "the reset is logged"
    dump "$T/reset.err"
fi
"$OPSLEDGER" status "$SVC" --data-dir "$T/run" >"$T/after-reset.status" 2>&1
if grep -qE '^ *offsets_reset/0*1 .*to-beginning' "$T/after-reset.status"; then
    pass "status shows the reset record: $(grep -m1 'offsets_reset/' "$T/after-reset.status" | sed 's/^ *//' | cut -c1-200)"
else
    fail "status shows the reset record (offsets_reset/1)"
    dump "$T/after-reset.status"
fi
svc_catch_up "$SVC" "$T/run" "$T/run3.log"
rc=$?
check "after the reset $SVC runs and exits 0 (exit $rc)" [ "$rc" -eq 0 ]
RUN_DELTA=$(delta "$T/run" "$T/before.status")
svc_catch_up "$SVC" "$T/fresh" "$T/fresh.log" || fail "a fresh data directory folds B (exit 0)"
FRESH=$(acct "$T/fresh")
check "after the reset $SVC read every record of B ($WANT_B): $RUN_DELTA" \
    [ "$(status_of "$SVC" "$T/run" records)" = "$((WANT_A + WANT_B))" ]
check "it read the same records as a fresh data directory (records: this run's$(echo "$RUN_DELTA" | grep -o ' records=[0-9]*'), fresh$(echo "$FRESH" | grep -o ' records=[0-9]*'))" \
    [ "$(echo "$RUN_DELTA" | grep -o 'records=[0-9]*')" = "$(echo "$FRESH" | grep -o 'records=[0-9]*')" ]
# (folded/stale/conflicts differ: the data directory still holds A's entities)
# (an empty partition: the reset stored 0 where a fresh directory stores nothing)
"$BIN/opsledger-$SVC" status --data-dir "$T/run" | grep -E '^ *offset/' | grep -vE ' 0$' >"$T/run.offsets"
"$BIN/opsledger-$SVC" status --data-dir "$T/fresh" | grep -E '^ *offset/' | grep -vE ' 0$' >"$T/fresh.offsets"
check "every partition's stored offset equals the fresh data directory's ($(grep -c . "$T/fresh.offsets") partitions)" \
    cmp -s "$T/run.offsets" "$T/fresh.offsets"
"$OPSLEDGER" status "$SVC" --lag --data-dir "$T/run" >"$T/lag2.out" 2>&1
rc=$?
check "status --lag after the reset: lag 0, exit 0 (exit $rc, $(awk '$1 == "consumer_lag" { print $2 }' "$T/lag2.out"))" \
    [ "$rc" -eq 0 ] && grep -qE '^ *consumer_lag +0$' "$T/lag2.out"

# ------------------------------------------------------------------ 3. before the start, while running
svc_start "$SVC" "$T/run" "$T/run4.log"
P4=$SVC_PID
sleep 2
check "$SVC runs, caught up" alive "$P4"
# a reset while the service runs is refused, naming the process
"$OPSLEDGER" offsets reset "$SVC" --to-end --data-dir "$T/run" >"$T/reset2.out" 2>"$T/reset2.err"
rc=$?
if [ "$rc" -ne 0 ] && grep -q "$P4" "$T/reset2.err"; then
    pass "offsets reset is refused while the service runs: $(head -n 1 "$T/reset2.err" | cut -c1-200)"
else
    fail "offsets reset is refused while the service runs, naming its pid $P4 (exit $rc)"
    dump "$T/reset2.err"
fi
kill -STOP "$P4"
# ~8 MiB on timesheet.entry partition 0: the mock cluster drops its oldest records
python3 -c 'import sys; [sys.stdout.write("x" * 100000 + "\n") for _ in range(80)]' >"$T/junk.txt"
bounded kcat -P -b "$OPSLEDGER_BROKERS" -t timesheet.entry -p 0 -l "$T/junk.txt" 2>"$T/kcat.err" ||
    fail "kcat produces the filler records"
kill -CONT "$P4"
if wait_exit "$P4" 20; then
    _untrack "$P4"
    check "$SVC stops (non-zero exit) when its position falls before the partition's start while running (exit $WAIT_STATUS)" \
        [ "$WAIT_STATUS" -ne 0 ]
else
    fail "$SVC stops within 20 s when its position falls before the partition's start"
    svc_stop "$P4"
fi
line=$(grep -E 'level=error' "$T/run4.log" | grep -E "before the partition.s start" | head -n 1)
if [ -n "$line" ] && echo "$line" | grep -qE 'topic=timesheet.entry partition=0 stored_offset=[0-9]+ low=[1-9][0-9]* high=[0-9]+'; then
    pass "the message names topic, partition, stored offset and both watermarks: $(echo "$line" | sed 's/^ts=[^ ]* //' | cut -c1-220)"
else
    fail "the running service's error names the partition's start (low watermark) and the stored offset"
    dump "$T/run4.log"
fi
svc_catch_up "$SVC" "$T/run" "$T/run5.log"
rc=$?
check "a restart is refused by the start-up check (exit $rc)" [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]
check "the start-up check names the partition's start" grep -q "before the partition.s start" "$T/run5.log"

stop_broker
assert_no_leftovers
e2e_finish
exit $?
