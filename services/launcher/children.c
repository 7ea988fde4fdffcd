/* children.c - one child service: spawn, watch, restart with back-off.
 *
 * A child is one instance of a row of the service table. Each spawn gets
 * its own lch_run (the process handle and the two output pipes), freed
 * when all three handles have closed, so a pipe that outlives its process
 * (a grandchild still holding it) never blocks a restart.
 *
 * Restart policy: a child that exits while the launcher is not stopping is
 * restarted after a back-off of 0.5 s, doubling up to 30 s, reset to
 * 0.5 s when the run had lasted 60 s. Exit status 1 within the first
 * 5 s of a run means the service refused its configuration (STYLE: exit 1
 * on bad config), which a restart cannot fix: the launcher then stops
 * everything and exits 1 instead of looping. A spawn failure (missing
 * binary) is retried like an exit, except for the very first start.
 * Runs on the loop thread.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/clock.h>
#include <sfa/log.h>
#include <sfa/mem.h>

#include "launcher.h"

#define CHILD_BACKOFF_MIN_MS 500
#define CHILD_BACKOFF_MAX_MS 30000
#define CHILD_STABLE_MS 60000  /* a run this long resets the back-off */
#define CHILD_STARTUP_MS 5000  /* exit 1 within this is a config error */
#define CHILD_EXIT_BADCONFIG 1 /* services exit 1 on bad configuration */

typedef struct lch_run {
    lch_child *child; /* NULL once the process has exited */
    uv_process_t proc;
    lch_logfwd out, err;
    int handles; /* still open; the struct is freed at zero */
} lch_run;

struct lch_child {
    lch_launcher *l;
    const lch_service *svc;
    char name[64]; /* "collector", or "aggregator-2" with several */
    char path[PATH_MAX + 64];
    lch_argv args;
    lch_run *run; /* the live process, or NULL */
    uv_timer_t restart;
    uint64_t started_ms;
    uint64_t backoff_ms; /* delay before the next restart */
};

static void
run_handle_closed(lch_run *run)
{
    if (--run->handles == 0)
        free(run);
}

static void
run_proc_closed(uv_handle_t *h)
{
    run_handle_closed(h->data);
}

static void
run_pipe_closed(lch_logfwd *f)
{
    run_handle_closed(f->owner);
}

static void child_restart_cb(uv_timer_t *t);

/* Arm the restart timer with the current back-off, then double it. */
static void
child_arm_restart(lch_child *c)
{
    uv_timer_start(&c->restart, child_restart_cb, c->backoff_ms, 0);
    c->backoff_ms *= 2;
    if (c->backoff_ms > CHILD_BACKOFF_MAX_MS)
        c->backoff_ms = CHILD_BACKOFF_MAX_MS;
}

static void
child_restart_cb(uv_timer_t *t)
{
    lch_child *c = t->data;

    if (c->l->stopping || lch_child_start(c) == 0)
        return;
    SFA_WARN("%s: retrying in %.1f s", c->name, (double)c->backoff_ms / 1000.0);
    child_arm_restart(c);
}

/* Describe how a process ended: "status 3" or "signal 9 (Killed)". */
static void
child_how(char *out, size_t cap, int64_t status, int sig)
{
    if (sig)
        snprintf(out, cap, "signal %d (%s)", sig, strsignal(sig));
    else
        snprintf(out, cap, "status %lld", (long long)status);
}

static void
child_schedule_restart(lch_child *c, const char *how, uint64_t uptime)
{
    if (uptime >= CHILD_STABLE_MS)
        c->backoff_ms = CHILD_BACKOFF_MIN_MS;
    SFA_WARN("%s exited with %s after %.1f s; restarting in %.1f s", c->name, how,
             (double)uptime / 1000.0, (double)c->backoff_ms / 1000.0);
    child_arm_restart(c);
}

