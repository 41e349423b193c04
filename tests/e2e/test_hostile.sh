#!/bin/bash
# tests/e2e/test_hostile.sh — hostile records on every input topic (issue 7,
# "Hostile records"; SPEC section 4, "bad input").
#
#  1. relcheck.py hostile writes, for every input topic, raw record values:
#     random bytes, 3 and 0 bytes, a truncated body, a wrong magic byte, an
#     unknown schema id, the schema id of another topic, trailing bytes, an
#     enum index out of range, a 100 MB string length (the varint only), an
#     empty or 600-byte event_id, a 600-byte entity id, a date in year 9999,
#     revision -1, occurred_at in year 9999, and on timesheet.entry -30 and
#     2000 minutes and a work_date in 9999 (valid Avro of the entry encoded by
#     relcheck.py's own encoder); then valid records on a new entity: the
#     same event twice, a new event_id with the same revision and content,
#     equal revisions with other content and a smaller / larger event_id, a
#     higher and a lower revision; and the overlong-id record (dated 2099)
#     re-sent corrected with the same event_id, which must be folded (a dead
#     letter neither marks its event_id seen nor moves the data time);
#  2. kcat produces them (binary values from files) before a generated data
#     set (opsledger produce); utilisation and billing run with --stop-at-end
#     and must exit 0;
#  3. per service: every hostile record on its input topics is exactly one
#     dead letter on ops.deadletter with the specific ol.reason, the source
#     headers, key topic|partition|offset and the original bytes; no other
#     record is dead-lettered; the counters (records, folded, duplicates,
#     stale, conflicts, dead letters) and the entity database are exactly
#     those of an independent model of the rules over the same records
#     (relcheck.py entities); the projection equals a clean run's over the
#     valid records alone (another broker), whose counters differ only by the
#     hostile records and dead letters.
# Services: assurance (delivery.risk, ops.rota, ... : it runs first, while
# the derived topics it also reads are still empty), utilisation, billing,
# people (hr.person, hr.leave, delivery.allocation). Margin is not here: it
# also reads billing's finance.billing.line, which the independent model
# does not cover; its own rule (an invoice period ending before it starts is
# a dead letter) is in tests/services/test_margin.c.
#
# Usage: BUILD=build bash tests/e2e/test_hostile.sh   (or via tests/run-e2e.sh)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/rellib.sh"
e2e_init hostile
T=$E2E_TMP
START=$(date +%s)
SERVICES="assurance utilisation billing people"
ALL_INPUTS="hr.person hr.leave delivery.engagement delivery.allocation timesheet.entry finance.contractor_invoice finance.expense finance.period delivery.risk ops.rota"

gen_data "$T/gen" --people 20 --weeks 3 --seed 3
H=$T/hostile
if n=$(bounded python3 "$RELCHECK" hostile "$T/gen" "$H" 2>"$T/hostile.err"); then
    pass "relcheck.py wrote $n hostile and tricky records for $(cut -f2 "$H/plan.tsv" | sort -u | wc -l) input topics"
else
    fail "relcheck.py hostile writes the records"
    dump "$T/hostile.err"
    e2e_finish
    exit 1
fi

# produce_plan WHICH: the records of plan.tsv (all, or only the valid ones),
# in order, with kcat, one run per topic and key
produce_plan() {
    local which=$1 i topic key kind expect files=() cur=
    flush() {
        [ ${#files[@]} -gt 0 ] || return 0
        bounded kcat -P -b "$OPSLEDGER_BROKERS" -t "${cur%%	*}" -k "${cur#*	}" "${files[@]}" \
            >>"$T/kcat.log" 2>&1 || fail "kcat -P -t ${cur%%	*} (${#files[@]} records) exits 0"
        files=()
    }
    while IFS='	' read -r i topic key kind expect; do
        [ "$which" = valid ] && case $expect in dl:*) continue ;; esac
        if [ "$topic	$key" != "$cur" ]; then
            flush
            cur="$topic	$key"
        fi
        case $kind in
        "empty value" | "null value")
            # kcat sends no message for an empty file: an empty value from
            # stdin, a null one (a tombstone) with -Z
            flush
            [ "$kind" = "null value" ] && z=-Z || z=
            printf '%s|\n' "$key" | bounded kcat -P -b "$OPSLEDGER_BROKERS" -t "$topic" -K '|' $z \
                >>"$T/kcat.log" 2>&1 || fail "kcat -P -t $topic ($kind) exits 0"
            continue
            ;;
        esac
        files+=("$H/$topic/$i.bin")
    done <"$H/plan.tsv"
    flush
}

