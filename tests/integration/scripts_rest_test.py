#!/usr/bin/python3
"""scripts_rest_test.py - the script API against the real suite, results
checked against the REST API, TAP output.

`sfa` (the launcher) runs the whole suite on 127.0.0.1 with
-Dsflow.file=fabric-demo.pcap (looped, paced: counter samples every 10 s,
so the test waits until every agent has counter rates) and one app written
here, app/t/scripts/api.js. At its top level the script defines flows, a
threshold, groups and a map, clears two definitions again, logs at three
levels and reads properties; its interval handler ticks every second with
a sharedSet/sharedGet counter; its event and flow handlers log what they
get; its HTTP handler runs any data function on request
(/app/t/scripts/api.js/q/<function>/json?agents=..&names=..) and http().

Checks, all against the REST API of the same suite: definitions as the
gateway stores them (and 404 for the cleared ones); activeFlows, metric,
dump, table, metrics (both forms), agents (both forms) and flowKeys asked
through the script between two REST reads of the same resource, which must
agree with each other and with the script's answer, and not be empty
(lastUpdate ages left out; agents' counters must lie between the two
reads; activeFlows values within 20%); the log lines in sFlow-RT's shape;
getSystemProperty (http.port, an app property, script.appdir, unknown);
the tick cadence; http() fetching GET /version and timing out at
script.http.timeout on a server that never answers; every event and flow
record the handlers saw present in /events/json and /flows/json; the app
routes, /scripts/json and /apps/json.

Usage: scripts_rest_test.py --build BUILD --data DATA --work WORK
"""
import json
import os
import re
import shutil
import socket
import sys
import time
import urllib.error
import urllib.request

from suite import Launcher, Tap, not_built, parse_args, wait_until

SCRIPT = r"""
function out(name, v) { logInfo('RESULT ' + name + ' ' + JSON.stringify(v)); }
function q(req, k, d) { return req.query[k] ? req.query[k][0] : d; }
function list(req, k) { var v = q(req, k); return v && v.indexOf(',') >= 0 ? v.split(',') : v; }
setFlow('pairs', {keys:'ipsource,ipdestination', value:'bytes'});
setFlow('logged', {keys:'ipsource,ipdestination', value:'bytes', log:true, activeTimeout:2});
setFlow('gone', {keys:'ipsource', value:'frames'});
clearFlow('gone');
setThreshold('big', {metric:'pairs', value:1250000, byFlow:true, timeout:1});
setThreshold('gone_t', {metric:'pairs', value:1});
clearThreshold('gone_t');
setGroups('site', {inside:['10.4.0.0/16'], outside:['0.0.0.0/0']});
setMap('svc', {iperf:['5201']});
logInfo('LOGCHECK info line');
logWarning('LOGCHECK warning line');
logSevere('LOGCHECK severe line');
out('props', [getSystemProperty('http.port'), getSystemProperty('t.color'),
              getSystemProperty('script.appdir'), getSystemProperty('t.none')]);
sharedSet('ticks', 0);
out('defs', true);
setIntervalHandler(function(now) {
  sharedSet('ticks', sharedGet('ticks') + 1);
  out('tick', {now: now, n: sharedGet('ticks')});
}, 1);
setEventHandler(function(evt) { out('event', {id: evt.eventID, key: evt.flowKey}); }, ['big']);
setFlowHandler(function(rec) { out('flow', {id: rec.flowID, key: rec.flowKeys, name: rec.name}); },
               ['logged']);
function query(req) {
  switch (req.path[1]) {
  case 'activeFlows': return activeFlows(list(req, 'agents'), q(req, 'name'), +q(req, 'maxFlows'));
  case 'metric': return metric(list(req, 'agents'), list(req, 'names'));
  case 'dump': return dump(list(req, 'agents'), list(req, 'names'));
  case 'table': return table(list(req, 'agents'), list(req, 'names'));
  case 'metrics': return req.query.agent ? metrics(req.query.agent[0]) : metrics();
  case 'agents': return req.query.agent ? agents(req.query.agent) : agents();
  case 'flowKeys': return flowKeys();
  }
  throw 'not_found';
}
setHttpHandler(function(req) {
  if (req.path[0] === 'q') return query(req);
  if (req.path[0] === 'http') {
    var t0 = Date.now();
    try { return {body: http(q(req, 'url'))}; }
    catch (e) { return {thrown: String(e), ms: Date.now() - t0}; }
  }
  if (req.path[0] === 'top') return activeFlows('ALL', 'pairs', 1);
  if (req.path[0] === 'hello') return 'hello ' + (req.query.who || ['nobody'])[0];
  throw 'not_found';
});
"""

