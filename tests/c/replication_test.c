/* Replication through the C ABI: a store replicates to a file:// target, its status,
 * waiting for the replica, a restore on a fresh path with the same audit log, and typed
 * errors for bad input.
 *
 * Usage: replication_test DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  char path[1024], bucket[1024], url[1100], out_path[1024], empty[1100], empty_dir[1024];
  snprintf(path, sizeof path, "%s/repl.hs", argv[1]);
  snprintf(bucket, sizeof bucket, "%s/bucket", argv[1]);
  snprintf(url, sizeof url, "file://%s", bucket);
  snprintf(out_path, sizeof out_path, "%s/restored.hs", argv[1]);
  snprintf(empty_dir, sizeof empty_dir, "%s/empty", argv[1]);
  snprintf(empty, sizeof empty, "file://%s", empty_dir);
  mkdir(bucket, 0755);
  mkdir(empty_dir, 0755);

  hardstore_store *s = NULL;
  OK(hardstore_store_open(S(path), NULL, &s));
  hardstore_replication_status st;
  OK(hardstore_store_replication_status(s, &st));
  CHECK(!st.replicating);
  bool done = false;
  EXPECT(hardstore_store_wait_replicated(s, 10, &done), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_store_replicate(s, S("nope"), 50), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_store_replicate(s, S(url), 0), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_store_replicate(NULL, S(url), 50), HARDSTORE_NULL_ARGUMENT);
  OK(hardstore_store_replicate(s, S(url), 50));
  EXPECT(hardstore_store_replicate(s, S(url), 50), HARDSTORE_INVALID_ARGUMENT);
  for (int i = 0; i < 25; i++) {
    hardstore_audit_event *ev = NULL;
    OK(hardstore_audit_event_new(S("acme"), S("paid"), &ev));
    uint64_t seq = 0;
    uint8_t leaf[32];
    OK(hardstore_audit_append(s, ev, HARDSTORE_DURABLE, &seq, leaf));
    hardstore_audit_event_free(ev);
  }
  OK(hardstore_store_wait_replicated(s, 30000, &done));
  CHECK(done);
  OK(hardstore_store_replication_status(s, &st));
  CHECK(st.replicating && st.has_shipped && st.lag_batches == 0 && st.snapshots == 1);
  CHECK(!st.failing && !st.fenced);
  hardstore_bytes *err = NULL;
  OK(hardstore_replication_last_error(s, &err));
  CHECK(hardstore_bytes_len(err) == 0);
  hardstore_bytes_free(err);
  uint8_t root[32];
  OK(hardstore_audit_root(s, 25, root));
  OK(hardstore_store_close(s));

  hardstore_replica_restore_info info;
  OK(hardstore_replica_restore(S(url), S(out_path), HARDSTORE_RESTORE_LATEST, 0, NULL, &info));
  CHECK(info.audit_size == 25 && memcmp(info.audit_root, root, 32) == 0);
  hardstore_replica_restore_info again;
  CHECK(hardstore_replica_restore(S(url), S(out_path), HARDSTORE_RESTORE_LATEST, 0, NULL,
                                  &again) != HARDSTORE_OK); /* never over a file */
  char other[1100];
  snprintf(other, sizeof other, "%s/other.hs", argv[1]);
  EXPECT(hardstore_replica_restore(S(url), S(other), 9, 0, NULL, &again),
         HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_replica_restore(S(empty), S(other), HARDSTORE_RESTORE_LATEST, 0, NULL, &again),
         HARDSTORE_NOT_FOUND);
  EXPECT(hardstore_replica_restore(S(url), S(other), HARDSTORE_RESTORE_LATEST, 0, NULL, NULL),
         HARDSTORE_NULL_ARGUMENT);

  OK(hardstore_store_open(S(out_path), NULL, &s));
  uint64_t size = 0;
  OK(hardstore_audit_size(s, &size));
  CHECK(size == 25);
  hardstore_verify_report report;
  OK(hardstore_audit_verify(s, &report));
  CHECK(report.ok);
  OK(hardstore_store_close(s));
  if (failures) fprintf(stderr, "replication_test: %d failures\n", failures);
  else printf("replication_test: ok\n");
  return failures ? 1 : 0;
}
