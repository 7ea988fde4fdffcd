/* respond_metrics.c - the metric surveys (proto/CONTROL.md, "Metrics"):
 *
 *   metrics       {name: ms since its last update} over every data source
 *   metric        per requested name, the partial statistics of this shard
 *                 (sfa/metricagg.h), which the gateway merges exactly
 *   dump          every value: {agent, dataSource, metricName, metricValue,
 *                 lastUpdate[, topKeys]}
 *   table         rows of the data sources having every listed metric,
 *                 sorted and cut per a "sort:" column
 *   metric_agent  {"<ds>.<metric>": value} of one agent, with "found"
 *
 * A metric is a counter metric (counters.c) or a flow definition: the
 * flow's name at a data source is the source's smoothed total with its
 * top keys (agg_table_total, agg_table_topkeys). Names may carry an
 * aggregation prefix and a data source qualifier (sfa_metric_name_parse);
 * "agents" selects agents ("ALL", a list, or a comma/semicolon string);
 * "filter" {attr: [patterns with *]} keeps the data sources whose metric
 * attr, or else that of their agent's host data source (class 2), matches
 * one pattern of every attr (numbers compared as %.15g text).
 *
 * Answers are built on the loop thread, like the flow answers; a dump of
 * everything is cut at RM_DUMP_MAX entries (the answer then says
 * "truncated": true).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/mem.h>
#include <sfa/metricagg.h>

#include "agg.h"
#include "counters.h"

#define RM_DUMP_MAX 200000 /* entries of one dump answer */
#define RM_TOPKEYS_MAX 128 /* topKeys of a flow metric */

/* ---- query context: agents, filter ---- */

typedef struct rm_host {
    sfa_addr agent;
    uint32_t src; /* counter source of class 2 */
} rm_host;

typedef struct rm_ctx {
    agg_core *c;
    double now;
    char **agents; /* NULL: every agent */
    size_t nagents;
    const json_t *filter; /* object, or NULL */
    rm_host *hosts;       /* for filter lookups: sorted by agent */
    size_t nhosts;
} rm_ctx;

static int
rm_addr_cmp(const sfa_addr *a, const sfa_addr *b)
{
    if (a->family != b->family)
        return a->family < b->family ? -1 : 1;
    return memcmp(a->a, b->a, sizeof a->a);
}

static int
rm_host_cmp(const void *x, const void *y)
{
    return rm_addr_cmp(&((const rm_host *)x)->agent, &((const rm_host *)y)->agent);
}

/* Add the agents of text (comma or semicolon separated) to x. */
static void
rm_agents_text(rm_ctx *x, const char *text, int *all)
{
    const char *p = text;

    while (*p) {
        size_t n = strcspn(p, ",;");

        if (n == 3 && strncasecmp(p, "ALL", 3) == 0)
            *all = 1;
        else if (n > 0) {
            x->agents = sfa_xrealloc(x->agents, (x->nagents + 1) * sizeof *x->agents);
            x->agents[x->nagents] = sfa_xmalloc(n + 1);
            memcpy(x->agents[x->nagents], p, n);
            x->agents[x->nagents++][n] = '\0';
        }
        p += n + (p[n] != '\0');
    }
}

static void
rm_ctx_init(rm_ctx *x, agg_core *c, const json_t *q, double now)
{
    const json_t *agents = json_object_get(q, "agents"), *a;
    /* No selector (or not a string or list) means every agent. */
    int all = !json_is_string(agents) && !json_is_array(agents);
    size_t i;

    memset(x, 0, sizeof *x);
    x->c = c;
    x->now = now;
    if (json_is_string(agents))
        rm_agents_text(x, json_string_value(agents), &all);
    json_array_foreach(agents, i, a)
    {
        if (json_is_string(a))
            rm_agents_text(x, json_string_value(a), &all);
    }
    if (all) {
        for (i = 0; i < x->nagents; i++)
            free(x->agents[i]);
        free(x->agents);
        x->agents = NULL;
        x->nagents = 0;
    } else if (!x->nagents) {
        x->agents = sfa_xcalloc(1, sizeof *x->agents); /* an empty list selects nothing */
    }
    x->filter = json_is_object(json_object_get(q, "filter")) &&
                        json_object_size(json_object_get(q, "filter")) > 0
                    ? json_object_get(q, "filter")
                    : NULL;
    if (x->filter) {
        uint32_t limit = agg_counters_limit(c->counters);

        x->hosts = sfa_xmalloc((limit ? limit : 1) * sizeof *x->hosts);
        for (uint32_t id = 0; id < limit; id++) {
            const agg_ds *d = agg_counters_source(c->counters, id);

            if (d && d->ds_class == 2)
                x->hosts[x->nhosts++] = (rm_host){d->agent, id};
        }
        qsort(x->hosts, x->nhosts, sizeof *x->hosts, rm_host_cmp);
    }
}

