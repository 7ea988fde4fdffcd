/* flowquery.h - query-time filters over the keys of active flows.
 *
 * /activeflows/{agent}/{name}/json?filter=... selects flows by their keys:
 * the filter has the grammar of flow definition filters (flowdef.h: = !=
 * ~ !~ & | ( ), comma alternatives, quoted operands, null, key functions),
 * but every key it names must be one of the definition's keys, written as
 * in the definition ("ipsource" for keys "ipsource,ipdestination"; "mask:
 * ipsource:24" only if that is a key). Each is compared with the text of
 * that key in the flow, so "ipsource=10.0.0.1", "ipsource~10\.0\..*" and
 * "prefix:ipsource:.:2=10.0" work. A compiled query is immutable;
 * matching is allocation-free and reentrant.
 */
#ifndef SFA_FLOWQUERY_H
#define SFA_FLOWQUERY_H

#include <stddef.h>

#include <sfa/err.h>
#include <sfa/flowdef.h>

typedef struct sfa_flowquery sfa_flowquery;

/* Compile filter text s[0..len) against fd (borrowed: it must outlive
 * the query). On success *out is new (sfa_flowquery_destroy). On failure
 * returns SFA_EFORMAT and writes a one-line message into err, e.g. for a
 * key that is not one of fd's. A blank filter compiles to one that
 * matches every flow. */
SFA_MUST_CHECK int sfa_flowquery_compile(const sfa_flowdef *fd, const char *s, size_t len,
                                         sfa_flowquery **out, char *err, size_t errcap);
void sfa_flowquery_destroy(sfa_flowquery *q);

/* 1 if the flow whose key is key[0..keylen) (its keys joined by the
 * definition's fs, as sfa_flowdef_eval wrote it) passes q, else 0. tabs
 * (groups and maps for group: and map:) may be NULL. With two keys or
 * more, a key that does not split into exactly as many parts as the
 * definition has keys (a value containing the separator) matches no
 * filter but a blank one; a single key is the whole text. */
int sfa_flowquery_match(const sfa_flowquery *q, const sfa_tables *tabs, const char *key,
                        size_t keylen);

#endif
