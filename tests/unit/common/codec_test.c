/* codec_test.c - unit tests of the msgpack bus codec (common/src/codec*.c).
 *
 * Round trips hand-built datagrams through sfa_batch_* and back through
 * sfa_codec_parse / sfa_codec_each_dgram / sfa_codec_to_json for every
 * field type; checks rollback when a batch is full, in-place patching,
 * rejection of every truncation of a valid message, seq gap counting, the
 * bucket rule (fixed expected values so it cannot drift) and topic names.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include <sfa/codec.h>
#include <sfa/mem.h>

#include "test.h"

static const uint8_t ASPATH_WIRE[] = {
    0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0xfd, 0xe8, 0, 0, 0xfd, 0xe9, /* sequence 65000 65001 */
    0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0xfd, 0xea, 0, 0, 0xfd, 0xeb, /* set {65002,65003} */
};
static const uint8_t COMMUNITIES_WIRE[] = {0xfd, 0xe8, 0, 100, 0, 1, 0, 2};
static const uint8_t ADAPTERS_WIRE[] = {
    0,    0,    0,    7,    0,    0,    0, 2, /* ifIndex 7, two MACs */
    0x00, 0x11, 0x22, 0xaa, 0xbb, 0xcc, 0, 0, 0x02, 0, 0, 0, 0, 0x01, 0, 0,
};
static uint8_t HEADER[128];

static sfa_field *
add_field(sfa_dgram *d, sfa_sample *s, unsigned id, unsigned type)
{
    sfa_field *f = &d->fields[d->nfields++];
    memset(f, 0, sizeof *f);
    f->id = (uint16_t)id;
    f->type = (uint8_t)type;
    s->field_count++;
    return f;
}

static sfa_sample *
add_sample(sfa_dgram *d, uint32_t tag, uint32_t seq)
{
    sfa_sample *s = &d->samples[d->nsamples++];
    memset(s, 0, sizeof *s);
    s->tag = tag;
    s->seq = seq;
    s->field_first = d->nfields;
    s->rec_first = d->nrecs;
    return s;
}

/* A datagram with a flow sample carrying every scalar type, an expanded
 * flow sample, a discard sample, and a counter sample. */
static void
build_dgram(sfa_dgram *d)
{
    sfa_field *f;
    sfa_sample *s;

    memset(d, 0, offsetof(sfa_dgram, samples));
    sfa_addr_parse("10.0.0.1", &d->agent);
    sfa_addr_parse("2001:db8::7", &d->src);
    d->src_port = 40000;
    d->rx_ms = 1700000000123ull;
    d->len = 1400;
    d->version = 5;
    d->sub_agent = 3;
    d->seq = 4242;
    d->uptime = 99999;

    s = add_sample(d, SFA_SAMPLE_FLOW, 17);
    s->ds_index = 12;
    s->rate = 1024;
    s->pool = 50000;
    s->drops = 1;
    s->in_val = 12;
    s->out_fmt = 2;
    s->out_val = 7;
    d->rec_tags[d->nrecs++] = 1;
    d->rec_tags[d->nrecs++] = 1001;
    d->rec_tags[d->nrecs++] = 1003;
    s->rec_count = 3;
    s->nrecords = 3;
    f = add_field(d, s, SFA_F_HEADER_PROTOCOL, SFA_T_U);
    f->v.u = 1;
    f = add_field(d, s, SFA_F_FRAME_LENGTH, SFA_T_U);
    f->v.u = 1514;
    f = add_field(d, s, SFA_F_HEADER, SFA_T_BIN);
    f->v.p = HEADER;
    f->n = sizeof HEADER;
    f = add_field(d, s, SFA_F_STACK, SFA_T_STR);
    f->v.p = (const uint8_t *)"eth.ip.tcp";
    f->n = 10;
    f = add_field(d, s, SFA_F_MACSOURCE, SFA_T_MAC);
    memcpy(f->v.a, "\x00\x1b\x21\xab\xcd\xef", 6);
    f = add_field(d, s, SFA_F_IPSOURCE, SFA_T_IP4);
    memcpy(f->v.a, "\x0a\x01\x02\x03", 4);
    f = add_field(d, s, SFA_F_IPDESTINATION, SFA_T_IP4);
    memcpy(f->v.a, "\xc0\xa8\x64\xc8", 4);
    f = add_field(d, s, SFA_F_IP6SOURCE, SFA_T_IP6);
    inet_pton(AF_INET6, "2001:db8::1:0:0:1", f->v.a);
    f = add_field(d, s, SFA_F_IPNEXTHOPROUTER, SFA_T_IP6); /* IPv6 next hop in an IP4 slot */
    inet_pton(AF_INET6, "fe80::1", f->v.a);
    f = add_field(d, s, SFA_F_IP6FRAGM, SFA_T_BOOL);
    f->v.u = 1;
    f = add_field(d, s, SFA_F_LOAD_ONE, SFA_T_F);
    f->v.d = 0.75;
    f = add_field(d, s, SFA_F_BGPDESTINATIONASPATH, SFA_T_ASPATH);
    f->v.p = ASPATH_WIRE;
    f->n = 2;
    f = add_field(d, s, SFA_F_BGPCOMMUNITIES, SFA_T_U32S);
    f->v.p = COMMUNITIES_WIRE;
    f->n = 2;
    f = add_field(d, s, SFA_F_VLAN, SFA_T_I); /* a negative value in an unsigned slot */
    f->v.i = -5;
    f = add_field(d, s, SFA_F_OS_RELEASE, SFA_T_STR); /* not UTF-8: goes out as bin */
    f->v.p = (const uint8_t *)"\xff\xfe";
    f->n = 2;
    f = add_field(d, s, SFA_F_HOST_NAME, SFA_T_ADAPTERS); /* shape of adapters, wrong slot */
    f->v.p = ADAPTERS_WIRE;
    f->n = 1;

    s = add_sample(d, SFA_SAMPLE_FLOW_EXPANDED, 18);
    s->ds_class = 1;
    s->ds_index = 100;
    s->rate = 512;
    f = add_field(d, s, SFA_F_UUID, SFA_T_BIN);
    f->v.p = (const uint8_t *)"\x01\x02";
    f->n = 2;

    s = add_sample(d, SFA_SAMPLE_COUNTER, 5);
    s->ds_index = 3;
    f = add_field(d, s, SFA_F_IFINOCTETS, SFA_T_U);
    f->v.u = 1ull << 40;
    f = add_field(d, s, SFA_F_HOST_ADAPTERS, SFA_T_ADAPTERS);
    f->v.p = ADAPTERS_WIRE;
    f->n = 1;
    f = add_field(d, s, SFA_F_CPU_5SEC, SFA_T_I);
    f->v.i = -1;
    f = add_field(d, s, SFA_F_OPT_MODULE_TEMPERATURE, SFA_T_I);
    f->v.i = -40000;

    s = add_sample(d, SFA_SAMPLE_DISCARD, 9);
    s->ds_class = 0;
    s->ds_index = 4;
    s->drops = 2;
    s->in_val = 4;
    s->reason = 258;
    s->status = SFA_ETRUNC;
}

