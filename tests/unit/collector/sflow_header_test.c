/* sflow_header_test.c - the sampled-header parser.
 *
 * Hand-built packets through col__header_parse(): Ethernet, QinQ, LLC and
 * SNAP, MPLS, PPPoE with and without PPP protocol-field compression, PPP
 * in HDLC framing, raw IPv4/IPv6, IPv4 options and fragments, IPv6
 * extension headers and fragments, TCP (9 flag bits), UDP, ICMP, ICMPv6,
 * ARP, VXLAN and IP-in-IP inner headers, and a packet cut at every length
 * (each prefix in its own heap block so sanitizers see overreads).
 */
#include <stdlib.h>
#include <string.h>

#include "sflow_build.h"
#include "sflow_decode.h"
#include "test.h"

static sfa_dgram dg;
static sfa_sample smp;
static col_decode_stats st;
static sb pk;

static void
parse(uint32_t proto, const uint8_t *p, size_t n)
{
    dg.nfields = 0;
    dg.arena_used = 0;
    dg.status = 0;
    smp = (sfa_sample){0};
    col__header_parse(proto, p, (uint32_t)n, &dg, &smp, &st);
}

static void
parse_pk(uint32_t proto)
{
    parse(proto, pk.buf, pk.len);
}

static uint64_t
u(unsigned id)
{
    return sb_u(&dg, &smp, id);
}

static int
has(unsigned id)
{
    return sb_field(&dg, &smp, id) != NULL;
}

static int
stack_is(const char *s)
{
    return sb_s(&dg, &smp, SFA_F_STACK, s);
}

/* ---- packet pieces (raw, no XDR padding) ---- */

static void
put(const void *p, size_t n)
{
    sb_raw(&pk, p, n);
}

static void
put16(uint32_t v)
{
    uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    put(x, 2);
}

static void
put32(uint32_t v)
{
    put16(v >> 16);
    put16(v & 0xFFFF);
}

