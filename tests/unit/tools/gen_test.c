/* gen_test.c - sfa-gen's encoder, model, outputs and command line.
 *
 * The encoder is checked byte by byte against shared/spec/sflow-v5-wire.md
 * (header layout, compact sample and record offsets, record lengths, XDR
 * padding); the model's truth math (Zipf shares, rates, sample counts over
 * a simulated 10 s, the --dgram-rate rule, reboots, counter wrap, --step
 * rate changes) is checked on the datagrams it emits; the pcap writer is
 * read back with libpcap and the UDP sender with a socket bound on
 * 127.0.0.1. argv[1] is a scratch path under the build directory for the
 * pcap file.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gen_cli.h"
#include "gen_encode.h"
#include "gen_model.h"
#include "gen_out.h"
#include "test.h"

static uint32_t
rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t
rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) << 32 | rd32(p + 4);
}

/* ---- encoder ---- */

static void
test_xdr(void)
{
    uint8_t buf[64];
    gen_xdr w;
    static const uint8_t mac[6] = {1, 2, 3, 4, 5, 6};

    memset(buf, 0xee, sizeof buf);
    gen_xdr_init(&w, buf, sizeof buf);
    gen_xdr_u32(&w, 0x01020304);
    gen_xdr_u64(&w, 0x1122334455667788ull);
    gen_xdr_fixed(&w, mac, 6);
    gen_xdr_string(&w, "abcde");
    gen_xdr_float(&w, 0.5f);
    CHECK(!w.err, "xdr: writes fit");
    CHECK_EQ(w.len, 4 + 8 + 8 + 4 + 8 + 4, "xdr: MAC takes 8 bytes, 5-byte string 4 + 8");
    CHECK(buf[0] == 1 && buf[3] == 4, "xdr: u32 big-endian");
    CHECK_EQ(rd64(buf + 4), 0x1122334455667788ull, "xdr: u64 big-endian");
    CHECK(memcmp(buf + 12, mac, 6) == 0 && buf[18] == 0 && buf[19] == 0,
          "xdr: fixed opaque padded with zeros");
    CHECK_EQ(rd32(buf + 20), 5, "xdr: string length word");
    CHECK(memcmp(buf + 24, "abcde", 5) == 0 && buf[29] == 0 && buf[30] == 0 && buf[31] == 0,
          "xdr: string padded with zeros");
    CHECK_EQ(rd32(buf + 32), 0x3f000000, "xdr: float 0.5 in IEEE-754 big-endian");

    uint8_t small[6];
    gen_xdr_init(&w, small, sizeof small);
    gen_xdr_u32(&w, 7);
    gen_xdr_u32(&w, 8);
    CHECK(w.err && w.len == 4, "xdr: overflow sets the sticky error and writes nothing");
    gen_xdr_init(&w, small, sizeof small);
    gen_xdr_opaque(&w, "abc", 3);
    CHECK(w.err && w.len == 0, "xdr: an opaque that does not fit leaves no half item");
}

static void
test_dgram_header(void)
{
    uint8_t buf[64];
    gen_xdr w;
    sfa_addr a4, a6;

    CHECK_OK(sfa_addr_parse("10.0.0.7", &a4), "parse agent v4");
    CHECK_OK(sfa_addr_parse("2001:db8::9", &a6), "parse agent v6");
    gen_xdr_init(&w, buf, sizeof buf);
    gen_enc_dgram_header(&w, &a4, 3, 77, 123456, 6);
    CHECK_EQ(w.len, 28, "header: 28 bytes with an IPv4 agent (spec 3.1)");
    CHECK_EQ(gen_dgram_header_len(&a4), 28, "header_len v4");
    CHECK_EQ(rd32(buf + 0), 5, "header: version 5 at 0");
    CHECK_EQ(rd32(buf + 4), 1, "header: address type 1 at 4");
    CHECK_EQ(rd32(buf + 8), 0x0a000007, "header: agent 10.0.0.7 at 8");
    CHECK_EQ(rd32(buf + 12), 3, "header: sub-agent at 12");
    CHECK_EQ(rd32(buf + 16), 77, "header: sequence at 16");
    CHECK_EQ(rd32(buf + 20), 123456, "header: uptime at 20");
    CHECK_EQ(rd32(buf + 24), 6, "header: num_samples at 24");
    CHECK_EQ(GEN_DG_SEQ_OFF(28), 16, "patch offset of seq (v4)");
    CHECK_EQ(GEN_DG_NSAMPLES_OFF(28), 24, "patch offset of num_samples (v4)");

    gen_xdr_init(&w, buf, sizeof buf);
    gen_enc_dgram_header(&w, &a6, 0, 1, 2, 3);
    CHECK_EQ(w.len, 40, "header: 40 bytes with an IPv6 agent");
    CHECK_EQ(rd32(buf + 4), 2, "header v6: address type 2");
    CHECK(memcmp(buf + 8, a6.a, 16) == 0, "header v6: 16 address bytes at 8");
    CHECK_EQ(rd32(buf + 28), 1, "header v6: sequence at 28");
    CHECK_EQ(rd32(buf + 32), 2, "header v6: uptime at 32");
    CHECK_EQ(rd32(buf + 36), 3, "header v6: num_samples at 36");
    CHECK_EQ(GEN_DG_UPTIME_OFF(40), 32, "patch offset of uptime (v6)");
}

