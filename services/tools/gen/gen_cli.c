/* gen_cli.c - parses sfa-gen's options into a gen_cfg and prints --help.
 *
 * Only syntax and simple ranges are checked here; the model checks the
 * combination (gen_model_create). Numbers accept k/M/G suffixes (x1e3,
 * x1e6, x1e9) where a rate or count is expected. Not reentrant: getopt.
 */
#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "gen_cli.h"

enum {
    OPT_TARGET = 256,
    OPT_PCAP,
    OPT_TRUTH,
    OPT_ALLOW_REMOTE,
    OPT_BATCH,
    OPT_AGENTS,
    OPT_AGENT6,
    OPT_AGENT_BASE,
    OPT_SUBAGENTS,
    OPT_IFACES,
    OPT_FLOWS,
    OPT_ZIPF,
    OPT_IPV6,
    OPT_MIX6,
    OPT_HEADER_BYTES,
    OPT_RATE_PPS,
    OPT_RATE_BPS,
    OPT_TOTAL_PPS,
    OPT_SAMPLING,
    OPT_SPD,
    OPT_MAX_DGRAM,
    OPT_DGRAM_RATE,
    OPT_DURATION,
    OPT_COUNT,
    OPT_SEED,
    OPT_COUNTERS,
    OPT_COUNTER_INTERVAL,
    OPT_COUNTER_WRAP,
    OPT_RESTART,
    OPT_HOST,
    OPT_STEP,
    OPT_QUIET,
    OPT_HELP,
};

static const struct option cli_opts[] = {
    {"target", required_argument, NULL, OPT_TARGET},
    {"pcap", required_argument, NULL, OPT_PCAP},
    {"truth", required_argument, NULL, OPT_TRUTH},
    {"allow-remote", no_argument, NULL, OPT_ALLOW_REMOTE},
    {"batch", required_argument, NULL, OPT_BATCH},
    {"agents", required_argument, NULL, OPT_AGENTS},
    {"agent6", no_argument, NULL, OPT_AGENT6},
    {"agent-base", required_argument, NULL, OPT_AGENT_BASE},
    {"subagents", required_argument, NULL, OPT_SUBAGENTS},
    {"ifaces", required_argument, NULL, OPT_IFACES},
    {"flows", required_argument, NULL, OPT_FLOWS},
    {"zipf", required_argument, NULL, OPT_ZIPF},
    {"ipv6", no_argument, NULL, OPT_IPV6},
    {"mix6", required_argument, NULL, OPT_MIX6},
    {"header-bytes", required_argument, NULL, OPT_HEADER_BYTES},
    {"rate-pps", required_argument, NULL, OPT_RATE_PPS},
    {"rate-bps", required_argument, NULL, OPT_RATE_BPS},
    {"total-pps", required_argument, NULL, OPT_TOTAL_PPS},
    {"sampling", required_argument, NULL, OPT_SAMPLING},
    {"samples-per-datagram", required_argument, NULL, OPT_SPD},
    {"max-datagram", required_argument, NULL, OPT_MAX_DGRAM},
    {"dgram-rate", required_argument, NULL, OPT_DGRAM_RATE},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"count", required_argument, NULL, OPT_COUNT},
    {"seed", required_argument, NULL, OPT_SEED},
    {"counters", no_argument, NULL, OPT_COUNTERS},
    {"counter-interval", required_argument, NULL, OPT_COUNTER_INTERVAL},
    {"counter-wrap", no_argument, NULL, OPT_COUNTER_WRAP},
    {"agent-restart", required_argument, NULL, OPT_RESTART},
    {"host", no_argument, NULL, OPT_HOST},
    {"step", required_argument, NULL, OPT_STEP},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

