/* rules_test.c - the threshold state machine (services/events/rules.c) and
 * the threshold compiler (thresholds.c): step up fires once, staying above
 * repeats nothing, re-arm only after timeout at or below, byFlow per key,
 * one state per data source otherwise, strictly greater, filters, missing
 * keys and data sources, stale sweeps, threshold changes; and
 * metrics.v1 bodies through evt_metrics_apply. Time is passed in, so
 * everything is deterministic.
 */
#include <stdlib.h>
#include <string.h>

#include "evt.h"
#include "test.h"

#define MAXF 64

typedef struct fires {
    int n;
    char thr[MAXF][64], agent[MAXF][64], ds[MAXF][64], key[MAXF][64];
    double value[MAXF];
    int has_values[MAXF];
} fires;

static void
on_fire(const evt_fire *f, void *arg)
{
    fires *fs = arg;

    if (fs->n >= MAXF)
        return;
    snprintf(fs->thr[fs->n], 64, "%s", f->thr->name);
    snprintf(fs->agent[fs->n], 64, "%s", f->agent);
    snprintf(fs->ds[fs->n], 64, "%s", f->ds);
    snprintf(fs->key[fs->n], 64, "%s", f->flow_key ? f->flow_key : "(none)");
    fs->value[fs->n] = f->value;
    fs->has_values[fs->n] = f->values != NULL;
    fs->n++;
}

/* Install thresholds from JSON text. */
static void
set_thresholds(evt_thresholds *s, evt_rules *r, const char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    size_t bad = 0;

    (void)evt_thresholds_update(s, j, &bad);
    if (r)
        evt_rules_rebind(r);
    json_decref(j);
}

/* One report from src with a single flow entry (byFlow keys in top). */
static void
flow_report(evt_rules *r, const char *src, uint64_t now, const char *agent, const char *ds,
            const char *name, double value, const evt_topkey *top, size_t ntop)
{
    evt_rules_begin(r, src, now);
    evt_rules_flow(r, agent, ds, name, value, top, ntop);
    evt_rules_end(r);
}

static void
counter_report(evt_rules *r, uint64_t now, const char *agent, const char *ds, const char *name,
               double value)
{
    evt_rules_begin(r, "agg", now);
    evt_rules_counter(r, agent, ds, name, value);
    evt_rules_end(r);
}

static void
test_step_once(void)
{
    evt_thresholds *s = evt_thresholds_create();
    fires fs = {0};
    evt_rules *r = evt_rules_create(s, 2000, on_fire, &fs);
    uint64_t t = 1000;

    set_thresholds(s, r, "{\"load\":{\"metric\":\"load_one\",\"value\":2,\"timeout\":10}}");
    for (int i = 0; i < 4; i++, t += 250)
        counter_report(r, t, "10.0.0.1", "0", "load_one", 1.0);
    CHECK_EQ(fs.n, 0, "below: no event");
    counter_report(r, t, "10.0.0.1", "0", "load_one", 2.0);
    CHECK_EQ(fs.n, 0, "equal to the threshold: no event (strictly greater)");
    t += 250;
    counter_report(r, t, "10.0.0.1", "0", "load_one", 2.5);
    CHECK_EQ(fs.n, 1, "step above: one event");
    CHECK_STR(fs.key[0], "(none)", "counter event has no flow key");
    CHECK_NEAR(fs.value[0], 2.5, 1e-9, "event carries the value");
    for (int i = 0; i < 40; i++) {
        t += 250;
        counter_report(r, t, "10.0.0.1", "0", "load_one", 3.0 + i);
    }
    CHECK_EQ(fs.n, 1, "staying above for 10 s: no repeat");
    CHECK(evt_rules_triggered(r, "load", "10.0.0.1", "0", ""), "state is disarmed");
    evt_rules_destroy(r);
    evt_thresholds_destroy(s);
}

