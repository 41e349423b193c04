#!/bin/bash
# tests/e2e/test_roundtrip.sh — JSON lines -> Avro on Kafka -> JSON lines, over
# a real broker process (opsledger broker), for every input topic.
#
#  1. the fixtures cover every field of every input schema (self-check);
#  2. per input topic: `opsledger produce` of tests/e2e/fixtures/<topic>.jsonl
#     exits 0 and acknowledges every line; `opsledger tail --from-beginning`
#     prints the same records field by field (timestamps compared as instants),
#     keyed by the manifest's key_field, framed with the topic's schema id,
#     fields in schema order, timestamps as RFC 3339 UTC with milliseconds;
#  3. kcat, an independent Kafka client, reads timesheet.entry and sees the same
#     records (partition, offset, key) whose values are Confluent-framed
#     (0x00, big-endian schema id) plain Avro binary: an independent decoder
#     here reads them back to the fixture values with no trailing bytes;
#  4. bad input: rejected lines are reported as `line N: reason`, exit status
#     1, never sent, while the good lines around them are;
#  5. the broker exits 0 on SIGTERM and nothing is left running.
#
# Usage: BUILD=build bash tests/e2e/test_roundtrip.sh   (or via tests/run-e2e.sh)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # also when run as `sh test_roundtrip.sh`
set -u

. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
e2e_init roundtrip
T=$E2E_TMP
START=$(date +%s)

# ------------------------------------------------------------------ checker
CHECK=$T/check.py
cat >"$CHECK" <<'PY'
"""opsledger e2e checker: prints `PASS msg` / `FAIL msg` lines (details indented)."""
import calendar, datetime, json, os, re, sys

SCHEMAS = os.environ["OPSLEDGER_SCHEMAS"]
TS_OUT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
TS_IN = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
PRIMS = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
MISSING = "<missing>"
failed = False


def PASS(msg):
    print("PASS " + msg)


def FAIL(msg, details=()):
    global failed
    failed = True
    print("FAIL " + msg)
    for d in list(details)[:40]:
        print("    " + d)


# ---------------------------------------------------------------- schemas
def manifest():
    rows = []
    with open(os.path.join(SCHEMAS, "manifest.tsv")) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            c = line.split("\t")
            rows.append(dict(id=int(c[0]), subject=c[1], file=c[2], key_field=c[3], entity_field=c[4]))
    return rows


def topic_info(topic):
    rows = [r for r in manifest() if r["subject"] == topic + "-value"]
    if not rows:
        raise SystemExit("no manifest row for %s" % topic)
    cur = max(rows, key=lambda r: r["id"])
    with open(os.path.join(SCHEMAS, cur["file"])) as f:
        schema = json.load(f)
    names = {}
    collect(schema, None, names)
    return cur, schema, names, {r["id"] for r in rows}


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
        elif isinstance(t, dict) and t.get("type") not in ("record", "enum", "array", "map", "fixed") \
                and t.get("type") in names:
            t = names[t["type"]]
        else:
            return t


def kind_of(t):
    if isinstance(t, str):
        return t, None
    return t["type"], t.get("logicalType")


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def parse_ts(s):
    m = TS_IN.match(s)
    if not m:
        return None
    y, mo, d, h, mi, se, frac, off = m.groups()
    secs = calendar.timegm((int(y), int(mo), int(d), int(h), int(mi), int(se), 0, 0, 0))
    ms = int(((frac or "") + "000")[:3])
    if off not in ("Z", "z"):
        sign = 1 if off[0] == "+" else -1
        secs -= sign * (int(off[1:3]) * 3600 + int(off[4:6]) * 60)
    return secs * 1000 + ms


def day_str(n):
    return (datetime.date(1970, 1, 1) + datetime.timedelta(days=n)).isoformat()


