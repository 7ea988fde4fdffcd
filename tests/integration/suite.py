"""suite.py - what the Python integration tests share.

TAP output (Tap), waiting for a condition (wait_until), fresh work
directories, loopback ports and ipc:// URLs, starting and stopping service
processes (Proc, terminate), the whole suite under the launcher (Launcher),
HTTP requests (http, http_json), and a real sfa-gateway with its
sfa-aggregators (Cluster) plus a bus subscriber that notes when samples
arrive (Arrivals).

The tests run as scripts from this directory, so it is on sys.path and
`import suite` needs no set-up. aggregator_test re-exports the names other
tests used to import from it (LANES, Arrivals, Cluster, Proc, Tap, rel,
wait_until).
"""
import argparse
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import msgpack

LANES = 4  # bus.lanes of every cluster started here
SERVICES = ("sfa", "sfa-collector", "sfa-aggregator", "sfa-events", "sfa-gateway",
            "sfa-scripts")  # the launcher and what it starts


# ---- TAP ----

class Tap:
    """Numbered TAP lines; done() prints the plan and gives the exit code."""

    def __init__(self, detail_lines=20):
        self.n = 0
        self.failed = 0
        self.detail_lines = detail_lines

    def ok(self, cond, what, detail=None):
        self.n += 1
        if not cond:
            self.failed += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, what))
        if not cond and detail is not None:
            for line in str(detail).splitlines()[:self.detail_lines]:
                print("# " + line)
        sys.stdout.flush()
        return cond

    def eq(self, got, want, what):
        return self.ok(got == want, what, "got %r, expected %r" % (got, want))

    def skip(self, what, why):
        self.n += 1
        print("ok %d - %s # SKIP %s" % (self.n, what, why))
        sys.stdout.flush()

    def note(self, text):
        for line in str(text).splitlines():
            print("# " + line)
        sys.stdout.flush()

    def done(self):
        print("1..%d" % self.n)
        if self.failed:
            print("# %d of %d checks failed" % (self.failed, self.n))
        return 1 if self.failed else 0


# ---- command line ----

def parse_args(*paths, cases=None):
    """The test's command line: CASE (one of cases) if cases are given, then
    --NAME PATH for every name of paths, all required."""
    ap = argparse.ArgumentParser()
    if cases:
        ap.add_argument("case", choices=sorted(cases))
    for name in paths:
        ap.add_argument("--" + name, required=True)
    return ap.parse_args()


# ---- waiting, places, numbers ----

def wait_until(cond, timeout, step=0.2):
    """cond()'s first true value within timeout seconds, else its last value."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return cond()


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-9)


def fresh_dir(base, name):
    """An empty directory base/name-PID (a stale one is removed first)."""
    path = os.path.join(base, "%s-%d" % (name, os.getpid()))
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def ipc(work, name):
    return "ipc://" + os.path.join(work, name)


def free_port(kind=socket.SOCK_STREAM):
    """A port on 127.0.0.1 that was free a moment ago."""
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---- processes ----

def terminate(proc, sig=signal.SIGTERM, timeout=15):
    """Send sig to proc if it still runs and reap it (SIGKILL after timeout
    seconds); its exit code."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


class Proc:
    """A service process logging to work/name.log (appended across restarts);
    env as for subprocess.Popen."""

    def __init__(self, work, name, argv, env=None):
        self.name = name
        self.argv = argv
        self.env = env
        self.logpath = os.path.join(work, name + ".log")
        self.proc = None
        self.log = None
        self.rc = None

    def start(self):
        self.rc = None
        self.log = open(self.logpath, "a")
        self.proc = subprocess.Popen(self.argv, stdout=self.log, stderr=self.log, env=self.env)
        return self

    def text(self):
        with open(self.logpath) as f:
            return f.read()

    def wait_log(self, pattern, timeout):
        """The first match of pattern (re.M) in the log within timeout s, else None."""
        return wait_until(lambda: re.search(pattern, self.text(), re.M), timeout)

    def stop(self, sig=signal.SIGTERM):
        if self.proc is None:
            return None
        rc = terminate(self.proc, sig)
        self.log.close()
        self.proc = None
        self.rc = rc
        return rc


def collector(build, work, samples, control, collector_id, props=(), name="collector"):
    """An sfa-collector Proc (name) publishing on samples (LANES lanes) and
    control; props go before the bus settings."""
    return Proc(work, name, [
        os.path.join(build, "sfa-collector"), "-Dsflow.port=0"] + list(props) + [
        "-Dbus.samples=" + samples, "-Dbus.control=" + control, "-Dbus.lanes=%d" % LANES,
        "-Dcollector.id=" + collector_id])


def check_clean_exit(t, procs):
    """Every Proc stopped with exit 0 and logged no SEVERE or sanitizer line."""
    t.ok(all(p.rc == 0 for p in procs), "every process stopped cleanly (exit 0)",
         ["%s: %s" % (p.name, p.rc) for p in procs])
    for p in procs:
        text = p.text()
        for bad in ("SEVERE", "AddressSanitizer", "LeakSanitizer", "runtime error"):
            if bad in text:
                t.ok(False, "%s logged no %s line" % (p.name, bad), text[-3000:])


