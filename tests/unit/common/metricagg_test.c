/* metricagg_test.c - metric names, the accumulator and the merges of
 * sfa/metricagg.h.
 *
 * The main property: for every aggregation, splitting the values over
 * several shards, answering each share with a partial and merging the
 * partials gives the result of one accumulator over all the values (the
 * same winner for max/min/any, equal statistics up to rounding for the
 * others, identical quantiles). Also the name grammar, glob matching,
 * text values, topKeys travelling with the winner, and the dump, table,
 * metrics and metric_agent merges.
 */
#include <stdlib.h>
#include <string.h>

#include <sfa/metricagg.h>

#include "test.h"

static void
test_names(void)
{
    sfa_metric_name n;

    CHECK_OK(sfa_metric_name_parse("load_one", &n), "parse a bare name");
    CHECK(n.agg == SFA_MAGG_MAX && !n.has_agg && n.ds[0] == '\0' && !n.sort,
          "bare name: max, no ds, no sort");
    CHECK_STR(n.metric, "load_one", "bare name: metric");
    CHECK_OK(sfa_metric_name_parse("sum:2.1.load_one", &n), "parse sum:2.1.load_one");
    CHECK(n.agg == SFA_MAGG_SUM && n.has_agg, "sum prefix");
    CHECK_STR(n.ds, "2.1", "host data source qualifier");
    CHECK_STR(n.metric, "load_one", "qualified metric");
    CHECK_STR(n.label, "sum:2.1.load_one", "label as requested");
    CHECK_OK(sfa_metric_name_parse("15.ifinoctets", &n), "parse 15.ifinoctets");
    CHECK(strcmp(n.ds, "15") == 0 && strcmp(n.metric, "ifinoctets") == 0, "ifIndex qualifier");
    CHECK_OK(sfa_metric_name_parse("my.flow", &n), "a dotted name that is no data source");
    CHECK(n.ds[0] == '\0' && strcmp(n.metric, "my.flow") == 0, "kept whole");
    CHECK_OK(sfa_metric_name_parse("sort:ifinutilization:-10", &n), "parse a sort column");
    CHECK(n.sort == -1 && n.limit == 10, "descending, 10 rows");
    CHECK_STR(n.metric, "ifinutilization", "sort column metric");
    CHECK_STR(n.label, "ifinutilization", "sort column label");
    CHECK_OK(sfa_metric_name_parse("sort:load_one:3", &n), "ascending sort with a limit");
    CHECK(n.sort == 1 && n.limit == 3, "ascending, 3 rows");
    CHECK_OK(sfa_metric_name_parse("sort:load_one", &n), "sort without limit");
    CHECK(n.sort == 1 && n.limit == 0, "ascending, every row");
    CHECK_OK(sfa_metric_name_parse("med:3.tcp", &n), "med of a qualified flow metric");
    CHECK(n.agg == SFA_MAGG_MED && strcmp(n.ds, "3") == 0, "med, ds 3");
    CHECK_ERR(sfa_metric_name_parse("bogus:load_one", &n), SFA_EFORMAT, "unknown prefix");
    CHECK_ERR(sfa_metric_name_parse("", &n), SFA_EFORMAT, "empty name");
    CHECK_ERR(sfa_metric_name_parse("max:", &n), SFA_EFORMAT, "prefix alone");
    CHECK_ERR(sfa_metric_name_parse("2.1.", &n), SFA_EFORMAT, "qualifier alone");
    CHECK_STR(sfa_magg_name(SFA_MAGG_IQR), "iqr", "aggregation names");
}

static void
test_glob(void)
{
    CHECK(sfa_metric_glob("linux", "linux"), "glob: literal");
    CHECK(!sfa_metric_glob("linux", "linuxx"), "glob: literal is whole");
    CHECK(sfa_metric_glob("*web.*", "leaf-web.example"), "glob: stars around");
    CHECK(!sfa_metric_glob("*web.*", "leaf-db.example"), "glob: no match");
    CHECK(sfa_metric_glob("*", ""), "glob: star matches empty");
    CHECK(sfa_metric_glob("a*b*c", "aXbYbZc"), "glob: backtracking");
    CHECK(!sfa_metric_glob("a*b*c", "aXbYbZ"), "glob: backtracking fails");
}