static json_t *
path(json_t *j, const char *p)
{
    return json_object_get(j, p);
}

static int
json_is(json_t *j, const char *want)
{
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    int ok = s && strcmp(s, want) == 0;
    if (!ok)
        printf("# got %s, want %s\n", s ? s : "(null)", want);
    free(s);
    return ok;
}

static void
test_topics_buckets(void)
{
    char t[SFA_TOPIC_MAX];
    sfa_addr a;

    CHECK_EQ(sfa_topic_samples(t, SFA_KIND_FLOW, 0x1a), 10, "flow topic length");
    CHECK_STR(t, "flow.v1.1a", "flow topic text");
    CHECK_EQ(sfa_topic_samples(t, SFA_KIND_COUNTER, 255), 13, "counter topic length");
    CHECK_STR(t, "counter.v1.ff", "counter topic text");
    sfa_topic_samples(t, SFA_KIND_FLOW, 0);
    CHECK_STR(t, "flow.v1.00", "bucket 0 has two digits");
    CHECK_EQ(sfa_topic_samples(t, 7, 1), 0, "unknown kind: empty topic");

    /* FNV-1a 32 over the address bytes, low 8 bits (proto/SCHEMA.md). */
    sfa_addr_parse("10.0.0.1", &a);
    CHECK_EQ(sfa_bucket_of(&a), 0x2c, "bucket of 10.0.0.1 (hash 0x6c506a2c)");
    sfa_addr_parse("192.168.1.1", &a);
    CHECK_EQ(sfa_bucket_of(&a), 0x07, "bucket of 192.168.1.1");
    sfa_addr_parse("172.16.0.3", &a);
    CHECK_EQ(sfa_bucket_of(&a), 0xf0, "bucket of 172.16.0.3");
    sfa_addr_parse("::1", &a);
    CHECK_EQ(sfa_bucket_of(&a), 0x72, "bucket of ::1");
    sfa_addr_parse("2001:db8::1", &a);
    CHECK_EQ(sfa_bucket_of(&a), 0xf4, "bucket of 2001:db8::1");
    memset(&a, 0, sizeof a);
    CHECK_EQ(sfa_bucket_of(&a), 0, "family 0 is bucket 0");
}

static size_t
encode_one(uint8_t *buf, size_t cap, const sfa_dgram *d, int kind, uint64_t seq)
{
    sfa_batch b;
    int rc = sfa_batch_begin(&b, buf, cap, kind == SFA_KIND_FLOW ? "flow.v1.2c" : "counter.v1.2c",
                             "collector-1");
    if (rc)
        return 0;
    if (sfa_batch_add(&b, d, kind))
        return 0;
    return sfa_batch_finish(&b, seq, 1700000000999ull);
}

