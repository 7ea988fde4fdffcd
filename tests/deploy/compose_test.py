#!/usr/bin/python3
"""compose_test.py - the suite in containers from compose.yaml, end to end, TAP.

Builds the image and starts compose.yaml unchanged (collector, 2 aggregators,
events, gateway, scripts) under a private project name, with SFA_APPS pointing
the scripts service at tests/deploy/apps (one app, e2e), then, from the host:

  * every service passes its own health check; the idle RSS of every sfa
    service and the image size are reported;
  * the web pages and their chart library (uPlot, installed by npm in the
    image build) are served: GET .../lib/uplot/uPlot.iife.min.js is
    JavaScript;
  * PUT /flow/pairs/json {"keys":"ipsource,ipdestination","value":"bytes"} on
    127.0.0.1:8008; sfa-gen (from the image, on the host network) sends sFlow
    to 127.0.0.1:6343/udp for 4 agents with known per-flow rates;
  * /activeflows/ALL/pairs/json answers the top flows of sfa-gen's truth file
    (same leading keys, values within 10%), in aggMode sum and max;
  * the scripts service: /scripts/json lists the app's script alive; its
    HTTP handler answers through the gateway (query socket) with the top
    flows it got from the REST API (http.hostname=gateway), which match the
    truth; its storeSet() counter survives a restart of the service;
  * a threshold below the largest flow gives an event for it on
    /events/json (aggregators -> events -> gateway) and in the app's
    setEventHandler (events -> scripts), and event ids continue after a
    restart of the events service (its state on the volume);
  * scaled to 3 aggregators (`up -d --scale aggregator=3` with docker
    compose; SFA_AGGREGATORS=3 ... up -d with podman-compose 1.0.3, which
    ignores --scale): the gateway sees 3 members, each owns buckets, and
    the answers are the same;
  * the restart policy: an aggregator process killed with SIGKILL comes back
    in the same container, with the same aggregator.id, and rejoins;
  * when the compose tool started the Prometheus service (podman-compose 1.0.3
    ignores profiles): promtool accepts deploy/prometheus/*.yml, and
    Prometheus reaches the gateway;
  * stop: every sfa service exits 0 on SIGTERM; down -v leaves nothing;
  * with deploy/compose/two-collectors.yaml added: a second collector on
    6344/udp; the agents of both appear in /agents/json and their flows add
    up in /activeflows (aggMode sum) as the two truth files say.

The traffic goes to 127.0.0.1 only. Usage (see compose_test.sh):
  compose_test.py --source ROOT --compose "CMD ..." --engine podman|docker
                  [--project NAME] [--keep]
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import suite as shared  # noqa: E402  (tests/integration/suite.py)

GATEWAY = "http://127.0.0.1:8008"
SFA_SERVICES = ("collector", "aggregator", "events", "gateway", "scripts")
FLOW = {"keys": "ipsource,ipdestination", "value": "bytes"}
GEN_ARGS = ["--agents", "4", "--flows", "10", "--rate-pps", "200k", "--sampling", "40",
            "--seed", "7"]
TOP = 5          # keys whose values are compared
TOLERANCE = 0.10  # relative, against the truth and between answers
CONVERGE_S = 40  # how long values may take to settle after a change


def wait_until(cond, timeout, step=1.0):
    return shared.wait_until(cond, timeout, step)


def http(path, method="GET", body=None, timeout=5):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(GATEWAY + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            st = r.status
    except urllib.error.HTTPError as e:
        raw, st = e.read(), e.code
    except (OSError, urllib.error.URLError):
        return None, None
    try:
        return st, json.loads(raw) if raw else None
    except ValueError:
        return st, raw.decode(errors="replace")


def fetch(path, timeout=5):
    """GET path: (status, content type, body bytes); (None, "", b"") when
    the gateway cannot be reached."""
    try:
        with urllib.request.urlopen(GATEWAY + path, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()
    except (OSError, urllib.error.URLError):
        return None, "", b""


def local_ca_certs():
    """The certificates this host trusts besides Debian's (the files that
    update-ca-certificates adds from /usr/local/share/ca-certificates), for
    the image build: where HTTPS goes through an intercepting proxy, the
    build's `npm ci` needs them (compose.yaml: SFA_BUILD_CA_CERTS)."""
    d = "/usr/local/share/ca-certificates"
    pem = []
    for root, _, files in sorted(os.walk(d)):
        for f in sorted(files):
            if f.endswith(".crt"):
                try:
                    with open(os.path.join(root, f)) as fh:
                        pem.append(fh.read().strip())
                except (OSError, UnicodeDecodeError):
                    pass
    return "\n".join(x for x in pem if "BEGIN CERTIFICATE" in x)


