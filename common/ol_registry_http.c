/* ol_registry_http — the Schema Registry's REST API over libcurl: one
 * request with basic auth and TLS as configured, retried with doubling
 * backoff on transport errors, timeouts, 429 and 5xx; every failure becomes
 * a message naming the method, the URL (never its user info), the subject
 * and the registry's error_code. The password reaches libcurl only. */
#include "ol_registry_int.h"
#include "ol_log.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CT "application/vnd.schemaregistry.v1+json"

struct buf {
    char *p;
    size_t n;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct buf *b = ud;
    size_t len = size * nmemb;
    if (b->n + len > ((size_t)16 << 20))
        return 0; /* a registry answer over 16 MiB is not a schema */
    char *np = realloc(b->p, b->n + len + 1);
    if (!np)
        return 0;
    memcpy(np + b->n, ptr, len);
    b->p = np;
    b->n += len;
    b->p[b->n] = '\0';
    return len;
}

static void sleep_ms(const ol_registry *r, long ms)
{
    while (ms > 0 && !ol_registry_stopping(r)) {
        long step = ms > 100 ? 100 : ms;
        struct timespec ts = {0, step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

/* a transport error that another try cannot mend: TLS or its configuration */
static int permanent(CURLcode cc)
{
    return cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE || cc == CURLE_SSL_CERTPROBLEM ||
           cc == CURLE_SSL_CIPHER || cc == CURLE_SSL_ENGINE_NOTFOUND || cc == CURLE_SSL_CRL_BADFILE ||
           cc == CURLE_UNSUPPORTED_PROTOCOL || cc == CURLE_URL_MALFORMAT || cc == CURLE_LOGIN_DENIED;
}

/* one exchange; 0 with *http and the body, -1 with a transport error in
 * err, -2 with one that another try cannot mend */
static int exchange(ol_registry *r, const char *method, const char *url, const char *body, long *http,
                    struct buf *out, char *err, size_t errlen)
{
    char eb[CURL_ERROR_SIZE] = "";
    struct curl_slist *h = NULL;
    CURL *c = r->curl;
    int rc = -1;

    curl_easy_reset(c);
    if (!(h = curl_slist_append(h, "Accept: " CT)) || !(h = curl_slist_append(h, "Content-Type: " CT))) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, eb);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, r->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, r->timeout_ms);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    if (r->userinfo) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERPWD, r->userinfo);
    }
    if (r->ca)
        curl_easy_setopt(c, CURLOPT_CAINFO, r->ca);
    if (r->cert)
        curl_easy_setopt(c, CURLOPT_SSLCERT, r->cert);
    if (r->key)
        curl_easy_setopt(c, CURLOPT_SSLKEY, r->key);
    if (r->key_password)
        curl_easy_setopt(c, CURLOPT_KEYPASSWD, r->key_password);
    if (!strcmp(method, "POST")) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
    }
    r->requests++;
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "%s", eb[0] ? eb : curl_easy_strerror(cc));
        rc = permanent(cc) ? -2 : -1;
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, http);
    rc = 0;
out:
    curl_slist_free_all(h);
    return rc;
}

