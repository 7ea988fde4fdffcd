/* flow_table_test.c - unit tests of one definition's table
 * (services/aggregator/flow_table.c) and of the data source registry
 * (datasource.c).
 *
 * Insert and update, one entry per (data source, key), values scaled and
 * smoothed, decay with time, the per-source total and top-n (topKeys),
 * eviction of the smallest values at the key cap (counted), expiry of idle
 * keys, purge by data source, the avg/min/max/count columns, keys too long
 * for the key store, and registry id reuse and cap. Times are passed in
 * explicitly, so everything is deterministic.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "test.h"

static sfa_flowdef *
mkdef(const char *text)
{
    json_t *spec = json_loads(text, 0, NULL);
    sfa_flowdef *fd = NULL;
    char err[256];

    if (!spec || sfa_flowdef_compile(spec, &fd, err, sizeof err) != 0) {
        printf("# cannot compile %s: %s\n", text, spec ? err : "bad JSON");
        exit(1);
    }
    json_decref(spec);
    return fd;
}

static void
add(agg_table *t, double now, uint32_t ds, const char *key, double v)
{
    double vals[SFA_FLOWDEF_MAX_VALUES] = {v, v, v, v, v};

    agg_table_at(t, now);
    agg_table_add(t, ds, key, strlen(key), vals);
}

typedef struct found {
    const char *key;
    uint32_t ds;
    int hits;
    agg_flow f;
} found;

static int
find_cb(const agg_flow *f, void *arg)
{
    found *x = arg;

    if (f->ds == x->ds && strcmp(f->key, x->key) == 0) {
        x->hits++;
        x->f = *f;
    }
    return 0;
}

/* Value of (ds, key) at now, or -1 when absent. */
static double
value_of(agg_table *t, double now, uint32_t ds, const char *key)
{
    found x = {key, ds, 0, {0}};

    agg_table_each(t, now, find_cb, &x);
    return x.hits == 1 ? x.f.value : -1;
}

static void
test_basic(void)
{
    sfa_flowdef *fd = mkdef("{\"keys\":\"ipsource\",\"value\":\"bytes\",\"t\":2,\"n\":3}");
    agg_table *t = agg_table_create(fd, 1000, 100.0);
    agg_table_stats st;

    add(t, 100.0, 0, "10.0.0.1", 1000);
    add(t, 100.0, 0, "10.0.0.1", 1000);
    add(t, 100.0, 1, "10.0.0.1", 500);
    add(t, 100.0, 0, "10.0.0.2", 300);
    agg_table_get_stats(t, &st);
    CHECK_EQ(st.keys, 3, "three (data source, key) entries");
    CHECK_NEAR(value_of(t, 100.0, 0, "10.0.0.1"), 2000.0 / 2, 1e-9,
               "two contributions of 1000 with T 2 s: 1000/s at once");
    CHECK_NEAR(value_of(t, 100.0, 1, "10.0.0.1"), 250.0, 1e-9, "same key, other source apart");
    CHECK_NEAR(value_of(t, 102.0, 0, "10.0.0.1"), 1000.0 * exp(-1), 1e-9, "decays by e^-1 per T");
    CHECK_NEAR(agg_table_total(t, 0, 100.0), 2300.0 / 2, 1e-9, "total of source 0 (the metric)");
    CHECK_NEAR(agg_table_total(t, 1, 102.0), 250.0 * exp(-1), 1e-9, "total of source 1 decays");
    CHECK_NEAR(agg_table_total(t, 7, 102.0), 0.0, 0, "unknown source: total 0");
    CHECK_EQ(value_of(t, 100.0, 2, "10.0.0.1"), -1, "no entry at source 2");
    agg_table_destroy(t);
    sfa_flowdef_destroy(fd);
}

