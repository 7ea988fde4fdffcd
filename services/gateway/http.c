/* http.c - the gateway's HTTP server: h2o 2.2 on the service's libuv loop.
 *
 * The only file that includes h2o. It owns the listener, routes each
 * request through the route tables the route_*.c files register (method +
 * path pattern -> handler), enforces the cross-cutting rules (404 / 405,
 * 403 for writes when read-only, 413 for bodies over the limit, 400 for a
 * malformed path segment) and builds every response: JSON bodies are
 * serialised by jansson and copied into the request's pool by
 * h2o_send_inline. Errors have one shape, {"error": code, "message": text};
 * a filter rewrites the few error responses h2o produces itself (a body
 * over h2o's limit, a malformed request) into that shape too.
 *
 * Asynchronous answers: a handler takes a gw_hold and returns GW_PENDING.
 * The hold is linked to the request's pool with a dispose hook, so when h2o
 * frees the request (the client went away) the hold learns it and a late
 * answer is dropped instead of touching freed memory. The hold itself is
 * freed when both the pool and the owner are done with it.
 *
 * Shutdown is staged because h2o closes its own handles: gw_http_shutdown
 * stops accepting and half-closes every connection for reading (so idle
 * keep-alive connections end at once and h2o closes them itself);
 * gw_http_close disposes the h2o context once the connections are gone;
 * gw_http_free releases the memory after the loop has stopped.
 *
 * Threading: loop thread only.
 */
#define H2O_USE_LIBUV 1
#include <h2o.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <sfa/log.h>
#include <sfa/mem.h>

#include "gw.h"

#define HTTP_MAX_TABLES 16
#define HTTP_BACKLOG 1024
/* Bodies up to this size are read in full and refused with our own 413
 * (body_max), so ordinary clients, which send the whole body before
 * reading, get the answer instead of a reset. Larger ones are cut off by
 * h2o as soon as the headers announce them. */
#define HTTP_BODY_HARD_MAX (16u << 20)

typedef struct http_table {
    const gw_route *routes;
    void *arg;
} http_table;

typedef struct http_conn {
    uv_tcp_t tcp; /* first: h2o's close callback gets this pointer */
    gw_http *h;
    struct http_conn *prev, *next;
} http_conn;

struct http_handler {
    h2o_handler_t super;
    gw_http *h;
};

struct http_filter {
    h2o_filter_t super;
    gw_http *h;
};

struct http_logger {
    h2o_logger_t super;
    gw_http *h;
};

struct gw_http {
    uv_loop_t *loop;
    h2o_globalconf_t config;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    uv_tcp_t listener;
    int port;
    int ctx_live;  /* h2o_context_init done, not disposed */
    int listening; /* listener handle initialised and not closed */
    gw_http_opts opts;
    http_table tables[HTTP_MAX_TABLES];
    int ntables;
    http_conn *conns;
    gw_http_stats st;
};

struct gw_req {
    h2o_req_t *req;
    gw_http *h;
    int method;
    const char *qs; /* query string without '?', qslen bytes */
    size_t qslen;
    gw_match m;
};

struct gw_hold {
    gw_req *r; /* NULL once h2o disposed the request */
    gw_http *h;
    int refs;                /* the pool hook and the owner */
    void (*gone)(void *arg); /* gw_hold_on_gone */
    void *gone_arg;
};

/* ---- response helpers ---- */

static const char *
http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 302:
        return "Found";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Request Entity Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return status < 400 ? "OK" : "Error";
    }
}

/* Send body (copied into the pool by h2o_send_inline). */
static void
http_send(gw_req *r, int status, const char *ctype, const char *body, size_t len)
{
    h2o_req_t *req = r->req;

    req->res.status = status;
    req->res.reason = http_reason(status);
    if (ctype)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, ctype,
                       strlen(ctype));
    req->res.content_length = len;
    h2o_send_inline(req, body, len);
}

void
gw_reply_json(gw_req *r, int status, json_t *body)
{
    char *s = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);

    json_decref(body);
    if (!s) {
        const char *err = "{\"error\":500,\"message\":\"cannot encode the response\"}";

        http_send(r, 500, "application/json", err, strlen(err));
        return;
    }
    http_send(r, status, "application/json", s, strlen(s));
    free(s);
}

