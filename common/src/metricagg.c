/* metricagg.c - metric names, exactly mergeable summary statistics, and the
 * merges of the metric survey answers (sfa/metricagg.h).
 *
 * The accumulator keeps what each aggregation needs and nothing else:
 *   max, min, any   the winning value with its agent, data source, age and
 *                   caller reference (ties go to the smaller agent, then
 *                   data source, so every order of merging picks the same);
 *   sum, avg, var,  n, sum, mean and M2 (sum of squared deviations from the
 *   sdev            mean), updated with Welford's step per value and with
 *                   Chan's formula per merged partial;
 *   med, q1..iqr    the values; quantiles by linear interpolation between
 *                   order statistics (position p x (n - 1)).
 * Partials therefore merge into the same result as the union of the
 * values, up to floating-point rounding.
 *
 * Allocates freely: it runs once per query, not per sample. No globals.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/mem.h>
#include <sfa/metricagg.h>

static const char *const magg_names[SFA_MAGG__COUNT] = {
    [SFA_MAGG_MAX] = "max", [SFA_MAGG_MIN] = "min", [SFA_MAGG_SUM] = "sum",
    [SFA_MAGG_AVG] = "avg", [SFA_MAGG_VAR] = "var", [SFA_MAGG_SDEV] = "sdev",
    [SFA_MAGG_MED] = "med", [SFA_MAGG_Q1] = "q1",   [SFA_MAGG_Q2] = "q2",
    [SFA_MAGG_Q3] = "q3",   [SFA_MAGG_IQR] = "iqr", [SFA_MAGG_ANY] = "any",
};

/* Which statistics an aggregation keeps. */
enum { MACC_BEST = 1, MACC_MOMENTS, MACC_VALUES };

static int
macc_family(int agg)
{
    switch (agg) {
    case SFA_MAGG_MAX:
    case SFA_MAGG_MIN:
    case SFA_MAGG_ANY:
        return MACC_BEST;
    case SFA_MAGG_SUM:
    case SFA_MAGG_AVG:
    case SFA_MAGG_VAR:
    case SFA_MAGG_SDEV:
        return MACC_MOMENTS;
    default:
        return MACC_VALUES;
    }
}

const char *
sfa_magg_name(int agg)
{
    return agg >= 0 && agg < SFA_MAGG__COUNT ? magg_names[agg] : NULL;
}

/* ---- names ---- */

static int
name_magg_lookup(const char *p, size_t n)
{
    for (int i = 0; i < SFA_MAGG__COUNT; i++)
        if (strlen(magg_names[i]) == n && memcmp(magg_names[i], p, n) == 0)
            return i;
    return -1;
}

/* Parse a trailing ":<signed digits>" of p[0..*n); shortens *n. 1 found. */
static int
name_limit(const char *p, size_t *n, long *limit)
{
    const char *colon = NULL;
    size_t i;

    for (i = *n; i > 0; i--)
        if (p[i - 1] == ':') {
            colon = p + i - 1;
            break;
        }
    if (!colon)
        return 0;
    const char *d = colon + 1, *end = p + *n;
    int neg = 0;

    if (d < end && (*d == '-' || *d == '+'))
        neg = *d++ == '-';
    if (d == end || end - d > 9)
        return 0;
    for (const char *q = d; q < end; q++)
        if (*q < '0' || *q > '9')
            return 0;
    *limit = strtol(d, NULL, 10) * (neg ? -1 : 1);
    *n = (size_t)(colon - p);
    return 1;
}

/* Is p[0..n) a data source: digits with single dots inside? */
static int
name_is_ds(const char *p, size_t n)
{
    if (n == 0 || p[0] == '.' || p[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '.' ? p[i + 1] == '.' : (p[i] < '0' || p[i] > '9'))
            return 0;
    }
    return 1;
}

