/* Dead letters through the C ABI: record, claim, ack, fail (retryable and permanent),
 * a crash loop by lease expiry that ends in dead, a stale worker refused, redrive by id
 * and by filter, lists with paging, counts, history, purge, the retry helper with a
 * callback, and bad input answered with its documented code and no change.
 *
 * Time is the system clock here: leases of 1 µs run out by the next call, and a policy
 * of base = cap = 1 µs makes a rescheduled item due again at once.
 *
 * Usage: dead_letters_test DIR */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"

static const uint64_t MINUTE_US = 60ull * 1000 * 1000;

static void sleep_ms(long ms) {
  struct timespec ts = {0, ms * 1000000L};
  nanosleep(&ts, NULL);
}

static uint64_t record(hardstore_store *store, const char *tenant, const char *kind,
                       const char *payload, uint32_t max_attempts, bool permanent) {
  uint64_t id = UINT64_MAX;
  OK(hardstore_dlq_record(store, S(tenant), S(kind), S(payload), S("first failure"),
                          max_attempts, 0, permanent, HARDSTORE_DURABLE, &id));
  return id;
}

static hardstore_dlq_state_counts counts(hardstore_store *store) {
  hardstore_dlq_state_counts c = {0, 0, 0, 0};
  OK(hardstore_dlq_counts(store, &c));
  return c;
}

static uint32_t state_of(hardstore_store *store, uint64_t id) {
  hardstore_dlq_item *item = NULL;
  OK(hardstore_dlq_get(store, id, &item));
  uint32_t s = hardstore_dlq_item_state(item);
  hardstore_dlq_item_free(item);
  return s;
}

static uint32_t attempts_of(hardstore_store *store, uint64_t id) {
  hardstore_dlq_item *item = NULL;
  OK(hardstore_dlq_get(store, id, &item));
  uint32_t a = hardstore_dlq_item_attempts(item);
  hardstore_dlq_item_free(item);
  return a;
}

/* Items a query lists, following cursors one page of `limit` at a time. */
static int list_all(hardstore_store *store, hardstore_dlq_query *q, size_t limit) {
  OK(hardstore_dlq_query_set_limit(q, limit));
  int n = 0;
  uint64_t prev = 0;
  for (;;) {
    hardstore_dlq_iter *it = NULL;
    OK(hardstore_dlq_list(store, q, &it));
    if (!it) return n;
    const hardstore_dlq_item *item = NULL;
    for (;;) {
      OK(hardstore_dlq_iter_next(it, &item));
      if (!item) break;
      uint64_t id = hardstore_dlq_item_id(item);
      CHECK(n == 0 || id > prev);
      prev = id;
      n++;
    }
    hardstore_bytes *cursor = NULL;
    OK(hardstore_dlq_iter_cursor(it, &cursor));
    hardstore_dlq_iter_free(it);
    if (!cursor) return n;
    OK(hardstore_dlq_query_set_cursor(q, hardstore_bytes_data(cursor), hardstore_bytes_len(cursor)));
    hardstore_bytes_free(cursor);
  }
}

/* The retry helper's operation: fails until try `succeed_at` (0: never), with a
 * permanent failure when `permanent` is set. */
struct op_state {
  uint32_t succeed_at;
  bool permanent;
  uint32_t calls;
};

