/* opsledger-people — run, query, report, status, dump, events (see service.c). */
#include "ol_svcmain.h"

extern const ol_service people_service;
extern const ol_verb people_verbs[];

int main(int argc, char **argv) { return ol_service_main_args_first(&people_service, people_verbs, argc, argv); }
