/* auth — who may read: bearer tokens issued by `opsledger web token add`
 * (only their SHA-256 is stored, in a 0600 file; the token itself is printed
 * once and never logged) and browser sessions created by the sign-in form
 * (in memory: a restart signs everybody out). Exists so that the server and
 * the pages never handle a secret themselves. */
#include "ol_config.h"
#include "ol_escape.h"
#include "ol_log.h"
#include "web.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_TOKENS 256
#define SESSIONS_PER_TOKEN 16 /* per token: more sign-ins are refused, nobody else's session is evicted */
#define MAX_SESSIONS (MAX_TOKENS * SESSIONS_PER_TOKEN) /* so valid tokens alone can never fill the table */
#define SESSION_SECONDS (12 * 3600)

struct token {
    char name[64];
    int role;
    unsigned char hash[32];
};

/* a session holds its token's identity (the hash), never a role: the role
 * is looked up in the token list (re-read when the file changes) on every
 * request, so revoking, replacing or downgrading a token takes effect on its
 * browser sessions at once */
struct session {
    char id[65];
    unsigned char hash[32];
    time_t expires;
};

struct web_auth {
    char *path;
    pthread_mutex_t mu;
    struct timespec mtime;
    off_t size;
    struct token tokens[MAX_TOKENS];
    int ntokens;
    struct session sessions[MAX_SESSIONS];
};

const char *web_role_name(int role)
{
    return role == WEB_EXEC ? "exec" : role == WEB_OPS ? "ops" : role == WEB_FINANCE ? "finance" : "none";
}

int web_role_parse(const char *s)
{
    return !strcmp(s, "exec") ? WEB_EXEC : !strcmp(s, "ops") ? WEB_OPS : !strcmp(s, "finance") ? WEB_FINANCE : 0;
}

int web_tokens_path(const ol_config *cfg, const char *flag, char *out, size_t outlen)
{
    const char *p = flag ? flag : ol_config_get(cfg, "web.tokens", NULL);
    int n = p ? snprintf(out, outlen, "%s", p)
              : snprintf(out, outlen, "%s/web-tokens", ol_config_get(cfg, "data_dir", "var/opsledger"));
    if (n < 0 || (size_t)n >= outlen) {
        fprintf(stderr, "opsledger-web: the tokens path is too long\n");
        return -1;
    }
    return 0;
}

static void hex(const unsigned char *b, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++)
        out[2 * i] = d[b[i] >> 4], out[2 * i + 1] = d[b[i] & 15];
    out[2 * n] = '\0';
}

static int unhex(const char *s, unsigned char *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int v = 0;
        for (int j = 0; j < 2; j++) {
            char c = s[2 * i + j];
            int x = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (x < 0)
                return -1;
            v = v * 16 + x;
        }
        out[i] = (unsigned char)v;
    }
    return 0;
}

/* (re)reads the token file when it changed; caller holds mu. A missing
 * file is no token. Lines: name TAB role TAB sha256-hex */
static void reload(web_auth *a)
{
    struct stat sb;
    if (stat(a->path, &sb)) {
        a->ntokens = 0;
        return;
    }
    if (sb.st_mtim.tv_sec == a->mtime.tv_sec && sb.st_mtim.tv_nsec == a->mtime.tv_nsec && sb.st_size == a->size)
        return;
    if (sb.st_mode & 077)
        ol_warn("the tokens file is readable by others; it should be 0600|path=%s", a->path);
    FILE *f = fopen(a->path, "r");
    if (!f)
        return;
    char line[512];
    int n = 0, lineno = 0;
    while (fgets(line, sizeof line, f) && n < MAX_TOKENS) {
        char *name = line, *role, *h;
        lineno++;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (!(role = strchr(name, '\t')) || !(h = strchr(role + 1, '\t'))) {
            ol_warn("tokens file: line %d is not NAME TAB ROLE TAB HASH; ignored|path=%s", lineno, a->path);
            continue;
        }
        *role++ = '\0';
        *h++ = '\0';
        struct token *t = &a->tokens[n];
        snprintf(t->name, sizeof t->name, "%.63s", name);
        t->role = web_role_parse(role);
        if (!t->role || strlen(h) < 64 || unhex(h, t->hash, 32)) {
            ol_warn("tokens file: line %d has an unknown role or a malformed hash; ignored|path=%s", lineno, a->path);
            continue;
        }
        n++;
    }
    fclose(f);
    a->ntokens = n;
    a->mtime = sb.st_mtim;
    a->size = sb.st_size;
}

