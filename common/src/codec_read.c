/* codec_read.c - reading bus messages back: envelope and datagrams.
 *
 * sfa_codec_parse splits a message into topic and envelope;
 * sfa_codec_each_dgram walks a sample message's body and fills a caller's
 * scratch sfa_dgram per datagram. Both read in place through the bounded
 * msgpack cursor of codec_int.h: no allocation, no copies (strings borrow
 * the message), never a byte past the end, SFA_EFORMAT on anything
 * malformed, because aggregators read these from the network. Field names
 * are looked up in fields.def; names we do not know, keys we do not know
 * and values of an unexpected type are skipped, so publishers may add
 * fields and keys without breaking older readers (proto/SCHEMA.md).
 * Addresses, MACs and list-valued fields are turned from text by
 * codec_text.c.
 *
 * This is every aggregator's per-sample path, so it is written for speed
 * (tests/bench/bench_codec.c, bench_aggregator.c). A collector writes the
 * keys of every sample, and of its "fields", in the same order, so each
 * pair is first tried the quick way: its key is compared (two to four
 * masked words, no loop over characters) with the key found at the same
 * position in the previous sample of the message, and its value is read
 * in the form usual for the key (fixint or uint, fixstr, str8 or bin8, a
 * dotted quad or a MAC parsed a word at a time) with the cursor in a
 * register. Anything else - a new key order, an odd form, the end of the
 * message near - goes the general way: the cursor of codec_int.h, and a
 * field name found by hashing its msgpack bytes into a table built once.
 * Both ways decide the same: the quick one only takes what the general
 * one would take the same way. The name tables are built once
 * (pthread_once) and only read afterwards; the guesses live on the stack
 * of one sfa_codec_each_dgram call. Thread-safe.
 */
#include <pthread.h>
#include <string.h>

#include <sfa/codec.h>

#include "codec_int.h"

/* ---- envelope ---- */

int
sfa_codec_parse(const uint8_t *msg, size_t len, sfa_envelope *env)
{
    const uint8_t *nul = len ? memchr(msg, 0, len) : NULL;
    sfa_envelope e;
    unsigned seen = 0;
    uint64_t v = 0;
    sfa__mp m;
    sfa__mpv map, k, val;

    if (!nul || nul == msg)
        return SFA_EFORMAT;
    for (const uint8_t *p = msg; p < nul; p++) {
        if (*p < 0x21 || *p > 0x7e)
            return SFA_EFORMAT; /* topics are printable ASCII */
    }
    memset(&e, 0, sizeof e);
    e.topic = (const char *)msg;
    e.topic_len = (size_t)(nul - msg);
    sfa__mp_init(&m, nul + 1, len - e.topic_len - 1);
    if (sfa__mp_expect(&m, &map, SFA__MP_MAP))
        return m.err;
    for (uint32_t i = 0; i < map.n; i++) {
        if (sfa__mp_expect(&m, &k, SFA__MP_STR))
            return m.err;
        if (SFA__KEY_IS(&k, "v")) {
            seen |= sfa__mp_uint(&m, UINT32_MAX, &v) ? 0 : 1;
        } else if (SFA__KEY_IS(&k, "src")) {
            if (sfa__mp_expect(&m, &val, SFA__MP_STR) == 0) {
                e.src = (const char *)val.p;
                e.src_len = val.n;
                seen |= 2;
            }
        } else if (SFA__KEY_IS(&k, "seq")) {
            seen |= sfa__mp_uint(&m, UINT64_MAX, &e.seq) ? 0 : 4;
        } else if (SFA__KEY_IS(&k, "ts_ms")) {
            seen |= sfa__mp_uint(&m, UINT64_MAX, &e.ts_ms) ? 0 : 8;
        } else if (SFA__KEY_IS(&k, "body")) {
            e.body = m.p;
            if (i + 1 == map.n && m.p < m.end) {
                /* The last pair (as sfa publishers write it): the body runs
                 * to the end, and its reader checks it, so it is not walked
                 * twice. */
                m.p = m.end;
                seen |= 16;
            } else if (sfa__mp_skip(&m) == 0) {
                seen |= 16;
            }
            e.body_len = (size_t)(m.p - e.body);
        } else {
            sfa__mp_skip(&m);
        }
        if (m.err)
            return m.err;
    }
    if (seen != 31 || sfa__mp_left(&m) != 0)
        return SFA_EFORMAT;
    if (v != 1)
        return SFA_EVERSION;
    e.v = (uint32_t)v;
    *env = e;
    return 0;
}

/* ---- fast value forms ----
 * Inline readers for the forms a collector writes on every sample. Each
 * takes its form only when the whole value is there, and otherwise leaves
 * the cursor alone for the general reader (sfa__mp_read, sfa__mp_skip) to
 * decide, so truncations and odd forms are judged in one place. Callers
 * only use them while the cursor has no error. */

/* Total length of an unsigned integer value by its first byte: 1 for a
 * positive fixint, 2, 3, 5, 9 for uint 8, 16, 32, 64; 0 for other forms. */
