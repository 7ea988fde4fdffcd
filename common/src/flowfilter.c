/* flowfilter.c - sFlow-RT filter expressions: parse once, evaluate per sample.
 *
 * Grammar (whitespace around tokens is ignored):
 *   expr   := and ('|' and)*
 *   and    := factor ('&' factor)*
 *   factor := '(' expr ')' | lhs op rhs
 *   op     := '=' | '!=' | '~' | '!~'
 *   rhs    := alt (',' alt)*        alternatives, matched as OR
 * lhs is a key expression (flowkey_parse.c), optionally in single quotes.
 * An alternative is either quoted ('...', where \' is a quote) or runs to
 * the next ',', '&', '|' or unmatched ')'; parentheses inside it must
 * balance, so "ipdscpname=ef(46)" and "dnsqname~.*(a|b)" need no quotes.
 * Outside quotes, '\' escapes the next character for = and != (it is kept
 * as is for regexes, where it means what the regex says). An unquoted
 * null matches absence: x=null is true when x is absent, x!=null when it
 * is present. Against any other alternative an absent key is false for
 * every operator (so "tcpsourceport!=80" is false for UDP packets).
 *
 * = and != compare the key's rendered text with each alternative (so
 * ipprotocol=6 and ipsource=10.0.0.1 work); numbers and IPv4 addresses are
 * compared in binary when the alternative is in canonical form, which is
 * equivalent because rendering is canonical. ~ and !~ use POSIX extended
 * regexes compiled once (REG_EXTENDED|REG_NOSUB) and anchored to match the
 * WHOLE value, as Java's Pattern.matches does; Java's \d and \D are
 * translated to [0-9] and [^0-9]; other Java-only syntax fails to compile.
 *
 * Limits keep hostile input harmless: FD_MAX_TEXT bytes, FD_MAX_DEPTH
 * levels of ( ) and [ ], FD_MAX_CMPS comparisons; each is a clean error.
 * Compile is single-threaded; evaluation is allocation-free and reentrant.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/mem.h>

#include "flowdef_int.h"

enum { FF_AND = 1, FF_OR, FF_CMP };
enum { FF_EQ = 1, FF_NE, FF_RE, FF_NRE };

#define FF_MAX_ALTS 1024

typedef struct ff_alt {
    const char *s;
    uint32_t n;
    uint8_t isnull;
    uint8_t hasnum; /* s is a canonical decimal: num */
    uint8_t hasip4; /* s is a canonical dotted quad: ip4 */
    uint8_t ip4[4];
    uint64_t num;
    regex_t *re;
} ff_alt;

struct ff_node {
    uint8_t op;      /* FF_AND, FF_OR, FF_CMP */
    uint8_t cmp;     /* FF_EQ ... */
    uint8_t hasnull; /* an alternative is null */
    int n;           /* children, or alternatives */
    ff_node **kids;
    fk_node *lhs;
    ff_alt *alts;
};

typedef struct ff_parser {
    fd_comp *c;
    const char *s;
    size_t len, pos;
    int depth;
} ff_parser;

static ff_node *ff_parse_or(ff_parser *p);

static void
ff_skip_ws(ff_parser *p)
{
    while (p->pos < p->len && isspace((unsigned char)p->s[p->pos]))
        p->pos++;
}

