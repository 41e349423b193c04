/* query — assurance's read verbs, read-only beside the running service (or
 * on a replayed projection with --db):
 *   query [status] --week W [--rag RED|AMBER|GREEN] [--engagement E] [--format table|json]
 *         every engagement's status of the week (json: the ops.delivery.status
 *         events as published, one array)
 *   query cover --from DAY --to DAY [--service S] [--format table|json]
 *         every live service's cover of the days (json: the ops.cover.gaps events)
 *   report [status] --week W
 *         the Head of Delivery's page: RAG counts, every RED and AMBER
 *         engagement with its reasons and top risks, risks opened and closed,
 *         what changed, and the next week's cover gaps
 * The rows read are the derived events this service published (the
 * runtime's `derived` database), decoded with the topic's schema. */
#include "assurance.h"
#include "ol_escape.h"
#include "ol_format.h"
#include "ol_json.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct reader {
    ol_store *st;
    MDB_txn *txn;
    ol_schemas *schemas;
    ol_decoder *status, *cover;
};

static int reader_open(struct reader *r, ol_store *st, const ol_config *cfg)
{
    char err[512];
    memset(r, 0, sizeof *r);
    r->st = st;
    if (ol_schemas_load(ol_config_get(cfg, "schemas_dir", ol_schemas_default_dir()), &r->schemas, err, sizeof err)) {
        ol_esc_eprintf("assurance: schemas: %s\n", err);
        return -1;
    }
    r->status = ol_decoder_new(r->schemas, ol_schemas_for_topic(r->schemas, "ops.delivery.status"));
    r->cover = ol_decoder_new(r->schemas, ol_schemas_for_topic(r->schemas, "ops.cover.gaps"));
    if (!r->status || !r->cover || mdb_txn_begin(st->env, NULL, MDB_RDONLY, &r->txn)) {
        fprintf(stderr, "assurance: cannot read the projection\n");
        return -1;
    }
    if (ol_derived_readable(st, r->txn, err, sizeof err)) {
        ol_esc_eprintf("assurance: %s\n", err);
        return -1; /* reader_close releases what is open */
    }
    return 0;
}

static void reader_close(struct reader *r)
{
    if (r->txn)
        mdb_txn_abort(r->txn);
    if (r->status)
        ol_decoder_free(r->status);
    if (r->cover)
        ol_decoder_free(r->cover);
    ol_schemas_free(r->schemas);
}

/* the last published event of (topic, key) as JSON; caller owns. NULL when none */
static json_t *event_json(struct reader *r, const char *topic, const char *key)
{
    ol_decoder *d = !strcmp(topic, "ops.delivery.status") ? r->status : r->cover;
    char err[256];
    int32_t wid;
    ol_key k;
    MDB_val v;
    ol_derived_key(&k, topic, key);
    MDB_val kv = ol_key_val(&k);
    if (k.overflow || mdb_get(r->txn, ol_store_dbi(r->st, "derived"), &kv, &v))
        return NULL;
    if (ol_decoder_decode(d, v.mv_data, v.mv_size, &wid, err, sizeof err) != OL_CODEC_OK) {
        char *shown = ol_esc(OL_ESC_TEXT, key); /* freed here */
        ol_esc_eprintf("assurance: stored event %s does not decode: %s\n", shown ? shown : "?", err);
        free(shown);
        return NULL;
    }
    return ol_json_from_avro(ol_schemas_for_topic(r->schemas, topic), ol_decoder_value(d));
}

static const char *jstr(json_t *o, const char *f)
{
    const char *s = json_string_value(json_object_get(o, f));
    return s ? s : "";
}

/* the tables and the report print every string of an event through these:
 * terminal text (ol_escape), held by the arena until the next reset */
static ol_esc_arena g_esc = OL_ESC_ARENA_INIT;

static const char *tstr(json_t *o, const char *f) { return ol_esc_a(&g_esc, OL_ESC_TEXT, jstr(o, f)); }

static const char *tval(json_t *x) { return ol_esc_a(&g_esc, OL_ESC_TEXT, json_string_value(x)); }

static long long jint(json_t *o, const char *f) { return (long long)json_integer_value(json_object_get(o, f)); }

