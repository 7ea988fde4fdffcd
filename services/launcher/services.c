/* services.c - which services the launcher runs, and with what arguments.
 *
 * One row per service of the suite. Every child gets, in this order:
 * the bus base addresses under the runtime directory
 * (-Dbus.samples=ipc://<rundir>/samples, -Dbus.control=ipc://<rundir>/control;
 * each service derives its lanes with sfa_bus_lane_url), the row's own
 * per-instance arguments, then every argument the launcher was given,
 * unchanged (-D properties, --config FILE). Because later -D wins, a user
 * who passes -Dbus.samples=tcp://... overrides the ipc default. The
 * environment (RTPROP, SFA_*) is inherited. Later services (aggregators,
 * events, gateway) join by adding a row; a count function reads the
 * instance count from the launcher's config (e.g. sfa.aggregators).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sfa/mem.h>

#include "launcher.h"

static int
services_aggregator_count(const lch_config *cfg)
{
    return (int)cfg->aggregators;
}

/* Each aggregator gets a distinct, stable member name, the launcher's name
 * for the child (its bucket share follows the name, proto/CONTROL.md), and
 * the gateway's control sockets. */
static void
services_aggregator_args(const lch_launcher *l, int instance, lch_argv *out)
{
    lch_argv_addf(out, "-Daggregator.id=aggregator-%d", instance);
    lch_argv_addf(out, "-Dbus.collectors=ipc://%s/samples", l->rundir);
    lch_argv_addf(out, "-Dbus.defs=ipc://%s/defs", l->rundir);
    lch_argv_addf(out, "-Dbus.query=ipc://%s/query", l->rundir);
    lch_argv_addf(out, "-Dbus.metrics=ipc://%s/metrics", l->rundir);
    lch_argv_addf(out, "-Dbus.flowlog=ipc://%s/flowlog", l->rundir);
}

/* The durable state directory of the gateway and the events service:
 * sfa.state when given (from any source), else <rundir>/state, which
 * lives and dies with a runtime directory the launcher owns. */
static void
services_state_arg(const lch_launcher *l, lch_argv *out)
{
    if (l->cfg->state && l->cfg->state[0])
        lch_argv_addf(out, "-Dsfa.state=%s", l->cfg->state);
    else
        lch_argv_addf(out, "-Dsfa.state=%s/state", l->rundir);
}

static int
services_events_count(const lch_config *cfg)
{
    return cfg->events ? 1 : 0;
}

/* The events service listens for the aggregators' metrics.v1 and
 * publishes events.v1; it reads thresholds from the gateway's defs.v1 and
 * answers its surveys (proto/CONTROL.md, "Thresholds and events"). */
static void
services_events_args(const lch_launcher *l, int instance, lch_argv *out)
{
    (void)instance;
    lch_argv_addf(out, "-Dbus.metrics=ipc://%s/metrics", l->rundir);
    lch_argv_addf(out, "-Dbus.events=ipc://%s/events", l->rundir);
    lch_argv_addf(out, "-Dbus.defs=ipc://%s/defs", l->rundir);
    lch_argv_addf(out, "-Dbus.query=ipc://%s/query", l->rundir);
    services_state_arg(l, out);
}

static int
services_gateway_count(const lch_config *cfg)
{
    return cfg->gateway ? 1 : 0;
}

/* The gateway listens for definitions (defs), queries (query) and logged
 * flows (flowlog), dials the collectors' control sockets (common args)
 * and the events service's events.v1 publisher. HTTP on http.port. */
static void
services_gateway_args(const lch_launcher *l, int instance, lch_argv *out)
{
    (void)instance;
    lch_argv_addf(out, "-Dbus.defs=ipc://%s/defs", l->rundir);
    lch_argv_addf(out, "-Dbus.query=ipc://%s/query", l->rundir);
    lch_argv_addf(out, "-Dbus.events=ipc://%s/events", l->rundir);
    lch_argv_addf(out, "-Dbus.flowlog=ipc://%s/flowlog", l->rundir);
    services_state_arg(l, out);
}

