/* test_escape — ol_escape, the per-format escaping of every string that
 * reaches a report (SPEC section 4): the hostile strings of issue 14 item 8
 * (<script>, <img onerror>, a newline and "## heading", a javascript: link,
 * quotes, commas, =1+1, =HYPERLINK, ESC[31m, CR, BEL) in each format, C1
 * and bidi controls, invalid UTF-8, the arena and the JSON helpers.
 * Expected strings are written out by hand. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "ol_escape.h"

#include <stdlib.h>
#include <string.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_controls), cmocka_unit_test(test_invalid_utf8), cmocka_unit_test(test_html),
        cmocka_unit_test(test_markdown),      cmocka_unit_test(test_csv),          cmocka_unit_test(test_arena),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
