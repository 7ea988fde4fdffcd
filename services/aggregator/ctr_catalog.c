/* ctr_catalog.c - which metric every counter field is, and the derived
 * metrics (proto/METRICS.md).
 *
 * fields.def is the one table of fields; this module reads it a second
 * time for the description column and classifies each field once, on
 * first use:
 *   - numeric fields whose description says "counter" (", ..." or at the
 *     end) are counters, shown as per-second rates; a short list below
 *     names those sent as 64-bit integers (the rest are 32-bit), which
 *     decides where they wrap and what "unavailable" (all ones) is;
 *   - host_cpu time counters are shown as percentages of the CPU time;
 *   - a few numbers are enumerations shown as strings, or hundredths of a
 *     percent; text, MAC, UUID and datapath ids are strings;
 *   - other numbers are gauges, shown as sent;
 *   - ifstatus and list-valued fields are not metrics themselves.
 * Derived metrics (ifinutilization, cpu_utilization, ...) have ids after
 * the fields. Enumeration names and the text forms of text, MAC, UUID and
 * datapath id fields are made here too. The classification is built once (pthread_once) and only
 * read afterwards, so any thread may call these functions.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "counters.h"

static const char *const cat_docs[SFA_F__COUNT] = {
#define SFA_FIELD(id, name, type, doc) [SFA_F_##id] = doc,
#include <sfa/fields.def>
#undef SFA_FIELD
};

/* Counters sent as unsigned hyper (64 bits), from the wire layouts. */
static const uint16_t cat_wide[] = {
    SFA_F_IFINOCTETS,
    SFA_F_IFOUTOCTETS,
    SFA_F_VG_INHIGHPRIORITYOCTETS,
    SFA_F_VG_INNORMPRIORITYOCTETS,
    SFA_F_VG_OUTHIGHPRIORITYOCTETS,
    SFA_F_VG_HCINHIGHPRIORITYOCTETS,
    SFA_F_VG_HCINNORMPRIORITYOCTETS,
    SFA_F_VG_HCOUTHIGHPRIORITYOCTETS,
    SFA_F_VLAN_OCTETS,
    SFA_F_BYTES_READ,
    SFA_F_BYTES_WRITTEN,
    SFA_F_BYTES_IN,
    SFA_F_BYTES_OUT,
    SFA_F_VIR_DISK_BYTES_READ,
    SFA_F_VIR_DISK_BYTES_WRITTEN,
    SFA_F_VIR_BYTES_IN,
    SFA_F_VIR_BYTES_OUT,
    SFA_F_MEMCACHE_BYTES_READ,
    SFA_F_MEMCACHE_BYTES_WRITTEN,
};

/* Fields whose kind is not the default one. */
static const struct {
    uint16_t id;
    uint8_t kind;
} cat_special[] = {
    {SFA_F_IFSTATUS, AGG_CK_SKIP}, /* shown as ifadminstatus, ifoperstatus */
    {SFA_F_IFTYPE, AGG_CK_ENUM},       {SFA_F_IFDIRECTION, AGG_CK_ENUM},
    {SFA_F_MACHINE_TYPE, AGG_CK_ENUM}, {SFA_F_OS_NAME, AGG_CK_ENUM},
    {SFA_F_UUID, AGG_CK_UUID},         {SFA_F_OF_DPID, AGG_CK_HEX64},
    {SFA_F_CPU_5SEC, AGG_CK_PCT100},   {SFA_F_CPU_1MIN, AGG_CK_PCT100},
    {SFA_F_CPU_5MIN, AGG_CK_PCT100},   {SFA_F_PART_MAX_USED, AGG_CK_PCT100},
    {SFA_F_CPU_USER, AGG_CK_CPU},      {SFA_F_CPU_NICE, AGG_CK_CPU},
    {SFA_F_CPU_SYSTEM, AGG_CK_CPU},    {SFA_F_CPU_IDLE, AGG_CK_CPU},
    {SFA_F_CPU_WIO, AGG_CK_CPU},       {SFA_F_CPU_INTR, AGG_CK_CPU},
    {SFA_F_CPU_SINTR, AGG_CK_CPU},     {SFA_F_CPU_STEAL, AGG_CK_CPU},
    {SFA_F_CPU_GUEST, AGG_CK_CPU},     {SFA_F_CPU_GUEST_NICE, AGG_CK_CPU},
};

