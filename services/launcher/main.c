/* main.c - `sfa`: run the whole suite as child processes.
 *
 * Parses the command line (sFlow-RT's -D properties, which are passed on
 * unchanged to every service), then hands over to launcher.c: create the
 * runtime directory, start the services, run the loop until SIGINT or
 * SIGTERM has stopped them all, clean up. Exit 0 on a clean stop, 1 on bad
 * configuration (ours, or a service's at start-up), 2 on runtime failure.
 */
#include <signal.h>
#include <stdio.h>

#include <sfa/config.h>
#include <sfa/log.h>

#include "launcher.h"

#ifndef SFA_VERSION
#define SFA_VERSION "unknown"
#endif

static int
main_log_level(const lch_config *cfg)
{
    int level = sfa_log_parse_level(cfg->log_level);

    if (level < 0) {
        SFA_SEVERE("bad value \"%s\" for property log.level: expected SEVERE, WARNING, INFO or "
                   "FINE",
                   cfg->log_level);
        return SFA_ECONFIG;
    }
    sfa_log_init("sfa", level);
    return 0;
}

int
main(int argc, char **argv)
{
    lch_config cfg;
    lch_launcher l;
    uv_loop_t loop;
    int rv, code = 0;

    sfa_log_init("sfa", SFA_LOG_INFO);
    rv = sfa_config_load(lch_config_opts, &cfg, "sfa", argc, argv);
    if (rv != 0)
        return rv == SFA_EEXIT ? 0 : 1;
    if (main_log_level(&cfg) != 0) {
        sfa_config_free(lch_config_opts, &cfg);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    SFA_INFO("Starting sfa %s", SFA_VERSION);
    uv_loop_init(&loop);
    rv = lch_launcher_init(&l, &loop, &cfg, argc, argv);
    if (rv == 0) {
        lch_launcher_start(&l);
        uv_run(&loop, UV_RUN_DEFAULT);
        code = lch_launcher_fini(&l);
    } else {
        code = rv == SFA_ECONFIG ? 1 : 2;
    }
    uv_run(&loop, UV_RUN_DEFAULT); /* close callbacks left by a failed init */
    (void)uv_loop_close(&loop);
    sfa_config_free(lch_config_opts, &cfg);
    return code;
}
