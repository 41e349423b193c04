/* opsledger schemas register|check|list — the operator's view of opsledger's
 * subjects in a Confluent-compatible Schema Registry (issue 19), through the
 * same client the services use (common/ol_registry*.c):
 *
 *   register [--derived] [--topic T]  registers the manifest's current schema of
 *                                     every subject (--derived: only those the
 *                                     services publish) and prints the ids
 *   check [--topic T]                 can opsledger's reader read each subject's
 *                                     latest version? exit 1 when one cannot
 *   list                              each subject's latest version and id, and
 *                                     whether it is the manifest's schema
 *
 * Subjects are `<topic>-value` (TopicNameStrategy). The registry comes from
 * schema_registry.url and its siblings (-o key=value or the config file);
 * without it the command says so and exits 2. Registry messages are printed
 * escaped for a terminal. */
#include "cli.h"
#include "ol_escape.h"
#include "ol_registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void)
{
    fprintf(stderr, "usage: opsledger schemas register [--derived] [--topic T] | check [--topic T] | list\n"
                    "       (needs schema_registry.url: -o schema_registry.url=https://registry:8081)\n");
}

static void say_err(const char *what, const char *msg)
{
    fprintf(stderr, "opsledger schemas %s: ", what);
    ol_esc_fput(stderr, OL_ESC_TEXT, msg);
    fputc('\n', stderr);
}

/* the subjects and manifest files of the schemas directory (its files'
 * words) as stdout shows them: escaped, then padded; reset after each line */
static ol_esc_arena g_esc = OL_ESC_ARENA_INIT;

/* the current schema of each subject, one at a time: index into s->v or -1 */
static int next_current(const ol_schemas *s, int from)
{
    for (int i = from + 1; i < (int)s->n; i++)
        if (ol_schemas_for_topic(s, s->v[i].topic) == &s->v[i])
            return i;
    return -1;
}

static int do_register(ol_registry *r, const ol_schemas *s, int derived_only, const char *topic)
{
    char err[1024];
    int rc = 0, n = 0;
    for (int i = next_current(s, -1); i >= 0; i = next_current(s, i)) {
        const ol_schema *sc = &s->v[i];
        if ((derived_only && !cli_is_derived(sc->topic)) || (topic && strcmp(topic, sc->topic)))
            continue;
        char *text = ol_registry_schema_text(sc);
        int32_t id = 0;
        if (!text) {
            say_err("register", "out of memory");
            return 1;
        }
        enum ol_reg_status st = ol_registry_register(r, sc->subject, text, &id, err, sizeof err);
        free(text);
        n++;
        if (st) {
            say_err("register", err);
            rc = 1;
            if (st == OL_REG_UNAVAILABLE || strstr(err, "HTTP 401") || strstr(err, "HTTP 403"))
                return 1; /* every other subject would fail the same way */
            continue;
        }
        printf("%-40s id %ld  (%s)\n", ol_esc_a(&g_esc, OL_ESC_TEXT, sc->subject), (long)id,
               ol_esc_a(&g_esc, OL_ESC_TEXT, sc->file));
        ol_esc_arena_reset(&g_esc);
    }
    if (n == 0) {
        fprintf(stderr, "opsledger schemas register: no subject matches\n");
        return 2;
    }
    return rc;
}

