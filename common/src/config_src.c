/* config_src.c - where property values come from.
 *
 * Reads the sources of sfa_config_load after the defaults: properties
 * files ("name=value" lines, '#' or '!' comments, named by every
 * -Dsystem.propertyFiles=F[,F...] in RTPROP or argv, then by every
 * --config FILE), the -D items of RTPROP (split on whitespace; other
 * items, such as the JVM flags sflow-rt images carry, are ignored with a
 * warning), SFA_<NAME> variables for each property of the table, and the
 * -D arguments. Values go through sfa__config_set, which parses them.
 * sFlow-RT apps read their own properties (-Dbrowse-flows.t=5): a name
 * whose first dotted part names a directory of script.appdir (default
 * "app", as sfa-scripts reads it) is accepted by every service, so one
 * command line or RTPROP serves the launcher, the suite and the apps.
 * argv and the environment are never modified. Not thread-safe.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sfa/log.h>
#include <sfa/mem.h>

#include "config_int.h"

static char *
cfg_trim(char *s)
{
    char *e;

    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

#define CFG_APPDIR_PROP "script.appdir="

static char cfg_appdir[1024] = "app"; /* script.appdir as the sources give it */

/* Note an app's property (name, len bytes): accepted when its first dotted
 * part names a directory of the app directory. */
