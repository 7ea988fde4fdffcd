/* sflow_dgram_test.c - datagram header and sample envelopes of the decoder.
 *
 * Hand-built datagrams: the wire spec's worked example, every agent
 * address form, v2/v4 and NetFlow on the sFlow port, lying lengths and
 * counts, trailing bytes, unknown samples, every sample kind's envelope,
 * capacity limits, and truncation at every byte offset (each prefix in
 * its own exactly-sized heap block so a sanitizer build catches overreads).
 */
#include <stdlib.h>
#include <string.h>

#include "sflow_build.h"
#include "sflow_decode.h"
#include "test.h"

static sfa_dgram dg;
static sb b;

/* The 220-byte datagram of wire spec section 8, one word per entry. */
static const uint32_t worked_words[] = {
    0x00000005, 0x00000001, 0xac134074, 0x000186a0, 0x00000001, 0x00001b3b, 0x00000002, 0x00000001,
    0x00000058, 0x00000001, 0x00000002, 0x00000001, 0x00000001, 0x00000000, 0x00000000, 0x00000002,
    0x00000001, 0x00000001, 0x00000030, 0x0000000b, 0x00000032, 0x00000012, 0x00000020, 0x45080020,
    0x10e90000, 0x4001b167, 0x453a5c6b, 0x5cdeba01, 0x0000fba3, 0x62b50001, 0x453a5c6b, 0x00000001,
    0x00000058, 0x00000002, 0x00000002, 0x00000001, 0x00000002, 0x00000000, 0x00000000, 0x00000002,
    0x00000001, 0x00000001, 0x00000030, 0x0000000b, 0x00000032, 0x00000012, 0x00000020, 0x45080020,
    0xf5e10000, 0x4001ce6e, 0x453a5c6b, 0x5cdeb801, 0x0000315e, 0x2cfb0001, 0x453a5c6b,
};

static size_t
worked_build(uint8_t *out)
{
    size_t n = sizeof worked_words / sizeof worked_words[0];
    for (size_t i = 0; i < n; i++) {
        out[4 * i] = (uint8_t)(worked_words[i] >> 24);
        out[4 * i + 1] = (uint8_t)(worked_words[i] >> 16);
        out[4 * i + 2] = (uint8_t)(worked_words[i] >> 8);
        out[4 * i + 3] = (uint8_t)worked_words[i];
    }
    return 4 * n;
}

static int
decode(const uint8_t *p, size_t n, col_decode_stats *st)
{
    return col_sflow_decode(p, n, &dg, st);
}

