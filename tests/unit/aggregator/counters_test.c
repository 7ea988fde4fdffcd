/* counters_test.c - counter metrics per data source (services/aggregator/
 * counters.c, ctr_catalog.c) from hand-built counter samples at explicit
 * times.
 *
 * Checks: the catalogue (which fields are rates, how wide, enums, names);
 * rates from known deltas using the agent's uptime, falling back to the
 * receive clock when the uptime is unusable; 32-bit and 64-bit wraps;
 * all-ones counters omitted; a counter reset and an agent restart give no
 * negative and no spiking rate; duplicates ignored; derived interface and
 * host metrics; texts, enums, UUIDs; expiry of silent sources and of
 * metrics no longer sent; dropping the sources of a lost bucket.
 */
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "counters.h"
#include "flow_sample.h"
#include "test.h"

/* An if_counters record's values. */
typedef struct ifv {
    uint64_t speed, in_oct, out_oct;
    uint32_t status, in_ucast, in_mcast, in_bcast, out_ucast;
} ifv;

static sfa_dgram *
dgram(const char *agent, uint32_t uptime_ms, uint64_t rx_ms)
{
    sfa_dgram *d = fs_dgram_new(agent);

    d->uptime = uptime_ms;
    d->rx_ms = rx_ms;
    return d;
}

static void
ifc_sample(sfa_dgram *d, uint32_t ifindex, uint32_t seq, const ifv *v)
{
    sfa_sample *s = fs_sample(d, SFA_SAMPLE_COUNTER, ifindex, 0);

    s->seq = seq;
    fs_u(d, SFA_F_IFINDEX, ifindex);
    fs_u(d, SFA_F_IFTYPE, 6);
    fs_u(d, SFA_F_IFSPEED, v->speed);
    fs_u(d, SFA_F_IFDIRECTION, 1);
    fs_u(d, SFA_F_IFSTATUS, v->status);
    fs_u(d, SFA_F_IFINOCTETS, v->in_oct);
    fs_u(d, SFA_F_IFINUCASTPKTS, v->in_ucast);
    fs_u(d, SFA_F_IFINMULTICASTPKTS, v->in_mcast);
    fs_u(d, SFA_F_IFINBROADCASTPKTS, v->in_bcast);
    fs_u(d, SFA_F_IFOUTOCTETS, v->out_oct);
    fs_u(d, SFA_F_IFOUTUCASTPKTS, v->out_ucast);
}

/* Feed one interface sample of agent 10.0.0.1 ifIndex 3. */
static void
feed_if(agg_counters *k, uint32_t seq, uint32_t uptime_ms, uint64_t rx_ms, const ifv *v, double now)
{
    sfa_dgram *d = dgram("10.0.0.1", uptime_ms, rx_ms);

    ifc_sample(d, 3, seq, v);
    agg_counters_dgram(k, d, now);
    free(d);
}

static uint32_t
src_of(agg_counters *k, const char *agent, uint32_t cls, uint32_t idx)
{
    sfa_addr a;
    uint32_t id = UINT32_MAX;

    if (sfa_addr_parse(agent, &a) != 0 || agg_counters_find(k, &a, cls, idx, &id) != 0)
        return UINT32_MAX;
    return id;
}

/* The numeric value of metric name at (agent, ifIndex 3 or host 2.1); NAN if none. */
static double
val(agg_counters *k, uint32_t src, const char *name)
{
    agg_cval v;
    int id = agg_metric_lookup(name, strlen(name));

    if (id < 0 || !agg_counters_value(k, src, (unsigned)id, &v) || v.is_text)
        return NAN;
    return v.num;
}

static const char *
txt(agg_counters *k, uint32_t src, const char *name, agg_cval *v)
{
    int id = agg_metric_lookup(name, strlen(name));

    if (id < 0 || !agg_counters_value(k, src, (unsigned)id, v) || !v->is_text)
        return NULL;
    return v->text;
}