static void
test_flow_sample(void)
{
    uint8_t hdr[62], buf[512];
    gen_xdr w;

    for (size_t i = 0; i < sizeof hdr; i++)
        hdr[i] = (uint8_t)(i + 1);
    gen_flow_desc f = {
        .seq = 11,
        .source_id = 5,
        .rate = 1000,
        .pool = 22000,
        .drops = 1,
        .input = 5,
        .output = 0x80000007,
        .header_protocol = 1,
        .frame_length = 66,
        .stripped = 4,
        .header = hdr,
        .header_len = sizeof hdr,
        .has_switch = 1,
        .src_vlan = 100,
        .src_priority = 2,
        .dst_vlan = 200,
        .dst_priority = 3,
    };
    memset(buf, 0xee, sizeof buf);
    gen_xdr_init(&w, buf, sizeof buf);
    gen_enc_flow_sample(&w, &f);
    CHECK(!w.err, "flow sample fits");
    /* envelope 8 + body 32 + header record 8 + 16 + 64 + switch record 8 + 16 */
    CHECK_EQ(w.len, 152, "flow sample: 152 bytes");
    CHECK_EQ(rd32(buf + 0), 1, "flow sample: tag 0:1");
    CHECK_EQ(rd32(buf + 4), 144, "flow sample: length = total - 8");
    CHECK_EQ(rd32(buf + GEN_FS_SEQ_OFF), 11, "flow sample: sequence at body 0");
    CHECK_EQ(rd32(buf + GEN_FS_SOURCE_OFF), 5, "flow sample: source_id at body 4");
    CHECK_EQ(rd32(buf + GEN_FS_RATE_OFF), 1000, "flow sample: sampling_rate at body 8");
    CHECK_EQ(rd32(buf + GEN_FS_POOL_OFF), 22000, "flow sample: sample_pool at body 12");
    CHECK_EQ(rd32(buf + GEN_FS_DROPS_OFF), 1, "flow sample: drops at body 16");
    CHECK_EQ(rd32(buf + 28), 5, "flow sample: input at body 20");
    CHECK_EQ(rd32(buf + 32), 0x80000007, "flow sample: output at body 24");
    CHECK_EQ(rd32(buf + 36), 2, "flow sample: num_records at body 28");
    CHECK_EQ(rd32(buf + 40), 1, "record: tag 0:1 sampled_header");
    CHECK_EQ(rd32(buf + 44), 16 + 64, "record: length 16 + padded header");
    CHECK_EQ(rd32(buf + 48), 1, "sampled_header: protocol 1 Ethernet");
    CHECK_EQ(rd32(buf + 52), 66, "sampled_header: frame_length");
    CHECK_EQ(rd32(buf + 56), 4, "sampled_header: stripped");
    CHECK_EQ(rd32(buf + 60), 62, "sampled_header: header_length (unpadded)");
    CHECK(memcmp(buf + 64, hdr, 62) == 0, "sampled_header: header bytes");
    CHECK(buf[126] == 0 && buf[127] == 0, "sampled_header: 2 zero padding bytes");
    CHECK_EQ(rd32(buf + 128), 1001, "record: tag 0:1001 extended_switch");
    CHECK_EQ(rd32(buf + 132), 16, "extended_switch: length 16");
    CHECK(rd32(buf + 136) == 100 && rd32(buf + 140) == 2 && rd32(buf + 144) == 200 &&
              rd32(buf + 148) == 3,
          "extended_switch: src_vlan, src_priority, dst_vlan, dst_priority");
}

