/* metrics_bus_test.c - metrics.v1 from the aggregator's publisher
 * (services/aggregator/metrics_pub.c) to the events service's input
 * (metrics_in.c, rules.c) over a real nng bus on an ipc:// path: the
 * reversed pub/sub pair of sfa/bus.h (the publisher dials, the subscriber
 * listens), which metrics are wanted, the report's exact shape, and that
 * the report makes the rules fire.
 *
 * argv[1]: a directory for the ipc socket (the build dir).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sfa/clock.h>

#include "evt.h"
#include "metrics_pub.h"
#include "test.h"

typedef struct rx {
    int n;
    json_t *body;
    char src[64];
} rx;

static void
on_msg(sfa_bus *bus, const uint8_t *msg, size_t len, void *arg)
{
    rx *r = arg;
    sfa_envelope env;

    (void)bus;
    if (sfa_codec_parse(msg, len, &env) != 0)
        return;
    r->n++;
    json_decref(r->body);
    r->body = sfa_codec_body_json(&env);
    snprintf(r->src, sizeof r->src, "%.*s", (int)env.src_len, env.src);
}

/* Run the loop until *flag is nonzero or ms pass. */
static int
pump(uv_loop_t *loop, const int *flag, int ms)
{
    uint64_t end = sfa_clock_ms() + (uint64_t)ms;

    while (!*flag && sfa_clock_ms() < end) {
        uv_run(loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    return *flag;
}

typedef struct iter {
    int i;
    agg_metric_top top[2];
    double vals[2];
} iter;

static int
next_metric(void *arg, agg_metric *m)
{
    iter *it = arg;

    switch (it->i++) {
    case 0:
        *m = (agg_metric){AGG_METRIC_FLOW, "10.0.0.1", "3", "bytes", 900.5, it->top, 2};
        return 1;
    case 1:
        *m = (agg_metric){AGG_METRIC_COUNTER, "10.0.0.2", "2.1", "load_one", 0.7, NULL, 0};
        return 1;
    case 2: /* no threshold names it */
        *m = (agg_metric){AGG_METRIC_FLOW, "10.0.0.1", "3", "frames", 1, NULL, 0};
        return 1;
    case 3: /* incomplete */
        *m = (agg_metric){AGG_METRIC_FLOW, NULL, "3", "bytes", 1, NULL, 0};
        return 1;
    default:
        return 0;
    }
}

static void
on_fire(const evt_fire *f, void *arg)
{
    (void)f;
    (*(int *)arg)++;
}

static void
check_body(const json_t *b)
{
    const json_t *flows = json_object_get(b, "flows"), *counters = json_object_get(b, "counters");
    const json_t *f0 = json_array_get(flows, 0), *top = json_object_get(f0, "top");
    const json_t *c0 = json_array_get(counters, 0);

    CHECK_STR(json_string_value(json_object_get(b, "id")), "agg-test", "report id");
    CHECK_EQ(json_array_size(flows), 1, "one flow entry (unwanted and incomplete skipped)");
    CHECK_EQ(json_array_size(counters), 1, "one counter entry");
    CHECK_STR(json_string_value(json_object_get(f0, "agent")), "10.0.0.1", "flow agent");
    CHECK_STR(json_string_value(json_object_get(f0, "ds")), "3", "flow ds");
    CHECK_STR(json_string_value(json_object_get(f0, "name")), "bytes", "flow name");
    CHECK_NEAR(json_number_value(json_object_get(f0, "value")), 900.5, 1e-9, "flow value");
    CHECK_EQ(json_array_size(top), 2, "two top keys");
    CHECK_STR(json_string_value(json_array_get(json_array_get(top, 0), 0)), "a,b", "top key");
    CHECK_NEAR(json_number_value(json_array_get(json_array_get(top, 0), 1)), 700, 1e-9,
               "top value");
    CHECK_EQ(json_array_size(json_array_get(json_array_get(top, 0), 2)), 2, "top values");
    CHECK_EQ(json_array_size(json_array_get(top, 1)), 2, "a key without values: [key, value]");
    CHECK_STR(json_string_value(json_object_get(c0, "ds")), "2.1", "counter ds");
    CHECK_NEAR(json_number_value(json_object_get(c0, "value")), 0.7, 1e-9, "counter value");
}

int
main(int argc, char **argv)
{
    uv_loop_t loop;
    char url[600];
    sfa_bus *sub = NULL;
    agg_metrics_pub *p = NULL;
    agg_metrics_pub_stats st;
    rx r = {0};
    iter it = {0};
    double min = 0;
    json_t *thr;
    int connected = 0, fired = 0;

    snprintf(url, sizeof url, "ipc://%s/metrics_bus_test.%d", argc > 1 ? argv[1] : ".",
             (int)getpid());
    uv_loop_init(&loop);
    CHECK_OK(sfa_bus_sub_listen(&sub, &loop, url, 16, on_msg, &r), "events side listens");
    CHECK_OK(sfa_bus_subscribe(sub, EVT_TOPIC_METRICS, sizeof EVT_TOPIC_METRICS),
             "subscribe metrics.v1 with its NUL");
    CHECK_OK(agg_metrics_pub_open(&p, &loop, url, "agg-test"), "aggregator side dials");
    CHECK_OK(agg_metrics_pub_tick(p, next_metric, &it), "tick without thresholds");
    agg_metrics_pub_get_stats(p, &st);
    CHECK_EQ(st.reports, 0, "no thresholds: nothing published");
    CHECK_EQ(it.i, 0, "and the iterator is not even walked");

    thr = json_loads("{\"t1\":{\"metric\":\"bytes\",\"value\":100,\"byFlow\":true},"
                     "\"t2\":{\"metric\":\"bytes\",\"value\":50},"
                     "\"t3\":{\"metric\":\"load_one\",\"value\":1},\"bad\":{\"value\":1}}",
                     0, NULL);
    agg_metrics_pub_set_thresholds(p, thr);
    CHECK(agg_metrics_pub_wants(p, "bytes", &min), "bytes wanted");
    CHECK_NEAR(min, 50, 1e-9, "lowest threshold on bytes");
    CHECK(agg_metrics_pub_wants(p, "load_one", NULL), "load_one wanted");
    CHECK(!agg_metrics_pub_wants(p, "frames", NULL), "frames not wanted");

    for (uint64_t end = sfa_clock_ms() + 5000; !connected && sfa_clock_ms() < end;) {
        uv_run(&loop, UV_RUN_NOWAIT);
        agg_metrics_pub_get_stats(p, &st);
        connected = st.peers > 0;
        usleep(1000);
    }
    CHECK(connected, "the publisher's dialer reached the listening subscriber");

    it.top[0] = (agg_metric_top){"a,b", 700, it.vals, 2};
    it.top[1] = (agg_metric_top){"c,d", 200.5, NULL, 0};
    it.vals[0] = 700;
    it.vals[1] = 3;
    CHECK_OK(agg_metrics_pub_tick(p, next_metric, &it), "tick with thresholds");
    CHECK(pump(&loop, &r.n, 5000), "report received");
    CHECK_STR(r.src, "agg-test", "envelope src is the aggregator id");
    if (r.body) {
        evt_thresholds *set = evt_thresholds_create();
        evt_rules *rules = evt_rules_create(set, 2000, on_fire, &fired);
        evt_metrics_stats ms = {0};

        check_body(r.body);
        (void)evt_thresholds_update(set, thr, NULL);
        CHECK_OK(evt_metrics_apply(rules, r.body, 0, &ms), "events side applies the report");
        CHECK_EQ(fired, 3,
                 "t1 fires for both keys, t2 for the data source; load_one stays "
                 "below");
        evt_rules_destroy(rules);
        evt_thresholds_destroy(set);
    }
    agg_metrics_pub_get_stats(p, &st);
    CHECK_EQ(st.reports, 1, "one report counted");
    CHECK_EQ(st.entries, 2, "two entries counted");
    json_decref(thr);
    json_decref(r.body);
    agg_metrics_pub_close(p);
    sfa_bus_close(sub);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_OK(uv_loop_close(&loop), "loop closes cleanly");
    return test_done();
}
