/* opsledger-utilisation — run, query, report, status, dump (see service.c). */
#include "ol_svcmain.h"

extern const ol_service utilisation_service;
extern const ol_verb utilisation_verbs[];

int main(int argc, char **argv) { return ol_service_main_args_first(&utilisation_service, utilisation_verbs, argc, argv); }
