/* ol_config — one `key = value` file, command-line overrides, environment.
 *
 * Precedence, lowest first: built-in defaults, the file (-c FILE or
 * $OPSLEDGER_CONFIG), the environment ($OPSLEDGER_BROKERS,
 * $OPSLEDGER_DATA_DIR, $OPSLEDGER_SCHEMAS, $OPSLEDGER_METRICS_LISTEN), then flags: `-o key=value`,
 * `-X prop=val` (librdkafka properties, stored as kafka.<prop>), --brokers,
 * --data-dir, --schemas.
 * Keys starting with `kafka.` are handed to librdkafka unchanged (minus the
 * prefix), the way kcat passes -X through. Errors name the file and line. */
#ifndef OL_CONFIG_H
#define OL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

typedef struct ol_kv {
    char *key, *value;
} ol_kv;

typedef struct ol_config {
    ol_kv *kv;
    size_t n;
} ol_config;

void ol_config_init(ol_config *c);
void ol_config_free(ol_config *c);
int ol_config_set(ol_config *c, const char *key, const char *value);
/* "key=value" -> set; returns -1 when there is no '=' */
int ol_config_set_pair(ol_config *c, const char *prefix, const char *pair);
/* Loads `key = value` lines. A file that holds a secret (see
 * ol_config_is_secret) and is group- or world-accessible is refused with a
 * message naming the key and the chmod that fixes it. */
int ol_config_load_file(ol_config *c, const char *path, char *err, size_t errlen);
/* 1 when a key names a secret (password, secret, token, basic-auth user
 * info, a private key): never logged, only in owner-only files. */
int ol_config_is_secret(const char *key);
const char *ol_config_get(const ol_config *c, const char *key, const char *def);
/* integer with optional K/M/G suffix (binary); -1 with err on garbage */
int ol_config_get_i64(const ol_config *c, const char *key, int64_t def, int64_t *out, char *err, size_t errlen);

/* Consumes the common options from argv (in place), leaving the others:
 *   -c FILE | --config FILE, -X prop=val, -o key=val, --brokers B,
 *   --data-dir DIR, --schemas DIR
 * then applies the environment. Returns the new argc, or -1 with err. */
int ol_config_from_args(ol_config *c, int argc, char **argv, char *err, size_t errlen);

/* the effective defaults every program shares */
#define OL_DEFAULT_BROKERS "127.0.0.1:9092"
#define OL_DEFAULT_DATA_DIR "var/opsledger"

#endif
