#!/usr/bin/python3
"""metrics_test.py - counter metrics, the metric REST API and the Prometheus
exporter, end to end with real binaries. TAP on stdout.

Every case runs the whole suite under the launcher (build/sfa: collector,
two aggregators, sfa-events, gateway) on ipc:// paths under the work dir
and an ephemeral HTTP port on 127.0.0.1.

  captures    each capture of tests/data with counter samples
              (tcpdump-sflow_multiple_counter_30_pdus, cistern-samples,
              overflowd-sflow, fabric-demo) replayed in a loop: every
              interface of its .expected.json if_counters_last (agent and
              ifIndex) is in /dump/ALL/ALL/json and in
              /prometheus/metrics/ALL/ALL/txt (sflow_ifindex{agent=...}),
              and every Host sFlow host name (read from the capture here)
              is in the dump and labels its agent's series (host=...);
              `promtool check metrics` accepts every Prometheus endpoint;
              with fabric-demo, the prometheus app's flow export gives the
              capture's top pair as a series.
  api         tcpdump-sflow_multiple_counter_30_pdus: /metric aggregations
              (max min sum avg var sdev med+quartiles q1 q2 q3 iqr any)
              against values computed here from /dump; qualified names,
              filters (wildcards, OR, AND), agent lists, /table sorting and
              cutting, /metric/{agent}/json, /metrics/json; bad input 400,
              unknown agent 404; prometheus.type=yes and another
              prometheus.metric.prefix.
  prometheus  sfa-gen (3 agents x 4 interfaces, counters every second, Host
              sFlow) over UDP; a real Prometheus server (Debian's binary)
              on a loopback port scrapes /prometheus/metrics/ALL/ALL/txt
              and /sfa/v1/metrics every second; its HTTP API
              (/api/v1/query) gives sfa's series with the values the
              gateway's JSON shows at the same time. Datagrams written
              here (port_name, host_descr) give the ifname and host
              labels. A threshold on ifinoctets fires an event.

promtool and prometheus come from Debian's prometheus package; when they
are missing the test installs them (deploy/install-deps.sh --test) if it
runs as root, else skips what needs them.

Usage: metrics_test.py CASE --build DIR --data DIR --work DIR --source DIR
"""
import json
import math
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import urllib.parse

from suite import Launcher, Tap, free_port, fresh_dir, http_json, parse_args, terminate, \
    wait_until

TAP = Tap(detail_lines=12)
ok, skip, note = TAP.ok, TAP.skip, TAP.note
CAPTURES = ["tcpdump-sflow_multiple_counter_30_pdus", "cistern-samples", "overflowd-sflow",
            "fabric-demo"]


# ---- the suite ----

def launch(args, name, props):
    """The whole suite with two aggregators, in a fresh work directory."""
    return Launcher(args.build, fresh_dir(args.work, "metrics-" + name),
                    ["-Dsfa.aggregators=2"] + props)


# ---- truth read from the captures ----

