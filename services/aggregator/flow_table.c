/* flow_table.c - one flow definition's keys and their smoothed values.
 *
 * Entries are keyed by (data source id, key text): sFlow-RT accumulates per
 * (agent, data source, flow, key). Each entry holds one 16-byte column per
 * value of the definition plus a ranking sum:
 *   SUM    forward-decayed rate (window.c): a += x * exp((s-t0)/T) / T
 *   AVG    forward-decayed sums of x and of 1; value a / b
 *   MIN    extreme of the current and previous epoch of length T
 *   MAX    (the value covers the last 1 to 2 T)
 *   COUNT  64-cell occupancy maps of the current and previous epoch,
 *          linear counting (distinct values over the last 1 to 2 T, exact
 *          while small, saturating near 266)
 * The rank is column 0's forward-decayed rate for SUM columns, otherwise the
 * forward-decayed sample rate; all ranks of a table share t0, so "largest
 * decayed value" is a plain comparison. Each data source keeps its top n
 * entries by rank (its topKeys) and the smoothed total of column 0 (the
 * flow name as a metric).
 *
 * Memory is bounded: at most maxkeys entries; inserting into a full table
 * first evicts the 1/32 of entries with the smallest rank (found by
 * quickselect), so the cost is amortised O(1) per insert and evictions are
 * counted. Keys unseen for AGG_EXPIRE_TAUS time constants (value below
 * e^-10 of what it was) are expired by agg_table_sweep.
 *
 * Storage: entries live in fixed-size slots of 1024-entry chunks, found by
 * index through an open-addressing hash (8-byte slots: 32-bit hash, entry
 * index + 1; linear probing, load at most 1/2, backward-shift deletion);
 * keys up to 39 bytes sit inside the entry, longer ones in a slab of
 * power-of-two size classes with free lists. Nothing is allocated per
 * sample except when a chunk, the index or a slab block must grow.
 * The layout is in flow_table_int.h; reading the values (answers, topKeys,
 * totals) and the memory accounting are in flow_table_read.c.
 * Loop thread only.
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/mem.h>

#include "agg.h"
#include "flow_table_int.h"

/* ---- helpers ---- */

/* The last n (1..7) bytes of a key, zero-extended as memcpy into a
 * zeroed word would give them. Copying them byte by byte and loading the
 * word back stalls (the load cannot be forwarded from byte stores), so on
 * little-endian they come from whole loads: when 8 bytes end at k + n
 * (back8: the key is that long), one load shifted; otherwise two 4-byte
 * or three 1-byte loads that overlap. */
static inline uint64_t
ft_tail(const char *k, size_t n, int back8)
{
    uint64_t w = 0;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint32_t lo, hi;

    if (back8) {
        memcpy(&w, k + n - 8, 8);
        return w >> (8 * (8 - n));
    }
    if (n >= 4) {
        memcpy(&lo, k, 4);
        memcpy(&hi, k + n - 4, 4);
        return lo | (uint64_t)hi << (8 * (n - 4));
    }
    return (uint64_t)(uint8_t)k[0] | (uint64_t)(uint8_t)k[n / 2] << (8 * (n / 2)) |
           (uint64_t)(uint8_t)k[n - 1] << (8 * (n - 1));
#else
    (void)back8;
    memcpy(&w, k, n);
    return w;
#endif
}

