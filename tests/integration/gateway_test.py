#!/usr/bin/python3
"""gateway_test.py - sfa-gateway end to end over real HTTP, one case per run, TAP.

Starts the real sfa-gateway on an ephemeral port on 127.0.0.1 (the port is
read from its "Listening, HTTP port N" line) with ipc:// bus URLs and a state
directory under the build dir, and fake aggregators (gateway_fake_agg.c) that
dial its query bus and subscribe to its defs bus. Cases:

  crud       flows, groups and maps: PUT/GET/DELETE status codes and bodies,
             GET /flow/json, the error shape, /version, /analyzer/json fields,
             /sfa/v1/stats, empty answers with no aggregator
  readonly   http.readonly=yes: writes get 403 with a JSON message, reads work
  restart    definitions survive SIGTERM and SIGKILL restarts (state file)
  hostile    more than 30 malformed or hostile requests each get the right 4xx
             with a JSON message; the gateway stays healthy and keeps its data
  scatter    two fake aggregators: activeflows merged per aggMode max and sum,
             maxFlows/minValue, flowkeys merged; one killed with SIGKILL: the
             answer still comes, from the other, within the deadline, and
             /analyzer/json shows one live aggregator; a slow aggregator shows
             as sfaQueryTimeouts
  defs       definitions reach aggregators on defs.v1 within 2 s of a change,
             reach an aggregator started later within 2 s, and keep coming
             after a gateway restart; a respondent with another role (events)
             is listed but never a member
  collector  a real sfa-collector replaying a capture: /agents/json and the
             sFlow counters of /analyzer/json come from its stats.v1/agents.v1
"""
import functools
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import suite
from suite import Tap, parse_args, terminate

DEADLINE_MS = 600
PROCS = []  # every child, killed at exit whatever happened
# Poll often: some checks time how soon a change reaches a peer.
wait_until = functools.partial(suite.wait_until, step=0.05)


