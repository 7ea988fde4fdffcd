/* flowkey_parse.c - compile flow key expressions and value specs.
 *
 * A key expression is a key name, or name:arg:arg... where an argument is
 * a literal or a nested expression in [ ]. Splitting happens on ':' at
 * bracket depth 0; '\' escapes the next character (so "\:" is a literal
 * colon and "\[" a literal bracket). Which arguments are keys and which
 * are literals depends on the function (flowkey.c documents each).
 * Names resolve to field ids and slots here, once, so evaluation does no
 * name lookups. Errors are one line naming the offending text:
 * "unknown key: x", "function not supported: country", ...
 *
 * Compile time only (not a hot path): the token list uses malloc; nodes
 * come from the definition's arena. Single-threaded per definition.
 */
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/mem.h>

#include "flowdef_int.h"

static const struct fk_meta_def {
    const char *name;
    int meta;
    int field;   /* field the key reads, or -1 */
    int numeric; /* usable as a value */
} fk_metas[] = {
    {"agent", M_AGENT, -1, 0},
    {"datasource", M_DATASOURCE, -1, 0},
    {"inputifindex", M_INPUTIFINDEX, -1, 0},
    {"outputifindex", M_OUTPUTIFINDEX, -1, 0},
    {"direction", M_DIRECTION, -1, 0},
    {"samplingrate", M_SAMPLINGRATE, -1, 1},
    {"bytes", M_BYTES, SFA_F_FRAME_LENGTH, 1},
    {"frames", M_FRAMES, -1, 1},
    {"reason", M_REASON, -1, 0},
    {"ipdscpname", M_IPDSCPNAME, SFA_F_IPDSCP, 0},
    {"ip6dscpname", M_IP6DSCPNAME, SFA_F_IP6DSCP, 0},
};
#define FK_NMETA (sizeof fk_metas / sizeof fk_metas[0])

static const struct fk_func {
    const char *name;
    int op;
    int min, max; /* arguments after the name */
} fk_funcs[] = {
    {"or", FK_OR, 1, FD_MAX_ARGS},
    {"null", FK_NULL, 1, 2},
    {"mask", FK_MASK, 2, 3},
    {"prefix", FK_PREFIX, 2, 3},
    {"suffix", FK_SUFFIX, 2, 3},
    {"first", FK_FIRST, 3, FD_MAX_ARGS},
    {"range", FK_RANGE, 2, 3},
    {"eq", FK_EQ, 2, 2},
    {"concat", FK_CONCAT, 2, FD_MAX_CONCAT + 1},
    {"if", FK_IF, 4, 4},
    {"group", FK_GROUP, 2, FD_MAX_ARGS},
    {"map", FK_MAP, 2, 2},
};

/* Functions of sFlow-RT that need databases (geo, ASN, OUI, host
 * inventory, topology, URL parsing) sfa does not provide. */
static const char *const fk_unsupported[] = {"country", "asn", "oui", "host", "link", "uri"};

#define FK_SHOW 80 /* longest excerpt of the input quoted in an error */

/* ---- vocabulary ---- */

static const char *fk_names[FK_NMETA + SFA_F__COUNT + 1];
static pthread_once_t fk_names_once = PTHREAD_ONCE_INIT;

static void
fk_names_init(void)
{
    size_t n = 0;

    for (size_t i = 0; i < FK_NMETA; i++)
        fk_names[n++] = fk_metas[i].name;
    for (unsigned id = 0; id < SFA_F__COUNT; id++)
        fk_names[n++] = sfa_field_name(id);
    fk_names[n] = NULL;
}

const char *const *
sfa__fk_names(void)
{
    pthread_once(&fk_names_once, fk_names_init);
    return fk_names;
}

/* ---- tokens ---- */

typedef struct fk_tok {
    const char *s; /* raw token, brackets included */
    size_t n;
    int br; /* the whole token is one [ ... ] group */
} fk_tok;

static int
fk_show(size_t len)
{
    return (int)(len < FK_SHOW ? len : FK_SHOW);
}

/* Close the token s[b..e) into the list; checks bracket placement. */
static int
fk_tok_add(fd_comp *c, const char *s, size_t b, size_t e, int nbr, fk_tok *toks, int *nt)
{
    fk_tok *t;

    if (*nt > FD_MAX_ARGS)
        return sfa__fd_error(c, "too many arguments in '%.*s'", FK_SHOW, s);
    t = &toks[(*nt)++];
    t->s = s + b;
    t->n = e - b;
    t->br = 0;
    if (nbr == 0)
        return 0;
    /* A token with brackets must be exactly one [ ... ] group. */
    if (nbr == 1 && t->n >= 2 && t->s[0] == '[' && t->s[t->n - 1] == ']') {
        t->br = 1;
        return 0;
    }
    return sfa__fd_error(c, "misplaced [ ] in '%.*s'", fk_show(t->n), t->s);
}

