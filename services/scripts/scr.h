/* scr.h - sfa-scripts' private interfaces (never included outside
 * services/scripts and its tests).
 *
 * sfa-scripts runs sFlow-RT JavaScript applications (-Dscript.file=a.js,b.js
 * and app/<name>/scripts/NAME.js) on duktape, Debian's embeddable ES5.1 engine
 * (with parts of ES2015+). Two roles live in one binary:
 *
 *   supervisor  (super*.c, apps.c, store.c) one libuv loop: starts one child
 *               process per script, watches it (per-callback time limit, exit
 *               status), restarts it with back-off, holds the values scripts
 *               share (sharedSet/storeSet), forwards events.v1 from the bus
 *               and the gateway's HTTP requests (query.v1 surveys) to the
 *               children, and answers /scripts/json and /apps/json.
 *   child       (child.c, jsrt.c, js_*.c) `sfa-scripts --child`: one script
 *               on one duktape heap with a counting allocator (heap limit),
 *               single-threaded; the data API calls the gateway's REST API
 *               over loopback HTTP with a small blocking client (httpc.c).
 *
 * Supervisor and child talk over one stream socket (the child's fd 3) in
 * frames: a 4-byte big-endian length, then a compact JSON object whose "t"
 * names the message (ipc.c). A runaway script therefore costs only its own
 * process. Pure helpers (framing, URL and query building, the `let`
 * rewrite, HTTP response parsing) are separate so that tests can reach them.
 */
#ifndef SCR_H
#define SCR_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include <sfa/config.h>
#include <sfa/err.h>

#define SCR_SRC "scripts"         /* envelope src and survey answer id */
#define SCR_ROLE "scripts"        /* "role" in our survey answers */
#define SCR_IPC_FD 3              /* the child's end of the supervisor socket */
#define SCR_FRAME_MAX (16u << 20) /* largest IPC frame */
#define SCR_EXIT_ERROR 3          /* child: the script failed (load or top level) */
#define SCR_EXIT_HEAP 4           /* child: the heap limit was exceeded */
#define SCR_EXIT_FATAL 5          /* child: duktape fatal error */

/* ---- configuration (scr_config.c) ---- */

typedef struct scr_config {
    char *script_file;    /* script.file: comma-separated paths */
    char *appdir;         /* script.appdir: directory of apps (app/<name>/...) */
    char *store;          /* script.store: storeSet() directory */
    long timeout_ms;      /* script.timeout: per-callback time limit */
    long heap_mb;         /* script.heap: per-script heap limit, MiB */
    long http_timeout_ms; /* script.http.timeout: http() and REST calls */
    long http_port;       /* http.port: the gateway's port */
    char *http_hostname;  /* http.hostname: the gateway's bind address */
    char *bus_events;     /* bus.events: events.v1 publisher (dialled) */
    char *bus_query;      /* bus.query: the gateway's surveyor (dialled) */
    char *log_level;
    int log_level_num;
    json_t *props; /* every property as text, for getSystemProperty (new) */
} scr_config;

extern const sfa_cfg_opt scr_config_table[];

/* Load every source (sfa/config.h); app property names (an -D name whose
 * first dotted part names a directory under script.appdir) are accepted.
 * 0; SFA_EEXIT after --help/--dump-config; SFA_ECONFIG after logging. */
SFA_MUST_CHECK int scr_config_load(scr_config *cfg, int argc, char **argv);
void scr_config_free(scr_config *cfg);

/* "http://<host>:<port>" of the gateway from http.hostname/http.port: a
 * wildcard or empty bind address becomes 127.0.0.1; IPv6 is bracketed. */
void scr_gateway_url(const scr_config *cfg, char *out, size_t cap);

/* ---- IPC framing (ipc.c) ---- */

typedef struct scr_framer {
    uint8_t *buf; /* owned */
    size_t len, cap;
    int bad; /* a frame announced more than SCR_FRAME_MAX: the stream is unusable */
} scr_framer;

