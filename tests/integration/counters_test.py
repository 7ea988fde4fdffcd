#!/usr/bin/python3
"""counters_test.py - counter metrics end to end with real binaries, TAP output.

sfa-gen (6 agents, 4 interfaces each, Host sFlow, counters every second,
32-bit packet counters starting near 2^32 and 64-bit octet counters just
below 2^32 so both cross a boundary about 2.5 s in, agent 1 rebooting at 6 s)
sends to a real sfa-collector on 127.0.0.1; two real sfa-aggregators share the
agents' buckets. This script plays the gateway: it publishes defs.v1 (both
aggregators as members) on an nng pub socket and asks surveys on a surveyor
socket, both with ctypes on libnng; the collector and aggregators talk over
ipc:// paths under the build dir.

While sfa-gen runs, every rate the aggregators hold is dumped twice a second;
at the end they are compared with sfa-gen's truth file:
  * every interface's ifinoctets, ifoutoctets, ifinucastpkts, ifinpkts, and
    every host's bytes_in and pkts_in, within 1% of the true rate;
  * at no time during the run (wraps, reboot) a negative, or one more than 1%
    away from the truth: the generator's rates are constant, so any spike or
    dip shows;
  * the wraps and the reboot were seen (counter_wraps, counter_restarts);
  * host metrics: host_name, os_name, machine_type, load_one,
    load_one_per_cpu, cpu_utilization, cpu_user, mem_utilization;
  * the surveys: metric (sum and max merged across the two aggregators'
    partials), metrics, metric_agent, table, a host_name filter.

Usage: counters_test.py --build BUILD --work WORK
"""
import ctypes
import json
import os
import shutil
import subprocess
import sys
import threading
import time

import msgpack

from suite import LANES, NngSocket, Proc, Tap, collector, fresh_dir, ipc, parse_args, rel, \
    wait_until

AGENTS = 6
IFACES = 4
DURATION = 12
RESTART_AT = 6
RESTART_AGENT = 1
AGGS = ["ctr-a", "ctr-b"]
RATE_METRICS = ["ifinoctets", "ifoutoctets", "ifinucastpkts", "ifinpkts"]
HOST_RATES = ["bytes_in", "pkts_in"]

NNG_FLAG_ALLOC, NNG_FLAG_NONBLOCK = 1, 2
NNG_ETIMEDOUT = 5


# ---- the gateway's side of the control plane, on libnng ----

def nng_lib():
    n = ctypes.CDLL("libnng.so.1")
    n.nng_socket_set_ms.argtypes = [NngSocket, ctypes.c_char_p, ctypes.c_int32]
    n.nng_listen.argtypes = [NngSocket, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int]
    n.nng_send.argtypes = [NngSocket, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    n.nng_recv.argtypes = [NngSocket, ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t),
                           ctypes.c_int]
    n.nng_free.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    n.nng_close.argtypes = [NngSocket]
    return n


def envelope(topic, seq, body):
    env = {"v": 1, "src": "counters-it", "seq": seq, "ts_ms": int(time.time() * 1000),
           "body": body}
    return topic.encode() + b"\0" + msgpack.packb(env, use_bin_type=True)


class FakeGateway:
    """Publishes defs.v1 twice a second and asks surveys."""

    def __init__(self, defs_url, query_url, members):
        self.nng = nng_lib()
        self.defs = NngSocket()
        self.query = NngSocket()
        assert self.nng.nng_pub0_open(ctypes.byref(self.defs)) == 0
        assert self.nng.nng_listen(self.defs, defs_url.encode(), None, 0) == 0
        assert self.nng.nng_surveyor0_open(ctypes.byref(self.query)) == 0
        assert self.nng.nng_listen(self.query, query_url.encode(), None, 0) == 0
        self.nng.nng_socket_set_ms(self.query, b"surveyor:survey-time", 1000)
        self.body = {"version": 1, "flows": {}, "groups": {}, "maps": {},
                     "members": sorted(members), "lanes": LANES}
        self.seq = 0
        self.qseq = 0
        self.stopping = False
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.publish, daemon=True)
        self.thread.start()

    def publish(self):
        while not self.stopping:
            self.seq += 1
            msg = envelope("defs.v1", self.seq, self.body)
            self.nng.nng_send(self.defs, msg, len(msg), 0)
            time.sleep(0.5)

    def survey(self, body):
        """Every aggregator's answer body to the survey body."""
        with self.lock:
            self.qseq += 1
            msg = envelope("query.v1", self.qseq, body)
            if self.nng.nng_send(self.query, msg, len(msg), 0) != 0:
                return []
            answers = []
            buf, size = ctypes.c_void_p(), ctypes.c_size_t()
            while len(answers) < len(AGGS):
                if self.nng.nng_recv(self.query, ctypes.byref(buf), ctypes.byref(size),
                                     NNG_FLAG_ALLOC) != 0:
                    break
                data = ctypes.string_at(buf, size.value)
                self.nng.nng_free(buf, size)
                env = msgpack.unpackb(data.partition(b"\0")[2], raw=False)
                answers.append(env["body"])
            return answers

    def stop(self):
        self.stopping = True
        self.thread.join(2)
        self.nng.nng_close(self.defs)
        self.nng.nng_close(self.query)


