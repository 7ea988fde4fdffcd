/* udp_rx.c - receive sFlow datagrams from a UDP socket on the libuv loop.
 *
 * One non-blocking socket (dual-stack [::] by default, falling back to
 * 0.0.0.0), polled for readability with a uv_poll_t and drained with
 * recvmmsg(2) in batches of UDP_BATCH into slots allocated once at open.
 * A callback reads at most UDP_MAX_CALLS batches, then returns to the loop
 * so timers and signals stay responsive; the drain callback runs at the
 * end of every readable callback so the publisher can flush. SO_RXQ_OVFL
 * makes the kernel attach its drop count for the socket to each datagram;
 * the latest value (and SO_MEMINFO's, when read for stats) is exposed as
 * udp_kernel_drops. Nothing here allocates after open; it does not decode.
 * Loop thread only.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <linux/sock_diag.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sfa/clock.h>
#include <sfa/log.h>
#include <sfa/mem.h>

#include "col.h"

#define UDP_BATCH 64     /* datagrams per recvmmsg call */
#define UDP_MAX_CALLS 16 /* recvmmsg calls per readable callback */
#define UDP_SLOT 65536   /* bytes per receive slot: any UDP payload fits */

typedef union udp_ctrl {
    char buf[CMSG_SPACE(sizeof(uint32_t))];
    struct cmsghdr align;
} udp_ctrl;

struct col_udp_rx {
    uv_poll_t poll;
    int fd;
    int port;
    col_rx_cb cb;
    col_drain_cb dcb;
    void *arg;
    col_udp_stats st;
    uint8_t *slots; /* UDP_BATCH * UDP_SLOT */
    struct mmsghdr msgs[UDP_BATCH];
    struct iovec iov[UDP_BATCH];
    struct sockaddr_storage names[UDP_BATCH];
    udp_ctrl ctrl[UDP_BATCH];
};

/* ---- socket set-up ---- */

static int
udp_bind_any(int port, int *fdp)
{
    struct sockaddr_in6 a6;
    struct sockaddr_in a4;
    int fd, off = 0, rc;

    /* Dual-stack first: one socket for IPv4 (as ::ffff:a.b.c.d) and IPv6. */
    fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        memset(&a6, 0, sizeof a6);
        a6.sin6_family = AF_INET6;
        a6.sin6_addr = in6addr_any;
        a6.sin6_port = htons((uint16_t)port);
        if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) == 0 &&
            bind(fd, (struct sockaddr *)&a6, sizeof a6) == 0) {
            *fdp = fd;
            return 0;
        }
        rc = -errno;
        close(fd);
        if (rc == -EADDRINUSE || rc == -EACCES)
            return rc;
    }
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    memset(&a4, 0, sizeof a4);
    a4.sin_family = AF_INET;
    a4.sin_addr.s_addr = htonl(INADDR_ANY);
    a4.sin_port = htons((uint16_t)port);
    if (bind(fd, (struct sockaddr *)&a4, sizeof a4) != 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    *fdp = fd;
    return 0;
}

/* Bind to a named address (numeric or resolvable; start-up only). */
static int
udp_bind_host(const char *host, int port, int *fdp)
{
    struct addrinfo hints, *res = NULL, *ai;
    char service[16];
    int fd = -1, rc;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(service, sizeof service, "%d", port);
    rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) {
        SFA_SEVERE("sflow.hostname: cannot resolve '%s': %s", host, gai_strerror(rc));
        return -EINVAL;
    }
    rc = -EADDRNOTAVAIL;
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            rc = -errno;
            continue;
        }
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        rc = -errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return rc;
    *fdp = fd;
    return 0;
}

static int
udp_get_rcvbuf(int fd)
{
    int v = 0;
    socklen_t n = sizeof v;

    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &n) != 0)
        return 0;
    return v / 2; /* Linux reports twice the request (bookkeeping overhead) */
}

