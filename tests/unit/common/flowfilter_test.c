/* flowfilter_test.c - filter expression truth tables, null semantics,
 * regex anchoring, quoting, precedence, and clean errors on hostile input. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/flowdef.h>
#include <sfa/groups.h>

#include "flow_sample.h"
#include "test.h"

static sfa_tables *tabs;
static sfa_dgram *dg;
static sfa_sample *smp;
static char errbuf[256];

/* Compile {"value":"frames","filter":filter}; NULL with errbuf set. */
static sfa_flowdef *
ft_compile(const char *filter)
{
    json_t *spec = json_pack("{s:s, s:s}", "value", "frames", "filter", filter);
    sfa_flowdef *fd = NULL;

    errbuf[0] = '\0';
    if (sfa_flowdef_compile(spec, &fd, errbuf, sizeof errbuf) != 0)
        fd = NULL;
    json_decref(spec);
    return fd;
}

/* 1 pass, 0 fail, -1 compile error. */
static int
ft_eval(const char *filter)
{
    sfa_flowdef *fd = ft_compile(filter);
    char key[64];
    size_t len;
    double vals[SFA_FLOWDEF_MAX_VALUES];
    int r;

    if (!fd) {
        printf("# compile error for %s: %s\n", filter, errbuf);
        return -1;
    }
    r = sfa_flowdef_eval(fd, dg, smp, tabs, key, sizeof key, &len, vals);
    sfa_flowdef_destroy(fd);
    return r;
}

static const char *
ft_error(const char *filter)
{
    sfa_flowdef *fd = ft_compile(filter);

    if (fd) {
        sfa_flowdef_destroy(fd);
        return "(compiled)";
    }
    return errbuf;
}

static void
test_truth(void)
{
    static const struct {
        const char *filter;
        int want;
    } cases[] = {
        {"ipprotocol=6", 1},
        {"ipprotocol=17", 0},
        {"ipprotocol=17,6", 1},
        {"ipprotocol!=6", 0},
        {"ipprotocol!=17,1", 1},
        {"ipprotocol!=17,6", 0},
        {"ipprotocol=06", 0}, /* text equality: "6" is not "06" */
        {"ipsource=10.0.0.1", 1},
        {"ipsource=10.0.0.01", 0},
        {"ipsource=10.0.0.2,10.0.0.1", 1},
        {"ipsource~10\\.0\\..*", 1},
        {"ipsource~10\\.0", 0}, /* regex must match the whole value */
        {"ipsource~10", 0},
        {"ipsource~.*0\\.1", 1},
        {"ipsource!~192\\..*", 1},
        {"ipsource!~10\\..*", 0},
        {"ipsource~192\\..*,10\\..*", 1},
        {"ipsource!~192\\..*,10\\..*", 0},
        {"tcpflags~.......1.", 0},
        {"tcpflags~....1....", 1},
        {"tcpflags=000011000", 1},
        {"ipdscpname=ef(46)", 1},
        {"ipdscpname=ef(46),af11(10)", 1},
        {"stack~.*(ip6|ip).*", 1},
        {"stack~eth\\.(arp|ip6)\\..*", 0},
        {"tcpsourceport~[0-9]{3,4}", 1},
        {"tcpsourceport~\\d+", 1},
        {"tcpsourceport~\\D+", 0},
        {"stack~'a)'", 0},
        {"stack~'eth.*'", 1},
        {"stack=eth.ip.tcp x=1", 0}, /* one value with a blank and '=' in it */
        {"macsource=001122334455", 1},
        {"macsource~00.*", 1},
        {"ipprotocol=6&tcpdestinationport=51544", 1},
        {"ipprotocol=6&tcpdestinationport=80", 0},
        {"ipprotocol=17|tcpsourceport=443", 1},
        {"ipprotocol=17|tcpsourceport=80&ipprotocol=6", 0}, /* & binds tighter */
        {"tcpsourceport=443|ipprotocol=17&ipprotocol=6", 1},
        {"(ipprotocol=17|tcpsourceport=443)&ipprotocol=6", 1},
        {"ipprotocol=6&(tcpsourceport=80|tcpdestinationport=51544)", 1},
        {"((ipprotocol=6))", 1},
        {" ipprotocol = 6 & ( tcpsourceport = 443 ) ", 1},
        {"'ipsource'='10.0.0.1'", 1},
        {"ipsource='10.0.0.1'", 1},
        {"'ipsource'!='10.0.0.1'", 0},
        {"stack='eth,ip'", 0},
        {"stack='eth.ip.tcp','x'", 1},
        {"udpsourceport=null", 1},
        {"udpsourceport!=null", 0},
        {"tcpsourceport=null", 0},
        {"tcpsourceport!=null", 1},
        {"tcpsourceport=null,443", 1},
        {"tcpsourceport!=null,443", 0},
        {"udpsourceport=53", 0},
        {"udpsourceport!=53", 0}, /* absent is false for every operator */
        {"udpsourceport~.*", 0},
        {"udpsourceport!~5.*", 0},
        {"stack='null'", 0}, /* quoted null is text */
        {"range:tcpsourceport:1:1023=true", 1},
        {"range:ipfragoffset:1=true", 0},
        {"(ipflags=001|range:ipfragoffset:1=true)&ipprotocol=6", 0},
        {"ipflags=010&first:stack:.:ip:ip6=ip", 1},
        {"prefix:stack:.:1=eth", 1},
        {"eq:vlansource:vlandestination=true", 1},
        {"concat:\\,:ipprotocol:tcpsourceport=6\\,443", 1},
        {"group:ipsource:ddos=private", 1},
        {"group:ipdestination:ddos=external", 1},
        {"first:stack:.:ip:ip6=ip&group:ipsource:ddos=private&"
         "group:ipdestination:ddos!=private,multicast",
         1},
        {"group:ipdestination:ddos!=external,private,multicast", 0},
        {"map:tcpsourceport:svc=web", 1},
        {"map:tcpdestinationport:svc=null", 1},
        {"[or:udpsourceport:tcpsourceport]=443", 1},
        {"", 1},
        {"   ", 1},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char what[160];
        snprintf(what, sizeof what, "%s -> %d", cases[i].filter, cases[i].want);
        CHECK_EQ(ft_eval(cases[i].filter), cases[i].want, what);
    }
}

