/* gen_decode_test.c - sfa-gen's encoder cross-checked by the collector's
 * decoder (col_sflow_decode), written independently from the same wire note.
 *
 * Every generated datagram must decode without error, with the agent,
 * sub-agent, consecutive sequence numbers and sample counts the generator
 * used; every flow sample must carry the sampling rate, data source and
 * the addresses, ports, protocol, MACs, VLAN and frame length of the flow
 * the truth file names; the rates recovered from the decoded samples
 * (sum of frame_length x rate over the run) must match the truth within
 * 5 %, the counter rates (if_counters octets, host_net_io bytes over uptime)
 * within 1 %, sample_pool must advance by N per sample, and the host
 * figures (load_one, mem_total, hostname) must come back exactly.
 */
#include <stdlib.h>
#include <string.h>

#include "gen_model.h"
#include "sflow_decode.h"
#include "test.h"

#define MAXF 512
#define MAXA 8
#define MAXIF 16

static sfa_dgram dg;

typedef struct fl_truth {
    char src[64], dst[64], macsrc[18];
    uint32_t proto, sport, dport, framelen, vlan, in, out;
    double bps;
    uint64_t samples;
    double bytes; /* sum of frame_length x sampling_rate */
} fl_truth;

typedef struct ctr_track {
    int seen;
    uint32_t up0, up1;
    uint64_t in0, in1, out0, out1;
    double in_rate, out_rate; /* truth */
} ctr_track;

typedef struct pool_track {
    int seen;
    uint32_t seq0, seq1, pool0, pool1;
} pool_track;

typedef struct xcheck {
    uint32_t N, nagents, nflows_per_agent;
    fl_truth fl[MAXF];
    sfa_addr agent[MAXA];
    ctr_track ifc[MAXA][MAXIF];
    pool_track pool[MAXA][MAXIF];
    ctr_track host[MAXA];
    double load_one[MAXA];
    uint64_t mem_total[MAXA];
    char hostname[MAXA][32];
    uint32_t last_seq[MAXA * 4];
    col_decode_stats st;
    uint64_t dgrams, bad_status, bad_header, bad_seq, bad_flow, unmatched, bad_host;
    uint64_t flow_samples, ifc_samples, host_samples;
} xcheck;

static const sfa_field *
field(const sfa_sample *s, unsigned id)
{
    for (uint32_t i = 0; i < s->field_count; i++)
        if (dg.fields[s->field_first + i].id == id)
            return &dg.fields[s->field_first + i];
    return NULL;
}

static uint64_t
fu(const sfa_sample *s, unsigned id)
{
    const sfa_field *f = field(s, id);
    return f ? f->v.u : UINT64_MAX;
}

static void
faddr(const sfa_sample *s, unsigned id, int family, char *out)
{
    const sfa_field *f = field(s, id);
    sfa_addr a = {.family = (uint8_t)family};
    out[0] = '\0';
    if (f) {
        memcpy(a.a, f->v.a, family == 6 ? 16 : 4);
        sfa_addr_format(&a, out);
    }
}

static const char *
jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static uint32_t
jint(json_t *o, const char *k)
{
    return (uint32_t)json_integer_value(json_object_get(o, k));
}

