/* flowdef_int.h - declarations shared by flowdef.c, flowkey.c, flowfilter.c
 * and groups.c (private to libsfa).
 *
 * A flow definition compiles into a tree of nodes allocated from one arena
 * owned by the definition, so a failed compile and sfa_flowdef_destroy both
 * release everything at once. Field names are resolved to field ids at
 * compile time; each distinct field the definition reads gets a "slot", and
 * evaluation fills the slots with one pass over the sample's fields. Key
 * and filter evaluation never allocate: text produced by key functions goes
 * into a scratch area on the evaluator's stack.
 */
#ifndef SFA_FLOWDEF_INT_H
#define SFA_FLOWDEF_INT_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>

#include <sfa/flowdef.h>
#include <sfa/groups.h>
#include <sfa/sflow.h>

#define FD_MAX_DEPTH 32   /* nesting of [ ] and ( ), each */
#define FD_MAX_SLOTS 64   /* distinct sample fields one definition reads */
#define FD_MAX_KEYS 64    /* entries in "keys" */
#define FD_MAX_TEXT 16384 /* longest keys / value / filter string accepted */
#define FD_MAX_CMPS 1024  /* comparisons in one filter */
#define FD_MAX_ARGS 256   /* arguments of one key function */
#define FD_MAX_CONCAT 32  /* keys joined by one concat */
#define FD_SCRATCH 4096   /* per-evaluation text scratch, bytes */

/* ---- compile-time arena ---- */

typedef struct fd_block fd_block;

typedef struct fd_comp {
    fd_block *blocks;  /* arena: every node and string of a definition */
    regex_t **regexes; /* compiled regexes to regfree at destroy */
    int nregex, capregex;
    int16_t *slot_of; /* [SFA_F__COUNT]: slot of a field id, or -1 */
    uint16_t slot_fid[FD_MAX_SLOTS];
    int nslots;
    int ncmps; /* comparisons so far (filter cap) */
    /* Query filters (flowquery.c): every key named must be one of this
     * definition's keys, and becomes an FK_KEYREF to it. NULL otherwise. */
    const sfa_flowdef *keyref;
    char *err;
    size_t errcap;
} fd_comp;

