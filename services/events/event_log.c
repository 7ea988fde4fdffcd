/* event_log.c - the last events.max events, oldest dropped first.
 *
 * A ring of event objects (the exact JSON that /events/json returns and
 * events.v1 carries) in increasing eventID order, so a query walks from
 * the newest end and stops at the cursor: newest first, as sFlow-RT's
 * /events/json answers. Events are rare (one per threshold crossing), so
 * the JSON objects are kept as they are. Loop thread only.
 */
#include <stdlib.h>
#include <string.h>

#include <sfa/mem.h>

#include "evt.h"

typedef struct log_slot {
    json_t *ev;
    uint64_t id;
    const char *thr; /* borrows ev's "thresholdID" */
} log_slot;

struct evt_log {
    log_slot *ring;
    size_t max;
    size_t head; /* index of the oldest */
    size_t n;
};

evt_log *
evt_log_create(size_t max)
{
    evt_log *l = sfa_xcalloc(1, sizeof *l);

    l->max = max ? max : 1;
    l->ring = sfa_xcalloc(l->max, sizeof *l->ring);
    return l;
}

void
evt_log_destroy(evt_log *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        json_decref(l->ring[(l->head + i) % l->max].ev);
    free(l->ring);
    free(l);
}

void
evt_log_append(evt_log *l, json_t *ev)
{
    log_slot *s;

    if (l->n == l->max) {
        json_decref(l->ring[l->head].ev);
        l->head = (l->head + 1) % l->max;
        l->n--;
    }
    s = &l->ring[(l->head + l->n) % l->max];
    s->ev = ev;
    s->id = (uint64_t)json_integer_value(json_object_get(ev, "eventID"));
    s->thr = json_string_value(json_object_get(ev, "thresholdID"));
    l->n++;
}

json_t *
evt_log_query(const evt_log *l, int64_t after, long max, const char *thr)
{
    json_t *out = json_array();

    for (size_t i = l->n; i-- > 0;) {
        const log_slot *s = &l->ring[(l->head + i) % l->max];

        if (max >= 0 && json_array_size(out) >= (size_t)max)
            break;
        if (after >= 0 && s->id <= (uint64_t)after)
            break; /* everything older is older still */
        if (thr && (!s->thr || strcmp(s->thr, thr) != 0))
            continue;
        json_array_append(out, s->ev);
    }
    return out;
}

size_t
evt_log_count(const evt_log *l)
{
    return l->n;
}

uint64_t
evt_log_last_id(const evt_log *l)
{
    return l->n ? l->ring[(l->head + l->n - 1) % l->max].id : 0;
}
