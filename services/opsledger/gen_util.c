/* gen_util — PRNG, JSON line sinks, time helpers and UK bank holidays for
 * `opsledger generate`. */
#include "gen_common.h"
#include "ol_escape.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const char *const gen_role_names[R_N] = {"CONSULTANT", "SENIOR_CONSULTANT", "PRINCIPAL",
                                         "DELIVERY_MANAGER", "ENGINEER", "ANALYST"};
const char *const gen_team_names[TM_N] = {"data",   "cloud",  "web",                 "mobile",
                                          "security", "design", "delivery-management", "operations"};

/* ------------------------------------------------------------ PRNG (splitmix64) */
uint64_t gen_u64(gen_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

double gen_unit(gen_rng *r)
{
    return (double)(gen_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

int gen_int(gen_rng *r, int lo, int hi)
{
    if (hi <= lo)
        return lo;
    uint64_t span = (uint64_t)((int64_t)hi - lo + 1);
    return (int)(lo + (int64_t)(gen_u64(r) % span));
}

int gen_chance(gen_rng *r, double p)
{
    return gen_unit(r) < p;
}

int gen_pick(gen_rng *r, const int *w, int n)
{
    int t = 0;
    for (int i = 0; i < n; i++)
        t += w[i];
    int x = gen_int(r, 0, t - 1);
    for (int i = 0; i < n; i++) {
        if (x < w[i])
            return i;
        x -= w[i];
    }
    return n - 1;
}

void gen_seed(gen_rng *r, uint64_t seed, const char *salt)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a of the salt */
    for (const char *c = salt; *c; c++)
        h = (h ^ (unsigned char)*c) * 1099511628211ULL;
    r->s = seed * 0x2545F4914F6CDD1DULL ^ h;
    gen_u64(r);
}

/* ------------------------------------------------------------ memory, notes */
static void oom(void)
{
    fputs("opsledger generate: out of memory\n", stderr);
    exit(2);
}

void *gen_xalloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (!p)
        oom();
    return p;
}

void *gen_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom();
    return q;
}

const char *const gen_nc_names[NC_N] = {"joiners", "future joiners", "leavers", "promotions", "contract ends",
                                        "overallocated people", "rota primaries working a bank holiday",
                                        "parental leaves"};

int gen_note_more(gen_world *w, int cat)
{
    return ++w->noted[cat] <= GEN_NOTE_MAX;
}

void gen_note(gen_world *w, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        size_t room = w->ncap - w->nlen;
        int k = vsnprintf(w->notes ? w->notes + w->nlen : NULL, w->notes ? room : 0, fmt, ap);
        va_end(ap);
        if (k < 0)
            return;
        if (w->notes && (size_t)k + 2 <= room) {
            w->nlen += (size_t)k;
            w->notes[w->nlen++] = '\n';
            w->notes[w->nlen] = '\0';
            return;
        }
        w->ncap = (w->ncap + (size_t)k + 2) * 2;
        w->notes = gen_xrealloc(w->notes, w->ncap);
    }
}

/* ------------------------------------------------------------ formatting */
static const char hexd[] = "0123456789abcdef";

char *gen_fmt_date(char *b, int32_t days)
{
    int y, m, d;
    ol_civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999)
        y = 0;
    b[0] = (char)('0' + y / 1000);
    b[1] = (char)('0' + y / 100 % 10);
    b[2] = (char)('0' + y / 10 % 10);
    b[3] = (char)('0' + y % 10);
    b[4] = '-';
    b[5] = (char)('0' + m / 10);
    b[6] = (char)('0' + m % 10);
    b[7] = '-';
    b[8] = (char)('0' + d / 10);
    b[9] = (char)('0' + d % 10);
    return b + 10;
}

char *gen_fmt_ts(char *b, int64_t ms)
{
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int rem = (int)(secs - days * 86400);
    int h = rem / 3600, mi = rem / 60 % 60, s = rem % 60;
    b = gen_fmt_date(b, (int32_t)days);
    b[0] = 'T';
    b[1] = (char)('0' + h / 10);
    b[2] = (char)('0' + h % 10);
    b[3] = ':';
    b[4] = (char)('0' + mi / 10);
    b[5] = (char)('0' + mi % 10);
    b[6] = ':';
    b[7] = (char)('0' + s / 10);
    b[8] = (char)('0' + s % 10);
    b[9] = 'Z';
    return b + 10;
}