static void
test_worked_example(void)
{
    uint8_t buf[256];
    col_decode_stats st = {0};
    size_t n = worked_build(buf);
    static const uint8_t agent[4] = {172, 19, 64, 116};
    static const uint8_t src[4] = {69, 58, 92, 107}, dst1[4] = {92, 222, 186, 1},
                         dst2[4] = {92, 222, 184, 1};

    CHECK_EQ(n, 220, "worked example is 220 bytes");
    CHECK_OK(decode(buf, n, &st), "worked example decodes");
    CHECK_EQ(dg.version, 5, "version 5");
    CHECK_EQ(dg.agent.family, 4, "IPv4 agent");
    CHECK(memcmp(dg.agent.a, agent, 4) == 0, "agent 172.19.64.116");
    CHECK_EQ(dg.sub_agent, 100000, "sub-agent 100000");
    CHECK_EQ(dg.seq, 1, "sequence 1");
    CHECK_EQ(dg.uptime, 6971, "uptime 6971");
    CHECK_EQ(dg.nsamples_declared, 2, "2 samples declared");
    CHECK_EQ(dg.nsamples, 2, "2 samples decoded");
    CHECK_EQ(dg.len, 220, "len recorded");
    const sfa_sample *s = &dg.samples[0];
    CHECK_EQ(s->tag, SFA_SAMPLE_FLOW, "compact flow sample");
    CHECK_EQ(s->seq, 1, "sample seq 1");
    CHECK_EQ(s->ds_class, 0, "source class 0");
    CHECK_EQ(s->ds_index, 2, "source index 2");
    CHECK_EQ(s->rate, 1, "rate 1");
    CHECK_EQ(s->pool, 1, "pool 1");
    CHECK_EQ(s->drops, 0, "drops 0");
    CHECK_EQ(s->in_fmt, 0, "input format 0");
    CHECK_EQ(s->in_val, 0, "input unknown");
    CHECK_EQ(s->out_fmt, 0, "output format 0");
    CHECK_EQ(s->out_val, 2, "output ifIndex 2");
    CHECK_EQ(s->nrecords, 1, "one record declared");
    CHECK_EQ(s->rec_count, 1, "one record seen");
    CHECK_EQ(dg.rec_tags[s->rec_first], 1, "record 0:1");
    CHECK_EQ(s->status, 0, "sample ok");
    CHECK_EQ(sb_u(&dg, s, SFA_F_HEADER_PROTOCOL), 11, "header protocol 11");
    CHECK_EQ(sb_u(&dg, s, SFA_F_FRAME_LENGTH), 50, "frame length 50");
    CHECK_EQ(sb_u(&dg, s, SFA_F_STRIPPED), 18, "stripped 18");
    CHECK_EQ(sb_u(&dg, s, SFA_F_HEADER_LENGTH), 32, "header length 32");
    CHECK(sb_a(&dg, s, SFA_F_IPSOURCE, src, 4), "ipsource 69.58.92.107");
    CHECK(sb_a(&dg, s, SFA_F_IPDESTINATION, dst1, 4), "ipdestination 92.222.186.1");
    CHECK_EQ(sb_u(&dg, s, SFA_F_IPPROTOCOL), 1, "ICMP");
    CHECK_EQ(sb_u(&dg, s, SFA_F_IPBYTES), 32, "ip total length 32");
    CHECK_EQ(sb_u(&dg, s, SFA_F_IPTTL), 64, "ttl 64");
    CHECK_EQ(sb_u(&dg, s, SFA_F_ICMPTYPE), 0, "echo reply");
    CHECK(sb_s(&dg, s, SFA_F_STACK, "ip.icmp"), "stack ip.icmp");
    const sfa_field *h = sb_field(&dg, s, SFA_F_HEADER);
    CHECK(h && h->type == SFA_T_BIN && h->n == 32 && h->v.p == buf + 0x5c,
          "header borrows the datagram");
    s = &dg.samples[1];
    CHECK_EQ(s->seq, 2, "second sample seq 2");
    CHECK_EQ(s->pool, 2, "second sample pool 2");
    CHECK(sb_a(&dg, s, SFA_F_IPDESTINATION, dst2, 4), "second ipdestination 92.222.184.1");
    CHECK_EQ(dg.rec_tags[s->rec_first], 1, "second record 0:1");
    CHECK_EQ(st.datagrams, 1, "stats: one datagram");
    CHECK_EQ(st.bytes, 220, "stats: bytes");
    CHECK_EQ(st.decoded, 1, "stats: decoded");
    CHECK_EQ(st.samples[1], 2, "stats: two flow samples");
    CHECK_EQ(st.flow_records[COL_FLOW_SAMPLED_HEADER], 2, "stats: two sampled headers");
    CHECK_EQ(st.trailing_bytes, 0, "no trailing bytes");
    CHECK_EQ(st.parse_errors, 0, "no parse errors");
}

