/* The audit log through the C ABI: appends from 4 threads, queries with paging,
 * proofs checked with the store-free verifiers, checkpoints, verify, export, and every
 * kind of bad input answered with its documented code and no change to the store.
 *
 * Usage: audit_test DIR   (DIR is an existing, empty scratch directory) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static hardstore_store *store;

static uint64_t audit_size(void) {
  uint64_t n = 0;
  OK(hardstore_audit_size(store, &n));
  return n;
}

typedef struct {
  int thread;
  int count;
  uint64_t last_seq;
} worker_arg;

static void *worker(void *p) {
  worker_arg *w = p;
  char tenant[32], actor[32];
  snprintf(tenant, sizeof tenant, "tenant-%d", w->thread % 2);
  snprintf(actor, sizeof actor, "actor-%d", w->thread);
  for (int i = 0; i < w->count; i++) {
    hardstore_audit_event *ev = NULL;
    OK(hardstore_audit_event_new(S(tenant), S("doc.update"), &ev));
    OK(hardstore_audit_event_set_actor(ev, S(actor)));
    OK(hardstore_audit_event_set_resource(ev, S("doc/7")));
    OK(hardstore_audit_event_set_outcome(ev, S("success")));
    OK(hardstore_audit_event_set_ip(ev, S("192.0.2.1")));
    OK(hardstore_audit_event_set_user_agent(ev, S("c-test")));
    OK(hardstore_audit_event_add_detail(ev, S("i"), S("x")));
    uint64_t seq = 0;
    OK(hardstore_audit_append(store, ev,
                              i % 10 == 0 ? HARDSTORE_DURABLE : HARDSTORE_BUFFERED,
                              &seq, NULL));
    if (i > 0) CHECK(seq > w->last_seq);
    w->last_seq = seq;
    hardstore_audit_event_free(ev);
  }
  return NULL;
}

static void test_threads_and_query(void) {
  pthread_t t[4];
  worker_arg args[4];
  for (int i = 0; i < 4; i++) {
    args[i].thread = i;
    args[i].count = 50;
    args[i].last_seq = 0;
    CHECK(pthread_create(&t[i], NULL, worker, &args[i]) == 0);
  }
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  CHECK(audit_size() == 200);

  /* Page through tenant-1 by actor-3, 7 at a time, newest first. */
  hardstore_audit_query *q = NULL;
  OK(hardstore_audit_query_new(S("tenant-1"), &q));
  OK(hardstore_audit_query_set_actor(q, S("actor-3")));
  OK(hardstore_audit_query_set_newest_first(q, true));
  OK(hardstore_audit_query_set_limit(q, 7));
  int seen = 0;
  uint64_t prev = UINT64_MAX;
  for (;;) {
    hardstore_audit_iter *it = NULL;
    OK(hardstore_audit_query_run(store, q, &it));
    if (!it) break;
    const hardstore_audit_entry *e = NULL;
    for (;;) {
      OK(hardstore_audit_iter_next(it, &e));
      if (!e) break;
      uint64_t seq = hardstore_audit_entry_seq(e);
      CHECK(seq < prev);
      prev = seq;
      const uint8_t *p = NULL;
      size_t n = 0;
      OK(hardstore_audit_entry_field(e, HARDSTORE_FIELD_ACTOR, &p, &n));
      CHECK(n == 7 && memcmp(p, "actor-3", 7) == 0);
      OK(hardstore_audit_entry_field(e, HARDSTORE_FIELD_IP, &p, &n));
      CHECK(n == 9 && memcmp(p, "192.0.2.1", 9) == 0);
      CHECK(hardstore_audit_entry_detail_count(e) == 1);
      seen++;
    }
    hardstore_bytes *cursor = NULL;
    OK(hardstore_audit_iter_cursor(it, &cursor));
    hardstore_audit_iter_free(it);
    if (!cursor) break;
    OK(hardstore_audit_query_set_cursor(q, hardstore_bytes_data(cursor),
                                        hardstore_bytes_len(cursor)));
    hardstore_bytes_free(cursor);
  }
  CHECK(seen == 50);
  /* A cursor from this query is refused by another. */
  hardstore_audit_query_free(q);
}