web_auth *web_auth_new(const char *tokens_path, char *err, size_t errlen)
{
    web_auth *a = calloc(1, sizeof *a);
    if (!a || !(a->path = strdup(tokens_path))) {
        free(a);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&a->mu, NULL);
    pthread_mutex_lock(&a->mu);
    reload(a);
    pthread_mutex_unlock(&a->mu);
    return a;
}

void web_auth_free(web_auth *a)
{
    if (!a)
        return;
    OPENSSL_cleanse(a->sessions, sizeof a->sessions);
    pthread_mutex_destroy(&a->mu);
    free(a->path);
    free(a);
}

/* the token of hash h in the (reloaded) list: its role and name, or NONE;
 * caller holds mu. Every row is compared: the time does not say which matched. */
static int lookup(const web_auth *a, const unsigned char h[32], char name[64])
{
    int role = WEB_ROLE_NONE;
    for (int i = 0; i < a->ntokens; i++)
        if (!CRYPTO_memcmp(h, a->tokens[i].hash, 32) && !role) {
            role = a->tokens[i].role;
            snprintf(name, 64, "%s", a->tokens[i].name);
        }
    return role;
}

int web_auth_token(web_auth *a, const char *token, char name[64])
{
    unsigned char h[32];
    int role;
    if (!token || !*token)
        return WEB_ROLE_NONE;
    SHA256((const unsigned char *)token, strlen(token), h);
    pthread_mutex_lock(&a->mu);
    reload(a);
    role = lookup(a, h, name);
    pthread_mutex_unlock(&a->mu);
    return role;
}

int web_session_new(web_auth *a, const char *token, char name[64], char id[65])
{
    unsigned char r[32], h[32];
    time_t now = time(NULL);
    int role, slot = -1, mine = 0;
    char other[64];
    if (!token || !*token)
        return WEB_ROLE_NONE;
    SHA256((const unsigned char *)token, strlen(token), h);
    if (RAND_bytes(r, sizeof r) != 1)
        return -1;
    hex(r, sizeof r, id);
    pthread_mutex_lock(&a->mu);
    reload(a);
    if ((role = lookup(a, h, name))) {
        for (int i = 0; i < MAX_SESSIONS; i++) { /* this token's open sessions, and a free slot */
            const struct session *s = &a->sessions[i];
            if (s->expires > now)
                mine += !CRYPTO_memcmp(s->hash, h, 32);
            else if (slot < 0)
                slot = i;
        }
        for (int i = 0; slot < 0 && i < MAX_SESSIONS; i++) /* else one of a revoked token */
            if (!lookup(a, a->sessions[i].hash, other))
                slot = i;
        if (mine >= SESSIONS_PER_TOKEN || slot < 0)
            role = WEB_SESSIONS_FULL;
        else {
            struct session *s = &a->sessions[slot];
            memcpy(s->id, id, 65);
            memcpy(s->hash, h, 32);
            s->expires = now + SESSION_SECONDS;
        }
    }
    pthread_mutex_unlock(&a->mu);
    OPENSSL_cleanse(h, sizeof h);
    if (role <= 0)
        OPENSSL_cleanse(id, 65);
    return role;
}

int web_session_role(web_auth *a, const char *id, char name[64])
{
    int role = WEB_ROLE_NONE;
    time_t now = time(NULL);
    if (!id || strlen(id) != 64)
        return WEB_ROLE_NONE;
    pthread_mutex_lock(&a->mu);
    reload(a);
    for (int i = 0; i < MAX_SESSIONS; i++)
        if (a->sessions[i].expires > now && !CRYPTO_memcmp(a->sessions[i].id, id, 64)) {
            /* the token's role now; a revoked token ends the session */
            if (!(role = lookup(a, a->sessions[i].hash, name)))
                memset(&a->sessions[i], 0, sizeof a->sessions[i]);
        }
    pthread_mutex_unlock(&a->mu);
    return role;
}

void web_session_end(web_auth *a, const char *id)
{
    if (!id || strlen(id) != 64)
        return;
    pthread_mutex_lock(&a->mu);
    for (int i = 0; i < MAX_SESSIONS; i++)
        if (!CRYPTO_memcmp(a->sessions[i].id, id, 64))
            memset(&a->sessions[i], 0, sizeof a->sessions[i]);
    pthread_mutex_unlock(&a->mu);
}

