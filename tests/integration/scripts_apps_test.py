#!/usr/bin/python3
"""scripts_apps_test.py - sFlow-RT apps dropped into script.appdir, served
by the real suite, TAP output.

`sfa` (the launcher) runs the whole suite on 127.0.0.1 with an app
directory written here:

  app/web/scripts/h.js     setHttpHandler echoing req (method, path, format,
                           query, body, error); /shared/json answers
                           sharedGet('from_peer')
  app/web/scripts/peer.js  sharedSet('from_peer', {n: 7}) at its top level
  app/web/html/            pages: index.html, sub/deep/x/page.css, img.png,
                           data.bin, "space name.txt", .hidden.txt, a link
                           inside the directory and links out of it
  app/other/scripts/o.js   another app: answers its own sharedGet('from_peer')
  app/webonly/html/        pages only, no scripts
  app/browse-flows/html/   a dropped-in app with the built-in app's name

and a secret file beside app/. Checks, all through the gateway's HTTP port:
the app's files with their content types, directory URLs, the redirect of
/app/NAME/html, HEAD, ETag and 304; 404 for missing files and for every
way out of html/ (dot segments raw and percent-encoded, encoded slashes,
hidden files, empty segments, NUL, symbolic links out of the directory);
405 for writes; the built-in Browse Flows winning over the dropped-in app
of that name; /apps/json listing every dropped-in app; setHttpHandler
answering at any depth (/app/web/scripts/h.js/a/b/c/d/e/json, twenty
segments, encoded segments) with the query, the method and the body as
sFlow-RT passes them; sharedSet/sharedGet shared by the scripts of one app
and not across apps; app properties (-Dweb.color=blue on the command line,
-Dother.size=3 in RTPROP) accepted by every service of the suite and read
with getSystemProperty.

Usage: scripts_apps_test.py --build BUILD --work WORK
"""
import http.client
import json
import os
import shutil
import socket
import sys

from suite import Launcher, Tap, not_built, free_port, parse_args, wait_until


H_JS = r"""
setHttpHandler(function(req) {
  if (req.path.length === 1 && req.path[0] === 'shared') return {v: sharedGet('from_peer')};
  if (req.path.length === 1 && req.path[0] === 'text') return 'plain ' + req.format;
  if (req.path.length === 1 && req.path[0] === 'props')
    return [getSystemProperty('web.color'), getSystemProperty('other.size'),
            getSystemProperty('http.port'), getSystemProperty('web.none')];
  return {method: req.method, path: req.path, format: req.format, query: req.query,
          body: req.body === undefined ? null : req.body,
          error: req.error === undefined ? null : req.error};
});
"""
PEER_JS = "sharedSet('from_peer', {n: 7});\n"
OTHER_JS = "setHttpHandler(function(req) { return {v: sharedGet('from_peer')}; });\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
SECRET = "top secret, never served"


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def make_apps(work):
    app = os.path.join(work, "app")
    write(os.path.join(work, "secret.txt"), SECRET)
    write(os.path.join(app, "web", "scripts", "h.js"), H_JS)
    write(os.path.join(app, "web", "scripts", "peer.js"), PEER_JS)
    html = os.path.join(app, "web", "html")
    write(os.path.join(html, "index.html"), "<p>web app</p>\n")
    write(os.path.join(html, "sub", "deep", "x", "page.css"), "p { color: red }\n")
    write(os.path.join(html, "sub", "readme.txt"), "no index here\n")
    write(os.path.join(html, "img.png"), PNG)
    write(os.path.join(html, "data.bin"), b"\x00\x01binary")
    write(os.path.join(html, "space name.txt"), "spaced\n")
    write(os.path.join(html, ".hidden.txt"), "hidden\n")
    os.symlink("index.html", os.path.join(html, "link_in.html"))
    os.symlink("../../../secret.txt", os.path.join(html, "link_out.txt"))
    os.symlink(work, os.path.join(html, "linkdir"))
    write(os.path.join(app, "other", "scripts", "o.js"), OTHER_JS)
    write(os.path.join(app, "webonly", "html", "index.html"), "<p>web only</p>\n")
    write(os.path.join(app, "browse-flows", "html", "index.html"), "<p>DROPPED-IN</p>\n")
    write(os.path.join(app, "browse-flows", "html", "deep", "x.html"), "<p>DROPPED-IN</p>\n")
    return app


