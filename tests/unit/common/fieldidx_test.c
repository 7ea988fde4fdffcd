/* fieldidx_test.c - sfa_flowdef_eval_ix (through sfa_fieldidx_build) gives
 * exactly what sfa_flowdef_eval gives: same matches, keys and values, for
 * many definitions on many samples, with repeated fields (the first one
 * counts), samples whose fields run past the datagram, and across the
 * wrap of the build counter. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/flowdef.h>
#include <sfa/groups.h>

#include "flow_sample.h"
#include "test.h"

static const char *const defs[] = {
    "{\"keys\":\"ipsource,ipdestination\",\"value\":\"bytes\"}",
    "{\"keys\":\"ipsource\",\"value\":\"frames\",\"filter\":\"tcpdestinationport=443\"}",
    "{\"keys\":\"macsource,macdestination,vlan\",\"value\":\"bytes\",\"values\":\"frames\"}",
    "{\"keys\":\"or:tcpsourceport:udpsourceport,null:ip6source:none\",\"value\":\"ipbytes\"}",
    "{\"keys\":\"stack,tcpflags,ipdscpname,inputifindex,agent\",\"value\":\"count:ipsource\"}",
    "{\"keys\":\"mask:ipdestination:16,group:ipsource:site\",\"value\":\"avg:ipttl\","
    "\"filter\":\"ipprotocol=6&ipsource~10\\\\..*\"}",
    "{\"value\":\"bytes\",\"filter\":\"vlan!=null\"}",
    "{\"keys\":\"udpdestinationport\",\"value\":\"max:framelength\",\"dropped\":true}",
};
#define NDEFS (sizeof defs / sizeof defs[0])

static sfa_flowdef *fds[NDEFS];
static sfa_tables *tabs;

/* Both evaluations of every definition on sample s agree. */
static int
fi_agree(sfa_fieldidx *ix, const sfa_dgram *d, const sfa_sample *s, int *matches)
{
    sfa_fieldidx_build(ix, d, s, NULL, 0);
    for (size_t i = 0; i < NDEFS; i++) {
        char k1[SFA_FLOWDEF_KEY_MAX], k2[SFA_FLOWDEF_KEY_MAX];
        double v1[SFA_FLOWDEF_MAX_VALUES] = {0}, v2[SFA_FLOWDEF_MAX_VALUES] = {0};
        size_t l1 = 0, l2 = 0;
        int r1 = sfa_flowdef_eval(fds[i], d, s, tabs, k1, sizeof k1, &l1, v1);
        int r2 = sfa_flowdef_eval_ix(fds[i], ix, tabs, k2, sizeof k2, &l2, v2);

        if (r1 != r2 ||
            (r1 && (l1 != l2 || memcmp(k1, k2, l1) != 0 ||
                    memcmp(v1, v2, sizeof v1[0] * (size_t)sfa_flowdef_nvalues(fds[i])) != 0))) {
            printf("# definition %zu: eval %d '%.*s', eval_ix %d '%.*s'\n", i, r1, (int)l1, k1, r2,
                   (int)l2, k2);
            return 0;
        }
        *matches += r1;
    }
    return 1;
}

static void
fi_udp4(sfa_dgram *d, uint32_t ds, const char *src, unsigned port)
{
    fs_sample(d, SFA_SAMPLE_FLOW, ds, 512);
    fs_u(d, SFA_F_FRAME_LENGTH, 100 + port % 1000);
    fs_str(d, SFA_F_STACK, "eth.ip.udp");
    fs_ip(d, SFA_F_IPSOURCE, src);
    fs_ip(d, SFA_F_IPDESTINATION, "192.168.7.7");
    fs_u(d, SFA_F_IPPROTOCOL, 17);
    fs_u(d, SFA_F_UDPSOURCEPORT, port);
    fs_u(d, SFA_F_UDPDESTINATIONPORT, 53);
}

