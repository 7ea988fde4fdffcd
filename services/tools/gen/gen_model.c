/* gen_model.c - builds sfa-gen's synthetic network: agents and their
 * addresses, interfaces, flows with a Zipf share of the agent's traffic,
 * their true rates, the sampling rate, and the pre-encoded flow-sample
 * templates that gen_run.c patches per sample.
 *
 * Everything is decided here, once, from the configuration and the seed;
 * nothing here runs per datagram. Rates are exact by construction: a flow
 * has one frame size, so bytes/s = frames/s * frame length, and an
 * interface's rates are the sums of its flows' rates. Single-threaded.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/log.h>
#include <sfa/mem.h>

#include "gen_model_int.h"

/* Frame sizes (FCS included) a flow may get. */
static const uint32_t model_sizes[] = {64, 128, 256, 512, 576, 1024, 1500};
#define MODEL_NSIZES (sizeof model_sizes / sizeof model_sizes[0])

static const uint16_t model_tcp_ports[] = {443, 80, 22, 8080, 5201, 3306};
static const uint16_t model_udp_ports[] = {53, 123, 4789, 5353};

void
gen_cfg_defaults(gen_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->target = "127.0.0.1:6343";
    cfg->batch = 64;
    cfg->agents = 1;
    cfg->subagents = 1;
    cfg->ifaces = 4;
    cfg->flows = 10;
    cfg->zipf = 1.0;
    cfg->header_bytes = 128;
    cfg->rate_mode = GEN_RATE_PPS;
    cfg->rate = 1e6;
    cfg->sampling = 1000;
    cfg->samples_per_dgram = 6;
    cfg->max_dgram = 1400;
    cfg->dgram_rate = -1;
    cfg->seed = 1;
    cfg->counter_interval = 20;
    cfg->restart_at = -1;
    cfg->restart_agent = -1;
}

/* splitmix64: small, seedable, good enough to spread phases and sizes. */
static uint64_t
model_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double
model_unit(uint64_t *s)
{
    return (double)(model_rand(s) >> 11) * (1.0 / 9007199254740992.0);
}

static int
model_check_cfg(const gen_cfg *c, char *err, size_t errcap)
{
    const char *why = NULL;

    if (c->agents < 1 || c->agents > 65535)
        why = "--agents must be 1..65535";
    else if (c->subagents < 1 || c->subagents > 256)
        why = "--subagents must be 1..256";
    else if ((uint64_t)c->agents * c->subagents > 65536)
        why = "agents * subagents must be <= 65536";
    else if (c->ifaces < 1 || c->ifaces > 4096 || (uint64_t)c->ifaces * c->agents > 1000000)
        why = "--ifaces must be 1..4096 and agents * ifaces <= 1000000";
    else if (c->flows < 1 || (uint64_t)c->flows * c->agents > 1000000)
        why = "--flows must be >= 1 and agents * flows <= 1000000";
    else if (!(c->zipf >= 0 && c->zipf <= 10))
        why = "--zipf must be 0..10";
    else if (!(c->mix6 >= 0 && c->mix6 <= 1))
        why = "--mix6 must be 0..1";
    else if (c->header_bytes < 14 || c->header_bytes > 256)
        why = "--header-bytes must be 14..256";
    else if (!(c->rate > 0 && isfinite(c->rate)))
        why = "the traffic rate must be > 0";
    else if (c->sampling < 1)
        why = "--sampling must be >= 1";
    else if (c->samples_per_dgram < 1 || c->samples_per_dgram > GEN_MAX_SAMPLES_PER_DGRAM)
        why = "--samples-per-datagram must be 1..64";
    else if (c->max_dgram < 512 || c->max_dgram > GEN_MAX_DGRAM)
        why = "--max-datagram must be 512..9000";
    else if ((c->counters || c->host) && !(c->counter_interval >= 0.01))
        why = "--counter-interval must be >= 0.01";
    else if (c->restart_agent >= (int)c->agents)
        why = "--agent-restart names an agent that does not exist";
    else if (c->nsteps > GEN_MAX_STEPS)
        why = "at most 32 --step options";
    for (uint32_t k = 0; !why && k < c->nsteps; k++) {
        const gen_step *st = &c->steps[k];
        if (!(st->t >= 0 && isfinite(st->t)) || !(st->factor >= 0 && st->factor <= 1e6))
            why = "--step needs T >= 0 and a factor 0..1e6";
        else if (st->flow >= (int)c->flows)
            why = "--step names a flow that does not exist";
    }
    if (why)
        snprintf(err, errcap, "%s", why);
    return why ? SFA_ECONFIG : 0;
}

