/* sflow_flow.c - flow records of flow, expanded-flow and discard samples.
 *
 * col__flow_records() walks the num_records record envelopes of one sample
 * body. Every record is carved into its own bounded reader (sfa_rbuf_sub),
 * dispatched on its tag through a switch generated from sflow_formats.def,
 * and turned into fields of the sample. Unknown formats are skipped by
 * length and counted; a known record shorter than its fixed part (or with a
 * lying inner count/length, or a bad address type) is counted malformed,
 * its fields are rolled back and decoding goes on with the next record;
 * bytes a record carries beyond what we know are ignored (structures grow
 * at the end). An envelope running past the sample ends the sample.
 *
 * sampled_ethernet/ipv4/ipv6 (0:2..0:4) describe the same packet as a
 * sampled header, so they are emitted under the packet field names only
 * for fields the header did not already provide (they are held until the
 * sample's records are all read, since record order is free).
 *
 * Pure: no I/O, no allocation, no globals. Capacity: before each record
 * FLOW_RESERVE field slots are checked, so record decoders add fields
 * without checking.
 */
#include "sflow_decode.h"

#define FLOW_RESERVE 64

typedef struct flow_ctx {
    sfa_dgram *d;
    sfa_sample *s;
    col_decode_stats *st;
    const uint8_t *eth; /* deferred 0:2 body (24 bytes) */
    const uint8_t *ip4; /* deferred 0:3 body (32 bytes) */
    const uint8_t *ip6; /* deferred 0:4 body (56 bytes) */
} flow_ctx;

/* ---- small helpers ---- */

static inline uint32_t
flow_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t
flow_be64(const uint8_t *p)
{
    return (uint64_t)flow_be32(p) << 32 | flow_be32(p + 4);
}

/* Borrow the next n bytes of a record, or NULL if the record is shorter. */
static inline const uint8_t *
flow_fixed(sfa_rbuf *rb, size_t n)
{
    if (!sfa_rbuf_need(rb, n))
        return NULL;
    const uint8_t *p = rb->buf + rb->off;
    rb->off += n;
    return p;
}

/* Append a field; capacity was reserved by the record loop. */
static inline sfa_field *
flow_fld(sfa_dgram *d, unsigned id, unsigned type)
{
    sfa_field *f = &d->fields[d->nfields++];
    *f = (sfa_field){.id = (uint16_t)id, .type = (uint8_t)type};
    return f;
}

static inline void
flow_u(sfa_dgram *d, unsigned id, uint64_t v)
{
    flow_fld(d, id, SFA_T_U)->v.u = v;
}

static inline void
flow_bytes(sfa_dgram *d, unsigned id, unsigned type, const uint8_t *p, size_t n)
{
    memcpy(flow_fld(d, id, type)->v.a, p, n);
}

/* A string/opaque field borrowing the datagram; empty ones are left out. */
static inline void
flow_str(sfa_dgram *d, unsigned id, unsigned type, const uint8_t *p, uint32_t n)
{
    if (!n)
        return;
    sfa_field *f = flow_fld(d, id, type);
    f->v.p = p;
    f->n = n;
}

static inline void
flow_ref(sfa_dgram *d, unsigned id, unsigned type, const uint8_t *p, uint32_t n)
{
    sfa_field *f = flow_fld(d, id, type);
    f->v.p = p;
    f->n = n;
}

/* XDR address union: sets *fam (0, 4, 6) and *p. 0 or SFA_EFORMAT. */
static int
flow_addr(sfa_rbuf *rb, int *fam, const uint8_t **p)
{
    uint32_t type = sfa_rbuf_u32(rb);
    if (!sfa_rbuf_ok(rb) || type > 2)
        return SFA_EFORMAT;
    *fam = type == 1 ? 4 : type == 2 ? 6 : 0;
    *p = flow_fixed(rb, type == 1 ? 4 : type == 2 ? 16 : 0);
    return *p ? 0 : SFA_EFORMAT;
}

/* Emit an address field with the type its family calls for (none for 0). */
static void
flow_addr_field(sfa_dgram *d, unsigned id, int fam, const uint8_t *p)
{
    if (fam == 4)
        flow_bytes(d, id, SFA_T_IP4, p, 4);
    else if (fam == 6)
        flow_bytes(d, id, SFA_T_IP6, p, 16);
}

/* One XDR string/opaque as a field. 0 or SFA_EFORMAT. */
static int
flow_string(sfa_rbuf *rb, sfa_dgram *d, unsigned id)
{
    const uint8_t *p;
    uint32_t n;
    if (sfa_rbuf_opaque(rb, &p, &n))
        return SFA_EFORMAT;
    flow_str(d, id, SFA_T_STR, p, n);
    return 0;
}

