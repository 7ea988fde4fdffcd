/* groups.c - named CIDR group sets and value maps (group: and map: keys).
 *
 * A group set {"label":["10.0.0.0/8","fc00::/7"],...} answers "which label
 * does this address belong to" by LONGEST prefix match over every CIDR in
 * the set, so {"external":["0.0.0.0/0"],"private":["10.0.0.0/8"]} labels
 * 10.1.2.3 "private" (ddos-protect relies on this). When the same prefix
 * is listed under two labels, the label that comes first in the document
 * wins. IPv4 addresses match only IPv4 prefixes and IPv6 only IPv6; a
 * bare address is a /32 or /128; host bits beyond the prefix are ignored.
 *
 * Lookup: per set and family, one open-addressing hash table per distinct
 * prefix length, probed from the longest length down; the first hit is the
 * longest match. A map is one hash table from value text to label (the
 * first label listing a value wins). Numbers in map lists are accepted and
 * stored as their decimal text.
 *
 * Tables are built once from JSON and never modified: lookups are
 * lock-free and allocation-free from any thread. Building allocates.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/mem.h>

#include "flowdef_int.h"

typedef struct gr_slot {
    uint8_t a[16];
    int32_t label; /* -1: empty */
} gr_slot;

typedef struct gr_len {
    int bits;
    uint32_t mask; /* table size - 1 */
    gr_slot *tab;
} gr_len;

typedef struct gr_set {
    char *name;
    uint32_t hash;
    int nlabels;
    char **labels;
    int nlens[2]; /* [0] IPv4, [1] IPv6: distinct prefix lengths, longest first */
    gr_len *lens[2];
} gr_set;

typedef struct mp_slot {
    char *val; /* NULL: empty */
    uint32_t len;
    int32_t label;
} mp_slot;

typedef struct mp_map {
    char *name;
    uint32_t hash;
    int nlabels;
    char **labels;
    uint32_t mask;
    mp_slot *tab;
} mp_map;

struct sfa_tables {
    int nsets, nmaps;
    gr_set *sets;
    mp_map *maps;
};

/* A prefix collected while building. */
typedef struct gr_pfx {
    sfa_addr a;
    int bits;
    int label;
} gr_pfx;

static void __attribute__((format(printf, 3, 4)))
gr_err(char *err, size_t errcap, const char *fmt, ...)
{
    va_list ap;

    if (err && errcap) {
        va_start(ap, fmt);
        vsnprintf(err, errcap, fmt, ap);
        va_end(ap);
    }
}

/* Zero the bits of a beyond bits (width 32 or 128). */
static void
gr_mask(uint8_t *a, int bits, int width)
{
    for (int i = 0; i < width / 8; i++) {
        int keep = bits - 8 * i;
        if (keep <= 0)
            a[i] = 0;
        else if (keep < 8)
            a[i] &= (uint8_t)(0xff << (8 - keep));
    }
}

/* Parse "addr[/bits]" into p (masked). 0 or SFA_EFORMAT. */
static int
gr_parse_cidr(const char *s, gr_pfx *p)
{
    char buf[64], *slash, *end;
    long bits;
    int width;

    if (strlen(s) >= sizeof buf)
        return SFA_EFORMAT;
    strcpy(buf, s);
    slash = strchr(buf, '/');
    if (slash)
        *slash = '\0';
    if (sfa_addr_parse(buf, &p->a) != 0)
        return SFA_EFORMAT;
    width = p->a.family == 4 ? 32 : 128;
    bits = width;
    if (slash) {
        if (slash[1] < '0' || slash[1] > '9')
            return SFA_EFORMAT;
        bits = strtol(slash + 1, &end, 10);
        if (*end || bits > width)
            return SFA_EFORMAT;
    }
    p->bits = (int)bits;
    gr_mask(p->a.a, p->bits, width);
    return 0;
}

