/* super_bus.c - the supervisor's bus side: events in, surveys answered.
 *
 * events.v1 (bus.events, dialled): each event goes to every live script
 * that has an event handler (the child applies the handler's threshold
 * list); a script whose socket is backed up loses it (eventsLost).
 *
 * query.v1 (bus.query, the gateway's surveyor, dialled as a respondent,
 * like the events service): the gateway completes a survey when every
 * respondent has answered, so every survey gets an answer, at once, except
 * script.http, which waits for the script:
 *
 *   hello        {"op","id":"scripts","role":"scripts","stats":{...}}
 *                (a role other than "aggregator": never a bucket owner)
 *   scripts      result: /scripts/json
 *   apps         result: /apps/json
 *   script.http  args app, script, method, rest ("a/b/json" after
 *                "<script>.js/"), query (raw), body, ctype; result
 *                {"status":n, "ctype":s, "body":s} from the script's
 *                setHttpHandler, or 404 (no such script or handler) or
 *                503 (the script is not running, or ended meanwhile)
 *   activeflows  result [] (merges to nothing); events too
 *   anything     result {}
 *
 * Every answer carries "role":"scripts" so the gateway can tell ours from
 * the aggregators'. Loop thread only.
 */
#include <stdlib.h>
#include <string.h>

#include <sfa/codec.h>
#include <sfa/log.h>
#include <sfa/mem.h>

#include "super.h"

#define BUS_TOPIC_EVENTS "events.v1"
#define BUS_EVENTS_RCVBUF 1024
#define BUS_RESPOND_CONCURRENCY 64

/* ---- events ---- */

static void
super_bus_event_cb(sfa_bus *bus, const uint8_t *msg, size_t len, void *arg)
{
    scr_super *s = arg;
    sfa_envelope env;
    json_t *evt, *frame;

    (void)bus;
    if (sfa_codec_parse(msg, len, &env) != 0 || !(evt = sfa_codec_body_json(&env))) {
        s->events_bad++;
        return;
    }
    s->events_in++;
    frame = json_pack("{s:s, s:o}", "t", "event", "evt", evt);
    for (size_t i = 0; i < s->n; i++) {
        scr_script *sc = &s->scripts[i];
        if (!sc->run || !sc->want_events)
            continue;
        if (super_send(sc, frame) == 0)
            sc->events_received++;
        else
            sc->events_lost++;
    }
    json_decref(frame);
}

/* ---- /scripts/json ---- */

json_t *
super_scripts_json(scr_super *s)
{
    json_t *out = json_object();

    for (size_t i = 0; i < s->n; i++) {
        scr_script *sc = &s->scripts[i];
        json_t *o = json_pack(
            "{s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:i}", "alive", sc->alive,
            "gracefulExit", sc->graceful, "cpuMs", (json_int_t)super_cpu_ms(sc), "flowsReceived",
            (json_int_t)sc->flows_received, "flowsLost", (json_int_t)sc->flows_lost,
            "eventsReceived", (json_int_t)sc->events_received, "eventsLost",
            (json_int_t)sc->events_lost, "requestsReceived", (json_int_t)sc->requests_received,
            "requestsLost", (json_int_t)sc->requests_lost, "sfaRestarts",
            (json_int_t)(sc->restarts ? sc->restarts - 1 : 0), "sfaPid",
            sc->run ? sc->run->pid : 0);
        json_object_set_new(o, "error", sc->error ? json_string(sc->error) : json_null());
        json_object_set_new(out, sc->spec->name, o);
    }
    return out;
}

/* ---- app HTTP requests ---- */

static scr_script *
super_bus_find(scr_super *s, const char *app, const char *script)
{
    for (size_t i = 0; i < s->n; i++) {
        const scr_spec *sp = s->scripts[i].spec;
        if (sp && strcmp(sp->app, app) == 0 && strcmp(sp->base, script) == 0)
            return &s->scripts[i];
    }
    return NULL;
}

static void
super_bus_answer_status(sfa_respond_req *req, const char *op, int status, const char *msg)
{
    json_t *ans =
        json_pack("{s:s, s:s, s:s, s:{s:i, s:s, s:s}}", "op", op, "id", SCR_SRC, "role", SCR_ROLE,
                  "result", "status", status, "ctype", "application/json", "body", "");
    json_t *body = json_pack("{s:i, s:s}", "error", status, "message", msg);
    char *text = json_dumps(body, JSON_COMPACT);

    json_object_set_new(json_object_get(ans, "result"), "body", json_string(text ? text : ""));
    (void)sfa_respond_reply_json(req, SCR_SRC, ans);
    free(text);
    json_decref(body);
    json_decref(ans);
}

