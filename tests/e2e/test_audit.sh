#!/bin/bash
# The auditor's question, end to end: live services over a real broker
# process, an amendment after a recorded instant T, then `opsledger replay
# --as-of T`: the replayed projection's canonical dump is byte-identical to
# the live one taken at T, the emitted derived events equal the final
# published revision of every key at T (event_id and payload), and the
# billing line reads as it stood before the amendment. Then a replay as of
# now equals the final live projection, and the archive's chain verifies,
# its head anchored by the archive service's checkpoint file; tampered copies
# (a flipped byte, the newest record removed) are refused by verify and replay.
set -u
. "$(dirname "$0")/lib.sh"
e2e_init audit

D=$E2E_TMP/data
IN=$E2E_TMP/in
mkdir -p "$D" "$IN"
start_broker || { e2e_finish; exit 1; }

ev() { printf '"event_id":"%s","occurred_at":"2026-11-13T17:00:00Z","source":"test","revision":%s' "$1" "$2"; }
cat >"$IN/hr.person.jsonl" <<J
{$(ev p1 1),"person_id":"P1","name":"Ada","team":"data","role":"CONSULTANT","billable":true,"employment":"EMPLOYEE","supplier":null,"weekly_capacity_minutes":2250,"working_days":31,"day_cost_minor":40000,"currency":"GBP","joined_on":"2024-01-01","left_on":null}
{$(ev p2 1),"person_id":"P2","name":"Bo","team":"data","role":"SENIOR","billable":true,"employment":"EMPLOYEE","supplier":null,"weekly_capacity_minutes":2250,"working_days":31,"day_cost_minor":50000,"currency":"GBP","joined_on":"2024-01-01","left_on":null}
J
cat >"$IN/delivery.engagement.jsonl" <<J
{$(ev g1 1),"engagement_id":"G1","client":"Acme","name":"Build","billing":"TIME_AND_MATERIALS","lead":"SELF","bill_to":"Acme Ltd","currency":"GBP","minutes_per_day":450,"budget_minor":10000000,"starts_on":"2026-01-01","ends_on":"2027-06-30","rate_card":[{"role":"CONSULTANT","day_rate_minor":60000,"effective_from":"2026-01-01"},{"role":"SENIOR","day_rate_minor":90000,"effective_from":"2026-01-01"}],"status":"ACTIVE"}
J
: >"$IN/timesheet.entry.jsonl"
for d in 09 10 11 12 13; do
    for p in P1 P2; do
        echo "{$(ev "t-$p-$d" 1),\"entry_id\":\"E-$p-$d\",\"person_id\":\"$p\",\"engagement_id\":\"G1\",\"activity\":\"DELIVERY\",\"work_date\":\"2026-11-$d\",\"minutes\":450,\"status\":\"APPROVED\"}" >>"$IN/timesheet.entry.jsonl"
    done
done
cat >"$IN/amend.jsonl" <<J
{$(ev t-P1-13-r2 2),"entry_id":"E-P1-13","person_id":"P1","engagement_id":"G1","activity":"DELIVERY","work_date":"2026-11-13","minutes":225,"status":"APPROVED"}
J

echo "{$(ev t-lag 1),\"entry_id\":\"E-lag\",\"person_id\":\"P1\",\"engagement_id\":\"G1\",\"activity\":\"DELIVERY\",\"work_date\":\"2026-11-16\",\"minutes\":60,\"status\":\"SUBMITTED\"}" >"$IN/lag.jsonl"

for s in archive utilisation billing people margin; do
    # the archive checkpoints every 4 records here (default 1000)
    opt=; [ "$s" = archive ] && opt="-o archive_checkpoint_records=4"
    # shellcheck disable=SC2086
    "$BIN/opsledger-$s" run --data-dir "$D" $opt >"$E2E_TMP/$s.log" 2>&1 </dev/null 3>&- 4>&- &
    _track $!
done