static double
updated(agg_counters *k, uint32_t src, const char *name)
{
    agg_cval v;
    int id = agg_metric_lookup(name, strlen(name));

    return id >= 0 && agg_counters_value(k, src, (unsigned)id, &v) ? v.updated : -1;
}

static void
test_catalog(void)
{
    CHECK(agg_metric_kind(SFA_F_IFINOCTETS) == AGG_CK_RATE &&
              agg_metric_width(SFA_F_IFINOCTETS) == 64,
          "ifinoctets: a 64-bit counter");
    CHECK(agg_metric_kind(SFA_F_IFINUCASTPKTS) == AGG_CK_RATE &&
              agg_metric_width(SFA_F_IFINUCASTPKTS) == 32,
          "ifinucastpkts: a 32-bit counter");
    CHECK(agg_metric_width(SFA_F_BYTES_IN) == 64 && agg_metric_width(SFA_F_PKTS_IN) == 32,
          "host_net_io: 64-bit bytes, 32-bit packets");
    CHECK(agg_metric_kind(SFA_F_VLAN_ID) == AGG_CK_GAUGE, "vlan_id is no counter");
    CHECK(agg_metric_kind(SFA_F_TCP_CURRESTAB) == AGG_CK_GAUGE, "tcp_currestab is a gauge");
    CHECK(agg_metric_kind(SFA_F_DOT11_ASSOCIATEDSTATIONS) == AGG_CK_GAUGE,
          "dot11_associatedstations is a gauge");
    CHECK(agg_metric_kind(SFA_F_IFSPEED) == AGG_CK_GAUGE, "ifspeed is a gauge");
    CHECK(agg_metric_kind(SFA_F_IP_INRECEIVES) == AGG_CK_RATE, "ip_inreceives is a counter");
    CHECK(agg_metric_kind(SFA_F_CPU_IDLE) == AGG_CK_CPU, "cpu_idle: share of CPU time");
    CHECK(agg_metric_kind(SFA_F_HOST_NAME) == AGG_CK_TEXT, "host_name is text");
    CHECK(agg_metric_kind(SFA_F_OS_NAME) == AGG_CK_ENUM, "os_name is an enumeration");
    CHECK(agg_metric_kind(SFA_F_PART_MAX_USED) == AGG_CK_PCT100, "part_max_used in 1/100 %");
    CHECK(agg_metric_kind(SFA_F_IFSTATUS) == AGG_CK_SKIP, "ifstatus is no metric itself");
    CHECK(agg_metric_lookup("ifstatus", 8) == -1, "ifstatus is not looked up");
    CHECK(agg_metric_lookup("ifoperstatus", 12) == AGG_M_IFOPERSTATUS, "derived names");
    CHECK(agg_metric_lookup("load_one", 8) == SFA_F_LOAD_ONE, "field names");
    CHECK(agg_metric_lookup("nosuchmetric", 12) == -1, "unknown names");
    CHECK_STR(agg_metric_name(AGG_M_IFINUTILIZATION), "ifinutilization", "derived name text");
    {
        char buf[32];

        CHECK_STR(agg_metric_enum_text(SFA_F_IFTYPE, 6, buf, sizeof buf), "ethernetCsmacd",
                  "iftype 6");
        CHECK_STR(agg_metric_enum_text(SFA_F_IFTYPE, 9999, buf, sizeof buf), "9999",
                  "unknown iftype in decimal");
        CHECK_STR(agg_metric_enum_text(SFA_F_IFDIRECTION, 2, buf, sizeof buf), "half-duplex",
                  "ifdirection 2");
        CHECK_STR(agg_metric_enum_text(SFA_F_OS_NAME, 2, buf, sizeof buf), "linux", "os_name 2");
        CHECK_STR(agg_metric_enum_text(SFA_F_MACHINE_TYPE, 3, buf, sizeof buf), "x86_64",
                  "machine_type 3");
    }
}