static void
cfg_app_prop(const char *name, size_t len)
{
    const char *dot = memchr(name, '.', len);
    char path[1400], full[256];
    const char *one[2] = {full, NULL};
    struct stat st;

    if (!dot || dot == name || len >= sizeof full || memchr(name, '/', (size_t)(dot - name)) ||
        name[0] == '.')
        return;
    snprintf(full, sizeof full, "%.*s", (int)len, name);
    snprintf(path, sizeof path, "%s/%.*s", cfg_appdir, (int)(dot - name), name);
    if (!sfa_config_is_known(full) && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        sfa_config_known(one);
}

/* One -D item (the text after -D, len bytes): in pass 0 note the app
 * directory, in pass 1 the app properties. */
static void
cfg_app_item(const char *item, size_t len, int pass)
{
    size_t kl = strlen(CFG_APPDIR_PROP);

    if (pass == 0 && len > kl && strncmp(item, CFG_APPDIR_PROP, kl) == 0)
        snprintf(cfg_appdir, sizeof cfg_appdir, "%.*s", (int)(len - kl), item + kl);
    else if (pass == 1)
        cfg_app_prop(item, strcspn(item, "= \t\n") < len ? strcspn(item, "= \t\n") : len);
}

/* The -D items of RTPROP, then argv: first the app directory (later wins,
 * SFA_SCRIPT_APPDIR between the two), then every app property. */
static void
cfg_app_props(int argc, char **argv)
{
    const char *rt = getenv("RTPROP"), *env = getenv("SFA_SCRIPT_APPDIR");

    snprintf(cfg_appdir, sizeof cfg_appdir, "app");
    for (int pass = 0; pass < 2; pass++) {
        for (const char *p = rt; p && *p;) {
            size_t n;

            p += strspn(p, " \t\n");
            n = strcspn(p, " \t\n");
            if (n > 2 && strncmp(p, "-D", 2) == 0)
                cfg_app_item(p + 2, n - 2, pass);
            p += n;
        }
        if (pass == 0 && env && env[0])
            snprintf(cfg_appdir, sizeof cfg_appdir, "%s", env);
        for (int i = 1; i < argc; i++) {
            if (strcmp(argv[i], "-D") == 0 && i + 1 < argc) {
                i++;
                cfg_app_item(argv[i], strlen(argv[i]), pass);
            } else if (strncmp(argv[i], "-D", 2) == 0)
                cfg_app_item(argv[i] + 2, strlen(argv[i] + 2), pass);
        }
    }
}

static int
cfg_file_line(sfa__cfg_load *ld, char *line, const char *where)
{
    char *s = cfg_trim(line), *eq;

    if (*s == '\0' || *s == '#' || *s == '!')
        return 0;
    if (!(eq = strchr(s, '='))) {
        SFA_SEVERE("%s: expected name=value", where);
        return SFA_ECONFIG;
    }
    *eq = '\0';
    s = cfg_trim(s);
    if (strcmp(s, SFA__CFG_FILES_PROP) == 0)
        return 0; /* files do not include other files */
    cfg_app_prop(s, strlen(s));
    return sfa__config_set(ld, s, cfg_trim(eq + 1), where);
}

static int
cfg_load_file(sfa__cfg_load *ld, const char *path)
{
    char where[600], *line = NULL;
    size_t cap = 0;
    int rv = 0, n = 0;
    FILE *f = fopen(path, "r");

    if (!f) {
        SFA_SEVERE("cannot read properties file %s: %s", path, strerror(errno));
        return SFA_ECONFIG;
    }
    while (rv == 0 && getline(&line, &cap, f) >= 0) {
        snprintf(where, sizeof where, "%s:%d", path, ++n);
        rv = cfg_file_line(ld, line, where);
    }
    free(line);
    fclose(f);
    return rv;
}

/* Record the files named by system.propertyFiles=F1,F2 (list is copied). */
static int
cfg_note_files(sfa__cfg_load *ld, const char *list)
{
    char *copy;

    if (ld->nbufs == SFA__CFG_MAX_FILES) {
        SFA_SEVERE("too many properties files (max %d)", SFA__CFG_MAX_FILES);
        return SFA_ECONFIG;
    }
    copy = ld->bufs[ld->nbufs++] = sfa_xstrdup(list);
    for (char *save = NULL, *f = strtok_r(copy, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
        if (ld->nfiles == SFA__CFG_MAX_FILES) {
            SFA_SEVERE("too many properties files (max %d)", SFA__CFG_MAX_FILES);
            return SFA_ECONFIG;
        }
        ld->files[ld->nfiles++] = f;
    }
    return 0;
}

static int
cfg_is_files_item(const char *item)
{
    size_t n = strlen(SFA__CFG_FILES_PROP);

    return strncmp(item, SFA__CFG_FILES_PROP, n) == 0 && item[n] == '=';
}

/* First pass over argv: flags, files; reject anything unknown. The -D
 * items themselves are applied later, in cfg_apply_args. */
int
sfa__config_scan_args(sfa__cfg_load *ld, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            ld->help = 1;
        else if (strcmp(a, "--dump-config") == 0)
            ld->dump = 1;
        else if (strcmp(a, "--config") == 0 || strncmp(a, "--config=", 9) == 0) {
            if (a[8] == '\0' && i + 1 == argc) {
                SFA_SEVERE("--config needs a FILE");
                return SFA_ECONFIG;
            }
            if (ld->ncfg == SFA__CFG_MAX_FILES) {
                SFA_SEVERE("too many --config files (max %d)", SFA__CFG_MAX_FILES);
                return SFA_ECONFIG;
            }
            ld->cfgfiles[ld->ncfg++] = a[8] == '=' ? argv[i] + 9 : argv[++i];
        } else if (strcmp(a, "-D") == 0 && i + 1 < argc)
            i++;
        else if (strncmp(a, "-D", 2) != 0 || a[2] == '\0') {
            SFA_SEVERE("unknown argument %s (expected -Dname=value, --config FILE, --help or "
                       "--dump-config)",
                       a);
            return SFA_ECONFIG;
        }
    }
    return 0;
}

/* The -D items of argv, in order; when files is set only
 * system.propertyFiles items are noted, otherwise all others are applied. */
static int
cfg_apply_args(sfa__cfg_load *ld, int argc, char **argv, int files)
{
    int rv = 0;

    for (int i = 1; rv == 0 && i < argc; i++) {
        const char *item = argv[i];
        if (strcmp(item, "--config") == 0) {
            i++;
            continue;
        }
        if (strcmp(item, "-D") == 0)
            item = argv[++i];
        else if (strncmp(item, "-D", 2) == 0)
            item += 2;
        else
            continue;
        if (cfg_is_files_item(item) != files)
            continue;
        rv = files ? cfg_note_files(ld, item + strlen(SFA__CFG_FILES_PROP) + 1)
                   : sfa__config_set_item(ld, item, "command line");
    }
    return rv;
}

/* The -D items of RTPROP, split on whitespace (in a private copy). */
static int
cfg_apply_rtprop(sfa__cfg_load *ld, int files)
{
    const char *env = getenv("RTPROP");
    char *rtprop = sfa_xstrdup(env ? env : "");
    int rv = 0;

    for (char *save = NULL, *it = strtok_r(rtprop, " \t\n", &save); rv == 0 && it;
         it = strtok_r(NULL, " \t\n", &save)) {
        if (strncmp(it, "-D", 2) != 0 || it[2] == '\0') {
            if (!files)
                SFA_WARN("RTPROP: ignoring %s (not a -Dname=value property)", it);
            continue;
        }
        it += 2;
        if (cfg_is_files_item(it) != files)
            continue;
        rv = files ? cfg_note_files(ld, it + strlen(SFA__CFG_FILES_PROP) + 1)
                   : sfa__config_set_item(ld, it, "RTPROP");
    }
    free(rtprop);
    return rv;
}

/* SFA_SFLOW_PORT for sflow.port: upper case, '.' and '-' become '_'. */
static int
cfg_apply_env(sfa__cfg_load *ld)
{
    char var[160], origin[180];
    int rv = 0;

    for (const sfa_cfg_opt *o = ld->table; rv == 0 && o->name; o++) {
        size_t n = (size_t)snprintf(var, sizeof var, "SFA_%s", o->name);
        const char *v;
        for (size_t i = 4; i < n && i < sizeof var; i++)
            var[i] = var[i] == '.' || var[i] == '-' ? '_' : (char)toupper((unsigned char)var[i]);
        if (!(v = getenv(var)))
            continue;
        snprintf(origin, sizeof origin, "environment %s", var);
        rv = sfa__config_set(ld, o->name, v, origin);
    }
    return rv;
}

int
sfa__config_apply_sources(sfa__cfg_load *ld, int argc, char **argv)
{
    int rv;

    cfg_app_props(argc, argv);
    if ((rv = cfg_apply_rtprop(ld, 1)) != 0 || (rv = cfg_apply_args(ld, argc, argv, 1)) != 0)
        return rv;
    for (int i = 0; i < ld->ncfg; i++) {
        if (ld->nfiles == SFA__CFG_MAX_FILES) {
            SFA_SEVERE("too many properties files (max %d)", SFA__CFG_MAX_FILES);
            return SFA_ECONFIG;
        }
        ld->files[ld->nfiles++] = ld->cfgfiles[i];
    }
    for (int i = 0; i < ld->nfiles; i++)
        if ((rv = cfg_load_file(ld, ld->files[i])) != 0)
            return rv;
    if ((rv = cfg_apply_rtprop(ld, 0)) != 0 || (rv = cfg_apply_env(ld)) != 0)
        return rv;
    return cfg_apply_args(ld, argc, argv, 0);
}
