/* survey.h - scatter/gather queries over nng's survey pattern, on a libuv loop.
 *
 * Two sides (proto/CONTROL.md, "Queries"):
 *
 *   sfa_survey_*   the asking side (the gateway). A surveyor0 socket that
 *                  listens; each query runs on its own nng context, so many
 *                  run at once. A query completes as soon as every connected
 *                  respondent has answered (the surveyor counts its pipes
 *                  from nng's pipe notifications), or at its deadline with
 *                  the answers it has. nng's own surveyor would always wait
 *                  out the whole deadline; counting is what avoids that.
 *   sfa_respond_*  the answering side (aggregators, test fakes). A
 *                  respondent0 socket that dials the surveyor(s) and hands
 *                  each survey to a callback on the loop thread; the answer
 *                  may be given at once or later (sfa_respond_reply).
 *
 * Messages use the bus framing of codec.h: topic SFA_TOPIC_QUERY, NUL,
 * msgpack envelope whose body is a map ({"op": ..., args} for a survey,
 * {"op": ..., "id": ..., "result": ...} for an answer). The *_json helpers
 * do that framing; the raw calls take and give whole messages.
 *
 * Threading: every function is called from the loop thread, and every
 * callback runs on the loop thread. nng completes I/O on its own threads;
 * results are handed over through a mutex-protected queue and a uv_async_t.
 * Lifetimes: _open gives a new object; _close frees it once the loop has
 * run its close callbacks (as sfa_bus_close does).
 */
#ifndef SFA_SURVEY_H
#define SFA_SURVEY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include <sfa/err.h>

#define SFA_TOPIC_QUERY "query.v1" /* surveys and their answers */

/* ---- the asking side ---- */

typedef struct sfa_surveyor sfa_surveyor;

typedef struct sfa_survey_answer {
    const uint8_t *msg; /* borrows: one whole answer message (topic, NUL, envelope) */
    size_t len;
} sfa_survey_answer;

typedef struct sfa_survey_result {
    const sfa_survey_answer *answers; /* borrows, valid during the callback only */
    size_t nanswers;
    unsigned expected; /* respondents connected when the survey went out */
    int status; /* 0 complete; -ETIMEDOUT deadline with fewer answers; SFA_EBUS failed/closed */
    uint64_t elapsed_us; /* from sfa_survey_start to completion */
} sfa_survey_result;

/* Called once per started survey, on the loop thread. res borrows. */
typedef void (*sfa_survey_cb)(const sfa_survey_result *res, void *arg);

typedef struct sfa_survey_stats {
    uint64_t started;  /* surveys sent */
    uint64_t complete; /* every expected respondent answered */
    uint64_t timeouts; /* deadline reached with answers missing */
    uint64_t failed;   /* nng refused the survey (or the socket closed) */
    uint64_t answers;  /* answers received */
    uint64_t inflight; /* surveys not finished yet */
    uint64_t peers;    /* respondents connected now */
} sfa_survey_stats;

/* Open a surveyor and listen on url (ipc:// stale sockets are replaced, as
 * for sfa_bus). *out is set on success; 0 or SFA_EBUS (logged). */
SFA_MUST_CHECK int sfa_survey_open(sfa_surveyor **out, uv_loop_t *loop, const char *url);

/* Listen on one more URL. 0 or SFA_EBUS. */
SFA_MUST_CHECK int sfa_survey_add_url(sfa_surveyor *sv, const char *url);

/* Send msg (copied) to every connected respondent and collect answers for
 * at most timeout_ms. cb (with arg, both borrowed) is called exactly once,
 * later, from the loop thread - never from inside this call. 0, or
 * SFA_ELIMIT when too many surveys are in flight (cb is then not called). */
SFA_MUST_CHECK int sfa_survey_start(sfa_surveyor *sv, const void *msg, size_t len, int timeout_ms,
                                    sfa_survey_cb cb, void *arg);

/* sfa_survey_start with a message built from body (borrowed): topic
 * SFA_TOPIC_QUERY, envelope src (borrowed). Also SFA_ELIMIT if the body
 * does not encode into 64 KiB. */
SFA_MUST_CHECK int sfa_survey_start_json(sfa_surveyor *sv, const char *src, const json_t *body,
                                         int timeout_ms, sfa_survey_cb cb, void *arg);

/* Respondents connected now. */
unsigned sfa_survey_peers(const sfa_surveyor *sv);

void sfa_survey_get_stats(const sfa_surveyor *sv, sfa_survey_stats *st);

