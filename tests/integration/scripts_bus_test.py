#!/usr/bin/python3
"""scripts_bus_test.py - sfa-scripts' supervisor on a real bus, TAP output.

This process plays the events service (an nng pub socket on bus.events) and
the gateway (an nng surveyor on bus.query), both through ctypes on libnng
with the suite's framing (topic, NUL, msgpack envelope). sfa-scripts runs an
app written here, app/demo/scripts/:

  web.js      setHttpHandler: echoes req, returns text, nothing, throws
  events.js   setEventHandler(fn, ['wanted']): logs "EVENT <id> <key>"
  thrower.js  setEventHandler whose handler always throws
  runaway.js  setIntervalHandler(function(){ while(true){} })
  hog.js      setIntervalHandler that grows an array without bound
  ticker.js   setIntervalHandler logging TICK n every 0.3 s, the bystander

Checks: events reach only the handlers that want them; script.http surveys
answer with what setHttpHandler returned (JSON, text, 204, thrown
'not_found' -> 404, an Error -> 500 and a log line, no such script -> 404);
the runaway script is killed at script.timeout and restarted with back-off,
the hog stopped at script.heap and restarted, the throwing handler logged
with file and line while its script keeps running, and the ticker keeps
ticking throughout with no restart; the scripts and apps surveys
(/scripts/json, /apps/json) and hello (role "scripts"); SIGTERM stops
everything, children included.

Usage: scripts_bus_test.py --build BUILD --work WORK
"""
import ctypes
import json
import os
import re
import shutil
import sys
import time

import msgpack

import suite


class NngSocket(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint32)]


class Nng:
    """A pub or surveyor socket that listens on url."""

    def __init__(self, kind, url):
        n = self.lib = ctypes.CDLL("libnng.so.1")
        n.nng_listen.argtypes = [NngSocket, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int]
        n.nng_send.argtypes = [NngSocket, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        n.nng_recv.argtypes = [NngSocket, ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t),
                               ctypes.c_int]
        n.nng_socket_set_ms.argtypes = [NngSocket, ctypes.c_char_p, ctypes.c_int32]
        n.nng_socket_set_size.argtypes = [NngSocket, ctypes.c_char_p, ctypes.c_size_t]
        n.nng_close.argtypes = [NngSocket]
        self.sock = NngSocket()
        opener = n.nng_pub0_open if kind == "pub" else n.nng_surveyor0_open
        assert opener(ctypes.byref(self.sock)) == 0
        n.nng_socket_set_size(self.sock, b"recv-size-max", 64 << 20)
        assert n.nng_listen(self.sock, url.encode(), None, 0) == 0
        self.seq = 0

    def send(self, topic, body):
        self.seq += 1
        env = {"v": 1, "src": "test", "seq": self.seq, "ts_ms": int(time.time() * 1000),
               "body": body}
        data = topic.encode() + b"\0" + msgpack.packb(env, use_bin_type=True)
        return self.lib.nng_send(self.sock, data, len(data), 0)

    def survey(self, body, timeout_ms=3000):
        """Send a survey; return the bodies of the answers received in time."""
        self.lib.nng_socket_set_ms(self.sock, b"surveyor:survey-time", timeout_ms)
        self.lib.nng_socket_set_ms(self.sock, b"recv-timeout", timeout_ms + 500)
        if self.send("query.v1", body) != 0:
            return []
        out = []
        buf, size = ctypes.c_void_p(), ctypes.c_size_t()
        while self.lib.nng_recv(self.sock, ctypes.byref(buf), ctypes.byref(size), 1) == 0:
            data = ctypes.string_at(buf, size.value)
            self.lib.nng_free(buf, size)
            out.append(msgpack.unpackb(data.partition(b"\0")[2], raw=False)["body"])
            break  # one respondent: sfa-scripts
        return out

    def close(self):
        self.lib.nng_close(self.sock)


SCRIPTS = {
    "web.js": r"""
setHttpHandler(function(req) {
  switch (req.path[0]) {
  case 'echo': return {method: req.method, path: req.path, format: req.format,
                       query: req.query, body: req.body, error: req.error || null};
  case 'text': return 'hello text';
  case 'none': return;
  case 'boom': throw new Error('kaput');
  case 'bad': throw 'bad_request';
  }
  throw 'not_found';
});
""",
    "events.js": r"""
setEventHandler(function(evt) { logInfo('EVENT ' + evt.thresholdID + ' ' + evt.flowKey); },
                ['wanted']);
""",
    "thrower.js": r"""
setEventHandler(function(evt) {
  throw new Error('handler failed on ' + evt.flowKey);
});
""",
    "runaway.js": r"""
setIntervalHandler(function() { while (true) {} }, 0.5);
""",
    "hog.js": r"""
var keep = [];
setIntervalHandler(function() {
  for (var i = 0; i < 100000; i++) keep.push('some text that takes room ' + i);
}, 0.2);
""",
    "ticker.js": r"""
var n = 0;
setIntervalHandler(function() { n++; logInfo('TICK ' + n); }, 0.3);
""",
}


