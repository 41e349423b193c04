#!/bin/bash
# test_readable.sh — what a person reads from the commands (issue 18): every
# finding of the issue has a check here that failed on the code it was filed
# against.
#  1. without a broker: --help lists every report; `report` alone names the
#     reports; a mistyped topic is named with the nearest one; produce with
#     no broker stops and says how to set OPSLEDGER_BROKERS; report weekly
#     without projections writes no page, exits 1 and gives each service's
#     reason once; --week 2026-W60 is "no such week"; every report and
#     query names a missing or wrong flag (exit 2) before it looks for a
#     projection (an unknown --rag of query assurance too); every usage
#     error that echoes an argument shows it escaped for the terminal (an
#     ESC sequence and a line break in it are \x1b, \x0a), and so does every
#     error that names a path the user gave (generate --out, produce --file,
#     --db, replay --out, web token --tokens, verify --archive); make clean
#     leaves var/;
#     the README's contract link resolves in a clone;
#  2. the broker: the bootstrap file is written only when the broker answers,
#     `broker --wait` returns its address, no misleading librdkafka notice;
#  3. a small generated scenario folded by every service: status prints
#     data_time as ISO-8601; every query of every service in every format is
#     well formed (a table holds no JSON copy, CSV rows have the header's
#     columns, JSON lines parse); a week with no data prints no bare header,
#     says so and exits 3;
#  4. what reaches stdout: verify (an archive and a checkpoint file at a
#     hostile path: intact, unanchored, broken), offsets reset|show and
#     status (a projection at a hostile path, an operator's name in a reset
#     record, a topic name from the projection, with --lag too) and status
#     --url (a remote service's /metrics sample and /healthz body) print
#     every such string escaped for the terminal, a padded column padded
#     after escaping.
#
# Usage: BUILD=build bash tests/e2e/test_readable.sh   (or via tests/run-e2e.sh)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/rellib.sh"
e2e_init readable
T=$E2E_TMP
D=$T/data
W=2026-W47

# out ERR_FILE STATUS PATTERN MSG: the command's status and stderr as expected
expect() {
    local st=$1 want=$2 file=$3 pat=$4 msg=$5
    if [ "$st" -eq "$want" ] && grep -Eq -- "$pat" "$file"; then
        pass "$msg"
    else
        fail "$msg (exit status $st, wanted $want)"
        dump "$file"
    fi
}

# 1. ------------------------------------------------------------ no broker
run_ol "$T/help.out" "$T/help.err" --help
for r in weekly utilisation billing contractors forecast budgets demand assurance headcount margin forecast-accuracy; do
    check "--help lists report $r" grep -q "^  report $r" "$T/help.out"
done
run_ol "$T/r.out" "$T/r.err" report
expect $? 2 "$T/r.err" "which one\\? weekly, utilisation, billing, contractors" "'opsledger report' alone names the reports, exit 2"
check "'opsledger report' alone is not an 'unknown command'" bash -c "! grep -q 'unknown command' '$T/r.err'"

run_ol "$T/t.out" "$T/t.err" tail timesheet.entries
expect $? 2 "$T/t.err" "no topic 'timesheet.entries'.*did you mean timesheet.entry\\?" \
    "tail of a topic that does not exist names the nearest one, exit 2"
run_ol "$T/p.out" "$T/p.err" produce hr.persons --file /dev/null
expect $? 2 "$T/p.err" "did you mean hr.person\\?" "produce to a topic that does not exist names the nearest one"

