/* config.c - table-driven sFlow-RT style properties.
 *
 * One sfa_cfg_opt table per service drives defaults, parsing, range
 * checks, --help and --dump-config. Sources are applied in this order,
 * later wins: table defaults; properties files (every
 * -Dsystem.propertyFiles=F[,F...] found in RTPROP or argv, then every
 * --config FILE); the -D items of RTPROP; SFA_<NAME> variables; the -D
 * arguments. A value is parsed and range-checked when its source is
 * applied, so a bad value is reported even if a later source overrides it.
 * A numeric range applies only when min < max (0, 0 means unbounded).
 *
 * Values are built in a scratch copy of the service's struct and copied
 * into the caller's struct only when the load succeeds, so on any error
 * (or --help/--dump-config) the caller's struct is untouched and nothing
 * is left to free. RTPROP items that are not -D options (JVM flags in
 * sflow-rt images) are ignored with a warning.
 *
 * This file holds the table logic (values, defaults, --help, --dump-config,
 * the list of known names); config_src.c reads the sources.
 *
 * Not thread-safe: called from main before any thread starts. The list of
 * known property names (sfa_config_known) is process-global.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sfa/config.h>
#include <sfa/log.h>
#include <sfa/mem.h>

#include "config_int.h"

/* Every property some sfa service reads; a service accepts and ignores
 * these when they are not in its own table (one RTPROP for the suite). */
static const char *const cfg_builtin_known[] = {
    "sflow.port",
    "sflow.hostname",
    "sflow.rcvbuf",
    "sflow.file",
    "sflow.file.fast",
    "sflow.file.loop",
    "sflow.file.port",
    "sflow.file.wait",
    "gateway.query.timeout",
    "http.port",
    "http.hostname",
    "http.readonly",
    "http.log",
    "http.html",
    "script.file",
    "script.store",
    "script.appdir",
    "script.timeout",
    "script.heap",
    "script.http.timeout",
    "events.max",
    "flows.max",
    "bus.samples",
    "bus.lanes",
    "bus.sndbuf",
    "bus.rcvbuf",
    "bus.control",
    "bus.batch.bytes",
    "bus.collectors",
    "collector.id",
    "stats.interval",
    "log.level",
    "sfa.rundir",
    "sfa.aggregators",
    "bus.defs",
    "bus.query",
    "aggregator.id",
    "aggregator.maxkeys",
    "aggregator.maxsources",
    "aggregator.sweep",
    "sfa.events",
    "bus.metrics",
    "bus.events",
    "bus.flowlog",
    "sfa.gateway",
    "events.id",
    "events.interval",
    "sfa.bindir",
    "sfa.state",
    "prometheus.metric.prefix",
    "prometheus.type",
    "http.html.dir",
    "http.html.redirect",
    "browse-flows.maxFlows",
    "browse-flows.minValue",
    "browse-flows.aggMode",
    "browse-flows.agents",
    "browse-flows.t",
    SFA__CFG_FILES_PROP,
    NULL,
};

static char **cfg_extra_known; /* added by sfa_config_known; lives forever */
static size_t cfg_extra_n;

void
sfa_config_known(const char *const *names)
{
    for (; *names; names++) {
        cfg_extra_known = sfa_xrealloc(cfg_extra_known, (cfg_extra_n + 1) * sizeof(char *));
        cfg_extra_known[cfg_extra_n++] = sfa_xstrdup(*names);
    }
}

int
sfa_config_is_known(const char *name)
{
    for (const char *const *p = cfg_builtin_known; *p; p++)
        if (strcmp(*p, name) == 0)
            return 1;
    for (size_t i = 0; i < cfg_extra_n; i++)
        if (strcmp(cfg_extra_known[i], name) == 0)
            return 1;
    return 0;
}

static size_t
cfg_field_size(int type)
{
    switch (type) {
    case SFA_CFG_INT:
        return sizeof(long);
    case SFA_CFG_DOUBLE:
        return sizeof(double);
    case SFA_CFG_BOOL:
        return sizeof(int);
    default:
        return sizeof(char *);
    }
}

static const char *
cfg_type_name(int type)
{
    static const char *const names[] = {"?", "int", "double", "bool", "string"};

    return type >= SFA_CFG_INT && type <= SFA_CFG_STR ? names[type] : names[0];
}

