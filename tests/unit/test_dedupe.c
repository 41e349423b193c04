/* test_dedupe — SPEC section 2: "an event_id seen before is skipped", in the
 * cases where nothing else would catch it. A re-delivery of the very same
 * record at the entity's current revision is also caught by the equal-revision
 * content check, so tests that only re-deliver identical records pass even
 * with the seen set switched off (issue 21, mutant dedupe-seen-overwrite).
 * Here the event_id alone must decide:
 *   - an id reused with other content (a newer revision, another name);
 *   - an id reused for another entity;
 *   - an old record re-delivered after a newer revision of its entity: it is
 *     a duplicate (counted as such), not a stale revision;
 *   - all of the above across batches and across a restart (the seen set is
 *     persistent, not a per-batch memory).
 * The service is a toy declared here whose projection is person_id -> the
 * name and revision it was given; records are hr.person JSON lines folded
 * through the real runtime (tests/services/fixture.h). */
#include "../services/fixture.h"
#include "ol_store.h"

/* ------------------------------------------------------------ the toy */
static int toy_apply(ol_fold_ctx *ctx, const ol_event *ev, avro_value_t *old)
{
    avro_value_t f;
    const char *name = NULL;
    size_t nl = 0;
    uint8_t buf[300];
    (void)old;
    if (avro_value_get_by_name(ev->value, "name", &f, NULL) || avro_value_get_string(&f, &name, &nl) ||
        nl > sizeof buf - 8)
        return -1;
    ol_put_be64(buf, (uint64_t)ev->revision);
    memcpy(buf + 8, name, nl); /* nl counts the NUL */
    MDB_val k = {strlen(ev->entity_id), (void *)ev->entity_id}, v = {8 + nl, buf};
    return mdb_put(ol_fold_txn(ctx), ol_fold_dbi(ctx, "toy"), &k, &v, 0) ? -1 : 0;
}

static const char *const TOY_INPUTS[] = {"hr.person", NULL};
static const char *const TOY_DBS[] = {"toy", NULL};
static const ol_service toy_service = {
    .name = "toy", .inputs = TOY_INPUTS, .dbs = TOY_DBS, .apply = toy_apply, .map_size = 64LL << 20,
};

#define PERSON(eid, id, name, rev)                                                                                 \
    "{\"event_id\":\"" eid "\",\"occurred_at\":\"2026-11-16T09:00:00Z\",\"source\":\"hr\",\"revision\":" #rev      \
    ",\"person_id\":\"" id "\",\"name\":\"" name "\",\"team\":\"data\",\"role\":\"CONSULTANT\",\"billable\":true,"  \
    "\"employment\":\"EMPLOYEE\",\"supplier\":null,\"weekly_capacity_minutes\":2250,\"working_days\":31,"           \
    "\"day_cost_minor\":40000,\"currency\":\"GBP\",\"joined_on\":\"2024-01-01\",\"left_on\":null}"

/* the toy projection of a person: 1 found (name, revision), 0 none */
static int toy_row(struct fx *f, const char *person, char *name, size_t nlen, int64_t *rev)
{
    ol_store *st = ol_runtime_store(f->rt);
    MDB_txn *txn;
    MDB_val k = {strlen(person), (void *)person}, v;
    assert_int_equal(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn), 0);
    int rc = mdb_get(txn, ol_store_dbi(st, "toy"), &k, &v);
    if (rc == 0) {
        *rev = (int64_t)ol_be64(v.mv_data);
        snprintf(name, nlen, "%.*s", (int)(v.mv_size - 8), (const char *)v.mv_data + 8);
    }
    mdb_txn_abort(txn);
    assert_true(rc == 0 || rc == MDB_NOTFOUND);
    return rc == 0;
}

