/* sflow_counter.c - counter records of counter and expanded-counter samples.
 *
 * col__counter_records() walks the num_records record envelopes of one
 * counter sample body. Each record is carved into its own bounded reader
 * (sfa_rbuf_sub) and dispatched on its tag through a switch generated from
 * sflow_formats.def. Most records are fixed sequences of 32/64-bit words,
 * so they are described by item tables (field id + wire kind) read by one
 * loop; the few with inner arrays (host_adapters, SFP lanes) or packed
 * bytes (LAG port state) have small functions of their own.
 *
 * Rules: unknown formats are skipped by length and counted; a known record
 * shorter than its fixed part (or with a lying inner count or string
 * length) is counted malformed, its fields are rolled back, and decoding
 * goes on with the next record; bytes beyond the known fields are ignored
 * (structures grow at the end; host_cpu 68 -> 80 and jmx 100 -> 108 bytes
 * decode their optional tail when present). An envelope running past the
 * sample ends the sample. Values are raw, as sent: counters are not turned
 * into rates, percentages keep their hundredths-of-a-percent encoding, and
 * empty strings are left out (an empty string means "unknown").
 *
 * Pure: no I/O, no allocation, no globals except constant tables.
 * Capacity: CTR_RESERVE field slots are checked before each record, so
 * record decoders add fields without checking.
 */
#include "sflow_decode.h"

#define CTR_RESERVE 64 /* more than the largest record's field count (31) */
#define CTR_N(a) (sizeof(a) / sizeof((a)[0]))

typedef struct ctr_ctx {
    sfa_dgram *d;
    sfa_sample *s;
    col_decode_stats *st;
} ctr_ctx;

/* Wire kinds of table items. */
enum ctr_kind {
    CTR_U32 = 1, /* unsigned int -> SFA_T_U */
    CTR_U64,     /* unsigned hyper -> SFA_T_U */
    CTR_I32,     /* int (percentages, temperatures) -> SFA_T_I */
    CTR_F32,     /* float (load averages) -> SFA_T_F */
    CTR_MAC,     /* 6-byte MAC padded to 8 -> SFA_T_MAC */
    CTR_STR,     /* XDR string -> SFA_T_STR (left out when empty) */
    CTR_RAW16,   /* 16 raw bytes, no length word (host_descr uuid) -> SFA_T_BIN */
};

typedef struct ctr_item {
    uint16_t field; /* enum sfa_field_id */
    uint8_t kind;   /* enum ctr_kind */
} ctr_item;

/* ---- item tables, one per table-driven record, in wire order ---- */

/* The tables are laid out like the wire layout tables of the spec. */
/* clang-format off */
#define U32(f) {SFA_F_##f, CTR_U32}
#define U64(f) {SFA_F_##f, CTR_U64}
#define I32(f) {SFA_F_##f, CTR_I32}
#define F32(f) {SFA_F_##f, CTR_F32}
#define STR(f) {SFA_F_##f, CTR_STR}

static const ctr_item ctr_if[] = {
    U32(IFINDEX), U32(IFTYPE), U64(IFSPEED), U32(IFDIRECTION), U32(IFSTATUS),
    U64(IFINOCTETS), U32(IFINUCASTPKTS), U32(IFINMULTICASTPKTS), U32(IFINBROADCASTPKTS),
    U32(IFINDISCARDS), U32(IFINERRORS), U32(IFINUNKNOWNPROTOS),
    U64(IFOUTOCTETS), U32(IFOUTUCASTPKTS), U32(IFOUTMULTICASTPKTS), U32(IFOUTBROADCASTPKTS),
    U32(IFOUTDISCARDS), U32(IFOUTERRORS), U32(IFPROMISCUOUSMODE),
};

static const ctr_item ctr_ethernet[] = {
    U32(ETH_ALIGNMENTERRORS), U32(ETH_FCSERRORS), U32(ETH_SINGLECOLLISIONS),
    U32(ETH_MULTIPLECOLLISIONS), U32(ETH_SQETESTERRORS), U32(ETH_DEFERREDTX),
    U32(ETH_LATECOLLISION), U32(ETH_EXCESSIVECOLLISIONS), U32(ETH_INTERNALMACTXERRORS),
    U32(ETH_CARRIERSENSEERRORS), U32(ETH_FRAMETOOLONGS), U32(ETH_INTERNALMACRXERRORS),
    U32(ETH_SYMBOLERRORS),
};

