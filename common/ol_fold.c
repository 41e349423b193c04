/* ol_fold — the helpers a service calls from apply() and flush(): dirty
 * keys, entity look-ups, and emission of derived events with deterministic
 * revision and event_id (see ol_runtime.h). ol_fold_emit publishes a key
 * only when its content changed; the envelope and the delta fields are not
 * content (SPEC section 2, the rule in schemas/README.md). */
#include "ol_runtime_int.h"
#include "ol_av.h"
#include "ol_log.h"
#include "ol_registry.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

MDB_txn *ol_fold_txn(ol_fold_ctx *ctx) { return ctx->txn; }

const char *ol_fold_writer_schema_text(ol_fold_ctx *ctx, int32_t id)
{
    return ctx->rt->schemas ? ol_registry_cached_text(ctx->rt->schemas->reg, id) : NULL;
}
MDB_dbi ol_fold_dbi(ol_fold_ctx *ctx, const char *name) { return ol_store_dbi(&ctx->rt->store, name); }
void *ol_fold_state(ol_fold_ctx *ctx) { return ctx->rt->state; }
const ol_config *ol_fold_config(ol_fold_ctx *ctx) { return ctx->rt->cfg; }
int64_t ol_fold_data_time(ol_fold_ctx *ctx) { return ctx->rt->data_time; }

int ol_fold_mark(ol_fold_ctx *ctx, const void *key, size_t len)
{
    ol_runtime *rt = ctx->rt;
    if (rt->ndirty == rt->capdirty) {
        size_t cap = rt->capdirty ? rt->capdirty * 2 : 256;
        MDB_val *n = realloc(rt->dirty, cap * sizeof *n);
        if (!n)
            return -1;
        rt->dirty = n;
        rt->capdirty = cap;
    }
    void *copy = ol_arena_copy(&rt->dirty_keys, key, len);
    if (!copy)
        return -1;
    rt->dirty[rt->ndirty].mv_size = len;
    rt->dirty[rt->ndirty].mv_data = copy;
    rt->ndirty++;
    return 0;
}

static int val_cmp(const void *a, const void *b)
{
    const MDB_val *x = a, *y = b;
    size_t n = x->mv_size < y->mv_size ? x->mv_size : y->mv_size;
    int c = memcmp(x->mv_data, y->mv_data, n);
    if (c)
        return c;
    return x->mv_size < y->mv_size ? -1 : x->mv_size > y->mv_size;
}

size_t ol_fold_dirty(ol_fold_ctx *ctx, const MDB_val **keys)
{
    ol_runtime *rt = ctx->rt;
    size_t out = 0;
    if (rt->ndirty > 1) /* rt->dirty is NULL until a key is marked: qsort(NULL, 0) is undefined */
        qsort(rt->dirty, rt->ndirty, sizeof *rt->dirty, val_cmp);
    for (size_t i = 0; i < rt->ndirty; i++) {
        if (out > 0 && val_cmp(&rt->dirty[out - 1], &rt->dirty[i]) == 0)
            continue; /* its bytes stay in the arena until the batch ends */
        rt->dirty[out++] = rt->dirty[i];
    }
    rt->ndirty = out;
    *keys = rt->dirty;
    return out;
}

int ol_fold_count(ol_fold_ctx *ctx, const char *counter, int64_t delta)
{
    return ol_meta_add_i64(ctx->txn, ctx->rt->meta, counter, delta) ? -1 : 0;
}

