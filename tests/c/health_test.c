/* Health through the C ABI: a fresh store is healthy with every component; thresholds
 * are a setting (default, set with an audit entry, refused when they grade nothing
 * sensibly); dead letters past a threshold degrade it and, with raise_alerts, raise an
 * alert once (not again while the grade holds); the deep check; bad arguments.
 *
 * Usage: health_test DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static int name_is(const hardstore_health_component *c, const char *want) {
  return c->name_len == strlen(want) && memcmp(c->name, want, c->name_len) == 0;
}

/* The status of component `name`, or 99 when the report has none. */
static uint32_t status_of(const hardstore_health_report *r, const char *name) {
  hardstore_health_summary sum;
  OK(hardstore_health_report_summary(r, &sum));
  for (size_t i = 0; i < sum.components; i++) {
    hardstore_health_component c;
    OK(hardstore_health_report_component(r, i, &c));
    if (name_is(&c, name)) return c.status;
  }
  return 99;
}

static uint32_t grade(hardstore_store *s, bool deep, bool raise, uint64_t *raised) {
  hardstore_health_report *r = NULL;
  OK(hardstore_store_health(s, deep, raise, &r));
  hardstore_health_summary sum = {0};
  OK(hardstore_health_report_summary(r, &sum));
  if (raised) *raised = sum.alerts_raised;
  hardstore_health_report_free(r);
  return sum.grade;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  char path[1024];
  snprintf(path, sizeof path, "%s/health.hs", argv[1]);
  hardstore_health_thresholds t;
  OK(hardstore_health_thresholds_default(&t));
  CHECK(t.window_us == 300000000ull && t.dead_letters_degraded == 1 && t.file_size_limit == 0);
  t.dead_letters_degraded = 2;
  t.dead_letters_critical = 5;
  hardstore_options *opts = NULL;
  OK(hardstore_options_new(&opts));
  OK(hardstore_options_set_health_thresholds(opts, &t));
  hardstore_health_thresholds bad = t;
  bad.p95_degraded_us = bad.p95_critical_us + 1;
  EXPECT(hardstore_options_set_health_thresholds(opts, &bad), HARDSTORE_INVALID_ARGUMENT);
  hardstore_store *s = NULL;
  OK(hardstore_store_open(S(path), opts, &s));
  hardstore_options_free(opts);

  hardstore_health_report *r = NULL;
  OK(hardstore_store_health(s, false, false, &r));
  hardstore_health_summary sum;
  OK(hardstore_health_report_summary(r, &sum));
  CHECK(sum.grade == HARDSTORE_HEALTHY && sum.components == 8);
  CHECK(sum.alerts_raised == 0 && sum.alerts_resolved == 0);
  hardstore_health_component c;
  OK(hardstore_health_report_component(r, 0, &c));
  CHECK(name_is(&c, "writer") && c.status == HARDSTORE_HEALTHY && c.has_value);
  OK(hardstore_health_report_component(r, 6, &c));
  CHECK(name_is(&c, "file_size") && c.has_value && c.value > 0);
  CHECK(c.unit_len == 5 && memcmp(c.unit, "bytes", 5) == 0);
  CHECK(c.reason_len > 0);
  EXPECT(hardstore_health_report_component(r, 8, &c), HARDSTORE_INVALID_ARGUMENT);
  hardstore_health_report_free(r);

  /* Stored thresholds, as given at creation. */
  hardstore_health_thresholds got;
  OK(hardstore_settings_get_health_thresholds(s, &got));
  CHECK(got.dead_letters_degraded == 2 && got.dead_letters_critical == 5);

  /* Two dead letters: degraded; an alert is raised once. */
  for (int i = 0; i < 2; i++) {
    uint64_t id = 0;
    OK(hardstore_dlq_record(s, S("acme"), S("email"), S("x"), NULL, 0, 0, 0, true,
                            HARDSTORE_DURABLE, &id));
  }
  uint64_t raised = 0;
  CHECK(grade(s, false, false, &raised) == HARDSTORE_DEGRADED && raised == 0);
  uint64_t unresolved = 0, kept = 0;
  OK(hardstore_alert_counts(s, &unresolved, &kept));
  CHECK(unresolved == 0); /* no raise_alerts: nothing written */
  CHECK(grade(s, false, true, &raised) == HARDSTORE_DEGRADED && raised == 1);
  CHECK(grade(s, false, true, &raised) == HARDSTORE_DEGRADED && raised == 0);
  OK(hardstore_alert_counts(s, &unresolved, &kept));
  CHECK(unresolved == 1);

  /* Thresholds changed through the audited setter; bad ones refused. */
  t.dead_letters_degraded = 10;
  t.dead_letters_critical = 20;
  hardstore_setting_change ch;
  OK(hardstore_settings_set_health_thresholds(s, S("ops"), &t, &ch));
  hardstore_audit_entry *e = NULL;
  OK(hardstore_audit_get(s, ch.audit_seq, &e));
  hardstore_audit_entry_free(e);
  EXPECT(hardstore_settings_set_health_thresholds(s, S("ops"), &bad, &ch),
         HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_settings_set_health_thresholds(s, S("ops"), NULL, &ch),
         HARDSTORE_NULL_ARGUMENT);
  OK(hardstore_store_health(s, true, true, &r));
  OK(hardstore_health_report_summary(r, &sum));
  CHECK(sum.grade == HARDSTORE_HEALTHY && sum.components == 9 && sum.alerts_resolved == 1);
  CHECK(status_of(r, "integrity") == HARDSTORE_HEALTHY);
  CHECK(status_of(r, "dead_letters") == HARDSTORE_HEALTHY);
  hardstore_health_report_free(r);

  EXPECT(hardstore_store_health(NULL, false, false, &r), HARDSTORE_NULL_ARGUMENT);
  EXPECT(hardstore_store_health(s, false, false, NULL), HARDSTORE_NULL_ARGUMENT);
  EXPECT(hardstore_health_report_summary(NULL, &sum), HARDSTORE_NULL_ARGUMENT);
  hardstore_health_report_free(NULL);
  OK(hardstore_store_close(s));
  if (failures) fprintf(stderr, "%d failures\n", failures);
  return failures ? 1 : 0;
}
