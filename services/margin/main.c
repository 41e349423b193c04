/* opsledger-margin — run, report, status, dump, events (see service.c). */
#include "ol_svcmain.h"

extern const ol_service margin_service;
extern const ol_verb margin_verbs[];

int main(int argc, char **argv) { return ol_service_main_args_first(&margin_service, margin_verbs, argc, argv); }
