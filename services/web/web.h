/* web.h — the declarations the files of opsledger-web share: the read model
 * (model.c), access (auth.c), the API (api.c), the pages (pages*.c, html.c)
 * and the server (server.c). */
#ifndef WEB_H
#define WEB_H

#include "ol_http_app.h"
#include "ol_runtime.h"
#include "ol_store.h"

#include <jansson.h>
#include <lmdb.h>
#include <stdint.h>

/* ---- the read model (fold.c writes it, model.c reads it)
 * `revs`: topic \0 group \0 key \0 revision(i64) -> Kafka timestamp (8 BE),
 *         event_id \0, the record as JSON text (the schema's field order);
 * `keyrevs` (web_model.keys): topic \0 key \0 revision(i64) -> Kafka timestamp (8 BE),
 *         group \0: every revision of a key whatever its group (a record may
 *         move: a leave to another person, an entry to another week), so
 *         history finds them all and a scan shows a key only in the group of
 *         its current revision as of the instant;
 * `weeks`: week \0 -> 8 bytes: the first Kafka timestamp a record of it was folded */
#define WEB_DBS "revs", "keyrevs", "weeks"
#define WEB_NOW INT64_MAX /* as_of "now": the latest revision */

/* group of one record: the week of a derived weekly figure, the day of a
 * cover gap, the engagement of a risk or expense, the person of a leave,
 * engagement|person|week of a timesheet entry, else "" */
int web_group_of(const char *topic, json_t *rec, char *out, size_t outlen);
/* entity key of one record of topic (the derived key, or the entity id) */
const char *web_key_of(const char *topic, json_t *rec);

typedef struct web_model {
    ol_store *st;
    MDB_dbi revs, keys, weeks, meta;
    struct web_rowcache *rows; /* parsed rows across snapshots (rowcache.c), or NULL */
} web_model;

/* called for each key's revision selected as of the instant; the JSON is
 * parsed for this call alone (the model releases its reference after it):
 * the callback may keep it with json_incref and change it. Non-zero stops
 * the scan. */
typedef int (*web_row_fn)(void *ctx, const char *key, int64_t revision, int64_t ts_ms, json_t *rec);
/* every key of (topic, group; NULL: every group) as of as_of (ms; WEB_NOW for the latest),
 * each only where its current revision as of as_of lies (a key that moved
 * out of the group by then is not listed there).
 * 0, or -1 (an LMDB or decode error, message in err). */
int web_scan(const web_model *m, MDB_txn *txn, const char *topic, const char *group, int64_t as_of, web_row_fn fn,
             void *ctx, char *err, size_t errlen);
/* the same, handing each selected row's stored JSON text (the fold's
 * compact json_dumps, valid during the call) instead of parsing it; with a
 * group, kprefix (NULL: none) limits the scan to the keys starting with it
 * (one range of the B-tree: the ORG rows of a week without its people's) */
typedef int (*web_raw_fn)(void *ctx, const char *key, int64_t revision, int64_t ts_ms, const char *json, size_t len);
int web_scan_raw(const web_model *m, MDB_txn *txn, const char *topic, const char *group, const char *kprefix,
                 int64_t as_of, web_raw_fn fn, void *ctx, char *err, size_t errlen);
/* one key's record as of as_of (its highest revision published by then)
 * as the stored JSON text, valid while txn lives: 1 found, 0 none, -1 error */
int web_get_text(const web_model *m, MDB_txn *txn, const char *topic, const char *key, int64_t as_of,
                 const char **json, size_t *len, int64_t *revision, int64_t *ts_ms);
/* one key's record as of as_of; new reference in *out (caller decrefs), or
 * NULL when the key had no revision by then. 0 or -1. */
int web_get(const web_model *m, MDB_txn *txn, const char *topic, const char *key, int64_t as_of, json_t **out,
            int64_t *revision, int64_t *ts_ms);
/* every revision of one key, oldest first, up to as_of, whatever its group: fn per revision */
int web_history(const web_model *m, MDB_txn *txn, const char *topic, const char *key, int64_t as_of,
                web_row_fn fn, void *ctx, char *err, size_t errlen);