def norm(t, v, names):
    """A canonical form: timestamps as integer millis, defaults applied;
    values of the wrong JSON type are wrapped so that they never compare equal."""
    t = resolve(t, names)
    if isinstance(t, list):
        if v is None and "null" in t:
            return None
        for b in t:
            if b != "null":
                return norm(b, v, names)
    kind, lt = kind_of(t)
    if kind == "record":
        if not isinstance(v, dict):
            return ["<not an object>", v]
        out = {}
        for f in t["fields"]:
            if f["name"] in v:
                out[f["name"]] = norm(f["type"], v[f["name"]], names)
            elif "default" in f:
                out[f["name"]] = norm(f["type"], f["default"], names)
            else:
                out[f["name"]] = MISSING
        for k in v:
            if k not in out:
                out["<unknown field " + k + ">"] = v[k]
        return out
    if kind == "array":
        if not isinstance(v, list):
            return ["<not an array>", v]
        return [norm(t["items"], x, names) for x in v]
    if kind in ("int", "long") and lt == "timestamp-millis":
        if is_int(v):
            return v
        if isinstance(v, str) and parse_ts(v) is not None:
            return parse_ts(v)
        return ["<bad timestamp>", v]
    if kind == "int" and lt == "date":
        if isinstance(v, str) and DATE.match(v):
            return v
        if is_int(v):
            return day_str(v)
        return ["<bad date>", v]
    if kind in ("int", "long"):
        return v if is_int(v) else ["<not an integer>", v]
    if kind == "boolean":
        return v if isinstance(v, bool) else ["<not a boolean>", v]
    if kind in ("string", "enum"):
        return v if isinstance(v, str) else ["<not a string>", v]
    return v


def canonical_errors(t, v, names, path, errs):
    """What `tail` must print: fields in schema order, timestamps RFC 3339 UTC
    with millis, dates YYYY-MM-DD, nullable values plain, exact JSON types."""
    t = resolve(t, names)
    if isinstance(t, list):
        if v is None:
            if "null" not in t:
                errs.append("%s: null for a non-nullable union" % path)
            return
        if isinstance(v, dict) and len(v) == 1 and not any(
                isinstance(resolve(b, names), dict) and resolve(b, names).get("type") == "record" for b in t):
            errs.append("%s: union printed with an Avro-JSON wrapper %s" % (path, json.dumps(v)))
            return
        for b in t:
            if b != "null":
                return canonical_errors(b, v, names, path, errs)
    kind, lt = kind_of(t)
    if kind == "record":
        if not isinstance(v, dict):
            errs.append("%s: expected an object, got %s" % (path, json.dumps(v)))
            return
        want = [f["name"] for f in t["fields"]]
        if list(v.keys()) != want:
            errs.append("%s: fields %s, expected schema order %s" % (path or "value", list(v.keys()), want))
        for f in t["fields"]:
            if f["name"] in v:
                canonical_errors(f["type"], v[f["name"]], names, (path + "." if path else "") + f["name"], errs)
    elif kind == "array":
        if not isinstance(v, list):
            errs.append("%s: expected an array" % path)
            return
        for i, x in enumerate(v):
            canonical_errors(t["items"], x, names, "%s[%d]" % (path, i), errs)
    elif lt == "timestamp-millis":
        if not (isinstance(v, str) and TS_OUT.match(v)):
            errs.append("%s: timestamp %s is not RFC 3339 UTC with milliseconds" % (path, json.dumps(v)))
    elif lt == "date":
        if not (isinstance(v, str) and DATE.match(v)):
            errs.append("%s: date %s is not YYYY-MM-DD" % (path, json.dumps(v)))
    elif kind == "int":
        if not (is_int(v) and -2**31 <= v < 2**31):
            errs.append("%s: %s is not an int" % (path, json.dumps(v)))
    elif kind == "long":
        if not (is_int(v) and -2**63 <= v < 2**63):
            errs.append("%s: %s is not a long" % (path, json.dumps(v)))
    elif kind == "boolean":
        if not isinstance(v, bool):
            errs.append("%s: %s is not a boolean" % (path, json.dumps(v)))
    elif kind == "enum":
        if v not in t["symbols"]:
            errs.append("%s: %s is not a symbol of %s" % (path, json.dumps(v), t["name"]))
    elif kind == "string":
        if not isinstance(v, str):
            errs.append("%s: %s is not a string" % (path, json.dumps(v)))


def dumps(x):
    return json.dumps(x, sort_keys=False, ensure_ascii=False)


