#!/usr/bin/python3
"""activeflows_filter_test.py - query-time filters of /activeflows end to end, TAP output.

One real sfa-collector replays tests/data/fabric-demo.pcap (fast, in a loop)
on ipc:// lanes under the build dir; two real sfa-gateways read it through
their own aggregators: cluster A has one sfa-aggregator, cluster B three
(the capture's four agents land on two of B's three). Each gets two flow
definitions over HTTP:
  pairs  {"keys":"ipsource,ipdestination","value":"bytes","t":10}
  nets   {"keys":"mask:ipsource:24,ipdestination","value":"frames","fs":"|","t":10}
After a few seconds the collector is stopped, so the tables only decay from
then on (every key by the same factor; nothing expires for 10 t = 100 s) and
an unfiltered and a filtered query made a moment apart see the same flows.

Checks, on both clusters:
  * GET /activeflows/ALL/pairs/json?filter=F (maxFlows large) answers exactly
    the flows of the unfiltered answer whose keys pass F, as evaluated here in
    Python (same keys, values within 2%), for =, !=, alternatives, regexes,
    & | ( ), quoted operands, null and key functions over the keys (mask:,
    suffix:); also for the nets definition (a key function as a key, custom
    fs), for aggMode sum and for an agent list;
  * maxFlows counts filtered flows: ?filter=ipsource!=<top source>&maxFlows=3
    gives the top 3 of the filtered list, none of which is the unfiltered top;
  * bad filters are 400 with a JSON {"error":400,"message":...} naming the
    problem: a key that is not one of the definition's, an unknown key, bad
    syntax, a bad regex, an unknown function; an empty filter is no filter;
  * A and B (1 and 3 aggregators) select the same keys for every filter.

Usage: activeflows_filter_test.py --build BUILD --data DATA --work WORK
"""
import ipaddress
import json
import os
import re
import shutil
import socket
import sys
import time
import urllib.parse
import zlib

import suite
from suite import wait_until

DEADLINE_MS = 2000
ALL = 100000  # maxFlows that takes every flow
TOP_SOURCE = "10.4.1.2"  # the capture's heaviest source (10.4.1.2 -> 10.4.2.2)
TOL = 0.02


def ports_for(name, count):
    """count free TCP ports from a range derived from the test's name."""
    base = 20000 + zlib.crc32(name.encode()) % 20000
    out = []
    for port in range(base, base + 500):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            out.append(port)
        except OSError:
            pass
        finally:
            s.close()
        if len(out) == count:
            return out
    raise RuntimeError("no free ports near %d" % base)


class Cluster(suite.Cluster):
    """A gateway and its aggregators."""

    def __init__(self, args, work, name, naggs, port):
        super().__init__(args, work, name, naggs, args.control, DEADLINE_MS, port)

    def procs(self):
        return [self.gw] + self.aggs

    def http(self, path, method="GET", body=None, timeout=10):
        """(status, parsed JSON body): an error status comes with its body
        (parsed when it is JSON); (None, None) when no answer came or a
        success is not JSON."""
        st, raw = suite.http("http://127.0.0.1:%d%s" % (self.port, path), method, body, timeout)
        if st is None:
            return None, None
        try:
            return st, (json.loads(raw) if raw else None)
        except ValueError:
            return (st, raw) if st >= 300 else (None, None)

    def ready(self):
        m = self.members()
        return len(m) == len(self.aggs) and \
            sum(v.get("buckets", 0) for v in m.values()) == 256 and \
            all(v.get("counters", {}).get("definitions") == 2 for v in m.values())

    def flows(self, name, flt=None, max_flows=ALL, mode="max", agents="ALL"):
        q = {"maxFlows": max_flows, "aggMode": mode}
        if flt is not None:
            q["filter"] = flt
        return self.http("/activeflows/%s/%s/json?%s"
                         % (agents, name, urllib.parse.urlencode(q, quote_via=urllib.parse.quote)))


