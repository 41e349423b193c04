/* ol_registry — a client of a Confluent-compatible Schema Registry (issue 19).
 *
 * Why: upstream systems that serialise through Confluent's serialisers frame
 * records with whatever ids their registry assigned, and finance's consumers
 * expect derived events framed with ids their registry knows. With
 * `schema_registry.url` unset nothing here is used and the manifest serves,
 * exactly as before.
 *
 * Files: ol_registry_http.c speaks the REST API over libcurl (basic auth,
 * TLS, timeouts, retries with backoff, errors naming URL, subject and the
 * registry's error_code); ol_registry.c caches writer schemas by id, builds
 * them for the decoder and maps derived topics to their registry ids;
 * ol_registry_rt.c is what the fold runtime calls (start-up checks, the wait
 * for a registry that is down, the LMDB copy of the cache).
 *
 * Configuration (config file, -o key=value):
 *   schema_registry.url                      https://registry:8081 (unset: off)
 *   schema_registry.basic_auth_user_info     USER:PASSWORD (a secret: owner-only file)
 *   schema_registry.ssl.ca.location          CA bundle that signs the registry's certificate
 *   schema_registry.ssl.certificate.location client certificate (PEM), mutual TLS
 *   schema_registry.ssl.key.location         its private key (PEM)
 *   schema_registry.ssl.key.password         the key's passphrase (a secret)
 *   schema_registry.request.timeout.ms       one request, default 10000
 *   schema_registry.retries                  extra attempts on 5xx/transport errors, default 3
 *   schema_registry.retry.backoff.ms         first backoff, doubled each attempt, default 200
 *   schema_registry.retry.backoff.max.ms     backoff ceiling, default 10000
 *   schema_registry.auto_register            true: register derived schemas missing from
 *                                            their subject (default false) */
#ifndef OL_REGISTRY_H
#define OL_REGISTRY_H

#include "ol_config.h"
#include "ol_schema.h"

#include <jansson.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ol_registry ol_registry;

enum ol_reg_status {
    OL_REG_OK = 0,
    OL_REG_NOT_FOUND,   /* 404: 40401 subject, 40402 version, 40403 schema not found */
    OL_REG_UNAVAILABLE, /* transport error, timeout or 5xx after every retry: try later */
    OL_REG_REFUSED,     /* any other answer: 401/403 auth, 409 incompatible, 422 invalid, ... */
    OL_REG_NOMEM,
};

/* The registry named by cfg's schema_registry.* keys. Returns 0 with *out
 * NULL when schema_registry.url is unset, 0 with *out set (caller owns it:
 * ol_registry_free), or -1 with err naming the key at fault. */
int ol_registry_from_config(const ol_config *cfg, ol_registry **out, char *err, size_t errlen);
void ol_registry_free(ol_registry *r);
/* Loads the registry into schemas->reg (owned by schemas from then on) when
 * schema_registry.url is set. 0, or -1 with err. */
int ol_registry_attach(ol_schemas *schemas, const ol_config *cfg, char *err, size_t errlen);
/* the URL with any user info removed, for messages */
const char *ol_registry_url(const ol_registry *r);
int ol_registry_auto_register(const ol_registry *r);
/* a flag that, once set (a signal), makes waits and retries give up */
void ol_registry_set_stop(ol_registry *r, volatile sig_atomic_t *stop);
int ol_registry_stopping(const ol_registry *r);

/* ---- the REST API (ol_registry_http.c). Every call: status, err set on
 * anything but OK ("schema registry GET https://r/schemas/ids/7: HTTP 404
 * error_code 40403: Schema not found"); *out strings and json are the
 * caller's (free / json_decref). */
enum ol_reg_status ol_registry_get_schema(ol_registry *r, int32_t id, char **schema, char *err, size_t errlen);
enum ol_reg_status ol_registry_lookup(ol_registry *r, const char *subject, const char *schema, int32_t *id,
                                      int *version, char *err, size_t errlen);
enum ol_reg_status ol_registry_register(ol_registry *r, const char *subject, const char *schema, int32_t *id,
                                        char *err, size_t errlen);
