/* sflow_build.h - a tiny XDR writer for hand-built sFlow datagrams in tests.
 *
 * Tests build datagrams field by field with sb_u32()/sb_opaque()/..., open a
 * length-prefixed object (sample, record) with sb_open() and close it with
 * sb_close(), which patches the length. Everything lives in one fixed
 * buffer; overflowing it aborts the test (a bug in the test itself).
 */
#ifndef SFLOW_BUILD_H
#define SFLOW_BUILD_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/sflow.h>

typedef struct sb {
    uint8_t buf[65536];
    size_t len;
} sb;

static inline void
sb_room(sb *b, size_t n)
{
    if (b->len + n > sizeof b->buf) {
        fprintf(stderr, "sflow_build: buffer full\n");
        abort();
    }
}

static inline void
sb_u32(sb *b, uint32_t v)
{
    sb_room(b, 4);
    b->buf[b->len++] = (uint8_t)(v >> 24);
    b->buf[b->len++] = (uint8_t)(v >> 16);
    b->buf[b->len++] = (uint8_t)(v >> 8);
    b->buf[b->len++] = (uint8_t)v;
}

static inline void
sb_u64(sb *b, uint64_t v)
{
    sb_u32(b, (uint32_t)(v >> 32));
    sb_u32(b, (uint32_t)v);
}

/* n raw bytes, then XDR zero padding to a multiple of 4. */
static inline void
sb_fixed(sb *b, const void *p, size_t n)
{
    size_t pad = (4 - n % 4) % 4;
    sb_room(b, n + pad);
    memcpy(b->buf + b->len, p, n);
    memset(b->buf + b->len + n, 0, pad);
    b->len += n + pad;
}

/* Raw bytes with no padding (for deliberately odd layouts). */
static inline void
sb_raw(sb *b, const void *p, size_t n)
{
    sb_room(b, n);
    memcpy(b->buf + b->len, p, n);
    b->len += n;
}

static inline void
sb_opaque(sb *b, const void *p, size_t n)
{
    sb_u32(b, (uint32_t)n);
    sb_fixed(b, p, n);
}

static inline void
sb_str(sb *b, const char *s)
{
    sb_opaque(b, s, strlen(s));
}

static inline void
sb_ip4(sb *b, uint8_t a, uint8_t b1, uint8_t c, uint8_t d)
{
    uint8_t ip[4] = {a, b1, c, d};
    sb_fixed(b, ip, 4);
}

/* Tag and a length placeholder; returns the placeholder's offset. */
static inline size_t
sb_open(sb *b, uint32_t tag)
{
    sb_u32(b, tag);
    size_t at = b->len;
    sb_u32(b, 0);
    return at;
}

static inline void
sb_close(sb *b, size_t at)
{
    uint32_t n = (uint32_t)(b->len - at - 4);
    b->buf[at] = (uint8_t)(n >> 24);
    b->buf[at + 1] = (uint8_t)(n >> 16);
    b->buf[at + 2] = (uint8_t)(n >> 8);
    b->buf[at + 3] = (uint8_t)n;
}

/* Overwrite the 32-bit word at byte offset at. */
static inline void
sb_poke(sb *b, size_t at, uint32_t v)
{
    b->buf[at] = (uint8_t)(v >> 24);
    b->buf[at + 1] = (uint8_t)(v >> 16);
    b->buf[at + 2] = (uint8_t)(v >> 8);
    b->buf[at + 3] = (uint8_t)v;
}

/* v5 header with an IPv4 agent 192.0.2.1; returns the offset of num_samples. */
static inline size_t
sb_dgram(sb *b, uint32_t nsamples)
{
    b->len = 0;
    sb_u32(b, 5);
    sb_u32(b, 1);
    sb_ip4(b, 192, 0, 2, 1);
    sb_u32(b, 7);    /* sub-agent */
    sb_u32(b, 42);   /* sequence */
    sb_u32(b, 1000); /* uptime */
    size_t at = b->len;
    sb_u32(b, nsamples);
    return at;
}

/* Open a compact flow sample (0:1) with rate 100, in 3, out 4; the caller
 * writes the record count and records, then sb_close()s it. */
static inline size_t
sb_flow_sample(sb *b)
{
    size_t at = sb_open(b, 1);
    sb_u32(b, 11);  /* sequence */
    sb_u32(b, 3);   /* source id: class 0, index 3 */
    sb_u32(b, 100); /* rate */
    sb_u32(b, 5000);
    sb_u32(b, 0);
    sb_u32(b, 3);
    sb_u32(b, 4);
    return at;
}

/* First field with id in sample s, or NULL. */
static inline const sfa_field *
sb_field(const sfa_dgram *d, const sfa_sample *s, unsigned id)
{
    for (uint32_t i = 0; i < s->field_count; i++)
        if (d->fields[s->field_first + i].id == id)
            return &d->fields[s->field_first + i];
    return NULL;
}

/* How many fields with id sample s has. */
static inline unsigned
sb_count(const sfa_dgram *d, const sfa_sample *s, unsigned id)
{
    unsigned n = 0;
    for (uint32_t i = 0; i < s->field_count; i++)
        n += d->fields[s->field_first + i].id == id;
    return n;
}

/* Unsigned value of field id, or ~0 when absent. */
static inline uint64_t
sb_u(const sfa_dgram *d, const sfa_sample *s, unsigned id)
{
    const sfa_field *f = sb_field(d, s, id);
    return f ? f->v.u : ~(uint64_t)0;
}

/* 1 if field id holds the n bytes p in v.a (addresses, MACs). */
static inline int
sb_a(const sfa_dgram *d, const sfa_sample *s, unsigned id, const void *p, size_t n)
{
    const sfa_field *f = sb_field(d, s, id);
    return f && memcmp(f->v.a, p, n) == 0;
}

/* 1 if string/opaque field id equals the C string str. */
static inline int
sb_s(const sfa_dgram *d, const sfa_sample *s, unsigned id, const char *str)
{
    const sfa_field *f = sb_field(d, s, id);
    return f && f->n == strlen(str) && memcmp(f->v.p, str, f->n) == 0;
}

#endif