static void
test_counter_samples(void)
{
    uint8_t buf[1024];
    gen_xdr w;
    gen_ifc_desc c = {
        .ifindex = 3,
        .iftype = 6,
        .speed = 10000000000ull,
        .direction = 1,
        .status = 3,
        .in_octets = 0x123456789aull,
        .in_ucast = 0xfffffff0u,
        .out_octets = 0xabcdef0123ull,
        .out_ucast = 42,
        .promisc = 2,
    };
    gen_xdr_init(&w, buf, sizeof buf);
    gen_enc_ifc_sample(&w, 9, 3, &c);
    CHECK_EQ(w.len, 8 + 12 + 8 + 88, "if counter sample: 116 bytes");
    CHECK_EQ(rd32(buf + 0), 2, "counter sample: tag 0:2");
    CHECK_EQ(rd32(buf + 4), 108, "counter sample: length");
    CHECK_EQ(rd32(buf + 8), 9, "counter sample: sequence");
    CHECK_EQ(rd32(buf + 12), 3, "counter sample: source_id");
    CHECK_EQ(rd32(buf + 16), 1, "counter sample: num_records");
    CHECK_EQ(rd32(buf + 20), 1, "record: tag 0:1 if_counters");
    CHECK_EQ(rd32(buf + 24), 88, "if_counters: 88 bytes");
    const uint8_t *r = buf + 28;
    CHECK_EQ(rd32(r + 0), 3, "if_counters: ifIndex at 0");
    CHECK_EQ(rd32(r + 4), 6, "if_counters: ifType at 4");
    CHECK_EQ(rd64(r + 8), 10000000000ull, "if_counters: ifSpeed (64-bit) at 8");
    CHECK_EQ(rd32(r + 16), 1, "if_counters: ifDirection at 16");
    CHECK_EQ(rd32(r + 20), 3, "if_counters: ifStatus at 20");
    CHECK_EQ(rd64(r + 24), 0x123456789aull, "if_counters: ifInOctets (64-bit) at 24");
    CHECK_EQ(rd32(r + 32), 0xfffffff0u, "if_counters: ifInUcastPkts at 32");
    CHECK_EQ(rd64(r + 56), 0xabcdef0123ull, "if_counters: ifOutOctets at 56");
    CHECK_EQ(rd32(r + 64), 42, "if_counters: ifOutUcastPkts at 64");
    CHECK_EQ(rd32(r + 84), 2, "if_counters: ifPromiscuousMode at 84");

    gen_host_desc h = {.hostname = "abc",
                       .machine_type = 3,
                       .os_name = 2,
                       .os_release = "6.1",
                       .load_one = 1.5f,
                       .mem_total = 1ull << 34,
                       .bytes_in = 1ull << 40,
                       .pkts_out = 77};
    for (int i = 0; i < 16; i++)
        h.uuid[i] = (uint8_t)(0xa0 + i);
    gen_xdr_init(&w, buf, sizeof buf);
    gen_enc_host_sample(&w, 4, 2u << 24 | 1, &h);
    CHECK(!w.err, "host sample fits");
    CHECK_EQ(rd32(buf + 12), 2u << 24 | 1, "host sample: source class 2 index 1");
    CHECK_EQ(rd32(buf + 16), 4, "host sample: 4 records");
    const uint8_t *d = buf + 20;
    CHECK_EQ(rd32(d), 2000, "host_descr tag");
    /* hostname 4 + 4, uuid 16, machine_type 4, os_name 4, os_release 4 + 4 */
    CHECK_EQ(rd32(d + 4), 40, "host_descr: length");
    CHECK_EQ(rd32(d + 8), 3, "host_descr: hostname length 3");
    CHECK(memcmp(d + 12, "abc", 3) == 0 && d[15] == 0, "host_descr: hostname padded");
    CHECK(d[16] == 0xa0 && d[31] == 0xaf, "host_descr: 16 raw uuid bytes, no length word");
    CHECK_EQ(rd32(d + 32), 3, "host_descr: machine_type after uuid");
    CHECK_EQ(rd32(d + 36), 2, "host_descr: os_name");
    CHECK_EQ(rd32(d + 40), 3, "host_descr: os_release length");
    const uint8_t *cpu = d + 48;
    CHECK_EQ(rd32(cpu), 2003, "host_cpu tag");
    CHECK_EQ(rd32(cpu + 4), 68, "host_cpu: 68 bytes");
    CHECK_EQ(rd32(cpu + 8), 0x3fc00000, "host_cpu: load_one 1.5 as float");
    const uint8_t *mem = cpu + 76;
    CHECK_EQ(rd32(mem), 2004, "host_memory tag");
    CHECK_EQ(rd32(mem + 4), 72, "host_memory: 72 bytes");
    CHECK_EQ(rd64(mem + 8), 1ull << 34, "host_memory: mem_total");
    const uint8_t *net = mem + 80;
    CHECK_EQ(rd32(net), 2006, "host_net_io tag");
    CHECK_EQ(rd32(net + 4), 40, "host_net_io: 40 bytes");
    CHECK_EQ(rd64(net + 8), 1ull << 40, "host_net_io: bytes_in (64-bit)");
    CHECK_EQ(rd32(net + 8 + 28), 77, "host_net_io: pkts_out at 28");
    CHECK_EQ(w.len, (size_t)(net + 48 - buf), "host sample ends after host_net_io");
    CHECK_EQ(rd32(buf + 4), w.len - 8, "host sample: length");
}

