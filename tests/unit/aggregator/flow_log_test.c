/* flow_log_test.c - when logged flows are recorded
 * (services/aggregator/flow_log.c): at idle, at activeTimeout, at start
 * with flowStart, the flow cap, and publishing the queue. Times are given
 * in seconds, as the aggregator passes its monotonic clock.
 */
#include <stdio.h>
#include <unistd.h>

#include <jansson.h>

#include "flow_log.h"
#include "test.h"

static sfa_flowdef *
compile(const char *text)
{
    json_t *spec = json_loads(text, 0, NULL);
    sfa_flowdef *fd = NULL;
    char err[256];

    if (sfa_flowdef_compile(spec, &fd, err, sizeof err) != 0)
        printf("# %s: %s\n", text, err);
    json_decref(spec);
    return fd;
}

static uint64_t
records(const agg_flowlog *fl)
{
    agg_flowlog_stats st;

    agg_flowlog_get_stats(fl, &st);
    return st.records;
}

int
main(void)
{
    char url[512];
    uv_loop_t loop;
    agg_flowlog *fl = NULL;
    agg_flowlog_stats st;
    /* t = 1: idle after 5 s; activeTimeout 20 s. */
    sfa_flowdef *fd = compile("{\"keys\":\"ipsource\",\"value\":\"bytes\",\"log\":true,\"t\":1,"
                              "\"activeTimeout\":20}");
    sfa_flowdef *fs = compile("{\"keys\":\"ipsource\",\"value\":\"bytes\",\"log\":true,"
                              "\"flowStart\":true,\"t\":1}");
    agg_flowlog_def *d, *s;

    uv_loop_init(&loop);
    snprintf(url, sizeof url, "ipc://%s/flowlog-test-%ld", TEST_BUILD_DIR, (long)getpid());
    CHECK_OK(agg_flowlog_open(&fl, &loop, url, "agg-test"), "open (dials, nobody listens)");
    if (!fl || !fd || !fs)
        return test_done();
    d = agg_flowlog_def_create(fl, "tcp", fd, 2);
    agg_flowlog_add(d, 1, "10.0.0.1", "3", "10.1.1.1", 8, 100, 10.0);
    agg_flowlog_add(d, 1, "10.0.0.1", "3", "10.1.1.1", 8, 50, 12.0);
    agg_flowlog_add(d, 2, "10.0.0.1", "4", "10.1.1.1", 8, 7, 12.0);
    agg_flowlog_add(d, 1, "10.0.0.1", "3", "10.9.9.9", 8, 1, 12.0);
    agg_flowlog_get_stats(fl, &st);
    CHECK_EQ(st.full, 1, "a third flow is over the cap of 2");
    agg_flowlog_def_scan(d, 14.0);
    CHECK_EQ(records(fl), 0, "nothing while the flows are active");
    agg_flowlog_def_scan(d, 17.5);
    CHECK_EQ(records(fl), 2, "both flows logged once idle for 5 s");
    agg_flowlog_def_scan(d, 30.0);
    CHECK_EQ(records(fl), 2, "and forgotten");
    for (int i = 0; i <= 22; i++)
        agg_flowlog_add(d, 1, "10.0.0.1", "3", "10.2.2.2", 8, 1, 100.0 + i);
    agg_flowlog_def_scan(d, 122.0);
    CHECK_EQ(records(fl), 3, "a long flow is cut at activeTimeout");
    agg_flowlog_def_scan(d, 123.0);
    CHECK_EQ(records(fl), 3, "the cut restarts its record");
    agg_flowlog_def_scan(d, 200.0);
    CHECK_EQ(records(fl), 3, "a restarted record without samples is not logged");

    s = agg_flowlog_def_create(fl, "starts", fs, 10);
    agg_flowlog_add(s, 1, "10.0.0.1", "3", "10.3.3.3", 8, 5, 1.0);
    CHECK_EQ(records(fl), 4, "flowStart: logged at the first sample");
    agg_flowlog_add(s, 1, "10.0.0.1", "3", "10.3.3.3", 8, 5, 2.0);
    agg_flowlog_def_scan(s, 3.0);
    agg_flowlog_def_scan(s, 10.0);
    CHECK_EQ(records(fl), 4, "flowStart: not again, nor at idle");
    agg_flowlog_add(s, 1, "10.0.0.1", "3", "10.3.3.3", 8, 5, 11.0);
    CHECK_EQ(records(fl), 5, "flowStart: again once it has come back");

    CHECK_OK(agg_flowlog_flush(fl), "flush (dropped by nng while nobody listens)");
    agg_flowlog_get_stats(fl, &st);
    CHECK_EQ(st.published, 1, "one message for every queued record");
    CHECK_OK(agg_flowlog_flush(fl), "an empty queue sends nothing");
    agg_flowlog_get_stats(fl, &st);
    CHECK_EQ(st.published, 1, "still one message");

    agg_flowlog_close(fl); /* the definitions' logs may outlive the publisher */
    agg_flowlog_def_destroy(d);
    agg_flowlog_def_destroy(s);
    sfa_flowdef_destroy(fd);
    sfa_flowdef_destroy(fs);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_OK(uv_loop_close(&loop), "loop closes");
    return test_done();
}
