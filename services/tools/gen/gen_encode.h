/* gen_encode.h - sfa-gen's own sFlow v5 XDR encoder (private to the tool).
 *
 * Written from shared/spec/sflow-v5-wire.md, independently of the
 * collector's decoder, so that each checks the other. A gen_xdr writer
 * appends big-endian words to a caller-owned buffer and never allocates;
 * a write that does not fit sets a sticky error flag and writes nothing.
 * The sample encoders emit whole samples (envelope included); the GEN_*_OFF
 * constants give the offsets, from the start of an encoded sample, of the
 * words sfa-gen patches in place in pre-encoded templates.
 */
#ifndef GEN_ENCODE_H
#define GEN_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include <sfa/err.h>
#include <sfa/sflow.h>

typedef struct gen_xdr {
    uint8_t *buf; /* borrows */
    size_t cap;
    size_t len;
    int err; /* sticky: nonzero once a write did not fit */
} gen_xdr;

void gen_xdr_init(gen_xdr *w, uint8_t *buf, size_t cap);
void gen_xdr_u32(gen_xdr *w, uint32_t v);
void gen_xdr_u64(gen_xdr *w, uint64_t v);
void gen_xdr_float(gen_xdr *w, float v);
/* Fixed opaque: n bytes, then zero padding to a 4-byte boundary. */
void gen_xdr_fixed(gen_xdr *w, const void *p, size_t n);
/* Variable opaque / string: length word, bytes, zero padding. */
void gen_xdr_opaque(gen_xdr *w, const void *p, size_t n);
void gen_xdr_string(gen_xdr *w, const char *s);
/* The address union: type word (0, 1 IPv4, 2 IPv6), then 0/4/16 bytes. */
void gen_xdr_addr(gen_xdr *w, const sfa_addr *a);
/* Write a data_format tag and a placeholder length; returns the offset of
 * the length word, to pass to gen_xdr_close once the body is written. */
size_t gen_xdr_open(gen_xdr *w, uint32_t enterprise, uint32_t format);
void gen_xdr_close(gen_xdr *w, size_t len_off);

/* Store a big-endian word at buf + off (patching templates). */
static inline void
gen_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void
gen_put64(uint8_t *p, uint64_t v)
{
    gen_put32(p, (uint32_t)(v >> 32));
    gen_put32(p + 4, (uint32_t)v);
}

/* ---- datagram header (spec 3.1) ---- */

/* Bytes of the header for an agent of this family (28 IPv4, 40 IPv6). */
size_t gen_dgram_header_len(const sfa_addr *agent);
/* Offsets of the patchable words, relative to the datagram start. */
#define GEN_DG_SEQ_OFF(hlen) ((hlen)-12)
#define GEN_DG_UPTIME_OFF(hlen) ((hlen)-8)
#define GEN_DG_NSAMPLES_OFF(hlen) ((hlen)-4)

void gen_enc_dgram_header(gen_xdr *w, const sfa_addr *agent, uint32_t sub_agent, uint32_t seq,
                          uint32_t uptime_ms, uint32_t nsamples);

/* ---- compact flow sample 0:1 with sampled_header 0:1 + extended_switch ---- */

typedef struct gen_flow_desc {
    uint32_t seq;
    uint32_t source_id; /* class << 24 | index */
    uint32_t rate;
    uint32_t pool;
    uint32_t drops;
    uint32_t input; /* compact interface encoding (spec 4.7) */
    uint32_t output;
    uint32_t header_protocol; /* 1 Ethernet */
    uint32_t frame_length;    /* original frame, FCS included */
    uint32_t stripped;        /* 4: the FCS */
    const uint8_t *header;    /* borrows header_len bytes */
    uint32_t header_len;
    int has_switch; /* add extended_switch 0:1001 */
    uint32_t src_vlan, src_priority, dst_vlan, dst_priority;
} gen_flow_desc;

/* Offsets from the start of an encoded flow sample (8-byte envelope, then
 * the compact body of spec 4.1). */
#define GEN_FS_SEQ_OFF 8
#define GEN_FS_SOURCE_OFF 12
#define GEN_FS_RATE_OFF 16
#define GEN_FS_POOL_OFF 20
#define GEN_FS_DROPS_OFF 24

void gen_enc_flow_sample(gen_xdr *w, const gen_flow_desc *f);

/* ---- compact counter sample 0:2 with if_counters 0:1 ---- */

typedef struct gen_ifc_desc {
    uint32_t ifindex, iftype;
    uint64_t speed;
    uint32_t direction, status;
    uint64_t in_octets;
    uint32_t in_ucast, in_mcast, in_bcast, in_discards, in_errors, in_unknown;
    uint64_t out_octets;
    uint32_t out_ucast, out_mcast, out_bcast, out_discards, out_errors;
    uint32_t promisc;
} gen_ifc_desc;

void gen_enc_ifc_sample(gen_xdr *w, uint32_t seq, uint32_t source_id, const gen_ifc_desc *c);

/* ---- compact counter sample 0:2 with host records 0:2000, 0:2003,
 *      0:2004 and 0:2006 ---- */

typedef struct gen_host_desc {
    const char *hostname; /* borrows */
    uint8_t uuid[16];
    uint32_t machine_type, os_name;
    const char *os_release; /* borrows */
    float load_one, load_five, load_fifteen;
    uint32_t proc_run, proc_total, cpu_num, cpu_speed, uptime_s;
    uint32_t cpu_user, cpu_nice, cpu_system, cpu_idle, cpu_wio, cpu_intr, cpu_sintr;
    uint32_t interrupts, contexts;
    uint64_t mem_total, mem_free, mem_shared, mem_buffers, mem_cached, swap_total, swap_free;
    uint32_t page_in, page_out, swap_in, swap_out;
    uint64_t bytes_in;
    uint32_t pkts_in, errs_in, drops_in;
    uint64_t bytes_out;
    uint32_t pkts_out, errs_out, drops_out;
} gen_host_desc;

void gen_enc_host_sample(gen_xdr *w, uint32_t seq, uint32_t source_id, const gen_host_desc *h);

/* ---- the packet inside a sampled header ---- */

typedef struct gen_pkt_desc {
    uint8_t mac_src[6], mac_dst[6];
    uint16_t vlan; /* 0: untagged */
    uint8_t priority;
    sfa_addr src, dst; /* both family 4 or both family 6 */
    uint8_t protocol;  /* 6 TCP or 17 UDP */
    uint8_t tos;
    uint16_t sport, dport;
} gen_pkt_desc;

/* Build the first bytes of an Ethernet frame of frame_len bytes (FCS
 * included) carrying p: Ethernet [802.1Q] IPv4|IPv6 TCP|UDP, zero payload,
 * with valid IPv4 header checksum and IP/UDP lengths for the whole frame.
 * Writes min(cap, frame_len - 4) bytes into out and returns that count, or
 * SFA_EFORMAT if frame_len cannot hold the headers. */
SFA_MUST_CHECK int gen_enc_packet(uint8_t *out, size_t cap, const gen_pkt_desc *p,
                                  uint32_t frame_len);

/* Smallest frame_len (FCS included) that gen_enc_packet accepts for p. */
uint32_t gen_packet_min_frame(const gen_pkt_desc *p);

/* Internet checksum (RFC 1071) over n bytes, folded, starting from sum. */
uint32_t gen_csum_add(uint32_t sum, const uint8_t *p, size_t n);
uint16_t gen_csum_fold(uint32_t sum);

#endif