static int
cfg_parse_bool(const char *v, int *out)
{
    static const char *const yes[] = {"yes", "true", "on", "1"}, *const no[] = {"no", "false",
                                                                                "off", "0"};

    for (int i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0 || strcasecmp(v, no[i]) == 0) {
            *out = strcasecmp(v, yes[i]) == 0;
            return 0;
        }
    }
    return SFA_ECONFIG;
}

/* Parse v as the opt's type and check its range; store into field. */
static int
cfg_parse_value(const sfa_cfg_opt *o, const char *v, void *field)
{
    int ranged = o->min < o->max;
    char *end;
    double d;
    long l;

    switch (o->type) {
    case SFA_CFG_INT:
        errno = 0;
        l = strtol(v, &end, 10);
        if (end == v || *end || errno || (ranged && (l < o->min || l > o->max)))
            return SFA_ECONFIG;
        *(long *)field = l;
        return 0;
    case SFA_CFG_DOUBLE:
        errno = 0;
        d = strtod(v, &end);
        if (end == v || *end || errno || !isfinite(d) || (ranged && (d < o->min || d > o->max)))
            return SFA_ECONFIG;
        *(double *)field = d;
        return 0;
    case SFA_CFG_BOOL:
        return cfg_parse_bool(v, (int *)field);
    case SFA_CFG_STR:
        free(*(char **)field);
        *(char **)field = sfa_xstrdup(v);
        return 0;
    default:
        return SFA_ECONFIG;
    }
}

static const sfa_cfg_opt *
cfg_find(const sfa_cfg_opt *table, const char *name)
{
    for (const sfa_cfg_opt *o = table; o->name; o++)
        if (strcmp(o->name, name) == 0)
            return o;
    return NULL;
}

static void
cfg_log_bad(const sfa_cfg_opt *o, const char *v, const char *origin)
{
    if (o->type == SFA_CFG_BOOL)
        SFA_SEVERE("bad value \"%s\" for property %s (%s): expected true or false", v, o->name,
                   origin);
    else if (o->min < o->max)
        SFA_SEVERE("bad value \"%s\" for property %s (%s): expected %s in [%g, %g]", v, o->name,
                   origin, cfg_type_name(o->type), o->min, o->max);
    else
        SFA_SEVERE("bad value \"%s\" for property %s (%s): expected %s", v, o->name, origin,
                   cfg_type_name(o->type));
}

int
sfa__config_set(sfa__cfg_load *ld, const char *name, const char *v, const char *origin)
{
    const sfa_cfg_opt *o = cfg_find(ld->table, name);

    if (!o) {
        if (sfa_config_is_known(name))
            return 0; /* another service's property */
        SFA_SEVERE("unknown property %s (%s)", name, origin);
        return SFA_ECONFIG;
    }
    if (cfg_parse_value(o, v, ld->tmp + o->off) != 0) {
        cfg_log_bad(o, v, origin);
        return SFA_ECONFIG;
    }
    return 0;
}

int
sfa__config_set_item(sfa__cfg_load *ld, const char *item, const char *origin)
{
    const char *eq = strchr(item, '=');
    size_t n = eq ? (size_t)(eq - item) : strlen(item);
    char name[256];

    if (n >= sizeof name) {
        SFA_SEVERE("unknown property %.60s... (%s)", item, origin);
        return SFA_ECONFIG;
    }
    memcpy(name, item, n);
    name[n] = '\0';
    return sfa__config_set(ld, name, eq ? eq + 1 : "", origin);
}

static int
cfg_apply_defaults(sfa__cfg_load *ld)
{
    for (const sfa_cfg_opt *o = ld->table; o->name; o++) {
        const char *def = o->def ? o->def : (o->type == SFA_CFG_STR ? "" : "0");
        if (sfa__config_set(ld, o->name, def, "default") != 0)
            return SFA_ECONFIG; /* a table bug, reported like any bad value */
    }
    return 0;
}

static void
cfg_format(const sfa_cfg_opt *o, const void *field, char *out, size_t cap)
{
    switch (o->type) {
    case SFA_CFG_INT:
        snprintf(out, cap, "%ld", *(const long *)field);
        break;
    case SFA_CFG_DOUBLE:
        snprintf(out, cap, "%g", *(const double *)field);
        break;
    case SFA_CFG_BOOL:
        snprintf(out, cap, "%s", *(const int *)field ? "true" : "false");
        break;
    default:
        snprintf(out, cap, "%s", *(char *const *)field ? *(char *const *)field : "");
    }
}

