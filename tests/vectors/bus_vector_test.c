/* bus_vector_test.c - check one proto/vectors/bus file against the C codec.
 *
 *   bus_vector_test y_NAME.msgpack y_NAME.json   must be accepted:
 *       sfa_codec_parse succeeds, sfa_codec_to_json equals the .json (made
 *       by make_vectors.py with python3-msgpack, an independent reader),
 *       and for sample topics sfa_codec_each_dgram accepts every datagram,
 *       with the datagram and sample counts of the .json and each agent in
 *       the topic's bucket.
 *   bus_vector_test --reject n_NAME.msgpack      must be rejected by at
 *       least one reader: parse, each_dgram (sample topics) or to_json,
 *       and never read outside the file (run it under ASan).
 * Registered once per file in tests/vectors/meson.build, suite 'vectors'.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/codec.h>
#include <sfa/mem.h>

#include "test.h"

/* The whole file in an exact-size heap block (so ASan sees over-reads). */
static uint8_t *
read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = sfa_xmalloc(n ? (size_t)n : 1);
        if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        } else {
            *len = (size_t)n;
        }
    }
    fclose(f);
    return buf;
}

typedef struct vec_count {
    size_t dgrams, samples;
    unsigned bucket;
    int wrong_bucket;
} vec_count;

static int
vec_count_cb(const sfa_dgram *d, void *arg)
{
    vec_count *c = arg;

    c->dgrams++;
    c->samples += d->nsamples;
    if (sfa_bucket_of(&d->agent) != c->bucket)
        c->wrong_bucket++;
    return 0;
}

static int
is_sample_topic(const sfa_envelope *env)
{
    return (env->topic_len > 5 && memcmp(env->topic, "flow.", 5) == 0) ||
           (env->topic_len > 8 && memcmp(env->topic, "counter.", 8) == 0);
}

static void
check_accept(const char *mp_path, const char *json_path)
{
    size_t len = 0;
    uint8_t *msg = read_all(mp_path, &len);
    json_error_t jerr;
    json_t *want = json_load_file(json_path, 0, &jerr), *got;
    sfa_envelope env;
    sfa_dgram *scratch;

    CHECK(msg != NULL, "msgpack file readable");
    CHECK(want != NULL, "json file readable");
    if (!msg || !want)
        goto out;
    CHECK_OK(sfa_codec_parse(msg, len, &env), "sfa_codec_parse accepts it");
    got = sfa_codec_to_json(msg, len);
    CHECK(got != NULL, "sfa_codec_to_json accepts it");
    CHECK(got && json_equal(got, want), "sfa_codec_to_json equals the .json");
    if (got && !json_equal(got, want)) {
        char *s = json_dumps(got, JSON_COMPACT);
        printf("# got: %.2000s\n", s);
        free(s);
    }
    json_decref(got);
    if (!is_sample_topic(&env))
        goto out;

    json_t *body = json_object_get(want, "body");
    size_t want_samples = 0, i;
    json_t *dg;
    json_array_foreach(body, i, dg)
    {
        want_samples += json_array_size(json_object_get(dg, "samples"));
    }
    const char *hex = env.topic + env.topic_len - 2;
    vec_count c = {0, 0, (unsigned)strtoul((char[]){hex[0], hex[1], 0}, NULL, 16), 0};
    scratch = sfa_xmalloc(sizeof *scratch);
    CHECK_OK(sfa_codec_each_dgram(&env, scratch, vec_count_cb, &c), "each_dgram accepts it");
    CHECK_EQ(c.dgrams, json_array_size(body), "datagram count");
    CHECK_EQ(c.samples, want_samples, "sample count");
    CHECK_EQ(c.wrong_bucket, 0, "every agent is in the topic's bucket");
    free(scratch);
out:
    json_decref(want);
    free(msg);
}

static void
check_reject(const char *mp_path)
{
    size_t len = 0;
    uint8_t *msg = read_all(mp_path, &len);
    sfa_envelope env;
    vec_count c = {0};
    int parse_rc, each_rc = 0;
    json_t *j;

    CHECK(msg != NULL, "msgpack file readable");
    if (!msg)
        return;
    parse_rc = sfa_codec_parse(msg, len, &env);
    if (parse_rc == 0 && is_sample_topic(&env)) {
        sfa_dgram *scratch = sfa_xmalloc(sizeof *scratch);
        each_rc = sfa_codec_each_dgram(&env, scratch, vec_count_cb, &c);
        free(scratch);
    }
    j = sfa_codec_to_json(msg, len);
    printf("# parse %d, each_dgram %d, to_json %s\n", parse_rc, each_rc, j ? "accepted" : "NULL");
    CHECK(parse_rc != 0 || each_rc != 0 || j == NULL, "rejected by a reader");
    CHECK(parse_rc <= 0 && each_rc <= 0, "errors are negative codes");
    json_decref(j);
    free(msg);
}

int
main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--reject") == 0)
        check_reject(argv[2]);
    else if (argc == 3)
        check_accept(argv[1], argv[2]);
    else
        CHECK(0, "usage: bus_vector_test (y.msgpack y.json | --reject n.msgpack)");
    return test_done();
}
