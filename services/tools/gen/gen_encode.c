/* gen_encode.c - sFlow v5 XDR encoding for sfa-gen.
 *
 * Encodes datagram headers, compact flow samples (sampled_header and
 * extended_switch records), compact interface counter samples and Host sFlow
 * counter samples, plus the Ethernet/IP/TCP|UDP bytes of a sampled header.
 * Written from the wire note (shared/spec/sflow-v5-wire.md) alone; it shares
 * no code with the collector's decoder on purpose. It does not decide what
 * to send (gen_model.c does) and never allocates. No globals; thread-safe.
 */
#include <string.h>

#include "gen_encode.h"

void
gen_xdr_init(gen_xdr *w, uint8_t *buf, size_t cap)
{
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->err = 0;
}

static uint8_t *
xdr_reserve(gen_xdr *w, size_t n)
{
    if (w->err || n > w->cap - w->len) {
        w->err = 1;
        return NULL;
    }
    uint8_t *p = w->buf + w->len;
    w->len += n;
    return p;
}

void
gen_xdr_u32(gen_xdr *w, uint32_t v)
{
    uint8_t *p = xdr_reserve(w, 4);
    if (p)
        gen_put32(p, v);
}

void
gen_xdr_u64(gen_xdr *w, uint64_t v)
{
    uint8_t *p = xdr_reserve(w, 8);
    if (p)
        gen_put64(p, v);
}

void
gen_xdr_float(gen_xdr *w, float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    gen_xdr_u32(w, u);
}

void
gen_xdr_fixed(gen_xdr *w, const void *src, size_t n)
{
    size_t padded = (n + 3) & ~(size_t)3;
    uint8_t *p = xdr_reserve(w, padded);
    if (!p)
        return;
    if (n)
        memcpy(p, src, n);
    memset(p + n, 0, padded - n);
}

void
gen_xdr_opaque(gen_xdr *w, const void *p, size_t n)
{
    /* Check the whole item first so a failed write leaves no half item. */
    if (w->err || 4 + ((n + 3) & ~(size_t)3) > w->cap - w->len) {
        w->err = 1;
        return;
    }
    gen_xdr_u32(w, (uint32_t)n);
    gen_xdr_fixed(w, p, n);
}

void
gen_xdr_string(gen_xdr *w, const char *s)
{
    gen_xdr_opaque(w, s, s ? strlen(s) : 0);
}

void
gen_xdr_addr(gen_xdr *w, const sfa_addr *a)
{
    if (a->family == 4) {
        gen_xdr_u32(w, 1);
        gen_xdr_fixed(w, a->a, 4);
    } else if (a->family == 6) {
        gen_xdr_u32(w, 2);
        gen_xdr_fixed(w, a->a, 16);
    } else {
        gen_xdr_u32(w, 0);
    }
}

size_t
gen_xdr_open(gen_xdr *w, uint32_t enterprise, uint32_t format)
{
    gen_xdr_u32(w, enterprise << 12 | (format & 0xfff));
    size_t off = w->len;
    gen_xdr_u32(w, 0);
    return off;
}

void
gen_xdr_close(gen_xdr *w, size_t len_off)
{
    if (w->err)
        return;
    gen_put32(w->buf + len_off, (uint32_t)(w->len - len_off - 4));
}

/* ---- datagram header ---- */

size_t
gen_dgram_header_len(const sfa_addr *agent)
{
    return agent->family == 6 ? 40 : agent->family == 4 ? 28 : 24;
}

void
gen_enc_dgram_header(gen_xdr *w, const sfa_addr *agent, uint32_t sub_agent, uint32_t seq,
                     uint32_t uptime_ms, uint32_t nsamples)
{
    gen_xdr_u32(w, 5);
    gen_xdr_addr(w, agent);
    gen_xdr_u32(w, sub_agent);
    gen_xdr_u32(w, seq);
    gen_xdr_u32(w, uptime_ms);
    gen_xdr_u32(w, nsamples);
}

