/* survey.c - the asking side of scatter/gather (sfa_survey_*): nng
 * surveyor0 handed to a libuv loop.
 *
 * One surveyor0 socket; each survey runs on a pooled nng context with one
 * nng_aio that first sends, then receives the answers one by one. The
 * surveyor tracks its respondent pipes (pipe notifications) and a survey
 * finishes as soon as every pipe it was sent to has answered or gone, at
 * nng's survey deadline (NNG_ETIMEDOUT / NNG_ESTATE), or when the socket
 * closes. When a pipe goes away, surveys that already hold every answer
 * they can get are cancelled from the loop thread so they do not wait out
 * the deadline. Surveys are admitted under per-pipe flow control (below).
 * The answering side is respond.c; the activeflows reader survey_flows.c.
 *
 * Threading: nng runs the aio and pipe callbacks on its own threads. They
 * only touch a survey's own state, the pipe table and the hand-over queue,
 * under the surveyor's mutex, then wake the loop with uv_async_send.
 * Everything else, including every user callback, runs on the loop thread.
 * nng calls made while holding the mutex (nng_ctx_send, nng_ctx_recv,
 * nng_aio_cancel) never run our callbacks inline: nng dispatches those
 * completions to its task threads, and nng runs pipe callbacks without
 * holding any lock those calls need.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/survey0/survey.h>

#include <sfa/clock.h>
#include <sfa/codec.h>
#include <sfa/log.h>
#include <sfa/mem.h>
#include <sfa/survey.h>

#include "survey_int.h"

#define SURVEY_MAX_INFLIGHT 4096   /* concurrent surveys per surveyor */
#define SURVEY_MSG_MAX (64 * 1024) /* largest survey built by start_json */
/* A context is reused only this long after its survey's deadline: see
 * survey_q_get. */
#define SURVEY_REUSE_MARGIN_US 100000

/* ---- helpers shared with respond.c (survey_int.h) ---- */

int
sfa__survey_nng_err(int rv, const char *what, const char *url)
{
    SFA_WARN("survey: %s %s: %s", what, url ? url : "", nng_strerror(rv));
    return SFA_EBUS;
}

/* Is a process listening on the unix socket at path? Read from the
 * kernel's socket table (/proc/net/unix: flag 00010000 is a listening
 * socket), not by connecting: nng 1.5's listener stops accepting after a
 * peer that closes without the SP handshake, so a probe would break the
 * very process it asks about. Paths compare as given and as resolved. */
static int
survey_ipc_in_use(const char *path)
{
    char line[4200], want[PATH_MAX], got[PATH_MAX], *p;
    unsigned long flags;
    int found = 0;
    FILE *f;

    if ((f = fopen("/proc/net/unix", "r")) == NULL)
        return 0;
    if (!realpath(path, want))
        want[0] = '\0';
    while (!found && fgets(line, sizeof line, f)) {
        int off = 0;

        line[strcspn(line, "\n")] = '\0';
        /* Num RefCount Protocol Flags Type St Inode Path */
        if (sscanf(line, "%*s %*s %*s %lx %*s %*s %*s %n", &flags, &off) != 1 || off <= 0 ||
            !(flags & 0x10000UL) || line[off] == '\0')
            continue;
        p = line + off;
        found = strcmp(p, path) == 0 || (want[0] && realpath(p, got) && strcmp(got, want) == 0);
    }
    fclose(f);
    return found;
}

/* For ipc:// URLs: create missing parent directories (0700) and remove a
 * stale socket file (never a regular file, never one a live process still
 * listens on: a second gateway must not steal the first one's bus).
 * 0, or SFA_EBUS (logged) when the address is in use. */
static int
survey_ipc_prepare(const char *url)
{
    char dir[512];
    struct stat sb;
    const char *path;
    size_t n;

    if (strncmp(url, "ipc://", 6) != 0)
        return 0;
    path = url + 6;
    n = strlen(path);
    if (n >= sizeof dir)
        return 0;
    memcpy(dir, path, n + 1);
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        (void)mkdir(dir, 0700); /* nng_listen reports a real failure */
        *p = '/';
    }
    if (lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode)) {
        if (survey_ipc_in_use(path)) {
            SFA_WARN("survey: cannot listen on %s: another process is listening there", url);
            return SFA_EBUS;
        }
        (void)unlink(path);
    }
    return 0;
}

