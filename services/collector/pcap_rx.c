/* pcap_rx.c - replay sFlow from a capture file (sflow.file) on the loop.
 *
 * libpcap reads the file (pcap or pcapng); col_pcap_frame_udp (pcap_frame.c)
 * finds each frame's UDP payload, which goes down the same decode path as
 * live datagrams. By default the replay keeps the capture's inter-arrival
 * times, starting now: a uv_timer waits for the next frame's due time.
 * With sflow.file.fast the frames are processed as fast as possible. Either
 * way work is done in chunks of at most PCAP_CHUNK frames from a uv_idle
 * handle, one chunk per loop iteration, with a drain callback after each
 * chunk, so timers, signals and publishing keep running. (libuv 1.44 runs
 * a zero-delay timer re-armed in its own callback again at once, which is
 * why catching up uses an idle handle, not a timer.) With sflow.file.loop
 * the file is reopened at its end; otherwise the replay stops, logs what it
 * read and the collector keeps running. Fragments are counted, not
 * reassembled. Loop thread only.
 */
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/clock.h>
#include <sfa/log.h>
#include <sfa/mem.h>

#include "col.h"
#include "pcap_frame.h"

#define PCAP_CHUNK 256 /* frames per loop iteration */

struct col_pcap_rx {
    uv_idle_t idle;   /* work is due now */
    uv_timer_t timer; /* paced: wait for the next frame's time */
    int closing;      /* close callbacks still to come */
    pcap_t *pc;
    char *path;
    int linktype;
    int port, fast, loop_file;
    int port_warned; /* said once that datagrams to other ports are skipped */
    col_rx_cb cb;
    col_drain_cb dcb;
    void *arg;
    /* The frame read but not yet due (paced mode); libpcap keeps the data
     * valid until the next pcap_next_ex call. */
    struct pcap_pkthdr *pend_hdr;
    const u_char *pend_data;
    int pass_started;
    uint64_t base_cap_us;  /* capture time of the pass's first frame */
    uint64_t base_mono_us; /* monotonic time the pass started */
    uint64_t pass_frames, pass_sflow;
    col_pcap_stats st;
};

static int
pcap_rx_reopen(col_pcap_rx *p)
{
    char err[PCAP_ERRBUF_SIZE];

    if (p->pc)
        pcap_close(p->pc);
    p->pc = pcap_open_offline(p->path, err);
    if (!p->pc) {
        SFA_SEVERE("sflow.file: cannot open %s: %s", p->path, err);
        return SFA_EFORMAT;
    }
    p->linktype = pcap_datalink(p->pc);
    p->pend_hdr = NULL;
    p->pass_started = 0;
    p->pass_frames = 0;
    p->pass_sflow = 0;
    return 0;
}

static void
pcap_rx_frame(col_pcap_rx *p, const struct pcap_pkthdr *h, const u_char *data, uint64_t rx_ms)
{
    col_pcap_udp u;

    p->st.frames++;
    p->pass_frames++;
    if (col_pcap_frame_udp(p->linktype, data, h->caplen, &u) != 0) {
        p->st.non_sflow++;
        return;
    }
    if (u.flags & COL_PCAP_FRAGMENT) {
        p->st.fragments++;
        return;
    }
    if (p->port != 0 && u.dst_port != p->port) {
        p->st.non_sflow++;
        if (!p->port_warned) {
            p->port_warned = 1;
            SFA_WARN("sflow.file %s: skipping UDP datagrams to port %u: only port %d is "
                     "replayed (sflow.file.port; 0 replays every port)",
                     p->path, (unsigned)u.dst_port, p->port);
        }
        return;
    }
    if (u.flags & COL_PCAP_TRUNCATED)
        p->st.truncated++;
    p->st.sflow++;
    p->pass_sflow++;
    p->cb(p->arg, u.payload ? u.payload : (const uint8_t *)"", u.len, &u.src, u.src_port, rx_ms);
}