static void
test_rearm(void)
{
    evt_thresholds *s = evt_thresholds_create();
    fires fs = {0};
    evt_rules *r = evt_rules_create(s, 100000, on_fire, &fs);
    uint64_t t = 0;

    set_thresholds(s, r, "{\"l\":{\"metric\":\"m\",\"value\":10,\"timeout\":5}}");
    counter_report(r, t, "a", "1", "m", 11);
    CHECK_EQ(fs.n, 1, "first crossing fires");
    /* Below for 4.75 s (< timeout), then up again: no event. */
    for (t = 250; t <= 5000; t += 250)
        counter_report(r, t, "a", "1", "m", 10); /* equal counts as below */
    counter_report(r, t, "a", "1", "m", 50);
    CHECK_EQ(fs.n, 1, "below for less than timeout, then up: no event");
    CHECK(evt_rules_triggered(r, "l", "a", "1", ""), "still disarmed");
    /* Below from t0 for exactly 5 s, then up: a new event. */
    uint64_t t0 = t + 250;
    for (t = t0; t <= t0 + 5000; t += 250)
        counter_report(r, t, "a", "1", "m", 3);
    CHECK(!evt_rules_triggered(r, "l", "a", "1", ""), "re-armed after timeout at or below");
    counter_report(r, t, "a", "1", "m", 10.5);
    CHECK_EQ(fs.n, 2, "below for timeout, then up: new event");
    evt_rules_destroy(r);
    evt_thresholds_destroy(s);
}

static void
test_timeout_zero(void)
{
    evt_thresholds *s = evt_thresholds_create();
    fires fs = {0};
    evt_rules *r = evt_rules_create(s, 100000, on_fire, &fs);

    set_thresholds(s, r, "{\"z\":{\"metric\":\"m\",\"value\":1,\"timeout\":0}}");
    counter_report(r, 0, "a", "1", "m", 2);
    counter_report(r, 10, "a", "1", "m", 2);
    counter_report(r, 20, "a", "1", "m", 0);
    counter_report(r, 30, "a", "1", "m", 2);
    CHECK_EQ(fs.n, 2, "timeout 0: one report at or below re-arms");
    evt_rules_destroy(r);
    evt_thresholds_destroy(s);
}

static void
test_by_flow(void)
{
    evt_thresholds *s = evt_thresholds_create();
    fires fs = {0};
    evt_rules *r = evt_rules_create(s, 100000, on_fire, &fs);
    json_t *vals = json_pack("[f, f]", 1.0, 2.0);
    evt_topkey top[3] = {{"k1", 500, vals}, {"k2", 300, NULL}, {"k3", 50, NULL}};
    uint64_t t = 0;

    set_thresholds(s, r,
                   "{\"big\":{\"metric\":\"bytes\",\"value\":100,\"byFlow\":true,"
                   "\"timeout\":2}}");
    flow_report(r, "agg", t, "10.0.0.1", "3", "bytes", 850, top, 3);
    CHECK_EQ(fs.n, 2, "byFlow: one event per key above");
    CHECK_STR(fs.key[0], "k1", "first key");
    CHECK_STR(fs.key[1], "k2", "second key");
    CHECK_NEAR(fs.value[1], 300, 1e-9, "event value is the key's value");
    CHECK(fs.has_values[0] && !fs.has_values[1], "values carried when the flow has them");
    for (int i = 0; i < 8; i++) {
        t += 250;
        flow_report(r, "agg", t, "10.0.0.1", "3", "bytes", 850, top, 3);
    }
    CHECK_EQ(fs.n, 2, "keys staying above: no repeats");
    /* k3 rises: a new key fires on its own. */
    top[2].value = 101;
    t += 250;
    flow_report(r, "agg", t, "10.0.0.1", "3", "bytes", 901, top, 3);
    CHECK_EQ(fs.n, 3, "a third key crossing fires once");
    CHECK_STR(fs.key[2], "k3", "for that key");
    /* The same key on another data source is another state. */
    t += 250;
    flow_report(r, "agg", t, "10.0.0.1", "4", "bytes", 500, top, 1);
    CHECK_EQ(fs.n, 4, "same key, other data source: its own event");
    /* k1 leaves the top list (counts as below) for 2 s while k2 stays. */
    uint64_t t0 = t + 250;
    for (t = t0; t <= t0 + 2000; t += 250)
        flow_report(r, "agg", t, "10.0.0.1", "3", "bytes", 300, &top[1], 2);
    CHECK(!evt_rules_triggered(r, "big", "10.0.0.1", "3", "k1"), "missing key re-armed");
    CHECK(evt_rules_triggered(r, "big", "10.0.0.1", "3", "k2"), "present key still disarmed");
    flow_report(r, "agg", t, "10.0.0.1", "3", "bytes", 901, top, 3);
    CHECK_EQ(fs.n, 5, "k1 back above after timeout: new event");
    CHECK_STR(fs.key[4], "k1", "for k1 only");
    json_decref(vals);
    evt_rules_destroy(r);
    evt_thresholds_destroy(s);
}