static void
test_agents(void)
{
    col_decode_stats st = {0};
    static const uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};

    b.len = 0;
    sb_u32(&b, 5);
    sb_u32(&b, 2);
    sb_fixed(&b, a6, 16);
    sb_u32(&b, 3);
    sb_u32(&b, 99);
    sb_u32(&b, 5);
    sb_u32(&b, 1);
    size_t at = sb_open(&b, 2); /* counter sample without records */
    sb_u32(&b, 8);
    sb_u32(&b, 2u << 24 | 1);
    sb_u32(&b, 0);
    sb_close(&b, at);
    CHECK_EQ(b.len, 40 + 20, "IPv6 agent header is 40 bytes");
    CHECK_OK(decode(b.buf, b.len, &st), "IPv6 agent decodes");
    CHECK_EQ(dg.agent.family, 6, "agent family 6");
    CHECK(memcmp(dg.agent.a, a6, 16) == 0, "agent 2001:db8::1");
    CHECK_EQ(dg.sub_agent, 3, "sub-agent after IPv6 address");
    CHECK_EQ(dg.seq, 99, "sequence after IPv6 address");
    CHECK_EQ(dg.nsamples, 1, "one sample");
    CHECK_EQ(dg.samples[0].tag, SFA_SAMPLE_COUNTER, "counter sample");
    CHECK_EQ(dg.samples[0].ds_class, 2, "compact source class 2");
    CHECK_EQ(dg.samples[0].ds_index, 1, "compact source index 1");
    CHECK_EQ(dg.samples[0].seq, 8, "counter sample seq");

    b.len = 0;
    sb_u32(&b, 5);
    sb_u32(&b, 0);
    sb_u32(&b, 4);
    sb_u32(&b, 5);
    sb_u32(&b, 6);
    sb_u32(&b, 0);
    CHECK_EQ(b.len, 24, "type-0 header is 24 bytes");
    CHECK_OK(decode(b.buf, b.len, &st), "type-0 agent decodes");
    CHECK_EQ(dg.agent.family, 0, "agent family 0");
    CHECK_EQ(dg.sub_agent, 4, "sub-agent right after the type");
    CHECK_EQ(dg.seq, 5, "sequence");
    CHECK_EQ(dg.uptime, 6, "uptime");
    CHECK_EQ(dg.nsamples, 0, "no samples");

    b.len = 0;
    sb_u32(&b, 5);
    sb_u32(&b, 3);
    sb_ip4(&b, 1, 2, 3, 4);
    sb_u32(&b, 0);
    sb_u32(&b, 0);
    sb_u32(&b, 0);
    sb_u32(&b, 0);
    memset(&st, 0, sizeof st);
    CHECK_ERR(decode(b.buf, b.len, &st), SFA_EFORMAT, "address type 3 is not sFlow");
    CHECK_EQ(st.not_sflow, 1, "counted as not sFlow");
    CHECK_EQ(st.parse_errors, 0, "not a parse error");
}

static void
test_versions(void)
{
    col_decode_stats st = {0};
    for (uint32_t v = 2; v <= 4; v += 2) {
        b.len = 0;
        sb_u32(&b, v);
        sb_u32(&b, 1);
        sb_ip4(&b, 10, 0, 0, 1);
        sb_u32(&b, 1);   /* v2/v4: sequence */
        sb_u32(&b, 100); /* uptime */
        sb_u32(&b, 1);   /* one sample, no lengths */
        sb_u32(&b, 1);
        sb_u32(&b, 1);
        CHECK_ERR(decode(b.buf, b.len, &st), SFA_EVERSION, "v2/v4 rejected as version");
        CHECK_EQ(dg.version, v, "version reported");
        CHECK_EQ(dg.nsamples, 0, "v2/v4 never parsed as v5");
        CHECK_EQ(dg.status, SFA_EVERSION, "status EVERSION");
    }
    CHECK_EQ(st.unsupported_version, 2, "two unsupported versions counted");
    CHECK_EQ(st.parse_errors, 0, "no parse errors for v2/v4");

    /* NetFlow v5 on the sFlow port: 16-bit version 5 then a record count. */
    static const uint8_t nf5[24] = {0x00, 0x05, 0x00, 0x01, 0x9a, 0xe7, 0x2b, 0x16};
    memset(&st, 0, sizeof st);
    CHECK_ERR(decode(nf5, sizeof nf5, &st), SFA_EFORMAT, "NetFlow v5 rejected");
    CHECK_EQ(st.not_sflow, 1, "NetFlow counted as not sFlow");
    static const uint8_t nf5b[24] = {0x00, 0x05, 0x00, 0x02};
    CHECK_ERR(decode(nf5b, sizeof nf5b, &st), SFA_EFORMAT, "NetFlow v5 count 2 rejected");
    static const uint8_t small[3] = {0, 0, 0};
    CHECK_ERR(decode(small, sizeof small, &st), SFA_EFORMAT, "3 bytes rejected");
    CHECK_ERR(decode(small, 0, &st), SFA_EFORMAT, "empty payload rejected");
    CHECK_EQ(st.not_sflow, 4, "all counted as not sFlow");
    CHECK_EQ(st.datagrams, 4, "all offered datagrams counted");

    /* The 8-byte datagram of tcpdump-sflow_print-segv.pcap. */
    static const uint8_t segv[8] = {0, 0, 0, 5, 0, 0, 0, 1};
    memset(&st, 0, sizeof st);
    CHECK_ERR(decode(segv, sizeof segv, &st), SFA_ETRUNC, "8-byte v5 datagram truncated");
    CHECK_EQ(dg.version, 5, "still version 5");
    CHECK_EQ(dg.nsamples, 0, "no samples");
    CHECK_EQ(st.parse_errors, 1, "parse error counted");
}

