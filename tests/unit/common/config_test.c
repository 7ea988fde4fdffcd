/* config_test.c - sfa_config_load: every source, precedence, errors,
 * --help and --dump-config.
 *
 * Each case builds an argv, sets or clears RTPROP and SFA_ variables, and
 * checks the resulting struct. stdout/stderr are captured into a temporary
 * file where the output itself is the outcome under test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sfa/config.h>
#include <sfa/log.h>
#include <sfa/mem.h>

#include "test.h"

typedef struct tcfg {
    long port;
    char *host;
    int ro;
    double ratio;
    char *file;
} tcfg;

static const sfa_cfg_opt topts[] = {
    {"sflow.port", SFA_CFG_INT, "6343", offsetof(tcfg, port), 1, 65535, "UDP port for sFlow"},
    {"sflow.hostname", SFA_CFG_STR, NULL, offsetof(tcfg, host), 0, 0, "address to bind"},
    {"http.readonly", SFA_CFG_BOOL, "false", offsetof(tcfg, ro), 0, 0, "refuse writes"},
    {"test.ratio", SFA_CFG_DOUBLE, "0.5", offsetof(tcfg, ratio), 0, 1, "a fraction"},
    {"sflow.file", SFA_CFG_STR, "none.pcap", offsetof(tcfg, file), 0, 0, "capture to replay"},
    SFA_CFG_END,
};

static char tdir[200];
static char captured[16384];

/* ---- helpers ---- */

static int cap_saved = -1, cap_fd = -1;
static FILE *cap_file;

static void
capture_begin(int fd)
{
    fflush(stdout);
    cap_fd = fd;
    cap_saved = dup(fd);
    cap_file = tmpfile();
    dup2(fileno(cap_file), fd);
}

static const char *
capture_end(void)
{
    size_t n;

    fflush(stdout);
    dup2(cap_saved, cap_fd);
    close(cap_saved);
    rewind(cap_file);
    n = fread(captured, 1, sizeof captured - 1, cap_file);
    captured[n] = '\0';
    fclose(cap_file);
    return captured;
}

/* Load with argv = {"prog", args..., NULL}; the remaining variadic
 * arguments are the args, NULL-terminated. */
static int
load(tcfg *c, ...)
{
    char *argv[32] = {"prog"};
    int argc = 1;
    va_list ap;

    va_start(ap, c);
    for (char *a; argc < 31 && (a = va_arg(ap, char *));)
        argv[argc++] = a;
    va_end(ap);
    return sfa_config_load(topts, c, "test", argc, argv);
}

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    fputs(text, f);
    fclose(f);
}

static void
clear_env(void)
{
    unsetenv("RTPROP");
    unsetenv("SFA_SFLOW_PORT");
    unsetenv("SFA_SFLOW_HOSTNAME");
    unsetenv("SFA_HTTP_READONLY");
}

static void
remove_tdir(void)
{
    static const char *const names[] = {"a", "b", "p", "bad"};
    char path[600];

    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s.properties", tdir, names[i]);
        unlink(path);
    }
    rmdir(tdir);
}

/* ---- cases ---- */

static void
test_defaults(void)
{
    tcfg c;

    CHECK_OK(load(&c, NULL), "defaults load");
    CHECK_EQ(c.port, 6343, "int default");
    CHECK_STR(c.host, "", "NULL string default is empty");
    CHECK_EQ(c.ro, 0, "bool default");
    CHECK_NEAR(c.ratio, 0.5, 1e-9, "double default");
    CHECK_STR(c.file, "none.pcap", "string default");
    sfa_config_free(topts, &c);
    CHECK(c.host == NULL && c.file == NULL, "free clears strings");
}

