/* events.c - assemble the events service on one libuv loop, and take it
 * apart again.
 *
 * Inputs: defs.v1 from the gateway (bus.defs, dialled) carries the
 * thresholds; metrics.v1 from every aggregator (bus.metrics: we listen,
 * they dial) carries the smoothed values, and each report is evaluated the
 * moment it arrives, so an event follows a crossing by one report period
 * at most. Outputs: each event gets an id (evt_ids), goes into the log
 * (event_log.c) and out on events.v1 (bus.events); the gateway's surveys
 * (bus.query) are answered from the log (query.c).
 *
 * Durability: the id high-water mark and the last thresholds seen are kept
 * in sfa.state, so a restarted service neither reuses an id nor waits for
 * the gateway to know its thresholds. The gateway stays the authority:
 * the next defs.v1 replaces the cached set.
 *
 * Start refuses (and main exits 1) when the state directory is unusable:
 * serving with ids that might repeat is worse than not serving.
 * Loop thread only.
 */
#include <signal.h>
#include <string.h>

#include <sfa/clock.h>
#include <sfa/log.h>
#include <sfa/mem.h>

#include "evt.h"

#define EVT_CACHE_FILE "events-thresholds.json"
#define EVT_METRICS_RCVBUF 1024 /* reports queued before nng drops */
#define EVT_DEFS_RCVBUF 16
#define EVT_RESPOND_CONCURRENCY 16
#define EVT_SWEEP_MS 250
#define EVT_STALE_PERIODS 4
#define EVT_STALE_MIN_MS 2000

/* ---- events ---- */

json_t *
evt_event_json(const evt_fire *f, uint64_t id, uint64_t ts_ms)
{
    const json_t *level = json_object_get(f->thr->spec, "value");
    json_t *ev = json_object();

    json_object_set_new(ev, "eventID", json_integer((json_int_t)id));
    json_object_set_new(ev, "timestamp", json_integer((json_int_t)ts_ms));
    json_object_set_new(ev, "thresholdID", json_string(f->thr->name));
    json_object_set_new(ev, "metric", json_string(f->thr->metric));
    /* The level as the client wrote it (1250000 stays an integer). */
    json_object_set_new(ev, "threshold", level ? json_deep_copy(level) : json_real(f->thr->value));
    json_object_set_new(ev, "value", json_real(f->value));
    json_object_set_new(ev, "agent", json_string(f->agent));
    json_object_set_new(ev, "dataSource", json_string(f->ds));
    if (f->flow_key)
        json_object_set_new(ev, "flowKey", json_string(f->flow_key));
    if (f->values)
        json_object_set_new(ev, "values", json_deep_copy(f->values));
    return ev;
}

uint64_t
evt_record(evt_ctx *e, const evt_fire *f)
{
    uint64_t id;
    json_t *ev;
    int rc;

    if ((rc = evt_ids_next(e->ids, &id)) != 0) {
        if (e->st.events_lost++ == 0)
            SFA_WARN("cannot reserve event ids in %s: %s; events are dropped until it works",
                     e->cfg->state_dir, sfa_strerror(rc));
        return 0;
    }
    ev = evt_event_json(f, id, sfa_clock_wall_ms());
    if (e->pub)
        (void)evt_pub_event(e->pub, ev); /* a failure is counted by the bus */
    evt_log_append(e->log, ev);
    e->st.events++;
    SFA_FINE("event %llu: %s %s/%s %s value %g", (unsigned long long)id, f->thr->name, f->agent,
             f->ds, f->flow_key ? f->flow_key : "-", f->value);
    return id;
}

static void
evt_on_fire(const evt_fire *f, void *arg)
{
    (void)evt_record(arg, f);
}

/* ---- thresholds ---- */

/* Install specs ({name: spec} or NULL); persist them when they changed
 * and persist is set. */
static void
evt_apply_thresholds(evt_ctx *e, const json_t *specs, int persist)
{
    size_t bad = 0;
    json_t *cache;

    if (!evt_thresholds_update(e->thr, specs, &bad))
        return;
    e->st.thresholds_bad = bad;
    evt_rules_rebind(e->rules);
    SFA_INFO("thresholds: %zu active%s", evt_thresholds_count(e->thr),
             bad ? " (some invalid)" : "");
    if (!persist)
        return;
    cache = json_pack("{s:O}", "thresholds", evt_thresholds_specs(e->thr));
    if (evt_state_write(e->cfg->state_dir, EVT_CACHE_FILE, cache) != 0 && e->st.cache_errors++ == 0)
        SFA_WARN("cannot write the threshold cache in %s", e->cfg->state_dir);
    json_decref(cache);
}

