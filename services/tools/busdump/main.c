/* main.c - sfa-busdump: show what sfa publishers put on the bus.
 *
 * Parses the command line (busdump.c), opens one subscriber that dials
 * every URL (each lane of each, with --lanes), subscribes to the topic
 * prefixes, and runs a libuv loop until --max messages, --timeout, or
 * SIGINT/SIGTERM. Messages are handled by busdump.c; with --count the
 * counts are printed every --interval and at exit. Exit 0 on a clean stop,
 * 1 on a bad command line, 2 when the bus cannot be opened.
 */
#include <stdio.h>
#include <string.h>

#include <sfa/bus.h>
#include <sfa/clock.h>
#include <sfa/log.h>

#include "busdump.h"

typedef struct busdump_main {
    uv_loop_t loop;
    sfa_bus *bus;
    busdump *bd;
    uv_timer_t stop_timer, report_timer;
    uv_signal_t sigint, sigterm;
    uint64_t start_ms;
    int stopped;
} busdump_main;

static void
busdump_main_stop(busdump_main *m)
{
    if (m->stopped)
        return;
    m->stopped = 1;
    sfa_bus_close(m->bus); /* allowed from inside its own receive callback */
    m->bus = NULL;
    uv_close((uv_handle_t *)&m->stop_timer, NULL);
    uv_close((uv_handle_t *)&m->report_timer, NULL);
    uv_close((uv_handle_t *)&m->sigint, NULL);
    uv_close((uv_handle_t *)&m->sigterm, NULL);
}

static void
busdump_main_on_msg(sfa_bus *bus, const uint8_t *msg, size_t len, void *arg)
{
    busdump_main *m = arg;

    if (!m->stopped && busdump_on_msg(m->bd, msg, len))
        busdump_main_stop(m);
}

static void
busdump_main_on_timeout(uv_timer_t *t)
{
    busdump_main_stop(t->data);
}

static void
busdump_main_on_report(uv_timer_t *t)
{
    busdump_main *m = t->data;

    busdump_report(m->bd, sfa_clock_ms() - m->start_ms);
}

static void
busdump_main_on_signal(uv_signal_t *s, int signum)
{
    busdump_main_stop(s->data);
}

/* One subscriber dialing every lane of every URL, subscribed to o's prefixes. */
static int
busdump_main_open(busdump_main *m, const busdump_opts *o)
{
    char url[512];
    int rc = 0;

    for (int i = 0; rc == 0 && i < o->nurls; i++) {
        for (int lane = 0; rc == 0 && lane < o->lanes; lane++) {
            rc = sfa_bus_lane_url(url, sizeof url, o->urls[i], lane, o->lanes);
            if (rc != 0)
                fprintf(stderr, "sfa-busdump: cannot make lane %d of %s\n", lane, o->urls[i]);
            else if (!m->bus)
                rc = sfa_bus_sub_open(&m->bus, &m->loop, url, o->rcvbuf, busdump_main_on_msg, m);
            else
                rc = sfa_bus_add_url(m->bus, url);
        }
    }
    if (rc == 0 && o->nprefixes == 0)
        rc = sfa_bus_subscribe(m->bus, "", 0);
    for (int i = 0; rc == 0 && i < o->nprefixes; i++)
        rc = sfa_bus_subscribe(m->bus, o->prefixes[i].bytes, o->prefixes[i].len);
    if (rc != 0)
        fprintf(stderr, "sfa-busdump: cannot subscribe: %s\n", sfa_strerror(rc));
    return rc;
}

static void
busdump_main_handles(busdump_main *m, const busdump_opts *o)
{
    uv_timer_init(&m->loop, &m->stop_timer);
    uv_timer_init(&m->loop, &m->report_timer);
    m->stop_timer.data = m->report_timer.data = m;
    if (o->timeout > 0)
        uv_timer_start(&m->stop_timer, busdump_main_on_timeout, (uint64_t)(o->timeout * 1000), 0);
    if (o->count && o->interval > 0) {
        uint64_t ms = (uint64_t)(o->interval * 1000);
        uv_timer_start(&m->report_timer, busdump_main_on_report, ms ? ms : 1, ms ? ms : 1);
    }
    uv_signal_init(&m->loop, &m->sigint);
    uv_signal_init(&m->loop, &m->sigterm);
    m->sigint.data = m->sigterm.data = m;
    uv_signal_start(&m->sigint, busdump_main_on_signal, SIGINT);
    uv_signal_start(&m->sigterm, busdump_main_on_signal, SIGTERM);
}

int
main(int argc, char **argv)
{
    busdump_opts o;
    busdump_main m;
    int rc, status = 0;

    sfa_log_init("sfa-busdump", SFA_LOG_WARNING);
    rc = busdump_parse(&o, argc, argv, stdout, stderr);
    if (rc == SFA_EEXIT)
        return 0;
    if (rc != 0)
        return 1;
    memset(&m, 0, sizeof m);
    uv_loop_init(&m.loop);
    m.bd = busdump_create(&o, stdout);
    m.start_ms = sfa_clock_ms();
    busdump_main_handles(&m, &o);
    if (busdump_main_open(&m, &o) != 0) {
        status = 2;
        busdump_main_stop(&m);
    }
    uv_run(&m.loop, UV_RUN_DEFAULT);
    if (status == 0 && o.count)
        busdump_report(m.bd, sfa_clock_ms() - m.start_ms);
    busdump_destroy(m.bd);
    if (uv_loop_close(&m.loop) != 0)
        fprintf(stderr, "sfa-busdump: loop did not close cleanly\n");
    return status;
}
