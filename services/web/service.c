/* service — the declaration of opsledger-web: it folds the derived topics
 * (and the input topics it needs for names and evidence) into its own read
 * model, keeping EVERY revision of every key with its Kafka timestamp, so
 * that any answer can be given as of an instant exactly as it was published.
 * It composes through topics only: no other service's files or code. */
#include "ol_json.h"
#include "ol_svcmain.h"
#include "ol_time.h"
#include "web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const inputs[] = {
    "ops.utilisation.weekly", "ops.timesheet.missing", "finance.billing.line", "finance.contractor.reconciliation",
    "ops.forecast.weekly",    "ops.forecast.engagement", "ops.forecast.demand", "ops.delivery.status",
    "ops.cover.gaps",         "hr.person",              "delivery.engagement", "timesheet.entry",
    "hr.leave",               "delivery.risk",          "finance.expense",     "finance.period",
    "ops.headcount.weekly",   "finance.margin.weekly",  "delivery.allocation",
    /* the weekly report's "received in the last 4 weeks" is the invoice's
     * occurred_at (common/report): without it /weekly listed fewer
     * invoices to chase than `report weekly` (review) */
    "finance.contractor_invoice", NULL};
static const char *const outputs[] = {NULL};
static const char *const dbs[] = {WEB_DBS, NULL};

static const char *str(json_t *rec, const char *f)
{
    const char *s = json_string_value(json_object_get(rec, f));
    return s ? s : "";
}

const char *web_key_of(const char *topic, json_t *rec)
{
    static const struct {
        const char *topic, *field;
    } ids[] = {{"hr.person", "person_id"},          {"delivery.engagement", "engagement_id"},
               {"timesheet.entry", "entry_id"},     {"hr.leave", "leave_id"},
               {"delivery.risk", "risk_id"},        {"finance.expense", "expense_id"},
               {"finance.period", "iso_week"},    {"delivery.allocation", "allocation_id"},
               {"finance.contractor_invoice", "invoice_id"}};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (!strcmp(topic, ids[i].topic))
            return str(rec, ids[i].field);
    return str(rec, "key");
}

