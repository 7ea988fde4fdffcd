/* route_apps.c - sFlow-RT's script and app resources, answered by the
 * scripts service (sfa-scripts) over the query bus.
 *
 *   ANY /app/{app}/scripts/{script}.js/[{segment}/...]{format}
 *                        -> the script's setHttpHandler (survey "script.http")
 *   GET /scripts/json    -> every script's state (survey "scripts")
 *   GET /apps/json       -> the installed apps: the apps in script.appdir as
 *                           the gateway sees them (route_apphtml.c), updated
 *                           by sfa-scripts' answer (survey "apps"), and the
 *                           built-in Browse Flows; 404 when none
 *
 * sfa-scripts answers every survey with "role":"scripts"; only those
 * answers count here (aggregators answer these ops with an error, the
 * events service with an empty result). A script.http survey carries the
 * app, the script name without ".js", the method, the raw rest of the path
 * after "<script>.js/" (sfa-scripts splits and decodes it into req.path and
 * req.format), the raw query string and the body; its result
 * {"status", "ctype", "body"} is sent as is: JSON bodies as JSON, 204
 * without a body, anything else as text. The survey deadline is
 * APPS_DEADLINE_MS, above sfa-scripts' default per-callback limit
 * (script.timeout, 10 s), so a slow handler is answered by the script or
 * by its watchdog, not cut short here. With no scripts service on the bus
 * the answer is 503 (script.http) or 404 (/scripts/json).
 *
 * A handler path may have any number of segments before the format
 * ("a/b/c/d/e/json": req.path is ["a","b","c","d","e"]); the route takes
 * the rest of the path raw and sfa-scripts decodes it. Native routes
 * registered earlier (Browse Flows, Prometheus) win over these. Bodies
 * over the survey's 64 KiB are refused with 413. Loop thread only.
 */
#include <stdlib.h>
#include <string.h>

#include <sfa/mem.h>

#include "gw.h"

#define APPS_SRC "gateway"
#define APPS_ROLE "scripts"
#define APPS_DEADLINE_MS 15000
#define APPS_BODY_MAX (48u * 1024) /* leaves room in the 64 KiB survey */

typedef struct apps_q {
    gw_ctx *g;
    gw_hold *hold;
    int op; /* APPS_HTTP, APPS_SCRIPTS, APPS_APPS */
} apps_q;

enum { APPS_HTTP, APPS_SCRIPTS, APPS_APPS };

static const char *const apps_ops[] = {"script.http", "scripts", "apps"};

/* The "result" of each scripts-service answer to op (borrowed from the
 * answers' JSON, which are appended to keep, new references). */
static void
apps_collect(const sfa_survey_result *res, const char *op, json_t *keep, json_t *results)
{
    for (size_t i = 0; i < res->nanswers; i++) {
        json_t *b = sfa_survey_msg_json(res->answers[i].msg, res->answers[i].len);
        const char *role = json_string_value(json_object_get(b, "role"));
        const char *o = json_string_value(json_object_get(b, "op"));
        json_t *result = json_object_get(b, "result");

        if (b && role && o && result && strcmp(role, APPS_ROLE) == 0 && strcmp(o, op) == 0)
            json_array_append(results, result);
        json_array_append_new(keep, b ? b : json_null());
    }
}

/* Send a script's answer {"status", "ctype", "body"}. */
static void
apps_reply_script(gw_hold *h, const json_t *result)
{
    int status = (int)json_integer_value(json_object_get(result, "status"));
    const char *ctype = json_string_value(json_object_get(result, "ctype"));
    const char *body = json_string_value(json_object_get(result, "body"));
    json_t *j;

    if (status < 100 || status > 599)
        status = 500;
    if (status == 204 || !body) {
        gw_hold_reply_text(h, status, "");
    } else if (ctype && strstr(ctype, "json") && (j = json_loads(body, JSON_DECODE_ANY, NULL))) {
        gw_hold_reply_json(h, status, j);
    } else {
        gw_hold_reply_text(h, status, body);
    }
}

