#!/usr/bin/python3
"""aggregator_test.py - sfa-aggregator end to end with real binaries, TAP output.

One sfa-collector replays tests/data/fabric-demo.pcap at the capture's pace on
ipc:// lanes under the build dir. Two independent clusters read it at the same
time, each a real sfa-gateway (HTTP on 127.0.0.1) with its own aggregators:
cluster A has one aggregator, cluster B three. Both get the flow definition
{"keys":"ipsource,ipdestination","value":"bytes"} through PUT /flow/pairs/json.

The truth is computed here, independently of the C code: this file reads the
capture itself (frame length x sampling rate of every sampled IPv4 header, per
agent and data source) and a bus subscriber written here (ctypes on libnng,
msgpack) notes when each datagram of the capture arrives. With the smoothing of
proto/FLOWS.md the expected value of a key at a data source at time q is
sum(x / T * exp(-(q - arrival) / T)); the answer of aggMode max is the largest
over data sources.

Checks:
  * the top flows of cluster A include 10.4.1.2,10.4.2.2 (first), and the top
    keys' values are within 10% of the truth;
  * cluster B (3 aggregators) answers the same keys with values within 1% of
    cluster A, in max and sum mode;
  * SIGKILL of one of B's aggregators: every query still answers 200 within
    the deadline; the gateway sees two live aggregators;
  * the killed aggregator restarted with the same id rejoins and B's answers
    return to A's (same keys, values within 1%).

Usage: aggregator_test.py --build BUILD --data DATA --work WORK
"""
import argparse
import bisect
import ctypes
import json
import math
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import msgpack

LANES = 4
T = 2.0  # the flow definition's default t
TOP_KEY = "10.4.1.2,10.4.2.2"
DEADLINE_MS = 1000


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, what, detail=None):
        self.n += 1
        if not cond:
            self.failed += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, what))
        if not cond and detail is not None:
            for line in str(detail).splitlines()[:20]:
                print("# " + line)
        sys.stdout.flush()
        return cond

    def note(self, text):
        print("# " + text)
        sys.stdout.flush()

    def done(self):
        print("1..%d" % self.n)
        if self.failed:
            print("# %d of %d checks failed" % (self.failed, self.n))
        return 1 if self.failed else 0


# ---- the capture, read here ----

def read_capture(path):
    """{(agent, seq): [(ds_index, key, bytes x rate), ...]} for every datagram."""
    out = {}
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        ip = 14
        udp = ip + (frame[ip] & 15) * 4
        p = frame[udp + 8:]
        if struct.unpack("!I", p[4:8])[0] != 1:
            continue  # IPv4 agents only in this capture
        agent = socket.inet_ntoa(p[8:12])
        seq, _, nsamples = struct.unpack("!III", p[16:28])
        o, samples = 28, []
        for _ in range(nsamples):
            fmt, ln = struct.unpack("!II", p[o:o + 8])
            body = p[o + 8:o + 8 + ln]
            o += 8 + ln
            if fmt != 1:
                continue
            srcid, rate = struct.unpack("!II", body[4:12])
            nrec = struct.unpack("!I", body[28:32])[0]
            bo = 32
            for _ in range(nrec):
                rf, rl = struct.unpack("!II", body[bo:bo + 8])
                rec = body[bo + 8:bo + 8 + rl]
                bo += 8 + rl
                if rf != 1:
                    continue
                flen, _, hlen = struct.unpack("!III", rec[4:16])
                hdr = rec[16:16 + hlen]
                et, io = struct.unpack("!H", hdr[12:14])[0], 14
                while et in (0x8100, 0x88A8):
                    et, io = struct.unpack("!H", hdr[io + 2:io + 4])[0], io + 4
                if et != 0x0800:
                    continue
                key = socket.inet_ntoa(hdr[io + 12:io + 16]) + "," + \
                    socket.inet_ntoa(hdr[io + 16:io + 20])
                samples.append((srcid & 0xFFFFFF, key, flen * rate))
        out[(agent, seq)] = samples
    return out


# ---- a bus subscriber that notes arrival times ----

class NngSocket(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint32)]