/* The value of property name as sfa-scripts will see it, from the sources
 * that can carry it here: RTPROP's -D items, then SFA_<NAME>, then our own
 * command line (read back from /proc/self/cmdline; later wins, as in
 * sfa/config.h). Properties files are not read. Copies into out (cap
 * bytes); 0 when set, -1 when not. */
static int
services_prop(const char *name, const char *env, char *out, size_t cap)
{
    char buf[65536], key[160];
    const char *rt = getenv("RTPROP"), *e = getenv(env);
    size_t kl = (size_t)snprintf(key, sizeof key, "-D%s=", name), n = 0;
    int found = -1;
    FILE *f;

    for (const char *p = rt ? strstr(rt, key) : NULL; p; p = strstr(p + 1, key)) {
        snprintf(out, cap, "%.*s", (int)strcspn(p + kl, " \t"), p + kl);
        found = 0;
    }
    if (e) {
        snprintf(out, cap, "%s", e);
        found = 0;
    }
    if ((f = fopen("/proc/self/cmdline", "r"))) {
        n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
    }
    buf[n] = '\0';
    for (size_t i = 0; i < n; i += strlen(buf + i) + 1) {
        if (strncmp(buf + i, key, kl) == 0) {
            snprintf(out, cap, "%s", buf + i + kl);
            found = 0;
        }
    }
    return found;
}

/* sfa-scripts runs when there is something to run: script.file is set, or
 * the app directory (script.appdir, default "app") exists. */
static int
services_scripts_count(const lch_config *cfg)
{
    char files[4096] = "", appdir[PATH_MAX] = "app";
    struct stat st;

    (void)cfg;
    (void)services_prop("script.appdir", "SFA_SCRIPT_APPDIR", appdir, sizeof appdir);
    if (services_prop("script.file", "SFA_SCRIPT_FILE", files, sizeof files) == 0 && files[0])
        return 1;
    return stat(appdir, &st) == 0 && S_ISDIR(st.st_mode) ? 1 : 0;
}

/* sfa-scripts dials the events service's events.v1 (setEventHandler) and
 * answers the gateway's surveys (/scripts/json, /apps/json, app HTTP
 * handlers); it reaches the gateway's REST API on http.port. */
static void
services_scripts_args(const lch_launcher *l, int instance, lch_argv *out)
{
    (void)instance;
    lch_argv_addf(out, "-Dbus.events=ipc://%s/events", l->rundir);
    lch_argv_addf(out, "-Dbus.query=ipc://%s/query", l->rundir);
}

const lch_service lch_services[] = {
    {"collector", "sfa-collector", NULL, NULL},
    {"aggregator", "sfa-aggregator", services_aggregator_count, services_aggregator_args},
    {"events", "sfa-events", services_events_count, services_events_args},
    {"gateway", "sfa-gateway", services_gateway_count, services_gateway_args},
    {"scripts", "sfa-scripts", services_scripts_count, services_scripts_args},
    {NULL, NULL, NULL, NULL},
};

void
lch_common_args(const lch_launcher *l, lch_argv *out)
{
    lch_argv_addf(out, "-Dbus.samples=ipc://%s/samples", l->rundir);
    lch_argv_addf(out, "-Dbus.control=ipc://%s/control", l->rundir);
}

void
lch_argv_add(lch_argv *a, const char *s)
{
    if (a->n + 2 > a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->v = sfa_xrealloc(a->v, (size_t)a->cap * sizeof(char *));
    }
    a->v[a->n++] = sfa_xstrdup(s);
    a->v[a->n] = NULL;
}

void
lch_argv_addf(lch_argv *a, const char *fmt, ...)
{
    char buf[PATH_MAX + 64];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    lch_argv_add(a, buf);
}

void
lch_argv_free(lch_argv *a)
{
    for (int i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
    a->v = NULL;
    a->n = a->cap = 0;
}
