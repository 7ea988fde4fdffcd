/* events_test.c - the real sfa-events end to end, TAP output.
 *
 * This program plays the other parties on ipc:// paths under the build
 * dir: the gateway (publishes defs.v1 with two thresholds on bus.defs,
 * surveys bus.query), one aggregator (dials bus.metrics with the
 * aggregator's own metrics.v1 publisher, services/aggregator/metrics_pub.c,
 * reporting every 250 ms) and an events.v1 subscriber. Thresholds, on the
 * flow metric "elephant":
 *   big    value 1000, byFlow, timeout 1 s   (per flow key)
 *   total  value 3000, timeout 1 s           (per data source, top key)
 * Ten data sources carry two keys each; each data source steps from below
 * to above at its own random moment. Checked:
 *   - exactly one event per (data source, key) for big and one per data
 *     source for total, value above the threshold, fields as /events/json;
 *     the delay from the crossing report to the event is printed
 *   - keys staying above: no repeats
 *   - below for less than timeout, then up: no event; below for longer
 *     than timeout, then up: exactly the new events
 *   - the "events" survey returns the log newest first; hello says role
 *     events; other surveys are answered with an empty result
 *   - kill -9 and restart with the gateway silent: the thresholds survive
 *     (cache), new ids are above every old one, the threshold still works
 *   - SIGTERM: exit 0
 *
 * Usage: events_test SFA_EVENTS WORKDIR
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sfa/bus.h>
#include <sfa/clock.h>
#include <sfa/codec.h>
#include <sfa/survey.h>

#include "metrics_pub.h"
#include "test.h"

#define NDS 10
#define NKEYS 2
#define MAXEV 512
#define LOW 500.0
#define HIGH 2000.0
#define REPORT_MS 250

static const char thresholds_json[] =
    "{\"big\":{\"metric\":\"elephant\",\"value\":1000,\"byFlow\":true,\"timeout\":1},"
    "\"total\":{\"metric\":\"elephant\",\"value\":3000,\"timeout\":1}}";

typedef struct ev_rec {
    uint64_t id;
    char thr[32], agent[32], ds[16], key[48], metric[32];
    double value, threshold;
    int has_values;
    uint64_t recv_us;
} ev_rec;

static struct {
    uv_loop_t loop;
    char dir[512];
    char url_defs[600], url_metrics[600], url_events[600], url_query[600], state[600], log[600];
    const char *binary;
    pid_t pid;
    sfa_bus *defs, *events;
    sfa_surveyor *sv;
    agg_metrics_pub *mpub;
    uv_timer_t report_timer, defs_timer;
    int defs_on;
    uint64_t defs_seq;
    double val[NDS][NKEYS];
    uint64_t cross_us[NDS]; /* when the report with the step went out */
    ev_rec ev[MAXEV];
    int nev;
    json_t *answer; /* last survey answer body */
    int survey_done;
} T;

/* ---- the aggregator ---- */

typedef struct iter {
    int i;
    char agent[32];
    agg_metric_top top[NKEYS];
    char keys[NKEYS][48];
    double vals[NKEYS][2];
} iter;

static int
next_metric(void *arg, agg_metric *m)
{
    iter *it = arg;
    int d = it->i++, hi;

    if (d >= NDS)
        return 0;
    snprintf(it->agent, sizeof it->agent, "10.0.0.%d", d + 1);
    hi = T.val[d][1] > T.val[d][0]; /* top list largest first */
    for (int k = 0; k < NKEYS; k++) {
        int src = k == 0 ? hi : !hi;

        snprintf(it->keys[k], sizeof it->keys[k], "10.4.%d.1,10.4.%d.%d", d, d, src + 1);
        it->vals[k][0] = T.val[d][src];
        it->vals[k][1] = 64;
        it->top[k] = (agg_metric_top){it->keys[k], T.val[d][src], it->vals[k], 2};
    }
    *m = (agg_metric){AGG_METRIC_FLOW,           it->agent, "3",  "elephant",
                      T.val[d][0] + T.val[d][1], it->top,   NKEYS};
    return 1;
}

static void
report_now(void)
{
    iter it = {0};

    (void)agg_metrics_pub_tick(T.mpub, next_metric, &it);
}

static void
on_report_timer(uv_timer_t *t)
{
    (void)t;
    report_now();
}

/* ---- the gateway ---- */

