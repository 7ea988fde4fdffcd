/* bus_test.c - sfa_bus over real nng sockets in one libuv loop.
 *
 * Publishers and subscribers talk over ipc:// paths under the build dir
 * and tcp://127.0.0.1 on free ports: subscription filters, ordering,
 * 10k messages without loss when the sender keeps within the buffers,
 * several URLs per endpoint, reconnect after the publisher restarts,
 * lane URLs, error paths, and closing after the loop's handles are gone.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <sfa/bus.h>
#include <sfa/clock.h>
#include <sfa/log.h>

#include "test.h"

#define MAXKEEP 64

/* What a subscriber received. */
typedef struct rx {
    int count;
    uint64_t next_seq; /* for ordered streams: the seq expected next */
    int out_of_order;
    char keep[MAXKEEP][32]; /* first messages, topic + "|" + payload */
} rx;

static uv_loop_t loop;
static char dir[90]; /* short: unix socket paths are limited to 107 bytes */

/* ---- helpers ---- */

static void
rx_cb(sfa_bus *bus, const uint8_t *msg, size_t len, void *arg)
{
    rx *r = arg;
    const uint8_t *nul = memchr(msg, 0, len);
    uint64_t seq;

    if (r->count < MAXKEEP && nul)
        snprintf(r->keep[r->count], sizeof r->keep[0], "%s|%.*s", (const char *)msg,
                 (int)(len - (size_t)(nul + 1 - msg)), (const char *)nul + 1);
    if (nul && len == (size_t)(nul + 1 - msg) + sizeof seq) {
        memcpy(&seq, nul + 1, sizeof seq);
        r->out_of_order += seq != r->next_seq;
        r->next_seq = seq + 1;
    }
    r->count++;
}

static void
wake_cb(uv_timer_t *t)
{
}