static void
test_rates(void)
{
    agg_counters *k = agg_counters_create(100);
    ifv v = {.speed = 1000000000,
             .status = 3,
             .in_oct = 1000,
             .out_oct = 5000,
             .in_ucast = 100,
             .in_mcast = 10,
             .in_bcast = 1,
             .out_ucast = 50};
    uint32_t src;
    agg_cval cv;

    feed_if(k, 1, 50000, 1700000000000ull, &v, 100.0);
    src = src_of(k, "10.0.0.1", 0, 3);
    CHECK(src != UINT32_MAX, "the source is registered");
    CHECK(isnan(val(k, src, "ifinoctets")), "one sample: no rate yet");
    CHECK_NEAR(val(k, src, "ifspeed"), 1e9, 0, "gauge at once");
    CHECK_STR(txt(k, src, "ifoperstatus", &cv), "up", "ifoperstatus up");
    CHECK_STR(txt(k, src, "ifadminstatus", &cv), "up", "ifadminstatus up");
    CHECK_STR(txt(k, src, "iftype", &cv), "ethernetCsmacd", "iftype as a name");
    CHECK_STR(txt(k, src, "ifdirection", &cv), "full-duplex", "ifdirection as a name");
    /* 10 s later by the agent's clock; the collector saw 10.4 s (jitter). */
    v.in_oct += 10 * 125000;
    v.out_oct += 10 * 250000;
    v.in_ucast += 10 * 1000;
    v.in_mcast += 10 * 20;
    v.in_bcast += 10 * 5;
    v.out_ucast += 10 * 400;
    v.status = 1;
    feed_if(k, 2, 60000, 1700000010400ull, &v, 110.4);
    CHECK_NEAR(val(k, src, "ifinoctets"), 125000, 1e-9, "ifinoctets rate by uptime delta");
    CHECK_NEAR(val(k, src, "ifoutoctets"), 250000, 1e-9, "ifoutoctets rate");
    CHECK_NEAR(val(k, src, "ifinucastpkts"), 1000, 1e-9, "ifinucastpkts rate");
    CHECK_NEAR(val(k, src, "ifinpkts"), 1025, 1e-9, "ifinpkts = ucast + mcast + bcast");
    CHECK_NEAR(val(k, src, "ifoutpkts"), 400, 1e-9, "ifoutpkts");
    CHECK_NEAR(val(k, src, "ifinutilization"), 125000 * 800.0 / 1e9, 1e-12,
               "ifinutilization = rate x 800 / ifspeed");
    CHECK_NEAR(val(k, src, "ifoututilization"), 0.2, 1e-12, "ifoututilization");
    CHECK_STR(txt(k, src, "ifoperstatus", &cv), "down", "ifoperstatus follows bit 1");
    CHECK_STR(txt(k, src, "ifadminstatus", &cv), "up", "ifadminstatus follows bit 0");
    CHECK_NEAR(updated(k, src, "ifinoctets"), 110.4, 1e-9, "updated at the handling time");

    /* An agent whose uptime stands still: the receive clock is used. */
    {
        sfa_dgram *d = dgram("10.0.0.2", 0, 1000000);
        ifv w = {.speed = 0, .status = 3, .in_oct = 0};
        uint32_t s2;

        ifc_sample(d, 7, 1, &w);
        agg_counters_dgram(k, d, 1.0);
        free(d);
        w.in_oct = 8000;
        d = dgram("10.0.0.2", 0, 1004000);
        ifc_sample(d, 7, 2, &w);
        agg_counters_dgram(k, d, 5.0);
        free(d);
        s2 = src_of(k, "10.0.0.2", 0, 7);
        CHECK_NEAR(val(k, s2, "ifinoctets"), 2000, 1e-9, "uptime unusable: rx_ms delta");
        CHECK(isnan(val(k, s2, "ifinutilization")), "no ifinutilization without ifspeed");
        /* Uptime in seconds instead of ms: far slower than the receive clock. */
        d = dgram("10.0.0.2", 100, 1008000);
        w.in_oct = 16000;
        ifc_sample(d, 7, 3, &w);
        agg_counters_dgram(k, d, 9.0);
        free(d);
        d = dgram("10.0.0.2", 104, 1012000);
        w.in_oct = 24000;
        ifc_sample(d, 7, 4, &w);
        agg_counters_dgram(k, d, 13.0);
        free(d);
        CHECK_NEAR(val(k, s2, "ifinoctets"), 2000, 1e-9, "uptime 1000x too slow: rx_ms delta");
    }
    agg_counters_destroy(k);
}

