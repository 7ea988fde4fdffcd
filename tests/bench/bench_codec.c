/* bench_codec.c - nanoseconds per flow sample through the bus codec.
 *
 * Builds a typical datagram by hand (8 flow samples, each with a 128-byte
 * sampled header and the 24 fields the decoder extracts from an Ethernet/
 * IPv4/TCP header plus extended_switch) and times, on one core:
 *   encode - sfa_batch_add into 64 kB batches (begin/finish included), the
 *            collector's per-datagram work after decoding;
 *   decode - sfa_codec_parse + sfa_codec_each_dgram of those batches, an
 *            aggregator's per-message work;
 *   decode, varied - the same over 64 batches whose samples differ in
 *            addresses, MACs, ports and lengths (random, so value forms
 *            and text lengths change from sample to sample as in real
 *            traffic and nothing is learnt from repeated values).
 * Times are this thread's CPU time (the machine is shared; wall time would
 * count other processes), with wall time alongside.
 * Prints numbers only; asserts nothing (timing targets stay out of tests).
 * Usage: bench_codec [seconds-per-run] (default 2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sfa/clock.h>
#include <sfa/codec.h>
#include <sfa/mem.h>

#define SAMPLES 8
#define BATCH 65536
#define VARIED 64

static uint8_t header[128];

static void
bench_field(sfa_dgram *d, sfa_sample *s, unsigned id, unsigned type, uint64_t u)
{
    sfa_field *f = &d->fields[d->nfields++];
    memset(f, 0, sizeof *f);
    f->id = (uint16_t)id;
    f->type = (uint8_t)type;
    f->v.u = u;
    s->field_count++;
}

static void
bench_build(sfa_dgram *d)
{
    memset(d, 0, offsetof(sfa_dgram, samples));
    sfa_addr_parse("10.20.30.40", &d->agent);
    sfa_addr_parse("10.20.30.40", &d->src);
    d->src_port = 50123;
    d->rx_ms = 1700000000000ull;
    d->len = 1400;
    d->version = 5;
    d->seq = 123456;
    d->uptime = 987654321;
    for (int i = 0; i < 128; i++)
        header[i] = (uint8_t)(i * 7);
    for (uint32_t k = 0; k < SAMPLES; k++) {
        sfa_sample *s = &d->samples[d->nsamples++];
        memset(s, 0, sizeof *s);
        s->tag = SFA_SAMPLE_FLOW;
        s->seq = 1000 + k;
        s->ds_index = 5 + k;
        s->rate = 4096;
        s->pool = 4096 * (1000 + k);
        s->in_val = 5 + k;
        s->out_val = 17;
        s->field_first = d->nfields;
        s->rec_first = d->nrecs;
        d->rec_tags[d->nrecs++] = 1;
        d->rec_tags[d->nrecs++] = 1001;
        s->rec_count = 2;
        bench_field(d, s, SFA_F_HEADER_PROTOCOL, SFA_T_U, 1);
        bench_field(d, s, SFA_F_FRAME_LENGTH, SFA_T_U, 1518);
        bench_field(d, s, SFA_F_STRIPPED, SFA_T_U, 4);
        bench_field(d, s, SFA_F_HEADER_LENGTH, SFA_T_U, 128);
        sfa_field *f = &d->fields[d->nfields];
        bench_field(d, s, SFA_F_HEADER, SFA_T_BIN, 0);
        f->v.p = header;
        f->n = sizeof header;
        f = &d->fields[d->nfields];
        bench_field(d, s, SFA_F_STACK, SFA_T_STR, 0);
        f->v.p = (const uint8_t *)"eth.ip.tcp";
        f->n = 10;
        f = &d->fields[d->nfields];
        bench_field(d, s, SFA_F_MACSOURCE, SFA_T_MAC, 0);
        memcpy(f->v.a, "\x00\x1b\x21\x3c\x4d\x5e", 6);
        f = &d->fields[d->nfields];
        bench_field(d, s, SFA_F_MACDESTINATION, SFA_T_MAC, 0);
        memcpy(f->v.a, "\x00\x1b\x21\x3c\x4d\x5f", 6);
        bench_field(d, s, SFA_F_ETHERNETPROTOCOL, SFA_T_U, 0x0800);
        f = &d->fields[d->nfields];
        bench_field(d, s, SFA_F_IPSOURCE, SFA_T_IP4, 0);
        memcpy(f->v.a, "\xc0\xa8\x01\x64", 4);
        f = &d->fields[d->nfields];
        bench_field(d, s, SFA_F_IPDESTINATION, SFA_T_IP4, 0);
        memcpy(f->v.a, "\x0a\x00\x00\x0b", 4);
        bench_field(d, s, SFA_F_IPPROTOCOL, SFA_T_U, 6);
        bench_field(d, s, SFA_F_IPTOS, SFA_T_U, 0);
        bench_field(d, s, SFA_F_IPDSCP, SFA_T_U, 0);
        bench_field(d, s, SFA_F_IPECN, SFA_T_U, 0);
        bench_field(d, s, SFA_F_IPTTL, SFA_T_U, 64);
        bench_field(d, s, SFA_F_IPBYTES, SFA_T_U, 1500);
        bench_field(d, s, SFA_F_IPFLAGS, SFA_T_U, 2);
        bench_field(d, s, SFA_F_IPFRAGOFFSET, SFA_T_U, 0);
        bench_field(d, s, SFA_F_TCPSOURCEPORT, SFA_T_U, 443);
        bench_field(d, s, SFA_F_TCPDESTINATIONPORT, SFA_T_U, 51234 + k);
        bench_field(d, s, SFA_F_TCPFLAGS, SFA_T_U, 0x18);
        bench_field(d, s, SFA_F_VLANSOURCE, SFA_T_U, 10);
        bench_field(d, s, SFA_F_VLANDESTINATION, SFA_T_U, 20);
    }
}

static uint64_t bench_rng = 0x9e3779b97f4a7c15ull;

static uint32_t
bench_rand(void)
{
    bench_rng ^= bench_rng << 13;
    bench_rng ^= bench_rng >> 7;
    bench_rng ^= bench_rng << 17;
    return (uint32_t)(bench_rng >> 16);
}

/* New random values for the fields of d that vary in traffic. */
static void
bench_vary(sfa_dgram *d)
{
    for (uint32_t i = 0; i < d->nfields; i++) {
        sfa_field *f = &d->fields[i];
        uint32_t r = bench_rand();
        switch (f->id) {
        case SFA_F_FRAME_LENGTH:
        case SFA_F_IPBYTES:
            f->v.u = 46 + r % 1472;
            break;
        case SFA_F_TCPSOURCEPORT:
        case SFA_F_TCPDESTINATIONPORT:
            f->v.u = r % 4 ? 1024 + r % 64000 : r % 1024;
            break;
        case SFA_F_IPSOURCE:
        case SFA_F_IPDESTINATION:
            memcpy(f->v.a, &r, 4);
            break;
        case SFA_F_MACSOURCE:
        case SFA_F_MACDESTINATION:
            memcpy(f->v.a + 2, &r, 4);
            break;
        default:
            break;
        }
    }
}