static void
test_json_values(const uint8_t *msg, size_t len)
{
    json_t *j = sfa_codec_to_json(msg, len);
    CHECK(j != NULL, "to_json accepts the flow message");
    if (!j)
        return;
    CHECK(json_is(path(j, "topic"), "\"flow.v1.2c\""), "json topic");
    CHECK(json_is(path(j, "v"), "1"), "json v");
    CHECK(json_is(path(j, "src"), "\"collector-1\""), "json src");
    CHECK(json_is(path(j, "seq"), "77"), "json seq patched");
    CHECK(json_is(path(j, "ts_ms"), "1700000000999"), "json ts_ms patched");
    json_t *dg = json_array_get(path(j, "body"), 0);
    CHECK(json_is(path(dg, "agent"), "\"10.0.0.1\""), "json agent");
    CHECK(json_is(path(dg, "src"), "\"2001:db8::7\""), "json datagram src");
    CHECK(json_is(path(dg, "src_port"), "40000"), "json src_port");
    CHECK(json_is(path(dg, "rx_ms"), "1700000000123"), "json rx_ms");
    CHECK_EQ(json_array_size(path(dg, "samples")), 3, "flow kind: flow, expanded, discard");
    json_t *s0 = json_array_get(path(dg, "samples"), 0);
    json_t *f = path(s0, "fields");
    CHECK(json_is(path(s0, "kind"), "\"flow\""), "json kind flow");
    CHECK(json_is(path(s0, "expanded"), "false"), "json expanded false");
    CHECK(json_is(path(s0, "ds"), "\"12\""), "json ds of class 0");
    CHECK(json_is(path(s0, "records"), "[1,1001,1003]"), "json records");
    CHECK(json_is(path(s0, "out_fmt"), "2"), "json out_fmt");
    CHECK(json_is(path(f, "macsource"), "\"001B21ABCDEF\""), "MAC as 12 uppercase hex digits");
    CHECK(json_is(path(f, "ipsource"), "\"10.1.2.3\""), "IPv4 text");
    CHECK(json_is(path(f, "ipdestination"), "\"192.168.100.200\""), "IPv4 text, 3 digits");
    CHECK(json_is(path(f, "ip6source"), "\"2001:db8::1:0:0:1\""), "IPv6 RFC 5952 text");
    CHECK(json_is(path(f, "ipnexthoprouter"), "\"fe80::1\""), "IPv6 value in an IP4 field");
    CHECK(json_is(path(f, "ip6fragm"), "true"), "bool");
    CHECK(json_is(path(f, "load_one"), "0.75"), "float");
    CHECK(json_is(path(f, "stack"), "\"eth.ip.tcp\""), "str");
    CHECK(json_is(path(f, "os_release"), "\"fffe\""), "invalid UTF-8 str goes as bin (hex)");
    CHECK(json_is(path(f, "vlan"), "-5"), "signed int");
    CHECK(json_is(path(f, "bgpdestinationaspath"),
                  "[{\"type\":2,\"as\":[65000,65001]},{\"type\":1,\"as\":[65002,65003]}]"),
          "AS path segments");
    CHECK(json_is(path(f, "bgpcommunities"), "[4259840100,65538]"), "U32S as array of uint");
    CHECK(json_is(path(f, "host_name"),
                  "[{\"ifindex\":7,\"macs\":[\"001122AABBCC\",\"020000000001\"]}]"),
          "adapters");
    const char *hex = json_string_value(path(f, "header"));
    CHECK(hex && strlen(hex) == 256 && strncmp(hex, "00010203", 8) == 0, "bin as lowercase hex");
    json_t *s1 = json_array_get(path(dg, "samples"), 1);
    CHECK(json_is(path(s1, "ds"), "\"1.100\""), "ds of class 1");
    CHECK(json_is(path(s1, "expanded"), "true"), "expanded flow");
    json_t *s2 = json_array_get(path(dg, "samples"), 2);
    CHECK(json_is(path(s2, "kind"), "\"discard\""), "discard kind");
    CHECK(json_is(path(s2, "reason"), "258"), "discard reason");
    CHECK(json_is(path(s2, "status"), "-1000"), "sample status");
    CHECK(path(s2, "rate") == NULL, "no rate on discard samples");
    json_decref(j);
}

typedef struct rt_ctx {
    int calls;
    sfa_dgram *want;
} rt_ctx;

static const sfa_field *
find_field(const sfa_dgram *d, const sfa_sample *s, unsigned id)
{
    for (uint32_t i = 0; i < s->field_count; i++) {
        if (d->fields[s->field_first + i].id == id)
            return &d->fields[s->field_first + i];
    }
    return NULL;
}

static int
check_str_field(const sfa_field *f, const char *want)
{
    return f && f->type == SFA_T_STR && f->n == strlen(want) && memcmp(f->v.p, want, f->n) == 0;
}