/* Array of 32-bit words (count + words) as a U32S field. 0 or SFA_EFORMAT. */
static int
flow_words(sfa_rbuf *rb, sfa_dgram *d, unsigned id)
{
    uint32_t n = sfa_rbuf_u32(rb);
    if (!sfa_rbuf_ok(rb) || n > sfa_rbuf_remaining(rb) / 4)
        return SFA_EFORMAT;
    const uint8_t *p = flow_fixed(rb, (size_t)n * 4);
    if (n)
        flow_ref(d, id, SFA_T_U32S, p, n);
    return 0;
}

/* Fixed sequence of 32-bit words into consecutive field ids. */
static int
flow_u32_run(sfa_rbuf *rb, sfa_dgram *d, const uint16_t *ids, unsigned n)
{
    const uint8_t *p = flow_fixed(rb, (size_t)n * 4);
    if (!p)
        return SFA_EFORMAT;
    for (unsigned i = 0; i < n; i++)
        flow_u(d, ids[i], flow_be32(p + 4 * i));
    return 0;
}

static int
flow_u32_one(sfa_rbuf *rb, sfa_dgram *d, unsigned id)
{
    const uint8_t *p = flow_fixed(rb, 4);
    if (!p)
        return SFA_EFORMAT;
    flow_u(d, id, flow_be32(p));
    return 0;
}

/* ---- sampled packet data 0:1 .. 0:4 ---- */

static int
flow_sampled_header(sfa_rbuf *rb, flow_ctx *c)
{
    sfa_dgram *d = c->d;
    const uint8_t *p = flow_fixed(rb, 16);
    if (!p)
        return SFA_EFORMAT;
    uint32_t proto = flow_be32(p), hlen = flow_be32(p + 12);
    /* The header must fit; its XDR padding may be missing at the very end. */
    if (hlen > sfa_rbuf_remaining(rb))
        return SFA_EFORMAT;
    const uint8_t *hdr = sfa_rbuf_ptr(rb);
    flow_u(d, SFA_F_HEADER_PROTOCOL, proto);
    flow_u(d, SFA_F_FRAME_LENGTH, flow_be32(p + 4));
    flow_u(d, SFA_F_STRIPPED, flow_be32(p + 8));
    flow_u(d, SFA_F_HEADER_LENGTH, hlen);
    flow_ref(d, SFA_F_HEADER, SFA_T_BIN, hdr, hlen);
    col__header_parse(proto, hdr, hlen, d, c->s, c->st);
    return 0;
}

static int
flow_sampled_ethernet(sfa_rbuf *rb, flow_ctx *c)
{
    c->eth = flow_fixed(rb, 24);
    return c->eth ? 0 : SFA_EFORMAT;
}

static int
flow_sampled_ipv4(sfa_rbuf *rb, flow_ctx *c)
{
    c->ip4 = flow_fixed(rb, 32);
    return c->ip4 ? 0 : SFA_EFORMAT;
}

static int
flow_sampled_ipv6(sfa_rbuf *rb, flow_ctx *c)
{
    c->ip6 = flow_fixed(rb, 56);
    return c->ip6 ? 0 : SFA_EFORMAT;
}

/* ---- standard extended records 0:1001 .. 0:1012 ---- */

static int
flow_ext_switch(sfa_rbuf *rb, flow_ctx *c)
{
    static const uint16_t ids[] = {SFA_F_VLANSOURCE, SFA_F_PRIORITYSOURCE, SFA_F_VLANDESTINATION,
                                   SFA_F_PRIORITYDESTINATION};
    return flow_u32_run(rb, c->d, ids, 4);
}

static int
flow_ext_router(sfa_rbuf *rb, flow_ctx *c)
{
    const uint8_t *a, *p;
    int fam;
    if (flow_addr(rb, &fam, &a) || !(p = flow_fixed(rb, 8)))
        return SFA_EFORMAT;
    flow_addr_field(c->d, SFA_F_IPNEXTHOPROUTER, fam, a);
    flow_u(c->d, SFA_F_IPSOURCEMASKBITS, flow_be32(p));
    flow_u(c->d, SFA_F_IPDESTINATIONMASKBITS, flow_be32(p + 4));
    return 0;
}

/* Validate the AS path segments in place; report the segment count, the
 * first and last ASN (0 when the path holds none). */
static int
flow_aspath(sfa_rbuf *rb, const uint8_t **path, uint32_t *nseg, uint32_t *first, uint32_t *last)
{
    uint32_t n = sfa_rbuf_u32(rb);
    if (!sfa_rbuf_ok(rb) || n > sfa_rbuf_remaining(rb) / 8)
        return SFA_EFORMAT;
    *path = sfa_rbuf_ptr(rb);
    *nseg = n;
    *first = *last = 0;
    int seen = 0;
    for (uint32_t i = 0; i < n; i++) {
        sfa_rbuf_skip(rb, 4); /* segment type: kept as sent */
        uint32_t k = sfa_rbuf_u32(rb);
        if (!sfa_rbuf_ok(rb) || k > sfa_rbuf_remaining(rb) / 4)
            return SFA_EFORMAT;
        const uint8_t *asn = flow_fixed(rb, (size_t)k * 4);
        if (k && !seen) {
            *first = flow_be32(asn);
            seen = 1;
        }
        if (k)
            *last = flow_be32(asn + 4 * (size_t)(k - 1));
    }
    return 0;
}

