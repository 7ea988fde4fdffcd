/* collectors.c - what the collectors say about themselves: stats.v1 and
 * agents.v1 from every collector's control publisher.
 *
 * One subscriber dials every URL of bus.control. The latest body of each
 * topic is kept per collector (the envelope's src), with the time it
 * arrived, so /agents/json can age firstSeen/lastSeen and merge several
 * collectors, and /analyzer/json can add counters up. A collector not
 * heard for COLLECTORS_FORGET_MS is dropped (its agents disappear with it).
 * Sequence gaps on the control topics are counted.
 *
 * Loop thread only (the bus delivers on the loop).
 */
#include <stdlib.h>
#include <string.h>

#include <sfa/bus.h>
#include <sfa/clock.h>
#include <sfa/codec.h>
#include <sfa/log.h>
#include <sfa/mem.h>

#include "gw.h"

#define COLLECTORS_FORGET_MS 30000
#define COLLECTORS_RCVBUF 64
#define COLLECTORS_SRC_MAX 128

struct gw_collectors {
    sfa_bus *bus;
    sfa_seqtrack *seq;
    json_t *by_src; /* src -> {"stats": body, "statsAt": ms, "agents": body, "agentsAt": ms} */
    uint64_t gaps;
    uint64_t bad;
};

static void
collectors_recv(sfa_bus *bus, const uint8_t *msg, size_t len, void *arg)
{
    gw_collectors *c = arg;
    char src[COLLECTORS_SRC_MAX];
    sfa_envelope env;
    const char *what;
    json_t *body, *rec;

    (void)bus;
    if (sfa_codec_parse(msg, len, &env) != 0 || env.src_len == 0 || env.src_len >= sizeof src ||
        (body = sfa_codec_body_json(&env)) == NULL) {
        c->bad++;
        return;
    }
    if (env.topic_len == strlen(SFA_TOPIC_STATS) &&
        memcmp(env.topic, SFA_TOPIC_STATS, env.topic_len) == 0)
        what = "stats";
    else
        what = "agents";
    memcpy(src, env.src, env.src_len);
    src[env.src_len] = '\0';
    c->gaps += sfa_seqtrack_update(c->seq, &env);
    if ((rec = json_object_get(c->by_src, src)) == NULL) {
        rec = json_object();
        json_object_set_new(c->by_src, src, rec);
    }
    json_object_set_new(rec, what, body);
    json_object_set_new(rec, strcmp(what, "stats") == 0 ? "statsAt" : "agentsAt",
                        json_integer((json_int_t)sfa_clock_ms()));
}

static int
collectors_subscribe(gw_collectors *c)
{
    int rc;

    if ((rc = sfa_bus_subscribe(c->bus, SFA_TOPIC_STATS, sizeof SFA_TOPIC_STATS)) != 0)
        return rc;
    return sfa_bus_subscribe(c->bus, SFA_TOPIC_AGENTS, sizeof SFA_TOPIC_AGENTS);
}

int
gw_collectors_open(gw_collectors **out, uv_loop_t *loop, const char *urls)
{
    gw_collectors *c = sfa_xcalloc(1, sizeof *c);
    char *list = sfa_xstrdup(urls), *save = NULL, *url;
    int rc = 0;

    c->seq = sfa_seqtrack_create();
    c->by_src = json_object();
    for (url = strtok_r(list, ", ", &save); url && rc == 0; url = strtok_r(NULL, ", ", &save)) {
        if (!c->bus)
            rc = sfa_bus_sub_open(&c->bus, loop, url, COLLECTORS_RCVBUF, collectors_recv, c);
        else
            rc = sfa_bus_add_url(c->bus, url);
    }
    free(list);
    if (rc == 0 && !c->bus) {
        SFA_SEVERE("bus.control: no URL given");
        rc = SFA_ECONFIG;
    }
    if (rc == 0)
        rc = collectors_subscribe(c);
    if (rc != 0) {
        gw_collectors_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

void
gw_collectors_close(gw_collectors *c)
{
    if (!c)
        return;
    sfa_bus_close(c->bus);
    sfa_seqtrack_destroy(c->seq);
    json_decref(c->by_src);
    free(c);
}

/* Drop collectors not heard for a while (const: the table is a cache). */
static void
collectors_expire(const gw_collectors *c, uint64_t now)
{
    const char *src;
    json_t *rec;
    void *tmp;

    json_object_foreach_safe(c->by_src, tmp, src, rec)
    {
        uint64_t s = (uint64_t)json_integer_value(json_object_get(rec, "statsAt"));
        uint64_t a = (uint64_t)json_integer_value(json_object_get(rec, "agentsAt"));
        uint64_t last = s > a ? s : a;

        if (now - last > COLLECTORS_FORGET_MS)
            json_object_del(c->by_src, src);
    }
}

json_t *
gw_collectors_agents(const gw_collectors *c)
{
    uint64_t now = sfa_clock_ms();
    size_t n, i = 0;
    json_t **tables, *rec, *out;
    uint64_t *ages;
    const char *src;

    collectors_expire(c, now);
    n = json_object_size(c->by_src);
    tables = sfa_xcalloc(n ? n : 1, sizeof *tables);
    ages = sfa_xcalloc(n ? n : 1, sizeof *ages);
    json_object_foreach(c->by_src, src, rec)
    {
        tables[i] = json_object_get(rec, "agents");
        ages[i] = now - (uint64_t)json_integer_value(json_object_get(rec, "agentsAt"));
        i++;
    }
    out = gw_merge_agents(tables, ages, i);
    free(tables);
    free(ages);
    return out;
}

json_t *
gw_collectors_stats(const gw_collectors *c)
{
    uint64_t now = sfa_clock_ms();
    json_t *out = json_object(), *rec, *st;
    const char *src;

    collectors_expire(c, now);
    json_object_foreach(c->by_src, src, rec)
    {
        st = json_object_get(rec, "stats");
        json_object_set_new(out, src,
                            json_pack("{s:I, s:O}", "ageMs",
                                      (json_int_t)(now - (uint64_t)json_integer_value(
                                                             json_object_get(rec, "statsAt"))),
                                      "stats", st ? st : json_null()));
    }
    return out;
}

/* A number at the top level of obj, or one level down. */
static uint64_t
collectors_find(const json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name), *sub;
    const char *k;

    if (json_is_number(v))
        return json_number_value(v) > 0 ? (uint64_t)json_number_value(v) : 0;
    json_object_foreach((json_t *)obj, k, sub)
    {
        v = json_object_get(sub, name);
        if (json_is_object(sub) && json_is_number(v))
            return json_number_value(v) > 0 ? (uint64_t)json_number_value(v) : 0;
    }
    return 0;
}

uint64_t
gw_collectors_sum(const gw_collectors *c, const char *name)
{
    uint64_t sum = 0;
    const char *src;
    json_t *rec;

    collectors_expire(c, sfa_clock_ms());
    json_object_foreach(c->by_src, src, rec) sum +=
        collectors_find(json_object_get(rec, "stats"), name);
    return sum;
}

size_t
gw_collectors_count(const gw_collectors *c)
{
    collectors_expire(c, sfa_clock_ms());
    return json_object_size(c->by_src);
}

uint64_t
gw_collectors_gaps(const gw_collectors *c)
{
    return c->gaps;
}
