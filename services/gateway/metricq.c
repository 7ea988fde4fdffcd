/* metricq.c - arguments, surveys and Prometheus text for the metric routes
 * (metricq.h).
 *
 * Names and filters are checked here, before anything is surveyed, so a
 * bad request is a 400 from the gateway and never reaches an aggregator.
 * A survey is started on the gateway's surveyor and completes with the
 * decoded answers to its op; answers that do not decode, or answer
 * another op, are counted (g->qst.answers_bad) and left out.
 *
 * The text helpers only append: a Prometheus answer is built family by
 * family into gw_text buffers and sent once.
 *
 * Loop thread only.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/mem.h>
#include <sfa/metricagg.h>

#include "metricq.h"

#define MQ_SRC "gateway"
#define MQ_NAMES_MAX 256   /* names in one list */
#define MQ_FILTER_MAX 4096 /* filter patterns in one request */

/* ---- arguments ---- */

static int
mq_name_one(const char *tok, int allow_sort, int allow_agg, char *err, size_t errcap)
{
    sfa_metric_name mn;

    if (sfa_metric_name_parse(tok, &mn) != 0) {
        snprintf(err, errcap,
                 "bad metric name '%.128s': [sort:][<agg>:][<dataSource>.]<metric>"
                 " with agg one of max min sum avg var sdev med q1 q2 q3 iqr any",
                 tok);
        return SFA_EFORMAT;
    }
    if (mn.sort && !allow_sort) {
        snprintf(err, errcap, "bad metric name '%.128s': sort: is for table columns", tok);
        return SFA_EFORMAT;
    }
    if (mn.has_agg && !allow_agg) {
        snprintf(err, errcap, "bad metric name '%.128s': no aggregation prefix here", tok);
        return SFA_EFORMAT;
    }
    return 0;
}

int
gw_mq_names(const char *list, int allow_sort, int allow_agg, int allow_all, json_t **out, char *err,
            size_t errcap)
{
    json_t *names = json_array();
    char tok[SFA_METRIC_NAME_MAX + SFA_METRIC_DS_MAX + 32];
    const char *p = list;

    for (;;) {
        size_t n = strcspn(p, ",;");

        if (n == 0 || n >= sizeof tok) {
            snprintf(err, errcap, "bad metric list: %s", n ? "name too long" : "empty name");
            goto fail;
        }
        if (json_array_size(names) >= MQ_NAMES_MAX) {
            snprintf(err, errcap, "bad metric list: more than %d names", MQ_NAMES_MAX);
            goto fail;
        }
        memcpy(tok, p, n);
        tok[n] = '\0';
        if (!(allow_all && strcmp(tok, "ALL") == 0) &&
            mq_name_one(tok, allow_sort, allow_agg, err, errcap) != 0)
            goto fail;
        json_array_append_new(names, json_string(tok));
        if (p[n] == '\0')
            break;
        p += n + 1;
    }
    if (allow_all && json_array_size(names) > 1) {
        size_t i;
        json_t *v;

        json_array_foreach(names, i, v)
        {
            if (strcmp(json_string_value(v), "ALL") == 0) {
                snprintf(err, errcap, "bad metric list: ALL stands alone");
                goto fail;
            }
        }
    }
    *out = names;
    return 0;
fail:
    json_decref(names);
    return SFA_EFORMAT;
}

/* Could s be a metric name (or a qualified one)? */
static int
mq_attr_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n >= SFA_METRIC_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

static int
mq_skipped(const char *name, const char *const *skip)
{
    if (name[0] == '_')
        return 1;
    for (; skip && *skip; skip++)
        if (strcmp(*skip, name) == 0)
            return 1;
    return 0;
}

