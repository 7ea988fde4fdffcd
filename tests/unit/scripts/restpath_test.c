/* restpath_test.c - strings, URL escaping, query strings and app paths
 * (services/scripts/restpath.c).
 */
#include <stdlib.h>
#include <string.h>

#include "scr.h"
#include "test.h"

static void
test_buf(void)
{
    scr_buf b = {0};
    char big[2000];

    scr_buf_adds(&b, "/flow/");
    scr_buf_addf(&b, "%s/%d", "x", 42);
    CHECK_STR(b.s, "/flow/x/42", "buf add and addf");
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    scr_buf_addf(&b, "%s", big);
    CHECK_EQ(b.len, 10 + sizeof big - 1, "addf longer than its scratch");
    scr_buf_free(&b);
    CHECK(b.s == NULL && b.len == 0, "free resets");
}

static void
test_escape(void)
{
    scr_buf b = {0};
    char *u;

    scr_url_escape(&b, "10.0.0.1,10.0.0.2;a b/c?", 0);
    CHECK_STR(b.s, "10.0.0.1,10.0.0.2;a%20b%2Fc%3F", "path segment keeps , and ;");
    scr_buf_free(&b);
    scr_url_escape(&b, "a=b&c,d", 1);
    CHECK_STR(b.s, "a%3Db%26c%2Cd", "query value escapes = & ,");
    scr_buf_free(&b);
    u = scr_url_unescape("a%20b+c%2f", 10, 1);
    CHECK_STR(u, "a b c/", "unescape with plus as space");
    free(u);
    u = scr_url_unescape("a+b", 3, 0);
    CHECK_STR(u, "a+b", "plus kept in paths");
    free(u);
    CHECK(scr_url_unescape("a%2", 3, 0) == NULL, "short escape refused");
    CHECK(scr_url_unescape("a%zz", 4, 0) == NULL, "bad hex refused");
    CHECK(scr_url_unescape("a%00", 4, 0) == NULL, "NUL refused");
}

static void
test_query(void)
{
    json_t *q = scr_query_parse("keys=ipsource%2Cipdestination&value=bytes&a=1&a=2&flag&=x&&b=");
    char *s = json_dumps(q, JSON_COMPACT | JSON_SORT_KEYS);

    CHECK_STR(
        s,
        "{\"a\":[\"1\",\"2\"],\"b\":[\"\"],\"flag\":[\"\"],\"keys\":[\"ipsource,ipdestination\"],"
        "\"value\":[\"bytes\"]}",
        "query parsed into lists");
    free(s);
    json_decref(q);
    q = scr_query_parse(NULL);
    CHECK_EQ(json_object_size(q), 0, "no query");
    json_decref(q);
}

static void
test_path(void)
{
    json_t *path;
    char *fmt, *s;

    CHECK_OK(scr_path_split("flows/json", &path, &fmt), "one segment and a format");
    s = json_dumps(path, JSON_COMPACT);
    CHECK_STR(s, "[\"flows\"]", "path");
    CHECK_STR(fmt, "json", "format");
    free(s);
    free(fmt);
    json_decref(path);
    CHECK_OK(scr_path_split("json", &path, &fmt), "format only");
    CHECK_EQ(json_array_size(path), 0, "empty path");
    free(fmt);
    json_decref(path);
    CHECK_OK(scr_path_split("a%20b/c/txt", &path, &fmt), "escaped segment");
    CHECK_STR(json_string_value(json_array_get(path, 0)), "a b", "decoded segment");
    CHECK_STR(fmt, "txt", "txt format");
    free(fmt);
    json_decref(path);
    CHECK_ERR(scr_path_split("", &path, &fmt), SFA_EFORMAT, "empty refused");
    CHECK_ERR(scr_path_split("a/", &path, &fmt), SFA_EFORMAT, "empty format refused");
    CHECK_ERR(scr_path_split("a%zz/json", &path, &fmt), SFA_EFORMAT, "bad escape refused");
}

int
main(void)
{
    test_buf();
    test_escape();
    test_query();
    test_path();
    return test_done();
}