void
gw_reply_text(gw_req *r, int status, const char *text)
{
    http_send(r, status, "text/plain; charset=utf-8", text, strlen(text));
}

void
gw_reply_empty(gw_req *r, int status)
{
    http_send(r, status, NULL, "", 0);
}

static json_t *
http_error_body(int status, const char *fmt, va_list ap)
{
    char msg[512];

    vsnprintf(msg, sizeof msg, fmt, ap);
    /* Messages may quote client input: keep them printable ASCII so the
     * JSON encoder never meets invalid UTF-8. */
    for (char *p = msg; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            *p = '?';
    return json_pack("{s:i, s:s}", "error", status, "message", msg);
}

void
gw_reply_error(gw_req *r, int status, const char *fmt, ...)
{
    va_list ap;
    json_t *body;

    va_start(ap, fmt);
    body = http_error_body(status, fmt, ap);
    va_end(ap);
    gw_reply_json(r, status, body);
}

/* ---- holds (asynchronous answers) ---- */

static void
http_hold_unref(gw_hold *hd)
{
    if (--hd->refs == 0)
        free(hd);
}

/* h2o clears the request's pool: the request is gone. */
static void
http_hold_dispose(void *p)
{
    gw_hold *hd = *(gw_hold **)p;
    void (*gone)(void *arg) = hd->gone;

    hd->r = NULL;
    hd->gone = NULL;
    if (gone && hd->refs == 2)
        gone(hd->gone_arg); /* the owner has not answered yet: tell it */
    http_hold_unref(hd);
}

gw_hold *
gw_req_hold(gw_req *r)
{
    gw_hold *hd = sfa_xcalloc(1, sizeof *hd);
    gw_hold **slot = h2o_mem_alloc_shared(&r->req->pool, sizeof *slot, http_hold_dispose);

    *slot = hd;
    hd->r = r;
    hd->h = r->h;
    hd->refs = 2;
    r->h->st.pending++;
    return hd;
}

void
gw_hold_on_gone(gw_hold *hd, void (*gone)(void *arg), void *arg)
{
    hd->gone = gone;
    hd->gone_arg = arg;
}

int
gw_hold_alive(const gw_hold *hd)
{
    return hd->r != NULL;
}

int
gw_hold_client_gone(const gw_hold *hd)
{
    h2o_conn_t *conn;
    h2o_socket_t *sock;
    char c;
    ssize_t n;
    int fd;

    if (!hd->r)
        return 1;
    conn = hd->r->req->conn;
    if (!conn || !conn->callbacks->get_socket || !(sock = conn->callbacks->get_socket(conn)) ||
        (fd = h2o_socket_get_fd(sock)) < 0)
        return 0;
    /* h2o does not read a connection while its request is being answered,
     * so it cannot see the client leave; peek instead. */
    n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

void
gw_hold_reply_json(gw_hold *hd, int status, json_t *body)
{
    hd->gone = NULL;
    hd->h->st.pending--;
    if (hd->r) {
        gw_reply_json(hd->r, status, body);
    } else {
        hd->h->st.abandoned++;
        json_decref(body);
    }
    http_hold_unref(hd);
}

void
gw_hold_reply_text(gw_hold *hd, int status, const char *text)
{
    hd->gone = NULL;
    hd->h->st.pending--;
    if (hd->r)
        gw_reply_text(hd->r, status, text);
    else
        hd->h->st.abandoned++;
    http_hold_unref(hd);
}

void
gw_hold_reply_body(gw_hold *hd, int status, const char *ctype, const char *body, size_t len)
{
    hd->gone = NULL;
    hd->h->st.pending--;
    if (hd->r)
        http_send(hd->r, status, ctype, body, len);
    else
        hd->h->st.abandoned++;
    http_hold_unref(hd);
}

void
gw_hold_reply_error(gw_hold *hd, int status, const char *fmt, ...)
{
    va_list ap;
    json_t *body;

    va_start(ap, fmt);
    body = http_error_body(status, fmt, ap);
    va_end(ap);
    gw_hold_reply_json(hd, status, body);
}

/* ---- request accessors ---- */

int
gw_req_method(const gw_req *r)
{
    return r->method;
}

const char *
gw_req_param(const gw_req *r, const char *name)
{
    return gw_match_get(&r->m, name);
}

int
gw_req_query(const gw_req *r, const char *key, int idx, char *out, size_t cap)
{
    return gw_query_get(r->qs, r->qslen, key, idx, out, cap);
}

const char *
gw_req_body(const gw_req *r, size_t *len)
{
    *len = r->req->entity.base ? r->req->entity.len : 0;
    return r->req->entity.base ? r->req->entity.base : "";
}

const char *
gw_req_query_string(const gw_req *r, size_t *len)
{
    *len = r->qslen;
    return r->qs;
}

/* ---- routing ---- */

static int
http_method(h2o_iovec_t m)
{
    if (h2o_memis(m.base, m.len, H2O_STRLIT("GET")))
        return GW_GET;
    if (h2o_memis(m.base, m.len, H2O_STRLIT("PUT")))
        return GW_PUT;
    if (h2o_memis(m.base, m.len, H2O_STRLIT("DELETE")))
        return GW_DELETE;
    if (h2o_memis(m.base, m.len, H2O_STRLIT("POST")))
        return GW_POST;
    if (h2o_memis(m.base, m.len, H2O_STRLIT("HEAD")))
        return GW_HEAD;
    return GW_OTHER;
}

/* Find the route for r; *wrong_method is set when a pattern matched but
 * not for this method. */
static const gw_route *
http_find_route(gw_http *h, gw_req *r, const char *path, size_t len, void **arg, int *wrong_method)
{
    int method = r->method == GW_HEAD ? GW_GET : r->method;
    gw_match m;

    *wrong_method = 0;
    for (int t = 0; t < h->ntables; t++) {
        for (const gw_route *rt = h->tables[t].routes; rt->pattern; rt++) {
            if (!gw_route_match(rt->pattern, path, len, &m))
                continue;
            if (!(rt->methods & method)) {
                *wrong_method = 1;
                continue;
            }
            r->m = m;
            *arg = h->tables[t].arg;
            return rt;
        }
    }
    return NULL;
}

static void
http_count_in(gw_http *h, h2o_req_t *req)
{
    uint64_t n = req->input.method.len + req->input.path.len + req->entity.len;

    for (size_t i = 0; i < req->headers.size; i++)
        n += req->headers.entries[i].name->len + req->headers.entries[i].value.len + 4;
    h->st.requests++;
    h->st.bytes_in += n;
}

static int
http_on_req(h2o_handler_t *self, h2o_req_t *req)
{
    gw_http *h = ((struct http_handler *)self)->h;
    gw_req *r = h2o_mem_alloc_pool(&req->pool, sizeof *r);
    size_t plen = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    const gw_route *rt;
    void *arg = NULL;
    int wrong_method;

    http_count_in(h, req);
    memset(r, 0, sizeof *r);
    r->req = req;
    r->h = h;
    r->method = http_method(req->method);
    if (req->query_at != SIZE_MAX) {
        r->qs = req->path.base + req->query_at + 1;
        r->qslen = req->path.len - req->query_at - 1;
    } else {
        r->qs = "";
    }
    rt = http_find_route(h, r, req->path.base, plen, &arg, &wrong_method);
    if (!rt) {
        if (wrong_method)
            gw_reply_error(r, 405, "method not allowed on %.*s", (int)plen, req->path.base);
        else
            gw_reply_error(r, 404, "no such resource %.*s", (int)(plen > 200 ? 200 : plen),
                           req->path.base);
        return 0;
    }
    if (r->m.bad) {
        gw_reply_error(r, 400, "bad path segment (over-long or badly escaped)");
        return 0;
    }
    if ((r->method & (GW_PUT | GW_DELETE | GW_POST)) && h->opts.readonly) {
        gw_reply_error(r, 403, "read-only (http.readonly=yes)");
        return 0;
    }
    if (req->entity.base && req->entity.len > h->opts.body_max) {
        gw_reply_error(r, 413, "request body over %zu bytes", h->opts.body_max);
        return 0;
    }
    (void)rt->fn(r, arg);
    return 0;
}

/* ---- h2o's own error responses -> the JSON error shape ---- */

struct http_err_ostream {
    h2o_ostream_t super;
    h2o_iovec_t body;
    int sent;
};

static void
http_err_do_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t bufcnt,
                 h2o_send_state_t state)
{
    struct http_err_ostream *o = (struct http_err_ostream *)self;

    (void)bufs;
    (void)bufcnt;
    if (!o->sent) {
        o->sent = 1;
        h2o_ostream_send_next(&o->super, req, &o->body, 1, state);
    } else {
        h2o_ostream_send_next(&o->super, req, NULL, 0, state);
    }
}

static void
http_filter_setup(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    ssize_t ct = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1);
    struct http_err_ostream *o;
    char buf[256];
    int n;

    (void)self;
    /* Our own JSON errors and the HTML error pages of route_www.c pass. */
    if (req->res.status < 400 ||
        (ct >= 0 &&
         (h2o_memis(req->res.headers.entries[ct].value.base, req->res.headers.entries[ct].value.len,
                    H2O_STRLIT("application/json")) ||
          h2o_memis(req->res.headers.entries[ct].value.base, req->res.headers.entries[ct].value.len,
                    H2O_STRLIT(GW_CTYPE_HTML))))) {
        h2o_setup_next_ostream(req, slot);
        return;
    }
    n = snprintf(buf, sizeof buf, "{\"error\":%d,\"message\":\"%s\"}", req->res.status,
                 http_reason(req->res.status));
    if (ct >= 0)
        req->res.headers.entries[ct].value = h2o_iovec_init(H2O_STRLIT("application/json"));
    else
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                       H2O_STRLIT("application/json"));
    o = (struct http_err_ostream *)h2o_add_ostream(req, sizeof *o, slot);
    o->body = h2o_strdup(&req->pool, buf, (size_t)n);
    o->sent = 0;
    o->super.do_send = http_err_do_send;
    req->res.content_length = o->body.len;
    slot = &o->super.next;
    h2o_setup_next_ostream(req, slot);
}

