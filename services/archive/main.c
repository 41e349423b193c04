/* opsledger-archive — run, status (see service.c). verify, replay and export
 * are `opsledger` subcommands: they read the archive, not a fold. */
#include "ol_svcmain.h"

extern const ol_service archive_service;
extern const ol_verb archive_verbs[];

int main(int argc, char **argv) { return ol_service_main(&archive_service, archive_verbs, argc, argv); }
