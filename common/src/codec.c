/* codec.c - the msgpack encoder of bus messages.
 *
 * Turns decoded sFlow datagrams (sfa_dgram) into sample messages: topic,
 * NUL, envelope map, body array of datagram maps (proto/SCHEMA.md is the
 * contract), written into the caller's buffer: nothing is allocated. The
 * envelope's seq and ts_ms are fixed-width uint64 placeholders and the body
 * is an array32, so sfa_batch_finish patches them in place.
 *
 * This is the collector's per-datagram path, so it is written for speed.
 * msgpack-c's packer (write callback into the sfa_wbuf) writes the envelope
 * and the rare list-valued fields (U32S, AS paths, adapters). The parts
 * repeated per sample - map keys, integers, addresses, MACs - are emitted
 * by the small mp_put_* writers below into space reserved once per field
 * (codec_reserve/codec_commit): the packer calls its callback once per
 * item, about 90 times per flow sample, which measured ~430 ns per flow
 * sample against ~135 ns for this path (tests/bench/bench_codec.c).
 * Field-name keys are msgpack-encoded at compile time (one fixed 32-byte
 * copy each); IPv4, IPv6, MAC and decimal text are formatted by hand;
 * values are dispatched by type, never by name. It does not decode
 * (codec_read.c), name topics (codec_topic.c) or touch JSON
 * (codec_json.c). No globals; thread-safe.
 */
#include <string.h>

#include <msgpack.h>

#include <sfa/codec.h>

#include "codec_int.h"

/* Small writers of the hot path: the compiler must not outline them. */
#define CODEC_INLINE static inline __attribute__((always_inline))

static const char codec_hex_lower[] = "0123456789abcdef";

/* ---- the write buffer ---- */

void
sfa_wbuf_init(sfa_wbuf *w, uint8_t *buf, size_t cap)
{
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->err = 0;
}

CODEC_INLINE int
codec_put(sfa_wbuf *w, const void *p, size_t n)
{
    if (w->err || n > w->cap - w->len) {
        w->err = 1;
        return -1;
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
    return 0;
}

/* msgpack_packer write callback: append to the sfa_wbuf in data. */
static int
codec_write(void *data, const char *buf, size_t len)
{
    return codec_put(data, buf, len);
}

/* ---- text helpers (hand-written: this is the hot path) ---- */

/* Decimal digits of v into out; returns the length (no NUL). */
CODEC_INLINE size_t
codec_fmt_u32(uint32_t v, char *out)
{
    char tmp[10];
    size_t n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* Decimal text of every octet value, built at compile time: up to three
 * digits, then the digit count, so one 4-byte copy writes an octet. */
typedef struct codec_octet {
    char d[3];
    uint8_t len;
} codec_octet;

/* Digit k (0 = first) of octet n's decimal text, as a char (0 past the end). */
#define CODEC_DIGIT(n, k)                                                                          \
    (char)((n) >= 100  ? '0' + ((k) == 0   ? (n) / 100                                             \
                                : (k) == 1 ? (n) / 10 % 10                                         \
                                           : (n) % 10)                                             \
           : (n) >= 10 ? ((k) == 0   ? '0' + (n) / 10                                              \
                          : (k) == 1 ? '0' + (n) % 10                                              \
                                     : 0)                                                          \
                       : ((k) == 0 ? '0' + (n) : 0))
#define CODEC_OCT(n)                                                                               \
    {                                                                                              \
        {CODEC_DIGIT(n, 0), CODEC_DIGIT(n, 1), CODEC_DIGIT(n, 2)}, (uint8_t)((n) >= 100  ? 3       \
                                                                             : (n) >= 10 ? 2       \
                                                                                         : 1)      \
    }
#define CODEC_OCT4(n) CODEC_OCT(n), CODEC_OCT(n + 1), CODEC_OCT(n + 2), CODEC_OCT(n + 3)
#define CODEC_OCT16(n) CODEC_OCT4(n), CODEC_OCT4(n + 4), CODEC_OCT4(n + 8), CODEC_OCT4(n + 12)
#define CODEC_OCT64(n) CODEC_OCT16(n), CODEC_OCT16(n + 16), CODEC_OCT16(n + 32), CODEC_OCT16(n + 48)

static const codec_octet codec_octets[256] = {
    CODEC_OCT64(0),
    CODEC_OCT64(64),
    CODEC_OCT64(128),
    CODEC_OCT64(192),
};

/* Dotted quad at out. Writes up to 4 bytes past the returned length (whole
 * table entries): every caller formats into reserved room or scratch
 * space with at least that much to spare. */
CODEC_INLINE size_t
codec_fmt_ip4(const uint8_t *a, char *out)
{
    size_t n = 0;

    for (int i = 0; i < 4; i++) {
        const codec_octet *o = &codec_octets[a[i]];
        memcpy(out + n, o, 4);
        n += o->len;
        out[n++] = '.';
    }
    return n - 1;
}

/* RFC 5952 text, byte for byte what glibc's inet_ntop prints (including its
 * dotted tail for ::ffff:a.b.c.d and ::a.b.c.d), so text made here and by
 * sfa_addr_format always agrees. */
static size_t
codec_fmt_ip6(const uint8_t *a, char *out)
{
    unsigned w[8];
    int best = -1, best_len = 0, cur = -1, cur_len = 0;
    size_t n = 0;

    for (int i = 0; i < 8; i++) {
        w[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
        if (w[i] == 0) {
            if (cur < 0)
                cur = i, cur_len = 0;
            if (++cur_len > best_len)
                best = cur, best_len = cur_len;
        } else {
            cur = -1;
        }
    }
    if (best_len < 2)
        best = -1;
    for (int i = 0; i < 8; i++) {
        if (best >= 0 && i >= best && i < best + best_len) {
            if (i == best)
                out[n++] = ':';
            continue;
        }
        if (i)
            out[n++] = ':';
        if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff)))
            return n + codec_fmt_ip4(a + 12, out + n);
        int started = 0;
        for (int s = 12; s >= 0; s -= 4) {
            unsigned d = (w[i] >> s) & 0xf;
            if (d || started || s == 0) {
                out[n++] = codec_hex_lower[d];
                started = 1;
            }
        }
    }
    if (best >= 0 && best + best_len == 8)
        out[n++] = ':';
    return n;
}

