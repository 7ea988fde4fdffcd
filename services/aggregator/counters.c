/* counters.c - counter metrics per data source (proto/METRICS.md).
 *
 * Each counter sample updates the state of its data source (agent +
 * source id, from a registry of its own, agg_dsreg): one slot per metric
 * the source has sent, in the order its samples carry them, so the next
 * sample finds each slot at the cursor. Per sample:
 *
 *   1. Time. The interval since the source's previous sample is the
 *      agent's uptime delta when it is usable (positive, and not running
 *      more than 8 times slower than the collector's receive clock, as an
 *      agent sending seconds instead of milliseconds would); otherwise the
 *      rx_ms delta. The agent's clock is what the counters were read by,
 *      so its deltas carry neither network jitter nor the collector's
 *      batching, and a pcap replayed fast still gives the true rates. The
 *      source keeps a clock of its own (ms) advanced by these intervals.
 *   2. Restart. The sample sequence number going back, or the uptime going
 *      back, is an agent restart: every counter's baseline is dropped and
 *      the interval gives no rates (the last rates stay, with their age).
 *      A sample with the same sequence number and uptime is a duplicate
 *      and ignored.
 *   3. Counters. A counter's delta is taken modulo its width (32 or 64
 *      bits, ctr_catalog.c), so a wrap counts right; a counter that went
 *      back by more than half its range is a reset (cleared, or an agent
 *      restart the sequence numbers did not show) and its interval is
 *      skipped: no negative, no spike. So is an interface counter that
 *      went back when reading it as a wrap would mean over twice the line
 *      rate (ifspeed known). All-ones values are unavailable and leave no
 *      trace. rate = delta x 1000 / (clock ms since that counter's
 *      previous value).
 *   4. Gauges, enumerations and texts are stored as sent; derived metrics
 *      are computed from what this sample brought (its values and rates,
 *      in a scratch array indexed by metric id, stamped per sample so it
 *      is never cleared).
 *
 * Expiry: a source silent for max(3 x its last interval, 60 s) is dropped,
 * and so is a metric a live source stopped sending as long.
 * Memory: a source costs its registry entry, one ctr_src and 48 bytes per
 * metric (the slot array is shrunk to fit after the second sample; about
 * 1.4 KB for an interface); allocation happens when a source or metric
 * appears or a text changes, never otherwise. Loop thread only.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/mem.h>

#include "agg.h"
#include "counters.h"

enum { SLOT_VALUE = 1, SLOT_PREV = 2 };

#define CTR_TEXT_MAX 512 /* bytes of a text metric kept (port names are at most 255) */

typedef struct ctr_slot {
    uint16_t id;   /* metric id */
    uint8_t kind;  /* enum agg_ckind */
    uint8_t flags; /* SLOT_* */
    uint32_t _pad;
    double value;   /* rate, gauge, enum number or derived value */
    double updated; /* when value was computed, s */
    double seen;    /* when the field last came (available), s */
    union {
        struct {
            uint64_t raw;   /* the counter as last sent */
            uint64_t at_ms; /* the source clock then */
        } prev;
        char *text; /* owned, NUL-terminated */
    } u;
} ctr_slot;

typedef struct ctr_src {
    ctr_slot *slots;
    uint16_t n, cap, cursor;
    uint8_t started; /* a sample was seen: seq, uptime, rx_ms are valid */
    uint8_t fitted;  /* the slot array was shrunk to its metrics once */
    uint32_t seq, uptime;
    uint64_t rx_ms;
    uint64_t clock_ms;
    double seen, interval; /* s */
} ctr_src;

struct agg_counters {
    agg_dsreg *reg;
    ctr_src *src; /* by registry id */
    uint32_t nsrc;
    size_t slot_bytes, text_bytes;
    /* what the sample being handled brought, by metric id */
    double val[AGG_M__COUNT];
    uint32_t stamp[AGG_M__COUNT];
    uint32_t gen;
    agg_counters_stats st;
};

