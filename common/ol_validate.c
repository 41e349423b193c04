/* ol_validate — the SPEC's validation rules (ol_validate, see ol_json.h),
 * apart from the mapping in ol_json.c because they apply to any Avro value,
 * decoded or mapped: dates and timestamps within range, ol.min/ol.max,
 * ol.format, non-empty ids, strings without NUL and of bounded size. They
 * are read from the schema's JSON (avro-c does not expose logical types or
 * "ol.*" attributes).
 *
 * String sizes (SPEC 4: a record the fold cannot store is a dead letter,
 * checked up front with the limit named): an identifier or a name the
 * services put into LMDB keys (a field named *_id, team, role, supplier,
 * client, bill_to, owner, source, currency, iso_week) holds at most
 * OL_ID_MAX_BYTES; a derived record's `key` at most OL_KEY_MAX_BYTES; any
 * other string at most OL_TEXT_MAX_BYTES. A field's "ol.max_bytes" attribute
 * overrides the default. Composite keys of three identifiers and a week stay
 * under LMDB's 511-byte key limit. A string holding a NUL byte is rejected
 * (C code would read it truncated: two ids that differ after the NUL would be
 * one), and so is one that is not UTF-8 (Avro strings are UTF-8; JSON
 * outputs could not carry it, and two spellings of one id would differ).
 *
 * An identifier that derived keys join with '|' (*_id but event_id, team, role)
 * must not hold '|': two keys would be one (key_part).
 *
 * Ranges: a field with "ol.not_before": "other" (a sibling field of the same
 * record, both dates or integers) must not be below that field when both
 * are present: a leave, allocation, engagement, employment or invoice period
 * that ends before it starts is a dead letter here, naming both values, in
 * every service alike, never a record one service folds and another
 * refuses in its fold. */
#include "ol_json_int.h"
#include "ol_escape.h"

#include "ol_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* timestamps the SPEC allows: [1970-01-01T00:00:00Z, 2101-01-01T00:00:00Z) */
#define OL_TS_END ((int64_t)(OL_DATE_MAX + 1) * DAY_MS)

/* an ol.* attribute: on the field object first, then on the type object */
static json_t *attr(json_t *field, const jt_type *t, const char *name)
{
    json_t *a = json_is_object(field) ? json_object_get(field, name) : NULL;
    return a || t->kind == K_UNION ? a : json_object_get(t->obj, name);
}

static int check_bounds(jt_ctx *c, json_t *field, const jt_type *t, int64_t x)
{
    json_t *min = attr(field, t, "ol.min"), *max = attr(field, t, "ol.max");
    char shown[OL_JSON_SHOW + 8];

    if (json_is_integer(min) ? x < json_integer_value(min) : json_is_real(min) && (double)x < json_real_value(min)) {
        ol_jt_render(min, shown);
        return ol_jt_fail(c, "%lld below minimum %s", (long long)x, shown);
    }
    if (json_is_integer(max) ? x > json_integer_value(max) : json_is_real(max) && (double)x > json_real_value(max)) {
        ol_jt_render(max, shown);
        return ol_jt_fail(c, "%lld above maximum %s", (long long)x, shown);
    }
    return 0;
}

static const char *const id_fields[] = {"team",  "role",   "supplier", "client",   "bill_to",
                                         "owner", "source", "currency", "iso_week", NULL};

size_t ol_validate_string_limit(const char *name, long long attr_max)
{
    if (attr_max > 0)
        return (size_t)attr_max;
    if (!name)
        return OL_TEXT_MAX_BYTES;
    size_t n = strlen(name);
    if (!strcmp(name, "key"))
        return OL_KEY_MAX_BYTES;
    if (n >= 3 && !strcmp(name + n - 3, "_id"))
        return OL_ID_MAX_BYTES;
    for (size_t i = 0; id_fields[i]; i++)
        if (!strcmp(name, id_fields[i]))
            return OL_ID_MAX_BYTES;
    return OL_TEXT_MAX_BYTES;
}