static void
model_agent_addr(const gen_model *m, uint32_t a, sfa_addr *out)
{
    sfa_addr base = m->cfg.agent_base;

    if (base.family == 0) {
        const char *def = m->cfg.agent6 ? "2001:db8:ffff::1" : "10.0.0.1";
        if (sfa_addr_parse(def, &base) != 0)
            memset(&base, 0, sizeof base);
    }
    /* Add a to the last 32 bits of the address. */
    size_t o = base.family == 6 ? 12 : 0;
    uint32_t v = (uint32_t)base.a[o] << 24 | (uint32_t)base.a[o + 1] << 16 |
                 (uint32_t)base.a[o + 2] << 8 | base.a[o + 3];
    gen_put32(base.a + o, v + a);
    *out = base;
}

static void
model_agents(gen_model *m)
{
    for (uint32_t a = 0; a < m->nagents; a++) {
        gen_agent *ag = &m->agents[a];
        model_agent_addr(m, a, &ag->addr);
        ag->if_first = a * m->nif;
        ag->load_one = 0.25f * (float)(1 + a % 8);
        ag->load_five = ag->load_one / 2;
        ag->load_fifteen = ag->load_one / 4;
        ag->mem_total = 16ull << 30;
        ag->mem_free = (4ull << 30) + ((uint64_t)a << 20);
        snprintf(ag->hostname, sizeof ag->hostname, "sfa-gen-agent-%u", a);
        uint64_t u = m->cfg.seed * 1000003u + a;
        gen_put64(ag->uuid, model_rand(&u));
        gen_put64(ag->uuid + 8, model_rand(&u));
        ag->uuid[6] = (uint8_t)((ag->uuid[6] & 0x0f) | 0x40); /* version 4 */
        ag->uuid[8] = (uint8_t)((ag->uuid[8] & 0x3f) | 0x80);
    }
    for (uint32_t i = 0; i < m->nagents * m->nif; i++) {
        gen_iface *ifc = &m->ifaces[i];
        uint32_t k = i % m->nif;
        ifc->agent = i / m->nif;
        ifc->ifindex = k + 1;
        ifc->stream = ifc->agent * m->nsub + k % m->nsub;
    }
    for (uint32_t s = 0; s < m->nstreams; s++) {
        m->streams[s].agent = s / m->nsub;
        m->streams[s].sub = s % m->nsub;
    }
}

/* Is flow i of m flows IPv6? Spread floor(m * mix6) IPv6 flows evenly. */
static int
model_is_v6(double mix6, uint32_t i)
{
    return floor((i + 1) * mix6) > floor(i * mix6);
}

static void
model_flow_pkt(gen_model *m, uint32_t a, uint32_t i, gen_flow *f, uint64_t *rng)
{
    gen_pkt_desc *p = &f->pkt;
    uint32_t g = a * m->cfg.flows + i; /* global flow number: distinct tuples */
    int udp = i % 3 == 2;

    memset(p, 0, sizeof *p);
    p->mac_src[0] = 0x02;
    gen_put32(p->mac_src + 2, g + 1);
    p->mac_dst[0] = 0x02;
    p->mac_dst[1] = 0x01;
    gen_put32(p->mac_dst + 2, i + 1);
    p->vlan = (uint16_t)(100 + i % 16);
    p->priority = (uint8_t)(i % 4);
    p->protocol = udp ? 17 : 6;
    p->sport = (uint16_t)(10000 + g % 50000);
    p->dport = udp ? model_udp_ports[i % (sizeof model_udp_ports / sizeof model_udp_ports[0])]
                   : model_tcp_ports[i % (sizeof model_tcp_ports / sizeof model_tcp_ports[0])];
    if (model_is_v6(m->cfg.mix6, i)) {
        p->src.family = p->dst.family = 6;
        uint8_t s6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1};
        uint8_t d6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 2};
        gen_put32(s6 + 12, g + 1);
        gen_put32(d6 + 8, a);
        gen_put32(d6 + 12, i + 1);
        memcpy(p->src.a, s6, 16);
        memcpy(p->dst.a, d6, 16);
    } else {
        p->src.family = p->dst.family = 4;
        gen_put32(p->src.a, 0xac100000u + (g + 1) % 0x100000u); /* 172.16.0.0/12 */
        gen_put32(p->dst.a, 0xc6120000u + (i + 1) % 0x20000u);  /* 198.18.0.0/15 */
    }

    /* One fixed frame size per flow, big enough for its headers. */
    uint32_t size = model_sizes[model_rand(rng) % MODEL_NSIZES];
    for (size_t k = 0; size < gen_packet_min_frame(p) && k < MODEL_NSIZES; k++)
        size = model_sizes[k];
    f->frame_len = size;
}

