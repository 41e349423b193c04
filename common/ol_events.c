/* ol_events — the `events` verb every service executable has:
 *   opsledger-<svc> events --topic T [--key-prefix P] [--key-suffix S]
 * prints the last event the service published for each key of one of its
 * derived topics (the runtime's `derived` database), as JSON lines in key
 * order (the database keeps them week first, ol_derived.c: they are sorted
 * here). It reads only what the service publishes (the topic's schema is
 * the contract), so a program that composes several services' figures (the
 * weekly report) depends on the topics, never on a service's own tables. */
#include "ol_escape.h"
#include "ol_json.h"
#include "ol_svcmain.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct row {
    const char *key; /* key and value point into the read transaction's map */
    MDB_val v;
};

static int line_cmp(const void *a, const void *b)
{
    return strcmp(((const struct row *)a)->key, ((const struct row *)b)->key);
}

int ol_service_events(const ol_service *svc, ol_store *st, const ol_config *cfg, int argc, char **argv)
{
    struct row *rows = NULL; /* the matching rows, sorted by key before they are decoded */
    size_t nr = 0, capr = 0;
    const char *topic = NULL, *prefix = "", *suffix = "";
    ol_schemas *schemas = NULL;
    ol_decoder *dec = NULL;
    MDB_txn *txn = NULL;
    MDB_cursor *c = NULL;
    char err[512];
    int rc = 2;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--topic") && i + 1 < argc)
            topic = argv[++i];
        else if (!strcmp(argv[i], "--key-prefix") && i + 1 < argc)
            prefix = argv[++i];
        else if (!strcmp(argv[i], "--key-suffix") && i + 1 < argc)
            suffix = argv[++i];
        else
            return ol_usage_arg("events", "unknown argument ", argv[i], NULL);
    }
    if (!ol_svc_topic_known(svc, "events --topic T [--key-prefix P] [--key-suffix S]", svc->outputs, topic))
        return 2;
    if (!st) /* the arguments alone: checked before the store is opened */
        return 0;
    rc = 1;
    if (ol_schemas_load(ol_config_get(cfg, "schemas_dir", ol_schemas_default_dir()), &schemas, err, sizeof err)) {
        ol_esc_eprintf("events: schemas: %s\n", err);
        goto out;
    }
    const ol_schema *s = ol_schemas_for_topic(schemas, topic);
    if (!s || !(dec = ol_decoder_new(schemas, s)))
        goto out;
    if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn) || mdb_cursor_open(txn, ol_store_dbi(st, "derived"), &c))
        goto out;
    if (ol_derived_readable(st, txn, err, sizeof err)) {
        ol_esc_eprintf("events: %s\n", err);
        goto out;
    }
    ol_key pk;
    ol_key_init(&pk);
    ol_key_str(&pk, topic);
    size_t pl = strlen(prefix), sl = strlen(suffix);
    MDB_val k = ol_key_val(&pk), v;
    rc = 0;
    for (int g = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); g == 0; g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < pk.n || memcmp(k.mv_data, pk.b, pk.n))
            break;
        const char *key = ol_derived_key_of(k.mv_data, k.mv_size, NULL);
        if (!key)
            continue; /* not a row ol_fold_emit wrote */
        size_t kl = strlen(key);
        if (kl < pl || memcmp(key, prefix, pl) || kl < sl || memcmp(key + kl - sl, suffix, sl))
            continue;
        if (nr == capr) {
            size_t cap = capr ? 2 * capr : 256;
            struct row *bigger = realloc(rows, cap * sizeof *rows);
            if (!bigger) {
                fprintf(stderr, "events: out of memory after %zu rows\n", nr);
                rc = 1;
                goto out;
            }
            rows = bigger, capr = cap;
        }
        rows[nr++] = (struct row){key, v};
    }
    if (nr)
        qsort(rows, nr, sizeof *rows, line_cmp);
    for (size_t i = 0; i < nr; i++) {
        int32_t wid;
        if (ol_decoder_decode(dec, rows[i].v.mv_data, rows[i].v.mv_size, &wid, err, sizeof err) != OL_CODEC_OK) {
            char *shown = ol_esc(OL_ESC_TEXT, rows[i].key); /* caller (here) frees */
            ol_esc_eprintf("events: %s %s does not decode: %s\n", topic, shown ? shown : "?", err);
            free(shown);
            rc = 1;
            continue;
        }
        json_t *j = ol_json_from_avro(s, ol_decoder_value(dec));
        char *line = j ? ol_esc_json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        if (line)
            puts(line);
        else
            rc = 1;
        free(line);
    }
out:
    free(rows);
    if (c)
        mdb_cursor_close(c);
    if (txn)
        mdb_txn_abort(txn);
    if (dec)
        ol_decoder_free(dec);
    ol_schemas_free(schemas);
    return rc;
}