/* Close the socket. Surveys still in flight complete at once, inside this
 * call, with status SFA_EBUS (so their owners can release what they hold).
 * The struct is freed in the async handle's close callback. NULL is a no-op. */
void sfa_survey_close(sfa_surveyor *sv);

/* The body of a query.v1 message (a survey or an answer) as JSON. Returns
 * new (caller decrefs), or NULL when msg is not a well-formed query.v1
 * message. msg borrows. */
json_t *sfa_survey_msg_json(const uint8_t *msg, size_t len);

/* ---- reading activeflows answers without building JSON ---- */

#define SFA_FLOW_ENTRY_VALUES 16 /* "values" kept per entry; more are dropped */

/* One entry of an activeflows result (proto/CONTROL.md), read in place:
 * the strings borrow the message and are not NUL-terminated (valid UTF-8,
 * checked). */
typedef struct sfa_flow_entry {
    const char *key;
    size_t key_len;
    double value;
    const char *agent; /* NULL when absent */
    size_t agent_len;
    const char *ds; /* dataSource; NULL when absent */
    size_t ds_len;
    int64_t flow_n; /* 1 when absent */
    int nvalues;    /* -1: no "values" member */
    double values[SFA_FLOW_ENTRY_VALUES];
} sfa_flow_entry;

/* Called for each well-formed entry; e borrows the message for the call. */
typedef void (*sfa_flow_entry_cb)(const sfa_flow_entry *e, void *arg);

/* Walk the "result" array of a query.v1 answer whose "op" is op, calling
 * cb for every entry with a string key and a finite numeric value. No
 * allocation. Returns the number of entries delivered; *bad (may be NULL)
 * gains the entries skipped as malformed. SFA_EFORMAT when msg is not a
 * query.v1 answer to op with an array result. msg borrows. */
SFA_MUST_CHECK int sfa_survey_each_flow(const uint8_t *msg, size_t len, const char *op,
                                        sfa_flow_entry_cb cb, void *arg, uint64_t *bad);

/* ---- the answering side ---- */

typedef struct sfa_responder sfa_responder;
typedef struct sfa_respond_req sfa_respond_req; /* one survey awaiting its answer */

/* Called on the loop thread for each survey received. msg borrows the
 * survey for the duration of the call only (use sfa_survey_msg_json to read
 * it). The callee now holds req and must release it with exactly one of
 * sfa_respond_reply(_json) or sfa_respond_drop - during the call or later
 * from the loop thread, but before sfa_respond_close. */
typedef void (*sfa_respond_cb)(sfa_responder *r, sfa_respond_req *req, const uint8_t *msg,
                               size_t len, void *arg);

typedef struct sfa_respond_stats {
    uint64_t surveys;     /* surveys received */
    uint64_t replies;     /* answers handed to nng */
    uint64_t send_failed; /* answers nng could not deliver (survey expired, peer gone) */
    uint64_t dropped;     /* surveys released without an answer */
    uint64_t peers;       /* surveyors connected now */
} sfa_respond_stats;

/* Open a respondent that dials url (reconnecting in the background, like
 * sfa_bus subscribers) and can hold up to concurrency surveys at once
 * (1..256; more wait inside nng). cb and arg are borrowed. 0 or SFA_EBUS. */
SFA_MUST_CHECK int sfa_respond_open(sfa_responder **out, uv_loop_t *loop, const char *url,
                                    int concurrency, sfa_respond_cb cb, void *arg);

/* Dial one more surveyor. 0 or SFA_EBUS. */
SFA_MUST_CHECK int sfa_respond_add_url(sfa_responder *r, const char *url);

/* Answer req with msg (copied) and release req. 0, or SFA_EBUS when the
 * answer could not even be queued (counted; req is released either way). */
int sfa_respond_reply(sfa_respond_req *req, const void *msg, size_t len);

/* Answer with body (borrowed) framed as a query.v1 message from src
 * (borrowed). Releases req. 0, SFA_ELIMIT (body over 16 MiB) or SFA_EBUS. */
int sfa_respond_reply_json(sfa_respond_req *req, const char *src, const json_t *body);

/* Release req without answering (the surveyor sees a missing answer). */
void sfa_respond_drop(sfa_respond_req *req);

void sfa_respond_get_stats(const sfa_responder *r, sfa_respond_stats *st);

/* Close the socket; every req not yet released becomes invalid. The struct
 * is freed in the async handle's close callback. NULL is a no-op. */
void sfa_respond_close(sfa_responder *r);

#endif