static void
test_packet(void)
{
    uint8_t b[128];
    gen_pkt_desc p = {.mac_src = {2, 0, 0, 0, 0, 1},
                      .mac_dst = {2, 1, 0, 0, 0, 2},
                      .vlan = 101,
                      .priority = 5,
                      .protocol = 6,
                      .sport = 1234,
                      .dport = 443};
    CHECK_OK(sfa_addr_parse("172.16.0.1", &p.src), "src");
    CHECK_OK(sfa_addr_parse("198.18.0.2", &p.dst), "dst");

    int n = gen_enc_packet(b, sizeof b, &p, 1500);
    CHECK_EQ(n, 128, "packet: header capped at 128 bytes");
    CHECK(b[12] == 0x81 && b[13] == 0x00, "packet: 802.1Q tag");
    CHECK_EQ((b[14] << 8 | b[15]), 5 << 13 | 101, "packet: PCP 5 VLAN 101");
    CHECK(b[16] == 0x08 && b[17] == 0x00, "packet: IPv4 EtherType");
    CHECK_EQ((b[20] << 8 | b[21]), 1500 - 4 - 18, "packet: IPv4 total length");
    CHECK_EQ(gen_csum_fold(gen_csum_add(0, b + 18, 20)), 0, "packet: IPv4 header checksum");
    CHECK_EQ(b[27], 6, "packet: protocol TCP");
    CHECK_EQ((b[38] << 8 | b[39]), 1234, "packet: TCP source port");
    CHECK_EQ((b[40] << 8 | b[41]), 443, "packet: TCP destination port");

    n = gen_enc_packet(b, sizeof b, &p, 64);
    CHECK_EQ(n, 60, "packet: a 64-byte frame gives 60 header bytes (FCS not included)");
    CHECK_ERR(gen_enc_packet(b, sizeof b, &p, 40), SFA_EFORMAT, "packet: too small a frame");

    p.protocol = 17;
    p.vlan = 0;
    CHECK_OK(sfa_addr_parse("2001:db8::1", &p.src), "src6");
    CHECK_OK(sfa_addr_parse("2001:db8::2", &p.dst), "dst6");
    CHECK_EQ(gen_packet_min_frame(&p), 14 + 40 + 8 + 4, "packet: min IPv6/UDP frame");
    n = gen_enc_packet(b, sizeof b, &p, 256);
    CHECK_EQ(n, 128, "packet v6: 128 bytes");
    CHECK(b[12] == 0x86 && b[13] == 0xdd, "packet v6: EtherType");
    CHECK_EQ(b[14] >> 4, 6, "packet v6: version 6");
    CHECK_EQ((b[18] << 8 | b[19]), 256 - 4 - 14 - 40, "packet v6: payload length");
    CHECK_EQ(b[20], 17, "packet v6: next header UDP");
    CHECK_EQ((b[58] << 8 | b[59]), 256 - 4 - 14 - 40, "packet v6: UDP length");
}

/* ---- model ---- */

typedef struct collect {
    uint64_t n;
    uint32_t last_seq[64];
    uint32_t last_uptime[64];
    int seq_ok;
    int restarts;
    uint32_t ctr_first[16], ctr_last[16]; /* ifInUcastPkts of ifIndex 1 */
    double ctr_t_first, ctr_t_last;
    int wrapped;
} collect;

static int
collect_cb(void *arg, const uint8_t *buf, size_t len, const gen_dgram_info *info)
{
    collect *c = arg;
    size_t hlen = gen_dgram_header_len(info->agent_addr);
    uint32_t seq = rd32(buf + GEN_DG_SEQ_OFF(hlen)), up = rd32(buf + GEN_DG_UPTIME_OFF(hlen));
    uint32_t s = info->stream % 64;

    if (seq == 1 && c->last_seq[s] > 1 && up < c->last_uptime[s])
        c->restarts++;
    else if (seq != c->last_seq[s] + 1)
        c->seq_ok = 0;
    c->last_seq[s] = seq;
    c->last_uptime[s] = up;
    c->n++;

    /* Follow ifIndex 1's ifInUcastPkts through the counter samples. */
    size_t o = hlen;
    for (uint32_t i = 0; i < info->nsamples && o + 8 <= len; i++) {
        uint32_t tag = rd32(buf + o), slen = rd32(buf + o + 4);
        if (tag == 2 && rd32(buf + o + 12) == 1 && rd32(buf + o + 20) == 1) {
            uint32_t pk = rd32(buf + o + 28 + 32);
            if (c->ctr_t_first == 0) {
                c->ctr_first[0] = pk;
                c->ctr_t_first = info->t;
            } else if (pk < c->ctr_last[0] && info->t < 4.4) {
                c->wrapped = 1;
            }
            c->ctr_last[0] = pk;
            c->ctr_t_last = info->t;
        }
        o += 8 + slen;
    }
    return 0;
}

