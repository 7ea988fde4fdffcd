/* codec.h - the msgpack bus encoding (proto/SCHEMA.md is the contract).
 *
 * Every bus message is: ASCII topic, one NUL byte, then a msgpack map
 * (the envelope) {"v": 1, "src": str, "seq": uint, "ts_ms": uint,
 * "body": any}. Sample topics carry as body an array of datagram maps.
 *
 * Encoding writes into caller-owned buffers and never allocates, so the
 * collector's per-datagram path stays allocation-free. Decoding reads a
 * message in place (zero copy, no allocation) into an sfa_dgram whose
 * strings borrow the message. Thread-safety: none needed; no globals.
 */
#ifndef SFA_CODEC_H
#define SFA_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <sfa/err.h>
#include <sfa/sflow.h>

/* ---- topics ---- */

#define SFA_BUCKETS 256
#define SFA_TOPIC_FLOW_PREFIX "flow.v1."       /* + 2 lowercase hex digits: bucket */
#define SFA_TOPIC_COUNTER_PREFIX "counter.v1." /* + 2 lowercase hex digits: bucket */
#define SFA_TOPIC_STATS "stats.v1"             /* service counters, body: map */
#define SFA_TOPIC_AGENTS "agents.v1"           /* collector agent accounting, body: map */
#define SFA_TOPIC_MAX 32

enum sfa_kind {
    SFA_KIND_FLOW = 1,    /* flow, expanded flow and discard samples */
    SFA_KIND_COUNTER = 2, /* counter and expanded counter samples */
};

/* Bucket of an agent: FNV-1a 32 over the 4 (IPv4) or 16 (IPv6) address
 * bytes, low 8 bits. Family 0 maps to bucket 0. */
unsigned sfa_bucket_of(const sfa_addr *agent);

/* Write the topic of kind/bucket, NUL-terminated, into out (>= SFA_TOPIC_MAX).
 * Returns its length without the NUL. */
size_t sfa_topic_samples(char *out, int kind, unsigned bucket);

/* ---- writer ---- */

typedef struct sfa_wbuf {
    uint8_t *buf; /* borrows */
    size_t cap;
    size_t len;
    int err; /* sticky: set when a write did not fit */
} sfa_wbuf;

void sfa_wbuf_init(sfa_wbuf *w, uint8_t *buf, size_t cap);

/* A batch: one bus message holding several datagrams of one topic. */
typedef struct sfa_batch {
    sfa_wbuf w;
    uint32_t count;  /* datagrams added */
    size_t _seq_off; /* where the seq placeholder sits */
    size_t _ts_off;
    size_t _count_off;
} sfa_batch;

/* Start a batch in buf: topic, NUL, envelope with placeholders for seq,
 * ts_ms and the body's array count. src borrows (copied into buf).
 * SFA_ELIMIT if cap is too small for the envelope. */
SFA_MUST_CHECK int sfa_batch_begin(sfa_batch *b, uint8_t *buf, size_t cap, const char *topic,
                                   const char *src);

/* Append one datagram map with only the samples of kind. If it does not
 * fit, the batch is left exactly as before and SFA_ELIMIT is returned. A
 * datagram with no sample of kind is not added: 0, count unchanged. */
SFA_MUST_CHECK int sfa_batch_add(sfa_batch *b, const sfa_dgram *d, int kind);

/* Patch seq, ts_ms and the count. Returns the message length. */
size_t sfa_batch_finish(sfa_batch *b, uint64_t seq, uint64_t ts_ms);

/* Encode a small message whose body is a JSON value (stats, agents).
 * Borrows body. Returns the message length, or SFA_ELIMIT. */
SFA_MUST_CHECK int sfa_codec_encode_json_msg(uint8_t *buf, size_t cap, const char *topic,
                                             const char *src, uint64_t seq, uint64_t ts_ms,
                                             const json_t *body);

/* ---- reader ---- */

typedef struct sfa_envelope {
    const char *topic; /* borrows the message; topic_len bytes, NUL follows */
    size_t topic_len;
    uint32_t v;
    const char *src; /* borrows; not NUL-terminated */
    size_t src_len;
    uint64_t seq;
    uint64_t ts_ms;
    const uint8_t *body; /* borrows: the msgpack body object */
    size_t body_len;
} sfa_envelope;

/* Parse topic and envelope. 0, or SFA_EFORMAT / SFA_ETRUNC, or SFA_EVERSION
 * when "v" is not 1. When "body" is the envelope's last pair (as sfa
 * publishers write it) it is taken to run to the end of the message and
 * is checked by its reader (each_dgram, body_json), not walked here. */
SFA_MUST_CHECK int sfa_codec_parse(const uint8_t *msg, size_t len, sfa_envelope *env);

/* Decode each datagram of a sample message's body into *scratch and call
 * cb for it; stops early if cb returns nonzero (that value is returned).
 * Strings in scratch borrow the message. Unknown keys and field names are
 * skipped; U32S, ASPATH and ADAPTERS fields come back as SFA_T_STR text in
 * scratch->arena (formats in proto/SCHEMA.md); what exceeds scratch's
 * capacities is dropped and marks scratch->status SFA_ELIMIT.
 * 0, or SFA_EFORMAT. */
typedef int (*sfa_dgram_cb)(const sfa_dgram *d, void *arg);
SFA_MUST_CHECK int sfa_codec_each_dgram(const sfa_envelope *env, sfa_dgram *scratch,
                                        sfa_dgram_cb cb, void *arg);

/* The whole message as JSON: {"topic":..., "v":..., "src":..., "seq":...,
 * "ts_ms":..., "body":...}; bin values become lowercase hex strings.
 * Returns new (caller decrefs), or NULL if the message is not well formed. */
json_t *sfa_codec_to_json(const uint8_t *msg, size_t len);

/* The body object alone as JSON (returns new, or NULL). */
json_t *sfa_codec_body_json(const sfa_envelope *env);

/* ---- sequence tracking (subscriber side) ---- */

typedef struct sfa_seqtrack sfa_seqtrack;

/* Returns new; free with sfa_seqtrack_destroy (NULL is a no-op). */
sfa_seqtrack *sfa_seqtrack_create(void);
void sfa_seqtrack_destroy(sfa_seqtrack *t);

/* Record env's (src, topic, seq). Returns how many messages of that
 * (src, topic) were skipped since the previous one (0 when in order or
 * first seen; a step backwards means the publisher restarted: 0). */
uint64_t sfa_seqtrack_update(sfa_seqtrack *t, const sfa_envelope *env);

#endif