/* Request rcvbuf bytes; past net.core.rmem_max, root may force it. */
static void
udp_set_rcvbuf(col_udp_rx *u, long rcvbuf)
{
    int req = rcvbuf > INT_MAX / 2 ? INT_MAX / 2 : (int)rcvbuf;
    const char *how = "SO_RCVBUF";
    int eff;

    if (rcvbuf <= 0) {
        u->st.rcvbuf = (uint64_t)udp_get_rcvbuf(u->fd);
        SFA_INFO("sflow.rcvbuf: kernel default, %d bytes", (int)u->st.rcvbuf);
        return;
    }
    if (setsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &req, sizeof req) != 0)
        SFA_WARN("sflow.rcvbuf: SO_RCVBUF %d failed: %s", req, strerror(errno));
    eff = udp_get_rcvbuf(u->fd);
    if (eff < req) {
        /* Capped by net.core.rmem_max: SO_RCVBUFFORCE ignores it (CAP_NET_ADMIN). */
        if (setsockopt(u->fd, SOL_SOCKET, SO_RCVBUFFORCE, &req, sizeof req) == 0) {
            how = "SO_RCVBUFFORCE";
            eff = udp_get_rcvbuf(u->fd);
        }
    }
    u->st.rcvbuf = (uint64_t)eff;
    if (eff < req)
        SFA_WARN("sflow.rcvbuf: requested %d bytes, kernel allows %d (raise "
                 "net.core.rmem_max or run with CAP_NET_ADMIN)",
                 req, eff);
    else
        SFA_INFO("sflow.rcvbuf: %d bytes (%s)", eff, how);
}

static void
udp_slots_init(col_udp_rx *u)
{
    u->slots = sfa_xmalloc((size_t)UDP_BATCH * UDP_SLOT);
    for (int i = 0; i < UDP_BATCH; i++) {
        u->iov[i].iov_base = u->slots + (size_t)i * UDP_SLOT;
        u->iov[i].iov_len = UDP_SLOT;
        memset(&u->msgs[i], 0, sizeof u->msgs[i]);
        u->msgs[i].msg_hdr.msg_iov = &u->iov[i];
        u->msgs[i].msg_hdr.msg_iovlen = 1;
        u->msgs[i].msg_hdr.msg_name = &u->names[i];
        u->msgs[i].msg_hdr.msg_namelen = sizeof u->names[i];
        u->msgs[i].msg_hdr.msg_control = u->ctrl[i].buf;
        u->msgs[i].msg_hdr.msg_controllen = sizeof u->ctrl[i].buf;
    }
}

/* ---- receive ---- */

static void
udp_src_addr(const struct sockaddr_storage *ss, sfa_addr *a, uint16_t *port)
{
    memset(a, 0, sizeof *a);
    *port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
        a->family = 4;
        memcpy(a->a, &s4->sin_addr, 4);
        *port = ntohs(s4->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
            a->family = 4;
            memcpy(a->a, &s6->sin6_addr.s6_addr[12], 4);
        } else {
            a->family = 6;
            memcpy(a->a, &s6->sin6_addr, 16);
        }
        *port = ntohs(s6->sin6_port);
    }
}

static void
udp_read_ctrl(col_udp_rx *u, struct msghdr *mh)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
            uint32_t drops;
            memcpy(&drops, CMSG_DATA(c), sizeof drops);
            if (drops > u->st.kernel_drops)
                u->st.kernel_drops = drops;
        }
    }
}

/* Hand n received datagrams on and re-arm their headers for the next call. */
static void
udp_deliver(col_udp_rx *u, int n, uint64_t rx_ms)
{
    sfa_addr src;
    uint16_t port;

    for (int i = 0; i < n; i++) {
        struct mmsghdr *m = &u->msgs[i];
        size_t len = m->msg_len;
        if (m->msg_hdr.msg_controllen > 0)
            udp_read_ctrl(u, &m->msg_hdr);
        if (m->msg_hdr.msg_flags & MSG_TRUNC)
            u->st.truncated++;
        udp_src_addr(&u->names[i], &src, &port);
        u->st.datagrams++;
        u->st.bytes += len;
        u->cb(u->arg, u->iov[i].iov_base, len, &src, port, rx_ms);
        m->msg_hdr.msg_namelen = sizeof u->names[i];
        m->msg_hdr.msg_controllen = sizeof u->ctrl[i].buf;
        m->msg_hdr.msg_flags = 0;
    }
}

