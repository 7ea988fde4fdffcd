/* flow_sample.h - build decoded sFlow samples by hand for flow definition
 * tests and the flowdef benchmark (no collector code involved).
 *
 * Samples are appended one at a time: fs_sample() opens a sample and every
 * fs_* field call appends to the most recent one. Strings are copied into
 * the datagram's arena so they live as long as the datagram. The datagram
 * is large: allocate it with fs_dgram_new() and free() it.
 */
#ifndef SFA_TEST_FLOW_SAMPLE_H
#define SFA_TEST_FLOW_SAMPLE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/sflow.h>

static inline sfa_dgram *
fs_dgram_new(const char *agent)
{
    sfa_dgram *d = calloc(1, sizeof *d);

    if (!d)
        abort();
    d->version = 5;
    if (agent && sfa_addr_parse(agent, &d->agent) != 0)
        abort();
    return d;
}

/* Open a sample: tag (SFA_SAMPLE_*), data source ifIndex (class 0), rate. */
static inline sfa_sample *
fs_sample(sfa_dgram *d, uint32_t tag, uint32_t ds_index, uint32_t rate)
{
    sfa_sample *s = &d->samples[d->nsamples++];

    memset(s, 0, sizeof *s);
    s->tag = tag;
    s->ds_index = ds_index;
    s->rate = tag == SFA_SAMPLE_DISCARD ? 0 : rate;
    s->field_first = d->nfields;
    return s;
}

static inline sfa_field *
fs_field(sfa_dgram *d, unsigned id, unsigned type)
{
    sfa_sample *s = &d->samples[d->nsamples - 1];
    sfa_field *f = &d->fields[d->nfields++];

    memset(f, 0, sizeof *f);
    f->id = (uint16_t)id;
    f->type = (uint8_t)type;
    s->field_count++;
    return f;
}

static inline void
fs_u(sfa_dgram *d, unsigned id, uint64_t v)
{
    fs_field(d, id, SFA_T_U)->v.u = v;
}

static inline void
fs_bool(sfa_dgram *d, unsigned id, int v)
{
    fs_field(d, id, SFA_T_BOOL)->v.u = v != 0;
}

static inline void
fs_f(sfa_dgram *d, unsigned id, double v)
{
    fs_field(d, id, SFA_T_F)->v.d = v;
}

static inline void
fs_ip(sfa_dgram *d, unsigned id, const char *text)
{
    sfa_addr a;
    sfa_field *f;

    if (sfa_addr_parse(text, &a) != 0)
        abort();
    f = fs_field(d, id, a.family == 4 ? SFA_T_IP4 : SFA_T_IP6);
    memcpy(f->v.a, a.a, 16);
}

/* MAC from 12 hex digits. */
static inline void
fs_mac(sfa_dgram *d, unsigned id, const char *hex)
{
    sfa_field *f = fs_field(d, id, SFA_T_MAC);

    for (int i = 0; i < 6; i++) {
        unsigned b;
        if (sscanf(hex + 2 * i, "%2x", &b) != 1)
            abort();
        f->v.a[i] = (uint8_t)b;
    }
}

/* Bytes copied into the arena, as a field of type (STR, BIN, U32S, ...). */
static inline void
fs_bytes(sfa_dgram *d, unsigned id, unsigned type, const void *p, size_t n, uint32_t count)
{
    sfa_field *f = fs_field(d, id, type);

    if (d->arena_used + n > sizeof d->arena)
        abort();
    memcpy(d->arena + d->arena_used, p, n);
    f->v.p = d->arena + d->arena_used;
    f->n = count;
    d->arena_used += (uint32_t)n;
}

static inline void
fs_str(sfa_dgram *d, unsigned id, const char *s)
{
    fs_bytes(d, id, SFA_T_STR, s, strlen(s), (uint32_t)strlen(s));
}

/* A typical Ethernet/IPv4/TCP packet sample with switch and router data:
 * about 30 fields, as the collector produces for a switch's sample. */
static inline sfa_sample *
fs_tcp4(sfa_dgram *d, uint32_t ds, uint32_t rate, const char *src, const char *dst, unsigned sport,
        unsigned dport, unsigned flen)
{
    sfa_sample *s = fs_sample(d, SFA_SAMPLE_FLOW, ds, rate);

    s->pool = rate * 100;
    s->in_val = ds;
    s->out_val = ds + 1;
    fs_u(d, SFA_F_HEADER_PROTOCOL, 1);
    fs_u(d, SFA_F_FRAME_LENGTH, flen);
    fs_u(d, SFA_F_STRIPPED, 4);
    fs_u(d, SFA_F_HEADER_LENGTH, 128);
    fs_str(d, SFA_F_STACK, "eth.ip.tcp");
    fs_mac(d, SFA_F_MACSOURCE, "001122334455");
    fs_mac(d, SFA_F_MACDESTINATION, "66778899AABB");
    fs_u(d, SFA_F_ETHERNETPROTOCOL, 2048);
    fs_u(d, SFA_F_VLAN, 10);
    fs_u(d, SFA_F_PRIORITY, 0);
    fs_ip(d, SFA_F_IPSOURCE, src);
    fs_ip(d, SFA_F_IPDESTINATION, dst);
    fs_u(d, SFA_F_IPPROTOCOL, 6);
    fs_u(d, SFA_F_IPTOS, 0xb8);
    fs_u(d, SFA_F_IPDSCP, 46);
    fs_u(d, SFA_F_IPECN, 0);
    fs_u(d, SFA_F_IPTTL, 64);
    fs_u(d, SFA_F_IPBYTES, flen - 18);
    fs_u(d, SFA_F_IPFLAGS, 2);
    fs_u(d, SFA_F_IPFRAGOFFSET, 0);
    fs_u(d, SFA_F_TCPSOURCEPORT, sport);
    fs_u(d, SFA_F_TCPDESTINATIONPORT, dport);
    fs_u(d, SFA_F_TCPFLAGS, 0x18);
    fs_u(d, SFA_F_VLANSOURCE, 10);
    fs_u(d, SFA_F_PRIORITYSOURCE, 0);
    fs_u(d, SFA_F_VLANDESTINATION, 10);
    fs_u(d, SFA_F_PRIORITYDESTINATION, 0);
    fs_ip(d, SFA_F_IPNEXTHOPROUTER, "192.0.2.1");
    fs_u(d, SFA_F_IPSOURCEMASKBITS, 24);
    fs_u(d, SFA_F_IPDESTINATIONMASKBITS, 16);
    return s;
}

#endif
