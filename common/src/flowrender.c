/* flowrender.c - text forms of flow key values, as sFlow-RT prints them.
 *
 * Every key value becomes text before it is joined into a flow key,
 * compared in a filter or hashed for count:. The forms follow sFlow-RT:
 * addresses as text (IPv6 as glibc's inet_ntop prints it, the same as
 * sfa_addr_format), MACs as 12 upper-case hex digits, flag fields as bit
 * strings, numbers in decimal, strings as they are. Rendering is
 * hand-written (no printf on the hot path except for floating point) and
 * never allocates. Pure functions; safe from any thread.
 */
#include <stdio.h>
#include <string.h>

#include "flowdef_int.h"

static const char fr_hexu[] = "0123456789ABCDEF";
static const char fr_hexl[] = "0123456789abcdef";

/* Decimal digits of u into out (at least 20 bytes); returns the length. */
static size_t
fr_u64(uint64_t u, char *out)
{
    char tmp[20];
    size_t n = 0;

    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* Each octet's text and a dot, as a word whose lowest byte is the first
 * character (the byte order in memory on little-endian), built at compile
 * time; its length is 2, 3 or 4. */
#define FR_OCT(b)                                                                                  \
    ((b) >= 100 ? (uint32_t)('0' + (b) / 100) | (uint32_t)('0' + (b) / 10 % 10) << 8 |             \
                      (uint32_t)('0' + (b) % 10) << 16 | (uint32_t)'.' << 24                       \
     : (b) >= 10                                                                                   \
         ? (uint32_t)('0' + (b) / 10) | (uint32_t)('0' + (b) % 10) << 8 | (uint32_t)'.' << 16      \
         : (uint32_t)('0' + (b)) | (uint32_t)'.' << 8)
#define FR_OCT4(b) FR_OCT(b), FR_OCT((b) + 1), FR_OCT((b) + 2), FR_OCT((b) + 3)
#define FR_OCT16(b) FR_OCT4(b), FR_OCT4((b) + 4), FR_OCT4((b) + 8), FR_OCT4((b) + 12)
#define FR_OCT64(b) FR_OCT16(b), FR_OCT16((b) + 16), FR_OCT16((b) + 32), FR_OCT16((b) + 48)

static const uint32_t fr_oct[256] = {FR_OCT64(0), FR_OCT64(64), FR_OCT64(128), FR_OCT64(192)};

/* Dotted quad into out (at least 16 bytes): each octet's word is stored
 * whole and the next one overwrites what follows its text. No branches on
 * the number of digits, which random addresses would mispredict. */
static size_t
fr_ip4(const uint8_t *a, char *out)
{
    size_t n = 0;

    for (int i = 0; i < 4; i++) {
        uint32_t w = fr_oct[a[i]];

#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        w = __builtin_bswap32(w);
#endif
        memcpy(out + n, &w, 4);
        n += 2 + (a[i] >= 10) + (a[i] >= 100);
    }
    return n - 1;
}

static size_t
fr_hex16(unsigned w, char *out)
{
    size_t n = 0;
    int started = 0;

    for (int sh = 12; sh >= 0; sh -= 4) {
        unsigned d = (w >> sh) & 0xf;
        if (d || started || sh == 0) {
            out[n++] = fr_hexl[d];
            started = 1;
        }
    }
    return n;
}

/* IPv6 text in the form glibc's inet_ntop produces: the longest run of two
 * or more zero words (the first on a tie) becomes "::", and ::a.b.c.d and
 * ::ffff:a.b.c.d keep the embedded IPv4 address in dotted form. */
static size_t
fr_ip6(const uint8_t *a, char *out)
{
    unsigned w[8];
    int best = -1, bestlen = 0, cur = -1, curlen = 0;
    size_t n = 0;

    for (int i = 0; i < 8; i++) {
        w[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
        if (w[i] == 0) {
            if (cur < 0)
                cur = i, curlen = 0;
            curlen++;
            if (curlen > bestlen)
                best = cur, bestlen = curlen;
        } else {
            cur = -1;
        }
    }
    if (bestlen < 2)
        best = -1;
    for (int i = 0; i < 8; i++) {
        if (best >= 0 && i >= best && i < best + bestlen) {
            if (i == best)
                out[n++] = ':';
            continue;
        }
        if (i)
            out[n++] = ':';
        if (i == 6 && best == 0 && (bestlen == 6 || (bestlen == 5 && w[5] == 0xffff)))
            return n + fr_ip4(a + 12, out + n);
        n += fr_hex16(w[i], out + n);
    }
    if (best >= 0 && best + bestlen == 8)
        out[n++] = ':';
    return n;
}

static size_t
fr_mac(const uint8_t *a, char *out)
{
    for (int i = 0; i < 6; i++) {
        out[2 * i] = fr_hexu[a[i] >> 4];
        out[2 * i + 1] = fr_hexu[a[i] & 0xf];
    }
    return 12;
}

static size_t
fr_bits(uint64_t u, unsigned nbits, char *out)
{
    for (unsigned i = 0; i < nbits; i++)
        out[i] = (u >> (nbits - 1 - i)) & 1 ? '1' : '0';
    return nbits;
}

static size_t
fr_uuid(const uint8_t *p, char *out)
{
    size_t n = 0;

    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[n++] = '-';
        out[n++] = fr_hexl[p[i] >> 4];
        out[n++] = fr_hexl[p[i] & 0xf];
    }
    return n;
}

static size_t
fr_str(const char *s, size_t len, char *out)
{
    memcpy(out, s, len);
    return len;
}

/* DSCP code point names (RFC 2474, 2597, 3246, 5865, 8622). */
static const char *
fr_dscp_name(unsigned v)
{
    static const char *const names[64] = {
        [0] = "be",    [1] = "le",    [8] = "cs1",   [10] = "af11", [12] = "af12", [14] = "af13",
        [16] = "cs2",  [18] = "af21", [20] = "af22", [22] = "af23", [24] = "cs3",  [26] = "af31",
        [28] = "af32", [30] = "af33", [32] = "cs4",  [34] = "af41", [36] = "af42", [38] = "af43",
        [40] = "cs5",  [44] = "va",   [46] = "ef",   [48] = "cs6",  [56] = "cs7",
    };
    return v < 64 ? names[v] : NULL;
}

/* Drop reason names of the sFlow drop notification structures. */
static const char *
fr_reason_name(unsigned v)
{
    static const char *const icmp[16] = {
        "net_unreachable",           "host_unreachable",      "protocol_unreachable",
        "port_unreachable",          "frag_needed",           "src_route_failed",
        "dst_net_unknown",           "dst_host_unknown",      "src_host_isolated",
        "dst_net_prohibited",        "dst_host_prohibited",   "dst_net_tos_unreachable",
        "dst_host_tos_unreacheable", "comm_admin_prohibited", "host_precedence_violation",
        "precedence_cutoff",
    };
    static const char *const ext[] = {
        "unknown",
        "ttl_exceeded",
        "acl",
        "no_buffer_space",
        "red",
        "traffic_shaping",
        "pkt_too_big",
        "src_mac_is_multicast",
        "vlan_tag_mismatch",
        "ingress_vlan_filter",
        "ingress_spanning_tree_filter",
        "port_list_is_empty",
        "port_loopback_filter",
        "blackhole_route",
        "non_ip",
        "uc_dip_over_mc_dmac",
        "dip_is_loopback_address",
        "sip_is_mc",
        "sip_is_loopback_address",
        "ip_header_corrupted",
        "ipv4_sip_is_limited_bc",
        "ipv6_mc_dip_reserved_scope",
        "ipv6_mc_dip_interface_local_scope",
        "unresolved_neigh",
        "mc_reverse_path_forwarding",
        "non_routable_packet",
        "decap_error",
        "overlay_smac_is_mc",
        "unknown_l2",
        "unknown_l3",
        "unknown_l3_exception",
        "unknown_buffer",
        "unknown_tunnel",
        "unknown_l4",
    };
    if (v < 16)
        return icmp[v];
    if (v >= 256 && v - 256 < sizeof ext / sizeof ext[0])
        return ext[v - 256];
    return NULL;
}

/* Interface encoding (sFlow v5 4.7) as sFlow-RT names it. */
static size_t
fr_ifx(uint64_t u, char *out)
{
    unsigned fmt = (unsigned)(u >> 32), val = (unsigned)u;

    switch (fmt) {
    case 0:
        if (val == 0x3FFFFFFF)
            return fr_str("internal", 8, out);
        return fr_u64(val, out);
    case 1:
        return fr_str("discard", 7, out);
    case 2:
        return fr_str("multiple", 8, out);
    default:
        return fr_str("unknown", 7, out);
    }
}

/* Kinds whose text is at most 64 bytes, rendered through a small buffer. */
static size_t
fr_fixed(const fk_val *v, char *out)
{
    const char *name;
    size_t n;

    switch (v->kind) {
    case FV_U:
        return fr_u64(v->v.u, out);
    case FV_I:
        if (v->v.i < 0) {
            out[0] = '-';
            return 1 + fr_u64(0 - (uint64_t)v->v.i, out + 1);
        }
        return fr_u64((uint64_t)v->v.i, out);
    case FV_F:
        n = (size_t)snprintf(out, 64, "%.15g", v->v.d);
        return n < 64 ? n : 63;
    case FV_BOOL:
        return v->v.u ? fr_str("true", 4, out) : fr_str("false", 5, out);
    case FV_YESNO:
        return v->v.u ? fr_str("yes", 3, out) : fr_str("no", 2, out);
    case FV_BITS:
        return fr_bits(v->v.u, v->nbits, out);
    case FV_IP4:
        return fr_ip4(v->v.a, out);
    case FV_IP6:
        return fr_ip6(v->v.a, out);
    case FV_MAC:
        return fr_mac(v->v.a, out);
    case FV_UUID:
        return fr_uuid(v->v.p, out);
    case FV_COUNTN:
        return fr_u64(v->n, out);
    case FV_DS:
        if (v->v.u >> 32 == 0)
            return fr_u64(v->v.u & 0xffffffffu, out);
        n = fr_u64(v->v.u >> 32, out);
        out[n++] = '.';
        return n + fr_u64(v->v.u & 0xffffffffu, out + n);
    case FV_IFX:
        return fr_ifx(v->v.u, out);
    case FV_DSCP:
        name = fr_dscp_name((unsigned)v->v.u);
        if (!name)
            return fr_u64(v->v.u, out);
        n = strlen(name);
        memcpy(out, name, n);
        out[n++] = '(';
        n += fr_u64(v->v.u, out + n);
        out[n++] = ')';
        return n;
    case FV_REASON:
        name = fr_reason_name((unsigned)v->v.u);
        return name ? fr_str(name, strlen(name), out) : fr_u64(v->v.u, out);
    default:
        return 0;
    }
}

static uint32_t
fr_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Communities: each word as "high16:low16", joined by '-'. */
static size_t
fr_comm(const fk_val *v, char *out, size_t cap)
{
    size_t n = 0;
    char tmp[24];

    for (uint32_t i = 0; i < v->n; i++) {
        uint32_t w = fr_be32(v->v.p + 4 * i);
        size_t k = 0;
        if (i)
            tmp[k++] = '-';
        k += fr_u64(w >> 16, tmp + k);
        tmp[k++] = ':';
        k += fr_u64(w & 0xffff, tmp + k);
        if (n + k > cap)
            return (size_t)-1;
        memcpy(out + n, tmp, k);
        n += k;
    }
    return n;
}

/* AS path: every ASN of every segment, in order, joined by '-'. The
 * segments were validated by the decoder (type, count, count words). */
static size_t
fr_aspath(const fk_val *v, char *out, size_t cap)
{
    const uint8_t *p = v->v.p;
    size_t n = 0;
    int first = 1;
    char tmp[24];

    for (uint32_t s = 0; s < v->n; s++) {
        uint32_t cnt = fr_be32(p + 4);
        p += 8;
        for (uint32_t i = 0; i < cnt; i++, p += 4) {
            size_t k = 0;
            if (!first)
                tmp[k++] = '-';
            first = 0;
            k += fr_u64(fr_be32(p), tmp + k);
            if (n + k > cap)
                return (size_t)-1;
            memcpy(out + n, tmp, k);
            n += k;
        }
    }
    return n;
}

size_t
sfa__fk_render(const fk_val *v, char *out, size_t cap)
{
    char tmp[64];
    size_t n;

    switch (v->kind) {
    case FV_STR:
        if (v->n > cap)
            return (size_t)-1;
        memcpy(out, v->v.p, v->n);
        return v->n;
    case FV_HEX:
        if ((size_t)v->n * 2 > cap)
            return (size_t)-1;
        for (uint32_t i = 0; i < v->n; i++) {
            out[2 * i] = fr_hexu[v->v.p[i] >> 4];
            out[2 * i + 1] = fr_hexu[v->v.p[i] & 0xf];
        }
        return (size_t)v->n * 2;
    case FV_COMM:
        return fr_comm(v, out, cap);
    case FV_ASPATH:
        return fr_aspath(v, out, cap);
    default:
        break;
    }
    if (cap >= sizeof tmp)
        return fr_fixed(v, out);
    n = fr_fixed(v, tmp);
    if (n > cap)
        return (size_t)-1;
    memcpy(out, tmp, n);
    return n;
}

const char *
sfa__fk_text(fd_ctx *x, const fk_val *v, size_t *len)
{
    char *out = x->scratch + x->sused;
    size_t n;

    if (v->kind == FV_STR) {
        *len = v->n; /* already text; no copy */
        return (const char *)v->v.p;
    }
    n = sfa__fk_render(v, out, sizeof x->scratch - x->sused);
    if (n == (size_t)-1)
        return NULL;
    x->sused += n;
    *len = n;
    return out;
}

int
sfa__fk_number(const fk_val *v, double *out)
{
    switch (v->kind) {
    case FV_U:
    case FV_BOOL:
    case FV_YESNO:
    case FV_BITS:
    case FV_DSCP:
    case FV_REASON:
        *out = (double)v->v.u;
        return 1;
    case FV_I:
        *out = (double)v->v.i;
        return 1;
    case FV_F:
        *out = v->v.d;
        return 1;
    default:
        return 0;
    }
}
