#!/usr/bin/python3
"""make_vectors.py - write the bus golden vectors (proto/SCHEMA.md).

Builds one example message per topic with python3-msgpack, framed exactly
as the sfa collector frames them (topic, NUL, envelope map; seq and ts_ms
as fixed-width uint64 and the sample body as array32, as the C encoder
writes them so it can patch them in place), and writes beside each
    y_<name>.msgpack  the message bytes
    y_<name>.json     the same message as JSON (bin as lowercase hex), the
                      form sfa_codec_to_json and sfa-busdump print
and n_<name>.msgpack messages every reader must reject. The JSON is made
here, independently of the C code, so tests/vectors/bus_vector_test.c
checks the C reader against a second implementation.

Usage: /usr/bin/python3 proto/vectors/bus/make_vectors.py   (rewrites the files)
"""
import json
import os
import struct

import msgpack

HERE = os.path.dirname(os.path.abspath(__file__))


def envelope(topic, src, seq, ts_ms, body, fixed=True):
    """topic NUL envelope; fixed=True writes the collector's fixed widths."""
    out = topic.encode() + b"\0" + b"\x85"
    out += msgpack.packb("v") + msgpack.packb(1)
    out += msgpack.packb("src") + msgpack.packb(src)
    if fixed:
        out += msgpack.packb("seq") + b"\xcf" + struct.pack(">Q", seq)
        out += msgpack.packb("ts_ms") + b"\xcf" + struct.pack(">Q", ts_ms)
        out += msgpack.packb("body") + b"\xdd" + struct.pack(">I", len(body))
        out += b"".join(msgpack.packb(d, use_bin_type=True) for d in body)
    else:
        out += msgpack.packb("seq") + msgpack.packb(seq)
        out += msgpack.packb("ts_ms") + msgpack.packb(ts_ms)
        out += msgpack.packb("body") + msgpack.packb(body, use_bin_type=True)
    return out


def to_json(msg):
    """The JSON form: {"topic": ..., envelope keys...}, bin as hex."""
    topic, _, payload = msg.partition(b"\0")

    def conv(v):
        if isinstance(v, bytes):
            return v.hex()
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, list):
            return [conv(x) for x in v]
        return v

    env = msgpack.unpackb(payload, raw=False, strict_map_key=False)
    out = {"topic": topic.decode("ascii")}
    out.update(conv(env))
    return out


def sample(tag, seq, ds_class, ds_index, records, fields, **extra):
    kind = {1: "flow", 3: "flow", 2: "counter", 4: "counter", 5: "discard"}[tag]
    status = extra.pop("status", 0)
    s = {"tag": tag, "kind": kind, "expanded": tag in (3, 4), "seq": seq,
         "ds_class": ds_class, "ds_index": ds_index,
         "ds": str(ds_index) if ds_class == 0 else "%d.%d" % (ds_class, ds_index)}
    s.update(extra)
    s["status"] = status
    s["records"] = records
    s["fields"] = fields
    return s


def dgram(agent, seq, samples, src=None, length=1200, status=0):
    return {"agent": agent, "sub_agent": 0, "seq": seq, "uptime": 3600000 + seq,
            "src": src or agent, "src_port": 50001, "rx_ms": 1767225600000 + seq,
            "len": length, "version": 5, "status": status, "samples": samples}


HEADER = bytes.fromhex(
    "001b213c4d5f001b213c4d5e8100000a0800"          # Ethernet, VLAN 10, IPv4
    "45000034abcd40004006a1b2c0a80164"              # IPv4 192.168.1.100 -> 10.0.0.11
    "0a00000b01bbc8220000000100000000801801f5"      # TCP 443 -> 51234
    "fe3000000101080a00000001000000020000")


