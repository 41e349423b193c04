/* ol_runtime_record — one input record through the runtime (SPEC 2 and 4):
 * validation, the dedupe verdict, highest revision wins, the version log,
 * the service's apply(), and a dead letter for anything the fold cannot
 * store. Split from ol_runtime.c, which keeps the batch (one transaction)
 * and the run loop around it. */
#include "ol_runtime_int.h"
#include "ol_av.h"
#include "ol_json.h"
#include "ol_log.h"

#include <errno.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct topic_io *input_of(ol_runtime *rt, const char *topic)
{
    for (size_t i = 0; i < rt->nin; i++)
        if (strcmp(rt->in[i].topic, topic) == 0)
            return &rt->in[i];
    return NULL;
}

int ol_rt_note_offset(ol_runtime *rt, const ol_record *r)
{
    for (size_t i = 0; i < rt->noffs; i++)
        if (rt->offs[i].partition == r->partition && strcmp(rt->offs[i].topic, r->topic) == 0) {
            if (r->offset + 1 > rt->offs[i].next)
                rt->offs[i].next = r->offset + 1;
            if (r->offset < rt->offs[i].first)
                rt->offs[i].first = r->offset;
            return 0;
        }
    if (rt->noffs == rt->capoffs) {
        size_t cap = rt->capoffs ? rt->capoffs * 2 : 16;
        void *n = realloc(rt->offs, cap * sizeof *rt->offs);
        if (!n)
            return -1;
        rt->offs = n;
        rt->capoffs = cap;
    }
    struct topic_io *t = input_of(rt, r->topic);
    rt->offs[rt->noffs].topic = t ? t->topic : r->topic; /* records' strings may not outlive the batch */
    rt->offs[rt->noffs].partition = r->partition;
    rt->offs[rt->noffs].first = r->offset;
    rt->offs[rt->noffs].next = r->offset + 1;
    rt->noffs++;
    return 0;
}

/* Dead letter: the original bytes, with why and where in the headers. A
 * value over OL_DEADLETTER_MAX_VALUE is cut to its first that many bytes,
 * and the headers say so, with its size and SHA-256 (the whole record stays
 * at its source offset and in the archive): a copy near Kafka's message
 * limit (1,000,000 bytes by default; the headers come on top) was refused
 * by the producer, which stopped the service on every restart with nothing
 * more published. */
static int dead_letter(ol_runtime *rt, MDB_txn *txn, const ol_record *r, const char *reason)
{
    char key[400], part[16], off[24], size[24], hex[65];
    /* schemas/README.md: the key is <source topic>|<partition>|<offset> */
    snprintf(key, sizeof key, "%s|%d|%lld", r->topic, r->partition, (long long)r->offset);
    snprintf(part, sizeof part, "%d", r->partition);
    snprintf(off, sizeof off, "%lld", (long long)r->offset);
    ol_header h[9] = {
        {"ol.reason", reason, strlen(reason)},
        {"ol.service", rt->svc->name, strlen(rt->svc->name)},
        {"ol.source.topic", r->topic, strlen(r->topic)},
        {"ol.source.partition", part, strlen(part)},
        {"ol.source.offset", off, strlen(off)},
    };
    size_t nh = 5, vlen = r->value_len;
    if (r->key && r->key_len <= 4096) /* the record's own key, so that it can be sent again as it was */
        h[nh++] = (ol_header){"ol.source.key", r->key, r->key_len};
    if (vlen > OL_DEADLETTER_MAX_VALUE) {
        uint8_t md[SHA256_DIGEST_LENGTH];
        SHA256(r->value, r->value_len, md);
        for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
        snprintf(size, sizeof size, "%zu", r->value_len);
        h[nh++] = (ol_header){"ol.value.truncated", "true", 4};
        h[nh++] = (ol_header){"ol.value.bytes", size, strlen(size)};
        h[nh++] = (ol_header){"ol.value.sha256", hex, 64};
        vlen = OL_DEADLETTER_MAX_VALUE;
    }
    ol_warn("dead letter|service=%s topic=%s partition=%d offset=%lld bytes=%zu reason=%s", rt->svc->name,
            r->topic, r->partition, (long long)r->offset, r->value_len, ol_log_q(reason));
    rt->counters[C_DEADLETTERS]++;
    ol_metrics_deadletter(rt->metrics, reason);
    return ol_outbox_append(rt, txn, "ops.deadletter", key, strlen(key), h, nh, r->value, vlen);
}

