/* sflow_flow_test.c - every flow record kind of the decoder.
 *
 * Each known record is built by hand and checked field by field; then
 * every record is cut to every shorter length (must be counted malformed,
 * its fields rolled back, the next record still decoded) and grown by
 * extra bytes at its end (must decode as before). Also: unknown records,
 * record tags in order, sampled_ethernet/ipv4/ipv6 without and with a
 * sampled header, IPv6 next hops, AS paths and lying inner counts.
 */
#include <stdlib.h>
#include <string.h>

#include "sflow_build.h"
#include "sflow_decode.h"
#include "test.h"

static sfa_dgram dg;
static sb b;
static col_decode_stats st;

static const uint8_t ip6a[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a};
static const uint8_t ip6b[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0b};
static const uint8_t mac1[6] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55};
static const uint8_t mac2[6] = {0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb};
static const uint8_t ipa[4] = {10, 1, 2, 3}, ipb[4] = {10, 4, 5, 6};

/* ---- record bodies ---- */

/* Ethernet/IPv4/TCP, 54 bytes, padded to 56 by XDR. */
static const uint8_t pkt_tcp[54] = {
    0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x08, 0x00,
    0x45, 0x00, 0x00, 0x28, 0x00, 0x00, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00, 10,   1,
    2,    3,    10,   4,    5,    6,    0x04, 0xd2, 0x00, 0x50, 0,    0,    0,    1,
    0,    0,    0,    0,    0x50, 0x02, 0xff, 0xff, 0,    0,    0,    0,
};

static void
body_header(sb *r)
{
    sb_u32(r, 1);
    sb_u32(r, 64);
    sb_u32(r, 4);
    sb_opaque(r, pkt_tcp, sizeof pkt_tcp);
}

static void
body_ethernet(sb *r)
{
    sb_u32(r, 1518);
    sb_fixed(r, mac1, 6);
    sb_fixed(r, mac2, 6);
    sb_u32(r, 0x0800);
}

static void
body_ipv4(sb *r)
{
    sb_u32(r, 1500);
    sb_u32(r, 17);
    sb_fixed(r, ipa, 4);
    sb_fixed(r, ipb, 4);
    sb_u32(r, 53);
    sb_u32(r, 5353);
    sb_u32(r, 0);
    sb_u32(r, 0xb8);
}

static void
body_ipv6(sb *r)
{
    sb_u32(r, 1280);
    sb_u32(r, 6);
    sb_fixed(r, ip6a, 16);
    sb_fixed(r, ip6b, 16);
    sb_u32(r, 443);
    sb_u32(r, 50000);
    sb_u32(r, 0x12);
    sb_u32(r, 3);
}

static void
body_switch(sb *r)
{
    sb_u32(r, 100);
    sb_u32(r, 1);
    sb_u32(r, 200);
    sb_u32(r, 2);
}

static void
body_router(sb *r)
{
    sb_u32(r, 1);
    sb_fixed(r, ipb, 4);
    sb_u32(r, 24);
    sb_u32(r, 16);
}

static void
body_router6(sb *r)
{
    sb_u32(r, 2);
    sb_fixed(r, ip6a, 16);
    sb_u32(r, 48);
    sb_u32(r, 64);
}

static void
body_gateway(sb *r)
{
    sb_u32(r, 2);
    sb_fixed(r, ip6b, 16);
    sb_u32(r, 65000);
    sb_u32(r, 64512);
    sb_u32(r, 64513);
    sb_u32(r, 2); /* segments */
    sb_u32(r, 2); /* AS_SEQUENCE */
    sb_u32(r, 2);
    sb_u32(r, 174);
    sb_u32(r, 3356);
    sb_u32(r, 1); /* AS_SET */
    sb_u32(r, 1);
    sb_u32(r, 15169);
    sb_u32(r, 3); /* communities */
    sb_u32(r, 0xFDE80001);
    sb_u32(r, 0xFDE80002);
    sb_u32(r, 0xFFFFFF01);
    sb_u32(r, 150);
}

static void
body_user(sb *r)
{
    sb_u32(r, 106);
    sb_str(r, "alice");
    sb_u32(r, 0);
    sb_str(r, "bob@example.org");
}

static void
body_url(sb *r)
{
    sb_u32(r, 2);
    sb_str(r, "GET /index.html HTTP/1.1");
    sb_str(r, "example.org");
}

static void
body_mpls(sb *r)
{
    sb_u32(r, 1);
    sb_fixed(r, ipa, 4);
    sb_u32(r, 2);
    sb_u32(r, 16000u << 12);
    sb_u32(r, 17000u << 12 | 0x100);
    sb_u32(r, 1);
    sb_u32(r, 18000u << 12 | 0x100);
}

static void
body_nat(sb *r)
{
    sb_u32(r, 1);
    sb_fixed(r, ipa, 4);
    sb_u32(r, 2);
    sb_fixed(r, ip6b, 16);
}

static void
body_mpls_tunnel(sb *r)
{
    sb_str(r, "lsp-1");
    sb_u32(r, 7);
    sb_u32(r, 5);
}

static void
body_mpls_vc(sb *r)
{
    sb_str(r, "vc-9");
    sb_u32(r, 900);
    sb_u32(r, 3);
}

static void
body_mpls_ftn(sb *r)
{
    sb_str(r, "ftn");
    sb_u32(r, 24);
}

static void
body_mpls_ldp_fec(sb *r)
{
    sb_u32(r, 20);
}

static void
body_vlantunnel(sb *r)
{
    sb_u32(r, 2);
    sb_u32(r, 0x88A80064);
    sb_u32(r, 0x810000C8);
}

static void
body_80211_payload(sb *r)
{
    static const uint8_t p[6] = {1, 2, 3, 4, 5, 6};
    sb_u32(r, 0x000FAC04);
    sb_u32(r, 1);
    sb_u32(r, 100);
    sb_u32(r, 4);
    sb_opaque(r, p, 6);
}

static void
body_80211_rx(sb *r)
{
    sb_str(r, "lab-net");
    sb_fixed(r, mac1, 6);
    sb_u32(r, 4);
    sb_u32(r, 36);
    sb_u64(r, 300000000);
    sb_u32(r, 20);
    sb_u32(r, 30);
    sb_u32(r, 120);
}

static void
body_80211_tx(sb *r)
{
    sb_str(r, "lab-net");
    sb_fixed(r, mac2, 6);
    sb_u32(r, 3);
    sb_u32(r, 2);
    sb_u32(r, 150);
    sb_u32(r, 60);
    sb_u32(r, 11);
    sb_u64(r, 54000000);
    sb_u32(r, 100);
}

static void
body_80211_aggregation(sb *r)
{
    sb_u32(r, 0);
}

static void
body_nat_port(sb *r)
{
    sb_u32(r, 40000);
    sb_u32(r, 8080);
}

static void
body_l2_tunnel(sb *r)
{
    body_ethernet(r);
}

