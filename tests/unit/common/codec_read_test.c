/* codec_read_test.c - the quick path of the bus reader (common/src/codec_read.c,
 * codec_text.c) against its general path and against libc.
 *
 * The reader takes a pair the quick way when its key is the one the
 * previous sample had at that position and its value has the usual form;
 * otherwise the general way. These tests make both happen and check that
 * they decide alike: many samples with random values (value forms and
 * text lengths change from sample to sample), samples whose field order
 * changes or that carry more fields than the reader guesses for, IPv6 text
 * where IPv4 text was before, and address and MAC texts (valid and not,
 * checked against inet_pton) both early in a message and at its very end,
 * where the quick path has no room and the general one decides.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include <sfa/codec.h>
#include <sfa/mem.h>

#include "test.h"

#define CAP (1u << 20)

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint32_t
rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* ---- round trip of varied samples ---- */

static sfa_field *
add(sfa_dgram *d, sfa_sample *s, unsigned id, unsigned type)
{
    sfa_field *f = &d->fields[d->nfields++];
    memset(f, 0, sizeof *f);
    f->id = (uint16_t)id;
    f->type = (uint8_t)type;
    s->field_count++;
    return f;
}

/* A flow sample with random values; shape 1 has another field order,
 * shape 2 has more fields than the reader guesses for (64). */
static void
add_sample(sfa_dgram *d, int shape)
{
    static const uint8_t hdr[64] = {1, 2, 3};
    sfa_sample *s = &d->samples[d->nsamples++];
    uint32_t r = rnd();
    sfa_field *f;

    memset(s, 0, sizeof *s);
    s->tag = SFA_SAMPLE_FLOW;
    s->seq = rnd();
    s->ds_index = r % 4 ? r % 100 : rnd();
    s->rate = 1u << (r % 20);
    s->pool = rnd();
    s->in_val = r % 3 ? rnd() % 200 : rnd();
    s->field_first = d->nfields;
    if (shape == 1) {
        add(d, s, SFA_F_TCPDESTINATIONPORT, SFA_T_U)->v.u = rnd() % 70000;
        add(d, s, SFA_F_STACK, SFA_T_STR)->v.p = (const uint8_t *)"eth.ip.tcp";
        d->fields[d->nfields - 1].n = 10;
    }
    add(d, s, SFA_F_FRAME_LENGTH, SFA_T_U)->v.u = r % 2 ? 64 + rnd() % 1500 : rnd() % 128;
    f = add(d, s, SFA_F_HEADER, SFA_T_BIN);
    f->v.p = hdr;
    f->n = 1 + r % 64;
    f = add(d, s, SFA_F_MACSOURCE, SFA_T_MAC);
    for (int i = 0; i < 6; i++)
        f->v.a[i] = (uint8_t)rnd();
    f = add(d, s, SFA_F_IPSOURCE, SFA_T_IP4);
    uint32_t a = r % 5 ? rnd() : 0x0a000001;
    memcpy(f->v.a, &a, 4);
    f = add(d, s, SFA_F_IPNEXTHOPROUTER, r % 3 ? SFA_T_IP4 : SFA_T_IP6);
    f->v.a[0] = (uint8_t)(r % 3 ? 192 : 0x20);
    f->v.a[1] = (uint8_t)(r % 3 ? 0 : 0x01);
    f->v.a[r % 3 ? 3 : 15] = (uint8_t)(rnd() % 7); /* texts alike but for their end */
    add(d, s, SFA_F_TCPSOURCEPORT, SFA_T_U)->v.u = r % 4 ? rnd() % 65536 : rnd() % 100;
    add(d, s, SFA_F_IPPROTOCOL, SFA_T_U)->v.u = 6;
    if (shape != 1)
        add(d, s, SFA_F_TCPDESTINATIONPORT, SFA_T_U)->v.u = rnd() % 70000;
    add(d, s, SFA_F_BGPLOCALPREF, SFA_T_U)->v.u = (uint64_t)rnd() << (r % 32);
    for (int i = 0; shape == 2 && i < 70; i++)
        add(d, s, i % 2 ? SFA_F_VLAN : SFA_F_PRIORITY, SFA_T_U)->v.u = (unsigned)i * 1000;
}

