/* codec_topic.c - topic names, the bucket rule, and per-topic seq tracking.
 *
 * The naming half of the bus contract (proto/SCHEMA.md sections 2, 3, 5):
 * which topic an agent's samples go to (FNV-1a of its address bytes, low
 * 8 bits) and how a subscriber counts the messages it missed per
 * (publisher, topic). sfa_bucket_of and sfa_topic_samples are pure;
 * sfa_seqtrack allocates only when it meets a new (src, topic). Not
 * thread-safe per sfa_seqtrack object; no globals.
 */
#include <stdlib.h>
#include <string.h>

#include <sfa/codec.h>
#include <sfa/mem.h>

static const char topic_hex[] = "0123456789abcdef";

unsigned
sfa_bucket_of(const sfa_addr *agent)
{
    size_t n = agent->family == 4 ? 4 : agent->family == 6 ? 16 : 0;
    uint32_t h = 2166136261u; /* FNV-1a 32 offset basis */

    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        h ^= agent->a[i];
        h *= 16777619u; /* FNV prime */
    }
    return h & (SFA_BUCKETS - 1);
}

size_t
sfa_topic_samples(char *out, int kind, unsigned bucket)
{
    const char *prefix;
    size_t n;

    if (kind == SFA_KIND_FLOW) {
        prefix = SFA_TOPIC_FLOW_PREFIX;
    } else if (kind == SFA_KIND_COUNTER) {
        prefix = SFA_TOPIC_COUNTER_PREFIX;
    } else {
        out[0] = '\0';
        return 0;
    }
    n = strlen(prefix);
    memcpy(out, prefix, n);
    out[n++] = topic_hex[(bucket >> 4) & 0xf];
    out[n++] = topic_hex[bucket & 0xf];
    out[n] = '\0';
    return n;
}

/* ---- sequence tracking ---- */

typedef struct seq_ent {
    char *key; /* src, NUL, topic (owned) */
    size_t src_len, topic_len;
    uint32_t hash;
    uint64_t last;
} seq_ent;

struct sfa_seqtrack {
    seq_ent *tab;
    size_t cap; /* power of two */
    size_t used;
};

sfa_seqtrack *
sfa_seqtrack_create(void)
{
    sfa_seqtrack *t = sfa_xcalloc(1, sizeof *t);

    t->cap = 16;
    t->tab = sfa_xcalloc(t->cap, sizeof *t->tab);
    return t;
}

void
sfa_seqtrack_destroy(sfa_seqtrack *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->cap; i++)
        free(t->tab[i].key);
    free(t->tab);
    free(t);
}

static uint32_t
seq_hash(const sfa_envelope *env)
{
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < env->src_len; i++)
        h = (h ^ (uint8_t)env->src[i]) * 16777619u;
    h *= 16777619u; /* the NUL between src and topic */
    for (size_t i = 0; i < env->topic_len; i++)
        h = (h ^ (uint8_t)env->topic[i]) * 16777619u;
    return h;
}

static void
seq_grow(sfa_seqtrack *t)
{
    seq_ent *old = t->tab;
    size_t old_cap = t->cap;

    t->cap *= 2;
    t->tab = sfa_xcalloc(t->cap, sizeof *t->tab);
    for (size_t i = 0; i < old_cap; i++) {
        if (!old[i].key)
            continue;
        size_t j = old[i].hash & (t->cap - 1);
        while (t->tab[j].key)
            j = (j + 1) & (t->cap - 1);
        t->tab[j] = old[i];
    }
    free(old);
}

uint64_t
sfa_seqtrack_update(sfa_seqtrack *t, const sfa_envelope *env)
{
    uint32_t h = seq_hash(env);
    size_t j = h & (t->cap - 1);
    seq_ent *e;

    for (;; j = (j + 1) & (t->cap - 1)) {
        e = &t->tab[j];
        if (!e->key)
            break;
        if (e->hash == h && e->src_len == env->src_len && e->topic_len == env->topic_len &&
            memcmp(e->key, env->src, env->src_len) == 0 &&
            memcmp(e->key + env->src_len + 1, env->topic, env->topic_len) == 0) {
            uint64_t gap = env->seq > e->last ? env->seq - e->last - 1 : 0;
            e->last = env->seq; /* a step back is a publisher restart */
            return gap;
        }
    }
    /* First message of this (src, topic). */
    e->key = sfa_xmalloc(env->src_len + env->topic_len + 2);
    memcpy(e->key, env->src, env->src_len);
    e->key[env->src_len] = '\0';
    memcpy(e->key + env->src_len + 1, env->topic, env->topic_len);
    e->key[env->src_len + 1 + env->topic_len] = '\0';
    e->src_len = env->src_len;
    e->topic_len = env->topic_len;
    e->hash = h;
    e->last = env->seq;
    if (++t->used * 2 > t->cap)
        seq_grow(t);
    return 0;
}
