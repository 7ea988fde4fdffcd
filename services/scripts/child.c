/* child.c - the script child process: `sfa-scripts --child`.
 *
 * Started by the supervisor with its socket as fd 3. Reads the init frame
 * (script, gateway address, limits, properties), caps its address space
 * (a backstop behind the heap allocator's own limit; skipped under
 * AddressSanitizer, which reserves far more), runs the script's top level,
 * then loops: frames from the supervisor (events, HTTP requests) are
 * dispatched one at a time, and the interval and flow-record timers run
 * between them. Each callback is framed by busy/idle messages for the
 * supervisor's watchdog, which kills the process when one runs too long.
 *
 * Exit status: 0 when the script has no handler left (sFlow-RT's graceful
 * exit) or the supervisor closed the socket; SCR_EXIT_ERROR when the file
 * does not load or its top level throws; SCR_EXIT_HEAP / SCR_EXIT_FATAL
 * from jsrt.c; 2 on a broken start (no init frame). One thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <sfa/log.h>
#include <sfa/mem.h>

#include "child.h"

#if defined(__SANITIZE_ADDRESS__)
#define CHILD_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CHILD_ASAN 1
#endif
#endif

#define CHILD_INIT_WAIT_MS 10000
#define CHILD_RETRY_REFUSED_MS 5000 /* the gateway may start after us */
#define CHILD_AS_SLACK (256ul << 20)

static scr_child child_state;

scr_child *
scr_child_get(void)
{
    return &child_state;
}

/* ---- the socket ---- */

void
child_send(scr_child *c, const json_t *msg)
{
    if (scr_send(c->fd, msg) != 0) {
        /* The supervisor is gone; the next read sees EOF. */
    }
}

/* Next frame: 1 (*out new), 0 on timeout, -1 at EOF or a broken stream. */
static int
child_read(scr_child *c, int timeout_ms, json_t **out)
{
    char buf[65536];

    for (;;) {
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        int rc = scr_framer_next(&c->in, out), n;
        ssize_t r;

        if (rc == 1)
            return 1;
        if (c->in.bad || c->eof)
            return -1;
        n = poll(&p, 1, timeout_ms);
        if (n == 0)
            return 0;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        r = read(c->fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            c->eof = 1;
            return -1;
        }
        scr_framer_feed(&c->in, buf, (size_t)r);
    }
}

json_t *
child_call(scr_child *c, json_t *msg)
{
    json_t *f, *v;

    child_send(c, msg);
    json_decref(msg);
    while (child_read(c, -1, &f) == 1) {
        const char *t = json_string_value(json_object_get(f, "t"));
        if (t && strcmp(t, "ret") == 0) {
            v = json_object_get(f, "value");
            v = v ? json_incref(v) : json_null();
            json_decref(f);
            return v;
        }
        json_array_append_new(c->queue, f);
    }
    return NULL;
}

void
child_busy(scr_child *c, const char *what)
{
    json_t *m = json_pack("{s:s, s:s}", "t", "busy", "what", what);

    child_send(c, m);
    json_decref(m);
}

void
child_idle(scr_child *c)
{
    json_t *m = json_pack("{s:s, s:I, s:I}", "t", "idle", "flowsReceived",
                          (json_int_t)c->flows_received, "flowsLost", (json_int_t)c->flows_lost);

    child_send(c, m);
    json_decref(m);
}

void
child_handlers_changed(scr_child *c)
{
    json_t *m = json_pack("{s:s, s:b, s:b, s:b, s:b}", "t", "handlers", "event", c->has_event,
                          "http", c->has_http, "interval", c->has_interval, "flow", c->has_flow);

    child_send(c, m);
    json_decref(m);
}

/* ---- start ---- */

