/* log.h - operator log lines in sFlow-RT's shape.
 *
 *   2026-11-28T02:14:29Z INFO: collector: Listening, sFlow port 6343
 *
 * One line per event on stderr, UTC timestamp, level, the service name,
 * then the text. The SFA_LOG macro checks the level before evaluating its
 * arguments. Traffic problems are counted, not logged (STYLE habit 15).
 * Thread-safe: each line is written with one write(2).
 */
#ifndef SFA_LOG_H
#define SFA_LOG_H

enum sfa_log_level {
    SFA_LOG_SEVERE = 0,
    SFA_LOG_WARNING = 1,
    SFA_LOG_INFO = 2,
    SFA_LOG_FINE = 3,
};

extern int sfa_log_level;

/* Set the service name printed after the level (borrows: must outlive the
 * process, e.g. a string literal) and the level threshold. */
void sfa_log_init(const char *service, int level);

/* Parse "SEVERE", "WARNING", "INFO", "FINE" (case-insensitive); -1 if unknown. */
int sfa_log_parse_level(const char *name);

void sfa_log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define SFA_LOG(level, ...)                                                                        \
    do {                                                                                           \
        if ((level) <= sfa_log_level)                                                              \
            sfa_log_write((level), __VA_ARGS__);                                                   \
    } while (0)

#define SFA_SEVERE(...) SFA_LOG(SFA_LOG_SEVERE, __VA_ARGS__)
#define SFA_WARN(...) SFA_LOG(SFA_LOG_WARNING, __VA_ARGS__)
#define SFA_INFO(...) SFA_LOG(SFA_LOG_INFO, __VA_ARGS__)
#define SFA_FINE(...) SFA_LOG(SFA_LOG_FINE, __VA_ARGS__)

#endif
