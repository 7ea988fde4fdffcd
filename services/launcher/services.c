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

const lch_service lch_services[] = {
    {"collector", "sfa-collector", NULL, NULL},
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
