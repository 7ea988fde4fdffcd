/* accounting_test.c - agent accounting against crafted sequences.
 *
 * Builds decoded datagrams by hand (no decoder involved) and checks the
 * /agents/json fields: datagram gaps, duplicates, reordering, restarts
 * (not loss), sub-agents as separate streams, sample sequences per data
 * source and kind, agent-reported drops as summed deltas, sources and
 * elapsed times.
 */
#include <stdlib.h>
#include <string.h>

#include <sfa/mem.h>

#include "col.h"
#include "test.h"

static sfa_dgram *dg;

static void
mk(const char *agent, uint32_t sub, uint32_t seq, uint32_t uptime)
{
    dg->nsamples = 0;
    dg->nfields = 0;
    dg->status = 0;
    dg->version = 5;
    if (sfa_addr_parse(agent, &dg->agent) != 0)
        abort();
    dg->src = dg->agent;
    dg->sub_agent = sub;
    dg->seq = seq;
    dg->uptime = uptime;
}

static void
add(uint32_t tag, uint32_t cls, uint32_t idx, uint32_t seq, uint32_t drops)
{
    sfa_sample *s = &dg->samples[dg->nsamples++];

    memset(s, 0, sizeof *s);
    s->tag = tag;
    s->ds_class = cls;
    s->ds_index = idx;
    s->seq = seq;
    s->drops = drops;
}

static long long
field(col_acct *a, const char *agent, const char *name, uint64_t now)
{
    json_t *root = col_acct_json(a, now);
    json_t *v = json_object_get(json_object_get(root, agent), name);
    long long r = json_is_integer(v) ? (long long)json_integer_value(v) : -1;

    json_decref(root);
    return r;
}

static void
test_datagram_sequences(void)
{
    col_acct *a = col_acct_create();
    const char *A = "10.0.0.1";
    uint32_t seqs[] = {1, 2, 5, 5, 7, 6};
    uint32_t ups[] = {100000, 100010, 100040, 100040, 100060, 100050};

    for (unsigned i = 0; i < 6; i++) {
        mk(A, 0, seqs[i], ups[i]);
        col_acct_dgram(a, dg, 100 + i);
    }
    CHECK_EQ(field(a, A, "sFlowDatagramsReceived", 200), 6, "received counts every datagram");
    CHECK_EQ(field(a, A, "sFlowDatagramsLost", 200), 3, "gaps 2->5 and 5->7 lose 3");
    CHECK_EQ(field(a, A, "sFlowDatagramsDuplicates", 200), 1, "repeated 5 is a duplicate");
    CHECK_EQ(field(a, A, "sFlowDatagramsOutOfOrder", 200), 1, "6 after 7 is out of order");
    CHECK_EQ(field(a, A, "uptime", 200), 100050, "uptime is the latest reported");
    CHECK_EQ(field(a, A, "firstSeen", 200), 100, "firstSeen is ms since the first datagram");
    CHECK_EQ(field(a, A, "lastSeen", 200), 95, "lastSeen is ms since the last datagram");

    /* After the reorder the stream continues from 7. */
    mk(A, 0, 8, 100070);
    col_acct_dgram(a, dg, 300);
    CHECK_EQ(field(a, A, "sFlowDatagramsLost", 300), 3, "8 after 7 is normal");

    /* Agent restart: numbering starts again with uptime near zero. */
    mk(A, 0, 1, 20);
    col_acct_dgram(a, dg, 301);
    mk(A, 0, 2, 30);
    col_acct_dgram(a, dg, 302);
    CHECK_EQ(field(a, A, "sFlowDatagramsLost", 400), 3, "restart is not loss");
    CHECK_EQ(field(a, A, "sFlowDatagramsOutOfOrder", 400), 1, "restart is not reorder");
    CHECK_EQ(field(a, A, "sFlowDatagramsDuplicates", 400), 1, "restart is not a duplicate");

    /* A jump beyond the window is a discontinuity, not 50000 lost. */
    mk(A, 0, 50002, 40);
    col_acct_dgram(a, dg, 303);
    mk(A, 0, 50003, 50);
    col_acct_dgram(a, dg, 304);
    CHECK_EQ(field(a, A, "sFlowDatagramsLost", 400), 3, "large jump is not loss");

    /* A large step back with uptime still increasing is a discontinuity too. */
    mk(A, 0, 3, 60);
    col_acct_dgram(a, dg, 305);
    mk(A, 0, 4, 70);
    col_acct_dgram(a, dg, 306);
    CHECK_EQ(field(a, A, "sFlowDatagramsOutOfOrder", 400), 1, "large step back is not reorder");
    CHECK_EQ(field(a, A, "sFlowDatagramsLost", 400), 3, "and not loss");
    CHECK_EQ(field(a, A, "sFlowDatagramsReceived", 400), 13, "all datagrams received");

    col_acct_stats st;
    col_acct_get_stats(a, &st);
    CHECK_EQ(st.restarts, 3, "three discontinuities counted");
    CHECK_EQ(st.agents, 1, "one agent");
    col_acct_destroy(a);
}

