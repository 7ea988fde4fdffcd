/* flowdef.c - sFlow-RT flow definitions: JSON spec, defaults, validation,
 * canonical echo, and per-sample evaluation (the glue over flowkey.c and
 * flowfilter.c).
 *
 * Spec members (sFlow-RT API section 1.2):
 *   keys        comma string or array of strings (array entries are joined
 *               with ',' and split again, as one string); absent, null or ""
 *               = no keys: one total per data source. At most FD_MAX_KEYS.
 *   value       required: bytes, frames, a numeric key, or count:/avg:/min:/
 *               max:/rate: <key>. bps, Bps and fps are UI shorthands, not
 *               engine values: rejected with a hint.
 *   values      comma string or array; at most SFA_FLOWDEF_MAX_VALUES - 1.
 *   filter      string or null; "" (or blank) means no filter.
 *   n           default 5, clamped to [1, 100] (sFlow-RT's docs say 5..20,
 *               but InMon apps pass 10 and 20 and newer builds accept more).
 *   t           default 2 s, clamped to [0.1, 600] (ai-metrics uses 0.1).
 *   fs          default ","; a non-empty string of at most 64 bytes.
 *   log, flowStart, dropped   default false.
 *   activeTimeout   default 60 s, clamped to [1, 86400].
 *   ipfixCollectors, aggMode  accepted and echoed unchanged (array or string;
 *               string); sfa does not act on them.
 * Numbers may also be given as numeric strings and booleans as "true" /
 * "false": InMon's apps pass t:'2' from system properties. Unknown members
 * are accepted and ignored, as sFlow-RT's JavaScript-object specs are, and
 * are not echoed. A member of the wrong type is an error naming it.
 *
 * Evaluation: flow samples count only for dropped:false definitions and
 * discard samples only for dropped:true; counter samples never. SUM values
 * are scaled by the sampling rate (a discard sample, which has none,
 * counts as rate 1); count: yields a 53-bit hash of the key's text as an
 * exact integer in the double (see flowdef.h); avg/min/max are raw. A key
 * whose joined text does not fit keycap makes the sample not count.
 *
 * Compile is single-threaded; a compiled definition is immutable, and
 * evaluation (allocation-free) may run on many threads at once.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/mem.h>

#include "flowdef_int.h"

#define FD_FS_MAX 64

struct fd_block {
    fd_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

struct sfa_flowdef {
    fd_comp comp;
    int16_t slot_of[SFA_F__COUNT];
    json_t *echo;
    int n;
    double t;
    const char *fs;
    size_t fslen;
    int log, flow_start, dropped, active_timeout;
    int nkeys;
    fk_node **keys;
    const char **ktext; /* each key as written, spaces around removed */
    uint32_t *ktextlen;
    const char *keys_text; /* "keys" as given (joined when an array) */
    ff_node *filter;
    int nvalues;
    int vkind[SFA_FLOWDEF_MAX_VALUES];
    fk_node *vnode[SFA_FLOWDEF_MAX_VALUES];
};

/* ---- arena, errors, slots ---- */

void *
sfa__fd_alloc(fd_comp *c, size_t n)
{
    fd_block *b = c->blocks;
    void *p;

    n = (n + 15) & ~(size_t)15;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 8192 ? n : 8192;
        b = sfa_xmalloc(sizeof *b + cap);
        b->cap = cap;
        b->used = 0;
        b->next = c->blocks;
        c->blocks = b;
    }
    p = b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

