/* capture_test.c - conformance of the decoder against a capture's ground truth.
 *
 * Usage: capture_test FILE.pcap [FILE.pcap.expected.json]
 *
 * Reads the capture with libpcap, extracts every UDP datagram sent to port
 * 6343 with col_pcap_frame_udp(), decodes it with col_sflow_decode(), and
 * recomputes every number of the expected file's `truth` block the way its
 * `definitions` block describes (datagrams, versions, agents, samples,
 * record types, sampling rates, sampled headers, top IP pairs, last
 * if_counters per agent|ifIndex), plus the parts of the `capture` block a
 * reader without IP reassembly can compute (frames, link types, ports,
 * fragments, non-sFlow frames, per-agent sequence accounting, frames with
 * structural problems). The computed values are built as a JSON document of
 * the same shape and compared with jansson, one TAP line per value, each
 * showing what was expected and what was computed.
 *
 * The classification of sampled headers uses the decoder's own output: the
 * first "ip" or "ip6" layer of the "stack" field and the outer address
 * fields of the same header record.
 */
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "pcap_frame.h"
#include "sflow_decode.h"
#include "test.h"

#define SFLOW_PORT 6343
#define TOP_PAIRS 10
#define SEQ_GAP_MAX 10000 /* a forward step up to this is a gap, beyond a discontinuity */

/* Everything computed while reading the capture. */
typedef struct cap {
    json_t *truth;      /* same shape as the expected truth block */
    json_t *capture;    /* the comparable parts of the capture block */
    json_t *agents_sub; /* agent -> {sub-agent text: true} */
    json_t *subs;       /* {sub-agent text: true} */
    json_t *pairs;      /* "src dst" -> [src, dst, scaled_bytes, headers] */
    json_t *uptimes;    /* "agent/sub" -> last uptime */
    json_t *problems;   /* frames with a decode problem or trailing bytes */
    col_decode_stats st;
    uint64_t frame; /* 1-based frame number of the current frame */
} cap;

static sfa_dgram dgram; /* large; reused for every datagram */

/* ---- small JSON helpers ---- */

static void
jinc(json_t *obj, const char *key, json_int_t by)
{
    json_t *v = json_object_get(obj, key);
    json_object_set_new(obj, key, json_integer((v ? json_integer_value(v) : 0) + by));
}

static json_t *
jchild(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        v = json_object();
        json_object_set_new(obj, key, v);
    }
    return v;
}

static void
tag_text(uint32_t tag, char *out, size_t n)
{
    snprintf(out, n, "%u:%u", tag >> 12, tag & 0xFFFu);
}

static int
cmp_json_int(const void *a, const void *b)
{
    json_int_t x = json_integer_value(*(json_t *const *)a);
    json_int_t y = json_integer_value(*(json_t *const *)b);
    return x < y ? -1 : x > y;
}

/* {"2": true, "10": true} -> [2, 10] (numeric order). */
static json_t *
set_to_sorted_array(json_t *set)
{
    size_t n = json_object_size(set), i = 0;
    json_t **v = calloc(n ? n : 1, sizeof *v);
    json_t *arr = json_array();

    for (void *it = json_object_iter(set); it; it = json_object_iter_next(set, it))
        v[i++] = json_integer(strtoll(json_object_iter_key(it), NULL, 10));
    qsort(v, n, sizeof *v, cmp_json_int);
    for (i = 0; i < n; i++)
        json_array_append_new(arr, v[i]);
    free(v);
    return arr;
}

/* ---- per-datagram accounting ---- */

/* The datagram header was read completely (agent, sub-agent, sequence, uptime, count). */
static int
header_complete(const sfa_dgram *d)
{
    return d->agent.family != 0 && !(d->status == SFA_ETRUNC && d->nsamples_declared == 0);
}

