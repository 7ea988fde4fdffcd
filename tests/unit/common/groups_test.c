/* groups_test.c - group sets (longest-prefix, first-label-on-tie, IPv4 and
 * IPv6) and maps, plus validation messages for bad bodies. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/groups.h>

#include "test.h"

static char errbuf[256];

static const char *
gt_validate(const char *json, int map)
{
    json_t *body = json_loads(json, JSON_DECODE_ANY, NULL);
    int rc;

    errbuf[0] = '\0';
    rc = map ? sfa_map_validate(body, errbuf, sizeof errbuf)
             : sfa_groups_validate(body, errbuf, sizeof errbuf);
    json_decref(body);
    return rc == 0 ? "(valid)" : errbuf;
}

static const char *
gt_group(const sfa_tables *t, const char *set, const char *addr)
{
    sfa_addr a;
    const char *label;

    if (sfa_addr_parse(addr, &a) != 0)
        return "(bad address)";
    label = sfa_tables_group(t, set, &a);
    return label ? label : "(none)";
}

static sfa_tables *
gt_build(const char *groups, const char *maps)
{
    json_t *g = groups ? json_loads(groups, 0, NULL) : NULL;
    json_t *m = maps ? json_loads(maps, 0, NULL) : NULL;
    sfa_tables *t = sfa_tables_build(g, m);

    json_decref(g);
    json_decref(m);
    return t;
}

static void
test_validate(void)
{
    CHECK_STR(gt_validate("{\"a\":[\"10.0.0.0/8\",\"fc00::/7\",\"192.0.2.1\"],\"b\":[]}", 0),
              "(valid)", "valid group body");
    CHECK_STR(gt_validate("[]", 0), "group set must be a JSON object", "group not object");
    CHECK_STR(gt_validate("{\"a\":\"10.0.0.0/8\"}", 0), "group a: must be an array of CIDR strings",
              "group list not array");
    CHECK_STR(gt_validate("{\"a\":[\"10.0.0.0/33\"]}", 0), "group a: bad CIDR '10.0.0.0/33'",
              "IPv4 prefix too long");
    CHECK_STR(gt_validate("{\"a\":[\"10.0.0.300\"]}", 0), "group a: bad CIDR '10.0.0.300'",
              "bad IPv4 address");
    CHECK_STR(gt_validate("{\"a\":[\"fe80::/129\"]}", 0), "group a: bad CIDR 'fe80::/129'",
              "IPv6 prefix too long");
    CHECK_STR(gt_validate("{\"a\":[\"10.0.0.0/\"]}", 0), "group a: bad CIDR '10.0.0.0/'",
              "empty prefix length");
    CHECK_STR(gt_validate("{\"a\":[\"10.0.0.0/-1\"]}", 0), "group a: bad CIDR '10.0.0.0/-1'",
              "negative prefix length");
    CHECK_STR(gt_validate("{\"a\":[\"10.0.0.0/8x\"]}", 0), "group a: bad CIDR '10.0.0.0/8x'",
              "junk after prefix length");
    CHECK_STR(gt_validate("{\"a\":[8]}", 0), "group a: bad CIDR '(not a string)'",
              "number in group list");
    CHECK_STR(gt_validate("{\"web\":[\"80\",443]}", 1), "(valid)", "valid map body");
    CHECK_STR(gt_validate("7", 1), "map must be a JSON object", "map not object");
    CHECK_STR(gt_validate("{\"web\":\"80\"}", 1), "map web: must be an array of strings",
              "map list not array");
    CHECK_STR(gt_validate("{\"web\":[true]}", 1), "map web: must be an array of strings",
              "boolean in map list");
    CHECK(gt_build("{\"g\":{\"a\":[\"bogus\"]}}", NULL) == NULL, "build refuses a bad group");
    CHECK(gt_build(NULL, "{\"m\":[1]}") == NULL, "build refuses a bad map");
    CHECK(gt_build("[1]", NULL) == NULL, "build refuses a non-object");
}

static void
test_longest(void)
{
    sfa_tables *t =
        gt_build("{\"g\":{\"external\":[\"0.0.0.0/0\",\"::/0\"],"
                 "\"private\":[\"10.0.0.0/8\",\"fc00::/7\"],"
                 "\"lab\":[\"10.1.0.0/16\",\"2001:db8:1::/48\"],"
                 "\"host\":[\"10.1.2.3\"],\"v6\":[\"2001:db8::/32\"],"
                 "\"sloppy\":[\"172.16.99.99/12\"]},"
                 "\"tie\":{\"a\":[\"10.0.0.0/8\"],\"b\":[\"10.0.0.0/8\",\"10.9.0.0/16\"]},"
                 "\"eit\":{\"b\":[\"10.0.0.0/8\"],\"a\":[\"10.0.0.0/8\"]},"
                 "\"v4only\":{\"x\":[\"0.0.0.0/0\"]}}",
                 NULL);

    CHECK(t != NULL, "tables build");
    CHECK_STR(gt_group(t, "g", "10.1.2.3"), "host", "host route beats /16");
    CHECK_STR(gt_group(t, "g", "10.1.2.4"), "lab", "/16 beats /8");
    CHECK_STR(gt_group(t, "g", "10.2.0.1"), "private", "/8 beats /0");
    CHECK_STR(gt_group(t, "g", "8.8.8.8"), "external", "/0 catches the rest");
    CHECK_STR(gt_group(t, "g", "172.31.0.1"), "sloppy", "host bits of a prefix are ignored");
    CHECK_STR(gt_group(t, "g", "2001:db8:1::5"), "lab", "IPv6 /48 beats /32");
    CHECK_STR(gt_group(t, "g", "2001:db8:2::5"), "v6", "IPv6 /32");
    CHECK_STR(gt_group(t, "g", "fd00::1"), "private", "IPv6 /7");
    CHECK_STR(gt_group(t, "g", "2002::1"), "external", "IPv6 ::/0");
    CHECK_STR(gt_group(t, "tie", "10.0.0.1"), "a", "same prefix: first label wins");
    CHECK_STR(gt_group(t, "tie", "10.9.0.1"), "b", "longer prefix of the second label");
    CHECK_STR(gt_group(t, "eit", "10.0.0.1"), "b", "document order decides ties");
    CHECK_STR(gt_group(t, "v4only", "10.0.0.1"), "x", "IPv4 in an IPv4 set");
    CHECK_STR(gt_group(t, "v4only", "::ffff:10.0.0.1"), "(none)",
              "IPv6 (even mapped) never matches IPv4 prefixes");
    CHECK_STR(gt_group(t, "nosuch", "10.0.0.1"), "(none)", "unknown set");
    CHECK(sfa_tables_group(NULL, "g", &(sfa_addr){.family = 4}) == NULL, "NULL tables");
    sfa_tables_destroy(t);
    sfa_tables_destroy(NULL);
}

/* Random distinct prefixes checked against a brute-force longest match. */
static void
test_many(void)
{
    enum { NP = 3000, NQ = 30000 };
    static uint32_t net[NP];
    static int len[NP];
    json_t *body = json_object(), *groups = json_object();
    unsigned seed = 7;
    int bad = 0, np = 0;
    sfa_tables *t;

    while (np < NP) {
        char cidr[32], label[16];
        json_t *list;
        int dup = 0;
        seed = seed * 1103515245u + 12345u;
        len[np] = 8 + (int)((seed >> 16) % 25); /* /8 .. /32 */
        seed = seed * 1103515245u + 12345u;
        net[np] = (0x0a000000u | ((seed >> 4) & 0x00ffffffu)) & (0xffffffffu << (32 - len[np]));
        for (int i = 0; i < np && !dup; i++)
            dup = net[i] == net[np] && len[i] == len[np];
        if (dup)
            continue;
        snprintf(cidr, sizeof cidr, "%u.%u.%u.%u/%d", net[np] >> 24, (net[np] >> 16) & 255,
                 (net[np] >> 8) & 255, net[np] & 255, len[np]);
        snprintf(label, sizeof label, "L%d", np % 97);
        list = json_object_get(body, label);
        if (!list) {
            list = json_array();
            json_object_set_new(body, label, list);
        }
        json_array_append_new(list, json_string(cidr));
        np++;
    }
    json_object_set_new(groups, "big", body);
    t = sfa_tables_build(groups, NULL);
    CHECK(t != NULL, "3000-prefix set builds");
    for (int q = 0; q < NQ && t; q++) {
        sfa_addr a = {.family = 4};
        uint32_t addr;
        int best = -1;
        const char *got;
        char want[16] = "-";
        seed = seed * 1103515245u + 12345u;
        addr = 0x0a000000u | (seed & 0x00ffffffu);
        for (int i = 0; i < NP; i++)
            if ((addr & (0xffffffffu << (32 - len[i]))) == net[i] &&
                (best < 0 || len[i] > len[best]))
                best = i;
        if (best >= 0)
            snprintf(want, sizeof want, "L%d", best % 97);
        a.a[0] = (uint8_t)(addr >> 24);
        a.a[1] = (uint8_t)(addr >> 16);
        a.a[2] = (uint8_t)(addr >> 8);
        a.a[3] = (uint8_t)addr;
        got = sfa_tables_group(t, "big", &a);
        if (strcmp(got ? got : "-", want) != 0 && bad++ < 3)
            printf("# %08x: got %s want %s\n", addr, got ? got : "-", want);
    }
    CHECK_EQ(bad, 0, "30000 lookups agree with brute-force longest match");
    sfa_tables_destroy(t);
    json_decref(groups);
}