/* Load what the truth says about agents, flows, interfaces and hosts. */
static void
xcheck_load(xcheck *x, json_t *t)
{
    json_t *agents = json_object_get(t, "agents");
    x->N = jint(t, "sampling_rate");
    x->nagents = (uint32_t)json_array_size(agents);
    for (uint32_t a = 0; a < x->nagents && a < MAXA; a++) {
        json_t *ag = json_array_get(agents, a), *flows = json_object_get(ag, "flows");
        json_t *ifs = json_object_get(ag, "interfaces"), *h = json_object_get(ag, "host");
        if (sfa_addr_parse(jstr(ag, "agent"), &x->agent[a]) != 0)
            memset(&x->agent[a], 0, sizeof x->agent[a]);
        x->nflows_per_agent = (uint32_t)json_array_size(flows);
        for (uint32_t i = 0; i < x->nflows_per_agent && a * x->nflows_per_agent + i < MAXF; i++) {
            json_t *f = json_array_get(flows, i);
            fl_truth *ft = &x->fl[a * x->nflows_per_agent + i];
            int v6 = jint(f, "ipversion") == 6;
            snprintf(ft->src, sizeof ft->src, "%s", jstr(f, v6 ? "ip6source" : "ipsource"));
            snprintf(ft->dst, sizeof ft->dst, "%s",
                     jstr(f, v6 ? "ip6destination" : "ipdestination"));
            snprintf(ft->macsrc, sizeof ft->macsrc, "%s", jstr(f, "macsource"));
            ft->proto = jint(f, "protocol");
            ft->sport = jint(f, "sourceport");
            ft->dport = jint(f, "destinationport");
            ft->framelen = jint(f, "framelength");
            ft->vlan = jint(f, "vlan");
            ft->in = jint(f, "inputifindex");
            ft->out = jint(f, "outputifindex");
            ft->bps = json_real_value(json_object_get(f, "bytes_per_s"));
        }
        for (size_t k = 0; k < json_array_size(ifs) && k < MAXIF; k++) {
            json_t *i = json_array_get(ifs, k);
            ctr_track *c = &x->ifc[a][jint(i, "ifindex") % MAXIF];
            c->in_rate = json_real_value(json_object_get(i, "ifinoctets_per_s"));
            c->out_rate = json_real_value(json_object_get(i, "ifoutoctets_per_s"));
        }
        if (h) {
            x->load_one[a] = json_real_value(json_object_get(h, "load_one"));
            x->mem_total[a] = (uint64_t)json_integer_value(json_object_get(h, "mem_total"));
            x->host[a].in_rate = json_real_value(json_object_get(h, "bytes_in_per_s"));
            x->host[a].out_rate = json_real_value(json_object_get(h, "bytes_out_per_s"));
            snprintf(x->hostname[a], sizeof x->hostname[a], "%s", jstr(h, "hostname"));
        }
    }
}

static void
track(ctr_track *c, uint32_t up, uint64_t in, uint64_t out)
{
    if (!c->seen) {
        c->seen = 1;
        c->up0 = up;
        c->in0 = in;
        c->out0 = out;
    }
    c->up1 = up;
    c->in1 = in;
    c->out1 = out;
}

static void
check_flow(xcheck *x, uint32_t a, const sfa_sample *s)
{
    int v6 = field(s, SFA_F_IP6SOURCE) != NULL;
    uint32_t proto = (uint32_t)fu(s, v6 ? SFA_F_IP6NEXTHDR : SFA_F_IPPROTOCOL);
    uint32_t sport = (uint32_t)fu(s, proto == 6 ? SFA_F_TCPSOURCEPORT : SFA_F_UDPSOURCEPORT);
    uint32_t dport =
        (uint32_t)fu(s, proto == 6 ? SFA_F_TCPDESTINATIONPORT : SFA_F_UDPDESTINATIONPORT);
    char src[64], dst[64], mac[18] = "";
    fl_truth *ft = NULL;

    x->flow_samples++;
    faddr(s, v6 ? SFA_F_IP6SOURCE : SFA_F_IPSOURCE, v6 ? 6 : 4, src);
    faddr(s, v6 ? SFA_F_IP6DESTINATION : SFA_F_IPDESTINATION, v6 ? 6 : 4, dst);
    const sfa_field *m = field(s, SFA_F_MACSOURCE);
    if (m)
        snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", m->v.a[0], m->v.a[1], m->v.a[2],
                 m->v.a[3], m->v.a[4], m->v.a[5]);
    for (uint32_t i = 0; i < x->nflows_per_agent; i++) {
        fl_truth *c = &x->fl[a * x->nflows_per_agent + i];
        if (c->sport == sport && strcmp(c->src, src) == 0)
            ft = c;
    }
    if (!ft) {
        x->unmatched++;
        return;
    }
    uint32_t flen = (uint32_t)fu(s, SFA_F_FRAME_LENGTH);
    if (strcmp(ft->dst, dst) != 0 || ft->proto != proto || ft->dport != dport ||
        ft->framelen != flen || ft->vlan != fu(s, SFA_F_VLAN) || strcmp(ft->macsrc, mac) != 0 ||
        ft->vlan != fu(s, SFA_F_VLANSOURCE) || s->rate != x->N || s->ds_class != 0 ||
        s->ds_index != ft->in || s->in_val != ft->in || s->out_val != ft->out || s->out_fmt != 0) {
        x->bad_flow++;
        return;
    }
    ft->samples++;
    ft->bytes += (double)flen * s->rate;
    pool_track *p = &x->pool[a][s->ds_index % MAXIF];
    if (!p->seen) {
        p->seen = 1;
        p->seq0 = s->seq;
        p->pool0 = s->pool;
    }
    p->seq1 = s->seq;
    p->pool1 = s->pool;
}

