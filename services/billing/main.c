/* opsledger-billing — run, query, report, status, dump (see service.c). */
#include "ol_svcmain.h"

extern const ol_service billing_service;
extern const ol_verb billing_verbs[];

int main(int argc, char **argv) { return ol_service_main_args_first(&billing_service, billing_verbs, argc, argv); }
