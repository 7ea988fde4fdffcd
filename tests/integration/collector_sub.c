/* collector_sub.c - a test subscriber for the collector's bus output.
 *
 * Dials every sample lane and the control publisher, subscribes to
 * flow.v1.*, counter.v1.*, stats.v1 and agents.v1, and counts: messages,
 * datagrams per kind, distinct datagrams (agent, sub-agent, sequence),
 * samples, and per-topic sequence gaps (the first message of a topic must
 * carry seq 1, so loss before the first one is seen too). Prints "READY"
 * on stdout once connected to every publisher, then one JSON summary line
 * (with the last stats.v1 and agents.v1 bodies) when --count distinct
 * datagrams were seen and one more stats.v1 arrived, or at --timeout or
 * SIGTERM.
 * Exit 0 when the count was reached, 1 otherwise. With --count-only the
 * datagrams are counted from each message's body array header without
 * decoding them (cheap enough for benchmarks; "distinct" is then the total).
 * Test tool only; it leaves with _exit once the summary is printed, so a
 * slow bus close cannot hold a test up.
 *
 *   collector_sub --samples URL --lanes N --control URL --count N --timeout S
 *                 [--count-only]
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sfa/bus.h>
#include <sfa/codec.h>
#include <sfa/log.h>
#include <sfa/mem.h>

#define SUB_MAX_LANES 64

typedef struct dkey {
    sfa_addr agent;
    uint32_t sub;
    uint32_t seq;
    int used;
} dkey;

typedef struct sub_state {
    uv_loop_t *loop;
    sfa_bus *lanes[SUB_MAX_LANES];
    int nlanes;
    sfa_bus *control;
    sfa_dgram *scratch;
    uint64_t want;
    int ready;
    int reached;
    int done;
    int count_only;
    /* counts */
    uint64_t msgs, bad_msgs, dgrams[2], samples[2], gaps, first_not_one, stats_msgs;
    uint64_t last_seq[2][SFA_BUCKETS];
    dkey *set;
    size_t set_cap, distinct;
    json_t *stats, *agents;
    uv_timer_t tick, timeout;
    uv_signal_t sigterm;
} sub_state;

static uint32_t
sub_hash(const dkey *k)
{
    uint32_t h = 2166136261u;
    const uint8_t *p = k->agent.a;

    for (int i = 0; i < 16; i++)
        h = (h ^ p[i]) * 16777619u;
    h = (h ^ k->agent.family) * 16777619u;
    h = (h ^ k->sub) * 16777619u;
    h = (h ^ k->seq) * 16777619u;
    return h;
}

static int
sub_key_eq(const dkey *a, const dkey *b)
{
    return a->agent.family == b->agent.family && memcmp(a->agent.a, b->agent.a, 16) == 0 &&
           a->sub == b->sub && a->seq == b->seq;
}

static void sub_set_add(sub_state *s, const dkey *k);

static void
sub_set_grow(sub_state *s)
{
    dkey *old = s->set;
    size_t oc = s->set_cap;

    s->set_cap = oc ? oc * 2 : 1024;
    s->set = sfa_xcalloc(s->set_cap, sizeof *s->set);
    s->distinct = 0;
    for (size_t i = 0; i < oc; i++)
        if (old[i].used)
            sub_set_add(s, &old[i]);
    free(old);
}

static void
sub_set_add(sub_state *s, const dkey *k)
{
    size_t i;

    if ((s->distinct + 1) * 2 > s->set_cap)
        sub_set_grow(s);
    for (i = sub_hash(k) & (s->set_cap - 1); s->set[i].used; i = (i + 1) & (s->set_cap - 1))
        if (sub_key_eq(&s->set[i], k))
            return;
    s->set[i] = *k;
    s->set[i].used = 1;
    s->distinct++;
}

static int
sub_on_dgram(const sfa_dgram *d, void *arg)
{
    sub_state *s = arg;
    dkey k;
    int kind = -1;

    memset(&k, 0, sizeof k);
    k.agent = d->agent;
    k.sub = d->sub_agent;
    k.seq = d->seq;
    sub_set_add(s, &k);
    for (uint32_t i = 0; i < d->nsamples; i++) {
        kind = sfa_sample_is_counter(&d->samples[i]) ? 1 : 0;
        s->samples[kind]++;
    }
    if (kind >= 0)
        s->dgrams[kind]++;
    return 0;
}

