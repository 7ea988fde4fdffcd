/* route_www.c - the web pages: the status page and Browse Flows.
 *
 *   GET /                                   302 to http.html.redirect
 *                                           (default ./html/index.html)
 *   GET /html/{a}[/{b}[/{c}]]               files of <http.html.dir>/html/
 *   GET /app/browse-flows/html/{a}[/{b}]    files of
 *                                           <http.html.dir>/app/browse-flows/html/
 *
 * Files are sent by h2o (ETag, 304, HEAD, ranges) with a content type
 * chosen from a short table of extensions. Every path segment is checked
 * after percent-decoding: empty (a directory: its index.html), ".", "..",
 * a leading '.', '/', '\' or a control byte is refused, so no request can
 * name a file outside the directory; the resolved path is also compared
 * with the directory's real path, so a symbolic link out of it is refused
 * too. A page that does not exist gets a small HTML 404 with links to the
 * pages; API paths keep the JSON error shape of http.c. Only the
 * browse-flows app is served here: the html/ directories of apps dropped
 * into script.appdir are served by route_apphtml.c, whose table comes
 * after this one, with the helpers exported here.
 *
 * The pages live in services/gateway/www/ of the source tree; the build
 * stages them with the chart library (uPlot from npm, pinned by
 * www/package-lock.json) into services/gateway/www/ of the build dir,
 * and meson install copies that to <datadir>/sfa/www. Reading a file is
 * a local, small, synchronous read on the loop thread (as h2o's own file
 * handler does). Loop thread only.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sfa/log.h>

#include "gw.h"
#include "www/gw_www_paths.h"

#define WWW_PATH_MAX 4096

typedef struct www_type {
    const char *ext;
    const char *ctype;
} www_type;

static const www_type www_types[] = {
    {".html", GW_CTYPE_HTML},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".map", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".gif", "image/gif"},
    {".jpg", "image/jpeg"},
    {".jpeg", "image/jpeg"},
    {".webp", "image/webp"},
    {".woff", "font/woff"},
    {".woff2", "font/woff2"},
    {".ttf", "font/ttf"},
    {".csv", "text/csv; charset=utf-8"},
    {".xml", "application/xml"},
    {".txt", "text/plain; charset=utf-8"},
    {"LICENSE", "text/plain; charset=utf-8"},
    {NULL, NULL},
};

static const char www_not_found[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<title>Not found - sfa</title></head>\n"
    "<body style=\"font-family:system-ui,sans-serif;margin:2em\">"
    "<h1>Page not found</h1><p>There is no such page here. Try the "
    "<a href=\"/html/index.html\">status page</a> or "
    "<a href=\"/app/browse-flows/html/index.html\">Browse Flows</a>.</p></body></html>\n";

const char *
gw_www_default_dir(void)
{
    struct stat st;

    if (stat(GW_WWW_BUILD_DIR "/html/index.html", &st) == 0)
        return GW_WWW_BUILD_DIR;
    return GW_WWW_INSTALL_DIR;
}

void
gw_www_announce(const gw_config *cfg)
{
    char path[WWW_PATH_MAX];
    struct stat st;

    snprintf(path, sizeof path, "%s/html/index.html", cfg->html_dir);
    if (stat(path, &st) != 0)
        SFA_WARN("http.html.dir: no pages in %s (the web pages will answer 404)", cfg->html_dir);
    else
        SFA_INFO("Web pages from %s", cfg->html_dir);
}

const char *
gw_www_ctype(const char *name)
{
    size_t n = strlen(name);

    for (const www_type *t = www_types; t->ext; t++) {
        size_t e = strlen(t->ext);

        if (n >= e && strcmp(name + n - e, t->ext) == 0)
            return t->ctype;
    }
    return NULL;
}

int
gw_www_segment_ok(const char *s, int last)
{
    if (s[0] == '\0')
        return last;
    if (s[0] == '.')
        return 0; /* ".", "..", hidden files */
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p == '/' || *p == '\\' || *p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

/* Build dir + base + the request's {a}/{b}/{c} into out. 0, or -1 when a
 * segment is refused or the result does not fit. */
static int
www_build_path(gw_req *r, const char *dir, const char *base, char *out, size_t cap)
{
    static const char *const names[] = {"a", "b", "c"};
    const char *seg[3];
    int n = 0, len;

    for (int i = 0; i < 3; i++)
        if ((seg[n] = gw_req_param(r, names[i])) != NULL)
            n++;
    len = snprintf(out, cap, "%s%s", dir, base);
    for (int i = 0; i < n; i++) {
        if (!gw_www_segment_ok(seg[i], i == n - 1) || len < 0 || (size_t)len >= cap)
            return -1;
        len += snprintf(out + len, cap - (size_t)len, "/%s", seg[i]);
    }
    if (n > 0 && seg[n - 1][0] == '\0' && len >= 0 && (size_t)len < cap)
        len += snprintf(out + len, cap - (size_t)len, "index.html");
    return len >= 0 && (size_t)len < cap ? 0 : -1;
}

int
gw_www_inside(const char *dir, const char *file)
{
    char rd[PATH_MAX], rf[PATH_MAX];
    size_t n;

    if (!realpath(dir, rd) || !realpath(file, rf))
        return 0;
    n = strlen(rd);
    return strncmp(rd, rf, n) == 0 && rf[n] == '/';
}

static int
www_send(gw_req *r, const gw_ctx *g, const char *base)
{
    char path[WWW_PATH_MAX];
    const char *ctype, *slash;
    struct stat st;

    if (www_build_path(r, g->cfg->html_dir, base, path, sizeof path) != 0)
        goto missing;
    slash = strrchr(path, '/');
    ctype = gw_www_ctype(slash ? slash + 1 : path);
    if (!ctype || stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
        !gw_www_inside(g->cfg->html_dir, path) || gw_reply_file(r, path, ctype) != 0)
        goto missing;
    return GW_DONE;
missing:
    gw_www_not_found(r);
    return GW_DONE;
}

void
gw_www_not_found(gw_req *r)
{
    gw_reply_body(r, 404, GW_CTYPE_HTML, www_not_found, sizeof www_not_found - 1);
}

static int
route_www_root(gw_req *r, void *arg)
{
    const gw_ctx *g = arg;
    const char *to = g->cfg->html_redirect;

    gw_reply_redirect(r, 302, to && to[0] ? to : "./html/index.html");
    return GW_DONE;
}

static int
route_www_html(gw_req *r, void *arg)
{
    return www_send(r, arg, "/html");
}

static int
route_www_browse(gw_req *r, void *arg)
{
    return www_send(r, arg, "/app/browse-flows/html");
}

const gw_route gw_www_routes[] = {
    {GW_GET, "/", route_www_root},
    {GW_GET, "/html/{a}", route_www_html},
    {GW_GET, "/html/{a}/{b}", route_www_html},
    {GW_GET, "/html/{a}/{b}/{c}", route_www_html},
    {GW_GET, "/app/browse-flows/html/{a}", route_www_browse},
    {GW_GET, "/app/browse-flows/html/{a}/{b}", route_www_browse},
    {0, NULL, NULL},
};