static const char *const cat_derived[AGG_M__COUNT - SFA_F__COUNT] = {
    [AGG_M_IFADMINSTATUS - SFA_F__COUNT] = "ifadminstatus",
    [AGG_M_IFOPERSTATUS - SFA_F__COUNT] = "ifoperstatus",
    [AGG_M_IFINUTILIZATION - SFA_F__COUNT] = "ifinutilization",
    [AGG_M_IFOUTUTILIZATION - SFA_F__COUNT] = "ifoututilization",
    [AGG_M_IFINPKTS - SFA_F__COUNT] = "ifinpkts",
    [AGG_M_IFOUTPKTS - SFA_F__COUNT] = "ifoutpkts",
    [AGG_M_CPU_UTILIZATION - SFA_F__COUNT] = "cpu_utilization",
    [AGG_M_MEM_UTILIZATION - SFA_F__COUNT] = "mem_utilization",
    [AGG_M_DISK_UTILIZATION - SFA_F__COUNT] = "disk_utilization",
    [AGG_M_LOAD_ONE_PER_CPU - SFA_F__COUNT] = "load_one_per_cpu",
    [AGG_M_LOAD_FIVE_PER_CPU - SFA_F__COUNT] = "load_five_per_cpu",
    [AGG_M_LOAD_FIFTEEN_PER_CPU - SFA_F__COUNT] = "load_fifteen_per_cpu",
};

static uint8_t cat_kind[AGG_M__COUNT];
static uint8_t cat_width[AGG_M__COUNT];
static pthread_once_t cat_once = PTHREAD_ONCE_INIT;

/* Does the description call the field a counter ("... counter, unit" or
 * "... counter" at the end; not "vlan_counters")? */
static int
cat_is_counter(const char *doc)
{
    for (const char *p = doc; (p = strstr(p, "counter")) != NULL; p += 7)
        if (p[7] == ',' || p[7] == '\0')
            return 1;
    return 0;
}

static int
cat_default_kind(unsigned id)
{
    switch (sfa_field_type(id)) {
    case SFA_T_U:
    case SFA_T_I:
    case SFA_T_F:
    case SFA_T_BOOL:
        return cat_is_counter(cat_docs[id]) ? AGG_CK_RATE : AGG_CK_GAUGE;
    case SFA_T_STR:
        return AGG_CK_TEXT;
    case SFA_T_MAC:
        return AGG_CK_MAC;
    default:
        return AGG_CK_SKIP; /* addresses, opaque bytes, lists */
    }
}

static void
cat_build(void)
{
    for (unsigned id = 0; id < SFA_F__COUNT; id++)
        cat_kind[id] = (uint8_t)cat_default_kind(id);
    for (size_t i = 0; i < sizeof cat_special / sizeof cat_special[0]; i++)
        cat_kind[cat_special[i].id] = cat_special[i].kind;
    for (unsigned id = 0; id < SFA_F__COUNT; id++)
        if (cat_kind[id] == AGG_CK_RATE || cat_kind[id] == AGG_CK_CPU)
            cat_width[id] = 32;
    for (size_t i = 0; i < sizeof cat_wide / sizeof cat_wide[0]; i++)
        cat_width[cat_wide[i]] = 64;
    for (unsigned id = SFA_F__COUNT; id < AGG_M__COUNT; id++)
        cat_kind[id] = AGG_CK_DERIVED;
}

int
agg_metric_kind(unsigned id)
{
    pthread_once(&cat_once, cat_build);
    return id < AGG_M__COUNT ? cat_kind[id] : AGG_CK_SKIP;
}

int
agg_metric_width(unsigned id)
{
    pthread_once(&cat_once, cat_build);
    return id < AGG_M__COUNT ? cat_width[id] : 0;
}

const char *
agg_metric_name(unsigned id)
{
    if (agg_metric_kind(id) == AGG_CK_SKIP)
        return NULL;
    return id < SFA_F__COUNT ? sfa_field_name(id) : cat_derived[id - SFA_F__COUNT];
}

int
agg_metric_lookup(const char *name, size_t n)
{
    int id;

    for (unsigned i = 0; i < AGG_M__COUNT - SFA_F__COUNT; i++)
        if (strlen(cat_derived[i]) == n && memcmp(cat_derived[i], name, n) == 0)
            return (int)(SFA_F__COUNT + i);
    id = sfa_field_lookup(name, n);
    return id >= 0 && agg_metric_kind((unsigned)id) != AGG_CK_SKIP ? id : -1;
}

int
agg_metric_is_text(unsigned id)
{
    switch (agg_metric_kind(id)) {
    case AGG_CK_ENUM:
    case AGG_CK_TEXT:
    case AGG_CK_MAC:
    case AGG_CK_UUID:
    case AGG_CK_HEX64:
        return 1;
    case AGG_CK_DERIVED:
        return id == AGG_M_IFADMINSTATUS || id == AGG_M_IFOPERSTATUS;
    default:
        return 0;
    }
}

/* ---- enumerations ---- */

