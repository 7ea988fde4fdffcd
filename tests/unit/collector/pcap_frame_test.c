/* pcap_frame_test.c - col_pcap_frame_udp() on hand-built frames.
 *
 * Covers every supported link type, VLAN tags, IPv6 extension headers, the
 * UDP-length rules (payload from the UDP header, clamped and flagged when it
 * claims more than was captured), IP fragments, rejection of non-UDP and
 * unknown link types, and a cut at every length of each frame, run on an
 * exact-size heap copy so the sanitizers see any read past the end.
 */
#include <stdlib.h>
#include <string.h>

#include "pcap_frame.h"
#include "test.h"

static const uint8_t SRC4[4] = {192, 0, 2, 1};
static const uint8_t DST4[4] = {192, 0, 2, 10};
static const uint8_t SRC6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t DST6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a};
static const uint8_t PAYLOAD[12] = {0, 0, 0, 5, 0, 0, 0, 1, 0xc0, 0, 2, 1};

static void
put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p + 2, v & 0xFFFF);
}

/* Ethernet header with EtherType type; returns 14. */
static size_t
mk_eth(uint8_t *p, unsigned type)
{
    memset(p, 0x02, 12);
    put16(p + 12, type);
    return 14;
}

/* IPv4 header (20 bytes) of total length tot. */
static size_t
mk_ip4(uint8_t *p, unsigned proto, unsigned tot, unsigned frag)
{
    memset(p, 0, 20);
    p[0] = 0x45;
    put16(p + 2, tot);
    put16(p + 6, frag);
    p[8] = 64;
    p[9] = (uint8_t)proto;
    memcpy(p + 12, SRC4, 4);
    memcpy(p + 16, DST4, 4);
    return 20;
}

/* IPv6 header (40 bytes). */
static size_t
mk_ip6(uint8_t *p, unsigned nh, unsigned plen)
{
    memset(p, 0, 40);
    p[0] = 0x60;
    put16(p + 4, plen);
    p[6] = (uint8_t)nh;
    p[7] = 64;
    memcpy(p + 8, SRC6, 16);
    memcpy(p + 24, DST6, 16);
    return 40;
}

/* UDP header with length ulen, followed by the test payload. */
static size_t
mk_udp(uint8_t *p, unsigned ulen)
{
    put16(p, 40000);
    put16(p + 2, 6343);
    put16(p + 4, ulen);
    put16(p + 6, 0);
    memcpy(p + 8, PAYLOAD, sizeof PAYLOAD);
    return 8 + sizeof PAYLOAD;
}

/* A complete IPv4/UDP packet carrying PAYLOAD at p; returns its length. */
static size_t
mk_ip4_udp(uint8_t *p)
{
    size_t n = mk_ip4(p, 17, 20 + 8 + sizeof PAYLOAD, 0);
    return n + mk_udp(p + n, 8 + sizeof PAYLOAD);
}

static size_t
mk_ip6_udp(uint8_t *p)
{
    size_t n = mk_ip6(p, 17, 8 + sizeof PAYLOAD);
    return n + mk_udp(p + n, 8 + sizeof PAYLOAD);
}

/* Run the extractor on an exact-size heap copy (so ASan sees over-reads). */
static int
run(int lt, const uint8_t *f, size_t n, col_pcap_udp *u)
{
    uint8_t *copy = malloc(n ? n : 1);
    int rc;

    memcpy(copy, f, n);
    memset(u, 0xAB, sizeof *u);
    rc = col_pcap_frame_udp(lt, copy, n, u);
    /* Re-point the payload into the caller's frame before freeing the copy. */
    if (rc == 0 && u->payload)
        u->payload = f + (u->payload - copy);
    free(copy);
    return rc;
}