/* One value of the exactness test. */
typedef struct tv {
    double v;
    char agent[16], ds[8];
    double age;
} tv;

static double
rel_diff(double a, double b)
{
    double m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);

    return m > 0 ? fabs(a - b) / m : 0;
}

/* json_equal, with two absent members equal too. */
static int
same(const json_t *a, const json_t *b)
{
    return (!a && !b) || json_equal(a, b);
}

/* Values split over k shards: partial, merge, result vs one accumulator. */
static int
split_matches(int agg, const tv *vals, size_t n, size_t k)
{
    sfa_metricacc *whole = sfa_metricacc_create(agg), *merged = sfa_metricacc_create(agg);
    json_t *rw, *rm;
    int ok = 1;

    for (size_t i = 0; i < n; i++)
        sfa_metricacc_add_num(whole, vals[i].v, vals[i].agent, vals[i].ds, vals[i].age, i);
    for (size_t s = 0; s < k; s++) {
        sfa_metricacc *part = sfa_metricacc_create(agg);
        json_t *p, *wire;
        char *txt;

        for (size_t i = s; i < n; i += k)
            sfa_metricacc_add_num(part, vals[i].v, vals[i].agent, vals[i].ds, vals[i].age, i);
        p = sfa_metricacc_partial(part, "m");
        /* Through text, as the bus would carry it. */
        txt = json_dumps(p, JSON_COMPACT | JSON_REAL_PRECISION(17));
        wire = txt ? json_loads(txt, 0, NULL) : NULL;
        free(txt);
        ok &= wire && sfa_metricacc_merge(merged, wire) == 0;
        json_decref(wire);
        json_decref(p);
        sfa_metricacc_destroy(part);
    }
    rw = sfa_metricacc_result(whole, "m");
    rm = sfa_metricacc_result(merged, "m");
    ok &= json_integer_value(json_object_get(rw, "metricN")) ==
          json_integer_value(json_object_get(rm, "metricN"));
    ok &= rel_diff(json_number_value(json_object_get(rw, "metricValue")),
                   json_number_value(json_object_get(rm, "metricValue"))) < 1e-9;
    ok &= same(json_object_get(rw, "agent"), json_object_get(rm, "agent"));
    ok &= same(json_object_get(rw, "dataSource"), json_object_get(rm, "dataSource"));
    ok &= same(json_object_get(rw, "lastUpdate"), json_object_get(rm, "lastUpdate"));
    ok &= same(json_object_get(rw, "lastUpdateMin"), json_object_get(rm, "lastUpdateMin"));
    ok &= same(json_object_get(rw, "lastUpdateMax"), json_object_get(rm, "lastUpdateMax"));
    if (agg == SFA_MAGG_MED)
        ok &= same(json_object_get(rw, "quartiles"), json_object_get(rm, "quartiles"));
    if (!ok) {
        char *a = json_dumps(rw, JSON_COMPACT), *b = json_dumps(rm, JSON_COMPACT);
        printf("# whole %s\n# merged %s\n", a, b);
        free(a);
        free(b);
    }
    json_decref(rw);
    json_decref(rm);
    sfa_metricacc_destroy(whole);
    sfa_metricacc_destroy(merged);
    return ok;
}

static void
test_exact_merge(void)
{
    enum { N = 1001 };
    static tv vals[N];
    char what[96];

    srand(7);
    for (size_t i = 0; i < N; i++) {
        /* Large offset and spread: what naive sums of squares get wrong. */
        vals[i].v = 1e9 + (double)(rand() % 100000) / 7.0;
        if (i % 97 == 0)
            vals[i].v = 1e9 + 99999.0; /* ties for max */
        snprintf(vals[i].agent, sizeof vals[i].agent, "10.0.%zu.%zu", i / 200, i % 200);
        snprintf(vals[i].ds, sizeof vals[i].ds, "%zu", i % 48);
        vals[i].age = (double)(rand() % 60000);
    }
    for (int agg = 0; agg < SFA_MAGG__COUNT; agg++) {
        for (size_t k = 1; k <= 5; k += 2) {
            snprintf(what, sizeof what, "%s over %zu shards equals the union's", sfa_magg_name(agg),
                     k);
            CHECK(split_matches(agg, vals, N, k), what);
        }
    }
}

