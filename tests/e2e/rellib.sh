# tests/e2e/rellib.sh — helpers shared by the reliability tests
# (test_crash.sh, test_outage.sh, test_mapfull.sh, test_hostile.sh); sourced
# after lib.sh. relcheck.py, beside this file, holds the checks (an
# independent Avro codec over schemas/, kcat and dump parsers).

RELCHECK=$E2E_DIR/relcheck.py
# shellcheck disable=SC2034  # used by the test scripts
DERIVED_UTIL="ops.utilisation.weekly ops.timesheet.missing"
# shellcheck disable=SC2034
DERIVED_BILL="finance.billing.line finance.contractor.reconciliation"
# shellcheck disable=SC2034
DERIVED_PEOPLE="ops.headcount.weekly"

# run_check ARGS...: relcheck.py ARGS, its PASS/FAIL lines counted by lib.sh;
# a crash of the checker itself is a failure too
RUN_CHECK_N=0
run_check() {
    RUN_CHECK_N=$((RUN_CHECK_N + 1)) # (not $RANDOM: test_crash.sh seeds it)
    local out=$E2E_TMP/check.$RUN_CHECK_N.$1.out rc nfail=0 line
    bounded python3 "$RELCHECK" "$@" >"$out" 2>&1
    rc=$?
    while IFS= read -r line; do
        case $line in
        "PASS "*) pass "${line#PASS }" ;;
        "FAIL "*)
            fail "${line#FAIL }"
            nfail=$((nfail + 1))
            ;;
        *) printf '       %s\n' "$line" ;;
        esac
    done <"$out"
    if [ "$rc" -ne 0 ] && [ "$nfail" -eq 0 ]; then
        fail "checker '$1' ran (exit status $rc)"
    fi
    return 0
}

# now_ms: wall-clock milliseconds (bash 5 $EPOCHREALTIME, no fork)
now_ms() {
    local t=${EPOCHREALTIME/./}
    echo $((t / 1000))
}