class Suite:
    """The compose project: compose commands, containers, engine calls."""

    def __init__(self, args):
        self.args = args
        self.compose_cmd = shlex.split(args.compose)
        self.engine = args.engine
        self.project = args.project
        self.log = open(os.path.join(args.work, "compose.log"), "a")

    def compose(self, *cmd, aggregators=None, files=(), check=True, timeout=900):
        env = dict(os.environ)
        env["SFA_APPS"] = os.path.join(self.args.source, "tests", "deploy", "apps")
        env.setdefault("SFA_BUILD_CA_CERTS", local_ca_certs())
        if aggregators is not None:
            env["SFA_AGGREGATORS"] = str(aggregators)
        argv = self.compose_cmd + ["-p", self.project]
        for f in files:
            argv += ["-f", f]
        argv += list(cmd)
        self.log.write("\n$ %s\n" % " ".join(argv))
        self.log.flush()
        p = subprocess.run(argv, cwd=self.args.source, env=env, stdout=self.log,
                           stderr=subprocess.STDOUT, timeout=timeout)
        if check and p.returncode != 0:
            raise RuntimeError("%s failed (%d); see %s" % (" ".join(argv), p.returncode,
                                                         self.log.name))
        return p.returncode

    def run(self, *argv, timeout=120, check=False):
        return subprocess.run([self.engine] + list(argv), capture_output=True, text=True,
                              timeout=timeout, check=check)

    def containers(self, service=None, all_=False):
        """Names of the project's containers (of one service), sorted."""
        argv = ["ps", "--format", "{{.Names}}",
                "--filter", "label=com.docker.compose.project=" + self.project]
        if all_:
            argv.insert(1, "-a")
        if service:
            argv += ["--filter", "label=com.docker.compose.service=" + service]
        out = self.run(*argv).stdout
        return sorted(x for x in out.split() if x)

    def inspect(self, name, fmt):
        return self.run("inspect", "-f", fmt, name).stdout.strip()

    def healthy(self, name):
        if self.engine == "podman":
            # Without systemd, podman does not schedule health checks itself.
            return self.run("healthcheck", "run", name, timeout=30).returncode == 0
        return self.inspect(name, "{{.State.Health.Status}}") == "healthy"

    def pid(self, name):
        try:
            return int(self.inspect(name, "{{.State.Pid}}"))
        except ValueError:
            return 0


def rss_kib(pid):
    """VmRSS of pid and of all its descendants (sfa-scripts runs one child
    process per script), KiB."""
    total = 0
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    except OSError:
        return 0
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            kids = [int(x) for x in f.read().split()]
    except (OSError, ValueError):
        kids = []
    return total + sum(rss_kib(k) for k in kids)


def live_aggregators():
    st, body = http("/analyzer/json")
    return body.get("sfaAggregatorsLive") if st == 200 and isinstance(body, dict) else None


def truth_top(truth):
    """Key -> bytes/s summed over agents (aggMode sum), and the same as max."""
    s, m = {}, {}
    for a in truth["agents"]:
        for f in a["flows"]:
            k = "%s,%s" % (f["ipsource"], f["ipdestination"])
            s[k] = s.get(k, 0.0) + f["bytes_per_s"]
            m[k] = max(m.get(k, 0.0), f["bytes_per_s"])
    return s, m


def compare(answer, truth, top=TOP, tol=TOLERANCE):
    """None when answer's top keys and values match the truth, else why not."""
    if not isinstance(answer, list) or len(answer) < top:
        return "fewer than %d flows: %r" % (top, answer)
    ranked = sorted(truth.values(), reverse=True)
    kth = ranked[top - 1]
    got = {e["key"]: e["value"] for e in answer[:top]}
    # Keys clearly above the k-th must be there; keys there must not be
    # clearly below it (ties near the boundary may go either way).
    missing = [k for k, v in truth.items() if v > kth * (1 + tol) and k not in got]
    extra = [k for k in got if truth.get(k, 0.0) < kth * (1 - tol)]
    off = [(k, v, truth.get(k, 0.0)) for k, v in got.items()
           if abs(v - truth.get(k, 0.0)) > tol * truth.get(k, 1.0)]
    if missing or extra or off:
        return "missing %s, unexpected %s, off by more than %d%%: %s" % (
            missing, extra, tol * 100, ["%s got %.0f truth %.0f" % x for x in off])
    return None