static const ctr_item ctr_token_ring[] = {
    U32(TR_LINEERRORS), U32(TR_BURSTERRORS), U32(TR_ACERRORS), U32(TR_ABORTTRANSERRORS),
    U32(TR_INTERNALERRORS), U32(TR_LOSTFRAMEERRORS), U32(TR_RECEIVECONGESTIONS),
    U32(TR_FRAMECOPIEDERRORS), U32(TR_TOKENERRORS), U32(TR_SOFTERRORS), U32(TR_HARDERRORS),
    U32(TR_SIGNALLOSS), U32(TR_TRANSMITBEACONS), U32(TR_RECOVERYS), U32(TR_LOBEWIRES),
    U32(TR_REMOVES), U32(TR_SINGLES), U32(TR_FREQERRORS),
};

static const ctr_item ctr_vg[] = {
    U32(VG_INHIGHPRIORITYFRAMES), U64(VG_INHIGHPRIORITYOCTETS), U32(VG_INNORMPRIORITYFRAMES),
    U64(VG_INNORMPRIORITYOCTETS), U32(VG_INIPMERRORS), U32(VG_INOVERSIZEFRAMEERRORS),
    U32(VG_INDATAERRORS), U32(VG_INNULLADDRESSEDFRAMES), U32(VG_OUTHIGHPRIORITYFRAMES),
    U64(VG_OUTHIGHPRIORITYOCTETS), U32(VG_TRANSITIONINTOTRAININGS),
    U64(VG_HCINHIGHPRIORITYOCTETS), U64(VG_HCINNORMPRIORITYOCTETS),
    U64(VG_HCOUTHIGHPRIORITYOCTETS),
};

static const ctr_item ctr_vlan[] = {
    U32(VLAN_ID), U64(VLAN_OCTETS), U32(VLAN_UCASTPKTS), U32(VLAN_MULTICASTPKTS),
    U32(VLAN_BROADCASTPKTS), U32(VLAN_DISCARDS),
};

static const ctr_item ctr_ieee80211[] = {
    U32(DOT11_TXFRAGMENTS), U32(DOT11_MULTICASTTXFRAMES), U32(DOT11_FAILED),
    U32(DOT11_RETRY), U32(DOT11_MULTIPLERETRY), U32(DOT11_FRAMEDUPLICATE),
    U32(DOT11_RTSSUCCESS), U32(DOT11_RTSFAILURE), U32(DOT11_ACKFAILURE),
    U32(DOT11_RXFRAGMENTS), U32(DOT11_MULTICASTRXFRAMES), U32(DOT11_FCSERRORS),
    U32(DOT11_TXFRAMES), U32(DOT11_WEPUNDECRYPTABLE), U32(DOT11_QOSDISCARDEDFRAGMENTS),
    U32(DOT11_ASSOCIATEDSTATIONS), U32(DOT11_QOSCFPOLLSRECEIVED), U32(DOT11_QOSCFPOLLSUNUSED),
    U32(DOT11_QOSCFPOLLSUNUSABLE), U32(DOT11_QOSCFPOLLSLOST),
};

/* LAG: the part after the packed port-state word. */
static const ctr_item ctr_lag_tail[] = {
    U32(AGG_LACPDUSRX), U32(AGG_MARKERPDUSRX), U32(AGG_MARKERRESPONSEPDUSRX),
    U32(AGG_UNKNOWNRX), U32(AGG_ILLEGALRX), U32(AGG_LACPDUSTX), U32(AGG_MARKERPDUSTX),
    U32(AGG_MARKERRESPONSEPDUSTX),
};

static const ctr_item ctr_sfp_head[] = {
    U32(OPT_MODULE_ID), U32(OPT_MODULE_LANES), U32(OPT_MODULE_VOLTAGE),
    I32(OPT_MODULE_TEMPERATURE),
};

static const ctr_item ctr_pfc[] = {
    U32(PFC_REQUESTS), U32(PFC_INDICATIONS), U32(PFC_PAUSE_DURATION),
    U32(PFC_STORM_DETECTED), U32(PFC_STORM_RESTORED),
};

static const ctr_item ctr_processor[] = {
    I32(CPU_5SEC), I32(CPU_1MIN), I32(CPU_5MIN), U64(PROC_MEM_TOTAL), U64(PROC_MEM_FREE),
};