void
gen_cli_usage(FILE *out)
{
    fputs(
        "Usage: sfa-gen [OPTION]...\n"
        "Synthetic sFlow v5 agents: sends datagrams over UDP (default) or writes a pcap.\n"
        "\n"
        "Output:\n"
        "  --target HOST:PORT       UDP destination (default 127.0.0.1:6343; [::1]:6343 for\n"
        "                           IPv6). Must be loopback unless --allow-remote.\n"
        "  --pcap FILE              write a classic pcap instead ('-' = stdout); frames are\n"
        "                           Ethernet/IP/UDP from the agent address to port 6343,\n"
        "                           timestamped by the simulated clock. Needs --duration or\n"
        "                           --count.\n"
        "  --truth FILE             write the truth as JSON at the end (rates per agent,\n"
        "                           interface and flow; sampling rate; what was sent)\n"
        "  --batch N                datagrams per sendmmsg (default 64)\n"
        "  --quiet                  no plan line and no summary line on stderr\n"
        "\n"
        "Agents:\n"
        "  --agents N               number of agents (default 1)\n"
        "  --agent-base ADDR        first agent address; agent i is ADDR + i\n"
        "                           (default 10.0.0.1, or 2001:db8:ffff::1 with --agent6)\n"
        "  --agent6                 IPv6 agent addresses\n"
        "  --subagents N            sub-agents per agent (default 1); interface k belongs to\n"
        "                           sub-agent k mod N, each sub-agent is its own datagram stream\n"
        "  --ifaces N               interfaces per agent, ifIndex 1..N (default 4)\n"
        "\n"
        "Flows (per agent):\n"
        "  --flows M                flows per agent (default 10); flow i enters on ifIndex\n"
        "                           i mod N + 1 and leaves on the next interface\n"
        "  --zipf S                 flow i carries a share 1/(i+1)^S of the agent's traffic\n"
        "                           (default 1.0)\n"
        "  --ipv6 | --mix6 F        all / a fraction F of the flows are IPv6\n"
        "  --header-bytes N         sampled header bytes (default 128)\n"
        "  Every flow has its own 5-tuple (TCP or UDP), MACs and VLAN, and one frame size\n"
        "  from {64,128,256,512,576,1024,1500} bytes (FCS included), so its bytes/s are\n"
        "  exactly frames/s x frame size.\n"
        "\n"
        "True traffic (what the synthetic network carries; one of):\n"
        "  --rate-pps R             frames/s per agent (default 1M); shares are of frames\n"
        "  --rate-bps R             bits/s per agent; shares are of bytes\n"
        "  --total-pps R            frames/s over all agents, split evenly\n"
        "  Numbers take k, M, G suffixes (x1e3, x1e6, x1e9).\n"
        "  --step T:F[:I]           from simulated second T on, flow I of every agent (every\n"
        "                           flow when I is omitted) carries F times the rate above\n"
        "                           (F >= 0, not cumulative: 0 silences the flow, 1 restores\n"
        "                           it). Repeatable, up to 32; e.g. --step 10:4:0 --step 20:1:0\n"
        "                           quadruples flow 0 of each agent from 10 s to 20 s. Samples\n"
        "                           keep their phase, so a flow's sample count still follows\n"
        "                           the rates in force within +-1; interface counters and\n"
        "                           sample pools follow them too. The truth file keeps the\n"
        "                           rates above and adds the steps and each flow's final\n"
        "                           factor. When paced, the wall-clock time of each step\n"
        "                           (start + T) is printed on stderr at the start, as\n"
        "                           'sfa-gen: step at T s = wall UNIX_SECONDS: ...'.\n"
        "\n"
        "Sampling and datagrams:\n"
        "  --sampling N             1-in-N sampling rate (default 1000)\n"
        "  --samples-per-datagram K samples per datagram (default 6); a datagram also\n"
        "                           leaves when the next sample would pass --max-datagram\n"
        "                           (default 1400 bytes), on each stream's 1 s flush tick,\n"
        "                           and right after counter samples\n"
        "  --dgram-rate R           datagrams/s to send:\n"
        "                           unset: real time; the datagram rate follows from the\n"
        "                             true rates, N and K (flow samples/s = frames/s / N);\n"
        "                           R > 0: real time, and --dgram-rate wins over --sampling:\n"
        "                             N = round(total frames/s / (R x K - counter samples/s)),\n"
        "                             so the true rates stay as given and about R datagrams/s\n"
        "                             go out;\n"
        "                           0: as fast as possible with N from --sampling; simulated\n"
        "                             time then runs ahead of wall time (the truth file gives\n"
        "                             time_scale = simulated s / wall s).\n"
        "                           The truth file always states the N used.\n"
        "  --duration S             stop after S simulated seconds (= wall seconds when paced;\n"
        "                           = capture time span with --pcap)\n"
        "  --count D                stop after D datagrams\n"
        "  --seed N                 seed for phases and frame sizes (default 1)\n"
        "  Flow i is sampled every N / frames_per_s(i) seconds from a seeded random phase,\n"
        "  so its sample count over T s is T x frames/s / N within +-1. Each data source\n"
        "  (the input interface) keeps its own sequence number and a sample_pool that\n"
        "  counts every frame it carried, so sample_pool advances by N per sample on\n"
        "  average.\n"
        "\n"
        "Counters:\n"
        "  --counters               interface counter samples (if_counters) for every\n"
        "                           interface; 64-bit octet counters advance at the true rate\n"
        "  --counter-interval S     seconds between counter samples (default 20)\n"
        "  --counter-wrap           start 32-bit packet counters near 2^32 (and 64-bit octet\n"
        "                           counters just below 2^32) so they wrap about 2.5 s in\n"
        "  --agent-restart T[:A]    reboot every agent (or agent A, 0-based) at T seconds:\n"
        "                           uptime, sequence numbers, pools and counters restart at 0\n"
        "  --host                   Host sFlow samples (host_descr, host_cpu, host_memory,\n"
        "                           host_net_io) every counter interval, with the load and\n"
        "                           byte rates stated in the truth file\n"
        "\n"
        "At the end a one-line summary goes to stderr: datagrams, samples, elapsed time,\n"
        "datagrams/s achieved, sendmmsg partial sends, ENOBUFS answers, drops.\n",
        out);
}

