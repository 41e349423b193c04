/* ol_derived — where the runtime's `derived` database keeps the last
 * emission of every derived key, and the one-time rewrite of a directory
 * written before that layout.
 *
 * A row is stored under  topic\0 locality\0 key\0  where locality is the
 * key's first |-separated component that is an ISO week ("2026-W47") or a
 * date ("2026-11-20"), and empty for keys that hold neither (an invoice_id).
 * Derived keys name the entity before the week (PERSON|p-0042|2026-W47), so
 * keyed by the key alone, the rows a batch re-emits for one week sat one per
 * person across the whole tree, and a commit copied one leaf page per
 * emission (issue 15: 1,000 live records dirtied ~1,000 leaves). With the
 * week first they are neighbours: a batch touches a handful of leaves. */
#include "ol_runtime_int.h"
#include "ol_log.h"

#include <stdlib.h>
#include <string.h>

#define DERIVED_LAYOUT 2 /* meta "derived_layout": 2 = topic\0 locality\0 key\0 */

static int digits(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return 0;
    return 1;
}

/* a component "2026-W47" or "2026-11-20" */
static int is_time_component(const char *p, size_t n)
{
    if (n == 8)
        return digits(p, 4) && p[4] == '-' && p[5] == 'W' && digits(p + 6, 2);
    if (n == 10)
        return digits(p, 4) && p[4] == '-' && digits(p + 5, 2) && p[7] == '-' && digits(p + 8, 2);
    return 0;
}

void ol_derived_key(ol_key *k, const char *topic, const char *key)
{
    const char *loc = "", *p = key;
    size_t ll = 0;
    for (;;) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (is_time_component(p, n)) {
            loc = p, ll = n;
            break;
        }
        if (!bar)
            break;
        p = bar + 1;
    }
    char lb[11];
    memcpy(lb, loc, ll);
    lb[ll] = '\0';
    ol_key_init(k);
    ol_key_str(k, topic);
    ol_key_str(k, lb);
    ol_key_str(k, key);
}

const char *ol_derived_key_of(const void *stored, size_t len, const char **topic)
{
    const char *s = stored, *end = s + len;
    size_t tl = strnlen(s, len);
    if (s + tl >= end)
        return NULL;
    const char *loc = s + tl + 1;
    size_t ll = strnlen(loc, (size_t)(end - loc));
    if (loc + ll >= end)
        return NULL;
    const char *key = loc + ll + 1;
    if (key >= end || !memchr(key, '\0', (size_t)(end - key)))
        return NULL;
    if (topic)
        *topic = s;
    return key;
}

/* the old key topic\0 key\0 -> the new one */
static int derived_rekey(const MDB_val *k, ol_key *nk, void *arg)
{
    (void)arg;
    const char *topic = k->mv_data;
    size_t tl = strnlen(topic, k->mv_size);
    const char *key = topic + tl + 1;
    if (tl + 1 >= k->mv_size || !memchr(key, '\0', k->mv_size - tl - 1))
        return MDB_CORRUPTED;
    ol_derived_key(nk, topic, key);
    return 0;
}

/* A directory from before the layout kept rows under topic\0 key\0: they
 * are put back under their new keys (ol_store_rekey), in one transaction, so
 * a crash leaves either layout whole. An empty database only gets the mark. */
int ol_derived_migrate(ol_runtime *rt, char *err, size_t errlen)
{
    MDB_txn *txn = NULL;
    size_t n = 0;
    int64_t layout;
    int rc;
    if (rt->store.readonly)
        return 0;
    if ((rc = mdb_txn_begin(rt->store.env, NULL, 0, &txn)) ||
        (rc = ol_meta_get_i64(txn, rt->meta, "derived_layout", &layout)))
        goto fail;
    if (layout == DERIVED_LAYOUT) {
        mdb_txn_abort(txn);
        return 0;
    }
    if ((rc = ol_store_rekey(txn, rt->derived, derived_rekey, NULL, &n)) ||
        (rc = ol_meta_put_i64(txn, rt->meta, "derived_layout", DERIVED_LAYOUT)))
        goto fail;
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc)
        goto fail;
    if (n)
        ol_info("rewrote the derived database with the week first|db=%s rows=%zu", rt->store.path, n);
    return 0;
fail:
    if (txn)
        mdb_txn_abort(txn);
    snprintf(err, errlen, "%s: rewriting the derived database with the week first: %s", rt->store.path,
             mdb_strerror(rc));
    return -1;
}

int ol_derived_readable(ol_store *st, MDB_txn *txn, char *err, size_t errlen)
{
    int64_t layout = 0;
    MDB_stat ms;
    int rc = ol_meta_get_i64(txn, ol_store_dbi(st, "meta"), "derived_layout", &layout);
    if (rc == 0 && layout == DERIVED_LAYOUT)
        return 0;
    if (rc == 0 && (rc = mdb_stat(txn, ol_store_dbi(st, "derived"), &ms)) == 0 && ms.ms_entries == 0)
        return 0;
    if (rc)
        snprintf(err, errlen, "%s: %s", st->path, mdb_strerror(rc));
    else
        snprintf(err, errlen,
                 "%s: its derived events are stored the way an older opsledger stored them; start the service "
                 "once (it upgrades the directory), then ask again",
                 st->path);
    return -1;
}