static void
on_defs_timer(uv_timer_t *t)
{
    uint8_t buf[4096];
    json_t *body;
    int n;

    (void)t;
    if (!T.defs_on)
        return;
    body = json_pack("{s:i, s:{}, s:{}, s:{}, s:[], s:i, s:o}", "version", 1, "flows", "groups",
                     "maps", "members", "lanes", 1, "thresholds",
                     json_loads(thresholds_json, 0, NULL));
    n = sfa_codec_encode_json_msg(buf, sizeof buf, "defs.v1", "gateway", ++T.defs_seq,
                                  sfa_clock_wall_ms(), body);
    json_decref(body);
    if (n > 0)
        (void)sfa_bus_publish(T.defs, buf, (size_t)n);
}

static void
on_survey(const sfa_survey_result *res, void *arg)
{
    (void)arg;
    json_decref(T.answer);
    T.answer = res->nanswers ? sfa_survey_msg_json(res->answers[0].msg, res->answers[0].len) : NULL;
    T.survey_done = 1;
}

/* ---- the events subscriber ---- */

static void
copy_str(char *out, size_t cap, const json_t *v)
{
    snprintf(out, cap, "%s", json_is_string(v) ? json_string_value(v) : "");
}

static void
on_event(sfa_bus *bus, const uint8_t *msg, size_t len, void *arg)
{
    sfa_envelope env;
    json_t *b;
    ev_rec *e;

    (void)bus;
    (void)arg;
    if (sfa_codec_parse(msg, len, &env) != 0 || T.nev >= MAXEV || !(b = sfa_codec_body_json(&env)))
        return;
    e = &T.ev[T.nev++];
    e->recv_us = sfa_clock_us();
    e->id = (uint64_t)json_integer_value(json_object_get(b, "eventID"));
    copy_str(e->thr, sizeof e->thr, json_object_get(b, "thresholdID"));
    copy_str(e->agent, sizeof e->agent, json_object_get(b, "agent"));
    copy_str(e->ds, sizeof e->ds, json_object_get(b, "dataSource"));
    copy_str(e->key, sizeof e->key, json_object_get(b, "flowKey"));
    copy_str(e->metric, sizeof e->metric, json_object_get(b, "metric"));
    e->value = json_number_value(json_object_get(b, "value"));
    e->threshold = json_number_value(json_object_get(b, "threshold"));
    e->has_values = json_array_size(json_object_get(b, "values")) == 2;
    json_decref(b);
}

/* ---- helpers ---- */

static void
pump_ms(int ms)
{
    uint64_t end = sfa_clock_ms() + (uint64_t)ms;

    while (sfa_clock_ms() < end) {
        uv_run(&T.loop, UV_RUN_NOWAIT);
        usleep(500);
    }
}

/* Run the loop until cond() or ms pass. */
static int
pump_until(int (*cond)(void), int ms)
{
    uint64_t end = sfa_clock_ms() + (uint64_t)ms;

    while (!cond() && sfa_clock_ms() < end) {
        uv_run(&T.loop, UV_RUN_NOWAIT);
        usleep(500);
    }
    return cond();
}

static int
survey_finished(void)
{
    return T.survey_done;
}

/* Survey body text; returns the answer body (borrowed until the next). */
static json_t *
survey(const char *text)
{
    json_t *q = json_loads(text, 0, NULL);

    T.survey_done = 0;
    if (sfa_survey_start_json(T.sv, "gateway", q, 2000, on_survey, NULL) != 0)
        T.survey_done = 1;
    json_decref(q);
    pump_until(survey_finished, 5000);
    return T.answer;
}

static int
peers_up(void)
{
    agg_metrics_pub_stats st;
    sfa_bus_stats bs;

    agg_metrics_pub_get_stats(T.mpub, &st);
    sfa_bus_get_stats(T.events, &bs);
    return st.peers > 0 && bs.pipes > 0 && sfa_survey_peers(T.sv) > 0;
}

static int
thresholds_known(void)
{
    json_t *a = survey("{\"op\":\"hello\"}");

    return json_integer_value(json_object_get(json_object_get(a, "stats"), "thresholds")) == 2;
}