/* Build a datagram with one flow, one counter, one expanded flow, one
 * discard, one expanded counter and one unknown sample. */
static void
build_mixed(void)
{
    size_t at, ns = sb_dgram(&b, 6);
    (void)ns;
    at = sb_flow_sample(&b);
    sb_u32(&b, 1);
    size_t r = sb_open(&b, 1001);
    sb_u32(&b, 10);
    sb_u32(&b, 1);
    sb_u32(&b, 20);
    sb_u32(&b, 2);
    sb_close(&b, r);
    sb_close(&b, at);

    at = sb_open(&b, 2);
    sb_u32(&b, 77);
    sb_u32(&b, 5);
    sb_u32(&b, 0);
    sb_close(&b, at);

    at = sb_open(&b, 3); /* expanded flow */
    sb_u32(&b, 12);
    sb_u32(&b, 1);          /* class */
    sb_u32(&b, 0x12345678); /* index beyond 24 bits */
    sb_u32(&b, 400);
    sb_u32(&b, 800);
    sb_u32(&b, 9);
    sb_u32(&b, 0);
    sb_u32(&b, 0x3FFFFFFF);
    sb_u32(&b, 2);
    sb_u32(&b, 7);
    sb_u32(&b, 0);
    sb_close(&b, at);

    at = sb_open(&b, 5); /* discard */
    sb_u32(&b, 13);
    sb_u32(&b, 0);
    sb_u32(&b, 44);
    sb_u32(&b, 3);
    sb_u32(&b, 44);
    sb_u32(&b, 0);
    sb_u32(&b, 258);
    sb_u32(&b, 0);
    sb_close(&b, at);

    at = sb_open(&b, 4); /* expanded counter */
    sb_u32(&b, 14);
    sb_u32(&b, 0);
    sb_u32(&b, 0x01000000);
    sb_u32(&b, 0);
    sb_close(&b, at);

    at = sb_open(&b, 4300 << 12 | 1002); /* vendor sample: skipped */
    sb_u32(&b, 1);
    sb_u32(&b, 2);
    sb_close(&b, at);
}

