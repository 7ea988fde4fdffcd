/* js_handlers.c - the handler half of the script API, and their dispatch.
 *
 *   setEventHandler(fn[, [thresholdIDs]])  events.v1 forwarded by the supervisor
 *   setFlowHandler(fn[, [flowNames]])      logged flow records, polled from
 *                                          the gateway's /flows/json every second
 *   setIntervalHandler(fn[, seconds=1])    fn(now) with now in epoch ms
 *   setHttpHandler(fn)                     /app/{app}/scripts/{script}.js/...
 *   clear{Event,Flow,Interval,Http}Handler()
 *
 * Handler functions live in duktape's global stash. Every call is framed
 * by busy/idle messages so the supervisor's watchdog can time it. An HTTP
 * handler gets req = {method, path:[...], format, query:{k:[v]}, body,
 * error}; an object or array it returns is sent as JSON, a string as is
 * (with the format's content type), undefined as 204; throwing
 * 'not_found', 'bad_request' or 'internal_server_error' answers 404, 400
 * or 500, anything else thrown is logged and answers 500. Child process,
 * one thread; dispatch runs outside any JS call, so nothing here may throw.
 */
#include <stdlib.h>
#include <string.h>

#include <sfa/clock.h>
#include <sfa/log.h>
#include <sfa/mem.h>

#include "child.h"

#define HANDLERS_FLOW_POLL_MS 1000
#define HANDLERS_FLOW_MISSING_MS 10000 /* poll this slowly while the gateway has no /flows/json */
#define HANDLERS_FLOW_BATCH 1000

/* ---- registration ---- */

static void
handlers_stash(duk_context *ctx, const char *key, duk_idx_t fn)
{
    duk_push_global_stash(ctx);
    if (duk_is_function(ctx, fn))
        duk_dup(ctx, fn);
    else
        duk_push_undefined(ctx);
    duk_put_prop_string(ctx, -2, key);
    duk_pop(ctx);
}

/* A new filter from an array argument (strings), or NULL. */
static json_t *
handlers_filter(duk_context *ctx, duk_idx_t idx)
{
    json_t *f;

    if (!duk_is_array(ctx, idx))
        return NULL;
    f = jsrt_to_json(ctx, idx);
    if (!json_is_array(f)) {
        json_decref(f);
        return NULL;
    }
    return f;
}

static duk_ret_t
handlers_set_event(duk_context *ctx)
{
    scr_child *c = scr_child_get();

    handlers_stash(ctx, JSRT_H_EVENT, 0);
    json_decref(c->event_filter);
    c->event_filter = handlers_filter(ctx, 1);
    c->has_event = duk_is_function(ctx, 0);
    child_handlers_changed(c);
    return 0;
}

static duk_ret_t
handlers_set_flow(duk_context *ctx)
{
    scr_child *c = scr_child_get();

    handlers_stash(ctx, JSRT_H_FLOW, 0);
    json_decref(c->flow_filter);
    c->flow_filter = handlers_filter(ctx, 1);
    c->has_flow = duk_is_function(ctx, 0);
    c->flow_cursor = -2;
    c->next_flow_poll = sfa_clock_ms();
    child_handlers_changed(c);
    return 0;
}

static duk_ret_t
handlers_set_interval(duk_context *ctx)
{
    scr_child *c = scr_child_get();
    double secs = duk_is_number(ctx, 1) ? duk_get_number(ctx, 1) : 1.0;

    if (!(secs >= 0.1))
        secs = secs > 0 ? 0.1 : 1.0;
    handlers_stash(ctx, JSRT_H_INTERVAL, 0);
    c->has_interval = duk_is_function(ctx, 0);
    c->interval_ms = (uint64_t)(secs * 1000.0);
    c->next_interval = sfa_clock_ms() + c->interval_ms;
    child_handlers_changed(c);
    return 0;
}

static duk_ret_t
handlers_set_http(duk_context *ctx)
{
    scr_child *c = scr_child_get();

    handlers_stash(ctx, JSRT_H_HTTP, 0);
    c->has_http = duk_is_function(ctx, 0);
    child_handlers_changed(c);
    return 0;
}

static duk_ret_t
handlers_clear(duk_context *ctx)
{
    static const char *const keys[] = {JSRT_H_EVENT, JSRT_H_FLOW, JSRT_H_INTERVAL, JSRT_H_HTTP};
    scr_child *c = scr_child_get();
    int which = duk_get_current_magic(ctx);

    duk_push_undefined(ctx);
    handlers_stash(ctx, keys[which], -1);
    if (which == 0)
        c->has_event = 0;
    else if (which == 1)
        c->has_flow = 0;
    else if (which == 2)
        c->has_interval = 0;
    else
        c->has_http = 0;
    child_handlers_changed(c);
    return 0;
}

