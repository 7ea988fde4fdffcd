/* bench_decode.c - throughput of the sFlow decoder, alone and with the
 * bus encoder (the collector's per-datagram path).
 *
 * Loads the UDP payloads of pcap captures into memory (sFlow captures of
 * tests/data or shared/data/sflow, or the files named on the command
 * line), then for about a second of CPU time per file and mode decodes
 * them in a loop on one core ("decode"), or decodes and encodes each
 * datagram's flow and counter samples into 256 KiB bus batches as the
 * collector does ("decode+encode"). Prints datagrams/s, flow samples/s
 * and ns per flow sample (rates per second of this thread's CPU time).
 * Prints numbers and asserts nothing (STYLE: timing never goes into tests).
 * Single-threaded.
 */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sfa/codec.h>
#include <sfa/mem.h>

#include "pcap_frame.h"
#include "sflow_decode.h"

#ifndef BENCH_SHARED_DIR
#define BENCH_SHARED_DIR "/work/shared/data/sflow"
#endif

typedef struct bench_set {
    uint8_t *data; /* all payloads back to back */
    size_t *off;   /* start of each payload */
    size_t *len;
    size_t n, cap, used, data_cap;
} bench_set;

static void
bench_add(bench_set *set, const uint8_t *p, size_t len)
{
    if (set->n == set->cap) {
        set->cap = set->cap ? 2 * set->cap : 1024;
        set->off = sfa_xrealloc(set->off, set->cap * sizeof *set->off);
        set->len = sfa_xrealloc(set->len, set->cap * sizeof *set->len);
    }
    while (set->used + len > set->data_cap) {
        set->data_cap = set->data_cap ? 2 * set->data_cap : 1 << 20;
        set->data = sfa_xrealloc(set->data, set->data_cap);
    }
    memcpy(set->data + set->used, p, len);
    set->off[set->n] = set->used;
    set->len[set->n] = len;
    set->used += len;
    set->n++;
}

static int
bench_load(const char *path, bench_set *set)
{
    char err[PCAP_ERRBUF_SIZE];
    struct pcap_pkthdr *h;
    const u_char *frame;
    pcap_t *pc = pcap_open_offline(path, err);
    if (!pc) {
        fprintf(stderr, "bench-decode: %s: %s\n", path, err);
        return -1;
    }
    int link = pcap_datalink(pc);
    while (pcap_next_ex(pc, &h, &frame) == 1) {
        col_pcap_udp u;
        if (col_pcap_frame_udp(link, frame, h->caplen, &u) == 0 && u.len)
            bench_add(set, u.payload, u.len);
    }
    pcap_close(pc);
    return 0;
}

static double
bench_now(void)
{
    struct timespec ts;
    /* Thread CPU time: the machine is shared, wall time would count others' work. */
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define BENCH_BATCH (256 * 1024)

/* Encode d's samples of kind into b, starting a new batch when full. */
static void
bench_encode(sfa_batch *b, uint8_t *buf, const sfa_dgram *d, int kind)
{
    if (sfa_batch_add(b, d, kind) == 0)
        return;
    (void)sfa_batch_finish(b, 1, 0);
    if (sfa_batch_begin(b, buf, BENCH_BATCH, "flow.v1.00", "bench") == 0 &&
        sfa_batch_add(b, d, kind) != 0)
        fprintf(stderr, "bench-decode: a datagram does not fit an empty batch\n");
}

/* Decode (and encode when enc) the set repeatedly for about min_s seconds;
 * print the rates. */
static void
bench_run(const char *name, const bench_set *set, sfa_dgram *d, double min_s, int enc)
{
    static uint8_t fbuf[BENCH_BATCH], cbuf[BENCH_BATCH];
    sfa_batch fb, cb;
    col_decode_stats st;
    uint64_t flows = 0, counters = 0, dgrams = 0;
    double t0 = bench_now(), t;

    memset(&st, 0, sizeof st);
    if (sfa_batch_begin(&fb, fbuf, sizeof fbuf, "flow.v1.00", "bench") ||
        sfa_batch_begin(&cb, cbuf, sizeof cbuf, "counter.v1.00", "bench"))
        return;
    do {
        for (size_t i = 0; i < set->n; i++) {
            (void)col_sflow_decode(set->data + set->off[i], set->len[i], d, &st);
            if (enc) {
                bench_encode(&fb, fbuf, d, SFA_KIND_FLOW);
                bench_encode(&cb, cbuf, d, SFA_KIND_COUNTER);
            }
            for (uint32_t k = 0; k < d->nsamples; k++) {
                flows += sfa_sample_is_flow(&d->samples[k]) || d->samples[k].tag == 5;
                counters += sfa_sample_is_counter(&d->samples[k]);
            }
        }
        dgrams += set->n;
        t = bench_now() - t0;
    } while (t < min_s);
    printf(
        "%-14s %-40s %9.0f dgram/s %11.0f flow samples/s %9.0f counter samples/s %6.1f ns/flow\n",
        enc ? "decode+encode" : "decode", name, (double)dgrams / t, (double)flows / t,
        (double)counters / t, flows ? t * 1e9 / (double)flows : 0.0);
}

int
main(int argc, char **argv)
{
    static const char *defaults[] = {
        BENCH_SHARED_DIR "/overflowd-sflow.pcap",
        BENCH_SHARED_DIR "/fabric-demo.pcap",
        BENCH_SHARED_DIR "/akvorado-data-1140.pcap",
        BENCH_SHARED_DIR "/cistern-samples.pcap",
    };
    const char **files = (const char **)(argv + 1);
    int nfiles = argc - 1;
    double secs = getenv("BENCH_SECONDS") ? atof(getenv("BENCH_SECONDS")) : 1.0;
    sfa_dgram *d = sfa_xcalloc(1, sizeof *d);
    bench_set all = {0};

    if (nfiles == 0) {
        files = defaults;
        nfiles = (int)(sizeof defaults / sizeof defaults[0]);
    }
    printf("bench-decode: one core, per CPU second, sizeof(sfa_dgram) = %zu\n", sizeof *d);
    for (int i = 0; i < nfiles; i++) {
        bench_set set = {0};
        if (bench_load(files[i], &set) || set.n == 0) {
            free(set.data);
            free(set.off);
            free(set.len);
            continue;
        }
        const char *base = strrchr(files[i], '/');
        for (int enc = 0; enc < 2; enc++)
            bench_run(base ? base + 1 : files[i], &set, d, secs, enc);
        for (size_t k = 0; k < set.n; k++)
            bench_add(&all, set.data + set.off[k], set.len[k]);
        free(set.data);
        free(set.off);
        free(set.len);
    }
    if (all.n)
        for (int enc = 0; enc < 2; enc++)
            bench_run("(all files)", &all, d, secs, enc);
    free(all.data);
    free(all.off);
    free(all.len);
    free(d);
    return 0;
}