int ol_fold_lookup(ol_fold_ctx *ctx, const char *topic, const char *entity_id, avro_value_t **out)
{
    ol_runtime *rt = ctx->rt;
    struct topic_io *t = NULL;
    char err[300];
    int32_t wid;
    for (size_t i = 0; i < rt->nin; i++)
        if (strcmp(rt->in[i].topic, topic) == 0)
            t = &rt->in[i];
    if (!t)
        return -1;
    ol_version ver;
    int rc = ol_state_get(rt->state_idx, ctx->txn, topic, entity_id, &ver);
    if (rc == 0)
        return 0;
    if (rc != 1)
        return -1;
    if (t->lookup_valid && ver.frame_len == t->lookup_len && !memcmp(ver.frame, t->lookup_frame, ver.frame_len)) {
        *out = ol_decoder_value(t->lookup); /* the same bytes decode to the same value */
        return 1;
    }
    t->lookup_valid = 0;
    if (ol_decoder_decode(t->lookup, ver.frame, ver.frame_len, &wid, err, sizeof err)) {
        ol_error("stored entity does not decode|topic=%s entity=%s reason=%s", topic, ol_log_q(entity_id),
                 ol_log_q(err));
        return -1;
    }
    if (ver.frame_len > t->lookup_cap) {
        uint8_t *grown = realloc(t->lookup_frame, ver.frame_len);
        if (grown)
            t->lookup_frame = grown, t->lookup_cap = ver.frame_len;
    }
    if (ver.frame_len <= t->lookup_cap) { /* else (out of memory) the next look-up decodes */
        memcpy(t->lookup_frame, ver.frame, ver.frame_len);
        t->lookup_len = ver.frame_len;
        t->lookup_valid = 1;
    }
    *out = ol_decoder_value(t->lookup);
    return 1;
}

static struct derived_io *derived_of(ol_runtime *rt, const char *topic)
{
    for (size_t i = 0; i < rt->nout; i++)
        if (strcmp(rt->out[i].topic, topic) == 0)
            return &rt->out[i];
    ol_error("topic is not a declared output|topic=%s service=%s", topic, rt->svc->name);
    return NULL;
}

avro_value_t *ol_fold_new_derived(ol_fold_ctx *ctx, const char *topic)
{
    struct derived_io *d = derived_of(ctx->rt, topic);
    if (!d)
        return NULL;
    avro_value_reset(&d->fresh);
    return &d->fresh;
}

/* 1 when c sits on a row whose key is key (its value into val): read back,
 * never assumed from the last look-up */
static int cursor_on(MDB_cursor *c, const MDB_val *key, MDB_val *val)
{
    MDB_val ck;
    return mdb_cursor_get(c, &ck, val, MDB_GET_CURRENT) == 0 && ck.mv_size == key->mv_size &&
           !memcmp(ck.mv_data, key->mv_data, key->mv_size);
}

/* The stored event of (topic, key) into v, through ctx->derived_c, which it
 * leaves on that row when found (derived_put then writes there). A cursor
 * already on the key (checked by reading its current key, never assumed)
 * is not moved. */
static int derived_get(ol_fold_ctx *ctx, const char *topic, const char *key, MDB_val *v)
{
    ol_key k;
    ol_derived_key(&k, topic, key);
    if (k.overflow)
        return MDB_BAD_VALSIZE; /* never a look-up of a truncated key: the record's fold fails (a dead letter) */
    MDB_val kv = ol_key_val(&k);
    int rc;
    if (!ctx->derived_c && (rc = mdb_cursor_open(ctx->txn, ctx->rt->derived, &ctx->derived_c)))
        return rc;
    if (cursor_on(ctx->derived_c, &kv, v))
        return 0;
    return mdb_cursor_get(ctx->derived_c, &kv, v, MDB_SET);
}

/* Stores the event of (topic, key): in place when derived_get just found
 * the key (the cursor is on it), else a plain insert. */
static int derived_put(ol_fold_ctx *ctx, const char *topic, const char *key, MDB_val *fv)
{
    ol_key k;
    ol_derived_key(&k, topic, key);
    MDB_val kv = ol_key_val(&k), cv;
    if (ctx->derived_c && cursor_on(ctx->derived_c, &kv, &cv))
        return mdb_cursor_put(ctx->derived_c, &kv, fv, MDB_CURRENT);
    return mdb_put(ctx->txn, ctx->rt->derived, &kv, fv, 0);
}

/* The stored event of (topic, key) and its topic's io: 1 found, 0 not, -1 error. */
static int stored_derived(ol_fold_ctx *ctx, const char *topic, const char *key, struct derived_io **d, MDB_val *v)
{
    if (!(*d = derived_of(ctx->rt, topic)))
        return -1;
    int rc = derived_get(ctx, topic, key, v);
    return rc == MDB_NOTFOUND ? 0 : rc ? -1 : 1;
}

