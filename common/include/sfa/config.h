/* config.h - sFlow-RT style properties, described by a table.
 *
 * Each service describes its settings once, as a static array of
 * sfa_cfg_opt; that table drives parsing, range checks, --help and
 * --dump-config. Sources, later wins: built-in defaults; a properties file
 * (-Dsystem.propertyFiles=FILE or --config FILE, "name=value" lines, '#'
 * comments); the RTPROP environment variable ("-Dname=value ..." as the
 * sflow-rt image reads it); per-property SFA_ variables (SFA_SFLOW_PORT for
 * sflow.port: upper case, '.' and '-' become '_'); then -Dname=value on the
 * command line. A name that no sfa service knows is an error, as is a bad
 * value; names that belong to another service of the suite are accepted and
 * ignored, so one RTPROP can serve the whole suite.
 */
#ifndef SFA_CONFIG_H
#define SFA_CONFIG_H

#include <stddef.h>

#include <sfa/err.h>

enum sfa_cfg_type {
    SFA_CFG_INT = 1, /* long, range [min, max] */
    SFA_CFG_DOUBLE,  /* double, range [min, max] */
    SFA_CFG_BOOL,    /* int 0/1; accepts yes/no/true/false/on/off/1/0 */
    SFA_CFG_STR,     /* char * (owned by the config; freed by sfa_config_free) */
};

typedef struct sfa_cfg_opt {
    const char *name; /* e.g. "sflow.port" */
    int type;         /* enum sfa_cfg_type */
    const char *def;  /* default as text; NULL for an empty string / 0 */
    size_t off;       /* offsetof(field) in the service's config struct */
    double min, max;  /* numeric range (ignored for BOOL/STR) */
    const char *help;
} sfa_cfg_opt;

/* Table terminator. */
#define SFA_CFG_END                                                                                \
    {                                                                                              \
        NULL, 0, NULL, 0, 0, 0, NULL                                                               \
    }

/* Fill cfg (the service's struct) from all sources. argv may contain
 * -Dname=value, --config FILE, --help and --dump-config; other arguments
 * are errors. Returns 0; SFA_EEXIT after printing --help/--dump-config;
 * SFA_ECONFIG after logging a message that names the property. */
SFA_MUST_CHECK int sfa_config_load(const sfa_cfg_opt *table, void *cfg, const char *service,
                                   int argc, char **argv);

/* Replace an empty (or NULL) string setting with a computed default.
 * value is copied; the config owns the copy (sfa_config_free frees it). */
void sfa_config_default_str(char **field, const char *value);

/* Replace an empty (or NULL) bus URL setting with the suite's default
 * ipc:///tmp/sfa-<uid>/<leaf>, where every service of one user meets.
 * leaf is borrowed; the config owns the new string. */
void sfa_config_default_ipc(char **field, const char *leaf);

/* Free the strings a successful load stored in cfg. */
void sfa_config_free(const sfa_cfg_opt *table, void *cfg);

/* Register property names that other services of the suite use, so that
 * this service accepts and ignores them (RTPROP shared by the suite). The
 * built-in list in config.c covers every sfa service; this adds more. */
void sfa_config_known(const char *const *names);

/* Is name a property of some sfa service? */
int sfa_config_is_known(const char *name);

#endif
