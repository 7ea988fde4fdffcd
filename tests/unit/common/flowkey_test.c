/* flowkey_test.c - flow key vocabulary, renderings and key functions,
 * checked through the public sfa_flowdef API on hand-built samples. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/flowdef.h>
#include <sfa/groups.h>

#include "flow_sample.h"
#include "test.h"

static sfa_tables *tabs;

/* Compile {"keys": keys, "value": "frames"}; NULL (and the error in err). */
static sfa_flowdef *
kt_compile(const char *keys, char *err, size_t errcap)
{
    json_t *spec = json_pack("{s:s, s:s}", "keys", keys, "value", "frames");
    sfa_flowdef *fd = NULL;

    if (sfa_flowdef_compile(spec, &fd, err, errcap) != 0)
        fd = NULL;
    json_decref(spec);
    return fd;
}

/* The joined key for keys on sample s, "(absent)" when the sample does not
 * count, "(error: ...)" when the keys do not compile. */
static const char *
kt_key(const char *keys, const sfa_dgram *d, const sfa_sample *s)
{
    static char buf[SFA_FLOWDEF_KEY_MAX];
    char err[200];
    double vals[SFA_FLOWDEF_MAX_VALUES];
    size_t len = 0;
    sfa_flowdef *fd = kt_compile(keys, err, sizeof err);

    if (!fd) {
        snprintf(buf, sizeof buf, "(error: %s)", err);
        return buf;
    }
    if (!sfa_flowdef_eval(fd, d, s, tabs, buf, sizeof buf, &len, vals))
        strcpy(buf, "(absent)");
    else if (strlen(buf) != len)
        strcpy(buf, "(bad length)");
    sfa_flowdef_destroy(fd);
    return buf;
}

static const char *
kt_error(const char *keys)
{
    static char err[200];
    sfa_flowdef *fd = kt_compile(keys, err, sizeof err);

    if (fd) {
        sfa_flowdef_destroy(fd);
        return "(compiled)";
    }
    return err;
}

static void
test_renderings(void)
{
    sfa_dgram *d = fs_dgram_new("192.0.2.254");
    sfa_sample *s = fs_tcp4(d, 3, 1000, "10.0.0.1", "172.16.5.200", 443, 51544, 1514);

    CHECK_STR(kt_key("ipsource,ipdestination", d, s), "10.0.0.1,172.16.5.200", "IPv4 keys");
    CHECK_STR(kt_key("tcpsourceport,tcpdestinationport,ipprotocol", d, s), "443,51544,6",
              "numbers in decimal");
    CHECK_STR(kt_key("macsource,macdestination", d, s), "001122334455,66778899AABB",
              "MACs as 12 upper-case hex digits");
    CHECK_STR(kt_key("tcpflags", d, s), "000011000", "tcpflags PSH+ACK as 9 bits");
    CHECK_STR(kt_key("ipflags", d, s), "010", "ipflags DF as 3 bits");
    CHECK_STR(kt_key("ipecn", d, s), "00", "ipecn as 2 bits");
    CHECK_STR(kt_key("ipdscpname", d, s), "ef(46)", "ipdscpname ef");
    CHECK_STR(kt_key("ipdscp", d, s), "46", "ipdscp number");
    CHECK_STR(kt_key("stack", d, s), "eth.ip.tcp", "stack string as is");
    CHECK_STR(kt_key("agent", d, s), "192.0.2.254", "agent address");
    CHECK_STR(kt_key("datasource", d, s), "3", "ifIndex data source");
    CHECK_STR(kt_key("inputifindex,outputifindex", d, s), "3,4", "interfaces");
    CHECK_STR(kt_key("direction", d, s), "ingress", "ingress when ds is input");
    CHECK_STR(kt_key("samplingrate", d, s), "1000", "sampling rate");
    CHECK_STR(kt_key("bytes,frames", d, s), "1514,1", "bytes and frames keys");
    CHECK_STR(kt_key("ipnexthoprouter,ipsourcemaskbits", d, s), "192.0.2.1,24", "router data");
    CHECK_STR(kt_key("ip6source", d, s), "(absent)", "missing field: sample does not count");
    CHECK_STR(kt_key(" ipsource , ipprotocol ", d, s), "10.0.0.1,6", "blanks around keys");

    s->in_val = 0x3FFFFFFF;
    s->out_fmt = 2;
    s->out_val = 7;
    CHECK_STR(kt_key("inputifindex,outputifindex", d, s), "internal,multiple",
              "internal and multiple interfaces");
    s->out_fmt = 1;
    s->out_val = 258;
    CHECK_STR(kt_key("outputifindex,reason", d, s), "discard,acl", "discard output and reason");
    s->out_fmt = 0;
    s->out_val = 3;
    s->in_val = 9;
    CHECK_STR(kt_key("direction", d, s), "egress", "egress when ds is output");
    s->out_val = 5;
    CHECK_STR(kt_key("direction", d, s), "(absent)", "no direction otherwise");
    CHECK_STR(kt_key("reason", d, s), "(absent)", "no reason on a forwarded sample");
    s->ds_class = 2;
    s->ds_index = 1;
    CHECK_STR(kt_key("datasource", d, s), "2.1", "class.index data source");
    free(d);
}

