/* flowkey.c - flow key expressions: what each key and key function yields
 * for a sample (the parser is flowkey_parse.c, text forms flowrender.c).
 *
 * Vocabulary: every field of fields.def by its name, plus the sample
 * metadata keys listed here (their table is in flowkey_parse.c). A key
 * whose field the sample lacks is absent; the caller decides what absence
 * means (the sample does not count for the flow, except inside or:, null:
 * and filter null tests).
 *
 * Metadata keys and how they render:
 *   agent          the agent address (text)
 *   datasource     the sFlow source id: "ifIndex" for class 0, else "class.index"
 *   inputifindex   ifIndex in decimal ("0" unknown); 0x3FFFFFFF is "internal"
 *   outputifindex  as inputifindex; output format 1 is "discard", format 2
 *                  "multiple" (sFlow v5 4.7, as sFlow-RT names them)
 *   direction      "ingress" when the data source is the input ifIndex,
 *                  "egress" when it is the output ifIndex, else absent
 *   samplingrate   the sampling rate (discard samples: absent)
 *   bytes          frame length of the sampled packet (field framelength)
 *   frames         1
 *   reason         drop reason name of a discard sample (or of a flow sample
 *                  whose output format is 1), e.g. "acl", else the number
 *   ipdscpname, ip6dscpname   "be(0)", "cs1(8)", "af11(10)", "ef(46)", ...;
 *                  unnamed code points render as the number alone
 * Field renderings forced by name: tcpflags 9 bits (NS..FIN), ipflags 3
 * bits, ipecn / ip6ecn 2 bits, ip6fragm "yes"/"no" (ddos-protect filters
 * ip6fragm=yes), uuid 8-4-4-4-12 hex.
 *
 * Functions (name:arg:arg..., nested with [ ], '\' escapes the next
 * character, so "\:" is a literal colon):
 *   or:k1:k2...            first present key
 *   null:k[:default]       k, or default ("null") when k is absent
 *   mask:k:bits[:bits6]    address masked to a prefix; bits6 applies to IPv6
 *                          (default: bits); rendered as the address alone
 *   prefix:k:delim[:n]     first n (1) tokens of k split on delim; suffix: last n.
 *                          Trailing empty tokens are dropped first, as Java's
 *                          String.split does ("www.a.com." has 3 tokens)
 *   first:k:delim:t1...    first token of k that equals one of t1...
 *   range:k:lo[:hi]        "true" if lo <= k <= hi (no hi: unbounded)
 *   eq:k1:k2               "true" if both render the same text
 *   concat:sep:k1:k2...    rendered keys joined by sep
 *   if:cond:match:then:else   then if cond renders as match, else else
 *                          (then and else are keys)
 *   group:k:set1[:set2...] label of the longest matching CIDR in the first
 *                          set that matches (groups.c)
 *   map:k:name             label whose value list contains k
 * Any function whose inputs are absent is absent (or: and null: excepted).
 * country, asn, oui, host, link and uri need databases sfa does not have:
 * they fail to compile with "function not supported: <name>".
 *
 * Evaluation is recursive (depth capped at FD_MAX_DEPTH at parse time),
 * allocation-free (function results go to the context's scratch area) and
 * thread-safe on an immutable tree.
 */
#include <stdlib.h>
#include <string.h>

#include "flowdef_int.h"

/* ---- evaluation ---- */

static void
fk_field_val(const sfa_field *f, const fk_node *n, fk_val *out)
{
    out->nbits = 0;
    out->n = f->n;
    switch (f->type) {
    case SFA_T_U:
        out->kind = FV_U;
        out->v.u = f->v.u;
        break;
    case SFA_T_I:
        out->kind = FV_I;
        out->v.i = f->v.i;
        break;
    case SFA_T_F:
        out->kind = FV_F;
        out->v.d = f->v.d;
        break;
    case SFA_T_BOOL:
        out->kind = FV_BOOL;
        out->v.u = f->v.u != 0;
        break;
    case SFA_T_IP4:
        out->kind = FV_IP4;
        memcpy(out->v.a, f->v.a, 4);
        break;
    case SFA_T_IP6:
        out->kind = FV_IP6;
        memcpy(out->v.a, f->v.a, 16);
        break;
    case SFA_T_MAC:
        out->kind = FV_MAC;
        memcpy(out->v.a, f->v.a, 6);
        break;
    case SFA_T_STR:
        out->kind = FV_STR;
        out->v.p = f->v.p;
        break;
    case SFA_T_U32S:
        out->kind = FV_COMM;
        out->v.p = f->v.p;
        break;
    case SFA_T_ASPATH:
        out->kind = FV_ASPATH;
        out->v.p = f->v.p;
        break;
    case SFA_T_BIN:
        out->kind = FV_HEX;
        out->v.p = f->v.p;
        break;
    default:
        out->kind = FV_COUNTN;
        break;
    }
    if (!n->render)
        return;
    if (n->render == FV_BITS && (out->kind == FV_U || out->kind == FV_BOOL)) {
        out->kind = FV_BITS;
        out->nbits = n->nbits;
    } else if (n->render == FV_YESNO && (out->kind == FV_U || out->kind == FV_BOOL)) {
        out->kind = FV_YESNO;
        out->v.u = out->v.u != 0;
    } else if (n->render == FV_UUID && out->kind == FV_HEX && out->n == 16) {
        out->kind = FV_UUID;
    }
}

