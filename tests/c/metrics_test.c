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

  /* App metrics: a labeled counter, a gauge, a histogram. */
  hardstore_label get200[2] = {{S("method"), S("GET")}, {S("code"), S("200")}};
  for (int i = 0; i < 5; i++)
    OK(hardstore_metrics_counter_add(s, S("http_requests"), S("Requests."), get200, 2, 2));
  OK(hardstore_metrics_gauge_set(s, S("queue_depth"), S("Jobs."), NULL, 0, -4));
  double bounds[3] = {0.1, 0.5, 1.0};
  hardstore_label route = {S("route"), S("/x")};
  OK(hardstore_metrics_histogram_observe(s, S("latency_seconds"), S("Latency."), &route, 1,
                                         bounds, 3, 0.3));
  OK(hardstore_metrics_encode(s, HARDSTORE_METRICS_PROMETHEUS, &text));
  CHECK(has(text, "http_requests_total{method=\"GET\",code=\"200\"} 10\n"));
  CHECK(has(text, "queue_depth -4\n"));
  CHECK(has(text, "latency_seconds_bucket{route=\"/x\",le=\"0.5\"} 1\n"));
  hardstore_bytes_free(text);
  uint64_t written = 0;
  OK(hardstore_metrics_persist(s, &written));
  CHECK(written == 0); /* the scrape persisted them */
  OK(hardstore_metrics_counter_add(s, S("http_requests"), S("Requests."), get200, 2, 1));
  OK(hardstore_metrics_persist(s, &written));
  CHECK(written == 1);
  EXPECT(hardstore_metrics_counter_add(s, S("hardstore_x"), NULL, 0, NULL, 0, 1),
         HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_metrics_counter_add(s, S("http_requests"), NULL, 0, NULL, 0, 1),
         HARDSTORE_INVALID_ARGUMENT); /* registered with two labels */
  EXPECT(hardstore_metrics_gauge_set(s, S("http_requests"), NULL, 0, get200, 2, 1),
         HARDSTORE_INVALID_ARGUMENT); /* a counter, not a gauge */
  EXPECT(hardstore_metrics_counter_add(s, S("c"), NULL, 0, NULL, 3, 1), HARDSTORE_NULL_ARGUMENT);
  EXPECT(hardstore_metrics_histogram_observe(s, S("h2"), NULL, 0, NULL, 0, NULL, 0, 1.0),
         HARDSTORE_INVALID_ARGUMENT); /* no buckets */

  uint64_t refused = 0;
  OK(hardstore_metrics_refused(s, &refused));
  CHECK(refused == 0);

  EXPECT(hardstore_metrics_encode(s, 7, &text), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_metrics_encode(s, HARDSTORE_METRICS_PROMETHEUS, NULL), HARDSTORE_NULL_ARGUMENT);
  EXPECT(hardstore_metrics_get(NULL, &m), HARDSTORE_NULL_ARGUMENT);
  OK(hardstore_store_close(s));

  /* Reopened: the counter is back at what was persisted. */
  OK(hardstore_store_open(S(path), NULL, &s));
  OK(hardstore_metrics_counter_add(s, S("http_requests"), S("Requests."), get200, 2, 0));
  OK(hardstore_metrics_encode(s, HARDSTORE_METRICS_OPENMETRICS, &text));
  CHECK(has(text, "http_requests_total{method=\"GET\",code=\"200\"} 11\n"));
  hardstore_bytes_free(text);
  OK(hardstore_store_close(s));
  if (failures) fprintf(stderr, "%d failures\n", failures);
  return failures ? 1 : 0;
}