static void
test_renderings_more(void)
{
    sfa_dgram *d = fs_dgram_new("2001:db8::fe");
    sfa_sample *s = fs_sample(d, SFA_SAMPLE_FLOW, 7, 512);
    static const uint8_t uuid[16] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
                                     0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
    static const uint8_t comm[8] = {0xfd, 0xe8, 0x00, 0x64, 0xff, 0xff, 0x02, 0x9a};
    /* two segments: sequence 65001 65002, set 65003 */
    static const uint8_t path[] = {0,    0,    0, 2, 0, 0, 0, 2, 0, 0, 0xfd, 0xe9, 0,    0,
                                   0xfd, 0xea, 0, 0, 0, 1, 0, 0, 0, 1, 0,    0,    0xfd, 0xeb};

    fs_ip(d, SFA_F_IP6SOURCE, "2001:db8:0:0:1:0:0:1");
    fs_ip(d, SFA_F_IP6DESTINATION, "::ffff:10.1.2.3");
    fs_u(d, SFA_F_IP6DSCP, 10);
    fs_u(d, SFA_F_IP6ECN, 3);
    fs_bool(d, SFA_F_IP6FRAGM, 1);
    fs_u(d, SFA_F_TCPFLAGS, 0x102);
    fs_bytes(d, SFA_F_UUID, SFA_T_BIN, uuid, 16, 16);
    fs_bytes(d, SFA_F_BGPCOMMUNITIES, SFA_T_U32S, comm, 8, 2);
    fs_bytes(d, SFA_F_BGPDESTINATIONASPATH, SFA_T_ASPATH, path, sizeof path, 2);
    fs_f(d, SFA_F_LOAD_ONE, 0.25);
    fs_field(d, SFA_F_IPTTL, SFA_T_I)->v.i = -5;

    CHECK_STR(kt_key("agent", d, s), "2001:db8::fe", "IPv6 agent");
    CHECK_STR(kt_key("ip6source", d, s), "2001:db8::1:0:0:1", "IPv6 first longest zero run");
    CHECK_STR(kt_key("ip6destination", d, s), "::ffff:10.1.2.3", "IPv4-mapped IPv6");
    CHECK_STR(kt_key("ip6dscpname", d, s), "af11(10)", "ip6dscpname af11");
    CHECK_STR(kt_key("ip6ecn", d, s), "11", "ip6ecn bits");
    CHECK_STR(kt_key("ip6fragm", d, s), "yes", "ip6fragm yes");
    CHECK_STR(kt_key("tcpflags", d, s), "100000010", "tcpflags NS+SYN");
    CHECK_STR(kt_key("uuid", d, s), "12345678-9abc-def0-0123-456789abcdef", "uuid form");
    CHECK_STR(kt_key("bgpcommunities", d, s), "65000:100-65535:666", "communities");
    CHECK_STR(kt_key("bgpdestinationaspath", d, s), "65001-65002-65003", "AS path");
    CHECK_STR(kt_key("load_one", d, s), "0.25", "floating point");
    CHECK_STR(kt_key("ipttl", d, s), "-5", "signed integer");
    CHECK_STR(kt_key("bytes", d, s), "(absent)", "no header: no bytes key");
    free(d);

    d = fs_dgram_new("10.0.0.1");
    s = fs_sample(d, SFA_SAMPLE_FLOW, 1, 1);
    fs_u(d, SFA_F_IPDSCP, 0);
    fs_u(d, SFA_F_IP6DSCP, 5);
    fs_bool(d, SFA_F_IP6FRAGM, 0);
    CHECK_STR(kt_key("ipdscpname,ip6dscpname,ip6fragm", d, s), "be(0),5,no",
              "be, unnamed code point, fragm no");
    free(d);
}

