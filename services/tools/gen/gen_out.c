/* gen_out.c - sfa-gen's outputs: a UDP sender batching with sendmmsg and
 * pacing batches to the simulated clock, and a classic pcap writer.
 *
 * UDP: datagrams are copied into up to `batch` preallocated slots and sent
 * with one sendmmsg(2) on a connected socket. When paced, a batch is sent no
 * earlier than the due time of its last datagram (clock_nanosleep on
 * CLOCK_MONOTONIC, absolute), and a batch never spans more than 2 ms of
 * simulated time, so the stream stays even. Partial sends are continued,
 * ENOBUFS/EAGAIN is retried after a short pause (and eventually dropped),
 * ECONNREFUSED (no listener) is counted and the datagram retried.
 *
 * pcap: the classic format (magic 0xa1b2c3d4 in host order, version 2.4,
 * LINKTYPE_ETHERNET, microsecond timestamps) written by hand into a 1 MiB
 * buffer. Each datagram becomes Ethernet + IPv4 (or IPv6 for an IPv6 agent)
 * + UDP to port 6343, from the agent address to 127.0.0.1 (or ::1),
 * timestamped start-of-run wall time + simulated time. Single-threaded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sfa/mem.h>

#include "gen_encode.h"
#include "gen_out.h"

#define OUT_SLACK_S 0.002
#define OUT_LATE_S 0.005
#define OUT_PCAP_BUF (1u << 20)
#define OUT_FRAME_MAX (14 + 40 + 8 + GEN_MAX_DGRAM)
#define OUT_ENOBUFS_TRIES 1000

enum { OUT_UDP = 1, OUT_PCAP = 2 };

struct gen_out {
    int kind;
    int paced;
    const volatile sig_atomic_t *stop;
    struct timespec start_mono;
    double start_wall;
    gen_out_stats st;

    /* UDP */
    int fd;
    uint32_t batch, n;
    uint8_t *slots;
    struct mmsghdr *msgs;
    struct iovec *iov;
    double t_first, t_last;

    /* pcap */
    FILE *fp;
    int own_fp;
    uint8_t *wbuf;
    size_t wlen;
    uint16_t ip_id;
};

static double
out_mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int
gen_out_split_target(const char *target, char *host, size_t hostcap, uint16_t *port)
{
    const char *h = target, *p = NULL;
    size_t hl;

    if (target[0] == '[') {
        const char *e = strchr(target, ']');
        if (!e || (e[1] != '\0' && e[1] != ':'))
            return SFA_EFORMAT;
        h = target + 1;
        hl = (size_t)(e - h);
        p = e[1] == ':' ? e + 2 : NULL;
    } else {
        const char *c = strchr(target, ':');
        if (c && strchr(c + 1, ':'))
            c = NULL; /* a bare IPv6 address */
        hl = c ? (size_t)(c - target) : strlen(target);
        p = c ? c + 1 : NULL;
    }
    if (hl == 0 || hl >= hostcap)
        return SFA_EFORMAT;
    long v = 6343;
    if (p) {
        char *end;
        v = strtol(p, &end, 10);
        if (*p == '\0' || *end != '\0' || v < 1 || v > 65535)
            return SFA_EFORMAT;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (uint16_t)v;
    return 0;
}

static int
out_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
        return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
        const uint8_t *a = s6->sin6_addr.s6_addr;
        if (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
            return 1;
        return IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) && a[12] == 127;
    }
    return 0;
}

static int
out_udp_socket(const char *target, int allow_remote, char *err, size_t errcap)
{
    char host[256], port_s[8];
    uint16_t port;
    struct addrinfo hints, *ai = NULL;
    int fd = -1, rc;

    if (gen_out_split_target(target, host, sizeof host, &port) != 0) {
        snprintf(err, errcap, "bad --target '%s' (want HOST:PORT or [V6]:PORT)", target);
        rc = SFA_ECONFIG;
        goto fail;
    }
    snprintf(port_s, sizeof port_s, "%u", port);
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICSERV;
    if (getaddrinfo(host, port_s, &hints, &ai) != 0 || !ai) {
        snprintf(err, errcap, "cannot resolve --target host '%s'", host);
        rc = SFA_ECONFIG;
        goto fail;
    }
    if (!allow_remote && !out_is_loopback(ai->ai_addr)) {
        snprintf(err, errcap, "--target %s is not a loopback address (add --allow-remote)", target);
        rc = SFA_ECONFIG;
        goto fail;
    }
    fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        rc = -errno;
        snprintf(err, errcap, "cannot open UDP socket to %s: %s", target, strerror(errno));
        goto fail;
    }
    int sz = 8 << 20;
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    freeaddrinfo(ai);
    return fd;
