/* gen_run.c - the model's event loop: takes flow samples, counter samples
 * and flush ticks in simulated-time order, assembles them into per-stream
 * datagrams and hands each finished datagram to the emit callback.
 *
 * This is sfa-gen's per-datagram path, so it allocates nothing: a flow
 * sample is a memcpy of its pre-encoded template plus two patched words
 * (sequence number, sample pool); a datagram header is patched in place.
 * Counter samples are rare and encoded on the spot. Agent state (uptime,
 * sequence numbers, pools, counters) is a pure function of simulated time
 * since the agent's last boot and of the rate changes (--step) since, so a
 * simulated reboot resets all of it. A rate change rescales the flows'
 * pending sample times (keeping their phase) and re-heapifies the event
 * heap: O(heap) per step, steps being rare. Single-threaded.
 */
#include <math.h>
#include <string.h>

#include "gen_model_int.h"

/* ---- event heap, ordered by (t, id) ---- */

static int
heap_less(const gen_ev *a, const gen_ev *b)
{
    return a->t < b->t || (a->t == b->t && a->id < b->id);
}

static void
heap_down(gen_ev *h, uint32_t n, uint32_t i)
{
    gen_ev e = h[i];
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && heap_less(&h[c + 1], &h[c]))
            c++;
        if (!heap_less(&h[c], &e))
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = e;
}