/* The evaluator's IPv6 text must equal sfa_addr_format for every address
 * shape: random words with zero runs of every length and position. */
static void
test_ipv6_random(void)
{
    sfa_dgram *d = fs_dgram_new("10.0.0.1");
    sfa_sample *s = fs_sample(d, SFA_SAMPLE_FLOW, 1, 1);
    sfa_field *f = fs_field(d, SFA_F_IP6SOURCE, SFA_T_IP6);
    sfa_flowdef *fd = kt_compile("ip6source", NULL, 0);
    char key[SFA_FLOWDEF_KEY_MAX], want[64];
    double vals[SFA_FLOWDEF_MAX_VALUES];
    int bad = 0;
    unsigned seed = 12345;

    for (int iter = 0; iter < 20000; iter++) {
        sfa_addr a = {.family = 6};
        size_t len;
        for (int w = 0; w < 8; w++) {
            seed = seed * 1103515245u + 12345u;
            unsigned r = seed >> 16;
            unsigned v = (r & 3) == 0 ? 0 : (r & 4) ? (r >> 3) & 0xff : (r >> 3) & 0xffff;
            a.a[2 * w] = (uint8_t)(v >> 8);
            a.a[2 * w + 1] = (uint8_t)v;
        }
        if (iter % 7 == 0) { /* mapped and compatible forms */
            memset(a.a, 0, 10);
            a.a[10] = a.a[11] = (iter % 14) ? 0xff : 0;
        }
        memcpy(f->v.a, a.a, 16);
        sfa_addr_format(&a, want);
        if (!sfa_flowdef_eval(fd, d, s, NULL, key, sizeof key, &len, vals) ||
            strcmp(key, want) != 0) {
            if (bad++ < 3)
                printf("# %s != %s\n", key, want);
        }
    }
    CHECK_EQ(bad, 0, "IPv6 rendering equals sfa_addr_format (20000 addresses)");
    sfa_flowdef_destroy(fd);
    free(d);
}