static void
test_known_values(void)
{
    static const double v[] = {4, 1, 3, 2, 10};
    sfa_metricacc *a;
    json_t *r, *q;
    int aggs[] = {SFA_MAGG_SUM, SFA_MAGG_AVG, SFA_MAGG_VAR, SFA_MAGG_SDEV, SFA_MAGG_MED,
                  SFA_MAGG_Q1,  SFA_MAGG_Q3,  SFA_MAGG_IQR, SFA_MAGG_MIN,  SFA_MAGG_MAX};
    double want[] = {20, 4, 10, sqrt(10.0), 3, 2, 4, 2, 1, 10};

    for (size_t k = 0; k < sizeof aggs / sizeof aggs[0]; k++) {
        char what[64];

        a = sfa_metricacc_create(aggs[k]);
        for (size_t i = 0; i < 5; i++)
            sfa_metricacc_add_num(a, v[i], "10.0.0.1", "1", (double)i, i);
        r = sfa_metricacc_result(a, "x");
        snprintf(what, sizeof what, "%s of {4,1,3,2,10}", sfa_magg_name(aggs[k]));
        CHECK_NEAR(json_number_value(json_object_get(r, "metricValue")), want[k], 1e-12, what);
        CHECK_EQ(json_integer_value(json_object_get(r, "metricN")), 5, "metricN 5");
        if (aggs[k] == SFA_MAGG_MED) {
            q = json_object_get(r, "quartiles");
            CHECK(json_number_value(json_object_get(q, "min")) == 1 &&
                      json_number_value(json_object_get(q, "q1")) == 2 &&
                      json_number_value(json_object_get(q, "med")) == 3 &&
                      json_number_value(json_object_get(q, "q3")) == 4 &&
                      json_number_value(json_object_get(q, "max")) == 10,
                  "med: quartiles {1,2,3,4,10}");
        }
        if (aggs[k] == SFA_MAGG_SUM)
            CHECK_EQ(json_integer_value(json_object_get(r, "lastUpdateMax")), 4,
                     "lastUpdateMax is the oldest value's age");
        json_decref(r);
        sfa_metricacc_destroy(a);
    }
    /* Quantiles interpolate between order statistics. */
    a = sfa_metricacc_create(SFA_MAGG_Q1);
    for (int i = 1; i <= 4; i++)
        sfa_metricacc_add_num(a, i, "a", "1", 0, 0);
    r = sfa_metricacc_result(a, "x");
    CHECK_NEAR(json_number_value(json_object_get(r, "metricValue")), 1.75, 1e-12,
               "q1 of {1,2,3,4} is 1.75");
    json_decref(r);
    sfa_metricacc_destroy(a);
    /* No data: metricN 0 and no metricValue. */
    a = sfa_metricacc_create(SFA_MAGG_AVG);
    r = sfa_metricacc_result(a, "avg:x");
    CHECK(json_object_get(r, "metricValue") == NULL &&
              json_integer_value(json_object_get(r, "metricN")) == 0,
          "no values: no metricValue, metricN 0");
    CHECK_STR(json_string_value(json_object_get(r, "metricName")), "avg:x", "metricName kept");
    json_decref(r);
    sfa_metricacc_destroy(a);
}

