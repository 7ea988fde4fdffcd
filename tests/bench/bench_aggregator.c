/* bench_aggregator.c - how many flow samples one aggregator absorbs (an
 * executable, not a test: timing never goes into tests).
 *
 * Builds bus messages the way the collector publishes them (sfa_batch:
 * 12 datagrams of 8 Ethernet/IPv4/TCP samples of about 30 fields each per
 * message; 64 agents with 4 data sources each; 20,000 distinct address
 * pairs), then feeds them straight into agg_ingest_msg in a loop, so the
 * number covers envelope parsing, sequence tracking, datagram decoding,
 * flow definition evaluation and the table updates - everything but the
 * socket. Printed:
 *   - the bus decode alone (sfa_codec_parse + sfa_codec_each_dgram of the
 *     same messages, a callback that only counts): ns per sample;
 *   - samples/s per core (thread CPU time) with 0 (decode and ingest
 *     bookkeeping only), 1 and 10 flow definitions;
 *   - samples/s of 2 aggregator processes at once, each with its half of
 *     the agents (wall time; the machine has 2 cores);
 *   - bytes per tracked key, from the table's own accounting and from the
 *     process RSS growth while 1,000,000 keys are inserted.
 * Usage: bench_aggregator [SECONDS [NDEFS]]
 *   SECONDS per measurement (default 2); with NDEFS only the one-aggregator
 *   measurement with that many definitions runs (for profiling), or with
 *   -1 only the decode.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sfa/log.h>
#include <sfa/mem.h>

#include "agg.h"
#include "flow_sample.h"

#define BENCH_AGENTS 64
#define BENCH_DGRAMS_PER_MSG 12
#define BENCH_SAMPLES_PER_DGRAM 8
#define BENCH_MSGS 512
#define BENCH_PAIRS 20000
#define BENCH_MSG_CAP (64 * 1024)

typedef struct bench_msg {
    uint8_t *buf;
    size_t len;
    int agent;
} bench_msg;

static bench_msg msgs[BENCH_MSGS];

static double
bench_cpu(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
bench_wall(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t
bench_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* One message of agent a's datagrams. */
static void
bench_build_msg(bench_msg *m, int a)
{
    char agent[32], topic[SFA_TOPIC_MAX], src[32], dst[32];
    sfa_batch b;
    sfa_dgram *d;

    snprintf(agent, sizeof agent, "192.0.%d.%d", 2 + a / 200, 1 + a % 200);
    d = fs_dgram_new(agent);
    m->buf = sfa_xmalloc(BENCH_MSG_CAP);
    m->agent = a;
    sfa_topic_samples(topic, SFA_KIND_FLOW, sfa_bucket_of(&d->agent));
    if (sfa_batch_begin(&b, m->buf, BENCH_MSG_CAP, topic, "bench-collector") != 0)
        abort();
    for (int g = 0; g < BENCH_DGRAMS_PER_MSG; g++) {
        d->nsamples = d->nfields = d->arena_used = 0;
        for (int i = 0; i < BENCH_SAMPLES_PER_DGRAM; i++) {
            uint32_t p = bench_rand() % BENCH_PAIRS;

            snprintf(src, sizeof src, "10.%u.%u.%u", p % 7, (p / 7) % 251, 1 + p % 199);
            snprintf(dst, sizeof dst, "172.16.%u.%u", (p / 13) % 256, 1 + p % 241);
            fs_tcp4(d, 1 + bench_rand() % 4, 1000, src, dst, 1024 + p % 60000, p % 3 ? 443 : 80,
                    64 + bench_rand() % 1400);
        }
        if (sfa_batch_add(&b, d, SFA_KIND_FLOW) != 0)
            abort();
    }
    m->len = sfa_batch_finish(&b, 1, 1700000000000ull);
    free(d);
}

static const char *const bench_flows[] = {
    "\"pairs\":{\"keys\":\"ipsource,ipdestination\",\"value\":\"bytes\"}",
    "\"src\":{\"keys\":\"ipsource\",\"value\":\"frames\"}",
    "\"dst\":{\"keys\":\"ipdestination\",\"value\":\"bytes\"}",
    "\"tuple\":{\"keys\":\"ipsource,ipdestination,ipprotocol,tcpsourceport,tcpdestinationport\","
    "\"value\":\"bytes\",\"filter\":\"ipprotocol=6\"}",
    "\"ports\":{\"keys\":\"tcpdestinationport\",\"value\":\"frames\"}",
    "\"macs\":{\"keys\":\"macsource,macdestination\",\"value\":\"bytes\"}",
    "\"dscp\":{\"keys\":\"ipdscp\",\"value\":\"bytes\",\"values\":\"frames\"}",
    "\"web\":{\"keys\":\"ipdestination\",\"value\":\"bytes\",\"filter\":\"tcpdestinationport="
    "443\"}",
    "\"total\":{\"value\":\"bytes\"}",
    "\"ifs\":{\"keys\":\"inputifindex,outputifindex\",\"value\":\"frames\"}",
};