static void
rm_ctx_fini(rm_ctx *x)
{
    for (size_t i = 0; i < x->nagents; i++)
        free(x->agents[i]);
    free(x->agents);
    free(x->hosts);
}

static int
rm_agent_ok(const rm_ctx *x, const agg_ds *d)
{
    if (!x->agents)
        return 1;
    for (size_t i = 0; i < x->nagents; i++)
        if (strcmp(x->agents[i], d->agent_txt) == 0)
            return 1;
    return 0;
}

/* The text of metric attr at source d (its own value, else its agent's
 * host source's), into buf; NULL when neither has it. */
static const char *
rm_attr(const rm_ctx *x, const agg_ds *d, const char *attr, char *buf, size_t cap)
{
    int id = agg_metric_lookup(attr, strlen(attr));
    uint32_t src;
    agg_cval v;
    int got = 0;

    if (id < 0)
        return NULL;
    if (agg_counters_find(x->c->counters, &d->agent, d->ds_class, d->ds_index, &src) == 0)
        got = agg_counters_value(x->c->counters, src, (unsigned)id, &v);
    if (!got && x->nhosts) {
        rm_host key = {d->agent, 0}, *h;

        h = bsearch(&key, x->hosts, x->nhosts, sizeof *x->hosts, rm_host_cmp);
        /* bsearch may land on any of an agent's host sources; try them all. */
        while (h && h > x->hosts && rm_addr_cmp(&h[-1].agent, &d->agent) == 0)
            h--;
        for (; !got && h && h < x->hosts + x->nhosts && rm_addr_cmp(&h->agent, &d->agent) == 0; h++)
            got = agg_counters_value(x->c->counters, h->src, (unsigned)id, &v);
    }
    if (!got)
        return NULL;
    if (v.is_text) {
        snprintf(buf, cap, "%s", v.text ? v.text : "");
        return buf;
    }
    snprintf(buf, cap, "%.15g", v.num);
    return buf;
}

static int
rm_filter_ok(const rm_ctx *x, const agg_ds *d)
{
    const char *attr;
    const json_t *pats;
    char buf[600];

    if (!x->filter)
        return 1;
    json_object_foreach((json_t *)x->filter, attr, pats)
    {
        const char *val = rm_attr(x, d, attr, buf, sizeof buf);
        const json_t *p;
        size_t i;
        int ok = 0;

        if (!val)
            return 0;
        if (json_is_string(pats))
            ok = sfa_metric_glob(json_string_value(pats), val);
        json_array_foreach(pats, i, p)
        {
            if (json_is_string(p) && sfa_metric_glob(json_string_value(p), val))
                ok = 1;
        }
        if (!ok)
            return 0;
    }
    return 1;
}

static int
rm_selected(const rm_ctx *x, const agg_ds *d, const sfa_metric_name *mn)
{
    return d && (!mn->ds[0] || strcmp(mn->ds, d->ds_txt) == 0) && rm_agent_ok(x, d) &&
           rm_filter_ok(x, d);
}

/* ---- values of one name ---- */

typedef struct rm_val {
    const agg_ds *d;
    int is_text;
    double num;
    const char *text;
    double age_ms;
    agg_def *def; /* flow metric: its definition */
    uint32_t ds;  /* flow metric: the flow registry id */
} rm_val;