/* Check a plain, complete datagram carrying PAYLOAD. */
static void
check_plain(int lt, const uint8_t *f, size_t n, int v6, const char *what)
{
    col_pcap_udp u;
    char msg[128];
    int rc = run(lt, f, n, &u);

    snprintf(msg, sizeof msg, "%s: extracted", what);
    CHECK_OK(rc, msg);
    if (rc != 0)
        return;
    snprintf(msg, sizeof msg, "%s: payload length from UDP", what);
    CHECK_EQ(u.len, sizeof PAYLOAD, msg);
    snprintf(msg, sizeof msg, "%s: payload bytes", what);
    CHECK(u.payload && memcmp(u.payload, PAYLOAD, sizeof PAYLOAD) == 0, msg);
    snprintf(msg, sizeof msg, "%s: ports", what);
    CHECK(u.src_port == 40000 && u.dst_port == 6343, msg);
    snprintf(msg, sizeof msg, "%s: source address", what);
    if (v6)
        CHECK(u.src.family == 6 && memcmp(u.src.a, SRC6, 16) == 0 &&
                  memcmp(u.dst.a, DST6, 16) == 0 && (u.flags & COL_PCAP_IPV6),
              msg);
    else
        CHECK(u.src.family == 4 && memcmp(u.src.a, SRC4, 4) == 0 && memcmp(u.dst.a, DST4, 4) == 0 &&
                  !(u.flags & COL_PCAP_IPV6),
              msg);
    snprintf(msg, sizeof msg, "%s: not truncated, not a fragment", what);
    CHECK(!(u.flags & (COL_PCAP_TRUNCATED | COL_PCAP_FRAGMENT)), msg);

    /* Every shorter cut must fail cleanly or come back flagged truncated. */
    int bad = 0;
    for (size_t cut = 0; cut < n; cut++) {
        col_pcap_udp c;
        int r = run(lt, f, cut, &c);
        if (r == 0 && c.len != sizeof PAYLOAD && !(c.flags & COL_PCAP_TRUNCATED))
            bad++;
        if (r == 0 && c.len > cut)
            bad++;
        if (r != 0 && r != SFA_ETRUNC && r != SFA_EFORMAT)
            bad++;
    }
    snprintf(msg, sizeof msg, "%s: every cut rejected or flagged truncated", what);
    CHECK_EQ(bad, 0, msg);
}

static void
test_ethernet(void)
{
    uint8_t f[256];
    size_t n;

    n = mk_eth(f, 0x0800);
    n += mk_ip4_udp(f + n);
    check_plain(COL_LINKTYPE_ETHERNET, f, n, 0, "ethernet ipv4");

    n = mk_eth(f, 0x86DD);
    n += mk_ip6_udp(f + n);
    check_plain(COL_LINKTYPE_ETHERNET, f, n, 1, "ethernet ipv6");

    /* 802.1ad outer tag, 802.1Q inner tag. */
    n = mk_eth(f, 0x88A8);
    put16(f + n, 0x0064);
    put16(f + n + 2, 0x8100);
    put16(f + n + 4, 0x2005);
    put16(f + n + 6, 0x0800);
    n += 8;
    n += mk_ip4_udp(f + n);
    check_plain(COL_LINKTYPE_ETHERNET, f, n, 0, "ethernet qinq ipv4");
    col_pcap_udp u;
    CHECK(run(COL_LINKTYPE_ETHERNET, f, n, &u) == 0 && (u.flags & COL_PCAP_VLAN), "vlan flag set");

    /* Ethernet minimum-size padding after the IP packet is not payload. */
    n = mk_eth(f, 0x0800);
    n += mk_ip4_udp(f + n);
    memset(f + n, 0xEE, 18);
    check_plain(COL_LINKTYPE_ETHERNET, f, n + 18, 0, "ethernet padded");
}

static void
test_cooked_raw_null(void)
{
    uint8_t f[256];
    size_t n;

    memset(f, 0, 16); /* SLL: type, ARPHRD, addr len, addr, protocol */
    put16(f + 2, 1);
    put16(f + 4, 6);
    put16(f + 14, 0x0800);
    n = 16 + mk_ip4_udp(f + 16);
    check_plain(COL_LINKTYPE_LINUX_SLL, f, n, 0, "sll ipv4");

    memset(f, 0, 20); /* SLL2: protocol first */
    put16(f, 0x86DD);
    put32(f + 4, 3);
    put16(f + 8, 1);
    n = 20 + mk_ip6_udp(f + 20);
    check_plain(COL_LINKTYPE_LINUX_SLL2, f, n, 1, "sll2 ipv6");

    n = mk_ip4_udp(f);
    check_plain(COL_LINKTYPE_RAW, f, n, 0, "raw(101) ipv4");
    check_plain(COL_LINKTYPE_RAW_12, f, n, 0, "raw(12) ipv4");
    n = mk_ip6_udp(f);
    check_plain(COL_LINKTYPE_RAW_14, f, n, 1, "raw(14) ipv6");

    f[0] = 2; /* AF_INET, little-endian host */
    f[1] = f[2] = f[3] = 0;
    n = 4 + mk_ip4_udp(f + 4);
    check_plain(COL_LINKTYPE_NULL, f, n, 0, "null ipv4 (le)");
    put32(f, 30); /* AF_INET6 of macOS, big-endian host */
    n = 4 + mk_ip6_udp(f + 4);
    check_plain(COL_LINKTYPE_NULL, f, n, 1, "null ipv6 (be)");
    put32(f, 24);
    check_plain(COL_LINKTYPE_LOOP, f, n, 1, "loop ipv6");
}