static int
flow_ext_gateway(sfa_rbuf *rb, flow_ctx *c)
{
    sfa_dgram *d = c->d;
    const uint8_t *a, *p, *path, *comm, *lp;
    uint32_t nseg, first, last, ncomm;
    int fam;

    if (flow_addr(rb, &fam, &a) || !(p = flow_fixed(rb, 12)))
        return SFA_EFORMAT;
    if (flow_aspath(rb, &path, &nseg, &first, &last))
        return SFA_EFORMAT;
    ncomm = sfa_rbuf_u32(rb);
    if (!sfa_rbuf_ok(rb) || ncomm > sfa_rbuf_remaining(rb) / 4)
        return SFA_EFORMAT;
    comm = flow_fixed(rb, (size_t)ncomm * 4);
    if (!(lp = flow_fixed(rb, 4)))
        return SFA_EFORMAT;

    flow_addr_field(d, SFA_F_BGPNEXTHOP, fam, a);
    flow_u(d, SFA_F_BGPAS, flow_be32(p));
    flow_u(d, SFA_F_BGPSOURCEAS, flow_be32(p + 4));
    flow_u(d, SFA_F_BGPSOURCEPEERAS, flow_be32(p + 8));
    if (nseg) {
        flow_ref(d, SFA_F_BGPDESTINATIONASPATH, SFA_T_ASPATH, path, nseg);
        if (first)
            flow_u(d, SFA_F_BGPDESTINATIONPEERAS, first);
        if (last)
            flow_u(d, SFA_F_BGPDESTINATIONAS, last);
    }
    if (ncomm)
        flow_ref(d, SFA_F_BGPCOMMUNITIES, SFA_T_U32S, comm, ncomm);
    flow_u(d, SFA_F_BGPLOCALPREF, flow_be32(lp));
    return 0;
}

static int
flow_ext_user(sfa_rbuf *rb, flow_ctx *c)
{
    sfa_dgram *d = c->d;
    if (flow_u32_one(rb, d, SFA_F_USER_SRC_CHARSET) || flow_string(rb, d, SFA_F_USER_SRC) ||
        flow_u32_one(rb, d, SFA_F_USER_DST_CHARSET) || flow_string(rb, d, SFA_F_USER_DST))
        return SFA_EFORMAT;
    return 0;
}

static int
flow_ext_url(sfa_rbuf *rb, flow_ctx *c)
{
    sfa_dgram *d = c->d;
    if (flow_u32_one(rb, d, SFA_F_URL_DIRECTION) || flow_string(rb, d, SFA_F_URL) ||
        flow_string(rb, d, SFA_F_URL_HOST))
        return SFA_EFORMAT;
    return 0;
}

static int
flow_ext_mpls(sfa_rbuf *rb, flow_ctx *c)
{
    const uint8_t *a;
    int fam;
    if (flow_addr(rb, &fam, &a))
        return SFA_EFORMAT;
    flow_addr_field(c->d, SFA_F_MPLS_NEXTHOP, fam, a);
    if (flow_words(rb, c->d, SFA_F_MPLS_IN_LABELS) || flow_words(rb, c->d, SFA_F_MPLS_OUT_LABELS))
        return SFA_EFORMAT;
    return 0;
}

static int
flow_ext_nat(sfa_rbuf *rb, flow_ctx *c)
{
    const uint8_t *src, *dst;
    int fs, fd;
    if (flow_addr(rb, &fs, &src) || flow_addr(rb, &fd, &dst))
        return SFA_EFORMAT;
    flow_addr_field(c->d, SFA_F_NAT_SRC, fs, src);
    flow_addr_field(c->d, SFA_F_NAT_DST, fd, dst);
    return 0;
}

static int
flow_ext_mpls_tunnel(sfa_rbuf *rb, flow_ctx *c)
{
    static const uint16_t ids[] = {SFA_F_MPLS_TUNNEL_ID, SFA_F_MPLS_TUNNEL_COS};
    if (flow_string(rb, c->d, SFA_F_MPLS_TUNNEL_NAME))
        return SFA_EFORMAT;
    return flow_u32_run(rb, c->d, ids, 2);
}

static int
flow_ext_mpls_vc(sfa_rbuf *rb, flow_ctx *c)
{
    static const uint16_t ids[] = {SFA_F_MPLS_VC_ID, SFA_F_MPLS_VC_COS};
    if (flow_string(rb, c->d, SFA_F_MPLS_VC_NAME))
        return SFA_EFORMAT;
    return flow_u32_run(rb, c->d, ids, 2);
}

