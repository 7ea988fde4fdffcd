/* route_prometheus.c - Prometheus text exposition of sFlow-RT's metrics
 * and of sfa's own counters (spec section 6).
 *
 *   GET /prometheus/metrics/{agent}/{metric}/txt   counter metrics: {metric}
 *       is a list or ALL, query parameters filter data sources as in
 *       /dump. One series per data source and numeric metric:
 *         sflow_ifinoctets{agent="10.0.0.1",datasource="3",host="leaf1",ifname="swp3"} 1234.5
 *       named prometheus.metric.prefix (sflow_) + the metric with every
 *       byte outside [A-Za-z0-9_] turned into '_'; host is the agent's
 *       host_name (host data source 2.x) and ifname the interface's, when
 *       known. Texts are left out, and so are flow metrics under ALL.
 *   GET /prometheus/analyzer/txt     /analyzer/json's numbers, as
 *                                    sflow_analyzer_<name>
 *   GET /sfa/v1/metrics              every service's counters (the
 *                                    numbers of /sfa/v1/stats) as
 *                                    sfa_<service>_<counter>{service,id}
 *   GET /app/prometheus/scripts/export.js/flows/{agent}/txt   top flows,
 *                                    as sFlow-RT's prometheus app (promflows.c)
 *
 * Every family has a "# HELP" line (the exposition format's linters want
 * one) and, with prometheus.type=yes, "# TYPE <name> gauge": values are
 * rates and gauges already, never counters to rate(). Names of sfa's own
 * counters are made lint-clean: snake_case, time units in seconds
 * (uptime_ms -> uptime_seconds), no type words (counter -> counters).
 *
 * /prometheus/metrics is answered in steps, each a survey of every
 * aggregator: the metric names (for ALL) with the host and interface
 * names; then one dump per metric, at most PROM_WINDOW at a time, each
 * rendered into its family's text as it arrives so only one metric's
 * answers are ever held as JSON. Per metric a dump stays far below an
 * aggregator's answer cap whatever the number of agents.
 *
 * Loop thread only.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/mem.h>
#include <sfa/metricagg.h>

#include "metricq.h"

#define PROM_WINDOW 2 /* dump surveys in flight per request */

enum { PROM_NAMES, PROM_HOSTS, PROM_IFNAMES, PROM_VALUES };

typedef struct prom_job {
    gw_ctx *g;
    gw_hold *h;
    json_t *agents; /* "ALL" or an array, as surveyed */
    json_t *filter; /* or NULL */
    json_t *names;  /* metric names to dump, in output order */
    int all;
    int failed; /* 503 once everything in flight is back */
    int pending;
    size_t next;     /* next name to survey */
    json_t *hosts;   /* {agent: host_name} */
    json_t *ifnames; /* {"agent ds": ifname} */
    gw_text *fams;   /* one text per name */
} prom_job;

typedef struct prom_call {
    prom_job *j;
    int kind;
    size_t idx; /* PROM_VALUES: the name */
} prom_call;

static void prom_pump(prom_job *j);

static void
prom_job_free(prom_job *j)
{
    for (size_t i = 0; j->fams && i < json_array_size(j->names); i++)
        gw_text_free(&j->fams[i]);
    free(j->fams);
    json_decref(j->agents);
    json_decref(j->filter);
    json_decref(j->names);
    json_decref(j->hosts);
    json_decref(j->ifnames);
    free(j);
}

/* ---- a set of (agent, data source) seen, for duplicate series ---- */

typedef struct prom_seen {
    uint64_t *slot; /* 0 = empty */
    size_t cap, n;
} prom_seen;

static uint64_t
prom_hash(const char *a, const char *b)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *a; a++)
        h = (h ^ (uint8_t)*a) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL;
    for (; *b; b++)
        h = (h ^ (uint8_t)*b) * 1099511628211ULL;
    return h ? h : 1;
}

