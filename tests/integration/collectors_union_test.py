#!/usr/bin/python3
"""collectors_union_test.py - two collectors feeding two aggregators, TAP output.

Several collectors with real binaries on loopback: two sfa-gen instances,
each with its own agents (--agent-base 10.0.0.1 and 10.0.1.1, 4 agents each,
different seeds), send sFlow over UDP to two sfa-collector processes on
different 127.0.0.1 ports. Each collector publishes on its own ipc:// lanes
and control socket; two sfa-aggregators subscribe to the list of both
collectors' sample bases (bus.collectors=A,B) and the sfa-gateway reads both
control sockets (bus.control=A,B). The aggregator ids (union-a, union-b) are
chosen so that rendezvous hashing gives each of them agents of both
collectors (checked below from the ids alone, proto/CONTROL.md).

Checks:
  * the gateway counts 2 collectors and 2 live aggregators, each owning
    buckets; /agents/json lists the 8 agents of both generators;
  * /activeflows/ALL/byagent (keys agent, value bytes): exactly the 8
    agents, each within 5 % of its bytes/s in sfa-gen's truth;
  * /activeflows/ALL/pairs (keys ipsource,ipdestination, value bytes): the
    two generators use the same address pairs with different rates, so with
    aggMode sum every key is the sum over both collectors' agents (top 10
    within 5 %), and with aggMode max the largest agent's value (within 5 %);
  * each agent on exactly one aggregator: after the traffic stops, each
    aggregator's samples_in (/sfa/v1/stats) equals the flow samples
    /agents/json counts for the agents whose bucket it owns (within 1 %),
    and both add up to the samples of both collectors;
  * every process exits 0 on SIGTERM and logs no SEVERE line.

Accuracy: 20k frames/s per agent sampled 1 in 20 is 1000 samples/s per
agent; with t = 5 s the relative standard deviation of an agent's value is
1/sqrt(2 x 1000 x 5) = 1 %, and of the 10th largest summed pair (a share of
about 1/(8 x H10) = 4.3 % of an agent, from two agents) about 4 % at the
very worst, less with sfa-gen's evenly spaced samples. Reads are taken 30 s
and more after the first sample (6 time constants: 99.75 % of steady
state), so a late start or a delayed batch on a loaded machine does not
matter.

Usage: collectors_union_test.py --build BUILD --work WORK
"""
import json
import os
import re
import socket
import subprocess
import sys
import time

from aggregator_test import fmix32, fnv1a
from suite import Cluster, Tap, collector, finish, fresh_dir, ipc, parse_args, rel, \
    wait_until

T = 5.0            # time constant of the definitions
DURATION = 50      # seconds each sfa-gen sends
READ_AFTER = 30.0  # first read, seconds after the generators start
READS = 3          # reads, 3 s apart
TOL = 0.05
TOP = 10
GENS = (("a", "10.0.0.1", "7"), ("b", "10.0.1.1", "8"))  # name, agent base, seed
AGG_IDS = ("union-a", "union-b")
DEFS = {
    "byagent": {"keys": "agent", "value": "bytes", "t": T},
    "pairs": {"keys": "ipsource,ipdestination", "value": "bytes", "t": T},
}


def owner(agent, ids=AGG_IDS):
    """The aggregator whose bucket the agent is in (proto/CONTROL.md)."""
    bucket = fnv1a(socket.inet_aton(agent)) & 0xFF
    return max(sorted(ids), key=lambda m: fmix32(fnv1a(("%s:%d" % (m, bucket)).encode())))


def expectations(truths):
    """{def: {mode: {key: bytes/s}}} over the agents of every truth file."""
    exp = {"byagent": {"sum": {}}, "pairs": {"sum": {}, "max": {}}}
    for truth in truths:
        for a in truth["agents"]:
            exp["byagent"]["sum"][a["agent"]] = a["bytes_per_s"]
            for f in a["flows"]:
                k = "%s,%s" % (f["ipsource"], f["ipdestination"])
                s, m = exp["pairs"]["sum"], exp["pairs"]["max"]
                s[k] = s.get(k, 0.0) + f["bytes_per_s"]
                m[k] = max(m.get(k, 0.0), f["bytes_per_s"])
    return exp


