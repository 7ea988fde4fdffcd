/* gen_model.h - sfa-gen's synthetic network: agents, interfaces, flows,
 * true rates, and the sample/datagram stream a real agent would emit.
 *
 * The model runs on a simulated clock (seconds from the start of the run).
 * Every flow is sampled deterministically: flow i with true rate pps_i is
 * sampled every N / pps_i seconds from a seeded random phase, so a flow's
 * sample count over T seconds is T * pps_i / N within +-1. A step (--step)
 * multiplies a flow's rate from a given time on; the sample in progress is
 * rescaled, not restarted, so the count follows the rates in force within
 * +-1 (2 at most per step), and the counters follow them. Samples go to the
 * stream of their (agent, sub-agent); a stream sends a datagram when it
 * holds K samples, when the next sample would not fit, on its 1 s flush
 * tick, and right after its counter samples. The caller receives each
 * datagram through an emit callback with its simulated time; pacing to wall
 * time is the output's job (gen_out.h). Not thread-safe: one thread.
 */
#ifndef GEN_MODEL_H
#define GEN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <sfa/err.h>
#include <sfa/sflow.h>

#define GEN_MAX_SAMPLES_PER_DGRAM 64
#define GEN_MAX_DGRAM 9000
#define GEN_MAX_STEPS 32

/* A rate change (--step): from simulated time t on, flow `flow` of every
 * agent (every flow when flow < 0) carries factor x its configured rate. */
typedef struct gen_step {
    double t;      /* simulated seconds */
    double factor; /* >= 0; relative to the configured rate, not cumulative */
    int flow;      /* per-agent flow index, -1: every flow */
} gen_step;

enum gen_rate_mode {
    GEN_RATE_PPS = 0,   /* rate = frames/s per agent (default) */
    GEN_RATE_BPS = 1,   /* rate = bits/s per agent */
    GEN_RATE_TOTAL = 2, /* rate = frames/s over all agents, split evenly */
};

typedef struct gen_cfg {
    /* output (used by main/gen_out; the model only records them in the truth) */
    const char *target; /* borrows; "HOST:PORT" */
    const char *pcap_path;
    const char *truth_path;
    int allow_remote;
    uint32_t batch; /* sendmmsg batch size */

    /* agents */
    uint32_t agents;
    uint32_t subagents;
    uint32_t ifaces; /* interfaces per agent (raised to subagents if fewer) */
    int agent6;
    sfa_addr agent_base; /* family 0: default base 10.0.0.1 or 2001:db8:ffff::1 */

    /* flows */
    uint32_t flows; /* per agent */
    double zipf;
    double mix6; /* fraction of IPv6 flows, 0..1 */
    uint32_t header_bytes;

    /* rates */
    int rate_mode;
    double rate;
    int rate_set;
    uint32_t sampling;
    int sampling_set;
    uint32_t samples_per_dgram;
    uint32_t max_dgram;
    double dgram_rate; /* < 0 unset (real time), 0 flood, > 0 derive N */
    double duration;   /* simulated seconds; 0 = no limit */
    uint64_t count;    /* datagrams; 0 = no limit */
    uint64_t seed;

    /* counters */
    int counters;
    double counter_interval;
    int counter_wrap;
    double restart_at; /* < 0: never */
    int restart_agent; /* -1: every agent */
    int host;

    /* rate changes, in any order */
    gen_step steps[GEN_MAX_STEPS];
    uint32_t nsteps;
} gen_cfg;

/* Fill cfg with the documented defaults. */
void gen_cfg_defaults(gen_cfg *cfg);

typedef struct gen_model gen_model;

/* What the emit callback learns about a datagram besides its bytes. */
typedef struct gen_dgram_info {
    double t; /* simulated seconds since the start of the run */
    uint32_t stream;
    uint32_t agent;
    const sfa_addr *agent_addr; /* borrows the model */
    uint32_t nsamples;
} gen_dgram_info;

/* Receives each datagram (buf borrows the model until the call returns).
 * Return 0 to go on, nonzero to stop the run. */
typedef int (*gen_emit_fn)(void *arg, const uint8_t *buf, size_t len, const gen_dgram_info *info);

/* Build the model from cfg (borrowed; strings must outlive the model).
 * Derives the sampling rate when cfg->dgram_rate > 0. *out is set on
 * success (returns new; free with gen_model_destroy). SFA_ECONFIG with a
 * message in err (errcap bytes) for an impossible configuration. */
SFA_MUST_CHECK int gen_model_create(gen_model **out, const gen_cfg *cfg, char *err, size_t errcap);
void gen_model_destroy(gen_model *m);

/* Run until cfg->duration (simulated), cfg->count datagrams, or until fn
 * returns nonzero. Samples still buffered at the duration are sent at that
 * time. Returns 0, or the first negative value fn returned. */
int gen_model_run(gen_model *m, gen_emit_fn fn, void *arg);

/* Figures about the plan and the run. */
typedef struct gen_model_stats {
    uint32_t sampling;      /* the sampling rate in use */
    double total_pps;       /* true frames/s, all agents */
    double total_bps;       /* true bytes/s, all agents */
    double flow_samples_ps; /* expected flow samples/s */
    double counter_samples_ps;
    double dgram_rate; /* expected datagrams/s (nominal) */
    double sim_time;   /* simulated seconds covered so far */
    uint64_t datagrams;
    uint64_t bytes;
    uint64_t flow_samples; /* sent */
    uint64_t counter_samples;
} gen_model_stats;

void gen_model_get_stats(const gen_model *m, gen_model_stats *st);

/* Run facts the truth file records besides the model's own. */
typedef struct gen_run_info {
    double wall_s;   /* wall-clock seconds of the run */
    int paced;       /* 1: simulated time followed wall time */
    const char *out; /* "udp HOST:PORT" or "pcap FILE" */
} gen_run_info;

/* The truth as JSON (returns new; caller decrefs): per agent and flow the
 * keys and true bytes/frames per second, per interface the true octet and
 * packet rates, the host figures, the sampling rate and totals. */
json_t *gen_model_truth(const gen_model *m, const gen_run_info *run);

/* ---- read access for tests ---- */

uint32_t gen_model_nflows(const gen_model *m);
/* Share, frames/s and samples sent of flow i (agent-major order). */
double gen_model_flow_share(const gen_model *m, uint32_t i);
double gen_model_flow_pps(const gen_model *m, uint32_t i);
uint32_t gen_model_flow_frame_len(const gen_model *m, uint32_t i);
uint64_t gen_model_flow_samples(const gen_model *m, uint32_t i);

#endif
