/* Metrics through the C ABI: the snapshot matches what was done; both exposition texts
 * carry the same figures (Prometheus 0.0.4 without an EOF line, OpenMetrics with one);
 * bad arguments get their codes.
 *
 * Usage: metrics_test DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static int has(const hardstore_bytes *b, const char *needle) {
  size_t n = hardstore_bytes_len(b), k = strlen(needle);
  const uint8_t *p = hardstore_bytes_data(b);
  for (size_t i = 0; i + k <= n; i++)
    if (memcmp(p + i, needle, k) == 0) return 1;
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  char path[1024];
  snprintf(path, sizeof path, "%s/metrics.hs", argv[1]);
  hardstore_store *s = NULL;
  OK(hardstore_store_open(S(path), NULL, &s));
  for (int i = 0; i < 3; i++) {
    uint64_t id = 0;
    OK(hardstore_dlq_record(s, S("acme"), S("email"), S("x"), NULL, 0, 0, 0, true,
                            HARDSTORE_DURABLE, &id));
  }
  hardstore_alert_raised r;
  OK(hardstore_alert_raise(s, S("acme"), S("app"), S("k"), HARDSTORE_ALERT_WARNING, NULL, 0,
                           HARDSTORE_DURABLE, &r));

  hardstore_metrics_snapshot m;
  OK(hardstore_metrics_get(s, &m));
  CHECK(m.dead_letters_dead == 3 && m.dead_letters_pending == 0);
  CHECK(m.alerts_unresolved == 1 && m.alerts_resolved == 0);
  CHECK(m.audit_entries == 1); /* the raise */
  CHECK(m.file_bytes > 0 && m.writes >= 4 && m.uptime_seconds >= 0);

  hardstore_bytes *text = NULL;
  OK(hardstore_metrics_encode(s, HARDSTORE_METRICS_PROMETHEUS, &text));
  CHECK(has(text, "hardstore_dead_letters{state=\"dead\"} 3\n"));
  CHECK(has(text, "hardstore_audit_entries_total 1\n"));
  CHECK(!has(text, "# EOF"));
  hardstore_bytes_free(text);
  OK(hardstore_metrics_encode(s, HARDSTORE_METRICS_OPENMETRICS, &text));
  CHECK(has(text, "hardstore_alerts{state=\"unresolved\"} 1\n"));
  CHECK(has(text, "# EOF\n"));
  hardstore_bytes_free(text);

  EXPECT(hardstore_metrics_encode(s, 7, &text), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_metrics_encode(s, HARDSTORE_METRICS_PROMETHEUS, NULL), HARDSTORE_NULL_ARGUMENT);
  EXPECT(hardstore_metrics_get(NULL, &m), HARDSTORE_NULL_ARGUMENT);
  OK(hardstore_store_close(s));
  if (failures) fprintf(stderr, "%d failures\n", failures);
  return failures ? 1 : 0;
}
