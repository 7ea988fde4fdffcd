/* sample_pub_test.c - batching, topics, lanes and sequence numbers of
 * sample_pub.c, over a capturing sender (no bus).
 *
 * Each published message is parsed back with the codec and checked: topic
 * by kind and agent bucket, lane = bucket % lanes, per-topic sequence from
 * 1, datagram counts, message size bounded by the batch size, flushing at
 * the end of a drain, oversize datagrams sent alone, send failures counted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/codec.h>
#include <sfa/mem.h>

#include "col.h"
#include "test.h"

#define CAP_MSGS 4096

typedef struct cap_msg {
    int lane;
    char topic[SFA_TOPIC_MAX];
    uint64_t seq;
    size_t len;
    int ndgrams;
    int nsamples;
} cap_msg;

static cap_msg caps[CAP_MSGS];
static int ncaps;
static int fail_sends;
static sfa_dgram *dg, *scratch;

static int
count_cb(const sfa_dgram *d, void *arg)
{
    cap_msg *m = arg;

    m->ndgrams++;
    m->nsamples += (int)d->nsamples;
    return 0;
}

static int
cap_send(void *arg, int lane, const uint8_t *msg, size_t len)
{
    sfa_envelope env;
    cap_msg *m;

    (void)arg;
    if (fail_sends)
        return -1;
    if (ncaps >= CAP_MSGS)
        return -1;
    m = &caps[ncaps++];
    memset(m, 0, sizeof *m);
    m->lane = lane;
    m->len = len;
    if (sfa_codec_parse(msg, len, &env) != 0)
        return 0; /* recorded with no topic: the checks below fail */
    snprintf(m->topic, sizeof m->topic, "%.*s", (int)env.topic_len, env.topic);
    m->seq = env.seq;
    if (sfa_codec_each_dgram(&env, scratch, count_cb, m) != 0)
        m->ndgrams = -1;
    return 0;
}

static void
mk(const char *agent, uint32_t seq)
{
    memset(dg, 0, offsetof(sfa_dgram, samples));
    dg->version = 5;
    if (sfa_addr_parse(agent, &dg->agent) != 0 || sfa_addr_parse("127.0.0.1", &dg->src) != 0)
        abort();
    dg->seq = seq;
    dg->uptime = 1000 + seq;
    dg->nfields = 0;
}

static void
add(uint32_t tag, uint32_t seq)
{
    sfa_sample *s = &dg->samples[dg->nsamples++];

    memset(s, 0, sizeof *s);
    s->tag = tag;
    s->seq = seq;
    s->ds_index = 7;
    s->rate = tag == SFA_SAMPLE_DISCARD ? 0 : 100;
    s->field_first = dg->nfields;
}

/* Give the last sample n unsigned fields (to make big datagrams). */
static void
add_fields(unsigned n)
{
    sfa_sample *s = &dg->samples[dg->nsamples - 1];

    for (unsigned i = 0; i < n; i++) {
        sfa_field *f = &dg->fields[dg->nfields++];
        memset(f, 0, sizeof *f);
        f->id = SFA_F_FRAME_LENGTH;
        f->type = SFA_T_U;
        f->v.u = 1000000u + i;
        s->field_count++;
    }
}

static const char *
topic_of(int kind, const char *agent, char *buf)
{
    sfa_addr a;

    if (sfa_addr_parse(agent, &a) != 0)
        abort();
    sfa_topic_samples(buf, kind, sfa_bucket_of(&a));
    return buf;
}

static void
test_one_datagram(void)
{
    col_pub *p;
    char t[SFA_TOPIC_MAX];
    sfa_addr a;
    json_t *st;

    ncaps = 0;
    CHECK_OK(col_pub_open_custom(&p, 4, 32768, "test:1", cap_send, NULL), "open");
    mk("10.0.0.1", 1);
    add(SFA_SAMPLE_FLOW, 1);
    add(SFA_SAMPLE_COUNTER, 1);
    add(SFA_SAMPLE_DISCARD, 1);
    col_pub_add(p, dg);
    CHECK_EQ(ncaps, 0, "nothing sent before the drain ends");
    col_pub_flush(p);
    CHECK_EQ(ncaps, 2, "one flow and one counter message");
    if (sfa_addr_parse("10.0.0.1", &a) != 0)
        abort();
    CHECK_STR(caps[0].topic, topic_of(SFA_KIND_FLOW, "10.0.0.1", t), "flow topic by bucket");
    CHECK_STR(caps[1].topic, topic_of(SFA_KIND_COUNTER, "10.0.0.1", t), "counter topic");
    CHECK_EQ(caps[0].lane, (int)(sfa_bucket_of(&a) % 4), "lane = bucket % lanes");
    CHECK_EQ(caps[0].seq, 1, "flow seq starts at 1");
    CHECK_EQ(caps[1].seq, 1, "counter seq starts at 1");
    CHECK_EQ(caps[0].ndgrams, 1, "flow message holds the datagram");
    CHECK_EQ(caps[0].nsamples, 2, "flow and discard samples on the flow topic");
    CHECK_EQ(caps[1].nsamples, 1, "counter sample on the counter topic");
    col_pub_flush(p);
    CHECK_EQ(ncaps, 2, "an empty flush sends nothing");

    mk("10.0.0.1", 2);
    add(SFA_SAMPLE_FLOW, 2);
    col_pub_add(p, dg);
    mk("10.0.0.1", 3); /* no samples at all */
    col_pub_add(p, dg);
    col_pub_flush(p);
    CHECK_EQ(ncaps, 3, "only the flow topic gets the flow-only datagram");
    CHECK_EQ(caps[2].seq, 2, "flow seq continues per topic");

    st = json_object();
    col_pub_stats_json(p, st);
    CHECK_EQ(json_integer_value(json_object_get(st, "batch_flushes")), 3, "flushes counted");
    CHECK_EQ(json_integer_value(json_object_get(st, "pub_flow_datagrams")), 2, "flow datagrams");
    CHECK_EQ(json_array_size(json_object_get(st, "bus_lanes")), 4, "per-lane stats");
    json_decref(st);
    col_pub_close(p);
}

