/* Full backups through the C ABI: take one, verify it, restore it into a new store whose
 * app state and audit root equal the source's; a damaged file is answered with
 * HARDSTORE_CORRUPTED and restores nothing; bad input is answered with its code.
 *
 * Usage: backup_test DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

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
  printf("backup_test: ok\n");
  return 0;
}
