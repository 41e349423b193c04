/* opsledger-web — run (fold the read model), serve (the API and pages),
 * token (issue access tokens), plus every service's verbs (see service.c). */
#include "ol_config.h"
#include "ol_escape.h"
#include "ol_svcmain.h"
#include "web.h"

#include <stdio.h>
#include <string.h>

extern const ol_service web_service;
extern const ol_verb web_verbs[];
int web_tokens_path(const ol_config *cfg, const char *flag, char *out, size_t outlen);

int main(int argc, char **argv)
{
    /* `token` needs no LMDB environment (tokens are issued before the first
     * run), so it is handled before the shared main opens one */
    if (argc >= 2 && !strcmp(argv[1], "token")) {
        ol_config cfg;
        char err[512], path[4096];
        const char *flag = NULL;
        int n = 0, rc;
        ol_config_init(&cfg);
        argc = ol_config_from_args(&cfg, argc, argv, err, sizeof err);
        if (argc < 0) {
            ol_esc_eprintf("opsledger-web: %s\n", err);
            ol_config_free(&cfg);
            return 2;
        }
        for (int i = 2; i < argc; i++) {
            if (!strcmp(argv[i], "--tokens") && i + 1 < argc)
                flag = argv[++i];
            else
                argv[2 + n++] = argv[i];
        }
        if (web_tokens_path(&cfg, flag, path, sizeof path)) {
            ol_config_free(&cfg);
            return 1;
        }
        rc = web_token_main(path, n, argv + 2);
        ol_config_free(&cfg);
        return rc;
    }
    return ol_service_main(&web_service, web_verbs, argc, argv);
}