static void
body_ipv4_tunnel(sb *r)
{
    sb_u32(r, 1400);
    sb_u32(r, 47);
    sb_fixed(r, ipa, 4);
    sb_fixed(r, ipb, 4);
    sb_u32(r, 0);
    sb_u32(r, 0);
    sb_u32(r, 0);
    sb_u32(r, 0x20);
}

static void
body_ipv6_tunnel(sb *r)
{
    sb_u32(r, 1400);
    sb_u32(r, 17);
    sb_fixed(r, ip6a, 16);
    sb_fixed(r, ip6b, 16);
    sb_u32(r, 1234);
    sb_u32(r, 4789);
    sb_u32(r, 0);
    sb_u32(r, 0);
}

static void
body_word(sb *r)
{
    sb_u32(r, 5001);
}

static void
body_function(sb *r)
{
    sb_str(r, "ip_rcv_core");
}

static void
body_hw_trap(sb *r)
{
    sb_str(r, "l3_drops");
    sb_str(r, "blackhole_route");
}

static void
body_linux_drop(sb *r)
{
    sb_str(r, "NETFILTER_DROP");
}

static void
body_timestamp(sb *r)
{
    sb_u64(r, 1700000000123456789ull);
}

static void
body_socket4(sb *r)
{
    sb_u32(r, 6);
    sb_fixed(r, ipa, 4);
    sb_fixed(r, ipb, 4);
    sb_u32(r, 22);
    sb_u32(r, 51000);
}

static void
body_socket6(sb *r)
{
    sb_u32(r, 17);
    sb_fixed(r, ip6a, 16);
    sb_fixed(r, ip6b, 16);
    sb_u32(r, 53);
    sb_u32(r, 41000);
}

static void
body_memcache(sb *r)
{
    sb_u32(r, 1);
    sb_u32(r, 2);
    sb_str(r, "user:42");
    sb_u32(r, 1);
    sb_u32(r, 512);
    sb_u32(r, 80);
    sb_u32(r, 1);
}

static void
body_http_v1(sb *r)
{
    sb_u32(r, 2);
    sb_u32(r, 1001);
    sb_str(r, "/a");
    sb_str(r, "h.example");
    sb_str(r, "");
    sb_str(r, "curl/8");
    sb_str(r, "");
    sb_str(r, "text/html");
    sb_u64(r, 4096);
    sb_u32(r, 1500);
    sb_u32(r, 200);
}

static void
body_http(sb *r)
{
    sb_u32(r, 4);
    sb_u32(r, 2000);
    sb_str(r, "/b");
    sb_str(r, "h.example");
    sb_str(r, "https://r.example/");
    sb_str(r, "curl/8");
    sb_str(r, "192.0.2.9");
    sb_str(r, "carol");
    sb_str(r, "application/json");
    sb_u64(r, 300);
    sb_u64(r, 9000);
    sb_u32(r, 2500);
    sb_u32(r, 404);
}

static void
body_app_operation(sb *r)
{
    sb_str(r, "payments");
    sb_str(r, "charge");
    sb_str(r, "card=visa");
    sb_str(r, "ok");
    sb_u64(r, 100);
    sb_u64(r, 200);
    sb_u32(r, 777);
    sb_u32(r, 0);
}

static void
body_app_parent(sb *r)
{
    sb_str(r, "shop");
    sb_str(r, "checkout");
    sb_str(r, "x=1");
}

static void
body_actor(sb *r)
{
    sb_str(r, "svc-a");
}

static void
body_tcp_info(sb *r)
{
    for (uint32_t i = 1; i <= 12; i++)
        sb_u32(r, i * 10);
}

static void
body_entities(sb *r)
{
    sb_u32(r, 3);
    sb_u32(r, 30);
    sb_u32(r, 4);
    sb_u32(r, 40);
}

/* ---- checks ---- */

typedef struct rec_case rec_case;
struct rec_case {
    uint32_t tag;
    void (*body)(sb *r);
    void (*check)(const sfa_sample *s);
    int fixed_prefix_ok; /* a shorter body may still be valid (skipped records) */
};

static void
check_header(const sfa_sample *s)
{
    CHECK_EQ(sb_u(&dg, s, SFA_F_HEADER_PROTOCOL), 1, "0:1 header protocol");
    CHECK_EQ(sb_u(&dg, s, SFA_F_FRAME_LENGTH), 64, "0:1 frame length");
    CHECK_EQ(sb_u(&dg, s, SFA_F_STRIPPED), 4, "0:1 stripped");
    CHECK_EQ(sb_u(&dg, s, SFA_F_HEADER_LENGTH), 54, "0:1 header length");
    CHECK(sb_a(&dg, s, SFA_F_IPSOURCE, ipa, 4), "0:1 ipsource parsed");
    CHECK_EQ(sb_u(&dg, s, SFA_F_TCPDESTINATIONPORT), 80, "0:1 tcp port parsed");
    CHECK(sb_s(&dg, s, SFA_F_STACK, "eth.ip.tcp"), "0:1 stack");
}

static void
check_ethernet(const sfa_sample *s)
{
    CHECK_EQ(sb_u(&dg, s, SFA_F_FRAME_LENGTH), 1518, "0:2 length");
    CHECK(sb_a(&dg, s, SFA_F_MACSOURCE, mac1, 6), "0:2 src mac");
    CHECK(sb_a(&dg, s, SFA_F_MACDESTINATION, mac2, 6), "0:2 dst mac");
    CHECK_EQ(sb_u(&dg, s, SFA_F_ETHERNETPROTOCOL), 0x0800, "0:2 type");
}

static void
check_ipv4(const sfa_sample *s)
{
    CHECK_EQ(sb_u(&dg, s, SFA_F_IPBYTES), 1500, "0:3 length");
    CHECK_EQ(sb_u(&dg, s, SFA_F_IPPROTOCOL), 17, "0:3 protocol");
    CHECK(sb_a(&dg, s, SFA_F_IPSOURCE, ipa, 4), "0:3 src");
    CHECK(sb_a(&dg, s, SFA_F_IPDESTINATION, ipb, 4), "0:3 dst");
    CHECK_EQ(sb_u(&dg, s, SFA_F_UDPSOURCEPORT), 53, "0:3 udp src port");
    CHECK_EQ(sb_u(&dg, s, SFA_F_UDPDESTINATIONPORT), 5353, "0:3 udp dst port");
    CHECK_EQ(sb_u(&dg, s, SFA_F_IPTOS), 0xb8, "0:3 tos");
    CHECK_EQ(sb_u(&dg, s, SFA_F_IPDSCP), 46, "0:3 dscp");
}

static void
check_ipv6(const sfa_sample *s)
{
    CHECK_EQ(sb_u(&dg, s, SFA_F_IP6BYTES), 1280, "0:4 length");
    CHECK_EQ(sb_u(&dg, s, SFA_F_IP6NEXTHDR), 6, "0:4 next header");
    CHECK(sb_a(&dg, s, SFA_F_IP6SOURCE, ip6a, 16), "0:4 src");
    CHECK(sb_a(&dg, s, SFA_F_IP6DESTINATION, ip6b, 16), "0:4 dst");
    CHECK_EQ(sb_u(&dg, s, SFA_F_TCPSOURCEPORT), 443, "0:4 tcp src port");
    CHECK_EQ(sb_u(&dg, s, SFA_F_TCPFLAGS), 0x12, "0:4 tcp flags");
    CHECK_EQ(sb_u(&dg, s, SFA_F_IP6TOS), 3, "0:4 priority");
}

