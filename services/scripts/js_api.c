/* js_api.c - the sFlow-RT data, control and utility functions of a script.
 *
 * Every data and control call maps to the gateway's REST API over loopback
 * HTTP, which gives scripts exactly the semantics REST clients get:
 *
 *   setFlow(n,spec) / clearFlow(n)          PUT / DELETE /flow/{n}/json
 *   setThreshold(n,spec) / clearThreshold   PUT / DELETE /threshold/{n}/json
 *   setGroups(n,obj) / setMap(n,obj)        PUT (DELETE when obj is null) /group|map/{n}/json
 *   activeFlows(agents,n[,max[,min[,agg]]]) GET /activeflows/{agents}/{n}/json?...
 *   metric / dump / table(agents,names[,f]) GET /metric|dump|table/{agents}/{names}/json?filter
 *   agents([list]) flowKeys() metrics([a])  GET /agents/json?agent= /flowkeys/json /metric(s)/...
 *   version() analyzer()                    GET /version /analyzer/json
 *
 * A write the gateway refuses throws an Error carrying its message (apps
 * wrap setFlow in try/catch); clear* of an unknown name returns false. The
 * agents argument is 'ALL', one address, a comma list or an array; names
 * likewise; a filter is {key: value or [values]}. Utilities: logInfo &c.,
 * getSystemProperty, sharedGet/sharedSet and storeGet/storeSet (held by the
 * supervisor), include/scriptdir, and http()/http2() for webhooks with a
 * deadline (script.http.timeout). Child process, one thread; functions
 * throw with duk_error, so nothing allocated with malloc may be held
 * across a call that can throw.
 */
#include <stdlib.h>
#include <string.h>

#include <sfa/log.h>
#include <sfa/mem.h>

#include "child.h"

/* ---- REST plumbing ---- */

void
js_rest(duk_context *ctx, const char *method, const char *path, const char *body, int *status,
        char **resp_body)
{
    scr_child *c = scr_child_get();
    char url[4096];
    scr_http_resp r;
    scr_http_req req = {
        .method = method,
        .url = url,
        .ctype = body ? "application/json" : NULL,
        .body = body,
        .body_len = body ? strlen(body) : 0,
        .accept = "application/json",
        .timeout_ms = (int)c->http_timeout_ms,
        .retry_refused_ms = (int)c->retry_ms,
    };
    int rc;

    snprintf(url, sizeof url, "%s%s", c->gateway, path);
    rc = scr_http(&req, &r);
    if (rc != 0)
        (void)duk_error(ctx, DUK_ERR_ERROR, "%s %s: gateway not reachable: %s", method, path,
                        sfa_strerror(rc));
    *status = r.status;
    *resp_body = r.body;
    free(r.ctype);
}

/* Push the gateway's error message for a failed call; frees body. The
 * caller throws it with js_throw_pushed. */
static void
js_fail(duk_context *ctx, const char *method, const char *path, int status, char *body)
{
    json_t *e = json_loads(body ? body : "", 0, NULL);
    const char *m = json_string_value(json_object_get(e, "message"));

    duk_push_sprintf(ctx, "%s %s: %d %s", method, path, status, m ? m : (body ? body : ""));
    json_decref(e);
    free(body);
}

static duk_ret_t
js_throw_pushed(duk_context *ctx)
{
    /* Turn the message string on the stack top into an Error and throw. */
    const char *m = duk_get_string(ctx, -1);
    return duk_error(ctx, DUK_ERR_ERROR, "%s", m ? m : "error");
}

/* GET path and push the decoded JSON; 404 gives empty (when not NULL)
 * instead of an error. */
static duk_ret_t
js_get(duk_context *ctx, const char *path, const char *empty)
{
    int st;
    char *body;

    js_rest(ctx, "GET", path, NULL, &st, &body);
    if (st == 404 && empty) {
        free(body);
        jsrt_push_json_text(ctx, empty, strlen(empty));
        return 1;
    }
    if (st < 200 || st > 299) {
        js_fail(ctx, "GET", path, st, body);
        return js_throw_pushed(ctx);
    }
    if (jsrt_push_json_text(ctx, body, strlen(body)) != 0) {
        free(body);
        return duk_error(ctx, DUK_ERR_ERROR, "GET %s: the gateway answered no JSON", path);
    }
    free(body);
    return 1;
}

/* ---- argument rendering ---- */

/* Append the value at idx: a string as is, an array joined with ',',
 * undefined/null as dflt. Escaped for a path segment (',' kept). */
