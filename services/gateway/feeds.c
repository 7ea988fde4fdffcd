/* feeds.c - what fills the gateway's long-poll logs: events.v1 from the
 * events service and flowlog.v1 from the aggregators (proto/CONTROL.md).
 *
 * Events: a subscriber dials the events service's bus.events. Each
 * events.v1 body is one event object, exactly as /events/json returns it;
 * it goes into g->events as received (ids come from the events service).
 * Pub/sub loses messages while not connected, so the log is refilled with
 * the survey {"op":"events","after":-1,"max":events.max}, which the events
 * service answers from its own log: at start, when the subscription
 * (re)connects, when a sequence gap shows lost messages, and when a hello
 * announces a lastEventID newer than the newest held - only while an
 * events service answers hellos (members.c), so none is sent for nothing. Duplicates are
 * refused by the log, so overlaps are harmless; parked requests are woken
 * once per message or refill, so a refill is seen whole.
 *
 * Logged flows: a subscriber listens on bus.flowlog and every aggregator
 * dials it (the many-to-one pattern of metrics.v1). A flowlog.v1 body is
 * {"id": aggregator, "flows": [record, ...]}; the gateway gives each
 * record the next flowID (ids restart with the gateway; flow records are
 * not kept across restarts, as in sFlow-RT) and adds it to g->flows.
 *
 * Loop thread only. A refill survey may still be in flight when the
 * module closes; the struct then lives until it reports back.
 */
#include <stdlib.h>
#include <string.h>

#include <sfa/bus.h>
#include <sfa/codec.h>
#include <sfa/log.h>
#include <sfa/mem.h>

#include "gw.h"

#define FEEDS_TOPIC_EVENTS "events.v1"
#define FEEDS_TOPIC_FLOWLOG "flowlog.v1"
#define FEEDS_RCVBUF 1024
#define FEEDS_TICK_MS 500
#define FEEDS_SRC "gateway"

struct gw_feeds {
    gw_ctx *g; /* borrowed */
    sfa_bus *ev_sub, *fl_sub;
    sfa_seqtrack *ev_seq, *fl_seq;
    uv_timer_t timer;
    int timer_open;
    int refill_wanted;
    int refill_in_flight;
    int closing;
    uint64_t ev_pipes; /* connected publishers at the last tick */
    int64_t hello_id;  /* the announced lastEventID a refill was last asked for */
    int64_t next_flow_id;
    gw_feeds_stats st;
};

static void
feeds_free_if_done(gw_feeds *f)
{
    if (!f->closing || f->timer_open || f->refill_in_flight)
        return;
    sfa_seqtrack_destroy(f->ev_seq);
    sfa_seqtrack_destroy(f->fl_seq);
    free(f);
}

/* The body of msg when it is a well-formed message of topic; new or NULL. */
static json_t *
feeds_body(const uint8_t *msg, size_t len, const char *topic, sfa_envelope *env)
{
    size_t tl = strlen(topic);

    if (sfa_codec_parse(msg, len, env) != 0 || env->topic_len != tl ||
        memcmp(env->topic, topic, tl) != 0)
        return NULL;
    return sfa_codec_body_json(env);
}

/* Is ev an event object: integer eventID >= 0, string thresholdID? */
static int
feeds_event_valid(const json_t *ev)
{
    const json_t *id = json_object_get(ev, "eventID");

    return json_is_integer(id) && json_integer_value(id) >= 0 &&
           json_is_string(json_object_get(ev, "thresholdID"));
}

/* ---- events ---- */

static void
feeds_on_event(sfa_bus *bus, const uint8_t *msg, size_t len, void *arg)
{
    gw_feeds *f = arg;
    sfa_envelope env;
    json_t *ev = feeds_body(msg, len, FEEDS_TOPIC_EVENTS, &env);

    (void)bus;
    f->st.events_msgs++;
    if (!ev || !feeds_event_valid(ev)) {
        f->st.events_bad++;
        json_decref(ev);
        return;
    }
    if (sfa_seqtrack_update(f->ev_seq, &env) > 0) {
        f->st.events_gaps++;
        f->refill_wanted = 1;
    }
    if (gw_lp_add(f->g->events, ev))
        gw_lp_notify(f->g->events);
}

static void
feeds_refill_done(const sfa_survey_result *res, void *arg)
{
    gw_feeds *f = arg;
    size_t added = 0, answered = 0, i;
    json_t *ev;

    f->refill_in_flight = 0;
    if (f->closing) {
        feeds_free_if_done(f);
        return;
    }
    for (size_t a = 0; a < res->nanswers; a++) {
        json_t *body = sfa_survey_msg_json(res->answers[a].msg, res->answers[a].len);
        json_t *op = json_object_get(body, "op"), *result = json_object_get(body, "result");

        /* Only the events service answers this op with an array. */
        if (json_is_string(op) && strcmp(json_string_value(op), "events") == 0 &&
            json_is_array(result)) {
            answered++;
            json_array_foreach(result, i, ev)
            {
                if (feeds_event_valid(ev))
                    added += (size_t)gw_lp_add(f->g->events, json_incref(ev));
            }
        }
        json_decref(body);
    }
    if (answered > 0) {
        f->refill_wanted = 0;
        f->st.refills++;
    }
    if (added > 0) {
        SFA_FINE("events: %zu events refilled from the events service", added);
        gw_lp_notify(f->g->events);
    }
}

