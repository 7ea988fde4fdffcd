/* rules.c - threshold evaluation: when does a value fire an event.
 *
 * The state machine, per (threshold, agent, data source, flow key); the
 * key is "" for counter metrics and for flow thresholds without byFlow:
 *
 *            value > threshold: FIRE
 *   ARMED  ------------------------------> DISARMED(above)
 *     ^                                      |      ^
 *     | at or below for timeout              | <=   | > (no event)
 *     |                                      v      |
 *     +--------------------------------- DISARMED(below since t)
 *
 * Strictly greater fires; equal is "at or below". Only disarmed states
 * are stored: an armed state that is below is the same as no state at all,
 * and an armed state cannot stay above (it fires). So memory follows the
 * number of recent events, not the number of flows. A disarmed key that a
 * report does not mention (byFlow keys missing from the top list, data
 * sources missing from their aggregator's report, data sources no report
 * has mentioned for stale_ms) counts as at or below from that moment,
 * which can only delay a re-arm, never advance it.
 *
 * Disarmed keys live in one hash table keyed by (data source node, key);
 * the data source nodes (threshold, agent, ds) in another, each holding a
 * list of its keys. Pure: time comes from the caller, no I/O; events go
 * to a callback. Loop thread only.
 */
#include <stdlib.h>
#include <string.h>

#include <sfa/mem.h>

#include "evt.h"

#define RULES_BUCKETS_MIN 64

/* An entry of a chained hash table (embedded first in its owner). */
typedef struct rules_hent {
    struct rules_hent *next;
    uint32_t hash;
} rules_hent;

typedef struct rules_tab {
    rules_hent **b;
    size_t nb; /* power of two */
    size_t n;
} rules_tab;

typedef struct rules_ds rules_ds;

/* One disarmed (threshold, agent, ds, key). */
typedef struct rules_key {
    rules_hent h;
    rules_ds *ds;
    struct rules_key *next; /* in ds->keys */
    int below;              /* last seen at or below the threshold */
    uint64_t below_since;   /* since when (ms), valid when below */
    uint64_t epoch;         /* report that last mentioned it */
    char key[];
} rules_key;

/* One (threshold, agent, ds) with at least one disarmed key. */
struct rules_ds {
    rules_hent h;
    const evt_threshold *thr; /* borrowed from the set; see evt_rules_rebind */
    uint64_t thr_uid;
    const char *thr_name, *agent, *ds; /* point into names */
    char *src;                         /* aggregator that last reported it */
    rules_key *keys;
    uint64_t epoch;   /* report that last covered it */
    uint64_t seen_ms; /* when */
    int stale;        /* counted as stale by a sweep (until reported again) */
    char names[];     /* "thr\0agent\0ds\0" */
};

struct evt_rules {
    const evt_thresholds *set;
    uint64_t stale_ms;
    evt_fire_cb cb;
    void *arg;
    rules_tab nodes; /* rules_ds */
    rules_tab keys;  /* rules_key */
    uint64_t epoch;  /* current report */
    uint64_t now_ms;
    const char *src; /* current report's aggregator (borrowed) */
    evt_rules_stats st;
};

/* ---- hashing ---- */

static uint32_t
rules_fnv(uint32_t h, const void *p, size_t n)
{
    const uint8_t *b = p;

    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 16777619u;
    }
    return h;
}

static uint32_t
rules_fnv_str(uint32_t h, const char *s)
{
    return rules_fnv(h, s, strlen(s) + 1); /* the NUL separates fields */
}

static void
rules_tab_init(rules_tab *t)
{
    t->nb = RULES_BUCKETS_MIN;
    t->b = sfa_xcalloc(t->nb, sizeof *t->b);
    t->n = 0;
}

static void
rules_tab_grow(rules_tab *t)
{
    size_t nb = t->nb * 2;
    rules_hent **b = sfa_xcalloc(nb, sizeof *b), *e, *next;

    for (size_t i = 0; i < t->nb; i++)
        for (e = t->b[i]; e; e = next) {
            next = e->next;
            e->next = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
        }
    free(t->b);
    t->b = b;
    t->nb = nb;
}

static void
rules_tab_add(rules_tab *t, rules_hent *e)
{
    if (t->n + 1 > 2 * t->nb)
        rules_tab_grow(t);
    e->next = t->b[e->hash & (t->nb - 1)];
    t->b[e->hash & (t->nb - 1)] = e;
    t->n++;
}

static void
rules_tab_del(rules_tab *t, rules_hent *e)
{
    rules_hent **pp = &t->b[e->hash & (t->nb - 1)];

    while (*pp && *pp != e)
        pp = &(*pp)->next;
    if (*pp) {
        *pp = e->next;
        t->n--;
    }
}

/* ---- nodes and keys ---- */

static uint32_t
rules_ds_hash(const char *thr, const char *agent, const char *ds)
{
    return rules_fnv_str(rules_fnv_str(rules_fnv_str(2166136261u, thr), agent), ds);
}