int
sfa__survey_dial(nng_socket sock, const char *url)
{
    nng_dialer d;
    int rv;

    if ((rv = nng_dialer_create(&d, sock, url)) != 0)
        return sfa__survey_nng_err(rv, "bad address", url);
    (void)nng_dialer_set_ms(d, NNG_OPT_RECONNMINT, SFA__SURVEY_RECONN_MIN_MS);
    (void)nng_dialer_set_ms(d, NNG_OPT_RECONNMAXT, SFA__SURVEY_RECONN_MAX_MS);
    if ((rv = nng_dialer_start(d, NNG_FLAG_NONBLOCK)) != 0) {
        (void)nng_dialer_close(d);
        return sfa__survey_nng_err(rv, "cannot dial", url);
    }
    return 0;
}

int
sfa__survey_listen(nng_socket sock, const char *url)
{
    int rv;

    if ((rv = survey_ipc_prepare(url)) != 0)
        return rv;
    if ((rv = nng_listen(sock, url, NULL, 0)) != 0)
        return sfa__survey_nng_err(rv, "cannot listen on", url);
    return 0;
}

json_t *
sfa_survey_msg_json(const uint8_t *msg, size_t len)
{
    sfa_envelope env;

    if (sfa_codec_parse(msg, len, &env) != 0)
        return NULL;
    if (env.topic_len != strlen(SFA_TOPIC_QUERY) ||
        memcmp(env.topic, SFA_TOPIC_QUERY, env.topic_len) != 0)
        return NULL;
    return sfa_codec_body_json(&env);
}

/* ---- asking side ---- */

/* Flow control. nng's surveyor keeps a short send queue per pipe (8
 * messages in 1.5) and silently skips a pipe whose queue is full, so a
 * burst of surveys would reach a busy respondent only in part. The
 * surveyor therefore tracks, per respondent pipe, the surveys it has not
 * answered yet (which bounds what is still queued for it) and admits a
 * survey only while every pipe has fewer than SURVEY_PIPE_WINDOW of them;
 * the rest wait in a FIFO on the loop thread, keeping their deadline. A
 * pipe that is connected but has answered nothing for SURVEY_STALL_MS
 * (a stopped process) no longer holds the others back: its queue may
 * overflow, but it would not have answered in time anyway. */
#define SURVEY_PIPE_WINDOW 8
#define SURVEY_STALL_US (200 * 1000)
#define SURVEY_TICK_MS 20 /* queued surveys: deadline and stall checks */

enum { SQ_IDLE, SQ_QUEUED, SQ_SEND, SQ_RECV, SQ_DONE };

typedef struct survey_pipe {
    uint32_t id;
    int unanswered;          /* in-flight surveys sent to it, not answered */
    uint64_t last_answer_us; /* or when it connected */
} survey_pipe;

typedef struct survey_q survey_q;
struct survey_q {
    sfa_surveyor *sv;
    nng_ctx ctx;
    nng_aio *aio;
    int state;      /* SQ_*; under sv->mtx once sent */
    int cancelling; /* the loop asked nng to end the receive early */
    int status;
    uint32_t *snap; /* pipes connected when sent (the survey went to them) */
    uint8_t *got;   /* ... and which of them answered */
    size_t nsnap, snapcap;
    nng_msg *out;   /* the survey while queued */
    nng_msg **msgs; /* answers so far */
    sfa_survey_answer *answers;
    size_t nmsgs, cap;
    sfa_survey_cb cb;
    void *arg;
    uint64_t t0_us, deadline_us;
    uint64_t reuse_us;     /* pooled: not before this (survey_q_get) */
    survey_q *prev, *next; /* in-flight list (doubly); queue, done and free lists */
    survey_q *all_next;    /* every q ever made, for close */
};