/* Sequence accounting per agent/sub-agent, as the expected file defines it. */
static void
account_sequence(cap *c, const sfa_dgram *d, const char *agent)
{
    char key[80];
    json_t *seq = jchild(c->capture, "sequence");
    snprintf(key, sizeof key, "%s/%u", agent, d->sub_agent);
    json_t *e = json_object_get(seq, key);

    if (!e) {
        e = json_pack("{sIsIsIsIsIsIsI}", "datagrams", (json_int_t)1, "first", (json_int_t)d->seq,
                      "last", (json_int_t)d->seq, "gaps", (json_int_t)0, "missing", (json_int_t)0,
                      "discontinuities", (json_int_t)0, "uptime_decreases", (json_int_t)0);
        json_object_set_new(seq, key, e);
        json_object_set_new(c->uptimes, key, json_integer(d->uptime));
        return;
    }
    uint32_t last = (uint32_t)json_integer_value(json_object_get(e, "last"));
    uint32_t step = d->seq - last;
    uint32_t up = (uint32_t)json_integer_value(json_object_get(c->uptimes, key));
    jinc(e, "datagrams", 1);
    if (step >= 2 && step <= SEQ_GAP_MAX) {
        jinc(e, "gaps", 1);
        jinc(e, "missing", step - 1);
    } else if (step != 1) {
        jinc(e, "discontinuities", 1);
    }
    if (d->uptime < up)
        jinc(e, "uptime_decreases", 1);
    json_object_set_new(e, "last", json_integer(d->seq));
    json_object_set_new(c->uptimes, key, json_integer(d->uptime));
}

static void
account_agent(cap *c, const sfa_dgram *d)
{
    char agent[64], sub[16];

    if (d->agent.family == 0)
        return;
    sfa_addr_format(&d->agent, agent);
    snprintf(sub, sizeof sub, "%u", d->sub_agent);
    json_t *a = jchild(jchild(c->truth, "agents"), agent);
    jinc(a, "datagrams", 1);
    json_object_set_new(jchild(c->agents_sub, agent), sub, json_true());
    json_object_set_new(c->subs, sub, json_true());
    if (header_complete(d))
        account_sequence(c, d, agent);
}

/* One sampled header record: its fields run from index lo to hi (exclusive). */
static void
account_header(cap *c, const sfa_dgram *d, const sfa_sample *s, uint32_t lo, uint32_t hi)
{
    json_t *sh = jchild(c->truth, "sampled_headers");
    const sfa_field *src = NULL, *dst = NULL;
    uint64_t frame_length = 0;
    int cls = 0; /* 0 other, 4, 6 */
    char key[24];

    for (uint32_t i = lo; i < hi; i++) {
        const sfa_field *f = &d->fields[i];
        if (f->id == SFA_F_HEADER_PROTOCOL) {
            snprintf(key, sizeof key, "%llu", (unsigned long long)f->v.u);
            jinc(jchild(sh, "header_protocols"), key, 1);
        } else if (f->id == SFA_F_FRAME_LENGTH) {
            frame_length = f->v.u;
        } else if (f->id == SFA_F_STACK) {
            /* The first ip/ip6 layer is the outermost IP header. */
            const char *p = (const char *)f->v.p, *end = p + f->n;
            while (p < end && !cls) {
                const char *dot = memchr(p, '.', (size_t)(end - p));
                size_t len = dot ? (size_t)(dot - p) : (size_t)(end - p);
                if (len == 2 && memcmp(p, "ip", 2) == 0)
                    cls = 4;
                else if (len == 3 && memcmp(p, "ip6", 3) == 0)
                    cls = 6;
                p += len + 1;
            }
        } else if (f->id == SFA_F_IPSOURCE || f->id == SFA_F_IP6SOURCE) {
            if (!src)
                src = f;
        } else if (f->id == SFA_F_IPDESTINATION || f->id == SFA_F_IP6DESTINATION) {
            if (!dst)
                dst = f;
        }
    }
    jinc(sh, "total", 1);
    jinc(sh, cls == 4 ? "ipv4" : cls == 6 ? "ipv6" : "other", 1);
    if (!cls || !src || !dst || src->type != (cls == 4 ? SFA_T_IP4 : SFA_T_IP6) ||
        dst->type != src->type)
        return;

    sfa_addr a = {.family = (uint8_t)cls}, b = {.family = (uint8_t)cls};
    char ta[64], tb[64], pk[140];
    memcpy(a.a, src->v.a, cls == 4 ? 4 : 16);
    memcpy(b.a, dst->v.a, cls == 4 ? 4 : 16);
    sfa_addr_format(&a, ta);
    sfa_addr_format(&b, tb);
    snprintf(pk, sizeof pk, "%s %s", ta, tb);
    json_t *e = json_object_get(c->pairs, pk);
    json_int_t bytes = (json_int_t)(frame_length * s->rate);
    if (!e) {
        json_object_set_new(c->pairs, pk, json_pack("[ssII]", ta, tb, bytes, (json_int_t)1));
        return;
    }
    json_array_set_new(e, 2, json_integer(json_integer_value(json_array_get(e, 2)) + bytes));
    json_array_set_new(e, 3, json_integer(json_integer_value(json_array_get(e, 3)) + 1));
}