int
sfa_groups_validate(const json_t *body, char *err, size_t errcap)
{
    const char *label;
    const json_t *list, *e;
    size_t i;
    gr_pfx p;

    if (!json_is_object(body)) {
        gr_err(err, errcap, "group set must be a JSON object");
        return SFA_EFORMAT;
    }
    json_object_foreach((json_t *)body, label, list)
    {
        if (!json_is_array(list)) {
            gr_err(err, errcap, "group %.64s: must be an array of CIDR strings", label);
            return SFA_EFORMAT;
        }
        json_array_foreach(list, i, e)
        {
            if (!json_is_string(e) || gr_parse_cidr(json_string_value(e), &p) != 0) {
                gr_err(err, errcap, "group %.64s: bad CIDR '%.64s'", label,
                       json_is_string(e) ? json_string_value(e) : "(not a string)");
                return SFA_EFORMAT;
            }
        }
    }
    return 0;
}

/* Text of a map list entry: a string, or an integer as decimal. */
static const char *
mp_entry_text(const json_t *e, char *buf, size_t cap)
{
    if (json_is_string(e))
        return json_string_value(e);
    if (json_is_integer(e)) {
        snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(e));
        return buf;
    }
    return NULL;
}

int
sfa_map_validate(const json_t *body, char *err, size_t errcap)
{
    const char *label;
    const json_t *list, *e;
    size_t i;
    char buf[32];

    if (!json_is_object(body)) {
        gr_err(err, errcap, "map must be a JSON object");
        return SFA_EFORMAT;
    }
    json_object_foreach((json_t *)body, label, list)
    {
        if (!json_is_array(list)) {
            gr_err(err, errcap, "map %.64s: must be an array of strings", label);
            return SFA_EFORMAT;
        }
        json_array_foreach(list, i, e)
        {
            if (!mp_entry_text(e, buf, sizeof buf)) {
                gr_err(err, errcap, "map %.64s: must be an array of strings", label);
                return SFA_EFORMAT;
            }
        }
    }
    return 0;
}

/* ---- hashing ---- */

