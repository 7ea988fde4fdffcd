/* clock.c - monotonic and wall-clock time in ms/us. Thread-safe. */
#include <time.h>

#include <sfa/clock.h>

static uint64_t
clock_read_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t
sfa_clock_ms(void)
{
    return clock_read_us(CLOCK_MONOTONIC) / 1000u;
}

uint64_t
sfa_clock_us(void)
{
    return clock_read_us(CLOCK_MONOTONIC);
}

uint64_t
sfa_clock_wall_ms(void)
{
    return clock_read_us(CLOCK_REALTIME) / 1000u;
}
