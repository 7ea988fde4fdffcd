/* metricq_test.c - the metric routes' pure helpers (services/gateway/
 * metricq.c): metric lists, Prometheus names, labels and values, and the
 * text buffer.
 */
#include <math.h>
#include <stdlib.h>

#include "metricq.h"
#include "test.h"

static int
names_rc(const char *list, int sort, int agg, int all, size_t *n)
{
    json_t *out = NULL;
    char err[256];
    int rc = gw_mq_names(list, sort, agg, all, &out, err, sizeof err);

    *n = json_array_size(out);
    if (rc != 0 && err[0] == '\0')
        rc = -12345; /* an error must come with a message */
    json_decref(out);
    return rc;
}

static void
test_names(void)
{
    json_t *out = NULL;
    char err[256];
    size_t n;

    CHECK_OK(gw_mq_names("max:ifinoctets,2.1.load_one;sum:15.ifoutoctets", 0, 1, 0, &out, err,
                         sizeof err),
             "a list with ',' and ';', aggregations and qualified names");
    CHECK_EQ(json_array_size(out), 3, "three names");
    CHECK_STR(json_string_value(json_array_get(out, 1)), "2.1.load_one", "kept as written");
    json_decref(out);
    CHECK_ERR(names_rc("foo:ifinoctets", 0, 1, 0, &n), SFA_EFORMAT, "unknown aggregation: refused");
    CHECK_ERR(names_rc("ifinoctets,,x", 0, 1, 0, &n), SFA_EFORMAT, "empty name: refused");
    CHECK_ERR(names_rc("", 0, 1, 0, &n), SFA_EFORMAT, "empty list: refused");
    CHECK_ERR(names_rc("sort:ifinoctets:-5", 0, 1, 0, &n), SFA_EFORMAT,
              "sort: outside tables: refused");
    CHECK_OK(names_rc("sort:ifinoctets:-5,ifspeed", 1, 0, 0, &n), "sort: in a table");
    CHECK_ERR(names_rc("sort:ifinoctets:x5", 1, 0, 0, &n), SFA_EFORMAT, "bad sort limit: refused");
    CHECK_ERR(names_rc("max:ifinoctets", 0, 0, 1, &n), SFA_EFORMAT,
              "aggregation where none applies (dump): refused");
    CHECK_OK(names_rc("ALL", 0, 0, 1, &n), "ALL where allowed");
    CHECK_ERR(names_rc("ALL,ifindex", 0, 0, 1, &n), SFA_EFORMAT, "ALL with other names: refused");
}

static const char *
render_name(gw_text *t, const char *prefix, const char *name)
{
    gw_text_free(t);
    gw_prom_name(t, prefix, name);
    return gw_text_str(t);
}

static const char *
render_value(gw_text *t, double v)
{
    gw_text_free(t);
    gw_prom_value(t, v);
    return gw_text_str(t);
}

static void
test_prom(void)
{
    gw_text t = {NULL, 0, 0};

    CHECK_STR(render_name(&t, "sflow_", "ifinoctets"), "sflow_ifinoctets", "prefix + name");
    CHECK_STR(render_name(&t, "sflow_", "fv-bytes.x"), "sflow_fv_bytes_x",
              "bytes outside [A-Za-z0-9_] become '_'");
    CHECK_STR(render_name(&t, "", "2xx"), "_2xx", "no leading digit without a prefix");
    gw_text_free(&t);
    gw_prom_label(&t, 1, "host", "a\"b\\c\nd");
    gw_prom_label(&t, 0, "ifname", "swp1");
    CHECK_STR(gw_text_str(&t), "host=\"a\\\"b\\\\c\\nd\",ifname=\"swp1\"",
              "label values escaped, comma separated");
    CHECK_STR(render_value(&t, 42), "42", "integers print exactly");
    CHECK_STR(render_value(&t, 1e14), "100000000000000", "large integers too");
    CHECK(strtod(render_value(&t, 3e20), NULL) == 3e20, "huge ones in exponent form");
    CHECK_STR(render_value(&t, 0.5), "0.5", "short decimals");
    CHECK(strtod(render_value(&t, 0.1 + 0.2), NULL) == 0.1 + 0.2, "the value reads back exactly");
    CHECK_STR(render_value(&t, NAN), "NaN", "NaN");
    CHECK_STR(render_value(&t, -INFINITY), "-Inf", "-Inf");
    gw_text_free(&t);
}

static void
test_text(void)
{
    gw_text a = {NULL, 0, 0}, b = {NULL, 0, 0};

    CHECK_STR(gw_text_str(&a), "", "an empty text is \"\"");
    for (int i = 0; i < 2000; i++)
        gw_text_addf(&a, "%d,", i % 10);
    CHECK_EQ(a.len, 4000, "grows past its first block");
    gw_text_adds(&b, "tail");
    gw_text_move(&a, &b);
    CHECK(a.len == 4004 && strcmp(a.buf + 4000, "tail") == 0 && b.buf == NULL && b.len == 0,
          "move appends and empties the source");
    gw_text_move(&b, &a);
    CHECK(b.len == 4004 && a.buf == NULL, "move into an empty text takes the buffer");
    gw_text_free(&a);
    gw_text_free(&b);
}

int
main(void)
{
    test_names();
    test_prom();
    test_text();
    return test_done();
}