static int
ff_peek(ff_parser *p)
{
    ff_skip_ws(p);
    return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

/* Excerpt of the input at the current position, for messages. */
static int
ff_near_len(const ff_parser *p)
{
    size_t rest = p->len - p->pos;
    return (int)(rest < 40 ? rest : 40);
}

/* ---- alternatives ---- */

static int
ff_canon_u64(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;

    if (n == 0 || n > 19 || (n > 1 && s[0] == '0'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 1;
}

static int
ff_canon_ip4(const char *s, size_t n, uint8_t *out)
{
    size_t i = 0;

    for (int k = 0; k < 4; k++) {
        size_t b = i;
        uint64_t v;
        while (i < n && s[i] != '.')
            i++;
        if (!ff_canon_u64(s + b, i - b, &v) || v > 255)
            return 0;
        out[k] = (uint8_t)v;
        if (k < 3) {
            if (i >= n)
                return 0;
            i++;
        }
    }
    return i == n;
}

/* Translate a Java-style pattern into an anchored POSIX ERE: "^(" p ")$",
 * with \d and \D expanded and any ')' without a partner escaped so the
 * anchoring group cannot be closed early. out holds 5 * n + 8 bytes. */
static void
ff_regex_prep(const char *in, size_t n, char *out)
{
    size_t o = 0;
    int depth = 0;

    out[o++] = '^';
    out[o++] = '(';
    for (size_t i = 0; i < n; i++) {
        char ch = in[i];
        if (ch == '\\' && i + 1 < n) {
            char nx = in[++i];
            if (nx == 'd' || nx == 'D') {
                memcpy(out + o, nx == 'd' ? "[0-9]" : "[^0-9]", nx == 'd' ? 5 : 6);
                o += nx == 'd' ? 5 : 6;
            } else {
                out[o++] = '\\';
                out[o++] = nx;
            }
        } else if (ch == '[') {
            /* Copy a bracket expression verbatim: ']' first is literal. */
            size_t j = i + 1;
            if (j < n && in[j] == '^')
                j++;
            if (j < n && in[j] == ']')
                j++;
            while (j < n && in[j] != ']')
                j++;
            j = j < n ? j : n - 1;
            memcpy(out + o, in + i, j - i + 1);
            o += j - i + 1;
            i = j;
        } else if (ch == '(') {
            depth++;
            out[o++] = ch;
        } else if (ch == ')' && depth == 0) {
            out[o++] = '\\';
            out[o++] = ')';
        } else {
            if (ch == ')')
                depth--;
            out[o++] = ch;
        }
    }
    out[o++] = ')';
    out[o++] = '$';
    out[o] = '\0';
}

static int
ff_alt_regex(ff_parser *p, ff_alt *a)
{
    char *pat = sfa_xmalloc(5 * (size_t)a->n + 8);
    regex_t *re = sfa__fd_alloc(p->c, sizeof *re);
    int rc;

    ff_regex_prep(a->s, a->n, pat);
    rc = regcomp(re, pat, REG_EXTENDED | REG_NOSUB);
    free(pat);
    if (rc != 0) {
        char msg[128];
        regerror(rc, re, msg, sizeof msg);
        return sfa__fd_error(p->c, "filter: bad regex '%.*s': %s", a->n < 60 ? (int)a->n : 60, a->s,
                             msg);
    }
    if (p->c->nregex == p->c->capregex) {
        p->c->capregex = p->c->capregex ? 2 * p->c->capregex : 8;
        p->c->regexes = sfa_xrealloc(p->c->regexes, sizeof *p->c->regexes * (size_t)p->c->capregex);
    }
    p->c->regexes[p->c->nregex++] = re;
    a->re = re;
    return 0;
}

/* Read a quoted operand at p->pos (on the opening quote) into out. */
static int
ff_quoted(ff_parser *p, char *out, size_t *outlen)
{
    size_t n = 0;

    for (p->pos++; p->pos < p->len; p->pos++) {
        char ch = p->s[p->pos];
        if (ch == '\\' && p->pos + 1 < p->len && p->s[p->pos + 1] == '\'') {
            out[n++] = '\'';
            p->pos++;
        } else if (ch == '\'') {
            p->pos++;
            *outlen = n;
            return 0;
        } else {
            out[n++] = ch;
        }
    }
    return sfa__fd_error(p->c, "filter: unterminated quote");
}

/* Read an unquoted alternative; stops before ',', '&', '|', or a ')' that
 * closes an enclosing group. */
static int
ff_unquoted(ff_parser *p, int regex, char *out, size_t *outlen)
{
    size_t n = 0;
    int paren = 0, brace = 0, brack = 0;

    for (; p->pos < p->len; p->pos++) {
        char ch = p->s[p->pos];
        if (ch == '\\' && p->pos + 1 < p->len) {
            if (regex)
                out[n++] = ch;
            out[n++] = p->s[++p->pos];
            continue;
        }
        /* Regex bracket expressions and {m,n} bounds hide terminators. */
        if (brack) {
            brack = ch != ']';
        } else if (regex && ch == '[') {
            brack = 1;
        } else if (regex && ch == '{') {
            brace++;
        } else if (regex && ch == '}' && brace > 0) {
            brace--;
        } else if (ch == '(') {
            paren++;
        } else if (ch == ')' && paren > 0) {
            paren--;
        } else if (paren == 0 && brace == 0 && (ch == ',' || ch == '&' || ch == '|' || ch == ')')) {
            break;
        }
        out[n++] = ch;
    }
    while (n && isspace((unsigned char)out[n - 1]))
        n--;
    *outlen = n;
    return 0;
}

static int
ff_alt_add(ff_parser *p, ff_node *f, ff_alt *alts, const char *buf, size_t n, int quoted)
{
    ff_alt *a;

    if (f->n >= FF_MAX_ALTS)
        return sfa__fd_error(p->c, "filter: too many alternatives (max %d)", FF_MAX_ALTS);
    a = &alts[f->n++];
    a->s = sfa__fd_strndup(p->c, buf, n);
    a->n = (uint32_t)n;
    if (!quoted && n == 4 && memcmp(buf, "null", 4) == 0) {
        a->isnull = 1;
        f->hasnull = 1;
        return 0;
    }
    if (f->cmp == FF_RE || f->cmp == FF_NRE)
        return ff_alt_regex(p, a);
    a->hasnum = (uint8_t)ff_canon_u64(buf, n, &a->num);
    a->hasip4 = (uint8_t)ff_canon_ip4(buf, n, a->ip4);
    return 0;
}

static int
ff_parse_rhs(ff_parser *p, ff_node *f)
{
    int regex = f->cmp == FF_RE || f->cmp == FF_NRE, rc = 0;
    char *buf = sfa_xmalloc(p->len + 1);
    ff_alt *alts = sfa_xcalloc(FF_MAX_ALTS, sizeof *alts);
    size_t n;

    for (;;) {
        int quoted = ff_peek(p) == '\'';
        rc = quoted ? ff_quoted(p, buf, &n) : ff_unquoted(p, regex, buf, &n);
        if (rc)
            goto out;
        if (!quoted && n == 0) {
            rc = sfa__fd_error(p->c, "filter: missing value near '%.*s'", ff_near_len(p),
                               p->s + p->pos);
            goto out;
        }
        rc = ff_alt_add(p, f, alts, buf, n, quoted);
        if (rc)
            goto out;
        if (ff_peek(p) != ',')
            break;
        p->pos++;
    }
    f->alts = sfa__fd_alloc(p->c, sizeof *alts * (size_t)f->n);
    memcpy(f->alts, alts, sizeof *alts * (size_t)f->n);
out:
    free(alts);
    free(buf);
    return rc;
}

/* ---- comparisons and boolean structure ---- */

/* Scan the left-hand side up to the operator; [ ] nest, '\' escapes. */
static int
ff_lhs_span(ff_parser *p, size_t *b, size_t *e)
{
    int depth = 0;

    *b = p->pos;
    for (; p->pos < p->len; p->pos++) {
        char ch = p->s[p->pos];
        if (ch == '\\') {
            p->pos++;
        } else if (ch == '[') {
            depth++;
        } else if (ch == ']') {
            depth--;
        } else if (depth <= 0 && (ch == '=' || ch == '!' || ch == '~')) {
            break;
        } else if (depth <= 0 && (ch == '&' || ch == '|' || ch == '(' || ch == ')')) {
            break;
        }
    }
    if (p->pos > p->len)
        p->pos = p->len;
    *e = p->pos;
    return 0;
}

static int
ff_parse_op(ff_parser *p, ff_node *f)
{
    const char *s = p->s + p->pos;
    size_t rest = p->len - p->pos;

    if (rest >= 1 && s[0] == '=') {
        f->cmp = FF_EQ, p->pos += 1;
    } else if (rest >= 1 && s[0] == '~') {
        f->cmp = FF_RE, p->pos += 1;
    } else if (rest >= 2 && s[0] == '!' && s[1] == '=') {
        f->cmp = FF_NE, p->pos += 2;
    } else if (rest >= 2 && s[0] == '!' && s[1] == '~') {
        f->cmp = FF_NRE, p->pos += 2;
    } else {
        return 0;
    }
    return 1;
}

static ff_node *
ff_parse_cmp(ff_parser *p)
{
    ff_node *f = sfa__fd_alloc(p->c, sizeof *f);
    size_t b, e, qn;
    char *lhs = NULL;

    if (++p->c->ncmps > FD_MAX_CMPS) {
        sfa__fd_error(p->c, "filter: too many comparisons (max %d)", FD_MAX_CMPS);
        return NULL;
    }
    f->op = FF_CMP;
    if (ff_peek(p) == '\'') {
        lhs = sfa_xmalloc(p->len + 1);
        if (ff_quoted(p, lhs, &qn))
            goto fail;
        f->lhs = sfa__fk_parse(p->c, lhs, qn, 0);
        ff_skip_ws(p);
    } else {
        ff_lhs_span(p, &b, &e);
        while (e > b && isspace((unsigned char)p->s[e - 1]))
            e--;
        if (e == b) {
            sfa__fd_error(p->c, "filter: key expected near '%.*s'", ff_near_len(p), p->s + p->pos);
            goto fail;
        }
        if (!ff_parse_op(p, f)) {
            sfa__fd_error(p->c, "filter: expected = != ~ or !~ after '%.*s'",
                          (int)(e - b < 60 ? e - b : 60), p->s + b);
            goto fail;
        }
        f->lhs = sfa__fk_parse(p->c, p->s + b, e - b, 0);
        goto rhs;
    }
    if (!f->lhs)
        goto fail;
    if (!ff_parse_op(p, f)) {
        sfa__fd_error(p->c, "filter: expected = != ~ or !~ after '%.*s'", (int)(qn < 60 ? qn : 60),
                      lhs);
        goto fail;
    }
rhs:
    if (!f->lhs || ff_parse_rhs(p, f))
        goto fail;
    free(lhs);
    return f;
fail:
    free(lhs);
    return NULL;
}

static ff_node *
ff_parse_factor(ff_parser *p)
{
    ff_node *f;
    int ch = ff_peek(p);

    if (ch < 0) {
        sfa__fd_error(p->c, "filter: expression expected at end");
        return NULL;
    }
    if (ch != '(')
        return ff_parse_cmp(p);
    if (++p->depth > FD_MAX_DEPTH) {
        sfa__fd_error(p->c, "filter: nested too deeply (max %d)", FD_MAX_DEPTH);
        return NULL;
    }
    p->pos++;
    f = ff_parse_or(p);
    if (!f)
        return NULL;
    if (ff_peek(p) != ')') {
        sfa__fd_error(p->c, "filter: missing ) near '%.*s'", ff_near_len(p), p->s + p->pos);
        return NULL;
    }
    p->pos++;
    p->depth--;
    return f;
}

/* One level of & or |: factors (or and-groups) joined by sep. The list
 * grows on the heap: nesting is bounded by FD_MAX_DEPTH, so stack use is
 * small per level. */
static ff_node *
ff_parse_list(ff_parser *p, int op, char sep)
{
    ff_node **kids = NULL, *f = NULL, *k;
    int n = 0, cap = 0;

    for (;;) {
        k = op == FF_OR ? ff_parse_list(p, FF_AND, '&') : ff_parse_factor(p);
        if (!k)
            goto out;
        if (n == cap) {
            cap = cap ? 2 * cap : 4;
            kids = sfa_xrealloc(kids, sizeof *kids * (size_t)cap);
        }
        kids[n++] = k;
        if (ff_peek(p) != sep)
            break;
        p->pos++;
    }
    if (n == 1) {
        f = kids[0];
        goto out;
    }
    f = sfa__fd_alloc(p->c, sizeof *f);
    f->op = (uint8_t)op;
    f->n = n;
    f->kids = sfa__fd_alloc(p->c, sizeof *f->kids * (size_t)n);
    memcpy(f->kids, kids, sizeof *kids * (size_t)n);
out:
    free(kids);
    return f;
}

static ff_node *
ff_parse_or(ff_parser *p)
{
    return ff_parse_list(p, FF_OR, '|');
}

ff_node *
sfa__ff_parse(fd_comp *c, const char *s, size_t len)
{
    ff_parser p = {.c = c, .s = s, .len = len};
    ff_node *f;

    if (len > FD_MAX_TEXT) {
        sfa__fd_error(c, "filter: too long (max %d bytes)", FD_MAX_TEXT);
        return NULL;
    }
    f = ff_parse_or(&p);
    if (!f)
        return NULL;
    if (ff_peek(&p) >= 0) {
        sfa__fd_error(c, "filter: unexpected '%.*s'", ff_near_len(&p), s + p.pos);
        return NULL;
    }
    return f;
}

/* ---- evaluation ---- */

static int
ff_match_text(const ff_node *f, const char *s, size_t n)
{
    for (int i = 0; i < f->n; i++) {
        const ff_alt *a = &f->alts[i];
        if (a->isnull)
            continue;
        if (a->re) {
            regmatch_t m = {.rm_so = 0, .rm_eo = (regoff_t)n};
            if (regexec(a->re, s, 1, &m, REG_STARTEND) == 0)
                return 1;
        } else if (a->n == n && memcmp(a->s, s, n) == 0) {
            return 1;
        }
    }
    return 0;
}

static int
ff_match(const ff_node *f, fd_ctx *x, const fk_val *v)
{
    const char *s;
    size_t n;

    /* Rendering of these kinds is canonical, so binary equality with a
     * canonical alternative is the same as text equality, and no
     * non-canonical alternative can match. */
    if (f->cmp == FF_EQ || f->cmp == FF_NE) {
        if (v->kind == FV_U) {
            for (int i = 0; i < f->n; i++)
                if (f->alts[i].hasnum && f->alts[i].num == v->v.u)
                    return 1;
            return 0;
        }
        if (v->kind == FV_IP4) {
            for (int i = 0; i < f->n; i++)
                if (f->alts[i].hasip4 && memcmp(f->alts[i].ip4, v->v.a, 4) == 0)
                    return 1;
            return 0;
        }
    }
    s = sfa__fk_text(x, v, &n);
    return s ? ff_match_text(f, s, n) : 0;
}

int
sfa__ff_eval(const ff_node *f, fd_ctx *x)
{
    fk_val v;

    switch (f->op) {
    case FF_AND:
        for (int i = 0; i < f->n; i++)
            if (!sfa__ff_eval(f->kids[i], x))
                return 0;
        return 1;
    case FF_OR:
        for (int i = 0; i < f->n; i++)
            if (sfa__ff_eval(f->kids[i], x))
                return 1;
        return 0;
    default:
        break;
    }
    x->sused = 0; /* comparisons do not keep text across each other */
    if (!sfa__fk_eval(f->lhs, x, &v))
        return (f->cmp == FF_EQ || f->cmp == FF_RE) && f->hasnull;
    if (f->cmp == FF_EQ || f->cmp == FF_RE)
        return ff_match(f, x, &v);
    return !ff_match(f, x, &v);
}
