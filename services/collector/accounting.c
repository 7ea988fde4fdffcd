/* accounting.c - per-agent datagram and sample accounting, as sFlow-RT's
 * /agents/json reports it.
 *
 * For every agent address the table keeps the UDP sources it was seen from,
 * first/last arrival, its latest uptime, and datagram sequence accounting
 * per (agent, sub-agent); for every data source of the agent, sample
 * sequence accounting per kind (flow, counter, discard) and the drops the
 * agent reports. Sequence rules (one function, acct_seq_step): +1 is
 * normal; +2..+10000 is a gap (lost += step - 1); 0 is a duplicate; a step
 * back of at most 10000 while uptime did not go back (beyond a short
 * reordering window) is out of order; anything else, or uptime going back,
 * is a discontinuity (agent restart, or several exporters sharing one
 * address): a new stream, not loss.
 *
 * Hash tables (open addressing) allocate only when a new agent, source,
 * sub-agent or data source appears, so the per-datagram path does not
 * allocate. Sizes are capped so spoofed traffic cannot exhaust memory;
 * what does not fit is counted. JSON is built only on demand (stats
 * timer). Loop thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/mem.h>

#include "col.h"

#define ACCT_SEQ_WINDOW 10000u /* largest step taken as a gap or a reorder */
#define ACCT_REORDER_MS 2000u  /* uptime may go back this much on a reorder */
#define ACCT_WRAP_MS 600000u   /* uptime near 2^32 ms going to near 0 is a wrap */
#define ACCT_MAX_AGENTS 65536u
#define ACCT_MAX_DS 65536u   /* data sources per agent */
#define ACCT_MAX_SOURCES 64u /* UDP source addresses listed per agent */
#define ACCT_MAX_SUBS 1024u  /* sub-agents per agent */

enum acct_step {
    ACCT_FIRST,
    ACCT_NEXT,
    ACCT_GAP,
    ACCT_DUP,
    ACCT_REORDER,
    ACCT_RESTART,
};

/* One sequence-numbered stream. */
typedef struct acct_seq {
    uint32_t last;   /* highest sequence number accepted */
    uint32_t uptime; /* uptime that came with it */
    uint32_t drops;  /* agent-reported drops that came with it */
    uint8_t started;
} acct_seq;

/* Counters of one sample kind of one agent. */
typedef struct acct_ctr {
    uint64_t samples;
    uint64_t lost;
    uint64_t drops;
    uint64_t out_of_order;
    uint64_t duplicates;
    uint64_t datasources;
} acct_ctr;

enum { ACCT_K_FLOW, ACCT_K_COUNTER, ACCT_K_DISCARD, ACCT_K__COUNT };

typedef struct acct_ds {
    uint32_t ds_class;
    uint32_t ds_index;
    uint8_t used;
    acct_seq seq[ACCT_K__COUNT];
} acct_ds;

typedef struct acct_sub {
    uint32_t id;
    acct_seq seq;
} acct_sub;

typedef struct acct_agent {
    sfa_addr addr;
    uint64_t first_ms, last_ms;
    uint32_t uptime;
    uint64_t dgrams, dgram_lost, dgram_ooo, dgram_dups;
    sfa_addr *sources;
    uint32_t nsources, cap_sources;
    acct_sub *subs;
    uint32_t nsubs, cap_subs;
    acct_ds *ds; /* open addressing, ds_cap a power of two */
    uint32_t ds_cap, ds_used;
    acct_ctr ctr[ACCT_K__COUNT];
} acct_agent;

struct col_acct {
    acct_agent **slots; /* open addressing, cap a power of two */
    uint32_t cap, used;
    col_acct_stats st;
};

col_acct *
col_acct_create(void)
{
    col_acct *a = sfa_xcalloc(1, sizeof *a);

    a->cap = 64;
    a->slots = sfa_xcalloc(a->cap, sizeof *a->slots);
    return a;
}

static void
acct_agent_free(acct_agent *g)
{
    free(g->sources);
    free(g->subs);
    free(g->ds);
    free(g);
}

void
col_acct_destroy(col_acct *a)
{
    if (!a)
        return;
    for (uint32_t i = 0; i < a->cap; i++)
        if (a->slots[i])
            acct_agent_free(a->slots[i]);
    free(a->slots);
    free(a);
}