enum ol_reg_status ol_registry_latest(ol_registry *r, const char *subject, int32_t *id, int *version, char **schema,
                                      char *err, size_t errlen);
/* *compatible = 1 when `schema` can be used beside the subject's latest
 * version under the subject's compatibility level (BACKWARD by default: a
 * reader with `schema` reads what the latest version wrote) */
enum ol_reg_status ol_registry_check(ol_registry *r, const char *subject, const char *schema, int *compatible,
                                     char *err, size_t errlen);
/* GET /subjects: a JSON array of strings */
enum ol_reg_status ol_registry_subjects(ol_registry *r, json_t **out, char *err, size_t errlen);
/* requests sent since creation (tests: a restart needs no round trip) */
long ol_registry_requests(const ol_registry *r);

/* ---- the cache (ol_registry.c) */
/* The writer schema of frame id `id` for records read as `reader`: the
 * reader itself when the registry's schema is the same JSON, else a schema
 * built from the registry's text (owned by r). Fetched on first sight, then
 * from memory. OL_REG_NOT_FOUND: the registry does not know the id (a dead
 * letter); UNAVAILABLE: try later; REFUSED: the id's schema is not a record
 * of the reader's name, or does not parse (err says which). */
enum ol_reg_status ol_registry_writer(ol_registry *r, int32_t id, const ol_schema *reader, const ol_schema **out,
                                      char *err, size_t errlen);
/* 1 when id's schema text is in the cache */
int ol_registry_cached(const ol_registry *r, int32_t id);
/* id's schema text when it is in the cache (r may be NULL), else NULL;
 * owned by the cache */
const char *ol_registry_cached_text(const ol_registry *r, int32_t id);
/* Adds a schema text to the cache (from LMDB or an archive); 0 or -1 on
 * memory. `pending` 1: not yet saved, listed by ol_registry_pending. */
int ol_registry_cache_put(ol_registry *r, int32_t id, const char *schema, int pending);
/* the i-th cache entry (0..): 1 with id/text, 0 past the end; only the
 * unsaved ones when pending_only */
int ol_registry_cache_at(const ol_registry *r, size_t i, int pending_only, int32_t *id, const char **schema);
void ol_registry_cache_saved(ol_registry *r, int32_t id);

/* The registry id of s (its subject's version that is s's JSON): looked up,
 * or registered when schema_registry.auto_register is true, then mapped so
 * that ol_registry_rewrite_frame gives s's frames that id. OK (also when r
 * is NULL), or the status with err (NOT_FOUND names the command to run). */
enum ol_reg_status ol_registry_frame_id(ol_registry *r, const ol_schema *s, char *err, size_t errlen);
/* Frames published on `topic` carry registry id `id` in place of the
 * manifest id `manifest_id`. */
int ol_registry_map_derived(ol_registry *r, const char *topic, int32_t manifest_id, int32_t id);
/* Rewrites the id of a frame about to be published on topic when the topic
 * is mapped (derived topics only; other frames are left alone). */
void ol_registry_rewrite_frame(const ol_registry *r, const char *topic, void *frame, size_t len);

/* ---- the archive's writer schemas (ol_registry_archive.c) */
struct MDB_env;
/* For a replay from an archive: schemas->reg serves the writer schemas the
 * archive kept (and, with schema_registry.url set, asks the registry for
 * any other id). Leaves schemas->reg NULL when the archive kept none and no
 * URL is set (manifest ids). 0, or -1 with err. */
int ol_registry_attach_archive(ol_schemas *schemas, const ol_config *cfg, struct MDB_env *archive, char *err,
                               size_t errlen);
/* {"<id>": "<schema>", ...} of the schemas an archive kept (caller owns), or NULL with err */
json_t *ol_registry_archive_schemas(struct MDB_env *archive, char *err, size_t errlen);

/* the compact JSON text of a manifest schema, as sent to the registry
 * (malloc'ed, caller frees; NULL on memory) */
char *ol_registry_schema_text(const ol_schema *s);

#endif
