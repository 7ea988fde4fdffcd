/* codec_text.c - the text forms of bus values, for the reader.
 *
 * Addresses and MACs travel as text (proto/SCHEMA.md) and come back to
 * binary here: IPv4 dotted quads by hand (strict as inet_pton: no leading
 * zeros), IPv6 - and only text with a colon - through inet_pton, MACs as
 * twelve hexadecimal digits. List-valued fields (U32S, ASPATH, ADAPTERS)
 * are rendered as text into the datagram's arena (formats in
 * proto/SCHEMA.md). These are the general forms, for any input:
 * codec_read.c's quick path parses the common IPv4 and MAC texts itself
 * with the word-at-a-time parsers of codec_int.h, and only what it does
 * not take comes here. Like every reader: bounded (every read checked),
 * no allocation, no globals but constant tables. Thread-safe.
 */
#include <arpa/inet.h>
#include <string.h>

#include <sfa/codec.h>

#include "codec_int.h"

/* ---- addresses and MACs ---- */

/* Dotted quad, strict as inet_pton: four decimal octets of one to three
 * digits, no leading zeros, nothing else. */
static int
text_ip4(const uint8_t *p, size_t n, uint8_t *out)
{
    const uint8_t *end = p + n;

    if (n < 7 || n > 15)
        return -1;
    for (int octet = 0; octet < 4; octet++) {
        const uint8_t *start;
        unsigned v = 0;
        if (octet && (p == end || *p++ != '.'))
            return -1;
        start = p;
        while (p < end && (unsigned)(*p - '0') < 10 && p - start < 3)
            v = v * 10 + (unsigned)(*p++ - '0');
        if (p == start || v > 255 || (p - start > 1 && *start == '0'))
            return -1;
        out[octet] = (uint8_t)v;
    }
    return p == end ? 0 : -1;
}

int
sfa__codec_addr(const uint8_t *p, size_t n, size_t room, int allow_empty, sfa_addr *out)
{
    char tmp[64];

    memset(out, 0, sizeof *out);
    if (n == 0)
        return allow_empty ? 0 : -1;
    if ((room >= 24 ? sfa__ip4_wide(p, n, out->a) : text_ip4(p, n, out->a)) == 0) {
        out->family = 4;
        return 0;
    }
    memset(out->a, 0, sizeof out->a);
    if (n >= sizeof tmp || !memchr(p, ':', n) || memchr(p, 0, n))
        return -1;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    if (inet_pton(AF_INET6, tmp, out->a) != 1)
        return -1;
    out->family = 6;
    return 0;
}

/* Hexadecimal digit values with bit 4 set; 0 for every other byte. */
static const uint8_t text_hex[256] = {
    ['0'] = 0x10, ['1'] = 0x11, ['2'] = 0x12, ['3'] = 0x13, ['4'] = 0x14, ['5'] = 0x15,
    ['6'] = 0x16, ['7'] = 0x17, ['8'] = 0x18, ['9'] = 0x19, ['A'] = 0x1a, ['B'] = 0x1b,
    ['C'] = 0x1c, ['D'] = 0x1d, ['E'] = 0x1e, ['F'] = 0x1f, ['a'] = 0x1a, ['b'] = 0x1b,
    ['c'] = 0x1c, ['d'] = 0x1d, ['e'] = 0x1e, ['f'] = 0x1f,
};

int
sfa__codec_mac(const uint8_t *p, size_t n, uint8_t *out)
{
    unsigned all = 0x10;

    if (n != 12)
        return -1;
    for (int i = 0; i < 6; i++) {
        unsigned hi = text_hex[p[2 * i]], lo = text_hex[p[2 * i + 1]];
        all &= hi & lo;
        out[i] = (uint8_t)(hi << 4 | (lo & 0x0f));
    }
    return all ? 0 : -1;
}

/* Text built in the datagram's arena; committed only if all of it fits. */
typedef struct text_buf {
    sfa_dgram *d;
    size_t start, len;
    int over;
} text_buf;

static void
text_put(text_buf *t, const void *s, size_t n)
{
    if (t->over || n > SFA_DGRAM_ARENA - t->start - t->len) {
        t->over = 1;
        return;
    }
    memcpy(t->d->arena + t->start + t->len, s, n);
    t->len += n;
}

static void
text_u32(text_buf *t, uint64_t v)
{
    char tmp[24];
    size_t n = sizeof tmp;

    do {
        tmp[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    text_put(t, tmp + n, sizeof tmp - n);
}

/* ---- list-valued fields rendered as text ----
 * Each returns 0 when rendered, 1 when the value has an unexpected shape
 * (the caller skips it), or a negative reader error. */

static int
text_u32s(sfa__mp *m, uint32_t n, int communities, text_buf *t)
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
            text_put(t, "-", 1);
        if (communities) {
            text_u32(t, v >> 16);
            text_put(t, ":", 1);
            text_u32(t, v & 0xffff);
        } else {
            text_u32(t, v);
        }
    }
    return 0;
}

