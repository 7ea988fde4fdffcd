/* sflow_header.c - parse a sampled packet header into packet fields.
 *
 * col__header_parse() reads the raw bytes of a sampled_header record
 * (header_protocol 1 Ethernet, 7 PPP, 11 IPv4, 12 IPv6, 13 MPLS, 14 POS)
 * layer by layer: Ethernet with 802.1Q/802.1ad tags and LLC/SNAP, MPLS
 * label stacks, PPPoE session + PPP (with protocol-field compression),
 * ARP, IPv4 (L4 only on first fragments), IPv6 with its extension headers,
 * TCP, UDP, ICMP, ICMPv6, and one level of encapsulation (VXLAN on UDP
 * 4789, IP-in-IP) whose inner packet is reported under the ".1" keys. It
 * emits one field per value found plus the layer list as the "stack"
 * string (e.g. "eth.vlan.ip.tcp"), written into d->arena.
 *
 * Headers are prefixes of packets, so a parse may stop anywhere: each
 * layer reports what is present; a header that ends inside a layer we
 * parse is counted in headers_truncated. Other header protocols are left
 * as opaque bytes. Pure: no I/O, no allocation; bounded by len everywhere.
 */
#include "sflow_decode.h"

/* Field slots the parse may need at most (checked once on entry). */
#define HDR_RESERVE 48
/* Id 0 (headerprotocol) is never a packet field, so it marks "not reported". */
#define HDR_NONE 0
#define HDR_MAX_TAGS 8
#define HDR_MAX_EXT 8

_Static_assert(SFA_F_HEADER_PROTOCOL == HDR_NONE, "id 0 must not be a packet field");

/* Field ids for one depth of packet (outer, or inner after a tunnel). */
typedef struct hdr_ids {
    uint16_t macsource, macdestination, ethernetprotocol, vlan, priority, innervlan, mplslabels;
    uint16_t ipsource, ipdestination, ipprotocol, iptos, ipdscp, ipecn, ipttl, ipbytes, ipflags,
        ipfragoffset;
    uint16_t ip6source, ip6destination, ip6nexthdr, ip6tos, ip6dscp, ip6ecn, ip6flowlabel, ip6ttl,
        ip6bytes, ip6fragoffset, ip6fragm;
    uint16_t tcpsourceport, tcpdestinationport, tcpflags, udpsourceport, udpdestinationport;
    uint16_t icmptype, icmpcode, icmp6type, icmp6code;
    uint16_t arpoperation, arpipsender, arpiptarget;
} hdr_ids;

static const hdr_ids hdr_outer = {
    .macsource = SFA_F_MACSOURCE,
    .macdestination = SFA_F_MACDESTINATION,
    .ethernetprotocol = SFA_F_ETHERNETPROTOCOL,
    .vlan = SFA_F_VLAN,
    .priority = SFA_F_PRIORITY,
    .innervlan = SFA_F_INNERVLAN,
    .mplslabels = SFA_F_MPLSLABELS,
    .ipsource = SFA_F_IPSOURCE,
    .ipdestination = SFA_F_IPDESTINATION,
    .ipprotocol = SFA_F_IPPROTOCOL,
    .iptos = SFA_F_IPTOS,
    .ipdscp = SFA_F_IPDSCP,
    .ipecn = SFA_F_IPECN,
    .ipttl = SFA_F_IPTTL,
    .ipbytes = SFA_F_IPBYTES,
    .ipflags = SFA_F_IPFLAGS,
    .ipfragoffset = SFA_F_IPFRAGOFFSET,
    .ip6source = SFA_F_IP6SOURCE,
    .ip6destination = SFA_F_IP6DESTINATION,
    .ip6nexthdr = SFA_F_IP6NEXTHDR,
    .ip6tos = SFA_F_IP6TOS,
    .ip6dscp = SFA_F_IP6DSCP,
    .ip6ecn = SFA_F_IP6ECN,
    .ip6flowlabel = SFA_F_IP6FLOWLABEL,
    .ip6ttl = SFA_F_IP6TTL,
    .ip6bytes = SFA_F_IP6BYTES,
    .ip6fragoffset = SFA_F_IP6FRAGOFFSET,
    .ip6fragm = SFA_F_IP6FRAGM,
    .tcpsourceport = SFA_F_TCPSOURCEPORT,
    .tcpdestinationport = SFA_F_TCPDESTINATIONPORT,
    .tcpflags = SFA_F_TCPFLAGS,
    .udpsourceport = SFA_F_UDPSOURCEPORT,
    .udpdestinationport = SFA_F_UDPDESTINATIONPORT,
    .icmptype = SFA_F_ICMPTYPE,
    .icmpcode = SFA_F_ICMPCODE,
    .icmp6type = SFA_F_ICMP6TYPE,
    .icmp6code = SFA_F_ICMP6CODE,
    .arpoperation = SFA_F_ARPOPERATION,
    .arpipsender = SFA_F_ARPIPSENDER,
    .arpiptarget = SFA_F_ARPIPTARGET,
};