/* 1 for a field whose value derived keys join with '|' (SPEC 2: person_id +
 * week, engagement_id + person_id + week or expense_id, role + week, team +
 * week, ...): every *_id but event_id (never part of a key), team and role.
 * Such a value holding '|' would make two keys one: an expense_id
 * "G1|P1|2026-W46" named a time line. */
static int key_part(json_t *field)
{
    const char *name = json_is_object(field) ? json_string_value(json_object_get(field, "name")) : NULL;
    size_t n = name ? strlen(name) : 0;
    return name && ((n >= 3 && !strcmp(name + n - 3, "_id") && strcmp(name, "event_id")) || !strcmp(name, "team") ||
                    !strcmp(name, "role"));
}

/* the size limit of a string field (see the top of this file) */
static size_t string_limit(json_t *field, const jt_type *t)
{
    json_t *m = attr(field, t, "ol.max_bytes");
    const char *name = json_is_object(field) ? json_string_value(json_object_get(field, "name")) : NULL;
    return ol_validate_string_limit(name, json_is_integer(m) ? json_integer_value(m) : 0);
}

/* the offset of the first byte of s[0..n) that is not well-formed UTF-8
 * (ol_utf8_len_at), or n when all of it is */
static size_t utf8_bad_at(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        if (i + 8 <= n) { /* eight ASCII bytes at a time: ids are ASCII */
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (!(w & 0x8080808080808080ULL)) {
                i += 8;
                continue;
            }
        }
        size_t len = ol_utf8_len_at(s + i, n - i);
        if (!len)
            return i;
        i += len;
    }
    return n;
}

static int check_string(jt_ctx *c, json_t *field, const jt_type *t, const char *str, size_t n)
{
    const char *fmt = json_string_value(attr(field, t, "ol.format"));
    const char *nul = memchr(str, '\0', n);
    size_t limit = string_limit(field, t);
    int ok, rc;
    json_t *js;
    ol_week w;

    if (nul)
        return ol_jt_fail(c, "holds a NUL byte at byte %zu (strings must not contain NUL)", (size_t)(nul - str));
    if (n > limit)
        return ol_jt_fail(c, "%zu bytes, longer than the limit of %zu bytes for this field", n, limit);
    size_t bad = utf8_bad_at(str, n);
    if (bad < n)
        return ol_jt_fail(c, "not UTF-8: byte %zu is 0x%02x (Avro strings are UTF-8)", bad,
                          (unsigned)(unsigned char)str[bad]);
    const char *bar = key_part(field) ? memchr(str, '|', n) : NULL;
    if (bar)
        return ol_jt_fail(c, "holds '|' at byte %zu, the separator of derived keys (an identifier must not "
                             "contain it)",
                          (size_t)(bar - str));
    if (!fmt)
        return 0;
    if (!strcmp(fmt, "iso_week"))
        ok = strlen(str) == n && ol_week_parse(str, &w) == 0;
    else if (!strcmp(fmt, "currency"))
        ok = n == 3 && str[0] >= 'A' && str[0] <= 'Z' && str[1] >= 'A' && str[1] <= 'Z' && str[2] >= 'A' &&
             str[2] <= 'Z';
    else
        return ol_jt_fail(c, "schema: unknown ol.format \"%s\"", fmt);
    if (ok)
        return 0;
    js = ol_jt_str(str, n);
    rc = ol_jt_bad(c, strcmp(fmt, "iso_week") ? "currency of 3 letters A-Z" : "ISO week YYYY-Www", js, NULL);
    json_decref(js);
    return rc;
}

/* SPEC: the top-level event_id and entity id strings must not be empty */
static int check_not_empty(jt_ctx *c, const char *name, avro_value_t *v)
{
    avro_value_t inner = *v;
    const char *str;
    size_t size;

    if (strcmp(name, "event_id") && (!c->s->entity_field || strcmp(name, c->s->entity_field)))
        return 0;
    if (avro_value_get_type(v) == AVRO_UNION && avro_value_get_current_branch(v, &inner))
        return ol_jt_fail(c, "union has no branch selected");
    if (avro_value_get_type(&inner) != AVRO_STRING)
        return 0;
    if (avro_value_get_string(&inner, &str, &size) || size <= 1 || str[0] == '\0')
        return ol_jt_fail(c, "empty");
    return 0;
}

