#!/usr/bin/env node
// Test-only: plays an upstream system and a downstream consumer that use
// Confluent's official Node client (@kafkajs/confluent-schema-registry) and
// kafkajs, so that opsledger's registry support is checked against what
// real Confluent serialisers write and read, not only against our double.
//
//   client.js produce --registry URL [--user U:P] --brokers B --topic T --schema FILE --key FIELD
//             --in FILE.jsonl [--subject S] [--extra JSON]
//       registers FILE under S (default <topic>-value) through the client,
//       encodes every JSON line (the opsledger JSON-lines form) with the id
//       the registry returned and produces it keyed by FIELD; prints the id.
//   client.js consume --registry URL [--user U:P] --brokers B --topic T --count N --schema FILE --out F
//     (reads the topic to its end as it stands at start; N: the keys expected at least)
//       reads every record from the beginning, decodes each with the client's
//       decode() (the id in the frame) and writes {"key","id","value"} lines,
//       values in opsledger's JSON-lines form (dates, instants as text).
'use strict';
const fs = require('fs');
const path = require('path');
const { SchemaRegistry, SchemaType } = require('@kafkajs/confluent-schema-registry');
const { Kafka, logLevel, Partitioners } = require('kafkajs');

function args() {
  const a = { cmd: process.argv[2] };
  for (let i = 3; i < process.argv.length; i += 2) a[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
  return a;
}

function registry(a) {
  const opts = { host: a.registry, retry: { retries: 2 } };
  if (a.user) {
    const i = a.user.indexOf(':');
    opts.auth = { username: a.user.slice(0, i), password: a.user.slice(i + 1) };
  }
  return new SchemaRegistry(opts);
}

// named types of a schema, for references by name
function named(node, out) {
  if (Array.isArray(node)) node.forEach((b) => named(b, out));
  else if (node && typeof node === 'object') {
    if (['record', 'enum', 'fixed'].includes(node.type)) out[node.name.split('.').pop()] = node;
    if (node.fields) node.fields.forEach((f) => named(f.type, out));
    if (node.items) named(node.items, out);
    if (node.values) named(node.values, out);
    if (node.type && typeof node.type === 'object') named(node.type, out);
  }
  return out;
}

const DAY = 86400000;
// opsledger JSON form <-> the values avsc encodes (logical types as numbers)
function convert(node, v, names, toAvro) {
  if (v === null || v === undefined) return v;
  if (typeof node === 'string') {
    if (names[node.split('.').pop()]) return convert(names[node.split('.').pop()], v, names, toAvro);
    return v;
  }
  if (Array.isArray(node)) {
    const nonNull = node.filter((b) => b !== 'null');
    return nonNull.length === 1 ? convert(nonNull[0], v, names, toAvro) : v;
  }
  if (node.logicalType === 'date')
    return toAvro ? Math.round(Date.parse(v + 'T00:00:00Z') / DAY) : new Date(v * DAY).toISOString().slice(0, 10);
  if (node.logicalType === 'timestamp-millis')
    return toAvro ? (typeof v === 'number' ? v : Date.parse(v)) : new Date(Number(v)).toISOString();
  if (node.type === 'record') {
    const o = {};
    for (const f of node.fields) {
      const x = v[f.name];
      o[f.name] = x === undefined ? (toAvro && 'default' in f ? f.default : x) : convert(f.type, x, names, toAvro);
    }
    return o;
  }
  if (node.type === 'array') return v.map((x) => convert(node.items, x, names, toAvro));
  if (node.type === 'map') {
    const o = {};
    for (const k of Object.keys(v)) o[k] = convert(node.values, v[k], names, toAvro);
    return o;
  }
  if (typeof node.type === 'object' || (typeof node.type === 'string' && !node.logicalType)) {
    if (['record', 'enum', 'fixed', 'array', 'map'].includes(node.type)) return v;
    return convert(node.type, v, names, toAvro);
  }
  return v;
}

function kafka(a) {
  return new Kafka({ brokers: a.brokers.split(','), clientId: 'registry-test', logLevel: logLevel.ERROR });
}

async function produce(a) {
  const reg = registry(a);
  const text = fs.readFileSync(a.schema, 'utf8');
  const schema = JSON.parse(text);
  const names = named(schema, {});
  const subject = a.subject || a.topic + '-value';
  const { id } = await reg.register({ type: SchemaType.AVRO, schema: text }, { subject });
  const extra = a.extra ? JSON.parse(a.extra) : {};
  const messages = [];
  for (const line of fs.readFileSync(a.in, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const rec = Object.assign(JSON.parse(line), extra);
    const value = await reg.encode(id, convert(schema, rec, names, true));
    messages.push({ key: String(rec[a.key]), value, timestamp: String(convert({ logicalType: 'timestamp-millis' }, rec.occurred_at, names, true)) });
  }
  const p = kafka(a).producer({ createPartitioner: Partitioners.LegacyPartitioner });
  await p.connect();
  for (let i = 0; i < messages.length; i += 500)
    await p.send({ topic: a.topic, acks: -1, messages: messages.slice(i, i + 500) });
  await p.disconnect();
  console.log(id);
}

async function consume(a) {
  const reg = registry(a);
  const schema = JSON.parse(fs.readFileSync(a.schema, 'utf8'));
  const names = named(schema, {});
  const want = Number(a.count);
  // the end of the topic now: every partition is read up to its high
  // watermark (a derived topic holds several revisions of a key, so a count
  // of messages would stop before the latest ones)
  const admin = kafka(a).admin();
  await admin.connect();
  const ends = new Map();
  for (const p of await admin.fetchTopicOffsets(a.topic))
    if (Number(p.high) > Number(p.low)) ends.set(p.partition, Number(p.high));
  await admin.disconnect();
  const c = kafka(a).consumer({ groupId: 'registry-test-' + process.pid + '-' + Date.now() });
  const out = [];
  const keys = new Set();
  await c.connect();
  await c.subscribe({ topic: a.topic, fromBeginning: true });
  let failed = null;
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, Number(a.timeout || 60000));
    if (ends.size === 0) {
      clearTimeout(timer);
      resolve();
      return;
    }
    c.run({
      eachMessage: async ({ partition, message }) => {
        try {
          const id = message.value.readInt32BE(1);
          const v = await reg.decode(message.value);
          keys.add(message.key.toString());
          out.push(JSON.stringify({ key: message.key.toString(), id, value: convert(schema, v, names, false) }));
        } catch (e) {
          failed = e;
        }
        if (ends.has(partition) && Number(message.offset) + 1 >= ends.get(partition))
          ends.delete(partition);
        if (ends.size === 0 || failed) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await c.disconnect();
  if (failed) throw failed;
  fs.writeFileSync(a.out, out.join('\n') + (out.length ? '\n' : ''));
  if (keys.size < want) throw new Error(`read ${keys.size} of ${want} keys of ${a.topic}`);
}

const a = args();
const run = { produce, consume }[a.cmd];
if (!run) {
  console.error('usage: client.js produce|consume ... (see the top of ' + path.basename(__filename) + ')');
  process.exit(2);
}
run(a).then(() => process.exit(0), (e) => {
  console.error('client.js ' + a.cmd + ': ' + (e && e.stack ? e.stack : e));
  process.exit(1);
});
