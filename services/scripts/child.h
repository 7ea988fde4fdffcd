/* child.h - the script child's internals (child.c, jsrt.c, js_api.c,
 * js_handlers.c; never included by the supervisor's files).
 *
 * One process runs one script on one duktape heap, on one thread. The
 * state below is the process's only instance (scr_child_get); duktape C
 * functions reach it through it. Handlers live in duktape's global stash
 * under the names in JSRT_H_*.
 */
#ifndef SCR_CHILD_H
#define SCR_CHILD_H

#include <stddef.h>
#include <stdint.h>

#include <duktape.h>
#include <jansson.h>

#include "scr.h"

#define JSRT_H_EVENT "h_event"
#define JSRT_H_FLOW "h_flow"
#define JSRT_H_INTERVAL "h_interval"
#define JSRT_H_HTTP "h_http"

typedef struct scr_child {
    duk_context *ctx;
    int fd; /* socket to the supervisor */
    scr_framer in;
    json_t *queue; /* frames that arrived while waiting for a reply */
    int eof;       /* the supervisor closed the socket */

    char *path, *name, *app, *dir; /* script file, its listed name, app, directory */
    char gateway[300];             /* "http://127.0.0.1:8008" */
    long http_timeout_ms;
    long retry_ms; /* how long a refused gateway connection is retried */
    json_t *props; /* getSystemProperty */

    size_t heap_limit, heap_used;
    int heap_refused; /* an allocation was refused since the last check */

    int has_event, has_flow, has_interval, has_http;
    json_t *event_filter;                /* array of thresholdIDs, or NULL for all */
    json_t *flow_filter;                 /* array of flow names, or NULL for all */
    uint64_t interval_ms, next_interval; /* monotonic */
    int64_t flow_cursor;                 /* last flowID seen; -2 before the first poll */
    uint64_t next_flow_poll;
    int flow_poll_missing; /* the gateway has no /flows/json (404) */

    uint64_t flows_received, flows_lost;
} scr_child;

/* The process's child state. */
scr_child *scr_child_get(void);

/* ---- talking to the supervisor (child.c) ---- */

/* Send msg (borrowed); failures are ignored (the supervisor is gone and
 * the next read sees EOF). */
void child_send(scr_child *c, const json_t *msg);
/* Send a request and wait for its {"t":"ret"} frame; other frames that
 * arrive meanwhile are queued. Returns the new "value" (json null when
 * absent), or NULL when the supervisor is gone. Takes msg. */
json_t *child_call(scr_child *c, json_t *msg);
/* Tell the supervisor a callback starts / ended (the watchdog's clock). */
void child_busy(scr_child *c, const char *what);
void child_idle(scr_child *c);
/* Tell the supervisor which handlers exist now. */
void child_handlers_changed(scr_child *c);

/* ---- the engine (jsrt.c) ---- */

/* Create the heap with the counting allocator (limit c->heap_limit) and
 * register the API. 0 or SFA_ELIMIT. */
SFA_MUST_CHECK int jsrt_open(scr_child *c);
void jsrt_close(scr_child *c);
/* Compile and run file (the script or an include) in the global scope.
 * On failure the error is left on the stack top; returns DUK_EXEC_*. */
int jsrt_eval_file(scr_child *c, const char *file);
/* Text of the error at idx: "Name: message (file:line)" into out. */
void jsrt_error_text(duk_context *ctx, duk_idx_t idx, char *out, size_t cap);
/* Call the stashed handler key with the nargs values on the stack top
 * (consumed). On success the return value is left on the stack (return
 * DUK_EXEC_SUCCESS); on error the error is logged as a SEVERE line,
 * reported to the supervisor and left on the stack. */
int jsrt_call_handler(scr_child *c, const char *key, int nargs);
/* The stashed handler exists. */
int jsrt_has_handler(scr_child *c, const char *key);
/* Write "<ts> <LEVEL>: <text>" as sFlow-RT does (no service word). */
void jsrt_log_line(int level, const char *text);
/* Push JSON text (len bytes) decoded as a JS value: 0, or SFA_EFORMAT
 * (bad JSON; undefined is pushed instead). Never throws. */
int jsrt_push_json_text(duk_context *ctx, const char *text, size_t len);
/* Push a jansson value as a JS value. */
void jsrt_push_json(duk_context *ctx, const json_t *v);
/* The JS value at idx as jansson (new; json null for undefined, functions
 * and values JSON cannot encode). Never throws. */
json_t *jsrt_to_json(duk_context *ctx, duk_idx_t idx);
/* After running code: when an allocation was refused and the code failed
 * (failed != 0), log and exit with SCR_EXIT_HEAP; otherwise forget it. */
void jsrt_check_heap(scr_child *c, int failed);

/* ---- the API (js_api.c: data and utilities; js_handlers.c) ---- */

void js_api_register(duk_context *ctx);
void js_handlers_register(duk_context *ctx);

/* One REST call to the gateway. status and body (new, NUL-terminated)
 * are set on transport success; on transport failure a JS Error is thrown
 * (does not return). */
void js_rest(duk_context *ctx, const char *method, const char *path, const char *body, int *status,
             char **resp_body);

/* Dispatch a frame from the supervisor (event, http). Takes msg. */
void js_dispatch(scr_child *c, json_t *msg);
/* Run the interval handler and the flow-record poll when due; returns
 * the ms until the next one is due (or -1 when none is registered). */
int js_timers(scr_child *c);

#endif
