/* Idempotency keys, app state and multi-area transactions through the C ABI: the four
 * begin outcomes, fencing after a lease runs out, recovery points, expiry with a manual
 * clock, an atomic transaction (app state + audit + completion) and a fenced one that
 * writes nothing, and bad input answered with its code and no change.
 *
 * Usage: idempotency_test DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define SEC 1000000ull

static const char *REQ = "POST /orders\n{\"sku\":1}";

typedef struct {
  hardstore_idem_outcome outcome;
  hardstore_idem_token *token;
  hardstore_idem_response *response;
  uint64_t retry_after_us;
} begun;

static begun begin(hardstore_store *s, const char *key, const char *req,
                   uint64_t lease_ms) {
  begun b = {HARDSTORE_IDEM_MISMATCH, NULL, NULL, 0};
  OK(hardstore_idem_begin(s, S("acme"), S(key), S(req), lease_ms,
                          &b.outcome, &b.token, &b.response, &b.retry_after_us));
  return b;
}

static void done(begun *b) {
  hardstore_idem_token_free(b->token);
  hardstore_idem_response_free(b->response);
}

static void check_replay(begun *b, const char *body, uint16_t status, bool failed) {
  CHECK(b->outcome == HARDSTORE_IDEM_REPLAY);
  CHECK(b->token == NULL && b->response != NULL);
  if (b->response == NULL) return;
  const uint8_t *data = NULL;
  size_t len = 0;
  bool has_status = false, was_failed = !failed;
  uint16_t st = 0;
  OK(hardstore_idem_response_get(b->response, &data, &len, &has_status, &st, &was_failed));
  CHECK(len == strlen(body) && memcmp(data, body, len) == 0);
  CHECK(has_status && st == status);
  CHECK(was_failed == failed);
}

static size_t audit_size(hardstore_store *s) {
  uint64_t n = 0;
  OK(hardstore_audit_size(s, &n));
  return (size_t)n;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  char path[1024];
  snprintf(path, sizeof path, "%s/idem.hs", argv[1]);

  static char longkey[5000];
  memset(longkey, 'k', sizeof longkey);
  hardstore_clock *clock = NULL;
  OK(hardstore_clock_new_manual(1000 * SEC, &clock));
  hardstore_options *opts = NULL;
  OK(hardstore_options_new(&opts));
  OK(hardstore_options_set_clock(opts, clock));
  OK(hardstore_options_set_idempotency_ttl_ms(opts, 3600 * 1000));
  EXPECT(hardstore_options_set_idempotency_ttl_ms(opts, 0), HARDSTORE_INVALID_ARGUMENT);
  hardstore_store *s = NULL;
  OK(hardstore_store_open(S(path), opts, &s));
  hardstore_options_free(opts);

  /* Started, then InProgress, Mismatch, then Replay after complete. */
  begun a = begin(s, "k1", REQ, 60000);
  CHECK(a.outcome == HARDSTORE_IDEM_STARTED && a.token != NULL && a.response == NULL);
  uint64_t fence1 = hardstore_idem_token_fence(a.token);
  CHECK(fence1 >= 1);
  OK(hardstore_clock_advance(clock, 5 * SEC));
  begun b = begin(s, "k1", REQ, 60000);
  CHECK(b.outcome == HARDSTORE_IDEM_IN_PROGRESS && b.retry_after_us == 55 * SEC);
  CHECK(b.token == NULL && b.response == NULL);
  begun m = begin(s, "k1", "POST /orders\n{\"sku\":2}", 60000);
  CHECK(m.outcome == HARDSTORE_IDEM_MISMATCH);
  OK(hardstore_idem_complete(s, a.token, true, 201, S("{\"id\":7}")));
  EXPECT(hardstore_idem_complete(s, a.token, true, 201, S("again")), HARDSTORE_FENCED);
  begun r = begin(s, "k1", REQ, 60000);
  check_replay(&r, "{\"id\":7}", 201, false);
  hardstore_idem_info info;
  bool found = false;
  OK(hardstore_idem_get(s, S("acme"), S("k1"), &found, &info));
  CHECK(found && info.state == 1 && info.fence == fence1);
  done(&a), done(&b), done(&m), done(&r);

  /* A lease runs out: the next begin takes over with a higher fence and the recovery
   * point; the old holder is fenced off. */
  begun old = begin(s, "k2", REQ, 10000);
  CHECK(old.outcome == HARDSTORE_IDEM_STARTED);
  OK(hardstore_idem_save_recovery(s, old.token, S("charged"), S("ch_123")));
  OK(hardstore_clock_advance(clock, 11 * SEC));
  begun neu = begin(s, "k2", REQ, 10000);
  CHECK(neu.outcome == HARDSTORE_IDEM_STARTED);
  CHECK(hardstore_idem_token_fence(neu.token) > hardstore_idem_token_fence(old.token));
  bool has = false;
  const uint8_t *name = NULL, *data = NULL;
  size_t name_len = 0, data_len = 0;
  OK(hardstore_idem_token_recovery(neu.token, &has, &name, &name_len, &data, &data_len));
  CHECK(has && name_len == 7 && memcmp(name, "charged", 7) == 0);
  CHECK(data_len == 6 && memcmp(data, "ch_123", 6) == 0);
  EXPECT(hardstore_idem_release(s, old.token), HARDSTORE_FENCED);
  EXPECT(hardstore_idem_abandon(s, old.token), HARDSTORE_FENCED);
  EXPECT(hardstore_idem_renew(s, old.token, 1000), HARDSTORE_FENCED);
  /* A fenced completion inside a transaction writes nothing of the transaction. */
  size_t audits = audit_size(s);
  hardstore_tx *tx = NULL;
  OK(hardstore_tx_begin(s, HARDSTORE_DURABLE, &tx));
  OK(hardstore_tx_kv_put(tx, S("orders"), S("o-2"), S("paid")));
  hardstore_audit_event *ev = NULL;
  OK(hardstore_audit_event_new(S("acme"), S("order.paid"), &ev));
  size_t idx = 99;
  OK(hardstore_tx_audit_append(tx, ev, &idx));
  CHECK(idx == 0);
  OK(hardstore_tx_idem_complete(tx, old.token, true, 200, S("late")));
  EXPECT(hardstore_tx_commit(tx), HARDSTORE_FENCED);
  EXPECT(hardstore_tx_commit(tx), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_tx_kv_put(tx, S("orders"), S("o-2"), S("x")), HARDSTORE_INVALID_ARGUMENT);
  hardstore_tx_free(tx);
  CHECK(audit_size(s) == audits);
  hardstore_bytes *val = NULL;
  found = true;
  OK(hardstore_kv_get(s, S("orders"), S("o-2"), &found, &val));
  CHECK(!found && val == NULL);

  /* The new holder commits app state, an audit entry and the response together. */
  tx = NULL;
  OK(hardstore_tx_begin(s, HARDSTORE_DURABLE, &tx));
  OK(hardstore_tx_kv_put(tx, S("orders"), S("o-2"), S("paid")));
  OK(hardstore_tx_kv_put(tx, S("orders"), S("tmp"), S("x")));
  OK(hardstore_tx_kv_delete(tx, S("orders"), S("tmp")));
  OK(hardstore_tx_audit_append(tx, ev, &idx));
  CHECK(idx == 0);
  OK(hardstore_tx_audit_append(tx, ev, &idx));
  CHECK(idx == 1);
  OK(hardstore_tx_idem_complete(tx, neu.token, true, 200, S("ok")));
  uint64_t seq = 0;
  EXPECT(hardstore_tx_audit_seq(tx, 0, &seq), HARDSTORE_INVALID_ARGUMENT);
  OK(hardstore_tx_commit(tx));
  OK(hardstore_tx_audit_seq(tx, 1, &seq));
  CHECK(seq == audits + 1);
  EXPECT(hardstore_tx_audit_seq(tx, 2, &seq), HARDSTORE_NOT_FOUND);
  hardstore_tx_free(tx);
  hardstore_audit_event_free(ev);
  CHECK(audit_size(s) == audits + 2);
  OK(hardstore_kv_get(s, S("orders"), S("o-2"), &found, &val));
  CHECK(found && hardstore_bytes_len(val) == 4 &&
        memcmp(hardstore_bytes_data(val), "paid", 4) == 0);
  hardstore_bytes_free(val);
  OK(hardstore_kv_get(s, S("orders"), S("tmp"), &found, &val));
  CHECK(!found);
  begun rep = begin(s, "k2", REQ, 10000);
  check_replay(&rep, "ok", 200, false);
  done(&old), done(&neu), done(&rep);

  /* A transaction acks a dead letter together with the app state it delivered, and
   * saves a recovery point together with the step it records. */
  uint64_t dl = 0;
  OK(hardstore_dlq_record(s, S("acme"), S("webhook"), S("{\"order\":2}"), S("503"), 0, 0,
                          false, HARDSTORE_DURABLE, &dl));
  hardstore_dlq_claims *claims = NULL;
  OK(hardstore_dlq_claim_due(s, 10, 60 * SEC, &claims));
  CHECK(hardstore_dlq_claims_len(claims) == 1);
  const hardstore_dlq_claim *claim = NULL;
  OK(hardstore_dlq_claims_get(claims, 0, &claim));
  begun step = begin(s, "k6", REQ, 60000);
  OK(hardstore_tx_begin(s, HARDSTORE_DURABLE, &tx));
  OK(hardstore_tx_kv_put(tx, S("webhooks"), S("order/2"), S("delivered")));
  OK(hardstore_tx_dlq_ack(tx, claim));
  OK(hardstore_tx_idem_save_recovery(tx, step.token, S("step"), S("1")));
  OK(hardstore_tx_dlq_record(tx, S("acme"), S("email"), S("receipt"), S(""), 0, 0, false, &idx));
  EXPECT(hardstore_tx_dlq_fail(tx, claim, (const uint8_t *)longkey, 5000, true), HARDSTORE_TOO_LONG);
  OK(hardstore_tx_commit(tx));
  uint64_t new_dl = 0;
  OK(hardstore_tx_dead_letter_id(tx, 0, &new_dl));
  CHECK(new_dl == dl + 1);
  hardstore_tx_free(tx);
  hardstore_dlq_state_counts counts;
  OK(hardstore_dlq_counts(s, &counts));
  CHECK(counts.done == 1 && counts.pending == 1 && counts.leased == 0);
  /* Acking the same claim again in a transaction: fenced, and nothing of it is written. */
  OK(hardstore_tx_begin(s, HARDSTORE_DURABLE, &tx));
  OK(hardstore_tx_kv_put(tx, S("webhooks"), S("order/3"), S("delivered")));
  OK(hardstore_tx_dlq_ack(tx, claim));
  EXPECT(hardstore_tx_commit(tx), HARDSTORE_FENCED);
  hardstore_tx_free(tx);
  OK(hardstore_kv_get(s, S("webhooks"), S("order/3"), &found, &val));
  CHECK(!found);
  hardstore_dlq_claims_free(claims);
  OK(hardstore_idem_abandon(s, step.token));
  begun step2 = begin(s, "k6", REQ, 60000);
  OK(hardstore_idem_token_recovery(step2.token, &has, &name, &name_len, &data, &data_len));
  CHECK(has && data_len == 1 && data[0] == '1');
  OK(hardstore_idem_complete(s, step2.token, false, 0, S("ok")));
  done(&step), done(&step2);

  /* fail caches a terminal failure; release lets a retry start afresh. */
  begun f = begin(s, "k3", REQ, 10000);
  OK(hardstore_idem_fail(s, f.token, true, 402, S("card declined")));
  begun fr = begin(s, "k3", REQ, 10000);
  check_replay(&fr, "card declined", 402, true);
  begun rl = begin(s, "k4", REQ, 10000);
  OK(hardstore_idem_renew(s, rl.token, 20000));
  OK(hardstore_idem_release(s, rl.token));
  /* Abandon ends the lease at once but keeps the recovery point. */
  begun ab = begin(s, "k5", REQ, 60000);
  OK(hardstore_idem_save_recovery(s, ab.token, S("step"), S("2")));
  OK(hardstore_idem_abandon(s, ab.token));
  begun ab2 = begin(s, "k5", REQ, 60000);
  CHECK(ab2.outcome == HARDSTORE_IDEM_STARTED);
  OK(hardstore_idem_token_recovery(ab2.token, &has, &name, &name_len, &data, &data_len));
  CHECK(has && name_len == 4 && data_len == 1 && data[0] == '2');
  EXPECT(hardstore_idem_complete(s, ab.token, false, 0, S("late")), HARDSTORE_FENCED);
  OK(hardstore_idem_complete(s, ab2.token, false, 0, S("ok")));
  done(&ab), done(&ab2);
  begun again = begin(s, "k4", "a different request is fine now", 10000);
  CHECK(again.outcome == HARDSTORE_IDEM_STARTED);
  CHECK(hardstore_idem_token_fence(again.token) > hardstore_idem_token_fence(rl.token));
  done(&f), done(&fr), done(&rl), done(&again);

  /* Expiry at the TTL (1 h) and purge. */
  OK(hardstore_clock_advance(clock, 3600 * SEC));
  OK(hardstore_idem_get(s, S("acme"), S("k1"), &found, &info));
  CHECK(!found);
  size_t purged = 0;
  OK(hardstore_idem_purge_expired(s, 1000, &purged));
  CHECK(purged == 5); /* k1, k2, k3, k5, k6; k4 was begun again and lives in memory */
  begun fresh = begin(s, "k1", "anything", 1000);
  CHECK(fresh.outcome == HARDSTORE_IDEM_STARTED);
  hardstore_idem_token *before_reopen = fresh.token;
  fresh.token = NULL;
  done(&fresh);

  /* Bad input: a clear code and nothing changed. */
  hardstore_idem_outcome oc;
  hardstore_idem_token *tok = NULL;
  hardstore_idem_response *resp = NULL;
  uint64_t ra = 0;
  EXPECT(hardstore_idem_begin(s, S("acme"), (const uint8_t *)longkey, 256, S(REQ), 1000,
                              &oc, &tok, &resp, &ra),
         HARDSTORE_TOO_LONG);
  EXPECT(hardstore_idem_begin(s, S(""), S("k"), S(REQ), 1000, &oc, &tok,
                              &resp, &ra),
         HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_idem_begin(s, S("acme"), S("k"), S(REQ), 1000, &oc,
                              NULL, &resp, &ra),
         HARDSTORE_NULL_ARGUMENT);
  EXPECT(hardstore_idem_begin(NULL, S("acme"), S("k"), S(REQ), 1000, &oc,
                              &tok, &resp, &ra),
         HARDSTORE_NULL_ARGUMENT);
  const uint8_t bad_utf8[2] = {0xff, 0xfe};
  EXPECT(hardstore_idem_begin(s, S("acme"), bad_utf8, 2, S(REQ), 1000,
                              &oc, &tok, &resp, &ra),
         HARDSTORE_INVALID_UTF8);
  EXPECT(hardstore_idem_begin(s, S("acme"), S("k"), S(REQ), 0, &oc, &tok,
                              &resp, &ra),
         HARDSTORE_INVALID_ARGUMENT);
  CHECK(tok == NULL && resp == NULL);
  OK(hardstore_idem_get(s, S("acme"), S("k"), &found, &info));
  CHECK(!found);
  EXPECT(hardstore_idem_complete(s, NULL, false, 0, S("x")), HARDSTORE_NULL_ARGUMENT);
  EXPECT(hardstore_kv_put(s, S(""), S("k"), S("v"), HARDSTORE_DURABLE),
         HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_kv_put(s, S("ns"), S(""), S("v"), HARDSTORE_DURABLE),
         HARDSTORE_INVALID_ARGUMENT);
  OK(hardstore_kv_put(s, S("ns"), S("k"), S("v"), HARDSTORE_DURABLE));
  bool existed = false;
  OK(hardstore_kv_delete(s, S("ns"), S("k"), HARDSTORE_DURABLE, &existed));
  CHECK(existed);
  OK(hardstore_kv_delete(s, S("ns"), S("k"), HARDSTORE_DURABLE, &existed));
  CHECK(!existed);
  EXPECT(hardstore_tx_begin(s, 9, &tx), HARDSTORE_INVALID_ARGUMENT);
  hardstore_tx_free(NULL);
  hardstore_idem_token_free(NULL);
  hardstore_idem_response_free(NULL);
  hardstore_clock_free(NULL);

  /* Everything survives a reopen. */
  OK(hardstore_store_close(s));
  s = NULL;
  OK(hardstore_options_new(&opts));
  OK(hardstore_options_set_clock(opts, clock));
  OK(hardstore_store_open(S(path), opts, &s));
  hardstore_options_free(opts);
  OK(hardstore_kv_get(s, S("orders"), S("o-2"), &found, &val));
  CHECK(found);
  hardstore_bytes_free(val);
  /* A key begun before the reopen was in memory only: its holder is gone, the key
   * starts afresh and the old token is fenced off. */
  begun after = begin(s, "k1", "anything", 1000);
  CHECK(after.outcome == HARDSTORE_IDEM_STARTED);
  CHECK(hardstore_idem_token_fence(after.token) > hardstore_idem_token_fence(before_reopen));
  EXPECT(hardstore_idem_complete(s, before_reopen, false, 0, S("late")), HARDSTORE_FENCED);
  OK(hardstore_idem_complete(s, after.token, false, 0, S("done")));
  hardstore_idem_token_free(before_reopen);
  done(&after);
  OK(hardstore_store_close(s));
  hardstore_clock_free(clock);

  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("idempotency_test: ok\n");
  return 0;
}
