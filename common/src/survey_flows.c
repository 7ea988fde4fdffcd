/* survey_flows.c - read the entries of an activeflows answer in place
 * (sfa_survey_each_flow), without building a JSON tree.
 *
 * The gateway merges thousands of entries per second from several
 * aggregators; decoding each into jansson objects would make malloc the
 * busiest function in the process. This reader walks the msgpack body with
 * the bounded cursor of codec_int.h: no allocation, strings borrow the
 * message, every length checked before use, malformed entries skipped and
 * counted. Member order does not matter ("result" may come before "op").
 * Pure and thread-safe.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <sfa/codec.h>
#include <sfa/survey.h>

#include "codec_int.h"

/* A msgpack number (any integer or float) as a double; 0 if it is one. */
static int
survey_mp_number(const sfa__mpv *v, double *out)
{
    if (v->kind == SFA__MP_UINT)
        *out = (double)v->v.u;
    else if (v->kind == SFA__MP_INT)
        *out = (double)v->v.i;
    else if (v->kind == SFA__MP_FLOAT)
        *out = v->v.d;
    else
        return -1;
    return 0;
}

/* A msgpack str as (pointer, length) if it is valid UTF-8. */
static int
survey_mp_text(const sfa__mpv *v, const char **p, size_t *n)
{
    if (v->kind != SFA__MP_STR || !sfa__utf8_valid(v->p, v->n))
        return -1;
    *p = (const char *)v->p;
    *n = v->n;
    return 0;
}

static int
survey_entry_values(sfa__mp *m, uint32_t n, sfa_flow_entry *e)
{
    const uint8_t *at;
    sfa__mpv v;
    double d;

    e->nvalues = 0;
    for (uint32_t i = 0; i < n; i++) {
        at = m->p;
        if (sfa__mp_read(m, &v))
            return m->err;
        if (v.kind == SFA__MP_ARRAY || v.kind == SFA__MP_MAP) {
            m->p = at; /* not a number: skip the whole thing */
            if (sfa__mp_skip(m))
                return m->err;
            d = 0;
        } else if (survey_mp_number(&v, &d) != 0) {
            d = 0;
        }
        if (e->nvalues < SFA_FLOW_ENTRY_VALUES)
            e->values[e->nvalues++] = d;
    }
    return 0;
}

/* Read one entry map (its header already read: n pairs). Returns 0 and
 * *ok = 1 for a usable entry; the cursor's error for malformed msgpack. */
static int
survey_entry(sfa__mp *m, uint32_t n, sfa_flow_entry *e, int *ok)
{
    int have_key = 0, have_value = 0;
    sfa__mpv k, v;
    const uint8_t *at;

    memset(e, 0, sizeof *e);
    e->flow_n = 1;
    e->nvalues = -1;
    for (uint32_t i = 0; i < n; i++) {
        if (sfa__mp_expect(m, &k, SFA__MP_STR))
            return m->err;
        at = m->p;
        if (sfa__mp_read(m, &v))
            return m->err;
        if (SFA__KEY_IS(&k, "key"))
            have_key = survey_mp_text(&v, &e->key, &e->key_len) == 0;
        else if (SFA__KEY_IS(&k, "value"))
            have_value = survey_mp_number(&v, &e->value) == 0 && isfinite(e->value);
        else if (SFA__KEY_IS(&k, "agent") && survey_mp_text(&v, &e->agent, &e->agent_len) != 0)
            e->agent = NULL;
        else if (SFA__KEY_IS(&k, "dataSource") && survey_mp_text(&v, &e->ds, &e->ds_len) != 0)
            e->ds = NULL;
        else if (SFA__KEY_IS(&k, "flowN") && (v.kind == SFA__MP_UINT || v.kind == SFA__MP_INT))
            e->flow_n =
                v.kind == SFA__MP_UINT ? (int64_t)(v.v.u > INT32_MAX ? INT32_MAX : v.v.u) : 0;
        if (v.kind == SFA__MP_ARRAY && SFA__KEY_IS(&k, "values")) {
            if (survey_entry_values(m, v.n, e))
                return m->err;
        } else if (v.kind == SFA__MP_ARRAY || v.kind == SFA__MP_MAP) {
            m->p = at; /* some other container: skip it whole */
            if (sfa__mp_skip(m))
                return m->err;
        }
    }
    *ok = have_key && have_value;
    return 0;
}

/* Find op and result in an answer's body map; *result points at the
 * result value. 0 or SFA_EFORMAT. */
static int
survey_find_result(sfa__mp *m, const char *op, const uint8_t **result)
{
    size_t oplen = strlen(op);
    int op_ok = 0;
    sfa__mpv map, k, v;

    *result = NULL;
    if (sfa__mp_expect(m, &map, SFA__MP_MAP))
        return SFA_EFORMAT;
    for (uint32_t i = 0; i < map.n; i++) {
        if (sfa__mp_expect(m, &k, SFA__MP_STR))
            return SFA_EFORMAT;
        if (SFA__KEY_IS(&k, "result"))
            *result = m->p;
        if (SFA__KEY_IS(&k, "op")) {
            if (sfa__mp_read(m, &v))
                return SFA_EFORMAT;
            op_ok = v.kind == SFA__MP_STR && v.n == oplen && memcmp(v.p, op, oplen) == 0;
        } else if (sfa__mp_skip(m)) {
            return SFA_EFORMAT;
        }
    }
    return op_ok && *result ? 0 : SFA_EFORMAT;
}

int
sfa_survey_each_flow(const uint8_t *msg, size_t len, const char *op, sfa_flow_entry_cb cb,
                     void *arg, uint64_t *bad)
{
    const uint8_t *result;
    sfa_envelope env;
    sfa_flow_entry e;
    sfa__mpv arr, v;
    sfa__mp m;
    int count = 0, ok;

    if (sfa_codec_parse(msg, len, &env) != 0 || env.topic_len != strlen(SFA_TOPIC_QUERY) ||
        memcmp(env.topic, SFA_TOPIC_QUERY, env.topic_len) != 0)
        return SFA_EFORMAT;
    sfa__mp_init(&m, env.body, env.body_len);
    if (survey_find_result(&m, op, &result) != 0)
        return SFA_EFORMAT;
    sfa__mp_init(&m, result, env.body_len - (size_t)(result - env.body));
    if (sfa__mp_expect(&m, &arr, SFA__MP_ARRAY))
        return SFA_EFORMAT;
    for (uint32_t i = 0; i < arr.n; i++) {
        const uint8_t *at = m.p;

        if (sfa__mp_read(&m, &v))
            return SFA_EFORMAT;
        ok = 0;
        if (v.kind == SFA__MP_MAP) {
            if (survey_entry(&m, v.n, &e, &ok))
                return SFA_EFORMAT;
        } else if (v.kind == SFA__MP_ARRAY) {
            m.p = at;
            if (sfa__mp_skip(&m))
                return SFA_EFORMAT;
        }
        if (ok) {
            cb(&e, arg);
            count++;
        } else if (bad) {
            (*bad)++;
        }
    }
    return count;
}