def samples_in(c):
    return sum(v.get("counters", {}).get("samples_in", 0) for v in c.members().values())


def settled(c):
    """Do the cluster's sample counters stay put across two hellos?"""
    n = samples_in(c)
    time.sleep(2.2)  # hellos (and their counters) come every second
    return n > 0 and samples_in(c) == n


# ---- the filters, evaluated here on the keys of the unfiltered answers ----

def net24(a):
    return str(ipaddress.ip_network(a + "/24", strict=False).network_address)


def last_octet(a):
    return a.rsplit(".", 1)[1]


# (flow, filter, predicate on the list of key values, non-trivial: selects
# some flows but not all)
CASES = [
    ("pairs", "ipsource=10.4.1.2", lambda k: k[0] == "10.4.1.2", True),
    ("pairs", "ipsource=10.4.1.20", lambda k: k[0] == "10.4.1.20", True),
    ("pairs", "ipsource!=10.4.1.2", lambda k: k[0] != "10.4.1.2", True),
    ("pairs", "ipdestination=10.4.2.2,10.4.1.2", lambda k: k[1] in ("10.4.2.2", "10.4.1.2"), True),
    ("pairs", "ipsource~10\\.4\\.1\\..*", lambda k: re.fullmatch(r"10\.4\.1\..*", k[0]), True),
    ("pairs", "ipsource!~.*\\.2[0-9]", lambda k: not re.fullmatch(r".*\.2[0-9]", k[0]), True),
    ("pairs", "ipsource=10.4.1.2|ipdestination=10.4.1.2",
     lambda k: k[0] == "10.4.1.2" or k[1] == "10.4.1.2", True),
    ("pairs", "(ipsource~10\\.4\\.2\\..*|ipdestination=10.4.2.2)&ipsource!=10.4.2.28",
     lambda k: (re.fullmatch(r"10\.4\.2\..*", k[0]) or k[1] == "10.4.2.2")
     and k[0] != "10.4.2.28", True),
    ("pairs", "'ipsource'='10.4.2.28'", lambda k: k[0] == "10.4.2.28", True),
    ("pairs", "ipsource=10.4.1.2&ipdestination=10.4.1.2",
     lambda k: k[0] == "10.4.1.2" and k[1] == "10.4.1.2", False),
    ("pairs", "ipsource!=null", lambda k: True, False),
    ("pairs", "ipsource=null", lambda k: False, False),
    ("pairs", "mask:ipsource:24=10.4.2.0", lambda k: net24(k[0]) == "10.4.2.0", True),
    ("pairs", "suffix:ipdestination:.:1=2,28",
     lambda k: last_octet(k[1]) in ("2", "28"), True),
    ("pairs", "range:[suffix:ipsource:.:1]:20:25=true",
     lambda k: 20 <= int(last_octet(k[0])) <= 25, True),
    ("nets", "mask:ipsource:24=10.4.1.0", lambda k: k[0] == "10.4.1.0", True),
    ("nets", "mask:ipsource:24=10.4.1.0&ipdestination~10\\.4\\.2\\.2.*",
     lambda k: k[0] == "10.4.1.0" and re.fullmatch(r"10\.4\.2\.2.*", k[1]), True),
]

FS = {"pairs": ",", "nets": "|"}


def select(answer, name, pred):
    return [e for e in answer if pred(e["key"].split(FS[name]))]


def rel(a, b):
    return abs(a - b) / max(abs(a), abs(b), 1e-9)


def same_flows(got, want):
    """None when got and want hold the same keys with values within TOL."""
    if not isinstance(got, list):
        return "no answer: %r" % (got,)
    g = {e["key"]: e["value"] for e in got}
    w = {e["key"]: e["value"] for e in want}
    if set(g) != set(w):
        return "keys differ: extra %s, missing %s" % (sorted(set(g) - set(w))[:5],
                                                      sorted(set(w) - set(g))[:5])
    for k in w:
        if rel(g[k], w[k]) > TOL:
            return "key %s: %.1f vs %.1f" % (k, g[k], w[k])
    if len(got) != len(g):
        return "a key is listed twice"
    vals = [e["value"] for e in got]
    if any(vals[i] < vals[i + 1] for i in range(len(vals) - 1)):
        return "not sorted by value"
    return None