/* the week's status events, RED first then AMBER then GREEN, each by engagement */
static json_t *status_week(struct reader *r, ol_week w, const char *rag, const char *eng)
{
    json_t *all = json_array();
    MDB_cursor *c;
    ol_key pk;
    char wk[9], key[600];
    ol_week_format(w, wk);
    ol_key_init(&pk);
    ol_key_i32(&pk, w);
    if (!all || mdb_cursor_open(r->txn, ol_store_dbi(r->st, "status"), &c))
        return all;
    MDB_val k = ol_key_val(&pk), v;
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < 4 || memcmp(k.mv_data, pk.b, 4))
            break;
        const char *id = (const char *)k.mv_data + 4;
        if (eng && strcmp(eng, id))
            continue;
        snprintf(key, sizeof key, "%s|%s", id, wk);
        json_t *o = event_json(r, "ops.delivery.status", key);
        if (!o)
            continue;
        if (rag && strcmp(jstr(o, "rag"), rag)) {
            json_decref(o);
            continue;
        }
        json_array_append_new(all, o);
    }
    mdb_cursor_close(c);
    /* RED, AMBER, GREEN: a stable pass per colour */
    json_t *out = json_array();
    static const char *const order[] = {"RED", "AMBER", "GREEN"};
    for (int i = 0; i < 3; i++) {
        size_t j;
        json_t *o;
        json_array_foreach(all, j, o) if (!strcmp(jstr(o, "rag"), order[i])) json_array_append(out, o);
    }
    json_decref(all);
    return out;
}

static json_t *cover_days(struct reader *r, int32_t from, int32_t to, const char *service)
{
    json_t *out = json_array();
    MDB_cursor *c;
    char key[600], d[11];
    if (!out || mdb_cursor_open(r->txn, ol_store_dbi(r->st, "cover"), &c))
        return out;
    MDB_val k, v;
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const char *svc = k.mv_data;
        size_t sl = strlen(svc);
        int32_t day = ol_key_get_i32(svc + sl + 1);
        if (day < from || day > to || (service && strcmp(service, svc)))
            continue;
        ol_date_format(day, d);
        snprintf(key, sizeof key, "%s|%s", svc, d);
        json_t *o = event_json(r, "ops.cover.gaps", key);
        if (o)
            json_array_append_new(out, o);
    }
    mdb_cursor_close(c);
    return out;
}

static void print_json(json_t *a)
{
    char *s = ol_esc_json_dumps(a, JSON_COMPACT);
    if (s)
        puts(s);
    else
        g_esc.failed = 1;
    free(s);
}

static void print_reasons(json_t *o, const char *field, const char *sep)
{
    size_t i;
    json_t *x;
    json_t *a = json_object_get(o, field);
    json_array_foreach(a, i, x) printf("%s%s", i ? sep : "", tval(x));
}

static void bp(json_t *o, const char *f, char *buf, size_t n)
{
    json_t *x = json_object_get(o, f);
    ol_fmt_bp(buf, n, json_is_integer(x), (int32_t)json_integer_value(x));
}

static void status_table(json_t *a)
{
    size_t i;
    json_t *o;
    char b[24], e[24];
    printf("%-10s %-18s %-5s %-5s %7s %7s %-8s %s\n", "engagement", "client", "rag", "prev", "burn", "time",
           "C/H/M/L", "reasons");
    json_array_foreach(a, i, o)
    {
        bp(o, "budget_burn_bp", b, sizeof b);
        bp(o, "time_elapsed_bp", e, sizeof e);
        json_t *p = json_object_get(o, "previous_rag");
        printf("%-10s %-18s %-5s %-5s %7s %7s %lld/%lld/%lld/%lld  ", tstr(o, "engagement_id"),
               ol_esc_a_cut(&g_esc, OL_ESC_TEXT, jstr(o, "client"), 18), tstr(o, "rag"),
               json_is_string(p) ? tval(p) : "-", b, e, jint(o, "open_risks_critical"),
               jint(o, "open_risks_high"), jint(o, "open_risks_medium"), jint(o, "open_risks_low"));
        print_reasons(o, "reasons", "; ");
        printf("\n");
        ol_esc_arena_reset(&g_esc);
    }
}

