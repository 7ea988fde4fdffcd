/* metrics_walk.c - the aggregator's tables as metrics.v1 reports.
 *
 * metrics_pub.c builds and sends a report from an iterator; this is that
 * iterator over the aggregator's state (agg_metrics_walk_tick runs it
 * every events.interval ms). It yields, in order:
 *   1. for every flow definition some threshold names, every data source
 *      with state in its table: value = the source's smoothed total
 *      (agg_table_total, the flow name as a metric, as /metric shows it)
 *      and top = its top-n keys (agg_table_topkeys), the first always and
 *      the others only when above the lowest threshold on the metric;
 *   2. for every counter metric some threshold names (and no flow
 *      definition shadows), every data source of counters.c that has a
 *      numeric value for it.
 * Text-valued counter metrics (ifoperstatus, os_name, ...) are never
 * reported: a threshold compares numbers.
 *
 * A few calls per second, not per datagram: the top lists are allocated
 * per tick. Loop thread only.
 */
#include <stdlib.h>
#include <string.h>

#include <sfa/mem.h>

#include "agg.h"
#include "counters.h"
#include "metrics_pub.h"

#define WALK_TOP_MAX 256 /* top keys read per data source */

typedef struct walk_it {
    agg_core *c;
    const agg_metrics_pub *p;
    double now;
    int phase;      /* 0 flows, 1 counters, 2 done */
    size_t def;     /* phase 0: current definition */
    double min;     /* phase 0: lowest threshold on it */
    uint32_t ds;    /* next data source id to look at */
    unsigned *mids; /* phase 1: wanted counter metric ids */
    size_t nmids, mi;
    agg_flow *flows; /* WALK_TOP_MAX */
    agg_metric_top *top;
} walk_it;

/* Advance to the next definition some threshold wants (from it->def). */
static int
walk_next_def(walk_it *it)
{
    for (; it->def < it->c->ndefs; it->def++) {
        if (agg_metrics_pub_wants(it->p, it->c->defs[it->def].name, &it->min)) {
            it->ds = 0;
            return 1;
        }
    }
    return 0;
}

/* Fill m from data source it->ds of the current definition. */
static void
walk_flow_metric(walk_it *it, agg_def *d, agg_metric *m)
{
    const agg_ds *src = agg_dsreg_get(it->c->dsreg, it->ds);
    size_t n = agg_table_topkeys(d->table, it->ds, it->now, it->flows, WALK_TOP_MAX), k = 0;

    for (size_t i = 0; i < n; i++) {
        const agg_flow *f = &it->flows[i];

        if (i > 0 && !(f->value > it->min))
            break; /* descending: nothing further can be above */
        it->top[k].key = f->key;
        it->top[k].value = f->value;
        it->top[k].values = f->nvalues > 1 ? &f->values[1] : NULL;
        it->top[k].nvalues = f->nvalues > 1 ? f->nvalues - 1 : 0;
        k++;
    }
    m->kind = AGG_METRIC_FLOW;
    m->agent = src ? src->agent_txt : NULL;
    m->ds = src ? src->ds_txt : NULL;
    m->name = d->name;
    m->value = agg_table_total(d->table, it->ds, it->now);
    m->top = it->top;
    m->ntop = k;
}

static int
walk_flows(walk_it *it, agg_metric *m)
{
    while (it->def < it->c->ndefs) {
        agg_def *d = &it->c->defs[it->def];
        uint32_t limit = agg_table_ds_limit(d->table);

        while (it->ds < limit) {
            uint32_t ds = it->ds;

            if (!agg_table_ds_active(d->table, ds) || !agg_dsreg_get(it->c->dsreg, ds)) {
                it->ds++;
                continue;
            }
            walk_flow_metric(it, d, m);
            it->ds++;
            return 1;
        }
        it->def++;
        if (!walk_next_def(it))
            break;
    }
    return 0;
}

/* The counter metric ids some threshold names, unless a flow definition
 * of that name takes precedence. */
static void
walk_counter_ids(walk_it *it)
{
    it->mids = sfa_xcalloc(AGG_M__COUNT, sizeof *it->mids);
    for (unsigned id = 0; id < AGG_M__COUNT; id++) {
        const char *name = agg_metric_name(id);

        if (name && !agg_metric_is_text(id) && agg_metrics_pub_wants(it->p, name, NULL) &&
            !agg_defs_find(it->c, name))
            it->mids[it->nmids++] = id;
    }
}

static int
walk_counters(walk_it *it, agg_metric *m)
{
    agg_counters *k = it->c->counters;
    uint32_t limit = agg_counters_limit(k);
    agg_cval v;

    for (; it->ds < limit; it->ds++, it->mi = 0) {
        const agg_ds *src = agg_counters_source(k, it->ds);

        if (!src)
            continue;
        while (it->mi < it->nmids) {
            unsigned id = it->mids[it->mi++];

            if (!agg_counters_value(k, it->ds, id, &v) || v.is_text)
                continue;
            m->kind = AGG_METRIC_COUNTER;
            m->agent = src->agent_txt;
            m->ds = src->ds_txt;
            m->name = agg_metric_name(id);
            m->value = v.num;
            return 1;
        }
    }
    return 0;
}

static int
walk_next(void *arg, agg_metric *m)
{
    walk_it *it = arg;

    if (it->phase == 0) {
        if (walk_flows(it, m))
            return 1;
        it->phase = 1;
        it->ds = 0;
        it->mi = 0;
    }
    if (it->phase == 1) {
        if (it->nmids > 0 && it->c->counters && walk_counters(it, m))
            return 1;
        it->phase = 2;
    }
    return 0;
}

int
agg_metrics_walk_tick(agg_core *c, agg_metrics_pub *p, double now)
{
    agg_metrics_pub_stats st;
    walk_it it;
    int rc;

    agg_metrics_pub_get_stats(p, &st);
    if (st.wanted == 0)
        return 0; /* no threshold: nothing is reported */
    memset(&it, 0, sizeof it);
    it.c = c;
    it.p = p;
    it.now = now;
    if (!walk_next_def(&it))
        it.def = c->ndefs;
    walk_counter_ids(&it);
    it.flows = sfa_xmalloc(WALK_TOP_MAX * sizeof *it.flows);
    it.top = sfa_xmalloc(WALK_TOP_MAX * sizeof *it.top);
    /* Even with no data source in it, the report tells the events service
     * that this aggregator's sources are at or below every threshold. */
    rc = agg_metrics_pub_tick(p, walk_next, &it);
    free(it.flows);
    free(it.top);
    free(it.mids);
    return rc;
}