# counter NAME SERVICE: a status counter of a service (0 when absent)
counter() { "$BIN/opsledger-$2" status --data-dir "$D" 2>/dev/null | awk -v k="$1" '$1==k{print $2}'; }
# caught_up SERVICE RECORDS: folded at least that many records and drained
# its outbox (the archive also keeps the derived topics other services read,
# so it sees more than the input records)
caught_up() {
    for _i in $(seq 300); do
        _n=$(counter records "$1")
        if [ "${_n:-0}" -ge "$2" ] && [ "$(counter outbox_depth "$1")" = "0" ]; then return 0; fi
        sleep 0.1
    done
    return 1
}

for t in hr.person delivery.engagement timesheet.entry; do
    run_ol "$E2E_TMP/p.out" "$E2E_TMP/p.err" produce "$t" --file "$IN/$t.jsonl" || fail "produce $t"
done
check "archive caught up (13 input records)" caught_up archive 13
check "utilisation caught up" caught_up utilisation 13
check "billing caught up" caught_up billing 13
check "people caught up" caught_up people 2
# margin: the 13 input records and billing's two lines of 2026-W46
check "margin caught up (with billing's lines)" caught_up margin 15

sleep 1.2
T=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
for s in utilisation billing people margin; do "$BIN/opsledger-$s" dump --data-dir "$D" >"$E2E_TMP/live-$s-T.txt"; done
"$BIN/opsledger" query billing --week 2026-W46 --format csv --data-dir "$D" >"$E2E_TMP/bill-T.csv"
"$BIN/opsledger" report margin --week 2026-W46 --format csv --data-dir "$D" >"$E2E_TMP/margin-T.csv"
sleep 1.2

run_ol "$E2E_TMP/p.out" "$E2E_TMP/p.err" produce timesheet.entry --file "$IN/amend.jsonl" || fail "produce amendment"
check "archive caught up after the amendment" caught_up archive 14
caught_up utilisation 14 || fail "utilisation caught up after the amendment"
caught_up billing 14 || fail "billing caught up after the amendment"
caught_up margin 17 || fail "margin caught up after the amendment (the entry and billing's restated line)"

kill_tracked_services() {
    for p in $E2E_PIDS; do [ "$p" = "$BROKER_PID" ] || kill -TERM "$p" 2>/dev/null; done
    for p in $E2E_PIDS; do [ "$p" = "$BROKER_PID" ] || { wait_exit "$p" 15; _untrack "$p"; }; done
}
kill_tracked_services

# 1. replay as of T: byte-identical projections
for s in utilisation billing people margin; do
    # under umask 000: the emitted events are the rebuilt projection's figures, owner-only like it
    (umask 000 && run_ol "$E2E_TMP/r.out" "$E2E_TMP/r-$s.err" replay "$s" --as-of "$T" --out "$E2E_TMP/replay-$s" \
        --emit "$E2E_TMP/emit-$s.jsonl" --data-dir "$D") || { fail "replay $s as of $T"; dump "$E2E_TMP/r-$s.err"; }
    [ "$(stat -c %a "$E2E_TMP/emit-$s.jsonl")" = 600 ] || fail "replay --emit FILE is owner-only (0600) under umask 000"
    "$BIN/opsledger-$s" dump --db "$E2E_TMP/replay-$s" >"$E2E_TMP/replay-$s-T.txt"
    if cmp -s "$E2E_TMP/live-$s-T.txt" "$E2E_TMP/replay-$s-T.txt"; then
        pass "$s replayed as of T is byte-identical to the live projection at T"
    else
        fail "$s replayed as of T is byte-identical to the live projection at T"
        diff "$E2E_TMP/live-$s-T.txt" "$E2E_TMP/replay-$s-T.txt" | head -10
    fi
done

