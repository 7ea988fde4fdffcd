/* route_flows.c - flow definitions, group sets and maps over REST
 * (sFlow-RT's /flow, /group and /map resources).
 *
 *   GET    /flow/json                 every flow, as GET of each returns it
 *   GET    /flow/{name}/json          one flow with defaults filled in; 404
 *   PUT    /flow/{name}/json          create or replace: 204; 400 bad body
 *   DELETE /flow/{name}/json          204; 404
 *   ... the same for /group and /map.
 *
 * Validation is common's (sfa_flowdef_compile, sfa_groups_validate,
 * sfa_map_validate), so the gateway refuses exactly what an aggregator
 * could not run. Names are [A-Za-z0-9_.-]{1,64}. A successful change is
 * stored durably (state.c) and published to the aggregators at once.
 * Read-only mode (403) is enforced by http.c before these run.
 *
 * Loop thread only.
 */
#include <stdio.h>
#include <string.h>

#include <sfa/flowdef.h>
#include <sfa/groups.h>

#include "gw.h"

static const char *const route_kind_word[GW_KINDS] = {"flow", "group", "map", "threshold"};

int
gw_defs_check(int kind, const json_t *spec, json_t **view, char *err, size_t errcap)
{
    sfa_flowdef *fd = NULL;
    int rc;

    if (!json_is_object(spec)) {
        snprintf(err, errcap, "the %s definition must be a JSON object", route_kind_word[kind]);
        return SFA_EFORMAT;
    }
    switch (kind) {
    case GW_THRESHOLDS:
        return gw_threshold_check(spec, view, err, errcap);
    case GW_FLOWS:
        if ((rc = sfa_flowdef_compile(spec, &fd, err, errcap)) != 0)
            return SFA_EFORMAT;
        *view = sfa_flowdef_to_json(fd);
        sfa_flowdef_destroy(fd);
        return 0;
    case GW_GROUPS:
        rc = sfa_groups_validate(spec, err, errcap);
        break;
    default:
        rc = sfa_map_validate(spec, err, errcap);
        break;
    }
    if (rc != 0)
        return SFA_EFORMAT;
    *view = json_deep_copy(spec);
    return 0;
}

static int
route_list(gw_req *r, gw_ctx *g, int kind)
{
    gw_reply_json(r, 200, json_incref(gw_state_views(g->state, kind)));
    return GW_DONE;
}

static int
route_put(gw_req *r, gw_ctx *g, int kind, const char *name)
{
    json_error_t jerr;
    size_t len;
    const char *body = gw_req_body(r, &len);
    char err[512];
    json_t *spec;
    int rc;

    spec = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!spec) {
        gw_reply_error(r, 400, "invalid JSON body: %s (line %d, column %d)", jerr.text, jerr.line,
                       jerr.column);
        return GW_DONE;
    }
    err[0] = '\0';
    rc = gw_state_put(g->state, kind, name, spec, err, sizeof err);
    json_decref(spec);
    if (rc == SFA_EFORMAT) {
        gw_reply_error(r, 400, "%s", err[0] ? err : "invalid definition");
    } else if (rc != 0) {
        gw_reply_error(r, 500, "%s", err[0] ? err : "cannot store the definition");
    } else {
        gw_defs_pub_changed(g->defs);
        gw_reply_empty(r, 204);
    }
    return GW_DONE;
}

static int
route_one(gw_req *r, gw_ctx *g, int kind)
{
    const char *name = gw_req_param(r, "name");
    json_t *view;
    int rc;

    if (!name || !gw_name_valid(name)) {
        gw_reply_error(r, 400, "bad %s name: use 1 to %d of A-Z a-z 0-9 _ . -",
                       route_kind_word[kind], GW_NAME_MAX);
        return GW_DONE;
    }
    switch (gw_req_method(r)) {
    case GW_PUT:
        return route_put(r, g, kind, name);
    case GW_DELETE:
        rc = gw_state_delete(g->state, kind, name);
        if (rc == -ENOENT) {
            gw_reply_error(r, 404, "no such %s '%s'", route_kind_word[kind], name);
        } else if (rc != 0) {
            gw_reply_error(r, 500, "cannot store the change: %s", sfa_strerror(rc));
        } else {
            gw_defs_pub_changed(g->defs);
            gw_reply_empty(r, 204);
        }
        return GW_DONE;
    default:
        if ((view = gw_state_view(g->state, kind, name)) == NULL)
            gw_reply_error(r, 404, "no such %s '%s'", route_kind_word[kind], name);
        else
            gw_reply_json(r, 200, json_incref(view));
        return GW_DONE;
    }
}

static int
route_flow_list(gw_req *r, void *arg)
{
    return route_list(r, arg, GW_FLOWS);
}

static int
route_flow_one(gw_req *r, void *arg)
{
    return route_one(r, arg, GW_FLOWS);
}

static int
route_group_list(gw_req *r, void *arg)
{
    return route_list(r, arg, GW_GROUPS);
}

static int
route_group_one(gw_req *r, void *arg)
{
    return route_one(r, arg, GW_GROUPS);
}

static int
route_map_list(gw_req *r, void *arg)
{
    return route_list(r, arg, GW_MAPS);
}

static int
route_map_one(gw_req *r, void *arg)
{
    return route_one(r, arg, GW_MAPS);
}

#define GW_RW (GW_GET | GW_PUT | GW_DELETE)

const gw_route gw_flow_routes[] = {
    {GW_GET, "/flow/json", route_flow_list},
    {GW_RW, "/flow/{name}/json", route_flow_one},
    {GW_GET, "/group/json", route_group_list},
    {GW_GET, "/groups/json", route_group_list}, /* older sFlow-RT spelling */
    {GW_RW, "/group/{name}/json", route_group_one},
    {GW_GET, "/map/json", route_map_list},
    {GW_RW, "/map/{name}/json", route_map_one},
    {0, NULL, NULL},
};