static void
apps_done(const sfa_survey_result *res, void *arg)
{
    apps_q *q = arg;
    json_t *keep = json_array(), *results = json_array(), *merged;
    size_t i;
    json_t *v;

    apps_collect(res, apps_ops[q->op], keep, results);
    if (q->op == APPS_HTTP) {
        if (json_array_size(results) > 0)
            apps_reply_script(q->hold, json_array_get(results, 0));
        else
            gw_hold_reply_error(q->hold, 503, "no scripts service answered");
    } else {
        merged = q->op == APPS_APPS ? gw_apphtml_apps(q->g) : json_object();
        json_array_foreach(results, i, v) if (json_is_object(v)) json_object_update(merged, v);
        if (q->op == APPS_APPS)
            gw_apphtml_builtin(q->g, merged);
        if (q->op == APPS_APPS && json_object_size(merged) == 0) {
            json_decref(merged);
            gw_hold_reply_error(q->hold, 404, "no apps installed");
        } else if (q->op == APPS_SCRIPTS && json_array_size(results) == 0) {
            json_decref(merged);
            gw_hold_reply_error(q->hold, 404, "no scripts service is running");
        } else {
            gw_hold_reply_json(q->hold, 200, merged);
        }
    }
    json_decref(results);
    json_decref(keep);
    free(q);
}

/* Survey body (taken) and answer r from apps_done. */
static int
apps_start(gw_req *r, gw_ctx *g, int op, json_t *body)
{
    apps_q *q;
    int rc;

    if (!g->sv) {
        json_decref(body);
        gw_reply_error(r, 503, "shutting down");
        return GW_DONE;
    }
    q = sfa_xcalloc(1, sizeof *q);
    q->g = g;
    q->op = op;
    rc = sfa_survey_start_json(g->sv, APPS_SRC, body,
                               op == APPS_HTTP ? APPS_DEADLINE_MS : (int)g->cfg->query_timeout_ms,
                               apps_done, q);
    json_decref(body);
    if (rc != 0) {
        free(q);
        gw_reply_error(r, 503, "too many queries in flight");
        return GW_DONE;
    }
    q->hold = gw_req_hold(r);
    return GW_PENDING;
}

static const char *
apps_method(int m)
{
    switch (m) {
    case GW_PUT:
        return "PUT";
    case GW_POST:
        return "POST";
    case GW_DELETE:
        return "DELETE";
    default:
        return "GET";
    }
}

/* The raw part of path (len bytes) after "/app/<app>/scripts/<script>/":
 * what follows the fifth '/'. */
static const char *
apps_rest(const char *path, size_t len, size_t *rlen)
{
    int slashes = 0;

    for (size_t i = 0; i < len; i++) {
        if (path[i] == '/' && ++slashes == 5) {
            *rlen = len - i - 1;
            return path + i + 1;
        }
    }
    *rlen = 0;
    return path + len;
}

/* /app/{app}/scripts/{script}.js/...: ask the script. */
static int
route_app_script(gw_req *r, void *arg)
{
    const char *app = gw_req_param(r, "app"), *script = gw_req_param(r, "script");
    const char *path, *qs, *body, *rest;
    size_t plen, qlen, blen, rlen, sl = script ? strlen(script) : 0;
    json_t *q;

    if (!app || !script || sl < 4 || strcmp(script + sl - 3, ".js") != 0 || !gw_name_valid(app)) {
        gw_reply_error(r, 404, "no such script");
        return GW_DONE;
    }
    path = gw_req_path(r, &plen);
    qs = gw_req_query_string(r, &qlen);
    body = gw_req_body(r, &blen);
    if (blen > APPS_BODY_MAX) {
        gw_reply_error(r, 413, "request body over %u bytes", APPS_BODY_MAX);
        return GW_DONE;
    }
    rest = apps_rest(path, plen, &rlen);
    q = json_pack("{s:s, s:s, s:s%, s:s, s:s%, s:s%, s:s%}", "op", "script.http", "app", app,
                  "script", script, sl - 3, "method", apps_method(gw_req_method(r)), "rest", rest,
                  rlen, "query", qs ? qs : "", qs ? qlen : 0, "body", body, blen);
    if (!q) {
        gw_reply_error(r, 400, "the path, query or body is not valid UTF-8");
        return GW_DONE;
    }
    return apps_start(r, arg, APPS_HTTP, q);
}

static int
route_scripts(gw_req *r, void *arg)
{
    return apps_start(r, arg, APPS_SCRIPTS, json_pack("{s:s}", "op", "scripts"));
}

static int
route_apps(gw_req *r, void *arg)
{
    return apps_start(r, arg, APPS_APPS, json_pack("{s:s}", "op", "apps"));
}

#define APPS_ANY (GW_GET | GW_PUT | GW_POST | GW_DELETE)

const gw_route gw_app_routes[] = {
    {GW_GET, "/scripts/json", route_scripts},
    {GW_GET, "/apps/json", route_apps},
    {APPS_ANY, "/app/{app}/scripts/{script}/*", route_app_script},
    {0, NULL, NULL},
};
