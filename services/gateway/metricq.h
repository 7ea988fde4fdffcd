/* metricq.h - what the metric routes share (route_metrics.c,
 * route_prometheus.c, promflows.c); private to services/gateway.
 *
 *   gw_mq_*     request arguments of the metric APIs (names, filters) and
 *               a scatter/gather survey whose completion hands over the
 *               aggregators' answers;
 *   gw_text_*   a growing text buffer, and the Prometheus exposition
 *               pieces written into it (sanitised names, escaped labels,
 *               numbers).
 *
 * Loop thread only.
 */
#ifndef GW_METRICQ_H
#define GW_METRICQ_H

#include <stddef.h>

#include <jansson.h>

#include "gw.h"

/* ---- arguments ---- */

#define GW_MQ_FILTER_VALUE_MAX 1024 /* bytes of one decoded filter pattern */

/* Split a metric list (',' or ';' separated; borrowed) into an array of
 * names, each checked with sfa_metric_name_parse. sort:-columns only when
 * allow_sort, aggregation prefixes only when allow_agg, "ALL" only when
 * allow_all (it must then stand alone). *out is new. 0, or SFA_EFORMAT
 * with a message in err. */
SFA_MUST_CHECK int gw_mq_names(const char *list, int allow_sort, int allow_agg, int allow_all,
                               json_t **out, char *err, size_t errcap);

/* The metric filter of sFlow-RT's metric APIs: every query parameter
 * (except the names in skip, a NULL-terminated list that may be NULL, and
 * names starting with '_', which browsers add to defeat caches) becomes
 * {name: [value, ...]}; repeated names are ORed by the aggregators, '*' is
 * a wildcard. *out is new, or NULL when there is no filter. 0, or
 * SFA_EFORMAT with a message in err (bad escape, over-long value, a name
 * that cannot be a metric). */
SFA_MUST_CHECK int gw_mq_filter(gw_req *r, const char *const *skip, json_t **out, char *err,
                                size_t errcap);

/* ---- surveys ---- */

/* The answers of one survey: answers[i] is an answer body to the survey's
 * op ({"op", "id", "result", ...}), borrowed for the call; failed is set
 * when the survey could not run at all (the bus is closing). */
typedef void (*gw_mq_done)(gw_ctx *g, json_t *const *answers, size_t n, int failed, void *arg);

/* Survey body (taken) to every aggregator with deadline timeout_ms (0:
 * gateway.query.timeout); done (with arg) runs once, later, on the loop.
 * The gateway's query counters (g->qst) count it. 0, or SFA_ELIMIT (too
 * many surveys in flight) / -ESHUTDOWN (stopping): done is then never
 * called. */
SFA_MUST_CHECK int gw_mq_start(gw_ctx *g, json_t *body, int timeout_ms, gw_mq_done done, void *arg);

/* The deadline of surveys whose answers grow with the number of data
 * sources (dump, table, Prometheus): gateway.query.timeout, but at least
 * GW_MQ_BULK_MS. A survey ends as soon as every connected aggregator has
 * answered, so this only matters when one hangs. */
#define GW_MQ_BULK_MS 10000
int gw_mq_bulk_timeout(const gw_ctx *g);

/* The "result" members of answers (borrowed, in a new array of n
 * pointers the caller frees; NULL entries for answers without one). */
const json_t **gw_mq_results(json_t *const *answers, size_t n);

/* ---- sFlow-RT's prometheus app: top flows (promflows.c) ---- */

/* GET /app/prometheus/scripts/export.js/flows/{agent}/txt (arg: gw_ctx). */
int gw_promflows_route(gw_req *r, void *arg);

/* ---- text ---- */

typedef struct gw_text {
    char *buf; /* NUL-terminated once anything was added; NULL before */
    size_t len, cap;
} gw_text;

void gw_text_add(gw_text *t, const char *s, size_t n);
void gw_text_adds(gw_text *t, const char *s);
void gw_text_addf(gw_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Move src's text to the end of dst; src is emptied. */
void gw_text_move(gw_text *dst, gw_text *src);
/* The text (never NULL; "" when empty). Borrows t. */
const char *gw_text_str(const gw_text *t);
void gw_text_free(gw_text *t);

/* Append prefix then name with every byte outside [A-Za-z0-9_] replaced
 * by '_', as sFlow-RT names Prometheus metrics; a name that would start
 * with a digit gets a leading '_'. Both borrowed. */
void gw_prom_name(gw_text *t, const char *prefix, const char *name);
/* Append key="value" (preceded by ',' unless first) with value escaped as
 * the exposition format wants (backslash, double quote, newline). */
void gw_prom_label(gw_text *t, int first, const char *key, const char *value);
/* Append a sample value: the shortest decimal form that reads back the
 * same double; NaN and infinities as Prometheus spells them. */
void gw_prom_value(gw_text *t, double v);

#endif