def flow_fields():
    return {
        "vlansource": 10, "prioritysource": 0, "vlandestination": 20,
        "prioritydestination": 0, "headerprotocol": 1, "framelength": 1518,
        "stripped": 4, "headerlength": len(HEADER), "header": HEADER,
        "macdestination": "001B213C4D5F", "macsource": "001B213C4D5E",
        "vlan": 10, "priority": 0, "ethernetprotocol": 0x0800,
        "ipsource": "192.168.1.100", "ipdestination": "10.0.0.11", "ipprotocol": 6,
        "iptos": 0, "ipdscp": 0, "ipecn": 0, "ipttl": 64, "ipbytes": 52, "ipflags": 2,
        "ipfragoffset": 0, "tcpsourceport": 443, "tcpdestinationport": 51234,
        "tcpflags": 0x18, "stack": "eth.dot1q.ip.tcp",
        "ipnexthoprouter": "2001:db8::1", "ipsourcemaskbits": 24,
        "ipdestinationmaskbits": 16, "bgpnexthop": "10.0.0.254", "bgpas": 65000,
        "bgpsourceas": 65010, "bgpsourcepeeras": 65001,
        "bgpdestinationaspath": [{"type": 2, "as": [65001, 65002]},
                                 {"type": 1, "as": [65003, 65004]}],
        "bgpdestinationpeeras": 65001, "bgpdestinationas": 65004,
        "bgpcommunities": [(65000 << 16) | 100, (65000 << 16) | 200],
        "bgplocalpref": 100,
    }


def flow_message():
    s1 = sample(1, 1001, 0, 5, [1001, 1002, 1003, 1], flow_fields(), rate=4096,
                pool=4096000, drops=0, in_fmt=0, **{"in": 5}, out_fmt=0, out=17)
    s2 = sample(3, 77, 1, 100, [1], {
        "headerprotocol": 1, "framelength": 90, "stripped": 4, "headerlength": 4,
        "header": bytes.fromhex("86dd6000"), "ip6source": "2001:db8::10",
        "ip6destination": "fe80::1:2", "ip6nexthdr": 17, "ip6flowlabel": 12345,
        "udpsourceport": 53, "udpdestinationport": 40000, "stack": "eth.ip6.udp"},
        rate=512, pool=51200, drops=3, in_fmt=0, **{"in": 100}, out_fmt=2, out=7)
    s3 = sample(5, 9, 0, 4, [], {}, drops=2, **{"in": 4}, out=0, reason=258)
    d1 = dgram("10.0.0.1", 812, [s1, s2, s3], src="192.0.2.1")
    s4 = sample(1, 1002, 0, 6, [1], {"headerprotocol": 1, "framelength": 64,
                                     "stripped": 4, "headerlength": 0, "header": b"",
                                     "stack": "eth"},
                rate=4096, pool=4100096, drops=0, in_fmt=1, **{"in": 0}, out_fmt=0, out=6,
                status=-1000)
    d2 = dgram("10.0.0.1", 813, [s4], length=200, status=-1000)
    return envelope("flow.v1.2c", "collector-a", 41, 1767225600123, [d1, d2])


def counter_message():
    s1 = sample(2, 500, 0, 3, [1, 2], {
        "ifindex": 3, "iftype": 6, "ifspeed": 10000000000, "ifdirection": 1, "ifstatus": 3,
        "ifinoctets": 1 << 40, "ifinucastpkts": 123456789, "ifinmulticastpkts": 5,
        "ifinbroadcastpkts": 6, "ifindiscards": 0, "ifinerrors": 0,
        "ifinunknownprotos": 0, "ifoutoctets": 987654321012, "ifoutucastpkts": 99,
        "ifoutmulticastpkts": 1, "ifoutbroadcastpkts": 2, "ifoutdiscards": 0,
        "ifouterrors": 0, "ifpromiscuousmode": 2})
    s2 = sample(4, 501, 2, 1, [2000, 2001, 2003, 2004, 2005], {
        "host_name": "web-1", "uuid": bytes(range(16)), "machine_type": 3,
        "os_name": 2, "os_release": "6.1.0-13-amd64",
        "host_adapters": [{"ifindex": 2, "macs": ["020000000001", "020000000002"]}],
        "load_one": 0.25, "load_five": 0.5, "load_fifteen": 1.5,
        "mem_total": 8589934592, "mem_free": 1073741824, "part_max_used": -1})
    d = dgram("2001:db8::7", 9000, [s1, s2], length=600)
    return envelope("counter.v1.ce", "collector-a", 7, 1767225600456, [d])


