/* sflow_counter_test.c - counter records, hand-built from the wire spec.
 *
 * Each record kind is described here a second time, independently of the
 * decoder's tables: a list of (wire kind, field name) transcribed from
 * shared/spec/sflow-v5-wire.md section 6. A generic builder writes a record
 * with a distinct value in every position, and the checks look every
 * value up by field name in the decoded sample, so a swapped, missing or
 * mis-sized field in either transcription shows up. Then: optional tails
 * (host_cpu 68/80, jmx 100/108), grown records, short records (counted
 * malformed, rolled back, next record still decoded), unknown formats
 * (skipped and counted), the array records (host_adapters, SFP lanes) with
 * lying counts, a whole datagram through col_sflow_decode(), and a cut at
 * every offset of that datagram on an exact-size heap copy.
 */
#include <stdlib.h>
#include <string.h>

#include "sflow_decode.h"
#include "test.h"

/* Layout specs: space-separated "k:name" items; k is
 * u (u32), U (u64), i (signed 32-bit), f (float), s (string), m (MAC, 8
 * bytes on the wire), r (16 raw bytes), b (one byte of a packed word; four
 * consecutive b items share one word). */
typedef struct rec_spec {
    uint32_t tag;
    unsigned fmt; /* enum col_counter_fmt */
    const char *items;
} rec_spec;

