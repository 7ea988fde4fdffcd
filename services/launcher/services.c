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
}

const lch_service lch_services[] = {
    {"collector", "sfa-collector", NULL, NULL},
    {"aggregator", "sfa-aggregator", services_aggregator_count, services_aggregator_args},
    {"events", "sfa-events", services_events_count, services_events_args},
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