int ol_fold_derived_prev(ol_fold_ctx *ctx, const char *topic, const char *key, avro_value_t **out)
{
    struct derived_io *d;
    MDB_val v;
    char err[300];
    int32_t wid;
    int found = stored_derived(ctx, topic, key, &d, &v);
    if (found != 1)
        return found;
    if (ol_decoder_decode(d->prev, v.mv_data, v.mv_size, &wid, err, sizeof err)) {
        ol_error("stored derived event does not decode|topic=%s key=%s reason=%s", topic, ol_log_q(key), ol_log_q(err));
        return -1;
    }
    *out = ol_decoder_value(d->prev);
    return 1;
}

void ol_derived_event_id(const char *service, const char *key, int64_t revision, char buf[37])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    char in[1024], digits[24];
    /* the digest of "service NUL key NUL revision" (decimal), at most 1,023
     * bytes (keys are bounded well below this). Built and hashed without
     * snprintf and without OpenSSL 3's one-shot SHA256(), which looks the
     * algorithm up on every call: a derived event costs one of these, and
     * the two were 5 % of a replay (issue 15). */
    size_t n = 0, sl = strlen(service), kl = strlen(key), dl = 0;
    unsigned long long r = revision < 0 ? 0ULL - (unsigned long long)revision : (unsigned long long)revision;
    do
        digits[sizeof digits - 1 - dl++] = (char)('0' + r % 10);
    while ((r /= 10) && dl < sizeof digits - 1);
    if (revision < 0)
        digits[sizeof digits - 1 - dl++] = '-';
    const struct {
        const char *p;
        size_t len;
    } parts[] = {{service, sl}, {"", 1}, {key, kl}, {"", 1}, {digits + sizeof digits - dl, dl}};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        size_t take = parts[i].len < sizeof in - 1 - n ? parts[i].len : sizeof in - 1 - n;
        memcpy(in + n, parts[i].p, take);
        n += take;
    }
    SHA256_CTX c;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    SHA256_Init(&c);
    SHA256_Update(&c, in, n);
    SHA256_Final(md, &c);
#pragma GCC diagnostic pop
    md[6] = (unsigned char)((md[6] & 0x0f) | 0x80); /* version 8: custom */
    md[8] = (unsigned char)((md[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    static const char hex[] = "0123456789abcdef";
    size_t j = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            buf[j++] = '-';
        buf[j++] = hex[md[i] >> 4];
        buf[j++] = hex[md[i] & 15];
    }
    buf[j] = '\0';
}

static int set_envelope(avro_value_t *v, const char *event_id, const char *key, int64_t revision)
{
    avro_value_t f;
    if (ol_av_lookup(v, "event_id", &f) || avro_value_set_string(&f, event_id))
        return -1;
    if (ol_av_lookup(v, "key", &f) || avro_value_set_string(&f, key))
        return -1;
    if (ol_av_lookup(v, "revision", &f) || avro_value_set_long(&f, revision))
        return -1;
    return 0;
}

int ol_fold_envelope_first(const ol_schema *s)
{
    static const char *const names[] = {"event_id", "key", "revision"};
    static const avro_type_t types[] = {AVRO_STRING, AVRO_STRING, AVRO_INT64};
    if (!s || !s->avro || !is_avro_record(s->avro) || avro_schema_record_size(s->avro) < 3)
        return 0;
    for (int i = 0; i < 3; i++) {
        const char *n = avro_schema_record_field_name(s->avro, i);
        avro_schema_t t = avro_schema_record_field_get_by_index(s->avro, i);
        if (!n || strcmp(n, names[i]) || !t || avro_typeof(t) != types[i])
            return 0;
    }
    return 1;
}

/* ---- Avro binary: zig-zag varint longs, strings as length + bytes */

/* reads a long at p (at most end); bytes used, 0 when malformed */
static size_t zz_get(const uint8_t *p, const uint8_t *end, int64_t *out)
{
    uint64_t u = 0;
    for (size_t i = 0; i < 10 && p + i < end; i++) {
        u |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            *out = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
            return i + 1;
        }
    }
    return 0;
}

int ol_fold_field_not_content(const char *name)
{
    size_t n = strlen(name);
    if (!strcmp(name, "event_id") || !strcmp(name, "key") || !strcmp(name, "revision"))
        return 1;
    return strncmp(name, "delta_", 6) == 0 || (n > 6 && strcmp(name + n - 6, "_delta") == 0);
}