/* Inner packet of a tunnel: the ".1" keys; members left 0 are not reported. */
static const hdr_ids hdr_inner = {
    .macsource = SFA_F_MACSOURCE_1,
    .macdestination = SFA_F_MACDESTINATION_1,
    .ethernetprotocol = SFA_F_ETHERNETPROTOCOL_1,
    .vlan = SFA_F_VLAN_1,
    .ipsource = SFA_F_IPSOURCE_1,
    .ipdestination = SFA_F_IPDESTINATION_1,
    .ipprotocol = SFA_F_IPPROTOCOL_1,
    .iptos = SFA_F_IPTOS_1,
    .ipttl = SFA_F_IPTTL_1,
    .ipbytes = SFA_F_IPBYTES_1,
    .ip6source = SFA_F_IP6SOURCE_1,
    .ip6destination = SFA_F_IP6DESTINATION_1,
    .ip6nexthdr = SFA_F_IP6NEXTHDR_1,
    .ip6bytes = SFA_F_IP6BYTES_1,
    .tcpsourceport = SFA_F_TCPSOURCEPORT_1,
    .tcpdestinationport = SFA_F_TCPDESTINATIONPORT_1,
    .tcpflags = SFA_F_TCPFLAGS_1,
    .udpsourceport = SFA_F_UDPSOURCEPORT_1,
    .udpdestinationport = SFA_F_UDPDESTINATIONPORT_1,
    .icmptype = SFA_F_ICMPTYPE_1,
    .icmpcode = SFA_F_ICMPCODE_1,
    .icmp6type = SFA_F_ICMP6TYPE_1,
    .icmp6code = SFA_F_ICMP6CODE_1,
};

typedef struct hdr_parse {
    sfa_dgram *d;
    const uint8_t *p;
    uint32_t len;
    const hdr_ids *ids;
    int depth;     /* 0 outer packet, 1 inside a tunnel */
    int truncated; /* the header ended inside a layer */
    uint32_t slen;
    char stack[96];
} hdr_parse;

static inline uint32_t
hdr_be16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

static inline uint32_t
hdr_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Bytes of header left from off (callers keep off <= len). */
static inline uint32_t
hdr_left(const hdr_parse *h, uint32_t off)
{
    return h->len - off;
}

static inline sfa_field *
hdr_fld(hdr_parse *h, unsigned id, unsigned type)
{
    sfa_field *f = &h->d->fields[h->d->nfields++];
    *f = (sfa_field){.id = (uint16_t)id, .type = (uint8_t)type};
    return f;
}

static inline void
hdr_u(hdr_parse *h, unsigned id, uint64_t v)
{
    if (id != HDR_NONE)
        hdr_fld(h, id, SFA_T_U)->v.u = v;
}

static inline void
hdr_bytes(hdr_parse *h, unsigned id, unsigned type, const uint8_t *p, size_t n)
{
    if (id != HDR_NONE)
        memcpy(hdr_fld(h, id, type)->v.a, p, n);
}

/* Append a layer name to the stack string (silently capped). */
static inline void
hdr_push(hdr_parse *h, const char *name, uint32_t n)
{
    if (h->slen + n + 1 > sizeof h->stack)
        return;
    if (h->slen)
        h->stack[h->slen++] = '.';
    memcpy(h->stack + h->slen, name, n);
    h->slen += n;
}