agg_counters *
agg_counters_create(uint32_t maxsources)
{
    agg_counters *k = sfa_xcalloc(1, sizeof *k);

    k->reg = agg_dsreg_create(maxsources);
    (void)agg_metric_kind(0); /* build the catalogue now, not on the first sample */
    return k;
}

static int
ctr_slot_has_text(const ctr_slot *sl)
{
    return sl->kind == AGG_CK_TEXT || sl->kind == AGG_CK_MAC || sl->kind == AGG_CK_UUID ||
           sl->kind == AGG_CK_HEX64;
}

static void
ctr_src_clear(agg_counters *k, ctr_src *s)
{
    for (uint16_t i = 0; i < s->n; i++) {
        if (ctr_slot_has_text(&s->slots[i]) && s->slots[i].u.text) {
            k->text_bytes -= strlen(s->slots[i].u.text) + 1;
            free(s->slots[i].u.text);
        }
    }
    k->slot_bytes -= (size_t)s->cap * sizeof *s->slots;
    free(s->slots);
    memset(s, 0, sizeof *s);
}

void
agg_counters_destroy(agg_counters *k)
{
    if (!k)
        return;
    for (uint32_t i = 0; i < k->nsrc; i++)
        ctr_src_clear(k, &k->src[i]);
    free(k->src);
    agg_dsreg_destroy(k->reg);
    free(k);
}

/* ---- slots ---- */

/* The slot of metric id, created when new; found at the cursor when the
 * sample carries its fields in the usual order. */
static ctr_slot *
ctr_slot_get(agg_counters *k, ctr_src *s, unsigned id, int kind)
{
    ctr_slot *sl;

    if (s->cursor < s->n && s->slots[s->cursor].id == id)
        return &s->slots[s->cursor++];
    for (uint16_t i = 0; i < s->n; i++) {
        if (s->slots[i].id == id) {
            s->cursor = (uint16_t)(i + 1);
            return &s->slots[i];
        }
    }
    if (s->n == s->cap) {
        uint16_t cap = s->cap ? (uint16_t)(s->cap * 2) : 8;

        s->slots = sfa_xrealloc(s->slots, (size_t)cap * sizeof *s->slots);
        k->slot_bytes += (size_t)(cap - s->cap) * sizeof *s->slots;
        s->cap = cap;
    }
    sl = &s->slots[s->n++];
    memset(sl, 0, sizeof *sl);
    sl->id = (uint16_t)id;
    sl->kind = (uint8_t)kind;
    s->cursor = s->n;
    return sl;
}

static ctr_slot *
ctr_slot_find(const ctr_src *s, unsigned id)
{
    for (uint16_t i = 0; i < s->n; i++)
        if (s->slots[i].id == id)
            return &s->slots[i];
    return NULL;
}

static void
ctr_slot_set(ctr_slot *sl, double v, double now)
{
    sl->value = v;
    sl->flags |= SLOT_VALUE;
    sl->updated = now;
    sl->seen = now;
}

/* ---- the scratch of one sample ---- */

static void
ctr_mark(agg_counters *k, unsigned id, double v)
{
    k->val[id] = v;
    k->stamp[id] = k->gen;
}

static int
ctr_got(const agg_counters *k, unsigned id, double *v)
{
    if (k->stamp[id] != k->gen)
        return 0;
    *v = k->val[id];
    return 1;
}

static void
ctr_next_gen(agg_counters *k)
{
    if (++k->gen == 0) {
        memset(k->stamp, 0, sizeof k->stamp);
        k->gen = 1;
    }
}

/* ---- one sample ---- */

static ctr_src *
ctr_src_at(agg_counters *k, uint32_t id)
{
    if (id >= k->nsrc) {
        uint32_t n = k->nsrc ? k->nsrc : 64;

        while (n <= id)
            n *= 2;
        k->src = sfa_xrealloc(k->src, (size_t)n * sizeof *k->src);
        memset(k->src + k->nsrc, 0, (size_t)(n - k->nsrc) * sizeof *k->src);
        k->nsrc = n;
    }
    return &k->src[id];
}

