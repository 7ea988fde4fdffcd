/* route_apphtml.c - the web pages of sFlow-RT apps dropped into
 * script.appdir (the directory sfa-scripts runs their scripts from).
 *
 *   GET /app/{app}/html          302 to html/
 *   GET /app/{app}/html/...      files of <script.appdir>/<app>/html/, any depth;
 *                                a path ending in '/' is that directory's index.html
 *
 * Files are sent by h2o (ETag, 304, HEAD, ranges) with the content types of
 * route_www.c's table; an extension that is not in it is sent as
 * application/octet-stream (with nosniff, so a browser never runs it as a
 * page). Every segment of the raw path after "html/" is percent-decoded and
 * checked like route_www.c's (no "..", no leading '.', no '/', backslash,
 * control byte or empty segment), and the resolved file must lie inside the
 * real path of the app's html/ directory, so neither a crafted path nor a
 * symbolic link leads out of it. What is missing or refused gets the HTML
 * 404 page.
 *
 * The built-in Browse Flows (route_www.c and route_browse.c, registered
 * earlier) owns its app name: a dropped-in app called browse-flows is never
 * served from here. gw_apphtml_apps lists the apps for /apps/json
 * (route_apps.c merges it with sfa-scripts' answer), so an app whose
 * scripts service is elsewhere or absent is listed too.
 *
 * Reading the directory and the files is a local, small, synchronous job
 * on the loop thread, as route_www.c's is. Loop thread only.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sfa/mem.h>

#include "gw.h"

#define APPHTML_PATH_MAX 4096
#define APPHTML_BUILTIN "browse-flows"
#define APPHTML_OCTETS "application/octet-stream"

/* snprintf into out (cap bytes); 0, or -1 when it does not fit. */
static int __attribute__((format(printf, 3, 4)))
apphtml_fmt(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < cap ? 0 : -1;
}

/* The raw part of path (len bytes) after "/app/<app>/html/": what follows
 * the fourth '/'. */
static const char *
apphtml_rest(const char *path, size_t len, size_t *rlen)
{
    int slashes = 0;

    for (size_t i = 0; i < len; i++) {
        if (path[i] == '/' && ++slashes == 4) {
            *rlen = len - i - 1;
            return path + i + 1;
        }
    }
    *rlen = 0;
    return path + len;
}

/* Append the decoded, checked segments of rest (rlen bytes, raw) to out,
 * which holds the html/ directory (len bytes used of cap). 0, or -1 when a
 * segment is refused or the path does not fit. */
static int
apphtml_join(char *out, size_t len, size_t cap, const char *rest, size_t rlen)
{
    const char *p = rest, *end = rest + rlen;
    char seg[GW_PARAM_MAX];
    int n;

    for (;;) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        const char *se = slash ? slash : end;

        if (gw_url_decode(p, (size_t)(se - p), seg, sizeof seg, 0) != 0 ||
            !gw_www_segment_ok(seg, slash == NULL))
            return -1;
        n = snprintf(out + len, cap - len, "/%s", seg[0] ? seg : "index.html");
        if (n < 0 || (size_t)n >= cap - len)
            return -1;
        len += (size_t)n;
        if (!slash)
            return 0;
        p = slash + 1;
    }
}

static int
route_apphtml_file(gw_req *r, void *arg)
{
    const gw_ctx *g = arg;
    const char *app = gw_req_param(r, "app"), *raw, *rest, *ctype, *base;
    char root[APPHTML_PATH_MAX], path[APPHTML_PATH_MAX];
    size_t plen, rlen;
    struct stat st;
    int n;

    if (!app || !gw_name_valid(app) || strcmp(app, APPHTML_BUILTIN) == 0 || !g->cfg->app_dir ||
        !g->cfg->app_dir[0])
        goto missing;
    n = snprintf(root, sizeof root, "%s/%s/html", g->cfg->app_dir, app);
    if (n < 0 || (size_t)n >= sizeof root)
        goto missing;
    memcpy(path, root, (size_t)n + 1);
    raw = gw_req_path(r, &plen);
    rest = apphtml_rest(raw, plen, &rlen);
    if (apphtml_join(path, (size_t)n, sizeof path, rest, rlen) != 0)
        goto missing;
    base = strrchr(path, '/') + 1;
    ctype = gw_www_ctype(base);
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || !gw_www_inside(root, path) ||
        gw_reply_file(r, path, ctype ? ctype : APPHTML_OCTETS) != 0)
        goto missing;
    return GW_DONE;
