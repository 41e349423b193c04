/* paced_produce — the latency probe of `make bench`: produces valid framed
 * timesheet.entry records at a fixed rate while the utilisation service runs
 * live, and measures how long each entry takes to become visible in
 * ops.utilisation.weekly.
 *
 *   paced_produce --brokers B --schemas DIR --people N --week W --occurred-week DW
 *                 [--rate 10000] [--seconds 20] [--warmup 3] [--drain 20]
 *                 [--minutes 15] [--tag run1] [--sidefile FILE]
 *
 * What is produced: entry i (i = 0, 1, ...) belongs to person p-(i mod N + 1)
 * (the ids `opsledger generate` gives), is worked on a weekday of week W
 * (a week that holds no other timesheet entry, so its PERSON rows start at
 * 0 logged minutes), logs --minutes INTERNAL minutes, status SUBMITTED,
 * revision 1, a fresh entry_id "bench-TAG-i" and event_id, and occurred_at
 * Monday 00:00:01Z of DW (the week of the service's data time, so the
 * reporting window does not move). It is keyed by person_id like every
 * timesheet.entry, so one person's entries stay in order in one partition.
 * Entries are handed to librdkafka (acks=all, idempotent, linger.ms=1 or
 * --linger MS) on a
 * 1 ms tick so that exactly RATE x elapsed have been produced at any time.
 * The production time (CLOCK_REALTIME, ns) also travels in the Kafka header
 * `bench.produced_ns`, and --sidefile writes "entry_id produced_ns
 * latency_ns" lines.
 *
 * What is measured: a consumer of every partition of ops.utilisation.weekly,
 * assigned at the end of the topic before production starts (fetch.wait.max.ms
 * = 5), reads the derived events with rd_kafka_consumer_poll. The derived
 * event of entry i is the first PERSON|p|W row (the person-week of the entry)
 * whose logged_minutes includes it: person p's k-th entry brings the
 * person-week's logged time to (k+1) x MINUTES, so a row with
 * logged_minutes >= (k+1) x MINUTES covers entries 0..k of that person.
 * latency(i) = time the consumer got that row - time entry i was handed to
 * rd_kafka_producev (one process, one monotonic clock). An entry not covered
 * within --drain seconds after production ended counts as unmatched and as
 * an infinite latency in the percentiles.
 *
 * Prints one line:
 *   produced=N matched=M unmatched=U unexpected=X achieved_rate=R
 *   p50_ms=.. p90_ms=.. p99_ms=.. max_ms=.. delivery_errors=E */
#include "ol_av.h"
#include "ol_codec.h"
#include "ol_json.h"
#include "ol_schema.h"
#include "ol_time.h"

#include <librdkafka/rdkafka.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void conf_set(rd_kafka_conf_t *c, const char *k, const char *v)
{
    char err[256];
    if (rd_kafka_conf_set(c, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "paced_produce: %s=%s: %s\n", k, v, err);
        exit(2);
    }
}

struct frame {
    uint8_t *buf;
    size_t len;
    char key[24];
};

/* shared between the producer thread and the consumer (main) thread */
static struct frame *g_frames;
static double *g_tprod;     /* monotonic seconds at producev, per entry */
static int64_t *g_tprod_ns; /* realtime ns, for the side file */
static double *g_lat;       /* latency seconds per entry, -1 = not yet */
static atomic_long g_produced;
static atomic_int g_done;
static long g_total;
static double g_rate;
static rd_kafka_t *g_prod;
static atomic_long g_delivery_errors;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->err)
        atomic_fetch_add(&g_delivery_errors, 1);
}

