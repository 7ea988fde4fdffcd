/* sflow_dgram.c - sFlow v5 datagram header and sample envelopes.
 *
 * col_sflow_decode() recognises sFlow by content (version word 2, 4 or 5
 * and an address type 0..2), rejects v2/v4 without parsing them, reads the
 * v5 header, then walks exactly num_samples sample envelopes. Each sample
 * is bounded by its declared length: flow (0:1), expanded flow (0:3) and
 * discard (0:5) samples hand their records to col__flow_records()
 * (sflow_flow.c), counter samples (0:2, 0:4) to col__counter_records()
 * (sflow_counter.c); other sample tags are skipped by length and counted.
 * A fault inside one sample ends that sample only; a fault in an envelope
 * ends the datagram; what was decoded before is kept either way.
 *
 * Also here: col__field_add() and the format name/tag tables generated from
 * sflow_formats.def. Pure code: no I/O, no allocation, no globals except
 * constant tables; one sfa_dgram per thread.
 */
#include "sflow_decode.h"

/* ---- tables generated from sflow_formats.def ---- */

static const char *const col_flow_names[COL_FLOW__COUNT + 1] = {
#define COL_FLOW_FORMAT(ent, fmt, id, name, fn) [COL_FLOW_##id] = name,
#define COL_COUNTER_FORMAT(ent, fmt, id, name, fn)
#include "sflow_formats.def"
#undef COL_FLOW_FORMAT
#undef COL_COUNTER_FORMAT
};

static const uint32_t col_flow_tags[COL_FLOW__COUNT + 1] = {
#define COL_FLOW_FORMAT(ent, fmt, id, name, fn) [COL_FLOW_##id] = (uint32_t)(ent) << 12 | (fmt),
#define COL_COUNTER_FORMAT(ent, fmt, id, name, fn)
#include "sflow_formats.def"
#undef COL_FLOW_FORMAT
#undef COL_COUNTER_FORMAT
};

static const char *const col_counter_names[COL_COUNTER__COUNT + 1] = {
#define COL_FLOW_FORMAT(ent, fmt, id, name, fn)
#define COL_COUNTER_FORMAT(ent, fmt, id, name, fn) [COL_COUNTER_##id] = name,
#include "sflow_formats.def"
#undef COL_FLOW_FORMAT
#undef COL_COUNTER_FORMAT
};

