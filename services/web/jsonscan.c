/* jsonscan — reads one top-level string field of a stored row's JSON text
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
    for (p++; p < end; p++) {
        if (*p == '\\') {
            *esc = 1;
            if (++p >= end)
                return NULL;
        } else if (*p == '"')
            return p + 1;
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

int web_json_field(const char *json, size_t len, const char *field, const char **val, size_t *vlen)
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
            if (p >= end || *p != '"')
                return 0; /* present but not a string: matches no filter */
            esc = 0;
            const char *ve = skip_string(p, end, &esc);
            if (!ve || esc)
                return -1; /* an escape inside: compare it parsed */
            *val = p + 1;
            *vlen = (size_t)(ve - 1 - (p + 1));
            return 1;
        }
        if (!(p = skip_value(p, end)))
            return -1;
        if (p < end && *p == ',')
            p++;
    }
    return 0;
}
