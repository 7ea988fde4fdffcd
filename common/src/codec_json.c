/* codec_json.c - bus messages to and from jansson values.
 *
 * sfa_codec_to_json / sfa_codec_body_json turn any well-formed msgpack
 * into JSON for tools and tests (sfa-busdump, the vector tests): bin
 * becomes a lowercase hex string, ext and NaN/infinite floats become null,
 * integer map keys become their decimal text. Anything malformed (short,
 * trailing bytes, invalid UTF-8 in a str, nesting deeper than
 * CODEC_JSON_DEPTH) gives NULL. sfa_codec_encode_json_msg packs a jansson
 * value as the body of a small message (stats.v1, agents.v1).
 *
 * Not on any per-datagram path: these allocate (jansson). No globals.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include <sfa/codec.h>
#include <sfa/mem.h>

#include "codec_int.h"

/* Deeper nesting than any sfa message uses; bounds the recursion. */
#define CODEC_JSON_DEPTH 64

static json_t *codec_json_from_mp(sfa__mp *m, int depth);

static json_t *
codec_json_hex(const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    char *s = sfa_xmalloc(2 * n + 1);
    json_t *j;

    for (size_t i = 0; i < n; i++) {
        s[2 * i] = hex[p[i] >> 4];
        s[2 * i + 1] = hex[p[i] & 0xf];
    }
    j = json_stringn(s, 2 * n);
    free(s);
    return j;
}

static json_t *
codec_json_array(sfa__mp *m, uint32_t n, int depth)
{
    json_t *a = json_array();

    for (uint32_t i = 0; i < n; i++) {
        json_t *e = codec_json_from_mp(m, depth + 1);
        if (!e)
            goto fail;
        json_array_append_new(a, e);
    }
    return a;
fail:
    json_decref(a);
    return NULL;
}

static json_t *
codec_json_object(sfa__mp *m, uint32_t n, int depth)
{
    json_t *o = json_object(), *val = NULL;
    sfa__mpv k;
    char num[24];

    for (uint32_t i = 0; i < n; i++) {
        const char *key;
        size_t klen;
        if (sfa__mp_read(m, &k))
            goto fail;
        if (k.kind == SFA__MP_STR && sfa__utf8_valid(k.p, k.n)) {
            key = (const char *)k.p;
            klen = k.n;
        } else if (k.kind == SFA__MP_UINT || k.kind == SFA__MP_INT) {
            int w = k.kind == SFA__MP_UINT
                        ? snprintf(num, sizeof num, "%llu", (unsigned long long)k.v.u)
                        : snprintf(num, sizeof num, "%lld", (long long)k.v.i);
            key = num;
            klen = (size_t)w;
        } else {
            goto fail;
        }
        val = codec_json_from_mp(m, depth + 1);
        if (!val || json_object_setn_new(o, key, klen, val))
            goto fail;
    }
    return o;
fail:
    json_decref(o);
    return NULL;
}

static json_t *
codec_json_from_mp(sfa__mp *m, int depth)
{
    sfa__mpv v;

    if (depth > CODEC_JSON_DEPTH || sfa__mp_read(m, &v))
        return NULL;
    switch (v.kind) {
    case SFA__MP_NIL:
    case SFA__MP_EXT:
        return json_null();
    case SFA__MP_BOOL:
        return json_boolean(v.v.u);
    case SFA__MP_UINT:
        /* Beyond JSON's signed 64-bit integers: the nearest double. */
        return v.v.u <= LLONG_MAX ? json_integer((json_int_t)v.v.u) : json_real((double)v.v.u);
    case SFA__MP_INT:
        return json_integer((json_int_t)v.v.i);
    case SFA__MP_FLOAT:
        return isfinite(v.v.d) ? json_real(v.v.d) : json_null();
    case SFA__MP_STR:
        return sfa__utf8_valid(v.p, v.n) ? json_stringn((const char *)v.p, v.n) : NULL;
    case SFA__MP_BIN:
        return codec_json_hex(v.p, v.n);
    case SFA__MP_ARRAY:
        return codec_json_array(m, v.n, depth);
    case SFA__MP_MAP:
        return codec_json_object(m, v.n, depth);
    default:
        return NULL;
    }
}