# 2. the bill as it stood at T (before the amendment), from the replayed projection
"$BIN/opsledger" query billing --week 2026-W46 --format csv --db "$E2E_TMP/replay-billing" >"$E2E_TMP/bill-replay.csv"
"$BIN/opsledger" query billing --week 2026-W46 --format csv --data-dir "$D" >"$E2E_TMP/bill-now.csv"
check "replayed bill equals the bill at T" cmp -s "$E2E_TMP/bill-T.csv" "$E2E_TMP/bill-replay.csv"
# P1: 5 x 450 at 60,000 = 300,000 at T; 4.5 days = 270,000 after the amendment
check "P1's line was 300000 at T" grep -q '^time,"G1","P1",2026-W46,.*,2250,0,0,60000,300000,GBP' "$E2E_TMP/bill-replay.csv"
check "P1's line is 270000 now" grep -q '^time,"G1","P1",2026-W46,.*,2025,0,0,60000,270000,GBP' "$E2E_TMP/bill-now.csv"
# the margin as it stood at T: revenue 300,000 + 5 x 90,000 = 750,000, cost 5 x 40,000 + 5 x 50,000 =
# 450,000, margin 300,000 = 4000 bp; now P1's 4.5 days: 720,000 - 430,000 = 290,000 = 4027 bp
"$BIN/opsledger" report margin --week 2026-W46 --format csv --db "$E2E_TMP/replay-margin" >"$E2E_TMP/margin-replay.csv"
"$BIN/opsledger" report margin --week 2026-W46 --format csv --data-dir "$D" >"$E2E_TMP/margin-now.csv"
check "replayed margin equals the margin at T" cmp -s "$E2E_TMP/margin-T.csv" "$E2E_TMP/margin-replay.csv"
check "G1's margin was 300000 (4000 bp) at T" grep -q '^ENGAGEMENT,"G1","Acme",2026-W46,"GBP",750000,450000,0,0,0,450000,300000,4000,' "$E2E_TMP/margin-replay.csv"
check "G1's margin is 290000 (4027 bp) now" grep -q '^ENGAGEMENT,"G1","Acme",2026-W46,"GBP",720000,430000,0,0,0,430000,290000,4027,' "$E2E_TMP/margin-now.csv"

# 3. emitted events = the final published revision of every key at T
for topic in finance.billing.line ops.utilisation.weekly; do
    run_ol "$E2E_TMP/tail-$topic.jsonl" "$E2E_TMP/tail.err" tail "$topic" --from-beginning
    svc=billing; [ "$topic" = ops.utilisation.weekly ] && svc=utilisation
    if python3 - "$E2E_TMP/tail-$topic.jsonl" "$E2E_TMP/emit-$svc.jsonl" "$T" "$topic" <<'PY'
