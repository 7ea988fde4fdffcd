/* main.c - sfa-aggregator: sharded flow tables for the gateway's queries.
 *
 * Only start-up and tear-down live here: load the properties, set up
 * logging, build the loop and the service (aggregator.c), run, clean up.
 * Exit status: 0 after a clean stop (SIGINT/SIGTERM) or --help; 1 when the
 * configuration is bad; 2 when the service cannot start or run.
 */
#include <stdlib.h>

#include <uv.h>

#include <sfa/err.h>
#include <sfa/log.h>

#include "agg.h"

int
main(int argc, char **argv)
{
    agg_config cfg;
    agg_service *s;
    uv_loop_t loop;
    int rc, status = 0;

    sfa_log_init("aggregator", SFA_LOG_INFO);
    rc = agg_config_load(&cfg, argc, argv);
    if (rc == SFA_EEXIT)
        return 0;
    if (rc != 0)
        return 1;
    sfa_log_init("aggregator", cfg.log_level_num);

    rc = uv_loop_init(&loop);
    if (rc != 0) {
        SFA_SEVERE("cannot create the event loop: %s", uv_strerror(rc));
        agg_config_free(&cfg);
        return 2;
    }
    s = agg_service_create(&loop, &cfg);
    rc = agg_service_start(s);
    if (rc != 0) {
        status = rc == SFA_ECONFIG ? 1 : 2;
        agg_service_stop(s);
    }
    rc = uv_run(&loop, UV_RUN_DEFAULT);
    if (rc != 0 && status == 0) {
        SFA_SEVERE("event loop ended with active handles");
        status = 2;
    }
    agg_service_destroy(s);
    if (uv_loop_close(&loop) != 0 && status == 0)
        status = 2;
    agg_config_free(&cfg);
    if (status == 0)
        SFA_INFO("stopped");
    return status;
}
