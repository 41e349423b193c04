/* ol_state_latest — the latest version of every entity read straight from
 * the version log, for dumps, `entities` and read-only queries: processes
 * that do not own the in-memory indexes (see ol_state.h). Split from
 * ol_state.c, which keeps the live indexes. */
#include "ol_state.h"
#include "ol_store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct latest {
    char *key; /* topic NUL id NUL */
    size_t klen;
    uint64_t seq;
};

static int latest_cmp(const void *a, const void *b)
{
    const struct latest *x = a, *y = b;
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(x->key, y->key, n);
    if (c)
        return c;
    if (x->klen != y->klen)
        return x->klen < y->klen ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* the latest 'V' row of every entity (of topic only, when not NULL), sorted
 * by key: *out (caller frees with free_latest), *n. 0 or an error. */
static int collect_latest(MDB_txn *txn, MDB_dbi log, const char *topic, struct latest **out, size_t *nout)
{
    struct latest *all = NULL;
    size_t n = 0, cap = 0, w = 0, tl = topic ? strlen(topic) : 0;
    MDB_cursor *c = NULL;
    MDB_val k, v;
    int rc;

    if ((rc = mdb_cursor_open(txn, log, &c)))
        return rc;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        ol_version row;
        if ((rc = ol_state_parse(&k, &v, &row)))
            break;
        if (row.kind != 'V' || (topic && (row.topic_len != tl || memcmp(row.topic, topic, tl))))
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 1024;
            struct latest *na = realloc(all, nc * sizeof *na);
            if (!na) {
                rc = ENOMEM;
                break;
            }
            all = na, cap = nc;
        }
        size_t kl = row.topic_len + 1 + row.entity_len + 1;
        char *key = malloc(kl);
        if (!key) {
            rc = ENOMEM;
            break;
        }
        memcpy(key, row.topic, row.topic_len), key[row.topic_len] = '\0';
        memcpy(key + row.topic_len + 1, row.entity_id, row.entity_len), key[kl - 1] = '\0';
        all[n++] = (struct latest){key, kl, row.seq};
    }
    mdb_cursor_close(c);
    if (rc == MDB_NOTFOUND)
        rc = 0;
    if (rc == 0 && n > 1)
        qsort(all, n, sizeof *all, latest_cmp);
    /* keep the last (highest sequence) of each key */
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (i + 1 < n && all[i + 1].klen == all[i].klen && !memcmp(all[i + 1].key, all[i].key, all[i].klen)) {
            free(all[i].key);
            continue;
        }
        all[w++] = all[i];
    }
    if (rc) {
        for (size_t i = 0; i < n; i++)
            free(all[i].key);
        free(all);
        return rc;
    }
    *out = all;
    *nout = w;
    return 0;
}

static void free_latest(struct latest *all, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(all[i].key);
    free(all);
}

/* the old entity row of log row seq into *buf (grown as needed) */
static int old_layout(MDB_txn *txn, MDB_dbi log, uint64_t seq, uint8_t **buf, size_t *bufcap, MDB_val *out)
{
    uint8_t kb[8];
    ol_put_be64(kb, seq);
    MDB_val lk = {8, kb}, lv;
    ol_version row;
    int rc;
    if ((rc = mdb_get(txn, log, &lk, &lv)) || (rc = ol_state_parse(&lk, &lv, &row)))
        return rc;
    size_t need = 10 + row.event_len + row.frame_len;
    if (need > *bufcap) {
        uint8_t *nb = realloc(*buf, need);
        if (!nb)
            return ENOMEM;
        *buf = nb, *bufcap = need;
    }
    ol_put_be64(*buf, (uint64_t)row.revision);
    (*buf)[8] = (uint8_t)(row.event_len >> 8), (*buf)[9] = (uint8_t)row.event_len;
    memcpy(*buf + 10, row.event_id, row.event_len);
    memcpy(*buf + 10 + row.event_len, row.frame, row.frame_len);
    out->mv_size = need;
    out->mv_data = *buf;
    return 0;
}

int ol_state_foreach_latest(MDB_txn *txn, MDB_dbi log, ol_state_row_cb cb, void *arg)
{
    struct latest *all = NULL;
    size_t n = 0, bufcap = 0;
    uint8_t *buf = NULL;
    int rc = collect_latest(txn, log, NULL, &all, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        MDB_val ok = {all[i].klen, all[i].key}, ov;
        if ((rc = old_layout(txn, log, all[i].seq, &buf, &bufcap, &ov)) == 0)
            rc = cb(&ok, &ov, arg);
    }
    free_latest(all, n);
    free(buf);
    return rc;
}

struct ol_state_ro {
    struct latest *all;
    size_t n;
};

ol_state_ro *ol_state_ro_open(MDB_txn *txn, MDB_dbi log, const char *topic)
{
    ol_state_ro *ro = calloc(1, sizeof *ro);
    if (ro && collect_latest(txn, log, topic, &ro->all, &ro->n)) {
        free(ro);
        return NULL;
    }
    return ro;
}

int ol_state_ro_get(ol_state_ro *ro, MDB_txn *txn, MDB_dbi log, const char *topic, const char *id, ol_version *out)
{
    size_t tl = strlen(topic), il = strlen(id), kl = tl + il + 2;
    char *key = malloc(kl);
    if (!key)
        return ENOMEM;
    memcpy(key, topic, tl + 1);
    memcpy(key + tl + 1, id, il + 1);
    struct latest probe = {key, kl, UINT64_MAX};
    size_t lo = 0, hi = ro->n;
    while (lo < hi) { /* the first element not below probe (sequence ignored: keys are unique) */
        size_t mid = lo + (hi - lo) / 2;
        struct latest m = ro->all[mid];
        m.seq = UINT64_MAX;
        if (latest_cmp(&m, &probe) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    int found = lo < ro->n && ro->all[lo].klen == kl && !memcmp(ro->all[lo].key, key, kl);
    free(key);
    if (!found)
        return 0;
    uint8_t kb[8];
    ol_put_be64(kb, ro->all[lo].seq);
    MDB_val lk = {8, kb}, lv;
    int rc = mdb_get(txn, log, &lk, &lv);
    if (rc || (rc = ol_state_parse(&lk, &lv, out)))
        return rc;
    return 1;
}

void ol_state_ro_free(ol_state_ro *ro)
{
    if (!ro)
        return;
    free_latest(ro->all, ro->n);
    free(ro);
}