static void
fk_set_u(fk_val *out, int kind, uint64_t u)
{
    out->kind = (uint8_t)kind;
    out->v.u = u;
}

static int
fk_addr_val(const sfa_addr *a, fk_val *out)
{
    if (a->family == 4) {
        out->kind = FV_IP4;
        memcpy(out->v.a, a->a, 4);
    } else if (a->family == 6) {
        out->kind = FV_IP6;
        memcpy(out->v.a, a->a, 16);
    } else {
        return 0;
    }
    return 1;
}

static int
fk_eval_direction(const sfa_sample *s, fk_val *out)
{
    static const char ingress[] = "ingress", egress[] = "egress";

    if (s->ds_class != 0)
        return 0;
    out->kind = FV_STR;
    if (s->in_fmt == 0 && s->in_val == s->ds_index && s->in_val != 0) {
        out->v.p = (const uint8_t *)ingress;
        out->n = sizeof ingress - 1;
    } else if (s->out_fmt == 0 && s->out_val == s->ds_index && s->out_val != 0) {
        out->v.p = (const uint8_t *)egress;
        out->n = sizeof egress - 1;
    } else {
        return 0;
    }
    return 1;
}

static int
fk_eval_meta(const fk_node *n, fd_ctx *x, fk_val *out)
{
    const sfa_sample *s = x->s;
    const sfa_field *f = n->slot >= 0 ? x->slots[n->slot] : NULL;

    out->nbits = 0;
    switch (n->meta) {
    case M_AGENT:
        return fk_addr_val(&x->d->agent, out);
    case M_DATASOURCE:
        fk_set_u(out, FV_DS, (uint64_t)s->ds_class << 32 | s->ds_index);
        return 1;
    case M_INPUTIFINDEX:
        fk_set_u(out, FV_IFX, (uint64_t)s->in_fmt << 32 | s->in_val);
        return 1;
    case M_OUTPUTIFINDEX:
        fk_set_u(out, FV_IFX, (uint64_t)s->out_fmt << 32 | s->out_val);
        return 1;
    case M_DIRECTION:
        return fk_eval_direction(s, out);
    case M_SAMPLINGRATE:
        if (s->tag == SFA_SAMPLE_DISCARD)
            return 0;
        fk_set_u(out, FV_U, s->rate);
        return 1;
    case M_FRAMES:
        fk_set_u(out, FV_U, 1);
        return 1;
    case M_REASON:
        if (s->tag == SFA_SAMPLE_DISCARD)
            fk_set_u(out, FV_REASON, s->reason);
        else if (s->out_fmt == 1)
            fk_set_u(out, FV_REASON, s->out_val);
        else
            return 0;
        return 1;
    case M_BYTES:
    case M_IPDSCPNAME:
    case M_IP6DSCPNAME:
        if (!f || (f->type != SFA_T_U && f->type != SFA_T_I))
            return 0;
        fk_set_u(out, n->meta == M_BYTES ? FV_U : FV_DSCP, f->v.u);
        return 1;
    default:
        return 0;
    }
}

/* Bytes of scratch for a function result; NULL when scratch is full. */
static char *
fk_scratch(fd_ctx *x, size_t n)
{
    char *p;

    if (n > sizeof x->scratch - x->sused)
        return NULL;
    p = x->scratch + x->sused;
    x->sused += n;
    return p;
}