#define HDR_PUSH(h, lit) hdr_push((h), (lit), sizeof(lit) - 1)

static void hdr_eth(hdr_parse *h, uint32_t off);
static void hdr_ip4(hdr_parse *h, uint32_t off);
static void hdr_ip6(hdr_parse *h, uint32_t off);

/* ---- transport ---- */

static void
hdr_tcp(hdr_parse *h, uint32_t off)
{
    const uint8_t *p = h->p + off;
    uint32_t n = hdr_left(h, off);
    if (n < 4) {
        h->truncated |= n > 0;
        return;
    }
    HDR_PUSH(h, "tcp");
    hdr_u(h, h->ids->tcpsourceport, hdr_be16(p));
    hdr_u(h, h->ids->tcpdestinationport, hdr_be16(p + 2));
    if (n >= 14)
        hdr_u(h, h->ids->tcpflags, (uint32_t)(p[12] & 1) << 8 | p[13]);
    if (n < 20)
        h->truncated = 1;
}

/* Switch to the inner packet of a tunnel (one level only). */
static int
hdr_enter_tunnel(hdr_parse *h)
{
    if (h->depth)
        return 0;
    h->depth = 1;
    h->ids = &hdr_inner;
    return 1;
}

static void
hdr_udp(hdr_parse *h, uint32_t off)
{
    const uint8_t *p = h->p + off;
    uint32_t n = hdr_left(h, off);
    if (n < 4) {
        h->truncated |= n > 0;
        return;
    }
    HDR_PUSH(h, "udp");
    uint32_t dport = hdr_be16(p + 2);
    hdr_u(h, h->ids->udpsourceport, hdr_be16(p));
    hdr_u(h, h->ids->udpdestinationport, dport);
    if (n < 8) {
        h->truncated = 1;
        return;
    }
    /* VXLAN: 8-byte header with the I flag, then an Ethernet frame. */
    if (dport != 4789 || n == 8 || h->depth)
        return;
    if (n < 16) {
        h->truncated = 1;
        return;
    }
    if (!(p[8] & 0x08))
        return;
    HDR_PUSH(h, "vxlan");
    hdr_u(h, SFA_F_VXLANVNI, hdr_be32(p + 12) >> 8);
    if (hdr_enter_tunnel(h))
        hdr_eth(h, off + 16);
}

static void
hdr_icmp(hdr_parse *h, uint32_t off, int v6)
{
    const uint8_t *p = h->p + off;
    uint32_t n = hdr_left(h, off);
    if (n < 2) {
        h->truncated |= n > 0;
        return;
    }
    if (v6) {
        HDR_PUSH(h, "icmp6");
        hdr_u(h, h->ids->icmp6type, p[0]);
        hdr_u(h, h->ids->icmp6code, p[1]);
    } else {
        HDR_PUSH(h, "icmp");
        hdr_u(h, h->ids->icmptype, p[0]);
        hdr_u(h, h->ids->icmpcode, p[1]);
    }
    if (n < 8)
        h->truncated = 1;
}

/* Upper layer after an IPv4 or IPv6 header. */
static void
hdr_l4(hdr_parse *h, uint32_t proto, uint32_t off)
{
    switch (proto) {
    case 6:
        hdr_tcp(h, off);
        break;
    case 17:
        hdr_udp(h, off);
        break;
    case 1:
        hdr_icmp(h, off, 0);
        break;
    case 58:
        hdr_icmp(h, off, 1);
        break;
    case 4:
        if (hdr_enter_tunnel(h))
            hdr_ip4(h, off);
        break;
    case 41:
        if (hdr_enter_tunnel(h))
            hdr_ip6(h, off);
        break;
    default:
        break;
    }
}

/* ---- network ---- */