/* an int or long value, through a union's current branch: 0 with *x set, 1
 * null (or no branch), -1 another type */
static int int_value(avro_value_t *v, int64_t *x)
{
    avro_value_t b;
    int32_t i32;
    if (avro_value_get_type(v) == AVRO_UNION) {
        if (avro_value_get_current_branch(v, &b))
            return 1;
        v = &b;
    }
    switch (avro_value_get_type(v)) {
    case AVRO_NULL:
        return 1;
    case AVRO_INT32:
        if (avro_value_get_int(v, &i32))
            return -1;
        *x = i32;
        return 0;
    case AVRO_INT64:
        return avro_value_get_long(v, x) ? -1 : 0;
    default:
        return -1;
    }
}

static int is_date_type(json_t *node)
{
    json_t *b;
    size_t i;
    if (json_is_array(node)) {
        json_array_foreach(node, i, b) if (is_date_type(b)) return 1;
        return 0;
    }
    return json_is_object(node) && json_is_string(json_object_get(node, "logicalType")) &&
           !strcmp(json_string_value(json_object_get(node, "logicalType")), "date");
}

/* "ol.not_before": the field f of record value v must not be below its
 * sibling (see the top of this file); called with f's name pushed */
static int check_not_before(jt_ctx *c, json_t *fields, json_t *f, avro_value_t *v)
{
    const char *other = json_string_value(json_object_get(f, "ol.not_before"));
    const char *name = json_string_value(json_object_get(f, "name"));
    avro_value_t a, b;
    int64_t x, y;
    char tx[25], ty[25];
    json_t *g;
    size_t i;
    if (!other)
        return 0;
    json_array_foreach(fields, i, g) if (json_is_string(json_object_get(g, "name")) &&
                                         !strcmp(json_string_value(json_object_get(g, "name")), other)) break;
    if (i == json_array_size(fields) || avro_value_get_by_name(v, name, &a, NULL) ||
        avro_value_get_by_name(v, other, &b, NULL))
        return ol_jt_fail(c, "schema: ol.not_before names \"%s\", which is not a field of this record", other);
    int ra = int_value(&a, &x), rb = int_value(&b, &y);
    if (ra < 0 || rb < 0)
        return ol_jt_fail(c, "schema: ol.not_before compares \"%s\", which is not a date or an integer", other);
    if (ra || rb || x >= y)
        return 0;
    if (is_date_type(json_object_get(f, "type")) && DAYS_SHOWABLE(x) && DAYS_SHOWABLE(y)) {
        ol_date_format((int32_t)x, tx);
        ol_date_format((int32_t)y, ty);
    } else {
        snprintf(tx, sizeof tx, "%lld", (long long)x);
        snprintf(ty, sizeof ty, "%lld", (long long)y);
    }
    return ol_jt_fail(c, "%s is before %s %s: a range must not end before it starts", tx, other, ty);
}