char *
sfa__fd_strndup(fd_comp *c, const char *s, size_t n)
{
    char *p = sfa__fd_alloc(c, n + 1);

    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void
sfa__fd_arena_free(fd_comp *c)
{
    fd_block *b = c->blocks;

    for (int i = 0; i < c->nregex; i++)
        regfree(c->regexes[i]);
    free(c->regexes);
    while (b) {
        fd_block *next = b->next;
        free(b);
        b = next;
    }
    c->blocks = NULL;
    c->regexes = NULL;
    c->nregex = c->capregex = 0;
}

int
sfa__fd_error(fd_comp *c, const char *fmt, ...)
{
    va_list ap;

    if (c->err && c->errcap) {
        va_start(ap, fmt);
        vsnprintf(c->err, c->errcap, fmt, ap);
        va_end(ap);
    }
    return SFA_EFORMAT;
}

int
sfa__fd_slot(fd_comp *c, unsigned fid)
{
    if (fid >= SFA_F__COUNT)
        return -1;
    if (c->slot_of[fid] >= 0)
        return c->slot_of[fid];
    if (c->nslots == FD_MAX_SLOTS)
        return -1;
    c->slot_of[fid] = (int16_t)c->nslots;
    c->slot_fid[c->nslots] = (uint16_t)fid;
    return c->nslots++;
}

const int16_t *
sfa__flowdef_slot_of(const sfa_flowdef *fd)
{
    return fd->slot_of;
}

const uint16_t *
sfa__flowdef_slot_fid(const sfa_flowdef *fd)
{
    return fd->comp.slot_fid;
}

/* Narrow s[*b..*e) to leave out the spaces around it. */
static void
fd_trim(const char *s, size_t *b, size_t *e)
{
    while (*b < *e && isspace((unsigned char)s[*b]))
        (*b)++;
    while (*e > *b && isspace((unsigned char)s[*e - 1]))
        (*e)--;
}

int
sfa__flowdef_key_index(const sfa_flowdef *fd, const char *s, size_t len)
{
    size_t b = 0, e = len;

    fd_trim(s, &b, &e);
    for (int i = 0; i < fd->nkeys; i++)
        if (fd->ktextlen[i] == e - b && memcmp(fd->ktext[i], s + b, e - b) == 0)
            return i;
    return -1;
}

const char *
sfa__flowdef_keys_text(const sfa_flowdef *fd)
{
    return fd->keys_text;
}

int
sfa__flowdef_nslots(const sfa_flowdef *fd)
{
    return fd->comp.nslots;
}

/* ---- JSON member helpers ---- */

/* String of v without embedded NULs; 0, or an error naming the member. */
static int
fd_string(fd_comp *c, const json_t *v, const char *name, const char **s, size_t *len)
{
    if (!json_is_string(v))
        return sfa__fd_error(c, "%s must be a string", name);
    *s = json_string_value(v);
    *len = json_string_length(v);
    if (memchr(*s, '\0', *len))
        return sfa__fd_error(c, "%s contains a NUL character", name);
    if (*len > FD_MAX_TEXT)
        return sfa__fd_error(c, "%s too long (max %d bytes)", name, FD_MAX_TEXT);
    return 0;
}

/* A number, or a string holding one. */
static int
fd_number(fd_comp *c, const json_t *v, const char *name, double *out)
{
    double d;

    if (json_is_number(v)) {
        d = json_number_value(v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        d = strtod(s, &end);
        if (end == s || isspace((unsigned char)*s) || *end)
            return sfa__fd_error(c, "%s must be a number", name);
    } else {
        return sfa__fd_error(c, "%s must be a number", name);
    }
    if (!isfinite(d))
        return sfa__fd_error(c, "%s must be a finite number", name);
    *out = d;
    return 0;
}

static int
fd_bool(fd_comp *c, const json_t *v, const char *name, int *out)
{
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;

    if (json_is_boolean(v))
        *out = json_is_true(v);
    else if (s && strcmp(s, "true") == 0)
        *out = 1;
    else if (s && strcmp(s, "false") == 0)
        *out = 0;
    else
        return sfa__fd_error(c, "%s must be a boolean", name);
    return 0;
}

static double
fd_clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Join a comma string or an array of strings into one new string. */
static int
fd_list_text(fd_comp *c, const json_t *v, const char *name, char **out, size_t *outlen)
{
    const char *s;
    size_t len, total = 0, i;
    const json_t *e;
    char *buf;

    if (json_is_string(v)) {
        if (fd_string(c, v, name, &s, &len))
            return SFA_EFORMAT;
        *out = sfa__fd_strndup(c, s, len);
        *outlen = len;
        return 0;
    }
    if (!json_is_array(v))
        return sfa__fd_error(c, "%s must be a string or an array of strings", name);
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e))
            return sfa__fd_error(c, "%s must be a string or an array of strings", name);
        if (fd_string(c, e, name, &s, &len))
            return SFA_EFORMAT;
        total += len + 1;
    }
    if (total > FD_MAX_TEXT)
        return sfa__fd_error(c, "%s too long (max %d bytes)", name, FD_MAX_TEXT);
    buf = sfa__fd_alloc(c, total + 1);
    total = 0;
    json_array_foreach(v, i, e)
    {
        if (i)
            buf[total++] = ',';
        memcpy(buf + total, json_string_value(e), json_string_length(e));
        total += json_string_length(e);
    }
    buf[total] = '\0';
    *out = buf;
    *outlen = total;
    return 0;
}

