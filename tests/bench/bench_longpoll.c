/* bench_longpoll.c - 1,000 parked /events/json long-polls against the
 * whole suite (prints numbers, asserts nothing; not a test).
 *
 * Runs the suite under the launcher (BUILD/sfa replaying fabric-demo.pcap
 * at its pace in a loop, HTTP on an ephemeral 127.0.0.1 port, ipc:// under
 * a temporary directory), defines the seed's elephant flow, then, in one
 * libuv loop:
 *
 *   1. baseline: latency of other REST requests (GET /threshold/json,
 *      /flow/elephant/json, /events/json without timeout,
 *      /activeflows/ALL/elephant/json), one at a time on a keep-alive
 *      connection;
 *   2. opens CONNS connections that each long-poll
 *      /events/json?eventID=-1&thresholdID=trigger&timeout=60 (no such
 *      event yet, so every one is parked; at most 64 connects in flight)
 *      and measures the same requests again while they are held;
 *   3. PUTs threshold `trigger` (elephant above 10 Mbit/s, byFlow): the
 *      events service fires within a metrics report, and every parked poll
 *      returns. For every poll it takes the wall-clock time its first
 *      response byte was read and prints the distribution (first, median,
 *      p99, last) relative to the first event's creation (its timestamp,
 *      set by sfa-events, ms resolution) and to the PUT, plus the
 *      gateway's own time to answer them all (/sfa/v1/stats: wake_n,
 *      wake_us).
 *
 * The client's own processing (one read callback per response) is inside
 * the numbers, so they are upper bounds. The load average is printed: the
 * machine is shared. Usage:
 *   bench_longpoll [BUILD_DIR] [--conns N] [--requests N]
 * Also run by `meson test --benchmark longpoll`.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#ifndef BENCH_DATA_DIR
#define BENCH_DATA_DIR "tests/data"
#endif

#define CONNECTS_IN_FLIGHT 64
#define POLL_PATH "/events/json?eventID=-1&thresholdID=trigger&maxEvents=10&timeout=60"

static const char *const bench_paths[] = {
    "/threshold/json",
    "/flow/elephant/json",
    "/events/json?eventID=-1&maxEvents=10",
    "/activeflows/ALL/elephant/json?maxFlows=5",
};
#define NPATHS (sizeof bench_paths / sizeof bench_paths[0])

static double
wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double
mono_ms(void)
{
    return (double)uv_hrtime() / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* p-th percentile of v[0..n) (sorts v). */
static double
pct(double *v, size_t n, double p)
{
    if (n == 0)
        return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    return v[(size_t)lround(p / 100.0 * (double)(n - 1))];
}

/* ---- a blocking HTTP/1.1 exchange (setup and teardown only) ---- */

/* Send one request with Connection: close; returns the status (-1 on a
 * socket error) and the body in *body (malloc'd, NUL-terminated) if asked. */
static int
http_sync(int port, const char *method, const char *path, const char *json, char **body)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    char req[1024], *buf = NULL;
    size_t len = 0, cap = 0;
    int fd, status = -1, n;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
        return -1;
    n = snprintf(req, sizeof req,
                 "%s %s HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n"
                 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                 method, path, json ? strlen(json) : 0, json ? json : "");
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 || write(fd, req, (size_t)n) != n)
        goto out;
    for (;;) {
        if (len + 4096 + 1 > cap)
            buf = realloc(buf, cap = cap * 2 + 8192);
        ssize_t r = read(fd, buf + len, cap - len - 1);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    if (buf)
        buf[len] = '\0';
    if (buf && len > 12 && sscanf(buf, "HTTP/1.%*d %d", &status) == 1 && body) {
        char *p = strstr(buf, "\r\n\r\n");
        *body = strdup(p ? p + 4 : "");
    }
out:
    free(buf);
    close(fd);
    return status;
}

/* ---- libuv HTTP client connections ---- */

typedef struct bench bench;

typedef struct hc {
    uv_tcp_t tcp; /* data = this */
    uv_connect_t connect;
    uv_write_t write;
    bench *b;
    char *buf; /* response bytes of the current request */
    size_t len, cap;
    int status;     /* of the complete response, 0 while incomplete */
    double t_first; /* wall time the first byte of the response was read */
    double t_sent;  /* monotonic ms the request was written */
    void (*done)(struct hc *);
    int closed;
} hc;

