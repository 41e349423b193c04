/* ol_registry — see ol_registry.h. This file: the configuration, the
 * in-memory cache of writer schemas by id (what the decoder asks), and the
 * derived topics' manifest id -> registry id map the publisher applies. */
#include "ol_registry_int.h"
#include "ol_http.h"
#include "ol_log.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int curl_ready;

static int get_long(const ol_config *cfg, const char *key, int64_t def, int64_t lo, int64_t hi, long *out,
                    char *err, size_t errlen)
{
    int64_t v;
    if (ol_config_get_i64(cfg, key, def, &v, err, errlen))
        return -1;
    if (v < lo || v > hi) {
        snprintf(err, errlen, "%s must be %lld..%lld, got %lld", key, (long long)lo, (long long)hi, (long long)v);
        return -1;
    }
    *out = (long)v;
    return 0;
}

static char *dup_opt(const ol_config *cfg, const char *key, int *fail)
{
    const char *v = ol_config_get(cfg, key, NULL);
    char *d = v && *v ? strdup(v) : NULL;
    if (v && *v && !d)
        *fail = 1;
    return d;
}

int ol_registry_from_config(const ol_config *cfg, ol_registry **out, char *err, size_t errlen)
{
    const char *url = ol_config_get(cfg, "schema_registry.url", NULL);
    ol_registry *r = NULL;
    long retries = 0;
    int fail = 0;

    *out = NULL;
    if (!url || !*url)
        return 0;
    if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) {
        snprintf(err, errlen, "schema_registry.url must start with http:// or https://");
        return -1;
    }
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
            snprintf(err, errlen, "libcurl could not be initialised");
            return -1;
        }
        curl_ready = 1;
    }
    if (!(r = calloc(1, sizeof *r)))
        goto nomem;
    if (!(r->url = strdup(url)) || !(r->url_shown = strdup(url)))
        goto nomem;
    size_t ul = strlen(r->url);
    while (ul > 0 && r->url[ul - 1] == '/')
        r->url[--ul] = '\0';
    /* https://user:pass@host -> https://host in every message: the user info
     * runs to the LAST '@' (a password may hold '@' or '/'; the first '@', or
     * a '/' before it, showed part or all of the password: review) */
    ol_http_url_shown(r->url, r->url_shown, strlen(url) + 1);
    r->userinfo = dup_opt(cfg, "schema_registry.basic_auth_user_info", &fail);
    r->ca = dup_opt(cfg, "schema_registry.ssl.ca.location", &fail);
    r->cert = dup_opt(cfg, "schema_registry.ssl.certificate.location", &fail);
    r->key = dup_opt(cfg, "schema_registry.ssl.key.location", &fail);
    r->key_password = dup_opt(cfg, "schema_registry.ssl.key.password", &fail);
    if (fail)
        goto nomem;
    if (r->userinfo && !strchr(r->userinfo, ':')) {
        snprintf(err, errlen, "schema_registry.basic_auth_user_info must be USER:PASSWORD");
        goto fail;
    }
    if (get_long(cfg, "schema_registry.request.timeout.ms", 10000, 1, 600000, &r->timeout_ms, err, errlen) ||
        get_long(cfg, "schema_registry.retries", 3, 0, 100, &retries, err, errlen) ||
        get_long(cfg, "schema_registry.retry.backoff.ms", 200, 1, 600000, &r->backoff_ms, err, errlen) ||
        get_long(cfg, "schema_registry.retry.backoff.max.ms", 10000, 1, 3600000, &r->backoff_max_ms, err, errlen))
        goto fail;
    r->retries = (int)retries;
    const char *ar = ol_config_get(cfg, "schema_registry.auto_register", "false");
    if (!strcmp(ar, "true") || !strcmp(ar, "1"))
        r->auto_register = 1;
    else if (strcmp(ar, "false") && strcmp(ar, "0")) {
        snprintf(err, errlen, "schema_registry.auto_register must be true or false, got %s", ar);
        goto fail;
    }
    if (!(r->curl = curl_easy_init()))
        goto nomem;
    *out = r;
    return 0;
nomem:
    snprintf(err, errlen, "out of memory");
fail:
    ol_registry_free(r);
    return -1;
}

static void free_built(ol_schema *s)
{
    if (!s)
        return;
    if (s->iface)
        avro_value_iface_decref(s->iface);
    if (s->avro)
        avro_schema_decref(s->avro);
    free(s->subject);
    free(s);
}

void ol_registry_free(ol_registry *r)
{
    if (!r)
        return;
    if (r->curl)
        curl_easy_cleanup(r->curl);
    for (size_t i = 0; i < r->ne; i++) {
        free(r->e[i].text);
        json_decref(r->e[i].json);
        free_built(r->e[i].built);
    }
    for (size_t i = 0; i < r->nmap; i++)
        free(r->map[i].topic);
    free(r->map);
    free(r->e);
    free(r->url);
    free(r->url_shown);
    free(r->userinfo);
    free(r->ca);
    free(r->cert);
    free(r->key);
    free(r->key_password);
    free(r);
}

