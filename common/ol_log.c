/* ol_log — see ol_log.h. */
#include "ol_log.h"
#include "ol_escape.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *g_program = "opsledger";
static enum ol_log_level g_min = OL_LOG_INFO;

void ol_log_init(const char *program, enum ol_log_level min_level)
{
    const char *env = getenv("OPSLEDGER_LOG_LEVEL");
    g_program = program;
    g_min = min_level;
    if (env)
        ol_log_level_parse(env, &g_min);
}

int ol_log_level_parse(const char *s, enum ol_log_level *out)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (enum ol_log_level)i;
            return 0;
        }
    return -1;
}

const char *ol_log_q(const char *s)
{
    static _Thread_local char ring[8][480];
    static _Thread_local unsigned next;
    char *out = ring[next++ % 8];
    size_t j = 0, cap = sizeof ring[0];
    out[j++] = '"';
    for (const char *p = s ? s : ""; *p; p++) {
        if (j + 7 >= cap) { /* room for an escape, the mark and the closing quote */
            memcpy(out + j, "...", 3);
            j += 3;
            break;
        }
        if (*p == '"' || *p == '\\')
            out[j++] = '\\';
        out[j++] = *p;
    }
    out[j++] = '"';
    out[j] = '\0';
    return out;
}

void ol_log(enum ol_log_level lvl, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    char body[2048], ts[40];
    struct timespec now;
    struct tm tm;
    va_list ap;

    if (lvl < g_min)
        return;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);

    /* split "message|k=v k=v" into msg and pairs; quote the message */
    char *pairs = strchr(body, '|');
    if (pairs)
        *pairs++ = '\0';
    char msg[2048];
    size_t j = 0;
    for (size_t i = 0; body[i] && j + 2 < sizeof msg; i++) {
        if (body[i] == '"' || body[i] == '\\')
            msg[j++] = '\\';
        msg[j++] = body[i] == '\n' ? ' ' : body[i];
    }
    msg[j] = '\0';
    /* escaped whole for the terminal (ol_escape.h): a path, a topic or an
     * error text in msg or in a pair cannot break the line nor send a
     * control sequence (ESC is shown as \x1b, CR as \x0d) */
    ol_esc_eprintf("ts=%s.%03ldZ level=%s prog=%s msg=\"%s\"%s%s\n", ts, now.tv_nsec / 1000000, names[lvl], g_program,
                   msg, pairs ? " " : "", pairs ? pairs : "");
}
