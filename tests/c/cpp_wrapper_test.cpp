// The C++ wrapper (bindings/cpp/hardstore.hpp) end to end: every area through RAII handles
// and exceptions, the right exception class for each error path (a wrong backup key is
// WrongKey, a missing record NotFound, a fenced token or claim Fenced, ...), owned
// outputs, callbacks, transactions that discard themselves unless committed, the
// store's health report, maintenance (one run with its report, and the janitor),
// metrics (the snapshot, both exposition texts, app counters, gauges and histograms),
// rate limits (checks by name and through a Limiter, keys kept across a reopen), IP
// rules (which rule decides, text and byte addresses, expiry and a confirmed purge) and
// sealed fields (keys as bytes and from a std::function kept alive by the store, shred
// making every copy Shredded, rotation with re-wrap and a confirmed destroy, wrong and
// missing keys KeyUnavailable, cut and edited blobs SealedInvalid) and the webhook outbox
// (a message committed with app state, claims owning borrowed deliveries whose headers
// verify, the specification's test vector, a rotation signing with both secrets, the
// retry schedule to a dead letter, a lapsed lease Fenced, an endpoint disabled after 24
// failures until enabled, removal asking for its count, bad input typed), and audit
// retention (a prune confirmed by its count keeping leaf hashes, root and verify; the
// archive to a new file proving its entries; by age; the setting maintenance prunes
// past; opt-in redaction).
//
// Usage: cpp_wrapper_test DIR   (DIR is an existing, empty scratch directory)

// The project's test harness passes only -I include; bindings/cpp may be on the path too.
#if __has_include("hardstore.hpp")
#include "hardstore.hpp"
#else
#include "../../bindings/cpp/hardstore.hpp"
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <typeinfo>
#include <vector>

namespace hs = hardstore;

// hardstore_test_force_panic is newer than some built libraries this test is linked
// with: referenced weakly, its check is skipped when the library lacks it.
extern "C" hardstore_result hardstore_test_force_panic(void) __attribute__((weak));

static int failures = 0;

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                                    \
    }                                                                                \
  } while (0)

