/* window.c - the smoothing of flow values: event-driven exponential decay.
 *
 * A flow value is a per-second rate smoothed with the definition's time
 * constant T (proto/FLOWS.md derives and discusses it). For contributions
 * x_i at times s_i the smoothed rate at time now is
 *
 *     v(now) = sum_i (x_i / T) * exp(-(now - s_i) / T)
 *
 * whose expectation in steady state is exactly the true rate, with no
 * ticks. It is kept in "forward decay" form: each contribution is stored
 * as (x_i / T) * exp((s_i - t0) / T) in a running sum u, and read as
 * u * exp(-(now - t0) / T). Every sum of one table shares t0, so the sums
 * compare directly (top-n, eviction) without decaying each one, and adding
 * costs one multiply-add. The growing factor is bounded by rebasing: once
 * (now - t0) / T passes AGG_WINDOW_REBASE, every sum is scaled down by
 * exp(-(now - t0) / T) and t0 moves to now.
 *
 * Min/max/count columns use epochs of length T instead (see flow_table.c).
 * Pure arithmetic; no state beyond the struct.
 */
#include <math.h>

#include "agg.h"

void
agg_window_init(agg_window *w, double tau, double now)
{
    w->tau = tau > 0 ? tau : 1.0;
    w->t0 = now;
    w->now = now;
    w->grow = 1.0;
    w->shrink = 1.0;
}

int
agg_window_at(agg_window *w, double now)
{
    double x;

    if (now == w->now)
        return 0;
    w->now = now;
    x = (now - w->t0) / w->tau;
    if (x > AGG_WINDOW_REBASE)
        return 1;
    w->grow = exp(x);
    w->shrink = exp(-x);
    return 0;
}

double
agg_window_rebase(agg_window *w)
{
    /* exp(-x) straight away: after a long idle time x may be large enough
     * for exp(x) to overflow, and the sums then simply become 0. */
    double f = exp(-(w->now - w->t0) / w->tau);

    w->t0 = w->now;
    w->grow = 1.0;
    w->shrink = 1.0;
    return f;
}

int64_t
agg_window_epoch(const agg_window *w, double s)
{
    return (int64_t)floor(s / w->tau);
}

double
agg_window_distinct(uint64_t bits)
{
    int ones = __builtin_popcountll(bits);

    /* Linear counting over m = 64 cells: n = -m ln(zeros / m). A full map
     * saturates at the value for one empty cell left, m ln m. */
    if (ones >= 64)
        return 64.0 * log(64.0);
    return -64.0 * log((64.0 - ones) / 64.0);
}