static const uint8_t read_uint_len[256] = {
    [0x00 ... 0x7f] = 1, [0xcc] = 2, [0xcd] = 3, [0xce] = 5, [0xcf] = 9,
};

/* How far to shift the big-endian word loaded for it (read_uint_at). */
static const uint8_t read_uint_shift[256] = {
    [0x00 ... 0x7f] = 56, [0xcc] = 56, [0xcd] = 48, [0xce] = 32, [0xcf] = 0,
};

/* The unsigned integer at v whose read_uint_len is not 0, with nine bytes
 * readable at v: one big-endian load and a shift, with no branch on the
 * form (a fixint is the top byte of a load at v, a uint of n bytes the
 * top n bytes of a load at v + 1, and only uints have the top bit). */
static inline uint64_t
read_uint_at(const uint8_t *v)
{
    uint64_t raw;

    memcpy(&raw, v + (*v >> 7), sizeof raw);
    return be64toh(raw) >> read_uint_shift[*v];
}

/* A positive fixint or uint 8/16/32/64: 1 with *out, else 0. */
static inline int
read_fast_uint(sfa__mp *m, uint64_t *out)
{
    const uint8_t *p = m->p;
    unsigned len;

    if ((size_t)(m->end - p) < 9 || !(len = read_uint_len[*p]))
        return 0;
    *out = read_uint_at(p);
    m->p = p + len;
    return 1;
}

/* sfa__mp_expect for a map or an array, with fixmap/fixarray and
 * map16/array16 inline; *n is the count. */
static inline int
read_container(sfa__mp *m, int kind, uint32_t *n)
{
    const uint8_t *p = m->p;
    size_t left = (size_t)(m->end - p), hdr = 1;
    uint32_t count;
    sfa__mpv v;

    if (left >= 3 && (*p & 0xf0) == (kind == SFA__MP_MAP ? 0x80 : 0x90)) {
        count = *p & 0x0f;
    } else if (left >= 3 && *p == (kind == SFA__MP_MAP ? 0xde : 0xdc)) {
        count = (uint32_t)p[1] << 8 | p[2];
        hdr = 3;
    } else {
        goto general;
    }
    /* Every element takes at least one byte (as sfa__mp_container). */
    if ((kind == SFA__MP_MAP ? 2 * (size_t)count : count) > left - hdr)
        goto general;
    m->p = p + hdr;
    *n = count;
    return 0;
general:
    if (sfa__mp_expect(m, &v, kind))
        return m->err;
    *n = v.n;
    return 0;
}

/* sfa__mp_uint with the fast forms first. */
static inline int
read_uint(sfa__mp *m, uint64_t max, uint64_t *out)
{
    uint64_t v;

    if (!read_fast_uint(m, &v))
        return sfa__mp_uint(m, max, out);
    if (v > max)
        return sfa__mp_fail(m, SFA_EFORMAT);
    *out = v;
    return 0;
}

/* sfa__mp_read with uint 8-64, str8 and bin8 inline as well. */
static inline int
read_val(sfa__mp *m, sfa__mpv *x)
{
    const uint8_t *p = m->p;

    if ((size_t)(m->end - p) >= 2 && (*p == 0xc4 || *p == 0xd9)) {
        if (p[1] <= (size_t)(m->end - p) - 2) {
            x->kind = *p == 0xc4 ? SFA__MP_BIN : SFA__MP_STR;
            x->n = p[1];
            x->p = p + 2;
            m->p = p + 2 + p[1];
            return 0;
        }
    } else if (read_fast_uint(m, &x->v.u)) {
        x->kind = SFA__MP_UINT;
        return 0;
    }
    return sfa__mp_read(m, x);
}

/* sfa__mp_skip with the one-byte forms and fixstr inline. */
static inline int
read_skip(sfa__mp *m)
{
    const uint8_t *p = m->p;

    if (p < m->end) {
        uint8_t t = *p;
        if (t < 0x80 || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) {
            m->p = p + 1;
            return 0;
        }
        if ((t & 0xe0) == 0xa0 && (size_t)(t & 0x1f) < (size_t)(m->end - p)) {
            m->p = p + 1 + (t & 0x1f);
            return 0;
        }
    }
    return sfa__mp_skip(m);
}

/* Keys of a sample map, in the order a collector writes them. */
#define READ_SKEYS(X)                                                                              \
    X(TAG, "tag")                                                                                  \
    X(KIND, "kind")                                                                                \
    X(EXPANDED, "expanded")                                                                        \
    X(SEQ, "seq")                                                                                  \
    X(DS_CLASS, "ds_class")                                                                        \
    X(DS_INDEX, "ds_index")                                                                        \
    X(DS, "ds")                                                                                    \
    X(RATE, "rate")                                                                                \
    X(POOL, "pool")                                                                                \
    X(DROPS, "drops")                                                                              \
    X(IN_FMT, "in_fmt")                                                                            \
    X(IN, "in")                                                                                    \
    X(OUT_FMT, "out_fmt")                                                                          \
    X(OUT, "out")                                                                                  \
    X(REASON, "reason")                                                                            \
    X(STATUS, "status")                                                                            \
    X(RECORDS, "records")                                                                          \
    X(FIELDS, "fields")