static void
js_list_arg(duk_context *ctx, duk_idx_t idx, const char *dflt, scr_buf *b)
{
    if (duk_is_null_or_undefined(ctx, idx)) {
        scr_url_escape(b, dflt, 0);
    } else if (duk_is_array(ctx, idx)) {
        duk_size_t n = duk_get_length(ctx, idx);
        for (duk_size_t i = 0; i < n; i++) {
            duk_get_prop_index(ctx, idx, (duk_uarridx_t)i);
            if (i > 0)
                scr_buf_adds(b, ",");
            scr_url_escape(b, duk_safe_to_string(ctx, -1), 0);
            duk_pop(ctx);
        }
    } else {
        scr_url_escape(b, duk_safe_to_string(ctx, idx), 0);
    }
}

static void
js_query_pair(scr_buf *b, const char *k, const char *v)
{
    scr_buf_adds(b, b->len && b->s[b->len - 1] != '?' ? "&" : "");
    scr_url_escape(b, k, 1);
    scr_buf_adds(b, "=");
    scr_url_escape(b, v, 1);
}

/* Append "?k=v&k=v2" for a filter object {k: v or [v, ...]} at idx. */
static void
js_filter_arg(duk_context *ctx, duk_idx_t idx, scr_buf *b)
{
    if (!duk_is_object(ctx, idx) || duk_is_function(ctx, idx))
        return;
    scr_buf_adds(b, "?");
    duk_enum(ctx, idx, DUK_ENUM_OWN_PROPERTIES_ONLY);
    while (duk_next(ctx, -1, 1)) {
        const char *k = duk_safe_to_string(ctx, -2);
        if (duk_is_array(ctx, -1)) {
            duk_size_t n = duk_get_length(ctx, -1);
            for (duk_size_t i = 0; i < n; i++) {
                duk_get_prop_index(ctx, -1, (duk_uarridx_t)i);
                js_query_pair(b, k, duk_safe_to_string(ctx, -1));
                duk_pop(ctx);
            }
        } else {
            js_query_pair(b, k, duk_safe_to_string(ctx, -1));
        }
        duk_pop_2(ctx);
    }
    duk_pop(ctx);
    if (b->s[b->len - 1] == '?')
        b->s[--b->len] = '\0';
}

/* Push the path for a call and free the buffer, so nothing malloc'd is
 * held when the REST call throws. */
static const char *
js_path_push(duk_context *ctx, scr_buf *b)
{
    duk_push_string(ctx, b->s ? b->s : "/");
    scr_buf_free(b);
    return duk_get_string(ctx, -1);
}

/* ---- definitions ---- */

static duk_ret_t
js_put_def(duk_context *ctx, const char *kind, int null_deletes)
{
    const char *name = duk_require_string(ctx, 0), *path, *body = NULL;
    const char *method = "PUT";
    scr_buf b = {0};
    int st;
    char *resp;

    scr_buf_addf(&b, "/%s/", kind);
    scr_url_escape(&b, name, 1);
    scr_buf_adds(&b, "/json");
    path = js_path_push(ctx, &b);
    if (null_deletes && duk_is_null_or_undefined(ctx, 1))
        method = "DELETE";
    else
        body = duk_json_encode(ctx, 1);
    js_rest(ctx, method, path, body, &st, &resp);
    if ((st < 200 || st > 299) && !(st == 404 && body == NULL)) {
        js_fail(ctx, method, path, st, resp);
        return js_throw_pushed(ctx);
    }
    free(resp);
    duk_push_true(ctx);
    return 1;
}

static duk_ret_t
js_delete_def(duk_context *ctx, const char *kind)
{
    const char *name = duk_require_string(ctx, 0), *path;
    scr_buf b = {0};
    int st;
    char *resp;

    scr_buf_addf(&b, "/%s/", kind);
    scr_url_escape(&b, name, 1);
    scr_buf_adds(&b, "/json");
    path = js_path_push(ctx, &b);
    js_rest(ctx, "DELETE", path, NULL, &st, &resp);
    if ((st < 200 || st > 299) && st != 404) {
        js_fail(ctx, "DELETE", path, st, resp);
        return js_throw_pushed(ctx);
    }
    free(resp);
    duk_push_boolean(ctx, st != 404);
    return 1;
}

static duk_ret_t
js_setFlow(duk_context *ctx)
{
    return js_put_def(ctx, "flow", 0);
}

static duk_ret_t
js_clearFlow(duk_context *ctx)
{
    return js_delete_def(ctx, "flow");
}