static int
flow_ext_mpls_ftn(sfa_rbuf *rb, flow_ctx *c)
{
    if (flow_string(rb, c->d, SFA_F_MPLS_FTN_DESCR))
        return SFA_EFORMAT;
    return flow_u32_one(rb, c->d, SFA_F_MPLS_FTN_MASK);
}

static int
flow_ext_mpls_ldp_fec(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_u32_one(rb, c->d, SFA_F_MPLS_FEC_PREFIX_LEN);
}

static int
flow_ext_vlantunnel(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_words(rb, c->d, SFA_F_VLAN_STACK);
}

/* ---- 802.11 0:1013 .. 0:1016 ---- */

static int
flow_ext_80211_payload(sfa_rbuf *rb, flow_ctx *c)
{
    sfa_dgram *d = c->d;
    const uint8_t *p = flow_fixed(rb, 16), *hdr;
    uint32_t n;
    if (!p || sfa_rbuf_opaque(rb, &hdr, &n))
        return SFA_EFORMAT;
    flow_u(d, SFA_F_WIFI_CIPHER_SUITE, flow_be32(p));
    flow_u(d, SFA_F_WIFI_PAYLOAD_PROTOCOL, flow_be32(p + 4));
    flow_u(d, SFA_F_WIFI_PAYLOAD_LENGTH, flow_be32(p + 8));
    flow_str(d, SFA_F_WIFI_PAYLOAD, SFA_T_BIN, hdr, n);
    return 0;
}

/* ssid string<32> and bssid (MAC + 2 bytes of padding), shared by rx/tx. */
static int
flow_80211_station(sfa_rbuf *rb, sfa_dgram *d)
{
    const uint8_t *mac;
    if (flow_string(rb, d, SFA_F_WIFI_SSID) || !(mac = flow_fixed(rb, 8)))
        return SFA_EFORMAT;
    flow_bytes(d, SFA_F_WIFI_BSSID, SFA_T_MAC, mac, 6);
    return 0;
}

static int
flow_ext_80211_rx(sfa_rbuf *rb, flow_ctx *c)
{
    sfa_dgram *d = c->d;
    const uint8_t *p;
    if (flow_80211_station(rb, d) || !(p = flow_fixed(rb, 28)))
        return SFA_EFORMAT;
    flow_u(d, SFA_F_WIFI_VERSION, flow_be32(p));
    flow_u(d, SFA_F_WIFI_CHANNEL, flow_be32(p + 4));
    flow_u(d, SFA_F_WIFI_SPEED, flow_be64(p + 8));
    flow_u(d, SFA_F_WIFI_RSNI, flow_be32(p + 16));
    flow_u(d, SFA_F_WIFI_RCPI, flow_be32(p + 20));
    flow_u(d, SFA_F_WIFI_DURATION, flow_be32(p + 24));
    return 0;
}

static int
flow_ext_80211_tx(sfa_rbuf *rb, flow_ctx *c)
{
    sfa_dgram *d = c->d;
    const uint8_t *p;
    if (flow_80211_station(rb, d) || !(p = flow_fixed(rb, 32)))
        return SFA_EFORMAT;
    flow_u(d, SFA_F_WIFI_VERSION, flow_be32(p));
    flow_u(d, SFA_F_WIFI_TRANSMISSIONS, flow_be32(p + 4));
    flow_u(d, SFA_F_WIFI_DURATION, flow_be32(p + 8));
    flow_u(d, SFA_F_WIFI_RETRANS_DURATION, flow_be32(p + 12));
    flow_u(d, SFA_F_WIFI_CHANNEL, flow_be32(p + 16));
    flow_u(d, SFA_F_WIFI_SPEED, flow_be64(p + 20));
    flow_u(d, SFA_F_WIFI_POWER, flow_be32(p + 28));
    return 0;
}

/* Known but deliberately not decoded (0:1016 nests whole PDUs). */
static int
flow_skip(sfa_rbuf *rb, flow_ctx *c)
{
    return 0;
}

/* ---- tunnels, drops, timing 0:1020 .. 0:1043 ---- */

static int
flow_ext_nat_port(sfa_rbuf *rb, flow_ctx *c)
{
    static const uint16_t ids[] = {SFA_F_NAT_SRC_PORT, SFA_F_NAT_DST_PORT};
    return flow_u32_run(rb, c->d, ids, 2);
}

/* Field ids of one tunnel direction: L2 (length, src, dst, type) and IP
 * (length, protocol, src, dst, sport, dport, flags, tos). */
typedef struct flow_tun_ids {
    uint16_t l2[4];
    uint16_t ip[8];
} flow_tun_ids;