static int
child_init(scr_child *c)
{
    json_t *init = NULL;
    const char *s;
    char *tmp;

    if (child_read(c, CHILD_INIT_WAIT_MS, &init) != 1)
        return -1;
    s = json_string_value(json_object_get(init, "t"));
    if (!s || strcmp(s, "init") != 0 || !json_is_string(json_object_get(init, "path"))) {
        json_decref(init);
        return -1;
    }
    c->path = sfa_xstrdup(json_string_value(json_object_get(init, "path")));
    s = json_string_value(json_object_get(init, "name"));
    c->name = sfa_xstrdup(s ? s : c->path);
    s = json_string_value(json_object_get(init, "app"));
    c->app = sfa_xstrdup(s ? s : "");
    tmp = sfa_xstrdup(c->path);
    c->dir = sfa_xstrdup(dirname(tmp));
    free(tmp);
    s = json_string_value(json_object_get(init, "gateway"));
    snprintf(c->gateway, sizeof c->gateway, "%s", s ? s : "http://127.0.0.1:8008");
    c->http_timeout_ms = (long)json_integer_value(json_object_get(init, "httpTimeout"));
    if (c->http_timeout_ms <= 0)
        c->http_timeout_ms = 5000;
    c->retry_ms = CHILD_RETRY_REFUSED_MS;
    c->heap_limit = (size_t)json_integer_value(json_object_get(init, "heapMb")) << 20;
    if (c->heap_limit == 0)
        c->heap_limit = (size_t)64 << 20;
    sfa_log_init("scripts", (int)json_integer_value(json_object_get(init, "logLevel")));
    c->props = json_incref(json_object_get(init, "props"));
    if (!json_is_object(c->props)) {
        json_decref(c->props);
        c->props = json_object();
    }
    json_decref(init);
    return 0;
}

static void
child_limits(const scr_child *c)
{
#ifndef CHILD_ASAN
    struct rlimit rl;
    unsigned long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (f) {
        if (fscanf(f, "%lu", &pages) != 1)
            pages = 0;
        fclose(f);
    }
    rl.rlim_cur = rl.rlim_max =
        (rlim_t)(pages * (unsigned long)sysconf(_SC_PAGESIZE) + 2 * c->heap_limit + CHILD_AS_SLACK);
    if (setrlimit(RLIMIT_AS, &rl) != 0)
        SFA_FINE("%s: cannot cap the address space: %s", c->name, strerror(errno));
#else
    (void)c;
#endif
}

/* Run the top level; exits on failure. */
static void
child_load(scr_child *c)
{
    char err[1024];
    json_t *m;

    child_busy(c, "load");
    if (jsrt_eval_file(c, c->path) != DUK_EXEC_SUCCESS) {
        jsrt_check_heap(c, 1);
        jsrt_error_text(c->ctx, -1, err, sizeof err);
        SFA_SEVERE("%s: %s", c->name, err);
        m = json_pack("{s:s, s:s}", "t", "error", "text", err);
        child_send(c, m);
        json_decref(m);
        exit(SCR_EXIT_ERROR);
    }
    duk_pop(c->ctx);
    jsrt_check_heap(c, 0);
    child_idle(c);
    SFA_INFO("%s started", c->name);
}

static void
child_loop(scr_child *c)
{
    for (;;) {
        json_t *f;
        int wait, rc;

        if (!c->has_event && !c->has_flow && !c->has_interval && !c->has_http) {
            SFA_INFO("%s finished: no handler left", c->name);
            return;
        }
        if (json_array_size(c->queue) > 0) {
            f = json_incref(json_array_get(c->queue, 0));
            json_array_remove(c->queue, 0);
            js_dispatch(c, f);
            continue;
        }
        wait = js_timers(c);
        if (!c->has_event && !c->has_flow && !c->has_interval && !c->has_http)
            continue; /* a timer's handler cleared the last handler */
        rc = child_read(c, wait, &f);
        if (rc < 0)
            return;
        if (rc == 1)
            js_dispatch(c, f);
    }
}

int
scr_child_main(void)
{
    scr_child *c = &child_state;

    c->fd = SCR_IPC_FD;
    /* libuv may hand the socket over non-blocking; writes here block. */
    (void)fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) & ~O_NONBLOCK);
    c->queue = json_array();
    c->flow_cursor = -2;
    scr_framer_init(&c->in);
    /* The supervisor's death must not leave scripts running. */
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
    signal(SIGPIPE, SIG_IGN);
    if (child_init(c) != 0) {
        SFA_SEVERE("script child: no init message from the supervisor");
        return 2;
    }
    child_limits(c);
    if (jsrt_open(c) != 0) {
        SFA_SEVERE("%s: cannot create a JavaScript heap", c->name);
        return SCR_EXIT_FATAL;
    }
    child_load(c);
    child_loop(c);
    jsrt_close(c);
    json_decref(c->queue);
    json_decref(c->props);
    json_decref(c->event_filter);
    json_decref(c->flow_filter);
    scr_framer_fini(&c->in);
    free(c->path);
    free(c->name);
    free(c->app);
    free(c->dir);
    return 0;
}
