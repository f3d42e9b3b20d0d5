/* Backups through the C ABI: a standalone full backup verified and restored (app state
 * and audit root equal the source's); a damaged file is answered with HARDSTORE_CORRUPTED
 * and restores nothing; cataloged runs (full, incremental, differential, encrypted) with
 * progress, listed, chained, verified and restored, a wrong key answered with
 * HARDSTORE_WRONG_KEY; pruning, run_due and the schedule thread; bad input answered
 * with its code.
 *
 * Usage: backup_test DIR */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"

static uint64_t progress_calls, progress_done, progress_total;

static void on_progress(void *user, uint64_t done, uint64_t total) {
  CHECK(user == &progress_calls);
  progress_calls++;
  progress_done = done;
  progress_total = total;
}

static void put(hardstore_store *s, const char *key, const char *value) {
  OK(hardstore_kv_put(s, S("app"), (const uint8_t *)key, strlen(key), (const uint8_t *)value,
                      strlen(value), HARDSTORE_DURABLE));
}

/* Catalog runs, chains, keys, retention and the schedule. */
static void catalog(const char *dir) {
  char src[1024], folder[1024], restored[1024], wrong[1024];
  snprintf(src, sizeof src, "%s/cat.hs", dir);
  snprintf(folder, sizeof folder, "%s/backups", dir);
  snprintf(restored, sizeof restored, "%s/cat-restored.hs", dir);
  snprintf(wrong, sizeof wrong, "%s/cat-wrong.hs", dir);
  hardstore_store *s = NULL;
  OK(hardstore_store_open(S(src), NULL, &s));
  put(s, "a", "1");
  put(s, "b", "2");

  hardstore_backup_key key = {.id = 9};
  memset(key.key, 0x42, sizeof key.key);
  uint64_t full = 0, inc = 0, diff = 0;
  uint32_t kind = 0;
  EXPECT(hardstore_backup_run(s, 7, S(folder), NULL, NULL, NULL, &full, &kind),
         HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_backup_run(s, HARDSTORE_BACKUP_FULL, S(folder), NULL, NULL, NULL, NULL,
                              &kind),
         HARDSTORE_NULL_ARGUMENT);
  /* An incremental with nothing to build on is promoted to full. */
  OK(hardstore_backup_run(s, HARDSTORE_BACKUP_INCREMENTAL, S(folder), &key, on_progress,
                          &progress_calls, &full, &kind));
  CHECK(kind == HARDSTORE_BACKUP_FULL);
  CHECK(progress_calls > 0 && progress_done == progress_total && progress_total > 0);
  put(s, "a", "10");
  bool existed = false;
  OK(hardstore_kv_delete(s, S("app"), S("b"), HARDSTORE_DURABLE, &existed));
  CHECK(existed);
  OK(hardstore_backup_run(s, HARDSTORE_BACKUP_DIFFERENTIAL, S(folder), &key, NULL, NULL,
                          &diff, &kind));
  CHECK(kind == HARDSTORE_BACKUP_DIFFERENTIAL);
  put(s, "c", "3");
  OK(hardstore_backup_run(s, HARDSTORE_BACKUP_INCREMENTAL, S(folder), &key, NULL, NULL, &inc,
                          &kind));
  CHECK(kind == HARDSTORE_BACKUP_INCREMENTAL && full < diff && diff < inc);

  hardstore_backup_records *all = NULL;
  OK(hardstore_backup_list(s, &all));
  CHECK(hardstore_backup_records_len(all) == 3);
  hardstore_backup_record r;
  OK(hardstore_backup_records_get(all, 1, &r));
  CHECK(r.id == diff && r.base_id == full && r.result == HARDSTORE_BACKUP_OK);
  CHECK(r.encrypted && r.key_id == 9 && r.error_len == 0 && r.file_len > 0);
  EXPECT(hardstore_backup_records_get(all, 3, &r), HARDSTORE_NOT_FOUND);
  hardstore_backup_records_free(all);

  /* The chain of the last run: full, differential, incremental. */
  hardstore_backup_records *chain = NULL;
  OK(hardstore_backup_chain(s, inc, &chain));
  size_t n = hardstore_backup_records_len(chain);
  CHECK(n == 3);
  const uint8_t *paths[3];
  size_t lens[3];
  for (size_t i = 0; i < n; i++) {
    OK(hardstore_backup_records_get(chain, i, &r));
    paths[i] = r.file;
    lens[i] = r.file_len;
  }
  hardstore_backup_info info;
  EXPECT(hardstore_backup_verify_chain(paths, lens, n, NULL, &info), HARDSTORE_WRONG_KEY);
  hardstore_backup_key other = key;
  other.key[0] ^= 1;
  EXPECT(hardstore_backup_verify_chain(paths, lens, n, &other, &info), HARDSTORE_WRONG_KEY);
  OK(hardstore_backup_verify_chain(paths, lens, n, &key, &info));
  CHECK(info.backup_id == inc && info.kind == HARDSTORE_BACKUP_INCREMENTAL && info.encrypted);
  /* Out of order: the incremental before the differential. */
  const uint8_t *swapped[3] = {paths[0], paths[2], paths[1]};
  size_t swapped_lens[3] = {lens[0], lens[2], lens[1]};
  EXPECT(hardstore_backup_verify_chain(swapped, swapped_lens, 3, &key, &info),
         HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_backup_verify_chain(NULL, lens, 3, &key, &info), HARDSTORE_NULL_ARGUMENT);
  EXPECT(hardstore_backup_verify_chain(paths, lens, 0, &key, &info),
         HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_backup_restore_chain(paths, lens, n, S(wrong), NULL, &other, &info),
         HARDSTORE_WRONG_KEY);
  CHECK(fopen(wrong, "rb") == NULL);
  OK(hardstore_backup_restore_chain(paths, lens, n, S(restored), NULL, &key, &info));
  hardstore_backup_records_free(chain);

  hardstore_store *c = NULL;
  OK(hardstore_store_open(S(restored), NULL, &c));
  bool found = false;
  hardstore_bytes *v = NULL;
  OK(hardstore_kv_get(c, S("app"), S("a"), &found, &v));
  CHECK(found && hardstore_bytes_len(v) == 2 && memcmp(hardstore_bytes_data(v), "10", 2) == 0);
  hardstore_bytes_free(v);
  OK(hardstore_kv_get(c, S("app"), S("b"), &found, &v));
  CHECK(!found);
  OK(hardstore_kv_get(c, S("app"), S("c"), &found, &v));
  CHECK(found);
  hardstore_bytes_free(v);
  OK(hardstore_store_close(c));

  /* Retention: keep one full. A dry run deletes nothing; the newest full's chain stays. */
  hardstore_retention keep_one = {.max_age_secs = 0, .keep_fulls = 1};
  OK(hardstore_backup_run(s, HARDSTORE_BACKUP_FULL, S(folder), NULL, NULL, NULL, &full, &kind));
  hardstore_backup_records *gone = NULL;
  OK(hardstore_backup_prune(s, &keep_one, 0, true, &gone));
  CHECK(hardstore_backup_records_len(gone) == 3);
  hardstore_backup_records_free(gone);
  OK(hardstore_backup_list(s, &all));
  CHECK(hardstore_backup_records_len(all) == 4);
  hardstore_backup_records_free(all);
  OK(hardstore_backup_prune(s, &keep_one, 0, false, &gone));
  CHECK(hardstore_backup_records_len(gone) == 3);
  OK(hardstore_backup_records_get(gone, 0, &r));
  char gone_path[1024];
  snprintf(gone_path, sizeof gone_path, "%.*s", (int)r.file_len, (const char *)r.file);
  CHECK(fopen(gone_path, "rb") == NULL);
  hardstore_backup_records_free(gone);

  /* run_due: a full just ran, so nothing is due within the hour. */
  bool ran = true;
  uint64_t id = 0;
  hardstore_schedule sched = {.full_every_secs = 86400,
                              .incremental_every_secs = 21600,
                              .differential_every_secs = 3600,
                              .prune = false};
  OK(hardstore_backup_run_due(s, r.started_us, S(folder), &sched, NULL, NULL, NULL, &ran, &id));
  CHECK(!ran);
  sched.differential_every_secs = 0;
  EXPECT(hardstore_backup_run_due(s, 0, S(folder), &sched, NULL, NULL, NULL, &ran, &id),
         HARDSTORE_INVALID_ARGUMENT);
  uint64_t ok = 0, failed = 0;
  OK(hardstore_backup_success_rate(s, 0, &ok, &failed));
  CHECK(ok == 1 && failed == 0);

  /* The schedule thread: with a 1 s differential period a run comes soon. */
  hardstore_schedule fast = {.full_every_secs = 86400,
                             .incremental_every_secs = 21600,
                             .differential_every_secs = 1,
                             .prune = true,
                             .retention = {.max_age_secs = 0, .keep_fulls = 1}};
  hardstore_backup_schedule *thread = NULL;
  EXPECT(hardstore_backup_schedule_start(s, S(folder), &fast, NULL, 0, &thread),
         HARDSTORE_INVALID_ARGUMENT);
  OK(hardstore_backup_schedule_start(s, S(folder), &fast, NULL, 20, &thread));
  for (int i = 0; i < 500 && ok < 2; i++) {
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
    OK(hardstore_backup_success_rate(s, 0, &ok, &failed));
  }
  hardstore_backup_schedule_stop(thread);
  hardstore_backup_schedule_stop(NULL);
  CHECK(ok >= 2 && failed == 0);
  OK(hardstore_store_close(s));
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  char src[1024], file[1024], copy[1024], bad_copy[1024];
  snprintf(src, sizeof src, "%s/src.hs", argv[1]);
  snprintf(file, sizeof file, "%s/full.hsb", argv[1]);
  snprintf(copy, sizeof copy, "%s/copy.hs", argv[1]);
  snprintf(bad_copy, sizeof bad_copy, "%s/bad-copy.hs", argv[1]);

  hardstore_store *s = NULL;
  OK(hardstore_store_open(S(src), NULL, &s));
  OK(hardstore_kv_put(s, S("app"), S("balance"), S("100"), HARDSTORE_DURABLE));
  uint64_t seq = 0;
  hardstore_audit_event *ev = NULL;
  OK(hardstore_audit_event_new(S("acme"), S("order.create"), &ev));
  OK(hardstore_audit_append(s, ev, HARDSTORE_DURABLE, &seq, NULL));
  hardstore_audit_event_free(ev);
  uint64_t size = 0;
  uint8_t root[32];
  OK(hardstore_audit_size(s, &size));
  OK(hardstore_audit_root(s, size, root));

  hardstore_backup_info info;
  EXPECT(hardstore_backup_full(NULL, S(file), &info), HARDSTORE_NULL_ARGUMENT);
  EXPECT(hardstore_backup_full(s, S(file), NULL), HARDSTORE_NULL_ARGUMENT);
  OK(hardstore_backup_full(s, S(file), &info));
  CHECK(info.audit_size == size);
  CHECK(memcmp(info.audit_root, root, 32) == 0);
  CHECK(info.frames > 0 && info.bytes > 0);
  EXPECT(hardstore_backup_full(s, S(file), &info), HARDSTORE_INVALID_ARGUMENT);
  OK(hardstore_store_close(s));

  hardstore_backup_info checked;
  OK(hardstore_backup_verify(S(file), &checked));
  CHECK(checked.bytes == info.bytes && memcmp(checked.digest, info.digest, 32) == 0);
  EXPECT(hardstore_backup_verify((const uint8_t *)"\xff", 1, &checked),
         HARDSTORE_INVALID_UTF8);

  OK(hardstore_backup_restore(S(file), S(copy), NULL, &checked));
  hardstore_store *c = NULL;
  OK(hardstore_store_open(S(copy), NULL, &c));
  bool found = false;
  hardstore_bytes *v = NULL;
  OK(hardstore_kv_get(c, S("app"), S("balance"), &found, &v));
  CHECK(found && hardstore_bytes_len(v) == 3 &&
        memcmp(hardstore_bytes_data(v), "100", 3) == 0);
  hardstore_bytes_free(v);
  uint8_t copy_root[32];
  OK(hardstore_audit_root(c, size, copy_root));
  CHECK(memcmp(copy_root, root, 32) == 0);
  OK(hardstore_store_close(c));

  /* Flip one bit in the middle of the file. */
  FILE *f = fopen(file, "r+b");
  CHECK(f != NULL);
  long mid = (long)(info.bytes / 2);
  CHECK(fseek(f, mid, SEEK_SET) == 0);
  int byte = fgetc(f);
  CHECK(byte != EOF);
  CHECK(fseek(f, mid, SEEK_SET) == 0);
  CHECK(fputc(byte ^ 0x04, f) != EOF);
  CHECK(fclose(f) == 0);
  EXPECT(hardstore_backup_verify(S(file), &checked), HARDSTORE_CORRUPTED);
  EXPECT(hardstore_backup_restore(S(file), S(bad_copy), NULL, &checked), HARDSTORE_CORRUPTED);
  FILE *none = fopen(bad_copy, "rb");
  CHECK(none == NULL);
  catalog(argv[1]);
  printf("%s: %s\n", argv[0], failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}
