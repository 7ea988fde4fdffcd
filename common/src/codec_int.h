/* codec_int.h - private helpers shared by codec.c, codec_read.c, codec_json.c.
 *
 * The heart of it is a msgpack cursor reader in the style of sfa_rbuf: a
 * cursor over (buf, len) that checks what remains *before* every read, with
 * a sticky error (SFA_ETRUNC when the input ends early, SFA_EFORMAT for a
 * byte that is not msgpack or a value of the wrong type). Reading never
 * allocates and never copies: strings, binaries and ext bodies borrow the
 * buffer. Array and map counts are checked against the bytes that remain
 * (every element needs at least one byte), so a lying count fails at once
 * instead of driving a long loop. Header-only so the readers inline it.
 */
#ifndef SFA_CODEC_INT_H
#define SFA_CODEC_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sfa/err.h>

enum sfa__mp_kind {
    SFA__MP_NIL = 1,
    SFA__MP_BOOL,  /* v.u is 0 or 1 */
    SFA__MP_UINT,  /* v.u; every non-negative integer, whatever its wire form */
    SFA__MP_INT,   /* v.i; only negative integers */
    SFA__MP_FLOAT, /* v.d (float32 widened) */
    SFA__MP_STR,   /* p, n */
    SFA__MP_BIN,   /* p, n */
    SFA__MP_ARRAY, /* n elements follow */
    SFA__MP_MAP,   /* n key/value pairs follow */
    SFA__MP_EXT,   /* ext type in v.i, body p, n */
};

typedef struct sfa__mpv {
    int kind;
    uint32_t n;
    const uint8_t *p; /* borrows the buffer (STR, BIN, EXT) */
    union {
        uint64_t u;
        int64_t i;
        double d;
    } v;
} sfa__mpv;

typedef struct sfa__mp {
    const uint8_t *p; /* borrows */
    const uint8_t *end;
    int err; /* sticky: 0, SFA_ETRUNC or SFA_EFORMAT */
} sfa__mp;

static inline void
sfa__mp_init(sfa__mp *m, const uint8_t *buf, size_t len)
{
    m->p = buf;
    m->end = buf + len;
    m->err = 0;
}

static inline size_t
sfa__mp_left(const sfa__mp *m)
{
    return (size_t)(m->end - m->p);
}

static inline int
sfa__mp_fail(sfa__mp *m, int code)
{
    if (!m->err)
        m->err = code;
    return m->err;
}

static inline uint64_t
sfa__mp_be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Take n bytes of body (after the header); NULL on truncation. */
static inline const uint8_t *
sfa__mp_take(sfa__mp *m, size_t n)
{
    if (n > sfa__mp_left(m)) {
        sfa__mp_fail(m, SFA_ETRUNC);
        return NULL;
    }
    const uint8_t *p = m->p;
    m->p += n;
    return p;
}

/* Body of a str/bin/ext whose length field is lb bytes wide (0: length given). */
static inline int
sfa__mp_body(sfa__mp *m, sfa__mpv *v, int kind, unsigned lb, uint32_t n)
{
    if (lb) {
        const uint8_t *h = sfa__mp_take(m, lb);
        if (!h)
            return m->err;
        n = (uint32_t)sfa__mp_be(h, lb);
    }
    v->kind = kind;
    v->n = n;
    v->p = sfa__mp_take(m, n);
    return v->p ? 0 : m->err;
}

/* Array/map header whose count field is cb bytes wide (0: count given). */
static inline int
sfa__mp_container(sfa__mp *m, sfa__mpv *v, int kind, unsigned cb, uint32_t n)
{
    if (cb) {
        const uint8_t *h = sfa__mp_take(m, cb);
        if (!h)
            return m->err;
        n = (uint32_t)sfa__mp_be(h, cb);
    }
    /* Every element takes at least one byte: a count beyond that is a lie. */
    uint64_t need = kind == SFA__MP_MAP ? (uint64_t)n * 2 : n;
    if (need > sfa__mp_left(m))
        return sfa__mp_fail(m, SFA_ETRUNC);
    v->kind = kind;
    v->n = n;
    return 0;
}

/* Fixed-size scalar of n bytes after the type byte. */
static inline int
sfa__mp_scalar(sfa__mp *m, sfa__mpv *v, uint8_t t, unsigned n)
{
    const uint8_t *h = sfa__mp_take(m, n);
    if (!h)
        return m->err;
    uint64_t raw = sfa__mp_be(h, n);
    if (t == 0xca) {
        uint32_t u32 = (uint32_t)raw;
        float f;
        memcpy(&f, &u32, sizeof f);
        v->kind = SFA__MP_FLOAT;
        v->v.d = f;
    } else if (t == 0xcb) {
        v->kind = SFA__MP_FLOAT;
        memcpy(&v->v.d, &raw, sizeof v->v.d);
    } else if (t >= 0xcc && t <= 0xcf) {
        v->kind = SFA__MP_UINT;
        v->v.u = raw;
    } else {
        /* Signed 0xd0..0xd3: sign-extend from n bytes. */
        unsigned shift = 64 - 8 * n;
        int64_t s = (int64_t)(raw << shift) >> shift;
        v->kind = s < 0 ? SFA__MP_INT : SFA__MP_UINT;
        v->v.i = s;
    }
    return 0;
}

/* sfa__mp_read for everything but positive fixints and fixstrs (which it
 * handles inline); the type byte is consumed already. Not inlined: it is
 * big, and the common items never reach it. */