/* ---- hand-written msgpack writers (hot path) ----
 * Each writes one msgpack item at q, where the caller has reserved room
 * for it, and returns the end of what it wrote. */

CODEC_INLINE uint8_t *
mp_put_be(uint8_t *q, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        q[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    return q + n;
}

/* The smallest form of an unsigned integer (as msgpack-c packs it). */
CODEC_INLINE uint8_t *
mp_put_uint(uint8_t *q, uint64_t v)
{
    if (v < 0x80) {
        *q = (uint8_t)v;
        return q + 1;
    }
    if (v <= 0xff) {
        *q = 0xcc;
        return mp_put_be(q + 1, v, 1);
    }
    if (v <= 0xffff) {
        *q = 0xcd;
        return mp_put_be(q + 1, v, 2);
    }
    if (v <= 0xffffffff) {
        *q = 0xce;
        return mp_put_be(q + 1, v, 4);
    }
    *q = 0xcf;
    return mp_put_be(q + 1, v, 8);
}

CODEC_INLINE uint8_t *
mp_put_int(uint8_t *q, int64_t v)
{
    if (v >= 0)
        return mp_put_uint(q, (uint64_t)v);
    if (v >= -32) {
        *q = (uint8_t)(0xe0 | (v & 0x1f));
        return q + 1;
    }
    if (v >= INT8_MIN) {
        *q = 0xd0;
        return mp_put_be(q + 1, (uint64_t)v, 1);
    }
    if (v >= INT16_MIN) {
        *q = 0xd1;
        return mp_put_be(q + 1, (uint64_t)v, 2);
    }
    if (v >= INT32_MIN) {
        *q = 0xd2;
        return mp_put_be(q + 1, (uint64_t)v, 4);
    }
    *q = 0xd3;
    return mp_put_be(q + 1, (uint64_t)v, 8);
}

CODEC_INLINE uint8_t *
mp_put_f64(uint8_t *q, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    *q = 0xcb;
    return mp_put_be(q + 1, u, 8);
}

/* Array or map header: fix form (fix | n) below 16, else 16/32-bit count. */
CODEC_INLINE uint8_t *
mp_put_hdr(uint8_t *q, uint8_t fix, uint8_t b16, uint32_t n)
{
    if (n < 16) {
        *q = (uint8_t)(fix | n);
        return q + 1;
    }
    if (n <= 0xffff) {
        *q = b16;
        return mp_put_be(q + 1, n, 2);
    }
    *q = (uint8_t)(b16 + 1);
    return mp_put_be(q + 1, n, 4);
}

#define mp_put_map(q, n) mp_put_hdr((q), 0x80, 0xde, (n))
#define mp_put_array(q, n) mp_put_hdr((q), 0x90, 0xdc, (n))

/* str (fix/8/16/32) or bin (8/16/32) header of n bytes. */
CODEC_INLINE uint8_t *
mp_put_raw_hdr(uint8_t *q, int bin, uint32_t n)
{
    if (!bin && n < 32) {
        *q = (uint8_t)(0xa0 | n);
        return q + 1;
    }
    uint8_t base = bin ? 0xc4 : 0xd9;
    if (n <= 0xff) {
        *q = base;
        return mp_put_be(q + 1, n, 1);
    }
    if (n <= 0xffff) {
        *q = (uint8_t)(base + 1);
        return mp_put_be(q + 1, n, 2);
    }
    *q = (uint8_t)(base + 2);
    return mp_put_be(q + 1, n, 4);
}

/* A short text (under 32 bytes) as a fixstr. */
CODEC_INLINE uint8_t *
mp_put_fixstr(uint8_t *q, const char *s, size_t n)
{
    *q = (uint8_t)(0xa0 | n);
    memcpy(q + 1, s, n);
    return q + 1 + n;
}

/* A literal key or value; the length folds to a constant. */
#define LIT(q, s) mp_put_fixstr((q), (s), sizeof(s) - 1)

/* Address text, or "" for family 0 (at most 41 bytes). */
CODEC_INLINE uint8_t *
mp_put_addr(uint8_t *q, int family, const uint8_t *a)
{
    if (family == 4) {
        size_t n = codec_fmt_ip4(a, (char *)q + 1);
        *q = (uint8_t)(0xa0 | n);
        return q + 1 + n;
    }
    if (family == 6) {
        char tmp[48];
        size_t n = codec_fmt_ip6(a, tmp);
        q = mp_put_raw_hdr(q, 0, (uint32_t)n);
        memcpy(q, tmp, n);
        return q + n;
    }
    *q = 0xa0;
    return q + 1;
}

/* "00" "01" ... "FF": two uppercase hex digits per byte value. */
#define CODEC_HEX_ROW(h)                                                                           \
    h "0" h "1" h "2" h "3" h "4" h "5" h "6" h "7" h "8" h "9" h "A" h "B" h "C" h "D" h "E" h "F"
static const char codec_hex_pairs[513] = CODEC_HEX_ROW("0") CODEC_HEX_ROW("1") CODEC_HEX_ROW("2")
    CODEC_HEX_ROW("3") CODEC_HEX_ROW("4") CODEC_HEX_ROW("5") CODEC_HEX_ROW("6") CODEC_HEX_ROW("7")
        CODEC_HEX_ROW("8") CODEC_HEX_ROW("9") CODEC_HEX_ROW("A") CODEC_HEX_ROW("B")
            CODEC_HEX_ROW("C") CODEC_HEX_ROW("D") CODEC_HEX_ROW("E") CODEC_HEX_ROW("F");

/* MAC as 12 uppercase hex digits (sFlow-RT's form). */
CODEC_INLINE uint8_t *
mp_put_mac(uint8_t *q, const uint8_t *m)
{
    *q++ = 0xac;
    for (int i = 0; i < 6; i++, q += 2)
        memcpy(q, codec_hex_pairs + 2 * m[i], 2);
    return q;
}

/* ---- reserved writes ----
 * codec_reserve returns where to write n bytes: in the buffer when it has
 * room, else in the caller's tmp (n bytes). codec_commit then accounts for
 * what was written, copying from tmp through the checked codec_put, which
 * sets the sticky error if it does not fit. The buffer cursor is loaded and
 * stored once per reservation, not once per item. */
CODEC_INLINE uint8_t *
codec_reserve(sfa_wbuf *w, uint8_t *tmp, size_t n)
{
    return !w->err && w->cap - w->len >= n ? w->buf + w->len : tmp;
}

CODEC_INLINE void
codec_commit(sfa_wbuf *w, const uint8_t *start, const uint8_t *end, const uint8_t *tmp)
{
    if (start == tmp)
        codec_put(w, tmp, (size_t)(end - start));
    else
        w->len += (size_t)(end - start);
}

/* ---- field names ---- */

/* Field-name keys, msgpack-encoded at compile time: a fixstr byte, then the
 * name. Names are at most 31 bytes (checked below), so every entry is 32
 * bytes and is copied whole; only 1 + length of it is kept. */
typedef struct codec_key {
    uint8_t hdr;
    char name[31];
} codec_key;

#define SFA_FIELD(id, name, type, doc)                                                             \
    _Static_assert(sizeof(name) >= 2 && sizeof(name) <= 32, "field name length: " name);
#include <sfa/fields.def>
#undef SFA_FIELD

static const codec_key codec_keys[SFA_F__COUNT] = {
#define SFA_FIELD(id, name, type, doc) [SFA_F_##id] = {0xa0 | (sizeof(name) - 1), name},
#include <sfa/fields.def>
#undef SFA_FIELD
};

/* ---- list-valued fields (rare): through msgpack-c's packer ---- */

CODEC_INLINE uint32_t
codec_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A literal map key through the packer. */
static void
codec_pack_key(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* AS path: array of {"type": 1 set | 2 sequence, "as": [uint...]}, read from
 * the validated XDR segments (type, count, ASNs). */
static void
codec_aspath(msgpack_packer *pk, const uint8_t *p, uint32_t nseg)
{
    msgpack_pack_array(pk, nseg);
    for (uint32_t s = 0; s < nseg; s++) {
        uint32_t type = codec_be32(p), cnt = codec_be32(p + 4);
        p += 8;
        msgpack_pack_map(pk, 2);
        codec_pack_key(pk, "type");
        msgpack_pack_uint32(pk, type);
        codec_pack_key(pk, "as");
        msgpack_pack_array(pk, cnt);
        for (uint32_t i = 0; i < cnt; i++, p += 4)
            msgpack_pack_uint32(pk, codec_be32(p));
    }
}

/* Host adapters: array of {"ifindex": uint, "macs": [MAC text...]}, read
 * from the validated XDR (ifIndex, MAC count, 8-byte padded MACs). */
static void
codec_adapters(msgpack_packer *pk, const uint8_t *p, uint32_t n)
{
    msgpack_pack_array(pk, n);
    for (uint32_t a = 0; a < n; a++) {
        uint32_t ifindex = codec_be32(p), cnt = codec_be32(p + 4);
        p += 8;
        msgpack_pack_map(pk, 2);
        codec_pack_key(pk, "ifindex");
        msgpack_pack_uint32(pk, ifindex);
        codec_pack_key(pk, "macs");
        msgpack_pack_array(pk, cnt);
        for (uint32_t i = 0; i < cnt; i++, p += 8) {
            uint8_t tmp[13];
            mp_put_mac(tmp, p);
            msgpack_pack_str_with_body(pk, tmp + 1, 12);
        }
    }
}

static void
codec_list(sfa_wbuf *w, const sfa_field *f)
{
    msgpack_packer pk;

    msgpack_packer_init(&pk, w, codec_write);
    if (f->type == SFA_T_U32S) {
        msgpack_pack_array(&pk, f->n);
        for (uint32_t i = 0; i < f->n; i++)
            msgpack_pack_uint32(&pk, codec_be32(f->v.p + 4 * (size_t)i));
    } else if (f->type == SFA_T_ASPATH) {
        codec_aspath(&pk, f->v.p, f->n);
    } else {
        codec_adapters(&pk, f->v.p, f->n);
    }
}

/* ---- samples ---- */

/* Room for one field: the 32-byte key copy plus the largest scalar value
 * (IPv6 text as str8: 2 + 39). */
#define CODEC_FIELD_ROOM 80

/* The name of field f as a key at q: the 32-byte entry is copied whole and
 * only 1 + length of it kept. An id outside the table has no name: "". */
CODEC_INLINE uint8_t *
mp_put_field_key(uint8_t *q, const sfa_field *f)
{
    if (f->id >= SFA_F__COUNT) {
        *q = 0xa0;
        return q + 1;
    }
    const codec_key *k = &codec_keys[f->id];
    size_t n = 1 + (k->hdr & 0x1f);
    /* Most names are short: one 16-byte copy instead of two. */
    memcpy(q, k, 16);
    if (n > 16)
        memcpy(q + 16, (const uint8_t *)k + 16, 16);
    return q + n;
}

/* A fixed-size value (at most 41 bytes) at q; NULL for the types whose
 * size depends on their data (STR, BIN, lists). */
CODEC_INLINE uint8_t *
mp_put_scalar(uint8_t *q, const sfa_field *f)
{
    /* Most fields of a flow sample are small unsigned numbers: test for
     * them before the jump table. */
    if (f->type == SFA_T_U) {
        if (f->v.u < 0x80) {
            *q = (uint8_t)f->v.u;
            return q + 1;
        }
        return mp_put_uint(q, f->v.u);
    }
    switch (f->type) {
    case SFA_T_U:
        return mp_put_uint(q, f->v.u);
    case SFA_T_I:
        return mp_put_int(q, f->v.i);
    case SFA_T_F:
        return mp_put_f64(q, f->v.d);
    case SFA_T_BOOL:
        *q = f->v.u ? 0xc3 : 0xc2;
        return q + 1;
    case SFA_T_IP4:
        return mp_put_addr(q, 4, f->v.a);
    case SFA_T_IP6:
        return mp_put_addr(q, 6, f->v.a);
    case SFA_T_MAC:
        return mp_put_mac(q, f->v.a);
    case SFA_T_STR:
    case SFA_T_BIN:
    case SFA_T_U32S:
    case SFA_T_ASPATH:
    case SFA_T_ADAPTERS:
        return NULL;
    default:
        *q = 0xc0; /* keeps the map's pair count right for a type we do not know */
        return q + 1;
    }
}

/* Header of a STR or BIN value: text that is not valid UTF-8 goes out as
 * bin, because msgpack str is UTF-8. */
CODEC_INLINE uint8_t *
mp_put_raw_field_hdr(uint8_t *q, const sfa_field *f)
{
    return mp_put_raw_hdr(q, f->type == SFA_T_BIN || !sfa__utf8_valid(f->v.p, f->n), f->n);
}

/* One "name": value pair through the checked writes; the slow path of
 * codec_fields, used near the end of the buffer and for lists. */
static void
codec_field_checked(sfa_wbuf *w, const sfa_field *f)
{
    uint8_t tmp[CODEC_FIELD_ROOM];
    uint8_t *start = codec_reserve(w, tmp, sizeof tmp);
    uint8_t *q = mp_put_field_key(start, f), *v = mp_put_scalar(q, f);

    if (v) {
        codec_commit(w, start, v, tmp);
    } else if (f->type == SFA_T_STR || f->type == SFA_T_BIN) {
        codec_commit(w, start, mp_put_raw_field_hdr(q, f), tmp);
        codec_put(w, f->v.p, f->n);
    } else {
        codec_commit(w, start, q, tmp);
        codec_list(w, f);
    }
}

/* The pairs of a sample's "fields" map. While the buffer has room for the
 * largest fixed-size pair, the cursor stays in a local (a register) and
 * the buffer's length is written back once at the end. */
CODEC_INLINE void
codec_fields(sfa_wbuf *w, const sfa_field *f, uint32_t n)
{
    uint8_t *q, *end;

    if (w->err)
        return;
    q = w->buf + w->len;
    end = w->buf + w->cap;
    for (uint32_t i = 0; i < n; i++, f++) {
        if ((size_t)(end - q) >= CODEC_FIELD_ROOM) {
            uint8_t *k = mp_put_field_key(q, f), *v = mp_put_scalar(k, f);
            if (v) {
                q = v;
                continue;
            }
            if (f->type == SFA_T_STR || f->type == SFA_T_BIN) {
                k = mp_put_raw_field_hdr(k, f);
                if ((size_t)(end - k) >= f->n) {
                    memcpy(k, f->v.p, f->n);
                    q = k + f->n;
                    continue;
                }
            }
        }
        /* Near the end, or a value of variable size: the checked way. */
        w->len = (size_t)(q - w->buf);
        codec_field_checked(w, f);
        if (w->err)
            return;
        q = w->buf + w->len;
    }
    w->len = (size_t)(q - w->buf);
}

/* "ds": "<index>" for class 0 (an ifIndex), else "<class>.<index>". */
CODEC_INLINE uint8_t *
mp_put_ds(uint8_t *q, const sfa_sample *s)
{
    char tmp[24];
    size_t n = 0;

    if (s->ds_class) {
        n = codec_fmt_u32(s->ds_class, tmp);
        tmp[n++] = '.';
    }
    n += codec_fmt_u32(s->ds_index, tmp + n);
    return mp_put_fixstr(q, tmp, n);
}

static int
codec_in_kind(const sfa_sample *s, int kind)
{
    if (kind == SFA_KIND_FLOW)
        return sfa_sample_is_flow(s) || s->tag == SFA_SAMPLE_DISCARD;
    return sfa_sample_is_counter(s);
}

/* Room for a sample's keys and scalar values up to the records array. */
#define CODEC_SAMPLE_ROOM 320
/* Records written per reservation. */
#define CODEC_REC_CHUNK 32

CODEC_INLINE void
codec_sample(sfa_wbuf *w, const sfa_dgram *d, const sfa_sample *s)
{
    int flow = sfa_sample_is_flow(s), discard = s->tag == SFA_SAMPLE_DISCARD;
    int expanded = s->tag == SFA_SAMPLE_FLOW_EXPANDED || s->tag == SFA_SAMPLE_COUNTER_EXPANDED;
    uint8_t tmp[CODEC_SAMPLE_ROOM];
    uint8_t *start = codec_reserve(w, tmp, sizeof tmp), *q = start;

    q = mp_put_map(q, 10 + (flow ? 7 : 0) + (discard ? 4 : 0));
    q = mp_put_uint(LIT(q, "tag"), s->tag);
    q = LIT(q, "kind");
    q = flow ? LIT(q, "flow") : discard ? LIT(q, "discard") : LIT(q, "counter");
    q = LIT(q, "expanded");
    *q++ = expanded ? 0xc3 : 0xc2;
    q = mp_put_uint(LIT(q, "seq"), s->seq);
    q = mp_put_uint(LIT(q, "ds_class"), s->ds_class);
    q = mp_put_uint(LIT(q, "ds_index"), s->ds_index);
    q = mp_put_ds(LIT(q, "ds"), s);
    if (flow) {
        q = mp_put_uint(LIT(q, "rate"), s->rate);
        q = mp_put_uint(LIT(q, "pool"), s->pool);
        q = mp_put_uint(LIT(q, "drops"), s->drops);
        q = mp_put_uint(LIT(q, "in_fmt"), s->in_fmt);
        q = mp_put_uint(LIT(q, "in"), s->in_val);
        q = mp_put_uint(LIT(q, "out_fmt"), s->out_fmt);
        q = mp_put_uint(LIT(q, "out"), s->out_val);
    } else if (discard) {
        q = mp_put_uint(LIT(q, "drops"), s->drops);
        q = mp_put_uint(LIT(q, "in"), s->in_val);
        q = mp_put_uint(LIT(q, "out"), s->out_val);
        q = mp_put_uint(LIT(q, "reason"), s->reason);
    }
    q = mp_put_int(LIT(q, "status"), s->status);
    q = mp_put_array(LIT(q, "records"), s->rec_count);
    codec_commit(w, start, q, tmp);

    for (uint32_t i = 0; i < s->rec_count; i += CODEC_REC_CHUNK) {
        uint32_t n = s->rec_count - i < CODEC_REC_CHUNK ? s->rec_count - i : CODEC_REC_CHUNK;
        start = q = codec_reserve(w, tmp, 5 * CODEC_REC_CHUNK);
        for (uint32_t k = 0; k < n; k++)
            q = mp_put_uint(q, d->rec_tags[s->rec_first + i + k]);
        codec_commit(w, start, q, tmp);
    }

    start = codec_reserve(w, tmp, 16);
    q = mp_put_map(LIT(start, "fields"), s->field_count);
    codec_commit(w, start, q, tmp);
    codec_fields(w, d->fields + s->field_first, s->field_count);
}

/* Room for a datagram's keys and values up to the samples array. */
#define CODEC_DGRAM_ROOM 320

static void
codec_dgram_head(sfa_wbuf *w, const sfa_dgram *d, uint32_t nsamples)
{
    uint8_t tmp[CODEC_DGRAM_ROOM];
    uint8_t *start = codec_reserve(w, tmp, sizeof tmp), *q = start;

    q = mp_put_map(q, 11);
    q = mp_put_addr(LIT(q, "agent"), d->agent.family, d->agent.a);
    q = mp_put_uint(LIT(q, "sub_agent"), d->sub_agent);
    q = mp_put_uint(LIT(q, "seq"), d->seq);
    q = mp_put_uint(LIT(q, "uptime"), d->uptime);
    q = mp_put_addr(LIT(q, "src"), d->src.family, d->src.a);
    q = mp_put_uint(LIT(q, "src_port"), d->src_port);
    q = mp_put_uint(LIT(q, "rx_ms"), d->rx_ms);
    q = mp_put_uint(LIT(q, "len"), d->len);
    q = mp_put_uint(LIT(q, "version"), d->version);
    q = mp_put_int(LIT(q, "status"), d->status);
    q = mp_put_array(LIT(q, "samples"), nsamples);
    codec_commit(w, start, q, tmp);
}

/* ---- batches ---- */

int
sfa_batch_begin(sfa_batch *b, uint8_t *buf, size_t cap, const char *topic, const char *src)
{
    static const uint8_t zeros[8];
    sfa_wbuf *w = &b->w;
    msgpack_packer pk;

    sfa_wbuf_init(w, buf, cap);
    msgpack_packer_init(&pk, w, codec_write);
    codec_put(w, topic, strlen(topic) + 1);
    msgpack_pack_map(&pk, 5);
    codec_pack_key(&pk, "v");
    msgpack_pack_uint8(&pk, 1);
    codec_pack_key(&pk, "src");
    msgpack_pack_str_with_body(&pk, src, strlen(src));
    codec_pack_key(&pk, "seq");
    b->_seq_off = w->len;
    codec_put(w, "\xcf", 1);
    codec_put(w, zeros, 8);
    codec_pack_key(&pk, "ts_ms");
    b->_ts_off = w->len;
    codec_put(w, "\xcf", 1);
    codec_put(w, zeros, 8);
    codec_pack_key(&pk, "body");
    b->_count_off = w->len;
    codec_put(w, "\xdd", 1);
    codec_put(w, zeros, 4);
    b->count = 0;
    return w->err ? SFA_ELIMIT : 0;
}

int
sfa_batch_add(sfa_batch *b, const sfa_dgram *d, int kind)
{
    sfa_wbuf *w = &b->w;
    size_t mark = w->len;
    uint32_t n = 0;

    if (w->err)
        return SFA_ELIMIT;
    for (uint32_t i = 0; i < d->nsamples; i++)
        n += (uint32_t)codec_in_kind(&d->samples[i], kind);
    if (n == 0)
        return 0; /* nothing of this kind: the datagram is not added */

    codec_dgram_head(w, d, n);
    for (uint32_t i = 0; i < d->nsamples; i++) {
        if (codec_in_kind(&d->samples[i], kind))
            codec_sample(w, d, &d->samples[i]);
    }
    if (w->err) {
        /* Roll back: the batch is exactly as before this call. */
        w->len = mark;
        w->err = 0;
        return SFA_ELIMIT;
    }
    b->count++;
    return 0;
}

static void
codec_patch_be(uint8_t *p, uint64_t v, unsigned n)
{
    mp_put_be(p, v, n);
}

size_t
sfa_batch_finish(sfa_batch *b, uint64_t seq, uint64_t ts_ms)
{
    if (b->w.err)
        return 0; /* begin failed: there is no message */
    codec_patch_be(b->w.buf + b->_seq_off + 1, seq, 8);
    codec_patch_be(b->w.buf + b->_ts_off + 1, ts_ms, 8);
    codec_patch_be(b->w.buf + b->_count_off + 1, b->count, 4);
    return b->w.len;
}
