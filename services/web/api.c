/* api — the JSON (and CSV) API under /api/v1/: one table of endpoints, each
 * a topic of the read model, how its rows are grouped (week, day, none),
 * the filters it takes and the roles that may read it; plus `history`,
 * billing `explain` and `weeks`. Every answer is as of an instant (as_of=),
 * with what the caller's role may not read removed (web_redact). The same
 * rows feed the pages (web_api_rows), so a page shows the API's figures. */
#include "ol_escape.h"
#include "ol_time.h"
#include "web.h"
#include "ol_json.h"
#include "web_api.h"
#include "web_cache.h"

#include "ol_log.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const web_endpoint endpoints[] = {
    {"utilisation", "ops.utilisation.weekly", G_WEEK, WEB_ALL,
     {{"scope", "scope", 1}, {"id", "scope_id", 0}, {"team", "team", 0}}},
    {"missing", "ops.timesheet.missing", G_WEEK, WEB_ALL, {{"person", "person_id", 0}, {"team", "team", 0}}},
    {"billing", "finance.billing.line", G_WEEK, WEB_EXEC | WEB_FINANCE,
     {{"client", "client", 0}, {"engagement", "engagement_id", 0}, {"person", "person_id", 0}, {"kind", "kind", 1}}},
    {"contractors", "finance.contractor.reconciliation", G_NONE, WEB_EXEC | WEB_FINANCE,
     {{"person", "person_id", 0}, {"status", "status", 1}, {"supplier", "supplier", 0}}},
    {"expenses", "finance.expense", G_PARAM, WEB_EXEC | WEB_FINANCE, {{"engagement", "engagement_id", 0}}},
    {"forecast/weekly", "ops.forecast.weekly", G_WEEK, WEB_ALL,
     {{"scope", "scope", 1}, {"id", "scope_id", 0}}},
    {"forecast/engagements", "ops.forecast.engagement", G_NONE, WEB_ALL, {{"engagement", "engagement_id", 0}}},
    {"forecast/demand", "ops.forecast.demand", G_WEEK, WEB_ALL, {{"role", "role", 0}}},
    {"delivery", "ops.delivery.status", G_WEEK, WEB_ALL,
     {{"rag", "rag", 1}, {"engagement", "engagement_id", 0}, {"client", "client", 0}}},
    {"cover", "ops.cover.gaps", G_DAY, WEB_ALL, {{"service", "service_id", 0}}},
    {"people", "hr.person", G_NONE, WEB_ALL, {{"team", "team", 0}, {"person", "person_id", 0}}},
    {"engagements", "delivery.engagement", G_NONE, WEB_ALL, {{"client", "client", 0}, {"engagement", "engagement_id", 0}}},
    {"risks", "delivery.risk", G_PARAM, WEB_ALL, {{"engagement", "engagement_id", 0}, {"status", "status", 1}}},
    {"leave", "hr.leave", G_PARAM, WEB_EXEC | WEB_OPS, {{"person", "person_id", 0}}},
    /* grouped by person (one range scan); ?engagement= alone scans the
     * topic's groups as of the instant and keeps that engagement's rows.
     * The schema has no rate or amount: nothing to remove for ops. */
    {"allocations", "delivery.allocation", G_PARAM, WEB_ALL,
     {{"person", "person_id", 0}, {"engagement", "engagement_id", 0}, {"status", "status", 1}}},
    {"periods", "finance.period", G_NONE, WEB_ALL, {{0}}},
    {"headcount", "ops.headcount.weekly", G_WEEK, WEB_ALL, {{"scope", "scope", 1}, {"id", "scope_id", 0}}},
    {"margin", "finance.margin.weekly", G_WEEK, WEB_EXEC | WEB_FINANCE,
     {{"engagement", "engagement_id", 0}, {"kind", "kind", 1}}},
};

const web_endpoint *web_endpoint_find(const char *name)
{
    for (size_t i = 0; i < sizeof endpoints / sizeof endpoints[0]; i++)
        if (!strcmp(endpoints[i].name, name))
            return &endpoints[i];
    return NULL;
}

const web_endpoint *web_endpoint_of_topic(const char *topic)
{
    for (size_t i = 0; i < sizeof endpoints / sizeof endpoints[0]; i++)
        if (!strcmp(endpoints[i].topic, topic))
            return &endpoints[i];
    return NULL;
}

