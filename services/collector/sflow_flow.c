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
 * This file holds the sample framing and the sampled packet records; the
 * extended records' decoders are in sflow_flow_ext.c, the helpers both
 * use in sflow_flow_int.h.
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
#include "sflow_flow_int.h"

/* ---- sampled packet data 0:1 .. 0:4 ---- */

int
col__flow_sampled_header(sfa_rbuf *rb, flow_ctx *c)
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

int
col__flow_sampled_ethernet(sfa_rbuf *rb, flow_ctx *c)
{
    c->eth = flow_fixed(rb, 24);
    return c->eth ? 0 : SFA_EFORMAT;
}

int
col__flow_sampled_ipv4(sfa_rbuf *rb, flow_ctx *c)
{
    c->ip4 = flow_fixed(rb, 32);
    return c->ip4 ? 0 : SFA_EFORMAT;
}

int
col__flow_sampled_ipv6(sfa_rbuf *rb, flow_ctx *c)
{
    c->ip6 = flow_fixed(rb, 56);
    return c->ip6 ? 0 : SFA_EFORMAT;
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
        return col__##fn(sub, c);
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