static void
test_zipf_and_rates(void)
{
    gen_cfg cfg;
    gen_model *m = NULL;
    char err[128];

    gen_cfg_defaults(&cfg);
    cfg.flows = 50;
    cfg.zipf = 1.2;
    cfg.rate = 2e6;
    CHECK_OK(gen_model_create(&m, &cfg, err, sizeof err), "model: create");
    if (!m)
        return;
    double sum = 0, pps = 0;
    int exact = 1;
    for (uint32_t i = 0; i < gen_model_nflows(m); i++) {
        sum += gen_model_flow_share(m, i);
        pps += gen_model_flow_pps(m, i);
    }
    CHECK_NEAR(sum, 1.0, 1e-12, "zipf: shares sum to 1");
    CHECK_NEAR(pps, 2e6, 1e-6, "zipf: frames/s sum to the agent rate");
    CHECK_NEAR(gen_model_flow_share(m, 0) / gen_model_flow_share(m, 3), pow(4, 1.2), 1e-9,
               "zipf: share(0)/share(3) = 4^S");
    json_t *t = gen_model_truth(m, &(gen_run_info){0});
    json_t *flows = json_object_get(json_array_get(json_object_get(t, "agents"), 0), "flows");
    for (size_t i = 0; i < json_array_size(flows); i++) {
        json_t *f = json_array_get(flows, i);
        double b = json_real_value(json_object_get(f, "bytes_per_s"));
        double fr = json_real_value(json_object_get(f, "frames_per_s"));
        double fl = (double)json_integer_value(json_object_get(f, "framelength"));
        if (fabs(b - fr * fl) > 1e-6 * b)
            exact = 0;
    }
    CHECK_EQ(json_array_size(flows), 50, "truth: 50 flows");
    CHECK(exact, "truth: bytes_per_s = frames_per_s x framelength for every flow");
    CHECK_EQ(json_integer_value(json_object_get(t, "sampling_rate")), 1000, "truth: sampling");
    json_decref(t);
    gen_model_destroy(m);

    /* --rate-bps: shares are of bytes. */
    cfg.rate_mode = GEN_RATE_BPS;
    cfg.rate = 8e9;
    CHECK_OK(gen_model_create(&m, &cfg, err, sizeof err), "model bps: create");
    if (!m)
        return;
    double bytes = 0;
    for (uint32_t i = 0; i < gen_model_nflows(m); i++)
        bytes += gen_model_flow_pps(m, i) * gen_model_flow_frame_len(m, i);
    CHECK_NEAR(bytes, 1e9, 1e-3, "bps mode: bytes/s sum to rate / 8");
    gen_model_destroy(m);
}

static void
test_samples_over_10s(void)
{
    gen_cfg cfg;
    gen_model *m = NULL;
    char err[128];
    collect c = {.seq_ok = 1};

    gen_cfg_defaults(&cfg);
    cfg.agents = 3;
    cfg.subagents = 2;
    cfg.flows = 40;
    cfg.mix6 = 0.25;
    cfg.rate = 5e5;
    cfg.sampling = 200;
    cfg.duration = 10;
    cfg.counters = 1;
    cfg.counter_interval = 1;
    CHECK_OK(gen_model_create(&m, &cfg, err, sizeof err), "10 s model: create");
    if (!m)
        return;
    CHECK_OK(gen_model_run(m, collect_cb, &c), "10 s model: run");

    int within = 1;
    uint64_t total = 0;
    for (uint32_t i = 0; i < gen_model_nflows(m); i++) {
        double expect = gen_model_flow_pps(m, i) * 10 / 200;
        double got = (double)gen_model_flow_samples(m, i);
        total += gen_model_flow_samples(m, i);
        if (fabs(got - expect) > 1.0) {
            within = 0;
            printf("# flow %u: %g samples, expected %g\n", i, got, expect);
        }
    }
    CHECK(within, "10 s: every flow's samples = 10 x pps / N within +-1");
    gen_model_stats st;
    gen_model_get_stats(m, &st);
    CHECK_EQ(st.flow_samples, total, "10 s: flow samples sent = sum over flows");
    CHECK_NEAR(st.flow_samples, 3 * 5e5 * 10 / 200, 3 * 40, "10 s: total flow samples");
    CHECK_NEAR(st.counter_samples, 3 * 4 * 10, 3 * 4, "10 s: one counter sample/s/interface");
    CHECK_EQ(st.datagrams, c.n, "10 s: datagrams counted");
    CHECK_NEAR((double)c.n, st.dgram_rate * 10, st.dgram_rate * 10 * 0.05,
               "10 s: datagram count matches the expected rate");
    CHECK(c.seq_ok, "10 s: datagram sequence numbers consecutive per stream");
    CHECK_NEAR(st.sim_time, 10.0, 1e-9, "10 s: simulated time 10 s");
    gen_model_destroy(m);
}