static duk_ret_t
js_setThreshold(duk_context *ctx)
{
    return js_put_def(ctx, "threshold", 0);
}

static duk_ret_t
js_clearThreshold(duk_context *ctx)
{
    return js_delete_def(ctx, "threshold");
}

static duk_ret_t
js_setGroups(duk_context *ctx)
{
    return js_put_def(ctx, "group", 1);
}

static duk_ret_t
js_setMap(duk_context *ctx)
{
    return js_put_def(ctx, "map", 1);
}

/* ---- queries ---- */

static duk_ret_t
js_activeFlows(duk_context *ctx)
{
    static const char *const params[] = {"maxFlows", "minValue", "aggMode"};
    scr_buf b = {0};

    scr_buf_adds(&b, "/activeflows/");
    js_list_arg(ctx, 0, "ALL", &b);
    scr_buf_adds(&b, "/");
    scr_url_escape(&b, duk_require_string(ctx, 1), 1);
    scr_buf_adds(&b, "/json?");
    for (int i = 0; i < 3; i++)
        if (!duk_is_null_or_undefined(ctx, 2 + i))
            js_query_pair(&b, params[i], duk_safe_to_string(ctx, 2 + i));
    if (b.s[b.len - 1] == '?')
        b.s[--b.len] = '\0';
    return js_get(ctx, js_path_push(ctx, &b), "[]");
}

static duk_ret_t
js_metric_kind(duk_context *ctx, const char *kind)
{
    scr_buf b = {0};

    scr_buf_addf(&b, "/%s/", kind);
    js_list_arg(ctx, 0, "ALL", &b);
    scr_buf_adds(&b, "/");
    js_list_arg(ctx, 1, "ALL", &b);
    scr_buf_adds(&b, "/json");
    js_filter_arg(ctx, 2, &b);
    return js_get(ctx, js_path_push(ctx, &b), NULL);
}

static duk_ret_t
js_metric(duk_context *ctx)
{
    return js_metric_kind(ctx, "metric");
}

static duk_ret_t
js_dump(duk_context *ctx)
{
    return js_metric_kind(ctx, "dump");
}

static duk_ret_t
js_table(duk_context *ctx)
{
    return js_metric_kind(ctx, "table");
}

static duk_ret_t
js_agents(duk_context *ctx)
{
    scr_buf b = {0};

    scr_buf_adds(&b, "/agents/json");
    if (duk_is_array(ctx, 0)) {
        duk_size_t n = duk_get_length(ctx, 0);
        scr_buf_adds(&b, "?");
        for (duk_size_t i = 0; i < n; i++) {
            duk_get_prop_index(ctx, 0, (duk_uarridx_t)i);
            js_query_pair(&b, "agent", duk_safe_to_string(ctx, -1));
            duk_pop(ctx);
        }
    } else if (duk_is_string(ctx, 0)) {
        scr_buf_adds(&b, "?");
        js_query_pair(&b, "agent", duk_get_string(ctx, 0));
    }
    return js_get(ctx, js_path_push(ctx, &b), NULL);
}

static duk_ret_t
js_flowKeys(duk_context *ctx)
{
    return js_get(ctx, "/flowkeys/json", NULL);
}

static duk_ret_t
js_metrics(duk_context *ctx)
{
    scr_buf b = {0};

    if (duk_is_null_or_undefined(ctx, 0))
        return js_get(ctx, "/metrics/json", NULL);
    scr_buf_adds(&b, "/metric/");
    scr_url_escape(&b, duk_safe_to_string(ctx, 0), 0);
    scr_buf_adds(&b, "/json");
    return js_get(ctx, js_path_push(ctx, &b), NULL);
}

static duk_ret_t
js_analyzer(duk_context *ctx)
{
    return js_get(ctx, "/analyzer/json", NULL);
}

static duk_ret_t
js_version(duk_context *ctx)
{
    int st;
    char *body;

    js_rest(ctx, "GET", "/version", NULL, &st, &body);
    duk_push_string(ctx, st == 200 ? body : "");
    free(body);
    return 1;
}

/* ---- logging and properties ---- */

static duk_ret_t
js_log(duk_context *ctx)
{
    jsrt_log_line(duk_get_current_magic(ctx), duk_safe_to_string(ctx, 0));
    return 0;
}

static duk_ret_t
js_getSystemProperty(duk_context *ctx)
{
    const char *v =
        json_string_value(json_object_get(scr_child_get()->props, duk_safe_to_string(ctx, 0)));

    if (v)
        duk_push_string(ctx, v);
    else
        duk_push_null(ctx);
    return 1;
}

