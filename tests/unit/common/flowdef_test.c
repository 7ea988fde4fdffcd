/* flowdef_test.c - flow definition JSON: defaults, clamps, canonical echo,
 * error messages for malformed definitions (the gateway's 400 cases), and
 * evaluation: sample kinds, value scaling, value functions, key joining. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/flowdef.h>

#include "flow_sample.h"
#include "test.h"

static char errbuf[256];

static sfa_flowdef *
dt_compile(const char *json)
{
    json_error_t je;
    json_t *spec = json_loads(json, JSON_DECODE_ANY, &je);
    sfa_flowdef *fd = NULL;

    errbuf[0] = '\0';
    if (!spec) {
        snprintf(errbuf, sizeof errbuf, "(bad test JSON: %s)", je.text);
        return NULL;
    }
    if (sfa_flowdef_compile(spec, &fd, errbuf, sizeof errbuf) != 0)
        fd = NULL;
    json_decref(spec);
    return fd;
}

/* Canonical echo of a definition as compact JSON (static buffer). */
static const char *
dt_echo(const char *json)
{
    static char buf[1024];
    sfa_flowdef *fd = dt_compile(json);
    json_t *o;
    char *s;

    if (!fd) {
        snprintf(buf, sizeof buf, "(error: %s)", errbuf);
        return buf;
    }
    o = sfa_flowdef_to_json(fd);
    s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15));
    snprintf(buf, sizeof buf, "%s", s);
    free(s);
    json_decref(o);
    sfa_flowdef_destroy(fd);
    return buf;
}

static void
test_echo(void)
{
    CHECK_STR(dt_echo("{\"keys\":\"ipsource,ipdestination\",\"value\":\"bytes\"}"),
              "{\"keys\":\"ipsource,ipdestination\",\"value\":\"bytes\",\"n\":5,\"t\":2,"
              "\"fs\":\",\",\"log\":false,\"flowStart\":false,\"activeTimeout\":60,"
              "\"dropped\":false}",
              "defaults filled in");
    CHECK_STR(dt_echo("{\"value\":\"frames\"}"),
              "{\"keys\":\"\",\"value\":\"frames\",\"n\":5,\"t\":2,\"fs\":\",\",\"log\":false,"
              "\"flowStart\":false,\"activeTimeout\":60,\"dropped\":false}",
              "no keys echoes an empty keys string");
    CHECK_STR(dt_echo("{\"keys\":[\"ipsource\",\"tcpsourceport\"],\"value\":\"bytes\","
                      "\"values\":[\"frames\"],\"filter\":\"ipprotocol=6\",\"n\":\"10\","
                      "\"t\":\"0.5\",\"fs\":\"_SEP_\",\"log\":true,\"flowStart\":\"true\","
                      "\"activeTimeout\":10,\"dropped\":false,\"aggMode\":\"AGENT\","
                      "\"ipfixCollectors\":[\"10.0.0.9\"],\"whatever\":{\"x\":1}}"),
              "{\"keys\":\"ipsource,tcpsourceport\",\"value\":\"bytes\",\"values\":[\"frames\"],"
              "\"filter\":\"ipprotocol=6\",\"n\":10,\"t\":0.5,\"fs\":\"_SEP_\",\"log\":true,"
              "\"flowStart\":true,\"activeTimeout\":10,\"dropped\":false,"
              "\"ipfixCollectors\":[\"10.0.0.9\"],\"aggMode\":\"AGENT\"}",
              "every member echoed; array keys joined; unknown member dropped");
    CHECK_STR(dt_echo("{\"value\":\"bytes\",\"values\":\"frames,avg:ipbytes\",\"filter\":null}"),
              "{\"keys\":\"\",\"value\":\"bytes\",\"values\":\"frames,avg:ipbytes\",\"n\":5,"
              "\"t\":2,\"fs\":\",\",\"log\":false,\"flowStart\":false,\"activeTimeout\":60,"
              "\"dropped\":false}",
              "values string echoed as given; null filter omitted");
    CHECK_STR(dt_echo("{\"value\":\"bytes\",\"n\":0,\"t\":0.01,\"activeTimeout\":0}"),
              "{\"keys\":\"\",\"value\":\"bytes\",\"n\":1,\"t\":0.1,\"fs\":\",\","
              "\"log\":false,\"flowStart\":false,\"activeTimeout\":1,\"dropped\":false}",
              "low clamps");
    CHECK_STR(dt_echo("{\"value\":\"bytes\",\"n\":1000,\"t\":1e6,\"activeTimeout\":1e9}"),
              "{\"keys\":\"\",\"value\":\"bytes\",\"n\":100,\"t\":600,\"fs\":\",\","
              "\"log\":false,\"flowStart\":false,\"activeTimeout\":86400,\"dropped\":false}",
              "high clamps");
}

