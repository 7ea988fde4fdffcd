/* flowquery_test.c - query-time filters over active flow keys
 * (sfa/flowquery.h): which keys may be named, the operators on key text,
 * key functions over keys, custom separators, keys that do not split, and
 * the errors. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/flowdef.h>
#include <sfa/flowquery.h>
#include <sfa/groups.h>

#include "test.h"

static char errbuf[320];

static sfa_flowdef *
fq_def(const char *keys, const char *fs)
{
    json_t *spec = json_pack("{s:s, s:s}", "keys", keys, "value", "bytes");
    sfa_flowdef *fd = NULL;

    if (fs)
        json_object_set_new(spec, "fs", json_string(fs));
    if (sfa_flowdef_compile(spec, &fd, errbuf, sizeof errbuf) != 0) {
        printf("# definition %s: %s\n", keys, errbuf);
        fflush(stdout);
        abort();
    }
    json_decref(spec);
    return fd;
}

/* 1 match, 0 no match, -1 compile error (errbuf). */
static int
fq_try(const sfa_flowdef *fd, const sfa_tables *tabs, const char *filter, const char *key)
{
    sfa_flowquery *q = NULL;
    int r;

    errbuf[0] = '\0';
    if (sfa_flowquery_compile(fd, filter, strlen(filter), &q, errbuf, sizeof errbuf) != 0)
        return -1;
    r = sfa_flowquery_match(q, tabs, key, strlen(key));
    sfa_flowquery_destroy(q);
    return r;
}

static void
test_operators(void)
{
    sfa_flowdef *fd = fq_def("ipsource,ipdestination,tcpdestinationport", NULL);
    static const char key[] = "10.4.1.2,172.16.0.9,443";
    static const struct {
        const char *filter;
        int want;
    } cases[] = {
        {"ipsource=10.4.1.2", 1},
        {"ipsource=10.4.1.3", 0},
        {"ipsource=10.4.1.20", 0},
        {"ipsource!=10.4.1.2", 0},
        {"ipsource!=10.4.1.3", 1},
        {"ipdestination=1.1.1.1,172.16.0.9", 1},
        {"tcpdestinationport=443", 1},
        {"tcpdestinationport=80,8080", 0},
        {"ipsource~10\\.4\\..*", 1},
        {"ipsource~10\\.4", 0}, /* anchored to the whole value */
        {"ipsource!~192\\..*", 1},
        {"tcpdestinationport~\\d+", 1},
        {"ipsource=10.4.1.2&tcpdestinationport=80", 0},
        {"ipsource=10.4.1.2|tcpdestinationport=80", 1},
        {"(ipsource=1.1.1.1|ipdestination=172.16.0.9)&tcpdestinationport=443", 1},
        {"'ipsource'='10.4.1.2'", 1},
        {"'ipsource'='10.4.1.2'&'tcpdestinationport'='443'", 1},
        {" ipsource = 10.4.1.2 ", 1},
        {"ipsource=null", 0},
        {"ipsource!=null", 1},
        {"prefix:ipsource:.:2=10.4", 1},
        {"suffix:ipdestination:.:1=9", 1},
        {"mask:ipsource:16=10.4.0.0", 1},
        {"mask:ipsource:24=10.4.0.0", 0},
        {"range:tcpdestinationport:1:1023=true", 1},
        {"range:tcpdestinationport:1024=true", 0},
        {"eq:ipsource:ipdestination=false", 1},
        {"[ipsource]=10.4.1.2", 1},
        {"", 1},
        {"   ", 1},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char what[200];
        int r = fq_try(fd, NULL, cases[i].filter, key);

        if (r < 0)
            printf("# %s: %s\n", cases[i].filter, errbuf);
        snprintf(what, sizeof what, "'%s' on %s is %d", cases[i].filter, key, cases[i].want);
        CHECK_EQ(r, cases[i].want, what);
    }
    sfa_flowdef_destroy(fd);
}

static void
test_errors(void)
{
    sfa_flowdef *fd = fq_def("ipsource, ipdestination", NULL);
    sfa_flowdef *none = fq_def("", NULL);

    CHECK_EQ(fq_try(fd, NULL, "ipprotocol=6", "a,b"), -1, "a key of no flow definition key");
    CHECK(strstr(errbuf, "'ipprotocol' is not a key of this flow") != NULL, "message names it");
    CHECK(strstr(errbuf, "ipsource, ipdestination") != NULL, "message lists the keys");
    CHECK_EQ(fq_try(fd, NULL, "nosuchkey=1", "a,b"), -1, "an unknown name");
    CHECK_EQ(fq_try(fd, NULL, "mask:ipprotocol:8=1", "a,b"), -1,
             "a function over a key not in the flow");
    CHECK_EQ(fq_try(fd, NULL, "ipsource=", "a,b"), -1, "missing value");
    CHECK(strstr(errbuf, "missing value") != NULL, "grammar messages as for definitions");
    CHECK_EQ(fq_try(fd, NULL, "ipsource=1&", "a,b"), -1, "dangling &");
    CHECK_EQ(fq_try(fd, NULL, "(ipsource=1", "a,b"), -1, "missing )");
    CHECK_EQ(fq_try(fd, NULL, "ipsource~(", "a,b"), -1, "bad regex");
    CHECK_EQ(fq_try(fd, NULL, "nosuchfunction:ipsource=1", "a,b"), -1, "unknown function");
    CHECK_EQ(fq_try(none, NULL, "ipsource=1", ""), -1, "a flow without keys has none to name");
    CHECK_EQ(fq_try(none, NULL, "", ""), 1, "a blank filter on a flow without keys");
    sfa_flowdef_destroy(none);
    sfa_flowdef_destroy(fd);
}

