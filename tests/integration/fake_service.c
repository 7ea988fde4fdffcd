/* fake_service.c - a stand-in child for testing the launcher's process
 * management (launcher_test.sh links it as <bindir>/sfa-collector).
 *
 * It logs in the services' shape on stderr, writes an unstamped line on
 * stdout and a line split over two writes, echoes its arguments and
 * RTPROP, then waits. Environment knobs (inherited through the launcher):
 *   FAKE_EXIT_AFTER_MS  exit on its own after this many ms
 *   FAKE_EXIT_STATUS    with this status (default 3)
 *   FAKE_IGNORE_TERM    if set, ignore SIGTERM (the launcher must SIGKILL)
 * On SIGTERM/SIGINT it logs and exits 0. Not a real service: no config.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t fake_stop;

static void
fake_on_term(int sig)
{
    fake_stop = sig;
}

/* One stderr line in the sFlow-RT shape, written with one write(2). */
static void
fake_log(const char *text)
{
    char line[4096];
    time_t now = time(NULL);
    struct tm tm;
    size_t n;

    gmtime_r(&now, &tm);
    n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ INFO: collector: ", &tm);
    n += (size_t)snprintf(line + n, sizeof line - n - 1, "%s\n", text);
    if (write(STDERR_FILENO, line, n) < 0)
        exit(4);
}

static void
fake_announce(int argc, char **argv)
{
    char text[3000];
    size_t n;

    snprintf(text, sizeof text, "fake started pid %d", (int)getpid());
    fake_log(text);
    n = (size_t)snprintf(text, sizeof text, "fake args:");
    for (int i = 1; i < argc && n < sizeof text; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, " %s", argv[i]);
    fake_log(text);
    snprintf(text, sizeof text, "fake RTPROP=%s", getenv("RTPROP") ? getenv("RTPROP") : "");
    fake_log(text);
    printf("fake stdout line\n");
    fflush(stdout);
    /* A line that reaches the launcher in two pieces. */
    if (write(STDERR_FILENO, "fake part one, ", 15) < 0)
        exit(4);
    usleep(100 * 1000);
    if (write(STDERR_FILENO, "part two\n", 9) < 0)
        exit(4);
}

int
main(int argc, char **argv)
{
    const char *after = getenv("FAKE_EXIT_AFTER_MS"), *status = getenv("FAKE_EXIT_STATUS");
    long left_ms = after ? atol(after) : -1;

    signal(SIGTERM, getenv("FAKE_IGNORE_TERM") ? SIG_IGN : fake_on_term);
    signal(SIGINT, fake_on_term);
    fake_announce(argc, argv);
    while (!fake_stop) {
        usleep(10 * 1000);
        if (left_ms >= 0 && (left_ms -= 10) <= 0) {
            fake_log("fake exiting on its own");
            return status ? atoi(status) : 3;
        }
    }
    fake_log(fake_stop == SIGTERM ? "fake got SIGTERM" : "fake got SIGINT");
    return 0;
}