static void
test_args(void)
{
    tcfg c;

    int rv = load(&c, "-Dsflow.port=7000", "-D", "sflow.hostname=::1", "-Dhttp.readonly=YES",
                  "-Dtest.ratio=0.25", "-Dsflow.file=", NULL);
    CHECK_OK(rv, "-D arguments load");
    CHECK_EQ(c.port, 7000, "-D int");
    CHECK_STR(c.host, "::1", "-D name=value as two arguments");
    CHECK_EQ(c.ro, 1, "bool yes (any case)");
    CHECK_NEAR(c.ratio, 0.25, 1e-9, "-D double");
    CHECK_STR(c.file, "", "-Dname= gives an empty string");
    sfa_config_free(topts, &c);
    CHECK_OK(load(&c, "-Dsflow.port=7000", "-Dsflow.port=7001", NULL), "repeated -D");
    CHECK_EQ(c.port, 7001, "the last -D wins");
    sfa_config_free(topts, &c);
}

static void
test_bools(void)
{
    static const char *const on[] = {"true", "on", "1", "Yes"}, *const off[] = {"false", "OFF", "0",
                                                                                "no"};
    char arg[64];
    tcfg c;
    int good = 0;

    for (int i = 0; i < 4; i++) {
        snprintf(arg, sizeof arg, "-Dhttp.readonly=%s", on[i]);
        good += load(&c, arg, NULL) == 0 && c.ro == 1;
        sfa_config_free(topts, &c);
        snprintf(arg, sizeof arg, "-Dhttp.readonly=%s", off[i]);
        good += load(&c, arg, NULL) == 0 && c.ro == 0;
        sfa_config_free(topts, &c);
    }
    CHECK_EQ(good, 8, "every boolean spelling parses");
}

static void
test_files(void)
{
    char f1[300], f2[300], arg[700];
    tcfg c;

    snprintf(f1, sizeof f1, "%s/a.properties", tdir);
    snprintf(f2, sizeof f2, "%s/b.properties", tdir);
    write_file(f1,
               "# comment\n! also a comment\n\n  sflow.port = 6400 \nsflow.hostname=10.0.0.1\r\n"
               "http.port=8008\n");
    write_file(f2, "sflow.port=6500\n");
    CHECK_OK(load(&c, "--config", f1, NULL), "--config FILE loads");
    CHECK_EQ(c.port, 6400, "file value, whitespace trimmed");
    CHECK_STR(c.host, "10.0.0.1", "CRLF line ending stripped");
    sfa_config_free(topts, &c);
    snprintf(arg, sizeof arg, "-Dsystem.propertyFiles=%s,%s", f1, f2);
    CHECK_OK(load(&c, arg, NULL), "-Dsystem.propertyFiles with two files");
    CHECK_EQ(c.port, 6500, "the later file wins");
    CHECK_STR(c.host, "10.0.0.1", "the earlier file still applies");
    sfa_config_free(topts, &c);
    snprintf(arg, sizeof arg, "--config=%s", f2);
    CHECK_OK(load(&c, "-Dsflow.port=6600", arg, NULL), "--config=FILE");
    CHECK_EQ(c.port, 6600, "-D beats the file whatever the argument order");
    sfa_config_free(topts, &c);
}

static void
test_precedence(void)
{
    char f1[300];
    tcfg c;

    snprintf(f1, sizeof f1, "%s/p.properties", tdir);
    write_file(f1, "sflow.port=1001\nsflow.hostname=file\nhttp.readonly=true\nsflow.file=file\n");
    setenv("RTPROP", "-Dsflow.port=1002  -Dsflow.hostname=rtprop\t-Dhttp.readonly=false", 1);
    setenv("SFA_SFLOW_PORT", "1003", 1);
    setenv("SFA_SFLOW_HOSTNAME", "env", 1);
    CHECK_OK(load(&c, "--config", f1, "-Dsflow.port=1004", NULL), "all sources load");
    CHECK_EQ(c.port, 1004, "-D beats SFA_, RTPROP, file");
    CHECK_STR(c.host, "env", "SFA_ beats RTPROP and file");
    CHECK_EQ(c.ro, 0, "RTPROP beats file");
    CHECK_STR(c.file, "file", "file beats default");
    CHECK_NEAR(c.ratio, 0.5, 1e-9, "default when no source sets it");
    sfa_config_free(topts, &c);

    /* RTPROP may name the properties file, as in the sflow-rt image. */
    clear_env();
    char rt[400];
    snprintf(rt, sizeof rt, "-Xmx1G -Dsystem.propertyFiles=%s -Dsflow.hostname=rt", f1);
    setenv("RTPROP", rt, 1);
    capture_begin(STDERR_FILENO);
    int rv = load(&c, NULL);
    const char *err = capture_end();
    CHECK_OK(rv, "RTPROP with a file and a JVM flag");
    CHECK_EQ(c.port, 1001, "file named in RTPROP is read");
    CHECK_STR(c.host, "rt", "RTPROP -D beats its file");
    CHECK(strstr(err, "-Xmx1G") != NULL, "non -D RTPROP item is reported and ignored");
    sfa_config_free(topts, &c);
    clear_env();
}