typedef void (*rm_visit)(rm_ctx *x, const rm_val *v, void *arg);

static double
rm_age(const rm_ctx *x, double t)
{
    return t > 0 && x->now > t ? (x->now - t) * 1000.0 : 0;
}

/* The flow metric def at flow source ds, if it has state there. */
static int
rm_flow_value(rm_ctx *x, agg_def *def, uint32_t ds, rm_val *v)
{
    if (!agg_table_ds_active(def->table, ds))
        return 0;
    v->d = agg_dsreg_get(x->c->dsreg, ds);
    v->is_text = 0;
    v->num = agg_table_total(def->table, ds, x->now);
    v->text = NULL;
    v->age_ms = rm_age(x, agg_table_ds_last(def->table, ds));
    v->def = def;
    v->ds = ds;
    return v->d != NULL;
}

static void
rm_counter_fill(const rm_ctx *x, const agg_ds *d, const agg_cval *cv, rm_val *v)
{
    v->d = d;
    v->is_text = cv->is_text;
    v->num = cv->num;
    v->text = cv->text;
    v->age_ms = rm_age(x, cv->updated);
    v->def = NULL;
    v->ds = 0;
}

/* Call cb for every selected data source that has metric mn. */
static void
rm_each(rm_ctx *x, const sfa_metric_name *mn, rm_visit cb, void *arg)
{
    agg_def *def = agg_defs_find(x->c, mn->metric);
    agg_counters *k = x->c->counters;
    int id;
    rm_val v;

    if (def) {
        uint32_t limit = agg_table_ds_limit(def->table);

        for (uint32_t ds = 0; ds < limit; ds++)
            if (rm_flow_value(x, def, ds, &v) && rm_selected(x, v.d, mn))
                cb(x, &v, arg);
        return;
    }
    if ((id = agg_metric_lookup(mn->metric, strlen(mn->metric))) < 0)
        return;
    for (uint32_t src = 0; src < agg_counters_limit(k); src++) {
        const agg_ds *d = agg_counters_source(k, src);
        agg_cval cv;

        if (!d || !agg_counters_value(k, src, (unsigned)id, &cv) || !rm_selected(x, d, mn))
            continue;
        rm_counter_fill(x, d, &cv, &v);
        cb(x, &v, arg);
    }
}

/* The value of mn at data source d (from either registry): 1 and *v,
 * whose text is copied into buf (cap bytes). */
static int
rm_lookup(rm_ctx *x, const agg_ds *d, const sfa_metric_name *mn, rm_val *v, char *buf, size_t cap)
{
    agg_def *def = agg_defs_find(x->c, mn->metric);
    uint32_t id;
    agg_cval cv;
    int m;

    if (mn->ds[0] && strcmp(mn->ds, d->ds_txt) != 0)
        return 0;
    if (def)
        return agg_dsreg_find(x->c->dsreg, &d->agent, d->ds_class, d->ds_index, &id) == 0 &&
               rm_flow_value(x, def, id, v);
    m = agg_metric_lookup(mn->metric, strlen(mn->metric));
    if (m < 0 || agg_counters_find(x->c->counters, &d->agent, d->ds_class, d->ds_index, &id) ||
        !agg_counters_value(x->c->counters, id, (unsigned)m, &cv))
        return 0;
    rm_counter_fill(x, d, &cv, v);
    if (v->is_text) {
        snprintf(buf, cap, "%s", cv.text ? cv.text : ""); /* cv is local */
        v->text = buf;
    }
    return 1;
}

static json_t *
rm_value_json(const rm_val *v)
{
    return v->is_text ? json_string(v->text ? v->text : "") : json_real(v->num);
}

static json_t *
rm_topkeys(rm_ctx *x, agg_def *def, uint32_t ds)
{
    agg_flow *top = sfa_xmalloc(RM_TOPKEYS_MAX * sizeof *top);
    size_t n = agg_table_topkeys(def->table, ds, x->now, top, RM_TOPKEYS_MAX);
    json_t *arr = json_array();

    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:s%, s:f}", "key", top[i].key, top[i].keylen,
                                             "value", isfinite(top[i].value) ? top[i].value : 0));
    free(top);
    return arr;
}

