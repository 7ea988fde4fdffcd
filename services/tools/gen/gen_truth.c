/* gen_truth.c - the truth file: what the synthetic network really carried.
 *
 * Builds a JSON document with, per agent, its address, its interfaces'
 * true octet/packet rates, its Host sFlow figures and its flows (keys named
 * as sFlow-RT names them, true bytes/s and frames/s, samples sent); plus
 * the sampling rate, what was sent, and how simulated time related to wall
 * time. Flow and interface rates are the configured ones; with --step the
 * steps are listed and each flow's factor at the end is given. Rates are per simulated second; when
 * the run was paced, simulated time is wall time (time_scale 1). Called once at the end; allocates
 * freely. Single-threaded.
 */
#include <stdio.h>

#include "gen_model_int.h"

static json_t *
truth_addr(const sfa_addr *a)
{
    char buf[64];
    sfa_addr_format(a, buf);
    return json_string(buf);
}

static json_t *
truth_mac(const uint8_t *mac)
{
    char buf[18];
    snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
             mac[4], mac[5]);
    return json_string(buf);
}

static json_t *
truth_flow(const gen_model *m, const gen_flow *f)
{
    const gen_pkt_desc *p = &f->pkt;
    int v6 = p->src.family == 6, tcp = p->protocol == 6;
    json_t *o = json_object();

    json_object_set_new(o, "ipversion", json_integer(v6 ? 6 : 4));
    json_object_set_new(o, v6 ? "ip6source" : "ipsource", truth_addr(&p->src));
    json_object_set_new(o, v6 ? "ip6destination" : "ipdestination", truth_addr(&p->dst));
    json_object_set_new(o, v6 ? "ip6nexthdr" : "ipprotocol", json_integer(p->protocol));
    json_object_set_new(o, "protocol", json_integer(p->protocol));
    json_object_set_new(o, tcp ? "tcpsourceport" : "udpsourceport", json_integer(p->sport));
    json_object_set_new(o, tcp ? "tcpdestinationport" : "udpdestinationport",
                        json_integer(p->dport));
    json_object_set_new(o, "sourceport", json_integer(p->sport));
    json_object_set_new(o, "destinationport", json_integer(p->dport));
    json_object_set_new(o, "macsource", truth_mac(p->mac_src));
    json_object_set_new(o, "macdestination", truth_mac(p->mac_dst));
    json_object_set_new(o, "vlan", json_integer(p->vlan));
    json_object_set_new(o, "priority", json_integer(p->priority));
    json_object_set_new(o, "framelength", json_integer(f->frame_len));
    json_object_set_new(o, "inputifindex", json_integer(f->in_ifindex));
    json_object_set_new(o, "outputifindex", json_integer(f->out_ifindex));
    json_object_set_new(o, "subagent", json_integer(m->streams[f->stream].sub));
    json_object_set_new(o, "share", json_real(f->share));
    json_object_set_new(o, "bytes_per_s", json_real(f->Bps));
    json_object_set_new(o, "frames_per_s", json_real(f->pps));
    json_object_set_new(o, "samples_per_s", json_real(f->pps / m->N));
    json_object_set_new(o, "samples", json_integer((json_int_t)f->sent));
    if (m->cfg.nsteps > 0)
        json_object_set_new(o, "rate_factor", json_real(f->factor)); /* at the end */
    return o;
}

static json_t *
truth_iface(const gen_model *m, const gen_iface *ifc)
{
    json_t *o = json_object();
    json_object_set_new(o, "ifindex", json_integer(ifc->ifindex));
    json_object_set_new(o, "subagent", json_integer(m->streams[ifc->stream].sub));
    json_object_set_new(o, "ifspeed", json_integer((json_int_t)ifc->speed));
    json_object_set_new(o, "ifinoctets_per_s", json_real(ifc->in_Bps));
    json_object_set_new(o, "ifoutoctets_per_s", json_real(ifc->out_Bps));
    json_object_set_new(o, "ifinucastpkts_per_s", json_real(ifc->in_pps));
    json_object_set_new(o, "ifoutucastpkts_per_s", json_real(ifc->out_pps));
    json_object_set_new(o, "flow_samples_per_s", json_real(ifc->in_pps / m->N));
    json_object_set_new(o, "flow_sample_seq", json_integer(ifc->fs_seq));
    return o;
}

static json_t *
truth_host(const gen_model *m, const gen_agent *a)
{
    json_t *o = json_object();
    double in_B = 0, out_B = 0, in_p = 0, out_p = 0;

    for (uint32_t k = 0; k < m->nif; k++) {
        const gen_iface *ifc = &m->ifaces[a->if_first + k];
        in_B += ifc->in_Bps;
        out_B += ifc->out_Bps;
        in_p += ifc->in_pps;
        out_p += ifc->out_pps;
    }
    json_object_set_new(o, "hostname", json_string(a->hostname));
    json_object_set_new(o, "load_one", json_real(a->load_one));
    json_object_set_new(o, "load_five", json_real(a->load_five));
    json_object_set_new(o, "load_fifteen", json_real(a->load_fifteen));
    json_object_set_new(o, "cpu_num", json_integer(8));
    json_object_set_new(o, "cpu_user_ms_per_s", json_integer(1600));
    json_object_set_new(o, "cpu_system_ms_per_s", json_integer(400));
    json_object_set_new(o, "cpu_idle_ms_per_s", json_integer(6000));
    json_object_set_new(o, "mem_total", json_integer((json_int_t)a->mem_total));
    json_object_set_new(o, "mem_free", json_integer((json_int_t)a->mem_free));
    json_object_set_new(o, "bytes_in_per_s", json_real(in_B));
    json_object_set_new(o, "bytes_out_per_s", json_real(out_B));
    json_object_set_new(o, "pkts_in_per_s", json_real(in_p));
    json_object_set_new(o, "pkts_out_per_s", json_real(out_p));
    return o;
}