# ------------------------------------------------------------------ hostile run
start_broker || {
    e2e_finish
    exit 1
}
produce_plan all
produce_dir "$T/gen" || fail "the generated data set is produced after the hostile records"
read_topics "$T/in.raw" $ALL_INPUTS
run_check locate "$H" "$T/in.raw"
for svc in $SERVICES; do
    t0=$(now_ms)
    svc_catch_up "$svc" "$T/run" "$T/run.$svc.log"
    rc=$?
    if [ "$rc" -eq 0 ]; then
        pass "$svc: run --stop-at-end over the hostile input exits 0 ($(($(now_ms) - t0)) ms)"
    else
        fail "$svc: run --stop-at-end over the hostile input exits 0 (got $rc)"
        dump "$T/run.$svc.log"
    fi
    if grep -qE 'AddressSanitizer|runtime error|Segmentation|Aborted' "$T/run.$svc.log"; then
        fail "$svc: no sanitizer report or crash in its log"
        dump "$T/run.$svc.log"
    fi
    svc_dump "$svc" "$T/run" "$T/run.$svc.dump"
    "$BIN/opsledger-$svc" status --data-dir "$T/run" >"$T/run.$svc.status" 2>&1
done
run_ol "$T/deadletter.tail" "$T/deadletter.err" tail ops.deadletter --from-beginning ||
    fail "opsledger tail ops.deadletter exits 0"
read_topics "$T/out.raw" ops.deadletter
for svc in $SERVICES; do
    ins=$(inputs_of "$svc")
    # shellcheck disable=SC2086
    run_check deadletters "$H" "$T/deadletter.tail" "$T/out.raw/ops.deadletter.raw" "$svc" $ins
    # shellcheck disable=SC2086
    run_check entities "$svc" "$T/run.$svc.dump" "$T/run.$svc.status" "$T/in.raw" $ins
done
stop_broker

# ------------------------------------------------------------------ clean run
start_broker || {
    e2e_finish
    exit 1
}
produce_plan valid
produce_dir "$T/gen" || fail "clean run: the generated data set is produced"
for svc in $SERVICES; do
    ins=$(inputs_of "$svc")
    svc_catch_up "$svc" "$T/clean" "$T/clean.$svc.log" || fail "clean run: opsledger-$svc exits 0"
    svc_dump "$svc" "$T/clean" "$T/clean.$svc.dump"
    "$BIN/opsledger-$svc" status --data-dir "$T/clean" >"$T/clean.$svc.status" 2>&1
    nh=0
    for t in $ins; do
        nh=$((nh + $(awk -F'\t' -v t="$t" '$2 == t && $5 ~ /^dl:/' "$H/plan.tsv" | wc -l)))
    done
    run_check dumps "$svc (with the hostile records vs without them)" "$T/run.$svc.dump" "$T/clean.$svc.dump"
    run_check counters "$svc" "$T/run.$svc.status" "$T/clean.$svc.status" records=$nh deadletters=$nh nooffsets
done

# opsledger produce from something that is not a file of lines: a
# directory is a read error (exit 1, named), never "produced 0 records"
bounded "$OPSLEDGER" produce hr.person --file "$T" >"$T/pdir.out" 2>"$T/pdir.err"
PDIR=$?
check "produce --file DIRECTORY exits 1 naming the read error (got $PDIR)" \
    sh -c "[ $PDIR -eq 1 ] && grep -q 'cannot read after line 0: Is a directory' '$T/pdir.err'"
for bad in abc 0 -1; do
    bounded "$OPSLEDGER" tail hr.person --count "$bad" >"$T/tailc.out" 2>"$T/tailc.err"
    TC=$?
    check "tail --count $bad is refused (exit 2), naming the value (got $TC)" \
        sh -c "[ $TC -eq 2 ] && grep -q -- \"--count must be an integer in 1..\" '$T/tailc.err'"
done
stop_broker
assert_no_leftovers

echo "e2e hostile: runtime $(($(date +%s) - START))s"
e2e_finish
exit $?