struct sfa_surveyor {
    nng_socket sock;
    uv_async_t async;
    uv_timer_t tick; /* runs while surveys are queued */
    pthread_mutex_t mtx;
    survey_pipe *pipes; /* under mtx */
    size_t npipes, pipecap;
    atomic_int pipes_lost;             /* a pipe went away: re-check in-flight surveys */
    atomic_int queued;                 /* surveys waiting for admission */
    survey_q *inflight;                /* under mtx */
    survey_q *done_head, *done_tail;   /* under mtx */
    survey_q *queue_head, *queue_tail; /* loop thread */
    survey_q *free_list;               /* loop thread */
    survey_q *all;                     /* loop thread */
    size_t ninflight;                  /* loop thread: started, not yet delivered */
    sfa_survey_stats st;               /* loop thread */
    uint64_t seq;
    uint8_t *scratch; /* SURVEY_MSG_MAX bytes for start_json */
    int closing;
    int handles; /* open libuv handles; the struct goes with the last */
};

static survey_pipe *
survey_pipe_find(sfa_surveyor *sv, uint32_t id)
{
    for (size_t i = 0; i < sv->npipes; i++)
        if (sv->pipes[i].id == id)
            return &sv->pipes[i];
    return NULL;
}

/* nng thread. Takes only our own mutex: nng runs pipe callbacks without
 * holding any lock that our nng calls (made under this mutex) need. */
static void
survey_pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    sfa_surveyor *sv = arg;
    uint32_t id = (uint32_t)nng_pipe_id(p);
    survey_pipe *sp;

    pthread_mutex_lock(&sv->mtx);
    if (ev == NNG_PIPE_EV_ADD_POST) {
        if (sv->npipes == sv->pipecap) {
            sv->pipecap = sv->pipecap ? sv->pipecap * 2 : 8;
            sv->pipes = sfa_xrealloc(sv->pipes, sv->pipecap * sizeof *sv->pipes);
        }
        sv->pipes[sv->npipes].id = id;
        sv->pipes[sv->npipes].unanswered = 0;
        sv->pipes[sv->npipes].last_answer_us = sfa_clock_us();
        sv->npipes++;
    } else if (ev == NNG_PIPE_EV_REM_POST && (sp = survey_pipe_find(sv, id)) != NULL) {
        *sp = sv->pipes[--sv->npipes];
    }
    pthread_mutex_unlock(&sv->mtx);
    if (ev == NNG_PIPE_EV_REM_POST) {
        atomic_store(&sv->pipes_lost, 1);
        uv_async_send(&sv->async);
    }
}

/* Has every pipe q was sent to either answered or gone? (mtx held) */
static int
survey_complete_locked(sfa_surveyor *sv, const survey_q *q)
{
    for (size_t i = 0; i < q->nsnap; i++)
        if (!q->got[i] && survey_pipe_find(sv, q->snap[i]))
            return 0;
    return 1;
}

static void
survey_list_remove(sfa_surveyor *sv, survey_q *q)
{
    if (q->prev)
        q->prev->next = q->next;
    else
        sv->inflight = q->next;
    if (q->next)
        q->next->prev = q->prev;
    q->prev = q->next = NULL;
}

/* Move q from the in-flight list to the done queue, releasing its claim on
 * the pipes that did not answer (mtx held). */
static void
survey_finish_locked(sfa_surveyor *sv, survey_q *q, int status)
{
    survey_pipe *sp;

    for (size_t i = 0; i < q->nsnap; i++)
        if (!q->got[i] && (sp = survey_pipe_find(sv, q->snap[i])) != NULL)
            sp->unanswered--;
    q->status = status;
    q->state = SQ_DONE;
    survey_list_remove(sv, q);
    if (sv->done_tail)
        sv->done_tail->next = q;
    else
        sv->done_head = q;
    sv->done_tail = q;
}

static void
survey_keep_answer(survey_q *q, nng_msg *m)
{
    if (q->nmsgs == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 8;
        q->msgs = sfa_xrealloc(q->msgs, q->cap * sizeof *q->msgs);
        q->answers = sfa_xrealloc(q->answers, q->cap * sizeof *q->answers);
    }
    q->msgs[q->nmsgs++] = m;
}

/* An answer m arrived for q (mtx held): keep it unless its pipe already
 * answered, and credit the pipe. Returns 1 when the queue may move. */