/* Run the loop until pred(arg) holds or ms pass; returns pred's result. */
static int
run_until(int (*pred)(void *), void *arg, int ms)
{
    uv_timer_t wake;
    uint64_t end = sfa_clock_ms() + (uint64_t)ms;
    int ok;

    uv_timer_init(&loop, &wake);
    uv_timer_start(&wake, wake_cb, 2, 2); /* keeps uv_run from blocking */
    while (!(ok = pred(arg)) && sfa_clock_ms() < end)
        uv_run(&loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&wake, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
    return ok;
}

static void
run_for(int ms)
{
    uint64_t end = sfa_clock_ms() + (uint64_t)ms;
    uv_timer_t wake;

    uv_timer_init(&loop, &wake);
    uv_timer_start(&wake, wake_cb, 2, 2);
    while (sfa_clock_ms() < end)
        uv_run(&loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&wake, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
}

static uint64_t
pipes_of(sfa_bus *b)
{
    sfa_bus_stats st;

    sfa_bus_get_stats(b, &st);
    return st.pipes;
}

typedef struct pair {
    sfa_bus *a, *b;
    uint64_t want;
} pair;

static int
both_connected(void *arg)
{
    pair *p = arg;

    return pipes_of(p->a) >= p->want && (!p->b || pipes_of(p->b) >= p->want);
}

static int
connect_wait(sfa_bus *a, sfa_bus *b, uint64_t want)
{
    pair p = {a, b, want};

    return run_until(both_connected, &p, 5000);
}

static int
rx_at_least(void *arg)
{
    return ((rx *)((void **)arg)[0])->count >= *(int *)((void **)arg)[1];
}

static int
wait_count(rx *r, int n, int ms)
{
    void *arg[2] = {r, &n};

    return run_until(rx_at_least, arg, ms);
}

/* A message: topic, NUL, payload text. */
static void
pub_text(sfa_bus *b, const char *topic, const char *text)
{
    char buf[128];
    size_t t = strlen(topic) + 1, n = strlen(text);

    memcpy(buf, topic, t);
    memcpy(buf + t, text, n);
    if (sfa_bus_publish(b, buf, t + n) != 0)
        printf("# publish failed\n");
}

static int
free_tcp_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;

    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

static void
ipc_url(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "ipc://%s/%s", dir, name);
}

/* ---- cases ---- */

static void
test_lane_urls(void)
{
    char u[64];

    CHECK_OK(sfa_bus_lane_url(u, sizeof u, "ipc:///run/sfa/samples", 0, 1), "lane 0 of 1");
    CHECK_STR(u, "ipc:///run/sfa/samples", "one lane keeps the base URL");
    CHECK_OK(sfa_bus_lane_url(u, sizeof u, "ipc:///run/sfa/samples", 2, 4), "ipc lane 2 of 4");
    CHECK_STR(u, "ipc:///run/sfa/samples.2", "ipc lane suffix");
    CHECK_OK(sfa_bus_lane_url(u, sizeof u, "tcp://127.0.0.1:6500", 3, 4), "tcp lane 3 of 4");
    CHECK_STR(u, "tcp://127.0.0.1:6503", "tcp lane adds to the port");
    CHECK_OK(sfa_bus_lane_url(u, sizeof u, "tcp://[::1]:6500", 1, 2), "tcp IPv6 lane");
    CHECK_STR(u, "tcp://[::1]:6501", "IPv6 literal keeps its colons");
    strcpy(u, "untouched");
    CHECK_ERR(sfa_bus_lane_url(u, 10, "ipc:///a/long/path", 0, 1), SFA_ELIMIT, "too small");
    CHECK_STR(u, "untouched", "out not written on failure");
    CHECK_ERR(sfa_bus_lane_url(u, sizeof u, "tcp://h:65535", 1, 2), SFA_ELIMIT, "port overflow");
    CHECK_ERR(sfa_bus_lane_url(u, sizeof u, "tcp://h", 1, 2), SFA_EFORMAT, "tcp without port");
    CHECK_ERR(sfa_bus_lane_url(u, sizeof u, "ipc:///x", 4, 4), -EINVAL, "lane out of range");
    CHECK_ERR(sfa_bus_lane_url(u, sizeof u, "ipc:///x", 0, 0), -EINVAL, "zero lanes");
}

static void
test_filter_order(void)
{
    char url[300];
    sfa_bus *pub = NULL, *sub = NULL;
    rx r = {0};
    int rv;

    ipc_url(url, sizeof url, "filter");
    rv = sfa_bus_pub_open(&pub, &loop, url, 64);
    CHECK_OK(rv, "pub listens on ipc");
    rv = sfa_bus_sub_open(&sub, &loop, url, 64, rx_cb, &r);
    CHECK_OK(rv, "sub dials ipc");
    CHECK_OK(sfa_bus_subscribe(sub, "flow.v1\0", 8), "subscribe flow.v1 with its NUL");
    CHECK(connect_wait(pub, sub, 1), "pub and sub see one peer each");
    pub_text(pub, "flow.v1", "one");
    pub_text(pub, "flow.v10", "not me");
    pub_text(pub, "stats.v1", "nor me");
    pub_text(pub, "flow.v1", "two");
    pub_text(pub, "flow.v1", "three");
    CHECK(wait_count(&r, 3, 3000), "three subscribed messages arrive");
    run_for(50);
    CHECK_EQ(r.count, 3, "other topics are filtered out");
    CHECK_STR(r.keep[0], "flow.v1|one", "first in order");
    CHECK_STR(r.keep[1], "flow.v1|two", "second in order");
    CHECK_STR(r.keep[2], "flow.v1|three", "third in order");

    CHECK_OK(sfa_bus_unsubscribe(sub, "flow.v1\0", 8), "unsubscribe");
    CHECK_OK(sfa_bus_subscribe(sub, "stats.v1\0", 9), "subscribe stats.v1");
    pub_text(pub, "flow.v1", "dropped");
    pub_text(pub, "stats.v1", "kept");
    CHECK(wait_count(&r, 4, 3000), "message after resubscribe arrives");
    run_for(50);
    CHECK_EQ(r.count, 4, "unsubscribed topic no longer delivered");
    CHECK_STR(r.keep[3], "stats.v1|kept", "new subscription delivered");
    sfa_bus_close(sub);
    sfa_bus_close(pub);
}

/* Sender for the 10k test: bursts from a timer, never more than WINDOW
 * messages in flight, so the buffers (1024) cannot overflow. */
#define BULK_N 10000
#define BULK_WINDOW 256

typedef struct bulk {
    sfa_bus *pub;
    rx *r;
    uint64_t sent;
} bulk;

static void
bulk_tick(uv_timer_t *t)
{
    bulk *b = t->data;
    uint8_t msg[3 + sizeof(uint64_t)] = "bk";

    for (int i = 0; i < 64 && b->sent < BULK_N && b->sent - (uint64_t)b->r->count < BULK_WINDOW;
         i++) {
        memcpy(msg + 3, &b->sent, sizeof b->sent);
        if (sfa_bus_publish(b->pub, msg, sizeof msg) == 0)
            b->sent++;
    }
}

static void
test_bulk(const char *url)
{
    sfa_bus *pub = NULL, *sub = NULL;
    sfa_bus_stats ps, ss;
    rx r = {0};
    uv_timer_t tick;
    bulk b = {0};
    int rv;

    printf("# 10k messages over %s\n", url);
    rv = sfa_bus_pub_open(&pub, &loop, url, 1024);
    CHECK_OK(rv, "bulk pub listens");
    rv = sfa_bus_sub_open(&sub, &loop, url, 1024, rx_cb, &r);
    CHECK_OK(rv, "bulk sub dials");
    CHECK_OK(sfa_bus_subscribe(sub, "bk", 3), "subscribe");
    CHECK(connect_wait(pub, sub, 1), "connected");
    b.pub = pub;
    b.r = &r;
    uv_timer_init(&loop, &tick);
    tick.data = &b;
    uv_timer_start(&tick, bulk_tick, 1, 1);
    CHECK(wait_count(&r, BULK_N, 30000), "10k messages delivered");
    uv_close((uv_handle_t *)&tick, NULL);
    run_for(20);
    CHECK_EQ(r.count, BULK_N, "no loss, no duplicates");
    CHECK_EQ(r.out_of_order, 0, "delivered in order");
    sfa_bus_get_stats(pub, &ps);
    sfa_bus_get_stats(sub, &ss);
    CHECK_EQ(ps.msgs_sent, BULK_N, "publisher counted every message");
    CHECK_EQ(ps.bytes_sent, BULK_N * 11, "publisher counted bytes");
    CHECK_EQ(ps.send_failed, 0, "no send failures");
    CHECK_EQ(ss.msgs_recv, BULK_N, "subscriber counted every message");
    CHECK_EQ(ss.bytes_recv, BULK_N * 11, "subscriber counted bytes");
    sfa_bus_close(sub);
    sfa_bus_close(pub);
}

static void
test_multi_url(void)
{
    char ipc[300], tcp1[64], tcp2[64];
    sfa_bus *pub1 = NULL, *pub2 = NULL, *s_ipc = NULL, *s_tcp = NULL, *s_both = NULL;
    rx r1 = {0}, r2 = {0}, r3 = {0};
    int rv;

    ipc_url(ipc, sizeof ipc, "multi");
    snprintf(tcp1, sizeof tcp1, "tcp://127.0.0.1:%d", free_tcp_port());
    snprintf(tcp2, sizeof tcp2, "tcp://127.0.0.1:%d", free_tcp_port());
    rv = sfa_bus_pub_open(&pub1, &loop, ipc, 64);
    CHECK_OK(rv, "pub1 on ipc");
    CHECK_OK(sfa_bus_add_url(pub1, tcp1), "pub1 also listens on tcp");
    rv = sfa_bus_pub_open(&pub2, &loop, tcp2, 64);
    CHECK_OK(rv, "pub2 on another tcp port");
    rv = sfa_bus_sub_open(&s_ipc, &loop, ipc, 64, rx_cb, &r1);
    CHECK_OK(rv, "sub on pub1's ipc URL");
    rv = sfa_bus_sub_open(&s_tcp, &loop, tcp1, 64, rx_cb, &r2);
    CHECK_OK(rv, "sub on pub1's tcp URL");
    rv = sfa_bus_sub_open(&s_both, &loop, tcp1, 64, rx_cb, &r3);
    CHECK_OK(rv, "sub dialing pub1");
    CHECK_OK(sfa_bus_add_url(s_both, tcp2), "and pub2");
    CHECK_OK(sfa_bus_subscribe(s_ipc, "", 0) | sfa_bus_subscribe(s_tcp, "", 0) |
                 sfa_bus_subscribe(s_both, "", 0),
             "subscribe all");
    CHECK(connect_wait(pub1, NULL, 3), "pub1 has three peers");
    CHECK(connect_wait(pub2, s_both, 1) && pipes_of(s_both) == 2, "s_both has two peers");
    pub_text(pub1, "m", "from1");
    pub_text(pub2, "m", "from2");
    CHECK(wait_count(&r1, 1, 3000) && wait_count(&r2, 1, 3000) && wait_count(&r3, 2, 3000),
          "every subscriber got its messages");
    run_for(50);
    CHECK(r1.count == 1 && r2.count == 1 && r3.count == 2, "exact counts");
    CHECK_STR(r1.keep[0], "m|from1", "ipc subscriber got pub1");
    CHECK_STR(r2.keep[0], "m|from1", "tcp subscriber got pub1");
    CHECK(strcmp(r3.keep[0], r3.keep[1]) != 0, "two-URL subscriber got both publishers");
    sfa_bus_close(s_both);
    sfa_bus_close(s_tcp);
    sfa_bus_close(s_ipc);
    sfa_bus_close(pub2);
    sfa_bus_close(pub1);
}

static void
big_cb(sfa_bus *bus, const uint8_t *msg, size_t len, void *arg)
{
    *(size_t *)arg = len;
}

static int
big_arrived(void *arg)
{
    return *(size_t *)arg != 0;
}

/* Batches may exceed nng's default 1 MiB receive limit. */
static void
test_big_message(void)
{
    size_t big = (size_t)4 << 20, got = 0;
    uint8_t *msg = calloc(1, big);
    char url[300];
    sfa_bus *pub = NULL, *sub = NULL;
    int rv;

    ipc_url(url, sizeof url, "big");
    rv = sfa_bus_pub_open(&pub, &loop, url, 8);
    CHECK_OK(rv, "pub for a big message");
    rv = sfa_bus_sub_open(&sub, &loop, url, 8, big_cb, &got);
    CHECK_OK(rv, "sub for a big message");
    CHECK_OK(sfa_bus_subscribe(sub, "", 0), "subscribe all");
    CHECK(connect_wait(pub, sub, 1), "connected");
    CHECK_OK(sfa_bus_publish(pub, msg, big), "publish 4 MiB");
    CHECK(run_until(big_arrived, &got, 5000), "4 MiB message arrives");
    CHECK_EQ(got, big, "whole message");
    CHECK_EQ(pipes_of(sub), 1, "connection kept");
    sfa_bus_close(sub);
    sfa_bus_close(pub);
    free(msg);
}

static int
sub_disconnected(void *arg)
{
    return pipes_of(arg) == 0;
}

static void
test_reconnect(void)
{
    char url[300];
    sfa_bus *pub = NULL, *sub = NULL;
    rx r = {0};
    int rv;

    ipc_url(url, sizeof url, "restart");
    rv = sfa_bus_sub_open(&sub, &loop, url, 64, rx_cb, &r);
    CHECK_OK(rv, "sub dials before the publisher exists");
    CHECK_OK(sfa_bus_subscribe(sub, "", 0), "subscribe all");
    rv = sfa_bus_pub_open(&pub, &loop, url, 64);
    CHECK_OK(rv, "publisher comes up later");
    CHECK(connect_wait(pub, sub, 1), "sub connects in the background");
    pub_text(pub, "x", "before");
    CHECK(wait_count(&r, 1, 3000), "message before restart");
    sfa_bus_close(pub);
    CHECK(run_until(sub_disconnected, sub, 3000), "sub notices the publisher is gone");
    rv = sfa_bus_pub_open(&pub, &loop, url, 64);
    CHECK_OK(rv, "publisher reopens on the same ipc path");
    CHECK(connect_wait(pub, sub, 1), "sub reconnects");
    pub_text(pub, "x", "after");
    CHECK(wait_count(&r, 2, 3000), "message after restart");
    CHECK_STR(r.keep[1], "x|after", "the new publisher's message");
    sfa_bus_close(sub);
    sfa_bus_close(pub);
}

static void
test_errors_and_ipc_prep(void)
{
    char url[320], path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    sfa_bus *b = NULL, *b2 = NULL;
    struct stat st;
    int fd, rv;

    rv = sfa_bus_pub_open(&b, &loop, "bogus://x", 8);
    CHECK_ERR(rv, SFA_EBUS, "bad scheme for a publisher");
    rv = sfa_bus_sub_open(&b, &loop, "bogus://x", 8, rx_cb, NULL);
    CHECK_ERR(rv, SFA_EBUS, "bad scheme for a subscriber");
    snprintf(url, sizeof url, "tcp://127.0.0.1:%d", free_tcp_port());
    rv = sfa_bus_pub_open(&b, &loop, url, 8);
    CHECK_OK(rv, "tcp publisher");
    rv = sfa_bus_pub_open(&b2, &loop, url, 8);
    CHECK_ERR(rv, SFA_EBUS, "second listener on the same port fails");
    CHECK_OK(sfa_bus_publish(b, "t\0x", 3), "publishing without peers succeeds (dropped)");
    sfa_bus_close(b);

    /* A stale socket file from a dead process, under a missing directory. */
    snprintf(path, sizeof path, "%s/sub/dir/stale", dir);
    snprintf(url, sizeof url, "ipc://%s", path);
    rv = sfa_bus_pub_open(&b, &loop, url, 8);
    CHECK_OK(rv, "parent directories are created");
    sfa_bus_close(b);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    memcpy(sa.sun_path, path, sizeof path);
    unlink(path);
    rv = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    close(fd);
    CHECK(rv == 0 && stat(path, &st) == 0 && S_ISSOCK(st.st_mode), "stale socket file made");
    rv = sfa_bus_pub_open(&b, &loop, url, 8);
    CHECK_OK(rv, "stale ipc socket file is replaced");
    sfa_bus_close(b);
}

static void
close_walk_cb(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* A main that closes every handle with uv_walk before the buses. */
static void
test_close_after_loop(void)
{
    uv_loop_t l2;
    char url[300];
    sfa_bus *pub = NULL, *sub = NULL;
    int rv;

    uv_loop_init(&l2);
    ipc_url(url, sizeof url, "late");
    rv = sfa_bus_pub_open(&pub, &l2, url, 8);
    CHECK_OK(rv, "pub on second loop");
    rv = sfa_bus_sub_open(&sub, &l2, url, 8, rx_cb, NULL);
    CHECK_OK(rv, "sub on second loop");
    uv_walk(&l2, close_walk_cb, NULL);
    uv_run(&l2, UV_RUN_DEFAULT);
    CHECK_OK(uv_loop_close(&l2), "loop closes after the walk");
    sfa_bus_close(sub);
    sfa_bus_close(pub);
    CHECK(1, "closing buses after their loop is safe (ASan checks the memory)");
}

int
main(void)
{
    sfa_log_init("bus_test", SFA_LOG_SEVERE);
    snprintf(dir, sizeof dir, "%s/bus-%d", TEST_BUILD_DIR, (int)getpid());
    uv_loop_init(&loop);
    test_lane_urls();
    test_filter_order();
    char url[320];
    snprintf(url, sizeof url, "tcp://127.0.0.1:%d", free_tcp_port());
    test_bulk(url);
    ipc_url(url, sizeof url, "bulk");
    test_bulk(url);
    test_multi_url();
    test_big_message();
    test_reconnect();
    test_errors_and_ipc_prep();
    test_close_after_loop();
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_OK(uv_loop_close(&loop), "every handle closed");
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", dir);
    return test_done();
}
