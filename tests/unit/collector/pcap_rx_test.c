/* pcap_rx_test.c - capture replay: paced, fast, looping, port selection.
 *
 * Writes a small classic pcap (Ethernet/IPv4/UDP frames with known
 * payloads, one frame to another port, one TCP frame, one fragment) and
 * replays it through pcap_rx.c, checking what is delivered, what is
 * counted, that paced replay keeps the capture's spacing (a lower bound
 * only), and that the loop stays alive after the file ends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sfa/clock.h>

#include "col.h"
#include "test.h"

typedef struct rx_state {
    int n;
    int drains;
    int bad;
    uint64_t first_us, last_us;
} rx_state;

static void
wr32(FILE *f, uint32_t v)
{
    fwrite(&v, 4, 1, f); /* host order: the magic tells the reader */
}

static void
be16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* One Ethernet/IPv4 frame: proto 17 (UDP) or 6, payload "sflow-<i>". */
static void
write_frame(FILE *f, uint32_t sec, uint32_t usec, int proto, unsigned dport, int frag, int i)
{
    uint8_t fr[128];
    char payload[16];
    int plen = snprintf(payload, sizeof payload, "sflow-%d", i);
    size_t iplen = 20 + 8 + (size_t)plen, n = 14 + iplen;

    memset(fr, 0, sizeof fr);
    be16(fr + 12, 0x0800);
    fr[14] = 0x45;
    be16(fr + 16, (unsigned)iplen);
    if (frag)
        be16(fr + 20, 0x2000); /* more fragments */
    fr[22] = 64;
    fr[23] = (uint8_t)proto;
    memcpy(fr + 26, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
    be16(fr + 34, 40000);
    be16(fr + 36, dport);
    be16(fr + 38, 8 + (unsigned)plen);
    memcpy(fr + 42, payload, (size_t)plen);
    wr32(f, sec);
    wr32(f, usec);
    wr32(f, (uint32_t)n);
    wr32(f, (uint32_t)n);
    fwrite(fr, 1, n, f);
}

/* 6 sFlow frames 40 ms apart, plus 3 that must not be delivered. */
static void
write_capture(const char *path)
{
    FILE *f = fopen(path, "wb");

    wr32(f, 0xa1b2c3d4u);
    wr32(f, 0x00040002u); /* version 2.4, host order: minor in the high half */
    wr32(f, 0);
    wr32(f, 0);
    wr32(f, 65535);
    wr32(f, 1);
    for (int i = 0; i < 6; i++) {
        write_frame(f, 1000, (uint32_t)i * 40000, 17, 6343, 0, i);
        if (i == 1)
            write_frame(f, 1000, 50000, 17, 9999, 0, 99); /* another port */
        if (i == 2)
            write_frame(f, 1000, 90000, 6, 6343, 0, 99); /* TCP */
        if (i == 3)
            write_frame(f, 1000, 130000, 17, 6343, 1, 99); /* fragment */
    }
    fclose(f);
}

static void
on_dgram(void *arg, const uint8_t *buf, size_t len, const sfa_addr *src, uint16_t port,
         uint64_t rx_ms)
{
    rx_state *s = arg;
    char want[16], text[48];

    snprintf(want, sizeof want, "sflow-%d", s->n % 6);
    if (len != strlen(want) || memcmp(buf, want, len) != 0)
        s->bad++;
    sfa_addr_format(src, text);
    if (strcmp(text, "10.0.0.1") != 0 || port != 40000 || rx_ms == 0)
        s->bad++;
    if (s->n == 0)
        s->first_us = sfa_clock_us();
    s->last_us = sfa_clock_us();
    s->n++;
}

static int cnt;

static void
on_count(void *arg, const uint8_t *buf, size_t len, const sfa_addr *src, uint16_t port,
         uint64_t rx_ms)
{
    cnt++;
}

static void
on_drain(void *arg)
{
    ((rx_state *)arg)->drains++;
}

static void
on_timeout(uv_timer_t *t)
{
    uv_stop(t->loop);
}

/* Run the loop for ms, then close p and let it finish closing. */
static void
run_for(uv_loop_t *loop, col_pcap_rx *p, uint64_t ms)
{
    uv_timer_t t;

    uv_timer_init(loop, &t);
    uv_timer_start(&t, on_timeout, ms, 0);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t, NULL);
    col_pcap_close(p);
    uv_run(loop, UV_RUN_DEFAULT);
}

int
main(void)
{
    char path[] = "/tmp/pcap_rx_test-XXXXXX";
    int fd = mkstemp(path);
    uv_loop_t loop;
    col_pcap_rx *p = NULL;
    col_pcap_stats st;
    rx_state s;

    if (fd < 0)
        return 1;
    close(fd);
    write_capture(path);
    uv_loop_init(&loop);

    /* Paced, once: 6 datagrams spread over 200 ms of capture time. */
    memset(&s, 0, sizeof s);
    CHECK_OK(col_pcap_open(&p, &loop, path, 6343, 0, 0, on_dgram, on_drain, &s), "open paced");
    run_for(&loop, p, 600);
    CHECK_EQ(s.n, 6, "six sFlow datagrams delivered");
    CHECK_EQ(s.bad, 0, "payloads, source and port intact");
    CHECK(s.last_us - s.first_us >= 150000, "paced: the capture's 200 ms spacing is kept");
    CHECK(s.drains >= 6, "a drain after each paced delivery");

    /* Fast, looping: the file starts over at its end. */
    memset(&s, 0, sizeof s);
    CHECK_OK(col_pcap_open(&p, &loop, path, 6343, 1, 1, on_dgram, on_drain, &s), "open fast loop");
    uv_timer_t t;
    uv_timer_init(&loop, &t);
    uv_timer_start(&t, on_timeout, 100, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    col_pcap_get_stats(p, &st);
    CHECK(st.passes >= 2, "looping: several passes in 100 ms");
    CHECK(s.n >= 12, "datagrams of every pass delivered");
    CHECK_EQ(s.bad, 0, "in capture order, pass after pass");
    CHECK_EQ(st.sflow, (uint64_t)s.n, "pcap_sflow counts deliveries");
    CHECK(st.fragments >= st.passes, "the fragment counted each pass");
    CHECK(st.non_sflow >= 2 * st.passes, "TCP and other-port frames counted each pass");
    uv_close((uv_handle_t *)&t, NULL);
    col_pcap_close(p);
    uv_run(&loop, UV_RUN_DEFAULT);

    /* Fast, once, any UDP port: 7 datagrams, then the replay ends quietly. */
    cnt = 0;
    CHECK_OK(col_pcap_open(&p, &loop, path, 0, 1, 0, on_count, on_drain, &s), "open any port");
    run_for(&loop, p, 100);
    CHECK_EQ(cnt, 7, "sflow.file.port 0 takes every UDP datagram once");

    CHECK(col_pcap_open(&p, &loop, "/nonexistent/file.pcap", 6343, 1, 0, on_dgram, on_drain, &s) <
              0,
          "missing file is an error");
    CHECK_OK(uv_loop_close(&loop), "every handle closed");
    unlink(path);
    return test_done();
}