static rules_ds *
rules_ds_find(const evt_rules *r, const char *thr, const char *agent, const char *ds)
{
    uint32_t h = rules_ds_hash(thr, agent, ds);

    for (rules_hent *e = r->nodes.b[h & (r->nodes.nb - 1)]; e; e = e->next) {
        rules_ds *n = (rules_ds *)e;

        if (e->hash == h && strcmp(n->thr_name, thr) == 0 && strcmp(n->agent, agent) == 0 &&
            strcmp(n->ds, ds) == 0)
            return n;
    }
    return NULL;
}

static rules_ds *
rules_ds_add(evt_rules *r, const evt_threshold *t, const char *agent, const char *ds)
{
    size_t lt = strlen(t->name) + 1, la = strlen(agent) + 1, ld = strlen(ds) + 1;
    rules_ds *n = sfa_xcalloc(1, sizeof *n + lt + la + ld);

    memcpy(n->names, t->name, lt);
    memcpy(n->names + lt, agent, la);
    memcpy(n->names + lt + la, ds, ld);
    n->thr_name = n->names;
    n->agent = n->names + lt;
    n->ds = n->names + lt + la;
    n->thr = t;
    n->thr_uid = t->uid;
    n->h.hash = rules_ds_hash(t->name, agent, ds);
    rules_tab_add(&r->nodes, &n->h);
    return n;
}

static uint32_t
rules_key_hash(const rules_ds *n, const char *key)
{
    return rules_fnv_str(rules_fnv(2166136261u, &n, sizeof n), key);
}

static rules_key *
rules_key_find(const evt_rules *r, const rules_ds *n, const char *key)
{
    uint32_t h = rules_key_hash(n, key);

    for (rules_hent *e = r->keys.b[h & (r->keys.nb - 1)]; e; e = e->next) {
        rules_key *k = (rules_key *)e;

        if (e->hash == h && k->ds == n && strcmp(k->key, key) == 0)
            return k;
    }
    return NULL;
}

static rules_key *
rules_key_add(evt_rules *r, rules_ds *n, const char *key)
{
    size_t len = strlen(key) + 1;
    rules_key *k = sfa_xcalloc(1, sizeof *k + len);

    memcpy(k->key, key, len);
    k->ds = n;
    k->next = n->keys;
    n->keys = k;
    k->h.hash = rules_key_hash(n, key);
    rules_tab_add(&r->keys, &k->h);
    r->st.states++;
    return k;
}

/* Unlink and free *kp (a link of its node's list). */
static void
rules_key_del(evt_rules *r, rules_key **kp)
{
    rules_key *k = *kp;

    *kp = k->next;
    rules_tab_del(&r->keys, &k->h);
    r->st.states--;
    free(k);
}

static void
rules_ds_del(evt_rules *r, rules_ds *n)
{
    while (n->keys)
        rules_key_del(r, &n->keys);
    rules_tab_del(&r->nodes, &n->h);
    free(n->src);
    free(n);
}

/* ---- the state machine ---- */

/* k is at or below from now on (unless it already was). */
static void
rules_mark_below(rules_key *k, uint64_t now)
{
    if (!k->below) {
        k->below = 1;
        k->below_since = now;
    }
}

/* After a report (or sweep) touched n: keys it did not mention count as at
 * or below from now, and keys at or below for their timeout re-arm (are
 * deleted). Then n itself goes if it has no keys left. */
static void
rules_settle(evt_rules *r, rules_ds *n)
{
    rules_key **kp = &n->keys;

    while (*kp) {
        rules_key *k = *kp;

        if (k->epoch != r->epoch)
            rules_mark_below(k, r->now_ms);
        if (k->below && r->now_ms - k->below_since >= n->thr->timeout_ms) {
            rules_key_del(r, kp);
            r->st.rearmed++;
        } else {
            kp = &k->next;
        }
    }
    if (!n->keys)
        rules_ds_del(r, n);
}

/* The node for (t, agent, ds), created if create; marks it covered by the
 * current report. */
static rules_ds *
rules_node(evt_rules *r, const evt_threshold *t, const char *agent, const char *ds, int create)
{
    rules_ds *n = rules_ds_find(r, t->name, agent, ds);

    if (!n && !create)
        return NULL;
    if (!n)
        n = rules_ds_add(r, t, agent, ds);
    n->epoch = r->epoch;
    n->seen_ms = r->now_ms;
    n->stale = 0;
    if (!n->src || strcmp(n->src, r->src) != 0) {
        free(n->src);
        n->src = sfa_xstrdup(r->src);
    }
    return n;
}

/* Evaluate one (t, agent, ds, key) at value; fires through the callback.
 * *np is the data source node (NULL until one is needed). */
static void
rules_observe(evt_rules *r, const evt_threshold *t, rules_ds **np, const char *agent,
              const char *ds, const evt_topkey *top, const char *key, double value)
{
    rules_key *k;

    r->st.observations++;
    if (!*np)
        *np = rules_node(r, t, agent, ds, value > t->value);
    k = *np ? rules_key_find(r, *np, key) : NULL;
    if (value > t->value) {
        if (k) {
            k->below = 0; /* still disarmed: no repeat */
        } else {
            evt_fire f = {t, agent, ds, top ? top->key : NULL, value, top ? top->values : NULL};

            k = rules_key_add(r, *np, key);
            r->st.fired++;
            r->cb(&f, r->arg);
        }
        k->epoch = r->epoch;
    } else if (k) {
        k->epoch = r->epoch;
        rules_mark_below(k, r->now_ms);
    }
}