static void
fk_set_str(fk_val *out, const char *s, size_t n)
{
    out->kind = FV_STR;
    out->nbits = 0;
    out->v.p = (const uint8_t *)s;
    out->n = (uint32_t)n;
}

/* Evaluate argument i of n and render it as text. */
static const char *
fk_arg_text(const fk_node *n, int i, fd_ctx *x, size_t *len)
{
    fk_val v;

    if (!sfa__fk_eval(n->args[i], x, &v))
        return NULL;
    return sfa__fk_text(x, &v, len);
}

/* Length of s without trailing delimiters: Java's String.split, which
 * sFlow-RT uses, drops trailing empty tokens ("www.a.com." has 3). */
static size_t
fk_trim_delims(const char *s, size_t len, const char *d, size_t dlen)
{
    while (len >= dlen && memcmp(s + len - dlen, d, dlen) == 0)
        len -= dlen;
    return len;
}

/* Last occurrence of d in s[0..len), or NULL. */
static const char *
fk_memrmem(const char *s, size_t len, const char *d, size_t dlen)
{
    for (size_t i = len >= dlen ? len - dlen + 1 : 0; i-- > 0;)
        if (memcmp(s + i, d, dlen) == 0)
            return s + i;
    return NULL;
}

/* prefix: the first n tokens, suffix: the last n, joined as in the input. */
static int
fk_eval_affix(const fk_node *n, fd_ctx *x, fk_val *out)
{
    const char *d = n->lits[0], *s, *hit;
    size_t dlen = n->litlen[0], len, end;
    long k;

    s = fk_arg_text(n, 0, x, &len);
    if (!s)
        return 0;
    len = fk_trim_delims(s, len, d, dlen);
    if (n->op == FK_PREFIX) {
        end = 0;
        for (k = 0; k < n->count; k++) {
            hit = memmem(s + end, len - end, d, dlen);
            if (!hit) {
                end = len;
                break;
            }
            end = (size_t)(hit - s) + (k + 1 < n->count ? dlen : 0);
        }
        fk_set_str(out, s, end);
    } else {
        size_t b = 0; /* start of the result */
        end = len;
        for (k = 0; k < n->count; k++) {
            hit = fk_memrmem(s, end, d, dlen);
            if (!hit) {
                b = 0;
                break;
            }
            b = (size_t)(hit - s) + dlen;
            end = (size_t)(hit - s);
        }
        fk_set_str(out, s + b, len - b);
    }
    return 1;
}

/* first: the first token of k equal to one of the listed tokens. */
static int
fk_eval_first(const fk_node *n, fd_ctx *x, fk_val *out)
{
    const char *d = n->lits[0], *s, *hit;
    size_t dlen = n->litlen[0], len, b = 0;

    s = fk_arg_text(n, 0, x, &len);
    if (!s)
        return 0;
    len = fk_trim_delims(s, len, d, dlen);
    while (b <= len) {
        size_t e, tl;
        hit = memmem(s + b, len - b, d, dlen);
        e = hit ? (size_t)(hit - s) : len;
        tl = e - b;
        for (int k = 1; k < n->nlits; k++) {
            if (n->litlen[k] == tl && memcmp(n->lits[k], s + b, tl) == 0) {
                fk_set_str(out, n->lits[k], tl);
                return 1;
            }
        }
        if (!hit)
            break;
        b = e + dlen;
    }
    return 0;
}

/* Address from a value: typed addresses directly, text by parsing. */
static int
fk_val_addr(fd_ctx *x, const fk_val *v, sfa_addr *a)
{
    char buf[64];
    size_t len;
    const char *s;

    memset(a, 0, sizeof *a);
    if (v->kind == FV_IP4 || v->kind == FV_IP6) {
        a->family = v->kind == FV_IP4 ? 4 : 6;
        memcpy(a->a, v->v.a, v->kind == FV_IP4 ? 4 : 16);
        return 1;
    }
    if (v->kind != FV_STR)
        return 0;
    s = sfa__fk_text(x, v, &len);
    if (!s || len >= sizeof buf)
        return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return sfa_addr_parse(buf, a) == 0;
}

