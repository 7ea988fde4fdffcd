/* defs.c - apply the gateway's defs.v1 messages (proto/CONTROL.md).
 *
 * The gateway publishes its whole set of definitions every second and on
 * every change: {"version", "flows", "groups", "maps", "members", "lanes"}.
 * A message with the version already applied changes nothing (beyond the
 * member list, compared for safety). Otherwise a new definition array is
 * built: a flow whose spec is unchanged keeps its compiled form and its
 * table (so its values survive), a new or changed one is compiled with
 * sfa_flowdef_compile and gets a fresh table, and a removed one is
 * destroyed with its table. Groups and maps are rebuilt into one
 * sfa_tables when either changed. The new array then replaces the old one
 * in a single step; since everything runs on the loop thread, ingest never
 * sees a half-applied set.
 *
 * A definition that does not compile (a gateway of another version) is
 * skipped with a warning and counted; the rest still apply.
 */
#include <stdlib.h>
#include <string.h>

#include <sfa/log.h>
#include <sfa/mem.h>

#include "agg.h"
#include "flow_log.h"

agg_def *
agg_defs_find(const agg_core *c, const char *name)
{
    for (size_t i = 0; i < c->ndefs; i++)
        if (c->defs[i].name && strcmp(c->defs[i].name, name) == 0)
            return &c->defs[i];
    return NULL;
}

static void
defs_release(agg_core *c, agg_def *d)
{
    agg_table_stats st;

    if (d->table) {
        agg_table_get_stats(d->table, &st);
        c->st.old_evictions += st.evictions;
        c->st.old_expired += st.expired;
        c->st.old_inserts += st.inserts;
    }
    agg_table_destroy(d->table);
    agg_flowlog_def_destroy(d->log); /* its live flows go unlogged */
    sfa_flowdef_destroy(d->fd);
    json_decref(d->spec);
    free(d->name);
    memset(d, 0, sizeof *d);
}

void
agg_defs_clear(agg_core *c)
{
    for (size_t i = 0; i < c->ndefs; i++)
        defs_release(c, &c->defs[i]);
    free(c->defs);
    c->defs = NULL;
    c->ndefs = 0;
    sfa_tables_destroy(c->tabs);
    c->tabs = NULL;
    json_decref(c->groups);
    json_decref(c->maps);
    c->groups = c->maps = NULL;
}

/* Fill *out for flow name/spec: reuse the old definition when its spec is
 * unchanged (taking it over), else compile. 0, or SFA_EFORMAT. */
static int
defs_build_one(agg_core *c, const char *name, json_t *spec, double now, agg_def *out)
{
    agg_def *old = agg_defs_find(c, name);
    char err[256];

    if (old && old->fd && json_equal(old->spec, spec)) {
        *out = *old;
        memset(old, 0, sizeof *old); /* moved: nothing left to release */
        return 0;
    }
    memset(out, 0, sizeof *out);
    if (sfa_flowdef_compile(spec, &out->fd, err, sizeof err) != 0) {
        SFA_WARN("defs: flow %s does not compile, ignored: %s", name, err);
        c->st.defs_errors++;
        return SFA_EFORMAT;
    }
    out->name = sfa_xstrdup(name);
    out->spec = json_incref(spec);
    out->table = agg_table_create(out->fd, (size_t)c->cfg->maxkeys, now);
    if (c->flowlog && sfa_flowdef_log(out->fd))
        out->log = agg_flowlog_def_create(c->flowlog, name, out->fd, (size_t)c->cfg->maxkeys);
    SFA_INFO("defs: flow %s %s", name, old ? "changed" : "added");
    return 0;
}

static void
defs_apply_flows(agg_core *c, json_t *flows, double now)
{
    size_t n = json_is_object(flows) ? json_object_size(flows) : 0, k = 0;
    agg_def *v = sfa_xcalloc(n ? n : 1, sizeof *v);
    const char *name;
    json_t *spec;

    if (n)
        json_object_foreach(flows, name, spec)
        {
            if (defs_build_one(c, name, spec, now, &v[k]) == 0)
                k++;
        }
    /* Whatever was not taken over is gone from the set. */
    for (size_t i = 0; i < c->ndefs; i++) {
        if (c->defs[i].fd) {
            if (!json_object_get(flows, c->defs[i].name))
                SFA_INFO("defs: flow %s removed", c->defs[i].name);
            defs_release(c, &c->defs[i]);
        }
    }
    free(c->defs);
    c->defs = v;
    c->ndefs = k;
}

static void
defs_apply_tables(agg_core *c, json_t *groups, json_t *maps)
{
    sfa_tables *t;

    if (!json_is_object(groups))
        groups = NULL;
    if (!json_is_object(maps))
        maps = NULL;
    if (c->tabs && json_equal(groups ? groups : json_null(), c->groups ? c->groups : json_null()) &&
        json_equal(maps ? maps : json_null(), c->maps ? c->maps : json_null()))
        return;
    if (!groups && !maps && !c->tabs)
        return;
    t = sfa_tables_build(groups, maps);
    if (!t) {
        SFA_WARN("defs: groups or maps do not build; keeping the previous ones");
        c->st.defs_errors++;
        return;
    }
    sfa_tables_destroy(c->tabs);
    c->tabs = t;
    json_decref(c->groups);
    json_decref(c->maps);
    c->groups = groups ? json_incref(groups) : NULL;
    c->maps = maps ? json_incref(maps) : NULL;
}

/* Take the member list (strings only). Returns 1 when it changed. */
static int
defs_apply_members(agg_core *c, json_t *members)
{
    json_t *m = json_array(), *v;
    size_t i;
    int changed;

    json_array_foreach(members, i, v)
    {
        if (json_is_string(v) && json_string_length(v) > 0)
            json_array_append(m, v);
    }
    changed = !c->members || !json_equal(m, c->members);
    json_decref(c->members);
    c->members = m;
    return changed;
}

int
agg_defs_apply(agg_core *c, const json_t *body, double now)
{
    json_t *ver = json_object_get(body, "version");
    int first = !c->have_defs, changed;

    c->st.defs_msgs++;
    if (!json_is_integer(ver) || json_integer_value(ver) < 0) {
        c->st.defs_errors++;
        return SFA_EFORMAT;
    }
    if (first || (uint64_t)json_integer_value(ver) != c->defs_version) {
        defs_apply_tables(c, json_object_get(body, "groups"), json_object_get(body, "maps"));
        defs_apply_flows(c, json_object_get(body, "flows"), now);
        c->defs_version = (uint64_t)json_integer_value(ver);
        c->st.defs_applied++;
        if (first)
            SFA_INFO("defs: version %llu, %zu flows", (unsigned long long)c->defs_version,
                     c->ndefs);
    }
    changed = defs_apply_members(c, json_object_get(body, "members"));
    c->have_defs = 1;
    return changed || first;
}