class Gateway:
    """One sfa-gateway with private bus URLs, state dir and log."""

    def __init__(self, args, name, props=(), fresh=True):
        self.args = args
        self.dir = os.path.join(args.work, "gw-" + name)
        if fresh:
            shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir, exist_ok=True)
        self.state = os.path.join(self.dir, "state")
        self.query = "ipc://" + os.path.join(self.dir, "query")
        self.defs = "ipc://" + os.path.join(self.dir, "defs")
        self.control = "ipc://" + os.path.join(self.dir, "control")
        self.props = list(props)
        self.proc = None
        self.port = None
        self.logs = 0

    def start(self):
        self.logs += 1
        self.logpath = os.path.join(self.dir, "gateway-%d.log" % self.logs)
        argv = [self.args.gateway, "-Dhttp.port=0", "-Dhttp.hostname=127.0.0.1",
                "-Dsfa.state=" + self.state, "-Dbus.query=" + self.query,
                "-Dbus.defs=" + self.defs, "-Dbus.control=" + self.control,
                "-Dbus.events=ipc://" + os.path.join(self.dir, "events"),
                "-Dbus.flowlog=ipc://" + os.path.join(self.dir, "flowlog"),
                "-Dgateway.query.timeout=%d" % DEADLINE_MS] + self.props
        self.log = open(self.logpath, "w")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        PROCS.append(self.proc)
        wait_until(lambda: self._port() or self.proc.poll() is not None, 10)
        self.port = self._port()
        return self.port is not None

    def _port(self):
        try:
            with open(self.logpath) as f:
                m = re.search(r"Listening, HTTP port (\d+)", f.read())
        except OSError:
            return None
        return int(m.group(1)) if m else None

    def stop(self, sig=signal.SIGTERM):
        if not self.proc:
            return None
        rc = terminate(self.proc, sig, 10)
        self.log.close()
        self.proc = None
        return rc

    def logtext(self):
        with open(self.logpath) as f:
            return f.read()

    def request(self, method, path, body=None, headers=None, timeout=10):
        """(status, headers, parsed JSON or text or None, elapsed s)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        hdrs = {"Content-Type": "application/json"} if body is not None else {}
        hdrs.update(headers or {})
        t0 = time.monotonic()
        try:
            conn.request(method, path, body=body, headers=hdrs)
            r = conn.getresponse()
            raw = r.read()
        except (OSError, http.client.HTTPException) as e:
            return None, {}, str(e), time.monotonic() - t0
        finally:
            conn.close()
        elapsed = time.monotonic() - t0
        hd = {k.lower(): v for k, v in r.getheaders()}
        if "application/json" in hd.get("content-type", ""):
            try:
                return r.status, hd, json.loads(raw), elapsed
            except ValueError:
                return r.status, hd, raw, elapsed
        return r.status, hd, raw.decode("utf-8", "replace") if raw else None, elapsed

    def get(self, path):
        st, _, body, _ = self.request("GET", path)
        return st, body


class FakeAgg:
    def __init__(self, args, gw, agg_id, flows=None, flowkeys=None, delay=0, role=None):
        self.args, self.gw, self.id = args, gw, agg_id
        self.defs_out = os.path.join(gw.dir, agg_id + "-defs.json")
        if os.path.exists(self.defs_out):
            os.unlink(self.defs_out)
        argv = [args.fake, "--query", gw.query, "--defs", gw.defs, "--id", agg_id,
                "--defs-out", self.defs_out]
        if flows is not None:
            path = os.path.join(gw.dir, agg_id + "-flows.json")
            with open(path, "w") as f:
                json.dump(flows, f)
            argv += ["--flows", path]
        if flowkeys is not None:
            path = os.path.join(gw.dir, agg_id + "-flowkeys.json")
            with open(path, "w") as f:
                json.dump(flowkeys, f)
            argv += ["--flowkeys", path]
        if delay:
            argv += ["--delay", str(delay)]
        if role:
            argv += ["--role", role]
        self.proc = subprocess.Popen(argv)
        PROCS.append(self.proc)

    def defs(self):
        try:
            with open(self.defs_out) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def stop(self, sig=signal.SIGTERM):
        return terminate(self.proc, sig, 10)


def is_error(body, status):
    return (isinstance(body, dict) and body.get("error") == status and
            isinstance(body.get("message"), str) and len(body["message"]) > 0)


# ---- cases ----

FLOW = {"keys": "ipsource,ipdestination", "value": "bytes"}
GROUP = {"inside": ["10.0.0.0/8", "fc00::/7"], "outside": ["0.0.0.0/0"]}
MAP = {"web": ["80", "443"], "dns": ["53"]}

ANALYZER_FIELDS = [
    "uptime", "sFlowAgents", "sFlowDatagramsReceived", "sFlowBytesReceived",
    "sFlowDatagramsDiscarded", "sFlowParseErrors", "sFlowUnsupportedVersion",
    "flowsGenerated", "flowsLost", "eventsGenerated", "eventsLost",
    "httpConnectionsCurrent", "httpConnectionsTotal", "httpMessagesReceived",
    "httpMessagesSent", "httpBytesReceived", "httpBytesSent", "availableProcessors",
    "heapMax", "heapUsed", "threadCount", "cpuTime", "memTotal", "memFree",
    "cpuLoadSystem", "cpuLoadProcess", "version", "sfaAggregatorsLive", "sfaQueryTimeouts",
    "sfaBusDrops", "sfaCollectors"]


def case_crud(t, args):
    gw = Gateway(args, "crud")
    t.ok(gw.start(), "gateway starts and logs its port")
    st, hd, body, _ = gw.request("GET", "/version")
    t.ok(st == 200 and isinstance(body, str) and body.startswith("3.0-"), "GET /version", body)
    t.ok(hd.get("content-type", "").startswith("text/plain"), "/version is text/plain")
    t.eq(gw.get("/flow/json"), (200, {}), "GET /flow/json: empty at first")
    st, hd, body, _ = gw.request("PUT", "/flow/pairs/json", FLOW)
    t.ok(st == 204 and not body, "PUT /flow/pairs/json: 204, no body", (st, body))
    st, body = gw.get("/flow/pairs/json")
    t.ok(st == 200 and body.get("keys") == FLOW["keys"] and body.get("value") == "bytes",
         "GET /flow/pairs/json returns the definition", body)
    t.ok(isinstance(body, dict) and body.get("n") == 5 and body.get("t") == 2 and
         body.get("fs") == ",", "defaults filled in (n 5, t 2, fs ,)", body)
    st, hd, body, _ = gw.request("GET", "/flow/pairs/json")
    t.ok(hd.get("content-type") == "application/json", "JSON content type")
    st, _, _, _ = gw.request("PUT", "/flow/pairs/json", {"keys": "ipsource", "value": "frames"})
    t.eq(st, 204, "PUT again replaces: 204")
    st, body = gw.get("/flow/pairs/json")
    t.ok(st == 200 and body.get("value") == "frames" and body.get("keys") == "ipsource",
         "the replacement is returned", body)
    gw.request("PUT", "/flow/other/json", FLOW)
    st, body = gw.get("/flow/json")
    t.ok(st == 200 and sorted(body) == ["other", "pairs"] and body["pairs"]["value"] == "frames",
         "GET /flow/json lists every flow with defaults", body)
    st, _, body, _ = gw.request("DELETE", "/flow/other/json")
    t.ok(st == 204 and not body, "DELETE: 204, no body", (st, body))
    st, body = gw.get("/flow/other/json")
    t.ok(st == 404 and is_error(body, 404), "deleted flow: 404 with the error shape", body)
    st, _, body, _ = gw.request("DELETE", "/flow/other/json")
    t.ok(st == 404 and is_error(body, 404), "DELETE unknown: 404", body)

    for kind, spec in (("group", GROUP), ("map", MAP)):
        st, _, _, _ = gw.request("PUT", "/%s/g1/json" % kind, spec)
        t.eq(st, 204, "PUT /%s/g1/json: 204" % kind)
        t.eq(gw.get("/%s/g1/json" % kind), (200, spec), "GET /%s/g1/json returns it" % kind)
        t.eq(gw.get("/%s/json" % kind), (200, {"g1": spec}), "GET /%s/json lists it" % kind)
        st, _, _, _ = gw.request("DELETE", "/%s/g1/json" % kind)
        t.eq(st, 204, "DELETE /%s/g1/json: 204" % kind)
        st, body = gw.get("/%s/g1/json" % kind)
        t.ok(st == 404 and is_error(body, 404), "deleted %s: 404" % kind, body)

    st, body = gw.get("/analyzer/json")
    missing = [f for f in ANALYZER_FIELDS if f not in (body or {})]
    t.ok(st == 200 and not missing, "/analyzer/json has sFlow-RT's and sfa's fields", missing)
    t.ok(st == 200 and body["httpMessagesReceived"] >= 15 and body["sfaAggregatorsLive"] == 0,
         "/analyzer/json counts requests, no aggregator", body)
    st, body = gw.get("/sfa/v1/stats")
    t.ok(st == 200 and body.get("gateway", {}).get("service") == "gateway" and
         body["gateway"]["http"]["requests"] >= 15 and body["gateway"]["state"]["writes"] >= 6,
         "/sfa/v1/stats has the gateway's counters", body)
    t.eq(gw.get("/agents/json"), (200, {}), "/agents/json: no collector, empty object")
    t.eq(gw.get("/flowkeys/json"), (200, {}), "/flowkeys/json: no aggregator, empty object")
    t.eq(gw.get("/activeflows/ALL/pairs/json"), (200, []), "activeflows: no aggregator, []")
    # A second gateway on the same bus paths must not steal them.
    gw2 = Gateway(args, "crud", fresh=False)
    gw2.logs = 100
    gw2.start()
    rc = gw2.proc.wait(10) if gw2.proc else None
    t.ok(rc == 2, "a second gateway on the same bus paths exits 2", rc)
    agg = FakeAgg(args, gw, "agg-crud")
    t.ok(wait_until(lambda: live(gw) == 1, 5), "the first one keeps its query bus", live(gw))
    agg.stop()
    t.eq(gw.stop(), 0, "SIGTERM: exit 0")


def case_readonly(t, args):
    gw = Gateway(args, "readonly", ["-Dhttp.readonly=yes"])
    t.ok(gw.start(), "read-only gateway starts")
    st, _, body, _ = gw.request("PUT", "/flow/x/json", FLOW)
    t.ok(st == 403 and is_error(body, 403), "PUT flow: 403 with a message", (st, body))
    st, _, body, _ = gw.request("DELETE", "/flow/x/json")
    t.ok(st == 403 and is_error(body, 403), "DELETE flow: 403", (st, body))
    st, _, body, _ = gw.request("PUT", "/group/g/json", GROUP)
    t.ok(st == 403 and is_error(body, 403), "PUT group: 403", (st, body))
    st, _, body, _ = gw.request("PUT", "/map/m/json", MAP)
    t.ok(st == 403 and is_error(body, 403), "PUT map: 403", (st, body))
    t.eq(gw.get("/flow/json"), (200, {}), "GET still works, nothing was stored")
    t.eq(gw.stop(), 0, "SIGTERM: exit 0")


def case_restart(t, args):
    gw = Gateway(args, "restart")
    t.ok(gw.start(), "gateway starts")
    for i in range(5):
        gw.request("PUT", "/flow/f%d/json" % i, {"keys": "ipsource", "value": "bytes", "n": 10})
    gw.request("PUT", "/group/nets/json", GROUP)
    gw.request("PUT", "/map/ports/json", MAP)
    gw.request("DELETE", "/flow/f4/json")
    before = [gw.get(p) for p in ("/flow/json", "/group/json", "/map/json")]
    t.ok(all(st == 200 for st, _ in before) and len(before[0][1]) == 4, "definitions stored")
    t.ok(os.path.exists(os.path.join(gw.state, "definitions.json")), "state file written")
    t.eq(gw.stop(), 0, "SIGTERM: exit 0")
    t.ok(gw.start(), "gateway restarts on the same state")
    after = [gw.get(p) for p in ("/flow/json", "/group/json", "/map/json")]
    t.eq(after, before, "flows, groups and maps survive a restart")
    gw.request("PUT", "/flow/late/json", FLOW)
    gw.stop(signal.SIGKILL)
    t.ok(gw.start(), "gateway restarts after SIGKILL")
    st, body = gw.get("/flow/late/json")
    t.ok(st == 200 and body.get("keys") == FLOW["keys"],
         "a definition acknowledged before SIGKILL survives", body)
    t.ok(not any(n.endswith(".tmp") for n in os.listdir(gw.state)), "no temporary file left")
    t.eq(gw.stop(), 0, "SIGTERM: exit 0")
    with open(os.path.join(gw.state, "definitions.json"), "w") as f:
        f.write('{"version": 3, "flows": {')
    gw.start()
    rc = gw.proc.wait(10) if gw.proc else None
    t.ok(rc not in (0, None), "a corrupt state file stops the start (no silent loss)", rc)
    t.ok("corrupt" in gw.logtext(), "and the log says why")


def hostile_requests():
    """(method, path, body, expected status, what)."""
    big = "{\"value\":\"bytes\",\"x\":\"" + "a" * (2 << 20) + "\"}"
    deep = "[" * 5000 + "]" * 5000
    return [
        ("PUT", "/flow/h/json", "not json", 400, "body is not JSON"),
        ("PUT", "/flow/h/json", "", 400, "empty body"),
        ("PUT", "/flow/h/json", "[1,2,3]", 400, "body is an array"),
        ("PUT", "/flow/h/json", "\"bytes\"", 400, "body is a string"),
        ("PUT", "/flow/h/json", "{}", 400, "no value"),
        ("PUT", "/flow/h/json", '{"value":"bytes"} trailing', 400, "trailing garbage"),
        ("PUT", "/flow/h/json", '{"value":"bytes","value":"frames"}', 400, "duplicate member"),
        ("PUT", "/flow/h/json", b'{"value":"\xff\xfe"}', 400, "invalid UTF-8"),
        ("PUT", "/flow/h/json", deep, 400, "nesting 5000 deep"),
        ("PUT", "/flow/h/json", '{"keys":"nosuchkey","value":"bytes"}', 400, "unknown key"),
        ("PUT", "/flow/h/json", '{"keys":"ipsource","value":"nosuchvalue"}', 400,
         "unknown value"),
        ("PUT", "/flow/h/json", '{"keys":"nosuchfn:ipsource","value":"bytes"}', 400,
         "unknown key function"),
        ("PUT", "/flow/h/json", '{"value":"bytes","filter":"(ipsource=10.0.0.1"}', 400,
         "unbalanced filter ("),
        ("PUT", "/flow/h/json", '{"value":"bytes","filter":"ipsource=10.0.0.1)"}', 400,
         "unbalanced filter )"),
        ("PUT", "/flow/h/json", '{"value":"bytes","filter":"ipsource=10.0.0.1&"}', 400,
         "dangling operator in filter"),
        ("PUT", "/flow/h/json", big, 413, "2 MiB body"),
        ("PUT", "/flow/..%2F..%2Fetc%2Fpasswd/json", FLOW, 400, "path traversal in a name"),
        ("PUT", "/flow/%2e%2e/json", FLOW, 400, "name '..'"),
        ("PUT", "/flow/a%00b/json", FLOW, 400, "NUL in a name"),
        ("PUT", "/flow/a%20b/json", FLOW, 400, "space in a name"),
        ("PUT", "/flow/" + "n" * 65 + "/json", FLOW, 400, "65-character name"),
        ("PUT", "/flow/%zz/json", FLOW, 400, "bad escape in a name"),
        ("GET", "/flow/../../etc/passwd", None, 404, "raw dot segments"),
        ("GET", "/flow/nosuch/json", None, 404, "unknown flow"),
        ("DELETE", "/group/nosuch/json", None, 404, "unknown group"),
        ("GET", "/map/nosuch/json", None, 404, "unknown map"),
        ("GET", "/no/such/path", None, 404, "unknown path"),
        ("POST", "/flow/h/json", FLOW, 405, "POST on a flow"),
        ("PUT", "/flow/json", FLOW, 405, "PUT on the flow list"),
        ("PUT", "/group/g/json", '{"a":"10.0.0.0/8"}', 400, "group value not a list"),
        ("PUT", "/group/g/json", '{"a":["10.0.0.0/33"]}', 400, "bad CIDR"),
        ("PUT", "/group/g/json", '{"a":["not-an-address"]}', 400, "bad address in a group"),
        ("PUT", "/map/m/json", "[1,2]", 400, "map body not an object"),
        ("GET", "/activeflows/ALL/nosuch/json", None, 404, "activeflows: unknown flow"),
        ("GET", "/activeflows/ALL/base/json?maxFlows=-1", None, 400, "negative maxFlows"),
        ("GET", "/activeflows/ALL/base/json?maxFlows=abc", None, 400, "maxFlows not a number"),
        ("GET", "/activeflows/ALL/base/json?maxFlows=1e99", None, 400, "maxFlows too big"),
        ("GET", "/activeflows/ALL/base/json?minValue=xyz", None, 400, "minValue not a number"),
        ("GET", "/activeflows/ALL/base/json?minValue=nan", None, 400, "minValue NaN"),
        ("GET", "/activeflows/ALL/base/json?aggMode=bogus", None, 400, "unknown aggMode"),
        ("GET", "/activeflows/ALL/base/json?aggMode=edge", None, 400, "aggMode edge (no topology)"),
        ("GET", "/activeflows/ALL/base/json?filter=ipsource%3D", None, 400, "bad query filter"),
        ("GET", "/activeflows/ALL/base/json?maxFlows=%zz", None, 400, "bad escape in a query"),
        ("GET", "/activeflows/nosuchagent/base/json", None, 400, "unknown agent name"),
        ("GET", "/activeflows/10.0.0.1,bogus/base/json", None, 400, "bad agent in a list"),
        ("GET", "/activeflows/10.0.0.1,,10.0.0.2/base/json", None, 400, "empty agent in a list"),
        ("GET", "/activeflows/999.1.1.1/base/json", None, 400, "out-of-range IPv4 agent"),
        ("GET", "/activeflows/TOPOLOGY/base/json", None, 400, "TOPOLOGY without a topology"),
        ("GET", "/agents/json?agent=bogus", None, 400, "/agents/json bad agent filter"),
    ]


def raw_request(port, data):
    """Send raw bytes, read one response: (status, parsed JSON body)."""
    import socket
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(data)
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        m = re.search(rb"content-length: *(\d+)", head, re.I)
        want = int(m.group(1)) if m else 0
        while len(rest) < want:
            chunk = s.recv(65536)
            if not chunk:
                break
            rest += chunk
        status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/") else None
        try:
            return status, json.loads(rest[:want] or b"null")
        except ValueError:
            return status, rest
    except OSError as e:
        return None, str(e)
    finally:
        s.close()


def case_hostile(t, args):
    gw = Gateway(args, "hostile")
    t.ok(gw.start(), "gateway starts")
    gw.request("PUT", "/flow/base/json", FLOW)
    reqs = hostile_requests()
    t.ok(len(reqs) >= 30, "at least 30 hostile requests (%d)" % len(reqs))
    for method, path, body, want, what in reqs:
        st, _, got, _ = gw.request(method, path, body)
        t.ok(st == want and is_error(got, want), "%s: %d with a JSON message" % (what, want),
             (st, got if not isinstance(got, str) else got[:200]))
    # h2o refuses a body announced over its hard limit before reading it;
    # that answer has the JSON error shape too.
    st, body = raw_request(gw.port, b"PUT /flow/h/json HTTP/1.1\r\nHost: x\r\n"
                           b"Content-Type: application/json\r\nContent-Length: 104857600\r\n\r\n")
    t.ok(st == 413 and is_error(body, 413), "100 MiB announced: 413 before the body", (st, body))
    # Bytes that are not HTTP at all are answered by h2o's parser directly
    # on the socket (plain text): still a 400 with a message.
    st, body = raw_request(gw.port, b"GARBAGE\r\n\r\n")
    t.ok(st == 400 and body, "not HTTP at all: 400 with a message", (st, body))
    t.ok(gw.proc.poll() is None, "the gateway is still running")
    st, body = gw.get("/version")
    t.eq(st, 200, "/version still answers")
    st, body = gw.get("/flow/json")
    t.ok(st == 200 and list(body) == ["base"], "only the valid definition is stored", body)
    st, body = gw.get("/activeflows/ALL/base/json?maxFlows=5&minValue=0.5&aggMode=sum")
    t.eq((st, body), (200, []), "a valid query still works")
    st, body = gw.get("/sfa/v1/stats")
    t.ok(st == 200 and body["gateway"]["http"]["status_4xx"] >= len(reqs),
         "4xx answers are counted", body.get("gateway") if isinstance(body, dict) else body)
    t.eq(gw.stop(), 0, "SIGTERM: exit 0")


def entry(key, value, agent, ds="1", flow_n=1, values=None):
    e = {"key": key, "value": value, "agent": agent, "dataSource": ds, "flowN": flow_n}
    if values is not None:
        e["values"] = values
    return e


FLOWS_A = {"pairs": [entry("a", 100, "10.0.0.1", values=[1, 2]), entry("b", 50, "10.0.0.1"),
                     entry("c", 10, "10.0.0.1")]}
FLOWS_B = {"pairs": [entry("a", 70, "10.0.0.2", values=[3, 4]), entry("d", 60, "10.0.0.2"),
                     entry("c", 45, "10.0.0.2")]}


def keys_values(body):
    return [(e["key"], e["value"]) for e in body] if isinstance(body, list) else body


def live(gw):
    st, body = gw.get("/analyzer/json")
    return body.get("sfaAggregatorsLive") if st == 200 else None


def case_scatter(t, args):
    gw = Gateway(args, "scatter")
    t.ok(gw.start(), "gateway starts")
    gw.request("PUT", "/flow/pairs/json", FLOW)
    a = FakeAgg(args, gw, "agg-a", FLOWS_A, {"ipsource": 120, "tcpflags": 30})
    b = FakeAgg(args, gw, "agg-b", FLOWS_B, {"ipsource": 40, "vlan": 7})
    t.ok(wait_until(lambda: live(gw) == 2, 10), "two live aggregators", live(gw))
    st, _, body, el = gw.request("GET", "/activeflows/ALL/pairs/json?maxFlows=3")
    t.eq((st, keys_values(body)), (200, [("a", 100), ("d", 60), ("b", 50)]),
         "aggMode max (default): per-key max, top 3")
    t.ok(st == 200 and body[0]["agent"] == "10.0.0.1" and body[0]["flowN"] == 2 and
         body[0]["values"] == [1, 2], "max: agent and values of the winner, flowN added", body)
    t.ok(el < DEADLINE_MS / 1000.0, "answered as soon as both answered (%.3f s)" % el)
    st, body = gw.get("/activeflows/ALL/pairs/json?aggMode=sum")
    t.eq((st, keys_values(body)), (200, [("a", 170), ("d", 60), ("c", 55), ("b", 50)]),
         "aggMode sum: per-key sums")
    t.ok(st == 200 and body[0]["values"] == [4, 6], "sum: values add element-wise", body)
    st, body = gw.get("/activeflows/ALL/pairs/json?aggMode=sum&minValue=55")
    t.eq(keys_values(body), [("a", 170), ("d", 60), ("c", 55)], "minValue applies after merging")
    st, body = gw.get("/activeflows/10.0.0.1;10.0.0.2/pairs/json?maxFlows=1")
    t.eq((st, keys_values(body)), (200, [("a", 100)]), "agent list with ';' and maxFlows=1")
    st, body = gw.get("/activeflows/ALL/pairs/json?maxFlows=0")
    t.eq((st, body), (200, []), "maxFlows=0: []")
    st, body = gw.get("/flowkeys/json")
    t.eq((st, body), (200, {"ipsource": 40, "tcpflags": 30, "vlan": 7}),
         "flowkeys merged: most recent sighting per key")
    st, body = gw.get("/sfa/v1/stats")
    aggs = {k: v for k, v in (body or {}).items()
            if isinstance(v, dict) and v.get("service") == "aggregator"}
    t.ok(sorted(aggs) == ["agg-a", "agg-b"] and all(v["live"] for v in aggs.values()),
         "/sfa/v1/stats lists both aggregators", body)

    b.stop(signal.SIGKILL)
    st, _, body, el = gw.request("GET", "/activeflows/ALL/pairs/json")
    t.eq((st, keys_values(body)), (200, [("a", 100), ("b", 50), ("c", 10)]),
         "one aggregator killed: answer from the other")
    t.ok(el < DEADLINE_MS / 1000.0 + 1.0, "and within the deadline (%.3f s)" % el)
    t.ok(wait_until(lambda: live(gw) == 1, 5), "/analyzer/json: one live aggregator", live(gw))

    slow = FakeAgg(args, gw, "agg-slow", FLOWS_B, delay=DEADLINE_MS * 3)
    t.ok(wait_until(lambda: live(gw) == 2, 10), "slow aggregator joins", live(gw))
    st0, b0 = gw.get("/analyzer/json")
    st, _, body, el = gw.request("GET", "/activeflows/ALL/pairs/json")
    t.eq((st, keys_values(body)), (200, [("a", 100), ("b", 50), ("c", 10)]),
         "slow aggregator: the answer holds what came in time")
    t.ok(DEADLINE_MS / 1000.0 * 0.8 < el < DEADLINE_MS / 1000.0 + 1.0,
         "and comes at the deadline (%.3f s)" % el)
    st1, b1 = gw.get("/analyzer/json")
    t.ok(b1["sfaQueryTimeouts"] >= b0["sfaQueryTimeouts"] + 1,
         "/analyzer/json counts the timeout", (b0["sfaQueryTimeouts"], b1["sfaQueryTimeouts"]))
    # Identical queries in flight at once share one survey.
    import threading
    answers = []

    def one():
        answers.append(gw.get("/activeflows/ALL/pairs/json"))

    st0, s0 = gw.get("/sfa/v1/stats")
    threads = [threading.Thread(target=one) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    st1, s1 = gw.get("/sfa/v1/stats")
    t.ok(len(answers) == 6 and all(a == answers[0] and a[0] == 200 for a in answers),
         "six concurrent identical queries get the same answer", answers[:2])
    t.ok(s1["gateway"]["query"]["coalesced"] > s0["gateway"]["query"]["coalesced"] and
         s1["gateway"]["survey"]["started"] - s0["gateway"]["survey"]["started"] < 6,
         "and share surveys (coalesced)", (s0["gateway"]["query"], s1["gateway"]["query"]))
    # Clients that leave before the answer must not disturb anything.
    for _ in range(5):
        conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=5)
        conn.request("GET", "/activeflows/ALL/pairs/json")
        conn.close()
    time.sleep(DEADLINE_MS / 1000.0 + 0.3)
    t.ok(gw.proc.poll() is None, "clients leaving mid-query: gateway still running")
    st, body = gw.get("/sfa/v1/stats")
    t.ok(st == 200 and body["gateway"]["http"]["pending"] == 0,
         "no request left pending", body.get("gateway") if isinstance(body, dict) else body)
    for f in (a, slow):
        f.stop()
    t.eq(gw.stop(), 0, "SIGTERM: exit 0")


def case_defs(t, args):
    gw = Gateway(args, "defs")
    t.ok(gw.start(), "gateway starts")
    a = FakeAgg(args, gw, "agg-a")
    t.ok(wait_until(lambda: (a.defs() or {}).get("members") == ["agg-a"], 5),
         "defs.v1 arrives and lists the aggregator as member", a.defs())
    d = a.defs() or {}
    t.ok(d.get("flows") == {} and d.get("groups") == {} and d.get("maps") == {} and
         d.get("lanes") == 4 and isinstance(d.get("version"), int),
         "defs.v1 has flows, groups, maps, members, lanes, version", d)
    v0 = d.get("version", 0)
    t0 = time.monotonic()
    gw.request("PUT", "/flow/pairs/json", FLOW)
    got = wait_until(lambda: "pairs" in ((a.defs() or {}).get("flows") or {}), 2)
    t.ok(got, "a new flow reaches the aggregator within 2 s (%.2f s)" % (time.monotonic() - t0))
    d = a.defs() or {}
    t.ok(d.get("flows", {}).get("pairs") == FLOW and d.get("version", 0) > v0,
         "the flow as PUT, with a higher version", d)
    gw.request("PUT", "/group/nets/json", GROUP)
    gw.request("PUT", "/map/ports/json", MAP)
    t.ok(wait_until(lambda: (a.defs() or {}).get("maps", {}).get("ports") == MAP, 2),
         "groups and maps reach it too", a.defs())
    gw.request("DELETE", "/flow/pairs/json")
    t.ok(wait_until(lambda: "pairs" not in (a.defs() or {}).get("flows", {"pairs": 1}), 2),
         "a deletion reaches it within 2 s")
    gw.request("PUT", "/flow/pairs/json", FLOW)
    t0 = time.monotonic()
    b = FakeAgg(args, gw, "agg-b")
    got = wait_until(lambda: "pairs" in ((b.defs() or {}).get("flows") or {}), 2)
    t.ok(got, "an aggregator started later has every definition within 2 s (%.2f s)"
         % (time.monotonic() - t0))
    t.ok(wait_until(lambda: (b.defs() or {}).get("members") == ["agg-a", "agg-b"], 3),
         "members: both, sorted", b.defs())
    t.ok(wait_until(lambda: gw.get("/sfa/v1/stats")[1].get("agg-b", {}).get("defsVersion") ==
                    (b.defs() or {}).get("version"), 3),
         "hello answers report the applied version")
    ev = FakeAgg(args, gw, "events-1", role="events")
    t.ok(wait_until(lambda: gw.get("/sfa/v1/stats")[1].get("events-1", {}).get("service") ==
                    "events", 5), "a respondent with role events shows in /sfa/v1/stats")
    t.ok((b.defs() or {}).get("members") == ["agg-a", "agg-b"] and live(gw) == 2,
         "but never becomes a member", ((b.defs() or {}).get("members"), live(gw)))
    ev.stop()
    v1 = (a.defs() or {}).get("version", 0)
    t.eq(gw.stop(), 0, "gateway stops")
    os.unlink(a.defs_out)
    t.ok(gw.start(), "gateway restarts")
    t.ok(wait_until(lambda: "pairs" in ((a.defs() or {}).get("flows") or {}), 5),
         "after a gateway restart the aggregators get the stored definitions")
    t.ok((a.defs() or {}).get("version", 0) >= v1, "the version does not go back",
         ((a.defs() or {}).get("version"), v1))
    b.stop(signal.SIGKILL)
    t.ok(wait_until(lambda: (a.defs() or {}).get("members") == ["agg-a"], 5),
         "a killed aggregator leaves the member list", a.defs())
    a.stop()
    t.eq(gw.stop(), 0, "SIGTERM: exit 0")


def case_collector(t, args):
    gw = Gateway(args, "collector")
    t.ok(gw.start(), "gateway starts")
    capture = os.path.join(args.data, "fabric-demo.pcap")
    argv = [os.path.join(args.build, "sfa-collector"), "-Dsflow.port=0",
            "-Dsflow.file=" + capture, "-Dsflow.file.fast=yes", "-Dsflow.file.port=0",
            "-Dbus.samples=ipc://" + os.path.join(gw.dir, "samples"),
            "-Dbus.control=" + gw.control, "-Dstats.interval=0.2", "-Dcollector.id=col-test"]
    log = open(os.path.join(gw.dir, "collector.log"), "w")
    col = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    PROCS.append(col)

    def agents():
        st, body = gw.get("/agents/json")
        return body if st == 200 and body else None

    table = wait_until(agents, 10)
    t.ok(isinstance(table, dict) and len(table) > 0, "/agents/json lists the capture's agents",
         table)
    table = table or {}
    first = next(iter(table.values()), {})
    for f in ("sFlowDatagramsReceived", "firstSeen", "lastSeen", "sFlowDatagramSource"):
        t.ok(f in first, "agent records carry %s" % f, first)
    st, body = gw.get("/analyzer/json")
    t.ok(st == 200 and body["sFlowDatagramsReceived"] > 0 and body["sFlowAgents"] == len(table)
         and body["sfaCollectors"] == 1, "/analyzer/json counts the collector's datagrams",
         body)
    one = sorted(table)[0]
    st, body = gw.get("/agents/json?agent=" + one)
    t.ok(st == 200 and list(body) == [one], "/agents/json?agent= filters", body)
    st, body = gw.get("/agents/json?agent=192.0.2.254")
    t.eq((st, body), (200, {}), "an agent nobody saw: empty object")
    st, body = gw.get("/sfa/v1/stats")
    t.ok(st == 200 and body.get("col-test", {}).get("service") == "collector",
         "/sfa/v1/stats has the collector's counters", list(body or {}))
    col.send_signal(signal.SIGTERM)
    col.wait(10)
    log.close()
    t.eq(gw.stop(), 0, "SIGTERM: exit 0")


CASES = {"crud": case_crud, "readonly": case_readonly, "restart": case_restart,
         "hostile": case_hostile, "scatter": case_scatter, "defs": case_defs,
         "collector": case_collector}


def main():
    args = parse_args("gateway", "fake", "build", "data", "work", cases=CASES)
    t = Tap()
    try:
        CASES[args.case](t, args)
    except Exception as e:  # a crash is a failed check, not a silent pass
        import traceback
        t.ok(False, "case %s raised %s" % (args.case, type(e).__name__), traceback.format_exc())
    finally:
        for p in PROCS:
            if p.poll() is None:
                p.kill()
                p.wait()
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
