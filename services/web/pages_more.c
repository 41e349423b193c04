/* pages_more — the person, engagement, billing (client, line with its
 * revisions and entries), contractors, forecast, demand, delivery and cover
 * pages. Like pages.c, each reads the API's own rows. */
#include "ol_time.h"
#include "web_api.h"
#include "web_pages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int need(web_req *q, ol_http_resp *r, const char *name, const char **v)
{
    *v = web_arg(q, name);
    if (*v && **v)
        return 0;
    char msg[100];
    snprintf(msg, sizeof msg, "%s: this page needs ?%s=...", name, name);
    web_error_page(q, r, 400, msg);
    return 1;
}

/* the 404 page of an id with no record as of the request's instant (the id
 * is escaped by web_error_page) */
static int unknown_id(web_req *q, ol_http_resp *r, const char *what, const char *id)
{
    char msg[400];
    snprintf(msg, sizeof msg, "id: no %s \"%.300s\" (as of that instant).", what, id);
    return web_error_page(q, r, 404, msg);
}

/* the page's week: ?week=, else the current one; 0, or 1 (page answered) */
static int page_week(web_req *q, web_buf *b, ol_http_resp *r, char w[9])
{
    const char *a = web_arg(q, "week");
    if (a && *a)
        snprintf(w, 9, "%s", a);
    else if (web_current_week(q, w)) {
        wb_puts(b, "<p>Nothing has been published yet.</p>");
        web_page_end(b, r);
        return 1;
    }
    web_set_arg(q, "week", w);
    return 0;
}

/* the allocations table of a person (by_person: the engagement column) or
 * of an engagement (the person column): names, role, days, percent,
 * status; a roll-off (a PROPOSED or CONFIRMED allocation whose last day
 * falls in the data week or the three after it) is marked */
static void allocations_table(web_req *q, web_buf *b, int by_person)
{
    char cur[9], name[200];
    int32_t lo = 0, hi = -1, last;
    ol_week w;
    json_t *it;
    size_t i;
    if (web_current_week(q, cur) == 0 && ol_week_parse(cur, &w) == 0) {
        lo = ol_week_monday(w);
        hi = lo + 27;
    }
    web_set_arg(q, "status", "");
    json_t *rows = web_rows(q, "allocations");
    wb_printf(b, "<h2>Allocations</h2><table><tr><th>%s</th><th>role</th><th>from</th><th>to</th>"
                 "<th>share</th><th>status</th><th>roll-off</th></tr>",
              by_person ? "engagement" : "person");
    json_array_foreach(rows, i, it)
    {
        const char *st = web_s(it, "status");
        int off = strcmp(st, "CANCELLED") && ol_date_parse(web_s(it, "last_day"), &last) == 0 && last >= lo &&
                  last <= hi;
        wb_puts(b, off ? "<tr class=\"hl\"><td>" : "<tr><td>");
        if (by_person) {
            const char *eid = web_s(it, "engagement_id");
            json_t *e = NULL;
            if (web_get(q->m, q->txn, "delivery.engagement", eid, q->as_of, &e, NULL, NULL))
                e = NULL;
            web_link(b, q, "/engagement", "id", eid, e && *web_s(e, "name") ? web_s(e, "name") : eid);
            json_decref(e);
        } else if (json_is_string(json_object_get(it, "person_id"))) {
            web_person_name(q, web_s(it, "person_id"), name, sizeof name);
            web_link(b, q, "/person", "id", web_s(it, "person_id"), name);
        } else
            wb_puts(b, "open role");
        wb_puts(b, "</td>");
        web_cell_text(b, web_s(it, "role"));
        web_cell_text(b, web_s(it, "first_day"));
        web_cell_text(b, web_s(it, "last_day"));
        wb_printf(b, "<td class=\"n\">%lld%%</td>", web_i(it, "percent"));
        web_cell_text(b, st);
        web_cell_text(b, off ? "rolls off" : "");
        wb_puts(b, "</tr>");
    }
    wb_puts(b, "</table>");
    json_decref(rows);
}