STEADY = 0.05  # two polls 2 s apart agree this closely: the values have settled


def converged(mode, truth, timeout=CONVERGE_S):
    """Poll activeflows until it matches the truth and is steady (the same
    within STEADY on two polls in a row: a value still ramping up after a
    rebalance passes the truth band at its edge); (answer, why-not)."""
    last = [None, "no answer"]
    prev = [None]

    def attempt():
        st, body = http("/activeflows/ALL/pairs/json?maxFlows=20&aggMode=" + mode)
        last[0] = body
        last[1] = compare(body, truth) if st == 200 else "HTTP %s" % st
        if last[1] is not None:
            prev[0] = None
            return False
        steady = prev[0] is not None and same_answers(prev[0], body, tol=STEADY)[0]
        prev[0] = body
        return steady

    wait_until(attempt, timeout, 2.0)
    return last[0], last[1]


def same_answers(a, b, top=TOP, tol=TOLERANCE):
    va = {e["key"]: e["value"] for e in a[:top]}
    vb = {e["key"]: e["value"] for e in (b or [])}
    bad = [(k, v, vb.get(k)) for k, v in va.items()
           if vb.get(k) is None or abs(vb[k] - v) > tol * v]
    return not bad, bad


def sfa_gen(suite, extra, timeout=30, name=None):
    """sfa-gen from the image on the host network: run to the end, or in
    the background as the container NAME (removed by stop_gen)."""
    argv = [suite.engine, "run", "--rm", "--network", "host"]
    background = name is not None
    if background:
        argv += ["--name", "%s-%s" % (suite.project, name)]
    argv += ["sfa:latest", "sfa-gen"] + GEN_ARGS + extra
    if background:
        return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=suite.log)
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def stop_gen(suite, name, proc):
    suite.run("rm", "-f", "%s-%s" % (suite.project, name), timeout=60)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def gen_truth(suite, extra):
    p = sfa_gen(suite, extra + ["--pcap", "/dev/null", "--duration", "1", "--quiet",
                                "--truth", "/dev/stdout"])
    return json.loads(p.stdout)


def build_errors(suite, since):
    """Error lines the compose log gained after offset since."""
    with open(suite.log.name, errors="replace") as f:
        f.seek(since)
        return [x.rstrip() for x in f if "ERROR" in x or "Error:" in x][-10:]


def phase_up(t, suite):
    # podman-compose 1.0.3 exits 0 even when a build fails, and up would
    # then run the image of an earlier build: remove it first, so that only
    # a successful build can bring it back.
    if suite.run("image", "exists" if suite.engine == "podman" else "inspect",
                 "sfa:latest").returncode == 0:
        p = suite.run("rmi", "sfa:latest")
        if not t.ok(p.returncode == 0, "the previous sfa:latest image is removed before the build",
                    p.stderr):
            raise RuntimeError("sfa:latest is in use; stop what runs it")
    t0 = time.monotonic()
    since = os.path.getsize(suite.log.name)
    suite.compose("build", timeout=1800)
    built = suite.run("inspect", "sfa:latest").returncode == 0
    if not t.ok(built, "image sfa:latest built from deploy/Dockerfile (%.0f s)"
                % (time.monotonic() - t0), "\n".join(build_errors(suite, since))):
        raise RuntimeError("no image")
    t0 = time.monotonic()
    suite.compose("up", "-d")
    t.ok(True, "up -d (%.0f s)" % (time.monotonic() - t0))
    t.ok(wait_until(lambda: http("/version")[0] == 200, 60),
         "gateway answers /version on 127.0.0.1:8008")
    for svc in SFA_SERVICES:
        names = suite.containers(svc)
        t.ok(len(names) == (2 if svc == "aggregator" else 1), "%s: %d container(s) running"
             % (svc, len(names)), names)
        for n in names:
            t.ok(wait_until(lambda n=n: suite.healthy(n), 60, 2.0), "%s passes its health check" % n)
    t.ok(wait_until(lambda: live_aggregators() == 2, 30), "the gateway sees 2 live aggregators",
         live_aggregators())
    phase_web(t)