static int
survey_answer_locked(sfa_surveyor *sv, survey_q *q, nng_msg *m)
{
    uint32_t id = (uint32_t)nng_pipe_id(nng_msg_get_pipe(m));
    survey_pipe *sp;

    for (size_t i = 0; i < q->nsnap; i++) {
        if (q->snap[i] != id)
            continue;
        if (q->got[i]) {
            nng_msg_free(m); /* a second answer from one respondent */
            return 0;
        }
        q->got[i] = 1;
        survey_keep_answer(q, m);
        if ((sp = survey_pipe_find(sv, id)) != NULL) {
            sp->unanswered--;
            sp->last_answer_us = sfa_clock_us();
        }
        return atomic_load(&sv->queued) > 0;
    }
    survey_keep_answer(q, m); /* from a pipe that connected as it was sent */
    return 0;
}

/* What a completed send or receive means for q (mtx held). Returns 1 when
 * q is finished, with *status set; 0 to keep receiving. */
static int
survey_step_locked(sfa_surveyor *sv, survey_q *q, int rv, int *status, int *wake)
{
    *status = 0;
    if (q->state == SQ_SEND) {
        if (rv != 0) {
            nng_msg_free(nng_aio_get_msg(q->aio));
            nng_aio_set_msg(q->aio, NULL);
            *status = SFA_EBUS;
            return 1;
        }
        q->state = SQ_RECV;
    } else if (rv == 0) {
        *wake |= survey_answer_locked(sv, q, nng_aio_get_msg(q->aio));
        nng_aio_set_msg(q->aio, NULL);
    } else if (rv == NNG_ETIMEDOUT || rv == NNG_ESTATE) {
        *status = -ETIMEDOUT; /* ESTATE: the deadline passed before the receive */
        return 1;
    } else if (rv == NNG_ECANCELED && q->cancelling) {
        return 1; /* a pipe went away and the rest have answered */
    } else {
        *status = SFA_EBUS;
        return 1;
    }
    return survey_complete_locked(sv, q);
}

/* nng task thread: a send or a receive of q finished. */
static void
survey_aio_cb(void *arg)
{
    survey_q *q = arg;
    sfa_surveyor *sv = q->sv;
    int rv = nng_aio_result(q->aio);
    int finish, status, wake = 0;

    pthread_mutex_lock(&sv->mtx);
    if (q->state != SQ_SEND && q->state != SQ_RECV) {
        pthread_mutex_unlock(&sv->mtx);
        return; /* stopped during close: the loop thread finishes q */
    }
    finish = survey_step_locked(sv, q, rv, &status, &wake);
    if (finish) {
        survey_finish_locked(sv, q, status);
        wake = 1;
    } else {
        nng_aio_set_timeout(q->aio, NNG_DURATION_DEFAULT);
        nng_ctx_recv(q->ctx, q->aio); /* completes on a task thread, never inline */
    }
    pthread_mutex_unlock(&sv->mtx);
    if (wake)
        uv_async_send(&sv->async);
}

/* Loop thread: hand q's answers to its owner and put q back in the pool. */
static void
survey_deliver(sfa_surveyor *sv, survey_q *q)
{
    sfa_survey_result res;

    for (size_t i = 0; i < q->nmsgs; i++) {
        q->answers[i].msg = nng_msg_body(q->msgs[i]);
        q->answers[i].len = nng_msg_len(q->msgs[i]);
    }
    res.answers = q->answers;
    res.nanswers = q->nmsgs;
    res.expected = (unsigned)q->nsnap;
    res.status = q->status;
    res.elapsed_us = sfa_clock_us() - q->t0_us;
    sv->st.answers += q->nmsgs;
    if (q->status == 0)
        sv->st.complete++;
    else if (q->status == -ETIMEDOUT)
        sv->st.timeouts++;
    else
        sv->st.failed++;
    sv->ninflight--;
    q->cb(&res, q->arg);
    for (size_t i = 0; i < q->nmsgs; i++)
        nng_msg_free(q->msgs[i]);
    q->nmsgs = 0;
    q->nsnap = 0;
    q->state = SQ_IDLE;
    q->cb = NULL;
    q->reuse_us = q->deadline_us + SURVEY_REUSE_MARGIN_US;
    q->next = sv->free_list;
    sv->free_list = q;
}

/* Loop thread, mtx held: cancel receives that already hold every answer
 * the remaining pipes can give. */
