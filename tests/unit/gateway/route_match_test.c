/* route_match_test.c - path patterns, percent decoding, query strings and
 * object names (services/gateway/route_match.c).
 */
#include <string.h>

#include "gw.h"
#include "test.h"

static int
match(const char *pattern, const char *path, gw_match *m)
{
    return gw_route_match(pattern, path, strlen(path), m);
}

static void
test_patterns(void)
{
    gw_match m;

    CHECK(match("/flow/json", "/flow/json", &m) && m.n == 0, "literal path matches");
    CHECK(!match("/flow/json", "/flow/json/", &m), "trailing slash does not match");
    CHECK(!match("/flow/json", "/flow", &m), "prefix does not match");
    CHECK(!match("/flow/{name}/json", "/flow/json", &m), "missing segment does not match");
    CHECK(match("/flow/{name}/json", "/flow/tcp/json", &m), "parameter matches");
    CHECK_STR(gw_match_get(&m, "name"), "tcp", "parameter value");
    CHECK(gw_match_get(&m, "agent") == NULL, "unknown parameter is NULL");
    CHECK(match("/activeflows/{agent}/{name}/json", "/activeflows/10.0.0.1,10.0.0.2/tcp/json", &m),
          "two parameters match");
    CHECK_STR(gw_match_get(&m, "agent"), "10.0.0.1,10.0.0.2", "first parameter");
    CHECK_STR(gw_match_get(&m, "name"), "tcp", "second parameter");
    CHECK(match("/flow/{name}/json", "/flow//json", &m) && gw_match_get(&m, "name")[0] == '\0',
          "empty segment matches with an empty value");
    CHECK(match("/flow/{name}/json", "/flow/..%2F..%2Fetc/json", &m) && !m.bad,
          "encoded slash stays in one segment");
    CHECK_STR(gw_match_get(&m, "name"), "../../etc", "encoded slash decoded");
    CHECK(!match("/flow/{name}/json", "/flow/../../etc/json", &m), "raw dot segments do not match");
    CHECK(match("/flow/{name}/json", "/flow/a%00b/json", &m) && m.bad, "NUL byte is bad");
    CHECK(match("/flow/{name}/json", "/flow/a%zzb/json", &m) && m.bad, "bad escape is bad");
    CHECK(match("/flow/{name}/json", "/flow/a%2/json", &m) && m.bad, "short escape is bad");
}

static void
test_rest(void)
{
    gw_match m;

    CHECK(match("/app/{app}/scripts/{script}/*", "/app/x/scripts/h.js/a/b/c/d/e/json", &m) &&
              !m.bad && m.n == 2,
          "a last * takes any depth");
    CHECK_STR(gw_match_get(&m, "script"), "h.js", "parameters before * are kept");
    CHECK(match("/a/{x}/*", "/a/b/json", &m), "a last * takes one segment");
    CHECK(match("/a/{x}/*", "/a/b/", &m), "a last * takes an empty rest");
    CHECK(!match("/a/{x}/*", "/a/b", &m), "a last * needs its slash");
    CHECK(!match("/a/{x}/*", "/z/b/c", &m), "literals before * still compare");
    CHECK(match("/a/*", "/a/%zz/../x", &m) && !m.bad, "the rest is neither decoded nor judged");
    CHECK(!match("/a/*/b", "/a/x/b", &m), "* only stands last");
}

static void
test_long_segment(void)
{
    char path[2048];
    gw_match m;

    strcpy(path, "/flow/");
    memset(path + 6, 'a', 1000);
    strcpy(path + 1006, "/json");
    CHECK(match("/flow/{name}/json", path, &m) && m.bad, "over-long segment is bad, not cut");
}

static void
test_decode(void)
{
    char out[16];

    CHECK_OK(gw_url_decode("a%20b+c", 7, out, sizeof out, 1), "query decoding");
    CHECK_STR(out, "a b c", "plus is a space in queries");
    CHECK_OK(gw_url_decode("a+b", 3, out, sizeof out, 0), "path decoding");
    CHECK_STR(out, "a+b", "plus stays in paths");
    CHECK_ERR(gw_url_decode("0123456789abcdef", 16, out, sizeof out, 0), SFA_ELIMIT,
              "too long for the buffer");
    CHECK_ERR(gw_url_decode("%", 1, out, sizeof out, 0), SFA_EFORMAT, "lone percent");
}

static void
test_query(void)
{
    const char *qs = "maxFlows=10&minValue=1.5&agent=a&agent=b&flag&aggMode=su%6D&bad=%zz";
    size_t len = strlen(qs);
    char out[32];

    CHECK_EQ(gw_query_get(qs, len, "maxFlows", 0, out, sizeof out), 1, "maxFlows found");
    CHECK_STR(out, "10", "maxFlows value");
    CHECK_EQ(gw_query_get(qs, len, "agent", 1, out, sizeof out), 1, "second agent found");
    CHECK_STR(out, "b", "second agent value");
    CHECK_EQ(gw_query_get(qs, len, "agent", 2, out, sizeof out), 0, "no third agent");
    CHECK_EQ(gw_query_get(qs, len, "flag", 0, out, sizeof out), 1, "valueless key found");
    CHECK_STR(out, "", "valueless key is empty");
    CHECK_EQ(gw_query_get(qs, len, "aggMode", 0, out, sizeof out), 1, "escaped value");
    CHECK_STR(out, "sum", "escaped value decoded");
    CHECK_EQ(gw_query_get(qs, len, "bad", 0, out, sizeof out), SFA_EFORMAT, "bad escape");
    CHECK_EQ(gw_query_get(qs, len, "missing", 0, out, sizeof out), 0, "absent key");
    CHECK_EQ(gw_query_get("", 0, "x", 0, out, sizeof out), 0, "empty query");
    CHECK_EQ(gw_query_get("max=1", 5, "maxFlows", 0, out, sizeof out), 0,
             "prefix key is not a match");
}

static void
test_names(void)
{
    char n65[70];

    memset(n65, 'a', 65);
    n65[65] = '\0';
    CHECK(gw_name_valid("tcp_flows-1.v2"), "letters, digits, _ . - are valid");
    CHECK(gw_name_valid("a"), "one character is valid");
    CHECK(!gw_name_valid(""), "empty is invalid");
    CHECK(!gw_name_valid("."), "dot is invalid");
    CHECK(!gw_name_valid(".."), "dot-dot is invalid");
    CHECK(!gw_name_valid("../etc"), "slash is invalid");
    CHECK(!gw_name_valid("a b"), "space is invalid");
    CHECK(!gw_name_valid("caf\xc3\xa9"), "non-ASCII is invalid");
    CHECK(!gw_name_valid(n65), "65 characters is invalid");
    n65[64] = '\0';
    CHECK(gw_name_valid(n65), "64 characters is valid");
}

int
main(void)
{
    test_patterns();
    test_rest();
    test_long_segment();
    test_decode();
    test_query();
    test_names();
    return test_done();
}
