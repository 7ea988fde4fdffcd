#!/usr/bin/python3
"""bench_longpoll.py - 1,000 parked /events/json long-polls (prints numbers,
asserts nothing; not a test).

Runs the whole suite under the launcher (build/sfa replaying
fabric-demo.pcap in a loop, HTTP on an ephemeral 127.0.0.1 port, ipc://
under a temp dir), defines the seed's elephant flow, then:

  1. baseline: latency of other REST requests (GET /threshold/json,
     /flow/elephant/json, /events/json without timeout), one at a time;
  2. opens CONNS connections that each long-poll
     /events/json?eventID=-1&thresholdID=trigger&timeout=60 (no such events
     yet, so every one is parked) and measures the same requests again
     while they are held;
  3. PUTs threshold `trigger` (elephant above 10 Mbit/s, byFlow): the
     events service fires within a report period, and every parked poll
     must return. Prints when the responses arrived relative to the first
     event's timestamp (its creation in sfa-events), the spread between
     the first and the last response, and the gateway's own time to answer
     them all (/sfa/v1/stats: wake_n, wake_us), which excludes this
     client's processing.

Python's standard library only (asyncio protocols on raw sockets); the
client's own processing is included in the numbers, so they are upper
bounds. Usage:
  /usr/bin/python3 tests/bench/bench_longpoll.py [BUILD_DIR] [--conns N] [--requests N]
"""
import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data", "fabric-demo.pcap")


def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def http(base, method, path, body=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(req, timeout=10) as r:
        raw = r.read()
        return r.status, json.loads(raw) if raw else None


class Poll(asyncio.Protocol):
    """One connection, one request; keeps the response and its arrival time."""

    def __init__(self, request, done):
        self.request = request
        self.done = done
        self.buf = b""
        self.first = None  # wall time of the first response byte
        self.body = None

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data):
        if self.first is None:
            self.first = time.time()
        self.buf += data
        head, sep, rest = self.buf.partition(b"\r\n\r\n")
        if not sep:
            return
        length = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v.strip())
        if len(rest) >= length:
            self.body = rest[:length]
            self.transport.close()
            if not self.done.done():
                self.done.set_result(self)

    def connection_lost(self, exc):
        if not self.done.done():
            self.done.set_result(self)


class Client(asyncio.Protocol):
    """A keep-alive connection for sequential requests."""

    def __init__(self):
        self.waiter = None
        self.buf = b""

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.buf += data
        head, sep, rest = self.buf.partition(b"\r\n\r\n")
        if not sep:
            return
        length = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v.strip())
        if len(rest) >= length:
            self.buf = rest[length:]
            if self.waiter and not self.waiter.done():
                self.waiter.set_result(head.split(b" ")[1])

    async def get(self, path):
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(b"GET %s HTTP/1.1\r\nHost: bench\r\n\r\n" % path.encode())
        return await self.waiter


async def measure(port, n):
    loop = asyncio.get_running_loop()
    _, c = await loop.create_connection(Client, "127.0.0.1", port)
    paths = ["/threshold/json", "/flow/elephant/json", "/events/json?eventID=-1&maxEvents=10"]
    lat = []
    for i in range(n):
        t0 = time.perf_counter()
        status = await c.get(paths[i % len(paths)])
        lat.append((time.perf_counter() - t0) * 1000.0)
        if status != b"200":
            print("unexpected status", status)
    c.transport.close()
    return lat


def show(name, lat):
    print("%-44s n=%d  p50 %.2f ms  p99 %.2f ms  max %.2f ms"
          % (name, len(lat), pct(lat, 50), pct(lat, 99), max(lat) if lat else float("nan")))


async def bench(port, base, conns, requests):
    loop = asyncio.get_running_loop()
    show("other requests, nothing parked:", await measure(port, requests))

    req = (b"GET /events/json?eventID=-1&thresholdID=trigger&maxEvents=10&timeout=60 HTTP/1.1\r\n"
           b"Host: bench\r\n\r\n")
    futures, t0 = [], time.monotonic()
    for _ in range(conns):
        f = loop.create_future()
        await loop.create_connection(lambda f=f: Poll(req, f), "127.0.0.1", port)
        futures.append(f)
    await asyncio.sleep(1.0)
    early = sum(1 for f in futures if f.done())
    print("%d long-polls opened in %.2f s; answered before any event: %d"
          % (conns, time.monotonic() - t0, early))

    show("other requests, %d long-polls parked:" % conns, await measure(port, requests))

    t_put = time.time()
    await loop.run_in_executor(None, http, base, "PUT", "/threshold/trigger/json",
                               {"metric": "elephant", "value": 1250000, "byFlow": True,
                                "timeout": 60})
    polls = await asyncio.wait_for(asyncio.gather(*futures), 60)
    got = [p for p in polls if p.body]
    events = []
    for p in got:
        try:
            events.extend(json.loads(p.body))
        except ValueError:
            pass
    if not events:
        print("no events came back (%d responses)" % len(got))
        return
    first_ts = min(e["timestamp"] for e in events) / 1000.0
    arrivals = sorted(p.first for p in got)
    rel = [(a - first_ts) * 1000.0 for a in arrivals]
    print("threshold PUT -> first event created: %.0f ms" % ((first_ts - t_put) * 1000.0))
    print("responses: %d of %d, with events: %d" % (len(got), conns,
                                                     sum(1 for p in got if p.body != b"[]")))
    print("first event created -> response arrived:   p50 %.1f ms  p99 %.1f ms  max %.1f ms"
          % (pct(rel, 50), pct(rel, 99), rel[-1]))
    print("first event created -> first response: %.1f ms" % rel[0])
    print("first -> last of the %d responses: %.1f ms" % (len(got),
                                                          (arrivals[-1] - arrivals[0]) * 1000.0))
    _, stats = await loop.run_in_executor(None, http, base, "GET", "/sfa/v1/stats")
    ev = stats["gateway"]["events"]
    print("gateway side: %d parked requests answered in %.1f ms (wake_n, wake_us)"
          % (ev["wake_n"], ev["wake_us"] / 1000.0))
    print("load average: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?", default="build")
    ap.add_argument("--conns", type=int, default=1000)
    ap.add_argument("--requests", type=int, default=3000)
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="sfa-bench-lp-")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    base = "http://127.0.0.1:%d" % port
    log = open(os.path.join(work, "sfa.log"), "w")
    proc = subprocess.Popen([os.path.join(args.build, "sfa"), "-Dsflow.file=" + DATA,
                             "-Dsflow.file.loop=yes", "-Dsflow.port=0",
                             "-Dhttp.port=%d" % port, "-Dhttp.hostname=127.0.0.1",
                             "-Dsfa.rundir=" + os.path.join(work, "run"),
                             "-Dsfa.state=" + os.path.join(work, "state")],
                            stdout=log, stderr=log)
    try:
        for _ in range(200):
            try:
                http(base, "GET", "/threshold/json")
                break
            except OSError:
                time.sleep(0.1)
        http(base, "PUT", "/flow/elephant/json", {"keys": "ipsource,ipdestination",
                                                  "value": "bytes"})
        time.sleep(3)  # let the flow build up
        asyncio.run(bench(port, base, args.conns, args.requests))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
