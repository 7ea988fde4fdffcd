/* bus.c - nng 1.x pub/sub endpoints driven by a libuv loop.
 *
 * A publisher is an nng pub0 socket with listeners; it has no libuv handle
 * at all, because publishing is a non-blocking copy into nng's per-peer
 * queues. A subscriber is a sub0 socket with non-blocking dialers (nng
 * connects and reconnects in the background, 100 ms doubling to 1 s) and a
 * uv_poll_t on nng's receive-notification fd (NNG_OPT_RECVFD). The fd is
 * only polled, never read; each readable callback drains at most
 * BUS_DRAIN_MAX messages so one busy bus cannot starve the loop (the fd
 * stays readable, so the rest is taken on the next iteration). The
 * reversed pair (sfa_bus_sub_listen, sfa_bus_pub_dial) only swaps which
 * side listens and which dials; everything else is the same.
 *
 * The receive callback may close its own bus (the drain loop then stops
 * at the closed socket; the struct lives until the close callback).
 *
 * Threading: every function is called from the loop thread. nng calls the
 * pipe-notification callbacks from its own threads, so the peer count is
 * the only atomic field. Everything nng-1.x-specific lives in this file.
 *
 * Shutdown order: sfa_bus_close() every bus, then let uv_run() finish the
 * close callbacks, then uv_loop_close(). sfa_bus_close() closes the nng
 * socket at once (synchronously, so no nng thread touches the struct
 * afterwards); only the struct itself waits for the poll handle's close
 * callback. If the poll handle was already closed behind the bus's back
 * (a uv_walk() that closes every handle before uv_loop_close()), the
 * struct is freed immediately; that is safe once the loop has run the
 * walker's close to completion, which uv_loop_close() succeeding proves.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>

#include <sfa/bus.h>
#include <sfa/log.h>
#include <sfa/mem.h>

#define BUS_DRAIN_MAX 256      /* messages taken per readable callback */
#define BUS_RECONN_MIN_MS 100  /* first reconnect attempt after a loss */
#define BUS_RECONN_MAX_MS 1000 /* back-off ceiling for reconnects */
/* Largest message a subscriber accepts. nng drops the connection on a
 * bigger one (its default is 1 MiB), and bus.batch.bytes may exceed that. */
#define BUS_RECV_MAX_BYTES ((size_t)64 << 20)

struct sfa_bus {
    nng_socket sock;
    int is_sub;
    int dials;   /* sfa_bus_add_url dials (else listens) */
    int polling; /* poll handle initialised (subscribers only) */
    uv_poll_t poll;
    sfa_bus_recv_cb cb;
    void *arg;
    sfa_bus_stats st;
    atomic_int pipes; /* updated from nng's threads */
};

static void
bus_pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    sfa_bus *bus = arg;

    if (ev == NNG_PIPE_EV_ADD_POST)
        atomic_fetch_add(&bus->pipes, 1);
    else if (ev == NNG_PIPE_EV_REM_POST)
        atomic_fetch_sub(&bus->pipes, 1);
}

static int
bus_nng_err(int rv, const char *what, const char *url)
{
    SFA_WARN("bus: %s %s: %s", what, url ? url : "", nng_strerror(rv));
    return SFA_EBUS;
}

/* Create every missing directory above path (mode 0700), like mkdir -p
 * on dirname(path). Existing directories are left as they are. */
static void
bus_mkdir_parents(const char *path)
{
    char dir[512];
    size_t n = strlen(path);

    if (n >= sizeof dir)
        return;
    memcpy(dir, path, n + 1);
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
            return; /* nng_listen will report the real failure */
        *p = '/';
    }
}

/* For ipc:// URLs: create the parent directory and remove a stale socket
 * file left by a previous run. Only sockets are removed, never a regular
 * file that happens to sit at the path. */
static void
bus_ipc_prepare(const char *url)
{
    const char *path;
    struct stat sb;

    if (strncmp(url, "ipc://", 6) != 0)
        return;
    path = url + 6;
    bus_mkdir_parents(path);
    if (lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode))
        (void)unlink(path);
}

static int
bus_listen(sfa_bus *bus, const char *url)
{
    int rv;

    bus_ipc_prepare(url);
    if ((rv = nng_listen(bus->sock, url, NULL, 0)) != 0)
        return bus_nng_err(rv, "cannot listen on", url);
    return 0;
}

static int
bus_dial(sfa_bus *bus, const char *url)
{
    nng_dialer d;
    int rv;

    if ((rv = nng_dialer_create(&d, bus->sock, url)) != 0)
        return bus_nng_err(rv, "bad address", url);
    (void)nng_dialer_set_ms(d, NNG_OPT_RECONNMINT, BUS_RECONN_MIN_MS);
    (void)nng_dialer_set_ms(d, NNG_OPT_RECONNMAXT, BUS_RECONN_MAX_MS);
    /* Non-blocking: a publisher that is not up yet is retried in the
     * background instead of failing the open. */
    if ((rv = nng_dialer_start(d, NNG_FLAG_NONBLOCK)) != 0) {
        (void)nng_dialer_close(d);
        return bus_nng_err(rv, "cannot dial", url);
    }
    return 0;
}

