/* metrics_in.c - one metrics.v1 report (proto/CONTROL.md) into the rules.
 *
 *   {"id": "<aggregator.id>",
 *    "flows":    [{"agent", "ds", "name", "value", "top": [[key, value, values], ...]}],
 *    "counters": [{"agent", "ds", "name", "value"}]}
 *
 * A flow entry's "value" is the data source's smoothed value (its largest
 * flow); when absent, the first top entry's value is used. "top" lists the
 * largest flows, descending; each is [key, value] or [key, value, values].
 * Entries that lack agent, ds, name or a numeric value are skipped and
 * counted; so are malformed top entries. Strings borrow the body.
 * Not a per-datagram path (one report per aggregator every
 * events.interval ms); loop thread only.
 */
#include <stdlib.h>

#include <sfa/mem.h>

#include "evt.h"

#define METRICS_TOP_STACK 64

typedef struct metrics_entry {
    const char *agent, *ds, *name;
    double value;
    int has_value;
} metrics_entry;

/* The common fields of a flow or counter entry. 0 or -1. */
static int
metrics_entry_parse(const json_t *e, metrics_entry *out)
{
    const json_t *agent = json_object_get(e, "agent"), *ds = json_object_get(e, "ds");
    const json_t *name = json_object_get(e, "name"), *value = json_object_get(e, "value");

    if (!json_is_string(agent) || !json_is_string(ds) || !json_is_string(name))
        return -1;
    out->agent = json_string_value(agent);
    out->ds = json_string_value(ds);
    out->name = json_string_value(name);
    out->has_value = json_is_number(value);
    out->value = out->has_value ? json_number_value(value) : 0.0;
    return 0;
}

/* Fill top[0..) from the JSON list; returns how many were well formed. */
static size_t
metrics_top_parse(const json_t *list, evt_topkey *top, size_t cap, uint64_t *bad)
{
    size_t k = 0;

    for (size_t i = 0; i < json_array_size(list) && k < cap; i++) {
        const json_t *t = json_array_get(list, i);
        const json_t *key = json_array_get(t, 0), *v = json_array_get(t, 1);
        const json_t *vals = json_array_get(t, 2);

        if (!json_is_string(key) || !json_is_number(v)) {
            (*bad)++;
            continue;
        }
        top[k].key = json_string_value(key);
        top[k].value = json_number_value(v);
        top[k].values = json_is_array(vals) ? vals : NULL;
        k++;
    }
    return k;
}

static void
metrics_flow(evt_rules *r, const json_t *e, evt_metrics_stats *st)
{
    const json_t *list = json_object_get(e, "top");
    size_t n = json_array_size(list), k;
    evt_topkey stack[METRICS_TOP_STACK], *top = stack;
    metrics_entry m;

    if (metrics_entry_parse(e, &m) != 0) {
        st->bad_entries++;
        return;
    }
    if (n > METRICS_TOP_STACK)
        top = sfa_xmalloc(n * sizeof *top);
    k = metrics_top_parse(list, top, n, &st->bad_entries);
    if (!m.has_value && k > 0) {
        m.value = top[0].value;
        m.has_value = 1;
    }
    if (m.has_value) {
        evt_rules_flow(r, m.agent, m.ds, m.name, m.value, top, k);
        st->entries++;
    } else {
        st->bad_entries++;
    }
    if (top != stack)
        free(top);
}

static void
metrics_counter(evt_rules *r, const json_t *e, evt_metrics_stats *st)
{
    metrics_entry m;

    if (metrics_entry_parse(e, &m) != 0 || !m.has_value) {
        st->bad_entries++;
        return;
    }
    evt_rules_counter(r, m.agent, m.ds, m.name, m.value);
    st->entries++;
}

int
evt_metrics_apply(evt_rules *r, const json_t *body, uint64_t now_ms, evt_metrics_stats *st)
{
    const json_t *id = json_object_get(body, "id"), *e;
    size_t i;

    if (!json_is_object(body) || !json_is_string(id)) {
        st->bad_reports++;
        return SFA_EFORMAT;
    }
    evt_rules_begin(r, json_string_value(id), now_ms);
    json_array_foreach(json_object_get(body, "flows"), i, e) metrics_flow(r, e, st);
    json_array_foreach(json_object_get(body, "counters"), i, e) metrics_counter(r, e, st);
    evt_rules_end(r);
    st->reports++;
    return 0;
}
