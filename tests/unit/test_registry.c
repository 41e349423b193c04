/* test_registry — the Schema Registry client (common/ol_registry*.c) against
 * the registry double (tests/registry/double.py, run here on a loopback port
 * of its own): every endpoint and its documented error codes, basic auth,
 * retries over a registry that answers 500 for a while, a registry that is
 * not there, TLS with a CA file (a certificate made with openssl), the
 * writer-schema cache the decoder uses and the derived-id rewrite of frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ol_codec.h"
#include "ol_config.h"
#include "ol_registry.h"
#include "ol_schema.h"
#include "test_util.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static char tmpdir[512], double_py[1024];

struct dbl {
    pid_t pid;
    int port;
};

/* starts the double with extra arguments (NULL-terminated) */
static void dbl_start(struct dbl *d, const char *tag, ...)
{
    char portfile[700];
    const char *argv[16] = {"python3", double_py, "--port-file", portfile};
    int n = 4;
    va_list ap;
    va_start(ap, tag);
    for (const char *a; (a = va_arg(ap, const char *)) && n < 15;)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    snprintf(portfile, sizeof portfile, "%s/%s.port", tmpdir, tag);
    unlink(portfile);
    d->pid = fork();
    assert_true(d->pid >= 0);
    if (d->pid == 0) {
        execvp("python3", (char *const *)argv);
        _exit(127);
    }
    for (int i = 0; i < 100; i++) {
        FILE *f = fopen(portfile, "r");
        if (f) {
            int ok = fscanf(f, "%d", &d->port) == 1;
            fclose(f);
            if (ok)
                return;
        }
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
    }
    fail_msg("the registry double did not start");
}

static void dbl_stop(struct dbl *d)
{
    kill(d->pid, SIGTERM);
    waitpid(d->pid, NULL, 0);
}

static ol_registry *client(const char *url, const char *user, const char *retries)
{
    ol_config cfg;
    char err[300];
    ol_registry *r = NULL;
    ol_config_init(&cfg);
    ol_config_set(&cfg, "schema_registry.url", url);
    if (user)
        ol_config_set(&cfg, "schema_registry.basic_auth_user_info", user);
    ol_config_set(&cfg, "schema_registry.retries", retries ? retries : "0");
    ol_config_set(&cfg, "schema_registry.retry.backoff.ms", "10");
    ol_config_set(&cfg, "schema_registry.request.timeout.ms", "3000");
    assert_int_equal(ol_registry_from_config(&cfg, &r, err, sizeof err), 0);
    assert_non_null(r);
    ol_config_free(&cfg);
    return r;
}

/* flips a switch of the double (python3 is what runs the double anyway) */
static void dbl_post(int port, const char *path, const char *body)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import urllib.request as u; u.urlopen(u.Request(\"http://127.0.0.1:%d%s\", "
             "data=b\"%s\".replace(b\"#\", b\"\\\"\"), method=\"POST\"))'",
             port, path, body);
    assert_int_equal(system(cmd), 0);
}

#define PERSON "{\"type\":\"record\",\"name\":\"P\",\"fields\":[{\"name\":\"id\",\"type\":\"string\"}]}"
#define PERSON2                                                                                                  \
    "{\"type\":\"record\",\"name\":\"P\",\"fields\":[{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"nick\"," \
    "\"type\":[\"null\",\"string\"],\"default\":null}]}"
#define PERSON_BAD "{\"type\":\"record\",\"name\":\"P\",\"fields\":[{\"name\":\"id\",\"type\":\"int\"}]}"

