# tests/e2e/lib.sh — helpers sourced by the end-to-end test scripts
# (tests/e2e/test_*.sh, run by tests/run-e2e.sh BUILD_DIR).
#
#   . "$(dirname "$0")/lib.sh"; e2e_init NAME
#   start_broker            embedded broker in $E2E_TMP, exports OPSLEDGER_BROKERS
#   stop_broker             SIGTERM, bounded wait, asserts exit status 0
#   pass MSG / fail MSG     counters; check CMD... runs CMD and passes/fails
#   e2e_finish              prints "e2e NAME: N passed, M failed", sets the status
#
# Every process started here is recorded and killed by the EXIT/INT/TERM trap,
# every wait is bounded, and the per-test temporary directory is removed
# unless a check failed (then it is kept, and its path printed, for the logs).
# Written for bash (the test scripts use #!/bin/bash) but POSIX where cheap.

# paths --------------------------------------------------------------------
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE:-$0}")" && pwd)
REPO=$(cd "$E2E_DIR/../.." && pwd)
# shellcheck disable=SC2034  # used by the test scripts
FIXTURES=$E2E_DIR/fixtures
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$(cd "$BUILD" 2>/dev/null && pwd || echo "$PWD/$BUILD") ;; esac
BIN=$BUILD/bin
OPSLEDGER=$BIN/opsledger

# a hermetic environment: the repo's schemas, no config file from the caller
export OPSLEDGER_SCHEMAS="$REPO/schemas"
unset OPSLEDGER_CONFIG OPSLEDGER_DATA_DIR
unset OPSLEDGER_BROKERS

# time limits (seconds)
E2E_CMD_TIMEOUT=${E2E_CMD_TIMEOUT:-60}   # one produce / tail / kcat run
E2E_START_TIMEOUT=${E2E_START_TIMEOUT:-15}
E2E_STOP_TIMEOUT=${E2E_STOP_TIMEOUT:-15}

E2E_NAME=e2e
E2E_TMP=
E2E_PASSED=0
E2E_FAILED=0
E2E_PIDS=
BROKER_PID=

# results ------------------------------------------------------------------
pass() {
    E2E_PASSED=$((E2E_PASSED + 1))
    printf 'ok   - %s\n' "$*"
}

fail() {
    E2E_FAILED=$((E2E_FAILED + 1))
    printf 'FAIL - %s\n' "$*"
}

# check MSG CMD [ARGS...]: pass MSG when CMD succeeds, else fail MSG
check() {
    _msg=$1
    shift
    if "$@"; then pass "$_msg"; else fail "$_msg"; fi
}

# dump FILE [LABEL]: show a log file, indented, after a failure
dump() {
    [ -f "$1" ] || return 0
    printf '  --- %s\n' "${2:-$1}"
    sed -e 's/^/  | /' -e '200q' "$1"
}

# processes ----------------------------------------------------------------
# alive PID: true while PID runs (a zombie, exited but not yet reaped, is not)
alive() {
    _st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    case $_st in
    Z* | '') return 1 ;;
    esac
    return 0
}

# wait_exit PID SECONDS: wait at most SECONDS for PID (a child of this shell)
# to exit; sets WAIT_STATUS to its exit status, or returns 1 on time-out.
wait_exit() {
    _pid=$1
    _ticks=$(($2 * 10))
    while alive "$_pid"; do
        [ "$_ticks" -gt 0 ] || return 1
        _ticks=$((_ticks - 1))
        sleep 0.1
    done
    WAIT_STATUS=0
    wait "$_pid" 2>/dev/null || WAIT_STATUS=$?
    return 0
}

_track() { E2E_PIDS="$E2E_PIDS $1"; }
_untrack() {
    _new=
    for _p in $E2E_PIDS; do [ "$_p" = "$1" ] || _new="$_new $_p"; done
    E2E_PIDS=$_new
}

# kill_tracked: TERM every recorded process, and every other child of this
# shell (a signal may land between "cmd &" and the recording of its pid),
# then KILL what is left after 5 s
kill_tracked() {
    for _p in $(ps -o pid= --ppid "$$" 2>/dev/null); do
        case " $E2E_PIDS " in
        *" $_p "*) ;;
        *) alive "$_p" && E2E_PIDS="$E2E_PIDS $_p" ;;
        esac
    done
    for _p in $E2E_PIDS; do
        alive "$_p" && kill -TERM "$_p" 2>/dev/null
    done
    for _p in $E2E_PIDS; do
        if ! wait_exit "$_p" 5; then
            echo "e2e: process $_p ignored SIGTERM, killing it" >&4
            kill -KILL "$_p" 2>/dev/null
            wait_exit "$_p" 5 || echo "e2e: cannot kill process $_p" >&4
        fi
    done
    E2E_PIDS=
    BROKER_PID=
}

# The traps may run while a command's redirections are in force (inside
# bounded ... >file), so they write to fds 3 and 4: the script's own stdout
# and stderr, saved by e2e_init.
_e2e_cleanup() {
    _rc=$?
    trap - EXIT INT TERM
    kill_tracked
    if [ -n "$E2E_TMP" ] && [ -d "$E2E_TMP" ]; then
        if [ "$E2E_FAILED" -eq 0 ] && [ "$_rc" -eq 0 ]; then
            rm -rf "$E2E_TMP"
        else
            echo "e2e: logs kept in $E2E_TMP" >&3
        fi
    fi
    return "$_rc"
}

_e2e_signal() {
    echo "e2e $E2E_NAME: interrupted by SIG$1" >&4
    E2E_FAILED=$((E2E_FAILED + 1))
    trap - "$1"
    _e2e_cleanup
    exit $((128 + $2))
}