/* ---- sequence rules ---- */

static int
acct_uptime_went_back(uint32_t last, uint32_t now)
{
    if ((uint64_t)now + ACCT_REORDER_MS >= last)
        return 0;
    /* A 32-bit ms uptime wraps every 49.7 days; top-to-bottom is not a restart. */
    if (last > UINT32_MAX - ACCT_WRAP_MS && now < ACCT_WRAP_MS)
        return 0;
    return 1;
}

/* Classify seq against the stream and advance it. *lost gets the gap size. */
static enum acct_step
acct_seq_step(acct_seq *s, uint32_t seq, uint32_t uptime, uint32_t *lost)
{
    uint32_t fwd = seq - s->last, back = s->last - seq;
    enum acct_step r;

    *lost = 0;
    if (!s->started) {
        r = ACCT_FIRST;
    } else if (acct_uptime_went_back(s->uptime, uptime)) {
        r = ACCT_RESTART;
    } else if (fwd == 0) {
        return ACCT_DUP;
    } else if (fwd == 1) {
        r = ACCT_NEXT;
    } else if (fwd <= ACCT_SEQ_WINDOW) {
        *lost = fwd - 1;
        r = ACCT_GAP;
    } else if (back <= ACCT_SEQ_WINDOW) {
        return ACCT_REORDER; /* the stream keeps its highest number */
    } else {
        r = ACCT_RESTART;
    }
    s->started = 1;
    s->last = seq;
    s->uptime = uptime;
    return r;
}

/* ---- agent table ---- */

static uint32_t
acct_hash(const uint8_t *p, size_t n, uint32_t h)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

static uint32_t
acct_addr_hash(const sfa_addr *a)
{
    return acct_hash(a->a, a->family == 4 ? 4 : 16, 2166136261u ^ a->family);
}

static int
acct_addr_eq(const sfa_addr *x, const sfa_addr *y)
{
    return x->family == y->family && memcmp(x->a, y->a, x->family == 4 ? 4 : 16) == 0;
}

static void
acct_grow(col_acct *a)
{
    uint32_t ncap = a->cap * 2;
    acct_agent **ns = sfa_xcalloc(ncap, sizeof *ns);

    for (uint32_t i = 0; i < a->cap; i++) {
        acct_agent *g = a->slots[i];
        if (!g)
            continue;
        uint32_t j = acct_addr_hash(&g->addr) & (ncap - 1);
        while (ns[j])
            j = (j + 1) & (ncap - 1);
        ns[j] = g;
    }
    free(a->slots);
    a->slots = ns;
    a->cap = ncap;
}

/* Find the agent, adding it if new. NULL when the table is full. */
static acct_agent *
acct_agent_get(col_acct *a, const sfa_addr *addr, uint64_t now_ms)
{
    uint32_t i = acct_addr_hash(addr) & (a->cap - 1);
    acct_agent *g;

    while ((g = a->slots[i]) != NULL) {
        if (acct_addr_eq(&g->addr, addr))
            return g;
        i = (i + 1) & (a->cap - 1);
    }
    if (a->used >= ACCT_MAX_AGENTS)
        return NULL;
    g = sfa_xcalloc(1, sizeof *g);
    g->addr = *addr;
    g->first_ms = now_ms;
    a->slots[i] = g;
    a->used++;
    a->st.agents = a->used;
    if (a->used * 2 > a->cap)
        acct_grow(a);
    return g;
}

static void
acct_note_source(acct_agent *g, const sfa_addr *src)
{
    for (uint32_t i = 0; i < g->nsources; i++)
        if (acct_addr_eq(&g->sources[i], src))
            return;
    if (src->family == 0 || g->nsources >= ACCT_MAX_SOURCES)
        return;
    if (g->nsources == g->cap_sources) {
        g->cap_sources = g->cap_sources ? g->cap_sources * 2 : 2;
        g->sources = sfa_xrealloc(g->sources, g->cap_sources * sizeof *g->sources);
    }
    g->sources[g->nsources++] = *src;
}