int web_page_person(web_req *q, ol_http_resp *r)
{
    const char *id;
    char name[200], cur[9], weeks[12][9], t[48];
    if (need(q, r, "id", &id))
        return 0;
    /* an unknown id is 404, as the API answers for an unknown key (it was a
     * 200 page with empty tables: review) */
    const char *pj;
    size_t pl;
    int known = web_get_text(q->m, q->txn, "hr.person", id, q->as_of, &pj, &pl, NULL, NULL);
    if (known < 0)
        return -1;
    if (!known)
        return unknown_id(q, r, "person", id);
    web_buf b = {0};
    web_person_name(q, id, name, sizeof name);
    web_page_begin(&b, q, name);
    json_t *p = NULL, *it;
    size_t i;
    if (web_get(q->m, q->txn, "hr.person", id, q->as_of, &p, NULL, NULL) == 0 && p) {
        wb_puts(&b, "<p>Team ");
        wb_html(&b, web_s(p, "team"));
        wb_puts(&b, ", role ");
        wb_html(&b, web_s(p, "role"));
        web_fmt_minutes(t, sizeof t, web_i(p, "weekly_capacity_minutes"));
        wb_printf(&b, ", capacity %s a week.</p>", t);
    }
    json_decref(p);
    if (web_current_week(q, cur) == 0) {
        web_weeks_back(cur, 12, weeks);
        wb_puts(&b, "<h2>Utilisation</h2><table><tr><th>week</th><th>available</th><th>billable</th>"
                    "<th>utilisation</th></tr>");
        for (int w = 0; w < 12; w++) {
            char key[600];
            json_t *row = NULL;
            snprintf(key, sizeof key, "PERSON|%s|%s", id, weeks[w]);
            if (web_get(q->m, q->txn, "ops.utilisation.weekly", key, q->as_of, &row, NULL, NULL) || !row)
                continue;
            web_fmt_bp(t, sizeof t, json_object_get(row, "utilisation_bp"));
            wb_printf(&b, "<tr><td>%s</td>", weeks[w]);
            web_cell_minutes(&b, web_i(row, "available_minutes"));
            web_cell_minutes(&b, web_i(row, "billable_minutes"));
            wb_printf(&b, "<td class=\"n\">%s</td></tr>", t);
            json_decref(row);
        }
        wb_puts(&b, "</table>");
    }
    /* leave: its kind is health data for sickness; finance never reads it */
    if (q->role != WEB_FINANCE) {
        web_set_arg(q, "person", id);
        json_t *leave = web_rows(q, "leave");
        wb_puts(&b, "<h2>Leave</h2><table><tr><th>kind</th><th>from</th><th>to</th><th>status</th></tr>");
        json_array_foreach(leave, i, it)
        {
            wb_puts(&b, "<tr>");
            web_cell_text(&b, web_s(it, "kind"));
            web_cell_text(&b, web_s(it, "first_day"));
            web_cell_text(&b, web_s(it, "last_day"));
            web_cell_text(&b, web_s(it, "status"));
            wb_puts(&b, "</tr>");
        }
        wb_puts(&b, "</table>");
        json_decref(leave);
    }
    web_set_arg(q, "person", id);
    allocations_table(q, &b, 1);
    return web_page_end(&b, r);
}