static void
check_switch(const sfa_sample *s)
{
    CHECK_EQ(sb_u(&dg, s, SFA_F_VLANSOURCE), 100, "1001 src vlan");
    CHECK_EQ(sb_u(&dg, s, SFA_F_PRIORITYSOURCE), 1, "1001 src prio");
    CHECK_EQ(sb_u(&dg, s, SFA_F_VLANDESTINATION), 200, "1001 dst vlan");
    CHECK_EQ(sb_u(&dg, s, SFA_F_PRIORITYDESTINATION), 2, "1001 dst prio");
}

static void
check_router(const sfa_sample *s)
{
    const sfa_field *f = sb_field(&dg, s, SFA_F_IPNEXTHOPROUTER);
    CHECK(f && f->type == SFA_T_IP4 && memcmp(f->v.a, ipb, 4) == 0, "1002 v4 next hop");
    CHECK_EQ(sb_u(&dg, s, SFA_F_IPSOURCEMASKBITS), 24, "1002 src mask");
    CHECK_EQ(sb_u(&dg, s, SFA_F_IPDESTINATIONMASKBITS), 16, "1002 dst mask");
}

static void
check_router6(const sfa_sample *s)
{
    const sfa_field *f = sb_field(&dg, s, SFA_F_IPNEXTHOPROUTER);
    CHECK(f && f->type == SFA_T_IP6 && memcmp(f->v.a, ip6a, 16) == 0, "1002 v6 next hop typed IP6");
    CHECK_EQ(sb_u(&dg, s, SFA_F_IPDESTINATIONMASKBITS), 64, "1002 v6 dst mask");
}

static void
check_gateway(const sfa_sample *s)
{
    const sfa_field *f = sb_field(&dg, s, SFA_F_BGPNEXTHOP);
    CHECK(f && f->type == SFA_T_IP6 && memcmp(f->v.a, ip6b, 16) == 0, "1003 v6 next hop");
    CHECK_EQ(sb_u(&dg, s, SFA_F_BGPAS), 65000, "1003 as");
    CHECK_EQ(sb_u(&dg, s, SFA_F_BGPSOURCEAS), 64512, "1003 src as");
    CHECK_EQ(sb_u(&dg, s, SFA_F_BGPSOURCEPEERAS), 64513, "1003 src peer as");
    f = sb_field(&dg, s, SFA_F_BGPDESTINATIONASPATH);
    CHECK(f && f->type == SFA_T_ASPATH && f->n == 2, "1003 AS path, 2 segments");
    CHECK(f && f->v.p[3] == 2 && f->v.p[7] == 2, "1003 AS path points at the first segment");
    CHECK_EQ(sb_u(&dg, s, SFA_F_BGPDESTINATIONPEERAS), 174, "1003 peer as = first ASN");
    CHECK_EQ(sb_u(&dg, s, SFA_F_BGPDESTINATIONAS), 15169, "1003 dst as = last ASN");
    f = sb_field(&dg, s, SFA_F_BGPCOMMUNITIES);
    CHECK(f && f->type == SFA_T_U32S && f->n == 3 && f->v.p[0] == 0xFD && f->v.p[11] == 0x01,
          "1003 communities as wire words");
    CHECK_EQ(sb_u(&dg, s, SFA_F_BGPLOCALPREF), 150, "1003 localpref");
}

static void
check_user(const sfa_sample *s)
{
    CHECK_EQ(sb_u(&dg, s, SFA_F_USER_SRC_CHARSET), 106, "1004 src charset");
    CHECK(sb_s(&dg, s, SFA_F_USER_SRC, "alice"), "1004 src user");
    CHECK_EQ(sb_u(&dg, s, SFA_F_USER_DST_CHARSET), 0, "1004 dst charset");
    CHECK(sb_s(&dg, s, SFA_F_USER_DST, "bob@example.org"), "1004 dst user");
}

static void
check_url(const sfa_sample *s)
{
    CHECK_EQ(sb_u(&dg, s, SFA_F_URL_DIRECTION), 2, "1005 direction");
    CHECK(sb_s(&dg, s, SFA_F_URL, "GET /index.html HTTP/1.1"), "1005 url");
    CHECK(sb_s(&dg, s, SFA_F_URL_HOST, "example.org"), "1005 host");
}

static void
check_mpls(const sfa_sample *s)
{
    CHECK(sb_a(&dg, s, SFA_F_MPLS_NEXTHOP, ipa, 4), "1006 next hop");
    const sfa_field *f = sb_field(&dg, s, SFA_F_MPLS_IN_LABELS);
    CHECK(f && f->type == SFA_T_U32S && f->n == 2, "1006 in labels");
    f = sb_field(&dg, s, SFA_F_MPLS_OUT_LABELS);
    CHECK(f && f->n == 1 && f->v.p[0] == 0x04 && f->v.p[1] == 0x65 && f->v.p[2] == 0x01,
          "1006 out label word");
}

static void
check_nat(const sfa_sample *s)
{
    const sfa_field *f = sb_field(&dg, s, SFA_F_NAT_SRC);
    CHECK(f && f->type == SFA_T_IP4 && memcmp(f->v.a, ipa, 4) == 0, "1007 src v4");
    f = sb_field(&dg, s, SFA_F_NAT_DST);
    CHECK(f && f->type == SFA_T_IP6 && memcmp(f->v.a, ip6b, 16) == 0, "1007 dst v6");
}

static void
check_mpls_tunnel(const sfa_sample *s)
{
    CHECK(sb_s(&dg, s, SFA_F_MPLS_TUNNEL_NAME, "lsp-1"), "1008 name");
    CHECK_EQ(sb_u(&dg, s, SFA_F_MPLS_TUNNEL_ID), 7, "1008 id");
    CHECK_EQ(sb_u(&dg, s, SFA_F_MPLS_TUNNEL_COS), 5, "1008 cos");
}

static void
check_mpls_vc(const sfa_sample *s)
{
    CHECK(sb_s(&dg, s, SFA_F_MPLS_VC_NAME, "vc-9"), "1009 name");
    CHECK_EQ(sb_u(&dg, s, SFA_F_MPLS_VC_ID), 900, "1009 id");
    CHECK_EQ(sb_u(&dg, s, SFA_F_MPLS_VC_COS), 3, "1009 cos");
}

static void
check_mpls_ftn(const sfa_sample *s)
{
    CHECK(sb_s(&dg, s, SFA_F_MPLS_FTN_DESCR, "ftn"), "1010 descr");
    CHECK_EQ(sb_u(&dg, s, SFA_F_MPLS_FTN_MASK), 24, "1010 mask");
}

static void
check_mpls_ldp_fec(const sfa_sample *s)
{
    CHECK_EQ(sb_u(&dg, s, SFA_F_MPLS_FEC_PREFIX_LEN), 20, "1011 prefix length");
}