static void
test_dgram_rate_rule(void)
{
    gen_cfg cfg;
    gen_model *m = NULL;
    char err[128];
    gen_model_stats st;

    gen_cfg_defaults(&cfg);
    cfg.agents = 4;
    cfg.flows = 100;
    cfg.rate = 1e6;
    cfg.dgram_rate = 5000;
    CHECK_OK(gen_model_create(&m, &cfg, err, sizeof err), "dgram-rate: create");
    if (!m)
        return;
    gen_model_get_stats(m, &st);
    CHECK_EQ(st.sampling, 133, "dgram-rate: N = round(4e6 / (5000 x 6)) = 133");
    CHECK_NEAR(st.dgram_rate, 5000, 5000 * 0.01, "dgram-rate: expected rate about R");
    gen_model_destroy(m);

    cfg.counters = 1;
    cfg.counter_interval = 1;
    cfg.dgram_rate = 2;
    CHECK_ERR(gen_model_create(&m, &cfg, err, sizeof err), SFA_ECONFIG,
              "dgram-rate: too low for the counters is refused");
    cfg.flows = 0;
    cfg.dgram_rate = -1;
    CHECK_ERR(gen_model_create(&m, &cfg, err, sizeof err), SFA_ECONFIG, "zero flows refused");
}

static void
test_restart_and_wrap(void)
{
    gen_cfg cfg;
    gen_model *m = NULL;
    char err[128];
    collect c = {.seq_ok = 1};

    gen_cfg_defaults(&cfg);
    cfg.rate = 1e5;
    cfg.sampling = 100;
    cfg.duration = 6;
    cfg.counters = 1;
    cfg.counter_interval = 1;
    cfg.counter_wrap = 1;
    cfg.restart_at = 4.5;
    CHECK_OK(gen_model_create(&m, &cfg, err, sizeof err), "restart: create");
    if (!m)
        return;
    CHECK_OK(gen_model_run(m, collect_cb, &c), "restart: run");
    CHECK_EQ(c.restarts, 1, "restart: one reboot seen (seq back to 1, uptime down)");
    CHECK(c.seq_ok, "restart: otherwise consecutive");
    CHECK(c.wrapped, "counter-wrap: ifInUcastPkts wrapped past 2^32");
    CHECK(c.ctr_first[0] > 0xfff00000u, "counter-wrap: started near 2^32");
    gen_model_destroy(m);

    /* --count stops at exactly that many datagrams. */
    cfg.duration = 0;
    cfg.count = 50;
    cfg.restart_at = -1;
    memset(&c, 0, sizeof c);
    CHECK_OK(gen_model_create(&m, &cfg, err, sizeof err), "count: create");
    if (!m)
        return;
    CHECK_OK(gen_model_run(m, collect_cb, &c), "count: run");
    CHECK_EQ(c.n, 50, "count: 50 datagrams");
    gen_model_destroy(m);
}

/* --step: flow 0 of each agent x4 from 2 s, flow 1 silenced from 4 s,
 * every flow back to its rate at 6 s; samples and counters follow. */
static void
test_steps(void)
{
    gen_cfg cfg;
    gen_model *m = NULL;
    char err[128];
    collect c = {.seq_ok = 1};

    gen_cfg_defaults(&cfg);
    cfg.agents = 2;
    cfg.flows = 4;
    cfg.zipf = 0; /* 25,000 frames/s per flow: 250 samples/s */
    cfg.rate = 1e5;
    cfg.sampling = 100;
    cfg.duration = 8;
    cfg.counters = 1;
    cfg.counter_interval = 1;
    cfg.steps[0] = (gen_step){6, 1, -1}; /* in any order */
    cfg.steps[1] = (gen_step){2, 4, 0};
    cfg.steps[2] = (gen_step){4, 0, 1};
    cfg.nsteps = 3;
    CHECK_OK(gen_model_create(&m, &cfg, err, sizeof err), "steps: create");
    if (!m)
        return;
    CHECK_OK(gen_model_run(m, collect_cb, &c), "steps: run");
    static const double expect[4] = {250 * 4 + 1000 * 4, 250 * 6, 250 * 8, 250 * 8};
    int within = 1;
    for (uint32_t i = 0; i < gen_model_nflows(m); i++) {
        double got = (double)gen_model_flow_samples(m, i);
        if (fabs(got - expect[i % 4]) > 2.0) {
            within = 0;
            printf("# flow %u: %g samples, expected %g\n", i, got, expect[i % 4]);
        }
    }
    CHECK(within, "steps: every flow's samples follow its rates in force within +-2");
    CHECK(c.seq_ok, "steps: datagram sequence numbers consecutive");
    /* ifIndex 1 of agent 0 carries flow 0 in: 25,000 frames/s plus 75,000
     * more from 2 s to 6 s. */
    double want = 25000 * c.ctr_t_last + 75000 * 4;
    CHECK(c.ctr_t_last > 7 && fabs((double)c.ctr_last[0] - want) <= 2,
          "steps: ifInUcastPkts follow the steps");
    if (!(c.ctr_t_last > 7 && fabs((double)c.ctr_last[0] - want) <= 2))
        printf("# at %.3f s: %u, expected %.0f\n", c.ctr_t_last, c.ctr_last[0], want);
    json_t *t = gen_model_truth(m, &(gen_run_info){.out = "test"});
    json_t *f0 = json_array_get(
        json_object_get(json_array_get(json_object_get(t, "agents"), 0), "flows"), 0);
    CHECK(json_array_size(json_object_get(t, "steps")) == 3 &&
              json_real_value(json_object_get(f0, "rate_factor")) == 1 &&
              json_real_value(json_object_get(f0, "frames_per_s")) == 25000,
          "steps: truth lists the steps, keeps the configured rates");
    json_decref(t);
    gen_model_destroy(m);

    cfg.steps[0].flow = 4;
    CHECK_ERR(gen_model_create(&m, &cfg, err, sizeof err), SFA_ECONFIG,
              "steps: a flow that does not exist is refused");
}