/* A map of two members, keys in any order, others skipped: a number up to
 * UINT32_MAX under NKEY (*num keeps its value when absent) and a value under
 * AKEY, whose position goes to *at (NULL when absent) to be read once the
 * number is known. Returns 0, 1 for a malformed map, or m->err. */
static int
text_num_and_at(sfa__mp *m, const char *nkey, uint64_t *num, const char *akey, const uint8_t **at)
{
    sfa__mpv hdr, k;
    size_t nlen = strlen(nkey), alen = strlen(akey);

    *at = NULL;
    if (sfa__mp_read(m, &hdr))
        return m->err;
    if (hdr.kind != SFA__MP_MAP)
        return 1;
    for (uint32_t i = 0; i < hdr.n; i++) {
        if (sfa__mp_read(m, &k))
            return m->err;
        if (k.kind == SFA__MP_STR && k.n == nlen && memcmp(k.p, nkey, nlen) == 0) {
            if (sfa__mp_uint(m, UINT32_MAX, num))
                return m->err == SFA_EFORMAT ? 1 : m->err;
        } else if (k.kind == SFA__MP_STR && k.n == alen && memcmp(k.p, akey, alen) == 0) {
            *at = m->p;
            if (sfa__mp_skip(m))
                return m->err;
        } else if (sfa__mp_skip(m)) {
            return m->err;
        }
    }
    return 0;
}

/* One AS path segment map {"type", "as"}. */
static int
text_aspath_seg(sfa__mp *m, int first, text_buf *t)
{
    sfa__mpv as;
    uint64_t type = 2;
    const uint8_t *as_at;
    int rc = text_num_and_at(m, "type", &type, "as", &as_at);

    if (rc)
        return rc;
    if (!as_at)
        return 1;
    /* Re-read the ASN list now that the segment type is known. */
    sfa__mp sub;
    sfa__mp_init(&sub, as_at, (size_t)(m->end - as_at));
    if (sfa__mp_read(&sub, &as) || as.kind != SFA__MP_ARRAY)
        return 1;
    if (!first)
        text_put(t, "-", 1);
    if (type == 1)
        text_put(t, "{", 1);
    for (uint32_t i = 0; i < as.n; i++) {
        sfa__mpv x;
        if (sfa__mp_read(&sub, &x) || x.kind != SFA__MP_UINT || x.v.u > UINT32_MAX)
            return 1;
        if (i)
            text_put(t, type == 1 ? "," : "-", 1);
        text_u32(t, x.v.u);
    }
    if (type == 1)
        text_put(t, "}", 1);
    return 0;
}

/* One adapter map {"ifindex", "macs"}: "<ifindex>=<MAC>,<MAC>". */
static int
text_adapter(sfa__mp *m, text_buf *t)
{
    sfa__mpv macs;
    uint64_t ifindex = 0;
    const uint8_t *macs_at;
    int rc = text_num_and_at(m, "ifindex", &ifindex, "macs", &macs_at);

    if (rc)
        return rc;
    text_u32(t, ifindex);
    text_put(t, "=", 1);
    if (!macs_at)
        return 0;
    sfa__mp sub;
    sfa__mp_init(&sub, macs_at, (size_t)(m->end - macs_at));
    if (sfa__mp_read(&sub, &macs) || macs.kind != SFA__MP_ARRAY)
        return 1;
    for (uint32_t i = 0; i < macs.n; i++) {
        sfa__mpv x;
        uint8_t mac[6];
        if (sfa__mp_read(&sub, &x) || x.kind != SFA__MP_STR || sfa__codec_mac(x.p, x.n, mac))
            return 1;
        if (i)
            text_put(t, ",", 1);
        text_put(t, x.p, x.n);
    }
    return 0;
}

/* Render a list-valued field (the array header already read) as text. */
static int
text_list(sfa__mp *m, unsigned id, int type, uint32_t n, text_buf *t)
{
    int rc = 0;

    if (type == SFA_T_U32S)
        return text_u32s(m, n, id == SFA_F_BGPCOMMUNITIES, t);
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        if (type == SFA_T_ASPATH) {
            rc = text_aspath_seg(m, i == 0, t);
        } else {
            if (i)
                text_put(t, ";", 1);
            rc = text_adapter(m, t);
        }
    }
    return rc;
}

int
sfa__codec_list(sfa__mp *m, sfa_dgram *d, sfa_field *f, int type, uint32_t n, int *limited)
{
    text_buf t = {d, d->arena_used, 0, 0};
    int rc = text_list(m, f->id, type, n, &t);

    if (rc < 0)
        return rc;
    if (rc > 0 || t.over) {
        *limited |= t.over;
        return 0;
    }
    f->type = SFA_T_STR;
    f->v.p = d->arena + t.start;
    f->n = (uint32_t)t.len;
    d->arena_used += (uint32_t)t.len;
    return 1;
}
