/* sflow_decode.h - the collector's sFlow v5 decoder (private to the collector).
 *
 * col_sflow_decode() turns one UDP payload into an sfa_dgram. It is pure:
 * no I/O, no logging, no allocation, no globals (STYLE habit 9), so it is
 * fuzzed directly. Every length and count from the wire is checked against
 * what remains before use; unknown samples and records are skipped by their
 * length and counted; a malformed object stops decoding of that object only,
 * keeps what was decoded before it, and is counted.
 *
 * The record kinds are listed once in sflow_formats.def (X-macro): the enum,
 * names, dispatch and per-format counters are generated from it.
 */
#ifndef COL_SFLOW_DECODE_H
#define COL_SFLOW_DECODE_H

#include <stdint.h>

#include <sfa/err.h>
#include <sfa/rbuf.h>
#include <sfa/sflow.h>

/* Generated enums of known record formats, per name space. */
enum col_flow_fmt {
#define COL_FLOW_FORMAT(ent, fmt, id, name, fn) COL_FLOW_##id,
#define COL_COUNTER_FORMAT(ent, fmt, id, name, fn)
#include "sflow_formats.def"
#undef COL_FLOW_FORMAT
#undef COL_COUNTER_FORMAT
    COL_FLOW__COUNT
};

enum col_counter_fmt {
#define COL_FLOW_FORMAT(ent, fmt, id, name, fn)
#define COL_COUNTER_FORMAT(ent, fmt, id, name, fn) COL_COUNTER_##id,
#include "sflow_formats.def"
#undef COL_FLOW_FORMAT
#undef COL_COUNTER_FORMAT
    COL_COUNTER__COUNT
};

/* Decoder counters, accumulated across calls (caller-owned, zero it once). */
typedef struct col_decode_stats {
    uint64_t datagrams; /* payloads offered to the decoder */
    uint64_t bytes;
    uint64_t decoded;      /* v5 datagrams decoded without any error */
    uint64_t parse_errors; /* v5 datagrams with any malformation (truncated, lying lengths) */
    uint64_t not_sflow;    /* first words not an sFlow version/address type */
    uint64_t unsupported_version; /* v2 / v4 datagrams */
    uint64_t over_capacity;       /* datagrams cut at an sfa_dgram capacity */
    uint64_t trailing_bytes;      /* datagrams with bytes after the last declared sample */
    uint64_t samples[6];          /* index = sample tag 1..5 (enterprise 0); [0] unused */
    uint64_t samples_unknown;     /* other sample tags, skipped by length */
    uint64_t flow_records[COL_FLOW__COUNT];
    uint64_t flow_records_unknown;
    uint64_t counter_records[COL_COUNTER__COUNT];
    uint64_t counter_records_unknown;
    uint64_t records_malformed; /* known records shorter than their fixed part, or lying */
    uint64_t headers_truncated; /* sampled headers cut inside a layer (normal, informative) */
} col_decode_stats;

/* Decode one UDP payload (buf borrows; d's fields will borrow buf). The
 * caller sets d->src, d->src_port and d->rx_ms first; everything else in d
 * is overwritten. Returns 0, or the SFA_E* of the first problem (also in
 * d->status): SFA_EFORMAT not sFlow, SFA_EVERSION v2/v4, SFA_ETRUNC or
 * SFA_EFORMAT malformed (samples decoded before the fault are kept),
 * SFA_ELIMIT capacity. */
int col_sflow_decode(const uint8_t *buf, size_t len, sfa_dgram *d, col_decode_stats *st);

/* Names of record formats, for stats output ("0:1001" style keys use these). */
const char *col_flow_format_name(unsigned fmt);
const char *col_counter_format_name(unsigned fmt);
/* Tag (enterprise << 12 | format) of a known format index. */
uint32_t col_flow_format_tag(unsigned fmt);
uint32_t col_counter_format_tag(unsigned fmt);

/* ---- internal to the decoder files (sflow_*.c) ---- */

/* Append a field; returns NULL (and sets d->status = SFA_ELIMIT) when full. */
sfa_field *col__field_add(sfa_dgram *d, sfa_sample *s, unsigned id, unsigned type);

/* Decode the records of a flow/discard sample body (rb positioned at the
 * record count). Defined in sflow_flow.c. */
int col__flow_records(sfa_rbuf *rb, sfa_dgram *d, sfa_sample *s, col_decode_stats *st);

/* Decode the records of a counter sample body (rb positioned at the record
 * count). Defined in sflow_counter.c. */
int col__counter_records(sfa_rbuf *rb, sfa_dgram *d, sfa_sample *s, col_decode_stats *st);

/* Parse a sampled packet header into packet fields. Defined in sflow_header.c. */
void col__header_parse(uint32_t header_protocol, const uint8_t *hdr, uint32_t len, sfa_dgram *d,
                       sfa_sample *s, col_decode_stats *st);

#endif
