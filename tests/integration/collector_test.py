#!/usr/bin/python3
"""collector_test.py - sfa-collector end to end, one case per run, TAP output.

Starts the real sfa-collector on an ephemeral UDP port (loopback only) with
its bus on ipc:// paths under the build dir, the collector_sub subscriber
(collector_sub.c) on every lane and the control publisher, and traffic from
sfa-gen or datagrams crafted here. Cases:

  udp        sfa-gen sends --rate datagrams/s for 3 s (20k/s; 4k/s in sanitizer
             builds); every one arrives on the bus, no sequence gap, no
             kernel drop, counters agree
  pcap       fast replay of tests/data/fabric-demo.pcap; the datagram and
             sample counts of its .expected.json arrive, per agent too
  pcapng     a pcapng capture (paced replay, any UDP port) takes the same path
  listen     the "Listening, sFlow port N" log line, with the real port
  ipv6       datagrams sent to [::1] (and an IPv6 agent address) arrive
  malformed  random bytes and truncated datagrams are counted in stats.v1;
             valid datagrams after them still arrive
  signals    SIGHUP logs "reload not supported"; SIGINT/SIGTERM exit 0;
             bad properties exit 1 naming the property
"""
import argparse
import json
import os
import random
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

from suite import LANES, Proc, Tap, ipc


class Collector(Proc):
    """One sfa-collector process with private bus URLs and a log file."""

    def __init__(self, args, name, props, start=True):
        self.dir = os.path.join(args.work, "col-" + name)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.samples = ipc(self.dir, "samples")
        self.control = ipc(self.dir, "control")
        super().__init__(self.dir, "collector", [
            os.path.join(args.build, "sfa-collector"), "-Dsflow.port=0",
            "-Dbus.samples=" + self.samples, "-Dbus.control=" + self.control,
            "-Dbus.lanes=%d" % LANES, "-Dstats.interval=0.2",
            "-Dcollector.id=test-" + name] + props)
        if start:
            self.start()

    def wait_log(self, pattern, timeout=10):
        rx = re.compile(pattern, re.M)
        end = time.time() + timeout
        while time.time() < end:
            m = rx.search(self.text())
            if m:
                return m
            if self.proc.poll() is not None:
                return rx.search(self.text())
            time.sleep(0.05)
        return None

    def port(self):
        m = self.wait_log(r"INFO: collector: Listening, sFlow port (\d+)$")
        return int(m.group(1)) if m else None


class Subscriber:
    """collector_sub: prints READY, then one JSON summary line."""

    def __init__(self, args, col, count, timeout):
        self.proc = subprocess.Popen(
            [args.sub, "--samples", col.samples, "--lanes", str(LANES), "--control",
             col.control, "--count", str(count), "--timeout", str(timeout)],
            stdout=subprocess.PIPE, text=True)

    def _line(self, timeout):
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        return self.proc.stdout.readline() if r else ""

    def ready(self, timeout=20):
        end = time.time() + timeout
        while time.time() < end:
            line = self._line(end - time.time())
            if line.strip() == "READY":
                return True
            if not line and self.proc.poll() is not None:
                return False
        return False

    def result(self, timeout):
        line = self._line(timeout)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        try:
            return json.loads(line)
        except ValueError:
            return None


# ---- crafted sFlow v5 datagrams ----

def sampled_header(i):
    eth = b"\x00\x11\x22\x33\x44\x55\x00\x66\x77\x88\x99\xaa\x08\x00"
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 48, i & 0xffff, 0, 64, 17, 0,
                     bytes([10, 1, 0, 1]), bytes([10, 2, 0, 2]))
    udp = struct.pack("!HHHH", 1000 + i % 1000, 53, 28, 0) + b"\x00" * 20
    hdr = eth + ip + udp
    hdr += b"\x00" * ((4 - len(hdr) % 4) % 4)
    body = struct.pack("!IIII", 1, 1000, 4, len(eth + ip + udp)) + hdr
    return struct.pack("!II", 1, len(body)) + body


def flow_sample(seq, ifindex, i):
    rec = sampled_header(i)
    body = struct.pack("!IIIIIIII", seq, ifindex, 100, seq * 100, 0, ifindex, 2, 1) + rec
    return struct.pack("!II", 1, len(body)) + body


