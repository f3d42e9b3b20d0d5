/* Alerts through the C ABI: a repeat counts on the open alert, acknowledge and resolve
 * (by id and by dedup key), a raise after resolve opens a new alert, paging a list with
 * its cursor, a purge that answers HARDSTORE_CONFIRMATION_REQUIRED until its count is
 * confirmed, alerts kept across a reopen, and bad input refused with its code.
 *
 * Usage: alerts_test DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define T0 1700000000000000ull
#define SEC 1000000ull

static hardstore_alert_raised raise_one(hardstore_store *s, const char *tenant,
                                        const char *key, uint32_t sev) {
  hardstore_alert_raised r = {0};
  OK(hardstore_alert_raise(s, S(tenant), S("health"), S(key), sev, S("disk is filling"),
                           HARDSTORE_DURABLE, &r));
  return r;
}

static int field_is(const hardstore_alert *a, uint32_t field, const char *want) {
  const uint8_t *p = NULL;
  size_t n = 0;
  if (hardstore_alert_field(a, field, &p, &n) != HARDSTORE_OK) return 0;
  return n == strlen(want) && memcmp(p, want, n) == 0;
}

static hardstore_store *open_at(const char *path, hardstore_clock *clock) {
  hardstore_options *opts = NULL;
  OK(hardstore_options_new(&opts));
  OK(hardstore_options_set_clock(opts, clock));
  hardstore_store *s = NULL;
  OK(hardstore_store_open(S(path), opts, &s));
  hardstore_options_free(opts);
  return s;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  char path[1024];
  snprintf(path, sizeof path, "%s/alerts.hs", argv[1]);
  hardstore_clock *clock = NULL;
  OK(hardstore_clock_new_manual(T0, &clock));
  hardstore_store *s = open_at(path, clock);

  hardstore_alert_raised a = raise_one(s, "acme", "disk", HARDSTORE_ALERT_WARNING);
  CHECK(a.created && a.count == 1 && a.state == HARDSTORE_ALERT_OPEN);
  OK(hardstore_clock_set(clock, T0 + 5 * SEC));
  hardstore_alert_raised b = raise_one(s, "acme", "disk", HARDSTORE_ALERT_CRITICAL);
  CHECK(!b.created && b.id == a.id && b.count == 2);

  OK(hardstore_alert_acknowledge(s, a.id, S("oncall:ana")));
  hardstore_alert *got = NULL;
  OK(hardstore_alert_get(s, a.id, &got));
  hardstore_alert_info info;
  OK(hardstore_alert_get_info(got, &info));
  CHECK(info.state == HARDSTORE_ALERT_ACKNOWLEDGED && info.severity == HARDSTORE_ALERT_CRITICAL);
  CHECK(info.count == 2 && info.first_seen == T0 && info.last_seen == T0 + 5 * SEC);
  CHECK(info.acknowledged_at == T0 + 5 * SEC && info.resolved_at == 0);
  CHECK(field_is(got, HARDSTORE_ALERT_TENANT, "acme"));
  CHECK(field_is(got, HARDSTORE_ALERT_DEDUP_KEY, "disk"));
  CHECK(field_is(got, HARDSTORE_ALERT_ACKNOWLEDGED_BY, "oncall:ana"));
  const uint8_t *p = NULL;
  size_t n = 0;
  EXPECT(hardstore_alert_field(got, 99, &p, &n), HARDSTORE_INVALID_ARGUMENT);
  hardstore_alert_free(got);

  bool resolved = false;
  uint64_t rid = 0;
  OK(hardstore_alert_resolve_key(s, S("acme"), S("disk"), S("health"), S("freed space"),
                                 &resolved, &rid));
  CHECK(resolved && rid == a.id);
  OK(hardstore_alert_resolve_key(s, S("acme"), S("disk"), S("health"), S(""), &resolved,
                                 &rid));
  CHECK(!resolved && rid == 0);
  EXPECT(hardstore_alert_acknowledge(s, a.id, S("x")), HARDSTORE_INVALID_ARGUMENT);
  OK(hardstore_alert_resolve(s, a.id, S("x"), S("again")));  /* no change */
  hardstore_alert_raised c = raise_one(s, "acme", "disk", HARDSTORE_ALERT_INFO);
  CHECK(c.created && c.id > a.id);

  /* 30 more, paged 8 at a time, newest first. */
  for (int i = 0; i < 30; i++) {
    char key[32];
    snprintf(key, sizeof key, "k%d", i);
    raise_one(s, i % 2 ? "acme" : "globex", key, HARDSTORE_ALERT_WARNING);
  }
  uint64_t seen = 0, last = UINT64_MAX;
  hardstore_bytes *cursor = NULL;
  for (;;) {
    hardstore_alert_iter *it = NULL;
    OK(hardstore_alert_list(s, HARDSTORE_ALERT_SCOPE_OPEN, NULL, 0, NULL, 0,
                            HARDSTORE_ALERT_INFO, 8, hardstore_bytes_data(cursor),
                            hardstore_bytes_len(cursor), &it));
    hardstore_bytes_free(cursor);
    cursor = NULL;
    const hardstore_alert *x = NULL;
    for (;;) {
      OK(hardstore_alert_iter_next(it, &x));
      if (x == NULL) break;
      hardstore_alert_info xi;
      OK(hardstore_alert_get_info(x, &xi));
      CHECK(xi.id < last && xi.state != HARDSTORE_ALERT_RESOLVED);
      last = xi.id;
      seen++;
    }
    OK(hardstore_alert_iter_cursor(it, &cursor));
    hardstore_alert_iter_free(it);
    if (cursor == NULL) break;
  }
  CHECK(seen == 31);
  hardstore_alert_iter *only = NULL;
  OK(hardstore_alert_list(s, HARDSTORE_ALERT_SCOPE_ALL, S("acme"), S("health"),
                          HARDSTORE_ALERT_WARNING, 100, NULL, 0, &only));
  uint64_t acme = 0;
  const hardstore_alert *x = NULL;
  for (;;) {
    OK(hardstore_alert_iter_next(only, &x));
    if (x == NULL) break;
    CHECK(field_is(x, HARDSTORE_ALERT_TENANT, "acme"));
    acme++;
  }
  hardstore_alert_iter_free(only);
  CHECK(acme == 16); /* 15 new + the resolved critical one (its last raise) */

  uint64_t unresolved = 0, kept = 0;
  OK(hardstore_alert_counts(s, &unresolved, &kept));
  CHECK(unresolved == 31 && kept == 1);

  /* Purge: asks for the count, deletes nothing until it is confirmed. */
  OK(hardstore_clock_set(clock, T0 + 100 * SEC));
  uint64_t due = 0, deleted = 0;
  OK(hardstore_alert_purgeable(s, 60 * SEC, &due));
  CHECK(due == 1);
  EXPECT(hardstore_alert_purge_resolved(s, 60 * SEC, 0, &deleted),
         HARDSTORE_CONFIRMATION_REQUIRED);
  OK(hardstore_alert_counts(s, &unresolved, &kept));
  CHECK(kept == 1);
  OK(hardstore_alert_purge_resolved(s, 60 * SEC, due, &deleted));
  CHECK(deleted == 1);
  EXPECT(hardstore_alert_get(s, a.id, &got), HARDSTORE_NOT_FOUND);

  /* Bad input: typed codes, nothing written. */
  hardstore_alert_raised r;
  EXPECT(hardstore_alert_raise(s, NULL, 0, S("s"), S("k"), HARDSTORE_ALERT_INFO, NULL, 0,
                               HARDSTORE_DURABLE, &r),
         HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_alert_raise(s, S("t"), S("s"), S("k"), 7, NULL, 0, HARDSTORE_DURABLE, &r),
         HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_alert_raise(s, S("t"), S("s"), (const uint8_t *)"\xff", 1,
                               HARDSTORE_ALERT_INFO, NULL, 0, HARDSTORE_DURABLE, &r),
         HARDSTORE_INVALID_UTF8);
  char big[300];
  memset(big, 'x', sizeof big);
  EXPECT(hardstore_alert_raise(s, S("t"), S("s"), (const uint8_t *)big, sizeof big,
                               HARDSTORE_ALERT_INFO, NULL, 0, HARDSTORE_DURABLE, &r),
         HARDSTORE_TOO_LONG);
  EXPECT(hardstore_alert_raise(s, S("t"), S("s"), S("k"), HARDSTORE_ALERT_INFO, NULL, 0,
                               HARDSTORE_DURABLE, NULL),
         HARDSTORE_NULL_ARGUMENT);
  EXPECT(hardstore_alert_raise(NULL, S("t"), S("s"), S("k"), HARDSTORE_ALERT_INFO, NULL, 0,
                               HARDSTORE_DURABLE, &r),
         HARDSTORE_NULL_ARGUMENT);
  EXPECT(hardstore_alert_list(s, 9, NULL, 0, NULL, 0, 0, 10, NULL, 0, &only),
         HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_alert_list(s, 0, NULL, 0, NULL, 0, 0, 0, NULL, 0, &only),
         HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_alert_list(s, 0, NULL, 0, NULL, 0, 0, 10, (const uint8_t *)"abc", 3, &only),
         HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_alert_acknowledge(s, 123456, S("x")), HARDSTORE_NOT_FOUND);
  OK(hardstore_alert_counts(s, &unresolved, &kept));
  CHECK(unresolved == 31 && kept == 0);
  hardstore_alert_free(NULL);
  hardstore_alert_iter_free(NULL);

  /* Kept across a reopen. */
  OK(hardstore_store_close(s));
  s = open_at(path, clock);
  OK(hardstore_alert_get(s, c.id, &got));
  OK(hardstore_alert_get_info(got, &info));
  CHECK(info.state == HARDSTORE_ALERT_OPEN && info.severity == HARDSTORE_ALERT_INFO);
  hardstore_alert_free(got);
  OK(hardstore_store_close(s));
  hardstore_clock_free(clock);
  if (failures) fprintf(stderr, "%d failures\n", failures);
  return failures ? 1 : 0;
}