static void
test_accessors(void)
{
    sfa_flowdef *fd = dt_compile("{\"keys\":\"ipsource\",\"value\":\"bytes\","
                                 "\"values\":[\"count:ipdestination\",\"avg:ipbytes\","
                                 "\"min:ipttl\",\"max:ipttl\",\"rate:ipbytes\",\"frames\"],"
                                 "\"n\":20,\"t\":10,\"fs\":\"|\",\"log\":true,\"dropped\":true,"
                                 "\"flowStart\":true,\"activeTimeout\":30}");
    const char *const *names = sfa_flowdef_key_names();
    int found = 0, count = 0;

    CHECK(fd != NULL, "compiles");
    if (!fd)
        return;
    CHECK_EQ(sfa_flowdef_n(fd), 20, "n");
    CHECK_NEAR(sfa_flowdef_t(fd), 10, 1e-9, "t");
    CHECK_STR(sfa_flowdef_fs(fd), "|", "fs");
    CHECK_EQ(sfa_flowdef_nvalues(fd), 7, "nvalues");
    CHECK_EQ(sfa_flowdef_value_kind(fd, 0), SFA_VALUE_SUM, "bytes is SUM");
    CHECK_EQ(sfa_flowdef_value_kind(fd, 1), SFA_VALUE_COUNT, "count:");
    CHECK_EQ(sfa_flowdef_value_kind(fd, 2), SFA_VALUE_AVG, "avg:");
    CHECK_EQ(sfa_flowdef_value_kind(fd, 3), SFA_VALUE_MIN, "min:");
    CHECK_EQ(sfa_flowdef_value_kind(fd, 4), SFA_VALUE_MAX, "max:");
    CHECK_EQ(sfa_flowdef_value_kind(fd, 5), SFA_VALUE_SUM, "rate: is SUM");
    CHECK_EQ(sfa_flowdef_value_kind(fd, 6), SFA_VALUE_SUM, "frames is SUM");
    CHECK_EQ(sfa_flowdef_value_kind(fd, 7), 0, "out of range kind");
    CHECK_EQ(sfa_flowdef_dropped(fd), 1, "dropped");
    CHECK_EQ(sfa_flowdef_log(fd), 1, "log");
    CHECK_EQ(sfa_flowdef_flow_start(fd), 1, "flowStart");
    CHECK_EQ(sfa_flowdef_active_timeout(fd), 30, "activeTimeout");
    CHECK_EQ(sfa_flowdef_nkeys(fd), 1, "nkeys");
    sfa_flowdef_destroy(fd);
    sfa_flowdef_destroy(NULL);

    for (; names[count]; count++) {
        found += strcmp(names[count], "ipsource") == 0;
        found += strcmp(names[count], "agent") == 0;
        found += strcmp(names[count], "ipdscpname") == 0;
        found += strcmp(names[count], "tcpflags") == 0;
    }
    CHECK_EQ(found, 4, "key names include fields and metadata keys");
    CHECK(count >= SFA_F__COUNT + 10, "key names cover every field");
}