/* Advance the source's clock to this sample (step 1 and 2 above).
 * Returns -1 for a duplicate (ignore the sample), else 0. */
static int
ctr_clock(agg_counters *k, ctr_src *s, const sfa_dgram *d, const sfa_sample *smp, double now)
{
    int32_t dseq = (int32_t)(smp->seq - s->seq);
    uint32_t du = d->uptime - s->uptime;
    int64_t drx = (int64_t)d->rx_ms - (int64_t)s->rx_ms;
    uint64_t dt = 0;

    if (s->started && dseq == 0 && du == 0) {
        k->st.duplicates++;
        s->seen = now;
        return -1;
    }
    if (s->started && (dseq < 0 || du >= 0x80000000u)) {
        k->st.restarts++;
        for (uint16_t i = 0; i < s->n; i++)
            if (!ctr_slot_has_text(&s->slots[i]))
                s->slots[i].flags &= (uint8_t)~SLOT_PREV;
        dt = drx > 0 ? (uint64_t)drx : 0;
    } else if (s->started) {
        if (du > 0 && (drx <= 0 || (uint64_t)du * 8 >= (uint64_t)drx))
            dt = du;
        else if (drx > 0)
            dt = (uint64_t)drx;
        else
            k->st.no_time++;
    }
    if (s->started && now > s->seen)
        s->interval = now - s->seen;
    s->started = 1;
    s->clock_ms += dt;
    s->seq = smp->seq;
    s->uptime = d->uptime;
    s->rx_ms = d->rx_ms;
    s->seen = now;
    return 0;
}

/* Can a decrease of interface counter id be a wrap at this rate? Not when
 * the interface's ifspeed is known and the rate would be over twice the
 * line rate (octets x 8, or packets of at least 64 bytes): the counter
 * was reset instead. Other counters carry no bound. */
static int
ctr_wrap_plausible(const agg_counters *k, unsigned id, double rate)
{
    double speed, bits;

    switch (id) {
    case SFA_F_IFINOCTETS:
    case SFA_F_IFOUTOCTETS:
        bits = 8;
        break;
    case SFA_F_IFINUCASTPKTS:
    case SFA_F_IFINMULTICASTPKTS:
    case SFA_F_IFINBROADCASTPKTS:
    case SFA_F_IFINDISCARDS:
    case SFA_F_IFINERRORS:
    case SFA_F_IFINUNKNOWNPROTOS:
    case SFA_F_IFOUTUCASTPKTS:
    case SFA_F_IFOUTMULTICASTPKTS:
    case SFA_F_IFOUTBROADCASTPKTS:
    case SFA_F_IFOUTDISCARDS:
    case SFA_F_IFOUTERRORS:
        bits = 64 * 8;
        break;
    default:
        return 1;
    }
    return !ctr_got(k, SFA_F_IFSPEED, &speed) || !(speed > 0) || rate * bits <= 2 * speed;
}

/* A counter field (step 3). */
static void
ctr_counter(agg_counters *k, ctr_src *s, const sfa_field *f, int kind, double now)
{
    uint64_t mask = agg_metric_width(f->id) == 64 ? UINT64_MAX : 0xffffffffu, raw, delta;
    ctr_slot *sl;

    if (f->type != SFA_T_U)
        return;
    raw = f->v.u & mask;
    if (raw == mask) {
        k->st.unavailable++;
        return;
    }
    sl = ctr_slot_get(k, s, f->id, kind);
    sl->seen = now;
    if ((sl->flags & SLOT_PREV) && s->clock_ms > sl->u.prev.at_ms) {
        double rate;

        delta = (raw - sl->u.prev.raw) & mask;
        rate = (double)delta * 1000.0 / (double)(s->clock_ms - sl->u.prev.at_ms);
        if (delta > mask / 2 || (raw < sl->u.prev.raw && !ctr_wrap_plausible(k, f->id, rate))) {
            k->st.resets++;
        } else {
            k->st.wraps += raw < sl->u.prev.raw;
            ctr_mark(k, f->id, rate);
            if (kind == AGG_CK_RATE)
                ctr_slot_set(sl, rate, now);
        }
    }
    sl->u.prev.raw = raw;
    sl->u.prev.at_ms = s->clock_ms;
    sl->flags |= SLOT_PREV;
}

