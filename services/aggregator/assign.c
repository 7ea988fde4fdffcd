/* assign.c - which agent buckets this aggregator reads, and the sockets
 * that carry them.
 *
 * Ownership is derived from the member list of the last defs.v1 with the
 * rendezvous hashing of sfa/shard.h (proto/CONTROL.md): nothing is owned
 * before the first defs.v1 or while our id is not a member. For every
 * lane (bucket b travels on lane b % lanes) that carries at least one
 * owned bucket we keep one subscriber socket dialling that lane of every
 * collector, subscribed to exactly the topics "flow.v1.XX\0" and
 * "counter.v1.XX\0" of our buckets; a lane with no owned bucket is not
 * dialled at all. When
 * ownership changes, gained buckets are subscribed, lost ones
 * unsubscribed and everything learnt from them is dropped
 * (agg_core_drop_buckets), so an aggregator never answers for an agent it
 * no longer reads and a later owner's answers are never mixed with stale
 * ones. A bucket's counter topic follows its flow topic.
 *
 * Loop thread only. Closing a lane socket is asynchronous (sfa_bus_close).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/log.h>
#include <sfa/mem.h>
#include <sfa/shard.h>

#include "agg.h"

#define ASSIGN_MAX_LANES 64
#define ASSIGN_MAX_COLLECTORS 64
#define ASSIGN_URL_MAX 512

struct agg_assign {
    uv_loop_t *loop;
    char *urls[ASSIGN_MAX_COLLECTORS];
    int ncollectors;
    int lanes;
    int rcvbuf;
    sfa_bus *lane[ASSIGN_MAX_LANES];
    uint8_t subscribed[SFA_BUCKETS];
    sfa_bus_recv_cb cb;
    void *arg;
};

/* Split the comma list into a->urls (spaces around entries ignored). */
static int
assign_parse_urls(agg_assign *a, const char *list)
{
    const char *p = list;

    while (*p) {
        size_t n;

        while (*p == ' ' || *p == ',')
            p++;
        n = strcspn(p, ",");
        while (n > 0 && p[n - 1] == ' ')
            n--;
        if (n > 0) {
            if (a->ncollectors == ASSIGN_MAX_COLLECTORS || n >= ASSIGN_URL_MAX - 16) {
                SFA_SEVERE("bus.collectors: too many or too long URLs (at most %d)",
                           ASSIGN_MAX_COLLECTORS);
                return SFA_ECONFIG;
            }
            a->urls[a->ncollectors] = sfa_xmalloc(n + 1);
            memcpy(a->urls[a->ncollectors], p, n);
            a->urls[a->ncollectors][n] = '\0';
            a->ncollectors++;
        }
        p += strcspn(p, ",");
    }
    if (a->ncollectors == 0) {
        SFA_SEVERE("bus.collectors: no URL given");
        return SFA_ECONFIG;
    }
    return 0;
}

agg_assign *
agg_assign_create(uv_loop_t *loop, const char *urls, int lanes, int rcvbuf, sfa_bus_recv_cb cb,
                  void *arg)
{
    agg_assign *a = sfa_xcalloc(1, sizeof *a);
    char url[ASSIGN_URL_MAX];

    a->loop = loop;
    a->lanes = lanes < 1 ? 1 : lanes > ASSIGN_MAX_LANES ? ASSIGN_MAX_LANES : lanes;
    a->rcvbuf = rcvbuf;
    a->cb = cb;
    a->arg = arg;
    if (assign_parse_urls(a, urls) != 0)
        goto fail;
    /* Check every lane URL can be formed now rather than at the first
     * rebalance. */
    for (int i = 0; i < a->ncollectors; i++) {
        if (sfa_bus_lane_url(url, sizeof url, a->urls[i], a->lanes - 1, a->lanes) != 0) {
            SFA_SEVERE("bus.collectors: cannot derive lane URLs from %s", a->urls[i]);
            goto fail;
        }
    }
    return a;

fail:
    agg_assign_destroy(a);
    return NULL;
}

void
agg_assign_destroy(agg_assign *a)
{
    if (!a)
        return;
    for (int i = 0; i < ASSIGN_MAX_LANES; i++)
        sfa_bus_close(a->lane[i]);
    for (int i = 0; i < a->ncollectors; i++)
        free(a->urls[i]);
    free(a);
}

/* Open lane i's subscriber, dialling that lane of every collector. */
static int
assign_lane_open(agg_assign *a, int lane)
{
    char url[ASSIGN_URL_MAX];
    sfa_bus *bus = NULL;
    int rc = 0;

    for (int i = 0; i < a->ncollectors && rc == 0; i++) {
        rc = sfa_bus_lane_url(url, sizeof url, a->urls[i], lane, a->lanes);
        if (rc == 0)
            rc = bus ? sfa_bus_add_url(bus, url)
                     : sfa_bus_sub_open(&bus, a->loop, url, a->rcvbuf, a->cb, a->arg);
    }
    if (rc != 0) {
        SFA_WARN("assign: cannot open lane %d: %s", lane, sfa_strerror(rc));
        sfa_bus_close(bus);
        return rc;
    }
    a->lane[lane] = bus;
    SFA_FINE("assign: lane %d dialled", lane);
    return 0;
}

