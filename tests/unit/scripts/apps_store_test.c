/* apps_store_test.c - which scripts run (services/scripts/apps.c) and the
 * values scripts share and keep (services/scripts/store.c), on files in a
 * scratch directory under the build dir (argv[1]).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scr.h"
#include "test.h"

static char root[1024];

static void
touch(const char *rel)
{
    char p[2048];
    FILE *f;

    snprintf(p, sizeof p, "%s/%s", root, rel);
    f = fopen(p, "w");
    if (f) {
        fputs("// test\n", f);
        fclose(f);
    }
}

static void
mk(const char *rel)
{
    char p[2048];

    snprintf(p, sizeof p, "%s/%s", root, rel);
    mkdir(p, 0755);
}

static void
test_specs(void)
{
    scr_specs s;
    char files[4096], appdir[2048];
    char *text;

    mk("app");
    mk("app/zeta");
    mk("app/zeta/scripts");
    mk("app/zeta/scripts/inc");
    touch("app/zeta/scripts/inc/lib.js");
    touch("app/zeta/scripts/b.js");
    touch("app/zeta/scripts/a.js");
    touch("app/zeta/scripts/notes.txt");
    mk("app/alpha");
    mk("app/alpha/scripts");
    mk("app/alpha/html");
    touch("app/alpha/scripts/top.js");
    touch("one.js");
    touch("two.js");
    snprintf(files, sizeof files, "%s/two.js,%s/one.js", root, root);
    snprintf(appdir, sizeof appdir, "%s/app", root);
    CHECK_OK(scr_specs_load(&s, files, appdir), "load");
    CHECK_EQ(s.n, 5, "two files and three app scripts");
    CHECK(s.n == 5 && strstr(s.v[0].name, "two.js") && strstr(s.v[1].name, "one.js"),
          "script.file order kept");
    CHECK(s.n == 5 && strcmp(s.v[0].app, "") == 0, "script.file scripts have no app");
    if (s.n == 5) {
        CHECK_STR(s.v[2].name, "app/alpha/scripts/top.js", "apps sorted, sFlow-RT name");
        CHECK_STR(s.v[2].app, "alpha", "app name");
        CHECK_STR(s.v[2].base, "top", "base name for URLs");
        CHECK_STR(s.v[3].name, "app/zeta/scripts/a.js", "files sorted");
        CHECK_STR(s.v[4].name, "app/zeta/scripts/b.js", "subdirectories and non-js skipped");
    }
    text = json_dumps(s.apps, JSON_COMPACT | JSON_SORT_KEYS);
    CHECK_STR(text,
              "{\"alpha\":{\"entry\":\"/html/\",\"scripts\":[\"scripts/top.js\"]},"
              "\"zeta\":{\"scripts\":[\"scripts/a.js\",\"scripts/b.js\"]}}",
              "/apps/json");
    free(text);
    scr_specs_free(&s);
    snprintf(files, sizeof files, "%s/missing.js", root);
    CHECK_ERR(scr_specs_load(&s, files, appdir), SFA_ECONFIG, "missing script.file refused");
    CHECK_OK(scr_specs_load(&s, "", "/nonexistent-appdir"), "no apps directory is fine");
    CHECK_EQ(s.n, 0, "nothing to run");
    scr_specs_free(&s);
}

static void
test_store(void)
{
    char dir[2048];
    scr_store *st;
    json_t *v, *keys;

    snprintf(dir, sizeof dir, "%s/store", root);
    st = scr_store_new(dir);
    scr_shared_set(st, "a", "k", json_integer(7));
    v = scr_shared_get(st, "a", "k");
    CHECK_EQ(json_integer_value(v), 7, "sharedGet returns sharedSet's value");
    json_decref(v);
    v = scr_shared_get(st, "b", "k");
    CHECK(json_is_null(v), "apps do not see each other's shared values");
    json_decref(v);
    scr_shared_set(st, "a", "k", NULL);
    v = scr_shared_get(st, "a", "k");
    CHECK(json_is_null(v), "null deletes");
    json_decref(v);

    CHECK_OK(scr_store_set(st, "a", "shortcuts", json_pack("[{s:s}]", "keys", "ipsource")),
             "storeSet");
    CHECK_OK(scr_store_set(st, "", "n", json_integer(1)), "storeSet for script.file scripts");
    scr_store_free(st);
    st = scr_store_new(dir);
    v = scr_store_get(st, "a", "shortcuts");
    CHECK_STR(json_string_value(json_object_get(json_array_get(v, 0), "keys")), "ipsource",
              "storeGet after a restart");
    json_decref(v);
    keys = scr_store_keys(st, "a");
    CHECK_EQ(json_array_size(keys), 1, "storeKeys");
    json_decref(keys);
    CHECK_OK(scr_store_set(st, "a", "shortcuts", NULL), "storeDelete");
    v = scr_store_get(st, "a", "shortcuts");
    CHECK(json_is_null(v), "deleted");
    json_decref(v);
    v = scr_store_get(st, "", "n");
    CHECK_EQ(json_integer_value(v), 1, "script.file store");
    json_decref(v);
    scr_store_free(st);
}

int
main(int argc, char **argv)
{
    char cmd[2048];

    snprintf(root, sizeof root, "%s/apps_store_test.d", argc > 1 ? argv[1] : ".");
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        return 1;
    mkdir(root, 0755);
    test_specs();
    test_store();
    return test_done();
}
