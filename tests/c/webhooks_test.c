/* The webhook outbox through the C ABI: a secret, an endpoint, a message committed in a
 * transaction with app state, a claim with headers the receiver's verify accepts (and
 * refuses when edited or stale), ack, fail on the schedule, a lapsed lease fencing the
 * old holder, removal asking for its count, and bad input refused with its code.
 *
 * Usage: webhooks_test DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define T0 1700000000000000ull
#define SEC 1000000ull

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  char path[1024];
  snprintf(path, sizeof path, "%s/webhooks.hs", argv[1]);
  hardstore_clock *clock = NULL;
  OK(hardstore_clock_new_manual(T0, &clock));
  hardstore_options *opts = NULL;
  OK(hardstore_options_new(&opts));
  OK(hardstore_options_set_clock(opts, clock));
  hardstore_store *s = NULL;
  OK(hardstore_store_open(S(path), opts, &s));
  hardstore_options_free(opts);

  hardstore_bytes *secret = NULL;
  OK(hardstore_webhook_secret_generate(&secret));
  const uint8_t *sp = hardstore_bytes_data(secret);
  size_t sl = hardstore_bytes_len(secret);
  CHECK(sl > 6 && memcmp(sp, "whsec_", 6) == 0);
  OK(hardstore_webhook_endpoint_put(s, S("acme"), S("orders"), S("https://acme.example/hooks"),
                                    &sp, &sl, 1));

  /* A message with app state, in one transaction. */
  hardstore_tx *tx = NULL;
  OK(hardstore_tx_begin(s, HARDSTORE_DURABLE, &tx));
  OK(hardstore_tx_kv_put(tx, S("orders"), S("1001"), S("paid")));
  OK(hardstore_tx_outbox_enqueue(tx, S("acme"), S("orders"), S("order.paid"), S("{\"id\":1001}")));
  OK(hardstore_tx_commit(tx));
  hardstore_tx_free(tx);

  hardstore_webhook_deliveries *claim = NULL;
  OK(hardstore_webhook_claim(s, 10, 30 * SEC, &claim));
  CHECK(hardstore_webhook_claim_len(claim) == 1);
  hardstore_webhook_delivery d;
  OK(hardstore_webhook_delivery_get(claim, 0, &d));
  CHECK(d.attempt == 1 && d.payload_len == 11 && memcmp(d.payload, "{\"id\":1001}", 11) == 0);
  CHECK(d.url_len == strlen("https://acme.example/hooks"));
  CHECK(d.webhook_id_len == 20 && memcmp(d.webhook_id, "msg_", 4) == 0);
  uint64_t now_s = T0 / SEC;
  OK(hardstore_webhook_verify(&sp, &sl, 1, d.webhook_id, d.webhook_id_len, d.webhook_timestamp,
                              d.webhook_timestamp_len, d.webhook_signature,
                              d.webhook_signature_len, d.payload, d.payload_len, 300, now_s));
  EXPECT(hardstore_webhook_verify(&sp, &sl, 1, d.webhook_id, d.webhook_id_len,
                                  d.webhook_timestamp, d.webhook_timestamp_len,
                                  d.webhook_signature, d.webhook_signature_len,
                                  (const uint8_t *)"{\"id\":1002}", 11, 300, now_s),
         HARDSTORE_SIGNATURE_INVALID);
  EXPECT(hardstore_webhook_verify(&sp, &sl, 1, d.webhook_id, d.webhook_id_len,
                                  d.webhook_timestamp, d.webhook_timestamp_len,
                                  d.webhook_signature, d.webhook_signature_len, d.payload,
                                  d.payload_len, 300, now_s + 301),
         HARDSTORE_SIGNATURE_INVALID);
  EXPECT(hardstore_webhook_verify(&sp, &sl, 1, d.webhook_id, d.webhook_id_len,
                                  d.webhook_timestamp, d.webhook_timestamp_len, S("v1,AAAA"),
                                  d.payload, d.payload_len, 300, now_s),
         HARDSTORE_SIGNATURE_INVALID);

  /* A failure: due again in 5 s. */
  hardstore_webhook_fail_outcome fo;
  OK(hardstore_webhook_fail(s, claim, 0, S("HTTP 503"), &fo));
  CHECK(!fo.dead && fo.retry_at == T0 + 5 * SEC);
  EXPECT(hardstore_webhook_ack(s, claim, 0), HARDSTORE_FENCED);
  hardstore_webhook_claim_free(claim);
  OK(hardstore_webhook_claim(s, 10, 30 * SEC, &claim));
  CHECK(hardstore_webhook_claim_len(claim) == 0);
  hardstore_webhook_claim_free(claim);
  OK(hardstore_clock_advance(clock, 5 * SEC));

  /* A lapsed lease: claimed again, the old holder fenced. */
  hardstore_webhook_deliveries *first = NULL, *second = NULL;
  OK(hardstore_webhook_claim(s, 10, 30 * SEC, &first));
  CHECK(hardstore_webhook_claim_len(first) == 1);
  OK(hardstore_clock_advance(clock, 31 * SEC));
  OK(hardstore_webhook_claim(s, 10, 30 * SEC, &second));
  OK(hardstore_webhook_delivery_get(second, 0, &d));
  CHECK(d.attempt == 3);
  EXPECT(hardstore_webhook_ack(s, first, 0), HARDSTORE_FENCED);
  OK(hardstore_webhook_ack(s, second, 0));
  hardstore_webhook_claim_free(first);
  hardstore_webhook_claim_free(second);
  uint64_t pending = 9, leased = 9;
  OK(hardstore_webhook_counts(s, &pending, &leased));
  CHECK(pending == 0 && leased == 0);

  /* Endpoint state, removal asking for its messages. */
  bool found = false;
  hardstore_webhook_endpoint ep;
  OK(hardstore_webhook_endpoint_get(s, S("acme"), S("orders"), &found, &ep));
  CHECK(found && ep.enabled && ep.failing == 0 && ep.secrets == 1);
  uint64_t id = 0, deleted = 0;
  OK(hardstore_webhook_enqueue(s, S("acme"), S("orders"), S("t"), S("{}"), HARDSTORE_DURABLE, &id));
  CHECK(id == 2);
  EXPECT(hardstore_webhook_endpoint_remove(s, S("acme"), S("orders"), 0, &deleted),
         HARDSTORE_CONFIRMATION_REQUIRED);
  OK(hardstore_webhook_endpoint_remove(s, S("acme"), S("orders"), 1, &deleted));
  CHECK(deleted == 1);
  OK(hardstore_webhook_endpoint_get(s, S("acme"), S("orders"), &found, &ep));
  CHECK(!found);

  /* Bad input. */
  EXPECT(hardstore_webhook_enqueue(s, S("acme"), S("orders"), S("t"), S("{}"), HARDSTORE_DURABLE,
                                   &id),
         HARDSTORE_NOT_FOUND);
  const uint8_t *bad = (const uint8_t *)"nope";
  size_t badl = 4;
  EXPECT(hardstore_webhook_endpoint_put(s, S("acme"), S("x"), S("https://a"), &bad, &badl, 1),
         HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_webhook_endpoint_put(s, S("acme"), S("x"), S("https://a"), NULL, NULL, 0),
         HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_webhook_endpoint_put(s, S("acme"), S("x"), S("https://a"), NULL, &sl, 1),
         HARDSTORE_NULL_ARGUMENT);
  EXPECT(hardstore_webhook_claim(s, 0, SEC, &claim), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_webhook_claim(s, 1, 0, &claim), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_webhook_delivery_get(NULL, 0, &d), HARDSTORE_NULL_ARGUMENT);
  EXPECT(hardstore_webhook_verify(&sp, &sl, 1, S("msg_1"), S("12x"), S("v1,AAAA"), S("{}"), 300,
                                  now_s),
         HARDSTORE_SIGNATURE_INVALID);
  hardstore_webhook_claim_free(NULL);

  hardstore_bytes_free(secret);
  OK(hardstore_store_close(s));
  hardstore_clock_free(clock);
  if (failures) fprintf(stderr, "%d failures\n", failures);
  return failures ? 1 : 0;
}