static void
check_counter(xcheck *x, uint32_t a, const sfa_sample *s)
{
    if (s->ds_class == 0) {
        x->ifc_samples++;
        if (fu(s, SFA_F_IFINDEX) != s->ds_index)
            x->bad_flow++;
        track(&x->ifc[a][s->ds_index % MAXIF], dg.uptime, fu(s, SFA_F_IFINOCTETS),
              fu(s, SFA_F_IFOUTOCTETS));
        return;
    }
    x->host_samples++;
    const sfa_field *load = field(s, SFA_F_LOAD_ONE), *hn = field(s, SFA_F_HOST_NAME);
    if (s->ds_class != 2 || s->ds_index != 1 || !load || load->v.d != x->load_one[a] ||
        fu(s, SFA_F_MEM_TOTAL) != x->mem_total[a] || !hn || hn->n != strlen(x->hostname[a]) ||
        memcmp(hn->v.p, x->hostname[a], hn->n) != 0)
        x->bad_host++;
    track(&x->host[a], dg.uptime, fu(s, SFA_F_BYTES_IN), fu(s, SFA_F_BYTES_OUT));
}

static int
xcheck_cb(void *arg, const uint8_t *buf, size_t len, const gen_dgram_info *info)
{
    xcheck *x = arg;
    uint32_t a = info->agent;

    x->dgrams++;
    memset(&dg.src, 0, sizeof dg.src);
    if (col_sflow_decode(buf, len, &dg, &x->st) != 0 || dg.status != 0) {
        x->bad_status++;
        return 0;
    }
    if (dg.version != 5 || dg.agent.family != info->agent_addr->family ||
        memcmp(dg.agent.a, info->agent_addr->a, 16) != 0 || dg.nsamples != info->nsamples ||
        dg.nsamples_declared != info->nsamples || dg.len != len || a >= MAXA ||
        memcmp(&dg.agent, &x->agent[a], sizeof dg.agent) != 0)
        x->bad_header++;
    uint32_t si = info->stream % (MAXA * 4);
    if (dg.seq != x->last_seq[si] + 1)
        x->bad_seq++;
    x->last_seq[si] = dg.seq;

    for (uint32_t i = 0; i < dg.nsamples; i++) {
        const sfa_sample *s = &dg.samples[i];
        if (s->status != 0)
            x->bad_status++;
        else if (s->tag == SFA_SAMPLE_FLOW)
            check_flow(x, a, s);
        else if (s->tag == SFA_SAMPLE_COUNTER)
            check_counter(x, a, s);
        else
            x->bad_header++;
    }
    return 0;
}

static double
rate_of(uint64_t v0, uint64_t v1, uint32_t up0, uint32_t up1)
{
    return up1 > up0 ? (double)(v1 - v0) / ((up1 - up0) / 1000.0) : 0;
}