/* ------------------------------------------------------------ sinks */
int gs_open(gen_sink *s, const char *dir, const char *topic, const char *source, uint64_t seed)
{
    size_t n = strlen(dir) + strlen(topic) + 16;
    memset(s, 0, sizeof *s);
    s->topic = topic;
    s->source = source;
    s->path = gen_xalloc(n);
    snprintf(s->path, n, "%s/%s.jsonl", dir, topic);
    gen_seed(&s->ids, seed, topic);
    s->min_ts = INT64_MAX;
    s->max_ts = INT64_MIN;
    if (!(s->f = fopen(s->path, "w"))) {
        ol_esc_eprintf("opsledger generate: cannot write %s: %s\n", s->path, strerror(errno));
        return -1;
    }
    s->fbuf = gen_xalloc(1 << 20);
    setvbuf(s->f, s->fbuf, _IOFBF, 1 << 20);
    return 0;
}

static void ln_put(gen_sink *s, const char *p, size_t n)
{
    if (s->llen + n + 1 > s->lcap) {
        s->lcap = (s->llen + n + 1) * 2 + 256;
        s->line = gen_xrealloc(s->line, s->lcap);
    }
    memcpy(s->line + s->llen, p, n);
    s->llen += n;
}

static void ln_c(gen_sink *s, char c)
{
    ln_put(s, &c, 1);
}

static void ln_key(gen_sink *s, const char *k)
{
    if (!s->first)
        ln_c(s, ',');
    s->first = 0;
    ln_c(s, '"');
    ln_put(s, k, strlen(k));
    ln_put(s, "\":", 2);
}

static void ln_string(gen_sink *s, const char *v)
{
    ln_c(s, '"');
    for (const unsigned char *c = (const unsigned char *)v; *c; c++) {
        char esc[8];
        switch (*c) {
        case '"': ln_put(s, "\\\"", 2); break;
        case '\\': ln_put(s, "\\\\", 2); break;
        case '\n': ln_put(s, "\\n", 2); break;
        case '\r': ln_put(s, "\\r", 2); break;
        case '\t': ln_put(s, "\\t", 2); break;
        default:
            if (*c < 0x20) {
                esc[0] = '\\';
                esc[1] = 'u';
                esc[2] = '0';
                esc[3] = '0';
                esc[4] = hexd[*c >> 4];
                esc[5] = hexd[*c & 15];
                ln_put(s, esc, 6);
            } else
                ln_c(s, (char)*c);
        }
    }
    ln_c(s, '"');
}

void gs_event_id(gen_sink *s, char out[37])
{
    uint64_t a = gen_u64(&s->ids), b = gen_u64(&s->ids);
    a = (a & ~0xF000ULL) | 0x4000ULL;                         /* version 4 */
    b = (b & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL; /* variant 10 */
    int k = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[k++] = '-';
        uint64_t src = i < 8 ? a : b;
        unsigned byte = (unsigned)(src >> (8 * (7 - (i & 7)))) & 0xFF;
        out[k++] = hexd[byte >> 4];
        out[k++] = hexd[byte & 15];
    }
    out[k] = '\0';
}

void gs_begin_bare(gen_sink *s, int64_t ts)
{
    s->llen = 0;
    s->first = 1;
    s->ts = ts;
    ln_c(s, '{');
}

void gs_begin(gen_sink *s, int64_t ts, long revision)
{
    char id[37];
    gs_begin_bare(s, ts);
    gs_event_id(s, id);
    gs_str(s, "event_id", id);
    gs_ts(s, "occurred_at", ts);
    gs_str(s, "source", s->source);
    gs_int(s, "revision", revision);
    if (revision > 1)
        s->amended++;
}

void gs_str(gen_sink *s, const char *key, const char *val)
{
    ln_key(s, key);
    if (val)
        ln_string(s, val);
    else
        ln_put(s, "null", 4);
}

void gs_int(gen_sink *s, const char *key, long long v)
{
    char b[24];
    int k = snprintf(b, sizeof b, "%lld", v);
    ln_key(s, key);
    ln_put(s, b, (size_t)k);
}

void gs_bool(gen_sink *s, const char *key, int v)
{
    ln_key(s, key);
    if (v)
        ln_put(s, "true", 4);
    else
        ln_put(s, "false", 5);
}

void gs_date(gen_sink *s, const char *key, int32_t days)
{
    char b[12];
    ln_key(s, key);
    if (days == GEN_NONE) {
        ln_put(s, "null", 4);
        return;
    }
    b[0] = '"';
    gen_fmt_date(b + 1, days);
    b[11] = '"';
    ln_put(s, b, 12);
}

void gs_ts(gen_sink *s, const char *key, int64_t ms)
{
    char b[22];
    ln_key(s, key);
    b[0] = '"';
    gen_fmt_ts(b + 1, ms);
    b[21] = '"';
    ln_put(s, b, 22);
}