def finish(t, work, procs):
    """check_clean_exit, then the plan; work is removed when every check
    passed. The exit code."""
    check_clean_exit(t, procs)
    rc = t.done()
    if rc == 0:
        shutil.rmtree(work, ignore_errors=True)
    return rc


def not_built(build, names=SERVICES):
    """The first of names that build holds no executable of, else None."""
    for name in names:
        if not os.access(os.path.join(build, name), os.X_OK):
            return name
    return None


# ---- HTTP ----

def http(url, method="GET", body=None, timeout=5):
    """One request; body, if not None, is sent as JSON (bytes as they are).
    (status, response bytes); an error status comes with its body; (None,
    the reason as bytes) when no answer came."""
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if data is not None else {}
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, OSError) as e:
        return None, str(e).encode()


def http_json(url, method="GET", body=None, timeout=5):
    """(status, parsed JSON body or None): an error status gives no body;
    (None, None) when no answer came or the answer is not JSON."""
    st, raw = http(url, method, body, timeout)
    if st is None or st >= 300:
        return st, None
    try:
        return st, (json.loads(raw) if raw else None)
    except ValueError:
        return None, None


# ---- the whole suite under the launcher ----

class Launcher:
    """build/sfa with props on an ephemeral HTTP port of 127.0.0.1, its run
    and (unless state is false) state directories and its log (sfa.log) in
    work; cwd and env as for subprocess.Popen."""

    def __init__(self, build, work, props, state=True, cwd=None, env=None):
        self.work = work
        self.port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.logpath = os.path.join(self.work, "sfa.log")
        self.log = open(self.logpath, "w")
        argv = [os.path.join(build, "sfa"), "-Dhttp.port=%d" % self.port,
                "-Dhttp.hostname=127.0.0.1", "-Dsfa.rundir=" + os.path.join(self.work, "run")]
        if state:
            argv.append("-Dsfa.state=" + os.path.join(self.work, "state"))
        self.proc = subprocess.Popen(argv + props, stdout=self.log, stderr=self.log,
                                     cwd=cwd, env=env)

    def text(self):
        with open(self.logpath) as f:
            return f.read()

    def get(self, path, timeout=30):
        """(status, bytes) of GET path."""
        return http(self.base + path, timeout=timeout)

    def json(self, path, timeout=30):
        """(status, parsed JSON, or the bytes when they are not JSON) of GET path."""
        st, raw = self.get(path, timeout)
        try:
            return st, json.loads(raw) if raw else None
        except ValueError:
            return st, raw

    def put(self, path, body):
        return http(self.base + path, "PUT", body, timeout=10)[0]

    def ready(self, aggregators, timeout=30):
        """Are that many aggregators live and owning buckets?"""
        def check():
            st, b = self.json("/sfa/v1/stats", timeout=3)
            if st != 200 or not isinstance(b, dict):
                return False
            aggs = [v for v in b.values() if isinstance(v, dict) and
                    v.get("service") == "aggregator" and v.get("live") and v.get("buckets")]
            return len(aggs) == aggregators
        return wait_until(check, timeout)

    def stop(self):
        rc = terminate(self.proc, timeout=20)
        self.log.close()
        return rc


# ---- a gateway and its aggregators ----

class Cluster:
    """A real sfa-gateway and naggs sfa-aggregators reading args.samples,
    on ipc:// paths under work named after name; the gateway's HTTP port is
    port (a free one when None)."""

    def __init__(self, args, work, name, naggs, control, deadline_ms=1000, port=None):
        self.args, self.work, self.name = args, work, name
        self.port = port if port is not None else free_port()
        self.defs = ipc(work, name + "-defs")
        self.query = ipc(work, name + "-query")
        state = os.path.join(work, name + "-state")
        self.gw = Proc(work, name + "-gateway", [
            os.path.join(args.build, "sfa-gateway"), "-Dhttp.port=%d" % self.port,
            "-Dhttp.hostname=127.0.0.1", "-Dsfa.state=" + state, "-Dbus.defs=" + self.defs,
            "-Dbus.query=" + self.query, "-Dbus.control=" + control,
            "-Dbus.events=" + ipc(work, name + "-events"),
            "-Dbus.flowlog=" + ipc(work, name + "-flowlog"),
            "-Dbus.lanes=%d" % LANES, "-Dgateway.query.timeout=%d" % deadline_ms])
        self.aggs = [self.aggregator("%s-%d" % (name, i + 1)) for i in range(naggs)]

    def aggregator(self, agg_id):
        return Proc(self.work, agg_id, [
            os.path.join(self.args.build, "sfa-aggregator"),
            "-Dbus.collectors=" + self.args.samples, "-Dbus.lanes=%d" % LANES,
            "-Dbus.defs=" + self.defs, "-Dbus.query=" + self.query,
            "-Dbus.flowlog=" + ipc(self.work, self.name + "-flowlog"),
            "-Dbus.metrics=" + ipc(self.work, self.name + "-metrics"),
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
        return http_json("http://127.0.0.1:%d%s" % (self.port, path), method, body, timeout)

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
