"""relcheck.py — helpers of the reliability end-to-end tests (test_crash.sh,
test_outage.sh, test_mapfull.sh, test_hostile.sh).

An independent Avro binary codec (written from the Avro specification, not
from opsledger's C code) over the schemas of $OPSLEDGER_SCHEMAS, a parser for
kcat's length-prefixed raw output, a parser for `opsledger-<svc> dump`, and the
checks. Every check prints `PASS msg` or `FAIL msg` (details indented); the
shell scripts turn those lines into lib.sh counters. Exit status 1 when any
check failed.

    relcheck.py split GEN_DIR OUT_DIR ROUNDS
    relcheck.py dumps NAME DUMP_A DUMP_B
    relcheck.py topics LABEL_A LABEL_B RAW_DIR_A RAW_DIR_B DUMP_A DUMP_B TOPIC...
    relcheck.py outbox-drained RAW_DIR DUMP TOPIC...
    relcheck.py hostile GEN_DIR OUT_DIR
    relcheck.py deadletters EXPECT_FILE TAIL_FILE
"""
import base64
import datetime
import json
import os
import struct
import sys

SCHEMAS = os.environ.get("OPSLEDGER_SCHEMAS") or os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                               "..", "..", "schemas")
PRIMS = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
failed = False


def PASS(msg):
    print("PASS " + msg)


def FAIL(msg, details=()):
    global failed
    failed = True
    print("FAIL " + msg)
    for d in list(details)[:30]:
        print("    " + str(d))


def NOTE(msg):
    print("    " + msg)


# ------------------------------------------------------------------ schemas
class Schemas:
    def __init__(self, d=SCHEMAS):
        self.dir = d
        self.rows = []
        with open(os.path.join(d, "manifest.tsv")) as f:
            for line in f:
                line = line.rstrip("\n")
                if not line.strip() or line.startswith("#"):
                    continue
                c = line.split("\t")
                self.rows.append(dict(id=int(c[0]), subject=c[1], file=c[2], key_field=c[3], entity_field=c[4]))
        self.by_id = {}
        for r in self.rows:
            with open(os.path.join(d, r["file"])) as f:
                sch = json.load(f)
            names = {}
            collect(sch, None, names)
            self.by_id[r["id"]] = (r, sch, names)

    def current(self, topic):
        """(id, schema, names, row) of the highest id of topic's subject"""
        ids = [r["id"] for r in self.rows if r["subject"] == topic + "-value"]
        if not ids:
            raise KeyError(topic)
        i = max(ids)
        r, s, n = self.by_id[i]
        return i, s, n, r

    def ids_of(self, topic):
        return sorted(r["id"] for r in self.rows if r["subject"] == topic + "-value")


def collect(t, ns, names):
    if isinstance(t, list):
        for b in t:
            collect(b, ns, names)
    elif isinstance(t, dict):
        kind = t.get("type")
        if kind in ("record", "enum", "fixed"):
            ns = t.get("namespace", ns)
            full = t["name"] if "." in t["name"] or not ns else ns + "." + t["name"]
            names[full] = t
            names[t["name"]] = t
        if kind == "record":
            for f in t["fields"]:
                collect(f["type"], ns, names)
        elif kind == "array":
            collect(t["items"], ns, names)
        elif kind == "map":
            collect(t["values"], ns, names)
        elif isinstance(kind, (dict, list)):
            collect(kind, ns, names)


def resolve(t, names):
    while True:
        if isinstance(t, str) and t not in PRIMS:
            t = names[t]
        elif isinstance(t, dict) and isinstance(t.get("type"), (dict, list)):
            t = t["type"]
        elif isinstance(t, dict) and t.get("type") in PRIMS:
            return t["type"]
        elif isinstance(t, dict) and t.get("type") not in ("record", "enum", "array", "map", "fixed") \
                and t.get("type") in names:
            t = names[t["type"]]
        else:
            return t


# ------------------------------------------------------------ avro binary
class Short(Exception):
    pass


class Reader:
    def __init__(self, b, pos=0):
        self.b = b
        self.pos = pos

    def byte(self):
        if self.pos >= len(self.b):
            raise Short("truncated")
        x = self.b[self.pos]
        self.pos += 1
        return x

    def take(self, n):
        if n < 0 or self.pos + n > len(self.b):
            raise Short("truncated")
        x = self.b[self.pos:self.pos + n]
        self.pos += n
        return x

    def varint(self):
        shift = 0
        acc = 0
        while True:
            x = self.byte()
            acc |= (x & 0x7F) << shift
            if not x & 0x80:
                break
            shift += 7
            if shift > 63:
                raise Short("varint too long")
        return (acc >> 1) ^ -(acc & 1)


def decode(t, r, names):
    t = resolve(t, names)
    if isinstance(t, list):
        i = r.varint()
        if not 0 <= i < len(t):
            raise Short("union branch %d" % i)
        return decode(t[i], r, names)
    kind = t if isinstance(t, str) else t["type"]
    if kind == "null":
        return None
    if kind == "boolean":
        return r.byte() != 0
    if kind in ("int", "long"):
        return r.varint()
    if kind == "float":
        return struct.unpack("<f", r.take(4))[0]
    if kind == "double":
        return struct.unpack("<d", r.take(8))[0]
    if kind == "bytes":
        return bytes(r.take(r.varint()))
    if kind == "string":
        return r.take(r.varint()).decode("utf-8")
    if kind == "fixed":
        return bytes(r.take(t["size"]))
    if kind == "enum":
        i = r.varint()
        if not 0 <= i < len(t["symbols"]):
            raise Short("enum index %d" % i)
        return t["symbols"][i]
    if kind == "record":
        return {f["name"]: decode(f["type"], r, names) for f in t["fields"]}
    if kind in ("array", "map"):
        out = [] if kind == "array" else {}
        while True:
            n = r.varint()
            if n == 0:
                break
            if n < 0:
                n = -n
                r.varint()
            for _ in range(n):
                if kind == "array":
                    out.append(decode(t["items"], r, names))
                else:
                    k = r.take(r.varint()).decode("utf-8")
                    out[k] = decode(t["values"], r, names)
        return out
    raise ValueError("unsupported type %r" % (t,))


def zz(n):
    """zigzag varint of a (64-bit) long"""
    u = (n << 1) ^ (n >> 63)
    u &= (1 << 64) - 1
    out = bytearray()
    while True:
        if u < 0x80:
            out.append(u)
            return bytes(out)
        out.append((u & 0x7F) | 0x80)
        u >>= 7


