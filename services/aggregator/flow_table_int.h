/* flow_table_int.h - the layout of a flow table, shared by flow_table.c
 * (updates, eviction, expiry) and flow_table_read.c (reading values and
 * memory accounting). Private to the aggregator's flow tables; see
 * flow_table.c for what the fields mean. Loop thread only.
 */
#ifndef AGG_FLOW_TABLE_INT_H
#define AGG_FLOW_TABLE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "agg.h"

#define FT_CHUNK_SHIFT 10
#define FT_CHUNK (1u << FT_CHUNK_SHIFT)
#define FT_MIN_SLOTS 1024u
#define FT_KEY_CLASSES 7 /* 16, 32, ..., 1024 bytes */
#define FT_KEY_MIN 16
#define FT_SLAB_BYTES (64 * 1024)
#define FT_EVICT_FRACTION 32
#define FT_INLINE 40       /* keys up to 39 bytes live inside the entry */
#define FT_KEY_INLINE 0xff /* keycls of an inline key */
#define FT_TOP 1           /* flags: in its source's top n */
#define FT_USED 2          /* flags: a live entry */

typedef union ft_col {
    struct {
        double a, b;
    } d;
    struct {
        uint64_t cur, prev;
    } m;
} ft_col;

typedef struct ft_entry {
    uint32_t hash;
    uint32_t ds; /* data source; next free entry while free */
    uint16_t keylen;
    uint8_t keycls; /* key slab size class, or FT_KEY_INLINE */
    uint8_t flags;  /* FT_USED, FT_TOP */
    uint32_t _pad;
    double last; /* time of the last update */
    double rank; /* forward-decayed ranking sum */
    union {
        char *ptr;           /* keylen bytes + NUL in the key slab */
        char inl[FT_INLINE]; /* or here */
    } key;
    ft_col col[]; /* nvalues */
} ft_entry;

typedef struct ft_dsstate {
    double total; /* forward-decayed sum of the rank contributions of every key */
    double last;  /* time of the last sample */
    uint32_t nkeys;
    uint16_t ntop, minpos;
    uint32_t top[]; /* entry indexes, n of them */
} ft_dsstate;

typedef struct ft_slab {
    struct ft_slab *next;
    size_t used;
    _Alignas(16) char data[FT_SLAB_BYTES];
} ft_slab;

struct agg_table {
    agg_window win;
    int n; /* top-n size */
    int nvalues;
    int kind[SFA_FLOWDEF_MAX_VALUES];
    int rank_is_value; /* column 0 is SUM */
    int has_epochs;    /* some column is MIN, MAX or COUNT */
    size_t esize;      /* bytes per entry */
    size_t maxkeys;
    /* entries */
    char **chunks;
    uint32_t nchunks;
    uint32_t limit;     /* entry indexes given: 0..limit-1 */
    uint32_t free_head; /* index + 1 of the first free entry */
    /* index */
    uint64_t *slots; /* hash << 32 | (index + 1); 0 empty */
    uint32_t mask;
    /* key slab */
    ft_slab *slabs[FT_KEY_CLASSES];
    char *key_free[FT_KEY_CLASSES];
    size_t slab_count;
    /* per data source */
    ft_dsstate **dss;
    uint32_t ndss;
    size_t dss_bytes;
    agg_table_stats st;
};

static inline ft_entry *
ft_at(const agg_table *t, uint32_t idx)
{
    return (ft_entry *)(t->chunks[idx >> FT_CHUNK_SHIFT] +
                        (size_t)(idx & (FT_CHUNK - 1)) * t->esize);
}

static inline const char *
ft_key(const ft_entry *e)
{
    return e->keycls == FT_KEY_INLINE ? e->key.inl : e->key.ptr;
}

#endif
