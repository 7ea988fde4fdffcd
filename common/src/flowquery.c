/* flowquery.c - query-time filters over the keys of active flows
 * (sfa/flowquery.h).
 *
 * Compiling reuses the filter parser of flowfilter.c with the definition
 * set as fd_comp.keyref: sfa__fk_parse turns any expression equal to one
 * of the definition's keys into an FK_KEYREF node, and a key name that
 * matches none is an error. Matching splits the flow key on the
 * definition's fs into one text per key and evaluates the filter tree
 * with those texts in the context (fd_ctx.kpart) instead of a sample: the
 * comparisons, regexes, null tests and key functions are those of flow
 * definitions, applied to text. Keys are whatever sfa_flowdef_eval
 * rendered, so text comparison is exact.
 *
 * The query owns its arena (nodes, strings, regexes); it borrows the
 * definition only while compiling, and copies fs. Matching is
 * allocation-free and reentrant.
 */
#include <stdlib.h>
#include <string.h>

#include <sfa/flowquery.h>
#include <sfa/mem.h>

#include "flowdef_int.h"

struct sfa_flowquery {
    fd_comp comp;
    ff_node *filter; /* NULL: matches everything */
    int nkeys;
    char *fs;
    size_t fslen;
};

static int
fq_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            return 0;
    return 1;
}

int
sfa_flowquery_compile(const sfa_flowdef *fd, const char *s, size_t len, sfa_flowquery **out,
                      char *err, size_t errcap)
{
    sfa_flowquery *q = sfa_xcalloc(1, sizeof *q);
    const char *fs = sfa_flowdef_fs(fd);

    q->comp.err = err;
    q->comp.errcap = errcap;
    q->comp.keyref = fd;
    q->nkeys = sfa_flowdef_nkeys(fd);
    q->fslen = strlen(fs);
    q->fs = sfa__fd_strndup(&q->comp, fs, q->fslen);
    if (memchr(s, '\0', len)) {
        sfa__fd_error(&q->comp, "filter contains a NUL character");
        goto fail;
    }
    if (!fq_blank(s, len)) {
        q->filter = sfa__ff_parse(&q->comp, s, len);
        if (!q->filter)
            goto fail;
    }
    q->comp.keyref = NULL; /* borrowed only while compiling */
    q->comp.err = NULL;
    q->comp.errcap = 0;
    *out = q;
    return 0;
fail:
    sfa_flowquery_destroy(q);
    return SFA_EFORMAT;
}

void
sfa_flowquery_destroy(sfa_flowquery *q)
{
    if (!q)
        return;
    sfa__fd_arena_free(&q->comp);
    free(q);
}

/* Split key[0..len) on fs into exactly q->nkeys (> 0) parts; 0 when the
 * count differs. */
static int
fq_split(const sfa_flowquery *q, const char *key, size_t len, const char **part, uint32_t *plen)
{
    size_t b = 0, i = 0;
    int n = 0;

    /* Only the separators between keys are ambiguous: with one key, the
     * whole text is its value. */
    while (q->nkeys > 1 && i + q->fslen <= len) {
        if (key[i] != q->fs[0] || memcmp(key + i, q->fs, q->fslen) != 0) {
            i++;
            continue;
        }
        if (n == q->nkeys - 1)
            return 0;
        part[n] = key + b;
        plen[n++] = (uint32_t)(i - b);
        i += q->fslen;
        b = i;
    }
    if (n != q->nkeys - 1)
        return 0;
    part[n] = key + b;
    plen[n] = (uint32_t)(len - b);
    return 1;
}

int
sfa_flowquery_match(const sfa_flowquery *q, const sfa_tables *tabs, const char *key, size_t keylen)
{
    const char *part[FD_MAX_KEYS];
    uint32_t plen[FD_MAX_KEYS];
    fd_ctx x;

    if (!q->filter)
        return 1;
    /* A filter names at least one key, so the flow has some. A key that
     * does not split into them cannot be read: it matches nothing. */
    if (q->nkeys < 1 || !fq_split(q, key, keylen, part, plen))
        return 0;
    x.d = NULL;
    x.s = NULL;
    x.tabs = tabs;
    x.kpart = part;
    x.kplen = plen;
    x.sused = 0;
    return sfa__ff_eval(q->filter, &x);
}