static void
check_vlantunnel(const sfa_sample *s)
{
    const sfa_field *f = sb_field(&dg, s, SFA_F_VLAN_STACK);
    CHECK(f && f->type == SFA_T_U32S && f->n == 2 && f->v.p[0] == 0x88, "1012 tag stack");
}

static void
check_80211_payload(const sfa_sample *s)
{
    CHECK_EQ(sb_u(&dg, s, SFA_F_WIFI_CIPHER_SUITE), 0x000FAC04, "1013 cipher");
    CHECK_EQ(sb_u(&dg, s, SFA_F_WIFI_PAYLOAD_LENGTH), 100, "1013 frame length");
    const sfa_field *f = sb_field(&dg, s, SFA_F_WIFI_PAYLOAD);
    CHECK(f && f->type == SFA_T_BIN && f->n == 6 && f->v.p[5] == 6, "1013 payload bytes");
}

static void
check_80211_rx(const sfa_sample *s)
{
    CHECK(sb_s(&dg, s, SFA_F_WIFI_SSID, "lab-net"), "1014 ssid");
    CHECK(sb_a(&dg, s, SFA_F_WIFI_BSSID, mac1, 6), "1014 bssid");
    CHECK_EQ(sb_u(&dg, s, SFA_F_WIFI_VERSION), 4, "1014 version");
    CHECK_EQ(sb_u(&dg, s, SFA_F_WIFI_CHANNEL), 36, "1014 channel");
    CHECK_EQ(sb_u(&dg, s, SFA_F_WIFI_SPEED), 300000000, "1014 speed 64-bit");
    CHECK_EQ(sb_u(&dg, s, SFA_F_WIFI_RSNI), 20, "1014 rsni");
    CHECK_EQ(sb_u(&dg, s, SFA_F_WIFI_RCPI), 30, "1014 rcpi");
    CHECK_EQ(sb_u(&dg, s, SFA_F_WIFI_DURATION), 120, "1014 duration");
}

static void
check_80211_tx(const sfa_sample *s)
{
    CHECK(sb_a(&dg, s, SFA_F_WIFI_BSSID, mac2, 6), "1015 bssid");
    CHECK_EQ(sb_u(&dg, s, SFA_F_WIFI_TRANSMISSIONS), 2, "1015 transmissions");
    CHECK_EQ(sb_u(&dg, s, SFA_F_WIFI_RETRANS_DURATION), 60, "1015 retrans duration");
    CHECK_EQ(sb_u(&dg, s, SFA_F_WIFI_CHANNEL), 11, "1015 channel");
    CHECK_EQ(sb_u(&dg, s, SFA_F_WIFI_SPEED), 54000000, "1015 speed");
    CHECK_EQ(sb_u(&dg, s, SFA_F_WIFI_POWER), 100, "1015 power");
}

static void
check_none(const sfa_sample *s)
{
    CHECK_EQ(s->field_count, 0, "skipped record adds no fields");
}

static void
check_nat_port(const sfa_sample *s)
{
    CHECK_EQ(sb_u(&dg, s, SFA_F_NAT_SRC_PORT), 40000, "1020 src port");
    CHECK_EQ(sb_u(&dg, s, SFA_F_NAT_DST_PORT), 8080, "1020 dst port");
}

static void
check_l2_egress(const sfa_sample *s)
{
    CHECK_EQ(sb_u(&dg, s, SFA_F_TUN_EGRESS_FRAMELENGTH), 1518, "1021 length");
    CHECK(sb_a(&dg, s, SFA_F_TUN_EGRESS_MACSOURCE, mac1, 6), "1021 src mac");
    CHECK(sb_a(&dg, s, SFA_F_TUN_EGRESS_MACDESTINATION, mac2, 6), "1021 dst mac");
    CHECK_EQ(sb_u(&dg, s, SFA_F_TUN_EGRESS_ETHERNETPROTOCOL), 0x0800, "1021 type");
    CHECK(sb_field(&dg, s, SFA_F_MACSOURCE) == NULL, "1021 does not pose as the packet");
}

static void
check_l2_ingress(const sfa_sample *s)
{
    CHECK(sb_a(&dg, s, SFA_F_TUN_INGRESS_MACSOURCE, mac1, 6), "1022 src mac");
    CHECK_EQ(sb_u(&dg, s, SFA_F_TUN_INGRESS_ETHERNETPROTOCOL), 0x0800, "1022 type");
}

static void
check_ipv4_egress(const sfa_sample *s)
{
    CHECK_EQ(sb_u(&dg, s, SFA_F_TUN_EGRESS_IPPROTOCOL), 47, "1023 protocol");
    CHECK(sb_a(&dg, s, SFA_F_TUN_EGRESS_IPSOURCE, ipa, 4), "1023 src");
    CHECK(sb_a(&dg, s, SFA_F_TUN_EGRESS_IPDESTINATION, ipb, 4), "1023 dst");
    CHECK_EQ(sb_u(&dg, s, SFA_F_TUN_EGRESS_IPTOS), 0x20, "1023 tos");
}

static void
check_ipv4_ingress(const sfa_sample *s)
{
    CHECK_EQ(sb_u(&dg, s, SFA_F_TUN_INGRESS_IPBYTES), 1400, "1024 length");
    CHECK(sb_a(&dg, s, SFA_F_TUN_INGRESS_IPSOURCE, ipa, 4), "1024 src");
}

static void
check_ipv6_egress(const sfa_sample *s)
{
    const sfa_field *f = sb_field(&dg, s, SFA_F_TUN_EGRESS_IPSOURCE);
    CHECK(f && f->type == SFA_T_IP6 && memcmp(f->v.a, ip6a, 16) == 0, "1025 src v6");
    CHECK_EQ(sb_u(&dg, s, SFA_F_TUN_EGRESS_DESTINATIONPORT), 4789, "1025 dst port");
}

static void
check_ipv6_ingress(const sfa_sample *s)
{
    const sfa_field *f = sb_field(&dg, s, SFA_F_TUN_INGRESS_IPDESTINATION);
    CHECK(f && f->type == SFA_T_IP6 && memcmp(f->v.a, ip6b, 16) == 0, "1026 dst v6");
    CHECK_EQ(sb_u(&dg, s, SFA_F_TUN_INGRESS_SOURCEPORT), 1234, "1026 src port");
}

#define CHECK_WORD(fn, id, what)                                                                   \
    static void fn(const sfa_sample *s)                                                            \
    {                                                                                              \
        CHECK_EQ(sb_u(&dg, s, (id)), 5001, what);                                                  \
    }
CHECK_WORD(check_decap_egress, SFA_F_DECAP_EGRESS_OFFSET, "1027 offset")
CHECK_WORD(check_decap_ingress, SFA_F_DECAP_INGRESS_OFFSET, "1028 offset")
CHECK_WORD(check_vni_egress, SFA_F_VNI_EGRESS, "1029 vni")
CHECK_WORD(check_vni_ingress, SFA_F_VNI_INGRESS, "1030 vni")
CHECK_WORD(check_egress_queue, SFA_F_QUEUEINDEX, "1036 queue")
CHECK_WORD(check_transit, SFA_F_TRANSITDELAY, "1039 delay")
CHECK_WORD(check_queue, SFA_F_QUEUEDEPTH, "1040 depth")

