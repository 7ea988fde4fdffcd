/* pcap_frame.c - locate the UDP payload inside one captured frame.
 *
 * Three small steps, each bounded by the captured length: the link layer
 * yields the offset and EtherType of the network header (VLAN tags are
 * skipped there), the IP layer yields addresses, the upper-layer offset,
 * the end of the IP packet and whether it is a fragment, and the UDP step
 * sizes the payload from the UDP length field. Every read is preceded by a
 * check against what was captured. No reassembly, no checksum validation:
 * this serves offline reading of captures, where a bad checksum would only
 * hide datagrams the capture shows were delivered. Pure and reentrant.
 */
#include <string.h>

#include "pcap_frame.h"

#define ETH_IPV4 0x0800u
#define ETH_IPV6 0x86DDu
#define IPPROTO_UDP_ 17u
#define VLAN_TAGS_MAX 8 /* more stacked tags than this is not a real frame */
#define IPV6_EXT_MAX 16 /* extension headers walked before giving up */

/* The network layer as found by the link step. */
typedef struct pcap_net {
    size_t off;         /* offset of the IP header in the frame */
    unsigned ethertype; /* ETH_IPV4 or ETH_IPV6 */
} pcap_net;

/* The IP layer as found by the IP step. */
typedef struct pcap_ip {
    size_t l4_off; /* offset of the UDP header (or fragment data) */
    size_t end;    /* end of the IP packet within the capture */
    int fragment;  /* 1 if this is a fragment of a larger datagram */
    int first;     /* fragment offset is 0: the UDP header is in this packet */
} pcap_ip;