/* ---- flow sample ---- */

void
gen_enc_flow_sample(gen_xdr *w, const gen_flow_desc *f)
{
    size_t s = gen_xdr_open(w, 0, 1);
    gen_xdr_u32(w, f->seq);
    gen_xdr_u32(w, f->source_id);
    gen_xdr_u32(w, f->rate);
    gen_xdr_u32(w, f->pool);
    gen_xdr_u32(w, f->drops);
    gen_xdr_u32(w, f->input);
    gen_xdr_u32(w, f->output);
    gen_xdr_u32(w, f->has_switch ? 2 : 1);

    size_t r = gen_xdr_open(w, 0, 1); /* sampled_header */
    gen_xdr_u32(w, f->header_protocol);
    gen_xdr_u32(w, f->frame_length);
    gen_xdr_u32(w, f->stripped);
    gen_xdr_opaque(w, f->header, f->header_len);
    gen_xdr_close(w, r);

    if (f->has_switch) {
        r = gen_xdr_open(w, 0, 1001); /* extended_switch */
        gen_xdr_u32(w, f->src_vlan);
        gen_xdr_u32(w, f->src_priority);
        gen_xdr_u32(w, f->dst_vlan);
        gen_xdr_u32(w, f->dst_priority);
        gen_xdr_close(w, r);
    }
    gen_xdr_close(w, s);
}

/* ---- counter samples ---- */

void
gen_enc_ifc_sample(gen_xdr *w, uint32_t seq, uint32_t source_id, const gen_ifc_desc *c)
{
    size_t s = gen_xdr_open(w, 0, 2);
    gen_xdr_u32(w, seq);
    gen_xdr_u32(w, source_id);
    gen_xdr_u32(w, 1);

    size_t r = gen_xdr_open(w, 0, 1); /* if_counters, 88 bytes */
    gen_xdr_u32(w, c->ifindex);
    gen_xdr_u32(w, c->iftype);
    gen_xdr_u64(w, c->speed);
    gen_xdr_u32(w, c->direction);
    gen_xdr_u32(w, c->status);
    gen_xdr_u64(w, c->in_octets);
    gen_xdr_u32(w, c->in_ucast);
    gen_xdr_u32(w, c->in_mcast);
    gen_xdr_u32(w, c->in_bcast);
    gen_xdr_u32(w, c->in_discards);
    gen_xdr_u32(w, c->in_errors);
    gen_xdr_u32(w, c->in_unknown);
    gen_xdr_u64(w, c->out_octets);
    gen_xdr_u32(w, c->out_ucast);
    gen_xdr_u32(w, c->out_mcast);
    gen_xdr_u32(w, c->out_bcast);
    gen_xdr_u32(w, c->out_discards);
    gen_xdr_u32(w, c->out_errors);
    gen_xdr_u32(w, c->promisc);
    gen_xdr_close(w, r);
    gen_xdr_close(w, s);
}

static void
enc_host_descr(gen_xdr *w, const gen_host_desc *h)
{
    size_t r = gen_xdr_open(w, 0, 2000);
    gen_xdr_string(w, h->hostname);
    gen_xdr_fixed(w, h->uuid, 16); /* 16 raw bytes, no length word (spec 6.3) */
    gen_xdr_u32(w, h->machine_type);
    gen_xdr_u32(w, h->os_name);
    gen_xdr_string(w, h->os_release);
    gen_xdr_close(w, r);
}

