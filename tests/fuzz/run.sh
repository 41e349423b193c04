#!/bin/sh
# Builds the libFuzzer targets with clang (ASan + UBSan + fuzzer) and runs
# each for $1 seconds (default 30), starting from the seed corpus and the
# kept regression inputs. A crash leaves its input in tests/fuzz/regressions/
# (commit it with the fix) and fails the run.
set -eu
SECS=${1:-30}
BUILD=${2:-build}
OUT="$BUILD/fuzz"
mkdir -p "$OUT"
CFLAGS="-std=c11 -D_GNU_SOURCE -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Icommon"
CFLAGS="$CFLAGS -DOL_SCHEMA_DIR_DEFAULT=\"$(pwd)/schemas\" $(pkg-config --cflags avro-c jansson lmdb rdkafka libcurl)"
LIBS="$(pkg-config --libs avro-c jansson lmdb rdkafka libcrypto libcurl) -lpthread -lm"
SRC="common/ol_registry.c common/ol_registry_http.c common/ol_url.c common/ol_config.c common/ol_codec.c common/ol_flatdec.c common/ol_resolve.c common/ol_json.c common/ol_json_out.c common/ol_validate.c common/ol_schema.c common/ol_time.c common/ol_log.c common/ol_escape.c"
rc=0
# leaks inside avro-c itself are not ours to fix: see tests/fuzz/lsan.supp
LSAN_OPTIONS="suppressions=$(pwd)/tests/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS
for t in decode json; do
    clang $CFLAGS tests/fuzz/fuzz_$t.c $SRC -o "$OUT/fuzz_$t" $LIBS
    work="$OUT/corpus_$t"
    mkdir -p "$work"
    cp tests/fuzz/corpus_$t/* "$work"/ 2>/dev/null || true
    # regressions first, each must pass
    for r in tests/fuzz/regressions/$t-*; do
        [ -e "$r" ] || continue
        "$OUT/fuzz_$t" "$r" >/dev/null 2>&1 || { echo "fuzz $t: regression $r fails"; rc=1; }
    done
    if "$OUT/fuzz_$t" -max_total_time="$SECS" -max_len=4096 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        -artifact_prefix="tests/fuzz/regressions/$t-" "$work" > "$OUT/fuzz_$t.log" 2>&1; then
        echo "fuzz $t: $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$OUT/fuzz_$t.log" | awk '{print $2}') runs in ${SECS}s, no crash" 
    else
        echo "fuzz $t: FAILED (see $OUT/fuzz_$t.log; input kept in tests/fuzz/regressions/)"
        tail -30 "$OUT/fuzz_$t.log"
        rc=1
    fi
done
[ $rc -eq 0 ] && echo "fuzz: 2 passed, 0 failed" || echo "fuzz: failures"
exit $rc