/* ---- outputs ---- */

static void
test_pcap(const char *path)
{
    gen_cfg cfg;
    gen_model *m = NULL;
    gen_out *o = NULL;
    char err[256], perr[PCAP_ERRBUF_SIZE];

    gen_cfg_defaults(&cfg);
    cfg.agents = 2;
    cfg.mix6 = 0.5;
    cfg.duration = 3;
    cfg.counters = 1;
    cfg.counter_interval = 1;
    cfg.host = 1;
    CHECK_OK(gen_model_create(&m, &cfg, err, sizeof err), "pcap: model");
    CHECK_OK(gen_out_pcap_open(&o, path, err, sizeof err), "pcap: open");
    if (!m || !o)
        goto out;
    CHECK_OK(gen_model_run(m, gen_out_emit, o), "pcap: run");
    CHECK_OK(gen_out_flush(o), "pcap: flush");
    gen_out_close(o);
    o = NULL;

    gen_model_stats st;
    gen_model_get_stats(m, &st);
    pcap_t *p = pcap_open_offline(path, perr);
    CHECK(p != NULL, "pcap: libpcap opens the file");
    if (!p)
        goto out;
    CHECK_EQ(pcap_datalink(p), DLT_EN10MB, "pcap: Ethernet link type");
    struct pcap_pkthdr *h;
    const u_char *d;
    uint64_t n = 0, good = 0;
    double t0 = -1, tl = 0;
    while (pcap_next_ex(p, &h, &d) == 1) {
        n++;
        double ts = h->ts.tv_sec + h->ts.tv_usec * 1e-6;
        if (t0 < 0)
            t0 = ts;
        tl = ts;
        if (h->caplen >= 14 + 20 + 8 + 28 && d[12] == 0x08 && d[14 + 9] == 17 &&
            (d[14 + 22] << 8 | d[14 + 23]) == 6343 && rd32(d + 42) == 5)
            good++;
    }
    pcap_close(p);
    CHECK_EQ(n, st.datagrams, "pcap: one frame per datagram");
    CHECK(good > 0, "pcap: IPv4/UDP frames to port 6343 carrying sFlow v5");
    CHECK_NEAR(tl - t0, 3.0, 0.6, "pcap: timestamps span the simulated 3 s");
out:
    gen_out_close(o);
    gen_model_destroy(m);
}

static void
test_udp(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    char target[64], err[256];
    gen_cfg cfg;
    gen_model *m = NULL;
    gen_out *o = NULL;

    int rcv = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    CHECK_OK(bind(fd, (struct sockaddr *)&a, sizeof a), "udp: bind a receiver on 127.0.0.1");
    getsockname(fd, (struct sockaddr *)&a, &al);
    snprintf(target, sizeof target, "127.0.0.1:%u", ntohs(a.sin_port));

    gen_cfg_defaults(&cfg);
    cfg.count = 100;
    cfg.dgram_rate = 0;
    cfg.max_dgram = 600; /* small datagrams: 100 fit a default receive buffer */
    CHECK_OK(gen_model_create(&m, &cfg, err, sizeof err), "udp: model");
    CHECK_OK(gen_out_udp_open(&o, target, 0, 64, err, sizeof err), "udp: open");
    if (!m || !o)
        goto out;
    gen_out_start(o, 0, NULL);
    CHECK_OK(gen_model_run(m, gen_out_emit, o), "udp: run");
    CHECK_OK(gen_out_flush(o), "udp: flush");
    gen_out_stats st;
    gen_out_get_stats(o, &st);
    CHECK_EQ(st.datagrams, 100, "udp: 100 datagrams sent");

    uint8_t buf[2048];
    int got = 0, v5 = 0;
    struct pollfd pfd = {fd, POLLIN, 0};
    while (got < 100 && poll(&pfd, 1, 1000) > 0) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r >= 28) {
            got++;
            v5 += rd32(buf) == 5;
        }
    }
    CHECK_EQ(got, 100, "udp: 100 datagrams received");
    CHECK_EQ(v5, 100, "udp: all sFlow v5");
