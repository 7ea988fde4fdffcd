/* evt_ids.c - event ids that are strictly increasing, also across restarts.
 *
 * The state file holds one number, "reserved": every id below it may have
 * been handed out by some earlier process. An allocator hands out ids from
 * a block [next, limit) and persists the new limit (atomically, through
 * evt_state_write) BEFORE it hands out the first id of a block. So after
 * any crash - during an id, during a reservation write, between writes -
 * the file names a limit at or above every id ever handed out, and the
 * next process starts there. Unused ids of a block are skipped, never
 * reused: ids are increasing, not dense.
 *
 * Not thread-safe; loop thread only (a file write per block).
 */
#include <stdlib.h>

#include <sfa/log.h>
#include <sfa/mem.h>

#include "evt.h"

#define IDS_FIRST 1 /* the first id ever handed out */

struct evt_ids {
    char *dir;
    uint64_t block;
    uint64_t next;  /* next id to hand out */
    uint64_t limit; /* persisted: ids < limit are ours or older */
    uint64_t last;  /* last id handed out, 0 if none */
};

/* Persist limit = from + block. 0 or -errno (limit unchanged). */
static int
ids_reserve(evt_ids *ids, uint64_t from)
{
    uint64_t limit = from + ids->block;
    json_t *v = json_pack("{s:I}", "reserved", (json_int_t)limit);
    int rc = evt_state_write(ids->dir, EVT_IDS_FILE, v);

    json_decref(v);
    if (rc != 0)
        return rc;
    ids->limit = limit;
    return 0;
}

/* The persisted mark: 0 and *mark, or a negative code. */
static int
ids_load(const char *dir, uint64_t *mark)
{
    json_t *v = NULL, *r;
    int rc = evt_state_read(dir, EVT_IDS_FILE, &v);

    if (rc == -ENOENT) {
        *mark = IDS_FIRST;
        return 0;
    }
    if (rc != 0)
        return rc;
    r = json_object_get(v, "reserved");
    if (!json_is_integer(r) || json_integer_value(r) < IDS_FIRST ||
        json_integer_value(r) > INT64_MAX / 2) {
        json_decref(v);
        return SFA_EFORMAT;
    }
    *mark = (uint64_t)json_integer_value(r);
    json_decref(v);
    return 0;
}

int
evt_ids_open(evt_ids **out, const char *dir, uint64_t block)
{
    evt_ids *ids;
    uint64_t mark;
    int rc;

    if (block == 0)
        return -EINVAL;
    if ((rc = ids_load(dir, &mark)) != 0)
        return rc;
    ids = sfa_xcalloc(1, sizeof *ids);
    ids->dir = sfa_xstrdup(dir);
    ids->block = block;
    ids->next = mark;
    ids->limit = mark;
    /* Reserve now: proves the directory is writable before we serve. */
    if ((rc = ids_reserve(ids, ids->next)) != 0)
        goto fail;
    *out = ids;
    return 0;
fail:
    evt_ids_close(ids);
    return rc;
}

int
evt_ids_next(evt_ids *ids, uint64_t *id)
{
    int rc;

    if (ids->next >= ids->limit && (rc = ids_reserve(ids, ids->next)) != 0)
        return rc;
    ids->last = ids->next++;
    *id = ids->last;
    return 0;
}

uint64_t
evt_ids_last(const evt_ids *ids)
{
    return ids->last;
}

uint64_t
evt_ids_reserved(const evt_ids *ids)
{
    return ids->limit;
}

void
evt_ids_close(evt_ids *ids)
{
    if (!ids)
        return;
    free(ids->dir);
    free(ids);
}
