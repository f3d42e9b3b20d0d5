/* The audit tree's hash, leaf bytes and C2SP signed checkpoints through the C ABI: a
 * SHA-256 store, proofs verified under its hash (and refused under the other), note
 * keys, a signed and cosigned checkpoint, the quorum, a proof bundle verified offline,
 * and typed errors for bad input.
 *
 * Usage: tlog_test DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static const uint8_t *D(const hardstore_bytes *b) { return hardstore_bytes_data(b); }
static size_t L(const hardstore_bytes *b) { return hardstore_bytes_len(b); }

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  char path[1024];
  snprintf(path, sizeof path, "%s/tlog.hs", argv[1]);
  hardstore_options *opts = NULL;
  OK(hardstore_options_new(&opts));
  EXPECT(hardstore_options_set_audit_hash(opts, 7), HARDSTORE_INVALID_ARGUMENT);
  OK(hardstore_options_set_audit_hash(opts, HARDSTORE_AUDIT_HASH_SHA256));
  hardstore_store *s = NULL;
  OK(hardstore_store_open(S(path), opts, &s));
  hardstore_options_free(opts);
  uint32_t hash = 0;
  OK(hardstore_audit_hash(s, &hash));
  CHECK(hash == HARDSTORE_AUDIT_HASH_SHA256);

  for (int i = 0; i < 9; i++) {
    hardstore_audit_event *ev = NULL;
    OK(hardstore_audit_event_new(S("acme"), S("invoice.paid"), &ev));
    OK(hardstore_audit_event_add_detail(ev, S("n"), S("1")));
    uint64_t seq = 0;
    uint8_t leaf[32];
    OK(hardstore_audit_append(s, ev, HARDSTORE_DURABLE, &seq, leaf));
    hardstore_audit_event_free(ev);
  }

  /* Leaf bytes: version 1, then seq 4 (one varint byte). */
  hardstore_audit_entry *e = NULL;
  OK(hardstore_audit_get(s, 4, &e));
  hardstore_bytes *lb = NULL;
  OK(hardstore_audit_entry_leaf_bytes(e, &lb));
  CHECK(L(lb) > 2 && D(lb)[0] == 1 && D(lb)[1] == 4);
  EXPECT(hardstore_audit_entry_leaf_bytes(e, NULL), HARDSTORE_NULL_ARGUMENT);
  uint8_t leaf[32], root[32];
  OK(hardstore_audit_entry_leaf_hash(e, leaf));
  OK(hardstore_audit_root(s, 9, root));
  hardstore_bytes *proof = NULL;
  OK(hardstore_audit_inclusion_proof(s, 4, 9, &proof));
  OK(hardstore_verify_inclusion_with_hash(HARDSTORE_AUDIT_HASH_SHA256, leaf, 4, 9, D(proof),
                                          L(proof), root));
  EXPECT(hardstore_verify_inclusion_with_hash(HARDSTORE_AUDIT_HASH_BLAKE3, leaf, 4, 9,
                                              D(proof), L(proof), root),
         HARDSTORE_PROOF_INVALID);
  EXPECT(hardstore_verify_inclusion_with_hash(0, leaf, 4, 9, D(proof), L(proof), root),
         HARDSTORE_INVALID_ARGUMENT);
  hardstore_bytes_free(proof);
  uint8_t old_root[32];
  OK(hardstore_audit_root(s, 3, old_root));
  OK(hardstore_audit_consistency_proof(s, 3, 9, &proof));
  OK(hardstore_verify_consistency_with_hash(HARDSTORE_AUDIT_HASH_SHA256, 3, 9, old_root, root,
                                            D(proof), L(proof)));
  EXPECT(hardstore_verify_consistency(3, 9, old_root, root, D(proof), L(proof)),
         HARDSTORE_PROOF_INVALID);
  hardstore_bytes_free(proof);

  /* Keys. */
  hardstore_note_signer *log = NULL, *w = NULL, *again = NULL;
  EXPECT(hardstore_note_signer_generate(S("has space"), false, &log), HARDSTORE_INVALID_ARGUMENT);
  OK(hardstore_note_signer_generate(S("example.com/log"), false, &log));
  OK(hardstore_note_signer_generate(S("witness.example/w"), true, &w));
  hardstore_bytes *skey = NULL, *vkey = NULL, *wvkey = NULL, *vkey2 = NULL;
  OK(hardstore_note_signer_skey(log, &skey));
  OK(hardstore_note_signer_vkey(log, &vkey));
  OK(hardstore_note_signer_vkey(w, &wvkey));
  OK(hardstore_note_signer_from_skey(D(skey), L(skey), &again));
  OK(hardstore_note_signer_vkey(again, &vkey2));
  CHECK(L(vkey) == L(vkey2) && memcmp(D(vkey), D(vkey2), L(vkey)) == 0);
  EXPECT(hardstore_note_signer_from_skey(S("PRIVATE+KEY+x+00000000+AQ=="), &again),
         HARDSTORE_INVALID_ARGUMENT);

  /* Sign, cosign, verify. */
  hardstore_bytes *note = NULL, *cosigned = NULL;
  EXPECT(hardstore_audit_checkpoint_sign(s, w, &note), HARDSTORE_INVALID_ARGUMENT);
  OK(hardstore_audit_checkpoint_sign(s, log, &note));
  CHECK(L(note) > 20 && memcmp(D(note), "example.com/log\n9\n", 18) == 0);
  OK(hardstore_checkpoint_note_cosign(D(note), L(note), w, 1767225600, &cosigned));
  uint64_t size = 0;
  uint8_t cp_root[32];
  size_t cos = 0;
  OK(hardstore_checkpoint_note_verify(D(cosigned), L(cosigned), D(vkey), L(vkey), D(wvkey),
                                      L(wvkey), 1, &size, cp_root, &cos));
  CHECK(size == 9 && cos == 1 && memcmp(cp_root, root, 32) == 0);
  EXPECT(hardstore_checkpoint_note_verify(D(note), L(note), D(vkey), L(vkey), D(wvkey),
                                          L(wvkey), 1, &size, cp_root, &cos),
         HARDSTORE_SIGNATURE_INVALID);
  {
    /* One witness listed twice never counts twice toward a quorum. */
    char twice[512];
    int n2 = snprintf(twice, sizeof twice, "%.*s\n%.*s", (int)L(wvkey), (const char *)D(wvkey),
                      (int)L(wvkey), (const char *)D(wvkey));
    CHECK(n2 > 0 && (size_t)n2 < sizeof twice);
    EXPECT(hardstore_checkpoint_note_verify(D(cosigned), L(cosigned), D(vkey), L(vkey),
                                            (const uint8_t *)twice, (size_t)n2, 2, &size, cp_root,
                                            &cos),
           HARDSTORE_INVALID_ARGUMENT);
  }
  EXPECT(hardstore_checkpoint_note_verify(D(note), L(note), D(wvkey), L(wvkey), NULL, 0, 0,
                                          &size, cp_root, &cos),
         HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_checkpoint_note_verify(S("not a note"), D(vkey), L(vkey), NULL, 0, 0, &size,
                                          cp_root, &cos),
         HARDSTORE_CHECKPOINT_INVALID);
  EXPECT(hardstore_checkpoint_note_verify(D(note), L(note), D(vkey), L(vkey), NULL, 0, 0, NULL,
                                          cp_root, &cos),
         HARDSTORE_NULL_ARGUMENT);
  /* An edited size fails the log's signature. */
  char *edited = malloc(L(note));
  memcpy(edited, D(note), L(note));
  edited[16] = '8';
  EXPECT(hardstore_checkpoint_note_verify((const uint8_t *)edited, L(note), D(vkey), L(vkey),
                                          NULL, 0, 0, &size, cp_root, &cos),
         HARDSTORE_SIGNATURE_INVALID);
  free(edited);

  /* A proof bundle, verified offline. */
  hardstore_bytes *bundle = NULL, *got = NULL;
  OK(hardstore_audit_proof_bundle(s, 4, D(cosigned), L(cosigned), &bundle));
  uint64_t index = 0;
  OK(hardstore_proof_bundle_verify(D(bundle), L(bundle), D(vkey), L(vkey), D(wvkey), L(wvkey),
                                   1, HARDSTORE_AUDIT_HASH_SHA256, &index, &got));
  CHECK(index == 4 && L(got) == L(lb) && memcmp(D(got), D(lb), L(lb)) == 0);
  hardstore_bytes_free(got);
  got = NULL;
  EXPECT(hardstore_proof_bundle_verify(D(bundle), L(bundle), D(vkey), L(vkey), NULL, 0, 0,
                                       HARDSTORE_AUDIT_HASH_BLAKE3, &index, &got),
         HARDSTORE_PROOF_INVALID);
  CHECK(got == NULL);
  EXPECT(hardstore_audit_proof_bundle(s, 99, D(cosigned), L(cosigned), &got), HARDSTORE_NOT_FOUND);

  hardstore_bytes_free(bundle);
  hardstore_bytes_free(note);
  hardstore_bytes_free(cosigned);
  hardstore_bytes_free(skey);
  hardstore_bytes_free(vkey);
  hardstore_bytes_free(vkey2);
  hardstore_bytes_free(wvkey);
  hardstore_bytes_free(lb);
  hardstore_note_signer_free(log);
  hardstore_note_signer_free(w);
  hardstore_note_signer_free(again);
  hardstore_note_signer_free(NULL);
  hardstore_audit_entry_free(e);
  OK(hardstore_store_close(s));
  if (failures) fprintf(stderr, "tlog_test: %d failures\n", failures);
  else printf("tlog_test: ok\n");
  return failures ? 1 : 0;
}