/* ------------------------------------------------------------ token verb */
static int token_add(const char *path, const char *name, int role)
{
    unsigned char r[32], h[32];
    char tok[80], hh[65], tmp[4200];
    int rc = 1, fd = -1;
    FILE *in = NULL, *out = NULL;

    for (const char *p = name; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            fprintf(stderr, "opsledger web token add: NAME holds a control character\n");
            return 2;
        }
    if (!*name || strlen(name) > 63) {
        fprintf(stderr, "opsledger web token add: NAME must be 1 to 63 bytes\n");
        return 2;
    }
    if (name[0] == '#') { /* the token file's comment mark: the line would be read as a comment */
        fprintf(stderr, "opsledger web token add: NAME must not start with '#'\n");
        return 2;
    }
    if (RAND_bytes(r, sizeof r) != 1) {
        fprintf(stderr, "opsledger web token add: no random bytes from libcrypto\n");
        return 1;
    }
    memcpy(tok, "olw_", 4);
    hex(r, sizeof r, tok + 4);
    SHA256((const unsigned char *)tok, strlen(tok), h);
    hex(h, sizeof h, hh);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    /* the whole file is rewritten to a 0600 temporary and renamed: a reader
     * sees the old list or the new one, never half */
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0 || fchmod(fd, 0600) ||
        !(out = fdopen(fd, "w"))) {
        ol_esc_eprintf("opsledger web token add: %s: %s\n", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if ((in = fopen(path, "r"))) {
        char line[512];
        size_t nl = strlen(name);
        while (fgets(line, sizeof line, in))
            if (!(strncmp(line, name, nl) == 0 && line[nl] == '\t')) /* the same name is replaced */
                fputs(line, out);
        fclose(in);
    } else if (errno != ENOENT) {
        ol_esc_eprintf("opsledger web token add: %s: %s\n", path, strerror(errno));
        goto out;
    }
    fprintf(out, "%s\t%s\t%s\n", name, web_role_name(role), hh);
    if (fflush(out) || fsync(fileno(out))) {
        ol_esc_eprintf("opsledger web token add: %s: %s\n", tmp, strerror(errno));
        goto out;
    }
    if (fclose(out)) {
        out = NULL;
        ol_esc_eprintf("opsledger web token add: %s: %s\n", tmp, strerror(errno));
        goto out;
    }
    out = NULL;
    if (rename(tmp, path)) {
        ol_esc_eprintf("opsledger web token add: %s: %s\n", path, strerror(errno));
        goto out;
    }
    printf("%s\n", tok); /* the only place the token ever appears */
    ol_esc_eprintf("token %s (%s) added to %s; keep it: it cannot be shown again\n", name, web_role_name(role), path);
    rc = 0;
out:
    OPENSSL_cleanse(tok, sizeof tok);
    if (out)
        fclose(out);
    if (fd >= 0)
        close(fd);
    if (rc)
        unlink(tmp);
    return rc;
}

int web_token_main(const char *path, int argc, char **argv)
{
    if (argc >= 1 && !strcmp(argv[0], "add")) {
        const char *name = NULL, *role = NULL;
        for (int i = 1; i < argc; i++) {
            if (!strcmp(argv[i], "--role") && i + 1 < argc)
                role = argv[++i];
            else if (!name && argv[i][0] != '-')
                name = argv[i];
            else
                return ol_usage_arg("opsledger web token add", "unknown argument ", argv[i], NULL);
        }
        if (role && !web_role_parse(role)) {
            fputs("opsledger web token add: role \"", stderr);
            ol_esc_fput(stderr, OL_ESC_TEXT, role); /* control characters made visible */
            fputs("\" is not one of exec, ops, finance\n", stderr);
            return 2;
        }
        if (!name || !role) {
            fprintf(stderr, "usage: opsledger web token add NAME --role exec|ops|finance [--tokens FILE]\n");
            return 2;
        }
        return token_add(path, name, web_role_parse(role));
    }
    if (argc >= 1 && !strcmp(argv[0], "list")) {
        FILE *f = fopen(path, "r");
        char line[512];
        if (!f) {
            ol_esc_eprintf("opsledger web token list: %s: %s\n", path, strerror(errno));
            return 1;
        }
        while (fgets(line, sizeof line, f)) { /* names and roles, never the hashes */
            char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
            if (t2)
                printf("%.*s\t%.*s\n", (int)(t1 - line), line, (int)(t2 - t1 - 1), t1 + 1);
        }
        fclose(f);
        return 0;
    }
    fprintf(stderr, "usage: opsledger web token add NAME --role exec|ops|finance [--tokens FILE] | token list\n");
    return 2;
}
