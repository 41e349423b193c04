/* opsledger-forecast — run, query, report, status, dump (see service.c). */
#include "ol_svcmain.h"

extern const ol_service forecast_service;
extern const ol_verb forecast_verbs[];

int main(int argc, char **argv) { return ol_service_main_args_first(&forecast_service, forecast_verbs, argc, argv); }
