/* ol_svcmain — the main() every service executable shares:
 *   opsledger-<svc> run [--stop-at-end] [--db DIR] [common options]
 *   opsledger-<svc> status [--db DIR]     counters, offsets, outbox depth, lag
 *   opsledger-<svc> dump [--db DIR]       canonical dump of the projection
 *   opsledger-<svc> events --topic T      the last published event of each key, JSON lines
 *   opsledger-<svc> query|report ...      the service's own read commands
 * A service's main.c is then a declaration: its ol_service and its verbs. */
#ifndef OL_SVCMAIN_H
#define OL_SVCMAIN_H

#include "ol_config.h"
#include "ol_runtime.h"
#include "ol_store.h"

/* A read verb gets the store opened read-only (queries run beside the live
 * service), the arguments after the verb, and the config. Under
 * ol_service_main_args_first it is first called with st NULL, before the
 * store is opened: it then only parses and checks its arguments, touching
 * no file, and returns 0 when they are fine, or 2 after printing the usage
 * error (the flag it names); so a missing --week is told before a missing
 * projection. */
typedef int (*ol_read_verb_fn)(ol_store *st, int argc, char **argv, const ol_config *cfg);

typedef struct ol_verb {
    const char *name;
    ol_read_verb_fn fn;
    const char *usage;
} ol_verb;

int ol_service_main(const ol_service *svc, const ol_verb *verbs, int argc, char **argv);
/* the same, with every read verb's arguments checked before its store is
 * opened (see ol_read_verb_fn); every service but web, whose serve verb does
 * not take a NULL store yet */
int ol_service_main_args_first(const ol_service *svc, const ol_verb *verbs, int argc, char **argv);

/* 1 when topic is one of list (NULL-terminated); else prints
 * "usage: opsledger-SVC USAGE; T is one of: ..." and returns 0. Shared by
 * the verbs that take --topic T (events: outputs, entities: inputs). */
int ol_svc_topic_known(const ol_service *svc, const char *usage, const char *const *list, const char *topic);

/* the `events` verb (ol_events.c): the last published event of every key
 * of one derived topic as JSON lines; argv[0] is "events". With st NULL it
 * only checks the arguments (as a read verb does, ol_read_verb_fn); so does
 * `entities` */
int ol_service_events(const ol_service *svc, ol_store *st, const ol_config *cfg, int argc, char **argv);

/* the `entities` verb (ol_entities.c): the latest stored version of every
 * entity of one input topic as JSON lines; argv[0] is "entities" */
int ol_service_entities(const ol_service *svc, ol_store *st, const ol_config *cfg, int argc, char **argv);

/* the `replay` verb (ol_replay.c); argv[0] is "replay" */
int ol_service_replay(const ol_service *svc, ol_config *cfg, int argc, char **argv);

/* db directory of a service: --db DIR, else <data_dir>/<service> */
void ol_service_db_path(const ol_config *cfg, const char *service, const char *db_flag, char *out, size_t outlen);

/* Opens a service's environment read-only with the runtime's databases and
 * the service's own. 0 or -1 (message printed). */
int ol_service_open_ro(const ol_service *svc, const char *path, ol_store *st);

#endif