static acct_sub *
acct_sub_get(acct_agent *g, uint32_t id)
{
    for (uint32_t i = 0; i < g->nsubs; i++)
        if (g->subs[i].id == id)
            return &g->subs[i];
    if (g->nsubs >= ACCT_MAX_SUBS)
        return NULL;
    if (g->nsubs == g->cap_subs) {
        g->cap_subs = g->cap_subs ? g->cap_subs * 2 : 2;
        g->subs = sfa_xrealloc(g->subs, g->cap_subs * sizeof *g->subs);
    }
    memset(&g->subs[g->nsubs], 0, sizeof g->subs[0]);
    g->subs[g->nsubs].id = id;
    return &g->subs[g->nsubs++];
}

/* ---- data sources ---- */

static uint32_t
acct_ds_slot(const acct_ds *tab, uint32_t cap, uint32_t cls, uint32_t idx)
{
    uint32_t key[2] = {cls, idx};
    uint32_t i = acct_hash((const uint8_t *)key, sizeof key, 2166136261u) & (cap - 1);

    while (tab[i].used && (tab[i].ds_class != cls || tab[i].ds_index != idx))
        i = (i + 1) & (cap - 1);
    return i;
}

static void
acct_ds_grow(acct_agent *g)
{
    uint32_t ncap = g->ds_cap ? g->ds_cap * 2 : 8;
    acct_ds *nt = sfa_xcalloc(ncap, sizeof *nt);

    for (uint32_t i = 0; i < g->ds_cap; i++)
        if (g->ds[i].used)
            nt[acct_ds_slot(nt, ncap, g->ds[i].ds_class, g->ds[i].ds_index)] = g->ds[i];
    free(g->ds);
    g->ds = nt;
    g->ds_cap = ncap;
}

/* Find the data source, adding it if new. NULL when the agent is full. */
static acct_ds *
acct_ds_get(col_acct *a, acct_agent *g, uint32_t cls, uint32_t idx)
{
    uint32_t i;

    if (g->ds_cap == 0)
        acct_ds_grow(g);
    i = acct_ds_slot(g->ds, g->ds_cap, cls, idx);
    if (g->ds[i].used)
        return &g->ds[i];
    if (g->ds_used >= ACCT_MAX_DS)
        return NULL;
    if ((g->ds_used + 1) * 2 > g->ds_cap) {
        acct_ds_grow(g);
        i = acct_ds_slot(g->ds, g->ds_cap, cls, idx);
    }
    g->ds[i].used = 1;
    g->ds[i].ds_class = cls;
    g->ds[i].ds_index = idx;
    g->ds_used++;
    a->st.datasources++;
    return &g->ds[i];
}

static int
acct_kind_of(const sfa_sample *s)
{
    if (sfa_sample_is_flow(s))
        return ACCT_K_FLOW;
    if (sfa_sample_is_counter(s))
        return ACCT_K_COUNTER;
    if (s->tag == SFA_SAMPLE_DISCARD)
        return ACCT_K_DISCARD;
    return -1;
}

static void
acct_sample(col_acct *a, acct_agent *g, const sfa_sample *s, uint32_t uptime)
{
    int k = acct_kind_of(s);
    acct_ds *ds;
    acct_ctr *c;
    acct_seq *q;
    uint32_t lost, prev_drops;
    enum acct_step step;

    if (k < 0)
        return;
    ds = acct_ds_get(a, g, s->ds_class, s->ds_index);
    if (!ds) {
        a->st.overflow++;
        return;
    }
    c = &g->ctr[k];
    q = &ds->seq[k];
    if (!q->started)
        c->datasources++;
    prev_drops = q->drops;
    step = acct_seq_step(q, s->seq, uptime, &lost);
    c->samples++;
    switch (step) {
    case ACCT_GAP:
        c->lost += lost;
        /* fall through */
    case ACCT_NEXT:
        /* drops is a cumulative counter: sum its increases; a decrease is
         * a reset, taken as a new baseline. */
        if (k != ACCT_K_COUNTER && s->drops >= prev_drops)
            c->drops += s->drops - prev_drops;
        q->drops = s->drops;
        break;
    case ACCT_DUP:
        c->duplicates++;
        break;
    case ACCT_REORDER:
        c->out_of_order++;
        break;
    case ACCT_RESTART:
        a->st.restarts++;
        /* fall through */
    case ACCT_FIRST:
        q->drops = s->drops;
        break;
    }
}

