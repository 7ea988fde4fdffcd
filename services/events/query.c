/* query.c - the events service's answers to the gateway's surveys.
 *
 * The events service dials the gateway's surveyor (bus.query) like an
 * aggregator does. The gateway completes a survey as soon as every
 * connected respondent has answered (sfa/survey.h), so we answer EVERY
 * survey, or each would wait for its deadline:
 *
 *   hello        {"op":"hello","id":events.id,"role":"events",
 *                 "lastEventID":n,"stats":{...}}
 *   events       {"op":"events","id":...,"result":[event, ...]} - the log,
 *                newest first; args "after" (eventID cursor, default -1 =
 *                all), "max" (default and cap events.max), "thresholdID"
 *   activeflows  result [] (an empty shard merges to nothing)
 *   anything     result {} (flowkeys, stats, ops added later)
 *
 * Loop thread only.
 */
#include <string.h>

#include <sfa/log.h>

#include "evt.h"

static json_t *
query_events_result(evt_ctx *e, const json_t *body)
{
    const json_t *after = json_object_get(body, "after"), *max = json_object_get(body, "max");
    const json_t *thr = json_object_get(body, "thresholdID");
    int64_t a = -1;
    long m = e->cfg->events_max;

    if (json_is_number(after))
        a = (int64_t)json_number_value(after);
    if (json_is_number(max) && json_number_value(max) >= 0 && json_number_value(max) < (double)m)
        m = (long)json_number_value(max);
    return evt_log_query(e->log, a, m, json_is_string(thr) ? json_string_value(thr) : NULL);
}

json_t *
evt_query_answer(evt_ctx *e, const json_t *body)
{
    const json_t *opj = json_object_get(body, "op");
    const char *op = json_is_string(opj) ? json_string_value(opj) : "";
    json_t *ans = json_pack("{s:s, s:s}", "op", op, "id", e->cfg->id);

    if (strcmp(op, "hello") == 0) {
        json_object_set_new(ans, "role", json_string("events"));
        json_object_set_new(ans, "lastEventID", json_integer((json_int_t)evt_log_last_id(e->log)));
        json_object_set_new(ans, "stats", evt_stats_json(e));
    } else if (strcmp(op, "events") == 0) {
        json_object_set_new(ans, "result", query_events_result(e, body));
    } else if (strcmp(op, "activeflows") == 0) {
        json_object_set_new(ans, "result", json_array());
    } else {
        json_object_set_new(ans, "result", json_object());
    }
    return ans;
}
