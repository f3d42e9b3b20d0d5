/* Sealed fields through the C ABI: keys as bytes and by callback, seal and open, a
 * sealed app value put inside a transaction, shred (every copy reads
 * HARDSTORE_SHREDDED, the audit log still verifies), rotation (add, make primary,
 * re-wrap in steps, destroy asking for its count), a wrong key, cut and edited blobs,
 * and bad input refused with its code.
 *
 * Usage: sealing_test DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static int callback_calls = 0;

static bool key_callback(void *user_data, uint32_t key_id, uint8_t *out_key) {
  (void)user_data;
  callback_calls++;
  if (key_id != 5) return false;
  memset(out_key, 0x55, 32);
  return true;
}

static hardstore_store *open_with_keys(const char *path, int second) {
  hardstore_options *opts = NULL;
  OK(hardstore_options_new(&opts));
  uint8_t k1[32], k2[32];
  memset(k1, 1, sizeof k1);
  memset(k2, 2, sizeof k2);
  OK(hardstore_options_set_sealing_key(opts, 1, k1, sizeof k1));
  if (second) OK(hardstore_options_set_sealing_key(opts, 2, k2, sizeof k2));
  hardstore_store *s = NULL;
  OK(hardstore_store_open(S(path), opts, &s));
  hardstore_options_free(opts);
  return s;
}

static int opens_to(hardstore_store *s, const hardstore_bytes *b, const char *want) {
  hardstore_bytes *p = NULL;
  if (hardstore_sealing_open(s, hardstore_bytes_data(b), hardstore_bytes_len(b), &p) !=
      HARDSTORE_OK)
    return 0;
  int same = hardstore_bytes_len(p) == strlen(want) &&
             memcmp(hardstore_bytes_data(p), want, strlen(want)) == 0;
  hardstore_bytes_free(p);
  return same;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  char path[1024];
  snprintf(path, sizeof path, "%s/sealing.hs", argv[1]);
  hardstore_store *s = open_with_keys(path, 1);
  OK(hardstore_sealing_add_key(s, 1));

  hardstore_bytes *card = NULL;
  OK(hardstore_sealing_seal(s, S("user:42"), S("4111 1111 1111 1111"), &card));
  CHECK(opens_to(s, card, "4111 1111 1111 1111"));
  hardstore_bytes *other = NULL;
  OK(hardstore_sealing_seal(s, S("user:7"), S("kept"), &other));

  /* A sealed value put in a transaction with an audit entry. */
  hardstore_tx *tx = NULL;
  OK(hardstore_tx_begin(s, HARDSTORE_DURABLE, &tx));
  OK(hardstore_tx_kv_put_sealed(tx, S("users"), S("42"), S("user:42"), S("ana@example.com")));
  OK(hardstore_tx_commit(tx));
  hardstore_tx_free(tx);
  bool found = false;
  hardstore_bytes *stored = NULL;
  OK(hardstore_kv_get(s, S("users"), S("42"), &found, &stored));
  CHECK(found && opens_to(s, stored, "ana@example.com"));

  /* Shred: every copy is gone, other subjects stay, the log verifies. */
  bool shredded = false;
  OK(hardstore_sealing_shred(s, S("user:42"), &shredded));
  CHECK(shredded);
  OK(hardstore_sealing_shred(s, S("user:42"), &shredded));
  CHECK(!shredded);
  hardstore_bytes *p = NULL;
  EXPECT(hardstore_sealing_open(s, hardstore_bytes_data(card), hardstore_bytes_len(card), &p),
         HARDSTORE_SHREDDED);
  EXPECT(hardstore_sealing_open(s, hardstore_bytes_data(stored), hardstore_bytes_len(stored), &p),
         HARDSTORE_SHREDDED);
  CHECK(opens_to(s, other, "kept"));
  hardstore_verify_report report;
  OK(hardstore_audit_verify(s, &report));
  CHECK(report.ok);

  /* Cut and edited blobs. */
  const uint8_t *d = hardstore_bytes_data(other);
  size_t n = hardstore_bytes_len(other);
  EXPECT(hardstore_sealing_open(s, d, n - 1, &p), HARDSTORE_SEALED_INVALID);
  EXPECT(hardstore_sealing_open(s, d, 3, &p), HARDSTORE_SEALED_INVALID);
  uint8_t *edited = malloc(n);
  memcpy(edited, d, n);
  edited[n - 5] ^= 1;
  EXPECT(hardstore_sealing_open(s, edited, n, &p), HARDSTORE_SEALED_INVALID);
  free(edited);
  EXPECT(hardstore_sealing_open(s, (const uint8_t *)"plain", 5, &p), HARDSTORE_SEALED_INVALID);

  /* Rotation. */
  OK(hardstore_sealing_add_key(s, 2));
  OK(hardstore_sealing_set_primary(s, 2));
  uint64_t lost = 0;
  EXPECT(hardstore_sealing_destroy_key(s, 1, 0, &lost), HARDSTORE_CONFIRMATION_REQUIRED);
  hardstore_rewrap_report rw;
  OK(hardstore_sealing_rewrap(s, 100, &rw));
  CHECK(rw.rewrapped == 1 && rw.remaining == 0);
  OK(hardstore_sealing_destroy_key(s, 1, 0, &lost));
  CHECK(lost == 0);
  CHECK(opens_to(s, other, "kept"));
  hardstore_sealing_keys *keys = NULL;
  OK(hardstore_sealing_key_list(s, &keys));
  CHECK(hardstore_sealing_key_list_len(keys) == 2);
  hardstore_sealing_key k;
  OK(hardstore_sealing_key_list_get(keys, 0, &k));
  CHECK(k.id == 1 && k.status == HARDSTORE_KEY_DESTROYED && !k.primary);
  OK(hardstore_sealing_key_list_get(keys, 1, &k));
  CHECK(k.id == 2 && k.status == HARDSTORE_KEY_ENABLED && k.primary && k.subjects == 1 &&
        k.available);
  EXPECT(hardstore_sealing_key_list_get(keys, 2, &k), HARDSTORE_INVALID_ARGUMENT);
  hardstore_sealing_key_list_free(keys);
  EXPECT(hardstore_sealing_disable_key(s, 2), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_sealing_enable_key(s, 1), HARDSTORE_KEY_UNAVAILABLE);

  /* Bad input. */
  EXPECT(hardstore_sealing_seal(s, S(""), S("x"), &p), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_sealing_seal(s, S("u"), S("x"), NULL), HARDSTORE_NULL_ARGUMENT);
  EXPECT(hardstore_sealing_add_key(s, 9), HARDSTORE_KEY_UNAVAILABLE);
  hardstore_options *opts = NULL;
  OK(hardstore_options_new(&opts));
  uint8_t shortkey[16] = {0};
  EXPECT(hardstore_options_set_sealing_key(opts, 1, shortkey, sizeof shortkey),
         HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_options_set_sealing_key_callback(opts, NULL, NULL), HARDSTORE_NULL_ARGUMENT);
  hardstore_options_free(opts);
  OK(hardstore_store_close(s));

  /* Without key 2 the field is unavailable, named as such. */
  s = open_with_keys(path, 0);
  EXPECT(hardstore_sealing_open(s, hardstore_bytes_data(other), hardstore_bytes_len(other), &p),
         HARDSTORE_KEY_UNAVAILABLE);
  OK(hardstore_store_close(s));

  /* Keys by callback. */
  char path2[1024];
  snprintf(path2, sizeof path2, "%s/sealing-callback.hs", argv[1]);
  OK(hardstore_options_new(&opts));
  OK(hardstore_options_set_sealing_key_callback(opts, key_callback, NULL));
  OK(hardstore_store_open(S(path2), opts, &s));
  hardstore_options_free(opts);
  OK(hardstore_sealing_add_key(s, 5));
  hardstore_bytes *cb = NULL;
  OK(hardstore_sealing_seal(s, S("u"), S("by callback"), &cb));
  CHECK(opens_to(s, cb, "by callback") && callback_calls >= 1);
  hardstore_bytes_free(cb);
  OK(hardstore_store_close(s));

  hardstore_bytes_free(card);
  hardstore_bytes_free(other);
  hardstore_bytes_free(stored);
  hardstore_sealing_key_list_free(NULL);
  if (failures) fprintf(stderr, "%d failures\n", failures);
  return failures ? 1 : 0;
}
