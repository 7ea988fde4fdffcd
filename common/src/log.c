/* log.c - one line per event on stderr in sFlow-RT's shape.
 *
 * "2026-11-28T02:14:29Z INFO: collector: text". Each line is assembled in
 * a stack buffer and written with a single write(2), so lines from threads
 * and child processes never interleave mid-line. Long messages are cut.
 */
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <sfa/log.h>

int sfa_log_level = SFA_LOG_INFO;
static const char *log_service = "sfa";

static const char *const log_names[] = {"SEVERE", "WARNING", "INFO", "FINE"};

void
sfa_log_init(const char *service, int level)
{
    log_service = service;
    sfa_log_level = level;
}

int
sfa_log_parse_level(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcasecmp(name, log_names[i]) == 0)
            return i;
    return -1;
}

void
sfa_log_write(int level, const char *fmt, ...)
{
    char line[1024];
    struct timespec ts;
    struct tm tm;
    size_t n;
    int r;
    va_list ap;

    if (level < 0 || level > SFA_LOG_FINE)
        level = SFA_LOG_SEVERE;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ ", &tm);
    r = snprintf(line + n, sizeof line - n, "%s: %s: ", log_names[level], log_service);
    if (r > 0)
        n += (size_t)r < sizeof line - n ? (size_t)r : sizeof line - n - 1;
    va_start(ap, fmt);
    r = vsnprintf(line + n, sizeof line - n, fmt, ap);
    va_end(ap);
    if (r > 0)
        n += (size_t)r < sizeof line - n ? (size_t)r : sizeof line - n - 1;
    line[n++] = '\n';
    if (write(STDERR_FILENO, line, n) < 0) {
        /* Nowhere left to report a failed log write. */
    }
}