void gs_raw(gen_sink *s, const char *key, const char *json)
{
    ln_key(s, key);
    ln_put(s, json, strlen(json));
}

static void push_rec(gen_sink *s, size_t off, size_t len)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->recs = gen_xrealloc(s->recs, s->cap * sizeof *s->recs);
    }
    s->recs[s->n].ts = s->ts;
    s->recs[s->n].seq = s->seq++;
    s->recs[s->n].off = off;
    s->recs[s->n].len = len;
    s->n++;
    s->lines++;
    if (s->ts < s->min_ts)
        s->min_ts = s->ts;
    if (s->ts > s->max_ts)
        s->max_ts = s->ts;
}

static void commit_line(gen_sink *s)
{
    if (s->alen + s->llen > s->acap) {
        s->acap = (s->alen + s->llen) * 2 + 4096;
        s->arena = gen_xrealloc(s->arena, s->acap);
    }
    memcpy(s->arena + s->alen, s->line, s->llen);
    push_rec(s, s->alen, s->llen);
    s->alen += s->llen;
}

void gs_commit(gen_sink *s)
{
    ln_c(s, '}');
    commit_line(s);
}

void gs_rawline(gen_sink *s, int64_t ts, const char *text)
{
    s->llen = 0;
    s->ts = ts;
    ln_put(s, text, strlen(text));
    commit_line(s);
}

void gs_dup(gen_sink *s)
{
    if (!s->n)
        return;
    gen_rec last = s->recs[s->n - 1];
    s->ts = last.ts;
    push_rec(s, last.off, last.len);
    s->dups++;
}