fail:
    if (fd >= 0)
        close(fd);
    if (ai)
        freeaddrinfo(ai);
    return rc;
}

int
gen_out_udp_open(gen_out **out, const char *target, int allow_remote, uint32_t batch, char *err,
                 size_t errcap)
{
    if (batch < 1 || batch > 1024) {
        snprintf(err, errcap, "--batch must be 1..1024");
        return SFA_ECONFIG;
    }
    int fd = out_udp_socket(target, allow_remote, err, errcap);
    if (fd < 0)
        return fd;

    gen_out *o = sfa_xcalloc(1, sizeof *o);
    o->kind = OUT_UDP;
    o->fd = fd;
    o->batch = batch;
    o->slots = sfa_xmalloc((size_t)batch * GEN_MAX_DGRAM);
    o->msgs = sfa_xcalloc(batch, sizeof *o->msgs);
    o->iov = sfa_xcalloc(batch, sizeof *o->iov);
    for (uint32_t i = 0; i < batch; i++) {
        o->iov[i].iov_base = o->slots + (size_t)i * GEN_MAX_DGRAM;
        o->msgs[i].msg_hdr.msg_iov = &o->iov[i];
        o->msgs[i].msg_hdr.msg_iovlen = 1;
    }
    gen_out_start(o, 0, NULL);
    *out = o;
    return 0;
}

int
gen_out_pcap_open(gen_out **out, const char *path, char *err, size_t errcap)
{
    FILE *fp = strcmp(path, "-") == 0 ? stdout : fopen(path, "wb");
    if (!fp) {
        int rc = -errno;
        snprintf(err, errcap, "cannot create %s: %s", path, strerror(errno));
        return rc;
    }
    gen_out *o = sfa_xcalloc(1, sizeof *o);
    o->kind = OUT_PCAP;
    o->fd = -1;
    o->fp = fp;
    o->own_fp = fp != stdout;
    o->wbuf = sfa_xmalloc(OUT_PCAP_BUF);

    /* Global header, in host byte order as the format allows. */
    struct {
        uint32_t magic;
        uint16_t major, minor;
        int32_t thiszone;
        uint32_t sigfigs, snaplen, network;
    } gh = {0xa1b2c3d4u, 2, 4, 0, 0, 65535, 1};
    memcpy(o->wbuf, &gh, sizeof gh);
    o->wlen = sizeof gh;
    gen_out_start(o, 0, NULL);
    *out = o;
    return 0;
}

void
gen_out_start(gen_out *o, int paced, const volatile sig_atomic_t *stop)
{
    struct timespec w;
    o->paced = paced && o->kind == OUT_UDP;
    o->stop = stop;
    clock_gettime(CLOCK_MONOTONIC, &o->start_mono);
    clock_gettime(CLOCK_REALTIME, &w);
    o->start_wall = (double)w.tv_sec + w.tv_nsec * 1e-9;
}

double
gen_out_start_wall(const gen_out *o)
{
    return o->start_wall;
}

double
gen_out_elapsed(const gen_out *o)
{
    return out_mono_s() - ((double)o->start_mono.tv_sec + o->start_mono.tv_nsec * 1e-9);
}

static int
out_stopped(const gen_out *o)
{
    return o->stop && *o->stop;
}