/* Split s[0..len) on ':' at bracket depth 0 into toks (FD_MAX_ARGS + 1). */
static int
fk_split(fd_comp *c, const char *s, size_t len, fk_tok *toks, int *nt)
{
    int depth = 0, nbr = 0, rc;
    size_t b = 0;

    *nt = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (ch == '\\') {
            i++;
        } else if (ch == '[') {
            if (depth++ == 0)
                nbr++;
        } else if (ch == ']') {
            if (--depth < 0)
                break;
        } else if (ch == ':' && depth == 0) {
            rc = fk_tok_add(c, s, b, i, nbr, toks, nt);
            if (rc)
                return rc;
            b = i + 1;
            nbr = 0;
        }
    }
    if (depth != 0)
        return sfa__fd_error(c, "unbalanced [ ] in '%.*s'", fk_show(len), s);
    return fk_tok_add(c, s, b, len, nbr, toks, nt);
}

/* Literal text of a token, escapes removed, NUL-terminated, in the arena. */
static char *
fk_literal(fd_comp *c, const fk_tok *t, uint32_t *lenp)
{
    char *out = sfa__fd_alloc(c, t->n + 1);
    size_t n = 0;

    for (size_t i = 0; i < t->n; i++) {
        if (t->s[i] == '\\' && i + 1 < t->n)
            i++;
        out[n++] = t->s[i];
    }
    out[n] = '\0';
    *lenp = (uint32_t)n;
    return out;
}

/* ---- leaves ---- */

static void
fk_leaf_render(fk_node *n, unsigned fid)
{
    switch (fid) {
    case SFA_F_TCPFLAGS:
        n->render = FV_BITS, n->nbits = 9;
        break;
    case SFA_F_IPFLAGS:
        n->render = FV_BITS, n->nbits = 3;
        break;
    case SFA_F_IPECN:
    case SFA_F_IP6ECN:
        n->render = FV_BITS, n->nbits = 2;
        break;
    case SFA_F_IP6FRAGM:
        n->render = FV_YESNO;
        break;
    case SFA_F_UUID:
        n->render = FV_UUID;
        break;
    default:
        break;
    }
}

static fk_node *
fk_leaf(fd_comp *c, const char *s, size_t len)
{
    fk_node *n;
    int fid, type;

    if (c->keyref) {
        /* A query filter reads the flow's keys, and this is none of them
         * (sfa__fk_parse matched whole keys first). */
        sfa__fd_error(c, "filter: '%.*s' is not a key of this flow (keys: %.200s)", fk_show(len), s,
                      sfa__flowdef_keys_text(c->keyref));
        return NULL;
    }
    for (size_t i = 0; i < FK_NMETA; i++) {
        if (strlen(fk_metas[i].name) != len || memcmp(fk_metas[i].name, s, len) != 0)
            continue;
        n = sfa__fd_alloc(c, sizeof *n);
        n->op = FK_META;
        n->meta = fk_metas[i].meta;
        n->numeric = (uint8_t)fk_metas[i].numeric;
        n->slot = -1;
        if (fk_metas[i].field >= 0) {
            n->slot = (int16_t)sfa__fd_slot(c, (unsigned)fk_metas[i].field);
            if (n->slot < 0)
                goto toomany;
        }
        return n;
    }
    fid = sfa_field_lookup(s, len);
    if (fid < 0 || len == 0) {
        if (len == 0)
            sfa__fd_error(c, "empty key");
        else
            sfa__fd_error(c, "unknown key: %.*s", fk_show(len), s);
        return NULL;
    }
    n = sfa__fd_alloc(c, sizeof *n);
    n->op = FK_FIELD;
    n->slot = (int16_t)sfa__fd_slot(c, (unsigned)fid);
    if (n->slot < 0)
        goto toomany;
    type = sfa_field_type((unsigned)fid);
    n->numeric = type == SFA_T_U || type == SFA_T_I || type == SFA_T_F || type == SFA_T_BOOL;
    fk_leaf_render(n, (unsigned)fid);
    return n;
toomany:
    sfa__fd_error(c, "too many distinct keys (max %d)", FD_MAX_SLOTS);
    return NULL;
}