static void test_entry_and_proofs(void) {
  uint64_t size = audit_size();
  uint8_t root[32];
  OK(hardstore_audit_root(store, size, root));

  hardstore_audit_entry *e = NULL;
  OK(hardstore_audit_get(store, 17, &e));
  CHECK(hardstore_audit_entry_seq(e) == 17);
  CHECK(hardstore_audit_entry_time(e) > 0);
  const uint8_t *k, *v;
  size_t kl, vl;
  OK(hardstore_audit_entry_detail(e, 0, &k, &kl, &v, &vl));
  CHECK(kl == 1 && k[0] == 'i' && vl == 1 && v[0] == 'x');
  EXPECT(hardstore_audit_entry_detail(e, 1, &k, &kl, &v, &vl), HARDSTORE_NOT_FOUND);
  uint8_t leaf[32];
  OK(hardstore_audit_entry_leaf_hash(e, leaf));
  hardstore_audit_entry_free(e);

  hardstore_bytes *proof = NULL;
  OK(hardstore_audit_inclusion_proof(store, 17, size, &proof));
  size_t expected_len = 0;
  OK(hardstore_inclusion_proof_len(17, size, &expected_len));
  CHECK(hardstore_bytes_len(proof) == expected_len);
  CHECK(hardstore_bytes_len(proof) <= 32 * 8); /* ceil(log2 200) = 8 */
  OK(hardstore_verify_inclusion(leaf, 17, size, hardstore_bytes_data(proof),
                                hardstore_bytes_len(proof), root));
  /* Wrong index, wrong root, wrong length: all refused. */
  EXPECT(hardstore_verify_inclusion(leaf, 18, size, hardstore_bytes_data(proof),
                                    hardstore_bytes_len(proof), root),
         HARDSTORE_PROOF_INVALID);
  uint8_t bad_root[32];
  memcpy(bad_root, root, 32);
  bad_root[5] ^= 1;
  EXPECT(hardstore_verify_inclusion(leaf, 17, size, hardstore_bytes_data(proof),
                                    hardstore_bytes_len(proof), bad_root),
         HARDSTORE_PROOF_INVALID);
  EXPECT(hardstore_verify_inclusion(leaf, 17, size, hardstore_bytes_data(proof),
                                    hardstore_bytes_len(proof) - 1, root),
         HARDSTORE_PROOF_INVALID);
  EXPECT(hardstore_verify_inclusion(NULL, 17, size, hardstore_bytes_data(proof),
                                    hardstore_bytes_len(proof), root),
         HARDSTORE_NULL_ARGUMENT);
  /* Copy out with a too-small buffer. */
  uint8_t small[8];
  size_t n = 0;
  EXPECT(hardstore_bytes_copy(proof, small, sizeof small, &n), HARDSTORE_BUFFER_TOO_SMALL);
  CHECK(n == hardstore_bytes_len(proof));
  hardstore_bytes_free(proof);

  /* Consistency from an older size. */
  uint8_t old_root[32];
  OK(hardstore_audit_root(store, 37, old_root));
  hardstore_bytes *cons = NULL;
  OK(hardstore_audit_consistency_proof(store, 37, size, &cons));
  OK(hardstore_verify_consistency(37, size, old_root, root, hardstore_bytes_data(cons),
                                  hardstore_bytes_len(cons)));
  EXPECT(hardstore_verify_consistency(36, size, old_root, root, hardstore_bytes_data(cons),
                                      hardstore_bytes_len(cons)),
         HARDSTORE_PROOF_INVALID);
  EXPECT(hardstore_verify_consistency(37, size, root, root, hardstore_bytes_data(cons),
                                      hardstore_bytes_len(cons)),
         HARDSTORE_PROOF_INVALID);
  hardstore_bytes_free(cons);
  EXPECT(hardstore_audit_inclusion_proof(store, size, size, &proof),
         HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_audit_root(store, size + 1, root), HARDSTORE_INVALID_ARGUMENT);
}

