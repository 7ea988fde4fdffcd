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

typedef struct mf_entry {
    const char *key; /* borrows the answer */
    double value;
    double best;     /* largest single contribution */
    json_t *best_src; /* borrowed: the entry with that contribution */
    json_int_t flow_n;
    double *vals;    /* sum mode: element-wise sums of "values" */
    size_t nvals;
} mf_entry;

typedef struct mf_set {
    mf_entry *e;
    size_t n, cap;
    json_t *idx; /* key -> index into e */
    int sum;
} mf_set;

static void
mf_add_values(mf_entry *m, const json_t *vals)
{
    size_t n = json_array_size(vals);

    if (n > m->nvals) {
        m->vals = sfa_xrealloc(m->vals, n * sizeof *m->vals);
        for (size_t i = m->nvals; i < n; i++)
            m->vals[i] = 0;
        m->nvals = n;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(vals, i);

        if (json_is_number(v))
            m->vals[i] += json_number_value(v);
    }
}

static void
mf_take(mf_set *s, json_t *e, gw_merge_stats *st)
{
    json_t *k = json_object_get(e, "key"), *v = json_object_get(e, "value");
    json_t *fn = json_object_get(e, "flowN"), *vals = json_object_get(e, "values");
    json_int_t flow_n = json_is_integer(fn) ? json_integer_value(fn) : 1;
    double val;
    json_t *at;
    mf_entry *m;

    if (!json_is_object(e) || !json_is_string(k) || !json_is_number(v) ||
        !isfinite(json_number_value(v))) {
        if (st)
            st->bad_entries++;
        return;
    }
    val = json_number_value(v);
    if ((at = json_object_get(s->idx, json_string_value(k))) == NULL) {
        if (s->n == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 64;
            s->e = sfa_xrealloc(s->e, s->cap * sizeof *s->e);
        }
        m = &s->e[s->n];
        memset(m, 0, sizeof *m);
        m->key = json_string_value(k);
        m->value = m->best = val;
        m->best_src = e;
        m->flow_n = flow_n;
        if (s->sum && json_is_array(vals))
            mf_add_values(m, vals);
        json_object_set_new(s->idx, m->key, json_integer((json_int_t)s->n));
        s->n++;
        return;
    }
    m = &s->e[json_integer_value(at)];
    m->flow_n += flow_n;
    if (s->sum) {
        m->value += val;
        if (json_is_array(vals))
            mf_add_values(m, vals);
    } else if (val > m->value) {
        m->value = val;
    }
    if (val > m->best) {
        m->best = val;
        m->best_src = e;
    }
}

static int
mf_cmp(const void *a, const void *b)
{
    const mf_entry *x = a, *y = b;

    if (x->value != y->value)
        return x->value > y->value ? -1 : 1;
    return strcmp(x->key, y->key);
}

static json_t *
mf_entry_json(const mf_set *s, const mf_entry *m)
{
    json_t *o = json_object(), *src = m->best_src, *v;

    json_object_set_new(o, "key", json_string(m->key));
    json_object_set_new(o, "value", json_real(m->value));
    if ((v = json_object_get(src, "agent")) != NULL)
        json_object_set(o, "agent", v);
    if ((v = json_object_get(src, "dataSource")) != NULL)
        json_object_set(o, "dataSource", v);
    json_object_set_new(o, "flowN", json_integer(m->flow_n));
    if (s->sum && m->nvals > 0) {
        json_t *a = json_array();

        for (size_t i = 0; i < m->nvals; i++)
            json_array_append_new(a, json_real(m->vals[i]));
        json_object_set_new(o, "values", a);
    } else if (!s->sum && (v = json_object_get(src, "values")) != NULL) {
        json_object_set_new(o, "values", json_deep_copy(v));
    }
    return o;
}

json_t *
gw_merge_activeflows(json_t *const *results, size_t n, int agg_sum, long max_flows,
                     double min_value, gw_merge_stats *st)
{
    mf_set s = {NULL, 0, 0, json_object(), agg_sum};
    json_t *out = json_array(), *e;
    size_t i, kept = 0;

    for (i = 0; i < n; i++) {
        if (!json_is_array(results[i])) {
            if (st && results[i])
                st->bad_entries++;
            continue;
        }
        json_array_foreach(results[i], kept, e) mf_take(&s, e, st);
    }
    if (s.n > 1)
        qsort(s.e, s.n, sizeof *s.e, mf_cmp);
    kept = 0;
    for (i = 0; i < s.n; i++) {
        if (max_flows >= 0 && kept >= (size_t)max_flows)
            break;
        if (s.e[i].value < min_value)
            break; /* sorted: the rest are smaller */
        json_array_append_new(out, mf_entry_json(&s, &s.e[i]));
        kept++;
    }
    for (i = 0; i < s.n; i++)
        free(s.e[i].vals);
    free(s.e);
    json_decref(s.idx);
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
        json_object_foreach(results[i], k, v) {
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

    json_array_foreach(src, i, v) {
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

    json_object_foreach((json_t *)src, k, v) {
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
        json_object_foreach(tables[i], agent, rec) {
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