import json, sys
from datetime import datetime
tail, emit, t, topic = sys.argv[1:]
T = datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ")
pub = {}
for line in open(tail):
    r = json.loads(line)
    if datetime.strptime(r["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ") <= T:
        old = pub.get(r["key"])
        if old is None or r["value"]["revision"] >= old["revision"]:
            pub[r["key"]] = r["value"]
em = {}
for line in open(emit):
    r = json.loads(line)
    if r["topic"] == topic:
        em[r["key"]] = r["value"]
if pub != em:
    print("keys published", len(pub), "emitted", len(em))
    for k in sorted(set(pub) | set(em)):
        if pub.get(k) != em.get(k):
            print(" differs:", k, pub.get(k, {}).get("revision"), em.get(k, {}).get("revision"))
    sys.exit(1)
print(len(pub), "keys")
PY
    then pass "$topic: the replay emits the final published revision of every key at T"; else fail "$topic: replay emits what was published at T"; fi
done

# 4. replay as of now equals the final live projection
for s in utilisation billing people margin; do
    run_ol "$E2E_TMP/r.out" "$E2E_TMP/r2.err" replay "$s" --as-of 2100-01-01T00:00:00Z --out "$E2E_TMP/now-$s" --data-dir "$D"
    "$BIN/opsledger-$s" dump --db "$E2E_TMP/now-$s" >"$E2E_TMP/now-$s.txt"
    "$BIN/opsledger-$s" dump --data-dir "$D" >"$E2E_TMP/live-$s-end.txt"
    check "$s replayed as of now equals the live projection" cmp -s "$E2E_TMP/now-$s.txt" "$E2E_TMP/live-$s-end.txt"
    # a live service started on a rebuilt directory publishes what the rebuild emitted (nothing the
    # lost directory had not yet published is lost): the outbox holds every emitted event
    _st=$("$BIN/opsledger" status "$s" --db "$E2E_TMP/now-$s" 2>/dev/null)
    _em=$(echo "$_st" | awk '$1 == "emitted" { print $2 }')
    _dp=$(echo "$_st" | awk '$1 == "outbox_depth" { print $2 }')
    check "$s replayed without --emit keeps its $_em emitted events queued (outbox depth $_dp, dead letters included)" \
        test "${_em:-0}" -gt 0 -a "${_dp:-0}" -ge "${_em:-1}"
done
check "the archive's hash chain verifies" run_ol "$E2E_TMP/v.out" "$E2E_TMP/v.err" verify --data-dir "$D"

# 5. the head is anchored outside the archive: the archive service wrote its
# checkpoint file (owner-only) and, at stop, a checkpoint of its last record
CP=$D/archive.checkpoints
check "the archive service wrote $CP, mode 600" test "$(stat -c %a "$CP" 2>/dev/null)" = 600
nrec=$(sed -n 's/.*: \([0-9]*\) records, chain intact.*/\1/p' "$E2E_TMP/v.out")
check "its last checkpoint is the head (record ${nrec:-?})" test "$(tail -n 1 "$CP" | cut -d' ' -f1)" = "${nrec:-x}"
check "verify reports the head anchored" grep -q "^head anchored" "$E2E_TMP/v.out"
check "checkpoints were written while running, in increasing order ($(wc -l <"$CP") lines)" \
    sh -c "[ \$(wc -l <'$CP') -ge 2 ] && cut -d' ' -f1 '$CP' | sort -c -n"

# tampered copies of the archive (mdb_dump | edit | mdb_load): a flipped
# byte in a timesheet record's value, and the newest record removed (row
# and index entry, as a careful forger would)
tamper() { # tamper MODE DIR
    mkdir -p "$2"
    mdb_dump -a "$D/archive" | python3 -c '
import sys
mode = sys.argv[1]
lines = sys.stdin.read().split("\n")
out, db, i = [], None, 0
pairs = {}
while i < len(lines):
    l = lines[i]
    if l.startswith("database="): db = l[9:]
    if l.startswith(" ") and i + 1 < len(lines) and lines[i + 1].startswith(" "):
        pairs.setdefault(db, []).append((len(out), l, lines[i + 1]))
        out += [l, lines[i + 1]]; i += 2; continue
    out.append(l); i += 1
recs = pairs["records"]
if mode == "flip":
    for pos, k, v in recs:
        row = bytearray.fromhex(v.strip())
        tl = int.from_bytes(row[52:54], "big"); topic = row[54:54 + tl].decode()
        p = 54 + tl; kl = int.from_bytes(row[p:p + 4], "big"); p += 4 + (0 if kl == 0xffffffff else kl)
        vl = int.from_bytes(row[p:p + 4], "big")
        if topic == "timesheet.entry":
            row[p + 4 + vl - 20] ^= 0x04
            out[pos + 1] = " " + row.hex(); break
else:
    pos, k, v = recs[-1]
    out[pos] = out[pos + 1] = None
    for pos2, k2, v2 in pairs["by_offset"]:
        if v2.strip() == k.strip(): out[pos2] = out[pos2 + 1] = None
print("\n".join(l for l in out if l is not None), end="")
' "$1" | mdb_load "$2" 2>"$E2E_TMP/load.err"
}
if tamper flip "$E2E_TMP/flipped" && tamper droptail "$E2E_TMP/cut"; then
    run_ol "$E2E_TMP/t.out" "$E2E_TMP/t.err" verify --archive "$E2E_TMP/flipped" --checkpoints "$CP"
    check "verify names the flipped record (exit $?)" grep -q "BROKEN at record" "$E2E_TMP/t.out"
    run_ol "$E2E_TMP/t.out" "$E2E_TMP/t.err" replay billing --as-of 2100-01-01T00:00:00Z --archive "$E2E_TMP/flipped" \
        --checkpoints "$CP" --out "$E2E_TMP/replay-flipped" --data-dir "$D"
    rc=$?
    check "replay refuses the flipped archive (exit $rc), naming the record" \
        sh -c "[ $rc -ne 0 ] && grep -q 'does not verify.*BROKEN at record' '$E2E_TMP/t.err'"
    check "replay folded nothing from it" test ! -e "$E2E_TMP/replay-flipped/data.mdb"
    run_ol "$E2E_TMP/t.out" "$E2E_TMP/t.err" verify --archive "$E2E_TMP/cut" --checkpoints "$CP"
    rc=$?
    check "verify detects the removed newest record against the checkpoints (exit $rc)" \
        sh -c "[ $rc -eq 1 ] && grep -q 'were removed from its end' '$E2E_TMP/t.out'"
    run_ol "$E2E_TMP/t.out" "$E2E_TMP/t.err" replay billing --as-of 2100-01-01T00:00:00Z --archive "$E2E_TMP/cut" \
        --checkpoints "$CP" --out "$E2E_TMP/replay-cut" --data-dir "$D"
    rc=$?
    check "replay refuses the archive without its newest record (exit $rc)" \
        sh -c "[ $rc -ne 0 ] && grep -q 'were removed from its end' '$E2E_TMP/t.err'"
    timeout 30 "$BIN/opsledger-archive" run --db "$E2E_TMP/cut" -o archive_checkpoints="$CP" \
        >"$E2E_TMP/t.out" 2>"$E2E_TMP/t.err" </dev/null
    rc=$?
    check "opsledger-archive refuses to append to an archive that lost its newest records (exit $rc)" \
        sh -c "[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q 'lost its newest records' '$E2E_TMP/t.err'"
else
    fail "tampered copies of the archive (mdb_dump/mdb_load)"
fi

# consumer lag: one record produced while the services are stopped
run_ol "$E2E_TMP/p.out" "$E2E_TMP/p.err" produce timesheet.entry --file "$IN/lag.jsonl" || fail "produce one more"
lag=$("$BIN/opsledger" status utilisation --lag --data-dir "$D" 2>/dev/null | awk '$1=="consumer_lag"{print $2}')
check "status --lag shows the one record not yet folded (got '$lag')" test "$lag" = 1

# a record whose Kafka timestamp is in the future (a producer's clock ahead,
# or a data time given as the timestamp): live services fold it at once, a
# replay as of now leaves it out (knowledge time is the Kafka timestamp);
# the archive says so when it archives it, and the replay when it meets the
# live batch that folded it
echo '{"event_id":"t-future","occurred_at":"2099-01-05T09:00:00Z","source":"test","revision":1,"entry_id":"E-future","person_id":"P1","engagement_id":"G1","activity":"DELIVERY","work_date":"2026-11-17","minutes":30,"status":"SUBMITTED"}' >"$IN/future.jsonl"
run_ol "$E2E_TMP/p.out" "$E2E_TMP/pf.err" produce timesheet.entry --file "$IN/future.jsonl" --timestamp-field occurred_at ||
    fail "produce a record timestamped in 2099"
bounded "$BIN/opsledger-archive" run --data-dir "$D" --stop-at-end >/dev/null 2>"$E2E_TMP/fa.log" </dev/null
check "the archive warns of a record timestamped in the future, naming it" \
    grep -q 'record timestamped in the future.*topic=timesheet.entry.*timestamp=2099-01-05T09:00:00.000Z' "$E2E_TMP/fa.log"
bounded "$BIN/opsledger-utilisation" run --data-dir "$D" --stop-at-end >/dev/null 2>"$E2E_TMP/fu.log" </dev/null
NOW=$(date -u -d "+2 seconds" +%Y-%m-%dT%H:%M:%SZ) # past every record but the future one
run_ol "$E2E_TMP/r.out" "$E2E_TMP/rf.err" replay utilisation --as-of "$NOW" --out "$E2E_TMP/replay-future" --data-dir "$D"
check "a replay as of now says the live service folded a batch timestamped in the future" \
    grep -q 'folded a batch holding a record timestamped in the future.*max_timestamp=2099-01-05T09:00:00.000Z' \
    "$E2E_TMP/rf.err"

stop_broker
e2e_finish
