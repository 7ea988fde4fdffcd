/* busdump.h - sfa-busdump's command line and message handling.
 *
 * sfa-busdump subscribes to sfa publishers and shows what is on the bus:
 * every message as one JSON line (sfa_codec_to_json), or with --count the
 * per-topic message, datagram and sample counts and sequence gaps, as one
 * JSON line at exit (and every --interval seconds). main.c owns the loop
 * and the sockets; this module parses options and handles messages, so
 * tests drive it without a bus.
 */
#ifndef BUSDUMP_H
#define BUSDUMP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <sfa/err.h>

#define BUSDUMP_MAX_URLS 64
#define BUSDUMP_MAX_PREFIXES 64

typedef struct busdump_prefix {
    const char *bytes; /* borrows argv */
    size_t len;        /* with the NUL for an exact topic (--exact) */
} busdump_prefix;

typedef struct busdump_opts {
    const char *urls[BUSDUMP_MAX_URLS]; /* borrow argv */
    int nurls;
    int lanes; /* each URL stands for this many lanes */
    busdump_prefix prefixes[BUSDUMP_MAX_PREFIXES];
    int nprefixes;   /* 0: everything */
    int count;       /* --count: counts instead of messages */
    double interval; /* --interval seconds (count mode), 0: at exit only */
    uint64_t max;    /* --max messages, 0: no limit */
    double timeout;  /* --timeout seconds, 0: none */
    int rcvbuf;      /* receive queue depth, messages */
} busdump_opts;

/* Parse argv into o. Returns 0; SFA_EEXIT after printing --help to out;
 * SFA_ECONFIG after printing a message naming the problem to err. */
SFA_MUST_CHECK int busdump_parse(busdump_opts *o, int argc, char **argv, FILE *out, FILE *err);

void busdump_usage(FILE *out);

typedef struct busdump busdump;

/* Returns new; writes lines to out (borrowed). Free with busdump_destroy
 * (NULL is a no-op). */
busdump *busdump_create(const busdump_opts *o, FILE *out);
void busdump_destroy(busdump *b);

/* Handle one received message (borrowed for the call). Returns 1 when
 * --max messages have been handled and the caller should stop, else 0. */
int busdump_on_msg(busdump *b, const uint8_t *msg, size_t len);

/* Count mode: print the counts so far as one JSON line. */
void busdump_report(busdump *b, uint64_t elapsed_ms);

/* Messages handled so far. */
uint64_t busdump_messages(const busdump *b);

#endif