echo '{}' >"$T/one.jsonl"
start=$(date +%s)
OPSLEDGER_BROKERS=127.0.0.1:1 run_ol "$T/nb.out" "$T/nb.err" produce hr.person --file "$T/one.jsonl"
st=$?
expect $st 1 "$T/nb.err" "no Kafka broker answered at 127.0.0.1:1" "produce with no broker stops with a message, exit 1"
check "... which says OPSLEDGER_BROKERS names the address tried" grep -q "OPSLEDGER_BROKERS names it" "$T/nb.err"
check "... within 30 s (it retried forever)" test $(($(date +%s) - start)) -le 30
run_ol "$T/nb2.out" "$T/nb2.err" produce hr.person --file "$T/one.jsonl" --brokers 127.0.0.1:1
check "without OPSLEDGER_BROKERS it says how to set it" grep -q "set OPSLEDGER_BROKERS=HOST:PORT" "$T/nb2.err"

mkdir -p "$T/empty"
run_ol "$T/wk.out" "$T/wk.err" report weekly --week "$W" --data-dir "$T/empty"
expect $? 1 "$T/wk.err" "no projection could be read, no report written" "report weekly with no projection exits 1"
check "... and prints no page" test ! -s "$T/wk.out"
for s in utilisation billing assurance forecast people margin; do
    check "... naming opsledger-$s's reason once" test "$(grep -c "opsledger-$s: no projection at $T/empty/$s" "$T/wk.err")" = 1
done

# a usage error is told before any file is touched: a missing or wrong flag
# is named (exit 2), not the projection missing from the data directory
while IFS='|' read -r args pat; do
    # shellcheck disable=SC2086  # args are words
    run_ol "$T/u.out" "$T/u.err" $args --data-dir "$T/nowhere" </dev/null
    expect $? 2 "$T/u.err" "$pat" "$args: the usage error first, exit 2"
    check "... and not the missing projection" bash -c "! grep -q 'no projection' '$T/u.err'"
done <<'EOF'
report margin|report margin: --week is required
report margin --week 2026-W60|--week 2026-W60: no such week
report billing|report billing: --week is required
report assurance|report assurance: --week is required
report utilisation --from 2026-W40|report utilisation: --to is required
report contractors --to 2026-W47|report contractors: --from is required
report headcount --from 2026-W47 --to 2026-W40|report headcount: --from is after --to
report forecast --team|report forecast: unknown argument --team
report budgets --all|report budgets: unknown argument --all
report demand --roles R|report demand: unknown argument --roles
query margin|query margin: --week is required
query billing --week 2026-W47 --format xml|query billing: --format is table, csv or json
query utilisation|query utilisation: --week is required
query forecast --week 47|query forecast: --week '47' is not an ISO week
query assurance --week 2026-W47 --format csv|query assurance: --format is table or json
query people --scope all|query people: --scope is role, team, org or employment
query assurance --week 2026-W47 --rag PURPLE|query assurance: --rag is RED, AMBER or GREEN \(got PURPLE\)
query assurance --week 2026-W47 --rag red|query assurance: --rag is RED, AMBER or GREEN \(got red\)
EOF

