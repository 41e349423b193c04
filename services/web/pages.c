/* pages — the people-facing pages: home, the utilisation heat map, a
 * person and an engagement. Each reads the SAME rows as the API (through
 * web_api_rows with the page's arguments), so a figure on a page is the
 * API's figure in units people read. pages_more.c has the others. */
#include "ol_rules.h"
#include "ol_time.h"
#include "web_api.h"
#include "web_html.h"
#include "web_pages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *web_rows(web_req *q, const char *endpoint)
{
    ol_http_resp scratch;
    json_t *items = NULL;
    int answered = 0;
    memset(&scratch, 0, sizeof scratch);
    const web_endpoint *ep = web_endpoint_find(endpoint);
    if (!ep || web_api_rows(q, ep, &items, &scratch, &answered))
        items = NULL;
    free(scratch.body);
    return answered || !items ? (json_decref(items), json_array()) : items;
}

void web_weeks_back(const char *week, int n, char out[][9])
{
    ol_week w;
    if (ol_week_parse(week, &w)) {
        for (int i = 0; i < n; i++)
            snprintf(out[i], 9, "%s", week);
        return;
    }
    for (int i = 0; i < n; i++)
        ol_week_format(ol_week_add(w, i - (n - 1)), out[i]);
}

void web_cell_minutes(web_buf *b, long long m)
{
    char t[48];
    web_fmt_minutes(t, sizeof t, m);
    wb_printf(b, "<td class=\"n\">%s</td>", t);
}

void web_cell_money(web_buf *b, long long minor, const char *cur)
{
    char t[64];
    web_fmt_money(t, sizeof t, minor, cur);
    wb_puts(b, "<td class=\"n\">");
    wb_html(b, t);
    wb_puts(b, "</td>");
}

void web_cell_text(web_buf *b, const char *s)
{
    wb_puts(b, "<td>");
    wb_html(b, s);
    wb_puts(b, "</td>");
}

/* a person's name as of the request, else the id */
void web_person_name(web_req *q, const char *id, char *out, size_t n)
{
    json_t *p = NULL;
    if (web_get(q->m, q->txn, "hr.person", id, q->as_of, &p, NULL, NULL) == 0 && p && *web_s(p, "name"))
        snprintf(out, n, "%s", web_s(p, "name"));
    else
        snprintf(out, n, "%s", id);
    json_decref(p);
}