static void
hdr_ip4(hdr_parse *h, uint32_t off)
{
    const hdr_ids *ids = h->ids;
    const uint8_t *p = h->p + off;
    uint32_t n = hdr_left(h, off);
    if (n < 20) {
        h->truncated |= n > 0;
        return;
    }
    uint32_t ihl = (uint32_t)(p[0] & 0x0F) * 4;
    if (p[0] >> 4 != 4 || ihl < 20)
        return; /* not IPv4 after all: leave the rest opaque */
    uint32_t tos = p[1], frag = hdr_be16(p + 6), proto = p[9];
    HDR_PUSH(h, "ip");
    hdr_bytes(h, ids->ipsource, SFA_T_IP4, p + 12, 4);
    hdr_bytes(h, ids->ipdestination, SFA_T_IP4, p + 16, 4);
    hdr_u(h, ids->ipprotocol, proto);
    hdr_u(h, ids->iptos, tos);
    hdr_u(h, ids->ipdscp, tos >> 2);
    hdr_u(h, ids->ipecn, tos & 3);
    hdr_u(h, ids->ipttl, p[8]);
    hdr_u(h, ids->ipbytes, hdr_be16(p + 2));
    hdr_u(h, ids->ipflags, frag >> 13);
    hdr_u(h, ids->ipfragoffset, frag & 0x1FFF);
    if (n < ihl) {
        h->truncated = 1;
        return;
    }
    if (frag & 0x1FFF)
        return; /* later fragments carry no L4 header */
    hdr_l4(h, proto, off + ihl);
}

/* Walk IPv6 extension headers from off. Returns the upper-layer protocol
 * and sets *l4off, or returns -1 when the walk cannot reach it (cut
 * header, non-first fragment, no next header). */
static int
hdr_ip6_ext(hdr_parse *h, uint32_t nh, uint32_t off, uint32_t *l4off)
{
    for (int i = 0; i < HDR_MAX_EXT; i++) {
        const uint8_t *p = h->p + off;
        uint32_t n = hdr_left(h, off), hl;
        switch (nh) {
        case 0:  /* hop-by-hop */
        case 43: /* routing */
        case 60: /* destination options */
            if (n < 2)
                goto cut;
            hl = ((uint32_t)p[1] + 1) * 8;
            break;
        case 51: /* AH */
            if (n < 2)
                goto cut;
            hl = ((uint32_t)p[1] + 2) * 4;
            break;
        case 44: /* fragment */
            if (n < 8)
                goto cut;
            hdr_u(h, h->ids->ip6fragoffset, hdr_be16(p + 2) >> 3);
            if (h->ids->ip6fragm != HDR_NONE)
                hdr_fld(h, h->ids->ip6fragm, SFA_T_BOOL)->v.u = p[3] & 1;
            if (hdr_be16(p + 2) >> 3) {
                hdr_u(h, h->ids->ip6nexthdr, p[0]);
                return -1;
            }
            hl = 8;
            break;
        default:
            *l4off = off;
            return (int)nh;
        }
        if (n < hl)
            goto cut;
        nh = p[0];
        off += hl;
    }
    return -1;
cut:
    h->truncated = 1;
    return -1;
}

static void
hdr_ip6(hdr_parse *h, uint32_t off)
{
    const hdr_ids *ids = h->ids;
    const uint8_t *p = h->p + off;
    uint32_t n = hdr_left(h, off), l4off = 0;
    if (n < 40) {
        h->truncated |= n > 0;
        return;
    }
    if (p[0] >> 4 != 6)
        return;
    uint32_t tc = (uint32_t)(p[0] & 0x0F) << 4 | p[1] >> 4;
    HDR_PUSH(h, "ip6");
    hdr_bytes(h, ids->ip6source, SFA_T_IP6, p + 8, 16);
    hdr_bytes(h, ids->ip6destination, SFA_T_IP6, p + 24, 16);
    hdr_u(h, ids->ip6tos, tc);
    hdr_u(h, ids->ip6dscp, tc >> 2);
    hdr_u(h, ids->ip6ecn, tc & 3);
    hdr_u(h, ids->ip6flowlabel, (uint32_t)(p[1] & 0x0F) << 16 | hdr_be16(p + 2));
    hdr_u(h, ids->ip6ttl, p[7]);
    hdr_u(h, ids->ip6bytes, hdr_be16(p + 4) + 40);
    int nh = hdr_ip6_ext(h, p[6], off + 40, &l4off);
    if (nh < 0)
        return;
    hdr_u(h, ids->ip6nexthdr, (uint32_t)nh);
    hdr_l4(h, (uint32_t)nh, l4off);
}

