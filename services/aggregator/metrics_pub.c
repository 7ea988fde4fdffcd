/* metrics_pub.c - publish metrics.v1 reports to the events service.
 *
 *   {"id": "<aggregator.id>",
 *    "flows":    [{"agent","ds","name","value","top":[[key, value, [values]], ...]}],
 *    "counters": [{"agent","ds","name","value"}]}
 *
 * The events service listens on bus.metrics with one sub socket and every
 * aggregator dials it with a pub socket (sfa_bus_pub_dial), so the events
 * service does not need to know how many aggregators exist. A report is
 * sent only while some threshold exists, and carries only the metrics
 * thresholds name; it is complete for this aggregator (the events service
 * treats a data source missing from it as at or below every threshold).
 *
 * Reports are built with jansson and packed by sfa_codec_encode_json_msg:
 * a few per second, not a per-datagram path. Loop thread only.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/bus.h>
#include <sfa/clock.h>
#include <sfa/codec.h>
#include <sfa/mem.h>

#include "metrics_pub.h"

#define MPUB_SNDBUF 64 /* reports queued while the events service is slow */
#define MPUB_BUF_MIN (64 * 1024)
#define MPUB_BUF_MAX ((size_t)64 << 20) /* the bus's receive limit */

typedef struct mpub_want {
    char *name;
    double min; /* lowest threshold value on name */
} mpub_want;

struct agg_metrics_pub {
    sfa_bus *bus;
    char *id;
    uint64_t seq;
    mpub_want *wants; /* sorted by name */
    size_t nwants;
    uint8_t *buf;
    size_t cap;
    agg_metrics_pub_stats st;
};

int
agg_metrics_pub_open(agg_metrics_pub **out, uv_loop_t *loop, const char *url, const char *id)
{
    agg_metrics_pub *p = sfa_xcalloc(1, sizeof *p);
    int rc;

    if ((rc = sfa_bus_pub_dial(&p->bus, loop, url, MPUB_SNDBUF)) != 0) {
        free(p);
        return rc;
    }
    p->id = sfa_xstrdup(id);
    p->cap = MPUB_BUF_MIN;
    p->buf = sfa_xmalloc(p->cap);
    *out = p;
    return 0;
}

static void
mpub_clear_wants(agg_metrics_pub *p)
{
    for (size_t i = 0; i < p->nwants; i++)
        free(p->wants[i].name);
    free(p->wants);
    p->wants = NULL;
    p->nwants = 0;
}

static int
mpub_want_cmp(const void *a, const void *b)
{
    return strcmp(((const mpub_want *)a)->name, ((const mpub_want *)b)->name);
}

static mpub_want *
mpub_find(const agg_metrics_pub *p, const char *name)
{
    mpub_want key = {(char *)name, 0};

    return p->nwants ? bsearch(&key, p->wants, p->nwants, sizeof *p->wants, mpub_want_cmp) : NULL;
}

void
agg_metrics_pub_set_thresholds(agg_metrics_pub *p, const json_t *thresholds)
{
    const char *tname;
    json_t *spec;
    size_t n = 0, k = 0;

    mpub_clear_wants(p);
    p->st.wanted = 0;
    if (!json_is_object(thresholds))
        return;
    p->wants = sfa_xcalloc(json_object_size(thresholds) + 1, sizeof *p->wants);
    json_object_foreach((json_t *)thresholds, tname, spec)
    {
        const json_t *m = json_object_get(spec, "metric"), *v = json_object_get(spec, "value");

        if (!json_is_string(m))
            continue;
        p->wants[n].name = sfa_xstrdup(json_string_value(m));
        p->wants[n++].min = json_is_number(v) ? json_number_value(v) : -INFINITY;
    }
    /* Sort, then fold thresholds on the same metric into one entry. */
    qsort(p->wants, n, sizeof *p->wants, mpub_want_cmp);
    for (size_t i = 0; i < n; i++) {
        if (k > 0 && strcmp(p->wants[k - 1].name, p->wants[i].name) == 0) {
            if (p->wants[i].min < p->wants[k - 1].min)
                p->wants[k - 1].min = p->wants[i].min;
            free(p->wants[i].name);
            continue;
        }
        p->wants[k++] = p->wants[i];
    }
    p->nwants = k;
    p->st.wanted = k;
}

