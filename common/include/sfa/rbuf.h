/* rbuf.h - bounded big-endian (XDR) reader for wire decoders.
 *
 * A cursor over (buf, len) that checks what remains *before* every read.
 * The first failed read sets a sticky error flag; every later read returns
 * zero and consumes nothing, so a decoder can read a whole structure and
 * test sfa_rbuf_ok() once. Never allocates, never reads past len.
 * Header-only so the decoder's hot loop inlines it.
 */
#ifndef SFA_RBUF_H
#define SFA_RBUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct sfa_rbuf {
    const uint8_t *buf; /* borrows */
    size_t len;
    size_t off;
    int err; /* sticky: nonzero once a read did not fit */
} sfa_rbuf;

static inline void
sfa_rbuf_init(sfa_rbuf *rb, const uint8_t *buf, size_t len)
{
    rb->buf = buf;
    rb->len = len;
    rb->off = 0;
    rb->err = 0;
}

static inline size_t
sfa_rbuf_remaining(const sfa_rbuf *rb)
{
    return rb->err ? 0 : rb->len - rb->off;
}

static inline int
sfa_rbuf_ok(const sfa_rbuf *rb)
{
    return !rb->err;
}

/* Current position as a pointer (valid only while !err). */
static inline const uint8_t *
sfa_rbuf_ptr(const sfa_rbuf *rb)
{
    return rb->buf + rb->off;
}

static inline int
sfa_rbuf_need(sfa_rbuf *rb, size_t n)
{
    if (rb->err || n > rb->len - rb->off) {
        rb->err = 1;
        return 0;
    }
    return 1;
}

static inline uint32_t
sfa_rbuf_u32(sfa_rbuf *rb)
{
    if (!sfa_rbuf_need(rb, 4))
        return 0;
    const uint8_t *p = rb->buf + rb->off;
    rb->off += 4;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t
sfa_rbuf_u64(sfa_rbuf *rb)
{
    if (!sfa_rbuf_need(rb, 8))
        return 0;
    uint64_t hi = sfa_rbuf_u32(rb);
    return hi << 32 | sfa_rbuf_u32(rb);
}

static inline float
sfa_rbuf_float(sfa_rbuf *rb)
{
    uint32_t u = sfa_rbuf_u32(rb);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Borrow n raw bytes, then skip the XDR padding to the next 4-byte boundary.
 * Returns a pointer into the buffer, or NULL (and sets err) if they do not fit. */
static inline const uint8_t *
sfa_rbuf_fixed(sfa_rbuf *rb, size_t n)
{
    size_t padded = (n + 3) & ~(size_t)3;
    if (padded < n || !sfa_rbuf_need(rb, padded))
        return NULL;
    const uint8_t *p = rb->buf + rb->off;
    rb->off += padded;
    return p;
}

/* XDR variable opaque/string: 4-byte length, bytes, padding. On success
 * *out borrows the bytes and *n holds the length. */
static inline int
sfa_rbuf_opaque(sfa_rbuf *rb, const uint8_t **out, uint32_t *n)
{
    uint32_t l = sfa_rbuf_u32(rb);
    const uint8_t *p = sfa_rbuf_fixed(rb, l);
    if (!p && l) /* a zero-length opaque is fine even at the very end */
        return -1;
    if (rb->err)
        return -1;
    *out = p ? p : rb->buf + rb->off;
    *n = l;
    return 0;
}

static inline void
sfa_rbuf_skip(sfa_rbuf *rb, size_t n)
{
    if (sfa_rbuf_need(rb, n))
        rb->off += n;
}

/* Carve the next n bytes into *sub (a reader of its own) and advance past
 * them. Sets err on rb if they do not fit; *sub is then empty and in error. */
static inline void
sfa_rbuf_sub(sfa_rbuf *rb, size_t n, sfa_rbuf *sub)
{
    if (!sfa_rbuf_need(rb, n)) {
        sfa_rbuf_init(sub, rb->buf, 0);
        sub->err = 1;
        return;
    }
    sfa_rbuf_init(sub, rb->buf + rb->off, n);
    rb->off += n;
}

#endif
