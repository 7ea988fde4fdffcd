/* mem.c - allocation wrappers that abort on out-of-memory (STYLE habit 7). */
#include <stdlib.h>
#include <string.h>

#include <sfa/log.h>
#include <sfa/mem.h>

static void
mem_fail(size_t n)
{
    sfa_log_write(SFA_LOG_SEVERE, "out of memory allocating %zu bytes", n);
    abort();
}

void *
sfa_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        mem_fail(n);
    return p;
}

void *
sfa_xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (!p)
        mem_fail(nmemb * size);
    return p;
}

void *
sfa_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        mem_fail(n);
    return q;
}

char *
sfa_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = sfa_xmalloc(n);
    memcpy(p, s, n);
    return p;
}