static void
test_sample_kinds(void)
{
    col_decode_stats st = {0};
    build_mixed();
    CHECK_OK(decode(b.buf, b.len, &st), "mixed datagram decodes");
    CHECK_EQ(dg.nsamples, 5, "five known samples kept, the vendor one skipped");
    CHECK_EQ(st.samples_unknown, 1, "unknown sample counted");
    CHECK_EQ(st.samples[1] + st.samples[2] + st.samples[3] + st.samples[4] + st.samples[5], 5,
             "each kind counted");
    const sfa_sample *s = &dg.samples[0];
    CHECK_EQ(s->tag, 1, "flow first");
    CHECK_EQ(s->ds_index, 3, "compact index");
    CHECK_EQ(s->rate, 100, "rate");
    CHECK_EQ(s->pool, 5000, "pool");
    CHECK_EQ(s->in_val, 3, "input 3");
    CHECK_EQ(s->out_val, 4, "output 4");
    CHECK_EQ(sb_u(&dg, s, SFA_F_VLANDESTINATION), 20, "switch record decoded");
    s = &dg.samples[1];
    CHECK_EQ(s->tag, 2, "counter second");
    CHECK_EQ(s->seq, 77, "counter seq");
    CHECK_EQ(s->ds_index, 5, "counter index");
    s = &dg.samples[2];
    CHECK_EQ(s->tag, 3, "expanded flow third");
    CHECK_EQ(s->ds_class, 1, "expanded class");
    CHECK_EQ(s->ds_index, 0x12345678, "expanded index keeps 32 bits");
    CHECK_EQ(s->rate, 400, "expanded rate");
    CHECK_EQ(s->pool, 800, "expanded pool");
    CHECK_EQ(s->drops, 9, "expanded drops");
    CHECK_EQ(s->in_fmt, 0, "expanded in format");
    CHECK_EQ(s->in_val, 0x3FFFFFFF, "expanded in value (internal)");
    CHECK_EQ(s->out_fmt, 2, "expanded out format 2");
    CHECK_EQ(s->out_val, 7, "expanded out value 7");
    s = &dg.samples[3];
    CHECK_EQ(s->tag, 5, "discard fourth");
    CHECK_EQ(s->ds_index, 44, "discard source index");
    CHECK_EQ(s->drops, 3, "discard drops");
    CHECK_EQ(s->in_val, 44, "discard input");
    CHECK_EQ(s->reason, 258, "discard reason ACL");
    CHECK_EQ(s->rate, 0, "discard has no rate");
    s = &dg.samples[4];
    CHECK_EQ(s->tag, 4, "expanded counter fifth");
    CHECK_EQ(s->ds_index, 0x01000000, "expanded counter index");
    CHECK_EQ(s->seq, 14, "expanded counter seq");

    /* Compact interface formats: 0x80000007 is "7 interfaces", 0x40000102 discarded (258). */
    sb_dgram(&b, 1);
    size_t at = sb_open(&b, 1);
    sb_u32(&b, 1);
    sb_u32(&b, 3u << 24 | 0xABCDEF);
    sb_u32(&b, 1);
    sb_u32(&b, 1);
    sb_u32(&b, 0);
    sb_u32(&b, 0x40000102);
    sb_u32(&b, 0x80000007);
    sb_u32(&b, 0);
    sb_close(&b, at);
    CHECK_OK(decode(b.buf, b.len, &st), "compact interface formats decode");
    s = &dg.samples[0];
    CHECK_EQ(s->ds_class, 3, "compact class 3 kept");
    CHECK_EQ(s->ds_index, 0xABCDEF, "compact index 24 bits");
    CHECK_EQ(s->in_fmt, 1, "input format 1");
    CHECK_EQ(s->in_val, 258, "input value 258");
    CHECK_EQ(s->out_fmt, 2, "output format 2");
    CHECK_EQ(s->out_val, 7, "output value 7");
}