void
gen__heap_push(gen_model *m, double t, uint32_t id)
{
    uint32_t i = m->nheap++;
    gen_ev e = {t, id};
    while (i > 0 && heap_less(&e, &m->heap[(i - 1) / 2])) {
        m->heap[i] = m->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    m->heap[i] = e;
}

static void
heap_build(gen_ev *h, uint32_t n)
{
    for (uint32_t i = n / 2; i > 0; i--)
        heap_down(h, n, i - 1);
}

/* Move the top event to time t (it recurs), or drop it (t < 0). */
static void
heap_retime_top(gen_model *m, double t)
{
    if (t < 0) {
        m->heap[0] = m->heap[--m->nheap];
    } else {
        m->heap[0].t = t;
    }
    if (m->nheap)
        heap_down(m->heap, m->nheap, 0);
}

/* ---- agent state as a function of time ---- */

static double
run_since_boot(const gen_model *m, uint32_t agent, double t)
{
    double e = t - m->agents[agent].boot;
    return e > 0 ? e : 0;
}

/* Frames or bytes carried up to t: acc up to t_acc, then rate. */
static double
run_carried(const gen_iface *ifc, double acc, double rate, double t)
{
    double v = acc + rate * (t > ifc->t_acc ? t - ifc->t_acc : 0);
    return v > 0 ? v : 0; /* rates summed up and down may round below 0 */
}

void
gen__iface_counters(const gen_model *m, const gen_iface *ifc, double t, gen_ifc_desc *c)
{
    (void)m;

    memset(c, 0, sizeof *c);
    c->ifindex = ifc->ifindex;
    c->iftype = 6; /* ethernetCsmacd */
    c->speed = ifc->speed;
    c->direction = 1; /* full duplex */
    c->status = 3;    /* admin and oper up */
    c->in_octets = ifc->oct_in0 + (uint64_t)run_carried(ifc, ifc->acc_in_B, ifc->cin_Bps, t);
    c->in_ucast =
        ifc->pkt_in0 + (uint32_t)(uint64_t)run_carried(ifc, ifc->acc_in_p, ifc->cin_pps, t);
    c->out_octets = ifc->oct_out0 + (uint64_t)run_carried(ifc, ifc->acc_out_B, ifc->cout_Bps, t);
    c->out_ucast =
        ifc->pkt_out0 + (uint32_t)(uint64_t)run_carried(ifc, ifc->acc_out_p, ifc->cout_pps, t);
    c->promisc = 2; /* false */
}

void
gen__host_counters(const gen_model *m, const gen_agent *a, double t, gen_host_desc *h)
{
    uint32_t ai = (uint32_t)(a - m->agents);
    double e = run_since_boot(m, ai, t);

    memset(h, 0, sizeof *h);
    h->hostname = a->hostname;
    memcpy(h->uuid, a->uuid, 16);
    h->machine_type = 3; /* x86_64 */
    h->os_name = 2;      /* linux */
    h->os_release = "6.1.0-sfa-gen";
    h->load_one = a->load_one;
    h->load_five = a->load_five;
    h->load_fifteen = a->load_fifteen;
    h->proc_run = 2;
    h->proc_total = 200;
    h->cpu_num = 8;
    h->cpu_speed = 2400;
    h->uptime_s = (uint32_t)e;
    /* 8 CPUs: 20 % user, 5 % system, 75 % idle, in ms of CPU time. */
    h->cpu_user = (uint32_t)(uint64_t)(e * 1600);
    h->cpu_system = (uint32_t)(uint64_t)(e * 400);
    h->cpu_idle = (uint32_t)(uint64_t)(e * 6000);
    h->interrupts = (uint32_t)(uint64_t)(e * 1000);
    h->contexts = (uint32_t)(uint64_t)(e * 5000);
    h->mem_total = a->mem_total;
    h->mem_free = a->mem_free;
    h->mem_buffers = 256ull << 20;
    h->mem_cached = 2ull << 30;
    h->swap_total = 2ull << 30;
    h->swap_free = 2ull << 30;
    /* host_net_io: the sum of the agent's interfaces. */
    for (uint32_t k = 0; k < m->nif; k++) {
        gen_ifc_desc c;
        gen__iface_counters(m, &m->ifaces[a->if_first + k], t, &c);
        h->bytes_in += c.in_octets;
        h->pkts_in += c.in_ucast;
        h->bytes_out += c.out_octets;
        h->pkts_out += c.out_ucast;
    }
}

/* ---- datagram assembly ---- */

static void
run_flush(gen_model *m, gen_stream *s, double t)
{
    if (s->nsamples == 0 || m->stopped)
        return;

    uint32_t uptime = (uint32_t)(uint64_t)(run_since_boot(m, s->agent, t) * 1000.0);
    gen_put32(s->buf + GEN_DG_SEQ_OFF(s->hlen), ++s->seq);
    gen_put32(s->buf + GEN_DG_UPTIME_OFF(s->hlen), uptime);
    gen_put32(s->buf + GEN_DG_NSAMPLES_OFF(s->hlen), s->nsamples);

    gen_dgram_info info = {
        .t = t,
        .stream = (uint32_t)(s - m->streams),
        .agent = s->agent,
        .agent_addr = &m->agents[s->agent].addr,
        .nsamples = s->nsamples,
    };
    int rc = m->emit(m->emit_arg, s->buf, s->len, &info);

    m->dgrams++;
    m->bytes += s->len;
    m->fs_sent += s->npend;
    m->cs_sent += s->nsamples - s->npend;
    for (uint32_t i = 0; i < s->npend; i++)
        m->flows[s->pend[i]].sent++;
    s->len = s->hlen;
    s->nsamples = 0;
    s->npend = 0;

    if (rc) {
        m->stopped = 1;
        m->rc = rc < 0 ? rc : 0;
    }
    if (m->cfg.count && m->dgrams >= m->cfg.count)
        m->stopped = 1;
}

/* Make room for a sample of len bytes; returns where to write it. */
static uint8_t *
run_reserve(gen_model *m, gen_stream *s, size_t len, double t)
{
    if (s->nsamples && s->len + len > m->cfg.max_dgram)
        run_flush(m, s, t);
    return s->buf + s->len;
}

static void
run_commit(gen_model *m, gen_stream *s, size_t len, uint32_t flow, double t)
{
    s->len += len;
    s->nsamples++;
    if (flow != GEN_NONE)
        s->pend[s->npend++] = flow;
    if (s->nsamples >= m->K)
        run_flush(m, s, t);
}

static void
run_flow_sample(gen_model *m, uint32_t fi, double t)
{
    gen_flow *f = &m->flows[fi];
    gen_stream *s = &m->streams[f->stream];
    gen_iface *ifc = &m->ifaces[f->iface];
    uint8_t *p = run_reserve(m, s, f->tmpl_len, t);

    /* The pool counts every frame the interface carried since boot. */
    uint32_t pool = (uint32_t)(uint64_t)run_carried(ifc, ifc->acc_in_p, ifc->cin_pps, t);
    memcpy(p, m->tmpl + f->tmpl_off, f->tmpl_len);
    gen_put32(p + GEN_FS_SEQ_OFF, ++ifc->fs_seq);
    gen_put32(p + GEN_FS_POOL_OFF, pool);
    f->made++;
    run_commit(m, s, f->tmpl_len, fi, t);
}

static void
run_append_scratch(gen_model *m, gen_stream *s, const gen_xdr *w, double t)
{
    if (w->err)
        return; /* cannot happen: scratch holds the largest counter sample */
    uint8_t *p = run_reserve(m, s, w->len, t);
    memcpy(p, w->buf, w->len);
    run_commit(m, s, w->len, GEN_NONE, t);
}

static void
run_counters(gen_model *m, uint32_t si, double t)
{
    gen_stream *s = &m->streams[si];
    gen_agent *a = &m->agents[s->agent];
    gen_xdr w;

    for (uint32_t k = 0; m->cfg.counters && k < m->nif; k++) {
        gen_iface *ifc = &m->ifaces[a->if_first + k];
        if (ifc->stream != si)
            continue;
        gen_ifc_desc c;
        gen__iface_counters(m, ifc, t, &c);
        gen_xdr_init(&w, m->scratch, sizeof m->scratch);
        gen_enc_ifc_sample(&w, ++ifc->cs_seq, ifc->ifindex, &c);
        run_append_scratch(m, s, &w, t);
    }
    if (m->cfg.host && s->sub == 0) {
        gen_host_desc h;
        gen__host_counters(m, a, t, &h);
        gen_xdr_init(&w, m->scratch, sizeof m->scratch);
        gen_enc_host_sample(&w, ++a->host_seq, GEN_HOST_SOURCE_ID, &h);
        run_append_scratch(m, s, &w, t);
    }
    run_flush(m, s, t); /* counters leave at once, as agents do */
}

/* Reboot: what was buffered goes out first, then every sequence number,
 * pool and counter starts again from zero and uptime from 0 ms. */
static void
run_restart(gen_model *m, uint32_t ai, double t)
{
    gen_agent *a = &m->agents[ai];

    for (uint32_t sub = 0; sub < m->nsub; sub++) {
        gen_stream *s = &m->streams[ai * m->nsub + sub];
        run_flush(m, s, t);
        s->seq = 0;
    }
    for (uint32_t k = 0; k < m->nif; k++) {
        gen_iface *ifc = &m->ifaces[a->if_first + k];
        ifc->fs_seq = ifc->cs_seq = 0;
        ifc->oct_in0 = ifc->oct_out0 = 0;
        ifc->pkt_in0 = ifc->pkt_out0 = 0;
        ifc->acc_in_p = ifc->acc_in_B = ifc->acc_out_p = ifc->acc_out_B = 0;
        ifc->t_acc = t;
    }
    a->host_seq = 0;
    a->boot = t;
}

/* Bring ifc's carried totals up to t before its rates change. */
static void
run_iface_settle(gen_iface *ifc, double t)
{
    ifc->acc_in_p = run_carried(ifc, ifc->acc_in_p, ifc->cin_pps, t);
    ifc->acc_in_B = run_carried(ifc, ifc->acc_in_B, ifc->cin_Bps, t);
    ifc->acc_out_p = run_carried(ifc, ifc->acc_out_p, ifc->cout_pps, t);
    ifc->acc_out_B = run_carried(ifc, ifc->acc_out_B, ifc->cout_Bps, t);
    if (t > ifc->t_acc)
        ifc->t_acc = t;
}

/* Set flow fi's rate to factor x its configured rate at t; *next is its
 * pending sample time, moved so the phase is kept (the fraction of an
 * interval left stays the same; a silenced flow keeps it for later). */
static void
run_flow_factor(gen_model *m, uint32_t fi, double factor, double t, double *next)
{
    gen_flow *f = &m->flows[fi];
    gen_iface *in = &m->ifaces[f->iface];
    gen_iface *out = &m->ifaces[m->agents[f->agent].if_first + f->out_ifindex - 1];
    double frac = f->factor > 0 ? (*next - t) / f->interval : f->frac;
    double d = factor - f->factor;

    run_iface_settle(in, t);
    run_iface_settle(out, t);
    in->cin_pps += d * f->pps;
    in->cin_Bps += d * f->Bps;
    out->cout_pps += d * f->pps;
    out->cout_Bps += d * f->Bps;
    f->factor = factor;
    if (factor > 0) {
        f->interval = m->N / (f->pps * factor);
        *next = t + frac * f->interval;
    } else {
        f->frac = frac;
        *next = INFINITY; /* never due; the run ends on time or count */
    }
}

/* Apply step k (its own event is already off the heap). */
static void
run_step(gen_model *m, uint32_t k, double t)
{
    const gen_step *st = &m->cfg.steps[k];

    for (uint32_t h = 0; h < m->nheap; h++) {
        uint32_t fi = m->heap[h].id;
        if (fi < m->nflows && (st->flow < 0 || fi % m->cfg.flows == (uint32_t)st->flow))
            run_flow_factor(m, fi, st->factor, t, &m->heap[h].t);
    }
    heap_build(m->heap, m->nheap);
}

static void
run_event(gen_model *m, const gen_ev *ev)
{
    double t = ev->t;
    uint32_t id = ev->id;

    if (id < m->nflows) {
        heap_retime_top(m, t + m->flows[id].interval);
        run_flow_sample(m, id, t);
    } else if (id < gen_ev_tick(m, 0)) {
        heap_retime_top(m, t + m->cfg.counter_interval);
        run_counters(m, id - m->nflows, t);
    } else if (id < gen_ev_restart(m, 0)) {
        heap_retime_top(m, t + 1.0);
        run_flush(m, &m->streams[id - gen_ev_tick(m, 0)], t);
    } else if (id < gen_ev_step(m, 0)) {
        heap_retime_top(m, -1);
        run_restart(m, id - gen_ev_restart(m, 0), t);
    } else {
        heap_retime_top(m, -1);
        run_step(m, id - gen_ev_step(m, 0), t);
    }
}

int
gen_model_run(gen_model *m, gen_emit_fn fn, void *arg)
{
    m->emit = fn;
    m->emit_arg = arg;
    m->stopped = 0;
    m->rc = 0;
    if (m->cfg.count && m->dgrams >= m->cfg.count)
        return 0;

    while (!m->stopped && m->nheap > 0) {
        gen_ev ev = m->heap[0];
        if (m->cfg.duration > 0 && ev.t > m->cfg.duration) {
            /* End of the run: what is buffered goes out at the end time. */
            m->now = m->cfg.duration;
            for (uint32_t s = 0; s < m->nstreams; s++)
                run_flush(m, &m->streams[s], m->now);
            break;
        }
        m->now = ev.t;
        run_event(m, &ev);
    }
    return m->rc;
}
