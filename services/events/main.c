/* main.c - sfa-events: evaluate thresholds, keep and publish the event log.
 *
 * Only start-up and tear-down live here: load the properties, set up
 * logging, build the service on a libuv loop (events.c), run it until
 * SIGINT/SIGTERM, tear it down. Exit 0 after a clean stop or --help; 1
 * when the configuration (or the state directory) is unusable; 2 when the
 * bus cannot be opened or the loop fails.
 */
#include <sfa/log.h>

#include "evt.h"

#ifndef SFA_VERSION
#define SFA_VERSION "0.0.0"
#endif

int
main(int argc, char **argv)
{
    evt_config cfg;
    evt_ctx e;
    uv_loop_t loop;
    int rc, status = 0;

    sfa_log_init("events", SFA_LOG_INFO);
    rc = evt_config_load(&cfg, argc, argv);
    if (rc == SFA_EEXIT)
        return 0;
    if (rc != 0)
        return 1;
    sfa_log_init("events", cfg.log_level_num);
    if (uv_loop_init(&loop) != 0) {
        evt_config_free(&cfg);
        return 2;
    }
    SFA_INFO("Starting sfa events %s", SFA_VERSION);
    rc = evt_start(&e, &loop, &cfg);
    if (rc != 0)
        status = rc == SFA_ECONFIG ? 1 : 2;
    /* Serves, or only runs the close callbacks of a failed start. */
    if (uv_run(&loop, UV_RUN_DEFAULT) != 0 && status == 0)
        status = 2;
    evt_finish(&e);
    if (uv_loop_close(&loop) != 0 && status == 0)
        status = 2;
    evt_config_free(&cfg);
    if (status == 0)
        SFA_INFO("Stopped");
    return status;
}