/* Parse a number with an optional k/M/G suffix. */
static int
cli_num(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s)
        return -1;
    if (*end == 'k' || *end == 'K')
        v *= 1e3, end++;
    else if (*end == 'M')
        v *= 1e6, end++;
    else if (*end == 'G')
        v *= 1e9, end++;
    if (*end != '\0' || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static int
cli_uint(const char *s, double max, uint64_t *out)
{
    double v;
    if (cli_num(s, &v) != 0 || v < 0 || v > max || v != floor(v))
        return -1;
    *out = (uint64_t)v;
    return 0;
}

static int
cli_restart(const char *s, gen_cfg *c)
{
    char *end;
    c->restart_at = strtod(s, &end);
    c->restart_agent = -1;
    if (end == s || c->restart_at < 0)
        return -1;
    if (*end == ':') {
        char *e2;
        long a = strtol(end + 1, &e2, 10);
        if (e2 == end + 1 || *e2 != '\0' || a < 0 || a > 65535)
            return -1;
        c->restart_agent = (int)a;
        return 0;
    }
    return *end == '\0' ? 0 : -1;
}

/* T:FACTOR[:FLOW] appended to c->steps. */
static int
cli_step(const char *s, gen_cfg *c)
{
    gen_step *st;
    char *end;

    if (c->nsteps >= GEN_MAX_STEPS)
        return -1;
    st = &c->steps[c->nsteps];
    st->t = strtod(s, &end);
    if (end == s || *end != ':' || !(st->t >= 0) || !isfinite(st->t))
        return -1;
    s = end + 1;
    st->factor = strtod(s, &end);
    if (end == s || !(st->factor >= 0) || !isfinite(st->factor))
        return -1;
    st->flow = -1;
    if (*end == ':') {
        char *e2;
        long i = strtol(end + 1, &e2, 10);
        if (e2 == end + 1 || *e2 != '\0' || i < 0 || i > 999999)
            return -1;
        st->flow = (int)i;
    } else if (*end != '\0') {
        return -1;
    }
    c->nsteps++;
    return 0;
}

static int
cli_rate(gen_cfg *c, int mode, const char *s)
{
    if (c->rate_set && c->rate_mode != mode)
        return -2;
    c->rate_mode = mode;
    c->rate_set = 1;
    return cli_num(s, &c->rate) == 0 && c->rate > 0 ? 0 : -1;
}

/* Options that just store their value in a gen_cfg field. */
enum { CLI_FLAG = 1, CLI_STR, CLI_DBL, CLI_U32, CLI_U64 };

typedef struct cli_field {
    int opt;
    int kind;
    size_t off;
} cli_field;

#define CLI_F(opt, kind, member)                                                                   \
    {                                                                                              \
        opt, kind, offsetof(gen_cfg, member)                                                       \
    }
static const cli_field cli_fields[] = {
    CLI_F(OPT_TARGET, CLI_STR, target),
    CLI_F(OPT_PCAP, CLI_STR, pcap_path),
    CLI_F(OPT_TRUTH, CLI_STR, truth_path),
    CLI_F(OPT_ALLOW_REMOTE, CLI_FLAG, allow_remote),
    CLI_F(OPT_AGENT6, CLI_FLAG, agent6),
    CLI_F(OPT_COUNTERS, CLI_FLAG, counters),
    CLI_F(OPT_COUNTER_WRAP, CLI_FLAG, counter_wrap),
    CLI_F(OPT_HOST, CLI_FLAG, host),
    CLI_F(OPT_ZIPF, CLI_DBL, zipf),
    CLI_F(OPT_MIX6, CLI_DBL, mix6),
    CLI_F(OPT_DGRAM_RATE, CLI_DBL, dgram_rate),
    CLI_F(OPT_DURATION, CLI_DBL, duration),
    CLI_F(OPT_COUNTER_INTERVAL, CLI_DBL, counter_interval),
    CLI_F(OPT_BATCH, CLI_U32, batch),
    CLI_F(OPT_AGENTS, CLI_U32, agents),
    CLI_F(OPT_SUBAGENTS, CLI_U32, subagents),
    CLI_F(OPT_IFACES, CLI_U32, ifaces),
    CLI_F(OPT_FLOWS, CLI_U32, flows),
    CLI_F(OPT_HEADER_BYTES, CLI_U32, header_bytes),
    CLI_F(OPT_SPD, CLI_U32, samples_per_dgram),
    CLI_F(OPT_MAX_DGRAM, CLI_U32, max_dgram),
    CLI_F(OPT_COUNT, CLI_U64, count),
    CLI_F(OPT_SEED, CLI_U64, seed),
};

static int
cli_store(gen_cfg *c, const cli_field *f, const char *arg)
{
    char *p = (char *)c + f->off;
    double d;
    uint64_t u;

    switch (f->kind) {
    case CLI_FLAG:
        *(int *)(void *)p = 1;
        return 0;
    case CLI_STR:
        *(const char **)(void *)p = arg;
        return 0;
    case CLI_DBL:
        if (cli_num(arg, &d) != 0 || d < 0)
            return -1;
        *(double *)(void *)p = d;
        return 0;
    case CLI_U32:
        if (cli_uint(arg, 4294967295.0, &u) != 0)
            return -1;
        *(uint32_t *)(void *)p = (uint32_t)u;
        return 0;
    default:
        if (cli_uint(arg, 1.8e19, &u) != 0)
            return -1;
        *(uint64_t *)(void *)p = u;
        return 0;
    }
}

/* Apply one option; -1 bad value, -2 conflicting option. */
static int
cli_apply(gen_cli *cli, int opt, const char *arg)
{
    gen_cfg *c = &cli->cfg;
    uint64_t u;

    switch (opt) {
    case OPT_QUIET:
        cli->quiet = 1;
        return 0;
    case OPT_IPV6:
        c->mix6 = 1;
        return 0;
    case OPT_AGENT_BASE:
        return sfa_addr_parse(arg, &c->agent_base) == 0 ? 0 : -1;
    case OPT_RATE_PPS:
        return cli_rate(c, GEN_RATE_PPS, arg);
    case OPT_RATE_BPS:
        return cli_rate(c, GEN_RATE_BPS, arg);
    case OPT_TOTAL_PPS:
        return cli_rate(c, GEN_RATE_TOTAL, arg);
    case OPT_RESTART:
        return cli_restart(arg, c);
    case OPT_STEP:
        return cli_step(arg, c);
    case OPT_SAMPLING:
        if (cli_uint(arg, 4294967295.0, &u) != 0)
            return -1;
        c->sampling = (uint32_t)u;
        c->sampling_set = 1;
        return 0;
    default:
        break;
    }
    for (size_t i = 0; i < sizeof cli_fields / sizeof cli_fields[0]; i++)
        if (cli_fields[i].opt == opt)
            return cli_store(c, &cli_fields[i], arg);
    return -1;
}

int
gen_cli_parse(gen_cli *cli, int argc, char **argv, FILE *out, FILE *err)
{
    int opt;

    memset(cli, 0, sizeof *cli);
    gen_cfg_defaults(&cli->cfg);
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", cli_opts, NULL)) != -1) {
        if (opt == OPT_HELP) {
            gen_cli_usage(out);
            return SFA_EEXIT;
        }
        if (opt == '?' || opt == ':') {
            fprintf(err, "sfa-gen: unknown option or missing value: %s (see --help)\n",
                    argv[optind - 1]);
            return SFA_ECONFIG;
        }
        int rc = cli_apply(cli, opt, optarg);
        if (rc) {
            const char *name = "?";
            for (const struct option *o = cli_opts; o->name; o++)
                if (o->val == opt)
                    name = o->name;
            fprintf(err,
                    rc == -2 ? "sfa-gen: --%s conflicts with an earlier rate option\n"
                             : "sfa-gen: bad value for --%s: '%s'\n",
                    name, optarg ? optarg : "");
            return SFA_ECONFIG;
        }
    }
    if (optind < argc) {
        fprintf(err, "sfa-gen: unexpected argument '%s' (see --help)\n", argv[optind]);
        return SFA_ECONFIG;
    }
    if (cli->cfg.pcap_path && !cli->cfg.duration && !cli->cfg.count) {
        fprintf(err, "sfa-gen: --pcap needs --duration or --count\n");
        return SFA_ECONFIG;
    }
    return 0;
}
