/* web_api.h — the endpoint table's types, shared by api.c (rows and
 * answers), api_route.c (dispatch) and the pages (which read the same rows). */
#ifndef WEB_API_H
#define WEB_API_H

#include "web.h"

enum web_grouping {
    G_WEEK,  /* week=W, or from=W&to=W */
    G_DAY,   /* from=DAY[&to=DAY] */
    G_NONE,  /* every key */
    G_PARAM, /* the first filter's value is the group when given, else every group */
};

typedef struct web_endpoint {
    const char *name;  /* the path after /api/v1/ */
    const char *topic; /* the read model's topic */
    enum web_grouping g;
    int roles; /* WEB_EXEC | WEB_OPS | WEB_FINANCE that may read it */
    struct {
        const char *param, *field;
        int upper; /* compared without case (enum symbols) */
    } f[5];
} web_endpoint;

const web_endpoint *web_endpoint_find(const char *name);
const web_endpoint *web_endpoint_of_topic(const char *topic);
/* the rows of ep for the request's arguments and role, as of q->as_of: a new
 * array in *items (caller decrefs; its rows may be shared with other
 * threads through the row cache: read them, never change them); or
 * *answered = 1 with r set (400, 403, 404). 0, or -1 on an internal error. */
int web_api_rows(web_req *q, const web_endpoint *ep, json_t **items, ol_http_resp *r, int *answered);
/* 1 when web_redact would remove something from this row for role (the
 * rows web_api_rows hands out may be shared: they are copied first) */
int web_row_redacts(const char *topic, int role, const char *json, size_t len);
/* the JSON answer of ep ({"count","items","as_of","data_time"}), byte for
 * byte what web_api_rows + web_answer_json give, made by copying each row's
 * stored text when the role's filter leaves it whole (else that row is
 * parsed, filtered, redacted and serialised alone). 0 or -1; errors (400,
 * 403, 404) are answered in r as web_api_rows does. */
int web_api_json(web_req *q, const web_endpoint *ep, ol_http_resp *r);
/* jsonscan.c: a top-level string field of a compact JSON object's text:
 * 1 (*val, *vlen: its bytes, no escape inside), 0 absent or not a string,
 * -1 cannot tell without parsing (an escape, or unexpected text) */
int web_json_field(const char *json, size_t len, const char *field, const char **val, size_t *vlen);
/* n top-level scalar fields in one pass: out[i] for names[i] (kind 2 a
 * string, its bytes, no escape inside; 1 a number or boolean, its text; 0
 * absent or null); 0, or -1 when the text cannot tell without parsing (an
 * escape in a wanted string, an object or array there, unexpected text) */
typedef struct web_jfield {
    const char *p;
    size_t n;
    int kind;
} web_jfield;
int web_json_scalars(const char *json, size_t len, const char *const *names, int n, web_jfield *out);
int web_answer_csv(json_t *items, ol_http_resp *r);
/* adds as_of and data_time to body and sends it (body stays the caller's) */
int web_answer_json(web_req *q, json_t *body, ol_http_resp *r);

/* every revision of a key with its Kafka time and the change of each
 * integer field against the revision before: a new array, or NULL */
json_t *web_history_json(web_req *q, const char *topic, const char *key);

/* {"line":..., "entries":[...]} of a billing line as of q->as_of (new
 * reference; *found 0 when there is no such line), or NULL on an error */
json_t *web_explain_json(web_req *q, const char *key, int *found);

/* forecast_leave.c: for each row of ops.forecast.weekly in forecast (as
 * web_api_rows gives them), the capacity, BOOKED leave minutes and people
 * on leave of its scope and week, from hr.person and hr.leave as of
 * q->as_of: {key, scope, scope_id, week, capacity_minutes, leave_minutes,
 * people_on_leave}, in forecast's order. A new array, or NULL on an error. */
json_t *web_forecast_leave(web_req *q, json_t *forecast);

#endif
