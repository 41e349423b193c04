/* ol_escape — see ol_escape.h for the rules. One UTF-8 decoder and one
 * table of what each format does with each code point, written either to a
 * FILE (no allocation) or to a growing buffer. */
#include "ol_escape.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define REPLACEMENT "\xEF\xBF\xBD" /* U+FFFD */
static const char k_replacement[] = REPLACEMENT; /* what ol_esc_a returns out of memory */

/* where the escaped bytes go: a stream, or a buffer that grows */
struct sink {
    FILE *f;
    char *b;
    size_t n, cap;
    int err;
};

static void put(struct sink *k, const char *s, size_t n)
{
    if (k->err || !n)
        return;
    if (k->f) {
        if (fwrite(s, 1, n, k->f) != n)
            k->err = 1;
        return;
    }
    if (k->n + n + 1 > k->cap) {
        size_t cap = k->cap ? k->cap : 64;
        while (cap < k->n + n + 1)
            cap *= 2;
        char *nb = realloc(k->b, cap);
        if (!nb) {
            k->err = 1;
            return;
        }
        k->b = nb;
        k->cap = cap;
    }
    memcpy(k->b + k->n, s, n);
    k->n += n;
    k->b[k->n] = '\0';
}

static void puts_(struct sink *k, const char *s) { put(k, s, strlen(s)); }

/* the next code point of s: its length in bytes (0 at the end), *cp the
 * code point or -1 for one invalid byte (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF) */
static size_t utf8_next(const unsigned char *s, int32_t *cp)
{
    unsigned char c = s[0];
    size_t len;
    int32_t v, min;
    if (!c)
        return 0;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, v = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, v = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, v = c & 0x07, min = 0x10000;
    else {
        *cp = -1;
        return 1;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) { /* also stops at the terminating NUL */
            *cp = -1;
            return 1;
        }
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
        *cp = -1;
        return 1;
    }
    *cp = v;
    return len;
}

/* invisible code points that reorder or break what a reader sees */
static int is_invisible_control(int32_t cp)
{
    return cp == 0x061C || cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
           (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029;
}

static int csv_formula_start(unsigned char c)
{
    return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r';
}

static void escape(struct sink *k, ol_esc_fmt fmt, const char *str)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    char hex[16];
    int32_t cp;
    size_t len;

    if (fmt == OL_ESC_CSV) {
        puts_(k, "\"");
        if (csv_formula_start(s[0]))
            puts_(k, "'");
    }
    for (; (len = utf8_next(s, &cp)) > 0; s += len) {
        if (cp < 0) {
            puts_(k, REPLACEMENT);
            continue;
        }
        if (cp < 0x20 || cp == 0x7F) {
            snprintf(hex, sizeof hex, "\\x%02x", (unsigned)cp);
            puts_(k, hex);
            continue;
        }
        if ((cp >= 0x80 && cp <= 0x9F) || is_invisible_control(cp)) {
            snprintf(hex, sizeof hex, "\\u%04x", (unsigned)cp);
            puts_(k, hex);
            continue;
        }
        const char *rep = NULL;
        switch (fmt) {
        case OL_ESC_TEXT: break;
        case OL_ESC_HTML:
            rep = cp == '&' ? "&amp;" : cp == '<' ? "&lt;" : cp == '>' ? "&gt;" : cp == '"' ? "&quot;"
                : cp == '\'' ? "&#39;" : NULL;
            break;
        case OL_ESC_MD:
            if (cp == '&' || cp == '<' || cp == '>')
                rep = cp == '&' ? "&amp;" : cp == '<' ? "&lt;" : "&gt;";
            else if (cp < 0x80 && strchr("\\`*_{}[]()#!|~", (int)cp)) {
                hex[0] = '\\';
                hex[1] = (char)cp;
                hex[2] = '\0';
                rep = hex;
            }
            break;
        case OL_ESC_CSV: rep = cp == '"' ? "\"\"" : NULL; break;
        }
        if (rep)
            puts_(k, rep);
        else
            put(k, (const char *)s, len);
    }
    if (fmt == OL_ESC_CSV)
        puts_(k, "\"");
}

char *ol_esc(ol_esc_fmt fmt, const char *s)
{
    struct sink k = {NULL, NULL, 0, 0, 0};
    escape(&k, fmt, s);
    if (!k.err && !k.b)
        k.b = calloc(1, 1); /* the empty string, still the caller's to free */
    if (k.err) {
        free(k.b);
        return NULL;
    }
    return k.b;
}

int ol_esc_fput(FILE *f, ol_esc_fmt fmt, const char *s)
{
    struct sink k = {f, NULL, 0, 0, 0};
    escape(&k, fmt, s);
    return k.err ? -1 : 0;
}

int ol_usage_arg(const char *prog, const char *before, const char *arg, const char *after)
{
    prog = prog ? prog : "";
    before = before ? before : "";
    after = after ? after : "";
    char *shown = ol_esc(OL_ESC_TEXT, arg);
    if (shown) /* one fprintf: one write on the unbuffered stderr */
        fprintf(stderr, "%s: %s%s%s\n", prog, before, shown, after);
    else { /* out of memory: the same line in pieces, nothing allocated */
        struct sink k = {stderr, NULL, 0, 0, 0};
        puts_(&k, prog);
        puts_(&k, ": ");
        puts_(&k, before);
        escape(&k, OL_ESC_TEXT, arg);
        puts_(&k, after);
        puts_(&k, "\n");
    }
    free(shown);
    /* a failing stderr has nowhere to be reported; the status still is 2 */
    return 2;
}