int
sfa_metric_name_parse(const char *text, sfa_metric_name *out)
{
    sfa_metric_name r;
    const char *p = text, *colon, *dot = NULL;
    size_t n;
    long limit = 0;

    memset(&r, 0, sizeof r);
    if (!text)
        return SFA_EFORMAT;
    if (strncmp(p, "sort:", 5) == 0) {
        p += 5;
        r.sort = 1;
    }
    n = strlen(p);
    if (r.sort && name_limit(p, &n, &limit)) {
        r.sort = limit < 0 ? -1 : 1;
        r.limit = labs(limit);
    }
    if (n == 0 || n >= sizeof r.label)
        return SFA_EFORMAT;
    memcpy(r.label, p, n);
    r.label[n] = '\0';
    p = r.label;
    if ((colon = strchr(p, ':')) != NULL) {
        int agg = name_magg_lookup(p, (size_t)(colon - p));

        if (agg < 0)
            return SFA_EFORMAT;
        r.agg = agg;
        r.has_agg = 1;
        p = colon + 1;
    }
    for (const char *q = p; *q; q++)
        if (*q == '.')
            dot = q;
    if (dot && name_is_ds(p, (size_t)(dot - p))) {
        if ((size_t)(dot - p) >= sizeof r.ds)
            return SFA_EFORMAT;
        memcpy(r.ds, p, (size_t)(dot - p));
        p = dot + 1;
    }
    n = strlen(p);
    if (n == 0 || n >= sizeof r.metric || strchr(p, ':'))
        return SFA_EFORMAT;
    memcpy(r.metric, p, n + 1);
    *out = r;
    return 0;
}

int
sfa_metric_glob(const char *pat, const char *s)
{
    const char *star = NULL, *resume = NULL;

    while (*s) {
        if (*pat == '*') {
            star = pat++;
            resume = s;
        } else if (*pat == *s) {
            pat++;
            s++;
        } else if (star) {
            pat = star + 1;
            s = ++resume;
        } else {
            return 0;
        }
    }
    while (*pat == '*')
        pat++;
    return *pat == '\0';
}

/* ---- the accumulator ---- */

typedef struct macc_best {
    int have;
    int is_text;
    double num;
    char *text, *agent, *ds; /* owned */
    double age;
    size_t ref;
    json_t *extra; /* owned reference (topKeys), or NULL */
} macc_best;

/* A candidate: everything borrowed. */
typedef struct macc_cand {
    int is_text;
    double num;
    const char *text, *agent, *ds;
    double age;
    size_t ref;
    const json_t *extra;
} macc_cand;

struct sfa_metricacc {
    int agg, family;
    size_t n; /* values counted */
    double age_min, age_max;
    macc_best best;
    double sum, mean, m2; /* over the n numbers (moments family) */
    double *v;            /* values family */
    size_t nv, cap;
    int truncated;
};

sfa_metricacc *
sfa_metricacc_create(int agg)
{
    sfa_metricacc *a = sfa_xcalloc(1, sizeof *a);

    a->agg = agg >= 0 && agg < SFA_MAGG__COUNT ? agg : SFA_MAGG_MAX;
    a->family = macc_family(a->agg);
    return a;
}

static void
macc_best_clear(macc_best *b)
{
    free(b->text);
    free(b->agent);
    free(b->ds);
    json_decref(b->extra);
    memset(b, 0, sizeof *b);
}

void
sfa_metricacc_destroy(sfa_metricacc *a)
{
    if (!a)
        return;
    macc_best_clear(&a->best);
    free(a->v);
    free(a);
}

static int
macc_strcmp(const char *x, const char *y)
{
    return strcmp(x ? x : "", y ? y : "");
}

/* Is c better than the current best for a's aggregation? */
static int
macc_better(const sfa_metricacc *a, const macc_cand *c)
{
    const macc_best *b = &a->best;
    int r = 0;

    if (!b->have)
        return 1;
    if (a->agg == SFA_MAGG_ANY) {
        if (c->age != b->age)
            return c->age < b->age;
    } else if (c->is_text != b->is_text) {
        return !c->is_text; /* a number beats a text */
    } else if (c->is_text) {
        r = macc_strcmp(c->text, b->text);
    } else if (c->num != b->num) {
        r = c->num > b->num ? 1 : -1;
    }
    if (r != 0)
        return a->agg == SFA_MAGG_MIN ? r < 0 : r > 0;
    /* Tie: the smaller agent, then data source, so merging is order-free. */
    if ((r = macc_strcmp(c->agent, b->agent)) != 0)
        return r < 0;
    return macc_strcmp(c->ds, b->ds) < 0;
}