int ol_fold_content_mask(const ol_schema *s, unsigned char **mask, size_t *n)
{
    *mask = NULL;
    *n = 0;
    if (!s || !s->avro || !is_avro_record(s->avro))
        return -1;
    size_t nf = avro_schema_record_size(s->avro);
    unsigned char *m = calloc(nf ? nf : 1, 1);
    if (!m)
        return -1;
    for (size_t i = 0; i < nf; i++) {
        const char *name = avro_schema_record_field_name(s->avro, (int)i);
        m[i] = (unsigned char)(name && ol_fold_field_not_content(name));
    }
    *mask = m;
    *n = nf;
    return 0;
}

/* Moves *p past one Avro binary value of schema s (at most end); 0 ok, -1
 * malformed. Only what derived schemas can hold needs to be skipped, but
 * every Avro type is handled. */
static int av_skip(avro_schema_t s, const uint8_t **p, const uint8_t *end, int depth)
{
    int64_t n;
    size_t u;
    if (!s || depth > 32)
        return -1;
    switch (avro_typeof(s)) {
    case AVRO_NULL: return 0;
    case AVRO_BOOLEAN:
        if (*p >= end)
            return -1;
        (*p)++;
        return 0;
    case AVRO_INT32:
    case AVRO_INT64:
    case AVRO_ENUM:
        if (!(u = zz_get(*p, end, &n)))
            return -1;
        *p += u;
        return 0;
    case AVRO_FLOAT:
    case AVRO_DOUBLE:
    case AVRO_FIXED: {
        int64_t w = avro_typeof(s) == AVRO_FLOAT ? 4 : avro_typeof(s) == AVRO_DOUBLE ? 8 : avro_schema_fixed_size(s);
        if (w < 0 || w > end - *p)
            return -1;
        *p += w;
        return 0;
    }
    case AVRO_STRING:
    case AVRO_BYTES:
        if (!(u = zz_get(*p, end, &n)) || n < 0 || n > end - *p - (ptrdiff_t)u)
            return -1;
        *p += u + (size_t)n;
        return 0;
    case AVRO_RECORD:
        for (size_t i = 0; i < avro_schema_record_size(s); i++)
            if (av_skip(avro_schema_record_field_get_by_index(s, (int)i), p, end, depth + 1))
                return -1;
        return 0;
    case AVRO_UNION:
        if (!(u = zz_get(*p, end, &n)) || n < 0 || (size_t)n >= avro_schema_union_size(s))
            return -1;
        *p += u;
        return av_skip(avro_schema_union_branch(s, (int)n), p, end, depth + 1);
    case AVRO_ARRAY:
    case AVRO_MAP: {
        avro_schema_t items =
            avro_typeof(s) == AVRO_ARRAY ? avro_schema_array_items(s) : avro_schema_map_values(s);
        for (;;) {
            if (!(u = zz_get(*p, end, &n)))
                return -1;
            *p += u;
            if (n == 0)
                return 0;
            if (n < 0) { /* a block with its byte size: -count, size */
                int64_t sz;
                if (!(u = zz_get(*p, end, &sz)))
                    return -1;
                *p += u;
                n = -n;
            }
            for (int64_t i = 0; i < n; i++) {
                int64_t kl;
                if (avro_typeof(s) == AVRO_MAP) { /* the entry's key, a string */
                    if (!(u = zz_get(*p, end, &kl)) || kl < 0 || kl > end - *p - (ptrdiff_t)u)
                        return -1;
                    *p += u + (size_t)kl;
                }
                if (av_skip(items, p, end, depth + 1))
                    return -1;
            }
        }
    }
    case AVRO_LINK: return av_skip(avro_schema_link_target(s), p, end, depth + 1);
    default: return -1;
    }
}

/* An emission reads its previous event for a few figures (utilisation's
 * deltas); decoding all of it with avro-c was 5-7 % of the service's time.
 * The stored frame is walked field by field instead (av_skip, bounds
 * checked) when it was written with the schema in force; a frame of another
 * schema (written before an upgrade) is decoded and resolved as before. */
