/* super.c - the supervisor: one child process per script, a watchdog,
 * restarts with back-off.
 *
 * Each script runs as `sfa-scripts --child` (this same executable, so the
 * child starts clean: no inherited loop or nng threads) with a socket as
 * fd 3, and its stdout/stderr shared with ours (each log line is a single
 * write, so lines never interleave). The first frame tells it what to run.
 *
 * Isolation: the child reports busy/idle around every callback (its top
 * level included, and the supervisor counts from the spawn). The watchdog
 * ticks every SUPER_TICK_MS and SIGKILLs a child busy for longer than
 * script.timeout, so `while(true){}` costs one process and one log line.
 * Memory is capped inside the child (jsrt.c). A child that ends for any
 * reason other than having no handler left is restarted after a back-off
 * of 1 s, doubling to 60 s, reset after a run of 60 s; nothing else in
 * the suite notices. Loop thread only.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sfa/clock.h>
#include <sfa/log.h>
#include <sfa/mem.h>

#include "super.h"

#define SUPER_TICK_MS 50
#define SUPER_CPU_EVERY 20 /* ticks between CPU time samples (1 s) */
#define SUPER_BACKOFF_MIN_MS 1000
#define SUPER_BACKOFF_MAX_MS 60000
#define SUPER_STABLE_MS 60000
#define SUPER_KILL_AFTER_MS 2000
#define SUPER_QUEUE_MAX (4u << 20) /* bytes queued to one child before frames drop */

static void super_spawn(scr_script *sc);

/* ---- writing to a child ---- */

typedef struct super_write {
    uv_write_t req;
    uint8_t *data;
} super_write;

static void
super_write_cb(uv_write_t *req, int status)
{
    super_write *w = (super_write *)req;

    (void)status; /* a dead child is noticed by its exit */
    free(w->data);
    free(w);
}

int
super_send(scr_script *sc, const json_t *msg)
{
    scr_run *run = sc->run;
    super_write *w;
    uv_buf_t buf;
    size_t len;

    if (!run || run->ipc_closed)
        return -ENOTCONN;
    if (uv_stream_get_write_queue_size((uv_stream_t *)&run->ipc) > SUPER_QUEUE_MAX)
        return SFA_ELIMIT;
    w = sfa_xcalloc(1, sizeof *w);
    w->data = scr_frame_encode(msg, &len);
    if (!w->data) {
        free(w);
        return SFA_ELIMIT;
    }
    buf = uv_buf_init((char *)w->data, (unsigned)len);
    if (uv_write(&w->req, (uv_stream_t *)&run->ipc, &buf, 1, super_write_cb) != 0) {
        free(w->data);
        free(w);
        return -ENOTCONN;
    }
    return 0;
}

/* ---- CPU time ---- */

