#!/bin/bash
# tests/e2e/test_indexcrash.sh — SIGKILL while a service builds the version
# log's indexes (issue 15: "a crash test that kills the service during index
# rebuild"). The indexes are derived state (common/ol_state.c): a start reads
# them from the index snapshot a clean stop left, or from the log; a kill at
# any instant of that must leave nothing a later start trusts wrongly.
#
#  1. a generated data set is produced; opsledger-utilisation folds it to the
#     end (--stop-at-end), and stops cleanly (a snapshot is written);
#  2. the whole data set is produced again (every record re-delivered: each
#     must fold nothing: a duplicate or stale, which needs the indexes);
#  3. the service is started and SIGKILLed again and again (INDEXCRASH_KILLS,
#     default 12), each start either with the snapshot removed (a rebuild
#     from the log) or with whatever the last start left, killed after it
#     logs that it indexes and a delay drawn from 0..1.2 x the measured
#     build time; a start's own log
#     says whether the kill landed while it was indexing ("indexing the
#     version log" logged, "version log indexed" not yet); at least
#     INDEXCRASH_MIN_HITS (3) kills must land there (more attempts are made,
#     up to 6 x KILLS, until they do);
#  4. it then catches up (--stop-at-end); a fresh data directory folds the
#     same topics undisturbed; the two dumps are byte-identical and the
#     effect counters (records, folded, duplicates, stale, conflicts, dead
#     letters), data time and offsets are equal;
#  5. a third data directory folds the same topics in small batches with a
#     periodic index snapshot (-o batch_max=400 -o index_snapshot_rows=1500:
#     one every few batches) and is SIGKILLed at random instants
#     (INDEXCRASH_PERIODIC_KILLS, default 8): mid-batch, mid-save of a
#     snapshot, mid-start; each start adopts the last snapshot and indexes
#     the rows committed after it. At least one start must have done that
#     with rows after the snapshot (its log: from=snapshot
#     rows_after_snapshot=N, N > 0); then it catches up and equals the
#     undisturbed run as in 4.
#
# Usage: BUILD=build bash tests/e2e/test_indexcrash.sh   (or via tests/run-e2e.sh)
# Knobs: INDEXCRASH_SEED, INDEXCRASH_KILLS (12), INDEXCRASH_MIN_HITS (3),
#        INDEXCRASH_PERIODIC_KILLS (8),
#        INDEXCRASH_PEOPLE (400), INDEXCRASH_WEEKS (10)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/rellib.sh"
e2e_init indexcrash
T=$E2E_TMP
START=$(date +%s)
SEED=${INDEXCRASH_SEED:-$(date +%s)}
KILLS=${INDEXCRASH_KILLS:-12}
MIN_HITS=${INDEXCRASH_MIN_HITS:-3}
echo "indexcrash: seed $SEED (INDEXCRASH_SEED=$SEED reproduces the delays)"
RANDOM=$SEED
SVC=utilisation

gen_data "$T/gen" --people "${INDEXCRASH_PEOPLE:-400}" --weeks "${INDEXCRASH_WEEKS:-10}" --seed 5
start_broker || {
    e2e_finish
    exit 1
}
check "the data set is produced" produce_dir "$T/gen"

# ------------------------------------------------------------------ 1.
svc_catch_up "$SVC" "$T/k" "$T/first.log"
check "opsledger-$SVC folds the data set to the end and stops cleanly" test $? -eq 0
check "a clean stop leaves the index snapshot" test -f "$T/k/$SVC/index.snapshot"
folded1=$(status_of "$SVC" "$T/k" folded)

# the time from a start to the end of indexing (a rebuild from the log),
# measured on this machine before the re-delivery: the kills' delays are
# drawn around it
rm -f "$T/k/$SVC/index.snapshot" "$T/k/$SVC/index.snapshot.alt"
t0=$(now_ms)
svc_start "$SVC" "$T/k" "$T/probe.log"
PROBE=$SVC_PID
while alive "$PROBE" && ! grep -q 'version log indexed' "$T/probe.log"; do sleep 0.01; done
index_ms=$(($(now_ms) - t0))
svc_stop "$PROBE"
build_ms=$(sed -n 's/.*version log indexed.*build_ms=\([0-9.]*\).*/\1/p' "$T/probe.log" | tail -n 1)
echo "  a start indexes the log in ${index_ms} ms (the build itself: ${build_ms:-?} ms)"
build_whole=${build_ms%%.*}
[ "${build_whole:-0}" -ge 20 ] 2>/dev/null || build_whole=20

# ------------------------------------------------------------------ 2.
check "the data set is produced again (every record re-delivered)" produce_dir "$T/gen"

