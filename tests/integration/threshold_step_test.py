#!/usr/bin/python3
"""threshold_step_test.py - a byFlow threshold on flows whose rate steps, end to end.

The whole suite runs under the launcher (build/sfa: collector on a UDP port
of 127.0.0.1, two aggregators, sfa-events, the gateway on an ephemeral HTTP
port, ipc:// under the work dir). sfa-gen sends real sFlow over UDP: AGENTS
(4) agents x 8 flows, one flow per input interface (so per data source),
every flow r0 = 100 kB/s (--zipf 0, --rate-bps), sampled 1 in 4, paced.
Over REST the test defines `stepflow` (ipsource,ipdestination / bytes,
t = 2 s) and the threshold `step` (stepflow above 2 r0, byFlow, timeout
2 s). Then, with sfa-gen's --step, on every agent:

    flows 0..5:  r0 until T1, 4 r0 until T2, r0 until T3, 4 r0 to the end
                 (flow i's steps i x 137 ms later, so that the crossings
                 fall at different phases of the 250 ms metric reports)
    flow 6:      r0 until T1, 1.5 r0 after (stays below the threshold)
    flow 7:      r0 throughout

The smoothed value of proto/FLOWS.md (first order, T = 2 s) follows a rate
step from v0 to r as v(t) = r + (v0 - r) exp(-(t - ts)/T), so it crosses the
threshold th at ts + T ln((r - v0) / (r - th)). The test computes these
crossings (and the fall below, which re-arms the threshold after its
timeout) from the step times sfa-gen prints on the wall clock, and checks:

  * exactly one event per (agent, data source, key) per rise: two per
    stepping flow, none while a flow stays above (T1..T2), none for the
    flows that stay below;
  * each event's value is above its threshold;
  * each event's timestamp (its creation in sfa-events) is within 1 s
    after the computed crossing (and not more than 0.25 s before it: the
    sampling ripple is about 1 %, 30 ms at the crossing).

Long-polls parked before the first crossing with different parameters
(maxEvents=1 and 1000, any threshold after eventID 0, another threshold)
must each get their own answer when the first events wake them together.

It prints the distribution of the delay crossing -> event timestamp (and
event -> long-poll response, the test's own view). Events are read by
long-polling /events/json; only their timestamps are timed, so the test's
polling does not enter the bound.

Usage: threshold_step_test.py --build DIR --work DIR [--agents N]   (TAP)
"""
import argparse
import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time

from suite import Launcher, Tap, free_port, fresh_dir, wait_until
from suite import http as suite_http

T_SMOOTH = 2.0  # the flow definition's t, seconds
TIMEOUT = 2  # the threshold's timeout, seconds
R0 = 100000.0  # bytes/s of every flow before the steps
TH = 2 * R0  # the threshold
T1, T2, T3, END = 8.0, 14.0, 20.0, 24.0  # simulated (= wall) seconds after sfa-gen starts
FLOWS = 8  # per agent, one per interface (data source)
STEPPING = 6  # flows 0..5 step, each OFFSET later than the one before
OFFSET = 0.137  # spreads the crossings over the events service's 250 ms reports
# Per flow index: [(from t, factor)]
SCHEDULE = {i: [(0, 1), (T1 + i * OFFSET, 4), (T2 + i * OFFSET, 1), (T3 + i * OFFSET, 4)]
            for i in range(STEPPING)}
SCHEDULE[STEPPING] = [(0, 1), (T1, 1.5)]
SCHEDULE[STEPPING + 1] = [(0, 1)]
LATE_MAX = 1.0  # seconds from crossing to event (the acceptance bound)
EARLY_MAX = 0.25


TAP = Tap(detail_lines=12)
ok = TAP.ok


def http(base, method, path, body=None, timeout=10):
    """(status, parsed JSON body, or its text when it is not JSON); (None,
    the reason) when no answer came."""
    st, raw = suite_http(base + path, method, body, timeout)
    if st is None:
        return None, raw.decode()
    try:
        return st, json.loads(raw) if raw else None
    except ValueError:
        return st, raw.decode(errors="replace")


