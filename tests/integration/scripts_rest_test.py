#!/usr/bin/python3
"""scripts_rest_test.py - the script API against the real suite, results
checked against the REST API, TAP output.

`sfa` (the launcher) runs the whole suite on 127.0.0.1 with
-Dsflow.file=fabric-demo.pcap (looped) and one app written here,
app/t/scripts/api.js, which defines flows, a threshold, groups and a map
through the API, clears two definitions again, and then every second logs
"RESULT snap <json>" with activeFlows, flowKeys, agents and metrics (the
REST answer is taken right after), logs each event its setEventHandler gets
and each logged flow record its setFlowHandler gets. This test then reads
the same things over REST and compares: definitions as the gateway stores
them, the same top flow with a close value, the same flow keys and agents,
every event and flow record the script saw present in /events/json and
/flows/json with the same key. Functions whose REST resource the gateway
does not serve yet (metric, dump, table, metrics) are compared when it
answers and reported as skipped otherwise. When the gateway routes app
requests (/app/{app}/scripts/{script}.js/...) and /scripts/json, those are
checked too.

Usage: scripts_rest_test.py --build BUILD --data DATA --work WORK
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request


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

    def skip(self, what, why):
        self.n += 1
        print("ok %d - %s # SKIP %s" % (self.n, what, why))
        sys.stdout.flush()

    def done(self):
        print("1..%d" % self.n)
        return 1 if self.failed else 0


SCRIPT = r"""
function out(name, v) { logInfo('RESULT ' + name + ' ' + JSON.stringify(v)); }
function attempt(f) { try { return f(); } catch (e) { return {thrown: String(e)}; } }
setFlow('pairs', {keys:'ipsource,ipdestination', value:'bytes'});
setFlow('logged', {keys:'ipsource,ipdestination', value:'bytes', log:true, activeTimeout:2});
setFlow('gone', {keys:'ipsource', value:'frames'});
clearFlow('gone');
setThreshold('big', {metric:'pairs', value:1250000, byFlow:true, timeout:1});
setThreshold('gone_t', {metric:'pairs', value:1});
clearThreshold('gone_t');
setGroups('site', {inside:['10.4.0.0/16'], outside:['0.0.0.0/0']});
setMap('svc', {iperf:['5201']});
out('defs', true);
setIntervalHandler(function(now) {
  out('snap', {now: now,
               activeFlows: attempt(function() { return activeFlows('ALL', 'pairs', 5); }),
               flowKeys: attempt(flowKeys),
               agents: attempt(agents),
               metrics: attempt(function() { return metrics(); }),
               metric: attempt(function() { return metric('ALL', 'max:ifinoctets'); }),
               dump: attempt(function() { return dump('ALL', 'ifinoctets'); }),
               table: attempt(function() { return table('ALL', 'ifinoctets'); })});
}, 1);
setEventHandler(function(evt) { out('event', {id: evt.eventID, key: evt.flowKey}); }, ['big']);
setFlowHandler(function(rec) { out('flow', {id: rec.flowID, key: rec.flowKeys, name: rec.name}); },
               ['logged']);
setHttpHandler(function(req) {
  if (req.path[0] === 'top') return activeFlows('ALL', 'pairs', 1);
  if (req.path[0] === 'hello') return 'hello ' + (req.query.who || ['nobody'])[0];
  throw 'not_found';
});
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http(port, path, method="GET", body=None, timeout=5):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method,
                                 data=body.encode() if body is not None else None)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read().decode()
            ctype = r.headers.get("Content-Type", "")
            return r.status, (json.loads(raw) if "json" in ctype and raw else raw)
    except urllib.error.HTTPError as e:
        return e.code, None
    except (urllib.error.URLError, OSError, ValueError):
        return None, None


def results(text, name):
    return [json.loads(m.group(1))
            for m in re.finditer(r"INFO: RESULT %s (.*)$" % name, text, re.M)]


def wait_until(cond, timeout, step=0.2):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return cond()


def identity(v):
    """What should not change between two reads a moment apart: for metric
    and dump entries who reported which metric, for table rows the same per
    column, for objects the key set; values are left out."""
    if isinstance(v, list):
        return sorted(json.dumps(identity(e), sort_keys=True) for e in v)
    if isinstance(v, dict) and "metricName" in v:
        return [v.get("agent"), v.get("dataSource"), v.get("metricName")]
    if isinstance(v, dict):
        return sorted(v)
    return v