def phase_web(t):
    """The pages and the chart library the image build installed with npm."""
    for page in ("/html/index.html", "/app/browse-flows/html/index.html"):
        st, ctype, body = fetch(page)
        t.ok(st == 200 and ctype.startswith("text/html") and b"lib/uplot/uPlot.iife.min.js" in body,
             "GET %s: the page, which loads the chart library" % page, "%s %s" % (st, ctype))
    st, ctype, body = fetch("/html/lib/uplot/uPlot.iife.min.js")
    t.ok(st == 200 and "javascript" in ctype and len(body) > 20000 and b"uPlot" in body,
         "GET /html/lib/uplot/uPlot.iife.min.js: the chart library, JavaScript (%d bytes)"
         % len(body), "%s %s: %r (was npm in the image build? see the build's "
         "'chart library:' line in compose.log)" % (st, ctype, body[:200]))
    st, ctype, body = fetch("/html/lib/uplot/uPlot.min.css")
    t.ok(st == 200 and ctype.startswith("text/css") and len(body) > 500,
         "GET /html/lib/uplot/uPlot.min.css: the chart styles", "%s %s" % (st, ctype))


def report_sizes(t, suite):
    size = suite.inspect("sfa:latest", "{{.Size}}")
    base = suite.inspect("docker.io/library/debian:bookworm-slim", "{{.Size}}") or "0"
    try:
        t.note("image sfa:latest: %.1f MB (base debian:bookworm-slim here %.1f MB, "
               "sfa layers %.1f MB)" % (int(size) / 1e6, int(base) / 1e6,
                                        (int(size) - int(base)) / 1e6))
    except ValueError:
        t.note("image size: %s" % size)
    time.sleep(5)  # settle: connections made, first defs and hellos exchanged
    total = 0
    parts = []
    for svc in SFA_SERVICES:
        for n in suite.containers(svc):
            kib = rss_kib(suite.pid(n))
            total += kib
            parts.append("%s %.1f MiB" % (n, kib / 1024))
    t.ok(total > 0, "idle RSS of all sfa services: %.1f MiB" % (total / 1024))
    t.note("idle RSS: " + ", ".join(parts))


def phase_flows(t, suite, truth_sum, truth_max):
    st, _ = http("/flow/pairs/json", "PUT", FLOW)
    t.ok(st in (200, 204), "PUT /flow/pairs/json: %s" % st)
    results = {}
    for mode, truth in (("sum", truth_sum), ("max", truth_max)):
        ans, why = converged(mode, truth)
        t.ok(why is None, "2 aggregators: top %d flows (aggMode %s) match sfa-gen's truth within "
             "%d%%" % (TOP, mode, TOLERANCE * 100), why)
        results[mode] = ans
    return results


APP_SCRIPT = "app/e2e/scripts/e2e.js"   # tests/deploy/apps/e2e/scripts/e2e.js


def app_state():
    """What the e2e app's HTTP handler answers, through the gateway."""
    st, body = http("/" + APP_SCRIPT + "/state/json", timeout=10)
    return body if st == 200 and isinstance(body, dict) else None


def phase_scripts(t, suite, truth_sum):
    """sfa-scripts in its container: listed by the gateway (query socket),
    its data API reaching the REST API (http.hostname), its store on the
    state volume."""
    def listed():
        st, body = http("/scripts/json")
        return st == 200 and isinstance(body, dict) and \
            isinstance(body.get(APP_SCRIPT), dict) and body[APP_SCRIPT].get("alive") is True
    t.ok(wait_until(listed, 30), "scripts: /scripts/json lists %s, alive" % APP_SCRIPT,
         http("/scripts/json"))
    last = [None, "no answer"]

    def matches():
        last[0] = app_state()
        last[1] = compare(last[0].get("top"), truth_sum) if last[0] else "no answer"
        return last[1] is None
    t.ok(wait_until(matches, CONVERGE_S, 2.0),
         "scripts: the app's HTTP handler answers through the gateway, with activeFlows() from "
         "the REST API matching the truth", "%s; %s" % (last[1], last[0]))
    st, ctype, page = fetch("/app/e2e/html/index.html")
    t.ok(st == 200 and ctype.startswith("text/html") and b"e2e-page" in page,
         "gateway: serves the app's html/ (tests/deploy/apps/e2e/html/index.html) from the "
         "mounted apps directory", "%s %s %r" % (st, ctype, page[:120]))
    hits = (last[0] or {}).get("hits") or 0
    suite.compose("restart", "scripts")
    after = wait_until(app_state, 40, 2.0)
    t.ok(after is not None and hits > 0 and after.get("hits", 0) > hits,
         "scripts: storeSet() values survive a restart of the service (state volume)",
         "hits %s before, then %s" % (hits, after))