/* Zipf shares, rates and interfaces of every flow. */
static void
model_flows(gen_model *m, uint64_t *rng)
{
    uint32_t M = m->cfg.flows;
    double h = 0;

    for (uint32_t i = 0; i < M; i++)
        h += 1.0 / pow(i + 1, m->cfg.zipf);

    for (uint32_t a = 0; a < m->nagents; a++) {
        gen_agent *ag = &m->agents[a];
        for (uint32_t i = 0; i < M; i++) {
            gen_flow *f = &m->flows[a * M + i];
            uint32_t kin = i % m->nif, kout = (i + 1) % m->nif;
            model_flow_pkt(m, a, i, f, rng);
            f->agent = a;
            f->iface = ag->if_first + kin;
            f->in_ifindex = kin + 1;
            f->out_ifindex = kout + 1;
            f->stream = m->ifaces[f->iface].stream;
            f->share = 1.0 / pow(i + 1, m->cfg.zipf) / h;
            f->factor = 1;
            if (m->cfg.rate_mode == GEN_RATE_BPS) {
                f->Bps = f->share * m->cfg.rate / 8;
                f->pps = f->Bps / f->frame_len;
            } else {
                double agent_pps =
                    m->cfg.rate_mode == GEN_RATE_TOTAL ? m->cfg.rate / m->nagents : m->cfg.rate;
                f->pps = f->share * agent_pps;
                f->Bps = f->pps * f->frame_len;
            }
            gen_iface *in = &m->ifaces[f->iface], *out = &m->ifaces[ag->if_first + kout];
            in->in_pps += f->pps;
            in->in_Bps += f->Bps;
            out->out_pps += f->pps;
            out->out_Bps += f->Bps;
            ag->pps += f->pps;
            ag->Bps += f->Bps;
            m->total_pps += f->pps;
            m->total_Bps += f->Bps;
        }
    }
}

/* Interface speeds and counter starting points. */
static void
model_ifaces(gen_model *m)
{
    for (uint32_t i = 0; i < m->nagents * m->nif; i++) {
        gen_iface *ifc = &m->ifaces[i];
        double bits = 8 * fmax(ifc->in_Bps, ifc->out_Bps);
        ifc->cin_pps = ifc->in_pps;
        ifc->cin_Bps = ifc->in_Bps;
        ifc->cout_pps = ifc->out_pps;
        ifc->cout_Bps = ifc->out_Bps;
        ifc->speed = 10000000000ull;
        while ((double)ifc->speed < bits && ifc->speed < 1000000000000000ull)
            ifc->speed *= 10;
        if (m->cfg.counter_wrap) {
            /* 32-bit packet counters wrap and 64-bit octet counters cross
             * 2^32 about 2.5 s after the start. */
            ifc->pkt_in0 = (uint32_t)(0x100000000ull - 1000 - (uint64_t)(ifc->in_pps * 2.5));
            ifc->pkt_out0 = (uint32_t)(0x100000000ull - 1000 - (uint64_t)(ifc->out_pps * 2.5));
            ifc->oct_in0 = 0x100000000ull - 1000 - (uint64_t)(ifc->in_Bps * 2.5);
            ifc->oct_out0 = 0x100000000ull - 1000 - (uint64_t)(ifc->out_Bps * 2.5);
        }
    }
}

/* Counter samples per second of a stream (interfaces it owns + host). */
static double
model_counter_ps(const gen_model *m, uint32_t sub)
{
    double n = 0;
    if (m->cfg.counters)
        for (uint32_t k = 0; k < m->nif; k++)
            n += k % m->nsub == sub;
    if (m->cfg.host && sub == 0)
        n += 1;
    return n / m->cfg.counter_interval;
}