static int
fk_eval_mask(const fk_node *n, fd_ctx *x, fk_val *out)
{
    fk_val v;
    sfa_addr a;
    int bits, width;

    if (!sfa__fk_eval(n->args[0], x, &v) || !fk_val_addr(x, &v, &a))
        return 0;
    width = a.family == 4 ? 32 : 128;
    bits = a.family == 4 ? n->bits4 : n->bits6;
    if (bits > width)
        bits = width;
    for (int i = 0; i < width / 8; i++) {
        int keep = bits - 8 * i;
        if (keep <= 0)
            a.a[i] = 0;
        else if (keep < 8)
            a.a[i] &= (uint8_t)(0xff << (8 - keep));
    }
    return fk_addr_val(&a, out);
}

static int
fk_eval_range(const fk_node *n, fd_ctx *x, fk_val *out)
{
    fk_val v;
    double d;

    if (!sfa__fk_eval(n->args[0], x, &v))
        return 0;
    if (!sfa__fk_number(&v, &d)) {
        char buf[64], *end;
        size_t len;
        const char *s = sfa__fk_text(x, &v, &len);
        if (!s || len == 0 || len >= sizeof buf)
            return 0;
        memcpy(buf, s, len);
        buf[len] = '\0';
        d = strtod(buf, &end);
        if (*end)
            return 0;
    }
    fk_set_u(out, FV_BOOL, d >= n->lo && d <= n->hi);
    out->nbits = 0;
    return 1;
}

static int
fk_eval_eq(const fk_node *n, fd_ctx *x, fk_val *out)
{
    size_t l1, l2;
    const char *a = fk_arg_text(n, 0, x, &l1);
    const char *b = a ? fk_arg_text(n, 1, x, &l2) : NULL;

    if (!b)
        return 0;
    fk_set_u(out, FV_BOOL, l1 == l2 && memcmp(a, b, l1) == 0);
    out->nbits = 0;
    return 1;
}

static int
fk_eval_concat(const fk_node *n, fd_ctx *x, fk_val *out)
{
    const char *parts[FD_MAX_CONCAT];
    size_t lens[FD_MAX_CONCAT], total = 0;
    char *buf;

    for (int i = 0; i < n->nargs; i++) {
        parts[i] = fk_arg_text(n, i, x, &lens[i]);
        if (!parts[i])
            return 0;
        total += lens[i] + (i ? n->litlen[0] : 0);
    }
    buf = fk_scratch(x, total);
    if (!buf)
        return 0;
    total = 0;
    for (int i = 0; i < n->nargs; i++) {
        if (i) {
            memcpy(buf + total, n->lits[0], n->litlen[0]);
            total += n->litlen[0];
        }
        memcpy(buf + total, parts[i], lens[i]);
        total += lens[i];
    }
    fk_set_str(out, buf, total);
    return 1;
}

static int
fk_eval_if(const fk_node *n, fd_ctx *x, fk_val *out)
{
    size_t len;
    const char *s = fk_arg_text(n, 0, x, &len);

    if (!s)
        return 0;
    if (len == n->litlen[0] && memcmp(s, n->lits[0], len) == 0)
        return sfa__fk_eval(n->args[1], x, out);
    return sfa__fk_eval(n->args[2], x, out);
}

static int
fk_eval_group(const fk_node *n, fd_ctx *x, fk_val *out)
{
    fk_val v;
    sfa_addr a;

    if (!x->tabs || !sfa__fk_eval(n->args[0], x, &v) || !fk_val_addr(x, &v, &a))
        return 0;
    for (int i = 0; i < n->nlits; i++) {
        const char *label = sfa__tables_group_h(x->tabs, n->lits[i], n->lithash[i], &a);
        if (label) {
            fk_set_str(out, label, strlen(label));
            return 1;
        }
    }
    return 0;
}

static int
fk_eval_map(const fk_node *n, fd_ctx *x, fk_val *out)
{
    size_t len;
    const char *s, *label;

    if (!x->tabs)
        return 0;
    s = fk_arg_text(n, 0, x, &len);
    if (!s)
        return 0;
    label = sfa__tables_map_h(x->tabs, n->lits[0], n->lithash[0], s, len);
    if (!label)
        return 0;
    fk_set_str(out, label, strlen(label));
    return 1;
}