enum ol_reg_status ol_registry_call(ol_registry *r, const char *method, const char *path, const json_t *body,
                                    const char *subject, json_t **out, int *error_code, char *err, size_t errlen)
{
    char url[2048], terr[CURL_ERROR_SIZE + 64], subj[300] = "";
    char *text = NULL;
    struct buf b = {NULL, 0};
    enum ol_reg_status st = OL_REG_UNAVAILABLE;
    long http = 0, backoff = r->backoff_ms;

    *out = NULL;
    if (error_code)
        *error_code = 0;
    if (subject)
        snprintf(subj, sizeof subj, " (subject %s)", subject);
    if (!r->url) {
        snprintf(err, errlen, "%s %s%s: not kept, and no schema_registry.url is set", method, path, subj);
        return OL_REG_NOT_FOUND;
    }
    snprintf(url, sizeof url, "%s%s", r->url, path);
    if (body && !(text = json_dumps(body, JSON_COMPACT))) {
        snprintf(err, errlen, "out of memory");
        return OL_REG_NOMEM;
    }
    for (int attempt = 0;; attempt++) {
        free(b.p);
        b.p = NULL;
        b.n = 0;
        http = 0;
        int xrc = exchange(r, method, url, text, &http, &b, terr, sizeof terr);
        if (xrc == 0 && http < 500 && http != 429)
            break;
        if (xrc == -2) {
            snprintf(err, errlen, "schema registry %s %s%s%s: %s (check schema_registry.url and schema_registry.ssl.*)",
                     method, r->url_shown, path, subj, terr);
            st = OL_REG_REFUSED;
            goto out;
        }
        if (http)
            snprintf(terr, sizeof terr, "HTTP %ld", http);
        if (attempt >= r->retries || ol_registry_stopping(r)) {
            snprintf(err, errlen, "schema registry %s %s%s%s: %s (after %d attempts)", method, r->url_shown, path,
                     subj, terr, attempt + 1);
            goto out;
        }
        ol_warn("schema registry request failed, retrying|method=%s url=%s%s error=\"%s\" attempt=%d backoff_ms=%ld",
                method, r->url_shown, path, terr, attempt + 1, backoff);
        sleep_ms(r, backoff);
        backoff = backoff * 2 > r->backoff_max_ms ? r->backoff_max_ms : backoff * 2;
    }
    json_error_t je;
    json_t *j = b.n ? json_loadb(b.p, b.n, 0, &je) : NULL;
    if (http >= 200 && http < 300) {
        if (!j) {
            snprintf(err, errlen, "schema registry %s %s%s%s: HTTP %ld with a body that is not JSON", method,
                     r->url_shown, path, subj, http);
            st = OL_REG_REFUSED;
            goto out;
        }
        *out = j;
        st = OL_REG_OK;
        goto out;
    }
    json_int_t code = j ? json_integer_value(json_object_get(j, "error_code")) : 0;
    const char *raw = j ? json_string_value(json_object_get(j, "message")) : NULL;
    /* the registry's words reach logs and terminals: no control characters,
     * no double quotes (logfmt values), at most 200 bytes */
    char msg[201];
    size_t ml = 0;
    for (const unsigned char *c = (const unsigned char *)raw; c && *c && ml < sizeof msg - 1; c++)
        msg[ml++] = *c < 0x20 || *c == 0x7f ? '?' : *c == '"' ? '\'' : (char)*c;
    msg[ml] = '\0';
    if (error_code)
        *error_code = (int)code;
    snprintf(err, errlen, "schema registry %s %s%s%s: HTTP %ld error_code %lld: %s%s", method, r->url_shown, path,
             subj, http, (long long)code, ml ? msg : "(no message)",
             http == 401 ? " (check schema_registry.basic_auth_user_info)" : "");
    st = http == 404 ? OL_REG_NOT_FOUND : OL_REG_REFUSED;
    json_decref(j);
out:
    free(text);
    free(b.p);
    return st;
}

/* the subject, escaped for a URL path; NULL on memory */
static char *esc(ol_registry *r, const char *subject)
{
    if (!r->curl)
        return strdup(subject);
    char *e = curl_easy_escape(r->curl, subject, 0);
    char *copy = e ? strdup(e) : NULL;
    curl_free(e);
    return copy;
}

static json_t *schema_body(const char *schema)
{
    return json_pack("{s:s}", "schema", schema);
}

enum ol_reg_status ol_registry_get_schema(ol_registry *r, int32_t id, char **schema, char *err, size_t errlen)
{
    char path[64];
    json_t *j;
    *schema = NULL;
    snprintf(path, sizeof path, "/schemas/ids/%ld", (long)id);
    enum ol_reg_status st = ol_registry_call(r, "GET", path, NULL, NULL, &j, NULL, err, errlen);
    if (st)
        return st;
    const char *s = json_string_value(json_object_get(j, "schema"));
    const char *type = json_string_value(json_object_get(j, "schemaType"));
    if (!s || (type && strcmp(type, "AVRO"))) {
        snprintf(err, errlen, "schema registry GET %s%s: schema id %ld is %s, not an Avro schema", r->url_shown, path,
                 (long)id, type ? type : "an answer without \"schema\"");
        st = OL_REG_REFUSED;
    } else if (!(*schema = strdup(s))) {
        st = OL_REG_NOMEM;
    }
    json_decref(j);
    return st;
}

