#!/usr/bin/python3
"""pmacct_sfprobe_test.py - a third-party sFlow agent (pmacct's sfprobe) into sfa, TAP output.

Interoperability acceptance test: Debian's pmacctd (plugin sfprobe) reads a
packet capture written here (pcap_savefile) and exports sFlow v5 over UDP to a
real sfa-collector on 127.0.0.1; a real sfa-aggregator and sfa-gateway
(HTTP on 127.0.0.1) answer /activeflows, which must show the capture's IP
pairs with values consistent with the packet sizes and the sampling rate.

The capture: four IPv4 pairs (two TCP, two UDP), each with one Ethernet frame
size, interleaved (see PAIRS). pmacctd samples 1 in N (random) and sends each
sample with its sampling rate, so the aggregator adds frame length x N
(bytes) or N (frames) per sample.

Replay pace: pmacctd reads a savefile as fast as it can (after a 2 s pause),
so the whole capture arrives within a fraction of a second and a rate would
be meaningless. The definitions therefore use the longest time constant,
t = T = 600 s: after a burst of contributions x_i at times s_i the value is
sum(x_i / T * exp(-(q - s_i) / T)) (proto/FLOWS.md), so
value x T x exp((q - s) / T), with s the mean arrival time of the sFlow
datagrams on the bus (recorded here by a subscriber), is the scaled sum of the
samples, i.e. the estimate of the capture's bytes (or frames) of that pair. For
random 1-in-N sampling of n packets the sample count has a relative standard
deviation of about sqrt(N / n); the check allows 5 of those per pair
(6.5 % for the largest pair, 16 % for the smallest), and 5 x sqrt(N / total)
(4.4 %) for the sum over all pairs. pmacct reports sFlow's frame_length as
the captured length plus the 4 bytes of the Ethernet FCS (as sFlow counts it),
so a pair's bytes are n x (frame length + 4) and bytes / frames must be its
frame length + 4 (within 1 %).

Skips (TAP) when pmacctd is not installed (deploy/install-deps.sh --test
installs it).

Usage: pmacct_sfprobe_test.py --build BUILD --work WORK
"""
import math
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

from suite import Arrivals, Cluster, Tap, collector, finish, fresh_dir, ipc, \
    parse_args, rel, wait_until

T = 600.0
N = 5  # pmacctd sampling_rate
# (source, destination, IP protocol, Ethernet frame length without FCS, packets)
PAIRS = [
    ("192.0.2.10", "198.51.100.20", 6, 1000, 30000),
    ("192.0.2.11", "198.51.100.21", 17, 200, 20000),
    ("192.0.2.12", "198.51.100.22", 6, 1400, 10000),
    ("192.0.2.13", "198.51.100.23", 17, 100, 5000),
]


