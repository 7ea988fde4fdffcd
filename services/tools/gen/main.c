/* main.c - sfa-gen: synthetic sFlow agents for tests and benchmarks.
 *
 * Parses the command line, builds the model, opens the output (UDP or
 * pcap), runs the model with the output as its emit callback, then writes
 * the truth file and a one-line summary on stderr. SIGINT/SIGTERM end the
 * run cleanly (the truth is still written). Exit 0 on success, 1 on a bad
 * command line, 2 on a runtime failure.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <sfa/log.h>

#include "gen_cli.h"
#include "gen_model.h"
#include "gen_out.h"

static volatile sig_atomic_t gen_main_stop;

static void
gen_main_on_signal(int sig)
{
    (void)sig;
    gen_main_stop = 1;
}

static void
gen_main_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = gen_main_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* Where each --step falls on the wall clock (paced runs only). */
static void
gen_main_steps(const gen_cfg *c, const gen_out *o)
{
    for (uint32_t k = 0; k < c->nsteps; k++) {
        const gen_step *st = &c->steps[k];
        char flow[32] = "every flow";
        if (st->flow >= 0)
            snprintf(flow, sizeof flow, "flow %d", st->flow);
        fprintf(stderr, "sfa-gen: step at %.3f s = wall %.6f: %s of every agent x%g\n", st->t,
                gen_out_start_wall(o) + st->t, flow, st->factor);
    }
}

static int
gen_main_truth(const gen_model *m, const gen_cli *cli, const gen_run_info *run)
{
    json_t *t = gen_model_truth(m, run);
    int rc = json_dump_file(t, cli->cfg.truth_path, JSON_INDENT(1) | JSON_REAL_PRECISION(12));
    json_decref(t);
    if (rc != 0)
        SFA_SEVERE("cannot write truth file %s", cli->cfg.truth_path);
    return rc;
}

static void
gen_main_summary(const gen_model *m, const gen_out *o, double wall)
{
    gen_model_stats ms;
    gen_out_stats os;
    gen_model_get_stats(m, &ms);
    gen_out_get_stats(o, &os);
    fprintf(stderr,
            "sfa-gen: sent %llu datagrams (%llu bytes), %llu samples (%llu flow, %llu counter) "
            "in %.3f s: %.0f datagrams/s; simulated %.3f s; sendmmsg calls %llu, partial %llu, "
            "ENOBUFS %llu, refused %llu, dropped %llu, late batches %llu, max lag %.1f ms\n",
            (unsigned long long)os.datagrams, (unsigned long long)os.bytes,
            (unsigned long long)(ms.flow_samples + ms.counter_samples),
            (unsigned long long)ms.flow_samples, (unsigned long long)ms.counter_samples, wall,
            wall > 0 ? (double)os.datagrams / wall : 0.0, ms.sim_time,
            (unsigned long long)os.syscalls, (unsigned long long)os.partial,
            (unsigned long long)os.enobufs, (unsigned long long)os.refused,
            (unsigned long long)os.dropped, (unsigned long long)os.late, os.max_lag_s * 1e3);
}

int
main(int argc, char **argv)
{
    gen_cli cli;
    gen_model *m = NULL;
    gen_out *o = NULL;
    char err[256] = "", outdesc[300];
    int rc, status = 2;

    sfa_log_init("sfa-gen", SFA_LOG_INFO);
    rc = gen_cli_parse(&cli, argc, argv, stdout, stderr);
    if (rc == SFA_EEXIT)
        return 0;
    if (rc != 0)
        return 1;
    if (gen_model_create(&m, &cli.cfg, err, sizeof err) != 0) {
        fprintf(stderr, "sfa-gen: %s\n", err);
        return 1;
    }
    if (cli.cfg.pcap_path) {
        rc = gen_out_pcap_open(&o, cli.cfg.pcap_path, err, sizeof err);
        snprintf(outdesc, sizeof outdesc, "pcap %s", cli.cfg.pcap_path);
    } else {
        rc = gen_out_udp_open(&o, cli.cfg.target, cli.cfg.allow_remote, cli.cfg.batch, err,
                              sizeof err);
        snprintf(outdesc, sizeof outdesc, "udp %s", cli.cfg.target);
    }
    if (rc != 0) {
        fprintf(stderr, "sfa-gen: %s\n", err);
        status = rc == SFA_ECONFIG ? 1 : 2;
        goto out;
    }

    gen_model_stats ms;
    gen_model_get_stats(m, &ms);
    if (!cli.quiet)
        fprintf(stderr,
                "sfa-gen: %u agents x %u flows, %.0f frames/s, %.0f bytes/s true; sampling "
                "1-in-%u; %.1f flow + %.1f counter samples/s; ~%.0f datagrams/s%s -> %s\n",
                cli.cfg.agents, cli.cfg.flows, ms.total_pps, ms.total_bps, ms.sampling,
                ms.flow_samples_ps, ms.counter_samples_ps, ms.dgram_rate,
                cli.cfg.dgram_rate == 0 ? " nominal (unpaced)" : "", outdesc);

    int paced = cli.cfg.dgram_rate != 0 && !cli.cfg.pcap_path;
    gen_main_signals();
    gen_out_start(o, paced, &gen_main_stop);
    if (paced && !cli.quiet)
        gen_main_steps(&cli.cfg, o);
    rc = gen_model_run(m, gen_out_emit, o);
    int frc = gen_out_flush(o);
    double wall = gen_out_elapsed(o);
    if (rc < 0 || frc < 0) {
        fprintf(stderr, "sfa-gen: output failed: %s\n", sfa_strerror(rc < 0 ? rc : frc));
        goto out;
    }
    gen_run_info run = {.wall_s = wall, .paced = paced, .out = outdesc};
    if (cli.cfg.truth_path && gen_main_truth(m, &cli, &run) != 0)
        goto out;
    if (!cli.quiet)
        gen_main_summary(m, o, wall);
    status = 0;
out:
    gen_out_close(o);
    gen_model_destroy(m);
    return status;
}
