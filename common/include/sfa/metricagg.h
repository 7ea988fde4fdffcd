/* metricagg.h - sFlow-RT metric queries across shards: name grammar,
 * summary statistics that merge exactly, and the merges of the survey
 * answers (proto/CONTROL.md, "Metrics").
 *
 * Both sides use this module, so they cannot disagree:
 *   - an aggregator parses each requested name (sfa_metric_name_parse),
 *     adds the values of its data sources to an accumulator
 *     (sfa_metricacc_add_*) and answers with sfa_metricacc_partial: the
 *     partial statistics of its share;
 *   - the gateway merges the shards' partials into one accumulator
 *     (sfa_metricacc_merge) and renders sFlow-RT's entry
 *     (sfa_metricacc_result), or lets sfa_metricagg_merge_* do all of it.
 * What a partial carries makes the merge exact: max, min and any keep the
 * winning value with its agent, data source and age; sum, avg, var and
 * sdev keep n, the sum, the mean and the sum of squared deviations (Chan's
 * parallel update); med, q1, q2, q3 and iqr keep the values themselves
 * (up to SFA_METRICACC_VALUES_MAX per partial).
 *
 * Plain computation on jansson values: no I/O, no globals. Not
 * thread-safe per object; distinct objects may be used from any thread.
 */
#ifndef SFA_METRICAGG_H
#define SFA_METRICAGG_H

#include <stddef.h>

#include <jansson.h>

#include <sfa/err.h>

/* Aggregations of /metric/{agent}/{metric}/json. */
enum sfa_magg {
    SFA_MAGG_MAX = 0, /* the default */
    SFA_MAGG_MIN,
    SFA_MAGG_SUM,
    SFA_MAGG_AVG,
    SFA_MAGG_VAR, /* population variance */
    SFA_MAGG_SDEV,
    SFA_MAGG_MED, /* also renders quartiles {min, q1, med, q3, max} */
    SFA_MAGG_Q1,
    SFA_MAGG_Q2,
    SFA_MAGG_Q3,
    SFA_MAGG_IQR,
    SFA_MAGG_ANY,
    SFA_MAGG__COUNT
};

#define SFA_METRIC_NAME_MAX 128         /* bytes of a bare metric name, NUL included */
#define SFA_METRIC_DS_MAX 32            /* bytes of a data source qualifier, NUL included */
#define SFA_METRICACC_VALUES_MAX 100000 /* values one partial carries for quantiles */

/* One requested name: [sort:][<agg>:][<ds>.]<metric>[:<signed limit>]
 * ("sort:" and the limit only in table columns). */
typedef struct sfa_metric_name {
    int agg;                    /* enum sfa_magg */
    int has_agg;                /* an aggregation prefix was given */
    int sort;                   /* 0 none, 1 ascending, -1 descending (table) */
    long limit;                 /* rows kept by a sort column, 0 = all */
    char ds[SFA_METRIC_DS_MAX]; /* "" when not qualified */
    char metric[SFA_METRIC_NAME_MAX];
    char label[SFA_METRIC_NAME_MAX + SFA_METRIC_DS_MAX + 8]; /* as requested, without sort: */
} sfa_metric_name;

/* Parse text (borrowed). A data source qualifier is the part before the
 * last '.' when it is made of digits and dots ("2.1.load_one", "15.tcp").
 * 0, or SFA_EFORMAT (empty, too long, unknown prefix, bad limit); *out is
 * written only on success. */
SFA_MUST_CHECK int sfa_metric_name_parse(const char *text, sfa_metric_name *out);

/* The aggregation's prefix word ("max", ...), or NULL out of range. */
const char *sfa_magg_name(int agg);

/* Does text match pattern, where '*' matches any run of bytes (also
 * empty) and everything else matches itself? Both borrowed. */
int sfa_metric_glob(const char *pattern, const char *text);

/* ---- the accumulator ---- */

typedef struct sfa_metricacc sfa_metricacc;

/* Returns new, for aggregation agg (enum sfa_magg). */
sfa_metricacc *sfa_metricacc_create(int agg);
void sfa_metricacc_destroy(sfa_metricacc *a); /* NULL is a no-op */

/* Add one data source's value. agent and ds are borrowed (copied when the
 * value wins), age_ms is the time since its last update, ref an opaque
 * number the caller gets back from sfa_metricacc_best_ref. Text values
 * count for max, min and any only (a number always beats a text); the
 * other aggregations skip them. Non-finite numbers are skipped. */
void sfa_metricacc_add_num(sfa_metricacc *a, double v, const char *agent, const char *ds,
                           double age_ms, size_t ref);
void sfa_metricacc_add_text(sfa_metricacc *a, const char *v, const char *agent, const char *ds,
                            double age_ms, size_t ref);

/* Values counted so far (sFlow-RT's metricN). */
size_t sfa_metricacc_count(const sfa_metricacc *a);

/* For max, min and any with at least one value: 1 and *ref of the winner;
 * else 0. */
int sfa_metricacc_best_ref(const sfa_metricacc *a, size_t *ref);

/* The partial statistics as a shard answers them, labelled name (borrowed):
 * {"metricName", "agg", "n", ...} (proto/CONTROL.md). Returns new. */
json_t *sfa_metricacc_partial(const sfa_metricacc *a, const char *name);

/* Fold a shard's partial (borrowed) into a. Its "topKeys" member, if any,
 * travels with a winning value. 0, or SFA_EFORMAT when partial is not one
 * (a is then unchanged) or is of another aggregation. */
SFA_MUST_CHECK int sfa_metricacc_merge(sfa_metricacc *a, const json_t *partial);

/* sFlow-RT's entry: {"metricName": name, "metricN", and with data
 * "metricValue", "lastUpdate", "lastUpdateMin", "lastUpdateMax" (ms),
 * "agent"/"dataSource"/"topKeys" for max, min, any, "quartiles" for med}.
 * Returns new. */
json_t *sfa_metricacc_result(const sfa_metricacc *a, const char *name);

/* ---- whole answers (results[i] is shard i's "result" member, borrowed;
 * NULL or malformed results are skipped) ---- */

/* "metric": arrays of partials, one per requested name in order -> the
 * array /metric/{agent}/{metric}/json returns. Returns new. */
json_t *sfa_metricagg_merge_metric(const json_t *const *results, size_t n);

/* "metrics": objects name -> ms since last update -> the smallest per name.
 * Returns new. */
json_t *sfa_metricagg_merge_metrics(const json_t *const *results, size_t n);

/* "metric_agent": objects "ds.metric" -> value -> their union. Returns new. */
json_t *sfa_metricagg_merge_agent(const json_t *const *results, size_t n);

/* "dump": arrays of entries -> one array, ordered by agent, dataSource,
 * metricName. Returns new. */
json_t *sfa_metricagg_merge_dump(const json_t *const *results, size_t n);

/* "table": arrays of rows -> one array, sorted and cut per the first
 * "sort:" column of names (array of the requested column strings,
 * borrowed). Returns new. */
json_t *sfa_metricagg_merge_table(const json_t *const *results, size_t n, const json_t *names);

/* Sort rows (an array of rows, each an array of entries; modified in
 * place) by the first "sort:" column of names and cut it to that column's
 * limit. No-op without a sort column. */
void sfa_metricagg_table_sort(json_t *rows, const json_t *names);

#endif
