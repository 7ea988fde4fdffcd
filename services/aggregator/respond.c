/* respond.c - answers to the gateway's surveys (proto/CONTROL.md, "Queries").
 *
 *   hello        {"op","id","defs_version","buckets":[owned...],"stats":{...}}
 *   activeflows  {"op","id","result":[{key,value,agent,dataSource,flowN[,values]}]}
 *   flowkeys     {"op","id","result":{key name: ms since last seen}}
 *   stats        {"op","id","result":{counters, per definition too}}
 *   metrics, metric, dump, table, metric_agent   respond_metrics.c
 * An unknown op gets {"op","id","error"}.
 *
 * activeflows merges one key's entries across this aggregator's data
 * sources exactly as the gateway merges across aggregators (an agent never
 * spans shards, so both merges are the same operation): aggMode max takes
 * the largest value (agent, dataSource and values of that entry), sum adds
 * values and values[] element-wise; flowN counts the data sources. With
 * max, each shard's top maxFlows (at or above minValue) contain every key
 * of the global top maxFlows, so the gateway's merge is exact. With sum a
 * key's total is spread over shards, so each shard returns every key it
 * has (minValue is left to the gateway), largest first, capped at
 * max(maxFlows, AGG_SUM_CANDIDATES); the merge is exact below that cap.
 * A query-time "filter" (sfa/flowquery.h, over the definition's keys) is
 * applied to the merged keys before the top maxFlows are taken, so
 * maxFlows counts matching flows; a filter that does not compile against
 * this aggregator's copy of the definition (it changed meanwhile) gives
 * an empty result and an "error".
 *
 * Answers are built synchronously on the loop thread; reading a table of
 * 100k keys takes a few milliseconds.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/flowquery.h>
#include <sfa/log.h>
#include <sfa/mem.h>
#include <sfa/stats.h>

#include "agg.h"
#include "counters.h"

#define RESPOND_MAX_FLOWS_DEFAULT 100

/* ---- activeflows ---- */

typedef struct rf_item {
    const char *key; /* borrows the table */
    uint32_t keylen;
    uint32_t ds;
    double value;
    size_t vals; /* offset of values[1..] in rf_query.extra */
} rf_item;

typedef struct rf_group {
    size_t first, n; /* items[first .. first+n) share the key; items[first] is the largest */
    double value;
} rf_group;

typedef struct rf_query {
    agg_core *c;
    const uint8_t *allowed; /* per data source id */
    rf_item *items;
    size_t n, cap;
    double *extra;
    size_t nextra, capextra;
    int nx; /* extra values per item */
} rf_query;

static int
rf_collect(const agg_flow *f, void *arg)
{
    rf_query *q = arg;
    rf_item *it;

    if (!q->allowed[f->ds] || !isfinite(f->value))
        return 0;
    if (q->n == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 1024;
        q->items = sfa_xrealloc(q->items, q->cap * sizeof *q->items);
    }
    if (q->nx > 0 && q->nextra + (size_t)q->nx > q->capextra) {
        q->capextra = q->capextra ? q->capextra * 2 : 1024 * (size_t)q->nx;
        q->extra = sfa_xrealloc(q->extra, q->capextra * sizeof *q->extra);
    }
    it = &q->items[q->n++];
    it->key = f->key;
    it->keylen = (uint32_t)f->keylen;
    it->ds = f->ds;
    it->value = f->value;
    it->vals = q->nextra;
    for (int i = 0; i < q->nx; i++)
        q->extra[q->nextra++] = f->values[1 + i];
    return 0;
}

static int
rf_cmp_key(const rf_item *x, const rf_item *y)
{
    uint32_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
    int r = memcmp(x->key, y->key, n);

    if (r)
        return r;
    return x->keylen < y->keylen ? -1 : x->keylen > y->keylen;
}

/* By key, then value descending: each key's largest entry comes first. */
static int
rf_cmp_item(const void *a, const void *b)
{
    const rf_item *x = a, *y = b;
    int r = rf_cmp_key(x, y);

    if (r)
        return r;
    if (x->value != y->value)
        return x->value > y->value ? -1 : 1;
    return x->ds < y->ds ? -1 : x->ds > y->ds;
}