static void *producer_main(void *arg)
{
    (void)arg;
    double t0 = mono_s();
    long i = 0;
    struct timespec tick;
    clock_gettime(CLOCK_MONOTONIC, &tick);
    while (i < g_total) {
        double el = mono_s() - t0;
        long due = (long)(el * g_rate);
        if (due > g_total)
            due = g_total;
        for (; i < due; i++) {
            struct frame *f = &g_frames[i];
            int64_t ns = real_ns();
            char hv[24];
            snprintf(hv, sizeof hv, "%lld", (long long)ns);
            g_tprod_ns[i] = ns;
            g_tprod[i] = mono_s();
            for (;;) {
                rd_kafka_resp_err_t e = rd_kafka_producev(
                    g_prod, RD_KAFKA_V_TOPIC("timesheet.entry"), RD_KAFKA_V_KEY(f->key, strlen(f->key)),
                    RD_KAFKA_V_VALUE(f->buf, f->len), RD_KAFKA_V_MSGFLAGS(0),
                    RD_KAFKA_V_HEADER("bench.produced_ns", hv, (ssize_t)strlen(hv)), RD_KAFKA_V_END);
                if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                    rd_kafka_poll(g_prod, 1);
                    continue;
                }
                if (e) {
                    fprintf(stderr, "paced_produce: produce: %s\n", rd_kafka_err2str(e));
                    atomic_fetch_add(&g_delivery_errors, 1);
                }
                break;
            }
            atomic_store_explicit(&g_produced, i + 1, memory_order_release);
        }
        rd_kafka_poll(g_prod, 0);
        /* next 1 ms tick, absolute */
        tick.tv_nsec += 1000000;
        if (tick.tv_nsec >= 1000000000) {
            tick.tv_nsec -= 1000000000;
            tick.tv_sec++;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &tick, NULL);
    }
    double el = mono_s() - t0;
    fprintf(stderr, "paced_produce: produced %ld entries in %.3f s (%.0f/s)\n", g_total, el, (double)g_total / el);
    rd_kafka_flush(g_prod, 30000);
    atomic_store(&g_done, 1);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *v, long n, double p)
{
    if (n == 0)
        return NAN;
    long idx = (long)ceil(p * (double)n) - 1;
    if (idx < 0)
        idx = 0;
    if (idx >= n)
        idx = n - 1;
    return v[idx];
}