int ol_fold_derived_prev_ints(ol_fold_ctx *ctx, const char *topic, const char *key, const char *const *names,
                              int32_t *out, int n, int32_t def)
{
    struct derived_io *d;
    MDB_val v;
    int32_t id;
    int found = stored_derived(ctx, topic, key, &d, &v);
    if (found != 1)
        return found;
    if (ol_codec_header(v.mv_data, v.mv_size, &id) != OL_CODEC_OK || id != d->schema->id) {
        avro_value_t *prev;
        if (ol_fold_derived_prev(ctx, topic, key, &prev) != 1)
            return -1;
        for (int i = 0; i < n; i++)
            out[i] = ol_av_int(prev, names[i], def);
        return 1;
    }
    for (int i = 0; i < n; i++)
        out[i] = def;
    avro_schema_t s = d->schema->avro;
    const uint8_t *p = (const uint8_t *)v.mv_data + OL_FRAME_HEADER, *end = (const uint8_t *)v.mv_data + v.mv_size;
    for (size_t f = 0; f < d->nfields; f++) {
        avro_schema_t fs = avro_schema_record_field_get_by_index(s, (int)f);
        const char *fname = avro_schema_record_field_name(s, (int)f);
        int want = -1;
        for (int i = 0; i < n && want < 0; i++)
            if (!strcmp(fname, names[i]))
                want = i;
        if (want >= 0) {
            /* an int, or a union whose current branch is an int (ol_av_int's reading) */
            int64_t x, branch;
            size_t u;
            if (fs && avro_typeof(fs) == AVRO_UNION) {
                if (!(u = zz_get(p, end, &branch)) || branch < 0 || (size_t)branch >= avro_schema_union_size(fs))
                    goto corrupt;
                p += u;
                fs = avro_schema_union_branch(fs, (int)branch);
            }
            if (fs && avro_typeof(fs) == AVRO_INT32) {
                if (!(u = zz_get(p, end, &x)) || x < INT32_MIN || x > INT32_MAX)
                    goto corrupt;
                p += u;
                out[want] = (int32_t)x;
                continue;
            }
        }
        if (av_skip(fs, &p, end, 0))
            goto corrupt;
    }
    if (p != end)
        goto corrupt;
    return 1;
corrupt:
    ol_error("stored derived event does not decode|topic=%s key=%s reason=\"its bytes do not follow the schema\"",
             topic, ol_log_q(key));
    return -1;
}

/* 1 when two frames of derived schema d hold the same content: the same
 * header (schema id) and equal bytes in every top-level field that is not
 * envelope or delta (Avro's binary form is the fields' encodings one after
 * the other, so each field is a span of bytes); 0 when they differ, -1 when
 * either does not parse. */
static int content_equal(const struct derived_io *d, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    avro_schema_t s = d->schema->avro;
    if (alen < OL_FRAME_HEADER || blen < OL_FRAME_HEADER)
        return -1;
    if (memcmp(a, b, OL_FRAME_HEADER))
        return 0; /* another writer schema: treated as a change */
    const uint8_t *pa = a + OL_FRAME_HEADER, *ea = a + alen, *pb = b + OL_FRAME_HEADER, *eb = b + blen;
    int same = 1;
    for (size_t i = 0; i < d->nfields; i++) {
        avro_schema_t f = avro_schema_record_field_get_by_index(s, (int)i);
        const uint8_t *sa = pa, *sb = pb;
        if (av_skip(f, &pa, ea, 0) || av_skip(f, &pb, eb, 0))
            return -1;
        if (same && !d->not_content[i] && (pa - sa != pb - sb || memcmp(sa, sb, (size_t)(pa - sa))))
            same = 0;
    }
    if (pa != ea || pb != eb)
        return -1;
    return same;
}

/* The envelope (event_id, key, revision) at the start of a frame's body:
 * its length, the event_id and the revision. 0 ok, -1 malformed. */
