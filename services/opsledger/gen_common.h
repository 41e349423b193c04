/* gen_common — what the parts of `opsledger generate` share: the PRNG, the
 * per-topic line sinks (JSON line builder, occurred_at ordering, buffered
 * output) and the generated world (people, engagements, allocations, leave,
 * rota) that later topics derive from.
 *
 * Everything is deterministic: one splitmix64 stream for the world, one per
 * topic for event ids; no wall clock, no rand(). */
#ifndef OL_GEN_COMMON_H
#define OL_GEN_COMMON_H

#include "ol_time.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define GEN_NONE INT32_MIN
#define DAY_MS 86400000LL
#define HOUR_MS 3600000LL
#define MIN_MS 60000LL

enum { R_CONSULTANT, R_SENIOR, R_PRINCIPAL, R_DM, R_ENGINEER, R_ANALYST, R_N };
extern const char *const gen_role_names[R_N];

enum { TM_DATA, TM_CLOUD, TM_WEB, TM_MOBILE, TM_SECURITY, TM_DESIGN, TM_DM, TM_OPS, TM_N };
extern const char *const gen_team_names[TM_N];

enum { EMP_EMPLOYEE, EMP_CONTRACTOR, EMP_PARTNER };
enum { BILL_TM, BILL_FP, BILL_NB };
enum { EK_RUNNING, EK_ENDING, EK_CLOSED, EK_FUTURE, EK_INTERNAL };
enum { AS_PROPOSED, AS_CONFIRMED, AS_CANCELLED };
enum { LK_HOLIDAY, LK_SICK, LK_PUBLIC, LK_PARENTAL, LK_OTHER };
enum { LP_FULL, LP_AM, LP_PM };

enum { T_PERSON, T_LEAVE, T_ENG, T_ALLOC, T_ENTRY, T_INVOICE, T_EXPENSE, T_PERIOD, T_RISK, T_ROTA, T_N };

typedef struct gen_rng {
    uint64_t s;
} gen_rng;

uint64_t gen_u64(gen_rng *r);
double gen_unit(gen_rng *r);                    /* [0, 1) */
int gen_int(gen_rng *r, int lo, int hi);        /* lo..hi inclusive */
int gen_chance(gen_rng *r, double p);           /* 1 with probability p */
int gen_pick(gen_rng *r, const int *weights, int n);
void gen_seed(gen_rng *r, uint64_t seed, const char *salt);

/* ------------------------------------------------------------ line sinks */
typedef struct gen_rec {
    int64_t ts;
    uint64_t seq;
    size_t off, len;
} gen_rec;

typedef struct gen_sink {
    const char *topic, *source;
    char *path;
    FILE *f;
    char *fbuf;
    gen_rng ids;
    gen_rec *recs; /* pending lines, written in (ts, seq) order by gs_flush */
    size_t n, cap;
    char *arena;
    size_t alen, acap;
    char *line; /* the line being built */
    size_t llen, lcap;
    int first;
    int64_t ts;
    uint64_t seq;
    long lines, amended, dups;
    int64_t min_ts, max_ts;
} gen_sink;

int gs_open(gen_sink *s, const char *dir, const char *topic, const char *source, uint64_t seed);
/* starts a line: '{' and the envelope (event_id from the sink's id stream) */
void gs_begin(gen_sink *s, int64_t ts, long revision);
/* starts a line with no envelope (invalid records build their own) */
void gs_begin_bare(gen_sink *s, int64_t ts);
void gs_event_id(gen_sink *s, char out[37]);
void gs_str(gen_sink *s, const char *key, const char *val); /* NULL -> null */
void gs_int(gen_sink *s, const char *key, long long v);
void gs_bool(gen_sink *s, const char *key, int v);
void gs_date(gen_sink *s, const char *key, int32_t days);   /* GEN_NONE -> null */
void gs_ts(gen_sink *s, const char *key, int64_t ms);
void gs_raw(gen_sink *s, const char *key, const char *json);
void gs_commit(gen_sink *s);
void gs_rawline(gen_sink *s, int64_t ts, const char *text); /* a line exactly as given */
void gs_dup(gen_sink *s); /* the last committed line once more, byte for byte */
/* writes the pending lines with ts < bound, sorted; returns -1 on an I/O error */
int gs_flush(gen_sink *s, int64_t bound);
int gs_close(gen_sink *s); /* flushes everything, closes; -1 on an I/O error */

char *gen_fmt_date(char *b, int32_t days); /* writes 10 chars, returns b + 10 */
char *gen_fmt_ts(char *b, int64_t ms);     /* writes 20 chars ("...Z"), returns b + 20 */

/* ------------------------------------------------------------ the world */
typedef struct gen_person {
    char id[16];
    char name[64];
    int team, team0;          /* final, first published */
    int role, role0;          /* final, first published */
    int billable, emp;
    const char *supplier;
    int weekly, wdays, nwd;
    int64_t day_cost;
    const char *currency;
    int32_t joined, left, left0; /* left0: left_on of the first revision */
    int64_t ts1, ts_promo, ts_move, ts_left;
    uint8_t *lv;              /* per day of [S, X): leave of the final state, see LV_* */
    int *alloc, nalloc;       /* final CONFIRMED allocations of the person */
    int64_t *appr;            /* APPROVED minutes per week of the range (final versions), suppliers' people */
    int no_ts_period;         /* invoice period without any timesheet, or -1 */
    int rota;                 /* live service index or -1 */
    int kind;                 /* PK_* for the README */
} gen_person;

