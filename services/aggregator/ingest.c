/* ingest.c - from a sample bus message to flow table updates.
 *
 * For each message: parse the envelope (sfa_codec_parse), keep only flow
 * topics of buckets we own (a message of a bucket just given away may still
 * be queued), count sequence gaps (sfa_seqtrack), then decode each datagram
 * in place (sfa_codec_each_dgram) and, for each flow or discard sample:
 * note which keys it carries (for /flowkeys), find its data source id, and
 * evaluate every definition on it (sfa_flowdef_eval), adding the matches
 * to the definition's table (and, for log:true definitions, to their flow
 * log, flow_log.c). The updates of one datagram are gathered
 * first (agg_batch) and applied together: gathering hashes each key and
 * prefetches its index slot, applying first prefetches every entry, so the
 * cache misses of a large table overlap instead of queueing one after the
 * other (about a third of the cost with ten definitions). The time of every update is the local
 * monotonic clock when the message is handled, not the collector's rx_ms:
 * a fast pcap replay therefore compresses time and inflates rates, while a
 * paced replay gives true rates (proto/FLOWS.md).
 *
 * Counter messages of owned buckets go through the same checks and their
 * counter samples to counters.c (agg_counters_dgram), which keeps the
 * counter metrics per data source.
 *
 * Nothing here allocates once the tables and the source registry are
 * warm; every problem is a counter. Loop thread only.
 */
#include <string.h>

#include <sfa/log.h>

#include "agg.h"
#include "counters.h"
#include "flow_log.h"

typedef struct ingest_ctx {
    agg_core *c;
    double now;
} ingest_ctx;