static const uint8_t mac_d[6] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06};
static const uint8_t mac_s[6] = {0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
static const uint8_t ip_s[4] = {192, 0, 2, 1}, ip_d[4] = {198, 51, 100, 2};
static const uint8_t ip6_s[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t ip6_d[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

static void
eth(uint32_t type)
{
    put(mac_d, 6);
    put(mac_s, 6);
    put16(type);
}

static void
ip4(uint32_t proto, uint32_t frag, uint32_t ihl_words)
{
    uint8_t h[24] = {0};
    h[0] = (uint8_t)(0x40 | ihl_words);
    h[1] = 0xB9; /* DSCP 46, ECN 1 */
    h[2] = 0x05;
    h[3] = 0xDC; /* 1500 */
    h[6] = (uint8_t)(frag >> 8);
    h[7] = (uint8_t)frag;
    h[8] = 63;
    h[9] = (uint8_t)proto;
    memcpy(h + 12, ip_s, 4);
    memcpy(h + 16, ip_d, 4);
    put(h, ihl_words * 4);
}

static void
ip6(uint32_t nh, uint32_t plen)
{
    uint8_t h[40] = {0};
    h[0] = 0x6B; /* traffic class 0xB9 over the nibbles, flow label 0x12345 */
    h[1] = 0x91;
    h[2] = 0x23;
    h[3] = 0x45;
    h[4] = (uint8_t)(plen >> 8);
    h[5] = (uint8_t)plen;
    h[6] = (uint8_t)nh;
    h[7] = 64;
    memcpy(h + 8, ip6_s, 16);
    memcpy(h + 24, ip6_d, 16);
    put(h, 40);
}

static void
tcp(uint32_t sport, uint32_t dport, uint32_t flags9)
{
    uint8_t h[20] = {0};
    h[0] = (uint8_t)(sport >> 8);
    h[1] = (uint8_t)sport;
    h[2] = (uint8_t)(dport >> 8);
    h[3] = (uint8_t)dport;
    h[12] = (uint8_t)(0x50 | (flags9 >> 8));
    h[13] = (uint8_t)flags9;
    put(h, 20);
}

static void
udp(uint32_t sport, uint32_t dport)
{
    put16(sport);
    put16(dport);
    put16(8);
    put16(0);
}

/* ---- tests ---- */

static void
test_eth_ip_tcp(void)
{
    pk.len = 0;
    eth(0x0800);
    ip4(6, 0x4000, 5);
    tcp(1234, 443, 0x112); /* NS + ACK + SYN */
    parse_pk(1);
    CHECK(stack_is("eth.ip.tcp"), "stack eth.ip.tcp");
    CHECK(sb_a(&dg, &smp, SFA_F_MACSOURCE, mac_s, 6), "macsource");
    CHECK(sb_a(&dg, &smp, SFA_F_MACDESTINATION, mac_d, 6), "macdestination");
    CHECK_EQ(u(SFA_F_ETHERNETPROTOCOL), 0x0800, "ethernetprotocol");
    CHECK(sb_a(&dg, &smp, SFA_F_IPSOURCE, ip_s, 4), "ipsource");
    CHECK(sb_a(&dg, &smp, SFA_F_IPDESTINATION, ip_d, 4), "ipdestination");
    CHECK_EQ(u(SFA_F_IPPROTOCOL), 6, "ipprotocol");
    CHECK_EQ(u(SFA_F_IPTOS), 0xB9, "iptos");
    CHECK_EQ(u(SFA_F_IPDSCP), 46, "ipdscp");
    CHECK_EQ(u(SFA_F_IPECN), 1, "ipecn");
    CHECK_EQ(u(SFA_F_IPTTL), 63, "ipttl");
    CHECK_EQ(u(SFA_F_IPBYTES), 1500, "ipbytes");
    CHECK_EQ(u(SFA_F_IPFLAGS), 2, "ipflags DF");
    CHECK_EQ(u(SFA_F_IPFRAGOFFSET), 0, "ipfragoffset");
    CHECK_EQ(u(SFA_F_TCPSOURCEPORT), 1234, "tcpsourceport");
    CHECK_EQ(u(SFA_F_TCPDESTINATIONPORT), 443, "tcpdestinationport");
    CHECK_EQ(u(SFA_F_TCPFLAGS), 0x112, "tcpflags 9 bits");
    CHECK(!has(SFA_F_VLAN), "no vlan");
    CHECK_EQ(smp.field_count, dg.nfields, "sample field count updated");
    const sfa_field *f = sb_field(&dg, &smp, SFA_F_STACK);
    CHECK(f && f->v.p == dg.arena && dg.arena_used == 10, "stack lives in the arena");
}

static void
test_qinq(void)
{
    pk.len = 0;
    eth(0x88A8);
    put16(5u << 13 | 100);
    put16(0x8100);
    put16(3u << 13 | 200);
    put16(0x86DD);
    ip6(17, 8);
    udp(5000, 53);
    parse_pk(1);
    CHECK(stack_is("eth.vlan.vlan.ip6.udp"), "stack eth.vlan.vlan.ip6.udp");
    CHECK_EQ(u(SFA_F_VLAN), 100, "outer tag is vlan");
    CHECK_EQ(u(SFA_F_PRIORITY), 5, "outer tag priority");
    CHECK_EQ(u(SFA_F_INNERVLAN), 200, "inner vlan");
    CHECK_EQ(u(SFA_F_ETHERNETPROTOCOL), 0x86DD, "EtherType after the tags");
    CHECK(sb_a(&dg, &smp, SFA_F_IP6SOURCE, ip6_s, 16), "ip6source");
    CHECK(sb_a(&dg, &smp, SFA_F_IP6DESTINATION, ip6_d, 16), "ip6destination");
    CHECK_EQ(u(SFA_F_IP6TOS), 0xB9, "ip6tos");
    CHECK_EQ(u(SFA_F_IP6DSCP), 46, "ip6dscp");
    CHECK_EQ(u(SFA_F_IP6ECN), 1, "ip6ecn");
    CHECK_EQ(u(SFA_F_IP6FLOWLABEL), 0x12345, "ip6flowlabel");
    CHECK_EQ(u(SFA_F_IP6TTL), 64, "ip6ttl");
    CHECK_EQ(u(SFA_F_IP6BYTES), 48, "ip6bytes = payload + 40");
    CHECK_EQ(u(SFA_F_IP6NEXTHDR), 17, "ip6nexthdr");
    CHECK_EQ(u(SFA_F_UDPDESTINATIONPORT), 53, "udp port");
}

static void
test_llc(void)
{
    static const uint8_t snap[8] = {0xAA, 0xAA, 0x03, 0, 0, 0, 0x08, 0x00};
    pk.len = 0;
    eth(50);
    put(snap, 8);
    ip4(17, 0, 5);
    udp(1, 2);
    parse_pk(1);
    CHECK(stack_is("eth.llc.ip.udp"), "SNAP: stack eth.llc.ip.udp");
    CHECK_EQ(u(SFA_F_ETHERNETPROTOCOL), 0x0800, "SNAP EtherType");
    CHECK_EQ(u(SFA_F_UDPSOURCEPORT), 1, "udp through SNAP");

    static const uint8_t stp[7] = {0x42, 0x42, 0x03, 0, 0, 0, 0};
    pk.len = 0;
    eth(39);
    put(stp, 7);
    parse_pk(1);
    CHECK(stack_is("eth.llc"), "STP: stack eth.llc");
    CHECK(!has(SFA_F_ETHERNETPROTOCOL), "no EtherType for plain LLC");
}

static void
test_mpls(void)
{
    pk.len = 0;
    eth(0x8847);
    put32(16000u << 12 | 64);
    put32(17000u << 12 | 0x100 | 64);
    ip4(6, 0, 5);
    tcp(1, 2, 0x10);
    parse_pk(1);
    CHECK(stack_is("eth.mpls.ip.tcp"), "stack eth.mpls.ip.tcp");
    const sfa_field *f = sb_field(&dg, &smp, SFA_F_MPLSLABELS);
    CHECK(f && f->type == SFA_T_U32S && f->n == 2 && f->v.p == pk.buf + 14,
          "label stack points at the header words");
    CHECK(sb_a(&dg, &smp, SFA_F_IPSOURCE, ip_s, 4), "ip below the labels");

    pk.len = 0;
    put32(100u << 12 | 0x100);
    ip6(59, 0);
    parse_pk(13);
    CHECK(stack_is("mpls.ip6"), "header protocol 13: mpls.ip6");
    CHECK(!has(SFA_F_IP6NEXTHDR) || u(SFA_F_IP6NEXTHDR) == 59, "no next header");
}

static void
test_pppoe(void)
{
    static const uint8_t pppoe[6] = {0x11, 0x00, 0x00, 0x2a, 0x00, 0x30};
    pk.len = 0;
    eth(0x8864);
    put(pppoe, 6);
    put("\x21", 1); /* compressed protocol field: IPv4 */
    ip4(17, 0, 5);
    udp(67, 68);
    parse_pk(1);
    CHECK(stack_is("eth.pppoe.ppp.ip.udp"), "PPPoE compressed: stack");
    CHECK(sb_a(&dg, &smp, SFA_F_IPDESTINATION, ip_d, 4), "ip after one-byte protocol");
    CHECK_EQ(u(SFA_F_UDPDESTINATIONPORT), 68, "udp after PPP");

    pk.len = 0;
    eth(0x8864);
    put(pppoe, 6);
    put16(0x0057);
    ip6(6, 20);
    tcp(1, 22, 2);
    parse_pk(1);
    CHECK(stack_is("eth.pppoe.ppp.ip6.tcp"), "PPPoE uncompressed IPv6: stack");
    CHECK_EQ(u(SFA_F_TCPDESTINATIONPORT), 22, "tcp after PPP");

    pk.len = 0;
    put("\xff\x03", 2);
    put16(0x0021);
    ip4(1, 0, 5);
    put("\x08\x00\x00\x00\x00\x01\x00\x01", 8);
    parse_pk(7);
    CHECK(stack_is("ppp.ip.icmp"), "PPP in HDLC framing");
    CHECK_EQ(u(SFA_F_ICMPTYPE), 8, "echo request");
}

static void
test_raw_ip(void)
{
    pk.len = 0;
    ip4(1, 0, 6); /* with one word of options */
    put("\x03\x03\x00\x00\x00\x00\x00\x00", 8);
    parse_pk(11);
    CHECK(stack_is("ip.icmp"), "raw IPv4 with options");
    CHECK_EQ(u(SFA_F_ICMPTYPE), 3, "icmp type after options");
    CHECK_EQ(u(SFA_F_ICMPCODE), 3, "icmp code");

    pk.len = 0;
    ip4(6, 0x2000 | 100, 5); /* MF, offset 100 */
    tcp(1, 2, 2);
    parse_pk(11);
    CHECK(stack_is("ip"), "non-first IPv4 fragment has no L4");
    CHECK_EQ(u(SFA_F_IPFRAGOFFSET), 100, "fragment offset");
    CHECK_EQ(u(SFA_F_IPFLAGS), 1, "MF flag");
    CHECK(!has(SFA_F_TCPSOURCEPORT), "no ports on a later fragment");

    /* IPv6: hop-by-hop, routing, first fragment, then UDP. */
    pk.len = 0;
    ip6(0, 40);
    put("\x2b\x00\x00\x00\x00\x00\x00\x00", 8); /* HBH -> routing */
    put("\x2c\x00\x00\x00\x00\x00\x00\x00", 8); /* routing -> fragment */
    put("\x11\x00\x00\x01\x00\x00\x00\x07", 8); /* fragment: offset 0, M -> UDP */
    udp(4000, 4001);
    parse_pk(12);
    CHECK(stack_is("ip6.udp"), "IPv6 extension headers walked");
    CHECK_EQ(u(SFA_F_IP6NEXTHDR), 17, "upper-layer protocol");
    CHECK_EQ(u(SFA_F_IP6FRAGOFFSET), 0, "first fragment");
    const sfa_field *f = sb_field(&dg, &smp, SFA_F_IP6FRAGM);
    CHECK(f && f->type == SFA_T_BOOL && f->v.u == 1, "M flag");
    CHECK_EQ(u(SFA_F_UDPSOURCEPORT), 4000, "udp after extensions");

    pk.len = 0;
    ip6(60, 40);
    put("\x33\x00\x00\x00\x00\x00\x00\x00", 8);                  /* dest opts -> AH */
    put("\x2c\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 12); /* AH (len 1: 12 bytes) */
    put("\x06\x00\x03\x20\x00\x00\x00\x07", 8);                  /* fragment: offset 100 */
    tcp(1, 2, 2);
    parse_pk(12);
    CHECK(stack_is("ip6"), "non-first IPv6 fragment: no L4");
    CHECK_EQ(u(SFA_F_IP6FRAGOFFSET), 100, "IPv6 fragment offset");
    CHECK_EQ(u(SFA_F_IP6NEXTHDR), 6, "next header from the fragment header");
    CHECK(!has(SFA_F_TCPSOURCEPORT), "no ports");

    pk.len = 0;
    ip6(58, 8);
    put("\x80\x00\x00\x00\x00\x01\x00\x01", 8);
    parse_pk(12);
    CHECK(stack_is("ip6.icmp6"), "ICMPv6");
    CHECK_EQ(u(SFA_F_ICMP6TYPE), 128, "echo request v6");
    CHECK(!has(SFA_F_ICMPTYPE), "no ICMPv4 type");
}

static void
test_arp(void)
{
    static const uint8_t arp[28] = {0,   1, 8, 0, 6, 4, 0, 1, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
                                    192, 0, 2, 1, 0, 0, 0, 0, 0,    0,    198,  51,   100,  2};
    pk.len = 0;
    eth(0x0806);
    put(arp, 28);
    parse_pk(1);
    CHECK(stack_is("eth.arp"), "ARP stack");
    CHECK_EQ(u(SFA_F_ARPOPERATION), 1, "ARP request");
    CHECK(sb_a(&dg, &smp, SFA_F_ARPIPSENDER, ip_s, 4), "sender");
    CHECK(sb_a(&dg, &smp, SFA_F_ARPIPTARGET, ip_d, 4), "target");
}

static void
test_tunnels(void)
{
    pk.len = 0;
    eth(0x0800);
    ip4(17, 0, 5);
    udp(55555, 4789);
    put32(0x08000000);
    put32(5000u << 8);
    eth(0x0800);
    ip4(6, 0, 5);
    tcp(80, 40000, 0x18);
    parse_pk(1);
    CHECK(stack_is("eth.ip.udp.vxlan.eth.ip.tcp"), "VXLAN stack");
    CHECK_EQ(u(SFA_F_VXLANVNI), 5000, "vni");
    CHECK_EQ(u(SFA_F_UDPDESTINATIONPORT), 4789, "outer udp");
    CHECK(sb_a(&dg, &smp, SFA_F_MACSOURCE_1, mac_s, 6), "inner mac");
    CHECK(sb_a(&dg, &smp, SFA_F_IPSOURCE_1, ip_s, 4), "inner ipsource.1");
    CHECK_EQ(u(SFA_F_TCPSOURCEPORT_1), 80, "inner tcpsourceport.1");
    CHECK_EQ(u(SFA_F_TCPFLAGS_1), 0x18, "inner tcpflags.1");
    CHECK(!has(SFA_F_TCPSOURCEPORT), "outer has no tcp");
    CHECK_EQ(sb_count(&dg, &smp, SFA_F_IPSOURCE), 1, "one outer ipsource");

    pk.len = 0;
    ip4(4, 0, 5);
    ip4(17, 0, 5);
    udp(1, 2);
    parse_pk(11);
    CHECK(stack_is("ip.ip.udp"), "IP-in-IP stack");
    CHECK_EQ(u(SFA_F_UDPSOURCEPORT_1), 1, "inner udp in .1 keys");
    CHECK_EQ(u(SFA_F_IPPROTOCOL), 4, "outer protocol 4");
    CHECK_EQ(u(SFA_F_IPPROTOCOL_1), 17, "inner protocol 17");
}

static void
test_other_protocols(void)
{
    static const uint8_t junk[32] = {1, 2, 3};
    parse(15, junk, sizeof junk);
    CHECK_EQ(dg.nfields, 0, "802.11 headers stay opaque");
    parse(1, junk, 0);
    CHECK_EQ(dg.nfields, 0, "empty header: nothing");
    pk.len = 0;
    eth(0x0800);
    put("\x60\x00", 2); /* not IPv4 after all */
    put(junk, 30);
    parse_pk(1);
    CHECK(stack_is("eth"), "bad IP version stops at eth");

    dg.nfields = SFA_DGRAM_MAX_FIELDS - 3;
    dg.status = 0;
    smp = (sfa_sample){.field_first = dg.nfields};
    pk.len = 0;
    eth(0x0800);
    col__header_parse(1, pk.buf, (uint32_t)pk.len, &dg, &smp, &st);
    CHECK_EQ(dg.nfields, SFA_DGRAM_MAX_FIELDS - 3, "no room: nothing added");
    CHECK_EQ(dg.status, SFA_ELIMIT, "and ELIMIT set");
}

/* Cut eth.vlan.ip6.tcp (78 bytes) at every length. */
static void
test_truncation(void)
{
    pk.len = 0;
    eth(0x8100);
    put16(10);
    put16(0x86DD);
    ip6(6, 20);
    tcp(1, 2, 2);
    CHECK_EQ(pk.len, 78, "packet is 78 bytes");
    memset(&st, 0, sizeof st);
    int sane = 1;
    for (size_t n = 0; n <= pk.len; n++) {
        uint8_t *p = malloc(n ? n : 1);
        memcpy(p, pk.buf, n);
        parse(1, p, n);
        sane &= dg.status == 0;
        if (n >= 62)
            sane &= u(SFA_F_TCPDESTINATIONPORT) == 2;
        if (n < 58)
            sane &= !has(SFA_F_IP6NEXTHDR);
        free(p);
    }
    CHECK(sane, "every prefix parses to what is present");
    /* Cut inside: 1-13 eth, 14-17 tag, 19-57 IPv6, 59-77 TCP. */
    CHECK_EQ(st.headers_truncated, 13 + 4 + 39 + 19, "cuts inside layers counted");

    /* A cut inside IPv4 options: IP fields, no L4. */
    pk.len = 0;
    ip4(6, 0, 6);
    parse(11, pk.buf, 22);
    CHECK(stack_is("ip"), "IPv4 cut in options");
    CHECK(has(SFA_F_IPSOURCE) && !has(SFA_F_TCPSOURCEPORT), "IP fields only");
}

int
main(void)
{
    test_eth_ip_tcp();
    test_qinq();
    test_llc();
    test_mpls();
    test_pppoe();
    test_raw_ip();
    test_arp();
    test_tunnels();
    test_other_protocols();
    test_truncation();
    return test_done();
}