static void
test_errors(void)
{
    static const struct {
        const char *filter, *err;
    } cases[] = {
        {"(", "filter: expression expected at end"},
        {"ipprotocol=6)", "filter: unexpected ')'"},
        {"(ipprotocol=6", "filter: missing ) near ''"},
        {"ipprotocol", "filter: expected = != ~ or !~ after 'ipprotocol'"},
        {"ipsource!1", "filter: expected = != ~ or !~ after 'ipsource'"},
        {"=6", "filter: key expected near '=6'"},
        {"ipprotocol=", "filter: missing value near ''"},
        {"ipprotocol=6&", "filter: expression expected at end"},
        {"ipprotocol=6||ipprotocol=17", "filter: key expected near '|ipprotocol=17'"},
        {"ipprotocol=6,,17", "filter: missing value near ',17'"},
        {"ipprotocol=6,", "filter: missing value near ''"},
        {"()", "filter: key expected near ')'"},
        {"foo=1", "unknown key: foo"},
        {"country:ipsource=US", "function not supported: country"},
        {"'ipsource=1", "filter: unterminated quote"},
        {"ipsource='1", "filter: unterminated quote"},
        {"ipsource~[abc", "filter: bad regex '[abc': Unmatched [, [^, [:, [., or [="},
        {"stack~a)", "filter: unexpected ')'"}, /* quote regexes with an unmatched ) */
        {"or:[ipsource=1", "filter: expected = != ~ or !~ after 'or:[ipsource=1'"},
        {"or:ipsource]=1", "unbalanced [ ] in 'or:ipsource]'"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_STR(ft_error(cases[i].filter), cases[i].err, cases[i].filter);
}

static void
test_hostile(void)
{
    size_t big = 200000;
    char *s = malloc(big + 64);
    int bad = 0;
    unsigned seed = 99;
    static const char alphabet[] = "()&|=!~,'[]:\\ .*6null ipsource tcpflags stack mask:24";

    /* deep parentheses: refused, no recursion blow-up */
    memset(s, '(', 100000);
    strcpy(s + 100000, "ipprotocol=6");
    CHECK_STR(ft_error(s), "filter too long (max 16384 bytes)", "huge filter refused");
    memset(s, '(', 1000);
    strcpy(s + 1000, "ipprotocol=6");
    CHECK_STR(ft_error(s), "filter: nested too deeply (max 32)", "deep ( ) refused");
    memset(s, '[', 1000);
    strcpy(s + 1000, "ipsource=1");
    CHECK_STR(ft_error(s),
              "filter: expected = != ~ or !~ after '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
              "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[['",
              "unclosed [ ] refused");
    memset(s, '[', 100);
    strcpy(s + 100, "ipsource");
    memset(s + 108, ']', 100);
    strcpy(s + 208, "=1");
    CHECK_STR(ft_error(s), "key nested too deeply (max 32)", "deep [ ] refused");
    strcpy(s, "");
    for (int i = 0; i < 31; i++)
        strcat(s, "(");
    strcat(s, "ipprotocol=6");
    for (int i = 0; i < 31; i++)
        strcat(s, ")");
    CHECK_EQ(ft_eval(s), 1, "31 levels of ( ) still fine");
    s[0] = '\0';
    for (int i = 0; i < 1100; i++)
        strcat(s, "ipprotocol=6&");
    strcat(s, "ipprotocol=6");
    CHECK_STR(ft_error(s), "filter: too many comparisons (max 1024)", "too many comparisons");
    s[0] = '\0';
    for (int i = 0; i < 1000; i++)
        strcat(s, i ? ",7" : "ipprotocol=7");
    strcat(s, ",6");
    CHECK_EQ(ft_eval(s), 1, "1001 alternatives match the last");

    /* random soup: compile must either succeed or say why; never crash */
    for (int iter = 0; iter < 20000; iter++) {
        size_t n;
        sfa_flowdef *fd;
        seed = seed * 1103515245u + 12345u;
        n = (seed >> 16) % 48;
        for (size_t k = 0; k < n; k++) {
            seed = seed * 1103515245u + 12345u;
            s[k] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
        }
        s[n] = '\0';
        fd = ft_compile(s);
        if (fd) {
            char key[64];
            size_t len;
            double vals[SFA_FLOWDEF_MAX_VALUES];
            (void)sfa_flowdef_eval(fd, dg, smp, tabs, key, sizeof key, &len, vals);
            sfa_flowdef_destroy(fd);
        } else if (errbuf[0] == '\0') {
            bad++;
        }
    }
    CHECK_EQ(bad, 0, "20000 random filters: compiled or explained");
    free(s);
}

static void
test_types(void)
{
    json_t *spec = json_pack("{s:s, s:i}", "value", "frames", "filter", 5);
    sfa_flowdef *fd = NULL;
    int rc = sfa_flowdef_compile(spec, &fd, errbuf, sizeof errbuf);

    CHECK_ERR(rc, SFA_EFORMAT, "numeric filter refused");
    CHECK_STR(errbuf, "filter must be a string or null", "filter type message");
    json_decref(spec);

    spec = json_loads("{\"value\":\"frames\",\"filter\":\"ipprotocol=6\\u0000|x=1\"}",
                      JSON_ALLOW_NUL, NULL);
    rc = sfa_flowdef_compile(spec, &fd, errbuf, sizeof errbuf);
    CHECK_ERR(rc, SFA_EFORMAT, "NUL inside filter refused");
    CHECK_STR(errbuf, "filter contains a NUL character", "NUL message");
    json_decref(spec);

    spec = json_pack("{s:s, s:n}", "value", "frames", "filter");
    rc = sfa_flowdef_compile(spec, &fd, errbuf, sizeof errbuf);
    CHECK_OK(rc, "null filter accepted");
    if (rc == 0)
        sfa_flowdef_destroy(fd);
    json_decref(spec);
}

int
main(void)
{
    json_t *groups = json_loads("{\"ddos\":{\"external\":[\"0.0.0.0/0\",\"::/0\"],"
                                "\"private\":[\"10.0.0.0/8\",\"172.16.0.0/12\",\"fc00::/7\"],"
                                "\"multicast\":[\"224.0.0.0/4\"]}}",
                                0, NULL);
    json_t *maps = json_loads("{\"svc\":{\"web\":[\"80\",\"443\"]}}", 0, NULL);

    tabs = sfa_tables_build(groups, maps);
    dg = fs_dgram_new("192.0.2.254");
    smp = fs_tcp4(dg, 3, 1000, "10.0.0.1", "198.51.100.7", 443, 51544, 1514);
    test_truth();
    test_errors();
    test_hostile();
    test_types();
    sfa_tables_destroy(tabs);
    json_decref(groups);
    json_decref(maps);
    free(dg);
    return test_done();
}