static const ctr_item ctr_radio[] = {
    U32(RADIO_ELAPSED_TIME), U32(RADIO_ON_CHANNEL_TIME), U32(RADIO_ON_CHANNEL_BUSY_TIME),
};

static const ctr_item ctr_of_port[] = {U64(OF_DPID), U32(OF_PORT)};

static const ctr_item ctr_port_name[] = {STR(IFNAME)};

static const ctr_item ctr_host_descr[] = {
    STR(HOST_NAME), {SFA_F_UUID, CTR_RAW16}, U32(MACHINE_TYPE), U32(OS_NAME), STR(OS_RELEASE),
};

static const ctr_item ctr_host_parent[] = {U32(HOST_PARENT_CLASS), U32(HOST_PARENT_INDEX)};

/* host_cpu: 17 items (68 bytes) required, 3 optional (80 bytes). */
static const ctr_item ctr_host_cpu[] = {
    F32(LOAD_ONE), F32(LOAD_FIVE), F32(LOAD_FIFTEEN), U32(PROC_RUN), U32(PROC_TOTAL),
    U32(CPU_NUM), U32(CPU_SPEED), U32(UPTIME), U32(CPU_USER), U32(CPU_NICE), U32(CPU_SYSTEM),
    U32(CPU_IDLE), U32(CPU_WIO), U32(CPU_INTR), U32(CPU_SINTR), U32(INTERRUPTS), U32(CONTEXTS),
    U32(CPU_STEAL), U32(CPU_GUEST), U32(CPU_GUEST_NICE),
};
#define CTR_HOST_CPU_REQUIRED 17

static const ctr_item ctr_host_memory[] = {
    U64(MEM_TOTAL), U64(MEM_FREE), U64(MEM_SHARED), U64(MEM_BUFFERS), U64(MEM_CACHED),
    U64(SWAP_TOTAL), U64(SWAP_FREE), U32(PAGE_IN), U32(PAGE_OUT), U32(SWAP_IN), U32(SWAP_OUT),
};

static const ctr_item ctr_host_disk_io[] = {
    U64(DISK_TOTAL), U64(DISK_FREE), I32(PART_MAX_USED), U32(READS), U64(BYTES_READ),
    U32(READ_TIME), U32(WRITES), U64(BYTES_WRITTEN), U32(WRITE_TIME),
};

static const ctr_item ctr_host_net_io[] = {
    U64(BYTES_IN), U32(PKTS_IN), U32(ERRS_IN), U32(DROPS_IN),
    U64(BYTES_OUT), U32(PKTS_OUT), U32(ERRS_OUT), U32(DROPS_OUT),
};

static const ctr_item ctr_mib2_ip[] = {
    U32(IP_FORWARDING), U32(IP_DEFAULTTTL), U32(IP_INRECEIVES), U32(IP_INHDRERRORS),
    U32(IP_INADDRERRORS), U32(IP_FORWDATAGRAMS), U32(IP_INUNKNOWNPROTOS), U32(IP_INDISCARDS),
    U32(IP_INDELIVERS), U32(IP_OUTREQUESTS), U32(IP_OUTDISCARDS), U32(IP_OUTNOROUTES),
    U32(IP_REASMTIMEOUT), U32(IP_REASMREQDS), U32(IP_REASMOKS), U32(IP_REASMFAILS),
    U32(IP_FRAGOKS), U32(IP_FRAGFAILS), U32(IP_FRAGCREATES),
};

static const ctr_item ctr_mib2_icmp[] = {
    U32(ICMP_INMSGS), U32(ICMP_INERRORS), U32(ICMP_INDESTUNREACHS), U32(ICMP_INTIMEEXCDS),
    U32(ICMP_INPARAMPROBS), U32(ICMP_INSRCQUENCHS), U32(ICMP_INREDIRECTS), U32(ICMP_INECHOS),
    U32(ICMP_INECHOREPS), U32(ICMP_INTIMESTAMPS), U32(ICMP_INADDRMASKS),
    U32(ICMP_INADDRMASKREPS), U32(ICMP_OUTMSGS), U32(ICMP_OUTERRORS),
    U32(ICMP_OUTDESTUNREACHS), U32(ICMP_OUTTIMEEXCDS), U32(ICMP_OUTPARAMPROBS),
    U32(ICMP_OUTSRCQUENCHS), U32(ICMP_OUTREDIRECTS), U32(ICMP_OUTECHOS), U32(ICMP_OUTECHOREPS),
    U32(ICMP_OUTTIMESTAMPS), U32(ICMP_OUTTIMESTAMPREPS), U32(ICMP_OUTADDRMASKS),
    U32(ICMP_OUTADDRMASKREPS),
};