static void
check_function(const sfa_sample *s)
{
    CHECK(sb_s(&dg, s, SFA_F_FUNCTION, "ip_rcv_core"), "1038 symbol");
}

static void
check_hw_trap(const sfa_sample *s)
{
    CHECK(sb_s(&dg, s, SFA_F_HW_TRAP_GROUP, "l3_drops"), "1041 group");
    CHECK(sb_s(&dg, s, SFA_F_HW_TRAP, "blackhole_route"), "1041 trap");
}

static void
check_linux_drop(const sfa_sample *s)
{
    CHECK(sb_s(&dg, s, SFA_F_LINUX_DROP_REASON, "NETFILTER_DROP"), "1042 reason");
}

static void
check_timestamp(const sfa_sample *s)
{
    CHECK(sb_u(&dg, s, SFA_F_TIMESTAMP_NS) == 1700000000123456789ull, "1043 nanoseconds");
}

static void
check_socket4(const sfa_sample *s)
{
    CHECK_EQ(sb_u(&dg, s, SFA_F_SOCKET_PROTOCOL), 6, "2100 protocol");
    CHECK(sb_a(&dg, s, SFA_F_SOCKET_LOCAL_IP, ipa, 4), "2100 local");
    CHECK(sb_a(&dg, s, SFA_F_SOCKET_REMOTE_IP, ipb, 4), "2100 remote");
    CHECK_EQ(sb_u(&dg, s, SFA_F_SOCKET_LOCAL_PORT), 22, "2100 local port");
    CHECK_EQ(sb_u(&dg, s, SFA_F_SOCKET_REMOTE_PORT), 51000, "2100 remote port");
}

static void
check_socket6(const sfa_sample *s)
{
    const sfa_field *f = sb_field(&dg, s, SFA_F_SOCKET_LOCAL_IP);
    CHECK(f && f->type == SFA_T_IP6 && memcmp(f->v.a, ip6a, 16) == 0, "2101 local v6");
    CHECK_EQ(sb_u(&dg, s, SFA_F_SOCKET_REMOTE_PORT), 41000, "2101 remote port");
}

static void
check_proxy4(const sfa_sample *s)
{
    CHECK(sb_a(&dg, s, SFA_F_PROXY_REMOTE_IP, ipb, 4), "2102 remote");
    CHECK_EQ(sb_u(&dg, s, SFA_F_PROXY_LOCAL_PORT), 22, "2102 local port");
}

static void
check_proxy6(const sfa_sample *s)
{
    const sfa_field *f = sb_field(&dg, s, SFA_F_PROXY_REMOTE_IP);
    CHECK(f && f->type == SFA_T_IP6 && memcmp(f->v.a, ip6b, 16) == 0, "2103 remote v6");
}

static void
check_memcache(const sfa_sample *s)
{
    CHECK_EQ(sb_u(&dg, s, SFA_F_MEMCACHE_CMD), 2, "2200 cmd");
    CHECK(sb_s(&dg, s, SFA_F_MEMCACHE_KEY, "user:42"), "2200 key");
    CHECK_EQ(sb_u(&dg, s, SFA_F_MEMCACHE_VALUE_BYTES), 512, "2200 value bytes");
    CHECK_EQ(sb_u(&dg, s, SFA_F_MEMCACHE_STATUS), 1, "2200 status");
}

static void
check_http_v1(const sfa_sample *s)
{
    CHECK_EQ(sb_u(&dg, s, SFA_F_HTTP_METHOD), 2, "2201 method");
    CHECK(sb_s(&dg, s, SFA_F_HTTP_URI, "/a"), "2201 uri");
    CHECK(sb_field(&dg, s, SFA_F_HTTP_REFERER) == NULL, "2201 empty referer left out");
    CHECK(sb_s(&dg, s, SFA_F_HTTP_MIME_TYPE, "text/html"), "2201 mime type");
    CHECK_EQ(sb_u(&dg, s, SFA_F_HTTP_RESP_BYTES), 4096, "2201 bytes");
    CHECK_EQ(sb_u(&dg, s, SFA_F_HTTP_STATUS), 200, "2201 status");
    CHECK(sb_field(&dg, s, SFA_F_HTTP_XFF) == NULL, "2201 has no xff");
}

static void
check_http(const sfa_sample *s)
{
    CHECK(sb_s(&dg, s, SFA_F_HTTP_XFF, "192.0.2.9"), "2206 xff");
    CHECK(sb_s(&dg, s, SFA_F_HTTP_AUTHUSER, "carol"), "2206 authuser");
    CHECK_EQ(sb_u(&dg, s, SFA_F_HTTP_REQ_BYTES), 300, "2206 req bytes");
    CHECK_EQ(sb_u(&dg, s, SFA_F_HTTP_RESP_BYTES), 9000, "2206 resp bytes");
    CHECK_EQ(sb_u(&dg, s, SFA_F_HTTP_DURATION_US), 2500, "2206 duration");
    CHECK_EQ(sb_u(&dg, s, SFA_F_HTTP_STATUS), 404, "2206 status");
}

static void
check_app_operation(const sfa_sample *s)
{
    CHECK(sb_s(&dg, s, SFA_F_APP_NAME, "payments"), "2202 application");
    CHECK(sb_s(&dg, s, SFA_F_APP_STATUS_DESCR, "ok"), "2202 status descr");
    CHECK_EQ(sb_u(&dg, s, SFA_F_APP_RESP_BYTES), 200, "2202 resp bytes");
    CHECK_EQ(sb_u(&dg, s, SFA_F_APP_DURATION_US), 777, "2202 duration");
}

static void
check_app_parent(const sfa_sample *s)
{
    CHECK(sb_s(&dg, s, SFA_F_APP_PARENT_OPERATION, "checkout"), "2203 operation");
    CHECK(sb_s(&dg, s, SFA_F_APP_PARENT_ATTRIBUTES, "x=1"), "2203 attributes");
}

static void
check_initiator(const sfa_sample *s)
{
    CHECK(sb_s(&dg, s, SFA_F_APP_INITIATOR, "svc-a"), "2204 actor");
}

static void
check_target(const sfa_sample *s)
{
    CHECK(sb_s(&dg, s, SFA_F_APP_TARGET, "svc-a"), "2205 actor");
}

static void
check_tcp_info(const sfa_sample *s)
{
    CHECK_EQ(sb_u(&dg, s, SFA_F_TCPINFODIRECTION), 10, "2209 dir");
    CHECK_EQ(sb_u(&dg, s, SFA_F_TCPRTT), 80, "2209 rtt");
    CHECK_EQ(sb_u(&dg, s, SFA_F_TCPRTTMIN), 120, "2209 min rtt");
}