static void
survey_recheck_locked(sfa_surveyor *sv)
{
    for (survey_q *q = sv->inflight; q; q = q->next) {
        if (q->state != SQ_RECV || q->cancelling || !survey_complete_locked(sv, q))
            continue;
        q->cancelling = 1;
        nng_aio_cancel(q->aio); /* completes on a task thread */
    }
}

/* May another survey go out now? (mtx held) */
static int
survey_admit_locked(const sfa_surveyor *sv, uint64_t now)
{
    for (size_t i = 0; i < sv->npipes; i++) {
        const survey_pipe *sp = &sv->pipes[i];

        if (sp->unanswered >= SURVEY_PIPE_WINDOW && now - sp->last_answer_us < SURVEY_STALL_US)
            return 0;
    }
    return 1;
}

/* Send q now (mtx held): record the pipes it goes to. */
static void
survey_send_locked(sfa_surveyor *sv, survey_q *q, uint64_t now)
{
    int64_t left_ms = q->deadline_us > now ? (int64_t)((q->deadline_us - now) / 1000) : 0;

    (void)nng_ctx_set_ms(q->ctx, NNG_OPT_SURVEYOR_SURVEYTIME,
                         left_ms > 0 ? (nng_duration)left_ms : 1);
    if (sv->npipes > q->snapcap) {
        q->snapcap = sv->npipes;
        q->snap = sfa_xrealloc(q->snap, q->snapcap * sizeof *q->snap);
        q->got = sfa_xrealloc(q->got, q->snapcap);
    }
    q->nsnap = sv->npipes;
    for (size_t i = 0; i < sv->npipes; i++) {
        q->snap[i] = sv->pipes[i].id;
        q->got[i] = 0;
        sv->pipes[i].unanswered++;
    }
    q->state = SQ_SEND;
    q->prev = NULL;
    q->next = sv->inflight;
    if (sv->inflight)
        sv->inflight->prev = q;
    sv->inflight = q;
    nng_aio_set_msg(q->aio, q->out);
    q->out = NULL;
    nng_aio_set_timeout(q->aio, NNG_DURATION_DEFAULT);
    nng_ctx_send(q->ctx, q->aio);
}

static void survey_tick_cb(uv_timer_t *t);

/* Loop thread: send queued surveys while they are admitted. */
static void
survey_pump(sfa_surveyor *sv)
{
    survey_q *q;
    uint64_t now;

    while ((q = sv->queue_head) != NULL) {
        now = sfa_clock_us();
        pthread_mutex_lock(&sv->mtx);
        if (!survey_admit_locked(sv, now)) {
            pthread_mutex_unlock(&sv->mtx);
            break;
        }
        sv->queue_head = q->next;
        if (!sv->queue_head)
            sv->queue_tail = NULL;
        atomic_fetch_sub(&sv->queued, 1);
        survey_send_locked(sv, q, now);
        pthread_mutex_unlock(&sv->mtx);
    }
    if (sv->queue_head && !sv->closing && !uv_is_active((uv_handle_t *)&sv->tick))
        (void)uv_timer_start(&sv->tick, survey_tick_cb, SURVEY_TICK_MS, SURVEY_TICK_MS);
}

static void
survey_async_cb(uv_async_t *h)
{
    sfa_surveyor *sv = h->data;
    survey_q *q, *next;

    pthread_mutex_lock(&sv->mtx);
    if (atomic_exchange(&sv->pipes_lost, 0))
        survey_recheck_locked(sv);
    q = sv->done_head;
    sv->done_head = sv->done_tail = NULL;
    pthread_mutex_unlock(&sv->mtx);
    for (; q; q = next) {
        next = q->next;
        q->next = NULL;
        survey_deliver(sv, q);
    }
    if (!sv->closing)
        survey_pump(sv);
}

/* Loop thread, every SURVEY_TICK_MS while surveys are queued: queued
 * surveys whose deadline passed finish unsent; a pipe may have stalled
 * long enough to stop holding the queue. */
