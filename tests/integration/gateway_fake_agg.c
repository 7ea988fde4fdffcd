/* gateway_fake_agg.c - a stand-in aggregator for the gateway's integration
 * tests: it dials the gateway's bus.query and answers surveys with canned
 * results, and subscribes to bus.defs to report what it was sent.
 *
 *   gateway_fake_agg --query URL --defs URL --id ID [--flows FILE]
 *                    [--flowkeys FILE] [--defs-out FILE] [--delay MS]
 *                    [--role ROLE]
 *
 * --flows holds {"<flow name>": [activeflows entries]}; an activeflows
 * survey is answered with the entries of its flow name (all of them: the
 * gateway merges and caps). --flowkeys holds the flowkeys result. hello
 * answers carry the id, the last defs.v1 version seen and a few counters.
 * --defs-out receives every defs.v1 body (written atomically). --delay
 * holds every answer but hello for MS milliseconds. --role adds "role" to
 * the hello answer (the events service says "events"). SIGTERM/SIGINT end
 * it.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sfa/bus.h>
#include <sfa/codec.h>
#include <sfa/log.h>
#include <sfa/survey.h>

typedef struct fake {
    uv_loop_t *loop;
    sfa_responder *r;
    sfa_bus *defs;
    const char *id;
    const char *defs_out;
    const char *role;
    json_t *flows;
    json_t *flowkeys;
    long delay_ms;
    uint64_t defs_version;
    uint64_t surveys, answered;
    uv_signal_t sigterm, sigint;
    struct later *pending; /* delayed answers not sent yet */
} fake;

typedef struct later {
    uv_timer_t t;
    fake *f;
    sfa_respond_req *req;
    json_t *ans;
    struct later *next;
} later;

static json_t *
fake_answer(fake *f, json_t *q)
{
    const char *op = json_string_value(json_object_get(q, "op"));
    json_t *ans = json_pack("{s:s, s:s}", "op", op ? op : "", "id", f->id), *r;

    if (!op) {
        json_object_set_new(ans, "error", json_string("no op"));
    } else if (strcmp(op, "hello") == 0) {
        json_object_set_new(ans, "defs_version", json_integer((json_int_t)f->defs_version));
        json_object_set_new(ans, "buckets", json_pack("[i,i]", 1, 2));
        if (f->role)
            json_object_set_new(ans, "role", json_string(f->role));
        json_object_set_new(ans, "stats",
                            json_pack("{s:I, s:I}", "surveys", (json_int_t)f->surveys, "answered",
                                      (json_int_t)f->answered));
    } else if (strcmp(op, "activeflows") == 0) {
        r = json_object_get(f->flows, json_string_value(json_object_get(q, "name")));
        json_object_set_new(ans, "result", r ? json_incref(r) : json_array());
    } else if (strcmp(op, "flowkeys") == 0) {
        json_object_set_new(ans, "result", f->flowkeys ? json_incref(f->flowkeys) : json_object());
    } else {
        json_object_set_new(ans, "error", json_string("unknown op"));
    }
    return ans;
}

static void
later_closed(uv_handle_t *h)
{
    free(h->data);
}

static void
later_unlink(later *l)
{
    for (later **pp = &l->f->pending; *pp; pp = &(*pp)->next)
        if (*pp == l) {
            *pp = l->next;
            break;
        }
    json_decref(l->ans);
    uv_close((uv_handle_t *)&l->t, later_closed);
}

static void
later_fire(uv_timer_t *t)
{
    later *l = t->data;

    (void)sfa_respond_reply_json(l->req, l->f->id, l->ans);
    l->f->answered++;
    later_unlink(l);
}

