/* promflows.c - top flows as Prometheus series, the way sFlow-RT's
 * prometheus app serves them (spec section 6.2):
 *
 *   GET /app/prometheus/scripts/export.js/flows/{agent}/txt
 *       ?metric=<name>&key=<k1>&key=<k2>&label=<l1>&label=<l2>&value=bytes
 *       [&filter=][&n=10][&t=15][&dropped=false][&aggMode=max]
 *       [&maxFlows=20][&minValue=0.1][&scale=1]
 *   ->  <metric>{l1="v1",l2="v2"} <flow value x scale>
 *
 * The first scrape of a (keys, value, filter, n, t, dropped) tuple creates
 * a hidden flow definition prometheus_<N> (keys joined with ',', fs
 * "_SEP_"); later scrapes reuse it, and one nobody scraped for 300 s is
 * removed. Hidden definitions are published to the aggregators in defs.v1
 * beside the stored ones (gw_defs_pub_add_extra) but neither persisted nor
 * listed by /flow/json, like the app's. Each scrape surveys activeflows of
 * that definition (aggMode max, or sum for dropped; maxFlows; minValue)
 * and prints one series per flow; label names default to the key names,
 * made valid label names. A first scrape has no series until samples
 * arrive. Unlike the app, label values are escaped and a key/label count
 * mismatch is a 400 (the app fails with a 500).
 *
 * Loop thread only.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sfa/clock.h>
#include <sfa/log.h>
#include <sfa/mem.h>

#include "metricq.h"

#define PF_IDLE_MS (300 * 1000) /* unused this long: removed */
#define PF_SWEEP_MS 5000
#define PF_MAX_DEFS 256
#define PF_KEYS_MAX 16
#define PF_ARG_MAX 1024
#define PF_SEP "_SEP_"

typedef struct pf_def {
    char name[32];
    char *tuple; /* the spec, compact with sorted keys */
    uint64_t used_ms;
    struct pf_def *next;
} pf_def;

struct gw_promflows {
    gw_ctx *g;
    uv_timer_t timer;
    json_t *specs; /* {name: spec}: what defs.v1 carries */
    pf_def *defs;
    size_t ndefs;
    unsigned next_id;
};

/* One scrape waiting for its survey. */
typedef struct pf_req {
    gw_hold *h;
    char *metric;
    json_t *labels; /* label names, one per key */
    int agg_sum;
    long max_flows;
    double min_value, scale;
} pf_req;

/* ---- the hidden definitions ---- */

static json_t *
pf_flows(void *arg)
{
    return ((gw_promflows *)arg)->specs;
}

static void
pf_publish(gw_promflows *p)
{
    if (gw_state_bump(p->g->state) != 0)
        SFA_FINE("prometheus: version raised but not yet persisted");
    if (p->g->defs)
        gw_defs_pub_changed(p->g->defs);
}

static void
pf_sweep(uv_timer_t *t)
{
    gw_promflows *p = t->data;
    uint64_t now = sfa_clock_ms();
    pf_def **pp = &p->defs, *d;
    int removed = 0;

    while ((d = *pp) != NULL) {
        if (now - d->used_ms < PF_IDLE_MS) {
            pp = &d->next;
            continue;
        }
        *pp = d->next;
        json_object_del(p->specs, d->name);
        SFA_FINE("prometheus: %s removed (not scraped for %d s)", d->name, PF_IDLE_MS / 1000);
        free(d->tuple);
        free(d);
        p->ndefs--;
        removed = 1;
    }
    if (removed)
        pf_publish(p);
}

/* The definition of spec (borrowed), found or created; NULL when there
 * are too many. */
static pf_def *
pf_def_get(gw_promflows *p, json_t *spec)
{
    char *tuple = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS);
    pf_def *d;

    for (d = p->defs; d; d = d->next)
        if (strcmp(d->tuple, tuple) == 0)
            break;
    if (d || p->ndefs >= PF_MAX_DEFS) {
        free(tuple);
        return d;
    }
    d = sfa_xcalloc(1, sizeof *d);
    d->tuple = tuple;
    do
        snprintf(d->name, sizeof d->name, "prometheus_%u", p->next_id++);
    while (gw_state_spec(p->g->state, GW_FLOWS, d->name) || json_object_get(p->specs, d->name));
    json_object_set(p->specs, d->name, spec);
    d->next = p->defs;
    p->defs = d;
    p->ndefs++;
    SFA_FINE("prometheus: %s = %s", d->name, tuple);
    pf_publish(p);
    return d;
}