int main(int argc, char **argv)
{
    const char *brokers = NULL, *schemas_dir = NULL, *week_s = NULL, *dweek_s = NULL, *tag = "run",
               *sidefile = NULL, *linger = "1";
    double seconds = 20, warmup = 3, drain = 20;
    long people = 0;
    int minutes = 15;
    g_rate = 10000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "paced_produce: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--brokers"))
            brokers = v;
        else if (!strcmp(a, "--schemas"))
            schemas_dir = v;
        else if (!strcmp(a, "--people"))
            people = atol(v);
        else if (!strcmp(a, "--week"))
            week_s = v;
        else if (!strcmp(a, "--occurred-week"))
            dweek_s = v;
        else if (!strcmp(a, "--rate"))
            g_rate = atof(v);
        else if (!strcmp(a, "--seconds"))
            seconds = atof(v);
        else if (!strcmp(a, "--warmup"))
            warmup = atof(v);
        else if (!strcmp(a, "--drain"))
            drain = atof(v);
        else if (!strcmp(a, "--minutes"))
            minutes = atoi(v);
        else if (!strcmp(a, "--tag"))
            tag = v;
        else if (!strcmp(a, "--sidefile"))
            sidefile = v;
        else if (!strcmp(a, "--linger"))
            linger = v;
        else {
            fprintf(stderr, "paced_produce: unknown option %s\n", a);
            return 2;
        }
    }
    ol_week week, dweek;
    if (!brokers || !schemas_dir || people <= 0 || !week_s || !dweek_s || ol_week_parse(week_s, &week) ||
        ol_week_parse(dweek_s, &dweek) || g_rate <= 0 || seconds <= 0 || minutes < 1 || minutes > 1440) {
        fprintf(stderr, "usage: paced_produce --brokers B --schemas DIR --people N --week W --occurred-week DW "
                        "[--rate R] [--seconds S] [--warmup S] [--drain S] [--minutes M] [--tag T] "
                        "[--sidefile F] [--linger MS]\n");
        return 2;
    }

    char err[1024];
    ol_schemas *schemas;
    if (ol_schemas_load(schemas_dir, &schemas, err, sizeof err)) {
        fprintf(stderr, "paced_produce: schemas: %s\n", err);
        return 1;
    }
    const ol_schema *in = ol_schemas_for_topic(schemas, "timesheet.entry");
    const ol_schema *out = ol_schemas_for_topic(schemas, "ops.utilisation.weekly");
    if (!in || !out) {
        fprintf(stderr, "paced_produce: schemas for timesheet.entry / ops.utilisation.weekly missing\n");
        return 1;
    }

    /* ---- build every frame before the clock starts */
    g_total = (long)(g_rate * seconds);
    g_frames = calloc((size_t)g_total, sizeof *g_frames);
    g_tprod = calloc((size_t)g_total, sizeof *g_tprod);
    g_tprod_ns = calloc((size_t)g_total, sizeof *g_tprod_ns);
    g_lat = malloc((size_t)g_total * sizeof *g_lat);
    long *covered = calloc((size_t)people, sizeof *covered); /* entries of person matched so far */
    if (!g_frames || !g_tprod || !g_tprod_ns || !g_lat || !covered) {
        fprintf(stderr, "paced_produce: out of memory\n");
        return 1;
    }
    avro_value_t v;
    avro_generic_value_new(in->iface, &v);
    char occurred[25], line[1024], wk[9];
    ol_ts_format((int64_t)ol_week_monday(dweek) * 86400000LL + 1000, occurred);
    ol_week_format(week, wk);
    int32_t monday = ol_week_monday(week);
    uint64_t salt = (uint64_t)real_ns();
    for (long i = 0; i < g_total; i++) {
        char date[11];
        long p = i % people, k = i / people;
        ol_date_format(monday + (int32_t)(k % 5), date);
        uint64_t a = salt ^ ((uint64_t)i * 0x9E3779B97F4A7C15ULL), b = (uint64_t)i;
        snprintf(line, sizeof line,
                 "{\"event_id\":\"%08x-%04x-4%03x-8%03x-%012llx\",\"occurred_at\":\"%s\",\"source\":\"bench\","
                 "\"revision\":1,\"entry_id\":\"bench-%s-%ld\",\"person_id\":\"p-%04ld\",\"engagement_id\":null,"
                 "\"activity\":\"INTERNAL\",\"work_date\":\"%s\",\"minutes\":%d,\"status\":\"SUBMITTED\"}",
                 (unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff,
                 (unsigned)(b >> 48) & 0xfff, (unsigned long long)(b & 0xffffffffffffULL), occurred, tag, i, p + 1,
                 date, minutes);
        avro_value_reset(&v);
        if (ol_json_line_to_avro(in, line, strlen(line), &v, err, sizeof err) ||
            ol_validate(in, &v, err, sizeof err) ||
            ol_codec_encode(in, &v, &g_frames[i].buf, &g_frames[i].len, err, sizeof err)) {
            fprintf(stderr, "paced_produce: entry %ld: %s\n%s\n", i, err, line);
            return 1;
        }
        snprintf(g_frames[i].key, sizeof g_frames[i].key, "p-%04ld", p + 1);
        g_lat[i] = -1;
    }
    avro_value_decref(&v);

    /* ---- the consumer of ops.utilisation.weekly, at the end of the topic */
    rd_kafka_conf_t *cc = rd_kafka_conf_new();
    conf_set(cc, "bootstrap.servers", brokers);
    conf_set(cc, "group.id", "opsledger-bench-latency");
    conf_set(cc, "enable.auto.commit", "false");
    conf_set(cc, "enable.auto.offset.store", "false");
    conf_set(cc, "fetch.wait.max.ms", "5");
    conf_set(cc, "enable.partition.eof", "false");
    rd_kafka_t *cons = rd_kafka_new(RD_KAFKA_CONSUMER, cc, err, sizeof err);
    if (!cons) {
        fprintf(stderr, "paced_produce: consumer: %s\n", err);
        return 1;
    }
    rd_kafka_poll_set_consumer(cons);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(cons, "ops.utilisation.weekly", NULL);
    if (rd_kafka_metadata(cons, 0, rkt, &md, 10000) || md->topic_cnt != 1 || md->topics[0].err) {
        fprintf(stderr, "paced_produce: no metadata for ops.utilisation.weekly\n");
        return 1;
    }
    int nparts = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(nparts);
    for (int p = 0; p < nparts; p++)
        rd_kafka_topic_partition_list_add(tp, "ops.utilisation.weekly", p)->offset = RD_KAFKA_OFFSET_END;
    if (rd_kafka_assign(cons, tp)) {
        fprintf(stderr, "paced_produce: assign failed\n");
        return 1;
    }
    rd_kafka_topic_partition_list_destroy(tp);

    ol_decoder *dec = ol_decoder_new(schemas, out);
    char prefix[32];
    snprintf(prefix, sizeof prefix, "|%s", wk);
    size_t plen = strlen(prefix);
    long matched = 0, unexpected = 0, rows = 0;

    /* warm-up: let the assignment resolve to the end offsets */
    double tw = mono_s();
    while (mono_s() - tw < warmup) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(cons, 100);
        if (m)
            rd_kafka_message_destroy(m);
    }

    /* ---- the producer */
    rd_kafka_conf_t *pc = rd_kafka_conf_new();
    conf_set(pc, "bootstrap.servers", brokers);
    conf_set(pc, "enable.idempotence", "true");
    conf_set(pc, "acks", "all");
    conf_set(pc, "linger.ms", linger);
    rd_kafka_conf_set_dr_msg_cb(pc, on_delivery);
    g_prod = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof err);
    if (!g_prod) {
        fprintf(stderr, "paced_produce: producer: %s\n", err);
        return 1;
    }
    /* connect before the clock starts */
    rd_kafka_metadata(g_prod, 1, NULL, &md, 10000) == 0 ? rd_kafka_metadata_destroy(md) : (void)0;

    pthread_t th;
    double t_start = mono_s();
    pthread_create(&th, NULL, producer_main, NULL);
    double t_done = 0;
    while (matched < g_total) {
        if (atomic_load(&g_done)) {
            if (t_done == 0)
                t_done = mono_s();
            if (mono_s() - t_done > drain)
                break;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(cons, 50);
        if (!m)
            continue;
        double t_read = mono_s();
        if (m->err || !m->key || m->key_len < 8 || memcmp(m->key, "PERSON|p-", 9)) {
            rd_kafka_message_destroy(m);
            continue;
        }
        const char *key = m->key;
        size_t kl = m->key_len;
        if (kl < plen || memcmp(key + kl - plen, prefix, plen)) {
            rd_kafka_message_destroy(m);
            continue;
        }
        long pnum = strtol(key + 9, NULL, 10);
        int32_t wid;
        char derr[256];
        if (pnum < 1 || pnum > people ||
            ol_decoder_decode(dec, m->payload, m->len, &wid, derr, sizeof derr) != OL_CODEC_OK) {
            rd_kafka_message_destroy(m);
            continue;
        }
        rows++;
        long p = pnum - 1;
        long logged = ol_av_int(ol_decoder_value(dec), "logged_minutes", 0);
        long k_cover = logged / minutes; /* entries 0..k_cover-1 of this person are in */
        long produced = atomic_load_explicit(&g_produced, memory_order_acquire);
        long have = produced > p ? (produced - p + people - 1) / people : 0; /* entries of p produced */
        if (k_cover > have) {
            unexpected++;
            k_cover = have;
        }
        for (long k = covered[p]; k < k_cover; k++) {
            long i = p + k * people;
            g_lat[i] = t_read - g_tprod[i];
            matched++;
        }
        if (k_cover > covered[p])
            covered[p] = k_cover;
        rd_kafka_message_destroy(m);
    }
    pthread_join(th, NULL);
    double t_prod_end = t_done > 0 ? t_done : mono_s();
    (void)t_prod_end;

    double *lat = malloc((size_t)g_total * sizeof *lat);
    long n = 0;
    for (long i = 0; i < g_total; i++)
        lat[n++] = g_lat[i] >= 0 ? g_lat[i] : INFINITY;
    qsort(lat, (size_t)n, sizeof *lat, cmp_double);
    double achieved = (double)g_total / (g_tprod[g_total - 1] - g_tprod[0] + 1.0 / g_rate);
    printf("produced=%ld matched=%ld unmatched=%ld unexpected=%ld rows=%ld achieved_rate=%.0f p50_ms=%.3f "
           "p90_ms=%.3f p99_ms=%.3f max_ms=%.3f delivery_errors=%ld\n",
           g_total, matched, g_total - matched, unexpected, rows, achieved, pct(lat, n, 0.50) * 1000,
           pct(lat, n, 0.90) * 1000, pct(lat, n, 0.99) * 1000, lat[n - 1] * 1000, atomic_load(&g_delivery_errors));
    fflush(stdout);
    (void)t_start;
    if (sidefile) {
        FILE *f = fopen(sidefile, "w");
        if (f) {
            for (long i = 0; i < g_total; i++)
                fprintf(f, "bench-%s-%ld\t%lld\t%lld\n", tag, i, (long long)g_tprod_ns[i],
                        g_lat[i] >= 0 ? (long long)(g_lat[i] * 1e9) : -1LL);
            fclose(f);
        }
    }
    rd_kafka_consumer_close(cons);
    rd_kafka_destroy(cons);
    rd_kafka_destroy(g_prod);
    ol_decoder_free(dec);
    for (long i = 0; i < g_total; i++)
        free(g_frames[i].buf);
    free(g_frames);
    free(lat);
    ol_schemas_free(schemas);
    return matched == g_total ? 0 : 1;
}