def events_for(threshold):
    st, body = http("/events/json?maxEvents=100")
    if st != 200 or not isinstance(body, list):
        return []
    return [e for e in body if e.get("thresholdID") == threshold]


def phase_events(t, suite, truth_sum):
    """A threshold below the largest flow: the aggregators' metrics.v1 reach
    the events service (7030) and its events.v1 the gateway (7031); event
    ids keep increasing across a restart of the events service (state
    volume)."""
    top_key, top = max(truth_sum.items(), key=lambda kv: kv[1])
    st, _ = http("/threshold/elephant/json", "PUT",
                 {"metric": "pairs", "value": top / 2, "byFlow": True, "timeout": 1})
    t.ok(st in (200, 204), "PUT /threshold/elephant/json: %s" % st)
    got = wait_until(lambda: [e for e in events_for("elephant") if e.get("flowKey") == top_key], 30)
    t.ok(got, "an event for the largest flow (%s) reaches /events/json" % top_key,
         events_for("elephant")[:3])

    def app_events():
        return [e for e in (app_state() or {}).get("events") or []
                if e.get("thresholdID") == "elephant" and e.get("flowKey") == top_key]
    t.ok(wait_until(app_events, 30, 2.0), "the event reaches the app's setEventHandler "
         "(events -> scripts)", app_state())
    last = max([e["eventID"] for e in events_for("elephant")] or [0])
    restarted_ms = time.time() * 1000
    suite.compose("restart", "events")
    later = wait_until(lambda: [e for e in events_for("elephant")
                                if e["timestamp"] > restarted_ms], 90)
    if not t.ok(later and min(e["eventID"] for e in later) > last,
                "after a restart of the events service, its new events continue the ids (> %d)"
                % last, later[:3] if later else events_for("elephant")[:3]):
        for n in suite.containers("events"):
            p = suite.run("logs", "--tail", "15", n)
            t.note("%s:\n%s" % (n, (p.stdout + p.stderr).strip()))
    st, _ = http("/threshold/elephant/json", "DELETE")
    t.ok(st in (200, 204), "DELETE /threshold/elephant/json: %s" % st)


def phase_scale(t, suite, truth_sum, truth_max, before):
    t0 = time.monotonic()
    if suite.engine == "docker":
        suite.compose("up", "-d", "--scale", "aggregator=3")
    else:
        # podman-compose 1.0.3 ignores --scale; compose.yaml's
        # deploy.replicas reads SFA_AGGREGATORS.
        suite.compose("up", "-d", aggregators=3)
    names = suite.containers("aggregator")
    t.ok(len(names) == 3, "scaled to 3 aggregator containers (%.0f s)" % (time.monotonic() - t0),
         names)
    t.ok(wait_until(lambda: live_aggregators() == 3, 30), "the gateway sees 3 live aggregators",
         live_aggregators())
    for n in names:
        t.ok(wait_until(lambda n=n: suite.healthy(n), 60, 2.0), "%s passes its health check" % n)
    for mode, truth in (("sum", truth_sum), ("max", truth_max)):
        ans, why = converged(mode, truth)
        t.ok(why is None, "3 aggregators: top %d flows (aggMode %s) match the truth" % (TOP, mode),
             why)
        same, bad = same_answers(before[mode] or [], ans)
        t.ok(same, "3 aggregators: same top flows and values (within %d%%) as with 2, aggMode %s"
             % (TOLERANCE * 100, mode), bad)
    owned = wait_until(lambda: buckets_owned(suite, names), 15)
    t.ok(owned, "every aggregator owns buckets of 3 members", buckets_owned(suite, names, True))


