/* logfwd.c - copy a child's output lines to the launcher's stderr.
 *
 * Children already log in sFlow-RT's shape ("...Z INFO: collector: ..."),
 * so lines are passed through unchanged. Only complete lines are written,
 * each batch with one write(2), so lines of different children and of the
 * launcher itself never interleave mid-line. A line longer than
 * LCH_LINE_MAX is cut into pieces, each ended with a newline; a last
 * partial line is completed with a newline at end of stream. Runs on the
 * loop thread; the write to stderr may block if stderr does.
 */
#include <string.h>
#include <unistd.h>

#include "launcher.h"

static void
logfwd_write(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* stderr is gone; nowhere to report it */
        p += w;
        n -= (size_t)w;
    }
}

/* Write every complete line in the buffer and keep the rest. */
static void
logfwd_emit_lines(lch_logfwd *f)
{
    char *nl = memrchr(f->buf, '\n', f->len);
    size_t n;

    if (!nl) {
        if (f->len == sizeof f->buf) { /* no newline in a full buffer: cut */
            logfwd_write(f->buf, f->len);
            logfwd_write("\n", 1);
            f->len = 0;
        }
        return;
    }
    n = (size_t)(nl - f->buf) + 1;
    logfwd_write(f->buf, n);
    memmove(f->buf, f->buf + n, f->len - n);
    f->len -= n;
}

static void
logfwd_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    lch_logfwd *f = h->data;

    buf->base = f->buf + f->len;
    buf->len = sizeof f->buf - f->len;
}

static void
logfwd_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    lch_logfwd *f = s->data;

    if (nread > 0) {
        f->len += (size_t)nread;
        logfwd_emit_lines(f);
    } else if (nread < 0) { /* UV_EOF or an error: the stream is over */
        lch_logfwd_close(f);
    }
}

void
lch_logfwd_start(lch_logfwd *f)
{
    f->len = 0;
    f->pipe.data = f;
    (void)uv_read_start((uv_stream_t *)&f->pipe, logfwd_alloc, logfwd_read);
}

static void
logfwd_closed(uv_handle_t *h)
{
    lch_logfwd *f = h->data;

    f->closed(f);
}

void
lch_logfwd_close(lch_logfwd *f)
{
    if (uv_is_closing((uv_handle_t *)&f->pipe))
        return;
    if (f->len > 0) {
        logfwd_write(f->buf, f->len);
        logfwd_write("\n", 1);
        f->len = 0;
    }
    f->pipe.data = f;
    uv_close((uv_handle_t *)&f->pipe, logfwd_closed);
}