static int page_home(web_req *q, ol_http_resp *r)
{
    web_buf b = {0};
    char cur[9], weeks[12][9], t[64];
    const char *labels[12];
    long long bp[12];
    int has[12];
    web_page_begin(&b, q, "Home");
    if (web_current_week(q, cur)) {
        wb_puts(&b, "<p>No utilisation has been published yet.</p>");
        return web_page_end(&b, r);
    }
    web_weeks_back(cur, 12, weeks);
    long long target = 8500;
    for (int i = 0; i < 12; i++) {
        char key[140];
        json_t *row = NULL;
        snprintf(key, sizeof key, "ORG|org|%s", weeks[i]);
        labels[i] = weeks[i];
        has[i] = 0;
        if (web_get(q->m, q->txn, "ops.utilisation.weekly", key, q->as_of, &row, NULL, NULL) == 0 && row &&
            json_is_integer(json_object_get(row, "utilisation_bp"))) {
            bp[i] = web_i(row, "utilisation_bp");
            target = web_i(row, "target_bp");
            has[i] = 1;
        }
        json_decref(row);
    }
    wb_puts(&b, "<h2>Organisation utilisation, last 12 weeks</h2>");
    web_svg_line(&b, "organisation utilisation against target", labels, bp, has, 12, target);

    /* teams under target this week */
    web_set_arg(q, "week", cur);
    web_set_arg(q, "scope", "TEAM");
    json_t *teams = web_rows(q, "utilisation"), *it;
    size_t i;
    wb_printf(&b, "<h2>Teams under target, %s</h2><table><tr><th>team</th><th>utilisation</th><th>billable</th>"
                  "<th>available</th></tr>",
              cur);
    json_array_foreach(teams, i, it)
    {
        if (!json_is_true(json_object_get(it, "below_target")))
            continue;
        wb_puts(&b, "<tr><td>");
        web_link(&b, q, "/utilisation", "team", web_s(it, "scope_id"), web_s(it, "scope_id"));
        web_fmt_bp(t, sizeof t, json_object_get(it, "utilisation_bp"));
        wb_printf(&b, "</td><td class=\"n\">%s</td>", t);
        web_cell_minutes(&b, web_i(it, "billable_minutes"));
        web_cell_minutes(&b, web_i(it, "available_minutes"));
        wb_puts(&b, "</tr>");
    }
    wb_puts(&b, "</table>");
    json_decref(teams);
    web_set_arg(q, "scope", NULL);

    /* missing timesheets of the last week that ended (the current one is
     * still being logged) */
    char prev[9];
    ol_week cw;
    if (ol_week_parse(cur, &cw))
        return -1;
    ol_week_format(ol_week_add(cw, -1), prev);
    web_set_arg(q, "week", prev);
    json_t *missing = web_rows(q, "missing");
    web_set_arg(q, "week", cur);
    long long total = 0, people = 0;
    json_array_foreach(missing, i, it) if (web_i(it, "missing_minutes") > 0) total += web_i(it, "missing_minutes"),
        people++;
    web_fmt_minutes(t, sizeof t, total);
    wb_printf(&b, "<h2>Missing timesheets, %s</h2><p><span id=\"missing-people\">%lld</span> people, "
                  "<span id=\"missing-total\">%s</span> not logged.</p>",
              prev, people, t);
    json_decref(missing);

    /* this week's billing per currency (exec, finance) */
    if (q->role != WEB_OPS) {
        json_t *lines = web_rows(q, "billing");
        json_t *sum = json_object();
        const char *k;
        json_t *v;
        json_array_foreach(lines, i, it)
        {
            json_t *s = json_object_get(sum, web_s(it, "currency"));
            json_object_set_new(sum, web_s(it, "currency"),
                                json_integer(ol_money_add(s ? json_integer_value(s) : 0, web_i(it, "amount_minor"))));
        }
        wb_printf(&b, "<h2>Billing, %s</h2><table><tr><th>currency</th><th>amount</th></tr>", cur);
        json_object_foreach(sum, k, v)
        {
            wb_puts(&b, "<tr>");
            web_cell_text(&b, k);
            web_cell_money(&b, (long long)json_integer_value(v), k);
            wb_puts(&b, "</tr>");
        }
        wb_puts(&b, "</table>");
        json_decref(sum);
        json_decref(lines);
    }

    /* delivery RAG */
    json_t *status = web_rows(q, "delivery");
    int red = 0, amber = 0, green = 0;
    json_array_foreach(status, i, it)
    {
        const char *rag = web_s(it, "rag");
        red += !strcmp(rag, "RED"), amber += !strcmp(rag, "AMBER"), green += !strcmp(rag, "GREEN");
    }
    wb_printf(&b, "<h2>Delivery, %s</h2><p><span class=\"RED\">RED <b id=\"rag-red\">%d</b></span> "
                  "<span class=\"AMBER\">AMBER <b id=\"rag-amber\">%d</b></span> "
                  "<span class=\"GREEN\">GREEN <b id=\"rag-green\">%d</b></span></p>"
                  "<table><tr><th>engagement</th><th>client</th><th>reasons</th></tr>",
              cur, red, amber, green);
    json_array_foreach(status, i, it)
    {
        if (strcmp(web_s(it, "rag"), "RED"))
            continue;
        wb_puts(&b, "<tr class=\"RED\"><td>");
        web_link(&b, q, "/engagement", "id", web_s(it, "engagement_id"), web_s(it, "engagement_name"));
        wb_puts(&b, "</td>");
        web_cell_text(&b, web_s(it, "client"));
        wb_puts(&b, "<td>");
        size_t j;
        json_t *reason;
        json_array_foreach(json_object_get(it, "reasons"), j, reason)
        {
            if (j)
                wb_puts(&b, "; ");
            wb_html(&b, json_string_value(reason));
        }
        wb_puts(&b, "</td></tr>");
    }
    wb_puts(&b, "</table>");
    json_decref(status);
    return web_page_end(&b, r);
}