int
sfa__fk_eval(const fk_node *n, fd_ctx *x, fk_val *out)
{
    const sfa_field *f;

    switch (n->op) {
    case FK_FIELD:
        f = x->slots[n->slot];
        if (!f)
            return 0;
        fk_field_val(f, n, out);
        return 1;
    case FK_META:
        return fk_eval_meta(n, x, out);
    case FK_OR:
        for (int i = 0; i < n->nargs; i++)
            if (sfa__fk_eval(n->args[i], x, out))
                return 1;
        return 0;
    case FK_NULL:
        if (sfa__fk_eval(n->args[0], x, out))
            return 1;
        fk_set_str(out, n->lits[0], n->litlen[0]);
        return 1;
    case FK_MASK:
        return fk_eval_mask(n, x, out);
    case FK_PREFIX:
    case FK_SUFFIX:
        return fk_eval_affix(n, x, out);
    case FK_FIRST:
        return fk_eval_first(n, x, out);
    case FK_RANGE:
        return fk_eval_range(n, x, out);
    case FK_EQ:
        return fk_eval_eq(n, x, out);
    case FK_CONCAT:
        return fk_eval_concat(n, x, out);
    case FK_IF:
        return fk_eval_if(n, x, out);
    case FK_GROUP:
        return fk_eval_group(n, x, out);
    case FK_MAP:
        return fk_eval_map(n, x, out);
    case FK_KEYREF:
        if (!x->kpart)
            return 0;
        fk_set_str(out, x->kpart[n->meta], x->kplen[n->meta]);
        return 1;
    default:
        return 0;
    }
}

void
sfa__fk_fill_slots(const sfa_flowdef *fd, fd_ctx *x)
{
    const int16_t *slot_of = sfa__flowdef_slot_of(fd);
    int nslots = sfa__flowdef_nslots(fd);
    const sfa_field *f, *end;

    for (int i = 0; i < nslots; i++)
        x->slots[i] = NULL;
    if (nslots == 0)
        return;
    /* Clamp the range so a malformed sample cannot point past the array. */
    if (x->s->field_first >= x->d->nfields || x->d->nfields > SFA_DGRAM_MAX_FIELDS)
        return;
    f = x->d->fields + x->s->field_first;
    end = f + (x->s->field_count < x->d->nfields - x->s->field_first
                   ? x->s->field_count
                   : x->d->nfields - x->s->field_first);
    for (; f < end; f++) {
        if (f->id < SFA_F__COUNT) {
            int k = slot_of[f->id];
            if (k >= 0 && !x->slots[k])
                x->slots[k] = f;
        }
    }
}

/* The fields of s, clamped to d's array as sfa__fk_fill_slots clamps them:
 * *first and the count returned. */
static uint32_t
fk_sample_span(const sfa_dgram *d, const sfa_sample *s, uint32_t *first)
{
    if (s->field_first >= d->nfields || d->nfields > SFA_DGRAM_MAX_FIELDS)
        return 0;
    *first = s->field_first;
    return s->field_count < d->nfields - s->field_first ? s->field_count
                                                        : d->nfields - s->field_first;
}

void
sfa_fieldidx_build(sfa_fieldidx *ix, const sfa_dgram *d, const sfa_sample *s, double *seen,
                   double now)
{
    uint32_t first = 0, n = fk_sample_span(d, s, &first);
    uint64_t tag;

    ix->d = d;
    ix->s = s;
    if (++ix->gen == 0) {
        /* After 2^32 builds, start again from clean entries. */
        memset(ix->ent, 0, sizeof ix->ent);
        ix->gen = 1;
    }
    tag = (uint64_t)ix->gen << 32;
    /* Backwards, so that the first of repeated fields is the one kept, as
     * sfa__fk_fill_slots keeps it. */
    if (!seen) {
        for (uint32_t i = first + n; i-- > first;) {
            unsigned id = d->fields[i].id;
            if (id < SFA_F__COUNT)
                ix->ent[id] = tag | i;
        }
        return;
    }
    for (uint32_t i = first + n; i-- > first;) {
        unsigned id = d->fields[i].id;
        if (id < SFA_F__COUNT) {
            ix->ent[id] = tag | i;
            seen[id] = now;
        }
    }
}

void
sfa__fk_fill_slots_ix(const sfa_flowdef *fd, const sfa_fieldidx *ix, fd_ctx *x)
{
    const uint16_t *fid = sfa__flowdef_slot_fid(fd);
    int nslots = sfa__flowdef_nslots(fd);
    uint64_t tag = (uint64_t)ix->gen << 32;

    for (int i = 0; i < nslots; i++) {
        uint64_t e = ix->ent[fid[i]];
        x->slots[i] = (e & 0xffffffff00000000ull) == tag ? &ix->d->fields[(uint32_t)e] : NULL;
    }
}