static void
check_entities(const sfa_sample *s)
{
    CHECK_EQ(sb_u(&dg, s, SFA_F_ENTITY_SRC_CLASS), 3, "2210 src class");
    CHECK_EQ(sb_u(&dg, s, SFA_F_ENTITY_DST_INDEX), 40, "2210 dst index");
}

static const rec_case cases[] = {
    {1, body_header, check_header, 0},
    {2, body_ethernet, check_ethernet, 0},
    {3, body_ipv4, check_ipv4, 0},
    {4, body_ipv6, check_ipv6, 0},
    {1001, body_switch, check_switch, 0},
    {1002, body_router, check_router, 0},
    {1002, body_router6, check_router6, 0},
    {1003, body_gateway, check_gateway, 0},
    {1004, body_user, check_user, 0},
    {1005, body_url, check_url, 0},
    {1006, body_mpls, check_mpls, 0},
    {1007, body_nat, check_nat, 0},
    {1008, body_mpls_tunnel, check_mpls_tunnel, 0},
    {1009, body_mpls_vc, check_mpls_vc, 0},
    {1010, body_mpls_ftn, check_mpls_ftn, 0},
    {1011, body_mpls_ldp_fec, check_mpls_ldp_fec, 0},
    {1012, body_vlantunnel, check_vlantunnel, 0},
    {1013, body_80211_payload, check_80211_payload, 0},
    {1014, body_80211_rx, check_80211_rx, 0},
    {1015, body_80211_tx, check_80211_tx, 0},
    {1016, body_80211_aggregation, check_none, 1},
    {1020, body_nat_port, check_nat_port, 0},
    {1021, body_l2_tunnel, check_l2_egress, 0},
    {1022, body_l2_tunnel, check_l2_ingress, 0},
    {1023, body_ipv4_tunnel, check_ipv4_egress, 0},
    {1024, body_ipv4_tunnel, check_ipv4_ingress, 0},
    {1025, body_ipv6_tunnel, check_ipv6_egress, 0},
    {1026, body_ipv6_tunnel, check_ipv6_ingress, 0},
    {1027, body_word, check_decap_egress, 0},
    {1028, body_word, check_decap_ingress, 0},
    {1029, body_word, check_vni_egress, 0},
    {1030, body_word, check_vni_ingress, 0},
    {1036, body_word, check_egress_queue, 0},
    {1038, body_function, check_function, 0},
    {1039, body_word, check_transit, 0},
    {1040, body_word, check_queue, 0},
    {1041, body_hw_trap, check_hw_trap, 0},
    {1042, body_linux_drop, check_linux_drop, 0},
    {1043, body_timestamp, check_timestamp, 0},
    {2100, body_socket4, check_socket4, 0},
    {2101, body_socket6, check_socket6, 0},
    {2102, body_socket4, check_proxy4, 0},
    {2103, body_socket6, check_proxy6, 0},
    {2200, body_memcache, check_memcache, 0},
    {2201, body_http_v1, check_http_v1, 0},
    {2202, body_app_operation, check_app_operation, 0},
    {2203, body_app_parent, check_app_parent, 0},
    {2204, body_actor, check_initiator, 0},
    {2205, body_actor, check_target, 0},
    {2206, body_http, check_http, 0},
    {2209, body_tcp_info, check_tcp_info, 0},
    {2210, body_entities, check_entities, 0},
};

/* ---- harness ---- */

/* One flow sample: an extended_switch record as a sentinel (its 4 fields
 * come first), then the record (tag, first n bytes of body, plus extra
 * zero bytes), then another sentinel (which must survive a bad record). */
static void
build_one(uint32_t tag, const sb *body, size_t n, size_t extra)
{
    static const uint8_t zero[64];
    sb_dgram(&b, 1);
    size_t at = sb_flow_sample(&b);
    sb_u32(&b, 3);
    size_t r = sb_open(&b, 1001);
    body_switch(&b);
    sb_close(&b, r);
    r = sb_open(&b, tag);
    sb_raw(&b, body->buf, n);
    sb_raw(&b, zero, extra);
    sb_close(&b, r);
    r = sb_open(&b, 1040);
    body_word(&b);
    sb_close(&b, r);
    sb_close(&b, at);
}

/* The sample narrowed to the record under test: its fields sit between
 * the switch sentinel's four and the queue-depth sentinel, or (deferred
 * 0:2..0:4 fields) after the queue-depth sentinel. */
static sfa_sample
only_record(const sfa_sample *s)
{
    sfa_sample o = *s;
    uint32_t end = s->field_first + s->field_count, q = s->field_first + 4;
    while (q < end && dg.fields[q].id != SFA_F_QUEUEDEPTH)
        q++;
    if (q > s->field_first + 4 || q == end) {
        o.field_first = s->field_first + 4;
        o.field_count = q - o.field_first;
    } else {
        o.field_first = q + 1;
        o.field_count = end - o.field_first;
    }
    return o;
}

static sb body;

static void
test_each_record(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const rec_case *c = &cases[i];
        char what[120];
        body.len = 0;
        c->body(&body);

        memset(&st, 0, sizeof st);
        build_one(c->tag, &body, body.len, 0);
        snprintf(what, sizeof what, "0:%u decodes", (unsigned)c->tag);
        CHECK_OK(col_sflow_decode(b.buf, b.len, &dg, &st), what);
        const sfa_sample *s = &dg.samples[0];
        snprintf(what, sizeof what, "0:%u record tags in order", (unsigned)c->tag);
        CHECK(s->rec_count == 3 && dg.rec_tags[s->rec_first] == 1001 &&
                  dg.rec_tags[s->rec_first + 1] == c->tag && dg.rec_tags[s->rec_first + 2] == 1040,
              what);
        snprintf(what, sizeof what, "0:%u counted as known", (unsigned)c->tag);
        CHECK(st.flow_records_unknown == 0 && st.records_malformed == 0, what);
        sfa_sample only = only_record(s);
        c->check(&only);
        unsigned nfields = s->field_count;

        /* Grown at the end: same fields. */
        build_one(c->tag, &body, body.len, 12);
        int rc = col_sflow_decode(b.buf, b.len, &dg, &st);
        snprintf(what, sizeof what, "0:%u grown record still decodes, same fields",
                 (unsigned)c->tag);
        CHECK(rc == 0 && dg.samples[0].field_count == nfields, what);

        /* Every shorter length: malformed, rolled back, sentinel decoded. */
        int ok = 1;
        for (size_t n = 0; n < body.len; n += 1) {
            memset(&st, 0, sizeof st);
            build_one(c->tag, &body, n, 0);
            rc = col_sflow_decode(b.buf, b.len, &dg, &st);
            s = &dg.samples[0];
            if (c->fixed_prefix_ok)
                continue;
            if (c->tag == 1 && n >= 16 + 54)
                continue; /* only the XDR padding of the header is missing: accepted */
            ok &= rc == SFA_EFORMAT && st.records_malformed == 1 && st.parse_errors == 1;
            ok &= s->status == SFA_EFORMAT && s->rec_count == 3;
            ok &= s->field_count == 5 && sb_u(&dg, s, SFA_F_VLANDESTINATION) == 200;
            ok &= sb_u(&dg, s, SFA_F_QUEUEDEPTH) == 5001;
        }
        snprintf(what, sizeof what, "0:%u every shorter length is malformed and rolled back",
                 (unsigned)c->tag);
        CHECK(ok, what);
    }
}

