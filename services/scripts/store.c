/* store.c - values scripts share (sharedSet) and keep (storeSet).
 *
 * Both are per app, held by the supervisor, because every script runs in
 * its own process: a child asks over its socket and gets a JSON copy
 * (sFlow-RT shares live objects between the threads of an app; a copy is
 * the closest a process boundary allows, and it is what storeGet returns
 * in sFlow-RT too). Scripts from script.file form the app "" (file
 * "_scripts.json"). The persistent store is one JSON object per app in
 * <script.store>/<app>.json, read on first use and rewritten on each change
 * (temporary file, fsync, rename), so it survives restarts of the service.
 * Loop thread only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sfa/log.h>
#include <sfa/mem.h>

#include "scr.h"

struct scr_store {
    char *dir;
    json_t *shared; /* app -> {key: value} */
    json_t *kept;   /* app -> {key: value}, loaded lazily */
};

scr_store *
scr_store_new(const char *dir)
{
    scr_store *s = sfa_xcalloc(1, sizeof *s);

    s->dir = sfa_xstrdup(dir && *dir ? dir : "store");
    s->shared = json_object();
    s->kept = json_object();
    return s;
}

void
scr_store_free(scr_store *s)
{
    if (!s)
        return;
    json_decref(s->shared);
    json_decref(s->kept);
    free(s->dir);
    free(s);
}

static json_t *
store_app(json_t *root, const char *app)
{
    json_t *o = json_object_get(root, app);

    if (!o) {
        o = json_object();
        json_object_set_new(root, app, o);
    }
    return o;
}

json_t *
scr_shared_get(scr_store *s, const char *app, const char *key)
{
    json_t *v = json_object_get(store_app(s->shared, app), key);

    return v ? json_deep_copy(v) : json_null();
}

void
scr_shared_set(scr_store *s, const char *app, const char *key, json_t *v)
{
    json_t *o = store_app(s->shared, app);

    if (!v || json_is_null(v)) {
        json_object_del(o, key);
        json_decref(v);
        return;
    }
    json_object_set_new(o, key, v);
}

static void
store_path(const scr_store *s, const char *app, const char *suffix, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s.json%s", s->dir, app[0] ? app : "_scripts", suffix);
}

static json_t *
store_load(scr_store *s, const char *app)
{
    json_t *o = json_object_get(s->kept, app);
    char path[4096];
    json_error_t err;

    if (o)
        return o;
    store_path(s, app, "", path, sizeof path);
    o = json_load_file(path, 0, &err);
    if (!o && access(path, F_OK) == 0)
        SFA_WARN("store %s: %s (starting empty)", path, err.text);
    if (!json_is_object(o)) {
        json_decref(o);
        o = json_object();
    }
    json_object_set_new(s->kept, app, o);
    return o;
}

static int
store_save(scr_store *s, const char *app, const json_t *o)
{
    char tmp[4096], path[4096];
    int fd, rc = 0;
    char *text;
    size_t len;

    if (mkdir(s->dir, 0755) != 0 && errno != EEXIST)
        return -errno;
    store_path(s, app, ".tmp", tmp, sizeof tmp);
    store_path(s, app, "", path, sizeof path);
    text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        return SFA_EFORMAT;
    len = strlen(text);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    if ((rc = scr_write_all(fd, text, len)) == 0 && fsync(fd) != 0)
        rc = -errno;
    close(fd);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc != 0)
        (void)unlink(tmp);
out:
    free(text);
    return rc;
}

json_t *
scr_store_get(scr_store *s, const char *app, const char *key)
{
    json_t *v = json_object_get(store_load(s, app), key);

    return v ? json_deep_copy(v) : json_null();
}

int
scr_store_set(scr_store *s, const char *app, const char *key, json_t *v)
{
    json_t *o = store_load(s, app);
    int rc;

    if (!v || json_is_null(v)) {
        json_object_del(o, key);
        json_decref(v);
    } else {
        json_object_set_new(o, key, v);
    }
    if ((rc = store_save(s, app, o)) != 0)
        SFA_WARN("store %s: cannot save: %s", s->dir, sfa_strerror(rc));
    return rc;
}

json_t *
scr_store_keys(scr_store *s, const char *app)
{
    json_t *keys = json_array(), *v;
    const char *k;

    json_object_foreach(store_load(s, app), k, v) json_array_append_new(keys, json_string(k));
    return keys;
}
