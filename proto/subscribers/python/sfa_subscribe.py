#!/usr/bin/python3
"""sfa_subscribe.py - print the sFlow samples an sfa collector publishes.

A complete, short bus reader for proto/SCHEMA.md, written as documentation:
the standard library's ctypes on libnng (Debian: libnng1) for the transport
and python3-msgpack for the payload. It dials every lane of each sample base
URL (and, optionally, the control URL), subscribes to topic prefixes, and
prints one line per sample:

    flow.v1.f0 agent=172.16.0.3 ds=1 kind=flow seq=9 rate=1024 framelength=1518 ...

It tracks the envelope's seq per (src, topic) and reports lost messages. It
does not aggregate anything; sfa's aggregators do. Single-threaded.

    /usr/bin/python3 sfa_subscribe.py --url ipc:///tmp/sfa-1000/samples --lanes 4
"""
import argparse
import ctypes
import ctypes.util
import signal
import sys
import time

import msgpack

# ---- libnng through ctypes (nng 1.x C API) ----

NNG_FLAG_ALLOC = 1     # nng_recv allocates the buffer; release it with nng_free
NNG_FLAG_NONBLOCK = 2  # nng_dial returns at once and keeps retrying in the background
NNG_ETIMEDOUT = 5
NNG_EINTR = 3


class NngSocket(ctypes.Structure):
    """nng_socket is a struct holding one uint32 id, passed by value."""
    _fields_ = [("id", ctypes.c_uint32)]


def nng_load():
    """Load libnng and declare the few functions used here."""
    nng = ctypes.CDLL(ctypes.util.find_library("nng") or "libnng.so.1")
    s, c_int, c_size, c_str = NngSocket, ctypes.c_int, ctypes.c_size_t, ctypes.c_char_p
    nng.nng_sub0_open.argtypes = [ctypes.POINTER(NngSocket)]
    nng.nng_socket_set.argtypes = [s, c_str, ctypes.c_void_p, c_size]
    nng.nng_socket_set_int.argtypes = [s, c_str, c_int]
    nng.nng_socket_set_ms.argtypes = [s, c_str, ctypes.c_int32]
    nng.nng_socket_set_size.argtypes = [s, c_str, c_size]
    nng.nng_dial.argtypes = [s, c_str, ctypes.c_void_p, c_int]
    nng.nng_recv.argtypes = [s, ctypes.c_void_p, ctypes.POINTER(c_size), c_int]
    nng.nng_free.argtypes = [ctypes.c_void_p, c_size]
    nng.nng_close.argtypes = [s]
    nng.nng_strerror.argtypes = [c_int]
    nng.nng_strerror.restype = c_str
    return nng


def check(nng, rv, what):
    if rv != 0:
        sys.exit("sfa_subscribe: %s: %s" % (what, nng.nng_strerror(rv).decode()))


def lane_urls(base, lanes):
    """The URL of every lane, as sfa_bus_lane_url makes them: one lane is the
    base itself; ipc:// gets ".<lane>" appended; tcp:// adds lane to the port."""
    if lanes == 1:
        return [base]
    if base.startswith("tcp://"):
        host, _, port = base.rpartition(":")
        return ["%s:%d" % (host, int(port) + i) for i in range(lanes)]
    return ["%s.%d" % (base, i) for i in range(lanes)]


def open_sub(nng, args):
    """One sub0 socket dialing every URL, subscribed to every prefix."""
    sock = NngSocket()
    check(nng, nng.nng_sub0_open(ctypes.byref(sock)), "nng_sub0_open")
    # Queue depth in messages: pub/sub drops rather than blocks, so size it.
    check(nng, nng.nng_socket_set_int(sock, b"recv-buffer", args.rcvbuf), "recv-buffer")
    check(nng, nng.nng_socket_set_size(sock, b"recv-size-max", 0), "recv-size-max")
    # Wake up regularly so --timeout and Ctrl-C are noticed.
    check(nng, nng.nng_socket_set_ms(sock, b"recv-timeout", 200), "recv-timeout")
    prefixes = [t.encode() for t in args.topic]
    if args.control:
        prefixes += [b"stats.v1\0", b"agents.v1\0"]
    for p in prefixes:
        check(nng, nng.nng_socket_set(sock, b"sub:subscribe", p, len(p)), "sub:subscribe")
    urls = [u for base in args.url for u in lane_urls(base, args.lanes)]
    urls += [args.control] if args.control else []
    for url in urls:
        check(nng, nng.nng_dial(sock, url.encode(), None, NNG_FLAG_NONBLOCK), "dial " + url)
    return sock


# ---- printing ----

FLOW_FIELDS = ("framelength", "ipsource", "ipdestination", "ip6source", "ip6destination")
COUNTER_FIELDS = ("ifindex", "ifinoctets", "ifoutoctets", "host_name")


def text(v):
    """One value as text: bin as hex, bool as true/false, the rest as is."""
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def sample_line(topic, dgram, s):
    words = [topic, "agent=" + dgram["agent"], "ds=" + s["ds"], "kind=" + s["kind"],
             "seq=%d" % s["seq"]]
    if "rate" in s:
        words.append("rate=%d" % s["rate"])
    for name in COUNTER_FIELDS if s["kind"] == "counter" else FLOW_FIELDS:
        if name in s["fields"]:
            words.append("%s=%s" % (name, text(s["fields"][name])))
    return " ".join(words)