static void
cfg_print_help(const sfa__cfg_load *ld)
{
    printf("Usage: %s [-Dname=value ...] [--config FILE] [--help] [--dump-config]\n"
           "Sources, later wins: defaults, properties files (--config FILE or\n"
           "-D" SFA__CFG_FILES_PROP "=FILE), RTPROP, SFA_<NAME> variables, -D arguments.\n\n"
           "Properties:\n",
           ld->prog);
    for (const sfa_cfg_opt *o = ld->table; o->name; o++) {
        printf("  %s (%s, default \"%s\"", o->name, cfg_type_name(o->type), o->def ? o->def : "");
        if (o->min < o->max && (o->type == SFA_CFG_INT || o->type == SFA_CFG_DOUBLE))
            printf(", range %g..%g", o->min, o->max);
        printf(")\n      %s\n", o->help ? o->help : "");
    }
}

static void
cfg_print_dump(const sfa__cfg_load *ld)
{
    char v[1024];

    for (const sfa_cfg_opt *o = ld->table; o->name; o++) {
        cfg_format(o, ld->tmp + o->off, v, sizeof v);
        printf("%s=%s\n", o->name, v);
    }
    fflush(stdout);
}

static size_t
cfg_struct_size(const sfa_cfg_opt *table)
{
    size_t size = 0;

    for (const sfa_cfg_opt *o = table; o->name; o++)
        if (o->off + cfg_field_size(o->type) > size)
            size = o->off + cfg_field_size(o->type);
    return size;
}

/* The name --help prints: basename of argv[0], else sfa-<service>. */
static void
cfg_set_prog(sfa__cfg_load *ld, char *buf, size_t cap, const char *service, int argc, char **argv)
{
    const char *slash;

    if (argc > 0 && argv[0]) {
        slash = strrchr(argv[0], '/');
        ld->prog = slash ? slash + 1 : argv[0];
        return;
    }
    snprintf(buf, cap, "sfa-%s", service);
    ld->prog = buf;
}

/* argv[0] is the program name and is skipped. */
int
sfa_config_load(const sfa_cfg_opt *table, void *cfg, const char *service, int argc, char **argv)
{
    sfa__cfg_load ld = {.table = table};
    char prog[64];
    int rv;

    if ((rv = sfa__config_scan_args(&ld, argc, argv)) != 0)
        return rv;
    if (ld.help) {
        cfg_set_prog(&ld, prog, sizeof prog, service, argc, argv);
        cfg_print_help(&ld);
        return SFA_EEXIT;
    }
    ld.tmp = sfa_xcalloc(1, cfg_struct_size(table));
    if ((rv = cfg_apply_defaults(&ld)) != 0)
        goto out;
    if ((rv = sfa__config_apply_sources(&ld, argc, argv)) != 0)
        goto out;
    if (ld.dump) {
        cfg_print_dump(&ld);
        rv = SFA_EEXIT;
        goto out;
    }
    /* Success: the strings move from the scratch copy into cfg. */
    for (const sfa_cfg_opt *o = table; o->name; o++)
        memcpy((unsigned char *)cfg + o->off, ld.tmp + o->off, cfg_field_size(o->type));
out:
    if (rv != 0)
        sfa_config_free(table, ld.tmp);
    for (int i = 0; i < ld.nbufs; i++)
        free(ld.bufs[i]);
    free(ld.tmp);
    return rv;
}

void
sfa_config_default_str(char **field, const char *value)
{
    if (*field && (*field)[0] != '\0')
        return;
    free(*field);
    *field = sfa_xstrdup(value);
}

void
sfa_config_default_ipc(char **field, const char *leaf)
{
    char buf[320];

    snprintf(buf, sizeof buf, "ipc:///tmp/sfa-%u/%s", (unsigned)getuid(), leaf);
    sfa_config_default_str(field, buf);
}

void
sfa_config_free(const sfa_cfg_opt *table, void *cfg)
{
    for (const sfa_cfg_opt *o = table; o->name; o++) {
        if (o->type != SFA_CFG_STR)
            continue;
        char *str, *null = NULL;
        memcpy(&str, (unsigned char *)cfg + o->off, sizeof str);
        free(str);
        memcpy((unsigned char *)cfg + o->off, &null, sizeof null);
    }
}