static duk_ret_t
js_getSystemPropertyNames(duk_context *ctx)
{
    const char *k;
    json_t *v;
    duk_uarridx_t i = 0;

    duk_push_array(ctx);
    json_object_foreach(scr_child_get()->props, k, v)
    {
        duk_push_string(ctx, k);
        duk_put_prop_index(ctx, -2, i++);
    }
    return 1;
}

/* ---- values held by the supervisor ---- */

static duk_ret_t
js_held(duk_context *ctx)
{
    static const char *const ops[] = {"shared.get", "shared.set",   "store.get",
                                      "store.set",  "store.delete", "store.keys"};
    int op = duk_get_current_magic(ctx);
    json_t *msg = json_pack("{s:s, s:s}", "t", "call", "op", ops[op]), *ret;

    if (op != 5)
        json_object_set_new(msg, "key", json_string(duk_safe_to_string(ctx, 0)));
    if (op == 1 || op == 3)
        json_object_set_new(msg, "value", jsrt_to_json(ctx, 1));
    ret = child_call(scr_child_get(), msg);
    if (!ret)
        return duk_error(ctx, DUK_ERR_ERROR, "%s: the supervisor is gone", ops[op]);
    jsrt_push_json(ctx, ret);
    json_decref(ret);
    return 1;
}

/* ---- code ---- */

static duk_ret_t
js_include(duk_context *ctx)
{
    const char *file = duk_require_string(ctx, 0);

    if (jsrt_eval_file(scr_child_get(), file) != DUK_EXEC_SUCCESS)
        return duk_throw(ctx), 0;
    return 0;
}

static duk_ret_t
js_scriptdir(duk_context *ctx)
{
    duk_push_string(ctx, scr_child_get()->dir);
    return 1;
}

/* ---- outbound HTTP ---- */

/* Run req; push {status, body, contentType}; throw on transport failure. */
static void
js_http_run(duk_context *ctx, scr_http_req *req)
{
    scr_http_resp r;
    int rc;

    req->timeout_ms = (int)scr_child_get()->http_timeout_ms;
    rc = scr_http(req, &r);
    if (rc != 0)
        (void)duk_error(ctx, DUK_ERR_ERROR, "http %s %s: %s", req->method, req->url,
                        sfa_strerror(rc));
    duk_push_object(ctx);
    duk_push_int(ctx, r.status);
    duk_put_prop_string(ctx, -2, "status");
    duk_push_lstring(ctx, r.body, r.body_len);
    duk_put_prop_string(ctx, -2, "body");
    if (r.ctype) {
        duk_push_string(ctx, r.ctype);
        duk_put_prop_string(ctx, -2, "contentType");
    }
    scr_http_resp_free(&r);
}

static const char *
js_opt_string(duk_context *ctx, duk_idx_t idx)
{
    return duk_is_null_or_undefined(ctx, idx) ? NULL : duk_safe_to_string(ctx, idx);
}

static void
js_upper(duk_context *ctx, duk_idx_t idx)
{
    duk_dup(ctx, idx);
    duk_get_prop_string(ctx, -1, "toUpperCase");
    duk_swap_top(ctx, -2);
    duk_call_method(ctx, 0);
}

/* http(url[, op, ...]) in sFlow-RT's legacy forms: GET returns the body;
 * 'get' takes user, password, accept; 'put'/'post'/'delete' take
 * contentType, body, user, password, accept. Non-2xx throws. */
static duk_ret_t
js_http(duk_context *ctx)
{
    scr_http_req req = {.url = duk_require_string(ctx, 0), .method = "GET"};
    int st;

    if (!duk_is_null_or_undefined(ctx, 1)) {
        js_upper(ctx, 1);
        req.method = duk_get_string(ctx, -1);
    }
    if (strcmp(req.method, "GET") == 0) {
        req.user = js_opt_string(ctx, 2);
        req.pass = js_opt_string(ctx, 3);
        req.accept = js_opt_string(ctx, 4);
    } else {
        req.ctype = js_opt_string(ctx, 2);
        req.body = js_opt_string(ctx, 3);
        req.body_len = req.body ? strlen(req.body) : 0;
        req.user = js_opt_string(ctx, 4);
        req.pass = js_opt_string(ctx, 5);
        req.accept = js_opt_string(ctx, 6);
    }
    js_http_run(ctx, &req);
    duk_get_prop_string(ctx, -1, "status");
    st = duk_get_int(ctx, -1);
    duk_pop(ctx);
    if (st < 200 || st > 299)
        return duk_error(ctx, DUK_ERR_ERROR, "http %s %s: status %d", req.method, req.url, st);
    duk_get_prop_string(ctx, -1, "body");
    return 1;
}

