/* model — reads the read model (see web.h for its layout): the keys of a
 * topic and group as of an instant (the highest revision whose Kafka
 * timestamp is at or before it), one key, a key's history and the known
 * weeks. Every function runs inside the caller's LMDB read transaction. */
#include "ol_log.h"
#include "web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* a row: timestamp (8 BE), event_id \0, JSON text */
static json_t *row_json(const MDB_val *v, int64_t *ts)
{
    const char *p = v->mv_data;
    const char *nul = memchr(p + 8, '\0', v->mv_size - 8);
    if (v->mv_size < 9 || !nul)
        return NULL;
    *ts = (int64_t)ol_be64(p);
    size_t off = (size_t)(nul + 1 - p);
    return json_loadb(p + off, v->mv_size - off, 0, NULL);
}

/* splits a revs key after the prefix: what lies between the prefix and the
 * trailing NUL + revision (the entity key, or group NUL key when the scan
 * spans every group) and the revision */
static int split_key(const MDB_val *k, size_t plen, const char **key, size_t *klen, int64_t *rev)
{
    const char *p = k->mv_data;
    if (k->mv_size < plen + 9 || p[k->mv_size - 9] != '\0')
        return -1;
    *key = p + plen;
    *klen = k->mv_size - 9 - plen;
    *rev = ol_key_get_i64(p + k->mv_size - 8);
    return 0;
}

int web_scan(const web_model *m, MDB_txn *txn, const char *topic, const char *group, int64_t as_of, web_row_fn fn,
             void *ctx, char *err, size_t errlen)
{
    MDB_cursor *c;
    ol_key pk;
    ol_key_init(&pk);
    ol_key_str(&pk, topic);
    if (group) /* NULL: every group of the topic */
        ol_key_str(&pk, group);
    if (pk.overflow) {
        snprintf(err, errlen, "group too long");
        return -1;
    }
    MDB_val k = ol_key_val(&pk), v, best_v = {0, NULL};
    size_t plen = k.mv_size;
    char cur[512];
    size_t curlen = 0;
    int64_t best_rev = 0, rc;
    int have = 0, stop = 0;

    if ((rc = mdb_cursor_open(txn, m->revs, &c))) {
        snprintf(err, errlen, "%s", mdb_strerror((int)rc));
        return -1;
    }
    /* emits the best revision of the current key */
#define EMIT()                                                                                                       \
    do {                                                                                                             \
        if (have) {                                                                                                  \
            int64_t ts;                                                                                              \
            json_t *j = row_json(&best_v, &ts);                                                                      \
            if (!j) {                                                                                                \
                snprintf(err, errlen, "a stored row of %s does not decode", topic);                                 \
                rc = -1;                                                                                             \
                goto out;                                                                                            \
            }                                                                                                        \
            cur[curlen] = '\0';                                                                                      \
            const char *nul_ = group ? NULL : memchr(cur, '\0', curlen);                                             \
            stop = fn(ctx, nul_ ? nul_ + 1 : cur, best_rev, ts, j);                                                  \
            json_decref(j);                                                                                          \
            have = 0;                                                                                                \
        }                                                                                                            \
    } while (0)
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && !stop; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const char *key;
        size_t klen;
        int64_t rev;
        if (k.mv_size < plen || memcmp(k.mv_data, pk.b, plen))
            break;
        if (split_key(&k, plen, &key, &klen, &rev) || klen >= sizeof cur)
            continue;
        if (!(klen == curlen && !memcmp(key, cur, klen))) {
            EMIT();
            if (stop)
                break;
            memcpy(cur, key, klen);
            curlen = klen;
        }
        if (v.mv_size >= 8 && (int64_t)ol_be64(v.mv_data) <= as_of) {
            best_rev = rev;
            best_v = v;
            have = 1;
        }
    }
    if (rc != 0 && rc != MDB_NOTFOUND && !stop) {
        snprintf(err, errlen, "%s", mdb_strerror((int)rc));
        rc = -1;
        goto out;
    }
    if (!stop)
        EMIT();
    rc = 0;
#undef EMIT
out:
    mdb_cursor_close(c);
    return (int)rc;
}

