/* jsrt.c - the duktape engine of one script child.
 *
 * Owns the heap: a counting allocator enforces script.heap (an allocation
 * that would pass the limit is refused, duktape then collects garbage and
 * retries, and only when that fails the script sees a RangeError; the child
 * then stops with SCR_EXIT_HEAP so the supervisor restarts it). duktape's
 * fatal handler ends the process the same way (SCR_EXIT_FATAL). Compiles
 * files with their names so errors carry file and line, calls stashed
 * handlers in protected calls, moves values between JSON text, jansson and
 * JS, and writes the script's own log lines in sFlow-RT's shape:
 * "2026-11-29T01:00:00Z INFO: 10.4.1.2,10.4.2.2" (no service word, so the
 * lines read exactly as sFlow-RT's do). Child process, one thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sfa/log.h>
#include <sfa/mem.h>

#include "child.h"

#define JSRT_HDR 16 /* allocation header: keeps the size, preserves alignment */
#define JSRT_LINE_MAX 8192

/* ---- allocator ---- */

static void *
jsrt_alloc(void *ud, duk_size_t size)
{
    scr_child *c = ud;
    uint8_t *p;

    if (size == 0)
        return NULL;
    if (c->heap_used + size > c->heap_limit) {
        c->heap_refused = 1;
        return NULL;
    }
    p = malloc(size + JSRT_HDR);
    if (!p)
        return NULL;
    memcpy(p, &size, sizeof size);
    c->heap_used += size;
    return p + JSRT_HDR;
}

static void
jsrt_free(void *ud, void *ptr)
{
    scr_child *c = ud;
    uint8_t *p = ptr;
    size_t size;

    if (!p)
        return;
    p -= JSRT_HDR;
    memcpy(&size, p, sizeof size);
    c->heap_used -= size;
    free(p);
}

static void *
jsrt_realloc(void *ud, void *ptr, duk_size_t size)
{
    scr_child *c = ud;
    uint8_t *p = ptr, *q;
    size_t old;

    if (!p)
        return jsrt_alloc(ud, size);
    if (size == 0) {
        jsrt_free(ud, ptr);
        return NULL;
    }
    p -= JSRT_HDR;
    memcpy(&old, p, sizeof old);
    if (size > old && c->heap_used + (size - old) > c->heap_limit) {
        c->heap_refused = 1;
        return NULL;
    }
    q = realloc(p, size + JSRT_HDR);
    if (!q)
        return NULL;
    memcpy(q, &size, sizeof size);
    c->heap_used = c->heap_used - old + size;
    return q + JSRT_HDR;
}

static void
jsrt_fatal(void *ud, const char *msg)
{
    scr_child *c = ud;

    sfa_log_write(SFA_LOG_SEVERE, "%s: fatal engine error: %s", c->name,
                  msg ? msg : "(no message)");
    _exit(c->heap_refused ? SCR_EXIT_HEAP : SCR_EXIT_FATAL);
}

void
jsrt_check_heap(scr_child *c, int failed)
{
    if (!c->heap_refused)
        return;
    /* A refusal that garbage collection recovered from is harmless; one
     * that made the code fail (duktape's "alloc failed") stops the script. */
    c->heap_refused = 0;
    if (!failed)
        return;
    sfa_log_write(SFA_LOG_SEVERE, "%s: heap limit of %zu MiB exceeded; stopping", c->name,
                  c->heap_limit >> 20);
    _exit(SCR_EXIT_HEAP);
}

int
jsrt_open(scr_child *c)
{
    c->ctx = duk_create_heap(jsrt_alloc, jsrt_realloc, jsrt_free, c, jsrt_fatal);
    if (!c->ctx)
        return SFA_ELIMIT;
    js_api_register(c->ctx);
    js_handlers_register(c->ctx);
    return 0;
}

void
jsrt_close(scr_child *c)
{
    if (c->ctx)
        duk_destroy_heap(c->ctx);
    c->ctx = NULL;
}

/* ---- logging ---- */

void
jsrt_log_line(int level, const char *text)
{
    static const char *const names[] = {"SEVERE", "WARNING", "INFO", "FINE"};
    char line[JSRT_LINE_MAX];
    struct timespec ts;
    struct tm tm;
    size_t n, tl = strlen(text);

    if (level < SFA_LOG_SEVERE || level > SFA_LOG_FINE || level > sfa_log_level)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ ", &tm);
    n += (size_t)snprintf(line + n, sizeof line - n, "%s: ", names[level]);
    if (tl > sizeof line - n - 1)
        tl = sizeof line - n - 1;
    memcpy(line + n, text, tl);
    n += tl;
    line[n++] = '\n';
    if (write(STDERR_FILENO, line, n) < 0) {
        /* Nowhere left to report a failed log write. */
    }
}

/* ---- running code ---- */

