/* merge_test.c - merging aggregator answers (services/gateway/query_merge.c).
 */
#include <string.h>

#include "gw.h"
#include "test.h"

static json_t *
parse(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);

    if (!j)
        printf("# bad test JSON: %s\n", e.text);
    return j;
}

static const char *
key_at(const json_t *a, size_t i)
{
    return json_string_value(json_object_get(json_array_get(a, i), "key"));
}

static double
value_at(const json_t *a, size_t i)
{
    return json_number_value(json_object_get(json_array_get(a, i), "value"));
}

static void
test_max(void)
{
    json_t *r[2], *out;
    gw_merge_stats st = {0};

    r[0] = parse(
        "[{\"key\":\"a\",\"value\":10,\"agent\":\"10.0.0.1\",\"dataSource\":\"1\","
        "\"flowN\":1,\"values\":[1,2]},"
        "{\"key\":\"b\",\"value\":5,\"agent\":\"10.0.0.1\",\"dataSource\":\"2\",\"flowN\":1}]");
    r[1] = parse(
        "[{\"key\":\"a\",\"value\":30,\"agent\":\"10.0.0.9\",\"dataSource\":\"7\","
        "\"flowN\":2,\"values\":[3,4]},"
        "{\"key\":\"c\",\"value\":20,\"agent\":\"10.0.0.9\",\"dataSource\":\"7\",\"flowN\":1},"
        "{\"nokey\":1},{\"key\":\"d\",\"value\":\"x\"}]");
    out = gw_merge_activeflows(r, 2, 0, 100, 0, &st);
    CHECK_EQ(json_array_size(out), 3, "max: three keys");
    CHECK_STR(key_at(out, 0), "a", "max: a first");
    CHECK_NEAR(value_at(out, 0), 30, 1e-9, "max: a takes the larger value");
    CHECK_STR(json_string_value(json_object_get(json_array_get(out, 0), "agent")), "10.0.0.9",
              "max: agent of the larger contribution");
    CHECK_STR(json_string_value(json_object_get(json_array_get(out, 0), "dataSource")), "7",
              "max: dataSource of the larger contribution");
    CHECK_EQ(json_integer_value(json_object_get(json_array_get(out, 0), "flowN")), 3,
             "max: flowN adds up");
    CHECK_NEAR(
        json_number_value(json_array_get(json_object_get(json_array_get(out, 0), "values"), 0)), 3,
        1e-9, "max: values of the winner");
    CHECK_STR(key_at(out, 1), "c", "max: c second");
    CHECK_STR(key_at(out, 2), "b", "max: b third");
    CHECK(json_object_get(json_array_get(out, 2), "values") == NULL, "no values when none given");
    CHECK_EQ(st.bad_entries, 2, "max: malformed entries counted");
    json_decref(out);
    out = gw_merge_activeflows(r, 2, 0, 2, 0, NULL);
    CHECK_EQ(json_array_size(out), 2, "maxFlows caps the answer");
    json_decref(out);
    out = gw_merge_activeflows(r, 2, 0, 100, 10, NULL);
    CHECK_EQ(json_array_size(out), 2, "minValue drops smaller flows (10 kept)");
    json_decref(out);
    out = gw_merge_activeflows(r, 2, 0, 0, 0, NULL);
    CHECK_EQ(json_array_size(out), 0, "maxFlows 0 gives an empty list");
    json_decref(out);
    json_decref(r[0]);
    json_decref(r[1]);
}

static void
test_sum(void)
{
    json_t *r[2], *out, *vals;

    r[0] = parse(
        "[{\"key\":\"a\",\"value\":10,\"agent\":\"10.0.0.1\",\"dataSource\":\"1\","
        "\"flowN\":1,\"values\":[1,2]},"
        "{\"key\":\"b\",\"value\":25,\"agent\":\"10.0.0.1\",\"dataSource\":\"2\",\"flowN\":1}]");
    r[1] = parse("[{\"key\":\"a\",\"value\":20,\"agent\":\"10.0.0.9\",\"dataSource\":\"7\","
                 "\"flowN\":1,\"values\":[3,4,5]}]");
    out = gw_merge_activeflows(r, 2, 1, 100, 0, NULL);
    CHECK_EQ(json_array_size(out), 2, "sum: two keys");
    CHECK_STR(key_at(out, 0), "a", "sum: a first after adding up");
    CHECK_NEAR(value_at(out, 0), 30, 1e-9, "sum: values add");
    CHECK_STR(json_string_value(json_object_get(json_array_get(out, 0), "agent")), "10.0.0.9",
              "sum: agent of the largest contribution");
    vals = json_object_get(json_array_get(out, 0), "values");
    CHECK(json_array_size(vals) == 3 && json_number_value(json_array_get(vals, 0)) == 4 &&
              json_number_value(json_array_get(vals, 2)) == 5,
          "sum: values add element-wise");
    CHECK_EQ(json_integer_value(json_object_get(json_array_get(out, 0), "flowN")), 2,
             "sum: flowN adds up");
    json_decref(out);
    json_decref(r[0]);
    json_decref(r[1]);
}