static void
run_xcheck(const char *name, gen_cfg *cfg, double duration)
{
    static xcheck x;
    gen_model *m = NULL;
    char err[128], what[160];

    memset(&x, 0, sizeof x);
    cfg->duration = duration;
    snprintf(what, sizeof what, "%s: model", name);
    CHECK_OK(gen_model_create(&m, cfg, err, sizeof err), what);
    if (!m)
        return;
    json_t *t = gen_model_truth(m, &(gen_run_info){0});
    xcheck_load(&x, t);
    json_decref(t);
    CHECK_OK(gen_model_run(m, xcheck_cb, &x), "run");

    gen_model_stats st;
    gen_model_get_stats(m, &st);
#define XCHECK(cond, fmt)                                                                          \
    do {                                                                                           \
        snprintf(what, sizeof what, "%s: %s", name, fmt);                                          \
        CHECK(cond, what);                                                                         \
    } while (0)
    XCHECK(x.dgrams > 0 && x.dgrams == st.datagrams, "datagrams generated");
    XCHECK(x.bad_status == 0, "every datagram and sample decodes without error");
    XCHECK(x.st.records_malformed == 0 && x.st.flow_records_unknown == 0 &&
               x.st.counter_records_unknown == 0 && x.st.trailing_bytes == 0,
           "no malformed, unknown or trailing data");
    XCHECK(x.bad_header == 0, "agent, sample counts and lengths come back");
    XCHECK(x.bad_seq == 0, "datagram sequence numbers consecutive per sub-agent");
    XCHECK(x.unmatched == 0, "every flow sample matches a truth flow (address, port)");
    XCHECK(x.bad_flow == 0, "flow fields: dst, protocol, ports, MAC, VLAN, length, ifIndex");
    XCHECK(x.flow_samples == st.flow_samples, "flow samples decoded = sent");
    XCHECK(x.ifc_samples + x.host_samples == st.counter_samples, "counter samples decoded = sent");
    XCHECK(x.bad_host == 0, "host: load_one, mem_total, hostname exact");
    XCHECK(x.flow_samples > 0 && x.ifc_samples > 0, "flow and interface counter samples seen");
    XCHECK(!cfg->host || x.host_samples > 0, "host samples seen when asked for");

    int ok_rate = 1, ok_pool = 1, ok_ctr = 1, ok_host = 1;
    for (uint32_t i = 0; i < x.nagents * x.nflows_per_agent && i < MAXF; i++) {
        fl_truth *f = &x.fl[i];
        if (f->samples == 0)
            ok_rate = 0;
        double est = f->bytes / duration;
        if (fabs(est - f->bps) > 0.05 * f->bps) {
            ok_rate = 0;
            printf("# flow %u: %g bytes/s from samples, truth %g\n", i, est, f->bps);
        }
    }
    for (uint32_t a = 0; a < x.nagents && a < MAXA; a++) {
        for (uint32_t k = 0; k < MAXIF; k++) {
            pool_track *p = &x.pool[a][k];
            ctr_track *c = &x.ifc[a][k];
            if (p->seen && p->seq1 > p->seq0) {
                double per = (double)(p->pool1 - p->pool0) / (p->seq1 - p->seq0);
                if (fabs(per - x.N) > 0.02 * x.N) {
                    ok_pool = 0;
                    printf("# agent %u if %u: pool advances %g per sample\n", a, k, per);
                }
            }
            if (c->seen && cfg->counters) {
                double ri = rate_of(c->in0, c->in1, c->up0, c->up1);
                double ro = rate_of(c->out0, c->out1, c->up0, c->up1);
                if (fabs(ri - c->in_rate) > 0.01 * c->in_rate ||
                    fabs(ro - c->out_rate) > 0.01 * c->out_rate) {
                    ok_ctr = 0;
                    printf("# agent %u if %u: in %g (truth %g) out %g (truth %g)\n", a, k, ri,
                           c->in_rate, ro, c->out_rate);
                }
            }
        }
        ctr_track *h = &x.host[a];
        if (cfg->host) {
            double ri = rate_of(h->in0, h->in1, h->up0, h->up1);
            if (!h->seen || fabs(ri - h->in_rate) > 0.01 * h->in_rate)
                ok_host = 0;
        }
    }
    XCHECK(ok_rate, "every flow's bytes/s from samples within 5 % of the truth");
    XCHECK(ok_pool, "sample_pool advances by N per sample (within 2 %)");
    XCHECK(ok_ctr, "if_counters octet rates within 1 % of the truth");
    XCHECK(ok_host, "host_net_io bytes_in rate within 1 % of the truth");
    gen_model_destroy(m);
}

int
main(void)
{
    gen_cfg cfg;

    gen_cfg_defaults(&cfg);
    cfg.agents = 3;
    cfg.subagents = 2;
    cfg.flows = 30;
    cfg.mix6 = 0.5;
    cfg.rate = 2e5;
    cfg.sampling = 50;
    cfg.counters = 1;
    cfg.host = 1;
    cfg.counter_interval = 1;
    run_xcheck("ipv4 agents", &cfg, 8);

    gen_cfg_defaults(&cfg);
    cfg.agents = 2;
    cfg.agent6 = 1;
    cfg.flows = 20;
    cfg.mix6 = 1;
    cfg.rate_mode = GEN_RATE_BPS;
    cfg.rate = 1e9;
    cfg.sampling = 400;
    cfg.counters = 1;
    cfg.counter_interval = 1;
    cfg.counter_wrap = 1;
    cfg.samples_per_dgram = 9;
    run_xcheck("ipv6 agents", &cfg, 8);
    return test_done();
}