def buckets_owned(suite, names, detail=False):
    """Each aggregator's last assignment line says 3 members and a share."""
    lines = []
    for n in names:
        logs = suite.run("logs", n).stdout + suite.run("logs", n).stderr
        last = [x for x in logs.splitlines() if "assign:" in x]
        lines.append("%s: %s" % (n, last[-1] if last else "no assignment"))
    if detail:
        return "\n".join(lines)
    good = 0
    for x in lines:
        words = x.split()
        if "3 members" in x and "owned" in words:
            i = words.index("of")
            good += int(words[i - 1]) > 0
    return good == len(names)


def aggregator_ids():
    st, body = http("/sfa/v1/stats")
    if st != 200 or not isinstance(body, dict):
        return None
    return sorted(k for k, v in body.items() if isinstance(v, dict) and v.get("service") == "aggregator")


def phase_restart(t, suite):
    ids = aggregator_ids()
    name = suite.containers("aggregator")[0]
    pid = suite.pid(name)
    host = suite.inspect(name, "{{.Config.Hostname}}")
    os.kill(pid, 9)
    back = wait_until(lambda: suite.pid(name) not in (0, pid) and
                      suite.inspect(name, "{{.State.Running}}") == "true", 30)
    t.ok(back, "restart policy: %s is running again after SIGKILL of its process" % name,
         suite.inspect(name, "{{.State.Status}}"))
    t.ok(suite.inspect(name, "{{.Config.Hostname}}") == host,
         "restart keeps the hostname, so aggregator.id (hostname:pid, pid 1) is the same")
    t.ok(wait_until(lambda: live_aggregators() == 3, 30), "the restarted aggregator rejoins: 3 live",
         live_aggregators())
    t.ok(ids and len(ids) == 3 and wait_until(lambda: aggregator_ids() == ids, 10),
         "the members' ids are the same after the restart", "%s then %s" % (ids, aggregator_ids()))


def phase_prometheus(t, suite):
    names = suite.containers("prometheus")
    if not names:
        t.note("Prometheus not started (profile 'prometheus' not enabled): not checked")
        return
    cfg = os.path.join(suite.args.source, "deploy", "prometheus")
    for f in ("prometheus.yml", "prometheus-flows.yml", "prometheus-kubernetes.yml"):
        p = suite.run("run", "--rm", "--entrypoint", "promtool", "-v", cfg + ":/cfg:ro",
                      "sfa-prometheus:latest", "check", "config", "/cfg/" + f)
        t.ok(p.returncode == 0, "promtool check config deploy/prometheus/%s" % f,
             p.stdout + p.stderr)

    def targets():
        try:
            with urllib.request.urlopen("http://127.0.0.1:9090/api/v1/targets", timeout=5) as r:
                return [x for x in json.load(r)["data"]["activeTargets"]
                        if x["lastScrape"][:4] not in ("0001", "")]
        except (OSError, ValueError, KeyError):
            return []

    got = wait_until(targets, 40, 2.0)
    t.ok(got and all(x["discoveredLabels"]["__address__"] == "gateway:8008" for x in got),
         "Prometheus scrapes gateway:8008", got)
    reached = [x for x in got or [] if "connection refused" not in x["lastError"]
               and "no such host" not in x["lastError"]]
    t.ok(got and len(reached) == len(got), "Prometheus reaches the gateway over the compose network",
         [(x["scrapePool"], x["lastError"]) for x in got or []])
    t.ok(got and all(x["health"] == "up" for x in got),
         "the gateway serves the scraped Prometheus endpoints",
         "; ".join("%s: %s" % (x["scrapePool"], x["lastError"]) for x in got or []))


def phase_down(t, suite):
    sfa = [n for s in SFA_SERVICES for n in suite.containers(s, all_=True)]
    t0 = time.monotonic()
    suite.compose("stop", aggregators=3)
    codes = {n: suite.inspect(n, "{{.State.ExitCode}}") for n in sfa}
    t.ok(all(c == "0" for c in codes.values()),
         "stop: every sfa service exits 0 on SIGTERM (%.0f s)" % (time.monotonic() - t0), codes)
    suite.compose("down", "-v", aggregators=3)
    left = suite.containers(all_=True)
    t.ok(not left, "down -v removes every container of the project", left)
    vols = suite.run("volume", "ls", "-q").stdout.split()
    t.ok(not [v for v in vols if v.startswith(suite.project + "_") or
              v.startswith(suite.project + "-")], "down -v removes the project's volumes", vols)


TWO = ("compose.yaml", "deploy/compose/two-collectors.yaml")