# (function, handler query, REST path, how to compare): every data
# function of the API, asked through the script's HTTP handler and over
# REST. "exact": equal once the ages (lastUpdate...) are left out; "keys":
# the values are ages (ms since seen), the keys must be equal; "agents",
# "flows" and "values": see same_agents, same_flows and same_values.
QUERIES = [
    ("activeFlows", "agents=ALL&name=pairs&maxFlows=5", "/activeflows/ALL/pairs/json?maxFlows=5",
     "flows"),
    ("metric", "agents=ALL&names=max:ifinoctets,sum:ifinoctets,avg:ifoutoctets",
     "/metric/ALL/max:ifinoctets,sum:ifinoctets,avg:ifoutoctets/json", "exact"),
    ("dump", "agents=ALL&names=ifinoctets", "/dump/ALL/ifinoctets/json", "exact"),
    ("dump", "agents=10.0.0.1,10.0.0.3&names=ifinoctets,ifoutoctets",
     "/dump/10.0.0.1,10.0.0.3/ifinoctets,ifoutoctets/json", "exact"),
    ("table", "agents=ALL&names=ifinoctets,ifoutoctets", "/table/ALL/ifinoctets,ifoutoctets/json",
     "exact"),
    ("metrics", "", "/metrics/json", "keys"),
    ("metrics", "agent=10.0.0.1", "/metric/10.0.0.1/json", "values"),
    ("agents", "", "/agents/json", "agents"),
    ("agents", "agent=10.0.0.2", "/agents/json?agent=10.0.0.2", "agents"),
    ("flowKeys", "", "/flowkeys/json", "keys"),
]
AGES = ("lastUpdate", "lastUpdateMin", "lastUpdateMax")
AGENT_CLOCKS = ("firstSeen", "lastSeen", "uptime")
HTTP_TIMEOUT_MS = 3000


def http(port, path, method="GET", body=None, timeout=10):
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


def strip(v, drop):
    """v without the members named in drop, at any depth."""
    if isinstance(v, list):
        return [strip(e, drop) for e in v]
    if isinstance(v, dict):
        return {k: strip(e, drop) for k, e in v.items() if k not in drop}
    return v


def same_agents(before, js, after):
    """agents(): the same agents and fields; every counter of the script's
    answer between the REST answers read just before and just after."""
    if not (isinstance(js, dict) and js and set(before) == set(js) == set(after)):
        return False
    for a, b in before.items():
        j, f = js[a], after[a]
        if set(b) != set(j) or set(j) != set(f):
            return False
        for k, v in j.items():
            if k in AGENT_CLOCKS:
                continue
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                if not b[k] <= v <= f[k]:
                    return False
            elif v != b[k] or v != f[k]:
                return False
    return True


def same_flows(before, js, after):
    """activeFlows(): the same flows in the same order with the same fields,
    each value within 20% of the REST values around it."""
    keys = [e["key"] for e in js] if isinstance(js, list) else None
    if not js or keys != [e["key"] for e in before] or keys != [e["key"] for e in after]:
        return None  # the ranking moved meanwhile: ask again
    for b, j, f in zip(before, js, after):
        lo, hi = min(b["value"], f["value"]), max(b["value"], f["value"])
        if set(b) != set(j) or not 0.8 * lo <= j["value"] <= 1.2 * hi:
            return False
    return True


def diff(x, y):
    """The members of two objects that differ (for failure messages)."""
    if isinstance(x, dict) and isinstance(y, dict):
        return {k: [x.get(k), y.get(k)] for k in set(x) | set(y) if x.get(k) != y.get(k)}
    return None if x == y else "differs"