def compare(answer, truth, top):
    """None when the answer has the truth's top keys within TOL, else why."""
    if not isinstance(answer, list):
        return "no list: %r" % (answer,)
    got = {e["key"]: e["value"] for e in answer}
    ranked = sorted(truth, key=truth.get, reverse=True)[:top]
    missing = [k for k in ranked if k not in got]
    extra = [k for k in got if k not in truth]
    off = ["%s got %.0f truth %.0f" % (k, got[k], truth[k]) for k in ranked
           if k in got and rel(got[k], truth[k]) > TOL]
    if missing or extra or off:
        return "missing %s, not in the truth %s, off by more than %d%%: %s" % (
            missing, extra, TOL * 100, off)
    return None


def main():
    args = parse_args("build", "work")
    t = Tap()
    work = fresh_dir(args.work, "union")

    samples = {g: ipc(work, "samples-" + g) for g, _, _ in GENS}
    controls = {g: ipc(work, "control-" + g) for g, _, _ in GENS}
    args.samples = ",".join(samples[g] for g, _, _ in GENS)
    cl = Cluster(args, work, "u", 0, ",".join(controls[g] for g, _, _ in GENS))
    cl.aggs = [cl.aggregator(i) for i in AGG_IDS]
    cols = {g: collector(args.build, work, samples[g], controls[g], "union-collector-" + g,
                         ["-Dsflow.hostname=127.0.0.1"], "collector-" + g) for g, _, _ in GENS}
    gens = {}
    truths = {g: os.path.join(work, "truth-%s.json" % g) for g, _, _ in GENS}
    agents = {g: ["%s.%d" % (base.rsplit(".", 1)[0], i) for i in range(1, 5)]
              for g, base, _ in GENS}
    reads = {}  # (def, mode) -> [answers]
    ownership = {}
    try:
        # The ids give each aggregator agents of both collectors, so that
        # each aggregator really reads both collectors' lanes.
        for g in agents:
            for a in agents[g]:
                ownership[a] = owner(a)
        t.ok(all(set(owner(a) for a in agents[g]) == set(AGG_IDS) for g in agents),
             "each aggregator owns agents of both collectors (by rendezvous hashing)", ownership)

        cl.start()
        ports = {}
        for g, col in cols.items():
            col.start()
        for g, col in cols.items():
            m = wait_until(lambda col=col: re.search(r"Listening, sFlow port (\d+)$", col.text(),
                                                     re.M), 20)
            if not t.ok(m is not None, "collector %s listens on UDP" % g, col.text()[-2000:]):
                raise RuntimeError("no collector port")
            ports[g] = int(m.group(1))
        t.ok(ports["a"] != ports["b"], "the collectors listen on different ports (%d, %d)"
             % (ports["a"], ports["b"]))

        def analyzer():
            st, body = cl.http("/analyzer/json")
            return body if st == 200 and isinstance(body, dict) else {}
        t.ok(wait_until(lambda: analyzer().get("sfaCollectors") == 2, 30),
             "the gateway reads both collectors' control sockets (sfaCollectors 2)", analyzer())
        t.ok(wait_until(lambda: cl.live() == 2, 30), "the gateway sees 2 live aggregators",
             cl.live())
        for name, spec in DEFS.items():
            st, _ = cl.http("/flow/%s/json" % name, "PUT", spec)
            t.ok(st == 204, "PUT /flow/%s/json %s: 204" % (name, json.dumps(spec)), st)
        t.ok(wait_until(lambda: (lambda m: sorted(m) == sorted(AGG_IDS) and all(
            v.get("buckets", 0) > 0 and v.get("counters", {}).get("definitions") == len(DEFS)
            for v in m.values()))(cl.members()), 30),
            "both aggregators own buckets and hold the %d definitions" % len(DEFS), cl.members())

        started = time.monotonic()
        for g, base, seed in GENS:
            log = open(os.path.join(work, "gen-%s.log" % g), "w")
            gens[g] = (subprocess.Popen([
                os.path.join(args.build, "sfa-gen"), "--target", "127.0.0.1:%d" % ports[g],
                "--agents", "4", "--agent-base", base, "--flows", "10", "--zipf", "1",
                "--rate-pps", "20k", "--sampling", "20", "--seed", seed,
                "--duration", str(DURATION), "--truth", truths[g]],
                stdout=log, stderr=log), log)

        want = sorted(agents["a"] + agents["b"])
        t.ok(wait_until(lambda: sorted((cl.http("/agents/json")[1] or {})) == want, 20),
             "/agents/json lists the agents of both collectors", cl.http("/agents/json")[1])

        for i in range(READS):
            delay = started + READ_AFTER + 3.0 * i - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            for name, mode in (("byagent", "sum"), ("pairs", "sum"), ("pairs", "max")):
                st, body = cl.http("/activeflows/ALL/%s/json?maxFlows=100&aggMode=%s"
                                   % (name, mode), timeout=10)
                reads.setdefault((name, mode), []).append(body if st == 200 else None)

        for g, (p, log) in gens.items():
            rc = p.wait(timeout=DURATION + 60)
            log.close()
            t.ok(rc == 0, "sfa-gen %s exits 0" % g,
                 open(os.path.join(work, "gen-%s.log" % g)).read()[-2000:])

        # Each agent's samples on exactly one aggregator. Wait until the
        # counts the gateway holds (collectors' control messages, the
        # aggregators' hello answers) stop moving.
        def counts():
            st, ag = cl.http("/agents/json")
            mem = cl.members()
            if st != 200 or not isinstance(ag, dict) or sorted(mem) != sorted(AGG_IDS):
                return None
            per_agent = {a: v.get("sFlowFlowSamples", 0) for a, v in ag.items()}
            per_agg = {m: v.get("counters", {}).get("samples_in", 0) for m, v in mem.items()}
            return per_agent, per_agg
        last = [None]

        def settled():
            c = counts()
            done = c is not None and c == last[0]
            last[0] = c
            return done
        t.ok(wait_until(settled, 30, 2.5), "the sample counts settle after the traffic stops",
             last[0])
        per_agent, per_agg = last[0] or ({}, {})
        collected = sum(per_agent.values())
        expected = {m: sum(n for a, n in per_agent.items() if ownership.get(a) == m)
                    for m in AGG_IDS}
        t.note("flow samples: collectors %d; aggregators %s; owned agents' samples %s"
               % (collected, per_agg, expected))
        for m in AGG_IDS:
            t.ok(expected[m] > 0 and abs(per_agg.get(m, 0) - expected[m]) <= 0.01 * expected[m],
                 "%s received the samples of exactly its agents (%d, expected %d: %s)"
                 % (m, per_agg.get(m, 0), expected[m],
                    ", ".join(a for a in want if ownership[a] == m)))
        t.ok(collected > 0 and abs(sum(per_agg.values()) - collected) <= 0.01 * collected,
             "the aggregators' samples add up to the collectors' (%d of %d): no agent counted "
             "twice or left out" % (sum(per_agg.values()), collected))
    except Exception as e:  # the checks so far stand; report what broke
        t.ok(False, "the run completes", repr(e))
    finally:
        for p, log in gens.values():
            if p.poll() is None:
                p.kill()
                p.wait()
            log.close()
        for col in cols.values():
            col.stop()
        cl.stop()

    truth = []
    for g in truths:
        if not t.ok(os.path.exists(truths[g]), "sfa-gen %s wrote its truth file" % g):
            return t.done()
        with open(truths[g]) as f:
            truth.append(json.load(f))
    t.ok(all(x["sampling_rate"] == 20 and x["paced"] and len(x["agents"]) == 4 for x in truth),
         "truth: 4 agents per generator, paced, 1 in 20")
    exp = expectations(truth)
    t.ok(len(exp["byagent"]["sum"]) == 8, "the truth has 8 distinct agents",
         sorted(exp["byagent"]["sum"]))
    t.ok(any(exp["pairs"]["sum"][k] > exp["pairs"]["max"][k] * 1.5 for k in exp["pairs"]["sum"]),
         "the generators share address pairs, so sums over both collectors differ from maxima")
    for (name, mode), answers in sorted(reads.items()):
        truth_d = exp[name][mode]
        top = len(truth_d) if name == "byagent" else TOP
        why = [compare(a, truth_d, top) for a in answers]
        bad = [w for w in why if w]
        t.ok(len(answers) == READS and not bad,
             "/activeflows/ALL/%s aggMode=%s: %s within %d%% of the truth (%d reads)"
             % (name, mode, "exactly the 8 agents" if name == "byagent" else
                "the top %d keys" % TOP, TOL * 100, len(answers)), bad[:2])
        if name == "byagent":
            keys = [sorted(e["key"] for e in a) if isinstance(a, list) else None for a in answers]
            t.ok(all(k == sorted(truth_d) for k in keys),
                 "byagent: the union of both collectors' agents, no more", keys)
            worst = max((rel(e["value"], truth_d[e["key"]]), e["key"]) for a in answers
                        if isinstance(a, list) for e in a if e["key"] in truth_d)
            t.note("byagent: worst %.2f%% (%s)" % (worst[0] * 100, worst[1]))

    procs = list(cols.values()) + [cl.gw] + cl.aggs
    return finish(t, work, procs)


if __name__ == "__main__":
    sys.exit(main())
