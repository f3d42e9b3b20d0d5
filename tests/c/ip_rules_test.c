/* IP rules through the C ABI: the longest prefix decides, deny beats allow at equal
 * length, the tenant's rule over a global one, no rule allows, addresses as text and as
 * bytes (IPv4, IPv6, mapped IPv4), expiry, a purge that answers
 * HARDSTORE_CONFIRMATION_REQUIRED until its count is confirmed, rules kept across a
 * reopen, the list, and bad input refused with its code.
 *
 * Usage: ip_rules_test DIR */
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
  hardstore_store *s = NULL;
  OK(hardstore_store_open(S(path), opts, &s));
  hardstore_options_free(opts);
  return s;
}

static void put(hardstore_store *s, const char *tenant, const char *cidr, uint32_t action,
                uint64_t expires_at) {
  bool replaced = false;
  OK(hardstore_ip_rule_put(s, S(tenant), S(cidr), action, expires_at, S("test"), &replaced));
}

static hardstore_ip_verdict check(hardstore_store *s, const char *tenant, const char *ip) {
  hardstore_ip_verdict v;
  memset(&v, 0, sizeof v);
  OK(hardstore_ip_check(s, S(tenant), S(ip), &v));
  return v;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  char path[1024];
  snprintf(path, sizeof path, "%s/ip_rules.hs", argv[1]);
  hardstore_clock *clock = NULL;
  OK(hardstore_clock_new_manual(T0, &clock));
  hardstore_store *s = open_at(path, clock);

  put(s, "", "10.0.0.0/8", HARDSTORE_IP_DENY, 0);
  put(s, "acme", "10.1.0.0/16", HARDSTORE_IP_ALLOW, 0);
  put(s, "acme", "192.0.2.0/24", HARDSTORE_IP_ALLOW, 0);
  put(s, "", "192.0.2.0/24", HARDSTORE_IP_DENY, 0);
  put(s, "", "2001:db8::/32", HARDSTORE_IP_DENY, 0);
  put(s, "", "10.9.9.9/32", HARDSTORE_IP_ALLOW, T0 + 10 * SEC);

  hardstore_ip_verdict v = check(s, "acme", "10.1.2.3");
  CHECK(v.allowed && v.matched && !v.global && v.prefix_len == 16);
  CHECK(strcmp((const char *)v.cidr, "10.1.0.0/16") == 0);
  v = check(s, "other", "10.1.2.3");
  CHECK(!v.allowed && v.global && v.action == HARDSTORE_IP_DENY &&
        strcmp((const char *)v.cidr, "10.0.0.0/8") == 0);
  v = check(s, "acme", "192.0.2.1");
  CHECK(!v.allowed && v.global && v.prefix_len == 24);
  v = check(s, "acme", "203.0.113.1");
  CHECK(v.allowed && !v.matched && v.cidr[0] == 0);
  v = check(s, "acme", "2001:db8::1");
  CHECK(!v.allowed && strcmp((const char *)v.cidr, "2001:db8::/32") == 0);
  v = check(s, "acme", "::ffff:10.1.0.1");
  CHECK(v.allowed && v.prefix_len == 16);

  uint8_t v4[4] = {10, 200, 0, 1};
  OK(hardstore_ip_check_bytes(s, S("acme"), v4, 4, &v));
  CHECK(!v.allowed && v.prefix_len == 8);
  uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8};
  OK(hardstore_ip_check_bytes(s, S("acme"), v6, 16, &v));
  CHECK(!v.allowed && v.prefix_len == 32);
  EXPECT(hardstore_ip_check_bytes(s, S("acme"), v6, 5, &v), HARDSTORE_INVALID_ARGUMENT);

  /* Expiry: the /32 allow stops deciding. */
  v = check(s, "acme", "10.9.9.9");
  CHECK(v.allowed && v.prefix_len == 32);
  OK(hardstore_clock_advance(clock, 11 * SEC));
  v = check(s, "acme", "10.9.9.9");
  CHECK(!v.allowed && v.prefix_len == 8);
  uint64_t n = 0;
  OK(hardstore_ip_rules_expired(s, &n));
  CHECK(n == 1);
  EXPECT(hardstore_ip_rules_purge_expired(s, 0, &n), HARDSTORE_CONFIRMATION_REQUIRED);
  OK(hardstore_ip_rules_purge_expired(s, 1, &n));
  CHECK(n == 1);

  /* Replace, remove, list, reopen. */
  bool replaced = false;
  OK(hardstore_ip_rule_put(s, S("acme"), S("10.1.0.0/16"), HARDSTORE_IP_DENY, 0, S("abuse"),
                           &replaced));
  CHECK(replaced);
  OK(hardstore_ip_rule_remove(s, S("acme"), S("192.0.2.0/24")));
  EXPECT(hardstore_ip_rule_remove(s, S("acme"), S("192.0.2.0/24")), HARDSTORE_NOT_FOUND);
  OK(hardstore_store_close(s));
  s = open_at(path, clock);
  v = check(s, "acme", "10.1.2.3");
  CHECK(!v.allowed && !v.global);
  hardstore_ip_rules *list = NULL;
  OK(hardstore_ip_rule_list(s, S("acme"), &list));
  CHECK(hardstore_ip_rule_list_len(list) == 1);
  const uint8_t *cp = NULL, *rp = NULL;
  size_t cl = 0, rl = 0;
  hardstore_ip_rule_info info;
  OK(hardstore_ip_rule_list_get(list, 0, &cp, &cl, &rp, &rl, &info));
  CHECK(cl == 11 && memcmp(cp, "10.1.0.0/16", 11) == 0 && rl == 5 &&
        memcmp(rp, "abuse", 5) == 0 && info.action == HARDSTORE_IP_DENY &&
        info.prefix_len == 16 && info.expires_at == 0);
  EXPECT(hardstore_ip_rule_list_get(list, 1, &cp, &cl, &rp, &rl, &info),
         HARDSTORE_INVALID_ARGUMENT);
  hardstore_ip_rule_list_free(list);
  OK(hardstore_ip_rule_list(s, NULL, 0, &list));
  CHECK(hardstore_ip_rule_list_len(list) == 3);
  hardstore_ip_rule_list_free(list);

  /* Bad input. */
  EXPECT(hardstore_ip_rule_put(s, S(""), S("10.0.0.1/8"), HARDSTORE_IP_DENY, 0, NULL, 0,
                               &replaced),
         HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_ip_rule_put(s, S(""), S("10.0.0.0/33"), HARDSTORE_IP_DENY, 0, NULL, 0,
                               &replaced),
         HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_ip_rule_put(s, S(""), S("10.0.0.0/8"), 7, 0, NULL, 0, &replaced),
         HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_ip_rule_put(s, S(""), S("10.0.0.0/8"), HARDSTORE_IP_DENY, 0, NULL, 0, NULL),
         HARDSTORE_NULL_ARGUMENT);
  EXPECT(hardstore_ip_check(s, S("acme"), S("1.2.3"), &v), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_ip_check(s, S("acme"), S("1.2.3.4:80"), &v), HARDSTORE_INVALID_ARGUMENT);
  EXPECT(hardstore_ip_check(s, S("acme"), S("1.2.3.4"), NULL), HARDSTORE_NULL_ARGUMENT);
  char long_ip[80];
  memset(long_ip, '1', sizeof long_ip);
  EXPECT(hardstore_ip_check(s, S("acme"), (const uint8_t *)long_ip, sizeof long_ip, &v),
         HARDSTORE_TOO_LONG);
  OK(hardstore_ip_rule_list(s, NULL, 0, &list));
  CHECK(hardstore_ip_rule_list_len(list) == 3);
  hardstore_ip_rule_list_free(list);
  hardstore_ip_rule_list_free(NULL);

  OK(hardstore_store_close(s));
  hardstore_clock_free(clock);
  if (failures) fprintf(stderr, "%d failures\n", failures);
  return failures ? 1 : 0;
}