# a usage error names what the user typed escaped for the terminal (SPEC
# section 4): an ESC sequence or a line break in an argument is shown as
# \x1b, \x0a; it never clears the screen nor starts a line of its own that
# reads as another message
EVIL=$'x\e[2J\nFAKE: injected'
SHOWN='x\x1b[2J\x0aFAKE: injected'
# evil_usage LABEL PROGRAM ARGS...: exit $EVIL_WANT (2, a usage error, unless
# set), stderr names the argument escaped
evil_usage() {
    local label=$1 want=${EVIL_WANT:-2}
    shift
    bounded "$@" >"$T/ev.out" 2>"$T/ev.err" </dev/null
    local st=$?
    if [ "$st" -eq "$want" ] && ! grep -q $'\e' "$T/ev.err" && ! grep -q '^FAKE' "$T/ev.err" &&
        grep -qF -- "$SHOWN" "$T/ev.err"; then
        pass "$label: a hostile argument is named escaped (no raw ESC, no injected line), exit $want"
    else
        fail "$label: a hostile argument is named escaped (no raw ESC, no injected line), exit $want (exit status $st)"
        dump "$T/ev.err"
    fi
}
evil_usage "query assurance" "$OPSLEDGER" query assurance --week "$W" "$EVIL" --data-dir "$T/nowhere"
evil_usage "query assurance --rag" "$OPSLEDGER" query assurance --week "$W" --rag "$EVIL" --data-dir "$T/nowhere"
evil_usage "report billing" "$OPSLEDGER" report billing --week "$W" "$EVIL" --data-dir "$T/nowhere"
evil_usage "report forecast budgets" "$OPSLEDGER" report forecast budgets "$EVIL" --data-dir "$T/nowhere"
evil_usage "report weekly" "$OPSLEDGER" report weekly --week "$W" "$EVIL" --data-dir "$T/nowhere"
evil_usage "report forecast-accuracy" "$OPSLEDGER" report forecast-accuracy "$EVIL" --from 2026-W40
evil_usage "opsledger COMMAND" "$OPSLEDGER" "$EVIL"
evil_usage "opsledger query SERVICE" "$OPSLEDGER" query "$EVIL" --week "$W"
evil_usage "opsledger week" "$OPSLEDGER" week "$EVIL"
evil_usage "opsledger generate" "$OPSLEDGER" generate "$EVIL" 5 --out "$T/nowhere"
evil_usage "opsledger offsets" "$OPSLEDGER" offsets show margin "$EVIL"
evil_usage "opsledger offsets --partition" "$OPSLEDGER" offsets reset margin --topic hr.person --partition "$EVIL"
evil_usage "opsledger -o" "$OPSLEDGER" -o "$EVIL" topics
evil_usage "opsledger-margin events" "$BIN/opsledger-margin" events "$EVIL" --db "$T/nowhere"
evil_usage "opsledger-people entities" "$BIN/opsledger-people" entities "$EVIL" --db "$T/nowhere"
evil_usage "opsledger-utilisation run" "$BIN/opsledger-utilisation" run "$EVIL" --db "$T/nowhere"
evil_usage "opsledger-billing VERB" "$BIN/opsledger-billing" "$EVIL" --db "$T/nowhere"
EVIL_WANT=1 evil_usage "opsledger status --url" "$OPSLEDGER" status "$EVIL" --url http://127.0.0.1:1
EVIL_WANT=1 evil_usage "produce --timestamp-field" \
    "$OPSLEDGER" produce hr.person --timestamp-field "$EVIL" --file /dev/null
# a message that names a file or directory the user gave shows it escaped
# too (ol_esc_eprintf): a path holding an ESC sequence or a line break
# cannot clear the screen nor forge a line ($T/plain is a file, so a
# directory under it cannot be made)
: >"$T/plain"
EVIL_WANT=2 evil_usage "generate --out (cannot create)" \
    "$OPSLEDGER" generate --people 20 --weeks 1 --out "$T/plain/$EVIL/sub"
EVIL_WANT=1 evil_usage "produce --file (cannot open)" "$OPSLEDGER" produce hr.person --file "$T/$EVIL"
EVIL_WANT=1 evil_usage "offsets show --db (no projection)" "$OPSLEDGER" offsets show margin --db "$T/$EVIL"
EVIL_WANT=1 evil_usage "opsledger-margin status --db (no projection)" "$BIN/opsledger-margin" status --db "$T/$EVIL"
EVIL_WANT=1 evil_usage "replay --out (cannot create)" "$BIN/opsledger-margin" replay --from-kafka --out "$T/plain/$EVIL"
EVIL_WANT=1 evil_usage "web token list --tokens (cannot read)" "$OPSLEDGER" web token list --tokens "$T/$EVIL"
EVIL_WANT=1 evil_usage "web token add --tokens (cannot write)" \
    "$OPSLEDGER" web token add n --role ops --tokens "$T/plain/$EVIL"