/* Sleep until simulated time t is due. 1 if asked to stop meanwhile. */
static int
out_wait(gen_out *o, double t)
{
    struct timespec due = o->start_mono;
    double whole = (double)(time_t)t;
    due.tv_sec += (time_t)t;
    due.tv_nsec += (long)((t - whole) * 1e9);
    if (due.tv_nsec >= 1000000000L) {
        due.tv_sec++;
        due.tv_nsec -= 1000000000L;
    }
    if (out_stopped(o))
        return 1;
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL) == EINTR)
        if (out_stopped(o))
            return 1;
    double lag = gen_out_elapsed(o) - t;
    if (lag > o->st.max_lag_s)
        o->st.max_lag_s = lag;
    if (lag > OUT_LATE_S)
        o->st.late++;
    return 0;
}

static int
out_udp_send(gen_out *o)
{
    uint32_t i = 0, tries = 0;
    int rc = 0;

    /* When asked to stop while waiting, the batch still goes out (early),
     * so that what the model counted as sent was sent. */
    int stop = o->n && o->paced && out_wait(o, o->t_last);
    while (i < o->n) {
        int r = sendmmsg(o->fd, o->msgs + i, o->n - i, 0);
        o->st.syscalls++;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == ECONNREFUSED) {
                o->st.refused++;
                continue;
            }
            if ((errno == ENOBUFS || errno == EAGAIN) && ++tries < OUT_ENOBUFS_TRIES) {
                struct timespec pause = {0, 50000};
                o->st.enobufs++;
                nanosleep(&pause, NULL);
                continue;
            }
            if (errno == ENOBUFS || errno == EAGAIN) {
                o->st.dropped += o->n - i;
                break;
            }
            rc = -errno;
            break;
        }
        if ((uint32_t)r < o->n - i)
            o->st.partial++;
        for (uint32_t k = i; k < i + (uint32_t)r; k++)
            o->st.bytes += o->iov[k].iov_len;
        o->st.datagrams += (uint32_t)r;
        i += (uint32_t)r;
    }
    o->n = 0;
    return rc ? rc : stop;
}

/* Internet checksum of an IPv6 UDP datagram (pseudo header included). */
static uint16_t
out_udp6_csum(const uint8_t *ip6, const uint8_t *udp, size_t ulen)
{
    uint8_t ph[8] = {0};
    gen_put32(ph, (uint32_t)ulen);
    ph[7] = 17;
    uint32_t s = gen_csum_add(0, ip6 + 8, 32);
    s = gen_csum_add(s, ph, 8);
    s = gen_csum_add(s, udp, ulen);
    uint16_t c = gen_csum_fold(s);
    return c ? c : 0xffff;
}

/* Write an Ethernet/IP/UDP frame carrying buf at f; returns its length. */
static size_t
out_frame(gen_out *o, uint8_t *f, const uint8_t *buf, size_t len, const gen_dgram_info *info)
{
    int v6 = info->agent_addr->family == 6;
    uint8_t *ip = f + 14, *udp = ip + (v6 ? 40 : 20);
    size_t ulen = 8 + len, iplen = (v6 ? 40 : 20) + ulen;
    uint16_t sport = (uint16_t)(40000 + info->stream % 20000);

    memset(f, 0, 14 + (v6 ? 40 : 20) + 8);
    f[0] = 0x02; /* collector MAC 02:00:00:00:00:fe */
    f[5] = 0xfe;
    f[6] = 0x02; /* agent MAC 02:00:0a:xx:xx:xx */
    f[8] = 0x0a;
    f[9] = (uint8_t)(info->agent >> 16);
    f[10] = (uint8_t)(info->agent >> 8);
    f[11] = (uint8_t)info->agent;
    f[12] = v6 ? 0x86 : 0x08;
    f[13] = v6 ? 0xdd : 0x00;
    if (v6) {
        ip[0] = 0x60;
        ip[4] = (uint8_t)(ulen >> 8);
        ip[5] = (uint8_t)ulen;
        ip[6] = 17;
        ip[7] = 64;
        memcpy(ip + 8, info->agent_addr->a, 16);
        ip[39] = 1; /* ::1 */
    } else {
        ip[0] = 0x45;
        ip[2] = (uint8_t)(iplen >> 8);
        ip[3] = (uint8_t)iplen;
        ip[4] = (uint8_t)(o->ip_id >> 8);
        ip[5] = (uint8_t)o->ip_id;
        o->ip_id++;
        ip[8] = 64;
        ip[9] = 17;
        memcpy(ip + 12, info->agent_addr->a, 4);
        ip[16] = 127;
        ip[19] = 1;
        uint16_t c = gen_csum_fold(gen_csum_add(0, ip, 20));
        ip[10] = (uint8_t)(c >> 8);
        ip[11] = (uint8_t)c;
    }
    udp[0] = (uint8_t)(sport >> 8);
    udp[1] = (uint8_t)sport;
    udp[2] = 6343 >> 8;
    udp[3] = 6343 & 0xff;
    udp[4] = (uint8_t)(ulen >> 8);
    udp[5] = (uint8_t)ulen;
    memcpy(udp + 8, buf, len);
    if (v6) { /* mandatory over IPv6; IPv4 leaves it 0 (no checksum) */
        uint16_t c = out_udp6_csum(ip, udp, ulen);
        udp[6] = (uint8_t)(c >> 8);
        udp[7] = (uint8_t)c;
    }
    return 14 + iplen;
}