static void
test_lying_lengths(void)
{
    col_decode_stats st = {0};

    /* num_samples larger than what is there: samples before the end kept. */
    build_mixed();
    sb_poke(&b, 24, 0xFFFFFFFF);
    CHECK_ERR(decode(b.buf, b.len, &st), SFA_ETRUNC, "num_samples lie -> truncated");
    CHECK_EQ(dg.nsamples, 5, "samples that were there are kept");
    CHECK_EQ(st.parse_errors, 1, "counted as parse error");

    /* A sample length running past the datagram. */
    build_mixed();
    sb_poke(&b, 32, 0x7FFFFFF0); /* first sample's length */
    memset(&st, 0, sizeof st);
    CHECK_ERR(decode(b.buf, b.len, &st), SFA_ETRUNC, "sample length lie -> truncated");
    CHECK_EQ(dg.nsamples, 0, "nothing framed");
    CHECK_EQ(st.parse_errors, 1, "parse error");

    /* A sample shorter than its fixed part: dropped, the next one decodes. */
    sb_dgram(&b, 2);
    size_t at = sb_open(&b, 1);
    sb_u32(&b, 1);
    sb_u32(&b, 2);
    sb_close(&b, at);
    at = sb_open(&b, 2);
    sb_u32(&b, 5);
    sb_u32(&b, 6);
    sb_u32(&b, 0);
    sb_close(&b, at);
    memset(&st, 0, sizeof st);
    CHECK_ERR(decode(b.buf, b.len, &st), SFA_EFORMAT, "short sample -> format error");
    CHECK_EQ(dg.nsamples, 1, "short sample dropped, next kept");
    CHECK_EQ(dg.samples[0].tag, 2, "the counter sample survived");
    CHECK_EQ(st.parse_errors, 1, "parse error");

    /* A record length running past its sample: that sample stops, the next goes on. */
    sb_dgram(&b, 2);
    at = sb_flow_sample(&b);
    sb_u32(&b, 2);
    size_t r = sb_open(&b, 1001);
    sb_u32(&b, 1);
    sb_u32(&b, 2);
    sb_u32(&b, 3);
    sb_u32(&b, 4);
    sb_close(&b, r);
    r = sb_open(&b, 1002);
    sb_u32(&b, 1);
    sb_close(&b, r);
    sb_poke(&b, r, 400);
    sb_close(&b, at);
    at = sb_flow_sample(&b);
    sb_u32(&b, 0);
    sb_close(&b, at);
    memset(&st, 0, sizeof st);
    CHECK_ERR(decode(b.buf, b.len, &st), SFA_ETRUNC, "record length lie -> truncated");
    CHECK_EQ(dg.nsamples, 2, "both samples kept");
    CHECK_EQ(dg.samples[0].status, SFA_ETRUNC, "first sample marked");
    CHECK_EQ(dg.samples[0].rec_count, 1, "the good record before it recorded");
    CHECK_EQ(sb_u(&dg, &dg.samples[0], SFA_F_VLANSOURCE), 1, "its fields kept");
    CHECK_EQ(dg.samples[1].status, 0, "second sample fine");
    CHECK_EQ(st.records_malformed, 1, "lying record counted");

    /* num_records = 0x40000001: count * 8 overflows 32 bits; must stop cleanly. */
    sb_dgram(&b, 1);
    at = sb_flow_sample(&b);
    sb_u32(&b, 0x40000001);
    r = sb_open(&b, 1040);
    sb_u32(&b, 9);
    sb_close(&b, r);
    sb_close(&b, at);
    memset(&st, 0, sizeof st);
    CHECK_ERR(decode(b.buf, b.len, &st), SFA_ETRUNC, "record count lie -> truncated");
    CHECK_EQ(dg.samples[0].rec_count, 1, "the one record present was read");
    CHECK_EQ(sb_u(&dg, &dg.samples[0], SFA_F_QUEUEDEPTH), 9, "and decoded");
}

static void
test_trailing_and_unknown(void)
{
    col_decode_stats st = {0};
    build_mixed();
    sb_poke(&b, 24, 1);
    CHECK_OK(decode(b.buf, b.len, &st), "bytes after num_samples samples ignored");
    CHECK_EQ(dg.nsamples, 1, "only the declared sample");
    CHECK_EQ(st.trailing_bytes, 1, "trailing bytes counted");
    CHECK_EQ(st.decoded, 1, "still decoded cleanly");

    sb_dgram(&b, 0);
    sb_u32(&b, 0xdeadbeef);
    CHECK_OK(decode(b.buf, b.len, &st), "zero samples plus junk is fine");
    CHECK_EQ(st.trailing_bytes, 2, "counted again");
}

