#!/bin/sh
# Runs every tests/e2e/test_*.sh against the binaries of BUILD_DIR (default
# build), each under a time limit, and prints one summary line:
#   e2e: N passed, M failed        (N, M count scripts)
# Usage: sh tests/run-e2e.sh BUILD_DIR      (from anywhere; make e2e does this)
# Logs: BUILD_DIR/e2e/<script>.log; E2E_TIMEOUT overrides the 600 s limit.
set -u

BUILD=${1:-build}
case $BUILD in
/*) ;;
*) BUILD=$PWD/$BUILD ;;
esac
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LIMIT=${E2E_TIMEOUT:-600}
export BUILD

if [ ! -x "$BUILD/bin/opsledger" ]; then
    echo "e2e: $BUILD/bin/opsledger not found (run make binaries)" >&2
    echo "e2e: 0 passed, 1 failed"
    exit 1
fi
mkdir -p "$BUILD/e2e"

cd "$ROOT" || exit 1
child=
interrupted=0
trap 'interrupted=1; [ -z "$child" ] || kill -TERM "$child" 2>/dev/null' INT TERM
pass=0
fail=0
failed=
for t in tests/e2e/test_*.sh; do
    [ -f "$t" ] || continue
    name=$(basename "$t" .sh)
    log=$BUILD/e2e/$name.log
    case $(head -n 1 "$t") in
    *bash*) shell="bash" ;;
    *) shell="sh" ;;
    esac
    start=$(date +%s)
    # in the background + wait, so that an INT/TERM to this runner is passed
    # on at once (timeout runs in a process group of its own)
    timeout -k 10 "$LIMIT" "$shell" "$t" >"$log" 2>&1 &
    child=$!
    wait "$child"
    rc=$?
    if [ "$interrupted" -ne 0 ]; then
        wait "$child" 2>/dev/null
        rc2=$?
        [ "$rc2" -eq 127 ] || rc=$rc2
    fi
    child=
    secs=$(($(date +%s) - start))
    sed 's/^/  /' "$log"
    if [ "$rc" -eq 0 ]; then
        pass=$((pass + 1))
        echo "PASS $name (${secs}s)"
    else
        fail=$((fail + 1))
        failed="$failed $name"
        if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
            echo "FAIL $name: timed out after ${LIMIT}s (log: $log)"
        else
            echo "FAIL $name: exit status $rc (${secs}s, log: $log)"
        fi
    fi
    if [ "$interrupted" -ne 0 ]; then
        echo "e2e: interrupted, remaining scripts not run" >&2
        break
    fi
done
if [ $((pass + fail)) -eq 0 ]; then
    echo "e2e: no tests/e2e/test_*.sh found" >&2
    fail=1
fi
echo "e2e: $pass passed, $fail failed"
[ "$fail" -eq 0 ] || {
    echo "failed:$failed"
    exit 1
}