static const ctr_item ctr_mib2_tcp[] = {
    U32(TCP_RTOALGORITHM), U32(TCP_RTOMIN), U32(TCP_RTOMAX), U32(TCP_MAXCONN),
    U32(TCP_ACTIVEOPENS), U32(TCP_PASSIVEOPENS), U32(TCP_ATTEMPTFAILS), U32(TCP_ESTABRESETS),
    U32(TCP_CURRESTAB), U32(TCP_INSEGS), U32(TCP_OUTSEGS), U32(TCP_RETRANSSEGS),
    U32(TCP_INERRS), U32(TCP_OUTRSTS), U32(TCP_INCSUMERRORS),
};

static const ctr_item ctr_mib2_udp[] = {
    U32(UDP_INDATAGRAMS), U32(UDP_NOPORTS), U32(UDP_INERRORS), U32(UDP_OUTDATAGRAMS),
    U32(UDP_RCVBUFERRORS), U32(UDP_SNDBUFERRORS), U32(UDP_INCSUMERRORS),
};

static const ctr_item ctr_virt_node[] = {
    U32(VIR_NODE_MHZ), U32(VIR_NODE_CPUS), U64(VIR_NODE_MEMORY), U64(VIR_NODE_MEMORY_FREE),
    U32(VIR_NODE_DOMAINS),
};

static const ctr_item ctr_virt_cpu[] = {U32(VIR_CPU_STATE), U32(VIR_CPU_TIME), U32(VIR_CPU_COUNT)};

static const ctr_item ctr_virt_memory[] = {U64(VIR_MEMORY), U64(VIR_MEMORY_MAX)};

static const ctr_item ctr_virt_disk_io[] = {
    U64(VIR_DISK_CAPACITY), U64(VIR_DISK_ALLOCATION), U64(VIR_DISK_AVAILABLE),
    U32(VIR_DISK_READS), U64(VIR_DISK_BYTES_READ), U32(VIR_DISK_WRITES),
    U64(VIR_DISK_BYTES_WRITTEN), U32(VIR_DISK_ERRORS),
};

static const ctr_item ctr_virt_net_io[] = {
    U64(VIR_BYTES_IN), U32(VIR_PKTS_IN), U32(VIR_ERRS_IN), U32(VIR_DROPS_IN),
    U64(VIR_BYTES_OUT), U32(VIR_PKTS_OUT), U32(VIR_ERRS_OUT), U32(VIR_DROPS_OUT),
};

static const ctr_item ctr_jvm_runtime[] = {STR(JVM_NAME), STR(JVM_VENDOR), STR(JVM_VERSION)};

/* jmx: 17 items (100 bytes) required, 2 optional (108 bytes). */
static const ctr_item ctr_jmx[] = {
    U64(JVM_HEAP_INITIAL), U64(JVM_HEAP_USED), U64(JVM_HEAP_COMMITTED), U64(JVM_HEAP_MAX),
    U64(JVM_NON_HEAP_INITIAL), U64(JVM_NON_HEAP_USED), U64(JVM_NON_HEAP_COMMITTED),
    U64(JVM_NON_HEAP_MAX), U32(JVM_GC_COUNT), U32(JVM_GC_TIME), U32(JVM_CLASSES_LOADED),
    U32(JVM_CLASSES_TOTAL), U32(JVM_CLASSES_UNLOADED), U32(JVM_COMPILATION_TIME),
    U32(JVM_THREADS_LIVE), U32(JVM_THREADS_DAEMON), U32(JVM_THREADS_STARTED),
    U32(JVM_FD_OPEN), U32(JVM_FD_MAX),
};
#define CTR_JMX_REQUIRED 17

static const ctr_item ctr_http[] = {
    U32(HTTP_METHOD_OPTION), U32(HTTP_METHOD_GET), U32(HTTP_METHOD_HEAD),
    U32(HTTP_METHOD_POST), U32(HTTP_METHOD_PUT), U32(HTTP_METHOD_DELETE),
    U32(HTTP_METHOD_TRACE), U32(HTTP_METHOD_CONNECT), U32(HTTP_METHOD_OTHER),
    U32(HTTP_STATUS_1XX), U32(HTTP_STATUS_2XX), U32(HTTP_STATUS_3XX), U32(HTTP_STATUS_4XX),
    U32(HTTP_STATUS_5XX), U32(HTTP_STATUS_OTHER),
};