static void test_checkpoint_and_verify(const char *key) {
  hardstore_bytes *cp = NULL;
  OK(hardstore_audit_checkpoint(store, &cp));
  CHECK(hardstore_bytes_len(cp) == HARDSTORE_CHECKPOINT_LEN);
  hardstore_checkpoint_info info;
  OK(hardstore_checkpoint_parse(hardstore_bytes_data(cp), hardstore_bytes_len(cp), &info));
  CHECK(info.size == audit_size());
  CHECK(info.has_mac);
  uint8_t id[16];
  OK(hardstore_store_id(store, id));
  CHECK(memcmp(id, info.store_id, 16) == 0);
  OK(hardstore_checkpoint_verify_mac(hardstore_bytes_data(cp), hardstore_bytes_len(cp),
                                     S(key)));
  EXPECT(hardstore_checkpoint_verify_mac(hardstore_bytes_data(cp), hardstore_bytes_len(cp),
                                         S("wrong key")),
         HARDSTORE_CHECKPOINT_INVALID);
  EXPECT(hardstore_checkpoint_parse(hardstore_bytes_data(cp), 50, &info),
         HARDSTORE_CHECKPOINT_INVALID);

  /* The log grows; prove it only grew since the checkpoint. */
  hardstore_audit_event *ev = NULL;
  OK(hardstore_audit_event_new(S("tenant-0"), S("late"), &ev));
  uint64_t seq;
  uint8_t leaf[32];
  OK(hardstore_audit_append(store, ev, HARDSTORE_DURABLE, &seq, leaf));
  hardstore_audit_event_free(ev);
  hardstore_bytes *new_cp = NULL, *proof = NULL;
  OK(hardstore_audit_prove_since(store, hardstore_bytes_data(cp), hardstore_bytes_len(cp),
                                 &new_cp, &proof));
  hardstore_checkpoint_info new_info;
  OK(hardstore_checkpoint_parse(hardstore_bytes_data(new_cp), hardstore_bytes_len(new_cp),
                                &new_info));
  CHECK(new_info.size == info.size + 1);
  OK(hardstore_verify_consistency(info.size, new_info.size, info.root, new_info.root,
                                  hardstore_bytes_data(proof), hardstore_bytes_len(proof)));
  hardstore_bytes_free(proof);
  hardstore_bytes_free(new_cp);
  hardstore_bytes_free(cp);

  hardstore_verify_report report;
  OK(hardstore_audit_verify(store, &report));
  CHECK(report.ok);
  CHECK(report.size == audit_size());
  CHECK(report.checked == report.size);
}

static void test_export(const char *dir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/export.jsonl", dir);
  hardstore_audit_query *q = NULL;
  OK(hardstore_audit_query_new(S("tenant-0"), &q));
  uint64_t count = 0;
  OK(hardstore_audit_export_jsonl(store, q, S(path), &count));
  CHECK(count == 101);
  FILE *f = fopen(path, "r");
  CHECK(f != NULL);
  if (f) {
    int lines = 0, c;
    while ((c = fgetc(f)) != EOF)
      if (c == '\n') lines++;
    fclose(f);
    CHECK(lines == 101);
  }
  hardstore_audit_query_free(q);
}