static void
super_bus_http(scr_super *s, sfa_respond_req *req, const json_t *q)
{
    const char *app = json_string_value(json_object_get(q, "app"));
    const char *script = json_string_value(json_object_get(q, "script"));
    scr_script *sc = app && script ? super_bus_find(s, app, script) : NULL;
    scr_pending *p;
    json_t *frame;

    if (!sc) {
        super_bus_answer_status(req, "script.http", 404, "no such script");
        return;
    }
    sc->requests_received++;
    if (!sc->run || !sc->has_http) {
        sc->requests_lost++;
        super_bus_answer_status(req, "script.http", sc->run ? 404 : 503,
                                sc->run ? "the script has no HTTP handler"
                                        : "the script is not running");
        return;
    }
    frame = json_pack("{s:s, s:I, s:O?, s:O?, s:O?, s:O?, s:O?}", "t", "http", "id",
                      (json_int_t)++s->next_http_id, "method", json_object_get(q, "method"), "rest",
                      json_object_get(q, "rest"), "query", json_object_get(q, "query"), "body",
                      json_object_get(q, "body"), "ctype", json_object_get(q, "ctype"));
    if (super_send(sc, frame) != 0) {
        sc->requests_lost++;
        super_bus_answer_status(req, "script.http", 503, "the script is not accepting requests");
    } else {
        p = sfa_xcalloc(1, sizeof *p);
        p->id = s->next_http_id;
        p->req = req;
        p->next = sc->pending;
        sc->pending = p;
    }
    json_decref(frame);
}

void
super_bus_http_reply(scr_script *sc, const json_t *msg)
{
    json_int_t id = json_integer_value(json_object_get(msg, "id"));
    scr_pending **pp, *p;
    json_t *ans, *result;

    for (pp = &sc->pending; *pp && (*pp)->id != (uint64_t)id; pp = &(*pp)->next)
        ;
    if (!(p = *pp))
        return;
    *pp = p->next;
    result = json_pack("{s:O?, s:O?, s:O?}", "status", json_object_get(msg, "status"), "ctype",
                       json_object_get(msg, "ctype"), "body", json_object_get(msg, "body"));
    ans = json_pack("{s:s, s:s, s:s, s:o}", "op", "script.http", "id", SCR_SRC, "role", SCR_ROLE,
                    "result", result);
    (void)sfa_respond_reply_json(p->req, SCR_SRC, ans);
    json_decref(ans);
    free(p);
}

void
super_bus_fail_pending(scr_script *sc, int status)
{
    while (sc->pending) {
        scr_pending *p = sc->pending;
        sc->pending = p->next;
        sc->requests_lost++;
        super_bus_answer_status(p->req, "script.http", status, "the script stopped");
        free(p);
    }
}

/* ---- surveys ---- */

static json_t *
super_bus_hello_stats(scr_super *s)
{
    size_t alive = 0;

    for (size_t i = 0; i < s->n; i++)
        alive += s->scripts[i].alive;
    return json_pack("{s:I, s:I, s:I, s:I}", "scripts", (json_int_t)s->n, "alive",
                     (json_int_t)alive, "eventsIn", (json_int_t)s->events_in, "eventsBad",
                     (json_int_t)s->events_bad);
}

static void
super_bus_survey_cb(sfa_responder *r, sfa_respond_req *req, const uint8_t *msg, size_t len,
                    void *arg)
{
    scr_super *s = arg;
    json_t *q = sfa_survey_msg_json(msg, len), *ans;
    const char *op = json_string_value(json_object_get(q, "op"));

    (void)r;
    op = op ? op : "";
    if (strcmp(op, "script.http") == 0) {
        super_bus_http(s, req, q);
        json_decref(q);
        return;
    }
    ans = json_pack("{s:s, s:s, s:s}", "op", op, "id", SCR_SRC, "role", SCR_ROLE);
    if (strcmp(op, "hello") == 0)
        json_object_set_new(ans, "stats", super_bus_hello_stats(s));
    else if (strcmp(op, "scripts") == 0)
        json_object_set_new(ans, "result", super_scripts_json(s));
    else if (strcmp(op, "apps") == 0)
        json_object_set_new(ans, "result", json_deep_copy(s->specs.apps));
    else if (strcmp(op, "activeflows") == 0 || strcmp(op, "events") == 0)
        json_object_set_new(ans, "result", json_array());
    else
        json_object_set_new(ans, "result", json_object());
    (void)sfa_respond_reply_json(req, SCR_SRC, ans);
    json_decref(ans);
    json_decref(q);
}

/* ---- open and close ---- */

int
super_bus_open(scr_super *s)
{
    const scr_config *cfg = s->cfg;
    int rc;

    if ((rc = sfa_bus_sub_open(&s->events, s->loop, cfg->bus_events, BUS_EVENTS_RCVBUF,
                               super_bus_event_cb, s)) != 0 ||
        (rc = sfa_bus_subscribe(s->events, BUS_TOPIC_EVENTS, sizeof BUS_TOPIC_EVENTS)) != 0) {
        SFA_SEVERE("bus.events %s: %s", cfg->bus_events, sfa_strerror(rc));
        return rc;
    }
    if ((rc = sfa_respond_open(&s->resp, s->loop, cfg->bus_query, BUS_RESPOND_CONCURRENCY,
                               super_bus_survey_cb, s)) != 0) {
        SFA_SEVERE("bus.query %s: %s", cfg->bus_query, sfa_strerror(rc));
        return rc;
    }
    return 0;
}

void
super_bus_close(scr_super *s)
{
    for (size_t i = 0; i < s->n; i++) {
        scr_script *sc = &s->scripts[i];
        while (sc->pending) {
            scr_pending *p = sc->pending;
            sc->pending = p->next;
            sfa_respond_drop(p->req);
            free(p);
        }
    }
    sfa_respond_close(s->resp);
    s->resp = NULL;
    sfa_bus_close(s->events);
    s->events = NULL;
}
