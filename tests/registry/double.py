#!/usr/bin/env python3
"""A Confluent-compatible Schema Registry double, for the tests only.

Why: no real registry can be installed on the test machine, and opsledger's
registry client (common/ol_registry*.c) must be exercised against the API as
Confluent documents it. The official Node client
(@kafkajs/confluent-schema-registry, tests/registry/client.js) drives this
double too, which keeps it honest.

Loopback only, Python 3 standard library only. Implements:
  GET  /schemas/ids/{id}                               40403 when unknown
  GET  /subjects, GET /subjects/{s}/versions           40401
  GET  /subjects/{s}/versions/{n|latest}               40401, 40402
  POST /subjects/{s}                (look up)          40401, 40403, 42201
  POST /subjects/{s}/versions       (register)         409 incompatible, 42201
  POST /compatibility/subjects/{s}/versions/latest     40401, 42201
  PUT  /config/{s}, PUT /config                        {"compatibility": "BACKWARD"|"NONE"|...}
Ids are global (one schema text, one id, whatever the subject) and start at
--first-id. --user USER:PASS demands basic auth (401, error_code 40101
otherwise). --tls-cert/--tls-key serve HTTPS.
Test switches, never behind auth:
  POST /_double/fail {"count": N[, "path": P]}  the next N API requests (whose
                                   path starts with P) answer 500 (50001)
  GET  /_double/stats              {"requests": N} API requests served so far
The port is written to --port-file once listening.
"""
import argparse
import base64
import json
import re
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CT = "application/vnd.schemaregistry.v1+json"
PRIMS = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
PROMOTE = {("long", "int"), ("float", "int"), ("float", "long"), ("double", "int"), ("double", "long"),
           ("double", "float"), ("string", "bytes"), ("bytes", "string")}


class SchemaError(Exception):
    pass


def short(name):
    return name.rsplit(".", 1)[-1]


def collect(node, named):
    """Registers every named type of a schema by short name; validates shape."""
    if isinstance(node, str):
        if node not in PRIMS and short(node) not in named:
            raise SchemaError("unknown type %s" % node)
        return
    if isinstance(node, list):
        if not node:
            raise SchemaError("empty union")
        for b in node:
            collect(b, named)
        return
    if not isinstance(node, dict) or "type" not in node:
        raise SchemaError("a schema must be a name, a union or an object with \"type\"")
    t = node["type"]
    if t in ("record", "error", "enum", "fixed"):
        if not isinstance(node.get("name"), str):
            raise SchemaError("%s without a name" % t)
        named[short(node["name"])] = node
    if t in ("record", "error"):
        if not isinstance(node.get("fields"), list):
            raise SchemaError("record %s without fields" % node["name"])
        for f in node["fields"]:
            if not isinstance(f, dict) or "name" not in f or "type" not in f:
                raise SchemaError("a field of %s has no name or type" % node["name"])
            collect(f["type"], named)
    elif t == "enum":
        if not isinstance(node.get("symbols"), list):
            raise SchemaError("enum %s without symbols" % node["name"])
    elif t == "array":
        collect(node.get("items"), named)
    elif t == "map":
        collect(node.get("values"), named)
    elif t == "fixed":
        if not isinstance(node.get("size"), int):
            raise SchemaError("fixed %s without a size" % node["name"])
    elif t not in PRIMS:
        collect(t, named)


def parse(text):
    try:
        node = json.loads(text)
    except (TypeError, ValueError) as e:
        raise SchemaError("not JSON: %s" % e)
    named = {}
    collect(node, named)
    return node, named


def kind(node, named):
    """(type name, node) with references and {"type": prim} unwrapped."""
    if isinstance(node, list):
        return "union", node
    if isinstance(node, str):
        if node in PRIMS:
            return node, node
        return kind(named[short(node)], named)
    t = node["type"]
    if isinstance(t, (dict, list)) or (isinstance(t, str) and t not in PRIMS and t not in
                                       ("record", "error", "enum", "array", "map", "fixed")):
        return kind(t, named)
    return t, node


