// The C++ wrapper (bindings/cpp/hardstore.hpp) end to end: every area through RAII handles
// and exceptions, the right exception class for each error path (a wrong backup key is
// WrongKey, a missing record NotFound, a fenced token or claim Fenced, ...), owned
// outputs, callbacks, transactions that discard themselves unless committed, the
// store's health report, maintenance (one run with its report, and the janitor), and
// metrics (the snapshot, both exposition texts, app counters, gauges and histograms).
//
// Usage: cpp_wrapper_test DIR   (DIR is an existing, empty scratch directory)

// The project's test harness passes only -I include; bindings/cpp may be on the path too.
#if __has_include("hardstore.hpp")
#include "hardstore.hpp"
#else
#include "../../bindings/cpp/hardstore.hpp"
#endif

#include <chrono>
#include <cstdio>
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
    test_metrics(dir);
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