static const flow_tun_ids flow_tun_egress = {
    {SFA_F_TUN_EGRESS_FRAMELENGTH, SFA_F_TUN_EGRESS_MACSOURCE, SFA_F_TUN_EGRESS_MACDESTINATION,
     SFA_F_TUN_EGRESS_ETHERNETPROTOCOL},
    {SFA_F_TUN_EGRESS_IPBYTES, SFA_F_TUN_EGRESS_IPPROTOCOL, SFA_F_TUN_EGRESS_IPSOURCE,
     SFA_F_TUN_EGRESS_IPDESTINATION, SFA_F_TUN_EGRESS_SOURCEPORT, SFA_F_TUN_EGRESS_DESTINATIONPORT,
     SFA_F_TUN_EGRESS_TCPFLAGS, SFA_F_TUN_EGRESS_IPTOS},
};

static const flow_tun_ids flow_tun_ingress = {
    {SFA_F_TUN_INGRESS_FRAMELENGTH, SFA_F_TUN_INGRESS_MACSOURCE, SFA_F_TUN_INGRESS_MACDESTINATION,
     SFA_F_TUN_INGRESS_ETHERNETPROTOCOL},
    {SFA_F_TUN_INGRESS_IPBYTES, SFA_F_TUN_INGRESS_IPPROTOCOL, SFA_F_TUN_INGRESS_IPSOURCE,
     SFA_F_TUN_INGRESS_IPDESTINATION, SFA_F_TUN_INGRESS_SOURCEPORT,
     SFA_F_TUN_INGRESS_DESTINATIONPORT, SFA_F_TUN_INGRESS_TCPFLAGS, SFA_F_TUN_INGRESS_IPTOS},
};

static int
flow_tunnel_l2(sfa_rbuf *rb, sfa_dgram *d, const flow_tun_ids *t)
{
    const uint8_t *p = flow_fixed(rb, 24);
    if (!p)
        return SFA_EFORMAT;
    flow_u(d, t->l2[0], flow_be32(p));
    flow_bytes(d, t->l2[1], SFA_T_MAC, p + 4, 6);
    flow_bytes(d, t->l2[2], SFA_T_MAC, p + 12, 6);
    flow_u(d, t->l2[3], flow_be32(p + 20));
    return 0;
}

/* IPv4 (alen 4) or IPv6 (alen 16) tunnel header record. */
static int
flow_tunnel_ip(sfa_rbuf *rb, sfa_dgram *d, const flow_tun_ids *t, size_t alen)
{
    const uint8_t *p = flow_fixed(rb, 8 + 2 * alen + 16);
    if (!p)
        return SFA_EFORMAT;
    unsigned type = alen == 4 ? SFA_T_IP4 : SFA_T_IP6;
    const uint8_t *q = p + 8 + 2 * alen;
    flow_u(d, t->ip[0], flow_be32(p));
    flow_u(d, t->ip[1], flow_be32(p + 4));
    flow_bytes(d, t->ip[2], type, p + 8, alen);
    flow_bytes(d, t->ip[3], type, p + 8 + alen, alen);
    for (unsigned i = 0; i < 4; i++)
        flow_u(d, t->ip[4 + i], flow_be32(q + 4 * i));
    return 0;
}

static int
flow_ext_l2_tunnel_egress(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_tunnel_l2(rb, c->d, &flow_tun_egress);
}

static int
flow_ext_l2_tunnel_ingress(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_tunnel_l2(rb, c->d, &flow_tun_ingress);
}

static int
flow_ext_ipv4_tunnel_egress(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_tunnel_ip(rb, c->d, &flow_tun_egress, 4);
}

static int
flow_ext_ipv4_tunnel_ingress(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_tunnel_ip(rb, c->d, &flow_tun_ingress, 4);
}

static int
flow_ext_ipv6_tunnel_egress(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_tunnel_ip(rb, c->d, &flow_tun_egress, 16);
}

static int
flow_ext_ipv6_tunnel_ingress(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_tunnel_ip(rb, c->d, &flow_tun_ingress, 16);
}

static int
flow_ext_decap_egress(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_u32_one(rb, c->d, SFA_F_DECAP_EGRESS_OFFSET);
}

static int
flow_ext_decap_ingress(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_u32_one(rb, c->d, SFA_F_DECAP_INGRESS_OFFSET);
}

static int
flow_ext_vni_egress(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_u32_one(rb, c->d, SFA_F_VNI_EGRESS);
}

static int
flow_ext_vni_ingress(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_u32_one(rb, c->d, SFA_F_VNI_INGRESS);
}

static int
flow_ext_egress_queue(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_u32_one(rb, c->d, SFA_F_QUEUEINDEX);
}

static int
flow_ext_function(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_string(rb, c->d, SFA_F_FUNCTION);
}

static int
flow_ext_transit(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_u32_one(rb, c->d, SFA_F_TRANSITDELAY);
}

static int
flow_ext_queue(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_u32_one(rb, c->d, SFA_F_QUEUEDEPTH);
}