/* ---- arguments ---- */

/* Query parameter key (idx-th) into out: 1 present, 0 absent, -1 after
 * answering 400. */
static int
pf_arg(gw_req *r, const char *key, int idx, char *out, size_t cap)
{
    int rc = gw_req_query(r, key, idx, out, cap);

    if (rc < 0) {
        gw_reply_error(r, 400, "%s is badly escaped or longer than %zu bytes", key, cap - 1);
        return -1;
    }
    return rc;
}

/* A numeric parameter in [lo, hi] (integer when integral): 0 absent (*v
 * untouched), 1, or -1 after answering 400. */
static int
pf_arg_num(gw_req *r, const char *key, double lo, double hi, int integral, double *v)
{
    char buf[64], *end;
    int rc = pf_arg(r, key, 0, buf, sizeof buf);
    double x;

    if (rc <= 0)
        return rc;
    x = strtod(buf, &end);
    if (buf[0] == '\0' || *end != '\0' || !isfinite(x) || x < lo || x > hi ||
        (integral && x != floor(x))) {
        gw_reply_error(r, 400, "%s must be %s from %g to %g", key,
                       integral ? "an integer" : "a number", lo, hi);
        return -1;
    }
    *v = x;
    return 1;
}

/* A label name from text: bytes outside [A-Za-z0-9_] become '_', a
 * leading digit gets a '_' before it. Returns new. */
static json_t *
pf_label_name(const char *text)
{
    char buf[PF_ARG_MAX + 2];
    size_t o = 0;

    if (text[0] >= '0' && text[0] <= '9')
        buf[o++] = '_';
    for (const char *s = text; *s && o < sizeof buf - 1; s++)
        buf[o++] = ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
                    (*s >= '0' && *s <= '9') || *s == '_')
                       ? *s
                       : '_';
    if (o == 0)
        buf[o++] = '_';
    buf[o] = '\0';
    return json_string(buf);
}

/* keys joined with ',' (returned new) and the label names (*labels new).
 * NULL after answering 400. */
static char *
pf_keys(gw_req *r, json_t **labels)
{
    char buf[PF_ARG_MAX], lab[PF_ARG_MAX];
    gw_text keys = {NULL, 0, 0};
    int nkeys = 0, nlabels = 0, rc;

    *labels = json_array();
    for (; nkeys < PF_KEYS_MAX && (rc = pf_arg(r, "key", nkeys, buf, sizeof buf)) != 0; nkeys++) {
        if (rc < 0)
            goto fail;
        if (buf[0] == '\0') {
            gw_reply_error(r, 400, "key must not be empty");
            goto fail;
        }
        gw_text_addf(&keys, "%s%s", nkeys ? "," : "", buf);
        if ((rc = pf_arg(r, "label", nkeys, lab, sizeof lab)) < 0)
            goto fail;
        nlabels += rc;
        json_array_append_new(*labels, pf_label_name(rc && lab[0] ? lab : buf));
    }
    if (nkeys == 0) {
        gw_reply_error(r, 400, "key is required (repeat it for several keys)");
        goto fail;
    }
    if ((nlabels > 0 && nlabels != nkeys) || pf_arg(r, "label", nkeys, lab, sizeof lab) != 0) {
        gw_reply_error(r, 400, "%d keys but a different number of labels", nkeys);
        goto fail;
    }
    return keys.buf;
fail:
    gw_text_free(&keys);
    json_decref(*labels);
    *labels = NULL;
    return NULL;
}

/* The hidden definition's spec from the query (new), with q's answer
 * settings filled in. NULL after answering 400. */