static void
feeds_refill(gw_feeds *f)
{
    json_t *q;

    if (f->refill_in_flight || !f->g->sv)
        return;
    q = json_pack("{s:s, s:i, s:I}", "op", "events", "after", -1, "max",
                  (json_int_t)f->g->cfg->events_max);
    if (sfa_survey_start_json(f->g->sv, FEEDS_SRC, q, (int)f->g->cfg->query_timeout_ms,
                              feeds_refill_done, f) == 0)
        f->refill_in_flight = 1;
    json_decref(q);
}

static void
feeds_tick(uv_timer_t *t)
{
    gw_feeds *f = t->data;
    sfa_bus_stats bs;
    int64_t last;

    if (f->closing || !f->g->sv || !f->g->members)
        return; /* stopping */
    sfa_bus_get_stats(f->ev_sub, &bs);
    if (bs.pipes > f->ev_pipes)
        f->refill_wanted = 1; /* (re)connected: what was published meanwhile is lost */
    f->ev_pipes = bs.pipes;
    /* -1 until an events service answers a hello: nothing to refill from
     * (sfa.events=no), so no survey is sent for nothing. */
    last = gw_members_last_event_id(f->g->members);
    if (last < 0)
        return;
    /* Once per announced id: an event the log refuses must not make every
     * tick refill. */
    if (last > gw_lp_last_id(f->g->events) && last > f->hello_id) {
        f->hello_id = last;
        f->refill_wanted = 1;
    }
    if (f->refill_wanted)
        feeds_refill(f);
}

/* ---- logged flows ---- */

/* Is rec a flow record an aggregator may send (flow_log.c)? */
static int
feeds_flow_valid(const json_t *rec)
{
    return json_is_object(rec) && json_is_string(json_object_get(rec, "name")) &&
           json_is_string(json_object_get(rec, "flowKeys")) &&
           json_is_number(json_object_get(rec, "value"));
}

static void
feeds_on_flowlog(sfa_bus *bus, const uint8_t *msg, size_t len, void *arg)
{
    gw_feeds *f = arg;
    sfa_envelope env;
    json_t *body = feeds_body(msg, len, FEEDS_TOPIC_FLOWLOG, &env), *rec;
    size_t i, added = 0;

    (void)bus;
    f->st.flowlog_msgs++;
    if (!json_is_object(body) || !json_is_array(json_object_get(body, "flows"))) {
        f->st.flowlog_bad++;
        json_decref(body);
        return;
    }
    f->st.flowlog_gaps += sfa_seqtrack_update(f->fl_seq, &env);
    json_array_foreach(json_object_get(body, "flows"), i, rec)
    {
        json_t *copy;

        if (!feeds_flow_valid(rec)) {
            f->st.flowlog_bad++;
            continue;
        }
        copy = json_deep_copy(rec);
        json_object_set_new(copy, "flowID", json_integer((json_int_t)++f->next_flow_id));
        added += (size_t)gw_lp_add(f->g->flows, copy);
    }
    json_decref(body);
    if (added > 0)
        gw_lp_notify(f->g->flows);
}

/* ---- lifecycle ---- */

int
gw_feeds_open(gw_feeds **out, gw_ctx *g)
{
    static const char ev_topic[] = FEEDS_TOPIC_EVENTS, fl_topic[] = FEEDS_TOPIC_FLOWLOG;
    gw_feeds *f = sfa_xcalloc(1, sizeof *f);
    int rc;

    f->g = g;
    f->ev_seq = sfa_seqtrack_create();
    f->fl_seq = sfa_seqtrack_create();
    f->refill_wanted = 1;
    if ((rc = sfa_bus_sub_open(&f->ev_sub, g->loop, g->cfg->bus_events, FEEDS_RCVBUF,
                               feeds_on_event, f)) != 0 ||
        (rc = sfa_bus_subscribe(f->ev_sub, ev_topic, sizeof ev_topic)) != 0 ||
        (rc = sfa_bus_sub_listen(&f->fl_sub, g->loop, g->cfg->bus_flowlog, FEEDS_RCVBUF,
                                 feeds_on_flowlog, f)) != 0 ||
        (rc = sfa_bus_subscribe(f->fl_sub, fl_topic, sizeof fl_topic)) != 0) {
        SFA_SEVERE("cannot open bus.events %s / bus.flowlog %s", g->cfg->bus_events,
                   g->cfg->bus_flowlog);
        sfa_bus_close(f->ev_sub);
        sfa_bus_close(f->fl_sub);
        f->closing = 1;
        feeds_free_if_done(f);
        return SFA_EBUS;
    }
    (void)uv_timer_init(g->loop, &f->timer);
    f->timer.data = f;
    f->timer_open = 1;
    (void)uv_timer_start(&f->timer, feeds_tick, 0, FEEDS_TICK_MS);
    *out = f;
    return 0;
}

void
gw_feeds_get_stats(const gw_feeds *f, gw_feeds_stats *st)
{
    *st = f->st;
}

static void
feeds_timer_closed(uv_handle_t *h)
{
    gw_feeds *f = h->data;

    f->timer_open = 0;
    feeds_free_if_done(f);
}

void
gw_feeds_close(gw_feeds *f)
{
    if (!f)
        return;
    f->closing = 1;
    sfa_bus_close(f->ev_sub);
    f->ev_sub = NULL;
    sfa_bus_close(f->fl_sub);
    f->fl_sub = NULL;
    uv_close((uv_handle_t *)&f->timer, feeds_timer_closed);
}