static int str_field(avro_value_t *v, const char *name, const char **out)
{
    avro_value_t f;
    size_t len;
    *out = NULL;
    if (ol_av_lookup(v, name, &f))
        return -1;
    if (avro_value_get_type(&f) == AVRO_UNION) {
        avro_value_t b;
        if (avro_value_get_current_branch(&f, &b) || avro_value_get_type(&b) == AVRO_NULL)
            return -1;
        f = b;
    }
    if (avro_value_get_type(&f) != AVRO_STRING)
        return -1;
    return avro_value_get_string(&f, out, &len);
}

static int long_field(avro_value_t *v, const char *name, int64_t *out)
{
    avro_value_t f;
    if (ol_av_lookup(v, name, &f))
        return -1;
    return avro_value_get_long(&f, out);
}

/* equal content: every field but the envelope's event_id, occurred_at, source */
static int same_content(avro_value_t *a, avro_value_t *b)
{
    size_t n = 0;
    avro_value_get_size(a, &n);
    for (size_t i = 0; i < n; i++) {
        avro_value_t fa, fb;
        const char *name = NULL;
        if (avro_value_get_by_index(a, i, &fa, &name) || avro_value_get_by_index(b, i, &fb, NULL))
            return 0;
        if (!strcmp(name, "event_id") || !strcmp(name, "occurred_at") || !strcmp(name, "source"))
            continue;
        if (!avro_value_equal_fast(&fa, &fb))
            return 0;
    }
    return 1;
}

/* a version that did not win: its event_id is remembered (an 'S' row of the
 * version log), so that its re-delivery is a duplicate */
static int remember_seen(ol_runtime *rt, ol_fold_ctx *ctx, const char *topic, const char *entity_id,
                         int64_t revision, int64_t occurred_at, const char *event_id)
{
    return ol_state_append(rt->state_idx, ctx->txn, 'S', topic, entity_id, revision, occurred_at, event_id, NULL,
                           0);
}

/* Folds one record. Returns 0 (folded, skipped or dead-lettered) or an LMDB
 * error / -1 that must abort the batch. poison: the reason an earlier attempt
 * of this batch failed on this record (it becomes a dead letter), or NULL. */