/* Next entry of a comma list at *pos: ',' at bracket depth 0 separates,
 * '\' escapes. Returns 0 at the end of the list. */
static int
fd_list_next(const char *s, size_t len, size_t *pos, size_t *b, size_t *e)
{
    int depth = 0;
    size_t i = *pos;

    if (i > len)
        return 0;
    *b = i;
    for (; i < len; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '[')
            depth++;
        else if (s[i] == ']')
            depth--;
        else if (s[i] == ',' && depth == 0)
            break;
    }
    *e = i < len ? i : len;
    *pos = *e + 1;
    return 1;
}

static int
fd_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!isspace((unsigned char)s[i]))
            return 0;
    return 1;
}

/* ---- members ---- */

/* keys, joined as one comma list s[0..len) (fd_list_text). */
static int
fd_parse_keys(sfa_flowdef *fd, const char *s, size_t len)
{
    fd_comp *c = &fd->comp;
    size_t pos = 0, b, e;

    if (fd_blank(s, len))
        return 0;
    fd->keys = sfa__fd_alloc(c, sizeof *fd->keys * FD_MAX_KEYS);
    fd->ktext = sfa__fd_alloc(c, sizeof *fd->ktext * FD_MAX_KEYS);
    fd->ktextlen = sfa__fd_alloc(c, sizeof *fd->ktextlen * FD_MAX_KEYS);
    while (fd_list_next(s, len, &pos, &b, &e)) {
        if (fd->nkeys == FD_MAX_KEYS)
            return sfa__fd_error(c, "keys: too many keys (max %d)", FD_MAX_KEYS);
        if (fd_blank(s + b, e - b))
            return sfa__fd_error(c, "keys: empty key in '%.80s'", s);
        fd_trim(s, &b, &e);
        fd->ktext[fd->nkeys] = s + b;
        fd->ktextlen[fd->nkeys] = (uint32_t)(e - b);
        fd->keys[fd->nkeys] = sfa__fk_parse(c, s + b, e - b, 0);
        if (!fd->keys[fd->nkeys])
            return SFA_EFORMAT;
        fd->nkeys++;
    }
    return 0;
}

static int
fd_add_value(sfa_flowdef *fd, const char *s, size_t len)
{
    if (fd->nvalues == SFA_FLOWDEF_MAX_VALUES)
        return sfa__fd_error(&fd->comp, "too many values (max %d)", SFA_FLOWDEF_MAX_VALUES);
    if (sfa__fk_parse_value(&fd->comp, s, len, &fd->vkind[fd->nvalues], &fd->vnode[fd->nvalues]))
        return SFA_EFORMAT;
    fd->nvalues++;
    return 0;
}

static int
fd_parse_values(sfa_flowdef *fd, const json_t *value, const json_t *values)
{
    fd_comp *c = &fd->comp;
    const char *s;
    char *list;
    size_t len, pos = 0, b, e;

    if (!value || json_is_null(value))
        return sfa__fd_error(c, "value is required");
    if (fd_string(c, value, "value", &s, &len))
        return SFA_EFORMAT;
    if (fd_list_next(s, len, &pos, &b, &e) && e < len)
        return sfa__fd_error(c, "value must be a single value (use values for more): '%.80s'", s);
    if (fd_add_value(fd, s, len))
        return SFA_EFORMAT;
    if (!values || json_is_null(values))
        return 0;
    if (fd_list_text(c, values, "values", &list, &len))
        return SFA_EFORMAT;
    pos = 0;
    while (!fd_blank(list, len) && fd_list_next(list, len, &pos, &b, &e)) {
        if (fd_blank(list + b, e - b))
            return sfa__fd_error(c, "values: empty value in '%.80s'", list);
        if (fd_add_value(fd, list + b, e - b))
            return SFA_EFORMAT;
    }
    return 0;
}