enum read_skey {
    RK_OTHER, /* a key we do not know */
#define READ_SKEY_ENUM(id, text) RK_##id,
    READ_SKEYS(READ_SKEY_ENUM)
#undef READ_SKEY_ENUM
        RK__COUNT
};

static const char *const read_skey_text[RK__COUNT] = {[RK_OTHER] = "",
#define READ_SKEY_TEXT(id, text) [RK_##id] = text,
                                                      READ_SKEYS(READ_SKEY_TEXT)
#undef READ_SKEY_TEXT
};

/* Where the uint32 member of sfa_sample a key names sits, plus one; 0 for
 * keys whose value is not one. */
static const uint8_t read_skey_u32[RK__COUNT] = {
    [RK_TAG] = 1 + offsetof(sfa_sample, tag),
    [RK_SEQ] = 1 + offsetof(sfa_sample, seq),
    [RK_DS_CLASS] = 1 + offsetof(sfa_sample, ds_class),
    [RK_DS_INDEX] = 1 + offsetof(sfa_sample, ds_index),
    [RK_RATE] = 1 + offsetof(sfa_sample, rate),
    [RK_POOL] = 1 + offsetof(sfa_sample, pool),
    [RK_DROPS] = 1 + offsetof(sfa_sample, drops),
    [RK_IN_FMT] = 1 + offsetof(sfa_sample, in_fmt),
    [RK_IN] = 1 + offsetof(sfa_sample, in_val),
    [RK_OUT_FMT] = 1 + offsetof(sfa_sample, out_fmt),
    [RK_OUT] = 1 + offsetof(sfa_sample, out_val),
    [RK_REASON] = 1 + offsetof(sfa_sample, reason),
};

/* A sample key as the quick path of read_sample compares it (as a field
 * name, read_name); built once. RK_OTHER's entry is never compared. */
typedef struct read_skey_form {
    uint64_t key[2];  /* msgpack form, zero padded */
    uint64_t mask[2]; /* which of its 16 bytes are the key's */
    uint8_t klen;     /* length of the msgpack form */
    uint8_t u32;      /* read_skey_u32 */
} __attribute__((aligned(64))) read_skey_form;

static read_skey_form read_skeys[RK__COUNT];

/* ---- field names ----
 * Each name of fields.def in its msgpack form (fixstr byte, name, zero
 * padding to 32 bytes), as the collector writes it. A key is loaded the
 * same way - 32 bytes from its fixstr byte, masked to its length - so
 * finding it is a hash of four words into an open-addressing table, then
 * a four-word compare with the one candidate found. The quick path of
 * read_fields instead compares a key with the name guessed for its
 * position, which takes the masks, length and type kept with each name
 * (one cache line a name). Both tables are built once. */

#define SFA_FIELD(id, name, type, doc)                                                             \
    _Static_assert(sizeof(name) >= 2 && sizeof(name) <= 31, "field name length: " name);
#include <sfa/fields.def>
#undef SFA_FIELD

static const char *const read_name_text[SFA_F__COUNT] = {
#define SFA_FIELD(id, name, type, doc) [SFA_F_##id] = name,
#include <sfa/fields.def>
#undef SFA_FIELD
};

static const uint8_t read_types[SFA_F__COUNT] = {
#define SFA_FIELD(id, name, type, doc) [SFA_F_##id] = type,
#include <sfa/fields.def>
#undef SFA_FIELD
};

typedef struct read_name {
    uint64_t key[4];  /* msgpack form, zero padded */
    uint64_t mask[2]; /* which of its first 16 bytes are the key's */
    uint8_t klen;     /* length of the msgpack form */
    uint8_t type;     /* enum sfa_ftype */
} __attribute__((aligned(64))) read_name;

static read_name read_names[SFA_F__COUNT];

#define READ_SLOTS 4096 /* power of two, at least 4x the field count */
_Static_assert(SFA_F__COUNT * 4 <= READ_SLOTS, "grow READ_SLOTS with fields.def");

static uint16_t read_slots[READ_SLOTS]; /* id + 1; 0 is empty */
static uint64_t read_masks[33][4];      /* [k]: keeps the first k bytes of 32 */
static pthread_once_t read_once = PTHREAD_ONCE_INIT;

static inline uint32_t
read_key_hash(const uint64_t w[4])
{
    uint64_t h = (w[0] ^ w[2] >> 7) * 0x9e3779b97f4a7c15ull ^ (w[1] + w[3]) * 0xc2b2ae3d27d4eb4full;
    return (uint32_t)(h >> 40);
}

