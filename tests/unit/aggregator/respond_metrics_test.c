/* respond_metrics_test.c - the metric surveys of the aggregator
 * (respond_metrics.c) over counter samples that travel the whole ingest
 * path (encoded as counter.v1 bus messages, agg_ingest_msg) and flow
 * samples of a flow definition.
 *
 * Checks metrics, metric (aggregations, data source qualifiers, agents,
 * filters on the source's own and on its host's metrics, flow metrics with
 * topKeys), dump (names and ALL), table (rows of sources having every
 * column, counter and flow metrics mixed, sort and cut), metric_agent, the
 * counters in stats, unowned counter messages; and that two aggregators
 * with half of the agents each, merged with sfa/metricagg.h, answer
 * exactly what one aggregator with every agent answers.
 */
#include <stdlib.h>
#include <string.h>

#include <sfa/metricagg.h>

#include "agg.h"
#include "counters.h"
#include "flow_sample.h"
#include "test.h"

static agg_config cfg;
static uint8_t buf[1 << 20];

static const char DEFS[] =
    "{\"version\":1,\"lanes\":4,\"members\":[\"agg-test\"],\"groups\":{},\"maps\":{},"
    "\"flows\":{\"tcp\":{\"keys\":\"ipsource,ipdestination\",\"value\":\"bytes\",\"t\":2}}}";

static void
core_up(agg_core *c)
{
    json_t *body = json_loads(DEFS, 0, NULL);

    agg_core_init(c, &cfg, 90.0);
    if (!body || agg_defs_apply(c, body, 90.0) != 1) {
        printf("# cannot apply defs\n");
        exit(1);
    }
    json_decref(body);
    memset(c->owned, 1, sizeof c->owned);
    c->nowned = SFA_BUCKETS;
}

/* Encode d as one message of kind and hand it to c. */
static void
ingest(agg_core *c, const sfa_dgram *d, int kind, uint64_t seq, double now)
{
    char topic[SFA_TOPIC_MAX];
    sfa_batch b;
    size_t len;

    sfa_topic_samples(topic, kind, sfa_bucket_of(&d->agent));
    if (sfa_batch_begin(&b, buf, sizeof buf, topic, "col-1") != 0 ||
        sfa_batch_add(&b, d, kind) != 0) {
        printf("# cannot encode\n");
        exit(1);
    }
    len = sfa_batch_finish(&b, seq, 1700000000000ull);
    agg_ingest_msg(c, buf, len, now);
}

typedef struct agent_spec {
    const char *addr;
    const char *host; /* NULL: no host data source */
    int os;
    double load;
    int nifs;
    double in_Bps[3]; /* per interface 1..nifs */
} agent_spec;

static const agent_spec agents[] = {
    {"10.0.0.1", "web-1", 2, 0.5, 2, {1000, 3000}},
    {"10.0.0.2", "db-1", 3, 1.5, 1, {2000}},
    {"10.0.0.3", NULL, 0, 0, 1, {500}},
    {"10.0.0.4", "web-2", 2, 0.75, 2, {4000, 250}},
};
#define NAGENTS (sizeof agents / sizeof agents[0])

/* Counter samples of agent a at e seconds since its boot. */
static void
counters_at(agg_core *c, const agent_spec *a, double e, uint32_t seq, double now)
{
    sfa_dgram *d = fs_dgram_new(a->addr);
    sfa_sample *s;

    d->uptime = (uint32_t)(e * 1000);
    d->rx_ms = 1700000000000ull + (uint64_t)(now * 1000);
    for (int i = 0; i < a->nifs; i++) {
        s = fs_sample(d, SFA_SAMPLE_COUNTER, (uint32_t)i + 1, 0);
        s->seq = seq;
        fs_u(d, SFA_F_IFINDEX, (uint32_t)i + 1);
        fs_u(d, SFA_F_IFSPEED, 1000000);
        fs_u(d, SFA_F_IFSTATUS, 3);
        fs_u(d, SFA_F_IFINOCTETS, (uint64_t)(a->in_Bps[i] * e));
        fs_str(d, SFA_F_IFNAME, i == 0 ? "eth0" : "eth1");
    }
    if (a->host) {
        s = fs_sample(d, SFA_SAMPLE_COUNTER, 1, 0);
        s->ds_class = 2;
        s->seq = seq;
        fs_str(d, SFA_F_HOST_NAME, a->host);
        fs_u(d, SFA_F_OS_NAME, (uint64_t)a->os);
        fs_f(d, SFA_F_LOAD_ONE, a->load);
        fs_u(d, SFA_F_CPU_NUM, 2);
    }
    ingest(c, d, SFA_KIND_COUNTER, seq, now);
    free(d);
}