def capture_hosts(path):
    """{agent: host_name} from the host_descr records (0:2000) of the capture."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    off, hosts = 24, {}
    while off + 16 <= len(data):
        incl = struct.unpack(endian + "I", data[off + 8:off + 12])[0]
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(frame) < 42 or frame[12:14] != b"\x08\x00":
            continue
        p = frame[14 + (frame[14] & 15) * 4 + 8:]
        if len(p) < 28 or struct.unpack("!II", p[:8]) != (5, 1):
            continue
        agent = socket.inet_ntoa(p[8:12])
        o, nsamples = 28, struct.unpack("!I", p[24:28])[0]
        for _ in range(nsamples):
            if o + 8 > len(p):
                break
            fmt, ln = struct.unpack("!II", p[o:o + 8])
            body = p[o + 8:o + 8 + ln]
            o += 8 + ln
            if fmt not in (2, 4):
                continue
            bo = 8 if fmt == 2 else 12
            nrec = struct.unpack("!I", body[bo:bo + 4])[0]
            bo += 4
            for _ in range(nrec):
                rf, rl = struct.unpack("!II", body[bo:bo + 8])
                rec = body[bo + 8:bo + 8 + rl]
                bo += 8 + rl
                if rf == 2000:
                    hl = struct.unpack("!I", rec[:4])[0]
                    hosts[agent] = rec[4:4 + hl].decode()
    return hosts


def capture_ifaces(data_dir, name):
    with open(os.path.join(data_dir, name + ".pcap.expected.json")) as f:
        last = json.load(f)["truth"]["if_counters_last"]
    return {(k.split("|")[0], int(k.split("|")[1])) for k in last}


# ---- Prometheus text ----

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_prom(text):
    """[(name, {labels}, value)], and the lines that did not parse."""
    out, bad = [], []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = LINE.match(line)
        if not m:
            bad.append(line)
            continue
        out.append((m.group(1), dict(LABEL.findall(m.group(2) or "")), float(m.group(3))))
    return out, bad


PROMTOOL = None


def promtool_ready():
    """Path of promtool, installing Debian's prometheus package if needed."""
    global PROMTOOL
    if PROMTOOL is None:
        PROMTOOL = shutil.which("promtool") or ""
        if not PROMTOOL and os.geteuid() == 0:
            deps = os.path.join(ARGS.source, "deploy", "install-deps.sh")
            subprocess.run([deps, "--test"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=600)
            PROMTOOL = shutil.which("promtool") or ""
    return PROMTOOL


def promtool_check(text):
    """(returncode, output) of promtool check metrics on text."""
    p = subprocess.run([promtool_ready(), "check", "metrics"], input=text.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    return p.returncode, p.stdout.decode(errors="replace")


def check_promtool(s, path, what):
    if not promtool_ready():
        skip("promtool check metrics " + what, "promtool not installed")
        return
    st, raw = s.get(path)
    rc, out = promtool_check(raw.decode(errors="replace"))
    ok(st == 200 and rc == 0, "promtool check metrics passes on %s" % what,
       "status %s rc %s\n%s" % (st, rc, out))


# ---- case: captures ----

def dump_all(s):
    st, body = s.json("/dump/ALL/ALL/json")
    return body if st == 200 and isinstance(body, list) else []


def ifaces_in_dump(dump):
    return {(e["agent"], int(e["metricValue"])) for e in dump
            if e.get("metricName") == "ifindex" and isinstance(e.get("metricValue"), (int, float))}


def case_one_capture(args, name):
    pcap = os.path.join(args.data, name + ".pcap")
    want = capture_ifaces(args.data, name)
    hosts = capture_hosts(pcap)
    note("%s: %d interfaces, hosts %s" % (name, len(want), hosts))
    s = launch(args, name[:12], ["-Dsflow.file=" + pcap, "-Dsflow.file.loop=yes",
                                 "-Dsflow.port=0"])
    try:
        ok(s.ready(2), "%s: the suite runs with two aggregators" % name)
        wait_until(lambda: want <= ifaces_in_dump(dump_all(s)), 60, 1.0)
        dump = dump_all(s)
        have = ifaces_in_dump(dump)
        ok(want <= have, "%s: /dump/ALL/ALL/json has all %d interfaces (agent, ifIndex)"
           % (name, len(want)), sorted(want - have)[:10])
        names = {(e["agent"], e["metricValue"]) for e in dump if e.get("metricName") == "host_name"}
        ok(all((a, h) in names for a, h in hosts.items()),
           "%s: /dump/ALL/ALL/json has the host names %s" % (name, sorted(hosts.values())),
           sorted(names))
        st, raw = s.get("/prometheus/metrics/ALL/ALL/txt")
        series, bad = parse_prom(raw.decode(errors="replace"))
        ok(st == 200 and series and not bad, "%s: /prometheus/metrics/ALL/ALL/txt: %d series"
           % (name, len(series)), bad[:5])
        pif = {(lab.get("agent"), int(v)) for n, lab, v in series if n == "sflow_ifindex"}
        ok(want <= pif, "%s: Prometheus has sflow_ifindex for every interface" % name,
           sorted(want - pif)[:10])
        ds_ok = all(lab.get("datasource") for n, lab, v in series) and \
            all(re.match(r"^sflow_[a-zA-Z0-9_]+$", n) for n, lab, v in series)
        ok(ds_ok, "%s: every series is sflow_<metric>{agent, datasource}" % name)
        for agent, host in sorted(hosts.items()):
            labelled = [n for n, lab, v in series if lab.get("agent") == agent]
            ok(labelled and all(lab.get("host") == host for n, lab, v in series
                                if lab.get("agent") == agent),
               "%s: every series of %s has host=\"%s\" (%d series)" % (name, agent, host,
                                                                    len(labelled)))
        texts = [n for n, lab, v in series if n in ("sflow_host_name", "sflow_iftype",
                                                    "sflow_ifoperstatus")]
        ok(not texts, "%s: text metrics are not exported" % name, texts[:3])
        check_promtool(s, "/prometheus/metrics/ALL/ALL/txt", "%s ALL/ALL" % name)
        check_promtool(s, "/prometheus/metrics/ALL/ifinoctets,ifoutoctets,ifspeed/txt",
                       "%s ifinoctets,ifoutoctets,ifspeed" % name)
        check_promtool(s, "/prometheus/analyzer/txt", "/prometheus/analyzer/txt")
        check_promtool(s, "/sfa/v1/metrics", "/sfa/v1/metrics")
        if name == "fabric-demo":
            case_flow_export(s)
            case_flow_metrics(s)
    finally:
        ok(s.stop() == 0, "%s: sfa stops cleanly" % name)


def case_flow_export(s):
    path = ("/app/prometheus/scripts/export.js/flows/ALL/txt?metric=ip_src_dst_bps"
            "&key=ipsource&key=ipdestination&label=src&label=dst&value=bytes&scale=8"
            "&minValue=1000&maxFlows=5")
    st, _ = s.get(path)
    ok(st == 200, "flow export: first scrape 200 (defines the flow)", st)

    def top():
        st, raw = s.get(path)
        series, bad = parse_prom(raw.decode(errors="replace"))
        return series if st == 200 and series and not bad else None
    series = wait_until(top, 30, 1.0) or []
    ok(len(series) == 5 and all(n == "ip_src_dst_bps" and set(lab) == {"src", "dst"}
                                for n, lab, v in series),
       "flow export: 5 series ip_src_dst_bps{src, dst}", series)
    ok(series and series[0][1] == {"src": "10.4.1.2", "dst": "10.4.2.2"} and
       series[0][2] > 1000, "flow export: the top pair is 10.4.1.2 -> 10.4.2.2 (bits/s)",
       series[:2])
    st, flows = s.json("/flow/json")
    ok(st == 200 and not any(k.startswith("prometheus_") for k in flows),
       "flow export: the hidden definition is not listed by /flow/json", flows)
    check_promtool(s, path, "the flow export")

    def definitions():
        st, b = s.json("/sfa/v1/stats")
        return sorted(v.get("counters", {}).get("definitions", -1) for v in (b or {}).values()
                      if isinstance(v, dict) and v.get("service") == "aggregator")
    ok(definitions() == [1, 1], "flow export: scrapes share one hidden definition",
       definitions())
    st, _ = s.get(path.replace("value=bytes", "value=frames"))
    ok(st == 200 and wait_until(lambda: definitions() == [2, 2], 10),
       "flow export: another value gets its own definition", definitions())
    st, raw = s.get(path.replace("&label=dst", ""))
    ok(st == 400, "flow export: 2 keys and 1 label: 400", raw[:200])
    st, raw = s.get("/app/prometheus/scripts/export.js/flows/ALL/txt?key=ipsource&value=bytes")
    ok(st == 400, "flow export: no metric: 400", raw[:200])
    st, raw = s.get("/app/prometheus/scripts/export.js/flows/ALL/txt?metric=x&key=ipsource"
                    "&value=bytes&n=0")
    ok(st == 400, "flow export: n=0: 400", raw[:200])


def case_flow_metrics(s):
    """A flow definition is a metric too (spec 2.6): topKeys in /metric and
    /dump; a series when named in /prometheus/metrics, none under ALL."""
    st = s.put("/flow/pairs/json", {"keys": "ipsource,ipdestination", "value": "bytes"})
    ok(st == 204, "PUT /flow/pairs/json: 204", st)

    def top():
        st, res = s.json("/metric/ALL/max:pairs/json")
        e = res[0] if st == 200 and isinstance(res, list) and res else {}
        return e if e.get("metricValue", 0) > 0 and e.get("topKeys") else None
    e = wait_until(top, 20, 1.0) or {}
    ok(e.get("topKeys") and e["topKeys"][0]["key"] == "10.4.1.2,10.4.2.2" and
       e.get("agent") and e.get("dataSource"),
       "/metric/ALL/max:pairs/json: the busiest data source, topKeys led by "
       "10.4.1.2,10.4.2.2", e)
    st, dump = s.json("/dump/ALL/pairs/json")
    ok(st == 200 and dump and all("topKeys" in d and d["metricName"] == "pairs" for d in dump),
       "/dump/ALL/pairs/json: entries with topKeys", dump)
    st, raw = s.get("/prometheus/metrics/ALL/pairs/txt")
    series, _ = parse_prom(raw.decode(errors="replace"))
    have = {(lab.get("agent"), lab.get("datasource")) for _, lab, _ in series}
    ok(st == 200 and all(n == "sflow_pairs" for n, _, _ in series) and
       have >= {(d["agent"], d["dataSource"]) for d in dump or []},
       "/prometheus/metrics/ALL/pairs/txt: one series per data source", series[:3])
    st, raw = s.get("/prometheus/metrics/ALL/ALL/txt")
    series, _ = parse_prom(raw.decode(errors="replace"))
    ok(st == 200 and series and not any(n == "sflow_pairs" for n, _, _ in series),
       "/prometheus/metrics/ALL/ALL/txt leaves flow metrics out")


def case_captures(args):
    for name in CAPTURES:
        case_one_capture(args, name)


# ---- case: api ----

def quantile(sorted_vals, p):
    pos = p * (len(sorted_vals) - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(sorted_vals) - 1)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (pos - lo)


def expected_aggs(vals):
    n = len(vals)
    sv = sorted(vals)
    mean = sum(vals) / n
    var = sum((v - mean) ** 2 for v in vals) / n
    return {"max": sv[-1], "min": sv[0], "sum": sum(vals), "avg": mean, "var": var,
            "sdev": math.sqrt(var), "med": quantile(sv, 0.5), "q1": quantile(sv, 0.25),
            "q2": quantile(sv, 0.5), "q3": quantile(sv, 0.75),
            "iqr": quantile(sv, 0.75) - quantile(sv, 0.25)}


def close(a, b, tol=1e-9):
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def check_aggregations(s, metric, dump):
    vals = [e["metricValue"] for e in dump]
    exp = expected_aggs(vals)
    aggs = list(exp) + ["any"]
    st, res = s.json("/metric/ALL/%s/json" % ",".join("%s:%s" % (a, metric) for a in aggs))
    ok(st == 200 and isinstance(res, list) and len(res) == len(aggs),
       "/metric/ALL/<12 aggregations>:%s/json: one entry per name" % metric, res)
    if not isinstance(res, list) or len(res) != len(aggs):
        return
    by = {e["metricName"]: e for e in res}
    for a in aggs:
        e = by.get("%s:%s" % (a, metric), {})
        good = e.get("metricN") == len(vals)
        if a == "any":
            good = good and e.get("metricValue") in vals
        else:
            good = good and close(e.get("metricValue", float("nan")), exp[a])
        if a in ("max", "min", "any"):
            good = good and any(d["agent"] == e.get("agent") and
                                d["dataSource"] == e.get("dataSource") and
                                d["metricValue"] == e.get("metricValue") for d in dump)
        if a == "med":
            q = e.get("quartiles", {})
            good = good and all(close(q.get(k, float("nan")), exp[x]) for k, x in
                                (("min", "min"), ("q1", "q1"), ("med", "med"), ("q3", "q3"),
                                 ("max", "max")))
        ok(good, "%s:%s = %s over %d data sources (computed here: %s)"
           % (a, metric, e.get("metricValue"), len(vals), exp.get(a, "one of them")), e)


def case_api(args):
    name = "tcpdump-sflow_multiple_counter_30_pdus"
    pcap = os.path.join(args.data, name + ".pcap")
    want = capture_ifaces(args.data, name)
    hosts = capture_hosts(pcap)
    s = launch(args, "api", ["-Dsflow.file=" + pcap, "-Dsflow.file.loop=yes", "-Dsflow.port=0",
                             "-Dprometheus.type=yes", "-Dprometheus.metric.prefix=net_"])
    try:
        ok(s.ready(2), "the suite runs with two aggregators")
        wait_until(lambda: want <= ifaces_in_dump(dump_all(s)), 60, 1.0)
        st, dump = s.json("/dump/ALL/ifindex;ifspeed/json")
        ok(st == 200 and isinstance(dump, list) and
           len([e for e in dump if e["metricName"] == "ifindex"]) == len(want),
           "/dump/ALL/ifindex;ifspeed/json: %d interfaces" % len(want),
           (st, str(dump)[:300]))
        by_metric = {}
        for e in dump or []:
            by_metric.setdefault(e["metricName"], []).append(e)
        ok(all(set(e) >= {"agent", "dataSource", "metricName", "metricValue", "lastUpdate"}
               for e in dump or []),
           "dump entries carry agent, dataSource, metricName, metricValue, lastUpdate")
        for metric in ("ifindex", "ifspeed"):
            check_aggregations(s, metric, by_metric.get(metric, []))

        # Qualified names and filters.
        st, mem = s.json("/dump/ALL/mem_total/json")
        host_mem = [e for e in mem if e["dataSource"] == "2.1"] if st == 200 else []
        ok(len(host_mem) == len(hosts), "mem_total of the %d host agents" % len(hosts), mem)
        st, res = s.json("/metric/ALL/sum:2.1.mem_total/json")
        ok(st == 200 and close(res[0].get("metricValue", -1), sum(e["metricValue"]
                                                                   for e in host_mem)) and
           res[0]["metricName"] == "sum:2.1.mem_total",
           "sum:2.1.mem_total (data-source qualified) = the sum of the hosts'", res)
        speeds = sorted({e["metricValue"] for e in by_metric.get("ifspeed", [])})
        sp = speeds[0] if speeds else 0
        idx = [e for e in by_metric.get("ifindex", [])
               if any(x["agent"] == e["agent"] and x["dataSource"] == e["dataSource"] and
                      x["metricValue"] == sp for x in by_metric.get("ifspeed", []))]
        st, res = s.json("/metric/ALL/sum:ifindex/json?ifspeed=%.15g" % sp)
        ok(st == 200 and res[0].get("metricN") == len(idx) and
           close(res[0].get("metricValue", -1), sum(e["metricValue"] for e in idx)),
           "filter ?ifspeed=%.15g selects its %d interfaces" % (sp, len(idx)), res)
        proxy = [a for a, h in hosts.items() if h.startswith("proxy")]
        st, res = s.json("/dump/ALL/load_one/json?host_name=proxy*")
        ok(st == 200 and sorted(e["agent"] for e in res) == proxy,
           "filter host_name=proxy* (wildcard): %s" % proxy, res)
        st, res = s.json("/dump/ALL/load_one/json?host_name=proxy*&host_name=use*")
        ok(st == 200 and sorted(e["agent"] for e in res) == sorted(hosts),
           "filter host_name=proxy*&host_name=use* (OR): both hosts", res)
        st, res = s.json("/dump/ALL/load_one/json?host_name=proxy*&os_name=windows")
        ok(st == 200 and res == [], "filter host_name=proxy*&os_name=windows (AND): none", res)
        st, res = s.json("/dump/ALL/load_one/json?os_name=linux&host_name=*")
        ok(st == 200 and len(res) == len(hosts), "filter os_name=linux&host_name=*", res)

        # Agent lists.
        two = sorted({a for a, _ in want})[:2]
        for sep in (",", ";"):
            st, res = s.json("/dump/%s/ifindex/json" % sep.join(two))
            ok(st == 200 and res and {e["agent"] for e in res} == set(two) and
               len(res) == len([1 for a, _ in want if a in two]),
               "/dump/<two agents joined by '%s'>/ifindex/json" % sep, res)

        # Tables.
        st, rows = s.json("/table/ALL/sort:ifindex:-5,ifspeed/json")
        top = sorted((e["metricValue"] for e in by_metric.get("ifindex", [])), reverse=True)[:5]
        ok(st == 200 and len(rows) == 5 and [r[0]["metricValue"] for r in rows] == top and
           all(len(r) == 2 and r[1]["metricName"] == "ifspeed" and
               r[0]["agent"] == r[1]["agent"] and r[0]["dataSource"] == r[1]["dataSource"]
               for r in rows), "/table/ALL/sort:ifindex:-5,ifspeed/json: top 5, sorted", rows)
        st, rows = s.json("/table/ALL/ifspeed,sort:ifindex:3/json")
        bottom = sorted(e["metricValue"] for e in by_metric.get("ifindex", []))[:3]
        ok(st == 200 and [r[1]["metricValue"] for r in rows] == bottom,
           "/table/ALL/ifspeed,sort:ifindex:3/json: 3 smallest, ascending", rows)
        st, rows = s.json("/table/ALL/ifindex,load_one/json")
        ok(st == 200 and rows == [], "/table with columns no data source has together: []", rows)

        # One agent, names.
        hagent = proxy[0] if proxy else "0.0.0.0"
        st, res = s.json("/metric/%s/json" % hagent)
        ok(st == 200 and res.get("2.1.host_name") == hosts.get(hagent) and
           isinstance(res.get("2.1.load_one"), float),
           "/metric/%s/json: {\"2.1.host_name\": ..., \"2.1.load_one\": ...}" % hagent,
           str(res)[:300])
        st, res = s.json("/metric/10.9.9.9/json")
        ok(st == 404 and res.get("error") == 404, "/metric/10.9.9.9/json: unknown agent 404", res)
        st, res = s.json("/metrics/json")
        ok(st == 200 and {"ifindex", "ifspeed", "load_one", "host_name"} <= set(res),
           "/metrics/json names the counter and host metrics", res)
        st, res = s.json("/metric/ALL/max:no_such_metric/json")
        ok(st == 200 and res == [{"metricName": "max:no_such_metric", "metricN": 0}],
           "a metric without data: metricN 0 and no metricValue", res)

        # Bad input.
        for path in ("/metric/ALL/foo:ifindex/json", "/metric/ALL/ifindex,,ifspeed/json",
                     "/metric/ALL/sort:ifindex/json", "/metric/TOPOLOGY/ifindex/json",
                     "/metric/10.0.0/ifindex/json", "/dump/ALL/max:ifindex/json",
                     "/dump/ALL/ALL,ifindex/json", "/table/ALL/sort:ifindex:abc/json",
                     "/table/ALL/sort:/json", "/table/ALL/sort:ifindex:-5:1/json",
                     "/metric/ALL/ifindex/json?bad%20name=1",
                     "/metric/ALL/ifindex/json?os_name=%ZZ", "/metric/ALL/json",
                     "/prometheus/metrics/ALL/max:ifindex/txt",
                     "/prometheus/metrics/ALL/ifindex/txt?x%3Dy=1",
                     "/metric/ALL/ifindex/json?os_name=%FF", "/dump/ALL/ifindex/json?os_name=%00",
                     "/dump/ALL/ifindex/json?" + "a=1&" * 5000,
                     "/dump/ALL/ifindex/json?host_name=" + "x" * 2000,
                     "/metric/ALL/" + "ifindex," * 40 + "ifspeed/json"):
            st, res = s.json(path)
            ok(st == 400 and isinstance(res, dict) and res.get("error") == 400 and
               res.get("message"), "GET %s: 400 with a message" % path[:100], (st, res))

        # prometheus.type=yes, prometheus.metric.prefix=net_.
        st, raw = s.get("/prometheus/metrics/ALL/ifspeed,load_one,mem_total/txt")
        text = raw.decode(errors="replace")
        series, bad = parse_prom(text)
        ok(st == 200 and series and all(n.startswith("net_") for n, _, _ in series) and
           "# TYPE net_ifspeed gauge" in text and "# TYPE net_load_one gauge" in text,
           "prometheus.type=yes and prefix net_: net_* series with # TYPE gauge", text[:300])
        if promtool_ready():
            rc, out = promtool_check(text)
            lint = [l for l in out.splitlines() if l.strip()]
            ok(rc in (0, 3) and all("_total" in l for l in lint),
               "promtool: no parse error; lint only on gauges named *_total (mem_total)", out)
        else:
            skip("promtool on prometheus.type=yes output", "promtool not installed")
    finally:
        ok(s.stop() == 0, "sfa stops cleanly")


# ---- case: prometheus ----

def xdr_string(b):
    return struct.pack("!I", len(b)) + b + b"\0" * (-len(b) % 4)


def crafted_datagram(agent, seq, uptime_ms, ifindex, ifname, host):
    """An sFlow v5 datagram written here: a counter sample of ifIndex with
    generic interface counters (0:1) and its port name (0:1005), and a host
    sample (2.1) with host_descr (0:2000)."""
    generic = struct.pack("!IIQIIQIIIIIIQIIIIII", ifindex, 6, 10 ** 9, 1, 3,
                          1000 * seq, seq, 0, 0, 0, 0, 0, 2000 * seq, seq, 0, 0, 0, 0, 0)
    port = xdr_string(ifname.encode())
    recs = (struct.pack("!II", 1, len(generic)) + generic +
            struct.pack("!II", 1005, len(port)) + port)
    ifsample = struct.pack("!III", seq, ifindex, 2) + recs
    descr = xdr_string(host.encode()) + b"\x11" * 16 + struct.pack("!II", 3, 2) + \
        xdr_string(b"6.1.0")
    hrecs = struct.pack("!II", 2000, len(descr)) + descr
    hsample = struct.pack("!III", seq, (2 << 24) | 1, 1) + hrecs
    samples = (struct.pack("!II", 2, len(ifsample)) + ifsample +
               struct.pack("!II", 2, len(hsample)) + hsample)
    return struct.pack("!II4sIIII", 5, 1, socket.inet_aton(agent), 0, seq, uptime_ms, 2) + samples


def check_crafted_labels(s, udp):
    """ifname and host labels from port_name and host_descr records."""
    agent, ifname, host = "192.0.2.99", "swp7", "leaf-7"
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def labelled():
        for seq in (1, 2):
            sock.sendto(crafted_datagram(agent, seq, seq * 1000, 7, ifname, host),
                        ("127.0.0.1", udp))
        st, raw = s.get("/prometheus/metrics/%s/ifindex,ifspeed/txt" % agent)
        series, _ = parse_prom(raw.decode(errors="replace"))
        # The host sample may be merged a moment after the interface's:
        # wait until both labels are there, not just the two series.
        done = st == 200 and len(series) == 2 and all(
            lab.get("ifname") == ifname and lab.get("host") == host for n, lab, v in series)
        return series if done else None
    series = wait_until(labelled, 20, 1.0) or []
    sock.close()
    ok(series and all(lab == {"agent": agent, "datasource": "7", "ifname": ifname, "host": host}
                      for n, lab, v in series) and
       sorted((n, v) for n, lab, v in series) == [("sflow_ifindex", 7.0),
                                                   ("sflow_ifspeed", 1e9)],
       "port_name and host_descr label the interface: ifname=\"%s\", host=\"%s\"" % (ifname, host),
       series)

def prom_query(base, q):
    url = base + "/api/v1/query?" + urllib.parse.urlencode({"query": q})
    _, body = http_json(url, timeout=10)
    if body is None or body.get("status") != "success":
        return None
    return [(x["metric"], float(x["value"][1])) for x in body["data"]["result"]]


def case_prometheus(args):
    prom = shutil.which("prometheus") if promtool_ready() else None
    if not prom:
        skip("Prometheus server scrapes the gateway", "prometheus not installed")
        return
    udp = free_port(socket.SOCK_DGRAM)
    s = launch(args, "prom", ["-Dsflow.port=%d" % udp])
    gen = server = None
    try:
        ok(s.ready(2), "the suite runs with two aggregators")
        gen = subprocess.Popen([os.path.join(args.build, "sfa-gen"),
                                "--target", "127.0.0.1:%d" % udp, "--agents", "3",
                                "--ifaces", "4", "--flows", "4", "--rate-bps", "80M",
                                "--counters", "--counter-interval", "1", "--host",
                                "--duration", "300", "--quiet"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def rates():
            st, d = s.json("/dump/ALL/ifinoctets/json")
            return st == 200 and len(d) == 12 and all(e["metricValue"] > 0 for e in d)
        ok(wait_until(rates, 30), "sfa-gen's 12 interfaces have ifinoctets rates")

        # Prometheus on a free loopback port, scraping the gateway every second.
        pport = free_port()
        pdir = os.path.join(s.work, "prometheus")
        os.makedirs(os.path.join(pdir, "data"))
        cfg = os.path.join(pdir, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "scrape_configs:\n"
                    "  - job_name: sfa-metrics\n"
                    "    metrics_path: /prometheus/metrics/ALL/ALL/txt\n"
                    "    honor_labels: true\n"
                    "    static_configs:\n      - targets: ['127.0.0.1:%d']\n"
                    "  - job_name: sfa-self\n"
                    "    metrics_path: /sfa/v1/metrics\n"
                    "    honor_labels: true\n"
                    "    static_configs:\n      - targets: ['127.0.0.1:%d']\n"
                    % (s.port, s.port))
        plog = open(os.path.join(pdir, "prometheus.log"), "w")
        server = subprocess.Popen([prom, "--config.file=" + cfg,
                                   "--storage.tsdb.path=" + os.path.join(pdir, "data"),
                                   "--web.listen-address=127.0.0.1:%d" % pport],
                                  stdout=plog, stderr=plog)
        pbase = "http://127.0.0.1:%d" % pport

        def targets_up():
            r = prom_query(pbase, "up")
            return r is not None and len(r) == 2 and all(v == 1 for _, v in r)
        ok(wait_until(targets_up, 60, 1.0), "Prometheus scrapes both gateway endpoints (up == 1)",
           prom_query(pbase, "up"))
        ok(wait_until(lambda: len(prom_query(pbase, "sflow_ifinoctets") or []) == 12, 30, 1.0),
           "Prometheus has 12 sflow_ifinoctets series",
           prom_query(pbase, "sflow_ifinoctets"))

        # Values: Prometheus's latest sample against the gateway's JSON now.
        for metric, tol in (("ifspeed", 0.0), ("ifindex", 0.0), ("ifinoctets", 0.05),
                            ("ifoutoctets", 0.05), ("mem_total", 0.0), ("load_one", 0.05)):
            res = prom_query(pbase, "sflow_" + metric) or []
            st, dump = s.json("/dump/ALL/%s/json" % metric)
            truth = {(e["agent"], e["dataSource"]): e["metricValue"] for e in dump or []}
            got = {(m.get("agent"), m.get("datasource")): v for m, v in res}
            bad = [(k, got.get(k), v) for k, v in truth.items()
                   if k not in got or abs(got[k] - v) > tol * max(abs(v), 1e-9)]
            ok(truth and not bad, "Prometheus sflow_%s = the gateway's /dump (%d series, "
               "tolerance %g%%)" % (metric, len(truth), tol * 100), bad[:5])
        res = prom_query(pbase, "sflow_load_one") or []
        st, hn = s.json("/dump/ALL/host_name/json")
        names = {e["agent"]: e["metricValue"] for e in hn or []}
        ok(res and all(m.get("host") == names.get(m.get("agent")) for m, _ in res),
           "sflow_load_one carries host=<the agent's host_name>", res)

        # sfa's own counters.
        res = prom_query(pbase, "sfa_aggregator_counters_samples") or []
        st, stats = s.json("/sfa/v1/stats")
        now = {k: v.get("counters", {}).get("counter_samples") for k, v in (stats or {}).items()
               if isinstance(v, dict) and v.get("service") == "aggregator"}
        got = {m.get("id"): v for m, v in res}
        ok(len(got) == 2 and set(got) == set(now) and
           all(0 < got[k] <= now[k] for k in got) and
           all(m.get("service") == "aggregator" for m, _ in res),
           "sfa_aggregator_counters_samples{service, id}: both aggregators, values up to "
           "/sfa/v1/stats'", (got, now))
        res = prom_query(pbase, "sfa_gateway_http_requests") or []
        ok(len(res) == 1 and res[0][1] > 0, "sfa_gateway_http_requests is scraped", res)
        res = prom_query(pbase, "sum(sfa_collector_decode_counters_samples)") or []
        ok(res and res[0][1] > 0, "sfa_collector_decode_counters_samples is scraped", res)

        check_crafted_labels(s, udp)

        # A counter-metric threshold fires an event.
        st = s.put("/threshold/busy_port/json", {"metric": "ifinoctets", "value": 1000})
        ok(st == 204, "PUT /threshold/busy_port/json on ifinoctets: 204", st)
        st, ev = s.json("/events/json?thresholdID=busy_port&timeout=15&maxEvents=20", 30)
        ok(st == 200 and ev and all(e.get("metric") == "ifinoctets" and e["value"] > 1000 and
                                     e.get("thresholdID") == "busy_port" and
                                     re.match(r"^\d+$", e.get("dataSource", ""))
                                     for e in ev),
           "the ifinoctets threshold fires events for interface data sources", ev)
    finally:
        if server:
            terminate(server, timeout=20)
        if gen:
            terminate(gen, timeout=10)
        ok(s.stop() == 0, "sfa stops cleanly")
        shutil.rmtree(os.path.join(s.work, "prometheus", "data"), ignore_errors=True)


def main():
    global ARGS
    cases = {"captures": case_captures, "api": case_api, "prometheus": case_prometheus}
    ARGS = parse_args("build", "data", "work", "source", cases=cases)
    cases[ARGS.case](ARGS)
    return TAP.done()


ARGS = None

if __name__ == "__main__":
    sys.exit(main())
