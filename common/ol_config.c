/* ol_config — see ol_config.h. */
#include "ol_config.h"
#include "ol_escape.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void ol_config_init(ol_config *c)
{
    c->kv = NULL;
    c->n = 0;
}

void ol_config_free(ol_config *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->kv[i].key);
        free(c->kv[i].value);
    }
    free(c->kv);
    c->kv = NULL;
    c->n = 0;
}

int ol_config_set(ol_config *c, const char *key, const char *value)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->kv[i].key, key) == 0) {
            char *v = strdup(value);
            if (!v)
                return -1;
            free(c->kv[i].value);
            c->kv[i].value = v;
            return 0;
        }
    ol_kv *nkv = realloc(c->kv, (c->n + 1) * sizeof *nkv);
    if (!nkv)
        return -1;
    c->kv = nkv;
    c->kv[c->n].key = strdup(key);
    c->kv[c->n].value = strdup(value);
    if (!c->kv[c->n].key || !c->kv[c->n].value)
        return -1;
    c->n++;
    return 0;
}

int ol_config_set_pair(ol_config *c, const char *prefix, const char *pair)
{
    const char *eq = strchr(pair, '=');
    char key[512];
    if (!eq || eq == pair)
        return -1;
    snprintf(key, sizeof key, "%s%.*s", prefix, (int)(eq - pair), pair);
    return ol_config_set(c, key, eq + 1);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

int ol_config_is_secret(const char *key)
{
    static const char *const marks[] = {"password", "secret", "user_info", "token", "key.pem", "oauthbearer.config",
                                        NULL};
    for (size_t i = 0; marks[i]; i++)
        if (strstr(key, marks[i]))
            return 1;
    return 0;
}

int ol_config_load_file(ol_config *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    int lineno = 0, rc = -1;
    struct stat sb;

    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fileno(f), &sb)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *p = trim(line);
        if (*p == '\0' || *p == '#')
            continue;
        char *eq = strchr(p, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: expected `key = value`", path, lineno);
            goto out;
        }
        *eq = '\0';
        char *k = trim(p), *v = trim(eq + 1);
        if (*k == '\0') {
            snprintf(err, errlen, "%s:%d: empty key", path, lineno);
            goto out;
        }
        if (ol_config_set(c, k, v)) {
            snprintf(err, errlen, "%s:%d: out of memory", path, lineno);
            goto out;
        }
        /* SPEC 4: configuration with secrets is readable by its owner only;
         * refused (not just warned about), as ssh refuses an open key file */
        if (ol_config_is_secret(k) && (sb.st_mode & 077)) {
            snprintf(err, errlen,
                     "%s:%d: holds a secret (%s) but is readable or writable by group or others (mode %04o); "
                     "run: chmod 600 %s",
                     path, lineno, k, (unsigned)(sb.st_mode & 07777), path);
            goto out;
        }
    }
    rc = 0;
out:
    fclose(f);
    return rc;
}

const char *ol_config_get(const ol_config *c, const char *key, const char *def)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->kv[i].key, key) == 0)
            return c->kv[i].value;
    return def;
}

/* err = before + s escaped for the terminal + after: a value the user typed
 * (-o, -X) is shown, never acted on by the terminal the message reaches */
static void err_naming(char *err, size_t errlen, const char *before, const char *s, const char *after)
{
    char *shown = ol_esc(OL_ESC_TEXT, s);
    snprintf(err, errlen, "%s%s%s", before, shown ? shown : "?", after);
    free(shown);
}

int ol_config_get_i64(const ol_config *c, const char *key, int64_t def, int64_t *out, char *err, size_t errlen)
{
    const char *v = ol_config_get(c, key, NULL);
    char *end;
    if (!v) {
        *out = def;
        return 0;
    }
    errno = 0;
    long long n = strtoll(v, &end, 10);
    int64_t mul = 1;
    if (*end == 'K' || *end == 'k')
        mul = 1024, end++;
    else if (*end == 'M' || *end == 'm')
        mul = 1024 * 1024, end++;
    else if (*end == 'G' || *end == 'g')
        mul = 1024LL * 1024 * 1024, end++;
    if (errno || end == v || *end != '\0') {
        char what[160];
        snprintf(what, sizeof what, "config %s: expected an integer, got \"", key);
        err_naming(err, errlen, what, v, "\"");
        return -1;
    }
    *out = (int64_t)n * mul;
    return 0;
}

int ol_config_from_args(ol_config *c, int argc, char **argv, char *err, size_t errlen)
{
    int out = 1;
    const char *file = getenv("OPSLEDGER_CONFIG");
    /* first pass: the file, so the environment and then flags override it */
    for (int i = 1; i < argc; i++)
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc)
            file = argv[i + 1];
    if (file && *file && ol_config_load_file(c, file, err, errlen))
        return -1;
    const char *b = getenv("OPSLEDGER_BROKERS");
    if (b && *b)
        ol_config_set(c, "brokers", b);
    const char *d = getenv("OPSLEDGER_DATA_DIR");
    if (d && *d)
        ol_config_set(c, "data_dir", d);
    const char *sd = getenv("OPSLEDGER_SCHEMAS");
    if (sd && *sd)
        ol_config_set(c, "schemas_dir", sd);
    const char *ml = getenv("OPSLEDGER_METRICS_LISTEN");
    if (ml && *ml)
        ol_config_set(c, "metrics.listen", ml);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_next = i + 1 < argc;
        if ((!strcmp(a, "-c") || !strcmp(a, "--config")) && has_next) {
            i++;
        } else if (!strcmp(a, "-X") && has_next) {
            if (ol_config_set_pair(c, "kafka.", argv[++i])) {
                err_naming(err, errlen, "-X ", argv[i], ": expected prop=value");
                return -1;
            }
        } else if (!strcmp(a, "-o") && has_next) {
            if (ol_config_set_pair(c, "", argv[++i])) {
                err_naming(err, errlen, "-o ", argv[i], ": expected key=value");
                return -1;
            }
        } else if (!strcmp(a, "--brokers") && has_next) {
            ol_config_set(c, "brokers", argv[++i]);
        } else if (!strcmp(a, "--data-dir") && has_next) {
            ol_config_set(c, "data_dir", argv[++i]);
        } else if (!strcmp(a, "--schemas") && has_next) {
            ol_config_set(c, "schemas_dir", argv[++i]);
        } else {
            argv[out++] = argv[i];
        }
    }
    argv[out] = NULL;
    return out;
}
