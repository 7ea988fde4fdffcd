/* httpc.c - a small blocking HTTP/1.1 client for script children.
 *
 * One request per connection (Connection: close), plain http:// only (no
 * TLS), with one deadline for the whole exchange enforced with poll(2) on
 * a non-blocking socket, so a slow or silent server costs the script at
 * most its timeout. The data API uses it to reach the gateway on loopback;
 * http()/http2() use it for webhooks. A refused connection can be retried
 * for a while (the gateway may still be starting when a script runs).
 * Response parsing (status, Content-Type, Content-Length or chunked body)
 * is pure and separate. Blocking by design: only script children, which
 * have one thread and nothing else to do meanwhile, call scr_http.
 */
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sfa/clock.h>
#include <sfa/mem.h>

#include "scr.h"

#define HTTPC_RESP_MAX (64u << 20)
#define HTTPC_RETRY_STEP_MS 100

/* ---- URL ---- */

int
scr_url_parse(const char *url, scr_url *out)
{
    const char *p, *hend, *pstart;
    scr_url u = {.port = 80};
    size_t hl;

    if (strncasecmp(url, "http://", 7) != 0)
        return SFA_EFORMAT;
    p = url + 7;
    pstart = p + strcspn(p, "/?");
    if (*p == '[') {
        hend = memchr(p, ']', (size_t)(pstart - p));
        if (!hend)
            return SFA_EFORMAT;
        hl = (size_t)(hend - p - 1);
        memcpy(u.host, p + 1, hl < sizeof u.host ? hl : 0);
        p = hend + 1;
    } else {
        hend = memchr(p, ':', (size_t)(pstart - p));
        hl = (size_t)((hend ? hend : pstart) - p);
        if (hl < sizeof u.host)
            memcpy(u.host, p, hl);
        p = hend ? hend : pstart;
    }
    if (hl == 0 || hl >= sizeof u.host)
        return SFA_EFORMAT;
    u.host[hl] = '\0';
    if (*p == ':') {
        char *end;
        long port = strtol(p + 1, &end, 10);
        if (end != pstart || port <= 0 || port > 65535)
            return SFA_EFORMAT;
        u.port = (int)port;
    } else if (p != pstart) {
        return SFA_EFORMAT;
    }
    if (strlen(pstart) + 2 > sizeof u.path)
        return SFA_EFORMAT;
    snprintf(u.path, sizeof u.path, "%s%s", *pstart == '/' ? "" : "/", pstart);
    *out = u;
    return 0;
}

/* ---- response parsing ---- */

/* Value of header name in the header block [buf, end), or NULL; *vlen set. */
static const char *
httpc_header(const char *buf, const char *end, const char *name, size_t *vlen)
{
    size_t nl = strlen(name);
    const char *p = memchr(buf, '\n', (size_t)(end - buf));

    while (p && p + 1 < end) {
        const char *line = p + 1, *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol)
            eol = end;
        if ((size_t)(eol - line) > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            *vlen = (size_t)(eol - v);
            while (*vlen > 0 && isspace((unsigned char)v[*vlen - 1]))
                (*vlen)--;
            return v;
        }
        p = eol < end ? eol : NULL;
    }
    return NULL;
}

/* Decode a chunked body from b (n bytes) into out (may be NULL just to
 * measure). Returns bytes consumed including the last chunk and trailer,
 * 0 if incomplete, -1 if malformed. */
static long
httpc_dechunk(const char *b, size_t n, scr_buf *out)
{
    size_t i = 0;

    for (;;) {
        const char *eol = memmem(b + i, n - i, "\r\n", 2);
        char *end;
        unsigned long sz;

        if (!eol)
            return 0;
        sz = strtoul(b + i, &end, 16);
        if (end == b + i || sz > HTTPC_RESP_MAX)
            return -1;
        i = (size_t)(eol - b) + 2;
        if (sz == 0) {
            const char *fin = memmem(b + i, n - i, "\r\n", 2);
            while (fin && fin != b + i) { /* skip trailer lines */
                i = (size_t)(fin - b) + 2;
                fin = memmem(b + i, n - i, "\r\n", 2);
            }
            return fin ? (long)(i + 2) : 0;
        }
        if (n - i < sz + 2)
            return 0;
        if (out)
            scr_buf_add(out, b + i, sz);
        i += sz + 2;
    }
}