/* ---- names ---- */

/* The requested names as an array of strings (returns new): an array, or
 * a comma/semicolon separated string. */
static json_t *
rm_names(const json_t *q)
{
    const json_t *names = json_object_get(q, "names");
    json_t *out = json_array();

    if (json_is_array(names)) {
        json_array_extend(out, (json_t *)names);
    } else if (json_is_string(names)) {
        const char *p = json_string_value(names);

        while (*p) {
            size_t n = strcspn(p, ",;");

            if (n > 0)
                json_array_append_new(out, json_stringn(p, n));
            p += n + (p[n] != '\0');
        }
    }
    return out;
}

/* ---- metrics ---- */

static json_t *
rm_metrics(rm_ctx *x)
{
    agg_counters *k = x->c->counters;
    double *best = sfa_xmalloc(AGG_M__COUNT * sizeof *best);
    json_t *o = json_object();

    for (unsigned m = 0; m < AGG_M__COUNT; m++)
        best[m] = INFINITY;
    for (uint32_t src = 0; src < agg_counters_limit(k); src++) {
        agg_cval cv;
        size_t i = 0;

        while (agg_counters_value_at(k, src, &i, &cv))
            if (rm_age(x, cv.updated) < best[cv.metric])
                best[cv.metric] = rm_age(x, cv.updated);
    }
    for (unsigned m = 0; m < AGG_M__COUNT; m++)
        if (isfinite(best[m]) && agg_metric_name(m))
            json_object_set_new(o, agg_metric_name(m), json_integer((json_int_t)llround(best[m])));
    for (size_t i = 0; i < x->c->ndefs; i++) {
        agg_def *def = &x->c->defs[i];
        double age = INFINITY;

        for (uint32_t ds = 0; ds < agg_table_ds_limit(def->table); ds++)
            if (agg_table_ds_active(def->table, ds) &&
                rm_age(x, agg_table_ds_last(def->table, ds)) < age)
                age = rm_age(x, agg_table_ds_last(def->table, ds));
        if (isfinite(age))
            json_object_set_new(o, def->name, json_integer((json_int_t)llround(age)));
    }
    free(best);
    return o;
}

/* ---- metric ---- */

typedef struct rm_acc_arg {
    sfa_metricacc *acc;
} rm_acc_arg;

static void
rm_acc_visit(rm_ctx *x, const rm_val *v, void *arg)
{
    rm_acc_arg *a = arg;

    (void)x;
    if (v->is_text)
        sfa_metricacc_add_text(a->acc, v->text, v->d->agent_txt, v->d->ds_txt, v->age_ms, v->ds);
    else
        sfa_metricacc_add_num(a->acc, v->num, v->d->agent_txt, v->d->ds_txt, v->age_ms, v->ds);
}

static json_t *
rm_metric_one(rm_ctx *x, const char *text)
{
    sfa_metric_name mn;
    rm_acc_arg a;
    json_t *p;
    agg_def *def;
    size_t ref;

    if (sfa_metric_name_parse(text, &mn) != 0) {
        a.acc = sfa_metricacc_create(SFA_MAGG_MAX);
        p = sfa_metricacc_partial(a.acc, text);
        sfa_metricacc_destroy(a.acc);
        return p;
    }
    a.acc = sfa_metricacc_create(mn.agg);
    rm_each(x, &mn, rm_acc_visit, &a);
    p = sfa_metricacc_partial(a.acc, mn.label);
    def = agg_defs_find(x->c, mn.metric);
    if (def && sfa_metricacc_best_ref(a.acc, &ref))
        json_object_set_new(p, "topKeys", rm_topkeys(x, def, (uint32_t)ref));
    sfa_metricacc_destroy(a.acc);
    return p;
}