def raw(port, path, method="GET", body=None, headers=None):
    """One request with the path sent exactly as given: (status, headers, body)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    except (OSError, http.client.HTTPException) as e:
        return None, {}, str(e).encode()
    finally:
        c.close()


def get_json(port, path, method="GET", body=None, ctype=None):
    st, hd, data = raw(port, path, method, body, {"Content-Type": ctype} if ctype else None)
    try:
        return st, json.loads(data) if "json" in hd.get("content-type", "") else data.decode()
    except ValueError:
        return st, data


def check_files(tap, port):
    cases = [("/app/web/html/index.html", "text/html", b"<p>web app</p>\n"),
             ("/app/web/html/", "text/html", b"<p>web app</p>\n"),
             ("/app/web/html/sub/deep/x/page.css", "text/css", b"p { color: red }\n"),
             ("/app/web/html/img.png", "image/png", PNG),
             ("/app/web/html/data.bin", "application/octet-stream", b"\x00\x01binary"),
             ("/app/web/html/space%20name.txt", "text/plain", b"spaced\n"),
             ("/app/web/html/link_in.html", "text/html", b"<p>web app</p>\n"),
             ("/app/webonly/html/", "text/html", b"<p>web only</p>\n")]
    for path, ctype, body in cases:
        st, hd, data = raw(port, path)
        tap.ok(st == 200 and hd.get("content-type", "").startswith(ctype) and data == body,
               "GET %s: 200, %s, the file" % (path, ctype), (st, hd.get("content-type"), data[:80]))
    st, hd, data = raw(port, "/app/web/html")
    tap.ok(st == 302 and hd.get("location") == "html/", "GET /app/web/html redirects to html/",
           (st, hd.get("location")))
    st, hd, data = raw(port, "/app/web/html/img.png", "HEAD")
    tap.ok(st == 200 and hd.get("content-length") == str(len(PNG)) and data == b"",
           "HEAD: the length, no body", (st, hd, data[:20]))
    st, hd, data = raw(port, "/app/web/html/index.html")
    etag = hd.get("etag")
    st2, _, data2 = raw(port, "/app/web/html/index.html", headers={"If-None-Match": etag or "x"})
    tap.ok(etag and st2 == 304 and data2 == b"", "If-None-Match with the ETag: 304", (etag, st2))
    tap.ok(hd.get("x-content-type-options") == "nosniff", "nosniff on app files", hd)


def check_refused(tap, port):
    refused = ["/app/web/html/missing.html", "/app/web/html/sub/", "/app/web/html/sub/deep/",
               "/app/web/html/../scripts/h.js", "/app/web/html/%2e%2e/scripts/h.js",
               "/app/web/html/sub/..%2f..%2fscripts%2fh.js", "/app/web/html/sub/%2E%2E/index.html",
               "/app/web/html/..%5c..%5csecret.txt", "/app/web/html/.hidden.txt",
               "/app/web/html//index.html", "/app/web/html/sub//readme.txt",
               "/app/web/html/a%00b.html", "/app/web/html/bad%zz.html",
               "/app/web/html/link_out.txt", "/app/web/html/linkdir/secret.txt",
               "/app/..%2fweb/html/index.html", "/app/%2e%2e/html/index.html",
               "/app/web/../web/html/index.html", "/app/nope/html/index.html",
               "/app/nope/html/", "/app/other/html/index.html"]
    for path in refused:
        st, hd, data = raw(port, path)
        tap.ok(st == 404 and SECRET.encode() not in data and b"setHttpHandler" not in data,
               "GET %s: 404" % path, (st, data[:120]))
    st, hd, data = raw(port, "/app/web/html/missing.html")
    tap.ok(hd.get("content-type", "").startswith("text/html") and b"Page not found" in data,
           "a missing page gets the HTML 404 page", (hd, data[:120]))
    for method in ("PUT", "POST", "DELETE"):
        st, _, _ = raw(port, "/app/web/html/index.html", method, b"x")
        tap.ok(st == 405, "%s on an app page: 405" % method, st)


def check_builtin(tap, port):
    st, hd, data = raw(port, "/app/browse-flows/html/index.html")
    tap.ok(st == 200 and b"Browse Flows" in data and b"DROPPED-IN" not in data,
           "the built-in Browse Flows wins over a dropped-in browse-flows", (st, data[:200]))
    st, hd, data = raw(port, "/app/browse-flows/html/deep/x.html")
    tap.ok(st == 404 and b"DROPPED-IN" not in data,
           "no page of a dropped-in browse-flows is served", (st, data[:120]))


def check_apps_json(tap, port):
    st, apps = get_json(port, "/apps/json")
    want = {"web": {"entry": "/html/", "scripts": ["scripts/h.js", "scripts/peer.js"]},
            "other": {"scripts": ["scripts/o.js"]},
            "webonly": {"entry": "/html/", "scripts": []},
            "browse-flows": {"entry": "/html/", "scripts": ["scripts/top.js"]}}
    tap.ok(st == 200 and apps == want, "/apps/json lists the dropped-in apps and Browse Flows",
           (st, apps))
    st, scripts = get_json(port, "/scripts/json")
    tap.ok(st == 200 and isinstance(scripts, dict) and
           set(scripts) == {"app/web/scripts/h.js", "app/web/scripts/peer.js",
                            "app/other/scripts/o.js"},
           "/scripts/json lists the dropped-in apps' scripts", (st, scripts))


def check_handler(tap, port):
    base = "/app/web/scripts/h.js"
    st, r = get_json(port, base + "/a/b/c/d/e/json?x=1&x=2&y=%20z&empty=&plus=a+b")
    tap.ok(st == 200 and r == {"method": "GET", "path": ["a", "b", "c", "d", "e"],
                               "format": "json", "error": None, "body": None,
                               "query": {"x": ["1", "2"], "y": [" z"], "empty": [""],
                                         "plus": ["a b"]}},
           "five segments and a query reach req.path, req.format and req.query", (st, r))
    segs = ["s%d" % i for i in range(20)]
    st, r = get_json(port, base + "/" + "/".join(segs) + "/json")
    tap.ok(st == 200 and isinstance(r, dict) and r.get("path") == segs,
           "twenty segments", (st, r))
    st, r = get_json(port, base + "/json")
    tap.ok(st == 200 and isinstance(r, dict) and r.get("path") == [] and
           r.get("format") == "json", "no segment: req.path is []", (st, r))
    st, r = get_json(port, base + "/a%2Fb/c%20d/%C3%A9/json")
    tap.ok(st == 200 and isinstance(r, dict) and r.get("path") == ["a/b", "c d", "\u00e9"],
           "segments are percent-decoded, an encoded '/' stays inside one", (st, r))
    st, r = get_json(port, base + "/text/txt")
    tap.ok(st == 200 and r == "plain txt", "a string answer is text", (st, r))
    body = json.dumps({"k": [1, 2, {"z": None}]})
    st, r = get_json(port, base + "/p/q/r/json?m=1", "POST", body, "application/json")
    tap.ok(st == 200 and isinstance(r, dict) and r.get("method") == "POST" and
           r.get("body") == {"k": [1, 2, {"z": None}]} and r.get("path") == ["p", "q", "r"] and
           r.get("query") == {"m": ["1"]}, "POST with a JSON body at depth", (st, r))
    for method in ("PUT", "DELETE"):
        st, r = get_json(port, base + "/x/y/json", method, "{}", "application/json")
        tap.ok(st == 200 and isinstance(r, dict) and r.get("method") == method and
               r.get("path") == ["x", "y"], "%s reaches the handler as req.method" % method,
               (st, r))
    st, r = get_json(port, base + "/x/json", "POST", "{not json", "application/json")
    tap.ok(st == 200 and isinstance(r, dict) and r.get("body") == "{not json" and r.get("error"),
           "a body that is not JSON: raw body and req.error", (st, r))
    for path in (base + "/a/", base + "/", "/app/web/scripts/nope.js/a/b/json",
                 "/app/web/scripts/h/a/json", "/app/nope/scripts/h.js/a/b/c/json"):
        st, _ = get_json(port, path)
        tap.ok(st == 404, "GET %s: 404" % path, st)


def check_shared(tap, port):
    wait_until(lambda: get_json(port, "/app/web/scripts/h.js/shared/json")[1] == {"v": {"n": 7}},
               10)
    st, r = get_json(port, "/app/web/scripts/h.js/shared/json")
    tap.ok(st == 200 and r == {"v": {"n": 7}},
           "sharedGet in h.js reads what peer.js of the same app sharedSet", (st, r))
    st, r = get_json(port, "/app/other/scripts/o.js/json")
    tap.ok(st == 200 and r == {"v": None}, "another app does not see it", (st, r))


def main():
    args = parse_args("build", "work")
    tap = Tap()
    absent = not_built(args.build)
    if absent:
        print("1..0 # SKIP %s is not built" % absent)
        return 0
    work = os.path.join(os.path.abspath(args.work), "scripts-apps")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    app = make_apps(work)
    sfa = Launcher(args.build, work, ["-Dsflow.port=%d" % free_port(socket.SOCK_DGRAM),
                                      "-Dscript.appdir=" + app, "-Dweb.color=blue"],
                   state=False, cwd=work, env=dict(os.environ, RTPROP="-Dother.size=3"))
    port = sfa.port

    def handler_up():
        return get_json(port, "/app/web/scripts/h.js/shared/json")[0] == 200
    tap.ok(wait_until(handler_up, 60), "the app's HTTP handler answers through the gateway",
           sfa.text()[-2000:])
    check_files(tap, port)
    check_refused(tap, port)
    check_builtin(tap, port)
    check_apps_json(tap, port)
    check_handler(tap, port)
    check_shared(tap, port)
    st, r = get_json(port, "/app/web/scripts/h.js/props/json")
    tap.ok(st == 200 and r == ["blue", "3", str(port), None],
           "app properties from the command line and RTPROP reach getSystemProperty", (st, r))
    text = sfa.text()
    tap.ok("SEVERE" not in text, "no SEVERE line in the log",
           [ln for ln in text.splitlines() if "SEVERE" in ln][:5])
    rc = sfa.stop()
    tap.ok(rc == 0, "SIGTERM: sfa exits 0", rc)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
