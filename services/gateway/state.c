/* state.c - the durable definition store: flows, groups, maps and
 * thresholds.
 *
 * In memory each kind is two jansson objects keyed by name: the spec as the
 * client PUT it (what is persisted and published in defs.v1) and the view
 * (what GET returns, defaults filled in), produced by the check function
 * that also validates. A version counter rises on every change.
 *
 * On disk it is one file, <sfa.state>/definitions.json:
 *   {"version": n, "flows": {...}, "groups": {...}, "maps": {...},
 *    "thresholds": {...}}
 * (a file without one of the kinds loads with that kind empty)
 * rewritten on every change by writing a temporary file in the same
 * directory, fsync, rename over the old one, fsync the directory - so a
 * crash leaves either the old or the new file, never a torn one. A change
 * whose write fails is rolled back and reported, so memory never claims
 * more than the disk holds.
 *
 * Not on any hot path: writes are synchronous (a few KB, rare). Loop
 * thread only.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sfa/log.h>
#include <sfa/mem.h>

#include "gw.h"

#define STATE_FILE "definitions.json"
#define STATE_TMP ".definitions.json.tmp"

static const char *const state_kind_names[GW_KINDS] = {"flows", "groups", "maps", "thresholds"};

struct gw_state {
    char *dir, *path, *tmp;
    gw_check_fn check;
    json_t *specs[GW_KINDS];
    json_t *views[GW_KINDS];
    uint64_t version;
    gw_state_stats st;
};

/* mkdir -p dir (mode 0700 for what it creates). 0 or -errno. */
static int
state_mkdirs(const char *dir)
{
    char buf[4096];
    size_t n = strlen(dir);

    if (n == 0 || n >= sizeof buf)
        return -ENAMETOOLONG;
    memcpy(buf, dir, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, 0700) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static int
state_write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

static json_t *
state_document(const gw_state *s)
{
    json_t *doc = json_pack("{s:I}", "version", (json_int_t)s->version);

    for (int k = 0; k < GW_KINDS; k++)
        json_object_set(doc, state_kind_names[k], s->specs[k]);
    return doc;
}

/* Write the whole store atomically. 0 or -errno (logged). */
static int
state_save(gw_state *s)
{
    json_t *doc = state_document(s);
    char *text = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS);
    int fd = -1, dfd = -1, rc;

    json_decref(doc);
    if (!text)
        return -ENOMEM;
    if ((fd = open(s->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
        rc = -errno;
        goto fail;
    }
    if ((rc = state_write_all(fd, text, strlen(text))) != 0 ||
        (rc = state_write_all(fd, "\n", 1)) != 0)
        goto fail;
    if (fsync(fd) < 0 || close(fd) < 0) {
        fd = -1;
        rc = -errno;
        goto fail;
    }
    fd = -1;
    if (rename(s->tmp, s->path) < 0) {
        rc = -errno;
        goto fail;
    }
    /* Make the rename itself durable. */
    if ((dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    free(text);
    s->st.writes++;
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    (void)unlink(s->tmp);
    free(text);
    s->st.write_errors++;
    SFA_WARN("state: cannot write %s: %s", s->path, sfa_strerror(rc));
    return rc;
}

/* Take kind k of a loaded document, validating each entry. */
static void
state_load_kind(gw_state *s, int k, json_t *obj)
{
    const char *name;
    json_t *spec, *view;
    char err[256];

    if (!json_is_object(obj))
        return;
    json_object_foreach(obj, name, spec)
    {
        if (!gw_name_valid(name) || s->check(k, spec, &view, err, sizeof err) != 0) {
            SFA_WARN("state: dropping stored %s '%s': %s", state_kind_names[k], name,
                     gw_name_valid(name) ? err : "bad name");
            s->st.load_dropped++;
            continue;
        }
        json_object_set(s->specs[k], name, spec);
        json_object_set_new(s->views[k], name, view);
    }
}

static int
state_load(gw_state *s)
{
    json_error_t jerr;
    json_t *doc, *v;

    if (access(s->path, F_OK) != 0)
        return errno == ENOENT ? 0 : -errno;
    doc = json_load_file(s->path, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc || !json_is_object(doc)) {
        SFA_SEVERE("state: %s is corrupt (line %d: %s); move it away to start empty", s->path,
                   jerr.line, doc ? "not an object" : jerr.text);
        json_decref(doc);
        return SFA_EFORMAT;
    }
    v = json_object_get(doc, "version");
    s->version =
        json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
    for (int k = 0; k < GW_KINDS; k++)
        state_load_kind(s, k, json_object_get(doc, state_kind_names[k]));
    json_decref(doc);
    return 0;
}

int
gw_state_open(gw_state **out, const char *dir, gw_check_fn check)
{
    gw_state *s;
    size_t n = strlen(dir) + sizeof STATE_TMP + 2;
    int rc;

    if ((rc = state_mkdirs(dir)) != 0) {
        SFA_SEVERE("sfa.state: cannot create %s: %s", dir, sfa_strerror(rc));
        return rc;
    }
    s = sfa_xcalloc(1, sizeof *s);
    s->dir = sfa_xstrdup(dir);
    s->path = sfa_xmalloc(n);
    s->tmp = sfa_xmalloc(n);
    snprintf(s->path, n, "%s/%s", dir, STATE_FILE);
    snprintf(s->tmp, n, "%s/%s", dir, STATE_TMP);
    s->check = check;
    for (int k = 0; k < GW_KINDS; k++) {
        s->specs[k] = json_object();
        s->views[k] = json_object();
    }
    (void)unlink(s->tmp); /* left by a crash mid-write; the real file is intact */
    if ((rc = state_load(s)) != 0) {
        gw_state_close(s);
        return rc;
    }
    SFA_INFO("state: %s: %zu flows, %zu groups, %zu maps, %zu thresholds, version %llu", s->path,
             json_object_size(s->specs[GW_FLOWS]), json_object_size(s->specs[GW_GROUPS]),
             json_object_size(s->specs[GW_MAPS]), json_object_size(s->specs[GW_THRESHOLDS]),
             (unsigned long long)s->version);
    *out = s;
    return 0;
}

void
gw_state_close(gw_state *s)
{
    if (!s)
        return;
    for (int k = 0; k < GW_KINDS; k++) {
        json_decref(s->specs[k]);
        json_decref(s->views[k]);
    }
    free(s->dir);
    free(s->path);
    free(s->tmp);
    free(s);
}

json_t *
gw_state_spec(const gw_state *s, int kind, const char *name)
{
    return json_object_get(s->specs[kind], name);
}

json_t *
gw_state_view(const gw_state *s, int kind, const char *name)
{
    return json_object_get(s->views[kind], name);
}

json_t *
gw_state_specs(const gw_state *s, int kind)
{
    return s->specs[kind];
}

json_t *
gw_state_views(const gw_state *s, int kind)
{
    return s->views[kind];
}

int
gw_state_put(gw_state *s, int kind, const char *name, const json_t *spec, char *err, size_t errcap)
{
    json_t *view = NULL, *old_spec, *old_view;
    int rc;

    if ((rc = s->check(kind, spec, &view, err, errcap)) != 0)
        return SFA_EFORMAT;
    old_spec = json_incref(json_object_get(s->specs[kind], name));
    old_view = json_incref(json_object_get(s->views[kind], name));
    json_object_set_new(s->specs[kind], name, json_deep_copy(spec));
    json_object_set_new(s->views[kind], name, view);
    s->version++;
    if ((rc = state_save(s)) != 0) {
        s->version--;
        if (old_spec) {
            json_object_set(s->specs[kind], name, old_spec);
            json_object_set(s->views[kind], name, old_view);
        } else {
            json_object_del(s->specs[kind], name);
            json_object_del(s->views[kind], name);
        }
        snprintf(err, errcap, "cannot store the definition: %s", sfa_strerror(rc));
    }
    json_decref(old_spec);
    json_decref(old_view);
    return rc;
}

int
gw_state_delete(gw_state *s, int kind, const char *name)
{
    json_t *old_spec = json_incref(json_object_get(s->specs[kind], name));
    json_t *old_view = json_incref(json_object_get(s->views[kind], name));
    int rc;

    if (!old_spec) {
        json_decref(old_view);
        return -ENOENT;
    }
    json_object_del(s->specs[kind], name);
    json_object_del(s->views[kind], name);
    s->version++;
    if ((rc = state_save(s)) != 0) {
        s->version--;
        json_object_set(s->specs[kind], name, old_spec);
        json_object_set(s->views[kind], name, old_view);
    }
    json_decref(old_spec);
    json_decref(old_view);
    return rc;
}

int
gw_state_bump(gw_state *s)
{
    /* The raised version stays even if the write fails: the membership
     * change is published regardless, and the next write persists it. */
    s->version++;
    return state_save(s);
}

uint64_t
gw_state_version(const gw_state *s)
{
    return s->version;
}

void
gw_state_get_stats(const gw_state *s, gw_state_stats *st)
{
    *st = s->st;
}