static int
flow_ext_hw_trap(sfa_rbuf *rb, flow_ctx *c)
{
    if (flow_string(rb, c->d, SFA_F_HW_TRAP_GROUP) || flow_string(rb, c->d, SFA_F_HW_TRAP))
        return SFA_EFORMAT;
    return 0;
}

static int
flow_ext_linux_drop_reason(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_string(rb, c->d, SFA_F_LINUX_DROP_REASON);
}

static int
flow_ext_timestamp(sfa_rbuf *rb, flow_ctx *c)
{
    const uint8_t *p = flow_fixed(rb, 8);
    if (!p)
        return SFA_EFORMAT;
    flow_u(c->d, SFA_F_TIMESTAMP_NS, flow_be64(p));
    return 0;
}

/* ---- host / application records 0:2100 .. 0:2210 ---- */

/* protocol, local ip, remote ip, local port, remote port (ids in that order). */
static int
flow_socket(sfa_rbuf *rb, sfa_dgram *d, const uint16_t ids[5], size_t alen)
{
    const uint8_t *p = flow_fixed(rb, 12 + 2 * alen);
    if (!p)
        return SFA_EFORMAT;
    unsigned type = alen == 4 ? SFA_T_IP4 : SFA_T_IP6;
    const uint8_t *q = p + 4 + 2 * alen;
    flow_u(d, ids[0], flow_be32(p));
    flow_bytes(d, ids[1], type, p + 4, alen);
    flow_bytes(d, ids[2], type, p + 4 + alen, alen);
    flow_u(d, ids[3], flow_be32(q));
    flow_u(d, ids[4], flow_be32(q + 4));
    return 0;
}

static const uint16_t flow_socket_ids[5] = {SFA_F_SOCKET_PROTOCOL, SFA_F_SOCKET_LOCAL_IP,
                                            SFA_F_SOCKET_REMOTE_IP, SFA_F_SOCKET_LOCAL_PORT,
                                            SFA_F_SOCKET_REMOTE_PORT};
static const uint16_t flow_proxy_ids[5] = {SFA_F_PROXY_PROTOCOL, SFA_F_PROXY_LOCAL_IP,
                                           SFA_F_PROXY_REMOTE_IP, SFA_F_PROXY_LOCAL_PORT,
                                           SFA_F_PROXY_REMOTE_PORT};

static int
flow_ext_socket_ipv4(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_socket(rb, c->d, flow_socket_ids, 4);
}

static int
flow_ext_socket_ipv6(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_socket(rb, c->d, flow_socket_ids, 16);
}

static int
flow_ext_proxy_socket_ipv4(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_socket(rb, c->d, flow_proxy_ids, 4);
}

static int
flow_ext_proxy_socket_ipv6(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_socket(rb, c->d, flow_proxy_ids, 16);
}

static int
flow_memcache_operation(sfa_rbuf *rb, flow_ctx *c)
{
    static const uint16_t head[] = {SFA_F_MEMCACHE_PROTOCOL, SFA_F_MEMCACHE_CMD};
    static const uint16_t tail[] = {SFA_F_MEMCACHE_NKEYS, SFA_F_MEMCACHE_VALUE_BYTES,
                                    SFA_F_MEMCACHE_DURATION_US, SFA_F_MEMCACHE_STATUS};
    sfa_dgram *d = c->d;
    if (flow_u32_run(rb, d, head, 2) || flow_string(rb, d, SFA_F_MEMCACHE_KEY))
        return SFA_EFORMAT;
    return flow_u32_run(rb, d, tail, 4);
}

/* http_request, both versions: 0:2206 adds xff and a request byte count. */
static int
flow_http(sfa_rbuf *rb, sfa_dgram *d, int current)
{
    static const uint16_t head[] = {SFA_F_HTTP_METHOD, SFA_F_HTTP_PROTOCOL};
    static const uint16_t strs[] = {SFA_F_HTTP_URI,       SFA_F_HTTP_HOST, SFA_F_HTTP_REFERER,
                                    SFA_F_HTTP_USERAGENT, SFA_F_HTTP_XFF,  SFA_F_HTTP_AUTHUSER,
                                    SFA_F_HTTP_MIME_TYPE};
    const uint8_t *p;
    if (flow_u32_run(rb, d, head, 2))
        return SFA_EFORMAT;
    for (unsigned i = 0; i < 7; i++) {
        if (strs[i] == SFA_F_HTTP_XFF && !current)
            continue;
        if (flow_string(rb, d, strs[i]))
            return SFA_EFORMAT;
    }
    if (!(p = flow_fixed(rb, current ? 24 : 16)))
        return SFA_EFORMAT;
    if (current) {
        flow_u(d, SFA_F_HTTP_REQ_BYTES, flow_be64(p));
        p += 8;
    }
    flow_u(d, SFA_F_HTTP_RESP_BYTES, flow_be64(p));
    flow_u(d, SFA_F_HTTP_DURATION_US, flow_be32(p + 8));
    flow_u(d, SFA_F_HTTP_STATUS, flow_be32(p + 12));
    return 0;
}