static int
same_field(const sfa_field *a, const sfa_field *b)
{
    if (a->id != b->id || a->type != b->type)
        return 0;
    switch (a->type) {
    case SFA_T_STR:
    case SFA_T_BIN:
        return a->n == b->n && memcmp(a->v.p, b->v.p, a->n) == 0;
    case SFA_T_IP4:
        return memcmp(a->v.a, b->v.a, 4) == 0;
    case SFA_T_MAC:
        return memcmp(a->v.a, b->v.a, 6) == 0;
    case SFA_T_IP6:
        return memcmp(a->v.a, b->v.a, 16) == 0;
    default:
        return a->v.u == b->v.u;
    }
}

/* Datagram g of a test: the same every time it is built. */
static void
build_dgram(sfa_dgram *d, int g, int nsamples)
{
    rng = 0x9e3779b97f4a7c15ull * (uint64_t)(g + 1);
    memset(d, 0, offsetof(sfa_dgram, samples));
    sfa_addr_parse(g % 2 ? "10.1.2.3" : "2001:db8::9", &d->agent);
    for (int k = 0; k < nsamples; k++)
        add_sample(d, g % 10 == 3 ? (int)(rnd() % 3) : 0);
}

typedef struct rt_ctx {
    sfa_dgram *want;
    int nsamples, dgrams, mismatches;
} rt_ctx;

/* Each decoded datagram against the one built again. */
static int
rt_cb(const sfa_dgram *d, void *arg)
{
    rt_ctx *c = arg;
    sfa_dgram *w = c->want;

    build_dgram(w, c->dgrams++, c->nsamples);
    if (d->nsamples != w->nsamples || d->nfields != w->nfields || d->status != 0 ||
        memcmp(&d->agent, &w->agent, sizeof d->agent) != 0)
        c->mismatches++;
    for (uint32_t i = 0; i < d->nsamples && i < w->nsamples; i++) {
        const sfa_sample *s = &d->samples[i], *t = &w->samples[i];
        if (s->seq != t->seq || s->ds_index != t->ds_index || s->rate != t->rate ||
            s->pool != t->pool || s->in_val != t->in_val || s->field_first != t->field_first ||
            s->field_count != t->field_count)
            c->mismatches++;
    }
    for (uint32_t i = 0; i < d->nfields && i < w->nfields; i++)
        c->mismatches += !same_field(&d->fields[i], &w->fields[i]);
    return 0;
}

/* A message of ndgrams datagrams of nsamples varied samples each (the
 * guesses carry from sample to sample and datagram to datagram; every
 * tenth datagram has samples of other shapes), decoded: the number of
 * differences from what was encoded, or -1. */
static int
round_trip(uint8_t *buf, sfa_dgram *d, sfa_dgram *want, int ndgrams, int nsamples)
{
    rt_ctx c = {want, nsamples, 0, 0};
    sfa_envelope env;
    sfa_batch b;

    if (sfa_batch_begin(&b, buf, CAP, "flow.v1.2c", "test"))
        return -1;
    for (int g = 0; g < ndgrams; g++) {
        build_dgram(d, g, nsamples);
        if (sfa_batch_add(&b, d, SFA_KIND_FLOW))
            return -1;
    }
    size_t len = sfa_batch_finish(&b, 1, 0);
    if (sfa_codec_parse(buf, len, &env) || sfa_codec_each_dgram(&env, d, rt_cb, &c) ||
        c.dgrams != ndgrams)
        return -1;
    return c.mismatches;
}

