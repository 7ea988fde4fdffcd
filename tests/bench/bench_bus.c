/* bench_bus.c - messages per second through one sfa_bus pub/sub pair.
 *
 * One publisher and one subscriber on an ipc:// path, in one libuv loop,
 * as the collector and an aggregator would be (but in one process). Two
 * runs per message size:
 *   paced   - the sender keeps at most WINDOW messages in flight, so
 *             nothing is dropped; this is the lossless throughput.
 *   flooded - the sender publishes BURST messages per loop turn whatever
 *             the receiver does; pub/sub drops, and the drop rate shows.
 * Prints numbers only; it asserts nothing (timing targets stay out of
 * tests). Usage: bench_bus [seconds-per-run] (default 2); also run by
 * `meson test --benchmark`. The socket sits in the build dir.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sfa/bus.h>
#include <sfa/clock.h>
#include <sfa/log.h>

#define BUF 1024   /* send and receive queue depth, messages */
#define WINDOW 512 /* paced run: messages in flight at most */
#define BURST 64   /* messages per loop turn */

typedef struct bench {
    uv_loop_t loop;
    uv_idle_t idle;
    sfa_bus *pub, *sub;
    uint8_t *msg;
    size_t size;
    int paced;
    uint64_t sent, recv, end_ms;
} bench;

static void
bench_recv(sfa_bus *bus, const uint8_t *msg, size_t len, void *arg)
{
    ((bench *)arg)->recv++;
}

/* Publishes from an idle handle: runs every loop turn, after polling. */
static void
bench_send(uv_idle_t *h)
{
    bench *b = h->data;

    if (sfa_clock_ms() >= b->end_ms) {
        uv_idle_stop(h);
        return;
    }
    for (int i = 0; i < BURST; i++) {
        if (b->paced && b->sent - b->recv >= WINDOW)
            break;
        memcpy(b->msg + 2, &b->sent, sizeof b->sent);
        if (sfa_bus_publish(b->pub, b->msg, b->size) == 0)
            b->sent++;
    }
}

static void
bench_wait_connected(bench *b)
{
    sfa_bus_stats ps, ss;
    uint64_t end = sfa_clock_ms() + 5000;

    do {
        uv_run(&b->loop, UV_RUN_NOWAIT);
        usleep(1000);
        sfa_bus_get_stats(b->pub, &ps);
        sfa_bus_get_stats(b->sub, &ss);
    } while ((ps.pipes == 0 || ss.pipes == 0) && sfa_clock_ms() < end);
}

static int
bench_run(const char *url, size_t size, int paced, double secs)
{
    bench b = {.size = size, .paced = paced};
    uint64_t t0, t1;
    double dt;

    uv_loop_init(&b.loop);
    b.msg = calloc(1, size);
    memcpy(b.msg, "b", 2); /* topic "b", NUL, then the payload */
    if (sfa_bus_pub_open(&b.pub, &b.loop, url, BUF) != 0 ||
        sfa_bus_sub_open(&b.sub, &b.loop, url, BUF, bench_recv, &b) != 0 ||
        sfa_bus_subscribe(b.sub, "b", 2) != 0) {
        fprintf(stderr, "bench: cannot open the bus on %s\n", url);
        return 1;
    }
    bench_wait_connected(&b);
    uv_idle_init(&b.loop, &b.idle);
    b.idle.data = &b;
    t0 = sfa_clock_us();
    b.end_ms = sfa_clock_ms() + (uint64_t)(secs * 1000);
    uv_idle_start(&b.idle, bench_send);
    while (uv_is_active((uv_handle_t *)&b.idle))
        uv_run(&b.loop, UV_RUN_ONCE);
    /* Let what is in flight arrive, then measure. */
    for (uint64_t end = sfa_clock_ms() + 200; b.recv < b.sent && sfa_clock_ms() < end;)
        uv_run(&b.loop, UV_RUN_NOWAIT);
    t1 = sfa_clock_us();
    dt = (double)(t1 - t0) / 1e6;
    printf("%-7s %6zu B  sent %9llu  recv %9llu  lost %5.1f%%  %10.0f msg/s  %8.1f MB/s\n",
           paced ? "paced" : "flooded", size, (unsigned long long)b.sent,
           (unsigned long long)b.recv,
           b.sent ? 100.0 * (double)(b.sent - b.recv) / (double)b.sent : 0, (double)b.recv / dt,
           (double)b.recv * (double)size / dt / 1e6);
    sfa_bus_close(b.sub);
    sfa_bus_close(b.pub);
    uv_close((uv_handle_t *)&b.idle, NULL);
    uv_run(&b.loop, UV_RUN_DEFAULT);
    uv_loop_close(&b.loop);
    free(b.msg);
    return 0;
}

int
main(int argc, char **argv)
{
    static const size_t sizes[] = {1024, 32768};
    double secs = argc > 1 ? atof(argv[1]) : 2.0;
    char url[128];
    int rv = 0;

    sfa_log_init("bench_bus", SFA_LOG_WARNING);
    snprintf(url, sizeof url, "ipc://%s/bench-bus-%d", BENCH_DIR, (int)getpid());
    printf("sfa_bus over %s, queues %d messages, %.1f s per run\n", url, BUF, secs);
    for (int i = 0; i < 2; i++) {
        rv |= bench_run(url, sizes[i], 1, secs);
        rv |= bench_run(url, sizes[i], 0, secs);
    }
    unlink(url + 6);
    return rv;
}