# ---- the truth ----

def truth_tables(truth):
    """{(agent, ds, metric): true rate} and {agent: host truth}."""
    rates, hosts = {}, {}
    for a in truth["agents"]:
        for i in a["interfaces"]:
            ds = str(i["ifindex"])
            rates[(a["agent"], ds, "ifinoctets")] = i["ifinoctets_per_s"]
            rates[(a["agent"], ds, "ifoutoctets")] = i["ifoutoctets_per_s"]
            rates[(a["agent"], ds, "ifinucastpkts")] = i["ifinucastpkts_per_s"]
            rates[(a["agent"], ds, "ifinpkts")] = i["ifinucastpkts_per_s"]
        h = a.get("host")
        if h:
            hosts[a["agent"]] = h
            rates[(a["agent"], "2.1", "bytes_in")] = h["bytes_in_per_s"]
            rates[(a["agent"], "2.1", "pkts_in")] = h["pkts_in_per_s"]
    return rates, hosts


def dump(gw, names):
    out = []
    for ans in gw.survey({"op": "dump", "agents": "ALL", "names": names}):
        out.extend(ans.get("result") or [])
    return out


def stats(gw):
    tot = {}
    for ans in gw.survey({"op": "stats"}):
        for k, v in (ans.get("result") or {}).items():
            if isinstance(v, int):
                tot[k] = tot.get(k, 0) + v
    return tot


def merged_metric(gw, body):
    """The two shards' partials of a metric survey, merged here for sum and max."""
    answers = gw.survey(body)
    res = []
    for i, name in enumerate(body["names"]):
        parts = [a["result"][i] for a in answers if len(a.get("result") or []) > i]
        n = sum(p.get("n", 0) for p in parts)
        agg = parts[0]["agg"] if parts else None
        e = {"metricName": name, "metricN": n, "shards": len(parts)}
        have = [p for p in parts if p.get("n", 0) > 0]
        if agg == "sum" and have:
            e["metricValue"] = sum(p["sum"] for p in have)
        elif agg == "max" and have:
            best = max(have, key=lambda p: p["metricValue"])
            e.update(metricValue=best["metricValue"], agent=best["agent"],
                     dataSource=best["dataSource"])
        res.append(e)
    return res, answers