static void
start_events(void)
{
    pid_t pid = fork();

    if (pid == 0) {
        char a[5][700];
        int fd = open(T.log, O_WRONLY | O_CREAT | O_APPEND, 0644);

        if (fd >= 0) {
            dup2(fd, 2);
            dup2(fd, 1);
        }
        /* Do not hand our bus sockets to the service. */
        for (int i = 3; i < 1024; i++)
            close(i);
        snprintf(a[0], sizeof a[0], "-Dbus.defs=%s", T.url_defs);
        snprintf(a[1], sizeof a[1], "-Dbus.metrics=%s", T.url_metrics);
        snprintf(a[2], sizeof a[2], "-Dbus.events=%s", T.url_events);
        snprintf(a[3], sizeof a[3], "-Dbus.query=%s", T.url_query);
        snprintf(a[4], sizeof a[4], "-Dsfa.state=%s", T.state);
        execl(T.binary, "sfa-events", a[0], a[1], a[2], a[3], a[4], "-Dlog.level=FINE",
              (char *)NULL);
        _exit(127);
    }
    T.pid = pid;
}

static int
count_events(const char *thr, int from)
{
    int n = 0;

    for (int i = from; i < T.nev; i++)
        n += !thr || strcmp(T.ev[i].thr, thr) == 0;
    return n;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Print the distribution of crossing-report-to-event delays. */
static void
print_delays(int from, int to)
{
    uint64_t d[MAXEV];
    int n = 0;

    for (int i = from; i < to; i++) {
        int ds = atoi(T.ev[i].agent + strlen("10.0.0.")) - 1;

        if (ds >= 0 && ds < NDS && T.cross_us[ds] && T.ev[i].recv_us >= T.cross_us[ds])
            d[n++] = T.ev[i].recv_us - T.cross_us[ds];
    }
    if (n == 0)
        return;
    qsort(d, (size_t)n, sizeof d[0], cmp_u64);
    printf("# crossing report -> event delay over %d events (us): min %llu median %llu "
           "p90 %llu max %llu\n",
           n, (unsigned long long)d[0], (unsigned long long)d[n / 2],
           (unsigned long long)d[(n * 9) / 10], (unsigned long long)d[n - 1]);
}

/* ---- phases ---- */

static int n_expected_a;

static int
phase_a_done(void)
{
    return T.nev >= n_expected_a;
}

/* Every data source steps up at its own moment within 2.5 s. */
static void
phase_step_up(void)
{
    int order[NDS], ok_fields = 1, ok_once = 1;

    for (int d = 0; d < NDS; d++)
        order[d] = d;
    for (int d = NDS - 1; d > 0; d--) {
        int j = rand() % (d + 1), t = order[d];

        order[d] = order[j];
        order[j] = t;
    }
    pump_ms(1000); /* all below for a while: nothing fires */
    CHECK_EQ(T.nev, 0, "everything below: no event");
    for (int i = 0; i < NDS; i++) {
        int d = order[i];

        pump_ms(50 + rand() % 200);
        T.val[d][0] = HIGH;
        T.val[d][1] = HIGH;
        T.cross_us[d] = sfa_clock_us();
        report_now(); /* the crossing report */
    }
    n_expected_a = NDS * NKEYS + NDS;
    pump_until(phase_a_done, 5000);
    CHECK_EQ(count_events("big", 0), NDS * NKEYS, "big: one event per (data source, key)");
    CHECK_EQ(count_events("total", 0), NDS, "total: one event per data source");
    for (int i = 0; i < T.nev; i++) {
        const ev_rec *e = &T.ev[i];

        ok_fields &= e->value > e->threshold && strcmp(e->metric, "elephant") == 0 &&
                     strcmp(e->ds, "3") == 0 && strncmp(e->agent, "10.0.0.", 7) == 0 &&
                     e->key[0] != '\0' && e->has_values && e->id > 0;
        for (int j = 0; j < i; j++)
            ok_once &= !(strcmp(e->thr, T.ev[j].thr) == 0 && strcmp(e->agent, T.ev[j].agent) == 0 &&
                         (strcmp(e->thr, "total") == 0 || strcmp(e->key, T.ev[j].key) == 0));
        ok_once &= i == 0 || e->id > T.ev[i - 1].id;
    }
    CHECK(ok_fields, "every event: value above its threshold, metric, agent, dataSource, "
                     "flowKey, values");
    CHECK(ok_once, "no (threshold, data source, key) twice; ids strictly increasing");
    print_delays(0, T.nev);
}

static void
phase_stay_above(void)
{
    int before = T.nev;

    pump_ms(2500);
    CHECK_EQ(T.nev, before, "staying above for 2.5 s: no repeats");
}

static int n_wait;

static int
n_reached(void)
{
    return T.nev >= n_wait;
}

static void
phase_rearm(void)
{
    int before = T.nev;

    /* Data source 0, key 1 dips below for about 0.5 s (< timeout 1 s). */
    T.val[0][0] = LOW;
    report_now();
    pump_ms(500);
    T.val[0][0] = HIGH;
    report_now();
    pump_ms(1000);
    CHECK_EQ(T.nev, before, "below for less than timeout, then up: no event");
    /* Now below for 1.75 s (> timeout 1 s), then up. */
    T.val[0][0] = LOW;
    report_now();
    pump_ms(1750);
    CHECK_EQ(T.nev, before, "going below fires nothing");
    T.val[0][0] = HIGH;
    T.cross_us[0] = sfa_clock_us();
    report_now();
    n_wait = before + 2;
    pump_until(n_reached, 3000);
    pump_ms(500);
    CHECK_EQ(T.nev, before + 2, "below for longer than timeout, then up: two new events");
    CHECK(count_events("big", before) == 1 && count_events("total", before) == 1,
          "one for the key (big), one for its data source (total)");
    CHECK(T.nev == before + 2 && strcmp(T.ev[before].agent, "10.0.0.1") == 0 &&
              strcmp(T.ev[before + 1].agent, "10.0.0.1") == 0,
          "both on the data source that dipped");
    CHECK(T.nev > before && T.ev[T.nev - 1].id > T.ev[before - 1].id, "ids keep increasing");
}

static void
phase_surveys(void)
{
    json_t *a = survey("{\"op\":\"hello\"}"), *res;
    char q[128];
    size_t i;
    json_t *e;
    int ordered = 1;

    CHECK_STR(json_string_value(json_object_get(a, "role")), "events", "hello: role events");
    CHECK_STR(json_string_value(json_object_get(a, "id")), "events", "hello: id");
    a = survey("{\"op\":\"events\",\"after\":-1,\"max\":1000}");
    res = json_object_get(a, "result");
    CHECK_EQ(json_array_size(res), T.nev, "events survey: the whole log");
    json_array_foreach(res, i, e)
    {
        uint64_t id = (uint64_t)json_integer_value(json_object_get(e, "eventID"));

        ordered &= i < (size_t)T.nev && id == T.ev[T.nev - 1 - i].id;
    }
    CHECK(ordered, "newest first, the same ids as published");
    snprintf(q, sizeof q, "{\"op\":\"events\",\"after\":%llu,\"max\":5,\"thresholdID\":\"big\"}",
             (unsigned long long)T.ev[0].id);
    a = survey(q);
    res = json_object_get(a, "result");
    CHECK(json_array_size(res) == 5 &&
              strcmp(json_string_value(json_object_get(json_array_get(res, 0), "thresholdID")),
                     "big") == 0,
          "after, max and thresholdID");
    a = survey("{\"op\":\"flowkeys\"}");
    CHECK(json_is_object(json_object_get(a, "result")), "other ops: answered, empty result");
}

static void
phase_restart(void)
{
    uint64_t old_max = T.ev[T.nev - 1].id;
    int status = 0, before;

    kill(T.pid, SIGKILL);
    waitpid(T.pid, &status, 0);
    CHECK(WIFSIGNALED(status), "sfa-events killed with SIGKILL");
    T.defs_on = 0; /* the gateway is silent: thresholds must come from the cache */
    for (int d = 0; d < NDS; d++)
        T.val[d][0] = T.val[d][1] = LOW;
    start_events();
    pump_ms(300);
    CHECK(pump_until(peers_up, 10000), "restarted sfa-events is connected again");
    CHECK(pump_until(thresholds_known, 5000), "both thresholds known without defs.v1");
    pump_ms(600);
    before = T.nev;
    T.val[4][1] = HIGH;
    T.cross_us[4] = sfa_clock_us();
    report_now();
    n_wait = before + 1;
    pump_until(n_reached, 3000);
    pump_ms(300);
    CHECK_EQ(T.nev, before + 1, "after restart the threshold still fires (one key)");
    CHECK(T.nev > before && T.ev[before].id > old_max, "the new id is above every old one");
    CHECK(T.nev > before && strcmp(T.ev[before].agent, "10.0.0.5") == 0, "on the right source");
    printf("# ids: last before kill %llu, first after restart %llu\n", (unsigned long long)old_max,
           (unsigned long long)(T.nev > before ? T.ev[before].id : 0));
    T.defs_on = 1;
}

static void
stop_events(void)
{
    int status = 0;

    kill(T.pid, SIGTERM);
    for (int i = 0; i < 500 && waitpid(T.pid, &status, WNOHANG) == 0; i++)
        usleep(10000);
    if (waitpid(T.pid, &status, WNOHANG) == 0) {
        kill(T.pid, SIGKILL);
        waitpid(T.pid, &status, 0);
    }
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "SIGTERM: sfa-events exits 0");
}

