/* core_test.c - the aggregator without sockets: defs.v1 bodies applied
 * (defs.c), encoded sample messages ingested (ingest.c) and surveys
 * answered (respond.c), at explicit times.
 *
 * Checks the values of activeflows against hand computation (bytes x
 * sampling rate / T right after the samples), the max and sum merges
 * across data sources with flowN, the agents selector, maxFlows and
 * minValue, values[], flowkeys, hello and stats; sequence gaps, unowned
 * buckets and counter messages counted; dropping a lost bucket's sources;
 * and how definition changes keep, replace or drop tables.
 */
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "flow_sample.h"
#include "test.h"

static agg_config cfg;
static agg_core core;
static uint8_t buf[1 << 20];

/* Encode d as one flow message of its agent's bucket and ingest it. */
static void
ingest(const sfa_dgram *d, uint64_t seq, double now)
{
    char topic[SFA_TOPIC_MAX];
    sfa_batch b;
    size_t len;

    sfa_topic_samples(topic, SFA_KIND_FLOW, sfa_bucket_of(&d->agent));
    if (sfa_batch_begin(&b, buf, sizeof buf, topic, "col-1") != 0 ||
        sfa_batch_add(&b, d, SFA_KIND_FLOW) != 0) {
        printf("# cannot encode\n");
        exit(1);
    }
    len = sfa_batch_finish(&b, seq, 1700000000000ull);
    agg_ingest_msg(&core, buf, len, now);
}

static int
apply(const char *text, double now)
{
    json_t *body = json_loads(text, 0, NULL);
    int rc;

    if (!body) {
        printf("# bad JSON %s\n", text);
        exit(1);
    }
    rc = agg_defs_apply(&core, body, now);
    json_decref(body);
    return rc;
}

/* Survey q (JSON text) at now; returns the answer (new). */
static json_t *
ask(const char *text, double now)
{
    json_t *q = json_loads(text, 0, NULL), *a;

    if (!q) {
        printf("# bad JSON %s\n", text);
        exit(1);
    }
    a = agg_respond_answer(&core, q, now);
    json_decref(q);
    return a;
}

