/* datasource.c - the registry of data sources (agent + source id).
 *
 * sFlow-RT aggregates flows per data source: an agent address plus the
 * sample's source id (class, index). Tables refer to a data source by a
 * small integer id, which indexes their per-source state; this registry
 * hands out the ids, keeps the text forms the answers need (agent address,
 * sFlow-RT's dataSource string) and the source's agent bucket, so that a
 * lost bucket can be purged. Ids of released sources are reused.
 *
 * Lookups are an open-addressing hash (linear probing, backward-shift
 * deletion) behind a small cache of the last hit per source index (16
 * entries, by index modulo 16), since the samples of a datagram come from
 * one agent and a few of its sources. Allocation happens only when a new
 * source arrives and the arrays grow. Loop thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/mem.h>

#include "agg.h"

#define DSREG_MIN_SLOTS 256
#define DSREG_CACHE 16 /* power of two */

struct agg_dsreg {
    agg_ds *v;        /* by id */
    uint32_t *hashes; /* by id */
    uint32_t limit;   /* ids given so far: 0..limit-1 */
    uint32_t cap;     /* allocated in v */
    uint32_t max;
    uint32_t count; /* live */
    uint32_t *free; /* released ids */
    uint32_t nfree;
    uint32_t *slots; /* id + 1, 0 = empty */
    uint32_t mask;
    uint32_t cache[DSREG_CACHE]; /* id + 1 of the last hit by ds_index, 0 = none */
};

static uint32_t
dsreg_hash(const sfa_addr *a, uint32_t cls, uint32_t idx)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ a->family;
    uint64_t w[2];

    memcpy(w, a->a, sizeof w);
    h = (h ^ w[0]) * 0xff51afd7ed558ccdull;
    h = (h ^ (h >> 31) ^ w[1]) * 0xc4ceb9fe1a85ec53ull;
    h = (h ^ (h >> 29) ^ ((uint64_t)cls << 32 | idx)) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
    return (uint32_t)h;
}

static int
dsreg_same(const agg_ds *d, const sfa_addr *a, uint32_t cls, uint32_t idx)
{
    return d->ds_index == idx && d->ds_class == cls && d->agent.family == a->family &&
           memcmp(d->agent.a, a->a, sizeof a->a) == 0;
}

agg_dsreg *
agg_dsreg_create(uint32_t max)
{
    agg_dsreg *r = sfa_xcalloc(1, sizeof *r);

    r->max = max ? max : 1;
    r->mask = DSREG_MIN_SLOTS - 1;
    r->slots = sfa_xcalloc(DSREG_MIN_SLOTS, sizeof *r->slots);
    return r;
}

void
agg_dsreg_destroy(agg_dsreg *r)
{
    if (!r)
        return;
    free(r->v);
    free(r->hashes);
    free(r->free);
    free(r->slots);
    free(r);
}

static void
dsreg_place(agg_dsreg *r, uint32_t id)
{
    uint32_t i = r->hashes[id] & r->mask;

    while (r->slots[i])
        i = (i + 1) & r->mask;
    r->slots[i] = id + 1;
}

/* Double the index when it is half full. */
static void
dsreg_grow_index(agg_dsreg *r)
{
    uint32_t nslots = (r->mask + 1) * 2;

    free(r->slots);
    r->slots = sfa_xcalloc(nslots, sizeof *r->slots);
    r->mask = nslots - 1;
    for (uint32_t id = 0; id < r->limit; id++)
        if (r->v[id].used)
            dsreg_place(r, id);
}

static uint32_t
dsreg_new_id(agg_dsreg *r)
{
    if (r->nfree)
        return r->free[--r->nfree];
    if (r->limit == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->v = sfa_xrealloc(r->v, (size_t)r->cap * sizeof *r->v);
        r->hashes = sfa_xrealloc(r->hashes, (size_t)r->cap * sizeof *r->hashes);
    }
    return r->limit++;
}

