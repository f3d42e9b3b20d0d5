/* Restore points through the C ABI: create, list, get, label, verify, restore (app state
 * rolled back, the audit log kept and grown by one entry that verifies), the cap answered
 * with HARDSTORE_LIMIT_REACHED, space, delete, and bad input answered with its code.
 *
 * Usage: restore_points_test DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static void put(hardstore_store *s, const char *key, const char *value) {
  OK(hardstore_kv_put(s, S("app"), S(key), S(value), HARDSTORE_DURABLE));
}

/* Whether app state `key` holds `value` (NULL: absent). */
static int holds(hardstore_store *s, const char *key, const char *value) {
  bool found = false;
  hardstore_bytes *v = NULL;
  OK(hardstore_kv_get(s, S("app"), S(key), &found, &v));
  int same;
  if (value == NULL) {
    same = !found && v == NULL;
  } else {
    same = found && hardstore_bytes_len(v) == strlen(value) &&
           memcmp(hardstore_bytes_data(v), value, strlen(value)) == 0;
  }
  hardstore_bytes_free(v);
  return same;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  char path[1024];
  snprintf(path, sizeof path, "%s/rp.hs", argv[1]);
  hardstore_options *opts = NULL;
  OK(hardstore_options_new(&opts));
  /* Refused at once (not only at open). */
  EXPECT(hardstore_options_set_max_restore_points(opts, 0), HARDSTORE_INVALID_ARGUMENT);
  OK(hardstore_options_set_max_restore_points(opts, 2));
  hardstore_store *s = NULL;
  OK(hardstore_store_open(S(path), opts, &s));
  hardstore_options_free(opts);

  put(s, "balance", "100");
  hardstore_restore_point_info a;
  OK(hardstore_restore_point_create(s, S("before migration"), &a));
  uint64_t size_at_point = 0;
  OK(hardstore_audit_size(s, &size_at_point));
  CHECK(a.audit_size == size_at_point);
  OK(hardstore_restore_point_verify(s, a.id));

  put(s, "balance", "0");
  put(s, "extra", "x");
  hardstore_restore_point_info b;
  OK(hardstore_restore_point_create(s, S("after"), &b));
  CHECK(b.id > a.id);
  hardstore_restore_point_info c;
  EXPECT(hardstore_restore_point_create(s, S("one too many"), &c), HARDSTORE_LIMIT_REACHED);
  EXPECT(hardstore_restore_point_create(s, S(""), &c), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_restore_point_create(s, NULL, 3, &c), HARDSTORE_NULL_ARGUMENT);
  EXPECT(hardstore_restore_point_create(s, (const uint8_t *)"\xff\xfe", 2, &c),
         HARDSTORE_INVALID_UTF8);
  EXPECT(hardstore_restore_point_create(NULL, S("x"), &c), HARDSTORE_NULL_ARGUMENT);
  EXPECT(hardstore_restore_point_create(s, S("x"), NULL), HARDSTORE_NULL_ARGUMENT);

  /* List, get, label. */
  size_t n = 0;
  EXPECT(hardstore_restore_point_list(s, NULL, 0, &n), HARDSTORE_BUFFER_TOO_SMALL);
  CHECK(n == 2);
  uint64_t ids[4] = {0, 0, 0, 0};
  OK(hardstore_restore_point_list(s, ids, 4, &n));
  CHECK(n == 2 && ids[0] == a.id && ids[1] == b.id);
  bool found = false;
  hardstore_restore_point_info got;
  OK(hardstore_restore_point_get(s, a.id, &found, &got));
  CHECK(found && got.id == a.id && memcmp(got.digest, a.digest, 32) == 0);
  OK(hardstore_restore_point_get(s, 999, &found, &got));
  CHECK(!found);
  hardstore_bytes *label = NULL;
  OK(hardstore_restore_point_label(s, a.id, &label));
  CHECK(hardstore_bytes_len(label) == strlen("before migration") &&
        memcmp(hardstore_bytes_data(label), "before migration", 16) == 0);
  hardstore_bytes_free(label);
  EXPECT(hardstore_restore_point_label(s, 999, &label), HARDSTORE_NOT_FOUND);

  /* Restore to a: app state back, b gone, the audit log grown by one verified entry. */
  uint64_t before = 0;
  OK(hardstore_audit_size(s, &before));
  uint64_t seq = 0;
  OK(hardstore_restore_point_restore(s, a.id, S("ops"), &seq));
  CHECK(seq == before);
  CHECK(holds(s, "balance", "100"));
  CHECK(holds(s, "extra", NULL));
  OK(hardstore_restore_point_list(s, ids, 4, &n));
  CHECK(n == 1 && ids[0] == a.id);
  uint64_t after = 0;
  OK(hardstore_audit_size(s, &after));
  CHECK(after == before + 1);
  hardstore_verify_report report;
  OK(hardstore_audit_verify(s, &report));
  CHECK(report.ok && report.size == after);
  EXPECT(hardstore_restore_point_restore(s, 999, S("ops"), &seq), HARDSTORE_NOT_FOUND);
  EXPECT(hardstore_restore_point_verify(s, 999), HARDSTORE_NOT_FOUND);

  char exported[1100];
  snprintf(exported, sizeof exported, "%s/exported.hs", argv[1]);
  uint64_t rows = 0;
  OK(hardstore_restore_point_export(s, a.id, S(exported), &rows));
  CHECK(rows > 0);
  EXPECT(hardstore_restore_point_export(s, a.id, S(exported), &rows), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_restore_point_export(s, 999, S("x.hs"), &rows), HARDSTORE_NOT_FOUND);
  hardstore_options *eopts = NULL;
  OK(hardstore_options_new(&eopts));
  hardstore_store *e = NULL;
  OK(hardstore_store_open(S(exported), eopts, &e));
  hardstore_options_free(eopts);
  CHECK(holds(e, "balance", "100"));
  uint64_t esize = 0;
  OK(hardstore_audit_size(e, &esize));
  CHECK(esize == a.audit_size);
  OK(hardstore_store_close(e));

  hardstore_space_report space;
  OK(hardstore_restore_point_space(s, &space));
  CHECK(space.points == 1 && space.max_points == 2 && space.allocated_bytes > 0);

  bool existed = false;
  OK(hardstore_restore_point_delete(s, a.id, &existed));
  CHECK(existed);
  OK(hardstore_restore_point_delete(s, a.id, &existed));
  CHECK(!existed);
  EXPECT(hardstore_restore_point_delete(s, a.id, NULL), HARDSTORE_NULL_ARGUMENT);

  OK(hardstore_store_close(s));
  if (failures) {
    fprintf(stderr, "%d failures\n", failures);
    return 1;
  }
  printf("restore points: ok\n");
  return 0;
}