static int
out_pcap_drain(gen_out *o)
{
    if (o->wlen && fwrite(o->wbuf, 1, o->wlen, o->fp) != o->wlen)
        return errno ? -errno : -EIO;
    o->wlen = 0;
    return 0;
}

static int
out_pcap_emit(gen_out *o, const uint8_t *buf, size_t len, const gen_dgram_info *info)
{
    int rc = 0;
    if (o->wlen + 16 + OUT_FRAME_MAX > OUT_PCAP_BUF && (rc = out_pcap_drain(o)) != 0)
        return rc;

    double ts = o->start_wall + info->t;
    uint32_t sec = (uint32_t)ts;
    uint32_t usec = (uint32_t)((ts - sec) * 1e6);
    if (usec >= 1000000u)
        usec = 999999u;
    uint8_t *rec = o->wbuf + o->wlen;
    size_t flen = out_frame(o, rec + 16, buf, len, info);
    uint32_t h[4] = {sec, usec, (uint32_t)flen, (uint32_t)flen};
    memcpy(rec, h, sizeof h);
    o->wlen += 16 + flen;
    o->st.datagrams++;
    o->st.bytes += len;
    return 0;
}

int
gen_out_emit(void *arg, const uint8_t *buf, size_t len, const gen_dgram_info *info)
{
    gen_out *o = arg;
    int rc = 0;

    if (len > GEN_MAX_DGRAM)
        return -EMSGSIZE;
    if (o->kind == OUT_PCAP) {
        rc = out_pcap_emit(o, buf, len, info);
        return rc ? rc : out_stopped(o);
    }

    /* Keep a paced batch within a short span of simulated time. Every
     * datagram handed in is sent, even when a stop is requested. */
    if (o->n && o->paced && info->t - o->t_first > OUT_SLACK_S && (rc = out_udp_send(o)) < 0)
        return rc;
    uint8_t *slot = o->iov[o->n].iov_base;
    memcpy(slot, buf, len);
    o->iov[o->n].iov_len = len;
    if (o->n++ == 0)
        o->t_first = info->t;
    o->t_last = info->t;
    if (o->n == o->batch) {
        int r2 = out_udp_send(o);
        if (r2 < 0)
            return r2;
        rc |= r2;
    }
    return rc || out_stopped(o);
}

int
gen_out_flush(gen_out *o)
{
    int rc = 0;
    if (o->kind == OUT_PCAP) {
        rc = out_pcap_drain(o);
        if (rc == 0 && fflush(o->fp) != 0)
            rc = -errno;
    } else if (o->n) {
        rc = out_udp_send(o);
        if (rc > 0)
            rc = 0;
    }
    return rc;
}

void
gen_out_get_stats(const gen_out *o, gen_out_stats *st)
{
    *st = o->st;
}

void
gen_out_close(gen_out *o)
{
    if (!o)
        return;
    if (o->fd >= 0)
        close(o->fd);
    if (o->fp && o->own_fp)
        fclose(o->fp);
    free(o->wbuf);
    free(o->iov);
    free(o->msgs);
    free(o->slots);
    free(o);
}