static void
setup(int argc, char **argv)
{
    static const char topic[] = "events.v1";

    T.binary = argv[1];
    snprintf(T.dir, sizeof T.dir, "%s/ev-%d", argc > 2 ? argv[2] : ".", (int)getpid());
    mkdir(T.dir, 0700);
    snprintf(T.url_defs, sizeof T.url_defs, "ipc://%s/defs", T.dir);
    snprintf(T.url_metrics, sizeof T.url_metrics, "ipc://%s/metrics", T.dir);
    snprintf(T.url_events, sizeof T.url_events, "ipc://%s/events", T.dir);
    snprintf(T.url_query, sizeof T.url_query, "ipc://%s/query", T.dir);
    snprintf(T.state, sizeof T.state, "%s/state", T.dir);
    snprintf(T.log, sizeof T.log, "%s/events.log", T.dir);
    uv_loop_init(&T.loop);
    CHECK_OK(sfa_bus_pub_open(&T.defs, &T.loop, T.url_defs, 16), "gateway: defs publisher");
    CHECK_OK(sfa_survey_open(&T.sv, &T.loop, T.url_query), "gateway: surveyor");
    CHECK_OK(sfa_bus_sub_open(&T.events, &T.loop, T.url_events, 1024, on_event, NULL),
             "events.v1 subscriber");
    CHECK_OK(sfa_bus_subscribe(T.events, topic, sizeof topic), "subscribe events.v1");
    CHECK_OK(agg_metrics_pub_open(&T.mpub, &T.loop, T.url_metrics, "agg-test"),
             "aggregator: metrics publisher");
    json_t *thr = json_loads(thresholds_json, 0, NULL);
    agg_metrics_pub_set_thresholds(T.mpub, thr);
    json_decref(thr);
    for (int d = 0; d < NDS; d++)
        T.val[d][0] = T.val[d][1] = LOW;
    uv_timer_init(&T.loop, &T.report_timer);
    uv_timer_start(&T.report_timer, on_report_timer, REPORT_MS, REPORT_MS);
    uv_timer_init(&T.loop, &T.defs_timer);
    uv_timer_start(&T.defs_timer, on_defs_timer, 0, 500);
    T.defs_on = 1;
}