missing:
    gw_www_not_found(r);
    return GW_DONE;
}

static int
route_apphtml_dir(gw_req *r, void *arg)
{
    const char *app = gw_req_param(r, "app");

    (void)arg;
    if (!app || !gw_name_valid(app)) {
        gw_www_not_found(r);
        return GW_DONE;
    }
    gw_reply_redirect(r, 302, "html/");
    return GW_DONE;
}

static int
apphtml_is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int
apphtml_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names in dir (none starting with '.'): with want_dirs the
 * directories with a valid app name, else the regular files ending in
 * ".js". Returns a new array of *n new strings (free each and the array);
 * NULL and 0 when there are none or dir cannot be read. */
static char **
apphtml_list(const char *dir, int want_dirs, size_t *n)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[APPHTML_PATH_MAX], **names = NULL;
    struct stat st;
    size_t l;

    *n = 0;
    while (d && (de = readdir(d))) {
        l = strlen(de->d_name);
        if (de->d_name[0] == '.' || apphtml_fmt(path, sizeof path, "%s/%s", dir, de->d_name) != 0 ||
            stat(path, &st) != 0)
            continue;
        if (want_dirs ? !S_ISDIR(st.st_mode) || !gw_name_valid(de->d_name)
                      : !S_ISREG(st.st_mode) || l <= 3 || strcmp(de->d_name + l - 3, ".js") != 0)
            continue;
        names = sfa_xrealloc(names, (*n + 1) * sizeof *names);
        names[(*n)++] = sfa_xstrdup(de->d_name);
    }
    if (d)
        closedir(d);
    if (*n > 1)
        qsort(names, *n, sizeof *names, apphtml_cmp);
    return names;
}

/* One app's /apps/json entry (new): "entry" when html/ exists, and its
 * scripts/NAME.js files (subdirectories hold include()d files). */
static json_t *
apphtml_entry(const char *dir, const char *app)
{
    json_t *entry = json_object(), *scripts = json_array();
    char path[APPHTML_PATH_MAX], **names = NULL;
    size_t n = 0;

    if (apphtml_fmt(path, sizeof path, "%s/%s/html", dir, app) == 0 && apphtml_is_dir(path))
        json_object_set_new(entry, "entry", json_string("/html/"));
    if (apphtml_fmt(path, sizeof path, "%s/%s/scripts", dir, app) == 0)
        names = apphtml_list(path, 0, &n);
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(scripts, json_sprintf("scripts/%s", names[i]));
        free(names[i]);
    }
    free(names);
    json_object_set_new(entry, "scripts", scripts);
    return entry;
}

json_t *
gw_apphtml_apps(const gw_ctx *g)
{
    json_t *apps = json_object();
    const char *dir = g->cfg->app_dir;
    size_t n = 0;
    char **names = dir && dir[0] ? apphtml_list(dir, 1, &n) : NULL;

    for (size_t i = 0; i < n; i++) {
        json_object_set_new(apps, names[i], apphtml_entry(dir, names[i]));
        free(names[i]);
    }
    free(names);
    return apps;
}

void
gw_apphtml_builtin(const gw_ctx *g, json_t *apps)
{
    char path[APPHTML_PATH_MAX];
    struct stat st;

    if (apphtml_fmt(path, sizeof path, "%s/app/%s/html/index.html", g->cfg->html_dir,
                    APPHTML_BUILTIN) == 0 &&
        stat(path, &st) == 0)
        json_object_set_new(
            apps, APPHTML_BUILTIN,
            json_pack("{s:s, s:[s]}", "entry", "/html/", "scripts", "scripts/top.js"));
}

const gw_route gw_apphtml_routes[] = {
    {GW_GET, "/app/{app}/html", route_apphtml_dir},
    {GW_GET, "/app/{app}/html/*", route_apphtml_file},
    {0, NULL, NULL},
};
