/* flowdef.h - sFlow-RT flow definitions: parse, validate, evaluate.
 *
 * A flow definition ({"keys":..., "value":..., "filter":..., "n":..., "t":...})
 * is compiled once into an opaque sfa_flowdef. The gateway compiles to
 * validate (a failure is a 400 with the message); aggregators compile the
 * definitions they receive and evaluate each sample against them. Key
 * names are the field names of fields.def plus the sample metadata keys
 * listed in flowkey.c (agent, inputifindex, outputifindex, bytes, frames,
 * ...). Key functions (or, null, mask, prefix, suffix, first, range, eq,
 * concat, if, group, map) nest with [ ]. Filters: = != ~ !~ & | ( ),
 * comma alternatives, quoted operands, null.
 *
 * Evaluation is pure and allocation-free: it writes into caller buffers.
 * A compiled definition is immutable and may be shared between threads.
 */
#ifndef SFA_FLOWDEF_H
#define SFA_FLOWDEF_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <sfa/err.h>
#include <sfa/sflow.h>

typedef struct sfa_flowdef sfa_flowdef;
typedef struct sfa_tables sfa_tables; /* groups and maps, see groups.h */

/* How a value column accumulates per key (the aggregator applies it). */
enum sfa_value_kind {
    SFA_VALUE_SUM = 1, /* bytes, frames, any numeric key: sum of value x rate, per second */
    SFA_VALUE_COUNT,   /* count:<key>: distinct values of key (eval yields a 64-bit hash) */
    SFA_VALUE_AVG,     /* avg:<key> */
    SFA_VALUE_MIN,     /* min:<key> */
    SFA_VALUE_MAX,     /* max:<key> */
};

#define SFA_FLOWDEF_MAX_VALUES 16 /* value + values */
#define SFA_FLOWDEF_KEY_MAX 1024  /* longest joined key, bytes */

/* Compile spec (borrowed). On success *out is new (sfa_flowdef_destroy).
 * On failure returns SFA_EFORMAT and writes a one-line message into err. */
SFA_MUST_CHECK int sfa_flowdef_compile(const json_t *spec, sfa_flowdef **out, char *err,
                                       size_t errcap);
void sfa_flowdef_destroy(sfa_flowdef *fd);

/* The definition with defaults filled in, as GET /flow/{name}/json returns
 * it. Returns new. */
json_t *sfa_flowdef_to_json(const sfa_flowdef *fd);

int sfa_flowdef_n(const sfa_flowdef *fd);          /* top-n size */
double sfa_flowdef_t(const sfa_flowdef *fd);       /* smoothing time constant, s */
const char *sfa_flowdef_fs(const sfa_flowdef *fd); /* key separator */
int sfa_flowdef_nvalues(const sfa_flowdef *fd);    /* 1 + number of "values" */
int sfa_flowdef_value_kind(const sfa_flowdef *fd, int i);
int sfa_flowdef_dropped(const sfa_flowdef *fd); /* built from discard samples */
int sfa_flowdef_log(const sfa_flowdef *fd);
int sfa_flowdef_flow_start(const sfa_flowdef *fd);     /* flowStart */
int sfa_flowdef_active_timeout(const sfa_flowdef *fd); /* activeTimeout, s */
int sfa_flowdef_nkeys(const sfa_flowdef *fd);          /* 0: one total per data source */

/* Evaluate one sample of d (both borrowed) against fd. tabs may be NULL.
 * Returns 1 when the sample passes the filter and every key has a value:
 * key[0..*keylen) holds the key values joined by fs (NUL-terminated) and
 * vals[0..nvalues) the per-sample contributions already scaled by the
 * sampling rate where the kind is SUM. For SFA_VALUE_COUNT, vals[i] is a
 * 53-bit hash of the key's rendered text, an exact integer in [0, 2^53)
 * (recover it with (uint64_t)vals[i]). Returns 0 when the sample does not
 * count for this flow (key may be overwritten; *keylen and vals are not). */
int sfa_flowdef_eval(const sfa_flowdef *fd, const sfa_dgram *d, const sfa_sample *s,
                     const sfa_tables *tabs, char *key, size_t keycap, size_t *keylen,
                     double *vals);

/* A sample's fields by field id, for evaluating many definitions on one
 * sample: sfa_fieldidx_build indexes the fields once (one pass over them)
 * and sfa_flowdef_eval_ix then finds each definition's fields by lookup
 * instead of a pass of its own. The index borrows d and s until the next
 * build; it is about 5 KB, so keep one (zeroed before its first build) and
 * reuse it. Not thread-safe: one index per thread. */
typedef struct sfa_fieldidx {
    const sfa_dgram *d;
    const sfa_sample *s;
    uint32_t gen;               /* build number; entries of older builds are stale */
    uint64_t ent[SFA_F__COUNT]; /* gen << 32 | position in d->fields */
} sfa_fieldidx;

/* Index the fields of s (d and s borrowed). With seen (may be NULL,
 * SFA_F__COUNT entries), also set seen[id] = now for each field id the
 * sample has, in the same pass (when each key was last seen). */
void sfa_fieldidx_build(sfa_fieldidx *ix, const sfa_dgram *d, const sfa_sample *s, double *seen,
                        double now);

/* sfa_flowdef_eval on the sample of the last sfa_fieldidx_build (ix
 * borrowed): the same result, faster when many definitions share ix. */
int sfa_flowdef_eval_ix(const sfa_flowdef *fd, const sfa_fieldidx *ix, const sfa_tables *tabs,
                        char *key, size_t keycap, size_t *keylen, double *vals);

/* The names of every key the evaluator knows (for /flowkeys/json);
 * NULL-terminated static array. */
const char *const *sfa_flowdef_key_names(void);

#endif
