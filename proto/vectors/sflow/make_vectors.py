#!/usr/bin/python3
"""make_vectors.py - (re)create the sFlow golden vectors in this directory.

y_<name>.bin must decode without error; n_<name>.bin must be rejected or
flagged malformed. Each file is one UDP payload. Vectors named after a
capture are UDP payloads taken byte for byte from the pcap files in
tests/data (provenance in tests/data/PROVENANCE.md); y_synth_* and most n_*
are built here field by field to cover what the captures lack.

The expected results y_<name>.json are written by the vector test driver
(tests/vectors/vector_test --regen), never by this script.

Usage: /usr/bin/python3 make_vectors.py   (writes into its own directory)
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, '..', '..', '..', 'tests', 'data')


# ---- captures ----

def pcap_payloads(name):
    """UDP payloads (length from the UDP header) of a classic Ethernet pcap."""
    data = open(os.path.join(DATA, name), 'rb').read()
    magic = struct.unpack('<I', data[:4])[0]
    e = '<' if magic in (0xa1b2c3d4, 0xa1b23c4d) else '>'
    off, out = 24, []
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(e + 'IIII', data[off:off + 16])
        fr = data[off + 16:off + 16 + incl]
        off += 16 + incl
        et, p = struct.unpack('>H', fr[12:14])[0], 14
        while et in (0x8100, 0x88a8):
            et, p = struct.unpack('>H', fr[p + 2:p + 4])[0], p + 4
        if et == 0x0800:
            proto, l4 = fr[p + 9], p + (fr[p] & 15) * 4
        elif et == 0x86dd:
            proto, l4 = fr[p + 6], p + 40
        else:
            continue
        if proto != 17:
            continue
        ulen = struct.unpack('>H', fr[l4 + 4:l4 + 6])[0]
        out.append(fr[l4 + 8:l4 + max(ulen, 8)])
    return out


def sample_tags(dg):
    """Sample tags of a v5 datagram (best effort, for picking examples)."""
    atype = struct.unpack('>I', dg[4:8])[0]
    off = 8 + {0: 0, 1: 4, 2: 16}[atype] + 12
    n = struct.unpack('>I', dg[off:off + 4])[0]
    off += 4
    tags = []
    for _ in range(n):
        tag, ln = struct.unpack('>II', dg[off:off + 8])
        tags.append(tag)
        off += 8 + ln
    return tags


# ---- XDR builder ----

class X:
    def __init__(self):
        self.b = bytearray()

    def u32(self, *vs):
        for v in vs:
            self.b += struct.pack('>I', v & 0xFFFFFFFF)
        return self

    def u64(self, v):
        self.b += struct.pack('>Q', v)
        return self

    def fixed(self, raw):
        self.b += raw + b'\0' * ((4 - len(raw) % 4) % 4)
        return self

    def opaque(self, raw):
        if isinstance(raw, str):
            raw = raw.encode()
        return self.u32(len(raw)).fixed(raw)

    def ip4(self, s):
        return self.fixed(bytes(int(x) for x in s.split('.')))

    def ip6(self, s):
        import ipaddress
        return self.fixed(ipaddress.IPv6Address(s).packed)

    def rec(self, tag, body):
        """A tagged, length-prefixed object (sample or record)."""
        raw = body.b if isinstance(body, X) else body
        return self.u32(tag, len(raw)).fixed(bytes(raw))


def dgram(samples, agent='192.0.2.1', sub=1, seq=1, uptime=60000, nsamples=None):
    x = X().u32(5)
    if agent is None:
        x.u32(0)
    elif ':' in agent:
        x.u32(2).ip6(agent)
    else:
        x.u32(1).ip4(agent)
    x.u32(sub, seq, uptime, len(samples) if nsamples is None else nsamples)
    for s in samples:
        x.b += s
    return bytes(x.b)


def flow_sample(records, seq=1, src=3, rate=100, pool=1000, drops=0, inp=3, out=4):
    body = X().u32(seq, src, rate, pool, drops, inp, out, len(records))
    for tag, rec in records:
        body.rec(tag, rec)
    return bytes(X().rec(1, body).b)


def expanded_flow_sample(records, seq=1, cls=0, idx=3, rate=100, pool=1000,
                         in_fmt=0, inp=3, out_fmt=0, out=4):
    body = X().u32(seq, cls, idx, rate, pool, 0, in_fmt, inp, out_fmt, out, len(records))
    for tag, rec in records:
        body.rec(tag, rec)
    return bytes(X().rec(3, body).b)


def discard_sample(records, seq=1, cls=0, idx=7, drops=0, inp=7, out=0, reason=258):
    body = X().u32(seq, cls, idx, drops, inp, out, reason, len(records))
    for tag, rec in records:
        body.rec(tag, rec)
    return bytes(X().rec(5, body).b)


def counter_sample(records, seq=1, src=3):
    body = X().u32(seq, src, len(records))
    for tag, rec in records:
        body.rec(tag, rec)
    return bytes(X().rec(2, body).b)


def header(pkt, proto=1, frame=None, stripped=4):
    frame = len(pkt) + 4 if frame is None else frame
    return X().u32(proto, frame, stripped).opaque(pkt)


# ---- packet builder (raw bytes, no padding) ----

MAC_D = bytes.fromhex('0050569c0001')
MAC_S = bytes.fromhex('0050569c0002')


def eth(etype, dst=MAC_D, src=MAC_S):
    return dst + src + struct.pack('>H', etype)


def ipv4(proto, src='10.0.0.1', dst='10.0.0.2', total=1500, frag=0x4000, tos=0, ttl=64):
    return (struct.pack('>BBHHHBBH', 0x45, tos, total, 0x1234, frag, ttl, proto, 0)
            + bytes(int(x) for x in src.split('.')) + bytes(int(x) for x in dst.split('.')))


def ipv6(nh, src='2001:db8::1', dst='2001:db8::2', plen=1000, tc=0, flow=0, hlim=64):
    import ipaddress
    w = 6 << 28 | tc << 20 | flow
    return (struct.pack('>IHBB', w, plen, nh, hlim) + ipaddress.IPv6Address(src).packed
            + ipaddress.IPv6Address(dst).packed)


def tcp(sport, dport, flags=0x18):
    return struct.pack('>HHIIBBHHH', sport, dport, 1, 2, 0x50 | (flags >> 8), flags & 0xFF,
                       65535, 0, 0)


def udp(sport, dport, length=100):
    return struct.pack('>HHHH', sport, dport, length, 0)


def vlan(vid, etype, pcp=0):
    return struct.pack('>HH', pcp << 13 | vid, etype)


def switch(src_vlan=10, dst_vlan=20):
    return X().u32(src_vlan, 0, dst_vlan, 0)


# ---- synthetic y_ vectors ----

def synth():
    v = {}
    v['y_synth_ipv6_agent'] = dgram(
        [flow_sample([(1, header(eth(0x86dd) + ipv6(17) + udp(5353, 5353)))])],
        agent='2001:db8:ffff::7', sub=2, seq=77)
    v['y_synth_agent_unknown'] = dgram(
        [flow_sample([(1001, switch())])], agent=None, sub=0, seq=9)

    gw = (X().u32(1).ip4('203.0.113.1').u32(65000, 64512, 64513)
          .u32(2, 2, 3, 174, 3356, 2914, 1, 2, 15169, 13335)
          .u32(2, 0xFDE80064, 0xFFFFFF02).u32(120))
    gw6 = X().u32(2).ip6('2001:db8::fe').u32(65000, 0, 0).u32(0).u32(0).u32(100)
    v['y_synth_ext_records'] = dgram([
        flow_sample([
            (1, header(eth(0x0800) + ipv4(6) + tcp(33000, 443))),
            (1002, X().u32(2).ip6('2001:db8::1').u32(48, 64)),
            (1003, gw),
            (1004, X().u32(106).opaque('alice').u32(106).opaque('bob')),
            (1005, X().u32(2).opaque('GET /x HTTP/1.1').opaque('www.example.com')),
            (1006, X().u32(1).ip4('10.9.9.9').u32(2, 16000 << 12, 17000 << 12 | 0x140)
             .u32(1, 18000 << 12 | 0x140)),
            (1007, X().u32(1).ip4('198.51.100.7').u32(1).ip4('10.0.0.7')),
        ], seq=1),
        flow_sample([
            (1003, gw6),
            (1008, X().opaque('lsp-east').u32(10, 5)),
            (1009, X().opaque('vc-1').u32(100, 3)),
            (1010, X().opaque('ftn-a').u32(24)),
            (1011, X().u32(32)),
            (1012, X().u32(2, 0x88A80064, 0x810000C8)),
        ], seq=2),
    ])
    v['y_synth_80211'] = dgram([flow_sample([
        (1013, X().u32(0x000FAC04, 1, 200, 4).opaque(eth(0x0800)[:12])),
        (1014, X().opaque('lab').fixed(MAC_S).u32(4, 36).u64(300000000).u32(20, 30, 120)),
        (1015, X().opaque('lab').fixed(MAC_D).u32(3, 2, 150, 60, 11).u64(54000000).u32(100)),
        (1016, X().u32(0)),
    ])])
    v['y_synth_tunnel_records'] = dgram([flow_sample([
        (1, header(eth(0x0800) + ipv4(17) + udp(40000, 4789) + struct.pack('>II', 0x08000000,
                                                                            4242 << 8)
                   + eth(0x0800, MAC_S, MAC_D) + ipv4(6, '172.16.0.1', '172.16.0.2', 600)
                   + tcp(22, 50000))),
        (1020, X().u32(40001, 8443)),
        (1021, X().u32(1514).fixed(MAC_S).fixed(MAC_D).u32(0x0800)),
        (1022, X().u32(1514).fixed(MAC_D).fixed(MAC_S).u32(0x86DD)),
        (1023, X().u32(1450, 17).ip4('192.0.2.10').ip4('192.0.2.20').u32(40000, 4789, 0, 0)),
        (1024, X().u32(1450, 47).ip4('192.0.2.30').ip4('192.0.2.40').u32(0, 0, 0, 0)),
        (1025, X().u32(1400, 17).ip6('2001:db8::a').ip6('2001:db8::b').u32(1, 4789, 0, 0)),
        (1026, X().u32(1400, 17).ip6('2001:db8::c').ip6('2001:db8::d').u32(2, 6081, 0, 0)),
        (1027, X().u32(50)),
        (1028, X().u32(50)),
        (1029, X().u32(4242)),
        (1030, X().u32(4243)),
    ])])
    v['y_synth_drop'] = dgram([
        discard_sample([
            (1, header(eth(0x0800) + ipv4(17, '10.1.1.1', '10.2.2.2') + udp(1234, 53))),
            (1036, X().u32(3)),
            (1038, X().opaque('fib_table_lookup')),
            (1039, X().u32(1500)),
            (1040, X().u32(65536)),
            (1041, X().opaque('l3_drops').opaque('blackhole_route')),
            (1042, X().opaque('NO_SOCKET')),
            (1043, X().u64(1700000000000000123)),
        ], reason=269),
        expanded_flow_sample([(1001, switch())], cls=0, idx=0x01000002, inp=0x01000001,
                             out_fmt=1, out=258),
    ])
    v['y_synth_app_records'] = dgram([flow_sample([
        (2100, X().u32(6).ip4('10.0.0.1').ip4('10.0.0.2').u32(443, 51000)),
        (2101, X().u32(17).ip6('2001:db8::1').ip6('2001:db8::2').u32(53, 41000)),
        (2102, X().u32(6).ip4('10.0.1.1').ip4('10.0.1.2').u32(8080, 52000)),
        (2103, X().u32(6).ip6('2001:db8::3').ip6('2001:db8::4').u32(8443, 53000)),
        (2200, X().u32(1, 2).opaque('user:42').u32(1, 512, 80, 1)),
        (2201, X().u32(2, 1001).opaque('/a').opaque('h.example').opaque('').opaque('curl')
         .opaque('').opaque('text/html').u64(4096).u32(1500, 200)),
        (2202, X().opaque('pay').opaque('charge').opaque('card=visa').opaque('ok')
         .u64(100).u64(200).u32(777, 0)),
        (2203, X().opaque('shop').opaque('checkout').opaque('x=1')),
        (2204, X().opaque('svc-a')),
        (2205, X().opaque('svc-b')),
        (2206, X().u32(4, 2000).opaque('/b').opaque('h.example').opaque('https://r/')
         .opaque('curl').opaque('192.0.2.9').opaque('carol').opaque('application/json')
         .u64(300).u64(9000).u32(2500, 404)),
        (2209, X().u32(1, 1460, 1460, 0, 0, 2, 1500, 12000, 3000, 10, 0, 9000)),
        (2210, X().u32(3, 30, 4, 40)),
    ])])

    arp = struct.pack('>HHBBH', 1, 0x0800, 6, 4, 1) + MAC_S + bytes([10, 0, 0, 1]) \
        + bytes(6) + bytes([10, 0, 0, 2])
    pppoe = struct.pack('>BBHH', 0x11, 0, 0x2a, 60)
    v['y_synth_headers_l2'] = dgram([
        flow_sample([(1, header(eth(0x88A8) + vlan(100, 0x8100, 5) + vlan(200, 0x86DD)
                                + ipv6(17) + udp(1000, 2000)))], seq=1),
        flow_sample([(1, header(eth(50) + bytes.fromhex('aaaa03000000') + b'\x08\x00'
                                + ipv4(17) + udp(68, 67)))], seq=2),
        flow_sample([(1, header(eth(0x8847) + struct.pack('>II', 16000 << 12 | 64,
                                                           17000 << 12 | 0x100 | 64)
                                + ipv4(6) + tcp(179, 40000)))], seq=3),
        flow_sample([(1, header(eth(0x8864) + pppoe + b'\x21' + ipv4(17) + udp(500, 4500)))],
                    seq=4),
        flow_sample([(1, header(eth(0x0806, b'\xff' * 6) + arp))], seq=5),
        flow_sample([(1, header(eth(50) + bytes.fromhex('424203') + bytes(35)))], seq=6),
    ])
    v['y_synth_headers_l3'] = dgram([
        flow_sample([(1, header(ipv6(0, plen=40) + bytes.fromhex('2b00000000000000')
                                + bytes.fromhex('2c00000000000000')
                                + bytes.fromhex('1100000100000007') + udp(4000, 4001),
                                proto=12))], seq=1),
        flow_sample([(1, header(ipv6(44, plen=40) + bytes.fromhex('0600032000000007')
                                + tcp(1, 2), proto=12))], seq=2),
        flow_sample([(1, header(eth(0x0800) + ipv4(6, frag=0x2000 | 185) + tcp(1, 2)))],
                    seq=3),
        flow_sample([(1, header(eth(0x0800) + ipv4(1, tos=0xB9) + bytes.fromhex(
            '0800f7ff00010001')))], seq=4),
        flow_sample([(1, header(eth(0x86DD) + ipv6(58, tc=0xB8, flow=0x12345)
                                + bytes.fromhex('8000000000010001')))], seq=5),
        flow_sample([(1, header(b'\xff\x03\x00\x21' + ipv4(17) + udp(1, 2), proto=7))],
                    seq=6),
        flow_sample([(1, header(ipv4(4) + ipv4(17, '172.16.1.1', '172.16.1.2') + udp(9, 10),
                                proto=11))], seq=7),
    ])
    v['y_synth_sampled_structs'] = dgram([flow_sample([
        (2, X().u32(1518).fixed(MAC_S).fixed(MAC_D).u32(0x0800)),
        (3, X().u32(1500, 6).ip4('10.0.0.1').ip4('10.0.0.2').u32(1234, 80, 0x18, 0)),
        (4, X().u32(1280, 17).ip6('2001:db8::1').ip6('2001:db8::2').u32(53, 5353, 0, 0)),
    ])])
    v['y_synth_unknown'] = dgram([
        bytes(X().rec(4300 << 12 | 1002, X().u32(1, 2, 3)).b),
        flow_sample([(9999, X().u32(1)), (5703 << 12 | 1, X().u32(1, 2)), (1001, switch()),
                     (2207, b'')]),
        bytes(X().rec(77, b'').b),
    ])
    v['y_synth_truncated_header'] = dgram([flow_sample([
        (1, header((eth(0x8100) + vlan(10, 0x86DD) + ipv6(6) + tcp(443, 50000))[:64],
                   frame=1518, stripped=4)),
    ])])
    v['y_synth_grown_record'] = dgram([flow_sample([
        (1001, X().u32(10, 1, 20, 2, 0xdead, 0xbeef)),
        (1002, X().u32(1).ip4('10.0.0.254').u32(24, 16, 99)),
    ])])
    v['y_synth_trailing'] = dgram([flow_sample([(1001, switch())])]) + b'\xde\xad\xbe\xef' * 4
    return v


# ---- n_ vectors ----

def negatives(cap):
    v = {}
    good = dgram([flow_sample([(1, header(eth(0x0800) + ipv4(6) + tcp(1, 2))),
                               (1001, switch())])])
    v['n_empty'] = b''
    v['n_short_3'] = b'\0\0\0'
    v['n_sflow_v2'] = X().u32(2, 1).ip4('10.0.0.1').u32(1, 100, 1, 1, 1).b
    v['n_sflow_v4'] = X().u32(4, 1).ip4('10.0.0.1').u32(1, 100, 1, 1, 1).b
    v['n_bad_agent_type'] = X().u32(5, 3).ip4('10.0.0.1').u32(0, 1, 100, 0).b
    v['n_header_cut'] = good[:20]
    v['n_cut_mid_sample'] = good[:60]
    v['n_cut_mid_record'] = good[:len(good) - 10]
    v['n_num_samples_lies'] = dgram([flow_sample([(1001, switch())])], nsamples=0xFFFFFFFF)
    s = bytearray(flow_sample([(1001, switch())]))
    s[4:8] = struct.pack('>I', 0x7FFFFFF0)
    v['n_sample_len_lies'] = dgram([bytes(s)])
    r = bytearray(flow_sample([(1001, switch())]))
    r[8 + 28 + 4 + 4:8 + 28 + 4 + 8] = struct.pack('>I', 400)
    v['n_record_len_lies'] = dgram([bytes(r)])
    v['n_record_count_lies'] = dgram([bytes(X().rec(1, X().u32(1, 3, 100, 1000, 0, 3, 4)
                                                    .u32(0x40000001).rec(1001, switch())).b)])
    v['n_short_sample'] = dgram([bytes(X().rec(1, X().u32(1, 2, 3)).b)])
    v['n_short_record'] = dgram([flow_sample([(1001, X().u32(1, 2))])])
    v['n_aspath_overflow'] = dgram([flow_sample([
        (1003, X().u32(1).ip4('1.1.1.1').u32(1, 2, 3).u32(0x20000000, 2, 0x40000000).u32(0, 0))])])
    v['n_communities_overflow'] = dgram([flow_sample([
        (1003, X().u32(0).u32(1, 2, 3).u32(0).u32(0x40000000).u32(7))])])
    v['n_header_len_lies'] = dgram([flow_sample([(1, X().u32(1, 64, 4, 0xFFFFFFFF, 0))])])
    v['n_bad_nexthop_type'] = dgram([flow_sample([(1002, X().u32(9, 0, 0, 0))])])
    v['n_counter_record_len_lies'] = dgram([bytes(X().rec(2, X().u32(1, 3, 1).u32(1, 0x1000)
                                                          .u32(3, 0)).b)])
    v['n_sample_past_end'] = dgram([flow_sample([(1001, switch())]), struct.pack('>II', 1, 8)])
    v['n_tcpdump_print_segv'] = bytes.fromhex('0000000500000001')
    nf = [p for p in cap['tcpdump-sflow_multiple_counter_30_pdus.pcap'] if p[:2] == b'\0\x05']
    v['n_netflow_v5'] = nf[0]
    return v


def captured(cap):
    v = {}
    a = lambda n: cap['akvorado-data-' + n + '.pcap'][0]
    v['y_akvorado_1140'] = a('1140')
    v['y_akvorado_multiple_interfaces'] = a('multiple-interfaces')
    v['y_akvorado_expanded_sample'] = a('sflow-expanded-sample')
    v['y_akvorado_ipv4_data'] = a('sflow-ipv4-data')
    v['y_akvorado_raw_ipv4'] = a('sflow-raw-ipv4')
    ci = cap['cistern-samples.pcap']
    v['y_cistern_counter'] = ci[0]
    v['y_cistern_flow'] = ci[1]
    v['y_cistern_flow_trailing'] = ci[2]
    v['y_cistern_flow_512'] = ci[3]
    ov = cap['overflowd-sflow.pcap']
    v['y_overflowd_flow'] = next(p for p in ov if set(sample_tags(p)) == {1})
    v['y_overflowd_mixed'] = next(p for p in ov if {1, 2} <= set(sample_tags(p)))
    td = [p for p in cap['tcpdump-sflow_multiple_counter_30_pdus.pcap'] if p[:4] == b'\0\0\0\5']
    v['y_tcpdump_expanded_counters'] = td[0]
    v['y_tcpdump_host_counters'] = next(p for p in td if 2 in sample_tags(p))
    fd = cap['fabric-demo.pcap']
    v['y_fabric_flow'] = next(p for p in fd if set(sample_tags(p)) == {1})
    v['y_fabric_counter'] = next(p for p in fd if 2 in sample_tags(p) or 4 in sample_tags(p))
    return v


def main():
    names = ['akvorado-data-1140.pcap', 'akvorado-data-multiple-interfaces.pcap',
             'akvorado-data-sflow-expanded-sample.pcap', 'akvorado-data-sflow-ipv4-data.pcap',
             'akvorado-data-sflow-raw-ipv4.pcap', 'cistern-samples.pcap',
             'overflowd-sflow.pcap', 'tcpdump-sflow_multiple_counter_30_pdus.pcap',
             'fabric-demo.pcap']
    cap = {n: pcap_payloads(n) for n in names}
    vecs = {}
    vecs.update(captured(cap))
    vecs.update(synth())
    vecs.update(negatives(cap))
    for name, raw in sorted(vecs.items()):
        with open(os.path.join(HERE, name + '.bin'), 'wb') as f:
            f.write(bytes(raw))
        print('%-36s %5d bytes' % (name + '.bin', len(raw)))


if __name__ == '__main__':
    main()