/* Flow sample (0:1 / 0:3): split its fields at each header_protocol. */
static void
account_headers(cap *c, const sfa_dgram *d, const sfa_sample *s)
{
    uint32_t end = s->field_first + s->field_count, start = end;

    for (uint32_t i = s->field_first; i < end; i++) {
        if (d->fields[i].id != SFA_F_HEADER_PROTOCOL)
            continue;
        if (start < i)
            account_header(c, d, s, start, i);
        start = i;
    }
    if (start < end)
        account_header(c, d, s, start, end);
}

/* Counter sample: every if_counters record (it starts with ifindex). */
static void
account_if_counters(cap *c, const sfa_dgram *d, const sfa_sample *s)
{
    char agent[64], key[96];
    json_t *last = jchild(c->truth, "if_counters_last");
    json_t *e = NULL;

    sfa_addr_format(&d->agent, agent);
    for (uint32_t i = s->field_first; i < s->field_first + s->field_count; i++) {
        const sfa_field *f = &d->fields[i];
        if (f->id == SFA_F_IFINDEX) {
            snprintf(key, sizeof key, "%s|%llu", agent, (unsigned long long)f->v.u);
            e = json_object();
            json_object_set_new(e, "sub_agent_id", json_integer(d->sub_agent));
            json_object_set_new(e, "frame", json_integer((json_int_t)c->frame));
            json_object_set_new(last, key, e);
        } else if (e && f->type == SFA_T_U && f->id > SFA_F_IFINDEX &&
                   f->id <= SFA_F_IFPROMISCUOUSMODE) {
            /* Store under the lowercase name; compared case-insensitively. */
            json_object_set_new(e, sfa_field_name(f->id), json_integer((json_int_t)f->v.u));
        }
    }
}

static void
account_samples(cap *c, const sfa_dgram *d)
{
    static const char *const kind[6] = {
        NULL, "flow", "counter", "expanded_flow", "expanded_counter", "discard"};
    json_t *samples = jchild(c->truth, "samples");
    char key[32];

    for (uint32_t i = 0; i < d->nsamples; i++) {
        const sfa_sample *s = &d->samples[i];
        int flowish = sfa_sample_is_flow(s) || s->tag == SFA_SAMPLE_DISCARD;
        if (s->tag >= 1 && s->tag <= 5) {
            jinc(samples, kind[s->tag], 1);
        } else {
            tag_text(s->tag, key, sizeof key);
            jinc(jchild(samples, "other"), key, 1);
        }
        json_t *rt = jchild(c->truth, flowish ? "flow_record_types" : "counter_record_types");
        for (uint32_t r = s->rec_first; r < s->rec_first + s->rec_count; r++) {
            tag_text(d->rec_tags[r], key, sizeof key);
            jinc(rt, key, 1);
        }
        if (sfa_sample_is_flow(s)) {
            snprintf(key, sizeof key, "%u", s->rate);
            jinc(jchild(c->truth, "sampling_rates"), key, 1);
            account_headers(c, d, s);
        } else if (sfa_sample_is_counter(s)) {
            account_if_counters(c, d, s);
        }
    }
}