def control_line(topic, env):
    body = env["body"]
    if topic == "agents.v1":
        what = "agents=" + ",".join(sorted(body))
    else:
        what = "service=%s uptime_ms=%s" % (body.get("service", "-"), body.get("uptime_ms", "-"))
    return "%s src=%s seq=%d %s" % (topic, env["src"], env["seq"], what)


# ---- receiving ----

class Counts:
    """Per-topic message/datagram/sample counts and seq gap tracking."""

    def __init__(self):
        self.topics = {}    # topic -> [messages, datagrams, samples, lost]
        self.kinds = {}     # sample kind -> samples
        self.last_seq = {}  # (src, topic) -> last envelope seq

    def message(self, topic, env):
        t = self.topics.setdefault(topic, [0, 0, 0, 0])
        t[0] += 1
        key = (env["src"], topic)
        last = self.last_seq.get(key)
        self.last_seq[key] = env["seq"]
        # SCHEMA.md section 5: a step back means the publisher restarted.
        if last is not None and env["seq"] > last + 1:
            t[3] += env["seq"] - last - 1
            print("# gap: %d messages lost on %s from %s" % (env["seq"] - last - 1, topic,
                                                             env["src"]), file=sys.stderr)
        return t

    def summary(self):
        tot = [0, 0, 0, 0]
        for topic in sorted(self.topics):
            t = self.topics[topic]
            print("# %s messages=%d datagrams=%d samples=%d gaps=%d" % (topic, *t))
            tot = [a + b for a, b in zip(tot, t)]
        kinds = " ".join("%s=%d" % (k, self.kinds.get(k, 0)) for k in ("flow", "counter",
                                                                     "discard"))
        print("# total messages=%d datagrams=%d samples=%d gaps=%d %s" % (*tot, kinds))


def handle(data, args, counts):
    """Parse one message; returns the number of samples it carried."""
    topic, _, payload = data.partition(b"\0")
    topic = topic.decode("ascii")
    env = msgpack.unpackb(payload, raw=False, strict_map_key=False)
    if env.get("v") != 1:
        print("# %s: envelope version %r skipped" % (topic, env.get("v")), file=sys.stderr)
        return 0
    t = counts.message(topic, env)
    if not topic.startswith(("flow.", "counter.")):
        if not args.count:
            print(control_line(topic, env))
        return 0
    n = 0
    for dgram in env["body"]:
        t[1] += 1
        for s in dgram["samples"]:
            counts.kinds[s["kind"]] = counts.kinds.get(s["kind"], 0) + 1
            n += 1
            if not args.count:
                print(sample_line(topic, dgram, s))
    t[2] += n
    return n


def run(nng, sock, args):
    counts = Counts()
    buf, size = ctypes.c_void_p(), ctypes.c_size_t()
    samples, idle_since = 0, time.monotonic()
    prefixes = tuple(t.encode() for t in args.topic)
    try:
        while not (args.max and samples >= args.max):
            rv = nng.nng_recv(sock, ctypes.byref(buf), ctypes.byref(size), NNG_FLAG_ALLOC)
            if rv in (NNG_ETIMEDOUT, NNG_EINTR):
                if args.timeout and time.monotonic() - idle_since >= args.timeout:
                    break
                continue
            check(nng, rv, "nng_recv")
            data = ctypes.string_at(buf, size.value)  # copy out, then free nng's buffer
            nng.nng_free(buf, size)
            if data.startswith(prefixes):  # control messages do not reset the idle clock
                idle_since = time.monotonic()
            samples += handle(data, args, counts)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: stop, but still print the summary
        pass
    counts.summary()


def main():
    ap = argparse.ArgumentParser(description="Print the samples an sfa collector publishes.")
    ap.add_argument("--url", action="append", required=True,
                    help="sample publisher base URL (bus.samples), repeatable")
    ap.add_argument("--lanes", type=int, default=1, help="bus.lanes of the collector")
    ap.add_argument("--control", help="also dial this bus.control URL (stats.v1, agents.v1)")
    ap.add_argument("--topic", action="append",
                    help='topic prefix, repeatable (default "flow.v1." and "counter.v1.")')
    ap.add_argument("--count", action="store_true",
                    help="print only per-topic counts and totals at the end")
    ap.add_argument("--max", type=int, default=0, help="stop after N samples")
    ap.add_argument("--timeout", type=float, default=0,
                    help="stop after S seconds without a message of the --topic prefixes")
    ap.add_argument("--rcvbuf", type=int, default=1024, help="receive queue, messages")
    args = ap.parse_args()
    args.topic = args.topic or ["flow.v1.", "counter.v1."]
    if args.lanes < 1:
        ap.error("--lanes must be at least 1")
    # SIGTERM stops like Ctrl-C, so the summary is still printed.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    nng = nng_load()
    sock = open_sub(nng, args)
    try:
        run(nng, sock, args)
    finally:
        nng.nng_close(sock)


if __name__ == "__main__":
    main()
