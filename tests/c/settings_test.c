/* The store's own settings through the C ABI: seeded by the options of the open that
 * creates the store, kept when it is reopened with other options, changed only by the
 * hardstore_settings_set_* calls (each audited); a smaller ring answers
 * HARDSTORE_CONFIRMATION_REQUIRED until its evictions are confirmed.
 *
 * Usage: settings_test DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static uint64_t ring_len(hardstore_store *s) {
  uint64_t oldest = 0, next = 0;
  OK(hardstore_logs_range(s, &oldest, &next));
  return next - oldest;
}

static hardstore_store *open_with(const char *path, uint64_t capacity, size_t max_points) {
  hardstore_options *opts = NULL;
  OK(hardstore_options_new(&opts));
  OK(hardstore_options_set_log_capacity(opts, capacity));
  OK(hardstore_options_set_max_restore_points(opts, max_points));
  hardstore_store *s = NULL;
  OK(hardstore_store_open(S(path), opts, &s));
  hardstore_options_free(opts);
  return s;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  char path[1024];
  snprintf(path, sizeof path, "%s/settings.hs", argv[1]);
  hardstore_store *s = open_with(path, 40, 3);
  hardstore_settings st;
  OK(hardstore_settings_get(s, &st));
  CHECK(st.log_capacity == 40 && st.max_restore_points == 3);
  for (int i = 0; i < 30; i++) {
    hardstore_log_record *r = NULL;
    OK(hardstore_log_record_new(HARDSTORE_LEVEL_INFO, S("line"), &r));
    uint64_t seq = 0;
    OK(hardstore_logs_append(s, r, HARDSTORE_BUFFERED, &seq));
    hardstore_log_record_free(r);
  }
  OK(hardstore_store_flush(s));
  OK(hardstore_store_close(s));

  /* Reopened with other options: nothing evicted, the stored settings kept. */
  s = open_with(path, 5, 1);
  hardstore_settings again;
  OK(hardstore_settings_get(s, &again));
  CHECK(again.log_capacity == 40 && again.max_restore_points == 3);
  CHECK(ring_len(s) == 30);

  /* Shrinking asks first, and changes nothing until confirmed. */
  hardstore_setting_change c = {0};
  EXPECT(hardstore_settings_set_log_capacity(s, S("ops"), 10, 19, &c),
         HARDSTORE_CONFIRMATION_REQUIRED);
  CHECK(ring_len(s) == 30);
  OK(hardstore_settings_set_log_capacity(s, S("ops"), 10, 20, &c));
  CHECK(c.deleted == 20 && ring_len(s) == 10);
  hardstore_audit_entry *e = NULL;
  OK(hardstore_audit_get(s, c.audit_seq, &e));
  hardstore_audit_entry_free(e);

  OK(hardstore_settings_set_idempotency_ttl_us(s, S("ops"), 5000000, &c));
  OK(hardstore_settings_set_dead_letter_purge_after_us(s, S("ops"), 7000000, &c));
  OK(hardstore_settings_set_max_restore_points(s, S("ops"), 9, &c));
  EXPECT(hardstore_settings_set_max_restore_points(s, S("ops"), 0, &c),
         HARDSTORE_INVALID_ARGUMENT);
  hardstore_retry_policy p;
  OK(hardstore_retry_policy_default(&p));
  p.max_attempts = 9;
  OK(hardstore_settings_set_dead_letter_policy(s, S("ops"), &p, &c));
  p.cap_us = 0;
  EXPECT(hardstore_settings_set_dead_letter_policy(s, S("ops"), &p, &c),
         HARDSTORE_INVALID_ARGUMENT);
  hardstore_retention r = {.max_age_secs = 0, .keep_fulls = 4};
  OK(hardstore_settings_set_backup_retention(s, S("ops"), &r, &c));
  hardstore_schedule sch = {.full_every_secs = 7200,
                            .incremental_every_secs = 3600,
                            .differential_every_secs = 600,
                            .prune = false};
  OK(hardstore_settings_set_backup_schedule(s, S("ops"), &sch, &c));
  EXPECT(hardstore_settings_set_backup_schedule(NULL, S("ops"), &sch, &c),
         HARDSTORE_NULL_ARGUMENT);
  OK(hardstore_store_close(s));

  s = open_with(path, 100000, 32);
  OK(hardstore_settings_get(s, &st));
  CHECK(st.log_capacity == 10);
  CHECK(st.idempotency_ttl_us == 5000000);
  CHECK(st.dead_letter_purge_after_us == 7000000);
  CHECK(st.max_restore_points == 9);
  CHECK(st.dead_letter_policy.max_attempts == 9);
  CHECK(st.backup_retention.keep_fulls == 4 && st.backup_retention.max_age_secs == 0);
  CHECK(st.backup_schedule.full_every_secs == 7200 && !st.backup_schedule.prune);
  OK(hardstore_store_close(s));
  if (failures) {
    fprintf(stderr, "settings_test: %d failures\n", failures);
    return 1;
  }
  printf("settings_test: ok\n");
  return 0;
}