static void
dsreg_fill(agg_ds *d, const sfa_addr *a, uint32_t cls, uint32_t idx)
{
    memset(d, 0, sizeof *d);
    d->agent = *a;
    d->ds_class = cls;
    d->ds_index = idx;
    d->bucket = (uint8_t)sfa_bucket_of(a);
    d->used = 1;
    d->agent_txt[sfa_addr_format(a, d->agent_txt)] = '\0';
    if (cls == 0)
        snprintf(d->ds_txt, sizeof d->ds_txt, "%u", idx);
    else
        snprintf(d->ds_txt, sizeof d->ds_txt, "%u.%u", cls, idx);
}

int
agg_dsreg_id(agg_dsreg *r, const sfa_addr *agent, uint32_t ds_class, uint32_t ds_index,
             uint32_t *id)
{
    uint32_t *cache = &r->cache[ds_index & (DSREG_CACHE - 1)], h, i, n;

    if (*cache && dsreg_same(&r->v[*cache - 1], agent, ds_class, ds_index)) {
        *id = *cache - 1;
        return 0;
    }
    h = dsreg_hash(agent, ds_class, ds_index);
    for (i = h & r->mask; (n = r->slots[i]) != 0; i = (i + 1) & r->mask) {
        if (r->hashes[n - 1] == h && dsreg_same(&r->v[n - 1], agent, ds_class, ds_index)) {
            *cache = n;
            *id = n - 1;
            return 0;
        }
    }
    if (r->count >= r->max)
        return SFA_ELIMIT;
    n = dsreg_new_id(r);
    dsreg_fill(&r->v[n], agent, ds_class, ds_index);
    r->hashes[n] = h;
    r->count++;
    if (r->count * 2 > r->mask + 1)
        dsreg_grow_index(r);
    else
        dsreg_place(r, n);
    *cache = n + 1;
    *id = n;
    return 0;
}

int
agg_dsreg_find(const agg_dsreg *r, const sfa_addr *agent, uint32_t ds_class, uint32_t ds_index,
               uint32_t *id)
{
    uint32_t h = dsreg_hash(agent, ds_class, ds_index), i, n;

    for (i = h & r->mask; (n = r->slots[i]) != 0; i = (i + 1) & r->mask) {
        if (r->hashes[n - 1] == h && dsreg_same(&r->v[n - 1], agent, ds_class, ds_index)) {
            *id = n - 1;
            return 0;
        }
    }
    return -ENOENT;
}

const agg_ds *
agg_dsreg_get(const agg_dsreg *r, uint32_t id)
{
    if (id >= r->limit || !r->v[id].used)
        return NULL;
    return &r->v[id];
}

/* Remove slot i and shift later members of its probe run back. */
static void
dsreg_unslot(agg_dsreg *r, uint32_t i)
{
    uint32_t j = i, k;

    for (;;) {
        j = (j + 1) & r->mask;
        if (!r->slots[j])
            break;
        k = r->hashes[r->slots[j] - 1] & r->mask;
        /* Move j back to i unless its home lies cyclically in (i, j]. */
        if ((i <= j) ? (i < k && k <= j) : (i < k || k <= j))
            continue;
        r->slots[i] = r->slots[j];
        i = j;
    }
    r->slots[i] = 0;
}

void
agg_dsreg_release(agg_dsreg *r, uint32_t id)
{
    uint32_t i;

    if (id >= r->limit || !r->v[id].used)
        return;
    for (i = r->hashes[id] & r->mask; r->slots[i] != id + 1; i = (i + 1) & r->mask)
        ;
    dsreg_unslot(r, i);
    r->v[id].used = 0;
    r->count--;
    for (i = 0; i < DSREG_CACHE; i++)
        if (r->cache[i] == id + 1)
            r->cache[i] = 0;
    r->free = sfa_xrealloc(r->free, ((size_t)r->nfree + 1) * sizeof *r->free);
    r->free[r->nfree++] = id;
}

uint32_t
agg_dsreg_count(const agg_dsreg *r)
{
    return r->count;
}

uint32_t
agg_dsreg_limit(const agg_dsreg *r)
{
    return r->limit;
}

size_t
agg_dsreg_bytes(const agg_dsreg *r)
{
    return sizeof *r + (size_t)r->cap * (sizeof *r->v + sizeof *r->hashes) +
           ((size_t)r->mask + 1) * sizeof *r->slots + (size_t)r->nfree * sizeof *r->free;
}
