/* core.c - the aggregator's state as a whole: set-up, tear-down, totals
 * over the definitions, and dropping what was learnt from lost buckets.
 *
 * agg_core is plain data shared by ingest.c, defs.c, assign.c and
 * respond.c (agg.h); the functions here are the few that touch all of it.
 * Loop thread only.
 */
#include <stdlib.h>
#include <string.h>

#include <sfa/clock.h>
#include <sfa/mem.h>

#include "agg.h"
#include "counters.h"

double
agg_now(void)
{
    return (double)sfa_clock_us() / 1e6;
}

void
agg_core_init(agg_core *c, const agg_config *cfg, double now)
{
    memset(c, 0, sizeof *c);
    c->cfg = cfg;
    c->id = sfa_xstrdup(cfg->aggregator_id);
    c->start = now;
    c->dsreg = agg_dsreg_create((uint32_t)cfg->maxsources);
    c->seq = sfa_seqtrack_create();
    c->scratch = sfa_xmalloc(sizeof *c->scratch);
    c->batch = sfa_xcalloc(1, sizeof *c->batch);
    c->fidx = sfa_xcalloc(1, sizeof *c->fidx);
    c->members = json_array();
    c->counters = agg_counters_create((uint32_t)cfg->maxsources);
}

void
agg_core_fini(agg_core *c)
{
    agg_defs_clear(c);
    agg_counters_destroy(c->counters);
    json_decref(c->members);
    agg_dsreg_destroy(c->dsreg);
    sfa_seqtrack_destroy(c->seq);
    free(c->scratch);
    free(c->batch);
    free(c->fidx);
    free(c->id);
    memset(c, 0, sizeof *c);
}

void
agg_core_table_totals(const agg_core *c, agg_table_stats *sum)
{
    agg_table_stats st;

    memset(sum, 0, sizeof *sum);
    for (size_t i = 0; i < c->ndefs; i++) {
        agg_table_get_stats(c->defs[i].table, &st);
        sum->keys += st.keys;
        sum->inserts += st.inserts;
        sum->evictions += st.evictions;
        sum->expired += st.expired;
        sum->too_long += st.too_long;
        sum->bytes += st.bytes;
    }
    sum->inserts += c->st.old_inserts;
    sum->evictions += c->st.old_evictions;
    sum->expired += c->st.old_expired;
}

typedef struct core_drop {
    const agg_dsreg *reg;
    const uint8_t *lost;
} core_drop;

static int
core_ds_dead(uint32_t ds, void *arg)
{
    const core_drop *d = arg;
    const agg_ds *src = agg_dsreg_get(d->reg, ds);

    return src && d->lost[src->bucket];
}

void
agg_core_drop_buckets(agg_core *c, const uint8_t lost[SFA_BUCKETS])
{
    core_drop d = {c->dsreg, lost};
    uint32_t limit = agg_dsreg_limit(c->dsreg);

    for (size_t i = 0; i < c->ndefs; i++)
        agg_table_purge(c->defs[i].table, core_ds_dead, &d);
    agg_counters_drop_buckets(c->counters, lost);
    for (uint32_t id = 0; id < limit; id++) {
        if (core_ds_dead(id, &d)) {
            agg_dsreg_release(c->dsreg, id);
            c->st.sources_purged++;
        }
    }
}