static int
assign_topic(char *out, unsigned b)
{
    /* sfa_topic_samples writes the NUL; subscribing with it makes the
     * prefix match exactly this bucket. */
    return (int)sfa_topic_samples(out, SFA_KIND_FLOW, b) + 1;
}

/* The counter topic of bucket b follows its flow topic (on: subscribe). */
static void
assign_counters(sfa_bus *bus, unsigned b, int on)
{
    char topic[SFA_TOPIC_MAX];
    size_t n = sfa_topic_samples(topic, SFA_KIND_COUNTER, b) + 1; /* with its NUL */
    int rc = on ? sfa_bus_subscribe(bus, topic, n) : sfa_bus_unsubscribe(bus, topic, n);

    if (rc != 0)
        SFA_FINE("assign: cannot %ssubscribe the counters of bucket %u", on ? "" : "un", b);
}

/* Make the sockets match want[]. Returns how many buckets changed. */
static int
assign_apply(agg_assign *a, const uint8_t *want)
{
    char topic[SFA_TOPIC_MAX];
    int changed = 0;

    for (int lane = 0; lane < a->lanes; lane++) {
        int need = 0;

        for (unsigned b = (unsigned)lane; b < SFA_BUCKETS; b += (unsigned)a->lanes)
            need |= want[b];
        if (need && !a->lane[lane] && assign_lane_open(a, lane) != 0)
            need = 0;
        for (unsigned b = (unsigned)lane; b < SFA_BUCKETS; b += (unsigned)a->lanes) {
            int n = assign_topic(topic, b);

            if (want[b] && need && !a->subscribed[b]) {
                if (sfa_bus_subscribe(a->lane[lane], topic, (size_t)n) == 0) {
                    a->subscribed[b] = 1;
                    changed++;
                    assign_counters(a->lane[lane], b, 1);
                }
            } else if ((!want[b] || !need) && a->subscribed[b]) {
                if (a->lane[lane] && sfa_bus_unsubscribe(a->lane[lane], topic, (size_t)n) != 0)
                    SFA_FINE("assign: cannot unsubscribe bucket %u", b);
                if (a->lane[lane])
                    assign_counters(a->lane[lane], b, 0);
                a->subscribed[b] = 0;
                changed++;
            }
        }
        if (!need && a->lane[lane]) {
            sfa_bus_close(a->lane[lane]);
            a->lane[lane] = NULL;
            SFA_FINE("assign: lane %d closed", lane);
        }
    }
    return changed;
}

/* Buckets c->id owns according to c->members. */
static void
assign_compute(const agg_core *c, uint8_t *want)
{
    size_t n = json_array_size(c->members);
    const char **ids = sfa_xcalloc(n ? n : 1, sizeof *ids);

    for (size_t i = 0; i < n; i++)
        ids[i] = json_string_value(json_array_get(c->members, i));
    if (c->have_defs)
        (void)sfa_shard_owned(ids, n, c->id, want, SFA_BUCKETS);
    else
        memset(want, 0, SFA_BUCKETS);
    free(ids);
}

int
agg_assign_update(agg_assign *a, agg_core *c)
{
    uint8_t want[SFA_BUCKETS], lost[SFA_BUCKETS];
    unsigned gained = 0, nlost = 0, owned = 0;
    int changed;

    assign_compute(c, want);
    changed = assign_apply(a, want);
    for (unsigned b = 0; b < SFA_BUCKETS; b++) {
        lost[b] = c->owned[b] && !a->subscribed[b];
        gained += !c->owned[b] && a->subscribed[b];
        nlost += lost[b];
        c->owned[b] = a->subscribed[b];
        owned += c->owned[b];
    }
    c->nowned = owned;
    if (nlost)
        agg_core_drop_buckets(c, lost);
    if (gained || nlost) {
        c->st.rebalances++;
        c->st.buckets_gained += gained;
        c->st.buckets_lost += nlost;
        SFA_INFO("assign: %u of %d buckets owned (+%u -%u), %d lanes, %zu members", owned,
                 SFA_BUCKETS, gained, nlost, agg_assign_lanes_open(a), json_array_size(c->members));
    }
    return changed;
}

int
agg_assign_lanes_open(const agg_assign *a)
{
    int n = 0;

    for (int i = 0; i < a->lanes; i++)
        n += a->lane[i] != NULL;
    return n;
}