static void
sub_track_seq(sub_state *s, const sfa_envelope *env, int kind)
{
    unsigned bucket = 0;
    const char *hex = env->topic + env->topic_len - 2;
    uint64_t *last;

    if (env->topic_len < 2 || sscanf(hex, "%2x", &bucket) != 1 || bucket >= SFA_BUCKETS) {
        s->bad_msgs++;
        return;
    }
    last = &s->last_seq[kind][bucket];
    if (*last == 0 && env->seq != 1)
        s->first_not_one++;
    if (*last != 0 && env->seq > *last + 1)
        s->gaps += env->seq - *last - 1;
    *last = env->seq;
}

/* Datagrams in a sample message: the msgpack array header of its body. */
static uint64_t
sub_body_count(const sfa_envelope *env)
{
    const uint8_t *b = env->body;

    if (env->body_len >= 1 && (b[0] & 0xf0) == 0x90)
        return b[0] & 0x0f;
    if (env->body_len >= 3 && b[0] == 0xdc)
        return (uint64_t)b[1] << 8 | b[2];
    if (env->body_len >= 5 && b[0] == 0xdd)
        return (uint64_t)b[1] << 24 | (uint64_t)b[2] << 16 | (uint64_t)b[3] << 8 | b[4];
    return 0;
}

static void
sub_on_sample_msg(sfa_bus *bus, const uint8_t *msg, size_t len, void *arg)
{
    sub_state *s = arg;
    sfa_envelope env;
    int kind;

    s->msgs++;
    if (sfa_codec_parse(msg, len, &env) != 0) {
        s->bad_msgs++;
        return;
    }
    kind = env.topic_len > 8 && memcmp(env.topic, "counter.", 8) == 0 ? 1 : 0;
    sub_track_seq(s, &env, kind);
    if (s->count_only) {
        uint64_t n = sub_body_count(&env);
        s->dgrams[kind] += n;
        s->distinct += n;
        return;
    }
    if (sfa_codec_each_dgram(&env, s->scratch, sub_on_dgram, s) != 0)
        s->bad_msgs++;
}

static void sub_finish(sub_state *s, int code);

static void
sub_on_control_msg(sfa_bus *bus, const uint8_t *msg, size_t len, void *arg)
{
    sub_state *s = arg;
    sfa_envelope env;
    json_t *body;

    if (sfa_codec_parse(msg, len, &env) != 0) {
        s->bad_msgs++;
        return;
    }
    body = sfa_codec_body_json(&env);
    if (!body) {
        s->bad_msgs++;
        return;
    }
    if (env.topic_len == strlen(SFA_TOPIC_STATS) &&
        memcmp(env.topic, SFA_TOPIC_STATS, env.topic_len) == 0) {
        json_decref(s->stats);
        s->stats = body;
        s->stats_msgs++;
        if (s->reached)
            sub_finish(s, 0); /* this stats.v1 was taken after the last datagram */
    } else {
        json_decref(s->agents);
        s->agents = body;
    }
}

static void
sub_print(sub_state *s)
{
    json_t *o = json_object();
    char *text;

    json_object_set_new(o, "distinct", json_integer((json_int_t)s->distinct));
    json_object_set_new(o, "msgs", json_integer((json_int_t)s->msgs));
    json_object_set_new(o, "bad_msgs", json_integer((json_int_t)s->bad_msgs));
    json_object_set_new(o, "flow_dgrams", json_integer((json_int_t)s->dgrams[0]));
    json_object_set_new(o, "counter_dgrams", json_integer((json_int_t)s->dgrams[1]));
    json_object_set_new(o, "flow_samples", json_integer((json_int_t)s->samples[0]));
    json_object_set_new(o, "counter_samples", json_integer((json_int_t)s->samples[1]));
    json_object_set_new(o, "gaps", json_integer((json_int_t)s->gaps));
    json_object_set_new(o, "first_not_one", json_integer((json_int_t)s->first_not_one));
    json_object_set_new(o, "stats_msgs", json_integer((json_int_t)s->stats_msgs));
    json_object_set_new(o, "stats", s->stats ? json_incref(s->stats) : json_null());
    json_object_set_new(o, "agents", s->agents ? json_incref(s->agents) : json_null());
    text = json_dumps(o, JSON_COMPACT);
    printf("%s\n", text);
    fflush(stdout);
    free(text);
    json_decref(o);
}

static void
sub_finish(sub_state *s, int code)
{
    if (s->done)
        return;
    s->done = code == 0 ? 1 : 2;
    sub_print(s);
    uv_stop(s->loop);
}