def check_cases(t, c, results):
    for name, flt, pred, nontrivial in CASES:
        st0, full = c.flows(name)
        st1, got = c.flows(name, flt)
        if not (st0 == 200 and st1 == 200 and isinstance(full, list)):
            t.ok(False, "%s: %s ?filter=%s answers 200" % (c.name, name, flt), (st0, st1, got))
            continue
        want = select(full, name, pred)
        why = same_flows(got, want)
        if why is None and nontrivial and not 0 < len(want) < len(full):
            why = "the filter selects %d of %d flows" % (len(want), len(full))
        t.ok(why is None, "%s: %s ?filter=%s = the unfiltered answer filtered here (%d of %d)"
             % (c.name, name, flt, len(want), len(full)), why)
        results[(name, flt)] = sorted(e["key"] for e in got or [])


def check_modes(t, c):
    pred = lambda k: k[0] != TOP_SOURCE  # noqa: E731
    flt = "ipsource!=" + TOP_SOURCE
    st0, full = c.flows("pairs", None, ALL, "sum")
    st1, got = c.flows("pairs", flt, ALL, "sum")
    t.ok(st0 == 200 and st1 == 200 and same_flows(got, select(full or [], "pairs", pred)) is None,
         "%s: aggMode sum with a filter = the sum answer filtered here" % c.name,
         same_flows(got, select(full or [], "pairs", pred)))

    # maxFlows counts filtered flows (the filter runs before the top n).
    st0, full = c.flows("pairs")
    st1, top = c.flows("pairs", flt, 3)
    want = select(full or [], "pairs", pred)
    ok = st0 == 200 and st1 == 200 and isinstance(top, list) and len(top) == 3
    why = None if ok else (st0, st1, top)
    if ok:
        cut = want[2]["value"]
        for e in top:
            # Ties at the cut could swap places: anything within TOL of it will do.
            if e["key"] not in [w["key"] for w in want[:3]] and rel(e["value"], cut) > TOL:
                why = "key %s is not among the filtered top 3 %s" % (e["key"], want[:3])
    t.ok(ok and why is None, "%s: ?filter=%s&maxFlows=3 is the filtered top 3" % (c.name, flt),
         why)
    t.ok(ok and full[0]["key"].split(",")[0] == TOP_SOURCE and
         all(e["key"].split(",")[0] != TOP_SOURCE for e in top),
         "%s: ... while the unfiltered top flow is from %s" % (c.name, TOP_SOURCE),
         (full or [])[:1])

    # One agent at a time.
    agents = sorted({e["agent"] for e in full or []})
    t.ok(len(agents) >= 2, "%s: flows come from %d agents" % (c.name, len(agents)), agents)
    for agent in agents[:2]:
        st0, part = c.flows("pairs", None, ALL, "max", agent)
        st1, got = c.flows("pairs", "ipsource~10\\.4\\.2\\..*", ALL, "max", agent)
        want = select(part or [], "pairs", lambda k: re.fullmatch(r"10\.4\.2\..*", k[0]))
        why = same_flows(got, want) if st0 == 200 and st1 == 200 else (st0, st1)
        t.ok(why is None, "%s: agent %s with a filter = that agent's answer filtered here"
             % (c.name, agent), why)


BAD = [
    ("pairs", "ipprotocol=6", "'ipprotocol' is not a key of this flow"),
    ("pairs", "nosuchkey=1", "'nosuchkey' is not a key of this flow"),
    ("pairs", "mask:ipprotocol:8=1", "'ipprotocol' is not a key of this flow"),
    ("nets", "ipsource=10.4.1.2", "'ipsource' is not a key of this flow"),
    ("pairs", "ipsource=", "missing value"),
    ("pairs", "ipsource=10.4.1.2&", "expression expected"),
    ("pairs", "(ipsource=10.4.1.2", "missing )"),
    ("pairs", "ipsource~(", "bad regex"),
    ("pairs", "nosuchfunction:ipsource=1", "unknown function"),
    ("pairs", "ipsource", "expected = != ~ or !~"),
]