int ol_registry_attach(ol_schemas *schemas, const ol_config *cfg, char *err, size_t errlen)
{
    ol_registry *r;
    if (ol_registry_from_config(cfg, &r, err, errlen))
        return -1;
    schemas->reg = r;
    return 0;
}

const char *ol_registry_url(const ol_registry *r) { return r->url_shown; }
int ol_registry_auto_register(const ol_registry *r) { return r->auto_register; }
void ol_registry_set_stop(ol_registry *r, volatile sig_atomic_t *stop) { r->stop = stop; }
int ol_registry_stopping(const ol_registry *r) { return r->stop && *r->stop; }

static struct ol_reg_entry *entry_of(const ol_registry *r, int32_t id)
{
    for (size_t i = 0; i < r->ne; i++)
        if (r->e[i].id == id)
            return &r->e[i];
    return NULL;
}

int ol_registry_cached(const ol_registry *r, int32_t id)
{
    return entry_of(r, id) != NULL;
}

const char *ol_registry_cached_text(const ol_registry *r, int32_t id)
{
    const struct ol_reg_entry *e = r ? entry_of(r, id) : NULL;
    return e ? e->text : NULL;
}

int ol_registry_cache_put(ol_registry *r, int32_t id, const char *schema, int pending)
{
    json_error_t je;
    if (entry_of(r, id))
        return 0;
    if (r->ne == r->cape) {
        size_t nc = r->cape ? r->cape * 2 : 16;
        struct ol_reg_entry *ne = realloc(r->e, nc * sizeof *ne);
        if (!ne)
            return -1;
        r->e = ne;
        r->cape = nc;
    }
    struct ol_reg_entry *e = &r->e[r->ne];
    memset(e, 0, sizeof *e);
    e->id = id;
    e->pending = pending;
    if (!(e->text = strdup(schema)))
        return -1;
    e->json = json_loads(schema, 0, &je); /* NULL: not JSON, refused when asked for */
    r->ne++;
    return 0;
}

int ol_registry_cache_at(const ol_registry *r, size_t i, int pending_only, int32_t *id, const char **schema)
{
    for (size_t k = 0; k < r->ne; k++) {
        if (pending_only && !r->e[k].pending)
            continue;
        if (i-- == 0) {
            *id = r->e[k].id;
            *schema = r->e[k].text;
            return 1;
        }
    }
    return 0;
}

void ol_registry_cache_saved(ol_registry *r, int32_t id)
{
    struct ol_reg_entry *e = entry_of(r, id);
    if (e)
        e->pending = 0;
}

static const char *short_name(const json_t *schema)
{
    const char *n = json_string_value(json_object_get(schema, "name"));
    const char *dot = n ? strrchr(n, '.') : NULL;
    return dot ? dot + 1 : n;
}

/* builds the decoder's writer schema from the entry's text */
static enum ol_reg_status build(struct ol_reg_entry *e, const ol_schema *reader, char *err, size_t errlen)
{
    ol_schema *s = calloc(1, sizeof *s);
    char *text = NULL;
    if (!s || !(s->subject = strdup(reader->subject)))
        goto nomem;
    s->id = e->id;
    s->json = e->json; /* borrowed from the entry */
    if (!(text = json_dumps(e->json, JSON_COMPACT)))
        goto nomem;
    if (avro_schema_from_json_length(text, strlen(text), &s->avro) ||
        !(s->iface = avro_generic_class_from_schema(s->avro))) {
        snprintf(err, errlen, "schema id %ld from the registry does not parse as Avro: %s", (long)e->id,
                 avro_strerror());
        free(text);
        free_built(s);
        return OL_REG_REFUSED;
    }
    free(text);
    e->built = s;
    return OL_REG_OK;
nomem:
    free_built(s);
    snprintf(err, errlen, "out of memory");
    return OL_REG_NOMEM;
}