int web_page_engagement(web_req *q, ol_http_resp *r)
{
    const char *id;
    char cur[9], weeks[12][9], t[64];
    if (need(q, r, "id", &id))
        return 0;
    web_buf b = {0};
    json_t *e = NULL, *f = NULL, *it;
    size_t i;
    if (web_get(q->m, q->txn, "delivery.engagement", id, q->as_of, &e, NULL, NULL))
        return -1;
    if (!e) /* 404, as the API for an unknown key (it was an empty 200 page: review) */
        return unknown_id(q, r, "engagement", id);
    web_page_begin(&b, q, e && *web_s(e, "name") ? web_s(e, "name") : id);
    if (e) {
        wb_puts(&b, "<p>Client ");
        wb_html(&b, web_s(e, "client"));
        wb_puts(&b, ", from ");
        wb_html(&b, web_s(e, "starts_on"));
        wb_puts(&b, " to ");
        wb_html(&b, web_s(e, "ends_on"));
        wb_puts(&b, ".</p>");
    }
    if (web_get(q->m, q->txn, "ops.forecast.engagement", id, q->as_of, &f, NULL, NULL) == 0 && f) {
        web_redact(f, "ops.forecast.engagement", q->role);
        wb_puts(&b, "<h2>Budget</h2><table>");
        if (q->role != WEB_OPS) {
            const char *c = web_s(f, "currency");
            wb_puts(&b, "<tr><th>budget</th>");
            web_cell_money(&b, web_i(f, "budget_minor"), c);
            wb_puts(&b, "</tr><tr><th>spent to date</th>");
            web_cell_money(&b, web_i(f, "spent_to_date_minor"), c);
            wb_puts(&b, "</tr><tr><th>estimate at completion</th>");
            web_cell_money(&b, web_i(f, "estimate_at_completion_minor"), c);
            wb_puts(&b, "</tr>");
        }
        wb_puts(&b, "<tr><th>budget runs out</th>");
        web_cell_text(&b, *web_s(f, "budget_runs_out_week") ? web_s(f, "budget_runs_out_week") : "not within 12 weeks");
        wb_puts(&b, "</tr></table>");
    }
    if (web_current_week(q, cur) == 0) {
        web_weeks_back(cur, 12, weeks);
        wb_puts(&b, "<h2>RAG history</h2><table><tr><th>week</th><th>RAG</th><th>burn</th><th>time elapsed</th>"
                    "<th>reasons</th></tr>");
        json_t *last = NULL;
        for (int w = 0; w < 12; w++) {
            char key[600];
            json_t *row = NULL;
            snprintf(key, sizeof key, "%s|%s", id, weeks[w]);
            if (web_get(q->m, q->txn, "ops.delivery.status", key, q->as_of, &row, NULL, NULL) || !row)
                continue;
            wb_printf(&b, "<tr class=\"%s\"><td>%s</td>", web_s(row, "rag"), weeks[w]);
            web_cell_text(&b, web_s(row, "rag"));
            web_fmt_bp(t, sizeof t, json_object_get(row, "budget_burn_bp"));
            wb_printf(&b, "<td class=\"n\">%s</td>", t);
            web_fmt_bp(t, sizeof t, json_object_get(row, "time_elapsed_bp"));
            wb_printf(&b, "<td class=\"n\">%s</td><td>", t);
            json_array_foreach(json_object_get(row, "reasons"), i, it)
            {
                if (i)
                    wb_puts(&b, "; ");
                wb_html(&b, json_string_value(it));
            }
            wb_puts(&b, "</td></tr>");
            json_decref(last);
            last = row;
        }
        wb_puts(&b, "</table><h2>Open risks</h2><table><tr><th>severity</th><th>category</th><th>summary</th>"
                    "<th>owner</th></tr>");
        web_set_arg(q, "engagement", id);
        web_set_arg(q, "status", "OPEN");
        json_t *risks = web_rows(q, "risks");
        json_array_foreach(risks, i, it)
        {
            wb_puts(&b, "<tr>");
            web_cell_text(&b, web_s(it, "severity"));
            web_cell_text(&b, web_s(it, "category"));
            web_cell_text(&b, web_s(it, "summary"));
            web_cell_text(&b, web_s(it, "owner"));
            wb_puts(&b, "</tr>");
        }
        wb_puts(&b, "</table>");
        json_decref(risks);
        json_decref(last);
    }
    web_set_arg(q, "person", "");
    web_set_arg(q, "engagement", id);
    allocations_table(q, &b, 0);
    json_decref(e);
    json_decref(f);
    return web_page_end(&b, r);
}