# gen_data DIR ARGS...: opsledger generate ARGS --out DIR; falls back to the
# fixtures (tests/e2e/fixtures) when generate is not available
gen_data() {
    local dir=$1
    shift
    if bounded "$OPSLEDGER" generate "$@" --out "$dir" >"$E2E_TMP/generate.log" 2>&1 &&
        [ -s "$dir/timesheet.entry.jsonl" ]; then
        pass "opsledger generate $* wrote $(cat "$dir"/*.jsonl | grep -c .) records"
    else
        echo "  (opsledger generate failed; using the fixtures)"
        dump "$E2E_TMP/generate.log" "generate"
        rm -rf "$dir"
        mkdir -p "$dir"
        cp "$FIXTURES"/*.jsonl "$dir"/
    fi
}

# produce_dir DIR: every DIR/<topic>.jsonl to its topic, in name order
produce_dir() {
    local f t rc=0
    for f in "$1"/*.jsonl; do
        [ -f "$f" ] || continue
        t=$(basename "$f" .jsonl)
        bounded "$OPSLEDGER" produce "$t" --file "$f" >>"$E2E_TMP/produce.log" 2>&1 || {
            rc=1
            echo "produce $t --file $f failed" >>"$E2E_TMP/produce.log"
        }
    done
    return $rc
}

# svc_start SVC DATA_DIR LOG [ARGS...]: opsledger-SVC run in the background
# (tracked); SVC_PID is its pid
svc_start() {
    local svc=$1 dir=$2 log=$3
    shift 3
    mkdir -p "$dir"
    "$BIN/opsledger-$svc" run --data-dir "$dir" "$@" >>"$log" 2>&1 </dev/null 3>&- 4>&- &
    SVC_PID=$!
    _track "$SVC_PID"
}

# svc_stop PID: SIGTERM, bounded wait; WAIT_STATUS is its exit status
svc_stop() {
    kill -TERM "$1" 2>/dev/null
    if ! wait_exit "$1" "$E2E_STOP_TIMEOUT"; then
        kill -KILL "$1" 2>/dev/null
        wait_exit "$1" 5
        # shellcheck disable=SC2034  # read by the caller
        WAIT_STATUS=999
    fi
    _untrack "$1"
}

# svc_catch_up SVC DATA_DIR LOG [ARGS...]: run --stop-at-end, bounded; returns its status
svc_catch_up() {
    local svc=$1 dir=$2 log=$3
    shift 3
    mkdir -p "$dir"
    bounded "$BIN/opsledger-$svc" run --data-dir "$dir" --stop-at-end "$@" >>"$log" 2>&1 </dev/null
}

# svc_dump SVC DATA_DIR OUT: canonical dump, checked to exit 0
svc_dump() {
    if bounded "$BIN/opsledger-$1" dump --data-dir "$2" >"$3" 2>"$3.err"; then
        return 0
    fi
    fail "opsledger-$1 dump --data-dir $2 exits 0"
    dump "$3.err"
    return 1
}

# status_of SVC DATA_DIR KEY: a value of `opsledger-SVC status` (empty when absent)
status_of() {
    "$BIN/opsledger-$1" status --data-dir "$2" 2>/dev/null | awk -v k="$3" '$1 == k { print $2 }'
}

# read_topics OUT_DIR TOPIC...: every record of each TOPIC, raw, as kcat
# prints it with lengths (relcheck.py read_kcat), into OUT_DIR/<topic>.raw
read_topics() {
    local out=$1 t
    shift
    mkdir -p "$out"
    for t in "$@"; do
        bounded kcat -b "$OPSLEDGER_BROKERS" -C -t "$t" -o beginning -e -q \
            -f '%p\t%o\t%K\t%k\t%S\t%s\n' >"$out/$t.raw" 2>"$out/$t.err" ||
            fail "kcat reads $t (status $?)"
    done
}

# the input topics of each service (services/<svc>/README.md)
# shellcheck disable=SC2034  # read through inputs_of
INPUTS_utilisation="hr.person hr.leave timesheet.entry delivery.engagement"
# shellcheck disable=SC2034  # its derived inputs (ops.forecast.engagement, ops.timesheet.missing) left out:
# the tests that use this run it before any service has published them
INPUTS_assurance="delivery.risk delivery.engagement delivery.allocation ops.rota hr.leave"
# shellcheck disable=SC2034
INPUTS_billing="delivery.engagement delivery.allocation hr.person timesheet.entry finance.expense finance.contractor_invoice finance.period"
# shellcheck disable=SC2034
INPUTS_people="hr.person hr.leave delivery.allocation"

# inputs_of SVC: the input topics of SVC
inputs_of() {
    eval "echo \"\$INPUTS_$1\""
}

# count_inputs SVC FILE...: how many of the lines of FILEs (named
# <topic>.jsonl) are records on SVC's input topics
count_inputs() {
    local svc=$1 f t n=0 ins
    shift
    ins=$(inputs_of "$svc")
    for f in "$@"; do
        [ -f "$f" ] || continue
        t=$(basename "$f" .jsonl)
        case " $ins " in *" $t "*) n=$((n + $(grep -c . "$f"))) ;; esac
    done
    echo "$n"
}

# wait_caught_up SVC DATA_DIR RECORDS SECONDS: until SVC's status shows at
# least RECORDS records and an empty outbox; 1 on time-out
wait_caught_up() {
    local t=$(($4 * 10)) r d
    while :; do
        r=$(status_of "$1" "$2" records)
        d=$(status_of "$1" "$2" outbox_depth)
        [ "${r:-0}" -ge "$3" ] && [ "${d:-1}" = 0 ] && return 0
        [ "$t" -gt 0 ] || return 1
        t=$((t - 1))
        sleep 0.1
    done
}