def can_read(r, w, rn, wn, seen=None):
    """Avro schema resolution: can a reader r read what writer w wrote?"""
    seen = seen if seen is not None else set()
    rt, r = kind(r, rn)
    wt, w = kind(w, wn)
    if wt == "union":
        return all(can_read(r, b, rn, wn, seen) for b in w)
    if rt == "union":
        return any(can_read(b, w, rn, wn, seen) for b in r)
    if rt != wt:
        return (rt, wt) in PROMOTE
    if rt in PRIMS:
        return True
    if rt in ("record", "error"):
        if short(r["name"]) != short(w["name"]):
            return False
        key = (id(r), id(w))
        if key in seen:
            return True
        seen.add(key)
        wf = {f["name"]: f for f in w["fields"]}
        for f in r["fields"]:
            names = [f["name"]] + list(f.get("aliases", []))
            match = next((wf[n] for n in names if n in wf), None)
            if match is None:
                if "default" not in f:
                    return False
            elif not can_read(f["type"], match["type"], rn, wn, seen):
                return False
        return True
    if rt == "enum":
        return short(r["name"]) == short(w["name"]) and (
            "default" in r or set(w["symbols"]) <= set(r["symbols"]))
    if rt == "array":
        return can_read(r["items"], w["items"], rn, wn, seen)
    if rt == "map":
        return can_read(r["values"], w["values"], rn, wn, seen)
    if rt == "fixed":
        return short(r["name"]) == short(w["name"]) and r["size"] == w["size"]
    return False


def compatible(level, new, old):
    """new and old are (node, named); per Confluent's levels (latest only)."""
    level = level.replace("_TRANSITIVE", "")
    if level == "NONE":
        return True
    back = can_read(new[0], old[0], new[1], old[1])
    fwd = can_read(old[0], new[0], old[1], new[1])
    return {"BACKWARD": back, "FORWARD": fwd, "FULL": back and fwd}.get(level, back)


class Registry:
    def __init__(self, first_id):
        self.lock = threading.Lock()
        self.next_id = first_id
        self.by_id = {}       # id -> schema text
        self.ids = {}         # canonical JSON -> id
        self.subjects = {}    # subject -> [id of version 1, 2, ...]
        self.config = {}      # subject -> level; "" -> global
        self.fail = 0
        self.fail_path = ""
        self.requests = 0


