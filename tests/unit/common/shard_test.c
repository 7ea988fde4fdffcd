/* shard_test.c - unit tests of the bucket assignment (common/src/shard.c).
 *
 * Pins FNV-1a, the finalizer and the rendezvous scores to values computed
 * independently (Python, see proto/CONTROL.md), so the aggregators and the
 * gateway cannot drift apart; checks the shares of three members, that the
 * owner does not depend on list order, and that removing one member moves
 * only the buckets it owned.
 */
#include <string.h>

#include <sfa/codec.h>
#include <sfa/shard.h>

#include "test.h"

static void
test_pinned(void)
{
    CHECK_EQ(sfa_fnv1a32(SFA_FNV1A32_INIT, "", 0), 0x811c9dc5u, "fnv1a32 of nothing");
    CHECK_EQ(sfa_fnv1a32(SFA_FNV1A32_INIT, "a", 1), 0xe40c292cu, "fnv1a32(a)");
    CHECK_EQ(sfa_fnv1a32(SFA_FNV1A32_INIT, "agg-a:0", 7), 0x7788f86eu, "fnv1a32(agg-a:0)");
    CHECK_EQ(sfa_shard_mix32(0), 0u, "fmix32(0)");
    CHECK_EQ(sfa_shard_mix32(1), 0x514e28b7u, "fmix32(1)");
    CHECK_EQ(sfa_shard_score("agg-a", 0), 0xdd090bb2u, "score agg-a bucket 0");
    CHECK_EQ(sfa_shard_score("agg-a", 255), 0xaa669fd6u, "score agg-a bucket 255");
    CHECK_EQ(sfa_shard_score("agg-b", 7), 0x1c63ef05u, "score agg-b bucket 7");
    CHECK_EQ(sfa_shard_score("aggregator-1", 42), 0xbdd1e7a6u, "score aggregator-1 bucket 42");
}

static void
test_shares(void)
{
    const char *abc[] = {"agg-a", "agg-b", "agg-c"};
    const char *cba[] = {"agg-c", "agg-b", "agg-a"};
    const char *ac[] = {"agg-a", "agg-c"};
    static const char *first6[] = {"agg-c", "agg-b", "agg-c", "agg-c", "agg-c", "agg-a"};
    uint8_t oa[SFA_BUCKETS], ob[SFA_BUCKETS], oc[SFA_BUCKETS], oa2[SFA_BUCKETS];
    int same = 1, moved_ok = 1, first_ok = 1, disjoint = 1;

    CHECK_EQ(sfa_shard_owned(abc, 3, "agg-a", oa, SFA_BUCKETS), 89, "agg-a owns 89 of 256");
    CHECK_EQ(sfa_shard_owned(abc, 3, "agg-b", ob, SFA_BUCKETS), 86, "agg-b owns 86");
    CHECK_EQ(sfa_shard_owned(abc, 3, "agg-c", oc, SFA_BUCKETS), 81, "agg-c owns 81");
    for (unsigned b = 0; b < SFA_BUCKETS; b++) {
        int o1 = sfa_shard_owner(abc, 3, b), o2 = sfa_shard_owner(cba, 3, b);

        if (strcmp(abc[o1], cba[o2]) != 0)
            same = 0;
        if (oa[b] + ob[b] + oc[b] != 1)
            disjoint = 0;
    }
    for (unsigned b = 0; b < 6; b++)
        if (strcmp(abc[sfa_shard_owner(abc, 3, b)], first6[b]) != 0)
            first_ok = 0;
    CHECK(disjoint, "every bucket has exactly one owner");
    CHECK(same, "the owner does not depend on the order of the member list");
    CHECK(first_ok, "owners of buckets 0..5 are c b c c c a");
    /* Without agg-b: agg-a keeps its buckets and only agg-b's move. */
    (void)sfa_shard_owned(ac, 2, "agg-a", oa2, SFA_BUCKETS);
    for (unsigned b = 0; b < SFA_BUCKETS; b++)
        if ((oa[b] && !oa2[b]) || (oa2[b] && !oa[b] && !ob[b]))
            moved_ok = 0;
    CHECK(moved_ok, "removing a member moves only its own buckets");
    CHECK_EQ(sfa_shard_owner(abc, 0, 3), -1, "no members: no owner");
    CHECK_EQ(sfa_shard_owned(abc, 3, "agg-z", oa, SFA_BUCKETS), 0, "a non-member owns nothing");
}

int
main(void)
{
    test_pinned();
    test_shares();
    return test_done();
}
