#!/bin/bash
# tests/e2e/test_diskfull.sh — the file system under a projection fills up
# (issue 14, item 6; SPEC section 4: "only an environment fault (disk full,
# map full, I/O error) stops a service, with a message naming the fault, and
# commits nothing of the batch").
#
#  1. a clean run of utilisation over a generated data set measures the
#     projection's size;
#  2. the same service runs with its data directory on a tmpfs this test
#     mounts with a third of that size: it must stop by itself with a
#     non-zero exit status (not a crash: before, a failed commit was aborted
#     again in ol_outbox_stop, "double free or corruption", SIGABRT), and say
#     "disk full" with the bytes free (before: "Input/output error");
#  3. the tmpfs is grown (remount), the service restarts and exits 0 at the
#     end; its projection equals the clean run's, byte for byte.
#  2 and 3 run four times: with lmdb_writemap=1 (blocks reserved before each
#  batch: refused at once, and refused part way), with the reserve off (the
#  disk fills part way and the SIGBUS backstop speaks), and with LMDB's
#  pwrite path (lmdb_writemap=0: LMDB's write fails; the default, auto, is
#  one or the other at any batch);
#  4. a replay (--from-kafka) onto the full tmpfs says "disk full" and stops
#     with a status below 128, with and without the reserve.
# Mounting needs root (or CAP_SYS_ADMIN): elsewhere the test says why it is
# skipped and passes.
#
# Usage: BUILD=build bash tests/e2e/test_diskfull.sh   (or via tests/run-e2e.sh)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/rellib.sh"
e2e_init diskfull
T=$E2E_TMP
START=$(date +%s)
SVC=utilisation
MNT=$T/small

mkdir -p "$MNT"
if ! mount -t tmpfs -o size=1m,mode=0700 opsledger-e2e-diskfull "$MNT" 2>"$T/mount.err"; then
    echo "  SKIP: cannot mount a tmpfs here ($(head -c 200 "$T/mount.err")); the disk-full test needs root"
    pass "skipped: mounting a small file system is not permitted"
    e2e_finish
    exit $?
fi
umount "$MNT"
cleanup_mount() { mountpoint -q "$MNT" && umount "$MNT"; }
trap cleanup_mount EXIT

gen_data "$T/gen" --people 40 --weeks 6 --seed 5
start_broker || {
    e2e_finish
    exit 1
}
produce_dir "$T/gen" || fail "the data set is produced"

# ------------------------------------------------------------ 1. clean run
# no blocks reserved ahead: du then measures the projection itself
# (pwrite throughout: lmdb_writemap=auto would take the map for this
# backlog, and the map's reserve would count in du)
svc_catch_up "$SVC" "$T/clean" "$T/clean.log" -o batch_max=100 -o lmdb_writemap=0 ||
    fail "clean run: opsledger-$SVC exits 0"
svc_dump "$SVC" "$T/clean" "$T/clean.dump"
size_kb=$(du -k "$(find "$T/clean" -name data.mdb | head -n 1)" | cut -f1)
small_kb=$((size_kb / 3))
[ "$small_kb" -ge 64 ] || small_kb=64
echo "  (the clean projection takes ${size_kb} KiB on disk; the small file system has ${small_kb} KiB)"

