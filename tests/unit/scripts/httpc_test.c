/* httpc_test.c - the children's blocking HTTP client
 * (services/scripts/httpc.c): URL parsing, response parsing (length,
 * chunked, no body, to EOF, truncated), and real exchanges with a small
 * server thread on 127.0.0.1: the request as sent, a server that never
 * answers (deadline), a refused port.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "scr.h"
#include "test.h"

static void
test_url(void)
{
    scr_url u;

    CHECK_OK(scr_url_parse("http://127.0.0.1:8008/flow/x/json?a=1", &u), "url with port");
    CHECK_STR(u.host, "127.0.0.1", "host");
    CHECK_EQ(u.port, 8008, "port");
    CHECK_STR(u.path, "/flow/x/json?a=1", "path and query");
    CHECK_OK(scr_url_parse("http://example.org", &u), "url without path");
    CHECK_EQ(u.port, 80, "default port");
    CHECK_STR(u.path, "/", "default path");
    CHECK_OK(scr_url_parse("http://[::1]:9/x", &u), "IPv6 literal");
    CHECK_STR(u.host, "::1", "IPv6 host without brackets");
    CHECK_EQ(u.port, 9, "IPv6 port");
    CHECK_ERR(scr_url_parse("https://x/", &u), SFA_EFORMAT, "https refused");
    CHECK_ERR(scr_url_parse("http://x:0/", &u), SFA_EFORMAT, "port 0 refused");
    CHECK_ERR(scr_url_parse("http://x:99999/", &u), SFA_EFORMAT, "port too big");
    CHECK_ERR(scr_url_parse("http://:80/", &u), SFA_EFORMAT, "empty host");
}

static void
test_parse(void)
{
    const char *cl =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n[1,2,3]";
    const char *ch =
        "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
    const char *nb = "HTTP/1.1 204 No Content\r\nServer: x\r\n\r\n";
    const char *eof = "HTTP/1.0 404 Not Found\r\n\r\nnot here";
    scr_http_resp r;

    CHECK_EQ(scr_http_complete(cl, strlen(cl)), strlen(cl), "complete with Content-Length");
    CHECK_EQ(scr_http_complete(cl, strlen(cl) - 1), 0, "one byte short");
    CHECK_OK(scr_http_parse(cl, strlen(cl), &r), "parse Content-Length");
    CHECK_EQ(r.status, 200, "status");
    CHECK_STR(r.ctype, "application/json", "content type");
    CHECK_STR(r.body, "[1,2,3]", "body");
    scr_http_resp_free(&r);
    CHECK_EQ(scr_http_complete(ch, strlen(ch)), strlen(ch), "complete chunked");
    CHECK_EQ(scr_http_complete(ch, strlen(ch) - 2), 0, "chunked without the end");
    CHECK_OK(scr_http_parse(ch, strlen(ch), &r), "parse chunked");
    CHECK_STR(r.body, "abcde", "chunks joined");
    CHECK_EQ(r.body_len, 5, "chunked length");
    scr_http_resp_free(&r);
    CHECK_EQ(scr_http_complete(nb, strlen(nb)), strlen(nb), "204 complete at the header end");
    CHECK_OK(scr_http_parse(nb, strlen(nb), &r), "parse 204");
    CHECK_EQ(r.status, 204, "204 status");
    CHECK_EQ(r.body_len, 0, "204 has no body");
    scr_http_resp_free(&r);
    CHECK_EQ(scr_http_complete(eof, strlen(eof)), 0, "no length: only EOF completes");
    CHECK_OK(scr_http_parse(eof, strlen(eof), &r), "parse body to EOF");
    CHECK_EQ(r.status, 404, "404 status");
    CHECK_STR(r.body, "not here", "body to EOF");
    scr_http_resp_free(&r);
    CHECK_ERR(scr_http_parse(cl, 60, &r), SFA_EFORMAT, "headers cut");
    CHECK_ERR(scr_http_parse(cl, strlen(cl) - 3, &r), SFA_ETRUNC, "body cut");
    CHECK_ERR(scr_http_parse("SMTP 220\r\n\r\n", 12, &r), SFA_EFORMAT, "not HTTP");
}

static void
test_base64(void)
{
    char *s = scr_base64("user:pass", 9);

    CHECK_STR(s, "dXNlcjpwYXNz", "base64 of user:pass");
    free(s);
    s = scr_base64("ab", 2);
    CHECK_STR(s, "YWI=", "base64 padding");
    free(s);
}

/* ---- live exchanges ---- */

