/* test_escape — ol_escape, the per-format escaping of every string that
 * reaches a report (SPEC section 4): the hostile strings of issue 14 item 8
 * (<script>, <img onerror>, a newline and "## heading", a javascript: link,
 * quotes, commas, =1+1, =HYPERLINK, ESC[31m, CR, BEL) in each format, C1
 * and bidi controls, invalid UTF-8, the arena and the JSON helpers; the
 * stderr messages that name a path (ol_esc_eprintf, ol_usage_arg) and the
 * log lines (ol_log), read back from a file put in place of fd 2.
 * Expected strings are written out by hand. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "ol_escape.h"
#include "ol_log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void expect(ol_esc_fmt fmt, const char *in, const char *want)
{
    char *got = ol_esc(fmt, in);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
    /* the stream form writes the same bytes */
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    assert_non_null(f);
    assert_int_equal(ol_esc_fput(f, fmt, in), 0);
    assert_int_equal(fclose(f), 0);
    assert_string_equal(buf, want);
    free(buf);
}

static void test_text_controls(void **state)
{
    (void)state;
    expect(OL_ESC_TEXT, "Team \x1b[31mred\x1b[0m", "Team \\x1b[31mred\\x1b[0m");
    expect(OL_ESC_TEXT, "a\rb\ac\nd\te\x7f", "a\\x0db\\x07c\\x0ad\\x09e\\x7f");
    expect(OL_ESC_TEXT, "\x01\x1f", "\\x01\\x1f");
    /* C1: U+009B is a CSI on some terminals */
    expect(OL_ESC_TEXT, "x\xc2\x9b" "31m", "x\\u009b31m");
    /* bidi override and line separator */
    expect(OL_ESC_TEXT, "a\xe2\x80\xae" "b\xe2\x80\xa8", "a\\u202eb\\u2028");
    /* ordinary text, accents and markup are left as they are */
    expect(OL_ESC_TEXT, "Zoë <b> \"q\" =1+1, a\\b €", "Zoë <b> \"q\" =1+1, a\\b €");
    expect(OL_ESC_TEXT, NULL, "");
    expect(OL_ESC_TEXT, "", "");
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    /* stray continuation, lone lead, overlong '/', surrogate, above U+10FFFF, truncated */
    expect(OL_ESC_TEXT, "a\x80z", "a\xef\xbf\xbdz");
    expect(OL_ESC_TEXT, "a\xc3", "a\xef\xbf\xbd");
    expect(OL_ESC_TEXT, "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd");
    expect(OL_ESC_TEXT, "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    expect(OL_ESC_TEXT, "\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    expect(OL_ESC_TEXT, "\xe2\x82", "\xef\xbf\xbd\xef\xbf\xbd");
    /* an overlong ESC (C0 9B is invalid, not a CSI) */
    expect(OL_ESC_HTML, "\xc1\x9b", "\xef\xbf\xbd\xef\xbf\xbd");
    /* valid 4-byte */
    expect(OL_ESC_TEXT, "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80");
}

static void test_html(void **state)
{
    (void)state;
    expect(OL_ESC_HTML, "<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(OL_ESC_HTML, "<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;");
    expect(OL_ESC_HTML, "a&b \"c\" 'd'", "a&amp;b &quot;c&quot; &#39;d&#39;");
    expect(OL_ESC_HTML, "x\n## h\x1b[31m", "x\\x0a## h\\x1b[31m");
}

static void test_markdown(void **state)
{
    (void)state;
    expect(OL_ESC_MD, "<script>alert(1)</script>", "&lt;script&gt;alert\\(1\\)&lt;/script&gt;");
    expect(OL_ESC_MD, "<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert\\(1\\)&gt;");
    /* a newline cannot start a heading: it is shown, and # is escaped */
    expect(OL_ESC_MD, "Acme\n## Injected", "Acme\\x0a\\#\\# Injected");
    expect(OL_ESC_MD, "[x](javascript:alert(1))", "\\[x\\]\\(javascript:alert\\(1\\)\\)");
    expect(OL_ESC_MD, "![i](http://x/y.png)", "\\!\\[i\\]\\(http://x/y.png\\)");
    expect(OL_ESC_MD, "a|b *c* _d_ `e` ~f~ {g} \\ &amp;", "a\\|b \\*c\\* \\_d\\_ \\`e\\` \\~f\\~ \\{g\\} \\\\ &amp;amp;");
    expect(OL_ESC_MD, "p-0011 2026-W47 +1", "p-0011 2026-W47 +1");
    expect(OL_ESC_MD, "Plain name, Ltd. 42", "Plain name, Ltd. 42");
    expect(OL_ESC_MD, "bell\a cr\r", "bell\\x07 cr\\x0d");
}

static void test_csv(void **state)
{
    (void)state;
    expect(OL_ESC_CSV, "Acme", "\"Acme\"");
    expect(OL_ESC_CSV, "", "\"\"");
    expect(OL_ESC_CSV, "Acme, Inc., \"EMEA\"", "\"Acme, Inc., \"\"EMEA\"\"\"");
    /* formula neutralisation: = + - @ TAB CR at the start */
    expect(OL_ESC_CSV, "=1+1", "\"'=1+1\"");
    expect(OL_ESC_CSV, "=HYPERLINK(\"http://x\")", "\"'=HYPERLINK(\"\"http://x\"\")\"");
    expect(OL_ESC_CSV, "+41 22", "\"'+41 22\"");
    expect(OL_ESC_CSV, "-2+3", "\"'-2+3\"");
    expect(OL_ESC_CSV, "@SUM(A1)", "\"'@SUM(A1)\"");
    expect(OL_ESC_CSV, "\t=1", "\"'\\x09=1\"");
    expect(OL_ESC_CSV, "\r=1", "\"'\\x0d=1\"");
    /* not at the start: plain text */
    expect(OL_ESC_CSV, "a=1+1", "\"a=1+1\"");
    /* line breaks and ESC are shown, so a CSV on a terminal is still one line per row */
    expect(OL_ESC_CSV, "a\nb\x1b[31m", "\"a\\x0ab\\x1b[31m\"");
}

static void test_arena(void **state)
{
    ol_esc_arena a = OL_ESC_ARENA_INIT;
    const char *p[40];
    char want[32];
    (void)state;
    for (int i = 0; i < 40; i++) { /* more than the first allocation: earlier strings stay valid */
        char in[32];
        snprintf(in, sizeof in, "n%d\x1b", i);
        p[i] = ol_esc_a(&a, OL_ESC_TEXT, in);
    }
    for (int i = 0; i < 40; i++) {
        snprintf(want, sizeof want, "n%d\\x1b", i);
        assert_string_equal(p[i], want);
    }
    assert_int_equal(a.failed, 0);
    ol_esc_arena_reset(&a);
    assert_int_equal(a.n, 0);
    assert_string_equal(ol_esc_a(&a, OL_ESC_MD, "#"), "\\#");
    /* cut on a character boundary: "Zo" + "ë" (2 bytes) does not fit in 3 */
    assert_string_equal(ol_esc_a_cut(&a, OL_ESC_TEXT, "Zo\xc3\xab" "e", 3), "Zo");
    assert_string_equal(ol_esc_a_cut(&a, OL_ESC_TEXT, "Zo\xc3\xab" "e", 4), "Zo\xc3\xab");
    assert_string_equal(ol_esc_a_cut(&a, OL_ESC_TEXT, "a\x1b", 10), "a\\x1b");
    /* n bytes, not NUL-terminated (an LMDB key); a NUL within them ends it */
    assert_string_equal(ol_esc_a_n(&a, OL_ESC_TEXT, "ab\x1b\ncd", 4), "ab\\x1b\\x0a");
    assert_string_equal(ol_esc_a_n(&a, OL_ESC_TEXT, "ab\0cd", 5), "ab");
    assert_string_equal(ol_esc_a_n(&a, OL_ESC_TEXT, NULL, 3), "");
    assert_int_equal(a.failed, 0);
    ol_esc_arena_reset(&a);
}

static void test_json(void **state)
{
    (void)state;
    json_t *o = json_pack("{s:s}", "name", "a\x1b[31m\x7f\xc2\x9b\xe2\x80\xae\"\\\n");
    assert_non_null(o);
    char *s = ol_esc_json_dumps(o, JSON_COMPACT);
    assert_non_null(s);
    assert_string_equal(s, "{\"name\":\"a\\u001B[31m\\u007F\\u009B\\u202E\\\"\\\\\\n\"}");
    for (const char *p = s; *p; p++)
        assert_true(*p >= 0x20 && *p < 0x7F);
    /* decodes back to the same value */
    json_t *back = json_loads(s, 0, NULL);
    assert_non_null(back);
    assert_true(json_equal(o, back));
    json_decref(back);
    free(s);
    json_decref(o);

    /* invalid UTF-8 becomes U+FFFD instead of failing the row */
    json_t *j = ol_esc_json_str("a\xff" "b");
    assert_non_null(j);
    assert_string_equal(json_string_value(j), "a\xef\xbf\xbd" "b");
    json_decref(j);
    j = ol_esc_json_str(NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(j), "");
    json_decref(j);
}

/* what stderr received while the test ran between capture_start and
 * capture_end (a temporary file in place of fd 2); caller frees */
static int g_saved_fd = -1;
static FILE *g_cap;

static void capture_start(void)
{
    fflush(stderr);
    g_cap = tmpfile();
    assert_non_null(g_cap);
    g_saved_fd = dup(2);
    assert_true(g_saved_fd >= 0);
    assert_int_equal(dup2(fileno(g_cap), 2), 2);
}

static char *capture_end(void)
{
    fflush(stderr);
    assert_int_equal(dup2(g_saved_fd, 2), 2);
    close(g_saved_fd);
    g_saved_fd = -1;
    off_t n = lseek(fileno(g_cap), 0, SEEK_END);
    assert_true(n >= 0);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(pread(fileno(g_cap), buf, (size_t)n, 0), n);
    buf[n] = '\0';
    fclose(g_cap);
    g_cap = NULL;
    return buf;
}

/* a message naming a path: the path is shown escaped, the program's words
 * and strerror as they are, one line; errno is kept */
/* bytes from Kafka (a key, a header value) as a JSON string: invalid UTF-8
 * becomes U+FFFD byte by byte, a NUL stays (\u0000), valid text is kept;
 * jansson's json_stringn gave NULL, and tail and replay --emit lost the
 * field (found by review: a key "p-\xff\xfe-bad" printed no "key") */
static void test_json_bytes(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t n;
        const char *want; /* json_dumps with JSON_ENCODE_ANY | JSON_ENSURE_ASCII */
    } cases[] = {
        {"p-\xff\xfe-bad", 8, "\"p-\\uFFFD\\uFFFD-bad\""},
        {"a\0b", 3, "\"a\\u0000b\""},
        {"h\xc3\xa9", 3, "\"h\\u00E9\""},
        {"\xed\xa0\x80", 3, "\"\\uFFFD\\uFFFD\\uFFFD\""}, /* a surrogate: three bad bytes */
        {"\xe2\x82", 2, "\"\\uFFFD\\uFFFD\""},                 /* cut short */
        {"", 0, "\"\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *j = ol_esc_json_strn(cases[i].in, cases[i].n);
        assert_non_null(j);
        char *d = json_dumps(j, JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
        assert_non_null(d);
        if (strcmp(d, cases[i].want))
            fail_msg("case %zu: %s, want %s", i, d, cases[i].want);
        free(d);
        json_decref(j);
    }
}

static void test_eprintf(void **state)
{
    (void)state;
    const char *path = "out/bad\x1b[2Jdir\nopsledger: FAKE\xc2\x9b\xe2\x80\xae/sub";
    capture_start();
    errno = ENOENT;
    ol_esc_eprintf("opsledger generate: cannot write %s: %s\n", path, strerror(errno));
    int e = errno;
    char *got = capture_end();
    assert_int_equal(e, ENOENT);
    assert_string_equal(got,
                        "opsledger generate: cannot write out/bad\\x1b[2Jdir\\x0aopsledger: FAKE\\u009b\\u202e/sub: "
                        "No such file or directory\n");
    free(got);

    /* longer than the stack buffer: the whole line, escaped */
    char *long_path = malloc(3001);
    assert_non_null(long_path);
    memset(long_path, 'p', 3000);
    long_path[2998] = '\x1b';
    long_path[3000] = '\0';
    capture_start();
    ol_esc_eprintf("x: %s is not a directory\n", long_path);
    got = capture_end();
    assert_int_equal(strlen(got), 3 + 2998 + 4 + 1 + strlen(" is not a directory\n"));
    assert_memory_equal(got + 3 + 2998, "\\x1bp is not a directory\n", 25);
    assert_null(strchr(got, '\x1b'));
    free(got);
    free(long_path);

    /* no newline at the end of fmt: none added; a plain line is unchanged */
    capture_start();
    ol_esc_eprintf("a %s", "b\n");
    ol_esc_eprintf("|Zoë %d %s\n", 3, "€ \"q\" a\\b");
    got = capture_end();
    assert_string_equal(got, "a b\\x0a|Zoë 3 € \"q\" a\\b\n");
    free(got);
}

static void test_usage_arg(void **state)
{
    (void)state;
    capture_start();
    int rc = ol_usage_arg("query billing", "unknown argument ", "x\x1b[2J\nFAKE", NULL);
    char *got = capture_end();
    assert_int_equal(rc, 2);
    assert_string_equal(got, "query billing: unknown argument x\\x1b[2J\\x0aFAKE\n");
    free(got);
}

/* a log line is one line whatever its message and pairs hold */
static void test_log_line(void **state)
{
    (void)state;
    ol_log_init("test_escape", OL_LOG_INFO);
    capture_start();
    ol_error("cannot open %s: gone|path=%s", "a\x1b[2J\nb", "c\x1b]0;t\x07\rd");
    char *got = capture_end();
    assert_null(strchr(got, '\x1b'));
    assert_null(strchr(got, '\r'));
    assert_null(strchr(got, '\a'));
    assert_non_null(strstr(got, " level=error prog=test_escape msg=\"cannot open a\\x1b[2J b: gone\" "
                                "path=c\\x1b]0;t\\x07\\x0dd\n"));
    assert_ptr_equal(strchr(got, '\n'), got + strlen(got) - 1);
    free(got);
}

/* a value from the data is one logfmt value whatever it holds: a dead
 * letter's reason quotes field names, and an id can hold quotes and
 * spaces; written raw, `x" level=debug y="` forged a pair */
static void test_log_quoted_values(void **state)
{
    (void)state;
    ol_log_init("test_escape", OL_LOG_INFO);
    capture_start();
    ol_warn("dead letter|reason=%s entity=%s", ol_log_q("invalid: field \"person_id\": not UTF-8"),
            ol_log_q("x\" level=debug y=\"\\"));
    char *got = capture_end();
    assert_non_null(strstr(got, " reason=\"invalid: field \\\"person_id\\\": not UTF-8\" "
                                "entity=\"x\\\" level=debug y=\\\"\\\\\"\n"));
    free(got);
    /* a long value is cut, still closed */
    char big[2000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    const char *q = ol_log_q(big);
    assert_true(strlen(q) < 480);
    assert_int_equal(q[strlen(q) - 1], '"');
    assert_non_null(strstr(q, "...\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_controls), cmocka_unit_test(test_invalid_utf8), cmocka_unit_test(test_html),
        cmocka_unit_test(test_markdown),      cmocka_unit_test(test_csv),          cmocka_unit_test(test_arena),
        cmocka_unit_test(test_json),          cmocka_unit_test(test_eprintf),      cmocka_unit_test(test_usage_arg),
        cmocka_unit_test(test_log_line),      cmocka_unit_test(test_json_bytes),   cmocka_unit_test(test_log_quoted_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