static uint64_t
super_proc_cpu_ms(int pid)
{
    char path[64], buf[1024], *p;
    unsigned long ut = 0, st = 0;
    FILE *f;
    size_t n;

    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    if (!(f = fopen(path, "r")))
        return 0;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields after the command name (which may hold spaces): state is 3rd,
     * utime 14th, stime 15th. */
    if (!(p = strrchr(buf, ')')) ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return 0;
    return (uint64_t)(ut + st) * 1000u / (uint64_t)sysconf(_SC_CLK_TCK);
}

uint64_t
super_cpu_ms(scr_script *sc)
{
    if (sc->run && !sc->run->exited) {
        uint64_t now = super_proc_cpu_ms(sc->run->pid);
        if (now > sc->cpu_ms_run)
            sc->cpu_ms_run = now;
    }
    return sc->cpu_ms_done + sc->cpu_ms_run;
}

/* ---- frames from a child ---- */

static void
super_call(scr_script *sc, const json_t *msg)
{
    scr_super *s = sc->s;
    const char *op = json_string_value(json_object_get(msg, "op"));
    const char *key = json_string_value(json_object_get(msg, "key"));
    const char *app = sc->spec->app;
    json_t *v = json_object_get(msg, "value"), *ret = NULL, *out;

    op = op ? op : "";
    key = key ? key : "";
    if (strcmp(op, "shared.get") == 0) {
        ret = scr_shared_get(s->store, app, key);
    } else if (strcmp(op, "shared.set") == 0) {
        scr_shared_set(s->store, app, key, v ? json_incref(v) : NULL);
    } else if (strcmp(op, "store.get") == 0) {
        ret = scr_store_get(s->store, app, key);
    } else if (strcmp(op, "store.set") == 0 || strcmp(op, "store.delete") == 0) {
        json_t *val = strcmp(op, "store.set") == 0 && v ? json_incref(v) : NULL;
        ret = json_boolean(scr_store_set(s->store, app, key, val) == 0);
    } else if (strcmp(op, "store.keys") == 0) {
        ret = scr_store_keys(s->store, app);
    }
    out = json_pack("{s:s, s:o?}", "t", "ret", "value", ret);
    (void)super_send(sc, out);
    json_decref(out);
}

static void
super_frame(scr_script *sc, json_t *msg)
{
    const char *t = json_string_value(json_object_get(msg, "t"));

    if (!t) {
        /* ignored */
    } else if (strcmp(t, "busy") == 0) {
        const char *what = json_string_value(json_object_get(msg, "what"));
        sc->busy = 1;
        sc->busy_ms = sfa_clock_ms();
        snprintf(sc->busy_what, sizeof sc->busy_what, "%s", what ? what : "?");
    } else if (strcmp(t, "idle") == 0) {
        sc->busy = 0;
        sc->flows_received = sc->flows_base_received +
                             (uint64_t)json_integer_value(json_object_get(msg, "flowsReceived"));
        sc->flows_lost =
            sc->flows_base_lost + (uint64_t)json_integer_value(json_object_get(msg, "flowsLost"));
    } else if (strcmp(t, "handlers") == 0) {
        sc->want_events = json_is_true(json_object_get(msg, "event"));
        sc->has_http = json_is_true(json_object_get(msg, "http"));
    } else if (strcmp(t, "error") == 0) {
        const char *text = json_string_value(json_object_get(msg, "text"));
        free(sc->error);
        sc->error = sfa_xstrdup(text ? text : "error");
    } else if (strcmp(t, "call") == 0) {
        super_call(sc, msg);
    } else if (strcmp(t, "http.reply") == 0) {
        super_bus_http_reply(sc, msg);
    }
    json_decref(msg);
}

/* ---- run lifecycle ---- */

static void
super_run_handle_closed(uv_handle_t *h)
{
    scr_run *run = h->data;

    if (--run->open_handles > 0)
        return;
    scr_framer_fini(&run->in);
    run->sc = NULL;
    free(run);
}

static void
super_restart_cb(uv_timer_t *t)
{
    scr_script *sc = t->data;

    if (!sc->s->stopping)
        super_spawn(sc);
}

static void
super_schedule_restart(scr_script *sc, const char *why)
{
    uint64_t up = sfa_clock_ms() - sc->started_ms;

    if (up >= SUPER_STABLE_MS)
        sc->backoff_ms = SUPER_BACKOFF_MIN_MS;
    SFA_WARN("%s %s; restarting in %.1f s", sc->spec->name, why, (double)sc->backoff_ms / 1000.0);
    (void)uv_timer_start(&sc->restart, super_restart_cb, sc->backoff_ms, 0);
    sc->backoff_ms *= 2;
    if (sc->backoff_ms > SUPER_BACKOFF_MAX_MS)
        sc->backoff_ms = SUPER_BACKOFF_MAX_MS;
}

static void
super_set_error(scr_script *sc, const char *text)
{
    free(sc->error);
    sc->error = sfa_xstrdup(text);
}

/* The process has exited and its socket is drained: decide what next. */
static void
super_run_finished(scr_run *run)
{
    scr_script *sc = run->sc;
    char why[160];

    if (!sc || sc->run != run)
        return;
    sc->run = NULL;
    sc->alive = 0;
    sc->busy = 0;
    sc->cpu_ms_done += sc->cpu_ms_run;
    sc->cpu_ms_run = 0;
    sc->flows_base_received = sc->flows_received;
    sc->flows_base_lost = sc->flows_lost;
    super_bus_fail_pending(sc, 503);
    sc->s->runs--;
    if (sc->s->stopping) {
        if (sc->s->runs == 0)
            uv_close((uv_handle_t *)&sc->s->stop_timer, NULL);
        return;
    }
    if (run->sig == 0 && run->status == 0) {
        sc->graceful = 1;
        return;
    }
    if (sc->killed_timeout) {
        snprintf(why, sizeof why, "was stopped: its %s callback ran over %ld ms", sc->busy_what,
                 sc->s->cfg->timeout_ms);
    } else if (run->sig == 0 && run->status == SCR_EXIT_HEAP) {
        snprintf(why, sizeof why, "was stopped: heap limit of %ld MiB exceeded",
                 sc->s->cfg->heap_mb);
    } else if (run->sig == 0 && run->status == SCR_EXIT_ERROR) {
        snprintf(why, sizeof why, "failed");
    } else if (run->sig) {
        snprintf(why, sizeof why, "ended by signal %d (%s)", run->sig, strsignal(run->sig));
    } else {
        snprintf(why, sizeof why, "exited with status %lld", (long long)run->status);
    }
    if (run->sig || run->status != SCR_EXIT_ERROR || !sc->error)
        super_set_error(sc, why);
    super_schedule_restart(sc, why);
}

static void
super_run_check_done(scr_run *run)
{
    if (run->exited && run->ipc_closed)
        super_run_finished(run);
}

static void
super_exit_cb(uv_process_t *p, int64_t status, int sig)
{
    scr_run *run = p->data;

    run->exited = 1;
    run->status = status;
    run->sig = sig;
    uv_close((uv_handle_t *)p, super_run_handle_closed);
    super_run_check_done(run);
}

static void
super_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)h;
    (void)hint;
    buf->base = sfa_xmalloc(65536);
    buf->len = 65536;
}

