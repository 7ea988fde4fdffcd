/* survey_test.c - sfa_survey_* / sfa_respond_* over real nng ipc sockets.
 *
 * One loop holds a surveyor and two respondents. Checks: a survey completes
 * as soon as every respondent has answered (not at the deadline); a silent
 * respondent makes it end at the deadline with the answers it has; answers
 * may be given later from the loop; no respondents completes at once; a
 * respondent that goes away mid-survey does not hold the survey to its
 * deadline; many concurrent surveys all complete; closing with surveys in
 * flight reports them as failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sfa/clock.h>
#include <sfa/codec.h>
#include <sfa/survey.h>

#include "test.h"

static uv_loop_t *loop;

/* ---- a respondent that answers in a configurable way ---- */

enum { MODE_NOW, MODE_SILENT, MODE_LATER, MODE_HOLD };

typedef struct fake {
    sfa_responder *r;
    const char *id;
    int mode;
    uv_timer_t later;
    sfa_respond_req *held;
    int got;
} fake;

static void
fake_answer(fake *f, sfa_respond_req *req)
{
    json_t *body = json_pack("{s:s, s:s, s:i}", "op", "echo", "id", f->id, "result", f->got);

    if (sfa_respond_reply_json(req, f->id, body) != 0)
        printf("# reply failed\n");
    json_decref(body);
}

static void
fake_later_cb(uv_timer_t *t)
{
    fake *f = t->data;

    if (f->held) {
        fake_answer(f, f->held);
        f->held = NULL;
    }
}

static void
fake_cb(sfa_responder *r, sfa_respond_req *req, const uint8_t *msg, size_t len, void *arg)
{
    fake *f = arg;
    json_t *body = sfa_survey_msg_json(msg, len);

    (void)r;
    f->got++;
    if (!body || !json_is_string(json_object_get(body, "op"))) {
        sfa_respond_drop(req);
    } else if (f->mode == MODE_NOW) {
        fake_answer(f, req);
    } else if (f->mode == MODE_LATER && !f->held) {
        f->held = req;
        uv_timer_start(&f->later, fake_later_cb, 50, 0);
    } else if (f->mode == MODE_HOLD && !f->held) {
        f->held = req; /* never answered: released by sfa_respond_close */
    } else {
        sfa_respond_drop(req);
    }
    json_decref(body);
}

/* ---- running the loop until a condition holds ---- */

typedef int (*cond_fn)(void *arg);

typedef struct waiter {
    cond_fn fn;
    void *arg;
    uint64_t deadline;
} waiter;

static void
wait_tick(uv_timer_t *t)
{
    waiter *w = t->data;

    if (w->fn(w->arg) || sfa_clock_ms() > w->deadline)
        uv_stop(loop);
}

static int
run_until(cond_fn fn, void *arg, int max_ms)
{
    uv_timer_t t;
    waiter w = {fn, arg, sfa_clock_ms() + (uint64_t)max_ms};

    uv_timer_init(loop, &t);
    t.data = &w;
    uv_timer_start(&t, wait_tick, 2, 2);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return fn(arg);
}

static int
fake_holds(void *arg)
{
    return ((fake *)arg)->held != NULL;
}

typedef struct peers_arg {
    sfa_surveyor *sv;
    unsigned n;
} peers_arg;

static int
peers_are(void *arg)
{
    peers_arg *p = arg;

    return sfa_survey_peers(p->sv) == p->n;
}

/* ---- survey results ---- */

typedef struct outcome {
    int done;
    int status;
    size_t nanswers;
    unsigned expected;
    uint64_t elapsed_ms;
    int ids_ok;
} outcome;

static void
outcome_cb(const sfa_survey_result *res, void *arg)
{
    outcome *o = arg;

    o->done++;
    o->status = res->status;
    o->nanswers = res->nanswers;
    o->expected = res->expected;
    o->elapsed_ms = res->elapsed_us / 1000;
    o->ids_ok = 1;
    for (size_t i = 0; i < res->nanswers; i++) {
        json_t *b = sfa_survey_msg_json(res->answers[i].msg, res->answers[i].len);

        if (!b || !json_is_string(json_object_get(b, "id")))
            o->ids_ok = 0;
        json_decref(b);
    }
}

static int
outcome_done(void *arg)
{
    return ((outcome *)arg)->done > 0;
}

static int
ask(sfa_surveyor *sv, outcome *o, int timeout_ms)
{
    json_t *q = json_pack("{s:s}", "op", "echo");
    int rc;

    memset(o, 0, sizeof *o);
    rc = sfa_survey_start_json(sv, "test", q, timeout_ms, outcome_cb, o);
    json_decref(q);
    if (rc == 0)
        run_until(outcome_done, o, timeout_ms + 2000);
    return rc;
}

typedef struct many {
    int done;
    int complete;
} many;

