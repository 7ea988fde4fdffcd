/* busdump_test.c - sfa-busdump's options and message handling, without a bus.
 *
 * Feeds hand-encoded messages to busdump_on_msg and reads what it writes
 * (through open_memstream): one JSON line per message, an error line for
 * a malformed one, --max, and in count mode the per-topic counts and
 * sequence gaps of the final report.
 */
#include <stdlib.h>
#include <string.h>

#include <sfa/codec.h>
#include <sfa/mem.h>

#include "busdump.h"
#include "test.h"

static int
parse(busdump_opts *o, const char *const *args, int n)
{
    char *argv[32];
    FILE *null = fopen("/dev/null", "w");
    int rc;

    argv[0] = (char *)"sfa-busdump";
    for (int i = 0; i < n; i++)
        argv[i + 1] = (char *)args[i];
    rc = busdump_parse(o, n + 1, argv, null, null);
    fclose(null);
    return rc;
}

static void
test_options(void)
{
    busdump_opts o;

    {
        const char *a[] = {
            "ipc:///x", "-u",       "tcp://127.0.0.1:1", "-l", "4",   "-t", "flow.v1.",
            "-T",       "stats.v1", "--count",           "-i", "0.5", "-n", "10",
            "-w",       "2.5"};
        CHECK_OK(parse(&o, a, 16), "full command line");
        CHECK_EQ(o.nurls, 2, "two URLs (option and argument)");
        CHECK_STR(o.urls[0], "tcp://127.0.0.1:1", "option URL first");
        CHECK_STR(o.urls[1], "ipc:///x", "argument URL");
        CHECK_EQ(o.lanes, 4, "lanes");
        CHECK_EQ(o.nprefixes, 2, "two prefixes");
        CHECK_EQ(o.prefixes[0].len, 8, "prefix without NUL");
        CHECK_EQ(o.prefixes[1].len, 9, "exact topic includes its NUL");
        CHECK(o.count && o.interval == 0.5 && o.max == 10 && o.timeout == 2.5, "numbers");
    }
    {
        const char *a[] = {"-c"};
        CHECK_ERR(parse(&o, a, 1), SFA_ECONFIG, "no URL");
    }
    {
        const char *a[] = {"ipc:///x", "-i", "1"};
        CHECK_ERR(parse(&o, a, 3), SFA_ECONFIG, "--interval without --count");
    }
    {
        const char *a[] = {"ipc:///x", "-n", "0"};
        CHECK_ERR(parse(&o, a, 3), SFA_ECONFIG, "--max 0");
    }
    {
        const char *a[] = {"ipc:///x", "-l", "x"};
        CHECK_ERR(parse(&o, a, 3), SFA_ECONFIG, "bad --lanes");
    }
    {
        const char *a[] = {"ipc:///x", "--timeout"};
        CHECK_ERR(parse(&o, a, 2), SFA_ECONFIG, "missing value");
    }
    {
        const char *a[] = {"--help"};
        CHECK_ERR(parse(&o, a, 1), SFA_EEXIT, "--help");
    }
}

/* A sample message with one datagram of nsamples flow samples. */
static size_t
make_msg(uint8_t *buf, size_t cap, const char *topic, uint64_t seq, int nsamples)
{
    static sfa_dgram d;
    sfa_batch b;

    memset(&d, 0, offsetof(sfa_dgram, samples));
    sfa_addr_parse("10.0.0.1", &d.agent);
    for (int i = 0; i < nsamples; i++) {
        memset(&d.samples[i], 0, sizeof d.samples[i]);
        d.samples[i].tag = strncmp(topic, "counter", 7) == 0 ? SFA_SAMPLE_COUNTER : SFA_SAMPLE_FLOW;
    }
    d.nsamples = (uint32_t)nsamples;
    if (sfa_batch_begin(&b, buf, cap, topic, "pub-1"))
        return 0;
    if (sfa_batch_add(&b, &d, strncmp(topic, "counter", 7) == 0 ? SFA_KIND_COUNTER : SFA_KIND_FLOW))
        return 0;
    return sfa_batch_finish(&b, seq, 1000);
}