static void
test_topn(void)
{
    sfa_flowdef *fd = mkdef("{\"keys\":\"ipsource\",\"value\":\"bytes\",\"t\":2,\"n\":3}");
    agg_table *t = agg_table_create(fd, 1000, 0.0);
    agg_flow top[8];
    char key[32];
    size_t n;

    /* Keys k1..k6 with values 1..6 at source 4, k9 big at source 5. */
    for (int i = 1; i <= 6; i++) {
        snprintf(key, sizeof key, "k%d", i);
        add(t, 1.0, 4, key, 100.0 * i);
    }
    add(t, 1.0, 5, "k9", 1e6);
    n = agg_table_topkeys(t, 4, 1.0, top, 8);
    CHECK_EQ(n, 3, "topKeys holds n = 3 keys");
    CHECK(n == 3 && strcmp(top[0].key, "k6") == 0 && strcmp(top[1].key, "k5") == 0 &&
              strcmp(top[2].key, "k4") == 0,
          "topKeys are the 3 largest, largest first");
    /* k1 grows past everyone; later updates keep the list right. */
    add(t, 2.0, 4, "k1", 5000.0);
    n = agg_table_topkeys(t, 4, 2.0, top, 8);
    CHECK(n == 3 && strcmp(top[0].key, "k1") == 0 && strcmp(top[1].key, "k6") == 0 &&
              strcmp(top[2].key, "k5") == 0,
          "a key that grows enters the top n and the smallest leaves");
    CHECK_NEAR(top[0].value, 2500.0 + 50.0 * exp(-0.5), 1e-6, "top entry value read at now");
    n = agg_table_topkeys(t, 5, 2.0, top, 8);
    CHECK(n == 1 && strcmp(top[0].key, "k9") == 0, "each source has its own top n");
    agg_table_destroy(t);
    sfa_flowdef_destroy(fd);
}

static void
test_eviction(void)
{
    sfa_flowdef *fd = mkdef("{\"keys\":\"ipsource\",\"value\":\"bytes\",\"t\":10}");
    agg_table *t = agg_table_create(fd, 64, 0.0);
    agg_table_stats st;
    char key[32];
    int big_kept = 1;

    /* 64 keys with values 1000..64000, then 36 new keys of value 1..36:
     * each insert into the full table evicts the 2 smallest (64/32). */
    for (int i = 1; i <= 64; i++) {
        snprintf(key, sizeof key, "big%d", i);
        add(t, 1.0, 0, key, 1000.0 * i);
    }
    for (int i = 1; i <= 36; i++) {
        snprintf(key, sizeof key, "small%d", i);
        add(t, 1.0, 0, key, (double)i);
    }
    agg_table_get_stats(t, &st);
    CHECK(st.keys <= 64, "never more keys than the cap");
    CHECK(st.evictions >= 36, "every insert into the full table evicted (counted)");
    CHECK_EQ(st.keys + st.evictions, 100, "keys + evictions = keys inserted");
    for (int i = 40; i <= 64; i++) {
        snprintf(key, sizeof key, "big%d", i);
        if (value_of(t, 1.0, 0, key) < 0)
            big_kept = 0;
    }
    CHECK(big_kept, "the largest keys survive");
    CHECK_EQ(value_of(t, 1.0, 0, "small1"), -1, "the smallest newcomer was evicted later");
    CHECK(value_of(t, 1.0, 0, "small36") > 0, "the newest key is present");
    agg_table_destroy(t);
    sfa_flowdef_destroy(fd);
}

static int
dead_ds_3(uint32_t ds, void *arg)
{
    (void)arg;
    return ds == 3;
}