# full_then_resume LABEL HOW OPTS...: the service on the small file system stops
# by itself saying "disk full"; grown, it resumes and ends equal to the clean run
full_then_resume() {
    label=$1 how=$2
    shift 2
    rm -rf "$MNT/data"
    mountpoint -q "$MNT" && umount "$MNT"
    fs_kb=${FULL_KB:-$small_kb}
    mount -t tmpfs -o "size=${fs_kb}k,mode=0700" opsledger-e2e-diskfull "$MNT" ||
        fail "mount a ${fs_kb} KiB tmpfs"
    svc_catch_up "$SVC" "$MNT/data" "$T/full.$label.log" -o batch_max=100 "$@"
    rc=$?
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$rc" -lt 128 ]; then
        pass "$label: $SVC on a full file system stops by itself with exit status $rc (no signal, no crash)"
    else
        fail "$label: $SVC on a full file system stops by itself with a non-zero exit status below 128 (got $rc)"
        dump "$T/full.$label.log"
    fi
    if grep -qE 'double free|corruption|Aborted|AddressSanitizer|runtime error' "$T/full.$label.log"; then
        fail "$label: $SVC: no double free, abort or sanitizer report in its log"
        dump "$T/full.$label.log"
    else
        pass "$label: $SVC: no double free, abort or sanitizer report in its log"
    fi
    if grep -q 'disk full: [0-9]* bytes free' "$T/full.$label.log"; then
        pass "$label: $SVC says why: $(grep 'disk full' "$T/full.$label.log" | tail -n 1 | sed 's/^ts=[^ ]* //' | cut -c1-200)"
    else
        fail "$label: $SVC says 'disk full' with the bytes free"
        dump "$T/full.$label.log"
    fi
    if grep -q "$how" "$T/full.$label.log"; then
        pass "$label: the stop comes from the expected layer ($how)"
    else
        fail "$label: the stop comes from the expected layer ($how)"
        dump "$T/full.$label.log"
    fi
    r=$(status_of "$SVC" "$MNT/data" records)
    echo "  ($label: ${r:-0} records were committed before the file system filled)"
    FULL_RECORDS=${r:-0}

    # room for the projection and the 16 MiB the default reserves ahead of a batch
    mount -o "remount,size=$((size_kb * 4 + 40960))k" "$MNT" || fail "grow the tmpfs"
    svc_catch_up "$SVC" "$MNT/data" "$T/resumed.$label.log" -o batch_max=100 "$@"
    rc=$?
    if [ "$rc" -eq 0 ]; then
        pass "$label: $SVC: restarted once space is free, it resumes and exits 0 at the end"
    else
        fail "$label: $SVC: restarted once space is free, it resumes and exits 0 at the end (got $rc)"
        dump "$T/resumed.$label.log"
    fi
    svc_dump "$SVC" "$MNT/data" "$T/resumed.$label.dump"
    run_check dumps "$label: $SVC (resumed after the disk filled vs a clean run)" "$T/resumed.$label.dump" "$T/clean.dump"
    run_check counters "$label: $SVC" <("$BIN/opsledger-$SVC" status --data-dir "$MNT/data" 2>&1) \
        <("$BIN/opsledger-$SVC" status --data-dir "$T/clean" 2>&1)
}

# ------------------------------------------------------------ 2, 3. disk full, then space freed
# lmdb_writemap=1: the projection's map is written in place (MDB_WRITEMAP),
# and the disk blocks of the next batch are allocated before it begins, so
# the service refuses to begin a batch the file system cannot hold
full_then_resume reserve 'cannot begin a write transaction.*disk full' -o lmdb_writemap=1
# room for the 16 MiB reserve and half the projection: batches commit while
# the reserve keeps 16 MiB ahead of the data, then one is refused before it
# begins (never SIGBUS), with records committed first
FULL_KB=$((16384 + size_kb / 2)) full_then_resume reserve-midway 'cannot begin a write transaction.*disk full' -o lmdb_writemap=1
[ "$FULL_RECORDS" -gt 0 ] && pass "reserve-midway: batches committed before the reserve refused one ($FULL_RECORDS records)" ||
    fail "reserve-midway: batches commit before the reserve refuses one (0 records were committed first)"
# the blocks are not allocated ahead (lmdb_reserve_mib=0): the file system
# fills part way through the run, a write into the map is SIGBUS, and the
# backstop turns it into the same message and exit status
full_then_resume backstop 'disk full.*SIGBUS' -o lmdb_writemap=1 -o lmdb_reserve_mib=0
[ "$FULL_RECORDS" -gt 0 ] && pass "backstop: the file system filled part way through ($FULL_RECORDS records committed first)" ||
    fail "backstop: the file system fills part way through the run (0 records were committed first)"
# the default, without MDB_WRITEMAP: LMDB's own write error
full_then_resume pwrite 'batch aborted, nothing committed.*disk full' -o lmdb_writemap=0

# ------------------------------------------------------------ 4. a replay onto a full disk
# a replay writes its fresh directory through the map as well
rm -rf "$MNT/data"
umount "$MNT"
mount -t tmpfs -o "size=${small_kb}k,mode=0700" opsledger-e2e-diskfull "$MNT" || fail "mount a ${small_kb} KiB tmpfs"
for reserve in 16 0; do
    rm -rf "$MNT/replay"
    bounded "$BIN/opsledger" replay "$SVC" --from-kafka --out "$MNT/replay" -o lmdb_reserve_mib=$reserve >"$T/replay.$reserve.out" 2>"$T/replay.$reserve.log"
    rc=$?
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$rc" -lt 128 ] && grep -q 'disk full: [0-9]* bytes free' "$T/replay.$reserve.log"; then
        pass "replay (lmdb_reserve_mib=$reserve) onto a full file system stops with exit status $rc and says 'disk full'"
    else
        fail "replay (lmdb_reserve_mib=$reserve) onto a full file system stops with a status below 128 saying 'disk full' (got $rc)"
        dump "$T/replay.$reserve.log"
    fi
done
umount "$MNT" || fail "umount the tmpfs"
stop_broker
assert_no_leftovers

echo "e2e diskfull: runtime $(($(date +%s) - START))s"
e2e_finish
exit $?