static int validate(jt_ctx *c, json_t *node, json_t *field, avro_value_t *v, int depth)
{
    int top = c->path[0] == '\0', disc, rc;
    const char *str, *key, *name;
    avro_value_t child;
    size_t size, i, mark;
    char text[25];
    int32_t i32;
    int64_t i64;
    jt_type t;
    json_t *f;

    if (ol_jt_resolve(c, node, v, &t, depth))
        return -1;
    switch (t.kind) {
    case K_RECORD:
        json_array_foreach(json_object_get(t.obj, "fields"), i, f) {
            if (!(name = json_string_value(json_object_get(f, "name"))) ||
                avro_value_get_by_name(v, name, &child, NULL))
                return ol_jt_fail(c, "schema: avro record %s has no field %zu", t.name, i);
            mark = ol_jt_push(c, name, 0);
            rc = validate(c, json_object_get(f, "type"), f, &child, depth + 1);
            if (rc == 0 && top)
                rc = check_not_empty(c, name, &child);
            ol_jt_pop(c, mark);
            if (rc)
                return -1;
        }
        json_array_foreach(json_object_get(t.obj, "fields"), i, f) { /* the fields are valid: now their ranges */
            mark = ol_jt_push(c, json_string_value(json_object_get(f, "name")), 0);
            rc = check_not_before(c, json_object_get(t.obj, "fields"), f, v);
            ol_jt_pop(c, mark);
            if (rc)
                return -1;
        }
        return 0;
    case K_UNION: /* the field's attributes apply to the non-null branch */
        if (avro_value_get_discriminant(v, &disc) || disc < 0 || avro_value_get_current_branch(v, &child))
            return ol_jt_fail(c, "union has no branch selected");
        return validate(c, json_array_get(t.obj, (size_t)disc), field, &child, depth + 1);
    case K_ARRAY:
    case K_MAP:
        if (avro_value_get_size(v, &size))
            return ol_jt_fail(c, "avro: %s", avro_strerror());
        for (i = 0; i < size; i++) {
            key = NULL;
            if (avro_value_get_by_index(v, i, &child, &key))
                return ol_jt_fail(c, "avro: %s", avro_strerror());
            mark = ol_jt_push(c, t.kind == K_MAP ? (key ? key : "?") : NULL, i);
            rc = validate(c, json_object_get(t.obj, t.kind == K_ARRAY ? "items" : "values"), NULL, &child,
                          depth + 1);
            ol_jt_pop(c, mark);
            if (rc)
                return -1;
        }
        return 0;
    case K_INT:
        if (avro_value_get_int(v, &i32))
            return ol_jt_fail(c, "avro: %s", avro_strerror());
        if (t.logical != LT_DATE)
            return check_bounds(c, field, &t, i32);
        if (i32 >= OL_DATE_MIN && i32 <= OL_DATE_MAX)
            return 0;
        if (!DAYS_SHOWABLE(i32))
            return ol_jt_fail(c, "day %d outside 1970-01-01..2100-12-31", (int)i32);
        ol_date_format(i32, text);
        return ol_jt_fail(c, "%s outside 1970-01-01..2100-12-31", text);
    case K_LONG:
        if (avro_value_get_long(v, &i64))
            return ol_jt_fail(c, "avro: %s", avro_strerror());
        if (t.logical != LT_TS_MILLIS)
            return check_bounds(c, field, &t, i64);
        if (i64 >= 0 && i64 < OL_TS_END)
            return 0;
        if (!DAYS_SHOWABLE(i64 / DAY_MS - (i64 < 0)))
            snprintf(text, sizeof text, "%lld ms", (long long)i64);
        else
            ol_ts_format(i64, text);
        return ol_jt_fail(c, "%s outside 1970-01-01T00:00:00Z..2100-12-31T23:59:59.999Z", text);
    case K_STRING:
        if (avro_value_get_string(v, &str, &size))
            return ol_jt_fail(c, "avro: %s", avro_strerror());
        return check_string(c, field, &t, str, size ? size - 1 : 0);
    default:
        return 0;
    }
}

/* ------------------------------------------------------------ compiled
 * The same rules as validate() above, resolved once per schema: a tree of
 * nodes, record fields by index. check() is the fast path: it returns 0
 * only when validate() would, and anything it does not like (including a
 * value of an unexpected shape) sends the record to validate(), which
 * writes the message. So the messages stay validate()'s. */
enum { F_NONE, F_ISO_WEEK, F_CURRENCY };

struct ol_vprog {
    enum jt_kind kind;
    enum jt_logical logical;
    avro_type_t atype;
    int fmt;             /* F_*: ol.format of a string */
    size_t max_bytes;    /* a string's size limit */
    int key_part;        /* a string derived keys join with '|' (key_part()) */
    int not_empty;       /* top-level event_id or entity id */
    size_t not_before;   /* ol.not_before: 1 + the index of the sibling this field must not be below (0: none) */
    int has_min, has_max;
    int min_real, max_real;
    int64_t min, max;
    double rmin, rmax;
    size_t n;            /* children: record fields, union branches, array items / map values (1) */
    struct ol_vprog **child;
};

void ol_validate_free(struct ol_vprog *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        ol_validate_free(p->child[i]);
    free(p->child);
    free(p);
}

/* an ol.min/ol.max attribute into the node; -1 when it has a type the
 * fast path does not take (validate() decides then) */