void ol_esc_eprintf(const char *fmt, ...)
{
    int saved = errno;
    char small[1024], *line = small, *big = NULL, *shown;
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof small && (big = malloc((size_t)n + 1)) != NULL &&
        vsnprintf(big, (size_t)n + 1, fmt, again) == n)
        line = big;
    va_end(again);
    if (n < 0) { /* an encoding error: nothing sensible to show */
        free(big);
        errno = saved;
        return;
    }
    /* the newline that ends fmt, even when small holds the line cut short */
    size_t len = strlen(line), flen = strlen(fmt);
    int nl = flen && fmt[flen - 1] == '\n';
    if (nl && len && line[len - 1] == '\n')
        line[--len] = '\0';
    if ((shown = ol_esc(OL_ESC_TEXT, line)) != NULL) /* one fprintf: one write on the unbuffered stderr */
        fprintf(stderr, "%s%s", shown, nl ? "\n" : "");
    else { /* out of memory: the same line in pieces, nothing allocated */
        ol_esc_fput(stderr, OL_ESC_TEXT, line);
        if (nl)
            fputc('\n', stderr);
    }
    free(shown);
    free(big);
    errno = saved; /* a failing stderr has nowhere to be reported */
}

const char *ol_esc_a(ol_esc_arena *a, ol_esc_fmt fmt, const char *s)
{
    char *e;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        char **ns = realloc(a->s, cap * sizeof *ns);
        if (!ns) {
            a->failed = 1;
            return k_replacement;
        }
        a->s = ns;
        a->cap = cap;
    }
    if (!(e = ol_esc(fmt, s))) {
        a->failed = 1;
        return k_replacement;
    }
    a->s[a->n++] = e;
    return e;
}

const char *ol_esc_a_cut(ol_esc_arena *a, ol_esc_fmt fmt, const char *s, size_t max)
{
    const char *e = ol_esc_a(a, fmt, s);
    size_t n = strlen(e);
    if (n <= max || e == k_replacement)
        return e;
    n = max;
    while (n > 0 && ((unsigned char)e[n] & 0xC0) == 0x80)
        n--; /* e[n] is now the first byte of a character: cut before it */
    a->s[a->n - 1][n] = '\0';
    return e;
}

const char *ol_esc_a_n(ol_esc_arena *a, ol_esc_fmt fmt, const char *s, size_t n)
{
    char *c = strndup(s ? s : "", s ? n : 0);
    const char *e;
    if (!c) {
        a->failed = 1;
        return k_replacement;
    }
    e = ol_esc_a(a, fmt, c);
    free(c);
    return e;
}

void ol_esc_arena_reset(ol_esc_arena *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->s[i]);
    free(a->s);
    a->s = NULL;
    a->n = a->cap = 0; /* failed stays set: the caller reads it at the end */
}

char *ol_esc_json_dumps(const json_t *j, size_t flags)
{
    char *s = json_dumps(j, flags | JSON_ENSURE_ASCII), *out, *o;
    size_t dels = 0;
    if (!s)
        return NULL;
    for (const char *p = s; *p; p++)
        dels += *p == 0x7F;
    if (!dels)
        return s;
    /* DEL can only be inside a string: \u007F there decodes to the same value */
    if (!(out = malloc(strlen(s) + dels * 5 + 1))) {
        free(s);
        return NULL;
    }
    o = out;
    for (const char *p = s; *p; p++) {
        if (*p == 0x7F) {
            memcpy(o, "\\u007F", 6);
            o += 6;
        } else
            *o++ = *p;
    }
    *o = '\0';
    free(s);
    return out;
}

size_t ol_utf8_len_at(const void *p, size_t n)
{
    const unsigned char *s = p;
    unsigned char b = s[0];
    unsigned lo = 0x80, hi = 0xbf;
    size_t len;
    if (b < 0x80)
        return 1;
    if (b >= 0xc2 && b <= 0xdf)
        len = 2;
    else if (b >= 0xe0 && b <= 0xef) {
        len = 3;
        lo = b == 0xe0 ? 0xa0 : 0x80;
        hi = b == 0xed ? 0x9f : 0xbf;
    } else if (b >= 0xf0 && b <= 0xf4) {
        len = 4;
        lo = b == 0xf0 ? 0x90 : 0x80;
        hi = b == 0xf4 ? 0x8f : 0xbf;
    } else
        return 0;
    if (len > n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

json_t *ol_esc_json_strn(const void *p, size_t n)
{
    const unsigned char *s = p;
    struct sink k = {NULL, NULL, 0, 0, 0};
    json_t *j;
    if (!p)
        n = 0, s = (const unsigned char *)"";
    if ((j = json_stringn((const char *)s, n)))
        return j; /* valid UTF-8 (the usual case) */
    for (size_t i = 0; i < n;) {
        size_t len = ol_utf8_len_at(s + i, n - i);
        put(&k, len ? (const char *)s + i : REPLACEMENT, len ? len : 3);
        i += len ? len : 1;
    }
    j = k.err ? NULL : json_stringn(k.b ? k.b : "", k.b ? k.n : 0);
    free(k.b);
    return j;
}

json_t *ol_esc_json_str(const char *str)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    struct sink k = {NULL, NULL, 0, 0, 0};
    json_t *j;
    int32_t cp;
    size_t len;
    if ((j = json_string((const char *)s)))
        return j; /* valid UTF-8 (the usual case) */
    for (; (len = utf8_next(s, &cp)) > 0; s += len)
        put(&k, cp < 0 ? REPLACEMENT : (const char *)s, cp < 0 ? 3 : len);
    j = k.err ? NULL : json_string(k.b ? k.b : "");
    free(k.b);
    return j;
}
