#!/usr/bin/python3
"""events_api_test.py - thresholds, events and logged flows over REST, end to end.

The whole suite runs under the launcher (build/sfa) replaying
fabric-demo.pcap at its pace, in a loop: collector, aggregator, sfa-events
and the gateway, on ipc:// paths under the work dir and an ephemeral HTTP
port on 127.0.0.1. Checked through the gateway's REST API only:

  bad     bad input is 400 with a message (JSON, fields, unknown metric,
          query parameters of /events/json and /flows/json)
  crud    /threshold CRUD, defaults in GET, 404s
  poll    a long-poll with nothing newer returns [] after its timeout;
          eventID=-1 returns history at once; a parked poll is woken by
          a new event
  events  the seed's elephant threshold fires for 10.4.1.2,10.4.2.2 with
          every field, newest first, ids increasing
  flows   log:true definitions produce /flows/json records
  restart SIGKILL of sfa-events: thresholds stay, new ids are larger
          than every earlier one; SIGKILL of the gateway: thresholds
          persist (sfa.state) and the event history is refilled

Usage: events_api_test.py --build DIR --data DIR --work DIR   (TAP on stdout)
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import sys
import threading
import time

from suite import Launcher, Tap, fresh_dir, wait_until
from suite import http as suite_http

TAP = Tap(detail_lines=10)
ok = TAP.ok


class Suite(Launcher):
    def __init__(self, args):
        super().__init__(args.build, fresh_dir(args.work, "events-api"), [
            "-Dsflow.file=" + os.path.join(args.data, "fabric-demo.pcap"),
            "-Dsflow.file.loop=yes", "-Dsflow.port=0"])

    def pid_of(self, name):
        """The newest pid the launcher logged for service name."""
        pids = re.findall(r"Started %s, pid (\d+)" % name, self.text())
        return int(pids[-1]) if pids else None


def http(suite, method, path, body=None, timeout=30):
    """(status, parsed JSON or text, seconds taken); body: JSON, or bytes
    sent as they are."""
    t0 = time.monotonic()
    st, raw = suite_http(suite.base + path, method, body, timeout)
    dt = time.monotonic() - t0
    if st is None:
        return None, raw.decode(), dt
    try:
        return st, json.loads(raw) if raw else None, dt
    except ValueError:
        return st, raw.decode(errors="replace"), dt


def wait_http(suite, seconds):
    return wait_until(lambda: http(suite, "GET", "/threshold/json", timeout=2)[0] == 200,
                      seconds, 0.1)


def is_error(st, body, code=400):
    return st == code and isinstance(body, dict) and body.get("error") == code and \
        isinstance(body.get("message"), str) and body["message"] != ""


ELEPHANT = {"keys": "ipsource,ipdestination", "value": "bytes"}
THRESHOLD = {"metric": "elephant", "value": 10000000 / 8, "byFlow": True, "timeout": 1}
EVENT_FIELDS = ["eventID", "timestamp", "thresholdID", "metric", "threshold", "value", "agent",
                "dataSource", "flowKey"]


def case_bad(s):
    st, b, _ = http(s, "PUT", "/threshold/t1/json", b"{not json")
    ok(is_error(st, b), "PUT threshold with bad JSON: 400 with a message", b)
    st, b, _ = http(s, "PUT", "/threshold/t1/json", {"metric": "no_such_metric", "value": 1})
    ok(is_error(st, b) and "unknown metric" in b["message"], "unknown metric: 400", b)
    st, b, _ = http(s, "PUT", "/threshold/t1/json", {"value": 1})
    ok(is_error(st, b), "missing metric: 400", b)
    st, b, _ = http(s, "PUT", "/threshold/t1/json", {"metric": "elephant", "value": "big"})
    ok(is_error(st, b), "non-numeric value: 400", b)
    st, b, _ = http(s, "PUT", "/threshold/t1/json", {"metric": "elephant", "value": 1,
                                                     "timeout": -1})
    ok(is_error(st, b), "negative timeout: 400", b)
    st, b, _ = http(s, "PUT", "/threshold/t1/json", {"metric": "elephant", "value": 1,
                                                     "byFlow": "yes"})
    ok(is_error(st, b), "non-boolean byFlow: 400", b)
    st, b, _ = http(s, "PUT", "/threshold/t1/json", {"metric": "elephant", "value": 1,
                                                     "filter": {"ifspeed": ["1"]}})
    ok(is_error(st, b), "unsupported filter attribute: 400", b)
    st, b, _ = http(s, "PUT", "/threshold/t1/json", {"metric": "elephant", "value": 1,
                                                     "filter": {"agent": "10.0.0.1"}})
    ok(is_error(st, b), "filter values not a list: 400", b)
    st, b, _ = http(s, "PUT", "/threshold/bad%20name/json", {"metric": "elephant", "value": 1})
    ok(is_error(st, b), "bad threshold name: 400", b)
    for q, what in [("eventID=abc", "non-numeric eventID"), ("eventID=1.5", "fractional eventID"),
                    ("maxEvents=x", "non-numeric maxEvents"), ("maxEvents=-1", "negative maxEvents"),
                    ("timeout=-1", "negative timeout"), ("timeout=soon", "non-numeric timeout")]:
        st, b, _ = http(s, "GET", "/events/json?" + q)
        ok(is_error(st, b), "/events/json %s: 400" % what, b)
    for q, what in [("flowID=abc", "non-numeric flowID"), ("timeout=-2", "negative timeout"),
                    ("maxFlows=many", "non-numeric maxFlows")]:
        st, b, _ = http(s, "GET", "/flows/json?" + q)
        ok(is_error(st, b), "/flows/json %s: 400" % what, b)
    st, b, _ = http(s, "GET", "/threshold/t1/json")
    ok(st == 404, "nothing was stored by the refused PUTs", b)


def case_crud(s):
    st, _, _ = http(s, "PUT", "/threshold/cpu/json", {"metric": "cpu_utilization", "value": 90})
    ok(st == 204, "PUT a threshold on a counter metric: 204", st)
    st, b, _ = http(s, "GET", "/threshold/cpu/json")
    ok(st == 200 and b == {"metric": "cpu_utilization", "value": 90, "byFlow": False,
                           "timeout": 60}, "GET fills in byFlow and timeout", b)
    spec = {"metric": "elephant", "value": 5e9, "byFlow": True, "timeout": 3,
            "filter": {"agent": ["10.0.0.1"], "dataSource": ["1", 2]}}
    st, _, _ = http(s, "PUT", "/threshold/quiet/json", spec)
    ok(st == 204, "PUT a threshold with a filter: 204", st)
    st, b, _ = http(s, "GET", "/threshold/json")
    ok(st == 200 and b.get("quiet") == spec and "cpu" in b, "GET /threshold/json lists both", b)
    st, _, _ = http(s, "DELETE", "/threshold/cpu/json")
    ok(st == 204, "DELETE: 204", st)
    st, b, _ = http(s, "GET", "/threshold/cpu/json")
    ok(is_error(st, b, 404), "GET after DELETE: 404", b)
    st, b, _ = http(s, "DELETE", "/threshold/cpu/json")
    ok(is_error(st, b, 404), "DELETE again: 404", b)


def case_poll(s):
    st, b, dt = http(s, "GET", "/events/json?eventID=-1&timeout=1.5&thresholdID=nothing_here")
    ok(st == 200 and b == [] and 1.3 <= dt <= 4, "long-poll with nothing: [] after ~1.5 s",
       (st, b, dt))
    st, b, dt = http(s, "GET", "/events/json?eventID=-1&thresholdID=nothing_here")
    ok(st == 200 and b == [] and dt < 1, "no timeout: [] at once", (st, b, dt))
    st, b, dt = http(s, "GET", "/flows/json?flowID=-1&timeout=1&name=nothing_here")
    ok(st == 200 and b == [] and 0.8 <= dt <= 4, "/flows/json long-poll: [] after ~1 s",
       (st, b, dt))
    # Clients that leave while parked: the gateway notices within a second
    # (long before their 30 s timeout), drops them and keeps serving.
    socks = []
    for _ in range(20):
        c = socket.create_connection(("127.0.0.1", s.port))
        c.sendall(b"GET /events/json?eventID=-1&thresholdID=gone&timeout=30 HTTP/1.1\r\n"
                  b"Host: t\r\n\r\n")
        socks.append(c)
    time.sleep(0.5)
    st, stats, _ = http(s, "GET", "/sfa/v1/stats")
    waiting = stats["gateway"]["events"]["waiting"] if st == 200 else None
    for c in socks:
        c.close()
    time.sleep(2.5)
    st, stats, _ = http(s, "GET", "/sfa/v1/stats")
    ev = stats["gateway"]["events"] if st == 200 else {}
    ok(waiting is not None and waiting >= 20 and ev.get("waiting") == 0 and
       ev.get("gone", 0) >= 20,
       "20 parked polls whose clients left are gone (%s then %s)" % (waiting, ev.get("waiting")),
       ev)


def wait_events(s, after, thr, seconds, at_least=1):
    end = time.monotonic() + seconds
    got = []
    while time.monotonic() < end and len(got) < at_least:
        st, b, _ = http(s, "GET", "/events/json?eventID=%d&thresholdID=%s&timeout=%d"
                        % (after, thr, max(1, int(end - time.monotonic()))), timeout=seconds + 5)
        if st == 200 and b:
            got = b + got
            after = b[0]["eventID"]
    return got


def case_events(s):
    st, _, _ = http(s, "PUT", "/threshold/elephant_threshold/json", THRESHOLD)
    ok(st == 204, "PUT the seed's threshold", st)
    t0 = time.monotonic()
    st, b, dt = http(s, "GET", "/events/json?eventID=-1&maxEvents=10&timeout=60"
                     "&thresholdID=elephant_threshold", timeout=70)
    ok(st == 200 and isinstance(b, list) and len(b) >= 1,
       "eventID=-1 waits for the first event (%.1f s)" % (time.monotonic() - t0), (st, b))
    events = wait_events(s, b[0]["eventID"] if b else -1, "elephant_threshold", 10, 3)
    events = events + (b or [])
    ok(all(all(k in e for k in EVENT_FIELDS) for e in events), "events carry every field",
       events[:2])
    ok(all(e["flowKey"] == "10.4.1.2,10.4.2.2" for e in events),
       "every event is the 10.4.1.2,10.4.2.2 transfer",
       [e.get("flowKey") for e in events])
    agents = sorted({e["agent"] for e in events})
    ok(len(agents) >= 2, "the transfer crosses the threshold at several switches %s" % agents)
    st, b, _ = http(s, "GET", "/events/json?eventID=-1&maxEvents=1000")
    ids = [e["eventID"] for e in b]
    ok(st == 200 and ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids),
       "newest first, ids unique", ids[:10])
    st, b2, _ = http(s, "GET", "/events/json?eventID=-1&maxEvents=2")
    ok(st == 200 and [e["eventID"] for e in b2] == ids[:2], "maxEvents=2: the newest two",
       (b2, ids[:2]))
    st, b3, dt = http(s, "GET", "/events/json?eventID=%d&maxEvents=1000" % ids[-1])
    ok(st == 200 and [e["eventID"] for e in b3] == ids[:-1] and dt < 1,
       "a cursor returns only newer events, at once", [e["eventID"] for e in b3])
    st, e, _ = http(s, "GET", "/events/json?eventID=-1&maxEvents=1")
    ok(st == 200 and e and e[0]["threshold"] == 1250000 and e[0]["metric"] == "elephant" and
       e[0]["value"] > 1250000, "threshold, metric and value of the event", e)
    return max(ids) if ids else 0


def case_wake(s):
    """A parked request is answered by the event it waits for."""
    result = {}

    def poll():
        result["r"] = http(s, "GET", "/events/json?eventID=-1&thresholdID=wake&timeout=40",
                           timeout=50)

    t = threading.Thread(target=poll)
    t.start()
    time.sleep(1.0)
    st, _, _ = http(s, "PUT", "/threshold/wake/json", {"metric": "elephant", "value": 1000,
                                                       "byFlow": True, "timeout": 1})
    t.start_time = time.monotonic()
    t.join(45)
    st2, b, dt = result.get("r", (None, None, 99))
    ok(st == 204 and st2 == 200 and b and all(e["thresholdID"] == "wake" for e in b) and dt < 20,
       "a parked long-poll returns with the new threshold's events (%.1f s)" % dt, (st2, b))
    http(s, "DELETE", "/threshold/wake/json")


def case_flows(s):
    st, _, _ = http(s, "PUT", "/flow/logged/json", {"keys": "ipsource,ipdestination",
                                                    "value": "bytes", "log": True, "t": 1})
    ok(st == 204, "PUT a log:true flow", st)
    st, b, _ = http(s, "GET", "/flows/json?flowID=-1&name=logged&maxFlows=50&timeout=30",
                    timeout=40)
    fields = ["flowID", "name", "flowKeys", "value", "start", "end", "agent", "dataSource"]
    ok(st == 200 and b and all(all(k in r for k in fields) for r in b) and
       all(r["name"] == "logged" and r["end"] >= r["start"] for r in b),
       "/flows/json returns logged flow records", b[:2] if b else (st, b))
    if b:
        ids = [r["flowID"] for r in b]
        ok(ids == sorted(ids, reverse=True), "flow records newest first", ids)
    st, _, _ = http(s, "PUT", "/flow/started/json", {"keys": "ipsource,ipdestination",
                                                     "value": "frames", "log": True,
                                                     "flowStart": True})
    st, b, _ = http(s, "GET", "/flows/json?flowID=-1&name=started&timeout=10", timeout=20)
    ok(st == 200 and b and all(r["start"] == r["end"] for r in b),
       "flowStart records come when flows start", b[:2] if b else b)
    http(s, "DELETE", "/flow/started/json")
    http(s, "DELETE", "/flow/logged/json")


def kill_and_wait(s, name, sig=signal.SIGKILL, seconds=30):
    pid = s.pid_of(name)
    if pid is None:
        return False
    os.kill(pid, sig)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        new = s.pid_of(name)
        if new is not None and new != pid:
            return True
        time.sleep(0.1)
    return False


def case_restart_events(s):
    st, b, _ = http(s, "GET", "/events/json?eventID=-1&maxEvents=1")
    max_before = b[0]["eventID"] if st == 200 and b else -1
    ok(kill_and_wait(s, "events"), "sfa-events killed and restarted by the launcher")
    st, thr, _ = http(s, "GET", "/threshold/json")
    ok(st == 200 and "elephant_threshold" in thr, "thresholds survive", thr)
    # The restarted service starts armed: the transfer fires again.
    new = wait_events(s, max_before, "elephant_threshold", 30)
    ok(len(new) >= 1 and min(e["eventID"] for e in new) > max_before,
       "events after the restart have larger ids (%s > %d)"
       % ([e["eventID"] for e in new][:4], max_before))
    st, b, _ = http(s, "GET", "/events/json?eventID=-1&maxEvents=1000")
    ids = [e["eventID"] for e in b]
    ok(ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids) and
       any(i <= max_before for i in ids), "old and new events together, never an id twice",
       ids[:10])
    return max(e["eventID"] for e in new) if new else -1


def case_restart_gateway(s, newest):
    """newest: an event id the running sfa-events holds (since its restart)."""
    ok(kill_and_wait(s, "gateway"), "gateway killed and restarted by the launcher")
    ok(wait_http(s, 30), "gateway answers again")
    st, thr, _ = http(s, "GET", "/threshold/json")
    ok(st == 200 and thr.get("elephant_threshold", {}).get("value") == 1250000 and
       "quiet" in thr, "thresholds persisted in sfa.state", thr)
    end = time.monotonic() + 15
    ids = []
    while time.monotonic() < end:
        st, b, _ = http(s, "GET", "/events/json?eventID=-1&maxEvents=1000&timeout=2")
        ids = [e["eventID"] for e in b] if st == 200 and b else []
        if newest in ids:
            break
        time.sleep(0.3)
    ok(newest in ids, "the event history is refilled from sfa-events (%d)" % newest, ids[:10])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    s = Suite(args)
    try:
        if not ok(wait_http(s, 20), "gateway up under the launcher on port %d" % s.port):
            raise SystemExit
        st, _, _ = http(s, "PUT", "/flow/elephant/json", ELEPHANT)
        ok(st == 204, "PUT the seed's flow", st)
        case_bad(s)
        case_crud(s)
        case_poll(s)
        case_events(s)
        case_wake(s)
        case_flows(s)
        newest = case_restart_events(s)
        case_restart_gateway(s, newest)
    finally:
        rc = s.stop()
        ok(rc == 0, "sfa stops cleanly", rc)
        bad = [l for l in open(s.logpath).read().splitlines()
               if "Sanitizer" in l or "runtime error:" in l]
        ok(not bad, "no sanitizer reports in the services' logs", "\n".join(bad[:10]))
        if TAP.failed:
            for line in open(s.logpath).read().splitlines():
                if "INFO" not in line:
                    print("# log: " + line)
        else:
            shutil.rmtree(s.work, ignore_errors=True)
    TAP.done()
    sys.exit(1 if TAP.failed else 0)


if __name__ == "__main__":
    main()