static int
rt_flow_cb(const sfa_dgram *d, void *arg)
{
    rt_ctx *c = arg;
    const sfa_sample *s = &d->samples[0];
    const sfa_field *f;

    c->calls++;
    CHECK(memcmp(&d->agent, &c->want->agent, sizeof d->agent) == 0, "agent back to binary");
    CHECK(memcmp(&d->src, &c->want->src, sizeof d->src) == 0, "src back to binary (IPv6)");
    CHECK_EQ(d->src_port, 40000, "src_port");
    CHECK_EQ(d->rx_ms, 1700000000123ull, "rx_ms");
    CHECK_EQ(d->seq, 4242, "datagram seq");
    CHECK_EQ(d->sub_agent, 3, "sub_agent");
    CHECK_EQ(d->uptime, 99999, "uptime");
    CHECK_EQ(d->len, 1400, "len");
    CHECK_EQ(d->version, 5, "version");
    CHECK_EQ(d->nsamples, 3, "three flow-kind samples");
    CHECK_EQ(s->tag, SFA_SAMPLE_FLOW, "sample tag");
    CHECK_EQ(s->seq, 17, "sample seq");
    CHECK_EQ(s->rate, 1024, "rate");
    CHECK_EQ(s->pool, 50000, "pool");
    CHECK_EQ(s->out_fmt, 2, "out_fmt");
    CHECK_EQ(s->out_val, 7, "out");
    CHECK_EQ(s->rec_count, 3, "records");
    CHECK_EQ(d->rec_tags[s->rec_first + 2], 1003, "record tag order");
    f = find_field(d, s, SFA_F_HEADER);
    CHECK(f && f->type == SFA_T_BIN && f->n == 128 && memcmp(f->v.p, HEADER, 128) == 0,
          "header bin borrows the message");
    f = find_field(d, s, SFA_F_FRAME_LENGTH);
    CHECK(f && f->type == SFA_T_U && f->v.u == 1514, "uint field");
    f = find_field(d, s, SFA_F_MACSOURCE);
    CHECK(f && f->type == SFA_T_MAC && memcmp(f->v.a, "\x00\x1b\x21\xab\xcd\xef", 6) == 0,
          "MAC back to bytes");
    f = find_field(d, s, SFA_F_IPDESTINATION);
    CHECK(f && f->type == SFA_T_IP4 && memcmp(f->v.a, "\xc0\xa8\x64\xc8", 4) == 0, "IPv4 back");
    f = find_field(d, s, SFA_F_IP6SOURCE);
    CHECK(f && f->type == SFA_T_IP6 && memcmp(f->v.a, c->want->fields[7].v.a, 16) == 0,
          "IPv6 back");
    f = find_field(d, s, SFA_F_IPNEXTHOPROUTER);
    CHECK(f && f->type == SFA_T_IP6, "IPv6 next hop keeps its family");
    f = find_field(d, s, SFA_F_IP6FRAGM);
    CHECK(f && f->type == SFA_T_BOOL && f->v.u == 1, "bool back");
    f = find_field(d, s, SFA_F_LOAD_ONE);
    CHECK(f && f->type == SFA_T_F && f->v.d == 0.75, "float back");
    CHECK(check_str_field(find_field(d, s, SFA_F_STACK), "eth.ip.tcp"), "str back");
    f = find_field(d, s, SFA_F_OS_RELEASE);
    CHECK(f && f->type == SFA_T_STR && f->n == 2 && memcmp(f->v.p, "\xff\xfe", 2) == 0,
          "bin in a STR slot comes back as STR bytes");
    CHECK(
        check_str_field(find_field(d, s, SFA_F_BGPDESTINATIONASPATH), "65000-65001-{65002,65003}"),
        "AS path as text");
    CHECK(check_str_field(find_field(d, s, SFA_F_BGPCOMMUNITIES), "65000:100-1:2"),
          "communities as text");
    CHECK(find_field(d, s, SFA_F_VLAN) == NULL, "negative int in a U field is skipped");
    CHECK(find_field(d, s, SFA_F_HOST_NAME) == NULL, "array in a STR field is skipped");
    CHECK_EQ(s->field_count, 14, "every other field came back");
    CHECK_EQ(d->samples[1].tag, SFA_SAMPLE_FLOW_EXPANDED, "expanded flow tag");
    CHECK_EQ(d->samples[1].ds_class, 1, "ds_class");
    CHECK_EQ(d->samples[1].ds_index, 100, "ds_index");
    CHECK_EQ(d->samples[2].tag, SFA_SAMPLE_DISCARD, "discard tag");
    CHECK_EQ(d->samples[2].reason, 258, "discard reason");
    CHECK_EQ(d->samples[2].status, SFA_ETRUNC, "sample status");
    CHECK_EQ(d->status, 0, "datagram status");
    return 0;
}

static int
rt_counter_cb(const sfa_dgram *d, void *arg)
{
    rt_ctx *c = arg;
    const sfa_sample *s = &d->samples[0];
    const sfa_field *f;

    c->calls++;
    CHECK_EQ(d->nsamples, 1, "counter kind: one sample back");
    CHECK_EQ(s->tag, SFA_SAMPLE_COUNTER, "counter tag back");
    f = find_field(d, s, SFA_F_IFINOCTETS);
    CHECK(f && f->type == SFA_T_U && f->v.u == 1ull << 40, "64-bit counter back");
    CHECK(check_str_field(find_field(d, s, SFA_F_HOST_ADAPTERS), "7=001122AABBCC,020000000001"),
          "adapters as text");
    f = find_field(d, s, SFA_F_CPU_5SEC);
    CHECK(f && f->type == SFA_T_I && f->v.i == -1, "int back (fixint)");
    f = find_field(d, s, SFA_F_OPT_MODULE_TEMPERATURE);
    CHECK(f && f->type == SFA_T_I && f->v.i == -40000, "int back (int32)");
    return 0;
}