/* The body of msg if it is a well-formed message of topic; new or NULL. */
static json_t *
evt_msg_body(const uint8_t *msg, size_t len, const char *topic, sfa_envelope *env)
{
    size_t tl = strlen(topic);

    if (sfa_codec_parse(msg, len, env) != 0 || env->topic_len != tl ||
        memcmp(env->topic, topic, tl) != 0)
        return NULL;
    return sfa_codec_body_json(env);
}

static void
evt_on_defs(sfa_bus *bus, const uint8_t *msg, size_t len, void *arg)
{
    evt_ctx *e = arg;
    sfa_envelope env;
    json_t *body = evt_msg_body(msg, len, EVT_TOPIC_DEFS, &env);

    (void)bus;
    e->st.defs_msgs++;
    if (!json_is_object(body)) {
        e->st.defs_bad++;
        json_decref(body);
        return;
    }
    evt_apply_thresholds(e, json_object_get(body, "thresholds"), 1);
    json_decref(body);
}

static void
evt_on_metrics(sfa_bus *bus, const uint8_t *msg, size_t len, void *arg)
{
    evt_ctx *e = arg;
    sfa_envelope env;
    json_t *body = evt_msg_body(msg, len, EVT_TOPIC_METRICS, &env);

    (void)bus;
    e->st.metrics_msgs++;
    if (!body) {
        e->st.metrics_bad++;
        return;
    }
    e->st.metrics_gaps += sfa_seqtrack_update(e->seq, &env);
    if (evt_metrics_apply(e->rules, body, sfa_clock_ms(), &e->mst) != 0)
        e->st.metrics_bad++;
    json_decref(body);
}

static void
evt_on_survey(sfa_responder *r, sfa_respond_req *req, const uint8_t *msg, size_t len, void *arg)
{
    evt_ctx *e = arg;
    json_t *body = sfa_survey_msg_json(msg, len), *ans;

    (void)r;
    ans = evt_query_answer(e, body ? body : json_object());
    (void)sfa_respond_reply_json(req, e->cfg->id, ans);
    e->st.surveys++;
    json_decref(ans);
    json_decref(body);
}

static void
evt_on_sweep(uv_timer_t *t)
{
    evt_ctx *e = t->data;

    evt_rules_sweep(e->rules, sfa_clock_ms());
}

static void
evt_on_signal(uv_signal_t *s, int signum)
{
    SFA_INFO("Signal %d, stopping", signum);
    evt_stop(s->data);
}

json_t *
evt_stats_json(const evt_ctx *e)
{
    evt_rules_stats rs = {0};
    json_t *o = json_object();

    if (e->rules)
        evt_rules_get_stats(e->rules, &rs);
    const struct {
        const char *name;
        uint64_t v;
    } c[] = {
        {"thresholds", e->thr ? evt_thresholds_count(e->thr) : 0},
        {"thresholdsInvalid", e->st.thresholds_bad},
        {"defsMessages", e->st.defs_msgs},
        {"defsBad", e->st.defs_bad},
        {"metricsMessages", e->st.metrics_msgs},
        {"metricsBad", e->st.metrics_bad},
        {"metricsGaps", e->st.metrics_gaps},
        {"metricsEntries", e->mst.entries},
        {"metricsBadEntries", e->mst.bad_entries},
        {"observations", rs.observations},
        {"disarmed", rs.states},
        {"rearmed", rs.rearmed},
        {"staleDataSources", rs.stale},
        {"events", e->st.events},
        {"eventsLost", e->st.events_lost},
        {"eventsLogged", e->log ? evt_log_count(e->log) : 0},
        {"lastEventID", e->log ? evt_log_last_id(e->log) : 0},
        {"eventsPublished", e->pub ? evt_pub_count(e->pub) : 0},
        {"thresholdCacheErrors", e->st.cache_errors},
        {"surveys", e->st.surveys},
    };

    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        json_object_set_new(o, c[i].name, json_integer((json_int_t)c[i].v));
    return o;
}

/* ---- start and stop ---- */

