/* query_merge.c - merge the answers of several aggregators (or collectors)
 * into one sFlow-RT shaped answer.
 *
 * activeflows: per key, the max or the sum of value across answers (the
 * same operation sFlow-RT applies across data sources, since an agent never
 * spans shards); agent and dataSource come from the largest single
 * contribution; flowN adds up; values follow value (max: the winning
 * entry's; sum: element-wise sums). Then the top max_flows by value.
 * flowkeys: per key the most recent sighting. agents: per agent the
 * counters of every collector that saw it, added up.
 *
 * Pure: no I/O, no globals; inputs are borrowed and never modified.
 * Malformed entries are skipped and counted, never fatal.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/mem.h>

#include "gw.h"

/* ---- activeflows: an accumulator keyed by the flow key ---- */

typedef struct mf_entry {
    const char *key; /* borrows the answer */
    size_t key_len;
    uint32_t hash;
    double value;
    double best; /* largest single contribution: agent and dataSource come from it */
    const char *agent;
    size_t agent_len;
    const char *ds;
    size_t ds_len;
    int64_t flow_n;
    int nvals; /* -1: no contributor had "values" */
    double vals[SFA_FLOW_ENTRY_VALUES];
} mf_entry;

struct gw_flow_merge {
    int sum;
    mf_entry *e;
    size_t n, cap;
    uint32_t *slots; /* open addressing: 0 empty, else index + 1 */
    size_t nslots;   /* power of two */
};

static uint32_t
mf_hash(const char *p, size_t n)
{
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 16777619u;
    return h;
}

static void
mf_rehash(gw_flow_merge *m)
{
    size_t want = m->nslots ? m->nslots * 2 : 64;

    free(m->slots);
    m->slots = sfa_xcalloc(want, sizeof *m->slots);
    m->nslots = want;
    for (size_t i = 0; i < m->n; i++) {
        size_t j = m->e[i].hash & (want - 1);

        while (m->slots[j])
            j = (j + 1) & (want - 1);
        m->slots[j] = (uint32_t)i + 1;
    }
}

gw_flow_merge *
gw_flow_merge_new(int agg_sum)
{
    gw_flow_merge *m = sfa_xcalloc(1, sizeof *m);

    m->sum = agg_sum;
    return m;
}

void
gw_flow_merge_free(gw_flow_merge *m)
{
    if (!m)
        return;
    free(m->e);
    free(m->slots);
    free(m);
}

static void
mf_set_values(mf_entry *d, const sfa_flow_entry *e)
{
    d->nvals = e->nvalues;
    if (e->nvalues > 0)
        memcpy(d->vals, e->values, (size_t)e->nvalues * sizeof *d->vals);
}

static void
mf_fold(gw_flow_merge *m, mf_entry *d, const sfa_flow_entry *e)
{
    int winner = e->value > d->best;

    d->flow_n += e->flow_n;
    if (m->sum) {
        d->value += e->value;
        for (int i = 0; i < e->nvalues; i++) {
            if (i >= d->nvals)
                d->vals[i] = 0;
            d->vals[i] += e->values[i];
        }
        if (e->nvalues > d->nvals)
            d->nvals = e->nvalues;
    } else if (e->value > d->value) {
        d->value = e->value;
        mf_set_values(d, e);
    }
    if (winner) {
        d->best = e->value;
        d->agent = e->agent;
        d->agent_len = e->agent_len;
        d->ds = e->ds;
        d->ds_len = e->ds_len;
    }
}

