/* ol_entities — the `entities` verb every service executable has:
 *   opsledger-<svc> entities --topic T
 * prints the latest stored version of every entity of one of the service's
 * input topics (the state engine's version log, ol_state_foreach_latest), as
 * JSON lines in entity id order, the fields those of the topic's schema.
 * It exists so that a program that shows figures to people (the weekly
 * report) can put names beside ids (hr.person, delivery.engagement) from a
 * service's read-only copy of the upstream facts, without reading any
 * service's own tables: the input topic's schema is the contract. */
#include "ol_entities.h"
#include "ol_escape.h"
#include "ol_json.h"
#include "ol_state.h"
#include "ol_svcmain.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ent_walk {
    const char *topic;
    size_t topic_len;
    const ol_schema *schema;
    ol_decoder *dec;
    int rc;
    json_t *into;                 /* ol_names: id -> field's string, else printed */
    const char *id_field, *field; /* for into */
};

/* one latest version (key: topic NUL id NUL; value: revision (8) | event_id
 * length (2, BE) | event_id | frame); a row that does not decode is named
 * on stderr and the walk goes on (exit status 1 at the end) */
static int ent_row(const MDB_val *k, const MDB_val *v, void *arg)
{
    struct ent_walk *w = arg;
    const unsigned char *p = v->mv_data;
    char err[256];
    if (k->mv_size <= w->topic_len + 1 || memcmp(k->mv_data, w->topic, w->topic_len) ||
        ((const char *)k->mv_data)[w->topic_len] != '\0')
        return 0;
    const char *id = (const char *)k->mv_data + w->topic_len + 1;
    if (v->mv_size < 10 || v->mv_size < 10 + (size_t)((p[8] << 8) | p[9])) {
        fprintf(stderr, "entities: %s: a version row is too short\n", w->topic);
        w->rc = 1;
        return 0;
    }
    size_t off = 10 + (size_t)((p[8] << 8) | p[9]);
    int32_t wid;
    if (ol_decoder_decode(w->dec, p + off, v->mv_size - off, &wid, err, sizeof err) != OL_CODEC_OK) {
        char *shown = ol_esc(OL_ESC_TEXT, id); /* freed here */
        ol_esc_eprintf("entities: %s %s does not decode: %s\n", w->topic, shown ? shown : "?", err);
        free(shown);
        w->rc = 1;
        return 0;
    }
    json_t *j = ol_json_from_avro(w->schema, ol_decoder_value(w->dec));
    if (w->into) {
        json_t *v = json_object_get(j, w->field);
        if (json_is_string(v) && json_object_set(w->into, id, v))
            w->rc = 1;
        json_decref(j);
        return 0;
    }
    char *line = j ? ol_esc_json_dumps(j, JSON_COMPACT) : NULL; /* freed here */
    if (line)
        puts(line);
    else
        w->rc = 1;
    free(line);
    json_decref(j);
    return 0;
}

int ol_service_entities(const ol_service *svc, ol_store *st, const ol_config *cfg, int argc, char **argv)
{
    const char *topic = NULL;
    ol_schemas *schemas = NULL;
    struct ent_walk w = {0};
    MDB_txn *txn = NULL;
    char err[512];
    int rc = 2;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--topic") && i + 1 < argc)
            topic = argv[++i];
        else
            return ol_usage_arg("entities", "unknown argument ", argv[i], NULL);
    }
    if (!ol_svc_topic_known(svc, "entities --topic T", svc->inputs, topic))
        return 2;
    if (!st) /* the arguments alone: checked before the store is opened */
        return 0;
    rc = 1;
    if (ol_schemas_load(ol_config_get(cfg, "schemas_dir", ol_schemas_default_dir()), &schemas, err, sizeof err)) {
        ol_esc_eprintf("entities: schemas: %s\n", err);
        goto out;
    }
    w.topic = topic;
    w.topic_len = strlen(topic);
    w.schema = ol_schemas_for_topic(schemas, topic);
    if (!w.schema || !(w.dec = ol_decoder_new(schemas, w.schema))) {
        fprintf(stderr, "entities: no schema for %s\n", topic);
        goto out;
    }
    int e = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
    if (!e)
        e = ol_state_foreach_latest(txn, ol_store_dbi(st, "versions"), ent_row, &w);
    if (e) {
        fprintf(stderr, "entities: %s: %s\n", topic, mdb_strerror(e));
        goto out;
    }
    rc = w.rc;
out:
    if (txn)
        mdb_txn_abort(txn);
    if (w.dec)
        ol_decoder_free(w.dec);
    ol_schemas_free(schemas);
    return rc;
}

struct ol_names {
    json_t *byid; /* entity id -> the field's string */
};

ol_names *ol_names_load(ol_store *st, const ol_config *cfg, const char *topic, const char *field, char *err,
                        size_t errlen)
{
    ol_schemas *schemas = NULL;
    struct ent_walk w = {0};
    MDB_txn *txn = NULL;
    ol_names *n = calloc(1, sizeof *n); /* the caller owns it: ol_names_free */
    if (!n || !(n->byid = json_object())) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (ol_schemas_load(ol_config_get(cfg, "schemas_dir", ol_schemas_default_dir()), &schemas, err, errlen))
        goto fail;
    w.topic = topic;
    w.topic_len = strlen(topic);
    w.into = n->byid;
    w.field = field;
    w.schema = ol_schemas_for_topic(schemas, topic);
    if (!w.schema || !(w.dec = ol_decoder_new(schemas, w.schema))) {
        snprintf(err, errlen, "no schema for %s", topic);
        goto fail;
    }
    int e = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
    if (!e)
        e = ol_state_foreach_latest(txn, ol_store_dbi(st, "versions"), ent_row, &w);
    if (e) {
        snprintf(err, errlen, "%s: %s", topic, mdb_strerror(e));
        goto fail;
    }
    mdb_txn_abort(txn);
    ol_decoder_free(w.dec);
    ol_schemas_free(schemas);
    return n;
fail:
    if (txn)
        mdb_txn_abort(txn);
    if (w.dec)
        ol_decoder_free(w.dec);
    ol_schemas_free(schemas);
    ol_names_free(n);
    return NULL;
}

const char *ol_names_get(const ol_names *n, const char *id)
{
    const char *v = n && id ? json_string_value(json_object_get(n->byid, id)) : NULL;
    return v && *v ? v : NULL;
}

const char *ol_names_who(const ol_names *n, const char *id, char *buf, size_t len)
{
    const char *name = ol_names_get(n, id);
    if (name)
        snprintf(buf, len, "%s (%s)", name, id);
    else
        snprintf(buf, len, "%s", id ? id : "");
    return buf;
}

void ol_names_free(ol_names *n)
{
    if (!n)
        return;
    json_decref(n->byid);
    free(n);
}