def phase_two_collectors(t, suite, gens):
    """compose.yaml + deploy/compose/two-collectors.yaml: agents of both
    collectors reach the same aggregators and the same flows."""
    t0 = time.monotonic()
    suite.compose("up", "-d", files=TWO)
    t.ok(len(suite.containers("collector-2")) == 1,
         "two collectors: up -d with deploy/compose/two-collectors.yaml (%.0f s)"
         % (time.monotonic() - t0))
    t.ok(wait_until(lambda: http("/version")[0] == 200, 60), "two collectors: gateway answers")
    st, _ = http("/flow/pairs/json", "PUT", FLOW)
    t.ok(st in (200, 204), "two collectors: PUT /flow/pairs/json: %s" % st)
    truth = {}
    for name, port, base in (("gen", 6343, "10.0.0.1"), ("gen2", 6344, "10.0.1.1")):
        extra = ["--agent-base", base]
        for k, v in truth_top(gen_truth(suite, extra))[0].items():
            truth[k] = truth.get(k, 0.0) + v
        gens[name] = sfa_gen(suite, extra + ["--target", "127.0.0.1:%d" % port, "--duration",
                                             "120", "--quiet"], name=name)

    def collectors():
        st, body = http("/analyzer/json")
        return body.get("sfaCollectors") if st == 200 and isinstance(body, dict) else None

    t.ok(wait_until(lambda: collectors() == 2, 30), "two collectors: the gateway reads both",
         collectors())
    want = ["10.0.%d.%d" % (c, a) for c in (0, 1) for a in (1, 2, 3, 4)]
    t.ok(wait_until(lambda: sorted((http("/agents/json")[1] or {})) == want, 30),
         "two collectors: /agents/json lists the agents of both", http("/agents/json")[1])
    ans, why = converged("sum", truth)
    t.ok(why is None, "two collectors: top %d flows (aggMode sum, both collectors' agents "
         "adding up) match the truth" % TOP, why)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--compose", required=True)
    ap.add_argument("--engine", required=True, choices=("podman", "docker"))
    ap.add_argument("--project", default="sfa-e2e")
    ap.add_argument("--work", default=None)
    ap.add_argument("--keep", action="store_true", help="leave the suite running at the end")
    args = ap.parse_args()
    args.work = args.work or os.path.join(args.source, "tests", "artifacts")
    os.makedirs(args.work, exist_ok=True)
    t = shared.Tap(detail_lines=25)
    suite = Suite(args)
    started = time.monotonic()
    gens = {}
    try:
        # Leftovers of a killed run, whichever files it used.
        suite.compose("down", "-v", aggregators=3, files=TWO, check=False)
        phase_up(t, suite)
        report_sizes(t, suite)
        truth = gen_truth(suite, [])
        truth_sum, truth_max = truth_top(truth)
        t.note("sfa-gen: %d agents, %d flows, %.0f datagrams/s expected" % (
            truth["totals"]["agents"], truth["totals"]["flows"], truth["expected_dgram_rate"]))
        gens["gen"] = sfa_gen(suite, ["--target", "127.0.0.1:6343", "--duration", "240",
                                      "--quiet"], name="gen")
        before = phase_flows(t, suite, truth_sum, truth_max)
        phase_scripts(t, suite, truth_sum)
        phase_events(t, suite, truth_sum)
        phase_scale(t, suite, truth_sum, truth_max, before)
        phase_restart(t, suite)
        phase_prometheus(t, suite)
        stop_gen(suite, "gen", gens.pop("gen"))
        if args.keep:
            t.note("--keep: the suite stays up as project %s" % args.project)
        else:
            phase_down(t, suite)
            phase_two_collectors(t, suite, gens)
    except Exception as e:  # the checks so far stand; report what broke
        t.ok(False, "the run completes", repr(e))
    finally:
        for name, proc in list(gens.items()):
            stop_gen(suite, name, proc)
        if not args.keep:
            suite.compose("down", "-v", aggregators=3, files=TWO, check=False)
            left = suite.containers(all_=True)
            t.ok(not left, "nothing of the project is left", left)
        # Each build with changed sources leaves an untagged build stage
        # behind; drop those older than a day, keep the recent cache.
        suite.run("image", "prune", "-f", "--filter", "until=24h", timeout=300)
    t.note("compose test: %.0f s in all" % (time.monotonic() - started))
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