static void
test_errors(void)
{
    static const struct {
        const char *json, *err;
    } cases[] = {
        {"[]", "flow definition must be a JSON object"},
        {"\"bytes\"", "flow definition must be a JSON object"},
        {"{}", "value is required"},
        {"{\"value\":null}", "value is required"},
        {"{\"value\":5}", "value must be a string"},
        {"{\"value\":\"\"}", "value is empty"},
        {"{\"value\":\"bps\"}", "unknown value: bps (use bytes or frames)"},
        {"{\"value\":\"Bps\"}", "unknown value: Bps (use bytes or frames)"},
        {"{\"value\":\"fps\"}", "unknown value: fps (use bytes or frames)"},
        {"{\"value\":\"ipsource\"}", "value is not numeric: ipsource"},
        {"{\"value\":\"avg:macsource\"}", "value is not numeric: avg:macsource"},
        {"{\"value\":\"rate:stack\"}", "value is not numeric: rate:stack"},
        {"{\"value\":\"max:[mask:ipsource:24]\"}", "value is not numeric: max:[mask:ipsource:24]"},
        {"{\"value\":\"nosuch\"}", "unknown key: nosuch"},
        {"{\"value\":\"count:\"}", "unknown function: count"},
        {"{\"value\":\"count:country:ipsource\"}", "function not supported: country"},
        {"{\"value\":\"bytes,frames\"}",
         "value must be a single value (use values for more): 'bytes,frames'"},
        {"{\"value\":\"bytes\",\"values\":5}", "values must be a string or an array of strings"},
        {"{\"value\":\"bytes\",\"values\":[\"frames\",3]}",
         "values must be a string or an array of strings"},
        {"{\"value\":\"bytes\",\"values\":\"frames,,ipbytes\"}",
         "values: empty value in 'frames,,ipbytes'"},
        {"{\"value\":\"bytes\",\"values\":\"frames,stack\"}", "value is not numeric: stack"},
        {"{\"value\":\"bytes\",\"values\":\"frames,frames,frames,frames,frames,frames,frames,"
         "frames,frames,frames,frames,frames,frames,frames,frames,frames\"}",
         "too many values (max 16)"},
        {"{\"value\":\"bytes\",\"keys\":5}", "keys must be a string or an array of strings"},
        {"{\"value\":\"bytes\",\"keys\":{\"a\":1}}",
         "keys must be a string or an array of strings"},
        {"{\"value\":\"bytes\",\"keys\":[\"ipsource\",null]}",
         "keys must be a string or an array of strings"},
        {"{\"value\":\"bytes\",\"keys\":\"ipsource,nosuch\"}", "unknown key: nosuch"},
        {"{\"value\":\"bytes\",\"keys\":\"country:ipsource\"}", "function not supported: country"},
        {"{\"value\":\"bytes\",\"keys\":\"asn:ipdestination:number\"}",
         "function not supported: asn"},
        {"{\"value\":\"bytes\",\"keys\":\"ipsource,\"}", "keys: empty key in 'ipsource,'"},
        {"{\"value\":\"bytes\",\"n\":\"ten\"}", "n must be a number"},
        {"{\"value\":\"bytes\",\"n\":[5]}", "n must be a number"},
        {"{\"value\":\"bytes\",\"n\":\"inf\"}", "n must be a finite number"},
        {"{\"value\":\"bytes\",\"t\":true}", "t must be a number"},
        {"{\"value\":\"bytes\",\"t\":\" 2\"}", "t must be a number"},
        {"{\"value\":\"bytes\",\"t\":\"nan\"}", "t must be a finite number"},
        {"{\"value\":\"bytes\",\"fs\":\"\"}", "fs must be a non-empty string of at most 64 bytes"},
        {"{\"value\":\"bytes\",\"fs\":5}", "fs must be a string"},
        {"{\"value\":\"bytes\",\"log\":\"yes\"}", "log must be a boolean"},
        {"{\"value\":\"bytes\",\"flowStart\":1}", "flowStart must be a boolean"},
        {"{\"value\":\"bytes\",\"dropped\":0}", "dropped must be a boolean"},
        {"{\"value\":\"bytes\",\"activeTimeout\":\"x\"}", "activeTimeout must be a number"},
        {"{\"value\":\"bytes\",\"ipfixCollectors\":5}",
         "ipfixCollectors must be a string or an array of strings"},
        {"{\"value\":\"bytes\",\"ipfixCollectors\":[1]}",
         "ipfixCollectors must be a string or an array of strings"},
        {"{\"value\":\"bytes\",\"aggMode\":1}", "aggMode must be a string"},
        {"{\"value\":\"bytes\",\"filter\":\"ipprotocol=\"}", "filter: missing value near ''"},
        {"{\"value\":\"bytes\",\"filter\":{}}", "filter must be a string or null"},
        {"{\"value\":\"bytes\",\"filter\":\"(ipprotocol=6\"}", "filter: missing ) near ''"},
        {"{\"value\":\"bytes\",\"keys\":\"mask:ipsource:33:200\"}",
         "mask: bits must be 0-128: '200'"},
    };
    char keys[2048] = "";

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sfa_flowdef *fd = dt_compile(cases[i].json);
        CHECK(fd == NULL, cases[i].json);
        CHECK_STR(errbuf, cases[i].err, cases[i].json);
        sfa_flowdef_destroy(fd);
    }
    strcpy(keys, "{\"value\":\"bytes\",\"keys\":\"");
    for (int i = 0; i < 65; i++)
        strcat(keys, i ? ",vlan" : "vlan");
    strcat(keys, "\"}");
    CHECK(dt_compile(keys) == NULL, "65 keys refused");
    CHECK_STR(errbuf, "keys: too many keys (max 64)", "too many keys message");
}

