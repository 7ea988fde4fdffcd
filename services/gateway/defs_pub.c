/* defs_pub.c - publish every definition to the aggregators on defs.v1.
 *
 * The whole set goes out in one message (proto/CONTROL.md, "Definitions"):
 * {"version", "flows", "groups", "maps", "thresholds", "members", "lanes"}
 * (thresholds for the events service and the aggregators' metrics.v1), whenever it
 * changes and every second, so an aggregator that starts or restarts has
 * everything within a second without any client action. Nothing is
 * published until membership is known (the first hello round), so a
 * freshly started gateway never announces an empty member list that would
 * make every aggregator drop its buckets.
 *
 * Loop thread only.
 */
#include <stdlib.h>
#include <string.h>

#include <sfa/bus.h>
#include <sfa/clock.h>
#include <sfa/codec.h>
#include <sfa/log.h>
#include <sfa/mem.h>

#include "gw.h"

#define DEFS_TOPIC "defs.v1"
#define DEFS_INTERVAL_MS 1000
#define DEFS_SNDBUF 16
#define DEFS_BUF_MIN (64 * 1024)
#define DEFS_BUF_MAX (64u << 20)
#define DEFS_EXTRA_MORE 4 /* owners of hidden flows (Browse Flows, prometheus, ...) */

struct gw_defs_pub {
    uv_timer_t timer;
    sfa_bus *bus;
    gw_state *state;     /* borrowed */
    gw_members *members; /* borrowed */
    int lanes;
    char *src;
    uint64_t seq;
    uint64_t published;
    uint8_t *buf;
    size_t cap;
    struct {
        json_t *(*fn)(void *arg);
        void *arg;
    } more[DEFS_EXTRA_MORE]; /* gw_defs_pub_add_extra */
};

/* The stored flows plus the extra (hidden) ones; returns new. */
static json_t *
defs_flows(const gw_defs_pub *p)
{
    json_t *flows = json_copy(gw_state_specs(p->state, GW_FLOWS));
    json_t *extra;

    for (int i = 0; i < DEFS_EXTRA_MORE; i++)
        if (p->more[i].fn && (extra = p->more[i].fn(p->more[i].arg)) != NULL)
            json_object_update_missing(flows, extra);
    return flows;
}

static json_t *
defs_body(const gw_defs_pub *p)
{
    return json_pack("{s:I, s:o, s:O, s:O, s:O, s:o, s:i}", "version",
                     (json_int_t)gw_state_version(p->state), "flows", defs_flows(p), "groups",
                     gw_state_specs(p->state, GW_GROUPS), "maps", gw_state_specs(p->state, GW_MAPS),
                     "thresholds", gw_state_specs(p->state, GW_THRESHOLDS), "members",
                     gw_members_live(p->members), "lanes", p->lanes);
}

static void
defs_publish(gw_defs_pub *p)
{
    json_t *body;
    int n;

    if (!gw_members_ready(p->members))
        return;
    body = defs_body(p);
    for (;;) {
        n = sfa_codec_encode_json_msg(p->buf, p->cap, DEFS_TOPIC, p->src, p->seq + 1,
                                      sfa_clock_wall_ms(), body);
        if (n != SFA_ELIMIT || p->cap >= DEFS_BUF_MAX)
            break;
        p->cap *= 2;
        p->buf = sfa_xrealloc(p->buf, p->cap);
    }
    json_decref(body);
    if (n < 0) {
        SFA_WARN("defs: definitions do not fit in %zu bytes; not published", p->cap);
        return;
    }
    p->seq++;
    if (sfa_bus_publish(p->bus, p->buf, (size_t)n) == 0)
        p->published++;
}

static void
defs_tick(uv_timer_t *t)
{
    defs_publish(t->data);
}

int
gw_defs_pub_open(gw_defs_pub **out, uv_loop_t *loop, const char *url, gw_state *state,
                 gw_members *members, int lanes, const char *src)
{
    gw_defs_pub *p = sfa_xcalloc(1, sizeof *p);
    int rc;

    if ((rc = sfa_bus_pub_open(&p->bus, loop, url, DEFS_SNDBUF)) != 0) {
        free(p);
        return rc;
    }
    p->state = state;
    p->members = members;
    p->lanes = lanes;
    p->src = sfa_xstrdup(src);
    p->cap = DEFS_BUF_MIN;
    p->buf = sfa_xmalloc(p->cap);
    (void)uv_timer_init(loop, &p->timer);
    p->timer.data = p;
    (void)uv_timer_start(&p->timer, defs_tick, DEFS_INTERVAL_MS, DEFS_INTERVAL_MS);
    *out = p;
    return 0;
}

void
gw_defs_pub_add_extra(gw_defs_pub *p, json_t *(*extra)(void *arg), void *arg)
{
    for (int i = 0; i < DEFS_EXTRA_MORE; i++)
        if (!p->more[i].fn) {
            p->more[i].fn = extra;
            p->more[i].arg = arg;
            return;
        }
    SFA_SEVERE("defs: too many owners of hidden flows");
    abort();
}

void
gw_defs_pub_del_extra(gw_defs_pub *p, void *arg)
{
    for (int i = 0; i < DEFS_EXTRA_MORE; i++)
        if (p->more[i].fn && p->more[i].arg == arg)
            p->more[i].fn = NULL;
}

void
gw_defs_pub_changed(gw_defs_pub *p)
{
    defs_publish(p);
}

uint64_t
gw_defs_pub_count(const gw_defs_pub *p)
{
    return p->published;
}

static void
defs_closed(uv_handle_t *h)
{
    gw_defs_pub *p = h->data;

    free(p->buf);
    free(p->src);
    free(p);
}

void
gw_defs_pub_close(gw_defs_pub *p)
{
    if (!p)
        return;
    sfa_bus_close(p->bus);
    uv_close((uv_handle_t *)&p->timer, defs_closed);
}