/* A gauge, enumeration or percentage field. */
static void
ctr_number(agg_counters *k, ctr_src *s, const sfa_field *f, int kind, double now)
{
    double v;

    switch (f->type) {
    case SFA_T_U:
    case SFA_T_BOOL:
        if (f->v.u == UINT64_MAX)
            return;
        v = (double)f->v.u;
        break;
    case SFA_T_I:
        if (kind == AGG_CK_PCT100 && f->v.i == -1)
            return; /* unknown */
        v = (double)f->v.i;
        break;
    case SFA_T_F:
        v = f->v.d;
        break;
    default:
        return;
    }
    if (kind == AGG_CK_PCT100)
        v /= 100.0;
    if (!isfinite(v))
        return;
    ctr_mark(k, f->id, v);
    ctr_slot_set(ctr_slot_get(k, s, f->id, kind), v, now);
}

static void
ctr_text(agg_counters *k, ctr_src *s, const sfa_field *f, int kind, double now)
{
    char buf[CTR_TEXT_MAX];
    ctr_slot *sl;

    if (!agg_metric_text_of(f, kind, buf, sizeof buf))
        return;
    sl = ctr_slot_get(k, s, f->id, kind);
    if (!sl->u.text || strcmp(sl->u.text, buf) != 0) {
        if (sl->u.text)
            k->text_bytes -= strlen(sl->u.text) + 1;
        free(sl->u.text);
        sl->u.text = sfa_xstrdup(buf);
        k->text_bytes += strlen(buf) + 1;
    }
    ctr_slot_set(sl, 0, now);
}

static void
ctr_field(agg_counters *k, ctr_src *s, const sfa_field *f, double now)
{
    int kind = agg_metric_kind(f->id);

    switch (kind) {
    case AGG_CK_RATE:
    case AGG_CK_CPU:
        ctr_counter(k, s, f, kind, now);
        break;
    case AGG_CK_GAUGE:
    case AGG_CK_PCT100:
    case AGG_CK_ENUM:
        ctr_number(k, s, f, kind, now);
        break;
    case AGG_CK_TEXT:
    case AGG_CK_MAC:
    case AGG_CK_UUID:
    case AGG_CK_HEX64:
        ctr_text(k, s, f, kind, now);
        break;
    default:
        /* ifstatus is no metric itself but feeds ifadminstatus/ifoperstatus. */
        if (f->id == SFA_F_IFSTATUS && f->type == SFA_T_U)
            ctr_mark(k, f->id, (double)f->v.u);
        break;
    }
}

/* ---- derived metrics ---- */

static void
ctr_derive(agg_counters *k, ctr_src *s, unsigned id, double v, double now)
{
    if (isfinite(v))
        ctr_slot_set(ctr_slot_get(k, s, id, AGG_CK_DERIVED), v, now);
}

/* host_cpu: each time counter's share of the CPU time of the interval.
 * The total is the sum of the time counters present; guest times are
 * already part of user and nice time (Linux), so they are shares but not
 * added to the total. */
