/* window_test.c - unit tests of the smoothing (services/aggregator/window.c).
 *
 * The smoothed rate of a constant-rate input converges to the rate within
 * 1% after a few time constants; one contribution decays by e^-1 per time
 * constant; rebasing leaves values unchanged (and zeroes them after a very
 * long idle time without overflowing); Poisson input has the documented
 * noise, relative sd 1/sqrt(2 lambda T) (proto/FLOWS.md); linear counting
 * of distinct values. All inputs are deterministic (fixed-seed generator).
 */
#include <math.h>
#include <stdint.h>

#include "agg.h"
#include "test.h"

/* A window-backed rate: add and read like flow_table.c does. */
typedef struct wrate {
    agg_window w;
    double u;
} wrate;

static void
wrate_at(wrate *r, double now)
{
    if (agg_window_at(&r->w, now))
        r->u *= agg_window_rebase(&r->w);
}

static void
wrate_add(wrate *r, double now, double x)
{
    wrate_at(r, now);
    r->u += x * agg_window_rate_weight(&r->w);
}

static double
wrate_read(wrate *r, double now)
{
    wrate_at(r, now);
    return agg_window_read(&r->w, r->u);
}

static uint64_t rng_state = 0x853c49e6748fea9bull;

static double
rng_uniform(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return ((double)(rng_state >> 11) + 0.5) / 9007199254740992.0;
}

static void
test_constant_rate(void)
{
    wrate r;
    double tau = 2.0, lambda = 200.0, x = 1500.0, t = 1000.0;

    /* Evenly spaced samples: 200/s of 1500 bytes = 300000 bytes/s. */
    agg_window_init(&r.w, tau, t);
    r.u = 0;
    for (int i = 0; i < (int)(lambda * 5 * tau); i++)
        wrate_add(&r, t + i / lambda, x);
    CHECK_NEAR(wrate_read(&r, t + 5 * tau) / (lambda * x), 1.0, 0.01,
               "constant rate: within 1% after 5 T");
    for (int i = (int)(lambda * 5 * tau); i < (int)(lambda * 20 * tau); i++)
        wrate_add(&r, t + i / lambda, x);
    CHECK_NEAR(wrate_read(&r, t + 20 * tau) / (lambda * x), 1.0, 0.003,
               "constant rate: within 0.3% after 20 T");
    CHECK_NEAR(wrate_read(&r, t + 20 * tau + 0.5 / lambda) / (lambda * x), 1.0, 0.003,
               "constant rate: read between samples");
}

static void
test_decay(void)
{
    wrate r;

    agg_window_init(&r.w, 2.0, 50.0);
    r.u = 0;
    wrate_add(&r, 50.0, 10.0);
    CHECK_NEAR(wrate_read(&r, 50.0), 5.0, 1e-12, "one contribution x reads x / T at once");
    CHECK_NEAR(wrate_read(&r, 52.0), 5.0 * exp(-1.0), 1e-12, "and x / T * e^-1 after T");
    CHECK_NEAR(wrate_read(&r, 60.0), 5.0 * exp(-5.0), 1e-12, "and x / T * e^-5 after 5 T");
}

static void
test_rebase(void)
{
    wrate r;
    double before, after;

    /* tau 0.1 s: a rebase is due every 20 s. */
    agg_window_init(&r.w, 0.1, 0.0);
    r.u = 0;
    for (int i = 0; i <= 100000; i++)
        wrate_add(&r, i * 0.001, 1.0); /* 1000/s of 1 for 100 s */
    CHECK(r.w.t0 > 50.0, "the reference time moved (rebased)");
    CHECK_NEAR(wrate_read(&r, 100.0), 1000.0, 10.0, "rate still right after rebases");
    before = wrate_read(&r, 100.0 + 0.05);
    CHECK(isfinite(r.u) && r.u < 1e100, "sums stay bounded");
    after = wrate_read(&r, 100.0 + 0.05);
    CHECK_NEAR(after, before, 1e-9 * before, "reading twice gives the same value");
    CHECK_EQ(wrate_read(&r, 1e6) == 0.0, 1, "a very long idle time reads 0, no overflow");
    wrate_add(&r, 1e6 + 1, 1.0);
    CHECK_NEAR(wrate_read(&r, 1e6 + 1), 10.0, 1e-9, "and new contributions count again");
}

/* Poisson arrivals: the time average converges to the rate and the spread
 * of reads matches 1/sqrt(2 lambda T). */
static void
test_noise(void)
{
    wrate r;
    double tau = 1.0, lambda = 50.0, t = 0, next_read = 20.0;
    double sum = 0, sum2 = 0;
    int reads = 0;

    agg_window_init(&r.w, tau, 0.0);
    r.u = 0;
    while (reads < 4000) {
        t += -log(rng_uniform()) / lambda;
        while (next_read < t) {
            double v = wrate_read(&r, next_read) / lambda;

            sum += v;
            sum2 += v * v;
            reads++;
            next_read += 2.0 * tau; /* nearly independent reads */
        }
        wrate_add(&r, t, 1.0);
    }
    sum /= reads;
    sum2 = sqrt(sum2 / reads - sum * sum);
    CHECK_NEAR(sum, 1.0, 0.01, "Poisson input: mean of the smoothed rate within 1%");
    CHECK_NEAR(sum2 / (1.0 / sqrt(2 * lambda * tau)), 1.0, 0.1,
               "Poisson input: relative sd is 1/sqrt(2 lambda T) within 10%");
}

static void
test_distinct(void)
{
    agg_window w;

    agg_window_init(&w, 2.0, 0);
    CHECK_NEAR(agg_window_distinct(0), 0.0, 1e-12, "no bits: 0 distinct");
    CHECK_NEAR(agg_window_distinct(1), 1.0, 0.01, "one bit: about 1");
    CHECK_NEAR(agg_window_distinct(0x3ff), 10.0, 1.0, "ten bits: about 10");
    CHECK(agg_window_distinct(~0ull) > 200, "a full map saturates high");
    CHECK_EQ(agg_window_epoch(&w, 3.9), 1, "epoch of 3.9 s with T 2 s");
    CHECK_EQ(agg_window_epoch(&w, 4.0), 2, "epoch of 4.0 s");
}

int
main(void)
{
    test_constant_rate();
    test_decay();
    test_rebase();
    test_noise();
    test_distinct();
    return test_done();
}