static void
many_cb(const sfa_survey_result *res, void *arg)
{
    many *m = arg;

    m->done++;
    if (res->status == 0 && res->nanswers == 2)
        m->complete++;
}

static int
many_done(void *arg)
{
    return ((many *)arg)->done == 200;
}

/* ---- sfa_survey_each_flow ---- */

typedef struct seen {
    int n;
    char keys[8][16];
    double values[8];
    int64_t flow_n[8];
    int nvalues[8];
    double v0[8];
    int agent_ok[8];
} seen;

static void
seen_cb(const sfa_flow_entry *e, void *arg)
{
    seen *s = arg;

    if (s->n >= 8)
        return;
    snprintf(s->keys[s->n], sizeof s->keys[0], "%.*s", (int)e->key_len, e->key);
    s->values[s->n] = e->value;
    s->flow_n[s->n] = e->flow_n;
    s->nvalues[s->n] = e->nvalues;
    s->v0[s->n] = e->nvalues > 0 ? e->values[0] : -1;
    s->agent_ok[s->n] = e->agent && e->agent_len == 8 && memcmp(e->agent, "10.0.0.1", 8) == 0;
    s->n++;
}

static int
each(const char *body_text, const char *op, seen *s, uint64_t *bad)
{
    json_error_t err;
    json_t *body = json_loads(body_text, 0, &err);
    uint8_t buf[4096];
    int n;

    memset(s, 0, sizeof *s);
    if (!body)
        return -999;
    n = sfa_codec_encode_json_msg(buf, sizeof buf, SFA_TOPIC_QUERY, "agg", 1, 2, body);
    json_decref(body);
    if (n < 0)
        return -998;
    return sfa_survey_each_flow(buf, (size_t)n, op, seen_cb, s, bad);
}

static void
test_each_flow(void)
{
    seen s;
    uint64_t bad = 0;
    int n;

    n = each("{\"result\":[{\"key\":\"a,b\",\"value\":12.5,\"agent\":\"10.0.0.1\","
             "\"dataSource\":\"3\",\"flowN\":2,\"values\":[7,8.5],\"extra\":{\"x\":[1,2]}},"
             "{\"value\":1},{\"key\":\"nov\"},{\"key\":\"s\",\"value\":\"9\"},[1,2],"
             "{\"key\":\"c\",\"value\":3}],\"op\":\"activeflows\",\"id\":\"agg\"}",
             "activeflows", &s, &bad);
    CHECK_EQ(n, 2, "each_flow: two good entries (result before op)");
    CHECK_EQ(bad, 4, "each_flow: four malformed entries counted");
    CHECK_STR(s.keys[0], "a,b", "each_flow: key");
    CHECK_NEAR(s.values[0], 12.5, 1e-9, "each_flow: value");
    CHECK(s.agent_ok[0], "each_flow: agent borrowed");
    CHECK_EQ(s.flow_n[0], 2, "each_flow: flowN");
    CHECK(s.nvalues[0] == 2 && s.v0[0] == 7, "each_flow: values");
    CHECK(s.flow_n[1] == 1 && s.nvalues[1] == -1, "each_flow: defaults when absent");
    n = each("{\"op\":\"flowkeys\",\"result\":[]}", "activeflows", &s, NULL);
    CHECK_EQ(n, SFA_EFORMAT, "each_flow: another op is refused");
    n = each("{\"op\":\"activeflows\",\"result\":{}}", "activeflows", &s, NULL);
    CHECK_EQ(n, SFA_EFORMAT, "each_flow: a result that is not an array is refused");
    n = each("{\"op\":\"activeflows\"}", "activeflows", &s, NULL);
    CHECK_EQ(n, SFA_EFORMAT, "each_flow: no result is refused");
    n = each("{\"op\":\"activeflows\",\"result\":[]}", "activeflows", &s, NULL);
    CHECK_EQ(n, 0, "each_flow: empty result");
    CHECK_EQ(sfa_survey_each_flow((const uint8_t *)"query.v1\0\x81", 11, "activeflows", seen_cb, &s,
                                  NULL),
             SFA_EFORMAT, "each_flow: truncated message is refused");
}