def sflow_dgram(agent, seq, nsamples=2, sub=0, uptime=None):
    """A valid datagram; agent is an IPv4 or IPv6 address string."""
    if ":" in agent:
        addr = struct.pack("!I", 2) + socket.inet_pton(socket.AF_INET6, agent)
    else:
        addr = struct.pack("!I", 1) + socket.inet_aton(agent)
    up = uptime if uptime is not None else 100000 + seq * 10
    samples = b"".join(flow_sample(seq * nsamples + k, 3, seq + k) for k in range(nsamples))
    return struct.pack("!I", 5) + addr + struct.pack("!IIII", sub, seq, up, nsamples) + samples


def send_all(family, port, payloads, pace=0.0):
    s = socket.socket(family, socket.SOCK_DGRAM)
    dst = ("::1", port) if family == socket.AF_INET6 else ("127.0.0.1", port)
    for p in payloads:
        s.sendto(p, dst)
        if pace:
            time.sleep(pace)
    s.close()


# ---- cases ----

def case_udp(args, t):
    rate = args.rate
    count = rate * 3
    col = Collector(args, "udp", [])
    port = col.port()
    t.ok(port, "collector listening", col.text())
    sub = Subscriber(args, col, count, 60)
    t.ok(sub.ready(), "subscriber connected to every lane and control")
    truth = os.path.join(col.dir, "truth.json")
    gen = subprocess.run(
        [os.path.join(args.build, "sfa-gen"), "--target", "127.0.0.1:%d" % port,
         "--agents", "4", "--counters", "--counter-interval", "1", "--dgram-rate", str(rate),
         "--count", str(count), "--truth", truth, "--quiet"],
        capture_output=True, text=True, timeout=60)
    t.eq(gen.returncode, 0, "sfa-gen ran")
    res = sub.result(60)
    rc = col.stop()
    t.ok(res is not None, "subscriber summary")
    res = res or {}
    st = res.get("stats") or {}
    t.eq(res.get("distinct"), count, "every datagram arrived on the bus")
    t.eq(res.get("gaps"), 0, "no sequence gap on any topic")
    t.eq(res.get("first_not_one"), 0, "every topic started at seq 1")
    t.eq(res.get("bad_msgs"), 0, "every message parsed")
    t.eq(st.get("udp_rx_datagrams"), count, "stats.v1 udp_rx_datagrams")
    t.eq(st.get("udp_kernel_drops"), 0, "stats.v1 udp_kernel_drops is zero")
    t.eq(st.get("decode_ok"), count, "stats.v1 decode_ok")
    t.eq(st.get("bus_send_failed"), 0, "no bus send failure")
    t.ok(st.get("udp_recvmmsg_calls", 0) > 0, "recvmmsg used", st)
    agents = res.get("agents") or {}
    t.eq(len(agents), 4, "agents.v1 lists the 4 agents")
    t.eq(sum(a.get("sFlowDatagramsReceived", 0) for a in agents.values()), count,
         "agents.v1 datagrams add up")
    t.eq(sum(a.get("sFlowDatagramsLost", 0) for a in agents.values()), 0,
         "agents.v1 reports no datagram loss")
    t.eq(sum(a.get("sFlowFlowLostSamples", 0) for a in agents.values()), 0,
         "agents.v1 reports no sample loss")
    t.eq(rc, 0, "SIGTERM: clean exit 0")


def case_pcap(args, t):
    pcap = os.path.join(args.data, "fabric-demo.pcap")
    with open(pcap + ".expected.json") as f:
        truth = json.load(f)["truth"]
    want = truth["datagrams"]
    col = Collector(args, "pcap", ["-Dsflow.file=" + pcap, "-Dsflow.file.fast=yes",
                                   "-Dsflow.file.wait=30"])
    sub = Subscriber(args, col, want, 60)
    t.ok(sub.ready(), "subscriber connected")
    res = sub.result(60) or {}
    m = col.wait_log(r"sflow.file \S+ ended: (\d+) frames, (\d+) sFlow datagrams")
    rc = col.stop()
    st = res.get("stats") or {}
    t.eq(res.get("distinct"), want, "the capture's datagram count arrived on the bus")
    t.eq(res.get("gaps"), 0, "no sequence gap")
    t.eq(res.get("first_not_one"), 0, "nothing lost before the first message")
    t.ok(m and int(m.group(2)) == want, "end of file logged with the datagram count",
         col.text()[-2000:])
    t.eq(st.get("pcap_sflow"), want, "stats.v1 pcap_sflow")
    t.eq(st.get("decode_flow_samples"), truth["samples"]["flow"], "flow samples decoded")
    t.eq(st.get("decode_counter_samples"), truth["samples"]["counter"], "counter samples")
    t.eq(res.get("flow_samples"), truth["samples"]["flow"], "flow samples on the bus")
    t.eq(res.get("counter_samples"), truth["samples"]["counter"], "counter samples on the bus")
    recs = st.get("decode_flow_records") or {}
    t.eq(recs.get("0:1"), truth["flow_record_types"].get("0:1"), "0:1 records per format")
    agents = res.get("agents") or {}
    for a, info in sorted(truth["agents"].items()):
        t.eq((agents.get(a) or {}).get("sFlowDatagramsReceived"), info["datagrams"],
             "agents.v1 %s datagrams" % a)
    t.eq(rc, 0, "clean exit after the replay")