static int envelope_parse(const uint8_t *frame, size_t len, size_t *env_len, const char **eid, size_t *eid_len,
                          int64_t *revision)
{
    const uint8_t *p = frame + OL_FRAME_HEADER, *end = frame + len;
    int64_t n;
    size_t u;
    if (len < OL_FRAME_HEADER)
        return -1;
    for (int f = 0; f < 2; f++) { /* event_id, key */
        if (!(u = zz_get(p, end, &n)) || n < 0 || (uint64_t)n > (uint64_t)(end - p - (ptrdiff_t)u))
            return -1;
        if (f == 0) {
            *eid = (const char *)p + u;
            *eid_len = (size_t)n;
        }
        p += u + (size_t)n;
    }
    if (!(u = zz_get(p, end, revision)))
        return -1;
    p += u;
    *env_len = (size_t)(p - (frame + OL_FRAME_HEADER));
    return 0;
}

/* The emission of an event whose schema has its envelope first, given the
 * event's frame with a placeholder envelope (ol_codec_encode of a generic
 * value, or ol_drec_frame): no decoding of the previous event. Avro's binary form is
 * the concatenation of the fields, so the bytes after the envelope are the
 * same whatever the envelope holds, and content_equal compares the previous
 * frame's fields with the new one's, span by span, leaving the envelope and
 * the delta fields out. */
static int emit_frame(ol_fold_ctx *ctx, struct derived_io *d, const char *topic, const char *key,
                      const uint8_t *frame, size_t flen)
{
    ol_runtime *rt = ctx->rt;
    char eid[37];
    uint8_t *out = NULL;
    size_t klen = strlen(key), env_len, pel, peid_len;
    const char *peid;
    int64_t revision = 0, prev_rev;
    MDB_val prev;
    int rc, ret = -1;

    rc = derived_get(ctx, topic, key, &prev);
    if (rc && rc != MDB_NOTFOUND)
        return -1;
    if (envelope_parse(frame, flen, &env_len, &peid, &peid_len, &prev_rev))
        goto out;
    const uint8_t *body = frame + OL_FRAME_HEADER + env_len;
    size_t blen = flen - OL_FRAME_HEADER - env_len;
    if (rc == 0) {
        if (envelope_parse(prev.mv_data, prev.mv_size, &pel, &peid, &peid_len, &prev_rev)) {
            ol_error("stored derived event does not decode|topic=%s key=%s", topic, ol_log_q(key));
            goto out;
        }
        int same = content_equal(d, frame, flen, prev.mv_data, prev.mv_size);
        if (same < 0) {
            ol_error("derived event does not parse|topic=%s key=%s", topic, ol_log_q(key));
            goto out;
        }
        if (same) {
            ret = 0;
            goto out;
        }
        revision = prev_rev;
    }
    revision++;
    ol_derived_event_id(rt->svc->name, key, revision, eid);
    /* the frame: header, event_id, key, revision, then the body */
    size_t cap = OL_FRAME_HEADER + 10 + 36 + 10 + klen + 10 + blen;
    if (!(out = malloc(cap)))
        goto out;
    uint8_t *p = out;
    memcpy(p, frame, OL_FRAME_HEADER);
    p += OL_FRAME_HEADER;
    p += ol_codec_put_long(p, 36);
    memcpy(p, eid, 36);
    p += 36;
    p += ol_codec_put_long(p, (int64_t)klen);
    memcpy(p, key, klen);
    p += klen;
    p += ol_codec_put_long(p, revision);
    memcpy(p, body, blen);
    p += blen;
    size_t olen = (size_t)(p - out);
    MDB_val fv = {olen, out};
    if ((rc = derived_put(ctx, topic, key, &fv))) {
        ret = rc < 0 ? rc : -1;
        goto out;
    }
    if ((rc = ol_outbox_append(rt, ctx->txn, topic, key, klen, NULL, 0, out, olen))) {
        ret = rc < 0 ? rc : -1;
        goto out;
    }
    rt->counters[C_EMITTED]++;
    ol_metrics_emitted(rt->metrics, topic);
    ol_rt_release_tick(rt, 1); /* a flush can touch much of the map */
    ret = 1;
out:
    free(out);
    return ret;
}