/* A name's msgpack form, masks and length (the masks must be built). */
static void
read_name_init(read_name *e, const char *text, uint8_t type)
{
    uint8_t form[32] = {0};
    size_t n = strlen(text);

    form[0] = (uint8_t)(0xa0 | n);
    memcpy(form + 1, text, n);
    memcpy(e->key, form, sizeof form);
    e->klen = (uint8_t)(1 + n);
    e->type = type;
    e->mask[0] = read_masks[e->klen < 16 ? e->klen : 16][0];
    e->mask[1] = read_masks[e->klen < 16 ? e->klen : 16][1];
}

/* A sample key's entry (the masks must be built). */
static void
read_skey_init(read_skey_form *e, unsigned key)
{
    uint8_t form[16] = {0};
    size_t n = strlen(read_skey_text[key]);

    form[0] = (uint8_t)(0xa0 | n);
    memcpy(form + 1, read_skey_text[key], n);
    memcpy(e->key, form, sizeof form);
    e->klen = (uint8_t)(1 + n);
    e->mask[0] = read_masks[e->klen][0];
    e->mask[1] = read_masks[e->klen][1];
    e->u32 = read_skey_u32[key];
}

static void
read_once_build(void)
{
    for (unsigned k = 0; k <= 32; k++) {
        uint8_t bytes[32];
        for (unsigned i = 0; i < 32; i++)
            bytes[i] = i < k ? 0xff : 0;
        memcpy(read_masks[k], bytes, sizeof bytes);
    }
    for (unsigned id = 0; id < RK__COUNT; id++)
        read_skey_init(&read_skeys[id], id);
    for (unsigned id = 0; id < SFA_F__COUNT; id++) {
        read_name_init(&read_names[id], read_name_text[id], read_types[id]);
        uint32_t i = read_key_hash(read_names[id].key);
        while (read_slots[i & (READ_SLOTS - 1)])
            i++;
        read_slots[i & (READ_SLOTS - 1)] = (uint16_t)(id + 1);
    }
}

/* Field id of a key in padded form, or -1. */
static inline int
read_name_find(const uint64_t w[4])
{
    for (uint32_t i = read_key_hash(w);; i++) {
        unsigned slot = read_slots[i & (READ_SLOTS - 1)];
        uint64_t e[4];
        if (!slot)
            return -1;
        memcpy(e, read_names[slot - 1].key, sizeof e);
        if (((e[0] ^ w[0]) | (e[1] ^ w[1]) | (e[2] ^ w[2]) | (e[3] ^ w[3])) == 0)
            return (int)slot - 1;
    }
}

/* The key of a "fields" pair in any form: *id is its field id, or -1 for a
 * name we do not know or a key that is not a str (skipped whole). */
static int
read_field_key_slow(sfa__mp *m, int *id)
{
    const uint8_t *at = m->p;
    uint8_t padded[32] = {0};
    uint64_t w[4];
    sfa__mpv k;

    *id = -1;
    if (sfa__mp_read(m, &k))
        return m->err;
    if (k.kind == SFA__MP_ARRAY || k.kind == SFA__MP_MAP) {
        m->p = at;
        return sfa__mp_skip(m);
    }
    if (k.kind != SFA__MP_STR || k.n == 0 || k.n > 31)
        return 0;
    padded[0] = (uint8_t)(0xa0 | k.n);
    memcpy(padded + 1, k.p, k.n);
    memcpy(w, padded, sizeof w);
    *id = read_name_find(w);
    return 0;
}

/* The same, inline for a fixstr key with 32 bytes left to load; *guess
 * learns the id found. */
static inline int
read_field_key(sfa__mp *m, int *id, uint16_t *guess)
{
    const uint8_t *p = m->p;
    uint64_t w[4];

    if ((size_t)(m->end - p) < 32 || (*p & 0xe0) != 0xa0)
        return read_field_key_slow(m, id);
    unsigned k = 1 + (*p & 0x1f);
    memcpy(w, p, sizeof w);
    for (int i = 0; i < 4; i++)
        w[i] &= read_masks[k][i];
    m->p = p + k;
    *id = read_name_find(w);
    if (*id >= 0)
        *guess = (uint16_t)*id;
    return 0;
}

/* ---- fields ---- */

/* Fill f from value x of a field whose table type is type. Returns 1 when
 * stored, 0 when the value does not fit the type (skipped). */