static int
model_sampling(gen_model *m, size_t max_sample, char *err, size_t errcap)
{
    size_t hlen = gen_dgram_header_len(&m->agents[0].addr);
    uint32_t kfit = (uint32_t)((m->cfg.max_dgram - hlen) / max_sample);
    uint32_t keff = m->K < kfit ? m->K : kfit;

    m->counter_ps = 0;
    for (uint32_t s = 0; s < m->nstreams; s++)
        m->counter_ps += model_counter_ps(m, s % m->nsub);

    m->N = m->cfg.sampling;
    if (m->cfg.dgram_rate > 0) {
        /* --dgram-rate wins: choose N so that full datagrams of flow and
         * counter samples come out at about that rate. */
        double flow_ps = m->cfg.dgram_rate * keff - m->counter_ps;
        if (flow_ps <= 0) {
            snprintf(err, errcap, "--dgram-rate %g is too low to carry the counter samples",
                     m->cfg.dgram_rate);
            return SFA_ECONFIG;
        }
        double n = floor(m->total_pps / flow_ps + 0.5);
        if (n < 1) {
            SFA_WARN("true rate %.0f frames/s is too low for %g datagrams/s even at 1-in-1 "
                     "sampling; using sampling rate 1",
                     m->total_pps, m->cfg.dgram_rate);
            n = 1;
        }
        m->N = n > 4294967295.0 ? 4294967295u : (uint32_t)n;
        if (m->cfg.sampling_set && m->N != m->cfg.sampling)
            SFA_WARN("--dgram-rate %g wins over --sampling %u: sampling 1-in-%u", m->cfg.dgram_rate,
                     m->cfg.sampling, m->N);
    }
    m->flow_ps = m->total_pps / m->N;
    return 0;
}

/* Pre-encode every flow's sample with sequence number and pool zero. */
static int
model_templates(gen_model *m, size_t per_flow, uint64_t *rng, char *err, size_t errcap)
{
    uint8_t hdr[256];

    for (uint32_t i = 0; i < m->nflows; i++) {
        gen_flow *f = &m->flows[i];
        int n = gen_enc_packet(hdr, m->cfg.header_bytes, &f->pkt, f->frame_len);
        if (n < 0) {
            snprintf(err, errcap, "flow %u: frame of %u bytes too small", i, f->frame_len);
            return SFA_ECONFIG;
        }
        gen_flow_desc d = {
            .source_id = f->in_ifindex,
            .rate = m->N,
            .input = f->in_ifindex,
            .output = f->out_ifindex,
            .header_protocol = 1,
            .frame_length = f->frame_len,
            .stripped = 4,
            .header = hdr,
            .header_len = (uint32_t)n,
            .has_switch = 1,
            .src_vlan = f->pkt.vlan,
            .src_priority = f->pkt.priority,
            .dst_vlan = f->pkt.vlan,
            .dst_priority = f->pkt.priority,
        };
        gen_xdr w;
        f->tmpl_off = i * per_flow;
        gen_xdr_init(&w, m->tmpl + f->tmpl_off, per_flow);
        gen_enc_flow_sample(&w, &d);
        if (w.err) {
            snprintf(err, errcap, "flow %u: template does not fit", i);
            return SFA_ECONFIG;
        }
        f->tmpl_len = (uint32_t)w.len;
        f->interval = m->N / f->pps;
        gen__heap_push(m, model_unit(rng) * f->interval, i);
        m->streams[f->stream].flow_ps += f->pps / m->N;
    }
    return 0;
}

/* Bytes of one stream's datagram buffer: max_dgram, plus room for one
 * sample when a lone sample would pass max_dgram (it cannot: samples are
 * under 512 bytes and max_dgram is at least 512; this is a safety margin). */
static size_t
model_stream_cap(const gen_model *m)
{
    return m->cfg.max_dgram + 512;
}