static uint32_t op(void *userdata, uint32_t attempt, uint8_t *buf, size_t cap, size_t *out_len) {
  struct op_state *s = userdata;
  s->calls++;
  if (s->succeed_at != 0 && attempt >= s->succeed_at) return HARDSTORE_DLQ_OP_OK;
  const char *msg = s->permanent ? "400 bad request" : "503 unavailable";
  size_t n = strlen(msg);
  if (n <= cap) {
    memcpy(buf, msg, n);
    *out_len = n;
  }
  return s->permanent ? HARDSTORE_DLQ_OP_PERMANENT : HARDSTORE_DLQ_OP_RETRY;
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  char path[4096];
  snprintf(path, sizeof path, "%s/dlq.hs", argv[1]);

  hardstore_retry_policy policy;
  OK(hardstore_retry_policy_default(&policy));
  CHECK(policy.max_attempts == 5 && policy.jitter == HARDSTORE_JITTER_FULL);
  CHECK(policy.base_us == 1000000 && policy.cap_us == 3600ull * 1000000);
  hardstore_options *opts = NULL;
  OK(hardstore_options_new(&opts));
  hardstore_retry_policy bad = policy;
  bad.cap_us = bad.base_us - 1;
  EXPECT(hardstore_options_set_dlq_policy(opts, &bad), HARDSTORE_INVALID_ARGUMENT);
  bad = policy;
  bad.jitter = 7;
  EXPECT(hardstore_options_set_dlq_policy(opts, &bad), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_options_set_dlq_policy(opts, NULL), HARDSTORE_NULL_ARGUMENT);
  policy.base_us = 1;
  policy.cap_us = 1;
  policy.seeded = true;
  policy.seed = 42;
  OK(hardstore_options_set_dlq_policy(opts, &policy));
  hardstore_store *store = NULL;
  OK(hardstore_store_open(S(path), opts, &store));
  if (!store) return 1;

  /* Record. */
  uint64_t a = record(store, "acme", "email", "to: a", 0, false);
  uint64_t b = record(store, "acme", "webhook", "{\"n\":1}", 0, false);
  uint64_t c = record(store, "globex", "webhook", "{\"n\":2}", 0, false);
  CHECK(a == 0 && b == 1 && c == 2);
  hardstore_dlq_state_counts n = counts(store);
  CHECK(n.pending == 3 && n.leased == 0 && n.done == 0 && n.dead == 0);

  /* Bad input: refused, nothing recorded, out-parameter untouched. */
  uint64_t id = 777;
  char big[200];
  memset(big, 't', sizeof big);
  const uint8_t bad_utf8[2] = {0xff, 0xfe};
  EXPECT(hardstore_dlq_record(store, S("acme"), S(""), S("p"), S(""), 0, 0, false, HARDSTORE_DURABLE, &id),
         HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_dlq_record(store, (const uint8_t *)big, 129, S("email"), S("p"), S(""), 0, 0, false,
                              HARDSTORE_DURABLE, &id),
         HARDSTORE_TOO_LONG);
  EXPECT(hardstore_dlq_record(store, bad_utf8, 2, S("email"), S("p"), S(""), 0, 0, false, HARDSTORE_DURABLE, &id),
         HARDSTORE_INVALID_UTF8);
  EXPECT(hardstore_dlq_record(store, S("acme"), S("email"), S("p"), S(""), 1001, 0, false, HARDSTORE_DURABLE, &id),
         HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_dlq_record(store, S("acme"), S("email"), S("p"), S(""), 0, 0, false, 9, &id),
         HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_dlq_record(NULL, S("acme"), S("email"), S("p"), S(""), 0, 0, false, HARDSTORE_DURABLE, &id),
         HARDSTORE_NULL_ARGUMENT);
  EXPECT(hardstore_dlq_record(store, S("acme"), S("email"), S("p"), S(""), 0, 0, false, HARDSTORE_DURABLE, NULL),
         HARDSTORE_NULL_ARGUMENT);
  CHECK(id == 777);
  CHECK(counts(store).pending == 3);
  hardstore_dlq_claims *claims = NULL;
  EXPECT(hardstore_dlq_claim_due(store, 0, MINUTE_US, &claims), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_dlq_claim_due(store, 10, 0, &claims), HARDSTORE_INVALID_ARGUMENT);
  CHECK(claims == NULL);

  /* Claim all three for a minute. */
  OK(hardstore_dlq_claim_due(store, 10, MINUTE_US, &claims));
  CHECK(hardstore_dlq_claims_len(claims) == 3);
  const hardstore_dlq_claim *ca = NULL, *cb = NULL, *cc = NULL;
  OK(hardstore_dlq_claims_get(claims, 0, &ca));
  OK(hardstore_dlq_claims_get(claims, 1, &cb));
  OK(hardstore_dlq_claims_get(claims, 2, &cc));
  const hardstore_dlq_claim *none = NULL;
  EXPECT(hardstore_dlq_claims_get(claims, 3, &none), HARDSTORE_NOT_FOUND);
  CHECK(hardstore_dlq_claim_id(ca) == a && hardstore_dlq_claim_id(cc) == c);
  CHECK(hardstore_dlq_claim_attempt(ca) == 1 && hardstore_dlq_claim_max_attempts(ca) == 5);
  CHECK(hardstore_dlq_claim_lease_until(ca) > MINUTE_US);
  const uint8_t *p;
  size_t len;
  OK(hardstore_dlq_claim_field(cb, HARDSTORE_DLQ_PAYLOAD, &p, &len));
  CHECK(len == 7 && memcmp(p, "{\"n\":1}", 7) == 0);
  OK(hardstore_dlq_claim_field(cc, HARDSTORE_DLQ_TENANT, &p, &len));
  CHECK(len == 6 && memcmp(p, "globex", 6) == 0);
  OK(hardstore_dlq_claim_field(ca, HARDSTORE_DLQ_KIND, &p, &len));
  CHECK(len == 5 && memcmp(p, "email", 5) == 0);
  EXPECT(hardstore_dlq_claim_field(ca, 99, &p, &len), HARDSTORE_INVALID_ARGUMENT);
  n = counts(store);
  CHECK(n.pending == 0 && n.leased == 3);

  /* Ack a; fail b (retryable) and c (permanent). */
  OK(hardstore_dlq_ack(store, ca));
  EXPECT(hardstore_dlq_ack(store, ca), HARDSTORE_FENCED);
  uint32_t st = 99;
  uint64_t next = 99;
  char long_error[5000];
  memset(long_error, 'e', sizeof long_error);
  EXPECT(hardstore_dlq_fail(store, cb, (const uint8_t *)long_error, 4097, true, &st, &next), HARDSTORE_TOO_LONG);
  CHECK(st == 99 && next == 99);
  OK(hardstore_dlq_fail(store, cb, S("timeout"), true, &st, &next));
  CHECK(st == HARDSTORE_DLQ_PENDING && next > 0);
  OK(hardstore_dlq_fail(store, cc, S("410 gone"), false, &st, &next));
  CHECK(st == HARDSTORE_DLQ_DEAD && next == 0);
  hardstore_dlq_claims_free(claims);
  n = counts(store);
  CHECK(n.pending == 1 && n.leased == 0 && n.done == 1 && n.dead == 1);

  /* c's full history. */
  hardstore_dlq_item *item = NULL;
  OK(hardstore_dlq_get(store, c, &item));
  CHECK(hardstore_dlq_item_state(item) == HARDSTORE_DLQ_DEAD);
  CHECK(hardstore_dlq_item_attempts(item) == 1 && hardstore_dlq_item_max_attempts(item) == 5);
  CHECK(hardstore_dlq_item_history_len(item) == 2);
  hardstore_dlq_attempt h;
  OK(hardstore_dlq_item_history(item, 0, &h));
  CHECK(h.attempt == 0 && h.retryable && h.error_len == 13 && memcmp(h.error, "first failure", 13) == 0);
  OK(hardstore_dlq_item_history(item, 1, &h));
  CHECK(h.attempt == 1 && !h.retryable && h.error_len == 8 && memcmp(h.error, "410 gone", 8) == 0);
  EXPECT(hardstore_dlq_item_history(item, 2, &h), HARDSTORE_NOT_FOUND);
  OK(hardstore_dlq_item_field(item, HARDSTORE_DLQ_LAST_ERROR, &p, &len));
  CHECK(len == 8 && memcmp(p, "410 gone", 8) == 0);
  uint64_t t = 0;
  OK(hardstore_dlq_item_time(item, &t));
  CHECK(t >= hardstore_dlq_item_created(item));
  hardstore_dlq_item_free(item);
  item = NULL;
  EXPECT(hardstore_dlq_get(store, 12345, &item), HARDSTORE_NOT_FOUND);
  CHECK(item == NULL);

  /* A crash loop: workers claim with 1 µs leases and never answer. b (1 attempt used)
   * and d (2 allowed) must both end dead, after exactly their max attempts. */
  uint64_t d = record(store, "acme", "email", "to: d", 2, false);
  int claims_of_d = 0;
  for (int round = 0; round < 20; round++) {
    OK(hardstore_dlq_claim_due(store, 10, 1, &claims));
    size_t k = hardstore_dlq_claims_len(claims);
    for (size_t i = 0; i < k; i++) {
      const hardstore_dlq_claim *x = NULL;
      OK(hardstore_dlq_claims_get(claims, i, &x));
      if (hardstore_dlq_claim_id(x) == d) claims_of_d++;
    }
    hardstore_dlq_claims_free(claims);
    if (k == 0 && round > 0) break;
    sleep_ms(2);
  }
  CHECK(claims_of_d == 2);
  CHECK(state_of(store, d) == HARDSTORE_DLQ_DEAD && attempts_of(store, d) == 2);
  CHECK(state_of(store, b) == HARDSTORE_DLQ_DEAD && attempts_of(store, b) == 5);
  n = counts(store);
  CHECK(n.pending == 0 && n.leased == 0 && n.done == 1 && n.dead == 3);

  /* A stale worker: its lease ran out, so its ack is refused and nothing changes. */
  uint64_t e = record(store, "globex", "sms", "hi", 0, false);
  OK(hardstore_dlq_claim_due(store, 1, 1, &claims));
  const hardstore_dlq_claim *ce = NULL;
  OK(hardstore_dlq_claims_get(claims, 0, &ce));
  CHECK(hardstore_dlq_claim_id(ce) == e);
  sleep_ms(2);
  EXPECT(hardstore_dlq_ack(store, ce), HARDSTORE_FENCED);
  EXPECT(hardstore_dlq_fail(store, ce, S("late"), true, &st, &next), HARDSTORE_FENCED);
  CHECK(state_of(store, e) == HARDSTORE_DLQ_LEASED);
  hardstore_dlq_claims_free(claims);

  /* Redrive by id. */
  OK(hardstore_dlq_redrive(store, c));
  OK(hardstore_dlq_get(store, c, &item));
  CHECK(hardstore_dlq_item_state(item) == HARDSTORE_DLQ_PENDING);
  CHECK(hardstore_dlq_item_attempts(item) == 0 && hardstore_dlq_item_redrives(item) == 1);
  hardstore_dlq_item_free(item);
  EXPECT(hardstore_dlq_redrive(store, a), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_dlq_redrive(store, 999), HARDSTORE_NOT_FOUND);

  /* Lists: everything, by state, by kind and tenant; paging one at a time. */
  hardstore_dlq_query *q = NULL;
  OK(hardstore_dlq_query_new(&q));
  CHECK(list_all(store, q, 2) == 5);
  hardstore_dlq_query_free(q);
  OK(hardstore_dlq_query_new(&q));
  OK(hardstore_dlq_query_set_state(q, HARDSTORE_DLQ_DEAD));
  CHECK(list_all(store, q, 1) == 2); /* b and d */
  OK(hardstore_dlq_query_set_kind(q, S("email")));
  OK(hardstore_dlq_query_set_tenant(q, S("acme")));
  EXPECT(hardstore_dlq_query_set_cursor(q, S("junk")), HARDSTORE_INVALID_ARGUMENT);
  hardstore_dlq_query_free(q);
  OK(hardstore_dlq_query_new(&q));
  OK(hardstore_dlq_query_set_state(q, HARDSTORE_DLQ_DEAD));
  OK(hardstore_dlq_query_set_kind(q, S("email")));
  CHECK(list_all(store, q, 10) == 1); /* d */
  EXPECT(hardstore_dlq_query_set_state(q, 9), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_dlq_query_set_limit(q, 0), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_dlq_query_set_time_range(q, 5, 4), HARDSTORE_INVALID_ARGUMENT);
  OK(hardstore_dlq_query_set_time_range(q, 0, UINT64_MAX));
  hardstore_dlq_query_free(q);

  /* Redrive by filter: dead webhooks (b), not the dead e-mail (d). */
  OK(hardstore_dlq_query_new(&q));
  OK(hardstore_dlq_query_set_kind(q, S("webhook")));
  uint64_t redriven = 0;
  OK(hardstore_dlq_redrive_where(store, q, &redriven));
  CHECK(redriven == 1);
  CHECK(state_of(store, b) == HARDSTORE_DLQ_PENDING && state_of(store, d) == HARDSTORE_DLQ_DEAD);
  OK(hardstore_dlq_query_set_state(q, HARDSTORE_DLQ_PENDING));
  redriven = 99;
  EXPECT(hardstore_dlq_redrive_where(store, q, &redriven), HARDSTORE_INVALID_ARGUMENT);
  CHECK(redriven == 99);
  hardstore_dlq_query_free(q);

  /* Nothing is 7 days old yet. */
  uint64_t purged = 99;
  OK(hardstore_dlq_purge(store, 0, &purged));
  CHECK(purged == 0);

  /* The retry helper. */
  hardstore_retry_policy fast;
  OK(hardstore_retry_policy_default(&fast));
  fast.base_us = 10;
  fast.cap_us = 100;
  fast.max_attempts = 3;
  struct op_state s1 = {2, false, 0};
  uint32_t outcome = 99, attempts = 0;
  uint64_t rid = 99;
  OK(hardstore_dlq_retry(store, &fast, S("acme"), S("email"), S("x"), op, &s1, &outcome, &attempts, &rid));
  CHECK(outcome == HARDSTORE_DLQ_RETRY_SUCCEEDED && attempts == 2 && s1.calls == 2 && rid == 0);
  struct op_state s2 = {0, false, 0};
  OK(hardstore_dlq_retry(store, &fast, S("acme"), S("webhook"), S("y"), op, &s2, &outcome, &attempts, &rid));
  CHECK(outcome == HARDSTORE_DLQ_RETRY_DEAD_LETTERED && attempts == 3 && s2.calls == 3);
  OK(hardstore_dlq_get(store, rid, &item));
  CHECK(hardstore_dlq_item_state(item) == HARDSTORE_DLQ_PENDING);
  OK(hardstore_dlq_item_field(item, HARDSTORE_DLQ_LAST_ERROR, &p, &len));
  CHECK(len > 15 && memcmp(p + len - 15, "503 unavailable", 15) == 0);
  OK(hardstore_dlq_item_field(item, HARDSTORE_DLQ_PAYLOAD, &p, &len));
  CHECK(len == 1 && p[0] == 'y');
  hardstore_dlq_item_free(item);
  struct op_state s3 = {0, true, 0};
  OK(hardstore_dlq_retry(store, NULL, S("acme"), S("email"), S("z"), op, &s3, &outcome, &attempts, &rid));
  CHECK(outcome == HARDSTORE_DLQ_RETRY_DEAD_LETTERED && attempts == 1 && s3.calls == 1);
  CHECK(state_of(store, rid) == HARDSTORE_DLQ_DEAD);
  struct op_state s4 = {1, false, 0};
  EXPECT(hardstore_dlq_retry(store, &fast, S("acme"), S("email"), S("z"), NULL, &s4, &outcome, &attempts, &rid),
         HARDSTORE_NULL_ARGUMENT);
  EXPECT(hardstore_dlq_retry(store, &fast, S("acme"), S(""), S("z"), op, &s4, &outcome, &attempts, &rid),
         HARDSTORE_INVALID_ARGUMENT);
  CHECK(s4.calls == 0);

  /* State survives a reopen. */
  n = counts(store);
  OK(hardstore_store_close(store));
  store = NULL;
  OK(hardstore_store_open(S(path), opts, &store));
  hardstore_dlq_state_counts n2 = counts(store);
  CHECK(n.pending == n2.pending && n.leased == n2.leased && n.done == n2.done && n.dead == n2.dead);
  CHECK(n2.pending + n2.leased + n2.done + n2.dead == 7);
  OK(hardstore_store_close(store));

  /* Purge with an age of zero: done and dead items go at once, the rest stay. */
  char path2[4096];
  snprintf(path2, sizeof path2, "%s/dlq-purge.hs", argv[1]);
  OK(hardstore_options_set_dlq_purge_after_us(opts, 0));
  OK(hardstore_store_open(S(path2), opts, &store));
  uint64_t x = record(store, "acme", "email", "x", 0, true);
  uint64_t y = record(store, "acme", "email", "y", 0, false);
  OK(hardstore_dlq_purge(store, 0, &purged));
  CHECK(purged == 1);
  EXPECT(hardstore_dlq_get(store, x, &item), HARDSTORE_NOT_FOUND);
  CHECK(state_of(store, y) == HARDSTORE_DLQ_PENDING);
  OK(hardstore_store_close(store));
  hardstore_options_free(opts);

  hardstore_dlq_claims_free(NULL);
  hardstore_dlq_item_free(NULL);
  hardstore_dlq_iter_free(NULL);
  hardstore_dlq_query_free(NULL);
  CHECK(hardstore_dlq_claims_len(NULL) == 0);
  CHECK(hardstore_dlq_item_history_len(NULL) == 0);

  if (failures) {
    fprintf(stderr, "%d failure(s)\n", failures);
    return 1;
  }
  printf("dead_letters_test: ok\n");
  return 0;
}