static uint32_t
gr_hash(const uint8_t *a, int nbytes)
{
    uint64_t h = 0x9e3779b97f4a7c15ull;

    for (int i = 0; i < nbytes; i += 4) {
        uint32_t w =
            (uint32_t)a[i] << 24 | (uint32_t)a[i + 1] << 16 | (uint32_t)a[i + 2] << 8 | a[i + 3];
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    return (uint32_t)h;
}

static uint32_t
gr_tabsize(size_t n)
{
    uint32_t cap = 8;

    while (cap < 2 * n)
        cap *= 2;
    return cap;
}

/* ---- group sets ---- */

static int
gr_len_cmp(const void *a, const void *b)
{
    return *(const int *)b - *(const int *)a;
}

/* Build the per-length tables of one family (fi 0: IPv4, 1: IPv6). */
static void
gr_build_family(gr_set *g, int fi, const gr_pfx *pf, size_t np)
{
    int family = fi ? 6 : 4, nbytes = fi ? 16 : 4, lens[129], nl = 0;
    char seen[129] = {0};

    for (size_t i = 0; i < np; i++) {
        if (pf[i].a.family == family && !seen[pf[i].bits]) {
            seen[pf[i].bits] = 1;
            lens[nl++] = pf[i].bits;
        }
    }
    qsort(lens, (size_t)nl, sizeof lens[0], gr_len_cmp);
    g->nlens[fi] = nl;
    g->lens[fi] = sfa_xcalloc((size_t)(nl ? nl : 1), sizeof *g->lens[fi]);
    for (int k = 0; k < nl; k++) {
        gr_len *L = &g->lens[fi][k];
        size_t count = 0;
        for (size_t i = 0; i < np; i++)
            count += pf[i].a.family == family && pf[i].bits == lens[k];
        L->bits = lens[k];
        L->mask = gr_tabsize(count) - 1;
        L->tab = sfa_xmalloc(sizeof *L->tab * (L->mask + 1));
        for (uint32_t j = 0; j <= L->mask; j++)
            L->tab[j].label = -1;
        for (size_t i = 0; i < np; i++) {
            if (pf[i].a.family != family || pf[i].bits != lens[k])
                continue;
            uint32_t h = gr_hash(pf[i].a.a, nbytes) & L->mask;
            while (L->tab[h].label >= 0 && memcmp(L->tab[h].a, pf[i].a.a, (size_t)nbytes) != 0)
                h = (h + 1) & L->mask;
            if (L->tab[h].label < 0) { /* a duplicate keeps the first label */
                memcpy(L->tab[h].a, pf[i].a.a, (size_t)nbytes);
                L->tab[h].label = pf[i].label;
            }
        }
    }
}

static void
gr_set_build(gr_set *g, const char *name, const json_t *body)
{
    const char *label;
    const json_t *list, *e;
    size_t i, np = 0, cap = 16;
    gr_pfx *pf = sfa_xmalloc(sizeof *pf * cap);

    g->name = sfa_xstrdup(name);
    g->hash = sfa__fd_strhash(name, strlen(name));
    g->labels = sfa_xcalloc(json_object_size(body) + 1, sizeof *g->labels);
    json_object_foreach((json_t *)body, label, list)
    {
        int li = g->nlabels++;
        g->labels[li] = sfa_xstrdup(label);
        json_array_foreach(list, i, e)
        {
            if (np == cap)
                pf = sfa_xrealloc(pf, sizeof *pf * (cap *= 2));
            if (gr_parse_cidr(json_string_value(e), &pf[np]) == 0)
                pf[np++].label = li;
        }
    }
    gr_build_family(g, 0, pf, np);
    gr_build_family(g, 1, pf, np);
    free(pf);
}

static const char *
gr_set_lookup(const gr_set *g, const sfa_addr *addr)
{
    int fi = addr->family == 6, nbytes = fi ? 16 : 4, width = fi ? 128 : 32;
    uint8_t a[16];

    if (addr->family != 4 && addr->family != 6)
        return NULL;
    for (int k = 0; k < g->nlens[fi]; k++) {
        const gr_len *L = &g->lens[fi][k];
        uint32_t h;
        memcpy(a, addr->a, (size_t)nbytes);
        gr_mask(a, L->bits, width);
        h = gr_hash(a, nbytes) & L->mask;
        for (; L->tab[h].label >= 0; h = (h + 1) & L->mask)
            if (memcmp(L->tab[h].a, a, (size_t)nbytes) == 0)
                return g->labels[L->tab[h].label];
    }
    return NULL;
}

/* ---- maps ---- */

static void
mp_map_build(mp_map *m, const char *name, const json_t *body)
{
    const char *label, *s;
    const json_t *list, *e;
    size_t i, total = 0;
    char buf[32];

    m->name = sfa_xstrdup(name);
    m->hash = sfa__fd_strhash(name, strlen(name));
    m->labels = sfa_xcalloc(json_object_size(body) + 1, sizeof *m->labels);
    json_object_foreach((json_t *)body, label, list) total += json_array_size(list);
    m->mask = gr_tabsize(total) - 1;
    m->tab = sfa_xcalloc(m->mask + 1, sizeof *m->tab);
    json_object_foreach((json_t *)body, label, list)
    {
        int li = m->nlabels++;
        m->labels[li] = sfa_xstrdup(label);
        json_array_foreach(list, i, e)
        {
            size_t len;
            uint32_t h;
            s = mp_entry_text(e, buf, sizeof buf);
            len = json_is_string(e) ? json_string_length(e) : strlen(s);
            h = sfa__fd_strhash(s, len) & m->mask;
            while (m->tab[h].val && !(m->tab[h].len == len && memcmp(m->tab[h].val, s, len) == 0))
                h = (h + 1) & m->mask;
            if (!m->tab[h].val) { /* a duplicate keeps the first label */
                m->tab[h].val = sfa_xmalloc(len + 1);
                memcpy(m->tab[h].val, s, len);
                m->tab[h].val[len] = '\0';
                m->tab[h].len = (uint32_t)len;
                m->tab[h].label = li;
            }
        }
    }
}

static const char *
mp_map_lookup(const mp_map *m, const char *value, size_t len)
{
    uint32_t h = sfa__fd_strhash(value, len) & m->mask;

    for (; m->tab[h].val; h = (h + 1) & m->mask)
        if (m->tab[h].len == len && memcmp(m->tab[h].val, value, len) == 0)
            return m->labels[m->tab[h].label];
    return NULL;
}

/* ---- tables ---- */

sfa_tables *
sfa_tables_build(const json_t *groups, const json_t *maps)
{
    sfa_tables *t;
    const char *name;
    const json_t *body;

    if ((groups && !json_is_object(groups)) || (maps && !json_is_object(maps)))
        return NULL;
    json_object_foreach((json_t *)groups, name, body)
    {
        if (sfa_groups_validate(body, NULL, 0) != 0)
            return NULL;
    }
    json_object_foreach((json_t *)maps, name, body)
    {
        if (sfa_map_validate(body, NULL, 0) != 0)
            return NULL;
    }
    t = sfa_xcalloc(1, sizeof *t);
    t->sets = sfa_xcalloc(json_object_size(groups) + 1, sizeof *t->sets);
    t->maps = sfa_xcalloc(json_object_size(maps) + 1, sizeof *t->maps);
    json_object_foreach((json_t *)groups, name, body)
        gr_set_build(&t->sets[t->nsets++], name, body);
    json_object_foreach((json_t *)maps, name, body) mp_map_build(&t->maps[t->nmaps++], name, body);
    return t;
}

void
sfa_tables_destroy(sfa_tables *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->nsets; i++) {
        gr_set *g = &t->sets[i];
        for (int fi = 0; fi < 2; fi++) {
            for (int k = 0; k < g->nlens[fi]; k++)
                free(g->lens[fi][k].tab);
            free(g->lens[fi]);
        }
        for (int k = 0; k < g->nlabels; k++)
            free(g->labels[k]);
        free(g->labels);
        free(g->name);
    }
    for (int i = 0; i < t->nmaps; i++) {
        mp_map *m = &t->maps[i];
        for (uint32_t j = 0; j <= m->mask; j++)
            free(m->tab[j].val);
        free(m->tab);
        for (int k = 0; k < m->nlabels; k++)
            free(m->labels[k]);
        free(m->labels);
        free(m->name);
    }
    free(t->sets);
    free(t->maps);
    free(t);
}

const char *
sfa__tables_group_h(const sfa_tables *t, const char *name, uint32_t hash, const sfa_addr *addr)
{
    if (!t)
        return NULL;
    for (int i = 0; i < t->nsets; i++)
        if (t->sets[i].hash == hash && strcmp(t->sets[i].name, name) == 0)
            return gr_set_lookup(&t->sets[i], addr);
    return NULL;
}

const char *
sfa__tables_map_h(const sfa_tables *t, const char *name, uint32_t hash, const char *value,
                  size_t len)
{
    if (!t)
        return NULL;
    for (int i = 0; i < t->nmaps; i++)
        if (t->maps[i].hash == hash && strcmp(t->maps[i].name, name) == 0)
            return mp_map_lookup(&t->maps[i], value, len);
    return NULL;
}

const char *
sfa_tables_group(const sfa_tables *t, const char *name, const sfa_addr *addr)
{
    return sfa__tables_group_h(t, name, sfa__fd_strhash(name, strlen(name)), addr);
}

const char *
sfa_tables_map(const sfa_tables *t, const char *name, const char *value, size_t len)
{
    return sfa__tables_map_h(t, name, sfa__fd_strhash(name, strlen(name)), value, len);
}