void
js_handlers_register(duk_context *ctx)
{
    static const duk_function_list_entry funcs[] = {
        {"setEventHandler", handlers_set_event, 2},
        {"setFlowHandler", handlers_set_flow, 2},
        {"setIntervalHandler", handlers_set_interval, 2},
        {"setHttpHandler", handlers_set_http, 1},
        {NULL, NULL, 0},
    };
    static const char *const clears[] = {"clearEventHandler", "clearFlowHandler",
                                         "clearIntervalHandler", "clearHttpHandler"};

    duk_push_global_object(ctx);
    duk_put_function_list(ctx, -1, funcs);
    for (int i = 0; i < 4; i++) {
        duk_push_c_function(ctx, handlers_clear, 0);
        duk_set_magic(ctx, -1, i);
        duk_put_prop_string(ctx, -2, clears[i]);
    }
    duk_pop(ctx);
}

/* ---- dispatch ---- */

static int
handlers_filter_has(const json_t *filter, const char *s)
{
    size_t i;
    json_t *v;

    if (!filter)
        return 1;
    json_array_foreach(filter, i, v) if (json_is_string(v) && s &&
                                         strcmp(json_string_value(v), s) == 0) return 1;
    return 0;
}

/* Call handler key with one argument, v; busy/idle around it. */
static void
handlers_call1(scr_child *c, const char *key, const char *what, const json_t *v)
{
    child_busy(c, what);
    jsrt_push_json(c->ctx, v);
    (void)jsrt_call_handler(c, key, 1);
    duk_pop(c->ctx);
    jsrt_check_heap(c, 0);
    child_idle(c);
}

static void
handlers_event(scr_child *c, const json_t *evt)
{
    if (!c->has_event || !json_is_object(evt) ||
        !handlers_filter_has(c->event_filter,
                             json_string_value(json_object_get(evt, "thresholdID"))))
        return;
    handlers_call1(c, JSRT_H_EVENT, "event", evt);
}

static const char *
handlers_ctype(const char *format)
{
    static const char *const map[][2] = {
        {"json", "application/json"}, {"txt", "text/plain"},      {"html", "text/html"},
        {"csv", "text/csv"},          {"xml", "application/xml"}, {"js", "application/javascript"},
    };

    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(format, map[i][0]) == 0)
            return map[i][1];
    return "text/plain";
}

/* Push sFlow-RT's req object for an http frame. */
static void
handlers_push_req(scr_child *c, const json_t *msg, const json_t *path, const char *format)
{
    duk_context *ctx = c->ctx;
    const char *body = json_string_value(json_object_get(msg, "body"));
    const char *ctype = json_string_value(json_object_get(msg, "ctype"));
    const char *method = json_string_value(json_object_get(msg, "method"));
    json_t *query = scr_query_parse(json_string_value(json_object_get(msg, "query")));

    duk_push_object(ctx);
    duk_push_string(ctx, method ? method : "GET");
    duk_put_prop_string(ctx, -2, "method");
    jsrt_push_json(ctx, path);
    duk_put_prop_string(ctx, -2, "path");
    duk_push_string(ctx, format);
    duk_put_prop_string(ctx, -2, "format");
    jsrt_push_json(ctx, query);
    duk_put_prop_string(ctx, -2, "query");
    json_decref(query);
    if (body && body[0]) {
        int json_type = !ctype || strstr(ctype, "json") != NULL;
        if (json_type && jsrt_push_json_text(ctx, body, strlen(body)) == 0) {
            duk_put_prop_string(ctx, -2, "body");
        } else {
            if (json_type) {
                duk_pop(ctx);
                duk_push_string(ctx, "body is not valid JSON");
                duk_put_prop_string(ctx, -2, "error");
            }
            duk_push_string(ctx, body);
            duk_put_prop_string(ctx, -2, "body");
        }
    }
}

/* The status for a thrown value (on the stack top). */
static int
handlers_thrown_status(duk_context *ctx)
{
    const char *s = duk_is_string(ctx, -1) ? duk_get_string(ctx, -1) : NULL;

    if (s && strcmp(s, "not_found") == 0)
        return 404;
    if (s && strcmp(s, "bad_request") == 0)
        return 400;
    return 500;
}

/* Turn the handler's return value (stack top) into status, type, body. */
static void
handlers_result(scr_child *c, const char *format, json_t *reply)
{
    duk_context *ctx = c->ctx;

    if (duk_is_undefined(ctx, -1)) {
        json_object_set_new(reply, "status", json_integer(204));
        return;
    }
    json_object_set_new(reply, "status", json_integer(200));
    if (duk_is_string(ctx, -1)) {
        json_object_set_new(reply, "ctype", json_string(handlers_ctype(format)));
        json_object_set_new(reply, "body", json_string(duk_get_string(ctx, -1)));
    } else {
        json_t *v = jsrt_to_json(ctx, -1);
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        json_object_set_new(reply, "ctype", json_string("application/json"));
        json_object_set_new(reply, "body", json_string(s ? s : "null"));
        free(s);
        json_decref(v);
    }
}