struct bench {
    uv_loop_t loop;
    int port;
    size_t conns, requests;
    /* parked polls */
    hc *polls;
    size_t connecting, opened, polls_done;
    /* sequential requests */
    hc seq;
    size_t seq_i, seq_n;
    double *lat[NPATHS + 1]; /* per path, and [NPATHS] all */
    size_t nlat[NPATHS + 1];
    uv_timer_t timer;
    double t_put;
};

static void
hc_alloc(uv_handle_t *h, size_t hint, uv_buf_t *out)
{
    hc *c = h->data;
    (void)hint;
    if (c->cap - c->len < 4096)
        c->buf = realloc(c->buf, c->cap = c->cap * 2 + 8192);
    *out = uv_buf_init(c->buf + c->len, (unsigned)(c->cap - c->len - 1));
}

/* Is a whole response in c->buf? Sets c->status; leaves any extra bytes. */
static int
hc_complete(hc *c)
{
    char *end, *cl;
    long clen = 0;

    c->buf[c->len] = '\0';
    if (!(end = strstr(c->buf, "\r\n\r\n")))
        return 0;
    for (cl = c->buf; (cl = strcasestr(cl, "\r\ncontent-length:")) && cl < end; cl++)
        clen = strtol(cl + 17, NULL, 10);
    if ((size_t)(end + 4 - c->buf) + (size_t)clen > c->len)
        return 0;
    if (sscanf(c->buf, "HTTP/1.%*d %d", &c->status) != 1)
        c->status = -1;
    return 1;
}

static void
hc_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    hc *c = s->data;
    (void)buf;

    if (n < 0) {
        if (!c->status)
            c->status = -1;
        uv_read_stop(s);
        if (c->done)
            c->done(c);
        return;
    }
    if (n > 0 && c->len == 0)
        c->t_first = wall_now();
    c->len += (size_t)n;
    if (c->len > 0 && hc_complete(c) && c->done)
        c->done(c);
}

static void
hc_on_write(uv_write_t *w, int status)
{
    hc *c = w->data;
    if (status < 0) {
        c->status = -1;
        if (c->done)
            c->done(c);
    }
}

/* Send req on c (borrowed: it must outlive the write). */
static void
hc_send(hc *c, const char *req)
{
    uv_buf_t b = uv_buf_init((char *)req, (unsigned)strlen(req));
    c->len = 0;
    c->status = 0;
    c->t_sent = mono_ms();
    c->write.data = c;
    if (uv_write(&c->write, (uv_stream_t *)&c->tcp, &b, 1, hc_on_write) != 0) {
        c->status = -1;
        if (c->done)
            c->done(c);
    }
}

static void
hc_on_closed(uv_handle_t *h)
{
    hc *c = h->data;
    c->closed = 1;
}

static void
hc_close(hc *c)
{
    if (!uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, hc_on_closed);
}

/* Connect c; on_connect is called with status. */
static int
hc_open(bench *b, hc *c, uv_connect_cb on_connect)
{
    struct sockaddr_in a;

    c->b = b;
    uv_ip4_addr("127.0.0.1", b->port, &a);
    uv_tcp_init(&b->loop, &c->tcp);
    c->tcp.data = c;
    c->connect.data = c;
    return uv_tcp_connect(&c->connect, &c->tcp, (struct sockaddr *)&a, on_connect);
}

/* ---- phase 1 and 2: sequential requests on one keep-alive connection ---- */

static char bench_reqs[NPATHS][256];

static void seq_next(bench *b);

static void
seq_done(hc *c)
{
    bench *b = c->b;
    size_t p = b->seq_i % NPATHS;
    double ms = mono_ms() - c->t_sent;

    if (c->status != 200)
        printf("unexpected status %d for %s\n", c->status, bench_paths[p]);
    b->lat[p][b->nlat[p]++] = ms;
    b->lat[NPATHS][b->nlat[NPATHS]++] = ms;
    b->seq_i++;
    c->len = 0;
    if (c->status < 0 || b->seq_i == b->seq_n) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        hc_close(c);
        uv_stop(&b->loop);
        return;
    }
    seq_next(b);
}

static void
seq_next(bench *b)
{
    hc_send(&b->seq, bench_reqs[b->seq_i % NPATHS]);
}

static void
seq_on_connect(uv_connect_t *req, int status)
{
    hc *c = req->data;
    if (status < 0) {
        printf("connect: %s\n", uv_strerror(status));
        uv_stop(&c->b->loop);
        return;
    }
    uv_read_start((uv_stream_t *)&c->tcp, hc_alloc, hc_on_read);
    seq_next(c->b);
}

