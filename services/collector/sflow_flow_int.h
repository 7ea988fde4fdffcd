/* sflow_flow_int.h - what the flow record decoders share (private to the
 * collector: sflow_flow.c, sflow_flow_ext.c).
 *
 * col__flow_records() (sflow_flow.c) carves each record of a flow sample
 * into its own bounded reader and dispatches it, through a switch
 * generated from sflow_formats.def, to col__<decode_fn>(): the sampled
 * packet records (0:1..0:4) live in sflow_flow.c, the extended records
 * (0:1001..0:2210) in sflow_flow_ext.c. Before each record FLOW_RESERVE
 * field slots are checked, so decoders append fields without checking.
 * Decoders return 0 or SFA_EFORMAT (the record is malformed: its fields
 * are rolled back); they borrow rb and c, allocate nothing and never read
 * past rb. Pure, single-threaded per call.
 */
#ifndef COL_SFLOW_FLOW_INT_H
#define COL_SFLOW_FLOW_INT_H

#include <string.h>

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

/* One decoder per flow record format of sflow_formats.def. */
#define COL_FLOW_FORMAT(ent, fmt, id, name, fn) int col__##fn(sfa_rbuf *rb, flow_ctx *c);
#define COL_COUNTER_FORMAT(ent, fmt, id, name, fn)
#include "sflow_formats.def"
#undef COL_FLOW_FORMAT
#undef COL_COUNTER_FORMAT

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

#endif
