/* contractors — `report contractors --from W --to W`: every contractor
 * invoice whose period overlaps the weeks, with its reconciliation status,
 * discrepancies first (then by supplier, person, invoice); a table sized
 * from the data, hours as 37h15 and money as GBP 1,234.56. */
#include "billing.h"
#include "ol_entities.h"
#include "ol_escape.h"
#include "ol_format.h"
#include "ol_json.h"
#include "ol_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct inv_row {
    struct bill_recon r;
    char invoice[OL_ID_MAX_BYTES + 1], person[OL_ID_MAX_BYTES + 1], supplier[OL_ID_MAX_BYTES + 1], currency[8];
};

static const char *status_name(int s)
{
    static const char *n[] = {"MATCHED",     "OVER_INVOICED", "UNDER_INVOICED", "RATE_MISMATCH",
                              "OVERLAPPING", "NO_TIMESHEETS", "WITHDRAWN"};
    return s >= 0 && s <= REC_WITHDRAWN ? n[s] : "?";
}

/* discrepancies first, matched, then withdrawn */
static int rank(int s) { return s == REC_MATCHED ? 1 : s == REC_WITHDRAWN ? 2 : 0; }

static int cmp_row(const void *a, const void *b)
{
    const struct inv_row *x = a, *y = b;
    int c = rank(x->r.status) - rank(y->r.status);
    if (c)
        return c;
    if ((c = strcmp(x->supplier, y->supplier)) || (c = strcmp(x->person, y->person)))
        return c;
    return strcmp(x->invoice, y->invoice);
}

int billing_report_contractors(ol_store *st, const ol_config *cfg, int argc, char **argv)
{
    const char *from = NULL, *to = NULL;
    ol_week wf, wt;
    MDB_txn *txn = NULL;
    MDB_cursor *c = NULL;
    struct inv_row *rows = NULL;
    size_t n = 0, cap = 0;
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--from") && i + 1 < argc)
            from = argv[++i];
        else if (!strcmp(argv[i], "--to") && i + 1 < argc)
            to = argv[++i];
        else
            return ol_usage_arg("report contractors", "unknown argument ", argv[i], NULL);
    }
    if (ol_week_arg("report contractors", "--from", from, &wf) || ol_week_arg("report contractors", "--to", to, &wt))
        return 2;
    if (wf > wt) {
        fprintf(stderr, "report contractors: --from %s is after --to %s\n", from, to);
        return 2;
    }
    if (!st) /* the arguments alone (ol_service_main_args_first) */
        return 0;
    int32_t first = ol_week_monday(wf), last = ol_week_monday(wt) + 6;
    if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn) || mdb_cursor_open(txn, ol_store_dbi(st, "recon"), &c))
        goto out;
    MDB_val k, v;
    for (int g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0; g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        struct bill_recon r;
        memcpy(&r, v.mv_data, sizeof r);
        if (r.last < first || r.first > last)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            struct inv_row *nr = realloc(rows, cap * sizeof *nr);
            if (!nr)
                goto out;
            rows = nr;
        }
        struct inv_row *row = &rows[n++];
        row->r = r;
        const char *p = (const char *)v.mv_data + sizeof r;
        snprintf(row->invoice, sizeof row->invoice, "%s", (const char *)k.mv_data);
        snprintf(row->person, sizeof row->person, "%s", p);
        p += strlen(p) + 1;
        snprintf(row->supplier, sizeof row->supplier, "%s", p);
        p += strlen(p) + 1;
        snprintf(row->currency, sizeof row->currency, "%s", p);
    }
    if (n) /* rows is NULL when there is none: qsort(NULL, 0) is undefined */
        qsort(rows, n, sizeof *rows, cmp_row);
    printf("Contractor invoices %s .. %s: %zu invoices, discrepancies first\n\n", from, to, n);
    /* the contractors' names from hr.person as billing holds it (the
     * input topic's fields): an id alone when it cannot be read */
    char nerr[256];
    ol_names *names = ol_names_load(st, cfg, "hr.person", "name", nerr, sizeof nerr);
    if (!names)
        ol_esc_eprintf("report contractors: names not shown: %s\n", nerr);
    struct ol_table t;
    ol_table_init(&t, 0, "status|invoice|supplier|person|period from|>logged|>hours invoiced|>expected|>invoiced|>difference");
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        struct inv_row *r = &rows[i];
        char fd[11], e[48], a[48], d[48], lg[48], iv[48], who[384];
        ol_date_format(r->r.first, fd);
        ol_fmt_amount(e, sizeof e, r->r.expected, r->currency);
        ol_fmt_amount(a, sizeof a, r->r.invoiced, r->currency);
        ol_fmt_amount(d, sizeof d, r->r.invoiced - r->r.expected, r->currency);
        ol_fmt_hm(lg, sizeof lg, r->r.logged);
        ol_fmt_hm(iv, sizeof iv, r->r.minutes_invoiced);
        ol_table_row(&t, status_name(r->r.status), r->invoice, r->supplier,
                     ol_names_who(names, r->person, who, sizeof who), fd, lg, iv, e, a, d);
        bad += rank(r->r.status) == 0;
    }
    int failed = t.failed;
    ol_table_print(stdout, &t);
    ol_names_free(names);
    printf("\n%zu of %zu invoices need attention.\n", bad, n);
    rc = failed ? 1 : 0;
out:
    if (c)
        mdb_cursor_close(c);
    if (txn)
        mdb_txn_abort(txn);
    free(rows);
    return rc;
}