EVIL_WANT=2 evil_usage "verify --archive (an error built around the path)" "$OPSLEDGER" verify --archive "$T/$EVIL"
"$BIN/opsledger-margin" events --db "$T/nowhere" >"$T/u.out" 2>"$T/u.err" </dev/null
expect $? 2 "$T/u.err" "events --topic T .*finance.margin.weekly" "a service's events without --topic: the usage first, exit 2"
check "... and not the missing projection" bash -c "! grep -q 'no projection' '$T/u.err'"

run_ol "$T/wx.out" "$T/wx.err" report weekly --week 2026-47
expect $? 2 "$T/wx.err" "'2026-47' is not an ISO week: write YYYY-Www" "a malformed week says how to write one"

check "make clean removes build/ only (never var/, where users keep projections)" \
    bash -c "make -s -n -C '$REPO' clean | grep -q 'rm -rf build\$' && ! make -s -n -C '$REPO' clean | grep -q var"
check "the README links the contract inside the repository (docs/SPEC.md)" \
    bash -c "grep -q '](docs/SPEC.md)' '$REPO/README.md' && test -s '$REPO/docs/SPEC.md' && ! grep -q '\\.\\./shared' '$REPO/README.md'"

# 2. ------------------------------------------------------------ broker readiness
BF=$T/bootstrap.txt
echo "127.0.0.1:1" >"$BF" # a stale file of an earlier run must not count as ready
"$OPSLEDGER" broker --bootstrap-file "$BF" >"$T/broker.out" 2>"$T/broker.err" </dev/null 3>&- 4>&- &
BROKER_PID=$!
_track "$BROKER_PID"
if bounded "$OPSLEDGER" broker --wait "$BF" --timeout 20 >"$T/wait.out" 2>"$T/wait.err"; then
    pass "broker --wait returns once the broker answers"
else
    fail "broker --wait returns once the broker answers"
    dump "$T/wait.err"
fi
OPSLEDGER_BROKERS=$(cat "$T/wait.out")
export OPSLEDGER_BROKERS
check "broker --wait prints the address written to the file ($OPSLEDGER_BROKERS)" \
    test -n "$OPSLEDGER_BROKERS" -a "$OPSLEDGER_BROKERS" = "$(cat "$BF")" -a "$OPSLEDGER_BROKERS" != 127.0.0.1:1
check "the broker does not print librdkafka's 'No bootstrap.servers configured'" \
    bash -c "! grep -q 'bootstrap.servers' '$T/broker.err'"

# 3. ------------------------------------------------------------ queries
gen_data "$T/gen" --people 20 --engagements 6 --weeks 3 --seed 7 --end-week "$W"
check "the scenario is produced to the broker" produce_dir "$T/gen"
for s in utilisation billing forecast assurance; do
    check "opsledger-$s folds to the end" svc_catch_up "$s" "$D" "$T/$s.log"
done
dt=$(status_of utilisation "$D" data_time)
check "status prints data_time as ISO-8601 ($dt)" bash -c "[[ '$dt' =~ ^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-9:]{8}\\.[0-9]{3}Z\$ ]]"

# well_formed FORMAT FILE: table: no JSON line; csv: every row has the
# header's columns; json: every line is JSON
well_formed() {
    python3 - "$1" "$2" <<'PY'
import csv, json, sys
fmt, path = sys.argv[1], sys.argv[2]
lines = open(path).read().splitlines()
if not lines:
    sys.exit("empty output")
if fmt == "table":
    bad = [l for l in lines if l.lstrip().startswith(("{", "["))]
    sys.exit("JSON in a table: " + bad[0] if bad else 0)
if fmt == "csv":
    rows = list(csv.reader(lines))
    bad = [r for r in rows if len(r) != len(rows[0])]
    sys.exit("a row without the header's %d columns: %r" % (len(rows[0]), bad[0]) if bad or len(rows) < 2 else 0)
for l in lines:
    json.loads(l)
PY
}