static const ctr_item ctr_app_operations[] = {
    STR(APP_OPS_NAME), U32(APP_OPS_OK), U32(APP_OPS_OTHER), U32(APP_OPS_TIMEOUT),
    U32(APP_OPS_INTERNAL_ERROR), U32(APP_OPS_BAD_REQUEST), U32(APP_OPS_FORBIDDEN),
    U32(APP_OPS_TOO_LARGE), U32(APP_OPS_NOT_IMPLEMENTED), U32(APP_OPS_NOT_FOUND),
    U32(APP_OPS_UNAVAILABLE), U32(APP_OPS_UNAUTHORIZED),
};

static const ctr_item ctr_app_resources[] = {
    U32(APP_USER_TIME), U32(APP_SYSTEM_TIME), U64(APP_MEM_USED), U64(APP_MEM_MAX),
    U32(APP_FD_OPEN), U32(APP_FD_MAX), U32(APP_CONN_OPEN), U32(APP_CONN_MAX),
};

static const ctr_item ctr_memcache[] = {
    U32(MEMCACHE_CMD_SET), U32(MEMCACHE_CMD_TOUCH), U32(MEMCACHE_CMD_FLUSH),
    U32(MEMCACHE_GET_HITS), U32(MEMCACHE_GET_MISSES), U32(MEMCACHE_DELETE_HITS),
    U32(MEMCACHE_DELETE_MISSES), U32(MEMCACHE_INCR_HITS), U32(MEMCACHE_INCR_MISSES),
    U32(MEMCACHE_DECR_HITS), U32(MEMCACHE_DECR_MISSES), U32(MEMCACHE_CAS_HITS),
    U32(MEMCACHE_CAS_MISSES), U32(MEMCACHE_CAS_BADVAL), U32(MEMCACHE_AUTH_CMDS),
    U32(MEMCACHE_AUTH_ERRORS), U32(MEMCACHE_THREADS), U32(MEMCACHE_CONN_YIELDS),
    U32(MEMCACHE_LISTEN_DISABLED_NUM), U32(MEMCACHE_CURR_CONNECTIONS),
    U32(MEMCACHE_REJECTED_CONNECTIONS), U32(MEMCACHE_TOTAL_CONNECTIONS),
    U32(MEMCACHE_CONNECTION_STRUCTURES), U32(MEMCACHE_EVICTIONS), U32(MEMCACHE_RECLAIMED),
    U32(MEMCACHE_CURR_ITEMS), U32(MEMCACHE_TOTAL_ITEMS), U64(MEMCACHE_BYTES_READ),
    U64(MEMCACHE_BYTES_WRITTEN), U64(MEMCACHE_BYTES), U64(MEMCACHE_LIMIT_MAXBYTES),
};

static const ctr_item ctr_vdi[] = {
    U32(VDI_SESSIONS_CURRENT), U32(VDI_SESSIONS_TOTAL), U32(VDI_SESSIONS_DURATION),
    U32(VDI_RX_BYTES), U32(VDI_TX_BYTES), U32(VDI_RX_PACKETS), U32(VDI_TX_PACKETS),
    U32(VDI_RX_PACKETS_LOST), U32(VDI_TX_PACKETS_LOST), U32(VDI_RTT_MIN_MS),
    U32(VDI_RTT_MAX_MS), U32(VDI_RTT_AVG_MS), U32(VDI_AUDIO_RX_BYTES), U32(VDI_AUDIO_TX_BYTES),
    U32(VDI_AUDIO_TX_LIMIT), U32(VDI_IMG_RX_BYTES), U32(VDI_IMG_TX_BYTES), U32(VDI_IMG_FRAMES),
    U32(VDI_IMG_QUAL_MIN), U32(VDI_IMG_QUAL_MAX), U32(VDI_IMG_QUAL_AVG), U32(VDI_USB_RX_BYTES),
    U32(VDI_USB_TX_BYTES),
};

static const ctr_item ctr_app_workers[] = {
    U32(APP_WORKERS_ACTIVE), U32(APP_WORKERS_IDLE), U32(APP_WORKERS_MAX),
    U32(APP_REQ_DELAYED), U32(APP_REQ_DROPPED),
};