static void
test_expiry_purge(void)
{
    sfa_flowdef *fd = mkdef("{\"keys\":\"ipsource\",\"value\":\"frames\",\"t\":1}");
    agg_table *t = agg_table_create(fd, 1000, 0.0);
    agg_table_stats st;

    add(t, 1.0, 2, "old", 10);
    add(t, 8.0, 2, "mid", 10);
    add(t, 11.5, 3, "new", 10);
    add(t, 11.5, 3, "new2", 10);
    agg_table_sweep(t, 12.0);
    agg_table_get_stats(t, &st);
    CHECK_EQ(value_of(t, 12.0, 2, "old"), -1, "a key idle for 11 T expired");
    CHECK(value_of(t, 12.0, 2, "mid") > 0, "a key idle for 4 T is kept");
    CHECK_EQ(st.expired, 1, "expiry counted");
    agg_table_purge(t, dead_ds_3, NULL);
    agg_table_get_stats(t, &st);
    CHECK_EQ(st.keys, 1, "purging source 3 drops its two keys");
    CHECK_NEAR(agg_table_total(t, 3, 12.0), 0.0, 0, "and its total");
    add(t, 13.0, 3, "new", 10);
    CHECK(value_of(t, 13.0, 3, "new") > 0, "a purged source can come back");
    agg_table_sweep(t, 40.0);
    agg_table_get_stats(t, &st);
    CHECK_EQ(st.keys, 0, "everything idle expires");
    /* Freed entries and key blocks are reused. */
    for (int round = 0; round < 3; round++) {
        char key[64];

        for (int i = 0; i < 500; i++) {
            snprintf(key, sizeof key, "reuse-%d-%d", round, i);
            add(t, 50.0 + 20 * round, (uint32_t)(i % 7), key, 1);
        }
        agg_table_sweep(t, 50.0 + 20 * round + 15);
    }
    agg_table_get_stats(t, &st);
    CHECK_EQ(st.keys, 0, "three rounds of 500 keys expired");
    agg_table_destroy(t);
    sfa_flowdef_destroy(fd);
}

static void
test_columns(void)
{
    sfa_flowdef *fd = mkdef("{\"keys\":\"ipsource\",\"value\":\"bytes\",\"t\":2,"
                            "\"values\":\"avg:bytes,min:bytes,max:bytes,count:ipdestination\"}");
    agg_table *t = agg_table_create(fd, 1000, 0.0);
    double v[SFA_FLOWDEF_MAX_VALUES];
    found x = {"a", 0, 0, {0}};

    CHECK_EQ(agg_table_nvalues(t), 5, "five columns");
    CHECK_EQ(sfa_flowdef_value_kind(fd, 1), SFA_VALUE_AVG, "column 1 is avg");
    for (int i = 0; i < 4; i++) {
        v[0] = 100.0 * (i + 1);                        /* sum: scaled bytes */
        v[1] = v[2] = v[3] = 10.0 * (i + 1);           /* avg/min/max of 10..40 */
        v[4] = (double)(1000003u * (unsigned)(i % 3)); /* 3 distinct hashes */
        agg_table_at(t, 1.0);
        agg_table_add(t, 0, "a", 1, v);
    }
    agg_table_each(t, 1.0, find_cb, &x);
    CHECK_NEAR(x.f.values[0], 1000.0 / 2, 1e-9, "sum column");
    CHECK_NEAR(x.f.values[1], 25.0, 1e-9, "avg column");
    CHECK_NEAR(x.f.values[2], 10.0, 1e-9, "min column");
    CHECK_NEAR(x.f.values[3], 40.0, 1e-9, "max column");
    CHECK_NEAR(x.f.values[4], 3.0, 0.3, "count column: 3 distinct");
    /* One epoch later (T = 2 s) the previous epoch still counts. */
    v[0] = v[1] = v[2] = v[3] = 5;
    v[4] = 7;
    agg_table_at(t, 3.0);
    agg_table_add(t, 0, "a", 1, v);
    x.hits = 0;
    agg_table_each(t, 3.0, find_cb, &x);
    CHECK_NEAR(x.f.values[2], 5.0, 1e-9, "min over this and the previous epoch");
    CHECK_NEAR(x.f.values[3], 40.0, 1e-9, "max over this and the previous epoch");
    CHECK_NEAR(x.f.values[4], 4.0, 0.5, "count over both epochs: 4");
    /* Two epochs later without samples only the newest epoch is left. */
    x.hits = 0;
    agg_table_each(t, 5.0, find_cb, &x);
    CHECK_NEAR(x.f.values[3], 5.0, 1e-9, "max forgets epochs older than T..2T");
    CHECK_NEAR(x.f.values[4], 1.0, 0.1, "count too");
    x.hits = 0;
    agg_table_each(t, 7.0, find_cb, &x);
    CHECK_NEAR(x.f.values[3], 0.0, 0, "nothing in the last two epochs: 0");
    agg_table_destroy(t);
    sfa_flowdef_destroy(fd);
}