static void
test_equivalence(void)
{
    sfa_dgram *d = fs_dgram_new("192.0.2.1");
    sfa_fieldidx *ix = calloc(1, sizeof *ix);
    int ok = 1, matches = 0;
    char src[32], dst[32];

    for (int i = 0; i < 40; i++) {
        snprintf(src, sizeof src, "10.%d.%d.%d", i % 3, i % 7, 1 + i);
        snprintf(dst, sizeof dst, "172.16.%d.%d", i % 5, 2 + i);
        if (i % 4 == 3) {
            fi_udp4(d, 1 + (uint32_t)i % 3, src, 1000 + (unsigned)i);
        } else {
            fs_tcp4(d, 1 + (uint32_t)i % 3, 100, src, dst, 1024 + (unsigned)i, i % 2 ? 443 : 80,
                    64 + 10 * (unsigned)i);
            if (i % 5 == 0) /* a repeated field: the first one counts */
                fs_ip(d, SFA_F_IPSOURCE, "10.99.99.99");
        }
        if (i % 9 == 4) {
            fs_sample(d, SFA_SAMPLE_DISCARD, 7, 0);
            fs_u(d, SFA_F_FRAME_LENGTH, 90);
            fs_u(d, SFA_F_UDPDESTINATIONPORT, 161);
        }
    }
    for (uint32_t i = 0; i < d->nsamples; i++)
        ok &= fi_agree(ix, d, &d->samples[i], &matches);
    CHECK(ok, "eval_ix agrees with eval on every definition and sample");
    CHECK(matches > 100, "and most of them match something");

    /* Fields that run past the datagram are clamped the same way. */
    d->samples[0].field_count = d->nfields + 10;
    d->samples[1].field_first = d->nfields + 5;
    ok = fi_agree(ix, d, &d->samples[0], &matches) && fi_agree(ix, d, &d->samples[1], &matches);
    CHECK(ok, "clamped and empty field spans agree");
    free(ix);
    free(d);
}

/* With seen, the same pass notes the time of every field id present. */
static void
test_seen(void)
{
    sfa_dgram *d = fs_dgram_new("192.0.2.1");
    sfa_fieldidx *ix = calloc(1, sizeof *ix);
    static double seen[SFA_F__COUNT];
    sfa_sample *s = fs_tcp4(d, 1, 10, "10.0.0.1", "10.0.0.2", 1000, 80, 100);
    int right = 1, others = 1;

    for (unsigned id = 0; id < SFA_F__COUNT; id++)
        seen[id] = -1;
    sfa_fieldidx_build(ix, d, s, seen, 42.5);
    for (uint32_t i = 0; i < s->field_count; i++)
        right &= seen[d->fields[s->field_first + i].id] == 42.5;
    for (unsigned id = 0; id < SFA_F__COUNT; id++)
        if (seen[id] != -1 && seen[id] != 42.5)
            others = 0;
    CHECK(right, "seen[id] = now for every field of the sample");
    CHECK(others && seen[SFA_F_UDPSOURCEPORT] == -1, "other entries untouched");
    free(ix);
    free(d);
}

static void
test_wrap(void)
{
    sfa_dgram *d = fs_dgram_new("192.0.2.1");
    sfa_fieldidx *ix = calloc(1, sizeof *ix);
    sfa_sample *with, *without;
    char key[256];
    size_t len;
    double vals[SFA_FLOWDEF_MAX_VALUES];
    int matches = 0;

    with = fs_tcp4(d, 1, 10, "10.0.0.1", "10.0.0.2", 1000, 80, 100);
    fi_udp4(d, 2, "10.0.0.3", 5000);
    without = &d->samples[1];
    sfa_fieldidx_build(ix, d, with, NULL, 0); /* build 1: macsource at its position */
    ix->gen = UINT32_MAX;                     /* as after 2^32 - 2 more builds */
    sfa_fieldidx_build(ix, d, without, NULL, 0);
    CHECK_EQ(ix->gen, 1, "the build counter wraps to 1");
    CHECK_EQ(sfa_flowdef_eval_ix(fds[2], ix, tabs, key, sizeof key, &len, vals), 0,
             "an entry of build 1 before the wrap is not taken for one of the new build 1");
    CHECK(fi_agree(ix, d, without, &matches) && fi_agree(ix, d, with, &matches),
          "after the wrap both evaluations still agree");
    free(ix);
    free(d);
}

int
main(void)
{
    char err[256];
    json_t *groups = json_pack("{s:{s:[s]}}", "site", "lab", "10.1.0.0/16");

    tabs = sfa_tables_build(groups, NULL);
    json_decref(groups);
    for (size_t i = 0; i < NDEFS; i++) {
        json_t *spec = json_loads(defs[i], 0, NULL);

        if (!spec || sfa_flowdef_compile(spec, &fds[i], err, sizeof err) != 0) {
            printf("# definition %zu: %s\n", i, spec ? err : "bad JSON");
            return 1;
        }
        json_decref(spec);
    }
    test_equivalence();
    test_seen();
    test_wrap();
    for (size_t i = 0; i < NDEFS; i++)
        sfa_flowdef_destroy(fds[i]);
    sfa_tables_destroy(tabs);
    return test_done();
}
