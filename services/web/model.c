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

/* the current revision of one key as of as_of (the highest whose Kafka
 * timestamp is at or before it), from the keyrevs index through cursor c;
 * 1 found (*rev), 0 none, -1 an LMDB error */
static int current_rev(MDB_cursor *c, const char *topic, const char *key, int64_t as_of, int64_t *rev)
{
    ol_key pk;
    ol_key_init(&pk);
    ol_key_str(&pk, topic);
    ol_key_str(&pk, key);
    if (pk.overflow)
        return 0;
    MDB_val k = ol_key_val(&pk), v;
    size_t plen = k.mv_size;
    int rc, found = 0;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != plen + 8 || memcmp(k.mv_data, pk.b, plen))
            break;
        if (v.mv_size >= 8 && (int64_t)ol_be64(v.mv_data) <= as_of) {
            *rev = ol_key_get_i64((const char *)k.mv_data + plen);
            found = 1;
        }
    }
    return rc == 0 || rc == MDB_NOTFOUND ? found : -1;
}

/* 1 when best_rev is the current revision as of as_of of the key held in
 * cur (group \0 key when the scan spans every group), 0 not, -1 error */
static int still_here(MDB_cursor *ic, const char *topic, const char *group, const char *cur, size_t curlen,
                      int64_t as_of, int64_t best_rev)
{
    const char *nul = group ? NULL : memchr(cur, '\0', curlen);
    const char *key = nul ? nul + 1 : cur;
    char k[512];
    size_t klen = curlen - (size_t)(key - cur);
    int64_t rev = 0;
    if (klen >= sizeof k)
        return 0;
    memcpy(k, key, klen);
    k[klen] = '\0';
    int rc = current_rev(ic, topic, k, as_of, &rev);
    return rc < 0 ? -1 : rc == 1 && rev == best_rev;
}

/* a row's JSON text without parsing it: 0, or -1 when malformed */
static int row_text(const MDB_val *v, int64_t *ts, const char **json, size_t *len)
{
    const char *p = v->mv_data;
    const char *nul = v->mv_size >= 9 ? memchr(p + 8, '\0', v->mv_size - 8) : NULL;
    if (!nul)
        return -1;
    *ts = (int64_t)ol_be64(p);
    *json = nul + 1;
    *len = v->mv_size - (size_t)(nul + 1 - p);
    return 0;
}

/* a topic whose group follows from its key: the week or day of a derived
 * figure that is part of its key (the schemas' "key" field), or the group ""
 * of a topic with no week field. A key there never moves to another
 * group, so a scan needs no keyrevs look-up to know that a key's row is
 * its current one. Not here: the inputs grouped by a field (a leave's
 * person, an entry's week...), billing lines (an EXPENSE line is keyed by
 * its expense_id, grouped by the week of incurred_on, which can change)
 * and margin rows (CONTRACTOR|person|invoice). */