def stats_message():
    body = {"service": "collector", "input": "udp", "uptime_ms": 60000,
            "udp_rx_datagrams": 1000, "udp_rx_bytes": 1200000, "decode_ok": 998,
            "decode_parse_errors": 2, "decode_flow_records": {"0:1": 5000, "0:1001": 4000},
            "bus_lanes": [{"url": "ipc:///run/sfa/samples.0", "msgs": 50, "bytes": 60000,
                           "send_failed": 0, "pipes": 1}],
            "bus_msgs": 50}
    return envelope("stats.v1", "collector-a", 60, 1767225660000, body, fixed=False)


def agents_message():
    body = {"10.0.0.1": {
        "sFlowDatagramSource": ["192.0.2.1"], "firstSeen": 60000, "lastSeen": 120,
        "uptime": 3600813, "sFlowDatagramsReceived": 1000, "sFlowDatagramsLost": 2,
        "sFlowDatagramsOutOfOrder": 0, "sFlowDatagramsDuplicates": 0,
        "sFlowFlowSamples": 5000, "sFlowFlowLostSamples": 0, "sFlowFlowDrops": 0,
        "sFlowCounterSamples": 100, "sFlowCounterLostSamples": 0}}
    return envelope("agents.v1", "collector-a", 60, 1767225660000, body, fixed=False)


def rejects(flow):
    """Messages every reader must reject, with why."""
    body_at = flow.index(b"body") + 4
    return {
        "n_truncated": (flow[:len(flow) // 2], "cut in the middle of the body"),
        "n_no_nul": (b"flow.v1.2c" + flow[11:], "topic not NUL-terminated"),
        "n_envelope_v2": (flow.replace(b"\xa1v\x01", b"\xa1v\x02", 1), "envelope v 2"),
        "n_missing_seq": (envelope("stats.v1", "x", 1, 1, {}, fixed=False)
                          .replace(b"\x85", b"\x84", 1).replace(b"\xa3seq\x01", b""),
                          "envelope without seq"),
        "n_body_map": (envelope("flow.v1.00", "x", 1, 1, {}, fixed=False),
                       "sample topic whose body is not an array"),
        "n_reserved_byte": (flow[:body_at + 5] + b"\xc1" + flow[body_at + 6:],
                            "0xc1 where a datagram map starts"),
        "n_lying_count": (flow[:body_at + 1] + struct.pack(">I", 100000) + flow[body_at + 5:],
                          "body array claims 100000 datagrams"),
        "n_trailing": (flow + b"\x00", "a byte after the envelope"),
        "n_bad_agent": (envelope("flow.v1.2c", "x", 1, 1,
                                 [dgram("10.0.0.256", 1, [sample(1, 1, 0, 1, [], {})])]),
                        "agent text is not an address"),
    }


def main():
    flow = flow_message()
    vectors = {"y_flow_v1": flow, "y_counter_v1": counter_message(),
               "y_stats_v1": stats_message(), "y_agents_v1": agents_message()}
    for name, msg in sorted(vectors.items()):
        with open(os.path.join(HERE, name + ".msgpack"), "wb") as f:
            f.write(msg)
        with open(os.path.join(HERE, name + ".json"), "w") as f:
            json.dump(to_json(msg), f, indent=1)
            f.write("\n")
    for name, (msg, why) in sorted(rejects(flow).items()):
        with open(os.path.join(HERE, name + ".msgpack"), "wb") as f:
            f.write(msg)
        print("%s: %s" % (name, why))


if __name__ == "__main__":
    main()
