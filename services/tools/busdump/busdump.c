/* busdump.c - sfa-busdump's options and message handling (see busdump.h).
 *
 * In JSON mode each message becomes one line on the output (a malformed
 * one becomes {"error": ..., "len": N}); in count mode messages are only
 * counted per topic: messages, bytes, datagrams and samples (sample topics
 * are decoded with sfa_codec_each_dgram), sequence gaps (sfa_seqtrack) and
 * malformed messages. The per-topic table allocates when a new topic
 * appears, nothing per message. No I/O besides the output stream; loop
 * thread only.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <sfa/codec.h>
#include <sfa/mem.h>

#include "busdump.h"

/* ---- options ---- */

void
busdump_usage(FILE *out)
{
    fprintf(out, "usage: sfa-busdump [options] URL...\n"
                 "Subscribe to sfa bus publishers and print what they send: one JSON line\n"
                 "per message, or with --count the per-topic counts.\n"
                 "\n"
                 "  URL                  publisher to dial: ipc://path or tcp://host:port\n"
                 "  -u, --url URL        same as a URL argument (repeatable)\n"
                 "  -l, --lanes N        each URL is the base of N lanes (ipc://path.<i>,\n"
                 "                       tcp://host:<port+i>), as the collector publishes them\n"
                 "  -t, --topic PREFIX   subscribe to messages starting with PREFIX (repeatable;\n"
                 "                       e.g. flow.v1. for all flow buckets); default: everything\n"
                 "  -T, --exact TOPIC    subscribe to exactly TOPIC (its NUL included)\n"
                 "  -c, --count          print per-topic message/datagram/sample counts and\n"
                 "                       sequence gaps as one JSON line at exit\n"
                 "  -i, --interval S     with --count, also print the counts every S seconds\n"
                 "  -n, --max N          stop after N messages\n"
                 "  -w, --timeout S      stop after S seconds\n"
                 "  -r, --rcvbuf N       receive queue depth in messages (default 4096)\n"
                 "  -h, --help           this text\n"
                 "Exit status: 0 when stopped by --max, --timeout or a signal; 1 for a bad\n"
                 "command line; 2 when a bus cannot be opened.\n");
}

/* A non-negative number from text, or -1. */
static double
busdump_number(const char *s)
{
    char *end;
    double v = strtod(s, &end);

    return end != s && *end == '\0' && v >= 0 && v < 1e15 ? v : -1;
}

static int
busdump_bad(FILE *err, const char *what, const char *value)
{
    if (value)
        fprintf(err, "sfa-busdump: %s: %s (see --help)\n", what, value);
    else
        fprintf(err, "sfa-busdump: %s (see --help)\n", what);
    return SFA_ECONFIG;
}

static int
busdump_add_url(busdump_opts *o, const char *url, FILE *err)
{
    if (o->nurls >= BUSDUMP_MAX_URLS)
        return busdump_bad(err, "too many URLs", url);
    o->urls[o->nurls++] = url;
    return 0;
}

static int
busdump_add_prefix(busdump_opts *o, const char *p, int exact, FILE *err)
{
    if (o->nprefixes >= BUSDUMP_MAX_PREFIXES)
        return busdump_bad(err, "too many topics", p);
    o->prefixes[o->nprefixes].bytes = p;
    o->prefixes[o->nprefixes].len = strlen(p) + (exact ? 1 : 0);
    o->nprefixes++;
    return 0;
}