static int group_is_fixed(const char *topic)
{
    static const char *const fixed[] = {"ops.utilisation.weekly", "ops.timesheet.missing", "ops.forecast.weekly",
                                        "ops.forecast.demand",    "ops.delivery.status",   "ops.cover.gaps",
                                        "ops.headcount.weekly",   "hr.person",             "delivery.engagement",
                                        "finance.period",         "ops.forecast.engagement",
                                        "finance.contractor.reconciliation"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (!strcmp(topic, fixed[i]))
            return 1;
    return 0;
}

/* web_scan and web_scan_raw: one of fn (the row parsed) or rawfn (its text);
 * kprefix (with a group): only the keys starting with it */
static int scan(const web_model *m, MDB_txn *txn, const char *topic, const char *group, const char *kprefix,
                int64_t as_of, web_row_fn fn, web_raw_fn rawfn, void *ctx, char *err, size_t errlen)
{
    MDB_cursor *c, *ic;
    ol_key pk;
    ol_key_init(&pk);
    ol_key_str(&pk, topic);
    if (group) /* NULL: every group of the topic */
        ol_key_str(&pk, group);
    if (pk.overflow) {
        snprintf(err, errlen, "group too long");
        return -1;
    }
    size_t plen = pk.n, seeklen = pk.n;
    if (group && kprefix && *kprefix) { /* the seek goes to the first key with the prefix */
        size_t kl = strlen(kprefix);
        if (pk.n + kl > sizeof pk.b) {
            snprintf(err, errlen, "key prefix too long");
            return -1;
        }
        memcpy(pk.b + pk.n, kprefix, kl);
        seeklen = pk.n + kl;
    }
    int fixed = group_is_fixed(topic);
    MDB_val k = {seeklen, pk.b}, v, best_v = {0, NULL};
    char cur[512];
    size_t curlen = 0;
    int64_t best_rev = 0, rc;
    int have = 0, stop = 0;

    if ((rc = mdb_cursor_open(txn, m->keys, &ic))) {
        snprintf(err, errlen, "%s", mdb_strerror((int)rc));
        return -1;
    }
    if ((rc = mdb_cursor_open(txn, m->revs, &c))) {
        mdb_cursor_close(ic);
        snprintf(err, errlen, "%s", mdb_strerror((int)rc));
        return -1;
    }
    /* emits the best revision of the current key, when it is still the key's
     * current one as of as_of (else the key has moved to another group) */
#define EMIT()                                                                                                       \
    do {                                                                                                             \
        if (have && !fixed && (rc = still_here(ic, topic, group, cur, curlen, as_of, best_rev)) <= 0) {              \
            have = 0;                                                                                                \
            if (rc < 0) {                                                                                            \
                snprintf(err, errlen, "the keyrevs index of %s", topic);                                             \
                goto out;                                                                                            \
            }                                                                                                        \
        }                                                                                                            \
        if (have) {                                                                                                  \
            int64_t ts;                                                                                              \
            const char *text_;                                                                                       \
            size_t tlen_;                                                                                            \
            json_t *j = NULL;                                                                                        \
            if (rawfn ? row_text(&best_v, &ts, &text_, &tlen_) != 0 : !(j = row_json(&best_v, &ts))) {               \
                snprintf(err, errlen, "a stored row of %s does not decode", topic);                                 \
                rc = -1;                                                                                             \
                goto out;                                                                                            \
            }                                                                                                        \
            cur[curlen] = '\0';                                                                                      \
            const char *nul_ = group ? NULL : memchr(cur, '\0', curlen);                                             \
            if (rawfn)                                                                                               \
                stop = rawfn(ctx, nul_ ? nul_ + 1 : cur, best_rev, ts, text_, tlen_);                                \
            else                                                                                                     \
                stop = fn(ctx, nul_ ? nul_ + 1 : cur, best_rev, ts, j);                                              \
            json_decref(j);                                                                                          \
            have = 0;                                                                                                \
        }                                                                                                            \
    } while (0)
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && !stop; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const char *key;
        size_t klen;
        int64_t rev;
        if (k.mv_size < seeklen || memcmp(k.mv_data, pk.b, seeklen))
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
    mdb_cursor_close(ic);
    return (int)rc;
}

int web_scan(const web_model *m, MDB_txn *txn, const char *topic, const char *group, int64_t as_of, web_row_fn fn,
             void *ctx, char *err, size_t errlen)
{
    return scan(m, txn, topic, group, NULL, as_of, fn, NULL, ctx, err, errlen);
}

int web_scan_raw(const web_model *m, MDB_txn *txn, const char *topic, const char *group, const char *kprefix,
                 int64_t as_of, web_raw_fn fn, void *ctx, char *err, size_t errlen)
{
    return scan(m, txn, topic, group, kprefix, as_of, NULL, fn, ctx, err, errlen);
}

int web_history(const web_model *m, MDB_txn *txn, const char *topic, const char *key, int64_t as_of,
                web_row_fn fn, void *ctx, char *err, size_t errlen)
{
    ol_key pk;
    ol_key_init(&pk);
    ol_key_str(&pk, topic);
    ol_key_str(&pk, key);
    if (pk.overflow)
        return 0;
    MDB_cursor *c;
    MDB_val k = ol_key_val(&pk), v;
    size_t plen = k.mv_size;
    int rc, stop = 0;
    if ((rc = mdb_cursor_open(txn, m->keys, &c))) {
        snprintf(err, errlen, "%s", mdb_strerror(rc));
        return -1;
    }
    /* the keyrevs index lists every revision with its group; each row is
     * read from revs under that group */
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && !stop; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != plen + 8 || memcmp(k.mv_data, pk.b, plen))
            break;
        const char *g = (const char *)v.mv_data + 8;
        if (v.mv_size < 9 || g[v.mv_size - 9] != '\0') {
            snprintf(err, errlen, "the keyrevs index of %s", topic);
            rc = -1;
            break;
        }
        if ((int64_t)ol_be64(v.mv_data) > as_of)
            continue;
        int64_t rev = ol_key_get_i64((const char *)k.mv_data + plen), ts;
        ol_key rk;
        ol_key_init(&rk);
        ol_key_str(&rk, topic);
        ol_key_str(&rk, g);
        ol_key_str(&rk, key);
        ol_key_i64(&rk, rev);
        MDB_val rkv = ol_key_val(&rk), rv;
        if (rk.overflow || (rc = mdb_get(txn, m->revs, &rkv, &rv)) == MDB_NOTFOUND) {
            rc = 0; /* cannot happen (both are written in one transaction); skipped */
            continue;
        }
        json_t *j = rc ? NULL : row_json(&rv, &ts);
        if (!j) {
            if (rc)
                snprintf(err, errlen, "%s", mdb_strerror(rc));
            else
                snprintf(err, errlen, "a stored row of %s does not decode", topic);
            rc = -1;
            break;
        }
        stop = fn(ctx, key, rev, ts, j);
        json_decref(j);
    }
    mdb_cursor_close(c);
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : -1;
}