class Arrivals(threading.Thread):
    """Subscribes to flow.v1. on every lane; records (monotonic time, agent, seq)."""

    def __init__(self, samples_url):
        super().__init__(daemon=True)
        self.nng = ctypes.CDLL("libnng.so.1")
        n = self.nng
        n.nng_socket_set.argtypes = [NngSocket, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t]
        n.nng_socket_set_ms.argtypes = [NngSocket, ctypes.c_char_p, ctypes.c_int32]
        n.nng_socket_set_int.argtypes = [NngSocket, ctypes.c_char_p, ctypes.c_int]
        n.nng_socket_set_size.argtypes = [NngSocket, ctypes.c_char_p, ctypes.c_size_t]
        n.nng_dial.argtypes = [NngSocket, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int]
        n.nng_recv.argtypes = [NngSocket, ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t),
                               ctypes.c_int]
        n.nng_close.argtypes = [NngSocket]
        self.sock = NngSocket()
        assert n.nng_sub0_open(ctypes.byref(self.sock)) == 0
        n.nng_socket_set(self.sock, b"sub:subscribe", b"flow.v1.", 8)
        n.nng_socket_set_ms(self.sock, b"recv-timeout", 200)
        n.nng_socket_set_int(self.sock, b"recv-buffer", 8192)
        n.nng_socket_set_size(self.sock, b"recv-size-max", 64 << 20)
        for lane in range(LANES):
            url = ("%s.%d" % (samples_url, lane)).encode()
            assert n.nng_dial(self.sock, url, None, 2) == 0  # NNG_FLAG_NONBLOCK
        self.lock = threading.Lock()
        self.times, self.dgrams = [], []
        self.stopping = False
        self.msgs = 0

    def run(self):
        buf, size = ctypes.c_void_p(), ctypes.c_size_t()
        while not self.stopping:
            if self.nng.nng_recv(self.sock, ctypes.byref(buf), ctypes.byref(size), 1) != 0:
                continue
            now = time.monotonic()
            data = ctypes.string_at(buf, size.value)
            self.nng.nng_free(buf, size)
            env = msgpack.unpackb(data.partition(b"\0")[2], raw=False)
            with self.lock:
                self.msgs += 1
                for d in env["body"]:
                    self.times.append(now)
                    self.dgrams.append((d["agent"], d["seq"]))

    def stop(self):
        self.stopping = True
        self.join(2)
        self.nng.nng_close(self.sock)

    def truth(self, capture, q, mode="max"):
        """{key: value} expected at monotonic time q."""
        per = {}
        with self.lock:
            end = bisect.bisect_right(self.times, q)
            items = list(zip(self.times[:end], self.dgrams[:end]))
        for t, (agent, seq) in items:
            w = math.exp(-(q - t) / T) / T
            for ds, key, x in capture.get((agent, seq), ()):
                k = (key, agent, ds)
                per[k] = per.get(k, 0.0) + x * w
        out = {}
        for (key, _, _), v in per.items():
            out[key] = max(out.get(key, 0.0), v) if mode == "max" else out.get(key, 0.0) + v
        return out


# ---- processes ----

class Proc:
    def __init__(self, work, name, argv):
        self.name = name
        self.argv = argv
        self.logpath = os.path.join(work, name + ".log")
        self.proc = None
        self.log = None
        self.rc = None

    def start(self):
        self.rc = None
        self.log = open(self.logpath, "a")
        self.proc = subprocess.Popen(self.argv, stdout=self.log, stderr=self.log)
        return self

    def text(self):
        with open(self.logpath) as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.log.close()
        self.proc = None
        self.rc = rc
        return rc


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Cluster:
    """A gateway and its aggregators."""

    def __init__(self, args, work, name, naggs, control):
        self.args, self.work, self.name = args, work, name
        self.port = free_port()
        self.defs = "ipc://" + os.path.join(work, name + "-defs")
        self.query = "ipc://" + os.path.join(work, name + "-query")
        state = os.path.join(work, name + "-state")
        self.gw = Proc(work, name + "-gateway", [
            os.path.join(args.build, "sfa-gateway"), "-Dhttp.port=%d" % self.port,
            "-Dhttp.hostname=127.0.0.1", "-Dsfa.state=" + state, "-Dbus.defs=" + self.defs,
            "-Dbus.query=" + self.query, "-Dbus.control=" + control,
            "-Dbus.events=ipc://" + os.path.join(work, name + "-events"),
            "-Dbus.flowlog=ipc://" + os.path.join(work, name + "-flowlog"),
            "-Dbus.lanes=%d" % LANES, "-Dgateway.query.timeout=%d" % DEADLINE_MS])
        self.aggs = [self.aggregator("%s-%d" % (name, i + 1)) for i in range(naggs)]

    def aggregator(self, agg_id):
        return Proc(self.work, agg_id, [
            os.path.join(self.args.build, "sfa-aggregator"),
            "-Dbus.collectors=" + self.args.samples, "-Dbus.lanes=%d" % LANES,
            "-Dbus.defs=" + self.defs, "-Dbus.query=" + self.query,
            "-Dbus.flowlog=ipc://" + os.path.join(self.work, self.name + "-flowlog"),
            "-Dbus.metrics=ipc://" + os.path.join(self.work, self.name + "-metrics"),
            "-Daggregator.id=" + agg_id])

    def start(self):
        self.gw.start()
        for a in self.aggs:
            a.start()

    def stop(self):
        for a in self.aggs:
            a.stop()
        self.gw.stop()

    def http(self, path, method="GET", body=None, timeout=5):
        url = "http://127.0.0.1:%d%s" % (self.port, path)
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                raw = r.read()
                return r.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as e:
            return e.code, None
        except (urllib.error.URLError, OSError, ValueError):
            return None, None

    def live(self):
        st, body = self.http("/analyzer/json")
        return body.get("sfaAggregatorsLive") if st == 200 else None

    def members(self):
        """{id: {"buckets": n, "defsVersion": v}} from /sfa/v1/stats."""
        st, body = self.http("/sfa/v1/stats")
        if st != 200:
            return {}
        return {k: v for k, v in body.items()
                if isinstance(v, dict) and v.get("service") == "aggregator" and v.get("live")}

    def flows(self, mode="max", max_flows=20):
        t0 = time.monotonic()
        st, body = self.http("/activeflows/ALL/pairs/json?maxFlows=%d&aggMode=%s"
                             % (max_flows, mode))
        t1 = time.monotonic()
        return st, body, (t0 + t1) / 2, t1 - t0


