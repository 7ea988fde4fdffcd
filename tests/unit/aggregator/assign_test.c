/* assign_test.c - bucket assignment on real sockets (services/aggregator/assign.c).
 *
 * Four publisher lanes on ipc:// paths under the build dir stand in for a
 * collector. The aggregator "agg-a" of members [agg-a, agg-b] must own
 * exactly the buckets sfa/shard.h gives it, receive the messages of those
 * buckets and no other, and follow membership changes: no member, then
 * alone. With 64 lanes it dials only the lanes that carry one of its
 * buckets. Lost buckets are dropped from the core (counted).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sfa/clock.h>
#include <sfa/shard.h>

#include "agg.h"
#include "test.h"

#define LANES 4

static uv_loop_t loop;
static char base[160];
static int got[SFA_BUCKETS];

static void
on_msg(sfa_bus *bus, const uint8_t *msg, size_t len, void *arg)
{
    sfa_envelope env;
    unsigned b;

    (void)bus;
    (void)arg;
    if (sfa_codec_parse(msg, len, &env) == 0 && env.topic_len == 10 &&
        sscanf(env.topic + 8, "%2x", &b) == 1 && b < SFA_BUCKETS)
        got[b]++;
}

static void
wake_cb(uv_timer_t *t)
{
    (void)t;
}

static void
run_for(int ms)
{
    uv_timer_t wake;
    uint64_t end = sfa_clock_ms() + (uint64_t)ms;

    uv_timer_init(&loop, &wake);
    uv_timer_start(&wake, wake_cb, 2, 2);
    while (sfa_clock_ms() < end)
        uv_run(&loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&wake, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
}

static void
set_members(agg_core *c, const char *json)
{
    json_decref(c->members);
    c->members = json_loads(json, 0, NULL);
    c->have_defs = 1;
}

/* Publish one empty message on every bucket's topic. */
static void
publish_all(sfa_bus **pub)
{
    uint8_t buf[256];
    char topic[SFA_TOPIC_MAX];
    sfa_batch b;

    for (unsigned k = 0; k < SFA_BUCKETS; k++) {
        sfa_topic_samples(topic, SFA_KIND_FLOW, k);
        if (sfa_batch_begin(&b, buf, sizeof buf, topic, "col") == 0)
            (void)sfa_bus_publish(pub[k % LANES], buf, sfa_batch_finish(&b, 1, 1));
    }
}

static int
connected(sfa_bus **pub, int want)
{
    for (int i = 0; i < 200; i++) {
        int n = 0;

        for (int l = 0; l < LANES; l++) {
            sfa_bus_stats st;

            sfa_bus_get_stats(pub[l], &st);
            n += st.pipes > 0;
        }
        if (n == want)
            return 1;
        run_for(10);
    }
    return 0;
}

int
main(void)
{
    const char *ab[] = {"agg-a", "agg-b"};
    uint8_t want[SFA_BUCKETS], lanes_needed[64] = {0};
    sfa_bus *pub[LANES];
    char url[200];
    agg_config cfg = {0};
    agg_core core;
    agg_assign *a, *a64;
    size_t nown;
    int exact = 1, nlanes = 0, rc;

    snprintf(base, sizeof base, "ipc://%s/assign-%d/samples", TEST_BUILD_DIR, (int)getpid());
    uv_loop_init(&loop);
    for (int l = 0; l < LANES; l++) {
        if (sfa_bus_lane_url(url, sizeof url, base, l, LANES) != 0 ||
            sfa_bus_pub_open(&pub[l], &loop, url, 1024) != 0) {
            printf("Bail out! cannot listen on %s\n", url);
            return 1;
        }
    }
    cfg.aggregator_id = "agg-a";
    cfg.maxkeys = 100;
    cfg.maxsources = 100;
    agg_core_init(&core, &cfg, 0);
    a = agg_assign_create(&loop, base, LANES, 1024, on_msg, NULL);
    CHECK(a != NULL, "assign created");
    CHECK(agg_assign_create(&loop, " , ", LANES, 16, on_msg, NULL) == NULL,
          "an empty collector list is refused");

    CHECK_EQ(agg_assign_update(a, &core), 0, "before any defs.v1: nothing owned");
    CHECK_EQ(agg_assign_lanes_open(a), 0, "and no lane dialled");

    set_members(&core, "[\"agg-a\",\"agg-b\"]");
    nown = sfa_shard_owned(ab, 2, "agg-a", want, SFA_BUCKETS);
    rc = agg_assign_update(a, &core);
    CHECK_EQ(rc, (int)nown, "members [agg-a, agg-b]: every owned bucket subscribed");
    CHECK_EQ(core.nowned, nown, "core knows how many it owns");
    CHECK(memcmp(core.owned, want, sizeof want) == 0, "owned = sfa_shard_owned");
    CHECK(connected(pub, LANES), "the four lanes are dialled");
    run_for(100); /* subscriptions travel with the connection */
    publish_all(pub);
    run_for(300);
    for (unsigned b = 0; b < SFA_BUCKETS; b++)
        if (got[b] != (want[b] ? 1 : 0))
            exact = 0;
    CHECK(exact, "received exactly the messages of owned buckets");

    set_members(&core, "[\"agg-b\"]");
    CHECK_EQ(agg_assign_update(a, &core), (int)nown, "dropped from the members: all lost");
    CHECK_EQ(core.nowned, 0, "owns nothing");
    CHECK_EQ(agg_assign_lanes_open(a), 0, "lanes closed");
    CHECK_EQ(core.st.buckets_lost, nown, "lost buckets counted");

    set_members(&core, "[\"agg-a\"]");
    CHECK_EQ(agg_assign_update(a, &core), SFA_BUCKETS, "alone: all 256 gained");
    CHECK_EQ(agg_assign_lanes_open(a), LANES, "every lane dialled");
    CHECK(connected(pub, LANES), "and connected");
    run_for(100);
    memset(got, 0, sizeof got);
    publish_all(pub);
    run_for(300);
    exact = 1;
    for (unsigned b = 0; b < SFA_BUCKETS; b++)
        exact &= got[b] == 1;
    CHECK(exact, "every bucket's message received");
    CHECK_EQ(agg_assign_update(a, &core), 0, "same members again: no change");

    /* 64 lanes: only lanes carrying one of our buckets are dialled. */
    set_members(&core, "[\"agg-a\",\"agg-b\"]");
    a64 = agg_assign_create(&loop, "ipc:///nonexistent/x", 64, 16, on_msg, NULL);
    (void)agg_assign_update(a64, &core);
    for (unsigned b = 0; b < SFA_BUCKETS; b++)
        lanes_needed[b % 64] |= want[b];
    for (int l = 0; l < 64; l++)
        nlanes += lanes_needed[l];
    CHECK_EQ(agg_assign_lanes_open(a64), nlanes, "64 lanes: only the lanes with owned buckets");
    CHECK(nlanes < 64, "(some lane has none of agg-a's buckets)");

    agg_assign_destroy(a64);
    agg_assign_destroy(a);
    for (int l = 0; l < LANES; l++)
        sfa_bus_close(pub[l]);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_EQ(uv_loop_close(&loop), 0, "everything closed");
    agg_core_fini(&core);
    return test_done();
}