/* One whole object spanning exactly (p, n). */
static json_t *
codec_json_from_buf(const uint8_t *p, size_t n)
{
    sfa__mp m;
    json_t *j;

    sfa__mp_init(&m, p, n);
    j = codec_json_from_mp(&m, 0);
    if (j && sfa__mp_left(&m) != 0) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

json_t *
sfa_codec_body_json(const sfa_envelope *env)
{
    return codec_json_from_buf(env->body, env->body_len);
}

json_t *
sfa_codec_to_json(const uint8_t *msg, size_t len)
{
    sfa_envelope env;
    json_t *out, *rest;
    const char *key;
    json_t *val;

    if (sfa_codec_parse(msg, len, &env))
        return NULL;
    /* The envelope map converted generically keeps unknown keys too. */
    rest = codec_json_from_buf(msg + env.topic_len + 1, len - env.topic_len - 1);
    if (!rest)
        return NULL;
    out = json_object();
    json_object_set_new(out, "topic", json_stringn(env.topic, env.topic_len));
    json_object_foreach(rest, key, val)
    {
        json_object_set(out, key, val);
    }
    json_decref(rest);
    return out;
}

/* ---- JSON to msgpack ---- */

static int
codec_json_write(void *data, const char *buf, size_t len)
{
    sfa_wbuf *w = data;

    if (w->err || len > w->cap - w->len) {
        w->err = 1;
        return -1;
    }
    memcpy(w->buf + w->len, buf, len);
    w->len += len;
    return 0;
}

static void
codec_json_pack(msgpack_packer *pk, const json_t *j, int depth)
{
    const char *key;
    json_t *val;
    size_t i;

    if (depth > CODEC_JSON_DEPTH) {
        msgpack_pack_nil(pk);
        return;
    }
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        msgpack_pack_map(pk, json_object_size(j));
        json_object_foreach((json_t *)j, key, val)
        {
            msgpack_pack_str_with_body(pk, key, strlen(key));
            codec_json_pack(pk, val, depth + 1);
        }
        break;
    case JSON_ARRAY:
        msgpack_pack_array(pk, json_array_size(j));
        json_array_foreach(j, i, val)
        {
            codec_json_pack(pk, val, depth + 1);
        }
        break;
    case JSON_STRING:
        msgpack_pack_str_with_body(pk, json_string_value(j), json_string_length(j));
        break;
    case JSON_INTEGER:
        if (json_integer_value(j) < 0)
            msgpack_pack_int64(pk, json_integer_value(j));
        else
            msgpack_pack_uint64(pk, (uint64_t)json_integer_value(j));
        break;
    case JSON_REAL:
        msgpack_pack_double(pk, json_real_value(j));
        break;
    case JSON_TRUE:
        msgpack_pack_true(pk);
        break;
    case JSON_FALSE:
        msgpack_pack_false(pk);
        break;
    default:
        msgpack_pack_nil(pk);
        break;
    }
}

int
sfa_codec_encode_json_msg(uint8_t *buf, size_t cap, const char *topic, const char *src,
                          uint64_t seq, uint64_t ts_ms, const json_t *body)
{
    sfa_wbuf w;
    msgpack_packer pk;

    sfa_wbuf_init(&w, buf, cap < INT_MAX ? cap : INT_MAX);
    msgpack_packer_init(&pk, &w, codec_json_write);
    codec_json_write(&w, topic, strlen(topic) + 1);
    msgpack_pack_map(&pk, 5);
    msgpack_pack_str_with_body(&pk, "v", 1);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_str_with_body(&pk, "src", 3);
    msgpack_pack_str_with_body(&pk, src, strlen(src));
    msgpack_pack_str_with_body(&pk, "seq", 3);
    msgpack_pack_uint64(&pk, seq);
    msgpack_pack_str_with_body(&pk, "ts_ms", 5);
    msgpack_pack_uint64(&pk, ts_ms);
    msgpack_pack_str_with_body(&pk, "body", 4);
    codec_json_pack(&pk, body, 0);
    return w.err ? SFA_ELIMIT : (int)w.len;
}