static char *
macc_dup(const char *s)
{
    return sfa_xstrdup(s ? s : "");
}

static void
macc_age(sfa_metricacc *a, double age)
{
    if (a->n == 0 || age < a->age_min)
        a->age_min = age;
    if (a->n == 0 || age > a->age_max)
        a->age_max = age;
}

static void
macc_offer(sfa_metricacc *a, const macc_cand *c)
{
    macc_best *b = &a->best;

    if (!macc_better(a, c))
        return;
    macc_best_clear(b);
    b->have = 1;
    b->is_text = c->is_text;
    b->num = c->num;
    b->text = c->is_text ? macc_dup(c->text) : NULL;
    b->agent = macc_dup(c->agent);
    b->ds = macc_dup(c->ds);
    b->age = c->age;
    b->ref = c->ref;
    b->extra = c->extra ? json_incref((json_t *)c->extra) : NULL;
}

static void
macc_push(sfa_metricacc *a, double v)
{
    if (a->nv == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 64;
        a->v = sfa_xrealloc(a->v, a->cap * sizeof *a->v);
    }
    a->v[a->nv++] = v;
}

void
sfa_metricacc_add_num(sfa_metricacc *a, double v, const char *agent, const char *ds, double age_ms,
                      size_t ref)
{
    macc_cand c = {0, v, NULL, agent, ds, age_ms, ref, NULL};
    double d;

    if (!isfinite(v))
        return;
    macc_age(a, age_ms);
    a->n++;
    switch (a->family) {
    case MACC_BEST:
        macc_offer(a, &c);
        break;
    case MACC_MOMENTS:
        d = v - a->mean;
        a->mean += d / (double)a->n;
        a->m2 += d * (v - a->mean);
        a->sum += v;
        break;
    default:
        macc_push(a, v);
        break;
    }
}

void
sfa_metricacc_add_text(sfa_metricacc *a, const char *v, const char *agent, const char *ds,
                       double age_ms, size_t ref)
{
    macc_cand c = {1, 0, v, agent, ds, age_ms, ref, NULL};

    if (a->family != MACC_BEST || !v)
        return;
    macc_age(a, age_ms);
    a->n++;
    macc_offer(a, &c);
}

size_t
sfa_metricacc_count(const sfa_metricacc *a)
{
    return a->n;
}

int
sfa_metricacc_best_ref(const sfa_metricacc *a, size_t *ref)
{
    if (a->family != MACC_BEST || !a->best.have)
        return 0;
    *ref = a->best.ref;
    return 1;
}

static json_t *
macc_ms(double ms)
{
    return json_integer((json_int_t)llround(ms > 0 ? ms : 0));
}

static int
macc_dbl_cmp(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;

    return a < b ? -1 : a > b;
}

/* The values of a partial: sorted, and evenly spaced order statistics when
 * there are more than the cap. */
static json_t *
macc_values_json(sfa_metricacc *a, int *truncated)
{
    json_t *arr = json_array();
    size_t n = a->nv, keep = n < SFA_METRICACC_VALUES_MAX ? n : SFA_METRICACC_VALUES_MAX;

    qsort(a->v, n, sizeof *a->v, macc_dbl_cmp);
    for (size_t i = 0; i < keep; i++) {
        size_t k = keep == n ? i : (keep > 1 ? i * (n - 1) / (keep - 1) : 0);

        json_array_append_new(arr, json_real(a->v[k]));
    }
    *truncated = a->truncated || keep < n;
    return arr;
}