static void
test_unknown_records(void)
{
    memset(&st, 0, sizeof st);
    sb_dgram(&b, 1);
    size_t at = sb_flow_sample(&b);
    sb_u32(&b, 4);
    size_t r = sb_open(&b, 9999); /* unknown standard format */
    sb_u32(&b, 1);
    sb_close(&b, r);
    r = sb_open(&b, 5703u << 12 | 1); /* vendor */
    sb_u32(&b, 1);
    sb_u32(&b, 2);
    sb_close(&b, r);
    r = sb_open(&b, 1001);
    body_switch(&b);
    sb_close(&b, r);
    r = sb_open(&b, 2207); /* a flow-space number we do not decode */
    sb_close(&b, r);
    sb_close(&b, at);
    CHECK_OK(col_sflow_decode(b.buf, b.len, &dg, &st), "unknown records are not errors");
    const sfa_sample *s = &dg.samples[0];
    CHECK_EQ(s->rec_count, 4, "all four record tags kept");
    CHECK_EQ(dg.rec_tags[s->rec_first], 9999, "unknown tag first");
    CHECK_EQ(dg.rec_tags[s->rec_first + 1], 5703u << 12 | 1, "vendor tag second");
    CHECK_EQ(dg.rec_tags[s->rec_first + 2], 1001, "known third");
    CHECK_EQ(dg.rec_tags[s->rec_first + 3], 2207, "unknown last");
    CHECK_EQ(st.flow_records_unknown, 3, "three unknown counted");
    CHECK_EQ(st.flow_records[COL_FLOW_EXT_SWITCH], 1, "switch counted");
    CHECK_EQ(s->field_count, 4, "only the switch fields");
}

static void
test_sampled_structs(void)
{
    /* Alone: they provide the packet fields. */
    memset(&st, 0, sizeof st);
    sb_dgram(&b, 1);
    size_t at = sb_flow_sample(&b);
    sb_u32(&b, 3);
    size_t r = sb_open(&b, 3);
    body_ipv4(&b);
    sb_close(&b, r);
    r = sb_open(&b, 2);
    body_ethernet(&b);
    sb_close(&b, r);
    r = sb_open(&b, 4);
    body_ipv6(&b);
    sb_close(&b, r);
    sb_close(&b, at);
    CHECK_OK(col_sflow_decode(b.buf, b.len, &dg, &st), "0:2+0:3+0:4 without header");
    check_ethernet(&dg.samples[0]);
    check_ipv4(&dg.samples[0]);
    check_ipv6(&dg.samples[0]);

    /* After a sampled header, they add only what the header lacked. */
    sb_dgram(&b, 1);
    at = sb_flow_sample(&b);
    sb_u32(&b, 3);
    r = sb_open(&b, 3);
    body_ipv4(&b);
    sb_close(&b, r);
    r = sb_open(&b, 1);
    body_header(&b);
    sb_close(&b, r);
    r = sb_open(&b, 2);
    body_ethernet(&b);
    sb_close(&b, r);
    sb_close(&b, at);
    CHECK_OK(col_sflow_decode(b.buf, b.len, &dg, &st), "0:3 + 0:1 + 0:2");
    const sfa_sample *s = &dg.samples[0];
    CHECK_EQ(sb_count(&dg, s, SFA_F_IPSOURCE), 1, "one ipsource");
    CHECK_EQ(sb_count(&dg, s, SFA_F_FRAME_LENGTH), 1, "one framelength");
    CHECK_EQ(sb_u(&dg, s, SFA_F_FRAME_LENGTH), 64, "the header's frame length wins");
    CHECK_EQ(sb_u(&dg, s, SFA_F_IPPROTOCOL), 6, "the header's protocol wins");
    CHECK_EQ(sb_u(&dg, s, SFA_F_UDPSOURCEPORT), 53, "udp port only in 0:3 is added");
    CHECK_EQ(sb_count(&dg, s, SFA_F_MACSOURCE), 1, "one macsource");
}

static void
test_inner_lies(void)
{
    /* AS path segment count 0x20000000 (x 8 overflows 32 bits). */
    memset(&st, 0, sizeof st);
    sb_dgram(&b, 1);
    size_t at = sb_flow_sample(&b);
    sb_u32(&b, 2);
    size_t r = sb_open(&b, 1003);
    sb_u32(&b, 1);
    sb_ip4(&b, 1, 1, 1, 1);
    sb_u32(&b, 1);
    sb_u32(&b, 2);
    sb_u32(&b, 3);
    sb_u32(&b, 0x20000000);
    sb_u32(&b, 2);
    sb_u32(&b, 0x40000000); /* ASN count: x 4 overflows 32 bits */
    sb_u32(&b, 0);
    sb_u32(&b, 0);
    sb_close(&b, r);
    r = sb_open(&b, 1001);
    body_switch(&b);
    sb_close(&b, r);
    sb_close(&b, at);
    CHECK_ERR(col_sflow_decode(b.buf, b.len, &dg, &st), SFA_EFORMAT, "AS path count lie");
    CHECK_EQ(st.records_malformed, 1, "counted malformed");
    CHECK_EQ(dg.samples[0].field_count, 4, "gateway fields rolled back");

    /* One segment whose ASN count is 0x40000000: segment count sits at
     * 28 (header) + 8 (envelope) + 32 (sample) + 8 (record) + 20. */
    sb_poke(&b, 96, 1);
    memset(&st, 0, sizeof st);
    CHECK_ERR(col_sflow_decode(b.buf, b.len, &dg, &st), SFA_EFORMAT, "ASN count lie");
    CHECK_EQ(st.records_malformed, 1, "counted malformed");

    /* Communities count 0x40000000. */
    sb_dgram(&b, 1);
    at = sb_flow_sample(&b);
    sb_u32(&b, 1);
    r = sb_open(&b, 1003);
    sb_u32(&b, 0);
    sb_u32(&b, 1);
    sb_u32(&b, 2);
    sb_u32(&b, 3);
    sb_u32(&b, 0);
    sb_u32(&b, 0x40000000);
    sb_u32(&b, 7);
    sb_close(&b, r);
    sb_close(&b, at);
    memset(&st, 0, sizeof st);
    CHECK_ERR(col_sflow_decode(b.buf, b.len, &dg, &st), SFA_EFORMAT, "communities count lie");

    /* Bad address type inside a record. */
    sb_dgram(&b, 1);
    at = sb_flow_sample(&b);
    sb_u32(&b, 1);
    r = sb_open(&b, 1002);
    sb_u32(&b, 9);
    sb_u32(&b, 0);
    sb_u32(&b, 0);
    sb_u32(&b, 0);
    sb_close(&b, r);
    sb_close(&b, at);
    memset(&st, 0, sizeof st);
    CHECK_ERR(col_sflow_decode(b.buf, b.len, &dg, &st), SFA_EFORMAT, "address type 9");
    CHECK_EQ(st.records_malformed, 1, "bad address counted");

    /* Empty AS path and unknown next hop: no path fields. */
    sb_dgram(&b, 1);
    at = sb_flow_sample(&b);
    sb_u32(&b, 1);
    r = sb_open(&b, 1003);
    sb_u32(&b, 0);
    sb_u32(&b, 1);
    sb_u32(&b, 2);
    sb_u32(&b, 3);
    sb_u32(&b, 0);
    sb_u32(&b, 0);
    sb_u32(&b, 100);
    sb_close(&b, r);
    sb_close(&b, at);
    CHECK_OK(col_sflow_decode(b.buf, b.len, &dg, &st), "empty AS path is fine");
    const sfa_sample *s = &dg.samples[0];
    CHECK(sb_field(&dg, s, SFA_F_BGPDESTINATIONASPATH) == NULL, "no path field");
    CHECK(sb_field(&dg, s, SFA_F_BGPDESTINATIONAS) == NULL, "no destination AS");
    CHECK(sb_field(&dg, s, SFA_F_BGPNEXTHOP) == NULL, "no next hop for type 0");
    CHECK_EQ(sb_u(&dg, s, SFA_F_BGPLOCALPREF), 100, "localpref");

    /* Header length larger than the record. */
    sb_dgram(&b, 1);
    at = sb_flow_sample(&b);
    sb_u32(&b, 1);
    r = sb_open(&b, 1);
    sb_u32(&b, 1);
    sb_u32(&b, 64);
    sb_u32(&b, 4);
    sb_u32(&b, 0xFFFFFFFF);
    sb_u32(&b, 0);
    sb_close(&b, r);
    sb_close(&b, at);
    memset(&st, 0, sizeof st);
    CHECK_ERR(col_sflow_decode(b.buf, b.len, &dg, &st), SFA_EFORMAT, "header length lie");
    CHECK_EQ(dg.samples[0].field_count, 0, "no fields from it");
}