/* A failed load logs a line naming the property and leaves c untouched. */
static void
check_fails(const char *arg, const char *must_mention, const char *what)
{
    tcfg c = {.port = -7};
    int rv;

    capture_begin(STDERR_FILENO);
    rv = load(&c, "-Dsflow.hostname=x", arg, NULL);
    const char *err = capture_end();
    CHECK_ERR(rv, SFA_ECONFIG, what);
    CHECK(strstr(err, must_mention) != NULL, "error message names the culprit");
    CHECK(c.port == -7 && c.host == NULL, "struct untouched on error");
}

static void
test_errors(void)
{
    char f[300], arg[400];

    check_fails("-Dsflow.prot=1", "sflow.prot", "unknown property");
    check_fails("-Dsflow.port=abc", "abc", "not a number");
    check_fails("-Dsflow.port=70000", "sflow.port", "out of range");
    check_fails("-Dsflow.port=0", "sflow.port", "below range");
    check_fails("-Dsflow.port=", "sflow.port", "empty number");
    check_fails("-Dsflow.port=12x", "12x", "trailing junk");
    check_fails("-Dhttp.readonly=maybe", "maybe", "bad boolean");
    check_fails("-Dtest.ratio=1.5", "test.ratio", "double out of range");
    check_fails("-Dtest.ratio=nan", "test.ratio", "double not finite");
    check_fails("--verbose", "--verbose", "unknown argument");
    check_fails("-D", "-D", "-D without a property");
    check_fails("--config", "--config", "--config without a file");
    check_fails("--config=/nonexistent/x.properties", "/nonexistent/x.properties",
                "missing properties file");
    snprintf(f, sizeof f, "%s/bad.properties", tdir);
    write_file(f, "sflow.port=6343\nno equals sign here\n");
    snprintf(arg, sizeof arg, "--config=%s", f);
    check_fails(arg, "bad.properties:2", "malformed file line names file:line");
    write_file(f, "sflow.port=99999\n");
    check_fails(arg, "99999", "bad value in a file");

    setenv("SFA_SFLOW_PORT", "-1", 1);
    check_fails("-Dsflow.port=100", "SFA_SFLOW_PORT", "bad SFA_ value even if -D overrides it");
    clear_env();
    setenv("RTPROP", "-Dbogus.name=1", 1);
    check_fails("-Dsflow.port=100", "bogus.name", "unknown property in RTPROP");
    clear_env();
}

static void
test_known(void)
{
    static const char *const extra[] = {"aggregator.window", "aggregator.depth", NULL};
    tcfg c;

    CHECK(sfa_config_is_known("http.port"), "built-in list knows http.port");
    CHECK(sfa_config_is_known("prometheus.type"), "built-in list knows prometheus.type");
    CHECK(!sfa_config_is_known("aggregator.window"), "not known before registering");
    CHECK_OK(load(&c, "-Dhttp.port=8008", "-Dscript.file=x.js", "-Dbus.lanes=4", NULL),
             "other services' properties are ignored");
    CHECK_EQ(c.port, 6343, "ignored properties change nothing");
    sfa_config_free(topts, &c);
    sfa_config_known(extra);
    CHECK(sfa_config_is_known("aggregator.window") && sfa_config_is_known("aggregator.depth"),
          "sfa_config_known adds names");
    CHECK_OK(load(&c, "-Daggregator.depth=3", NULL), "registered name accepted");
    sfa_config_free(topts, &c);
}