static json_t *
pf_spec(gw_req *r, pf_req *q)
{
    char value[PF_ARG_MAX], filter[PF_ARG_MAX], mode[16], dropped[16], err[512];
    double n = 10, t = 15, max_flows = 20, min_value = 0.1, scale = 1;
    json_t *spec, *view = NULL;
    char *keys = pf_keys(r, &q->labels);
    int rc, drop = 0;

    if (!keys)
        return NULL;
    spec = NULL;
    if ((rc = pf_arg(r, "value", 0, value, sizeof value)) <= 0 || !value[0]) {
        if (rc >= 0)
            gw_reply_error(r, 400, "value is required (bytes, frames, ...)");
        goto out;
    }
    if ((rc = pf_arg(r, "dropped", 0, dropped, sizeof dropped)) < 0)
        goto out;
    drop = rc && strcasecmp(dropped, "true") == 0;
    if ((rc = pf_arg(r, "aggMode", 0, mode, sizeof mode)) < 0)
        goto out;
    q->agg_sum = rc ? strcasecmp(mode, "sum") == 0 : drop;
    if (rc && !q->agg_sum && strcasecmp(mode, "max") != 0) {
        gw_reply_error(r, 400, "aggMode must be max or sum");
        goto out;
    }
    if ((rc = pf_arg(r, "filter", 0, filter, sizeof filter)) < 0 ||
        pf_arg_num(r, "n", 1, 10000, 1, &n) < 0 || pf_arg_num(r, "t", 0.001, 86400, 0, &t) < 0 ||
        pf_arg_num(r, "maxFlows", 0, 100000, 1, &max_flows) < 0 ||
        pf_arg_num(r, "minValue", -1e300, 1e300, 0, &min_value) < 0 ||
        pf_arg_num(r, "scale", -1e300, 1e300, 0, &scale) < 0)
        goto out;
    if (rc == 0)
        filter[0] = '\0';
    q->max_flows = (long)max_flows;
    q->min_value = min_value;
    q->scale = scale;
    spec = json_pack("{s:s, s:s, s:I, s:f, s:s}", "keys", keys, "value", value, "n", (json_int_t)n,
                     "t", t, "fs", PF_SEP);
    if (spec && filter[0] && json_object_set_new(spec, "filter", json_string(filter)) != 0) {
        json_decref(spec); /* the filter is not UTF-8 */
        spec = NULL;
    }
    if (spec && drop)
        json_object_set_new(spec, "dropped", json_true());
    if (!spec || gw_defs_check(GW_FLOWS, spec, &view, err, sizeof err) != 0) {
        gw_reply_error(r, 400, "bad flow: %s", spec ? err : "not valid text");
        json_decref(spec);
        spec = NULL;
    }
    json_decref(view);
out:
    free(keys);
    return spec;
}

/* ---- the scrape ---- */

static void
pf_req_free(pf_req *q)
{
    free(q->metric);
    json_decref(q->labels);
    free(q);
}

/* One flow as a series; flows whose key does not split into one value per
 * label are left out. */
static void
pf_line(const pf_req *q, gw_text *t, const json_t *e)
{
    const char *key = json_string_value(json_object_get(e, "key"));
    const json_t *v = json_object_get(e, "value");
    size_t nl = json_array_size(q->labels), i = 0, sep = strlen(PF_SEP);
    gw_text line = {NULL, 0, 0};
    char part[PF_ARG_MAX];

    if (!key || !json_is_number(v))
        return;
    gw_prom_name(&line, "", q->metric);
    gw_text_add(&line, "{", 1);
    for (const char *p = key; i < nl; i++) {
        const char *end = strstr(p, PF_SEP);
        size_t len = end ? (size_t)(end - p) : strlen(p);

        if ((end == NULL) != (i + 1 == nl) || len >= sizeof part)
            goto out;
        memcpy(part, p, len);
        part[len] = '\0';
        gw_prom_label(&line, i == 0, json_string_value(json_array_get(q->labels, i)), part);
        p = end ? end + sep : p + len;
    }
    gw_text_add(&line, "} ", 2);
    gw_prom_value(&line, json_number_value(v) * q->scale);
    gw_text_add(&line, "\n", 1);
    gw_text_move(t, &line);
out:
    gw_text_free(&line);
}