static char *
jsrt_read_file(const char *file, size_t *len)
{
    FILE *f = fopen(file, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;

    if (!f)
        return NULL;
    for (;;) {
        size_t r;
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 65536;
            buf = sfa_xrealloc(buf, cap);
        }
        r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

int
jsrt_eval_file(scr_child *c, const char *file)
{
    duk_context *ctx = c->ctx;
    size_t len;
    char *src = jsrt_read_file(file, &len);
    int rc;

    if (!src) {
        duk_push_error_object(ctx, DUK_ERR_ERROR, "cannot read %s", file);
        return DUK_EXEC_ERROR;
    }
    (void)scr_compat_let(src, len);
    duk_push_string(ctx, file);
    rc = duk_pcompile_lstring_filename(ctx, 0, src, len);
    free(src);
    if (rc != 0)
        return DUK_EXEC_ERROR;
    rc = duk_pcall(ctx, 0);
    return rc;
}

void
jsrt_error_text(duk_context *ctx, duk_idx_t idx, char *out, size_t cap)
{
    idx = duk_normalize_index(ctx, idx);
    if (duk_is_error(ctx, idx)) {
        const char *file, *text;
        long line;

        duk_get_prop_string(ctx, idx, "fileName");
        duk_get_prop_string(ctx, idx, "lineNumber");
        file = duk_get_string(ctx, -2);
        line = (long)duk_get_number_default(ctx, -1, 0);
        text = duk_safe_to_string(ctx, idx);
        if (file && line > 0)
            snprintf(out, cap, "%s (%s:%ld)", text, file, line);
        else
            snprintf(out, cap, "%s", text);
        duk_pop_2(ctx);
    } else {
        snprintf(out, cap, "%s", duk_safe_to_string(ctx, idx));
    }
}

int
jsrt_has_handler(scr_child *c, const char *key)
{
    int has;

    duk_push_global_stash(c->ctx);
    has = duk_get_prop_string(c->ctx, -1, key) && duk_is_function(c->ctx, -1);
    duk_pop_2(c->ctx);
    return has;
}

/* The strings an HTTP handler throws to choose its status are control
 * flow, not errors worth a log line. */
static int
jsrt_http_signal(duk_context *ctx)
{
    static const char *const sig[] = {"not_found", "bad_request", "internal_server_error"};
    const char *s = duk_is_string(ctx, -1) ? duk_get_string(ctx, -1) : NULL;

    for (int i = 0; s && i < 3; i++)
        if (strcmp(s, sig[i]) == 0)
            return 1;
    return 0;
}

int
jsrt_call_handler(scr_child *c, const char *key, int nargs)
{
    duk_context *ctx = c->ctx;
    char err[1024];
    int rc;

    duk_push_global_stash(ctx);
    duk_get_prop_string(ctx, -1, key);
    duk_remove(ctx, -2);
    duk_insert(ctx, -1 - nargs); /* the function below its arguments */
    rc = duk_pcall(ctx, nargs);
    if (rc != DUK_EXEC_SUCCESS)
        jsrt_check_heap(c, 1);
    if (rc != DUK_EXEC_SUCCESS && !jsrt_http_signal(ctx)) {
        json_t *msg;
        jsrt_error_text(ctx, -1, err, sizeof err);
        sfa_log_write(SFA_LOG_SEVERE, "%s: %s", c->name, err);
        msg = json_pack("{s:s, s:s}", "t", "error", "text", err);
        child_send(c, msg);
        json_decref(msg);
    }
    return rc;
}

/* ---- values ---- */

static duk_ret_t
jsrt_decode_safe(duk_context *ctx, void *ud)
{
    (void)ud;
    duk_json_decode(ctx, -1);
    return 1;
}

static duk_ret_t
jsrt_encode_safe(duk_context *ctx, void *ud)
{
    (void)ud;
    duk_json_encode(ctx, -1);
    return 1;
}

int
jsrt_push_json_text(duk_context *ctx, const char *text, size_t len)
{
    duk_push_lstring(ctx, text, len);
    if (duk_safe_call(ctx, jsrt_decode_safe, NULL, 1, 1) != DUK_EXEC_SUCCESS) {
        duk_pop(ctx);
        duk_push_undefined(ctx);
        return SFA_EFORMAT;
    }
    return 0;
}

void
jsrt_push_json(duk_context *ctx, const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

    if (!s) {
        duk_push_null(ctx);
        return;
    }
    (void)jsrt_push_json_text(ctx, s, strlen(s));
    free(s);
}

json_t *
jsrt_to_json(duk_context *ctx, duk_idx_t idx)
{
    const char *s;
    json_t *v = NULL;

    duk_dup(ctx, idx);
    if (duk_safe_call(ctx, jsrt_encode_safe, NULL, 1, 1) == DUK_EXEC_SUCCESS &&
        (s = duk_get_string(ctx, -1)))
        v = json_loads(s, JSON_DECODE_ANY, NULL);
    duk_pop(ctx);
    return v ? v : json_null();
}