static int
ingest_hex(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

/* Bucket of a "<prefix>XX" topic, or -1. */
static int
ingest_topic_bucket(const sfa_envelope *env, size_t prefix_len)
{
    int hi, lo;

    if (env->topic_len != prefix_len + 2)
        return -1;
    hi = ingest_hex(env->topic[prefix_len]);
    lo = ingest_hex(env->topic[prefix_len + 1]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

static int
ingest_topic_is(const sfa_envelope *env, const char *prefix, size_t n)
{
    return env->topic_len >= n && memcmp(env->topic, prefix, n) == 0;
}

static int
ingest_counter_dgram(const sfa_dgram *d, void *arg)
{
    ingest_ctx *x = arg;

    agg_counters_dgram(x->c->counters, d, x->now);
    return 0;
}

/* Counter messages: the same ownership and sequence checks as flow
 * messages, then every counter sample goes to counters.c. */
static void
agg_ingest_counters(agg_core *c, const sfa_envelope *env, double now)
{
    static const char counter_prefix[] = SFA_TOPIC_COUNTER_PREFIX;
    int b = ingest_topic_bucket(env, sizeof counter_prefix - 1);
    ingest_ctx x = {c, now};

    c->st.counter_msgs++;
    if (b < 0) {
        c->st.bus_bad++;
        return;
    }
    if (!c->owned[b]) {
        c->st.bus_unowned++;
        return;
    }
    c->st.bus_gaps += sfa_seqtrack_update(c->seq, env);
    if (sfa_codec_each_dgram(env, c->scratch, ingest_counter_dgram, &x) != 0)
        c->st.bus_bad++;
}

/* Apply the gathered updates. */
static void
ingest_flush(agg_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        agg_table_prefetch(b->p[i].table, b->p[i].hash);
    for (size_t i = 0; i < b->n; i++) {
        agg_pending *p = &b->p[i];

        agg_table_add_hashed(p->table, p->ds, b->arena + p->key_off, p->keylen, p->hash, p->vals);
    }
    b->n = 0;
    b->used = 0;
}

/* A match of a log:true definition also goes to its flow log. */
static void
ingest_log(agg_core *c, agg_def *def, uint32_t ds, const char *key, size_t keylen, double value,
           double now)
{
    const agg_ds *src = agg_dsreg_get(c->dsreg, ds);

    agg_flowlog_add(def->log, ds, src ? src->agent_txt : "", src ? src->ds_txt : "", key, keylen,
                    value, now);
}

static void
ingest_sample(ingest_ctx *x, const sfa_dgram *d, const sfa_sample *s)
{
    agg_core *c = x->c;
    agg_batch *b = c->batch;
    uint32_t ds;
    size_t keylen;

    c->st.samples_in++;
    c->flow_seen = x->now;
    if (c->ndefs == 0) {
        /* Nothing to evaluate: only note the keys seen (for /flowkeys). */
        for (uint32_t i = 0; i < s->field_count; i++) {
            unsigned id = d->fields[s->field_first + i].id;

            if (id < SFA_F__COUNT)
                c->field_seen[id] = x->now;
        }
        return;
    }
    /* One pass over the fields notes the keys seen and indexes them for
     * every definition. */
    sfa_fieldidx_build(c->fidx, d, s, c->field_seen, x->now);
    if (agg_dsreg_id(c->dsreg, &d->agent, s->ds_class, s->ds_index, &ds) != 0) {
        c->st.sources_full++;
        c->st.flows_lost++;
        return;
    }
    for (size_t i = 0; i < c->ndefs; i++) {
        agg_def *def = &c->defs[i];
        agg_pending *p;

        if (b->n == AGG_PENDING_MAX || AGG_PENDING_ARENA - b->used < SFA_FLOWDEF_KEY_MAX)
            ingest_flush(b);
        p = &b->p[b->n];
        if (!sfa_flowdef_eval_ix(def->fd, c->fidx, c->tabs, b->arena + b->used, SFA_FLOWDEF_KEY_MAX,
                                 &keylen, p->vals))
            continue;
        p->table = def->table;
        p->ds = ds;
        p->key_off = (uint32_t)b->used;
        p->keylen = (uint32_t)keylen;
        p->hash = agg_table_hash(def->table, ds, b->arena + b->used, keylen);
        if (def->log)
            ingest_log(c, def, ds, b->arena + b->used, keylen, p->vals[0], x->now);
        b->used += keylen;
        b->n++;
        c->st.flows_generated++;
    }
}

static int
ingest_dgram(const sfa_dgram *d, void *arg)
{
    ingest_ctx *x = arg;

    x->c->st.dgrams_in++;
    for (uint32_t i = 0; i < d->nsamples; i++) {
        const sfa_sample *s = &d->samples[i];

        if (sfa_sample_is_flow(s) || s->tag == SFA_SAMPLE_DISCARD)
            ingest_sample(x, d, s);
    }
    ingest_flush(x->c->batch);
    return 0;
}

void
agg_ingest_msg(agg_core *c, const uint8_t *msg, size_t len, double now)
{
    static const char flow_prefix[] = SFA_TOPIC_FLOW_PREFIX;
    static const char counter_prefix[] = SFA_TOPIC_COUNTER_PREFIX;
    ingest_ctx x;
    sfa_envelope env;
    int b;

    c->st.bus_msgs++;
    c->st.bus_bytes += len;
    if (sfa_codec_parse(msg, len, &env) != 0) {
        c->st.bus_bad++;
        return;
    }
    if (ingest_topic_is(&env, counter_prefix, sizeof counter_prefix - 1)) {
        agg_ingest_counters(c, &env, now);
        return;
    }
    b = ingest_topic_bucket(&env, sizeof flow_prefix - 1);
    if (b < 0 || !ingest_topic_is(&env, flow_prefix, sizeof flow_prefix - 1)) {
        c->st.bus_bad++;
        return;
    }
    if (!c->owned[b]) {
        c->st.bus_unowned++;
        return;
    }
    c->st.bus_gaps += sfa_seqtrack_update(c->seq, &env);
    x.c = c;
    x.now = now;
    for (size_t i = 0; i < c->ndefs; i++)
        agg_table_at(c->defs[i].table, now);
    if (sfa_codec_each_dgram(&env, c->scratch, ingest_dgram, &x) != 0)
        c->st.bus_bad++;
}