def same_values(before, js, after):
    """metrics(agent): the same keys; a value equal in both REST reads
    (counters between samples) equal in the script's answer, one that moved
    (flow metrics, smoothed continuously) within 20% of the two."""
    if set(before) != set(after):
        return None
    if not isinstance(js, dict) or set(js) != set(before):
        return False
    for k, b in before.items():
        a, j = after[k], js[k]
        if b == a:
            if j != b:
                return False
        elif not (isinstance(j, (int, float)) and
                  0.8 * min(a, b) <= j <= 1.2 * max(a, b)):
            return False
    return True


def compare(how, before, js, after):
    """True / False, or None when the REST answers moved between the two
    reads (a counter sample arrived): then the comparison is repeated."""
    if how == "agents":
        return same_agents(before, js, after)
    if how == "flows":
        return same_flows(before, js, after)
    if how == "values":
        return same_values(before, js, after)
    if how == "keys":
        if set(before) != set(after):
            return None
        return isinstance(js, dict) and set(js) == set(before)
    b, a = strip(before, AGES), strip(after, AGES)
    if b != a:
        return None
    return strip(js, AGES) == b


def check_queries(tap, port):
    """Each data function through the script against REST read around it."""
    for fn, hq, path, how in QUERIES:
        detail = None
        for _ in range(8):
            st1, before = http(port, path)
            st2, js = http(port, "/app/t/scripts/api.js/q/%s/json?%s" % (fn, hq))
            st3, after = http(port, path)
            if st1 != 200 or st3 != 200 or not before or not after:
                detail = ("REST", path, st1, st3, before)
                break
            res = compare(how, before, js, after) if st2 == 200 else False
            detail = (st2, diff(js, before), diff(before, after), js, before)
            if res is not None:
                break
            time.sleep(0.3)
        tap.ok(res is True, "%s(%s) equals GET %s (not empty)" % (fn, hq.replace("&", ", "), path),
               json.dumps(detail)[:1500])


def check_log_and_props(tap, t, port, appdir):
    for level, what in (("INFO", "info"), ("WARNING", "warning"), ("SEVERE", "severe")):
        tap.ok(re.search(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ %s: LOGCHECK %s line$" % (level, what),
                         t, re.M) is not None,
               "log%s: one line in sFlow-RT's shape in the suite's log" % what.capitalize(),
               [ln for ln in t.splitlines() if "LOGCHECK" in ln])
    props = results(t, "props")
    tap.ok(props == [[str(port), "blue", appdir, None]],
           "getSystemProperty: http.port, an app property, script.appdir, an unknown one", props)