static inline int
read_scalar(const sfa__mpv *x, int type, sfa_field *f)
{
    switch (type) {
    case SFA_T_U:
        f->type = SFA_T_U;
        f->v.u = x->v.u;
        return x->kind == SFA__MP_UINT;
    case SFA_T_I:
        f->type = SFA_T_I;
        f->v.i = x->v.i;
        return x->kind == SFA__MP_INT || (x->kind == SFA__MP_UINT && x->v.u <= INT64_MAX);
    case SFA_T_F:
        f->type = SFA_T_F;
        f->v.d = x->kind == SFA__MP_UINT  ? (double)x->v.u
                 : x->kind == SFA__MP_INT ? (double)x->v.i
                                          : x->v.d;
        return x->kind == SFA__MP_FLOAT || x->kind == SFA__MP_UINT || x->kind == SFA__MP_INT;
    case SFA_T_BOOL:
        f->type = SFA_T_BOOL;
        f->v.u = x->v.u;
        return (x->kind == SFA__MP_BOOL || x->kind == SFA__MP_UINT) && x->v.u <= 1;
    case SFA_T_IP4:
    case SFA_T_IP6: {
        sfa_addr a;
        if (x->kind != SFA__MP_STR || sfa__codec_addr(x->p, x->n, x->n, 0, &a))
            return 0;
        f->type = a.family == 4 ? SFA_T_IP4 : SFA_T_IP6;
        memcpy(f->v.a, a.a, sizeof f->v.a);
        return 1;
    }
    case SFA_T_MAC:
        f->type = SFA_T_MAC;
        return x->kind == SFA__MP_STR && sfa__codec_mac(x->p, x->n, f->v.a) == 0;
    case SFA_T_STR:
    case SFA_T_BIN:
        f->type = (uint8_t)type;
        f->v.p = x->p;
        f->n = x->n;
        return x->kind == SFA__MP_STR || x->kind == SFA__MP_BIN;
    default:
        return 0;
    }
}

/* Read the value of a "fields" pair whose name is field id into d (if it
 * fits its type and d's capacity; otherwise it is skipped). */
static int
read_field(sfa__mp *m, sfa_dgram *d, unsigned id, int *limited)
{
    const uint8_t *at = m->p;
    int type = read_types[id], rc;
    sfa__mpv x;

    if (d->nfields >= SFA_DGRAM_MAX_FIELDS) {
        *limited = 1;
        return sfa__mp_skip(m);
    }
    sfa_field *f = &d->fields[d->nfields];
    memset(f, 0, sizeof *f);
    f->id = (uint16_t)id;
    if (read_val(m, &x))
        return m->err;
    if (type == SFA_T_U32S || type == SFA_T_ASPATH || type == SFA_T_ADAPTERS)
        rc = x.kind == SFA__MP_ARRAY ? sfa__codec_list(m, d, f, type, x.n, limited) : 0;
    else
        rc = read_scalar(&x, type, f);
    if (rc > 0) {
        d->nfields++;
        return 0;
    }
    if (rc < 0)
        return rc;
    /* Unexpected shape: rewind to the value and skip it whole; the skip
     * re-checks the bytes, so real malformation still fails here. */
    m->p = at;
    m->err = 0;
    return sfa__mp_skip(m);
}

/* ---- samples and datagrams ---- */

/* Keys guessed by position (read_field_key): what the previous sample of
 * this message had at each position of its map and of its "fields". */
#define READ_PRED 64

/* The last IPv4 text met at a position of "fields" (its msgpack form,
 * zero padded) and its value: next hops, for one, repeat sample after
 * sample, and a compare is cheaper than a parse. */
typedef struct read_memo {
    uint64_t text[2];
    uint8_t addr[4];
} read_memo;

typedef struct read_guess {
    uint16_t field[READ_PRED + 1]; /* field id; the last is shared by the rest */
    uint8_t skey[READ_PRED + 1];   /* enum read_skey, likewise */
    read_memo ip4[READ_PRED];      /* by position in "fields" */
} read_guess;

/* Whether the first 16 bytes at p match key under mask, compared as two
 * words: the masks come from the guessed entry, so they do not wait for
 * the key's bytes, and the fixstr byte compared with the rest makes equal
 * lengths part of the match. */
static inline int
read_key16_at(const uint8_t *p, const uint64_t key[2], const uint64_t mask[2])
{
    uint64_t w[2];

    memcpy(w, p, sizeof w);
    return (((w[0] ^ key[0]) & mask[0]) | ((w[1] ^ key[1]) & mask[1])) == 0;
}

/* Whether the key at p (32 bytes readable) is field name e. */
static inline int
read_name_at(const uint8_t *p, const read_name *e)
{
    uint64_t w[2];

    if (!read_key16_at(p, e->key, e->mask))
        return 0;
    if (e->klen <= 16)
        return 1;
    memcpy(w, p + 16, sizeof w);
    return (((w[0] ^ e->key[2]) & read_masks[e->klen][2]) |
            ((w[1] ^ e->key[3]) & read_masks[e->klen][3])) == 0;
}

/* The sample key at m->p in any form: its enum read_skey (RK_OTHER when
 * unknown), the cursor past it; *guess learns it for the next sample. */
static int
read_sample_key(sfa__mp *m, uint8_t *guess, int *key)
{
    uint8_t padded[16] = {0};
    sfa__mpv k;

    *key = RK_OTHER;
    if (sfa__mp_expect(m, &k, SFA__MP_STR))
        return m->err;
    if (k.n > 15)
        return 0;
    padded[0] = (uint8_t)(0xa0 | k.n);
    memcpy(padded + 1, k.p, k.n);
    for (unsigned i = 1; i < RK__COUNT; i++) {
        if (memcmp(padded, read_skeys[i].key, sizeof padded) == 0) {
            *key = (int)i;
            break;
        }
    }
    *guess = (uint8_t)*key;
    return 0;
}