static void
test_discard_records(void)
{
    memset(&st, 0, sizeof st);
    sb_dgram(&b, 1);
    size_t at = sb_open(&b, 5);
    sb_u32(&b, 1);
    sb_u32(&b, 0);
    sb_u32(&b, 7);
    sb_u32(&b, 0);
    sb_u32(&b, 7);
    sb_u32(&b, 0);
    sb_u32(&b, 269);
    sb_u32(&b, 3);
    size_t r = sb_open(&b, 1);
    body_header(&b);
    sb_close(&b, r);
    r = sb_open(&b, 1042);
    body_linux_drop(&b);
    sb_close(&b, r);
    r = sb_open(&b, 1036);
    body_word(&b);
    sb_close(&b, r);
    sb_close(&b, at);
    CHECK_OK(col_sflow_decode(b.buf, b.len, &dg, &st), "discard sample with records");
    const sfa_sample *s = &dg.samples[0];
    CHECK_EQ(s->reason, 269, "blackhole reason");
    CHECK_EQ(s->rec_count, 3, "three records");
    check_header(s);
    check_linux_drop(s);
    check_egress_queue(s);
}

/* Records of a sample body straight into col__flow_records() with the
 * datagram's arrays nearly full. */
static int
records_near_cap(uint32_t nrecs, uint32_t nfields, uint32_t arena_used)
{
    sfa_rbuf rb;
    sfa_sample s = {.tag = 1};

    b.len = 0;
    sb_u32(&b, 3);
    size_t r = sb_open(&b, 1001);
    body_switch(&b);
    sb_close(&b, r);
    r = sb_open(&b, 1);
    body_header(&b);
    sb_close(&b, r);
    r = sb_open(&b, 3);
    body_ipv4(&b);
    sb_close(&b, r);
    dg.nrecs = nrecs;
    dg.nfields = nfields;
    dg.arena_used = arena_used;
    dg.status = 0;
    s.rec_first = nrecs;
    s.field_first = nfields;
    sfa_rbuf_init(&rb, b.buf, b.len);
    memset(&st, 0, sizeof st);
    int rc = col__flow_records(&rb, &dg, &s, &st);
    CHECK(s.rec_count == dg.nrecs - nrecs && s.field_count == dg.nfields - nfields,
          "sample ranges match what was added");
    CHECK(dg.nrecs <= SFA_DGRAM_MAX_RECORDS && dg.nfields <= SFA_DGRAM_MAX_FIELDS &&
              dg.arena_used <= SFA_DGRAM_ARENA,
          "never past a capacity");
    return rc;
}

static void
test_capacity(void)
{
    CHECK_OK(records_near_cap(0, 0, 0), "plenty of room");
    CHECK_ERR(records_near_cap(SFA_DGRAM_MAX_RECORDS - 1, 0, 0), SFA_ELIMIT,
              "record tags full -> ELIMIT");
    CHECK_EQ(dg.nrecs, SFA_DGRAM_MAX_RECORDS, "the last slot was used");
    CHECK_ERR(records_near_cap(0, SFA_DGRAM_MAX_FIELDS - 70, 0), SFA_ELIMIT,
              "fields nearly full -> ELIMIT");
    records_near_cap(0, 0, SFA_DGRAM_ARENA - 3);
    CHECK_EQ(dg.status, SFA_ELIMIT, "arena full: stack string dropped, ELIMIT");
    CHECK_EQ(dg.arena_used, SFA_DGRAM_ARENA - 3, "arena untouched");

    /* Through the decoder: 400 headers with eight VLAN tags each make
     * 46-byte stack strings, more than the arena holds; that ends the
     * datagram as over capacity. */
    uint8_t pkt[66] = {0};
    for (int t = 0; t < 8; t++) {
        pkt[12 + 4 * t] = 0x81;
        pkt[16 + 4 * t] = 0x00;
    }
    pkt[44] = 0x08;
    pkt[46] = 0x45;
    sb_dgram(&b, 400);
    for (int i = 0; i < 400; i++) {
        size_t at = sb_flow_sample(&b);
        sb_u32(&b, 1);
        size_t r = sb_open(&b, 1);
        sb_u32(&b, 1);
        sb_u32(&b, 70);
        sb_u32(&b, 4);
        sb_opaque(&b, pkt, sizeof pkt);
        sb_close(&b, r);
        sb_close(&b, at);
    }
    memset(&st, 0, sizeof st);
    CHECK_ERR(col_sflow_decode(b.buf, b.len, &dg, &st), SFA_ELIMIT, "arena exhausted");
    CHECK_EQ(st.over_capacity, 1, "counted over capacity");
    CHECK_EQ(st.parse_errors, 0, "not a parse error");
    CHECK(dg.nsamples > 300 && dg.nsamples < 400, "samples up to the cap kept");
    const sfa_field *f = sb_field(&dg, &dg.samples[0], SFA_F_STACK);
    CHECK(f && f->n == 46, "eight tags in the stack string");
}

int
main(void)
{
    test_capacity();
    test_each_record();
    test_unknown_records();
    test_sampled_structs();
    test_inner_lies();
    test_discard_records();
    return test_done();
}