static void
test_help_dump(void)
{
    tcfg c = {.port = -7};
    const char *out;
    int rv;

    capture_begin(STDOUT_FILENO);
    rv = load(&c, "-Dsflow.port=7", "--help", NULL);
    out = capture_end();
    CHECK_ERR(rv, SFA_EEXIT, "--help returns SFA_EEXIT");
    CHECK(strstr(out, "sflow.port (int, default \"6343\", range 1..65535)") != NULL,
          "help shows type, default and range");
    CHECK(strstr(out, "UDP port for sFlow") != NULL, "help shows the help text");
    CHECK(strstr(out, "http.readonly (bool") && strstr(out, "test.ratio (double") &&
              strstr(out, "sflow.file (string, default \"none.pcap\")"),
          "help lists every property");

    setenv("SFA_HTTP_READONLY", "on", 1);
    capture_begin(STDOUT_FILENO);
    rv = load(&c, "-Dsflow.port=7", "-Dsflow.hostname=h", "--dump-config", NULL);
    out = capture_end();
    clear_env();
    CHECK_ERR(rv, SFA_EEXIT, "--dump-config returns SFA_EEXIT");
    CHECK_STR(out,
              "sflow.port=7\nsflow.hostname=h\nhttp.readonly=true\ntest.ratio=0.5\n"
              "sflow.file=none.pcap\n",
              "dump prints effective name=value lines");
    CHECK(c.port == -7 && c.host == NULL, "struct untouched after help/dump");
}

static void
test_argv_untouched(void)
{
    char a1[] = "-Dsystem.propertyFiles=/nonexistent/a,/nonexistent/b";
    char *argv[] = {"prog", a1, NULL};
    tcfg c;

    capture_begin(STDERR_FILENO);
    int rv = sfa_config_load(topts, &c, "test", 2, argv);
    CHECK_ERR(rv, SFA_ECONFIG, "missing listed file");
    capture_end();
    CHECK_STR(a1, "-Dsystem.propertyFiles=/nonexistent/a,/nonexistent/b",
              "argv is not modified (the launcher forwards it)");
}

/* sfa_config_default_ipc fills only an empty or unset URL, with the
 * suite's per-user ipc path. */
static void
test_default_ipc(void)
{
    char want[64];
    char *unset = NULL, *empty = sfa_xstrdup(""), *given = sfa_xstrdup("tcp://127.0.0.1:1");

    snprintf(want, sizeof want, "ipc:///tmp/sfa-%u/samples", (unsigned)getuid());
    sfa_config_default_ipc(&unset, "samples");
    CHECK_STR(unset, want, "unset URL gets ipc:///tmp/sfa-<uid>/samples");
    snprintf(want, sizeof want, "ipc:///tmp/sfa-%u/query", (unsigned)getuid());
    sfa_config_default_ipc(&empty, "query");
    CHECK_STR(empty, want, "empty URL gets ipc:///tmp/sfa-<uid>/query");
    sfa_config_default_ipc(&given, "query");
    CHECK_STR(given, "tcp://127.0.0.1:1", "a given URL is kept");
    free(unset);
    free(empty);
    free(given);
}

int
main(void)
{
    snprintf(tdir, sizeof tdir, "%s/config-test-XXXXXX", TEST_BUILD_DIR);
    if (!mkdtemp(tdir))
        return 1;
    sfa_log_init("test", SFA_LOG_INFO);
    clear_env();
    test_defaults();
    test_args();
    test_bools();
    test_files();
    test_precedence();
    test_errors();
    test_known();
    test_help_dump();
    test_argv_untouched();
    test_default_ipc();
    remove_tdir();
    return test_done();
}
