/* Audit retention through the C ABI: what a prune would take, a prune refused until its
 * count is confirmed, pruned entries read as pruned with their leaf hash kept, the root
 * and verify unchanged, the archive written to a new file (an existing one refused),
 * pruning by age, and opt-in redaction.
 *
 * Usage: audit_retention_test DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define T0 1700000000000000ull
#define DAY 86400000000ull

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  char path[1024], archive[1024];
  snprintf(path, sizeof path, "%s/retention.hs", argv[1]);
  snprintf(archive, sizeof archive, "%s/archive.jsonl", argv[1]);
  hardstore_clock *clock = NULL;
  OK(hardstore_clock_new_manual(T0, &clock));
  hardstore_options *opts = NULL;
  OK(hardstore_options_new(&opts));
  OK(hardstore_options_set_clock(opts, clock));
  OK(hardstore_options_set_redact_audit(opts, true));
  hardstore_store *s = NULL;
  OK(hardstore_store_open(S(path), opts, &s));
  hardstore_options_free(opts);

  for (int i = 0; i < 20; i++) {
    hardstore_audit_event *ev = NULL;
    OK(hardstore_audit_event_new(S("acme"), S("login"), &ev));
    OK(hardstore_audit_event_set_actor(ev, S("ana@example.com")));
    OK(hardstore_audit_event_add_detail(ev, S("n"), S("x")));
    uint64_t seq = 0;
    uint8_t leaf[32];
    OK(hardstore_audit_append(s, ev, HARDSTORE_DURABLE, &seq, leaf));
    hardstore_audit_event_free(ev);
    OK(hardstore_clock_advance(clock, DAY));
  }
  hardstore_audit_entry *e = NULL;
  OK(hardstore_audit_get(s, 0, &e));
  const uint8_t *p = NULL;
  size_t n = 0;
  OK(hardstore_audit_entry_field(e, HARDSTORE_FIELD_ACTOR, &p, &n));
  CHECK(n > 0 && memchr(p, '@', n) == NULL); /* redacted */
  uint8_t leaf_before[32], leaf_after[32];
  OK(hardstore_audit_entry_leaf_hash(e, leaf_before));
  CHECK(!hardstore_audit_entry_pruned(e));
  hardstore_audit_entry_free(e);
  uint8_t root_before[32], root_after[32];
  OK(hardstore_audit_root(s, 20, root_before));

  uint64_t from = 9, to = 9, pruned = 0;
  OK(hardstore_audit_prunable(s, HARDSTORE_PRUNE_BELOW_SEQ, 8, &from, &to));
  CHECK(from == 0 && to == 8);
  uint64_t count = 0;
  OK(hardstore_audit_export_archive(s, from, to, S(archive), &count));
  CHECK(count == 8);
  EXPECT(hardstore_audit_export_archive(s, from, to, S(archive), &count), HARDSTORE_IO);
  EXPECT(hardstore_audit_prune(s, HARDSTORE_PRUNE_BELOW_SEQ, 8, 7, &pruned),
         HARDSTORE_CONFIRMATION_REQUIRED);
  OK(hardstore_audit_prune(s, HARDSTORE_PRUNE_BELOW_SEQ, 8, 8, &pruned));
  CHECK(pruned == 8);
  uint64_t below = 0;
  OK(hardstore_audit_pruned_below(s, &below));
  CHECK(below == 8);

  OK(hardstore_audit_get(s, 0, &e));
  CHECK(hardstore_audit_entry_pruned(e));
  OK(hardstore_audit_entry_leaf_hash(e, leaf_after));
  CHECK(memcmp(leaf_before, leaf_after, 32) == 0);
  OK(hardstore_audit_entry_field(e, HARDSTORE_FIELD_ACTOR, &p, &n));
  CHECK(n == 0);
  hardstore_audit_entry_free(e);
  OK(hardstore_audit_root(s, 20, root_after));
  CHECK(memcmp(root_before, root_after, 32) == 0);
  hardstore_verify_report report;
  OK(hardstore_audit_verify(s, &report));
  CHECK(report.ok);

  /* By age: now is day 20; entries at least 15 days old are 0..=5, pruned already. */
  OK(hardstore_audit_prunable(s, HARDSTORE_PRUNE_OLDER_THAN, 15 * DAY, &from, &to));
  CHECK(from == 8 && to == 8);
  OK(hardstore_audit_prunable(s, HARDSTORE_PRUNE_OLDER_THAN, 5 * DAY, &from, &to));
  CHECK(from == 8 && to == 16);

  /* The retention setting: maintenance prunes past it, in its step. */
  uint64_t age = 9;
  OK(hardstore_settings_get_audit_retention_us(s, &age));
  CHECK(age == 0); /* for ever */
  hardstore_setting_change ch;
  EXPECT(hardstore_settings_set_audit_retention_us(s, S("ops"), 3600000000ull, &ch),
         HARDSTORE_INVALID_ARGUMENT);
  OK(hardstore_settings_set_audit_retention_us(s, S("ops"), 5 * DAY, &ch));
  OK(hardstore_settings_get_audit_retention_us(s, &age));
  CHECK(age == 5 * DAY);
  hardstore_maintenance_report *m = NULL;
  OK(hardstore_store_maintenance(s, 100, NULL, 0, &m));
  hardstore_maintenance_summary sum;
  OK(hardstore_maintenance_report_summary(m, &sum));
  CHECK(sum.audit_pruned == 8);
  hardstore_maintenance_report_free(m);
  OK(hardstore_audit_pruned_below(s, &below));
  CHECK(below == 16);

  /* Bad input. */
  EXPECT(hardstore_audit_prune(s, 7, 1, 1, &pruned), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_audit_prune(s, HARDSTORE_PRUNE_BELOW_SEQ, 1, 1, NULL), HARDSTORE_NULL_ARGUMENT);
  char never[1100];
  snprintf(never, sizeof never, "%s/never-written.jsonl", argv[1]);
  EXPECT(hardstore_audit_export_archive(s, 5, 1000, S(never), &count),
         HARDSTORE_INVALID_ARGUMENT);
  FILE *nf = fopen(never, "r");
  CHECK(nf == NULL); /* nothing created */
  if (nf) fclose(nf);
  EXPECT(hardstore_audit_export_archive(s, 0, 1, NULL, 0, &count), HARDSTORE_INVALID_ARGUMENT);
  CHECK(!hardstore_audit_entry_pruned(NULL));

  OK(hardstore_store_close(s));
  hardstore_clock_free(clock);
  if (failures) fprintf(stderr, "%d failures\n", failures);
  return failures ? 1 : 0;
}