json_t *
sfa_metricacc_partial(const sfa_metricacc *ca, const char *name)
{
    sfa_metricacc *a = (sfa_metricacc *)ca; /* sorting the values is not a change */
    json_t *o = json_object();
    int trunc = 0;

    json_object_set_new(o, "metricName", json_string(name ? name : ""));
    json_object_set_new(o, "agg", json_string(magg_names[a->agg]));
    json_object_set_new(o, "n", json_integer((json_int_t)a->n));
    if (a->n == 0)
        return o;
    json_object_set_new(o, "lastUpdateMin", macc_ms(a->age_min));
    json_object_set_new(o, "lastUpdateMax", macc_ms(a->age_max));
    if (a->family == MACC_BEST && a->best.have) {
        json_object_set_new(o, "agent", json_string(a->best.agent));
        json_object_set_new(o, "dataSource", json_string(a->best.ds));
        json_object_set_new(o, "metricValue",
                            a->best.is_text ? json_string(a->best.text) : json_real(a->best.num));
        json_object_set_new(o, "lastUpdate", macc_ms(a->best.age));
        if (a->best.extra)
            json_object_set(o, "topKeys", a->best.extra);
    } else if (a->family == MACC_MOMENTS) {
        json_object_set_new(o, "sum", json_real(a->sum));
        json_object_set_new(o, "mean", json_real(a->mean));
        json_object_set_new(o, "m2", json_real(a->m2));
    } else if (a->family == MACC_VALUES) {
        json_object_set_new(o, "values", macc_values_json(a, &trunc));
        if (trunc)
            json_object_set_new(o, "truncated", json_true());
    }
    return o;
}

