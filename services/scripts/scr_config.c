/* scr_config.c - sfa-scripts' properties, as a table.
 *
 * The table drives parsing, range checks, --help and --dump-config (see
 * sfa/config.h). Bus URLs default to the same ipc:///tmp/sfa-<uid>/...
 * paths the gateway and the events service use, so the suite meets without
 * configuration. sFlow-RT apps read their own properties
 * (getSystemProperty('browse-flows.t')): a -D name whose first dotted part
 * names a directory under script.appdir is accepted, and every property
 * given (known or app) is kept as text for getSystemProperty. Runs once at
 * start-up, on the main thread.
 */
#include <dirent.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sfa/log.h>
#include <sfa/mem.h>

#include "scr.h"

#define SCR_OPT(name, type, def, field, min, max, help)                                            \
    {                                                                                              \
        name, type, def, offsetof(scr_config, field), min, max, help                               \
    }

const sfa_cfg_opt scr_config_table[] = {
    SCR_OPT("script.file", SFA_CFG_STR, NULL, script_file, 0, 0,
            "comma-separated JavaScript files to run at start"),
    SCR_OPT("script.appdir", SFA_CFG_STR, "app", appdir, 0, 0,
            "directory of sFlow-RT apps: every <appdir>/<name>/scripts/*.js runs"),
    SCR_OPT("script.store", SFA_CFG_STR, "store", store, 0, 0,
            "directory for storeSet()/storeGet() values (one JSON file per app)"),
    SCR_OPT("script.timeout", SFA_CFG_INT, "10000", timeout_ms, 100, 3600000,
            "longest a script may spend in one callback (or its top level), ms; a script "
            "over it is killed and restarted with back-off"),
    SCR_OPT("script.heap", SFA_CFG_INT, "64", heap_mb, 1, 65536,
            "heap limit of each script, MiB; a script over it is stopped and restarted"),
    SCR_OPT("script.http.timeout", SFA_CFG_INT, "5000", http_timeout_ms, 10, 600000,
            "deadline of one http() call and of one REST call to the gateway, ms"),
    SCR_OPT("http.port", SFA_CFG_INT, "8008", http_port, 1, 65535,
            "the gateway's HTTP port (the data API calls its REST API)"),
    SCR_OPT("http.hostname", SFA_CFG_STR, NULL, http_hostname, 0, 0,
            "the gateway's bind address; empty or a wildcard means 127.0.0.1"),
    SCR_OPT("bus.events", SFA_CFG_STR, NULL, bus_events, 0, 0,
            "the events service's events.v1 publisher, dialled for setEventHandler "
            "(default ipc:///tmp/sfa-<uid>/events)"),
    SCR_OPT("bus.query", SFA_CFG_STR, NULL, bus_query, 0, 0,
            "the gateway's query surveyor, dialled to answer /scripts/json, /apps/json "
            "and app HTTP requests (default ipc:///tmp/sfa-<uid>/query)"),
    SCR_OPT("log.level", SFA_CFG_STR, "INFO", log_level, 0, 0,
            "log threshold: SEVERE, WARNING, INFO or FINE (also for logInfo() and friends)"),
    SFA_CFG_END,
};

/* Properties of other sfa services that config.c's built-in list may not
 * carry yet; accepted and ignored here. */
static const char *const scr_config_foreign[] = {
    "gateway.query.timeout",
    NULL,
};

/* The app directory before loading: the last -Dscript.appdir= or the
 * default (the environment forms are rare enough to ignore here). */
static const char *
scr_config_peek_appdir(int argc, char **argv)
{
    const char *dir = "app";

    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "-Dscript.appdir=", 16) == 0)
            dir = argv[i] + 16;
    return dir;
}

