/* gen_model_int.h - the model's internals, shared by gen_model.c (build),
 * gen_run.c (event loop and datagram assembly) and gen_truth.c (JSON).
 * Not for use outside the gen_model* / gen_run / gen_truth files.
 */
#ifndef GEN_MODEL_INT_H
#define GEN_MODEL_INT_H

#include "gen_encode.h"
#include "gen_model.h"

#define GEN_NONE UINT32_MAX
#define GEN_HOST_SOURCE_ID (2u << 24 | 1u) /* entPhysicalEntry 1: the host */

typedef struct gen_flow {
    uint32_t agent, stream, iface; /* iface indexes m->ifaces */
    uint32_t in_ifindex, out_ifindex;
    gen_pkt_desc pkt;
    uint32_t frame_len;
    double share;    /* of the agent's packets (pps modes) or bytes (bps mode) */
    double pps, Bps; /* true frames/s and bytes/s */
    double factor;   /* rate in force = factor x pps (--step; 1 at the start) */
    double frac;     /* while factor is 0: the phase left, in intervals */
    double interval; /* simulated seconds between samples: N / (pps x factor) */
    size_t tmpl_off; /* pre-encoded flow sample in m->tmpl */
    uint32_t tmpl_len;
    uint64_t made, sent; /* samples taken / samples in datagrams handed out */
} gen_flow;

typedef struct gen_iface {
    uint32_t agent, stream, ifindex;
    double in_pps, in_Bps, out_pps, out_Bps; /* true rates (before any --step) */
    /* The rates in force (--step changes them) and what the interface
     * carried from its last boot to t_acc, where they last changed:
     * counters and sample pools at t are acc + rate x (t - t_acc). */
    double cin_pps, cin_Bps, cout_pps, cout_Bps;
    double acc_in_p, acc_in_B, acc_out_p, acc_out_B;
    double t_acc;
    uint64_t speed;             /* bit/s */
    uint32_t fs_seq, cs_seq;    /* flow / counter sample sequence numbers */
    uint64_t oct_in0, oct_out0; /* counter values at boot */
    uint32_t pkt_in0, pkt_out0;
} gen_iface;

typedef struct gen_stream {
    uint32_t agent, sub;
    uint32_t seq; /* last datagram sequence number sent */
    uint8_t *buf; /* datagram under assembly; header pre-encoded */
    size_t hlen, len;
    uint32_t nsamples;
    uint32_t npend; /* flow samples in buf, their flow indexes in pend */
    uint32_t pend[GEN_MAX_SAMPLES_PER_DGRAM];
    double flow_ps, counter_ps; /* expected samples/s */
} gen_stream;

typedef struct gen_agent {
    sfa_addr addr;
    double boot; /* simulated time of the last boot */
    uint32_t if_first;
    uint32_t host_seq;
    double pps, Bps;
    float load_one, load_five, load_fifteen;
    uint64_t mem_total, mem_free;
    char hostname[32];
    uint8_t uuid[16];
} gen_agent;

typedef struct gen_ev {
    double t;
    uint32_t id; /* flow index, counter/tick per stream, restart per agent, then steps */
} gen_ev;

struct gen_model {
    gen_cfg cfg;
    uint32_t N;    /* sampling rate in use */
    uint32_t K;    /* samples per datagram */
    uint32_t nif;  /* interfaces per agent */
    uint32_t nsub; /* sub-agents per agent */
    uint32_t nagents, nflows, nstreams;
    gen_agent *agents;
    gen_iface *ifaces;
    gen_flow *flows;
    gen_stream *streams;
    uint8_t *tmpl;
    uint8_t *bufs;
    gen_ev *heap;
    uint32_t nheap;
    uint8_t scratch[1024]; /* counter samples are encoded here, then appended */

    /* plan */
    double total_pps, total_Bps, flow_ps, counter_ps, dgram_rate;

    /* run */
    gen_emit_fn emit;
    void *emit_arg;
    double now;
    int stopped;
    int rc;
    uint64_t dgrams, bytes, fs_sent, cs_sent;
};

/* Event id ranges. */
static inline uint32_t
gen_ev_counter(const gen_model *m, uint32_t stream)
{
    return m->nflows + stream;
}

static inline uint32_t
gen_ev_tick(const gen_model *m, uint32_t stream)
{
    return m->nflows + m->nstreams + stream;
}

static inline uint32_t
gen_ev_restart(const gen_model *m, uint32_t agent)
{
    return m->nflows + 2 * m->nstreams + agent;
}

static inline uint32_t
gen_ev_step(const gen_model *m, uint32_t k)
{
    return m->nflows + 2 * m->nstreams + m->nagents + k;
}

/* Heap of events ordered by (t, id). Defined in gen_run.c. */
void gen__heap_push(gen_model *m, double t, uint32_t id);

/* Counter values of an interface / host figures at simulated time t.
 * Defined in gen_run.c. */
void gen__iface_counters(const gen_model *m, const gen_iface *ifc, double t, gen_ifc_desc *c);
void gen__host_counters(const gen_model *m, const gen_agent *a, double t, gen_host_desc *h);

#endif
