/* longpoll.c - a log of recent records that HTTP clients read with a
 * cursor and long-poll: /events/json (eventID) and /flows/json (flowID).
 *
 * The log holds the last max records in id order (a sorted array; a new
 * record normally goes at the end, a late one from a refill is inserted
 * in place, a duplicate id is refused). A query returns the records newer
 * than the client's cursor, newest first, optionally only those of one
 * name (thresholdID, flow name), at most max.
 *
 * A request with nothing newer is parked: the held request (gw_hold) and
 * a libuv timer for its timeout, in a list. No thread waits. When records
 * arrive, gw_lp_notify answers every parked request that now has
 * something newer (each distinct answer is encoded once per call and
 * copied to every client that asked for it); the timer answers [] when
 * the timeout passes; if the client goes away first the waiter is
 * dropped: at once when h2o disposes the request, else within LP_PROBE_MS
 * (a sweep peeks at every parked connection, gw_hold_client_gone, since
 * h2o does not read a connection whose request it is answering). A waiter
 * is freed in its timer's close callback, and the log itself only after
 * every waiter is gone, so no callback meets freed memory.
 *
 * Records are shared (reference counted) between the log and the answers
 * being built, and never modified after gw_lp_add. Loop thread only.
 */
#include <stdlib.h>
#include <string.h>

#include <sfa/clock.h>
#include <sfa/mem.h>

#include "gw.h"

#define LP_PROBE_MS 1000 /* how often parked connections are checked */

typedef struct lp_wait {
    uv_timer_t timer; /* data = this */
    gw_lp *lp;
    gw_hold *hold; /* NULL once answered */
    int64_t after;
    size_t max;
    char *name; /* NULL: any */
    struct lp_wait *prev, *next;
} lp_wait;

struct gw_lp {
    uv_loop_t *loop;
    const char *id_key, *name_key;
    json_t **recs; /* ascending id */
    int64_t *ids;
    size_t n, max;
    lp_wait *waiters;
    uv_timer_t probe; /* data = this; runs while requests are parked */
    int probe_open;
    size_t closing; /* waiter timers (and the probe) not yet closed */
    int destroyed;
    gw_lp_stats st;
};

gw_lp *
gw_lp_create(uv_loop_t *loop, size_t max, const char *id_key, const char *name_key)
{
    gw_lp *lp = sfa_xcalloc(1, sizeof *lp);

    lp->loop = loop;
    lp->id_key = id_key;
    lp->name_key = name_key;
    lp->max = max ? max : 1;
    lp->recs = sfa_xcalloc(lp->max, sizeof *lp->recs);
    lp->ids = sfa_xcalloc(lp->max, sizeof *lp->ids);
    (void)uv_timer_init(loop, &lp->probe);
    lp->probe.data = lp;
    lp->probe_open = 1;
    return lp;
}

/* ---- the log ---- */