static void
ctr_cpu(agg_counters *k, ctr_src *s, double now)
{
    static const uint16_t part[] = {SFA_F_CPU_USER,  SFA_F_CPU_NICE, SFA_F_CPU_SYSTEM,
                                    SFA_F_CPU_IDLE,  SFA_F_CPU_WIO,  SFA_F_CPU_INTR,
                                    SFA_F_CPU_SINTR, SFA_F_CPU_STEAL};
    static const uint16_t all[] = {
        SFA_F_CPU_USER, SFA_F_CPU_NICE,  SFA_F_CPU_SYSTEM, SFA_F_CPU_IDLE,  SFA_F_CPU_WIO,
        SFA_F_CPU_INTR, SFA_F_CPU_SINTR, SFA_F_CPU_STEAL,  SFA_F_CPU_GUEST, SFA_F_CPU_GUEST_NICE};
    double total = 0, r;
    ctr_slot *sl;

    for (size_t i = 0; i < sizeof part / sizeof part[0]; i++)
        if (ctr_got(k, part[i], &r))
            total += r;
    if (!(total > 0))
        return;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (ctr_got(k, all[i], &r) && (sl = ctr_slot_find(s, all[i])) != NULL)
            ctr_slot_set(sl, 100.0 * r / total, now);
    if (ctr_got(k, SFA_F_CPU_IDLE, &r))
        ctr_derive(k, s, AGG_M_CPU_UTILIZATION, 100.0 - 100.0 * r / total, now);
}

/* Sum of the rates of ids present; 0 when none is. */
static int
ctr_sum3(const agg_counters *k, unsigned a, unsigned b, unsigned c, double *sum)
{
    double v;
    int n = 0;

    *sum = 0;
    if (ctr_got(k, a, &v))
        *sum += v, n++;
    if (ctr_got(k, b, &v))
        *sum += v, n++;
    if (ctr_got(k, c, &v))
        *sum += v, n++;
    return n;
}

static double
ctr_clamp_pct(double v)
{
    return v < 0 ? 0 : v > 100 ? 100 : v;
}

static void
ctr_interface(agg_counters *k, ctr_src *s, double now)
{
    double v, speed, sum;

    if (ctr_got(k, SFA_F_IFSTATUS, &v)) {
        ctr_derive(k, s, AGG_M_IFADMINSTATUS, ((uint64_t)v & 1) != 0, now);
        ctr_derive(k, s, AGG_M_IFOPERSTATUS, ((uint64_t)v & 2) != 0, now);
    }
    if (ctr_got(k, SFA_F_IFSPEED, &speed) && speed > 0) {
        if (ctr_got(k, SFA_F_IFINOCTETS, &v))
            ctr_derive(k, s, AGG_M_IFINUTILIZATION, v * 800.0 / speed, now);
        if (ctr_got(k, SFA_F_IFOUTOCTETS, &v))
            ctr_derive(k, s, AGG_M_IFOUTUTILIZATION, v * 800.0 / speed, now);
    }
    if (ctr_sum3(k, SFA_F_IFINUCASTPKTS, SFA_F_IFINMULTICASTPKTS, SFA_F_IFINBROADCASTPKTS, &sum))
        ctr_derive(k, s, AGG_M_IFINPKTS, sum, now);
    if (ctr_sum3(k, SFA_F_IFOUTUCASTPKTS, SFA_F_IFOUTMULTICASTPKTS, SFA_F_IFOUTBROADCASTPKTS, &sum))
        ctr_derive(k, s, AGG_M_IFOUTPKTS, sum, now);
}