/* Header end (offset of the body) or 0; status into *status. */
static size_t
httpc_head(const char *buf, size_t len, int *status)
{
    const char *e = memmem(buf, len, "\r\n\r\n", 4);

    if (!e || len < 12 || strncmp(buf, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)buf[9]))
        return 0;
    *status = atoi(buf + 9);
    return (size_t)(e - buf) + 4;
}

static int
httpc_no_body(int status)
{
    return status == 204 || status == 304 || (status >= 100 && status < 200);
}

size_t
scr_http_complete(const char *buf, size_t len)
{
    int status;
    size_t body = httpc_head(buf, len, &status), vl;
    const char *v;

    if (body == 0)
        return 0;
    if (httpc_no_body(status))
        return body;
    if ((v = httpc_header(buf, buf + body, "Content-Length", &vl))) {
        size_t cl = (size_t)strtoull(v, NULL, 10);
        return len - body >= cl ? body + cl : 0;
    }
    if ((v = httpc_header(buf, buf + body, "Transfer-Encoding", &vl)) && vl >= 7 &&
        strncasecmp(v, "chunked", 7) == 0) {
        long used = httpc_dechunk(buf + body, len - body, NULL);
        return used > 0 ? body + (size_t)used : 0;
    }
    return 0;
}

int
scr_http_parse(const char *buf, size_t len, scr_http_resp *resp)
{
    scr_http_resp r = {0};
    size_t body = httpc_head(buf, len, &r.status), vl;
    const char *v;
    scr_buf b = {0};

    if (body == 0)
        return SFA_EFORMAT;
    if ((v = httpc_header(buf, buf + body, "Content-Type", &vl)))
        r.ctype = strndup(v, vl);
    scr_buf_add(&b, "", 0);
    if (httpc_no_body(r.status)) {
        /* nothing */
    } else if ((v = httpc_header(buf, buf + body, "Content-Length", &vl))) {
        size_t cl = (size_t)strtoull(v, NULL, 10);
        if (len - body < cl)
            goto trunc;
        scr_buf_add(&b, buf + body, cl);
    } else if ((v = httpc_header(buf, buf + body, "Transfer-Encoding", &vl)) && vl >= 7 &&
               strncasecmp(v, "chunked", 7) == 0) {
        long used = httpc_dechunk(buf + body, len - body, &b);
        if (used <= 0)
            goto trunc;
    } else {
        scr_buf_add(&b, buf + body, len - body);
    }
    r.body = b.s;
    r.body_len = b.len;
    *resp = r;
    return 0;

trunc:
    free(r.ctype);
    scr_buf_free(&b);
    return SFA_ETRUNC;
}

void
scr_http_resp_free(scr_http_resp *resp)
{
    free(resp->ctype);
    free(resp->body);
    memset(resp, 0, sizeof *resp);
}

