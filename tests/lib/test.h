/* test.h - a tiny TAP harness (STYLE habit 18).
 *
 * Every check always evaluates its arguments (never assert()), prints one
 * TAP line, and records failure. A test program calls its checks, then
 * returns test_done(), which prints the plan and the exit status meson's
 * 'tap' protocol reads.
 *
 *   CHECK(cond, "what")        CHECK_EQ(a, b, "what") (integers)
 *   CHECK_OK(rc, "what")       CHECK_ERR(rc, code, "what")
 *   CHECK_STR(a, b, "what")    CHECK_NEAR(a, b, tol, "what")
 */
#ifndef SFA_TEST_H
#define SFA_TEST_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int test_n_;
static int test_failed_;

static inline int
test_report_(int ok, const char *file, int line, const char *what, const char *detail)
{
    test_n_++;
    if (!ok)
        test_failed_++;
    printf("%s %d - %s\n", ok ? "ok" : "not ok", test_n_, what);
    if (!ok)
        printf("# %s:%d: %s\n", file, line, detail ? detail : "check failed");
    fflush(stdout);
    return ok;
}

#define CHECK(cond, what) test_report_(!!(cond), __FILE__, __LINE__, (what), #cond)

#define CHECK_EQ(a, b, what)                                                                       \
    do {                                                                                           \
        long long test_a_ = (long long)(a), test_b_ = (long long)(b);                              \
        char test_d_[160];                                                                         \
        snprintf(test_d_, sizeof test_d_, "%s = %lld, expected %s = %lld", #a, test_a_, #b,        \
                 test_b_);                                                                         \
        test_report_(test_a_ == test_b_, __FILE__, __LINE__, (what), test_d_);                     \
    } while (0)

#define CHECK_NEAR(a, b, tol, what)                                                                \
    do {                                                                                           \
        double test_a_ = (double)(a), test_b_ = (double)(b);                                       \
        char test_d_[160];                                                                         \
        snprintf(test_d_, sizeof test_d_, "%s = %g, expected %g +- %g", #a, test_a_, test_b_,      \
                 (double)(tol));                                                                   \
        test_report_(fabs(test_a_ - test_b_) <= (tol), __FILE__, __LINE__, (what), test_d_);       \
    } while (0)

#define CHECK_STR(a, b, what)                                                                      \
    do {                                                                                           \
        const char *test_a_ = (a), *test_b_ = (b);                                                 \
        char test_d_[320];                                                                         \
        snprintf(test_d_, sizeof test_d_, "got \"%.120s\", expected \"%.120s\"",                   \
                 test_a_ ? test_a_ : "(null)", test_b_ ? test_b_ : "(null)");                      \
        test_report_(test_a_ &&test_b_ &&strcmp(test_a_, test_b_) == 0, __FILE__, __LINE__,        \
                     (what), test_d_);                                                             \
    } while (0)

#define CHECK_OK(rc, what) CHECK_EQ((rc), 0, (what))
#define CHECK_ERR(rc, code, what) CHECK_EQ((rc), (code), (what))

static inline int
test_done(void)
{
    printf("1..%d\n", test_n_);
    if (test_failed_)
        printf("# %d of %d checks failed\n", test_failed_, test_n_);
    return test_failed_ ? 1 : 0;
}

#endif