static void test_config(void **state)
{
    (void)state;
    ol_config cfg;
    char err[300];
    ol_registry *r = (ol_registry *)1;
    ol_config_init(&cfg);
    assert_int_equal(ol_registry_from_config(&cfg, &r, err, sizeof err), 0);
    assert_null(r); /* unset: the manifest serves */
    ol_config_set(&cfg, "schema_registry.url", "registry:8081");
    assert_int_equal(ol_registry_from_config(&cfg, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "http://"));
    ol_config_set(&cfg, "schema_registry.url", "https://u:pw-secret@registry:8081/");
    ol_config_set(&cfg, "schema_registry.auto_register", "yes");
    assert_int_equal(ol_registry_from_config(&cfg, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "auto_register"));
    ol_config_set(&cfg, "schema_registry.auto_register", "true");
    ol_config_set(&cfg, "schema_registry.basic_auth_user_info", "nocolon");
    assert_int_equal(ol_registry_from_config(&cfg, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "USER:PASSWORD"));
    ol_config_set(&cfg, "schema_registry.basic_auth_user_info", "u:p");
    assert_int_equal(ol_registry_from_config(&cfg, &r, err, sizeof err), 0);
    assert_string_equal(ol_registry_url(r), "https://registry:8081"); /* no user info in messages */
    assert_true(ol_registry_auto_register(r));
    ol_registry_free(r);
    /* a password holding '@' or '/' (or both, or '?', '#'): the user info
     * ends at the LAST '@', and none of it is shown (review: the first '@'
     * showed "PASS99@127.0.0.1", a '/' before it showed user and password) */
    static const char *const secret_urls[][2] = {
        {"http://reg:WRONG@PASS99@127.0.0.1:8081", "http://127.0.0.1:8081"},
        {"http://reg:WRONG/PASS99@127.0.0.1:8081/", "http://127.0.0.1:8081"},
        {"https://reg:W/R@O?N#G@PASS99@registry:8081/ctx", "https://registry:8081/ctx"},
        {"http://PASS99@registry", "http://registry"},
        {"http://registry:8081/", "http://registry:8081"}};
    for (size_t i = 0; i < sizeof secret_urls / sizeof secret_urls[0]; i++) {
        ol_config_set(&cfg, "schema_registry.url", secret_urls[i][0]);
        assert_int_equal(ol_registry_from_config(&cfg, &r, err, sizeof err), 0);
        assert_string_equal(ol_registry_url(r), secret_urls[i][1]);
        assert_null(strstr(ol_registry_url(r), "PASS99"));
        ol_registry_free(r);
    }
    assert_int_equal(ol_config_is_secret("schema_registry.basic_auth_user_info"), 1);
    ol_config_free(&cfg);
}

static void test_endpoints(void **state)
{
    (void)state;
    struct dbl d;
    char url[200], err[1024], *text = NULL;
    int32_t id = 0, id2 = 0, lid = 0;
    int version = 0, ok = -1;
    dbl_start(&d, "api", "--first-id", "100001", NULL);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", d.port);
    ol_registry *r = client(url, NULL, NULL);

    assert_int_equal(ol_registry_lookup(r, "t-value", PERSON, &id, &version, err, sizeof err), OL_REG_NOT_FOUND);
    assert_non_null(strstr(err, "error_code 40401"));
    assert_non_null(strstr(err, "(subject t-value)"));
    assert_non_null(strstr(err, url));
    assert_int_equal(ol_registry_check(r, "t-value", PERSON, &ok, err, sizeof err), OL_REG_NOT_FOUND);

    assert_int_equal(ol_registry_register(r, "t-value", PERSON, &id, err, sizeof err), OL_REG_OK);
    assert_int_equal(id, 100001);
    assert_int_equal(ol_registry_register(r, "t-value", PERSON, &id2, err, sizeof err), OL_REG_OK);
    assert_int_equal(id2, id); /* the same schema: the same id */
    assert_int_equal(ol_registry_lookup(r, "t-value", PERSON2, &id2, &version, err, sizeof err), OL_REG_NOT_FOUND);
    assert_non_null(strstr(err, "error_code 40403"));
    assert_int_equal(ol_registry_register(r, "t-value", PERSON2, &id2, err, sizeof err), OL_REG_OK);
    assert_int_equal(id2, 100002);
    assert_int_equal(ol_registry_lookup(r, "t-value", PERSON2, &lid, &version, err, sizeof err), OL_REG_OK);
    assert_int_equal(lid, 100002);
    assert_int_equal(version, 2);
    assert_int_equal(ol_registry_latest(r, "t-value", &lid, &version, &text, err, sizeof err), OL_REG_OK);
    assert_int_equal(lid, 100002);
    assert_non_null(strstr(text, "nick"));
    free(text);
    assert_int_equal(ol_registry_get_schema(r, 100001, &text, err, sizeof err), OL_REG_OK);
    assert_string_equal(text, PERSON);
    free(text);
    assert_int_equal(ol_registry_get_schema(r, 7, &text, err, sizeof err), OL_REG_NOT_FOUND);
    assert_null(text);
    assert_non_null(strstr(err, "/schemas/ids/7: HTTP 404 error_code 40403"));

    assert_int_equal(ol_registry_check(r, "t-value", PERSON, &ok, err, sizeof err), OL_REG_OK);
    assert_int_equal(ok, 1); /* PERSON reads PERSON2 data: nick ignored */
    assert_int_equal(ol_registry_check(r, "t-value", PERSON_BAD, &ok, err, sizeof err), OL_REG_OK);
    assert_int_equal(ok, 0);
    assert_int_equal(ol_registry_register(r, "t-value", PERSON_BAD, &id, err, sizeof err), OL_REG_REFUSED);
    assert_non_null(strstr(err, "HTTP 409"));
    assert_non_null(strstr(err, "for subject 't-value'")); /* the registry's quotes, made safe for logfmt */
    assert_null(strchr(err, '"'));
    assert_int_equal(ol_registry_register(r, "t-value", "{\"type\":\"nonsense\"}", &id, err, sizeof err),
                     OL_REG_REFUSED);
    assert_non_null(strstr(err, "error_code 42201"));

    json_t *subjects = NULL;
    assert_int_equal(ol_registry_subjects(r, &subjects, err, sizeof err), OL_REG_OK);
    assert_int_equal(json_array_size(subjects), 1);
    assert_string_equal(json_string_value(json_array_get(subjects, 0)), "t-value");
    json_decref(subjects);
    ol_registry_free(r);
    dbl_stop(&d);
}

