/* codec_int.h - private helpers shared by codec.c, codec_read.c, codec_json.c
 * and codec_text.c.
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

#include <endian.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sfa/err.h>
#include <sfa/sflow.h>

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

/* ---- text forms of values (codec_text.c, and inline for the reader) ----
 * The word-at-a-time parsers read whole words past the text, so their
 * callers guarantee how many bytes are readable. */

/* Eight bytes at a time (SWAR): flags are 0x80 in each byte that has the
 * property, exactly (no borrow between bytes), for bytes in any order. */
#define SFA__SWAR_ONES 0x0101010101010101ull
#define SFA__SWAR_LOW7 0x7f7f7f7f7f7f7f7full

/* Flags of the bytes of x equal to c. */
static inline uint64_t
sfa__swar_eq(uint64_t x, uint8_t c)
{
    uint64_t y = x ^ (SFA__SWAR_ONES * c);
    return ~(((y & SFA__SWAR_LOW7) + SFA__SWAR_LOW7) | y | SFA__SWAR_LOW7);
}

/* Flags of the bytes of x that are not ASCII digits. */
static inline uint64_t
sfa__swar_nondigit(uint64_t x)
{
    uint64_t z = x ^ (SFA__SWAR_ONES * '0'); /* a digit becomes 0..9 */
    return (((z & SFA__SWAR_LOW7) + SFA__SWAR_ONES * (0x80 - 10)) | z) & (SFA__SWAR_ONES << 7);
}

/* Flags to bits: byte i of x (little-endian order) to bit i. */
static inline unsigned
sfa__swar_bits(uint64_t flags)
{
    return (unsigned)(((flags >> 7) * 0x0102040810204080ull) >> 56);
}

/* Flags of the bytes of x at least k (bytes with the top bit clear). */
static inline uint64_t
sfa__swar_ge(uint64_t x, uint8_t k)
{
    return ((x & SFA__SWAR_LOW7) + SFA__SWAR_ONES * (uint8_t)(0x80 - k)) & (SFA__SWAR_ONES << 7);
}

/* Eight hexadecimal digits (either case) in x to their values, one a byte;
 * flags in *bad the bytes that are not hexadecimal digits. */
static inline uint64_t
sfa__swar_hex(uint64_t x, uint64_t *bad)
{
    uint64_t lower = x | (SFA__SWAR_ONES * 0x20); /* digits keep their value */
    uint64_t letter = sfa__swar_ge(lower, 'a') & ~sfa__swar_ge(lower, 'f' + 1);

    *bad |= (sfa__swar_nondigit(x) & ~letter) | (x & (SFA__SWAR_ONES << 7));
    /* '0'-'9' are 0x30-0x39; 'A'-'F' and 'a'-'f' have bit 6 set: + 9 */
    return (x & (SFA__SWAR_ONES * 0x0f)) + ((x >> 6) & SFA__SWAR_ONES) * 9;
}

/* Digit values two a byte, pairs to bytes: byte 2j of the result is
 * digit 2j * 16 + digit 2j + 1. */
static inline uint64_t
sfa__swar_pairs(uint64_t v)
{
    return ((v << 4) | (v >> 8)) & 0x00ff00ff00ff00ffull;
}

/* Twelve hexadecimal digits (either case) at p to six bytes, with 16
 * bytes readable at p, eight digits at a time; 0 or -1. */
static inline __attribute__((always_inline)) int
sfa__mac_wide(const uint8_t *p, uint8_t *out)
{
    uint64_t lo, hi, bad = 0;

    memcpy(&lo, p, 8);
    memcpy(&hi, p + 8, 8);
    lo = sfa__swar_pairs(sfa__swar_hex(le64toh(lo), &bad));
    /* Only digits 8 to 11 are in hi: the rest is made '0' */
    hi =
        sfa__swar_pairs(sfa__swar_hex((le64toh(hi) & 0xffffffffull) | 0x3030303000000000ull, &bad));
    if (bad)
        return -1;
    for (int i = 0; i < 4; i++)
        out[i] = (uint8_t)(lo >> 16 * i);
    out[4] = (uint8_t)hi;
    out[5] = (uint8_t)(hi >> 16);
    return 0;
}

