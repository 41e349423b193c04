/* ol_schema — see ol_schema.h. */
#include "ol_schema.h"
#include "ol_registry.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef OL_SCHEMA_DIR_DEFAULT
#define OL_SCHEMA_DIR_DEFAULT "/usr/share/opsledger/schemas"
#endif

const char *ol_schemas_default_dir(void)
{
    const char *env = getenv("OPSLEDGER_SCHEMAS");
    if (env && *env)
        return env;
    if (access(OL_SCHEMA_DIR_DEFAULT "/manifest.tsv", R_OK) == 0)
        return OL_SCHEMA_DIR_DEFAULT;
    return "/usr/share/opsledger/schemas";
}

static void schema_clear(ol_schema *s)
{
    free(s->subject);
    free(s->topic);
    free(s->file);
    free(s->key_field);
    free(s->entity_field);
    if (s->json)
        json_decref(s->json);
    if (s->iface)
        avro_value_iface_decref(s->iface);
    ol_validate_free(s->vprog);
    if (s->avro)
        avro_schema_decref(s->avro);
    memset(s, 0, sizeof *s);
}

void ol_schemas_free(ol_schemas *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        schema_clear(&s->v[i]);
    free(s->v);
    free(s->dir);
    ol_registry_free(s->reg);
    free(s);
}

static int load_one(ol_schema *sc, const char *path, char *err, size_t errlen)
{
    json_error_t jerr;
    char *text = NULL;
    int rc = -1;

    sc->json = json_load_file(path, 0, &jerr);
    if (!sc->json) {
        snprintf(err, errlen, "%s:%d: %s", path, jerr.line, jerr.text);
        goto out;
    }
    text = json_dumps(sc->json, JSON_COMPACT);
    if (!text || avro_schema_from_json_length(text, strlen(text), &sc->avro)) {
        snprintf(err, errlen, "%s: avro: %s", path, avro_strerror());
        goto out;
    }
    sc->iface = avro_generic_class_from_schema(sc->avro);
    if (!sc->iface) {
        snprintf(err, errlen, "%s: avro class: %s", path, avro_strerror());
        goto out;
    }
    rc = 0;
out:
    free(text);
    return rc;
}

int ol_schemas_load(const char *dir, ol_schemas **out, char *err, size_t errlen)
{
    char path[4096], line[1024];
    FILE *f = NULL;
    ol_schemas *s = calloc(1, sizeof *s);
    int lineno = 0, rc = -1;

    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->dir = strdup(dir);
    snprintf(path, sizeof path, "%s/manifest.tsv", dir);
    f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    while (fgets(line, sizeof line, f)) {
        char subject[256], file[256], key[128], entity[128];
        int id;
        lineno++;
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || *p == '\0')
            continue;
        if (sscanf(p, "%d %255s %255s %127s %127s", &id, subject, file, key, entity) != 5 || id <= 0) {
            snprintf(err, errlen, "%s:%d: expected `id subject file key_field entity_field`", path, lineno);
            goto out;
        }
        if (ol_schemas_by_id(s, id)) {
            snprintf(err, errlen, "%s:%d: schema id %d used twice", path, lineno, id);
            goto out;
        }
        size_t sl = strlen(subject);
        if (sl < 7 || strcmp(subject + sl - 6, "-value") != 0) {
            snprintf(err, errlen, "%s:%d: subject %s must be <topic>-value", path, lineno, subject);
            goto out;
        }
        ol_schema *nv = realloc(s->v, (s->n + 1) * sizeof *nv);
        if (!nv) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        s->v = nv;
        ol_schema *sc = &s->v[s->n++];
        memset(sc, 0, sizeof *sc);
        sc->id = id;
        sc->subject = strdup(subject);
        sc->topic = strndup(subject, sl - 6);
        snprintf(path, sizeof path, "%s/%s", dir, file);
        sc->file = strdup(path);
        sc->key_field = strdup(key);
        sc->entity_field = strdup(entity);
        if (load_one(sc, path, err, errlen))
            goto out;
        sc->vprog = ol_validate_compile(sc); /* NULL: ol_validate walks the JSON instead */
        snprintf(path, sizeof path, "%s/manifest.tsv", dir);
    }
    if (s->n == 0) {
        snprintf(err, errlen, "%s: no schemas", path);
        goto out;
    }
    rc = 0;
out:
    if (f)
        fclose(f);
    if (rc) {
        ol_schemas_free(s);
        s = NULL;
    }
    *out = s;
    return rc;
}

const ol_schema *ol_schemas_by_id(const ol_schemas *s, int32_t id)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].id == id)
            return &s->v[i];
    return NULL;
}

const ol_schema *ol_schemas_for_topic(const ol_schemas *s, const char *topic)
{
    const ol_schema *best = NULL;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].topic, topic) == 0 && (!best || s->v[i].id > best->id))
            best = &s->v[i];
    return best;
}

static json_t *find_named(json_t *node, const char *name)
{
    if (json_is_object(node)) {
        json_t *t = json_object_get(node, "type");
        json_t *n = json_object_get(node, "name");
        const char *ts = json_string_value(t);
        if (n && ts && (!strcmp(ts, "record") || !strcmp(ts, "enum") || !strcmp(ts, "fixed"))) {
            const char *nm = json_string_value(n);
            const char *dot = strrchr(name, '.');
            const char *ndot = nm ? strrchr(nm, '.') : NULL;
            const char *short_name = dot ? dot + 1 : name;
            const char *short_nm = ndot ? ndot + 1 : nm;
            if (short_nm && strcmp(short_nm, short_name) == 0)
                return node;
        }
        const char *k;
        json_t *v;
        json_object_foreach(node, k, v)
        {
            json_t *r = find_named(v, name);
            if (r)
                return r;
        }
    } else if (json_is_array(node)) {
        size_t i;
        json_t *v;
        json_array_foreach(node, i, v)
        {
            json_t *r = find_named(v, name);
            if (r)
                return r;
        }
    }
    return NULL;
}

json_t *ol_schema_named_type(const ol_schema *s, const char *name)
{
    return find_named(s->json, name);
}