static double
macc_num(const json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

static int
macc_merge_best(sfa_metricacc *a, const json_t *p, double age)
{
    const json_t *v = json_object_get(p, "metricValue");
    macc_cand c = {0};

    if (json_is_string(v)) {
        c.is_text = 1;
        c.text = json_string_value(v);
    } else if (json_is_number(v)) {
        c.num = json_number_value(v);
    } else {
        return SFA_EFORMAT;
    }
    c.agent = json_string_value(json_object_get(p, "agent"));
    c.ds = json_string_value(json_object_get(p, "dataSource"));
    c.age = age;
    c.extra = json_object_get(p, "topKeys");
    macc_offer(a, &c);
    return 0;
}

static void
macc_merge_moments(sfa_metricacc *a, size_t na, const json_t *p, size_t nb)
{
    double meanb = macc_num(p, "mean"), d = meanb - a->mean, n = (double)(na + nb);

    a->mean += d * (double)nb / n;
    a->m2 += macc_num(p, "m2") + d * d * (double)na * (double)nb / n;
    a->sum += macc_num(p, "sum");
}

int
sfa_metricacc_merge(sfa_metricacc *a, const json_t *p)
{
    const char *agg = json_string_value(json_object_get(p, "agg"));
    const json_t *jn = json_object_get(p, "n"), *vals = json_object_get(p, "values"), *x;
    size_t na = a->n, nb, i;
    int rc = 0;

    if (!json_is_object(p) || !agg || strcmp(agg, magg_names[a->agg]) != 0 ||
        !json_is_integer(jn) || json_integer_value(jn) < 0)
        return SFA_EFORMAT;
    nb = (size_t)json_integer_value(jn);
    if (nb == 0)
        return 0;
    if (a->family == MACC_BEST)
        rc = macc_merge_best(a, p, macc_num(p, "lastUpdate"));
    else if (a->family == MACC_VALUES && !json_is_array(vals))
        rc = SFA_EFORMAT;
    if (rc != 0)
        return rc;
    if (a->family == MACC_MOMENTS)
        macc_merge_moments(a, na, p, nb);
    json_array_foreach(vals, i, x)
    {
        if (a->family == MACC_VALUES && json_is_number(x))
            macc_push(a, json_number_value(x));
    }
    if (json_is_true(json_object_get(p, "truncated")))
        a->truncated = 1;
    /* Ages: fold the partial's range in. */
    if (na == 0 || macc_num(p, "lastUpdateMin") < a->age_min)
        a->age_min = macc_num(p, "lastUpdateMin");
    if (na == 0 || macc_num(p, "lastUpdateMax") > a->age_max)
        a->age_max = macc_num(p, "lastUpdateMax");
    a->n = na + nb;
    return 0;
}

/* Quantile p of the sorted v[0..n) by linear interpolation. */
static double
macc_quantile(const double *v, size_t n, double p)
{
    double h = p * (double)(n - 1), lo = floor(h);
    size_t i = (size_t)lo;

    if (i + 1 >= n)
        return v[n - 1];
    return v[i] + (h - lo) * (v[i + 1] - v[i]);
}

static json_t *
macc_value_json(sfa_metricacc *a, json_t *o)
{
    const double *v = a->v;
    size_t n = a->nv;

    switch (a->agg) {
    case SFA_MAGG_SUM:
        return json_real(a->sum);
    case SFA_MAGG_AVG:
        return json_real(a->mean);
    case SFA_MAGG_VAR:
        return json_real(a->m2 / (double)a->n);
    case SFA_MAGG_SDEV:
        return json_real(sqrt(a->m2 / (double)a->n));
    default:
        break;
    }
    if (n == 0)
        return NULL;
    qsort(a->v, n, sizeof *a->v, macc_dbl_cmp);
    switch (a->agg) {
    case SFA_MAGG_MED:
        json_object_set_new(o, "quartiles",
                            json_pack("{s:f, s:f, s:f, s:f, s:f}", "min", v[0], "q1",
                                      macc_quantile(v, n, 0.25), "med", macc_quantile(v, n, 0.5),
                                      "q3", macc_quantile(v, n, 0.75), "max", v[n - 1]));
        return json_real(macc_quantile(v, n, 0.5));
    case SFA_MAGG_Q1:
        return json_real(macc_quantile(v, n, 0.25));
    case SFA_MAGG_Q2:
        return json_real(macc_quantile(v, n, 0.5));
    case SFA_MAGG_Q3:
        return json_real(macc_quantile(v, n, 0.75));
    default: /* IQR */
        return json_real(macc_quantile(v, n, 0.75) - macc_quantile(v, n, 0.25));
    }
}

json_t *
sfa_metricacc_result(const sfa_metricacc *ca, const char *name)
{
    sfa_metricacc *a = (sfa_metricacc *)ca; /* sorting the values is not a change */
    json_t *o = json_object(), *v;

    json_object_set_new(o, "metricName", json_string(name ? name : ""));
    json_object_set_new(o, "metricN", json_integer((json_int_t)a->n));
    if (a->n == 0)
        return o;
    if (a->family == MACC_BEST) {
        if (!a->best.have)
            return o;
        json_object_set_new(o, "agent", json_string(a->best.agent));
        json_object_set_new(o, "dataSource", json_string(a->best.ds));
        json_object_set_new(o, "metricValue",
                            a->best.is_text ? json_string(a->best.text) : json_real(a->best.num));
        json_object_set_new(o, "lastUpdate", macc_ms(a->best.age));
        if (a->best.extra)
            json_object_set(o, "topKeys", a->best.extra);
    } else {
        if (!(v = macc_value_json(a, o)))
            return o;
        json_object_set_new(o, "metricValue", v);
        json_object_set_new(o, "lastUpdate", macc_ms(a->age_min));
    }
    json_object_set_new(o, "lastUpdateMin", macc_ms(a->age_min));
    json_object_set_new(o, "lastUpdateMax", macc_ms(a->age_max));
    return o;
}

/* ---- whole answers ---- */

json_t *
sfa_metricagg_merge_metric(const json_t *const *results, size_t n)
{
    json_t *out = json_array();
    size_t names = 0;

    for (size_t s = 0; s < n; s++)
        if (json_array_size(results[s]) > names)
            names = json_array_size(results[s]);
    for (size_t i = 0; i < names; i++) {
        sfa_metricacc *a = NULL;
        const char *label = NULL;

        for (size_t s = 0; s < n; s++) {
            const json_t *p = json_array_get(results[s], i);
            const char *agg = json_string_value(json_object_get(p, "agg"));
            int k = agg ? name_magg_lookup(agg, strlen(agg)) : -1;

            if (k < 0)
                continue;
            if (!a) {
                a = sfa_metricacc_create(k);
                label = json_string_value(json_object_get(p, "metricName"));
            }
            if (sfa_metricacc_merge(a, p) != 0)
                continue; /* a malformed partial counts as absent */
        }
        if (a) {
            json_array_append_new(out, sfa_metricacc_result(a, label));
            sfa_metricacc_destroy(a);
        }
    }
    return out;
}

json_t *
sfa_metricagg_merge_metrics(const json_t *const *results, size_t n)
{
    json_t *out = json_object();

    for (size_t s = 0; s < n; s++) {
        const char *k;
        json_t *v, *have;

        if (!json_is_object(results[s]))
            continue;
        json_object_foreach((json_t *)results[s], k, v)
        {
            if (!json_is_number(v))
                continue;
            have = json_object_get(out, k);
            if (!have || json_number_value(v) < json_number_value(have))
                json_object_set(out, k, v);
        }
    }
    return out;
}

json_t *
sfa_metricagg_merge_agent(const json_t *const *results, size_t n)
{
    json_t *out = json_object();

    for (size_t s = 0; s < n; s++)
        if (json_is_object(results[s]))
            json_object_update_missing(out, (json_t *)results[s]);
    return out;
}

static int
magg_str_member_cmp(const json_t *x, const json_t *y, const char *k)
{
    return macc_strcmp(json_string_value(json_object_get(x, k)),
                       json_string_value(json_object_get(y, k)));
}

static int
magg_dump_cmp(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int r = magg_str_member_cmp(x, y, "agent");

    if (!r)
        r = magg_str_member_cmp(x, y, "dataSource");
    if (!r)
        r = magg_str_member_cmp(x, y, "metricName");
    return r;
}

/* Replace arr's members by v[0..n) in that order (n <= size, refs kept). */
static void
magg_refill(json_t *arr, json_t **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_incref(v[i]);
    json_array_clear(arr);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, v[i]);
}

