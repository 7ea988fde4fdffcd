/* vector_test.c - run one sFlow golden vector (proto/vectors/sflow).
 *
 *   vector_test FILE.bin            check FILE.bin against its contract
 *   vector_test --regen FILE.bin    (y_ only) write FILE.json from the decoder
 *
 * y_ files must decode with status 0; their expected result FILE.json is
 * {"flow": D, "counter": D}, where each D is the datagram map (body[0]) of
 * the bus message the codec makes from the datagram for that sample kind,
 * as JSON (sfa_codec_to_json), with the receive-time key "rx_ms" removed;
 * D is null when the datagram has no sample of that kind. n_ files must
 * decode with a nonzero status (and still encode without harm). TAP output.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/codec.h>

#include "sflow_decode.h"
#include "test.h"

#define VEC_MAX_FILE (1u << 20)
#define VEC_MSG_CAP (8u << 20)

static sfa_dgram dg;
static uint8_t msgbuf[VEC_MSG_CAP];

static uint8_t *
vec_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = malloc(VEC_MAX_FILE);
    size_t n = 0;

    if (!f || !buf) {
        if (f)
            fclose(f);
        free(buf);
        return NULL;
    }
    n = fread(buf, 1, VEC_MAX_FILE, f);
    fclose(f);
    /* An exactly-sized copy, so a sanitizer build catches any overread. */
    uint8_t *exact = malloc(n ? n : 1);
    if (exact)
        memcpy(exact, buf, n);
    free(buf);
    *len = n;
    return exact;
}

/* Encode the decoded datagram's samples of one kind; returns the datagram
 * map as JSON without rx_ms (new reference), json null when there are none,
 * or NULL on an encoding failure. */
static json_t *
vec_kind_json(int kind)
{
    char topic[SFA_TOPIC_MAX];
    sfa_batch b;
    json_t *msg, *body, *out;

    sfa_topic_samples(topic, kind, sfa_bucket_of(&dg.agent));
    if (sfa_batch_begin(&b, msgbuf, sizeof msgbuf, topic, "vector_test"))
        return NULL;
    if (sfa_batch_add(&b, &dg, kind))
        return NULL;
    size_t n = sfa_batch_finish(&b, 1, 0);
    msg = sfa_codec_to_json(msgbuf, n);
    if (!msg)
        return NULL;
    body = json_object_get(msg, "body");
    if (!json_is_array(body)) {
        json_decref(msg);
        return NULL;
    }
    if (json_array_size(body) == 0) {
        json_decref(msg);
        return json_null();
    }
    out = json_incref(json_array_get(body, 0));
    json_decref(msg);
    json_object_del(out, "rx_ms");
    return out;
}

static json_t *
vec_result(void)
{
    json_t *flow = vec_kind_json(SFA_KIND_FLOW);
    json_t *counter = vec_kind_json(SFA_KIND_COUNTER);
    if (!flow || !counter) {
        json_decref(flow);
        json_decref(counter);
        return NULL;
    }
    return json_pack("{s:o, s:o}", "flow", flow, "counter", counter);
}

/* Print where two JSON values first differ (as TAP diagnostics). */
static void
vec_explain(const json_t *got, const json_t *want)
{
    char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
    char *w = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
    size_t i = 0;
    if (g && w) {
        while (g[i] && g[i] == w[i])
            i++;
        size_t from = i > 80 ? i - 80 : 0;
        printf("# first difference at byte %zu\n# got:  ...%.160s\n# want: ...%.160s\n", i,
               g + from, w + from);
    }
    free(g);
    free(w);
}

static int
vec_positive(const char *bin, const uint8_t *buf, size_t len, int regen)
{
    col_decode_stats st = {0};
    char path[4096];
    json_t *got, *want;
    json_error_t jerr;

    int rc = col_sflow_decode(buf, len, &dg, &st);
    CHECK_OK(rc, "y_ vector decodes with status 0");
    CHECK(dg.nsamples > 0, "at least one sample");
    got = vec_result();
    CHECK(got != NULL, "encodes to a bus message and back to JSON");
    if (!got)
        return test_done();

    snprintf(path, sizeof path, "%.*s.json", (int)(strlen(bin) - 4), bin);
    if (regen) {
        int wr = json_dump_file(got, path, JSON_INDENT(1) | JSON_SORT_KEYS);
        CHECK_OK(wr, "wrote the expected JSON");
        printf("# wrote %s\n", path);
        json_decref(got);
        return test_done();
    }
    want = json_load_file(path, 0, &jerr);
    CHECK(want != NULL, "expected JSON loads");
    if (want) {
        int same = json_equal(got, want);
        CHECK(same, "decode + encode matches the expected JSON");
        if (!same)
            vec_explain(got, want);
    } else {
        printf("# %s: %s\n", path, jerr.text);
    }
    json_decref(want);
    json_decref(got);
    return test_done();
}

static int
vec_negative(const uint8_t *buf, size_t len)
{
    col_decode_stats st = {0};

    int rc = col_sflow_decode(buf, len, &dg, &st);
    CHECK(rc != 0, "n_ vector is rejected or flagged");
    CHECK_EQ(dg.status, rc, "status matches the return value");
    CHECK_EQ(st.decoded, 0, "not counted as decoded");
    CHECK_EQ(st.parse_errors + st.not_sflow + st.unsupported_version, 1,
             "counted once as malformed, not sFlow or unsupported");
    json_t *got = vec_result();
    CHECK(got != NULL, "what was decoded still encodes");
    json_decref(got);
    return test_done();
}

int
main(int argc, char **argv)
{
    int regen = argc > 1 && strcmp(argv[1], "--regen") == 0;
    const char *bin = argc > 1 + regen ? argv[1 + regen] : NULL;
    size_t len = 0;

    if (!bin || strlen(bin) < 5 || strcmp(bin + strlen(bin) - 4, ".bin") != 0) {
        fprintf(stderr, "usage: vector_test [--regen] DIR/{y,n}_NAME.bin\n");
        return 2;
    }
    const char *base = strrchr(bin, '/');
    base = base ? base + 1 : bin;
    uint8_t *buf = vec_read(bin, &len);
    CHECK(buf != NULL, "vector file readable");
    if (!buf)
        return test_done();

    /* What a receiver would set; rx_ms is left out of the comparison. */
    memset(&dg.src, 0, sizeof dg.src);
    dg.src_port = 0;
    dg.rx_ms = 0;

    int rc;
    if (base[0] == 'y' && base[1] == '_')
        rc = vec_positive(bin, buf, len, regen);
    else if (base[0] == 'n' && base[1] == '_' && !regen)
        rc = vec_negative(buf, len);
    else {
        CHECK(0, "vector name starts with y_ or n_ (and --regen only for y_)");
        rc = test_done();
    }
    free(buf);
    return rc;
}