static int
read_status(sfa__mp *m, int *out)
{
    sfa__mpv x;

    if (m->p < m->end && (*m->p < 0x80 || *m->p >= 0xe0)) {
        *out = (int8_t)*m->p++; /* positive or negative fixint */
        return 0;
    }
    if (sfa__mp_read(m, &x))
        return m->err;
    if (x.kind == SFA__MP_UINT && x.v.u <= INT32_MAX)
        *out = (int)x.v.u;
    else if (x.kind == SFA__MP_INT && x.v.i >= INT32_MIN)
        *out = (int)x.v.i;
    else
        return sfa__mp_fail(m, SFA_EFORMAT);
    return 0;
}

static int
read_records(sfa__mp *m, sfa_dgram *d, sfa_sample *s, int *limited)
{
    uint64_t tag = 0;
    uint32_t n = 0;

    if (read_container(m, SFA__MP_ARRAY, &n))
        return m->err;
    for (uint32_t i = 0; i < n; i++) {
        if (read_uint(m, UINT32_MAX, &tag))
            return m->err;
        if (d->nrecs >= SFA_DGRAM_MAX_RECORDS) {
            *limited = 1;
            continue;
        }
        d->rec_tags[d->nrecs++] = (uint32_t)tag;
        s->rec_count++;
    }
    return 0;
}

/* Room the fast path of a "fields" pair needs at its start: the key (at
 * most 32 bytes) and 32 bytes of value after it. */
#define READ_FAST_ROOM 64

/* The value at v (32 bytes readable, end bounds the rest) of a field of
 * type type other than SFA_T_U, the quick way: the usual form for the
 * type is stored into f (zeroed, id set) and the end of the value
 * returned; NULL when the general path must decide. */
static inline __attribute__((always_inline)) const uint8_t *
read_value_fast(const uint8_t *v, const uint8_t *end, unsigned type, sfa_field *f, read_memo *memo)
{
    uint32_t n;

    switch (type) {
    case SFA_T_STR:
    case SFA_T_BIN:
        if ((*v & 0xe0) == 0xa0) {
            n = *v++ & 0x1f;
        } else if (*v == 0xc4 || *v == 0xd9) {
            n = v[1];
            v += 2;
        } else {
            return NULL;
        }
        if (n > (size_t)(end - v))
            return NULL;
        f->type = (uint8_t)type;
        f->n = n;
        f->v.p = v;
        return v + n;
    case SFA_T_IP4:
    case SFA_T_IP6: {
        /* IPv4 text straight into the field, or its value from the memo;
         * IPv6 the general way. The text is at most 15 bytes. */
        uint64_t w[2];
        n = *v & 0x1f;
        if ((*v & 0xe0) != 0xa0 || n > 15)
            return NULL;
        memcpy(w, v, sizeof w);
        w[1] &= read_masks[1 + n][1]; /* n >= 7 for a dotted quad: w[0] is all text */
        if (w[0] == memo->text[0] && w[1] == memo->text[1]) {
            memcpy(f->v.a, memo->addr, sizeof memo->addr);
        } else {
            if (sfa__ip4_wide(v + 1, n, f->v.a))
                return NULL;
            memcpy(memo->text, w, sizeof w);
            memcpy(memo->addr, f->v.a, sizeof memo->addr);
        }
        f->type = SFA_T_IP4;
        return v + 1 + n;
    }
    case SFA_T_MAC:
        if (*v != (0xa0 | 12) || sfa__mac_wide(v + 1, f->v.a))
            return NULL;
        f->type = SFA_T_MAC;
        return v + 13;
    default:
        return NULL;
    }
}

/* One "fields" pair the general way; *guess learns its name. Out of line
 * so that it does not take registers from read_fields' quick path. */
static __attribute__((noinline)) int
read_field_general(sfa__mp *m, sfa_dgram *d, int *limited, uint16_t *guess)
{
    int id;

    if (read_field_key(m, &id, guess))
        return m->err;
    return id < 0 ? read_skip(m) : read_field(m, d, (unsigned)id, limited);
}

/* The pairs of a "fields" map. Each pair is first tried the quick way:
 * its key is the name guessed for its position (what the previous sample
 * had there; a collector writes them in the same order every time), its
 * value has the usual form for the field's type, and d has room. Anything
 * else goes the general way (read_field_key, read_field), which also
 * updates the guess. The cursor and the field count live in locals on the
 * quick path. Kept out of line so that its loop gets the registers. */
