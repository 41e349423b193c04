#!/bin/bash
# tests/e2e/test_instance.sh — one instance per data directory (issue 14,
# item 4; SPEC section 4). Before, a second instance on the same directory
# ran: counters doubled, one died with MDB_KEYEXIST, data_time went back.
#
#  1. a service runs (live, publishing); a second instance of it on the same
#     data directory exits non-zero at once, naming the running one's pid;
#     queries (status, dump) still read beside it;
#  2. the first is killed with SIGKILL: the lock dies with it, and a new
#     instance starts, catches up and exits 0 with --stop-at-end; its
#     counters equal a single clean run's.
#
# Usage: BUILD=build bash tests/e2e/test_instance.sh   (or via tests/run-e2e.sh)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/rellib.sh"
e2e_init instance
T=$E2E_TMP
START=$(date +%s)
SVC=utilisation

gen_data "$T/gen" --people 20 --weeks 3 --seed 4
start_broker || {
    e2e_finish
    exit 1
}
produce_dir "$T/gen" || fail "the data set is produced"

"$BIN/opsledger-$SVC" run --data-dir "$T/run" >"$T/first.log" 2>&1 &
first=$!
for _ in $(seq 1 100); do
    [ "$(status_of "$SVC" "$T/run" records 2>/dev/null)" ] && break
    sleep 0.1
done
bounded "$BIN/opsledger-$SVC" run --data-dir "$T/run" --stop-at-end >"$T/second.log" 2>&1
rc=$?
if [ "$rc" -ne 0 ] && grep -q "in use by another instance (pid $first)" "$T/second.log"; then
    pass "a second instance on the same data directory is refused (exit $rc), naming pid $first"
else
    fail "a second instance on the same data directory is refused, naming pid $first (exit $rc)"
    dump "$T/second.log"
fi
check "status reads beside the running instance" bounded "$BIN/opsledger-$SVC" status --data-dir "$T/run"
bounded "$BIN/opsledger-$SVC" status --data-dir "$T/run" >"$T/status.out" 2>&1
check "status lists no internal check values (the version log's chain, the derived layout)" \
    sh -c 'grep -q "^  batches " "$1" && ! grep -q "log_chain\|derived_layout" "$1"' _ "$T/status.out"
check "dump reads beside the running instance" svc_dump "$SVC" "$T/run" "$T/live.dump"
kill -KILL "$first"
wait "$first" 2>/dev/null
svc_catch_up "$SVC" "$T/run" "$T/third.log"
rc=$?
check "after a SIGKILL of the first, a new instance starts and exits 0 at the end (no stale lock; got $rc)" \
    [ "$rc" -eq 0 ]
svc_catch_up "$SVC" "$T/clean" "$T/clean.log" || fail "clean run exits 0"
run_check counters "$SVC" <("$BIN/opsledger-$SVC" status --data-dir "$T/run" 2>&1) \
    <("$BIN/opsledger-$SVC" status --data-dir "$T/clean" 2>&1)
stop_broker
assert_no_leftovers
echo "e2e instance: runtime $(($(date +%s) - START))s"
e2e_finish
exit $?
