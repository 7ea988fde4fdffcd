/* shard.c - rendezvous hashing of agent buckets onto aggregators.
 *
 * Implements sfa/shard.h: the score is FNV-1a 32 over "<member>:<bucket>"
 * (bucket in decimal) passed through MurmurHash3's 32-bit finalizer, the
 * owner is the member with the highest score and, on equal scores, the
 * smaller member name. The finalizer matters: plain FNV-1a of strings that
 * differ only in their last bytes ranks members almost the same way for
 * neighbouring buckets, so shares came out as uneven as 36/99/121 of 256
 * for three members; mixed, they stay near the binomial spread. The gateway uses the same
 * functions to show bucket shares, so both sides cannot disagree.
 * Pure and allocation-free.
 */
#include <stdio.h>
#include <string.h>

#include <sfa/shard.h>

uint32_t
sfa_fnv1a32(uint32_t h, const void *p, size_t len)
{
    const uint8_t *b = p;

    for (size_t i = 0; i < len; i++) {
        h ^= b[i];
        h *= 16777619u; /* FNV prime */
    }
    return h;
}

uint32_t
sfa_shard_mix32(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

uint32_t
sfa_shard_score(const char *member, unsigned bucket)
{
    char num[16];
    int n = snprintf(num, sizeof num, ":%u", bucket);
    uint32_t h = sfa_fnv1a32(SFA_FNV1A32_INIT, member, strlen(member));

    return sfa_shard_mix32(sfa_fnv1a32(h, num, (size_t)n));
}

int
sfa_shard_owner(const char *const *members, size_t n, unsigned bucket)
{
    int best = -1;
    uint32_t best_score = 0;

    for (size_t i = 0; i < n; i++) {
        uint32_t s;

        if (!members[i])
            continue;
        s = sfa_shard_score(members[i], bucket);
        if (best < 0 || s > best_score ||
            (s == best_score && strcmp(members[i], members[best]) < 0)) {
            best = (int)i;
            best_score = s;
        }
    }
    return best;
}

size_t
sfa_shard_owned(const char *const *members, size_t n, const char *self, uint8_t *owned,
                unsigned nbuckets)
{
    size_t count = 0;

    for (unsigned b = 0; b < nbuckets; b++) {
        int o = sfa_shard_owner(members, n, b);

        owned[b] = o >= 0 && strcmp(members[o], self) == 0;
        count += owned[b];
    }
    return count;
}