def crossings(schedule):
    """Upward and downward crossings of TH by the smoothed value of a flow
    following schedule from v = 0 at t = 0: [(t, 'up' | 'down')]."""
    out = []
    v = 0.0
    for k, (t0, f) in enumerate(schedule):
        t1 = schedule[k + 1][0] if k + 1 < len(schedule) else math.inf
        r = f * R0
        if v <= TH < r:
            tc = t0 + T_SMOOTH * math.log((r - v) / (r - TH))
            if tc < t1:
                out.append((tc, "up"))
        elif v > TH >= r:
            tc = t0 + T_SMOOTH * math.log((v - r) / (TH - r)) if TH > r else math.inf
            if tc < t1:
                out.append((tc, "down"))
        if t1 < math.inf:
            v = r + (v - r) * math.exp(-(t1 - t0) / T_SMOOTH)
    return out


def expected_events(schedule):
    """Simulated times of the crossings that must produce an event: armed
    at first; after an event, re-armed once the value has stayed at or
    below TH for TIMEOUT seconds."""
    events, armed, below_since = [], True, None
    for t, kind in crossings(schedule):
        if kind == "down":
            below_since = t
        elif armed or (below_since is not None and t - below_since >= TIMEOUT):
            events.append(t)
            armed, below_since = False, None
    return [t for t in events if t < END]


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def dist(values):
    ms = [x * 1000 for x in values]
    return "n=%d min %.0f median %.0f p90 %.0f max %.0f ms" % (
        len(ms), min(ms), pct(ms, 50), pct(ms, 90), max(ms))


class Suite(Launcher):
    def __init__(self, args):
        self.udp = free_port(socket.SOCK_DGRAM)
        super().__init__(args.build, fresh_dir(args.work, "threshold-step"), [
            "-Dsflow.port=%d" % self.udp, "-Dsflow.hostname=127.0.0.1", "-Dsfa.aggregators=2"])

    def get(self, path, timeout=10):
        return http(self.base, "GET", path, timeout=timeout)

    def put(self, path, body):
        return http(self.base, "PUT", path, body)


def gen_argv(args, suite, truth):
    argv = [os.path.join(args.build, "sfa-gen"), "--target", "127.0.0.1:%d" % suite.udp,
            "--agents", str(args.agents), "--flows", str(FLOWS), "--ifaces", str(FLOWS),
            "--zipf", "0", "--rate-bps", str(int(R0 * 8 * FLOWS)), "--sampling", "4",
            "--samples-per-datagram", "3", "--duration", str(END), "--truth", truth]
    for flow, sched in SCHEDULE.items():
        for t, f in sched[1:]:
            argv += ["--step", "%g:%g:%d" % (t, f, flow)]
    return argv


