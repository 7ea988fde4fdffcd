/* respond.c - the answering side of scatter/gather (sfa_respond_*): nng
 * respondent0 handed to a libuv loop.
 *
 * A respondent0 socket dials the surveyor(s) and keeps a fixed set of
 * contexts, each cycling receive -> held by the application -> send ->
 * receive. A received survey is queued for the loop thread, which calls
 * the application; its answer (or a drop) re-arms the context. The
 * application may answer at once or later, from the loop thread.
 *
 * Threading: nng runs the aio callbacks on its own threads (a receive may
 * complete inline in nng's pipe callback); they touch only their context
 * and the ready queue (under the mutex), then wake the loop with
 * uv_async_send. Every user callback runs on the loop thread.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/survey0/respond.h>

#include <sfa/clock.h>
#include <sfa/codec.h>
#include <sfa/log.h>
#include <sfa/mem.h>
#include <sfa/survey.h>

#include "survey_int.h"

#define RESPOND_MSG_MAX (16u << 20)  /* largest answer built by reply_json */
#define RESPOND_SEND_TIMEOUT_MS 5000 /* give up on an answer nng cannot send */

enum { RS_RECV, RS_HELD, RS_SEND, RS_DEAD };

struct sfa_respond_req {
    sfa_responder *r;
    nng_ctx ctx;
    nng_aio *aio;
    int state;             /* RS_* */
    sfa_respond_req *next; /* ready queue */
};

struct sfa_responder {
    nng_socket sock;
    uv_async_t async;
    pthread_mutex_t mtx;
    sfa_respond_req *slots;
    int nslots;
    sfa_respond_req *ready_head, *ready_tail; /* under mtx */
    sfa_respond_cb cb;
    void *arg;
    atomic_int pipes;
    atomic_ullong send_failed;
    sfa_respond_stats st; /* loop thread */
    uint64_t seq;
    uint8_t *scratch;
    size_t scratch_cap;
};

static void
respond_pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    sfa_responder *r = arg;

    (void)p;
    if (ev == NNG_PIPE_EV_ADD_POST)
        atomic_fetch_add(&r->pipes, 1);
    else if (ev == NNG_PIPE_EV_REM_POST)
        atomic_fetch_sub(&r->pipes, 1);
}

static void
respond_arm_recv(sfa_respond_req *s)
{
    s->state = RS_RECV;
    nng_aio_set_timeout(s->aio, NNG_DURATION_INFINITE);
    nng_ctx_recv(s->ctx, s->aio);
}

/* nng task thread. */
static void
respond_aio_cb(void *arg)
{
    sfa_respond_req *s = arg;
    sfa_responder *r = s->r;
    int rv = nng_aio_result(s->aio);

    if (s->state == RS_SEND && rv != 0) {
        nng_msg_free(nng_aio_get_msg(s->aio));
        nng_aio_set_msg(s->aio, NULL);
        atomic_fetch_add(&r->send_failed, 1);
    }
    if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) {
        s->state = RS_DEAD;
        return;
    }
    if (s->state == RS_RECV && rv == 0) {
        s->state = RS_HELD;
        pthread_mutex_lock(&r->mtx);
        s->next = NULL;
        if (r->ready_tail)
            r->ready_tail->next = s;
        else
            r->ready_head = s;
        r->ready_tail = s;
        pthread_mutex_unlock(&r->mtx);
        uv_async_send(&r->async);
        return;
    }
    respond_arm_recv(s); /* after a send, or a receive error worth retrying */
}

static void
respond_async_cb(uv_async_t *h)
{
    sfa_responder *r = h->data;
    sfa_respond_req *s, *next;
    nng_msg *m;

    pthread_mutex_lock(&r->mtx);
    s = r->ready_head;
    r->ready_head = r->ready_tail = NULL;
    pthread_mutex_unlock(&r->mtx);
    for (; s; s = next) {
        next = s->next;
        s->next = NULL;
        m = nng_aio_get_msg(s->aio);
        nng_aio_set_msg(s->aio, NULL);
        r->st.surveys++;
        r->cb(r, s, nng_msg_body(m), nng_msg_len(m), r->arg);
        nng_msg_free(m);
    }
}

static void
respond_free_cb(uv_handle_t *h)
{
    sfa_responder *r = h->data;

    pthread_mutex_destroy(&r->mtx);
    free(r->scratch);
    free(r->slots);
    free(r);
}

/* Open the contexts and start each receiving. */
static int
respond_start_slots(sfa_responder *r)
{
    int rv;

    for (int i = 0; i < r->nslots; i++) {
        sfa_respond_req *s = &r->slots[i];

        s->r = r;
        s->state = RS_DEAD;
        if ((rv = nng_ctx_open(&s->ctx, r->sock)) != 0)
            return sfa__survey_nng_err(rv, "cannot open context", NULL);
        if ((rv = nng_aio_alloc(&s->aio, respond_aio_cb, s)) != 0)
            return sfa__survey_nng_err(rv, "cannot allocate aio", NULL);
    }
    for (int i = 0; i < r->nslots; i++)
        respond_arm_recv(&r->slots[i]);
    return 0;
}