static void
test_wraps(void)
{
    agg_counters *k = agg_counters_create(100);
    ifv v = {.speed = 10000000000ull,
             .status = 3,
             .in_oct = (1ull << 32) - 100,
             .out_oct = UINT64_MAX - 999,
             .in_ucast = 0xffffff00u,
             .in_mcast = 0xffffffffu};
    uint32_t src;
    agg_counters_stats st;

    feed_if(k, 10, 1000, 1, &v, 1.0);
    v.in_oct += 1000;        /* crosses 2^32: no wrap for a 64-bit counter */
    v.out_oct = 1000;        /* 64-bit wrap: + 2000 */
    v.in_ucast = 0x100;      /* 32-bit wrap: + 0x200 */
    v.in_mcast = 0xffffffff; /* unavailable */
    feed_if(k, 11, 3000, 2, &v, 3.0);
    src = src_of(k, "10.0.0.1", 0, 3);
    CHECK_NEAR(val(k, src, "ifinoctets"), 500, 1e-9, "64-bit counter across 2^32");
    CHECK_NEAR(val(k, src, "ifoutoctets"), 1000, 1e-9, "64-bit wrap");
    CHECK_NEAR(val(k, src, "ifinucastpkts"), 256, 1e-9, "32-bit wrap");
    CHECK(isnan(val(k, src, "ifinmulticastpkts")), "all-ones counter omitted");
    CHECK_NEAR(val(k, src, "ifinpkts"), 256 + 0, 1e-9, "ifinpkts without the unavailable one");
    agg_counters_get_stats(k, &st);
    CHECK_EQ(st.wraps, 2, "two wraps counted");
    CHECK_EQ(st.unavailable, 2, "two unavailable values counted");
    agg_counters_destroy(k);
}