static void
handlers_http(scr_child *c, const json_t *msg)
{
    json_t *reply = json_pack("{s:s, s:O?}", "t", "http.reply", "id", json_object_get(msg, "id"));
    json_t *path = NULL;
    char *format = NULL;
    const char *rest = json_string_value(json_object_get(msg, "rest"));

    if (!c->has_http) {
        json_object_set_new(reply, "status", json_integer(404));
    } else if (!rest || scr_path_split(rest, &path, &format) != 0) {
        json_object_set_new(reply, "status", json_integer(404));
    } else {
        child_busy(c, "http");
        handlers_push_req(c, msg, path, format);
        if (jsrt_call_handler(c, JSRT_H_HTTP, 1) == DUK_EXEC_SUCCESS)
            handlers_result(c, format, reply);
        else
            json_object_set_new(reply, "status", json_integer(handlers_thrown_status(c->ctx)));
        duk_pop(c->ctx);
        jsrt_check_heap(c, 0);
        child_idle(c);
    }
    child_send(c, reply);
    json_decref(reply);
    json_decref(path);
    free(format);
}

void
js_dispatch(scr_child *c, json_t *msg)
{
    const char *t = json_string_value(json_object_get(msg, "t"));

    if (t && strcmp(t, "event") == 0)
        handlers_event(c, json_object_get(msg, "evt"));
    else if (t && strcmp(t, "http") == 0)
        handlers_http(c, msg);
    json_decref(msg);
}

/* ---- timers ---- */

static void
handlers_interval(scr_child *c, uint64_t now)
{
    child_busy(c, "interval");
    duk_push_number(c->ctx, (double)sfa_clock_wall_ms());
    (void)jsrt_call_handler(c, JSRT_H_INTERVAL, 1);
    duk_pop(c->ctx);
    jsrt_check_heap(c, 0);
    child_idle(c);
    c->next_interval += c->interval_ms;
    if (c->next_interval <= now)
        c->next_interval = now + c->interval_ms; /* fell behind: do not burst */
}

/* GET /flows/json from the cursor; deliver the records oldest first. */
static void
handlers_flows(scr_child *c)
{
    char url[512];
    scr_http_resp r;
    scr_http_req req = {.method = "GET",
                        .url = url,
                        .accept = "application/json",
                        .timeout_ms = (int)c->http_timeout_ms};
    json_t *recs, *rec;
    int first = c->flow_cursor == -2, status;

    snprintf(url, sizeof url, "%s/flows/json?maxFlows=%d&flowID=%lld", c->gateway,
             first ? 1 : HANDLERS_FLOW_BATCH, (long long)(first ? -1 : c->flow_cursor));
    if (scr_http(&req, &r) != 0)
        return;
    status = r.status;
    c->flow_poll_missing = status == 404;
    recs = status == 200 ? json_loads(r.body, 0, NULL) : NULL;
    scr_http_resp_free(&r);
    if (!json_is_array(recs) || json_array_size(recs) == 0) {
        if (first && status == 200)
            c->flow_cursor = -1;
        json_decref(recs);
        return;
    }
    if (!first) {
        for (size_t i = json_array_size(recs); i-- > 0;) {
            rec = json_array_get(recs, i);
            json_int_t id = json_integer_value(json_object_get(rec, "flowID"));
            if (i + 1 == json_array_size(recs) && c->flow_cursor >= 0 && id > c->flow_cursor + 1)
                c->flows_lost += (uint64_t)(id - c->flow_cursor - 1);
            if (!handlers_filter_has(c->flow_filter,
                                     json_string_value(json_object_get(rec, "name"))))
                continue;
            c->flows_received++;
            handlers_call1(c, JSRT_H_FLOW, "flow", rec);
        }
    }
    c->flow_cursor =
        (int64_t)json_integer_value(json_object_get(json_array_get(recs, 0), "flowID"));
    json_decref(recs);
}

int
js_timers(scr_child *c)
{
    uint64_t now = sfa_clock_ms();
    int64_t wait = -1;

    if (c->has_interval && now >= c->next_interval)
        handlers_interval(c, now);
    if (c->has_flow && now >= c->next_flow_poll) {
        handlers_flows(c);
        c->next_flow_poll = sfa_clock_ms() + (c->flow_poll_missing ? HANDLERS_FLOW_MISSING_MS
                                                                   : HANDLERS_FLOW_POLL_MS);
    }
    now = sfa_clock_ms();
    if (c->has_interval)
        wait = c->next_interval > now ? (int64_t)(c->next_interval - now) : 0;
    if (c->has_flow) {
        int64_t w = c->next_flow_poll > now ? (int64_t)(c->next_flow_poll - now) : 0;
        if (wait < 0 || w < wait)
            wait = w;
    }
    return (int)wait;
}
