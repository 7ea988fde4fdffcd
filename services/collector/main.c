/* main.c - sfa-collector: receive sFlow, publish decoded samples on the bus.
 *
 * Only start-up and tear-down live here: load the properties, set up
 * logging, build the loop and the collector (collector.c), run, clean up.
 * Exit status: 0 after a clean stop (SIGINT/SIGTERM) or --help; 1 when the
 * configuration is bad; 2 when the service cannot start or run.
 */
#include <stdlib.h>

#include <uv.h>

#include <sfa/err.h>
#include <sfa/log.h>

#include "col.h"

int
main(int argc, char **argv)
{
    col_config cfg;
    col_collector *c;
    uv_loop_t loop;
    int rc, status = 0;

    sfa_log_init("collector", SFA_LOG_INFO);
    rc = col_config_load(&cfg, argc, argv);
    if (rc == SFA_EEXIT)
        return 0;
    if (rc != 0)
        return 1;
    sfa_log_init("collector", cfg.log_level_num);

    rc = uv_loop_init(&loop);
    if (rc != 0) {
        SFA_SEVERE("cannot create the event loop: %s", uv_strerror(rc));
        col_config_free(&cfg);
        return 2;
    }
    c = col_collector_create(&loop, &cfg);
    rc = col_collector_start(c);
    if (rc != 0) {
        /* A receiver that cannot open its socket or file is a config problem. */
        status = (rc == SFA_EBUS) ? 2 : 1;
        col_collector_stop(c);
    }
    rc = uv_run(&loop, UV_RUN_DEFAULT);
    if (status == 0)
        status = col_collector_exit_status(c);
    if (rc != 0 && status == 0) {
        SFA_SEVERE("event loop ended with active handles");
        status = 2;
    }
    col_collector_destroy(c);
    if (uv_loop_close(&loop) != 0 && status == 0)
        status = 2;
    col_config_free(&cfg);
    if (status == 0)
        SFA_INFO("stopped");
    return status;
}
