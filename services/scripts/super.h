/* super.h - the supervisor's internals (super.c: processes and watchdog;
 * super_bus.c: events, surveys and the /scripts/json answer). Never
 * included by the child's files. Loop thread only.
 */
#ifndef SCR_SUPER_H
#define SCR_SUPER_H

#include <limits.h>
#include <stdint.h>

#include <uv.h>

#include <sfa/bus.h>
#include <sfa/survey.h>

#include "scr.h"

typedef struct scr_script scr_script;

/* One spawn of a script: the process and its socket, freed when both
 * handles have closed (a run can outlive its script's interest in it). */
typedef struct scr_run {
    scr_script *sc; /* NULL once the run has been finished */
    uv_process_t proc;
    uv_pipe_t ipc;
    scr_framer in;
    int open_handles;
    int exited;     /* the exit callback ran */
    int ipc_closed; /* EOF seen or closing */
    int64_t status;
    int sig;
    int pid;
} scr_run;

/* An HTTP request handed to a child, waiting for its http.reply. */
typedef struct scr_pending {
    uint64_t id;
    sfa_respond_req *req;
    struct scr_pending *next;
} scr_pending;

struct scr_script {
    struct scr_super *s;
    const scr_spec *spec; /* borrows s->specs */
    scr_run *run;         /* the live run, or NULL */
    uv_timer_t restart;
    uint64_t started_ms;
    uint64_t backoff_ms;
    int busy; /* inside a callback since busy_ms */
    uint64_t busy_ms;
    char busy_what[16];
    int killed_timeout; /* the watchdog killed the current run */
    int alive, graceful;
    unsigned restarts;
    char *error; /* last error text, or NULL */
    int want_events, has_http;
    uint64_t events_received, events_lost, requests_received, requests_lost;
    uint64_t flows_received, flows_lost;           /* reported by the child, over all runs */
    uint64_t flows_base_received, flows_base_lost; /* totals of finished runs */
    uint64_t cpu_ms_done;                          /* CPU time of finished runs */
    uint64_t cpu_ms_run;                           /* last sample of the live run */
    scr_pending *pending;
};

struct scr_super {
    uv_loop_t *loop;
    const scr_config *cfg;
    char exe[PATH_MAX];
    char gateway[300];
    scr_specs specs;
    scr_script *scripts;
    size_t n;
    scr_store *store;
    sfa_bus *events;
    sfa_responder *resp;
    uv_timer_t watchdog;
    uv_timer_t stop_timer;
    uv_signal_t sigint, sigterm;
    uint64_t ticks;
    uint64_t next_http_id;
    int runs; /* scr_run structs not yet freed */
    int stopping;
    uint64_t events_in, events_bad;
};

/* super.c: send msg (borrowed) to the script's live run. 0, -ENOTCONN
 * (no live run) or SFA_ELIMIT (its queue is over the limit: dropped). */
int super_send(scr_script *sc, const json_t *msg);
/* super.c: the CPU time of the script over all runs, ms. */
uint64_t super_cpu_ms(scr_script *sc);

/* super_bus.c */
SFA_MUST_CHECK int super_bus_open(scr_super *s);
void super_bus_close(scr_super *s);
/* A frame from a child that the bus side handles (http.reply). */
void super_bus_http_reply(scr_script *sc, const json_t *msg);
/* Answer every pending HTTP request of sc with status (the run ended). */
void super_bus_fail_pending(scr_script *sc, int status);
/* The /scripts/json object (new). */
json_t *super_scripts_json(scr_super *s);

#endif