const char *web_arg(const web_req *q, const char *name)
{
    for (int i = q->nover - 1; i >= 0; i--)
        if (!strcmp(q->over[i][0], name))
            return q->over[i][1];
    return ol_http_app_arg(q->http, name);
}

int web_set_arg(web_req *q, const char *name, const char *value)
{
    for (int i = 0; i < q->nover; i++)
        if (!strcmp(q->over[i][0], name)) {
            q->over[i][1] = value;
            return 0;
        }
    if (q->nover >= 8)
        return -1;
    q->over[q->nover][0] = name;
    q->over[q->nover][1] = value;
    q->nover++;
    return 0;
}

/* ops reads no money: amounts, day rates, day costs, budgets, rate cards */
static int is_money(const char *field)
{
    size_t n = strlen(field);
    return (n > 6 && !strcmp(field + n - 6, "_minor")) || !strcmp(field, "rate_card");
}

void web_redact(json_t *rec, const char *topic, int role)
{
    const char *k;
    json_t *v;
    void *tmp;
    if (!json_is_object(rec))
        return;
    if (role == WEB_OPS) {
        json_object_foreach_safe(rec, tmp, k, v)
        {
            if (is_money(k))
                json_object_del(rec, k);
            else if (json_is_array(v)) {
                size_t i;
                json_t *e;
                json_array_foreach(v, i, e) web_redact(e, topic, role);
            }
        }
    }
    /* finance never reads a leave kind (sickness is health data) */
    if (role == WEB_FINANCE && topic && !strcmp(topic, "hr.leave"))
        json_object_del(rec, "kind");
}

int web_json_error(ol_http_resp *r, int status, const char *param, const char *msg)
{
    json_t *o = json_pack("{s:o,s:o,s:i}", "error", ol_esc_json_str(msg), "parameter",
                          param ? ol_esc_json_str(param) : json_null(), "status", status);
    char *s = o ? ol_esc_json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (!s)
        return -1;
    r->status = status;
    r->content_type = "application/json";
    r->len = strlen(s);
    r->body = s;
    return 0;
}

/* ---------------------------------------------------------------- rows */
struct collect {
    const web_endpoint *ep;
    const web_req *q;
    json_t *items; /* the rows parsed (web_api_rows), or */
    web_buf *text; /* the rows' JSON text, comma-separated (web_api_json) */
    size_t count;
    int fail;
};

static int matches(const web_endpoint *ep, const web_req *q, json_t *rec)
{
    for (int i = 0; i < 5 && ep->f[i].param; i++) {
        const char *want = web_arg(q, ep->f[i].param);
        if (!want || !*want)
            continue;
        const char *have = json_string_value(json_object_get(rec, ep->f[i].field));
        if (!have || (ep->f[i].upper ? strcasecmp(have, want) : strcmp(have, want)))
            return 0;
    }
    return 1;
}

/* the filters against a row's text: 1 match, 0 not, -1 cannot tell unparsed */
static int raw_matches(const web_endpoint *ep, const web_req *q, const char *json, size_t len)
{
    for (int i = 0; i < 5 && ep->f[i].param; i++) {
        const char *want = web_arg(q, ep->f[i].param), *have;
        size_t hl;
        if (!want || !*want)
            continue;
        int k = web_json_field(json, len, ep->f[i].field, &have, &hl);
        if (k <= 0)
            return k; /* absent or not a string: as matches() (no match); or unknown */
        if (hl != strlen(want) || (ep->f[i].upper ? strncasecmp(have, want, hl) : memcmp(have, want, hl)))
            return 0;
    }
    return 1;
}

/* 1 when the stored text is already the served text for this role: nothing
 * to redact, and ASCII without DEL (ol_esc_json_dumps escapes the rest) */
static int servable(const struct collect *c, const char *json, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)json[i] >= 0x7F)
            return 0;
    if (c->q->role == WEB_OPS &&
        (memmem(json, len, "_minor\":", 8) || memmem(json, len, "\"rate_card\"", 11)))
        return 0;
    if (c->q->role == WEB_FINANCE && !strcmp(c->ep->topic, "hr.leave"))
        return 0;
    return 1;
}

/* 1 for a utilisation PERSON row that says the row is gone: the service
 * deletes a person-week's row when the person is neither employed in a
 * window week nor has logged time in it, and publishes the key once more
 * with zero capacity and zero logged time (services/utilisation/fold.c).
 * The API leaves it out, as `query utilisation` (the projection) does; a
 * kept row always has capacity or logged time. `history` still lists it. */
