/* thresholds.c - threshold specs (sFlow-RT's /threshold/{name}/json) as
 * the gateway publishes them in defs.v1, validated and compiled.
 *
 *   {"metric": str, "value": number, "byFlow": bool, "timeout": seconds,
 *    "filter": {"agent": [..], "dataSource": [..], "ifindex": [..]}}
 *
 * metric and value are required; byFlow defaults to false and timeout to
 * EVT_TIMEOUT_DEFAULT seconds. A filter restricts the data sources: every
 * attribute listed must match one of its values. For now the attributes a
 * metrics.v1 report carries are supported: "agent" (the agent address as
 * text) and "dataSource" / "ifindex" (the data source as text, e.g. "3");
 * any other attribute (ifspeed, os_name, ... which need counter metadata)
 * makes the spec invalid, so it is refused loudly instead of silently
 * matching nothing. Unknown top-level fields are ignored.
 *
 * The set keeps a compiled object per name; an update keeps the objects of
 * unchanged specs (same uid), so their evaluation state survives the
 * gateway republishing defs.v1 every second. Loop thread only.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/log.h>
#include <sfa/mem.h>

#include "evt.h"

#define THR_TIMEOUT_MAX 31536000.0 /* one year, seconds */
#define THR_FILTER_VALUES_MAX 4096

struct evt_thresholds {
    evt_threshold **by_name;   /* sorted by name */
    evt_threshold **by_metric; /* sorted by metric, then name */
    size_t n;
    json_t *input; /* the last specs given to update (for change detection) */
    json_t *specs; /* the valid ones */
};

static uint64_t thr_uid_next = 1;

void
evt_threshold_free(evt_threshold *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nterms; i++) {
        for (size_t j = 0; j < t->terms[i].nvalues; j++)
            free(t->terms[i].values[j]);
        free(t->terms[i].values);
    }
    free(t->terms);
    free(t->name);
    free(t->metric);
    json_decref(t->spec);
    free(t);
}

static int
thr_attr(const char *key)
{
    if (strcmp(key, "agent") == 0)
        return EVT_FILTER_AGENT;
    if (strcmp(key, "dataSource") == 0 || strcmp(key, "ifindex") == 0)
        return EVT_FILTER_DS;
    return 0;
}

/* One filter value as text: strings as they are, integers in decimal. */
static char *
thr_value_text(const json_t *v)
{
    char buf[32];

    if (json_is_string(v))
        return sfa_xstrdup(json_string_value(v));
    if (json_is_integer(v)) {
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        return sfa_xstrdup(buf);
    }
    return NULL;
}

/* Compile one filter attribute into term. 0 or SFA_EFORMAT with err. */
static int
thr_compile_term(evt_filter_term *term, const char *key, const json_t *vals, char *err,
                 size_t errcap)
{
    size_t n = json_is_array(vals) ? json_array_size(vals) : 1;

    if (!(term->attr = thr_attr(key))) {
        snprintf(err, errcap,
                 "filter attribute '%.64s' is not supported (use agent, "
                 "dataSource or ifindex)",
                 key);
        return SFA_EFORMAT;
    }
    if (n > THR_FILTER_VALUES_MAX) {
        snprintf(err, errcap, "filter %.64s: more than %d values", key, THR_FILTER_VALUES_MAX);
        return SFA_EFORMAT;
    }
    term->values = sfa_xcalloc(n ? n : 1, sizeof *term->values);
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_is_array(vals) ? json_array_get(vals, i) : vals;
        char *text = thr_value_text(v);

        if (!text) {
            snprintf(err, errcap, "filter %.64s: values must be strings or integers", key);
            return SFA_EFORMAT;
        }
        term->values[term->nvalues++] = text;
    }
    return 0;
}

