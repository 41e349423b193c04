#!/bin/sh
# Runs every cmocka unit test binary under $1/tests; prints one summary line.
BUILD=${1:-build}
pass=0; fail=0; failed=""
for t in "$BUILD"/tests/test_*; do
  [ -x "$t" ] || continue
  if "$t" > "$t.log" 2>&1; then pass=$((pass+1)); else fail=$((fail+1)); failed="$failed $(basename "$t")"; cat "$t.log"; fi
  grep -E '^\[  (PASSED|FAILED)' "$t.log" | sed "s|^|$(basename "$t"): |"
done
# the alert rules of deploy/prometheus (issue 16): promtool's unit tests
# (Debian's prometheus package; make deps installs it)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if command -v promtool >/dev/null 2>&1; then
  log="$BUILD/tests/promtool.log"
  mkdir -p "$BUILD/tests"
  if promtool check rules "$ROOT/deploy/prometheus/alerts.yml" > "$log" 2>&1 &&
     promtool test rules "$ROOT/deploy/prometheus/tests/alerts_test.yml" >> "$log" 2>&1; then
    pass=$((pass+1)); echo "promtool: alert rules check and unit tests PASSED"
  else
    fail=$((fail+1)); failed="$failed promtool-rules"; cat "$log"
  fi
else
  echo "promtool: SKIPPED the alert rule tests: promtool is not installed (make deps installs Debian's prometheus)"
fi
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ] || { echo "failed:$failed"; exit 1; }