/* 1 if (a, b) was added before, else add it and return 0. */
static int
prom_seen_add(prom_seen *s, const char *a, const char *b)
{
    uint64_t h = prom_hash(a, b);
    size_t i;

    if (2 * (s->n + 1) > s->cap) {
        prom_seen big = {sfa_xcalloc(s->cap ? s->cap * 2 : 1024, sizeof *big.slot),
                         s->cap ? s->cap * 2 : 1024, 0};

        for (i = 0; i < s->cap; i++) {
            size_t k = s->slot[i] & (big.cap - 1);

            if (!s->slot[i])
                continue;
            while (big.slot[k])
                k = (k + 1) & (big.cap - 1);
            big.slot[k] = s->slot[i];
            big.n++;
        }
        free(s->slot);
        *s = big;
    }
    for (i = h & (s->cap - 1); s->slot[i]; i = (i + 1) & (s->cap - 1))
        if (s->slot[i] == h)
            return 1;
    s->slot[i] = h;
    s->n++;
    return 0;
}

/* ---- rendering ---- */

static const char *
prom_prefix(const gw_config *cfg)
{
    return cfg->prometheus_prefix ? cfg->prometheus_prefix : "";
}

static void
prom_family_head(gw_text *t, const gw_config *cfg, const char *metric, const char *help)
{
    const char *prefix = prom_prefix(cfg);

    gw_text_adds(t, "# HELP ");
    gw_prom_name(t, prefix, metric);
    gw_text_addf(t, " %s\n", help);
    if (cfg->prometheus_type) {
        gw_text_adds(t, "# TYPE ");
        gw_prom_name(t, prefix, metric);
        gw_text_adds(t, " gauge\n");
    }
}

/* What one family's rendering keeps from entry to entry. */
typedef struct prom_fam {
    gw_text *t;
    prom_seen *seen;                  /* NULL with a single answer: no duplicates possible */
    char metric[SFA_METRIC_NAME_MAX]; /* the metric series is named for */
    gw_text series;                   /* prefix + sanitised metric */
    int head;
} prom_fam;

/* One dump entry as a series line, if it is a number. */
static void
prom_entry(prom_job *j, prom_fam *f, const json_t *e)
{
    const json_t *v = json_object_get(e, "metricValue");
    const char *agent = json_string_value(json_object_get(e, "agent"));
    const char *ds = json_string_value(json_object_get(e, "dataSource"));
    const char *metric = json_string_value(json_object_get(e, "metricName"));
    const char *host, *ifname = NULL;
    gw_text *t = f->t;
    char key[160];

    if (!json_is_number(v) || !agent || !ds || !metric || (j->all && json_object_get(e, "topKeys")))
        return;
    if (f->seen && prom_seen_add(f->seen, agent, ds))
        return; /* a source two aggregators held for a moment (bucket moving) */
    if (strcmp(metric, f->metric) != 0) {
        snprintf(f->metric, sizeof f->metric, "%s", metric);
        gw_text_free(&f->series);
        gw_prom_name(&f->series, prom_prefix(j->g->cfg), metric);
    }
    if (!f->head) {
        char help[SFA_METRIC_NAME_MAX + 32];

        snprintf(help, sizeof help, "sFlow metric %s", metric);
        prom_family_head(t, j->g->cfg, metric, help);
        f->head = 1;
    }
    gw_text_add(t, f->series.buf, f->series.len);
    gw_text_add(t, "{", 1);
    gw_prom_label(t, 1, "agent", agent);
    gw_prom_label(t, 0, "datasource", ds);
    if ((host = json_string_value(json_object_get(j->hosts, agent))) != NULL)
        gw_prom_label(t, 0, "host", host);
    if (!strchr(ds, '.') && json_object_size(j->ifnames)) {
        snprintf(key, sizeof key, "%s %s", agent, ds);
        ifname = json_string_value(json_object_get(j->ifnames, key));
    }
    if (ifname)
        gw_prom_label(t, 0, "ifname", ifname);
    gw_text_add(t, "} ", 2);
    gw_prom_value(t, json_number_value(v));
    gw_text_add(t, "\n", 1);
}

static void
prom_values(prom_job *j, size_t idx, json_t *const *answers, size_t n)
{
    prom_seen seen = {NULL, 0, 0};
    prom_fam f;

    memset(&f, 0, sizeof f);
    f.t = &j->fams[idx];
    f.seen = n > 1 ? &seen : NULL;
    for (size_t i = 0; i < n; i++) {
        const json_t *res = json_object_get(answers[i], "result"), *e;
        size_t k;

        json_array_foreach(res, k, e)
        {
            prom_entry(j, &f, e);
        }
    }
    gw_text_free(&f.series);
    free(seen.slot);
}