def canon(node):
    return json.dumps(node, sort_keys=True, separators=(",", ":"))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("registry-double: " + fmt % args + "\n")

    def send(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", CT)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def err(self, http, code, msg):
        self.send(http, {"error_code": code, "message": msg})

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return None

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_PUT(self):
        self.route("PUT")

    def do_DELETE(self):
        self.route("DELETE")

    def route(self, method):
        reg = self.server.reg
        path = self.path.split("?", 1)[0]
        if path.startswith("/_double/"):
            body = self.body() if method in ("POST", "PUT") else {}
            with reg.lock:
                if path == "/_double/fail":
                    reg.fail = int((body or {}).get("count", 0))
                    reg.fail_path = (body or {}).get("path", "")
                    return self.send(200, {"fail": reg.fail})
                if path == "/_double/stats":
                    return self.send(200, {"requests": reg.requests})
            return self.err(404, 404, "no such switch")
        body = self.body() if method in ("POST", "PUT") else {}
        with reg.lock:
            reg.requests += 1
            if self.server.user:
                want = "Basic " + base64.b64encode(self.server.user.encode()).decode()
                if self.headers.get("Authorization") != want:
                    return self.err(401, 40101, "Unauthorized")
            if reg.fail > 0 and path.startswith(reg.fail_path):
                reg.fail -= 1
                return self.err(500, 50001, "Error in the backend data store")
            if body is None:
                return self.err(422, 42201, "Invalid request body: not JSON")
            return self.api(method, path, body, reg)

    def schema_arg(self, body):
        text = body.get("schema")
        if body.get("schemaType", "AVRO") != "AVRO":
            raise SchemaError("only AVRO schemas are served by this double")
        if not isinstance(text, str):
            raise SchemaError("no \"schema\" string in the request")
        return text, parse(text)

    def api(self, method, path, body, reg):
        from urllib.parse import unquote
        m = re.fullmatch(r"/schemas/ids/(\d+)", path)
        if m and method == "GET":
            sid = int(m.group(1))
            if sid not in reg.by_id:
                return self.err(404, 40403, "Schema %d not found" % sid)
            return self.send(200, {"schema": reg.by_id[sid]})
        if path == "/subjects" and method == "GET":
            return self.send(200, sorted(reg.subjects))
        if path == "/config" and method == "PUT":
            reg.config[""] = body.get("compatibility", "BACKWARD")
            return self.send(200, {"compatibility": reg.config[""]})
        m = re.fullmatch(r"/config/([^/]+)", path)
        if m and method == "PUT":
            reg.config[unquote(m.group(1))] = body.get("compatibility", "BACKWARD")
            return self.send(200, {"compatibility": body.get("compatibility")})
        m = re.fullmatch(r"/compatibility/subjects/([^/]+)/versions/(latest|\d+)", path)
        if m and method == "POST":
            subject = unquote(m.group(1))
            if subject not in reg.subjects:
                return self.err(404, 40401, "Subject '%s' not found." % subject)
            versions = reg.subjects[subject]
            n = len(versions) if m.group(2) == "latest" else int(m.group(2))
            if n < 1 or n > len(versions):
                return self.err(404, 40402, "Version %s not found." % m.group(2))
            try:
                _, new = self.schema_arg(body)
            except SchemaError as e:
                return self.err(422, 42201, "Invalid schema: %s" % e)
            old = parse(reg.by_id[versions[n - 1]])
            level = reg.config.get(subject, reg.config.get("", "BACKWARD"))
            return self.send(200, {"is_compatible": compatible(level, new, old)})
        m = re.fullmatch(r"/subjects/([^/]+)/versions", path)
        if m and method == "GET":
            subject = unquote(m.group(1))
            if subject not in reg.subjects:
                return self.err(404, 40401, "Subject '%s' not found." % subject)
            return self.send(200, list(range(1, len(reg.subjects[subject]) + 1)))
        if m and method == "POST":
            subject = unquote(m.group(1))
            try:
                text, new = self.schema_arg(body)
            except SchemaError as e:
                return self.err(422, 42201, "Invalid schema: %s" % e)
            key = canon(new[0])
            versions = reg.subjects.setdefault(subject, [])
            sid = reg.ids.get(key)
            if sid in versions:
                return self.send(200, {"id": sid})
            if versions:
                level = reg.config.get(subject, reg.config.get("", "BACKWARD"))
                if not compatible(level, new, parse(reg.by_id[versions[-1]])):
                    return self.err(409, 409, "Schema being registered is incompatible with an earlier schema "
                                    "for subject \"%s\"" % subject)
            if sid is None:
                sid = reg.next_id
                reg.next_id += 1
                reg.ids[key] = sid
                reg.by_id[sid] = text
            versions.append(sid)
            return self.send(200, {"id": sid})
        m = re.fullmatch(r"/subjects/([^/]+)/versions/(latest|\d+)", path)
        if m and method == "GET":
            subject = unquote(m.group(1))
            if subject not in reg.subjects or not reg.subjects[subject]:
                return self.err(404, 40401, "Subject '%s' not found." % subject)
            versions = reg.subjects[subject]
            n = len(versions) if m.group(2) == "latest" else int(m.group(2))
            if n < 1 or n > len(versions):
                return self.err(404, 40402, "Version %s not found." % m.group(2))
            sid = versions[n - 1]
            return self.send(200, {"subject": subject, "version": n, "id": sid, "schema": reg.by_id[sid]})
        m = re.fullmatch(r"/subjects/([^/]+)", path)
        if m and method == "POST":
            subject = unquote(m.group(1))
            if subject not in reg.subjects:
                return self.err(404, 40401, "Subject '%s' not found." % subject)
            try:
                text, new = self.schema_arg(body)
            except SchemaError as e:
                return self.err(422, 42201, "Invalid schema: %s" % e)
            sid = reg.ids.get(canon(new[0]))
            versions = reg.subjects[subject]
            if sid not in versions:
                return self.err(404, 40403, "Schema not found")
            return self.send(200, {"subject": subject, "version": versions.index(sid) + 1, "id": sid,
                                   "schema": reg.by_id[sid]})
        return self.err(404, 404, "HTTP 404 Not Found")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--first-id", type=int, default=100001)
    ap.add_argument("--user", help="USER:PASS required by basic auth")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.reg = Registry(a.first_id)
    srv.user = a.user
    srv.verbose = a.verbose
    if a.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(a.port_file + ".tmp", a.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