static uint32_t
ft_hash(uint32_t ds, const char *k, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ ds ^ ((uint64_t)n << 40), w;
    int back8 = n >= 8;

    while (n >= 8) {
        memcpy(&w, k, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
        k += 8;
        n -= 8;
    }
    if (n)
        h = (h ^ ft_tail(k, n, back8)) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return (uint32_t)h;
}

static int
ft_key_class(size_t bytes)
{
    int c = 0;
    size_t sz = FT_KEY_MIN;

    while (sz < bytes && c < FT_KEY_CLASSES) {
        sz <<= 1;
        c++;
    }
    return c < FT_KEY_CLASSES ? c : -1;
}

static char *
ft_key_alloc(agg_table *t, int cls)
{
    size_t sz = (size_t)FT_KEY_MIN << cls;
    ft_slab *s = t->slabs[cls];
    char *p = t->key_free[cls];

    if (p) {
        memcpy(&t->key_free[cls], p, sizeof(char *));
        return p;
    }
    if (!s || s->used + sz > FT_SLAB_BYTES) {
        s = sfa_xmalloc(sizeof *s);
        s->used = 0;
        s->next = t->slabs[cls];
        t->slabs[cls] = s;
        t->slab_count++;
    }
    p = s->data + s->used;
    s->used += sz;
    return p;
}

static void
ft_key_free(agg_table *t, char *p, int cls)
{
    memcpy(p, &t->key_free[cls], sizeof(char *));
    t->key_free[cls] = p;
}

/* ---- create / destroy ---- */

agg_table *
agg_table_create(const sfa_flowdef *fd, size_t maxkeys, double now)
{
    agg_table *t = sfa_xcalloc(1, sizeof *t);

    agg_window_init(&t->win, sfa_flowdef_t(fd), now);
    t->n = sfa_flowdef_n(fd);
    if (t->n < 1)
        t->n = 1;
    t->nvalues = sfa_flowdef_nvalues(fd);
    if (t->nvalues < 1 || t->nvalues > SFA_FLOWDEF_MAX_VALUES)
        t->nvalues = 1;
    for (int i = 0; i < t->nvalues; i++)
        t->kind[i] = sfa_flowdef_value_kind(fd, i);
    t->rank_is_value = t->kind[0] == SFA_VALUE_SUM;
    for (int i = 0; i < t->nvalues; i++)
        if (t->kind[i] == SFA_VALUE_MIN || t->kind[i] == SFA_VALUE_MAX ||
            t->kind[i] == SFA_VALUE_COUNT)
            t->has_epochs = 1;
    t->esize = sizeof(ft_entry) + (size_t)t->nvalues * sizeof(ft_col);
    t->maxkeys = maxkeys ? maxkeys : 1;
    if (t->maxkeys > 0x7fffffffu)
        t->maxkeys = 0x7fffffffu;
    t->mask = FT_MIN_SLOTS - 1;
    t->slots = sfa_xcalloc(FT_MIN_SLOTS, sizeof *t->slots);
    return t;
}

void
agg_table_destroy(agg_table *t)
{
    if (!t)
        return;
    for (uint32_t i = 0; i < t->nchunks; i++)
        free(t->chunks[i]);
    free(t->chunks);
    free(t->slots);
    for (int c = 0; c < FT_KEY_CLASSES; c++) {
        ft_slab *s = t->slabs[c], *next;

        for (; s; s = next) {
            next = s->next;
            free(s);
        }
    }
    for (uint32_t i = 0; i < t->ndss; i++)
        free(t->dss[i]);
    free(t->dss);
    free(t);
}

int
agg_table_nvalues(const agg_table *t)
{
    return t->nvalues;
}

/* ---- time ---- */

static void
ft_rebase(agg_table *t)
{
    double f = agg_window_rebase(&t->win);

    for (uint32_t i = 0; i < t->limit; i++) {
        ft_entry *e = ft_at(t, i);

        if (!(e->flags & FT_USED))
            continue;
        e->rank *= f;
        for (int c = 0; c < t->nvalues; c++) {
            if (t->kind[c] == SFA_VALUE_SUM) {
                e->col[c].d.a *= f;
            } else if (t->kind[c] == SFA_VALUE_AVG) {
                e->col[c].d.a *= f;
                e->col[c].d.b *= f;
            }
        }
    }
    for (uint32_t i = 0; i < t->ndss; i++)
        if (t->dss[i])
            t->dss[i]->total *= f;
}

void
agg_table_at(agg_table *t, double now)
{
    if (agg_window_at(&t->win, now))
        ft_rebase(t);
}

/* ---- per data source state ---- */

static ft_dsstate *
ft_ds(agg_table *t, uint32_t ds)
{
    if (ds >= t->ndss) {
        uint32_t n = t->ndss ? t->ndss : 16;

        while (n <= ds)
            n *= 2;
        t->dss = sfa_xrealloc(t->dss, (size_t)n * sizeof *t->dss);
        memset(t->dss + t->ndss, 0, (size_t)(n - t->ndss) * sizeof *t->dss);
        t->ndss = n;
    }
    if (!t->dss[ds]) {
        size_t sz = sizeof(ft_dsstate) + (size_t)t->n * sizeof(uint32_t);

        t->dss[ds] = sfa_xcalloc(1, sz);
        t->dss_bytes += sz;
    }
    return t->dss[ds];
}

static void
ft_top_minpos(agg_table *t, ft_dsstate *s)
{
    uint16_t m = 0;

    for (uint16_t i = 1; i < s->ntop; i++)
        if (ft_at(t, s->top[i])->rank < ft_at(t, s->top[m])->rank)
            m = i;
    s->minpos = m;
}

/* Entry idx's rank just grew: keep the source's top n. */
static void
ft_top_touch(agg_table *t, ft_dsstate *s, uint32_t idx, ft_entry *e)
{
    if (e->flags & FT_TOP) {
        if (s->top[s->minpos] == idx)
            ft_top_minpos(t, s);
        return;
    }
    if (s->ntop < t->n) {
        s->top[s->ntop++] = idx;
        e->flags |= FT_TOP;
        ft_top_minpos(t, s);
        return;
    }
    if (e->rank > ft_at(t, s->top[s->minpos])->rank) {
        ft_at(t, s->top[s->minpos])->flags &= (uint8_t)~FT_TOP;
        s->top[s->minpos] = idx;
        e->flags |= FT_TOP;
        ft_top_minpos(t, s);
    }
}

static void
ft_top_remove(agg_table *t, ft_dsstate *s, uint32_t idx)
{
    for (uint16_t i = 0; i < s->ntop; i++) {
        if (s->top[i] == idx) {
            s->top[i] = s->top[--s->ntop];
            ft_top_minpos(t, s);
            return;
        }
    }
}

/* ---- index ---- */

static void
ft_index_place(agg_table *t, uint32_t hash, uint32_t idx)
{
    uint32_t i = hash & t->mask;

    while (t->slots[i])
        i = (i + 1) & t->mask;
    t->slots[i] = (uint64_t)hash << 32 | (idx + 1);
}

/* Keep the load factor at or below 1/2. */
static void
ft_index_grow(agg_table *t)
{
    uint32_t nslots = (t->mask + 1) * 2;

    free(t->slots);
    t->slots = sfa_xcalloc(nslots, sizeof *t->slots);
    t->mask = nslots - 1;
    for (uint32_t i = 0; i < t->limit; i++) {
        ft_entry *e = ft_at(t, i);

        if (e->flags & FT_USED)
            ft_index_place(t, e->hash, i);
    }
}

static void
ft_index_remove(agg_table *t, uint32_t hash, uint32_t idx)
{
    uint64_t want = (uint64_t)hash << 32 | (idx + 1);
    uint32_t i = hash & t->mask, j, k;

    while (t->slots[i] != want)
        i = (i + 1) & t->mask;
    for (j = i;;) {
        j = (j + 1) & t->mask;
        if (!t->slots[j])
            break;
        k = (uint32_t)(t->slots[j] >> 32) & t->mask;
        if ((i <= j) ? (i < k && k <= j) : (i < k || k <= j))
            continue;
        t->slots[i] = t->slots[j];
        i = j;
    }
    t->slots[i] = 0;
}

/* ---- entries ---- */

static uint32_t
ft_entry_new(agg_table *t)
{
    uint32_t idx;

    if (t->free_head) {
        idx = t->free_head - 1;
        t->free_head = ft_at(t, idx)->ds;
        return idx;
    }
    if ((t->limit >> FT_CHUNK_SHIFT) == t->nchunks) {
        t->chunks = sfa_xrealloc(t->chunks, ((size_t)t->nchunks + 1) * sizeof *t->chunks);
        t->chunks[t->nchunks++] = sfa_xcalloc(FT_CHUNK, t->esize);
    }
    return t->limit++;
}

static void
ft_entry_remove(agg_table *t, uint32_t idx)
{
    ft_entry *e = ft_at(t, idx);
    ft_dsstate *s = e->ds < t->ndss ? t->dss[e->ds] : NULL;

    if (s) {
        if (e->flags & FT_TOP)
            ft_top_remove(t, s, idx);
        s->nkeys--;
    }
    ft_index_remove(t, e->hash, idx);
    if (e->keycls != FT_KEY_INLINE)
        ft_key_free(t, e->key.ptr, e->keycls);
    e->flags = 0;
    e->ds = t->free_head;
    t->free_head = idx + 1;
    t->st.keys--;
}

static void
ft_cols_init(agg_table *t, ft_entry *e)
{
    for (int c = 0; c < t->nvalues; c++) {
        if (t->kind[c] == SFA_VALUE_MIN || t->kind[c] == SFA_VALUE_MAX)
            e->col[c].d.a = e->col[c].d.b = NAN; /* empty */
        else
            e->col[c].m.cur = e->col[c].m.prev = 0;
    }
}

/* ---- eviction ---- */

typedef struct ft_cand {
    double rank;
    uint32_t idx;
} ft_cand;

/* Partially order v[0..n) so that v[0..k) hold the k smallest ranks
 * (Hoare quickselect; k >= 1). */
static void
ft_select(ft_cand *v, ptrdiff_t n, ptrdiff_t k)
{
    ptrdiff_t lo = 0, hi = n - 1, target = k - 1;

    while (lo < hi) {
        double pivot = v[lo + (hi - lo) / 2].rank;
        ptrdiff_t i = lo, j = hi;

        /* Afterwards v[lo..j] <= pivot <= v[i..hi], and anything between
         * equals the pivot. */
        while (i <= j) {
            while (v[i].rank < pivot)
                i++;
            while (v[j].rank > pivot)
                j--;
            if (i <= j) {
                ft_cand tmp = v[i];
                v[i] = v[j];
                v[j] = tmp;
                i++;
                j--;
            }
        }
        if (target <= j)
            hi = j;
        else if (target >= i)
            lo = i;
        else
            break;
    }
}

static void
ft_evict(agg_table *t)
{
    size_t n = 0, k = t->st.keys / FT_EVICT_FRACTION;
    ft_cand *v = sfa_xmalloc((size_t)t->st.keys * sizeof *v);

    if (k == 0)
        k = 1;
    for (uint32_t i = 0; i < t->limit; i++) {
        ft_entry *e = ft_at(t, i);

        if (e->flags & FT_USED) {
            v[n].rank = e->rank;
            v[n].idx = i;
            n++;
        }
    }
    if (n > 0) {
        if (k > n)
            k = n;
        ft_select(v, (ptrdiff_t)n, (ptrdiff_t)k);
        for (size_t i = 0; i < k; i++)
            ft_entry_remove(t, v[i].idx);
        t->st.evictions += k;
    }
    free(v);
}

/* ---- update ---- */

static ft_entry *
ft_find(agg_table *t, uint32_t ds, const char *key, size_t keylen, uint32_t h, uint32_t *idxp)
{
    uint32_t i = h & t->mask;
    uint64_t sl;

    while ((sl = t->slots[i]) != 0) {
        if ((uint32_t)(sl >> 32) == h) {
            uint32_t idx = (uint32_t)sl - 1;
            ft_entry *e = ft_at(t, idx);

            if (e->ds == ds && e->keylen == keylen && memcmp(ft_key(e), key, keylen) == 0) {
                *idxp = idx;
                return e;
            }
        }
        i = (i + 1) & t->mask;
    }
    return NULL;
}

static ft_entry *
ft_insert(agg_table *t, ft_dsstate *s, uint32_t ds, const char *key, size_t keylen, uint32_t h,
          uint32_t *idxp)
{
    int cls = keylen < FT_INLINE ? FT_KEY_INLINE : ft_key_class(keylen + 1);
    uint32_t idx;
    ft_entry *e;
    char *kp;

    if (cls < 0) {
        t->st.too_long++;
        return NULL;
    }
    if (t->st.keys >= t->maxkeys)
        ft_evict(t);
    idx = ft_entry_new(t);
    e = ft_at(t, idx);
    kp = cls == FT_KEY_INLINE ? e->key.inl : (e->key.ptr = ft_key_alloc(t, cls));
    memcpy(kp, key, keylen);
    kp[keylen] = '\0';
    e->keycls = (uint8_t)cls;
    e->keylen = (uint16_t)keylen;
    e->hash = h;
    e->ds = ds;
    e->flags = FT_USED;
    e->last = t->win.now;
    e->rank = 0;
    ft_cols_init(t, e);
    t->st.keys++;
    t->st.inserts++;
    s->nkeys++;
    if ((uint64_t)t->st.keys * 2 > (uint64_t)t->mask + 1)
        ft_index_grow(t);
    else
        ft_index_place(t, h, idx);
    *idxp = idx;
    return e;
}

/* Age the epoch columns from the entry's last update to now. */
static void
ft_roll(agg_table *t, ft_entry *e)
{
    int64_t k = agg_window_epoch(&t->win, t->win.now) - agg_window_epoch(&t->win, e->last);

    if (k <= 0)
        return;
    for (int c = 0; c < t->nvalues; c++) {
        ft_col *col = &e->col[c];

        switch (t->kind[c]) {
        case SFA_VALUE_MIN:
        case SFA_VALUE_MAX:
            col->d.b = k == 1 ? col->d.a : NAN;
            col->d.a = NAN;
            break;
        case SFA_VALUE_COUNT:
            col->m.prev = k == 1 ? col->m.cur : 0;
            col->m.cur = 0;
            break;
        default:
            break;
        }
    }
}

static void
ft_cols_add(agg_table *t, ft_entry *e, const double *vals)
{
    double wr = agg_window_rate_weight(&t->win), w = t->win.grow;

    for (int c = 0; c < t->nvalues; c++) {
        ft_col *col = &e->col[c];
        double x = vals[c];
        uint64_t h;

        switch (t->kind[c]) {
        case SFA_VALUE_SUM:
            col->d.a += x * wr;
            break;
        case SFA_VALUE_AVG:
            col->d.a += x * w;
            col->d.b += w;
            break;
        case SFA_VALUE_MIN:
            col->d.a = fmin(col->d.a, x); /* fmin ignores the NaN of an empty epoch */
            break;
        case SFA_VALUE_MAX:
            col->d.a = fmax(col->d.a, x);
            break;
        case SFA_VALUE_COUNT:
            h = (uint64_t)x;
            h ^= h >> 29;
            col->m.cur |= 1ull << (h & 63);
            break;
        default:
            break;
        }
    }
}

uint32_t
agg_table_hash(const agg_table *t, uint32_t ds, const char *key, size_t keylen)
{
    uint32_t h = ft_hash(ds, key, keylen);

    __builtin_prefetch(&t->slots[h & t->mask]);
    return h;
}

void
agg_table_prefetch(const agg_table *t, uint32_t hash)
{
    uint64_t sl = t->slots[hash & t->mask];

    /* The first entry of the probe run is nearly always the one wanted. */
    if (sl)
        __builtin_prefetch(ft_at(t, (uint32_t)sl - 1));
}

void
agg_table_add(agg_table *t, uint32_t ds, const char *key, size_t keylen, const double *vals)
{
    agg_table_add_hashed(t, ds, key, keylen, ft_hash(ds, key, keylen), vals);
}

void
agg_table_add_hashed(agg_table *t, uint32_t ds, const char *key, size_t keylen, uint32_t h,
                     const double *vals)
{
    ft_dsstate *s = ft_ds(t, ds);
    uint32_t idx;
    double contrib = (t->rank_is_value ? vals[0] : 1.0) * agg_window_rate_weight(&t->win);
    ft_entry *e;

    s->total += contrib;
    s->last = t->win.now;
    e = ft_find(t, ds, key, keylen, h, &idx);
    if (!e) {
        e = ft_insert(t, s, ds, key, keylen, h, &idx);
        if (!e)
            return;
    } else if (t->has_epochs) {
        ft_roll(t, e);
    }
    ft_cols_add(t, e, vals);
    e->rank += contrib;
    e->last = t->win.now;
    ft_top_touch(t, s, idx, e);
}

/* ---- maintenance ---- */

void
agg_table_sweep(agg_table *t, double now)
{
    double horizon = AGG_EXPIRE_TAUS * t->win.tau;

    agg_table_at(t, now);
    for (uint32_t i = 0; i < t->limit; i++) {
        ft_entry *e = ft_at(t, i);

        if ((e->flags & FT_USED) && now - e->last > horizon) {
            ft_entry_remove(t, i);
            t->st.expired++;
        }
    }
    /* Release the state of sources left without keys and quiet as long. */
    for (uint32_t i = 0; i < t->ndss; i++) {
        ft_dsstate *s = t->dss[i];

        if (s && s->nkeys == 0 && now - s->last > horizon) {
            free(s);
            t->dss[i] = NULL;
            t->dss_bytes -= sizeof(ft_dsstate) + (size_t)t->n * sizeof(uint32_t);
        }
    }
}

void
agg_table_purge(agg_table *t, int (*dead)(uint32_t ds, void *arg), void *arg)
{
    for (uint32_t i = 0; i < t->limit; i++) {
        ft_entry *e = ft_at(t, i);

        if ((e->flags & FT_USED) && dead(e->ds, arg))
            ft_entry_remove(t, i);
    }
    for (uint32_t i = 0; i < t->ndss; i++) {
        if (t->dss[i] && dead(i, arg)) {
            free(t->dss[i]);
            t->dss[i] = NULL;
            t->dss_bytes -= sizeof(ft_dsstate) + (size_t)t->n * sizeof(uint32_t);
        }
    }
}