/* host_name and ifname dumps into the label tables. */
static void
prom_labels(prom_job *j, int kind, json_t *const *answers, size_t n)
{
    json_t *into = kind == PROM_HOSTS ? j->hosts : j->ifnames;
    char key[160];

    /* Host names: an agent's host data sources (class 2) first. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            const json_t *res = json_object_get(answers[i], "result"), *e;
            size_t k;

            json_array_foreach(res, k, e)
            {
                const char *agent = json_string_value(json_object_get(e, "agent"));
                const char *ds = json_string_value(json_object_get(e, "dataSource"));
                json_t *v = json_object_get(e, "metricValue");
                int host_ds = ds && strncmp(ds, "2.", 2) == 0;

                if (!agent || !ds || !json_is_string(v) || json_string_length(v) == 0)
                    continue;
                if (kind == PROM_HOSTS && pass == (host_ds ? 0 : 1) &&
                    !json_object_get(into, agent))
                    json_object_set(into, agent, v);
                else if (kind == PROM_IFNAMES && pass == 0) {
                    snprintf(key, sizeof key, "%s %s", agent, ds);
                    json_object_set(into, key, v);
                }
            }
        }
    }
}

/* Metrics whose values are always texts (proto/METRICS.md section 2):
 * ALL does not survey them, as they would give no series. */
static const char *const prom_text_metrics[] = {
    "ifname",       "iftype",     "ifdirection",  "ifadminstatus", "ifoperstatus", "host_name",
    "os_name",      "os_release", "machine_type", "uuid",          "of_dpid",      "jvm_name",
    "app_ops_name", NULL,
};

static int
prom_is_text_metric(const char *name)
{
    for (const char *const *p = prom_text_metrics; *p; p++)
        if (strcmp(*p, name) == 0)
            return 1;
    return 0;
}

static int
prom_str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names of a "metrics" answer, sorted. */
static void
prom_names(prom_job *j, json_t *const *answers, size_t n)
{
    const json_t **res = gw_mq_results(answers, n);
    json_t *merged = sfa_metricagg_merge_metrics(res, n);
    const char *k;
    json_t *v;
    size_t cnt = json_object_size(merged), i = 0;
    const char **keys = sfa_xcalloc(cnt ? cnt : 1, sizeof *keys);

    json_object_foreach(merged, k, v)
    {
        if (!prom_is_text_metric(k))
            keys[i++] = k;
    }
    cnt = i;
    qsort(keys, cnt, sizeof *keys, prom_str_cmp);
    for (i = 0; i < cnt; i++)
        json_array_append_new(j->names, json_string(keys[i]));
    free(keys);
    json_decref(merged);
    free(res);
}

/* ---- the job ---- */

static void
prom_finish(prom_job *j)
{
    gw_text out = {NULL, 0, 0};

    if (j->failed) {
        gw_hold_reply_error(j->h, 503, "query failed: the bus is closing or too busy");
    } else if (!gw_hold_alive(j->h)) {
        gw_hold_reply_json(j->h, 200, json_null()); /* dropped: the client left */
    } else {
        for (size_t i = 0; i < json_array_size(j->names); i++)
            gw_text_move(&out, &j->fams[i]);
        gw_hold_reply_text(j->h, 200, gw_text_str(&out));
        gw_text_free(&out);
    }
    prom_job_free(j);
}

static void
prom_done(gw_ctx *g, json_t *const *answers, size_t n, int failed, void *arg)
{
    prom_call *c = arg;
    prom_job *j = c->j;

    (void)g;
    j->pending--;
    if (failed)
        j->failed = 1;
    else if (gw_hold_alive(j->h) && !j->failed) {
        if (c->kind == PROM_NAMES)
            prom_names(j, answers, n);
        else if (c->kind == PROM_VALUES)
            prom_values(j, c->idx, answers, n);
        else
            prom_labels(j, c->kind, answers, n);
    }
    free(c);
    prom_pump(j);
}

/* Start one survey of the job (body taken). */
static void
prom_start(prom_job *j, int kind, size_t idx, json_t *body)
{
    prom_call *c = sfa_xcalloc(1, sizeof *c);

    c->j = j;
    c->kind = kind;
    c->idx = idx;
    if (gw_mq_start(j->g, body, gw_mq_bulk_timeout(j->g), prom_done, c) != 0) {
        free(c);
        j->failed = 1;
        return;
    }
    j->pending++;
}

static json_t *
prom_dump_body(const prom_job *j, const char *name, int filtered)
{
    json_t *body = json_pack("{s:s, s:O, s:[s]}", "op", "dump", "agents", j->agents, "names", name);

    if (filtered && j->filter)
        json_object_set(body, "filter", j->filter);
    return body;
}

/* Start what can start; answer when nothing is left in flight. */
static void
prom_pump(prom_job *j)
{
    size_t n = json_array_size(j->names);

    if (!j->failed && gw_hold_alive(j->h)) {
        if (!j->fams && j->pending == 0)
            j->fams = sfa_xcalloc(n ? n : 1, sizeof *j->fams); /* the names are known */
        while (j->fams && !j->failed && j->pending < PROM_WINDOW && j->next < n) {
            const char *name = json_string_value(json_array_get(j->names, j->next));

            prom_start(j, PROM_VALUES, j->next, prom_dump_body(j, name, 1));
            j->next++;
        }
    }
    if (j->pending == 0 && (j->failed || !gw_hold_alive(j->h) || j->next >= n))
        prom_finish(j);
}

static int
route_prom_metrics(gw_req *r, void *arg)
{
    gw_ctx *g = arg;
    prom_job *j;
    json_t *agents = NULL, *names = NULL, *filter = NULL;
    char err[512];

    if (gw_agents_parse(gw_req_param(r, "agent"), &agents, err, sizeof err) != 0 ||
        gw_mq_names(gw_req_param(r, "metric"), 0, 0, 1, &names, err, sizeof err) != 0 ||
        gw_mq_filter(r, NULL, &filter, err, sizeof err) != 0) {
        json_decref(agents);
        json_decref(names);
        gw_reply_error(r, 400, "%s", err);
        return GW_DONE;
    }
    j = sfa_xcalloc(1, sizeof *j);
    j->g = g;
    j->agents = agents;
    j->filter = filter;
    j->all = strcmp(json_string_value(json_array_get(names, 0)), "ALL") == 0;
    j->names = j->all ? json_array() : json_incref(names);
    j->hosts = json_object();
    j->ifnames = json_object();
    json_decref(names);
    j->h = gw_req_hold(r);
    if (j->all)
        prom_start(j, PROM_NAMES, 0, json_pack("{s:s}", "op", "metrics"));
    prom_start(j, PROM_HOSTS, 0, prom_dump_body(j, "host_name", 0));
    prom_start(j, PROM_IFNAMES, 0, prom_dump_body(j, "ifname", 0));
    prom_pump(j);
    return GW_PENDING;
}

/* ---- /prometheus/analyzer/txt ---- */

/* /analyzer/json names sFlow-RT's dashboards know under other names. */
static const struct {
    const char *field, *name;
    double scale;
} prom_analyzer_names[] = {
    {"sFlowAgents", "agents", 1},
    {"sFlowAgents", "agent_count", 1},
    {"sFlowDatagramsReceived", "received_datagrams", 1},
    {"sFlowBytesReceived", "received_bytes", 1},
    {"sFlowDatagramsDiscarded", "discarded_datagrams", 1},
    {"sFlowParseErrors", "parse_errors", 1},
    {"sFlowUnsupportedVersion", "unsupported_version_datagrams", 1},
    {"heapUsed", "heap_used_bytes", 1},
    {"heapMax", "heap_max_bytes", 1},
    {"memTotal", "mem_total_bytes", 1},
    {"memFree", "mem_free_bytes", 1},
    {"uptime", "uptime_seconds", 1e-3},
    {"cpuTime", "cpu_time_seconds", 1e-3},
    {"gcTime", "gc_time_seconds", 1e-3},
};

/* camelCase (or anything) -> snake_case into out. */
static void
prom_snake(const char *in, char *out, size_t cap)
{
    size_t o = 0;

    for (const char *p = in; *p && o + 2 < cap; p++) {
        char c = *p;

        if (c >= 'A' && c <= 'Z') {
            /* A word starts at an upper-case letter after a lower-case one
             * or digit, or at the last capital of a run ("lastEventID" ->
             * last_event_id, "HTTPServer" -> http_server). */
            int lower_before =
                p > in && ((p[-1] >= 'a' && p[-1] <= 'z') || (p[-1] >= '0' && p[-1] <= '9'));
            int run_end = p > in && p[-1] >= 'A' && p[-1] <= 'Z' && p[1] >= 'a' && p[1] <= 'z';

            if ((lower_before || run_end) && o > 0 && out[o - 1] != '_')
                out[o++] = '_';
            out[o++] = (char)(c - 'A' + 'a');
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            out[o++] = c;
        } else if (o > 0 && out[o - 1] != '_') {
            out[o++] = '_';
        }
    }
    while (o > 0 && out[o - 1] == '_')
        o--;
    out[o] = '\0';
}

static void
prom_analyzer_one(gw_text *t, const gw_config *cfg, const char *field, const char *name, double v)
{
    char full[160], help[160];

    snprintf(full, sizeof full, "analyzer_%s", name);
    snprintf(help, sizeof help, "/analyzer/json %s", field);
    prom_family_head(t, cfg, full, help);
    gw_prom_name(t, prom_prefix(cfg), full);
    gw_text_add(t, " ", 1);
    gw_prom_value(t, v);
    gw_text_add(t, "\n", 1);
}

static int
route_prom_analyzer(gw_req *r, void *arg)
{
    gw_ctx *g = arg;
    json_t *a = gw_analyzer_json(g), *v;
    gw_text t = {NULL, 0, 0};
    const char *k;
    char name[128];
    size_t i, n = sizeof prom_analyzer_names / sizeof prom_analyzer_names[0];

    json_object_foreach(a, k, v)
    {
        int mapped = 0;

        if (!json_is_number(v))
            continue;
        for (i = 0; i < n; i++) {
            if (strcmp(prom_analyzer_names[i].field, k) != 0)
                continue;
            prom_analyzer_one(&t, g->cfg, k, prom_analyzer_names[i].name,
                              json_number_value(v) * prom_analyzer_names[i].scale);
            mapped = 1;
        }
        if (!mapped) {
            prom_snake(k, name, sizeof name);
            prom_analyzer_one(&t, g->cfg, k, name, json_number_value(v));
        }
    }
    json_decref(a);
    gw_reply_text(r, 200, gw_text_str(&t));
    gw_text_free(&t);
    return GW_DONE;
}

/* ---- /sfa/v1/metrics ---- */

typedef struct prom_sample {
    char *family; /* owned */
    char *path;   /* the counter as /sfa/v1/stats names it, owned */
    char *labels; /* rendered labels without braces, owned */
    double value;
} prom_sample;

typedef struct prom_samples {
    prom_sample *v;
    size_t n, cap;
} prom_samples;

/* Lint-clean family name from service and path ("http.requests"): snake
 * case; a unit token ms/us/ns/s/sec becomes "seconds" (*scale set); a
 * type word gets an 's' so it no longer reads as the metric's type. */
static char *
prom_sfa_name(const char *service, const char *path, double *scale)
{
    char snake[512], *tok, *save = NULL;
    gw_text t = {NULL, 0, 0};

    *scale = 1;
    snprintf(snake, sizeof snake, "%s_", service);
    prom_snake(path, snake + strlen(snake), sizeof snake - strlen(snake));
    gw_text_adds(&t, "sfa");
    for (tok = strtok_r(snake, "_", &save); tok; tok = strtok_r(NULL, "_", &save)) {
        const char *w = tok;

        if (!strcmp(tok, "ms") || !strcmp(tok, "us") || !strcmp(tok, "ns") || !strcmp(tok, "s") ||
            !strcmp(tok, "sec")) {
            *scale = tok[0] == 'm' ? 1e-3 : tok[0] == 'u' ? 1e-6 : tok[0] == 'n' ? 1e-9 : 1;
            w = "seconds";
        }
        gw_text_addf(&t, "_%s", w);
        if (!strcmp(tok, "counter") || !strcmp(tok, "gauge") || !strcmp(tok, "histogram") ||
            !strcmp(tok, "summary"))
            gw_text_add(&t, "s", 1);
    }
    return t.buf;
}

static void
prom_sample_add(prom_samples *s, const char *service, const char *path, const char *labels,
                double v)
{
    prom_sample *p;
    double scale;

    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->v = sfa_xrealloc(s->v, s->cap * sizeof *s->v);
    }
    p = &s->v[s->n++];
    p->family = prom_sfa_name(service, path, &scale);
    p->path = sfa_xstrdup(path);
    p->labels = sfa_xstrdup(labels);
    p->value = v * scale;
}