static void
test_round_trip(sfa_dgram *d, sfa_dgram *scratch)
{
    static uint8_t buf[65536];
    sfa_envelope env;
    rt_ctx c = {0, d};
    size_t len;

    build_dgram(d);
    len = encode_one(buf, sizeof buf, d, SFA_KIND_FLOW, 77);
    CHECK(len > 0, "flow message encoded");
    CHECK_OK(sfa_codec_parse(buf, len, &env), "parse flow message");
    CHECK_EQ(env.topic_len, 10, "topic length");
    CHECK(memcmp(env.topic, "flow.v1.2c", 10) == 0, "topic");
    CHECK(env.src_len == 11 && memcmp(env.src, "collector-1", 11) == 0, "envelope src");
    CHECK_EQ(env.seq, 77, "envelope seq");
    CHECK_EQ(env.ts_ms, 1700000000999ull, "envelope ts_ms");
    CHECK_EQ(env.v, 1, "envelope v");
    CHECK_OK(sfa_codec_each_dgram(&env, scratch, rt_flow_cb, &c), "each_dgram flow");
    CHECK_EQ(c.calls, 1, "one datagram");
    test_json_values(buf, len);

    /* The counter kind carries only the counter sample. */
    len = encode_one(buf, sizeof buf, d, SFA_KIND_COUNTER, 1);
    CHECK(len > 0 && sfa_codec_parse(buf, len, &env) == 0, "counter message");
    json_t *j = sfa_codec_to_json(buf, len);
    json_t *s = json_array_get(path(json_array_get(path(j, "body"), 0), "samples"), 0);
    CHECK_EQ(json_array_size(path(json_array_get(path(j, "body"), 0), "samples")), 1,
             "counter kind: one sample");
    CHECK(json_is(path(s, "kind"), "\"counter\""), "counter kind");
    CHECK(json_is(path(path(s, "fields"), "ifinoctets"), "1099511627776"), "64-bit counter");
    CHECK(path(s, "rate") == NULL && path(s, "reason") == NULL, "no flow keys on counters");
    CHECK(json_is(path(path(s, "fields"), "host_adapters"),
                  "[{\"ifindex\":7,\"macs\":[\"001122AABBCC\",\"020000000001\"]}]"),
          "adapters in their own field");
    CHECK(json_is(path(path(s, "fields"), "cpu_5sec"), "-1"), "int -1");
    json_decref(j);

    rt_ctx c2 = {0, d};
    CHECK_OK(sfa_codec_each_dgram(&env, scratch, rt_counter_cb, &c2), "each_dgram counter");
    CHECK_EQ(c2.calls, 1, "one counter datagram");
}

static int
count_cb(const sfa_dgram *d, void *arg)
{
    (*(int *)arg)++;
    return 0;
}

static void
test_batch_limits(sfa_dgram *d, sfa_dgram *scratch)
{
    static uint8_t buf[4096];
    sfa_batch b;
    sfa_envelope env;
    size_t before;
    int rc = 0, added = 0, seen = 0;

    build_dgram(d);
    CHECK_ERR(sfa_batch_begin(&b, buf, 20, "flow.v1.00", "x"), SFA_ELIMIT, "envelope too big");
    CHECK_OK(sfa_batch_begin(&b, buf, sizeof buf, "flow.v1.2c", "c"), "begin");
    while (rc == 0 && added < 100) {
        before = b.w.len;
        rc = sfa_batch_add(&b, d, SFA_KIND_FLOW);
        if (rc == 0)
            added++;
    }
    CHECK_ERR(rc, SFA_ELIMIT, "batch fills up");
    CHECK(added >= 2, "several datagrams fit");
    CHECK_EQ(b.w.len, before, "rollback: length unchanged");
    CHECK_EQ(b.w.err, 0, "rollback: no sticky error");
    CHECK_EQ(b.count, added, "rollback: count unchanged");
    size_t len = sfa_batch_finish(&b, 1ull << 40, 5);
    CHECK_EQ(len, before, "finish returns the length");
    CHECK_OK(sfa_codec_parse(buf, len, &env), "full batch parses");
    CHECK_EQ(env.seq, 1ull << 40, "seq patched (fixed width)");
    CHECK_EQ(env.ts_ms, 5, "ts_ms patched");
    CHECK_OK(sfa_codec_each_dgram(&env, scratch, count_cb, &seen), "full batch decodes");
    CHECK_EQ(seen, added, "datagram count patched");

    /* A datagram with nothing of the kind is not added. */
    sfa_dgram *e = d;
    e->nsamples = 1; /* only the flow sample is left */
    CHECK_OK(sfa_batch_begin(&b, buf, sizeof buf, "counter.v1.2c", "c"), "begin counter");
    before = b.w.len;
    CHECK_OK(sfa_batch_add(&b, e, SFA_KIND_COUNTER), "no counter samples: 0");
    CHECK_EQ(b.count, 0, "no counter samples: not added");
    CHECK_EQ(b.w.len, before, "no counter samples: nothing written");
    len = sfa_batch_finish(&b, 1, 1);
    CHECK_OK(sfa_codec_parse(buf, len, &env), "empty batch parses");
    seen = 0;
    CHECK_OK(sfa_codec_each_dgram(&env, scratch, count_cb, &seen), "empty batch decodes");
    CHECK_EQ(seen, 0, "empty batch has no datagrams");
}

