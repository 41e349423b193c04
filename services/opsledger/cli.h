/* cli — what the subcommands of the `opsledger` tool share. */
#ifndef OL_CLI_H
#define OL_CLI_H

#include "ol_config.h"
#include "ol_schema.h"

#include <librdkafka/rdkafka.h>

int cmd_broker(int argc, char **argv, ol_config *cfg);
int cmd_produce(int argc, char **argv, ol_config *cfg);
int cmd_tail(int argc, char **argv, ol_config *cfg);
int cmd_topics(int argc, char **argv, ol_config *cfg);
int cmd_generate(int argc, char **argv, ol_config *cfg);
int cmd_week(int argc, char **argv, ol_config *cfg);
int cmd_verify(int argc, char **argv, ol_config *cfg);
int cmd_archive(int argc, char **argv, ol_config *cfg);
/* adds key = value to the file metadata of an Avro container file avro-c
 * wrote (archive_meta.c); 0, or -1 with err (the file is left as it was) */
int archive_meta_add(const char *path, const char *key, const char *value, char *err, size_t errlen);
/* schemas register|check|list against schema_registry.url (cmd_schemas.c) */
int cmd_schemas(int argc, char **argv, ol_config *cfg);
/* offsets show|reset SERVICE ... (cmd_offsets.c) */
int cmd_offsets(int argc, char **argv, ol_config *cfg);
/* report weekly (cmd_weekly.c); argv[0] is "weekly" */
int cmd_weekly(int argc, char **argv);
/* `report forecast-accuracy ...` (cmd_accuracy.c); argv[0] is "forecast-accuracy" */
int cmd_accuracy(int argc, char **argv);
/* Runs opsledger-<service> (beside this binary, else on PATH) with args
 * (NULL-terminated; args[0] is overwritten with the program name) and waits.
 * Its stdout is returned in *out (NUL-terminated, owned by the caller, also
 * on a non-zero exit); its stderr goes to err_file, or is inherited when
 * err_file is NULL. Returns the exit status, -1 when it could not run. */
int cli_run_service(const char *service, char **args, const char *err_file, char **out);
/* runs opsledger-<service> <verb> args... (query, report, replay, status, run) */
int cmd_service(const char *verb, int argc, char **argv);
/* status SERVICE --url http://HOST:PORT: the figures from the service's
 * /metrics, /healthz and /readyz (cmd_status_url.c) */
int cmd_status_url(int argc, char **argv);

/* loads the schemas named by the config (schemas_dir) or the default dir;
 * prints the error and returns NULL on failure */
ol_schemas *cli_load_schemas(const ol_config *cfg);
/* every topic of the SPEC: the subjects of the manifest plus ops.deadletter;
 * returns a NULL-terminated array of pointers into s (free the array only) */
const char **cli_all_topics(const ol_schemas *s, size_t *n);
int cli_is_derived(const char *topic);
/* 0 when topic is one of the contract's; else prints "no topic", the nearest
 * name and the list to stderr (prefixed with prog) and returns -1 */
int cli_check_topic(const ol_schemas *s, const char *topic, const char *prog);
/* 0 when a broker answers a metadata request within timeout_ms; else prints
 * which address was tried and how to set OPSLEDGER_BROKERS, returns -1 */
int cli_broker_ready(rd_kafka_t *rk, const ol_config *cfg, const char *prog, int timeout_ms);

/* option opt's value s as a whole number in [lo, hi] into *out: 0, or -1
 * after "PROG: OPT must be an integer in LO..HI, got 'S'" on stderr */
int cli_parse_long(const char *prog, const char *opt, const char *s, long lo, long hi, long *out);

#endif