/* Index of the first record with id >= id. */
static size_t
lp_lower_bound(const gw_lp *lp, int64_t id)
{
    size_t lo = 0, hi = lp->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (lp->ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int
gw_lp_add(gw_lp *lp, json_t *rec)
{
    json_t *idj = json_object_get(rec, lp->id_key);
    int64_t id;
    size_t at;

    if (!json_is_integer(idj))
        goto refuse;
    id = json_integer_value(idj);
    at = lp_lower_bound(lp, id);
    if ((at < lp->n && lp->ids[at] == id) || (at == 0 && lp->n == lp->max))
        goto refuse; /* held already, or older than everything a full log holds */
    if (lp->n == lp->max) {
        /* Drop the oldest to make room. */
        json_decref(lp->recs[0]);
        memmove(lp->recs, lp->recs + 1, (lp->n - 1) * sizeof *lp->recs);
        memmove(lp->ids, lp->ids + 1, (lp->n - 1) * sizeof *lp->ids);
        lp->n--;
        at--;
    }
    memmove(lp->recs + at + 1, lp->recs + at, (lp->n - at) * sizeof *lp->recs);
    memmove(lp->ids + at + 1, lp->ids + at, (lp->n - at) * sizeof *lp->ids);
    lp->recs[at] = rec;
    lp->ids[at] = id;
    lp->n++;
    lp->st.added++;
    return 1;
refuse:
    lp->st.ignored++;
    json_decref(rec);
    return 0;
}

int64_t
gw_lp_last_id(const gw_lp *lp)
{
    return lp->n ? lp->ids[lp->n - 1] : -1;
}

static int
lp_name_matches(const gw_lp *lp, const json_t *rec, const char *name)
{
    const char *v;

    if (!name)
        return 1;
    v = json_string_value(json_object_get(rec, lp->name_key));
    return v && strcmp(v, name) == 0;
}

json_t *
gw_lp_query(const gw_lp *lp, int64_t after, size_t max, const char *name)
{
    json_t *out = json_array();

    for (size_t i = lp->n; i > 0 && json_array_size(out) < max; i--) {
        if (lp->ids[i - 1] <= after)
            break;
        if (lp_name_matches(lp, lp->recs[i - 1], name))
            json_array_append(out, lp->recs[i - 1]);
    }
    return out;
}

/* Is there a record newer than after (of name)? */
static int
lp_has_newer(const gw_lp *lp, int64_t after, const char *name)
{
    for (size_t i = lp->n; i > 0 && lp->ids[i - 1] > after; i--)
        if (lp_name_matches(lp, lp->recs[i - 1], name))
            return 1;
    return 0;
}

/* ---- parked requests ---- */

static void lp_free_if_done(gw_lp *lp);

static void
lp_wait_closed(uv_handle_t *h)
{
    lp_wait *w = h->data;
    gw_lp *lp = w->lp;

    free(w->name);
    free(w);
    lp->closing--;
    lp_free_if_done(lp);
}

/* Unlink w and close its timer (w is freed in the close callback). */
static void
lp_wait_end(lp_wait *w)
{
    gw_lp *lp = w->lp;

    if (w->prev)
        w->prev->next = w->next;
    else
        lp->waiters = w->next;
    if (w->next)
        w->next->prev = w->prev;
    lp->st.waiting--;
    lp->closing++;
    uv_close((uv_handle_t *)&w->timer, lp_wait_closed);
}

/* Answer w with what matches now, then end it. */
static void
lp_wait_answer(lp_wait *w)
{
    gw_hold *h = w->hold;

    w->hold = NULL;
    gw_hold_on_gone(h, NULL, NULL);
    gw_hold_reply_json(h, 200, gw_lp_query(w->lp, w->after, w->max, w->name));
    lp_wait_end(w);
}

/* Bodies encoded during one gw_lp_notify pass. Parked clients mostly ask
 * the same (cursor, max, name); jansson takes about 4 us to build and
 * encode an answer of one event and 30 us for ten, so encoding it once
 * instead of once per client saves 4-30 ms when a thousand wake at once.
 * What remains per client is mostly the write(2) of its answer. */
typedef struct lp_body {
    int64_t after;
    size_t max;
    char *name; /* NULL: any */
    char *json; /* NULL: slot unused */
    size_t len;
} lp_body;

#define LP_BODIES 8

static int
lp_body_is(const lp_body *b, const lp_wait *w)
{
    return b->json && b->after == w->after && b->max == w->max &&
           (b->name ? w->name && strcmp(b->name, w->name) == 0 : !w->name);
}

/* The encoded answer for w, from cache or made (and cached in the slot
 * *next, round robin). NULL if it cannot be encoded. */
static const lp_body *
lp_body_get(lp_body *cache, size_t *next, const lp_wait *w)
{
    lp_body *b;
    json_t *arr;

    for (size_t i = 0; i < LP_BODIES; i++)
        if (lp_body_is(&cache[i], w))
            return &cache[i];
    b = &cache[*next];
    *next = (*next + 1) % LP_BODIES;
    free(b->json);
    free(b->name);
    arr = gw_lp_query(w->lp, w->after, w->max, w->name);
    b->json = json_dumps(arr, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(arr);
    b->len = b->json ? strlen(b->json) : 0;
    b->after = w->after;
    b->max = w->max;
    b->name = w->name ? sfa_xstrdup(w->name) : NULL;
    return b->json ? b : NULL;
}

static void
lp_body_free(lp_body *cache)
{
    for (size_t i = 0; i < LP_BODIES; i++) {
        free(cache[i].json);
        free(cache[i].name);
    }
}

/* lp_wait_answer with the pass's cache of encoded answers. */
static void
lp_wait_answer_cached(lp_wait *w, lp_body *cache, size_t *next)
{
    const lp_body *b = lp_body_get(cache, next, w);
    gw_hold *h = w->hold;

    if (!b) {
        lp_wait_answer(w); /* answers the encoding error */
        return;
    }
    w->hold = NULL;
    gw_hold_on_gone(h, NULL, NULL);
    gw_hold_reply_body(h, 200, "application/json", b->json, b->len);
    lp_wait_end(w);
}

/* Drop the parked requests whose clients have gone. */
static void
lp_probe(uv_timer_t *t)
{
    gw_lp *lp = t->data;
    lp_wait *w = lp->waiters, *next;

    for (; w; w = next) {
        next = w->next;
        if (w->hold && gw_hold_client_gone(w->hold)) {
            lp->st.gone++;
            lp_wait_answer(w);
        }
    }
    if (!lp->waiters)
        (void)uv_timer_stop(&lp->probe);
}

static void
lp_wait_timeout(uv_timer_t *t)
{
    lp_wait *w = t->data;

    w->lp->st.expired++;
    lp_wait_answer(w);
}

/* The client left: h2o is disposing the request. */
static void
lp_wait_gone(void *arg)
{
    lp_wait *w = arg;
    gw_hold *h = w->hold;

    w->lp->st.gone++;
    w->hold = NULL;
    gw_hold_reply_json(h, 200, json_array()); /* dropped: only releases the hold */
    lp_wait_end(w);
}

int
gw_lp_serve(gw_lp *lp, gw_req *r, int64_t after, size_t max, const char *name, uint64_t timeout_ms)
{
    lp_wait *w;

    if (timeout_ms == 0 || lp->destroyed || lp_has_newer(lp, after, name)) {
        gw_reply_json(r, 200, gw_lp_query(lp, after, max, name));
        return GW_DONE;
    }
    if (timeout_ms > GW_LP_TIMEOUT_MAX_MS)
        timeout_ms = GW_LP_TIMEOUT_MAX_MS;
    w = sfa_xcalloc(1, sizeof *w);
    w->lp = lp;
    w->after = after;
    w->max = max;
    w->name = name ? sfa_xstrdup(name) : NULL;
    w->hold = gw_req_hold(r);
    gw_hold_on_gone(w->hold, lp_wait_gone, w);
    (void)uv_timer_init(lp->loop, &w->timer);
    w->timer.data = w;
    (void)uv_timer_start(&w->timer, lp_wait_timeout, timeout_ms, 0);
    w->next = lp->waiters;
    if (lp->waiters)
        lp->waiters->prev = w;
    lp->waiters = w;
    lp->st.waiting++;
    if (!uv_is_active((uv_handle_t *)&lp->probe))
        (void)uv_timer_start(&lp->probe, lp_probe, LP_PROBE_MS, LP_PROBE_MS);
    return GW_PENDING;
}

void
gw_lp_notify(gw_lp *lp)
{
    lp_wait *w = lp->waiters, *next;
    uint64_t t0 = sfa_clock_us(), n = 0;
    lp_body cache[LP_BODIES] = {{0}};
    size_t slot = 0;

    for (; w; w = next) {
        next = w->next;
        if (w->hold && lp_has_newer(lp, w->after, w->name)) {
            lp->st.woken++;
            lp_wait_answer_cached(w, cache, &slot);
            n++;
        }
    }
    lp_body_free(cache);
    if (n > 0) {
        lp->st.wake_n = n;
        lp->st.wake_us = sfa_clock_us() - t0;
    }
}

void
gw_lp_release(gw_lp *lp)
{
    while (lp->waiters)
        lp_wait_answer(lp->waiters);
}

void
gw_lp_get_stats(const gw_lp *lp, gw_lp_stats *st)
{
    *st = lp->st;
    st->records = lp->n;
}

static void
lp_probe_closed(uv_handle_t *h)
{
    gw_lp *lp = h->data;

    lp->closing--;
    lp_free_if_done(lp);
}

static void
lp_free_if_done(gw_lp *lp)
{
    if (!lp->destroyed || lp->closing > 0)
        return;
    for (size_t i = 0; i < lp->n; i++)
        json_decref(lp->recs[i]);
    free(lp->recs);
    free(lp->ids);
    free(lp);
}

void
gw_lp_destroy(gw_lp *lp)
{
    if (!lp)
        return;
    gw_lp_release(lp);
    lp->destroyed = 1;
    if (lp->probe_open) {
        lp->probe_open = 0;
        lp->closing++;
        uv_close((uv_handle_t *)&lp->probe, lp_probe_closed);
    }
    lp_free_if_done(lp);
}