/* Add one "name=value" pair (undecoded, len bytes) to filter f. */
static int
mq_filter_pair(json_t *f, const char *p, size_t len, const char *const *skip, char *err,
               size_t errcap)
{
    const char *eq = memchr(p, '=', len);
    size_t klen = eq ? (size_t)(eq - p) : len;
    char name[SFA_METRIC_NAME_MAX], *value;
    json_t *list, *pattern;
    int rc;

    if (len == 0)
        return 0;
    if (gw_url_decode(p, klen, name, sizeof name, 1) != 0) {
        snprintf(err, errcap, "bad query parameter name (escape or length)");
        return SFA_EFORMAT;
    }
    if (mq_skipped(name, skip))
        return 0;
    if (!mq_attr_valid(name)) {
        snprintf(err, errcap, "bad filter '%.64s': not a metric name", name);
        return SFA_EFORMAT;
    }
    value = sfa_xmalloc(GW_MQ_FILTER_VALUE_MAX);
    rc = gw_url_decode(eq ? eq + 1 : "", eq ? len - klen - 1 : 0, value, GW_MQ_FILTER_VALUE_MAX, 1);
    if (rc != 0 || !(pattern = json_string(value))) {
        snprintf(err, errcap, "bad filter value of '%.64s' (escape, UTF-8 or over %d bytes)", name,
                 GW_MQ_FILTER_VALUE_MAX - 1);
        free(value);
        return SFA_EFORMAT;
    }
    if (!(list = json_object_get(f, name))) {
        list = json_array();
        json_object_set_new(f, name, list);
    }
    json_array_append_new(list, pattern);
    free(value);
    return 0;
}

int
gw_mq_filter(gw_req *r, const char *const *skip, json_t **out, char *err, size_t errcap)
{
    size_t len, count = 0;
    const char *qs = gw_req_query_string(r, &len), *end = qs + len, *p = qs;
    json_t *f = json_object();

    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pe = amp ? amp : end;

        if (++count > MQ_FILTER_MAX) {
            snprintf(err, errcap, "too many query parameters (over %d)", MQ_FILTER_MAX);
            goto fail;
        }
        if (mq_filter_pair(f, p, (size_t)(pe - p), skip, err, errcap) != 0)
            goto fail;
        p = pe + 1;
    }
    if (json_object_size(f) == 0) {
        json_decref(f);
        f = NULL;
    }
    *out = f;
    return 0;
fail:
    json_decref(f);
    return SFA_EFORMAT;
}

/* ---- surveys ---- */

typedef struct mq_survey {
    gw_ctx *g;
    char op[32];
    gw_mq_done done;
    void *arg;
} mq_survey;

static void
mq_survey_done(const sfa_survey_result *res, void *arg)
{
    mq_survey *s = arg;
    gw_ctx *g = s->g;
    json_t **answers = sfa_xcalloc(res->nanswers ? res->nanswers : 1, sizeof *answers);
    size_t k = 0;

    if (res->status == -ETIMEDOUT)
        g->qst.query_timeouts++;
    if (res->expected > res->nanswers)
        g->qst.answers_missing += res->expected - res->nanswers;
    for (size_t i = 0; i < res->nanswers; i++) {
        json_t *b = sfa_survey_msg_json(res->answers[i].msg, res->answers[i].len);
        const char *op = json_string_value(json_object_get(b, "op"));

        if (!b || !op || strcmp(op, s->op) != 0 || !json_object_get(b, "result")) {
            g->qst.answers_bad++;
            json_decref(b);
            continue;
        }
        answers[k++] = b;
    }
    s->done(g, answers, k, res->status == SFA_EBUS && res->nanswers == 0 && res->expected > 0,
            s->arg);
    for (size_t i = 0; i < k; i++)
        json_decref(answers[i]);
    free(answers);
    free(s);
}

int
gw_mq_start(gw_ctx *g, json_t *body, int timeout_ms, gw_mq_done done, void *arg)
{
    const char *op = json_string_value(json_object_get(body, "op"));
    mq_survey *s;
    int rc;

    if (!g->sv || g->stopping) {
        json_decref(body);
        return -ESHUTDOWN;
    }
    s = sfa_xcalloc(1, sizeof *s);
    s->g = g;
    snprintf(s->op, sizeof s->op, "%s", op ? op : "");
    s->done = done;
    s->arg = arg;
    g->qst.queries++;
    rc = sfa_survey_start_json(g->sv, MQ_SRC, body,
                               timeout_ms > 0 ? timeout_ms : (int)g->cfg->query_timeout_ms,
                               mq_survey_done, s);
    json_decref(body);
    if (rc != 0) {
        g->qst.busy++;
        free(s);
        return SFA_ELIMIT;
    }
    return 0;
}

