/* fuzz_codec.c - fuzz target for the bus message readers (common/src/codec*.c).
 *
 * Each input is one bus message as received from the network. It goes
 * through every reader: sfa_codec_parse, sfa_codec_each_dgram (for any
 * topic, not only sample ones, so the body reader sees every shape),
 * sfa_codec_body_json and sfa_codec_to_json. Each datagram the reader
 * accepts is checked against the reader's promises (counts within the
 * capacities, ranges inside the arrays, borrowed bytes inside the input
 * or the arena, field types as fields.def allows) and is then encoded
 * again with sfa_batch_add and read back: what the reader accepts, the
 * writer must write and the reader must read again with the same samples.
 * A broken promise aborts, which libFuzzer reports as a crash.
 *
 * Built like fuzz_sflow.c: with -fsanitize=fuzzer as a libFuzzer target
 * (option 'fuzz', clang), and with -DSFA_FUZZ_REPLAY as a plain program
 * that replays files and directories (proto/vectors/bus, saved crashes)
 * and prints TAP (main() in fuzz_common.c). Single-threaded; static
 * scratch state.
 */
#include <string.h>

#include <sfa/codec.h>

#include "fuzz_common.h"

const char fuzz_target_name[] = "fuzz_codec";

#define FUZZ_MSG_CAP (4u << 20)

static sfa_dgram fuzz_d;
static sfa_dgram fuzz_back;
static uint8_t fuzz_msg[FUZZ_MSG_CAP];

typedef struct fuzz_ctx {
    const uint8_t *data;
    size_t size;
    int kind;
} fuzz_ctx;

static void
fuzz_check(const sfa_dgram *d, const uint8_t *data, size_t size)
{
    fuzz_check_ranges(d);
    fuzz_require(d->agent.family == 0 || d->agent.family == 4 || d->agent.family == 6,
                 "agent family");
    for (uint32_t i = 0; i < d->nfields; i++) {
        const sfa_field *f = &d->fields[i];
        int t = sfa_field_type(f->id);
        fuzz_require(f->id < SFA_F__COUNT, "known field id");
        if (t == SFA_T_U32S || t == SFA_T_ASPATH || t == SFA_T_ADAPTERS) {
            fuzz_require(f->type == SFA_T_STR, "lists come back as text");
            fuzz_require(fuzz_inside(f->v.p, f->n, d->arena, d->arena_used), "text in the arena");
        } else if (t == SFA_T_IP4 || t == SFA_T_IP6) {
            fuzz_require(f->type == SFA_T_IP4 || f->type == SFA_T_IP6, "address type");
        } else {
            fuzz_require(f->type == t, "field type as fields.def says");
        }
        if (f->type == SFA_T_STR && t != SFA_T_U32S && t != SFA_T_ASPATH && t != SFA_T_ADAPTERS)
            fuzz_require(fuzz_inside(f->v.p, f->n, data, size), "text borrows the input");
        if (f->type == SFA_T_BIN)
            fuzz_require(fuzz_inside(f->v.p, f->n, data, size), "bin borrows the input");
    }
}

static int
fuzz_in_kind(const sfa_sample *s, int kind)
{
    if (kind == SFA_KIND_FLOW)
        return sfa_sample_is_flow(s) || s->tag == SFA_SAMPLE_DISCARD;
    return sfa_sample_is_counter(s);
}

static int
fuzz_back_cb(const sfa_dgram *d, void *arg)
{
    *(uint32_t *)arg = d->nsamples;
    return 0;
}

/* Write d again as kind and read it back. */
static void
fuzz_reencode(const sfa_dgram *d, int kind)
{
    sfa_batch b;
    sfa_envelope env;
    uint32_t want = 0, got = 0;

    for (uint32_t i = 0; i < d->nsamples; i++)
        want += (uint32_t)fuzz_in_kind(&d->samples[i], kind);
    fuzz_require(sfa_batch_begin(&b, fuzz_msg, sizeof fuzz_msg, "flow.v1.00", "fuzz") == 0,
                 "batch begins");
    fuzz_require(sfa_batch_add(&b, d, kind) == 0, "an accepted datagram can be written again");
    size_t n = sfa_batch_finish(&b, 1, 1);
    fuzz_require(sfa_codec_parse(fuzz_msg, n, &env) == 0, "rewritten message parses");
    fuzz_require(sfa_codec_each_dgram(&env, &fuzz_back, fuzz_back_cb, &got) == 0,
                 "rewritten datagram reads back");
    fuzz_require(got == want || d->status == SFA_ELIMIT, "same samples read back");
    json_t *j = sfa_codec_to_json(fuzz_msg, n);
    fuzz_require(j != NULL, "rewritten message converts to JSON");
    json_decref(j);
}

static int
fuzz_dgram_cb(const sfa_dgram *d, void *arg)
{
    const fuzz_ctx *c = arg;

    fuzz_check(d, c->data, c->size);
    fuzz_reencode(d, c->kind);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sfa_envelope env;
    fuzz_ctx c = {data, size, SFA_KIND_FLOW};
    json_t *j;

    j = sfa_codec_to_json(data, size);
    json_decref(j);
    int rc = sfa_codec_parse(data, size, &env);
    fuzz_require(rc <= 0, "parse returns 0 or a negative code");
    if (rc != 0) {
        fuzz_require(j == NULL, "to_json refuses what parse refuses");
        return 0;
    }
    fuzz_require(env.topic_len > 0 && (const uint8_t *)env.topic == data, "topic at the start");
    fuzz_require(fuzz_inside(env.body, env.body_len, data, size), "body inside the input");
    fuzz_require(fuzz_inside((const uint8_t *)env.src, env.src_len, data, size),
                 "src inside the input");
    if (env.topic_len > 8 && memcmp(env.topic, "counter.", 8) == 0)
        c.kind = SFA_KIND_COUNTER;
    rc = sfa_codec_each_dgram(&env, &fuzz_d, fuzz_dgram_cb, &c);
    fuzz_require(rc == 0 || rc == SFA_EFORMAT, "each_dgram returns 0 or SFA_EFORMAT");
    j = sfa_codec_body_json(&env);
    json_decref(j);
    return 0;
}