def ready(cluster, n):
    """Does the cluster have n live aggregators, each owning buckets and
    holding one definition?"""
    m = cluster.members()
    return len(m) == n and all(v.get("buckets", 0) > 0 and
                               v.get("counters", {}).get("definitions") == 1 for v in m.values())


def wait_until(cond, timeout, step=0.2):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return cond()


# ---- comparisons ----

def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-9)


def compare_truth(t, answer, truth, what, keys=5):
    if not t.ok(isinstance(answer, list) and len(answer) >= keys, what + ": answer has flows",
                answer):
        return
    worst = max(((rel(e["value"], truth.get(e["key"], 0.0)), e["key"], e["value"],
                  truth.get(e["key"], 0.0)) for e in answer[:keys]))
    t.ok(worst[0] < 0.10, what + ": top %d values within 10%% of the capture's truth "
         "(worst %.2f%%)" % (keys, worst[0] * 100), "key %s: got %.1f, truth %.1f" % worst[1:])


def same_answers(a, b, tol=0.01, keys=10):
    """None if b matches a (same top keys, values within tol), else a reason."""
    if not isinstance(a, list) or not isinstance(b, list) or len(a) < 2:
        return "no answer"
    va = {e["key"]: e["value"] for e in a}
    vb = {e["key"]: e["value"] for e in b}
    n = min(keys, len(a))
    cut = a[n]["value"] * (1 + 3 * tol) if len(a) > n else 0.0
    top_b = set(e["key"] for e in b[:n])
    for e in a[:n]:
        k = e["key"]
        if k not in vb:
            return "key %s missing" % k
        if rel(vb[k], va[k]) > tol:
            return "key %s: %.1f vs %.1f" % (k, vb[k], va[k])
        if e["value"] > cut and k not in top_b:
            return "key %s not in the other top %d" % (k, n)
    return None