def check_bad(t, c):
    for name, flt, text in BAD:
        st, body = c.flows(name, flt)
        msg = body.get("message", "") if isinstance(body, dict) else ""
        t.ok(st == 400 and isinstance(body, dict) and body.get("error") == 400 and text in msg,
             "%s: %s ?filter=%s is 400 with a JSON message (%s)" % (c.name, name, flt, text),
             (st, body))
    st0, full = c.flows("pairs")
    st1, got = c.flows("pairs", "")
    t.ok(st0 == 200 and st1 == 200 and same_flows(got, full or []) is None,
         "%s: an empty filter is no filter" % c.name, (st1, same_flows(got, full or [])))
    st, body = c.flows("nosuchflow", "ipsource=1")
    t.ok(st == 404, "%s: a filter on an unknown flow is still 404" % c.name, (st, body))


def main():
    args = suite.parse_args("build", "data", "work")
    t = suite.Tap()
    work = os.path.join(args.work, "afilter-%d" % os.getpid())
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    args.samples = suite.ipc(work, "samples")
    args.control = suite.ipc(work, "control")
    pcap = os.path.join(args.data, "fabric-demo.pcap")
    port_a, port_b = ports_for("activeflows_filter", 2)
    a = Cluster(args, work, "a", 1, port_a)
    b = Cluster(args, work, "b", 3, port_b)
    col = suite.collector(args.build, work, args.samples, args.control, "afilter-collector",
                          ["-Dsflow.file=" + pcap, "-Dsflow.file.fast=yes",
                           "-Dsflow.file.loop=yes"])
    flows = {
        "pairs": {"keys": "ipsource,ipdestination", "value": "bytes", "t": 10},
        "nets": {"keys": "mask:ipsource:24,ipdestination", "value": "frames", "fs": "|",
                 "t": 10},
    }
    results = {}
    try:
        a.start()
        b.start()
        for c in (a, b):
            for name, spec in flows.items():
                st = wait_until(lambda: c.http("/flow/%s/json" % name, "PUT", spec)[0], 20)
                t.ok(st == 204, "PUT /flow/%s/json on gateway %s: 204" % (name, c.name), st)
        t.ok(wait_until(lambda: a.ready() and b.ready(), 30),
             "1 and 3 aggregators own the 256 buckets and hold both definitions",
             (a.members(), b.members()))
        col.start()
        # Replay until both clusters have every flow of the capture, then stop:
        # from then on the answers only decay.
        t.ok(wait_until(lambda: all(len(c.flows("pairs")[1] or []) >= 42 for c in (a, b)), 30),
             "both clusters see the capture's 42 address pairs",
             [len(c.flows("pairs")[1] or []) for c in (a, b)])
        time.sleep(1)
        t.ok(col.stop() == 0, "collector stopped (exit 0)", col.rc)
        t.ok(wait_until(lambda: settled(a) and settled(b), 30),
             "the aggregators have handled every queued sample")
        holders = [k for k, v in b.members().items() if v.get("counters", {}).get("sources")]
        t.ok(len(holders) >= 2, "B's flows are spread over %d aggregators" % len(holders),
             b.members())
        for c in (a, b):
            res = {}
            check_cases(t, c, res)
            check_modes(t, c)
            check_bad(t, c)
            results[c.name] = res
        diff = [k for k in results["a"] if results["a"][k] != results["b"].get(k)]
        t.ok(not diff, "1 and 3 aggregators select the same keys for every filter", diff[:3])
    finally:
        col.stop()
        a.stop()
        b.stop()
    procs = [col] + a.procs() + b.procs()
    return suite.finish(t, work, procs)


if __name__ == "__main__":
    sys.exit(main())
