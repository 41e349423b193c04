/* ol_log — leveled logfmt lines on stderr.
 *
 * Every line is `ts=... level=... svc=... msg="..." k=v ...` so that a person
 * can grep it and a machine can parse it. The whole line is escaped for the
 * terminal (ol_esc_eprintf): a path or an error text in msg or a pair
 * cannot break the line or send a control sequence. The timestamp is wall clock: logs
 * are the only place wall clock appears (never in derived payloads). */
#ifndef OL_LOG_H
#define OL_LOG_H

enum ol_log_level { OL_LOG_DEBUG = 0, OL_LOG_INFO, OL_LOG_WARN, OL_LOG_ERROR };

void ol_log_init(const char *program, enum ol_log_level min_level);
int ol_log_level_parse(const char *s, enum ol_log_level *out);
/* fmt is free text for msg= followed by optional logfmt pairs after a '|':
 *   ol_log(OL_LOG_INFO, "batch committed|records=%d", n);  */
void ol_log(enum ol_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* s as one quoted logfmt value: "..." with " and \\ escaped, cut at about
 * 400 bytes ("..." then). For pairs whose value comes from the data (an
 * id, a key, a dead letter's reason, which quotes field names): written
 * raw as k=%s or k=\"%s\", a quote or a space in it ended the value early,
 * and an id such as `x" level=debug` forged a pair. Points into one of 8
 * per-thread buffers: use it in the log call's arguments only. */
const char *ol_log_q(const char *s);

#define ol_debug(...) ol_log(OL_LOG_DEBUG, __VA_ARGS__)
#define ol_info(...) ol_log(OL_LOG_INFO, __VA_ARGS__)
#define ol_warn(...) ol_log(OL_LOG_WARN, __VA_ARGS__)
#define ol_error(...) ol_log(OL_LOG_ERROR, __VA_ARGS__)

#endif