static void
test_wrap_and_subagents(void)
{
    col_acct *a = col_acct_create();
    const char *A = "2001:db8::1";

    mk(A, 0, 0xfffffffeu, 5);
    col_acct_dgram(a, dg, 1);
    mk(A, 1, 0xfffffffeu, 5);
    col_acct_dgram(a, dg, 1);
    mk(A, 0, 0xffffffffu, 6);
    col_acct_dgram(a, dg, 2);
    mk(A, 1, 0xffffffffu, 6);
    col_acct_dgram(a, dg, 2);
    mk(A, 0, 0, 7);
    col_acct_dgram(a, dg, 3);
    mk(A, 1, 0, 7);
    col_acct_dgram(a, dg, 3);
    CHECK_EQ(field(a, A, "sFlowDatagramsReceived", 3), 6, "IPv6 agent keyed in RFC 5952 form");
    CHECK_EQ(field(a, A, "sFlowDatagramsDuplicates", 3), 0, "sub-agents number separately");
    CHECK_EQ(field(a, A, "sFlowDatagramsLost", 3), 0, "wrap 0xffffffff -> 0 is +1");

    /* Uptime wrapping at 2^32 ms is not a restart either. */
    mk(A, 0, 1, 0xfffffff0u);
    col_acct_dgram(a, dg, 4);
    mk(A, 0, 3, 10);
    col_acct_dgram(a, dg, 5);
    CHECK_EQ(field(a, A, "sFlowDatagramsLost", 5), 1, "gap across an uptime wrap is loss");
    col_acct_destroy(a);
}