static const rec_spec SPECS[] = {
    {1, COL_COUNTER_IF_COUNTERS,
     "u:ifindex u:iftype U:ifspeed u:ifdirection u:ifstatus U:ifinoctets u:ifinucastpkts "
     "u:ifinmulticastpkts u:ifinbroadcastpkts u:ifindiscards u:ifinerrors u:ifinunknownprotos "
     "U:ifoutoctets u:ifoutucastpkts u:ifoutmulticastpkts u:ifoutbroadcastpkts u:ifoutdiscards "
     "u:ifouterrors u:ifpromiscuousmode"},
    {2, COL_COUNTER_ETHERNET,
     "u:eth_alignmenterrors u:eth_fcserrors u:eth_singlecollisions u:eth_multiplecollisions "
     "u:eth_sqetesterrors u:eth_deferredtx u:eth_latecollision u:eth_excessivecollisions "
     "u:eth_internalmactxerrors u:eth_carriersenseerrors u:eth_frametoolongs "
     "u:eth_internalmacrxerrors u:eth_symbolerrors"},
    {3, COL_COUNTER_TOKEN_RING,
     "u:tr_lineerrors u:tr_bursterrors u:tr_acerrors u:tr_aborttranserrors u:tr_internalerrors "
     "u:tr_lostframeerrors u:tr_receivecongestions u:tr_framecopiederrors u:tr_tokenerrors "
     "u:tr_softerrors u:tr_harderrors u:tr_signalloss u:tr_transmitbeacons u:tr_recoverys "
     "u:tr_lobewires u:tr_removes u:tr_singles u:tr_freqerrors"},
    {4, COL_COUNTER_VG,
     "u:vg_inhighpriorityframes U:vg_inhighpriorityoctets u:vg_innormpriorityframes "
     "U:vg_innormpriorityoctets u:vg_inipmerrors u:vg_inoversizeframeerrors u:vg_indataerrors "
     "u:vg_innulladdressedframes u:vg_outhighpriorityframes U:vg_outhighpriorityoctets "
     "u:vg_transitionintotrainings U:vg_hcinhighpriorityoctets U:vg_hcinnormpriorityoctets "
     "U:vg_hcouthighpriorityoctets"},
    {5, COL_COUNTER_VLAN,
     "u:vlan_id U:vlan_octets u:vlan_ucastpkts u:vlan_multicastpkts u:vlan_broadcastpkts "
     "u:vlan_discards"},
    {6, COL_COUNTER_IEEE80211,
     "u:dot11_txfragments u:dot11_multicasttxframes u:dot11_failed u:dot11_retry "
     "u:dot11_multipleretry u:dot11_frameduplicate u:dot11_rtssuccess u:dot11_rtsfailure "
     "u:dot11_ackfailure u:dot11_rxfragments u:dot11_multicastrxframes u:dot11_fcserrors "
     "u:dot11_txframes u:dot11_wepundecryptable u:dot11_qosdiscardedfragments "
     "u:dot11_associatedstations u:dot11_qoscfpollsreceived u:dot11_qoscfpollsunused "
     "u:dot11_qoscfpollsunusable u:dot11_qoscfpollslost"},
    {7, COL_COUNTER_LAG_PORT,
     "m:agg_actorsystemid m:agg_partneropersystemid u:agg_attachedaggid b:agg_actoradminstate "
     "b:agg_actoroperstate b:agg_partneradminstate b:agg_partneroperstate u:agg_lacpdusrx "
     "u:agg_markerpdusrx u:agg_markerresponsepdusrx u:agg_unknownrx u:agg_illegalrx "
     "u:agg_lacpdustx u:agg_markerpdustx u:agg_markerresponsepdustx"},
    {11, COL_COUNTER_PFC,
     "u:pfc_requests u:pfc_indications u:pfc_pause_duration u:pfc_storm_detected "
     "u:pfc_storm_restored"},
    {1001, COL_COUNTER_PROCESSOR,
     "i:cpu_5sec i:cpu_1min i:cpu_5min U:proc_mem_total U:proc_mem_free"},
    {1002, COL_COUNTER_RADIO,
     "u:radio_elapsed_time u:radio_on_channel_time u:radio_on_channel_busy_time"},
    {1004, COL_COUNTER_OF_PORT, "U:of_dpid u:of_port"},
    {1005, COL_COUNTER_PORT_NAME, "s:ifname"},
    {2000, COL_COUNTER_HOST_DESCR, "s:host_name r:uuid u:machine_type u:os_name s:os_release"},
    {2002, COL_COUNTER_HOST_PARENT, "u:host_parent_class u:host_parent_index"},
    {2003, COL_COUNTER_HOST_CPU,
     "f:load_one f:load_five f:load_fifteen u:proc_run u:proc_total u:cpu_num u:cpu_speed "
     "u:uptime u:cpu_user u:cpu_nice u:cpu_system u:cpu_idle u:cpu_wio u:cpu_intr u:cpu_sintr "
     "u:interrupts u:contexts u:cpu_steal u:cpu_guest u:cpu_guest_nice"},
    {2004, COL_COUNTER_HOST_MEMORY,
     "U:mem_total U:mem_free U:mem_shared U:mem_buffers U:mem_cached U:swap_total U:swap_free "
     "u:page_in u:page_out u:swap_in u:swap_out"},
    {2005, COL_COUNTER_HOST_DISK_IO,
     "U:disk_total U:disk_free i:part_max_used u:reads U:bytes_read u:read_time u:writes "
     "U:bytes_written u:write_time"},
    {2006, COL_COUNTER_HOST_NET_IO,
     "U:bytes_in u:pkts_in u:errs_in u:drops_in U:bytes_out u:pkts_out u:errs_out u:drops_out"},
    {2007, COL_COUNTER_MIB2_IP,
     "u:ip_forwarding u:ip_defaultttl u:ip_inreceives u:ip_inhdrerrors u:ip_inaddrerrors "
     "u:ip_forwdatagrams u:ip_inunknownprotos u:ip_indiscards u:ip_indelivers u:ip_outrequests "
     "u:ip_outdiscards u:ip_outnoroutes u:ip_reasmtimeout u:ip_reasmreqds u:ip_reasmoks "
     "u:ip_reasmfails u:ip_fragoks u:ip_fragfails u:ip_fragcreates"},
    {2008, COL_COUNTER_MIB2_ICMP,
     "u:icmp_inmsgs u:icmp_inerrors u:icmp_indestunreachs u:icmp_intimeexcds "
     "u:icmp_inparamprobs u:icmp_insrcquenchs u:icmp_inredirects u:icmp_inechos "
     "u:icmp_inechoreps u:icmp_intimestamps u:icmp_inaddrmasks u:icmp_inaddrmaskreps "
     "u:icmp_outmsgs u:icmp_outerrors u:icmp_outdestunreachs u:icmp_outtimeexcds "
     "u:icmp_outparamprobs u:icmp_outsrcquenchs u:icmp_outredirects u:icmp_outechos "
     "u:icmp_outechoreps u:icmp_outtimestamps u:icmp_outtimestampreps u:icmp_outaddrmasks "
     "u:icmp_outaddrmaskreps"},
    {2009, COL_COUNTER_MIB2_TCP,
     "u:tcp_rtoalgorithm u:tcp_rtomin u:tcp_rtomax u:tcp_maxconn u:tcp_activeopens "
     "u:tcp_passiveopens u:tcp_attemptfails u:tcp_estabresets u:tcp_currestab u:tcp_insegs "
     "u:tcp_outsegs u:tcp_retranssegs u:tcp_inerrs u:tcp_outrsts u:tcp_incsumerrors"},
    {2010, COL_COUNTER_MIB2_UDP,
     "u:udp_indatagrams u:udp_noports u:udp_inerrors u:udp_outdatagrams u:udp_rcvbuferrors "
     "u:udp_sndbuferrors u:udp_incsumerrors"},
    {2100, COL_COUNTER_VIRT_NODE,
     "u:vir_node_mhz u:vir_node_cpus U:vir_node_memory U:vir_node_memory_free "
     "u:vir_node_domains"},
    {2101, COL_COUNTER_VIRT_CPU, "u:vir_cpu_state u:vir_cpu_time u:vir_cpu_count"},
    {2102, COL_COUNTER_VIRT_MEMORY, "U:vir_memory U:vir_memory_max"},
    {2103, COL_COUNTER_VIRT_DISK_IO,
     "U:vir_disk_capacity U:vir_disk_allocation U:vir_disk_available u:vir_disk_reads "
     "U:vir_disk_bytes_read u:vir_disk_writes U:vir_disk_bytes_written u:vir_disk_errors"},
    {2104, COL_COUNTER_VIRT_NET_IO,
     "U:vir_bytes_in u:vir_pkts_in u:vir_errs_in u:vir_drops_in U:vir_bytes_out u:vir_pkts_out "
     "u:vir_errs_out u:vir_drops_out"},
    {2105, COL_COUNTER_JVM_RUNTIME, "s:jvm_name s:jvm_vendor s:jvm_version"},
    {2106, COL_COUNTER_JMX,
     "U:jvm_heap_initial U:jvm_heap_used U:jvm_heap_committed U:jvm_heap_max "
     "U:jvm_non_heap_initial U:jvm_non_heap_used U:jvm_non_heap_committed U:jvm_non_heap_max "
     "u:jvm_gc_count u:jvm_gc_time u:jvm_classes_loaded u:jvm_classes_total "
     "u:jvm_classes_unloaded u:jvm_compilation_time u:jvm_threads_live u:jvm_threads_daemon "
     "u:jvm_threads_started u:jvm_fd_open u:jvm_fd_max"},
    {2201, COL_COUNTER_HTTP_COUNTERS,
     "u:http_method_option u:http_method_get u:http_method_head u:http_method_post "
     "u:http_method_put u:http_method_delete u:http_method_trace u:http_method_connect "
     "u:http_method_other u:http_status_1xx u:http_status_2xx u:http_status_3xx "
     "u:http_status_4xx u:http_status_5xx u:http_status_other"},
    {2202, COL_COUNTER_APP_OPERATIONS,
     "s:app_ops_name u:app_ops_ok u:app_ops_other u:app_ops_timeout u:app_ops_internal_error "
     "u:app_ops_bad_request u:app_ops_forbidden u:app_ops_too_large u:app_ops_not_implemented "
     "u:app_ops_not_found u:app_ops_unavailable u:app_ops_unauthorized"},
    {2203, COL_COUNTER_APP_RESOURCES,
     "u:app_user_time u:app_system_time U:app_mem_used U:app_mem_max u:app_fd_open "
     "u:app_fd_max u:app_conn_open u:app_conn_max"},
    {2204, COL_COUNTER_MEMCACHE,
     "u:memcache_cmd_set u:memcache_cmd_touch u:memcache_cmd_flush u:memcache_get_hits "
     "u:memcache_get_misses u:memcache_delete_hits u:memcache_delete_misses "
     "u:memcache_incr_hits u:memcache_incr_misses u:memcache_decr_hits u:memcache_decr_misses "
     "u:memcache_cas_hits u:memcache_cas_misses u:memcache_cas_badval u:memcache_auth_cmds "
     "u:memcache_auth_errors u:memcache_threads u:memcache_conn_yields "
     "u:memcache_listen_disabled_num u:memcache_curr_connections "
     "u:memcache_rejected_connections u:memcache_total_connections "
     "u:memcache_connection_structures u:memcache_evictions u:memcache_reclaimed "
     "u:memcache_curr_items u:memcache_total_items U:memcache_bytes_read "
     "U:memcache_bytes_written U:memcache_bytes U:memcache_limit_maxbytes"},
    {2205, COL_COUNTER_VDI,
     "u:vdi_sessions_current u:vdi_sessions_total u:vdi_sessions_duration u:vdi_rx_bytes "
     "u:vdi_tx_bytes u:vdi_rx_packets u:vdi_tx_packets u:vdi_rx_packets_lost "
     "u:vdi_tx_packets_lost u:vdi_rtt_min_ms u:vdi_rtt_max_ms u:vdi_rtt_avg_ms "
     "u:vdi_audio_rx_bytes u:vdi_audio_tx_bytes u:vdi_audio_tx_limit u:vdi_img_rx_bytes "
     "u:vdi_img_tx_bytes u:vdi_img_frames u:vdi_img_qual_min u:vdi_img_qual_max "
     "u:vdi_img_qual_avg u:vdi_usb_rx_bytes u:vdi_usb_tx_bytes"},
    {2206, COL_COUNTER_APP_WORKERS,
     "u:app_workers_active u:app_workers_idle u:app_workers_max u:app_req_delayed "
     "u:app_req_dropped"},
    {2207, COL_COUNTER_OVS_DP,
     "u:ovs_dp_hits u:ovs_dp_misses u:ovs_dp_lost u:ovs_dp_mask_hits u:ovs_dp_flows "
     "u:ovs_dp_masks"},
};