static void
test_malformed(sfa_dgram *d, sfa_dgram *scratch)
{
    static uint8_t buf[65536];
    size_t len;
    int parse_fail = 0, each_fail = 0, json_fail = 0, crashes_none = 1;

    build_dgram(d);
    len = encode_one(buf, sizeof buf, d, SFA_KIND_FLOW, 3);
    /* Every proper prefix, in an exact-size heap copy so ASan sees over-reads. */
    for (size_t n = 0; n < len; n++) {
        uint8_t *p = sfa_xmalloc(n ? n : 1);
        sfa_envelope env;
        int seen = 0;
        memcpy(p, buf, n);
        if (sfa_codec_parse(p, n, &env) != 0)
            parse_fail++;
        else if (sfa_codec_each_dgram(&env, scratch, count_cb, &seen) != 0)
            each_fail++;
        json_t *j = sfa_codec_to_json(p, n);
        if (j)
            json_decref(j);
        else
            json_fail++;
        free(p);
    }
    CHECK_EQ(parse_fail + each_fail, (int)len,
             "every truncation is rejected by parse or each_dgram");
    CHECK(parse_fail > 0 && each_fail > 0, "parse checks the envelope, each_dgram the body");
    CHECK_EQ(json_fail, (int)len, "every truncation is rejected by to_json");

    /* Every single-byte corruption: no crash, no over-read (ASan), and the
     * decoder either accepts or returns a code. */
    static const uint8_t bad[] = {0x00, 0xc1, 0xff, 0xdd, 0xdf, 0xdb, 0xc6, 0x7f, 0x80};
    for (size_t i = 0; i < len; i++) {
        for (size_t k = 0; k < sizeof bad; k++) {
            uint8_t *p = sfa_xmalloc(len);
            sfa_envelope env;
            int seen = 0;
            memcpy(p, buf, len);
            p[i] = bad[k];
            if (sfa_codec_parse(p, len, &env) == 0) {
                int rc = sfa_codec_each_dgram(&env, scratch, count_cb, &seen);
                if (rc != 0 && rc != SFA_EFORMAT)
                    crashes_none = 0;
            }
            json_t *j = sfa_codec_to_json(p, len);
            json_decref(j);
            free(p);
        }
    }
    CHECK(crashes_none, "corruptions give 0 or SFA_EFORMAT");

    /* Trailing bytes, no NUL, bad envelope version. */
    uint8_t tmp[256];
    sfa_envelope env;
    memcpy(tmp, buf, len < 200 ? len : 200);
    CHECK_ERR(sfa_codec_parse((const uint8_t *)"flow.v1.00", 10, &env), SFA_EFORMAT, "no NUL");
    CHECK_ERR(sfa_codec_parse((const uint8_t *)"\0\x80", 2, &env), SFA_EFORMAT, "empty topic");
    static const uint8_t v2[] = "t\0\x85\xa1v\x02\xa3src\xa1x\xa3seq\x01\xa5ts_ms\x01\xa4"
                                "body\xc0";
    CHECK_ERR(sfa_codec_parse(v2, sizeof v2 - 1, &env), SFA_EVERSION, "envelope v2");
    static const uint8_t v1[] = "t\0\x85\xa1v\x01\xa3src\xa1x\xa3seq\x01\xa5ts_ms\x01\xa4"
                                "body\xc0";
    CHECK_OK(sfa_codec_parse(v1, sizeof v1 - 1, &env), "minimal envelope");
    CHECK_OK(sfa_codec_parse(v1, sizeof v1, &env),
             "trailing byte: parse leaves the body to its reader");
    CHECK(sfa_codec_body_json(&env) == NULL, "trailing byte: body_json rejects it");
    CHECK(sfa_codec_to_json(v1, sizeof v1) == NULL, "trailing byte: to_json rejects it");
    static uint8_t v1mid[] = "t\0\x85\xa1v\x01\xa4"
                             "body\xc0\xa3src\xa1x\xa3seq\x01\xa5ts_ms\x01";
    CHECK_OK(sfa_codec_parse(v1mid, sizeof v1mid - 1, &env), "body not last: parse walks it");
    CHECK_EQ(env.body_len, 1, "body not last: its length");
    v1mid[sizeof v1mid - 2] = 0xc1;
    CHECK_ERR(sfa_codec_parse(v1mid, sizeof v1mid - 1, &env), SFA_EFORMAT, "0xc1 is never valid");
    static const uint8_t nobody[] = "t\0\x84\xa1v\x01\xa3src\xa1x\xa3seq\x01\xa5ts_ms\x01";
    CHECK_ERR(sfa_codec_parse(nobody, sizeof nobody - 1, &env), SFA_EFORMAT, "missing body");
    static const uint8_t notarray[] = "t\0\x85\xa1v\x01\xa3src\xa1x\xa3seq\x01\xa5ts_ms\x01\xa4"
                                      "body\xc0";
    int seen = 0;
    CHECK_OK(sfa_codec_parse(notarray, sizeof notarray - 1, &env), "nil body parses");
    CHECK_ERR(sfa_codec_each_dgram(&env, scratch, count_cb, &seen), SFA_EFORMAT,
              "nil body is not a sample body");
    /* An array claiming 2^32-1 elements in a few bytes. */
    static const uint8_t liar[] = "t\0\x85\xa1v\x01\xa3src\xa1x\xa3seq\x01\xa5ts_ms\x01\xa4"
                                  "body\xdd\xff\xff\xff\xff\x80";
    CHECK_OK(sfa_codec_parse(liar, sizeof liar - 1, &env), "lying array count: envelope fine");
    CHECK_ERR(sfa_codec_each_dgram(&env, scratch, count_cb, &seen), SFA_EFORMAT,
              "lying array count: each_dgram rejects it at once");
    /* Deep nesting is refused by to_json, not recursed into. */
    uint8_t deep[2100];
    size_t n = 0;
    memcpy(deep,
           "t\0\x85\xa1v\x01\xa3src\xa1x\xa3seq\x01\xa5ts_ms\x01\xa4"
           "body",
           29);
    n = 29;
    for (int i = 0; i < 2000; i++)
        deep[n++] = 0x91;
    deep[n++] = 0xc0;
    CHECK_OK(sfa_codec_parse(deep, n, &env), "deep nesting parses (iterative skip)");
    CHECK(sfa_codec_to_json(deep, n) == NULL, "deep nesting refused by to_json");
}

/* A hand-packed message with a future key, a future field, a wrong-typed
 * field, and keys in a different order: the reader must take what it knows. */
