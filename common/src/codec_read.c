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
 * List-valued fields (U32S, ASPATH, ADAPTERS) come back as text rendered
 * into scratch->arena. The field-name table is built once (pthread_once)
 * and only read afterwards; otherwise no globals. Thread-safe.
 */
#include <arpa/inet.h>
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

/* ---- text helpers ---- */

/* Dotted quad, strict as inet_pton: four decimal octets, no leading zeros. */
static int
read_ip4(const uint8_t *p, size_t n, uint8_t *out)
{
    size_t i = 0;

    for (int octet = 0; octet < 4; octet++) {
        unsigned v = 0, digits = 0;
        if (octet) {
            if (i >= n || p[i] != '.')
                return -1;
            i++;
        }
        while (i < n && p[i] >= '0' && p[i] <= '9' && digits < 4) {
            v = v * 10 + (unsigned)(p[i] - '0');
            digits++;
            i++;
        }
        if (digits == 0 || digits > 3 || v > 255 || (digits > 1 && p[i - digits] == '0'))
            return -1;
        out[octet] = (uint8_t)v;
    }
    return i == n ? 0 : -1;
}

/* Address text to binary. Empty text is family 0 (unknown) when allowed. */
static int
read_addr(const uint8_t *p, size_t n, int allow_empty, sfa_addr *out)
{
    char tmp[64];

    memset(out, 0, sizeof *out);
    if (n == 0)
        return allow_empty ? 0 : -1;
    if (read_ip4(p, n, out->a) == 0) {
        out->family = 4;
        return 0;
    }
    if (n >= sizeof tmp || memchr(p, 0, n))
        return -1;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    if (inet_pton(AF_INET6, tmp, out->a) != 1)
        return -1;
    out->family = 6;
    return 0;
}