static void
test_long_key(void)
{
    sfa_flowdef *fd = mkdef("{\"keys\":\"ipsource\",\"value\":\"bytes\"}");
    agg_table *t = agg_table_create(fd, 100, 0.0);
    char key[1100];
    agg_table_stats st;

    memset(key, 'x', sizeof key);
    key[1023] = '\0';
    add(t, 1.0, 0, key, 1);
    CHECK(value_of(t, 1.0, 0, key) > 0, "a 1023-byte key fits");
    key[1023] = 'x';
    key[1099] = '\0';
    add(t, 1.0, 0, key, 1);
    agg_table_get_stats(t, &st);
    CHECK_EQ(st.too_long, 1, "a 1099-byte key is refused and counted");
    CHECK_EQ(st.keys, 1, "and not stored");
    agg_table_destroy(t);
    sfa_flowdef_destroy(fd);
}

static void
test_registry(void)
{
    agg_dsreg *r = agg_dsreg_create(3);
    sfa_addr a, b;
    uint32_t id1, id2, id3, id4, id;
    const agg_ds *d;

    (void)sfa_addr_parse("10.0.0.1", &a);
    (void)sfa_addr_parse("2001:db8::1", &b);
    CHECK_OK(agg_dsreg_id(r, &a, 0, 7, &id1), "register 10.0.0.1 ifIndex 7");
    CHECK_OK(agg_dsreg_id(r, &a, 0, 8, &id2), "register ifIndex 8");
    CHECK_OK(agg_dsreg_id(r, &b, 2, 5, &id3), "register an IPv6 agent, class 2");
    CHECK(id1 != id2 && id2 != id3 && id1 != id3, "distinct ids");
    CHECK_OK(agg_dsreg_id(r, &a, 0, 7, &id), "look up again");
    CHECK_EQ(id, id1, "same id for the same source");
    CHECK_ERR(agg_dsreg_id(r, &a, 0, 9, &id4), SFA_ELIMIT, "the cap refuses a fourth");
    d = agg_dsreg_get(r, id3);
    CHECK(d != NULL, "get");
    CHECK_STR(d ? d->agent_txt : NULL, "2001:db8::1", "agent text");
    CHECK_STR(d ? d->ds_txt : NULL, "2.5", "dataSource text class.index");
    CHECK_STR(agg_dsreg_get(r, id1)->ds_txt, "7", "dataSource text for ifIndex");
    CHECK_EQ(agg_dsreg_get(r, id1)->bucket, 0x2c, "bucket of 10.0.0.1 (SCHEMA.md)");
    agg_dsreg_release(r, id2);
    CHECK(agg_dsreg_get(r, id2) == NULL, "released");
    CHECK_EQ(agg_dsreg_count(r), 2, "two live");
    CHECK_OK(agg_dsreg_id(r, &a, 0, 9, &id4), "room again after a release");
    CHECK_EQ(id4, id2, "the released id is reused");
    CHECK_OK(agg_dsreg_id(r, &a, 0, 7, &id), "earlier source still found");
    CHECK_EQ(id, id1, "with its id");
    agg_dsreg_destroy(r);

    /* Many sources: the index grows and every one stays findable. */
    r = agg_dsreg_create(100000);
    {
        int ok = 1;

        for (uint32_t i = 0; i < 5000; i++)
            if (agg_dsreg_id(r, &a, 0, i, &id) != 0 || id != i)
                ok = 0;
        for (uint32_t i = 0; i < 5000; i += 2)
            agg_dsreg_release(r, i);
        for (uint32_t i = 1; i < 5000; i += 2)
            if (agg_dsreg_id(r, &a, 0, i, &id) != 0 || id != i)
                ok = 0;
        CHECK(ok, "5000 sources, half released, the rest still found");
        CHECK_EQ(agg_dsreg_count(r), 2500, "2500 live");
    }
    agg_dsreg_destroy(r);
}

int
main(void)
{
    test_basic();
    test_topn();
    test_eviction();
    test_expiry_purge();
    test_columns();
    test_long_key();
    test_registry();
    return test_done();
}