def case_pcapng(args, t):
    """The same decode path from a pcapng file (converted here by editcap),
    paced by its timestamps (the default), with sflow.file.port=0."""
    src = os.path.join(args.data, "tcpdump-sflow_multiple_counter_30_pdus.pcap")
    with open(src + ".expected.json") as f:
        truth = json.load(f)["truth"]
    work = os.path.join(args.work, "col-pcapng-in")
    os.makedirs(work, exist_ok=True)
    ng = os.path.join(work, "in.pcapng")
    editcap = shutil.which("editcap")
    if not t.ok(editcap, "editcap available"):
        return
    subprocess.run([editcap, "-F", "pcapng", src, ng], check=True, timeout=30)
    with open(ng, "rb") as f:
        t.eq(f.read(4), b"\x0a\x0d\x0d\x0a", "input is pcapng")
    col = Collector(args, "pcapng", ["-Dsflow.file=" + ng, "-Dsflow.file.port=0",
                                     "-Dsflow.file.wait=30"])
    sub = Subscriber(args, col, truth["datagrams"], 60)
    t.ok(sub.ready(), "subscriber connected")
    res = sub.result(60) or {}
    m = col.wait_log(r"sflow.file \S+ ended: (\d+) frames, (\d+) sFlow datagrams")
    rc = col.stop()
    st = res.get("stats") or {}
    t.eq(res.get("distinct"), truth["datagrams"], "sFlow datagrams of the pcapng published")
    t.ok(m and int(m.group(1)) == 30, "30 frames read", col.text()[-1000:])
    t.eq(st.get("decode_not_sflow"), 5, "the NetFlow datagrams on the same port rejected")
    t.eq(len(res.get("agents") or {}), len(truth["agents"]), "agents seen")
    t.eq(rc, 0, "clean exit")


def case_listen(args, t):
    col = Collector(args, "listen", [])
    m = col.wait_log(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ INFO: collector: "
                     r"Listening, sFlow port (\d+)$")
    t.ok(m and int(m.group(1)) > 0, "sFlow-RT shaped line with the real port", col.text())
    rc = col.stop()
    t.eq(rc, 0, "clean exit")
    # A fixed port is reported as given.
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind(("::", 0))
    port = s.getsockname()[1]
    s.close()
    col = Collector(args, "listen2", ["-Dsflow.port=%d" % port])
    m = col.wait_log(r"INFO: collector: Listening, sFlow port (\d+)$")
    t.ok(m and int(m.group(1)) == port, "Listening, sFlow port %d" % port, col.text())
    t.ok("sflow.rcvbuf" in col.text(), "effective receive buffer logged", col.text())
    t.eq(col.stop(), 0, "clean exit")


def case_ipv6(args, t):
    col = Collector(args, "ipv6", [])
    port = col.port()
    sub = Subscriber(args, col, 40, 30)
    t.ok(sub.ready(), "subscriber connected")
    send_all(socket.AF_INET6, port, [sflow_dgram("192.0.2.1", i) for i in range(1, 21)], 0.001)
    send_all(socket.AF_INET6, port, [sflow_dgram("2001:db8::7", i) for i in range(1, 21)], 0.001)
    res = sub.result(30) or {}
    rc = col.stop()
    t.eq(res.get("distinct"), 40, "datagrams sent to [::1] arrived")
    agents = res.get("agents") or {}
    a4 = agents.get("192.0.2.1") or {}
    a6 = agents.get("2001:db8::7") or {}
    t.eq(a4.get("sFlowDatagramSource"), ["::1"], "IPv6 datagram source recorded")
    t.eq(a6.get("sFlowDatagramsReceived"), 20, "IPv6 agent address keyed in RFC 5952 form")
    t.eq(a6.get("sFlowFlowSamples"), 40, "its flow samples counted")
    t.eq(rc, 0, "clean exit")