static int
read_hexdigit(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int
read_mac(const uint8_t *p, size_t n, uint8_t *out)
{
    if (n != 12)
        return -1;
    for (int i = 0; i < 6; i++) {
        int hi = read_hexdigit(p[2 * i]), lo = read_hexdigit(p[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* Text built in the datagram's arena; committed only if all of it fits. */
typedef struct read_text {
    sfa_dgram *d;
    size_t start, len;
    int over;
} read_text;

static void
read_text_put(read_text *t, const void *s, size_t n)
{
    if (t->over || n > SFA_DGRAM_ARENA - t->start - t->len) {
        t->over = 1;
        return;
    }
    memcpy(t->d->arena + t->start + t->len, s, n);
    t->len += n;
}

static void
read_text_u32(read_text *t, uint64_t v)
{
    char tmp[24];
    size_t n = sizeof tmp;

    do {
        tmp[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    read_text_put(t, tmp + n, sizeof tmp - n);
}

/* ---- list-valued fields rendered as text ----
 * Each returns 0 when rendered, 1 when the value has an unexpected shape
 * (the caller skips it), or a negative reader error. */

static int
read_u32s_text(sfa__mp *m, uint32_t n, int communities, read_text *t)
{
    for (uint32_t i = 0; i < n; i++) {
        uint64_t v;
        sfa__mpv x;
        if (sfa__mp_read(m, &x))
            return m->err;
        if (x.kind != SFA__MP_UINT || x.v.u > UINT32_MAX)
            return 1;
        v = x.v.u;
        if (i)
            read_text_put(t, "-", 1);
        if (communities) {
            read_text_u32(t, v >> 16);
            read_text_put(t, ":", 1);
            read_text_u32(t, v & 0xffff);
        } else {
            read_text_u32(t, v);
        }
    }
    return 0;
}

/* One AS path segment map {"type", "as"}; keys in any order. */
static int
read_aspath_seg(sfa__mp *m, int first, read_text *t)
{
    sfa__mpv hdr, k, as;
    uint64_t type = 2;
    const uint8_t *as_at = NULL;

    if (sfa__mp_read(m, &hdr))
        return m->err;
    if (hdr.kind != SFA__MP_MAP)
        return 1;
    for (uint32_t i = 0; i < hdr.n; i++) {
        if (sfa__mp_read(m, &k))
            return m->err;
        if (k.kind == SFA__MP_STR && SFA__KEY_IS(&k, "type")) {
            if (sfa__mp_uint(m, UINT32_MAX, &type))
                return m->err == SFA_EFORMAT ? 1 : m->err;
        } else if (k.kind == SFA__MP_STR && SFA__KEY_IS(&k, "as")) {
            as_at = m->p;
            if (sfa__mp_skip(m))
                return m->err;
        } else if (sfa__mp_skip(m)) {
            return m->err;
        }
    }
    if (!as_at)
        return 1;
    /* Re-read the ASN list now that the segment type is known. */
    sfa__mp sub;
    sfa__mp_init(&sub, as_at, (size_t)(m->end - as_at));
    if (sfa__mp_read(&sub, &as) || as.kind != SFA__MP_ARRAY)
        return 1;
    if (!first)
        read_text_put(t, "-", 1);
    if (type == 1)
        read_text_put(t, "{", 1);
    for (uint32_t i = 0; i < as.n; i++) {
        sfa__mpv x;
        if (sfa__mp_read(&sub, &x) || x.kind != SFA__MP_UINT || x.v.u > UINT32_MAX)
            return 1;
        if (i)
            read_text_put(t, type == 1 ? "," : "-", 1);
        read_text_u32(t, x.v.u);
    }
    if (type == 1)
        read_text_put(t, "}", 1);
    return 0;
}

/* One adapter map {"ifindex", "macs"}: "<ifindex>=<MAC>,<MAC>". */
static int
read_adapter(sfa__mp *m, read_text *t)
{
    sfa__mpv hdr, k, macs;
    uint64_t ifindex = 0;
    const uint8_t *macs_at = NULL;

    if (sfa__mp_read(m, &hdr))
        return m->err;
    if (hdr.kind != SFA__MP_MAP)
        return 1;
    for (uint32_t i = 0; i < hdr.n; i++) {
        if (sfa__mp_read(m, &k))
            return m->err;
        if (k.kind == SFA__MP_STR && SFA__KEY_IS(&k, "ifindex")) {
            if (sfa__mp_uint(m, UINT32_MAX, &ifindex))
                return m->err == SFA_EFORMAT ? 1 : m->err;
        } else if (k.kind == SFA__MP_STR && SFA__KEY_IS(&k, "macs")) {
            macs_at = m->p;
            if (sfa__mp_skip(m))
                return m->err;
        } else if (sfa__mp_skip(m)) {
            return m->err;
        }
    }
    read_text_u32(t, ifindex);
    read_text_put(t, "=", 1);
    if (!macs_at)
        return 0;
    sfa__mp sub;
    sfa__mp_init(&sub, macs_at, (size_t)(m->end - macs_at));
    if (sfa__mp_read(&sub, &macs) || macs.kind != SFA__MP_ARRAY)
        return 1;
    for (uint32_t i = 0; i < macs.n; i++) {
        sfa__mpv x;
        uint8_t mac[6];
        if (sfa__mp_read(&sub, &x) || x.kind != SFA__MP_STR || read_mac(x.p, x.n, mac))
            return 1;
        if (i)
            read_text_put(t, ",", 1);
        read_text_put(t, x.p, x.n);
    }
    return 0;
}

/* Render a list-valued field (the array header already read) as text. */
static int
read_list_text(sfa__mp *m, unsigned id, int type, uint32_t n, read_text *t)
{
    int rc = 0;

    if (type == SFA_T_U32S)
        return read_u32s_text(m, n, id == SFA_F_BGPCOMMUNITIES, t);
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        if (type == SFA_T_ASPATH) {
            rc = read_aspath_seg(m, i == 0, t);
        } else {
            if (i)
                read_text_put(t, ";", 1);
            rc = read_adapter(m, t);
        }
    }
    return rc;
}

/* ---- field names ----
 * Names from fields.def in an open-addressing hash table built once on
 * first use; a lookup hashes the key's bytes (no NUL needed) and compares
 * the one candidate it finds. sfa_field_lookup would do too, but its binary
 * search of strncmp calls is the bulk of a reader's time. */

static const char *const read_names[SFA_F__COUNT] = {
#define SFA_FIELD(id, name, type, doc) [SFA_F_##id] = name,
#include <sfa/fields.def>
#undef SFA_FIELD
};

static const uint8_t read_name_len[SFA_F__COUNT] = {
#define SFA_FIELD(id, name, type, doc) [SFA_F_##id] = sizeof(name) - 1,
#include <sfa/fields.def>
#undef SFA_FIELD
};

static const uint8_t read_types[SFA_F__COUNT] = {
#define SFA_FIELD(id, name, type, doc) [SFA_F_##id] = type,
#include <sfa/fields.def>
#undef SFA_FIELD
};

#define READ_SLOTS 4096 /* power of two, at least 4x the field count */
_Static_assert(SFA_F__COUNT * 4 <= READ_SLOTS, "grow READ_SLOTS with fields.def");

static uint16_t read_slots[READ_SLOTS]; /* id + 1; 0 is empty */
static pthread_once_t read_slots_once = PTHREAD_ONCE_INIT;

static inline uint32_t
read_key_hash(const uint8_t *p, size_t n)
{
    uint64_t a = 0, b = 0;

    if (n >= 8) {
        memcpy(&a, p, 8);
        memcpy(&b, p + n - 8, 8);
    } else {
        for (size_t i = 0; i < n; i++)
            a |= (uint64_t)p[i] << (8 * i);
    }
    uint64_t h = a * 0x9e3779b97f4a7c15ull ^ (b + n) * 0xc2b2ae3d27d4eb4full;
    return (uint32_t)(h >> 32 ^ h);
}

static void
read_slots_build(void)
{
    for (unsigned id = 0; id < SFA_F__COUNT; id++) {
        uint32_t i = read_key_hash((const uint8_t *)read_names[id], read_name_len[id]);
        while (read_slots[i & (READ_SLOTS - 1)])
            i++;
        read_slots[i & (READ_SLOTS - 1)] = (uint16_t)(id + 1);
    }
}

/* Equality of n key bytes with a name of the same length, eight bytes at a
 * time (the last chunk overlaps), without a library call. */
static inline int
read_name_eq(const uint8_t *p, const char *name, size_t n)
{
    uint64_t a, b;

    if (n < 8) {
        for (size_t i = 0; i < n; i++) {
            if (p[i] != (uint8_t)name[i])
                return 0;
        }
        return 1;
    }
    for (size_t i = 0; i + 8 < n; i += 8) {
        memcpy(&a, p + i, 8);
        memcpy(&b, name + i, 8);
        if (a != b)
            return 0;
    }
    memcpy(&a, p + n - 8, 8);
    memcpy(&b, name + n - 8, 8);
    return a == b;
}

/* Field id of the name (p, n), or -1. The table must be built (each_dgram
 * does it once per call). */
static int
read_field_id(const uint8_t *p, size_t n)
{
    for (uint32_t i = read_key_hash(p, n);; i++) {
        unsigned slot = read_slots[i & (READ_SLOTS - 1)];
        if (!slot)
            return -1;
        if (read_name_len[slot - 1] == n && read_name_eq(p, read_names[slot - 1], n))
            return (int)slot - 1;
    }
}

/* ---- fields ---- */

/* Fill f from value x of a field whose table type is type. Returns 1 when
 * stored, 0 when the value does not fit the type (skipped). */
static int
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
        if (x->kind != SFA__MP_STR || read_addr(x->p, x->n, 0, &a))
            return 0;
        f->type = a.family == 4 ? SFA_T_IP4 : SFA_T_IP6;
        memcpy(f->v.a, a.a, sizeof f->v.a);
        return 1;
    }
    case SFA_T_MAC:
        f->type = SFA_T_MAC;
        memset(f->v.a, 0, sizeof f->v.a);
        return x->kind == SFA__MP_STR && read_mac(x->p, x->n, f->v.a) == 0;
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

/* Read one "fields" entry whose key is k into d (if known and it fits). */
static int
read_field(sfa__mp *m, sfa_dgram *d, const sfa__mpv *k, int *limited)
{
    const uint8_t *at = m->p;
    sfa__mpv x;
    int id = -1, type, rc;

    if (k->kind == SFA__MP_STR && k->n > 0 && k->n < 32)
        id = read_field_id(k->p, k->n);
    if (id < 0)
        return sfa__mp_skip(m); /* a field this reader does not know */
    if (d->nfields >= SFA_DGRAM_MAX_FIELDS) {
        *limited = 1;
        return sfa__mp_skip(m);
    }
    sfa_field *f = &d->fields[d->nfields];
    memset(f, 0, sizeof *f);
    f->id = (uint16_t)id;
    type = read_types[id];
    if (sfa__mp_read(m, &x))
        return m->err;
    if (type == SFA_T_U32S || type == SFA_T_ASPATH || type == SFA_T_ADAPTERS) {
        read_text t = {d, d->arena_used, 0, 0};
        if (x.kind != SFA__MP_ARRAY)
            goto skip;
        rc = read_list_text(m, (unsigned)id, type, x.n, &t);
        if (rc < 0)
            return rc;
        if (rc > 0 || t.over) {
            *limited |= t.over;
            goto skip;
        }
        f->type = SFA_T_STR;
        f->v.p = d->arena + t.start;
        f->n = (uint32_t)t.len;
        d->arena_used += (uint32_t)t.len;
        d->nfields++;
        return 0;
    }
    if (read_scalar(&x, type, f)) {
        d->nfields++;
        return 0;
    }
skip:
    /* Unexpected shape: rewind to the value and skip it whole; the skip
     * re-checks the bytes, so real malformation still fails here. */
    m->p = at;
    m->err = 0;
    return sfa__mp_skip(m);
}

/* ---- samples and datagrams ---- */

/* Keys of a sample map. The switch on length lets each memcmp compile to
 * one or two integer compares. */
enum read_skey {
    RK_OTHER,
    RK_TAG,
    RK_SEQ,
    RK_DS_CLASS,
    RK_DS_INDEX,
    RK_RATE,
    RK_POOL,
    RK_DROPS,
    RK_IN_FMT,
    RK_IN,
    RK_OUT_FMT,
    RK_OUT,
    RK_REASON,
    RK_STATUS,
    RK_RECORDS,
    RK_FIELDS,
};

#define READ_IS(k, lit) (memcmp((k)->p, lit, sizeof(lit) - 1) == 0)

static int
read_sample_key(const sfa__mpv *k)
{
    switch (k->n) {
    case 2:
        return READ_IS(k, "in") ? RK_IN : RK_OTHER;
    case 3:
        return READ_IS(k, "tag")   ? RK_TAG
               : READ_IS(k, "seq") ? RK_SEQ
               : READ_IS(k, "out") ? RK_OUT
                                   : RK_OTHER;
    case 4:
        return READ_IS(k, "rate") ? RK_RATE : READ_IS(k, "pool") ? RK_POOL : RK_OTHER;
    case 5:
        return READ_IS(k, "drops") ? RK_DROPS : RK_OTHER;
    case 6:
        return READ_IS(k, "fields")   ? RK_FIELDS
               : READ_IS(k, "status") ? RK_STATUS
               : READ_IS(k, "in_fmt") ? RK_IN_FMT
               : READ_IS(k, "reason") ? RK_REASON
                                      : RK_OTHER;
    case 7:
        return READ_IS(k, "records") ? RK_RECORDS : READ_IS(k, "out_fmt") ? RK_OUT_FMT : RK_OTHER;
    case 8:
        return READ_IS(k, "ds_class")   ? RK_DS_CLASS
               : READ_IS(k, "ds_index") ? RK_DS_INDEX
                                        : RK_OTHER;
    default:
        return RK_OTHER; /* "kind", "expanded", "ds" follow from the rest; unknown keys */
    }
}

/* The uint32 member of s a key names, or NULL. */
static uint32_t *
read_sample_u32(sfa_sample *s, int key)
{
    switch (key) {
    case RK_TAG:
        return &s->tag;
    case RK_SEQ:
        return &s->seq;
    case RK_DS_CLASS:
        return &s->ds_class;
    case RK_DS_INDEX:
        return &s->ds_index;
    case RK_RATE:
        return &s->rate;
    case RK_POOL:
        return &s->pool;
    case RK_DROPS:
        return &s->drops;
    case RK_IN_FMT:
        return &s->in_fmt;
    case RK_IN:
        return &s->in_val;
    case RK_OUT_FMT:
        return &s->out_fmt;
    case RK_OUT:
        return &s->out_val;
    case RK_REASON:
        return &s->reason;
    default:
        return NULL;
    }
}

static int
read_status(sfa__mp *m, int *out)
{
    sfa__mpv x;

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
    sfa__mpv a;
    uint64_t tag;

    if (sfa__mp_expect(m, &a, SFA__MP_ARRAY))
        return m->err;
    for (uint32_t i = 0; i < a.n; i++) {
        if (sfa__mp_uint(m, UINT32_MAX, &tag))
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

static int
read_fields(sfa__mp *m, sfa_dgram *d, int *limited)
{
    sfa__mpv map, k;

    if (sfa__mp_expect(m, &map, SFA__MP_MAP))
        return m->err;
    for (uint32_t i = 0; i < map.n; i++) {
        if (sfa__mp_read(m, &k) || read_field(m, d, &k, limited))
            return m->err;
    }
    return 0;
}

static int
read_sample(sfa__mp *m, sfa_dgram *d, int *limited)
{
    sfa__mpv map, k;

    if (d->nsamples >= SFA_DGRAM_MAX_SAMPLES) {
        *limited = 1;
        return sfa__mp_skip(m);
    }
    sfa_sample *s = &d->samples[d->nsamples];
    memset(s, 0, sizeof *s);
    s->rec_first = d->nrecs;
    s->field_first = d->nfields;
    if (sfa__mp_expect(m, &map, SFA__MP_MAP))
        return m->err;
    for (uint32_t i = 0; i < map.n && !m->err; i++) {
        uint64_t v;
        if (sfa__mp_expect(m, &k, SFA__MP_STR))
            break;
        int key = read_sample_key(&k);
        uint32_t *u32 = read_sample_u32(s, key);
        if (u32) {
            if (sfa__mp_uint(m, UINT32_MAX, &v) == 0)
                *u32 = (uint32_t)v;
        } else if (key == RK_STATUS) {
            read_status(m, &s->status);
        } else if (key == RK_RECORDS) {
            read_records(m, d, s, limited);
        } else if (key == RK_FIELDS) {
            read_fields(m, d, limited);
        } else {
            sfa__mp_skip(m);
        }
    }
    if (m->err)
        return m->err;
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
read_dgram(sfa__mp *m, sfa_dgram *d)
{
    sfa__mpv map, k, x;
    uint64_t u;
    int limited = 0;

    read_dgram_reset(d);
    if (sfa__mp_expect(m, &map, SFA__MP_MAP))
        return m->err;
    for (uint32_t i = 0; i < map.n && !m->err; i++) {
        if (sfa__mp_expect(m, &k, SFA__MP_STR))
            break;
        if (SFA__KEY_IS(&k, "agent") || SFA__KEY_IS(&k, "src")) {
            sfa_addr *a = k.n == 5 ? &d->agent : &d->src;
            if (sfa__mp_expect(m, &x, SFA__MP_STR) == 0 && read_addr(x.p, x.n, 1, a))
                sfa__mp_fail(m, SFA_EFORMAT);
        } else if (SFA__KEY_IS(&k, "sub_agent")) {
            if (sfa__mp_uint(m, UINT32_MAX, &u) == 0)
                d->sub_agent = (uint32_t)u;
        } else if (SFA__KEY_IS(&k, "seq")) {
            if (sfa__mp_uint(m, UINT32_MAX, &u) == 0)
                d->seq = (uint32_t)u;
        } else if (SFA__KEY_IS(&k, "uptime")) {
            if (sfa__mp_uint(m, UINT32_MAX, &u) == 0)
                d->uptime = (uint32_t)u;
        } else if (SFA__KEY_IS(&k, "src_port")) {
            if (sfa__mp_uint(m, UINT16_MAX, &u) == 0)
                d->src_port = (uint16_t)u;
        } else if (SFA__KEY_IS(&k, "rx_ms")) {
            sfa__mp_uint(m, UINT64_MAX, &d->rx_ms);
        } else if (SFA__KEY_IS(&k, "len")) {
            if (sfa__mp_uint(m, UINT32_MAX, &u) == 0)
                d->len = (uint32_t)u;
        } else if (SFA__KEY_IS(&k, "version")) {
            if (sfa__mp_uint(m, UINT32_MAX, &u) == 0)
                d->version = (uint32_t)u;
        } else if (SFA__KEY_IS(&k, "status")) {
            read_status(m, &d->status);
        } else if (SFA__KEY_IS(&k, "samples")) {
            if (sfa__mp_expect(m, &x, SFA__MP_ARRAY) == 0) {
                d->nsamples_declared = x.n;
                for (uint32_t j = 0; j < x.n && !m->err; j++)
                    read_sample(m, d, &limited);
            }
        } else {
            sfa__mp_skip(m);
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

    pthread_once(&read_slots_once, read_slots_build);
    sfa__mp_init(&m, env->body, env->body_len);
    if (sfa__mp_expect(&m, &arr, SFA__MP_ARRAY))
        return SFA_EFORMAT;
    for (uint32_t i = 0; i < arr.n; i++) {
        if (read_dgram(&m, scratch))
            return SFA_EFORMAT;
        int rc = cb(scratch, arg);
        if (rc)
            return rc;
    }
    return sfa__mp_left(&m) == 0 ? 0 : SFA_EFORMAT;
}
