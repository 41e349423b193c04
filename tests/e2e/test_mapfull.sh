#!/bin/bash
# tests/e2e/test_mapfull.sh — the LMDB map fills up (issue 7, "Disk full /
# map full"; README, "map full").
#
#  1. a generated data set is produced; for each service (utilisation,
#     billing) a run with a tiny map (-o map_size=640K) and small batches
#     (-o batch_max=100) must stop by itself, exit non-zero, and say that the
#     map is full and map_size must be raised;
#  2. nothing of the failed batch is committed: the `entity` database is
#     exactly the fold of the input records below the stored offsets, the
#     records counter equals their number, and every derived event published
#     so far is on its topic once per revision with the projection's last one
#     (relcheck.py entities / drained); a second run with the same tiny map
#     fails the same way and commits nothing partial either;
#  3. a restart with the default map size resumes and exits 0 with
#     --stop-at-end; its projection equals a clean run's (every database
#     byte-identical but the emission history), with the same effect counters
#     and offsets, and its derived topics hold every emission 1..N once.
#
# Usage: BUILD=build bash tests/e2e/test_mapfull.sh   (or via tests/run-e2e.sh)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/rellib.sh"
e2e_init mapfull
T=$E2E_TMP
START=$(date +%s)
TINY=${MAPFULL_TINY:-640K}
SERVICES="utilisation billing"

gen_data "$T/gen" --people 40 --weeks 6 --seed 5
start_broker || {
    e2e_finish
    exit 1
}
produce_dir "$T/gen" || fail "the data set is produced"
# shellcheck disable=SC2046  # topic names hold no blanks
read_topics "$T/in.raw" $(inputs_of billing) hr.leave

for svc in $SERVICES; do
    ins=$(inputs_of "$svc")
    if [ "$svc" = utilisation ]; then outs=$DERIVED_UTIL; else outs=$DERIVED_BILL; fi
    # ------------------------------------------------------------ 1. map full
    for attempt in 1 2; do
        log=$T/full$attempt.$svc.log
        svc_catch_up "$svc" "$T/run" "$log" -o map_size="$TINY" -o batch_max=100
        rc=$?
        if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]; then
            pass "$svc (map_size=$TINY, run $attempt): stops by itself with exit status $rc"
        else
            fail "$svc (map_size=$TINY, run $attempt): stops by itself with a non-zero exit status (got $rc)"
            dump "$log"
        fi
        if grep -i 'map is full' "$log" | grep -q 'map_size'; then
            pass "$svc: says why: $(grep -i 'map is full' "$log" | tail -n 1 | sed 's/^ts=[^ ]* //' | cut -c1-170)"
        else
            fail "$svc: says the map is full and names map_size"
            dump "$log"
        fi
        svc_dump "$svc" "$T/run" "$T/full$attempt.$svc.dump"
        "$BIN/opsledger-$svc" status --data-dir "$T/run" >"$T/full$attempt.$svc.status" 2>&1
        r=$(status_of "$svc" "$T/run" records)
        echo "  ($svc run $attempt: $(status_of "$svc" "$T/run" batches) batches, $r records committed before the map filled)"
        check "$svc: some batches were committed before the map filled (records ${r:-0})" [ "${r:-0}" -gt 0 ]
        # shellcheck disable=SC2086
        run_check entities "$svc" "$T/full$attempt.$svc.dump" "$T/full$attempt.$svc.status" "$T/in.raw" $ins
    done
    read_topics "$T/full.$svc.raw" $outs
    # shellcheck disable=SC2086
    run_check drained "$T/full.$svc.raw" "$T/full2.$svc.dump" $outs

    # ------------------------------------------------------------ 3. grown
    svc_catch_up "$svc" "$T/run" "$T/grown.$svc.log"
    rc=$?
    if [ "$rc" -eq 0 ]; then
        pass "$svc: restarted with the default map_size, it resumes and exits 0 at the end"
    else
        fail "$svc: restarted with the default map_size, it resumes and exits 0 at the end (got $rc)"
        dump "$T/grown.$svc.log"
    fi
    svc_dump "$svc" "$T/run" "$T/grown.$svc.dump"
    "$BIN/opsledger-$svc" status --data-dir "$T/run" >"$T/grown.$svc.status" 2>&1
    read_topics "$T/grown.$svc.raw" $outs
    # shellcheck disable=SC2086
    run_check drained "$T/grown.$svc.raw" "$T/grown.$svc.dump" $outs

    # the clean run (its events go to the same topics, after they were read)
    svc_catch_up "$svc" "$T/clean" "$T/clean.$svc.log" || fail "clean run: opsledger-$svc exits 0"
    svc_dump "$svc" "$T/clean" "$T/clean.$svc.dump"
    "$BIN/opsledger-$svc" status --data-dir "$T/clean" >"$T/clean.$svc.status" 2>&1
    run_check dumps "$svc (resumed after the map filled vs a clean run)" "$T/grown.$svc.dump" "$T/clean.$svc.dump"
    run_check counters "$svc" "$T/grown.$svc.status" "$T/clean.$svc.status"
done
stop_broker
assert_no_leftovers

echo "e2e mapfull: runtime $(($(date +%s) - START))s"
e2e_finish
exit $?