static int
fd_parse_filter(sfa_flowdef *fd, const json_t *v)
{
    const char *s;
    size_t len;

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return sfa__fd_error(&fd->comp, "filter must be a string or null");
    if (fd_string(&fd->comp, v, "filter", &s, &len))
        return SFA_EFORMAT;
    if (fd_blank(s, len))
        return 0;
    fd->filter = sfa__ff_parse(&fd->comp, s, len);
    return fd->filter ? 0 : SFA_EFORMAT;
}

static int
fd_parse_scalars(sfa_flowdef *fd, const json_t *spec)
{
    fd_comp *c = &fd->comp;
    const json_t *v;
    const char *s;
    size_t len;
    double d;

    if ((v = json_object_get(spec, "n")) && !json_is_null(v)) {
        if (fd_number(c, v, "n", &d))
            return SFA_EFORMAT;
        fd->n = (int)lround(fd_clamp(d, 1, 100));
    }
    if ((v = json_object_get(spec, "t")) && !json_is_null(v)) {
        if (fd_number(c, v, "t", &d))
            return SFA_EFORMAT;
        fd->t = fd_clamp(d, 0.1, 600);
    }
    if ((v = json_object_get(spec, "activeTimeout")) && !json_is_null(v)) {
        if (fd_number(c, v, "activeTimeout", &d))
            return SFA_EFORMAT;
        fd->active_timeout = (int)lround(fd_clamp(d, 1, 86400));
    }
    if ((v = json_object_get(spec, "fs")) && !json_is_null(v)) {
        if (fd_string(c, v, "fs", &s, &len))
            return SFA_EFORMAT;
        if (len == 0 || len > FD_FS_MAX)
            return sfa__fd_error(c, "fs must be a non-empty string of at most %d bytes", FD_FS_MAX);
        fd->fs = sfa__fd_strndup(c, s, len);
        fd->fslen = len;
    }
    if ((v = json_object_get(spec, "log")) && !json_is_null(v) && fd_bool(c, v, "log", &fd->log))
        return SFA_EFORMAT;
    if ((v = json_object_get(spec, "flowStart")) && !json_is_null(v) &&
        fd_bool(c, v, "flowStart", &fd->flow_start))
        return SFA_EFORMAT;
    if ((v = json_object_get(spec, "dropped")) && !json_is_null(v) &&
        fd_bool(c, v, "dropped", &fd->dropped))
        return SFA_EFORMAT;
    return 0;
}

/* Members sfa accepts and echoes without acting on them. */
static int
fd_parse_passthrough(sfa_flowdef *fd, const json_t *spec)
{
    fd_comp *c = &fd->comp;
    const json_t *v, *e;
    size_t i;

    if ((v = json_object_get(spec, "ipfixCollectors")) && !json_is_null(v)) {
        if (!json_is_string(v) && !json_is_array(v))
            return sfa__fd_error(c, "ipfixCollectors must be a string or an array of strings");
        json_array_foreach(v, i, e)
        {
            if (!json_is_string(e))
                return sfa__fd_error(c, "ipfixCollectors must be a string or an array of strings");
        }
    }
    if ((v = json_object_get(spec, "aggMode")) && !json_is_null(v) && !json_is_string(v))
        return sfa__fd_error(c, "aggMode must be a string");
    return 0;
}

static json_t *
fd_echo_number(double d)
{
    if (d == floor(d) && fabs(d) < 1e15)
        return json_integer((json_int_t)d);
    return json_real(d);
}

