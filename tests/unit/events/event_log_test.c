/* event_log_test.c - the event log (services/events/event_log.c) and what
 * is answered from it: newest first, the after-id cursor, max, the
 * thresholdID filter, ring overflow; the event object's fields
 * (evt_event_json); the survey answers (query.c) including the ones that
 * only keep the gateway's answer counting simple; the property table.
 */
#include <stdlib.h>
#include <string.h>

#include "evt.h"
#include "test.h"

static json_t *
mk_event(uint64_t id, const char *thr)
{
    return json_pack("{s:I, s:s, s:I}", "eventID", (json_int_t)id, "thresholdID", thr, "timestamp",
                     (json_int_t)(1700000000000 + id));
}

/* The eventIDs of a query result as "5,4,3". */
static const char *
ids_of(json_t *arr)
{
    static char buf[256];
    size_t i, off = 0;
    json_t *e;

    buf[0] = '\0';
    json_array_foreach(arr, i, e)
    {
        off += (size_t)snprintf(buf + off, sizeof buf - off, "%s%lld", i ? "," : "",
                                (long long)json_integer_value(json_object_get(e, "eventID")));
        if (off >= sizeof buf)
            break;
    }
    json_decref(arr);
    return buf;
}

static void
test_log(void)
{
    evt_log *l = evt_log_create(4);

    CHECK_STR(ids_of(evt_log_query(l, -1, -1, NULL)), "", "empty log: empty answer");
    CHECK_EQ(evt_log_last_id(l), 0, "empty log: last id 0");
    for (uint64_t id = 1; id <= 3; id++)
        evt_log_append(l, mk_event(id * 10, id == 2 ? "b" : "a"));
    CHECK_STR(ids_of(evt_log_query(l, -1, -1, NULL)), "30,20,10", "newest first");
    CHECK_STR(ids_of(evt_log_query(l, 10, -1, NULL)), "30,20", "after id 10");
    CHECK_STR(ids_of(evt_log_query(l, 15, -1, NULL)), "30,20", "after an id not in the log");
    CHECK_STR(ids_of(evt_log_query(l, 30, -1, NULL)), "", "after the newest: nothing");
    CHECK_STR(ids_of(evt_log_query(l, -1, 2, NULL)), "30,20", "max 2: the newest two");
    CHECK_STR(ids_of(evt_log_query(l, -1, 0, NULL)), "", "max 0");
    CHECK_STR(ids_of(evt_log_query(l, -1, -1, "a")), "30,10", "thresholdID a");
    CHECK_STR(ids_of(evt_log_query(l, -1, 1, "a")), "30", "thresholdID a, max 1");
    CHECK_STR(ids_of(evt_log_query(l, -1, -1, "zz")), "", "unknown thresholdID");
    for (uint64_t id = 4; id <= 6; id++)
        evt_log_append(l, mk_event(id * 10, "a"));
    CHECK_EQ(evt_log_count(l), 4, "ring holds max events");
    CHECK_STR(ids_of(evt_log_query(l, -1, -1, NULL)), "60,50,40,30", "oldest dropped first");
    CHECK_STR(ids_of(evt_log_query(l, 5, -1, NULL)), "60,50,40,30", "cursor older than the log");
    CHECK_EQ(evt_log_last_id(l), 60, "last id");
    evt_log_destroy(l);
}

static void
test_event_json(void)
{
    json_t *spec =
        json_loads("{\"metric\":\"elephant\",\"value\":1250000,\"byFlow\":true}", 0, NULL);
    json_t *vals = json_pack("[i, f]", 42, 512.5), *ev;
    evt_threshold *t = NULL;
    char err[128];
    evt_fire f;

    CHECK_OK(evt_threshold_compile("elephant_threshold", spec, &t, err, sizeof err), "compile");
    f = (evt_fire){t, "10.0.0.253", "3", "10.4.1.2,10.4.2.2", 3100000.0, vals};
    ev = evt_event_json(&f, 77, 1700000001234ull);
    CHECK_EQ(json_integer_value(json_object_get(ev, "eventID")), 77, "eventID");
    CHECK_EQ(json_integer_value(json_object_get(ev, "timestamp")), 1700000001234ll, "timestamp");
    CHECK_STR(json_string_value(json_object_get(ev, "thresholdID")), "elephant_threshold",
              "thresholdID");
    CHECK_STR(json_string_value(json_object_get(ev, "metric")), "elephant", "metric");
    CHECK(json_is_integer(json_object_get(ev, "threshold")) &&
              json_integer_value(json_object_get(ev, "threshold")) == 1250000,
          "threshold as written (integer)");
    CHECK_NEAR(json_number_value(json_object_get(ev, "value")), 3100000.0, 1e-6, "value");
    CHECK_STR(json_string_value(json_object_get(ev, "agent")), "10.0.0.253", "agent");
    CHECK_STR(json_string_value(json_object_get(ev, "dataSource")), "3", "dataSource");
    CHECK_STR(json_string_value(json_object_get(ev, "flowKey")), "10.4.1.2,10.4.2.2", "flowKey");
    CHECK(json_equal(json_object_get(ev, "values"), vals), "values");
    json_decref(ev);
    f.flow_key = NULL;
    f.values = NULL;
    ev = evt_event_json(&f, 78, 1);
    CHECK(!json_object_get(ev, "flowKey") && !json_object_get(ev, "values"),
          "counter event: no flowKey, no values");
    json_decref(ev);
    json_decref(vals);
    json_decref(spec);
    evt_threshold_free(t);
}