static void
rules_flow_one(evt_rules *r, const evt_threshold *t, const char *agent, const char *ds,
               double value, const evt_topkey *top, size_t ntop)
{
    rules_ds *n = NULL;

    if (!t->by_flow) {
        rules_observe(r, t, &n, agent, ds, ntop ? &top[0] : NULL, "", value);
    } else {
        for (size_t i = 0; i < ntop; i++)
            if (top[i].key)
                rules_observe(r, t, &n, agent, ds, &top[i], top[i].key, top[i].value);
        if (!n) /* nothing above now: the node may still hold disarmed keys */
            n = rules_node(r, t, agent, ds, 0);
    }
    if (n)
        rules_settle(r, n);
}

/* ---- public ---- */

evt_rules *
evt_rules_create(const evt_thresholds *set, uint64_t stale_ms, evt_fire_cb cb, void *arg)
{
    evt_rules *r = sfa_xcalloc(1, sizeof *r);

    r->set = set;
    r->stale_ms = stale_ms;
    r->cb = cb;
    r->arg = arg;
    r->src = "";
    rules_tab_init(&r->nodes);
    rules_tab_init(&r->keys);
    return r;
}

/* Call fn on every node (fn may delete the node it is given). */
static void
rules_each_node(evt_rules *r, void (*fn)(evt_rules *r, rules_ds *n))
{
    for (size_t i = 0; i < r->nodes.nb; i++) {
        rules_hent *e = r->nodes.b[i], *next;

        for (; e; e = next) {
            next = e->next;
            fn(r, (rules_ds *)e);
        }
    }
}

void
evt_rules_destroy(evt_rules *r)
{
    if (!r)
        return;
    rules_each_node(r, rules_ds_del);
    free(r->nodes.b);
    free(r->keys.b);
    free(r);
}

static void
rules_rebind_node(evt_rules *r, rules_ds *n)
{
    const evt_threshold *t = evt_thresholds_get(r->set, n->thr_name);

    if (!t || t->uid != n->thr_uid)
        rules_ds_del(r, n);
    else
        n->thr = t;
}

void
evt_rules_rebind(evt_rules *r)
{
    rules_each_node(r, rules_rebind_node);
}

void
evt_rules_begin(evt_rules *r, const char *src, uint64_t now_ms)
{
    r->epoch++;
    r->now_ms = now_ms;
    r->src = src;
}

void
evt_rules_flow(evt_rules *r, const char *agent, const char *ds, const char *name, double value,
               const evt_topkey *top, size_t ntop)
{
    size_t n;
    const evt_threshold *const *ts = evt_thresholds_for_metric(r->set, name, &n);

    for (size_t i = 0; i < n; i++)
        if (evt_threshold_matches(ts[i], agent, ds))
            rules_flow_one(r, ts[i], agent, ds, value, top, ntop);
}

void
evt_rules_counter(evt_rules *r, const char *agent, const char *ds, const char *name, double value)
{
    size_t n;
    const evt_threshold *const *ts = evt_thresholds_for_metric(r->set, name, &n);

    for (size_t i = 0; i < n; i++) {
        rules_ds *node = NULL;

        if (!evt_threshold_matches(ts[i], agent, ds))
            continue;
        rules_observe(r, ts[i], &node, agent, ds, NULL, "", value);
        if (node)
            rules_settle(r, node);
    }
}

/* A node of the current report's aggregator that the report skipped. */
static void
rules_end_node(evt_rules *r, rules_ds *n)
{
    if (n->epoch == r->epoch || !n->src || strcmp(n->src, r->src) != 0)
        return;
    rules_settle(r, n);
}

void
evt_rules_end(evt_rules *r)
{
    rules_each_node(r, rules_end_node);
    r->src = "";
}

static void
rules_sweep_node(evt_rules *r, rules_ds *n)
{
    if (r->now_ms - n->seen_ms < r->stale_ms)
        return;
    if (!n->stale) {
        n->stale = 1;
        r->st.stale++;
    }
    rules_settle(r, n);
}

void
evt_rules_sweep(evt_rules *r, uint64_t now_ms)
{
    r->epoch++; /* no key is mentioned by a sweep */
    r->now_ms = now_ms;
    rules_each_node(r, rules_sweep_node);
}

int
evt_rules_triggered(const evt_rules *r, const char *thr, const char *agent, const char *ds,
                    const char *key)
{
    const rules_ds *n = rules_ds_find(r, thr, agent, ds);

    return n && rules_key_find(r, n, key) != NULL;
}

void
evt_rules_get_stats(const evt_rules *r, evt_rules_stats *st)
{
    *st = r->st;
}
