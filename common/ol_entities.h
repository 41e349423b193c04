/* ol_entities — a service's latest stored input entities, read-only (the
 * state engine's version log): the `entities` verb prints them
 * (ol_svcmain.h), and ol_names gives a service's text reports the names of
 * the people and engagements they list (hr.person, delivery.engagement),
 * from the input topic's own fields. */
#ifndef OL_ENTITIES_H
#define OL_ENTITIES_H

#include "ol_config.h"
#include "ol_store.h"

#include <stddef.h>

typedef struct ol_names ol_names;

/* entity id -> one string field of its latest version (topic "hr.person",
 * field "name"). Reads the whole log once. Caller frees (ol_names_free);
 * NULL with err on an error. */
ol_names *ol_names_load(ol_store *st, const ol_config *cfg, const char *topic, const char *field, char *err,
                        size_t errlen);
/* the field, or NULL when the entity or its field is unknown (n may be NULL) */
const char *ol_names_get(const ol_names *n, const char *id);
/* "Aisha Bose (p-0001)", or the id alone when the name is unknown; into buf */
const char *ol_names_who(const ol_names *n, const char *id, char *buf, size_t len);
void ol_names_free(ol_names *n);

#endif
