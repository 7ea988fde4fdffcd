/* sample_pub.c - batch decoded datagrams into flow.v1.XX / counter.v1.XX
 * messages and publish them on the sample lanes.
 *
 * One open sfa_batch per (kind, bucket), each with a fixed buffer of
 * bus.batch.bytes allocated the first time that (kind, bucket) is used and
 * reused ever after. A datagram's flow samples (flow, expanded flow,
 * discard) go to its flow batch and its counter samples to its counter
 * batch; a batch that cannot take the next datagram is published and
 * restarted, and every batch with content is published at the end of each
 * receive drain (col_pub_flush), so messages hold one datagram at low rates
 * and many at high rates. Sequence numbers count per topic from 1. Bucket b
 * goes to lane b % lanes, one nng publisher socket per lane.
 *
 * Publishing never blocks (nng's pub queue drops its oldest message for a
 * slow peer); every refused send is counted per lane. A datagram too large
 * for an empty batch is encoded alone into one shared oversize buffer.
 * Nothing here allocates per datagram. Loop thread only.
 */
#include <stdlib.h>
#include <string.h>

#include <sfa/bus.h>
#include <sfa/clock.h>
#include <sfa/codec.h>
#include <sfa/log.h>
#include <sfa/mem.h>

#include "col.h"

#define PUB_KINDS 2             /* index 0 flow, 1 counter */
#define PUB_OVERSIZE (4u << 20) /* one datagram encoded alone: at most 4 MiB */
#define PUB_URL_MAX 512

typedef struct pub_batch {
    uint8_t *buf; /* batch_bytes, allocated on first use */
    sfa_batch b;
    int open;   /* b holds a begun envelope */
    int listed; /* in col_pub.dirty until the next flush */
} pub_batch;

typedef struct pub_lane {
    sfa_bus *bus; /* NULL with a custom sender */
    char url[PUB_URL_MAX];
    uint64_t msgs, bytes, send_failed;
} pub_lane;

struct col_pub {
    int nlanes;
    pub_lane *lanes;
    col_pub_send_fn send;
    void *send_arg;
    size_t batch_bytes;
    char *src;
    pub_batch batch[PUB_KINDS][SFA_BUCKETS];
    uint64_t seq[PUB_KINDS][SFA_BUCKETS];    /* last sequence number used per topic */
    uint16_t dirty[PUB_KINDS * SFA_BUCKETS]; /* batches with content, kind * 256 + bucket */
    unsigned ndirty;
    uint8_t *big; /* oversize buffer, allocated on first use */
    /* counters */
    uint64_t dgrams[PUB_KINDS]; /* datagrams added per kind */
    uint64_t flushes;           /* batches published */
    uint64_t full_flushes;      /* ... of which because they were full */
    uint64_t oversize;          /* datagrams published alone via the oversize buffer */
    uint64_t encode_failed;     /* datagrams that could not be encoded at all */
};

static const int pub_kind_code[PUB_KINDS] = {SFA_KIND_FLOW, SFA_KIND_COUNTER};

static int
pub_bus_send(void *arg, int lane, const uint8_t *msg, size_t len)
{
    col_pub *p = arg;

    return sfa_bus_publish(p->lanes[lane].bus, msg, len);
}

static col_pub *
pub_alloc(int lanes, size_t batch_bytes, const char *src)
{
    col_pub *p = sfa_xcalloc(1, sizeof *p);

    p->nlanes = lanes;
    p->lanes = sfa_xcalloc((size_t)lanes, sizeof *p->lanes);
    p->batch_bytes = batch_bytes;
    p->src = sfa_xstrdup(src);
    return p;
}

static void
pub_free(col_pub *p)
{
    for (int k = 0; k < PUB_KINDS; k++)
        for (int b = 0; b < SFA_BUCKETS; b++)
            free(p->batch[k][b].buf);
    free(p->big);
    free(p->src);
    free(p->lanes);
    free(p);
}

int
col_pub_open_custom(col_pub **out, int lanes, size_t batch_bytes, const char *src,
                    col_pub_send_fn send, void *send_arg)
{
    col_pub *p;

    if (lanes < 1 || batch_bytes < 256 || !send)
        return -EINVAL;
    p = pub_alloc(lanes, batch_bytes, src);
    p->send = send;
    p->send_arg = send_arg;
    *out = p;
    return 0;
}