static const rf_item *rf_sort_items; /* qsort has no argument: loop thread only */

static int
rf_cmp_group(const void *a, const void *b)
{
    const rf_group *x = a, *y = b;

    if (x->value != y->value)
        return x->value > y->value ? -1 : 1;
    return rf_cmp_key(&rf_sort_items[x->first], &rf_sort_items[y->first]);
}

/* Which data sources the agents selector ("ALL" or a list of addresses)
 * admits. Returns new (calloc'd), one byte per data source id. */
static uint8_t *
rf_allowed(const agg_core *c, const json_t *agents)
{
    uint32_t limit = agg_dsreg_limit(c->dsreg);
    uint8_t *ok = sfa_xcalloc(limit ? limit : 1, 1);
    int all =
        !agents || (json_is_string(agents) && strcasecmp(json_string_value(agents), "ALL") == 0);

    for (uint32_t id = 0; id < limit; id++) {
        const agg_ds *d = agg_dsreg_get(c->dsreg, id);
        size_t i;
        json_t *a;

        if (!d)
            continue;
        if (all) {
            ok[id] = 1;
            continue;
        }
        if (json_is_string(agents) && strcmp(json_string_value(agents), d->agent_txt) == 0)
            ok[id] = 1;
        json_array_foreach(agents, i, a)
        {
            if (json_is_string(a) && strcmp(json_string_value(a), d->agent_txt) == 0)
                ok[id] = 1;
        }
    }
    return ok;
}

static json_t *
rf_entry_json(const rf_query *q, const rf_group *g, int sum)
{
    const rf_item *best = &q->items[g->first];
    const agg_ds *d = agg_dsreg_get(q->c->dsreg, best->ds);
    json_t *o = json_object();

    json_object_set_new(o, "key", json_stringn(best->key, best->keylen));
    json_object_set_new(o, "value", json_real(g->value));
    json_object_set_new(o, "agent", json_string(d ? d->agent_txt : ""));
    json_object_set_new(o, "dataSource", json_string(d ? d->ds_txt : ""));
    json_object_set_new(o, "flowN", json_integer((json_int_t)g->n));
    if (q->nx > 0) {
        json_t *vals = json_array();

        for (int i = 0; i < q->nx; i++) {
            double v = q->extra[best->vals + (size_t)i];

            if (sum) {
                v = 0;
                for (size_t k = 0; k < g->n; k++)
                    v += q->extra[q->items[g->first + k].vals + (size_t)i];
            }
            json_array_append_new(vals, json_real(isfinite(v) ? v : 0));
        }
        json_object_set_new(o, "values", vals);
    }
    return o;
}

/* The query's filter, compiled against def: 0 with *out (NULL when there
 * is none), or SFA_EFORMAT with the message in err. */
static int
rf_filter(const agg_def *def, const json_t *args, sfa_flowquery **out, char *err, size_t errcap)
{
    const json_t *f = json_object_get(args, "filter");

    *out = NULL;
    if (!f || json_is_null(f))
        return 0;
    if (!json_is_string(f)) {
        snprintf(err, errcap, "filter must be a string");
        return SFA_EFORMAT;
    }
    return sfa_flowquery_compile(def->fd, json_string_value(f), json_string_length(f), out, err,
                                 errcap);
}