def case_malformed(args, t):
    col = Collector(args, "malformed", [])
    port = col.port()
    rnd = random.Random(7)
    garbage = []
    for i in range(100):
        b = bytearray(rnd.getrandbits(8) for _ in range(rnd.randint(1, 1400)))
        b[0] = 0x80 | b[0]  # never a version word 2, 4 or 5
        garbage.append(bytes(b))
    valid = sflow_dgram("198.51.100.1", 1000)
    cut_header = [valid[:n] for n in (4, 9, 20, 27)]      # version 5, header cut
    cut_sample = [sflow_dgram("198.51.100.2", i)[:-30] for i in range(1, 11)]  # 2nd sample cut
    lying = []
    for i in range(1, 11):
        d = bytearray(sflow_dgram("198.51.100.3", i))
        struct.pack_into("!I", d, 28 + 4, 0x7fffffff)  # first sample's length lies
        lying.append(bytes(d))
    good = [sflow_dgram("198.51.100.9", i) for i in range(1, 51)]
    sub = Subscriber(args, col, 10 + 50, 30)
    t.ok(sub.ready(), "subscriber connected")
    send_all(socket.AF_INET, port, garbage + cut_header + cut_sample + lying, 0.0005)
    send_all(socket.AF_INET, port, good, 0.001)
    res = sub.result(30) or {}
    alive = col.proc.poll() is None
    rc = col.stop()
    st = res.get("stats") or {}
    t.ok(alive, "collector still running after malformed input")
    t.eq(res.get("distinct"), 60, "valid datagrams (and partial ones) still published")
    t.eq(st.get("udp_rx_datagrams"), 100 + 4 + 10 + 10 + 50, "every datagram received")
    t.ok(st.get("decode_not_sflow", 0) >= 100, "random bytes counted as not sFlow", st)
    t.ok(st.get("decode_parse_errors", 0) >= 4 + 10 + 10, "truncated/lying counted", st)
    t.eq(st.get("decode_no_header"), 100 + 4, "no header: not accounted or published")
    agents = res.get("agents") or {}
    t.eq((agents.get("198.51.100.9") or {}).get("sFlowDatagramsReceived"), 50,
         "valid agent fully accounted")
    t.eq((agents.get("198.51.100.2") or {}).get("sFlowFlowSamples"), 10,
         "samples before a truncation kept")
    t.eq(rc, 0, "clean exit")


def case_signals(args, t):
    col = Collector(args, "signals", [])
    t.ok(col.port(), "running")
    col.proc.send_signal(signal.SIGHUP)
    m = col.wait_log(r"reload not supported")
    t.ok(m, "SIGHUP logs reload not supported", col.text())
    time.sleep(0.3)
    t.ok(col.proc.poll() is None, "still running after SIGHUP")
    t.eq(col.stop(signal.SIGINT), 0, "SIGINT: exit 0")
    exe = os.path.join(args.build, "sfa-collector")
    for prop, name in (("-Dsflow.port=99999", "sflow.port"),
                       ("-Dbus.lanes=0", "bus.lanes"),
                       ("-Dlog.level=LOUD", "log.level"),
                       ("-Dsflow.file.fast=maybe", "sflow.file.fast"),
                       ("-Dsflow.nonsense=1", "sflow.nonsense")):
        p = subprocess.run([exe, prop], capture_output=True, text=True, timeout=10)
        t.ok(p.returncode == 1 and name in p.stderr, "%s: exit 1 naming %s" % (prop, name),
             "rc=%d %s" % (p.returncode, p.stderr))
    p = subprocess.run([exe, "-Dsflow.file=/nonexistent.pcap"], capture_output=True,
                       text=True, timeout=10)
    t.ok(p.returncode == 1 and "sflow.file" in p.stderr, "missing sflow.file: exit 1",
         p.stderr)
    p = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=10)
    t.ok(p.returncode == 0 and "sflow.port" in p.stdout + p.stderr, "--help lists properties")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case")
    ap.add_argument("--build", required=True)
    ap.add_argument("--sub", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--rate", type=int, default=20000)
    args = ap.parse_args()
    t = Tap()
    cases = {"udp": case_udp, "pcap": case_pcap, "pcapng": case_pcapng, "listen": case_listen,
             "ipv6": case_ipv6,
             "malformed": case_malformed, "signals": case_signals}
    try:
        cases[args.case](args, t)
    except Exception as e:  # report, never hang the harness
        t.ok(False, "case %s raised" % args.case, repr(e))
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