/* The canonical form GET /flow/{name}/json returns. */
static json_t *
fd_echo(const sfa_flowdef *fd, const json_t *spec, const char *keys)
{
    json_t *o = json_object(), *v;

    json_object_set_new(o, "keys", json_string(keys));
    json_object_set(o, "value", json_object_get(spec, "value"));
    if ((v = json_object_get(spec, "values")) && !json_is_null(v))
        json_object_set_new(o, "values", json_deep_copy(v));
    if (fd->filter)
        json_object_set(o, "filter", json_object_get(spec, "filter"));
    json_object_set_new(o, "n", json_integer(fd->n));
    json_object_set_new(o, "t", fd_echo_number(fd->t));
    json_object_set_new(o, "fs", json_stringn(fd->fs, fd->fslen));
    json_object_set_new(o, "log", json_boolean(fd->log));
    json_object_set_new(o, "flowStart", json_boolean(fd->flow_start));
    json_object_set_new(o, "activeTimeout", json_integer(fd->active_timeout));
    json_object_set_new(o, "dropped", json_boolean(fd->dropped));
    if ((v = json_object_get(spec, "ipfixCollectors")) && !json_is_null(v))
        json_object_set_new(o, "ipfixCollectors", json_deep_copy(v));
    if ((v = json_object_get(spec, "aggMode")) && !json_is_null(v))
        json_object_set(o, "aggMode", v);
    return o;
}

/* ---- public API ---- */

static sfa_flowdef *
fd_new(char *err, size_t errcap)
{
    sfa_flowdef *fd = sfa_xcalloc(1, sizeof *fd);

    for (unsigned i = 0; i < SFA_F__COUNT; i++)
        fd->slot_of[i] = -1;
    fd->comp.slot_of = fd->slot_of;
    fd->comp.err = err;
    fd->comp.errcap = errcap;
    fd->n = 5;
    fd->t = 2;
    fd->fs = ",";
    fd->fslen = 1;
    fd->active_timeout = 60;
    return fd;
}

int
sfa_flowdef_compile(const json_t *spec, sfa_flowdef **out, char *err, size_t errcap)
{
    sfa_flowdef *fd = fd_new(err, errcap);
    const json_t *keys;
    char *keytext = NULL;
    size_t keylen;
    int rc;

    if (!json_is_object(spec)) {
        rc = sfa__fd_error(&fd->comp, "flow definition must be a JSON object");
        goto fail;
    }
    keys = json_object_get(spec, "keys");
    rc = fd_parse_values(fd, json_object_get(spec, "value"), json_object_get(spec, "values"));
    if (!rc && keys && !json_is_null(keys))
        rc = fd_list_text(&fd->comp, keys, "keys", &keytext, &keylen);
    if (!rc && keytext)
        rc = fd_parse_keys(fd, keytext, keylen);
    if (!rc)
        rc = fd_parse_filter(fd, json_object_get(spec, "filter"));
    if (!rc)
        rc = fd_parse_scalars(fd, spec);
    if (!rc)
        rc = fd_parse_passthrough(fd, spec);
    if (rc)
        goto fail;
    fd->keys_text = keytext ? keytext : "";
    fd->echo = fd_echo(fd, spec, fd->keys_text);
    fd->comp.err = NULL;
    fd->comp.errcap = 0;
    *out = fd;
    return 0;
fail:
    sfa_flowdef_destroy(fd);
    return SFA_EFORMAT;
}

void
sfa_flowdef_destroy(sfa_flowdef *fd)
{
    if (!fd)
        return;
    sfa__fd_arena_free(&fd->comp);
    json_decref(fd->echo);
    free(fd);
}

json_t *
sfa_flowdef_to_json(const sfa_flowdef *fd)
{
    return json_deep_copy(fd->echo);
}

int
sfa_flowdef_n(const sfa_flowdef *fd)
{
    return fd->n;
}

double
sfa_flowdef_t(const sfa_flowdef *fd)
{
    return fd->t;
}

const char *
sfa_flowdef_fs(const sfa_flowdef *fd)
{
    return fd->fs;
}

int
sfa_flowdef_nvalues(const sfa_flowdef *fd)
{
    return fd->nvalues;
}

int
sfa_flowdef_value_kind(const sfa_flowdef *fd, int i)
{
    return i >= 0 && i < fd->nvalues ? fd->vkind[i] : 0;
}

int
sfa_flowdef_dropped(const sfa_flowdef *fd)
{
    return fd->dropped;
}

int
sfa_flowdef_log(const sfa_flowdef *fd)
{
    return fd->log;
}

int
sfa_flowdef_flow_start(const sfa_flowdef *fd)
{
    return fd->flow_start;
}

int
sfa_flowdef_active_timeout(const sfa_flowdef *fd)
{
    return fd->active_timeout;
}