static void test_auth_and_retries(void **state)
{
    (void)state;
    struct dbl d;
    char url[200], err[1024], *text = NULL;
    int32_t id = 0;
    dbl_start(&d, "auth", "--user", "ops:right-pw", NULL);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", d.port);

    ol_registry *bad = client(url, "ops:wrong-pw", "3");
    long before = ol_registry_requests(bad);
    assert_int_equal(ol_registry_register(bad, "t-value", PERSON, &id, err, sizeof err), OL_REG_REFUSED);
    assert_int_equal(ol_registry_requests(bad) - before, 1); /* a 401 is not retried */
    assert_non_null(strstr(err, "HTTP 401 error_code 40101"));
    assert_non_null(strstr(err, "basic_auth_user_info"));
    assert_null(strstr(err, "wrong-pw"));
    ol_registry_free(bad);

    ol_registry *r = client(url, "ops:right-pw", "3");
    assert_int_equal(ol_registry_register(r, "t-value", PERSON, &id, err, sizeof err), OL_REG_OK);
    /* 500 twice, then an answer: retried, nothing seen by the caller */
    dbl_post(d.port, "/_double/fail", "{#count#: 2}");
    before = ol_registry_requests(r);
    assert_int_equal(ol_registry_get_schema(r, id, &text, err, sizeof err), OL_REG_OK);
    assert_int_equal(ol_registry_requests(r) - before, 3);
    free(text);
    /* 500 for longer than the retries: unavailable, the caller waits */
    dbl_post(d.port, "/_double/fail", "{#count#: 10}");
    assert_int_equal(ol_registry_get_schema(r, id, &text, err, sizeof err), OL_REG_UNAVAILABLE);
    assert_non_null(strstr(err, "HTTP 500 (after 4 attempts)"));
    ol_registry_free(r);
    dbl_stop(&d);

    /* nobody listening */
    r = client(url, NULL, "1");
    assert_int_equal(ol_registry_get_schema(r, 1, &text, err, sizeof err), OL_REG_UNAVAILABLE);
    assert_non_null(strstr(err, url));
    ol_registry_free(r);
}

static void test_tls(void **state)
{
    (void)state;
    char cmd[2400], cert[600], key[600], url[200], err[1024], *text = NULL;
    int32_t id = 0;
    snprintf(cert, sizeof cert, "%s/cert.pem", tmpdir);
    snprintf(key, sizeof key, "%s/key.pem", tmpdir);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext "
             "subjectAltName=IP:127.0.0.1 -keyout %s -out %s >/dev/null 2>&1",
             key, cert);
    if (system(cmd) != 0) {
        skip(); /* no openssl CLI: the TLS options are still compiled in */
        return;
    }
    struct dbl d;
    dbl_start(&d, "tls", "--tls-cert", cert, "--tls-key", key, NULL);
    snprintf(url, sizeof url, "https://127.0.0.1:%d", d.port);

    ol_registry *r = client(url, NULL, "2");
    long before = ol_registry_requests(r);
    assert_int_equal(ol_registry_get_schema(r, 1, &text, err, sizeof err), OL_REG_REFUSED);
    assert_int_equal(ol_registry_requests(r) - before, 1); /* an untrusted certificate is not retried */
    assert_non_null(strstr(err, "schema_registry.ssl"));
    ol_registry_free(r);

    ol_config cfg;
    ol_config_init(&cfg);
    ol_config_set(&cfg, "schema_registry.url", url);
    ol_config_set(&cfg, "schema_registry.ssl.ca.location", cert);
    assert_int_equal(ol_registry_from_config(&cfg, &r, err, sizeof err), 0);
    ol_config_free(&cfg);
    assert_int_equal(ol_registry_register(r, "t-value", PERSON, &id, err, sizeof err), OL_REG_OK);
    assert_int_equal(ol_registry_get_schema(r, id, &text, err, sizeof err), OL_REG_OK);
    assert_string_equal(text, PERSON);
    free(text);
    ol_registry_free(r);
    dbl_stop(&d);
}