static const char *const cat_ifdirection[] = {"unknown", "full-duplex", "half-duplex", "in", "out"};

static const char *const cat_machine[] = {"unknown", "other", "x86",     "x86_64", "ia64",
                                          "sparc",   "alpha", "powerpc", "m68k",   "mips",
                                          "arm",     "hppa",  "s390"};

static const char *const cat_os[] = {"unknown", "other", "linux",     "windows", "darwin",
                                     "hpux",    "aix",   "dragonfly", "freebsd", "netbsd",
                                     "openbsd", "osf",   "solaris"};

/* IANA ifType names of the interfaces agents commonly report. */
static const struct {
    uint16_t n;
    const char *name;
} cat_iftypes[] = {
    {1, "other"},
    {6, "ethernetCsmacd"},
    {23, "ppp"},
    {24, "softwareLoopback"},
    {32, "frameRelay"},
    {37, "atm"},
    {53, "propVirtual"},
    {62, "fastEther"},
    {69, "fastEtherFX"},
    {71, "ieee80211"},
    {117, "gigabitEthernet"},
    {131, "tunnel"},
    {135, "l2vlan"},
    {136, "l3ipvlan"},
    {150, "mplsTunnel"},
    {161, "ieee8023adLag"},
    {166, "mpls"},
    {209, "bridge"},
};

static const char *
cat_table(const char *const *t, size_t n, double v)
{
    return v >= 0 && v < (double)n && v == (double)(size_t)v ? t[(size_t)v] : NULL;
}

const char *
agg_metric_enum_text(unsigned id, double v, char *buf, size_t cap)
{
    const char *s = NULL;

    switch (id) {
    case SFA_F_IFDIRECTION:
        s = cat_table(cat_ifdirection, sizeof cat_ifdirection / sizeof *cat_ifdirection, v);
        break;
    case SFA_F_MACHINE_TYPE:
        s = cat_table(cat_machine, sizeof cat_machine / sizeof *cat_machine, v);
        break;
    case SFA_F_OS_NAME:
        s = cat_table(cat_os, sizeof cat_os / sizeof *cat_os, v);
        break;
    case SFA_F_IFTYPE:
        for (size_t i = 0; i < sizeof cat_iftypes / sizeof cat_iftypes[0]; i++)
            if (v == cat_iftypes[i].n)
                s = cat_iftypes[i].name;
        break;
    case AGG_M_IFADMINSTATUS:
    case AGG_M_IFOPERSTATUS:
        s = v != 0 ? "up" : "down";
        break;
    default:
        break;
    }
    if (s)
        return s;
    snprintf(buf, cap, "%.0f", v);
    return buf;
}

/* ---- texts ---- */

int
agg_metric_text_of(const sfa_field *f, int kind, char *buf, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *p = f->v.p;
    size_t n;

    switch (kind) {
    case AGG_CK_MAC:
        if (f->type != SFA_T_MAC)
            return 0;
        snprintf(buf, cap, "%02X%02X%02X%02X%02X%02X", f->v.a[0], f->v.a[1], f->v.a[2], f->v.a[3],
                 f->v.a[4], f->v.a[5]);
        return 1;
    case AGG_CK_HEX64:
        if (f->type != SFA_T_U)
            return 0;
        snprintf(buf, cap, "%016llx", (unsigned long long)f->v.u);
        return 1;
    case AGG_CK_UUID:
        if (f->n != 16 || (f->type != SFA_T_BIN && f->type != SFA_T_STR))
            return 0;
        n = 0;
        for (int i = 0; i < 16; i++) {
            if (i == 4 || i == 6 || i == 8 || i == 10)
                buf[n++] = '-';
            buf[n++] = hex[p[i] >> 4];
            buf[n++] = hex[p[i] & 15];
        }
        buf[n] = '\0';
        return 1;
    default:
        break;
    }
    if (f->type != SFA_T_STR && f->type != SFA_T_BIN)
        return 0;
    n = f->n < cap - 1 ? f->n : cap - 1;
    for (size_t i = 0; i < n;) {
        size_t len = p[i] < 0x80             ? 1
                     : (p[i] & 0xe0) == 0xc0 ? 2
                     : (p[i] & 0xf0) == 0xe0 ? 3
                     : (p[i] & 0xf8) == 0xf0 ? 4
                                             : 0;
        int ok = len > 0 && i + len <= n && !(len == 1 && p[i] < 0x20);

        for (size_t j = 1; ok && j < len; j++)
            ok = (p[i + j] & 0xc0) == 0x80;
        if (!ok) {
            buf[i++] = '?';
            continue;
        }
        memcpy(buf + i, p + i, len);
        i += len;
    }
    buf[n] = '\0';
    return 1;
}