int
sfa_bus_add_url(sfa_bus *bus, const char *url)
{
    return bus->dials ? bus_dial(bus, url) : bus_listen(bus, url);
}

/* Allocate the struct around an already opened socket and hook up the
 * peer counter. */
static sfa_bus *
bus_new(nng_socket sock, int is_sub)
{
    sfa_bus *bus = sfa_xcalloc(1, sizeof *bus);

    bus->sock = sock;
    bus->is_sub = is_sub;
    bus->dials = is_sub;
    atomic_init(&bus->pipes, 0);
    (void)nng_pipe_notify(sock, NNG_PIPE_EV_ADD_POST, bus_pipe_event, bus);
    (void)nng_pipe_notify(sock, NNG_PIPE_EV_REM_POST, bus_pipe_event, bus);
    return bus;
}

/* Close the socket and free a bus that has no live poll handle. */
static void
bus_free_now(sfa_bus *bus)
{
    (void)nng_close(bus->sock);
    free(bus);
}

/* A publisher whose first endpoint listens (dial 0) or dials (dial 1). */
static int
bus_pub_open(sfa_bus **out, const char *url, int sndbuf, int dial)
{
    nng_socket sock;
    sfa_bus *bus;
    int rv;

    if ((rv = nng_pub0_open(&sock)) != 0)
        return bus_nng_err(rv, "cannot open publisher for", url);
    bus = bus_new(sock, 0);
    bus->dials = dial;
    if ((rv = nng_socket_set_int(sock, NNG_OPT_SENDBUF, sndbuf)) != 0) {
        rv = bus_nng_err(rv, "cannot set send buffer for", url);
        goto fail;
    }
    if ((rv = sfa_bus_add_url(bus, url)) != 0)
        goto fail;
    *out = bus;
    return 0;
fail:
    bus_free_now(bus);
    return rv;
}

int
sfa_bus_pub_open(sfa_bus **out, uv_loop_t *loop, const char *url, int sndbuf)
{
    (void)loop; /* publishing needs no loop handle */
    return bus_pub_open(out, url, sndbuf, 0);
}

int
sfa_bus_pub_dial(sfa_bus **out, uv_loop_t *loop, const char *url, int sndbuf)
{
    (void)loop;
    return bus_pub_open(out, url, sndbuf, 1);
}

static void
bus_poll_cb(uv_poll_t *h, int status, int events)
{
    sfa_bus *bus = h->data;
    nng_msg *msg;

    if (status < 0)
        return; /* nng's fd cannot error; nothing useful to do */
    for (int i = 0; i < BUS_DRAIN_MAX; i++) {
        if (nng_recvmsg(bus->sock, &msg, NNG_FLAG_NONBLOCK) != 0)
            break; /* NNG_EAGAIN: drained */
        bus->st.msgs_recv++;
        bus->st.bytes_recv += nng_msg_len(msg);
        bus->cb(bus, nng_msg_body(msg), nng_msg_len(msg), bus->arg);
        nng_msg_free(msg);
    }
}

static int
bus_start_poll(sfa_bus *bus, uv_loop_t *loop, const char *url)
{
    int fd, rv;

    if ((rv = nng_socket_get_int(bus->sock, NNG_OPT_RECVFD, &fd)) != 0)
        return bus_nng_err(rv, "no receive fd for", url);
    if ((rv = uv_poll_init(loop, &bus->poll, fd)) != 0) {
        SFA_WARN("bus: cannot poll %s: %s", url, uv_strerror(rv));
        return SFA_EBUS;
    }
    bus->poll.data = bus;
    bus->polling = 1;
    (void)uv_poll_start(&bus->poll, UV_READABLE, bus_poll_cb);
    return 0;
}

/* A subscriber whose first endpoint dials (dial 1) or listens (dial 0). */
static int
bus_sub_open(sfa_bus **out, uv_loop_t *loop, const char *url, int rcvbuf, sfa_bus_recv_cb cb,
             void *arg, int dial)
{
    nng_socket sock;
    sfa_bus *bus;
    int rv;

    if ((rv = nng_sub0_open(&sock)) != 0)
        return bus_nng_err(rv, "cannot open subscriber for", url);
    bus = bus_new(sock, 1);
    bus->dials = dial;
    bus->cb = cb;
    bus->arg = arg;
    if ((rv = nng_socket_set_int(sock, NNG_OPT_RECVBUF, rcvbuf)) != 0 ||
        (rv = nng_socket_set_size(sock, NNG_OPT_RECVMAXSZ, BUS_RECV_MAX_BYTES)) != 0) {
        rv = bus_nng_err(rv, "cannot set receive buffer for", url);
        goto fail;
    }
    if ((rv = sfa_bus_add_url(bus, url)) != 0)
        goto fail;
    if ((rv = bus_start_poll(bus, loop, url)) != 0)
        goto fail;
    *out = bus;
    return 0;
fail:
    bus_free_now(bus); /* poll handle is never left initialised here */
    return rv;
}