def encode(t, v, names):
    t = resolve(t, names)
    if isinstance(t, list):
        for i, b in enumerate(t):
            rb = resolve(b, names)
            if (v is None) == (rb == "null"):
                return zz(i) + encode(b, v, names)
        raise ValueError("no union branch for %r" % (v,))
    kind = t if isinstance(t, str) else t["type"]
    if kind == "null":
        return b""
    if kind == "boolean":
        return b"\x01" if v else b"\x00"
    if kind in ("int", "long"):
        return zz(v)
    if kind == "float":
        return struct.pack("<f", v)
    if kind == "double":
        return struct.pack("<d", v)
    if kind == "bytes":
        return zz(len(v)) + v
    if kind == "string":
        b = v.encode("utf-8")
        return zz(len(b)) + b
    if kind == "enum":
        return zz(t["symbols"].index(v) if isinstance(v, str) else v)
    if kind == "record":
        return b"".join(encode(f["type"], v[f["name"]], names) for f in t["fields"])
    if kind == "array":
        if not v:
            return b"\x00"
        return zz(len(v)) + b"".join(encode(t["items"], x, names) for x in v) + b"\x00"
    raise ValueError("unsupported type %r" % (t,))


def frame(sid, body):
    return b"\x00" + struct.pack(">I", sid) + body


def decode_frame(S, b):
    """(schema_id, value) of a Confluent frame; raises on any error or trailing bytes"""
    if len(b) < 5 or b[0] != 0:
        raise Short("bad frame header")
    sid = struct.unpack(">I", b[1:5])[0]
    _, sch, names = S.by_id[sid]
    r = Reader(b, 5)
    v = decode(sch, r, names)
    if r.pos != len(b):
        raise Short("%d trailing bytes" % (len(b) - r.pos))
    return sid, v


# ------------------------------------------------------------ kcat raw
def read_kcat(path):
    """records of `kcat -C -f '%p\\t%o\\t%K\\t%k\\t%S\\t%s\\n'` as dicts"""
    with open(path, "rb") as f:
        b = f.read()
    out = []
    pos = 0

    def field():
        nonlocal pos
        j = b.index(b"\t", pos)
        x = b[pos:j]
        pos = j + 1
        return int(x)

    while pos < len(b):
        p = field()
        o = field()
        kl = field()
        key = b[pos:pos + max(kl, 0)]
        pos += max(kl, 0) + 1  # tab
        vl = field()
        val = b[pos:pos + max(vl, 0)] if vl >= 0 else None
        pos += max(vl, 0)
        if b[pos:pos + 1] != b"\n":
            raise ValueError("%s: kcat output out of step at byte %d" % (path, pos))
        pos += 1
        out.append(dict(partition=p, offset=o, key=key.decode("utf-8", "replace") if kl >= 0 else None,
                        value=val))
    return out


# ------------------------------------------------------------ dump
def read_dump(path):
    """{section: [(key_bytes, value_bytes)]} of `opsledger-<svc> dump`"""
    secs = {}
    cur = None
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("# "):
                cur = line[2:]
                secs[cur] = []
            elif line:
                k, v = line.split("\t")
                secs.setdefault(cur, []).append((bytes.fromhex(k), bytes.fromhex(v)))
    return secs


def derived_key(kb):
    """ol_derived_key(topic, key): topic, the key's week or date (or ""), key;
    NUL-separated strings (common/ol_derived.c)"""
    parts = kb.split(b"\0")
    return parts[0].decode(), parts[2].decode()


# History fields: they describe the sequence of emissions of a key, not its
# state. revision counts emissions and event_id is computed from it; delta_*
# are differences against the previous emission; post_close says the line
# changed (against its previous emission) while its week was CLOSED. Two runs
# that batch the same input differently emit different (equally correct)
# sequences, so these may differ between them; the state may not.
def state_of(v):
    return {k: x for k, x in v.items()
            if k not in ("event_id", "revision", "post_close") and not k.startswith("delta_")}


# A key whose current value says "nothing" is, on a compacted topic, the same
# state as a key never emitted: a week that was missing time and became
# covered is re-emitted with missing_minutes 0 (utilisation README), a line
# whose time went away is re-emitted at 0 (billing README). Which of these a
# run emits depends on what it saw between batches.
NOTHING = {
    "ops.timesheet.missing": lambda v: v["missing_minutes"] == 0,
    "finance.billing.line": lambda v: v["amount_minor"] == 0 and v["approved_minutes"] == 0
    and v["pending_minutes"] == 0 and v["unpriced_minutes"] == 0,
    # a person-week that stopped existing (the person left, or no longer logs
    # time in it) is re-emitted with every figure 0 (utilisation README)
    "ops.utilisation.weekly": lambda v: v["capacity_minutes"] == 0 and v["logged_minutes"] == 0
    and v["available_minutes"] == 0 and v["people"] == 0,
    # a headcount row whose scope went away (a role or team nobody holds any
    # more) is re-emitted with every figure 0 (services/people/README.md)
    "ops.headcount.weekly": lambda v: v["headcount"] == 0 and v["fte_bp"] == 0 and v["joiners"] == 0
    and v["leavers"] == 0 and v["window_leavers"] == 0 and v["avg_headcount_x100"] == 0
    and v["dm_supply_fte_bp"] is None and v["dm_demand_fte_bp"] is None,
}


def says_nothing(topic, v):
    f = NOTHING.get(topic)
    return bool(f and f(v))


# Service databases that keep a copy of an emission-history field, as byte
# offsets to ignore when comparing rows of two runs:
#   billing `lines`: struct bill_line (services/billing/billing.h) — amount(8)
#   day_rate(8) approved pending unpriced minutes_per_day (4 each) kind
#   has_rate priced post_close ... : post_close is byte 35.
HISTORY_BYTES = {("billing", "lines"): {35: "post_close"}}


def mask(b, offs):
    b = bytearray(b)
    for o in offs:
        if o < len(b):
            b[o] = 0
    return bytes(b)


# delta field -> how the final amount is computed from the final payload
DELTAS = {
    "ops.utilisation.weekly": {"delta_billable_minutes": lambda v: v["billable_minutes"],
                               "delta_available_minutes": lambda v: v["available_minutes"]},
    "ops.timesheet.missing": {"delta_missing_minutes": lambda v: v["missing_minutes"]},
    "finance.billing.line": {"delta_minor": lambda v: v["amount_minor"],
                             "delta_minutes": lambda v: v["approved_minutes"]},
    "finance.contractor.reconciliation": {
        "delta_minor": lambda v: v["amount_invoiced_minor"] - v["amount_expected_minor"]},
}


