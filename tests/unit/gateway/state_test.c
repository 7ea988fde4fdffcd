/* state_test.c - the durable definition store (services/gateway/state.c):
 * put/get/delete, version, the file round trip, rollback when the file
 * cannot be written, and refusing a corrupt file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gw.h"
#include "test.h"

/* Accept objects holding "value"; the view adds "n": 5. */
static int
check(int kind, const json_t *spec, json_t **view, char *err, size_t errcap)
{
    (void)kind;
    if (!json_is_object(spec) || !json_object_get(spec, "value")) {
        snprintf(err, errcap, "value is required");
        return SFA_EFORMAT;
    }
    *view = json_deep_copy(spec);
    json_object_set_new(*view, "n", json_integer(5));
    return 0;
}

static int
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

int
main(void)
{
    char dir[512], path[600], err[128];
    gw_state *s = NULL;
    json_t *spec = json_pack("{s:s, s:s}", "keys", "ipsource", "value", "bytes");
    json_t *bad = json_pack("{s:s}", "keys", "ipsource");
    const char *stale = "{\"version\":9,\"flows\":{\"ok\":{\"value\":\"bytes\"},"
                        "\"old\":{\"keys\":\"x\"},\"bad/name\":{\"value\":\"bytes\"}}}";
    const char *torn = "{\"version\": 3, \"flows\": {";
    int rc;

    snprintf(dir, sizeof dir, "%s/state-test-%ld/sub", TEST_BUILD_DIR, (long)getpid());
    snprintf(path, sizeof path, "%s/definitions.json", dir);
    CHECK_OK(gw_state_open(&s, dir, check), "open creates the directory");
    if (!s)
        return test_done();
    CHECK_EQ(gw_state_version(s), 0, "fresh store: version 0");
    CHECK_OK(gw_state_put(s, GW_FLOWS, "f1", spec, err, sizeof err), "put a flow");
    CHECK_ERR(gw_state_put(s, GW_FLOWS, "f2", bad, err, sizeof err), SFA_EFORMAT,
              "invalid spec refused");
    CHECK_STR(err, "value is required", "check's message is passed on");
    CHECK_OK(gw_state_put(s, GW_MAPS, "m1", spec, err, sizeof err), "put a map");
    CHECK_EQ(gw_state_version(s), 2, "version counts changes");
    CHECK(json_equal(gw_state_spec(s, GW_FLOWS, "f1"), spec), "spec kept as given");
    CHECK_EQ(json_integer_value(json_object_get(gw_state_view(s, GW_FLOWS, "f1"), "n")), 5,
             "view from check");
    CHECK(gw_state_spec(s, GW_GROUPS, "f1") == NULL, "kinds are separate");
    CHECK_ERR(gw_state_delete(s, GW_FLOWS, "nope"), -ENOENT, "delete unknown: ENOENT");
    CHECK_OK(gw_state_put(s, GW_FLOWS, "gone", spec, err, sizeof err), "put another");
    CHECK_OK(gw_state_delete(s, GW_FLOWS, "gone"), "delete it");
    CHECK_OK(gw_state_bump(s), "bump");
    CHECK_EQ(gw_state_version(s), 5, "bump raises the version");
    gw_state_close(s);
    s = NULL;

    CHECK_OK(gw_state_open(&s, dir, check), "reopen");
    if (!s)
        return test_done();
    CHECK(json_equal(gw_state_spec(s, GW_FLOWS, "f1"), spec), "flow survives reopen");
    CHECK(json_equal(gw_state_spec(s, GW_MAPS, "m1"), spec), "map survives reopen");
    CHECK(gw_state_spec(s, GW_FLOWS, "gone") == NULL, "deleted flow stays deleted");
    CHECK_EQ(gw_state_version(s), 5, "version survives reopen");
    CHECK_EQ(json_object_size(gw_state_views(s, GW_FLOWS)), 1, "one flow view");

    /* A read-only directory: the write fails and the change is rolled back. */
    if (geteuid() != 0) {
        chmod(dir, 0500);
        CHECK(gw_state_put(s, GW_FLOWS, "f3", spec, err, sizeof err) < 0, "write failure reported");
        CHECK(gw_state_spec(s, GW_FLOWS, "f3") == NULL, "failed put rolled back");
        CHECK_EQ(gw_state_version(s), 5, "failed put keeps the version");
        chmod(dir, 0700);
    }
    gw_state_close(s);
    s = NULL;

    /* Entries that no longer validate are dropped; the rest load. */
    rc = write_file(path, stale);
    CHECK_OK(rc, "write a file with stale entries");
    CHECK_OK(gw_state_open(&s, dir, check), "open with stale entries");
    if (s) {
        gw_state_stats st;

        gw_state_get_stats(s, &st);
        CHECK(gw_state_spec(s, GW_FLOWS, "ok") != NULL, "valid entry loaded");
        CHECK_EQ(st.load_dropped, 2, "invalid entries dropped and counted");
        CHECK_EQ(gw_state_version(s), 9, "version loaded");
        gw_state_close(s);
        s = NULL;
    }
    rc = write_file(path, torn);
    CHECK_OK(rc, "write a torn file");
    CHECK_ERR(gw_state_open(&s, dir, check), SFA_EFORMAT, "corrupt file refuses to open");
    unlink(path);
    rmdir(dir);
    json_decref(spec);
    json_decref(bad);
    return test_done();
}