static void
test_json_mode(void)
{
    busdump_opts o;
    const char *a[] = {"ipc:///x", "--max", "3"};
    uint8_t buf[4096];
    char *out = NULL;
    size_t outlen = 0, n;
    FILE *f = open_memstream(&out, &outlen);

    CHECK_OK(parse(&o, a, 3), "json mode options");
    busdump *b = busdump_create(&o, f);
    n = make_msg(buf, sizeof buf, "flow.v1.2c", 1, 2);
    CHECK(n > 0, "message made");
    CHECK_EQ(busdump_on_msg(b, buf, n), 0, "first message: go on");
    CHECK_EQ(busdump_on_msg(b, (const uint8_t *)"junk", 4), 0, "malformed: go on");
    CHECK_EQ(busdump_on_msg(b, buf, n), 1, "third message: --max reached");
    CHECK_EQ(busdump_messages(b), 3, "three handled");
    busdump_destroy(b);
    fclose(f);

    char *line2 = strchr(out, '\n');
    CHECK(line2 != NULL, "lines");
    if (!line2)
        goto out;
    *line2++ = '\0';
    json_error_t e;
    json_t *j = json_loads(out, 0, &e);
    CHECK(j && strcmp(json_string_value(json_object_get(j, "topic")), "flow.v1.2c") == 0,
          "line 1 is the message as JSON");
    CHECK(j && json_array_size(json_object_get(j, "body")) == 1, "line 1 body");
    json_decref(j);
    char *line3 = strchr(line2, '\n');
    if (line3)
        *line3 = '\0';
    j = json_loads(line2, 0, &e);
    CHECK(j && json_is_string(json_object_get(j, "error")) &&
              json_integer_value(json_object_get(j, "len")) == 4,
          "line 2 reports the malformed message");
    json_decref(j);
out:
    free(out);
}

static void
test_count_mode(void)
{
    busdump_opts o;
    const char *a[] = {"ipc:///x", "--count"};
    uint8_t buf[4096];
    char *out = NULL;
    size_t outlen = 0, n;
    FILE *f = open_memstream(&out, &outlen);
    static const uint64_t flow_seqs[] = {1, 2, 3, 7, 8};

    CHECK_OK(parse(&o, a, 2), "count mode options");
    busdump *b = busdump_create(&o, f);
    for (size_t i = 0; i < sizeof flow_seqs / sizeof flow_seqs[0]; i++) {
        n = make_msg(buf, sizeof buf, "flow.v1.2c", flow_seqs[i], 3);
        busdump_on_msg(b, buf, n);
    }
    for (uint64_t s = 10; s <= 11; s++) {
        n = make_msg(buf, sizeof buf, "counter.v1.2c", s, 1);
        busdump_on_msg(b, buf, n);
    }
    n = make_msg(buf, sizeof buf, "counter.v1.2c", 1, 1); /* publisher restart */
    busdump_on_msg(b, buf, n);
    busdump_on_msg(b, (const uint8_t *)"x\0\x80", 3);
    busdump_report(b, 1234);
    busdump_destroy(b);
    fclose(f);

    json_error_t e;
    json_t *j = json_loads(out, 0, &e), *t;
    CHECK(j != NULL, "report is JSON");
    CHECK_EQ(json_integer_value(json_object_get(j, "elapsed_ms")), 1234, "elapsed_ms");
    CHECK_EQ(json_integer_value(json_object_get(j, "messages")), 9, "messages");
    CHECK_EQ(json_integer_value(json_object_get(j, "gaps")), 3, "gaps");
    CHECK_EQ(json_integer_value(json_object_get(j, "errors")), 1, "malformed counted");
    t = json_object_get(json_object_get(j, "topics"), "flow.v1.2c");
    CHECK_EQ(json_integer_value(json_object_get(t, "messages")), 5, "flow messages");
    CHECK_EQ(json_integer_value(json_object_get(t, "datagrams")), 5, "flow datagrams");
    CHECK_EQ(json_integer_value(json_object_get(t, "samples")), 15, "flow samples");
    CHECK_EQ(json_integer_value(json_object_get(t, "gaps")), 3, "flow gap 3..7");
    t = json_object_get(json_object_get(j, "topics"), "counter.v1.2c");
    CHECK_EQ(json_integer_value(json_object_get(t, "messages")), 3, "counter messages");
    CHECK_EQ(json_integer_value(json_object_get(t, "gaps")), 0, "restart is not a gap");
    CHECK_EQ(json_integer_value(json_object_get(t, "samples")), 3, "counter samples");
    json_decref(j);
    free(out);
}

int
main(void)
{
    test_options();
    test_json_mode();
    test_count_mode();
    return test_done();
}