/* The id mark, the threshold cache and the in-memory parts. */
static int
evt_start_state(evt_ctx *e)
{
    const evt_config *cfg = e->cfg;
    uint64_t stale = (uint64_t)cfg->interval_ms * EVT_STALE_PERIODS;
    json_t *cache = NULL;
    int rc;

    if ((rc = evt_ids_open(&e->ids, cfg->state_dir, EVT_IDS_BLOCK)) != 0) {
        SFA_SEVERE("sfa.state %s: cannot use the event id mark %s: %s", cfg->state_dir,
                   EVT_IDS_FILE, sfa_strerror(rc));
        return SFA_ECONFIG; /* a restart cannot fix it: exit 1 */
    }
    e->log = evt_log_create((size_t)cfg->events_max);
    e->thr = evt_thresholds_create();
    e->rules = evt_rules_create(e->thr, stale < EVT_STALE_MIN_MS ? EVT_STALE_MIN_MS : stale,
                                evt_on_fire, e);
    e->seq = sfa_seqtrack_create();
    rc = evt_state_read(cfg->state_dir, EVT_CACHE_FILE, &cache);
    if (rc == 0)
        evt_apply_thresholds(e, json_object_get(cache, "thresholds"), 0);
    else if (rc != -ENOENT)
        SFA_WARN("sfa.state %s: threshold cache unreadable (%s); waiting for defs.v1",
                 cfg->state_dir, sfa_strerror(rc));
    json_decref(cache);
    SFA_INFO("event ids continue after %llu",
             (unsigned long long)(evt_ids_reserved(e->ids) - EVT_IDS_BLOCK - 1));
    return 0;
}

static int
evt_start_bus(evt_ctx *e)
{
    const evt_config *cfg = e->cfg;
    static const char defs_topic[] = EVT_TOPIC_DEFS, metrics_topic[] = EVT_TOPIC_METRICS;
    int rc;

    if ((rc = evt_pub_open(&e->pub, e->loop, cfg->bus_events, cfg->id)) != 0 ||
        (rc = sfa_bus_sub_listen(&e->metrics_sub, e->loop, cfg->bus_metrics, EVT_METRICS_RCVBUF,
                                 evt_on_metrics, e)) != 0 ||
        (rc = sfa_bus_subscribe(e->metrics_sub, metrics_topic, sizeof metrics_topic)) != 0 ||
        (rc = sfa_bus_sub_open(&e->defs_sub, e->loop, cfg->bus_defs, EVT_DEFS_RCVBUF, evt_on_defs,
                               e)) != 0 ||
        (rc = sfa_bus_subscribe(e->defs_sub, defs_topic, sizeof defs_topic)) != 0 ||
        (rc = sfa_respond_open(&e->resp, e->loop, cfg->bus_query, EVT_RESPOND_CONCURRENCY,
                               evt_on_survey, e)) != 0)
        return SFA_EBUS;
    SFA_INFO("Listening, metrics %s, events %s", cfg->bus_metrics, cfg->bus_events);
    return 0;
}

/* Close every bus endpoint and handle that is open. */
static void
evt_close_parts(evt_ctx *e)
{
    sfa_bus_close(e->defs_sub);
    e->defs_sub = NULL;
    sfa_bus_close(e->metrics_sub);
    e->metrics_sub = NULL;
    sfa_respond_close(e->resp);
    e->resp = NULL;
    evt_pub_close(e->pub);
    e->pub = NULL;
    if (e->handles_open) {
        uv_close((uv_handle_t *)&e->sweep, NULL);
        uv_close((uv_handle_t *)&e->sigint, NULL);
        uv_close((uv_handle_t *)&e->sigterm, NULL);
        e->handles_open = 0;
    }
}

int
evt_start(evt_ctx *e, uv_loop_t *loop, const evt_config *cfg)
{
    int rc;

    memset(e, 0, sizeof *e);
    e->cfg = cfg;
    e->loop = loop;
    (void)uv_timer_init(loop, &e->sweep);
    (void)uv_signal_init(loop, &e->sigint);
    (void)uv_signal_init(loop, &e->sigterm);
    e->sweep.data = e->sigint.data = e->sigterm.data = e;
    e->handles_open = 1;
    if ((rc = evt_start_state(e)) != 0 || (rc = evt_start_bus(e)) != 0)
        goto fail;
    (void)uv_timer_start(&e->sweep, evt_on_sweep, EVT_SWEEP_MS, EVT_SWEEP_MS);
    (void)uv_signal_start(&e->sigint, evt_on_signal, SIGINT);
    (void)uv_signal_start(&e->sigterm, evt_on_signal, SIGTERM);
    return 0;
fail:
    e->stopping = 1;
    evt_close_parts(e);
    return rc;
}

void
evt_stop(evt_ctx *e)
{
    if (e->stopping)
        return;
    e->stopping = 1;
    evt_close_parts(e);
}

void
evt_finish(evt_ctx *e)
{
    evt_rules_destroy(e->rules);
    e->rules = NULL;
    evt_thresholds_destroy(e->thr);
    e->thr = NULL;
    evt_log_destroy(e->log);
    e->log = NULL;
    evt_ids_close(e->ids);
    e->ids = NULL;
    sfa_seqtrack_destroy(e->seq);
    e->seq = NULL;
}