static void
measure(bench *b, const char *name)
{
    for (size_t p = 0; p <= NPATHS; p++)
        b->nlat[p] = 0;
    memset(&b->seq, 0, sizeof b->seq);
    b->seq.done = seq_done;
    b->seq_i = 0;
    b->seq_n = b->requests;
    if (hc_open(b, &b->seq, seq_on_connect) != 0)
        return;
    uv_run(&b->loop, UV_RUN_DEFAULT);
    while (!b->seq.closed)
        uv_run(&b->loop, UV_RUN_ONCE);
    free(b->seq.buf);
    size_t n = b->nlat[NPATHS];
    double *all = b->lat[NPATHS];
    printf("%s\n  all %zu requests: p50 %.2f ms  p99 %.2f ms  max %.2f ms\n", name, n,
           pct(all, n, 50), pct(all, n, 99), pct(all, n, 100));
    for (size_t p = 0; p < NPATHS; p++)
        printf("  %-44s p50 %.2f ms  p99 %.2f ms\n", bench_paths[p], pct(b->lat[p], b->nlat[p], 50),
               pct(b->lat[p], b->nlat[p], 99));
}

/* ---- phase 2 and 3: the parked polls ---- */

static void polls_connect_more(bench *b);

static void
poll_done(hc *c)
{
    bench *b = c->b;
    uv_read_stop((uv_stream_t *)&c->tcp);
    hc_close(c);
    if (++b->polls_done == b->conns)
        uv_stop(&b->loop);
}

static void
poll_on_connect(uv_connect_t *req, int status)
{
    hc *c = req->data;
    bench *b = c->b;

    b->connecting--;
    if (status < 0) {
        printf("poll connect: %s\n", uv_strerror(status));
        c->status = -1;
        poll_done(c);
    } else {
        uv_read_start((uv_stream_t *)&c->tcp, hc_alloc, hc_on_read);
        hc_send(c, "GET " POLL_PATH " HTTP/1.1\r\nHost: bench\r\n\r\n");
    }
    polls_connect_more(b);
}

static void
polls_connect_more(bench *b)
{
    while (b->opened < b->conns && b->connecting < CONNECTS_IN_FLIGHT) {
        hc *c = &b->polls[b->opened++];
        c->done = poll_done;
        b->connecting++;
        if (hc_open(b, c, poll_on_connect) != 0) {
            b->connecting--;
            c->status = -1;
            b->polls_done++;
        }
    }
    if (b->opened == b->conns && b->connecting == 0)
        uv_stop(&b->loop);
}

static void
timer_stop_loop(uv_timer_t *t)
{
    uv_stop(t->loop);
}

static void
run_for(bench *b, uint64_t ms)
{
    uv_timer_start(&b->timer, timer_stop_loop, ms, 0);
    uv_run(&b->loop, UV_RUN_DEFAULT);
    uv_timer_stop(&b->timer);
}

static int
gateway_events_stat(bench *b, const char *name, json_int_t *out)
{
    char *body = NULL;
    json_t *j;
    int rc = -1;

    if (http_sync(b->port, "GET", "/sfa/v1/stats", NULL, &body) != 200)
        goto out;
    j = json_loads(body, 0, NULL);
    json_t *v = json_object_get(json_object_get(json_object_get(j, "gateway"), "events"), name);
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        rc = 0;
    }
    json_decref(j);
out:
    free(body);
    return rc;
}

/* First event timestamp (s) over every response; NAN if none. Counts the
 * responses with events and the events in them. */
static double
first_event_ts(const bench *b, size_t *with_events, size_t *events)
{
    double first = NAN;

    *with_events = *events = 0;
    for (size_t i = 0; i < b->conns; i++) {
        const hc *c = &b->polls[i];
        const char *p = c->status == 200 ? strstr(c->buf, "\r\n\r\n") : NULL;
        json_t *arr = p ? json_loads(p + 4, 0, NULL) : NULL, *e;
        size_t k;

        if (json_array_size(arr) > 0)
            (*with_events)++;
        *events += json_array_size(arr);
        json_array_foreach(arr, k, e)
        {
            double ts = (double)json_integer_value(json_object_get(e, "timestamp")) / 1000.0;
            if (ts > 0 && !(ts >= first))
                first = ts;
        }
        json_decref(arr);
    }
    return first;
}