def main():
    args = parse_args("build", "work")
    t = Tap()
    work = fresh_dir(args.work, "ctr-it")
    samples = ipc(work, "samples")
    control = ipc(work, "control")
    defs_url = ipc(work, "defs")
    query_url = ipc(work, "query")
    truth_path = os.path.join(work, "truth.json")

    gw = FakeGateway(defs_url, query_url, AGGS)
    col = collector(args.build, work, samples, control, "ctr-it", ["-Dsflow.hostname=127.0.0.1"])
    aggs = [Proc(work, a, [
        os.path.join(args.build, "sfa-aggregator"), "-Dbus.collectors=" + samples,
        "-Dbus.lanes=%d" % LANES, "-Dbus.defs=" + defs_url, "-Dbus.query=" + query_url,
        "-Daggregator.id=" + a]) for a in AGGS]
    gen = None
    rcs = {}
    try:
        col.start()
        for a in aggs:
            a.start()
        m = col.wait_log(r"Listening, sFlow port (\d+)$", 10)
        if not t.ok(m, "collector listening", col.text()):
            return t.done()
        port = int(m.group(1))

        def owned():
            hello = gw.survey({"op": "hello"})
            n = sum(len(h.get("buckets", [])) for h in hello)
            return len(hello) == len(AGGS) and n == 256
        t.ok(wait_until(owned, 20), "both aggregators answer and own the 256 buckets between them")
        time.sleep(1.0)  # the lanes' subscriptions settle

        gen = subprocess.Popen(
            [os.path.join(args.build, "sfa-gen"), "--target", "127.0.0.1:%d" % port,
             "--agents", str(AGENTS), "--ifaces", str(IFACES), "--rate-pps", "200k",
             "--flows", "8", "--counters", "--counter-interval", "1", "--counter-wrap",
             "--agent-restart", "%d:%d" % (RESTART_AT, RESTART_AGENT), "--host",
             "--duration", str(DURATION), "--truth", truth_path, "--quiet"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        seen = []  # (time since start, entry)
        t0 = time.monotonic()
        while gen.poll() is None:
            for e in dump(gw, RATE_METRICS + HOST_RATES):
                seen.append((time.monotonic() - t0, e))
            time.sleep(0.5)
        out, err = gen.communicate()
        t.ok(gen.returncode == 0, "sfa-gen ran", err)
        time.sleep(1.5)  # the last counter samples reach the aggregators

        with open(truth_path) as f:
            truth = json.load(f)
        rates, hosts = truth_tables(truth)
        t.ok(len(hosts) == AGENTS and len(rates) == AGENTS * (IFACES * 4 + 2),
             "truth: %d agents with hosts, %d rates" % (len(hosts), len(rates)))

        # ---- final rates within 1% ----
        final = {(e["agent"], e["dataSource"], e["metricName"]): e["metricValue"]
                 for e in dump(gw, RATE_METRICS + HOST_RATES)}
        for metric in RATE_METRICS + HOST_RATES:
            keys = [k for k in rates if k[2] == metric]
            missing = [k for k in keys if k not in final]
            worst = max(((rel(final[k], rates[k]), k, final[k], rates[k])
                         for k in keys if k in final), default=(1.0, None, None, None))
            t.ok(not missing and worst[0] < 0.01,
                 "%s of all %d sources within 1%% of the truth (worst %.3f%%)"
                 % (metric, len(keys), worst[0] * 100),
                 "missing %s; worst %s: got %s, truth %s" % (missing[:3], worst[1], worst[2],
                                                             worst[3]))

        # ---- no spike, no negative, at any time ----
        bad = [(round(ts, 1), e["agent"], e["dataSource"], e["metricName"], e["metricValue"],
                rates.get((e["agent"], e["dataSource"], e["metricName"])))
               for ts, e in seen
               if (e["agent"], e["dataSource"], e["metricName"]) in rates and
               (e["metricValue"] < 0 or
                rel(e["metricValue"], rates[(e["agent"], e["dataSource"], e["metricName"])])
                > 0.01)]
        t.ok(len(seen) > 500, "%d rate values observed during the run" % len(seen))
        t.ok(not bad, "no negative and no spiking rate during the run (wraps, reboot): "
             "every value within 1% of the truth", "\n".join(map(str, bad[:10])))
        st = stats(gw)
        t.ok(st.get("counter_wraps", 0) >= AGENTS * IFACES,
             "the 32-bit counters wrapped (%d wraps)" % st.get("counter_wraps", 0), st)
        t.ok(st.get("counter_restarts", 0) >= IFACES + 1,
             "agent %d's reboot seen by its %d sources (%d restarts)"
             % (RESTART_AGENT, IFACES + 1, st.get("counter_restarts", 0)), st)
        t.ok(st.get("counter_sources", 0) == AGENTS * (IFACES + 1),
             "%d counter data sources" % st.get("counter_sources", 0), st)

        # ---- host metrics ----
        names = ["host_name", "os_name", "machine_type", "load_one", "load_one_per_cpu",
                 "cpu_utilization", "cpu_user", "cpu_idle", "mem_utilization", "cpu_num"]
        host = {}
        for e in dump(gw, ["2.1." + n for n in names]):
            host.setdefault(e["agent"], {})[e["metricName"]] = e["metricValue"]
        problems = []
        for agent, h in hosts.items():
            got = host.get(agent, {})
            want_mem = 100.0 * (h["mem_total"] - h["mem_free"] - (256 << 20) - (2 << 30)) \
                / h["mem_total"]
            checks = [
                ("host_name", got.get("host_name") == h["hostname"]),
                ("os_name", got.get("os_name") == "linux"),
                ("machine_type", got.get("machine_type") == "x86_64"),
                ("load_one", rel(got.get("load_one", -1), h["load_one"]) < 1e-6),
                ("load_one_per_cpu", rel(got.get("load_one_per_cpu", -1),
                                         h["load_one"] / h["cpu_num"]) < 1e-6),
                ("cpu_utilization", abs(got.get("cpu_utilization", -1) - 25.0) < 0.25),
                ("cpu_user", abs(got.get("cpu_user", -1) - 20.0) < 0.25),
                ("cpu_idle", abs(got.get("cpu_idle", -1) - 75.0) < 0.25),
                ("mem_utilization", abs(got.get("mem_utilization", -1) - want_mem) < 1e-6),
                ("cpu_num", got.get("cpu_num") == h["cpu_num"]),
            ]
            problems += ["%s %s: %s" % (agent, n, got.get(n)) for n, ok in checks if not ok]
        t.ok(not problems, "host metrics of all %d agents (host_name, os_name, machine_type, "
             "load_one, load_one_per_cpu, cpu_utilization, cpu_user, cpu_idle, "
             "mem_utilization, cpu_num)" % AGENTS, "\n".join(problems))

        # ---- surveys ----
        res, answers = merged_metric(gw, {"op": "metric", "agents": "ALL",
                                          "names": ["sum:ifinoctets", "max:ifinoctets"]})
        true_sum = sum(v for k, v in rates.items() if k[2] == "ifinoctets")
        true_max = max(((v, k) for k, v in rates.items() if k[2] == "ifinoctets"))
        t.ok(len(answers) == 2 and res[0]["shards"] == 2,
             "metric: both aggregators answered with partials", answers)
        t.ok(res[0]["metricN"] == AGENTS * IFACES and
             rel(res[0].get("metricValue", 0), true_sum) < 0.01,
             "metric sum:ifinoctets merged over the shards: n %d, within 1%% of %.0f"
             % (AGENTS * IFACES, true_sum), res[0])
        t.ok(rel(res[1].get("metricValue", 0), true_max[0]) < 0.01 and
             res[1].get("agent") == true_max[1][0] and
             res[1].get("dataSource") == true_max[1][1],
             "metric max:ifinoctets merged: value, agent and dataSource of the largest", res[1])
        a0 = truth["agents"][0]
        res, _ = merged_metric(gw, {"op": "metric", "names": ["sum:ifinoctets"],
                                    "filter": {"host_name": [a0["host"]["hostname"]]}})
        want = sum(i["ifinoctets_per_s"] for i in a0["interfaces"])
        t.ok(res[0]["metricN"] == IFACES and rel(res[0].get("metricValue", 0), want) < 0.01,
             "metric with a host_name filter: that agent's %d interfaces" % IFACES, res[0])
        names = set()
        for ans in gw.survey({"op": "metrics"}):
            names.update((ans.get("result") or {}).keys())
        want_names = {"ifinoctets", "ifinutilization", "ifoperstatus", "iftype", "host_name",
                      "cpu_utilization", "mem_utilization", "bytes_in", "load_one"}
        t.ok(want_names <= names, "metrics lists the counter, derived and host metrics",
             sorted(want_names - names))
        found = [a for a in gw.survey({"op": "metric_agent", "agent": a0["agent"]})
                 if a.get("found")]
        r = found[0]["result"] if len(found) == 1 else {}
        t.ok(len(found) == 1 and r.get("2.1.host_name") == a0["host"]["hostname"] and
             r.get("1.ifoperstatus") == "up" and r.get("1.iftype") == "ethernetCsmacd" and
             rel(r.get("1.ifinoctets", 0), a0["interfaces"][0]["ifinoctets_per_s"]) < 0.01,
             "metric_agent: one aggregator knows the agent; ds.metric keys", found)
        rows = []
        for ans in gw.survey({"op": "table", "names": ["ifindex", "sort:ifinutilization:-3"]}):
            rows.extend(ans.get("result") or [])
        rows.sort(key=lambda r: -r[1]["metricValue"])
        util = sorted((v * 800 / i["ifspeed"] for a in truth["agents"] for i in a["interfaces"]
                       for v in [i["ifinoctets_per_s"]]), reverse=True)
        t.ok(len(rows) >= 3 and rel(rows[0][1]["metricValue"], util[0]) < 0.01,
             "table sorted by ifinutilization: the top row is the busiest interface "
             "(%.4f%%)" % util[0], rows[:3])
    finally:
        if gen and gen.poll() is None:
            gen.kill()
            gen.wait()
        for a in aggs:
            rcs[a.name] = a.stop()
        col.stop()
        gw.stop()
    for a in aggs:
        t.ok("SEVERE" not in a.text() and rcs.get(a.name) == 0,
             "%s logged nothing severe and exited 0 on SIGTERM" % a.name, a.text()[-2000:])
    if t.failed == 0:
        shutil.rmtree(work, ignore_errors=True)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