static void
ctr_host(agg_counters *k, ctr_src *s, double now)
{
    double n, v, total, free_, buffers = 0, cached = 0;

    if (ctr_got(k, SFA_F_CPU_NUM, &n) && n > 0) {
        if (ctr_got(k, SFA_F_LOAD_ONE, &v))
            ctr_derive(k, s, AGG_M_LOAD_ONE_PER_CPU, v / n, now);
        if (ctr_got(k, SFA_F_LOAD_FIVE, &v))
            ctr_derive(k, s, AGG_M_LOAD_FIVE_PER_CPU, v / n, now);
        if (ctr_got(k, SFA_F_LOAD_FIFTEEN, &v))
            ctr_derive(k, s, AGG_M_LOAD_FIFTEEN_PER_CPU, v / n, now);
    }
    /* Memory in buffers and page cache is reclaimable: not "used". */
    if (ctr_got(k, SFA_F_MEM_TOTAL, &total) && total > 0 && ctr_got(k, SFA_F_MEM_FREE, &free_)) {
        (void)ctr_got(k, SFA_F_MEM_BUFFERS, &buffers);
        (void)ctr_got(k, SFA_F_MEM_CACHED, &cached);
        ctr_derive(k, s, AGG_M_MEM_UTILIZATION,
                   ctr_clamp_pct(100.0 * (total - free_ - buffers - cached) / total), now);
    } else if (ctr_got(k, SFA_F_PROC_MEM_TOTAL, &total) && total > 0 &&
               ctr_got(k, SFA_F_PROC_MEM_FREE, &free_)) {
        ctr_derive(k, s, AGG_M_MEM_UTILIZATION, ctr_clamp_pct(100.0 * (total - free_) / total),
                   now);
    }
    if (ctr_got(k, SFA_F_DISK_TOTAL, &total) && total > 0 && ctr_got(k, SFA_F_DISK_FREE, &free_))
        ctr_derive(k, s, AGG_M_DISK_UTILIZATION, ctr_clamp_pct(100.0 * (total - free_) / total),
                   now);
}

static void
ctr_sample(agg_counters *k, const sfa_dgram *d, const sfa_sample *smp, double now)
{
    uint32_t id;
    ctr_src *s;

    k->st.samples++;
    if (agg_dsreg_id(k->reg, &d->agent, smp->ds_class, smp->ds_index, &id) != 0) {
        k->st.sources_full++;
        return;
    }
    s = ctr_src_at(k, id);
    if (ctr_clock(k, s, d, smp, now) < 0)
        return;
    ctr_next_gen(k);
    s->cursor = 0;
    for (uint32_t i = 0; i < smp->field_count; i++) {
        const sfa_field *f = &d->fields[smp->field_first + i];

        if (f->id < SFA_F__COUNT)
            ctr_field(k, s, f, now);
    }
    ctr_cpu(k, s, now);
    ctr_interface(k, s, now);
    ctr_host(k, s, now);
    /* The second sample has brought the rates and derived metrics too:
     * give back what doubling the array left over. */
    if (!s->fitted && s->interval > 0 && s->n > 0 && s->cap > s->n) {
        s->slots = sfa_xrealloc(s->slots, (size_t)s->n * sizeof *s->slots);
        k->slot_bytes -= (size_t)(s->cap - s->n) * sizeof *s->slots;
        s->cap = s->n;
        s->fitted = 1;
    }
}

void
agg_counters_dgram(agg_counters *k, const sfa_dgram *d, double now)
{
    for (uint32_t i = 0; i < d->nsamples; i++)
        if (sfa_sample_is_counter(&d->samples[i]))
            ctr_sample(k, d, &d->samples[i], now);
}

/* ---- expiry ---- */

static void
ctr_release(agg_counters *k, uint32_t id)
{
    ctr_src_clear(k, &k->src[id]);
    agg_dsreg_release(k->reg, id);
}

void
agg_counters_expire(agg_counters *k, double now)
{
    uint32_t limit = agg_dsreg_limit(k->reg);

    for (uint32_t id = 0; id < limit && id < k->nsrc; id++) {
        ctr_src *s = &k->src[id];
        double timeout = 3 * s->interval;
        uint16_t keep = 0;

        if (!agg_dsreg_get(k->reg, id))
            continue;
        if (timeout < AGG_COUNTERS_MIN_TIMEOUT)
            timeout = AGG_COUNTERS_MIN_TIMEOUT;
        if (now - s->seen > timeout) {
            ctr_release(k, id);
            k->st.expired++;
            continue;
        }
        for (uint16_t i = 0; i < s->n; i++) {
            ctr_slot *sl = &s->slots[i];

            if (now - sl->seen <= timeout) {
                s->slots[keep++] = *sl;
                continue;
            }
            if (ctr_slot_has_text(sl) && sl->u.text) {
                k->text_bytes -= strlen(sl->u.text) + 1;
                free(sl->u.text);
            }
            k->st.metrics_expired++;
        }
        s->n = keep;
        s->cursor = 0;
    }
}