static const ctr_item ctr_ovs_dp[] = {
    U32(OVS_DP_HITS), U32(OVS_DP_MISSES), U32(OVS_DP_LOST), U32(OVS_DP_MASK_HITS),
    U32(OVS_DP_FLOWS), U32(OVS_DP_MASKS),
};

#undef U32
#undef U64
#undef I32
#undef F32
#undef STR
/* clang-format on */

/* ---- the item reader ---- */

/* Append a field; capacity was reserved by the record loop. */
static inline sfa_field *
counter_fld(sfa_dgram *d, unsigned id, unsigned type)
{
    sfa_field *f = &d->fields[d->nfields++];
    *f = (sfa_field){.id = (uint16_t)id, .type = (uint8_t)type};
    return f;
}

/* Bytes a fixed-width kind occupies on the wire (0 for variable kinds). */
static size_t
counter_kind_width(unsigned kind)
{
    switch (kind) {
    case CTR_U32:
    case CTR_I32:
    case CTR_F32:
        return 4;
    case CTR_U64:
    case CTR_MAC:
        return 8;
    case CTR_RAW16:
        return 16;
    default:
        return 0;
    }
}

/* Read one item into a field. 0, or SFA_EFORMAT if the record is too short. */
static int
counter_item(sfa_rbuf *rb, sfa_dgram *d, const ctr_item *it)
{
    const uint8_t *p;
    uint32_t n;

    switch (it->kind) {
    case CTR_U32:
        counter_fld(d, it->field, SFA_T_U)->v.u = sfa_rbuf_u32(rb);
        break;
    case CTR_U64:
        counter_fld(d, it->field, SFA_T_U)->v.u = sfa_rbuf_u64(rb);
        break;
    case CTR_I32:
        counter_fld(d, it->field, SFA_T_I)->v.i = (int32_t)sfa_rbuf_u32(rb);
        break;
    case CTR_F32:
        counter_fld(d, it->field, SFA_T_F)->v.d = sfa_rbuf_float(rb);
        break;
    case CTR_MAC:
        p = sfa_rbuf_fixed(rb, 6); /* 6 bytes + 2 of XDR padding */
        if (p)
            memcpy(counter_fld(d, it->field, SFA_T_MAC)->v.a, p, 6);
        break;
    case CTR_RAW16:
        /* Exactly 16 bytes with no length word, as agents send the uuid. */
        p = sfa_rbuf_fixed(rb, 16);
        if (p) {
            sfa_field *f = counter_fld(d, it->field, SFA_T_BIN);
            f->v.p = p;
            f->n = 16;
        }
        break;
    case CTR_STR:
        if (sfa_rbuf_opaque(rb, &p, &n) == 0 && n > 0) {
            sfa_field *f = counter_fld(d, it->field, SFA_T_STR);
            f->v.p = p;
            f->n = n;
        }
        break;
    default:
        return SFA_EFORMAT;
    }
    return sfa_rbuf_ok(rb) ? 0 : SFA_EFORMAT;
}

/* Read n items; items from index nreq on are an optional tail, each read
 * only if the record still holds it (fixed-width kinds only). */