int
col_pub_open(col_pub **out, uv_loop_t *loop, const char *base, int lanes, int sndbuf,
             size_t batch_bytes, const char *src)
{
    col_pub *p;
    int rc, i;

    if (lanes < 1 || batch_bytes < 256)
        return -EINVAL;
    p = pub_alloc(lanes, batch_bytes, src);
    p->send = pub_bus_send;
    p->send_arg = p;
    for (i = 0; i < lanes; i++) {
        pub_lane *l = &p->lanes[i];
        rc = sfa_bus_lane_url(l->url, sizeof l->url, base, i, lanes);
        if (rc != 0) {
            SFA_SEVERE("bus.samples: cannot make lane %d URL from %s", i, base);
            goto fail;
        }
        rc = sfa_bus_pub_open(&l->bus, loop, l->url, sndbuf);
        if (rc != 0) {
            SFA_SEVERE("bus.samples: cannot listen on %s: %s", l->url, sfa_strerror(rc));
            goto fail;
        }
        SFA_FINE("sample lane %d publishing on %s", i, l->url);
    }
    *out = p;
    return 0;

fail:
    while (--i >= 0)
        sfa_bus_close(p->lanes[i].bus);
    pub_free(p);
    return rc;
}

static void
pub_send(col_pub *p, int lane, const uint8_t *msg, size_t len)
{
    pub_lane *l = &p->lanes[lane];

    if (p->send(p->send_arg, lane, msg, len) != 0) {
        l->send_failed++;
        return;
    }
    l->msgs++;
    l->bytes += len;
}

/* Publish batch (kind, bucket) and close it. */
static void
pub_batch_publish(col_pub *p, int k, unsigned bucket)
{
    pub_batch *pb = &p->batch[k][bucket];
    size_t len;

    if (!pb->open || pb->b.count == 0)
        return;
    len = sfa_batch_finish(&pb->b, ++p->seq[k][bucket], sfa_clock_wall_ms());
    pub_send(p, (int)(bucket % (unsigned)p->nlanes), pb->buf, len);
    pb->open = 0;
    p->flushes++;
}

static int
pub_batch_begin(col_pub *p, int k, unsigned bucket)
{
    pub_batch *pb = &p->batch[k][bucket];
    char topic[SFA_TOPIC_MAX];
    int rc;

    if (!pb->buf)
        pb->buf = sfa_xmalloc(p->batch_bytes);
    sfa_topic_samples(topic, pub_kind_code[k], bucket);
    rc = sfa_batch_begin(&pb->b, pb->buf, p->batch_bytes, topic, p->src);
    if (rc == 0)
        pb->open = 1;
    return rc;
}

/* A datagram that does not fit an empty batch goes out alone. */
static void
pub_oversize(col_pub *p, int k, unsigned bucket, const sfa_dgram *d)
{
    char topic[SFA_TOPIC_MAX];
    sfa_batch one;
    size_t len;

    if (!p->big)
        p->big = sfa_xmalloc(PUB_OVERSIZE);
    sfa_topic_samples(topic, pub_kind_code[k], bucket);
    if (sfa_batch_begin(&one, p->big, PUB_OVERSIZE, topic, p->src) != 0 ||
        sfa_batch_add(&one, d, pub_kind_code[k]) != 0) {
        p->encode_failed++;
        return;
    }
    len = sfa_batch_finish(&one, ++p->seq[k][bucket], sfa_clock_wall_ms());
    pub_send(p, (int)(bucket % (unsigned)p->nlanes), p->big, len);
    p->oversize++;
    p->flushes++;
}

