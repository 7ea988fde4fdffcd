#!/usr/bin/python3
"""www_test.py - the gateway's web pages and Browse Flows' REST side, TAP.

One real sfa-gateway on an ephemeral port of 127.0.0.1 with private bus
URLs and no other service, serving a copy of the staged pages
(BUILD/services/gateway/www) through http.html.dir. Checks, over raw HTTP
(http.client sends paths unchanged, so traversal attempts reach the server
as written):
  * / redirects to ./html/index.html; pages and scripts come with their
    content types, an ETag that answers 304, HEAD without a body, and a
    directory URL serves its index.html;
  * no request reads outside the directory: "..", encoded dots and
    slashes, backslashes, NUL bytes, hidden files, a symbolic link out of
    the directory and unknown file types all get 400 or 404, never the
    secret file placed beside the directory;
  * a missing page is an HTML 404, a missing API path keeps the JSON error;
  * /app/browse-flows/scripts/top.js/flows/json: 400 without keys or value,
    for the UI shorthand bps, a bad filter or a bad after; a good query
    answers the trend shape; the hidden definition is neither listed by
    /flow/json nor written to definitions.json, raises the definitions
    version when created and again when dropped after 10 s without queries;
  * flowkeys/json answers a JSON array with no aggregator.

Usage: www_test.py --gateway BIN --www STAGED_DIR --work WORK
"""
import http.client
import json
import os
import shutil
import sys
import time

from suite import Proc, Tap, ipc, parse_args

SECRET = "SECRET-do-not-serve"