int
busdump_parse(busdump_opts *o, int argc, char **argv, FILE *out, FILE *err)
{
    static const struct option longs[] = {
        {"url", required_argument, NULL, 'u'},
        {"lanes", required_argument, NULL, 'l'},
        {"topic", required_argument, NULL, 't'},
        {"exact", required_argument, NULL, 'T'},
        {"count", no_argument, NULL, 'c'},
        {"interval", required_argument, NULL, 'i'},
        {"max", required_argument, NULL, 'n'},
        {"timeout", required_argument, NULL, 'w'},
        {"rcvbuf", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    double v;
    int c, rc = 0;

    memset(o, 0, sizeof *o);
    o->lanes = 1;
    o->rcvbuf = 4096;
    optind = 1;
    opterr = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, ":u:l:t:T:ci:n:w:r:h", longs, NULL)) != -1) {
        switch (c) {
        case 'u':
            rc = busdump_add_url(o, optarg, err);
            break;
        case 'l':
            v = busdump_number(optarg);
            if (v < 1 || v > 256 || v != (int)v)
                return busdump_bad(err, "--lanes must be an integer 1..256", optarg);
            o->lanes = (int)v;
            break;
        case 't':
        case 'T':
            rc = busdump_add_prefix(o, optarg, c == 'T', err);
            break;
        case 'c':
            o->count = 1;
            break;
        case 'i':
            if ((o->interval = busdump_number(optarg)) <= 0)
                return busdump_bad(err, "--interval must be a positive number of seconds", optarg);
            break;
        case 'n':
            v = busdump_number(optarg);
            if (v < 1 || v != (double)(uint64_t)v)
                return busdump_bad(err, "--max must be a positive integer", optarg);
            o->max = (uint64_t)v;
            break;
        case 'w':
            if ((o->timeout = busdump_number(optarg)) <= 0)
                return busdump_bad(err, "--timeout must be a positive number of seconds", optarg);
            break;
        case 'r':
            v = busdump_number(optarg);
            if (v < 1 || v > 1e7 || v != (int)v)
                return busdump_bad(err, "--rcvbuf must be an integer 1..10000000", optarg);
            o->rcvbuf = (int)v;
            break;
        case 'h':
            busdump_usage(out);
            return SFA_EEXIT;
        case ':':
            return busdump_bad(err, "missing value for", argv[optind - 1]);
        default:
            return busdump_bad(err, "unknown option", argv[optind - 1]);
        }
    }
    for (int i = optind; rc == 0 && i < argc; i++)
        rc = busdump_add_url(o, argv[i], err);
    if (rc == 0 && o->nurls == 0)
        rc = busdump_bad(err, "no publisher URL given", NULL);
    if (rc == 0 && o->interval > 0 && !o->count)
        rc = busdump_bad(err, "--interval needs --count", NULL);
    return rc;
}

/* ---- per-topic counts ---- */

typedef struct busdump_topic {
    char *name; /* owned; NULL marks an empty slot */
    uint64_t msgs, bytes, dgrams, samples, gaps, errors;
} busdump_topic;

struct busdump {
    FILE *out;
    int count;
    uint64_t max;
    uint64_t msgs;      /* every message handled */
    uint64_t unparsed;  /* messages without a readable topic/envelope */
    busdump_topic *tab; /* open addressing, power-of-two capacity */
    size_t cap, used;
    sfa_seqtrack *seq;
    sfa_dgram *scratch; /* decode target for counting (large: allocated once) */
};

busdump *
busdump_create(const busdump_opts *o, FILE *out)
{
    busdump *b = sfa_xcalloc(1, sizeof *b);

    b->out = out;
    b->count = o->count;
    b->max = o->max;
    b->cap = 64;
    b->tab = sfa_xcalloc(b->cap, sizeof *b->tab);
    b->seq = sfa_seqtrack_create();
    if (b->count)
        b->scratch = sfa_xmalloc(sizeof *b->scratch);
    return b;
}

void
busdump_destroy(busdump *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->cap; i++)
        free(b->tab[i].name);
    free(b->tab);
    sfa_seqtrack_destroy(b->seq);
    free(b->scratch);
    free(b);
}

static size_t
busdump_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

static void
busdump_grow(busdump *b)
{
    busdump_topic *old = b->tab;
    size_t old_cap = b->cap;

    b->cap *= 2;
    b->tab = sfa_xcalloc(b->cap, sizeof *b->tab);
    for (size_t i = 0; i < old_cap; i++) {
        if (!old[i].name)
            continue;
        size_t j = busdump_hash(old[i].name, strlen(old[i].name)) & (b->cap - 1);
        while (b->tab[j].name)
            j = (j + 1) & (b->cap - 1);
        b->tab[j] = old[i];
    }
    free(old);
}

/* The counters of topic (n bytes), created on first sight. */
static busdump_topic *
busdump_topic_get(busdump *b, const char *name, size_t n)
{
    size_t j = busdump_hash(name, n) & (b->cap - 1);

    for (;; j = (j + 1) & (b->cap - 1)) {
        busdump_topic *t = &b->tab[j];
        if (!t->name) {
            t->name = sfa_xmalloc(n + 1);
            memcpy(t->name, name, n);
            t->name[n] = '\0';
            if (++b->used * 2 > b->cap) {
                busdump_grow(b);
                return busdump_topic_get(b, name, n);
            }
            return t;
        }
        if (strncmp(t->name, name, n) == 0 && t->name[n] == '\0')
            return t;
    }
}

