/* ids_test.c - event ids never repeat (services/events/evt_ids.c and
 * evt_state.c): across clean restarts, across processes killed with
 * SIGKILL at random moments (including in the middle of reservation
 * writes), with a stale temp file left by a crash, after a failed
 * reservation; a corrupt mark refuses to open.
 *
 * Files live under a private directory in the build tree (argv[1] or the
 * current directory).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "evt.h"
#include "test.h"

static char base[512];

static void
rm_rf(const char *dir)
{
    char cmd[700];

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "# could not remove %s\n", dir);
}

static void
write_file(const char *dir, const char *name, const char *text)
{
    char path[700];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void
test_fresh_and_restart(void)
{
    char dir[600];
    evt_ids *ids = NULL;
    uint64_t id = 0, prev = 0;
    int increasing = 1;

    snprintf(dir, sizeof dir, "%s/fresh/sub", base);
    rm_rf(dir);
    CHECK_OK(evt_ids_open(&ids, dir, 3), "open in a new (nested) directory");
    CHECK_EQ(evt_ids_reserved(ids), 4, "first block reserved before any id");
    for (int i = 0; i < 10; i++) {
        if (evt_ids_next(ids, &id) != 0 || id <= prev)
            increasing = 0;
        if (i == 0)
            CHECK_EQ(id, 1, "the first id is 1");
        prev = id;
    }
    CHECK(increasing, "ten ids strictly increasing across several blocks");
    CHECK_EQ(evt_ids_last(ids), prev, "last id");
    CHECK(evt_ids_reserved(ids) > prev, "the mark is always ahead of the ids");
    evt_ids_close(ids);
    ids = NULL;
    CHECK_OK(evt_ids_open(&ids, dir, 3), "reopen");
    CHECK_OK(evt_ids_next(ids, &id), "next after restart");
    CHECK(id > prev, "restart never reuses an id");
    prev = id;
    evt_ids_close(ids);
    /* A crash while writing the temp file leaves it behind: ignored. */
    write_file(dir, EVT_IDS_FILE ".tmp", "{\"reserved\": 1");
    ids = NULL;
    CHECK_OK(evt_ids_open(&ids, dir, 1000), "a stale temp file does not stop open");
    CHECK_OK(evt_ids_next(ids, &id), "next");
    CHECK(id > prev, "stale temp file: still increasing");
    evt_ids_close(ids);
}

static void
test_corrupt(void)
{
    char dir[600];
    evt_ids *ids = NULL;

    snprintf(dir, sizeof dir, "%s/corrupt", base);
    rm_rf(dir);
    mkdir(dir, 0700);
    write_file(dir, EVT_IDS_FILE, "{\"reserved\": 12");
    CHECK_ERR(evt_ids_open(&ids, dir, 10), SFA_EFORMAT, "truncated mark: refuse");
    write_file(dir, EVT_IDS_FILE, "{\"reserved\": -5}");
    CHECK_ERR(evt_ids_open(&ids, dir, 10), SFA_EFORMAT, "negative mark: refuse");
    write_file(dir, EVT_IDS_FILE, "{\"other\": 5}");
    CHECK_ERR(evt_ids_open(&ids, dir, 10), SFA_EFORMAT, "no mark: refuse");
    CHECK(ids == NULL, "nothing returned");
    CHECK(evt_ids_open(&ids, "/dev/null/x", 10) < 0, "unusable directory: error");
    CHECK_ERR(evt_ids_open(&ids, dir, 0), -EINVAL, "block 0 refused");
}

/* A reservation that cannot be written hands out nothing; once the
 * directory works again ids continue above everything given. */
static void
test_write_failure(void)
{
    char dir[600], moved[640];
    evt_ids *ids = NULL;
    uint64_t id = 0, prev = 0;
    int rc;

    snprintf(dir, sizeof dir, "%s/fail", base);
    snprintf(moved, sizeof moved, "%s.moved", dir);
    rm_rf(dir);
    rm_rf(moved);
    CHECK_OK(evt_ids_open(&ids, dir, 2), "open");
    CHECK_OK(evt_ids_next(ids, &prev), "id in the first block");
    CHECK_OK(evt_ids_next(ids, &prev), "last id of the block");
    /* Replace the directory by a file: the next reservation fails. */
    CHECK_OK(rename(dir, moved), "move the state dir away");
    write_file(base, "fail", "not a directory");
    rc = evt_ids_next(ids, &id);
    CHECK(rc < 0, "reservation failure is reported");
    CHECK_EQ(id, 0, "and no id is handed out");
    unlink(dir);
    CHECK_OK(rename(moved, dir), "directory back");
    CHECK_OK(evt_ids_next(ids, &id), "reservation works again");
    CHECK(id > prev, "ids continue increasing");
    evt_ids_close(ids);
}

/* Child: take ids for ever, writing each to fd as 8 bytes. */
static void
crash_child(const char *dir, int fd)
{
    evt_ids *ids = NULL;
    uint64_t id;

    if (evt_ids_open(&ids, dir, 5) != 0)
        _exit(3);
    for (;;) {
        if (evt_ids_next(ids, &id) != 0)
            _exit(4);
        if (write(fd, &id, sizeof id) != (ssize_t)sizeof id)
            _exit(5);
    }
}

/* Run one child until it has reported at least want ids, kill -9 it at a
 * random moment after that, and check every id it reported exceeds prev.
 * Returns the largest id seen, or 0 on a failure. */
static uint64_t
crash_round(const char *dir, uint64_t prev, int want)
{
    int fds[2], status, got = 0, ok = 1;
    uint64_t id, max = prev;
    pid_t pid;

    if (pipe(fds) != 0)
        return 0;
    pid = fork();
    if (pid == 0) {
        close(fds[0]);
        crash_child(dir, fds[1]);
    }
    close(fds[1]);
    while (got < want && read(fds[0], &id, sizeof id) == (ssize_t)sizeof id) {
        ok &= id > max;
        max = id;
        got++;
    }
    usleep((useconds_t)(rand() % 3000)); /* let it run into some reservation */
    kill(pid, SIGKILL);
    while (read(fds[0], &id, sizeof id) == (ssize_t)sizeof id) {
        ok &= id > max;
        max = id;
    }
    close(fds[0]);
    waitpid(pid, &status, 0);
    return ok && got == want && WIFSIGNALED(status) ? max : 0;
}

static void
test_crashes(void)
{
    char dir[600];
    uint64_t prev = 0, next;
    int ok = 1;

    snprintf(dir, sizeof dir, "%s/crash", base);
    rm_rf(dir);
    srand((unsigned)time(NULL));
    for (int round = 0; round < 20 && ok; round++) {
        next = crash_round(dir, prev, 1 + rand() % 12);
        ok = next > prev;
        prev = next;
    }
    CHECK(ok, "20 processes killed with SIGKILL mid-run: every id above all earlier ones");
}

int
main(int argc, char **argv)
{
    snprintf(base, sizeof base, "%s/ids_test.d", argc > 1 ? argv[1] : ".");
    rm_rf(base);
    mkdir(base, 0700);
    test_fresh_and_restart();
    test_corrupt();
    test_write_failure();
    test_crashes();
    rm_rf(base);
    return test_done();
}