static void
test_functions(void)
{
    sfa_dgram *d = fs_dgram_new("192.0.2.254");
    sfa_sample *s = fs_tcp4(d, 3, 1000, "10.1.2.3", "172.16.5.200", 443, 51544, 1514);

    fs_ip(d, SFA_F_IP6SOURCE, "2001:db8:abcd:1234::1");
    fs_str(d, SFA_F_HOST_NAME, "www.example.com.");

    CHECK_STR(kt_key("or:udpsourceport:tcpsourceport", d, s), "443", "or: first present");
    CHECK_STR(kt_key("or:udpsourceport:icmptype", d, s), "(absent)", "or: none present");
    CHECK_STR(kt_key("null:udpsourceport", d, s), "null", "null: default text");
    CHECK_STR(kt_key("null:udpsourceport:none", d, s), "none", "null: given default");
    CHECK_STR(kt_key("null:tcpsourceport:none", d, s), "443", "null: present value");
    CHECK_STR(kt_key("mask:ipsource:16", d, s), "10.1.0.0", "mask IPv4 /16");
    CHECK_STR(kt_key("mask:ipsource:20", d, s), "10.1.0.0", "mask IPv4 /20");
    CHECK_STR(kt_key("mask:ipsource:64", d, s), "10.1.2.3", "mask bits clamp to 32");
    CHECK_STR(kt_key("mask:ip6source:48", d, s), "2001:db8:abcd::", "mask IPv6 /48");
    CHECK_STR(kt_key("mask:[or:ip6source:ipsource]:8:32", d, s),
              "2001:db8::", "mask with separate IPv6 bits");
    CHECK_STR(kt_key("mask:stack:8", d, s), "(absent)", "mask of a non-address");
    CHECK_STR(kt_key("prefix:stack:.:1", d, s), "eth", "prefix 1");
    CHECK_STR(kt_key("prefix:stack:.:2", d, s), "eth.ip", "prefix 2");
    CHECK_STR(kt_key("prefix:stack:.:9", d, s), "eth.ip.tcp", "prefix beyond tokens");
    CHECK_STR(kt_key("suffix:host_name:.:2", d, s), "example.com", "suffix drops trailing dot");
    CHECK_STR(kt_key("suffix:stack:.", d, s), "tcp", "suffix default 1");
    CHECK_STR(kt_key("first:stack:.:ip:ip6", d, s), "ip", "first: outer IPv4");
    CHECK_STR(kt_key("first:stack:.:ip6:arp", d, s), "(absent)", "first: no match");
    CHECK_STR(kt_key("range:tcpsourceport:1:1023", d, s), "true", "range inside");
    CHECK_STR(kt_key("range:tcpdestinationport:1:1023", d, s), "false", "range outside");
    CHECK_STR(kt_key("range:ipfragoffset:1", d, s), "false", "range open upper bound, 0");
    CHECK_STR(kt_key("range:tcpdestinationport:1024", d, s), "true", "range open upper bound");
    CHECK_STR(kt_key("eq:vlansource:vlandestination", d, s), "true", "eq true");
    CHECK_STR(kt_key("eq:ipsource:ipdestination", d, s), "false", "eq false");
    CHECK_STR(kt_key("concat:-:ipsource:tcpsourceport", d, s), "10.1.2.3-443", "concat");
    CHECK_STR(kt_key("concat:\\::ipprotocol:tcpdestinationport", d, s), "6:51544",
              "concat with escaped colon");
    CHECK_STR(kt_key("concat:/:ipsource:udpsourceport", d, s), "(absent)",
              "concat with an absent part");
    CHECK_STR(kt_key("if:ipprotocol:6:tcpsourceport:udpsourceport", d, s), "443", "if then");
    CHECK_STR(kt_key("if:ipprotocol:17:udpsourceport:ipsource", d, s), "10.1.2.3", "if else");
    CHECK_STR(kt_key("if:[first:stack:.:ip:ip6]:ip:[mask:ipsource:8]:[mask:ip6source:16]", d, s),
              "10.0.0.0", "if with nested functions");
    CHECK_STR(kt_key("prefix:[concat:.:ipprotocol:tcpsourceport:stack]:.:3", d, s), "6.443.eth",
              "nested concat inside prefix");
    CHECK_STR(kt_key("[ipsource]", d, s), "10.1.2.3", "bracketed plain key");
    CHECK_STR(kt_key("null:[or:udpsourceport:icmptype]:-", d, s), "-", "null over or");
    CHECK_STR(kt_key("group:ipsource:nets", d, s), "lab", "group label");
    CHECK_STR(kt_key("group:ipdestination:nets", d, s), "(absent)", "group no match");
    CHECK_STR(kt_key("group:ipdestination:nets:world", d, s), "external",
              "group falls through sets in order");
    CHECK_STR(kt_key("group:ip6source:nets", d, s), "v6lab", "group IPv6");
    CHECK_STR(kt_key("group:[mask:ipsource:24]:nets", d, s), "lab", "group of a masked address");
    CHECK_STR(kt_key("group:ipsource:nosuchset", d, s), "(absent)", "group of unknown set");
    CHECK_STR(kt_key("map:tcpsourceport:svc", d, s), "web", "map label");
    CHECK_STR(kt_key("map:tcpdestinationport:svc", d, s), "(absent)", "map no match");
    CHECK_STR(kt_key("null:[map:tcpdestinationport:svc]:other", d, s), "other", "null over map");
    free(d);
}

static void
test_tokens(void)
{
    sfa_dgram *d = fs_dgram_new("10.0.0.1");
    sfa_sample *s = fs_sample(d, SFA_SAMPLE_FLOW, 1, 1);
    char many[2000] = "";

    for (int i = 0; i < 300; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), i ? ".t%d" : "t%d", i);
    fs_str(d, SFA_F_HOST_NAME, "x--y----z--");
    fs_str(d, SFA_F_OS_RELEASE, many);
    fs_str(d, SFA_F_STACK, ".eth.ip");
    CHECK_STR(kt_key("prefix:host_name:--:1", d, s), "x", "multi-byte delimiter prefix 1");
    CHECK_STR(kt_key("prefix:host_name:--:3", d, s), "x--y--", "prefix keeps empty tokens");
    CHECK_STR(kt_key("suffix:host_name:--:1", d, s), "z", "suffix after trailing delimiter");
    CHECK_STR(kt_key("suffix:host_name:--:2", d, s), "--z", "suffix with an empty token");
    CHECK_STR(kt_key("suffix:host_name:--:9", d, s), "x--y----z", "suffix beyond tokens");
    CHECK_STR(kt_key("first:host_name:--:z:y", d, s), "y", "first in token order");
    CHECK_STR(kt_key("suffix:os_release:.:2", d, s), "t298.t299", "suffix of 300 tokens");
    CHECK_STR(kt_key("prefix:os_release:.:2", d, s), "t0.t1", "prefix of 300 tokens");
    CHECK_STR(kt_key("first:os_release:.:t299", d, s), "t299", "first finds the 300th token");
    CHECK_STR(kt_key("prefix:stack:.:1", d, s), "", "leading empty token kept");
    CHECK_STR(kt_key("suffix:stack:.:3", d, s), ".eth.ip", "suffix keeps leading empty token");
    free(d);
}