/* ---- access log and response counters ---- */

static void
http_log_access(h2o_logger_t *self, h2o_req_t *req)
{
    gw_http *h = ((struct http_logger *)self)->h;
    int status = req->res.status;

    h->st.responses++;
    h->st.bytes_out += req->bytes_sent;
    if (status >= 200 && status < 300)
        h->st.status_2xx++;
    else if (status >= 400 && status < 500)
        h->st.status_4xx++;
    else if (status >= 500)
        h->st.status_5xx++;
    if (h->opts.log)
        SFA_INFO("http: %.*s %.*s %d %zu", (int)req->input.method.len, req->input.method.base,
                 (int)(req->input.path.len > 300 ? 300 : req->input.path.len), req->input.path.base,
                 status, req->bytes_sent);
}

/* ---- connections ---- */

static void
http_conn_closed(uv_handle_t *handle)
{
    http_conn *c = (http_conn *)handle;
    gw_http *h = c->h;

    if (c->prev)
        c->prev->next = c->next;
    else
        h->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    h->st.conns_current--;
    free(c);
}

static void
http_on_accept(uv_stream_t *listener, int status)
{
    gw_http *h = listener->data;
    http_conn *c;
    h2o_socket_t *sock;

    if (status != 0)
        return;
    c = sfa_xcalloc(1, sizeof *c);
    c->h = h;
    (void)uv_tcp_init(h->loop, &c->tcp);
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, (uv_close_cb)free);
        return;
    }
    (void)uv_tcp_nodelay(&c->tcp, 1);
    c->next = h->conns;
    if (h->conns)
        h->conns->prev = c;
    h->conns = c;
    h->st.conns_total++;
    h->st.conns_current++;
    sock = h2o_uv_socket_create((uv_stream_t *)&c->tcp, http_conn_closed);
    h2o_accept(&h->accept_ctx, sock);
}

