/* longpoll_test.c - the record log behind /events/json and /flows/json
 * (services/gateway/longpoll.c): id order, duplicates, the size limit,
 * late records from a refill, and queries by cursor, maximum and name.
 * Parking needs HTTP and is covered by tests/integration/events_api_test.py.
 */
#include <stdio.h>

#include "gw.h"
#include "test.h"

static json_t *
rec(long long id, const char *thr)
{
    return json_pack("{s:I, s:s}", "eventID", (json_int_t)id, "thresholdID", thr);
}

/* The ids of a query result, as "5,4,3". */
static const char *
ids(json_t *arr)
{
    static char buf[256];
    size_t i, n = 0;
    json_t *e;

    buf[0] = '\0';
    json_array_foreach(arr, i, e)
    {
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%lld", i ? "," : "",
                              (long long)json_integer_value(json_object_get(e, "eventID")));
    }
    json_decref(arr);
    return buf;
}

int
main(void)
{
    uv_loop_t loop;
    gw_lp *lp;
    gw_lp_stats st;

    uv_loop_init(&loop);
    lp = gw_lp_create(&loop, 4, "eventID", "thresholdID");
    CHECK_EQ(gw_lp_last_id(lp), -1, "empty log: last id -1");
    CHECK_STR(ids(gw_lp_query(lp, -1, 10, NULL)), "", "empty log: query gives []");
    CHECK_EQ(gw_lp_add(lp, rec(3, "a")), 1, "add 3");
    CHECK_EQ(gw_lp_add(lp, rec(5, "b")), 1, "add 5");
    CHECK_EQ(gw_lp_add(lp, rec(4, "a")), 1, "a late 4 goes in between");
    CHECK_EQ(gw_lp_add(lp, rec(4, "a")), 0, "a duplicate id is refused");
    CHECK_EQ(gw_lp_add(lp, json_pack("{s:s}", "thresholdID", "a")), 0, "no id: refused");
    CHECK_STR(ids(gw_lp_query(lp, -1, 10, NULL)), "5,4,3", "newest first");
    CHECK_STR(ids(gw_lp_query(lp, 3, 10, NULL)), "5,4", "only ids above the cursor");
    CHECK_STR(ids(gw_lp_query(lp, -1, 2, NULL)), "5,4", "at most max, the newest");
    CHECK_STR(ids(gw_lp_query(lp, -1, 10, "a")), "4,3", "by name");
    CHECK_STR(ids(gw_lp_query(lp, 5, 10, NULL)), "", "nothing above the newest");
    CHECK_EQ(gw_lp_add(lp, rec(9, "a")), 1, "add 9 (log now full)");
    CHECK_EQ(gw_lp_add(lp, rec(10, "b")), 1, "add 10: the oldest goes");
    CHECK_STR(ids(gw_lp_query(lp, -1, 10, NULL)), "10,9,5,4", "3 dropped");
    CHECK_EQ(gw_lp_add(lp, rec(2, "a")), 0, "older than everything in a full log: refused");
    CHECK_EQ(gw_lp_add(lp, rec(7, "a")), 1, "a late 7 in a full log");
    CHECK_STR(ids(gw_lp_query(lp, -1, 10, NULL)), "10,9,7,5", "4 dropped for it");
    CHECK_EQ(gw_lp_last_id(lp), 10, "last id");
    gw_lp_get_stats(lp, &st);
    CHECK_EQ(st.records, 4, "stats: records held");
    CHECK_EQ(st.added, 6, "stats: records added");
    CHECK_EQ(st.ignored, 3, "stats: records refused");
    gw_lp_notify(lp); /* nobody waits: nothing happens */
    gw_lp_destroy(lp);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_OK(uv_loop_close(&loop), "nothing left on the loop");
    return test_done();
}