static json_t *
rf_activeflows(agg_core *c, const json_t *args, double now, json_t *ans)
{
    const char *name = json_string_value(json_object_get(args, "name"));
    json_t *mf = json_object_get(args, "maxFlows"), *mv = json_object_get(args, "minValue");
    const char *mode = json_string_value(json_object_get(args, "aggMode"));
    long max_flows = json_is_integer(mf) ? (long)json_integer_value(mf) : RESPOND_MAX_FLOWS_DEFAULT;
    double min_value = json_is_number(mv) ? json_number_value(mv) : 0;
    int sum = mode && strcasecmp(mode, "sum") == 0;
    agg_def *def = name ? agg_defs_find(c, name) : NULL;
    rf_query q = {.c = c};
    rf_group *groups;
    size_t ng = 0, limit, out = 0;
    json_t *result = json_array();
    sfa_flowquery *fq = NULL;
    char err[256];

    if (!def)
        return result;
    if (rf_filter(def, args, &fq, err, sizeof err) != 0) {
        json_object_set_new(ans, "error", json_string(err));
        return result;
    }
    q.nx = agg_table_nvalues(def->table) - 1;
    q.allowed = rf_allowed(c, json_object_get(args, "agents"));
    agg_table_each(def->table, now, rf_collect, &q);
    if (q.n > 1)
        qsort(q.items, q.n, sizeof *q.items, rf_cmp_item);
    groups = sfa_xmalloc((q.n ? q.n : 1) * sizeof *groups);
    for (size_t i = 0; i < q.n; ng++) {
        size_t j = i + 1;
        double v = q.items[i].value;

        while (j < q.n && rf_cmp_key(&q.items[i], &q.items[j]) == 0) {
            if (sum)
                v += q.items[j].value;
            j++;
        }
        groups[ng] = (rf_group){i, j - i, v};
        i = j;
    }
    rf_sort_items = q.items;
    qsort(groups, ng, sizeof *groups, rf_cmp_group);
    limit = max_flows < 0 ? ng : (size_t)max_flows;
    if (sum && limit < AGG_SUM_CANDIDATES)
        limit = AGG_SUM_CANDIDATES;
    for (size_t i = 0; i < ng && out < limit; i++) {
        const rf_item *first = &q.items[groups[i].first];

        if (!sum && groups[i].value < min_value)
            break; /* sorted: the rest are smaller */
        if (fq && !sfa_flowquery_match(fq, c->tabs, first->key, first->keylen))
            continue;
        json_array_append_new(result, rf_entry_json(&q, &groups[i], sum));
        out++;
    }
    sfa_flowquery_destroy(fq);
    free(groups);
    free(q.items);
    free(q.extra);
    free((void *)q.allowed);
    return result;
}

/* ---- flowkeys ---- */

static json_t *
rf_flowkeys(const agg_core *c, double now)
{
    const char *const *names = sfa_flowdef_key_names();
    json_t *o = json_object();

    for (; *names; names++) {
        int id = sfa_field_lookup(*names, strlen(*names));
        double t = id >= 0 ? c->field_seen[id] : c->flow_seen;

        if (t > 0)
            json_object_set_new(o, *names, json_integer((json_int_t)llround((now - t) * 1000)));
    }
    return o;
}

/* ---- stats ---- */

static const sfa_stat_def agg_stat_defs[] = {
    {"bus_msgs", offsetof(agg_stats, bus_msgs)},
    {"bus_bytes", offsetof(agg_stats, bus_bytes)},
    {"bus_gaps", offsetof(agg_stats, bus_gaps)},
    {"bus_bad", offsetof(agg_stats, bus_bad)},
    {"bus_unowned", offsetof(agg_stats, bus_unowned)},
    {"counter_msgs", offsetof(agg_stats, counter_msgs)},
    {"dgrams_in", offsetof(agg_stats, dgrams_in)},
    {"samples_in", offsetof(agg_stats, samples_in)},
    {"flows_generated", offsetof(agg_stats, flows_generated)},
    {"sources_full", offsetof(agg_stats, sources_full)},
    {"defs_msgs", offsetof(agg_stats, defs_msgs)},
    {"defs_applied", offsetof(agg_stats, defs_applied)},
    {"defs_errors", offsetof(agg_stats, defs_errors)},
    {"rebalances", offsetof(agg_stats, rebalances)},
    {"buckets_gained", offsetof(agg_stats, buckets_gained)},
    {"buckets_lost", offsetof(agg_stats, buckets_lost)},
    {"sources_purged", offsetof(agg_stats, sources_purged)},
    {"surveys", offsetof(agg_stats, surveys)},
    SFA_STAT_END,
};

static void
rf_set_u(json_t *o, const char *k, uint64_t v)
{
    json_object_set_new(o, k, json_integer((json_int_t)v));
}