def read_jsonl(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                out.append((n, json.loads(line)))
    return out


def read_tail(path, topic):
    recs, errs = [], []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                recs.append(json.loads(line))
            except ValueError as e:
                errs.append("tail line %d is not JSON (%s): %s" % (n, e, line[:200]))
    return recs, errs


def diff_report(topic, entity, exp, got):
    """field-by-field differences between expected and decoded records, matched by entity id"""
    details = []
    by_id = {}
    for g in got:
        by_id.setdefault(g.get(entity), []).append(g)
    for e in exp:
        cands = by_id.get(e.get(entity), [])
        if not cands:
            details.append("%s=%s: not read back" % (entity, e.get(entity)))
            continue
        if any(dumps(c) == dumps(e) for c in cands):
            continue
        g = cands[0]
        for k in e:
            if dumps(e[k]) != dumps(g.get(k, MISSING)):
                details.append("%s=%s field %s: expected %s, got %s" % (
                    entity, e.get(entity), k, dumps(e[k]), dumps(g.get(k, MISSING))))
        for k in g:
            if k not in e:
                details.append("%s=%s: unexpected field %s" % (entity, e.get(entity), k))
    exp_ids = {e.get(entity) for e in exp}
    for g in got:
        if g.get(entity) not in exp_ids:
            details.append("unexpected record %s=%s: %s" % (entity, g.get(entity), dumps(g)))
    return details


def check_envelopes(topic, recs, info, ids, names, schema):
    """per-record checks of tail output; returns the normalised values"""
    errs = []
    values = []
    key_part = {}
    for r in recs:
        where = "%s[%s]@%s" % (topic, r.get("partition"), r.get("offset"))
        if r.get("topic") != topic:
            errs.append("%s: topic %s" % (where, r.get("topic")))
        if not (is_int(r.get("partition")) and 0 <= r["partition"] < 8):
            errs.append("%s: partition %s not in 0..7" % (where, r.get("partition")))
        if not (is_int(r.get("offset")) and r["offset"] >= 0):
            errs.append("%s: offset %s" % (where, r.get("offset")))
        if not (isinstance(r.get("timestamp"), str) and TS_OUT.match(r["timestamp"])):
            errs.append("%s: record timestamp %s is not RFC 3339 UTC with millis" % (where, r.get("timestamp")))
        if "error" in r or "value_base64" in r or "value" not in r:
            errs.append("%s: not decoded: %s" % (where, r.get("error", "no value")))
            continue
        if r.get("schema_id") != info["id"]:
            errs.append("%s: schema_id %s, expected %d (highest id of %s)" % (
                where, r.get("schema_id"), info["id"], info["subject"]))
        v = r["value"]
        if not isinstance(v, dict):
            errs.append("%s: value is not an object" % where)
            continue
        kf = info["key_field"]
        if r.get("key") != v.get(kf):
            errs.append("%s: key %s, expected %s=%s" % (where, dumps(r.get("key")), kf, dumps(v.get(kf))))
        kp = key_part.setdefault(r.get("key"), r.get("partition"))
        if kp != r.get("partition"):
            errs.append("%s: key %s is in partitions %s and %s" % (where, r.get("key"), kp, r.get("partition")))
        ce = []
        canonical_errors(schema, v, names, "", ce)
        errs.extend("%s: %s" % (where, e) for e in ce)
        values.append(norm(schema, v, names))
    return values, errs


# ---------------------------------------------------------------- commands
def cmd_fixtures(fixdir, *topics):
    """the fixtures exercise every field of every input schema"""
    ts_int = ts_str = ts_offset = ts_frac = False
    for topic in topics:
        path = os.path.join(fixdir, topic + ".jsonl")
        info, schema, names, _ = topic_info(topic)
        try:
            recs = [r for _, r in read_jsonl(path)]
        except (OSError, ValueError) as e:
            FAIL("fixture %s: %s" % (path, e))
            continue
        details = []
        if not 2 <= len(recs) <= 3:
            details.append("%d records, expected 2-3" % len(recs))
        for f in schema["fields"]:
            name, ft = f["name"], resolve(f["type"], names)
            vals = [r.get(name, MISSING) for r in recs]
            present = [v for v in vals if v is not MISSING]
            if not present:
                details.append("field %s is never given" % name)
            if isinstance(ft, list) and "null" in ft:
                if not any(v is None or v is MISSING for v in vals):
                    details.append("nullable field %s is never null" % name)
                if not any(v is not None and v is not MISSING for v in vals):
                    details.append("nullable field %s is never set" % name)
                ft = resolve([b for b in ft if b != "null"][0], names)
            if "default" in f and MISSING not in vals and not (isinstance(ft, dict) and ft.get("type") == "enum"):
                pass  # omitted defaults are exercised once per file set (below)
            kind, lt = kind_of(ft)
            if kind == "enum" and len(recs) >= 2 and len(set(map(str, present))) < 2:
                details.append("enum field %s always %s" % (name, present[:1]))
            if lt == "timestamp-millis":
                for v in present:
                    if is_int(v):
                        ts_int = True
                    elif isinstance(v, str):
                        ts_str = True
                        ts_offset |= not v.endswith(("Z", "z"))
                        ts_frac |= "." in v
            if kind == "array" and topic == "delivery.engagement" and name == "rate_card":
                if not any(isinstance(v, list) and len(v) == 2 for v in present):
                    details.append("no rate_card with 2 rows")
                if not any(isinstance(v, list) and len(v) == 0 for v in present):
                    details.append("no empty rate_card")
        if details:
            FAIL("fixture %s covers its schema" % topic, details)
        else:
            PASS("fixture %s: %d records cover every field of %s" % (topic, len(recs), info["file"]))
    missing = [k for k, ok in (("integer millis", ts_int), ("RFC 3339", ts_str), ("UTC offset", ts_offset),
                               ("fractional seconds", ts_frac)) if not ok]
    if missing:
        FAIL("fixtures give timestamps in every input form", ["never: " + ", ".join(missing)])
    else:
        PASS("fixtures give timestamps as integer millis and RFC 3339 (Z, offsets, fractions)")
    defaults_omitted = []
    for topic in topics:
        _, schema, _, _ = topic_info(topic)
        recs = [r for _, r in read_jsonl(os.path.join(fixdir, topic + ".jsonl"))]
        for f in schema["fields"]:
            if "default" in f and any(f["name"] not in r for r in recs):
                defaults_omitted.append("%s.%s" % (topic, f["name"]))
    if defaults_omitted:
        PASS("fixtures omit fields with defaults: " + ", ".join(defaults_omitted))
    else:
        FAIL("fixtures omit at least one field with a default")


def cmd_roundtrip(topic, fixture, tailout):
    info, schema, names, ids = topic_info(topic)
    exp = [norm(schema, r, names) for _, r in read_jsonl(fixture)]
    recs, errs = read_tail(tailout, topic)
    got, e2 = check_envelopes(topic, recs, info, ids, names, schema)
    errs += e2
    if len(recs) != len(exp):
        FAIL("%s: tail printed %d records, fixture has %d" % (topic, len(recs), len(exp)))
    if errs:
        FAIL("%s: tail output is well formed (topic, key=%s, schema id %d, schema order, RFC 3339 UTC)"
             % (topic, info["key_field"], info["id"]), errs)
    else:
        PASS("%s: %d records keyed by %s, schema id %d, fields in schema order, RFC 3339 UTC millis"
             % (topic, len(recs), info["key_field"], info["id"]))
    if sorted(map(dumps, exp)) == sorted(map(dumps, got)):
        PASS("%s: decoded values equal the fixture field by field" % topic)
    else:
        FAIL("%s: decoded values equal the fixture field by field" % topic,
             diff_report(topic, info["entity_field"], exp, got))


def zz(buf, pos):
    shift = acc = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        acc |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return (acc >> 1) ^ -(acc & 1), pos
        if shift > 63:
            raise ValueError("varint too long")


def avro_decode(t, buf, pos, names):
    """A minimal, independent Avro binary decoder (spec 1.11) for the input schemas."""
    t = resolve(t, names)
    if isinstance(t, list):
        i, pos = zz(buf, pos)
        if not 0 <= i < len(t):
            raise ValueError("union branch %d" % i)
        return avro_decode(t[i], buf, pos, names)
    kind, lt = kind_of(t)
    if kind == "null":
        return None, pos
    if kind == "boolean":
        if buf[pos] not in (0, 1):
            raise ValueError("boolean byte %d" % buf[pos])
        return buf[pos] == 1, pos + 1
    if kind in ("int", "long"):
        v, pos = zz(buf, pos)
        return (day_str(v) if lt == "date" else v), pos
    if kind == "string":
        n, pos = zz(buf, pos)
        if n < 0 or pos + n > len(buf):
            raise ValueError("string length %d" % n)
        return buf[pos:pos + n].decode("utf-8"), pos + n
    if kind == "enum":
        i, pos = zz(buf, pos)
        return t["symbols"][i], pos
    if kind == "array":
        items = []
        while True:
            n, pos = zz(buf, pos)
            if n == 0:
                return items, pos
            if n < 0:
                n = -n
                _, pos = zz(buf, pos)
            for _ in range(n):
                x, pos = avro_decode(t["items"], buf, pos, names)
                items.append(x)
    if kind == "record":
        out = {}
        for f in t["fields"]:
            out[f["name"]], pos = avro_decode(f["type"], buf, pos, names)
        return out, pos
    raise ValueError("type %s not supported" % kind)


def parse_kcat(path):
    """records of kcat -f '%p:%o:%K:%k%S:%s' (lengths make it binary safe)"""
    data = open(path, "rb").read()
    pos, out = 0, []

    def num():
        nonlocal pos
        j = data.index(b":", pos)
        v = int(data[pos:j])
        pos = j + 1
        return v

    while pos < len(data):
        p, o, kl = num(), num(), num()
        key = None if kl < 0 else data[pos:pos + kl].decode("utf-8")
        pos += max(kl, 0)
        vl = num()
        out.append((p, o, key, data[pos:pos + vl]))
        pos += vl
    return out


def cmd_kcat(topic, kcatout, tailout, fixture):
    info, schema, names, ids = topic_info(topic)
    try:
        krecs = parse_kcat(kcatout)
    except (ValueError, UnicodeDecodeError) as e:
        FAIL("kcat %s output parses" % topic, [str(e)])
        return
    trecs, _ = read_tail(tailout, topic)
    kset = sorted((p, o, k) for p, o, k, _ in krecs)
    tset = sorted((r.get("partition"), r.get("offset"), r.get("key")) for r in trecs)
    if len(krecs) == len(trecs) and kset == tset:
        PASS("kcat reads the same %d records of %s (partition, offset, key) as opsledger tail"
             % (len(krecs), topic))
    else:
        FAIL("kcat reads the same records of %s as opsledger tail" % topic,
             ["kcat: %s" % kset, "tail: %s" % tset])
    errs, decoded = [], []
    for p, o, k, v in krecs:
        where = "%s[%d]@%d" % (topic, p, o)
        if len(v) < 5 or v[0] != 0:
            errs.append("%s: value does not start with magic byte 0x00: %s" % (where, v[:8].hex()))
            continue
        sid = int.from_bytes(v[1:5], "big")
        if sid != info["id"]:
            errs.append("%s: schema id %d, expected %d" % (where, sid, info["id"]))
            continue
        try:
            rec, end = avro_decode(schema, v, 5, names)
        except (ValueError, IndexError, KeyError, UnicodeDecodeError) as e:
            errs.append("%s: Avro body does not decode: %s (%s)" % (where, e, v.hex()))
            continue
        if end != len(v):
            errs.append("%s: %d trailing bytes after the Avro record" % (where, len(v) - end))
        if rec.get(info["key_field"]) != k:
            errs.append("%s: key %s but %s=%s" % (where, k, info["key_field"], rec.get(info["key_field"])))
        decoded.append(rec)
    if errs:
        FAIL("%s on the wire: 0x00, big-endian schema id %d, plain Avro binary body" % (topic, info["id"]), errs)
    else:
        PASS("%s on the wire: every value is 0x00 + schema id %d (big-endian) + an Avro body that an "
             "independent decoder reads with no trailing bytes" % (topic, info["id"]))
    exp = [norm(schema, r, names) for _, r in read_jsonl(fixture)]
    got = [norm(schema, r, names) for r in decoded]
    if sorted(map(dumps, exp)) == sorted(map(dumps, got)):
        PASS("%s: the raw Avro bytes decode to the fixture values" % topic)
    else:
        FAIL("%s: the raw Avro bytes decode to the fixture values" % topic,
             diff_report(topic, info["entity_field"], exp, got))


def cmd_newrecords(topic, before, after, linesfile, good_lines):
    """after = before + exactly the good lines of linesfile, none of the others"""
    info, schema, names, ids = topic_info(topic)
    old, _ = read_tail(before, topic)
    now, errs = read_tail(after, topic)
    good = {int(x) for x in good_lines.split(",") if x}
    lines = open(linesfile, encoding="utf-8").read().split("\n")
    exp, bad_ids = [], set()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            j = json.loads(line)
        except ValueError:
            j = None
        if n in good:
            exp.append(norm(schema, j, names))
        elif isinstance(j, dict):
            bad_ids.add(("event_id", j.get("event_id")))
            bad_ids.add((info["entity_field"], j.get(info["entity_field"])))
    old_pos = {(r.get("partition"), r.get("offset")): dumps(r) for r in old}
    new = [r for r in now if (r.get("partition"), r.get("offset")) not in old_pos]
    kept = sum(1 for r in now if old_pos.get((r.get("partition"), r.get("offset"))) == dumps(r))
    if kept != len(old):
        FAIL("%s: the %d earlier records are still there unchanged (found %d)" % (topic, len(old), kept))
    got, e2 = check_envelopes(topic, new, info, ids, names, schema)
    errs += e2
    if len(new) == len(exp):
        PASS("%s: tail shows exactly %d new records (%d in all)" % (topic, len(new), len(now)))
    else:
        FAIL("%s: tail shows exactly %d new records" % (topic, len(exp)),
             ["got %d new: %s" % (len(new), [r.get("value", {}).get(info["entity_field"]) for r in new])])
    leaked = [r for r in new if isinstance(r.get("value"), dict) and any(
        (f, r["value"].get(f)) in bad_ids for f in ("event_id", info["entity_field"]))]
    if leaked:
        FAIL("%s: no rejected line reached Kafka" % topic, [dumps(r) for r in leaked])
    else:
        PASS("%s: no rejected line's event_id or %s reached Kafka" % (topic, info["entity_field"]))
    if errs:
        FAIL("%s: new records are well formed" % topic, errs)
    if sorted(map(dumps, exp)) == sorted(map(dumps, got)):
        PASS("%s: the new records are the accepted lines %s, field by field" % (topic, sorted(good)))
    else:
        FAIL("%s: the new records are the accepted lines %s" % (topic, sorted(good)),
             diff_report(topic, info["entity_field"], exp, got))


def cmd_inputs():
    seen = []
    for r in manifest():
        if 1 <= r["id"] <= 99:
            t = r["subject"][:-len("-value")]
            if t not in seen:
                seen.append(t)
    print(" ".join(seen))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"fixtures": cmd_fixtures, "roundtrip": cmd_roundtrip, "kcat": cmd_kcat,
     "newrecords": cmd_newrecords, "inputs": cmd_inputs}[cmd](*args)
    sys.exit(1 if failed else 0)