int ol_rt_fold_one(ol_runtime *rt, ol_fold_ctx *ctx, const ol_record *r, const char *poison)
{
    char err[512], reason[600];
    int32_t wid;
    struct topic_io *t = input_of(rt, r->topic);
    const char *event_id, *entity_id;
    int64_t revision, occurred_at;
    avro_value_t *v, *oldv = NULL;
    int rc;

    rt->counters[C_RECORDS]++;
    if (rt->svc->raw)
        return rt->svc->raw(ctx, r);
    if (!t) {
        snprintf(reason, sizeof reason, "topic %s is not an input of %s", r->topic, rt->svc->name);
        return dead_letter(rt, ctx->txn, r, reason);
    }
    if (poison)
        return dead_letter(rt, ctx->txn, r, poison);
    enum ol_codec_err ce = ol_decoder_decode(t->dec, r->value, r->value_len, &wid, err, sizeof err);
    if (ce != OL_CODEC_OK) {
        snprintf(reason, sizeof reason, "%s: %s", ol_codec_err_name(ce), err);
        return dead_letter(rt, ctx->txn, r, reason);
    }
    v = ol_decoder_value(t->dec);
    if (ol_validate(t->schema, v, err, sizeof err)) {
        snprintf(reason, sizeof reason, "invalid: %s", err);
        return dead_letter(rt, ctx->txn, r, reason);
    }
    /* a derived topic consumed as input (finance.billing.line for the
     * forecast) has no occurred_at: it never moves the data time */
    avro_value_t occ;
    int derived_input = ol_av_lookup(v, "occurred_at", &occ) != 0;
    occurred_at = INT64_MIN;
    if (str_field(v, "event_id", &event_id) || str_field(v, t->schema->entity_field, &entity_id) ||
        long_field(v, "revision", &revision) || (!derived_input && long_field(v, "occurred_at", &occurred_at))) {
        snprintf(reason, sizeof reason, "invalid: envelope fields event_id, %s, revision, occurred_at required",
                 t->schema->entity_field);
        return dead_letter(rt, ctx->txn, r, reason);
    }

    /* LMDB keys are at most 511 bytes: an id the store cannot key is bad
     * input (a dead letter), not a batch that fails on every restart */
    size_t maxkey = (size_t)mdb_env_get_maxkeysize(rt->store.env);
    if (strlen(event_id) > maxkey) {
        snprintf(reason, sizeof reason, "invalid: field \"event_id\": longer than %zu bytes", maxkey);
        return dead_letter(rt, ctx->txn, r, reason);
    }

    /* the entity key, checked before the record counts as seen: a record
     * dead-lettered for an overlong entity id must neither mark its event_id
     * seen (a corrected re-send would be skipped as a duplicate) nor move the
     * data time (tests/e2e/test_hostile.sh) */
    ol_key ek;
    ol_key_init(&ek);
    ol_key_str(&ek, t->topic);
    ol_key_str(&ek, entity_id);
    if (ek.overflow || ek.n > maxkey) {
        snprintf(reason, sizeof reason, "invalid: field \"%s\": longer than %zu bytes", t->schema->entity_field,
                 maxkey - strlen(t->topic) - 2);
        return dead_letter(rt, ctx->txn, r, reason);
    }

    /* idempotency (SPEC 2): an event_id seen before is skipped: always when
     * it is the id of the entity's stored version, and for other versions
     * within the dedupe window of data time (ol_state.h) */
    ol_version old;
    ol_state_prefetch(rt->state_idx, t->topic, entity_id, event_id);
    if ((rc = ol_state_get(rt->state_idx, ctx->txn, t->topic, entity_id, &old)) < 0 || rc > 1)
        return rc;
    int have_old = rc == 1;
    if (have_old && strlen(event_id) == old.event_len && !memcmp(event_id, old.event_id, old.event_len)) {
        rt->counters[C_DUPLICATES]++;
        return 0;
    }
    int64_t since = ol_rt_window_start(rt, rt->data_time);
    if ((rc = ol_state_seen(rt->state_idx, ctx->txn, event_id, since)) < 0 || rc > 1)
        return rc;
    if (rc == 1) {
        rt->counters[C_DUPLICATES]++;
        return 0;
    }
    if (occurred_at > rt->data_time)
        rt->data_time = occurred_at;

    if (rt->svc->history) {
        ol_event hev = {r, t->schema, v, event_id, entity_id, revision, occurred_at};
        if ((rc = rt->svc->history(ctx, &hev)))
            return rc;
    }

    /* highest revision wins; a version that does not win is remembered as
     * seen (an 'S' row), so that its re-delivery is a duplicate */
    if (have_old) {
        if (revision < old.revision) {
            rt->counters[C_STALE]++;
            return remember_seen(rt, ctx, t->topic, entity_id, revision, occurred_at, event_id); /* stale */
        }
        if (ol_decoder_decode(t->old, old.frame, old.frame_len, &wid, err, sizeof err)) {
            ol_error("stored entity does not decode|topic=%s entity=%s reason=%s", t->topic, ol_log_q(entity_id),
                     ol_log_q(err));
            return MDB_CORRUPTED; /* the store, not this record: a fault of the environment */
        }
        oldv = ol_decoder_value(t->old);
        if (revision == old.revision) {
            int kept = 0;
            if (same_content(v, oldv)) {
                rt->counters[C_DUPLICATES]++;
                kept = 1;
            } else {
                rt->counters[C_CONFLICTS]++;
                int cmp = strncmp(event_id, old.event_id, old.event_len);
                if (cmp < 0 || (cmp == 0 && strlen(event_id) <= old.event_len)) {
                    ol_warn("conflict: equal revision, different content; kept the larger event_id|topic=%s "
                            "entity=%s revision=%lld",
                            t->topic, ol_log_q(entity_id), (long long)revision);
                    kept = 1;
                } else
                    ol_warn("conflict: equal revision, different content; took the larger event_id|topic=%s "
                            "entity=%s revision=%lld",
                            t->topic, ol_log_q(entity_id), (long long)revision);
            }
            if (kept) /* the same content again, or a conflict the stored version won */
                return remember_seen(rt, ctx, t->topic, entity_id, revision, occurred_at, event_id);
        }
    }
    if ((rc = ol_state_append(rt->state_idx, ctx->txn, 'V', t->topic, entity_id, revision, occurred_at, event_id,
                              r->value, r->value_len)))
        return rc;

    ol_event ev = {r, t->schema, v, event_id, entity_id, revision, occurred_at};
    rc = rt->svc->apply ? rt->svc->apply(ctx, &ev, oldv) : 0;
    if (rc)
        return rc;
    rt->counters[C_FOLDED]++;
    return 0;
}