static json_t *
rm_metric(rm_ctx *x, const json_t *q)
{
    json_t *names = rm_names(q), *out = json_array(), *n;
    size_t i;

    json_array_foreach(names, i, n)
    {
        if (json_is_string(n))
            json_array_append_new(out, rm_metric_one(x, json_string_value(n)));
    }
    json_decref(names);
    return out;
}

/* ---- dump ---- */

typedef struct rm_dump {
    json_t *out;
    const char *metric;
    int truncated;
} rm_dump;

static json_t *
rm_entry(rm_ctx *x, const rm_val *v, const char *metric)
{
    json_t *e = json_object();

    json_object_set_new(e, "agent", json_string(v->d->agent_txt));
    json_object_set_new(e, "dataSource", json_string(v->d->ds_txt));
    json_object_set_new(e, "metricName", json_string(metric));
    json_object_set_new(e, "metricValue", rm_value_json(v));
    json_object_set_new(e, "lastUpdate", json_integer((json_int_t)llround(v->age_ms)));
    if (v->def)
        json_object_set_new(e, "topKeys", rm_topkeys(x, v->def, v->ds));
    return e;
}

static void
rm_dump_visit(rm_ctx *x, const rm_val *v, void *arg)
{
    rm_dump *dp = arg;

    if (json_array_size(dp->out) >= RM_DUMP_MAX) {
        dp->truncated = 1;
        return;
    }
    json_array_append_new(dp->out, rm_entry(x, v, dp->metric));
}

/* Every counter metric of every selected source, and every flow metric. */
static void
rm_dump_all(rm_ctx *x, rm_dump *dp)
{
    agg_counters *k = x->c->counters;
    sfa_metric_name all;
    rm_val v;

    memset(&all, 0, sizeof all);
    for (uint32_t src = 0; src < agg_counters_limit(k); src++) {
        const agg_ds *d = agg_counters_source(k, src);
        agg_cval cv;
        size_t i = 0;

        if (!rm_selected(x, d, &all))
            continue;
        while (agg_counters_value_at(k, src, &i, &cv)) {
            rm_counter_fill(x, d, &cv, &v);
            dp->metric = agg_metric_name(cv.metric);
            rm_dump_visit(x, &v, dp);
        }
    }
    for (size_t i = 0; i < x->c->ndefs; i++) {
        snprintf(all.metric, sizeof all.metric, "%s", x->c->defs[i].name);
        dp->metric = x->c->defs[i].name;
        rm_each(x, &all, rm_dump_visit, dp);
    }
}

static json_t *
rm_dump_op(rm_ctx *x, const json_t *q, json_t *ans)
{
    json_t *names = rm_names(q), *n;
    rm_dump dp = {json_array(), NULL, 0};
    sfa_metric_name mn;
    size_t i;

    json_array_foreach(names, i, n)
    {
        const char *text = json_string_value(n);

        if (text && strcmp(text, "ALL") == 0)
            rm_dump_all(x, &dp);
        else if (text && sfa_metric_name_parse(text, &mn) == 0) {
            dp.metric = mn.metric;
            rm_each(x, &mn, rm_dump_visit, &dp);
        }
    }
    if (dp.truncated)
        json_object_set_new(ans, "truncated", json_true());
    json_decref(names);
    return dp.out;
}

/* ---- table ---- */

typedef struct rm_table {
    json_t *rows;
    sfa_metric_name *cols;
    size_t ncols;
} rm_table;

static void
rm_table_visit(rm_ctx *x, const rm_val *v0, void *arg)
{
    rm_table *t = arg;
    json_t *row = json_array();

    json_array_append_new(row, rm_entry(x,
                                        &(rm_val){.d = v0->d,
                                                  .is_text = v0->is_text,
                                                  .num = v0->num,
                                                  .text = v0->text,
                                                  .age_ms = v0->age_ms},
                                        t->cols[0].metric));
    for (size_t j = 1; j < t->ncols; j++) {
        char buf[600];
        rm_val v;

        if (!rm_lookup(x, v0->d, &t->cols[j], &v, buf, sizeof buf)) {
            json_decref(row);
            return;
        }
        json_array_append_new(row, rm_entry(x,
                                            &(rm_val){.d = v.d ? v.d : v0->d,
                                                      .is_text = v.is_text,
                                                      .num = v.num,
                                                      .text = v.text,
                                                      .age_ms = v.age_ms},
                                            t->cols[j].metric));
    }
    json_array_append_new(t->rows, row);
}