static void cover_table(json_t *a)
{
    size_t i;
    json_t *o;
    printf("%-20s %-10s %9s %9s %9s %s\n", "service", "day", "no_prim", "on_leave", "double", "gaps");
    json_array_foreach(a, i, o)
    {
        printf("%-20s %-10s %9lld %9lld %9lld ", tstr(o, "service_id"), tstr(o, "day"), jint(o, "uncovered_minutes"),
               jint(o, "primary_on_leave_minutes"), jint(o, "double_booked_minutes"));
        size_t j;
        json_t *g;
        json_array_foreach(json_object_get(o, "gaps"), j, g)
        {
            const char *s = tstr(g, "starts_at"), *e = tstr(g, "ends_at");
            printf("%s%.5s-%.5s %s", j ? "; " : "", strlen(s) > 11 ? s + 11 : s, strlen(e) > 11 ? e + 11 : e,
                   tstr(g, "reason"));
        }
        printf("\n");
        ol_esc_arena_reset(&g_esc);
    }
}

static int parse_day(const char *s, int32_t *d)
{
    return s && !ol_date_parse(s, d) ? 0 : -1;
}

int as_query(ol_store *st, int argc, char **argv, const ol_config *cfg)
{
    const char *week = NULL, *rag = NULL, *eng = NULL, *format = "table", *from = NULL, *to = NULL, *service = NULL;
    int cover = 0, i = 1;
    struct reader r;
    if (i < argc && !strcmp(argv[i], "status"))
        i++;
    else if (i < argc && !strcmp(argv[i], "cover")) {
        cover = 1;
        i++;
    }
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--week") && i + 1 < argc)
            week = argv[++i];
        else if (!strcmp(argv[i], "--rag") && i + 1 < argc)
            rag = argv[++i];
        else if (!strcmp(argv[i], "--engagement") && i + 1 < argc)
            eng = argv[++i];
        else if (!strcmp(argv[i], "--from") && i + 1 < argc)
            from = argv[++i];
        else if (!strcmp(argv[i], "--to") && i + 1 < argc)
            to = argv[++i];
        else if (!strcmp(argv[i], "--service") && i + 1 < argc)
            service = argv[++i];
        else if (!strcmp(argv[i], "--format") && i + 1 < argc)
            format = argv[++i];
        else
            return ol_usage_arg("query assurance", "unknown argument ", argv[i], NULL);
    }
    ol_week w = 0;
    int32_t d0 = 0, d1 = 0;
    if (strcmp(format, "table") && strcmp(format, "json")) {
        fprintf(stderr, "query assurance: --format is table or json\n");
        return 2;
    }
    if (rag && strcmp(rag, "RED") && strcmp(rag, "AMBER") && strcmp(rag, "GREEN")) /* ops.delivery.status's Rag */
        return ol_usage_arg("query assurance", "--rag is RED, AMBER or GREEN (got ", rag, ")");
    if (!cover && week && ol_week_arg("query assurance", "--week", week, &w))
        return 2;
    if (!cover && !week) {
        fprintf(stderr, "usage: query assurance [status] --week 2026-W47 [--rag RED|AMBER|GREEN] [--engagement E] "
                        "[--format table|json]\n");
        return 2;
    }
    if (cover && (parse_day(from, &d0) || parse_day(to ? to : from, &d1))) {
        fprintf(stderr, "usage: query assurance cover --from 2026-11-23 [--to 2026-11-29] [--service S] "
                        "[--format table|json]\n");
        return 2;
    }
    if (!st) /* the arguments alone (ol_service_main_args_first) */
        return 0;
    if (reader_open(&r, st, cfg)) {
        reader_close(&r);
        return 1;
    }
    json_t *a = cover ? cover_days(&r, d0, d1, service) : status_week(&r, w, rag, eng);
    size_t found = json_array_size(a);
    if (!strcmp(format, "json"))
        print_json(a);
    else if (found && cover) /* a table's header only above rows */
        cover_table(a);
    else if (found)
        status_table(a);
    json_decref(a);
    reader_close(&r);
    ol_esc_arena_reset(&g_esc);
    if (g_esc.failed) {
        fprintf(stderr, "assurance: out of memory\n");
        return 1;
    }
    if (!found && cover) { /* the good answer, not a missing one */
        if (strcmp(format, "json"))
            printf("no cover gaps from %s to %s%s\n", from, to ? to : from, service ? " for that --service" : "");
        return 0;
    }
    if (!found) {
            fprintf(stderr,
                    "query assurance: no delivery status for %s%s (exit status 3); opsledger status assurance shows "
                    "the data time folded so far\n",
                    week, rag || eng ? " with that --rag/--engagement" : "");
        return 3;
    }
    return 0;
}

