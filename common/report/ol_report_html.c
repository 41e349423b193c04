/* ol_report_html — the weekly report as one self-contained HTML file: inline
 * CSS, two inline SVG charts (the 8-week utilisation trend against the
 * target, the RAG counts), tables for the rest; no script, no network, no
 * external resource. The same sections, figures and words as the text form
 * (ol_report_words.c, the people forms of ol_format). Every text from the
 * data is HTML-escaped. Chart geometry is integer arithmetic on basis
 * points; the trend's axis starts at 0 and says so. */
#include "ol_escape.h"
#include "ol_format.h"
#include "ol_report_int.h"

#include <stdarg.h>
#include <string.h>

/* the page's shell and charts, and the helpers ol_report_html_body.c
 * writes the sections with (declared in ol_report_int.h) */

/* text from the data as HTML (ol_escape); a write error shows in ferror(f),
 * which the caller checks */
void olr_h_esc(FILE *f, const char *s) { (void)ol_esc_fput(f, OL_ESC_HTML, s); }

/* a table cell with the escaped text: num 0 text, 1 a figure (right-aligned),
 * 2 a date or period (kept on one line) */
void olr_h_td(FILE *f, int num, const char *s)
{
    fputs(num == 1 ? "<td class=\"n\">" : num == 2 ? "<td class=\"k\">" : "<td>", f);
    olr_h_esc(f, s);
    fputs("</td>", f);
}

/* a cell of several lines: a list when more than one */
void olr_h_td_lines(FILE *f, json_t *lines)
{
    fputs("<td>", f);
    if (json_array_size(lines) == 1)
        olr_h_esc(f, json_string_value(json_array_get(lines, 0)));
    else if (json_array_size(lines)) {
        size_t i;
        json_t *x;
        fputs("<ul>", f);
        json_array_foreach(lines, i, x)
        {
            fputs("<li>", f);
            olr_h_esc(f, json_string_value(x));
            fputs("</li>", f);
        }
        fputs("</ul>", f);
    }
    fputs("</td>", f);
}

void olr_h_thead(FILE *f, const char *cols)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", cols);
    fputs("<table><tr>", f);
    for (char *s = strtok(buf, "|"); s; s = strtok(NULL, "|")) {
        fputs(*s == '>' ? "<th class=\"n\">" : "<th>", f);
        olr_h_esc(f, *s == '>' ? s + 1 : s);
        fputs("</th>", f);
    }
    fputs("</tr>\n", f);
}

void olr_h_para(FILE *f, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fputs("<p>", f);
    olr_h_esc(f, buf);
    fputs("</p>\n", f);
}

/* bars of the 8 weeks' utilisation on an axis from 0 to the next 10 % above
 * the highest figure and the target; the target dashed and labelled in the
 * right margin, never under a bar's label; the running week hatched grey */
void olr_h_trend(FILE *f, const struct ol_report *r)
{
    const int W = 640, H = 230, top = 12, base = 196, left = 46, right = 96, step = (W - left - right) / OLR_TREND;
    int32_t hi = 0, target = 0;
    for (int i = 0; i < OLR_TREND; i++) {
        if (r->trend[i].present && r->trend[i].has_bp && r->trend[i].bp > hi)
            hi = r->trend[i].bp;
        if (r->trend[i].present)
            target = r->trend[i].target;
    }
    if (target > hi)
        hi = target;
    int32_t max = (hi / 1000 + 1) * 1000; /* the next whole 10 % above */
    int ty = base - (int)((int64_t)target * (base - top) / max);
    fprintf(f, "<svg id=\"trend\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
               "aria-label=\"Org utilisation, 8 weeks, axis from 0\">\n", W, H, W, H);
    for (int32_t g = 0; g <= max; g += max / 5 >= 1000 ? 2000 : 1000) { /* gridlines and axis labels */
        char p[48];
        int y = base - (int)((int64_t)g * (base - top) / max);
        ol_fmt_pct(p, sizeof p, g, 10000);
        fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\"/>\n", left, y, W - right + 4, y,
                g ? "#e9ecef" : "#555");
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\" fill=\"#555\">%.*s%%</text>\n",
                left - 4, y + 4, (int)(strlen(p) - 4), p); /* "20.00%" -> "20%" */
    }
    if (target > 0)
        fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#c92a2a\" stroke-dasharray=\"6 4\"/>\n", left,
                ty, W - right + 4, ty);
    fputs("<defs><pattern id=\"run\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
          "patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#ced4da\"/>"
          "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#868e96\" stroke-width=\"2\"/></pattern></defs>\n",
          f);
    for (int i = 0; i < OLR_TREND; i++) {
        const struct olr_util *u = &r->trend[i];
        int has = u->present && u->has_bp, running = i == OLR_TREND - 1 && !r->week_ended;
        char p[48];
        int x = left + i * step + 6, bw = step - 12, cx = x + bw / 2;
        int h = has && u->bp > 0 ? (int)((int64_t)u->bp * (base - top) / max) : 0;
        ol_fmt_bp(p, sizeof p, has, u->bp);
        const char *fill = running ? "url(#run)" : has && u->bp < u->target ? "#e8590c" : "#2b8a3e";
        fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"><title>%s %s%s</title></rect>\n",
                x, base - h, bw, h, fill, u->week, p, running ? " (in progress)" : "");
        /* the label above the bar, or inside its top when that would touch the target line */
        int ly = base - h - 4, inside = target > 0 && ly > ty - 4 && ly - 11 < ty + 4 && h > 30;
        if (inside)
            ly = base - h + 14;
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\" fill=\"%s\">%s</text>\n", cx, ly,
                inside && !running ? "#fff" : "#222", has ? p : "no data");
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%s</text>\n", cx, base + 14,
                u->week + 5);
        if (running)
            fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\" fill=\"#555\">in progress"
                       "</text>\n", cx, base + 27);
    }
    if (target > 0) {
        char t[48];
        ol_fmt_bp(t, sizeof t, 1, target);
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#c92a2a\">target %s</text>\n", W - right + 8,
                ty + 4, t);
    }
    fputs("</svg>\n", f);
}