void scr_framer_init(scr_framer *f);
void scr_framer_fini(scr_framer *f);
/* Append received bytes (copied). */
void scr_framer_feed(scr_framer *f, const void *data, size_t len);
/* Take the next complete frame: 1 and *out (new JSON object), 0 when more
 * bytes are needed, SFA_EFORMAT when a frame is not a JSON object (it is
 * skipped) or the stream is bad (f->bad set). */
SFA_MUST_CHECK int scr_framer_next(scr_framer *f, json_t **out);
/* Encode msg (borrowed) as one frame. Returns new memory (free()) and sets
 * *len, or NULL when it does not encode or exceeds SCR_FRAME_MAX. */
uint8_t *scr_frame_encode(const json_t *msg, size_t *len);
/* Blocking: write all of buf to fd (EINTR retried). 0 or -errno. */
SFA_MUST_CHECK int scr_write_all(int fd, const void *buf, size_t len);
/* Blocking: encode msg (borrowed) and write it to fd. 0, -errno or SFA_ELIMIT. */
SFA_MUST_CHECK int scr_send(int fd, const json_t *msg);

/* ---- `let` compatibility (compat.c), pure ---- */

/* Rewrite each `let` declaration keyword of JavaScript source src (len
 * bytes) to `var` in place (same length, so line numbers are kept),
 * skipping strings, template literals, comments and regular expression
 * literals. duktape 2.7 has no block scoping; apps written for sFlow-RT's
 * ES6 engine use `let` in the function-scoped way that `var` matches.
 * Returns how many were rewritten. */
int scr_compat_let(char *src, size_t len);

/* ---- URLs, paths, queries (restpath.c), pure ---- */

typedef struct scr_buf {
    char *s; /* owned, always NUL-terminated once anything was added */
    size_t len, cap;
} scr_buf;