/* ------------------------------------------------------------ report */
static void report_status(json_t *a, const char *wk)
{
    size_t i;
    json_t *o;
    int n[3] = {0, 0, 0};
    json_array_foreach(a, i, o)
    {
        if (json_is_true(json_object_get(o, "closed")))
            continue;
        const char *rag = jstr(o, "rag");
        n[!strcmp(rag, "RED") ? 2 : !strcmp(rag, "AMBER") ? 1 : 0]++;
    }
    printf("Delivery status %s: %d RED, %d AMBER, %d GREEN (active engagements)\n", wk, n[2], n[1], n[0]);
    json_array_foreach(a, i, o)
    {
        const char *rag = jstr(o, "rag");
        json_t *p = json_object_get(o, "previous_rag");
        if (json_is_true(json_object_get(o, "closed")) || !strcmp(rag, "GREEN"))
            continue;
        printf("\n  %-5s %s %s (%s)", tstr(o, "rag"), tstr(o, "engagement_id"), tstr(o, "engagement_name"),
               tstr(o, "client"));
        if (json_is_string(p))
            printf(", was %s", tval(p));
        printf("\n    reasons: ");
        print_reasons(o, "reasons", "; ");
        printf("\n");
        size_t j;
        json_t *r;
        json_array_foreach(json_object_get(o, "open_risks"), j, r)
        {
            if (j == 3)
                break;
            printf("    risk %s %s %s: %s (owner %s)\n", tstr(r, "risk_id"), tstr(r, "severity"), tstr(r, "category"),
                   tstr(r, "summary"), tstr(r, "owner"));
        }
        if (json_array_size(json_object_get(o, "changes"))) {
            printf("    changed: ");
            print_reasons(o, "changes", "; ");
            printf("\n");
        }
        ol_esc_arena_reset(&g_esc);
    }
    printf("\nRisks opened this week:");
    int any = 0;
    json_array_foreach(a, i, o)
    {
        size_t j;
        json_t *x;
        json_array_foreach(json_object_get(o, "risks_opened"), j, x)
        {
            printf("%s %s (%s)", any++ ? "," : "", tval(x), tstr(o, "engagement_id"));
        }
        ol_esc_arena_reset(&g_esc);
    }
    printf("%s\nRisks closed or mitigated this week:", any ? "" : " none");
    any = 0;
    json_array_foreach(a, i, o)
    {
        size_t j;
        json_t *x;
        json_array_foreach(json_object_get(o, "risks_closed"), j, x)
        {
            printf("%s %s (%s)", any++ ? "," : "", tval(x), tstr(o, "engagement_id"));
        }
        ol_esc_arena_reset(&g_esc);
    }
    printf("%s\n", any ? "" : " none");
}

int as_report(ol_store *st, int argc, char **argv, const ol_config *cfg)
{
    const char *week = NULL;
    struct reader r;
    int i = 1;
    ol_week w;
    if (i < argc && !strcmp(argv[i], "status"))
        i++;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--week") && i + 1 < argc)
            week = argv[++i];
        else
            return ol_usage_arg("report assurance", "unknown argument ", argv[i], NULL);
    }
    if (ol_week_arg("report assurance", "--week", week, &w))
        return 2;
    if (!st) /* the arguments alone (ol_service_main_args_first) */
        return 0;
    if (reader_open(&r, st, cfg)) {
        reader_close(&r);
        return 1;
    }
    json_t *a = status_week(&r, w, NULL, NULL);
    report_status(a, week);
    json_decref(a);
    ol_week next = ol_week_add(w, 1);
    char nw[9];
    ol_week_format(next, nw);
    json_t *c = cover_days(&r, ol_week_monday(next), ol_week_monday(next) + 6, NULL);
    printf("\nCover gaps %s (minutes without an available PRIMARY):\n", nw);
    size_t j;
    json_t *o;
    int any = 0;
    json_t *gaps = json_array();
    json_array_foreach(c, j, o) if (json_array_size(json_object_get(o, "gaps"))) json_array_append(gaps, o), any++;
    if (any)
        cover_table(gaps);
    else
        printf("  none\n");
    json_decref(gaps);
    json_decref(c);
    reader_close(&r);
    ol_esc_arena_reset(&g_esc);
    if (g_esc.failed) {
        fprintf(stderr, "assurance: out of memory\n");
        return 1;
    }
    return 0;
}