/* One octet of 1 to 3 digits at q (3 bytes readable) whose length is len,
 * already known to be digits: its value, flagging in *bad a wrong length,
 * a value over 255 or a leading zero. No branch: octet lengths are as
 * random as the addresses. */
static inline unsigned
sfa__ip4_octet(const uint8_t *q, unsigned len, unsigned *bad)
{
    unsigned a = q[0] - (unsigned)'0', b = q[1] - (unsigned)'0', c = q[2] - (unsigned)'0';
    unsigned v2 = a * 10 + b, v3 = v2 * 10 + c;
    /* Selected with masks, not ?: which the compiler may make a branch. */
    unsigned ge2 = 0u - (len >= 2), ge3 = 0u - (len >= 3);
    unsigned v = a ^ ((a ^ v2) & ge2);

    v ^= (v ^ v3) & ge3;

    *bad |= (len - 1 > 2) | (v > 255) | ((len > 1) & (a == 0));
    return v;
}

/* A dotted quad (p, n), strict as inet_pton (four octets of one to three
 * digits, no leading zeros), with at least 24 bytes readable at p; 0 and
 * the four bytes in out, or -1. The dots and the non-digits are found
 * with a few word operations, then the octets are read with no branch on
 * their lengths, so random addresses cost no mispredictions. */
static inline __attribute__((always_inline)) int
sfa__ip4_wide(const uint8_t *p, size_t n, uint8_t *out)
{
    uint64_t lo, hi;
    unsigned dots, other, live, d1, d2, d3, bad = 0;

    if (n < 7 || n > 15)
        return -1;
    memcpy(&lo, p, 8);
    memcpy(&hi, p + 8, 8);
    lo = le64toh(lo);
    hi = le64toh(hi);
    live = (1u << n) - 1;
    dots = (sfa__swar_bits(sfa__swar_eq(lo, '.')) | sfa__swar_bits(sfa__swar_eq(hi, '.')) << 8);
    other = sfa__swar_bits(sfa__swar_nondigit(lo)) | sfa__swar_bits(sfa__swar_nondigit(hi)) << 8;
    dots &= live;
    if ((other & live) != dots)
        return -1; /* something other than digits and dots */
    /* The first three dots (bit 16 stands in for a missing one, which
     * makes an octet too long), and no fourth. */
    d1 = (unsigned)__builtin_ctz(dots | 0x10000);
    dots &= dots - 1;
    d2 = (unsigned)__builtin_ctz(dots | 0x10000);
    dots &= dots - 1;
    d3 = (unsigned)__builtin_ctz(dots | 0x10000);
    dots &= dots - 1;
    /* One store of the four bytes (in memory order), which a later load
     * of them can take straight from the store buffer. */
    uint32_t word = sfa__ip4_octet(p, d1, &bad) |
                    sfa__ip4_octet(p + d1 + 1, d2 - d1 - 1, &bad) << 8 |
                    sfa__ip4_octet(p + d2 + 1, d3 - d2 - 1, &bad) << 16 |
                    sfa__ip4_octet(p + d3 + 1, (unsigned)n - d3 - 1, &bad) << 24;
    word = htole32(word);
    memcpy(out, &word, sizeof word);
    return bad || dots ? -1 : 0;
}

/* Address text (p, n) to binary; room is how many bytes are readable at p
 * (at least n). Empty text is family 0 (unknown) when allow_empty. Only
 * text with a colon reaches inet_pton (IPv6). 0, or -1 (*out undefined). */
int sfa__codec_addr(const uint8_t *p, size_t n, size_t room, int allow_empty, sfa_addr *out);

/* Twelve hexadecimal digits (either case) to six bytes; 0 or -1 (out is
 * written either way). */
int sfa__codec_mac(const uint8_t *p, size_t n, uint8_t *out);

/* A list-valued field (type SFA_T_U32S, ASPATH or ADAPTERS) whose array
 * header of n elements was read, rendered as text into d's arena and
 * stored in f as SFA_T_STR: 1. 0 when its shape is unexpected or it does
 * not fit (the caller skips it; *limited is set for the latter), or a
 * negative reader error. */
int sfa__codec_list(sfa__mp *m, sfa_dgram *d, sfa_field *f, int type, uint32_t n, int *limited);

#endif
