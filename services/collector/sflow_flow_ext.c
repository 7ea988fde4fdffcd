/* sflow_flow_ext.c - decoders of the extended flow records (0:1001 ..
 * 0:2210): switch, router, gateway (AS path), user, URL, MPLS, NAT, VLAN
 * tunnel, 802.11, L2/IPv4/IPv6 tunnels, decapsulation, VNI, queues and
 * drops, timestamps, sockets, memcache, HTTP and application records.
 *
 * Each col__flow_...() decoder is called by the record loop of
 * sflow_flow.c (dispatch generated from sflow_formats.def) with a bounded
 * reader over one record body; it appends fields to the sample (capacity
 * reserved by the loop) and returns 0 or SFA_EFORMAT when the record is
 * shorter than its fixed part, has a lying inner count or length, or a bad
 * address type. Bytes beyond what is known are ignored.
 *
 * Pure: no I/O, no allocation, no globals.
 */
#include "sflow_flow_int.h"

/* ---- helpers of the extended records ---- */

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

/* ---- standard extended records 0:1001 .. 0:1012 ---- */

int
col__flow_ext_switch(sfa_rbuf *rb, flow_ctx *c)
{
    static const uint16_t ids[] = {SFA_F_VLANSOURCE, SFA_F_PRIORITYSOURCE, SFA_F_VLANDESTINATION,
                                   SFA_F_PRIORITYDESTINATION};
    return flow_u32_run(rb, c->d, ids, 4);
}

int
col__flow_ext_router(sfa_rbuf *rb, flow_ctx *c)
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

int
col__flow_ext_gateway(sfa_rbuf *rb, flow_ctx *c)
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

int
col__flow_ext_user(sfa_rbuf *rb, flow_ctx *c)
{
    sfa_dgram *d = c->d;
    if (flow_u32_one(rb, d, SFA_F_USER_SRC_CHARSET) || flow_string(rb, d, SFA_F_USER_SRC) ||
        flow_u32_one(rb, d, SFA_F_USER_DST_CHARSET) || flow_string(rb, d, SFA_F_USER_DST))
        return SFA_EFORMAT;
    return 0;
}

int
col__flow_ext_url(sfa_rbuf *rb, flow_ctx *c)
{
    sfa_dgram *d = c->d;
    if (flow_u32_one(rb, d, SFA_F_URL_DIRECTION) || flow_string(rb, d, SFA_F_URL) ||
        flow_string(rb, d, SFA_F_URL_HOST))
        return SFA_EFORMAT;
    return 0;
}

int
col__flow_ext_mpls(sfa_rbuf *rb, flow_ctx *c)
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

int
col__flow_ext_nat(sfa_rbuf *rb, flow_ctx *c)
{
    const uint8_t *src, *dst;
    int fs, fd;
    if (flow_addr(rb, &fs, &src) || flow_addr(rb, &fd, &dst))
        return SFA_EFORMAT;
    flow_addr_field(c->d, SFA_F_NAT_SRC, fs, src);
    flow_addr_field(c->d, SFA_F_NAT_DST, fd, dst);
    return 0;
}

int
col__flow_ext_mpls_tunnel(sfa_rbuf *rb, flow_ctx *c)
{
    static const uint16_t ids[] = {SFA_F_MPLS_TUNNEL_ID, SFA_F_MPLS_TUNNEL_COS};
    if (flow_string(rb, c->d, SFA_F_MPLS_TUNNEL_NAME))
        return SFA_EFORMAT;
    return flow_u32_run(rb, c->d, ids, 2);
}

int
col__flow_ext_mpls_vc(sfa_rbuf *rb, flow_ctx *c)
{
    static const uint16_t ids[] = {SFA_F_MPLS_VC_ID, SFA_F_MPLS_VC_COS};
    if (flow_string(rb, c->d, SFA_F_MPLS_VC_NAME))
        return SFA_EFORMAT;
    return flow_u32_run(rb, c->d, ids, 2);
}

int
col__flow_ext_mpls_ftn(sfa_rbuf *rb, flow_ctx *c)
{
    if (flow_string(rb, c->d, SFA_F_MPLS_FTN_DESCR))
        return SFA_EFORMAT;
    return flow_u32_one(rb, c->d, SFA_F_MPLS_FTN_MASK);
}

int
col__flow_ext_mpls_ldp_fec(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_u32_one(rb, c->d, SFA_F_MPLS_FEC_PREFIX_LEN);
}

int
col__flow_ext_vlantunnel(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_words(rb, c->d, SFA_F_VLAN_STACK);
}

/* ---- 802.11 0:1013 .. 0:1016 ---- */

int
col__flow_ext_80211_payload(sfa_rbuf *rb, flow_ctx *c)
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

int
col__flow_ext_80211_rx(sfa_rbuf *rb, flow_ctx *c)
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

int
col__flow_ext_80211_tx(sfa_rbuf *rb, flow_ctx *c)
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
int
col__flow_skip(sfa_rbuf *rb, flow_ctx *c)
{
    return 0;
}

/* ---- tunnels, drops, timing 0:1020 .. 0:1043 ---- */

int
col__flow_ext_nat_port(sfa_rbuf *rb, flow_ctx *c)
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