def read_step_walls(path, seconds):
    """sfa-gen's start on the wall clock, from its 'step at T s = wall W' lines."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        m = re.search(r"step at ([0-9.]+) s = wall ([0-9.]+)", open(path).read())
        if m:
            return float(m.group(2)) - float(m.group(1))
        time.sleep(0.05)
    return None


def collect_events(suite, gen, seconds):
    """Long-poll /events/json for threshold step until sfa-gen has ended
    and 3 s more; [(event, wall time the response arrived)]."""
    got, cursor = [], -1
    end = time.monotonic() + seconds
    quiet_until = None
    while time.monotonic() < end:
        if gen.poll() is not None and quiet_until is None:
            quiet_until = time.monotonic() + 3
        if quiet_until is not None and time.monotonic() > quiet_until:
            break
        st, b = suite.get("/events/json?thresholdID=step&maxEvents=1000&timeout=1&eventID=%d"
                          % cursor, timeout=10)
        now = time.time()
        if st == 200 and b:
            got += [(e, now) for e in b]
            cursor = max(e["eventID"] for e in b)
        elif st != 200:
            time.sleep(0.2)
    return got


# Long-polls parked before the first crossing, woken together by its
# events: each must get the answer its own parameters ask for.
PARKED = {"one": "eventID=-1&thresholdID=step&maxEvents=1&timeout=40",
          "all": "eventID=-1&thresholdID=step&maxEvents=1000&timeout=40",
          "any": "eventID=0&maxEvents=1000&timeout=40",
          "other": "eventID=-1&thresholdID=no_such_threshold&timeout=3"}


def park_polls(suite):
    results = {}

    def poll(name, i):
        t0 = time.monotonic()
        st, b = suite.get("/events/json?" + PARKED[name], timeout=60)
        results[(name, i)] = (st, b, time.monotonic() - t0)

    threads = [threading.Thread(target=poll, args=(name, i))
               for name in PARKED for i in range(2)]
    for t in threads:
        t.start()
    return threads, results


def check_parked(parked):
    threads, res = parked
    for t in threads:
        t.join(60)
    one = [res.get(("one", i), (None, None, 0)) for i in range(2)]
    every = [res.get(("all", i), (None, None, 0)) for i in range(2)]
    other = [res.get(("other", i), (None, None, 0)) for i in range(2)]
    ids = [[e["eventID"] for e in b] for st, b, _ in every if st == 200 and b]
    ok(len(ids) == 2 and ids[0] == ids[1] and ids[0] == sorted(ids[0], reverse=True) and
       all(st == 200 and b == every[0][1] and all(e["thresholdID"] == "step" for e in b)
           for st, b, _ in every),
       "parked maxEvents=1000 polls: the same events, newest first (%s)"
       % (ids[0] if ids else None), every)
    ok(all(st == 200 and isinstance(b, list) and len(b) == 1 and every[0][1] and
           b[0] == every[0][1][0] for st, b, _ in one),
       "parked maxEvents=1 polls woken with them: the newest of those events", one)
    anyth = [res.get(("any", i), (None, None, 0)) for i in range(2)]
    ok(all(st == 200 and b and b == every[0][1] for st, b, _ in anyth),
       "parked polls of any threshold after eventID 0: the same events", anyth)
    ok(all(st == 200 and b == [] and 2.5 < dt < 10 for st, b, dt in other),
       "a parked poll for another threshold: [] at its timeout", other)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--agents", type=int, default=4)
    args = ap.parse_args()
    suite = Suite(args)
    gen = None
    try:
        ok(wait_until(lambda: suite.get("/threshold/json", 2)[0] == 200, 30),
           "the suite answers over HTTP", open(suite.logpath).read()[-2000:])
        ok(wait_until(lambda: (suite.get("/analyzer/json", 2)[1] or {})
                      .get("sfaAggregatorsLive") == 2, 30),
           "two aggregators live", suite.get("/analyzer/json")[1])
        st, b = suite.put("/flow/stepflow/json", {"keys": "ipsource,ipdestination",
                                                  "value": "bytes", "t": T_SMOOTH})
        ok(st == 204, "PUT flow stepflow", (st, b))
        st, b = suite.put("/threshold/step/json", {"metric": "stepflow", "value": TH,
                                                   "byFlow": True, "timeout": TIMEOUT})
        ok(st == 204, "PUT threshold step (stepflow above %g bytes/s, byFlow)" % TH, (st, b))
        time.sleep(2.5)  # definitions reach the aggregators and sfa-events; buckets settle

        truth = os.path.join(suite.work, "truth.json")
        genlog = os.path.join(suite.work, "gen.log")
        gen = subprocess.Popen(gen_argv(args, suite, truth), stdout=subprocess.DEVNULL,
                               stderr=open(genlog, "w"))
        wall0 = read_step_walls(genlog, 10)
        ok(wall0 is not None, "sfa-gen prints its steps on the wall clock",
           open(genlog).read()[-1000:])
        if wall0 is None:
            return
        # Before the first step every flow's value is near r0 (the premise
        # of the crossing times computed below).
        time.sleep(max(0.0, wall0 + T1 - 0.7 - time.time()))
        st, flows = suite.get("/activeflows/ALL/stepflow/json?maxFlows=1000")
        vals = [f["value"] for f in flows] if st == 200 and isinstance(flows, list) else []
        ok(len(vals) == FLOWS * args.agents and all(0.9 * R0 < v < 1.1 * R0 for v in vals),
           "before the steps: %d flows, all within 10 %% of r0 (%s..%s)"
           % (len(vals), min(vals, default=None), max(vals, default=None)), (st, flows))

        parked = park_polls(suite)
        events = collect_events(suite, gen, END + 30)
        rc = gen.wait(timeout=30)
        ok(rc == 0, "sfa-gen exits 0", open(genlog).read()[-1000:])
        check(args, suite, truth, wall0, events)
        check_parked(parked)
    finally:
        if gen and gen.poll() is None:
            gen.kill()
            gen.wait()
        rc = suite.stop()
        ok(rc == 0, "the suite stops cleanly (%s)" % rc, open(suite.logpath).read()[-2000:])
        logs = [suite.logpath, os.path.join(suite.work, "gen.log")]
        bad = [line for path in logs if os.path.exists(path)
               for line in open(path).read().splitlines()
               if "Sanitizer" in line or "runtime error:" in line]
        ok(not bad, "no sanitizer reports in the services' and sfa-gen's logs",
           "\n".join(bad[:10]))
        if TAP.failed == 0:
            shutil.rmtree(suite.work, ignore_errors=True)
        TAP.done()
    sys.exit(1 if TAP.failed else 0)


def check(args, suite, truth_path, wall0, events):
    truth = json.load(open(truth_path))
    want = {}  # (agent, ds, key) -> [expected crossing, wall]
    rates_ok = True
    for a in truth["agents"]:
        for i, f in enumerate(a["flows"]):
            rates_ok &= abs(f["bytes_per_s"] - R0) < 1e-6 * R0
            key = "%s,%s" % (f["ipsource"], f["ipdestination"])
            want[(a["agent"], str(f["inputifindex"]), key)] = [
                wall0 + t for t in expected_events(SCHEDULE[i])]
    ok(rates_ok, "sfa-gen's truth: every flow at r0 before the steps")

    by_pair = {}
    for e, arrived in events:
        by_pair.setdefault((e.get("agent"), e.get("dataSource"), e.get("flowKey")),
                           []).append((e, arrived))
    counts = {p: len(by_pair.get(p, [])) for p in want}
    stray = [p for p in by_pair if p not in want]
    ok(not stray and all(counts[p] == len(w) for p, w in want.items()),
       "exactly %d events per stepping (data source, key), none elsewhere: %d events, "
       "%d pairs" % (len(expected_events(SCHEDULE[0])), len(events), len(by_pair)),
       json.dumps({"stray": stray, "counts": {"|".join(p): c for p, c in counts.items()}}))
    ok(events and all(e["value"] > e["threshold"] == TH for e, _ in events),
       "every event's value is above its threshold %g" % TH,
       [(e["value"], e["threshold"]) for e, _ in events][:5])

    delays, arrivals, bad = [], [], []
    for p, w in want.items():
        got = sorted(by_pair.get(p, []), key=lambda x: x[0]["eventID"])
        for tc, (e, arrived) in zip(w, got):
            d = e["timestamp"] / 1000.0 - tc
            delays.append(d)
            arrivals.append(arrived - e["timestamp"] / 1000.0)
            if not -EARLY_MAX <= d <= LATE_MAX:
                bad.append((p, round(d, 3)))
    if delays:
        print("# crossing -> event timestamp: " + dist(delays))
        print("# event timestamp -> long-poll response at the test: " + dist(arrivals))
        print("# load average: " + " ".join(open("/proc/loadavg").read().split()[:3]))
    ok(delays and not bad, "every event within %.0f ms after its computed crossing "
       "(max %s ms)" % (LATE_MAX * 1000, round(max(delays) * 1000) if delays else None), bad)


if __name__ == "__main__":
    main()