/* ---- functions ---- */

/* Is argument i (0-based, after the name) of op a key (else a literal)? */
static int
fk_arg_is_key(int op, int i)
{
    switch (op) {
    case FK_OR:
    case FK_EQ:
        return 1;
    case FK_CONCAT:
        return i > 0;
    case FK_IF:
        return i != 1;
    default:
        return i == 0;
    }
}

static int
fk_parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;

    if (!*s || isspace((unsigned char)*s))
        return 0;
    v = strtol(s, &end, 10);
    if (*end || v < lo || v > hi)
        return 0;
    *out = v;
    return 1;
}

static int
fk_parse_double(const char *s, double *out)
{
    char *end;
    double v;

    if (!*s || isspace((unsigned char)*s))
        return 0;
    v = strtod(s, &end);
    if (*end || isnan(v))
        return 0;
    *out = v;
    return 1;
}

/* Op-specific checks and defaults for the literal arguments. */
static int
fk_func_finish(fd_comp *c, fk_node *n, const char *fname)
{
    long v = 1;

    switch (n->op) {
    case FK_NULL:
        if (n->nlits == 0) {
            n->lits = sfa__fd_alloc(c, sizeof *n->lits);
            n->litlen = sfa__fd_alloc(c, sizeof *n->litlen);
            n->lits[0] = sfa__fd_strndup(c, "null", 4);
            n->litlen[0] = 4;
            n->nlits = 1;
        }
        return 0;
    case FK_MASK:
        if (!fk_parse_long(n->lits[0], 0, 128, &v))
            return sfa__fd_error(c, "mask: bits must be 0-128: '%s'", n->lits[0]);
        n->bits4 = n->bits6 = (int)v;
        if (n->nlits > 1 && !fk_parse_long(n->lits[1], 0, 128, &v))
            return sfa__fd_error(c, "mask: bits must be 0-128: '%s'", n->lits[1]);
        n->bits6 = (int)v;
        return 0;
    case FK_PREFIX:
    case FK_SUFFIX:
    case FK_FIRST:
        if (n->litlen[0] == 0)
            return sfa__fd_error(c, "%s: empty delimiter", fname);
        if (n->op != FK_FIRST && n->nlits > 1 && !fk_parse_long(n->lits[1], 1, 255, &v))
            return sfa__fd_error(c, "%s: count must be 1-255: '%s'", fname, n->lits[1]);
        n->count = v;
        return 0;
    case FK_RANGE:
        n->hi = INFINITY;
        if (!fk_parse_double(n->lits[0], &n->lo))
            return sfa__fd_error(c, "range: not a number: '%s'", n->lits[0]);
        if (n->nlits > 1 && !fk_parse_double(n->lits[1], &n->hi))
            return sfa__fd_error(c, "range: not a number: '%s'", n->lits[1]);
        return 0;
    case FK_GROUP:
    case FK_MAP:
        n->lithash = sfa__fd_alloc(c, sizeof *n->lithash * (size_t)n->nlits);
        for (int i = 0; i < n->nlits; i++) {
            if (n->litlen[i] == 0)
                return sfa__fd_error(c, "%s: empty name", fname);
            n->lithash[i] = sfa__fd_strhash(n->lits[i], n->litlen[i]);
        }
        return 0;
    default:
        return 0;
    }
}

static const struct fk_func *
fk_func_lookup(fd_comp *c, const fk_tok *t)
{
    for (size_t i = 0; i < sizeof fk_funcs / sizeof fk_funcs[0]; i++)
        if (strlen(fk_funcs[i].name) == t->n && memcmp(fk_funcs[i].name, t->s, t->n) == 0)
            return &fk_funcs[i];
    for (size_t i = 0; i < sizeof fk_unsupported / sizeof fk_unsupported[0]; i++) {
        if (strlen(fk_unsupported[i]) == t->n && memcmp(fk_unsupported[i], t->s, t->n) == 0) {
            sfa__fd_error(c, "function not supported: %s", fk_unsupported[i]);
            return NULL;
        }
    }
    sfa__fd_error(c, "unknown function: %.*s", fk_show(t->n), t->s);
    return NULL;
}