static void
sub_on_tick(uv_timer_t *t)
{
    sub_state *s = t->data;
    sfa_bus_stats st;
    int connected = 1;

    for (int i = 0; i < s->nlanes; i++) {
        sfa_bus_get_stats(s->lanes[i], &st);
        if (st.pipes == 0)
            connected = 0;
    }
    sfa_bus_get_stats(s->control, &st);
    if (st.pipes == 0)
        connected = 0;
    if (connected && !s->ready) {
        s->ready = 1;
        printf("READY\n");
        fflush(stdout);
    }
    if (s->want > 0 && s->distinct >= s->want)
        s->reached = 1;
}

static void
sub_on_timeout(uv_timer_t *t)
{
    sub_finish(t->data, 1);
}

/* SIGTERM: print what was seen so far (benchmarks stop us this way). */
static void
sub_on_sigterm(uv_signal_t *h, int signum)
{
    sub_finish(h->data, 1);
}

static int
sub_open(sub_state *s, const char *samples, const char *control)
{
    char url[512];

    for (int i = 0; i < s->nlanes; i++) {
        if (sfa_bus_lane_url(url, sizeof url, samples, i, s->nlanes) != 0 ||
            sfa_bus_sub_open(&s->lanes[i], s->loop, url, 4096, sub_on_sample_msg, s) != 0 ||
            sfa_bus_subscribe(s->lanes[i], SFA_TOPIC_FLOW_PREFIX, strlen(SFA_TOPIC_FLOW_PREFIX)) ||
            sfa_bus_subscribe(s->lanes[i], SFA_TOPIC_COUNTER_PREFIX,
                              strlen(SFA_TOPIC_COUNTER_PREFIX)))
            return -1;
    }
    if (sfa_bus_sub_open(&s->control, s->loop, control, 256, sub_on_control_msg, s) != 0 ||
        sfa_bus_subscribe(s->control, SFA_TOPIC_STATS, sizeof SFA_TOPIC_STATS) != 0 ||
        sfa_bus_subscribe(s->control, SFA_TOPIC_AGENTS, sizeof SFA_TOPIC_AGENTS) != 0)
        return -1;
    return 0;
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"samples", required_argument, NULL, 's'},
        {"lanes", required_argument, NULL, 'l'},
        {"control", required_argument, NULL, 'c'},
        {"count", required_argument, NULL, 'n'},
        {"timeout", required_argument, NULL, 't'},
        {"count-only", no_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    const char *samples = NULL, *control = NULL;
    double timeout = 30;
    sub_state s;
    uv_loop_t loop;
    int c;

    memset(&s, 0, sizeof s);
    s.nlanes = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            samples = optarg;
            break;
        case 'l':
            s.nlanes = atoi(optarg);
            break;
        case 'c':
            control = optarg;
            break;
        case 'n':
            s.want = strtoull(optarg, NULL, 10);
            break;
        case 't':
            timeout = atof(optarg);
            break;
        case 'o':
            s.count_only = 1;
            break;
        default:
            return 2;
        }
    }
    if (!samples || !control || s.nlanes < 1 || s.nlanes > SUB_MAX_LANES) {
        fprintf(stderr, "usage: collector_sub --samples URL --lanes N --control URL "
                        "--count N --timeout S\n");
        return 2;
    }
    sfa_log_init("collector_sub", SFA_LOG_WARNING);
    uv_loop_init(&loop);
    s.loop = &loop;
    s.scratch = sfa_xcalloc(1, sizeof *s.scratch);
    if (sub_open(&s, samples, control) != 0) {
        fprintf(stderr, "collector_sub: cannot open subscribers\n");
        return 2;
    }
    uv_timer_init(&loop, &s.tick);
    uv_timer_init(&loop, &s.timeout);
    s.tick.data = s.timeout.data = &s;
    uv_timer_start(&s.tick, sub_on_tick, 20, 20);
    uv_timer_start(&s.timeout, sub_on_timeout, (uint64_t)(timeout * 1000), 0);
    uv_signal_init(&loop, &s.sigterm);
    s.sigterm.data = &s;
    uv_signal_start(&s.sigterm, sub_on_sigterm, SIGTERM);
    uv_run(&loop, UV_RUN_DEFAULT);
    /* The summary is out; skip the bus close (nng_close can wait on peers). */
    fflush(stdout);
    _exit(s.done == 1 ? 0 : 1);
}