json_t *
sfa_metricagg_merge_dump(const json_t *const *results, size_t n)
{
    json_t *out = json_array(), **v;
    size_t total;

    for (size_t s = 0; s < n; s++)
        if (json_is_array(results[s]))
            json_array_extend(out, (json_t *)results[s]);
    total = json_array_size(out);
    if (total < 2)
        return out;
    v = sfa_xmalloc(total * sizeof *v);
    for (size_t i = 0; i < total; i++)
        v[i] = json_array_get(out, i);
    qsort(v, total, sizeof *v, magg_dump_cmp);
    magg_refill(out, v, total);
    free(v);
    return out;
}

typedef struct magg_sort {
    size_t col;
    int dir;
} magg_sort;

static magg_sort magg_sort_by; /* qsort has no argument; callers are sequential */

static int
magg_row_cmp(const void *a, const void *b)
{
    const json_t *x = json_array_get(*(json_t *const *)a, magg_sort_by.col);
    const json_t *y = json_array_get(*(json_t *const *)b, magg_sort_by.col);
    const json_t *vx = json_object_get(x, "metricValue"), *vy = json_object_get(y, "metricValue");
    int nx = json_is_number(vx), ny = json_is_number(vy), r = 0;

    if (nx != ny)
        return nx ? -1 : 1; /* rows without a number go last either way */
    if (nx && json_number_value(vx) != json_number_value(vy))
        r = json_number_value(vx) < json_number_value(vy) ? -1 : 1;
    else if (!nx && json_is_string(vx) && json_is_string(vy))
        r = strcmp(json_string_value(vx), json_string_value(vy));
    if (r)
        return r * magg_sort_by.dir;
    r = magg_str_member_cmp(x, y, "agent");
    return r ? r : magg_str_member_cmp(x, y, "dataSource");
}

void
sfa_metricagg_table_sort(json_t *rows, const json_t *names)
{
    size_t i, nrows = json_array_size(rows), keep;
    const json_t *nm;
    json_t **v;
    sfa_metric_name mn;
    long limit = 0;
    int found = 0;

    json_array_foreach(names, i, nm)
    {
        if (json_is_string(nm) && sfa_metric_name_parse(json_string_value(nm), &mn) == 0 &&
            mn.sort) {
            magg_sort_by = (magg_sort){i, mn.sort};
            limit = mn.limit;
            found = 1;
            break;
        }
    }
    if (!found || nrows == 0)
        return;
    v = sfa_xmalloc(nrows * sizeof *v);
    for (i = 0; i < nrows; i++)
        v[i] = json_array_get(rows, i);
    qsort(v, nrows, sizeof *v, magg_row_cmp);
    keep = limit > 0 && (size_t)limit < nrows ? (size_t)limit : nrows;
    magg_refill(rows, v, keep);
    free(v);
}

json_t *
sfa_metricagg_merge_table(const json_t *const *results, size_t n, const json_t *names)
{
    json_t *out = json_array();

    for (size_t s = 0; s < n; s++)
        if (json_is_array(results[s]))
            json_array_extend(out, (json_t *)results[s]);
    sfa_metricagg_table_sort(out, names);
    return out;
}
