/* members.c - which aggregators are alive, from hello surveys.
 *
 * Every interval the gateway surveys {"op":"hello"}; each aggregator
 * answers with its id, the defs version it applied, the buckets it owns
 * and its counters (proto/CONTROL.md). An aggregator is live when it
 * answered one of the last two hellos, so one lost answer does not move
 * buckets around. The live set (sorted ids) is what defs.v1 announces as
 * "members"; a change calls the owner back at once. Other respondents on
 * the query bus (the events service answers hello with "role":"events")
 * are tracked for /sfa/v1/stats but never become members: only answers
 * with no role or "role":"aggregator" own buckets. Respondents not heard
 * for MEMBERS_FORGET_ROUNDS rounds are forgotten.
 *
 * Loop thread only. A hello may still be in flight when the owner closes
 * the module: the struct then lives until that survey reports back.
 */
#include <stdlib.h>
#include <string.h>

#include <sfa/clock.h>
#include <sfa/log.h>
#include <sfa/mem.h>

#include "gw.h"

#define MEMBERS_FORGET_ROUNDS 30
#define MEMBERS_ID_MAX 128
#define MEMBERS_ROLE "aggregator" /* the role that owns buckets */

struct gw_members {
    uv_timer_t timer;
    sfa_surveyor *sv;
    char *src;
    int deadline_ms;
    uint64_t round; /* hello rounds completed */
    int in_flight;
    int closing;
    int timer_open;
    int ready;
    json_t *table; /* id -> {"round": n, "seen": ms, "role": s, "hello": body} */
    json_t *live;  /* sorted array of live ids */
    void (*changed)(void *arg);
    void *arg;
};

static void
members_free_if_done(gw_members *m)
{
    if (!m->closing || m->in_flight || m->timer_open)
        return;
    json_decref(m->table);
    json_decref(m->live);
    free(m->src);
    free(m);
}

static int
members_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The sorted ids that answered one of the last two rounds. Returns new. */
static json_t *
members_compute_live(const gw_members *m)
{
    size_t n = json_object_size(m->table), i = 0;
    const char **ids = sfa_xcalloc(n ? n : 1, sizeof *ids);
    json_t *out = json_array(), *rec;
    const char *id;

    json_object_foreach(m->table, id, rec)
    {
        uint64_t r = (uint64_t)json_integer_value(json_object_get(rec, "round"));
        const char *role = json_string_value(json_object_get(rec, "role"));

        if (r + 1 >= m->round && role && strcmp(role, MEMBERS_ROLE) == 0)
            ids[i++] = id;
    }
    qsort(ids, i, sizeof *ids, members_cmp);
    for (size_t j = 0; j < i; j++)
        json_array_append_new(out, json_string(ids[j]));
    free(ids);
    return out;
}

static void
members_forget_old(gw_members *m)
{
    const char *id;
    json_t *rec;
    void *tmp;

    json_object_foreach_safe(m->table, tmp, id, rec)
    {
        uint64_t r = (uint64_t)json_integer_value(json_object_get(rec, "round"));

        if (r + MEMBERS_FORGET_ROUNDS < m->round)
            json_object_del(m->table, id);
    }
}

static void
members_take_answer(gw_members *m, const sfa_survey_answer *a, uint64_t now)
{
    json_t *body = sfa_survey_msg_json(a->msg, a->len), *id, *op, *role;

    if (!body)
        return;
    id = json_object_get(body, "id");
    op = json_object_get(body, "op");
    role = json_object_get(body, "role");
    if (json_is_string(id) && json_string_length(id) > 0 &&
        json_string_length(id) < MEMBERS_ID_MAX && json_is_string(op) &&
        strcmp(json_string_value(op), "hello") == 0)
        json_object_set_new(m->table, json_string_value(id),
                            json_pack("{s:I, s:I, s:s, s:O}", "round", (json_int_t)m->round + 1,
                                      "seen", (json_int_t)now, "role",
                                      json_is_string(role) ? json_string_value(role) : MEMBERS_ROLE,
                                      "hello", body));
    json_decref(body);
}

