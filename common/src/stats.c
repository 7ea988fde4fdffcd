/* stats.c - counters struct to JSON, driven by a table. No state. */
#include <string.h>

#include <sfa/stats.h>

void
sfa_stats_add(json_t *obj, const sfa_stat_def *defs, const void *base)
{
    for (const sfa_stat_def *d = defs; d->name; d++) {
        uint64_t v;
        memcpy(&v, (const char *)base + d->off, sizeof v);
        json_object_set_new(obj, d->name, json_integer((json_int_t)v));
    }
}