out:
    gen_out_close(o);
    gen_model_destroy(m);
    close(fd);

    CHECK_ERR(gen_out_udp_open(&o, "192.0.2.1:6343", 0, 64, err, sizeof err), SFA_ECONFIG,
              "udp: a non-loopback target is refused without --allow-remote");
}

static void
test_target_and_cli(void)
{
    char host[64];
    uint16_t port = 0;

    CHECK(gen_out_split_target("[::1]:7000", host, sizeof host, &port) == 0 &&
              strcmp(host, "::1") == 0 && port == 7000,
          "target: [::1]:7000");
    CHECK(gen_out_split_target("127.0.0.1:9", host, sizeof host, &port) == 0 &&
              strcmp(host, "127.0.0.1") == 0 && port == 9,
          "target: 127.0.0.1:9");
    CHECK(gen_out_split_target("::1", host, sizeof host, &port) == 0 && port == 6343,
          "target: bare IPv6, default port");
    CHECK_ERR(gen_out_split_target("h:0", host, sizeof host, &port), SFA_EFORMAT, "target: port 0");
    CHECK_ERR(gen_out_split_target("[::1", host, sizeof host, &port), SFA_EFORMAT,
              "target: unclosed bracket");

    gen_cli cli;
    FILE *null = fopen("/dev/null", "w");
    char *a1[] = {"sfa-gen", "--rate-pps", "2M",  "--agents",   "3", "--agent-restart",
                  "3.5:1",   "--mix6",     "0.5", "--counters", NULL};
    CHECK_OK(gen_cli_parse(&cli, 10, a1, null, null), "cli: parse");
    CHECK_NEAR(cli.cfg.rate, 2e6, 0, "cli: 2M = 2e6");
    CHECK_EQ(cli.cfg.agents, 3, "cli: agents");
    CHECK(cli.cfg.restart_at == 3.5 && cli.cfg.restart_agent == 1, "cli: restart T:A");
    CHECK(cli.cfg.counters && cli.cfg.mix6 == 0.5, "cli: flags");
    char *a2[] = {"sfa-gen", "--rate-pps", "1k", "--rate-bps", "1G", NULL};
    CHECK_ERR(gen_cli_parse(&cli, 5, a2, null, null), SFA_ECONFIG, "cli: two rate modes refused");
    char *a3[] = {"sfa-gen", "--pcap", "x.pcap", NULL};
    CHECK_ERR(gen_cli_parse(&cli, 3, a3, null, null), SFA_ECONFIG, "cli: pcap needs an end");
    char *a4[] = {"sfa-gen", "--help", NULL};
    CHECK_ERR(gen_cli_parse(&cli, 2, a4, null, null), SFA_EEXIT, "cli: --help");
    char *a5[] = {"sfa-gen", "--flows", "x", NULL};
    CHECK_ERR(gen_cli_parse(&cli, 3, a5, null, null), SFA_ECONFIG, "cli: bad number");
    char *a6[] = {"sfa-gen", "--step", "10:4:3", "--step", "20.5:0.5", NULL};
    CHECK_OK(gen_cli_parse(&cli, 5, a6, null, null), "cli: --step");
    CHECK(cli.cfg.nsteps == 2 && cli.cfg.steps[0].t == 10 && cli.cfg.steps[0].factor == 4 &&
              cli.cfg.steps[0].flow == 3 && cli.cfg.steps[1].t == 20.5 &&
              cli.cfg.steps[1].factor == 0.5 && cli.cfg.steps[1].flow == -1,
          "cli: --step T:F:I and T:F");
    const char *bad[] = {"10", "x:1", "1:-1", "1:2:", "1:2:x", "1:2:3:4", "-1:2"};
    int refused = 0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *a7[] = {"sfa-gen", "--step", (char *)bad[i], NULL};
        refused += gen_cli_parse(&cli, 3, a7, null, null) == SFA_ECONFIG;
    }
    CHECK_EQ(refused, 7, "cli: malformed --step values refused");
    fclose(null);
}

int
main(int argc, char **argv)
{
    test_xdr();
    test_dgram_header();
    test_flow_sample();
    test_counter_samples();
    test_packet();
    test_zipf_and_rates();
    test_samples_over_10s();
    test_dgram_rate_rule();
    test_restart_and_wrap();
    test_steps();
    test_pcap(argc > 1 ? argv[1] : "gen_test.pcap");
    test_udp();
    test_target_and_cli();
    return test_done();
}