static void
super_ipc_close(scr_run *run)
{
    if (run->ipc_closed)
        return;
    run->ipc_closed = 1;
    uv_close((uv_handle_t *)&run->ipc, super_run_handle_closed);
}

static void
super_read_cb(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    scr_run *run = st->data;
    json_t *msg;
    int rc;

    if (n > 0) {
        scr_framer_feed(&run->in, buf->base, (size_t)n);
        while (run->sc && (rc = scr_framer_next(&run->in, &msg)) != 0) {
            if (rc == 1)
                super_frame(run->sc, msg);
            else if (run->in.bad)
                break;
        }
    }
    free(buf->base);
    if (n < 0 || run->in.bad) {
        super_ipc_close(run);
        super_run_check_done(run);
    }
}

static json_t *
super_init_msg(scr_script *sc)
{
    const scr_config *cfg = sc->s->cfg;

    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:i, s:O}", "t", "init", "path",
                     sc->spec->path, "name", sc->spec->name, "app", sc->spec->app, "gateway",
                     sc->s->gateway, "httpTimeout", (json_int_t)cfg->http_timeout_ms, "heapMb",
                     (json_int_t)cfg->heap_mb, "logLevel", cfg->log_level_num, "props",
                     cfg->props ? cfg->props : json_object());
}

static void
super_spawn(scr_script *sc)
{
    scr_super *s = sc->s;
    scr_run *run = sfa_xcalloc(1, sizeof *run);
    char *args[] = {s->exe, "--child", NULL};
    uv_stdio_container_t stdio[4];
    uv_process_options_t opts = {0};
    json_t *init;
    int rc;

    run->sc = sc;
    scr_framer_init(&run->in);
    uv_pipe_init(s->loop, &run->ipc, 0);
    run->ipc.data = run->proc.data = run;
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = UV_INHERIT_FD;
    stdio[1].data.fd = 1;
    stdio[2].flags = UV_INHERIT_FD;
    stdio[2].data.fd = 2;
    stdio[3].flags = UV_CREATE_PIPE | UV_READABLE_PIPE | UV_WRITABLE_PIPE;
    stdio[3].data.stream = (uv_stream_t *)&run->ipc;
    opts.file = s->exe;
    opts.args = args;
    opts.exit_cb = super_exit_cb;
    opts.stdio = stdio;
    opts.stdio_count = 4;
    run->open_handles = 1; /* the pipe; the process handle counts once spawned */
    sc->started_ms = sfa_clock_ms();
    sc->killed_timeout = 0;
    if ((rc = uv_spawn(s->loop, &run->proc, &opts)) != 0) {
        char why[128];
        snprintf(why, sizeof why, "could not be started: %s", uv_strerror(rc));
        run->ipc_closed = 1;
        uv_close((uv_handle_t *)&run->ipc, super_run_handle_closed);
        super_set_error(sc, why);
        super_schedule_restart(sc, why);
        return;
    }
    run->open_handles++;
    run->pid = run->proc.pid;
    s->runs++;
    sc->run = run;
    sc->alive = 1;
    sc->graceful = 0;
    sc->busy = 1; /* the top level counts from the spawn */
    sc->busy_ms = sc->started_ms;
    snprintf(sc->busy_what, sizeof sc->busy_what, "start");
    sc->want_events = sc->has_http = 0;
    (void)uv_read_start((uv_stream_t *)&run->ipc, super_alloc_cb, super_read_cb);
    init = super_init_msg(sc);
    (void)super_send(sc, init);
    json_decref(init);
    if (sc->restarts++ > 0)
        SFA_INFO("%s restarted (pid %d)", sc->spec->name, run->pid);
}

/* ---- watchdog ---- */