void scr_buf_add(scr_buf *b, const char *s, size_t n);
void scr_buf_adds(scr_buf *b, const char *s);
void scr_buf_addf(scr_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void scr_buf_free(scr_buf *b);

/* Append s percent-encoded for a path segment (unreserved and ",:;" kept)
 * or, with query 1, for a query value (unreserved kept). */
void scr_url_escape(scr_buf *b, const char *s, int query);

/* Percent-decode in[0..len) into a new string ('+' is a space when
 * plus_space). NULL when an escape is malformed or decodes to NUL. */
char *scr_url_unescape(const char *in, size_t len, int plus_space);

/* Parse a query string ("a=1&b=2&a=3", no '?') into a new object
 * {"a":["1","3"],"b":["2"]} as sFlow-RT gives req.query. Malformed pairs
 * are skipped. */
json_t *scr_query_parse(const char *qs);

/* Split the part of an app request after "<script>.js/" ("a/b/json") into
 * path segments (new array of decoded strings) and the format (new
 * string, the last segment). 0, or SFA_EFORMAT (empty, bad escape). */
SFA_MUST_CHECK int scr_path_split(const char *rest, json_t **path, char **format);

typedef struct scr_http_resp scr_http_resp;

/* ---- blocking HTTP/1.1 client (httpc.c) ---- */

typedef struct scr_url {
    char host[256]; /* without brackets */
    int port;
    char path[2048]; /* path and query, "/" when absent */
} scr_url;

/* Parse "http://host[:port][/path]" ([v6] hosts allowed). 0, or
 * SFA_EFORMAT (other schemes, bad port, too long). */
SFA_MUST_CHECK int scr_url_parse(const char *url, scr_url *out);

typedef struct scr_http_req {
    const char *method; /* "GET", "PUT", ... */
    const char *url;
    const char *ctype; /* Content-Type of body, or NULL */
    const char *body;  /* may be NULL */
    size_t body_len;
    const char *accept;         /* Accept, or NULL */
    const char *user, *pass;    /* basic authentication when user is set */
    const char *const *headers; /* extra "Name: value" lines, NULL-terminated, or NULL */
    int timeout_ms;             /* whole exchange */
    int retry_refused_ms;       /* keep retrying a refused connect this long */
} scr_http_req;

struct scr_http_resp {
    int status;
    char *ctype; /* new, or NULL */
    char *body;  /* new, NUL-terminated */
    size_t body_len;
};

/* Run one request (Connection: close). 0 and *resp filled (free with
 * scr_http_resp_free), or -ETIMEDOUT, -ECONNREFUSED, other -errno,
 * SFA_EFORMAT (bad URL or response), SFA_ELIMIT (response over 64 MiB). */
SFA_MUST_CHECK int scr_http(const scr_http_req *req, scr_http_resp *resp);
void scr_http_resp_free(scr_http_resp *resp);

/* Parse a complete response in buf (len bytes, read until the peer closed
 * or Content-Length was reached): status, Content-Type and the body
 * (Content-Length, chunked or to the end). 0, or SFA_EFORMAT / SFA_ETRUNC. */
SFA_MUST_CHECK int scr_http_parse(const char *buf, size_t len, scr_http_resp *resp);

/* How many bytes of buf make a complete response, or 0 if unknown yet
 * (headers incomplete, or body length only known at EOF). */
size_t scr_http_complete(const char *buf, size_t len);

/* Base64 of in (new string). */
char *scr_base64(const char *in, size_t len);

/* ---- applications (apps.c) ---- */

typedef struct scr_spec {
    char *path; /* file to run */
    char *name; /* key in /scripts/json: as given, or "app/<app>/scripts/<x>.js" */
    char *app;  /* app name, or "" for script.file */
    char *base; /* script file name without ".js": the {script} of app URLs */
} scr_spec;

typedef struct scr_specs {
    scr_spec *v;
    size_t n;
    json_t *apps; /* /apps/json result (new object) */
} scr_specs;

/* Collect the scripts to run: script.file entries in order, then every
 * <appdir>/<app>/scripts/NAME.js (apps and files sorted by name). 0, or
 * SFA_ECONFIG when a script.file entry cannot be read (logged). */
SFA_MUST_CHECK int scr_specs_load(scr_specs *out, const char *script_file, const char *appdir);
void scr_specs_free(scr_specs *s);

/* ---- shared and persistent values (store.c) ---- */

typedef struct scr_store scr_store;

/* dir is script.store; per-app files dir/<app>.json are read lazily. */
scr_store *scr_store_new(const char *dir); /* returns new */
void scr_store_free(scr_store *s);
/* sharedGet / sharedSet (in memory, per app). get returns new (json null when absent). */
json_t *scr_shared_get(scr_store *s, const char *app, const char *key);
void scr_shared_set(scr_store *s, const char *app, const char *key,
                    json_t *v); /* takes v; NULL or json null deletes */
/* storeGet/storeSet/storeDelete/storeKeys (persisted on every change). */
json_t *scr_store_get(scr_store *s, const char *app, const char *key); /* new */
SFA_MUST_CHECK int scr_store_set(scr_store *s, const char *app, const char *key,
                                 json_t *v);           /* takes v */
json_t *scr_store_keys(scr_store *s, const char *app); /* new array */

/* ---- the child (child.c, jsrt.c, js_api.c, js_handlers.c) ---- */

/* Run as a script child: read the init message from SCR_IPC_FD, run the
 * script and its handlers until the supervisor closes the socket or the
 * script has nothing left to do. Returns the process exit status. */
int scr_child_main(void);

/* ---- the supervisor (super.c, super_bus.c) ---- */

typedef struct scr_super scr_super;

/* Build the supervisor on loop: start every script, open the bus. 0, or a
 * negative code after logging (parts already built are closed again;
 * run the loop to let them close). cfg and argv0 are borrowed. */
SFA_MUST_CHECK int scr_super_start(scr_super **out, uv_loop_t *loop, const scr_config *cfg,
                                   const char *exe);
/* Stop every child and close everything; uv_run then returns. */
void scr_super_stop(scr_super *s);
/* After uv_run returned: free. NULL is a no-op. */
void scr_super_free(scr_super *s);

#endif