static void
test_compat(sfa_dgram *scratch)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    sfa_envelope env;
    int seen = 0;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_sbuffer_write(&sb, "flow.v1.07\0", 11);
    msgpack_pack_map(&pk, 6);
    msgpack_pack_str_with_body(&pk, "body", 4);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 3);
    msgpack_pack_str_with_body(&pk, "future_key", 10);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_nil(&pk);
    msgpack_pack_map(&pk, 0);
    msgpack_pack_str_with_body(&pk, "samples", 7);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "fields", 6);
    msgpack_pack_map(&pk, 5);
    msgpack_pack_str_with_body(&pk, "zz_future_field", 15);
    msgpack_pack_str_with_body(&pk, "x", 1);
    msgpack_pack_str_with_body(&pk, "ipsource", 8);
    msgpack_pack_str_with_body(&pk, "10.9.8.7", 8);
    msgpack_pack_str_with_body(&pk, "macsource", 9);
    msgpack_pack_str_with_body(&pk, "not-a-mac", 9);
    msgpack_pack_str_with_body(&pk, "framelength", 11);
    msgpack_pack_uint8(&pk, 64); /* smallest form, not the collector's */
    msgpack_pack_str_with_body(&pk, "bgpcommunities", 14);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_str_with_body(&pk, "oops", 4);
    msgpack_pack_str_with_body(&pk, "tag", 3);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_str_with_body(&pk, "agent", 5);
    msgpack_pack_str_with_body(&pk, "192.168.1.1", 11);
    msgpack_pack_str_with_body(&pk, "v", 1);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_str_with_body(&pk, "extra", 5);
    msgpack_pack_true(&pk);
    msgpack_pack_str_with_body(&pk, "ts_ms", 5);
    msgpack_pack_uint8(&pk, 9);
    msgpack_pack_str_with_body(&pk, "seq", 3);
    msgpack_pack_uint8(&pk, 8);
    msgpack_pack_str_with_body(&pk, "src", 3);
    msgpack_pack_str_with_body(&pk, "py", 2);

    CHECK_OK(sfa_codec_parse((const uint8_t *)sb.data, sb.size, &env), "compat: parse");
    CHECK_OK(sfa_codec_each_dgram(&env, scratch, count_cb, &seen), "compat: each_dgram");
    CHECK_EQ(seen, 1, "compat: one datagram");
    CHECK_EQ(scratch->agent.family, 4, "compat: agent");
    CHECK_EQ(scratch->nsamples, 1, "compat: one sample");
    CHECK_EQ(scratch->samples[0].field_count, 2, "compat: known, well-typed fields only");
    CHECK_EQ(scratch->fields[0].id, SFA_F_IPSOURCE, "compat: ipsource kept");
    CHECK_EQ(scratch->fields[1].v.u, 64, "compat: small uint form");
    json_t *j = sfa_codec_to_json((const uint8_t *)sb.data, sb.size);
    CHECK(j && json_is(path(j, "extra"), "true"), "to_json keeps unknown envelope keys");
    json_decref(j);
    msgpack_sbuffer_destroy(&sb);
}

static void
test_arena_limit(sfa_dgram *d, sfa_dgram *scratch)
{
    static uint8_t buf[300000];
    static uint8_t wire[8 + 4 * 5000];
    sfa_envelope env;
    sfa_sample *s;
    sfa_field *f;
    int seen = 0;

    /* One AS path of 5000 ASNs renders to ~30 kB of text: over the arena. */
    memset(d, 0, offsetof(sfa_dgram, samples));
    d->agent.family = 4;
    wire[3] = 2;
    wire[6] = 5000 >> 8;
    wire[7] = 5000 & 0xff;
    for (int i = 0; i < 5000; i++)
        wire[8 + 4 * i + 1] = 1; /* ASN 65536 */
    s = add_sample(d, SFA_SAMPLE_FLOW, 1);
    f = add_field(d, s, SFA_F_BGPDESTINATIONASPATH, SFA_T_ASPATH);
    f->v.p = wire;
    f->n = 1;
    f = add_field(d, s, SFA_F_FRAME_LENGTH, SFA_T_U);
    f->v.u = 60;
    size_t len = encode_one(buf, sizeof buf, d, SFA_KIND_FLOW, 1);
    CHECK(len > 0, "long AS path encodes");
    CHECK_OK(sfa_codec_parse(buf, len, &env), "long AS path parses");
    CHECK_OK(sfa_codec_each_dgram(&env, scratch, count_cb, &seen), "long AS path decodes");
    CHECK_EQ(scratch->samples[0].field_count, 1, "over-arena text is dropped, the rest kept");
    CHECK_EQ(scratch->status, SFA_ELIMIT, "dropped text marks the datagram SFA_ELIMIT");
    CHECK(scratch->arena_used <= SFA_DGRAM_ARENA, "arena bound held");
}