#define NSPECS (sizeof SPECS / sizeof SPECS[0])
#define MAX_ITEMS 40

/* Parsed item of a spec. */
typedef struct item {
    char kind;
    char name[48];
} item;

static size_t
spec_parse(const char *s, item *out)
{
    size_t n = 0;
    while (*s && n < MAX_ITEMS) {
        size_t len = strcspn(s, " ");
        out[n].kind = s[0];
        snprintf(out[n].name, sizeof out[n].name, "%.*s", (int)len - 2, s + 2);
        n++;
        s += len;
        s += strspn(s, " ");
    }
    return n;
}

/* Expected size of a spec's first n items on the wire. */
static size_t
spec_wire_size(const item *it, size_t n)
{
    size_t sz = 0;
    for (size_t k = 0; k < n; k++) {
        switch (it[k].kind) {
        case 'u':
        case 'i':
        case 'f':
            sz += 4;
            break;
        case 'U':
        case 'm':
            sz += 8;
            break;
        case 'r':
            sz += 16;
            break;
        case 'b':
            sz += 1;
            break;
        case 's':
            sz += 4 + ((k % 5 + 1 + 3) & ~3u);
            break;
        }
    }
    return sz;
}

/* ---- a tiny XDR writer ---- */

typedef struct wr {
    uint8_t b[8192];
    size_t n;
} wr;