/* Flow samples: agent 10.0.0.1 ds 1 sends 10.1.1.1 -> 10.2.2.2 large,
 * agent 10.0.0.2 ds 1 a smaller flow. */
static void
flows(agg_core *c, const agent_spec *a, double now)
{
    sfa_dgram *d = fs_dgram_new(a->addr);
    int n = strcmp(a->addr, "10.0.0.1") == 0 ? 4 : strcmp(a->addr, "10.0.0.2") == 0 ? 1 : 0;

    for (int i = 0; i < n; i++)
        fs_tcp4(d, 1, 10, "10.1.1.1", "10.2.2.2", 40000, 443, 1000);
    if (n)
        fs_tcp4(d, 1, 10, "10.1.1.1", "10.3.3.3", 40000, 443, 100);
    if (d->nsamples)
        ingest(c, d, SFA_KIND_FLOW, 1, now);
    free(d);
}

/* Feed the agents with (i % mod == rem) into c. */
static void
feed(agg_core *c, size_t mod, size_t rem)
{
    for (size_t i = 0; i < NAGENTS; i++) {
        if (i % mod != rem)
            continue;
        counters_at(c, &agents[i], 100, 1, 100.0);
        counters_at(c, &agents[i], 110, 2, 110.0);
        flows(c, &agents[i], 110.0);
    }
}

static json_t *
ask(agg_core *c, const char *text, double now)
{
    json_t *q = json_loads(text, 0, NULL), *a;

    if (!q) {
        printf("# bad JSON %s\n", text);
        exit(1);
    }
    a = agg_respond_answer(c, q, now);
    json_decref(q);
    return a;
}

/* One shard's "metric" answer merged alone: sFlow-RT's entries. */
static json_t *
metric(agg_core *c, const char *text)
{
    json_t *a = ask(c, text, 111.0), *r;
    const json_t *res = json_object_get(a, "result");

    r = sfa_metricagg_merge_metric(&res, 1);
    json_decref(a);
    return r;
}

