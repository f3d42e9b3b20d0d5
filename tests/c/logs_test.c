/* The log ring through the C ABI: append (buffered and durable), wrap-around, queries
 * through an iterator with paging, stats, redaction, and bad input answered with its
 * documented code and no change to the ring.
 *
 * Usage: logs_test DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static const char *endpoints[3] = {"GET /a", "POST /checkout", "GET /c"};

static void append(hardstore_store *store, int i, uint32_t durability) {
  char msg[64];
  snprintf(msg, sizeof msg, "request %d done", i);
  hardstore_log_record *r = NULL;
  OK(hardstore_log_record_new(i % 6, S(msg), &r));
  OK(hardstore_log_record_set_target(r, S("c::test")));
  OK(hardstore_log_record_set_tenant(r, S(i % 2 ? "acme" : "globex")));
  OK(hardstore_log_record_set_user(r, S("u1")));
  OK(hardstore_log_record_set_endpoint(r, S(endpoints[i % 3])));
  OK(hardstore_log_record_set_status(r, i % 6 >= 4 ? 500 : 200));
  OK(hardstore_log_record_set_duration_us(r, 1000 + i));
  if (i % 6 >= 4) {
    OK(hardstore_log_record_set_error(r, S("upstream failed")));
    OK(hardstore_log_record_add_cause(r, S("connection reset")));
  }
  OK(hardstore_log_record_add_field(r, S("i"), S("x")));
  uint64_t seq = 0;
  OK(hardstore_logs_append(store, r, durability, &seq));
  CHECK(seq == (uint64_t)i);
  hardstore_log_record_free(r);
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  char path[4096];
  snprintf(path, sizeof path, "%s/logs.hs", argv[1]);
  hardstore_options *opts = NULL;
  OK(hardstore_options_new(&opts));
  OK(hardstore_options_set_log_capacity(opts, 100));
  hardstore_store *store = NULL;
  OK(hardstore_store_open(S(path), opts, &store));
  if (!store) return 1;

  for (int i = 0; i < 250; i++) append(store, i, i % 50 == 0 ? HARDSTORE_DURABLE : HARDSTORE_BUFFERED);
  uint64_t oldest = 0, next = 0;
  OK(hardstore_logs_range(store, &oldest, &next));
  CHECK(oldest == 150 && next == 250);

  /* Errors on POST /checkout, newest first, 4 a page. */
  hardstore_logs_query *q = NULL;
  OK(hardstore_logs_query_new(&q));
  OK(hardstore_logs_query_set_min_level(q, HARDSTORE_LEVEL_ERROR));
  OK(hardstore_logs_query_set_endpoint(q, S("POST /checkout")));
  OK(hardstore_logs_query_set_limit(q, 4));
  int seen = 0;
  uint64_t prev = UINT64_MAX;
  for (;;) {
    hardstore_logs_iter *it = NULL;
    OK(hardstore_logs_query_run(store, q, &it));
    if (!it) break;
    const hardstore_log_entry *e = NULL;
    for (;;) {
      OK(hardstore_logs_iter_next(it, &e));
      if (!e) break;
      uint64_t seq = hardstore_log_entry_seq(e);
      CHECK(seq < prev && seq >= 150);
      prev = seq;
      CHECK(seq % 3 == 1 && seq % 6 >= 4);
      CHECK(hardstore_log_entry_level(e) >= HARDSTORE_LEVEL_ERROR);
      uint16_t status = 0;
      OK(hardstore_log_entry_status(e, &status));
      CHECK(status == 500);
      uint64_t d = 0;
      OK(hardstore_log_entry_duration_us(e, &d));
      CHECK(d == 1000 + seq);
      const uint8_t *p;
      size_t n;
      OK(hardstore_log_entry_field(e, HARDSTORE_LOG_ERROR, &p, &n));
      CHECK(n == 15 && memcmp(p, "upstream failed", 15) == 0);
      CHECK(hardstore_log_entry_cause_count(e) == 1);
      OK(hardstore_log_entry_cause(e, 0, &p, &n));
      CHECK(n == 16);
      EXPECT(hardstore_log_entry_cause(e, 1, &p, &n), HARDSTORE_NOT_FOUND);
      CHECK(hardstore_log_entry_field_count(e) == 1);
      const uint8_t *k, *v;
      size_t kl, vl;
      OK(hardstore_log_entry_kv(e, 0, &k, &kl, &v, &vl));
      CHECK(kl == 1 && vl == 1);
      seen++;
    }
    hardstore_bytes *cursor = NULL;
    OK(hardstore_logs_iter_cursor(it, &cursor));
    hardstore_logs_iter_free(it);
    if (!cursor) break;
    OK(hardstore_logs_query_set_cursor(q, hardstore_bytes_data(cursor), hardstore_bytes_len(cursor)));
    hardstore_bytes_free(cursor);
  }
  int expected = 0;
  for (int i = 150; i < 250; i++)
    if (i % 3 == 1 && i % 6 >= 4) expected++;
  CHECK(seen == expected);
  hardstore_logs_query_free(q);

  /* Text search and redaction. */
  hardstore_log_record *r = NULL;
  OK(hardstore_log_record_new(HARDSTORE_LEVEL_WARN, S("mail to alice@example.com failed"), &r));
  uint64_t seq;
  OK(hardstore_logs_append(store, r, HARDSTORE_BUFFERED, &seq));
  hardstore_log_record_free(r);
  OK(hardstore_logs_query_new(&q));
  OK(hardstore_logs_query_set_text(q, S("mail to")));
  hardstore_logs_iter *it = NULL;
  OK(hardstore_logs_query_run(store, q, &it));
  const hardstore_log_entry *e = NULL;
  OK(hardstore_logs_iter_next(it, &e));
  CHECK(e != NULL);
  if (e) {
    const uint8_t *p;
    size_t n;
    OK(hardstore_log_entry_field(e, HARDSTORE_LOG_MESSAGE, &p, &n));
    CHECK(n == strlen("mail to [email] failed") && memcmp(p, "mail to [email] failed", n) == 0);
    EXPECT(hardstore_log_entry_status(e, &(uint16_t){0}), HARDSTORE_NOT_FOUND);
  }
  OK(hardstore_logs_iter_next(it, &e));
  CHECK(e == NULL);
  hardstore_logs_iter_free(it);
  hardstore_logs_query_free(q);

  /* Stats over the whole ring: its capacity, 100 entries. */
  hardstore_log_stats *st = NULL;
  OK(hardstore_logs_stats(store, 0, UINT64_MAX, &st));
  hardstore_log_totals sum;
  OK(hardstore_log_stats_totals(st, &sum));
  CHECK(sum.total == 100);
  CHECK(sum.endpoints == 3);
  uint64_t levels = 0;
  for (int i = 0; i < 6; i++) levels += sum.per_level[i];
  CHECK(levels == sum.total);
  CHECK(sum.error_rate > 0.0 && sum.error_rate < 1.0);
  hardstore_endpoint_stats ep;
  OK(hardstore_log_stats_endpoint(st, 2, &ep)); /* sorted by name */
  CHECK(ep.endpoint_len == strlen("POST /checkout") && memcmp(ep.endpoint, "POST /checkout", ep.endpoint_len) == 0);
  CHECK(ep.has_duration && ep.p95_duration_us >= (uint64_t)ep.mean_duration_us);
  EXPECT(hardstore_log_stats_endpoint(st, 3, &ep), HARDSTORE_NOT_FOUND);
  hardstore_log_stats_free(st);

  /* Bad input: nothing changes. */
  OK(hardstore_logs_range(store, &oldest, &next));
  static char big[9000];
  memset(big, 'x', sizeof big);
  EXPECT(hardstore_log_record_new(HARDSTORE_LEVEL_INFO, (const uint8_t *)big, 8193, &r), HARDSTORE_TOO_LONG);
  EXPECT(hardstore_log_record_new(HARDSTORE_LEVEL_INFO, (const uint8_t *)big, SIZE_MAX, &r), HARDSTORE_TOO_LONG);
  EXPECT(hardstore_log_record_new(9, S("m"), &r), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_log_record_new(HARDSTORE_LEVEL_INFO, NULL, 4, &r), HARDSTORE_NULL_ARGUMENT);
  const uint8_t bad_utf8[] = {0xff, 0xfe};
  EXPECT(hardstore_log_record_new(HARDSTORE_LEVEL_INFO, bad_utf8, 2, &r), HARDSTORE_INVALID_UTF8);
  OK(hardstore_log_record_new(HARDSTORE_LEVEL_INFO, S("ok"), &r));
  EXPECT(hardstore_log_record_set_endpoint(r, (const uint8_t *)big, 257), HARDSTORE_TOO_LONG);
  EXPECT(hardstore_log_record_add_field(r, S(""), S("v")), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_logs_append(NULL, r, HARDSTORE_BUFFERED, &seq), HARDSTORE_NULL_ARGUMENT);
  EXPECT(hardstore_logs_append(store, r, 3, &seq), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_logs_append(store, NULL, HARDSTORE_BUFFERED, &seq), HARDSTORE_NULL_ARGUMENT);
  hardstore_log_record_free(r);
  OK(hardstore_logs_query_new(&q));
  EXPECT(hardstore_logs_query_set_limit(q, 0), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_logs_query_set_min_level(q, 6), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_logs_query_set_cursor(q, S("junk")), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_logs_query_set_time_range(q, 9, 1), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_logs_query_run(store, q, NULL), HARDSTORE_NULL_ARGUMENT);
  hardstore_logs_query_free(q);
  EXPECT(hardstore_logs_stats(store, 5, 1, &st), HARDSTORE_INVALID_ARGUMENT);
  uint64_t oldest2, next2;
  OK(hardstore_logs_range(store, &oldest2, &next2));
  CHECK(oldest2 == oldest && next2 == next);
  hardstore_log_record_free(NULL);
  hardstore_logs_query_free(NULL);
  hardstore_logs_iter_free(NULL);
  hardstore_log_stats_free(NULL);

  OK(hardstore_store_close(store));
  /* Reopen: the ring and its seq survive. */
  OK(hardstore_store_open(S(path), opts, &store));
  OK(hardstore_logs_range(store, &oldest2, &next2));
  CHECK(oldest2 == oldest && next2 == next);
  OK(hardstore_store_close(store));
  hardstore_options_free(opts);
  printf("%s: %s\n", argv[0], failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}
