/* pcap_frame.h - find the UDP datagram inside one captured link-layer frame.
 *
 * col_pcap_frame_udp() is what lets the collector (sflow.file) and the
 * capture tests read sFlow from pcap files: given the file's link type and
 * one captured frame, it walks the link header, VLAN tags and the IPv4 or
 * IPv6 header (IPv6 extension headers skipped) to the UDP header, and
 * returns the UDP payload and addressing. It is pure: no I/O, no logging,
 * no allocation, no globals; it never reads past the captured length.
 *
 * The payload length is the UDP header's length field, never the IP or the
 * capture length (wire spec section 1). When the UDP length claims more
 * bytes than were captured (or than the IP packet holds), the payload is
 * clamped to what is there and COL_PCAP_TRUNCATED is set. IP fragments are
 * reported (COL_PCAP_FRAGMENT) but not reassembled.
 */
#ifndef COL_PCAP_FRAME_H
#define COL_PCAP_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include <sfa/err.h>
#include <sfa/sflow.h>

/* pcap link types understood (LINKTYPE_* numbers of pcap files). */
enum {
    COL_LINKTYPE_NULL = 0,        /* BSD loopback: 4-byte address family, host byte order */
    COL_LINKTYPE_ETHERNET = 1,    /* Ethernet II, with 802.1Q / 802.1ad / QinQ tags */
    COL_LINKTYPE_RAW_12 = 12,     /* raw IPv4/IPv6 (DLT_RAW on most BSDs) */
    COL_LINKTYPE_RAW_14 = 14,     /* raw IPv4/IPv6 (DLT_RAW on OpenBSD) */
    COL_LINKTYPE_RAW = 101,       /* raw IPv4/IPv6 (LINKTYPE_RAW) */
    COL_LINKTYPE_LOOP = 108,      /* OpenBSD loopback: 4-byte address family, network order */
    COL_LINKTYPE_LINUX_SLL = 113, /* Linux cooked capture v1 (16-byte header) */
    COL_LINKTYPE_LINUX_SLL2 = 276 /* Linux cooked capture v2 (20-byte header) */
};

/* Flags of a col_pcap_udp. */
enum {
    COL_PCAP_TRUNCATED = 1u << 0, /* UDP length claims more than is there: payload clamped */
    COL_PCAP_FRAGMENT = 1u << 1,  /* the IP packet is a fragment: payload empty, see below */
    COL_PCAP_IPV6 = 1u << 2,      /* carried in IPv6 (else IPv4) */
    COL_PCAP_VLAN = 1u << 3       /* the frame carried at least one VLAN tag */
};

/* What col_pcap_frame_udp() found. Pointers borrow the frame. */
typedef struct col_pcap_udp {
    const uint8_t *payload; /* UDP payload (NULL when len is 0) */
    size_t len;             /* payload bytes, from the UDP length field, clamped */
    size_t udp_len;         /* UDP length field as sent (header included); 0 for fragments
                               without a UDP header */
    sfa_addr src;           /* IP source */
    sfa_addr dst;           /* IP destination */
    uint16_t src_port;      /* UDP ports; 0 when a fragment carries no UDP header */
    uint16_t dst_port;
    unsigned flags; /* COL_PCAP_* */
} col_pcap_udp;

/* Extract the UDP datagram of one captured frame (frame borrows, caplen
 * bytes). On success fills *out and returns 0. An IP fragment of a UDP
 * datagram also returns 0, with COL_PCAP_FRAGMENT set and an empty payload;
 * the first fragment still reports the ports when its UDP header was
 * captured. Errors (*out untouched): SFA_EFORMAT for an unknown link type,
 * a packet that is not IPv4/IPv6, not UDP, or has an invalid header;
 * SFA_ETRUNC when the capture ends before the end of the UDP header. */
SFA_MUST_CHECK int col_pcap_frame_udp(int linktype, const uint8_t *frame, size_t caplen,
                                      col_pcap_udp *out);

#endif