static void
test_capacity(void)
{
    col_decode_stats st = {0};
    uint32_t n = SFA_DGRAM_MAX_SAMPLES + 10;
    sb_dgram(&b, n);
    for (uint32_t i = 0; i < n; i++) {
        size_t at = sb_open(&b, 2);
        sb_u32(&b, i);
        sb_u32(&b, 1);
        sb_u32(&b, 0);
        sb_close(&b, at);
    }
    CHECK_ERR(decode(b.buf, b.len, &st), SFA_ELIMIT, "too many samples -> ELIMIT");
    CHECK_EQ(dg.nsamples, SFA_DGRAM_MAX_SAMPLES, "decoded up to the cap");
    CHECK_EQ(dg.samples[SFA_DGRAM_MAX_SAMPLES - 1].seq, SFA_DGRAM_MAX_SAMPLES - 1,
             "last kept sample intact");
    CHECK_EQ(st.over_capacity, 1, "over capacity counted");
    CHECK_EQ(st.parse_errors, 0, "not a parse error");

    /* col__field_add at the cap. */
    sfa_sample s = {0};
    dg.nfields = SFA_DGRAM_MAX_FIELDS - 1;
    dg.status = 0;
    CHECK(col__field_add(&dg, &s, SFA_F_VLAN, SFA_T_U) != NULL, "last slot given");
    CHECK_EQ(s.field_count, 1, "sample field count bumped");
    CHECK(col__field_add(&dg, &s, SFA_F_VLAN, SFA_T_U) == NULL, "no slot beyond the cap");
    CHECK_EQ(dg.status, SFA_ELIMIT, "status ELIMIT");
}

/* Decode every proper prefix of buf from its own heap block. */
static void
truncate_all(const uint8_t *buf, size_t len, const char *what)
{
    col_decode_stats st = {0};
    int all_fail = 1, no_extra = 1;
    for (size_t n = 0; n < len; n++) {
        uint8_t *p = malloc(n ? n : 1);
        memcpy(p, buf, n);
        int rc = decode(p, n, &st);
        all_fail &= rc != 0;
        no_extra &= dg.nsamples <= dg.nsamples_declared;
        free(p);
    }
    char msg[160];
    snprintf(msg, sizeof msg, "%s: every proper prefix is reported", what);
    CHECK(all_fail, msg);
    snprintf(msg, sizeof msg, "%s: every prefix counted", what);
    CHECK_EQ(st.parse_errors + st.not_sflow, len, msg);
    snprintf(msg, sizeof msg, "%s: datagrams counted", what);
    CHECK_EQ(st.datagrams, len, msg);
    CHECK(no_extra, "never more samples than declared");
}

static void
test_truncation(void)
{
    uint8_t buf[256];
    size_t n = worked_build(buf);
    truncate_all(buf, n, "worked example");
    build_mixed();
    static uint8_t copy[sizeof b.buf];
    size_t len = b.len;
    memcpy(copy, b.buf, len);
    truncate_all(copy, len, "mixed samples");
}

static void
test_format_names(void)
{
    CHECK_STR(col_flow_format_name(COL_FLOW_SAMPLED_HEADER), "sampled_header", "flow name");
    CHECK_EQ(col_flow_format_tag(COL_FLOW_EXT_GATEWAY), 1003, "gateway tag");
    CHECK_EQ(col_flow_format_tag(COL_FLOW_EXT_ENTITIES), 2210, "entities tag");
    CHECK_STR(col_counter_format_name(COL_COUNTER_IF_COUNTERS), "if_counters", "counter name");
    CHECK_EQ(col_counter_format_tag(COL_COUNTER_IF_COUNTERS), 1, "if_counters tag");
    CHECK(col_flow_format_name(COL_FLOW__COUNT) == NULL, "flow name out of range");
    CHECK(col_counter_format_name(COL_COUNTER__COUNT) == NULL, "counter name out of range");
    CHECK_EQ(col_flow_format_tag(9999), 0, "flow tag out of range");
    int all = 1;
    for (unsigned i = 0; i < COL_FLOW__COUNT; i++)
        all &= col_flow_format_name(i) != NULL && col_flow_format_tag(i) != 0;
    for (unsigned i = 0; i < COL_COUNTER__COUNT; i++)
        all &= col_counter_format_name(i) != NULL && col_counter_format_tag(i) != 0;
    CHECK(all, "every known format has a name and a tag");
}

int
main(void)
{
    test_worked_example();
    test_agents();
    test_versions();
    test_sample_kinds();
    test_lying_lengths();
    test_trailing_and_unknown();
    test_capacity();
    test_truncation();
    test_format_names();
    return test_done();
}