int
main(void)
{
    char url[512];
    sfa_surveyor *sv = NULL;
    fake a = {.id = "agg-a", .mode = MODE_NOW}, b = {.id = "agg-b", .mode = MODE_NOW};
    peers_arg pa;
    outcome o;
    many m = {0, 0};
    sfa_survey_stats st;
    int rc;

    test_each_flow();
    loop = uv_default_loop();
    snprintf(url, sizeof url, "ipc://%s/survey-test-%ld.sock", TEST_BUILD_DIR, (long)getpid());
    CHECK_OK(sfa_survey_open(&sv, loop, url), "surveyor listens");
    if (!sv)
        return test_done();

    /* No respondents: completes at once with nothing. */
    CHECK_OK(ask(sv, &o, 2000), "survey with no respondents starts");
    CHECK(o.done == 1 && o.status == 0 && o.nanswers == 0, "no respondents: complete, empty");
    CHECK(o.elapsed_ms < 500, "no respondents: does not wait for the deadline");

    uv_timer_init(loop, &a.later);
    uv_timer_init(loop, &b.later);
    a.later.data = &a;
    b.later.data = &b;
    CHECK_OK(sfa_respond_open(&a.r, loop, url, 4, fake_cb, &a), "respondent a dials");
    CHECK_OK(sfa_respond_open(&b.r, loop, url, 4, fake_cb, &b), "respondent b dials");
    pa.sv = sv;
    pa.n = 2;
    CHECK(run_until(peers_are, &pa, 5000), "surveyor sees two respondents");

    CHECK_OK(ask(sv, &o, 3000), "survey starts");
    CHECK(o.done == 1 && o.status == 0, "both answered: complete");
    CHECK_EQ(o.nanswers, 2, "two answers");
    CHECK_EQ(o.expected, 2, "two expected");
    CHECK(o.ids_ok, "answers decode as query.v1 bodies with an id");
    CHECK(o.elapsed_ms < 1000, "complete well before the 3 s deadline");

    b.mode = MODE_LATER;
    CHECK_OK(ask(sv, &o, 3000), "survey with a late answer starts");
    CHECK(o.status == 0 && o.nanswers == 2, "answer given later from the loop counts");

    b.mode = MODE_SILENT;
    CHECK_OK(ask(sv, &o, 300), "survey with a silent respondent starts");
    CHECK_EQ(o.status, -ETIMEDOUT, "silent respondent: deadline status");
    CHECK_EQ(o.nanswers, 1, "silent respondent: the other answer is kept");
    CHECK(o.elapsed_ms >= 250 && o.elapsed_ms < 2000, "silent respondent: ends at the deadline");

    /* b holds the next survey, then goes away: the survey must not wait
     * for the 5 s deadline once the pipe is gone. (b closes once it holds
     * the survey: closing while a message is still arriving can hang
     * nng 1.5's nng_close, an nng bug fixed in 1.8.) */
    b.mode = MODE_HOLD;
    b.held = NULL;
    {
        json_t *q = json_pack("{s:s}", "op", "echo");

        memset(&o, 0, sizeof o);
        rc = sfa_survey_start_json(sv, "test", q, 5000, outcome_cb, &o);
        json_decref(q);
        CHECK_OK(rc, "survey before a respondent leaves starts");
        CHECK(run_until(fake_holds, &b, 3000), "b holds the survey");
        b.mode = MODE_SILENT;
        b.held = NULL;
        sfa_respond_close(b.r);
        b.r = NULL;
        run_until(outcome_done, &o, 7000);
        CHECK(o.done == 1 && o.nanswers == 1, "respondent left: one answer");
        CHECK(o.elapsed_ms < 3000, "respondent left: completes before the deadline");
    }
    pa.n = 1;
    CHECK(run_until(peers_are, &pa, 3000), "surveyor sees one respondent");

    /* Many at once, two respondents again. */
    b.mode = MODE_NOW;
    CHECK_OK(sfa_respond_open(&b.r, loop, url, 4, fake_cb, &b), "respondent b dials again");
    pa.n = 2;
    CHECK(run_until(peers_are, &pa, 5000), "surveyor sees two respondents again");
    rc = 0;
    for (int i = 0; i < 200; i++) {
        json_t *q = json_pack("{s:s}", "op", "echo");

        rc |= sfa_survey_start_json(sv, "test", q, 5000, many_cb, &m);
        json_decref(q);
    }
    CHECK_OK(rc, "200 concurrent surveys start");
    run_until(many_done, &m, 10000);
    CHECK_EQ(m.done, 200, "200 surveys finish");
    CHECK_EQ(m.complete, 200, "200 surveys complete with both answers");

    sfa_survey_get_stats(sv, &st);
    CHECK(st.started == 205 && st.timeouts == 1 && st.inflight == 0, "stats add up");

    /* Close with a survey in flight: its callback reports the failure. */
    b.mode = MODE_SILENT;
    a.mode = MODE_SILENT;
    {
        json_t *q = json_pack("{s:s}", "op", "echo");

        memset(&o, 0, sizeof o);
        rc = sfa_survey_start_json(sv, "test", q, 5000, outcome_cb, &o);
        json_decref(q);
    }
    CHECK_OK(rc, "survey before close starts");
    uv_run(loop, UV_RUN_NOWAIT);
    sfa_survey_close(sv);
    CHECK(o.done == 1 && o.status == SFA_EBUS, "close fails the survey in flight");

    sfa_respond_close(a.r);
    sfa_respond_close(b.r);
    uv_close((uv_handle_t *)&a.later, NULL);
    uv_close((uv_handle_t *)&b.later, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    CHECK_OK(uv_loop_close(loop), "every handle closed");
    return test_done();
}