PY

# run_check CMD ARGS...: run the checker, turning its PASS/FAIL lines into
# the counters of lib.sh; a crash of the checker itself is a failure too.
run_check() {
    local out=$T/check.$1.out rc nfail=0 line
    bounded python3 "$CHECK" "$@" >"$out" 2>&1
    rc=$?
    while IFS= read -r line; do
        case $line in
        "PASS "*) pass "${line#PASS }" ;;
        "FAIL "*)
            fail "${line#FAIL }"
            nfail=$((nfail + 1))
            ;;
        *) printf '       %s\n' "$line" ;;
        esac
    done <"$out"
    if [ "$rc" -ne 0 ] && [ "$nfail" -eq 0 ]; then
        fail "checker '$1' ran (exit status $rc)"
    fi
    return 0
}

# expect_status WHAT WANT GOT [STDERR_FILE]
expect_status() {
    if [ "$3" -eq "$2" ]; then
        pass "$1: exit status $2"
    else
        if [ "$3" -eq 124 ]; then
            fail "$1: exit status $2 (timed out after ${E2E_CMD_TIMEOUT}s)"
        else
            fail "$1: exit status $2 (got $3)"
        fi
        [ $# -ge 4 ] && dump "$4" "stderr"
    fi
}

# expect_line WHAT FILE LINE: FILE has LINE as a whole line
expect_line() {
    if grep -Fxq -- "$3" "$2"; then
        pass "$1: '$3'"
    else
        fail "$1: expected the line '$3'"
        dump "$2" "$(basename "$2")"
    fi
}

# expect_match WHAT FILE ERE: some line of FILE matches ERE
expect_match() {
    if grep -Eq -- "$3" "$2"; then
        pass "$1: $(grep -E -m1 -- "$3" "$2")"
    else
        fail "$1: expected a line matching /$3/"
        dump "$2" "$(basename "$2")"
    fi
}

# tail_topic TOPIC OUT: opsledger tail TOPIC --from-beginning, checked to exit 0
tail_topic() {
    local rc
    run_ol "$2" "$2.err" tail "$1" --from-beginning
    rc=$?
    expect_status "tail $1 --from-beginning" 0 "$rc" "$2.err"
}

# ------------------------------------------------------------ 1. fixtures
# topic names split on blanks on purpose (they hold no blanks or globs)
# shellcheck disable=SC2086
INPUTS=$(python3 "$CHECK" inputs) || INPUTS=
# shellcheck disable=SC2086
set -- $INPUTS
if [ $# -eq 10 ]; then
    pass "manifest lists 10 input topics: $INPUTS"
else
    fail "manifest lists 10 input topics (got $#: $INPUTS)"
fi
# shellcheck disable=SC2086
run_check fixtures "$FIXTURES" $INPUTS

# ------------------------------------------------------------ 2. roundtrip
if ! start_broker; then
    e2e_finish
    exit 1
fi

for topic in $INPUTS; do
    fx=$FIXTURES/$topic.jsonl
    if [ ! -f "$fx" ]; then
        fail "fixture $fx exists"
        continue
    fi
    n=$(grep -c '[^[:space:]]' "$fx")
    run_ol "$T/$topic.produce.out" "$T/$topic.produce.err" produce "$topic" --file "$fx"
    expect_status "produce $topic --file $(basename "$fx")" 0 $? "$T/$topic.produce.err"
    expect_line "produce $topic summary" "$T/$topic.produce.err" \
        "produced $n records to $topic ($n acknowledged), rejected 0 lines"
    if grep -q '^line ' "$T/$topic.produce.err"; then
        fail "produce $topic rejects no fixture line"
        dump "$T/$topic.produce.err" "stderr"
    fi
    tail_topic "$topic" "$T/$topic.tail"
    run_check roundtrip "$topic" "$fx" "$T/$topic.tail"
done

# tail of a topic nobody wrote to ends at once with nothing; --count stops early
tail_topic ops.deadletter "$T/deadletter.tail"
if [ ! -s "$T/deadletter.tail" ]; then
    pass "tail of the empty ops.deadletter prints nothing"
else
    fail "tail of the empty ops.deadletter prints nothing"
    dump "$T/deadletter.tail"
fi
run_ol "$T/count.tail" "$T/count.tail.err" tail hr.person --from-beginning --count 1
expect_status "tail hr.person --from-beginning --count 1" 0 $? "$T/count.tail.err"
if [ "$(grep -c . "$T/count.tail")" -eq 1 ]; then
    pass "tail --count 1 prints exactly 1 record"
else
    fail "tail --count 1 prints exactly 1 record (got $(grep -c . "$T/count.tail"))"
fi

# ------------------------------------------------------------ 3. kcat
KT=timesheet.entry
bounded kcat -b "$OPSLEDGER_BROKERS" -C -t "$KT" -o beginning -e -q \
    -f '%p:%o:%K:%k%S:%s' >"$T/kcat.bin" 2>"$T/kcat.err"
expect_status "kcat -C -t $KT -o beginning -e" 0 $? "$T/kcat.err"
bounded kcat -b "$OPSLEDGER_BROKERS" -C -t "$KT" -o beginning -e -q -c 1 -f '%s' \
    >"$T/kcat.one" 2>"$T/kcat.one.err"
magic=$(head -c 1 "$T/kcat.one" | od -An -tx1 | tr -d ' \n')
if [ "$magic" = "00" ]; then
    pass "kcat: first value byte of $KT is 0x00"
else
    fail "kcat: first value byte of $KT is 0x00 (got '$magic')"
fi
run_check kcat "$KT" "$T/kcat.bin" "$T/$KT.tail" "$FIXTURES/$KT.jsonl"

# ------------------------------------------------------------ 4. bad input
# 4a. a wrong type on line 2 of 3: exit 1, the reason, the 2 good lines sent
cat >"$T/bad-type.jsonl" <<'EOF'
{"event_id":"15814962-9414-4aec-909a-54327905326d","occurred_at":"2026-11-11T17:45:00Z","source":"harvest","revision":1,"entry_id":"t-2001","person_id":"p-23","engagement_id":"e-3","activity":"DELIVERY","work_date":"2026-11-11","minutes":420,"status":"SUBMITTED"}
{"event_id":"c310b136-0705-4c81-ad21-ed675ec78218","occurred_at":"2026-11-11T17:46:00Z","source":"harvest","revision":1,"entry_id":"t-2002","person_id":"p-23","engagement_id":"e-3","activity":"DELIVERY","work_date":"2026-11-12","minutes":"ten","status":"SUBMITTED"}
{"event_id":"9b0e6a51-2f6c-4d8e-a7c4-31d5e2f8b903","occurred_at":1794418200000,"source":"harvest","revision":1,"entry_id":"t-2003","person_id":"p-17","engagement_id":null,"activity":"SALES_SUPPORT","work_date":"2026-11-11","minutes":30,"status":"DELETED"}
EOF
run_ol "$T/bad-type.out" "$T/bad-type.err" produce "$KT" --file "$T/bad-type.jsonl"
expect_status "produce with \"minutes\": \"ten\" on line 2" 1 $? "$T/bad-type.err"
expect_line "reason of line 2" "$T/bad-type.err" 'line 2: field "minutes": expected int, got "ten"'
if [ "$(grep -c '^line ' "$T/bad-type.err")" -eq 1 ]; then
    pass "only line 2 is rejected"
else
    fail "only line 2 is rejected"
    dump "$T/bad-type.err" "stderr"
fi
expect_line "summary" "$T/bad-type.err" "produced 2 records to $KT (2 acknowledged), rejected 1 lines"
tail_topic "$KT" "$T/$KT.tail2"
run_check newrecords "$KT" "$T/$KT.tail" "$T/$KT.tail2" "$T/bad-type.jsonl" 1,3

# 4b. read from stdin: an unknown enum symbol, minutes above 1440, a missing
# field, an unknown field, negative minutes, a date after 2100, broken JSON,
# a JSON array; a blank line still counts in the line numbers
G='"source":"harvest","revision":1,"person_id":"p-17","engagement_id":"e-3","work_date":"2026-11-12"'
cat >"$T/bad-rules.jsonl" <<EOF
{"event_id":"3f2a1c4e-5b6d-4e7f-8a9b-0c1d2e3f4a51",$G,"occurred_at":"2026-11-12T18:00:00Z","entry_id":"t-3001","activity":"BENCH","minutes":60,"status":"SUBMITTED"}
{"event_id":"3f2a1c4e-5b6d-4e7f-8a9b-0c1d2e3f4a52",$G,"occurred_at":"2026-11-12T18:00:00Z","entry_id":"t-3002","activity":"NAPPING","minutes":60,"status":"SUBMITTED"}

{"event_id":"3f2a1c4e-5b6d-4e7f-8a9b-0c1d2e3f4a54",$G,"occurred_at":"2026-11-12T18:00:00Z","entry_id":"t-3004","activity":"DELIVERY","minutes":2000,"status":"SUBMITTED"}
{"event_id":"3f2a1c4e-5b6d-4e7f-8a9b-0c1d2e3f4a55",$G,"occurred_at":"2026-11-12T18:00:00Z","entry_id":"t-3005","activity":"DELIVERY","minutes":1440,"status":"APPROVED"}
{"event_id":"3f2a1c4e-5b6d-4e7f-8a9b-0c1d2e3f4a56",$G,"occurred_at":"2026-11-12T18:00:00Z","entry_id":"t-3006","activity":"DELIVERY","minutes":60}
{"event_id":"3f2a1c4e-5b6d-4e7f-8a9b-0c1d2e3f4a57",$G,"occurred_at":"2026-11-12T18:00:00Z","entry_id":"t-3007","activity":"DELIVERY","minutes":60,"status":"SUBMITTED","comment":"late"}
{"event_id":"3f2a1c4e-5b6d-4e7f-8a9b-0c1d2e3f4a58",$G,"occurred_at":"2026-11-12T18:00:00Z","entry_id":"t-3008","activity":"DELIVERY","minutes":-5,"status":"SUBMITTED"}
{"event_id":"3f2a1c4e-5b6d-4e7f-8a9b-0c1d2e3f4a59","source":"harvest","revision":1,"person_id":"p-17","engagement_id":"e-3","work_date":"2101-01-01","occurred_at":"2026-11-12T18:00:00Z","entry_id":"t-3009","activity":"DELIVERY","minutes":60,"status":"SUBMITTED"}
{"event_id":"3f2a1c4e-5b6d-4e7f-8a9b-0c1d2e3f4a5a",$G,"occurred_at":
["t-3011"]
EOF
bounded "$OPSLEDGER" produce "$KT" <"$T/bad-rules.jsonl" >"$T/bad-rules.out" 2>"$T/bad-rules.err"
expect_status "produce from stdin with 8 bad lines" 1 $? "$T/bad-rules.err"
expect_match "unknown enum symbol, line 2" "$T/bad-rules.err" '^line 2: field "activity": .*NAPPING'
expect_match "minutes 2000, line 4" "$T/bad-rules.err" '^line 4: field "minutes": .*2000'
expect_match "missing field, line 6" "$T/bad-rules.err" '^line 6: field "status"'
expect_match "unknown field, line 7" "$T/bad-rules.err" '^line 7: field "comment"'
expect_match "negative minutes, line 8" "$T/bad-rules.err" '^line 8: field "minutes": .*-5'
expect_match "date after 2100, line 9" "$T/bad-rules.err" '^line 9: field "work_date": .*2101-01-01'
expect_match "broken JSON, line 10" "$T/bad-rules.err" '^line 10: '
expect_match "not an object, line 11" "$T/bad-rules.err" '^line 11: '
got_lines=$(sed -n 's/^line \([0-9]*\): .*/\1/p' "$T/bad-rules.err" | tr '\n' ' ')
if [ "$got_lines" = "2 4 6 7 8 9 10 11 " ]; then
    pass "exactly lines 2 4 6 7 8 9 10 11 are rejected, in order"
else
    fail "exactly lines 2 4 6 7 8 9 10 11 are rejected, in order (got: $got_lines)"
fi
expect_line "summary" "$T/bad-rules.err" "produced 2 records to $KT (2 acknowledged), rejected 8 lines"
tail_topic "$KT" "$T/$KT.tail3"
run_check newrecords "$KT" "$T/$KT.tail2" "$T/$KT.tail3" "$T/bad-rules.jsonl" 1,5

# ------------------------------------------------------------ 5. shutdown
stop_broker
assert_no_leftovers

echo "e2e roundtrip: runtime $(($(date +%s) - START))s"
e2e_finish
exit $?
