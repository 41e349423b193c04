/* opsledger produce TOPIC [--file F] [--timestamp-field FIELD] — JSON lines
 * -> validated Avro framed with the topic's current schema id -> Kafka, keyed
 * by the SPEC's key field. A rejected line is reported with its number and
 * reason and never sent; the exit status is 1 when any line was rejected.
 *
 * --timestamp-field occurred_at sets each record's Kafka timestamp
 * (CreateTime) from that timestamp-millis field, as an upstream CDC producer
 * stamps a change with the instant it happened; without it librdkafka stamps
 * the produce time. The archive keeps the Kafka timestamp and `replay
 * --as-of` selects records by it, so this is what makes an as-of replay of
 * loaded history (the demo, the tests) mean "what was known then". */
#include "cli.h"
#include "ol_escape.h"
#include "ol_registry.h"
#include "ol_codec.h"
#include "ol_json.h"
#include "ol_kafka.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct produce_stats {
    long delivered, failed;
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct produce_stats *st = opaque;
    (void)rk;
    if (m->err) {
        st->failed++;
        fprintf(stderr, "opsledger produce: delivery failed: %s\n", rd_kafka_err2str(m->err));
    } else
        st->delivered++;
}

/* 0 when the record schema has a field `name` of type timestamp-millis (or a
 * union of null and it); else -1 */
static int ts_field_ok(const ol_schema *s, const char *name)
{
    json_t *fields = json_object_get(s->json, "fields"), *f;
    size_t i;
    json_array_foreach(fields, i, f)
    {
        json_t *t = json_object_get(f, "type"), *b;
        size_t j;
        if (!json_is_string(json_object_get(f, "name")) || strcmp(json_string_value(json_object_get(f, "name")), name))
            continue;
        if (json_is_array(t)) {
            json_array_foreach(t, j, b)
            {
                if (json_is_object(b))
                    t = b;
            }
        }
        const char *lt = json_string_value(json_object_get(t, "logicalType"));
        return json_is_object(t) && lt && !strcmp(lt, "timestamp-millis") ? 0 : -1;
    }
    return -1;
}

/* the record's timestamp-millis field; -1 when it is null */
static int ts_of(avro_value_t *v, const char *field, int64_t *ms)
{
    avro_value_t f, b;
    if (avro_value_get_by_name(v, field, &f, NULL))
        return -1;
    if (avro_value_get_type(&f) == AVRO_UNION) {
        if (avro_value_get_current_branch(&f, &b))
            return -1;
        f = b;
    }
    return avro_value_get_type(&f) == AVRO_INT64 && avro_value_get_long(&f, ms) == 0 ? 0 : -1;
}

static int key_of(avro_value_t *v, const char *field, const char **key, size_t *len)
{
    avro_value_t f, b;
    if (avro_value_get_by_name(v, field, &f, NULL))
        return -1;
    if (avro_value_get_type(&f) == AVRO_UNION) {
        if (avro_value_get_current_branch(&f, &b))
            return -1;
        f = b;
    }
    if (avro_value_get_type(&f) != AVRO_STRING || avro_value_get_string(&f, key, len))
        return -1;
    *len = *len ? *len - 1 : 0; /* avro-c counts the NUL */
    return 0;
}