static void
w32(wr *w, uint32_t v)
{
    w->b[w->n++] = (uint8_t)(v >> 24);
    w->b[w->n++] = (uint8_t)(v >> 16);
    w->b[w->n++] = (uint8_t)(v >> 8);
    w->b[w->n++] = (uint8_t)v;
}

static void
w64(wr *w, uint64_t v)
{
    w32(w, (uint32_t)(v >> 32));
    w32(w, (uint32_t)v);
}

static void
wbytes(wr *w, const void *p, size_t n)
{
    memcpy(w->b + w->n, p, n);
    w->n += n;
    while (w->n % 4)
        w->b[w->n++] = 0;
}

static void
wpatch(wr *w, size_t at, uint32_t v)
{
    w->b[at] = (uint8_t)(v >> 24);
    w->b[at + 1] = (uint8_t)(v >> 16);
    w->b[at + 2] = (uint8_t)(v >> 8);
    w->b[at + 3] = (uint8_t)v;
}

/* The distinct test value of item k. */
static uint32_t
val32(size_t k)
{
    return 0x10000u * (uint32_t)(k + 1) + (uint32_t)k;
}
static uint64_t
val64(size_t k)
{
    return (uint64_t)(k + 1) << 32 | (0x100u + k);
}
static const char STRS[] = "abcdefgh";

/* Write the first n items of a spec with their test values. */
static void
spec_write(wr *w, const item *it, size_t n)
{
    uint8_t packed[4];
    int nb = 0;

    for (size_t k = 0; k < n; k++) {
        switch (it[k].kind) {
        case 'u':
            w32(w, val32(k));
            break;
        case 'U':
            w64(w, val64(k));
            break;
        case 'i':
            w32(w, (uint32_t) - (int32_t)(k + 1));
            break;
        case 'f': {
            float f = (float)(k + 1) * 0.25f;
            uint32_t u;
            memcpy(&u, &f, 4);
            w32(w, u);
            break;
        }
        case 's':
            w32(w, (uint32_t)(k % 5 + 1));
            wbytes(w, STRS, k % 5 + 1);
            break;
        case 'm': {
            uint8_t mac[6];
            for (int j = 0; j < 6; j++)
                mac[j] = (uint8_t)(k * 16 + j);
            wbytes(w, mac, 6);
            break;
        }
        case 'r': {
            uint8_t raw[16];
            for (int j = 0; j < 16; j++)
                raw[j] = (uint8_t)(k + j);
            wbytes(w, raw, 16);
            break;
        }
        case 'b':
            packed[nb++] = (uint8_t)(0x40 + k);
            if (nb == 4) {
                wbytes(w, packed, 4);
                nb = 0;
            }
            break;
        }
    }
}