def compare_optional(tap, name, js, port, path):
    """Compare a JS result with REST when the gateway serves the resource."""
    st, rest = http(port, path)
    if st == 404 and isinstance(js, dict) and "thrown" in js:
        tap.skip("%s() matches GET %s" % (name, path), "the gateway does not serve it yet")
        return
    if st == 200 and not rest:
        print("# %s: GET %s answered an empty result" % (name, path))
    tap.ok(st == 200 and identity(rest) == identity(js),
           "%s() matches GET %s" % (name, path), (st, identity(rest), identity(js)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    tap = Tap()
    for b in ("sfa", "sfa-collector", "sfa-aggregator", "sfa-events", "sfa-gateway",
              "sfa-scripts"):
        if not os.access(os.path.join(args.build, b), os.X_OK):
            print("1..0 # SKIP %s is not built" % b)
            return 0
    work = os.path.join(args.work, "scripts-rest")
    shutil.rmtree(work, ignore_errors=True)
    sdir = os.path.join(work, "app", "t", "scripts")
    os.makedirs(sdir)
    with open(os.path.join(sdir, "api.js"), "w") as f:
        f.write(SCRIPT)
    port = free_port()
    log = os.path.join(work, "sfa.log")
    lf = open(log, "w")
    proc = subprocess.Popen([os.path.join(args.build, "sfa"), "-Dsfa.rundir=" + work + "/run",
                             "-Dhttp.port=%d" % port, "-Dhttp.hostname=127.0.0.1",
                             "-Dsflow.file=" + os.path.join(args.data, "fabric-demo.pcap"),
                             "-Dsflow.file.loop=yes",
                             "-Dscript.appdir=" + os.path.join(work, "app")],
                            stdout=lf, stderr=lf, cwd=work)

    def text():
        with open(log) as f:
            return f.read()

    # Wait for the script to have seen events, flow records and traffic.
    def enough():
        t = text()
        snaps = results(t, "snap")
        return (results(t, "event") and snaps and len(snaps) >= 3 and
                isinstance(snaps[-1]["activeFlows"], list) and snaps[-1]["activeFlows"])
    wait_until(enough, 60)
    wait_until(lambda: results(text(), "flow"), 20)  # logged flows follow activeTimeout
    t = text()
    tap.ok(results(t, "defs") == [True], "the script defined everything at its top level",
           [ln for ln in t.splitlines() if "scripts" in ln][-10:])

    # ---- definitions as the gateway stores them ----
    st, flow = http(port, "/flow/pairs/json")
    tap.ok(st == 200 and flow.get("keys") == "ipsource,ipdestination" and
           flow.get("value") == "bytes", "setFlow: GET /flow/pairs/json has it", (st, flow))
    st, _ = http(port, "/flow/gone/json")
    tap.ok(st == 404, "clearFlow: GET /flow/gone/json is 404", st)
    st, thr = http(port, "/threshold/big/json")
    tap.ok(st == 200 and thr.get("metric") == "pairs" and thr.get("value") == 1250000 and
           thr.get("byFlow") is True, "setThreshold: GET /threshold/big/json has it", (st, thr))
    st, _ = http(port, "/threshold/gone_t/json")
    tap.ok(st == 404, "clearThreshold: GET /threshold/gone_t/json is 404", st)
    st, grp = http(port, "/group/site/json")
    tap.ok(st == 200 and grp == {"inside": ["10.4.0.0/16"], "outside": ["0.0.0.0/0"]},
           "setGroups: GET /group/site/json", (st, grp))
    st, mp = http(port, "/map/svc/json")
    tap.ok(st == 200 and mp == {"iperf": ["5201"]}, "setMap: GET /map/svc/json", (st, mp))

    # ---- queries: the script's latest snapshot against REST right after ----
    snap = results(text(), "snap")[-1]
    st, top = http(port, "/activeflows/ALL/pairs/json?maxFlows=5")
    js_top = snap["activeFlows"]
    ok = (st == 200 and top and js_top and top[0]["key"] == js_top[0]["key"] and
          abs(top[0]["value"] - js_top[0]["value"]) <= 0.25 * top[0]["value"] and
          set(js_top[0]) == set(top[0]))
    tap.ok(ok, "activeFlows: same top flow, fields and a close value as GET /activeflows",
           (js_top[:2], top[:2] if top else top))
    st, keys = http(port, "/flowkeys/json")
    tap.ok(st == 200 and isinstance(snap["flowKeys"], dict) and
           set(snap["flowKeys"]) <= set(keys) and "ipsource" in snap["flowKeys"],
           "flowKeys: the keys of GET /flowkeys/json", (sorted(snap["flowKeys"]), sorted(keys or [])))
    st, ags = http(port, "/agents/json")
    tap.ok(st == 200 and isinstance(snap["agents"], dict) and set(snap["agents"]) == set(ags),
           "agents: the agents of GET /agents/json", (sorted(snap["agents"]), sorted(ags or [])))
    compare_optional(tap, "metrics", snap["metrics"], port, "/metrics/json")
    compare_optional(tap, "metric", snap["metric"], port, "/metric/ALL/max:ifinoctets/json")
    compare_optional(tap, "dump", snap["dump"], port, "/dump/ALL/ifinoctets/json")
    compare_optional(tap, "table", snap["table"], port, "/table/ALL/ifinoctets/json")

    # ---- handlers against the logs ----
    evs = results(text(), "event")
    st, rest_evs = http(port, "/events/json?maxEvents=1000")
    by_id = {e["eventID"]: e for e in (rest_evs or [])}
    tap.ok(evs and all(e["id"] in by_id and by_id[e["id"]]["flowKey"] == e["key"] and
                       by_id[e["id"]]["thresholdID"] == "big" for e in evs),
           "setEventHandler: every event seen is in GET /events/json",
           (evs[:3], (rest_evs or [])[:3]))
    tap.ok(evs and all(e["key"] == "10.4.1.2,10.4.2.2" for e in evs),
           "setEventHandler: the elephant is 10.4.1.2,10.4.2.2", evs[:5])
    fls = results(text(), "flow")
    st, rest_fls = http(port, "/flows/json?maxFlows=1000")
    by_id = {f["flowID"]: f for f in (rest_fls or [])}
    if st == 200 and not rest_fls and not fls:
        tap.skip("setFlowHandler: every record seen is in GET /flows/json",
                 "the suite logged no flow records (GET /flows/json is empty)")
    else:
        tap.ok(fls and all(f["id"] in by_id and by_id[f["id"]]["flowKeys"] == f["key"] and
                           f["name"] == "logged" for f in fls),
               "setFlowHandler: every record seen is in GET /flows/json",
               (fls[:3], (rest_fls or [])[:3]))

    # ---- through the gateway's app routes, when it has them ----
    st, body = http(port, "/app/t/scripts/api.js/hello/txt?who=sfa")
    if st == 404 and body is None and http(port, "/scripts/json")[0] == 404:
        tap.skip("setHttpHandler answers through the gateway", "the gateway has no app routes")
    else:
        tap.ok(st == 200 and body == "hello sfa", "setHttpHandler answers through the gateway",
               (st, body))
        st, body = http(port, "/app/t/scripts/api.js/top/json")
        tap.ok(st == 200 and isinstance(body, list) and body and
               body[0]["key"] == "10.4.1.2,10.4.2.2", "an app query answers JSON", (st, body))
        st, body = http(port, "/app/t/scripts/api.js/nothing/json")
        tap.ok(st == 404, "throw 'not_found' is a 404 through the gateway", st)
        st, body = http(port, "/scripts/json")
        tap.ok(st == 200 and body.get("app/t/scripts/api.js", {}).get("alive") is True,
               "GET /scripts/json", (st, body))
        st, body = http(port, "/apps/json")
        tap.ok(st == 200 and body == {"t": {"scripts": ["scripts/api.js"]}}, "GET /apps/json",
               (st, body))

    tap.ok("SEVERE: scripts:" not in text(), "no script error",
           [ln for ln in text().splitlines() if "SEVERE" in ln][:5])
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = proc.wait()
    tap.ok(rc == 0, "SIGTERM: sfa exits 0", rc)
    lf.close()
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