/* id, version and schema of a subject answer */
static enum ol_reg_status subject_answer(ol_registry *r, const char *method, const char *path, const char *subject,
                                         const char *schema, int32_t *id, int *version, char **text, char *err,
                                         size_t errlen)
{
    json_t *body = schema ? schema_body(schema) : NULL, *j;
    if (schema && !body)
        return OL_REG_NOMEM;
    enum ol_reg_status st = ol_registry_call(r, method, path, body, subject, &j, NULL, err, errlen);
    json_decref(body);
    if (st)
        return st;
    json_t *jid = json_object_get(j, "id");
    if (!json_is_integer(jid)) {
        snprintf(err, errlen, "schema registry %s %s%s (subject %s): answer without an id", method, r->url_shown, path,
                 subject);
        json_decref(j);
        return OL_REG_REFUSED;
    }
    *id = (int32_t)json_integer_value(jid);
    if (version)
        *version = (int)json_integer_value(json_object_get(j, "version"));
    if (text) {
        const char *s = json_string_value(json_object_get(j, "schema"));
        if (!s || !(*text = strdup(s)))
            st = s ? OL_REG_NOMEM : OL_REG_REFUSED;
        if (!s)
            snprintf(err, errlen, "schema registry %s %s%s (subject %s): answer without a schema", method,
                     r->url_shown, path, subject);
    }
    json_decref(j);
    return st;
}

enum ol_reg_status ol_registry_lookup(ol_registry *r, const char *subject, const char *schema, int32_t *id,
                                      int *version, char *err, size_t errlen)
{
    char path[600], *e = esc(r, subject);
    if (!e)
        return OL_REG_NOMEM;
    snprintf(path, sizeof path, "/subjects/%s", e);
    free(e);
    return subject_answer(r, "POST", path, subject, schema, id, version, NULL, err, errlen);
}

enum ol_reg_status ol_registry_register(ol_registry *r, const char *subject, const char *schema, int32_t *id,
                                        char *err, size_t errlen)
{
    char path[600], *e = esc(r, subject);
    if (!e)
        return OL_REG_NOMEM;
    snprintf(path, sizeof path, "/subjects/%s/versions", e);
    free(e);
    return subject_answer(r, "POST", path, subject, schema, id, NULL, NULL, err, errlen);
}

enum ol_reg_status ol_registry_latest(ol_registry *r, const char *subject, int32_t *id, int *version, char **schema,
                                      char *err, size_t errlen)
{
    char path[600], *e = esc(r, subject);
    if (!e)
        return OL_REG_NOMEM;
    *schema = NULL;
    snprintf(path, sizeof path, "/subjects/%s/versions/latest", e);
    free(e);
    return subject_answer(r, "GET", path, subject, NULL, id, version, schema, err, errlen);
}

enum ol_reg_status ol_registry_check(ol_registry *r, const char *subject, const char *schema, int *compatible,
                                     char *err, size_t errlen)
{
    char path[600], *e = esc(r, subject);
    json_t *body = schema_body(schema), *j = NULL;
    enum ol_reg_status st = OL_REG_NOMEM;
    *compatible = 0;
    if (!e || !body)
        goto out;
    snprintf(path, sizeof path, "/compatibility/subjects/%s/versions/latest", e);
    st = ol_registry_call(r, "POST", path, body, subject, &j, NULL, err, errlen);
    if (st)
        goto out;
    json_t *ok = json_object_get(j, "is_compatible");
    if (!json_is_boolean(ok)) {
        snprintf(err, errlen, "schema registry POST %s%s (subject %s): answer without is_compatible", r->url_shown,
                 path, subject);
        st = OL_REG_REFUSED;
        goto out;
    }
    *compatible = json_is_true(ok);
out:
    free(e);
    json_decref(body);
    json_decref(j);
    return st;
}

enum ol_reg_status ol_registry_subjects(ol_registry *r, json_t **out, char *err, size_t errlen)
{
    enum ol_reg_status st = ol_registry_call(r, "GET", "/subjects", NULL, NULL, out, NULL, err, errlen);
    if (st == OL_REG_OK && !json_is_array(*out)) {
        snprintf(err, errlen, "schema registry GET %s/subjects: answer is not a list", r->url_shown);
        json_decref(*out);
        *out = NULL;
        return OL_REG_REFUSED;
    }
    return st;
}

long ol_registry_requests(const ol_registry *r)
{
    return r->requests;
}