void
gw_flow_merge_add(gw_flow_merge *m, const sfa_flow_entry *e)
{
    uint32_t h = mf_hash(e->key, e->key_len);
    mf_entry *d;
    size_t j;

    if ((m->n + 1) * 2 > m->nslots)
        mf_rehash(m);
    for (j = h & (m->nslots - 1); m->slots[j]; j = (j + 1) & (m->nslots - 1)) {
        d = &m->e[m->slots[j] - 1];
        if (d->hash == h && d->key_len == e->key_len && memcmp(d->key, e->key, e->key_len) == 0) {
            mf_fold(m, d, e);
            return;
        }
    }
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->e = sfa_xrealloc(m->e, m->cap * sizeof *m->e);
    }
    d = &m->e[m->n];
    d->key = e->key;
    d->key_len = e->key_len;
    d->hash = h;
    d->value = d->best = e->value;
    d->agent = e->agent;
    d->agent_len = e->agent_len;
    d->ds = e->ds;
    d->ds_len = e->ds_len;
    d->flow_n = e->flow_n;
    mf_set_values(d, e);
    m->slots[j] = (uint32_t)++m->n;
}

static int
mf_cmp(const void *a, const void *b)
{
    const mf_entry *x = *(const mf_entry *const *)a, *y = *(const mf_entry *const *)b;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c;

    if (x->value != y->value)
        return x->value > y->value ? -1 : 1;
    c = memcmp(x->key, y->key, n);
    return c ? c : (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

static json_t *
mf_entry_json(const mf_entry *d)
{
    json_t *o = json_object();

    json_object_set_new(o, "key", json_stringn(d->key, d->key_len));
    json_object_set_new(o, "value", json_real(d->value));
    if (d->agent)
        json_object_set_new(o, "agent", json_stringn(d->agent, d->agent_len));
    if (d->ds)
        json_object_set_new(o, "dataSource", json_stringn(d->ds, d->ds_len));
    json_object_set_new(o, "flowN", json_integer((json_int_t)d->flow_n));
    if (d->nvals >= 0) {
        json_t *a = json_array();

        for (int i = 0; i < d->nvals; i++)
            json_array_append_new(a, json_real(d->vals[i]));
        json_object_set_new(o, "values", a);
    }
    return o;
}

json_t *
gw_flow_merge_result(gw_flow_merge *m, long max_flows, double min_value)
{
    mf_entry **order = sfa_xcalloc(m->n ? m->n : 1, sizeof *order);
    json_t *out = json_array();
    size_t kept = 0;

    for (size_t i = 0; i < m->n; i++)
        order[i] = &m->e[i];
    if (m->n > 1)
        qsort(order, m->n, sizeof *order, mf_cmp);
    for (size_t i = 0; i < m->n; i++) {
        if ((max_flows >= 0 && kept >= (size_t)max_flows) || order[i]->value < min_value)
            break; /* sorted: the rest are smaller */
        json_array_append_new(out, mf_entry_json(order[i]));
        kept++;
    }
    free(order);
    return out;
}

/* A JSON entry as an sfa_flow_entry (strings borrow e). 0, or -1 when it
 * lacks a string key or a finite numeric value. */
static int
mf_from_json(json_t *e, sfa_flow_entry *out)
{
    json_t *k = json_object_get(e, "key"), *v = json_object_get(e, "value");
    json_t *a = json_object_get(e, "agent"), *ds = json_object_get(e, "dataSource");
    json_t *fn = json_object_get(e, "flowN"), *vals = json_object_get(e, "values"), *x;
    size_t i;

    if (!json_is_string(k) || !json_is_number(v) || !isfinite(json_number_value(v)))
        return -1;
    memset(out, 0, sizeof *out);
    out->key = json_string_value(k);
    out->key_len = json_string_length(k);
    out->value = json_number_value(v);
    if (json_is_string(a)) {
        out->agent = json_string_value(a);
        out->agent_len = json_string_length(a);
    }
    if (json_is_string(ds)) {
        out->ds = json_string_value(ds);
        out->ds_len = json_string_length(ds);
    }
    out->flow_n = json_is_integer(fn) ? json_integer_value(fn) : 1;
    out->nvalues = json_is_array(vals) ? 0 : -1;
    json_array_foreach(vals, i, x)
    {
        if (out->nvalues < SFA_FLOW_ENTRY_VALUES)
            out->values[out->nvalues++] = json_is_number(x) ? json_number_value(x) : 0;
    }
    return 0;
}

json_t *
gw_merge_activeflows(json_t *const *results, size_t n, int agg_sum, long max_flows,
                     double min_value, gw_merge_stats *st)
{
    gw_flow_merge *m = gw_flow_merge_new(agg_sum);
    sfa_flow_entry fe;
    json_t *e, *out;
    size_t i, j;

    for (i = 0; i < n; i++) {
        if (!json_is_array(results[i])) {
            if (st && results[i])
                st->bad_entries++;
            continue;
        }
        json_array_foreach(results[i], j, e)
        {
            if (mf_from_json(e, &fe) == 0)
                gw_flow_merge_add(m, &fe);
            else if (st)
                st->bad_entries++;
        }
    }
    out = gw_flow_merge_result(m, max_flows, min_value);
    gw_flow_merge_free(m);
    return out;
}

json_t *
gw_merge_flowkeys(json_t *const *results, size_t n)
{
    json_t *out = json_object(), *v, *cur;
    const char *k;

    for (size_t i = 0; i < n; i++) {
        if (!json_is_object(results[i]))
            continue;
        json_object_foreach(results[i], k, v)
        {
            if (!json_is_number(v))
                continue;
            cur = json_object_get(out, k);
            if (!cur || json_number_value(v) < json_number_value(cur))
                json_object_set(out, k, v);
        }
    }
    return out;
}

/* ---- agents ---- */

static void
agents_union(json_t *dst, const json_t *src)
{
    size_t i, j;
    json_t *v, *w;

    json_array_foreach(src, i, v)
    {
        int found = 0;

        json_array_foreach(dst, j, w) found |= json_equal(v, w);
        if (!found)
            json_array_append(dst, v);
    }
}

/* Fold one collector's record of an agent into the merged record. */
static void
agents_fold(json_t *dst, const json_t *src, uint64_t age)
{
    const char *k;
    json_t *v, *cur;

    json_object_foreach((json_t *)src, k, v)
    {
        int is_first = strcmp(k, "firstSeen") == 0, is_last = strcmp(k, "lastSeen") == 0;
        double x = json_is_number(v) ? json_number_value(v) : 0;

        if ((is_first || is_last) && json_is_number(v))
            x += (double)age;
        cur = json_object_get(dst, k);
        if (json_is_array(v)) {
            if (!json_is_array(cur))
                json_object_set_new(dst, k, json_deep_copy(v));
            else
                agents_union(cur, v);
        } else if (!json_is_number(v)) {
            if (!cur)
                json_object_set(dst, k, v);
        } else if (!cur || !json_is_number(cur)) {
            json_object_set_new(dst, k, json_integer((json_int_t)x));
        } else if (is_first || strcmp(k, "uptime") == 0) {
            if (x > json_number_value(cur))
                json_object_set_new(dst, k, json_integer((json_int_t)x));
        } else if (is_last) {
            if (x < json_number_value(cur))
                json_object_set_new(dst, k, json_integer((json_int_t)x));
        } else {
            json_object_set_new(dst, k, json_integer((json_int_t)(json_number_value(cur) + x)));
        }
    }
}

json_t *
gw_merge_agents(json_t *const *tables, const uint64_t *age_ms, size_t n)
{
    json_t *out = json_object(), *rec, *dst;
    const char *agent;

    for (size_t i = 0; i < n; i++) {
        if (!json_is_object(tables[i]))
            continue;
        json_object_foreach(tables[i], agent, rec)
        {
            if (!json_is_object(rec))
                continue;
            if ((dst = json_object_get(out, agent)) == NULL) {
                dst = json_object();
                json_object_set_new(out, agent, dst);
            }
            agents_fold(dst, rec, age_ms ? age_ms[i] : 0);
        }
    }
    return out;
}