static void
report_polls(bench *b)
{
    size_t with_events = 0, events = 0, n = 0;
    double ts = first_event_ts(b, &with_events, &events);
    double *rel = calloc(b->conns, sizeof *rel), *put = calloc(b->conns, sizeof *put);
    json_int_t wake_n = -1, wake_us = -1;

    for (size_t i = 0; i < b->conns; i++)
        if (b->polls[i].status == 200) {
            rel[n] = (b->polls[i].t_first - ts) * 1000.0;
            put[n++] = (b->polls[i].t_first - b->t_put) * 1000.0;
        }
    printf("responses: %zu of %zu, with events: %zu (%.1f events each)\n", n, b->conns, with_events,
           with_events ? (double)events / (double)with_events : 0.0);
    if (isnan(ts)) {
        printf("no events came back\n");
        goto out;
    }
    printf("threshold PUT -> first event created: %.0f ms\n", (ts - b->t_put) * 1000.0);
    printf("first event created -> response arrived:  first %.1f  median %.1f  p99 %.1f  "
           "last %.1f ms\n",
           pct(rel, n, 0), pct(rel, n, 50), pct(rel, n, 99), pct(rel, n, 100));
    printf("threshold PUT -> response arrived:        first %.1f  median %.1f  p99 %.1f  "
           "last %.1f ms\n",
           pct(put, n, 0), pct(put, n, 50), pct(put, n, 99), pct(put, n, 100));
    printf("first -> last of the %zu responses: %.1f ms\n", n, rel[n - 1] - rel[0]);
    if (gateway_events_stat(b, "wake_n", &wake_n) == 0 &&
        gateway_events_stat(b, "wake_us", &wake_us) == 0)
        printf("gateway side: %lld parked requests answered in %.1f ms (wake_n, wake_us)\n",
               (long long)wake_n, (double)wake_us / 1000.0);
out:
    free(rel);
    free(put);
}

static void
trigger_done(hc *c)
{
    if (c->status != 204)
        printf("PUT /threshold/trigger/json: status %d\n", c->status);
    uv_read_stop((uv_stream_t *)&c->tcp);
    hc_close(c);
}

static void
trigger_on_connect(uv_connect_t *req, int status)
{
    static const char spec[] =
        "{\"metric\":\"elephant\",\"value\":1250000,\"byFlow\":true,\"timeout\":60}";
    static char put[512];
    hc *c = req->data;

    if (status < 0) {
        printf("trigger connect: %s\n", uv_strerror(status));
        return;
    }
    snprintf(put, sizeof put,
             "PUT /threshold/trigger/json HTTP/1.1\r\nHost: bench\r\n"
             "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
             strlen(spec), spec);
    uv_read_start((uv_stream_t *)&c->tcp, hc_alloc, hc_on_read);
    c->b->t_put = wall_now();
    hc_send(c, put);
}

static void
bench_run(bench *b)
{
    hc trig;
    json_int_t waiting = -1;
    double t0;
    size_t early;

    for (size_t p = 0; p < NPATHS; p++)
        snprintf(bench_reqs[p], sizeof bench_reqs[p], "GET %s HTTP/1.1\r\nHost: bench\r\n\r\n",
                 bench_paths[p]);
    for (size_t p = 0; p <= NPATHS; p++)
        b->lat[p] = calloc(b->requests, sizeof(double));
    uv_timer_init(&b->loop, &b->timer);

    measure(b, "other requests, nothing parked:");

    b->polls = calloc(b->conns, sizeof *b->polls);
    t0 = mono_ms();
    polls_connect_more(b);
    uv_run(&b->loop, UV_RUN_DEFAULT);
    run_for(b, 1000);
    early = b->polls_done;
    gateway_events_stat(b, "waiting", &waiting);
    printf("%zu long-polls opened in %.2f s; answered before any event: %zu; "
           "parked at the gateway: %lld\n",
           b->conns, (mono_ms() - t0) / 1000.0 - 1.0, early, (long long)waiting);

    char name[80];
    snprintf(name, sizeof name, "other requests, %zu long-polls parked:", b->conns);
    measure(b, name);

    memset(&trig, 0, sizeof trig);
    trig.done = trigger_done;
    if (hc_open(b, &trig, trigger_on_connect) == 0) {
        uv_timer_start(&b->timer, timer_stop_loop, 60000, 0);
        uv_run(&b->loop, UV_RUN_DEFAULT); /* until every poll is answered */
        uv_timer_stop(&b->timer);
        report_polls(b);
    }
    for (size_t i = 0; i < b->opened; i++)
        hc_close(&b->polls[i]);
    hc_close(&trig);
    uv_close((uv_handle_t *)&b->timer, NULL);
    uv_run(&b->loop, UV_RUN_DEFAULT);
    for (size_t i = 0; i < b->conns; i++)
        free(b->polls[i].buf);
    free(trig.buf);
    free(b->polls);
    for (size_t p = 0; p <= NPATHS; p++)
        free(b->lat[p]);
}