json_t *
agg_stats_json(const agg_core *c)
{
    json_t *o = json_object();
    agg_table_stats tot;

    sfa_stats_add(o, agg_stat_defs, &c->st);
    agg_core_table_totals(c, &tot);
    rf_set_u(o, "uptime_ms", (uint64_t)llround((agg_now() - c->start) * 1000));
    rf_set_u(o, "definitions", c->ndefs);
    rf_set_u(o, "defs_version", c->defs_version);
    rf_set_u(o, "buckets_owned", c->nowned);
    rf_set_u(o, "keys_tracked", tot.keys);
    rf_set_u(o, "keys_created", tot.inserts);
    rf_set_u(o, "evictions", tot.evictions);
    rf_set_u(o, "expired", tot.expired);
    rf_set_u(o, "keys_too_long", tot.too_long);
    rf_set_u(o, "flows_lost", c->st.flows_lost + tot.too_long);
    rf_set_u(o, "table_bytes", tot.bytes);
    rf_set_u(o, "sources", agg_dsreg_count(c->dsreg));
    rf_set_u(o, "sources_bytes", agg_dsreg_bytes(c->dsreg));
    agg_counters_stats_json(c->counters, o);
    return o;
}

static json_t *
rf_stats(const agg_core *c)
{
    json_t *o = agg_stats_json(c), *defs = json_object();
    agg_table_stats st;

    for (size_t i = 0; i < c->ndefs; i++) {
        agg_table_get_stats(c->defs[i].table, &st);
        json_object_set_new(defs, c->defs[i].name,
                            json_pack("{s:I, s:I, s:I, s:I, s:I}", "keys", (json_int_t)st.keys,
                                      "evictions", (json_int_t)st.evictions, "expired",
                                      (json_int_t)st.expired, "too_long", (json_int_t)st.too_long,
                                      "bytes", (json_int_t)st.bytes));
    }
    json_object_set_new(o, "flows", defs);
    return o;
}

/* ---- dispatch ---- */

static json_t *
rf_hello(agg_core *c, json_t *ans)
{
    json_t *b = json_array();

    for (unsigned i = 0; i < SFA_BUCKETS; i++)
        if (c->owned[i])
            json_array_append_new(b, json_integer(i));
    json_object_set_new(ans, "defs_version", json_integer((json_int_t)c->defs_version));
    json_object_set_new(ans, "buckets", b);
    json_object_set_new(ans, "stats", agg_stats_json(c));
    return ans;
}

json_t *
agg_respond_answer(agg_core *c, const json_t *q, double now)
{
    const char *op = json_string_value(json_object_get(q, "op"));
    json_t *ans = json_object();

    c->st.surveys++;
    json_object_set_new(ans, "op", json_string(op ? op : ""));
    json_object_set_new(ans, "id", json_string(c->id));
    if (!op)
        json_object_set_new(ans, "error", json_string("survey without op"));
    else if (strcmp(op, "hello") == 0)
        rf_hello(c, ans);
    else if (strcmp(op, "activeflows") == 0)
        json_object_set_new(ans, "result", rf_activeflows(c, q, now, ans));
    else if (strcmp(op, "flowkeys") == 0)
        json_object_set_new(ans, "result", rf_flowkeys(c, now));
    else if (strcmp(op, "stats") == 0)
        json_object_set_new(ans, "result", rf_stats(c));
    else if (!agg_respond_metric_op(c, op, q, now, ans))
        json_object_set_new(ans, "error", json_string("unknown op"));
    return ans;
}

void
agg_respond_on_survey(sfa_responder *r, sfa_respond_req *req, const uint8_t *msg, size_t len,
                      void *arg)
{
    agg_core *c = arg;
    json_t *q = sfa_survey_msg_json(msg, len), *ans;

    (void)r;
    if (!q) {
        sfa_respond_drop(req);
        return;
    }
    ans = agg_respond_answer(c, q, agg_now());
    if (sfa_respond_reply_json(req, c->id, ans) != 0)
        SFA_FINE("respond: answer to %s not sent", json_string_value(json_object_get(q, "op"))
                                                       ? json_string_value(json_object_get(q, "op"))
                                                       : "?");
    json_decref(ans);
    json_decref(q);
}
