/* launcher.c - the launcher's lifecycle.
 *
 * Owns the runtime directory (ipc:// sockets live there; created 0700,
 * its sockets and, if we created it, the directory removed on exit), the
 * bin directory where the service binaries are found, the SIGINT/SIGTERM
 * handlers and the orderly stop: SIGTERM to every child, SIGKILL to those
 * still alive after 5 s, then every handle is closed so uv_run returns.
 * Exit codes (STYLE §3): 0 after a signal, 1 when a child refused its
 * configuration at start-up, 2 when a service could not be started at all.
 * Runs on the loop thread.
 */
#include <dirent.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sfa/log.h>
#include <sfa/mem.h>

#include "launcher.h"

#define LCH_KILL_AFTER_MS 5000
#define LCH_RUNDIR_MAX 90 /* leaves room for "/samples.NN" in a 107-byte socket path */

const sfa_cfg_opt lch_config_opts[] = {
    {"sfa.rundir", SFA_CFG_STR, NULL, offsetof(lch_config, rundir), 0, 0,
     "runtime directory for the ipc:// bus sockets; empty: $XDG_RUNTIME_DIR/sfa-<pid> or "
     "/tmp/sfa-<uid>-<pid> (created 0700, removed on exit)"},
    {"sfa.bindir", SFA_CFG_STR, NULL, offsetof(lch_config, bindir), 0, 0,
     "directory holding the service binaries (sfa-collector, ...); empty: the directory of "
     "this executable"},
    {"log.level", SFA_CFG_STR, "INFO", offsetof(lch_config, log_level), 0, 0,
     "SEVERE, WARNING, INFO or FINE (passed on to every service)"},
    {"sfa.aggregators", SFA_CFG_INT, "1", offsetof(lch_config, aggregators), 0, 64,
     "sfa-aggregator instances to run (each reads a share of the agents)"},
    {"sfa.events", SFA_CFG_BOOL, "yes", offsetof(lch_config, events), 0, 1,
     "run sfa-events, which evaluates thresholds and keeps the event log"},
    {"sfa.gateway", SFA_CFG_BOOL, "yes", offsetof(lch_config, gateway), 0, 1,
     "run sfa-gateway, the REST API on http.port"},
    {"sfa.state", SFA_CFG_STR, NULL, offsetof(lch_config, state), 0, 0,
     "durable state of the gateway and sfa-events (definitions, thresholds, event ids); "
     "empty: <rundir>/state, removed with a runtime directory the launcher created"},
    SFA_CFG_END,
};

static int
launcher_rundir(lch_launcher *l)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    int dflt = l->cfg->rundir[0] == '\0';
    struct stat st;

    if (!dflt)
        snprintf(l->rundir, sizeof l->rundir, "%s", l->cfg->rundir);
    else if (xdg && *xdg)
        snprintf(l->rundir, sizeof l->rundir, "%s/sfa-%d", xdg, (int)getpid());
    else
        snprintf(l->rundir, sizeof l->rundir, "/tmp/sfa-%d-%d", (int)getuid(), (int)getpid());
    if (strlen(l->rundir) > LCH_RUNDIR_MAX) {
        SFA_SEVERE("sfa.rundir %s is too long for ipc sockets (max %d bytes)", l->rundir,
                   LCH_RUNDIR_MAX);
        return SFA_ECONFIG;
    }
    if (mkdir(l->rundir, 0700) == 0) {
        l->rundir_owned = 1;
    } else if (errno == EEXIST && stat(l->rundir, &st) == 0 && S_ISDIR(st.st_mode)) {
        l->rundir_owned = dflt; /* a default name is ours even if a dead run left it */
    } else {
        int err = errno;
        SFA_SEVERE("cannot create runtime directory %s: %s", l->rundir, strerror(err));
        return -err;
    }
    SFA_INFO("Runtime directory %s", l->rundir);
    return 0;
}

/* Remove the regular files of dir (not recursive), then dir itself. */
static void
launcher_dir_remove_files(const char *dir)
{
    char path[2 * PATH_MAX + 256];
    struct dirent *de;
    struct stat st;
    DIR *d = opendir(dir);

    if (!d)
        return;
    while ((de = readdir(d))) {
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
            (void)unlink(path);
    }
    closedir(d);
    (void)rmdir(dir);
}

/* Remove the sockets in the runtime dir, and the dir if it is ours (with
 * the default state directory inside it: sfa.state was not given). */
static void
launcher_rundir_remove(lch_launcher *l)
{
    char path[PATH_MAX + 256];
    struct dirent *de;
    struct stat st;
    DIR *d = opendir(l->rundir);

    if (!d)
        return;
    while ((de = readdir(d))) {
        snprintf(path, sizeof path, "%s/%s", l->rundir, de->d_name);
        if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
            (void)unlink(path);
    }
    closedir(d);
    if (l->rundir_owned && !(l->cfg->state && l->cfg->state[0])) {
        snprintf(path, sizeof path, "%s/state", l->rundir);
        launcher_dir_remove_files(path);
    }
    if (l->rundir_owned && rmdir(l->rundir) != 0)
        SFA_WARN("cannot remove runtime directory %s: %s", l->rundir, strerror(errno));
}