static void
super_watchdog_cb(uv_timer_t *t)
{
    scr_super *s = t->data;
    uint64_t now = sfa_clock_ms();
    int sample = ++s->ticks % SUPER_CPU_EVERY == 0;

    for (size_t i = 0; i < s->n; i++) {
        scr_script *sc = &s->scripts[i];
        if (!sc->run || sc->run->exited)
            continue;
        if (sample)
            (void)super_cpu_ms(sc);
        if (sc->busy && !sc->killed_timeout && now - sc->busy_ms > (uint64_t)s->cfg->timeout_ms) {
            SFA_SEVERE("%s: %s callback still running after %ld ms; stopping it", sc->spec->name,
                       sc->busy_what, s->cfg->timeout_ms);
            sc->killed_timeout = 1;
            (void)uv_process_kill(&sc->run->proc, SIGKILL);
        }
    }
}

/* ---- start and stop ---- */

static void
super_signal_cb(uv_signal_t *h, int sig)
{
    SFA_INFO("Signal %d, stopping", sig);
    scr_super_stop(h->data);
}

static void
super_kill_cb(uv_timer_t *t)
{
    scr_super *s = t->data;

    for (size_t i = 0; i < s->n; i++)
        if (s->scripts[i].run && !s->scripts[i].run->exited)
            (void)uv_process_kill(&s->scripts[i].run->proc, SIGKILL);
}

static void
super_find_exe(scr_super *s, const char *exe)
{
    ssize_t n = readlink("/proc/self/exe", s->exe, sizeof s->exe - 1);

    if (n > 0)
        s->exe[n] = '\0';
    else
        snprintf(s->exe, sizeof s->exe, "%s", exe);
}

int
scr_super_start(scr_super **out, uv_loop_t *loop, const scr_config *cfg, const char *exe)
{
    scr_super *s = sfa_xcalloc(1, sizeof *s);
    int rc;

    s->loop = loop;
    s->cfg = cfg;
    super_find_exe(s, exe);
    scr_gateway_url(cfg, s->gateway, sizeof s->gateway);
    if ((rc = scr_specs_load(&s->specs, cfg->script_file, cfg->appdir)) != 0) {
        free(s);
        return rc;
    }
    s->store = scr_store_new(cfg->store);
    s->n = s->specs.n;
    s->scripts = sfa_xcalloc(s->n ? s->n : 1, sizeof *s->scripts);
    uv_timer_init(loop, &s->watchdog);
    uv_timer_init(loop, &s->stop_timer);
    uv_signal_init(loop, &s->sigint);
    uv_signal_init(loop, &s->sigterm);
    s->watchdog.data = s->stop_timer.data = s->sigint.data = s->sigterm.data = s;
    uv_signal_start(&s->sigint, super_signal_cb, SIGINT);
    uv_signal_start(&s->sigterm, super_signal_cb, SIGTERM);
    *out = s;
    if ((rc = super_bus_open(s)) != 0) {
        scr_super_stop(s);
        return rc;
    }
    SFA_INFO("%zu script(s), %zu app(s); gateway %s", s->n, json_object_size(s->specs.apps),
             s->gateway);
    for (size_t i = 0; i < s->n; i++) {
        scr_script *sc = &s->scripts[i];
        sc->s = s;
        sc->spec = &s->specs.v[i];
        sc->backoff_ms = SUPER_BACKOFF_MIN_MS;
        uv_timer_init(loop, &sc->restart);
        sc->restart.data = sc;
        super_spawn(sc);
    }
    uv_timer_start(&s->watchdog, super_watchdog_cb, SUPER_TICK_MS, SUPER_TICK_MS);
    return 0;
}

void
scr_super_stop(scr_super *s)
{
    if (s->stopping)
        return;
    s->stopping = 1;
    super_bus_close(s);
    uv_close((uv_handle_t *)&s->watchdog, NULL);
    uv_close((uv_handle_t *)&s->sigint, NULL);
    uv_close((uv_handle_t *)&s->sigterm, NULL);
    for (size_t i = 0; i < s->n; i++) {
        scr_script *sc = &s->scripts[i];
        if (sc->s)
            uv_close((uv_handle_t *)&sc->restart, NULL);
        if (sc->run && !sc->run->exited)
            (void)uv_process_kill(&sc->run->proc, SIGTERM);
    }
    if (s->runs > 0)
        uv_timer_start(&s->stop_timer, super_kill_cb, SUPER_KILL_AFTER_MS, 0);
    else
        uv_close((uv_handle_t *)&s->stop_timer, NULL);
}

void
scr_super_free(scr_super *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->scripts[i].error);
    free(s->scripts);
    scr_store_free(s->store);
    scr_specs_free(&s->specs);
    free(s);
}
