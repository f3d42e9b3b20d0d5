/* Rate limits through the C ABI: 60 a minute allows 60 then refills one a second, a
 * denial's retry-after, a cost above the burst never conforms, a limiter handle, keys
 * kept across a close and a reopen, stats, list, redefinition and removal (the old
 * handle then answers HARDSTORE_NOT_FOUND), and bad input refused with its code.
 *
 * Usage: rate_limits_test DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define T0 1700000000000000ull
#define SEC 1000000ull

static hardstore_store *open_at(const char *path, hardstore_clock *clock) {
  hardstore_options *opts = NULL;
  OK(hardstore_options_new(&opts));
  OK(hardstore_options_set_clock(opts, clock));
  OK(hardstore_options_set_rate_limits(opts, 100000, 3600 * SEC));
  hardstore_store *s = NULL;
  OK(hardstore_store_open(S(path), opts, &s));
  hardstore_options_free(opts);
  return s;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  char path[1024];
  snprintf(path, sizeof path, "%s/rate_limits.hs", argv[1]);
  hardstore_clock *clock = NULL;
  OK(hardstore_clock_new_manual(T0, &clock));
  hardstore_store *s = open_at(path, clock);

  hardstore_rate_limit per_minute = {60, 60 * SEC, 60};
  OK(hardstore_rate_limit_define(s, S("acme"), S("login"), &per_minute));
  hardstore_rate_decision d;
  for (int i = 0; i < 60; i++) {
    OK(hardstore_rate_limit_check(s, S("acme"), S("login"), S("203.0.113.9"), 1, &d));
    CHECK(d.allowed && d.limit == 60 && d.remaining == (uint64_t)(59 - i));
  }
  OK(hardstore_rate_limit_check(s, S("acme"), S("login"), S("203.0.113.9"), 1, &d));
  CHECK(!d.allowed && d.retry_after_us == SEC && d.reset_after_us == 60 * SEC);
  OK(hardstore_rate_limit_check(s, S("acme"), S("login"), S("fresh"), 61, &d));
  CHECK(!d.allowed && d.retry_after_us == HARDSTORE_RETRY_NEVER);
  OK(hardstore_clock_advance(clock, SEC));

  hardstore_limiter *h = NULL;
  OK(hardstore_limiter_new(s, S("acme"), S("login"), &h));
  OK(hardstore_limiter_check(h, S("203.0.113.9"), 1, &d));
  CHECK(d.allowed && d.remaining == 0 && d.retry_after_us == 0);
  OK(hardstore_limiter_check(h, S("198.51.100.1"), 10, &d));
  CHECK(d.allowed && d.remaining == 50);

  hardstore_rate_limit_keys st;
  OK(hardstore_rate_limit_stats(s, S("acme"), S("login"), &st));
  CHECK(st.keys == 2 && st.evicted_active == 0);

  /* Kept across a close (its last commit writes the keys) and a reopen. */
  hardstore_limiter_free(h);
  OK(hardstore_store_close(s));
  s = open_at(path, clock);
  OK(hardstore_rate_limit_check(s, S("acme"), S("login"), S("198.51.100.1"), 0, &d));
  CHECK(d.allowed && d.remaining == 50);
  bool found = false;
  hardstore_rate_limit got = {0};
  OK(hardstore_rate_limit_get(s, S("acme"), S("login"), &found, &got));
  CHECK(found && got.count == 60 && got.period_us == 60 * SEC && got.burst == 60);
  OK(hardstore_rate_limit_get(s, S("acme"), S("nope"), &found, &got));
  CHECK(!found);

  /* A flush writes what checks changed. */
  uint64_t rows = 0;
  OK(hardstore_rate_limit_check(s, S("acme"), S("login"), S("k3"), 5, &d));
  OK(hardstore_rate_limit_flush(s, &rows));
  CHECK(rows == 1);

  /* Redefinition keeps keys; a second limit; the list. */
  hardstore_rate_limit bigger = {60, 60 * SEC, 100};
  OK(hardstore_rate_limit_define(s, S("acme"), S("login"), &bigger));
  OK(hardstore_rate_limit_check(s, S("acme"), S("login"), S("k3"), 0, &d));
  CHECK(d.limit == 100 && d.remaining == 95);
  hardstore_rate_limit per_hour = {1000, 3600 * SEC, 1000};
  OK(hardstore_rate_limit_define(s, S("beta"), S("api"), &per_hour));
  hardstore_rate_limits *list = NULL;
  OK(hardstore_rate_limit_list(s, &list));
  CHECK(hardstore_rate_limit_list_len(list) == 2);
  const uint8_t *tp = NULL, *np = NULL;
  size_t tl = 0, nl = 0;
  OK(hardstore_rate_limit_list_get(list, 1, &tp, &tl, &np, &nl, &got));
  CHECK(tl == 4 && memcmp(tp, "beta", 4) == 0 && nl == 3 && got.count == 1000);
  EXPECT(hardstore_rate_limit_list_get(list, 2, &tp, &tl, &np, &nl, &got),
         HARDSTORE_INVALID_ARGUMENT);
  hardstore_rate_limit_list_free(list);

  /* Removal deletes the stored keys and refuses old handles. */
  OK(hardstore_limiter_new(s, S("acme"), S("login"), &h));
  uint64_t deleted = 0;
  OK(hardstore_rate_limit_remove(s, S("acme"), S("login"), &deleted));
  CHECK(deleted == 3);
  EXPECT(hardstore_limiter_check(h, S("k"), 1, &d), HARDSTORE_NOT_FOUND);
  EXPECT(hardstore_rate_limit_remove(s, S("acme"), S("login"), &deleted), HARDSTORE_NOT_FOUND);
  EXPECT(hardstore_rate_limit_check(s, S("acme"), S("login"), S("k"), 1, &d),
         HARDSTORE_NOT_FOUND);
  hardstore_limiter_free(h);

  /* Bad input. */
  hardstore_rate_limit zero = {0, SEC, 1};
  EXPECT(hardstore_rate_limit_define(s, S("t"), S("x"), &zero), HARDSTORE_INVALID_ARGUMENT);
  hardstore_rate_limit no_period = {1, 0, 1};
  EXPECT(hardstore_rate_limit_define(s, S("t"), S("x"), &no_period), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_rate_limit_define(s, S(""), S("x"), &per_hour), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_rate_limit_define(s, S("t"), S("x"), NULL), HARDSTORE_NULL_ARGUMENT);
  EXPECT(hardstore_rate_limit_define(s, (const uint8_t *)"\xff", 1, S("x"), &per_hour),
         HARDSTORE_INVALID_UTF8);
  EXPECT(hardstore_rate_limit_check(s, S("beta"), S("api"), NULL, 0, 1, &d),
         HARDSTORE_INVALID_ARGUMENT);
  char long_key[300];
  memset(long_key, 'k', sizeof long_key);
  EXPECT(hardstore_rate_limit_check(s, S("beta"), S("api"), (const uint8_t *)long_key,
                                    sizeof long_key, 1, &d),
         HARDSTORE_TOO_LONG);
  EXPECT(hardstore_rate_limit_check(s, S("beta"), S("api"), S("k"), 1, NULL),
         HARDSTORE_NULL_ARGUMENT);
  EXPECT(hardstore_limiter_check(NULL, S("k"), 1, &d), HARDSTORE_NULL_ARGUMENT);
  hardstore_options *opts = NULL;
  OK(hardstore_options_new(&opts));
  EXPECT(hardstore_options_set_rate_limits(opts, 0, SEC), HARDSTORE_INVALID_ARGUMENT);
  hardstore_options_free(opts);
  hardstore_limiter_free(NULL);
  hardstore_rate_limit_list_free(NULL);

  OK(hardstore_store_close(s));
  hardstore_clock_free(clock);
  if (failures) fprintf(stderr, "%d failures\n", failures);
  return failures ? 1 : 0;
}
