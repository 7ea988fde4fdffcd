/* col_config_test.c - the collector's property table and derived defaults.
 *
 * Checks the sFlow-RT defaults, the defaults resolved at load (bus URLs
 * with the user id, collector.id = hostname:pid, sflow.file.port following
 * sflow.port), -D overrides, and that bad values are refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sfa/err.h>
#include <sfa/log.h>

#include "col.h"
#include "test.h"

static int
load(col_config *cfg, int n, const char **args)
{
    char *argv[16];

    argv[0] = (char *)"sfa-collector";
    for (int i = 0; i < n; i++)
        argv[i + 1] = (char *)args[i];
    return col_config_load(cfg, n + 1, argv);
}

int
main(void)
{
    col_config cfg;
    char want[128];

    unsetenv("RTPROP");
    sfa_log_init("collector", SFA_LOG_SEVERE);

    CHECK_OK(load(&cfg, 0, NULL), "defaults load");
    CHECK_EQ(cfg.sflow_port, 6343, "sflow.port 6343");
    CHECK_EQ(cfg.sflow_rcvbuf, 33554432, "sflow.rcvbuf 32 MiB");
    CHECK_EQ(cfg.bus_lanes, 4, "bus.lanes 4");
    CHECK_EQ(cfg.bus_sndbuf, 1024, "bus.sndbuf 1024");
    CHECK_EQ(cfg.bus_batch_bytes, 262144, "bus.batch.bytes 256 KiB");
    CHECK_EQ(cfg.sflow_file_fast, 0, "sflow.file.fast no");
    CHECK_EQ(cfg.sflow_file_loop, 0, "sflow.file.loop no");
    CHECK_EQ(cfg.sflow_file_port, 6343, "sflow.file.port follows sflow.port");
    CHECK_NEAR(cfg.stats_interval, 1.0, 1e-9, "stats.interval 1 s");
    CHECK_EQ(cfg.log_level_num, SFA_LOG_INFO, "log.level INFO");
    snprintf(want, sizeof want, "ipc:///tmp/sfa-%u/samples", (unsigned)getuid());
    CHECK_STR(cfg.bus_samples, want, "bus.samples default has the uid");
    snprintf(want, sizeof want, "ipc:///tmp/sfa-%u/control", (unsigned)getuid());
    CHECK_STR(cfg.bus_control, want, "bus.control default has the uid");
    snprintf(want, sizeof want, ":%ld", (long)getpid());
    CHECK(cfg.collector_id && strstr(cfg.collector_id, want) != NULL,
          "collector.id is hostname:pid");
    CHECK(cfg.sflow_hostname == NULL || cfg.sflow_hostname[0] == '\0', "sflow.hostname: all");
    col_config_free(&cfg);

    const char *over[] = {"-Dsflow.port=9343", "-Dsflow.file.fast=yes", "-Dbus.lanes=2",
                          "-Dcollector.id=c1", "-Dlog.level=fine",      "-Dsflow.hostname=::1"};
    CHECK_OK(load(&cfg, 6, over), "overrides load");
    CHECK_EQ(cfg.sflow_port, 9343, "sflow.port overridden");
    CHECK_EQ(cfg.sflow_file_port, 9343, "sflow.file.port follows it");
    CHECK_EQ(cfg.sflow_file_fast, 1, "bool yes");
    CHECK_EQ(cfg.bus_lanes, 2, "bus.lanes 2");
    CHECK_STR(cfg.collector_id, "c1", "collector.id kept");
    CHECK_EQ(cfg.log_level_num, SFA_LOG_FINE, "log.level is case-insensitive");
    CHECK_STR(cfg.sflow_hostname, "::1", "sflow.hostname");
    col_config_free(&cfg);

    const char *any[] = {"-Dsflow.file.port=0"};
    CHECK_OK(load(&cfg, 1, any), "sflow.file.port=0 loads");
    CHECK_EQ(cfg.sflow_file_port, 0, "0 = any UDP port");
    col_config_free(&cfg);

    const char *bad[][1] = {{"-Dsflow.port=70000"},   {"-Dbus.lanes=0"},      {"-Dlog.level=LOUD"},
                            {"-Dbus.batch.bytes=10"}, {"-Dstats.interval=0"}, {"-Dsflow.rcvbuf=-1"},
                            {"-Dno.such.property=1"}};
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char what[96];
        snprintf(what, sizeof what, "%s refused", bad[i][0]);
        CHECK_ERR(load(&cfg, 1, bad[i]), SFA_ECONFIG, what);
    }
    return test_done();
}
