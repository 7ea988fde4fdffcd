/* fuzz_sflow.c - fuzz target for the sFlow decoder and the sample encoder.
 *
 * Each input is one UDP payload. It is decoded with col_sflow_decode();
 * the result is checked against the decoder's structural promises (ranges
 * inside the arrays, borrowed bytes inside the input or the arena, known
 * field ids and types), then encoded into a flow and a counter batch, and
 * each message is parsed back (envelope, datagrams, JSON) so the encoder
 * and the bus reader are fuzzed on every decoded shape. A broken promise
 * aborts, which libFuzzer reports as a crash.
 *
 * Built two ways: with -fsanitize=fuzzer as a libFuzzer target (option
 * 'fuzz', clang), and with -DSFA_FUZZ_REPLAY as a plain program that runs
 * the target over files and directories given on the command line (the
 * seed corpus and saved crashes) and prints TAP, so any compiler can
 * replay the corpus as a test (main() in fuzz_common.c). Single-threaded;
 * static scratch state.
 */
#include <sfa/codec.h>

#include "fuzz_common.h"
#include "sflow_decode.h"

const char fuzz_target_name[] = "fuzz_sflow";

#define FUZZ_MSG_CAP (4u << 20)

static sfa_dgram fuzz_d;
static sfa_dgram fuzz_back;
static col_decode_stats fuzz_st;
static uint8_t fuzz_msg[FUZZ_MSG_CAP];

/* The structural promises of a decoded sfa_dgram. */
static void
fuzz_check(const sfa_dgram *d, const uint8_t *data, size_t size)
{
    fuzz_check_ranges(d);
    fuzz_require(d->nsamples <= d->nsamples_declared, "no more samples than declared");
    for (uint32_t i = 0; i < d->nsamples; i++) {
        const sfa_sample *s = &d->samples[i];
        fuzz_require(s->tag >= 1 && s->tag <= 5, "known sample tag");
        fuzz_require(s->rec_count <= s->nrecords, "no more records than declared");
        fuzz_require(!s->status || d->status, "a sample error shows on the datagram");
    }
    for (uint32_t i = 0; i < d->nfields; i++) {
        const sfa_field *f = &d->fields[i];
        fuzz_require(f->id < SFA_F__COUNT, "known field id");
        size_t bytes = 0;
        switch (f->type) {
        case SFA_T_STR:
        case SFA_T_BIN:
            bytes = f->n;
            break;
        case SFA_T_U32S:
            bytes = (size_t)f->n * 4;
            break;
        case SFA_T_ASPATH:
        case SFA_T_ADAPTERS:
            bytes = f->n ? 8 : 0; /* at least the first element's header */
            break;
        default:
            continue;
        }
        fuzz_require(fuzz_inside(f->v.p, bytes, data, size) ||
                         fuzz_inside(f->v.p, bytes, d->arena, d->arena_used),
                     "borrowed bytes inside the input or the arena");
    }
}

static int
fuzz_count_cb(const sfa_dgram *d, void *arg)
{
    (void)d;
    (*(unsigned *)arg)++;
    return 0;
}

/* Encode one kind, then read the message back three ways. */
static void
fuzz_encode(const sfa_dgram *d, int kind)
{
    char topic[SFA_TOPIC_MAX];
    sfa_batch b;
    sfa_envelope env;

    sfa_topic_samples(topic, kind, sfa_bucket_of(&d->agent));
    fuzz_require(sfa_batch_begin(&b, fuzz_msg, sizeof fuzz_msg, topic, "fuzz") == 0,
                 "batch begins");
    int rc = sfa_batch_add(&b, d, kind);
    fuzz_require(rc == 0, "a decoded datagram fits an empty 4 MiB batch");
    size_t n = sfa_batch_finish(&b, 7, 1234);
    fuzz_require(n > 0, "batch finishes");
    fuzz_require(sfa_codec_parse(fuzz_msg, n, &env) == 0, "own message parses");
    unsigned count = 0;
    fuzz_require(sfa_codec_each_dgram(&env, &fuzz_back, fuzz_count_cb, &count) == 0,
                 "own datagrams read back");
    fuzz_require(count == b.count, "as many datagrams read back as written");
    json_t *j = sfa_codec_to_json(fuzz_msg, n);
    fuzz_require(j != NULL, "own message converts to JSON");
    json_decref(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_d.src.family = 0;
    fuzz_d.src_port = 0;
    fuzz_d.rx_ms = 0;
    int rc = col_sflow_decode(data, size, &fuzz_d, &fuzz_st);
    fuzz_require(rc == fuzz_d.status, "return value equals status");
    if (rc == SFA_EFORMAT && fuzz_d.version == 0)
        return 0; /* not sFlow: nothing was decoded */
    fuzz_check(&fuzz_d, data, size);
    fuzz_encode(&fuzz_d, SFA_KIND_FLOW);
    fuzz_encode(&fuzz_d, SFA_KIND_COUNTER);
    return 0;
}
