/* sflow.h - the decoded form of one sFlow datagram.
 *
 * Plain data (STYLE habit 4): the collector's decoder fills an sfa_dgram,
 * the codec turns it into bus messages, and bus consumers may decode bus
 * messages back into the same struct. The struct is large and reused: it is
 * filled in place, never allocated per datagram. Strings, opaques and
 * arrays in fields borrow the buffer the datagram was decoded from (the UDP
 * payload, or the bus message), so an sfa_dgram is valid only as long as
 * that buffer.
 *
 * Field identities come from fields.def: one X-macro row per field with the
 * name used on the bus and in flow keys (sFlow-RT's key and metric names
 * where one exists).
 */
#ifndef SFA_SFLOW_H
#define SFA_SFLOW_H

#include <stddef.h>
#include <stdint.h>

/* Sample tags (enterprise 0). */
enum {
    SFA_SAMPLE_FLOW = 1,
    SFA_SAMPLE_COUNTER = 2,
    SFA_SAMPLE_FLOW_EXPANDED = 3,
    SFA_SAMPLE_COUNTER_EXPANDED = 4,
    SFA_SAMPLE_DISCARD = 5,
};

/* Capacities of one decoded datagram. A datagram needing more is decoded up
 * to the cap, marked SFA_ELIMIT and counted. 1024 samples is more than a
 * 9000-byte jumbo datagram can carry in useful samples. */
#define SFA_DGRAM_MAX_SAMPLES 1024
#define SFA_DGRAM_MAX_FIELDS 32768
#define SFA_DGRAM_MAX_RECORDS 8192
#define SFA_DGRAM_ARENA 16384

/* Field value types. */
enum sfa_ftype {
    SFA_T_U = 1,    /* unsigned integer: v.u */
    SFA_T_I,        /* signed integer: v.i */
    SFA_T_F,        /* floating point: v.d */
    SFA_T_BOOL,     /* v.u is 0 or 1 */
    SFA_T_IP4,      /* v.a[0..3] */
    SFA_T_IP6,      /* v.a[0..15] */
    SFA_T_MAC,      /* v.a[0..5] */
    SFA_T_STR,      /* v.p, n bytes of text (not NUL-terminated, maybe not UTF-8) */
    SFA_T_BIN,      /* v.p, n bytes of opaque data */
    SFA_T_U32S,     /* v.p -> n big-endian 32-bit words (as on the wire) */
    SFA_T_ASPATH,   /* v.p -> n XDR as_path_segment structs, already validated */
    SFA_T_ADAPTERS, /* v.p -> n XDR host_adapter structs, already validated */
};

enum sfa_field_id {
#define SFA_FIELD(id, name, type, doc) SFA_F_##id,
#include <sfa/fields.def>
#undef SFA_FIELD
    SFA_F__COUNT
};

typedef struct sfa_addr {
    uint8_t family; /* 0 unknown, 4 IPv4, 6 IPv6 */
    uint8_t a[16];  /* IPv4 in a[0..3] */
} sfa_addr;

typedef struct sfa_field {
    uint16_t id;  /* enum sfa_field_id */
    uint8_t type; /* enum sfa_ftype */
    uint8_t _pad;
    uint32_t n; /* length (STR, BIN) or element count (U32S, ASPATH, ADAPTERS) */
    union {
        uint64_t u;
        int64_t i;
        double d;
        uint8_t a[16];
        const uint8_t *p;
    } v;
} sfa_field;

typedef struct sfa_sample {
    uint32_t tag;      /* enterprise << 12 | format, e.g. SFA_SAMPLE_FLOW */
    uint32_t seq;      /* sample sequence number */
    uint32_t ds_class; /* source id class: 0 ifIndex, 1 VLAN, 2 entity, ... */
    uint32_t ds_index;
    uint32_t rate;           /* flow and discard: sampling rate (0 for discard) */
    uint32_t pool;           /* flow: sample pool */
    uint32_t drops;          /* flow and discard */
    uint32_t in_fmt, in_val; /* flow: interface encodings (4.7); discard: fmt 0 */
    uint32_t out_fmt, out_val;
    uint32_t reason;                   /* discard: drop reason */
    uint32_t nrecords;                 /* records declared by the sample */
    uint32_t rec_first, rec_count;     /* tags of records seen: dgram->rec_tags[] */
    uint32_t field_first, field_count; /* dgram->fields[] */
    int status;                        /* 0, or SFA_E* if decoding stopped inside this sample */
} sfa_sample;

typedef struct sfa_dgram {
    /* Filled by the receiver before decoding. */
    sfa_addr src; /* datagram source address (sFlowDatagramSource) */
    uint16_t src_port;
    uint64_t rx_ms; /* wall-clock receive time, ms */

    /* Datagram header. */
    uint32_t len; /* payload bytes */
    uint32_t version;
    sfa_addr agent;
    uint32_t sub_agent;
    uint32_t seq;
    uint32_t uptime; /* ms */
    uint32_t nsamples_declared;
    int status; /* 0, or the first SFA_E* met; samples before it are kept */

    uint32_t nsamples;
    uint32_t nfields;
    uint32_t nrecs;
    uint32_t arena_used;
    sfa_sample samples[SFA_DGRAM_MAX_SAMPLES];
    sfa_field fields[SFA_DGRAM_MAX_FIELDS];
    uint32_t rec_tags[SFA_DGRAM_MAX_RECORDS];
    uint8_t arena[SFA_DGRAM_ARENA]; /* bytes the decoder generates (e.g. "stack") */
} sfa_dgram;

/* Name and type of a field id; NULL / 0 when out of range. */
const char *sfa_field_name(unsigned id);
int sfa_field_type(unsigned id);
/* Field id by name, or -1. */
int sfa_field_lookup(const char *name, size_t len);

/* Format an address as text (IPv6 in RFC 5952 form) into out (>= 46 bytes).
 * Returns the length written (no NUL counted), 0 for family 0. */
size_t sfa_addr_format(const sfa_addr *a, char *out);
/* Parse text into an address; 0 on success, SFA_EFORMAT otherwise. */
int sfa_addr_parse(const char *s, sfa_addr *out);

/* Sample kind helpers. */
static inline int
sfa_sample_is_flow(const sfa_sample *s)
{
    return s->tag == SFA_SAMPLE_FLOW || s->tag == SFA_SAMPLE_FLOW_EXPANDED;
}

static inline int
sfa_sample_is_counter(const sfa_sample *s)
{
    return s->tag == SFA_SAMPLE_COUNTER || s->tag == SFA_SAMPLE_COUNTER_EXPANDED;
}

#endif