/* the decoder's view: registry ids, the reader from the manifest */
static void test_writer_cache_and_decode(void **state)
{
    (void)state;
    char err[1024];
    ol_schemas *s = NULL;
    assert_int_equal(ol_schemas_load(OL_SCHEMA_DIR_DEFAULT, &s, err, sizeof err), 0);
    const ol_schema *reader = ol_schemas_for_topic(s, "hr.person");
    ol_registry *r = client("http://127.0.0.1:9", NULL, NULL); /* never asked: all from the cache */

    /* id 3 is the manifest's delivery.engagement; here the registry's hr.person */
    char *same = ol_registry_schema_text(reader);
    json_t *j = json_loads(same, 0, NULL);
    json_array_append_new(json_object_get(j, "fields"),
                          json_pack("{s:s,s:[s,s],s:n}", "name", "nickname", "type", "null", "string", "default"));
    char *evolved = json_dumps(j, JSON_COMPACT);
    assert_int_equal(ol_registry_cache_put(r, 3, same, 1), 0);
    assert_int_equal(ol_registry_cache_put(r, 100002, evolved, 1), 0);
    assert_int_equal(ol_registry_cache_put(r, 100003, PERSON, 1), 0);
    const ol_schema *w = NULL;
    assert_int_equal(ol_registry_writer(r, 3, reader, &w, err, sizeof err), OL_REG_OK);
    assert_ptr_equal(w, reader); /* the same JSON: read directly */
    assert_int_equal(ol_registry_writer(r, 100002, reader, &w, err, sizeof err), OL_REG_OK);
    assert_ptr_not_equal(w, reader);
    assert_int_equal(ol_registry_writer(r, 100003, reader, &w, err, sizeof err), OL_REG_REFUSED);
    assert_non_null(strstr(err, "record P, not Person"));

    /* a record written with the evolved schema under id 100002 decodes into the reader */
    avro_schema_t ws;
    assert_int_equal(avro_schema_from_json_length(evolved, strlen(evolved), &ws), 0);
    avro_value_iface_t *wi = avro_generic_class_from_schema(ws);
    avro_value_t v;
    avro_generic_value_new(wi, &v);
    assert_int_equal(tu_fill_value(&v, NULL), 0);
    ol_schema fake = {.id = 100002, .avro = ws, .iface = wi};
    uint8_t *frame = NULL;
    size_t flen = 0;
    assert_int_equal(ol_codec_encode(&fake, &v, &frame, &flen, err, sizeof err), 0);
    ol_decoder *dec = ol_decoder_new(s, reader);
    int32_t wid;
    /* without the registry the id is unknown to the manifest */
    assert_int_equal(ol_decoder_decode(dec, frame, flen, &wid, err, sizeof err), OL_CODEC_UNKNOWN_ID);
    ol_decoder_use_registry(dec, r);
    assert_int_equal(ol_decoder_decode(dec, frame, flen, &wid, err, sizeof err), OL_CODEC_OK);
    assert_int_equal(wid, 100002);
    avro_value_t f;
    const char *str;
    size_t len;
    assert_int_equal(avro_value_get_by_name(ol_decoder_value(dec), "person_id", &f, NULL), 0);
    assert_int_equal(avro_value_get_string(&f, &str, &len), 0);
    assert_string_equal(str, "x-person_id");
    /* the frame of an id the cache lacks, with the registry down: unknown, never a crash */
    frame[4] = 0x77;
    assert_int_equal(ol_decoder_decode(dec, frame, flen, &wid, err, sizeof err), OL_CODEC_UNKNOWN_ID);
    assert_non_null(strstr(err, "did not answer"));

    /* derived frames: the manifest id becomes the registry's on the mapped topic only */
    uint8_t out[6] = {0, 0, 0, 0, 101, 9};
    assert_int_equal(ol_registry_map_derived(r, "ops.utilisation.weekly", 101, 100009), 0);
    ol_registry_rewrite_frame(r, "ops.deadletter", out, sizeof out);
    assert_int_equal(out[4], 101);
    ol_registry_rewrite_frame(r, "ops.utilisation.weekly", out, sizeof out);
    assert_int_equal((out[1] << 24) | (out[2] << 16) | (out[3] << 8) | out[4], 100009);
    assert_int_equal(out[5], 9);

    free(frame);
    ol_decoder_free(dec);
    avro_value_decref(&v);
    avro_value_iface_decref(wi);
    avro_schema_decref(ws);
    json_decref(j);
    free(same);
    free(evolved);
    ol_registry_free(r);
    ol_schemas_free(s);
}

int main(void)
{
    /* the double lives in tests/registry beside the schemas' repository */
    snprintf(double_py, sizeof double_py, "%s/../tests/registry/double.py", OL_SCHEMA_DIR_DEFAULT);
    tu_mkdtemp(tmpdir, sizeof tmpdir, "registry");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_endpoints),
        cmocka_unit_test(test_auth_and_retries),
        cmocka_unit_test(test_tls),
        cmocka_unit_test(test_writer_cache_and_decode),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tu_rmtree(tmpdir);
    return rc;
}
