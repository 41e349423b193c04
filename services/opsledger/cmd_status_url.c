/* cmd_status_url — `opsledger status SERVICE --url http://HOST:PORT`: the
 * figures of a service that runs elsewhere, read from its /metrics (the
 * opsledger_* series of that service, without the service label), then its
 * /healthz and /readyz answers. Exists because `status` otherwise opens the
 * service's LMDB directory, which only works on the service's own host.
 * A plain HTTP/1.0 GET (ol_http_get), no libcurl: see common/README.md. */
#include "cli.h"
#include "ol_escape.h"
#include "ol_http.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* the three requests (/metrics, /healthz, /readyz) share one deadline: a
 * server that trickles its answers cannot hold `status --url` longer */
#define STATUS_URL_MS 10000
static int64_t g_deadline;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* what is left of the deadline (at least 1 ms: ol_http_get then says it
 * timed out, naming the URL) */
static int left_ms(void)
{
    int64_t l = g_deadline - now_ms();
    return l < 1 ? 1 : l > STATUS_URL_MS ? STATUS_URL_MS : (int)l;
}

/* prints one sample line of the exposition when it is an opsledger_ series
 * of `service`: the name with its other labels, then the value, both as the
 * remote service sent them, so escaped for the terminal (a label value is
 * data: a topic, a path), the name padded after escaping */
static int print_sample(ol_esc_arena *esc, const char *line, size_t len, const char *service)
{
    char want[300], name[1024];
    if (len == 0 || line[0] == '#' || strncmp(line, "opsledger_", 10) != 0 || len >= sizeof name)
        return 0;
    memcpy(name, line, len);
    name[len] = '\0';
    char *value = strrchr(name, ' ');
    if (!value)
        return 0;
    *value++ = '\0';
    snprintf(want, sizeof want, "service=\"%s\"", service);
    char *at = strstr(name, want);
    if (!at)
        return 0;
    /* drop the service label (and the comma that joins it to the next) */
    size_t wl = strlen(want);
    if (at[wl] == ',')
        wl++;
    memmove(at, at + wl, strlen(at + wl) + 1);
    size_t nl = strlen(name);
    if (nl >= 2 && !strcmp(name + nl - 2, "{}"))
        name[nl - 2] = '\0';
    else if (nl >= 2 && name[nl - 1] == '}' && name[nl - 2] == ',')
        memmove(name + nl - 2, "}", 2);
    printf("  %-60s %s\n", ol_esc_a(esc, OL_ESC_TEXT, name), ol_esc_a(esc, OL_ESC_TEXT, value));
    ol_esc_arena_reset(esc);
    return 1;
}

/* the first line of the answer to base + path; the error (it names the URL)
 * and the body (the remote's words) escaped for the terminal */
static int probe(ol_esc_arena *esc, const char *base, const char *path, const char *label)
{
    char url[1200], err[512];
    int status = 0;
    char *body = NULL;
    size_t len = 0;
    snprintf(url, sizeof url, "%s%s", base, path);
    if (ol_http_get(url, left_ms(), &status, &body, &len, err, sizeof err)) {
        printf("  %-60s unknown (%s)\n", label, ol_esc_a(esc, OL_ESC_TEXT, err));
        return -1;
    }
    char *nl = strchr(body, '\n');
    if (nl)
        *nl = '\0';
    printf("  %-60s %d %s\n", label, status, ol_esc_a(esc, OL_ESC_TEXT, body));
    free(body);
    return status == 200 ? 0 : 1;
}

int cmd_status_url(int argc, char **argv)
{
    const char *service = NULL, *url = NULL;
    char base[1024], murl[1100], err[512];
    char *body = NULL;
    size_t len = 0;
    int status = 0, n = 0, rc = 1;
    ol_esc_arena esc = OL_ESC_ARENA_INIT; /* what the user typed, as the messages show it */
    ol_esc_arena lines = OL_ESC_ARENA_INIT; /* what the remote answered, line by line */

    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--url") && i + 1 < argc)
            url = argv[++i];
        else if (argv[i][0] != '-' && !service)
            service = argv[i];
        else
            return ol_usage_arg("opsledger status", "unexpected argument ", argv[i],
                                " (with --url: status SERVICE --url URL)");
    }
    if (!service || !url) {
        fprintf(stderr, "usage: opsledger status SERVICE --url http://HOST:PORT\n");
        return 2;
    }
    /* the base is the URL without a trailing /metrics or / */
    snprintf(base, sizeof base, "%s", url);
    size_t bl = strlen(base);
    if (bl >= 8 && !strcmp(base + bl - 8, "/metrics"))
        base[bl -= 8] = '\0';
    while (bl > 7 && base[bl - 1] == '/')
        base[--bl] = '\0';
    snprintf(murl, sizeof murl, "%s/metrics", base);
    const char *sv = ol_esc_a(&esc, OL_ESC_TEXT, service), *mu = ol_esc_a(&esc, OL_ESC_TEXT, murl);
    g_deadline = now_ms() + STATUS_URL_MS;
    if (ol_http_get(murl, left_ms(), &status, &body, &len, err, sizeof err)) {
        fprintf(stderr, "opsledger status %s: %s\n", sv, ol_esc_a(&esc, OL_ESC_TEXT, err));
        goto out;
    }
    if (status != 200) {
        fprintf(stderr, "opsledger status %s: %s answered HTTP %d\n", sv, mu, status);
        goto out;
    }
    printf("service %s (%s)\n", sv, mu);
    for (char *p = body; p < body + len;) {
        char *e = memchr(p, '\n', (size_t)(body + len - p));
        size_t l = e ? (size_t)(e - p) : (size_t)(body + len - p);
        n += print_sample(&lines, p, l, service);
        p += l + 1;
    }
    if (n == 0) {
        fprintf(stderr, "opsledger status %s: %s has no opsledger_ series of service \"%s\"\n", sv, mu, sv);
        goto out;
    }
    int h = probe(&lines, base, "/healthz", "healthz");
    int r = probe(&lines, base, "/readyz", "readyz");
    rc = h < 0 || r < 0 ? 1 : 0;
out:
    free(body);
    if ((esc.failed || lines.failed) && rc == 0) { /* a name shown as U+FFFD: not a good answer */
        fprintf(stderr, "opsledger status: out of memory\n");
        rc = 1;
    }
    ol_esc_arena_reset(&esc);
    ol_esc_arena_reset(&lines);
    return rc;
}