static void
bench_apply_defs(agg_core *c, int ndefs)
{
    char text[4096];
    size_t n = (size_t)snprintf(text, sizeof text,
                                "{\"version\":%d,\"members\":[\"bench\"],\"flows\":{", ndefs + 1);
    json_t *body;

    for (int i = 0; i < ndefs; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%s%s", i ? "," : "", bench_flows[i]);
    snprintf(text + n, sizeof text - n, "}}");
    body = json_loads(text, 0, NULL);
    if (!body || agg_defs_apply(c, body, agg_now()) < 0 || c->ndefs != (size_t)ndefs) {
        fprintf(stderr, "bad definitions %s\n", text);
        exit(1);
    }
    json_decref(body);
}

/* The same messages go round again and again; their seq stays 1, which
 * sequence tracking takes for a restarted publisher (no gap counted). */
static void
bench_feed(agg_core *c, const bench_msg *m)
{
    agg_ingest_msg(c, m->buf, m->len, agg_now());
}

/* Ingest the messages of agents with (agent % parts == part) for about
 * secs seconds; returns samples per CPU second (and per wall second). */
static double
bench_run(agg_core *c, double secs, int part, int parts, double *wall_rate)
{
    uint64_t samples = c->st.samples_in;
    double t0 = bench_cpu(), w0 = bench_wall(), t1;

    do {
        for (int r = 0; r < 16; r++)
            for (int i = 0; i < BENCH_MSGS; i++)
                if (msgs[i].agent % parts == part)
                    bench_feed(c, &msgs[i]);
        t1 = bench_cpu();
    } while (t1 - t0 < secs);
    if (wall_rate)
        *wall_rate = (double)(c->st.samples_in - samples) / (bench_wall() - w0);
    return (double)(c->st.samples_in - samples) / (t1 - t0);
}

static void
bench_core(agg_core *c, agg_config *cfg, int ndefs)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->maxkeys = 100000;
    cfg->maxsources = 65536;
    cfg->aggregator_id = "bench";
    agg_core_init(c, cfg, agg_now());
    memset(c->owned, 1, sizeof c->owned);
    if (ndefs > 0)
        bench_apply_defs(c, ndefs);
}

static int
bench_count_cb(const sfa_dgram *d, void *arg)
{
    *(uint64_t *)arg += d->nsamples;
    return 0;
}

/* The decode alone, over the same messages in the same order. */
static void
bench_decode(double secs)
{
    sfa_dgram *scratch = sfa_xmalloc(sizeof *scratch);
    uint64_t samples = 0;
    double t0 = bench_cpu(), t1;

    do {
        for (int i = 0; i < BENCH_MSGS; i++) {
            sfa_envelope env;
            if (sfa_codec_parse(msgs[i].buf, msgs[i].len, &env) != 0 ||
                sfa_codec_each_dgram(&env, scratch, bench_count_cb, &samples) != 0)
                abort();
        }
        t1 = bench_cpu();
    } while (t1 - t0 < secs);
    printf("bus decode alone: %.0f ns/sample (%.2f M samples/s per core)\n",
           (t1 - t0) * 1e9 / (double)samples, (double)samples / (t1 - t0) / 1e6);
    free(scratch);
}

static void
bench_single(double secs, const int *ndefs, size_t nn)
{
    for (size_t k = 0; k < nn; k++) {
        agg_config cfg;
        agg_core c;
        agg_table_stats st;
        double rate;

        bench_core(&c, &cfg, ndefs[k]);
        (void)bench_run(&c, 0.3, 0, 1, NULL); /* warm the tables */
        rate = bench_run(&c, secs, 0, 1, NULL);
        agg_core_table_totals(&c, &st);
        printf("1 aggregator, %2d flow definitions: %8.0f samples/s per core (%.0f ns/sample)"
               ", %llu keys tracked, %llu evictions\n",
               ndefs[k], rate, 1e9 / rate, (unsigned long long)st.keys,
               (unsigned long long)st.evictions);
        agg_core_fini(&c);
    }
}