# an engagement with a time line that week (not every one is billable)
"$OPSLEDGER" query billing --week 2026-W46 --format json --data-dir "$D" >"$T/lines.json" 2>/dev/null
eng=$(python3 -c "import json,sys; print(next(l['engagement_id'] for l in map(json.loads, open(sys.argv[1])) if l['kind'] == 'time'))" \
    "$T/lines.json")
day=2026-11-23 # the Monday of 2026-W48, the week after the data
while IFS='|' read -r svc fmts args; do
    for f in $fmts; do
        # shellcheck disable=SC2086  # args are words
        run_ol "$T/q.out" "$T/q.err" query $svc $args --format "$f" --data-dir "$D"
        st=$?
        if [ "$st" -eq 0 ] && well_formed "$f" "$T/q.out" >"$T/wf.err" 2>&1; then
            pass "query $svc $args --format $f: well formed ($(wc -l <"$T/q.out") lines)"
        else
            fail "query $svc $args --format $f: well formed (exit status $st)"
            dump "$T/q.err"
            dump "$T/wf.err"
            sed -n '1,5p' "$T/q.out"
        fi
    done
done <<EOF
utilisation|table csv json|--week $W
billing|table csv json|--week 2026-W46
billing|table csv json|--week 2026-W46 --engagement $eng
forecast|table csv json|--week 2026-W48
assurance|table json|--week $W
assurance|table json|cover --from $day --to 2026-11-29
EOF

# a service's events verb prints in key order, though the store keeps the
# rows week first (common/ol_derived.c): the readers of its JSON lines rely on it
"$BIN/opsledger-utilisation" events --topic ops.utilisation.weekly --data-dir "$D" >"$T/ev.out" 2>"$T/ev.err"
check "events --topic ops.utilisation.weekly prints every key once, in key order, over several weeks and scopes" \
    python3 -c '
import json, sys
keys = [json.loads(l)["key"].encode() for l in open(sys.argv[1])]
weeks = {k.rsplit(b"|", 1)[1] for k in keys}
scopes = {k.split(b"|", 1)[0] for k in keys}
sys.exit(0 if keys == sorted(set(keys)) and len(weeks) > 1 and len(scopes) > 1 else 1)
' "$T/ev.out"
# --rag keeps the rows of that status only; each of the three is accepted
for rag in RED AMBER GREEN; do
    run_ol "$T/rag.out" "$T/rag.err" query assurance --week "$W" --rag "$rag" --format json --data-dir "$D"
    st=$?
    if { [ "$st" -eq 0 ] || [ "$st" -eq 3 ]; } &&
        python3 -c "import json,sys; t=open(sys.argv[1]).read(); sys.exit(any(o['rag'] != sys.argv[2] for o in (json.loads(t) if t.strip() else [])))" \
            "$T/rag.out" "$rag"; then
        pass "query assurance --rag $rag: only $rag rows (exit status $st)"
    else
        fail "query assurance --rag $rag: only $rag rows (exit status $st)"
        dump "$T/rag.err"
    fi
done
run_ol "$T/qe.out" "$T/qe.err" query billing --week 2026-W46 --engagement "$eng" --explain --data-dir "$D"
check "query billing --explain lists the entries behind a time line" grep -q "^    entry " "$T/qe.out"

run_ol "$T/w60.out" "$T/w60.err" query utilisation --week 2026-W60 --data-dir "$D"
expect $? 2 "$T/w60.err" "--week 2026-W60: no such week, 2026 has weeks 01 to 53" "--week 2026-W60 is 'no such week'"
for q in "utilisation --week 2020-W01" "billing --week 2020-W01" "forecast --week 2020-W01" "assurance --week 2020-W01"; do
    # shellcheck disable=SC2086
    run_ol "$T/n.out" "$T/n.err" query $q --data-dir "$D"
    st=$?
    if [ "$st" -eq 3 ] && [ ! -s "$T/n.out" ] && grep -q "no .* (exit status 3)" "$T/n.err"; then
        pass "query $q (no data): no bare header, a message, exit 3"
    else
        fail "query $q (no data): no bare header, a message, exit 3 (got $st)"
        dump "$T/n.out" stdout
        dump "$T/n.err" stderr
    fi
