/* ol_registry_int — the registry client's private structure, shared by
 * ol_registry.c (configuration, cache), ol_registry_http.c (requests) and
 * ol_registry_rt.c (the runtime's hooks). Not for use elsewhere. */
#ifndef OL_REGISTRY_INT_H
#define OL_REGISTRY_INT_H

#include "ol_registry.h"

struct ol_reg_entry {
    int32_t id;
    char *text;       /* the registry's schema string (owned) */
    json_t *json;     /* parsed (owned) */
    int pending;      /* not yet saved to LMDB */
    ol_schema *built; /* writer schema built for the decoder (owned; NULL until needed) */
    const ol_schema *same_as; /* the reader it equals, when it does */
};

struct ol_reg_map {
    char *topic;
    int32_t manifest_id, id;
};

struct ol_registry {
    char *url;        /* as configured, without a trailing '/' */
    char *url_shown;  /* without user info: what messages print */
    char *userinfo;   /* USER:PASSWORD, never printed */
    char *ca, *cert, *key, *key_password;
    long timeout_ms, backoff_ms, backoff_max_ms;
    int retries;
    int auto_register;
    void *curl;
    long requests;
    volatile sig_atomic_t *stop;
    struct ol_reg_entry *e;
    size_t ne, cape;
    struct ol_reg_map *map;
    size_t nmap;
    /* ids the registry answered 404 for since the last ol_registry_forget_missing
     * (the batch being folded): their records are dead letters, asked once */
    unsigned int dbi; /* registry_schemas in the service's LMDB (ol_registry_rt.c) */
    int have_dbi;
    int32_t missing[64];
    size_t nmissing;
};

void ol_registry_forget_missing(ol_registry *r);
void ol_registry_note_missing(ol_registry *r, int32_t id);
int ol_registry_is_missing(const ol_registry *r, int32_t id);

/* one request (with the retries); *out is the parsed 2xx body (caller
 * owns), *error_code the registry's error_code on a 4xx */
enum ol_reg_status ol_registry_call(ol_registry *r, const char *method, const char *path, const json_t *body,
                                    const char *subject, json_t **out, int *error_code, char *err, size_t errlen);

#endif
