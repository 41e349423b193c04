#!/bin/bash
# One end-to-end run under valgrind --leak-check=full: the fixtures through a
# real broker, utilisation, billing and the archive run to the end of their
# input and stop; valgrind must report no error and no definite, indirect or
# possible leak.
set -u
. "$(dirname "$0")/lib.sh"
e2e_init valgrind

if ! command -v valgrind >/dev/null 2>&1; then
    fail "valgrind is installed (Debian package valgrind)"
    e2e_finish
    exit 1
fi
if nm "$BIN/opsledger-utilisation" 2>/dev/null | grep -q __asan_init; then
    pass "skipped: these binaries are built with AddressSanitizer (make check-asan), which valgrind cannot run"
    e2e_finish
    exit $?
fi
start_broker || { e2e_finish; exit 1; }
for t in hr.person delivery.engagement delivery.allocation hr.leave timesheet.entry finance.period \
         finance.expense finance.contractor_invoice; do
    run_ol "$E2E_TMP/p.out" "$E2E_TMP/p-$t.err" produce "$t" --file "$FIXTURES/$t.jsonl" || fail "produce $t"
done
# map_size=256M: with MDB_WRITEMAP (lmdb_writemap=1, a replay) valgrind
# tracks the whole shared map, and the 16G default map took 261 s, not 9
for s in utilisation billing archive; do
    E2E_CMD_TIMEOUT=300 bounded valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible \
        --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=9 \
        "$BIN/opsledger-$s" run --stop-at-end --data-dir "$E2E_TMP/data" -o map_size=256M >"$E2E_TMP/$s.out" 2>"$E2E_TMP/$s.vg"
    rc=$?
    if [ $rc -eq 0 ] && grep -q "ERROR SUMMARY: 0 errors" "$E2E_TMP/$s.vg"; then
        pass "opsledger-$s under valgrind: no errors, no leaks ($(grep -c . "$E2E_TMP/$s.vg") log lines)"
    else
        fail "opsledger-$s under valgrind (exit $rc)"
        grep -E "definitely|indirectly|possibly|ERROR SUMMARY|Invalid" "$E2E_TMP/$s.vg" | head -20
    fi
done
stop_broker
e2e_finish