typedef struct srv {
    int fd, port;
    int answer; /* 0: never answer */
    char got[4096];
    size_t got_len;
} srv;

static void *
srv_run(void *arg)
{
    srv *s = arg;
    int c = accept(s->fd, NULL, NULL);
    const char *reply =
        "HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok";
    ssize_t n;

    if (c < 0)
        return NULL;
    while (s->got_len < sizeof s->got - 1 &&
           (n = read(c, s->got + s->got_len, sizeof s->got - 1 - s->got_len)) > 0) {
        s->got_len += (size_t)n;
        s->got[s->got_len] = '\0';
        if (strstr(s->got, "\r\n\r\n") && strstr(s->got, "hello"))
            break;
    }
    if (s->answer) {
        if (write(c, reply, strlen(reply)) < 0) {
            /* the test sees the failure */
        }
    } else {
        usleep(600 * 1000);
    }
    close(c);
    return NULL;
}

static int
srv_open(srv *s)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;

    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(s->fd, 4) != 0 ||
        getsockname(s->fd, (struct sockaddr *)&a, &al) != 0)
        return -1;
    s->port = ntohs(a.sin_port);
    return 0;
}

static void
test_live(void)
{
    srv s = {.answer = 1};
    pthread_t th;
    char url[128];
    const char *hdrs[] = {"X-Test: 1", "Bad: a\r\nInjected: b", NULL};
    scr_http_req req = {.method = "PUT",
                        .url = url,
                        .ctype = "application/json",
                        .body = "hello",
                        .body_len = 5,
                        .user = "u",
                        .pass = "p",
                        .headers = hdrs,
                        .timeout_ms = 2000};
    scr_http_resp r;
    int port;

    CHECK_OK(srv_open(&s), "server listens");
    snprintf(url, sizeof url, "http://127.0.0.1:%d/flow/a%%20b/json", s.port);
    pthread_create(&th, NULL, srv_run, &s);
    CHECK_OK(scr_http(&req, &r), "exchange");
    pthread_join(th, NULL);
    CHECK_EQ(r.status, 201, "status from the server");
    CHECK_STR(r.body, "ok", "body from the server");
    CHECK(strncmp(s.got, "PUT /flow/a%20b/json HTTP/1.1\r\n", 31) == 0, "request line");
    CHECK(strstr(s.got, "Content-Type: application/json\r\n") != NULL, "content type sent");
    CHECK(strstr(s.got, "Content-Length: 5\r\n") != NULL, "content length sent");
    CHECK(strstr(s.got, "Authorization: Basic dTpw\r\n") != NULL, "basic auth sent");
    CHECK(strstr(s.got, "X-Test: 1\r\n") != NULL, "extra header sent");
    CHECK(strstr(s.got, "Injected") == NULL, "header with CR/LF dropped");
    CHECK(strstr(s.got, "\r\n\r\nhello") != NULL, "body sent");
    scr_http_resp_free(&r);

    /* A server that reads and never answers: the deadline holds. */
    s.answer = 0;
    s.got_len = 0;
    req.timeout_ms = 200;
    pthread_create(&th, NULL, srv_run, &s);
    CHECK_ERR(scr_http(&req, &r), -ETIMEDOUT, "silent server times out");
    pthread_join(th, NULL);
    port = s.port;
    close(s.fd);

    /* Nobody listens any more: refused, also after retrying a while. */
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
    req.method = "GET";
    req.body = NULL;
    req.timeout_ms = 2000;
    req.retry_refused_ms = 300;
    CHECK_ERR(scr_http(&req, &r), -ECONNREFUSED, "refused after retries");
}

int
main(void)
{
    test_url();
    test_parse();
    test_base64();
    test_live();
    return test_done();
}