# ------------------------------------------------------------ commands
def cmd_split(gen_dir, out_dir, rounds):
    """Splits every GEN_DIR/<topic>.jsonl into ROUNDS consecutive chunks
    OUT_DIR/<round>/<topic>.jsonl (empty chunks are not written), so that a
    gradual producer sends each topic in its original order."""
    rounds = int(rounds)
    total = 0
    for name in sorted(os.listdir(gen_dir)):
        if not name.endswith(".jsonl"):
            continue
        with open(os.path.join(gen_dir, name)) as f:
            lines = [x for x in f if x.strip()]
        total += len(lines)
        n = len(lines)
        for i in range(rounds):
            chunk = lines[i * n // rounds:(i + 1) * n // rounds]
            if not chunk:
                continue
            d = os.path.join(out_dir, "%03d" % i)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, name), "w") as f:
                f.writelines(chunk)
    print(total)


def cmd_dumps(name, a_path, b_path):
    """The two dumps of NAME: byte-identical, else every section but the
    derived one byte-identical and the derived one equal in state."""
    S = Schemas()
    a, b = read_dump(a_path), read_dump(b_path)
    with open(a_path, "rb") as f:
        ab = f.read()
    with open(b_path, "rb") as f:
        bb = f.read()
    if not a or not any(a.values()):
        FAIL("%s: the dump is not empty" % name)
        return
    rows = sum(len(v) for v in a.values())
    if ab == bb:
        PASS("%s: the two dumps are byte-identical (%d rows in %d databases)" % (name, rows, len(a)))
        return False
    # not a failure by itself: the `derived` database holds each key's last
    # emission (revision, event_id, deltas), which depends on the batching
    NOTE("%s: the two dumps are not byte-identical (%d vs %d rows); database by database:" % (
        name, rows, sum(len(v) for v in b.values())))
    if sorted(a) != sorted(b):
        FAIL("%s: the same databases are dumped" % name, [sorted(a), sorted(b)])
    for sec in sorted(set(a) | set(b)):
        ra, rb = a.get(sec, []), b.get(sec, [])
        if ra == rb:
            PASS("%s: database '%s' is byte-identical (%d rows)" % (name, sec, len(ra)))
            continue
        da, db = dict(ra), dict(rb)
        only_a = sorted(set(da) - set(db))
        only_b = sorted(set(db) - set(da))
        diff = sorted(k for k in set(da) & set(db) if da[k] != db[k])
        details = ["%d keys only in the first, %d only in the second, %d differ" % (len(only_a), len(only_b),
                                                                                  len(diff))]
        for k in (only_a[:5] + only_b[:5] + diff[:5]):
            details.append("key %r: %s | %s" % (k, da.get(k, b"").hex()[:120], db.get(k, b"").hex()[:120]))
        hb = HISTORY_BYTES.get((name.split()[0], sec))
        if sec != "derived" and hb and not only_a and not only_b and \
                all(mask(da[k], hb) == mask(db[k], hb) for k in diff):
            PASS("%s: database '%s' is byte-identical but for %s (emission history): %d rows, %d differ there"
                 % (name, sec, "/".join(hb.values()), len(ra), len(diff)))
            continue
        if sec != "derived":
            FAIL("%s: database '%s' is byte-identical" % (name, sec), details)
            continue
        # derived: the last emission of every key; compare the state, count
        # how many keys differ only in their emission history
        bad = []
        hist = 0
        nothing = 0
        for k in only_a + only_b:
            try:
                _, v = decode_frame(S, da.get(k) or db.get(k))
            except Exception as e:  # noqa: BLE001
                bad.append("%r: does not decode: %s" % (k, e))
                continue
            if says_nothing(derived_key(k)[0], v):
                nothing += 1
            else:
                bad.append("%r: only in the %s run: %s" % (derived_key(k), "first" if k in da else "second",
                                                          state_of(v)))
        for k in diff:
            try:
                _, va = decode_frame(S, da[k])
                _, vb = decode_frame(S, db[k])
            except Exception as e:  # noqa: BLE001
                bad.append("%r: does not decode: %s" % (k, e))
                continue
            if state_of(va) != state_of(vb):
                bad.append("%r: %s" % (derived_key(k), field_diff(va, vb)))
            else:
                hist += 1
        if bad:
            FAIL("%s: database 'derived' holds the same state for every key" % name, bad)
        else:
            PASS("%s: database 'derived' holds the same state for every key (%d rows; %d differ only in "
                 "revision/event_id/delta_*/post_close, i.e. emission history; %d keys of one run only, whose "
                 "value says nothing: missing 0 / a zero line)" % (name, len(ra), hist, nothing))


def field_diff(va, vb):
    return ", ".join("%s: %r != %r" % (k, va.get(k), vb.get(k)) for k in sorted(set(va) | set(vb))
                     if va.get(k) != vb.get(k))


def topic_history(S, topic, recs, label):
    """{key: {revision: (event_id, value, bytes)}} plus problems found"""
    probs = []
    hist = {}
    by_eid = {}
    resent = 0
    for r in recs:
        try:
            sid, v = decode_frame(S, r["value"])
        except Exception as e:  # noqa: BLE001
            probs.append("%s %s p%d o%d: does not decode: %s" % (label, topic, r["partition"], r["offset"], e))
            continue
        if v.get("key") != r["key"]:
            probs.append("%s %s: Kafka key %r != value key %r" % (label, topic, r["key"], v.get("key")))
        eid = v["event_id"]
        if eid in by_eid:
            if by_eid[eid] != r["value"]:
                probs.append("%s %s: event_id %s published with two different payloads" % (label, topic, eid))
            resent += 1
            continue
        by_eid[eid] = r["value"]
        h = hist.setdefault(r["key"], {})
        if v["revision"] in h:
            probs.append("%s %s key %r: revision %d published under two event_ids" % (label, topic, r["key"],
                                                                                     v["revision"]))
        h[v["revision"]] = (eid, v, r["value"])
    return hist, probs, resent