static void
members_hello_done(const sfa_survey_result *res, void *arg)
{
    gw_members *m = arg;
    uint64_t now = sfa_clock_ms();
    json_t *live;

    m->in_flight = 0;
    if (m->closing) {
        members_free_if_done(m);
        return;
    }
    for (size_t i = 0; i < res->nanswers; i++)
        members_take_answer(m, &res->answers[i], now);
    m->round++;
    members_forget_old(m);
    live = members_compute_live(m);
    if (res->nanswers > 0 || m->round >= 2)
        m->ready = 1;
    if (!json_equal(live, m->live)) {
        char *s = json_dumps(live, JSON_COMPACT);

        SFA_INFO("members: live aggregators %s", s ? s : "?");
        free(s);
        json_decref(m->live);
        m->live = live;
        if (m->changed)
            m->changed(m->arg);
    } else {
        json_decref(live);
    }
}

static void
members_tick(uv_timer_t *t)
{
    gw_members *m = t->data;
    json_t *q;

    if (m->in_flight)
        return;
    q = json_pack("{s:s}", "op", "hello");
    if (sfa_survey_start_json(m->sv, m->src, q, m->deadline_ms, members_hello_done, m) == 0)
        m->in_flight = 1;
    json_decref(q);
}

int
gw_members_open(gw_members **out, uv_loop_t *loop, sfa_surveyor *sv, const char *src,
                int interval_ms, int deadline_ms, void (*changed)(void *arg), void *arg)
{
    gw_members *m = sfa_xcalloc(1, sizeof *m);

    m->sv = sv;
    m->src = sfa_xstrdup(src);
    m->deadline_ms = deadline_ms;
    m->table = json_object();
    m->live = json_array();
    m->changed = changed;
    m->arg = arg;
    (void)uv_timer_init(loop, &m->timer);
    m->timer.data = m;
    m->timer_open = 1;
    (void)uv_timer_start(&m->timer, members_tick, 0, (uint64_t)interval_ms);
    *out = m;
    return 0;
}

static void
members_timer_closed(uv_handle_t *h)
{
    gw_members *m = h->data;

    m->timer_open = 0;
    members_free_if_done(m);
}

void
gw_members_stop(gw_members *m)
{
    (void)uv_timer_stop(&m->timer);
}

void
gw_members_close(gw_members *m)
{
    if (!m)
        return;
    m->closing = 1;
    uv_close((uv_handle_t *)&m->timer, members_timer_closed);
}

int
gw_members_ready(const gw_members *m)
{
    return m->ready;
}

json_t *
gw_members_live(const gw_members *m)
{
    return json_deep_copy(m->live);
}

size_t
gw_members_count(const gw_members *m)
{
    return json_array_size(m->live);
}

int64_t
gw_members_last_event_id(const gw_members *m)
{
    int64_t best = -1;
    const char *id;
    json_t *rec;

    json_object_foreach(m->table, id, rec)
    {
        uint64_t r = (uint64_t)json_integer_value(json_object_get(rec, "round"));
        json_t *v = json_object_get(json_object_get(rec, "hello"), "lastEventID");

        if (r >= m->round && json_is_integer(v) && json_integer_value(v) > best)
            best = json_integer_value(v);
    }
    return best;
}

json_t *
gw_members_json(const gw_members *m)
{
    json_t *out = json_object(), *rec, *hello, *b, *v;
    uint64_t now = sfa_clock_ms();
    const char *id;

    json_object_foreach(m->table, id, rec)
    {
        uint64_t r = (uint64_t)json_integer_value(json_object_get(rec, "round"));
        uint64_t seen = (uint64_t)json_integer_value(json_object_get(rec, "seen"));
        json_t *o = json_object();

        hello = json_object_get(rec, "hello");
        b = json_object_get(hello, "buckets");
        json_object_set(o, "role", json_object_get(rec, "role"));
        json_object_set_new(o, "live", json_boolean(r + 1 >= m->round));
        json_object_set_new(o, "lastSeenMs", json_integer((json_int_t)(now - seen)));
        if ((v = json_object_get(hello, "defs_version")) != NULL)
            json_object_set(o, "defsVersion", v);
        json_object_set_new(o, "buckets",
                            json_integer(json_is_array(b)     ? (json_int_t)json_array_size(b)
                                         : json_is_integer(b) ? json_integer_value(b)
                                                              : 0));
        if ((v = json_object_get(hello, "stats")) != NULL)
            json_object_set(o, "stats", v);
        json_object_set_new(out, id, o);
    }
    return out;
}