static int compile_bound(json_t *a, int *has, int *real, int64_t *i, double *r)
{
    if (!a)
        return 0;
    if (json_is_integer(a))
        *has = 1, *i = json_integer_value(a);
    else if (json_is_real(a))
        *has = 1, *real = 1, *r = json_real_value(a);
    return 0;
}

static struct ol_vprog *compile(const ol_schema *s, json_t *node, json_t *field, int depth, int top_record)
{
    struct ol_vprog *p;
    jt_type t;
    size_t i;
    json_t *f;

    if (depth > OL_JSON_MAX_DEPTH || ol_jt_type(s, node, &t))
        return NULL;
    if (!(p = calloc(1, sizeof *p)))
        return NULL;
    p->kind = t.kind;
    p->logical = t.logical;
    p->atype = ol_jt_avro_type(t.kind);
    switch (t.kind) {
    case K_RECORD: {
        json_t *fields = json_object_get(t.obj, "fields");
        p->n = json_array_size(fields);
        if (p->n && !(p->child = calloc(p->n, sizeof *p->child)))
            goto fail;
        json_array_foreach(fields, i, f) {
            const char *name = json_string_value(json_object_get(f, "name"));
            if (!name || !(p->child[i] = compile(s, json_object_get(f, "type"), f, depth + 1, 0)))
                goto fail;
            const char *other = json_string_value(json_object_get(f, "ol.not_before"));
            json_t *g;
            size_t j;
            if (other) {
                json_array_foreach(fields, j, g) if (json_is_string(json_object_get(g, "name")) &&
                                                     !strcmp(json_string_value(json_object_get(g, "name")), other)) break;
                if (j == p->n)
                    goto fail; /* a schema error: validate() names it for every record */
                p->child[i]->not_before = j + 1;
            }
            if (top_record &&
                (!strcmp(name, "event_id") || (s->entity_field && !strcmp(name, s->entity_field))))
                p->child[i]->not_empty = 1;
        }
        return p;
    }
    case K_UNION:
        p->n = json_array_size(t.obj);
        if (p->n && !(p->child = calloc(p->n, sizeof *p->child)))
            goto fail;
        json_array_foreach(t.obj, i, f) {
            if (!(p->child[i] = compile(s, f, field, depth + 1, 0)))
                goto fail;
        }
        return p;
    case K_ARRAY:
    case K_MAP:
        p->n = 1;
        if (!(p->child = calloc(1, sizeof *p->child)) ||
            !(p->child[0] = compile(s, json_object_get(t.obj, t.kind == K_ARRAY ? "items" : "values"), NULL,
                                    depth + 1, 0)))
            goto fail;
        return p;
    case K_INT:
    case K_LONG:
        if ((t.kind == K_INT && t.logical == LT_DATE) || (t.kind == K_LONG && t.logical == LT_TS_MILLIS))
            return p;
        if (compile_bound(attr(field, &t, "ol.min"), &p->has_min, &p->min_real, &p->min, &p->rmin) ||
            compile_bound(attr(field, &t, "ol.max"), &p->has_max, &p->max_real, &p->max, &p->rmax))
            goto fail;
        return p;
    case K_STRING: {
        json_t *fj = attr(field, &t, "ol.format");
        const char *fmt = json_string_value(fj);
        p->max_bytes = string_limit(field, &t);
        p->key_part = key_part(field);
        if (fj && !fmt)
            return p; /* a non-string ol.format: validate() ignores it too */
        if (!fmt)
            p->fmt = F_NONE;
        else if (!strcmp(fmt, "iso_week"))
            p->fmt = F_ISO_WEEK;
        else if (!strcmp(fmt, "currency"))
            p->fmt = F_CURRENCY;
        else
            goto fail; /* unknown format: every record goes through validate() */
        return p;
    }
    default:
        return p;
    }
fail:
    ol_validate_free(p);
    return NULL;
}

struct ol_vprog *ol_validate_compile(const ol_schema *s)
{
    if (!s || !s->json)
        return NULL;
    return compile(s, s->json, NULL, 0, 1);
}