/* Resolve host (numeric or name; "" = all addresses) and bind. */
static int
http_bind(gw_http *h, const char *host, int port)
{
    struct sockaddr_storage ss;
    struct addrinfo hints, *ai = NULL;
    char portstr[16];
    int rc;

    if (!host || !host[0]) {
        (void)uv_ip6_addr("::", port, (struct sockaddr_in6 *)&ss);
        if (uv_tcp_bind(&h->listener, (struct sockaddr *)&ss, 0) == 0)
            return 0;
        (void)uv_ip4_addr("0.0.0.0", port, (struct sockaddr_in *)&ss);
        return uv_tcp_bind(&h->listener, (struct sockaddr *)&ss, 0);
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    snprintf(portstr, sizeof portstr, "%d", port);
    if ((rc = getaddrinfo(host, portstr, &hints, &ai)) != 0) {
        SFA_SEVERE("http.hostname: cannot resolve '%s': %s", host, gai_strerror(rc));
        return -EINVAL;
    }
    rc = uv_tcp_bind(&h->listener, ai->ai_addr, 0);
    freeaddrinfo(ai);
    return rc;
}

static int
http_listen(gw_http *h)
{
    struct sockaddr_storage ss;
    int len = sizeof ss, rc;

    (void)uv_tcp_init(h->loop, &h->listener);
    h->listener.data = h;
    h->listening = 1;
    if ((rc = http_bind(h, h->opts.host, h->opts.port)) != 0 ||
        (rc = uv_listen((uv_stream_t *)&h->listener, HTTP_BACKLOG, http_on_accept)) != 0) {
        SFA_SEVERE("Cannot listen on HTTP port %d: %s", h->opts.port, uv_strerror(rc));
        return rc;
    }
    if (uv_tcp_getsockname(&h->listener, (struct sockaddr *)&ss, &len) == 0)
        h->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
    SFA_INFO("Listening, HTTP port %d", h->port);
    return 0;
}

/* Hook the router, the error filter and the logger onto a path. */
static void
http_setup_path(gw_http *h, h2o_pathconf_t *pc, int with_handler)
{
    struct http_filter *f = (struct http_filter *)h2o_create_filter(pc, sizeof *f);
    struct http_logger *l = (struct http_logger *)h2o_create_logger(pc, sizeof *l);

    f->h = h;
    f->super.on_setup_ostream = http_filter_setup;
    l->h = h;
    l->super.log_access = http_log_access;
    if (with_handler) {
        struct http_handler *hd = (struct http_handler *)h2o_create_handler(pc, sizeof *hd);

        hd->h = h;
        hd->super.on_req = http_on_req;
    }
}

static void
http_free_on_close(uv_handle_t *handle)
{
    gw_http *h = handle->data;

    h2o_config_dispose(&h->config);
    free(h);
}

int
gw_http_open(gw_http **out, uv_loop_t *loop, const gw_http_opts *opts)
{
    gw_http *h = sfa_xcalloc(1, sizeof *h);
    h2o_hostconf_t *hc;
    int rc;

    h->loop = loop;
    h->opts = *opts;
    h2o_config_init(&h->config);
    h->config.server_name = h2o_iovec_init(H2O_STRLIT("sfa"));
    h->config.max_request_entity_size =
        opts->body_max > HTTP_BODY_HARD_MAX ? opts->body_max : HTTP_BODY_HARD_MAX;
    hc = h2o_config_register_host(&h->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    http_setup_path(h, h2o_config_register_path(hc, "/", 0), 1);
    /* Errors h2o raises before routing (e.g. while reading the body) are
     * answered through the host's fallback path. */
    http_setup_path(h, &hc->fallback_path, 0);
    if ((rc = http_listen(h)) != 0) {
        /* Nothing served yet: the listener's close callback frees it all. */
        h->listening = 0;
        uv_close((uv_handle_t *)&h->listener, http_free_on_close);
        return rc;
    }
    h2o_context_init(&h->ctx, loop, &h->config);
    h->ctx_live = 1;
    h->accept_ctx.ctx = &h->ctx;
    h->accept_ctx.hosts = h->config.hosts;
    *out = h;
    return 0;
}

void
gw_http_add_routes(gw_http *h, const gw_route *routes, void *arg)
{
    if (h->ntables == HTTP_MAX_TABLES) {
        SFA_SEVERE("http: too many route tables");
        abort();
    }
    h->tables[h->ntables].routes = routes;
    h->tables[h->ntables].arg = arg;
    h->ntables++;
}

int
gw_http_port(const gw_http *h)
{
    return h->port;
}

void
gw_http_get_stats(const gw_http *h, gw_http_stats *st)
{
    *st = h->st;
}

size_t
gw_http_conns(const gw_http *h)
{
    return h->st.conns_current;
}

void
gw_http_shutdown(gw_http *h)
{
    int fd;

    if (h->listening) {
        uv_close((uv_handle_t *)&h->listener, NULL);
        h->listening = 0;
    }
    if (!h->ctx_live)
        return;
    /* End of input on every connection: h2o finishes what it is writing and
     * closes the connection itself, idle keep-alive ones at once. (Not
     * h2o_context_request_shutdown: it arms an HTTP/2 GOAWAY timer that
     * keeps the context busy for another second.) */
    for (http_conn *c = h->conns; c; c = c->next)
        if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
            (void)shutdown(fd, SHUT_RD);
}

void
gw_http_close(gw_http *h)
{
    if (!h || !h->ctx_live)
        return;
    if (h->conns) {
        SFA_WARN("http: %zu connections still open at shutdown", (size_t)h->st.conns_current);
        return; /* h2o still uses the context: leave it to process exit */
    }
    h2o_context_dispose(&h->ctx);
    h->ctx_live = 0;
}

void
gw_http_free(gw_http *h)
{
    if (!h || h->ctx_live)
        return; /* still in use by open connections: leave it to process exit */
    h2o_config_dispose(&h->config);
    free(h);
}

/* ---- static files and redirects (route_www.c) ---- */

void
gw_reply_body(gw_req *r, int status, const char *ctype, const char *body, size_t len)
{
    http_send(r, status, ctype, body, len);
}

void
gw_reply_redirect(gw_req *r, int status, const char *url)
{
    h2o_send_redirect(r->req, status, http_reason(status), url, strlen(url));
}

/* h2o_file_send sends an ETag ("mtime-size" in hex, as below) but does not
 * honour If-None-Match itself: answer 304 here when it matches. */
static int
http_not_modified(gw_req *r, const char *path)
{
    h2o_req_t *req = r->req;
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_IF_NONE_MATCH, -1);
    struct stat st;
    char etag[64];
    int n;

    if (i < 0 || stat(path, &st) != 0)
        return 0;
    n = snprintf(etag, sizeof etag, "\"%08x-%zx\"", (unsigned)st.st_mtime, (size_t)st.st_size);
    if (!h2o_memis(req->headers.entries[i].value.base, req->headers.entries[i].value.len, etag,
                   (size_t)n))
        return 0;
    req->res.status = 304;
    req->res.reason = "Not Modified";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ETAG, NULL,
                   h2o_strdup(&req->pool, etag, (size_t)n).base, (size_t)n);
    h2o_send_inline(req, "", 0);
    return 1;
}

int
gw_reply_file(gw_req *r, const char *path, const char *ctype)
{
    h2o_req_t *req = r->req;

    /* Pages change with an upgrade: revalidate every time (the ETag makes
     * that a 304), and never let a browser guess another type. */
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                   H2O_STRLIT("no-cache"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-content-type-options"), 0,
                          NULL, H2O_STRLIT("nosniff"));
    if (http_not_modified(r, path))
        return 0;
    /* On failure nothing was sent; the headers above suit the 404 too. */
    return h2o_file_send(req, 200, "OK", path, h2o_iovec_init(ctype, strlen(ctype)), 0) == 0 ? 0
                                                                                             : -1;
}

const char *
gw_req_path(const gw_req *r, size_t *len)
{
    const h2o_req_t *req = r->req;

    *len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    return req->path.base;
}