static void
test_text_and_topkeys(void)
{
    sfa_metricacc *a = sfa_metricacc_create(SFA_MAGG_MAX), *b, *m;
    json_t *r, *p, *tk;
    size_t ref = 0;

    sfa_metricacc_add_text(a, "leaf1", "10.0.0.1", "2.1", 10, 1);
    sfa_metricacc_add_text(a, "leaf2", "10.0.0.2", "2.1", 20, 2);
    r = sfa_metricacc_result(a, "host_name");
    CHECK_STR(json_string_value(json_object_get(r, "metricValue")), "leaf2",
              "max of texts: lexicographic");
    CHECK(sfa_metricacc_best_ref(a, &ref) && ref == 2, "best_ref of the winner");
    json_decref(r);
    sfa_metricacc_add_num(a, 1.5, "10.0.0.3", "2.1", 5, 3);
    r = sfa_metricacc_result(a, "host_name");
    CHECK(json_number_value(json_object_get(r, "metricValue")) == 1.5, "a number beats texts");
    CHECK_EQ(json_integer_value(json_object_get(r, "metricN")), 3, "texts counted for max");
    json_decref(r);
    sfa_metricacc_destroy(a);

    a = sfa_metricacc_create(SFA_MAGG_SUM);
    sfa_metricacc_add_text(a, "leaf1", "10.0.0.1", "2.1", 10, 1);
    CHECK_EQ(sfa_metricacc_count(a), 0, "sum skips texts");
    sfa_metricacc_destroy(a);

    /* topKeys of the winning shard survive the merge. */
    a = sfa_metricacc_create(SFA_MAGG_MAX);
    b = sfa_metricacc_create(SFA_MAGG_MAX);
    m = sfa_metricacc_create(SFA_MAGG_MAX);
    sfa_metricacc_add_num(a, 100, "10.0.0.1", "3", 1, 0);
    sfa_metricacc_add_num(b, 200, "10.0.0.2", "4", 2, 0);
    p = sfa_metricacc_partial(a, "tcp");
    json_object_set_new(p, "topKeys", json_pack("[{s:s, s:f}]", "key", "a,b", "value", 100.0));
    CHECK_OK(sfa_metricacc_merge(m, p), "merge shard a");
    json_decref(p);
    p = sfa_metricacc_partial(b, "tcp");
    json_object_set_new(p, "topKeys", json_pack("[{s:s, s:f}]", "key", "c,d", "value", 200.0));
    CHECK_OK(sfa_metricacc_merge(m, p), "merge shard b");
    json_decref(p);
    r = sfa_metricacc_result(m, "tcp");
    tk = json_array_get(json_object_get(r, "topKeys"), 0);
    CHECK_STR(json_string_value(json_object_get(tk, "key")), "c,d", "winner's topKeys");
    CHECK_STR(json_string_value(json_object_get(r, "agent")), "10.0.0.2", "winner's agent");
    json_decref(r);
    p = json_pack("{s:s, s:s, s:i}", "metricName", "tcp", "agg", "sum", "n", 1);
    CHECK_ERR(sfa_metricacc_merge(m, p), SFA_EFORMAT, "a partial of another aggregation");
    json_decref(p);
    sfa_metricacc_destroy(a);
    sfa_metricacc_destroy(b);
    sfa_metricacc_destroy(m);
}

static json_t *
jl(const char *text)
{
    json_t *v = json_loads(text, 0, NULL);

    if (!v) {
        printf("# bad JSON %s\n", text);
        exit(1);
    }
    return v;
}