static void
pub_add_kind(col_pub *p, int k, unsigned bucket, const sfa_dgram *d)
{
    pub_batch *pb = &p->batch[k][bucket];

    if (!pb->open && pub_batch_begin(p, k, bucket) != 0) {
        p->encode_failed++;
        return;
    }
    if (sfa_batch_add(&pb->b, d, pub_kind_code[k]) != 0) {
        if (pb->b.count == 0) {
            pub_oversize(p, k, bucket, d);
            return;
        }
        pub_batch_publish(p, k, bucket);
        p->full_flushes++;
        if (pub_batch_begin(p, k, bucket) != 0) {
            p->encode_failed++;
            return;
        }
        if (sfa_batch_add(&pb->b, d, pub_kind_code[k]) != 0) {
            pub_oversize(p, k, bucket, d);
            return;
        }
    }
    if (!pb->listed) {
        pb->listed = 1;
        p->dirty[p->ndirty++] = (uint16_t)(k * SFA_BUCKETS + (int)bucket);
    }
    p->dgrams[k]++;
}

void
col_pub_add(col_pub *p, const sfa_dgram *d)
{
    int has[PUB_KINDS] = {0, 0};
    unsigned bucket;

    for (uint32_t i = 0; i < d->nsamples && !(has[0] && has[1]); i++) {
        const sfa_sample *s = &d->samples[i];
        if (sfa_sample_is_flow(s) || s->tag == SFA_SAMPLE_DISCARD)
            has[0] = 1;
        else if (sfa_sample_is_counter(s))
            has[1] = 1;
    }
    if (!has[0] && !has[1])
        return;
    bucket = sfa_bucket_of(&d->agent) & (SFA_BUCKETS - 1);
    for (int k = 0; k < PUB_KINDS; k++)
        if (has[k])
            pub_add_kind(p, k, bucket, d);
}

void
col_pub_flush(col_pub *p)
{
    for (unsigned i = 0; i < p->ndirty; i++) {
        unsigned k = p->dirty[i] / SFA_BUCKETS, b = p->dirty[i] % SFA_BUCKETS;
        pub_batch_publish(p, (int)k, b);
        p->batch[k][b].listed = 0;
    }
    p->ndirty = 0;
}

int
col_pub_connected(const col_pub *p)
{
    sfa_bus_stats bs;

    for (int i = 0; i < p->nlanes; i++) {
        if (!p->lanes[i].bus)
            return 0;
        sfa_bus_get_stats(p->lanes[i].bus, &bs);
        if (bs.pipes == 0)
            return 0;
    }
    return 1;
}

static void
pub_set_u(json_t *o, const char *name, uint64_t v)
{
    json_object_set_new(o, name, json_integer((json_int_t)v));
}

void
col_pub_stats_json(const col_pub *p, json_t *obj)
{
    json_t *lanes = json_array();
    uint64_t msgs = 0, bytes = 0, failed = 0;

    for (int i = 0; i < p->nlanes; i++) {
        const pub_lane *l = &p->lanes[i];
        json_t *o = json_object();
        json_object_set_new(o, "url", json_string(l->url));
        pub_set_u(o, "msgs", l->msgs);
        pub_set_u(o, "bytes", l->bytes);
        pub_set_u(o, "send_failed", l->send_failed);
        if (l->bus) {
            sfa_bus_stats bs;
            sfa_bus_get_stats(l->bus, &bs);
            pub_set_u(o, "pipes", bs.pipes);
        }
        json_array_append_new(lanes, o);
        msgs += l->msgs;
        bytes += l->bytes;
        failed += l->send_failed;
    }
    json_object_set_new(obj, "bus_lanes", lanes);
    pub_set_u(obj, "bus_msgs", msgs);
    pub_set_u(obj, "bus_bytes", bytes);
    pub_set_u(obj, "bus_send_failed", failed);
    pub_set_u(obj, "pub_flow_datagrams", p->dgrams[0]);
    pub_set_u(obj, "pub_counter_datagrams", p->dgrams[1]);
    pub_set_u(obj, "batch_flushes", p->flushes);
    pub_set_u(obj, "batch_full_flushes", p->full_flushes);
    pub_set_u(obj, "batch_oversize", p->oversize);
    pub_set_u(obj, "batch_encode_failed", p->encode_failed);
}

void
col_pub_close(col_pub *p)
{
    if (!p)
        return;
    col_pub_flush(p);
    for (int i = 0; i < p->nlanes; i++)
        sfa_bus_close(p->lanes[i].bus);
    pub_free(p);
}
