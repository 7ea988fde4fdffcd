/* bench_flowdef.c - evaluation cost of flow definitions on the aggregator's
 * hot path (an executable, not a test: timing never goes into tests).
 *
 * Builds a datagram of realistic decoded samples (about 30 fields each, as
 * a switch's Ethernet/IPv4/TCP sample decodes) and evaluates definitions
 * over them in a loop, printing nanoseconds of CPU time per sample. Usage:
 *   bench_flowdef [iterations]      (default 5,000,000 evaluations each)
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <sfa/flowdef.h>
#include <sfa/groups.h>

#include "flow_sample.h"

/* This thread's CPU time, s: the machine is shared, so wall time would
 * count other processes' work. */
static double
bench_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
bench_run(const char *name, const char *spec_json, const sfa_dgram *d, const sfa_tables *tabs,
          long iters)
{
    json_t *spec = json_loads(spec_json, 0, NULL);
    sfa_flowdef *fd = NULL;
    char err[256], key[SFA_FLOWDEF_KEY_MAX];
    double vals[SFA_FLOWDEF_MAX_VALUES], sum = 0, t0, t1;
    size_t len;
    long hits = 0;

    if (!spec || sfa_flowdef_compile(spec, &fd, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", name, spec ? err : "bad JSON");
        exit(1);
    }
    t0 = bench_now();
    for (long i = 0; i < iters; i++) {
        const sfa_sample *s = &d->samples[i % d->nsamples];
        if (sfa_flowdef_eval(fd, d, s, tabs, key, sizeof key, &len, vals)) {
            hits++;
            sum += vals[0] + (double)len;
        }
    }
    t1 = bench_now();
    printf("%-28s %7.1f ns/sample  %6.2f M samples/s  (%ld of %ld counted, checksum %.0f)\n", name,
           (t1 - t0) * 1e9 / (double)iters, (double)iters / (t1 - t0) / 1e6, hits, iters, sum);
    sfa_flowdef_destroy(fd);
    json_decref(spec);
}

int
main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 5000000;
    sfa_dgram *d = fs_dgram_new("192.0.2.254");
    json_t *groups = json_loads("{\"ddos\":{\"external\":[\"0.0.0.0/0\",\"::/0\"],"
                                "\"private\":[\"10.0.0.0/8\",\"172.16.0.0/12\","
                                "\"192.168.0.0/16\",\"fc00::/7\"],"
                                "\"multicast\":[\"224.0.0.0/4\",\"ff00::/8\"]}}",
                                0, NULL);
    sfa_tables *tabs = sfa_tables_build(groups, NULL);

    if (iters <= 0)
        iters = 5000000;
    for (unsigned i = 0; i < 8; i++) {
        char src[32], dst[32];
        snprintf(src, sizeof src, "10.%u.%u.%u", i, 7 * i, 100 + i);
        snprintf(dst, sizeof dst, "198.51.100.%u", 20 + i);
        fs_tcp4(d, 3 + i % 2, 1000, src, dst, 40000 + i, i % 3 ? 443 : 22, 64 + 180 * i);
    }
    printf("%u samples of %u fields each, %ld evaluations per definition\n", d->nsamples,
           d->samples[0].field_count, iters);
    bench_run("ipsource,ipdestination bytes",
              "{\"keys\":\"ipsource,ipdestination\",\"value\":\"bytes\"}", d, tabs, iters);
    bench_run("5-tuple + filter",
              "{\"keys\":\"ipsource,ipdestination,ipprotocol,tcpsourceport,tcpdestinationport\","
              "\"value\":\"bytes\",\"filter\":\"ipprotocol=6&tcpdestinationport!=22\"}",
              d, tabs, iters);
    bench_run("ddos-protect tcp_flood",
              "{\"keys\":\"ipdestination,group:ipdestination:ddos,tcpdestinationport\","
              "\"value\":\"frames\",\"filter\":\"ipprotocol=6&first:stack:.:ip:ip6=ip&"
              "group:ipsource:ddos=private&group:ipdestination:ddos!=private,multicast\"}",
              d, tabs, iters);
    bench_run("regex filter, 3 values",
              "{\"keys\":\"macsource,tcpflags\",\"value\":\"bytes\",\"values\":"
              "\"frames,count:ipsource\",\"filter\":\"tcpflags~....1....\"}",
              d, tabs, iters);
    sfa_tables_destroy(tabs);
    json_decref(groups);
    free(d);
    return 0;
}