# ------------------------------------------------------------------ 3.
exec 9< <(sleep 3600) # a pipe that delivers nothing: read -t on it is a nap without a fork
NAPPER=$!
_track "$NAPPER"
hits=0 kills=0 rebuilds=0 loads=0 attempt=0
while [ $attempt -lt $((KILLS * 6)) ]; do
    attempt=$((attempt + 1))
    [ $kills -ge "$KILLS" ] && [ $hits -ge "$MIN_HITS" ] && break
    if [ $((RANDOM % 2)) -eq 0 ]; then rm -f "$T/k/$SVC/index.snapshot" "$T/k/$SVC/index.snapshot.alt"; fi
    log=$T/kill.$attempt.log
    # once the start says it indexes, a delay up to 1.2 x the measured
    # build time (in ms): most kills land in the build, some just after
    delay_ms=$((RANDOM % (build_whole * 6 / 5 + 1)))
    svc_start "$SVC" "$T/k" "$log"
    pid=$SVC_PID
    # watched with builtins only (a fork per poll costs more than the
    # build under load): the start's first log line, 2 ms naps on a pipe
    # that never delivers
    w=0 first=
    while [ $w -lt 5000 ] && kill -0 "$pid" 2>/dev/null; do
        first=
        { read -r first <"$log"; } 2>/dev/null
        case $first in *'indexing the version log'*) break ;; esac
        w=$((w + 1))
        read -r -t 0.002 -u 9 _ 2>/dev/null
    done
    read -r -t "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))" -u 9 _ 2>/dev/null
    kill -KILL "$pid" 2>/dev/null
    wait_exit "$pid" 10
    _untrack "$pid"
    kills=$((kills + 1))
    if grep -q 'indexing the version log' "$log" && ! grep -q 'version log indexed' "$log"; then
        hits=$((hits + 1))
        if grep -q 'snapshot=present' "$log"; then loads=$((loads + 1)); else rebuilds=$((rebuilds + 1)); fi
    fi
done
exec 9<&-
kill "$NAPPER" 2>/dev/null
wait "$NAPPER" 2>/dev/null
_untrack "$NAPPER"
echo "  $kills kills, $hits while indexing ($rebuilds with no snapshot: a rebuild from the log; $loads with a snapshot present)"
check "at least $MIN_HITS kills landed while the service was indexing the version log (got $hits)" test $hits -ge "$MIN_HITS"
check "no temporary snapshot file is left behind" test ! -e "$T/k/$SVC/index.snapshot.tmp"

# ------------------------------------------------------------------ 4.
svc_catch_up "$SVC" "$T/k" "$T/final.log"
check "after the kills opsledger-$SVC catches up and stops cleanly" test $? -eq 0
svc_dump "$SVC" "$T/k" "$T/k.dump"
"$BIN/opsledger-$SVC" status --data-dir "$T/k" >"$T/k.status" 2>&1
svc_catch_up "$SVC" "$T/ref" "$T/ref.log"
check "the undisturbed run folds the same topics" test $? -eq 0
svc_dump "$SVC" "$T/ref" "$T/ref.dump"
"$BIN/opsledger-$SVC" status --data-dir "$T/ref" >"$T/ref.status" 2>&1
run_check dumps "$SVC (killed while indexing vs undisturbed)" "$T/k.dump" "$T/ref.dump"
run_check counters "$SVC" "$T/k.status" "$T/ref.status"
folded2=$(status_of "$SVC" "$T/k" folded)
check "the re-delivered records folded nothing (folded ${folded1:-?} after the first pass, ${folded2:-?} at the end)" \
    test -n "${folded1:-}" -a "${folded1:-x}" = "${folded2:-y}"

# ------------------------------------------------------------------ 5.
PERIODIC=(-o batch_max=400 -o index_snapshot_rows=1500)
t0=$(now_ms)
svc_catch_up "$SVC" "$T/probe5" "$T/probe5.log" "${PERIODIC[@]}"
fold_ms=$(($(now_ms) - t0))
saves=$(grep -c 'index snapshot written.*index_snapshot_rows' "$T/probe5.log")
echo "  in small batches the data set folds in ${fold_ms} ms, with $saves periodic snapshots"
check "periodic index snapshots are written while the service folds (got $saves)" test "$saves" -ge 3
tails=0 pkills=0
for i in $(seq 1 "${INDEXCRASH_PERIODIC_KILLS:-8}"); do
    log=$T/periodic.$i.log
    delay_ms=$((RANDOM % (fold_ms + 1)))
    svc_start "$SVC" "$T/p" "$log" "${PERIODIC[@]}"
    pid=$SVC_PID
    sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
    kill -KILL "$pid" 2>/dev/null && pkills=$((pkills + 1))
    wait_exit "$pid" 10
    _untrack "$pid"
    n=$(sed -n 's/.*version log indexed.*from=snapshot rows_after_snapshot=\([0-9]*\).*/\1/p' "$log" | tail -n 1)
    [ "${n:-0}" -gt 0 ] && tails=$((tails + 1))
done
svc_catch_up "$SVC" "$T/p" "$T/periodic.final.log" "${PERIODIC[@]}"
check "after $pkills kills with periodic snapshots opsledger-$SVC catches up and stops cleanly" test $? -eq 0
n=$(sed -n 's/.*version log indexed.*from=snapshot rows_after_snapshot=\([0-9]*\).*/\1/p' "$T/periodic.final.log")
[ "${n:-0}" -gt 0 ] && tails=$((tails + 1))
echo "  $tails starts adopted a snapshot and indexed the rows committed after it"
check "a start after a kill adopts the last periodic snapshot and indexes the rows after it (got $tails)" \
    test "$tails" -ge 1
svc_dump "$SVC" "$T/p" "$T/p.dump"
"$BIN/opsledger-$SVC" status --data-dir "$T/p" >"$T/p.status" 2>&1
run_check dumps "$SVC (killed with periodic snapshots vs undisturbed)" "$T/p.dump" "$T/ref.dump"
run_check counters "$SVC" "$T/p.status" "$T/ref.status"

stop_broker
assert_no_leftovers
echo "e2e indexcrash: runtime $(($(date +%s) - START))s"
e2e_finish
exit $?