done

# 4. ------------------------------------------------------------ stdout
# what verify, offsets show|reset and status print on STDOUT is escaped for
# the terminal too (SPEC section 4): a path the user gave (--archive,
# --checkpoints, --db), a string from the data (a topic name stored in a
# projection, the operator named in an offsets reset record) and what a
# remote service answers (status --url) never reach the terminal raw: an
# ESC sequence or a line break in them shows as \x1b, \x0a, and a padded
# column is padded after escaping.
# evil_out LABEL STATUSES CMD...: exit status one of STATUSES, stdout shows
# SHOWN_OUT (default $SHOWN), and neither stream holds a control byte (but
# TAB) nor a line that starts with the injected text
evil_out() {
    local label=$1 want=$2 shown=${SHOWN_OUT:-$SHOWN}
    shift 2
    bounded "$@" >"$T/eo.out" 2>"$T/eo.err" </dev/null
    local st=$?
    if [[ " $want " == *" $st "* ]] && ! LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$T/eo.out" "$T/eo.err" &&
        ! grep -q '^FAKE' "$T/eo.out" "$T/eo.err" && grep -qF -- "$shown" "$T/eo.out"; then
        pass "$label: stdout shows the hostile string escaped (no raw control byte, no injected line), exit $st"
    else
        fail "$label: stdout shows the hostile string escaped (no raw control byte, no injected line) (exit status $st, wanted $want)"
        dump "$T/eo.out" stdout
        dump "$T/eo.err" stderr
    fi
}
# the archive of the scenario, copied to a directory whose name holds ESC
# [2J and a line break, its checkpoint file beside it (the default path)
check "opsledger-archive folds to the end" svc_catch_up archive "$D" "$T/archive.log" -o archive_checkpoint_records=4
AR=$T/ar$EVIL
cp -r "$D/archive" "$AR" && cp "$D/archive.checkpoints" "$AR.checkpoints"
evil_out "verify --archive (intact, anchored)" 0 "$OPSLEDGER" verify --archive "$AR"
check "... which names the checkpoint file escaped as well" \
    grep -qF "checkpoints of $T/ar${SHOWN}.checkpoints match" "$T/eo.out"
rm -f "$AR.checkpoints"
evil_out "verify --archive (no checkpoints: the WARNING line)" 0 "$OPSLEDGER" verify --archive "$AR"
# a checkpoint that anchors record 1 with another hash: BROKEN, on stdout,
# naming the checkpoint file
printf '1 %064d 0 1970-01-01T00:00:00.000Z\n' 0 >"$T/cp$EVIL"
evil_out "verify --checkpoints (BROKEN, naming the file)" 1 \
    "$OPSLEDGER" verify --archive "$D/archive" --checkpoints "$T/cp$EVIL"

# a copy of utilisation's projection at a hostile path; an offsets reset
# there by an operator whose name (SUDO_USER) holds the hostile text (the
# record keeps it escaped: a line break in it cannot split the record),
# then, put with mdb_load as a damaged or foreign projection can hold them,
# a stored offset of a topic whose name holds it (no broker accepts such a
# name) and a reset record holding ESC, CR and DEL raw
DB=$T/db$EVIL
cp -r "$D/utilisation" "$DB"
SUDO_USER=$EVIL evil_out "offsets reset (the record it prints)" 0 \
    "$OPSLEDGER" offsets reset utilisation --to-beginning --db "$DB"
check "... which names the operator escaped, on the record's first line" \
    grep -qF "by=$SHOWN@" "$T/eo.out"