def ip_checksum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(i, src, dst, proto, length):
    """One Ethernet/IPv4/TCP or UDP frame of length bytes (no FCS)."""
    iplen = length - 14
    if proto == 6:
        l4 = struct.pack("!HHIIBBHHH", 40000 + i, 443, 1, 1, 0x50, 0x10, 65535, 0, 0)
    else:
        l4 = struct.pack("!HHHH", 40000 + i, 53, iplen - 20, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, iplen, i, 0, 64, proto, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", ip_checksum(ip)) + ip[12:]
    eth = bytes([2, 0, 0, 0, 0, 0x10 + i, 2, 0, 0, 0, 0, 0x20 + i]) + b"\x08\x00"
    return eth + ip + l4 + b"\0" * (iplen - 20 - len(l4))


def write_capture(path):
    """A classic pcap of PAIRS, round robin until each pair has sent its count."""
    frames = [frame(i, s, d, p, ln) for i, (s, d, p, ln, _) in enumerate(PAIRS)]
    left = [p[4] for p in PAIRS]
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        k = 0
        while any(left):
            for j, fr in enumerate(frames):
                if left[j]:
                    left[j] -= 1
                    k += 1
                    f.write(struct.pack("<IIII", 1700000000 + k // 100000, (k % 100000) * 10,
                                        len(fr), len(fr)))
                    f.write(fr)
    return k


def main():
    args = parse_args("build", "work")
    pmacctd = shutil.which("pmacctd") or ("/usr/sbin/pmacctd" if os.access(
        "/usr/sbin/pmacctd", os.X_OK) else None)
    if not pmacctd:
        print("1..0 # SKIP pmacctd not installed (apt-get install pmacct; "
              "deploy/install-deps.sh --test)")
        return 0
    t = Tap()
    work = fresh_dir(args.work, "pmacct")
    args.samples = ipc(work, "samples")
    control = ipc(work, "control")
    pcap = os.path.join(work, "pairs.pcap")
    npkts = write_capture(pcap)
    t.ok(npkts == sum(p[4] for p in PAIRS), "wrote the capture: %d frames" % npkts)

    cl = Cluster(args, work, "p", 1, control)
    col = collector(args.build, work, args.samples, control, "pmacct-collector")
    pm = None
    arrivals = None
    answers = {}
    try:
        cl.start()
        t.ok(wait_until(lambda: cl.live() == 1, 30), "the gateway sees its aggregator",
             cl.live())
        defs = {
            "pairbytes": {"keys": "ipsource,ipdestination", "value": "bytes", "t": T},
            "pairframes": {"keys": "ipsource,ipdestination", "value": "frames", "t": T},
            "protoframes": {"keys": "ipprotocol", "value": "frames", "t": T},
        }
        for name, spec in defs.items():
            st, _ = cl.http("/flow/%s/json" % name, "PUT", spec)
            t.ok(st == 204, "PUT /flow/%s/json: 204" % name, st)
        t.ok(wait_until(lambda: (lambda m: len(m) == 1 and all(
            v.get("buckets", 0) > 0 and v.get("counters", {}).get("definitions") == len(defs)
            for v in m.values()))(cl.members()), 30),
            "the aggregator owns buckets and holds the definitions", cl.members())
        arrivals = Arrivals(args.samples)
        arrivals.start()
        col.start()
        m = wait_until(lambda: re.search(r"Listening, sFlow port (\d+)$", col.text(), re.M), 20)
        if not t.ok(m is not None, "collector listens on UDP", col.text()[-2000:]):
            raise RuntimeError("no collector port")
        port = int(m.group(1))
        time.sleep(1.0)
        conf = os.path.join(work, "pmacctd.conf")
        with open(conf, "w") as f:
            f.write("daemonize: false\n"
                    "pcap_savefile: %s\n"
                    "pcap_savefile_wait: true\n"
                    "plugins: sfprobe\n"
                    "sfprobe_receiver: 127.0.0.1:%d\n"
                    "sfprobe_agentip: 127.0.0.1\n"
                    "sampling_rate: %d\n" % (pcap, port, N))
        pm_log = open(os.path.join(work, "pmacctd.log"), "w")
        pm = subprocess.Popen([pmacctd, "-f", conf], stdout=pm_log, stderr=pm_log,
                              start_new_session=True)

        # Wait for the burst to arrive and settle: no new datagram for 2 s.
        def settled():
            with arrivals.lock:
                n, last = len(arrivals.times), (arrivals.times[-1] if arrivals.times else 0)
            return n > 0 and time.monotonic() - last > 2.0
        t.ok(wait_until(settled, 60, 0.2), "pmacctd's sFlow reaches the bus and stops")
        with arrivals.lock:
            times = list(arrivals.times)
            agents = set(a for a, _ in arrivals.dgrams)
        t.note("%d datagrams from %s over %.2f s" % (len(times), sorted(agents),
                                                      times[-1] - times[0] if times else 0))
        s_mean = sum(times) / max(len(times), 1)
        for name in defs:
            t0 = time.monotonic()
            st, body = cl.http("/activeflows/ALL/%s/json?maxFlows=50&aggMode=sum" % name,
                               timeout=10)
            q = (t0 + time.monotonic()) / 2
            t.ok(st == 200 and isinstance(body, list), "activeflows %s answers 200" % name,
                 (st, body))
            if isinstance(body, list):
                undo = T * math.exp((q - s_mean) / T)  # value -> scaled sum of samples
                answers[name] = {e["key"]: (e["value"] * undo, e) for e in body}
    finally:
        if pm and pm.poll() is None:
            os.killpg(pm.pid, signal.SIGTERM)
            try:
                pm.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(pm.pid, signal.SIGKILL)
                pm.wait()
        if arrivals:
            arrivals.stop()
        col.stop()
        cl.stop()

    pairs = {"%s,%s" % (s, d): (ln, n) for s, d, _, ln, n in PAIRS}
    byt, frm = answers.get("pairbytes", {}), answers.get("pairframes", {})
    t.ok(set(byt) == set(pairs) and set(frm) == set(pairs),
         "the answers hold exactly the capture's 4 IP pairs", (sorted(byt), sorted(frm)))
    agents_seen = set(e["agent"] for _, e in list(byt.values()) + list(frm.values()))
    t.ok(agents_seen == {"127.0.0.1"}, "agent is pmacctd's sfprobe_agentip 127.0.0.1",
         agents_seen)
    bad = []
    for k, (ln, n) in sorted(pairs.items()):
        tol = 5 * math.sqrt(N / n)
        fr = frm.get(k, (0,))[0]
        by = byt.get(k, (0,))[0]
        t.note("%s: %d frames of %d bytes; sFlow estimate %.0f frames, %.0f bytes"
               % (k, n, ln, fr, by))
        if rel(fr, n) > tol or rel(by, n * (ln + 4)) > tol:
            bad.append((k, n, round(fr), n * (ln + 4), round(by),
                        "tolerance %.1f%%" % (tol * 100)))
    t.ok(not bad, "each pair's frames and bytes x T (scaled sum of samples) match the "
         "capture within 5 sd of 1-in-%d sampling" % N, bad)
    total = sum(n for _, n in pairs.values())
    got = sum(v[0] for v in frm.values())
    t.ok(rel(got, total) < 5 * math.sqrt(N / total),
         "all pairs: %.0f frames estimated, %d in the capture (within %.1f%%)"
         % (got, total, 500 * math.sqrt(N / total)))
    sizes = []
    for k, (ln, _) in pairs.items():
        if k in byt and k in frm and frm[k][0] > 0:
            size = byt[k][0] / frm[k][0]
            if rel(size, ln + 4) > 0.01:
                sizes.append((k, ln, size))
    t.ok(not sizes and len(byt) == len(pairs),
         "bytes / frames of every pair is its frame length + 4 (FCS)", sizes)
    proto = answers.get("protoframes", {})
    want = {"6": sum(p[4] for p in PAIRS if p[2] == 6), "17": sum(p[4] for p in PAIRS if p[2] == 17)}
    t.ok(set(proto) == set(want) and all(
        rel(proto[k][0], v) < 5 * math.sqrt(N / v) for k, v in want.items()),
        "ipprotocol frames: TCP %d, UDP %d (within 5 sd)" % (want["6"], want["17"]),
        {k: round(v[0]) for k, v in proto.items()})

    procs = [col, cl.gw] + cl.aggs
    return finish(t, work, procs)


if __name__ == "__main__":
    sys.exit(main())