static double
num(const json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

static long long
ival(const json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

static size_t
nres(const json_t *a)
{
    return json_array_size(json_object_get(a, "result"));
}

static const char *
str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static const char DEFS1[] =
    "{\"version\":1,\"lanes\":4,\"members\":[\"agg-test\"],\"groups\":{},\"maps\":{},"
    "\"flows\":{\"pairs\":{\"keys\":\"ipsource,ipdestination\",\"value\":\"bytes\",\"t\":2},"
    "\"vals\":{\"keys\":\"ipsource\",\"value\":\"frames\",\"values\":\"bytes\",\"t\":2}}}";

static void
feed(void)
{
    sfa_dgram *d1 = fs_dgram_new("10.0.0.1"), *d2 = fs_dgram_new("10.0.0.2");

    for (int i = 0; i < 4; i++)
        fs_tcp4(d1, 3, 10, "10.1.1.1", "10.2.2.2", 40000, 443, 1000);
    for (int i = 0; i < 2; i++)
        fs_tcp4(d1, 4, 10, "10.1.1.1", "10.2.2.2", 40000, 443, 1000);
    fs_tcp4(d1, 3, 10, "10.1.1.1", "10.3.3.3", 40000, 443, 500);
    for (int i = 0; i < 8; i++)
        fs_tcp4(d2, 1, 10, "10.1.1.1", "10.2.2.2", 40000, 443, 1000);
    ingest(d1, 1, 100.0);
    ingest(d2, 1, 100.0);
    free(d1);
    free(d2);
}

static void
test_activeflows(void)
{
    json_t *a, *r, *e;

    a = ask("{\"op\":\"activeflows\",\"name\":\"pairs\",\"agents\":\"ALL\",\"maxFlows\":10,"
            "\"minValue\":0,\"aggMode\":\"max\"}",
            100.0);
    r = json_object_get(a, "result");
    CHECK_EQ(json_array_size(r), 2, "max: two keys");
    e = json_array_get(r, 0);
    CHECK_STR(str(e, "key"), "10.1.1.1,10.2.2.2", "largest key first");
    CHECK_NEAR(num(e, "value"), 8 * 10000 / 2.0, 1e-6,
               "max over sources: 8 x 1000 bytes x rate 10 / T at 10.0.0.2");
    CHECK_STR(str(e, "agent"), "10.0.0.2", "agent of the largest entry");
    CHECK_STR(str(e, "dataSource"), "1", "its dataSource");
    CHECK_EQ(ival(e, "flowN"), 3, "flowN: three data sources");
    CHECK(json_object_get(e, "values") == NULL, "no values[] without values in the definition");
    e = json_array_get(r, 1);
    CHECK_NEAR(num(e, "value"), 5000 / 2.0, 1e-6, "second key");
    CHECK_STR(str(a, "id"), "agg-test", "answer carries our id");
    CHECK_STR(str(a, "op"), "activeflows", "and the op");
    json_decref(a);

    a = ask("{\"op\":\"activeflows\",\"name\":\"pairs\",\"agents\":\"ALL\",\"maxFlows\":1,"
            "\"aggMode\":\"sum\"}",
            100.0);
    r = json_object_get(a, "result");
    e = json_array_get(r, 0);
    CHECK_NEAR(num(e, "value"), 14 * 10000 / 2.0, 1e-6, "sum over the three sources");
    CHECK_EQ(json_array_size(r), 2, "sum: every key returned whatever maxFlows (gateway trims)");
    json_decref(a);

    a = ask("{\"op\":\"activeflows\",\"name\":\"pairs\",\"agents\":[\"10.0.0.1\"],"
            "\"maxFlows\":10,\"aggMode\":\"max\"}",
            100.0);
    e = json_array_get(json_object_get(a, "result"), 0);
    CHECK_NEAR(num(e, "value"), 4 * 10000 / 2.0, 1e-6, "agents list: only 10.0.0.1's sources");
    CHECK_STR(str(e, "dataSource"), "3", "its largest source");
    CHECK_EQ(ival(e, "flowN"), 2, "flowN 2");
    json_decref(a);

    a = ask("{\"op\":\"activeflows\",\"name\":\"pairs\",\"agents\":\"ALL\",\"maxFlows\":1}", 100.0);
    CHECK_EQ(nres(a), 1, "maxFlows 1");
    json_decref(a);
    a = ask("{\"op\":\"activeflows\",\"name\":\"pairs\",\"agents\":\"ALL\",\"minValue\":3000}",
            100.0);
    CHECK_EQ(nres(a), 1, "minValue drops the small key");
    json_decref(a);
    a = ask("{\"op\":\"activeflows\",\"name\":\"pairs\",\"agents\":\"ALL\"}", 102.0);
    e = json_array_get(json_object_get(a, "result"), 0);
    CHECK_NEAR(num(e, "value"), 40000 * exp(-1), 1e-6, "one T later: decayed by e^-1");
    json_decref(a);
    a = ask("{\"op\":\"activeflows\",\"name\":\"nosuch\",\"agents\":\"ALL\"}", 100.0);
    CHECK(json_is_array(json_object_get(a, "result")) && nres(a) == 0,
          "unknown flow: empty result");
    json_decref(a);

    /* values[]: frames with bytes alongside. */
    a = ask("{\"op\":\"activeflows\",\"name\":\"vals\",\"agents\":\"ALL\",\"aggMode\":\"max\"}",
            100.0);
    e = json_array_get(json_object_get(a, "result"), 0);
    CHECK_NEAR(num(e, "value"), 80 / 2.0, 1e-6, "frames x rate / T at the largest source");
    CHECK_NEAR(json_number_value(json_array_get(json_object_get(e, "values"), 0)), 80000 / 2.0,
               1e-6, "values[0]: bytes of that source");
    json_decref(a);
    a = ask("{\"op\":\"activeflows\",\"name\":\"vals\",\"agents\":\"ALL\",\"aggMode\":\"sum\"}",
            100.0);
    e = json_array_get(json_object_get(a, "result"), 0);
    CHECK_NEAR(num(e, "value"), 150 / 2.0, 1e-6, "sum of frames");
    CHECK_NEAR(json_number_value(json_array_get(json_object_get(e, "values"), 0)), 145000 / 2.0,
               1e-6, "values[] summed element-wise");
    json_decref(a);
}

static void
test_other_ops(void)
{
    json_t *a, *r;

    a = ask("{\"op\":\"flowkeys\"}", 101.5);
    r = json_object_get(a, "result");
    CHECK_EQ(ival(r, "ipsource"), 1500, "flowkeys: ipsource 1.5 s ago");
    CHECK(json_object_get(r, "agent") != NULL, "flowkeys: metadata key agent");
    CHECK(json_object_get(r, "tcpsourceport") != NULL, "flowkeys: tcpsourceport");
    CHECK(json_object_get(r, "udpsourceport") == NULL, "flowkeys: a field never seen is absent");
    json_decref(a);

    a = ask("{\"op\":\"hello\"}", 100.0);
    CHECK_EQ(json_array_size(json_object_get(a, "buckets")), 256, "hello: owned buckets");
    CHECK_EQ(ival(a, "defs_version"), 1, "hello: defs version");
    r = json_object_get(a, "stats");
    CHECK_EQ(ival(r, "samples_in"), 15, "stats: 15 samples");
    CHECK_EQ(ival(r, "flows_generated"), 30, "stats: 15 samples x 2 definitions");
    CHECK_EQ(ival(r, "keys_tracked"), 7, "stats: keys tracked");
    CHECK_EQ(ival(r, "definitions"), 2, "stats: definitions");
    CHECK(json_object_get(r, "evictions") != NULL && json_object_get(r, "bus_gaps") != NULL,
          "stats: evictions and bus_gaps exposed");
    json_decref(a);

    a = ask("{\"op\":\"stats\"}", 100.0);
    r = json_object_get(json_object_get(json_object_get(a, "result"), "flows"), "pairs");
    CHECK_EQ(ival(r, "keys"), 4, "stats: per-definition keys");
    json_decref(a);
    a = ask("{\"op\":\"frobnicate\"}", 100.0);
    CHECK(json_is_string(json_object_get(a, "error")), "unknown op: error");
    json_decref(a);
}

static void
test_bus_accounting(void)
{
    sfa_dgram *d = fs_dgram_new("10.0.0.1");
    unsigned b = sfa_bucket_of(&d->agent);
    uint64_t unowned = core.st.bus_unowned, samples = core.st.samples_in;
    static const uint8_t counter_msg[] = "counter.v1.2c";
    sfa_batch bt;
    size_t len;

    fs_tcp4(d, 3, 10, "10.9.9.9", "10.2.2.2", 1, 2, 100);
    ingest(d, 5, 100.0);
    CHECK_EQ(core.st.bus_gaps, 3, "seq 1 then 5: three messages lost");
    core.owned[b] = 0;
    ingest(d, 6, 100.0);
    CHECK_EQ(core.st.bus_unowned, unowned + 1, "a message of a bucket we do not own is dropped");
    CHECK_EQ(core.st.samples_in, samples + 1, "and its samples not counted");
    core.owned[b] = 1;
    if (sfa_batch_begin(&bt, buf, sizeof buf, (const char *)counter_msg, "col-1") == 0) {
        len = sfa_batch_finish(&bt, 1, 1);
        agg_ingest_msg(&core, buf, len, 100.0);
    }
    CHECK_EQ(core.st.counter_msgs, 1, "counter messages reach the hook");
    agg_ingest_msg(&core, (const uint8_t *)"junk", 4, 100.0);
    CHECK_EQ(core.st.bus_bad, 1, "a bad message is counted");
    free(d);
}

static void
test_drop_bucket(void)
{
    sfa_addr a2;
    uint8_t lost[SFA_BUCKETS] = {0};
    json_t *a;

    (void)sfa_addr_parse("10.0.0.2", &a2);
    lost[sfa_bucket_of(&a2)] = 1;
    agg_core_drop_buckets(&core, lost);
    a = ask("{\"op\":\"activeflows\",\"name\":\"pairs\",\"agents\":\"ALL\"}", 100.0);
    CHECK_NEAR(num(json_array_get(json_object_get(a, "result"), 0), "value"), 20000, 1e-6,
               "after losing 10.0.0.2's bucket its flows are gone");
    CHECK_EQ(core.st.sources_purged, 1, "one data source purged");
    json_decref(a);
}

static void
test_defs_changes(void)
{
    json_t *a;
    int rc;

    CHECK_EQ(apply(DEFS1, 101.0), 0, "same version again: nothing changes");
    rc = apply("{\"version\":2,\"members\":[\"agg-test\"],\"flows\":{"
               "\"pairs\":{\"keys\":\"ipsource,ipdestination\",\"value\":\"bytes\",\"t\":2},"
               "\"fr\":{\"value\":\"frames\"}}}",
               101.0);
    CHECK_EQ(rc, 0, "version 2, same members: 0");
    CHECK_EQ(core.ndefs, 2, "two definitions");
    CHECK(agg_defs_find(&core, "vals") == NULL, "vals removed");
    CHECK(agg_defs_find(&core, "fr") != NULL, "fr added");
    a = ask("{\"op\":\"activeflows\",\"name\":\"pairs\",\"agents\":\"ALL\"}", 100.0);
    CHECK_EQ(nres(a), 3, "an unchanged definition keeps its table");
    json_decref(a);
    rc = apply("{\"version\":3,\"members\":[\"agg-test\",\"agg-x\"],\"flows\":{"
               "\"pairs\":{\"keys\":\"ipsource,ipdestination\",\"value\":\"bytes\",\"t\":5},"
               "\"bad\":{\"keys\":\"nosuchkey\",\"value\":\"bytes\"}}}",
               101.0);
    CHECK_EQ(rc, 1, "member list changed: 1");
    a = ask("{\"op\":\"activeflows\",\"name\":\"pairs\",\"agents\":\"ALL\"}", 101.0);
    CHECK_EQ(nres(a), 0, "a changed definition starts a new table");
    json_decref(a);
    CHECK(agg_defs_find(&core, "bad") == NULL, "a definition that does not compile is skipped");
    CHECK_EQ(core.st.defs_errors, 1, "and counted");
    CHECK_EQ(core.defs_version, 3, "version 3 applied");
    CHECK_ERR(apply("{\"flows\":{}}", 101.0), SFA_EFORMAT, "a body without version is refused");
}

int
main(void)
{
    cfg.maxkeys = 1000;
    cfg.maxsources = 100;
    cfg.aggregator_id = "agg-test";
    agg_core_init(&core, &cfg, 99.0);
    CHECK_EQ(apply(DEFS1, 99.0), 1, "first defs.v1: members known");
    CHECK_EQ(core.ndefs, 2, "two definitions compiled");
    memset(core.owned, 1, sizeof core.owned);
    core.nowned = SFA_BUCKETS;
    feed();
    test_activeflows();
    test_other_ops();
    test_bus_accounting();
    test_drop_bucket();
    test_defs_changes();
    agg_core_fini(&core);
    return test_done();
}