static void
test_reset_restart(void)
{
    agg_counters *k = agg_counters_create(100);
    ifv v = {.speed = 1000000000, .status = 3, .in_oct = 5000000000ull, .in_ucast = 3000000000u};
    double t = 100;
    uint32_t up = 900000, seq = 50, src;
    agg_counters_stats st;
    int bad = 0;

    for (int i = 0; i < 5; i++, t += 1, up += 1000, seq++) {
        feed_if(k, seq, up, (uint64_t)(t * 1000), &v, t);
        v.in_oct += 1000000;
        v.in_ucast += 1000;
    }
    src = src_of(k, "10.0.0.1", 0, 3);
    CHECK_NEAR(val(k, src, "ifinoctets"), 1e6, 1e-6, "steady 1 MB/s");
    /* A counter cleared on a running agent: ifInOctets back to 0 and
     * ifInUcastPkts to 7 (a 32-bit decrease by more than half the range). */
    v.in_oct = 0;
    v.in_ucast = 7;
    feed_if(k, seq++, up, (uint64_t)(t * 1000), &v, t);
    up += 1000, t += 1;
    CHECK_NEAR(val(k, src, "ifinoctets"), 1e6, 1e-6, "reset: the last rate stays, no spike");
    CHECK_NEAR(val(k, src, "ifinucastpkts"), 1000, 1e-6, "reset: 32-bit, no spike");
    agg_counters_get_stats(k, &st);
    CHECK_EQ(st.resets, 2, "two resets counted");
    v.in_oct += 2000000;
    v.in_ucast += 2000;
    feed_if(k, seq++, up, (uint64_t)(t * 1000), &v, t);
    up += 1000, t += 1;
    CHECK_NEAR(val(k, src, "ifinoctets"), 2e6, 1e-6, "after the reset: the new rate");
    /* The agent restarts: sequence numbers, uptime and counters from 0. The
     * counters come back larger than before for ifInUcastPkts, which a wrap
     * check alone would take for a huge rate. */
    seq = 1;
    up = 1000;
    v.in_oct = 500000;
    v.in_ucast = 3100000000u;
    feed_if(k, seq++, up, (uint64_t)(t * 1000), &v, t);
    up += 1000, t += 1;
    agg_counters_get_stats(k, &st);
    CHECK_EQ(st.restarts, 1, "restart detected");
    CHECK_NEAR(val(k, src, "ifinoctets"), 2e6, 1e-6, "restart interval: no new rate");
    CHECK_NEAR(val(k, src, "ifinucastpkts"), 2000, 1e-6, "restart interval: no spike");
    CHECK_NEAR(updated(k, src, "ifinoctets"), t - 2, 1e-9, "its age grows meanwhile");
    for (int i = 0; i < 3; i++, t += 1, up += 1000, seq++) {
        v.in_oct += 3000000;
        v.in_ucast += 3000;
        feed_if(k, seq, up, (uint64_t)(t * 1000), &v, t);
        bad |= !(val(k, src, "ifinoctets") >= 0 && val(k, src, "ifinoctets") <= 3e6 + 1);
    }
    CHECK(!bad, "after the restart: no negative, no spike");
    CHECK_NEAR(val(k, src, "ifinoctets"), 3e6, 1e-6, "after the restart: the true rate");
    CHECK_NEAR(val(k, src, "ifinucastpkts"), 3000, 1e-6, "after the restart: packets too");
    /* The same sample twice. */
    feed_if(k, seq - 1, up - 1000, (uint64_t)(t * 1000), &v, t);
    agg_counters_get_stats(k, &st);
    CHECK_EQ(st.duplicates, 1, "a duplicate sample is ignored");
    CHECK_NEAR(val(k, src, "ifinoctets"), 3e6, 1e-6, "and changes nothing");
    agg_counters_destroy(k);
}

static void
host_sample(sfa_dgram *d, uint32_t seq, double e)
{
    static const uint8_t uuid[16] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
                                     0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
    sfa_sample *s = fs_sample(d, SFA_SAMPLE_COUNTER, 1, 0);

    s->ds_class = 2;
    s->seq = seq;
    fs_str(d, SFA_F_HOST_NAME, "web-1");
    fs_bytes(d, SFA_F_UUID, SFA_T_BIN, uuid, 16, 16);
    fs_u(d, SFA_F_MACHINE_TYPE, 3);
    fs_u(d, SFA_F_OS_NAME, 2);
    fs_str(d, SFA_F_OS_RELEASE, "6.1.0");
    fs_f(d, SFA_F_LOAD_ONE, 2.0);
    fs_f(d, SFA_F_LOAD_FIVE, 1.0);
    fs_u(d, SFA_F_CPU_NUM, 8);
    fs_u(d, SFA_F_CPU_USER, (uint32_t)(e * 1600));
    fs_u(d, SFA_F_CPU_SYSTEM, (uint32_t)(e * 400));
    fs_u(d, SFA_F_CPU_IDLE, (uint32_t)(e * 6000));
    fs_u(d, SFA_F_CPU_GUEST, (uint32_t)(e * 80));
    fs_u(d, SFA_F_MEM_TOTAL, 16ull << 30);
    fs_u(d, SFA_F_MEM_FREE, 4ull << 30);
    fs_u(d, SFA_F_MEM_BUFFERS, 1ull << 30);
    fs_u(d, SFA_F_MEM_CACHED, 3ull << 30);
    fs_u(d, SFA_F_DISK_TOTAL, 1000);
    fs_u(d, SFA_F_DISK_FREE, 250);
    fs_field(d, SFA_F_PART_MAX_USED, SFA_T_I)->v.i = 8125;
    fs_u(d, SFA_F_BYTES_IN, 0xfffff000ull + (uint64_t)(e * 1e6));
    fs_u(d, SFA_F_PKTS_IN, (uint32_t)(0xffffff00u + (uint64_t)(e * 1000)));
}