// `expr` must throw exactly `Type` (a hardstore::Error subclass) with a message.
#define EXPECT_THROW(expr, Type)                                                          \
  do {                                                                                    \
    bool caught_ = false;                                                                 \
    try {                                                                                 \
      (void)(expr);                                                                       \
    } catch (const Type& e_) {                                                            \
      caught_ = true;                                                                     \
      if (typeid(e_) != typeid(Type) || e_.message().empty()) {                           \
        std::fprintf(stderr, "%s:%d: %s threw %s (%s), expected exactly %s\n", __FILE__,  \
                     __LINE__, #expr, typeid(e_).name(), e_.what(), #Type);               \
        failures++;                                                                       \
      }                                                                                   \
    } catch (const std::exception& e_) {                                                  \
      caught_ = true;                                                                     \
      std::fprintf(stderr, "%s:%d: %s threw \"%s\", expected %s\n", __FILE__, __LINE__,   \
                   #expr, e_.what(), #Type);                                              \
      failures++;                                                                         \
    }                                                                                     \
    if (!caught_) {                                                                       \
      std::fprintf(stderr, "%s:%d: %s did not throw %s\n", __FILE__, __LINE__, #expr,     \
                   #Type);                                                                \
      failures++;                                                                         \
    }                                                                                     \
  } while (0)

static const uint64_t SEC = 1000000ull;

static std::string join(const std::string& dir, const char* name) { return dir + "/" + name; }

static bool exists(const std::string& path) { return std::ifstream(path).good(); }

static std::vector<uint8_t> bytes(const char* s) {
  return std::vector<uint8_t>(s, s + std::char_traits<char>::length(s));
}

// The wrapper's own types: move-only handles, the error hierarchy, bytes_view.
static void test_basics() {
  static_assert(!std::is_copy_constructible<hs::Store>::value, "Store is move-only");
  static_assert(std::is_nothrow_move_constructible<hs::Store>::value, "Store moves");
  static_assert(!std::is_copy_constructible<hs::Transaction>::value, "tx is move-only");
  static_assert(!std::is_copy_constructible<hs::IdemToken>::value, "token is move-only");
  static_assert(!std::is_copy_constructible<hs::DlqClaims>::value, "claims are move-only");
  static_assert(!std::is_copy_constructible<hs::BackupRecordList>::value, "lists too");
  static_assert(!std::is_copy_constructible<hs::BackupSchedule>::value, "schedules too");
  static_assert(!std::is_copy_constructible<hs::AuditEvent>::value, "events too");
  static_assert(std::is_base_of<std::runtime_error, hs::Error>::value, "Error");
  static_assert(std::is_base_of<hs::Error, hs::NotFound>::value, "NotFound");
  static_assert(std::is_base_of<hs::InvalidArgument, hs::TooLong>::value, "TooLong");
  static_assert(std::is_base_of<hs::OpenError, hs::AlreadyOpen>::value, "AlreadyOpen");

  CHECK(!hs::version().empty());
  CHECK(std::string(hs::result_name(HARDSTORE_WRONG_KEY)) == "HARDSTORE_WRONG_KEY");

  std::vector<uint8_t> v = {1, 2, 3};
  const uint8_t arr[4] = {9, 8, 7, 6};
  std::string s = "text";
  hs::bytes_view a(v), b(arr), c(s), d("lit"), e(std::string_view("sv")), f;
  CHECK(a.size() == 3 && a.data() == v.data());
  CHECK(b.size() == 4 && b.data()[3] == 6);
  CHECK(c.size() == 4 && d.size() == 3 && e.size() == 2 && f.empty());
  CHECK(d.to_vector() == bytes("lit"));

  // A failing call: the right class, the code, the library's message.
  try {
    hs::Options().max_batch(0);
    CHECK(false);
  } catch (const hs::InvalidArgument& err) {
    CHECK(err.code() == HARDSTORE_INVALID_ARGUMENT);
    CHECK(err.message().find("max_batch") != std::string::npos);
    CHECK(std::string(err.what()).find("HARDSTORE_INVALID_ARGUMENT") == 0);
    CHECK(hs::last_error_message() == err.message());
  }
  // A panic inside the library comes out as Panic, with the panic's message.
  if (&hardstore_test_force_panic != nullptr) {
    try {
      hs::test_force_panic();
      CHECK(false);
    } catch (const hs::Panic& err) {
      CHECK(err.code() == HARDSTORE_PANIC);
      CHECK(err.message().find("hardstore_test_force_panic") != std::string::npos);
    }
  }
  EXPECT_THROW(hs::Options().log_capacity(0), hs::InvalidArgument);
  EXPECT_THROW(hs::Options().audit_key(""), hs::InvalidArgument);
  EXPECT_THROW(hs::Options().idempotency_ttl_ms(0), hs::InvalidArgument);
  hs::RetryPolicy bad = hs::default_retry_policy();
  CHECK(bad.max_attempts == 5 && bad.jitter == HARDSTORE_JITTER_FULL);
  bad.cap_us = bad.base_us - 1;
  EXPECT_THROW(hs::Options().dlq_policy(bad), hs::InvalidArgument);
}

static void test_open(const std::string& dir, const hs::Store& open_store,
                      const std::string& open_path) {
  EXPECT_THROW(hs::Store(open_path), hs::AlreadyOpen);
  std::string junk = join(dir, "junk");
  std::ofstream(junk) << "definitely not a database";
  EXPECT_THROW(hs::Store(junk), hs::NotAStore);
  EXPECT_THROW(hs::Store(""), hs::InvalidArgument);
  EXPECT_THROW(hs::Store(std::string("\xff\xfe")), hs::InvalidUtf8);
  hs::StoreId id = open_store.id();
  CHECK(id != hs::StoreId{});
  open_store.flush();
}

static void test_audit(const hs::Store& store, const std::string& dir, const std::string& key) {
  hs::Audit audit = store.audit();
  uint64_t base = audit.size();
  std::vector<hs::AuditReceipt> receipts;
  for (int i = 0; i < 30; i++) {
    hs::AuditEvent ev(i % 2 ? "acme" : "globex", "doc.update");
    ev.actor(i % 3 == 0 ? "user:1" : "user:2")
        .resource("doc/7")
        .outcome("success")
        .ip("192.0.2.1")
        .user_agent("cpp-test")
        .detail("i", std::to_string(i));
    receipts.push_back(
        audit.append(ev, i % 10 == 0 ? hs::Durability::Durable : hs::Durability::Buffered));
    if (i > 0) CHECK(receipts[i].seq == receipts[i - 1].seq + 1);
  }
  uint64_t size = audit.size();
  CHECK(size == base + 30);

  // An entry, copied out whole.
  hs::AuditEntry e = audit.get(receipts[3].seq);
  CHECK(e.seq == receipts[3].seq && e.time_us > 0);
  CHECK(e.tenant == "acme" && e.action == "doc.update" && e.actor == "user:1");
  CHECK(e.resource == "doc/7" && e.outcome == "success" && e.ip == "192.0.2.1");
  CHECK(e.user_agent == "cpp-test");
  CHECK(e.details.size() == 1 && e.details[0].first == "i" && e.details[0].second == "3");
  CHECK(e.leaf_hash == receipts[3].leaf_hash);
  EXPECT_THROW(audit.get(size + 100), hs::NotFound);

  // A query, newest first, 4 a page, following cursors.
  hs::AuditQuery q("acme");
  q.actor("user:1").newest_first().limit(4);
  int seen = 0, pages = 0;
  uint64_t prev = UINT64_MAX;
  for (;;) {
    hs::Page<hs::AuditEntry> page = audit.query(q);
    pages++;
    for (const hs::AuditEntry& x : page.items) {
      CHECK(x.seq < prev && x.tenant == "acme" && x.actor == "user:1");
      prev = x.seq;
      seen++;
    }
    if (!page.has_more()) break;
    q.cursor(*page.next_cursor);
  }
  CHECK(seen == 5);  // i = 3, 9, 15, 21, 27
  CHECK(pages == 2);
  hs::AuditQuery window("globex");
  window.action("doc.update").time_range(0, UINT64_MAX).newest_first(false);
  CHECK(audit.query(window).items.size() == 15);

  // Proofs, checked without a store.
  hs::Hash root = audit.root(size);
  uint64_t s5 = receipts[5].seq;
  std::vector<uint8_t> proof = audit.inclusion_proof(s5, size);
  CHECK(proof.size() == hs::inclusion_proof_len(s5, size));
  CHECK(hs::verify_inclusion(receipts[5].leaf_hash, s5, size, proof, root));
  CHECK(!hs::verify_inclusion(receipts[5].leaf_hash, s5 + 1, size, proof, root));
  CHECK(!hs::verify_inclusion(receipts[5].leaf_hash, s5, size,
                              hs::bytes_view(proof.data(), proof.size() - 1), root));
  EXPECT_THROW(audit.inclusion_proof(size, size), hs::InvalidArgument);
  EXPECT_THROW(hs::inclusion_proof_len(5, 5), hs::InvalidArgument);
  hs::Hash old_root = audit.root(base + 7);
  std::vector<uint8_t> cons = audit.consistency_proof(base + 7, size);
  CHECK(hs::verify_consistency(base + 7, size, old_root, root, cons));
  CHECK(!hs::verify_consistency(base + 7, size, root, root, cons));
  EXPECT_THROW(audit.consistency_proof(5, 4), hs::InvalidArgument);
  EXPECT_THROW(audit.root(size + 1), hs::InvalidArgument);

  // Checkpoints.
  std::vector<uint8_t> cp = audit.checkpoint();
  CHECK(cp.size() == HARDSTORE_CHECKPOINT_LEN);
  hs::CheckpointInfo info = hs::parse_checkpoint(cp);
  CHECK(info.size == size && info.has_mac);
  hs::StoreId id = store.id();
  CHECK(std::memcmp(id.data(), info.store_id, 16) == 0);
  CHECK(hs::to_hash(info.root) == root);
  CHECK(hs::verify_checkpoint_mac(cp, key));
  CHECK(!hs::verify_checkpoint_mac(cp, "wrong key"));
  EXPECT_THROW(hs::parse_checkpoint(hs::bytes_view(cp.data(), 50)), hs::CheckpointInvalid);
  audit.append(hs::AuditEvent("globex", "late"));
  hs::ProofSince since = audit.prove_since(cp);
  hs::CheckpointInfo now = hs::parse_checkpoint(since.checkpoint);
  CHECK(now.size == size + 1);
  CHECK(hs::verify_consistency(info.size, now.size, info.root, now.root, since.proof));
  hs::VerifyReport report = audit.verify();
  CHECK(report.ok && report.size == size + 1 && report.checked == report.size);

  // An owned library buffer, copied out with a too-small and a large enough buffer.
  hardstore_bytes* raw = nullptr;
  CHECK(hardstore_audit_checkpoint(store.get(), &raw) == HARDSTORE_OK);
  hs::Bytes owned(raw);
  uint8_t small[8];
  EXPECT_THROW(owned.copy_to(small, sizeof small), hs::BufferTooSmall);
  uint8_t big[HARDSTORE_CHECKPOINT_LEN];
  CHECK(owned.copy_to(big, sizeof big) == HARDSTORE_CHECKPOINT_LEN);
  CHECK(owned.size() == HARDSTORE_CHECKPOINT_LEN && owned.to_vector().size() == owned.size());

  // Export.
  std::string path = join(dir, "export.jsonl");
  CHECK(audit.export_jsonl(hs::AuditQuery("acme"), path) == 15);
  std::ifstream in(path);
  int lines = 0;
  for (std::string line; std::getline(in, line);) lines++;
  CHECK(lines == 15);

  // One Store from several threads; each thread gets its own error message.
  uint64_t start = audit.size();
  std::vector<std::thread> threads;
  int thread_failures[3] = {0, 0, 0};
  for (int t = 0; t < 3; t++) {
    threads.emplace_back([&store, &thread_failures, t] {
      uint64_t last = 0;
      for (int i = 0; i < 10; i++) {
        hs::AuditReceipt r = store.audit().append(
            hs::AuditEvent("threads", "tick").actor("thread-" + std::to_string(t)),
            hs::Durability::Buffered);
        if (i > 0 && r.seq <= last) thread_failures[t]++;
        last = r.seq;
      }
      try {
        store.audit().get(UINT64_MAX);
        thread_failures[t]++;
      } catch (const hs::NotFound& e) {
        if (e.message().empty() || hs::last_error_message() != e.message()) thread_failures[t]++;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  CHECK(thread_failures[0] == 0 && thread_failures[1] == 0 && thread_failures[2] == 0);
  CHECK(audit.size() == start + 30);
  CHECK(audit.query(hs::AuditQuery("threads").actor("thread-1")).items.size() == 10);

  // Bad input: the right class, and nothing appended.
  uint64_t before = audit.size();
  EXPECT_THROW(hs::AuditEvent("", "a"), hs::InvalidArgument);
  EXPECT_THROW(hs::AuditEvent("t", ""), hs::InvalidArgument);
  EXPECT_THROW(hs::AuditEvent(std::string("ok\xC3\x28"), "a"), hs::InvalidUtf8);
  hs::AuditEvent ev("t", "a");
  EXPECT_THROW(ev.actor(std::string(257, 'x')), hs::TooLong);
  EXPECT_THROW(ev.resource(std::string(1025, 'x')), hs::TooLong);
  EXPECT_THROW(ev.outcome(std::string(65, 'x')), hs::TooLong);
  EXPECT_THROW(ev.user_agent(std::string(513, 'x')), hs::TooLong);
  EXPECT_THROW(ev.ip("999.1.1.1"), hs::InvalidArgument);
  EXPECT_THROW(ev.detail("", "v"), hs::InvalidArgument);
  EXPECT_THROW(ev.detail("k", std::string(4097, 'x')), hs::TooLong);
  EXPECT_THROW(hs::AuditQuery(""), hs::InvalidArgument);
  hs::AuditQuery bq("t");
  EXPECT_THROW(bq.limit(0), hs::InvalidArgument);
  EXPECT_THROW(bq.limit(10001), hs::InvalidArgument);
  EXPECT_THROW(bq.time_range(10, 5), hs::InvalidArgument);
  EXPECT_THROW(bq.cursor("nonsense"), hs::InvalidArgument);
  EXPECT_THROW(audit.append(ev, static_cast<hs::Durability>(7)), hs::InvalidArgument);
  CHECK(audit.size() == before);
}

static void test_logs(const hs::Store& store) {
  hs::Logs logs = store.logs();
  const char* endpoints[3] = {"GET /a", "POST /checkout", "GET /c"};
  hs::LogRange start = logs.range();
  for (int i = 0; i < 60; i++) {
    hs::LogRecord r(static_cast<hs::Level>(i % 6), "request " + std::to_string(i) + " done");
    r.target("cpp::test")
        .tenant(i % 2 ? "acme" : "globex")
        .user("u1")
        .endpoint(endpoints[i % 3])
        .status(i % 6 >= 4 ? 500 : 200)
        .duration_us(1000 + i)
        .field("i", "x");
    if (i % 6 >= 4) r.error("upstream failed").cause("connection reset");
    uint64_t seq = logs.append(r, i % 20 == 0 ? hs::Durability::Durable
                                              : hs::Durability::Buffered);
    CHECK(seq == start.next + static_cast<uint64_t>(i));
  }
  hs::LogRange range = logs.range();
  CHECK(range.next == start.next + 60 && range.next - range.oldest == 50);  // capacity 50

  // Errors on POST /checkout, newest first, 3 a page.
  hs::LogsQuery q;
  q.min_level(hs::Level::Error).endpoint("POST /checkout").limit(3);
  int seen = 0;
  uint64_t prev = UINT64_MAX;
  for (;;) {
    hs::Page<hs::LogEntry> page = logs.query(q);
    for (const hs::LogEntry& e : page.items) {
      uint64_t i = e.seq - start.next;
      CHECK(e.seq < prev && e.seq >= range.oldest);
      prev = e.seq;
      CHECK(i % 3 == 1 && i % 6 >= 4 && e.level >= hs::Level::Error);
      CHECK(e.status == std::optional<uint16_t>(500));
      CHECK(e.duration_us == std::optional<uint64_t>(1000 + i));
      CHECK(e.error == "upstream failed");
      CHECK(e.causes.size() == 1 && e.causes[0] == "connection reset");
      CHECK(e.fields.size() == 1 && e.fields[0].first == "i" && e.fields[0].second == "x");
      CHECK(e.endpoint == "POST /checkout" && e.target == "cpp::test" && e.user == "u1");
      CHECK(e.tenant == (i % 2 ? "acme" : "globex"));
      seen++;
    }
    if (!page.next_cursor) break;
    q.cursor(*page.next_cursor);
  }
  int expected = 0;
  for (uint64_t s = range.oldest; s < range.next; s++) {
    uint64_t i = s - start.next;
    if (i % 3 == 1 && i % 6 >= 4) expected++;
  }
  CHECK(expected > 3 && seen == expected);

  // Text search, redaction, and an entry without status or duration.
  logs.append(hs::LogRecord(hs::Level::Warn, "mail to alice@example.com failed"));
  hs::LogsQuery tq;
  tq.text("mail to").tenant("").oldest_first().time_range(0, UINT64_MAX);
  CHECK(logs.query(tq).items.size() == 1);  // the one entry without a tenant
  hs::Page<hs::LogEntry> found = logs.query(hs::LogsQuery().text("mail to"));
  CHECK(found.items.size() == 1 && !found.has_more());
  if (!found.items.empty()) {
    const hs::LogEntry& e = found.items[0];
    CHECK(e.message == "mail to [email] failed");
    CHECK(e.level == hs::Level::Warn && !e.status && !e.duration_us && e.error.empty());
  }
  CHECK(logs.query(hs::LogsQuery().user("nobody")).items.empty());

  // Stats over the ring.
  hs::LogStats st = logs.stats();
  CHECK(st.totals.total == 50);
  uint64_t levels = 0;
  for (uint64_t n : st.totals.per_level) levels += n;
  CHECK(levels == st.totals.total);
  CHECK(st.totals.error_rate > 0.0 && st.totals.error_rate < 1.0);
  CHECK(st.endpoints.size() == st.totals.endpoints && st.endpoints.size() == 3);
  bool saw_checkout = false;
  for (const hs::EndpointStats& ep : st.endpoints) {
    if (ep.endpoint != "POST /checkout") continue;
    saw_checkout = true;
    CHECK(ep.count > 0 && ep.errors > 0 && ep.has_duration);
    CHECK(ep.p95_duration_us >= static_cast<uint64_t>(ep.mean_duration_us));
  }
  CHECK(saw_checkout);
  EXPECT_THROW(logs.stats(5, 1), hs::InvalidArgument);

  // Bad input: refused, the ring unchanged.
  hs::LogRange r0 = logs.range();
  EXPECT_THROW(hs::LogRecord(hs::Level::Info, std::string(8193, 'x')), hs::TooLong);
  EXPECT_THROW(hs::LogRecord(static_cast<hs::Level>(9), "m"), hs::InvalidArgument);
  EXPECT_THROW(hs::LogRecord(hs::Level::Info, std::string("\xff\xfe")), hs::InvalidUtf8);
  hs::LogRecord rec(hs::Level::Info, "ok");
  EXPECT_THROW(rec.endpoint(std::string(257, 'x')), hs::TooLong);
  EXPECT_THROW(rec.field("", "v"), hs::InvalidArgument);
  EXPECT_THROW(logs.append(rec, static_cast<hs::Durability>(3)), hs::InvalidArgument);
  hs::LogsQuery bq;
  EXPECT_THROW(bq.limit(0), hs::InvalidArgument);
  EXPECT_THROW(bq.min_level(static_cast<hs::Level>(6)), hs::InvalidArgument);
  EXPECT_THROW(bq.cursor("junk"), hs::InvalidArgument);
  EXPECT_THROW(bq.time_range(9, 1), hs::InvalidArgument);
  hs::LogRange r1 = logs.range();
  CHECK(r0.oldest == r1.oldest && r0.next == r1.next);
}

static const char* REQ = "POST /orders\n{\"sku\":1}";

// Idempotency keys, app state and transactions, on a manual clock.
static void test_idempotency_kv_tx(const hs::Store& store, const hs::ManualClock& clock) {
  hs::Idempotency idem = store.idempotency();
  hs::AppState kv = store.kv();
  hs::Audit audit = store.audit();

  // Started, InProgress, Mismatch, then Replay after complete.
  hs::IdemBeginResult a = idem.begin("acme", "k1", REQ, 60000);
  hs::IdemStarted* started = std::get_if<hs::IdemStarted>(&a);
  CHECK(started != nullptr);
  if (!started) return;
  uint64_t fence1 = started->token.fence();
  CHECK(fence1 >= 1 && !started->token.recovery());
  clock.advance(5 * SEC);
  hs::IdemBeginResult b = idem.begin("acme", "k1", REQ, 60000);
  CHECK(std::holds_alternative<hs::IdemInProgress>(b));
  if (auto* ip = std::get_if<hs::IdemInProgress>(&b)) CHECK(ip->retry_after_us == 55 * SEC);
  CHECK(std::holds_alternative<hs::IdemMismatch>(
      idem.begin("acme", "k1", "POST /orders\n{\"sku\":2}", 60000)));
  idem.complete(started->token, 201, "{\"id\":7}");
  EXPECT_THROW(idem.complete(started->token, 201, "again"), hs::Fenced);
  hs::IdemBeginResult r = idem.begin("acme", "k1", REQ);
  auto* replay = std::get_if<hs::IdemReplay>(&r);
  CHECK(replay != nullptr);
  if (replay) {
    CHECK(replay->response.body_string() == "{\"id\":7}");
    CHECK(replay->response.status == std::optional<uint16_t>(201) && !replay->response.failed);
  }
  std::optional<hs::IdemInfo> info = idem.get("acme", "k1");
  CHECK(info && info->state == 1 && info->fence == fence1);
  CHECK(!idem.get("acme", "never"));

  // A lease runs out: the next begin takes over with the recovery point; the old
  // holder is fenced off everywhere.
  hs::IdemBeginResult old_r = idem.begin("acme", "k2", REQ, 10000);
  hs::IdemToken old = std::move(std::get<hs::IdemStarted>(old_r).token);
  idem.save_recovery(old, "charged", "ch_123");
  clock.advance(11 * SEC);
  hs::IdemBeginResult neu_r = idem.begin("acme", "k2", REQ, 10000);
  CHECK(std::holds_alternative<hs::IdemStarted>(neu_r));
  hs::IdemToken neu = std::move(std::get<hs::IdemStarted>(neu_r).token);
  CHECK(neu.fence() > old.fence());
  std::optional<hs::IdemRecovery> rec = neu.recovery();
  CHECK(rec && rec->name == "charged" && rec->data == bytes("ch_123"));
  EXPECT_THROW(idem.release(old), hs::Fenced);
  EXPECT_THROW(idem.abandon(old), hs::Fenced);
  EXPECT_THROW(idem.renew(old, 1000), hs::Fenced);
  EXPECT_THROW(idem.fail(old, std::nullopt, "x"), hs::Fenced);

  // A fenced completion in a transaction writes nothing of it.
  uint64_t audits = audit.size();
  {
    hs::Transaction tx = store.begin(hs::Durability::Durable);
    tx.kv_put("orders", "o-2", "paid");
    CHECK(tx.audit_append(hs::AuditEvent("acme", "order.paid")) == 0);
    tx.idem_complete(old, 200, "late");
    EXPECT_THROW(tx.commit(), hs::Fenced);
    CHECK(!tx.committed());
    EXPECT_THROW(tx.commit(), hs::InvalidArgument);
    EXPECT_THROW(tx.kv_put("orders", "o-2", "x"), hs::InvalidArgument);
  }
  CHECK(audit.size() == audits);
  CHECK(!kv.get("orders", "o-2"));

  // The new holder commits app state, two audit entries and the response together.
  {
    hs::Transaction tx0 = store.begin();
    hs::Transaction tx = std::move(tx0);  // moves keep one owner
    tx.kv_put("orders", "o-2", "paid").kv_put("orders", "tmp", "x").kv_delete("orders", "tmp");
    hs::AuditEvent ev("acme", "order.paid");
    ev.resource("order/2");
    CHECK(tx.audit_append(ev) == 0);
    CHECK(tx.audit_append(ev) == 1);
    tx.idem_complete(neu, 200, "ok");
    EXPECT_THROW(tx.audit_seq(0), hs::InvalidArgument);
    tx.commit();
    CHECK(tx.committed());
    CHECK(tx.audit_seq(0) == audits && tx.audit_seq(1) == audits + 1);
    EXPECT_THROW(tx.audit_seq(2), hs::NotFound);
    EXPECT_THROW(tx.dead_letter_id(0), hs::NotFound);
  }
  CHECK(audit.size() == audits + 2);
  CHECK(kv.get_string("orders", "o-2") == std::optional<std::string>("paid"));
  CHECK(!kv.get("orders", "tmp"));
  CHECK(std::holds_alternative<hs::IdemReplay>(idem.begin("acme", "k2", REQ)));

  // A transaction dropped (or aborted) before its commit is discarded.
  {
    hs::Transaction tx = store.begin(hs::Durability::Buffered);
    tx.kv_put("orders", "dropped", "1");
    tx.audit_append(hs::AuditEvent("acme", "never"));
  }
  {
    hs::Transaction tx = store.begin();
    tx.kv_put("orders", "aborted", "1");
    tx.abort();
    EXPECT_THROW(tx.commit(), hs::NullArgument);
  }
  CHECK(!kv.get("orders", "dropped") && !kv.get("orders", "aborted"));
  CHECK(audit.size() == audits + 2);

  // A transaction fails a key terminally; another releases one and saves a recovery point.
  hs::IdemBeginResult f_r = idem.begin("acme", "k3", REQ, 10000);
  {
    hs::Transaction tx = store.begin();
    tx.idem_fail(std::get<hs::IdemStarted>(f_r).token, 402, "card declined");
    tx.commit();
  }
  hs::IdemBeginResult fr = idem.begin("acme", "k3", REQ);
  if (auto* rep = std::get_if<hs::IdemReplay>(&fr)) {
    CHECK(rep->response.failed && rep->response.status == std::optional<uint16_t>(402));
    CHECK(rep->response.body_string() == "card declined");
  } else {
    CHECK(false);
  }
  hs::IdemBeginResult rl_r = idem.begin("acme", "k4", REQ, 10000);
  hs::IdemToken rl = std::move(std::get<hs::IdemStarted>(rl_r).token);
  idem.renew(rl, 20000);
  {
    hs::Transaction tx = store.begin();
    tx.idem_save_recovery(rl, "step", "1");
    tx.commit();
  }
  {
    hs::Transaction tx = store.begin();
    tx.idem_release(rl);
    tx.commit();
  }
  hs::IdemBeginResult again = idem.begin("acme", "k4", "a different request is fine now");
  CHECK(std::holds_alternative<hs::IdemStarted>(again));
  if (auto* s = std::get_if<hs::IdemStarted>(&again)) {
    CHECK(s->token.fence() > rl.fence());
    idem.fail(s->token, std::nullopt, "no status");
  }
  hs::IdemBeginResult no_status = idem.begin("acme", "k4", "a different request is fine now");
  if (auto* rep = std::get_if<hs::IdemReplay>(&no_status)) {
    CHECK(!rep->response.status && rep->response.failed);
  } else {
    CHECK(false);
  }

  // Abandon ends the lease at once and keeps the recovery point.
  hs::IdemBeginResult ab_r = idem.begin("acme", "k5", REQ);
  hs::IdemToken ab = std::move(std::get<hs::IdemStarted>(ab_r).token);
  idem.save_recovery(ab, "step", "2");
  idem.abandon(ab);
  hs::IdemBeginResult ab2 = idem.begin("acme", "k5", REQ);
  if (auto* s = std::get_if<hs::IdemStarted>(&ab2)) {
    std::optional<hs::IdemRecovery> r2 = s->token.recovery();
    CHECK(r2 && r2->name == "step" && r2->data == bytes("2"));
    EXPECT_THROW(idem.complete(ab, std::nullopt, "late"), hs::Fenced);
    idem.complete(s->token, std::nullopt, "ok");
  } else {
    CHECK(false);
  }

  // Expiry at the TTL (1 h), then purge.
  clock.advance(3601 * SEC);
  CHECK(!idem.get("acme", "k1"));
  CHECK(idem.purge_expired(1000) == 5);  // k1..k5

  // Bad input.
  EXPECT_THROW(idem.begin("acme", std::string(256, 'k'), REQ), hs::TooLong);
  EXPECT_THROW(idem.begin("", "k", REQ), hs::InvalidArgument);
  EXPECT_THROW(idem.begin("acme", std::string("\xff\xfe"), REQ), hs::InvalidUtf8);
  EXPECT_THROW(idem.begin("acme", "k", REQ, 0), hs::InvalidArgument);
  CHECK(!idem.get("acme", "k"));
  EXPECT_THROW(idem.complete(hs::IdemToken(), std::nullopt, "x"), hs::NullArgument);
  EXPECT_THROW(store.begin(static_cast<hs::Durability>(9)), hs::InvalidArgument);

  // App state on its own: binary keys and values, delete, limits.
  const uint8_t key[3] = {0, 1, 0};
  std::vector<uint8_t> value = {0xff, 0, 0x7f};
  kv.put("ns", key, value);
  CHECK(kv.get("ns", key) == std::optional<std::vector<uint8_t>>(value));
  kv.put("ns", key, "", hs::Durability::Buffered);
  CHECK(kv.get("ns", key) == std::optional<std::vector<uint8_t>>(std::vector<uint8_t>()));
  CHECK(kv.remove("ns", key));
  CHECK(!kv.remove("ns", key, hs::Durability::Buffered));
  CHECK(!kv.get("ns", key));
  EXPECT_THROW(kv.put("", "k", "v"), hs::InvalidArgument);
  EXPECT_THROW(kv.put("ns", "", "v"), hs::InvalidArgument);
  EXPECT_THROW(kv.put(std::string(65, 'n'), "k", "v"), hs::TooLong);
  EXPECT_THROW(kv.get("ns", std::string(1025, 'k')), hs::TooLong);
}

// Dead letters, on the same manual clock (leases end when it moves).
static void test_dead_letters(const hs::Store& store, const hs::ManualClock& clock) {
  hs::DeadLetters dlq = store.dead_letters();
  hs::NewDeadLetter dl;
  dl.tenant = "acme";
  dl.kind = "email";
  dl.payload = "to: a";
  dl.error = "first failure";
  uint64_t a = dlq.record(dl);
  dl.kind = "webhook";
  dl.payload = "{\"n\":1}";
  uint64_t b = dlq.record(dl, hs::Durability::Buffered);
  dl.tenant = "globex";
  dl.payload = "{\"n\":2}";
  uint64_t c = dlq.record(dl);
  CHECK(b == a + 1 && c == a + 2);
  hs::DlqStateCounts n = dlq.counts();
  CHECK(n.pending == 3 && n.leased == 0 && n.done == 0 && n.dead == 0);

  // Bad input: refused, nothing recorded.
  hs::NewDeadLetter bad = dl;
  bad.kind = "";
  EXPECT_THROW(dlq.record(bad), hs::InvalidArgument);
  bad = dl;
  std::string long_tenant(129, 't');
  bad.tenant = long_tenant;
  EXPECT_THROW(dlq.record(bad), hs::TooLong);
  bad = dl;
  bad.tenant = "\xff\xfe";
  EXPECT_THROW(dlq.record(bad), hs::InvalidUtf8);
  bad = dl;
  bad.max_attempts = 1001;
  EXPECT_THROW(dlq.record(bad), hs::InvalidArgument);
  EXPECT_THROW(dlq.record(dl, static_cast<hs::Durability>(9)), hs::InvalidArgument);
  EXPECT_THROW(dlq.claim_due(0, 60 * SEC), hs::InvalidArgument);
  EXPECT_THROW(dlq.claim_due(10, 0), hs::InvalidArgument);
  CHECK(dlq.counts().pending == 3);

  // Claim all three for a minute; ack one, fail one retryably and one permanently.
  {
    hs::DlqClaims claims = dlq.claim_due(10, 60 * SEC);
    CHECK(claims.size() == 3);
    EXPECT_THROW(claims.at(3), hs::NotFound);
    std::vector<uint64_t> ids;
    for (hs::DlqClaim cl : claims) ids.push_back(cl.id());
    CHECK(ids == (std::vector<uint64_t>{a, b, c}));
    hs::DlqClaim ca = claims[0], cb = claims[1], cc = claims[2];
    CHECK(ca.attempt() == 1 && ca.max_attempts() == 5 && ca.lease_until() > 60 * SEC);
    CHECK(ca.kind() == "email" && ca.tenant() == "acme" && ca.payload() == bytes("to: a"));
    CHECK(cc.tenant() == "globex" && cb.payload() == bytes("{\"n\":1}"));
    EXPECT_THROW(ca.field(99), hs::InvalidArgument);
    n = dlq.counts();
    CHECK(n.pending == 0 && n.leased == 3);
    dlq.ack(ca);
    EXPECT_THROW(dlq.ack(ca), hs::Fenced);
    EXPECT_THROW(dlq.fail(cb, std::string(4097, 'e'), true), hs::TooLong);
    hs::DlqFailResult fb = dlq.fail(cb, "timeout", true);
    CHECK(fb.state == hs::DlqState::Pending && fb.next_attempt_at > 0);
    hs::DlqFailResult fc = dlq.fail(cc, "410 gone", false);
    CHECK(fc.state == hs::DlqState::Dead && fc.next_attempt_at == 0);
  }
  n = dlq.counts();
  CHECK(n.pending == 1 && n.leased == 0 && n.done == 1 && n.dead == 1);

  // c's whole history.
  hs::DlqItem item = dlq.get(c);
  CHECK(item.id == c && item.state == hs::DlqState::Dead && item.attempts == 1);
  CHECK(item.max_attempts == 5 && item.redrives == 0 && item.time_us >= item.created_us);
  CHECK(item.tenant == "globex" && item.kind == "webhook" && item.payload == bytes("{\"n\":2}"));
  CHECK(item.last_error == "410 gone");
  CHECK(item.history.size() == 2);
  if (item.history.size() == 2) {
    CHECK(item.history[0].attempt == 0 && item.history[0].retryable);
    CHECK(item.history[0].error == "first failure");
    CHECK(item.history[1].attempt == 1 && !item.history[1].retryable);
    CHECK(item.history[1].error == "410 gone");
  }
  EXPECT_THROW(dlq.get(12345), hs::NotFound);

  // A stale worker: its lease ran out (the clock moved), so it is fenced off.
  clock.advance(10 * SEC);  // b is due again
  dl.tenant = "globex";
  dl.kind = "sms";
  dl.payload = "hi";
  uint64_t e = dlq.record(dl);
  {
    hs::DlqClaims claims = dlq.claim_due(10, 1 * SEC);
    CHECK(claims.size() == 2);  // b (again) and e
    clock.advance(2 * SEC);
    for (hs::DlqClaim cl : claims) {
      EXPECT_THROW(dlq.ack(cl), hs::Fenced);
      EXPECT_THROW(dlq.fail(cl, "late", true), hs::Fenced);
    }
    CHECK(dlq.get(e).state == hs::DlqState::Leased);
    // In a transaction too: the stale ack makes the commit fail and write nothing.
    hs::Transaction tx = store.begin();
    tx.kv_put("webhooks", "stale", "1");
    tx.dlq_ack(claims[0]);
    EXPECT_THROW(tx.commit(), hs::Fenced);
  }
  CHECK(!store.kv().get("webhooks", "stale"));

  // A transaction acks and fails claimed items together with app state and records a
  // new dead letter.
  uint64_t f_id = 0;
  {
    hs::DlqClaims claims = dlq.claim_due(10, 60 * SEC);
    CHECK(claims.size() == 2);  // b and e, their leases over
    bool b_first = claims[0].id() == b;
    hs::DlqClaim cb = claims[b_first ? 0 : 1], ce = claims[b_first ? 1 : 0];
    CHECK(cb.id() == b && ce.id() == e && cb.attempt() == 3 && ce.attempt() == 2);
    hs::Transaction tx = store.begin();
    tx.kv_put("webhooks", "order/2", "delivered");
    tx.dlq_ack(cb);
    EXPECT_THROW(tx.dlq_fail(ce, std::string(5000, 'e'), true), hs::TooLong);
    tx.dlq_fail(ce, "still down", false);
    hs::NewDeadLetter receipt;
    receipt.tenant = "acme";
    receipt.kind = "email";
    receipt.payload = "receipt";
    CHECK(tx.dlq_record(receipt) == 0);
    receipt.kind = "";
    EXPECT_THROW(tx.dlq_record(receipt), hs::InvalidArgument);
    tx.commit();
    f_id = tx.dead_letter_id(0);
    CHECK(f_id == e + 1);
  }
  CHECK(dlq.get(b).state == hs::DlqState::Done);
  CHECK(dlq.get(e).state == hs::DlqState::Dead && dlq.get(e).last_error == "still down");
  CHECK(store.kv().get_string("webhooks", "order/2") == std::optional<std::string>("delivered"));

  // Redrive by id.
  dlq.redrive(c);
  hs::DlqItem rc = dlq.get(c);
  CHECK(rc.state == hs::DlqState::Pending && rc.attempts == 0 && rc.redrives == 1);
  EXPECT_THROW(dlq.redrive(a), hs::InvalidArgument);  // done
  EXPECT_THROW(dlq.redrive(999), hs::NotFound);

  // Lists with paging.
  auto list_all = [&](hs::DlqQuery& q, size_t limit) {
    q.limit(limit);
    std::vector<uint64_t> ids;
    for (;;) {
      hs::Page<hs::DlqItem> page = dlq.list(q);
      for (const hs::DlqItem& it : page.items) ids.push_back(it.id);
      if (!page.next_cursor) break;
      q.cursor(*page.next_cursor);
    }
    return ids;
  };
  hs::DlqQuery everything;
  CHECK(list_all(everything, 2) == (std::vector<uint64_t>{a, b, c, e, f_id}));
  hs::DlqQuery dead;
  dead.state(hs::DlqState::Dead);
  CHECK(list_all(dead, 1) == std::vector<uint64_t>{e});
  hs::DlqQuery pending_acme;
  pending_acme.state(hs::DlqState::Pending).tenant("acme").kind("email").time_range(0, UINT64_MAX);
  CHECK(list_all(pending_acme, 10) == std::vector<uint64_t>{f_id});
  EXPECT_THROW(pending_acme.cursor("junk"), hs::InvalidArgument);
  EXPECT_THROW(pending_acme.state(static_cast<hs::DlqState>(9)), hs::InvalidArgument);
  EXPECT_THROW(pending_acme.limit(0), hs::InvalidArgument);
  EXPECT_THROW(pending_acme.time_range(5, 4), hs::InvalidArgument);

  // Redrive by filter: the dead sms (e).
  hs::DlqQuery sms;
  sms.kind("sms");
  CHECK(dlq.redrive_where(sms) == 1);
  CHECK(dlq.get(e).state == hs::DlqState::Pending);
  sms.state(hs::DlqState::Pending);
  EXPECT_THROW(dlq.redrive_where(sms), hs::InvalidArgument);

  // Nothing is 7 days old yet; 8 days later the done items go.
  CHECK(dlq.purge() == 0);
  clock.advance(8 * 86400 * SEC);
  CHECK(dlq.purge(10) == 2);  // a and b
  EXPECT_THROW(dlq.get(a), hs::NotFound);
  EXPECT_THROW(dlq.get(b), hs::NotFound);
  CHECK(dlq.get(c).state == hs::DlqState::Pending);

  // The retry helper with a std::function.
  hs::RetryPolicy fast = hs::default_retry_policy();
  fast.base_us = 10;
  fast.cap_us = 100;
  fast.max_attempts = 3;
  fast.seeded = true;
  fast.seed = 7;
  int calls = 0;
  hs::DlqRetryResult ok = dlq.retry(fast, "acme", "email", "x", [&](uint32_t attempt) {
    calls++;
    return attempt >= 2 ? hs::DlqOpResult::ok() : hs::DlqOpResult::retry("503 unavailable");
  });
  CHECK(ok.succeeded && ok.attempts == 2 && ok.dead_letter == 0 && calls == 2);
  calls = 0;
  hs::DlqRetryResult lettered = dlq.retry(fast, "acme", "webhook", "y", [&](uint32_t) {
    calls++;
    return hs::DlqOpResult::retry("503 unavailable");
  });
  CHECK(!lettered.succeeded && lettered.attempts == 3 && calls == 3);
  hs::DlqItem ly = dlq.get(lettered.dead_letter);
  CHECK(ly.state == hs::DlqState::Pending && ly.payload == bytes("y"));
  CHECK(ly.last_error.size() >= 15 &&
        ly.last_error.compare(ly.last_error.size() - 15, 15, "503 unavailable") == 0);
  // A throwing operation is a permanent failure carrying the exception's message.
  hs::DlqRetryResult thrown = dlq.retry(std::nullopt, "acme", "email", "z", [](uint32_t) -> hs::DlqOpResult {
    throw std::runtime_error("boom from C++");
  });
  CHECK(!thrown.succeeded && thrown.attempts == 1);
  hs::DlqItem lz = dlq.get(thrown.dead_letter);
  CHECK(lz.state == hs::DlqState::Dead && lz.last_error.find("boom from C++") != std::string::npos);
  EXPECT_THROW(dlq.retry(fast, "acme", "email", "z", hs::DlqOp()), hs::NullArgument);
  calls = 0;
  EXPECT_THROW(dlq.retry(fast, "acme", "", "z",
                         [&](uint32_t) {
                           calls++;
                           return hs::DlqOpResult::ok();
                         }),
               hs::InvalidArgument);
  CHECK(calls == 0);
}

static void test_restore_points(const std::string& dir, const hs::ManualClock& clock) {
  std::string path = join(dir, "rp.hs");
  EXPECT_THROW(hs::Store(path, hs::Options().max_restore_points(0)), hs::InvalidArgument);
  hs::Options opts;
  opts.max_restore_points(2).clock(clock);
  hs::Store s(path, opts);
  hs::RestorePoints rp = s.restore_points();
  hs::AppState kv = s.kv();

  kv.put("app", "balance", "100");
  hs::RestorePointInfo a = rp.create("before migration");
  CHECK(a.audit_size == s.audit().size());
  rp.verify(a.id);
  kv.put("app", "balance", "0");
  kv.put("app", "extra", "x");
  hs::RestorePointInfo b = rp.create("after");
  CHECK(b.id > a.id);
  EXPECT_THROW(rp.create("one too many"), hs::LimitReached);
  EXPECT_THROW(rp.create(""), hs::InvalidArgument);
  EXPECT_THROW(rp.create(std::string("\xff\xfe")), hs::InvalidUtf8);
  EXPECT_THROW(rp.create(std::string(257, 'l')), hs::TooLong);

  CHECK(rp.list() == (std::vector<uint64_t>{a.id, b.id}));
  std::optional<hs::RestorePointInfo> got = rp.get(a.id);
  CHECK(got && got->id == a.id && std::memcmp(got->digest, a.digest, 32) == 0);
  CHECK(!rp.get(999));
  CHECK(rp.label(a.id) == "before migration");
  EXPECT_THROW(rp.label(999), hs::NotFound);

  // Restore to a: app state back, b gone, the audit log grown by one entry.
  uint64_t before = s.audit().size();
  uint64_t seq = rp.restore(a.id, "ops");
  CHECK(seq == before && s.audit().size() == before + 1);
  CHECK(kv.get_string("app", "balance") == std::optional<std::string>("100"));
  CHECK(!kv.get("app", "extra"));
  CHECK(rp.list() == std::vector<uint64_t>{a.id});
  hs::AuditEntry entry = s.audit().get(seq);
  CHECK(entry.actor == "ops");
  CHECK(s.audit().verify().ok);
  EXPECT_THROW(rp.restore(999, "ops"), hs::NotFound);
  EXPECT_THROW(rp.verify(999), hs::NotFound);

  // Export a point as a standalone store.
  std::string exported = join(dir, "exported.hs");
  CHECK(rp.export_to(a.id, exported) > 0);
  EXPECT_THROW(rp.export_to(a.id, exported), hs::InvalidArgument);
  EXPECT_THROW(rp.export_to(999, join(dir, "x.hs")), hs::NotFound);
  {
    hs::Store e(exported);
    CHECK(e.kv().get_string("app", "balance") == std::optional<std::string>("100"));
    CHECK(e.audit().size() == a.audit_size);
    CHECK(e.id() != s.id());
  }

  hs::SpaceReport space = rp.space();
  CHECK(space.points == 1 && space.max_points == 2 && space.allocated_bytes > 0);
  CHECK(rp.remove(a.id));
  CHECK(!rp.remove(a.id));
  CHECK(rp.list().empty());
  s.close();
  CHECK(!s.is_open());
  EXPECT_THROW(s.restore_points().list(), hs::NullArgument);
}

struct ProgressError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

static void test_settings(const std::string& dir) {
  std::string path = join(dir, "settings.hs");
  {
    hs::Store s(path, hs::Options().log_capacity(20).max_restore_points(3));
    for (int i = 0; i < 15; i++) s.logs().append(hs::LogRecord(hs::Level::Info, "x"));
    s.flush();
    s.close();
  }
  hs::Store s(path, hs::Options().log_capacity(2));
  hs::StoreSettings st = s.settings();
  CHECK(st.get().log_capacity == 20 && st.get().max_restore_points == 3);
  EXPECT_THROW(st.set_log_capacity(5, 0, "ops"), hs::ConfirmationRequired);
  hardstore_setting_change c = st.set_log_capacity(5, 10, "ops");
  CHECK(c.deleted == 10);
  CHECK(s.audit().get(c.audit_seq).action == "settings.set");
  st.set_max_restore_points(7);
  EXPECT_THROW(st.set_max_restore_points(0), hs::InvalidArgument);
  CHECK(st.get().max_restore_points == 7 && st.get().log_capacity == 5);
  s.close();
}

static void test_backups(const std::string& dir, const hs::ManualClock& clock) {
  std::string src = join(dir, "bk.hs");
  std::string file = join(dir, "full.hsb");
  std::string copy = join(dir, "copy.hs");
  std::string folder = join(dir, "backups");
  hs::Options opts;
  opts.clock(clock);
  hs::Store s(src, opts);
  s.kv().put("app", "a", "1");
  s.kv().put("app", "b", "2");
  s.audit().append(hs::AuditEvent("acme", "order.create"));
  uint64_t size = s.audit().size();
  hs::Hash root = s.audit().root(size);

  // A standalone full backup: verify, restore, damage.
  hs::BackupInfo info = s.backups().full(file);
  CHECK(info.audit_size == size && hs::to_hash(info.audit_root) == root);
  CHECK(info.frames > 0 && info.bytes > 0 && info.kind == HARDSTORE_BACKUP_FULL);
  CHECK(!info.encrypted && info.backup_id == 0);
  EXPECT_THROW(s.backups().full(file), hs::InvalidArgument);
  hs::BackupInfo checked = hs::backup_verify(file);
  CHECK(checked.bytes == info.bytes && std::memcmp(checked.digest, info.digest, 32) == 0);
  EXPECT_THROW(hs::backup_verify(std::string("\xff")), hs::InvalidUtf8);
  hs::backup_restore(file, copy);
  {
    hs::Store c(copy, hs::Options());
    CHECK(c.kv().get_string("app", "a") == std::optional<std::string>("1"));
    CHECK(c.audit().root(size) == root);
  }
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(info.bytes / 2));
    char byte = 0;
    f.get(byte);
    f.seekp(static_cast<std::streamoff>(info.bytes / 2));
    f.put(static_cast<char>(byte ^ 0x04));
  }
  EXPECT_THROW(hs::backup_verify(file), hs::Corrupted);
  std::string bad_copy = join(dir, "bad-copy.hs");
  EXPECT_THROW(hs::backup_restore(file, bad_copy), hs::Corrupted);
  CHECK(!exists(bad_copy));

  // Cataloged runs: an incremental with no base is promoted to full; progress reported.
  std::array<uint8_t, 32> material;
  material.fill(0x42);
  hs::BackupKey key = hs::make_backup_key(9, material);
  hs::BackupKey other = key;
  other.key[0] ^= 1;
  hs::Backups bk = s.backups();
  EXPECT_THROW(bk.run(static_cast<hs::BackupKind>(7), folder), hs::InvalidArgument);
  uint64_t calls = 0, done = 0, total = 0;
  hs::BackupRun full = bk.run(hs::BackupKind::Incremental, folder, key,
                              [&](uint64_t d, uint64_t t) {
                                calls++;
                                done = d;
                                total = t;
                              });
  CHECK(full.kind == hs::BackupKind::Full);
  CHECK(calls > 0 && done == total && total > 0);
  s.kv().put("app", "a", "10");
  CHECK(s.kv().remove("app", "b"));
  clock.advance(SEC);
  hs::BackupRun diff = bk.run(hs::BackupKind::Differential, folder, key);
  CHECK(diff.kind == hs::BackupKind::Differential);
  s.kv().put("app", "c", "3");
  clock.advance(SEC);
  hs::BackupRun inc = bk.run(hs::BackupKind::Incremental, folder, key);
  CHECK(inc.kind == hs::BackupKind::Incremental && full.id < diff.id && diff.id < inc.id);

  {
    hs::BackupRecordList all = bk.list();
    CHECK(all.size() == 3);
    hs::BackupRecord r = all[1];
    CHECK(r.id == diff.id && r.base_id == full.id && r.result == hs::BackupResult::Ok);
    CHECK(r.kind == hs::BackupKind::Differential && r.encrypted && r.key_id == 9);
    CHECK(r.error.empty() && !r.file.empty() && r.bytes > 0 && r.ended_us >= r.started_us);
    CHECK(r.digest != hs::Hash{});
    EXPECT_THROW(all.at(3), hs::NotFound);
    CHECK(all.to_vector().size() == 3);
    hs::BackupRecordList moved = std::move(all);
    CHECK(moved.size() == 3 && all.size() == 0);
  }

  // The chain of the last run: keys, order, restore.
  hs::BackupRecordList chain = bk.chain(inc.id);
  CHECK(chain.size() == 3);
  EXPECT_THROW(bk.chain(999), hs::NotFound);
  EXPECT_THROW(hs::backup_verify_chain(chain), hs::WrongKey);
  EXPECT_THROW(hs::backup_verify_chain(chain, other), hs::WrongKey);
  EXPECT_THROW(hs::backup_verify(chain[0].file), hs::WrongKey);
  EXPECT_THROW(hs::backup_verify(chain[0].file, other), hs::WrongKey);
  hs::BackupInfo first = hs::backup_verify(chain[0].file, key);
  CHECK(first.encrypted && first.key_id == 9 && first.backup_id == full.id);
  hs::BackupInfo last = hs::backup_verify_chain(chain, key);
  CHECK(last.backup_id == inc.id && last.kind == HARDSTORE_BACKUP_INCREMENTAL);
  std::vector<std::string> files = chain.files();
  std::vector<std::string> swapped = {files[0], files[2], files[1]};
  EXPECT_THROW(hs::backup_verify_chain(swapped, key), hs::InvalidArgument);
  EXPECT_THROW(hs::backup_verify_chain(std::vector<std::string>(), key), hs::InvalidArgument);
  std::string wrong = join(dir, "cat-wrong.hs");
  EXPECT_THROW(hs::backup_restore_chain(chain, wrong, other), hs::WrongKey);
  CHECK(!exists(wrong));
  // One encrypted full on its own: WrongKey without its key, restored with it.
  std::string single = join(dir, "single-full.hs");
  EXPECT_THROW(hs::backup_restore(files[0], single), hs::WrongKey);
  EXPECT_THROW(hs::backup_restore(files[0], single, other), hs::WrongKey);
  CHECK(!exists(single));
  CHECK(hs::backup_restore(files[0], single, key).backup_id == full.id);
  {
    hs::Store c(single);
    CHECK(c.kv().get_string("app", "b") == std::optional<std::string>("2"));
  }
  std::string restored = join(dir, "cat-restored.hs");
  hs::Options ropts;
  ropts.log_capacity(10);
  hs::BackupInfo ri = hs::backup_restore_chain(files, restored, key, &ropts);
  CHECK(ri.backup_id == inc.id);
  {
    hs::Store c(restored);
    CHECK(c.kv().get_string("app", "a") == std::optional<std::string>("10"));
    CHECK(!c.kv().get("app", "b"));
    CHECK(c.kv().get_string("app", "c") == std::optional<std::string>("3"));
  }

  // A throwing progress callback: the run completes and is cataloged, then the
  // exception comes out of run().
  bool rethrown = false;
  try {
    bk.run(hs::BackupKind::Full, folder, std::nullopt,
           [](uint64_t, uint64_t) { throw ProgressError("progress gave up"); });
  } catch (const ProgressError& e) {
    rethrown = std::string(e.what()) == "progress gave up";
  }
  CHECK(rethrown);
  CHECK(bk.list().size() == 4);

  // Retention: keep one full; a dry run deletes nothing.
  hs::Retention keep_one{};
  keep_one.keep_fulls = 1;
  CHECK(bk.prune(keep_one, 0, true).size() == 3);
  CHECK(bk.list().size() == 4);
  hs::BackupRecordList gone = bk.prune(keep_one, 0, false);
  CHECK(gone.size() == 3);
  CHECK(!exists(gone[0].file));
  CHECK(bk.prune(std::nullopt, 0, true).empty());
  hs::BackupRecordList left = bk.list();
  CHECK(left.size() == 1);
  uint64_t last_started = left[0].started_us;

  // run_due: nothing due within the hour; a differential an hour later.
  hs::Schedule sched = hs::default_schedule();
  sched.prune = false;
  CHECK(!bk.run_due(last_started, folder, sched));
  uint64_t due_calls = 0;
  std::optional<uint64_t> ran = bk.run_due(last_started + 3600 * SEC, folder, sched,
                                           std::nullopt,
                                           [&](uint64_t, uint64_t) { due_calls++; });
  CHECK(ran.has_value() && due_calls > 0);
  if (ran) CHECK(bk.list()[1].kind == hs::BackupKind::Differential);
  hs::Schedule zero = sched;
  zero.differential_every_secs = 0;
  EXPECT_THROW(bk.run_due(0, folder, zero), hs::InvalidArgument);
  hs::BackupSuccessRate rate = bk.success_rate();
  CHECK(rate.ok == 2 && rate.failed == 0);
  CHECK(bk.success_rate(UINT64_MAX).ok == 0);

  // The schedule thread: 2 s after the last run a 1 s differential is due at once.
  hs::Schedule fast = sched;
  fast.differential_every_secs = 1;
  fast.prune = true;
  fast.retention.keep_fulls = 1;
  EXPECT_THROW(bk.start_schedule(folder, fast, std::nullopt, 0), hs::InvalidArgument);
  clock.advance(2 * SEC);
  {
    hs::BackupSchedule thread = bk.start_schedule(folder, fast, key, 20);
    CHECK(thread.running());
    for (int i = 0; i < 3000 && bk.success_rate().ok < 3; i++)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    hs::BackupSchedule moved = std::move(thread);
    CHECK(moved.running() && !thread.running());
    moved.stop();
    CHECK(!moved.running());
  }  // both destructors run: nothing left to stop
  rate = bk.success_rate();
  CHECK(rate.ok == 3 && rate.failed == 0);
  {
    // Dropped without stop(): the destructor stops it.
    hs::BackupSchedule thread = bk.start_schedule(folder, std::nullopt, std::nullopt, 50);
  }
  s.close();
}

// Alerts on their own store and clock: a repeat counts on the alert not resolved,
// acknowledge and resolve (by id and by key), a raise after resolve opens a new alert,
// pages newest first with a cursor, filters, counts, a purge that throws
// ConfirmationRequired until its count is confirmed, bad input, a reopen.
static void test_alerts(const std::string& dir) {
  const uint64_t t0 = 1700000000ull * SEC;
  hs::ManualClock clock(t0);
  std::string path = join(dir, "alerts.hs");
  hs::Store s(path, hs::Options().clock(clock));
  hs::Alerts alerts = s.alerts();

  hs::NewAlert disk;
  disk.tenant = "acme";
  disk.source = "health";
  disk.dedup_key = "disk";
  disk.severity = hs::Severity::Warning;
  disk.message = "disk at 85%";
  hs::AlertRaised a = alerts.raise(disk);
  CHECK(a.created && a.count == 1 && a.state == hs::AlertState::Open);
  clock.advance(5 * SEC);
  disk.severity = hs::Severity::Critical;
  disk.message = "disk at 97%";
  hs::AlertRaised b = alerts.raise(disk, hs::Durability::Buffered);
  CHECK(!b.created && b.id == a.id && b.count == 2 && b.state == hs::AlertState::Open);
  hs::NewAlert other = disk;
  other.tenant = "globex";
  hs::AlertRaised g = alerts.raise(other);
  CHECK(g.created && g.id != a.id);

  hs::Alert got = alerts.get(a.id);
  CHECK(got.id == a.id && got.tenant == "acme" && got.source == "health");
  CHECK(got.dedup_key == "disk" && got.message == "disk at 97%");
  CHECK(got.severity == hs::Severity::Critical && got.state == hs::AlertState::Open);
  CHECK(got.count == 2 && got.first_seen == t0 && got.last_seen == t0 + 5 * SEC);
  CHECK(!got.acknowledged_at && !got.resolved_at && got.acknowledged_by.empty());
  CHECK(got.resolved_by.empty() && got.resolution.empty());

  // Acknowledge: a repeat still counts on it, and it stays acknowledged.
  clock.advance(SEC);
  alerts.acknowledge(a.id, "oncall:ana");
  got = alerts.get(a.id);
  CHECK(got.state == hs::AlertState::Acknowledged && got.acknowledged_by == "oncall:ana");
  CHECK(got.acknowledged_at == std::optional<uint64_t>(t0 + 6 * SEC));
  hs::AlertRaised c = alerts.raise(disk);
  CHECK(c.id == a.id && c.count == 3 && !c.created && c.state == hs::AlertState::Acknowledged);
  alerts.acknowledge(a.id, "someone:else");  // no change
  CHECK(alerts.get(a.id).acknowledged_by == "oncall:ana");

  // Resolve; again changes nothing; acknowledging it now is refused.
  clock.advance(SEC);
  alerts.resolve(a.id, "oncall:ana", "freed 20 GB");
  got = alerts.get(a.id);
  CHECK(got.state == hs::AlertState::Resolved && got.resolved_by == "oncall:ana");
  CHECK(got.resolved_at == std::optional<uint64_t>(t0 + 7 * SEC));
  CHECK(got.resolution == "freed 20 GB" && got.count == 3);
  alerts.resolve(a.id, "x", "y");
  CHECK(alerts.get(a.id).resolution == "freed 20 GB");
  EXPECT_THROW(alerts.acknowledge(a.id, "x"), hs::InvalidArgument);

  // A raise after the resolve opens a new alert.
  hs::AlertRaised d = alerts.raise(disk);
  CHECK(d.created && d.id > g.id && d.count == 1);
  CHECK(alerts.get(a.id).state == hs::AlertState::Resolved);

  // Resolve by key: that tenant's alert not resolved, then nothing.
  std::optional<uint64_t> by_key = alerts.resolve_key("acme", "disk", "health", "cleared");
  CHECK(by_key == std::optional<uint64_t>(d.id));
  CHECK(!alerts.resolve_key("acme", "disk", "health"));
  CHECK(alerts.get(g.id).state == hs::AlertState::Open);
  hs::AlertCounts n = alerts.counts();
  CHECK(n.unresolved == 1 && n.resolved == 2);

  // Ten more, then every alert four a page, newest first, through the cursor.
  std::vector<uint64_t> ids = {a.id, g.id, d.id};
  for (int i = 0; i < 10; i++) {
    hs::NewAlert more;
    std::string key = "k" + std::to_string(i);
    more.tenant = i % 2 ? "acme" : "globex";
    more.source = i < 8 ? "health" : "billing";
    more.dedup_key = key;
    more.severity = static_cast<hs::Severity>(i % 3);
    ids.push_back(alerts.raise(more).id);
  }
  std::vector<uint64_t> newest_first(ids.rbegin(), ids.rend());
  std::vector<uint64_t> walked;
  hs::AlertQuery q(hs::AlertScope::All);
  q.limit(4);
  int pages = 0;
  for (;;) {
    hs::Page<hs::Alert> page = alerts.list(q);
    CHECK(page.items.size() <= 4);
    for (const hs::Alert& x : page.items) walked.push_back(x.id);
    pages++;
    if (!page.has_more()) break;
    q.cursor(*page.next_cursor);
  }
  CHECK(walked == newest_first && pages == 4);
  hs::Page<hs::Alert> open = alerts.list();  // scope Open, 100 a page
  CHECK(open.items.size() == 11 && !open.has_more());
  for (const hs::Alert& x : open.items) CHECK(x.state != hs::AlertState::Resolved);
  hs::Page<hs::Alert> resolved = alerts.list(hs::AlertQuery(hs::AlertScope::Resolved));
  CHECK(resolved.items.size() == 2 && resolved.items[0].id == d.id);
  hs::Page<hs::Alert> crit = alerts.list(
      hs::AlertQuery(hs::AlertScope::All).tenant("acme").min_severity(hs::Severity::Critical));
  for (const hs::Alert& x : crit.items)
    CHECK(x.tenant == "acme" && x.severity == hs::Severity::Critical);
  CHECK(crit.items.size() == 3);  // a, d and k5
  CHECK(alerts.list(hs::AlertQuery(hs::AlertScope::All).source("billing")).items.size() == 2);
  CHECK(alerts.list(hs::AlertQuery(hs::AlertScope::All).source("nobody")).items.empty());
  EXPECT_THROW(alerts.list(hs::AlertQuery().limit(0)), hs::InvalidArgument);
  EXPECT_THROW(alerts.list(hs::AlertQuery().limit(10001)), hs::InvalidArgument);
  EXPECT_THROW(alerts.list(hs::AlertQuery(static_cast<hs::AlertScope>(9))), hs::InvalidArgument);
  EXPECT_THROW(alerts.list(hs::AlertQuery().min_severity(static_cast<hs::Severity>(7))),
               hs::InvalidArgument);
  EXPECT_THROW(alerts.list(hs::AlertQuery().cursor("junk")), hs::InvalidArgument);

  // Purge: the count first, refused (nothing deleted) until it is confirmed.
  clock.advance(100 * SEC);
  const uint64_t keep = 60 * SEC;
  CHECK(alerts.purgeable(keep) == 2);
  uint64_t audit_size = s.audit().size();
  EXPECT_THROW(alerts.purge_resolved(keep, 0), hs::ConfirmationRequired);
  try {
    alerts.purge_resolved(keep, 1);
    CHECK(false);
  } catch (const hs::ConfirmationRequired& err) {
    CHECK(err.code() == HARDSTORE_CONFIRMATION_REQUIRED);
    CHECK(std::string(err.name()) == "HARDSTORE_CONFIRMATION_REQUIRED");
    CHECK(err.message().find('2') != std::string::npos);
  }
  n = alerts.counts();
  CHECK(n.unresolved == 11 && n.resolved == 2 && s.audit().size() == audit_size);
  CHECK(alerts.get(a.id).state == hs::AlertState::Resolved);
  CHECK(alerts.purge_resolved(keep, alerts.purgeable(keep)) == 2);
  EXPECT_THROW(alerts.get(a.id), hs::NotFound);
  EXPECT_THROW(alerts.get(d.id), hs::NotFound);
  n = alerts.counts();
  CHECK(n.unresolved == 11 && n.resolved == 0 && s.audit().size() == audit_size + 1);
  CHECK(s.audit().get(audit_size).action == "alert.purge");
  CHECK(alerts.purge_resolved(keep, 0) == 0);  // nothing to delete: no confirmation needed

  // Bad input: the right class, nothing written.
  hs::NewAlert bad = disk;
  bad.tenant = "";
  EXPECT_THROW(alerts.raise(bad), hs::InvalidArgument);
  bad = disk;
  std::string long_key(257, 'k');
  bad.dedup_key = long_key;
  EXPECT_THROW(alerts.raise(bad), hs::TooLong);
  bad = disk;
  bad.source = "\xff\xfe";
  EXPECT_THROW(alerts.raise(bad), hs::InvalidUtf8);
  bad = disk;
  bad.severity = static_cast<hs::Severity>(7);
  EXPECT_THROW(alerts.raise(bad), hs::InvalidArgument);
  EXPECT_THROW(alerts.raise(disk, static_cast<hs::Durability>(9)), hs::InvalidArgument);
  EXPECT_THROW(alerts.acknowledge(123456, "x"), hs::NotFound);
  EXPECT_THROW(alerts.resolve(123456), hs::NotFound);
  EXPECT_THROW(alerts.resolve(g.id, std::string(257, 'b')), hs::TooLong);
  EXPECT_THROW(alerts.resolve_key("acme", ""), hs::InvalidArgument);
  n = alerts.counts();
  CHECK(n.unresolved == 11 && n.resolved == 0 && s.audit().size() == audit_size + 1);

  // Kept across a reopen.
  s.close();
  hs::Store again(path, hs::Options().clock(clock));
  got = again.alerts().get(g.id);
  CHECK(got.tenant == "globex" && got.state == hs::AlertState::Open && got.count == 1);
  CHECK(again.alerts().counts().unresolved == 11);
}

// Health on its own store: a fresh store is healthy with the eight fast components (the
// deep check adds integrity), thresholds seeded by the options and changed through the
// settings, two dead letters degrading it with raise_alerts raising one alert (once),
// healthy again resolving it, and bad thresholds throwing InvalidArgument.
static void test_health(const std::string& dir) {
  const char* fast[] = {"writer",         "audit",    "dead_letters", "backups",
                        "restore_points", "requests", "file_size",    "disk_free"};
  hs::HealthThresholds defaults;
  CHECK(defaults.window_us == 300 * SEC && defaults.dead_letters_degraded == 1);
  CHECK(defaults.dead_letters_critical == 1000 && defaults.file_size_limit == 0);
  CHECK(!defaults.backups_expected);

  hs::HealthThresholds t;
  t.dead_letters_degraded = 2;
  t.dead_letters_critical = 5;
  hs::HealthThresholds bad = t;
  bad.p95_degraded_us = bad.p95_critical_us + 1;
  EXPECT_THROW(hs::Options().health_thresholds(bad), hs::InvalidArgument);
  try {
    hs::Options().health_thresholds(bad);
    CHECK(false);
  } catch (const hs::Error& e) {
    CHECK(e.code() == HARDSTORE_INVALID_ARGUMENT);
  }

  std::string path = join(dir, "health.hs");
  hs::Store s(path, hs::Options().health_thresholds(t));
  hs::HealthReport r = s.health();
  CHECK(r.grade == hs::Grade::Healthy && r.components.size() == 8);
  for (size_t i = 0; i < r.components.size() && i < 8; i++) {
    CHECK(r.components[i].name == fast[i]);
    CHECK(r.components[i].status == hs::Grade::Healthy && !r.components[i].reason.empty());
  }
  CHECK(r.alerts_raised == 0 && r.alerts_resolved == 0 && r.checked_at > 0);
  const hs::HealthComponent* size = r.component("file_size");
  CHECK(size && size->unit == "bytes" && size->value && *size->value > 0);
  const hs::HealthComponent* backups = r.component("backups");
  CHECK(backups && !backups->value && backups->unit == "us");  // no backup taken
  CHECK(r.component("integrity") == nullptr && r.component("nope") == nullptr);
  hs::HealthReport deep = s.health(true);
  CHECK(deep.components.size() == 9 && deep.components.back().name == "integrity");
  CHECK(deep.grade == hs::Grade::Healthy);

  // The thresholds the options seeded are the store's.
  hs::StoreSettings st = s.settings();
  hs::HealthThresholds got = st.health_thresholds();
  CHECK(got.dead_letters_degraded == 2 && got.dead_letters_critical == 5);
  CHECK(got.window_us == defaults.window_us && got.disk_free_degraded == defaults.disk_free_degraded);

  // Two dead letters: degraded; raise_alerts raises one alert, and not again.
  hs::NewDeadLetter dl;
  dl.tenant = "acme";
  dl.kind = "email";
  dl.payload = "receipt";
  dl.error = "550 no such user";
  dl.permanent = true;
  s.dead_letters().record(dl);
  CHECK(s.health().grade == hs::Grade::Healthy);
  s.dead_letters().record(dl);
  r = s.health();
  CHECK(r.grade == hs::Grade::Degraded && r.alerts_raised == 0);
  const hs::HealthComponent* dead = r.component("dead_letters");
  CHECK(dead && dead->status == hs::Grade::Degraded && dead->value == 2.0);
  CHECK(dead && dead->unit == "count");
  CHECK(s.alerts().counts().unresolved == 0);  // without raise_alerts nothing is written
  r = s.health(false, true);
  CHECK(r.grade == hs::Grade::Degraded && r.alerts_raised == 1 && r.alerts_resolved == 0);
  r = s.health(false, true);
  CHECK(r.alerts_raised == 0 && r.alerts_resolved == 0);
  hs::Page<hs::Alert> page = s.alerts().list(hs::AlertQuery().source("health"));
  CHECK(page.items.size() == 1);
  if (!page.items.empty()) {
    const hs::Alert& a = page.items[0];
    CHECK(a.tenant == "hardstore" && a.dedup_key == "dead_letters");
    CHECK(a.severity == hs::Severity::Warning && a.state == hs::AlertState::Open);
  }

  // Bad thresholds through the settings: thrown, nothing changed.
  uint64_t audit_size = s.audit().size();
  EXPECT_THROW(st.set_health_thresholds(bad, "ops"), hs::InvalidArgument);
  hs::HealthThresholds zero_window = t;
  zero_window.window_us = 0;
  EXPECT_THROW(st.set_health_thresholds(zero_window, "ops"), hs::InvalidArgument);
  CHECK(st.health_thresholds().p95_degraded_us == defaults.p95_degraded_us);
  CHECK(s.audit().size() == audit_size);

  // Raised thresholds: healthy again, and the alert is resolved.
  t.dead_letters_degraded = 10;
  t.dead_letters_critical = 20;
  hardstore_setting_change c = st.set_health_thresholds(t, "ops");
  CHECK(s.audit().get(c.audit_seq).action == "settings.set");
  CHECK(st.health_thresholds().dead_letters_degraded == 10);
  r = s.health(true, true);
  CHECK(r.grade == hs::Grade::Healthy && r.components.size() == 9);
  CHECK(r.alerts_raised == 0 && r.alerts_resolved == 1);
  CHECK(s.alerts().counts().unresolved == 0 && s.alerts().counts().resolved == 1);

  s.close();
  EXPECT_THROW(s.health(), hs::NullArgument);
}

// Waits (5 ms at a time, at most 20 s) until `cond` holds; whether it did.
template <class F>
static bool wait_for(F cond) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// `n` permanent (dead) dead letters and `n` resolved alerts, made now.
static void dead_and_resolved(const hs::Store& s, int n, const std::string& tag) {
  for (int i = 0; i < n; i++) {
    hs::NewDeadLetter dl;
    dl.tenant = "acme";
    dl.kind = "email";
    dl.payload = "receipt";
    dl.error = "550";
    dl.permanent = true;
    s.dead_letters().record(dl);
    std::string key = tag + "-" + std::to_string(i);
    hs::NewAlert a;
    a.tenant = "acme";
    a.source = "app";
    a.dedup_key = key;
    s.alerts().resolve(s.alerts().raise(a).id, "bot");
  }
}

// Maintenance on its own store: a run deletes the dead letters past the purge window
// (and not the resolved alerts inside their retention), takes the due backup into a
// folder once, bounds each task by its step (more_due until drained), reports a failed
// task by name; the alert retention is a setting; the janitor runs on its own thread
// (backups included) and stops at close; a janitor interval of 0 is InvalidArgument.
// The string value of `"key":"..."` in a JSON line ("" when absent; no escapes needed).
static std::string json_str(const std::string& line, const std::string& key) {
  std::string tag = "\"" + key + "\":\"";
  size_t at = line.find(tag);
  if (at == std::string::npos) return "";
  at += tag.size();
  size_t end = line.find('"', at);
  return end == std::string::npos ? "" : line.substr(at, end - at);
}

// The number of `"key":N` in a JSON line (UINT64_MAX when absent).
static uint64_t json_u64(const std::string& line, const std::string& key) {
  std::string tag = "\"" + key + "\":";
  size_t at = line.find(tag);
  if (at == std::string::npos) return UINT64_MAX;
  return std::strtoull(line.c_str() + at + tag.size(), nullptr, 10);
}

static std::vector<uint8_t> unhex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  return out;
}

static hs::Hash to_hash(const std::vector<uint8_t>& v) {
  hs::Hash h{};
  if (v.size() == h.size()) std::copy(v.begin(), v.end(), h.begin());
  return h;
}

// The hashes of `"inclusion_proof":["..",".."]`, concatenated.
static std::vector<uint8_t> json_proof(const std::string& line) {
  std::string tag = "\"inclusion_proof\":[";
  size_t at = line.find(tag);
  std::vector<uint8_t> out;
  if (at == std::string::npos) return out;
  size_t end = line.find(']', at);
  std::string list = line.substr(at + tag.size(), end - at - tag.size());
  for (size_t q = list.find('"'); q != std::string::npos; q = list.find('"', q)) {
    size_t close = list.find('"', q + 1);
    std::vector<uint8_t> h = unhex(list.substr(q + 1, close - q - 1));
    out.insert(out.end(), h.begin(), h.end());
    q = close + 1;
  }
  return out;
}

// Audit retention: what a prune would take, a prune refused until its count is
// confirmed, pruned entries read as pruned with their leaf hash kept, the root and
// verify unchanged, the archive written to a new file (an existing one refused) and
// proving its entries on its own, pruning by age, opt-in redaction, the retention
// setting that maintenance prunes past, bad input.
static void test_audit_retention(const std::string& dir) {
  const uint64_t DAY = 86400 * SEC;
  hs::ManualClock clock(1700000000ull * SEC);
  hs::Store s(join(dir, "retention.hs"), hs::Options().clock(clock).redact_audit(true));
  hs::Audit audit = s.audit();
  for (int i = 0; i < 20; i++) {
    audit.append(hs::AuditEvent("acme", "login")
                     .actor("ana@example.com")
                     .detail("phone", "+1 415 555 0100")
                     .detail("n", std::to_string(i)));
    clock.advance(DAY);
  }
  hs::AuditEntry before = audit.get(0);
  CHECK(!before.actor.empty() && before.actor.find('@') == std::string::npos);  // redacted
  CHECK(before.details.size() == 2 && before.details[0].second.find("555") == std::string::npos);
  CHECK(!before.pruned() && audit.pruned_below() == 0);
  hs::Hash root = audit.root(20);

  hs::PruneRange r = audit.prunable(hs::PruneBy::BelowSeq, 8);
  CHECK(r.from == 0 && r.to == 8 && r.count() == 8);
  CHECK(audit.prunable(hs::PruneBy::BelowSeq, 1000).to == 20);  // capped at the size

  // The archive: to a new file only.
  std::string archive = join(dir, "retention-archive.jsonl");
  CHECK(audit.export_archive(r.from, r.to, archive) == 8);
  EXPECT_THROW(audit.export_archive(r.from, r.to, archive), hs::IoError);
  std::vector<std::string> lines;
  {
    std::ifstream in(archive);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
  }
  CHECK(lines.size() == 9);
  if (lines.size() == 9) {
    const std::string& header = lines[0];
    CHECK(json_str(header, "archive") == "hardstore audit archive v1");
    uint64_t size = json_u64(header, "size");
    CHECK(size == 20 && json_u64(header, "from") == 0 && json_u64(header, "to") == 8);
    hs::Hash aroot = to_hash(unhex(json_str(header, "root")));
    CHECK(aroot == root);
    hs::CheckpointInfo cp = hs::parse_checkpoint(unhex(json_str(header, "checkpoint")));
    CHECK(cp.size == 20 && std::equal(aroot.begin(), aroot.end(), cp.root));
    for (uint64_t i = 1; i < lines.size(); i++) {
      const std::string& line = lines[i];
      CHECK(json_u64(line, "seq") == i - 1);
      hs::Hash leaf = to_hash(unhex(json_str(line, "leaf_hash")));
      CHECK(leaf == audit.get(i - 1).leaf_hash);
      std::vector<uint8_t> proof = json_proof(line);
      CHECK(proof.size() == hs::inclusion_proof_len(i - 1, size));
      CHECK(hs::verify_inclusion(leaf, i - 1, size, proof, aroot));  // on its own
      CHECK(json_str(line, "pruned").empty());
    }
    hs::Hash leaf0 = to_hash(unhex(json_str(lines[1], "leaf_hash")));
    CHECK(!hs::verify_inclusion(leaf0, 1, size, json_proof(lines[2]), aroot));
  }

  // A prune names its count; confirmed, the payloads go and the hashes stay.
  EXPECT_THROW(audit.prune(hs::PruneBy::BelowSeq, 8), hs::ConfirmationRequired);
  EXPECT_THROW(audit.prune(hs::PruneBy::BelowSeq, 8, 7), hs::ConfirmationRequired);
  CHECK(audit.pruned_below() == 0 && !audit.get(0).pruned());
  CHECK(audit.prune(hs::PruneBy::BelowSeq, 8, 8) == 8);
  CHECK(audit.pruned_below() == 8);
  hs::AuditEntry after = audit.get(0);
  CHECK(after.pruned() && after.leaf_hash == before.leaf_hash);
  CHECK(after.seq == 0 && after.time_us == before.time_us && after.tenant == "acme" &&
        after.action == "login");
  CHECK(after.actor.empty() && after.details.empty() && after.resource.empty());
  CHECK(!audit.get(8).pruned() && !audit.get(8).actor.empty());
  CHECK(audit.root(20) == root && audit.verify().ok);
  std::vector<uint8_t> p0 = audit.inclusion_proof(0, 20);
  CHECK(hs::verify_inclusion(after.leaf_hash, 0, 20, p0, root));
  hs::AuditEntry last = audit.get(audit.size() - 1);
  CHECK(last.tenant == "hardstore" && last.action == "audit.prune");
  int pruned_in_query = 0;
  for (const hs::AuditEntry& e : audit.query(hs::AuditQuery("acme").limit(100)).items)
    pruned_in_query += e.pruned() ? 1 : 0;
  CHECK(pruned_in_query == 8);
  // A pruned entry's archive line says so (its leaf hash as hex).
  std::string again = join(dir, "retention-pruned.jsonl");
  CHECK(audit.export_archive(0, 1, again) == 1);
  {
    std::ifstream in(again);
    std::string header, line;
    std::getline(in, header);
    std::getline(in, line);
    CHECK(json_str(line, "pruned") == json_str(line, "leaf_hash") &&
          !json_str(line, "pruned").empty());
  }

  // By age: now is day 20; entries at least 15 days old are 0..=5, pruned already.
  r = audit.prunable(hs::PruneBy::OlderThan, 15 * DAY);
  CHECK(r.from == 8 && r.to == 8 && r.count() == 0);
  r = audit.prunable(hs::PruneBy::OlderThan, 5 * DAY);
  CHECK(r.from == 8 && r.to == 16);
  CHECK(audit.prune(hs::PruneBy::OlderThan, 1000 * DAY) == 0);

  // The retention setting: maintenance prunes past it.
  hs::StoreSettings st = s.settings();
  CHECK(st.audit_retention_us() == 0);  // for ever
  CHECK(s.maintenance().audit_pruned == 0);
  EXPECT_THROW(st.set_audit_retention_us(3600 * SEC, "ops"), hs::InvalidArgument);
  CHECK(st.audit_retention_us() == 0);
  hardstore_setting_change c = st.set_audit_retention_us(5 * DAY, "ops");
  hs::AuditEntry set = audit.get(c.audit_seq);
  CHECK(set.action == "settings.set" && set.actor == "ops" && c.deleted == 0);
  CHECK(st.audit_retention_us() == 5 * DAY && audit.pruned_below() == 8);
  hs::MaintenanceReport m = s.maintenance(100);
  CHECK(m.audit_pruned == 8 && m.errors.empty());
  CHECK(audit.pruned_below() == 16 && audit.get(15).pruned() && !audit.get(16).pruned());
  CHECK(audit.root(20) == root && audit.verify().ok);
  st.set_audit_retention_us(0, "ops");
  CHECK(st.audit_retention_us() == 0);

  // Bad input.
  EXPECT_THROW(audit.prune(static_cast<hs::PruneBy>(7), 1, 1), hs::InvalidArgument);
  EXPECT_THROW(audit.prunable(static_cast<hs::PruneBy>(7), 1), hs::InvalidArgument);
  std::string never = join(dir, "retention-never.jsonl");
  EXPECT_THROW(audit.export_archive(5, 1000, never), hs::InvalidArgument);
  EXPECT_THROW(audit.export_archive(5, 1, never), hs::InvalidArgument);
  CHECK(!exists(never));  // nothing created
  EXPECT_THROW(audit.export_archive(0, 1, ""), hs::InvalidArgument);
  EXPECT_THROW(audit.export_archive(0, 1, "\xff"), hs::InvalidUtf8);
  s.close();
  EXPECT_THROW(s.audit().pruned_below(), hs::NullArgument);  // a view made after the close

  // Redaction is opt-in: off by default.
  hs::Store plain(join(dir, "retention-plain.hs"));
  uint64_t seq = plain.audit()
                     .append(hs::AuditEvent("acme", "login").actor("ana@example.com"))
                     .seq;
  CHECK(plain.audit().get(seq).actor == "ana@example.com");
  hs::Store off(join(dir, "retention-off.hs"), hs::Options().redact_audit(false));
  seq = off.audit().append(hs::AuditEvent("acme", "login").actor("ana@example.com")).seq;
  CHECK(off.audit().get(seq).actor == "ana@example.com");
}

static void test_maintenance(const std::string& dir) {
  const uint64_t DAY = 86400 * SEC;
  EXPECT_THROW(hs::Options().janitor(0), hs::InvalidArgument);
  try {
    hs::Options().janitor(0, join(dir, "never"));
    CHECK(false);
  } catch (const hs::Error& e) {
    CHECK(e.code() == HARDSTORE_INVALID_ARGUMENT);
  }

  hs::ManualClock clock(1796290312123456ull);
  std::string path = join(dir, "maint.hs");
  std::string folder = join(dir, "maint-backups");
  hs::Store s(path, hs::Options()
                        .clock(clock)
                        .dlq_purge_after_us(2 * DAY)
                        .alert_retention_us(7 * DAY));
  CHECK(s.settings().alert_retention_us() == 7 * DAY);
  CHECK(!s.janitor_status());

  // Past the dead letters' purge window, inside the alerts' retention.
  dead_and_resolved(s, 3, "old");
  clock.advance(3 * DAY);
  hs::MaintenanceReport r = s.maintenance(0, folder);
  CHECK(r.dead_letters_purged == 3 && r.alerts_purged == 0 && r.idempotency_expired == 0);
  CHECK(r.errors.empty() && !r.more_due && r.backups_pruned == 0);
  CHECK(r.backup_run() && r.backup_id && *r.backup_id > 0);  // a store with none is due one
  CHECK(s.dead_letters().counts().dead == 0 && s.alerts().counts().resolved == 3);
  hs::BackupRecordList list = s.backups().list();
  CHECK(list.size() == 1);
  if (list.size() == 1 && r.backup_id) {
    CHECK(list[0].id == *r.backup_id && list[0].kind == hs::BackupKind::Full);
    CHECK(exists(list[0].file) && list[0].file.rfind(folder, 0) == 0);
  }
  // Not due again at once.
  r = s.maintenance(0, folder);
  CHECK(!r.backup_run() && !r.backup_id && r.dead_letters_purged == 0);

  // Five more days: the old alerts are past their seven.
  clock.advance(5 * DAY);
  r = s.maintenance();
  CHECK(r.alerts_purged == 3 && !r.backup_run() && r.errors.empty());
  CHECK(s.alerts().counts().resolved == 0);

  // A step of 1 with several due: more_due until drained.
  dead_and_resolved(s, 3, "step");
  clock.advance(30 * DAY);
  r = s.maintenance(1);
  CHECK(r.dead_letters_purged == 1 && r.alerts_purged == 1 && r.more_due);
  uint64_t dead = 1, alerts = 1;
  int runs = 1;
  while (r.more_due && runs < 10) {
    r = s.maintenance(1);
    dead += r.dead_letters_purged;
    alerts += r.alerts_purged;
    runs++;
  }
  CHECK(!r.more_due && dead == 3 && alerts == 3);
  CHECK(s.dead_letters().counts().dead == 0 && s.alerts().counts().resolved == 0);

  // A task that fails is reported by name; the others still run.
  std::string not_a_folder = join(dir, "maint-not-a-folder");
  std::ofstream(not_a_folder) << "in the way";
  dead_and_resolved(s, 1, "failing");
  clock.advance(3 * DAY);  // the schedule has a backup due again
  r = s.maintenance(0, not_a_folder);
  CHECK(r.errors.size() == 1 && r.dead_letters_purged == 1 && !r.backup_run());
  if (r.errors.size() == 1) CHECK(r.errors[0].task == "backup" && !r.errors[0].error.empty());
  EXPECT_THROW(s.maintenance(0, "\xff"), hs::InvalidUtf8);

  // The alert retention is an audited setting.
  hardstore_setting_change c = s.settings().set_alert_retention_us(1, "ops");
  CHECK(s.audit().get(c.audit_seq).action == "settings.set" && c.deleted == 0);
  CHECK(s.settings().alert_retention_us() == 1);
  clock.advance(1);
  CHECK(s.maintenance().alerts_purged == 1);
  s.close();
  EXPECT_THROW(s.maintenance(), hs::NullArgument);
  EXPECT_THROW(s.janitor_status(), hs::NullArgument);

  // The janitor: runs on its own (the due backups into its folder too), stops at close.
  std::string jfolder = join(dir, "janitor-backups");
  {
    hs::Store j(path, hs::Options().clock(clock).janitor(5000, jfolder));
    CHECK(wait_for([&] { return j.janitor_status() && j.janitor_status()->runs >= 1; }));
    dead_and_resolved(j, 2, "janitor");
    clock.advance(30 * DAY);
    CHECK(wait_for([&] { return j.dead_letters().counts().dead == 0; }));
    CHECK(wait_for([&] {  // a full was due: taken into the janitor's folder
      for (const hs::BackupRecord& b : j.backups().list().to_vector())
        if (b.file.rfind(jfolder, 0) == 0 && exists(b.file)) return true;
      return false;
    }));
    std::optional<hs::JanitorStatus> st = j.janitor_status();
    CHECK(st && st->runs >= 1 && !st->last_run_failed && st->last_task_errors == 0);
    j.close();
  }
  // Closed means let go: the file opens again, without a janitor.
  hs::Store again(path);
  CHECK(!again.janitor_status());
  again.close();
}

static bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

// `expr` throws a hardstore::Error (of any subclass) whose code() is `want`.
#define EXPECT_CODE(expr, want)                                                            \
  do {                                                                                     \
    try {                                                                                  \
      (void)(expr);                                                                        \
      std::fprintf(stderr, "%s:%d: %s did not throw\n", __FILE__, __LINE__, #expr);       \
      failures++;                                                                          \
    } catch (const hs::Error& e_) {                                                        \
      if (e_.code() != (want) || e_.message().empty()) {                                   \
        std::fprintf(stderr, "%s:%d: %s threw %s, expected %s\n", __FILE__, __LINE__,     \
                     #expr, e_.what(), #want);                                             \
        failures++;                                                                        \
      }                                                                                    \
    }                                                                                      \
  } while (0)

// Metrics on their own store: the snapshot and both texts carry what was done; an app
// counter with labels (in their order), a negative gauge and a histogram's cumulative
// buckets are in the text; persist writes only what changed since the scrape; the
// counter is back after a reopen; bad names and kinds throw InvalidArgument.
static void test_metrics(const std::string& dir) {
  std::string path = join(dir, "metrics.hs");
  const hs::MetricLabels get200 = {{"method", "GET"}, {"code", "200"}};
  {
    hs::Store s(path);
    hs::MetricsSnapshot fresh = s.metrics_snapshot();
    CHECK(fresh.audit_entries == 0 && fresh.dead_letters_dead == 0 && fresh.uptime_seconds >= 0);
    for (int i = 0; i < 3; i++) {
      hs::NewDeadLetter dl;
      dl.tenant = "acme";
      dl.kind = "email";
      dl.payload = "receipt";
      dl.error = "550";
      dl.permanent = true;
      s.dead_letters().record(dl);
    }
    hs::NewAlert a;
    a.tenant = "acme";
    a.source = "app";
    a.dedup_key = "disk";
    s.alerts().raise(a);
    hs::MetricsSnapshot m = s.metrics_snapshot();
    CHECK(m.dead_letters_dead == 3 && m.dead_letters_pending == 0);
    CHECK(m.alerts_unresolved == 1 && m.alerts_resolved == 0);
    CHECK(m.audit_entries == 1);  // the raise
    CHECK(m.file_bytes > 0 && m.writes >= 4);

    for (int i = 0; i < 10; i++) s.counter_add("http_requests", 1, get200, "Requests.");
    s.counter_add("http_requests", 3, {{"method", "POST"}, {"code", "201"}});
    s.gauge_set("queue_depth", -4, {}, "Jobs waiting.");
    for (double v : {0.05, 0.3, 3.0})
      s.histogram_observe("latency_seconds", v, {0.1, 0.5, 1.0}, {{"route", "/x"}});

    std::string text = s.metrics_text();
    CHECK(contains(text, "hardstore_dead_letters{state=\"dead\"} 3\n"));
    CHECK(contains(text, "hardstore_alerts{state=\"unresolved\"} 1\n"));
    CHECK(contains(text, "hardstore_audit_entries_total 1\n"));
    CHECK(contains(text, "# TYPE http_requests_total counter\n"));
    CHECK(contains(text, "http_requests_total{method=\"GET\",code=\"200\"} 10\n"));
    CHECK(contains(text, "http_requests_total{method=\"POST\",code=\"201\"} 3\n"));
    CHECK(contains(text, "queue_depth -4\n"));
    CHECK(contains(text, "latency_seconds_bucket{route=\"/x\",le=\"0.1\"} 1\n"));
    CHECK(contains(text, "latency_seconds_bucket{route=\"/x\",le=\"0.5\"} 2\n"));
    CHECK(contains(text, "latency_seconds_bucket{route=\"/x\",le=\"+Inf\"} 3\n"));
    CHECK(contains(text, "latency_seconds_count{route=\"/x\"} 3\n"));
    CHECK(!contains(text, "# EOF"));
    std::string om = s.metrics_text(true);
    CHECK(contains(om, "http_requests_total{method=\"GET\",code=\"200\"} 10\n"));
    CHECK(contains(om, "# TYPE http_requests counter\n"));
    CHECK(om.size() >= 6 && om.compare(om.size() - 6, 6, "# EOF\n") == 0);

    CHECK(s.metrics_persist() == 0);  // the scrapes wrote them
    s.counter_add("http_requests", 1, get200);
    CHECK(s.metrics_persist() == 1);
    CHECK(s.metrics_persist() == 0);

    // Bad input: the store's prefix, a counter used as a gauge, other labels, no buckets.
    EXPECT_THROW(s.counter_add("hardstore_requests"), hs::InvalidArgument);
    EXPECT_CODE(s.counter_add("hardstore_requests"), HARDSTORE_INVALID_ARGUMENT);
    EXPECT_THROW(s.gauge_set("http_requests", 1, get200), hs::InvalidArgument);
    EXPECT_THROW(s.counter_add("http_requests"), hs::InvalidArgument);
    EXPECT_THROW(s.counter_add("http_requests", 1, {{"code", "200"}, {"method", "GET"}}),
                 hs::InvalidArgument);
    EXPECT_THROW(s.histogram_observe("sizes", 1.0, {}), hs::InvalidArgument);
    EXPECT_THROW(s.histogram_observe("sizes", 1.0, {1.0, 0.5}), hs::InvalidArgument);
    EXPECT_THROW(s.counter_add("with-dash"), hs::InvalidArgument);
    EXPECT_THROW(s.counter_add(std::string(129, 'n')), hs::TooLong);
    EXPECT_THROW(s.counter_add("ok_name", 1, {{"l", std::string(257, 'v')}}), hs::TooLong);
    EXPECT_THROW(s.counter_add("bad\xff"), hs::InvalidUtf8);
    std::string after = s.metrics_text();
    CHECK(!contains(after, "hardstore_requests") && !contains(after, "sizes"));
    CHECK(contains(after, "http_requests_total{method=\"GET\",code=\"200\"} 11\n"));
    s.close();
    EXPECT_THROW(s.metrics_snapshot(), hs::NullArgument);
    EXPECT_THROW(s.metrics_text(), hs::NullArgument);
    EXPECT_THROW(s.counter_add("c"), hs::NullArgument);
    EXPECT_THROW(s.metrics_persist(), hs::NullArgument);
  }
  {
    // Reopened: the counter is back once its name is used again (by 0 counts nothing);
    // the gauge lived in memory.
    hs::Store s(path);
    s.counter_add("http_requests", 0, get200);
    std::string text = s.metrics_text(true);
    CHECK(contains(text, "http_requests_total{method=\"GET\",code=\"200\"} 11\n"));
    CHECK(contains(text, "http_requests_total{method=\"POST\",code=\"201\"} 3\n"));
    CHECK(!contains(text, "queue_depth"));
    CHECK(s.metrics_snapshot().dead_letters_dead == 3);
  }
}

// Rate limits on their own store and clock (as tests/c/rate_limits_test.c): 60 a minute
// allows 60 then refills one a second, a denial's retry-after, a cost above the burst
// never conforms, a Limiter handle, keys kept across a close and a reopen, a flush,
// stats, list, redefinition keeping keys, removal (the old handle then throws NotFound),
// audit entries, and bad input throwing the right class.
static void test_rate_limits(const std::string& dir) {
  static_assert(!std::is_copy_constructible<hs::Limiter>::value, "Limiter is move-only");
  static_assert(std::is_nothrow_move_constructible<hs::Limiter>::value, "Limiter moves");
  const uint64_t t0 = 1700000000ull * SEC;
  hs::ManualClock clock(t0);
  std::string path = join(dir, "rate_limits.hs");
  // No flush during the test: only the close and flush() write keys.
  hs::Options options;
  options.clock(clock).rate_limits(100000, 3600 * SEC);
  hs::Store s(path, options);
  hs::RateLimits rl = s.rate_limits();

  rl.define("acme", "login", hs::make_rate_limit(60, 60 * SEC));
  hs::RateDecision d;
  for (int i = 0; i < 60; i++) {
    d = rl.check("acme", "login", "203.0.113.9");
    CHECK(d.allowed && d.limit == 60 && d.remaining == static_cast<uint64_t>(59 - i));
    CHECK(!d.retry_after_us && !d.never());
  }
  d = rl.check("acme", "login", "203.0.113.9");
  CHECK(!d.allowed && d.retry_after_us == std::optional<uint64_t>(SEC));
  CHECK(d.reset_after_us == 60 * SEC && !d.never());
  d = rl.check("acme", "login", "fresh", 61);
  CHECK(!d.allowed && !d.retry_after_us && d.never() && d.remaining == 60);
  clock.advance(SEC);

  {
    hs::Limiter h = rl.limiter("acme", "login");
    CHECK(static_cast<bool>(h));
    d = h.check("203.0.113.9");
    CHECK(d.allowed && d.remaining == 0 && !d.retry_after_us);
    const uint8_t key[] = {'1', '9', '8', '.', '5', '1', '.', '1', '0', '0', '.', '1'};
    d = h.check(key, 10);  // bytes: the same key as the text "198.51.100.1"
    CHECK(d.allowed && d.remaining == 50);
    hs::Limiter moved = std::move(h);
    CHECK(!h && moved);
    EXPECT_THROW(h.check("k"), hs::NullArgument);
    CHECK(moved.check("198.51.100.1", 0).remaining == 50);
    moved.reset();
    EXPECT_THROW(moved.check("k"), hs::NullArgument);
  }
  hs::RateLimitStats st = rl.stats("acme", "login");
  CHECK(st.keys == 2 && st.evicted_idle == 0 && st.evicted_active == 0);

  // Kept across a close (its last commit writes the keys) and a reopen.
  s.close();
  hs::Store again(path, options);
  rl = again.rate_limits();
  d = rl.check("acme", "login", "198.51.100.1", 0);
  CHECK(d.allowed && d.remaining == 50 && d.reset_after_us == 10 * SEC);
  std::optional<hs::RateLimit> got = rl.get("acme", "login");
  CHECK(got && got->count == 60 && got->period_us == 60 * SEC && got->burst == 60);
  CHECK(!rl.get("acme", "nope"));

  // A flush writes what checks changed (a cost of 0 changes nothing).
  rl.check("acme", "login", "k3", 5);
  CHECK(rl.flush() == 1);
  CHECK(rl.flush() == 0);

  // Redefinition keeps keys; a second limit; the list.
  rl.define("acme", "login", hs::make_rate_limit(60, 60 * SEC, 100));
  d = rl.check("acme", "login", "k3", 0);
  CHECK(d.limit == 100 && d.remaining == 95);
  rl.define("beta", "api", hs::RateLimit{1000, 3600 * SEC, 1000});
  std::vector<hs::RateLimitInfo> list = rl.list();
  CHECK(list.size() == 2);
  CHECK(list[0].tenant == "acme" && list[0].name == "login" && list[0].limit.burst == 100);
  CHECK(list[1].tenant == "beta" && list[1].name == "api" && list[1].limit.count == 1000);
  CHECK(list[1].limit.period_us == 3600 * SEC);

  // Removal deletes the stored keys and refuses old handles.
  hs::Limiter h = rl.limiter("acme", "login");
  CHECK(rl.remove("acme", "login") == 3);
  EXPECT_THROW(h.check("k"), hs::NotFound);
  EXPECT_THROW(rl.remove("acme", "login"), hs::NotFound);
  EXPECT_THROW(rl.check("acme", "login", "k"), hs::NotFound);
  EXPECT_THROW(rl.limiter("acme", "login"), hs::NotFound);
  EXPECT_THROW(rl.stats("acme", "login"), hs::NotFound);
  CHECK(rl.list().size() == 1);
  uint64_t audit_size = again.audit().size();
  CHECK(again.audit().get(audit_size - 1).action == "rate_limit.remove");

  // Bad input: the right class, nothing written.
  EXPECT_THROW(rl.define("t", "x", hs::RateLimit{0, SEC, 1}), hs::InvalidArgument);
  EXPECT_THROW(rl.define("t", "x", hs::RateLimit{1, 0, 1}), hs::InvalidArgument);
  EXPECT_THROW(rl.define("t", "x", hs::RateLimit{1, SEC, 0}), hs::InvalidArgument);
  EXPECT_THROW(rl.define("t", "x", hs::RateLimit{1, 367 * 86400 * SEC, 1}),
               hs::InvalidArgument);
  EXPECT_THROW(rl.define("", "x", hs::make_rate_limit(1, SEC)), hs::InvalidArgument);
  EXPECT_THROW(rl.define("\xff", "x", hs::make_rate_limit(1, SEC)), hs::InvalidUtf8);
  EXPECT_THROW(rl.define(std::string(129, 't'), "x", hs::make_rate_limit(1, SEC)),
               hs::TooLong);
  EXPECT_THROW(rl.check("beta", "api", hs::bytes_view()), hs::InvalidArgument);
  EXPECT_THROW(rl.check("beta", "api", std::string(300, 'k')), hs::TooLong);
  CHECK(rl.check("beta", "api", std::string(256, 'k')).allowed);
  EXPECT_THROW(hs::Options().rate_limits(0, SEC), hs::InvalidArgument);
  EXPECT_THROW(hs::Options().rate_limits(1, 0), hs::InvalidArgument);
  CHECK(again.audit().size() == audit_size && rl.list().size() == 1);

  // A limiter may outlive its store: its checks then change memory only.
  rl.define("beta", "login", hs::make_rate_limit(60, 60 * SEC));
  hs::Limiter outliving = rl.limiter("beta", "login");
  again.close();
  CHECK(outliving.check("k").remaining == 59);
  CHECK(outliving.check("k").remaining == 58);
}

// IP rules on their own store and clock (as tests/c/ip_rules_test.c): the longest prefix
// decides, deny beats allow at equal length, the tenant's rule over a global one, no
// rule allows, addresses as text and as bytes (IPv4, IPv6, mapped IPv4), expiry, a purge
// that throws ConfirmationRequired until its count is confirmed, replace and remove,
// rules kept across a reopen, the list, and bad input throwing the right class.
static void test_ip_rules(const std::string& dir) {
  const uint64_t t0 = 1700000000ull * SEC;
  hs::ManualClock clock(t0);
  std::string path = join(dir, "ip_rules.hs");
  hs::Store s(path, hs::Options().clock(clock));
  hs::IpRules ip = s.ip_rules();

  auto put = [&](std::string_view tenant, std::string_view cidr, hs::IpAction action,
                 std::optional<uint64_t> expires_at = std::nullopt) {
    hs::NewIpRule r;
    r.tenant = tenant;
    r.cidr = cidr;
    r.action = action;
    r.expires_at = expires_at;
    r.reason = "test";
    return ip.put(r);
  };
  CHECK(!put("", "10.0.0.0/8", hs::IpAction::Deny));
  put("acme", "10.1.0.0/16", hs::IpAction::Allow);
  put("acme", "192.0.2.0/24", hs::IpAction::Allow);
  put("", "192.0.2.0/24", hs::IpAction::Deny);
  put("", "2001:db8::/32", hs::IpAction::Deny);
  put("", "10.9.9.9/32", hs::IpAction::Allow, t0 + 10 * SEC);

  hs::IpVerdict v = ip.check("acme", "10.1.2.3");
  CHECK(v.allowed && v.matched() && !v.rule->global && v.rule->prefix_len == 16);
  CHECK(v.rule->cidr == "10.1.0.0/16" && v.rule->action == hs::IpAction::Allow);
  v = ip.check("other", "10.1.2.3");
  CHECK(!v.allowed && v.rule && v.rule->global && v.rule->action == hs::IpAction::Deny);
  CHECK(v.rule && v.rule->cidr == "10.0.0.0/8");
  v = ip.check("acme", "192.0.2.1");  // deny beats allow at equal length
  CHECK(!v.allowed && v.rule && v.rule->global && v.rule->prefix_len == 24);
  v = ip.check("acme", "203.0.113.1");
  CHECK(v.allowed && !v.matched());
  v = ip.check("acme", "2001:db8::1");
  CHECK(!v.allowed && v.rule && v.rule->cidr == "2001:db8::/32");
  v = ip.check("acme", "::ffff:10.1.0.1");
  CHECK(v.allowed && v.rule && v.rule->prefix_len == 16);

  const uint8_t v4[4] = {10, 200, 0, 1};
  v = ip.check_bytes("acme", v4);
  CHECK(!v.allowed && v.rule && v.rule->prefix_len == 8);
  std::array<uint8_t, 16> v6{};
  v6[0] = 0x20;
  v6[1] = 0x01;
  v6[2] = 0x0d;
  v6[3] = 0xb8;
  v = ip.check_bytes("acme", v6);
  CHECK(!v.allowed && v.rule && v.rule->prefix_len == 32);
  std::array<uint8_t, 16> mapped{};
  mapped[10] = mapped[11] = 0xff;
  mapped[12] = 10;
  mapped[13] = 1;
  v = ip.check_bytes("acme", mapped);  // ::ffff:10.1.0.0 is checked as IPv4
  CHECK(v.allowed && v.rule && v.rule->cidr == "10.1.0.0/16");
  EXPECT_THROW(ip.check_bytes("acme", hs::bytes_view(v6.data(), 5)), hs::InvalidArgument);

  // Expiry: the /32 allow stops deciding; the purge asks for its count.
  v = ip.check("acme", "10.9.9.9");
  CHECK(v.allowed && v.rule && v.rule->prefix_len == 32);
  clock.advance(11 * SEC);
  v = ip.check("acme", "10.9.9.9");
  CHECK(!v.allowed && v.rule && v.rule->prefix_len == 8);
  CHECK(ip.expired() == 1);
  uint64_t audit_size = s.audit().size();
  EXPECT_THROW(ip.purge_expired(0), hs::ConfirmationRequired);
  try {
    ip.purge_expired(0);
    CHECK(false);
  } catch (const hs::ConfirmationRequired& err) {
    CHECK(err.code() == HARDSTORE_CONFIRMATION_REQUIRED);
    CHECK(err.message().find('1') != std::string::npos);
  }
  CHECK(ip.expired() == 1 && s.audit().size() == audit_size);
  CHECK(ip.purge_expired(ip.expired()) == 1);
  CHECK(ip.expired() == 0 && ip.purge_expired(0) == 0);
  CHECK(s.audit().get(audit_size).action == "ip_rule.purge");

  // Replace, remove, list, reopen.
  clock.advance(SEC);
  hs::NewIpRule abuse;
  abuse.tenant = "acme";
  abuse.cidr = "10.1.0.0/16";
  abuse.action = hs::IpAction::Deny;
  abuse.reason = "abuse";
  CHECK(ip.put(abuse));
  ip.remove("192.0.2.0/24", "acme");
  EXPECT_THROW(ip.remove("192.0.2.0/24", "acme"), hs::NotFound);
  EXPECT_THROW(ip.remove("10.1.0.0/16"), hs::NotFound);  // that one is the tenant's
  s.close();
  hs::Store again(path, hs::Options().clock(clock));
  ip = again.ip_rules();
  v = ip.check("acme", "10.1.2.3");
  CHECK(!v.allowed && v.rule && !v.rule->global);
  std::vector<hs::IpRule> acme = ip.list("acme");
  CHECK(acme.size() == 1);
  if (acme.size() == 1) {
    const hs::IpRule& r = acme[0];
    CHECK(r.tenant == "acme" && r.cidr == "10.1.0.0/16" && r.reason == "abuse");
    CHECK(r.action == hs::IpAction::Deny && r.prefix_len == 16 && !r.expires_at);
    CHECK(r.updated_at == t0 + 12 * SEC);
  }
  std::vector<hs::IpRule> global = ip.list();
  CHECK(global.size() == 3);
  if (global.size() == 3) {
    CHECK(global[0].cidr == "10.0.0.0/8" && global[1].cidr == "192.0.2.0/24");
    CHECK(global[2].cidr == "2001:db8::/32" && global[0].tenant.empty());
    CHECK(global[0].reason == "test" && global[0].updated_at == t0);
  }
  CHECK(ip.list("nobody").empty());
  hs::NewIpRule host;
  host.cidr = "192.0.2.7";  // a bare address: a host rule
  CHECK(!ip.put(host));
  CHECK(ip.list().size() == 4 && ip.list()[2].cidr == "192.0.2.7/32");  // network order
  ip.remove("192.0.2.7/32");

  // Bad input: the right class, nothing written.
  audit_size = again.audit().size();
  hs::NewIpRule bad;
  bad.cidr = "10.0.0.1/8";  // host bits set
  EXPECT_THROW(ip.put(bad), hs::InvalidArgument);
  bad.cidr = "10.0.0.0/33";
  EXPECT_THROW(ip.put(bad), hs::InvalidArgument);
  bad.cidr = "10.0.0.0/8";
  bad.action = static_cast<hs::IpAction>(7);
  EXPECT_THROW(ip.put(bad), hs::InvalidArgument);
  bad.action = hs::IpAction::Deny;
  std::string long_reason(1025, 'r');
  bad.reason = long_reason;
  EXPECT_THROW(ip.put(bad), hs::TooLong);
  bad.reason = "\xff";
  EXPECT_THROW(ip.put(bad), hs::InvalidUtf8);
  EXPECT_THROW(ip.check("acme", "1.2.3"), hs::InvalidArgument);
  EXPECT_THROW(ip.check("acme", "1.2.3.4:80"), hs::InvalidArgument);
  EXPECT_THROW(ip.check("acme", std::string(80, '1')), hs::TooLong);
  EXPECT_THROW(ip.check(std::string(129, 't'), "1.2.3.4"), hs::TooLong);
  EXPECT_THROW(ip.list(std::string(129, 't')), hs::TooLong);
  CHECK(ip.list().size() == 3 && again.audit().size() == audit_size);
}

// Sealed fields (the ground of tests/c/sealing_test.c): keys as bytes, seal and open, a
// sealed value put in a transaction, shred (every copy Shredded, the log verifies),
// cut and edited blobs, rotation (re-wrap by hand and by maintenance, destroy asking for
// its count), a missing or wrong key, keys from a std::function (kept alive by the
// store, an exception in it never reaching the library, called from the janitor's
// thread), and bad input.
static void test_sealing(const std::string& dir) {
  hs::SealingKey k1{}, k2{}, k9{};
  k1.fill(1);
  k2.fill(2);
  k9.fill(9);
  const std::string path = join(dir, "sealing.hs");
  std::vector<uint8_t> card, other, stored;
  {
    hs::Store s(path, hs::Options().sealing_key(1, k1).sealing_key(2, k2));
    hs::Sealing sealing = s.sealing();
    sealing.add_key(1);
    card = sealing.seal("user:42", "4111 1111 1111 1111");
    CHECK(sealing.open_string(card) == "4111 1111 1111 1111");
    CHECK(sealing.open(card) == bytes("4111 1111 1111 1111"));
    other = sealing.seal("user:7", "kept");
    CHECK(sealing.open(sealing.seal("user:7", "")).empty());

    // A sealed value put in a transaction with an audit entry.
    hs::Transaction tx = s.begin();
    tx.kv_put_sealed("users", "42", "user:42", "ana@example.com")
        .audit_append(hs::AuditEvent("acme", "user.update"));
    tx.commit();
    stored = s.kv().get("users", "42").value_or(std::vector<uint8_t>());
    CHECK(!stored.empty() && sealing.open_string(stored) == "ana@example.com");
    s.kv().put("cards", "42", card);  // a copy kept outside the store's sealing

    // Shred: every copy is gone, other subjects stay, the log verifies.
    CHECK(sealing.shred("user:42"));
    CHECK(!sealing.shred("user:42"));
    EXPECT_THROW(sealing.open(card), hs::Shredded);
    EXPECT_THROW(sealing.open(stored), hs::Shredded);
    EXPECT_THROW(sealing.open(*s.kv().get("cards", "42")), hs::Shredded);
    try {
      sealing.open(card);
    } catch (const hs::Error& e) {
      CHECK(e.code() == HARDSTORE_SHREDDED && e.message().find("user:42") != std::string::npos);
    }
    CHECK(sealing.open_string(other) == "kept");
    CHECK(s.audit().verify().ok);

    // Cut and edited blobs.
    std::vector<uint8_t> cut(other.begin(), other.end() - 1);
    EXPECT_THROW(sealing.open(cut), hs::SealedInvalid);
    EXPECT_THROW(sealing.open(hs::bytes_view(other.data(), 3)), hs::SealedInvalid);
    std::vector<uint8_t> edited = other;
    edited[edited.size() - 5] ^= 1;
    EXPECT_THROW(sealing.open(edited), hs::SealedInvalid);
    EXPECT_THROW(sealing.open("plain"), hs::SealedInvalid);
    EXPECT_THROW(sealing.open(hs::bytes_view()), hs::SealedInvalid);

    // Rotation.
    sealing.add_key(2);
    sealing.set_primary(2);
    EXPECT_THROW(sealing.destroy_key(1), hs::ConfirmationRequired);
    CHECK(sealing.keys().at(0).status == hs::KeyStatus::Enabled);  // nothing changed
    hs::RewrapReport rw = sealing.rewrap(100);
    CHECK(rw.rewrapped == 1 && rw.remaining == 0);
    CHECK(sealing.destroy_key(1, 0) == 0);
    CHECK(sealing.open_string(other) == "kept");
    std::vector<hs::SealingKeyInfo> keys = sealing.keys();
    CHECK(keys.size() == 2);
    CHECK(keys[0].id == 1 && keys[0].status == hs::KeyStatus::Destroyed && !keys[0].primary);
    CHECK(keys[1].id == 2 && keys[1].status == hs::KeyStatus::Enabled && keys[1].primary &&
          keys[1].subjects == 1 && keys[1].available && keys[1].added_at > 0);
    EXPECT_THROW(sealing.disable_key(2), hs::InvalidArgument);  // the primary
    EXPECT_THROW(sealing.enable_key(1), hs::KeyUnavailable);    // destroyed for ever
    EXPECT_THROW(sealing.disable_key(7), hs::NotFound);

    // Bad input.
    EXPECT_THROW(sealing.seal("", "x"), hs::InvalidArgument);
    EXPECT_THROW(sealing.seal(std::string(129, 'u'), "x"), hs::TooLong);
    EXPECT_THROW(sealing.seal("\xff", "x"), hs::InvalidUtf8);
    EXPECT_THROW(sealing.shred(""), hs::InvalidArgument);
    EXPECT_THROW(sealing.add_key(9), hs::KeyUnavailable);  // not given to the options
    EXPECT_THROW(sealing.add_key(2), hs::InvalidArgument);  // in the keyset already
    hs::Transaction bad = s.begin();
    EXPECT_THROW(bad.kv_put_sealed("users", "1", "", "x"), hs::InvalidArgument);
    EXPECT_THROW(bad.kv_put_sealed("users", "1", "u", std::vector<uint8_t>((1 << 20) + 1)),
                 hs::TooLong);
    bad.abort();
    s.close();
    EXPECT_THROW(s.sealing().keys(), hs::NullArgument);
  }
  uint8_t shortkey[16] = {0};
  EXPECT_THROW(hs::Options().sealing_key(1, hs::bytes_view(shortkey, sizeof shortkey)),
               hs::InvalidArgument);
  EXPECT_THROW(hs::Options().sealing_key_source(hs::KeySourceFn()), hs::NullArgument);
  {
    // Without key 2 the field is unavailable, named as such; other bytes for 2 too.
    hs::Store s(path, hs::Options().sealing_keys({{1, k1}}));
    EXPECT_THROW(s.sealing().open(other), hs::KeyUnavailable);
    CHECK(!s.sealing().keys().at(1).available);
  }
  {
    hs::Store s(path, hs::Options().sealing_keys({{1, k1}, {2, k9}}));
    EXPECT_THROW(s.sealing().open(other), hs::KeyUnavailable);
  }
  {
    hs::Store s(path, hs::Options().sealing_keys({{1, k1}, {2, k2}}));
    CHECK(s.sealing().open_string(other) == "kept");
  }

  // Maintenance re-wraps after a rotation, in its step.
  {
    hs::Store s(join(dir, "sealing-maint.hs"), hs::Options().sealing_key(1, k1).sealing_key(2, k2));
    s.sealing().add_key(1);
    for (int i = 0; i < 3; i++) s.sealing().seal("u" + std::to_string(i), "v");
    CHECK(s.maintenance().keys_rewrapped == 0);
    s.sealing().add_key(2);
    s.sealing().set_primary(2);
    hs::MaintenanceReport first = s.maintenance(2);
    CHECK(first.keys_rewrapped == 2 && first.more_due && first.errors.empty());
    CHECK(s.maintenance(2).keys_rewrapped == 1);
    CHECK(s.sealing().rewrap().remaining == 0);
  }

  // Keys by a std::function: the store keeps it alive (the Options here are temporaries),
  // an exception it throws is "no such key", and the janitor's thread may call it.
  std::atomic<int> calls{0};
  std::mutex mu;
  std::set<std::thread::id> threads;
  auto source = [&calls, &mu, &threads, k = k1](uint32_t id) -> std::optional<hs::SealingKey> {
    calls++;
    {
      std::lock_guard<std::mutex> lock(mu);
      threads.insert(std::this_thread::get_id());
    }
    if (id == 6) throw std::runtime_error("secrets manager down");
    if (id == 5 || id == 1) return k;
    return std::nullopt;
  };
  const std::string cb_path = join(dir, "sealing-callback.hs");
  {
    hs::Store s(cb_path, hs::Options().sealing_key_source(source));
    s.sealing().add_key(5);  // the Options are gone: the store's reference serves
    std::vector<uint8_t> cb = s.sealing().seal("u", "by callback");
    CHECK(s.sealing().open_string(cb) == "by callback" && calls >= 1);
    EXPECT_THROW(s.sealing().add_key(6), hs::KeyUnavailable);  // it threw
    EXPECT_THROW(s.sealing().add_key(7), hs::KeyUnavailable);  // it has none
    // Moving a store over this one closes this one first, its source still alive.
    hs::Store other_store(join(dir, "sealing-other.hs"));
    s = std::move(other_store);
    CHECK(s.sealing().keys().empty());
  }
  {
    hs::Options opts;
    opts.sealing_key_source(source).janitor(5000);
    hs::Store s(cb_path, opts);
    s.sealing().add_key(1);
    for (int i = 0; i < 3; i++) s.sealing().seal("j" + std::to_string(i), "v");
    s.sealing().set_primary(1);
    s.sealing().disable_key(5);  // its cached bytes are dropped, so the janitor's
    s.sealing().enable_key(5);   // re-wrap asks the source for key 5 again
    {
      std::lock_guard<std::mutex> lock(mu);
      threads.clear();
    }
    CHECK(wait_for([&] { return s.sealing().keys().at(1).subjects == 0; }));
    std::lock_guard<std::mutex> lock(mu);
    // keys() asks the source too (for `available`), from this thread: the janitor's
    // is another one.
    threads.erase(std::this_thread::get_id());
    CHECK(!threads.empty());
  }
  {
    hs::Store s(cb_path, hs::Options().sealing_key(1, k1).sealing_key(5, k1));
    CHECK(s.sealing().keys().size() == 2);  // the same bytes as a map: both available
    CHECK(s.sealing().keys().at(0).available && s.sealing().keys().at(1).available);
  }
}

// The webhook outbox, the ground of tests/c/webhooks_test.c through the wrapper.
static void test_webhooks(const std::string& dir) {
  static_assert(!std::is_copy_constructible<hs::WebhookClaim>::value, "claims are move-only");
  static_assert(std::is_nothrow_move_constructible<hs::WebhookClaim>::value, "claims move");
  static_assert(std::is_base_of<hs::Error, hs::SignatureInvalid>::value, "SignatureInvalid");
  const uint64_t t0 = 1700000000ull * SEC;
  hs::ManualClock clock(t0);
  uint64_t now_us = t0;  // the clock's time, kept here
  auto advance = [&](uint64_t us) {
    clock.advance(us);
    now_us += us;
  };
  hs::Store s(join(dir, "webhooks.hs"), hs::Options().clock(clock));
  hs::Webhooks hooks = s.webhooks();
  const std::string secret = hs::Webhooks::generate_secret();
  CHECK(secret.rfind("whsec_", 0) == 0 && secret.size() == 6 + 32);
  CHECK(hs::generate_webhook_secret() != secret);
  const std::string url = "https://acme.example/hooks";
  hooks.put_endpoint("acme", "orders", url, secret);
  CHECK(!hooks.endpoint("acme", "nope"));
  std::optional<hs::WebhookEndpoint> ep = hooks.endpoint("acme", "orders");
  CHECK(ep && ep->enabled && ep->failing == 0 && ep->secrets == 1);

  // The message and app state in one transaction; a discarded one writes neither.
  {
    hs::Transaction tx = s.begin();
    tx.kv_put("orders", "1000", "paid").outbox_enqueue("acme", "orders", "order.paid", "{}");
  }
  CHECK(hooks.counts().pending == 0 && !s.kv().get("orders", "1000"));
  hs::Transaction tx = s.begin();
  tx.kv_put("orders", "1001", "paid")
      .outbox_enqueue("acme", "orders", "order.paid", "{\"id\":1001}");
  tx.commit();
  CHECK(s.kv().get_string("orders", "1001") == std::optional<std::string>("paid"));
  hs::OutboxCounts c = hooks.counts();
  CHECK(c.pending == 1 && c.leased == 0);
  {
    hs::Transaction missing = s.begin();
    missing.kv_put("orders", "1002", "paid").outbox_enqueue("acme", "nowhere", "t", "{}");
    EXPECT_THROW(missing.commit(), hs::NotFound);
    CHECK(!s.kv().get("orders", "1002"));
  }

  const uint64_t now_s = t0 / SEC;
  {
    hs::WebhookClaim claim = hooks.claim(10, 30 * SEC);
    CHECK(claim.size() == 1 && !claim.empty());
    hs::WebhookDelivery d = claim[0];
    CHECK(d.id() == 1 && d.attempt() == 1 && d.url() == url && d.event_type() == "order.paid");
    CHECK(d.payload().to_vector() == bytes("{\"id\":1001}"));
    CHECK(d.webhook_id() == "msg_0000000000000001");
    CHECK(d.timestamp() == now_s && d.webhook_timestamp() == std::to_string(now_s));
    CHECK(d.lease_until() == t0 + 30 * SEC);
    CHECK(d.webhook_signature().rfind("v1,", 0) == 0);
    std::vector<std::pair<std::string, std::string>> h = d.headers();
    CHECK(h.size() == 3 && h[0].first == "webhook-id" && h[0].second == d.webhook_id());
    CHECK(h[1].first == "webhook-timestamp" && h[2].first == "webhook-signature" &&
          h[2].second == d.webhook_signature());
    CHECK(hooks.counts().leased == 1);
    CHECK(hs::verify_webhook(secret, d.webhook_id(), d.webhook_timestamp(),
                             d.webhook_signature(), d.payload(), 300, now_s));
    CHECK(hs::verify_webhook({hs::generate_webhook_secret(), secret}, d.webhook_id(),
                             d.webhook_timestamp(), d.webhook_signature(), d.payload(), 300,
                             now_s));
    CHECK(!hs::verify_webhook(secret, d.webhook_id(), d.webhook_timestamp(),
                              d.webhook_signature(), "{\"id\":1002}", 300, now_s));
    CHECK(hs::last_error_message().find("no signature matches") != std::string::npos);
    CHECK(!hs::verify_webhook(secret, d.webhook_id(), d.webhook_timestamp(),
                              d.webhook_signature(), d.payload(), 300, now_s + 301));
    CHECK(hs::last_error_message().find("tolerance") != std::string::npos);
    CHECK(!hs::verify_webhook(hs::generate_webhook_secret(), d.webhook_id(),
                              d.webhook_timestamp(), d.webhook_signature(), d.payload(), 300,
                              now_s));
    CHECK(!hs::verify_webhook(secret, d.webhook_id(), d.webhook_timestamp(), "v1,AAAA",
                              d.payload(), 300, now_s));
    // The store's clock is not the system's: with the system clock it is stale.
    CHECK(!hs::verify_webhook(secret, d.webhook_id(), d.webhook_timestamp(),
                              d.webhook_signature(), d.payload()));

    // A failure: due again in 5 s; this holder is done with it.
    hs::WebhookFailOutcome fo = hooks.fail(d, "HTTP 503");
    CHECK(!fo.dead && fo.retry_at == std::optional<uint64_t>(t0 + 5 * SEC) && !fo.dead_letter);
    EXPECT_THROW(hooks.ack(d), hs::Fenced);
    EXPECT_THROW(claim.at(1), hs::InvalidArgument);
    int n = 0;
    for (hs::WebhookDelivery each : claim) n += each.id() == 1;
    CHECK(n == 1);
  }
  CHECK(hooks.claim(10, 30 * SEC).empty());
  advance(5 * SEC);

  // A lapsed lease: claimed again, the old holder fenced.
  {
    hs::WebhookClaim first = hooks.claim(10, 30 * SEC);
    CHECK(first.size() == 1 && first[0].attempt() == 2 && first[0].timestamp() == now_s + 5);
    advance(31 * SEC);
    hs::WebhookClaim second = hooks.claim();
    CHECK(second.size() == 1 && second[0].attempt() == 3);
    CHECK(second[0].webhook_id() == "msg_0000000000000001");  // the same on every attempt
    EXPECT_THROW(hooks.ack(first[0]), hs::Fenced);
    EXPECT_THROW(hooks.fail(first[0], "late"), hs::Fenced);
    hs::WebhookClaim moved = std::move(second);
    CHECK(second.empty() && moved.size() == 1);
    hooks.ack(moved[0]);
    EXPECT_THROW(hooks.ack(moved[0]), hs::Fenced);
  }
  c = hooks.counts();
  CHECK(c.pending == 0 && c.leased == 0);

  // The specification's test vector; unknown schemes skipped.
  const char* spec_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const char* spec_body = "{\"test\": 2432232314}";
  CHECK(hs::verify_webhook(spec_secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330",
                           "v1a,xxx v1,bm9wZQ== v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
                           spec_body, 300, 1614265330 + 10));
  CHECK(!hs::verify_webhook(spec_secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330",
                            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
                            "{\"test\": 2432232315}", 300, 1614265330));
  CHECK(!hs::verify_webhook(spec_secret, "msg_1", "12x", "v1,AAAA", "{}", 300, 1614265330));
  EXPECT_THROW(hs::verify_webhook("nope", "msg_1", "1", "v1,AAAA", "{}", 300, 1),
               hs::InvalidArgument);
  EXPECT_THROW(hs::verify_webhook(std::vector<std::string>(), "msg_1", "1", "v1,AAAA", "{}", 300,
                                  1),
               hs::InvalidArgument);

  // A rotation: both secrets sign, the newest first; a receiver with either verifies.
  const std::string next = hs::generate_webhook_secret();
  std::vector<std::string> both = {next, secret};
  hooks.put_endpoint("acme", "orders", url, both);
  CHECK(hooks.endpoint("acme", "orders")->secrets == 2);
  hooks.enqueue("acme", "orders", "order.shipped", "{\"id\":1001}", hs::Durability::Buffered);
  {
    hs::WebhookClaim claim = hooks.claim();
    hs::WebhookDelivery d = claim.at(0);
    std::string_view sig = d.webhook_signature();
    CHECK(std::count(sig.begin(), sig.end(), ' ') == 1);
    for (const std::string& k : both)
      CHECK(hs::verify_webhook(k, d.webhook_id(), d.webhook_timestamp(), sig, d.payload(), 300,
                               now_us / SEC));
    hooks.ack(d);
  }

  // Every attempt failing: the schedule, then a dead letter.
  const uint64_t schedule[] = {5, 300, 1800, 7200, 18000, 36000, 36000};
  uint64_t id = hooks.enqueue("acme", "orders", "order.paid", "{\"id\":7}");
  hs::WebhookFailOutcome last;
  for (uint32_t attempt = 1; attempt <= 8; attempt++) {
    hs::WebhookClaim claim = hooks.claim();
    CHECK(claim.size() == 1 && claim[0].id() == id && claim[0].attempt() == attempt);
    if (claim.empty()) break;
    last = hooks.fail(claim[0], "HTTP 500");
    if (attempt < 8) {
      CHECK(!last.dead && last.retry_at == now_us + schedule[attempt - 1] * SEC);
      advance(schedule[attempt - 1] * SEC);
    }
  }
  CHECK(last.dead && last.dead_letter && !last.retry_at);
  if (last.dead_letter) {
    hs::DlqItem dl = s.dead_letters().get(*last.dead_letter);
    CHECK(dl.kind == "webhook" && dl.state == hs::DlqState::Dead && dl.tenant == "acme");
    std::string payload(dl.payload.begin(), dl.payload.end());
    CHECK(payload.find("\"attempts\":8") != std::string::npos);
  }
  ep = hooks.endpoint("acme", "orders");
  CHECK(ep && ep->enabled && ep->failing == 8);

  // 24 failures in a row disable the endpoint until enabled; its messages wait.
  for (int i = 0; i < 2; i++) hooks.enqueue("acme", "orders", "t", "{}");
  for (int round = 0; round < 8; round++) {
    hs::WebhookClaim claim = hooks.claim();
    for (hs::WebhookDelivery d : claim) hooks.fail(d, "HTTP 500");
    advance(11 * 3600 * SEC);
  }
  ep = hooks.endpoint("acme", "orders");
  CHECK(ep && !ep->enabled && ep->failing == 24);
  uint64_t waiting = hooks.enqueue("acme", "orders", "t", "{}");
  CHECK(hooks.claim().empty());
  hooks.enable_endpoint("acme", "orders");
  ep = hooks.endpoint("acme", "orders");
  CHECK(ep && ep->enabled && ep->failing == 0);

  // Removal asks for its count.
  hooks.enqueue("acme", "orders", "t", "{}");
  EXPECT_THROW(hooks.remove_endpoint("acme", "orders"), hs::ConfirmationRequired);
  EXPECT_THROW(hooks.remove_endpoint("acme", "orders", 1), hs::ConfirmationRequired);
  CHECK(hooks.counts().pending == 2);
  CHECK(hooks.remove_endpoint("acme", "orders", 2) == 2);
  CHECK(!hooks.endpoint("acme", "orders") && hooks.counts().pending == 0);
  CHECK(waiting > id);
  EXPECT_THROW(hooks.remove_endpoint("acme", "orders", 9), hs::NotFound);
  EXPECT_THROW(hooks.enable_endpoint("acme", "orders"), hs::NotFound);

  // Bad input.
  EXPECT_THROW(hooks.enqueue("acme", "orders", "t", "{}"), hs::NotFound);
  EXPECT_THROW(hooks.put_endpoint("acme", "x", "https://a", "nope"), hs::InvalidArgument);
  EXPECT_THROW(hooks.put_endpoint("acme", "x", "https://a", {}), hs::InvalidArgument);
  EXPECT_THROW(hooks.put_endpoint("acme", "x", "ftp://a", secret), hs::InvalidArgument);
  EXPECT_THROW(hooks.put_endpoint("", "x", "https://a", secret), hs::InvalidArgument);
  EXPECT_THROW(hooks.put_endpoint("acme", std::string(129, 'x'), "https://a", secret),
               hs::TooLong);
  EXPECT_THROW(hooks.put_endpoint("acme", "\xff", "https://a", secret), hs::InvalidUtf8);
  EXPECT_THROW(hooks.put_endpoint("acme", "x", "https://a", std::vector<std::string>(9, secret)),
               hs::InvalidArgument);
  CHECK(!hooks.endpoint("acme", "x"));
  hooks.put_endpoint("acme", "x", "https://a", {secret});
  EXPECT_THROW(hooks.enqueue("acme", "x", "", "{}"), hs::InvalidArgument);
  EXPECT_THROW(hooks.enqueue("acme", "x", "t", std::vector<uint8_t>((512 << 10) + 1)),
               hs::TooLong);
  EXPECT_THROW(hooks.claim(0), hs::InvalidArgument);
  EXPECT_THROW(hooks.claim(1, 0), hs::InvalidArgument);
  EXPECT_THROW(hooks.claim(10001), hs::InvalidArgument);
  hs::Transaction bad = s.begin();
  EXPECT_THROW(bad.outbox_enqueue("acme", "x", "", "{}"), hs::InvalidArgument);
  EXPECT_THROW(bad.outbox_enqueue("acme", "x", "t", std::vector<uint8_t>((512 << 10) + 1)),
               hs::TooLong);
  bad.abort();
  hooks.enqueue("acme", "x", "t", "{}");
  {
    hs::WebhookClaim claim = hooks.claim();
    EXPECT_THROW(hooks.fail(claim[0], std::string(5000, 'e')), hs::TooLong);
    EXPECT_THROW(hooks.fail(claim[0], "\xff"), hs::InvalidUtf8);
    claim.reset();  // its deliveries are gone with it (never use one after this)
    CHECK(claim.empty());
    EXPECT_THROW(claim.at(0), hs::NullArgument);
  }
  s.close();
  EXPECT_THROW(s.webhooks().counts(), hs::NullArgument);
}

// Signed checkpoints: a SHA-256 store, keys, a signed and cosigned note, the quorum, a
// proof bundle verified offline with its leaf bytes.
static void test_tlog(const std::string& dir) {
  hs::Store s(join(dir, "tlog.hs"), hs::Options().audit_hash(HARDSTORE_AUDIT_HASH_SHA256));
  hs::Audit audit = s.audit();
  for (int i = 0; i < 12; i++) audit.append(hs::AuditEvent("acme", "paid").detail("i", std::to_string(i)));
  CHECK(audit.hash() == HARDSTORE_AUDIT_HASH_SHA256);
  std::vector<uint8_t> lb = audit.leaf_bytes(5);
  CHECK(lb.size() > 2 && lb[0] == 1 && lb[1] == 5);
  EXPECT_THROW(hs::NoteSigner::generate("has space"), hs::InvalidArgument);
  hs::NoteSigner log = hs::NoteSigner::generate("example.com/log");
  hs::NoteSigner w = hs::NoteSigner::generate("witness.example/w", true);
  CHECK(hs::NoteSigner::from_skey(log.skey()).vkey() == log.vkey());
  std::string note = audit.sign_checkpoint(log);
  CHECK(note.rfind("example.com/log\n12\n", 0) == 0);
  std::string cosigned = hs::cosign_checkpoint_note(note, w, 1767225600);
  hs::VerifiedCheckpoint v = hs::verify_checkpoint_note(cosigned, log.vkey(), w.vkey(), 1);
  CHECK(v.size == 12 && v.cosigned == 1 && v.root == audit.root(12));
  EXPECT_THROW(hs::verify_checkpoint_note(note, log.vkey(), w.vkey(), 1), hs::SignatureInvalid);
  EXPECT_THROW(hs::verify_checkpoint_note("junk", log.vkey()), hs::CheckpointInvalid);
  std::string bundle = audit.proof_bundle(5, cosigned);
  auto [index, leaf] = hs::verify_proof_bundle(bundle, log.vkey(), w.vkey(), 1,
                                               HARDSTORE_AUDIT_HASH_SHA256);
  CHECK(index == 5 && leaf == lb);
  EXPECT_THROW(hs::verify_proof_bundle(bundle, log.vkey(), "", 0, HARDSTORE_AUDIT_HASH_BLAKE3),
               hs::ProofInvalid);
  // A SHA-256 store's proofs verify under its hash only.
  std::vector<uint8_t> p = audit.inclusion_proof(5, 12);
  hs::AuditEntry e5 = audit.get(5);
  CHECK(hs::verify_inclusion(e5.leaf_hash, 5, 12, p, audit.root(12), audit.hash()));
  CHECK(!hs::verify_inclusion(e5.leaf_hash, 5, 12, p, audit.root(12)));
  std::vector<uint8_t> c = audit.consistency_proof(3, 12);
  CHECK(hs::verify_consistency(3, 12, audit.root(3), audit.root(12), c, audit.hash()));
  // A witness key listed twice is refused.
  EXPECT_THROW(hs::verify_checkpoint_note(cosigned, log.vkey(), w.vkey() + "\n" + w.vkey(), 2),
               hs::InvalidArgument);
  // A BLAKE3 store signs no C2SP checkpoint.
  hs::Store b3(join(dir, "tlog-b3.hs"), hs::Options());
  b3.audit().append(hs::AuditEvent("acme", "x"));
  EXPECT_THROW(b3.audit().sign_checkpoint(log), hs::InvalidArgument);
}

// Replication to a file:// target and a restore from it.
static void test_replication(const std::string& dir) {
  std::string bucket = join(dir, "cpp-bucket");
  std::string mk = "mkdir -p '" + bucket + "'";
  CHECK(std::system(mk.c_str()) == 0);
  std::string url = "file://" + bucket;
  hs::Hash root{};
  {
    hs::Store s(join(dir, "cpp-repl.hs"));
    CHECK(!s.replication_status().replicating);
    s.replicate(url, 50);
    EXPECT_THROW(s.replicate(url, 50), hs::InvalidArgument);
    for (int i = 0; i < 9; i++) s.audit().append(hs::AuditEvent("acme", "x"));
    CHECK(s.wait_replicated());
    hardstore_replication_status st = s.replication_status();
    CHECK(st.replicating && st.lag_batches == 0 && !st.failing);
    CHECK(s.replication_last_error().empty());
    root = s.audit().root(9);
  }
  hardstore_replica_restore_info info = hs::replica_restore(url, join(dir, "cpp-restored.hs"));
  CHECK(info.audit_size == 9 && hs::to_hash(info.audit_root) == root);
  EXPECT_THROW(hs::replica_restore(url, join(dir, "cpp-restored.hs")), hs::InvalidArgument);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const std::string key = "a secret audit key for the C++ test";
  const std::string path = join(dir, "main.hs");
  try {
    test_basics();
    hs::ManualClock clock(1700000000ull * SEC);
    hs::RetryPolicy policy = hs::default_retry_policy();
    policy.base_us = 1;
    policy.cap_us = 1;
    policy.seeded = true;
    policy.seed = 42;
    hs::Options opts;
    opts.audit_key(key)
        .flush_interval_ms(20)
        .max_batch(64)
        .log_capacity(50)
        .redact_logs(true)
        .clock(clock)
        .idempotency_ttl_ms(3600 * 1000)
        .dlq_policy(policy)
        .dlq_purge_after_us(7 * 86400 * SEC);
    uint64_t audit_size = 0;
    hs::StoreId id{};
    {
      hs::Store opened(path, opts);
      hs::Store store = std::move(opened);  // the handle moves, one owner
      CHECK(!opened.is_open() && store.is_open());
      EXPECT_THROW(opened.audit().size(), hs::NullArgument);
      opened.close();  // closing a moved-from store does nothing
      test_open(dir, store, path);
      test_audit(store, dir, key);
      test_logs(store);
      test_idempotency_kv_tx(store, clock);
      test_dead_letters(store, clock);
      audit_size = store.audit().size();
      id = store.id();
      store.close();
    }
    {
      // Everything survives a reopen (the clock handle outlived by the options is fine).
      hs::Store store(path, hs::Options().clock(clock));
      CHECK(store.id() == id);
      CHECK(store.audit().size() == audit_size);
      CHECK(store.audit().verify().ok);
      CHECK(store.kv().get_string("orders", "o-2") == std::optional<std::string>("paid"));
    }  // the destructor closes it
    test_restore_points(dir, clock);
    test_settings(dir);
    test_backups(dir, clock);
    test_alerts(dir);
    test_health(dir);
    test_maintenance(dir);
    test_audit_retention(dir);
    test_metrics(dir);
    test_rate_limits(dir);
    test_ip_rules(dir);
    test_sealing(dir);
    test_webhooks(dir);
    test_tlog(dir);
    test_replication(dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cpp_wrapper_test: unexpected exception: %s\n", e.what());
    failures++;
  }
  if (failures) {
    std::fprintf(stderr, "cpp_wrapper_test: %d check(s) failed\n", failures);
    return 1;
  }
  std::printf("cpp_wrapper_test: ok\n");
  return 0;
}