static int gone(const struct collect *c, const char *json, size_t len)
{
    static const char *const names[] = {"scope", "capacity_minutes", "logged_minutes"};
    web_jfield f[3];
    if (strcmp(c->ep->topic, "ops.utilisation.weekly") || web_json_scalars(json, len, names, 3, f))
        return 0;
    return f[0].kind == 2 && f[0].n == 6 && !memcmp(f[0].p, "PERSON", 6) && f[1].kind == 1 && f[1].n == 1 &&
           f[1].p[0] == '0' && f[2].kind == 1 && f[2].n == 1 && f[2].p[0] == '0';
}

static int text_row(void *ctx, const char *key, int64_t rev, int64_t ts, const char *json, size_t len)
{
    struct collect *c = ctx;
    if (gone(c, json, len))
        return 0;
    int m = raw_matches(c->ep, c->q, json, len);
    if (m == 0)
        return 0;
    if (m == 1 && servable(c, json, len)) {
        if (c->count++)
            wb_put(c->text, ",", 1);
        wb_put(c->text, json, len);
        return 0;
    }
    /* this row alone: parsed, filtered, redacted, serialised as web_answer_json would */
    json_t *rec = json_loadb(json, len, 0, NULL);
    char *s = NULL;
    if (!rec) {
        c->fail = 1;
        return 1;
    }
    if (!matches(c->ep, c->q, rec)) {
        json_decref(rec);
        return 0;
    }
    (void)key, (void)rev, (void)ts;
    web_redact(rec, c->ep->topic, c->q->role);
    s = ol_esc_json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(rec);
    if (!s) {
        c->fail = 1;
        return 1;
    }
    if (c->count++)
        wb_put(c->text, ",", 1);
    wb_puts(c->text, s);
    free(s);
    return 0;
}

int web_row_redacts(const char *topic, int role, const char *json, size_t len)
{
    if (role == WEB_OPS)
        return memmem(json, len, "_minor\":", 8) || memmem(json, len, "\"rate_card\"", 11);
    return role == WEB_FINANCE && !strcmp(topic, "hr.leave");
}

/* a row for web_api_rows: parsed only when its text may match the filters
 * (a page reading the ORG rows of 12 weeks skips 5,000 people's a week
 * unparsed), through the row cache (shared: copied before redaction),
 * then filtered as collect_row */
static int parse_row(void *ctx, const char *key, int64_t rev, int64_t ts, const char *json, size_t len)
{
    struct collect *c = ctx;
    (void)ts;
    if (gone(c, json, len) || raw_matches(c->ep, c->q, json, len) == 0)
        return 0;
    json_t *rec = web_rowcache_get(c->q->m->rows, c->ep->topic, key, rev, json, len);
    if (rec && !matches(c->ep, c->q, rec)) {
        json_decref(rec);
        return 0;
    }
    if (rec && web_row_redacts(c->ep->topic, c->q->role, json, len)) {
        json_t *cp = json_deep_copy(rec);
        json_decref(rec);
        if ((rec = cp))
            web_redact(rec, c->ep->topic, c->q->role);
    }
    if (!rec || json_array_append_new(c->items, rec)) {
        c->fail = 1;
        return 1;
    }
    return 0;
}

/* The keys of the topics whose schema documents them as SCOPE|scope_id|week
 * start with what ?scope= (and ?id=) ask for: the scan can seek to them
 * (the ORG row of a week is one key beside 5,000 people's). The filters
 * still check every row, so the prefix only skips rows they would drop. */
static void key_prefix(const struct collect *c, char *out, size_t n)
{
    const char *scope = web_arg(c->q, "scope"), *id = web_arg(c->q, "id");
    size_t i;
    out[0] = '\0';
    if (strcmp(c->ep->topic, "ops.utilisation.weekly") && strcmp(c->ep->topic, "ops.forecast.weekly"))
        return;
    if (!scope || !*scope || strlen(scope) + (id ? strlen(id) : 0) + 3 > n || strchr(scope, '|'))
        return;
    for (i = 0; scope[i]; i++)
        out[i] = (char)toupper((unsigned char)scope[i]);
    out[i++] = '|';
    out[i] = '\0';
    if (id && *id && !strchr(id, '|'))
        snprintf(out + i, n - i, "%s|", id);
}

