/* flow_table_read.c - reading a flow table (flow_table.c): the smoothed
 * value of every column of an entry at a time, every key for the answers,
 * a data source's top keys and total, and the table's memory.
 *
 * Reading never changes what is stored: it only moves the table's clock
 * (agg_table_at), which may rebase the sums. Loop thread only.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "flow_table_int.h"

static double
ft_col_read(const agg_table *t, const ft_entry *e, int c, int64_t k)
{
    const ft_col *col = &e->col[c];
    double v;

    switch (t->kind[c]) {
    case SFA_VALUE_SUM:
        return agg_window_read(&t->win, col->d.a);
    case SFA_VALUE_AVG:
        return col->d.b > 0 ? col->d.a / col->d.b : 0;
    case SFA_VALUE_MIN:
        v = k == 0 ? fmin(col->d.a, col->d.b) : k == 1 ? col->d.a : NAN;
        return isnan(v) ? 0 : v;
    case SFA_VALUE_MAX:
        v = k == 0 ? fmax(col->d.a, col->d.b) : k == 1 ? col->d.a : NAN;
        return isnan(v) ? 0 : v;
    case SFA_VALUE_COUNT:
        return k == 0   ? agg_window_distinct(col->m.cur | col->m.prev)
               : k == 1 ? agg_window_distinct(col->m.cur)
                        : 0;
    default:
        return 0;
    }
}

static void
ft_read(const agg_table *t, const ft_entry *e, agg_flow *f)
{
    int64_t k = agg_window_epoch(&t->win, t->win.now) - agg_window_epoch(&t->win, e->last);

    f->key = ft_key(e);
    f->keylen = e->keylen;
    f->ds = e->ds;
    f->last = e->last;
    f->nvalues = t->nvalues;
    for (int c = 0; c < t->nvalues; c++)
        f->values[c] = ft_col_read(t, e, c, k);
    f->value = f->values[0];
}

void
agg_table_each(agg_table *t, double now, int (*cb)(const agg_flow *f, void *arg), void *arg)
{
    agg_flow f;

    agg_table_at(t, now);
    for (uint32_t i = 0; i < t->limit; i++) {
        ft_entry *e = ft_at(t, i);

        if (!(e->flags & FT_USED))
            continue;
        ft_read(t, e, &f);
        if (cb(&f, arg))
            return;
    }
}

double
agg_table_total(agg_table *t, uint32_t ds, double now)
{
    agg_table_at(t, now);
    if (ds >= t->ndss || !t->dss[ds])
        return 0;
    return agg_window_read(&t->win, t->dss[ds]->total);
}

uint32_t
agg_table_ds_limit(const agg_table *t)
{
    return t->ndss;
}

int
agg_table_ds_active(const agg_table *t, uint32_t ds)
{
    return ds < t->ndss && t->dss[ds] != NULL;
}

double
agg_table_ds_last(const agg_table *t, uint32_t ds)
{
    return ds < t->ndss && t->dss[ds] ? t->dss[ds]->last : 0;
}

static int
ft_flow_cmp_desc(const void *a, const void *b)
{
    const agg_flow *x = a, *y = b;

    if (x->value != y->value)
        return x->value > y->value ? -1 : 1;
    return strcmp(x->key, y->key);
}

size_t
agg_table_topkeys(agg_table *t, uint32_t ds, double now, agg_flow *out, size_t cap)
{
    ft_dsstate *s;
    size_t n = 0;

    agg_table_at(t, now);
    if (ds >= t->ndss || !(s = t->dss[ds]))
        return 0;
    for (uint16_t i = 0; i < s->ntop && n < cap; i++)
        ft_read(t, ft_at(t, s->top[i]), &out[n++]);
    qsort(out, n, sizeof *out, ft_flow_cmp_desc);
    return n;
}

/* ---- accounting ---- */

void
agg_table_get_stats(const agg_table *t, agg_table_stats *st)
{
    *st = t->st;
    st->bytes = sizeof *t + (size_t)t->nchunks * (FT_CHUNK * t->esize + sizeof(char *)) +
                ((size_t)t->mask + 1) * sizeof *t->slots + t->slab_count * sizeof(ft_slab) +
                (size_t)t->ndss * sizeof *t->dss + t->dss_bytes;
}