/* Write one record envelope + the first n items (+ extra zero bytes). */
static void
rec_write(wr *w, uint32_t tag, const item *it, size_t n, size_t extra)
{
    w32(w, tag);
    size_t at = w->n;
    w32(w, 0);
    spec_write(w, it, n);
    for (size_t j = 0; j < extra; j++)
        w->b[w->n++] = 0;
    wpatch(w, at, (uint32_t)(w->n - at - 4));
}

/* ---- decoding helpers ---- */

static sfa_dgram dg;

/* Run col__counter_records over a sample body (record count + records). */
static int
decode_body(const wr *w, col_decode_stats *st)
{
    uint8_t *copy = malloc(w->n ? w->n : 1);
    sfa_rbuf rb;
    int rc;

    memcpy(copy, w->b, w->n);
    memset(&dg, 0, offsetof(sfa_dgram, samples));
    dg.nsamples = 1;
    dg.samples[0] = (sfa_sample){.tag = SFA_SAMPLE_COUNTER_EXPANDED};
    sfa_rbuf_init(&rb, copy, w->n);
    rc = col__counter_records(&rb, &dg, &dg.samples[0], st);
    /* Strings borrow the buffer: keep it alive until the next call. */
    static uint8_t *keep;
    free(keep);
    keep = copy;
    return rc;
}

static const sfa_field *
find(const char *name)
{
    int id = sfa_field_lookup(name, strlen(name));
    const sfa_sample *s = &dg.samples[0];
    for (uint32_t i = s->field_first; i < s->field_first + s->field_count; i++)
        if (dg.fields[i].id == id)
            return &dg.fields[i];
    return NULL;
}

/* Check that item k of a spec decoded to its test value. */
static int
item_ok(const item *it, size_t k)
{
    const sfa_field *f = find(it[k].name);
    if (!f)
        return 0;
    switch (it[k].kind) {
    case 'u':
        return f->type == SFA_T_U && f->v.u == val32(k);
    case 'U':
        return f->type == SFA_T_U && f->v.u == val64(k);
    case 'i':
        return f->type == SFA_T_I && f->v.i == -(int64_t)(k + 1);
    case 'f':
        return f->type == SFA_T_F && f->v.d == (double)((float)(k + 1) * 0.25f);
    case 's':
        return f->type == SFA_T_STR && f->n == k % 5 + 1 && memcmp(f->v.p, STRS, f->n) == 0;
    case 'm':
        for (int j = 0; j < 6; j++)
            if (f->type != SFA_T_MAC || f->v.a[j] != (uint8_t)(k * 16 + j))
                return 0;
        return 1;
    case 'r':
        for (int j = 0; j < 16; j++)
            if (f->type != SFA_T_BIN || f->n != 16 || f->v.p[j] != (uint8_t)(k + j))
                return 0;
        return 1;
    case 'b':
        return f->type == SFA_T_U && f->v.u == 0x40 + k;
    }
    return 0;
}

/* ---- tests ---- */

/* Every record kind: all values, the field count, the per-format counter. */
static void
test_each_kind(void)
{
    item it[MAX_ITEMS];
    char msg[160];

    for (size_t r = 0; r < NSPECS; r++) {
        const rec_spec *sp = &SPECS[r];
        size_t n = spec_parse(sp->items, it);
        col_decode_stats st;
        wr w = {.n = 0};
        int bad = 0;

        memset(&st, 0, sizeof st);
        w32(&w, 1);
        rec_write(&w, sp->tag, it, n, 0);
        int rc = decode_body(&w, &st);
        for (size_t k = 0; k < n; k++) {
            if (!item_ok(it, k)) {
                printf("# 0:%u %s: field %s wrong or missing\n", sp->tag,
                       col_counter_format_name(sp->fmt), it[k].name);
                bad++;
            }
        }
        snprintf(msg, sizeof msg, "0:%u %s (%zu bytes): decoded, every value right", sp->tag,
                 col_counter_format_name(sp->fmt), w.n - 12);
        CHECK(rc == 0 && bad == 0 && dg.samples[0].field_count == n, msg);
        snprintf(msg, sizeof msg, "0:%u counted as its format", sp->tag);
        CHECK(st.counter_records[sp->fmt] == 1 && st.records_malformed == 0 &&
                  col_counter_format_tag(sp->fmt) == sp->tag && dg.nrecs == 1 &&
                  dg.rec_tags[0] == sp->tag,
              msg);
    }
}

/* Every record kind declared (and carried) shorter than its fixed part, at
 * every length: malformed, no fields left behind; the optional tails of
 * host_cpu and jmx make any length from their base size on acceptable. */