int web_page_billing(web_req *q, ol_http_resp *r)
{
    web_buf b = {0};
    char w[9];
    json_t *it;
    size_t i;
    web_page_begin(&b, q, "Billing");
    if (page_week(q, &b, r, w))
        return 0;
    json_t *lines = web_rows(q, "billing");
    const char *client = web_arg(q, "client");
    wb_printf(&b, "<h2>Week %s</h2><table><tr><th>client</th><th>engagement</th><th>person / expense</th>"
                  "<th>approved</th><th>pending</th><th>amount</th><th>after close</th></tr>",
              w);
    json_array_foreach(lines, i, it)
    {
        wb_puts(&b, "<tr><td>");
        web_link(&b, q, "/billing", "client", web_s(it, "client"), web_s(it, "client"));
        wb_puts(&b, "</td>");
        web_cell_text(&b, web_s(it, "engagement_id"));
        wb_puts(&b, "<td>");
        char name[200];
        if (!strcmp(web_s(it, "kind"), "TIME"))
            web_person_name(q, web_s(it, "person_id"), name, sizeof name);
        else
            snprintf(name, sizeof name, "expense %s", web_s(it, "expense_id"));
        web_link(&b, q, "/billing/line", "key", web_s(it, "key"), name);
        wb_puts(&b, "</td>");
        web_cell_minutes(&b, web_i(it, "approved_minutes"));
        web_cell_minutes(&b, web_i(it, "pending_minutes"));
        web_cell_money(&b, web_i(it, "amount_minor"), web_s(it, "currency"));
        web_cell_text(&b, json_is_true(json_object_get(it, "post_close")) ? "yes" : "");
        wb_puts(&b, "</tr>");
    }
    wb_puts(&b, "</table>");
    if (client && *client)
        web_link(&b, q, "/billing", "week", w, "all clients");
    json_decref(lines);
    return web_page_end(&b, r);
}

int web_page_line(web_req *q, ol_http_resp *r)
{
    const char *key;
    int found = 0;
    size_t i;
    json_t *it;
    if (need(q, r, "key", &key))
        return 0;
    json_t *x = web_explain_json(q, key, &found);
    if (!x)
        return -1;
    if (!found) {
        json_decref(x);
        return web_error_page(q, r, 404, "No billing line with this key (as of that instant).");
    }
    web_buf b = {0};
    web_page_begin(&b, q, key);
    json_t *line = json_object_get(x, "line");
    wb_puts(&b, "<table><tr><th>amount</th>");
    web_cell_money(&b, web_i(line, "amount_minor"), web_s(line, "currency"));
    wb_puts(&b, "</tr><tr><th>approved</th>");
    web_cell_minutes(&b, web_i(line, "approved_minutes"));
    wb_puts(&b, "</tr><tr><th>day rate</th>");
    if (json_is_integer(json_object_get(line, "day_rate_minor")))
        web_cell_money(&b, web_i(line, "day_rate_minor"), web_s(line, "currency"));
    else
        web_cell_text(&b, "unpriced");
    wb_puts(&b, "</tr></table><h2>Revisions</h2><table><tr><th>revision</th><th>published</th><th>amount</th>"
                "<th>change</th></tr>");
    json_t *hist = web_history_json(q, "finance.billing.line", key);
    json_array_foreach(hist, i, it)
    {
        json_t *rec = json_object_get(it, "record");
        wb_printf(&b, "<tr><td class=\"n\">%lld</td>", web_i(it, "revision"));
        web_cell_text(&b, web_s(it, "published_at"));
        web_cell_money(&b, web_i(rec, "amount_minor"), web_s(rec, "currency"));
        web_cell_money(&b, web_i(rec, "delta_minor"), web_s(rec, "currency"));
        wb_puts(&b, "</tr>");
    }
    json_decref(hist);
    wb_puts(&b, "</table><h2>Timesheet entries</h2><table><tr><th>entry</th><th>day</th><th>activity</th>"
                "<th>time</th><th>status</th><th>revision</th></tr>");
    json_array_foreach(json_object_get(x, "entries"), i, it)
    {
        wb_puts(&b, "<tr>");
        web_cell_text(&b, web_s(it, "entry_id"));
        web_cell_text(&b, web_s(it, "work_date"));
        web_cell_text(&b, web_s(it, "activity"));
        web_cell_minutes(&b, web_i(it, "minutes"));
        web_cell_text(&b, web_s(it, "status"));
        wb_printf(&b, "<td class=\"n\">%lld</td></tr>", web_i(it, "revision"));
    }
    wb_puts(&b, "</table>");
    json_decref(x);
    return web_page_end(&b, r);
}