def cmd_topics(label_a, label_b, dir_a, dir_b, dump_a, dump_b, *topics):
    S = Schemas()
    derived = {}
    for lab, dp in ((label_a, dump_a), (label_b, dump_b)):
        d = {}
        for path in dp.split(","):
            for k, v in read_dump(path).get("derived", []):
                d[derived_key(k)] = v
        derived[lab] = d
    for topic in topics:
        H = {}
        for lab, d in ((label_a, dir_a), (label_b, dir_b)):
            recs = read_kcat(os.path.join(d, topic + ".raw"))
            hist, probs, resent = topic_history(S, topic, recs, lab)
            H[lab] = hist
            n = sum(len(x) for x in hist.values())
            if probs:
                FAIL("%s %s: every event_id has one payload, every revision one event_id, every value decodes"
                     % (lab, topic), probs)
            else:
                PASS("%s %s: %d records, %d keys, %d distinct emissions, %d re-sent copies (same event_id, "
                     "same bytes); no event_id with two payloads" % (lab, topic, len(recs), len(hist), n,
                                                                     resent))
            # no emission lost: revisions 1..max, each once
            gaps = ["%r: revisions %s" % (k, sorted(h)) for k, h in hist.items()
                    if sorted(h) != list(range(1, max(h) + 1))]
            if gaps:
                FAIL("%s %s: every key's revisions are 1..N without a gap" % (lab, topic), gaps)
            else:
                PASS("%s %s: every key's revisions are 1..N without a gap (no emission lost)" % (lab, topic))
            # deltas sum to the final amounts
            bad = []
            for k, h in hist.items():
                final = h[max(h)][1]
                for df, fn in DELTAS.get(topic, {}).items():
                    s = sum(x[1][df] for x in h.values())
                    if s != fn(final):
                        bad.append("%r: sum of %s over %d emissions = %d, final amount %d" % (k, df, len(h), s,
                                                                                            fn(final)))
            if topic not in DELTAS:
                pass
            elif bad:
                FAIL("%s %s: for every key the deltas sum to the final amounts" % (lab, topic), bad)
            else:
                PASS("%s %s: for every key the deltas (%s) of its emissions sum to the final amounts"
                     % (lab, topic, ", ".join(DELTAS[topic])))
            # the topic's final revision is the projection's last emission, byte for byte
            dd = {k[1]: v for k, v in derived[lab].items() if k[0] == topic}
            bad = []
            for k, h in hist.items():
                if dd.get(k) != h[max(h)][2]:
                    bad.append("%r: final revision %d on the topic is not the projection's last emission" % (
                        k, max(h)))
            for k in set(dd) - set(hist):
                bad.append("%r: in the projection's derived rows, never published" % k)
            if bad:
                FAIL("%s %s: the final revision of every key equals the projection's derived row" % (lab, topic),
                     bad)
            else:
                PASS("%s %s: the final revision of every key equals the projection's derived row, byte for "
                     "byte (%d keys)" % (lab, topic, len(dd)))
        # the two runs
        ha, hb = H[label_a], H[label_b]
        extra = []
        nothing = 0
        for x, y, lab in ((ha, hb, label_a), (hb, ha, label_b)):
            for k in sorted(set(x) - set(y)):
                v = x[k][max(x[k])][1]
                if says_nothing(topic, v):
                    nothing += 1
                else:
                    extra.append("only %s: %r = %s" % (lab, k, state_of(v)))
        if extra:
            FAIL("%s: the same keys in both runs (but for keys whose final value says nothing)" % topic, extra)
        else:
            PASS("%s: the same keys in both runs (%d keys of one run only, whose final value says nothing: "
                 "missing 0 / a zero line)" % (topic, nothing))
        same_bytes = same_state = 0
        bad = []
        revdiff = []
        for k in sorted(set(ha) & set(hb)):
            fa, fb = ha[k][max(ha[k])], hb[k][max(hb[k])]
            if fa[2] == fb[2]:
                same_bytes += 1
                same_state += 1
            elif state_of(fa[1]) == state_of(fb[1]):
                same_state += 1
                revdiff.append("%r: %s rev %d, %s rev %d; %s" % (k, label_a, max(ha[k]), label_b, max(hb[k]),
                                                                field_diff(fa[1], fb[1])))
            else:
                bad.append("%r: %s" % (k, field_diff(fa[1], fb[1])))
        common = len(set(ha) & set(hb))
        if bad:
            FAIL("%s: the final payload of every key is the same in both runs (ignoring event_id, revision, "
                 "delta_*, post_close)" % topic, bad)
        else:
            PASS("%s: the final payload of every key is the same in both runs (ignoring event_id, revision, "
                 "delta_*, post_close): %d keys" % (topic, common))
        if same_bytes == common:
            PASS("%s: the final revision of every key is byte-identical in both runs (%d keys)" % (topic, common))
        else:
            NOTE("%s: %d of %d keys have a byte-identical final revision; %d differ only in emission history "
                 "(the runs batched the input differently), e.g.:" % (topic, same_bytes, common, len(revdiff)))
            for x in revdiff[:3]:
                NOTE("  " + x)
    return