/* people x 12 weeks per team, utilisation in each cell */
static int page_utilisation(web_req *q, ol_http_resp *r)
{
    web_buf b = {0};
    char cur[9], weeks[12][9];
    const char *week = web_arg(q, "week"), *team = web_arg(q, "team");
    web_page_begin(&b, q, team && *team ? team : "Utilisation by team");
    if (week && *week)
        snprintf(cur, sizeof cur, "%s", week);
    else if (web_current_week(q, cur)) {
        wb_puts(&b, "<p>No utilisation has been published yet.</p>");
        return web_page_end(&b, r);
    }
    web_weeks_back(cur, 12, weeks);
    if (!team || !*team) {
        web_set_arg(q, "week", cur);
        web_set_arg(q, "scope", "TEAM");
        json_t *teams = web_rows(q, "utilisation"), *it;
        size_t i;
        char t[32];
        wb_printf(&b, "<table><tr><th>team</th><th>people</th><th>utilisation %s</th></tr>", cur);
        json_array_foreach(teams, i, it)
        {
            wb_puts(&b, "<tr><td>");
            web_link(&b, q, "/utilisation", "team", web_s(it, "scope_id"), web_s(it, "scope_id"));
            web_fmt_bp(t, sizeof t, json_object_get(it, "utilisation_bp"));
            wb_printf(&b, "</td><td class=\"n\">%lld</td><td class=\"n %s\">%s</td></tr>", web_i(it, "people"),
                      json_is_true(json_object_get(it, "below_target")) ? "low" : "ok", t);
        }
        wb_puts(&b, "</table>");
        json_decref(teams);
        return web_page_end(&b, r);
    }
    /* one heat map: rows = people of the team, columns = weeks */
    json_t *grid = json_object();
    web_set_arg(q, "scope", "PERSON");
    web_set_arg(q, "team", team);
    web_set_arg(q, "from", weeks[0]);
    web_set_arg(q, "to", weeks[11]);
    web_set_arg(q, "week", NULL);
    json_t *rows = web_rows(q, "utilisation"), *it;
    size_t i;
    json_array_foreach(rows, i, it)
    {
        json_t *p = json_object_get(grid, web_s(it, "scope_id"));
        if (!p) {
            p = json_object();
            json_object_set_new(grid, web_s(it, "scope_id"), p);
        }
        json_object_set(p, web_s(it, "week"), json_object_get(it, "utilisation_bp"));
    }
    wb_puts(&b, "<table><tr><th>person</th>");
    for (int w = 0; w < 12; w++)
        wb_printf(&b, "<th>%s</th>", weeks[w] + 5);
    wb_puts(&b, "</tr>");
    const char *pid;
    json_t *p;
    json_object_foreach(grid, pid, p)
    {
        char name[200], t[32];
        web_person_name(q, pid, name, sizeof name);
        wb_puts(&b, "<tr><td>");
        web_link(&b, q, "/person", "id", pid, name);
        wb_puts(&b, "</td>");
        for (int w = 0; w < 12; w++) {
            json_t *v = json_object_get(p, weeks[w]);
            long long bp = json_is_integer(v) ? (long long)json_integer_value(v) : -1;
            web_fmt_bp(t, sizeof t, v);
            wb_printf(&b, "<td class=\"n %s\">%s</td>", bp < 0 ? "" : bp < 7000 ? "low" : bp < 8500 ? "mid" : "ok",
                      t);
        }
        wb_puts(&b, "</tr>");
    }
    wb_puts(&b, "</table>");
    json_decref(rows);
    json_decref(grid);
    return web_page_end(&b, r);
}

int web_page(web_req *q, const char *path, ol_http_resp *r)
{
    static const struct {
        const char *path;
        int (*fn)(web_req *, ol_http_resp *);
        int roles;
    } pages[] = {{"/", page_home, WEB_ALL},
                 {"/utilisation", page_utilisation, WEB_ALL},
                 {"/person", web_page_person, WEB_ALL},
                 {"/engagement", web_page_engagement, WEB_ALL},
                 {"/billing", web_page_billing, WEB_EXEC | WEB_FINANCE},
                 {"/billing/line", web_page_line, WEB_EXEC | WEB_FINANCE},
                 {"/contractors", web_page_contractors, WEB_EXEC | WEB_FINANCE},
                 {"/forecast", web_page_forecast, WEB_ALL},
                 {"/demand", web_page_demand, WEB_ALL},
                 {"/delivery", web_page_delivery, WEB_ALL},
                 {"/cover", web_page_cover, WEB_ALL},
                 {"/weekly", web_page_weekly, WEB_ALL}};
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        if (strcmp(pages[i].path, path))
            continue;
        if (!(pages[i].roles & q->role))
            return web_error_page(q, r, 403, "Your role may not open this page.");
        const char *week = web_arg(q, "week");
        ol_week w;
        if (week && *week && ol_week_parse(week, &w))
            return web_error_page(q, r, 400, "week: expected an ISO week like 2026-W46");
        return pages[i].fn(q, r);
    }
    return web_error_page(q, r, 404, "No such page.");
}