static void
enc_host_cpu(gen_xdr *w, const gen_host_desc *h)
{
    size_t r = gen_xdr_open(w, 0, 2003); /* the 68-byte form */
    gen_xdr_float(w, h->load_one);
    gen_xdr_float(w, h->load_five);
    gen_xdr_float(w, h->load_fifteen);
    gen_xdr_u32(w, h->proc_run);
    gen_xdr_u32(w, h->proc_total);
    gen_xdr_u32(w, h->cpu_num);
    gen_xdr_u32(w, h->cpu_speed);
    gen_xdr_u32(w, h->uptime_s);
    gen_xdr_u32(w, h->cpu_user);
    gen_xdr_u32(w, h->cpu_nice);
    gen_xdr_u32(w, h->cpu_system);
    gen_xdr_u32(w, h->cpu_idle);
    gen_xdr_u32(w, h->cpu_wio);
    gen_xdr_u32(w, h->cpu_intr);
    gen_xdr_u32(w, h->cpu_sintr);
    gen_xdr_u32(w, h->interrupts);
    gen_xdr_u32(w, h->contexts);
    gen_xdr_close(w, r);
}

static void
enc_host_memory(gen_xdr *w, const gen_host_desc *h)
{
    size_t r = gen_xdr_open(w, 0, 2004);
    gen_xdr_u64(w, h->mem_total);
    gen_xdr_u64(w, h->mem_free);
    gen_xdr_u64(w, h->mem_shared);
    gen_xdr_u64(w, h->mem_buffers);
    gen_xdr_u64(w, h->mem_cached);
    gen_xdr_u64(w, h->swap_total);
    gen_xdr_u64(w, h->swap_free);
    gen_xdr_u32(w, h->page_in);
    gen_xdr_u32(w, h->page_out);
    gen_xdr_u32(w, h->swap_in);
    gen_xdr_u32(w, h->swap_out);
    gen_xdr_close(w, r);
}

static void
enc_host_net_io(gen_xdr *w, const gen_host_desc *h)
{
    size_t r = gen_xdr_open(w, 0, 2006);
    gen_xdr_u64(w, h->bytes_in);
    gen_xdr_u32(w, h->pkts_in);
    gen_xdr_u32(w, h->errs_in);
    gen_xdr_u32(w, h->drops_in);
    gen_xdr_u64(w, h->bytes_out);
    gen_xdr_u32(w, h->pkts_out);
    gen_xdr_u32(w, h->errs_out);
    gen_xdr_u32(w, h->drops_out);
    gen_xdr_close(w, r);
}

void
gen_enc_host_sample(gen_xdr *w, uint32_t seq, uint32_t source_id, const gen_host_desc *h)
{
    size_t s = gen_xdr_open(w, 0, 2);
    gen_xdr_u32(w, seq);
    gen_xdr_u32(w, source_id);
    gen_xdr_u32(w, 4);
    enc_host_descr(w, h);
    enc_host_cpu(w, h);
    enc_host_memory(w, h);
    enc_host_net_io(w, h);
    gen_xdr_close(w, s);
}

/* ---- sampled packet bytes ---- */

uint32_t
gen_csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
    size_t i;
    for (i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    if (i < n)
        sum += (uint32_t)p[i] << 8;
    return sum;
}

uint16_t
gen_csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static size_t
packet_l2_len(const gen_pkt_desc *p)
{
    return p->vlan ? 18 : 14;
}

static size_t
packet_l4_len(const gen_pkt_desc *p)
{
    return p->protocol == 6 ? 20 : 8;
}

uint32_t
gen_packet_min_frame(const gen_pkt_desc *p)
{
    size_t l3 = p->src.family == 6 ? 40 : 20;
    return (uint32_t)(packet_l2_len(p) + l3 + packet_l4_len(p) + 4);
}

static size_t
packet_eth(uint8_t *b, const gen_pkt_desc *p)
{
    size_t o = 12;
    memcpy(b, p->mac_dst, 6);
    memcpy(b + 6, p->mac_src, 6);
    if (p->vlan) {
        uint16_t tci = (uint16_t)((p->priority & 7) << 13 | (p->vlan & 0xfff));
        b[o++] = 0x81;
        b[o++] = 0x00;
        b[o++] = (uint8_t)(tci >> 8);
        b[o++] = (uint8_t)tci;
    }
    b[o++] = p->src.family == 6 ? 0x86 : 0x08;
    b[o++] = p->src.family == 6 ? 0xdd : 0x00;
    return o;
}