static void
hdr_arp(hdr_parse *h, uint32_t off)
{
    const uint8_t *p = h->p + off;
    uint32_t n = hdr_left(h, off);
    if (n < 8) {
        h->truncated |= n > 0;
        return;
    }
    HDR_PUSH(h, "arp");
    hdr_u(h, h->ids->arpoperation, hdr_be16(p + 6));
    /* Addresses only for IPv4 over Ethernet (hlen 6, plen 4). */
    if (hdr_be16(p + 2) != 0x0800 || p[4] != 6 || p[5] != 4)
        return;
    if (n < 28) {
        h->truncated = 1;
        return;
    }
    hdr_bytes(h, h->ids->arpipsender, SFA_T_IP4, p + 14, 4);
    hdr_bytes(h, h->ids->arpiptarget, SFA_T_IP4, p + 24, 4);
}

/* MPLS label stack, then IPv4/IPv6 guessed from the first nibble. */
static void
hdr_mpls(hdr_parse *h, uint32_t off)
{
    uint32_t start = off, count = 0;
    int bottom = 0;
    while (!bottom) {
        if (hdr_left(h, off) < 4) {
            /* A partial label, or a stack cut before its bottom entry. */
            h->truncated |= hdr_left(h, off) > 0 || count > 0;
            break;
        }
        bottom = h->p[off + 2] & 1;
        off += 4;
        count++;
    }
    if (!count)
        return;
    HDR_PUSH(h, "mpls");
    if (h->ids->mplslabels != HDR_NONE) {
        sfa_field *f = hdr_fld(h, h->ids->mplslabels, SFA_T_U32S);
        f->v.p = h->p + start;
        f->n = count;
    }
    if (!bottom || hdr_left(h, off) < 1)
        return;
    if (h->p[off] >> 4 == 4)
        hdr_ip4(h, off);
    else if (h->p[off] >> 4 == 6)
        hdr_ip6(h, off);
}

/* PPP protocol field (1 byte when compressed: the low bit is set). */
static void
hdr_ppp(hdr_parse *h, uint32_t off)
{
    uint32_t n = hdr_left(h, off), proto;
    if (n < 1)
        return;
    if (!(h->p[off] & 1) && n < 2) {
        h->truncated = 1;
        return;
    }
    if (h->p[off] & 1) {
        proto = h->p[off];
        off += 1;
    } else {
        proto = hdr_be16(h->p + off);
        off += 2;
    }
    HDR_PUSH(h, "ppp");
    if (proto == 0x21)
        hdr_ip4(h, off);
    else if (proto == 0x57)
        hdr_ip6(h, off);
    else if (proto == 0x281 || proto == 0x283)
        hdr_mpls(h, off);
}

static void
hdr_pppoe(hdr_parse *h, uint32_t off)
{
    if (hdr_left(h, off) < 6) {
        h->truncated |= hdr_left(h, off) > 0;
        return;
    }
    HDR_PUSH(h, "pppoe");
    if (h->p[off + 1] != 0)
        return; /* not session data */
    hdr_ppp(h, off + 6);
}

static void
hdr_ethertype(hdr_parse *h, uint32_t type, uint32_t off)
{
    switch (type) {
    case 0x0800:
        hdr_ip4(h, off);
        break;
    case 0x86DD:
        hdr_ip6(h, off);
        break;
    case 0x0806:
        hdr_arp(h, off);
        break;
    case 0x8847:
    case 0x8848:
        hdr_mpls(h, off);
        break;
    case 0x8864:
        hdr_pppoe(h, off);
        break;
    default:
        break;
    }
}

/* 802.3 length field: LLC, and SNAP's EtherType when present. Returns the
 * EtherType, or 0 when there is none to follow. */
static uint32_t
hdr_llc(hdr_parse *h, uint32_t *off)
{
    const uint8_t *p = h->p + *off;
    uint32_t n = hdr_left(h, *off);
    if (n < 3) {
        h->truncated |= n > 0;
        return 0;
    }
    HDR_PUSH(h, "llc");
    if (p[0] != 0xAA || p[1] != 0xAA || p[2] != 0x03)
        return 0;
    if (n < 8) {
        h->truncated = 1;
        return 0;
    }
    *off += 8;
    return hdr_be16(p + 6);
}

