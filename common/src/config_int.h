/* config_int.h - private interface between config.c (table, values,
 * load) and config_src.c (reading argv, properties files, RTPROP and the
 * SFA_ environment). Not for services; they include <sfa/config.h>.
 */
#ifndef SFA_CONFIG_INT_H
#define SFA_CONFIG_INT_H

#include <sfa/config.h>

#define SFA__CFG_FILES_PROP "system.propertyFiles"
#define SFA__CFG_MAX_FILES 16

/* State of one sfa_config_load call. */
typedef struct sfa__cfg_load {
    const sfa_cfg_opt *table;
    unsigned char *tmp;                       /* scratch copy of the service struct */
    const char *prog;                         /* basename of argv[0], for --help */
    const char *files[SFA__CFG_MAX_FILES];    /* properties files; point into bufs or argv */
    char *bufs[SFA__CFG_MAX_FILES];           /* owned copies of system.propertyFiles lists */
    const char *cfgfiles[SFA__CFG_MAX_FILES]; /* --config FILE arguments (borrow argv) */
    int nfiles, nbufs, ncfg;
    int help, dump;
} sfa__cfg_load;

/* Apply name=value from origin (named in error messages): parse, range
 * check and store into ld->tmp. A name outside the table that some sfa
 * service knows is ignored. 0 or SFA_ECONFIG (logged). */
int sfa__config_set(sfa__cfg_load *ld, const char *name, const char *v, const char *origin);

/* Apply "name=value" (the text after -D); "name" alone means an empty
 * value. item is borrowed and never modified. 0 or SFA_ECONFIG. */
int sfa__config_set_item(sfa__cfg_load *ld, const char *item, const char *origin);

/* Scan argv (argv[0] skipped) for --help, --dump-config and --config
 * FILE; anything that is not one of those or a -D item is an error.
 * 0 or SFA_ECONFIG (logged). */
int sfa__config_scan_args(sfa__cfg_load *ld, int argc, char **argv);

/* Apply every source after the defaults, in precedence order: properties
 * files, RTPROP, SFA_ variables, -D arguments. 0 or SFA_ECONFIG. */
int sfa__config_apply_sources(sfa__cfg_load *ld, int argc, char **argv);

#endif
