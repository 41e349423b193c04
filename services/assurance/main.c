/* opsledger-assurance — run, query, report, status, dump (see service.c). */
#include "ol_svcmain.h"

extern const ol_service assurance_service;
extern const ol_verb assurance_verbs[];

int main(int argc, char **argv) { return ol_service_main_args_first(&assurance_service, assurance_verbs, argc, argv); }