static void test_bad_input(void) {
  uint64_t before = audit_size();
  hardstore_audit_event *ev = NULL;
  uint64_t seq = 0;
  /* NULL store, NULL event, NULL out-pointer. */
  OK(hardstore_audit_event_new(S("t"), S("a"), &ev));
  EXPECT(hardstore_audit_append(NULL, ev, HARDSTORE_DURABLE, &seq, NULL),
         HARDSTORE_NULL_ARGUMENT);
  EXPECT(hardstore_audit_append(store, NULL, HARDSTORE_DURABLE, &seq, NULL),
         HARDSTORE_NULL_ARGUMENT);
  EXPECT(hardstore_audit_append(store, ev, HARDSTORE_DURABLE, NULL, NULL),
         HARDSTORE_NULL_ARGUMENT);
  EXPECT(hardstore_audit_append(store, ev, 7, &seq, NULL), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_audit_size(NULL, &seq), HARDSTORE_NULL_ARGUMENT);
  EXPECT(hardstore_store_flush(NULL), HARDSTORE_NULL_ARGUMENT);
  /* NULL strings with a length, empty required fields. */
  hardstore_audit_event *ev2 = NULL;
  EXPECT(hardstore_audit_event_new(NULL, 3, S("a"), &ev2), HARDSTORE_NULL_ARGUMENT);
  EXPECT(hardstore_audit_event_new(NULL, 0, S("a"), &ev2), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_audit_event_new(S("t"), S(""), &ev2), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_audit_event_new(S("t"), S("a"), NULL), HARDSTORE_NULL_ARGUMENT);
  CHECK(ev2 == NULL);
  /* Invalid UTF-8. */
  const uint8_t bad_utf8[] = {'o', 'k', 0xC3, 0x28};
  EXPECT(hardstore_audit_event_new(bad_utf8, sizeof bad_utf8, S("a"), &ev2),
         HARDSTORE_INVALID_UTF8);
  EXPECT(hardstore_audit_event_set_actor(ev, bad_utf8, sizeof bad_utf8),
         HARDSTORE_INVALID_UTF8);
  EXPECT(hardstore_audit_event_add_detail(ev, S("k"), bad_utf8, sizeof bad_utf8),
         HARDSTORE_INVALID_UTF8);
  /* Over-long fields, including SIZE_MAX lengths (refused before reading). */
  static char big[5000];
  memset(big, 'x', sizeof big);
  EXPECT(hardstore_audit_event_set_actor(ev, (const uint8_t *)big, 257), HARDSTORE_TOO_LONG);
  EXPECT(hardstore_audit_event_set_resource(ev, (const uint8_t *)big, 1025),
         HARDSTORE_TOO_LONG);
  EXPECT(hardstore_audit_event_set_outcome(ev, (const uint8_t *)big, 65), HARDSTORE_TOO_LONG);
  EXPECT(hardstore_audit_event_set_user_agent(ev, (const uint8_t *)big, 513),
         HARDSTORE_TOO_LONG);
  EXPECT(hardstore_audit_event_set_ip(ev, S("999.1.1.1")), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_audit_event_add_detail(ev, S("k"), (const uint8_t *)big, 4097),
         HARDSTORE_TOO_LONG);
  EXPECT(hardstore_audit_event_add_detail(ev, S(""), S("v")), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_audit_event_set_actor(ev, (const uint8_t *)big, SIZE_MAX),
         HARDSTORE_TOO_LONG);
  EXPECT(hardstore_audit_event_new((const uint8_t *)big, SIZE_MAX, S("a"), &ev2),
         HARDSTORE_TOO_LONG);
  EXPECT(hardstore_verify_inclusion((const uint8_t *)big, 0, 2, (const uint8_t *)big,
                                    SIZE_MAX, (const uint8_t *)big),
         HARDSTORE_INVALID_ARGUMENT);
  for (int i = 0; i < 64; i++) OK(hardstore_audit_event_add_detail(ev, S("k"), S("v")));
  EXPECT(hardstore_audit_event_add_detail(ev, S("k"), S("v")), HARDSTORE_TOO_LONG);
  /* Queries. */
  hardstore_audit_query *q = NULL;
  EXPECT(hardstore_audit_query_new(S(""), &q), HARDSTORE_INVALID_ARGUMENT);
  OK(hardstore_audit_query_new(S("tenant-0"), &q));
  EXPECT(hardstore_audit_query_set_limit(q, 0), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_audit_query_set_limit(q, 10001), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_audit_query_set_time_range(q, 10, 5), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_audit_query_set_cursor(q, S("nonsense")), HARDSTORE_INVALID_ARGUMENT);
  hardstore_audit_iter *it = NULL;
  EXPECT(hardstore_audit_query_run(store, NULL, &it), HARDSTORE_NULL_ARGUMENT);
  EXPECT(hardstore_audit_iter_next(NULL, NULL), HARDSTORE_NULL_ARGUMENT);
  hardstore_audit_query_free(q);
  /* Entries and proofs. */
  hardstore_audit_entry *e = NULL;
  EXPECT(hardstore_audit_get(store, 1u << 30, &e), HARDSTORE_NOT_FOUND);
  CHECK(e == NULL);
  const uint8_t *p;
  size_t n;
  EXPECT(hardstore_audit_entry_field(NULL, HARDSTORE_FIELD_ACTOR, &p, &n),
         HARDSTORE_NULL_ARGUMENT);
  hardstore_bytes *b = NULL;
  EXPECT(hardstore_audit_consistency_proof(store, 5, 4, &b), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_checkpoint_parse(NULL, 102, NULL), HARDSTORE_NULL_ARGUMENT);
  /* Last error message and result names. */
  char msg[4];
  EXPECT(hardstore_audit_query_set_limit(NULL, 1), HARDSTORE_NULL_ARGUMENT);
  EXPECT(hardstore_last_error_message(msg, sizeof msg, &n), HARDSTORE_BUFFER_TOO_SMALL);
  CHECK(n > sizeof msg);
  char *full = malloc(n);
  OK(hardstore_last_error_message(full, n, &n));
  CHECK(strstr(full, "query is NULL") != NULL);
  free(full);
  CHECK(strcmp(hardstore_result_name(HARDSTORE_TOO_LONG), "HARDSTORE_TOO_LONG") == 0);
  CHECK(strcmp(hardstore_result_name(999), "HARDSTORE_UNKNOWN_RESULT") == 0);
  /* Frees accept NULL. */
  hardstore_audit_event_free(NULL);
  hardstore_audit_entry_free(NULL);
  hardstore_audit_iter_free(NULL);
  hardstore_audit_query_free(NULL);
  hardstore_bytes_free(NULL);
  hardstore_options_free(NULL);
  OK(hardstore_store_close(NULL));
  hardstore_audit_event_free(ev);
  /* Nothing above changed the store. */
  CHECK(audit_size() == before);
}