def wait_until(cond, timeout, step=0.1):
    return suite.wait_until(cond, timeout, step)


def ticks(text):
    return [int(x) for x in re.findall(r"INFO: TICK (\d+)$", text, re.M)]


def main():
    args = suite.parse_args("build", "work")
    tap = suite.Tap()
    work = os.path.join(args.work, "scripts-bus")
    shutil.rmtree(work, ignore_errors=True)
    sdir = os.path.join(work, "app", "demo", "scripts")
    os.makedirs(sdir)
    os.makedirs(os.path.join(work, "app", "demo", "html"))
    for name, text in SCRIPTS.items():
        with open(os.path.join(sdir, name), "w") as f:
            f.write(text)
    events_url = suite.ipc(work, "events")
    query_url = suite.ipc(work, "query")
    pub, sv = Nng("pub", events_url), Nng("surveyor", query_url)
    proc = suite.Proc(work, "scripts", [
        os.path.join(args.build, "sfa-scripts"), "-Dscript.appdir=" + os.path.join(work, "app"),
        "-Dscript.store=" + os.path.join(work, "store"), "-Dscript.timeout=1000",
        "-Dscript.heap=16", "-Dbus.events=" + events_url, "-Dbus.query=" + query_url,
        "-Dhttp.port=9", "-Dhttp.hostname=127.0.0.1"]).start()
    text = proc.text

    hello = wait_until(lambda: sv.survey({"op": "hello"}, 500), 15)
    tap.ok(hello and hello[0].get("role") == "scripts" and hello[0].get("id") == "scripts",
           "hello answered with role scripts", hello)
    wait_until(lambda: text().count(" started") >= 6, 10)
    t0 = ticks(text())

    # ---- events ----
    eid = [0]

    def publish(tid, key):
        eid[0] += 1
        pub.send("events.v1", {"eventID": eid[0], "timestamp": int(time.time() * 1000),
                               "thresholdID": tid, "metric": "m", "threshold": 1, "value": 2.0,
                               "agent": "10.0.0.1", "dataSource": "3", "flowKey": key})

    def got_event():
        publish("other", "10.9.9.9,10.9.9.8")
        publish("wanted", "10.4.1.2,10.4.2.2")
        return "EVENT wanted 10.4.1.2,10.4.2.2" in text()

    tap.ok(wait_until(got_event, 10, 0.2), "an event reaches setEventHandler", text()[-1500:])
    time.sleep(0.3)
    tap.ok("EVENT other" not in text(), "the handler's threshold list filters events")
    tap.ok(re.search(r"SEVERE: scripts: app/demo/scripts/thrower\.js: Error: handler failed on "
                     r"10\.\d+\.\d+\.\d+,\S+ \(.*thrower\.js:3\)", text()) is not None,
           "a throwing handler is logged with file and line",
           [ln for ln in text().splitlines() if "thrower" in ln][:5])

    # ---- HTTP through surveys ----
    def http(script, rest, method="GET", query="", body=None, ctype=None):
        q = {"op": "script.http", "app": "demo", "script": script, "method": method,
             "rest": rest, "query": query}
        if body is not None:
            q["body"] = body
            q["ctype"] = ctype
        a = sv.survey(q, 5000)
        return a[0].get("result") if a and a[0].get("op") == "script.http" else None

    r = http("web", "echo/a%20b/json", "POST", "x=1&x=2&y=z", '{"k":[1,2]}', "application/json")
    echo = json.loads(r["body"]) if r and r.get("body") else None
    tap.ok(r and r.get("status") == 200 and r.get("ctype") == "application/json",
           "HTTP handler answers 200 JSON", r)
    tap.ok(echo == {"method": "POST", "path": ["echo", "a b"], "format": "json",
                    "query": {"x": ["1", "2"], "y": ["z"]}, "body": {"k": [1, 2]},
                    "error": None}, "req carries method, path, format, query and parsed body", echo)
    r = http("web", "echo/json", "PUT", "", "{not json", "application/json")
    echo = json.loads(r["body"]) if r and r.get("body") else {}
    tap.ok(echo.get("body") == "{not json" and echo.get("error"),
           "a body that is not JSON comes as text with req.error", echo)
    r = http("web", "text/txt")
    tap.ok(r and r.get("status") == 200 and r.get("body") == "hello text" and
           r.get("ctype") == "text/plain", "a returned string is sent as text", r)
    r = http("web", "none/json", "DELETE")
    tap.ok(r and r.get("status") == 204, "returning nothing answers 204", r)
    r = http("web", "missing/json")
    tap.ok(r and r.get("status") == 404, "throw 'not_found' answers 404", r)
    r = http("web", "bad/json")
    tap.ok(r and r.get("status") == 400, "throw 'bad_request' answers 400", r)
    r = http("web", "boom/json")
    tap.ok(r and r.get("status") == 500 and "kaput" in text(),
           "an Error answers 500 and is logged", r)
    r = http("nosuch", "x/json")
    tap.ok(r and r.get("status") == 404, "an unknown script answers 404", r)
    r = http("ticker", "x/json")
    tap.ok(r and r.get("status") == 404, "a script without an HTTP handler answers 404", r)

    # ---- isolation ----
    tap.ok(wait_until(lambda: "runaway.js was stopped: its interval callback ran over 1000 ms"
                      in text(), 10),
           "the runaway callback is killed at script.timeout",
           [ln for ln in text().splitlines() if "runaway" in ln][:5])
    tap.ok(wait_until(lambda: "hog.js was stopped: heap limit of 16 MiB exceeded" in text(), 15),
           "the heap hog is stopped at script.heap",
           [ln for ln in text().splitlines() if "hog" in ln][:5])
    tap.ok(wait_until(lambda: "app/demo/scripts/runaway.js restarted" in text(), 10),
           "the runaway script is restarted")
    restarts = re.findall(r"runaway\.js was stopped.*restarting in ([\d.]+) s", text())
    wait_until(lambda: len(re.findall(r"runaway\.js was stopped", text())) >= 2, 10)
    restarts = re.findall(r"runaway\.js was stopped.*restarting in ([\d.]+) s", text())
    tap.ok(len(restarts) >= 2 and float(restarts[1]) > float(restarts[0]),
           "restarts back off", restarts)
    t1 = ticks(text())
    tap.ok(t1 and t0 is not None and len(t1) > len(t0) + 5 and t1 == list(range(1, len(t1) + 1)),
           "the bystander script kept ticking, never restarted",
           (len(t0 or []), len(t1 or []), t1[-5:] if t1 else None))

    a = sv.survey({"op": "scripts"})
    st = a[0].get("result", {}) if a else {}
    run = st.get("app/demo/scripts/runaway.js", {})
    thr = st.get("app/demo/scripts/thrower.js", {})
    tick = st.get("app/demo/scripts/ticker.js", {})
    web = st.get("app/demo/scripts/web.js", {})
    tap.ok(len(st) == 6, "/scripts/json lists the six scripts", sorted(st))
    tap.ok(run.get("sfaRestarts", 0) >= 1 and "ran over" in str(run.get("error")),
           "/scripts/json: runaway restarted, error says why", run)
    tap.ok(thr.get("alive") is True and thr.get("sfaRestarts") == 0 and
           "handler failed" in str(thr.get("error")) and thr.get("eventsReceived", 0) >= 1,
           "/scripts/json: the thrower is alive with its error and its events", thr)
    tap.ok(tick.get("alive") is True and tick.get("sfaRestarts") == 0 and tick.get("error") is None,
           "/scripts/json: the ticker is alive and clean", tick)
    tap.ok(web.get("requestsReceived", 0) >= 7 and "cpuMs" in web and "gracefulExit" in web,
           "/scripts/json: counters", web)
    a = sv.survey({"op": "apps"})
    apps = a[0].get("result") if a else None
    tap.ok(apps == {"demo": {"entry": "/html/",
                             "scripts": ["scripts/%s" % n for n in sorted(SCRIPTS)]}},
           "/apps/json", apps)
    a = sv.survey({"op": "activeflows", "name": "x"})
    tap.ok(a and a[0].get("result") == [], "other surveys get an empty answer at once", a)

    pids = [v.get("sfaPid") for v in st.values() if v.get("sfaPid")]
    rc = proc.stop()
    tap.ok(rc == 0, "SIGTERM: exit 0", rc)
    time.sleep(0.2)
    alive = [p for p in pids if os.path.exists("/proc/%d" % p) and
             "sfa-scripts" in open("/proc/%d/cmdline" % p).read()]
    tap.ok(pids and not alive, "no script child outlives the supervisor", (pids, alive))
    pub.close()
    sv.close()
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