void
col_acct_dgram(col_acct *a, const sfa_dgram *d, uint64_t now_ms)
{
    acct_agent *g = acct_agent_get(a, &d->agent, now_ms);
    acct_sub *sub;
    uint32_t lost;

    if (!g) {
        a->st.overflow++;
        return;
    }
    g->last_ms = now_ms;
    g->uptime = d->uptime;
    g->dgrams++;
    acct_note_source(g, &d->src);
    sub = acct_sub_get(g, d->sub_agent);
    if (!sub) {
        a->st.overflow++;
    } else {
        switch (acct_seq_step(&sub->seq, d->seq, d->uptime, &lost)) {
        case ACCT_GAP:
            g->dgram_lost += lost;
            break;
        case ACCT_DUP:
            g->dgram_dups++;
            break;
        case ACCT_REORDER:
            g->dgram_ooo++;
            break;
        case ACCT_RESTART:
            a->st.restarts++;
            break;
        default:
            break;
        }
    }
    for (uint32_t i = 0; i < d->nsamples; i++)
        acct_sample(a, g, &d->samples[i], d->uptime);
}

size_t
col_acct_count(const col_acct *a)
{
    return a->used;
}

void
col_acct_get_stats(const col_acct *a, col_acct_stats *st)
{
    *st = a->st;
}

/* ---- JSON ---- */

static void
acct_set_u(json_t *o, const char *name, uint64_t v)
{
    json_object_set_new(o, name, json_integer((json_int_t)v));
}

static void
acct_kind_json(json_t *o, const acct_ctr *c, const char *kind, int with_drops)
{
    char name[64];

    snprintf(name, sizeof name, "sFlow%sSamples", kind);
    acct_set_u(o, name, c->samples);
    snprintf(name, sizeof name, "sFlow%sLostSamples", kind);
    acct_set_u(o, name, c->lost);
    if (with_drops) {
        snprintf(name, sizeof name, "sFlow%sDrops", kind);
        acct_set_u(o, name, c->drops);
    }
    snprintf(name, sizeof name, "sFlow%sOutOfOrderSamples", kind);
    acct_set_u(o, name, c->out_of_order);
    snprintf(name, sizeof name, "sFlow%sDuplicateSamples", kind);
    acct_set_u(o, name, c->duplicates);
    snprintf(name, sizeof name, "sFlow%sDatasources", kind);
    acct_set_u(o, name, c->datasources);
}

static json_t *
acct_agent_json(const acct_agent *g, uint64_t now_ms)
{
    json_t *o = json_object(), *srcs = json_array();
    char text[64];

    for (uint32_t i = 0; i < g->nsources; i++) {
        sfa_addr_format(&g->sources[i], text);
        json_array_append_new(srcs, json_string(text));
    }
    json_object_set_new(o, "sFlowDatagramSource", srcs);
    acct_set_u(o, "firstSeen", now_ms >= g->first_ms ? now_ms - g->first_ms : 0);
    acct_set_u(o, "lastSeen", now_ms >= g->last_ms ? now_ms - g->last_ms : 0);
    acct_set_u(o, "uptime", g->uptime);
    acct_set_u(o, "sFlowDatagramsReceived", g->dgrams);
    acct_set_u(o, "sFlowDatagramsLost", g->dgram_lost);
    acct_set_u(o, "sFlowDatagramsOutOfOrder", g->dgram_ooo);
    acct_set_u(o, "sFlowDatagramsDuplicates", g->dgram_dups);
    acct_kind_json(o, &g->ctr[ACCT_K_FLOW], "Flow", 1);
    acct_kind_json(o, &g->ctr[ACCT_K_COUNTER], "Counter", 0);
    /* Not in sFlow-RT: discard samples (sFlow 0:5) have their own numbering. */
    acct_kind_json(o, &g->ctr[ACCT_K_DISCARD], "Discard", 1);
    return o;
}

json_t *
col_acct_json(const col_acct *a, uint64_t now_ms)
{
    json_t *root = json_object();
    char text[64];

    for (uint32_t i = 0; i < a->cap; i++) {
        const acct_agent *g = a->slots[i];
        if (!g)
            continue;
        if (sfa_addr_format(&g->addr, text) == 0)
            snprintf(text, sizeof text, "0.0.0.0");
        json_object_set_new(root, text, acct_agent_json(g, now_ms));
    }
    return root;
}
