/* flow_log.c - logged flow records of log:true definitions, published on
 * flowlog.v1 to the gateway (contract in flow_log.h and proto/CONTROL.md).
 *
 * Each logged definition keeps its live flows in a chained hash table
 * keyed by (data source, key): when the current record started, when the
 * flow was last seen, the accumulated value and the texts of its agent
 * and data source. Matches only touch that entry (a new flow allocates
 * one); the scan run by the aggregator's timer ends idle flows and cuts
 * long ones at activeTimeout, queuing records as JSON; agg_flowlog_flush
 * sends the queue as one message {"id": aggregator, "flows": [...]}.
 *
 * Times are the aggregator's monotonic seconds, turned into epoch ms with
 * an offset taken at open (records say when, to the millisecond, not
 * exactly; a wall clock step is not followed). Loop thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <sfa/bus.h>
#include <sfa/clock.h>
#include <sfa/codec.h>
#include <sfa/mem.h>

#include "flow_log.h"

#define FLOWLOG_SNDBUF 64
#define FLOWLOG_QUEUE_MAX 100000 /* records waiting for a flush, at most */
#define FLOWLOG_BUF_MIN (64 * 1024)
#define FLOWLOG_BUF_MAX ((size_t)64 << 20)
#define FLOWLOG_BUCKETS_MIN 64

typedef struct fl_entry {
    struct fl_entry *next;
    uint32_t hash, ds;
    double first, last; /* s: first sample of the current record, last sample */
    double value;       /* accumulated over the current record */
    uint64_t samples;   /* in the current record */
    char agent[48], dsname[24];
    size_t keylen;
    char key[];
} fl_entry;

struct agg_flowlog {
    sfa_bus *bus;
    char *id;
    uint64_t seq;
    json_t *queue; /* records to send */
    double wall_off_ms;
    uint8_t *buf;
    size_t cap;
    agg_flowlog_stats st;
};

struct agg_flowlog_def {
    agg_flowlog *fl; /* borrowed */
    char *name;
    int flow_start;
    double active, idle; /* s */
    size_t max, n;
    fl_entry **b;
    size_t nb; /* power of two */
};

/* ---- the publisher ---- */

int
agg_flowlog_open(agg_flowlog **out, uv_loop_t *loop, const char *url, const char *id)
{
    agg_flowlog *fl = sfa_xcalloc(1, sizeof *fl);
    int rc;

    if ((rc = sfa_bus_pub_dial(&fl->bus, loop, url, FLOWLOG_SNDBUF)) != 0) {
        free(fl);
        return rc;
    }
    fl->id = sfa_xstrdup(id);
    fl->queue = json_array();
    fl->wall_off_ms = (double)sfa_clock_wall_ms() - (double)sfa_clock_us() / 1000.0;
    fl->cap = FLOWLOG_BUF_MIN;
    fl->buf = sfa_xmalloc(fl->cap);
    *out = fl;
    return 0;
}

int
agg_flowlog_flush(agg_flowlog *fl)
{
    size_t n = json_array_size(fl->queue);
    json_t *body;
    int len;

    if (n == 0)
        return 0;
    body = json_pack("{s:s, s:o}", "id", fl->id, "flows", fl->queue);
    fl->queue = json_array();
    for (;;) {
        len = sfa_codec_encode_json_msg(fl->buf, fl->cap, AGG_TOPIC_FLOWLOG, fl->id, fl->seq + 1,
                                        sfa_clock_wall_ms(), body);
        if (len != SFA_ELIMIT || fl->cap >= FLOWLOG_BUF_MAX)
            break;
        fl->cap *= 2;
        fl->buf = sfa_xrealloc(fl->buf, fl->cap);
    }
    json_decref(body);
    if (len < 0) {
        fl->st.dropped += n;
        return len;
    }
    fl->seq++;
    if (sfa_bus_publish(fl->bus, fl->buf, (size_t)len) != 0) {
        fl->st.dropped += n;
        return SFA_EBUS;
    }
    fl->st.published++;
    return 0;
}

void
agg_flowlog_get_stats(const agg_flowlog *fl, agg_flowlog_stats *st)
{
    *st = fl->st;
}

void
agg_flowlog_close(agg_flowlog *fl)
{
    if (!fl)
        return;
    sfa_bus_close(fl->bus);
    json_decref(fl->queue);
    free(fl->buf);
    free(fl->id);
    free(fl);
}