static void
test_samples(void)
{
    col_acct *a = col_acct_create();
    const char *A = "192.0.2.9";
    json_t *root, *g, *srcs;

    /* Flow samples of ifIndex 3: 10, 11, 14 (2 lost), 14 (dup), 13 (reorder). */
    uint32_t fseq[] = {10, 11, 14, 14, 13};
    uint32_t drops[] = {100, 105, 112, 112, 112};
    for (unsigned i = 0; i < 5; i++) {
        mk(A, 0, i + 1, 1000 + i);
        add(SFA_SAMPLE_FLOW, 0, 3, fseq[i], drops[i]);
        add(SFA_SAMPLE_FLOW_EXPANDED, 0, 4, i + 1, 0); /* second data source, in order */
        add(SFA_SAMPLE_COUNTER, 0, 3, 500 + i, 0);     /* counters of ifIndex 3 */
        if (i == 2)
            add(SFA_SAMPLE_COUNTER_EXPANDED, 2, 1, 7, 0);
        col_acct_dgram(a, dg, 10);
    }
    /* A second UDP source for the same agent. */
    mk(A, 0, 6, 2000);
    if (sfa_addr_parse("198.51.100.1", &dg->src) != 0)
        abort();
    add(SFA_SAMPLE_DISCARD, 0, 3, 1, 9);
    col_acct_dgram(a, dg, 11);

    CHECK_EQ(field(a, A, "sFlowFlowSamples", 20), 10, "flow and expanded flow samples");
    CHECK_EQ(field(a, A, "sFlowFlowLostSamples", 20), 2, "sample gap 11 -> 14");
    CHECK_EQ(field(a, A, "sFlowFlowDuplicateSamples", 20), 1, "sample duplicate");
    CHECK_EQ(field(a, A, "sFlowFlowOutOfOrderSamples", 20), 1, "sample reorder");
    CHECK_EQ(field(a, A, "sFlowFlowDrops", 20), 12, "drops summed as deltas from 100");
    CHECK_EQ(field(a, A, "sFlowFlowDatasources", 20), 2, "two flow data sources");
    CHECK_EQ(field(a, A, "sFlowCounterSamples", 20), 6, "counter samples");
    CHECK_EQ(field(a, A, "sFlowCounterLostSamples", 20), 0, "counter sequence separate from flow");
    CHECK_EQ(field(a, A, "sFlowCounterDatasources", 20), 2, "two counter data sources");
    CHECK_EQ(field(a, A, "sFlowDiscardSamples", 20), 1, "discard samples counted apart");
    CHECK_EQ(field(a, A, "sFlowDatagramsLost", 20), 0, "datagrams in order");

    root = col_acct_json(a, 20);
    g = json_object_get(root, A);
    srcs = json_object_get(g, "sFlowDatagramSource");
    CHECK_EQ(json_array_size(srcs), 2, "two datagram sources");
    CHECK_STR(json_string_value(json_array_get(srcs, 0)), A, "first source");
    CHECK_STR(json_string_value(json_array_get(srcs, 1)), "198.51.100.1", "second source");
    const char *names[] = {"sFlowDatagramSource",
                           "firstSeen",
                           "lastSeen",
                           "uptime",
                           "sFlowDatagramsReceived",
                           "sFlowDatagramsLost",
                           "sFlowDatagramsOutOfOrder",
                           "sFlowDatagramsDuplicates",
                           "sFlowFlowSamples",
                           "sFlowFlowLostSamples",
                           "sFlowFlowDrops",
                           "sFlowFlowOutOfOrderSamples",
                           "sFlowFlowDuplicateSamples",
                           "sFlowFlowDatasources",
                           "sFlowCounterSamples",
                           "sFlowCounterLostSamples",
                           "sFlowCounterOutOfOrderSamples",
                           "sFlowCounterDuplicateSamples",
                           "sFlowCounterDatasources"};
    int all = 1;
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!json_object_get(g, names[i]))
            all = 0;
    CHECK(all, "every sFlow-RT /agents/json field present");
    json_decref(root);
    col_acct_destroy(a);
}

static void
test_many_agents(void)
{
    col_acct *a = col_acct_create();
    char text[32];
    json_t *root;
    col_acct_stats st;

    for (unsigned i = 0; i < 3000; i++) {
        snprintf(text, sizeof text, "10.%u.%u.1", i / 256, i % 256);
        mk(text, 0, 1, 1);
        add(SFA_SAMPLE_FLOW, 0, i, 1, 0);
        col_acct_dgram(a, dg, 1);
        mk(text, 0, 2, 2);
        add(SFA_SAMPLE_FLOW, 0, i, 2, 0);
        col_acct_dgram(a, dg, 2);
    }
    CHECK_EQ(col_acct_count(a), 3000, "3000 agents after table growth");
    root = col_acct_json(a, 5);
    CHECK_EQ(json_object_size(root), 3000, "3000 agents in JSON");
    CHECK_EQ(field(a, "10.11.183.1", "sFlowDatagramsReceived", 5), 2, "an agent kept its counts");
    json_decref(root);
    col_acct_get_stats(a, &st);
    CHECK_EQ(st.datasources, 3000, "one data source each");
    CHECK_EQ(st.overflow, 0, "nothing overflowed");
    col_acct_destroy(a);
}

int
main(void)
{
    dg = sfa_xcalloc(1, sizeof *dg);
    test_datagram_sequences();
    test_wrap_and_subagents();
    test_samples();
    test_many_agents();
    free(dg);
    return test_done();
}
