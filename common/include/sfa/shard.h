/* shard.h - which aggregator owns which agent bucket (proto/CONTROL.md).
 *
 * Bucket ownership is derived, never stored: every party (aggregators,
 * gateway, tests) computes it from the sorted member list of defs.v1 with
 * rendezvous (highest random weight) hashing. Bucket b (0..SFA_BUCKETS-1)
 * belongs to the member m with the largest mix32(fnv1a32(m + ":" + decimal
 * b)), mix32 being MurmurHash3's 32-bit finalizer (fmix32);
 * on a tie (practically never) the member that sorts first by strcmp wins,
 * so the answer does not depend on the order of the list. Adding or
 * removing one member moves only the buckets that member gains or loses.
 *
 * Pure functions: no allocation, no globals, thread-safe.
 */
#ifndef SFA_SHARD_H
#define SFA_SHARD_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a 32 of len bytes, continuing from h (start with SFA_FNV1A32_INIT). */
#define SFA_FNV1A32_INIT 0x811c9dc5u
uint32_t sfa_fnv1a32(uint32_t h, const void *p, size_t len);

/* MurmurHash3's fmix32: h ^= h >> 16; h *= 0x85ebca6b; h ^= h >> 13;
 * h *= 0xc2b2ae35; h ^= h >> 16. */
uint32_t sfa_shard_mix32(uint32_t h);

/* Rendezvous score of member (NUL-terminated, borrowed) for bucket:
 * mix32(fnv1a32 over the member's bytes, ':' and the bucket in decimal). */
uint32_t sfa_shard_score(const char *member, unsigned bucket);

/* Index into members[0..n) of the owner of bucket, or -1 when n is 0.
 * members (borrowed) need not be sorted; NULL entries are skipped. */
int sfa_shard_owner(const char *const *members, size_t n, unsigned bucket);

/* Mark in owned[0..nbuckets) (1 or 0) the buckets whose owner is self
 * (compared with strcmp; self need not be in members). Returns how many
 * buckets self owns. */
size_t sfa_shard_owned(const char *const *members, size_t n, const char *self, uint8_t *owned,
                       unsigned nbuckets);

#endif
