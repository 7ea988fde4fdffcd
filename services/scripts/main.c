/* main.c - sfa-scripts: run sFlow-RT JavaScript applications.
 *
 * Two roles (scr.h): with `--child` as the only argument this process is
 * one script's child, started by the supervisor; otherwise it is the
 * supervisor: load the properties, start every script, serve until
 * SIGINT/SIGTERM, tear down. Exit 0 after a clean stop or --help; 1 when
 * the configuration (or a script.file entry) is unusable; 2 when the bus
 * cannot be opened or the loop fails.
 */
#include <signal.h>
#include <string.h>

#include <sfa/log.h>

#include "scr.h"

#ifndef SFA_VERSION
#define SFA_VERSION "0.0.0"
#endif

int
main(int argc, char **argv)
{
    scr_config cfg;
    scr_super *s = NULL;
    uv_loop_t loop;
    int rc, status = 0;

    if (argc == 2 && strcmp(argv[1], "--child") == 0)
        return scr_child_main();
    sfa_log_init("scripts", SFA_LOG_INFO);
    /* A child that died with frames queued for it must not take us along. */
    signal(SIGPIPE, SIG_IGN);
    rc = scr_config_load(&cfg, argc, argv);
    if (rc == SFA_EEXIT)
        return 0;
    if (rc != 0)
        return 1;
    sfa_log_init("scripts", cfg.log_level_num);
    if (uv_loop_init(&loop) != 0) {
        scr_config_free(&cfg);
        return 2;
    }
    SFA_INFO("Starting sfa scripts %s", SFA_VERSION);
    rc = scr_super_start(&s, &loop, &cfg, argv[0]);
    if (rc != 0)
        status = rc == SFA_ECONFIG ? 1 : 2;
    /* Serves, or only runs the close callbacks of a failed start. */
    if (uv_run(&loop, UV_RUN_DEFAULT) != 0 && status == 0)
        status = 2;
    scr_super_free(s);
    if (uv_loop_close(&loop) != 0 && status == 0)
        status = 2;
    scr_config_free(&cfg);
    if (status == 0)
        SFA_INFO("Stopped");
    return status;
}
