#!/bin/bash
# tests/e2e/test_metrics.sh — the operational surface (issue 16) seen by a
# real Prometheus server (Debian's `prometheus`, on loopback, temporary
# storage, 1 s scrape interval):
#
#  1. the embedded broker; a generated scenario produced to the input topics
#     of utilisation, plus one hostile record (bytes that are no Avro frame)
#     on hr.person;
#  2. opsledger-utilisation runs with -o metrics.listen=127.0.0.1:0 (a free
#     port, read from its log) and a 500 ms lag refresh; Prometheus scrapes
#     it with deploy/prometheus/alerts.yml loaded (so the rules load in a real
#     server too);
#  3. through Prometheus's own HTTP query API: up is 1,
#     opsledger_records_total equals the records produced (scenario + the
#     hostile one, produced after a scrape saw the scenario folded), the
#     summed consumer lag drains to 0, exactly one dead letter shows, of
#     class decode, and the OpsledgerDeadLetter alert fires; no other does;
#  4. a scrape passes `promtool check metrics`; /healthz and /readyz answer
#     200; `opsledger status utilisation --url` shows the same total;
#  5. the service exits 0 on SIGTERM with its listener running.
# Skips (passes with a notice) only when prometheus/promtool are not
# installed; `make deps` installs them.
#
# Usage: BUILD=build bash tests/e2e/test_metrics.sh   (or via tests/run-e2e.sh)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/rellib.sh"
e2e_init metrics
T=$E2E_TMP
START=$(date +%s)

if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
    echo "SKIP: prometheus or promtool not installed (make deps installs Debian's prometheus package)"
    e2e_finish
    exit 0
fi

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# prom_query EXPR: the value of the first sample of an instant query, or "none"
prom_query() {
    curl -s --max-time 5 "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1" |
        python3 -c '
import json, sys
try:
    r = json.load(sys.stdin)["data"]["result"]
    print(r[0]["value"][1] if r else "none")
except Exception as e:
    print("none")'
}

# wait_query EXPR WANT SECONDS: poll until EXPR equals WANT; LAST holds the last value
wait_query() {
    local i=$(($3 * 2))
    while [ "$i" -gt 0 ]; do
        LAST=$(prom_query "$1")
        [ "$LAST" = "$2" ] && return 0
        i=$((i - 1))
        sleep 0.5
    done
    return 1
}