static __attribute__((noinline)) int
read_fields(sfa__mp *m, sfa_dgram *d, int *limited, uint16_t *guesses, read_memo *memos)
{
    const uint8_t *p, *v, *const end = m->end;
    sfa_field *const fields = d->fields;
    uint32_t n = 0, nf;

    if (read_container(m, SFA__MP_MAP, &n))
        return m->err;
    p = m->p;
    nf = d->nfields;
    /* The quick path needs a guess and room for the field: the first
     * nquick pairs may take it (nf grows by at most one a pair); the rest
     * go the general way. */
    uint32_t nquick = n < READ_PRED ? n : READ_PRED, i;
    if (nquick > SFA_DGRAM_MAX_FIELDS - nf)
        nquick = SFA_DGRAM_MAX_FIELDS - nf;
    for (i = 0; i < nquick; i++) {
        unsigned g = guesses[i], len;
        /* The message is read once, front to back: ask for the bytes a few
         * fields ahead (a hint, which never faults), so that they are in
         * cache when the flow tables have pushed them out. The address may
         * lie past the message, so it is computed as an integer. */
        __builtin_prefetch((const void *)((uintptr_t)p + 512));
        const read_name *e = &read_names[g];
        if ((size_t)(end - p) >= READ_FAST_ROOM && read_name_at(p, e)) {
            sfa_field *f = &fields[nf];
            v = p + e->klen;
            memset(f, 0, sizeof *f);
            f->id = (uint16_t)g;
            if (e->type == SFA_T_U && (len = read_uint_len[*v])) {
                f->type = SFA_T_U;
                f->v.u = read_uint_at(v);
                p = v + len;
                nf++;
                continue;
            }
            if (e->type != SFA_T_U && (v = read_value_fast(v, end, e->type, f, &memos[i]))) {
                p = v;
                nf++;
                continue;
            }
        }
        m->p = p;
        d->nfields = nf;
        if (read_field_general(m, d, limited, &guesses[i]))
            return m->err;
        p = m->p;
        nf = d->nfields;
    }
    m->p = p;
    d->nfields = nf;
    for (; i < n; i++) {
        if (read_field_general(m, d, limited, &guesses[READ_PRED]))
            return m->err;
    }
    return 0;
}

/* The value of sample key key into s (or d), the general way. */
static int
read_sample_value(sfa__mp *m, sfa_dgram *d, sfa_sample *s, int key, int *limited, read_guess *g)
{
    uint64_t v = 0;
    uint32_t u32;

    if (read_skey_u32[key]) {
        if (read_uint(m, UINT32_MAX, &v))
            return m->err;
        u32 = (uint32_t)v;
        memcpy((uint8_t *)s + read_skey_u32[key] - 1, &u32, sizeof u32);
        return 0;
    }
    switch (key) {
    case RK_STATUS:
        return read_status(m, &s->status);
    case RK_RECORDS:
        return read_records(m, d, s, limited);
    case RK_FIELDS:
        return read_fields(m, d, limited, g->field, g->ip4);
    default:
        return read_skip(m);
    }
}

/* One sample-map pair the general way: its key first (*guess learns it)
 * unless key already says which it is, then its value. Out of line, as
 * read_field_general. */
static __attribute__((noinline)) int
read_sample_general(sfa__mp *m, sfa_dgram *d, sfa_sample *s, int key, int *limited, read_guess *g,
                    uint8_t *guess)
{
    if (key < 0 && read_sample_key(m, guess, &key))
        return m->err;
    return read_sample_value(m, d, s, key, limited, g);
}

/* One sample map, its pairs tried the quick way first as in read_fields:
 * the guessed key with a uint32 value, a fixint status, or one of the
 * keys we skip with a fixstr or bool value. */
static __attribute__((noinline)) int
read_sample(sfa__mp *m, sfa_dgram *d, int *limited, read_guess *g)
{
    const uint8_t *p, *const end = m->end;
    uint32_t n = 0;
    int key;

    if (d->nsamples >= SFA_DGRAM_MAX_SAMPLES) {
        *limited = 1;
        return sfa__mp_skip(m);
    }
    sfa_sample *s = &d->samples[d->nsamples];
    memset(s, 0, sizeof *s);
    s->rec_first = d->nrecs;
    s->field_first = d->nfields;
    if (read_container(m, SFA__MP_MAP, &n))
        return m->err;
    p = m->p;
    /* The first pairs have a guess (as in read_fields); the rest go the
     * general way. */
    uint32_t nquick = n < READ_PRED ? n : READ_PRED, i;
    for (i = 0; i < nquick; i++) {
        uint8_t *guess = &g->skey[i];
        unsigned k = *guess, len;
        const read_skey_form *e = &read_skeys[k];
        /* 32 bytes: a key of at most 16, then a uint64 or a fixstr header. */
        if ((size_t)(end - p) >= 32 && k != RK_OTHER && read_key16_at(p, e->key, e->mask)) {
            const uint8_t *v = p + e->klen;
            key = (int)k;
            if (e->u32 && (len = read_uint_len[*v])) {
                uint64_t u = read_uint_at(v);
                if (u <= UINT32_MAX) {
                    uint32_t u32 = (uint32_t)u;
                    memcpy((uint8_t *)s + e->u32 - 1, &u32, sizeof u32);
                    p = v + len;
                    continue;
                }
            } else if (k == RK_STATUS && (*v < 0x80 || *v >= 0xe0)) {
                s->status = (int8_t)*v;
                p = v + 1;
                continue;
            } else if ((k == RK_KIND || k == RK_EXPANDED || k == RK_DS) &&
                       (*v == 0xc2 || *v == 0xc3 || (*v & 0xe0) == 0xa0)) {
                /* a bool, or a fixstr whose body is there */
                size_t skip = 1 + ((*v & 0xe0) == 0xa0 ? (*v & 0x1f) : 0);
                if (skip <= (size_t)(end - v)) {
                    p = v + skip;
                    continue;
                }
            }
            m->p = v;
        } else {
            m->p = p;
            key = -1;
        }
        if (read_sample_general(m, d, s, key, limited, g, guess))
            return m->err;
        p = m->p;
    }
    m->p = p;
    for (; i < n; i++) {
        if (read_sample_general(m, d, s, -1, limited, g, &g->skey[READ_PRED]))
            return m->err;
    }
    s->nrecords = s->rec_count;
    s->field_count = d->nfields - s->field_first;
    d->nsamples++;
    return 0;
}