static void
test_each_kind_short(void)
{
    item it[MAX_ITEMS];
    char msg[160];

    for (size_t r = 0; r < NSPECS; r++) {
        const rec_spec *sp = &SPECS[r];
        size_t n = spec_parse(sp->items, it);
        size_t base = sp->tag == 2003 ? 68 : sp->tag == 2106 ? 100 : (size_t)-1;
        wr full = {.n = 0};
        int bad = 0;

        spec_write(&full, it, n);
        for (size_t cut = 0; cut < full.n; cut++) {
            col_decode_stats st;
            wr w = {.n = 0};
            memset(&st, 0, sizeof st);
            w32(&w, 1);
            w32(&w, sp->tag);
            w32(&w, (uint32_t)cut);
            memcpy(w.b + w.n, full.b, cut);
            w.n += cut;
            int rc = decode_body(&w, &st);
            if (cut >= base)
                bad += rc != 0 || st.records_malformed != 0;
            else
                bad += rc != SFA_EFORMAT || st.records_malformed != 1 ||
                       dg.samples[0].field_count != 0 || dg.nrecs != 1;
        }
        snprintf(msg, sizeof msg, "0:%u cut at each of %zu lengths: short ones malformed", sp->tag,
                 full.n);
        CHECK_EQ(bad, 0, msg);
    }
}

/* Find a spec by tag. */
static size_t
spec_items(uint32_t tag, item *it)
{
    for (size_t r = 0; r < NSPECS; r++)
        if (SPECS[r].tag == tag)
            return spec_parse(SPECS[r].items, it);
    return 0;
}

/* Optional tails: host_cpu 68/80 bytes, jmx 100/108 bytes. */
static void
test_optional_tails(void)
{
    item it[MAX_ITEMS];
    col_decode_stats st;
    wr w;

    size_t n = spec_items(2003, it);
    CHECK_EQ(spec_wire_size(it, 17), 68, "host_cpu base layout is 68 bytes");
    CHECK_EQ(spec_wire_size(it, n), 80, "host_cpu grown layout is 80 bytes");
    memset(&st, 0, sizeof st);
    w.n = 0;
    w32(&w, 1);
    rec_write(&w, 2003, it, 17, 0);
    CHECK(decode_body(&w, &st) == 0 && dg.samples[0].field_count == 17 && !find("cpu_steal") &&
              item_ok(it, 16),
          "host_cpu 68 bytes: 17 fields, no steal");

    n = spec_items(2106, it);
    CHECK_EQ(spec_wire_size(it, 17), 100, "jmx base layout is 100 bytes");
    memset(&st, 0, sizeof st);
    w.n = 0;
    w32(&w, 1);
    rec_write(&w, 2106, it, 17, 0);
    CHECK(decode_body(&w, &st) == 0 && dg.samples[0].field_count == 17 && !find("jvm_fd_open"),
          "jmx 100 bytes: 17 fields");
    w.n = 0;
    w32(&w, 1);
    rec_write(&w, 2106, it, 18, 0); /* 104: one optional word */
    CHECK(decode_body(&w, &st) == 0 && dg.samples[0].field_count == 18 && item_ok(it, 17) &&
              !find("jvm_fd_max"),
          "jmx 104 bytes: the tail word that is there");
    CHECK_EQ(st.records_malformed, 0, "optional tails are not malformed");
}

/* Grown records, short records and unknown formats in one sample. */
static void
test_grown_short_unknown(void)
{
    item eth[MAX_ITEMS], ifc[MAX_ITEMS];
    size_t ne = spec_items(2, eth), ni = spec_items(1, ifc);
    col_decode_stats st;
    wr w = {.n = 0};

    memset(&st, 0, sizeof st);
    w32(&w, 6);
    rec_write(&w, 2, eth, ne, 12);    /* grown by 12 bytes */
    rec_write(&w, 1, ifc, ni - 1, 0); /* short: promiscuous mode missing */
    w32(&w, 4413 << 12 | 3);          /* vendor record */
    w32(&w, 8);
    w64(&w, 0xDEADBEEFCAFEF00DULL);
    w32(&w, 2200); /* standard but not decoded */
    w32(&w, 4);
    w32(&w, 7);
    w32(&w, 2002); /* zero-length known record: short */
    w32(&w, 0);
    rec_write(&w, 1, ifc, ni, 0); /* a good one after all that */
    int rc = decode_body(&w, &st);

    CHECK_ERR(rc, SFA_EFORMAT, "sample with short records reports SFA_EFORMAT");
    CHECK_EQ(st.records_malformed, 2, "two short records counted malformed");
    CHECK_EQ(st.counter_records_unknown, 2, "two unknown records counted");
    CHECK_EQ(dg.nrecs, 6, "every record's tag is listed, known or not");
    CHECK(dg.rec_tags[2] == (4413u << 12 | 3) && dg.rec_tags[3] == 2200, "unknown tags kept");
    CHECK_EQ(dg.samples[0].field_count, ne + ni, "short records left no fields");
    int ok = 1;
    for (size_t k = 0; k < ne; k++)
        ok &= item_ok(eth, k);
    for (size_t k = 0; k < ni; k++)
        ok &= item_ok(ifc, k);
    CHECK(ok, "grown record and the record after the bad ones decoded right");
}