static uint64_t
pcap_rx_ts_us(const struct pcap_pkthdr *h)
{
    return (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
}

/* The file ended: loop or stop. Returns 1 if the replay goes on. */
static int
pcap_rx_end(col_pcap_rx *p)
{
    uint64_t frames = p->pass_frames;

    p->st.passes++;
    if (p->loop_file && frames > 0 && pcap_rx_reopen(p) == 0) {
        SFA_FINE("sflow.file %s: pass %llu done, looping", p->path,
                 (unsigned long long)p->st.passes);
        return 1;
    }
    SFA_INFO("sflow.file %s ended: %llu frames, %llu sFlow datagrams", p->path,
             (unsigned long long)p->st.frames, (unsigned long long)p->st.sflow);
    return 0;
}

/* Process up to PCAP_CHUNK frames that are due. Returns the delay in us
 * until the next frame is due (0 = more work now), or -1 at the end. */
static int64_t
pcap_rx_chunk(col_pcap_rx *p)
{
    uint64_t rx_ms = sfa_clock_wall_ms(), now_us = sfa_clock_us();
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc;

    for (int n = 0; n < PCAP_CHUNK; n++) {
        if (p->pend_hdr) {
            h = p->pend_hdr;
            data = p->pend_data;
            p->pend_hdr = NULL;
        } else {
            rc = pcap_next_ex(p->pc, &h, &data);
            if (rc != 1) {
                if (rc == PCAP_ERROR)
                    SFA_WARN("sflow.file %s: read error: %s", p->path, pcap_geterr(p->pc));
                if (!pcap_rx_end(p))
                    return -1;
                continue;
            }
        }
        if (!p->fast) {
            uint64_t ts = pcap_rx_ts_us(h), due;
            if (!p->pass_started) {
                p->pass_started = 1;
                p->base_cap_us = ts;
                p->base_mono_us = now_us;
            }
            due = p->base_mono_us + (ts > p->base_cap_us ? ts - p->base_cap_us : 0);
            if (due > now_us) {
                p->pend_hdr = h;
                p->pend_data = data;
                return (int64_t)(due - now_us);
            }
        }
        pcap_rx_frame(p, h, data, rx_ms);
    }
    return 0;
}

static void pcap_rx_on_timer(uv_timer_t *t);

static void
pcap_rx_on_idle(uv_idle_t *h)
{
    col_pcap_rx *p = h->data;
    int64_t wait_us = pcap_rx_chunk(p);

    p->dcb(p->arg);
    if (wait_us == 0)
        return; /* stay idle-active: the next chunk runs next iteration */
    uv_idle_stop(&p->idle);
    if (wait_us > 0)
        uv_timer_start(&p->timer, pcap_rx_on_timer, (uint64_t)(wait_us + 999) / 1000, 0);
}

static void
pcap_rx_on_timer(uv_timer_t *t)
{
    col_pcap_rx *p = t->data;

    uv_idle_start(&p->idle, pcap_rx_on_idle);
}

int
col_pcap_open(col_pcap_rx **out, uv_loop_t *loop, const char *path, int port, int fast,
              int loop_file, col_rx_cb cb, col_drain_cb dcb, void *arg)
{
    col_pcap_rx *p = sfa_xcalloc(1, sizeof *p);
    int rc;

    p->path = sfa_xstrdup(path);
    p->port = port;
    p->fast = fast;
    p->loop_file = loop_file;
    p->cb = cb;
    p->dcb = dcb;
    p->arg = arg;
    rc = pcap_rx_reopen(p);
    if (rc != 0)
        goto fail;
    uv_idle_init(loop, &p->idle);
    uv_timer_init(loop, &p->timer);
    p->idle.data = p;
    p->timer.data = p;
    uv_idle_start(&p->idle, pcap_rx_on_idle);
    if (port)
        SFA_INFO("Replaying sFlow from %s (%s%s, UDP port %d)", path, fast ? "fast" : "paced",
                 loop_file ? ", looping" : "", port);
    else
        SFA_INFO("Replaying sFlow from %s (%s%s, any UDP port)", path, fast ? "fast" : "paced",
                 loop_file ? ", looping" : "");
    *out = p;
    return 0;

fail:
    free(p->path);
    free(p);
    return rc;
}

void
col_pcap_get_stats(const col_pcap_rx *p, col_pcap_stats *st)
{
    *st = p->st;
}

static void
pcap_rx_on_close(uv_handle_t *h)
{
    col_pcap_rx *p = h->data;

    if (--p->closing > 0)
        return;
    if (p->pc)
        pcap_close(p->pc);
    free(p->path);
    free(p);
}

void
col_pcap_close(col_pcap_rx *p)
{
    if (!p)
        return;
    p->closing = 2;
    uv_close((uv_handle_t *)&p->idle, pcap_rx_on_close);
    uv_close((uv_handle_t *)&p->timer, pcap_rx_on_close);
}