int web_page_contractors(web_req *q, ol_http_resp *r)
{
    web_buf b = {0};
    json_t *it;
    size_t i;
    web_page_begin(&b, q, "Contractor invoices");
    json_t *rows = web_rows(q, "contractors");
    wb_puts(&b, "<table><tr><th>invoice</th><th>person</th><th>supplier</th><th>logged</th><th>invoiced</th>"
                "<th>expected</th><th>invoiced amount</th><th>status</th></tr>");
    json_array_foreach(rows, i, it)
    {
        char name[200];
        web_person_name(q, web_s(it, "person_id"), name, sizeof name);
        wb_puts(&b, "<tr>");
        web_cell_text(&b, web_s(it, "invoice_id"));
        web_cell_text(&b, name);
        web_cell_text(&b, web_s(it, "supplier"));
        web_cell_minutes(&b, web_i(it, "minutes_logged"));
        web_cell_minutes(&b, web_i(it, "minutes_invoiced"));
        web_cell_money(&b, web_i(it, "amount_expected_minor"), web_s(it, "currency"));
        web_cell_money(&b, web_i(it, "amount_invoiced_minor"), web_s(it, "currency"));
        web_cell_text(&b, web_s(it, "status"));
        wb_puts(&b, "</tr>");
    }
    wb_puts(&b, "</table>");
    json_decref(rows);
    return web_page_end(&b, r);
}

int web_page_forecast(web_req *q, ol_http_resp *r)
{
    web_buf b = {0};
    char cur[9];
    json_t *it;
    size_t i;
    web_page_begin(&b, q, "12-week forecast");
    if (web_current_week(q, cur)) {
        wb_puts(&b, "<p>Nothing has been published yet.</p>");
        return web_page_end(&b, r);
    }
    ol_week w;
    char from[9], to[9];
    if (ol_week_parse(cur, &w))
        return -1;
    /* the forecast's horizon is the data week and the 11 after it (SPEC:
     * 12 weeks from the week of the latest event); from W+1 the page showed
     * 11 weeks, the 12th having no row */
    ol_week_format(w, from);
    ol_week_format(ol_week_add(w, 11), to);
    web_set_arg(q, "from", from);
    web_set_arg(q, "to", to);
    web_set_arg(q, "scope", "ORG");
    json_t *rows = web_rows(q, "forecast/weekly");
    /* the leave behind each week (forecast_leave.c): the forecast publishes
     * available time only; capacity - leave = available */
    json_t *leave = web_forecast_leave(q, rows);
    if (!leave) {
        json_decref(rows);
        return -1;
    }
    wb_puts(&b, "<p>Billable people. Leave is every BOOKED leave (holidays, public holidays and other leave) "
                "in working time; available is capacity minus leave.</p>"
                "<table><tr><th>week</th><th>capacity</th><th>leave (holidays)</th><th>people on leave</th>"
                "<th>available (after holidays)</th><th>allocated</th><th>proposed</th>"
                "<th>bench</th><th>utilisation</th></tr>");
    json_array_foreach(rows, i, it)
    {
        char t[32];
        json_t *l = json_array_get(leave, i);
        web_fmt_bp(t, sizeof t, json_object_get(it, "utilisation_bp"));
        wb_puts(&b, "<tr>");
        web_cell_text(&b, web_s(it, "week"));
        web_cell_minutes(&b, web_i(l, "capacity_minutes"));
        web_cell_minutes(&b, web_i(l, "leave_minutes"));
        wb_printf(&b, "<td class=\"n\">%lld</td>", web_i(l, "people_on_leave"));
        web_cell_minutes(&b, web_i(it, "available_minutes"));
        web_cell_minutes(&b, web_i(it, "allocated_minutes"));
        web_cell_minutes(&b, web_i(it, "proposed_minutes"));
        web_cell_minutes(&b, web_i(it, "bench_minutes"));
        wb_printf(&b, "<td class=\"n\">%s</td></tr>", t);
    }
    wb_puts(&b, "</table>");
    json_decref(leave);
    json_decref(rows);
    return web_page_end(&b, r);
}