enum ol_reg_status ol_registry_writer(ol_registry *r, int32_t id, const ol_schema *reader, const ol_schema **out,
                                      char *err, size_t errlen)
{
    struct ol_reg_entry *e = entry_of(r, id);
    *out = NULL;
    if (!e && !r->url) {
        snprintf(err, errlen, "schema id %ld is not among the writer schemas the archive kept", (long)id);
        return OL_REG_NOT_FOUND;
    }
    if (!e && ol_registry_is_missing(r, id)) {
        snprintf(err, errlen, "schema registry GET %s/schemas/ids/%ld: HTTP 404 error_code 40403: Schema not found",
                 r->url_shown, (long)id);
        return OL_REG_NOT_FOUND;
    }
    if (!e) {
        char *text = NULL;
        enum ol_reg_status st = ol_registry_get_schema(r, id, &text, err, errlen);
        if (st)
            return st;
        int rc = ol_registry_cache_put(r, id, text, 1);
        free(text);
        if (rc || !(e = entry_of(r, id))) {
            snprintf(err, errlen, "out of memory");
            return OL_REG_NOMEM;
        }
        ol_info("writer schema fetched from the registry|id=%ld subject=%s", (long)id, reader->subject);
    }
    if (!e->json || !json_is_object(e->json)) {
        snprintf(err, errlen, "schema id %ld from the registry is not an Avro record", (long)id);
        return OL_REG_REFUSED;
    }
    const char *wn = short_name(e->json), *rn = short_name(reader->json);
    if (!wn || !rn || strcmp(wn, rn)) {
        snprintf(err, errlen, "schema id %ld from the registry is record %s, not %s of subject %s", (long)id,
                 wn ? wn : "(unnamed)", rn ? rn : "(unnamed)", reader->subject);
        return OL_REG_REFUSED;
    }
    if (e->same_as == reader) {
        *out = reader;
        return OL_REG_OK;
    }
    if (json_equal(e->json, reader->json)) {
        e->same_as = reader; /* read directly, no resolution */
        *out = reader;
        return OL_REG_OK;
    }
    if (!e->built) {
        enum ol_reg_status st = build(e, reader, err, errlen);
        if (st)
            return st;
    }
    *out = e->built;
    return OL_REG_OK;
}

int ol_registry_map_derived(ol_registry *r, const char *topic, int32_t manifest_id, int32_t id)
{
    struct ol_reg_map *nm = realloc(r->map, (r->nmap + 1) * sizeof *nm);
    if (!nm)
        return -1;
    r->map = nm;
    if (!(nm[r->nmap].topic = strdup(topic)))
        return -1;
    nm[r->nmap].manifest_id = manifest_id;
    nm[r->nmap].id = id;
    r->nmap++;
    return 0;
}

void ol_registry_rewrite_frame(const ol_registry *r, const char *topic, void *frame, size_t len)
{
    uint8_t *b = frame;
    if (!r || len < 5 || b[0] != 0)
        return;
    int32_t id = (int32_t)(((uint32_t)b[1] << 24) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 8) | b[4]);
    for (size_t i = 0; i < r->nmap; i++) {
        if (r->map[i].manifest_id == id && !strcmp(r->map[i].topic, topic)) {
            uint32_t n = (uint32_t)r->map[i].id;
            b[1] = (uint8_t)(n >> 24), b[2] = (uint8_t)(n >> 16), b[3] = (uint8_t)(n >> 8), b[4] = (uint8_t)n;
            return;
        }
    }
}

char *ol_registry_schema_text(const ol_schema *s)
{
    return json_dumps(s->json, JSON_COMPACT);
}

void ol_registry_forget_missing(ol_registry *r)
{
    r->nmissing = 0;
}

void ol_registry_note_missing(ol_registry *r, int32_t id)
{
    if (!ol_registry_is_missing(r, id) && r->nmissing < sizeof r->missing / sizeof r->missing[0])
        r->missing[r->nmissing++] = id;
}

int ol_registry_is_missing(const ol_registry *r, int32_t id)
{
    for (size_t i = 0; i < r->nmissing; i++)
        if (r->missing[i] == id)
            return 1;
    return 0;
}

enum ol_reg_status ol_registry_frame_id(ol_registry *r, const ol_schema *s, char *err, size_t errlen)
{
    char why[1024];
    int32_t id = 0;
    int version = 0;
    enum ol_reg_status st;
    if (!r)
        return OL_REG_OK;
    char *text = ol_registry_schema_text(s);
    if (!text) {
        snprintf(err, errlen, "out of memory");
        return OL_REG_NOMEM;
    }
    st = ol_registry_lookup(r, s->subject, text, &id, &version, why, sizeof why);
    if (st == OL_REG_NOT_FOUND && r->auto_register) {
        st = ol_registry_register(r, s->subject, text, &id, why, sizeof why);
        if (st == OL_REG_OK)
            ol_info("schema registered|subject=%s id=%ld file=%s", s->subject, (long)id, s->file);
    } else if (st == OL_REG_NOT_FOUND) {
        snprintf(err, errlen,
                 "%s; the schema %s is not registered under subject %s: run `opsledger schemas register` "
                 "or set schema_registry.auto_register = true",
                 why, s->file, s->subject);
        free(text);
        return st;
    }
    free(text);
    if (st) {
        snprintf(err, errlen, "%s", why);
        return st;
    }
    if (ol_registry_map_derived(r, s->topic, s->id, id)) {
        snprintf(err, errlen, "out of memory");
        return OL_REG_NOMEM;
    }
    ol_info("frames carry the registry's id|topic=%s subject=%s id=%ld", s->topic, s->subject, (long)id);
    return OL_REG_OK;
}