static int
flow_http_request_v1(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_http(rb, c->d, 0);
}

static int
flow_http_request(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_http(rb, c->d, 1);
}

static int
flow_strings(sfa_rbuf *rb, sfa_dgram *d, const uint16_t *ids, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (flow_string(rb, d, ids[i]))
            return SFA_EFORMAT;
    return 0;
}

static int
flow_app_operation(sfa_rbuf *rb, flow_ctx *c)
{
    static const uint16_t strs[] = {SFA_F_APP_NAME, SFA_F_APP_OPERATION, SFA_F_APP_ATTRIBUTES,
                                    SFA_F_APP_STATUS_DESCR};
    sfa_dgram *d = c->d;
    const uint8_t *p;
    if (flow_strings(rb, d, strs, 4) || !(p = flow_fixed(rb, 24)))
        return SFA_EFORMAT;
    flow_u(d, SFA_F_APP_REQ_BYTES, flow_be64(p));
    flow_u(d, SFA_F_APP_RESP_BYTES, flow_be64(p + 8));
    flow_u(d, SFA_F_APP_DURATION_US, flow_be32(p + 16));
    flow_u(d, SFA_F_APP_STATUS, flow_be32(p + 20));
    return 0;
}

static int
flow_app_parent_context(sfa_rbuf *rb, flow_ctx *c)
{
    static const uint16_t strs[] = {SFA_F_APP_PARENT_NAME, SFA_F_APP_PARENT_OPERATION,
                                    SFA_F_APP_PARENT_ATTRIBUTES};
    return flow_strings(rb, c->d, strs, 3);
}

static int
flow_app_initiator(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_string(rb, c->d, SFA_F_APP_INITIATOR);
}

static int
flow_app_target(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_string(rb, c->d, SFA_F_APP_TARGET);
}

static int
flow_ext_tcp_info(sfa_rbuf *rb, flow_ctx *c)
{
    static const uint16_t ids[] = {SFA_F_TCPINFODIRECTION, SFA_F_TCPMSSSND,     SFA_F_TCPMSSRCV,
                                   SFA_F_TCPUNACKED,       SFA_F_TCPLOST,       SFA_F_TCPRETRANS,
                                   SFA_F_TCPPMTU,          SFA_F_TCPRTT,        SFA_F_TCPRTTVAR,
                                   SFA_F_TCPCWNDSND,       SFA_F_TCPREORDERING, SFA_F_TCPRTTMIN};
    return flow_u32_run(rb, c->d, ids, 12);
}

static int
flow_ext_entities(sfa_rbuf *rb, flow_ctx *c)
{
    static const uint16_t ids[] = {SFA_F_ENTITY_SRC_CLASS, SFA_F_ENTITY_SRC_INDEX,
                                   SFA_F_ENTITY_DST_CLASS, SFA_F_ENTITY_DST_INDEX};
    return flow_u32_run(rb, c->d, ids, 4);
}

/* ---- deferred sampled_ethernet / ipv4 / ipv6 ---- */

static int
flow_has(const sfa_dgram *d, const sfa_sample *s, unsigned id)
{
    for (uint32_t i = s->field_first; i < d->nfields; i++)
        if (d->fields[i].id == id)
            return 1;
    return 0;
}

static void
flow_soft_u(sfa_dgram *d, const sfa_sample *s, unsigned id, uint64_t v)
{
    if (!flow_has(d, s, id))
        flow_u(d, id, v);
}

static void
flow_soft_bytes(sfa_dgram *d, const sfa_sample *s, unsigned id, unsigned type, const uint8_t *p,
                size_t n)
{
    if (!flow_has(d, s, id))
        flow_bytes(d, id, type, p, n);
}

/* Ports and flags of a sampled_ipv4/ipv6 record, by protocol. */
static void
flow_soft_ports(sfa_dgram *d, const sfa_sample *s, uint32_t proto, const uint8_t *q)
{
    if (proto == 6) {
        flow_soft_u(d, s, SFA_F_TCPSOURCEPORT, flow_be32(q));
        flow_soft_u(d, s, SFA_F_TCPDESTINATIONPORT, flow_be32(q + 4));
        flow_soft_u(d, s, SFA_F_TCPFLAGS, flow_be32(q + 8));
    } else if (proto == 17) {
        flow_soft_u(d, s, SFA_F_UDPSOURCEPORT, flow_be32(q));
        flow_soft_u(d, s, SFA_F_UDPDESTINATIONPORT, flow_be32(q + 4));
    }
}