int web_group_of(const char *topic, json_t *rec, char *out, size_t outlen)
{
    int n;
    if (!strcmp(topic, "timesheet.entry")) {
        int32_t d;
        char w[9];
        if (ol_date_parse(str(rec, "work_date"), &d))
            return -1;
        ol_week_format(ol_week_of(d), w);
        n = snprintf(out, outlen, "%s|%s|%s", str(rec, "engagement_id"), str(rec, "person_id"), w);
    } else if (!strcmp(topic, "hr.leave") || !strcmp(topic, "delivery.allocation"))
        n = snprintf(out, outlen, "%s", str(rec, "person_id")); /* an open role (null person): "" */
    else if (!strcmp(topic, "delivery.risk") || !strcmp(topic, "finance.expense"))
        n = snprintf(out, outlen, "%s", str(rec, "engagement_id"));
    else if (!strcmp(topic, "ops.cover.gaps"))
        n = snprintf(out, outlen, "%s", str(rec, "day"));
    else if (json_is_string(json_object_get(rec, "week")) && strncmp(topic, "hr.", 3) && strncmp(topic, "delivery.", 9))
        n = snprintf(out, outlen, "%s", str(rec, "week"));
    else
        n = snprintf(out, outlen, "%s", "");
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* every version the runtime sees (stale and conflicting ones included) is
 * kept under its revision; at an equal revision the larger event_id wins,
 * as the runtime's own rule */
static int web_history_fold(ol_fold_ctx *ctx, const ol_event *ev)
{
    MDB_txn *txn = ol_fold_txn(ctx);
    MDB_dbi revs = ol_fold_dbi(ctx, "revs"), keys = ol_fold_dbi(ctx, "keyrevs"), weeks = ol_fold_dbi(ctx, "weeks");
    const char *topic = ev->rec->topic;
    char group[400];
    char *text = NULL, *row = NULL;
    int rc = -1;
    json_t *rec = ol_json_from_avro(ev->schema, ev->value);
    if (!rec)
        return -1;
    const char *key = web_key_of(topic, rec);
    if (web_group_of(topic, rec, group, sizeof group)) {
        rc = 0; /* a key too long to group is kept out of the read model, counted */
        ol_fold_count(ctx, "web_ungrouped", 1);
        goto out;
    }
    /* the index row of this revision (topic, key, revision -> timestamp,
     * group): a key whose group changed keeps every revision findable, and
     * a revision already kept under another group (a conflict at an equal
     * revision) is found there */
    ol_key ik, k;
    char kept_group[400];
    int have_kept = 0;
    ol_key_init(&ik);
    ol_key_str(&ik, topic);
    ol_key_str(&ik, key);
    ol_key_i64(&ik, ev->revision);
    if (ik.overflow) {
        rc = ol_fold_count(ctx, "web_key_too_long", 1);
        goto out;
    }
    MDB_val ikv = ol_key_val(&ik), iv, kv, v;
    if ((rc = mdb_get(txn, keys, &ikv, &iv)) == 0) {
        if (iv.mv_size < 9 || iv.mv_size - 8 > sizeof kept_group || ((const char *)iv.mv_data)[iv.mv_size - 1]) {
            rc = -1; /* not an index row this code wrote */
            goto out;
        }
        memcpy(kept_group, (const char *)iv.mv_data + 8, iv.mv_size - 8);
        have_kept = 1;
    } else if (rc != MDB_NOTFOUND)
        goto out;
    if (have_kept) {
        ol_key_init(&k);
        ol_key_str(&k, topic);
        ol_key_str(&k, kept_group);
        ol_key_str(&k, key);
        ol_key_i64(&k, ev->revision);
        kv = ol_key_val(&k);
        if ((rc = mdb_get(txn, revs, &kv, &v)) == 0) {
            const char *old_id = (const char *)v.mv_data + 8;
            if (strcmp(ev->event_id, old_id) <= 0) { /* the stored one is the larger event_id */
                rc = 0;
                goto out;
            }
            if (strcmp(kept_group, group) && (rc = mdb_del(txn, revs, &kv, NULL))) /* it loses: one group only */
                goto out;
        } else if (rc != MDB_NOTFOUND)
            goto out;
    }
    ol_key_init(&k);
    ol_key_str(&k, topic);
    ol_key_str(&k, group);
    ol_key_str(&k, key);
    ol_key_i64(&k, ev->revision);
    if (k.overflow) {
        rc = ol_fold_count(ctx, "web_key_too_long", 1);
        goto out;
    }
    kv = ol_key_val(&k);
    if (!(text = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER))) {
        rc = -1;
        goto out;
    }
    size_t el = strlen(ev->event_id) + 1, tl = strlen(text), gl = strlen(group) + 1;
    if (!(row = malloc(8 + el + tl + 8 + gl))) { /* the revs row, then the index row after it */
        rc = -1;
        goto out;
    }
    ol_put_be64(row, (uint64_t)ev->rec->timestamp_ms);
    memcpy(row + 8, ev->event_id, el);
    memcpy(row + 8 + el, text, tl);
    v.mv_size = 8 + el + tl;
    v.mv_data = row;
    if ((rc = mdb_put(txn, revs, &kv, &v, 0)))
        goto out;
    char *irow = row + 8 + el + tl;
    ol_put_be64(irow, (uint64_t)ev->rec->timestamp_ms);
    memcpy(irow + 8, group, gl);
    iv.mv_size = 8 + gl;
    iv.mv_data = irow;
    if ((rc = mdb_put(txn, keys, &ikv, &iv, 0)))
        goto out;
    /* the weeks the model knows, with the first time one was known */
    const char *week = json_string_value(json_object_get(rec, "week"));
    if (!week && !strcmp(topic, "finance.period"))
        week = json_string_value(json_object_get(rec, "iso_week"));
    if (week && strncmp(topic, "hr.", 3)) {
        ol_key wk;
        ol_key_init(&wk);
        ol_key_str(&wk, week);
        MDB_val wkv = ol_key_val(&wk), wv;
        uint8_t tb[8];
        rc = mdb_get(txn, weeks, &wkv, &wv);
        if (rc == MDB_NOTFOUND || (rc == 0 && (int64_t)ol_be64(wv.mv_data) > ev->rec->timestamp_ms)) {
            ol_put_be64(tb, (uint64_t)ev->rec->timestamp_ms);
            wv.mv_size = 8;
            wv.mv_data = tb;
            rc = mdb_put(txn, weeks, &wkv, &wv, 0);
        }
        if (rc)
            goto out;
    }
    rc = 0;
out:
    free(row);
    free(text);
    json_decref(rec);
    return rc;
}

static int web_flush(ol_fold_ctx *ctx)
{
    (void)ctx;
    return 0;
}

int web_serve(ol_store *st, int argc, char **argv, const ol_config *cfg);

const ol_service web_service = {
    .name = "web",
    .inputs = inputs,
    .outputs = outputs,
    .dbs = dbs,
    .history = web_history_fold,
    .flush = web_flush,
};

const ol_verb web_verbs[] = {
    {"serve", web_serve,
     "serve [--listen HOST:PORT] [--tls-cert FILE --tls-key FILE] [--tokens FILE] [--db DIR]   the API and pages"},
    {NULL, NULL, NULL},
};