static void
hdr_eth(hdr_parse *h, uint32_t off)
{
    const hdr_ids *ids = h->ids;
    const uint8_t *p = h->p + off;
    uint32_t n = hdr_left(h, off), type;
    if (n < 14) {
        h->truncated |= n > 0;
        return;
    }
    HDR_PUSH(h, "eth");
    hdr_bytes(h, ids->macdestination, SFA_T_MAC, p, 6);
    hdr_bytes(h, ids->macsource, SFA_T_MAC, p + 6, 6);
    type = hdr_be16(p + 12);
    off += 14;
    for (int tags = 0; type == 0x8100 || type == 0x88A8 || type == 0x9100; tags++) {
        if (hdr_left(h, off) < 4) {
            h->truncated = 1;
            return;
        }
        if (tags == HDR_MAX_TAGS)
            return;
        uint32_t tci = hdr_be16(h->p + off);
        HDR_PUSH(h, "vlan");
        if (tags == 0) {
            hdr_u(h, ids->vlan, tci & 0x0FFF);
            hdr_u(h, ids->priority, tci >> 13);
        } else if (tags == 1) {
            hdr_u(h, ids->innervlan, tci & 0x0FFF);
        }
        type = hdr_be16(h->p + off + 2);
        off += 4;
    }
    if (type < 0x0600 && !(type = hdr_llc(h, &off)))
        return;
    hdr_u(h, ids->ethernetprotocol, type);
    hdr_ethertype(h, type, off);
}

/* PPP in HDLC framing (header_protocol 7 / 14), or Cisco HDLC on POS. */
static void
hdr_ppp_hdlc(hdr_parse *h)
{
    const uint8_t *p = h->p;
    if (h->len >= 4 && (p[0] == 0x0F || p[0] == 0x8F) && p[1] == 0) {
        HDR_PUSH(h, "chdlc");
        hdr_ethertype(h, hdr_be16(p + 2), 4);
        return;
    }
    hdr_ppp(h, h->len >= 2 && p[0] == 0xFF && p[1] == 0x03 ? 2 : 0);
}

/* Copy the stack string into the arena and add it as a field. */
static void
hdr_emit_stack(hdr_parse *h)
{
    sfa_dgram *d = h->d;
    if (!h->slen)
        return;
    if (h->slen > SFA_DGRAM_ARENA - d->arena_used) {
        if (!d->status)
            d->status = SFA_ELIMIT;
        return;
    }
    uint8_t *dst = d->arena + d->arena_used;
    memcpy(dst, h->stack, h->slen);
    d->arena_used += h->slen;
    sfa_field *f = hdr_fld(h, SFA_F_STACK, SFA_T_STR);
    f->v.p = dst;
    f->n = h->slen;
}

void
col__header_parse(uint32_t header_protocol, const uint8_t *hdr, uint32_t len, sfa_dgram *d,
                  sfa_sample *s, col_decode_stats *st)
{
    hdr_parse h;

    if (d->nfields > SFA_DGRAM_MAX_FIELDS - HDR_RESERVE) {
        if (!d->status)
            d->status = SFA_ELIMIT;
        return;
    }
    h.d = d;
    h.p = hdr;
    h.len = len;
    h.ids = &hdr_outer;
    h.depth = 0;
    h.truncated = 0;
    h.slen = 0;
    switch (header_protocol) {
    case 1:
        hdr_eth(&h, 0);
        break;
    case 7:
    case 14:
        hdr_ppp_hdlc(&h);
        break;
    case 11:
        hdr_ip4(&h, 0);
        break;
    case 12:
        hdr_ip6(&h, 0);
        break;
    case 13:
        hdr_mpls(&h, 0);
        break;
    default:
        return;
    }
    if (h.truncated)
        st->headers_truncated++;
    hdr_emit_stack(&h);
    if (s)
        s->field_count = d->nfields - s->field_first;
}