static void
test_per_data_source(void)
{
    evt_thresholds *s = evt_thresholds_create();
    fires fs = {0};
    evt_rules *r = evt_rules_create(s, 100000, on_fire, &fs);
    evt_topkey top[2] = {{"k1", 80, NULL}, {"k2", 70, NULL}};
    evt_topkey top2[2] = {{"k9", 90, NULL}, {"k1", 10, NULL}};

    set_thresholds(s, r, "{\"total\":{\"metric\":\"bytes\",\"value\":100,\"timeout\":1}}");
    flow_report(r, "agg", 0, "a", "1", "bytes", 150, top, 2);
    CHECK_EQ(fs.n, 1, "not byFlow: one event for the data source");
    CHECK_STR(fs.key[0], "k1", "naming the top key");
    CHECK_NEAR(fs.value[0], 150, 1e-9, "with the data source's value");
    flow_report(r, "agg", 250, "a", "1", "bytes", 160, top2, 2);
    CHECK_EQ(fs.n, 1, "a different top key while above: no event");
    flow_report(r, "agg", 500, "b", "1", "bytes", 101, top, 2);
    CHECK_EQ(fs.n, 2, "another agent: its own event");
    flow_report(r, "agg", 750, "b", "1", "bytes", 99, NULL, 0);
    flow_report(r, "agg", 1750, "b", "1", "bytes", 99, NULL, 0);
    flow_report(r, "agg", 2000, "b", "1", "bytes", 120, NULL, 0);
    CHECK_EQ(fs.n, 3, "re-armed data source fires again, even without top keys");
    CHECK_STR(fs.key[2], "(none)", "no flow key when the top list is empty");
    evt_rules_destroy(r);
    evt_thresholds_destroy(s);
}

static void
test_filter_and_metrics(void)
{
    evt_thresholds *s = evt_thresholds_create();
    fires fs = {0};
    evt_rules *r = evt_rules_create(s, 100000, on_fire, &fs);

    set_thresholds(s, r,
                   "{\"f\":{\"metric\":\"m\",\"value\":1,\"filter\":{\"agent\":[\"10.0.0.1\"],"
                   "\"ifindex\":[\"3\",4]}},\"g\":{\"metric\":\"other\",\"value\":1}}");
    counter_report(r, 0, "10.0.0.2", "3", "m", 5);
    CHECK_EQ(fs.n, 0, "filtered agent: no event");
    counter_report(r, 0, "10.0.0.1", "5", "m", 5);
    CHECK_EQ(fs.n, 0, "filtered data source: no event");
    counter_report(r, 0, "10.0.0.1", "4", "m", 5);
    CHECK_EQ(fs.n, 1, "agent and data source in the filter (integer value): event");
    CHECK_STR(fs.thr[0], "f", "only the threshold on that metric");
    evt_rules_destroy(r);
    evt_thresholds_destroy(s);
}