/* 1 when a record of the week was folded by as_of, 0 not, -1 error */
int web_week_known(const web_model *m, MDB_txn *txn, const char *week, int64_t as_of);
/* the known weeks, ascending, as of as_of: a new JSON array of strings */
json_t *web_weeks(const web_model *m, MDB_txn *txn, int64_t as_of);
/* the runtime's data time (latest occurred_at folded), ms, 0 when none */
int64_t web_data_time(const web_model *m, MDB_txn *txn);

/* ---- access (auth.c) */
enum web_role { WEB_ROLE_NONE = 0, WEB_EXEC = 1, WEB_OPS = 2, WEB_FINANCE = 4 };
#define WEB_ALL (WEB_EXEC | WEB_OPS | WEB_FINANCE)
const char *web_role_name(int role);
int web_role_parse(const char *s); /* WEB_ROLE_NONE when unknown */
typedef struct web_auth web_auth;
/* loads the token file (may not exist yet: no token then works). Caller frees. */
web_auth *web_auth_new(const char *tokens_path, char *err, size_t errlen);
void web_auth_free(web_auth *a);
/* role of a bearer token (re-reads the file when it changed), or NONE;
 * name (64 bytes) gets the token's name */
int web_auth_token(web_auth *a, const char *token, char name[64]);
/* signs a token in: a new session (its id written to id, 65 bytes) holding
 * the token's identity. Returns the token's role; WEB_ROLE_NONE for an
 * unknown token; WEB_SESSIONS_FULL when the token has as many open sessions
 * as allowed (nobody's session is evicted); -1 on a libcrypto failure. */
#define WEB_SESSIONS_FULL (-2)
int web_session_new(web_auth *a, const char *token, char name[64], char id[65]);
/* the role of a session's token as the token list says now (re-read when the
 * file changed: a revoked token's sessions end), or NONE; name gets the token's */
int web_session_role(web_auth *a, const char *id, char name[64]);
void web_session_end(web_auth *a, const char *id);
/* `opsledger-web token add NAME --role R [--tokens FILE]` / `token list` */
int web_token_main(const char *tokens_path, int argc, char **argv);

/* ---- money and leave, per role (api.c): removes what the role may not read */
void web_redact(json_t *rec, const char *topic, int role);

/* ---- request context the API and the pages share (server.c) */
typedef struct web_req {
    const ol_http_req *http;
    web_model *m;
    MDB_txn *txn;
    int role;
    const char *user;
    int64_t as_of;     /* WEB_NOW or an instant */
    char as_of_text[32]; /* "" or the ISO-8601 instant */
    /* arguments a page sets for the rows it reads (they hide the URL's;
     * a NULL value unsets one) */
    const char *over[8][2];
    int nover;
} web_req;
/* an argument: a page's override, else the URL's query argument, else NULL */
const char *web_arg(const web_req *q, const char *name);
/* sets (or with NULL unsets) an override; 0, or -1 when full */
int web_set_arg(web_req *q, const char *name, const char *value);

/* the API: /api/v1/... 0 or -1 */
int web_api(web_req *q, const char *path, ol_http_resp *r);
/* the pages; 0 or -1 */
int web_page(web_req *q, const char *path, ol_http_resp *r);

/* a JSON error body naming the parameter */
int web_json_error(ol_http_resp *r, int status, const char *param, const char *msg);

/* ---- a growing text buffer (buf.c); oom is sticky, checked once at the end */
typedef struct web_buf {
    char *p;
    size_t n, cap;
    int oom;
} web_buf;
void wb_put(web_buf *b, const char *s, size_t n);
void wb_puts(web_buf *b, const char *s);
void wb_printf(web_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void wb_html(web_buf *b, const char *s); /* escaped for HTML (ol_escape) */
void wb_csv(web_buf *b, const char *s);  /* one CSV cell (ol_escape) */
/* hands the buffer to a reply (0), or frees it and returns -1 when out of memory */
int wb_reply(web_buf *b, ol_http_resp *r, int status, const char *content_type);

#endif