/* A record envelope whose length runs past the sample ends the sample. */
static void
test_lying_envelope(void)
{
    item ifc[MAX_ITEMS];
    size_t ni = spec_items(1, ifc);
    col_decode_stats st;
    wr w = {.n = 0};

    memset(&st, 0, sizeof st);
    w32(&w, 3);
    rec_write(&w, 1, ifc, ni, 0);
    w32(&w, 2);
    w32(&w, 1000); /* claims 1000 bytes, 52 follow */
    for (int j = 0; j < 13; j++)
        w32(&w, 0);
    CHECK_ERR(decode_body(&w, &st), SFA_ETRUNC, "record running past the sample: SFA_ETRUNC");
    CHECK(dg.samples[0].field_count == ni && item_ok(ifc, 0), "records before it are kept");

    w.n = 0;
    w32(&w, 5); /* declares 5, carries 1 */
    rec_write(&w, 1, ifc, ni, 0);
    CHECK_ERR(decode_body(&w, &st), SFA_ETRUNC, "fewer records than declared: SFA_ETRUNC");
    w.n = 0;
    CHECK_ERR(decode_body(&w, &st), SFA_EFORMAT, "empty body: SFA_EFORMAT");
}

/* host_adapters and SFP lanes: good arrays and lying counts. */
static void
test_arrays(void)
{
    col_decode_stats st;
    wr w = {.n = 0};
    static const uint8_t mac1[6] = {0, 1, 2, 3, 4, 5}, mac2[6] = {6, 7, 8, 9, 10, 11};

    memset(&st, 0, sizeof st);
    w32(&w, 2);
    w32(&w, 2001);
    size_t at = w.n;
    w32(&w, 0);
    w32(&w, 2); /* two adapters */
    w32(&w, 3); /* ifIndex 3, one MAC */
    w32(&w, 1);
    wbytes(&w, mac1, 6);
    w32(&w, 4); /* ifIndex 4, two MACs */
    w32(&w, 2);
    wbytes(&w, mac1, 6);
    wbytes(&w, mac2, 6);
    wpatch(&w, at, (uint32_t)(w.n - at - 4));
    w32(&w, 10); /* SFP with two lanes */
    at = w.n;
    w32(&w, 0);
    w32(&w, 17);
    w32(&w, 4);
    w32(&w, 3300);
    w32(&w, (uint32_t)-5000); /* -5 degrees C */
    w32(&w, 2);
    for (uint32_t j = 0; j < 20; j++)
        w32(&w, 100 + j);
    wpatch(&w, at, (uint32_t)(w.n - at - 4));
    CHECK_OK(decode_body(&w, &st), "host_adapters + sfp decoded");

    const sfa_field *f = find("host_adapters");
    CHECK(f && f->type == SFA_T_ADAPTERS && f->n == 2 && f->v.p[3] == 3 && f->v.p[9] == 1 &&
              f->v.p[19] == 4 && f->v.p[23] == 2,
          "host_adapters kept as 2 validated adapters");
    f = find("opt_lanes");
    CHECK(f && f->type == SFA_T_U32S && f->n == 20 && f->v.p[3] == 100 && f->v.p[79] == 119,
          "sfp lanes kept as 20 words");
    f = find("opt_module_temperature");
    CHECK(f && f->type == SFA_T_I && f->v.i == -5000, "sfp temperature is signed");
    f = find("opt_module_voltage");
    CHECK(f && f->v.u == 3300, "sfp supply voltage");

    /* Lying counts: an adapter count, a MAC count, a lane count. */
    static const uint32_t lies[][4] = {
        {2001, 0x40000000u, 0, 0}, /* adapters */
        {2001, 1, 3, 0x20000001u}, /* MACs */
        {10, 0, 0, 0},             /* lanes, filled below */
    };
    for (int i = 0; i < 3; i++) {
        memset(&st, 0, sizeof st);
        w.n = 0;
        w32(&w, 1);
        w32(&w, lies[i][0]);
        at = w.n;
        w32(&w, 0);
        if (i < 2) {
            w32(&w, lies[i][1]);
            if (i == 1) {
                w32(&w, lies[i][2]);
                w32(&w, lies[i][3]);
            }
        } else {
            for (int j = 0; j < 4; j++)
                w32(&w, 1);
            w32(&w, 0x06666667u); /* count * 40 overflows 32 bits */
            w32(&w, 0);
        }
        wpatch(&w, at, (uint32_t)(w.n - at - 4));
        char msg[80];
        snprintf(msg, sizeof msg, "lying count %d: malformed, no fields", i);
        CHECK(decode_body(&w, &st) == SFA_EFORMAT && st.records_malformed == 1 &&
                  dg.samples[0].field_count == 0,
              msg);
    }
}