static void
udp_on_readable(uv_poll_t *h, int status, int events)
{
    col_udp_rx *u = h->data;
    int n;

    if (status < 0) {
        u->st.errors++;
        return;
    }
    for (int calls = 0; calls < UDP_MAX_CALLS; calls++) {
        n = recvmmsg(u->fd, u->msgs, UDP_BATCH, MSG_DONTWAIT, NULL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                u->st.errors++;
            break;
        }
        u->st.recvmmsg_calls++;
        udp_deliver(u, n, sfa_clock_wall_ms());
        if (n < UDP_BATCH)
            break; /* the socket is empty */
    }
    u->dcb(u->arg);
}

/* ---- lifecycle ---- */

int
col_udp_open(col_udp_rx **out, uv_loop_t *loop, const char *host, int port, long rcvbuf,
             col_rx_cb cb, col_drain_cb dcb, void *arg)
{
    col_udp_rx *u = sfa_xcalloc(1, sizeof *u);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    sfa_addr a;
    uint16_t bound;
    int fd = -1, one = 1, rc;

    u->fd = -1;
    u->cb = cb;
    u->dcb = dcb;
    u->arg = arg;
    rc = (host && host[0]) ? udp_bind_host(host, port, &fd) : udp_bind_any(port, &fd);
    if (rc != 0) {
        SFA_SEVERE("sflow.port: cannot bind UDP %s port %d: %s", host && host[0] ? host : "*", port,
                   sfa_strerror(rc));
        goto fail;
    }
    u->fd = fd;
    if (setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one) != 0)
        SFA_WARN("SO_RXQ_OVFL not available: %s; kernel drops read from SO_MEMINFO only",
                 strerror(errno));
    udp_set_rcvbuf(u, rcvbuf);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        rc = -errno;
        goto fail;
    }
    udp_src_addr(&ss, &a, &bound);
    u->port = bound;
    udp_slots_init(u);
    rc = uv_poll_init_socket(loop, &u->poll, fd);
    if (rc != 0)
        goto fail;
    u->poll.data = u;
    rc = uv_poll_start(&u->poll, UV_READABLE, udp_on_readable);
    if (rc != 0) {
        col_udp_close(u);
        return rc;
    }
    SFA_INFO("Listening, sFlow port %d", u->port);
    *out = u;
    return 0;

fail:
    if (u->fd >= 0)
        close(u->fd);
    free(u->slots);
    free(u);
    return rc;
}

int
col_udp_port(const col_udp_rx *u)
{
    return u->port;
}

void
col_udp_get_stats(const col_udp_rx *u, col_udp_stats *st)
{
    uint32_t mem[SK_MEMINFO_VARS];
    socklen_t n = sizeof mem;

    *st = u->st;
    /* SO_MEMINFO reports drops even when no datagram carried them since. */
    memset(mem, 0, sizeof mem);
    if (getsockopt(u->fd, SOL_SOCKET, SO_MEMINFO, mem, &n) == 0 &&
        n > SK_MEMINFO_DROPS * sizeof(uint32_t) && mem[SK_MEMINFO_DROPS] > st->kernel_drops)
        st->kernel_drops = mem[SK_MEMINFO_DROPS];
}

static void
udp_on_close(uv_handle_t *h)
{
    col_udp_rx *u = h->data;

    close(u->fd);
    free(u->slots);
    free(u);
}

void
col_udp_close(col_udp_rx *u)
{
    if (!u)
        return;
    uv_poll_stop(&u->poll);
    uv_close((uv_handle_t *)&u->poll, udp_on_close);
}