static void
test_keys_as_written(void)
{
    sfa_flowdef *fd = fq_def("mask:ipsource:24,or:tcpsourceport:udpsourceport", NULL);

    CHECK_EQ(fq_try(fd, NULL, "mask:ipsource:24=10.1.2.0", "10.1.2.0,53"), 1,
             "a key function of the definition is named as written");
    CHECK_EQ(fq_try(fd, NULL, "or:tcpsourceport:udpsourceport=53", "10.1.2.0,53"), 1,
             "or: key as written");
    CHECK_EQ(fq_try(fd, NULL, "ipsource=10.1.2.0", "10.1.2.0,53"), -1,
             "a field under a key function is not itself a key");
    sfa_flowdef_destroy(fd);
}

static void
test_separators(void)
{
    sfa_flowdef *fd = fq_def("ipsource,url_host", "_SEP_");
    sfa_flowdef *one = fq_def("url_host", NULL);
    sfa_flowdef *two = fq_def("ipsource,url_host", NULL);

    CHECK_EQ(fq_try(fd, NULL, "url_host=a,b.example", "10.0.0.1_SEP_a,b.example"), 0,
             "comma alternatives, not a comma in the value");
    CHECK_EQ(fq_try(fd, NULL, "url_host='a,b.example'", "10.0.0.1_SEP_a,b.example"), 1,
             "custom fs: a value with commas is one key");
    CHECK_EQ(fq_try(fd, NULL, "ipsource=10.0.0.1", "10.0.0.1_SEP_x_SEP_y"), 0,
             "a key with too many separators matches nothing");
    CHECK_EQ(fq_try(fd, NULL, "ipsource!=9.9.9.9", "10.0.0.1"), 0,
             "a key with too few separators matches nothing");
    CHECK_EQ(fq_try(one, NULL, "url_host~'a,b.*'", "a,b.example"), 1,
             "one key: the whole key is its value, separators or not");
    CHECK_EQ(fq_try(two, NULL, "url_host=", "10.0.0.1,"), -1, "an empty value needs quotes");
    CHECK_EQ(fq_try(two, NULL, "url_host=''", "10.0.0.1,"), 1, "an empty key value");
    sfa_flowdef_destroy(two);
    sfa_flowdef_destroy(one);
    sfa_flowdef_destroy(fd);
}

static void
test_tables(void)
{
    sfa_flowdef *fd = fq_def("ipsource,ipdestination", NULL);
    json_t *groups =
        json_pack("{s:{s:[s], s:[s]}}", "site", "lan", "10.0.0.0/8", "dmz", "192.168.0.0/16");
    json_t *maps = json_pack("{s:{s:[s, s]}}", "hosts", "web", "172.16.0.9", "172.16.0.10");
    sfa_tables *tabs = sfa_tables_build(groups, maps);

    CHECK(tabs != NULL, "tables built");
    CHECK_EQ(fq_try(fd, tabs, "group:ipsource:site=lan", "10.4.1.2,172.16.0.9"), 1,
             "group: over a key");
    CHECK_EQ(fq_try(fd, tabs, "group:ipsource:site=dmz", "10.4.1.2,172.16.0.9"), 0,
             "group: other label");
    CHECK_EQ(fq_try(fd, tabs, "map:ipdestination:hosts=web", "10.4.1.2,172.16.0.9"), 1,
             "map: over a key");
    CHECK_EQ(fq_try(fd, NULL, "map:ipdestination:hosts=null", "10.4.1.2,172.16.0.9"), 1,
             "map: without tables is absent");
    sfa_tables_destroy(tabs);
    json_decref(groups);
    json_decref(maps);
    sfa_flowdef_destroy(fd);
}

/* The definition is borrowed only while compiling. */
static void
test_lifetime(void)
{
    sfa_flowdef *fd = fq_def("ipsource,tcpdestinationport", "|");
    sfa_flowquery *q = NULL;
    const char *f = "tcpdestinationport=80,443&ipsource~10\\..*";

    CHECK_OK(sfa_flowquery_compile(fd, f, strlen(f), &q, errbuf, sizeof errbuf), "compiled");
    sfa_flowdef_destroy(fd);
    CHECK_EQ(sfa_flowquery_match(q, NULL, "10.1.1.1|443", 12), 1, "matches after the def is gone");
    CHECK_EQ(sfa_flowquery_match(q, NULL, "10.1.1.1|22", 11), 0, "no match");
    CHECK_EQ(sfa_flowquery_match(q, NULL, "10.1.1.1|443", 9), 0, "keylen bounds the key");
    sfa_flowquery_destroy(q);
    sfa_flowquery_destroy(NULL);
}

int
main(void)
{
    test_operators();
    test_errors();
    test_keys_as_written();
    test_separators();
    test_tables();
    test_lifetime();
    return test_done();
}
