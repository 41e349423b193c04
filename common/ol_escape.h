/* ol_escape — the one place where a string from the data is made safe for
 * the format a report or query writes it in (SPEC section 4: "Every string
 * that reaches a report is escaped for the format it is written in"). Every
 * report and query prints free text (names, teams, clients, bill_to,
 * suppliers, summaries, owners, ids...) only through these functions; the
 * figures a program formats itself (money, hours, counts, weeks) are not
 * free text and are printed as they are.
 *
 * The rules, the same in every format unless said otherwise:
 *   - invalid UTF-8 (a stray byte, an overlong form, a surrogate, a code
 *     point above U+10FFFF, a truncated sequence) becomes U+FFFD, one per
 *     bad byte;
 *   - control characters are replaced visibly: C0 (U+0000..U+001F, TAB, CR
 *     and LF included) and DEL as "\xHH" (ESC is "\x1b"), C1 (U+0080..U+009F)
 *     as "\u00HH", and the invisible bidirectional overrides and isolates
 *     (U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069) and the line
 *     and paragraph separators U+2028, U+2029 as "\uHHHH": nothing from the
 *     data can move the cursor, colour a terminal, break a line or a table
 *     row, or reorder what is shown. A backslash itself is kept as it is
 *     (text, CSV, HTML), so "\x1b" in a report may have been typed literally;
 *     the JSON forms keep exact values.
 *   - OL_ESC_TEXT (terminal): nothing more.
 *   - OL_ESC_HTML: & < > " ' as entities (safe in element text and in
 *     quoted attribute values).
 *   - OL_ESC_MD (CommonMark / GitHub Markdown, inline text and table
 *     cells): & < > as entities (no raw HTML can open), and the ASCII
 *     punctuation that has a meaning inline \ ` * _ { } [ ] ( ) # ! | ~
 *     backslash-escaped: no link, image, emphasis, code span or cell
 *     boundary. Line breaks are made visible, so no heading, list or quote
 *     can start (the report never starts a line with data): '-' and '+'
 *     are left as they are, so dates, weeks and ids stay readable.
 *   - OL_ESC_CSV: one free-text cell of RFC 4180: always quoted, '"'
 *     doubled; a cell whose text starts with = + - @ TAB or CR gets a
 *     leading apostrophe (formula neutralisation: "=1+1" is the text
 *     "'=1+1", not a live formula). Only free-text cells go through it: the
 *     numeric columns the program formats stay bare numbers, negative ones
 *     included.
 *
 * JSON output is written by jansson, which escapes '"', '\' and C0;
 * ol_esc_json_dumps adds \u escapes for everything outside printable ASCII
 * (DEL, C1, the bidi controls), so that JSON lines are safe on a terminal and
 * still decode to the exact values. */
#ifndef OL_ESCAPE_H
#define OL_ESCAPE_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

typedef enum { OL_ESC_TEXT, OL_ESC_HTML, OL_ESC_MD, OL_ESC_CSV } ol_esc_fmt;

/* s (NULL is "") escaped for fmt, in a new string the caller frees; NULL
 * only when out of memory */
char *ol_esc(ol_esc_fmt fmt, const char *s);

/* s (NULL is "") escaped for fmt, written to f; no allocation. 0, or -1 when
 * the stream reports a write error */
int ol_esc_fput(FILE *f, ol_esc_fmt fmt, const char *s);

/* A usage error that echoes what the user typed, on stderr, as one line:
 *     "<prog>: <before><arg><after>\n"
 * where only arg is escaped for the terminal (OL_ESC_TEXT): an argument
 * holding "\x1b[2J" or a line break is shown as the text \x1b[2J or \x0a,
 * it never clears the screen or starts a line that looks like another
 * message. prog, before and after are the program's own words, printed as
 * they are (NULL is ""). Returns 2, the exit status of a usage error:
 *     return ol_usage_arg("query billing", "unknown argument ", argv[i], NULL);
 * Every command that names an argument it refuses does it through this. */
int ol_usage_arg(const char *prog, const char *before, const char *arg, const char *after);

/* fprintf(stderr, fmt, ...) for a message that names a file, a directory or
 * anything else the user typed or the data holds (a path, an error text
 * built around one): the formatted line is escaped whole for the terminal
 * (OL_ESC_TEXT) before it is written, so a path holding "\x1b[2J" or a line
 * break shows as the text \x1b[2J or \x0a. The program's own words are
 * printable and come out as they are; one '\n' that ends fmt is kept, any
 * other control character is shown escaped (fmt is one line). One write,
 * like ol_usage_arg; out of memory the line is written in pieces, cut at
 * 1023 bytes when it is longer. errno is kept:
 *     ol_esc_eprintf("opsledger generate: cannot write %s: %s\n", path, strerror(errno));
 */
void ol_esc_eprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Several escaped strings alive at once, for one printf with widths:
 *   ol_esc_arena a = OL_ESC_ARENA_INIT;
 *   printf("%-14s %s\n", ol_esc_a(&a, OL_ESC_TEXT, id), ol_esc_a(&a, OL_ESC_TEXT, name));
 *   ol_esc_arena_reset(&a);          (frees every string; the arena is reusable)
 * The strings are owned by the arena. ol_esc_a never returns NULL: out of
 * memory it returns "\xEF\xBF\xBD" (U+FFFD) and sets a.failed, which the
 * caller checks before it reports success. */
typedef struct {
    char **s;
    size_t n, cap;
    int failed;
} ol_esc_arena;
#define OL_ESC_ARENA_INIT {NULL, 0, 0, 0}

const char *ol_esc_a(ol_esc_arena *a, ol_esc_fmt fmt, const char *s);
/* the same, cut to at most max bytes on a character boundary, for the
 * fixed-width columns of a table ("%-12.12s" would cut a UTF-8 sequence) */
const char *ol_esc_a_cut(ol_esc_arena *a, ol_esc_fmt fmt, const char *s, size_t max);
/* the same for the first n bytes of s, which need not end in a NUL (an LMDB
 * key or value, a line of a longer text); it stops at a NUL within them */
const char *ol_esc_a_n(ol_esc_arena *a, ol_esc_fmt fmt, const char *s, size_t n);
void ol_esc_arena_reset(ol_esc_arena *a);

/* json_dumps(j, flags | JSON_ENSURE_ASCII) with DEL written as \u007F: only
 * printable ASCII, the same values. Caller frees; NULL on failure */
char *ol_esc_json_dumps(const json_t *j, size_t flags);

/* a JSON string of s (NULL is ""), invalid UTF-8 made U+FFFD (jansson
 * refuses invalid UTF-8, which would drop the whole row); a new reference
 * the caller owns (json_pack "o" steals it). NULL only when out of memory */
json_t *ol_esc_json_str(const char *s);
/* The same for n bytes that may hold NUL (a Kafka key or header value): a
 * JSON string of them, each byte that is not part of well-formed UTF-8 as
 * U+FFFD (a NUL stays, as \u0000). NULL only out of memory: jansson's own
 * json_stringn returns NULL on invalid UTF-8, and a caller that set the
 * field with it lost the field. */
json_t *ol_esc_json_strn(const void *p, size_t n);

/* The length of the well-formed UTF-8 sequence at p (n >= 1 bytes left),
 * 0 when the byte at p does not start one (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF). The one place these rules live:
 * validation refuses strings by them, outputs replace bytes by them. */
size_t ol_utf8_len_at(const void *p, size_t n);

#endif