static size_t
packet_ip4(uint8_t *b, const gen_pkt_desc *p, uint32_t ip_len)
{
    b[0] = 0x45;
    b[1] = p->tos;
    b[2] = (uint8_t)(ip_len >> 8);
    b[3] = (uint8_t)ip_len;
    b[4] = (uint8_t)(p->sport >> 8); /* identification: any stable value */
    b[5] = (uint8_t)p->sport;
    b[6] = 0x40; /* DF */
    b[7] = 0;
    b[8] = 64; /* TTL */
    b[9] = p->protocol;
    b[10] = b[11] = 0;
    memcpy(b + 12, p->src.a, 4);
    memcpy(b + 16, p->dst.a, 4);
    uint16_t c = gen_csum_fold(gen_csum_add(0, b, 20));
    b[10] = (uint8_t)(c >> 8);
    b[11] = (uint8_t)c;
    return 20;
}

static size_t
packet_ip6(uint8_t *b, const gen_pkt_desc *p, uint32_t ip_len)
{
    uint32_t plen = ip_len - 40;
    b[0] = (uint8_t)(0x60 | p->tos >> 4);
    b[1] = (uint8_t)(p->tos << 4);
    b[2] = (uint8_t)(p->sport >> 8); /* flow label low bits: any stable value */
    b[3] = (uint8_t)p->sport;
    b[4] = (uint8_t)(plen >> 8);
    b[5] = (uint8_t)plen;
    b[6] = p->protocol;
    b[7] = 64; /* hop limit */
    memcpy(b + 8, p->src.a, 16);
    memcpy(b + 24, p->dst.a, 16);
    return 40;
}

static size_t
packet_l4(uint8_t *b, const gen_pkt_desc *p, uint32_t l4_len)
{
    b[0] = (uint8_t)(p->sport >> 8);
    b[1] = (uint8_t)p->sport;
    b[2] = (uint8_t)(p->dport >> 8);
    b[3] = (uint8_t)p->dport;
    if (p->protocol == 6) {
        memset(b + 4, 0, 16);
        b[7] = 1;     /* sequence number 1 */
        b[11] = 1;    /* ack number 1 */
        b[12] = 0x50; /* data offset 5 words */
        b[13] = 0x18; /* PSH | ACK */
        b[14] = 0xfa; /* window 64000 */
        b[15] = 0x00;
        return 20;
    }
    b[4] = (uint8_t)(l4_len >> 8);
    b[5] = (uint8_t)l4_len;
    b[6] = b[7] = 0; /* checksum not computed (the payload is not sampled) */
    return 8;
}

int
gen_enc_packet(uint8_t *out, size_t cap, const gen_pkt_desc *p, uint32_t frame_len)
{
    uint8_t full[128];
    int rc = SFA_EFORMAT;

    if (frame_len < gen_packet_min_frame(p) || (p->protocol != 6 && p->protocol != 17))
        goto fail;
    if (p->src.family != p->dst.family || (p->src.family != 4 && p->src.family != 6))
        goto fail;

    /* Build all headers in a local buffer (they fit in 18 + 40 + 20 bytes),
     * then copy the prefix the caller has room for, zero-filling payload. */
    uint32_t ip_len = frame_len - 4 - (uint32_t)packet_l2_len(p);
    size_t o = packet_eth(full, p);
    o += p->src.family == 6 ? packet_ip6(full + o, p, ip_len) : packet_ip4(full + o, p, ip_len);
    uint32_t l4_len = frame_len - 4 - (uint32_t)o;
    o += packet_l4(full + o, p, l4_len);

    size_t n = frame_len - 4;
    if (n > cap)
        n = cap;
    memset(out, 0, n);
    memcpy(out, full, o < n ? o : n);
    rc = (int)n;
fail:
    return rc;
}