static void
flow_deferred(flow_ctx *c)
{
    sfa_dgram *d = c->d;
    const sfa_sample *s = c->s;
    const uint8_t *p;

    if ((p = c->eth)) {
        flow_soft_u(d, s, SFA_F_FRAME_LENGTH, flow_be32(p));
        flow_soft_bytes(d, s, SFA_F_MACSOURCE, SFA_T_MAC, p + 4, 6);
        flow_soft_bytes(d, s, SFA_F_MACDESTINATION, SFA_T_MAC, p + 12, 6);
        flow_soft_u(d, s, SFA_F_ETHERNETPROTOCOL, flow_be32(p + 20));
    }
    if ((p = c->ip4)) {
        uint32_t proto = flow_be32(p + 4), tos = flow_be32(p + 28);
        flow_soft_u(d, s, SFA_F_IPBYTES, flow_be32(p));
        flow_soft_u(d, s, SFA_F_IPPROTOCOL, proto);
        flow_soft_bytes(d, s, SFA_F_IPSOURCE, SFA_T_IP4, p + 8, 4);
        flow_soft_bytes(d, s, SFA_F_IPDESTINATION, SFA_T_IP4, p + 12, 4);
        flow_soft_ports(d, s, proto, p + 16);
        flow_soft_u(d, s, SFA_F_IPTOS, tos);
        flow_soft_u(d, s, SFA_F_IPDSCP, (tos >> 2) & 0x3F);
        flow_soft_u(d, s, SFA_F_IPECN, tos & 3);
    }
    if ((p = c->ip6)) {
        uint32_t proto = flow_be32(p + 4);
        flow_soft_u(d, s, SFA_F_IP6BYTES, flow_be32(p));
        flow_soft_u(d, s, SFA_F_IP6NEXTHDR, proto);
        flow_soft_bytes(d, s, SFA_F_IP6SOURCE, SFA_T_IP6, p + 8, 16);
        flow_soft_bytes(d, s, SFA_F_IP6DESTINATION, SFA_T_IP6, p + 24, 16);
        flow_soft_ports(d, s, proto, p + 40);
        flow_soft_u(d, s, SFA_F_IP6TOS, flow_be32(p + 52));
    }
}

/* ---- record loop ---- */

/* Decode one record body; 0, SFA_EFORMAT (malformed), or -1 if unknown. */
static int
flow_dispatch(uint32_t tag, sfa_rbuf *sub, flow_ctx *c)
{
    switch (tag) {
#define COL_FLOW_FORMAT(ent, fmt, id, name, fn)                                                    \
    case (uint32_t)(ent) << 12 | (fmt):                                                            \
        c->st->flow_records[COL_FLOW_##id]++;                                                      \
        return fn(sub, c);
#define COL_COUNTER_FORMAT(ent, fmt, id, name, fn)
#include "sflow_formats.def"
#undef COL_FLOW_FORMAT
#undef COL_COUNTER_FORMAT
    default:
        c->st->flow_records_unknown++;
        return -1;
    }
}

int
col__flow_records(sfa_rbuf *rb, sfa_dgram *d, sfa_sample *s, col_decode_stats *st)
{
    flow_ctx c = {d, s, st, NULL, NULL, NULL};
    int err = 0;

    s->nrecords = sfa_rbuf_u32(rb);
    if (!sfa_rbuf_ok(rb))
        return SFA_EFORMAT;
    for (uint32_t i = 0; i < s->nrecords; i++) {
        if (sfa_rbuf_remaining(rb) < 8) {
            err = SFA_ETRUNC; /* fewer records than declared */
            break;
        }
        uint32_t tag = sfa_rbuf_u32(rb), rlen = sfa_rbuf_u32(rb);
        sfa_rbuf sub;
        if (rlen > sfa_rbuf_remaining(rb)) {
            st->records_malformed++;
            err = SFA_ETRUNC;
            break;
        }
        sfa_rbuf_sub(rb, rlen, &sub);
        if (d->nrecs >= SFA_DGRAM_MAX_RECORDS || d->nfields > SFA_DGRAM_MAX_FIELDS - FLOW_RESERVE) {
            err = SFA_ELIMIT;
            break;
        }
        d->rec_tags[d->nrecs++] = tag;
        uint32_t nf = d->nfields, na = d->arena_used;
        int rc = flow_dispatch(tag, &sub, &c);
        if (rc == 0 || rc == -1)
            continue;
        {
            /* Malformed record: drop its fields, keep going. */
            st->records_malformed++;
            d->nfields = nf;
            d->arena_used = na;
            if (!err)
                err = rc;
        }
    }
    if (c.eth || c.ip4 || c.ip6) {
        if (d->nfields <= SFA_DGRAM_MAX_FIELDS - FLOW_RESERVE)
            flow_deferred(&c);
        else if (!err)
            err = SFA_ELIMIT;
    }
    s->rec_count = d->nrecs - s->rec_first;
    s->field_count = d->nfields - s->field_first;
    return err;
}