/* one group's rows into c (parsed or as text) */
static int scan_group(struct collect *c, const char *group, char *err, size_t errlen)
{
    const web_req *q = c->q;
    char prefix[300];
    key_prefix(c, prefix, sizeof prefix);
    return web_scan_raw(q->m, q->txn, c->ep->topic, group, prefix, q->as_of, c->text ? text_row : parse_row, c, err,
                        errlen) ||
                   c->fail
               ? -1
               : 0;
}

/* reads a week argument: 0 ok, else the reply (400 malformed, 404 unknown) is set */
static int week_arg(web_req *q, const char *name, const char *s, int must_know, ol_week *w, ol_http_resp *r,
                    int *answered)
{
    char msg[300];
    if (ol_week_parse(s, w)) {
        snprintf(msg, sizeof msg, "parameter %s: \"%.40s\" is not an ISO week like 2026-W46", name, s);
        *answered = 1;
        return web_json_error(r, 400, name, msg);
    }
    if (must_know) {
        int k = web_week_known(q->m, q->txn, s, q->as_of);
        if (k < 0)
            return -1;
        if (!k) {
            snprintf(msg, sizeof msg, "parameter %s: no data for week %s%s", name, s,
                     q->as_of_text[0] ? " as of that instant" : "");
            *answered = 1;
            return web_json_error(r, 404, name, msg);
        }
    }
    return 0;
}

/* the rows of ep for the request into c; as web_api_rows */
static int rows(web_req *q, const web_endpoint *ep, struct collect *c, ol_http_resp *r, int *answered)
{
    char err[300] = "";
    *answered = 0;
    if (!(ep->roles & q->role)) {
        snprintf(err, sizeof err, "the %s role may not read %s", web_role_name(q->role), ep->name);
        *answered = 1;
        return web_json_error(r, 403, NULL, err);
    }
    int rc = 0;
    if (ep->g == G_WEEK) {
        const char *week = web_arg(q, "week"), *from = web_arg(q, "from"),
                   *to = web_arg(q, "to");
        ol_week w1, w2;
        if (week) {
            if ((rc = week_arg(q, "week", week, 1, &w1, r, answered)) || *answered)
                goto out;
            w2 = w1;
        } else if (from && to) {
            if ((rc = week_arg(q, "from", from, 0, &w1, r, answered)) || *answered ||
                (rc = week_arg(q, "to", to, 0, &w2, r, answered)) || *answered)
                goto out;
            char a[9], b[9];
            int span = 0;
            ol_week_format(w2, b);
            for (ol_week w = w1; span <= 160; w = ol_week_add(w, 1), span++) {
                ol_week_format(w, a);
                if (strcmp(a, b) >= 0)
                    break;
            }
            if (strcmp(a, b) != 0) {
                *answered = 1;
                rc = web_json_error(r, 400, "to", "parameter to: the range must run forward, 160 weeks at most");
                goto out;
            }
        } else {
            *answered = 1;
            rc = web_json_error(r, 400, "week", "parameter week (or from and to) is required");
            goto out;
        }
        for (ol_week w = w1;; w = ol_week_add(w, 1)) {
            char ws[9], we[9];
            ol_week_format(w, ws);
            if (scan_group(c, ws, err, sizeof err)) {
                rc = -1;
                goto out;
            }
            ol_week_format(w2, we);
            if (!strcmp(ws, we))
                break;
        }
    } else if (ep->g == G_DAY) {
        const char *from = web_arg(q, "from"), *to = web_arg(q, "to");
        int32_t d1, d2;
        if (!from || ol_date_parse(from, &d1)) {
            *answered = 1;
            rc = web_json_error(r, 400, "from", "parameter from: a day like 2026-11-16 is required");
            goto out;
        }
        if (to && ol_date_parse(to, &d2)) {
            *answered = 1;
            rc = web_json_error(r, 400, "to", "parameter to: expected a day like 2026-11-22");
            goto out;
        }
        if (!to)
            d2 = d1;
        if (d2 < d1 || d2 - d1 > 366) {
            *answered = 1;
            rc = web_json_error(r, 400, "to", "parameter to: the range must run forward, 367 days at most");
            goto out;
        }
        for (int32_t d = d1; d <= d2; d++) {
            char ds[11];
            ol_date_format(d, ds);
            if (scan_group(c, ds, err, sizeof err)) {
                rc = -1;
                goto out;
            }
        }
    } else {
        const char *g = NULL;
        if (ep->g == G_PARAM && ep->f[0].param) {
            g = web_arg(q, ep->f[0].param);
            if (g && !*g)
                g = NULL;
            if (g && strlen(g) > OL_ID_MAX_BYTES) { /* no stored id is longer: a 400, not a failed read */
                char msg[160];
                snprintf(msg, sizeof msg, "parameter %s: at most %d bytes", ep->f[0].param, OL_ID_MAX_BYTES);
                *answered = 1;
                rc = web_json_error(r, 400, ep->f[0].param, msg);
                goto out;
            }
        }
        if (scan_group(c, ep->g == G_NONE ? "" : g, err, sizeof err))
            rc = -1;
    }
out:
    if (rc)
        ol_error("read model|reason=%s", err);
    return rc;
}

