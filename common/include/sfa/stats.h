/* stats.h - service counters as a table.
 *
 * A service keeps its counters in a plain struct of uint64_t and describes
 * it once with sfa_stat_def rows; the table turns it into JSON for the
 * stats.v1 bus topic and the gateway's /sfa/v1/stats (STYLE habit 16).
 */
#ifndef SFA_STATS_H
#define SFA_STATS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

typedef struct sfa_stat_def {
    const char *name; /* JSON member name */
    size_t off;       /* offsetof a uint64_t in the struct */
} sfa_stat_def;

#define SFA_STAT_END                                                                               \
    {                                                                                              \
        NULL, 0                                                                                    \
    }

/* Add every counter of base, described by defs, to obj (borrowed). */
void sfa_stats_add(json_t *obj, const sfa_stat_def *defs, const void *base);

#endif