static void
survey_tick_cb(uv_timer_t *t)
{
    sfa_surveyor *sv = t->data;
    survey_q *q, **pp = &sv->queue_head, *expired = NULL, **tail = &expired;
    uint64_t now = sfa_clock_us();

    sv->queue_tail = NULL;
    while ((q = *pp) != NULL) {
        if (q->deadline_us <= now) {
            *pp = q->next;
            q->next = NULL;
            *tail = q;
            tail = &q->next;
            atomic_fetch_sub(&sv->queued, 1);
        } else {
            sv->queue_tail = q;
            pp = &q->next;
        }
    }
    for (; expired; expired = q) {
        q = expired->next;
        expired->next = NULL;
        nng_msg_free(expired->out);
        expired->out = NULL;
        expired->status = -ETIMEDOUT;
        survey_deliver(sv, expired);
    }
    survey_pump(sv);
    if (!sv->queue_head)
        uv_timer_stop(t);
}

static void
survey_close_cb(uv_handle_t *h)
{
    sfa_surveyor *sv = h->data;

    if (--sv->handles > 0)
        return;
    pthread_mutex_destroy(&sv->mtx);
    free(sv->pipes);
    free(sv->scratch);
    free(sv);
}

int
sfa_survey_open(sfa_surveyor **out, uv_loop_t *loop, const char *url)
{
    sfa_surveyor *sv;
    nng_socket sock;
    int rv;

    if ((rv = nng_surveyor0_open(&sock)) != 0)
        return sfa__survey_nng_err(rv, "cannot open surveyor for", url);
    sv = sfa_xcalloc(1, sizeof *sv);
    sv->sock = sock;
    atomic_init(&sv->pipes_lost, 0);
    atomic_init(&sv->queued, 0);
    pthread_mutex_init(&sv->mtx, NULL);
    sv->scratch = sfa_xmalloc(SURVEY_MSG_MAX);
    if ((rv = uv_async_init(loop, &sv->async, survey_async_cb)) != 0) {
        SFA_WARN("survey: cannot create async handle: %s", uv_strerror(rv));
        (void)nng_close(sock);
        pthread_mutex_destroy(&sv->mtx);
        free(sv->scratch);
        free(sv);
        return SFA_EBUS;
    }
    sv->async.data = sv;
    (void)uv_timer_init(loop, &sv->tick);
    sv->tick.data = sv;
    sv->handles = 2;
    (void)nng_pipe_notify(sock, NNG_PIPE_EV_ADD_POST, survey_pipe_event, sv);
    (void)nng_pipe_notify(sock, NNG_PIPE_EV_REM_POST, survey_pipe_event, sv);
    if ((rv = sfa__survey_listen(sock, url)) != 0) {
        sfa_survey_close(sv);
        return rv;
    }
    *out = sv;
    return 0;
}

int
sfa_survey_add_url(sfa_surveyor *sv, const char *url)
{
    return sfa__survey_listen(sv->sock, url);
}

/* A pooled context whose last survey's deadline has passed, or a new one.
 * NULL (logged) if nng refuses. nng 1.5's surveyor arms a timer for every
 * survey that fires at its deadline even when all answers came early; a
 * send on the same context while that timer's callback runs deadlocks
 * (nng_ctx_send holds the socket lock and waits for the callback, which
 * waits for the lock). Periodic surveys whose period equals their
 * timeout would hit that window systematically, so a context rests until
 * its timer has fired. */
static survey_q *
survey_q_get(sfa_surveyor *sv)
{
    survey_q **pp = &sv->free_list, *q;
    uint64_t now = sfa_clock_us();
    int rv;

    for (; (q = *pp) != NULL; pp = &q->next) {
        if (q->reuse_us <= now) {
            *pp = q->next;
            q->next = NULL;
            return q;
        }
    }
    q = sfa_xcalloc(1, sizeof *q);
    q->sv = sv;
    if ((rv = nng_ctx_open(&q->ctx, sv->sock)) != 0) {
        (void)sfa__survey_nng_err(rv, "cannot open context", NULL);
        free(q);
        return NULL;
    }
    if ((rv = nng_aio_alloc(&q->aio, survey_aio_cb, q)) != 0) {
        (void)sfa__survey_nng_err(rv, "cannot allocate aio", NULL);
        (void)nng_ctx_close(q->ctx);
        free(q);
        return NULL;
    }
    q->all_next = sv->all;
    sv->all = q;
    return q;
}