start_broker || {
    e2e_finish
    exit 1
}
gen_data "$T/gen" --people 20 --weeks 3 --seed 16
INPUTS="hr.person hr.leave timesheet.entry delivery.engagement"
mkdir -p "$T/in"
for t in $INPUTS; do cp "$T/gen/$t.jsonl" "$T/in/"; done
check "the scenario is produced to utilisation's input topics" produce_dir "$T/in"
PRODUCED=$(cat "$T/in"/*.jsonl | grep -c .)
WANT=$((PRODUCED + 1))
echo "  produced $PRODUCED scenario records; the hostile one follows once they are folded"

svc_start utilisation "$T/data" "$T/svc.log" -o metrics.listen=127.0.0.1:0 -o metrics.lag_interval=500
SVC=$SVC_PID
MPORT=
for _ in $(seq 100); do
    MPORT=$(sed -n 's/.*msg="metrics listening".*address=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/svc.log" | head -n 1)
    [ -n "$MPORT" ] && break
    sleep 0.1
done
if [ -n "$MPORT" ]; then
    pass "opsledger-utilisation listens for metrics on 127.0.0.1:$MPORT"
else
    fail "opsledger-utilisation logs its metrics address"
    dump "$T/svc.log"
    e2e_finish
    exit 1
fi

PROM_PORT=$(free_port)
cat >"$T/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $REPO/deploy/prometheus/alerts.yml
scrape_configs:
  - job_name: opsledger
    static_configs:
      - targets: ['127.0.0.1:$MPORT']
EOF
check "promtool check config accepts the test's configuration with the alert rules" \
    bounded promtool check config "$T/prometheus.yml" >"$T/promtool-config.log" 2>&1
prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/prom" \
    --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn >"$T/prometheus.log" 2>&1 </dev/null 3>&- 4>&- &
PROM_PID=$!
_track "$PROM_PID"
ready=0
for _ in $(seq 150); do
    if curl -s --max-time 1 "http://127.0.0.1:$PROM_PORT/-/ready" >/dev/null 2>&1; then
        ready=1
        break
    fi
    alive "$PROM_PID" || break
    sleep 0.1
done
if [ "$ready" = 1 ]; then
    pass "prometheus is ready on 127.0.0.1:$PROM_PORT"
else
    fail "prometheus starts"
    dump "$T/prometheus.log"
    e2e_finish
    exit 1
fi

if wait_query 'up{job="opsledger"}' 1 20; then pass "prometheus scrapes the service (up = 1)"; else
    fail "prometheus scrapes the service (up = $LAST)"
    dump "$T/prometheus.log"
fi
if wait_query 'opsledger_records_total{service="utilisation"}' "$PRODUCED" 30; then
    pass "opsledger_records_total in Prometheus reaches the scenario's $PRODUCED records"
else
    fail "opsledger_records_total in Prometheus reaches the scenario's $PRODUCED records (got $LAST)"
fi
check "no dead letter before the hostile record" \
    test "$(prom_query 'sum(opsledger_deadletters_total{service="utilisation"})')" = 0
# after a scrape has seen 0 dead letters, so that increase() in the alert sees the step
printf 'not an avro frame' >"$T/hostile.bin"
check "one hostile record is produced to hr.person" \
    bounded kcat -b "$OPSLEDGER_BROKERS" -P -t hr.person -k hostile "$T/hostile.bin"
if wait_query 'opsledger_records_total{service="utilisation"}' "$WANT" 20; then
    pass "opsledger_records_total in Prometheus equals the records produced ($WANT)"
else
    fail "opsledger_records_total in Prometheus equals the records produced ($WANT; got $LAST)"
fi
if wait_query 'sum(opsledger_consumer_lag{service="utilisation"})' 0 20; then
    pass "consumer lag drains to 0 ($(prom_query 'count(opsledger_consumer_lag{service="utilisation"})') partitions)"
else
    fail "consumer lag drains to 0 (sum is $LAST)"
fi
if wait_query 'sum(opsledger_deadletters_total{service="utilisation"})' 1 10; then
    pass "one dead letter shows in Prometheus"
else
    fail "one dead letter shows in Prometheus (got $LAST)"
fi
if wait_query 'count(ALERTS{alertname="OpsledgerDeadLetter",alertstate="firing",service="utilisation",reason="decode"})' 1 15; then
    pass "the OpsledgerDeadLetter alert fires in the real server"
else
    fail "the OpsledgerDeadLetter alert fires in the real server (got $LAST)"
fi
check "the dead letter is of class decode" \
    test "$(prom_query 'opsledger_deadletters_total{service="utilisation",reason="decode"}')" = 1
n=$(prom_query 'sum(opsledger_emitted_total{service="utilisation"})')
check "derived events are counted by topic (emitted $n)" test "$n" != none -a "$n" != 0
check "batch phases are observed (fold histogram count > 0)" \
    test "$(prom_query 'opsledger_batch_seconds_count{service="utilisation",phase="fold"} > 0')" != none
check "the alert rules are loaded by the server" \
    sh -c "curl -s 'http://127.0.0.1:$PROM_PORT/api/v1/rules' | grep -q OpsledgerServiceDown"
if [ "$(prom_query 'count(ALERTS{alertstate="firing",alertname!="OpsledgerDeadLetter"})')" = none ]; then
    pass "no other alert is firing"
else
    fail "no other alert is firing: $(curl -s --max-time 5 "http://127.0.0.1:$PROM_PORT/api/v1/query" \
        --data-urlencode 'query=ALERTS{alertstate="firing",alertname!="OpsledgerDeadLetter"}' | head -c 600)"
fi

bounded curl -s "http://127.0.0.1:$MPORT/metrics" >"$T/scrape.txt"
if bounded promtool check metrics <"$T/scrape.txt" >"$T/promtool-metrics.log" 2>&1; then
    pass "promtool check metrics accepts a scrape ($(grep -vc '^#' "$T/scrape.txt") samples)"
else
    fail "promtool check metrics accepts a scrape"
    dump "$T/promtool-metrics.log"
fi
check "/healthz answers 200" test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/healthz")" = 200
# Prometheus keeps its scrape connection open: the listener must not close
# it after every answer (libmicrohttpd closes it when an answer is queued in
# the first call for a request)
check "two scrapes on one connection: the second reuses it" \
    bash -c "curl -sv -o /dev/null -o /dev/null 'http://127.0.0.1:$MPORT/metrics' 'http://127.0.0.1:$MPORT/healthz' 2>&1 | grep -q 'Re-using existing connection'"
check "/readyz answers 200 once caught up" \
    test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/readyz")" = 200
check "an unknown path answers 404" \
    test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/nope")" = 404
# clients that trickle a request (a header line a second, slowloris) from
# four addresses (16 each: the per-address limit) fill all 64 slots; each is
# cut 10 s after it connected, so /healthz answers again within seconds of
# that while they keep trickling (before: never, for as long as they did)
if python3 - "$MPORT" >"$T/slow.out" 2>&1 <<'PY'
import socket, sys, time, urllib.request
port = int(sys.argv[1])
slow = []
for src in ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"):
    for _ in range(16):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=2, source_address=(src, 0))
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
            slow.append(s)
        except OSError:
            break
start = time.time()
ok_at = None
while time.time() - start < 25:
    for s in slow:
        try:
            s.sendall(b"X-Slow: 1\r\n")  # never the blank line that ends a request
        except OSError:
            pass
    try:
        if urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=1).status == 200:
            ok_at = time.time() - start
            break
    except Exception:
        pass
    time.sleep(1)
print("%d trickling connections from 4 addresses; /healthz answered 200 after %s s" % (len(slow),
      "%.1f" % ok_at if ok_at is not None else "never (25 s)"))
sys.exit(0 if ok_at is not None and ok_at < 16 and len(slow) == 64 else 1)
PY
then pass "$(cat "$T/slow.out")"; else fail "slow clients do not starve /healthz: $(cat "$T/slow.out")"; fi
run_ol "$T/status.out" "$T/status.err" status utilisation --url "http://127.0.0.1:$MPORT"
if awk -v w="$WANT" '$1 == "opsledger_records_total" && $2 == w { f = 1 } END { exit !f }' "$T/status.out"; then
    pass "opsledger status utilisation --url shows opsledger_records_total $WANT"
else
    fail "opsledger status utilisation --url shows opsledger_records_total $WANT"
    dump "$T/status.out"
    dump "$T/status.err"
fi

svc_stop "$SVC"
check "opsledger-utilisation exits 0 on SIGTERM with its listener running (status $WAIT_STATUS)" \
    test "$WAIT_STATUS" = 0
kill -TERM "$PROM_PID" 2>/dev/null
wait_exit "$PROM_PID" 10 || kill -KILL "$PROM_PID" 2>/dev/null
_untrack "$PROM_PID"
stop_broker
assert_no_leftovers
echo "  took $(($(date +%s) - START)) s"
e2e_finish