static void
test_ipv6_ext(void)
{
    uint8_t f[256];
    size_t n = mk_eth(f, 0x86DD);
    size_t ip = n;

    /* hop-by-hop (8) -> destination options (16) -> UDP */
    n += mk_ip6(f + n, 0, 8 + 16 + 8 + sizeof PAYLOAD);
    memset(f + n, 0, 24);
    f[n] = 60;
    f[n + 1] = 0;
    f[n + 8] = 17;
    f[n + 9] = 1;
    n += 24;
    n += mk_udp(f + n, 8 + sizeof PAYLOAD);
    check_plain(COL_LINKTYPE_ETHERNET, f, n, 1, "ipv6 extension headers");

    /* Atomic fragment header (offset 0, M clear): a whole datagram. */
    n = ip + mk_ip6(f + ip, 44, 8 + 8 + sizeof PAYLOAD);
    memset(f + n, 0, 8);
    f[n] = 17;
    n += 8;
    n += mk_udp(f + n, 8 + sizeof PAYLOAD);
    check_plain(COL_LINKTYPE_ETHERNET, f, n, 1, "ipv6 atomic fragment");

    /* First fragment (M set): flagged, ports visible, no payload. */
    f[ip + 40 + 3] = 1;
    col_pcap_udp u;
    CHECK_OK(run(COL_LINKTYPE_ETHERNET, f, n, &u), "ipv6 first fragment accepted");
    CHECK((u.flags & COL_PCAP_FRAGMENT) && u.len == 0 && u.payload == NULL,
          "ipv6 first fragment flagged, no payload");
    CHECK_EQ(u.dst_port, 6343, "ipv6 first fragment ports");

    /* Later fragment: offset 8 bytes, no UDP header inside. */
    put16(f + ip + 40 + 2, 8 << 3);
    CHECK_OK(run(COL_LINKTYPE_ETHERNET, f, n, &u), "ipv6 later fragment accepted");
    CHECK((u.flags & COL_PCAP_FRAGMENT) && u.len == 0 && u.dst_port == 0,
          "ipv6 later fragment flagged, no ports");

    /* ESP cannot be walked through. */
    n = ip + mk_ip6(f + ip, 50, 8 + sizeof PAYLOAD);
    n += mk_udp(f + n, 8 + sizeof PAYLOAD);
    CHECK_ERR(run(COL_LINKTYPE_ETHERNET, f, n, &u), SFA_EFORMAT, "ipv6 esp rejected");
}

static void
test_udp_length(void)
{
    uint8_t f[1024];
    col_pcap_udp u;
    size_t n;

    /* The tcpdump sflow_print-segv case: IP says 896 bytes, UDP says 16. */
    memset(f, 0, sizeof f);
    n = mk_eth(f, 0x0800);
    mk_ip4(f + n, 17, 896, 0);
    mk_udp(f + n + 20, 16);
    CHECK_OK(run(COL_LINKTYPE_ETHERNET, f, 14 + 896, &u), "short UDP length accepted");
    CHECK_EQ(u.len, 8, "payload is the 8 bytes UDP declares");
    CHECK(!(u.flags & COL_PCAP_TRUNCATED), "short UDP length is not truncation");
    CHECK(u.payload == f + 14 + 28, "payload starts after the UDP header");

    /* UDP claims 1000 bytes; only 12 payload bytes were captured. */
    n = mk_eth(f, 0x0800);
    n += mk_ip4(f + n, 17, 0, 0); /* total length 0: offload capture */
    n += mk_udp(f + n, 1008);
    CHECK_OK(run(COL_LINKTYPE_ETHERNET, f, n, &u), "long UDP length accepted");
    CHECK_EQ(u.len, sizeof PAYLOAD, "payload clamped to the capture");
    CHECK(u.flags & COL_PCAP_TRUNCATED, "clamped payload flagged truncated");
    CHECK_EQ(u.udp_len, 1008, "UDP length reported as sent");

    /* UDP claims more than the IP packet holds (trailer after the packet). */
    n = mk_eth(f, 0x0800);
    n += mk_ip4(f + n, 17, 20 + 8 + 4, 0);
    n += mk_udp(f + n, 8 + sizeof PAYLOAD);
    CHECK_OK(run(COL_LINKTYPE_ETHERNET, f, n, &u), "UDP past IP end accepted");
    CHECK(u.len == 4 && (u.flags & COL_PCAP_TRUNCATED), "payload bounded by the IP packet");

    /* UDP length below the header size is invalid. */
    n = mk_eth(f, 0x0800);
    n += mk_ip4(f + n, 17, 20 + 8 + sizeof PAYLOAD, 0);
    n += mk_udp(f + n, 7);
    CHECK_ERR(run(COL_LINKTYPE_ETHERNET, f, n, &u), SFA_EFORMAT, "UDP length < 8 rejected");

    /* UDP length exactly 8: an empty payload. */
    n = mk_eth(f, 0x0800);
    n += mk_ip4(f + n, 17, 20 + 8, 0);
    n += mk_udp(f + n, 8) - sizeof PAYLOAD;
    CHECK(run(COL_LINKTYPE_ETHERNET, f, n, &u) == 0 && u.len == 0 && u.payload == NULL,
          "empty UDP payload");
}