int
agg_metrics_pub_wants(const agg_metrics_pub *p, const char *name, double *min)
{
    const mpub_want *w = mpub_find(p, name);

    if (w && min)
        *min = w->min;
    return w != NULL;
}

static json_t *
mpub_top_json(const agg_metric *m)
{
    json_t *top = json_array();
    size_t n = m->ntop < AGG_METRICS_TOP_MAX ? m->ntop : AGG_METRICS_TOP_MAX;

    for (size_t i = 0; i < n && m->top; i++) {
        const agg_metric_top *t = &m->top[i];
        json_t *e;

        if (!t->key)
            continue;
        e = json_pack("[s, f]", t->key, t->value);
        if (t->values && t->nvalues > 0) {
            json_t *vals = json_array();

            for (int j = 0; j < t->nvalues; j++)
                json_array_append_new(vals, json_real(t->values[j]));
            json_array_append_new(e, vals);
        }
        json_array_append_new(top, e);
    }
    return top;
}

/* The report body from the iterator. Returns new. */
static json_t *
mpub_body(agg_metrics_pub *p, agg_metric_next_fn next, void *it, uint64_t *entries)
{
    json_t *flows = json_array(), *counters = json_array();
    agg_metric m;

    *entries = 0;
    for (memset(&m, 0, sizeof m); next(it, &m); memset(&m, 0, sizeof m)) {
        json_t *e;

        if (!m.agent || !m.ds || !m.name || !agg_metrics_pub_wants(p, m.name, NULL))
            continue;
        e = json_pack("{s:s, s:s, s:s, s:f}", "agent", m.agent, "ds", m.ds, "name", m.name, "value",
                      isfinite(m.value) ? m.value : 0.0);
        if (m.kind == AGG_METRIC_FLOW) {
            json_object_set_new(e, "top", mpub_top_json(&m));
            json_array_append_new(flows, e);
        } else {
            json_array_append_new(counters, e);
        }
        (*entries)++;
    }
    return json_pack("{s:s, s:o, s:o}", "id", p->id, "flows", flows, "counters", counters);
}

int
agg_metrics_pub_tick(agg_metrics_pub *p, agg_metric_next_fn next, void *it)
{
    uint64_t entries;
    json_t *body;
    int n;

    if (p->nwants == 0)
        return 0;
    body = mpub_body(p, next, it, &entries);
    for (;;) {
        n = sfa_codec_encode_json_msg(p->buf, p->cap, AGG_TOPIC_METRICS, p->id, p->seq + 1,
                                      sfa_clock_wall_ms(), body);
        if (n != SFA_ELIMIT || p->cap >= MPUB_BUF_MAX)
            break;
        p->cap *= 2;
        p->buf = sfa_xrealloc(p->buf, p->cap);
    }
    json_decref(body);
    if (n < 0) {
        p->st.dropped++;
        return n;
    }
    p->seq++;
    if (sfa_bus_publish(p->bus, p->buf, (size_t)n) != 0) {
        p->st.dropped++;
        return SFA_EBUS;
    }
    p->st.reports++;
    p->st.entries += entries;
    return 0;
}

void
agg_metrics_pub_get_stats(const agg_metrics_pub *p, agg_metrics_pub_stats *st)
{
    sfa_bus_stats bs;

    *st = p->st;
    sfa_bus_get_stats(p->bus, &bs);
    st->peers = bs.pipes;
}

void
agg_metrics_pub_close(agg_metrics_pub *p)
{
    if (!p)
        return;
    sfa_bus_close(p->bus);
    mpub_clear_wants(p);
    free(p->buf);
    free(p->id);
    free(p);
}