static void
test_host(void)
{
    agg_counters *k = agg_counters_create(100);
    sfa_dgram *d = dgram("10.0.0.9", 20000, 1);
    uint32_t src;
    agg_cval cv;

    host_sample(d, 1, 20);
    agg_counters_dgram(k, d, 1.0);
    free(d);
    d = dgram("10.0.0.9", 40000, 2);
    host_sample(d, 2, 40);
    agg_counters_dgram(k, d, 21.0);
    free(d);
    src = src_of(k, "10.0.0.9", 2, 1);
    CHECK(src != UINT32_MAX, "host source 2.1");
    CHECK_STR(agg_counters_source(k, src)->ds_txt, "2.1", "dataSource text 2.1");
    CHECK_STR(txt(k, src, "host_name", &cv), "web-1", "host_name");
    CHECK_STR(txt(k, src, "os_name", &cv), "linux", "os_name");
    CHECK_STR(txt(k, src, "machine_type", &cv), "x86_64", "machine_type");
    CHECK_STR(txt(k, src, "uuid", &cv), "12345678-9abc-def0-0123-456789abcdef", "uuid text");
    CHECK_STR(txt(k, src, "os_release", &cv), "6.1.0", "os_release");
    CHECK_NEAR(val(k, src, "cpu_user"), 20, 1e-9, "cpu_user: % of CPU time");
    CHECK_NEAR(val(k, src, "cpu_system"), 5, 1e-9, "cpu_system %");
    CHECK_NEAR(val(k, src, "cpu_idle"), 75, 1e-9, "cpu_idle %");
    CHECK_NEAR(val(k, src, "cpu_guest"), 1, 1e-9, "cpu_guest: a share, not in the total");
    CHECK_NEAR(val(k, src, "cpu_utilization"), 25, 1e-9, "cpu_utilization = 100 - idle");
    CHECK_NEAR(val(k, src, "load_one"), 2, 0, "load_one as is");
    CHECK_NEAR(val(k, src, "load_one_per_cpu"), 0.25, 1e-12, "load_one_per_cpu");
    CHECK_NEAR(val(k, src, "mem_utilization"), 50, 1e-9,
               "mem_utilization: (total - free - buffers - cached) / total");
    CHECK_NEAR(val(k, src, "disk_utilization"), 75, 1e-9, "disk_utilization");
    CHECK_NEAR(val(k, src, "part_max_used"), 81.25, 1e-9, "part_max_used in %");
    CHECK_NEAR(val(k, src, "bytes_in"), 1e6, 1e-6, "bytes_in rate across 2^32 (64 bits)");
    CHECK_NEAR(val(k, src, "pkts_in"), 1000, 1e-9, "pkts_in rate across a 32-bit wrap");
    CHECK_NEAR(val(k, src, "mem_total"), 16.0 * (1 << 30), 0, "mem_total gauge");
    /* Text that is not UTF-8, and a MAC. */
    d = dgram("10.0.0.9", 60000, 3);
    host_sample(d, 3, 60);
    fs_bytes(d, SFA_F_IFNAME, SFA_T_STR, "e\xff\x01\xc3\xa9", 5, 5);
    fs_mac(d, SFA_F_AGG_ACTORSYSTEMID, "0011223344AB");
    agg_counters_dgram(k, d, 41.0);
    free(d);
    CHECK_STR(txt(k, src, "ifname", &cv), "e??\xc3\xa9", "bad bytes become ?, UTF-8 kept");
    CHECK_STR(txt(k, src, "agg_actorsystemid", &cv), "0011223344AB", "MAC text");
    agg_counters_destroy(k);
}

