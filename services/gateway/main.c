/* main.c - sfa-gateway: the HTTP face of sfa (sFlow-RT's REST API).
 *
 * Parses the properties, builds the service on a libuv loop (gateway.c),
 * runs it until SIGINT/SIGTERM and tears it down. Exit 0 on a clean stop,
 * 1 on bad configuration, 2 when the service could not start or failed.
 */
#include <signal.h>

#include <sfa/log.h>

#include "gw.h"

#ifndef SFA_VERSION
#define SFA_VERSION "0.0.0"
#endif

int
main(int argc, char **argv)
{
    gw_config cfg;
    gw_ctx g;
    uv_loop_t loop;
    int rc;

    sfa_log_init("gateway", SFA_LOG_INFO);
    rc = gw_config_load(&cfg, argc, argv);
    if (rc == SFA_EEXIT)
        return 0;
    if (rc != 0)
        return 1;
    sfa_log_init("gateway", cfg.log_level_num);
    /* Writes to a client that has gone must fail with EPIPE, not kill us. */
    signal(SIGPIPE, SIG_IGN);
    if (uv_loop_init(&loop) != 0) {
        gw_config_free(&cfg);
        return 2;
    }
    SFA_INFO("Starting sfa gateway %s", SFA_VERSION);
    rc = gw_start(&g, &loop, &cfg);
    uv_run(&loop, UV_RUN_DEFAULT); /* serves, or drains the close callbacks of a failed start */
    gw_finish(&g);
    (void)uv_loop_close(&loop); /* busy only after a forced stop: the OS cleans up */
    gw_config_free(&cfg);
    if (rc != 0)
        return rc == SFA_ECONFIG ? 1 : 2;
    SFA_INFO("Stopped");
    return 0;
}