/* Shards returning all candidates give the same answer as one table. */
static void
test_sum_equals_single(void)
{
    json_t *one = json_array(), *s0 = json_array(), *s1 = json_array(), *r[2], *a, *b;
    char key[16];
    int same = 1;

    for (int i = 0; i < 50; i++) {
        double v0 = (i * 37) % 23, v1 = (i * 11) % 17;

        snprintf(key, sizeof key, "k%d", i);
        json_array_append_new(s0, json_pack("{s:s, s:f, s:s, s:s, s:i}", "key", key, "value", v0,
                                            "agent", "10.0.0.1", "dataSource", "1", "flowN", 1));
        json_array_append_new(s1, json_pack("{s:s, s:f, s:s, s:s, s:i}", "key", key, "value", v1,
                                            "agent", "10.0.0.2", "dataSource", "1", "flowN", 1));
        json_array_append_new(one, json_pack("{s:s, s:f, s:s, s:s, s:i}", "key", key, "value", v0,
                                             "agent", "10.0.0.1", "dataSource", "1", "flowN", 1));
        json_array_append_new(one, json_pack("{s:s, s:f, s:s, s:s, s:i}", "key", key, "value", v1,
                                             "agent", "10.0.0.2", "dataSource", "1", "flowN", 1));
    }
    r[0] = s0;
    r[1] = s1;
    a = gw_merge_activeflows(r, 2, 1, 10, 0, NULL);
    b = gw_merge_activeflows(&one, 1, 1, 10, 0, NULL);
    same = json_equal(a, b);
    CHECK(same && json_array_size(a) == 10, "sum over shards equals sum over one table");
    for (size_t i = 1; i < json_array_size(a); i++)
        if (value_at(a, i) > value_at(a, i - 1))
            same = 0;
    CHECK(same, "sorted by value, descending");
    json_decref(a);
    json_decref(b);
    json_decref(one);
    json_decref(s0);
    json_decref(s1);
}

static void
test_flowkeys(void)
{
    json_t *r[3], *out;

    r[0] = parse("{\"ipsource\":120,\"tcpflags\":50}");
    r[1] = parse("{\"ipsource\":30,\"vlan\":7}");
    r[2] = parse("[1,2]");
    out = gw_merge_flowkeys(r, 3);
    CHECK_EQ(json_object_size(out), 3, "flowkeys: union of keys");
    CHECK_EQ(json_integer_value(json_object_get(out, "ipsource")), 30, "flowkeys: most recent");
    json_decref(out);
    for (int i = 0; i < 3; i++)
        json_decref(r[i]);
}

static void
test_agents(void)
{
    json_t *t[2], *out, *a;
    uint64_t ages[2] = {100, 0};

    t[0] = parse("{\"10.0.0.1\":{\"sFlowDatagramSource\":[\"10.0.0.1\"],\"firstSeen\":1000,"
                 "\"lastSeen\":50,\"uptime\":5000,\"sFlowDatagramsReceived\":10},"
                 "\"10.0.0.2\":{\"sFlowDatagramsReceived\":1}}");
    t[1] = parse("{\"10.0.0.1\":{\"sFlowDatagramSource\":[\"10.0.0.5\"],\"firstSeen\":2000,"
                 "\"lastSeen\":20,\"uptime\":4000,\"sFlowDatagramsReceived\":5}}");
    out = gw_merge_agents(t, ages, 2);
    a = json_object_get(out, "10.0.0.1");
    CHECK_EQ(json_object_size(out), 2, "agents: union of agents");
    CHECK_EQ(json_integer_value(json_object_get(a, "sFlowDatagramsReceived")), 15,
             "agents: counters add up");
    CHECK_EQ(json_integer_value(json_object_get(a, "firstSeen")), 2000, "agents: oldest firstSeen");
    CHECK_EQ(json_integer_value(json_object_get(a, "lastSeen")), 20, "agents: newest lastSeen");
    CHECK_EQ(json_integer_value(json_object_get(a, "uptime")), 5000, "agents: largest uptime");
    CHECK_EQ(json_array_size(json_object_get(a, "sFlowDatagramSource")), 2,
             "agents: datagram sources united");
    json_decref(out);
    out = gw_merge_agents(t, ages, 1);
    CHECK_EQ(json_integer_value(json_object_get(json_object_get(out, "10.0.0.1"), "lastSeen")), 150,
             "agents: age added to lastSeen");
    json_decref(out);
    json_decref(t[0]);
    json_decref(t[1]);
}

int
main(void)
{
    test_max();
    test_sum();
    test_sum_equals_single();
    test_flowkeys();
    test_agents();
    return test_done();
}