/* Is k a name (not a record type such as "0:1", or an index)? */
static int
prom_key_is_name(const char *k)
{
    if (!((k[0] >= 'a' && k[0] <= 'z') || (k[0] >= 'A' && k[0] <= 'Z')))
        return 0;
    for (; *k; k++)
        if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') ||
              *k == '_'))
            return 0;
    return 1;
}

/* Every number under v, named by its path below the service entry; keys
 * that are not names (record types) and array positions become labels. */
static void
prom_walk(prom_samples *s, const char *service, const char *path, const char *labels,
          const json_t *v, int depth)
{
    char sub[512], lab[1024];
    const char *k;
    json_t *x;
    size_t i;

    if (json_is_number(v) || json_is_boolean(v)) {
        if (path[0])
            prom_sample_add(s, service, path, labels,
                            json_is_number(v) ? json_number_value(v) : json_is_true(v));
        return;
    }
    if (depth > 4)
        return;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, x)
        {
            gw_text lt = {NULL, 0, 0};

            if (prom_key_is_name(k)) {
                /* "counters" holds a service's own counters: no name part. */
                snprintf(sub, sizeof sub, "%s%s%s", path, path[0] ? "_" : "",
                         depth == 0 && !strcmp(k, "counters") ? "" : k);
                prom_walk(s, service, sub, labels, x, depth + 1);
                continue;
            }
            gw_text_adds(&lt, labels);
            gw_prom_label(&lt, 0, "key", k);
            prom_walk(s, service, path, gw_text_str(&lt), x, depth + 1);
            gw_text_free(&lt);
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, x)
        {
            snprintf(lab, sizeof lab, "%s,index=\"%zu\"", labels, i);
            prom_walk(s, service, path, lab, x, depth + 1);
        }
    }
}

