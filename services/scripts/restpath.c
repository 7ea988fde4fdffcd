/* restpath.c - growing strings, URL escaping and query strings.
 *
 * The child builds REST paths from script arguments (flow names, agent
 * lists, metric lists, filters) and parses the query strings and paths of
 * requests routed to setHttpHandler. Everything here is pure and
 * allocation is fatal on failure (sfa_x*). Any thread.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/mem.h>

#include "scr.h"

void
scr_buf_add(scr_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->s = sfa_xrealloc(b->s, cap);
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void
scr_buf_adds(scr_buf *b, const char *s)
{
    scr_buf_add(b, s, strlen(s));
}

void
scr_buf_addf(scr_buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        scr_buf_add(b, tmp, (size_t)n);
        return;
    }
    {
        char *big = sfa_xmalloc((size_t)n + 1);
        va_start(ap, fmt);
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
        scr_buf_add(b, big, (size_t)n);
        free(big);
    }
}

void
scr_buf_free(scr_buf *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}

void
scr_url_escape(scr_buf *b, const char *s, int query)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
            (!query && (c == ',' || c == ':' || c == ';'))) {
            scr_buf_add(b, (const char *)&c, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            scr_buf_add(b, e, 3);
        }
    }
}

static int
restpath_hex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

char *
scr_url_unescape(const char *in, size_t len, int plus_space)
{
    char *out = sfa_xmalloc(len + 1);
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '%') {
            int hi = i + 2 < len ? restpath_hex((unsigned char)in[i + 1]) : -1;
            int lo = i + 2 < len ? restpath_hex((unsigned char)in[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                free(out);
                return NULL;
            }
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '\0') {
            free(out);
            return NULL;
        } else {
            out[o++] = plus_space && c == '+' ? ' ' : c;
        }
    }
    out[o] = '\0';
    return out;
}

json_t *
scr_query_parse(const char *qs)
{
    json_t *q = json_object();

    while (qs && *qs) {
        size_t n = strcspn(qs, "&"), k = strcspn(qs, "=");
        char *key, *val;

        if (n > 0) {
            if (k > n)
                k = n;
            key = scr_url_unescape(qs, k, 1);
            val = k < n ? scr_url_unescape(qs + k + 1, n - k - 1, 1) : sfa_xstrdup("");
            if (key && val && key[0]) {
                json_t *list = json_object_get(q, key);
                if (!list) {
                    list = json_array();
                    json_object_set_new(q, key, list);
                }
                json_array_append_new(list, json_string(val));
            }
            free(key);
            free(val);
        }
        qs += n;
        if (*qs == '&')
            qs++;
    }
    return q;
}

int
scr_path_split(const char *rest, json_t **path, char **format)
{
    json_t *segs = json_array();
    const char *p = rest;
    char *last = NULL;

    if (!rest || !*rest)
        goto fail;
    for (;;) {
        size_t n = strcspn(p, "/");
        char *seg = scr_url_unescape(p, n, 0);

        if (!seg)
            goto fail;
        if (p[n] == '\0') {
            last = seg;
            break;
        }
        json_array_append_new(segs, json_string(seg));
        free(seg);
        p += n + 1;
    }
    if (last[0] == '\0') {
        free(last);
        goto fail;
    }
    *path = segs;
    *format = last;
    return 0;

fail:
    json_decref(segs);
    return SFA_EFORMAT;
}
