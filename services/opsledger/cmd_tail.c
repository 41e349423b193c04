/* opsledger tail TOPIC [--from-beginning] [--follow] [--count N] — every
 * record as one JSON line: topic, partition, offset, timestamp, key, schema
 * id and the decoded value (with the writer's own schema). Records that do
 * not decode, and dead letters, are shown with their bytes in base64 and
 * their headers, never skipped. Without --follow it stops at the end of
 * every partition. */
#include "cli.h"

#include <limits.h>
#include "ol_registry.h"
#include "ol_codec.h"
#include "ol_escape.h"
#include "ol_json.h"
#include "ol_kafka.h"
#include "ol_time.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t g_stop;
static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static char *base64(const void *data, size_t len)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const uint8_t *p = data;
    char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < len ? p[i + 2] : 0);
        *o++ = tbl[v >> 18 & 63];
        *o++ = tbl[v >> 12 & 63];
        *o++ = i + 1 < len ? tbl[v >> 6 & 63] : '=';
        *o++ = i + 2 < len ? tbl[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

static json_t *record_json(const ol_schemas *s, const rd_kafka_message_t *m)
{
    json_t *o = json_object();
    char ts[25];
    rd_kafka_timestamp_type_t tt;
    int64_t t = rd_kafka_message_timestamp(m, &tt);
    int32_t id;

    json_object_set_new(o, "topic", json_string(rd_kafka_topic_name(m->rkt)));
    json_object_set_new(o, "partition", json_integer(m->partition));
    json_object_set_new(o, "offset", json_integer(m->offset));
    if (t >= 0) {
        ol_ts_format(t, ts);
        json_object_set_new(o, "timestamp", json_string(ts));
    }
    json_object_set_new(o, "key", m->key ? ol_esc_json_strn(m->key, m->key_len) : json_null());

    rd_kafka_headers_t *hdrs = NULL;
    if (rd_kafka_message_headers(m, &hdrs) == 0 && hdrs) {
        json_t *h = json_object();
        const char *name;
        const void *val;
        size_t sz;
        for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &sz) == 0; i++) {
            json_t *nk = ol_esc_json_strn(name, strlen(name)); /* a name that is not UTF-8 is kept too */
            json_object_set_new(h, nk ? json_string_value(nk) : "?", val ? ol_esc_json_strn(val, sz) : json_null());
            json_decref(nk);
        }
        json_object_set_new(o, "headers", h);
    }
    const ol_schema *w = NULL;
    if (ol_codec_header(m->payload, m->len, &id) == OL_CODEC_OK)
        /* schema_registry.url: the id is the registry's; read as the topic's current schema */
        w = s->reg ? ol_schemas_for_topic(s, rd_kafka_topic_name(m->rkt)) : ol_schemas_by_id(s, id);
    if (w) {
        char err[512];
        ol_decoder *d = ol_decoder_new(s, w);
        int32_t wid;
        if (d && s->reg)
            ol_decoder_use_registry(d, s->reg);
        if (d && ol_decoder_decode(d, m->payload, m->len, &wid, err, sizeof err) == OL_CODEC_OK) {
            json_object_set_new(o, "schema_id", json_integer(id));
            json_t *v = ol_json_from_avro(w, ol_decoder_value(d));
            json_object_set_new(o, "value", v ? v : json_null());
        } else {
            json_object_set_new(o, "error", json_string(err));
            w = NULL;
        }
        ol_decoder_free(d);
    }
    if (!w) {
        char *b = base64(m->payload, m->len);
        json_object_set_new(o, "value_base64", json_string(b ? b : ""));
        free(b);
    }
    return o;
}

int cmd_tail(int argc, char **argv, ol_config *cfg)
{
    const char *topic = NULL;
    int from_beginning = 0, follow = 0, rc = 1;
    long count = -1, printed = 0;
    char err[512];
    ol_schemas *schemas = NULL;
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_partition_list_t *tp = NULL;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--from-beginning"))
            from_beginning = 1;
        else if (!strcmp(argv[i], "--follow") || !strcmp(argv[i], "-f"))
            follow = 1;
        else if (!strcmp(argv[i], "--count") && i + 1 < argc) {
            if (cli_parse_long("opsledger tail", "--count", argv[++i], 1, LONG_MAX, &count))
                return 2; /* "abc", 0 or -1 printed nothing, or everything, with exit 0 */
        }
        else if (!topic && argv[i][0] != '-')
            topic = argv[i];
        else {
            fprintf(stderr, "usage: opsledger tail TOPIC [--from-beginning] [--follow] [--count N]\n");
            return 2;
        }
    }
    if (!topic) {
        fprintf(stderr, "usage: opsledger tail TOPIC [--from-beginning] [--follow] [--count N]\n");
        return 2;
    }
    if (!(schemas = cli_load_schemas(cfg)) || ol_registry_attach(schemas, cfg, err, sizeof err))
        goto out;
    /* a mistyped topic is not an empty one (a broker may even create it) */
    if (cli_check_topic(schemas, topic, "opsledger tail")) {
        rc = 2;
        goto out;
    }
    if (!(rk = ol_kafka_consumer(cfg, "opsledger-tail", !follow, err, sizeof err))) {
        ol_esc_eprintf("opsledger tail: %s\n", err);
        goto out;
    }
    if (cli_broker_ready(rk, cfg, "opsledger tail", 10000))
        goto out;
    int np = ol_kafka_partitions(rk, topic, 10000, err, sizeof err);
    if (np <= 0) {
        ol_esc_eprintf("opsledger tail: %s\n", err);
        goto out;
    }
    tp = rd_kafka_topic_partition_list_new(np);
    for (int p = 0; p < np; p++)
        rd_kafka_topic_partition_list_add(tp, topic, p)->offset =
            from_beginning ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
    if (rd_kafka_assign(rk, tp)) {
        fprintf(stderr, "opsledger tail: cannot assign partitions\n");
        goto out;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    int eofs = 0;
    while (!g_stop && (count < 0 || printed < count)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            rd_kafka_message_destroy(m);
            if (++eofs >= np && !follow)
                break;
            continue;
        }
        if (m->err) {
            ol_esc_eprintf("opsledger tail: %s\n", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        json_t *o = record_json(schemas, m);
        char *line = ol_esc_json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER); /* printable ASCII */
        if (line) {
            puts(line);
            free(line);
        }
        json_decref(o);
        rd_kafka_message_destroy(m);
        printed++;
    }
    fflush(stdout);
    rc = 0;
out:
    if (tp)
        rd_kafka_topic_partition_list_destroy(tp);
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    ol_schemas_free(schemas);
    return rc;
}
