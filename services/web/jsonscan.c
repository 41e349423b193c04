/* jsonscan — reads one top-level field of a stored row's JSON text
 * without parsing the row. Exists for the API's fast path (api.c, web_api_json): a
 * week of 5,000 people is answered by copying each row's stored text, and
 * the only thing asked of a row is whether its filter fields match. The text
 * is the fold's own json_dumps output (compact), so the scanner only needs
 * to skip values correctly; anything unexpected answers "unknown" and the
 * caller falls back to parsing the row. */
#include "web_api.h"

#include <string.h>

/* skips a JSON string starting at p (on its opening quote); returns the
 * position after its closing quote, or NULL; *esc is set when it holds a
 * backslash escape */
static const char *skip_string(const char *p, const char *end, int *esc)
{
    for (p++; p < end;) {
        const char *q = memchr(p, '"', (size_t)(end - p)); /* the common case: no backslash before it */
        if (!q)
            return NULL;
        const char *bs = memchr(p, '\\', (size_t)(q - p));
        if (!bs)
            return q + 1;
        *esc = 1;
        p = bs + 2; /* the escaped character is skipped, whatever it is */
    }
    return NULL;
}

/* skips any JSON value starting at p; NULL when malformed */
static const char *skip_value(const char *p, const char *end)
{
    int esc = 0, depth = 0;
    if (p >= end)
        return NULL;
    if (*p == '"')
        return skip_string(p, end, &esc);
    if (*p != '{' && *p != '[') {
        while (p < end && *p != ',' && *p != '}' && *p != ']')
            p++;
        return p;
    }
    for (; p < end; p++) {
        if (*p == '"') {
            if (!(p = skip_string(p, end, &esc)))
                return NULL;
            p--;
        } else if (*p == '{' || *p == '[')
            depth++;
        else if ((*p == '}' || *p == ']') && --depth == 0)
            return p + 1;
    }
    return NULL;
}

/* the value of a top-level field: 1 (*at: where it starts), 0 absent, -1
 * cannot tell (an escaped name, or unexpected text) */
static int find_value(const char *json, size_t len, const char *field, const char **at)
{
    const char *p = json, *end = json + len;
    size_t flen = strlen(field);
    if (len < 2 || *p != '{')
        return -1;
    p++;
    while (p < end && *p != '}') {
        int esc = 0;
        if (*p != '"')
            return -1;
        const char *k = p + 1, *ke = skip_string(p, end, &esc);
        if (!ke || ke >= end || *ke != ':')
            return -1;
        int hit = !esc && (size_t)(ke - 1 - k) == flen && !memcmp(k, field, flen);
        p = ke + 1;
        if (hit) {
            *at = p;
            return p < end ? 1 : -1;
        }
        if (!(p = skip_value(p, end)))
            return -1;
        if (p < end && *p == ',')
            p++;
    }
    return 0;
}

int web_json_field(const char *json, size_t len, const char *field, const char **val, size_t *vlen)
{
    const char *p, *end = json + len;
    int rc = find_value(json, len, field, &p);
    if (rc <= 0)
        return rc;
    if (*p != '"')
        return 0; /* present but not a string: matches no filter */
    int esc = 0;
    const char *ve = skip_string(p, end, &esc);
    if (!ve || esc)
        return -1; /* an escape inside: compare it parsed */
    *val = p + 1;
    *vlen = (size_t)(ve - 1 - (p + 1));
    return 1;
}

int web_json_scalars(const char *json, size_t len, const char *const *names, int n, web_jfield *out)
{
    const char *p = json, *end = json + len;
    for (int i = 0; i < n; i++)
        out[i] = (web_jfield){"", 0, 0};
    if (len < 2 || *p != '{')
        return -1;
    p++;
    while (p < end && *p != '}') {
        int esc = 0, hit = -1;
        if (*p != '"')
            return -1;
        const char *k = p + 1, *ke = skip_string(p, end, &esc);
        if (!ke || ke >= end || *ke != ':')
            return -1;
        size_t kl = (size_t)(ke - 1 - k);
        for (int i = 0; !esc && i < n && hit < 0; i++)
            if (strlen(names[i]) == kl && !memcmp(k, names[i], kl))
                hit = i;
        p = ke + 1;
        const char *v = p;
        if (!(p = skip_value(p, end)) || p == v)
            return -1;
        if (hit >= 0) {
            if (*v == '{' || *v == '[')
                return -1;
            if (*v == '"') {
                esc = 0;
                skip_string(v, end, &esc);
                if (esc)
                    return -1;
                out[hit] = (web_jfield){v + 1, (size_t)(p - v - 2), 2};
            } else if (!(p - v == 4 && !memcmp(v, "null", 4)))
                out[hit] = (web_jfield){v, (size_t)(p - v), 1};
        }
        if (p < end && *p == ',')
            p++;
    }
    return 0;
}