static void
model_streams(gen_model *m, uint64_t *rng)
{
    for (uint32_t s = 0; s < m->nstreams; s++) {
        gen_stream *st = &m->streams[s];
        gen_xdr w;
        st->buf = m->bufs + (size_t)s * model_stream_cap(m);
        gen_xdr_init(&w, st->buf, model_stream_cap(m));
        gen_enc_dgram_header(&w, &m->agents[st->agent].addr, st->sub, 0, 0, 0);
        st->hlen = st->len = w.len;
        st->counter_ps = model_counter_ps(m, st->sub);

        double per_s = st->flow_ps + st->counter_ps;
        double d = per_s / m->K;
        if (per_s > 0 && d < 1) /* the 1 s flush tick sends partial datagrams */
            d = 1;
        m->dgram_rate += d;

        if (st->counter_ps > 0)
            gen__heap_push(m, model_unit(rng) * m->cfg.counter_interval, gen_ev_counter(m, s));
        gen__heap_push(m, model_unit(rng), gen_ev_tick(m, s));
    }
    if (m->cfg.restart_at >= 0)
        for (uint32_t a = 0; a < m->nagents; a++)
            if (m->cfg.restart_agent < 0 || (uint32_t)m->cfg.restart_agent == a)
                gen__heap_push(m, m->cfg.restart_at, gen_ev_restart(m, a));
    for (uint32_t k = 0; k < m->cfg.nsteps; k++)
        gen__heap_push(m, m->cfg.steps[k].t, gen_ev_step(m, k));
}

int
gen_model_create(gen_model **out, const gen_cfg *cfg, char *err, size_t errcap)
{
    gen_model *m = NULL;
    uint64_t rng = cfg->seed;
    int rc = model_check_cfg(cfg, err, errcap);
    if (rc)
        goto fail;

    m = sfa_xcalloc(1, sizeof *m);
    m->cfg = *cfg;
    m->K = cfg->samples_per_dgram;
    m->nsub = cfg->subagents;
    m->nif = cfg->ifaces < cfg->subagents ? cfg->subagents : cfg->ifaces;
    m->nagents = cfg->agents;
    m->nflows = cfg->agents * cfg->flows;
    m->nstreams = cfg->agents * cfg->subagents;
    m->agents = sfa_xcalloc(m->nagents, sizeof *m->agents);
    m->ifaces = sfa_xcalloc((size_t)m->nagents * m->nif, sizeof *m->ifaces);
    m->flows = sfa_xcalloc(m->nflows, sizeof *m->flows);
    m->streams = sfa_xcalloc(m->nstreams, sizeof *m->streams);
    m->bufs = sfa_xmalloc((size_t)m->nstreams * model_stream_cap(m));
    m->heap = sfa_xcalloc((size_t)m->nflows + 2 * m->nstreams + m->nagents + cfg->nsteps,
                          sizeof *m->heap);

    /* A flow sample: envelope 8 + body 32 + header record 8 + 16 + header
     * + extended_switch 8 + 16. */
    size_t per_flow = 88 + ((cfg->header_bytes + 3) & ~3u);
    m->tmpl = sfa_xmalloc(m->nflows * per_flow);

    model_agents(m);
    model_flows(m, &rng);
    model_ifaces(m);
    if ((rc = model_sampling(m, per_flow, err, errcap)) != 0)
        goto fail;
    if ((rc = model_templates(m, per_flow, &rng, err, errcap)) != 0)
        goto fail;
    model_streams(m, &rng);
    *out = m;
    return 0;
fail:
    gen_model_destroy(m);
    return rc;
}

void
gen_model_destroy(gen_model *m)
{
    if (!m)
        return;
    free(m->heap);
    free(m->bufs);
    free(m->tmpl);
    free(m->streams);
    free(m->flows);
    free(m->ifaces);
    free(m->agents);
    free(m);
}

void
gen_model_get_stats(const gen_model *m, gen_model_stats *st)
{
    memset(st, 0, sizeof *st);
    st->sampling = m->N;
    st->total_pps = m->total_pps;
    st->total_bps = m->total_Bps;
    st->flow_samples_ps = m->flow_ps;
    st->counter_samples_ps = m->counter_ps;
    st->dgram_rate = m->dgram_rate;
    st->sim_time = m->now;
    st->datagrams = m->dgrams;
    st->bytes = m->bytes;
    st->flow_samples = m->fs_sent;
    st->counter_samples = m->cs_sent;
}

uint32_t
gen_model_nflows(const gen_model *m)
{
    return m->nflows;
}

double
gen_model_flow_share(const gen_model *m, uint32_t i)
{
    return i < m->nflows ? m->flows[i].share : 0;
}

double
gen_model_flow_pps(const gen_model *m, uint32_t i)
{
    return i < m->nflows ? m->flows[i].pps : 0;
}

uint32_t
gen_model_flow_frame_len(const gen_model *m, uint32_t i)
{
    return i < m->nflows ? m->flows[i].frame_len : 0;
}

uint64_t
gen_model_flow_samples(const gen_model *m, uint32_t i)
{
    return i < m->nflows ? m->flows[i].sent : 0;
}