/* Evaluate fd on s; returns eval's result, key in key[]. */
static int
dt_eval(sfa_flowdef *fd, const sfa_dgram *d, const sfa_sample *s, char *key, double *vals)
{
    size_t len = 999;
    int r = sfa_flowdef_eval(fd, d, s, NULL, key, SFA_FLOWDEF_KEY_MAX, &len, vals);

    if (r && len != strlen(key))
        return -1;
    return r;
}

static void
test_values(void)
{
    sfa_dgram *d = fs_dgram_new("192.0.2.254");
    sfa_sample *a = fs_tcp4(d, 3, 1000, "10.0.0.1", "10.0.0.2", 443, 51544, 1514);
    sfa_sample *b = fs_tcp4(d, 3, 1000, "10.0.0.1", "10.0.0.3", 443, 51545, 60);
    sfa_flowdef *fd = dt_compile("{\"keys\":\"ipsource\",\"value\":\"bytes\",\"values\":"
                                 "\"frames,ipbytes,avg:ipbytes,min:ipttl,max:tcpdestinationport,"
                                 "count:ipdestination,count:ipsource\"}");
    char key[SFA_FLOWDEF_KEY_MAX];
    double va[SFA_FLOWDEF_MAX_VALUES], vb[SFA_FLOWDEF_MAX_VALUES];

    CHECK(fd != NULL, "values definition compiles");
    if (!fd)
        return;
    CHECK_EQ(dt_eval(fd, d, a, key, va), 1, "sample a counts");
    CHECK_STR(key, "10.0.0.1", "key a");
    CHECK_NEAR(va[0], 1514000, 0, "bytes = frame length x rate");
    CHECK_NEAR(va[1], 1000, 0, "frames = rate");
    CHECK_NEAR(va[2], 1496000, 0, "numeric key x rate");
    CHECK_NEAR(va[3], 1496, 0, "avg: raw value");
    CHECK_NEAR(va[4], 64, 0, "min: raw value");
    CHECK_NEAR(va[5], 51544, 0, "max: raw value");
    CHECK_EQ(dt_eval(fd, d, b, key, vb), 1, "sample b counts");
    CHECK(va[6] != vb[6], "count: different destinations hash differently");
    CHECK(va[7] == vb[7], "count: same source hashes the same");
    CHECK(va[6] >= 0 && va[6] < 9007199254740992.0 && va[6] == (double)(uint64_t)va[6],
          "count: hash is an exact 53-bit integer");
    sfa_flowdef_destroy(fd);

    fd = dt_compile("{\"value\":\"frames\"}");
    CHECK_EQ(dt_eval(fd, d, a, key, va), 1, "no keys: counts");
    CHECK_STR(key, "", "no keys: empty key");
    sfa_flowdef_destroy(fd);

    fd = dt_compile("{\"keys\":\"ipsource,tcpsourceport\",\"value\":\"frames\",\"fs\":\"_SEP_\"}");
    CHECK_EQ(dt_eval(fd, d, a, key, va), 1, "custom fs counts");
    CHECK_STR(key, "10.0.0.1_SEP_443", "keys joined by fs");
    CHECK_EQ(sfa_flowdef_eval(fd, d, a, NULL, key, 10, &(size_t){0}, va), 0,
             "key longer than keycap: does not count");
    CHECK_EQ(sfa_flowdef_eval(fd, d, a, NULL, key, 17, &(size_t){0}, va), 1,
             "key exactly fitting keycap with its NUL counts");
    CHECK_EQ(sfa_flowdef_eval(fd, d, a, NULL, key, 16, &(size_t){0}, va), 0,
             "no room for the NUL: does not count");
    sfa_flowdef_destroy(fd);

    fd = dt_compile("{\"value\":\"ip6bytes\"}");
    CHECK_EQ(dt_eval(fd, d, a, key, va), 0, "missing value field: does not count");
    sfa_flowdef_destroy(fd);
    free(d);
}

