/* metrics_pub.h - the aggregator's side of metrics.v1 (proto/CONTROL.md,
 * "Metric snapshots"): every events.interval ms, for every metric that
 * some threshold names, the current smoothed value of each data source,
 * sent to the events service.
 *
 * Private to services/aggregator (and its tests). Self-contained: it does
 * not include agg.h, so the aggregator drives it through a small iterator
 * and the module can be tested alone.
 *
 * Hook-up, three calls:
 *   1. start:     agg_metrics_pub_open(&p, loop, cfg->bus_metrics, id)
 *   2. defs.v1:   agg_metrics_pub_set_thresholds(p, json_object_get(body, "thresholds"))
 *   3. a timer every events.interval ms:
 *                 agg_metrics_pub_tick(p, next, &it)  where next() walks, for each
 *                 definition d with agg_metrics_pub_wants(p, d->name, &min), each data
 *                 source with data: value = its smoothed value, top = its largest
 *                 keys (at least one; every key above min, capped)
 * and agg_metrics_pub_close(p) when stopping.
 *
 * Loop thread only.
 */
#ifndef AGG_METRICS_PUB_H
#define AGG_METRICS_PUB_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include <sfa/err.h>

#define AGG_TOPIC_METRICS "metrics.v1"
#define AGG_METRICS_TOP_MAX 1000 /* top keys sent per data source, at most */

enum agg_metric_kind {
    AGG_METRIC_FLOW = 1,    /* a flow definition: value + top keys */
    AGG_METRIC_COUNTER = 2, /* a counter metric (ifinutilization, load_one, ...) */
};

/* One flow of a data source's top list. Everything borrowed. */
typedef struct agg_metric_top {
    const char *key;      /* the flow key as /activeflows shows it */
    double value;         /* its smoothed value */
    const double *values; /* the definition's extra values, or NULL */
    int nvalues;
} agg_metric_top;

/* One (data source, metric). Everything borrowed until the next call of
 * the iterator. */
typedef struct agg_metric {
    int kind;                  /* enum agg_metric_kind */
    const char *agent;         /* agent address text */
    const char *ds;            /* sFlow-RT's dataSource text ("3", "0.3") */
    const char *name;          /* flow definition or counter metric name */
    double value;              /* the data source's smoothed value */
    const agg_metric_top *top; /* flows only: largest first; may be NULL */
    size_t ntop;
} agg_metric;

/* Fill *m with the next metric and return 1, or return 0 at the end.
 * Called repeatedly by agg_metrics_pub_tick; it is the aggregator's walk
 * over its tables. */
typedef int (*agg_metric_next_fn)(void *it, agg_metric *m);

typedef struct agg_metrics_pub agg_metrics_pub;

typedef struct agg_metrics_pub_stats {
    uint64_t reports; /* metrics.v1 messages published */
    uint64_t entries; /* (data source, metric) entries in them */
    uint64_t dropped; /* reports the bus refused or that did not fit */
    uint64_t wanted;  /* metric names thresholds use now */
    uint64_t peers;   /* events services connected now */
} agg_metrics_pub_stats;

/* Open a publisher that DIALS url (the events service listens there) and
 * reports as id (both borrowed, copied). 0 or SFA_EBUS. */
SFA_MUST_CHECK int agg_metrics_pub_open(agg_metrics_pub **out, uv_loop_t *loop, const char *url,
                                        const char *id);

/* Learn the threshold set from defs.v1 ({name: {"metric", "value", ...}},
 * borrowed; NULL or not an object = none). */
void agg_metrics_pub_set_thresholds(agg_metrics_pub *p, const json_t *thresholds);

/* Does some threshold name metric? If so and min is not NULL, *min is the
 * lowest threshold value on it (top lists should hold every key above). */
int agg_metrics_pub_wants(const agg_metrics_pub *p, const char *name, double *min);

/* Build one report from the iterator and publish it. Does nothing (returns
 * 0) while no threshold exists. Entries whose name is not wanted, or with
 * a NULL agent/ds/name, are skipped. 0, SFA_ELIMIT (report over 64 MiB)
 * or SFA_EBUS (both counted in dropped). */
int agg_metrics_pub_tick(agg_metrics_pub *p, agg_metric_next_fn next, void *it);

void agg_metrics_pub_get_stats(const agg_metrics_pub *p, agg_metrics_pub_stats *st);

/* Close the socket and free. NULL is a no-op. */
void agg_metrics_pub_close(agg_metrics_pub *p);

#endif