/* a counter as `opsledger status` prints it */
static int64_t counter(struct fx *f, const char *name)
{
    ol_store *st = ol_runtime_store(f->rt);
    MDB_txn *txn;
    int64_t v = -1;
    assert_int_equal(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(ol_meta_get_i64(txn, ol_store_dbi(st, "meta"), name, &v), 0);
    mdb_txn_abort(txn);
    return v;
}

static void expect_person(struct fx *f, const char *person, const char *name, int64_t revision)
{
    char got[64];
    int64_t rev = -1;
    if (!toy_row(f, person, got, sizeof got, &rev))
        fail_msg("%s: not in the projection", person);
    assert_string_equal(got, name);
    assert_int_equal(rev, revision);
}

static void restart(struct fx *f)
{
    char err[512];
    ol_runtime_free(f->rt);
    ol_runtime_opts o = {.db_path = f->dir, .publish = 0, .batch_max = 100};
    f->rt = ol_runtime_new(&toy_service, &f->cfg, f->schemas, &o, err, sizeof err);
    if (!f->rt)
        fail_msg("runtime: %s", err);
}

/* the source reuses e-1 for revision 2 with another name: skipped, counted */
static void test_reused_id_newer_revision_skipped(void **state)
{
    (void)state;
    struct fx *f = fx_new_for(&toy_service);
    add(f, "hr.person", PERSON("e-1", "p-1", "Ada", 1));
    fold(f);
    add(f, "hr.person", PERSON("e-1", "p-1", "Bea", 2));
    fold(f);
    expect_person(f, "p-1", "Ada", 1);
    assert_int_equal(counter(f, "duplicates"), 1);
    assert_int_equal(counter(f, "folded"), 1);
    assert_int_equal(counter(f, "records"), 2);

    /* in one batch, too */
    add(f, "hr.person", PERSON("e-2", "p-2", "Cy", 1));
    add(f, "hr.person", PERSON("e-2", "p-2", "Dee", 2));
    fold(f);
    expect_person(f, "p-2", "Cy", 1);
    assert_int_equal(counter(f, "duplicates"), 2);

    /* a fresh id for the same change is folded */
    add(f, "hr.person", PERSON("e-3", "p-1", "Bea", 2));
    fold(f);
    expect_person(f, "p-1", "Bea", 2);
    assert_int_equal(counter(f, "folded"), 3);
    fx_free(f);
}

/* an id seen for p-1 arrives again for p-2: p-2 never enters the projection */
static void test_reused_id_other_entity_skipped(void **state)
{
    (void)state;
    struct fx *f = fx_new_for(&toy_service);
    char name[64];
    int64_t rev;
    add(f, "hr.person", PERSON("e-1", "p-1", "Ada", 1));
    add(f, "hr.person", PERSON("e-1", "p-2", "Eve", 1));
    fold(f);
    expect_person(f, "p-1", "Ada", 1);
    assert_int_equal(toy_row(f, "p-2", name, sizeof name, &rev), 0);
    assert_int_equal(counter(f, "duplicates"), 1);
    assert_int_equal(counter(f, "folded"), 1);
    fx_free(f);
}

/* revision 1 re-delivered after revision 2 won: a duplicate (it was seen),
 * not a stale revision; the projection stays at revision 2 */
static void test_redelivery_after_newer_revision_is_duplicate(void **state)
{
    (void)state;
    struct fx *f = fx_new_for(&toy_service);
    add(f, "hr.person", PERSON("e-1", "p-1", "Ada", 1));
    fold(f);
    add(f, "hr.person", PERSON("e-2", "p-1", "Ada Lovelace", 2));
    fold(f);
    add(f, "hr.person", PERSON("e-1", "p-1", "Ada", 1)); /* the broker re-delivers */
    fold(f);
    expect_person(f, "p-1", "Ada Lovelace", 2);
    assert_int_equal(counter(f, "duplicates"), 1);
    assert_int_equal(counter(f, "stale"), 0);
    assert_int_equal(counter(f, "folded"), 2);

    /* an older revision never seen before is stale, not a duplicate */
    add(f, "hr.person", PERSON("e-0", "p-1", "A.", 0));
    fold(f);
    assert_int_equal(counter(f, "stale"), 1);
    assert_int_equal(counter(f, "duplicates"), 1);
    fx_free(f);
}

/* the seen set survives a restart: after reopening the database, a reused id
 * with other content is still skipped */
static void test_seen_survives_restart(void **state)
{
    (void)state;
    struct fx *f = fx_new_for(&toy_service);
    add(f, "hr.person", PERSON("e-1", "p-1", "Ada", 1));
    fold(f);
    restart(f);
    add(f, "hr.person", PERSON("e-1", "p-1", "Bea", 2));
    add(f, "hr.person", PERSON("e-1", "p-3", "Fay", 1));
    fold(f);
    expect_person(f, "p-1", "Ada", 1);
    char name[64];
    int64_t rev;
    assert_int_equal(toy_row(f, "p-3", name, sizeof name, &rev), 0);
    assert_int_equal(counter(f, "duplicates"), 2);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reused_id_newer_revision_skipped),
        cmocka_unit_test(test_reused_id_other_entity_skipped),
        cmocka_unit_test(test_redelivery_after_newer_revision_is_duplicate),
        cmocka_unit_test(test_seen_survives_restart),
    };
    return cmocka_run_group_tests_name("dedupe", tests, NULL, NULL);
}