static unsigned
pcap_rd16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static uint32_t
pcap_rd32_be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t
pcap_rd32_le(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* Skip 802.1Q (0x8100), 802.1ad (0x88A8) and legacy QinQ (0x9100, 0x9200)
 * tags starting at *off, where *type is the EtherType just read. */
static int
pcap_frame_vlan(const uint8_t *f, size_t caplen, size_t *off, unsigned *type, unsigned *flags)
{
    int tags = 0;

    while (*type == 0x8100u || *type == 0x88A8u || *type == 0x9100u || *type == 0x9200u) {
        if (++tags > VLAN_TAGS_MAX)
            return SFA_EFORMAT;
        if (caplen - *off < 4)
            return SFA_ETRUNC;
        *type = pcap_rd16(f + *off + 2);
        *off += 4;
        *flags |= COL_PCAP_VLAN;
    }
    return 0;
}

/* Map a BSD address-family value to an EtherType; AF_INET6 differs by OS
 * (10 Linux, 24 NetBSD/OpenBSD, 28 FreeBSD, 30 macOS). */
static unsigned
pcap_frame_af(uint32_t af)
{
    if (af == 2)
        return ETH_IPV4;
    if (af == 10 || af == 24 || af == 28 || af == 30)
        return ETH_IPV6;
    return 0;
}

/* The version nibble of a raw IP packet as an EtherType (0 if neither). */
static unsigned
pcap_frame_raw_version(const uint8_t *f, size_t caplen, size_t off)
{
    if (caplen <= off)
        return 0;
    switch (f[off] >> 4) {
    case 4:
        return ETH_IPV4;
    case 6:
        return ETH_IPV6;
    default:
        return 0;
    }
}

/* Link step: find the IP header. */
static int
pcap_frame_link(int linktype, const uint8_t *f, size_t caplen, pcap_net *net, unsigned *flags)
{
    size_t off = 0;
    unsigned type = 0;
    int rc;

    switch (linktype) {
    case COL_LINKTYPE_ETHERNET:
        if (caplen < 14)
            return SFA_ETRUNC;
        type = pcap_rd16(f + 12);
        off = 14;
        break;
    case COL_LINKTYPE_LINUX_SLL:
        if (caplen < 16)
            return SFA_ETRUNC;
        type = pcap_rd16(f + 14);
        off = 16;
        break;
    case COL_LINKTYPE_LINUX_SLL2:
        if (caplen < 20)
            return SFA_ETRUNC;
        type = pcap_rd16(f);
        off = 20;
        break;
    case COL_LINKTYPE_NULL:
    case COL_LINKTYPE_LOOP:
        if (caplen < 4)
            return SFA_ETRUNC;
        if (linktype == COL_LINKTYPE_LOOP) {
            type = pcap_frame_af(pcap_rd32_be(f));
        } else {
            /* Host byte order of the capturing machine: accept either. */
            type = pcap_frame_af(pcap_rd32_le(f));
            if (type == 0)
                type = pcap_frame_af(pcap_rd32_be(f));
        }
        off = 4;
        break;
    case COL_LINKTYPE_RAW_12:
    case COL_LINKTYPE_RAW_14:
    case COL_LINKTYPE_RAW:
        if (caplen < 1)
            return SFA_ETRUNC;
        type = pcap_frame_raw_version(f, caplen, 0);
        break;
    default:
        return SFA_EFORMAT;
    }
    rc = pcap_frame_vlan(f, caplen, &off, &type, flags);
    if (rc != 0)
        return rc;
    if (type != ETH_IPV4 && type != ETH_IPV6)
        return SFA_EFORMAT;
    net->off = off;
    net->ethertype = type;
    return 0;
}

/* IPv4 step. A total length of 0 (segmentation offload captures) means
 * "unknown": the capture end bounds the packet instead. */
static int
pcap_frame_ipv4(const uint8_t *f, size_t caplen, size_t off, pcap_ip *ip, col_pcap_udp *u)
{
    const uint8_t *h = f + off;
    size_t hlen, tot;
    unsigned frag;

    if (caplen - off < 20)
        return SFA_ETRUNC;
    if (h[0] >> 4 != 4)
        return SFA_EFORMAT;
    hlen = (size_t)(h[0] & 0x0F) * 4;
    tot = pcap_rd16(h + 2);
    if (hlen < 20 || (tot != 0 && tot < hlen))
        return SFA_EFORMAT;
    if (caplen - off < hlen)
        return SFA_ETRUNC;
    if (h[9] != IPPROTO_UDP_)
        return SFA_EFORMAT;
    frag = pcap_rd16(h + 6);
    ip->fragment = (frag & 0x3FFFu) != 0; /* MF flag or a nonzero offset */
    ip->first = (frag & 0x1FFFu) == 0;
    ip->l4_off = off + hlen;
    ip->end = (tot != 0 && tot < caplen - off) ? off + tot : caplen;
    u->src.family = 4;
    memcpy(u->src.a, h + 12, 4);
    u->dst.family = 4;
    memcpy(u->dst.a, h + 16, 4);
    return 0;
}

/* Walk IPv6 extension headers from *nh at *off up to the upper layer.
 * Records the fragment header if one is met. */
static int
pcap_frame_ipv6_ext(const uint8_t *f, size_t end, size_t *off, unsigned *nh, pcap_ip *ip)
{
    for (int i = 0; i < IPV6_EXT_MAX; i++) {
        const uint8_t *e = f + *off;
        size_t elen;

        switch (*nh) {
        case 0:   /* hop-by-hop options */
        case 43:  /* routing */
        case 60:  /* destination options */
        case 135: /* mobility */
            if (end - *off < 8)
                return SFA_ETRUNC;
            elen = ((size_t)e[1] + 1) * 8;
            break;
        case 51: /* authentication header: length in 4-byte units, minus 2 */
            if (end - *off < 8)
                return SFA_ETRUNC;
            elen = ((size_t)e[1] + 2) * 4;
            break;
        case 44: { /* fragment */
            unsigned fo;

            if (end - *off < 8)
                return SFA_ETRUNC;
            fo = pcap_rd16(e + 2);
            elen = 8;
            /* An atomic fragment (offset 0, M clear) is a whole datagram. */
            if ((fo & 0xFFF9u) != 0) {
                ip->fragment = 1;
                ip->first = (fo & 0xFFF8u) == 0;
            }
            if (!ip->first) {
                /* Later fragments carry no further headers to walk. */
                *nh = e[0];
                *off += elen;
                return 0;
            }
            break;
        }
        default:
            return 0; /* upper layer reached */
        }
        if (end - *off < elen)
            return SFA_ETRUNC;
        *nh = e[0];
        *off += elen;
    }
    return SFA_EFORMAT;
}

/* IPv6 step. A payload length of 0 (jumbogram or offload) means "unknown". */
static int
pcap_frame_ipv6(const uint8_t *f, size_t caplen, size_t off, pcap_ip *ip, col_pcap_udp *u)
{
    const uint8_t *h = f + off;
    size_t plen, l4;
    unsigned nh;
    int rc;

    if (caplen - off < 40)
        return SFA_ETRUNC;
    if (h[0] >> 4 != 6)
        return SFA_EFORMAT;
    plen = pcap_rd16(h + 4);
    ip->end = (plen != 0 && plen < caplen - off - 40) ? off + 40 + plen : caplen;
    ip->fragment = 0;
    ip->first = 1;
    nh = h[6];
    l4 = off + 40;
    rc = pcap_frame_ipv6_ext(f, ip->end, &l4, &nh, ip);
    if (rc != 0)
        return rc;
    if (nh != IPPROTO_UDP_)
        return SFA_EFORMAT;
    ip->l4_off = l4;
    u->src.family = 6;
    memcpy(u->src.a, h + 8, 16);
    u->dst.family = 6;
    memcpy(u->dst.a, h + 24, 16);
    u->flags |= COL_PCAP_IPV6;
    return 0;
}

/* UDP step: size the payload from the UDP length, clamped to the packet. */
static int
pcap_frame_udp_hdr(const uint8_t *f, const pcap_ip *ip, col_pcap_udp *u)
{
    const uint8_t *h = f + ip->l4_off;
    size_t avail, ulen;

    if (ip->fragment) {
        /* Report the ports when the first fragment shows them; never a
         * payload, which would be a partial datagram. */
        if (ip->first && ip->end - ip->l4_off >= 8) {
            u->src_port = (uint16_t)pcap_rd16(h);
            u->dst_port = (uint16_t)pcap_rd16(h + 2);
            u->udp_len = pcap_rd16(h + 4);
        }
        u->flags |= COL_PCAP_FRAGMENT;
        return 0;
    }
    if (ip->end - ip->l4_off < 8)
        return SFA_ETRUNC;
    ulen = pcap_rd16(h + 4);
    if (ulen < 8)
        return SFA_EFORMAT;
    u->src_port = (uint16_t)pcap_rd16(h);
    u->dst_port = (uint16_t)pcap_rd16(h + 2);
    u->udp_len = ulen;
    avail = ip->end - ip->l4_off - 8;
    u->len = ulen - 8;
    if (u->len > avail) {
        u->len = avail;
        u->flags |= COL_PCAP_TRUNCATED;
    }
    u->payload = u->len ? h + 8 : NULL;
    return 0;
}

int
col_pcap_frame_udp(int linktype, const uint8_t *frame, size_t caplen, col_pcap_udp *out)
{
    col_pcap_udp u;
    pcap_net net;
    pcap_ip ip;
    int rc;

    memset(&u, 0, sizeof u);
    memset(&ip, 0, sizeof ip);
    if (frame == NULL && caplen != 0) {
        rc = SFA_EFORMAT;
        goto fail;
    }
    rc = pcap_frame_link(linktype, frame, caplen, &net, &u.flags);
    if (rc != 0)
        goto fail;
    if (net.ethertype == ETH_IPV4)
        rc = pcap_frame_ipv4(frame, caplen, net.off, &ip, &u);
    else
        rc = pcap_frame_ipv6(frame, caplen, net.off, &ip, &u);
    if (rc != 0)
        goto fail;
    rc = pcap_frame_udp_hdr(frame, &ip, &u);
    if (rc != 0)
        goto fail;
    *out = u;
    return 0;

fail:
    return rc;
}