def check_interval(tap, t):
    ticks = results(t, "tick")
    nows = [x["now"] for x in ticks]
    gaps = sorted(b - a for a, b in zip(nows, nows[1:]))
    median = gaps[len(gaps) // 2] if gaps else 0
    tap.ok(len(ticks) >= 5 and 700 <= median <= 1500 and
           abs(nows[-1] - time.time() * 1000) < 15000,
           "setIntervalHandler: every second, now in epoch ms", (len(ticks), median, nows[-3:]))
    tap.ok([x["n"] for x in ticks] == list(range(1, len(ticks) + 1)),
           "sharedSet/sharedGet keep a value across callbacks", [x["n"] for x in ticks][:10])


def check_http(tap, port):
    st, ver = http(port, "/version")
    st2, r = http(port, "/app/t/scripts/api.js/http/json?url=http://127.0.0.1:%d/version" % port)
    tap.ok(st == 200 and st2 == 200 and isinstance(r, dict) and r.get("body") == ver,
           "http(url): the gateway's GET /version", (ver, st2, r))
    mute = socket.socket()
    mute.bind(("127.0.0.1", 0))
    mute.listen(4)  # never accepted, never answered
    url = "http://127.0.0.1:%d/hook" % mute.getsockname()[1]
    st, r = http(port, "/app/t/scripts/api.js/http/json?url=" + url, timeout=20)
    mute.close()
    tap.ok(st == 200 and isinstance(r, dict) and "timed out" in r.get("thrown", "").lower() and
           HTTP_TIMEOUT_MS * 0.9 <= r.get("ms", 0) <= HTTP_TIMEOUT_MS + 5000,
           "http(url) to a server that never answers throws at script.http.timeout", (st, r))


def check_handlers(tap, port, t):
    evs = results(t, "event")
    st, rest_evs = http(port, "/events/json?maxEvents=1000")
    by_id = {e["eventID"]: e for e in (rest_evs or [])}
    tap.ok(evs and all(e["id"] in by_id and by_id[e["id"]]["flowKey"] == e["key"] and
                       by_id[e["id"]]["thresholdID"] == "big" for e in evs),
           "setEventHandler: every event seen is in GET /events/json",
           (evs[:3], (rest_evs or [])[:3]))
    tap.ok(evs and all(e["key"] == "10.4.1.2,10.4.2.2" for e in evs),
           "setEventHandler: the elephant is 10.4.1.2,10.4.2.2", evs[:5])
    fls = results(t, "flow")
    st, rest_fls = http(port, "/flows/json?maxFlows=1000")
    by_id = {f["flowID"]: f for f in (rest_fls or [])}
    tap.ok(fls and all(f["id"] in by_id and by_id[f["id"]]["flowKeys"] == f["key"] and
                       by_id[f["id"]]["name"] == "logged" and f["name"] == "logged" for f in fls),
           "setFlowHandler: every record seen is in GET /flows/json",
           (fls[:3], (rest_fls or [])[:3]))


def check_app_routes(tap, port):
    st, body = http(port, "/app/t/scripts/api.js/hello/txt?who=sfa")
    tap.ok(st == 200 and body == "hello sfa", "setHttpHandler answers through the gateway",
           (st, body))
    st, body = http(port, "/app/t/scripts/api.js/top/json")
    tap.ok(st == 200 and isinstance(body, list) and body and
           body[0]["key"] == "10.4.1.2,10.4.2.2", "an app query answers JSON", (st, body))
    st, body = http(port, "/app/t/scripts/api.js/nothing/json")
    tap.ok(st == 404, "throw 'not_found' is a 404 through the gateway", st)
    st, body = http(port, "/scripts/json")
    tap.ok(st == 200 and body.get("app/t/scripts/api.js", {}).get("alive") is True and
           body["app/t/scripts/api.js"].get("requestsReceived", 0) >= len(QUERIES),
           "GET /scripts/json", (st, body))
    st, body = http(port, "/apps/json")
    tap.ok(st == 200 and body == {"t": {"scripts": ["scripts/api.js"]},
                                  "browse-flows": {"entry": "/html/",
                                                   "scripts": ["scripts/top.js"]}},
           "GET /apps/json", (st, body))


def main():
    args = parse_args("build", "data", "work")
    tap = Tap()
    absent = not_built(args.build)
    if absent:
        print("1..0 # SKIP %s is not built" % absent)
        return 0
    work = os.path.join(os.path.abspath(args.work), "scripts-rest")
    shutil.rmtree(work, ignore_errors=True)
    appdir = os.path.join(work, "app")
    sdir = os.path.join(appdir, "t", "scripts")
    os.makedirs(sdir)
    with open(os.path.join(sdir, "api.js"), "w") as f:
        f.write(SCRIPT)
    sfa = Launcher(args.build, work, [
        "-Dsflow.file=" + os.path.join(args.data, "fabric-demo.pcap"), "-Dsflow.file.loop=yes",
        "-Dscript.appdir=" + appdir, "-Dscript.http.timeout=%d" % HTTP_TIMEOUT_MS,
        "-Dt.color=blue"], state=False, cwd=work)
    port = sfa.port
    text = sfa.text

    # Wait for events, logged flow records (activeTimeout), five ticks and
    # counter rates of every agent (counter samples every 10 s: the second
    # sample of each agent gives its rates).
    def enough():
        t = text()
        return results(t, "event") and results(t, "flow") and len(results(t, "tick")) >= 5

    def rates():
        st, d = http(port, "/dump/ALL/ifinoctets/json")
        return st == 200 and len({e.get("agent") for e in d or []}) == 4
    wait_until(enough, 60)
    wait_until(rates, 60)
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

    check_queries(tap, port)
    check_log_and_props(tap, text(), port, appdir)
    check_interval(tap, text())
    check_http(tap, port)
    check_handlers(tap, port, text())
    check_app_routes(tap, port)

    tap.ok("SEVERE: scripts:" not in text(), "no script error",
           [ln for ln in text().splitlines() if "SEVERE" in ln][:5])
    rc = sfa.stop()
    tap.ok(rc == 0, "SIGTERM: sfa exits 0", rc)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