static int
counter_items(sfa_rbuf *rb, sfa_dgram *d, const ctr_item *items, size_t n, size_t nreq)
{
    for (size_t i = 0; i < n; i++) {
        if (i >= nreq && sfa_rbuf_remaining(rb) < counter_kind_width(items[i].kind))
            break;
        int rc = counter_item(rb, d, &items[i]);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- record decoders: table-driven ones ---- */

/* Define a decoder that reads a whole item table (all items required). */
#define CTR_TABLE_DECODER(fn, table)                                                               \
    static int fn(sfa_rbuf *rb, ctr_ctx *c)                                                        \
    {                                                                                              \
        return counter_items(rb, c->d, table, CTR_N(table), CTR_N(table));                         \
    }

CTR_TABLE_DECODER(counter_if, ctr_if)
CTR_TABLE_DECODER(counter_ethernet, ctr_ethernet)
CTR_TABLE_DECODER(counter_token_ring, ctr_token_ring)
CTR_TABLE_DECODER(counter_vg, ctr_vg)
CTR_TABLE_DECODER(counter_vlan, ctr_vlan)
CTR_TABLE_DECODER(counter_ieee80211, ctr_ieee80211)
CTR_TABLE_DECODER(counter_pfc, ctr_pfc)
CTR_TABLE_DECODER(counter_processor, ctr_processor)
CTR_TABLE_DECODER(counter_radio, ctr_radio)
CTR_TABLE_DECODER(counter_of_port, ctr_of_port)
CTR_TABLE_DECODER(counter_port_name, ctr_port_name)
CTR_TABLE_DECODER(counter_host_descr, ctr_host_descr)
CTR_TABLE_DECODER(counter_host_parent, ctr_host_parent)
CTR_TABLE_DECODER(counter_host_memory, ctr_host_memory)
CTR_TABLE_DECODER(counter_host_disk_io, ctr_host_disk_io)
CTR_TABLE_DECODER(counter_host_net_io, ctr_host_net_io)
CTR_TABLE_DECODER(counter_mib2_ip, ctr_mib2_ip)
CTR_TABLE_DECODER(counter_mib2_icmp, ctr_mib2_icmp)
CTR_TABLE_DECODER(counter_mib2_tcp, ctr_mib2_tcp)
CTR_TABLE_DECODER(counter_mib2_udp, ctr_mib2_udp)
CTR_TABLE_DECODER(counter_virt_node, ctr_virt_node)
CTR_TABLE_DECODER(counter_virt_cpu, ctr_virt_cpu)
CTR_TABLE_DECODER(counter_virt_memory, ctr_virt_memory)
CTR_TABLE_DECODER(counter_virt_disk_io, ctr_virt_disk_io)
CTR_TABLE_DECODER(counter_virt_net_io, ctr_virt_net_io)
CTR_TABLE_DECODER(counter_jvm_runtime, ctr_jvm_runtime)
CTR_TABLE_DECODER(counter_http, ctr_http)
CTR_TABLE_DECODER(counter_app_operations, ctr_app_operations)
CTR_TABLE_DECODER(counter_app_resources, ctr_app_resources)
CTR_TABLE_DECODER(counter_memcache, ctr_memcache)
CTR_TABLE_DECODER(counter_vdi, ctr_vdi)
CTR_TABLE_DECODER(counter_app_workers, ctr_app_workers)
CTR_TABLE_DECODER(counter_ovs_dp, ctr_ovs_dp)

#undef CTR_TABLE_DECODER

/* ---- record decoders: grown structures ---- */

static int
counter_host_cpu(sfa_rbuf *rb, ctr_ctx *c)
{
    return counter_items(rb, c->d, ctr_host_cpu, CTR_N(ctr_host_cpu), CTR_HOST_CPU_REQUIRED);
}

static int
counter_jmx(sfa_rbuf *rb, ctr_ctx *c)
{
    return counter_items(rb, c->d, ctr_jmx, CTR_N(ctr_jmx), CTR_JMX_REQUIRED);
}

/* ---- record decoders: arrays and packed bytes ---- */

/* 0:7 LAG port: two MACs, the aggregate id, four packed state bytes (in
 * wire order: actor admin, actor oper, partner admin, partner oper), then
 * eight counters. */
static int
counter_lag_port(sfa_rbuf *rb, ctr_ctx *c)
{
    static const ctr_item head[] = {
        {SFA_F_AGG_ACTORSYSTEMID, CTR_MAC},
        {SFA_F_AGG_PARTNEROPERSYSTEMID, CTR_MAC},
        {SFA_F_AGG_ATTACHEDAGGID, CTR_U32},
    };
    static const uint16_t state_ids[4] = {
        SFA_F_AGG_ACTORADMINSTATE,
        SFA_F_AGG_ACTOROPERSTATE,
        SFA_F_AGG_PARTNERADMINSTATE,
        SFA_F_AGG_PARTNEROPERSTATE,
    };
    int rc = counter_items(rb, c->d, head, CTR_N(head), CTR_N(head));
    if (rc)
        return rc;
    const uint8_t *st = sfa_rbuf_fixed(rb, 4);
    if (!st)
        return SFA_EFORMAT;
    for (int i = 0; i < 4; i++)
        counter_fld(c->d, state_ids[i], SFA_T_U)->v.u = st[i];
    return counter_items(rb, c->d, ctr_lag_tail, CTR_N(ctr_lag_tail), CTR_N(ctr_lag_tail));
}

/* 0:10 SFP: four module words, then a lane count and 10 words per lane,
 * kept as one U32S field (raw big-endian words) after checking that the
 * count fits in the record. */
static int
counter_sfp(sfa_rbuf *rb, ctr_ctx *c)
{
    int rc = counter_items(rb, c->d, ctr_sfp_head, CTR_N(ctr_sfp_head), CTR_N(ctr_sfp_head));
    if (rc)
        return rc;
    uint32_t lanes = sfa_rbuf_u32(rb);
    if (!sfa_rbuf_ok(rb) || lanes > sfa_rbuf_remaining(rb) / 40)
        return SFA_EFORMAT;
    const uint8_t *p = sfa_rbuf_ptr(rb);
    sfa_rbuf_skip(rb, (size_t)lanes * 40);
    if (lanes) {
        sfa_field *f = counter_fld(c->d, SFA_F_OPT_LANES, SFA_T_U32S);
        f->v.p = p;
        f->n = lanes * 10;
    }
    return 0;
}

/* 0:2001 host_adapters: validate every adapter (ifIndex, MAC count, MACs
 * of 8 bytes each) against the record, then keep the array as one
 * ADAPTERS field borrowing the datagram. */
static int
counter_host_adapters(sfa_rbuf *rb, ctr_ctx *c)
{
    uint32_t count = sfa_rbuf_u32(rb);
    if (!sfa_rbuf_ok(rb) || count > sfa_rbuf_remaining(rb) / 8)
        return SFA_EFORMAT;
    const uint8_t *p = sfa_rbuf_ptr(rb);
    for (uint32_t i = 0; i < count; i++) {
        sfa_rbuf_skip(rb, 4); /* ifIndex */
        uint32_t macs = sfa_rbuf_u32(rb);
        if (!sfa_rbuf_ok(rb) || macs > sfa_rbuf_remaining(rb) / 8)
            return SFA_EFORMAT;
        sfa_rbuf_skip(rb, (size_t)macs * 8);
    }
    sfa_field *f = counter_fld(c->d, SFA_F_HOST_ADAPTERS, SFA_T_ADAPTERS);
    f->v.p = p;
    f->n = count;
    return 0;
}

/* ---- record loop ---- */

/* Decode one record body; 0, SFA_EFORMAT (malformed), or -1 if unknown. */
static int
counter_dispatch(uint32_t tag, sfa_rbuf *sub, ctr_ctx *c)
{
    switch (tag) {
#define COL_FLOW_FORMAT(ent, fmt, id, name, fn)
#define COL_COUNTER_FORMAT(ent, fmt, id, name, fn)                                                 \
    case (uint32_t)(ent) << 12 | (fmt):                                                            \
        c->st->counter_records[COL_COUNTER_##id]++;                                                \
        return fn(sub, c);
#include "sflow_formats.def"
#undef COL_FLOW_FORMAT
#undef COL_COUNTER_FORMAT
    default:
        c->st->counter_records_unknown++;
        return -1;
    }
}

int
col__counter_records(sfa_rbuf *rb, sfa_dgram *d, sfa_sample *s, col_decode_stats *st)
{
    ctr_ctx c = {d, s, st};
    int err = 0;

    s->nrecords = sfa_rbuf_u32(rb);
    if (!sfa_rbuf_ok(rb))
        return SFA_EFORMAT;
    for (uint32_t i = 0; i < s->nrecords; i++) {
        if (sfa_rbuf_remaining(rb) < 8) {
            err = SFA_ETRUNC; /* fewer records than declared */
            break;
        }
        uint32_t tag = sfa_rbuf_u32(rb), rlen = sfa_rbuf_u32(rb);
        sfa_rbuf sub;
        if (rlen > sfa_rbuf_remaining(rb)) {
            st->records_malformed++;
            err = SFA_ETRUNC;
            break;
        }
        sfa_rbuf_sub(rb, rlen, &sub);
        if (d->nrecs >= SFA_DGRAM_MAX_RECORDS || d->nfields > SFA_DGRAM_MAX_FIELDS - CTR_RESERVE) {
            err = SFA_ELIMIT;
            break;
        }
        d->rec_tags[d->nrecs++] = tag;
        uint32_t nf = d->nfields;
        int rc = counter_dispatch(tag, &sub, &c);
        if (rc == 0 || rc == -1)
            continue;
        /* Malformed record: drop its fields, keep going. */
        st->records_malformed++;
        d->nfields = nf;
        if (!err)
            err = rc;
    }
    s->rec_count = d->nrecs - s->rec_first;
    s->field_count = d->nfields - s->field_first;
    return err;
}