# e2e_init NAME: temp dir, traps, sanity checks of the tools
e2e_init() {
    E2E_NAME=$1
    exec 3>&1 4>&2
    trap _e2e_cleanup EXIT
    trap '_e2e_signal INT 2' INT
    trap '_e2e_signal TERM 15' TERM
    E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/opsledger-e2e-$E2E_NAME.XXXXXX") || {
        echo "e2e: cannot create a temporary directory" >&2
        exit 2
    }
    if [ ! -x "$OPSLEDGER" ]; then
        fail "opsledger binary exists at $OPSLEDGER (run make binaries)"
        e2e_finish
        exit 1
    fi
    for _t in python3 kcat timeout ps; do
        command -v "$_t" >/dev/null 2>&1 || fail "required tool $_t is installed"
    done
}

# e2e_finish: summary line; returns non-zero when any check failed
e2e_finish() {
    echo "e2e $E2E_NAME: $E2E_PASSED passed, $E2E_FAILED failed"
    [ "$E2E_FAILED" -eq 0 ]
}

# bounded CMD [ARGS...]: run CMD under the per-command time limit and return
# its status (124 on time-out). It runs as a tracked background job that this
# shell waits for, so a signal to the test is handled at once (bash defers
# traps while a foreground command runs, and timeout sits in a process group
# of its own) and the trap can stop it. Redirections given to bounded,
# stdin included, apply to CMD.
bounded() {
    timeout -k 5 "$E2E_CMD_TIMEOUT" "$@" <&0 3>&- 4>&- &
    _bpid=$!
    _track "$_bpid"
    wait "$_bpid"
    _brc=$?
    _untrack "$_bpid"
    return "$_brc"
}

# run_ol OUT ERR ARGS...: bounded opsledger ARGS, stdout to OUT, stderr to ERR
run_ol() {
    _out=$1
    _err=$2
    shift 2
    bounded "$OPSLEDGER" "$@" >"$_out" 2>"$_err"
}

# assert_no_leftovers: no process mentions this test's temporary directory
assert_no_leftovers() {
    # shellcheck disable=SC2009  # matching arguments, not names
    _left=$(ps -eo pid=,args= | grep -F -- "$E2E_TMP" | grep -v -e grep -e "^ *$$ ")
    if [ -z "$_left" ]; then
        pass "no process of this test is left running"
    else
        fail "no process of this test is left running"
        printf '  | %s\n' "$_left"
    fi
}

# broker -------------------------------------------------------------------
# start_broker [ARGS...]: run "opsledger broker" in the background, wait for
# its bootstrap file, export OPSLEDGER_BROKERS. Returns 1 (after fail) if it
# does not come up in time.
start_broker() {
    BROKER_DIR=$E2E_TMP/broker
    mkdir -p "$BROKER_DIR"
    BROKER_BOOTSTRAP=$BROKER_DIR/bootstrap
    rm -f "$BROKER_BOOTSTRAP"
    "$OPSLEDGER" broker --bootstrap-file "$BROKER_BOOTSTRAP" "$@" \
        >"$BROKER_DIR/stdout" 2>"$BROKER_DIR/stderr" </dev/null 3>&- 4>&- &
    BROKER_PID=$!
    _track "$BROKER_PID"
    _ticks=$((E2E_START_TIMEOUT * 10))
    while [ ! -s "$BROKER_BOOTSTRAP" ]; do
        if ! alive "$BROKER_PID"; then
            wait_exit "$BROKER_PID" 1
            _untrack "$BROKER_PID"
            BROKER_PID=
            fail "broker starts (it exited with status $WAIT_STATUS)"
            dump "$BROKER_DIR/stderr" "broker stderr"
            return 1
        fi
        if [ "$_ticks" -le 0 ]; then
            fail "broker writes its bootstrap file within ${E2E_START_TIMEOUT}s"
            dump "$BROKER_DIR/stderr" "broker stderr"
            return 1
        fi
        _ticks=$((_ticks - 1))
        sleep 0.1
    done
    OPSLEDGER_BROKERS=$(head -n 1 "$BROKER_BOOTSTRAP")
    export OPSLEDGER_BROKERS
    # the address printed on stdout must be the one in the file
    _ticks=20
    while [ ! -s "$BROKER_DIR/stdout" ] && [ "$_ticks" -gt 0 ]; do
        _ticks=$((_ticks - 1))
        sleep 0.1
    done
    if [ "$(head -n 1 "$BROKER_DIR/stdout")" = "$OPSLEDGER_BROKERS" ]; then
        pass "broker started (pid $BROKER_PID) on $OPSLEDGER_BROKERS"
    else
        fail "broker prints its bootstrap address '$OPSLEDGER_BROKERS' on stdout"
        dump "$BROKER_DIR/stdout" "broker stdout"
    fi
    return 0
}

# stop_broker: SIGTERM, wait (bounded), assert it exited with status 0
stop_broker() {
    [ -n "$BROKER_PID" ] || {
        fail "broker is running when the test stops it"
        return 1
    }
    _bp=$BROKER_PID
    kill -TERM "$_bp" 2>/dev/null
    if ! wait_exit "$_bp" "$E2E_STOP_TIMEOUT"; then
        fail "broker exits within ${E2E_STOP_TIMEOUT}s of SIGTERM"
        kill -KILL "$_bp" 2>/dev/null
        wait_exit "$_bp" 5
    elif [ "$WAIT_STATUS" -eq 0 ]; then
        pass "broker exited with status 0 on SIGTERM"
    else
        fail "broker exits with status 0 on SIGTERM (got $WAIT_STATUS)"
        dump "$BROKER_DIR/stderr" "broker stderr"
    fi
    _untrack "$_bp"
    BROKER_PID=
    unset OPSLEDGER_BROKERS
}