static void
test_round_trip(uint8_t *buf, sfa_dgram *d, sfa_dgram *want)
{
    int bad = 0;

    CHECK_EQ(round_trip(buf, d, want, 40, 8), 0,
             "40 datagrams of 8 varied samples in one message decode as encoded");
    CHECK_EQ(round_trip(buf, d, want, 1, 1), 0, "one sample alone decodes as encoded");
    for (int i = 0; i < 50; i++)
        bad += round_trip(buf, d, want, 1 + i % 7, 1 + i % 13) != 0;
    CHECK_EQ(bad, 0, "50 messages of 1 to 7 datagrams of 1 to 13 samples decode as encoded");
}

/* ---- address and MAC texts, valid or not ---- */

static void
pack_key(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* A message of one datagram with three samples, each with fields
 * {ipsource: ip, macsource: mac}; the last sample ends the message, so its
 * pairs go the general way. Returns its length. */
static size_t
text_msg(msgpack_sbuffer *sb, const char *ip, const char *mac)
{
    msgpack_packer pk;

    msgpack_sbuffer_clear(sb);
    msgpack_sbuffer_write(sb, "flow.v1.2c", 11);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 5);
    pack_key(&pk, "v");
    msgpack_pack_uint32(&pk, 1);
    pack_key(&pk, "src");
    pack_key(&pk, "t");
    pack_key(&pk, "seq");
    msgpack_pack_uint32(&pk, 1);
    pack_key(&pk, "ts_ms");
    msgpack_pack_uint32(&pk, 1);
    pack_key(&pk, "body");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 1);
    pack_key(&pk, "samples");
    msgpack_pack_array(&pk, 3);
    for (int i = 0; i < 3; i++) {
        msgpack_pack_map(&pk, 2);
        pack_key(&pk, "tag");
        msgpack_pack_uint32(&pk, SFA_SAMPLE_FLOW);
        pack_key(&pk, "fields");
        msgpack_pack_map(&pk, i < 2 ? 3 : 2);
        pack_key(&pk, "ipsource");
        pack_key(&pk, ip);
        pack_key(&pk, "macsource");
        pack_key(&pk, mac);
        if (i < 2) {
            /* room after the pairs, so that the quick path takes them */
            pack_key(&pk, "stack");
            pack_key(&pk, "0123456789012345678901234567890123456789012345678901234567");
        }
    }
    return sb->size;
}

typedef struct text_ctx {
    int samples, ip_seen, mac_seen, wrong;
    int ip_type; /* expected: SFA_T_IP4, SFA_T_IP6, or 0 (skipped) */
    uint8_t ip[16], mac[6];
} text_ctx;

static int
text_cb(const sfa_dgram *d, void *arg)
{
    text_ctx *c = arg;

    for (uint32_t i = 0; i < d->nsamples; i++) {
        const sfa_sample *s = &d->samples[i];
        c->samples++;
        for (uint32_t k = 0; k < s->field_count; k++) {
            const sfa_field *f = &d->fields[s->field_first + k];
            if (f->id == SFA_F_IPSOURCE) {
                c->ip_seen++;
                c->wrong += f->type != c->ip_type || memcmp(f->v.a, c->ip, 16) != 0;
            } else if (f->id == SFA_F_MACSOURCE) {
                c->mac_seen++;
                c->wrong += f->type != SFA_T_MAC || memcmp(f->v.a, c->mac, 6) != 0;
            }
        }
    }
    return 0;
}

/* Decode a message with texts ip and mac: 0 when every sample has each
 * as libc parses it (or not at all when libc refuses it), else 1. */
static int
text_check(msgpack_sbuffer *sb, sfa_dgram *scratch, const char *ip, const char *mac)
{
    text_ctx c;
    sfa_envelope env;
    int mac_ok = strlen(mac) == 12;
    size_t len = text_msg(sb, ip, mac);

    memset(&c, 0, sizeof c);
    if (inet_pton(AF_INET, ip, c.ip) == 1)
        c.ip_type = SFA_T_IP4;
    else if (inet_pton(AF_INET6, ip, c.ip) == 1)
        c.ip_type = SFA_T_IP6;
    for (int i = 0; i < 12 && mac_ok; i++) {
        char hex[3] = {0};
        if (!strchr("0123456789abcdefABCDEF", mac[i]))
            mac_ok = 0;
        if (i % 2 && mac_ok) {
            hex[0] = mac[i - 1];
            hex[1] = mac[i];
            c.mac[i / 2] = (uint8_t)strtoul(hex, NULL, 16);
        }
    }
    if (sfa_codec_parse((const uint8_t *)sb->data, len, &env) != 0 ||
        sfa_codec_each_dgram(&env, scratch, text_cb, &c) != 0)
        return 1;
    return c.samples != 3 || c.ip_seen != (c.ip_type ? 3 : 0) || c.mac_seen != (mac_ok ? 3 : 0) ||
           c.wrong;
}

