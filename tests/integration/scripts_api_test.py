#!/usr/bin/python3
"""scripts_api_test.py - the script API of sfa-scripts against a recording
fake gateway, TAP output.

A real sfa-scripts runs one script (written here) that calls every data and
control function of the API and logs each result as "RESULT <name> <json>".
The fake gateway (an HTTP server in this process on 127.0.0.1) records every
request and answers GETs with {"method":..., "path":...} (the path as it
arrived, query included), so each check sees both what the function sent and
that its result is exactly what the REST API answered. Writes answer 204,
except the names "bad" (400 with a message) and "missing" (404). A second
server plays a webhook for http()/http2(), one of its paths slower than
script.http.timeout. A second script's setFlowHandler reads the fake
/flows/json log: only records newer than when it registered, oldest first,
only its flow definition's. Also checked: getSystemProperty (an app's own property,
one of ours, an unknown one), sharedSet/Get and storeSet/Get/Keys (held by
the supervisor), include()/scriptdir(), the log shape of logInfo & co. and
that a script with no handler ends gracefully.

Usage: scripts_api_test.py --build BUILD --work WORK
"""
import http.server
import json
import os
import re
import shutil
import sys
import threading
import time

from suite import Proc, Tap, ipc, parse_args, wait_until

LOG_RE = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ %s: %s$"