static void
test_errors(void)
{
    char deep[200] = "";

    CHECK_STR(kt_error("nosuchkey"), "unknown key: nosuchkey", "unknown key");
    CHECK_STR(kt_error("ipsource,foo"), "unknown key: foo", "unknown second key");
    CHECK_STR(kt_error("country:ipsource"), "function not supported: country", "country");
    CHECK_STR(kt_error("asn:ipsource"), "function not supported: asn", "asn");
    CHECK_STR(kt_error("null:[country:ipsource]:unknown"), "function not supported: country",
              "country nested");
    CHECK_STR(kt_error("oui:macsource"), "function not supported: oui", "oui");
    CHECK_STR(kt_error("uri:httpurl:path"), "function not supported: uri", "uri");
    CHECK_STR(kt_error("frob:ipsource"), "unknown function: frob", "unknown function");
    CHECK_STR(kt_error("mask:ipsource"), "wrong number of arguments for mask: 'mask:ipsource'",
              "mask arity");
    CHECK_STR(kt_error("mask:ipsource:abc"), "mask: bits must be 0-128: 'abc'", "mask bits");
    CHECK_STR(kt_error("mask:ipsource:200"), "mask: bits must be 0-128: '200'", "mask range");
    CHECK_STR(kt_error("prefix:stack::2"), "prefix: empty delimiter", "prefix delimiter");
    CHECK_STR(kt_error("prefix:stack:.:0"), "prefix: count must be 1-255: '0'", "prefix count");
    CHECK_STR(kt_error("range:ipttl:x"), "range: not a number: 'x'", "range number");
    CHECK_STR(kt_error("eq:ipsource"), "wrong number of arguments for eq: 'eq:ipsource'",
              "eq arity");
    CHECK_STR(kt_error("if:a:b:c"), "wrong number of arguments for if: 'if:a:b:c'", "if arity");
    CHECK_STR(kt_error("or:[ipsource"), "unbalanced [ ] in 'or:[ipsource'", "unbalanced [");
    CHECK_STR(kt_error("or:ipsource]"), "unbalanced [ ] in 'or:ipsource]'", "unbalanced ]");
    CHECK_STR(kt_error("or:ip[source]"), "misplaced [ ] in 'ip[source]'", "misplaced [");
    CHECK_STR(kt_error("or:ipsource:"), "empty key", "empty key argument");
    CHECK_STR(kt_error("group:ipsource:"), "group: empty name", "empty group name");
    CHECK_STR(kt_error("ipsource,,ipdestination"), "keys: empty key in 'ipsource,,ipdestination'",
              "empty key in list");
    for (int i = 0; i < 40; i++)
        strcat(deep, "[");
    strcat(deep, "ipsource");
    for (int i = 0; i < 40; i++)
        strcat(deep, "]");
    CHECK_STR(kt_error(deep), "key nested too deeply (max 32)", "deep nesting is refused");
}

int
main(void)
{
    json_t *groups =
        json_loads("{\"nets\":{\"lab\":[\"10.1.0.0/16\"],\"v6lab\":[\"2001:db8::/32\"]},"
                   "\"world\":{\"external\":[\"0.0.0.0/0\"]}}",
                   0, NULL);
    json_t *maps = json_loads("{\"svc\":{\"web\":[\"80\",\"443\"],\"dns\":[\"53\"]}}", 0, NULL);

    tabs = sfa_tables_build(groups, maps);
    CHECK(tabs != NULL, "tables build");
    test_renderings();
    test_renderings_more();
    test_ipv6_random();
    test_functions();
    test_tokens();
    test_errors();
    sfa_tables_destroy(tabs);
    json_decref(groups);
    json_decref(maps);
    return test_done();
}