static int emit_fast(ol_fold_ctx *ctx, struct derived_io *d, const char *topic, const char *key, avro_value_t *v)
{
    char err[300];
    uint8_t *frame = NULL;
    size_t flen;
    /* encode with a placeholder envelope: only the body is used */
    if (set_envelope(v, "", key, 0) || ol_codec_encode(d->schema, v, &frame, &flen, err, sizeof err)) {
        ol_error("cannot encode derived event|topic=%s key=%s error=%s", topic, ol_log_q(key), ol_log_q(err));
        return -1;
    }
    int ret = emit_frame(ctx, d, topic, key, frame, flen);
    free(frame);
    return ret;
}

ol_drec *ol_fold_new_rec(ol_fold_ctx *ctx, const char *topic)
{
    struct derived_io *d = derived_of(ctx->rt, topic);
    char why[300];
    if (!d)
        return NULL;
    if (!d->rec && !(d->rec = ol_drec_new(d->schema, why, sizeof why))) {
        ol_error("no builder for the derived topic|topic=%s error=\"%s\"", topic, why);
        return NULL;
    }
    ol_drec_clear(d->rec);
    return d->rec;
}

int ol_fold_emit_rec(ol_fold_ctx *ctx, const char *topic, const char *key, ol_drec *r)
{
    struct derived_io *d = derived_of(ctx->rt, topic);
    const uint8_t *frame;
    size_t flen;
    if (!d)
        return -1;
    if (r != d->rec) {
        ol_error("derived event built for another topic|topic=%s key=%s", topic, ol_log_q(key));
        return -1;
    }
    if (ol_drec_frame(r, key, &frame, &flen))
        return -1;
    return emit_frame(ctx, d, topic, key, frame, flen);
}

int ol_fold_emit(ol_fold_ctx *ctx, const char *topic, const char *key, avro_value_t *v)
{
    ol_runtime *rt = ctx->rt;
    struct derived_io *d = derived_of(rt, topic);
    char err[300], eid[37];
    uint8_t *frame = NULL;
    size_t flen;
    MDB_val prev;
    int64_t revision = 0;
    int rc, ret = -1;

    if (!d)
        return -1;
    if (d->envelope_first)
        return emit_fast(ctx, d, topic, key, v);
    rc = derived_get(ctx, topic, key, &prev);
    if (rc && rc != MDB_NOTFOUND)
        return -1;
    if (rc == 0) {
        /* same content? encode with the previous envelope and compare bytes */
        avro_value_t *pv;
        if (ol_fold_derived_prev(ctx, topic, key, &pv) != 1)
            return -1;
        avro_value_t f;
        int64_t prev_rev;
        const char *prev_eid;
        size_t l;
        if (avro_value_get_by_name(pv, "revision", &f, NULL) || avro_value_get_long(&f, &prev_rev) ||
            avro_value_get_by_name(pv, "event_id", &f, NULL) || avro_value_get_string(&f, &prev_eid, &l))
            return -1;
        revision = prev_rev;
        snprintf(eid, sizeof eid, "%s", prev_eid);
        if (set_envelope(v, eid, key, revision) || ol_codec_encode(d->schema, v, &frame, &flen, err, sizeof err))
            goto out;
        int same = content_equal(d, frame, flen, prev.mv_data, prev.mv_size);
        if (same < 0) {
            ol_error("derived event does not parse|topic=%s key=%s", topic, ol_log_q(key));
            goto out;
        }
        if (same) {
            ret = 0;
            goto out;
        }
        free(frame);
        frame = NULL;
    }
    revision++;
    ol_derived_event_id(rt->svc->name, key, revision, eid);
    if (set_envelope(v, eid, key, revision) || ol_codec_encode(d->schema, v, &frame, &flen, err, sizeof err)) {
        ol_error("cannot encode derived event|topic=%s key=%s", topic, ol_log_q(key));
        goto out;
    }
    MDB_val fv = {flen, frame};
    if ((rc = derived_put(ctx, topic, key, &fv))) {
        ret = rc < 0 ? rc : -1;
        goto out;
    }
    if ((rc = ol_outbox_append(rt, ctx->txn, topic, key, strlen(key), NULL, 0, frame, flen))) {
        ret = rc < 0 ? rc : -1;
        goto out;
    }
    rt->counters[C_EMITTED]++;
    ol_metrics_emitted(rt->metrics, topic);
    ret = 1;
out:
    free(frame);
    return ret;
}
