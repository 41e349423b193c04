#!/bin/sh
# The embedded stack on one machine: the in-memory broker and every service,
# each a process of its own, all under one state directory.
#
#   deploy/embedded/stack.sh start STATE_DIR [BUILD_DIR]   starts broker + services
#   deploy/embedded/stack.sh stop  STATE_DIR               SIGTERM, waits, reports
#   deploy/embedded/stack.sh env   STATE_DIR               prints `export OPSLEDGER_BROKERS=...`
#
# Beside `opsledger-web run` (the read model's fold) it starts `opsledger-web
# serve` (the API and pages) on $OPSLEDGER_WEB_LISTEN (default
# 127.0.0.1:8080; its URL is written to STATE_DIR/web.url once it listens;
# tokens: `opsledger web token add NAME --role R --data-dir STATE_DIR/data`).
#
# STATE_DIR holds bootstrap.txt, the pids, the logs and the LMDB projections
# (data/<service>). The broker keeps messages in memory only: stopping it
# loses the topics, never the projections.
set -eu
cmd=${1:?usage: stack.sh start|stop|env STATE_DIR [BUILD_DIR]}
state=${2:?usage: stack.sh start|stop|env STATE_DIR [BUILD_DIR]}
build=${3:-build}
services=${OPSLEDGER_SERVICES:-$(ls "$build/bin" 2>/dev/null | sed -n 's/^opsledger-//p' | tr '\n' ' ')}

case "$cmd" in
start)
    mkdir -p "$state/logs" "$state/data"
    rm -f "$state/bootstrap.txt"
    "$build/bin/opsledger" broker --partitions "${OPSLEDGER_PARTITIONS:-8}" \
        --bootstrap-file "$state/bootstrap.txt" >/dev/null 2>"$state/logs/broker.log" &
    echo $! > "$state/broker.pid"
    i=0
    while [ ! -s "$state/bootstrap.txt" ]; do
        i=$((i + 1))
        if [ $i -gt 100 ]; then echo "stack: broker did not start (see $state/logs/broker.log)" >&2; exit 1; fi
        sleep 0.1
    done
    OPSLEDGER_BROKERS=$(cat "$state/bootstrap.txt"); export OPSLEDGER_BROKERS
    for s in $services; do
        "$build/bin/opsledger-$s" run --data-dir "$state/data" >"$state/logs/$s.out" 2>"$state/logs/$s.log" &
        echo $! > "$state/$s.pid"
    done
    case " $services " in
    *" web "*)
        rm -f "$state/web.url"
        # serve reads the environment `run` creates: wait until it opens
        i=0
        until "$build/bin/opsledger-web" status --data-dir "$state/data" >/dev/null 2>&1; do
            i=$((i + 1)); if [ $i -gt 100 ]; then echo "stack: opsledger-web did not create its store (see $state/logs/web.log)" >&2; exit 1; fi
            sleep 0.1
        done
        "$build/bin/opsledger-web" serve --data-dir "$state/data" --listen "${OPSLEDGER_WEB_LISTEN:-127.0.0.1:8080}" \
            --url-file "$state/web.url" >"$state/logs/web-serve.out" 2>"$state/logs/web-serve.log" &
        echo $! > "$state/web-serve.pid"
        ;;
    esac
    echo "stack: broker at $OPSLEDGER_BROKERS; services: $services" >&2
    ;;
stop)
    rc=0
    for p in "$state"/*.pid; do
        [ -e "$p" ] || continue
        case "$p" in */broker.pid) continue ;; esac
        pid=$(cat "$p"); kill -TERM "$pid" 2>/dev/null || true
    done
    for p in "$state"/*.pid; do
        [ -e "$p" ] || continue
        case "$p" in */broker.pid) continue ;; esac
        pid=$(cat "$p"); i=0
        while kill -0 "$pid" 2>/dev/null; do
            i=$((i + 1)); if [ $i -gt 300 ]; then echo "stack: $(basename "$p" .pid) did not stop; killing" >&2; kill -KILL "$pid"; rc=1; fi
            sleep 0.1
        done
        rm -f "$p"
    done
    if [ -e "$state/broker.pid" ]; then
        pid=$(cat "$state/broker.pid"); kill -TERM "$pid" 2>/dev/null || true
        i=0; while kill -0 "$pid" 2>/dev/null; do i=$((i + 1)); [ $i -gt 100 ] && { kill -KILL "$pid"; rc=1; }; sleep 0.1; done
        rm -f "$state/broker.pid"
    fi
    exit $rc
    ;;
env)
    echo "export OPSLEDGER_BROKERS=$(cat "$state/bootstrap.txt")"
    ;;
*)
    echo "usage: stack.sh start|stop|env STATE_DIR [BUILD_DIR]" >&2; exit 2 ;;
esac