static void
test_ipv4_fragments(void)
{
    uint8_t f[256];
    col_pcap_udp u;
    size_t n;

    n = mk_eth(f, 0x0800);
    n += mk_ip4(f + n, 17, 20 + 8 + sizeof PAYLOAD, 0x2000); /* MF */
    n += mk_udp(f + n, 3000);
    CHECK_OK(run(COL_LINKTYPE_ETHERNET, f, n, &u), "first ipv4 fragment accepted");
    CHECK((u.flags & COL_PCAP_FRAGMENT) && u.len == 0 && u.payload == NULL,
          "first ipv4 fragment flagged, no payload");
    CHECK(u.src_port == 40000 && u.dst_port == 6343 && u.udp_len == 3000,
          "first ipv4 fragment shows ports");
    CHECK(u.src.family == 4 && memcmp(u.src.a, SRC4, 4) == 0, "fragment source address");

    n = mk_eth(f, 0x0800);
    n += mk_ip4(f + n, 17, 20 + 64, 185); /* offset 1480, last fragment */
    memset(f + n, 0x55, 64);
    n += 64;
    CHECK_OK(run(COL_LINKTYPE_ETHERNET, f, n, &u), "later ipv4 fragment accepted");
    CHECK((u.flags & COL_PCAP_FRAGMENT) && u.len == 0 && u.dst_port == 0,
          "later ipv4 fragment flagged, no ports");

    /* DF alone is not a fragment. */
    n = mk_eth(f, 0x0800);
    n += mk_ip4(f + n, 17, 20 + 8 + sizeof PAYLOAD, 0x4000);
    n += mk_udp(f + n, 8 + sizeof PAYLOAD);
    check_plain(COL_LINKTYPE_ETHERNET, f, n, 0, "ipv4 DF set");
}

static void
test_rejects(void)
{
    uint8_t f[256];
    col_pcap_udp u;
    size_t n;

    n = mk_eth(f, 0x0800);
    n += mk_ip4(f + n, 6, 20 + 20, 0);
    memset(f + n, 0, 20);
    n += 20;
    CHECK_ERR(run(COL_LINKTYPE_ETHERNET, f, n, &u), SFA_EFORMAT, "tcp rejected");

    n = mk_eth(f, 0x0806);
    memset(f + n, 0, 28);
    CHECK_ERR(run(COL_LINKTYPE_ETHERNET, f, n + 28, &u), SFA_EFORMAT, "arp rejected");

    n = mk_ip4_udp(f);
    CHECK_ERR(run(147, f, n, &u), SFA_EFORMAT, "unknown link type rejected");

    f[0] = 0x55; /* version 5 in a raw frame */
    CHECK_ERR(run(COL_LINKTYPE_RAW, f, n, &u), SFA_EFORMAT, "raw non-IP rejected");

    n = mk_ip4_udp(f);
    f[0] = 0x44; /* IHL 4: header shorter than 20 */
    CHECK_ERR(run(COL_LINKTYPE_RAW, f, n, &u), SFA_EFORMAT, "bad IHL rejected");

    n = mk_eth(f, 0x8100); /* a long chain of VLAN tags */
    for (int i = 0; i < 12; i++) {
        put16(f + n, 1);
        put16(f + n + 2, 0x8100);
        n += 4;
    }
    CHECK_ERR(run(COL_LINKTYPE_ETHERNET, f, n, &u), SFA_EFORMAT, "absurd VLAN stack rejected");

    CHECK_ERR(col_pcap_frame_udp(COL_LINKTYPE_ETHERNET, NULL, 0, &u), SFA_ETRUNC,
              "empty frame is truncated");
}

int
main(void)
{
    test_ethernet();
    test_cooked_raw_null();
    test_ipv6_ext();
    test_udp_length();
    test_ipv4_fragments();
    test_rejects();
    return test_done();
}
