/* busdump_test.c - sfa-busdump against real sfa_bus publishers.
 *
 * Opens two publisher lanes on ipc:// paths under the build dir (lane 1 of
 * a base URL is base.1, as the collector does), starts sfa-busdump as a
 * child dialing the base URL with --lanes 2, waits until it is connected
 * to both lanes, publishes known messages, and checks what the child
 * prints and its exit status:
 *   1. --count with an exact topic and a prefix: only the subscribed topics
 *      are counted, with their datagrams, samples and the seq gap;
 *   2. JSON lines for everything (--max 2), from both lanes;
 *   3. exit status 1 for a bad command line, 2 for a URL nng refuses.
 * Usage: busdump_test SFA_BUSDUMP WORKDIR (TAP on stdout).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sfa/bus.h>
#include <sfa/clock.h>
#include <sfa/codec.h>
#include <sfa/log.h>

#include "test.h"

static const char *busdump_bin;
static sfa_bus *lanes[2];
static uv_loop_t loop;

/* Start argv with stdout on a pipe; *fd gets the read end. */
static pid_t
spawn(char *const argv[], int *fd)
{
    int p[2];
    pid_t pid;

    if (pipe(p) != 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    *fd = p[0];
    return pid;
}

/* Everything the child writes until it exits; returns its exit status. */
static int
collect(pid_t pid, int fd, char *out, size_t cap)
{
    size_t n = 0;
    ssize_t r;
    int st = 0;

    while (n + 1 < cap && (r = read(fd, out + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    close(fd);
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Wait until both lanes have (want) or have no (!want) subscriber. */
static int
wait_pipes(int want)
{
    uint64_t end = sfa_clock_ms() + 10000;

    while (sfa_clock_ms() < end) {
        sfa_bus_stats a, b;
        sfa_bus_get_stats(lanes[0], &a);
        sfa_bus_get_stats(lanes[1], &b);
        if (want ? a.pipes > 0 && b.pipes > 0 : a.pipes == 0 && b.pipes == 0)
            return 1;
        usleep(20000);
    }
    return 0;
}

static void
publish(int lane, const char *topic, uint64_t seq, int nsamples)
{
    static sfa_dgram d;
    static uint8_t buf[8192];
    int counter = strncmp(topic, "counter.", 8) == 0;
    sfa_batch b;
    size_t n;

    if (strncmp(topic, "flow.", 5) != 0 && !counter) {
        json_t *body = json_pack("{s:s}", "service", "test");
        int len = sfa_codec_encode_json_msg(buf, sizeof buf, topic, "pub", seq, 1, body);
        json_decref(body);
        CHECK(len > 0 && sfa_bus_publish(lanes[lane], buf, (size_t)len) == 0, "publish control");
        return;
    }
    memset(&d, 0, offsetof(sfa_dgram, samples));
    sfa_addr_parse("10.0.0.1", &d.agent);
    d.nsamples = (uint32_t)nsamples;
    for (int i = 0; i < nsamples; i++) {
        memset(&d.samples[i], 0, sizeof d.samples[i]);
        d.samples[i].tag = counter ? SFA_SAMPLE_COUNTER : SFA_SAMPLE_FLOW;
    }
    if (sfa_batch_begin(&b, buf, sizeof buf, topic, "pub") ||
        sfa_batch_add(&b, &d, counter ? SFA_KIND_COUNTER : SFA_KIND_FLOW)) {
        CHECK(0, "encode");
        return;
    }
    n = sfa_batch_finish(&b, seq, 1);
    CHECK_OK(sfa_bus_publish(lanes[lane], buf, n), "publish samples");
}

static void
test_count(const char *url)
{
    char *argv[] = {
        (char *)busdump_bin, (char *)url, "--lanes", "2",          "--count", "--max",       "6",
        "--timeout",         "20",        "-T",      "flow.v1.2c", "-t",      "counter.v1.", NULL};
    static char out[65536];
    int fd, st;
    pid_t pid = spawn(argv, &fd);

    CHECK(pid > 0, "count: busdump started");
    CHECK(wait_pipes(1), "count: busdump connected to both lanes");
    publish(1, "flow.v1.2d", 1, 1); /* not subscribed (other bucket) */
    publish(0, "stats.v1", 1, 0);   /* not subscribed */
    publish(0, "flow.v1.2c", 1, 2);
    publish(0, "flow.v1.2c", 2, 2);
    publish(0, "flow.v1.2c", 3, 2);
    publish(0, "flow.v1.2c", 5, 2); /* seq 4 never sent: one gap */
    publish(0, "counter.v1.ce", 1, 3);
    publish(0, "counter.v1.ce", 2, 3);
    st = collect(pid, fd, out, sizeof out);
    CHECK_EQ(st, 0, "count: exit 0 after --max");
    json_error_t e;
    json_t *j = json_loads(out, JSON_DISABLE_EOF_CHECK, &e);
    CHECK(j != NULL, "count: report is JSON");
    if (!j) {
        printf("# output: %s\n", out);
        return;
    }
    json_t *topics = json_object_get(j, "topics");
    json_t *f = json_object_get(topics, "flow.v1.2c"),
           *c = json_object_get(topics, "counter.v1.ce");
    CHECK_EQ(json_integer_value(json_object_get(j, "messages")), 6, "count: messages");
    CHECK_EQ(json_object_size(topics), 2, "count: only subscribed topics");
    CHECK_EQ(json_integer_value(json_object_get(f, "messages")), 4, "count: flow messages");
    CHECK_EQ(json_integer_value(json_object_get(f, "datagrams")), 4, "count: flow datagrams");
    CHECK_EQ(json_integer_value(json_object_get(f, "samples")), 8, "count: flow samples");
    CHECK_EQ(json_integer_value(json_object_get(f, "gaps")), 1, "count: flow gap");
    CHECK_EQ(json_integer_value(json_object_get(c, "samples")), 6, "count: counter samples");
    CHECK_EQ(json_integer_value(json_object_get(c, "gaps")), 0, "count: counter no gap");
    json_decref(j);
}

static void
test_json(const char *url)
{
    char *argv[] = {(char *)busdump_bin, (char *)url, "-l", "2", "-n", "2", "-w", "20", NULL};
    static char out[65536];
    int fd, st;

    CHECK(wait_pipes(0), "json: the previous subscriber is gone");
    pid_t pid = spawn(argv, &fd);
    CHECK(pid > 0, "json: busdump started");
    CHECK(wait_pipes(1), "json: busdump connected to both lanes");
    publish(1, "flow.v1.2d", 9, 1);
    usleep(100000); /* two lanes are two queues: keep the order for the check */
    publish(0, "agents.v1", 4, 0);
    st = collect(pid, fd, out, sizeof out);
    CHECK_EQ(st, 0, "json: exit 0 after --max");
    char *nl = strchr(out, '\n');
    CHECK(nl && strchr(nl + 1, '\n') && !strchr(strchr(nl + 1, '\n') + 1, '\n'), "json: two lines");
    if (!nl)
        return;
    *nl = '\0';
    json_error_t e;
    json_t *a = json_loads(out, 0, &e), *b = json_loads(nl + 1, JSON_DISABLE_EOF_CHECK, &e);
    CHECK(a && strcmp(json_string_value(json_object_get(a, "topic")), "flow.v1.2d") == 0,
          "json: lane 1 message");
    CHECK(a && json_integer_value(json_object_get(a, "seq")) == 9, "json: its seq");
    CHECK(b && strcmp(json_string_value(json_object_get(b, "topic")), "agents.v1") == 0,
          "json: lane 0 message");
    CHECK(b && json_is_string(json_object_get(json_object_get(b, "body"), "service")),
          "json: control body");
    json_decref(a);
    json_decref(b);
}

static void
test_exit_codes(void)
{
    char *bad_args[] = {(char *)busdump_bin, "--lanes", "0", "ipc:///x", NULL};
    char *bad_url[] = {(char *)busdump_bin, "nosuch://x", "-w", "5", NULL};
    static char out[4096];
    int fd;
    pid_t pid = spawn(bad_args, &fd);

    CHECK_EQ(collect(pid, fd, out, sizeof out), 1, "bad command line: exit 1");
    pid = spawn(bad_url, &fd);
    CHECK_EQ(collect(pid, fd, out, sizeof out), 2, "URL refused: exit 2");
}

int
main(int argc, char **argv)
{
    char base[512], url[600];

    if (argc != 3) {
        CHECK(0, "usage: busdump_test SFA_BUSDUMP WORKDIR");
        return test_done();
    }
    busdump_bin = argv[1];
    signal(SIGPIPE, SIG_IGN);
    sfa_log_init("busdump_test", SFA_LOG_WARNING);
    uv_loop_init(&loop);
    snprintf(base, sizeof base, "ipc://%s/busdump-%d", argv[2], (int)getpid());
    for (int i = 0; i < 2; i++) {
        CHECK_OK(sfa_bus_lane_url(url, sizeof url, base, i, 2), "lane URL");
        CHECK_OK(sfa_bus_pub_open(&lanes[i], &loop, url, 64), "publisher lane open");
    }
    if (lanes[0] && lanes[1]) {
        test_count(base);
        test_json(base);
    }
    test_exit_codes();
    sfa_bus_close(lanes[0]);
    sfa_bus_close(lanes[1]);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return test_done();
}
