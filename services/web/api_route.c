/* api_route — dispatch of /api/v1/...: the format (JSON, or CSV by a .csv
 * suffix or Accept: text/csv), the table endpoints and the four that are
 * not a plain table: weeks, history, billing/explain and forecast/leave. */
#include "ol_time.h"
#include "web_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hist {
    json_t *items;
    json_t *prev;
    int role;
    const char *topic;
    int fail;
};

static int hist_row(void *ctx, const char *key, int64_t rev, int64_t ts, json_t *rec)
{
    struct hist *h = ctx;
    char t[25];
    const char *k;
    json_t *v;
    (void)key;
    json_t *cp = json_deep_copy(rec), *changes = json_object();
    if (!cp || !changes)
        goto fail;
    web_redact(cp, h->topic, h->role);
    json_object_foreach(cp, k, v)
    {
        if (!json_is_integer(v) || !strcmp(k, "revision"))
            continue;
        json_t *p = h->prev ? json_object_get(h->prev, k) : NULL;
        json_int_t d = json_integer_value(v) - (json_is_integer(p) ? json_integer_value(p) : 0);
        if (d && json_object_set_new(changes, k, json_integer(d)))
            goto fail;
    }
    ol_ts_format(ts, t);
    json_t *o = json_pack("{s:I,s:s,s:o,s:O}", "revision", (json_int_t)rev, "published_at", t, "changes", changes,
                          "record", cp);
    changes = NULL;
    if (!o || json_array_append_new(h->items, o))
        goto fail;
    json_decref(h->prev);
    h->prev = cp;
    return 0;
fail:
    json_decref(cp);
    json_decref(changes);
    h->fail = 1;
    return 1;
}

json_t *web_history_json(web_req *q, const char *topic, const char *key)
{
    char err[200];
    struct hist h = {json_array(), NULL, q->role, topic, 0};
    if (!h.items)
        return NULL;
    if (web_history(q->m, q->txn, topic, key, q->as_of, hist_row, &h, err, sizeof err) || h.fail) {
        json_decref(h.items);
        h.items = NULL;
    }
    json_decref(h.prev);
    return h.items;
}

static int want_csv(web_req *q, char *name)
{
    size_t n = strlen(name);
    if (n > 4 && !strcmp(name + n - 4, ".csv")) {
        name[n - 4] = '\0';
        return 1;
    }
    const char *acc = ol_http_app_header(q->http, "Accept");
    return acc && strstr(acc, "text/csv") != NULL;
}

static int answer_items(web_req *q, json_t *items, int csv, ol_http_resp *r)
{
    if (csv)
        return web_answer_csv(items, r);
    json_t *body = json_pack("{s:I,s:O}", "count", (json_int_t)json_array_size(items), "items", items);
    if (!body)
        return -1;
    int rc = web_answer_json(q, body, r);
    json_decref(body);
    return rc;
}

struct entries {
    json_t *a;
    int role, fail;
};

static int entry_row(void *ctx, const char *key, int64_t rev, int64_t ts, json_t *rec)
{
    struct entries *e = ctx;
    (void)key, (void)rev, (void)ts;
    json_t *cp = json_incref(rec); /* parsed for this row alone: ours to keep and redact */
    if (!cp || json_array_append_new(e->a, cp)) {
        e->fail = 1;
        return 1;
    }
    web_redact(cp, "timesheet.entry", e->role);
    return 0;
}

/* a billing line and the timesheet entries behind it, as of the instant */
json_t *web_explain_json(web_req *q, const char *key, int *found)
{
    char err[300], group[400];
    json_t *line = NULL, *out = NULL;
    struct entries e = {NULL, q->role, 0};
    *found = 0;
    if (web_get(q->m, q->txn, "finance.billing.line", key, q->as_of, &line, NULL, NULL))
        return NULL;
    if (!line)
        return json_object();
    *found = 1;
    if (!(e.a = json_array()))
        goto out;
    const char *kind = json_string_value(json_object_get(line, "kind"));
    if (kind && !strcmp(kind, "TIME")) { /* timesheet.entry is grouped engagement|person|week */
        const char *eng = json_string_value(json_object_get(line, "engagement_id")),
                   *person = json_string_value(json_object_get(line, "person_id")),
                   *week = json_string_value(json_object_get(line, "week"));
        int n = snprintf(group, sizeof group, "%s|%s|%s", eng ? eng : "", person ? person : "", week ? week : "");
        if (n > 0 && (size_t)n < sizeof group &&
            (web_scan(q->m, q->txn, "timesheet.entry", group, q->as_of, entry_row, &e, err, sizeof err) || e.fail))
            goto out;
    }
    web_redact(line, "finance.billing.line", q->role);
    out = json_pack("{s:O,s:O}", "line", line, "entries", e.a);
out:
    json_decref(line);
    json_decref(e.a);
    return out;
}