int
gw_mq_bulk_timeout(const gw_ctx *g)
{
    return g->cfg->query_timeout_ms > GW_MQ_BULK_MS ? (int)g->cfg->query_timeout_ms : GW_MQ_BULK_MS;
}

const json_t **
gw_mq_results(json_t *const *answers, size_t n)
{
    const json_t **out = sfa_xcalloc(n ? n : 1, sizeof *out);

    for (size_t i = 0; i < n; i++)
        out[i] = json_object_get(answers[i], "result");
    return out;
}

/* ---- text ---- */

static void
text_reserve(gw_text *t, size_t more)
{
    size_t need = t->len + more + 1;

    if (need <= t->cap)
        return;
    t->cap = t->cap ? t->cap : 4096;
    while (t->cap < need)
        t->cap *= 2;
    t->buf = sfa_xrealloc(t->buf, t->cap);
}

void
gw_text_add(gw_text *t, const char *s, size_t n)
{
    text_reserve(t, n);
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

void
gw_text_adds(gw_text *t, const char *s)
{
    gw_text_add(t, s, strlen(s));
}

void
gw_text_addf(gw_text *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    text_reserve(t, (size_t)n);
    va_start(ap, fmt);
    (void)vsnprintf(t->buf + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

void
gw_text_move(gw_text *dst, gw_text *src)
{
    if (!dst->buf) {
        *dst = *src;
    } else if (src->len) {
        gw_text_add(dst, src->buf, src->len);
        free(src->buf);
    } else {
        free(src->buf);
    }
    memset(src, 0, sizeof *src);
}

const char *
gw_text_str(const gw_text *t)
{
    return t->buf ? t->buf : "";
}

void
gw_text_free(gw_text *t)
{
    free(t->buf);
    memset(t, 0, sizeof *t);
}

void
gw_prom_name(gw_text *t, const char *prefix, const char *name)
{
    size_t n = strlen(name), start;

    gw_text_adds(t, prefix);
    if ((!prefix[0] && (name[0] >= '0' && name[0] <= '9')) || (!prefix[0] && !name[0]))
        gw_text_add(t, "_", 1);
    start = t->len;
    gw_text_add(t, name, n);
    for (size_t i = start; i < t->len; i++) {
        char c = t->buf[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_'))
            t->buf[i] = '_';
    }
}

void
gw_prom_label(gw_text *t, int first, const char *key, const char *value)
{
    const char *p = value, *run = value;

    if (!first)
        gw_text_add(t, ",", 1);
    gw_text_adds(t, key);
    gw_text_add(t, "=\"", 2);
    for (; *p; p++) {
        const char *esc = *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : *p == '\n' ? "\\n" : NULL;

        if (!esc)
            continue;
        gw_text_add(t, run, (size_t)(p - run));
        gw_text_add(t, esc, 2);
        run = p + 1;
    }
    gw_text_add(t, run, (size_t)(p - run));
    gw_text_add(t, "\"", 1);
}

void
gw_prom_value(gw_text *t, double v)
{
    char buf[40];

    if (isnan(v)) {
        gw_text_add(t, "NaN", 3);
        return;
    }
    if (isinf(v)) {
        gw_text_adds(t, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    /* Integers (counts, ifIndex, speeds) print exactly and short. */
    if (v == floor(v) && fabs(v) < 1e15) {
        gw_text_addf(t, "%.0f", v);
        return;
    }
    snprintf(buf, sizeof buf, "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, sizeof buf, "%.17g", v);
    gw_text_adds(t, buf);
}