static void
test_batching(void)
{
    col_pub *p;
    int total = 0, ok_seq = 1, ok_size = 1, ok_topic = 1;
    char t[SFA_TOPIC_MAX];

    ncaps = 0;
    CHECK_OK(col_pub_open_custom(&p, 2, 2048, "test:2", cap_send, NULL), "open small batches");
    topic_of(SFA_KIND_FLOW, "10.0.0.2", t);
    for (uint32_t i = 1; i <= 500; i++) {
        mk("10.0.0.2", i);
        add(SFA_SAMPLE_FLOW, i);
        add(SFA_SAMPLE_FLOW, i + 1000);
        col_pub_add(p, dg);
    }
    CHECK(ncaps > 5, "full batches are published before the drain ends");
    col_pub_flush(p);
    for (int i = 0; i < ncaps; i++) {
        total += caps[i].ndgrams;
        if (caps[i].seq != (uint64_t)i + 1)
            ok_seq = 0;
        if (caps[i].len > 2048)
            ok_size = 0;
        if (strcmp(caps[i].topic, t) != 0)
            ok_topic = 0;
    }
    CHECK_EQ(total, 500, "every datagram published exactly once");
    CHECK(ok_seq, "sequence 1, 2, 3, ... without gaps");
    CHECK(ok_size, "no message exceeds bus.batch.bytes");
    CHECK(ok_topic, "all on the agent's flow topic");
    col_pub_close(p);

    /* Two agents in different buckets get separate batches and sequences. */
    ncaps = 0;
    CHECK_OK(col_pub_open_custom(&p, 4, 65536, "test:3", cap_send, NULL), "open");
    const char *agents[] = {"10.1.0.1", "10.1.0.2", "10.1.0.3"};
    for (int r = 0; r < 10; r++)
        for (int k = 0; k < 3; k++) {
            mk(agents[k], (uint32_t)r + 1);
            add(SFA_SAMPLE_COUNTER, (uint32_t)r + 1);
            col_pub_add(p, dg);
        }
    col_pub_flush(p);
    total = 0;
    for (int i = 0; i < ncaps; i++) {
        total += caps[i].ndgrams;
        CHECK_EQ(caps[i].seq, 1, "first message of its topic");
    }
    CHECK_EQ(total, 30, "30 datagrams over the agents' topics");
    col_pub_close(p);
}

static void
test_oversize_and_failures(void)
{
    col_pub *p;
    json_t *st;

    ncaps = 0;
    CHECK_OK(col_pub_open_custom(&p, 1, 1024, "test:4", cap_send, NULL), "open tiny batches");
    mk("10.0.0.9", 1);
    add(SFA_SAMPLE_FLOW, 1);
    add_fields(400);
    col_pub_add(p, dg);
    CHECK_EQ(ncaps, 1, "oversize datagram sent at once, alone");
    CHECK(caps[0].len > 1024, "it is larger than a batch");
    CHECK_EQ(caps[0].ndgrams, 1, "and decodes as one datagram");
    CHECK_EQ(caps[0].seq, 1, "with the topic's next sequence number");
    mk("10.0.0.9", 2);
    add(SFA_SAMPLE_FLOW, 2);
    col_pub_add(p, dg);
    col_pub_flush(p);
    CHECK_EQ(ncaps, 2, "a small one follows in a batch");
    CHECK_EQ(caps[1].seq, 2, "sequence continues");

    fail_sends = 1;
    mk("10.0.0.9", 3);
    add(SFA_SAMPLE_FLOW, 3);
    col_pub_add(p, dg);
    col_pub_flush(p);
    fail_sends = 0;
    st = json_object();
    col_pub_stats_json(p, st);
    CHECK_EQ(json_integer_value(json_object_get(st, "bus_send_failed")), 1, "failure counted");
    CHECK_EQ(json_integer_value(json_object_get(st, "batch_oversize")), 1, "oversize counted");
    json_decref(st);
    col_pub_close(p);
}

int
main(void)
{
    dg = sfa_xcalloc(1, sizeof *dg);
    scratch = sfa_xcalloc(1, sizeof *scratch);
    test_one_datagram();
    test_batching();
    test_oversize_and_failures();
    free(dg);
    free(scratch);
    return test_done();
}