static double
num(const json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

static const char *
str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void
test_metrics_op(agg_core *c)
{
    json_t *a = ask(c, "{\"op\":\"metrics\"}", 111.0), *r = json_object_get(a, "result");

    CHECK(json_is_object(r), "metrics: an object");
    CHECK_EQ(json_integer_value(json_object_get(r, "ifinoctets")), 1000,
             "metrics: ifinoctets 1000 ms old");
    CHECK(json_object_get(r, "load_one") && json_object_get(r, "host_name") &&
              json_object_get(r, "ifinutilization") && json_object_get(r, "ifname"),
          "metrics: gauges, texts and derived metrics listed");
    CHECK_EQ(json_integer_value(json_object_get(r, "tcp")), 1000, "metrics: the flow name too");
    CHECK(!json_object_get(r, "ifstatus"), "metrics: ifstatus is not one");
    json_decref(a);
}

static void
test_metric_op(agg_core *c)
{
    json_t *r, *e;

    r = metric(c, "{\"op\":\"metric\",\"agents\":\"ALL\",\"names\":[\"max:load_one\","
                  "\"min:load_one\",\"sum:ifinoctets\",\"avg:2.1.load_one\",\"med:ifinoctets\","
                  "\"any:host_name\",\"tcp\",\"max:nosuch\",\"load_one\"]}");
    CHECK_EQ(json_array_size(r), 9, "metric: one entry per name");
    e = json_array_get(r, 0);
    CHECK(num(e, "metricValue") == 1.5 && strcmp(str(e, "agent"), "10.0.0.2") == 0 &&
              strcmp(str(e, "dataSource"), "2.1") == 0,
          "max:load_one: 1.5 at 10.0.0.2 2.1");
    CHECK_EQ(json_integer_value(json_object_get(e, "metricN")), 3, "max:load_one: 3 hosts");
    CHECK_STR(str(e, "metricName"), "max:load_one", "metricName as requested");
    CHECK(num(json_array_get(r, 1), "metricValue") == 0.5, "min:load_one 0.5");
    CHECK_NEAR(num(json_array_get(r, 2), "metricValue"), 1000 + 3000 + 2000 + 500 + 4000 + 250,
               1e-6, "sum:ifinoctets over 6 interfaces");
    CHECK_NEAR(num(json_array_get(r, 3), "metricValue"), (0.5 + 1.5 + 0.75) / 3, 1e-12,
               "avg:2.1.load_one");
    e = json_array_get(r, 4);
    CHECK_NEAR(num(e, "metricValue"), 1500, 1e-9, "med:ifinoctets of 6 values");
    CHECK(json_is_object(json_object_get(e, "quartiles")), "med: quartiles");
    CHECK(json_is_string(json_object_get(json_array_get(r, 5), "metricValue")),
          "any:host_name: a text");
    e = json_array_get(r, 6);
    CHECK(num(e, "metricValue") > 0 && strcmp(str(e, "agent"), "10.0.0.1") == 0 &&
              strcmp(str(e, "dataSource"), "1") == 0,
          "tcp: the largest data source's total");
    CHECK_NEAR(num(e, "metricValue"), (4 * 1000.0 + 100) * 10 / 2 * exp(-0.5), 1e-6,
               "tcp: the smoothed total, bytes x rate / t, decayed for 1 s");
    CHECK_STR(str(json_array_get(json_object_get(e, "topKeys"), 0), "key"), "10.1.1.1,10.2.2.2",
              "tcp: topKeys, largest first");
    CHECK_EQ(json_array_size(json_object_get(e, "topKeys")), 2, "tcp: both keys");
    e = json_array_get(r, 7);
    CHECK(!json_object_get(e, "metricValue") &&
              json_integer_value(json_object_get(e, "metricN")) == 0,
          "unknown metric: metricN 0, no value");
    CHECK(num(json_array_get(r, 8), "metricValue") == 1.5, "no prefix means max");
    json_decref(r);

    /* Filters: the source's own metric, its host's, wildcards, AND/OR. */
    r = metric(c, "{\"op\":\"metric\",\"names\":[\"max:load_one\",\"sum:ifinoctets\"],"
                  "\"filter\":{\"os_name\":[\"linux\"]}}");
    CHECK(num(json_array_get(r, 0), "metricValue") == 0.75, "filter os_name=linux: max 0.75");
    CHECK_NEAR(num(json_array_get(r, 1), "metricValue"), 1000 + 3000 + 4000 + 250, 1e-6,
               "filter through the host source: linux agents' interfaces");
    json_decref(r);
    r = metric(c, "{\"op\":\"metric\",\"names\":[\"sum:ifinoctets\"],"
                  "\"filter\":{\"host_name\":[\"*db*\",\"web-2\"],\"ifname\":[\"eth0\"]}}");
    CHECK_NEAR(num(json_array_get(r, 0), "metricValue"), 2000 + 4000, 1e-6,
               "filter: patterns ORed, attributes ANDed");
    json_decref(r);
    r = metric(c, "{\"op\":\"metric\",\"names\":[\"sum:ifinoctets\"],"
                  "\"filter\":{\"ifspeed\":[\"1000000\"],\"ifoperstatus\":[\"up\"]}}");
    CHECK_EQ(json_integer_value(json_object_get(json_array_get(r, 0), "metricN")), 6,
             "filter on numbers and enums");
    json_decref(r);
    r = metric(c, "{\"op\":\"metric\",\"agents\":[\"10.0.0.3\",\"10.0.0.2\"],"
                  "\"names\":\"sum:ifinoctets;max:1.ifinoctets\"}");
    CHECK_NEAR(num(json_array_get(r, 0), "metricValue"), 2500, 1e-6, "agents list");
    CHECK(num(json_array_get(r, 1), "metricValue") == 2000, "ds-qualified, names as a string");
    json_decref(r);
    r = metric(c, "{\"op\":\"metric\",\"agents\":\"10.9.9.9\",\"names\":[\"sum:ifinoctets\"]}");
    CHECK_EQ(json_integer_value(json_object_get(json_array_get(r, 0), "metricN")), 0,
             "unknown agent: nothing");
    json_decref(r);
}

static void
test_dump_table_agent(agg_core *c)
{
    json_t *a, *r, *row;
    size_t i, n_topkeys = 0;

    a = ask(c, "{\"op\":\"dump\",\"agents\":\"ALL\",\"names\":[\"ifinoctets\",\"2.1.host_name\"]}",
            111.0);
    r = json_object_get(a, "result");
    CHECK_EQ(json_array_size(r), 6 + 3, "dump: 6 interfaces and 3 host names");
    CHECK(str(json_array_get(r, 0), "agent") && str(json_array_get(r, 0), "dataSource") &&
              json_is_integer(json_object_get(json_array_get(r, 0), "lastUpdate")),
          "dump: entries carry agent, dataSource, lastUpdate");
    CHECK_STR(str(json_array_get(r, 0), "metricName"), "ifinoctets", "dump: bare metric name");
    json_decref(a);
    a = ask(c, "{\"op\":\"dump\",\"names\":\"ALL\",\"agents\":[\"10.0.0.1\"]}", 111.0);
    r = json_object_get(a, "result");
    json_array_foreach(r, i, row)
    {
        if (strcmp(str(row, "metricName"), "tcp") == 0 && json_object_get(row, "topKeys"))
            n_topkeys++;
    }
    CHECK(json_array_size(r) > 10, "dump ALL: every metric of the agent");
    CHECK_EQ(n_topkeys, 1, "dump ALL: the flow metric with topKeys");
    json_decref(a);

    a = ask(c, "{\"op\":\"table\",\"names\":[\"ifname\",\"sort:ifinoctets:-2\"]}", 111.0);
    r = json_object_get(a, "result");
    CHECK_EQ(json_array_size(r), 2, "table: cut to 2 rows");
    row = json_array_get(r, 0);
    CHECK(num(json_array_get(row, 1), "metricValue") == 4000 &&
              strcmp(str(json_array_get(row, 0), "metricValue"), "eth0") == 0 &&
              strcmp(str(json_array_get(row, 0), "agent"), "10.0.0.4") == 0,
          "table: largest first, columns in order");
    CHECK(num(json_array_get(json_array_get(r, 1), 1), "metricValue") == 3000, "table: second");
    json_decref(a);
    a = ask(c, "{\"op\":\"table\",\"names\":[\"tcp\",\"ifinoctets\",\"ifoperstatus\"]}", 111.0);
    r = json_object_get(a, "result");
    CHECK_EQ(json_array_size(r), 2, "table: the 2 sources with tcp and ifinoctets");
    CHECK_STR(str(json_array_get(json_array_get(r, 0), 2), "metricValue"), "up",
              "table: an enum column");
    json_decref(a);
    a = ask(c, "{\"op\":\"table\",\"names\":[\"ifname\",\"max:\"]}", 111.0);
    CHECK(json_is_string(json_object_get(a, "error")), "table: a bad column name is an error");
    json_decref(a);

    a = ask(c, "{\"op\":\"metric_agent\",\"agent\":\"10.0.0.1\"}", 111.0);
    r = json_object_get(a, "result");
    CHECK(json_is_true(json_object_get(a, "found")), "metric_agent: found");
    CHECK(num(r, "2.1.load_one") == 0.5, "metric_agent: 2.1.load_one");
    CHECK_STR(str(r, "2.1.host_name"), "web-1", "metric_agent: 2.1.host_name");
    CHECK(num(r, "2.ifinoctets") == 3000, "metric_agent: 2.ifinoctets");
    CHECK_STR(str(r, "1.ifname"), "eth0", "metric_agent: 1.ifname");
    CHECK(num(r, "1.tcp") > 0, "metric_agent: the flow metric 1.tcp");
    json_decref(a);
    a = ask(c, "{\"op\":\"metric_agent\",\"agent\":\"10.9.9.9\"}", 111.0);
    CHECK(json_is_false(json_object_get(a, "found")) &&
              json_object_size(json_object_get(a, "result")) == 0,
          "metric_agent: unknown agent");
    json_decref(a);

    a = ask(c, "{\"op\":\"stats\"}", 111.0);
    CHECK_EQ(json_integer_value(json_object_get(json_object_get(a, "result"), "counter_samples")),
             2 * (6 + 3), "stats: counter_samples");
    CHECK_EQ(json_integer_value(json_object_get(json_object_get(a, "result"), "counter_sources")),
             9, "stats: counter_sources");
    json_decref(a);
}

static void
test_unowned(agg_core *c)
{
    uint64_t unowned = c->st.bus_unowned, samples;
    sfa_addr a;
    unsigned b;

    (void)sfa_addr_parse(agents[0].addr, &a);
    b = sfa_bucket_of(&a);
    c->owned[b] = 0;
    json_decref(ask(c, "{\"op\":\"stats\"}", 112.0));
    {
        json_t *s = agg_stats_json(c);
        samples = (uint64_t)json_integer_value(json_object_get(s, "counter_samples"));
        json_decref(s);
    }
    counters_at(c, &agents[0], 120, 3, 120.0);
    CHECK_EQ(c->st.bus_unowned, unowned + 1, "counter message of an unowned bucket dropped");
    {
        json_t *s = agg_stats_json(c);
        CHECK_EQ(json_integer_value(json_object_get(s, "counter_samples")), samples,
                 "and its samples not handled");
        json_decref(s);
    }
    c->owned[b] = 1;
}

/* Two shards with half of the agents each, merged, answer as one. */
static void
test_two_shards(agg_core *whole)
{
    static const char *queries[] = {
        "{\"op\":\"metric\",\"names\":[\"max:load_one\",\"min:ifinoctets\",\"sum:ifinoctets\","
        "\"avg:ifinoctets\",\"var:ifinoctets\",\"sdev:ifinoctets\",\"med:ifinoctets\","
        "\"q1:ifinoctets\",\"q3:ifinoctets\",\"iqr:ifinoctets\",\"any:ifname\",\"tcp\","
        "\"sum:tcp\",\"max:host_name\"]}",
        "{\"op\":\"metric\",\"names\":[\"sum:ifinoctets\",\"max:ifinutilization\"],"
        "\"filter\":{\"os_name\":[\"linux\",\"windows\"]}}",
    };
    agg_core a, b;

    core_up(&a);
    core_up(&b);
    feed(&a, 2, 0);
    feed(&b, 2, 1);
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        json_t *qa = ask(&a, queries[i], 111.0), *qb = ask(&b, queries[i], 111.0);
        json_t *one = metric(whole, queries[i]);
        const json_t *res[2] = {json_object_get(qa, "result"), json_object_get(qb, "result")};
        json_t *merged = sfa_metricagg_merge_metric(res, 2);
        char *x = json_dumps(one, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(12));
        char *y = json_dumps(merged, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(12));
        char what[64];

        snprintf(what, sizeof what, "two shards merged = one aggregator (query %zu)", i + 1);
        CHECK(x && y && strcmp(x, y) == 0, what);
        if (x && y && strcmp(x, y) != 0)
            printf("# one    %s\n# merged %s\n", x, y);
        free(x);
        free(y);
        json_decref(one);
        json_decref(merged);
        json_decref(qa);
        json_decref(qb);
    }
    agg_core_fini(&a);
    agg_core_fini(&b);
}

int
main(void)
{
    agg_core c;

    cfg.maxkeys = 1000;
    cfg.maxsources = 100;
    cfg.aggregator_id = "agg-test";
    core_up(&c);
    feed(&c, 1, 0);
    test_metrics_op(&c);
    test_metric_op(&c);
    test_dump_table_agent(&c);
    test_two_shards(&c);
    test_unowned(&c);
    agg_core_fini(&c);
    return test_done();
}