static int
scr_config_is_app_prop(const char *appdir, const char *name, size_t len)
{
    char path[4096];
    const char *dot = memchr(name, '.', len);
    struct stat st;

    if (!dot || dot == name)
        return 0;
    snprintf(path, sizeof path, "%s/%.*s", appdir, (int)(dot - name), name);
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* One -Dname=value item (len bytes at a): register the name when it
 * belongs to an installed app, and record the pair for getSystemProperty. */
static void
scr_config_item(scr_config *cfg, const char *appdir, const char *a, size_t len)
{
    const char *eq = len > 2 ? memchr(a, '=', len) : NULL;
    char name[256];
    const char *one[2] = {name, NULL};
    json_t *v;

    if (len < 3 || strncmp(a, "-D", 2) != 0 || !eq || (size_t)(eq - a - 2) >= sizeof name)
        return;
    snprintf(name, sizeof name, "%.*s", (int)(eq - a - 2), a + 2);
    if (!sfa_config_is_known(name) && scr_config_is_app_prop(appdir, name, strlen(name)))
        sfa_config_known(one);
    v = json_stringn(eq + 1, len - (size_t)(eq + 1 - a));
    if (v)
        json_object_set_new(cfg->props, name, v);
}

/* The -D items of RTPROP, then of the command line (later wins, as in
 * sfa/config.h). */
static void
scr_config_scan_args(scr_config *cfg, int argc, char **argv)
{
    const char *appdir = scr_config_peek_appdir(argc, argv);
    const char *rt = getenv("RTPROP");

    while (rt && *rt) {
        size_t n;
        rt += strspn(rt, " \t");
        n = strcspn(rt, " \t");
        scr_config_item(cfg, appdir, rt, n);
        rt += n;
    }
    for (int i = 1; i < argc; i++)
        scr_config_item(cfg, appdir, argv[i], strlen(argv[i]));
}

/* Effective values of our own table, for getSystemProperty. */
static void
scr_config_table_props(scr_config *cfg)
{
    char num[64];

    for (const sfa_cfg_opt *o = scr_config_table; o->name; o++) {
        const char *v = num;
        if (o->type == SFA_CFG_INT)
            snprintf(num, sizeof num, "%ld", *(long *)((char *)cfg + o->off));
        else if (o->type == SFA_CFG_STR)
            v = *(char **)((char *)cfg + o->off) ? *(char **)((char *)cfg + o->off) : "";
        else
            continue;
        json_object_set_new(cfg->props, o->name, json_string(v));
    }
}

static void
scr_config_resolve(scr_config *cfg)
{
    sfa_config_default_ipc(&cfg->bus_events, "events");
    sfa_config_default_ipc(&cfg->bus_query, "query");
    sfa_config_default_str(&cfg->http_hostname, "");
    sfa_config_default_str(&cfg->script_file, "");
}

int
scr_config_load(scr_config *cfg, int argc, char **argv)
{
    static int known_added;
    json_t *args = json_object();
    int rc;

    memset(cfg, 0, sizeof *cfg);
    if (!known_added) {
        sfa_config_known(scr_config_foreign);
        known_added = 1;
    }
    cfg->props = args;
    scr_config_scan_args(cfg, argc, argv);
    cfg->props = NULL;
    rc = sfa_config_load(scr_config_table, cfg, "scripts", argc, argv);
    if (rc != 0) {
        json_decref(args);
        return rc;
    }
    cfg->log_level_num = sfa_log_parse_level(cfg->log_level ? cfg->log_level : "INFO");
    if (cfg->log_level_num < 0) {
        SFA_SEVERE("log.level: unknown level '%s' (SEVERE, WARNING, INFO or FINE)", cfg->log_level);
        json_decref(args);
        sfa_config_free(scr_config_table, cfg);
        return SFA_ECONFIG;
    }
    scr_config_resolve(cfg);
    cfg->props = json_object();
    scr_config_table_props(cfg);
    json_object_update(cfg->props, args); /* the -D text as given wins */
    json_decref(args);
    return 0;
}

void
scr_config_free(scr_config *cfg)
{
    json_decref(cfg->props);
    cfg->props = NULL;
    sfa_config_free(scr_config_table, cfg);
}

void
scr_gateway_url(const scr_config *cfg, char *out, size_t cap)
{
    const char *h = cfg->http_hostname;

    if (!h || !*h || strcmp(h, "0.0.0.0") == 0)
        h = "127.0.0.1";
    else if (strcmp(h, "::") == 0 || strcmp(h, "[::]") == 0)
        h = "::1";
    if (strchr(h, ':') && h[0] != '[')
        snprintf(out, cap, "http://[%s]:%ld", h, cfg->http_port);
    else
        snprintf(out, cap, "http://%s:%ld", h, cfg->http_port);
}
