/* col_config.c - the collector's properties (sFlow-RT names), as a table.
 *
 * The table drives parsing, range checks, --help and --dump-config (see
 * sfa/config.h). A few defaults depend on the process (the user id in the
 * bus URLs, hostname:pid as collector.id); they are empty in the table and
 * resolved here after loading. Validation that a range cannot express
 * (log.level names) is done here too, with a message naming the property.
 * Runs once at start-up, on the main thread.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sfa/log.h>
#include <sfa/mem.h>

#include "col.h"

#define COL_OPT(name, type, def, field, min, max, help)                                            \
    {                                                                                              \
        name, type, def, offsetof(col_config, field), min, max, help                               \
    }

const sfa_cfg_opt col_config_table[] = {
    COL_OPT("sflow.port", SFA_CFG_INT, "6343", sflow_port, 0, 65535,
            "UDP port to receive sFlow on (0 = any free port)"),
    COL_OPT("sflow.hostname", SFA_CFG_STR, NULL, sflow_hostname, 0, 0,
            "bind address (default: all, IPv4 and IPv6)"),
    COL_OPT("sflow.rcvbuf", SFA_CFG_INT, "33554432", sflow_rcvbuf, 0, 2147483647.0,
            "UDP receive buffer in bytes (0 = kernel default)"),
    COL_OPT("sflow.file", SFA_CFG_STR, NULL, sflow_file, 0, 0,
            "replay sFlow from this pcap/pcapng file instead of listening"),
    COL_OPT("sflow.file.fast", SFA_CFG_BOOL, "no", sflow_file_fast, 0, 1,
            "replay as fast as possible instead of at the capture's pace"),
    COL_OPT("sflow.file.loop", SFA_CFG_BOOL, "no", sflow_file_loop, 0, 1,
            "restart the replay at the end of the file"),
    COL_OPT("sflow.file.port", SFA_CFG_INT, "-1", sflow_file_port, -1, 65535,
            "UDP port taken from the capture (-1 = sflow.port, 0 = any)"),
    COL_OPT("sflow.file.wait", SFA_CFG_DOUBLE, "0", sflow_file_wait, 0, 3600,
            "seconds to wait for a subscriber on every bus lane before replaying (0 = none)"),
    COL_OPT("bus.samples", SFA_CFG_STR, NULL, bus_samples, 0, 0,
            "sample publisher base URL (default ipc:///tmp/sfa-<uid>/samples)"),
    COL_OPT("bus.lanes", SFA_CFG_INT, "4", bus_lanes, 1, 64,
            "sample publisher sockets (bucket b goes to lane b % lanes)"),
    COL_OPT("bus.sndbuf", SFA_CFG_INT, "1024", bus_sndbuf, 1, 1048576,
            "publisher send queue depth, messages"),
    COL_OPT("bus.control", SFA_CFG_STR, NULL, bus_control, 0, 0,
            "stats/agents publisher URL (default ipc:///tmp/sfa-<uid>/control)"),
    COL_OPT("bus.batch.bytes", SFA_CFG_INT, "262144", bus_batch_bytes, 1024, 16777216,
            "publish a sample batch when it reaches this many bytes"),
    COL_OPT("collector.id", SFA_CFG_STR, NULL, collector_id, 0, 0,
            "envelope source name (default hostname:pid)"),
    COL_OPT("stats.interval", SFA_CFG_DOUBLE, "1", stats_interval, 0.01, 86400,
            "seconds between stats.v1 and agents.v1 messages"),
    COL_OPT("log.level", SFA_CFG_STR, "INFO", log_level, 0, 0,
            "log threshold: SEVERE, WARNING, INFO or FINE"),
    SFA_CFG_END,
};

static void
col_config_resolve(col_config *cfg)
{
    char buf[320];
    char host[256];

    sfa_config_default_ipc(&cfg->bus_samples, "samples");
    sfa_config_default_ipc(&cfg->bus_control, "control");
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    snprintf(buf, sizeof buf, "%s:%ld", host, (long)getpid());
    sfa_config_default_str(&cfg->collector_id, buf);
    if (cfg->sflow_file_port < 0)
        cfg->sflow_file_port = cfg->sflow_port;
}

int
col_config_load(col_config *cfg, int argc, char **argv)
{
    int rc;

    memset(cfg, 0, sizeof *cfg);
    rc = sfa_config_load(col_config_table, cfg, "collector", argc, argv);
    if (rc != 0)
        return rc;
    cfg->log_level_num = sfa_log_parse_level(cfg->log_level ? cfg->log_level : "INFO");
    if (cfg->log_level_num < 0) {
        SFA_SEVERE("log.level: unknown level '%s' (SEVERE, WARNING, INFO or FINE)", cfg->log_level);
        rc = SFA_ECONFIG;
        goto fail;
    }
    col_config_resolve(cfg);
    return 0;

fail:
    sfa_config_free(col_config_table, cfg);
    return rc;
}

void
col_config_free(col_config *cfg)
{
    sfa_config_free(col_config_table, cfg);
}