void *sfa__fd_alloc(fd_comp *c, size_t n); /* zeroed; aborts on OOM */
char *sfa__fd_strndup(fd_comp *c, const char *s, size_t n);
void sfa__fd_arena_free(fd_comp *c); /* frees blocks and regexes */
/* Format an error into c->err; always returns SFA_EFORMAT. */
int sfa__fd_error(fd_comp *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Slot for field id fid (allocated on first use), or -1 when out of slots. */
int sfa__fd_slot(fd_comp *c, unsigned fid);

/* ---- values produced while evaluating keys ---- */

enum fk_kind {
    FV_U = 1,  /* v.u decimal */
    FV_I,      /* v.i decimal */
    FV_F,      /* v.d */
    FV_BOOL,   /* v.u: "true" / "false" */
    FV_YESNO,  /* v.u: "yes" / "no" */
    FV_BITS,   /* v.u rendered as nbits characters of 0/1, most significant first */
    FV_IP4,    /* v.a[0..3] */
    FV_IP6,    /* v.a[0..15] */
    FV_MAC,    /* v.a[0..5]: 12 upper-case hex digits */
    FV_STR,    /* v.p, n bytes of text */
    FV_HEX,    /* v.p, n bytes rendered as upper-case hex */
    FV_UUID,   /* v.p, 16 bytes rendered 8-4-4-4-12 lower-case */
    FV_COMM,   /* v.p, n big-endian words: "hi:lo" joined by '-' */
    FV_ASPATH, /* v.p, n XDR as_path segments: ASNs joined by '-' */
    FV_COUNTN, /* n rendered in decimal (structures with no text form) */
    FV_DS,     /* v.u = class << 32 | index: "index" or "class.index" */
    FV_IFX,    /* v.u = format << 32 | value: sFlow interface encoding */
    FV_DSCP,   /* v.u: DSCP name "ef(46)", or decimal */
    FV_REASON, /* v.u: drop reason name, or decimal */
};

typedef struct fk_val {
    uint8_t kind;  /* enum fk_kind */
    uint8_t nbits; /* FV_BITS */
    uint32_t n;
    union {
        uint64_t u;
        int64_t i;
        double d;
        uint8_t a[16];
        const uint8_t *p;
    } v;
} fk_val;

/* ---- compiled key expressions ---- */

enum fk_op {
    FK_FIELD = 1, /* a field of the sample, through its slot */
    FK_META,      /* sample metadata (agent, inputifindex, ...) */
    FK_OR,
    FK_NULL,
    FK_MASK,
    FK_PREFIX,
    FK_SUFFIX,
    FK_FIRST,
    FK_RANGE,
    FK_EQ,
    FK_CONCAT,
    FK_IF,
    FK_GROUP,
    FK_MAP,
    FK_KEYREF, /* query filters: key number meta of the flow's key (fd_ctx.kpart) */
};

/* Sample metadata keys (FK_META); names in flowkey_parse.c. */
enum fk_meta {
    M_AGENT = 1,
    M_DATASOURCE,
    M_INPUTIFINDEX,
    M_OUTPUTIFINDEX,
    M_DIRECTION,
    M_SAMPLINGRATE,
    M_BYTES,
    M_FRAMES,
    M_REASON,
    M_IPDSCPNAME,
    M_IP6DSCPNAME,
};

typedef struct fk_node fk_node;
struct fk_node {
    uint8_t op;      /* enum fk_op */
    uint8_t render;  /* FK_FIELD/FK_META: forced enum fk_kind, or 0 for the field's own */
    uint8_t numeric; /* usable as a value (bytes, frames, numeric keys) */
    uint8_t nbits;   /* render FV_BITS: width */
    int16_t slot;    /* FK_FIELD (and META that reads a field): slot, or -1 */
    int meta;        /* FK_META: which */
    int nargs;       /* key arguments */
    fk_node **args;
    int nlits; /* literal arguments */
    char **lits;
    uint32_t *litlen;
    uint32_t *lithash; /* FK_GROUP / FK_MAP: name hashes */
    double lo, hi;     /* FK_RANGE */
    int bits4, bits6;  /* FK_MASK */
    long count;        /* FK_PREFIX / FK_SUFFIX */
};

/* Evaluation context: one per sample, on the evaluator's stack. */
typedef struct fd_ctx {
    const sfa_dgram *d;
    const sfa_sample *s;
    const sfa_tables *tabs;
    const sfa_field *slots[FD_MAX_SLOTS];
    const char *const *kpart; /* FK_KEYREF: the flow key split in its keys, or NULL */
    const uint32_t *kplen;
    size_t sused;
    char scratch[FD_SCRATCH];
} fd_ctx;

/* Parse one key expression s[0..len) (a key name, or function:args with
 * [ ] nesting). Returns the node, or NULL with the error in c. */
fk_node *sfa__fk_parse(fd_comp *c, const char *s, size_t len, int depth);
/* Parse a "value" entry: bytes, frames, a numeric key, or count:, avg:,
 * min:, max:, rate: prefixed. 0 with *kind (enum sfa_value_kind) and *node
 * set, or SFA_EFORMAT with the error in c. */
int sfa__fk_parse_value(fd_comp *c, const char *s, size_t len, int *kind, fk_node **node);

/* Evaluate n; 1 and *out set when present, 0 when absent. */
int sfa__fk_eval(const fk_node *n, fd_ctx *x, fk_val *out);
/* Render v into out[0..cap); returns the length, or (size_t)-1 if it does
 * not fit. Does not NUL-terminate. */
size_t sfa__fk_render(const fk_val *v, char *out, size_t cap);
/* Render v into the context's scratch area; NULL when scratch is full. */
const char *sfa__fk_text(fd_ctx *x, const fk_val *v, size_t *len);
/* Numeric value of v; 0 when v has none. */
int sfa__fk_number(const fk_val *v, double *out);
/* Fill x->slots from the sample's fields. */
void sfa__fk_fill_slots(const sfa_flowdef *fd, fd_ctx *x);
/* The same from an index of the sample's fields (sfa_fieldidx_build). */
void sfa__fk_fill_slots_ix(const sfa_flowdef *fd, const sfa_fieldidx *ix, fd_ctx *x);
/* Name list of every key known (static, NULL-terminated). */
const char *const *sfa__fk_names(void);

/* ---- compiled filters ---- */

typedef struct ff_node ff_node;
/* Parse a filter expression s[0..len); NULL with an error in c. */
ff_node *sfa__ff_parse(fd_comp *c, const char *s, size_t len);
/* 1 if the sample passes. */
int sfa__ff_eval(const ff_node *f, fd_ctx *x);

/* ---- definition internals needed by the evaluator ---- */

const int16_t *sfa__flowdef_slot_of(const sfa_flowdef *fd);
const uint16_t *sfa__flowdef_slot_fid(const sfa_flowdef *fd); /* field id of each slot */
/* Which of fd's keys has the text s[0..len) (spaces around ignored), or -1. */
int sfa__flowdef_key_index(const sfa_flowdef *fd, const char *s, size_t len);
/* fd's keys as written, joined by ", " (for messages). */
const char *sfa__flowdef_keys_text(const sfa_flowdef *fd);
int sfa__flowdef_nslots(const sfa_flowdef *fd);

/* ---- tables ---- */

/* FNV-1a over s[0..n), used for group and map names. */
static inline uint32_t
sfa__fd_strhash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

/* Lookups by precomputed name hash (see sfa_tables_group/map). */
const char *sfa__tables_group_h(const sfa_tables *t, const char *name, uint32_t hash,
                                const sfa_addr *addr);
const char *sfa__tables_map_h(const sfa_tables *t, const char *name, uint32_t hash,
                              const char *value, size_t len);

#endif
