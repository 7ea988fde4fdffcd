/* evt_state.c - small JSON files in the state directory (sfa.state),
 * written so that a crash at any moment leaves either the old or the new
 * content, never a mix: write dir/name.tmp, fsync it, rename it over
 * dir/name, fsync the directory. A stale .tmp left by a crash is simply
 * overwritten by the next write and never read.
 *
 * Used for the event id high-water mark (evt_ids.c) and the threshold
 * cache (events.c). Blocking file I/O on the loop thread is acceptable
 * here: writes happen once per id block and once per threshold change.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sfa/mem.h>

#include "evt.h"

#define STATE_PATH_MAX 1024

/* mkdir -p dir (mode 0700 for what it creates). 0 or -errno. */
static int
state_mkdirs(const char *dir)
{
    char buf[STATE_PATH_MAX];
    size_t n = strlen(dir);

    if (n == 0 || n >= sizeof buf)
        return -ENAMETOOLONG;
    memcpy(buf, dir, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, 0700) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static int
state_path(char *out, size_t cap, const char *dir, const char *name, const char *suffix)
{
    int n = snprintf(out, cap, "%s/%s%s", dir, name, suffix);

    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* Write all of buf to fd. 0 or -errno. */
static int
state_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static int
state_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

    if (fd < 0)
        return -errno;
    if (fsync(fd) < 0)
        rc = -errno;
    close(fd);
    return rc;
}

int
evt_state_write(const char *dir, const char *name, const json_t *value)
{
    char path[STATE_PATH_MAX], tmp[STATE_PATH_MAX];
    char *text = NULL;
    int fd = -1, rc;

    if ((rc = state_mkdirs(dir)) != 0 || (rc = state_path(path, sizeof path, dir, name, "")) != 0 ||
        (rc = state_path(tmp, sizeof tmp, dir, name, ".tmp")) != 0)
        return rc;
    text = json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text) {
        rc = -ENOMEM;
        goto fail;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = -errno;
        goto fail;
    }
    if ((rc = state_write_all(fd, text, strlen(text))) != 0 ||
        (rc = state_write_all(fd, "\n", 1)) != 0)
        goto fail;
    if (fsync(fd) < 0) {
        rc = -errno;
        goto fail;
    }
    close(fd);
    fd = -1;
    if (rename(tmp, path) < 0) {
        rc = -errno;
        goto fail;
    }
    free(text);
    /* The rename is durable only once the directory entry is. */
    return state_fsync_dir(dir);

fail:
    if (fd >= 0)
        close(fd);
    (void)unlink(tmp);
    free(text);
    return rc;
}

int
evt_state_read(const char *dir, const char *name, json_t **out)
{
    char path[STATE_PATH_MAX];
    json_error_t jerr;
    json_t *v;
    int rc;

    if ((rc = state_path(path, sizeof path, dir, name, "")) != 0)
        return rc;
    if (access(path, F_OK) < 0)
        return -errno;
    v = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!v)
        return access(path, R_OK) < 0 ? -errno : SFA_EFORMAT;
    *out = v;
    return 0;
}
