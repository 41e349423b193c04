/* opsledger — the one tool: subcommands in their own files, dispatching to
 * the services' own executables for what needs a service's fold (query,
 * report, replay, status), so this binary links no service code. */
#include "cli.h"
#include "ol_escape.h"
#include "ol_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fputs("usage: opsledger [common options] <command> [args]\n"
          "\n"
          "commands:\n"
          "  broker [--partitions N] [--broker-count N] [--bootstrap-file F]   run the embedded Kafka broker\n"
          "                            (in memory; N brokers share the leaders); F is written once it is ready\n"
          "  broker --wait F [--timeout S]   wait until the broker of F answers, print its address\n"
          "  topics create [--partitions N] [--replication-factor R]   create the topics on a real cluster\n"
          "  produce TOPIC [--file F] [--timestamp-field F]  JSON lines -> validated Avro -> Kafka\n"
          "                            (--timestamp-field occurred_at: Kafka timestamp from the data)\n"
          "  tail TOPIC [--from-beginning] [--follow] [--count N]   records as JSON lines\n"
          "  generate [--people N] [--engagements N] [--weeks N] [--seed S] --out DIR   demo data\n"
          "  week WEEK|DATE [OFFSET]   ISO week arithmetic (2026-W47 -7 -> 2026-W40)\n"
          "  verify [--archive DIR]    recompute the audit archive's hash chain\n"
          "  schemas register [--derived] [--topic T] | check [--topic T] | list\n"
          "                            opsledger's subjects in the Schema Registry (schema_registry.url)\n"
          "  archive export --from T1 --to T2 --out FILE.avro   archived records as an Avro container file\n"
          "  replay SERVICE --as-of T --out DIR [--emit FILE]   rebuild a projection as of an instant\n"
          "  query SERVICE --week W [--format table|csv|json] [--data-dir D]   read a service's projection\n"
          "                            SERVICE: utilisation, billing, forecast, assurance, people, margin\n"
          "                            (assurance: table|json;\n"
          "                            query assurance cover --from DAY [--to DAY])\n"
          "  report utilisation [--from W] --to W [--team T]   weekly utilisation of every team, against the 85 % target\n"
          "  report billing --week W   what will be invoiced, per client, post-close adjustments\n"
          "  report contractors --from W --to W   contractor invoices against approved time\n"
          "  report forecast [--team T]   the next 12 weeks' forecast utilisation\n"
          "  report budgets            engagement budgets and when they run out\n"
          "  report demand [--role R]  demand for roles against supply\n"
          "  report assurance --week W  delivery status (RAG) of every engagement\n"
          "  report headcount [--from W] [--to W] [--format text|csv|json]   headcount, joiners, leavers,\n"
          "                            attrition, tenure; delivery-manager supply against demand\n"
          "  report margin --week W [--format text|csv|json]   margin per engagement and currency, lowest\n"
          "                            first; contractor invoices matched three ways\n"
          "  report weekly --week W [--format text|md|html] [--out FILE]   the executive weekly report\n"
          "  report forecast-accuracy --from W --to W [--team T]   past forecasts (replayed) vs actuals\n"
          "  status SERVICE [--lag]    counters, offsets, resets of a service (runs opsledger-SERVICE status);\n"
          "                            --lag: lag per the broker, never clamped: an offset out of range is\n"
          "                            shown as a fault and exits 1\n"
          "  status SERVICE --url http://HOST:PORT   the same figures from a running service's /metrics,\n"
          "                            /healthz and /readyz (metrics.listen), e.g. on another host\n"
          "  offsets show SERVICE      stored offsets against the broker's low/high watermarks, reset history\n"
          "  offsets reset SERVICE --to-beginning|--to-end [--topic T [--partition P]] [--dry-run]\n"
          "  offsets reset SERVICE --topic T --partition P --offset O [--dry-run]\n"
          "                            set the stored offsets (one LMDB transaction, recorded in the meta db\n"
          "                            as offsets_reset/N, shown by status); refused while the service runs.\n"
          "                            A service stops, folding nothing, when a stored offset is beyond a\n"
          "                            partition's end or before its start: this resolves it.\n"
          "                            Both take --data-dir D (D/SERVICE) or --db DIR, as status does\n"
          "  run SERVICE [args]        run a service (opsledger-SERVICE run); `run web` folds the read model\n"
          "  web serve [--listen HOST:PORT] [--tls-cert F --tls-key F]   the read API and pages (opsledger-web)\n"
          "  web token add NAME --role exec|ops|finance   issue an access token (printed once, stored hashed)\n"
          "\n"
          "common options:\n"
          "  -c FILE        config file (key = value); also $OPSLEDGER_CONFIG\n"
          "  -X prop=val    librdkafka property, passed through\n"
          "  -o key=val     opsledger setting\n"
          "  --brokers B    bootstrap servers; also $OPSLEDGER_BROKERS\n"
          "  --schemas DIR  schema directory; also $OPSLEDGER_SCHEMAS\n"
          "\n"
          "exit status: 0 done, 1 an error (the message says what), 2 a wrong argument,\n"
          "             3 nothing to show for that week, or an incomplete report (a projection missing)\n",
          f);
}

