/* launcher.h - internals of `sfa`, the launcher (private to this directory).
 *
 * The launcher runs every service of the suite as a child process on
 * ipc:// bus addresses under a runtime directory, forwards their log lines,
 * restarts a child that dies (with back-off) and stops them all on
 * SIGINT/SIGTERM. Pieces:
 *   launcher.c  lifecycle: config table, runtime dir, signals, stop, exit code
 *   services.c  the static table of child services and their arguments
 *   children.c  one child: spawn, exit, restart back-off
 *   logfwd.c    copy a child's stdout/stderr lines to our stderr
 * Everything runs on one libuv loop; nothing here is thread-safe.
 */
#ifndef SFA_LAUNCHER_H
#define SFA_LAUNCHER_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include <sfa/config.h>
#include <sfa/err.h>

/* ---- configuration (launcher.c) ---- */

typedef struct lch_config {
    char *rundir;     /* sfa.rundir: "" means $XDG_RUNTIME_DIR/sfa-<pid> or /tmp/sfa-<uid>-<pid> */
    char *bindir;     /* sfa.bindir: "" means the directory of our own executable */
    char *log_level;  /* log.level */
    long aggregators; /* sfa.aggregators: sfa-aggregator instances to run */
    int events;       /* sfa.events: run sfa-events (0 or 1) */
    char *state;      /* sfa.state: "" means <rundir>/state (see services.c) */
    int gateway;      /* sfa.gateway: run sfa-gateway (0 or 1) */
} lch_config;

extern const sfa_cfg_opt lch_config_opts[];

/* ---- argument vectors ---- */

typedef struct lch_argv {
    char **v; /* NULL-terminated; owned strings */
    int n, cap;
} lch_argv;

void lch_argv_add(lch_argv *a, const char *s); /* copies s */
void lch_argv_addf(lch_argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void lch_argv_free(lch_argv *a);

/* ---- the table of services (services.c) ---- */

struct lch_launcher;

typedef struct lch_service {
    const char *name;   /* used in our log lines: "collector" */
    const char *binary; /* file name in the bin dir: "sfa-collector" */
    /* Number of instances to run, from the config; NULL means one. */
    int (*count)(const lch_config *cfg);
    /* Arguments for instance i after the common ones; NULL means none. */
    void (*args)(const struct lch_launcher *l, int instance, lch_argv *out);
} lch_service;

extern const lch_service lch_services[]; /* terminated by a NULL name */

/* The arguments every child gets first: the bus base addresses. */
void lch_common_args(const struct lch_launcher *l, lch_argv *out);

/* ---- children (children.c) ---- */

typedef struct lch_child lch_child;

/* Create child number instance of svc (returns new; not started). */
lch_child *lch_child_create(struct lch_launcher *l, const lch_service *svc, int instance,
                            int count);

/* Spawn it now. 0, or a negative libuv error (logged). */
SFA_MUST_CHECK int lch_child_start(lch_child *c);

/* Stop restarting it and send sig if it runs. Returns 1 if it runs. */
int lch_child_signal(lch_child *c, int sig);

/* Is a process of this child alive? */
int lch_child_running(const lch_child *c);

/* Close its timer; the struct is freed in the close callback. */
void lch_child_destroy(lch_child *c);

/* ---- log forwarding (logfwd.c) ---- */

#define LCH_LINE_MAX 8192

/* Reads one pipe of a child and writes its complete lines, unchanged, to
 * our stderr. Embedded in the per-process state of children.c. */
typedef struct lch_logfwd {
    uv_pipe_t pipe;
    void (*closed)(struct lch_logfwd *f); /* called from the close callback */
    void *owner;
    size_t len;
    char buf[LCH_LINE_MAX];
} lch_logfwd;

/* Start reading f->pipe (already initialised and connected by uv_spawn). */
void lch_logfwd_start(lch_logfwd *f);

/* Flush a partial line and close the pipe (no-op if already closing). */
void lch_logfwd_close(lch_logfwd *f);

/* ---- the launcher (launcher.c) ---- */

typedef struct lch_launcher {
    uv_loop_t *loop;
    const lch_config *cfg;
    int argc; /* forwarded arguments: argv[1..argc-1] (borrowed) */
    char **argv;
    char rundir[PATH_MAX];
    int rundir_owned; /* we created it: remove it on exit */
    char bindir[PATH_MAX];
    lch_child **children;
    int nchildren;
    uv_signal_t sigint, sigterm;
    uv_timer_t kill_timer;
    int stopping;
    int exit_code;
} lch_launcher;

/* Resolve the runtime and bin dirs, create the runtime dir, install the
 * signal handlers. 0, or SFA_ECONFIG / -errno (logged). */
SFA_MUST_CHECK int lch_launcher_init(lch_launcher *l, uv_loop_t *loop, const lch_config *cfg,
                                     int argc, char **argv);

/* Start every child of the service table. On failure the launcher is
 * already stopping (exit code 2); run the loop either way. */
void lch_launcher_start(lch_launcher *l);

/* Begin an orderly stop: SIGTERM to every child, SIGKILL after 5 s, then
 * close our handles so uv_run returns. The first code given is kept. */
void lch_launcher_stop(lch_launcher *l, int exit_code);

/* A child's process ended while stopping: finish when none is left. */
void lch_launcher_child_gone(lch_launcher *l);

/* After uv_run returned: remove the runtime dir; returns the exit code. */
int lch_launcher_fini(lch_launcher *l);

#endif