static const uint32_t col_counter_tags[COL_COUNTER__COUNT + 1] = {
#define COL_FLOW_FORMAT(ent, fmt, id, name, fn)
#define COL_COUNTER_FORMAT(ent, fmt, id, name, fn)                                                 \
    [COL_COUNTER_##id] = (uint32_t)(ent) << 12 | (fmt),
#include "sflow_formats.def"
#undef COL_FLOW_FORMAT
#undef COL_COUNTER_FORMAT
};

const char *
col_flow_format_name(unsigned fmt)
{
    return fmt < COL_FLOW__COUNT ? col_flow_names[fmt] : NULL;
}

const char *
col_counter_format_name(unsigned fmt)
{
    return fmt < COL_COUNTER__COUNT ? col_counter_names[fmt] : NULL;
}

uint32_t
col_flow_format_tag(unsigned fmt)
{
    return fmt < COL_FLOW__COUNT ? col_flow_tags[fmt] : 0;
}

uint32_t
col_counter_format_tag(unsigned fmt)
{
    return fmt < COL_COUNTER__COUNT ? col_counter_tags[fmt] : 0;
}

/* ---- fields ---- */

sfa_field *
col__field_add(sfa_dgram *d, sfa_sample *s, unsigned id, unsigned type)
{
    if (d->nfields >= SFA_DGRAM_MAX_FIELDS) {
        if (!d->status)
            d->status = SFA_ELIMIT;
        return NULL;
    }
    sfa_field *f = &d->fields[d->nfields++];
    *f = (sfa_field){.id = (uint16_t)id, .type = (uint8_t)type};
    if (s)
        s->field_count++;
    return f;
}

/* ---- datagram ---- */

/* Per-call decoding state that is not part of the result. */
typedef struct dgram_state {
    int malformed; /* any truncation or lying length seen */
    int full;      /* a capacity of sfa_dgram was reached */
} dgram_state;

static inline uint32_t
dgram_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Remember the first error of the datagram and classify it. */
static void
dgram_fail(sfa_dgram *d, dgram_state *ds, int code)
{
    if (!d->status)
        d->status = code;
    if (code == SFA_ELIMIT)
        ds->full = 1;
    else
        ds->malformed = 1;
}

/* Recognise sFlow by its first two words. Returns 0 for v5 (possibly
 * truncated), SFA_EVERSION for v2/v4, SFA_EFORMAT for anything else. */
static int
dgram_classify(const uint8_t *buf, size_t len, sfa_dgram *d)
{
    if (len < 4)
        return SFA_EFORMAT;
    uint32_t version = dgram_be32(buf);
    if (version != 2 && version != 4 && version != 5)
        return SFA_EFORMAT;
    if (len >= 8 && dgram_be32(buf + 4) > 2)
        return SFA_EFORMAT;
    d->version = version;
    return version == 5 ? 0 : SFA_EVERSION;
}

/* Read the agent address union into d->agent. 0, SFA_ETRUNC or SFA_EFORMAT. */
static int
dgram_agent(sfa_rbuf *rb, sfa_dgram *d)
{
    uint32_t type = sfa_rbuf_u32(rb);
    size_t n = type == 1 ? 4 : type == 2 ? 16 : 0;
    if (!sfa_rbuf_ok(rb))
        return SFA_ETRUNC;
    if (type > 2)
        return SFA_EFORMAT;
    const uint8_t *p = sfa_rbuf_fixed(rb, n);
    if (!sfa_rbuf_ok(rb))
        return SFA_ETRUNC;
    d->agent.family = type == 1 ? 4 : type == 2 ? 6 : 0;
    if (n)
        memcpy(d->agent.a, p, n);
    return 0;
}

/* Fill the envelope members of s from a flow-like sample body (flow,
 * expanded flow, discard), leaving rb at the record count. SFA_EFORMAT if
 * the body is shorter than its fixed part. */
static int
dgram_flow_head(sfa_rbuf *rb, uint32_t tag, sfa_sample *s)
{
    size_t fixed = tag == SFA_SAMPLE_FLOW_EXPANDED ? 40 : 28;
    if (sfa_rbuf_remaining(rb) < fixed + 4)
        return SFA_EFORMAT;
    const uint8_t *p = sfa_rbuf_ptr(rb);
    sfa_rbuf_skip(rb, fixed);
    s->seq = dgram_be32(p);
    if (tag == SFA_SAMPLE_FLOW) {
        uint32_t src = dgram_be32(p + 4), in = dgram_be32(p + 20), out = dgram_be32(p + 24);
        s->ds_class = src >> 24;
        s->ds_index = src & 0x00FFFFFFu;
        s->rate = dgram_be32(p + 8);
        s->pool = dgram_be32(p + 12);
        s->drops = dgram_be32(p + 16);
        s->in_fmt = in >> 30;
        s->in_val = in & 0x3FFFFFFFu;
        s->out_fmt = out >> 30;
        s->out_val = out & 0x3FFFFFFFu;
    } else if (tag == SFA_SAMPLE_FLOW_EXPANDED) {
        s->ds_class = dgram_be32(p + 4);
        s->ds_index = dgram_be32(p + 8);
        s->rate = dgram_be32(p + 12);
        s->pool = dgram_be32(p + 16);
        s->drops = dgram_be32(p + 20);
        s->in_fmt = dgram_be32(p + 24);
        s->in_val = dgram_be32(p + 28);
        s->out_fmt = dgram_be32(p + 32);
        s->out_val = dgram_be32(p + 36);
    } else { /* discard */
        s->ds_class = dgram_be32(p + 4);
        s->ds_index = dgram_be32(p + 8);
        s->drops = dgram_be32(p + 12);
        s->in_val = dgram_be32(p + 16);
        s->out_val = dgram_be32(p + 20);
        s->reason = dgram_be32(p + 24);
    }
    return 0;
}

/* Counter sample envelope (compact or expanded), rb left at the record count. */
static int
dgram_counter_head(sfa_rbuf *rb, uint32_t tag, sfa_sample *s)
{
    size_t fixed = tag == SFA_SAMPLE_COUNTER_EXPANDED ? 12 : 8;
    if (sfa_rbuf_remaining(rb) < fixed + 4)
        return SFA_EFORMAT;
    const uint8_t *p = sfa_rbuf_ptr(rb);
    sfa_rbuf_skip(rb, fixed);
    s->seq = dgram_be32(p);
    if (tag == SFA_SAMPLE_COUNTER) {
        uint32_t src = dgram_be32(p + 4);
        s->ds_class = src >> 24;
        s->ds_index = src & 0x00FFFFFFu;
    } else {
        s->ds_class = dgram_be32(p + 4);
        s->ds_index = dgram_be32(p + 8);
    }
    return 0;
}

/* Decode one known sample (tag 1..5) from its bounded body. A sample whose
 * fixed part is missing is not kept. */
static void
dgram_sample(sfa_rbuf *sb, uint32_t tag, sfa_dgram *d, dgram_state *ds, col_decode_stats *st)
{
    sfa_sample *s = &d->samples[d->nsamples];
    int flowish = tag != SFA_SAMPLE_COUNTER && tag != SFA_SAMPLE_COUNTER_EXPANDED;
    int rc;

    *s = (sfa_sample){.tag = tag, .rec_first = d->nrecs, .field_first = d->nfields};
    rc = flowish ? dgram_flow_head(sb, tag, s) : dgram_counter_head(sb, tag, s);
    if (rc) {
        dgram_fail(d, ds, rc);
        return;
    }
    d->nsamples++;
    if (flowish)
        rc = col__flow_records(sb, d, s, st);
    else
        rc = col__counter_records(sb, d, s, st);
    if (!rc && d->status == SFA_ELIMIT)
        rc = SFA_ELIMIT; /* a field add hit the cap without the callee saying so */
    s->rec_count = d->nrecs - s->rec_first;
    s->field_count = d->nfields - s->field_first;
    if (rc) {
        s->status = rc;
        dgram_fail(d, ds, rc);
    }
}

/* Walk the sample envelopes. Stops at the first envelope that does not fit
 * (the rest of the datagram cannot be framed) or at a capacity limit. */
static void
dgram_samples(sfa_rbuf *rb, sfa_dgram *d, dgram_state *ds, col_decode_stats *st)
{
    for (uint32_t i = 0; i < d->nsamples_declared; i++) {
        if (sfa_rbuf_remaining(rb) < 8) {
            dgram_fail(d, ds, SFA_ETRUNC);
            return;
        }
        uint32_t tag = sfa_rbuf_u32(rb);
        uint32_t slen = sfa_rbuf_u32(rb);
        sfa_rbuf sb;
        if (slen > sfa_rbuf_remaining(rb)) {
            dgram_fail(d, ds, SFA_ETRUNC);
            return;
        }
        sfa_rbuf_sub(rb, slen, &sb);
        if (tag < 1 || tag > SFA_SAMPLE_DISCARD) {
            st->samples_unknown++;
            continue;
        }
        st->samples[tag]++;
        if (d->nsamples >= SFA_DGRAM_MAX_SAMPLES) {
            dgram_fail(d, ds, SFA_ELIMIT);
            return;
        }
        dgram_sample(&sb, tag, d, ds, st);
        if (ds->full)
            return;
    }
    if (sfa_rbuf_remaining(rb) > 0)
        st->trailing_bytes++;
}

int
col_sflow_decode(const uint8_t *buf, size_t len, sfa_dgram *d, col_decode_stats *st)
{
    dgram_state ds = {0, 0};
    sfa_rbuf rb;
    int rc;

    /* Reset only the header and the counters; arrays are overwritten as
     * they are filled. */
    d->len = (uint32_t)len;
    d->version = 0;
    d->agent.family = 0;
    memset(d->agent.a, 0, sizeof d->agent.a);
    d->sub_agent = d->seq = d->uptime = d->nsamples_declared = 0;
    d->status = 0;
    d->nsamples = d->nfields = d->nrecs = d->arena_used = 0;
    st->datagrams++;
    st->bytes += len;

    rc = dgram_classify(buf, len, d);
    if (rc) {
        d->status = rc;
        if (rc == SFA_EVERSION)
            st->unsupported_version++;
        else
            st->not_sflow++;
        return rc;
    }

    sfa_rbuf_init(&rb, buf, len);
    sfa_rbuf_skip(&rb, 4);
    rc = dgram_agent(&rb, d);
    if (rc) {
        dgram_fail(d, &ds, rc);
        goto out;
    }
    d->sub_agent = sfa_rbuf_u32(&rb);
    d->seq = sfa_rbuf_u32(&rb);
    d->uptime = sfa_rbuf_u32(&rb);
    d->nsamples_declared = sfa_rbuf_u32(&rb);
    if (!sfa_rbuf_ok(&rb)) {
        dgram_fail(d, &ds, SFA_ETRUNC);
        goto out;
    }
    dgram_samples(&rb, d, &ds, st);

out:
    if (ds.malformed)
        st->parse_errors++;
    if (ds.full)
        st->over_capacity++;
    if (!d->status)
        st->decoded++;
    return d->status;
}
