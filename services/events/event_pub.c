/* event_pub.c - every event on the bus: topic events.v1 (proto/CONTROL.md).
 *
 * The body is the event object exactly as /events/json returns it, so any
 * language that can read the sample bus can follow events too: subscribe
 * to "events.v1\0" on bus.events. A pub socket never blocks; a subscriber
 * too slow to keep up loses messages (and sees a gap in seq), and can
 * refill from the log with the "events" survey or /events/json.
 * Loop thread only; one reused encode buffer.
 */
#include <stdlib.h>

#include <sfa/clock.h>
#include <sfa/log.h>
#include <sfa/mem.h>

#include "evt.h"

#define PUB_SNDBUF 1024 /* events queued per slow subscriber */
#define PUB_BUF_MIN (16 * 1024)
#define PUB_BUF_MAX (1u << 20) /* an event with an absurd values list is refused */

struct evt_pub {
    sfa_bus *bus;
    char *src;
    uint64_t seq;
    uint64_t published;
    uint8_t *buf;
    size_t cap;
};

int
evt_pub_open(evt_pub **out, uv_loop_t *loop, const char *url, const char *src)
{
    evt_pub *p = sfa_xcalloc(1, sizeof *p);
    int rc;

    if ((rc = sfa_bus_pub_open(&p->bus, loop, url, PUB_SNDBUF)) != 0) {
        free(p);
        return rc;
    }
    p->src = sfa_xstrdup(src);
    p->cap = PUB_BUF_MIN;
    p->buf = sfa_xmalloc(p->cap);
    *out = p;
    return 0;
}

int
evt_pub_event(evt_pub *p, const json_t *ev)
{
    int n;

    for (;;) {
        n = sfa_codec_encode_json_msg(p->buf, p->cap, EVT_TOPIC_EVENTS, p->src, p->seq + 1,
                                      sfa_clock_wall_ms(), ev);
        if (n != SFA_ELIMIT || p->cap >= PUB_BUF_MAX)
            break;
        p->cap *= 2;
        p->buf = sfa_xrealloc(p->buf, p->cap);
    }
    if (n < 0)
        return n;
    p->seq++;
    if (sfa_bus_publish(p->bus, p->buf, (size_t)n) != 0)
        return SFA_EBUS;
    p->published++;
    return 0;
}

uint64_t
evt_pub_count(const evt_pub *p)
{
    return p->published;
}

void
evt_pub_close(evt_pub *p)
{
    if (!p)
        return;
    sfa_bus_close(p->bus);
    free(p->buf);
    free(p->src);
    free(p);
}