/* ---- the suite ---- */

static int
free_tcp_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static pid_t
suite_start(const char *build, const char *work, int port)
{
    char exe[4096], file[4096], http[64], run[4200], state[4200], log[4200];
    pid_t pid;

    snprintf(exe, sizeof exe, "%s/sfa", build);
    snprintf(file, sizeof file, "-Dsflow.file=%s/fabric-demo.pcap", BENCH_DATA_DIR);
    snprintf(http, sizeof http, "-Dhttp.port=%d", port);
    snprintf(run, sizeof run, "-Dsfa.rundir=%s/run", work);
    snprintf(state, sizeof state, "-Dsfa.state=%s/state", work);
    snprintf(log, sizeof log, "%s/sfa.log", work);
    if ((pid = fork()) == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(exe, exe, file, "-Dsflow.file.loop=yes", "-Dsflow.port=0", http,
              "-Dhttp.hostname=127.0.0.1", run, state, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void
suite_stop(pid_t pid)
{
    int status;

    kill(pid, SIGTERM);
    for (int i = 0; i < 200; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return;
        usleep(100000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* Print the suite log's sanitizer reports, if any (ASan builds). */
static void
suite_log_check(const char *work)
{
    char path[4200], line[1024];
    FILE *f;
    int n = 0;

    snprintf(path, sizeof path, "%s/sfa.log", work);
    if (!(f = fopen(path, "r")))
        return;
    while (fgets(line, sizeof line, f))
        if (strstr(line, "Sanitizer") || strstr(line, "runtime error:"))
            if (n++ < 5)
                printf("suite log: %s", line);
    fclose(f);
    if (n)
        printf("%d sanitizer report lines in the suite's log\n", n);
}

static int
suite_ready(int port)
{
    for (int i = 0; i < 300; i++) {
        if (http_sync(port, "GET", "/threshold/json", NULL, NULL) == 200)
            return 1;
        usleep(100000);
    }
    return 0;
}

int
main(int argc, char **argv)
{
    const char *build = "build";
    char work[] = "/tmp/sfa-bench-lp-XXXXXX";
    bench b;
    struct rlimit rl;
    pid_t pid;
    double load[3] = {0};

    memset(&b, 0, sizeof b);
    b.conns = 1000;
    b.requests = 3000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--conns") == 0 && i + 1 < argc)
            b.conns = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--requests") == 0 && i + 1 < argc)
            b.requests = strtoul(argv[++i], NULL, 10);
        else if (argv[i][0] != '-')
            build = argv[i];
        else {
            fprintf(stderr, "usage: bench_longpoll [BUILD_DIR] [--conns N] [--requests N]\n");
            return 1;
        }
    }
    if (b.conns < 1 || b.requests < NPATHS)
        return 1;
    /* Room for the polls here and, inherited, at the gateway. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    if (!mkdtemp(work) || (b.port = free_tcp_port()) < 0 ||
        (pid = suite_start(build, work, b.port)) < 0) {
        perror("bench_longpoll: setup");
        return 1;
    }
    if (!suite_ready(b.port)) {
        printf("the suite did not answer (see %s/sfa.log)\n", work);
        suite_stop(pid);
        return 1;
    }
    http_sync(b.port, "PUT", "/flow/elephant/json",
              "{\"keys\":\"ipsource,ipdestination\",\"value\":\"bytes\"}", NULL);
    sleep(3); /* let the flow build up */
    uv_loop_init(&b.loop);
    bench_run(&b);
    uv_loop_close(&b.loop);
    if (getloadavg(load, 3) == 3)
        printf("load average: %.2f %.2f %.2f\n", load[0], load[1], load[2]);
    suite_stop(pid);
    suite_log_check(work);
    nftw(work, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