static int
busdump_count_cb(const sfa_dgram *d, void *arg)
{
    busdump_topic *t = arg;

    t->dgrams++;
    t->samples += d->nsamples;
    return 0;
}

static int
busdump_is_sample_topic(const sfa_envelope *env)
{
    return (env->topic_len > 5 && memcmp(env->topic, "flow.", 5) == 0) ||
           (env->topic_len > 8 && memcmp(env->topic, "counter.", 8) == 0);
}

static void
busdump_count(busdump *b, const uint8_t *msg, size_t len, const sfa_envelope *env)
{
    busdump_topic *t = busdump_topic_get(b, env->topic, env->topic_len);

    t->msgs++;
    t->bytes += len;
    t->gaps += sfa_seqtrack_update(b->seq, env);
    if (busdump_is_sample_topic(env) &&
        sfa_codec_each_dgram(env, b->scratch, busdump_count_cb, t) != 0)
        t->errors++;
}

static void
busdump_print_json(busdump *b, const uint8_t *msg, size_t len)
{
    json_t *j = sfa_codec_to_json(msg, len);

    if (!j)
        j = json_pack("{s:s, s:I}", "error", "malformed message", "len", (json_int_t)len);
    json_dumpf(j, b->out, JSON_COMPACT);
    fputc('\n', b->out);
    fflush(b->out);
    json_decref(j);
}

int
busdump_on_msg(busdump *b, const uint8_t *msg, size_t len)
{
    sfa_envelope env;
    int parsed = sfa_codec_parse(msg, len, &env) == 0;

    b->msgs++;
    if (!parsed)
        b->unparsed++;
    if (b->count) {
        if (parsed)
            busdump_count(b, msg, len, &env);
    } else {
        if (parsed)
            (void)sfa_seqtrack_update(b->seq, &env);
        busdump_print_json(b, msg, len);
    }
    return b->max && b->msgs >= b->max;
}

uint64_t
busdump_messages(const busdump *b)
{
    return b->msgs;
}

static int
busdump_topic_cmp(const void *x, const void *y)
{
    return strcmp((*(busdump_topic *const *)x)->name, (*(busdump_topic *const *)y)->name);
}

static void
busdump_set_u(json_t *o, const char *k, uint64_t v)
{
    json_object_set_new(o, k, json_integer((json_int_t)v));
}

void
busdump_report(busdump *b, uint64_t elapsed_ms)
{
    busdump_topic **sorted = sfa_xcalloc(b->used ? b->used : 1, sizeof *sorted);
    json_t *root = json_object(), *topics = json_object();
    busdump_topic total = {0};
    size_t n = 0;

    for (size_t i = 0; i < b->cap; i++) {
        if (b->tab[i].name)
            sorted[n++] = &b->tab[i];
    }
    qsort(sorted, n, sizeof *sorted, busdump_topic_cmp);
    for (size_t i = 0; i < n; i++) {
        const busdump_topic *t = sorted[i];
        json_t *o = json_object();
        busdump_set_u(o, "messages", t->msgs);
        busdump_set_u(o, "bytes", t->bytes);
        busdump_set_u(o, "datagrams", t->dgrams);
        busdump_set_u(o, "samples", t->samples);
        busdump_set_u(o, "gaps", t->gaps);
        busdump_set_u(o, "errors", t->errors);
        json_object_set_new(topics, t->name, o);
        total.msgs += t->msgs;
        total.bytes += t->bytes;
        total.dgrams += t->dgrams;
        total.samples += t->samples;
        total.gaps += t->gaps;
        total.errors += t->errors;
    }
    busdump_set_u(root, "elapsed_ms", elapsed_ms);
    busdump_set_u(root, "messages", b->msgs);
    busdump_set_u(root, "bytes", total.bytes);
    busdump_set_u(root, "datagrams", total.dgrams);
    busdump_set_u(root, "samples", total.samples);
    busdump_set_u(root, "gaps", total.gaps);
    busdump_set_u(root, "errors", total.errors + b->unparsed);
    json_object_set_new(root, "topics", topics);
    json_dumpf(root, b->out, JSON_COMPACT);
    fputc('\n', b->out);
    fflush(b->out);
    json_decref(root);
    free(sorted);
}