int cmd_produce(int argc, char **argv, ol_config *cfg)
{
    const char *topic = NULL, *file = NULL, *ts_field = NULL;
    char err[1024], errb[1100];
    int rc = 1;
    ol_schemas *schemas = NULL;
    const ol_schema *s;
    FILE *in = stdin;
    rd_kafka_t *rk = NULL;
    avro_value_t v;
    int have_v = 0;
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0, sent = 0, rejected = 0;
    struct produce_stats st = {0, 0};

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--file") && i + 1 < argc)
            file = argv[++i];
        else if (!strcmp(argv[i], "--timestamp-field") && i + 1 < argc)
            ts_field = argv[++i];
        else if (!topic && argv[i][0] != '-')
            topic = argv[i];
        else {
            fprintf(stderr, "usage: opsledger produce TOPIC [--file F] [--timestamp-field FIELD]\n");
            return 2;
        }
    }
    if (!topic) {
        fprintf(stderr, "usage: opsledger produce TOPIC [--file F] [--timestamp-field FIELD]\n");
        return 2;
    }
    if (!(schemas = cli_load_schemas(cfg)))
        goto out;
    if (cli_check_topic(schemas, topic, "opsledger produce")) {
        rc = 2;
        goto out;
    }
    s = ol_schemas_for_topic(schemas, topic);
    if (!s) {
        fprintf(stderr, "opsledger produce: %s has no schema to encode with (dead letters are raw bytes)\n", topic);
        rc = 2;
        goto out;
    }
    /* schema_registry.url: frames carry the registry's id of the topic's schema */
    if (ol_registry_attach(schemas, cfg, err, sizeof err) || ol_registry_frame_id(schemas->reg, s, err, sizeof err)) {
        ol_esc_eprintf("opsledger produce: %s\n", err);
        goto out;
    }
    if (ts_field && ts_field_ok(s, ts_field)) {
        char tail[160];
        snprintf(tail, sizeof tail, ": %s has no timestamp-millis field of that name", topic); /* a known topic */
        (void)ol_usage_arg("opsledger produce", "--timestamp-field ", ts_field, tail); /* rc stays 1, as before */
        goto out;
    }
    if (file && !(in = fopen(file, "r"))) {
        ol_esc_eprintf("%s: %s\n", file, strerror(errno)); /* perror's line, the path escaped */
        goto out;
    }
    if (!(rk = ol_kafka_producer(cfg, on_delivery, &st, err, sizeof err))) {
        ol_esc_eprintf("opsledger produce: %s\n", err);
        goto out;
    }
    /* the producer retries without end (message.timeout.ms 0, as the
     * services need): ask once, bounded, whether anyone is there */
    if (cli_broker_ready(rk, cfg, "opsledger produce", 10000))
        goto out;
    if (avro_generic_value_new(s->iface, &v)) {
        fprintf(stderr, "opsledger produce: avro: %s\n", avro_strerror());
        goto out;
    }
    have_v = 1;
    ssize_t n;
    while ((errno = 0, n = getline(&line, &cap, in)) >= 0) { /* errno: only getline's, below */
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        size_t sp = strspn(line, " \t");
        if (line[sp] == '\0')
            continue;
        avro_value_reset(&v);
        uint8_t *frame = NULL;
        size_t flen;
        const char *key;
        size_t klen;
        if (ol_json_line_to_avro(s, line, (size_t)n, &v, err, sizeof err) ||
            ol_validate(s, &v, err, sizeof err)) {
            ol_esc_eprintf("line %ld: %s\n", lineno, err);
            rejected++;
            continue;
        }
        if (key_of(&v, s->key_field, &key, &klen)) {
            fprintf(stderr, "line %ld: field \"%s\": the record key must be a string\n", lineno, s->key_field);
            rejected++;
            continue;
        }
        int64_t ts = 0; /* 0: librdkafka stamps the produce time */
        if (ts_field && (ts_of(&v, ts_field, &ts) || ts <= 0)) {
            fprintf(stderr, "line %ld: field \"%s\" (--timestamp-field) must be an instant after 1970\n", lineno,
                    ts_field);
            rejected++;
            continue;
        }
        if (ol_codec_encode(s, &v, &frame, &flen, errb, sizeof errb)) {
            ol_esc_eprintf("line %ld: %s\n", lineno, errb);
            rejected++;
            continue;
        }
        ol_registry_rewrite_frame(schemas->reg, topic, frame, flen);
        for (;;) {
            rd_kafka_resp_err_t e =
                rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, klen),
                                  RD_KAFKA_V_VALUE(frame, flen), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE),
                                  RD_KAFKA_V_TIMESTAMP(ts), RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(rk, 50);
                continue;
            }
            if (e) {
                free(frame);
                fprintf(stderr, "line %ld: produce: %s\n", lineno, rd_kafka_err2str(e));
                rejected++;
            } else
                sent++;
            break;
        }
        rd_kafka_poll(rk, 0);
    }
    /* a directory (EISDIR), an I/O error, or a line too long for memory
     * (glibc's getline: ENOMEM without the stream's error flag), not the end */
    int read_err = ferror(in) ? (errno ? errno : EIO) : errno == ENOMEM ? ENOMEM : 0;
    if (rd_kafka_flush(rk, 60000))
        fprintf(stderr, "opsledger produce: timed out waiting for the broker\n");
    fprintf(stderr, "produced %ld records to %s (%ld acknowledged), rejected %ld lines\n", sent, topic,
            st.delivered, rejected);
    rc = (rejected || st.delivered != sent) ? 1 : 0;
    if (read_err) {
        ol_esc_eprintf("opsledger produce: %s: cannot read after line %ld: %s\n", file ? file : "stdin", lineno,
                       strerror(read_err));
        rc = 1;
    }
out:
    free(line);
    if (have_v)
        avro_value_decref(&v);
    if (rk)
        rd_kafka_destroy(rk);
    if (in && in != stdin)
        fclose(in);
    ol_schemas_free(schemas);
    return rc;
}
