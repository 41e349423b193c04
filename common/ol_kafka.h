/* ol_kafka — librdkafka handles configured from ol_config.
 *
 * bootstrap.servers comes from `brokers` (or $OPSLEDGER_BROKERS); every
 * `kafka.<prop>` key is passed to librdkafka as <prop>, so production
 * settings (security.protocol, sasl.*, ssl.*) need no code. */
#ifndef OL_KAFKA_H
#define OL_KAFKA_H

#include "ol_config.h"

#include <librdkafka/rdkafka.h>

/* Idempotent producer (acks=all) with a delivery report callback;
 * opaque is passed to rd_kafka_conf_set_opaque. Caller destroys. */
rd_kafka_t *ol_kafka_producer(const ol_config *c, void (*dr)(rd_kafka_t *, const rd_kafka_message_t *, void *),
                              void *opaque, char *err, size_t errlen);
/* A consumer that is assigned partitions explicitly (no group rebalancing;
 * offsets live in LMDB, never committed to Kafka). Caller closes+destroys. */
rd_kafka_t *ol_kafka_consumer(const ol_config *c, const char *group, int partition_eof, char *err,
                              size_t errlen);
/* Partition count of topic, or -1 with err (topic missing, broker down). */
int ol_kafka_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms, char *err, size_t errlen);

#endif