static int
prom_sample_cmp(const void *a, const void *b)
{
    const prom_sample *x = a, *y = b;
    int r = strcmp(x->family, y->family);

    return r ? r : strcmp(x->labels, y->labels);
}

static int
route_sfa_metrics(gw_req *r, void *arg)
{
    gw_ctx *g = arg;
    json_t *all = gw_sfa_stats_json(g), *entry;
    prom_samples s = {NULL, 0, 0};
    gw_text t = {NULL, 0, 0};
    const char *id;

    json_object_foreach(all, id, entry)
    {
        const char *service = json_string_value(json_object_get(entry, "service"));
        char svc[64];
        gw_text lt = {NULL, 0, 0};

        prom_snake(service ? service : "unknown", svc, sizeof svc);
        gw_prom_label(&lt, 1, "service", svc);
        gw_prom_label(&lt, 0, "id", id);
        prom_walk(&s, svc, "", gw_text_str(&lt), entry, 0);
        gw_text_free(&lt);
    }
    if (s.n)
        qsort(s.v, s.n, sizeof *s.v, prom_sample_cmp);
    for (size_t i = 0; i < s.n; i++) {
        if (i == 0 || strcmp(s.v[i].family, s.v[i - 1].family) != 0)
            gw_text_addf(&t, "# HELP %s sfa counter %s\n", s.v[i].family, s.v[i].path);
        gw_text_addf(&t, "%s{%s} ", s.v[i].family, s.v[i].labels);
        gw_prom_value(&t, s.v[i].value);
        gw_text_add(&t, "\n", 1);
    }
    for (size_t i = 0; i < s.n; i++) {
        free(s.v[i].family);
        free(s.v[i].path);
        free(s.v[i].labels);
    }
    free(s.v);
    json_decref(all);
    gw_reply_text(r, 200, gw_text_str(&t));
    gw_text_free(&t);
    return GW_DONE;
}

const gw_route gw_prometheus_routes[] = {
    {GW_GET, "/prometheus/metrics/{agent}/{metric}/txt", route_prom_metrics},
    {GW_GET, "/prometheus/analyzer/txt", route_prom_analyzer},
    {GW_GET, "/sfa/v1/metrics", route_sfa_metrics},
    {GW_GET, "/app/prometheus/scripts/export.js/flows/{agent}/txt", gw_promflows_route},
    {0, NULL, NULL},
};
