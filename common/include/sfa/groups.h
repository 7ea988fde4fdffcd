/* groups.h - named CIDR group sets and value maps for the group: and map:
 * key functions (sFlow-RT's /group/{name}/json and /map/{name}/json).
 *
 * An sfa_tables holds every group set and map by name. It is built from
 * JSON, immutable once built, and replaced whole when a set changes, so
 * evaluation needs no locks.
 */
#ifndef SFA_GROUPS_H
#define SFA_GROUPS_H

#include <stddef.h>

#include <jansson.h>

#include <sfa/err.h>
#include <sfa/sflow.h>

typedef struct sfa_tables sfa_tables;

/* Validate one group set body {"label":["10.0.0.0/8","fc00::/7"],...} or
 * one map body {"label":["80","443"],...}. 0, or SFA_EFORMAT with err. */
SFA_MUST_CHECK int sfa_groups_validate(const json_t *body, char *err, size_t errcap);
SFA_MUST_CHECK int sfa_map_validate(const json_t *body, char *err, size_t errcap);

/* Build tables from {"<group name>": body, ...} and {"<map name>": body, ...}
 * (both borrowed, either may be NULL). Returns new, or NULL if a body is
 * invalid. */
sfa_tables *sfa_tables_build(const json_t *groups, const json_t *maps);
void sfa_tables_destroy(sfa_tables *t);

/* Label of the group in set `name` with the longest prefix containing addr
 * (on a tie, the label listed first), or NULL. t may be NULL. */
const char *sfa_tables_group(const sfa_tables *t, const char *name, const sfa_addr *addr);
/* Label of map `name` whose value list contains value (the first such
 * label), or NULL. t may be NULL. */
const char *sfa_tables_map(const sfa_tables *t, const char *name, const char *value, size_t len);

#endif