static json_t *
rm_table_op(rm_ctx *x, const json_t *q, json_t *ans)
{
    json_t *names = rm_names(q), *n;
    rm_table t = {json_array(), NULL, 0};
    size_t i;

    t.cols = sfa_xcalloc(json_array_size(names) + 1, sizeof *t.cols);
    json_array_foreach(names, i, n)
    {
        if (!json_is_string(n) || sfa_metric_name_parse(json_string_value(n), &t.cols[i]) != 0) {
            json_object_set_new(ans, "error", json_string("bad column name"));
            goto out;
        }
        t.ncols++;
    }
    if (t.ncols > 0) {
        rm_each(x, &t.cols[0], rm_table_visit, &t);
        sfa_metricagg_table_sort(t.rows, names);
    }
out:
    free(t.cols);
    json_decref(names);
    return t.rows;
}

/* ---- metric_agent ---- */

static void
rm_agent_put(json_t *o, const agg_ds *d, const char *metric, json_t *v)
{
    char key[SFA_METRIC_NAME_MAX + 40];

    snprintf(key, sizeof key, "%s.%s", d->ds_txt, metric);
    json_object_set_new(o, key, v);
}

static json_t *
rm_metric_agent(rm_ctx *x, const json_t *q, json_t *ans)
{
    const char *text = json_string_value(json_object_get(q, "agent"));
    agg_counters *k = x->c->counters;
    json_t *o = json_object();
    sfa_addr agent;
    int found = 0;

    if (!text || sfa_addr_parse(text, &agent) != 0) {
        json_object_set_new(ans, "found", json_false());
        return o;
    }
    for (uint32_t src = 0; src < agg_counters_limit(k); src++) {
        const agg_ds *d = agg_counters_source(k, src);
        agg_cval cv;
        size_t i = 0;

        if (!d || rm_addr_cmp(&d->agent, &agent) != 0)
            continue;
        found = 1;
        while (agg_counters_value_at(k, src, &i, &cv))
            rm_agent_put(o, d, agg_metric_name(cv.metric),
                         cv.is_text ? json_string(cv.text ? cv.text : "") : json_real(cv.num));
    }
    for (uint32_t ds = 0; ds < agg_dsreg_limit(x->c->dsreg); ds++) {
        const agg_ds *d = agg_dsreg_get(x->c->dsreg, ds);

        if (!d || rm_addr_cmp(&d->agent, &agent) != 0)
            continue;
        found = 1;
        for (size_t i = 0; i < x->c->ndefs; i++) {
            rm_val v;

            if (rm_flow_value(x, &x->c->defs[i], ds, &v))
                rm_agent_put(o, d, x->c->defs[i].name, json_real(v.num));
        }
    }
    json_object_set_new(ans, "found", json_boolean(found));
    return o;
}

/* ---- dispatch ---- */

int
agg_respond_metric_op(struct agg_core *c, const char *op, const json_t *q, double now, json_t *ans)
{
    json_t *result;
    rm_ctx x;

    if (strcmp(op, "metrics") != 0 && strcmp(op, "metric") != 0 && strcmp(op, "dump") != 0 &&
        strcmp(op, "table") != 0 && strcmp(op, "metric_agent") != 0)
        return 0;
    rm_ctx_init(&x, c, q, now);
    if (strcmp(op, "metrics") == 0)
        result = rm_metrics(&x);
    else if (strcmp(op, "metric") == 0)
        result = rm_metric(&x, q);
    else if (strcmp(op, "dump") == 0)
        result = rm_dump_op(&x, q, ans);
    else if (strcmp(op, "table") == 0)
        result = rm_table_op(&x, q, ans);
    else
        result = rm_metric_agent(&x, q, ans);
    json_object_set_new(ans, "result", result);
    rm_ctx_fini(&x);
    return 1;
}