static void
test_texts(sfa_dgram *scratch)
{
    static const char *const ips[] = {
        "0.0.0.0",    "255.255.255.255", "10.0.0.1",       "192.168.100.200", "1.2.3.4",
        "256.0.0.1",  "1.2.3.256",       "01.2.3.4",       "1.2.3.04",        "1.2.3",
        "1.2.3.4.5",  "1..2.3",          ".1.2.3",         "1.2.3.",          "1.2.3.4 ",
        "1.2.3.1000", "1234.1.1.1",      "a.b.c.d",        "1.2.3.4x",        "",
        "::1",        "2001:db8::1",     "::ffff:1.2.3.4", "100.200.300.400", "9.99.199.255",
    };
    static const char *const macs[] = {
        "001B21ABCDEF", "001b21abcdef",  "FFFFFFFFFFFF", "000000000000", "001B21ABCDEG",
        "001B21ABCDE",  "001B21ABCDEF0", "00:1B:21:AB",  "0x1B21ABCDEF", "001B21ABCD@F",
    };
    msgpack_sbuffer sb;
    int bad = 0, n = 0;

    msgpack_sbuffer_init(&sb);
    for (size_t i = 0; i < sizeof ips / sizeof ips[0]; i++) {
        for (size_t k = 0; k < sizeof macs / sizeof macs[0]; k++) {
            int rc = text_check(&sb, scratch, ips[i], macs[k]);
            if (rc && bad < 5)
                printf("# differs from libc: ip \"%s\" mac \"%s\"\n", ips[i], macs[k]);
            bad += rc;
            n++;
        }
    }
    CHECK_EQ(bad, 0, "listed address and MAC texts: as inet_pton and strtoul, quick and general");
    /* Random texts of digits and dots (and a stray letter). */
    bad = 0;
    for (int i = 0; i < 20000; i++) {
        static const char alpha[] = "0123456789.....x";
        static const char hexa[] = "0123456789abcdefABCDEFG:";
        char ip[20], mac[16];
        int len = 1 + (int)(rnd() % 17), mlen = 11 + (int)(rnd() % 3);
        if (i % 2)
            len = snprintf(ip, sizeof ip, "%u.%u.%u.%u", rnd() % 300, rnd() % 300, rnd() % 300,
                           rnd() % 300);
        else
            for (int k = 0; k < len; k++)
                ip[k] = alpha[rnd() % 16];
        ip[len] = 0;
        for (int k = 0; k < mlen; k++)
            mac[k] = hexa[rnd() % (i % 4 ? 22 : 24)];
        mac[mlen] = 0;
        int rc = text_check(&sb, scratch, ip, mac);
        if (rc && bad < 5)
            printf("# differs from libc: ip \"%s\" mac \"%s\"\n", ip, mac);
        bad += rc;
    }
    CHECK_EQ(bad, 0, "20000 random address and MAC texts: as inet_pton and strtoul");
    msgpack_sbuffer_destroy(&sb);
}

int
main(void)
{
    uint8_t *buf = sfa_xmalloc(CAP);
    sfa_dgram *d = sfa_xmalloc(sizeof *d), *scratch = sfa_xmalloc(sizeof *scratch);

    test_round_trip(buf, d, scratch);
    test_texts(scratch);
    free(scratch);
    free(d);
    free(buf);
    return test_done();
}