static void
teardown(void)
{
    char cmd[700];

    uv_close((uv_handle_t *)&T.report_timer, NULL);
    uv_close((uv_handle_t *)&T.defs_timer, NULL);
    agg_metrics_pub_close(T.mpub);
    sfa_bus_close(T.defs);
    sfa_bus_close(T.events);
    sfa_survey_close(T.sv);
    uv_run(&T.loop, UV_RUN_DEFAULT);
    (void)uv_loop_close(&T.loop);
    json_decref(T.answer);
    if (test_failed_ == 0) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", T.dir);
        if (system(cmd) != 0)
            printf("# could not remove %s\n", T.dir);
    } else {
        snprintf(cmd, sizeof cmd, "sed 's/^/# /' '%s' | tail -40", T.log);
        if (system(cmd) != 0)
            printf("# no log\n");
    }
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: events_test SFA_EVENTS [WORKDIR]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    srand((unsigned)getpid());
    setup(argc, argv);
    start_events();
    CHECK(pump_until(peers_up, 10000), "sfa-events connected: metrics, events, query");
    CHECK(pump_until(thresholds_known, 5000), "thresholds from defs.v1 applied");
    phase_step_up();
    phase_stay_above();
    phase_rearm();
    phase_surveys();
    phase_restart();
    stop_events();
    teardown();
    return test_done();
}