int
col__flow_ext_l2_tunnel_egress(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_tunnel_l2(rb, c->d, &flow_tun_egress);
}

int
col__flow_ext_l2_tunnel_ingress(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_tunnel_l2(rb, c->d, &flow_tun_ingress);
}

int
col__flow_ext_ipv4_tunnel_egress(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_tunnel_ip(rb, c->d, &flow_tun_egress, 4);
}

int
col__flow_ext_ipv4_tunnel_ingress(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_tunnel_ip(rb, c->d, &flow_tun_ingress, 4);
}

int
col__flow_ext_ipv6_tunnel_egress(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_tunnel_ip(rb, c->d, &flow_tun_egress, 16);
}

int
col__flow_ext_ipv6_tunnel_ingress(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_tunnel_ip(rb, c->d, &flow_tun_ingress, 16);
}

int
col__flow_ext_decap_egress(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_u32_one(rb, c->d, SFA_F_DECAP_EGRESS_OFFSET);
}

int
col__flow_ext_decap_ingress(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_u32_one(rb, c->d, SFA_F_DECAP_INGRESS_OFFSET);
}

int
col__flow_ext_vni_egress(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_u32_one(rb, c->d, SFA_F_VNI_EGRESS);
}

int
col__flow_ext_vni_ingress(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_u32_one(rb, c->d, SFA_F_VNI_INGRESS);
}

int
col__flow_ext_egress_queue(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_u32_one(rb, c->d, SFA_F_QUEUEINDEX);
}

int
col__flow_ext_function(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_string(rb, c->d, SFA_F_FUNCTION);
}

int
col__flow_ext_transit(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_u32_one(rb, c->d, SFA_F_TRANSITDELAY);
}

int
col__flow_ext_queue(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_u32_one(rb, c->d, SFA_F_QUEUEDEPTH);
}

int
col__flow_ext_hw_trap(sfa_rbuf *rb, flow_ctx *c)
{
    if (flow_string(rb, c->d, SFA_F_HW_TRAP_GROUP) || flow_string(rb, c->d, SFA_F_HW_TRAP))
        return SFA_EFORMAT;
    return 0;
}

int
col__flow_ext_linux_drop_reason(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_string(rb, c->d, SFA_F_LINUX_DROP_REASON);
}

int
col__flow_ext_timestamp(sfa_rbuf *rb, flow_ctx *c)
{
    const uint8_t *p = flow_fixed(rb, 8);
    if (!p)
        return SFA_EFORMAT;
    flow_u(c->d, SFA_F_TIMESTAMP_NS, flow_be64(p));
    return 0;
}

/* ---- host / application records 0:2100 .. 0:2210 ---- */

/* protocol, local ip, remote ip, local port, remote port (ids in that order).
 */
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

int
col__flow_ext_socket_ipv4(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_socket(rb, c->d, flow_socket_ids, 4);
}

int
col__flow_ext_socket_ipv6(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_socket(rb, c->d, flow_socket_ids, 16);
}

int
col__flow_ext_proxy_socket_ipv4(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_socket(rb, c->d, flow_proxy_ids, 4);
}

int
col__flow_ext_proxy_socket_ipv6(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_socket(rb, c->d, flow_proxy_ids, 16);
}

int
col__flow_memcache_operation(sfa_rbuf *rb, flow_ctx *c)
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

int
col__flow_http_request_v1(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_http(rb, c->d, 0);
}

int
col__flow_http_request(sfa_rbuf *rb, flow_ctx *c)
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

int
col__flow_app_operation(sfa_rbuf *rb, flow_ctx *c)
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

int
col__flow_app_parent_context(sfa_rbuf *rb, flow_ctx *c)
{
    static const uint16_t strs[] = {SFA_F_APP_PARENT_NAME, SFA_F_APP_PARENT_OPERATION,
                                    SFA_F_APP_PARENT_ATTRIBUTES};
    return flow_strings(rb, c->d, strs, 3);
}

int
col__flow_app_initiator(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_string(rb, c->d, SFA_F_APP_INITIATOR);
}

int
col__flow_app_target(sfa_rbuf *rb, flow_ctx *c)
{
    return flow_string(rb, c->d, SFA_F_APP_TARGET);
}

int
col__flow_ext_tcp_info(sfa_rbuf *rb, flow_ctx *c)
{
    static const uint16_t ids[] = {SFA_F_TCPINFODIRECTION, SFA_F_TCPMSSSND,     SFA_F_TCPMSSRCV,
                                   SFA_F_TCPUNACKED,       SFA_F_TCPLOST,       SFA_F_TCPRETRANS,
                                   SFA_F_TCPPMTU,          SFA_F_TCPRTT,        SFA_F_TCPRTTVAR,
                                   SFA_F_TCPCWNDSND,       SFA_F_TCPREORDERING, SFA_F_TCPRTTMIN};
    return flow_u32_run(rb, c->d, ids, 12);
}

int
col__flow_ext_entities(sfa_rbuf *rb, flow_ctx *c)
{
    static const uint16_t ids[] = {SFA_F_ENTITY_SRC_CLASS, SFA_F_ENTITY_SRC_INDEX,
                                   SFA_F_ENTITY_DST_CLASS, SFA_F_ENTITY_DST_INDEX};
    return flow_u32_run(rb, c->d, ids, 4);
}