int web_api_rows(web_req *q, const web_endpoint *ep, json_t **items, ol_http_resp *r, int *answered)
{
    struct collect c = {ep, q, json_array(), NULL, 0, 0};
    *items = NULL;
    *answered = 0;
    if (!c.items)
        return -1;
    int rc = rows(q, ep, &c, r, answered);
    if (rc || *answered)
        json_decref(c.items);
    else
        *items = c.items;
    return rc;
}

int web_api_json(web_req *q, const web_endpoint *ep, ol_http_resp *r)
{
    web_buf text = {0}, b = {0};
    struct collect c = {ep, q, NULL, &text, 0, 0};
    int answered = 0, rc = rows(q, ep, &c, r, &answered);
    if (rc || answered || text.oom) {
        free(text.p);
        return rc || text.oom ? -1 : 0;
    }
    /* as web_answer_json: {"count","items"} then as_of and data_time (ASCII instants) */
    char ts[25];
    int64_t dt = web_data_time(q->m, q->txn);
    if (dt > 0)
        ol_ts_format(dt, ts);
    wb_printf(&b, "{\"count\":%zu,\"items\":[", c.count);
    wb_put(&b, text.p ? text.p : "", text.n);
    free(text.p);
    wb_puts(&b, "],\"as_of\":");
    if (q->as_of_text[0])
        wb_printf(&b, "\"%s\"", q->as_of_text);
    else
        wb_puts(&b, "null");
    wb_puts(&b, ",\"data_time\":");
    if (dt > 0)
        wb_printf(&b, "\"%s\"}", ts);
    else
        wb_puts(&b, "null}");
    return wb_reply(&b, r, 200, "application/json");
}

/* ------------------------------------------------------------ answers */
static void csv_cell(web_buf *b, json_t *v)
{
    char num[32];
    if (json_is_integer(v)) {
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        wb_puts(b, num);
    } else if (json_is_string(v))
        wb_csv(b, json_string_value(v));
    else if (json_is_true(v))
        wb_puts(b, "true");
    else if (json_is_false(v))
        wb_puts(b, "false");
    else if (json_is_null(v) || !v)
        ;
    else { /* arrays and objects: their JSON text, as one escaped cell */
        char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!s)
            b->oom = 1;
        else
            wb_csv(b, s);
        free(s);
    }
}

int web_answer_csv(json_t *items, ol_http_resp *r)
{
    web_buf b = {0};
    json_t *first = json_array_get(items, 0), *it;
    const char *k;
    json_t *v;
    size_t i;
    int col = 0;
    if (first) {
        json_object_foreach(first, k, v)
        {
            if (col++)
                wb_puts(&b, ",");
            wb_csv(&b, k);
        }
        wb_puts(&b, "\r\n");
    }
    json_array_foreach(items, i, it)
    {
        col = 0;
        json_object_foreach(first, k, v)
        {
            if (col++)
                wb_puts(&b, ",");
            csv_cell(&b, json_object_get(it, k));
        }
        wb_puts(&b, "\r\n");
    }
    if (!b.p && !b.oom)
        wb_puts(&b, "");
    if (!b.p)
        b.p = calloc(1, 1);
    if (!b.p)
        return -1;
    return wb_reply(&b, r, 200, "text/csv; charset=utf-8");
}

int web_answer_json(web_req *q, json_t *body, ol_http_resp *r)
{
    char ts[25];
    int64_t dt = web_data_time(q->m, q->txn);
    if (dt > 0)
        ol_ts_format(dt, ts);
    if (json_object_set_new(body, "as_of", q->as_of_text[0] ? json_string(q->as_of_text) : json_null()) ||
        json_object_set_new(body, "data_time", dt > 0 ? json_string(ts) : json_null()))
        return -1;
    char *s = ol_esc_json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!s)
        return -1;
    r->status = 200;
    r->content_type = "application/json";
    r->body = s;
    r->len = strlen(s);
    return 0;
}
