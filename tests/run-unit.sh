#!/bin/sh
# Runs every cmocka unit test binary under $1/tests; prints one summary line.
BUILD=${1:-build}
pass=0; fail=0; failed=""
for t in "$BUILD"/tests/test_*; do
  [ -x "$t" ] || continue
  if "$t" > "$t.log" 2>&1; then pass=$((pass+1)); else fail=$((fail+1)); failed="$failed $(basename "$t")"; cat "$t.log"; fi
  grep -E '^\[  (PASSED|FAILED)' "$t.log" | sed "s|^|$(basename "$t"): |"
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ] || { echo "failed:$failed"; exit 1; }