void
agg_counters_drop_buckets(agg_counters *k, const uint8_t lost[SFA_BUCKETS])
{
    uint32_t limit = agg_dsreg_limit(k->reg);

    for (uint32_t id = 0; id < limit && id < k->nsrc; id++) {
        const agg_ds *d = agg_dsreg_get(k->reg, id);

        if (d && lost[d->bucket]) {
            ctr_release(k, id);
            k->st.sources_purged++;
        }
    }
}

/* ---- reading ---- */

uint32_t
agg_counters_limit(const agg_counters *k)
{
    uint32_t limit = agg_dsreg_limit(k->reg);

    return limit < k->nsrc ? limit : k->nsrc;
}

const agg_ds *
agg_counters_source(const agg_counters *k, uint32_t src)
{
    return src < k->nsrc ? agg_dsreg_get(k->reg, src) : NULL;
}

int
agg_counters_find(const agg_counters *k, const sfa_addr *agent, uint32_t ds_class,
                  uint32_t ds_index, uint32_t *src)
{
    uint32_t id;

    if (agg_dsreg_find(k->reg, agent, ds_class, ds_index, &id) != 0 || id >= k->nsrc)
        return -ENOENT;
    *src = id;
    return 0;
}

static void
ctr_fill(const ctr_slot *sl, agg_cval *out)
{
    out->metric = sl->id;
    out->updated = sl->updated;
    out->is_text = agg_metric_is_text(sl->id);
    out->num = sl->value;
    if (!out->is_text)
        out->text = NULL;
    else if (ctr_slot_has_text(sl))
        out->text = sl->u.text;
    else
        out->text = agg_metric_enum_text(sl->id, sl->value, out->buf, sizeof out->buf);
}

int
agg_counters_value(const agg_counters *k, uint32_t src, unsigned metric, agg_cval *out)
{
    const ctr_slot *sl;

    if (!agg_counters_source(k, src) || !(sl = ctr_slot_find(&k->src[src], metric)) ||
        !(sl->flags & SLOT_VALUE))
        return 0;
    ctr_fill(sl, out);
    return 1;
}

int
agg_counters_value_at(const agg_counters *k, uint32_t src, size_t *i, agg_cval *out)
{
    const ctr_src *s;

    if (!agg_counters_source(k, src))
        return 0;
    s = &k->src[src];
    for (; *i < s->n; (*i)++) {
        if (s->slots[*i].flags & SLOT_VALUE) {
            ctr_fill(&s->slots[(*i)++], out);
            return 1;
        }
    }
    return 0;
}

void
agg_counters_get_stats(const agg_counters *k, agg_counters_stats *st)
{
    *st = k->st;
}

void
agg_counters_stats_json(const agg_counters *k, json_t *o)
{
    const agg_counters_stats *st = &k->st;
    size_t bytes = sizeof *k + (size_t)k->nsrc * sizeof *k->src + k->slot_bytes + k->text_bytes +
                   agg_dsreg_bytes(k->reg);
    const struct {
        const char *name;
        uint64_t v;
    } rows[] = {
        {"counter_samples", st->samples},
        {"counter_sources", agg_dsreg_count(k->reg)},
        {"counter_sources_full", st->sources_full},
        {"counter_restarts", st->restarts},
        {"counter_resets", st->resets},
        {"counter_wraps", st->wraps},
        {"counter_unavailable", st->unavailable},
        {"counter_duplicates", st->duplicates},
        {"counter_no_time", st->no_time},
        {"counter_sources_expired", st->expired},
        {"counter_metrics_expired", st->metrics_expired},
        {"counter_sources_purged", st->sources_purged},
        {"counter_bytes", bytes},
    };

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        json_object_set_new(o, rows[i].name, json_integer((json_int_t)rows[i].v));
}
