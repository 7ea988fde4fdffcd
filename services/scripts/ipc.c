/* ipc.c - frames between the supervisor and a script child.
 *
 * A frame is a 4-byte big-endian length followed by that many bytes of
 * compact JSON (one object). The framer accumulates a byte stream and cuts
 * frames out of it; it never trusts a length beyond SCR_FRAME_MAX. The
 * blocking writers are for the child, whose one thread may block; the
 * supervisor writes encoded frames with uv_write. No globals; any thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sfa/mem.h>

#include "scr.h"

void
scr_framer_init(scr_framer *f)
{
    memset(f, 0, sizeof *f);
}

void
scr_framer_fini(scr_framer *f)
{
    free(f->buf);
    memset(f, 0, sizeof *f);
}

void
scr_framer_feed(scr_framer *f, const void *data, size_t len)
{
    if (f->bad || len == 0)
        return;
    if (f->len + len > f->cap) {
        size_t cap = f->cap ? f->cap : 4096;
        while (cap < f->len + len)
            cap *= 2;
        f->buf = sfa_xrealloc(f->buf, cap);
        f->cap = cap;
    }
    memcpy(f->buf + f->len, data, len);
    f->len += len;
}

int
scr_framer_next(scr_framer *f, json_t **out)
{
    uint32_t n;
    json_t *v;

    if (f->bad)
        return SFA_EFORMAT;
    if (f->len < 4)
        return 0;
    n = (uint32_t)f->buf[0] << 24 | (uint32_t)f->buf[1] << 16 | (uint32_t)f->buf[2] << 8 |
        (uint32_t)f->buf[3];
    if (n > SCR_FRAME_MAX) {
        f->bad = 1;
        return SFA_EFORMAT;
    }
    if (f->len - 4 < n)
        return 0;
    v = json_loadb((const char *)f->buf + 4, n, JSON_DECODE_ANY, NULL);
    memmove(f->buf, f->buf + 4 + n, f->len - 4 - n);
    f->len -= 4 + n;
    if (!json_is_object(v)) {
        json_decref(v);
        return SFA_EFORMAT;
    }
    *out = v;
    return 1;
}

uint8_t *
scr_frame_encode(const json_t *msg, size_t *len)
{
    char *s = json_dumps(msg, JSON_COMPACT | JSON_ENCODE_ANY);
    size_t n;
    uint8_t *out;

    if (!s)
        return NULL;
    n = strlen(s);
    if (n > SCR_FRAME_MAX) {
        free(s);
        return NULL;
    }
    out = sfa_xmalloc(n + 4);
    out[0] = (uint8_t)(n >> 24);
    out[1] = (uint8_t)(n >> 16);
    out[2] = (uint8_t)(n >> 8);
    out[3] = (uint8_t)n;
    memcpy(out + 4, s, n);
    free(s);
    *len = n + 4;
    return out;
}

int
scr_write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int
scr_send(int fd, const json_t *msg)
{
    size_t len;
    uint8_t *frame = scr_frame_encode(msg, &len);
    int rc;

    if (!frame)
        return SFA_ELIMIT;
    rc = scr_write_all(fd, frame, len);
    free(frame);
    return rc;
}
