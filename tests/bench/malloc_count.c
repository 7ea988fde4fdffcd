/* malloc_count.c - LD_PRELOAD shim that counts heap allocation calls.
 *
 * Counts malloc, calloc, realloc, posix_memalign and aligned_alloc calls
 * from every thread of the process (relaxed atomics) and forwards them to
 * glibc's own entry points (__libc_malloc and friends), so it needs no
 * dlsym and cannot recurse. On SIGUSR2, and at exit, it writes one line to
 * stderr:
 *
 *   malloc_count: pid=N malloc=N calloc=N realloc=N memalign=N total=N
 *
 * so a benchmark can take the difference between two signals around a
 * traffic window and divide by the datagrams received in it (bench_ingest.sh
 * does). The handler only formats integers and calls write(2). Benchmark
 * tool: not linked into anything.
 */
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t nmemb, size_t size);
void *__libc_realloc(void *p, size_t n);
void *__libc_memalign(size_t align, size_t n);

void *malloc(size_t n);
void *calloc(size_t nmemb, size_t size);
void *realloc(void *p, size_t n);
int posix_memalign(void **out, size_t align, size_t n);
void *aligned_alloc(size_t align, size_t n);

static uint64_t mc_malloc, mc_calloc, mc_realloc, mc_memalign;

static void
mc_inc(uint64_t *c)
{
    __atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

void *
malloc(size_t n)
{
    mc_inc(&mc_malloc);
    return __libc_malloc(n);
}

void *
calloc(size_t nmemb, size_t size)
{
    mc_inc(&mc_calloc);
    return __libc_calloc(nmemb, size);
}

void *
realloc(void *p, size_t n)
{
    mc_inc(&mc_realloc);
    return __libc_realloc(p, n);
}

int
posix_memalign(void **out, size_t align, size_t n)
{
    void *p;

    mc_inc(&mc_memalign);
    p = __libc_memalign(align, n);
    if (!p)
        return 12; /* ENOMEM */
    *out = p;
    return 0;
}

void *
aligned_alloc(size_t align, size_t n)
{
    mc_inc(&mc_memalign);
    return __libc_memalign(align, n);
}

/* Append "name=value " to buf at *pos (async-signal-safe). */
static void
mc_put(char *buf, size_t *pos, const char *name, uint64_t v)
{
    char digits[24];
    int n = 0;

    memcpy(buf + *pos, name, strlen(name));
    *pos += strlen(name);
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        buf[(*pos)++] = digits[--n];
    buf[(*pos)++] = ' ';
}

static void
mc_report(void)
{
    char buf[256];
    size_t pos = 0;
    uint64_t m = __atomic_load_n(&mc_malloc, __ATOMIC_RELAXED);
    uint64_t c = __atomic_load_n(&mc_calloc, __ATOMIC_RELAXED);
    uint64_t r = __atomic_load_n(&mc_realloc, __ATOMIC_RELAXED);
    uint64_t a = __atomic_load_n(&mc_memalign, __ATOMIC_RELAXED);

    mc_put(buf, &pos, "malloc_count: pid=", (uint64_t)getpid());
    mc_put(buf, &pos, "malloc=", m);
    mc_put(buf, &pos, "calloc=", c);
    mc_put(buf, &pos, "realloc=", r);
    mc_put(buf, &pos, "memalign=", a);
    mc_put(buf, &pos, "total=", m + c + r + a);
    buf[pos - 1] = '\n';
    if (write(STDERR_FILENO, buf, pos) < 0) {
        /* nowhere to report */
    }
}

static void
mc_on_signal(int sig)
{
    (void)sig;
    mc_report();
}

__attribute__((constructor)) static void
mc_init(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = mc_on_signal;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR2, &sa, NULL);
}

__attribute__((destructor)) static void
mc_fini(void)
{
    mc_report();
}