static void
test_missing_and_stale(void)
{
    evt_thresholds *s = evt_thresholds_create();
    fires fs = {0};
    evt_rules *r = evt_rules_create(s, 2000, on_fire, &fs);
    evt_rules_stats st;

    set_thresholds(s, r, "{\"t\":{\"metric\":\"m\",\"value\":1,\"timeout\":1}}");
    counter_report(r, 0, "a", "1", "m", 5);
    counter_report(r, 0, "b", "1", "m", 5);
    CHECK_EQ(fs.n, 2, "two data sources fired");
    /* Aggregator "agg" now reports only b: a is missing, so below. */
    for (uint64_t t = 250; t <= 1250; t += 250)
        counter_report(r, t, "b", "1", "m", 5);
    CHECK(!evt_rules_triggered(r, "t", "a", "1", ""), "data source missing from its "
                                                      "aggregator's report re-arms");
    CHECK(evt_rules_triggered(r, "t", "b", "1", ""), "reported one stays disarmed");
    /* Another aggregator's report does not touch agg's data sources. */
    evt_rules_begin(r, "other", 1500);
    evt_rules_end(r);
    CHECK(evt_rules_triggered(r, "t", "b", "1", ""), "other aggregator: no effect");
    /* Nobody reports b: stale after 2 s, then re-armed after the timeout. */
    evt_rules_sweep(r, 2000);
    CHECK(evt_rules_triggered(r, "t", "b", "1", ""), "not stale yet");
    evt_rules_sweep(r, 3250);
    CHECK(evt_rules_triggered(r, "t", "b", "1", ""), "stale: below from now, timeout runs");
    evt_rules_sweep(r, 4250);
    CHECK(!evt_rules_triggered(r, "t", "b", "1", ""), "re-armed one timeout later");
    evt_rules_get_stats(r, &st);
    CHECK_EQ(st.stale, 1, "one stale data source counted");
    CHECK_EQ(st.states, 0, "no state left");
    CHECK_EQ(st.fired, 2, "fired counted");
    evt_rules_destroy(r);
    evt_thresholds_destroy(s);
}

static void
test_threshold_changes(void)
{
    evt_thresholds *s = evt_thresholds_create();
    fires fs = {0};
    evt_rules *r = evt_rules_create(s, 100000, on_fire, &fs);
    const char *spec = "{\"t\":{\"metric\":\"m\",\"value\":1,\"timeout\":60}}";
    const evt_threshold *before;

    set_thresholds(s, r, spec);
    before = evt_thresholds_get(s, "t");
    counter_report(r, 0, "a", "1", "m", 5);
    set_thresholds(s, r, spec); /* republished unchanged (every second) */
    CHECK(evt_thresholds_get(s, "t") == before, "unchanged spec keeps its compiled object");
    counter_report(r, 250, "a", "1", "m", 5);
    CHECK_EQ(fs.n, 1, "unchanged threshold keeps its state: no repeat");
    set_thresholds(s, r, "{\"t\":{\"metric\":\"m\",\"value\":2,\"timeout\":60}}");
    counter_report(r, 500, "a", "1", "m", 5);
    CHECK_EQ(fs.n, 2, "a changed threshold starts armed");
    set_thresholds(s, r, "{}");
    counter_report(r, 750, "a", "1", "m", 5);
    CHECK_EQ(fs.n, 2, "removed threshold: no event");
    CHECK_EQ(evt_thresholds_count(s), 0, "set empty");
    evt_rules_destroy(r);
    evt_thresholds_destroy(s);
}

static void
test_compile(void)
{
    static const char *const bad[] = {
        "{\"value\":1}",
        "{\"metric\":\"\",\"value\":1}",
        "{\"metric\":\"m\"}",
        "{\"metric\":\"m\",\"value\":\"1\"}",
        "{\"metric\":\"m\",\"value\":1,\"byFlow\":\"yes\"}",
        "{\"metric\":\"m\",\"value\":1,\"timeout\":-1}",
        "{\"metric\":\"m\",\"value\":1,\"filter\":[\"agent\"]}",
        "{\"metric\":\"m\",\"value\":1,\"filter\":{\"ifspeed\":[\"1000\"]}}",
        "{\"metric\":\"m\",\"value\":1,\"filter\":{\"agent\":[{}]}}",
        "[1]",
    };
    evt_threshold *t = NULL;
    char err[256];
    json_t *j;
    size_t nbad = 0;
    evt_thresholds *s;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        j = json_loads(bad[i], 0, NULL);
        err[0] = '\0';
        CHECK_ERR(evt_threshold_compile("x", j, &t, err, sizeof err), SFA_EFORMAT, bad[i]);
        CHECK(err[0] != '\0', "with a message");
        json_decref(j);
    }
    j = json_loads("{\"metric\":\"m\",\"value\":1.5,\"extra\":1}", 0, NULL);
    CHECK_OK(evt_threshold_compile("x", j, &t, err, sizeof err), "minimal spec compiles");
    CHECK(t && !t->by_flow && t->timeout_ms == EVT_TIMEOUT_DEFAULT * 1000ull,
          "defaults: byFlow false, default timeout");
    evt_threshold_free(t);
    json_decref(j);
    j = json_loads("{\"metric\":\"m\",\"value\":1,\"timeout\":0.5,\"byFlow\":true}", 0, NULL);
    CHECK_OK(evt_threshold_compile("x", j, &t, err, sizeof err), "fractional timeout");
    CHECK(t && t->by_flow && t->timeout_ms == 500, "timeout 0.5 s = 500 ms, byFlow");
    evt_threshold_free(t);
    json_decref(j);
    s = evt_thresholds_create();
    j = json_loads("{\"ok\":{\"metric\":\"m\",\"value\":1},\"bad\":{\"value\":1}}", 0, NULL);
    CHECK_EQ(evt_thresholds_update(s, j, &nbad), 1, "set changed");
    CHECK_EQ(nbad, 1, "one invalid spec counted");
    CHECK_EQ(evt_thresholds_count(s), 1, "the valid one installed");
    CHECK_EQ(evt_thresholds_update(s, j, &nbad), 0, "same specs again: no change");
    json_decref(j);
    evt_thresholds_destroy(s);
}