static void
test_ip6_text(sfa_dgram *d)
{
    static const char *const cases[] = {
        "::",
        "::1",
        "::2",
        "1::",
        "::ffff:1.2.3.4",
        "::1.2.3.4",
        "1:0:0:1:0:0:0:1",
        "1:0:0:0:1:0:0:1",
        "2001:db8:0:1:1:1:1:1",
        "fe80::1:2",
        "0:1::",
        "1:2:3:4:5:6:7:8",
        "::ffff:0:1.2.3.4",
        "64:ff9b::1.2.3.4",
        "1:0:2:0:3:0:4:0",
    };
    static uint8_t buf[8192];
    int agree = 1;
    uint32_t rng = 12345;

    for (int i = 0; i < 15 + 2000; i++) {
        uint8_t a[16];
        char want[64];
        if (i < 15) {
            inet_pton(AF_INET6, cases[i], a);
        } else {
            /* Random words, each zero with probability 1/2, to make runs. */
            for (int k = 0; k < 8; k++) {
                rng = rng * 1103515245 + 12345;
                uint16_t w = (rng >> 16) & 1 ? (uint16_t)(rng >> 8) : 0;
                a[2 * k] = (uint8_t)(w >> 8);
                a[2 * k + 1] = (uint8_t)w;
            }
        }
        inet_ntop(AF_INET6, a, want, sizeof want);
        memset(d, 0, offsetof(sfa_dgram, samples));
        sfa_sample *s = add_sample(d, SFA_SAMPLE_FLOW, 1);
        sfa_field *f = add_field(d, s, SFA_F_IP6SOURCE, SFA_T_IP6);
        memcpy(f->v.a, a, 16);
        d->agent.family = 6;
        memcpy(d->agent.a, a, 16);
        size_t len = encode_one(buf, sizeof buf, d, SFA_KIND_FLOW, 1);
        json_t *j = sfa_codec_to_json(buf, len);
        json_t *dg = json_array_get(path(j, "body"), 0);
        const char *got = json_string_value(
            path(path(json_array_get(path(dg, "samples"), 0), "fields"), "ip6source"));
        const char *agent = json_string_value(path(dg, "agent"));
        if (!got || strcmp(got, want) != 0 || !agent || strcmp(agent, want) != 0) {
            printf("# ip6 %s: got %s\n", want, got ? got : "(null)");
            agree = 0;
        }
        json_decref(j);
    }
    CHECK(agree, "IPv6 text agrees with inet_ntop (RFC 5952) on 2015 addresses");
}

static void
test_seqtrack(void)
{
    sfa_seqtrack *t = sfa_seqtrack_create();
    sfa_envelope a = {.topic = "flow.v1.00", .topic_len = 10, .src = "c1", .src_len = 2};
    sfa_envelope b = a;
    b.topic = "flow.v1.01";
    sfa_envelope c = a;
    c.src = "c2";

    a.seq = 1;
    CHECK_EQ(sfa_seqtrack_update(t, &a), 0, "first seen");
    a.seq = 2;
    CHECK_EQ(sfa_seqtrack_update(t, &a), 0, "in order");
    a.seq = 5;
    CHECK_EQ(sfa_seqtrack_update(t, &a), 2, "two skipped");
    b.seq = 100;
    CHECK_EQ(sfa_seqtrack_update(t, &b), 0, "other topic is its own stream");
    c.seq = 7;
    CHECK_EQ(sfa_seqtrack_update(t, &c), 0, "other src is its own stream");
    a.seq = 6;
    CHECK_EQ(sfa_seqtrack_update(t, &a), 0, "stream a continues");
    a.seq = 1;
    CHECK_EQ(sfa_seqtrack_update(t, &a), 0, "step back: publisher restart, no gap");
    a.seq = 3;
    CHECK_EQ(sfa_seqtrack_update(t, &a), 1, "gap after restart counts from the new start");
    b.seq = 101;
    CHECK_EQ(sfa_seqtrack_update(t, &b), 0, "stream b unaffected");
    /* Many streams force the table to grow; each keeps its own last seq. */
    char topics[300][16];
    uint64_t gaps = 0;
    for (int round = 1; round <= 3; round++) {
        for (int i = 0; i < 300; i++) {
            sfa_envelope e = {.src = "c9", .src_len = 2};
            e.topic_len = (size_t)snprintf(topics[i], sizeof topics[i], "counter.v1.%d", i);
            e.topic = topics[i];
            e.seq = (uint64_t)round * 2;
            gaps += sfa_seqtrack_update(t, &e);
        }
    }
    CHECK_EQ(gaps, 600, "300 streams, one gap per stream per later round");
    sfa_seqtrack_destroy(t);
    sfa_seqtrack_destroy(NULL);
}

static void
test_json_msg(void)
{
    uint8_t buf[512];
    json_t *body = json_pack("{s:s, s:I, s:[i, f, b, n], s:{}}", "service", "collector", "rx",
                             (json_int_t)123456789012, "list", -3, 1.5, 1, "empty");
    int n = sfa_codec_encode_json_msg(buf, sizeof buf, SFA_TOPIC_STATS, "collector-1", 9, 10, body);
    CHECK(n > 0, "stats message encoded");
    json_t *j = sfa_codec_to_json(buf, (size_t)n);
    CHECK(j && json_is(path(j, "topic"), "\"stats.v1\""), "stats topic");
    CHECK(j && json_equal(path(j, "body"), body), "body round trip");
    CHECK(j && json_is(path(j, "seq"), "9"), "stats seq");
    json_decref(j);
    CHECK_ERR(sfa_codec_encode_json_msg(buf, 40, SFA_TOPIC_STATS, "c", 1, 1, body), SFA_ELIMIT,
              "stats message too big");
    json_decref(body);
}

int
main(void)
{
    sfa_dgram *d = sfa_xmalloc(sizeof *d), *scratch = sfa_xmalloc(sizeof *scratch);

    for (size_t i = 0; i < sizeof HEADER; i++)
        HEADER[i] = (uint8_t)i;
    test_topics_buckets();
    test_round_trip(d, scratch);
    test_batch_limits(d, scratch);
    test_malformed(d, scratch);
    test_compat(scratch);
    test_arena_limit(d, scratch);
    test_ip6_text(d);
    test_seqtrack();
    test_json_msg();
    free(d);
    free(scratch);
    return test_done();
}