/* This thread's CPU time, us. */
static uint64_t
bench_cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int
bench_count_cb(const sfa_dgram *d, void *arg)
{
    *(uint64_t *)arg += d->nsamples;
    return 0;
}

int
main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 2.0;
    sfa_dgram *d = sfa_xmalloc(sizeof *d), *scratch = sfa_xmalloc(sizeof *scratch);
    uint8_t *buf = sfa_xmalloc(BATCH);
    uint64_t samples = 0, msgs = 0, t0, t1, end, c0, c1;
    sfa_batch b;

    bench_build(d);
    /* Encode: as the collector does, a batch per topic, flushed when full. */
    t0 = sfa_clock_us();
    c0 = bench_cpu_us();
    end = t0 + (uint64_t)(secs * 1e6);
    if (sfa_batch_begin(&b, buf, BATCH, "flow.v1.2c", "collector-bench"))
        return 2;
    do {
        for (int i = 0; i < 1000; i++) {
            if (sfa_batch_add(&b, d, SFA_KIND_FLOW) == SFA_ELIMIT) {
                sfa_batch_finish(&b, ++msgs, 0);
                if (sfa_batch_begin(&b, buf, BATCH, "flow.v1.2c", "collector-bench") ||
                    sfa_batch_add(&b, d, SFA_KIND_FLOW))
                    return 2;
            }
            samples += SAMPLES;
        }
        t1 = sfa_clock_us();
    } while (t1 < end);
    c1 = bench_cpu_us();
    printf("encode: %.1f ns per flow sample (CPU time), %.2f M samples/s per core; "
           "wall %.1f ns (%llu batches)\n",
           (double)(c1 - c0) * 1000.0 / (double)samples, (double)samples / (double)(c1 - c0),
           (double)(t1 - t0) * 1000.0 / (double)samples, (unsigned long long)msgs);

    /* Decode one full batch repeatedly. */
    if (sfa_batch_begin(&b, buf, BATCH, "flow.v1.2c", "collector-bench"))
        return 2;
    uint32_t per_batch = 0;
    while (sfa_batch_add(&b, d, SFA_KIND_FLOW) == 0)
        per_batch++;
    size_t len = sfa_batch_finish(&b, 1, 0);
    uint64_t dec_samples = 0;
    t0 = sfa_clock_us();
    c0 = bench_cpu_us();
    end = t0 + (uint64_t)(secs * 1e6);
    do {
        for (int i = 0; i < 10; i++) {
            sfa_envelope env;
            if (sfa_codec_parse(buf, len, &env) ||
                sfa_codec_each_dgram(&env, scratch, bench_count_cb, &dec_samples))
                return 2;
        }
        t1 = sfa_clock_us();
    } while (t1 < end);
    c1 = bench_cpu_us();
    printf("encoded size: %.0f bytes per flow sample (%u datagrams of %d samples per %zu-byte "
           "batch)\n",
           (double)len / (double)(per_batch * SAMPLES), per_batch, SAMPLES, len);
    printf("decode: %.1f ns per flow sample (CPU time), %.2f M samples/s per core; wall %.1f ns\n",
           (double)(c1 - c0) * 1000.0 / (double)dec_samples,
           (double)dec_samples / (double)(c1 - c0),
           (double)(t1 - t0) * 1000.0 / (double)dec_samples);

    /* Decode batches of varied samples in turn. */
    uint8_t *varied = sfa_xmalloc((size_t)VARIED * BATCH);
    size_t vlen[VARIED];
    for (int k = 0; k < VARIED; k++) {
        if (sfa_batch_begin(&b, varied + (size_t)k * BATCH, BATCH, "flow.v1.2c", "collector-bench"))
            return 2;
        do
            bench_vary(d);
        while (sfa_batch_add(&b, d, SFA_KIND_FLOW) == 0);
        vlen[k] = sfa_batch_finish(&b, 1, 0);
    }
    dec_samples = 0;
    t0 = sfa_clock_us();
    c0 = bench_cpu_us();
    end = t0 + (uint64_t)(secs * 1e6);
    do {
        for (int k = 0; k < VARIED; k++) {
            sfa_envelope env;
            if (sfa_codec_parse(varied + (size_t)k * BATCH, vlen[k], &env) ||
                sfa_codec_each_dgram(&env, scratch, bench_count_cb, &dec_samples))
                return 2;
        }
        t1 = sfa_clock_us();
    } while (t1 < end);
    c1 = bench_cpu_us();
    printf("decode, varied: %.1f ns per flow sample (CPU time), %.2f M samples/s per core; wall "
           "%.1f ns\n",
           (double)(c1 - c0) * 1000.0 / (double)dec_samples,
           (double)dec_samples / (double)(c1 - c0),
           (double)(t1 - t0) * 1000.0 / (double)dec_samples);
    free(varied);
    free(buf);
    free(scratch);
    free(d);
    return 0;
}
