#!/bin/bash
# tests/e2e/test_secrets.sh — state and secrets are the owner's only (issue
# 14, item 7; SPEC section 4: "Files holding projections, the archive or
# configuration with secrets are readable by their owner only").
#
#  1. a configuration file holding kafka.sasl.password that is readable by
#     others (0644, 0666) is refused with a message naming the key and the
#     chmod that fixes it; at 0600 it is accepted;
#  2. a service run with that secret in its configuration never writes it to
#     its log, nor does `status` or the dead letters' reason;
#  3. a service's data directory is 0700 and its LMDB files 0600, even under
#     a lax umask (022, 000), and a directory left 0755 by an older version is
#     tightened on start.
#
# Usage: BUILD=build bash tests/e2e/test_secrets.sh   (or via tests/run-e2e.sh)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/rellib.sh"
e2e_init secrets
T=$E2E_TMP
START=$(date +%s)
MARK="S3cret-$(date +%s%N)-do-not-log"

gen_data "$T/gen" --people 20 --weeks 3 --seed 9
start_broker || {
    e2e_finish
    exit 1
}
produce_dir "$T/gen" || fail "the data set is produced"
printf 'garbage' | bounded kcat -P -b "$OPSLEDGER_BROKERS" -t hr.person -k p-x >/dev/null 2>&1 ||
    fail "kcat produces one undecodable record"

CONF=$T/opsledger.conf
cat >"$CONF" <<CONF
# SASL is not used by the embedded broker (PLAINTEXT): the password only sits here
kafka.sasl.username = opsledger
kafka.sasl.password = $MARK
CONF

# ------------------------------------------------------------ 1. modes of the config
for mode in 644 666 640; do
    chmod "$mode" "$CONF"
    (umask 022 && bounded "$BIN/opsledger-billing" run -c "$CONF" --data-dir "$T/refused" --stop-at-end) \
        >"$T/refused.$mode.log" 2>&1
    rc=$?
    if [ "$rc" -ne 0 ] && grep -q "holds a secret (kafka.sasl.password)" "$T/refused.$mode.log" &&
        grep -q "chmod 600" "$T/refused.$mode.log"; then
        pass "a $mode config holding kafka.sasl.password is refused, naming the key and chmod 600"
    else
        fail "a $mode config holding kafka.sasl.password is refused, naming the key and chmod 600 (exit $rc)"
        dump "$T/refused.$mode.log"
    fi
done

# ------------------------------------------------------------ 2. never logged
chmod 600 "$CONF"
(umask 000 && OPSLEDGER_LOG_LEVEL=debug bounded "$BIN/opsledger-billing" run -c "$CONF" --data-dir "$T/run" \
    --stop-at-end) >"$T/run.log" 2>&1
rc=$?
check "billing runs with the 0600 config and exits 0 (got $rc)" [ "$rc" -eq 0 ]
"$BIN/opsledger-billing" status -c "$CONF" --data-dir "$T/run" >"$T/status.log" 2>&1
"$BIN/opsledger-billing" status -c "$CONF" --data-dir "$T/run" --lag >>"$T/status.log" 2>&1
run_ol "$T/dl.tail" "$T/dl.err" tail ops.deadletter --from-beginning
check "the run logged something at debug level ($(wc -l <"$T/run.log") lines)" [ -s "$T/run.log" ]
check "a dead letter was written (the undecodable record)" grep -q 'hr.person' "$T/dl.tail"
if grep -qF "$MARK" "$T/run.log" "$T/status.log" "$T/dl.tail" "$T/dl.err"; then
    fail "the secret never reaches the log, status or the dead letters"
    grep -nF "$MARK" "$T/run.log" "$T/status.log" "$T/dl.tail" | head -5
else
    pass "the secret never reaches the log ($(wc -l <"$T/run.log") lines at debug level), status or the dead letters"
fi

# ------------------------------------------------------------ 3. file modes
modes() { stat -c '%a' "$@" | tr '\n' ' '; }
d=$(dirname "$(find "$T/run" -name data.mdb | head -n 1)")
check "the data directory is 0700 under umask 000 ($(modes "$d"))" [ "$(stat -c %a "$d")" = 700 ]
check "data.mdb and lock.mdb are 0600 under umask 000 ($(modes "$d/data.mdb" "$d/lock.mdb"))" \
    [ "$(modes "$d/data.mdb" "$d/lock.mdb")" = "600 600 " ]
chmod 755 "$d"
chmod 644 "$d/data.mdb" "$d/lock.mdb"
bounded "$BIN/opsledger-billing" run -c "$CONF" --data-dir "$T/run" --stop-at-end >"$T/again.log" 2>&1 ||
    fail "billing restarts over a directory left 0755"
check "a directory and files left 0755/0644 are tightened on start ($(modes "$d" "$d/data.mdb" "$d/lock.mdb"))" \
    [ "$(modes "$d" "$d/data.mdb" "$d/lock.mdb")" = "700 600 600 " ]
check "the tightening is logged" grep -q 'made private' "$T/again.log"
check "the systemd unit sets UMask=0077" grep -q '^UMask=0077' "$REPO/deploy/systemd/opsledger@.service"

stop_broker
assert_no_leftovers
echo "e2e secrets: runtime $(($(date +%s) - START))s"
e2e_finish
exit $?