/* Queue the current record of e (of d). */
static void
flowlog_emit(agg_flowlog_def *d, const fl_entry *e)
{
    agg_flowlog *fl = d->fl;
    json_t *rec;

    if (json_array_size(fl->queue) >= FLOWLOG_QUEUE_MAX) {
        fl->st.dropped++;
        return;
    }
    rec = json_pack("{s:s, s:s%, s:f, s:I, s:I, s:s, s:s}", "name", d->name, "flowKeys", e->key,
                    e->keylen, "value", e->value, "start",
                    (json_int_t)(e->first * 1000.0 + fl->wall_off_ms), "end",
                    (json_int_t)(e->last * 1000.0 + fl->wall_off_ms), "agent", e->agent,
                    "dataSource", e->dsname);
    if (!rec) { /* a key that is not valid UTF-8 */
        fl->st.dropped++;
        return;
    }
    json_array_append_new(fl->queue, rec);
    fl->st.records++;
}

/* ---- one definition's flows ---- */

agg_flowlog_def *
agg_flowlog_def_create(agg_flowlog *fl, const char *name, const sfa_flowdef *fd, size_t max)
{
    agg_flowlog_def *d = sfa_xcalloc(1, sizeof *d);

    d->fl = fl;
    d->name = sfa_xstrdup(name);
    d->flow_start = sfa_flowdef_flow_start(fd);
    d->active = sfa_flowdef_active_timeout(fd);
    d->idle = AGG_FLOWLOG_IDLE_TAUS * sfa_flowdef_t(fd);
    if (d->idle > d->active)
        d->idle = d->active;
    d->max = max ? max : 1;
    d->nb = FLOWLOG_BUCKETS_MIN;
    d->b = sfa_xcalloc(d->nb, sizeof *d->b);
    return d;
}

void
agg_flowlog_def_destroy(agg_flowlog_def *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nb; i++) {
        fl_entry *e = d->b[i], *next;

        for (; e; e = next) {
            next = e->next;
            free(e);
        }
    }
    free(d->b);
    free(d->name);
    free(d);
}

static uint32_t
flowlog_hash(uint32_t ds, const char *key, size_t keylen)
{
    uint32_t h = 2166136261u ^ ds;

    h *= 16777619u;
    for (size_t i = 0; i < keylen; i++) {
        h ^= (uint8_t)key[i];
        h *= 16777619u;
    }
    return h;
}

static void
flowlog_grow(agg_flowlog_def *d)
{
    size_t nb = d->nb * 2;
    fl_entry **b = sfa_xcalloc(nb, sizeof *b), *e, *next;

    for (size_t i = 0; i < d->nb; i++)
        for (e = d->b[i]; e; e = next) {
            next = e->next;
            e->next = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
        }
    free(d->b);
    d->b = b;
    d->nb = nb;
}

static fl_entry *
flowlog_new(agg_flowlog_def *d, uint32_t h, uint32_t ds, const char *agent, const char *dsname,
            const char *key, size_t keylen, double now)
{
    fl_entry *e = sfa_xcalloc(1, sizeof *e + keylen + 1);

    e->hash = h;
    e->ds = ds;
    e->first = e->last = now;
    snprintf(e->agent, sizeof e->agent, "%s", agent ? agent : "");
    snprintf(e->dsname, sizeof e->dsname, "%s", dsname ? dsname : "");
    memcpy(e->key, key, keylen);
    e->keylen = keylen;
    if (d->n + 1 > 2 * d->nb)
        flowlog_grow(d);
    e->next = d->b[h & (d->nb - 1)];
    d->b[h & (d->nb - 1)] = e;
    d->n++;
    return e;
}

void
agg_flowlog_add(agg_flowlog_def *d, uint32_t ds, const char *agent, const char *dsname,
                const char *key, size_t keylen, double value, double now)
{
    uint32_t h = flowlog_hash(ds, key, keylen);
    fl_entry *e;
    int fresh = 0;

    for (e = d->b[h & (d->nb - 1)]; e; e = e->next)
        if (e->hash == h && e->ds == ds && e->keylen == keylen && memcmp(e->key, key, keylen) == 0)
            break;
    if (!e) {
        if (d->n >= d->max) {
            d->fl->st.full++;
            return;
        }
        e = flowlog_new(d, h, ds, agent, dsname, key, keylen, now);
        fresh = 1;
    }
    if (e->samples == 0)
        e->first = now; /* a record cut at activeTimeout restarts here */
    e->value += value;
    e->last = now;
    e->samples++;
    if (fresh && d->flow_start)
        flowlog_emit(d, e);
}

void
agg_flowlog_def_scan(agg_flowlog_def *d, double now)
{
    for (size_t i = 0; i < d->nb; i++) {
        fl_entry **ep = &d->b[i];

        while (*ep) {
            fl_entry *e = *ep;

            if (now - e->last >= d->idle) {
                if (!d->flow_start && e->samples > 0)
                    flowlog_emit(d, e);
                *ep = e->next;
                d->n--;
                free(e);
                continue;
            }
            if (!d->flow_start && e->samples > 0 && now - e->first >= d->active) {
                flowlog_emit(d, e);
                e->value = 0;
                e->samples = 0;
            }
            ep = &e->next;
        }
    }
}