/* ---- per-frame ---- */

static void
account_frame(cap *c, int linktype, const uint8_t *data, size_t caplen)
{
    col_pcap_udp u;
    char key[16];

    snprintf(key, sizeof key, "%d", linktype);
    jinc(jchild(c->capture, "link_types"), key, 1);
    if (col_pcap_frame_udp(linktype, data, caplen, &u) != 0)
        return;
    if (u.flags & COL_PCAP_FRAGMENT) {
        jinc(c->capture, "ip_fragment_frames", 1);
        return;
    }
    if (u.dst_port != SFLOW_PORT)
        return;

    sfa_dgram *d = &dgram;
    uint64_t trailing = c->st.trailing_bytes;
    d->src = u.src;
    d->src_port = u.src_port;
    d->rx_ms = 0;
    int rc = col_sflow_decode(u.payload, u.len, d, &c->st);
    if (rc == SFA_EFORMAT && d->version == 0) {
        json_array_append_new(json_object_get(c->capture, "udp_6343_frames_not_sflow"),
                              json_integer((json_int_t)c->frame));
        return;
    }
    snprintf(key, sizeof key, "%u", u.dst_port);
    jinc(jchild(c->capture, "sflow_dst_ports"), key, 1);
    if ((rc != 0 && rc != SFA_EVERSION) || c->st.trailing_bytes != trailing ||
        (u.flags & COL_PCAP_TRUNCATED))
        json_array_append_new(c->problems, json_integer((json_int_t)c->frame));
    jinc(c->truth, "datagrams", 1);
    snprintf(key, sizeof key, "%u", d->version);
    jinc(jchild(c->truth, "versions"), key, 1);
    account_agent(c, d);
    account_samples(c, d);
}

static int
read_capture(cap *c, const char *path)
{
    char err[PCAP_ERRBUF_SIZE];
    struct pcap_pkthdr *h;
    const u_char *data;
    pcap_t *p = pcap_open_offline(path, err);
    int rc;

    if (!p) {
        printf("# pcap_open_offline(%s): %s\n", path, err);
        return -1;
    }
    int linktype = pcap_datalink(p);
    while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
        c->frame++;
        account_frame(c, linktype, data, h->caplen);
    }
    if (rc == PCAP_ERROR)
        printf("# pcap_next_ex: %s\n", pcap_geterr(p));
    pcap_close(p);
    return rc == PCAP_ERROR_BREAK ? 0 : -1;
}

/* ---- final shaping ---- */

static int
cmp_pair(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    json_int_t bx = json_integer_value(json_array_get(x, 2));
    json_int_t by = json_integer_value(json_array_get(y, 2));
    if (bx != by)
        return bx > by ? -1 : 1;
    int r =
        strcmp(json_string_value(json_array_get(x, 0)), json_string_value(json_array_get(y, 0)));
    if (r)
        return r;
    return strcmp(json_string_value(json_array_get(x, 1)), json_string_value(json_array_get(y, 1)));
}

static void
finish_pairs(cap *c)
{
    size_t n = json_object_size(c->pairs), i = 0;
    json_t **v = calloc(n ? n : 1, sizeof *v);
    json_t *top = json_array();

    for (void *it = json_object_iter(c->pairs); it; it = json_object_iter_next(c->pairs, it))
        v[i++] = json_object_iter_value(it);
    qsort(v, n, sizeof *v, cmp_pair);
    for (i = 0; i < n && i < TOP_PAIRS; i++)
        json_array_append_new(top, json_pack("{sOsOsOsO}", "src", json_array_get(v[i], 0), "dst",
                                             json_array_get(v[i], 1), "scaled_bytes",
                                             json_array_get(v[i], 2), "headers",
                                             json_array_get(v[i], 3)));
    free(v);
    json_object_set_new(c->truth, "top_ip_pairs", top);
    json_object_set_new(c->truth, "distinct_ip_pairs", json_integer((json_int_t)n));
}