int
sfa_survey_start(sfa_surveyor *sv, const void *msg, size_t len, int timeout_ms, sfa_survey_cb cb,
                 void *arg)
{
    survey_q *q;

    if (sv->closing || sv->ninflight >= SURVEY_MAX_INFLIGHT)
        return SFA_ELIMIT;
    if ((q = survey_q_get(sv)) == NULL)
        return SFA_EBUS;
    if (nng_msg_alloc(&q->out, 0) != 0 || nng_msg_append(q->out, msg, len) != 0)
        abort(); /* out of memory is fatal (STYLE habit 7) */
    q->cb = cb;
    q->arg = arg;
    q->status = 0;
    q->cancelling = 0;
    q->nsnap = 0;
    q->t0_us = sfa_clock_us();
    q->deadline_us = q->t0_us + (uint64_t)(timeout_ms > 0 ? timeout_ms : 1) * 1000;
    q->state = SQ_QUEUED;
    q->next = NULL;
    if (sv->queue_tail)
        sv->queue_tail->next = q;
    else
        sv->queue_head = q;
    sv->queue_tail = q;
    atomic_fetch_add(&sv->queued, 1);
    sv->ninflight++;
    sv->st.started++;
    survey_pump(sv); /* sends, never completes anything: no callback from here */
    return 0;
}

int
sfa_survey_start_json(sfa_surveyor *sv, const char *src, const json_t *body, int timeout_ms,
                      sfa_survey_cb cb, void *arg)
{
    int n = sfa_codec_encode_json_msg(sv->scratch, SURVEY_MSG_MAX, SFA_TOPIC_QUERY, src, sv->seq++,
                                      sfa_clock_wall_ms(), body);

    if (n < 0)
        return SFA_ELIMIT;
    return sfa_survey_start(sv, sv->scratch, (size_t)n, timeout_ms, cb, arg);
}

unsigned
sfa_survey_peers(const sfa_surveyor *sv)
{
    sfa_surveyor *m = (sfa_surveyor *)sv; /* the mutex, not the data, changes */
    size_t n;

    pthread_mutex_lock(&m->mtx);
    n = m->npipes;
    pthread_mutex_unlock(&m->mtx);
    return (unsigned)n;
}

void
sfa_survey_get_stats(const sfa_surveyor *sv, sfa_survey_stats *st)
{
    *st = sv->st;
    st->inflight = sv->ninflight;
    st->peers = sfa_survey_peers(sv);
}

void
sfa_survey_close(sfa_surveyor *sv)
{
    survey_q *q, *next;

    if (!sv)
        return;
    sv->closing = 1;
    (void)nng_pipe_notify(sv->sock, NNG_PIPE_EV_ADD_POST, NULL, NULL);
    (void)nng_pipe_notify(sv->sock, NNG_PIPE_EV_REM_POST, NULL, NULL);
    /* Stop every aio before closing the socket: after nng_aio_stop no
     * callback runs or will run, so nothing re-arms an operation while the
     * socket is being torn down (nng 1.5 can hang in nng_close otherwise). */
    for (q = sv->all; q; q = q->all_next)
        nng_aio_stop(q->aio);
    (void)nng_close(sv->sock);
    /* Finished surveys first, in order, then the ones nng abandoned, then
     * the ones that never left the queue. */
    survey_async_cb(&sv->async);
    while ((q = sv->inflight) != NULL) {
        survey_list_remove(sv, q);
        q->status = SFA_EBUS;
        survey_deliver(sv, q);
    }
    while ((q = sv->queue_head) != NULL) {
        sv->queue_head = q->next;
        q->next = NULL;
        nng_msg_free(q->out);
        q->out = NULL;
        q->status = SFA_EBUS;
        survey_deliver(sv, q);
    }
    sv->queue_tail = NULL;
    for (q = sv->all; q; q = next) {
        next = q->all_next;
        nng_aio_free(q->aio);
        free(q->msgs);
        free(q->answers);
        free(q->snap);
        free(q->got);
        free(q);
    }
    uv_close((uv_handle_t *)&sv->tick, survey_close_cb);
    uv_close((uv_handle_t *)&sv->async, survey_close_cb);
}