static fk_node *
fk_func(fd_comp *c, const char *s, size_t len, const fk_tok *toks, int nt, int depth)
{
    const struct fk_func *fn = fk_func_lookup(c, &toks[0]);
    int nargs = nt - 1, nk = 0, nl = 0;
    fk_node *n;

    if (!fn)
        return NULL;
    if (nargs < fn->min || nargs > fn->max) {
        sfa__fd_error(c, "wrong number of arguments for %s: '%.*s'", fn->name, fk_show(len), s);
        return NULL;
    }
    n = sfa__fd_alloc(c, sizeof *n);
    n->op = (uint8_t)fn->op;
    n->slot = -1;
    for (int i = 0; i < nargs; i++)
        fk_arg_is_key(fn->op, i) ? nk++ : nl++;
    n->args = sfa__fd_alloc(c, sizeof *n->args * (size_t)(nk ? nk : 1));
    n->lits = sfa__fd_alloc(c, sizeof *n->lits * (size_t)(nl ? nl : 1));
    n->litlen = sfa__fd_alloc(c, sizeof *n->litlen * (size_t)(nl ? nl : 1));
    for (int i = 0; i < nargs; i++) {
        const fk_tok *t = &toks[i + 1];
        if (fk_arg_is_key(fn->op, i)) {
            fk_node *k = sfa__fk_parse(c, t->s, t->n, depth + 1);
            if (!k)
                return NULL;
            n->args[n->nargs++] = k;
        } else {
            n->lits[n->nlits] = fk_literal(c, t, &n->litlen[n->nlits]);
            n->nlits++;
        }
    }
    return fk_func_finish(c, n, fn->name) ? NULL : n;
}

fk_node *
sfa__fk_parse(fd_comp *c, const char *s, size_t len, int depth)
{
    fk_tok *toks;
    fk_node *n = NULL;
    int nt;

    if (depth > FD_MAX_DEPTH) {
        sfa__fd_error(c, "key nested too deeply (max %d)", FD_MAX_DEPTH);
        return NULL;
    }
    while (len && isspace((unsigned char)*s))
        s++, len--;
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    if (c->keyref && (nt = sfa__flowdef_key_index(c->keyref, s, len)) >= 0) {
        n = sfa__fd_alloc(c, sizeof *n);
        n->op = FK_KEYREF;
        n->meta = nt;
        n->slot = -1;
        return n;
    }
    toks = sfa_xmalloc(sizeof *toks * (FD_MAX_ARGS + 1));
    if (fk_split(c, s, len, toks, &nt))
        goto out;
    if (nt == 1 && toks[0].br)
        n = sfa__fk_parse(c, toks[0].s + 1, toks[0].n - 2, depth + 1);
    else if (toks[0].br)
        sfa__fd_error(c, "function name expected in '%.*s'", fk_show(len), s);
    else if (nt == 1)
        n = fk_leaf(c, s, len);
    else
        n = fk_func(c, s, len, toks, nt, depth);
out:
    free(toks);
    return n;
}

static int
fk_is(const char *s, size_t len, const char *word)
{
    return strlen(word) == len && memcmp(s, word, len) == 0;
}

int
sfa__fk_parse_value(fd_comp *c, const char *s, size_t len, int *kind, fk_node **node)
{
    static const struct {
        const char *prefix;
        int kind;
    } fns[] = {
        {"count:", SFA_VALUE_COUNT}, {"avg:", SFA_VALUE_AVG},  {"min:", SFA_VALUE_MIN},
        {"max:", SFA_VALUE_MAX},     {"rate:", SFA_VALUE_SUM},
    };
    const char *all = s;
    size_t alllen;
    fk_node *n;
    int k = SFA_VALUE_SUM;

    while (len && isspace((unsigned char)*s))
        s++, len--;
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    all = s;
    alllen = len;
    if (len == 0)
        return sfa__fd_error(c, "value is empty");
    if (fk_is(s, len, "bps") || fk_is(s, len, "Bps") || fk_is(s, len, "fps"))
        return sfa__fd_error(c, "unknown value: %.*s (use bytes or frames)", (int)len, s);
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        size_t pl = strlen(fns[i].prefix);
        if (len > pl && memcmp(s, fns[i].prefix, pl) == 0) {
            k = fns[i].kind;
            s += pl;
            len -= pl;
            break;
        }
    }
    n = sfa__fk_parse(c, s, len, 0);
    if (!n)
        return SFA_EFORMAT;
    if (k != SFA_VALUE_COUNT && !n->numeric)
        return sfa__fd_error(c, "value is not numeric: %.*s", fk_show(alllen), all);
    *kind = k;
    *node = n;
    return 0;
}
