/* Maintenance through the C ABI: one run deletes the dead letters and resolved alerts
 * past their retention (and nothing younger), runs the due backup into a folder, and
 * reports it; the alert retention is a setting; the janitor runs on its own thread and
 * stops at close; bad arguments get their codes.
 *
 * Usage: maintenance_test DIR */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"

#define T0 1796290312123456ull
#define SEC 1000000ull
#define DAY (86400ull * SEC)

static void dead_and_resolved(hardstore_store *s, int n, const char *tag) {
  for (int i = 0; i < n; i++) {
    uint64_t id = 0;
    OK(hardstore_dlq_record(s, S("acme"), S("email"), S("x"), NULL, 0, 0, 0, true,
                            HARDSTORE_DURABLE, &id));
    char key[64];
    snprintf(key, sizeof key, "%s-%d", tag, i);
    hardstore_alert_raised r;
    OK(hardstore_alert_raise(s, S("acme"), S("app"), S(key), HARDSTORE_ALERT_INFO, NULL, 0,
                             HARDSTORE_DURABLE, &r));
    OK(hardstore_alert_resolve(s, r.id, S("bot"), NULL, 0));
  }
}

static hardstore_maintenance_summary run(hardstore_store *s, const char *folder) {
  hardstore_maintenance_report *r = NULL;
  OK(hardstore_store_maintenance(s, 0, (const uint8_t *)folder, folder ? strlen(folder) : 0,
                                 &r));
  hardstore_maintenance_summary sum = {0};
  OK(hardstore_maintenance_report_summary(r, &sum));
  const uint8_t *t = NULL, *e = NULL;
  size_t tl = 0, el = 0;
  EXPECT(hardstore_maintenance_report_error(r, sum.errors, &t, &tl, &e, &el),
         HARDSTORE_INVALID_ARGUMENT);
  hardstore_maintenance_report_free(r);
  return sum;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  char path[1024], folder[1024];
  snprintf(path, sizeof path, "%s/maint.hs", argv[1]);
  snprintf(folder, sizeof folder, "%s/backups", argv[1]);
  hardstore_clock *clock = NULL;
  OK(hardstore_clock_new_manual(T0, &clock));
  hardstore_options *opts = NULL;
  OK(hardstore_options_new(&opts));
  OK(hardstore_options_set_clock(opts, clock));
  OK(hardstore_options_set_dlq_purge_after_us(opts, 2 * DAY));
  OK(hardstore_options_set_alert_retention_us(opts, 7 * DAY));
  EXPECT(hardstore_options_set_janitor(opts, 0, NULL, 0), HARDSTORE_INVALID_ARGUMENT);
  hardstore_store *s = NULL;
  OK(hardstore_store_open(S(path), opts, &s));

  uint64_t keep = 0;
  OK(hardstore_settings_get_alert_retention_us(s, &keep));
  CHECK(keep == 7 * DAY);
  hardstore_janitor_status js;
  OK(hardstore_store_janitor_status(s, &js));
  CHECK(!js.present && js.runs == 0);

  dead_and_resolved(s, 4, "old");
  OK(hardstore_clock_advance(clock, 3 * DAY));
  dead_and_resolved(s, 1, "young");
  hardstore_maintenance_summary m = run(s, folder);
  CHECK(m.dead_letters_purged == 4 && m.alerts_purged == 0 && m.errors == 0);
  CHECK(m.backup_run && m.backup_id > 0 && !m.more_due);
  OK(hardstore_clock_advance(clock, 5 * DAY));
  m = run(s, NULL);
  CHECK(m.alerts_purged == 4 && m.dead_letters_purged == 1 && !m.backup_run);
  uint64_t unresolved = 0, kept = 0;
  OK(hardstore_alert_counts(s, &unresolved, &kept));
  CHECK(kept == 1);

  hardstore_setting_change ch;
  OK(hardstore_settings_set_alert_retention_us(s, S("ops"), 1, &ch));
  OK(hardstore_settings_get_alert_retention_us(s, &keep));
  CHECK(keep == 1);
  m = run(s, NULL);
  CHECK(m.alerts_purged == 1);

  EXPECT(hardstore_store_maintenance(NULL, 0, NULL, 0, NULL), HARDSTORE_NULL_ARGUMENT);
  hardstore_maintenance_report *r = NULL;
  EXPECT(hardstore_store_maintenance(s, 0, (const uint8_t *)"\xff", 1, &r),
         HARDSTORE_INVALID_UTF8);
  hardstore_maintenance_report_free(NULL);
  OK(hardstore_store_close(s));

  /* The janitor: runs on its own and stops at close. */
  OK(hardstore_options_set_janitor(opts, 5000, NULL, 0));
  OK(hardstore_store_open(S(path), opts, &s));
  hardstore_options_free(opts);
  dead_and_resolved(s, 2, "j");
  OK(hardstore_clock_advance(clock, 30 * DAY));
  for (int i = 0; i < 4000; i++) {
    OK(hardstore_store_janitor_status(s, &js));
    hardstore_dlq_state_counts c;
    OK(hardstore_dlq_counts(s, &c));
    if (js.runs >= 2 && c.dead == 0) break;
    struct timespec ts = {0, 5000000};
    nanosleep(&ts, NULL);
  }
  OK(hardstore_store_janitor_status(s, &js));
  CHECK(js.present && js.runs >= 2 && !js.last_run_failed && js.last_task_errors == 0);
  hardstore_bytes *err = (hardstore_bytes *)1;
  OK(hardstore_store_janitor_last_error(s, &err));
  CHECK(err == NULL);
  hardstore_dlq_state_counts c;
  OK(hardstore_dlq_counts(s, &c));
  CHECK(c.dead == 0);
  OK(hardstore_store_close(s));
  hardstore_clock_free(clock);
  if (failures) fprintf(stderr, "%d failures\n", failures);
  return failures ? 1 : 0;
}