int
sfa_flowdef_nkeys(const sfa_flowdef *fd)
{
    return fd->nkeys;
}

const char *const *
sfa_flowdef_key_names(void)
{
    return sfa__fk_names();
}

/* ---- evaluation ---- */

/* 53-bit hash of text (FNV-1a, then a 64-bit finalizer), exact in a double. */
static double
fd_hash53(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return (double)(h >> 11);
}

static int
fd_sample_counts(const sfa_flowdef *fd, const sfa_sample *s)
{
    if (s->tag == SFA_SAMPLE_DISCARD)
        return fd->dropped;
    return sfa_sample_is_flow(s) && !fd->dropped;
}

/* Join the rendered keys into key; the length goes to *keylen. */
static int
fd_eval_keys(const sfa_flowdef *fd, fd_ctx *x, char *key, size_t keycap, size_t *keylen)
{
    size_t pos = 0, n;
    fk_val v;

    for (int i = 0; i < fd->nkeys; i++) {
        if (i) {
            if (keycap - pos <= fd->fslen)
                return 0;
            memcpy(key + pos, fd->fs, fd->fslen);
            pos += fd->fslen;
        }
        x->sused = 0;
        if (!sfa__fk_eval(fd->keys[i], x, &v))
            return 0;
        n = sfa__fk_render(&v, key + pos, keycap - pos - 1);
        if (n == (size_t)-1)
            return 0;
        pos += n;
    }
    key[pos] = '\0';
    *keylen = pos;
    return 1;
}

static int
fd_eval_values(const sfa_flowdef *fd, fd_ctx *x, double *vals)
{
    double out[SFA_FLOWDEF_MAX_VALUES], rate = x->s->rate ? x->s->rate : 1;
    const char *s;
    size_t n;
    fk_val v;

    for (int i = 0; i < fd->nvalues; i++) {
        x->sused = 0;
        if (!sfa__fk_eval(fd->vnode[i], x, &v))
            return 0;
        if (fd->vkind[i] == SFA_VALUE_COUNT) {
            s = sfa__fk_text(x, &v, &n);
            if (!s)
                return 0;
            out[i] = fd_hash53(s, n);
        } else if (!sfa__fk_number(&v, &out[i])) {
            return 0;
        } else if (fd->vkind[i] == SFA_VALUE_SUM) {
            out[i] *= rate;
        }
    }
    memcpy(vals, out, sizeof out[0] * (size_t)fd->nvalues);
    return 1;
}

/* The evaluation after the slots are filled. */
static int
fd_eval_ctx(const sfa_flowdef *fd, fd_ctx *x, char *key, size_t keycap, size_t *keylen,
            double *vals)
{
    size_t len;

    if (fd->filter && !sfa__ff_eval(fd->filter, x))
        return 0;
    if (!fd_eval_keys(fd, x, key, keycap, &len) || !fd_eval_values(fd, x, vals))
        return 0;
    *keylen = len;
    return 1;
}

int
sfa_flowdef_eval(const sfa_flowdef *fd, const sfa_dgram *d, const sfa_sample *s,
                 const sfa_tables *tabs, char *key, size_t keycap, size_t *keylen, double *vals)
{
    fd_ctx x;

    if (keycap == 0 || !fd_sample_counts(fd, s))
        return 0;
    x.d = d;
    x.s = s;
    x.tabs = tabs;
    x.kpart = NULL;
    x.kplen = NULL;
    x.sused = 0;
    sfa__fk_fill_slots(fd, &x);
    return fd_eval_ctx(fd, &x, key, keycap, keylen, vals);
}

int
sfa_flowdef_eval_ix(const sfa_flowdef *fd, const sfa_fieldidx *ix, const sfa_tables *tabs,
                    char *key, size_t keycap, size_t *keylen, double *vals)
{
    fd_ctx x;

    if (keycap == 0 || !fd_sample_counts(fd, ix->s))
        return 0;
    x.d = ix->d;
    x.s = ix->s;
    x.tabs = tabs;
    x.kpart = NULL;
    x.kplen = NULL;
    x.sused = 0;
    sfa__fk_fill_slots_ix(fd, ix, &x);
    return fd_eval_ctx(fd, &x, key, keycap, keylen, vals);
}