void olr_h_rag(FILE *f, const struct ol_report *r)
{
    static const char *const names[] = {"GREEN", "AMBER", "RED"}, *const colours[] = {"#2b8a3e", "#f08c00", "#c92a2a"};
    int max = 1;
    for (int i = 0; i < 3; i++)
        max = r->rag[i] > max ? r->rag[i] : max;
    fputs("<svg id=\"rag\" width=\"420\" height=\"90\" viewBox=\"0 0 420 90\" role=\"img\" aria-label=\"RAG counts\">\n",
          f);
    for (int k = 0; k < 3; k++) {
        int i = 2 - k, w = r->rag[i] * 300 / max;
        fprintf(f, "<text x=\"0\" y=\"%d\" font-size=\"12\">%s</text>\n", 20 + k * 28, names[i]);
        fprintf(f, "<rect x=\"60\" y=\"%d\" width=\"%d\" height=\"18\" fill=\"%s\"/>\n", 7 + k * 28, w, colours[i]);
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"12\">%d</text>\n", 66 + w, 20 + k * 28, r->rag[i]);
    }
    fputs("</svg>\n", f);
}

int olr_html(FILE *f, const struct ol_report *r)
{
    char buf[512];
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>Weekly report ", f);
    olr_h_esc(f, r->week);
    fputs("</title>\n<style>\nbody{font-family:sans-serif;margin:1.5em 2em;max-width:72em;color:#222}\n"
          "h1{margin:0 0 .3em}h2{margin:1.2em 0 .4em;border-bottom:1px solid #dee2e6}\n"
          "table{border-collapse:collapse;margin:0.4em 0 1em}\nth,td{border:1px solid #ccc;padding:2px 6px;"
          "vertical-align:top}\nth{background:#f1f3f5;text-align:left}\n.n{text-align:right;white-space:nowrap}\n"
          "td:first-child,.k{white-space:nowrap}\n.big{font-size:1.15em}\n.asof{color:#555}\ntr.total td{font-weight:bold;background:#f8f9fa}\n"
          "tr.red td:first-child{color:#c92a2a;font-weight:bold}\ntr.amber td:first-child{color:#e67700;"
          "font-weight:bold}\nul{margin:0;padding-left:1.2em}\n.missing{color:#c92a2a}\n"
          "svg{display:block;margin:.3em 0}\n</style></head><body>\n",
          f);
    fputs("<h1>Weekly delivery and operations report, ", f);
    olr_h_esc(f, r->week);
    fputs("</h1>\n<p class=\"asof\" id=\"as-of\">", f);
    olr_h_esc(f, olr_as_of(r, buf, sizeof buf));
    fputs("</p>\n", f);
    for (int i = 0; i < r->nmissing; i++) {
        fputs("<p class=\"missing\">Not available: ", f);
        olr_h_esc(f, r->missing[i]);
        fputs(" (", f);
        olr_h_esc(f, r->errors[i]);
        fputs(")</p>\n", f);
    }
    return olr_h_sections(f, r);
}