static json_t *
truth_agent(const gen_model *m, uint32_t ai)
{
    const gen_agent *a = &m->agents[ai];
    json_t *o = json_object(), *ifs = json_array(), *flows = json_array();

    json_object_set_new(o, "agent", truth_addr(&a->addr));
    json_object_set_new(o, "subagents", json_integer(m->nsub));
    json_object_set_new(o, "bytes_per_s", json_real(a->Bps));
    json_object_set_new(o, "frames_per_s", json_real(a->pps));
    for (uint32_t k = 0; k < m->nif; k++)
        json_array_append_new(ifs, truth_iface(m, &m->ifaces[a->if_first + k]));
    json_object_set_new(o, "interfaces", ifs);
    if (m->cfg.host)
        json_object_set_new(o, "host", truth_host(m, a));
    for (uint32_t i = 0; i < m->cfg.flows; i++)
        json_array_append_new(flows, truth_flow(m, &m->flows[ai * m->cfg.flows + i]));
    json_object_set_new(o, "flows", flows);
    return o;
}

/* The --step schedule: [{"t", "factor", "flow"}], flow -1 for every flow. */
static json_t *
truth_steps(const gen_model *m)
{
    json_t *a = json_array();

    for (uint32_t k = 0; k < m->cfg.nsteps; k++) {
        const gen_step *st = &m->cfg.steps[k];
        json_array_append_new(
            a, json_pack("{s:f, s:f, s:i}", "t", st->t, "factor", st->factor, "flow", st->flow));
    }
    return a;
}

static const char *
truth_rate_mode(int mode)
{
    return mode == GEN_RATE_BPS     ? "bps_per_agent"
           : mode == GEN_RATE_TOTAL ? "pps_total"
                                    : "pps_per_agent";
}

json_t *
gen_model_truth(const gen_model *m, const gen_run_info *run)
{
    json_t *o = json_object(), *agents = json_array(), *tot = json_object();
    double wall = run->wall_s > 0 ? run->wall_s : 0;

    json_object_set_new(o, "generator", json_string("sfa-gen"));
    json_object_set_new(o, "output", json_string(run->out ? run->out : ""));
    json_object_set_new(o, "seed", json_integer((json_int_t)m->cfg.seed));
    json_object_set_new(o, "sampling_rate", json_integer(m->N));
    json_object_set_new(o, "samples_per_datagram", json_integer(m->K));
    json_object_set_new(o, "rate_mode", json_string(truth_rate_mode(m->cfg.rate_mode)));
    json_object_set_new(o, "rate", json_real(m->cfg.rate));
    json_object_set_new(o, "zipf", json_real(m->cfg.zipf));
    json_object_set_new(o, "counters", json_boolean(m->cfg.counters));
    json_object_set_new(o, "host", json_boolean(m->cfg.host));
    json_object_set_new(o, "counter_interval", json_real(m->cfg.counter_interval));
    json_object_set_new(o, "counter_wrap", json_boolean(m->cfg.counter_wrap));
    json_object_set_new(o, "restart_at", json_real(m->cfg.restart_at));
    json_object_set_new(o, "restart_agent", json_integer(m->cfg.restart_agent));
    json_object_set_new(o, "steps", truth_steps(m));
    json_object_set_new(o, "paced", json_boolean(run->paced));
    json_object_set_new(o, "duration_s", json_real(m->now));
    json_object_set_new(o, "wall_s", json_real(wall));
    json_object_set_new(o, "time_scale", json_real(wall > 0 ? m->now / wall : 1.0));
    json_object_set_new(o, "expected_dgram_rate", json_real(m->dgram_rate));
    json_object_set_new(o, "datagrams", json_integer((json_int_t)m->dgrams));
    json_object_set_new(o, "bytes", json_integer((json_int_t)m->bytes));
    json_object_set_new(o, "flow_samples", json_integer((json_int_t)m->fs_sent));
    json_object_set_new(o, "counter_samples", json_integer((json_int_t)m->cs_sent));

    json_object_set_new(tot, "agents", json_integer(m->nagents));
    json_object_set_new(tot, "flows", json_integer(m->nflows));
    json_object_set_new(tot, "bytes_per_s", json_real(m->total_Bps));
    json_object_set_new(tot, "frames_per_s", json_real(m->total_pps));
    json_object_set_new(tot, "flow_samples_per_s", json_real(m->flow_ps));
    json_object_set_new(tot, "counter_samples_per_s", json_real(m->counter_ps));
    json_object_set_new(o, "totals", tot);

    for (uint32_t a = 0; a < m->nagents; a++)
        json_array_append_new(agents, truth_agent(m, a));
    json_object_set_new(o, "agents", agents);
    return o;
}