static void
fake_survey(sfa_responder *r, sfa_respond_req *req, const uint8_t *msg, size_t len, void *arg)
{
    fake *f = arg;
    json_t *q = sfa_survey_msg_json(msg, len), *ans;
    const char *op = json_string_value(json_object_get(q, "op"));
    later *l;

    (void)r;
    f->surveys++;
    if (!q) {
        sfa_respond_drop(req);
        return;
    }
    ans = fake_answer(f, q);
    if (f->delay_ms > 0 && !(op && strcmp(op, "hello") == 0)) {
        l = calloc(1, sizeof *l);
        l->f = f;
        l->req = req;
        l->ans = ans;
        l->next = f->pending;
        f->pending = l;
        uv_timer_init(f->loop, &l->t);
        l->t.data = l;
        uv_timer_start(&l->t, later_fire, (uint64_t)f->delay_ms, 0);
    } else {
        (void)sfa_respond_reply_json(req, f->id, ans);
        f->answered++;
        json_decref(ans);
    }
    json_decref(q);
}

/* Write text to path atomically (tmp + rename). */
static void
fake_write(const char *path, const char *text)
{
    char tmp[1024];
    FILE *fp;

    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if ((fp = fopen(tmp, "w")) == NULL)
        return;
    fputs(text, fp);
    fclose(fp);
    rename(tmp, path);
}

static void
fake_defs(sfa_bus *bus, const uint8_t *msg, size_t len, void *arg)
{
    fake *f = arg;
    sfa_envelope env;
    json_t *body, *v;
    char *text;

    (void)bus;
    if (sfa_codec_parse(msg, len, &env) != 0 || (body = sfa_codec_body_json(&env)) == NULL)
        return;
    v = json_object_get(body, "version");
    if (json_is_integer(v))
        f->defs_version = (uint64_t)json_integer_value(v);
    if (f->defs_out && (text = json_dumps(body, JSON_SORT_KEYS)) != NULL) {
        fake_write(f->defs_out, text);
        free(text);
    }
    json_decref(body);
}

static void
fake_stop(uv_signal_t *s, int signum)
{
    fake *f = s->data;

    (void)signum;
    while (f->pending)
        later_unlink(f->pending);
    sfa_respond_close(f->r);
    sfa_bus_close(f->defs);
    uv_close((uv_handle_t *)&f->sigterm, NULL);
    uv_close((uv_handle_t *)&f->sigint, NULL);
}

static json_t *
load(const char *path)
{
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);

    if (!j)
        fprintf(stderr, "fake_agg: %s: %s\n", path, e.text);
    return j;
}

int
main(int argc, char **argv)
{
    fake f;
    const char *query = NULL, *defs = NULL;

    memset(&f, 0, sizeof f);
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--query") == 0)
            query = argv[i + 1];
        else if (strcmp(argv[i], "--defs") == 0)
            defs = argv[i + 1];
        else if (strcmp(argv[i], "--id") == 0)
            f.id = argv[i + 1];
        else if (strcmp(argv[i], "--flows") == 0)
            f.flows = load(argv[i + 1]);
        else if (strcmp(argv[i], "--flowkeys") == 0)
            f.flowkeys = load(argv[i + 1]);
        else if (strcmp(argv[i], "--defs-out") == 0)
            f.defs_out = argv[i + 1];
        else if (strcmp(argv[i], "--delay") == 0)
            f.delay_ms = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--role") == 0)
            f.role = argv[i + 1];
    }
    if (!query || !defs || !f.id) {
        fprintf(stderr, "usage: %s --query URL --defs URL --id ID [...]\n", argv[0]);
        return 1;
    }
    sfa_log_init("fake_agg", SFA_LOG_WARNING);
    f.loop = uv_default_loop();
    if (sfa_respond_open(&f.r, f.loop, query, 8, fake_survey, &f) != 0 ||
        sfa_bus_sub_open(&f.defs, f.loop, defs, 16, fake_defs, &f) != 0 ||
        sfa_bus_subscribe(f.defs, "defs.v1", sizeof "defs.v1") != 0)
        return 2;
    uv_signal_init(f.loop, &f.sigterm);
    uv_signal_init(f.loop, &f.sigint);
    f.sigterm.data = f.sigint.data = &f;
    uv_signal_start(&f.sigterm, fake_stop, SIGTERM);
    uv_signal_start(&f.sigint, fake_stop, SIGINT);
    uv_run(f.loop, UV_RUN_DEFAULT);
    json_decref(f.flows);
    json_decref(f.flowkeys);
    return uv_loop_close(f.loop) == 0 ? 0 : 2;
}