static void
child_exited(uv_process_t *p, int64_t status, int sig)
{
    lch_run *run = p->data;
    lch_child *c = run->child;
    uint64_t uptime;
    char how[64];

    uv_close((uv_handle_t *)p, run_proc_closed);
    if (!c)
        return; /* the child was destroyed while its process ran */
    run->child = NULL;
    c->run = NULL;
    uptime = sfa_clock_ms() - c->started_ms;
    child_how(how, sizeof how, status, sig);
    if (c->l->stopping) {
        SFA_INFO("%s stopped (%s)", c->name, how);
        lch_launcher_child_gone(c->l);
    } else if (!sig && status == CHILD_EXIT_BADCONFIG && uptime < CHILD_STARTUP_MS) {
        SFA_SEVERE("%s exited with status 1 during start-up (bad configuration?); stopping",
                   c->name);
        lch_launcher_stop(c->l, 1);
    } else {
        child_schedule_restart(c, how, uptime);
    }
}

lch_child *
lch_child_create(lch_launcher *l, const lch_service *svc, int instance, int count)
{
    lch_child *c = sfa_xcalloc(1, sizeof *c);

    c->l = l;
    c->svc = svc;
    c->backoff_ms = CHILD_BACKOFF_MIN_MS;
    if (count > 1)
        snprintf(c->name, sizeof c->name, "%s-%d", svc->name, instance);
    else
        snprintf(c->name, sizeof c->name, "%s", svc->name);
    snprintf(c->path, sizeof c->path, "%s/%s", l->bindir, svc->binary);
    lch_argv_add(&c->args, c->path);
    lch_common_args(l, &c->args);
    if (svc->args)
        svc->args(l, instance, &c->args);
    for (int i = 1; i < l->argc; i++) /* every -D, --config as given */
        lch_argv_add(&c->args, l->argv[i]);
    uv_timer_init(l->loop, &c->restart);
    c->restart.data = c;
    return c;
}

static void
child_init_pipe(lch_run *run, lch_logfwd *f, uv_stdio_container_t *io)
{
    uv_pipe_init(run->child->l->loop, &f->pipe, 0);
    f->owner = run;
    f->closed = run_pipe_closed;
    io->flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE; /* the child writes */
    io->data.stream = (uv_stream_t *)&f->pipe;
}

int
lch_child_start(lch_child *c)
{
    uv_stdio_container_t io[3] = {{.flags = UV_IGNORE}};
    uv_process_options_t opt = {0};
    lch_run *run = sfa_xcalloc(1, sizeof *run);
    int rv;

    run->child = c;
    run->handles = 3;
    child_init_pipe(run, &run->out, &io[1]);
    child_init_pipe(run, &run->err, &io[2]);
    opt.file = c->path;
    opt.args = c->args.v;
    opt.exit_cb = child_exited;
    opt.stdio = io;
    opt.stdio_count = 3;
    run->proc.data = run;
    if ((rv = uv_spawn(c->l->loop, &run->proc, &opt)) != 0) {
        SFA_SEVERE("cannot start %s (%s): %s", c->name, c->path, uv_strerror(rv));
        goto fail;
    }
    c->run = run;
    c->started_ms = sfa_clock_ms();
    SFA_INFO("Started %s, pid %d", c->name, run->proc.pid);
    lch_logfwd_start(&run->out);
    lch_logfwd_start(&run->err);
    return 0;
fail:
    /* uv_spawn initialises the handle even when it fails. */
    run->child = NULL;
    uv_close((uv_handle_t *)&run->proc, run_proc_closed);
    lch_logfwd_close(&run->out);
    lch_logfwd_close(&run->err);
    return rv;
}

int
lch_child_signal(lch_child *c, int sig)
{
    uv_timer_stop(&c->restart);
    if (!c->run)
        return 0;
    (void)uv_process_kill(&c->run->proc, sig);
    return 1;
}

int
lch_child_running(const lch_child *c)
{
    return c->run != NULL;
}

static void
child_timer_closed(uv_handle_t *h)
{
    lch_child *c = h->data;

    lch_argv_free(&c->args);
    free(c);
}

void
lch_child_destroy(lch_child *c)
{
    if (!c)
        return;
    if (c->run) /* only if the loop is torn down with a child alive */
        c->run->child = NULL;
    uv_close((uv_handle_t *)&c->restart, child_timer_closed);
}