static int
count_metrics(agg_counters *k, uint32_t src)
{
    size_t i = 0;
    int n = 0;
    agg_cval cv;

    while (agg_counters_value_at(k, src, &i, &cv))
        n++;
    return n;
}

static void
test_expiry(void)
{
    agg_counters *k = agg_counters_create(2);
    ifv v = {.speed = 1000, .status = 3};
    uint32_t src;
    uint8_t lost[SFA_BUCKETS] = {0};
    agg_counters_stats st;
    sfa_dgram *d;
    int n;

    /* Polled every 30 s: expires after 90 s of silence. */
    feed_if(k, 1, 0, 0, &v, 0.0);
    feed_if(k, 2, 30000, 30000, &v, 30.0);
    src = src_of(k, "10.0.0.1", 0, 3);
    n = count_metrics(k, src);
    CHECK(n > 5, "metrics present");
    agg_counters_expire(k, 110.0);
    CHECK(agg_counters_source(k, src) != NULL, "80 s of silence: kept (timeout 90 s)");
    agg_counters_expire(k, 121.0);
    CHECK(agg_counters_source(k, src) == NULL, "91 s of silence: expired");
    agg_counters_get_stats(k, &st);
    CHECK_EQ(st.expired, 1, "expiry counted");
    /* A 1 s interval still gets the 60 s minimum. */
    feed_if(k, 1, 0, 0, &v, 200.0);
    feed_if(k, 2, 1000, 1000, &v, 201.0);
    agg_counters_expire(k, 250.0);
    src = src_of(k, "10.0.0.1", 0, 3);
    CHECK(src != UINT32_MAX && agg_counters_source(k, src), "1 s interval, 49 s silent: kept");
    agg_counters_expire(k, 262.0);
    CHECK(agg_counters_source(k, src) == NULL, "61 s silent: expired");
    /* A metric the source stopped sending expires with the source alive. */
    d = dgram("10.0.0.3", 0, 0);
    ifc_sample(d, 1, 1, &v);
    fs_str(d, SFA_F_IFNAME, "swp1");
    agg_counters_dgram(k, d, 300.0);
    free(d);
    for (int i = 2; i < 80; i++) {
        d = dgram("10.0.0.3", (uint32_t)i * 1000, (uint64_t)i * 1000);
        ifc_sample(d, 1, (uint32_t)i, &v);
        agg_counters_dgram(k, d, 298.0 + i);
        free(d);
    }
    agg_counters_expire(k, 378.0);
    src = src_of(k, "10.0.0.3", 0, 1);
    {
        agg_cval cv;
        int id = agg_metric_lookup("ifname", 6);

        CHECK(!agg_counters_value(k, src, (unsigned)id, &cv), "ifname no longer sent: expired");
        CHECK(agg_counters_value(k, src, SFA_F_IFSPEED, &cv), "the rest stays");
    }
    /* Source cap (2): a third source is refused and counted. */
    feed_if(k, 1, 0, 0, &v, 378.0);
    d = dgram("10.0.0.4", 0, 0);
    ifc_sample(d, 1, 1, &v);
    agg_counters_dgram(k, d, 378.0);
    free(d);
    agg_counters_get_stats(k, &st);
    CHECK_EQ(st.sources_full, 1, "source cap counted");
    /* Buckets lost: their sources go. */
    {
        sfa_addr a;

        (void)sfa_addr_parse("10.0.0.3", &a);
        lost[sfa_bucket_of(&a)] = 1;
    }
    agg_counters_drop_buckets(k, lost);
    CHECK(src_of(k, "10.0.0.3", 0, 1) == UINT32_MAX, "lost bucket: source dropped");
    CHECK(src_of(k, "10.0.0.1", 0, 3) != UINT32_MAX, "other buckets kept");
    agg_counters_destroy(k);
}

int
main(void)
{
    test_catalog();
    test_rates();
    test_wraps();
    test_reset_restart();
    test_host();
    test_expiry();
    return test_done();
}