static int
launcher_bindir(lch_launcher *l)
{
    ssize_t n;
    char *slash;

    if (l->cfg->bindir[0]) {
        snprintf(l->bindir, sizeof l->bindir, "%s", l->cfg->bindir);
        return 0;
    }
    n = readlink("/proc/self/exe", l->bindir, sizeof l->bindir - 1);
    if (n <= 0 || !(slash = memrchr(l->bindir, '/', (size_t)n))) {
        SFA_SEVERE("cannot find my own executable; set sfa.bindir");
        return SFA_ECONFIG;
    }
    *slash = '\0';
    return 0;
}

static void
launcher_signal_cb(uv_signal_t *h, int sig)
{
    lch_launcher *l = h->data;
    const char *name = sig == SIGINT ? "SIGINT" : "SIGTERM";

    if (l->stopping) {
        SFA_INFO("Received %s while stopping; still waiting for services", name);
        return;
    }
    SFA_INFO("Received %s, stopping", name);
    lch_launcher_stop(l, 0);
}

int
lch_launcher_init(lch_launcher *l, uv_loop_t *loop, const lch_config *cfg, int argc, char **argv)
{
    int rv;

    memset(l, 0, sizeof *l);
    l->loop = loop;
    l->cfg = cfg;
    l->argc = argc;
    l->argv = argv;
    if ((rv = launcher_bindir(l)) != 0 || (rv = launcher_rundir(l)) != 0)
        return rv;
    uv_signal_init(loop, &l->sigint);
    uv_signal_init(loop, &l->sigterm);
    uv_timer_init(loop, &l->kill_timer);
    l->sigint.data = l->sigterm.data = l->kill_timer.data = l;
    uv_signal_start(&l->sigint, launcher_signal_cb, SIGINT);
    uv_signal_start(&l->sigterm, launcher_signal_cb, SIGTERM);
    return 0;
}

static void
launcher_add_child(lch_launcher *l, lch_child *c)
{
    l->children = sfa_xrealloc(l->children, (size_t)(l->nchildren + 1) * sizeof *l->children);
    l->children[l->nchildren++] = c;
}

void
lch_launcher_start(lch_launcher *l)
{
    for (const lch_service *svc = lch_services; svc->name; svc++) {
        int count = svc->count ? svc->count(l->cfg) : 1;
        for (int i = 0; i < count; i++) {
            lch_child *c = lch_child_create(l, svc, i, count);
            launcher_add_child(l, c);
            if (lch_child_start(c) != 0) {
                lch_launcher_stop(l, 2);
                return;
            }
        }
    }
}

static void
launcher_close_pipe(uv_handle_t *h, void *arg)
{
    /* The only pipes on this loop are children's outputs (lch_logfwd). */
    if (h->type == UV_NAMED_PIPE && !uv_is_closing(h))
        lch_logfwd_close(h->data);
}

/* Every child is gone: close our handles so that uv_run returns. Pipes
 * kept open by a grandchild are closed too. */
static void
launcher_finish(lch_launcher *l)
{
    uv_close((uv_handle_t *)&l->sigint, NULL);
    uv_close((uv_handle_t *)&l->sigterm, NULL);
    uv_close((uv_handle_t *)&l->kill_timer, NULL);
    for (int i = 0; i < l->nchildren; i++)
        lch_child_destroy(l->children[i]);
    l->nchildren = 0;
    uv_walk(l->loop, launcher_close_pipe, NULL);
}

static int
launcher_running(const lch_launcher *l)
{
    int n = 0;

    for (int i = 0; i < l->nchildren; i++)
        n += lch_child_running(l->children[i]);
    return n;
}

static void
launcher_kill_cb(uv_timer_t *t)
{
    lch_launcher *l = t->data;

    SFA_WARN("%d service(s) still running after %d s; sending SIGKILL", launcher_running(l),
             LCH_KILL_AFTER_MS / 1000);
    for (int i = 0; i < l->nchildren; i++)
        (void)lch_child_signal(l->children[i], SIGKILL);
}

void
lch_launcher_stop(lch_launcher *l, int exit_code)
{
    int running = 0;

    if (l->stopping)
        return;
    l->stopping = 1;
    l->exit_code = exit_code;
    for (int i = 0; i < l->nchildren; i++)
        running += lch_child_signal(l->children[i], SIGTERM);
    if (running == 0)
        launcher_finish(l);
    else
        uv_timer_start(&l->kill_timer, launcher_kill_cb, LCH_KILL_AFTER_MS, 0);
}

void
lch_launcher_child_gone(lch_launcher *l)
{
    if (l->stopping && launcher_running(l) == 0)
        launcher_finish(l);
}

int
lch_launcher_fini(lch_launcher *l)
{
    launcher_rundir_remove(l);
    free(l->children);
    l->children = NULL;
    SFA_INFO("Stopped");
    return l->exit_code;
}