static void
finish(cap *c)
{
    json_t *agents = json_object_get(c->truth, "agents");

    for (void *it = json_object_iter(c->agents_sub); it;
         it = json_object_iter_next(c->agents_sub, it))
        json_object_set_new(json_object_get(agents, json_object_iter_key(it)), "sub_agent_ids",
                            set_to_sorted_array(json_object_iter_value(it)));
    json_object_set_new(c->truth, "sub_agent_ids", set_to_sorted_array(c->subs));
    finish_pairs(c);
    json_object_set_new(c->capture, "frames", json_integer((json_int_t)c->frame));
}

/* ---- comparison ---- */

static void
report(int ok, const char *path, const json_t *exp, const json_t *got)
{
    char *e = exp ? json_dumps(exp, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    char *g = got ? json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    char what[512];

    snprintf(what, sizeof what, "%s: expected %.120s, got %.120s", path, e ? e : "(absent)",
             g ? g : "(absent)");
    test_report_(ok, __FILE__, __LINE__, what, ok ? NULL : "values differ");
    free(e);
    free(g);
}

static void compare(const char *path, json_t *exp, json_t *got, int loose);

/* Objects: every expected key must match; unless loose, a computed key the
 * file does not list is a failure too. Loose (the entries of
 * if_counters_last, which list only some counters) matches keys
 * case-insensitively and ignores extra computed keys. child_loose is the
 * mode for the members. */
static void
compare_object(const char *path, json_t *exp, json_t *got, int loose, int child_loose)
{
    char sub[400];

    for (void *it = json_object_iter(exp); it; it = json_object_iter_next(exp, it)) {
        const char *k = json_object_iter_key(it);
        json_t *g = json_object_get(got, k);
        for (void *gi = json_object_iter(got); !g && loose && gi;
             gi = json_object_iter_next(got, gi)) {
            if (strcasecmp(json_object_iter_key(gi), k) == 0)
                g = json_object_iter_value(gi);
        }
        snprintf(sub, sizeof sub, "%s/%s", path, k);
        compare(sub, json_object_iter_value(it), g, child_loose);
    }
    if (loose)
        return;
    for (void *it = json_object_iter(got); it; it = json_object_iter_next(got, it)) {
        const char *k = json_object_iter_key(it);
        if (json_object_get(exp, k))
            continue;
        snprintf(sub, sizeof sub, "%s/%s", path, k);
        report(0, sub, NULL, json_object_iter_value(it));
    }
}

static int
path_ends_with(const char *path, const char *suffix)
{
    size_t n = strlen(path), m = strlen(suffix);
    return n >= m && strcmp(path + n - m, suffix) == 0;
}

static void
compare(const char *path, json_t *exp, json_t *got, int loose)
{
    char sub[400];

    if (json_is_object(exp) && json_is_object(got)) {
        compare_object(path, exp, got, loose, loose || path_ends_with(path, "/if_counters_last"));
        return;
    }
    if (json_is_array(exp) && json_is_array(got)) {
        size_t ne = json_array_size(exp), ng = json_array_size(got);
        json_t *el = json_integer((json_int_t)ne), *gl = json_integer((json_int_t)ng);
        snprintf(sub, sizeof sub, "%s/length", path);
        report(ne == ng, sub, el, gl);
        json_decref(el);
        json_decref(gl);
        for (size_t i = 0; i < ne || i < ng; i++) {
            snprintf(sub, sizeof sub, "%s/%zu", path, i);
            compare(sub, json_array_get(exp, i), json_array_get(got, i), loose);
        }
        return;
    }
    report(exp && got && json_equal(exp, got), path, exp, got);
}

/* Frames the expected file lists in capture.walker_errors. */
static json_t *
walker_frames(json_t *capture)
{
    json_t *out = json_array();
    json_t *errs = json_object_get(capture, "walker_errors");

    for (size_t i = 0; i < json_array_size(errs); i++)
        json_array_append(out, json_object_get(json_array_get(errs, i), "frame"));
    return out;
}

static void
compare_all(cap *c, json_t *expected)
{
    json_t *ecap = json_object_get(expected, "capture");
    json_int_t other = 0;

    compare("truth", json_object_get(expected, "truth"), c->truth, 0);
    for (void *it = json_object_iter(c->capture); it; it = json_object_iter_next(c->capture, it)) {
        char path[128];
        const char *k = json_object_iter_key(it);
        snprintf(path, sizeof path, "capture/%s", k);
        compare(path, json_object_get(ecap, k), json_object_iter_value(it), 0);
    }
    json_t *wf = walker_frames(ecap);
    compare("capture/walker_errors(frames)", wf, c->problems, 0);
    json_decref(wf);

    /* Unknown sample types are skipped by the decoder without a sample
     * entry, so their per-tag map cannot be rebuilt; check the total. */
    json_t *eother =
        json_object_get(json_object_get(json_object_get(expected, "truth"), "samples"), "other");
    for (void *it = json_object_iter(eother); it; it = json_object_iter_next(eother, it))
        other += json_integer_value(json_object_iter_value(it));
    json_t *eo = json_integer(other), *go = json_integer((json_int_t)c->st.samples_unknown);
    report(other == (json_int_t)c->st.samples_unknown, "truth/samples/other(total)", eo, go);
    json_decref(eo);
    json_decref(go);
}

/* ---- setup ---- */

static void
cap_init(cap *c)
{
    memset(c, 0, sizeof *c);
    c->truth = json_pack(
        "{sIs{}s{}s{sIsIsIsIsIs{}}s{}s{}s{}s{sIsIsIsIs{}}s{}}", "datagrams", (json_int_t)0,
        "versions", "agents", "samples", "flow", (json_int_t)0, "expanded_flow", (json_int_t)0,
        "counter", (json_int_t)0, "expanded_counter", (json_int_t)0, "discard", (json_int_t)0,
        "other", "flow_record_types", "counter_record_types", "sampling_rates", "sampled_headers",
        "total", (json_int_t)0, "ipv4", (json_int_t)0, "ipv6", (json_int_t)0, "other",
        (json_int_t)0, "header_protocols", "if_counters_last");
    c->capture =
        json_pack("{s{}s{}sIs[]s{}}", "link_types", "sflow_dst_ports", "ip_fragment_frames",
                  (json_int_t)0, "udp_6343_frames_not_sflow", "sequence");
    c->agents_sub = json_object();
    c->subs = json_object();
    c->pairs = json_object();
    c->uptimes = json_object();
    c->problems = json_array();
}

static void
cap_fini(cap *c)
{
    json_decref(c->truth);
    json_decref(c->capture);
    json_decref(c->agents_sub);
    json_decref(c->subs);
    json_decref(c->pairs);
    json_decref(c->uptimes);
    json_decref(c->problems);
}

int
main(int argc, char **argv)
{
    char exp_path[4096];
    json_error_t jerr;
    cap c;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE.pcap [EXPECTED.json]\n", argv[0]);
        return 2;
    }
    if (argc > 2)
        snprintf(exp_path, sizeof exp_path, "%s", argv[2]);
    else
        snprintf(exp_path, sizeof exp_path, "%s.expected.json", argv[1]);
    json_t *expected = json_load_file(exp_path, 0, &jerr);
    CHECK(expected != NULL, "expected file loads");
    if (!expected) {
        printf("# %s: %s\n", exp_path, jerr.text);
        return test_done();
    }
    cap_init(&c);
    CHECK_OK(read_capture(&c, argv[1]), "capture reads to the end");
    finish(&c);
    compare_all(&c, expected);
    cap_fini(&c);
    json_decref(expected);
    return test_done();
}