static void
pf_done(gw_ctx *g, json_t *const *answers, size_t n, int failed, void *arg)
{
    pf_req *q = arg;
    const json_t **res;
    json_t *flows, *e;
    gw_text t = {NULL, 0, 0};
    size_t i;

    if (failed) {
        gw_hold_reply_error(q->h, 503, "query failed: the bus is closing");
    } else if (!gw_hold_alive(q->h)) {
        gw_hold_reply_json(q->h, 200, json_null()); /* dropped: the client left */
    } else {
        res = gw_mq_results(answers, n);
        flows = gw_merge_activeflows((json_t *const *)res, n, q->agg_sum, q->max_flows,
                                     q->min_value, &g->mst);
        free(res);
        json_array_foreach(flows, i, e)
        {
            if (i == 0) {
                gw_text_adds(&t, "# HELP ");
                gw_prom_name(&t, "", q->metric);
                gw_text_adds(&t, " top flows (sFlow-RT prometheus app)\n");
            }
            pf_line(q, &t, e);
        }
        json_decref(flows);
        gw_hold_reply_text(q->h, 200, gw_text_str(&t));
        gw_text_free(&t);
    }
    pf_req_free(q);
}

int
gw_promflows_route(gw_req *r, void *arg)
{
    gw_ctx *g = arg;
    gw_promflows *p = g->promflows;
    char metric[PF_ARG_MAX], err[256];
    pf_req *q;
    json_t *spec, *agents = NULL, *body;
    pf_def *d;
    int rc;

    if (!p) {
        gw_reply_error(r, 503, "shutting down");
        return GW_DONE;
    }
    if (gw_agents_parse(gw_req_param(r, "agent"), &agents, err, sizeof err) != 0) {
        gw_reply_error(r, 400, "%s", err);
        return GW_DONE;
    }
    if ((rc = pf_arg(r, "metric", 0, metric, sizeof metric)) <= 0 || !metric[0]) {
        if (rc >= 0)
            gw_reply_error(r, 400, "metric is required (the series' name)");
        json_decref(agents);
        return GW_DONE;
    }
    q = sfa_xcalloc(1, sizeof *q);
    q->metric = sfa_xstrdup(metric);
    if ((spec = pf_spec(r, q)) == NULL) {
        json_decref(agents);
        pf_req_free(q);
        return GW_DONE;
    }
    d = pf_def_get(p, spec);
    json_decref(spec);
    if (!d) {
        json_decref(agents);
        pf_req_free(q);
        gw_reply_error(r, 503, "too many flow exports at once (%d)", PF_MAX_DEFS);
        return GW_DONE;
    }
    d->used_ms = sfa_clock_ms();
    body = json_pack("{s:s, s:s, s:o, s:I, s:f, s:s}", "op", "activeflows", "name", d->name,
                     "agents", agents, "maxFlows", (json_int_t)q->max_flows, "minValue",
                     q->min_value, "aggMode", q->agg_sum ? "sum" : "max");
    if ((rc = gw_mq_start(g, body, 0, pf_done, q)) != 0) {
        pf_req_free(q);
        gw_reply_error(r, 503, "%s",
                       rc == SFA_ELIMIT ? "too many queries in flight" : "shutting down");
        return GW_DONE;
    }
    q->h = gw_req_hold(r);
    return GW_PENDING;
}

/* ---- life cycle ---- */

int
gw_promflows_open(gw_promflows **out, gw_ctx *g)
{
    gw_promflows *p = sfa_xcalloc(1, sizeof *p);

    p->g = g;
    p->specs = json_object();
    (void)uv_timer_init(g->loop, &p->timer);
    p->timer.data = p;
    (void)uv_timer_start(&p->timer, pf_sweep, PF_SWEEP_MS, PF_SWEEP_MS);
    if (g->defs)
        gw_defs_pub_add_extra(g->defs, pf_flows, p);
    *out = p;
    return 0;
}

static void
pf_closed(uv_handle_t *h)
{
    gw_promflows *p = h->data;

    json_decref(p->specs);
    free(p);
}

void
gw_promflows_close(gw_promflows *p)
{
    pf_def *d, *next;

    if (!p)
        return;
    if (p->g->defs)
        gw_defs_pub_del_extra(p->g->defs, p);
    for (d = p->defs; d; d = next) {
        next = d->next;
        free(d->tuple);
        free(d);
    }
    p->defs = NULL;
    uv_close((uv_handle_t *)&p->timer, pf_closed);
}