static void
read_dgram_reset(sfa_dgram *d)
{
    /* Only the header: the arrays are large and filled as they are used. */
    memset(d, 0, offsetof(sfa_dgram, samples));
}

static int
read_dgram(sfa__mp *m, sfa_dgram *d, read_guess *g)
{
    sfa__mpv map, k, x;
    uint64_t u = 0;
    int limited = 0;

    read_dgram_reset(d);
    if (sfa__mp_expect(m, &map, SFA__MP_MAP))
        return m->err;
    for (uint32_t i = 0; i < map.n && !m->err; i++) {
        if (sfa__mp_expect(m, &k, SFA__MP_STR))
            break;
        if (SFA__KEY_IS(&k, "agent") || SFA__KEY_IS(&k, "src")) {
            sfa_addr *a = k.n == 5 ? &d->agent : &d->src;
            if (sfa__mp_expect(m, &x, SFA__MP_STR) == 0 &&
                sfa__codec_addr(x.p, x.n, (size_t)(m->end - x.p), 1, a))
                sfa__mp_fail(m, SFA_EFORMAT);
        } else if (SFA__KEY_IS(&k, "sub_agent")) {
            if (read_uint(m, UINT32_MAX, &u) == 0)
                d->sub_agent = (uint32_t)u;
        } else if (SFA__KEY_IS(&k, "seq")) {
            if (read_uint(m, UINT32_MAX, &u) == 0)
                d->seq = (uint32_t)u;
        } else if (SFA__KEY_IS(&k, "uptime")) {
            if (read_uint(m, UINT32_MAX, &u) == 0)
                d->uptime = (uint32_t)u;
        } else if (SFA__KEY_IS(&k, "src_port")) {
            if (read_uint(m, UINT16_MAX, &u) == 0)
                d->src_port = (uint16_t)u;
        } else if (SFA__KEY_IS(&k, "rx_ms")) {
            read_uint(m, UINT64_MAX, &d->rx_ms);
        } else if (SFA__KEY_IS(&k, "len")) {
            if (read_uint(m, UINT32_MAX, &u) == 0)
                d->len = (uint32_t)u;
        } else if (SFA__KEY_IS(&k, "version")) {
            if (read_uint(m, UINT32_MAX, &u) == 0)
                d->version = (uint32_t)u;
        } else if (SFA__KEY_IS(&k, "status")) {
            read_status(m, &d->status);
        } else if (SFA__KEY_IS(&k, "samples")) {
            if (read_container(m, SFA__MP_ARRAY, &d->nsamples_declared) == 0) {
                for (uint32_t j = 0; j < d->nsamples_declared && !m->err; j++)
                    read_sample(m, d, &limited, g);
            }
        } else {
            read_skip(m);
        }
    }
    if (m->err)
        return m->err;
    if (limited && d->status == 0)
        d->status = SFA_ELIMIT;
    return 0;
}

int
sfa_codec_each_dgram(const sfa_envelope *env, sfa_dgram *scratch, sfa_dgram_cb cb, void *arg)
{
    sfa__mp m;
    sfa__mpv arr;
    read_guess g;

    pthread_once(&read_once, read_once_build);
    memset(&g, 0, sizeof g);
    sfa__mp_init(&m, env->body, env->body_len);
    if (sfa__mp_expect(&m, &arr, SFA__MP_ARRAY))
        return SFA_EFORMAT;
    for (uint32_t i = 0; i < arr.n; i++) {
        if (read_dgram(&m, scratch, &g))
            return SFA_EFORMAT;
        int rc = cb(scratch, arg);
        if (rc)
            return rc;
    }
    return sfa__mp_left(&m) == 0 ? 0 : SFA_EFORMAT;
}