/* the group of a key (keys db); 0 found, 1 not, -1 error */
static int group_of_key(const web_model *m, MDB_txn *txn, const char *topic, const char *key, char *group,
                        size_t glen)
{
    ol_key kk;
    ol_key_init(&kk);
    ol_key_str(&kk, topic);
    ol_key_str(&kk, key);
    if (kk.overflow)
        return 1;
    MDB_val k = ol_key_val(&kk), v;
    int rc = mdb_get(txn, m->keys, &k, &v);
    if (rc == MDB_NOTFOUND)
        return 1;
    if (rc || v.mv_size == 0 || v.mv_size > glen)
        return -1;
    memcpy(group, v.mv_data, v.mv_size); /* includes its NUL */
    return 0;
}

struct hist_ctx {
    web_row_fn fn;
    void *ctx;
};

int web_history(const web_model *m, MDB_txn *txn, const char *topic, const char *key, int64_t as_of,
                web_row_fn fn, void *ctx, char *err, size_t errlen)
{
    char group[512];
    int rc = group_of_key(m, txn, topic, key, group, sizeof group);
    if (rc)
        return rc < 0 ? (snprintf(err, errlen, "keys database"), -1) : 0;
    ol_key pk;
    ol_key_init(&pk);
    ol_key_str(&pk, topic);
    ol_key_str(&pk, group);
    ol_key_str(&pk, key);
    if (pk.overflow)
        return 0;
    MDB_cursor *c;
    MDB_val k = ol_key_val(&pk), v;
    size_t plen = k.mv_size;
    if ((rc = mdb_cursor_open(txn, m->revs, &c))) {
        snprintf(err, errlen, "%s", mdb_strerror(rc));
        return -1;
    }
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != plen + 8 || memcmp(k.mv_data, pk.b, plen))
            break;
        int64_t ts;
        json_t *j = row_json(&v, &ts);
        if (!j) {
            snprintf(err, errlen, "a stored row of %s does not decode", topic);
            mdb_cursor_close(c);
            return -1;
        }
        int stop = ts <= as_of ? fn(ctx, key, ol_key_get_i64((const char *)k.mv_data + plen), ts, j) : 0;
        json_decref(j);
        if (stop)
            break;
    }
    mdb_cursor_close(c);
    return 0;
}

struct one {
    json_t *rec;
    int64_t rev, ts;
    const char *want;
};

static int take_one(void *ctx, const char *key, int64_t rev, int64_t ts, json_t *rec)
{
    struct one *o = ctx;
    if (strcmp(key, o->want))
        return 0;
    json_decref(o->rec);
    o->rec = json_incref(rec);
    o->rev = rev;
    o->ts = ts;
    return 0;
}

int web_get(const web_model *m, MDB_txn *txn, const char *topic, const char *key, int64_t as_of, json_t **out,
            int64_t *revision, int64_t *ts_ms)
{
    char err[200];
    struct one o = {NULL, 0, 0, key};
    *out = NULL;
    if (web_history(m, txn, topic, key, as_of, take_one, &o, err, sizeof err)) {
        json_decref(o.rec);
        return -1;
    }
    *out = o.rec;
    if (revision)
        *revision = o.rev;
    if (ts_ms)
        *ts_ms = o.ts;
    return 0;
}

int web_week_known(const web_model *m, MDB_txn *txn, const char *week, int64_t as_of)
{
    ol_key wk;
    ol_key_init(&wk);
    ol_key_str(&wk, week);
    MDB_val k = ol_key_val(&wk), v;
    int rc = mdb_get(txn, m->weeks, &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc || v.mv_size != 8)
        return -1;
    return (int64_t)ol_be64(v.mv_data) <= as_of;
}

json_t *web_weeks(const web_model *m, MDB_txn *txn, int64_t as_of)
{
    json_t *a = json_array();
    MDB_cursor *c;
    MDB_val k, v;
    int rc;
    if (!a || mdb_cursor_open(txn, m->weeks, &c)) {
        json_decref(a);
        return NULL;
    }
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (v.mv_size != 8 || (int64_t)ol_be64(v.mv_data) > as_of || k.mv_size < 2)
            continue;
        if (json_array_append_new(a, json_stringn(k.mv_data, k.mv_size - 1))) {
            json_decref(a);
            a = NULL;
            break;
        }
    }
    mdb_cursor_close(c);
    return a;
}

int64_t web_data_time(const web_model *m, MDB_txn *txn)
{
    int64_t t = 0;
    if (ol_meta_get_i64(txn, m->meta, "data_time", &t))
        return 0;
    return t > 0 ? t : 0;
}