static void
test_answers(void)
{
    json_t *r[3], *out, *names;

    /* metric: two names, three shards, one empty. */
    r[0] = jl("[{\"metricName\":\"max:load_one\",\"agg\":\"max\",\"n\":2,\"lastUpdateMin\":5,"
              "\"lastUpdateMax\":900,\"agent\":\"10.0.0.1\",\"dataSource\":\"2.1\","
              "\"metricValue\":0.5,\"lastUpdate\":5},"
              "{\"metricName\":\"sum:ifinoctets\",\"agg\":\"sum\",\"n\":2,\"lastUpdateMin\":1,"
              "\"lastUpdateMax\":2,\"sum\":30,\"mean\":15,\"m2\":50}]");
    r[1] = jl("[{\"metricName\":\"max:load_one\",\"agg\":\"max\",\"n\":1,\"lastUpdateMin\":7,"
              "\"lastUpdateMax\":7,\"agent\":\"10.0.0.9\",\"dataSource\":\"2.1\","
              "\"metricValue\":2.5,\"lastUpdate\":7},"
              "{\"metricName\":\"sum:ifinoctets\",\"agg\":\"sum\",\"n\":1,\"lastUpdateMin\":3,"
              "\"lastUpdateMax\":3,\"sum\":70,\"mean\":70,\"m2\":0}]");
    r[2] = jl("[{\"metricName\":\"max:load_one\",\"agg\":\"max\",\"n\":0},"
              "{\"metricName\":\"sum:ifinoctets\",\"agg\":\"sum\",\"n\":0}]");
    out = sfa_metricagg_merge_metric((const json_t *const *)r, 3);
    CHECK_EQ(json_array_size(out), 2, "metric: one entry per name");
    CHECK(json_number_value(json_object_get(json_array_get(out, 0), "metricValue")) == 2.5 &&
              strcmp(json_string_value(json_object_get(json_array_get(out, 0), "agent")),
                     "10.0.0.9") == 0,
          "metric: max across shards with its agent");
    CHECK_EQ(json_integer_value(json_object_get(json_array_get(out, 0), "metricN")), 3,
             "metric: metricN adds up");
    CHECK_EQ(json_integer_value(json_object_get(json_array_get(out, 0), "lastUpdateMax")), 900,
             "metric: lastUpdateMax over shards");
    CHECK(json_number_value(json_object_get(json_array_get(out, 1), "metricValue")) == 100,
          "metric: sums add up");
    json_decref(out);
    for (int i = 0; i < 3; i++)
        json_decref(r[i]);

    /* table: rows of two shards sorted descending on column 1, cut to 2. */
    r[0] = jl("[[{\"agent\":\"a\",\"dataSource\":\"1\",\"metricName\":\"ifname\","
              "\"metricValue\":\"e1\"},{\"agent\":\"a\",\"dataSource\":\"1\",\"metricName\":"
              "\"ifinutilization\",\"metricValue\":5}],"
              "[{\"agent\":\"a\",\"dataSource\":\"2\",\"metricName\":\"ifname\","
              "\"metricValue\":\"e2\"},{\"agent\":\"a\",\"dataSource\":\"2\",\"metricName\":"
              "\"ifinutilization\",\"metricValue\":50}]]");
    r[1] = jl("[[{\"agent\":\"b\",\"dataSource\":\"1\",\"metricName\":\"ifname\","
              "\"metricValue\":\"e1\"},{\"agent\":\"b\",\"dataSource\":\"1\",\"metricName\":"
              "\"ifinutilization\",\"metricValue\":20}]]");
    names = jl("[\"ifname\",\"sort:ifinutilization:-2\"]");
    out = sfa_metricagg_merge_table((const json_t *const *)r, 2, names);
    CHECK_EQ(json_array_size(out), 2, "table: cut to the sort limit");
    CHECK(json_number_value(
              json_object_get(json_array_get(json_array_get(out, 0), 1), "metricValue")) == 50 &&
              json_number_value(
                  json_object_get(json_array_get(json_array_get(out, 1), 1), "metricValue")) == 20,
          "table: sorted descending across shards");
    json_decref(out);
    json_decref(names);

    /* dump: ordered by agent, dataSource, metricName. */
    out = sfa_metricagg_merge_dump((const json_t *const *)r, 0);
    CHECK_EQ(json_array_size(out), 0, "dump of nothing");
    json_decref(out);
    json_decref(r[0]);
    json_decref(r[1]);
    r[0] = jl("[{\"agent\":\"b\",\"dataSource\":\"1\",\"metricName\":\"x\",\"metricValue\":1}]");
    r[1] = jl("[{\"agent\":\"a\",\"dataSource\":\"2\",\"metricName\":\"x\",\"metricValue\":2},"
              "{\"agent\":\"a\",\"dataSource\":\"1\",\"metricName\":\"y\",\"metricValue\":3}]");
    out = sfa_metricagg_merge_dump((const json_t *const *)r, 2);
    CHECK(json_array_size(out) == 3 &&
              json_number_value(json_object_get(json_array_get(out, 0), "metricValue")) == 3 &&
              json_number_value(json_object_get(json_array_get(out, 2), "metricValue")) == 1,
          "dump: concatenated and ordered");
    json_decref(out);
    json_decref(r[0]);
    json_decref(r[1]);

    r[0] = jl("{\"load_one\":500,\"ifinoctets\":20}");
    r[1] = jl("{\"load_one\":100,\"tcp\":3}");
    out = sfa_metricagg_merge_metrics((const json_t *const *)r, 2);
    CHECK(json_integer_value(json_object_get(out, "load_one")) == 100 &&
              json_integer_value(json_object_get(out, "tcp")) == 3 && json_object_size(out) == 3,
          "metrics: union with the freshest age");
    json_decref(out);
    out = sfa_metricagg_merge_agent((const json_t *const *)r, 2);
    CHECK_EQ(json_object_size(out), 3, "metric_agent: union");
    json_decref(out);
    json_decref(r[0]);
    json_decref(r[1]);
}

int
main(void)
{
    test_names();
    test_glob();
    test_exact_merge();
    test_known_values();
    test_text_and_topkeys();
    test_answers();
    return test_done();
}