static int do_check(ol_registry *r, const ol_schemas *s, const char *topic)
{
    char err[1024];
    int rc = 0, n = 0;
    for (int i = next_current(s, -1); i >= 0; i = next_current(s, i)) {
        const ol_schema *sc = &s->v[i];
        if (topic && strcmp(topic, sc->topic))
            continue;
        char *text = ol_registry_schema_text(sc);
        int ok = 0;
        if (!text) {
            say_err("check", "out of memory");
            return 1;
        }
        enum ol_reg_status st = ol_registry_check(r, sc->subject, text, &ok, err, sizeof err);
        free(text);
        n++;
        if (st == OL_REG_NOT_FOUND) {
            printf("%-40s not registered\n", ol_esc_a(&g_esc, OL_ESC_TEXT, sc->subject));
            ol_esc_arena_reset(&g_esc);
        } else if (st) {
            say_err("check", err);
            return 1;
        } else {
            printf("%-40s %s\n", ol_esc_a(&g_esc, OL_ESC_TEXT, sc->subject),
                   ok ? "compatible" : "INCOMPATIBLE: opsledger's reader cannot read the latest version");
            ol_esc_arena_reset(&g_esc);
            if (!ok)
                rc = 1;
        }
    }
    if (n == 0) {
        fprintf(stderr, "opsledger schemas check: no subject matches\n");
        return 2;
    }
    return rc;
}

static int do_list(ol_registry *r, const ol_schemas *s)
{
    char err[1024];
    printf("%-40s %8s %10s  %s\n", "subject", "version", "id", "manifest");
    for (int i = next_current(s, -1); i >= 0; i = next_current(s, i)) {
        const ol_schema *sc = &s->v[i];
        int32_t id = 0;
        int version = 0;
        char *text = NULL;
        enum ol_reg_status st = ol_registry_latest(r, sc->subject, &id, &version, &text, err, sizeof err);
        if (st == OL_REG_NOT_FOUND) {
            printf("%-40s %8s %10s  %s\n", ol_esc_a(&g_esc, OL_ESC_TEXT, sc->subject), "-", "-", "not registered");
            ol_esc_arena_reset(&g_esc);
            continue;
        }
        if (st) {
            say_err("list", err);
            return 1;
        }
        json_error_t je;
        json_t *j = json_loads(text, 0, &je);
        printf("%-40s %8d %10ld  %s\n", ol_esc_a(&g_esc, OL_ESC_TEXT, sc->subject), version, (long)id,
               j && json_equal(j, sc->json) ? "same as the manifest" : "differs from the manifest");
        ol_esc_arena_reset(&g_esc);
        json_decref(j);
        free(text);
    }
    return 0;
}

int cmd_schemas(int argc, char **argv, ol_config *cfg)
{
    char err[512];
    const char *topic = NULL;
    int derived = 0, rc = 2;
    ol_schemas *s = NULL;
    ol_registry *r = NULL;

    if (argc < 2) {
        usage();
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--topic") && i + 1 < argc)
            topic = argv[++i];
        else if (!strcmp(argv[i], "--derived") && !strcmp(argv[1], "register"))
            derived = 1;
        else {
            int rc = ol_usage_arg("opsledger schemas", "unknown argument ", argv[i], NULL);
            usage();
            return rc;
        }
    }
    if (strcmp(argv[1], "register") && strcmp(argv[1], "check") && strcmp(argv[1], "list")) {
        usage();
        return 2;
    }
    if (ol_registry_from_config(cfg, &r, err, sizeof err)) {
        say_err(argv[1], err);
        return 2;
    }
    if (!r) {
        fprintf(stderr, "opsledger schemas %s: schema_registry.url is not set (-o schema_registry.url=URL or "
                        "the config file); without a registry the manifest's ids serve\n",
                argv[1]);
        return 2;
    }
    if (!(s = cli_load_schemas(cfg))) {
        rc = 1;
        goto out;
    }
    if (topic && cli_check_topic(s, topic, "opsledger schemas"))
        goto out;
    if (!strcmp(argv[1], "register"))
        rc = do_register(r, s, derived, topic);
    else if (!strcmp(argv[1], "check"))
        rc = do_check(r, s, topic);
    else
        rc = do_list(r, s);
out:
    ol_schemas_free(s);
    ol_registry_free(r);
    if (g_esc.failed && rc == 0) { /* a subject shown as U+FFFD: not a good answer */
        fprintf(stderr, "opsledger schemas: out of memory\n");
        rc = 1;
    }
    return rc;
}