def request(port, method, path, headers=None):
    """(status, headers dict (lower-case names), body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, headers=headers or {})
    res = conn.getresponse()
    body = res.read()
    hdrs = {k.lower(): v for k, v in res.getheaders()}
    conn.close()
    return res.status, hdrs, body


def get_json(port, path):
    st, _, body = request(port, "GET", path)
    try:
        return st, json.loads(body)
    except ValueError:
        return st, None


def prepare(args):
    """A private copy of the staged pages, with traps beside and inside it."""
    root = os.path.join(args.work, "www-test")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    www = os.path.join(root, "www")
    shutil.copytree(args.www, www, ignore=shutil.ignore_patterns("npm", "*.stamp", "*.h"))
    for name in ("secret.txt", "secret.html"):
        with open(os.path.join(root, name), "w") as f:
            f.write(SECRET + "\n")
    with open(os.path.join(www, "html", ".hidden.txt"), "w") as f:
        f.write(SECRET + "\n")
    with open(os.path.join(www, "html", "tool.exe"), "w") as f:
        f.write(SECRET + "\n")
    os.symlink(os.path.join(root, "secret.txt"), os.path.join(www, "html", "link.txt"))
    return root, www


def start_gateway(args, root, www):
    """The gateway Proc (log root/gateway.log) and the HTTP port it logged
    (None if it did not within 10 s)."""
    gw = Proc(root, "gateway", [
        args.gateway, "-Dhttp.port=0", "-Dhttp.hostname=127.0.0.1",
        "-Dsfa.state=" + os.path.join(root, "state"), "-Dbus.query=" + ipc(root, "query"),
        "-Dbus.defs=" + ipc(root, "defs"), "-Dbus.control=" + ipc(root, "control"),
        "-Dbus.events=" + ipc(root, "events"), "-Dbus.flowlog=" + ipc(root, "flowlog"),
        "-Dgateway.query.timeout=300", "-Dhttp.html.dir=" + www]).start()
    m = gw.wait_log(r"Listening, HTTP port (\d+)", 10)
    return gw, (int(m.group(1)) if m else None)


def check_pages(t, port):
    st, h, _ = request(port, "GET", "/")
    t.ok(st == 302 and h.get("location") == "./html/index.html", "/ redirects to ./html/index.html",
         (st, h.get("location")))
    st, h, body = request(port, "GET", "/html/index.html")
    t.ok(st == 200 and h.get("content-type", "").startswith("text/html") and b"<html" in body,
         "the status page is HTML", (st, h.get("content-type")))
    etag = h.get("etag")
    st, _, body = request(port, "GET", "/html/index.html", {"If-None-Match": etag or "x"})
    t.ok(etag and st == 304 and body == b"", "an unchanged page answers 304", (etag, st))
    st, h, body = request(port, "HEAD", "/html/index.html")
    t.ok(st == 200 and body == b"" and int(h.get("content-length", "0")) > 0, "HEAD has no body",
         (st, len(body), h.get("content-length")))
    types = {"/html/status.js": "text/javascript", "/html/common.js": "text/javascript",
             "/html/sfa.css": "text/css", "/app/browse-flows/html/index.html": "text/html",
             "/app/browse-flows/html/browse.js": "text/javascript"}
    for path, ctype in types.items():
        st, h, _ = request(port, "GET", path)
        t.ok(st == 200 and h.get("content-type", "").startswith(ctype) and
             h.get("x-content-type-options") == "nosniff", "%s is %s" % (path, ctype),
             (st, h.get("content-type")))
    st, h, body = request(port, "GET", "/app/browse-flows/html/")
    t.ok(st == 200 and b"Browse Flows" in body, "a directory URL serves its index.html", st)


def check_traversal(t, port):
    attempts = [
        "/html/../secret.txt", "/html/%2e%2e/secret.txt", "/html/%2E%2E/secret.html",
        "/html/..%2fsecret.txt", "/html/%2e%2e%2fsecret.txt", "/html/..%5csecret.txt",
        "/html/..\\secret.txt", "/html/lib/../../secret.txt", "/html/%2e%2e/%2e%2e/secret.txt",
        "/app/browse-flows/html/..%2f..%2f..%2fsecret.txt",
        "/app/browse-flows/html/../../../secret.txt", "/app/%2e%2e/html/secret.txt",
        "/html/.hidden.txt", "/html/%2ehidden.txt", "/html/link.txt", "/html/tool.exe",
        "/html/index.html%00.js", "/html/%00", "/html/./index.html", "//html/index.html",
        "/html/" + "a" * 300 + ".html",
    ]
    bad = []
    for path in attempts:
        st, _, body = request(port, "GET", path)
        if st not in (400, 404) or SECRET.encode() in body:
            bad.append("%s -> %d %r" % (path, st, body[:60]))
    t.ok(not bad, "no request reads outside http.html.dir (%d attempts)" % len(attempts),
         "\n".join(bad))


def check_errors(t, port):
    st, h, body = request(port, "GET", "/html/nope.html")
    t.ok(st == 404 and h.get("content-type", "").startswith("text/html") and
         b"Page not found" in body, "a missing page is an HTML 404", (st, h.get("content-type")))
    st, h, body = request(port, "GET", "/no/such/api/json")
    ok = st == 404 and h.get("content-type") == "application/json"
    t.ok(ok and json.loads(body).get("error") == 404, "a missing API path keeps the JSON error",
         (st, body[:80]))


FLOWS = "/app/browse-flows/scripts/top.js/flows/json"


def defs_version(port):
    return get_json(port, "/analyzer/json")[1]["sfaDefsVersion"]


def check_browse(t, port, root):
    for qs, what in [("value=bytes", "without keys"), ("keys=ipsource", "without value"),
                     ("keys=ipsource&value=bps", "with the UI shorthand bps"),
                     ("keys=ipsource&value=bytes&filter=(ipsource%3D1", "with a bad filter"),
                     ("keys=nosuchkey&value=bytes", "with an unknown key"),
                     ("keys=ipsource&value=bytes&after=soon", "with a bad after")]:
        st, body = get_json(port, FLOWS + "?" + qs)
        t.ok(st == 400 and body and body.get("error") == 400 and body.get("message"),
             "flows/json %s is a 400 with a message" % what, (st, body))
    v0 = defs_version(port)
    qs = "keys=ipsource%2Cipdestination&value=bytes&filter=ipprotocol%3D6"
    st, body = get_json(port, FLOWS + "?" + qs)
    tr = (body or {}).get("trend", {})
    t.ok(st == 200 and tr.get("maxPoints") == 300 and len(tr.get("times", [])) == 1 and
         tr.get("trends", {}).get("topn") == [{}], "flows/json answers the trend shape", body)
    st, body = get_json(port, FLOWS + "?" + qs + "&after=%d" % tr["times"][-1])
    t.ok(st == 200 and body["trend"]["times"] == [] and body["trend"]["trends"]["topn"] == [],
         "after= returns only newer points", body)
    v1 = defs_version(port)
    t.ok(v1 == v0 + 1, "creating the hidden flow raises the definitions version", (v0, v1))
    st, flows = get_json(port, "/flow/json")
    t.ok(st == 200 and not any(k.startswith("browse_flows") for k in flows),
         "/flow/json does not list the hidden flow", flows)
    with open(os.path.join(root, "state", "definitions.json")) as f:
        t.ok("browse_flows" not in f.read(), "definitions.json does not hold the hidden flow")
    st, body = get_json(port, FLOWS + "?keys=ipsource&keys=ipdestination&value=bytes")
    t.ok(st == 200 and defs_version(port) == v1 + 1,
         "repeated keys are joined into one new view")
    deadline = time.time() + 20
    while time.time() < deadline and defs_version(port) < v1 + 2:
        time.sleep(0.5)
    # Both views were created 0-1 s apart; each is dropped 10 s after its
    # last query (one removal pass may drop both: one version step).
    t.ok(defs_version(port) >= v1 + 2, "idle views are dropped after 10 s",
         (v1, defs_version(port)))
    st, body = get_json(port, "/app/browse-flows/scripts/top.js/flowkeys/json?search=ip")
    t.ok(st == 200 and isinstance(body, list), "flowkeys/json answers an array", (st, body))


def main():
    args = parse_args("gateway", "www", "work")
    t = Tap(detail_lines=15)
    if not os.path.isfile(os.path.join(args.www, "html", "index.html")):
        print("1..0 # SKIP the pages are not staged in %s" % args.www)
        return 0
    root, www = prepare(args)
    gw, port = start_gateway(args, root, www)
    try:
        if t.ok(port is not None, "the gateway starts"):
            check_pages(t, port)
            check_traversal(t, port)
            check_errors(t, port)
            check_browse(t, port, root)
    finally:
        rc = gw.stop()
    t.ok(rc == 0, "the gateway stops cleanly", rc)
    if t.failed:
        for line in gw.text().splitlines()[-10:]:
            print("# " + line)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