int web_page_demand(web_req *q, ol_http_resp *r)
{
    web_buf b = {0};
    char w[9];
    json_t *it;
    size_t i;
    web_page_begin(&b, q, "Demand against bench");
    if (page_week(q, &b, r, w))
        return 0;
    json_t *rows = web_rows(q, "forecast/demand");
    wb_printf(&b, "<h2>Week %s</h2><table><tr><th>role</th><th>open roles</th><th>bench supply</th><th>gap</th>"
                  "<th>rolling off in 4 weeks</th></tr>",
              w);
    json_array_foreach(rows, i, it)
    {
        /* delivery managers are the Head of Delivery's own bench */
        int dm = strstr(web_s(it, "role"), "Delivery") != NULL || strstr(web_s(it, "role"), "delivery") != NULL;
        wb_printf(&b, "<tr%s>", dm ? " class=\"hl\"" : "");
        web_cell_text(&b, web_s(it, "role"));
        web_cell_minutes(&b, web_i(it, "open_role_minutes"));
        web_cell_minutes(&b, web_i(it, "bench_supply_minutes"));
        web_cell_minutes(&b, web_i(it, "gap_minutes"));
        wb_printf(&b, "<td class=\"n\">%lld</td></tr>", web_i(it, "roll_offs_next_4_weeks"));
    }
    wb_puts(&b, "</table>");
    json_decref(rows);
    return web_page_end(&b, r);
}

int web_page_delivery(web_req *q, ol_http_resp *r)
{
    web_buf b = {0};
    char w[9];
    json_t *it, *reason;
    size_t i, j;
    web_page_begin(&b, q, "Delivery status");
    if (page_week(q, &b, r, w))
        return 0;
    json_t *rows = web_rows(q, "delivery");
    wb_printf(&b, "<h2>Week %s</h2><table><tr><th>RAG</th><th>engagement</th><th>client</th><th>reasons</th></tr>",
              w);
    json_array_foreach(rows, i, it)
    {
        wb_printf(&b, "<tr class=\"%s\">", web_s(it, "rag"));
        web_cell_text(&b, web_s(it, "rag"));
        wb_puts(&b, "<td>");
        web_link(&b, q, "/engagement", "id", web_s(it, "engagement_id"), web_s(it, "engagement_name"));
        wb_puts(&b, "</td>");
        web_cell_text(&b, web_s(it, "client"));
        wb_puts(&b, "<td>");
        json_array_foreach(json_object_get(it, "reasons"), j, reason)
        {
            if (j)
                wb_puts(&b, "; ");
            wb_html(&b, json_string_value(reason));
        }
        wb_puts(&b, "</td></tr>");
    }
    wb_puts(&b, "</table>");
    json_decref(rows);
    return web_page_end(&b, r);
}

int web_page_cover(web_req *q, ol_http_resp *r)
{
    web_buf b = {0};
    char from[11], to[11], cur[9];
    json_t *it;
    size_t i;
    const char *a = web_arg(q, "from");
    int32_t d;
    /* a malformed day is 400 naming it, as on every other page and the API
     * (it silently showed the default fortnight: review) */
    if (a && *a && ol_date_parse(a, &d))
        return web_error_page(q, r, 400, "from: expected a day like 2026-11-16");
    web_page_begin(&b, q, "Live-service cover");
    if (a && *a)
        ;
    else if (web_current_week(q, cur) == 0) { /* next week, from its Monday */
        ol_week w;
        if (ol_week_parse(cur, &w))
            return -1;
        d = ol_week_monday(ol_week_add(w, 1));
    } else {
        wb_puts(&b, "<p>Nothing has been published yet.</p>");
        return web_page_end(&b, r);
    }
    ol_date_format(d, from);
    ol_date_format(d + 13, to);
    web_set_arg(q, "from", from);
    web_set_arg(q, "to", to);
    json_t *rows = web_rows(q, "cover");
    wb_printf(&b, "<h2>%s to %s</h2><table><tr><th>day</th><th>service</th><th>uncovered</th>"
                  "<th>primary on leave</th><th>double booked</th></tr>",
              from, to);
    json_array_foreach(rows, i, it)
    {
        wb_printf(&b, "<tr class=\"%s\">", web_i(it, "uncovered_minutes") > 0 ? "RED" : "");
        web_cell_text(&b, web_s(it, "day"));
        web_cell_text(&b, web_s(it, "service_id"));
        web_cell_minutes(&b, web_i(it, "uncovered_minutes"));
        web_cell_minutes(&b, web_i(it, "primary_on_leave_minutes"));
        web_cell_minutes(&b, web_i(it, "double_booked_minutes"));
        wb_puts(&b, "</tr>");
    }
    wb_puts(&b, "</table>");
    json_decref(rows);
    return web_page_end(&b, r);
}