# ---- the test ----

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    t = Tap()
    work = os.path.join(args.work, "agg-it-%d" % os.getpid())
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    args.samples = "ipc://" + os.path.join(work, "samples")
    control = "ipc://" + os.path.join(work, "control")
    pcap = os.path.join(args.data, "fabric-demo.pcap")
    capture = read_capture(pcap)
    t.ok(len(capture) == 1341, "read the capture: 1341 datagrams", len(capture))

    a = Cluster(args, work, "a", 1, control)
    b = Cluster(args, work, "b", 3, control)
    col = Proc(work, "collector", [
        os.path.join(args.build, "sfa-collector"), "-Dsflow.port=0", "-Dsflow.file=" + pcap,
        "-Dsflow.file.loop=yes", "-Dsflow.file.wait=20", "-Dbus.samples=" + args.samples,
        "-Dbus.control=" + control, "-Dbus.lanes=%d" % LANES, "-Dcollector.id=it-collector"])
    arrivals = None
    try:
        a.start()
        b.start()
        t.ok(wait_until(lambda: a.live() == 1 and b.live() == 3, 20),
             "gateways see 1 and 3 live aggregators", (a.live(), b.live()))
        for c in (a, b):
            st, _ = c.http("/flow/pairs/json", "PUT",
                           {"keys": "ipsource,ipdestination", "value": "bytes"})
            t.ok(st == 204, "PUT /flow/pairs/json on gateway %s: 204" % c.name, st)
        t.ok(wait_until(lambda: ready(a, 1) and ready(b, 3), 20),
             "every aggregator owns buckets and has the definition",
             (a.members(), b.members()))
        shares = sorted(m["buckets"] for m in b.members().values())
        t.ok(sum(shares) == 256, "B's aggregators share the 256 buckets: %s" % shares, shares)
        arrivals = Arrivals(args.samples)
        arrivals.start()
        time.sleep(1.5)  # let every subscriber connect before the collector listens
        col.start()
        time.sleep(16)   # 8 T of paced replay

        # Cluster A against the capture.
        for rnd in range(2):
            st, ans, q, _ = a.flows()
            t.ok(st == 200, "A: activeflows answers 200", st)
            keys = [e["key"] for e in ans or []]
            t.ok(keys[:1] == [TOP_KEY], "A: %s is the top flow" % TOP_KEY, keys[:5])
            compare_truth(t, ans, arrivals.truth(capture, q), "A round %d" % (rnd + 1))
            time.sleep(2)

        # Cluster B (3 aggregators) against A.
        for mode in ("max", "sum"):
            sa, ans_a, _, _ = a.flows(mode, 50)
            sb, ans_b, _, _ = b.flows(mode, 50)
            why = same_answers(ans_a, ans_b)
            t.ok(sa == 200 and sb == 200 and why is None,
                 "B (3 aggregators) = A (1 aggregator), aggMode %s: same keys, values within 1%%"
                 % mode, why)
        _, ans, q, _ = b.flows()
        compare_truth(t, ans, arrivals.truth(capture, q), "B")

        # SIGKILL the aggregator of B that owns the most traffic.
        victim = pick_victim(b, capture)
        t.note("killing %s" % victim.name)
        victim.stop(signal.SIGKILL)
        slow, bad = [], []
        end = time.monotonic() + 4
        while time.monotonic() < end:
            st, ans, _, took = b.flows()
            if st != 200 or not isinstance(ans, list):
                bad.append(st)
            if took > DEADLINE_MS / 1000.0 + 0.25:
                slow.append(round(took, 3))
            time.sleep(0.1)
        t.ok(not bad, "after SIGKILL every query still answers 200", bad)
        t.ok(not slow, "and within the %d ms deadline" % DEADLINE_MS, slow)
        t.ok(wait_until(lambda: b.live() == 2, 10), "the gateway sees 2 live aggregators",
             b.live())
        t.ok(wait_until(lambda: sum(m["buckets"] for m in b.members().values()) == 256
                        and len(b.members()) == 2, 10),
             "the two survivors own all 256 buckets", b.members())

        # Restart it with the same id: the full set comes back.
        victim.start()
        t.ok(wait_until(lambda: b.live() == 3 and len(b.members()) == 3 and
                        sum(m["buckets"] for m in b.members().values()) == 256, 15),
             "restarted aggregator rejoins; buckets shared by three again", b.members())
        t.ok(wait_until(lambda: same_answers(a.flows()[1], b.flows()[1]) is None, 40, 1.0),
             "after the restart B's answers return to A's (same keys, values within 1%)",
             same_answers(a.flows()[1], b.flows()[1]))

        st, body = b.http("/sfa/v1/stats")
        counters = [v.get("counters", {}) for v in (body or {}).values()
                    if isinstance(v, dict) and v.get("service") == "aggregator"]
        t.ok(counters and all(c.get("evictions") == 0 for c in counters),
             "no evictions at the default cap", counters)
        t.ok(sum(c.get("samples_in", 0) for c in counters) > 0, "samples counted")
    finally:
        if arrivals:
            arrivals.stop()
        col.stop()
        a.stop()
        b.stop()
    procs = [col, a.gw, b.gw] + a.aggs + b.aggs
    t.ok(all(p.rc == 0 for p in procs), "every process stopped cleanly (exit 0)",
         ["%s: %s" % (p.name, p.rc) for p in procs])
    for p in procs:
        text = p.text()
        for bad in ("SEVERE", "AddressSanitizer", "LeakSanitizer", "runtime error"):
            if bad in text:
                t.ok(False, "%s logged no %s line" % (p.name, bad), text[-3000:])
    rc = t.done()
    if rc == 0:
        shutil.rmtree(work, ignore_errors=True)
    return rc


def fnv1a(data, h=0x811C9DC5):
    for byte in data:
        h = ((h ^ byte) * 16777619) & 0xFFFFFFFF
    return h


def fmix32(h):
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    return h ^ (h >> 16)


def pick_victim(cluster, capture):
    """The aggregator of cluster that owns the agents with the most bytes."""
    ids = sorted(p.name for p in cluster.aggs)  # max() keeps the first: ties to the smaller id
    weight = {}
    for (agent, _), samples in capture.items():
        bucket = fnv1a(socket.inet_aton(agent)) & 0xFF
        owner = max(ids, key=lambda m: fmix32(fnv1a(("%s:%d" % (m, bucket)).encode())))
        weight[owner] = weight.get(owner, 0) + sum(x for _, _, x in samples)
    best = max(ids, key=lambda m: weight.get(m, 0))
    return next(p for p in cluster.aggs if p.name == best)


if __name__ == "__main__":
    sys.exit(main())