char *
scr_base64(const char *in, size_t len)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = sfa_xmalloc((len + 2) / 3 * 4 + 1), *o = out;

    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)(unsigned char)in[i + 1] << 8;
        if (i + 2 < len)
            v |= (unsigned char)in[i + 2];
        *o++ = tbl[v >> 18 & 63];
        *o++ = tbl[v >> 12 & 63];
        *o++ = i + 1 < len ? tbl[v >> 6 & 63] : '=';
        *o++ = i + 2 < len ? tbl[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

/* ---- the exchange ---- */

static int
httpc_wait(int fd, short events, uint64_t deadline)
{
    for (;;) {
        uint64_t now = sfa_clock_ms();
        struct pollfd p = {.fd = fd, .events = events};
        int n;

        if (now >= deadline)
            return -ETIMEDOUT;
        n = poll(&p, 1, (int)(deadline - now));
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -errno;
    }
}

/* One connect attempt to every address of u; the socket or -errno. */
static int
httpc_connect_once(const scr_url *u, uint64_t deadline)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ai, *a;
    char port[16];
    int rc = -EHOSTUNREACH, fd = -1;

    snprintf(port, sizeof port, "%d", u->port);
    if (getaddrinfo(u->host, port, &hints, &ai) != 0)
        return -EHOSTUNREACH;
    for (a = ai; a; a = a->ai_next) {
        int err = 0;
        socklen_t el = sizeof err;

        fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
            continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            break;
        if (errno == EINPROGRESS && (rc = httpc_wait(fd, POLLOUT, deadline)) == 0) {
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0)
                break;
            rc = -err;
        } else if (errno != EINPROGRESS) {
            rc = -errno;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd >= 0 ? fd : rc;
}

static int
httpc_connect(const scr_url *u, uint64_t deadline, int retry_ms)
{
    uint64_t retry_until = sfa_clock_ms() + (uint64_t)(retry_ms > 0 ? retry_ms : 0);

    for (;;) {
        int fd = httpc_connect_once(u, deadline);
        uint64_t now = sfa_clock_ms();
        struct timespec ts = {0, HTTPC_RETRY_STEP_MS * 1000000L};

        if (fd >= 0 || fd != -ECONNREFUSED || now + HTTPC_RETRY_STEP_MS >= retry_until ||
            now + HTTPC_RETRY_STEP_MS >= deadline)
            return fd;
        nanosleep(&ts, NULL);
    }
}

static void
httpc_build(const scr_http_req *req, const scr_url *u, scr_buf *out)
{
    int v6 = strchr(u->host, ':') != NULL;

    scr_buf_addf(out, "%s %s HTTP/1.1\r\nHost: %s%s%s", req->method, u->path, v6 ? "[" : "",
                 u->host, v6 ? "]" : "");
    if (u->port != 80)
        scr_buf_addf(out, ":%d", u->port);
    scr_buf_adds(out, "\r\nConnection: close\r\nUser-Agent: sfa-scripts\r\n");
    if (req->accept)
        scr_buf_addf(out, "Accept: %s\r\n", req->accept);
    if (req->user) {
        scr_buf cred = {0};
        char *b64;
        scr_buf_addf(&cred, "%s:%s", req->user, req->pass ? req->pass : "");
        b64 = scr_base64(cred.s, cred.len);
        scr_buf_addf(out, "Authorization: Basic %s\r\n", b64);
        free(b64);
        scr_buf_free(&cred);
    }
    for (const char *const *h = req->headers; h && *h; h++)
        if (!strpbrk(*h, "\r\n"))
            scr_buf_addf(out, "%s\r\n", *h);
    if (req->body || strcmp(req->method, "PUT") == 0 || strcmp(req->method, "POST") == 0) {
        if (req->ctype)
            scr_buf_addf(out, "Content-Type: %s\r\n", req->ctype);
        scr_buf_addf(out, "Content-Length: %zu\r\n", req->body ? req->body_len : 0);
    }
    scr_buf_adds(out, "\r\n");
    if (req->body)
        scr_buf_add(out, req->body, req->body_len);
}

static int
httpc_exchange(int fd, const scr_buf *msg, uint64_t deadline, scr_buf *in)
{
    size_t off = 0;
    char tmp[16384];
    int rc;

    while (off < msg->len) {
        ssize_t w = send(fd, msg->s + off, msg->len - off, MSG_NOSIGNAL);
        if (w > 0) {
            off += (size_t)w;
        } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
            return -errno;
        } else if ((rc = httpc_wait(fd, POLLOUT, deadline)) != 0) {
            return rc;
        }
    }
    for (;;) {
        ssize_t r = recv(fd, tmp, sizeof tmp, 0);
        if (r > 0) {
            scr_buf_add(in, tmp, (size_t)r);
            if (in->len > HTTPC_RESP_MAX)
                return SFA_ELIMIT;
            if (scr_http_complete(in->s, in->len))
                return 0;
        } else if (r == 0) {
            return 0;
        } else if (errno != EAGAIN && errno != EINTR) {
            return -errno;
        } else if ((rc = httpc_wait(fd, POLLIN, deadline)) != 0) {
            return rc;
        }
    }
}

int
scr_http(const scr_http_req *req, scr_http_resp *resp)
{
    uint64_t deadline = sfa_clock_ms() + (uint64_t)(req->timeout_ms > 0 ? req->timeout_ms : 1);
    scr_url u;
    scr_buf msg = {0}, in = {0};
    int fd, rc;

    if ((rc = scr_url_parse(req->url, &u)) != 0)
        return rc;
    if ((fd = httpc_connect(&u, deadline, req->retry_refused_ms)) < 0)
        return fd;
    httpc_build(req, &u, &msg);
    rc = httpc_exchange(fd, &msg, deadline, &in);
    close(fd);
    if (rc == 0)
        rc = in.len ? scr_http_parse(in.s, in.len, resp) : SFA_EFORMAT;
    scr_buf_free(&msg);
    scr_buf_free(&in);
    return rc;
}