static void
test_sample_kinds(void)
{
    sfa_dgram *d = fs_dgram_new("192.0.2.254");
    sfa_sample *flow = fs_tcp4(d, 3, 100, "10.0.0.1", "10.0.0.2", 443, 51544, 1000);
    sfa_sample *xflow = fs_tcp4(d, 3, 100, "10.0.0.1", "10.0.0.2", 443, 51544, 1000);
    sfa_sample *drop = fs_tcp4(d, 3, 0, "10.0.0.1", "10.0.0.2", 443, 51544, 1000);
    sfa_sample *ctr = fs_sample(d, SFA_SAMPLE_COUNTER, 3, 0);
    sfa_flowdef *fwd = dt_compile("{\"keys\":\"ipsource\",\"value\":\"bytes\","
                                  "\"values\":\"frames\"}");
    sfa_flowdef *drp = dt_compile("{\"keys\":\"ipsource,reason\",\"value\":\"bytes\","
                                  "\"values\":\"frames\",\"dropped\":true}");
    char key[SFA_FLOWDEF_KEY_MAX];
    double v[SFA_FLOWDEF_MAX_VALUES];

    fs_u(d, SFA_F_IFINOCTETS, 12345);
    xflow->tag = SFA_SAMPLE_FLOW_EXPANDED;
    drop->tag = SFA_SAMPLE_DISCARD;
    drop->rate = 0;
    drop->reason = 269;
    CHECK_EQ(dt_eval(fwd, d, flow, key, v), 1, "flow sample counts for dropped:false");
    CHECK_EQ(dt_eval(fwd, d, xflow, key, v), 1, "expanded flow sample counts");
    CHECK_EQ(dt_eval(fwd, d, drop, key, v), 0, "discard sample ignored by dropped:false");
    CHECK_EQ(dt_eval(fwd, d, ctr, key, v), 0, "counter sample never counts");
    CHECK_EQ(dt_eval(drp, d, flow, key, v), 0, "flow sample ignored by dropped:true");
    CHECK_EQ(dt_eval(drp, d, ctr, key, v), 0, "counter sample never counts (dropped)");
    CHECK_EQ(dt_eval(drp, d, drop, key, v), 1, "discard sample counts for dropped:true");
    CHECK_STR(key, "10.0.0.1,blackhole_route", "drop reason key");
    CHECK_NEAR(v[0], 1000, 0, "discard bytes unscaled (rate 1)");
    CHECK_NEAR(v[1], 1, 0, "discard frames = 1");
    sfa_flowdef_destroy(fwd);
    sfa_flowdef_destroy(drp);
    free(d);
}

int
main(void)
{
    test_echo();
    test_accessors();
    test_errors();
    test_values();
    test_sample_kinds();
    return test_done();
}