/* Two processes, each its half of the agents, at the same time. */
static void
bench_two(double secs, int ndefs)
{
    int fds[2][2];
    pid_t pid[2];
    double total = 0, cpu = 0;

    for (int p = 0; p < 2; p++) {
        if (pipe(fds[p]) != 0 || (pid[p] = fork()) < 0) {
            perror("fork");
            exit(1);
        }
        if (pid[p] == 0) {
            agg_config cfg;
            agg_core c;
            double r[2] = {0, 0};

            close(fds[p][0]);
            bench_core(&c, &cfg, ndefs);
            (void)bench_run(&c, 0.3, p, 2, NULL);
            r[0] = bench_run(&c, secs, p, 2, &r[1]);
            if (write(fds[p][1], r, sizeof r) != (ssize_t)sizeof r)
                _exit(1);
            _exit(0);
        }
        close(fds[p][1]);
    }
    for (int p = 0; p < 2; p++) {
        double r[2] = {0, 0};

        if (read(fds[p][0], r, sizeof r) == (ssize_t)sizeof r) {
            cpu += r[0];
            total += r[1];
        }
        close(fds[p][0]);
        (void)waitpid(pid[p], NULL, 0);
    }
    printf("2 aggregators (processes), %2d flow definitions: %8.0f samples/s together by wall "
           "time, %8.0f if each had a core (sum of per-process CPU rates)\n",
           ndefs, total, cpu);
}

static long
bench_rss_kb(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static void
bench_memory(void)
{
    json_t *spec = json_loads("{\"keys\":\"ipsource,ipdestination\",\"value\":\"bytes\"}", 0, NULL);
    sfa_flowdef *fd = NULL;
    char err[256], key[64];
    double vals[SFA_FLOWDEF_MAX_VALUES] = {1500};
    const uint32_t n = 1000000;
    agg_table *t;
    agg_table_stats st;
    long rss0;
    size_t keybytes = 0;

    if (!spec || sfa_flowdef_compile(spec, &fd, err, sizeof err) != 0)
        exit(1);
    rss0 = bench_rss_kb();
    t = agg_table_create(fd, n, agg_now());
    agg_table_at(t, agg_now());
    for (uint32_t i = 0; i < n; i++) {
        int len = snprintf(key, sizeof key, "10.%u.%u.%u,172.16.%u.%u", i >> 16 & 255, i >> 8 & 255,
                           i & 255, i % 251, i % 239);

        keybytes += (size_t)len;
        agg_table_add(t, i % 16, key, (size_t)len, vals);
    }
    agg_table_get_stats(t, &st);
    printf("memory: %llu keys (IPv4 pair keys, %.1f bytes of text on average, 1 value): "
           "%.0f bytes per key by table accounting, %.0f bytes per key by RSS growth\n",
           (unsigned long long)st.keys, (double)keybytes / n, (double)st.bytes / (double)st.keys,
           (double)(bench_rss_kb() - rss0) * 1024.0 / (double)st.keys);
    agg_table_destroy(t);
    sfa_flowdef_destroy(fd);
    json_decref(spec);
}

int
main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 2.0;

    sfa_log_init("bench", SFA_LOG_WARNING); /* no "flow added" lines */
    if (secs <= 0)
        secs = 2.0;
    for (int i = 0; i < BENCH_MSGS; i++)
        bench_build_msg(&msgs[i], i % BENCH_AGENTS);
    printf("%d messages of %d datagrams x %d samples (%zu bytes each), %d agents, %d pairs\n",
           BENCH_MSGS, BENCH_DGRAMS_PER_MSG, BENCH_SAMPLES_PER_DGRAM, msgs[0].len, BENCH_AGENTS,
           BENCH_PAIRS);
    if (argc > 2) {
        int only = atoi(argv[2]);

        if (only < 0)
            bench_decode(secs);
        else
            bench_single(secs, &only, 1);
        goto out;
    }
    bench_decode(secs);
    bench_single(secs, (const int[]){0, 1, 10}, 3);
    bench_two(secs, 1);
    bench_two(secs, 10);
    bench_memory();
out:
    for (int i = 0; i < BENCH_MSGS; i++)
        free(msgs[i].buf);
    return 0;
}
