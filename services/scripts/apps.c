/* apps.c - which scripts to run: script.file entries and installed apps.
 *
 * script.file is a comma-separated list of files, run in that order and
 * named in /scripts/json as given. An app is a directory
 * <appdir>/<name>/ with a scripts/ directory: each scripts/NAME.js (not
 * subdirectories, which hold include()d files) runs as
 * "app/<name>/scripts/<file>.js", the name sFlow-RT logs and lists. The
 * /apps/json answer is built here too: {"<name>": {"entry": "/html/" when
 * html/ exists, "scripts": ["scripts/x.js", ...]}}. Names are sorted so
 * start order and listings are stable. Start-up only, main thread.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sfa/log.h>
#include <sfa/mem.h>

#include "scr.h"

#define APPS_NAME_MAX 128

static void
apps_add(scr_specs *s, const char *path, const char *name, const char *app)
{
    scr_spec *sp;
    const char *file = strrchr(path, '/');
    size_t bl;

    s->v = sfa_xrealloc(s->v, (s->n + 1) * sizeof *s->v);
    sp = &s->v[s->n++];
    sp->path = sfa_xstrdup(path);
    sp->name = sfa_xstrdup(name);
    sp->app = sfa_xstrdup(app);
    file = file ? file + 1 : path;
    bl = strlen(file);
    if (bl > 3 && strcmp(file + bl - 3, ".js") == 0)
        bl -= 3;
    sp->base = strndup(file, bl);
    if (!sp->base)
        sp->base = sfa_xstrdup("");
}

static int
apps_is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int
apps_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in dir whose entries pass want (js files or directories).
 * Returns a new NULL-terminated array (free each and the array); NULL if
 * dir cannot be read. */
static char **
apps_list(const char *dir, int want_dirs)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **v = NULL, path[4096];
    size_t n = 0;

    if (!d)
        return NULL;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (de->d_name[0] == '.' || l >= APPS_NAME_MAX)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (want_dirs ? !apps_is_dir(path)
                      : (l <= 3 || strcmp(de->d_name + l - 3, ".js") != 0 || apps_is_dir(path)))
            continue;
        v = sfa_xrealloc(v, (n + 2) * sizeof *v);
        v[n++] = sfa_xstrdup(de->d_name);
    }
    closedir(d);
    if (!v)
        v = sfa_xcalloc(1, sizeof *v);
    v[n] = NULL;
    qsort(v, n, sizeof *v, apps_cmp);
    return v;
}

static void
apps_list_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static int
apps_files(scr_specs *s, const char *list)
{
    const char *p = list;

    while (p && *p) {
        size_t n = strcspn(p, ",");
        char *f = strndup(p, n);

        if (f && f[0]) {
            if (access(f, R_OK) != 0) {
                SFA_SEVERE("script.file: cannot read %s: %s", f, strerror(errno));
                free(f);
                return SFA_ECONFIG;
            }
            apps_add(s, f, f, "");
        }
        free(f);
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

static void
apps_one(scr_specs *s, const char *appdir, const char *app)
{
    char dir[4096], path[4608], name[4608];
    char **files;
    json_t *entry, *scripts;

    snprintf(dir, sizeof dir, "%s/%s/scripts", appdir, app);
    files = apps_list(dir, 0);
    entry = json_object();
    scripts = json_array();
    for (size_t i = 0; files && files[i]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        snprintf(name, sizeof name, "app/%s/scripts/%s", app, files[i]);
        apps_add(s, path, name, app);
        snprintf(name, sizeof name, "scripts/%s", files[i]);
        json_array_append_new(scripts, json_string(name));
    }
    apps_list_free(files);
    snprintf(dir, sizeof dir, "%s/%s/html", appdir, app);
    if (apps_is_dir(dir))
        json_object_set_new(entry, "entry", json_string("/html/"));
    json_object_set_new(entry, "scripts", scripts);
    json_object_set_new(s->apps, app, entry);
}

int
scr_specs_load(scr_specs *out, const char *script_file, const char *appdir)
{
    scr_specs s = {.apps = json_object()};
    char **apps;
    int rc;

    if ((rc = apps_files(&s, script_file)) != 0)
        goto fail;
    apps = appdir && *appdir ? apps_list(appdir, 1) : NULL;
    for (size_t i = 0; apps && apps[i]; i++)
        apps_one(&s, appdir, apps[i]);
    apps_list_free(apps);
    *out = s;
    return 0;

fail:
    scr_specs_free(&s);
    return rc;
}

void
scr_specs_free(scr_specs *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].path);
        free(s->v[i].name);
        free(s->v[i].app);
        free(s->v[i].base);
    }
    free(s->v);
    json_decref(s->apps);
    memset(s, 0, sizeof *s);
}