int
sfa_bus_sub_open(sfa_bus **out, uv_loop_t *loop, const char *url, int rcvbuf, sfa_bus_recv_cb cb,
                 void *arg)
{
    return bus_sub_open(out, loop, url, rcvbuf, cb, arg, 1);
}

int
sfa_bus_sub_listen(sfa_bus **out, uv_loop_t *loop, const char *url, int rcvbuf, sfa_bus_recv_cb cb,
                   void *arg)
{
    return bus_sub_open(out, loop, url, rcvbuf, cb, arg, 0);
}

int
sfa_bus_subscribe(sfa_bus *bus, const void *prefix, size_t len)
{
    int rv = nng_socket_set(bus->sock, NNG_OPT_SUB_SUBSCRIBE, prefix, len);

    return rv ? bus_nng_err(rv, "cannot subscribe", NULL) : 0;
}

int
sfa_bus_unsubscribe(sfa_bus *bus, const void *prefix, size_t len)
{
    int rv = nng_socket_set(bus->sock, NNG_OPT_SUB_UNSUBSCRIBE, prefix, len);

    return rv ? bus_nng_err(rv, "cannot unsubscribe", NULL) : 0;
}

int
sfa_bus_publish(sfa_bus *bus, const void *msg, size_t len)
{
    /* nng_send copies the buffer (no NNG_FLAG_ALLOC), so msg stays the
     * caller's either way. pub0 never blocks; it drops for slow peers. */
    if (nng_send(bus->sock, (void *)msg, len, NNG_FLAG_NONBLOCK) != 0) {
        bus->st.send_failed++;
        return SFA_EBUS;
    }
    bus->st.msgs_sent++;
    bus->st.bytes_sent += len;
    return 0;
}

void
sfa_bus_get_stats(const sfa_bus *bus, sfa_bus_stats *st)
{
    int pipes = atomic_load(&((sfa_bus *)bus)->pipes);

    *st = bus->st;
    st->pipes = pipes > 0 ? (uint64_t)pipes : 0;
}

static void
bus_close_cb(uv_handle_t *h)
{
    free(h->data);
}

void
sfa_bus_close(sfa_bus *bus)
{
    if (!bus)
        return;
    /* Stop the notifications first so no nng thread calls back into a
     * struct that is about to go; nng_close then waits for every pipe. */
    (void)nng_pipe_notify(bus->sock, NNG_PIPE_EV_ADD_POST, NULL, NULL);
    (void)nng_pipe_notify(bus->sock, NNG_PIPE_EV_REM_POST, NULL, NULL);
    if (!bus->polling || uv_is_closing((uv_handle_t *)&bus->poll)) {
        bus_free_now(bus);
        return;
    }
    /* uv_close removes the fd from the loop's poller immediately, so the
     * fd may be closed by nng right after. */
    uv_close((uv_handle_t *)&bus->poll, bus_close_cb);
    (void)nng_close(bus->sock);
}

/* tcp://host:port -> tcp://host:<port+lane>; the port is after the last
 * ':' so IPv6 literals ("tcp://[::1]:6500") work. */
static int
bus_lane_tcp(char *out, size_t cap, const char *base, int lane)
{
    const char *colon = strrchr(base, ':');
    char *end;
    long port;
    int n;

    if (!colon || colon < base + 6)
        return SFA_EFORMAT;
    port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end != '\0' || port <= 0)
        return SFA_EFORMAT;
    if (port + lane > 65535)
        return SFA_ELIMIT;
    n = snprintf(out, cap, "%.*s:%ld", (int)(colon - base), base, port + lane);
    return n < 0 || (size_t)n >= cap ? SFA_ELIMIT : 0;
}

/* Errors beyond the header's SFA_ELIMIT: -EINVAL for a lane outside
 * [0, lanes), SFA_EFORMAT for a tcp:// URL without a numeric port. out is
 * written only on success (the URL is built in a scratch buffer). */
int
sfa_bus_lane_url(char *out, size_t cap, const char *base, int lane, int lanes)
{
    char tmp[512];
    size_t len;
    int rv = 0, n;

    if (lanes < 1 || lane < 0 || lane >= lanes)
        return -EINVAL;
    if (lanes == 1)
        n = snprintf(tmp, sizeof tmp, "%s", base);
    else if (strncmp(base, "tcp://", 6) == 0)
        n = (rv = bus_lane_tcp(tmp, sizeof tmp, base, lane)) == 0 ? (int)strlen(tmp) : 0;
    else /* ipc:// and inproc:// name a path: add a suffix */
        n = snprintf(tmp, sizeof tmp, "%s.%d", base, lane);
    if (rv != 0)
        return rv;
    if (n < 0 || (size_t)n >= sizeof tmp || (len = (size_t)n) >= cap)
        return SFA_ELIMIT;
    memcpy(out, tmp, len + 1);
    return 0;
}