static void test_open_errors(const char *dir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/junk", dir);
  FILE *f = fopen(path, "w");
  fputs("definitely not a database", f);
  fclose(f);
  hardstore_store *s = NULL;
  EXPECT(hardstore_store_open(S(path), NULL, &s), HARDSTORE_NOT_A_STORE);
  CHECK(s == NULL);
  snprintf(path, sizeof path, "%s/audit.hs", dir);
  EXPECT(hardstore_store_open(S(path), NULL, &s), HARDSTORE_ALREADY_OPEN);
  EXPECT(hardstore_store_open(S(""), NULL, &s), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_store_open(NULL, 5, NULL, &s), HARDSTORE_NULL_ARGUMENT);
  EXPECT(hardstore_store_open(S(path), NULL, NULL), HARDSTORE_NULL_ARGUMENT);
  hardstore_options *o = NULL;
  OK(hardstore_options_new(&o));
  EXPECT(hardstore_options_set_audit_key(o, NULL, 0), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_options_set_max_batch(o, 0), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_options_set_flush_interval_ms(NULL, 5), HARDSTORE_NULL_ARGUMENT);
  hardstore_options_free(o);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const char *dir = argv[1];
  const char *key = "a secret audit key for the C test";
  char path[4096];
  snprintf(path, sizeof path, "%s/audit.hs", dir);
  hardstore_options *opts = NULL;
  OK(hardstore_options_new(&opts));
  OK(hardstore_options_set_audit_key(opts, S(key)));
  OK(hardstore_options_set_flush_interval_ms(opts, 20));
  OK(hardstore_store_open(S(path), opts, &store));
  hardstore_options_free(opts);
  if (!store) return 1;

  test_threads_and_query();
  test_entry_and_proofs();
  test_checkpoint_and_verify(key);
  test_export(dir);
  test_bad_input();
  test_open_errors(dir);
  OK(hardstore_store_close(store));

  /* Reopen: everything is still there and verifies. */
  OK(hardstore_store_open(S(path), NULL, &store));
  CHECK(audit_size() == 201);
  hardstore_verify_report report;
  OK(hardstore_audit_verify(store, &report));
  CHECK(report.ok);
  OK(hardstore_store_close(store));

  printf("%s: %s\n", argv[0], failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}
