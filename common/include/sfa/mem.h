/* mem.h - allocation that never returns NULL.
 *
 * Out-of-memory is fatal in sfa: these log and abort, so callers carry no
 * NULL checks. Hot paths must not call them per datagram (STYLE habit 7).
 */
#ifndef SFA_MEM_H
#define SFA_MEM_H

#include <stddef.h>

/* Return new memory; the caller frees with free(). Abort on failure. */
void *sfa_xmalloc(size_t n);
void *sfa_xcalloc(size_t nmemb, size_t size);
void *sfa_xrealloc(void *p, size_t n);
char *sfa_xstrdup(const char *s);

#endif