static int explain(web_req *q, int csv, ol_http_resp *r)
{
    const char *key = web_arg(q, "key");
    const web_endpoint *ep = web_endpoint_find("billing");
    char err[300];
    int found, rc;
    if (!(ep->roles & q->role)) {
        snprintf(err, sizeof err, "the %s role may not read billing", web_role_name(q->role));
        return web_json_error(r, 403, NULL, err);
    }
    if (!key || !*key)
        return web_json_error(r, 400, "key", "parameter key (ENGAGEMENT|PERSON|WEEK of a billing line) is required");
    json_t *o = web_explain_json(q, key, &found);
    if (!o)
        return -1;
    if (!found) {
        json_decref(o);
        return web_json_error(r, 404, "key", "parameter key: no billing line with this key (as of that instant)");
    }
    rc = csv ? web_answer_csv(json_object_get(o, "entries"), r) : web_answer_json(q, o, r);
    json_decref(o);
    return rc;
}

int web_api(web_req *q, const char *path, ol_http_resp *r)
{
    char name[200];
    json_t *items = NULL;
    int answered = 0, rc;
    if (snprintf(name, sizeof name, "%s", path) >= (int)sizeof name)
        return web_json_error(r, 404, NULL, "no such endpoint");
    int csv = want_csv(q, name);
    if (!strcmp(name, "weeks")) {
        if (!(items = web_weeks(q->m, q->txn, q->as_of)))
            return -1;
        json_t *objs = json_array();
        size_t i;
        json_t *w;
        json_array_foreach(items, i, w)
        {
            json_t *p = NULL;
            if (web_get(q->m, q->txn, "finance.period", json_string_value(w), q->as_of, &p, NULL, NULL))
                break;
            const char *st = p ? json_string_value(json_object_get(p, "status")) : NULL;
            json_array_append_new(objs, json_pack("{s:O,s:b}", "week", w, "closed", st && !strcmp(st, "CLOSED")));
            json_decref(p);
        }
        json_decref(items);
        rc = answer_items(q, objs, csv, r);
        json_decref(objs);
        return rc;
    }
    if (!strcmp(name, "history")) {
        const char *topic = web_arg(q, "topic"), *key = web_arg(q, "key");
        const web_endpoint *ep = topic ? web_endpoint_of_topic(topic) : NULL;
        if (!ep)
            return web_json_error(r, 400, "topic", "parameter topic: one of the read model's topics is required");
        if (!key || !*key)
            return web_json_error(r, 400, "key", "parameter key is required");
        if (!(ep->roles & q->role)) {
            char err[200];
            snprintf(err, sizeof err, "the %s role may not read %s", web_role_name(q->role), ep->topic);
            return web_json_error(r, 403, "topic", err);
        }
        if (!(items = web_history_json(q, topic, key)))
            return -1;
        if (!json_array_size(items)) {
            json_decref(items);
            return web_json_error(r, 404, "key", "parameter key: no revision of this key (as of that instant)");
        }
        rc = answer_items(q, items, csv, r);
        json_decref(items);
        return rc;
    }
    if (!strcmp(name, "billing/explain"))
        return explain(q, csv, r);
    if (!strcmp(name, "forecast/leave")) { /* forecast/weekly's rows and arguments, their leave */
        json_t *fc = NULL;
        if (web_api_rows(q, web_endpoint_find("forecast/weekly"), &fc, r, &answered))
            return -1;
        if (answered)
            return 0;
        items = web_forecast_leave(q, fc);
        json_decref(fc);
        if (!items)
            return -1;
        rc = answer_items(q, items, csv, r);
        json_decref(items);
        return rc;
    }
    const web_endpoint *ep = web_endpoint_find(name);
    if (!ep)
        return web_json_error(r, 404, NULL, "no such endpoint; see services/web/openapi.yaml");
    if (!csv) /* the stored rows' text, copied (tests/e2e/webcheck.py compares it with the parsed answer) */
        return web_api_json(q, ep, r);
    if (web_api_rows(q, ep, &items, r, &answered))
        return -1;
    if (answered)
        return 0;
    rc = answer_items(q, items, csv, r);
    json_decref(items);
    return rc;
}