static int rec_cmp(const void *a, const void *b)
{
    const gen_rec *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int gs_flush(gen_sink *s, int64_t bound)
{
    size_t k = 0;
    if (!s->f)
        return -1;
    if (s->n == 0)
        return ferror(s->f) ? -1 : 0; /* nothing buffered (and qsort(NULL, 0) is undefined) */
    qsort(s->recs, s->n, sizeof *s->recs, rec_cmp);
    while (k < s->n && s->recs[k].ts < bound) {
        fwrite(s->arena + s->recs[k].off, 1, s->recs[k].len, s->f);
        putc('\n', s->f);
        k++;
    }
    /* keep the rest, compacted into a fresh arena */
    size_t need = 0;
    for (size_t i = k; i < s->n; i++)
        need += s->recs[i].len;
    char *na = gen_xalloc(need + 4096);
    size_t off = 0;
    for (size_t i = k; i < s->n; i++) {
        memcpy(na + off, s->arena + s->recs[i].off, s->recs[i].len);
        s->recs[i - k] = s->recs[i];
        s->recs[i - k].off = off;
        off += s->recs[i].len;
    }
    free(s->arena);
    s->arena = na;
    s->alen = off;
    s->acap = need + 4096;
    s->n -= k;
    return ferror(s->f) ? -1 : 0;
}

int gs_close(gen_sink *s)
{
    int rc = 0;
    if (!s->f)
        return -1;
    if (gs_flush(s, INT64_MAX))
        rc = -1;
    if (fclose(s->f))
        rc = -1;
    s->f = NULL;
    if (rc)
        ol_esc_eprintf("opsledger generate: cannot write %s: %s\n", s->path, strerror(errno));
    free(s->fbuf);
    free(s->recs);
    free(s->arena);
    free(s->line);
    s->fbuf = NULL;
    s->recs = NULL;
    s->arena = s->line = NULL;
    return rc;
}

/* ------------------------------------------------------------ time */
int64_t gen_work_time(gen_world *w, int32_t d, int h0, int h1)
{
    int wd = ol_weekday(d);
    if (wd == 5)
        d -= 1; /* Saturday: the Friday before */
    else if (wd == 6)
        d += 1; /* Sunday: the Monday after */
    return gen_at(d, gen_int(&w->rng, h0, h1), gen_int(&w->rng, 0, 59), gen_int(&w->rng, 0, 59));
}

int64_t gen_clamp(gen_world *w, int64_t ts)
{
    if (ts <= w->t_cap)
        return ts;
    /* too late: during the end week instead (Tuesday to Friday, before t_cap) */
    int64_t t = gen_at(w->E - gen_int(&w->rng, 2, 5), gen_int(&w->rng, 9, 16), gen_int(&w->rng, 0, 59),
                       gen_int(&w->rng, 0, 59));
    return t < w->t_cap ? t : w->t_cap - HOUR_MS;
}

int64_t gen_later(gen_world *w, int64_t lo, int dmin, int dmax)
{
    int32_t d = gen_day_of(lo) + gen_int(&w->rng, dmin, dmax);
    int64_t t = gen_work_time(w, d, 8, 18);
    if (t <= lo)
        t = lo + gen_int(&w->rng, 5, 120) * MIN_MS + gen_int(&w->rng, 0, 59) * 1000LL;
    if (t > w->t_cap) {
        int64_t room = w->t_cap - lo;
        if (room > 2 * MIN_MS)
            t = lo + MIN_MS + (int64_t)(gen_unit(&w->rng) * (double)(room - MIN_MS)) / 1000 * 1000;
        else
            t = lo + 1000;
    }
    return t;
}

int64_t gen_round_div(int64_t num, int64_t den)
{
    if (den < 0) {
        num = -num;
        den = -den;
    }
    int64_t a = num < 0 ? -num : num, q = a / den, r = a % den;
    if (2 * r >= den)
        q++;
    return num < 0 ? -q : q;
}

int64_t gen_cost(const gen_person *p, int64_t minutes)
{
    /* minutes x day_cost / (weekly / working days) */
    return gen_round_div(minutes * p->day_cost * p->nwd, p->weekly);
}

int gen_day_capacity(const gen_person *p, int32_t d)
{
    int wd = ol_weekday(d);
    if (!(p->wdays >> wd & 1) || d < p->joined || (p->left != GEN_NONE && d > p->left) || !p->nwd)
        return 0;
    int cap = p->weekly / p->nwd;
    int firstbit = 0;
    while (!(p->wdays >> firstbit & 1))
        firstbit++;
    if (wd == firstbit)
        cap += p->weekly % p->nwd;
    return cap;
}

/* ------------------------------------------------------------ bank holidays (England and Wales) */
static int32_t easter_sunday(int y)
{
    int a = y % 19, b = y / 100, c = y % 100, d = b / 4, e = b % 4, f = (b + 8) / 25, g = (b - f + 1) / 3;
    int h = (19 * a + b - d - g + 15) % 30, i = c / 4, k = c % 4;
    int l = (32 + 2 * e + 2 * i - h - k) % 7, m = (a + 11 * h + 22 * l) / 451;
    int month = (h + l - 7 * m + 114) / 31, day = (h + l - 7 * m + 114) % 31 + 1;
    return ol_days_from_civil(y, month, day);
}

static void add_bh(gen_world *w, int32_t d)
{
    if (w->nbh < (int)(sizeof w->bh / sizeof w->bh[0]) && d >= w->S && d < w->X)
        w->bh[w->nbh++] = d;
}

void gen_bank_holidays(gen_world *w)
{
    int y0, y1, m, d;
    ol_civil_from_days(w->S, &y0, &m, &d);
    ol_civil_from_days(w->X, &y1, &m, &d);
    for (int y = y0; y <= y1; y++) {
        int32_t ny = ol_days_from_civil(y, 1, 1);
        if (ol_weekday(ny) >= 5)
            ny += 7 - ol_weekday(ny);
        add_bh(w, ny);
        int32_t easter = easter_sunday(y);
        add_bh(w, easter - 2);
        add_bh(w, easter + 1);
        int32_t may1 = ol_days_from_civil(y, 5, 1);
        add_bh(w, may1 + (7 - ol_weekday(may1)) % 7);
        int32_t may31 = ol_days_from_civil(y, 5, 31);
        add_bh(w, may31 - ol_weekday(may31));
        int32_t aug31 = ol_days_from_civil(y, 8, 31);
        add_bh(w, aug31 - ol_weekday(aug31));
        int32_t xmas = ol_days_from_civil(y, 12, 25), boxing = xmas + 1;
        int wx = ol_weekday(xmas);
        if (wx == 5) {        /* Saturday: Monday 27 and Tuesday 28 */
            xmas += 2;
            boxing += 2;
        } else if (wx == 6) { /* Sunday: Boxing Day Monday 26, Christmas Tuesday 27 */
            xmas += 2;
        } else if (wx == 4) { /* Friday: Boxing Day (Saturday) moves to Monday 28 */
            boxing += 2;
        }
        add_bh(w, xmas);
        add_bh(w, boxing);
    }
    /* sort (tiny) */
    for (int i = 1; i < w->nbh; i++)
        for (int j = i; j > 0 && w->bh[j - 1] > w->bh[j]; j--) {
            int32_t t = w->bh[j];
            w->bh[j] = w->bh[j - 1];
            w->bh[j - 1] = t;
        }
}

int gen_is_bank_holiday(const gen_world *w, int32_t d)
{
    for (int i = 0; i < w->nbh; i++)
        if (w->bh[i] == d)
            return 1;
    return 0;
}