static void
test_maps(void)
{
    sfa_tables *t = gt_build(NULL, "{\"svc\":{\"web\":[\"80\",443,\"8080\"],\"dns\":[\"53\"],"
                                   "\"dup\":[\"80\"]},\"empty\":{}}");
    const char *v = "443xyz";

    CHECK(t != NULL, "maps build");
    CHECK_STR(sfa_tables_map(t, "svc", "80", 2), "web", "map string entry");
    CHECK_STR(sfa_tables_map(t, "svc", v, 3), "web", "map number entry, length-bounded value");
    CHECK_STR(sfa_tables_map(t, "svc", "53", 2), "dns", "second label");
    CHECK(sfa_tables_map(t, "svc", "22", 2) == NULL, "value in no label");
    CHECK(sfa_tables_map(t, "svc", "8", 1) == NULL, "prefix of a value does not match");
    CHECK(sfa_tables_map(t, "empty", "80", 2) == NULL, "empty map");
    CHECK(sfa_tables_map(t, "nosuch", "80", 2) == NULL, "unknown map");
    CHECK(sfa_tables_map(NULL, "svc", "80", 2) == NULL, "NULL tables");
    sfa_tables_destroy(t);
}

int
main(void)
{
    test_validate();
    test_longest();
    test_many();
    test_maps();
    return test_done();
}