class FakeGateway(http.server.BaseHTTPRequestHandler):
    seen = []
    flows_ready = False

    def log_message(self, *args):
        pass

    def reply(self, status, body=None, ctype="application/json"):
        data = b"" if body is None else (body if isinstance(body, bytes) else
                                          json.dumps(body).encode())
        self.send_response(status)
        if data:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def record(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode() if n else None
        FakeGateway.seen.append({"method": self.command, "path": self.path, "body": body,
                                 "ctype": self.headers.get("Content-Type")})
        return body

    def do_GET(self):
        self.record()
        if self.path == "/version":
            self.reply(200, b"3.0-test", "text/plain")
        elif self.path.startswith("/flows/json"):
            self.reply(200, flow_log(self.path))
        else:
            self.reply(200, {"method": "GET", "path": self.path})

    def write(self):
        self.record()
        name = self.path.split("/")[2] if self.path.count("/") >= 3 else ""
        if name == "bad":
            self.reply(400, {"error": 400, "message": "unknown key nonsense"})
        elif name == "missing":
            self.reply(404, {"error": 404, "message": "no such flow"})
        else:
            self.reply(204)

    do_PUT = write
    do_DELETE = write


def flow_log(path):
    """/flows/json as the gateway answers it: newest first, ids above the
    flowID cursor. Records 1..5 exist before the script polls first; 6..9
    appear after that first poll (8 is another flow definition's)."""
    q = dict(p.split("=", 1) for p in path.partition("?")[2].split("&") if "=" in p)
    after, most = int(q.get("flowID", "-1")), int(q.get("maxFlows", "1000"))
    if after >= 5:
        FakeGateway.flows_ready = True
    limit = 9 if FakeGateway.flows_ready else 5
    recs = [{"flowID": i, "name": "other" if i == 8 else "logged",
             "flowKeys": "10.0.0.%d,10.0.1.1" % i, "value": 1.0, "start": 1, "end": 2,
             "agent": "10.0.0.1", "dataSource": "1"} for i in range(limit, after, -1)]
    return recs[:most]


class Hook(http.server.BaseHTTPRequestHandler):
    seen = []

    def log_message(self, *args):
        pass

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode() if n else ""
        Hook.seen.append({"method": self.command, "path": self.path, "body": body,
                          "x": self.headers.get("X-A"), "ctype": self.headers.get("Content-Type")})
        if self.path == "/slow":
            time.sleep(2)
        data = ("hook:" + self.command + ":" + body).encode()
        self.send_response(200 if self.path != "/h404" else 404)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except OSError:
            pass

    do_GET = do_POST = do_PUT = handle_any


def serve(handler):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


SCRIPT = r"""
include(scriptdir() + '/inc/helpers.js');
attempt('setFlow', function() { return setFlow('pairs', {keys:'ipsource,ipdestination', value:'bytes'}); });
attempt('setFlowBad', function() { return setFlow('bad', {keys:'nonsense', value:'bytes'}); });
attempt('clearFlow', function() { return clearFlow('pairs'); });
attempt('clearFlowMissing', function() { return clearFlow('missing'); });
attempt('setThreshold', function() { return setThreshold('elephant_threshold', {metric:'pairs', value:1250000, byFlow:true, timeout:1}); });
attempt('clearThreshold', function() { return clearThreshold('elephant_threshold'); });
attempt('activeFlows', function() { return activeFlows('ALL', 'pairs', 5, 0.5, 'sum'); });
attempt('activeFlowsList', function() { return activeFlows(['10.0.0.1', '10.0.0.2'], 'pairs'); });
attempt('metric', function() { return metric('ALL', 'max:ifinoctets,load_one', {os_name:['linux','windows'], cpu_num:'2'}); });
attempt('dump', function() { return dump('10.0.0.1', ['ifinoctets', 'ifoutoctets']); });
attempt('table', function() { return table('ALL', 'sort:ifinoctets:-5'); });
attempt('agents', function() { return agents(); });
attempt('agentsList', function() { return agents(['10.0.0.1', '10.0.0.2']); });
attempt('flowKeys', function() { return flowKeys(); });
attempt('metrics', function() { return metrics(); });
attempt('metricsAgent', function() { return metrics('10.0.0.1'); });
attempt('setGroups', function() { return setGroups('site', {inside:['10.0.0.0/8']}); });
attempt('setGroupsNull', function() { return setGroups('site', null); });
attempt('setMap', function() { return setMap('svc', {web:['80','443']}); });
attempt('version', function() { return version(); });
attempt('getSystemProperty', function() { return [getSystemProperty('myapp.x'), getSystemProperty('script.timeout'), getSystemProperty('nope'), getSystemProperty('myapp.y'), getSystemProperty('myapp.z')]; });
attempt('shared', function() { sharedSet('k', {a:[1,2]}); var v = sharedGet('k'); sharedSet('k', null); return [v, sharedGet('k')]; });
attempt('store', function() { storeSet('s', 5); var r = [storeGet('s'), storeKeys()]; storeDelete('s'); r.push(storeGet('s')); return r; });
attempt('http', function() { return http(HOOK + '/hook', 'post', 'application/json', JSON.stringify({a:1})); });
attempt('httpGet', function() { return http(HOOK + '/get'); });
attempt('http404', function() { return http(HOOK + '/h404'); });
attempt('httpSlow', function() { return http(HOOK + '/slow'); });
attempt('http2', function() { return http2({url: HOOK + '/h2', operation:'put', headers:{'X-A':'b'}, body:'x'}); });
attempt('helper', function() { return helperValue; });
logInfo('plain line');
logWarning('warn line');
logSevere('severe line');
logFine('fine line');
out('done', true);
"""

FLOWS = r"""
setFlowHandler(function(rec) {
  logInfo('FLOW ' + rec.flowID + ' ' + rec.name + ' ' + rec.flowKeys);
  if (rec.flowID >= 9) clearFlowHandler();
}, ['logged']);
"""

HELPERS = r"""
function out(name, v) { logInfo('RESULT ' + name + ' ' + JSON.stringify(v)); }
function attempt(name, f) { try { out(name, f()); } catch (e) { out(name, {thrown: String(e)}); } }
let helperValue = 'from include';
"""


def main():
    args = parse_args("build", "work")
    tap = Tap()
    work = os.path.join(args.work, "scripts-api")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(work, "js", "inc"))
    os.makedirs(os.path.join(work, "app", "myapp"))
    gw, hook = serve(FakeGateway), serve(Hook)
    with open(os.path.join(work, "js", "api.js"), "w") as f:
        f.write("var HOOK = 'http://127.0.0.1:%d';\n" % hook.server_address[1] + SCRIPT)
    with open(os.path.join(work, "js", "flows.js"), "w") as f:
        f.write(FLOWS)
    with open(os.path.join(work, "js", "inc", "helpers.js"), "w") as f:
        f.write(HELPERS)
    argv = [os.path.join(args.build, "sfa-scripts"),
            "-Dscript.file=" + os.path.join(work, "js", "api.js") + "," +
            os.path.join(work, "js", "flows.js"),
            "-Dscript.appdir=" + os.path.join(work, "app"),
            "-Dscript.store=" + os.path.join(work, "store"),
            "-Dhttp.port=%d" % gw.server_address[1], "-Dhttp.hostname=127.0.0.1",
            "-Dscript.http.timeout=1000", "-Dmyapp.x=42",
            "-Dbus.events=" + ipc(work, "events"), "-Dbus.query=" + ipc(work, "query")]
    proc = Proc(work, "scripts", argv + ["-Dmyapp.z=2"],
                env=dict(os.environ, RTPROP="-Dmyapp.y=7 -Dmyapp.z=1 -Xmx1G")).start()
    log = proc.logpath
    wait_until(lambda: proc.text().count("finished: no handler left") >= 2, 30, 0.1)
    text = proc.text()
    rc = proc.stop()
    tap.ok(rc == 0, "sfa-scripts exits 0 on SIGTERM", rc)
    tap.ok("api.js finished: no handler left" in text, "a script without handlers ends gracefully",
           text[-2000:])
    tap.ok("flows.js finished: no handler left" in text,
           "a handler that clears the last handler ends its script", text[-2000:])
    res = {}
    for m in re.finditer(r"INFO: RESULT (\S+) (.*)$", text, re.M):
        res[m.group(1)] = json.loads(m.group(2))
    seen = FakeGateway.seen

    def sent(method, path):
        return [s for s in seen if s["method"] == method and s["path"] == path]

    def get_checks(name, path):
        tap.ok(res.get(name) == {"method": "GET", "path": path},
               "%s: GET %s, result is the REST answer" % (name, path), res.get(name))

    s = sent("PUT", "/flow/pairs/json")
    tap.ok(res.get("setFlow") is True and len(s) == 1 and
           json.loads(s[0]["body"]) == {"keys": "ipsource,ipdestination", "value": "bytes"} and
           s[0]["ctype"] == "application/json", "setFlow: PUT /flow/pairs/json with the spec",
           (res.get("setFlow"), s))
    tap.ok("unknown key nonsense" in str(res.get("setFlowBad", {}).get("thrown")),
           "setFlow: a refused spec throws the gateway's message", res.get("setFlowBad"))
    tap.ok(res.get("clearFlow") is True and sent("DELETE", "/flow/pairs/json"),
           "clearFlow: DELETE /flow/pairs/json", res.get("clearFlow"))
    tap.ok(res.get("clearFlowMissing") is False, "clearFlow of an unknown flow: false",
           res.get("clearFlowMissing"))
    s = sent("PUT", "/threshold/elephant_threshold/json")
    tap.ok(res.get("setThreshold") is True and len(s) == 1 and json.loads(s[0]["body"]) ==
           {"metric": "pairs", "value": 1250000, "byFlow": True, "timeout": 1},
           "setThreshold: PUT /threshold/elephant_threshold/json", (res.get("setThreshold"), s))
    tap.ok(res.get("clearThreshold") is True and sent("DELETE", "/threshold/elephant_threshold/json"),
           "clearThreshold: DELETE /threshold/elephant_threshold/json")
    get_checks("activeFlows", "/activeflows/ALL/pairs/json?maxFlows=5&minValue=0.5&aggMode=sum")
    get_checks("activeFlowsList", "/activeflows/10.0.0.1,10.0.0.2/pairs/json")
    get_checks("metric", "/metric/ALL/max:ifinoctets,load_one/json"
               "?os_name=linux&os_name=windows&cpu_num=2")
    get_checks("dump", "/dump/10.0.0.1/ifinoctets,ifoutoctets/json")
    get_checks("table", "/table/ALL/sort:ifinoctets:-5/json")
    get_checks("agents", "/agents/json")
    get_checks("agentsList", "/agents/json?agent=10.0.0.1&agent=10.0.0.2")
    get_checks("flowKeys", "/flowkeys/json")
    get_checks("metrics", "/metrics/json")
    get_checks("metricsAgent", "/metric/10.0.0.1/json")
    s = sent("PUT", "/group/site/json")
    tap.ok(res.get("setGroups") is True and s and
           json.loads(s[0]["body"]) == {"inside": ["10.0.0.0/8"]},
           "setGroups: PUT /group/site/json", s)
    tap.ok(res.get("setGroupsNull") is True and sent("DELETE", "/group/site/json"),
           "setGroups(name, null): DELETE /group/site/json")
    s = sent("PUT", "/map/svc/json")
    tap.ok(res.get("setMap") is True and s and json.loads(s[0]["body"]) == {"web": ["80", "443"]},
           "setMap: PUT /map/svc/json", s)
    tap.ok(res.get("version") == "3.0-test", "version(): GET /version", res.get("version"))
    tap.ok(res.get("getSystemProperty") == ["42", "10000", None, "7", "2"],
           "getSystemProperty: app property, own property, unknown, from RTPROP, -D over RTPROP",
           res.get("getSystemProperty"))
    tap.ok(res.get("shared") == [{"a": [1, 2]}, None], "sharedSet/sharedGet", res.get("shared"))
    tap.ok(res.get("store") == [5, ["s"], None], "storeSet/storeGet/storeKeys/storeDelete",
           res.get("store"))
    tap.ok(res.get("helper") == "from include", "include(scriptdir()+...) with `let`",
           res.get("helper"))
    h = [x for x in Hook.seen if x["path"] == "/hook"]
    tap.ok(res.get("http") == 'hook:POST:{"a":1}' and h and h[0]["ctype"] == "application/json",
           "http(url,'post',type,body) posts and returns the body", (res.get("http"), h))
    tap.ok(res.get("httpGet") == "hook:GET:", "http(url) GETs", res.get("httpGet"))
    tap.ok("status 404" in str(res.get("http404", {}).get("thrown")), "http(): non-2xx throws",
           res.get("http404"))
    tap.ok("timed out" in str(res.get("httpSlow", {}).get("thrown")).lower(),
           "http(): a slow server hits script.http.timeout", res.get("httpSlow"))
    h2 = res.get("http2") or {}
    h = [x for x in Hook.seen if x["path"] == "/h2"]
    tap.ok(h2.get("status") == 200 and h2.get("body") == "hook:PUT:x" and h and h[0]["x"] == "b",
           "http2({url, operation, headers, body})", (h2, h))
    for level, text in (("INFO", "plain line"), ("WARNING", "warn line"),
                        ("SEVERE", "severe line")):
        tap.ok(re.search(LOG_RE % (level, text), text_or(text, log), re.M) is not None,
               "log%s line in sFlow-RT's shape" % level.capitalize(),
               [ln for ln in open(log).read().splitlines() if text in ln])
    tap.ok("fine line" not in open(log).read(), "logFine is below the default level")
    tap.ok("done" in res, "the script ran to the end", sorted(res))
    flows = re.findall(r"INFO: FLOW (\d+) (\S+) ", open(log).read())
    tap.ok(flows == [("6", "logged"), ("7", "logged"), ("9", "logged")],
           "setFlowHandler: new records only, oldest first, its flows only", flows)
    polls = [s["path"] for s in seen if s["path"].startswith("/flows/json")]
    tap.ok(polls and polls[0] == "/flows/json?maxFlows=1&flowID=-1" and
           "/flows/json?maxFlows=1000&flowID=5" in polls,
           "setFlowHandler polls GET /flows/json from its cursor", polls[:4])
    gw.shutdown()
    hook.shutdown()
    return tap.done()


def text_or(_, path):
    with open(path) as f:
        return f.read()


if __name__ == "__main__":
    sys.exit(main())