/* Build a datagram with one expanded counter sample holding every kind. */
static size_t
build_datagram(wr *w)
{
    item it[MAX_ITEMS];

    w->n = 0;
    w32(w, 5);
    w32(w, 1);
    w32(w, 0x0A000001); /* agent 10.0.0.1 */
    w32(w, 7);          /* sub-agent */
    w32(w, 42);         /* sequence */
    w32(w, 123456);     /* uptime */
    w32(w, 1);
    w32(w, 4); /* expanded counter sample */
    size_t at = w->n;
    w32(w, 0);
    w32(w, 9);          /* sample sequence */
    w32(w, 0);          /* class 0 */
    w32(w, 0x01000005); /* index beyond 24 bits */
    w32(w, (uint32_t)NSPECS);
    for (size_t r = 0; r < NSPECS; r++) {
        size_t n = spec_parse(SPECS[r].items, it);
        rec_write(w, SPECS[r].tag, it, n, 0);
    }
    wpatch(w, at, (uint32_t)(w->n - at - 4));
    return w->n;
}

static void
test_datagram_and_cuts(void)
{
    static wr w;
    col_decode_stats st;
    size_t len = build_datagram(&w);

    memset(&st, 0, sizeof st);
    memset(&dg, 0, offsetof(sfa_dgram, samples));
    CHECK_OK(col_sflow_decode(w.b, len, &dg, &st), "datagram with every counter kind decodes");
    CHECK(dg.nsamples == 1 && dg.samples[0].tag == SFA_SAMPLE_COUNTER_EXPANDED &&
              dg.samples[0].ds_index == 0x01000005 && dg.samples[0].seq == 9,
          "expanded counter sample envelope");
    CHECK_EQ(dg.samples[0].rec_count, NSPECS, "every record listed");
    CHECK(find("ifinoctets") && find("ovs_dp_masks") && find("host_name"),
          "first, last and string fields present");
    CHECK_EQ(st.records_malformed, 0, "no malformed records");

    /* Every cut, on an exact-size copy, must fail cleanly. */
    int bad = 0;
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, w.b, cut);
        memset(&st, 0, sizeof st);
        int rc = col_sflow_decode(copy, cut, &dg, &st);
        if (rc == 0 || dg.nfields > SFA_DGRAM_MAX_FIELDS)
            bad++;
        free(copy);
    }
    CHECK_EQ(bad, 0, "every truncation of the datagram reports an error");

    /* Every record length word set to each of several lies. */
    static const uint32_t lies[] = {0, 1, 3, 4, 7, 0x7FFFFFFFu, 0xFFFFFFFFu};
    bad = 0;
    for (size_t off = 48; off + 4 <= len; off += 4) {
        for (size_t l = 0; l < sizeof lies / sizeof lies[0]; l++) {
            uint8_t *copy = malloc(len);
            memcpy(copy, w.b, len);
            copy[off] = (uint8_t)(lies[l] >> 24);
            copy[off + 1] = (uint8_t)(lies[l] >> 16);
            copy[off + 2] = (uint8_t)(lies[l] >> 8);
            copy[off + 3] = (uint8_t)lies[l];
            memset(&st, 0, sizeof st);
            (void)col_sflow_decode(copy, len, &dg, &st);
            if (dg.nfields > SFA_DGRAM_MAX_FIELDS || dg.nrecs > SFA_DGRAM_MAX_RECORDS)
                bad++;
            free(copy);
        }
    }
    CHECK_EQ(bad, 0, "every word overwritten with lying values decodes within bounds");
}

int
main(void)
{
    test_each_kind();
    test_each_kind_short();
    test_optional_tails();
    test_grown_short_unknown();
    test_lying_envelope();
    test_arrays();
    test_datagram_and_cuts();
    return test_done();
}