static int out_of_bounds(const struct ol_vprog *p, int64_t x)
{
    if (p->has_min && (p->min_real ? (double)x < p->rmin : x < p->min))
        return 1;
    if (p->has_max && (p->max_real ? (double)x > p->rmax : x > p->max))
        return 1;
    return 0;
}

/* 0: valid (validate() agrees); -1: let validate() decide and explain */
static int check(const struct ol_vprog *p, avro_value_t *v)
{
    avro_value_t child;
    const char *str;
    size_t size;
    int32_t i32;
    int64_t i64;
    int disc;

    if (avro_value_get_type(v) != p->atype)
        return -1;
    if (p->not_empty) { /* the string, or the union's current string branch */
        avro_value_t inner = *v;
        if (p->kind == K_UNION && avro_value_get_current_branch(v, &inner))
            return -1;
        if (avro_value_get_type(&inner) == AVRO_STRING &&
            (avro_value_get_string(&inner, &str, &size) || size <= 1 || str[0] == '\0'))
            return -1;
    }
    switch (p->kind) {
    case K_RECORD:
        if (avro_value_get_size(v, &size) || size != p->n)
            return -1;
        for (size_t i = 0; i < p->n; i++)
            if (avro_value_get_by_index(v, i, &child, NULL) || check(p->child[i], &child))
                return -1;
        for (size_t i = 0; i < p->n; i++) {
            avro_value_t other;
            int64_t x, y;
            if (!p->child[i]->not_before)
                continue;
            if (avro_value_get_by_index(v, i, &child, NULL) ||
                avro_value_get_by_index(v, p->child[i]->not_before - 1, &other, NULL))
                return -1;
            int ra = int_value(&child, &x), rb = int_value(&other, &y);
            if (ra < 0 || rb < 0 || (!ra && !rb && x < y))
                return -1;
        }
        return 0;
    case K_UNION:
        if (avro_value_get_discriminant(v, &disc) || disc < 0 || (size_t)disc >= p->n ||
            avro_value_get_current_branch(v, &child))
            return -1;
        return check(p->child[disc], &child);
    case K_ARRAY:
    case K_MAP:
        if (avro_value_get_size(v, &size))
            return -1;
        for (size_t i = 0; i < size; i++)
            if (avro_value_get_by_index(v, i, &child, NULL) || check(p->child[0], &child))
                return -1;
        return 0;
    case K_INT:
        if (avro_value_get_int(v, &i32))
            return -1;
        if (p->logical == LT_DATE)
            return i32 >= OL_DATE_MIN && i32 <= OL_DATE_MAX ? 0 : -1;
        return out_of_bounds(p, i32) ? -1 : 0;
    case K_LONG:
        if (avro_value_get_long(v, &i64))
            return -1;
        if (p->logical == LT_TS_MILLIS)
            return i64 >= 0 && i64 < OL_TS_END ? 0 : -1;
        return out_of_bounds(p, i64) ? -1 : 0;
    case K_STRING: {
        ol_week w;
        if (avro_value_get_string(v, &str, &size))
            return -1;
        size_t n = size ? size - 1 : 0;
        if (n > p->max_bytes || memchr(str, '\0', n) || utf8_bad_at(str, n) < n ||
            (p->key_part && memchr(str, '|', n)))
            return -1;
        if (p->fmt == F_NONE)
            return 0;
        if (p->fmt == F_ISO_WEEK)
            return strlen(str) == n && ol_week_parse(str, &w) == 0 ? 0 : -1;
        return n == 3 && str[0] >= 'A' && str[0] <= 'Z' && str[1] >= 'A' && str[1] <= 'Z' && str[2] >= 'A' &&
                       str[2] <= 'Z'
                   ? 0
                   : -1;
    }
    default:
        return 0;
    }
}

int ol_validate(const ol_schema *s, avro_value_t *v, char *err, size_t errlen)
{
    jt_ctx c = {.s = s, .err = err, .errlen = errlen};

    if (!s || !s->json || !v)
        return ol_jt_fail(&c, "no schema or value");
    if (s->vprog && check(s->vprog, v) == 0)
        return 0;
    return validate(&c, s->json, NULL, v, 0);
}