def read_status(path):
    out = {}
    with open(path) as f:
        for line in f:
            c = line.split()
            if len(c) == 2 and line.startswith("  ") and c[0] == "data_time":
                # ISO-8601 UTC with milliseconds (or "none"), compared as ms
                out[c[0]] = 0 if c[1] == "none" else int(datetime.datetime.strptime(
                    c[1], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp() * 1000 + 0.5)
            elif len(c) == 2 and line.startswith("  "):
                out[c[0]] = int(c[1])
    return out


# counters that describe the input's effect, committed with each batch; the
# others (emitted, batches, outbox_seq, batch_log...) count how it was batched
EFFECT = ("records", "folded", "duplicates", "stale", "conflicts", "deadletters")


def cmd_counters(name, a_path, b_path, *extra):
    """The effect counters and every stored offset of two `status` outputs are
    equal (EXTRA: key=delta pairs expected as a - b)."""
    a, b = read_status(a_path), read_status(b_path)
    want = {k: 0 for k in EFFECT}
    offsets = "nooffsets" not in extra
    for x in extra:
        if "=" in x:
            k, v = x.split("=")
            want[k] = int(v)
    bad = []
    for k in sorted(set(want) | {k for k in set(a) | set(b) if (offsets and k.startswith("offset/"))
                                 or k == "data_time"}):
        d = a.get(k, 0) - b.get(k, 0)
        if d != want.get(k, 0):
            bad.append("%s: %d vs %d (expected a difference of %d)" % (k, a.get(k, 0), b.get(k, 0), want.get(k, 0)))
    desc = ", ".join("%s %d" % (k, a.get(k, 0)) for k in EFFECT)
    if bad:
        FAIL("%s: the same effect counters%s, data time%s as the clean run" % (
            name, " (but " + ", ".join(x for x in extra if "=" in x) + ")" if len(want) > len(EFFECT) or
            any("=" in x for x in extra) else "", " and offsets" if offsets else ""), bad)
    else:
        PASS("%s: the same effect counters%s, data time%s as the clean run (%s)" % (
            name, " (but " + ", ".join(x for x in extra if "=" in x) + ")" if any("=" in x for x in extra) else "",
            " and offsets" if offsets else "", desc))


def cmd_drained(raw_dir, dump, *topics):
    """Every derived row of the projection reached its topic (the outbox drained)."""
    S = Schemas()
    d = {derived_key(k): v for k, v in read_dump(dump).get("derived", [])}
    for topic in topics:
        recs = read_kcat(os.path.join(raw_dir, topic + ".raw"))
        hist, probs, resent = topic_history(S, topic, recs, "")
        dd = {k[1]: v for k, v in d.items() if k[0] == topic}
        bad = list(probs)
        for k, v in dd.items():
            if k not in hist or hist[k][max(hist[k])][2] != v:
                bad.append("%r: the projection's last emission is not the topic's final revision" % k)
        gaps = ["%r: revisions %s" % (k, sorted(h)) for k, h in hist.items()
                if sorted(h) != list(range(1, max(h) + 1))]
        bad += gaps
        if bad:
            FAIL("%s: every emission was published once in order, the final one equal to the projection" % topic,
                 bad)
        else:
            PASS("%s: every key's emissions 1..N are on the topic and the final one is the projection's (%d keys, "
                 "%d re-sent copies)" % (topic, len(dd), resent))


# ------------------------------------------------------------ the runtime's model
DATE_MAX = 47482            # 2100-12-31 in days since 1970-01-01
TS_END = 4133980800000      # 2101-01-01T00:00:00Z in ms
MAXKEY = 511                # LMDB's key size limit


def attr(field, t, name):
    a = field.get(name) if isinstance(field, dict) else None
    if a is None and isinstance(t, dict) and not isinstance(t, list):
        a = t.get(name)
    return a


ID_FIELDS = ("team", "role", "supplier", "client", "bill_to", "owner", "source", "currency", "iso_week")


def string_limit(name):
    """SPEC 4 / schemas/README.md: ids and names that key rows 128 bytes, a
    derived key 480, other text 4,096"""
    if name == "key":
        return 480
    if name and (name.endswith("_id") or name in ID_FIELDS):
        return 128
    return 4096


def valid_week(s_):
    import datetime
    import re
    m = re.match(r"^(\d{4})-W(\d{2})$", s_)
    if not m:
        return False
    y, w = int(m.group(1)), int(m.group(2))
    weeks = datetime.date(y, 12, 28).isocalendar()[1]
    return 1 <= w <= weeks


def check_value(t, field, v, names, path):
    """None, or the reason (ol_validate's rules: SPEC section 4)"""
    raw = t
    if isinstance(t, list):
        if v is None:
            return None
        b = [x for x in t if resolve(x, names) != "null"][0]
        return check_value(b, field, v, names, path)
    rt = resolve(t, names)
    kind = rt if isinstance(rt, str) else rt["type"]
    lt = raw.get("logicalType") if isinstance(raw, dict) else None
    if kind == "record":
        for f in rt["fields"]:
            r = check_value(f["type"], f, v[f["name"]], names, f["name"] if not path else path + "." + f["name"])
            if r:
                return r
        return None
    if kind == "array":
        for i, x in enumerate(v):
            r = check_value(rt["items"], None, x, names, "%s[%d]" % (path, i))
            if r:
                return r
        return None
    if kind == "int" and lt == "date":
        return None if 0 <= v <= DATE_MAX else 'field "%s": date outside 1970-01-01..2100-12-31' % path
    if kind == "long" and lt == "timestamp-millis":
        return None if 0 <= v < TS_END else 'field "%s": timestamp outside the range' % path
    if kind in ("int", "long"):
        lo, hi = attr(field, raw, "ol.min"), attr(field, raw, "ol.max")
        if lo is not None and v < lo:
            return 'field "%s": %d below minimum %s' % (path, v, lo)
        if hi is not None and v > hi:
            return 'field "%s": %d above maximum %s' % (path, v, hi)
        return None
    if kind == "string":
        if "\x00" in v:
            return 'field "%s": holds a NUL byte' % path
        name = field.get("name") if isinstance(field, dict) else None
        limit = attr(field, raw, "ol.max_bytes") or string_limit(name)
        if len(v.encode()) > limit:
            return 'field "%s": longer than the limit of %d bytes' % (path, limit)
        fmt = attr(field, raw, "ol.format")
        if fmt == "iso_week" and not valid_week(v):
            return 'field "%s": not an ISO week' % path
        if fmt == "currency" and not (len(v) == 3 and v.isascii() and v.isalpha() and v.isupper()):
            return 'field "%s": not a currency' % path
    return None


def model(S, topics, raw_dir, offsets):
    """Folds the input records below OFFSETS as the runtime does (decode,
    validate, dead letters, seen event_ids, highest revision, conflicts) and
    returns (counters, entities, dead letters {(topic, partition, offset)})"""
    c = {k: 0 for k in EFFECT}
    ent = {}
    seen = set()
    dl = {}
    recs = []
    for topic in topics:
        for r in read_kcat(os.path.join(raw_dir, topic + ".raw")):
            if offsets is not None and r["offset"] >= offsets.get("offset/%s/%d" % (topic, r["partition"]), 0):
                continue
            r["topic"] = topic
            recs.append(r)
    # per-partition order is what the runtime keeps; entities never span partitions
    recs.sort(key=lambda r: (r["topic"], r["partition"], r["offset"]))
    for r in recs:
        topic = r["topic"]
        c["records"] += 1
        where = (topic, r["partition"], r["offset"])
        try:
            wid, v = decode_frame(S, r["value"] or b"")
            row = S.by_id[wid][0]
            if row["subject"] != topic + "-value":
                raise Short("wrong subject")
        except Exception as e:  # noqa: BLE001
            dl[where] = "decode: %s" % e
            c["deadletters"] += 1
            continue
        # validated against the reader (current) schema; the writer is the current one here
        _, sch, names, crow = S.current(topic)
        why = check_value(sch, None, v, names, "")
        if not why:
            for f in ("event_id", crow["entity_field"]):
                if not v.get(f):
                    why = 'field "%s": empty' % f
                elif len(v[f].encode()) > MAXKEY or \
                        (f != "event_id" and len(topic) + len(v[f].encode()) + 2 > MAXKEY):
                    why = 'field "%s": longer than the key limit' % f
        if why:
            dl[where] = why
            c["deadletters"] += 1
            continue
        if v["event_id"] in seen:
            c["duplicates"] += 1
            continue
        seen.add(v["event_id"])
        k = (topic, v[crow["entity_field"]])
        cur = ent.get(k)
        if cur is not None:
            if v["revision"] < cur[0]:
                c["stale"] += 1
                continue
            if v["revision"] == cur[0]:
                strip = ("event_id", "occurred_at", "source")
                if {a: b for a, b in v.items() if a not in strip} == \
                        {a: b for a, b in cur[2].items() if a not in strip}:
                    c["duplicates"] += 1
                    continue
                c["conflicts"] += 1
                if v["event_id"] <= cur[1]:
                    continue
        ent[k] = (v["revision"], v["event_id"], v, r["value"])
        c["folded"] += 1
    return c, ent, dl


def cmd_entities(name, dump_path, status_path, raw_dir, *topics):
    """The `entity` database holds exactly what the records below the stored
    offsets make it (highest revision; equal revision: the first of the same
    content, else the larger event_id), byte for byte, and the effect
    counters are what those records make them. A batch committed in part
    would show as an entity or a count from a record at or beyond its
    partition's stored offset."""
    S = Schemas()
    st = read_status(status_path)
    c, want, _ = model(S, topics, raw_dir, st)
    got = {}
    for kb, vb in read_dump(dump_path).get("entity", []):
        parts = kb.split(b"\0")
        rev = struct.unpack(">q", vb[:8])[0]
        el = (vb[8] << 8) | vb[9]
        got[(parts[0].decode(), parts[1].decode())] = (rev, vb[10:10 + el].decode(), None, vb[10 + el:])
    bad = []
    for k in sorted(set(want) | set(got)):
        if k not in got:
            bad.append("%r: expected revision %d, not stored" % (k, want[k][0]))
        elif k not in want:
            bad.append("%r: stored (revision %d) but no record below the stored offsets has it" % (k, got[k][0]))
        elif (want[k][0], want[k][1], want[k][3]) != (got[k][0], got[k][1], got[k][3]):
            bad.append("%r: stored revision %d %s, expected %d %s" % (k, got[k][0], got[k][1], want[k][0],
                                                                    want[k][1]))
    if bad:
        FAIL("%s: the entity database is exactly the fold of the records below the stored offsets" % name, bad)
    else:
        PASS("%s: the entity database is exactly the fold of the %d records below the stored offsets (%d "
             "entities)" % (name, c["records"], len(want)))
    diff = ["%s: status %d, model %d" % (k, st.get(k, 0), c[k]) for k in EFFECT if st.get(k, 0) != c[k]]
    if diff:
        FAIL("%s: the effect counters are those of the records below the stored offsets" % name, diff)
    else:
        PASS("%s: the effect counters are those of the records below the stored offsets (%s)" % (
            name, ", ".join("%s %d" % (k, c[k]) for k in EFFECT)))


# ------------------------------------------------------------ hostile input
def uuid_of(i, tag):
    return "%08x-%04x-4%03x-8%03x-%012x" % (0xbad00000 + i, tag & 0xffff, i & 0xfff, tag & 0xfff, i * 7919 + tag)


def vary(rec, sch, names, row, n):
    """a valid record with other content than rec (one field changed)"""
    out = dict(rec)
    skip = {"event_id", "source", "occurred_at", "revision", row["key_field"], row["entity_field"]}
    for f in sch["fields"]:
        if f["name"] in skip:
            continue
        t = resolve(f["type"], names)
        if t == "string" and not f.get("ol.format"):
            out[f["name"]] = "%s (varied %d)" % (rec[f["name"]], n)
            return out
    for f in sch["fields"]:
        t = resolve(f["type"], names)
        if f["name"] not in skip and isinstance(t, dict) and t.get("type") == "enum":
            syms = t["symbols"]
            out[f["name"]] = syms[(syms.index(rec[f["name"]]) + n) % len(syms)]
            return out
    raise ValueError("nothing to vary in %s" % sch["name"])


def cmd_hostile(gen_dir, out_dir):
    """Writes, per input topic, OUT_DIR/<topic>/NNN.bin (raw record values,
    in the order to produce them, all with one key) and OUT_DIR/plan.tsv
    (NNN topic key kind expectation): hostile values first, then valid
    records that exercise duplicates, conflicts and stale revisions.
    Expectation: `dl:<regex>` a dead letter whose ol.reason matches; `ok`
    folded; `dup` a counted duplicate; `conflict-kept` / `conflict-taken`;
    `stale`."""
    import random
    rnd = random.Random(4242)
    S = Schemas()
    plan = []
    n = [0]

    def base(topic):
        """the first record of the topic in GEN_DIR, else in the fixtures"""
        for d in (gen_dir, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")):
            try:
                with open(os.path.join(d, topic + ".jsonl")) as f:
                    line = f.readline()
            except OSError:
                continue
            if line.strip():
                return json.loads(line)
        raise SystemExit("no record of %s to start from" % topic)

    topics = list(dict.fromkeys(r["subject"][:-6] for r in S.rows if r["id"] < 100))
    for ti, topic in enumerate(topics):
        sid, sch, names, row = S.current(topic)
        other = S.current(topics[(ti + 1) % len(topics)])[0]
        rec = to_avro_values(base(topic), sch, names)
        key = rec[row["key_field"]]
        os.makedirs(os.path.join(out_dir, topic), exist_ok=True)

        def put(kind, expect, data, k=None):
            i = n[0]
            n[0] += 1
            with open(os.path.join(out_dir, topic, "%03d.bin" % i), "wb") as f:
                f.write(data)
            plan.append("%03d\t%s\t%s\t%s\t%s" % (i, topic, k or key, kind, expect))

        def enc(r):
            return frame(sid, encode(sch, r, names))

        good = encode(sch, rec, names)
        fr = frame(sid, good)
        ef = row["entity_field"]
        # framing and decoding
        put("random bytes", "dl:^wrong_magic: ",
            bytes([rnd.randrange(1, 256)]) + bytes(rnd.randrange(256) for _ in range(40)))
        put("3-byte value", "dl:^short_frame: frame of 3 bytes", b"\x00\x00\x00")
        put("empty value", "dl:^short_frame: frame of 0 bytes", b"")
        put("null value", "dl:^short_frame: frame of 0 bytes", b"")
        put("truncated body", "dl:^bad_body: .*(truncated|bytes left)", fr[:len(fr) // 2])
        put("magic byte 0x01", "dl:^wrong_magic: magic byte is 0x01", b"\x01" + fr[1:])
        put("unknown schema id 4711", "dl:^unknown_schema_id: schema id 4711", frame(4711, good))
        put("schema id %d of another topic" % other, "dl:^wrong_subject: schema id %d " % other, frame(other, good))
        put("2 trailing bytes", "dl:^trailing_bytes: 2 trailing bytes", fr + b"\x00\x00")
        enums = [f for f in sch["fields"] if isinstance(resolve(f["type"], names), dict)
                 and resolve(f["type"], names).get("type") == "enum"]
        if enums:
            e = enums[-1]
            put("enum %s index out of range" % e["name"], "dl:^bad_body: .*enum .*index",
                enc(dict(rec, **{e["name"]: len(resolve(e["type"], names)["symbols"]) + 3})))
        # a 100 MB string: the record up to `source`, then only the length
        head = b""
        for f in sch["fields"]:
            if f["name"] == "source":
                break
            head += encode(f["type"], rec[f["name"]], names)
        put("100 MB string length", "dl:^bad_body: .*100000000", frame(sid, head + zz(100_000_000) + b"abc"))
        # rules (SPEC section 4)
        put("empty event_id", 'dl:^invalid: field "event_id": empty', enc(dict(rec, event_id="")))
        put("600-byte event_id", 'dl:^invalid: field "event_id": 600 bytes, longer than the limit of 128', enc(dict(rec, event_id="e" * 600)))
        eff = [f for f in sch["fields"] if f["name"] == ef][0].get("ol.format")
        k600 = "x" * 600
        # (far ahead in data time, and re-sent corrected below: a dead letter
        # must neither move the data time nor mark its event_id seen)
        put("600-byte %s" % ef, 'dl:^invalid: field "%s": %s' % (ef, "600 bytes, longer than" if not eff else ""),
            enc(dict(rec, event_id=uuid_of(ti, 10), occurred_at=4084000000000, **{ef: k600})),
            k600 if ef == row["key_field"] else None)
        # strings the fold cannot store (issue 14, items 2 and 3): every
        # string field over its size limit (ids and names the services key
        # rows with: 128 bytes; free text: 4,096), NUL inside an id, and a
        # team of 10,000 combining characters; each a dead letter naming
        # the field, never a service stopped on every restart
        for j, f in enumerate(sch["fields"]):
            if f["name"] in ("event_id", ef) or not is_string(f["type"], names):
                continue
            big = "y" * 20000
            put("20,000-byte %s" % f["name"],
                'dl:^invalid: field "%s": 20000 bytes, longer than the limit of' % f["name"],
                enc(dict(rec, event_id=uuid_of(ti, 20 + j), **{f["name"]: big})))
        if topic == "hr.person":
            put("team of 10,000 combining characters",
                'dl:^invalid: field "team": 20000 bytes, longer than the limit of 128 bytes',
                enc(dict(rec, event_id=uuid_of(ti, 17), team="\u0301" * 10000)))
        if not eff:
            put("NUL inside %s" % ef, 'dl:^invalid: field "%s": holds a NUL byte at byte %d' % (ef, len(rec[ef])),
                enc(dict(rec, event_id=uuid_of(ti, 18), **{ef: rec[ef] + "\x00X"})))
        put("NUL inside event_id", 'dl:^invalid: field "event_id": holds a NUL byte at byte 3',
            enc(dict(rec, event_id="nul\x00" + uuid_of(ti, 19))))
        dates = [f["name"] for f in sch["fields"] if is_date(f["type"], names)]
        if dates:
            put("%s in year 9999" % dates[0], 'dl:^invalid: field "%s": 9999-01-01 outside' % dates[0],
                enc(dict(rec, event_id=uuid_of(ti, 11), **{dates[0]: days_of(9999, 1, 1)})))
        put("revision -1", 'dl:^invalid: field "revision": -1 below minimum 0',
            enc(dict(rec, event_id=uuid_of(ti, 12), revision=-1)))
        put("occurred_at in year 9999", 'dl:^invalid: field "occurred_at": 9999-12-31T23:59:59',
            enc(dict(rec, event_id=uuid_of(ti, 13), occurred_at=253402300799000)))
        if topic == "timesheet.entry":
            put("minutes -30", 'dl:^invalid: field "minutes": -30 below minimum 0',
                enc(dict(rec, event_id=uuid_of(ti, 14), minutes=-30)))
            put("minutes 2000", 'dl:^invalid: field "minutes": 2000 above maximum 1440',
                enc(dict(rec, event_id=uuid_of(ti, 15), minutes=2000)))
            put("work_date 9999-12-31", 'dl:^invalid: field "work_date": 9999-12-31 outside',
                enc(dict(rec, event_id=uuid_of(ti, 16), work_date=days_of(9999, 12, 31))))
        # valid records: a new entity (its own id), then the same event again,
        # a new event_id with the same revision and content, equal revisions
        # with other content (smaller event_id: kept; larger: taken), a higher
        # revision, a lower one
        g = dict(rec, event_id="00000000-0000-4000-8000-%012d" % (ti * 100 + 50), revision=5,
                 **{ef: rec[ef] + "-hostile" if not eff else "2030-W01"})
        if ef == row["key_field"]:
            gk = g[ef]
        else:
            gk = None
        put("valid, new entity", "ok", enc(g), gk)
        put("the same event again", "dup", enc(g), gk)
        put("new event_id, same revision and content", "dup",
            enc(dict(g, event_id="00000000-0000-4000-8000-%012d" % (ti * 100 + 60))), gk)
        put("same revision, other content, smaller event_id", "conflict-kept",
            enc(dict(vary(g, sch, names, row, 1), event_id="00000000-0000-4000-8000-%012d" % (ti * 100 + 40))), gk)
        put("same revision, other content, larger event_id", "conflict-taken",
            enc(dict(vary(g, sch, names, row, 2), event_id="00000000-0000-4000-8000-%012d" % (ti * 100 + 70))), gk)
        put("higher revision", "ok",
            enc(dict(g, event_id="00000000-0000-4000-8000-%012d" % (ti * 100 + 80), revision=6)), gk)
        put("lower revision", "stale",
            enc(dict(vary(g, sch, names, row, 3), event_id="00000000-0000-4000-8000-%012d" % (ti * 100 + 90),
                     revision=4)), gk)
        fixed = dict(rec, event_id=uuid_of(ti, 10), **{ef: rec[ef] + "-resent" if not eff else "2030-W02"})
        put("the 600-byte %s record re-sent corrected (same event_id)" % ef, "ok", enc(fixed),
            fixed[ef] if ef == row["key_field"] else None)
    with open(os.path.join(out_dir, "plan.tsv"), "w") as f:
        f.write("\n".join(plan) + "\n")
    print(n[0])


def cmd_locate(hostile_dir, raw_dir):
    """OUT: hostile_dir/offsets.tsv: NNN partition offset of every planned
    record, found on its topic by its bytes (same bytes: in produce order)"""
    by_topic = {}
    with open(os.path.join(hostile_dir, "plan.tsv")) as f:
        for line in f:
            if line.strip():
                i, topic = line.split("\t")[:2]
                by_topic.setdefault(topic, []).append(i)
    out = []
    missing = []
    for topic, items in by_topic.items():
        recs = sorted(read_kcat(os.path.join(raw_dir, topic + ".raw")), key=lambda r: (r["partition"], r["offset"]))
        used = set()
        for i in items:
            with open(os.path.join(hostile_dir, topic, i + ".bin"), "rb") as bf:
                b = bf.read()
            for j, r in enumerate(recs):
                if j not in used and (r["value"] or b"") == b:
                    used.add(j)
                    out.append("%s\t%d\t%d" % (i, r["partition"], r["offset"]))
                    break
            else:
                missing.append("%s %s" % (topic, i))
    with open(os.path.join(hostile_dir, "offsets.tsv"), "w") as f:
        f.write("\n".join(out) + "\n")
    if missing:
        FAIL("every hostile record is on its topic", missing)
    else:
        PASS("all %d hostile and valid-but-tricky records are on their topics (kcat)" % len(out))


def is_string(t, names):
    """a string, or a nullable one (not an enum, not a logical type)"""
    if isinstance(t, list):
        return any(is_string(b, names) for b in t if b != "null")
    return t == "string" or (isinstance(t, dict) and t.get("type") == "string" and "logicalType" not in t)


def is_date(t, names):
    if isinstance(t, list):
        return False  # nullable dates: left alone
    r = t if isinstance(t, dict) else None
    return bool(r and r.get("type") == "int" and r.get("logicalType") == "date")


def days_of(y, m, d):
    import datetime
    return (datetime.date(y, m, d) - datetime.date(1970, 1, 1)).days


def to_avro_values(obj, sch, names):
    """JSON line of the produce mapping -> values for encode()"""
    import calendar
    import datetime
    import re
    out = {}
    for f in sch["fields"]:
        v = obj.get(f["name"], f.get("default"))
        t = f["type"]
        nullable = isinstance(t, list)
        if nullable:
            t = [b for b in t if b != "null"][0]
        rt = resolve(t, names)
        if v is None:
            out[f["name"]] = None
            continue
        if isinstance(rt, dict) and rt.get("type") == "array":
            it = resolve(rt["items"], names)
            out[f["name"]] = [to_avro_values(x, it, names) for x in v]
            continue
        lt = t.get("logicalType") if isinstance(t, dict) else None
        if lt == "date" and isinstance(v, str):
            y, mo, d = map(int, v.split("-"))
            v = days_of(y, mo, d)
        elif lt == "timestamp-millis" and isinstance(v, str):
            m = re.match(r"(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)(?:\.(\d+))?Z$", v)
            y, mo, d, h, mi, s, frac = m.groups()
            v = calendar.timegm((int(y), int(mo), int(d), int(h), int(mi), int(s), 0, 0, 0)) * 1000 + \
                int(((frac or "") + "000")[:3])
        out[f["name"]] = v
    _ = datetime
    return out


def read_tail(path):
    out = []
    with open(path) as f:
        for line in f:
            if line.strip():
                out.append(json.loads(line))
    return out


def header(rec, name):
    h = rec.get("headers")
    if isinstance(h, dict):
        return h.get(name)
    if isinstance(h, list):
        for x in h:
            if isinstance(x, dict):
                if x.get("name") == name or x.get("key") == name:
                    return x.get("value")
                if name in x:
                    return x[name]
            elif isinstance(x, list) and x and x[0] == name:
                return x[1]
    return None


def cmd_deadletters(hostile_dir, tail_path, raw_path, service, *inputs):
    """Every hostile record of plan.tsv on one of the service's INPUTS is
    exactly one dead letter from SERVICE (TAIL_PATH: `opsledger tail
    ops.deadletter`) with the expected ol.reason, its source in the headers
    and key, and its original bytes (RAW_PATH: the topic read with kcat);
    nothing else of SERVICE is a dead letter."""
    import re
    raw = {}
    for r in read_kcat(raw_path):
        raw.setdefault(r["key"], []).append(r["value"] or b"")
    recs = [r for r in read_tail(tail_path) if header(r, "ol.service") in (service, "opsledger-" + service)]
    by_src = {}
    for r in recs:
        k = (header(r, "ol.source.topic"), header(r, "ol.source.partition"), header(r, "ol.source.offset"))
        by_src.setdefault(k, []).append(r)
    with open(os.path.join(hostile_dir, "offsets.tsv")) as f:
        offs = dict((x.split("\t")[0], x.rstrip("\n").split("\t")[1:]) for x in f if x.strip())
    n_ok = want_total = 0
    bad = []
    cases = {}
    with open(os.path.join(hostile_dir, "plan.tsv")) as f:
        for line in f:
            if not line.strip():
                continue
            i, topic, key, kind, expect = line.rstrip("\n").split("\t")
            if topic not in inputs:
                continue
            part, off = offs.get(i, ("?", "?"))
            got = by_src.pop((topic, part, off), [])
            if not expect.startswith("dl:"):
                if got:
                    bad.append("%s %s (%s): dead-lettered (%s) but valid" % (topic, kind, expect,
                                                                           header(got[0], "ol.reason")))
                continue
            want_total += 1
            cases[kind] = cases.get(kind, 0) + 1
            with open(os.path.join(hostile_dir, topic, i + ".bin"), "rb") as bf:
                orig = bf.read()
            if len(got) != 1:
                bad.append("%s %s (p%s o%s): %d dead letters" % (topic, kind, part, off, len(got)))
                continue
            r = got[0]
            reason = header(r, "ol.reason") or ""
            probs = []
            if not re.search(expect[3:], reason):
                probs.append("reason %r does not match /%s/" % (reason, expect[3:]))
            # every dead letter of this source record (one per service) carries its bytes
            if any(b != orig for b in raw.get(r.get("key"), [None])):
                probs.append("the dead letter's bytes are not the original's")
            val = r.get("value_base64")
            if val is not None and base64.b64decode(val) != orig:
                probs.append("tail's value_base64 is not the original's bytes")
            if r.get("key") != "%s|%s|%s" % (topic, part, off):
                probs.append("key %r" % r.get("key"))
            if probs:
                bad.append("%s %s: %s" % (topic, kind, "; ".join(probs)))
            else:
                n_ok += 1
                if topic == "timesheet.entry":
                    NOTE("%-48s -> %s" % (kind, reason[:110]))
    if bad:
        FAIL("%s: each of the %d hostile records on its inputs is one dead letter with its specific reason "
             "(%d are)" % (service, want_total, n_ok), bad)
    else:
        PASS("%s: each of the %d hostile records on its %d input topics is exactly one dead letter with its "
             "specific reason, key topic|partition|offset, source headers and the original bytes"
             % (service, want_total, len(inputs)))
    rest = [r for v in by_src.values() for r in v]
    if rest:
        FAIL("%s: no other dead letter (%d more)" % (service, len(rest)),
             ["%s: %s" % (r.get("key"), header(r, "ol.reason")) for r in rest][:10])
    else:
        PASS("%s: no other dead letter" % service)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"split": cmd_split, "dumps": cmd_dumps, "topics": cmd_topics, "drained": cmd_drained, "counters": cmd_counters,
     "entities": cmd_entities, "locate": cmd_locate,
     "hostile": cmd_hostile, "deadletters": cmd_deadletters}[cmd](*args)
    sys.exit(1 if failed else 0)