static __attribute__((noinline, unused)) int
sfa__mp_read_slow(sfa__mp *m, sfa__mpv *v, uint8_t t)
{
    if (t >= 0xe0) {
        v->kind = SFA__MP_INT;
        v->v.i = (int8_t)t;
        return 0;
    }
    if (t <= 0x8f)
        return sfa__mp_container(m, v, SFA__MP_MAP, 0, t & 0x0f);
    if (t <= 0x9f)
        return sfa__mp_container(m, v, SFA__MP_ARRAY, 0, t & 0x0f);
    if (t <= 0xbf)
        return sfa__mp_body(m, v, SFA__MP_STR, 0, t & 0x1f);
    switch (t) {
    case 0xc0:
        v->kind = SFA__MP_NIL;
        return 0;
    case 0xc2:
    case 0xc3:
        v->kind = SFA__MP_BOOL;
        v->v.u = t == 0xc3;
        return 0;
    case 0xc4:
    case 0xc5:
    case 0xc6:
        return sfa__mp_body(m, v, SFA__MP_BIN, 1u << (t - 0xc4), 0);
    case 0xc7:
    case 0xc8:
    case 0xc9: {
        /* ext 8/16/32: length, then the type byte, then the body. */
        unsigned lb = 1u << (t - 0xc7);
        const uint8_t *h = sfa__mp_take(m, lb + 1);
        if (!h)
            return m->err;
        v->v.i = (int8_t)h[lb];
        return sfa__mp_body(m, v, SFA__MP_EXT, 0, (uint32_t)sfa__mp_be(h, lb));
    }
    case 0xca:
    case 0xce:
    case 0xd2:
        return sfa__mp_scalar(m, v, t, 4);
    case 0xcb:
    case 0xcf:
    case 0xd3:
        return sfa__mp_scalar(m, v, t, 8);
    case 0xcc:
    case 0xd0:
        return sfa__mp_scalar(m, v, t, 1);
    case 0xcd:
    case 0xd1:
        return sfa__mp_scalar(m, v, t, 2);
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8: {
        /* fixext 1/2/4/8/16: type byte, then the body. */
        const uint8_t *h = sfa__mp_take(m, 1);
        if (!h)
            return m->err;
        v->v.i = (int8_t)h[0];
        return sfa__mp_body(m, v, SFA__MP_EXT, 0, 1u << (t - 0xd4));
    }
    case 0xd9:
    case 0xda:
    case 0xdb:
        return sfa__mp_body(m, v, SFA__MP_STR, 1u << (t - 0xd9), 0);
    case 0xdc:
    case 0xdd:
        return sfa__mp_container(m, v, SFA__MP_ARRAY, 2u << (t - 0xdc), 0);
    case 0xde:
    case 0xdf:
        return sfa__mp_container(m, v, SFA__MP_MAP, 2u << (t - 0xde), 0);
    default: /* 0xc1 is never used */
        return sfa__mp_fail(m, SFA_EFORMAT);
    }
}

/* Read one header. Containers leave their elements unread; str, bin and
 * ext are consumed whole. Returns 0 or the sticky error. */
static inline int
sfa__mp_read(sfa__mp *m, sfa__mpv *v)
{
    if (m->err)
        return m->err;
    if (m->p >= m->end)
        return sfa__mp_fail(m, SFA_ETRUNC);
    uint8_t t = *m->p++;
    if (t <= 0x7f) {
        v->kind = SFA__MP_UINT;
        v->v.u = t;
        return 0;
    }
    if ((t & 0xe0) == 0xa0) {
        uint32_t n = t & 0x1f;
        if (n > sfa__mp_left(m))
            return sfa__mp_fail(m, SFA_ETRUNC);
        v->kind = SFA__MP_STR;
        v->n = n;
        v->p = m->p;
        m->p += n;
        return 0;
    }
    return sfa__mp_read_slow(m, v, t);
}

/* Skip one whole object, nested or not, without recursion. */
static inline int
sfa__mp_skip(sfa__mp *m)
{
    uint64_t pending = 1;
    sfa__mpv v;

    while (pending) {
        if (sfa__mp_read(m, &v))
            return m->err;
        pending--;
        if (v.kind == SFA__MP_ARRAY)
            pending += v.n;
        else if (v.kind == SFA__MP_MAP)
            pending += (uint64_t)v.n * 2;
    }
    return 0;
}

/* Read a value that must be of kind; SFA_EFORMAT otherwise. */
static inline int
sfa__mp_expect(sfa__mp *m, sfa__mpv *v, int kind)
{
    if (sfa__mp_read(m, v))
        return m->err;
    return v->kind == kind ? 0 : sfa__mp_fail(m, SFA_EFORMAT);
}

/* An unsigned integer no larger than max. */
static inline int
sfa__mp_uint(sfa__mp *m, uint64_t max, uint64_t *out)
{
    sfa__mpv v;
    if (sfa__mp_expect(m, &v, SFA__MP_UINT))
        return m->err;
    if (v.v.u > max)
        return sfa__mp_fail(m, SFA_EFORMAT);
    *out = v.v.u;
    return 0;
}

/* Key comparison: a msgpack str (p, n) against a C literal. */
#define SFA__KEY_IS(v, lit)                                                                        \
    ((v)->n == sizeof(lit) - 1 && memcmp((v)->p, (lit), sizeof(lit) - 1) == 0)

/* Strict UTF-8 check (no overlongs, no surrogates, nothing past U+10FFFF),
 * with a fast path for ASCII: msgpack str must be UTF-8, and jansson
 * refuses anything else. */
static inline int
sfa__utf8_valid(const uint8_t *p, size_t n)
{
    size_t i = 0;

    while (i < n) {
        /* ASCII fast path, eight bytes at a time. */
        if (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if (!(w & 0x8080808080808080ull)) {
                i += 8;
                continue;
            }
        }
        uint8_t c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp, min;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2, cp = c & 0x1f, min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3, cp = c & 0x0f, min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (len > n - i)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += len;
    }
    return 1;
}

#endif