int main(int argc, char **argv)
{
    ol_config cfg;
    char err[512];
    int rc;

    ol_log_init("opsledger", OL_LOG_INFO);
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))) {
        usage(stdout);
        return 0;
    }
    /* the weekly report composes every service's published events */
    if (argc >= 3 && !strcmp(argv[1], "report") && !strcmp(argv[2], "weekly"))
        return cmd_weekly(argc - 2, argv + 2);
    /* a composition of two services' verbs (replay, query), not one service's report */
    if (argc >= 3 && !strcmp(argv[1], "report") && !strcmp(argv[2], "forecast-accuracy"))
        return cmd_accuracy(argc - 2, argv + 2);
    /* status of a service that runs elsewhere: its /metrics, not its store */
    if (argc >= 3 && !strcmp(argv[1], "status"))
        for (int i = 2; i < argc; i++)
            if (!strcmp(argv[i], "--url"))
                return cmd_status_url(argc - 2, argv + 2);
    /* a verb without its service: say which ones exist instead of "unknown command" */
    if (argc == 2 && (!strcmp(argv[1], "query") || !strcmp(argv[1], "report") || !strcmp(argv[1], "status") ||
                      !strcmp(argv[1], "run") || !strcmp(argv[1], "replay"))) {
        fprintf(stderr, "opsledger %s: which one? %s\n", argv[1],
                !strcmp(argv[1], "report")
                    ? "weekly, utilisation, billing, contractors, forecast, budgets, demand, assurance, "
                      "headcount, margin, forecast-accuracy"
                    : "utilisation, billing, forecast, assurance, people, margin, archive, web");
        fprintf(stderr, "  (opsledger --help lists every command and its arguments)\n");
        return 2;
    }
    /* the web read side: `opsledger web token add NAME --role R`, `opsledger web serve ...`
     * run opsledger-web's own verbs */
    if (argc >= 3 && !strcmp(argv[1], "web")) {
        char *verb = argv[2];
        argv[2] = argv[1];
        return cmd_service(verb, argc - 2, argv + 2);
    }
    /* service verbs pass every argument through untouched */
    if (argc >= 3 && (!strcmp(argv[1], "query") || !strcmp(argv[1], "report") || !strcmp(argv[1], "status") ||
                      !strcmp(argv[1], "run") || !strcmp(argv[1], "replay")))
        return cmd_service(argv[1], argc - 2, argv + 2);

    ol_config_init(&cfg);
    argc = ol_config_from_args(&cfg, argc, argv, err, sizeof err);
    if (argc < 0) {
        ol_esc_eprintf("opsledger: %s\n", err);
        ol_config_free(&cfg);
        return 2;
    }
    if (argc < 2) {
        usage(stderr);
        ol_config_free(&cfg);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "broker"))
        rc = cmd_broker(argc - 1, argv + 1, &cfg);
    else if (!strcmp(cmd, "produce"))
        rc = cmd_produce(argc - 1, argv + 1, &cfg);
    else if (!strcmp(cmd, "tail"))
        rc = cmd_tail(argc - 1, argv + 1, &cfg);
    else if (!strcmp(cmd, "topics"))
        rc = cmd_topics(argc - 1, argv + 1, &cfg);
    else if (!strcmp(cmd, "verify"))
        rc = cmd_verify(argc - 1, argv + 1, &cfg);
    else if (!strcmp(cmd, "archive"))
        rc = cmd_archive(argc - 1, argv + 1, &cfg);
    else if (!strcmp(cmd, "week"))
        rc = cmd_week(argc - 1, argv + 1, &cfg);
    else if (!strcmp(cmd, "offsets"))
        rc = cmd_offsets(argc - 1, argv + 1, &cfg);
    else if (!strcmp(cmd, "generate"))
        rc = cmd_generate(argc - 1, argv + 1, &cfg);
    else if (!strcmp(cmd, "schemas"))
        rc = cmd_schemas(argc - 1, argv + 1, &cfg);
    else {
        rc = ol_usage_arg("opsledger", "unknown command '", cmd, "'\n");
        usage(stderr);
    }
    ol_config_free(&cfg);
    return rc;
}