enum { PK_PLAIN, PK_JOINER, PK_FUTURE_JOINER, PK_LEAVER, PK_PROMOTED };

/* leave day byte: bits 0-1 portion (0 none, 1 AM, 2 PM, 3 FULL), bits 4-6 kind + 1 */
#define LV_PORTION(b) ((b) & 3)
#define LV_KIND(b) ((((b) >> 4) & 7) - 1)

typedef struct gen_eng {
    char id[16];
    const char *client, *bill_to;
    char name[96];
    int billing, lead, kind;
    const char *currency;
    int mpd;
    int64_t budget;
    int32_t starts, ends;
    int64_t rate1[R_N], rate2[R_N];
    int32_t eff2;             /* date of the rate rise, GEN_NONE for none */
    int missing_role;         /* role left out of the rate card, -1 */
    int retro;                /* rate rise published after it took effect */
    int overrun;              /* budget set well below the plan */
    int64_t ts1, ts_rise, ts_close;
    int dm;                   /* a delivery manager (person index) or -1 */
} gen_eng;

typedef struct gen_alloc {
    int eng, person, role, percent;
    int32_t first, last;
    int st1, st2;             /* st2 -1: no second revision */
    int64_t ts1, ts2;
} gen_alloc;

typedef struct gen_leave {
    int person, kind, portion;
    int32_t first, last;
    int64_t ts1, ts2;         /* ts2 != 0: CANCELLED at ts2 */
} gen_leave;

typedef struct gen_shift {
    int svc, person, role;
    int64_t starts, ends, ts1, ts2; /* ts2 != 0: CANCELLED at ts2 */
} gen_shift;

typedef struct gen_world {
    int people, engagements, weeks;
    uint64_t seed;
    ol_week end_week, start_week;
    const char *out;
    int32_t S, E, X;          /* first Monday, last Sunday, end of the leave range (exclusive) */
    int64_t t_cap;            /* nothing occurs after this (end week, Sunday evening) */
    gen_rng rng;
    gen_person *p;
    int np;
    gen_eng *e;
    int ne;
    gen_alloc *a;
    int na, acap;
    gen_leave *l;
    int nl, lcap;
    gen_shift *sh;
    int nsh, shcap;
    int nsvc;
    int32_t bh[64];
    int nbh;
    int ninv;                 /* invoice periods (4 weeks each, ended before the end week) */
    gen_sink sink[T_N], inval[T_N];
    char *notes;              /* README: what was injected */
    size_t nlen, ncap;
    long missing_weeks, amend_entries, dup_entries;
    int noted[16];            /* per NC_* category: how many such cases (only the first few are listed) */
} gen_world;

enum { NC_JOINER, NC_FJOINER, NC_LEAVER, NC_PROMO, NC_CONTRACT, NC_OVER, NC_BHDUTY, NC_PARENTAL, NC_N };
#define GEN_NOTE_MAX 6
extern const char *const gen_nc_names[NC_N];
/* counts a case of category cat; 1 when it is still among the first GEN_NOTE_MAX to list */
int gen_note_more(gen_world *w, int cat);

void *gen_xalloc(size_t n);                  /* zeroed, exits 2 when out of memory */
void *gen_xrealloc(void *p, size_t n);
void gen_note(gen_world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline int64_t gen_at(int32_t day, int h, int m, int s)
{
    return (int64_t)day * DAY_MS + ((int64_t)h * 3600 + m * 60 + s) * 1000;
}
static inline int32_t gen_monday(int32_t d) { return d - ol_weekday(d); }
static inline int32_t gen_day_of(int64_t ms) { return (int32_t)(ms / DAY_MS); }
/* a time on a working hour of day d (between h0:00 and h1:59) */
int64_t gen_work_time(gen_world *w, int32_t d, int h0, int h1);
/* later than lo by about dmin..dmax days, on a working hour, never after t_cap */
int64_t gen_later(gen_world *w, int64_t lo, int dmin, int dmax);
/* ts, or a time shortly before t_cap when ts is after it */
int64_t gen_clamp(gen_world *w, int64_t ts);
int gen_is_bank_holiday(const gen_world *w, int32_t d);
void gen_bank_holidays(gen_world *w);

/* person capacity on day d (0 when not a working day or outside employment) */
int gen_day_capacity(const gen_person *p, int32_t d);
static inline uint8_t gen_leave_at(const gen_world *w, const gen_person *p, int32_t d)
{
    return (d >= w->S && d < w->X) ? p->lv[d - w->S] : 0;
}
int64_t gen_round_div(int64_t num, int64_t den); /* half away from zero */
int64_t gen_cost(const gen_person *p, int64_t minutes);

/* the generators, in dependency order */
void gen_people(gen_world *w);
void gen_engagements(gen_world *w);
void gen_allocations(gen_world *w);
void gen_emit_people(gen_world *w);
void gen_emit_engagements(gen_world *w);
void gen_emit_allocations(gen_world *w);
void gen_leave_plan(gen_world *w);
void gen_rota_plan(gen_world *w);
void gen_public_holidays(gen_world *w);
void gen_emit_leave(gen_world *w);
void gen_emit_rota(gen_world *w);
int gen_timesheets(gen_world *w);
void gen_invoices(gen_world *w);
void gen_expenses(gen_world *w);
void gen_periods(gen_world *w);
void gen_risks(gen_world *w);
void gen_invalid(gen_world *w);

#endif