/* http2({url, operation, headers, body, user, password}) -> {status, body,
 * contentType}; only transport failures throw. */
static duk_ret_t
js_http2(duk_context *ctx)
{
    scr_http_req req = {.method = "GET"};
    const char *hdrs[33];
    int nh = 0;

    duk_require_object(ctx, 0);
    duk_get_prop_string(ctx, 0, "url");
    req.url = duk_require_string(ctx, -1);
    if (duk_get_prop_string(ctx, 0, "operation") && !duk_is_null_or_undefined(ctx, -1)) {
        js_upper(ctx, -1);
        req.method = duk_get_string(ctx, -1);
    }
    duk_get_prop_string(ctx, 0, "body");
    req.body = js_opt_string(ctx, -1);
    req.body_len = req.body ? strlen(req.body) : 0;
    duk_get_prop_string(ctx, 0, "user");
    req.user = js_opt_string(ctx, -1);
    duk_get_prop_string(ctx, 0, "password");
    req.pass = js_opt_string(ctx, -1);
    if (duk_get_prop_string(ctx, 0, "headers") && duk_is_object(ctx, -1)) {
        duk_idx_t h = duk_get_top_index(ctx);
        duk_enum(ctx, h, DUK_ENUM_OWN_PROPERTIES_ONLY);
        while (nh < 32 && duk_next(ctx, -1, 1)) {
            duk_push_sprintf(ctx, "%s: %s", duk_safe_to_string(ctx, -2),
                             duk_safe_to_string(ctx, -1));
            duk_insert(ctx, h); /* keep it alive below the enumerator */
            duk_pop_2(ctx);
            hdrs[nh++] = duk_get_string(ctx, h);
        }
    }
    hdrs[nh] = NULL;
    req.headers = hdrs;
    js_http_run(ctx, &req);
    return 1;
}

/* ---- registration ---- */

static const duk_function_list_entry js_api_funcs[] = {
    {"setFlow", js_setFlow, 2},
    {"clearFlow", js_clearFlow, 1},
    {"setThreshold", js_setThreshold, 2},
    {"clearThreshold", js_clearThreshold, 1},
    {"setGroups", js_setGroups, 2},
    {"setMap", js_setMap, 2},
    {"activeFlows", js_activeFlows, 5},
    {"metric", js_metric, 3},
    {"dump", js_dump, 3},
    {"table", js_table, 3},
    {"agents", js_agents, 1},
    {"flowKeys", js_flowKeys, 0},
    {"metrics", js_metrics, 1},
    {"analyzer", js_analyzer, 0},
    {"version", js_version, 0},
    {"getSystemProperty", js_getSystemProperty, 1},
    {"getSystemPropertyNames", js_getSystemPropertyNames, 0},
    {"include", js_include, 1},
    {"scriptdir", js_scriptdir, 0},
    {"http", js_http, 7},
    {"http2", js_http2, 1},
    {NULL, NULL, 0},
};

static void
js_api_magic(duk_context *ctx, const char *name, duk_c_function fn, int nargs, int magic)
{
    duk_push_c_function(ctx, fn, nargs);
    duk_set_magic(ctx, -1, magic);
    duk_put_prop_string(ctx, -2, name);
}

void
js_api_register(duk_context *ctx)
{
    duk_push_global_object(ctx);
    duk_put_function_list(ctx, -1, js_api_funcs);
    js_api_magic(ctx, "logSevere", js_log, 1, SFA_LOG_SEVERE);
    js_api_magic(ctx, "logWarning", js_log, 1, SFA_LOG_WARNING);
    js_api_magic(ctx, "logInfo", js_log, 1, SFA_LOG_INFO);
    js_api_magic(ctx, "logFine", js_log, 1, SFA_LOG_FINE);
    js_api_magic(ctx, "sharedGet", js_held, 1, 0);
    js_api_magic(ctx, "sharedSet", js_held, 2, 1);
    js_api_magic(ctx, "storeGet", js_held, 1, 2);
    js_api_magic(ctx, "storeSet", js_held, 2, 3);
    js_api_magic(ctx, "storeDelete", js_held, 1, 4);
    js_api_magic(ctx, "storeKeys", js_held, 0, 5);
    duk_pop(ctx);
}