int
sfa_respond_open(sfa_responder **out, uv_loop_t *loop, const char *url, int concurrency,
                 sfa_respond_cb cb, void *arg)
{
    sfa_responder *r;
    nng_socket sock;
    int rv;

    if (concurrency < 1 || concurrency > 256)
        return -EINVAL;
    if ((rv = nng_respondent0_open(&sock)) != 0)
        return sfa__survey_nng_err(rv, "cannot open respondent for", url);
    r = sfa_xcalloc(1, sizeof *r);
    r->sock = sock;
    r->cb = cb;
    r->arg = arg;
    atomic_init(&r->pipes, 0);
    atomic_init(&r->send_failed, 0);
    pthread_mutex_init(&r->mtx, NULL);
    r->nslots = concurrency;
    r->slots = sfa_xcalloc((size_t)concurrency, sizeof *r->slots);
    if ((rv = uv_async_init(loop, &r->async, respond_async_cb)) != 0) {
        SFA_WARN("survey: cannot create async handle: %s", uv_strerror(rv));
        (void)nng_close(sock);
        pthread_mutex_destroy(&r->mtx);
        free(r->slots);
        free(r);
        return SFA_EBUS;
    }
    r->async.data = r;
    (void)nng_pipe_notify(sock, NNG_PIPE_EV_ADD_POST, respond_pipe_event, r);
    (void)nng_pipe_notify(sock, NNG_PIPE_EV_REM_POST, respond_pipe_event, r);
    if ((rv = respond_start_slots(r)) != 0 || (rv = sfa__survey_dial(sock, url)) != 0) {
        sfa_respond_close(r);
        return rv;
    }
    *out = r;
    return 0;
}

int
sfa_respond_add_url(sfa_responder *r, const char *url)
{
    return sfa__survey_dial(r->sock, url);
}

int
sfa_respond_reply(sfa_respond_req *req, const void *msg, size_t len)
{
    sfa_responder *r = req->r;
    nng_msg *m;

    if (nng_msg_alloc(&m, 0) != 0 || nng_msg_append(m, msg, len) != 0)
        abort(); /* out of memory is fatal (STYLE habit 7) */
    r->st.replies++;
    req->state = RS_SEND;
    nng_aio_set_msg(req->aio, m);
    nng_aio_set_timeout(req->aio, RESPOND_SEND_TIMEOUT_MS);
    nng_ctx_send(req->ctx, req->aio);
    return 0;
}

int
sfa_respond_reply_json(sfa_respond_req *req, const char *src, const json_t *body)
{
    sfa_responder *r = req->r;
    int n;

    for (;;) {
        if (r->scratch_cap == 0) {
            r->scratch_cap = 64 * 1024;
            r->scratch = sfa_xmalloc(r->scratch_cap);
        }
        n = sfa_codec_encode_json_msg(r->scratch, r->scratch_cap, SFA_TOPIC_QUERY, src, r->seq,
                                      sfa_clock_wall_ms(), body);
        if (n >= 0)
            break;
        if (r->scratch_cap >= RESPOND_MSG_MAX) {
            sfa_respond_drop(req);
            return SFA_ELIMIT;
        }
        r->scratch_cap *= 4;
        r->scratch = sfa_xrealloc(r->scratch, r->scratch_cap);
    }
    r->seq++;
    return sfa_respond_reply(req, r->scratch, (size_t)n);
}

void
sfa_respond_drop(sfa_respond_req *req)
{
    req->r->st.dropped++;
    respond_arm_recv(req);
}

void
sfa_respond_get_stats(const sfa_responder *r, sfa_respond_stats *st)
{
    int pipes = atomic_load(&((sfa_responder *)r)->pipes);

    *st = r->st;
    st->send_failed = atomic_load(&((sfa_responder *)r)->send_failed);
    st->peers = pipes > 0 ? (uint64_t)pipes : 0;
}

void
sfa_respond_close(sfa_responder *r)
{
    sfa_respond_req *s;

    if (!r)
        return;
    (void)nng_pipe_notify(r->sock, NNG_PIPE_EV_ADD_POST, NULL, NULL);
    (void)nng_pipe_notify(r->sock, NNG_PIPE_EV_REM_POST, NULL, NULL);
    /* Stop every aio first (see sfa_survey_close), then close. */
    for (int i = 0; i < r->nslots; i++)
        if (r->slots[i].aio)
            nng_aio_stop(r->slots[i].aio);
    (void)nng_close(r->sock);
    /* Surveys queued for the loop but never delivered still own a message. */
    for (s = r->ready_head; s; s = s->next) {
        nng_msg_free(nng_aio_get_msg(s->aio));
        nng_aio_set_msg(s->aio, NULL);
    }
    r->ready_head = r->ready_tail = NULL;
    for (int i = 0; i < r->nslots; i++)
        if (r->slots[i].aio)
            nng_aio_free(r->slots[i].aio);
    uv_close((uv_handle_t *)&r->async, respond_free_cb);
}
