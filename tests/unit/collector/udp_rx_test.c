/* udp_rx_test.c - the UDP receiver on loopback.
 *
 * Opens udp_rx.c on an ephemeral port (dual-stack and bound to 127.0.0.1),
 * sends datagrams from IPv4 and IPv6 loopback, and checks that every one
 * arrives intact with its source address (IPv4-mapped sources reported as
 * IPv4), that a drain callback follows, and that the counters add up.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "col.h"
#include "test.h"

typedef struct rx_state {
    int n;
    int drains;
    size_t bytes;
    int bad_payload;
    sfa_addr last_src;
    uint16_t last_port;
    int want;
    uv_loop_t *loop;
} rx_state;

static void
on_dgram(void *arg, const uint8_t *buf, size_t len, const sfa_addr *src, uint16_t port,
         uint64_t rx_ms)
{
    rx_state *s = arg;
    char expect[32];

    snprintf(expect, sizeof expect, "dgram-%d", s->n);
    if (len != strlen(expect) || memcmp(buf, expect, len) != 0)
        s->bad_payload++;
    if (rx_ms == 0)
        s->bad_payload++;
    s->n++;
    s->bytes += len;
    s->last_src = *src;
    s->last_port = port;
}

static void
on_drain(void *arg)
{
    rx_state *s = arg;

    s->drains++;
    if (s->n >= s->want)
        uv_stop(s->loop);
}

static void
on_timeout(uv_timer_t *t)
{
    uv_stop(t->loop);
}

static int
send_n(int family, int port, int first, int n)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int fd = socket(family, SOCK_DGRAM, 0), sent = 0;
    char msg[32];

    memset(&ss, 0, sizeof ss);
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sl = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        a->sin6_addr = in6addr_loopback;
        sl = sizeof *a;
    }
    for (int i = 0; i < n; i++) {
        int len = snprintf(msg, sizeof msg, "dgram-%d", first + i);
        if (sendto(fd, msg, (size_t)len, 0, (struct sockaddr *)&ss, sl) == len)
            sent++;
    }
    close(fd);
    return sent;
}

static void
run_until(uv_loop_t *loop, rx_state *s, int want)
{
    uv_timer_t t;

    s->want = want;
    uv_timer_init(loop, &t);
    uv_timer_start(&t, on_timeout, 3000, 0);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

int
main(void)
{
    uv_loop_t loop;
    col_udp_rx *u = NULL;
    col_udp_stats st;
    rx_state s;
    char text[64];
    int port;

    uv_loop_init(&loop);
    memset(&s, 0, sizeof s);
    s.loop = &loop;

    /* Dual-stack, all addresses, ephemeral port. */
    CHECK_OK(col_udp_open(&u, &loop, NULL, 0, 1 << 20, on_dgram, on_drain, &s), "open [::]:0");
    port = col_udp_port(u);
    CHECK(port > 0, "bound to an ephemeral port");
    CHECK_EQ(send_n(AF_INET, port, 0, 200), 200, "sent 200 over IPv4");
    run_until(&loop, &s, 200);
    CHECK_EQ(s.n, 200, "all IPv4 datagrams received");
    CHECK_EQ(s.bad_payload, 0, "payloads intact, in order");
    CHECK(s.drains >= 1, "drain callback ran");
    sfa_addr_format(&s.last_src, text);
    CHECK_STR(text, "127.0.0.1", "IPv4-mapped source reported as IPv4");
    CHECK(s.last_port > 0, "source port reported");

    CHECK_EQ(send_n(AF_INET6, port, 200, 10), 10, "sent 10 over IPv6");
    run_until(&loop, &s, 210);
    CHECK_EQ(s.n, 210, "IPv6 datagrams received on the dual-stack socket");
    sfa_addr_format(&s.last_src, text);
    CHECK_STR(text, "::1", "IPv6 source");

    col_udp_get_stats(u, &st);
    CHECK_EQ(st.datagrams, 210, "datagram counter");
    CHECK_EQ(st.bytes, s.bytes, "byte counter");
    CHECK(st.recvmmsg_calls >= 1 && st.recvmmsg_calls <= 210, "recvmmsg batches");
    CHECK_EQ(st.kernel_drops, 0, "no kernel drops");
    CHECK(st.rcvbuf >= 65536, "receive buffer set");
    col_udp_close(u);
    uv_run(&loop, UV_RUN_DEFAULT);

    /* Bound to one address. */
    memset(&s, 0, sizeof s);
    s.loop = &loop;
    CHECK_OK(col_udp_open(&u, &loop, "127.0.0.1", 0, 0, on_dgram, on_drain, &s),
             "open 127.0.0.1:0");
    port = col_udp_port(u);
    CHECK_EQ(send_n(AF_INET, port, 0, 5), 5, "sent 5");
    run_until(&loop, &s, 5);
    CHECK_EQ(s.n, 5, "received on the bound address");
    col_udp_close(u);
    uv_run(&loop, UV_RUN_DEFAULT);

    /* A port in use is an error, not a crash. */
    col_udp_rx *a = NULL, *b = NULL;
    CHECK_OK(col_udp_open(&a, &loop, "127.0.0.1", 0, 0, on_dgram, on_drain, &s), "open a");
    CHECK(col_udp_open(&b, &loop, "127.0.0.1", col_udp_port(a), 0, on_dgram, on_drain, &s) < 0,
          "second bind to the same port fails");
    CHECK(col_udp_open(&b, &loop, "192.0.2.1", 0, 0, on_dgram, on_drain, &s) < 0,
          "an address not on this host fails");
    col_udp_close(a);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_OK(uv_loop_close(&loop), "every handle closed");
    return test_done();
}
