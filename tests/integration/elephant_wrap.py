"""elephant_wrap.py - run a seed script unchanged against another port.

The seed's elephant.py talks to http://localhost:8008 only. This wrapper
makes every request the script sends through python3-requests go to
http://127.0.0.1:<port> instead (by wrapping requests.Session.request,
which requests.get/put use), then runs the script file as __main__, so the
file itself is never copied or edited.

Usage: /usr/bin/python3 -u elephant_wrap.py PORT SCRIPT
"""
import runpy
import sys

import requests

SEED_BASE = "http://localhost:8008"


def main():
    port, script = sys.argv[1], sys.argv[2]
    base = "http://127.0.0.1:%s" % port
    original = requests.Session.request

    def request(self, method, url, *args, **kwargs):
        if isinstance(url, str) and url.startswith(SEED_BASE):
            url = base + url[len(SEED_BASE):]
        return original(self, method, url, *args, **kwargs)

    requests.Session.request = request
    sys.argv = [script]
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