static void
test_metrics_body(void)
{
    evt_thresholds *s = evt_thresholds_create();
    fires fs = {0};
    evt_rules *r = evt_rules_create(s, 100000, on_fire, &fs);
    evt_metrics_stats st = {0};
    json_t *body;

    set_thresholds(s, r,
                   "{\"e\":{\"metric\":\"elephant\",\"value\":1000,\"byFlow\":true},"
                   "\"l\":{\"metric\":\"load_one\",\"value\":0.5}}");
    body = json_loads(
        "{\"id\":\"agg-a\",\"flows\":[{\"agent\":\"10.0.0.1\",\"ds\":\"3\",\"name\":\"elephant\","
        "\"value\":3000,\"top\":[[\"x,y\",2500,[1,2]],[\"y,z\",500],[7,8],\"junk\"]},"
        "{\"agent\":\"10.0.0.1\",\"name\":\"elephant\",\"value\":1}],"
        "\"counters\":[{\"agent\":\"10.0.0.2\",\"ds\":\"2.1\",\"name\":\"load_one\",\"value\":0.7},"
        "{\"agent\":\"10.0.0.2\",\"ds\":\"2.1\",\"name\":\"load_one\"}]}",
        0, NULL);
    CHECK_OK(evt_metrics_apply(r, body, 0, &st), "report applied");
    CHECK_EQ(fs.n, 2, "one flow key and one counter fired");
    CHECK_STR(fs.key[0], "x,y", "flow key from the top list");
    CHECK(fs.has_values[0], "with its values");
    CHECK_STR(fs.ds[1], "2.1", "counter data source");
    CHECK_EQ(st.entries, 2, "two good entries");
    CHECK_EQ(st.bad_entries, 4, "two bad top entries and two bad entries counted");
    json_decref(body);
    body = json_loads("{\"flows\":[]}", 0, NULL);
    CHECK_ERR(evt_metrics_apply(r, body, 0, &st), SFA_EFORMAT, "report without id refused");
    CHECK_EQ(st.bad_reports, 1, "counted");
    json_decref(body);
    /* A flow entry without "value" uses its top key's. */
    body = json_loads("{\"id\":\"agg-a\",\"flows\":[{\"agent\":\"10.0.0.9\",\"ds\":\"1\","
                      "\"name\":\"elephant\",\"top\":[[\"p,q\",5000]]}]}",
                      0, NULL);
    CHECK_OK(evt_metrics_apply(r, body, 250, &st), "report without value applied");
    CHECK_EQ(fs.n, 3, "fired from the top key's value");
    json_decref(body);
    evt_rules_destroy(r);
    evt_thresholds_destroy(s);
}

int
main(void)
{
    test_step_once();
    test_rearm();
    test_timeout_zero();
    test_by_flow();
    test_per_data_source();
    test_filter_and_metrics();
    test_missing_and_stale();
    test_threshold_changes();
    test_compile();
    test_metrics_body();
    return test_done();
}
