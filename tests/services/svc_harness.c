/* svc_harness — see svc_harness.h */
#include "fixture.h"
#include "ol_state.h"
#include "svc_harness.h"

static void print_hex_row(FILE *m, const MDB_val *k, const MDB_val *v)
{
    for (size_t j = 0; j < k->mv_size; j++)
        fprintf(m, "%02x", ((const uint8_t *)k->mv_data)[j]);
    fputc('=', m);
    for (size_t j = 0; j < v->mv_size; j++)
        fprintf(m, "%02x", ((const uint8_t *)v->mv_data)[j]);
    fputc('\n', m);
}

static int print_entity_row(const MDB_val *k, const MDB_val *v, void *arg)
{
    print_hex_row(arg, k, v);
    return 0;
}

char *svc_dump_dbs(struct fx *f, const char *const *dbs, int with_runtime)
{
    ol_store *st = ol_runtime_store(f->rt);
    MDB_txn *txn;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    assert_non_null(m);
    assert_int_equal(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn), 0);
    for (int i = 0; dbs[i]; i++) {
        MDB_cursor *c;
        MDB_val k, v;
        if (!with_runtime && (!strcmp(dbs[i], "entity") || !strcmp(dbs[i], "derived")))
            continue;
        fprintf(m, "#%s\n", dbs[i]);
        if (!strcmp(dbs[i], "entity")) { /* the version log's latest versions (ol_state.h) */
            assert_int_equal(ol_state_foreach_latest(txn, ol_store_dbi(st, "versions"), print_entity_row, m), 0);
            continue;
        }
        assert_int_equal(mdb_cursor_open(txn, ol_store_dbi(st, dbs[i]), &c), 0);
        for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
            print_hex_row(m, &k, &v);
        mdb_cursor_close(c);
    }
    mdb_txn_abort(txn);
    fclose(m);
    return buf;
}

void svc_permute(size_t *idx, size_t n, unsigned k)
{
    uint64_t s = 0x9e3779b97f4a7c15ull * (k + 1);
    for (size_t i = 0; i < n; i++)
        idx[i] = k == 1 ? n - 1 - i : i;
    for (size_t i = n; k > 1 && i > 1; i--) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        size_t j = (size_t)(s >> 33) % i, t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

void svc_order_independence(const ol_service *svc, const char *const (*lines)[2], size_t n,
                            const char *const *dbs, void (*check)(struct fx *f))
{
    size_t *idx = calloc(n ? n : 1, sizeof *idx);
    char *ref = NULL, *ref_proj = NULL;
    assert_non_null(idx);
    for (unsigned k = 0; k < 6; k++) {
        struct fx *f = fx_new_for(svc);
        svc_permute(idx, n, k);
        for (size_t i = 0; i < n; i++)
            add(f, lines[idx[i]][0], lines[idx[i]][1]);
        fold(f);
        char *d = svc_dump_dbs(f, dbs, 1);
        if (!ref) {
            ref = d;
            ref_proj = svc_dump_dbs(f, dbs, 0);
            if (check)
                check(f);
        } else {
            assert_string_equal(d, ref);
            free(d);
        }
        fx_free(f);
    }
    for (unsigned k = 0; k < 4; k++) {
        struct fx *f = fx_new_for(svc);
        svc_permute(idx, n, k + 2);
        for (size_t i = 0; i < n; i++) {
            add(f, lines[idx[i]][0], lines[idx[i]][1]);
            fold(f);
        }
        char *d = svc_dump_dbs(f, dbs, 0);
        assert_string_equal(d, ref_proj);
        free(d);
        fx_free(f);
    }
    free(ref);
    free(ref_proj);
    free(idx);
}
