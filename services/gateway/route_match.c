/* route_match.c - pure helpers for HTTP requests: path patterns, percent
 * decoding, query strings, object names.
 *
 * Patterns are literal segments and {param} segments, and may end with a
 * "*" segment that takes the rest of the path (any depth, possibly empty;
 * the handler reads it raw with gw_req_path); matching works on
 * the raw path (before h2o's normalisation), so "/flow/../json" is not
 * silently turned into another resource and an encoded "%2F" stays inside
 * one segment, where name validation rejects it. No allocation, no I/O,
 * no globals: unit tested directly.
 */
#include <string.h>

#include "gw.h"

static int
route_hex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int
gw_url_decode(const char *in, size_t len, char *out, size_t cap, int plus_space)
{
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)in[i];

        if (c == '%') {
            int hi, lo;

            if (i + 2 >= len) /* both hex digits must be there */
                return SFA_EFORMAT;
            hi = route_hex((unsigned char)in[i + 1]);
            lo = route_hex((unsigned char)in[i + 2]);
            if (hi < 0 || lo < 0)
                return SFA_EFORMAT;
            c = hi << 4 | lo;
            i += 2;
        } else if (c == '+' && plus_space) {
            c = ' ';
        }
        if (c == 0)
            return SFA_EFORMAT;
        if (o + 1 >= cap)
            return SFA_ELIMIT;
        out[o++] = (char)c;
    }
    if (cap == 0)
        return SFA_ELIMIT;
    out[o] = '\0';
    return 0;
}

/* Length of the segment starting at p (up to '/' or end). */
static size_t
route_seg_len(const char *p, const char *end)
{
    const char *q = p;

    while (q < end && *q != '/')
        q++;
    return (size_t)(q - p);
}

int
gw_route_match(const char *pattern, const char *path, size_t len, gw_match *m)
{
    const char *pp = pattern, *pend = pattern + strlen(pattern);
    const char *sp = path, *send = path + len;

    m->n = 0;
    m->bad = 0;
    while (pp < pend && sp < send) {
        size_t pl, sl;

        if (*pp != '/' || *sp != '/')
            return 0;
        pp++;
        sp++;
        pl = route_seg_len(pp, pend);
        sl = route_seg_len(sp, send);
        if (pl == 1 && pp[0] == '*' && pp + 1 == pend)
            return 1; /* a last "*" takes the rest of the path, whatever its depth */
        if (pl >= 2 && pp[0] == '{' && pp[pl - 1] == '}') {
            if (m->n == GW_MAX_PARAMS)
                return 0;
            m->name[m->n] = pp + 1;
            m->name_len[m->n] = pl - 2;
            if (gw_url_decode(sp, sl, m->value[m->n], GW_PARAM_MAX, 0) != 0) {
                m->value[m->n][0] = '\0';
                m->bad = 1;
            }
            m->n++;
        } else if (pl != sl || memcmp(pp, sp, pl) != 0) {
            return 0;
        }
        pp += pl;
        sp += sl;
    }
    return pp == pend && sp == send;
}

const char *
gw_match_get(const gw_match *m, const char *name)
{
    size_t n = strlen(name);

    for (int i = 0; i < m->n; i++)
        if (m->name_len[i] == n && memcmp(m->name[i], name, n) == 0)
            return m->value[i];
    return NULL;
}

int
gw_query_get(const char *qs, size_t len, const char *key, int idx, char *out, size_t cap)
{
    const char *p = qs, *end = qs + len;
    size_t klen = strlen(key);
    char name[128];

    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pe = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(pe - p));
        const char *ke = eq ? eq : pe;

        /* Names are compared decoded, so "max%46lows" is maxFlows too. */
        if (gw_url_decode(p, (size_t)(ke - p), name, sizeof name, 1) == 0 && strlen(name) == klen &&
            memcmp(name, key, klen) == 0 && idx-- == 0) {
            if (!eq)
                return gw_url_decode("", 0, out, cap, 1) == 0 ? 1 : SFA_ELIMIT;
            int rc = gw_url_decode(eq + 1, (size_t)(pe - eq - 1), out, cap, 1);
            return rc == 0 ? 1 : rc;
        }
        p = pe + 1;
    }
    return 0;
}

int
gw_name_valid(const char *s)
{
    size_t n = 0;

    for (; s[n]; n++) {
        char c = s[n];

        if (n >= GW_NAME_MAX)
            return 0;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    if (n == 0 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return 0;
    return 1;
}