evil_out "offsets show (path, reset record)" "0 1 2" "$OPSLEDGER" offsets show utilisation --db "$DB"
evil_out "status (path, reset record)" 0 "$OPSLEDGER" status utilisation --db "$DB"
check "... the reset record's first line whole" grep -qF "by=$SHOWN@" "$T/eo.out"
RAWREC='by=x\x1b[2J\x0dFAKE\x7f'
printf '%s\n%s\n' 'offset/x\1b[2J\0aFAKE: injected/0' '\00\00\00\00\00\00\00\05' \
    'offsets_reset/999999' 'at=2026-01-01T00:00:00Z by=x\1b[2J\0dFAKE\7f pid=1 mode="to-end" changed=1\0ahr.person/0 1 -> 2\1b[2J' |
    mdb_load -T -s meta "$DB" 2>"$T/mdbload.err"
check "a stored offset of a hostile topic name and a raw reset record are put in the copy" test $? = 0
evil_out "offsets show (a topic and a reset record from the projection)" "0 1 2" \
    "$OPSLEDGER" offsets show utilisation --db "$DB"
check "... the topic in its padded column (escaped, then padded to 32)" \
    grep -qF "  $(printf '%-32s' "$SHOWN")         0            5 " "$T/eo.out"
check "... the record escaped, line by line" \
    bash -c "grep -qF '$RAWREC pid=1' '$T/eo.out' && grep -qF '      hr.person/0 1 -> 2\\x1b[2J' '$T/eo.out'"
evil_out "status (a topic and a reset record from the projection)" 0 "$OPSLEDGER" status utilisation --db "$DB"
check "... the topic in its padded column (escaped, then padded to 40)" \
    grep -qF "  $(printf '%-40s' "offset/$SHOWN/0") 5" "$T/eo.out"
check "... the record's first line escaped" grep -qF "$(printf '%-40s' offsets_reset/999999) at=2026-01-01T00:00:00Z $RAWREC pid=1" \
    "$T/eo.out"
evil_out "status --lag (a topic from the projection)" "0 1 2" "$OPSLEDGER" status utilisation --lag --db "$DB"

# status --url: what a remote service answers (a /metrics sample, a
# /healthz body) holding ESC, CR and DEL
python3 - "$T/http.port" <<'EOF' >"$T/http.log" 2>&1 3>&- 4>&- &
import http.server, os, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = {"/metrics": 'opsledger_records_total{service="utilisation",topic="x\x1b[2J\rFAKE\x7f"} 7\n',
                "/healthz": "x\x1b[2J\rFAKE\x7f\n", "/readyz": "ready\n"}.get(self.path, "")
        self.send_response(200 if body else 404)
        self.end_headers()
        self.wfile.write(body.encode())
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1] + ".tmp", "w").write(str(s.server_address[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()
EOF
HTTP_PID=$!
_track "$HTTP_PID"
for _ in $(seq 50); do [ -s "$T/http.port" ] && break; sleep 0.1; done
SHOWN_OUT='x\x1b[2J\x0dFAKE\x7f' evil_out "status --url (a remote /metrics sample and /healthz body)" 0 \
    "$OPSLEDGER" status utilisation --url "http://127.0.0.1:$(cat "$T/http.port" 2>/dev/null)"
check "... the sample in its padded column (escaped, then padded to 60)" \
    grep -qF "  $(printf '%-60s' 'opsledger_records_total{topic="x\x1b[2J\x0dFAKE\x7f"}') 7" "$T/eo.out"
kill -TERM "$HTTP_PID" 2>/dev/null
wait "$HTTP_PID" 2>/dev/null
_untrack "$HTTP_PID"

kill -TERM "$BROKER_PID"
wait_exit "$BROKER_PID" "$E2E_STOP_TIMEOUT" && check "the broker exits 0 and removes its bootstrap file" \
    test "$WAIT_STATUS" = 0 -a ! -e "$BF"
_untrack "$BROKER_PID"
e2e_finish