int web_get_text(const web_model *m, MDB_txn *txn, const char *topic, const char *key, int64_t as_of,
                 const char **json, size_t *len, int64_t *revision, int64_t *ts_ms)
{
    ol_key pk;
    ol_key_init(&pk);
    ol_key_str(&pk, topic);
    ol_key_str(&pk, key);
    if (pk.overflow)
        return 0;
    MDB_cursor *c;
    MDB_val k = ol_key_val(&pk), v, best = {0, NULL};
    size_t plen = k.mv_size;
    int64_t best_rev = 0;
    int rc;
    if (mdb_cursor_open(txn, m->keys, &c))
        return -1;
    /* the keyrevs index: every revision with its time and group; the
     * highest at or before as_of is the key's record then */
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != plen + 8 || memcmp(k.mv_data, pk.b, plen))
            break;
        if (v.mv_size < 9 || ((const char *)v.mv_data)[v.mv_size - 1] != '\0') {
            rc = -1;
            break;
        }
        if ((int64_t)ol_be64(v.mv_data) > as_of)
            continue;
        best_rev = ol_key_get_i64((const char *)k.mv_data + plen);
        best = v;
    }
    mdb_cursor_close(c);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return -1;
    if (!best.mv_data)
        return 0;
    ol_key rk;
    ol_key_init(&rk);
    ol_key_str(&rk, topic);
    ol_key_str(&rk, (const char *)best.mv_data + 8);
    ol_key_str(&rk, key);
    ol_key_i64(&rk, best_rev);
    MDB_val rkv = ol_key_val(&rk), rv;
    int64_t ts;
    if (rk.overflow || (rc = mdb_get(txn, m->revs, &rkv, &rv)) == MDB_NOTFOUND)
        return 0; /* cannot happen (both are written in one transaction) */
    if (rc || row_text(&rv, &ts, json, len))
        return -1;
    if (revision)
        *revision = best_rev;
    if (ts_ms)
        *ts_ms = ts;
    return 1;
}

int web_get(const web_model *m, MDB_txn *txn, const char *topic, const char *key, int64_t as_of, json_t **out,
            int64_t *revision, int64_t *ts_ms)
{
    const char *json;
    size_t len;
    *out = NULL;
    int rc = web_get_text(m, txn, topic, key, as_of, &json, &len, revision, ts_ms);
    if (rc <= 0)
        return rc;
    return (*out = json_loadb(json, len, 0, NULL)) ? 0 : -1;
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