static json_t *
ask(evt_ctx *e, const char *text)
{
    json_t *q = json_loads(text, 0, NULL), *a = evt_query_answer(e, q);

    json_decref(q);
    return a;
}

static void
test_query(void)
{
    evt_config cfg = {.events_max = 3, .id = "events-1"};
    evt_ctx e;
    json_t *a;

    memset(&e, 0, sizeof e);
    e.cfg = &cfg;
    e.log = evt_log_create(3);
    e.thr = evt_thresholds_create();
    for (uint64_t id = 1; id <= 5; id++)
        evt_log_append(e.log, mk_event(id, id % 2 ? "odd" : "even"));
    a = ask(&e, "{\"op\":\"hello\"}");
    CHECK_STR(json_string_value(json_object_get(a, "op")), "hello", "hello answered");
    CHECK_STR(json_string_value(json_object_get(a, "id")), "events-1", "with our id");
    CHECK_STR(json_string_value(json_object_get(a, "role")), "events", "and role events");
    CHECK_EQ(json_integer_value(json_object_get(a, "lastEventID")), 5, "and the last event id");
    CHECK(json_is_object(json_object_get(a, "stats")), "and counters");
    json_decref(a);
    a = ask(&e, "{\"op\":\"events\"}");
    CHECK_STR(ids_of(json_incref(json_object_get(a, "result"))), "5,4,3",
              "events: the whole log, newest first");
    json_decref(a);
    a = ask(&e, "{\"op\":\"events\",\"after\":3,\"max\":10}");
    CHECK_STR(ids_of(json_incref(json_object_get(a, "result"))), "5,4",
              "events after 3 (max above events.max is capped)");
    json_decref(a);
    a = ask(&e, "{\"op\":\"events\",\"after\":-1,\"max\":1,\"thresholdID\":\"odd\"}");
    CHECK_STR(ids_of(json_incref(json_object_get(a, "result"))), "5", "max 1 of thresholdID");
    json_decref(a);
    a = ask(&e, "{\"op\":\"activeflows\",\"name\":\"x\"}");
    CHECK(json_is_array(json_object_get(a, "result")) &&
              json_array_size(json_object_get(a, "result")) == 0,
          "activeflows: empty array");
    json_decref(a);
    a = ask(&e, "{\"op\":\"flowkeys\"}");
    CHECK(json_is_object(json_object_get(a, "result")) &&
              json_object_size(json_object_get(a, "result")) == 0,
          "other ops: empty object");
    CHECK_STR(json_string_value(json_object_get(a, "op")), "flowkeys", "op echoed");
    json_decref(a);
    a = ask(&e, "{\"x\":1}");
    CHECK_STR(json_string_value(json_object_get(a, "op")), "", "no op: still answered");
    json_decref(a);
    evt_log_destroy(e.log);
    evt_thresholds_destroy(e.thr);
}

static void
test_config(void)
{
    char *argv[] = {"sfa-events",         "-Devents.max=5",
                    "-Dsfa.state=/tmp/x", "-Dbus.metrics=ipc:///tmp/m",
                    "-Dsflow.port=6343",  NULL};
    char *bad[] = {"sfa-events", "-Devents.max=0", NULL};
    evt_config cfg;

    CHECK_OK(evt_config_load(&cfg, 5, argv), "load with properties of the suite");
    CHECK_EQ(cfg.events_max, 5, "events.max");
    CHECK_EQ(cfg.interval_ms, 250, "events.interval default");
    CHECK_STR(cfg.state_dir, "/tmp/x", "sfa.state");
    CHECK_STR(cfg.bus_metrics, "ipc:///tmp/m", "bus.metrics");
    CHECK(strncmp(cfg.bus_events, "ipc:///tmp/sfa-", 15) == 0, "bus.events default under /tmp");
    CHECK_STR(cfg.id, "events", "events.id default");
    evt_config_free(&cfg);
    CHECK_ERR(evt_config_load(&cfg, 2, bad), SFA_ECONFIG, "events.max 0 refused");
}

int
main(void)
{
    test_log();
    test_event_json();
    test_query();
    test_config();
    return test_done();
}