static int
thr_compile_filter(evt_threshold *t, const json_t *filter, char *err, size_t errcap)
{
    const char *key;
    json_t *vals;

    if (!filter || json_is_null(filter))
        return 0;
    if (!json_is_object(filter)) {
        snprintf(err, errcap, "filter must be an object {attribute: [values]}");
        return SFA_EFORMAT;
    }
    t->terms = sfa_xcalloc(json_object_size(filter) + 1, sizeof *t->terms);
    json_object_foreach((json_t *)filter, key, vals)
    {
        int rc = thr_compile_term(&t->terms[t->nterms++], key, vals, err, errcap);

        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The scalar fields. 0 or SFA_EFORMAT with err. */
static int
thr_compile_fields(evt_threshold *t, const json_t *spec, char *err, size_t errcap)
{
    const json_t *metric = json_object_get(spec, "metric"), *value = json_object_get(spec, "value");
    const json_t *by_flow = json_object_get(spec, "byFlow"), *to = json_object_get(spec, "timeout");
    double timeout = EVT_TIMEOUT_DEFAULT;

    if (!json_is_string(metric) || json_string_length(metric) == 0 ||
        json_string_length(metric) >= EVT_NAME_MAX) {
        snprintf(err, errcap, "metric must be a name of 1 to %d bytes", EVT_NAME_MAX - 1);
        return SFA_EFORMAT;
    }
    if (!json_is_number(value) || !isfinite(json_number_value(value))) {
        snprintf(err, errcap, "value must be a number");
        return SFA_EFORMAT;
    }
    if (by_flow && !json_is_boolean(by_flow) && !json_is_null(by_flow)) {
        snprintf(err, errcap, "byFlow must be true or false");
        return SFA_EFORMAT;
    }
    if (to && !json_is_null(to)) {
        timeout = json_is_number(to) ? json_number_value(to) : -1;
        if (!(timeout >= 0 && timeout <= THR_TIMEOUT_MAX)) {
            snprintf(err, errcap, "timeout must be a number of seconds from 0 to %.0f",
                     THR_TIMEOUT_MAX);
            return SFA_EFORMAT;
        }
    }
    t->metric = sfa_xstrdup(json_string_value(metric));
    t->value = json_number_value(value);
    t->by_flow = json_is_true(by_flow);
    t->timeout_ms = (uint64_t)llround(timeout * 1000.0);
    return 0;
}

int
evt_threshold_compile(const char *name, const json_t *spec, evt_threshold **out, char *err,
                      size_t errcap)
{
    evt_threshold *t;
    int rc;

    if (!name || name[0] == '\0' || strlen(name) >= EVT_NAME_MAX) {
        snprintf(err, errcap, "threshold name must be 1 to %d bytes", EVT_NAME_MAX - 1);
        return SFA_EFORMAT;
    }
    if (!json_is_object(spec)) {
        snprintf(err, errcap, "a threshold must be an object");
        return SFA_EFORMAT;
    }
    t = sfa_xcalloc(1, sizeof *t);
    if ((rc = thr_compile_fields(t, spec, err, errcap)) != 0 ||
        (rc = thr_compile_filter(t, json_object_get(spec, "filter"), err, errcap)) != 0)
        goto fail;
    t->name = sfa_xstrdup(name);
    t->spec = json_deep_copy(spec);
    t->uid = thr_uid_next++;
    *out = t;
    return 0;
fail:
    evt_threshold_free(t);
    return rc;
}

static int
thr_term_matches(const evt_filter_term *term, const char *agent, const char *ds)
{
    const char *v = term->attr == EVT_FILTER_AGENT ? agent : ds;

    for (size_t i = 0; i < term->nvalues; i++)
        if (strcmp(term->values[i], v) == 0)
            return 1;
    return 0;
}

int
evt_threshold_matches(const evt_threshold *t, const char *agent, const char *ds)
{
    for (size_t i = 0; i < t->nterms; i++)
        if (!thr_term_matches(&t->terms[i], agent, ds))
            return 0;
    return 1;
}

/* ---- the set ---- */

evt_thresholds *
evt_thresholds_create(void)
{
    evt_thresholds *s = sfa_xcalloc(1, sizeof *s);

    s->input = json_object();
    s->specs = json_object();
    return s;
}

static void
thr_free_items(evt_threshold **items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        evt_threshold_free(items[i]);
}

void
evt_thresholds_destroy(evt_thresholds *s)
{
    if (!s)
        return;
    thr_free_items(s->by_name, s->n);
    free(s->by_name);
    free(s->by_metric);
    json_decref(s->input);
    json_decref(s->specs);
    free(s);
}

static int
thr_cmp_name(const void *a, const void *b)
{
    return strcmp((*(evt_threshold *const *)a)->name, (*(evt_threshold *const *)b)->name);
}

static int
thr_cmp_metric(const void *a, const void *b)
{
    const evt_threshold *x = *(evt_threshold *const *)a, *y = *(evt_threshold *const *)b;
    int c = strcmp(x->metric, y->metric);

    return c ? c : strcmp(x->name, y->name);
}

/* Index of name in items (sorted by name), or -1. */
static long
thr_find(evt_threshold *const *items, size_t n, const char *name)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(items[mid]->name, name);

        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* The current compiled object of name if its spec is unchanged (marked
 * kept so the update does not free it); NULL otherwise. */
static evt_threshold *
thr_take_unchanged(evt_thresholds *s, uint8_t *kept, const char *name, const json_t *spec)
{
    long i = thr_find(s->by_name, s->n, name);

    if (i < 0 || !json_equal(s->by_name[i]->spec, spec))
        return NULL;
    kept[i] = 1;
    return s->by_name[i];
}

int
evt_thresholds_update(evt_thresholds *s, const json_t *specs, size_t *bad)
{
    json_t *input = json_is_object(specs) ? json_deep_copy(specs) : json_object(), *spec;
    size_t n = json_object_size(input), k = 0, nbad = 0;
    evt_threshold **items, *t;
    uint8_t *kept;
    const char *name;
    char err[256];

    if (json_equal(input, s->input)) {
        json_decref(input);
        return 0;
    }
    items = sfa_xcalloc(n ? n : 1, sizeof *items);
    kept = sfa_xcalloc(s->n ? s->n : 1, 1);
    json_decref(s->specs);
    s->specs = json_object();
    json_object_foreach(input, name, spec)
    {
        if ((t = thr_take_unchanged(s, kept, name, spec)) == NULL &&
            evt_threshold_compile(name, spec, &t, err, sizeof err) != 0) {
            SFA_WARN("threshold %.128s ignored: %s", name, err);
            nbad++;
            continue;
        }
        items[k++] = t;
        json_object_set(s->specs, name, spec);
    }
    for (size_t i = 0; i < s->n; i++)
        if (!kept[i])
            evt_threshold_free(s->by_name[i]);
    free(kept);
    free(s->by_name);
    free(s->by_metric);
    qsort(items, k, sizeof *items, thr_cmp_name);
    s->by_name = items;
    s->n = k;
    s->by_metric = sfa_xcalloc(k ? k : 1, sizeof *s->by_metric);
    memcpy(s->by_metric, items, k * sizeof *items);
    qsort(s->by_metric, k, sizeof *items, thr_cmp_metric);
    json_decref(s->input);
    s->input = input;
    if (bad)
        *bad = nbad;
    return 1;
}

const evt_threshold *
evt_thresholds_get(const evt_thresholds *s, const char *name)
{
    long i = thr_find(s->by_name, s->n, name);

    return i < 0 ? NULL : s->by_name[i];
}

size_t
evt_thresholds_count(const evt_thresholds *s)
{
    return s->n;
}

const evt_threshold *const *
evt_thresholds_for_metric(const evt_thresholds *s, const char *metric, size_t *n)
{
    size_t lo = 0, hi = s->n, end;

    /* Lower bound of metric, then the run of equal metrics. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (strcmp(s->by_metric[mid]->metric, metric) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (end = lo; end < s->n && strcmp(s->by_metric[end]->metric, metric) == 0; end++)
        ;
    *n = end - lo;
    return *n ? (const evt_threshold *const *)&s->by_metric[lo] : NULL;
}

const json_t *
evt_thresholds_specs(const evt_thresholds *s)
{
    return s->specs;
}
