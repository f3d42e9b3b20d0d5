// hardstore.hpp: a header-only C++17 wrapper over the hardstore C ABI (hardstore.h).
//
//  - Every handle the library allocates is owned by a move-only class whose destructor
//    frees (or closes) it exactly once.
//  - Every failing call throws a hardstore::Error (a std::runtime_error) carrying the
//    result code and this thread's last error message, as the subclass of its family
//    (NotFound, Corrupted, Fenced, WrongKey, InvalidArgument, ...).
//  - Text goes in as std::string_view, bytes as hardstore::bytes_view; what comes out is
//    owned: std::string, std::vector<uint8_t>, std::optional, plain structs.
//
// Borrowing rules the wrapper keeps from the C API:
//  - The area views (Store::audit(), ::logs(), ...) and transactions hold a raw store
//    pointer: they must not outlive the Store they came from.
//  - A DlqClaim is borrowed from its DlqClaims list and dies with it.
//  - A BackupSchedule keeps the store busy: destroy (or stop()) it before the Store.
//    The janitor (Options::janitor) is the store's own and stops when it closes.
//  - A Limiter (RateLimits::limiter) may outlive its Store: its checks then change
//    memory only.
//  - The sealing key source (Options::sealing_key_source) is shared by the Options and
//    every Store opened with them, so either may be destroyed first.
//  - A WebhookDelivery is borrowed from its WebhookClaim and dies with it (its views
//    too); acking or failing it needs the claim alive.
//
// Callbacks (backup progress, the dead-letter retry operation, the sealing key source)
// are std::function; an exception they throw never crosses into the library (see
// Backups::run, DeadLetters::retry and Options::sealing_key_source for what happens to
// it).

#ifndef HARDSTORE_HPP
#define HARDSTORE_HPP

#include "hardstore.h"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace hardstore {

// ---------------------------------------------------------------------------------
// Basic types
// ---------------------------------------------------------------------------------

/// A 32-byte hash (Merkle root, leaf hash, digest).
using Hash = std::array<uint8_t, HARDSTORE_HASH_LEN>;
/// A store's 16-byte id.
using StoreId = std::array<uint8_t, 16>;

/// A non-owning view of bytes: a pointer and a size. Built from std::string_view,
/// std::string, a C string, std::vector<uint8_t>, std::array or a byte array.
class bytes_view {
 public:
  constexpr bytes_view() noexcept = default;
  constexpr bytes_view(const uint8_t* data, size_t size) noexcept : data_(data), size_(size) {}
  bytes_view(const char* data, size_t size) noexcept
      : data_(reinterpret_cast<const uint8_t*>(data)), size_(size) {}
  bytes_view(std::string_view s) noexcept
      : data_(reinterpret_cast<const uint8_t*>(s.data())), size_(s.size()) {}
  bytes_view(const std::string& s) noexcept
      : data_(reinterpret_cast<const uint8_t*>(s.data())), size_(s.size()) {}
  bytes_view(const char* s) noexcept
      : data_(reinterpret_cast<const uint8_t*>(s)), size_(s ? std::strlen(s) : 0) {}
  bytes_view(const std::vector<uint8_t>& v) noexcept : data_(v.data()), size_(v.size()) {}
  template <size_t N>
  bytes_view(const std::array<uint8_t, N>& a) noexcept : data_(a.data()), size_(N) {}
  template <size_t N>
  bytes_view(const uint8_t (&a)[N]) noexcept : data_(a), size_(N) {}

  constexpr const uint8_t* data() const noexcept { return data_; }
  constexpr size_t size() const noexcept { return size_; }
  constexpr bool empty() const noexcept { return size_ == 0; }
  constexpr const uint8_t* begin() const noexcept { return data_; }
  constexpr const uint8_t* end() const noexcept { return data_ + size_; }
  std::vector<uint8_t> to_vector() const { return std::vector<uint8_t>(begin(), end()); }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

/// A view of exactly 32 bytes: a Hash or a C struct's `uint8_t[32]` field.
class hash_view {
 public:
  hash_view(const Hash& h) noexcept : data_(h.data()) {}
  hash_view(const uint8_t (&a)[HARDSTORE_HASH_LEN]) noexcept : data_(a) {}
  const uint8_t* data() const noexcept { return data_; }

 private:
  const uint8_t* data_;
};

/// Copies a C `uint8_t[32]` field into a Hash.
inline Hash to_hash(const uint8_t (&a)[HARDSTORE_HASH_LEN]) {
  Hash h;
  std::memcpy(h.data(), a, h.size());
  return h;
}

/// How a write returns: once on disk, or once committed in memory (synced soon).
enum class Durability : uint32_t {
  Durable = HARDSTORE_DURABLE,
  Buffered = HARDSTORE_BUFFERED,
};

/// Log levels.
enum class Level : uint32_t {
  Trace = HARDSTORE_LEVEL_TRACE,
  Debug = HARDSTORE_LEVEL_DEBUG,
  Info = HARDSTORE_LEVEL_INFO,
  Warn = HARDSTORE_LEVEL_WARN,
  Error = HARDSTORE_LEVEL_ERROR,
  Fatal = HARDSTORE_LEVEL_FATAL,
};

/// Backup kinds.
enum class BackupKind : uint32_t {
  Full = HARDSTORE_BACKUP_FULL,
  Incremental = HARDSTORE_BACKUP_INCREMENTAL,
  Differential = HARDSTORE_BACKUP_DIFFERENTIAL,
};

/// How a cataloged backup run ended.
enum class BackupResult : uint32_t {
  Running = HARDSTORE_BACKUP_RUNNING,
  Ok = HARDSTORE_BACKUP_OK,
  Failed = HARDSTORE_BACKUP_FAILED,
  Interrupted = HARDSTORE_BACKUP_INTERRUPTED,
};

/// Dead-letter states.
enum class DlqState : uint32_t {
  Pending = HARDSTORE_DLQ_PENDING,
  Leased = HARDSTORE_DLQ_LEASED,
  Done = HARDSTORE_DLQ_DONE,
  Dead = HARDSTORE_DLQ_DEAD,
};

/// Alert severities, ordered: Info < Warning < Critical.
enum class Severity : uint32_t {
  Info = HARDSTORE_ALERT_INFO,
  Warning = HARDSTORE_ALERT_WARNING,
  Critical = HARDSTORE_ALERT_CRITICAL,
};

/// Where an alert is in its life: a raise counts on an Open or Acknowledged one.
enum class AlertState : uint32_t {
  Open = HARDSTORE_ALERT_OPEN,
  Acknowledged = HARDSTORE_ALERT_ACKNOWLEDGED,
  Resolved = HARDSTORE_ALERT_RESOLVED,
};

/// Which alerts a list walks: not resolved, resolved, or every one (the history).
enum class AlertScope : uint32_t {
  Open = HARDSTORE_ALERT_SCOPE_OPEN,
  Resolved = HARDSTORE_ALERT_SCOPE_RESOLVED,
  All = HARDSTORE_ALERT_SCOPE_ALL,
};

/// What an IP rule does to the addresses it covers.
enum class IpAction : uint32_t {
  Allow = HARDSTORE_IP_ALLOW,
  Deny = HARDSTORE_IP_DENY,
};

/// A sealing key's state in the store's keyset: Enabled wraps (as the primary) and
/// unwraps data keys, Disabled is refused until enabled again, Destroyed for ever.
enum class KeyStatus : uint32_t {
  Enabled = HARDSTORE_KEY_ENABLED,
  Disabled = HARDSTORE_KEY_DISABLED,
  Destroyed = HARDSTORE_KEY_DESTROYED,
};

/// A health grade, of one component or of the store (its worst component's). Ordered:
/// Healthy < Degraded < Critical.
enum class Grade : uint32_t {
  Healthy = HARDSTORE_HEALTHY,
  Degraded = HARDSTORE_DEGRADED,
  Critical = HARDSTORE_CRITICAL,
};

// Plain C structs used as they are (no pointers inside, nothing to free).
using CheckpointInfo = hardstore_checkpoint_info;
using VerifyReport = hardstore_verify_report;
using BackupInfo = hardstore_backup_info;
using BackupKey = hardstore_backup_key;
using Retention = hardstore_retention;
using Schedule = hardstore_schedule;
using RetryPolicy = hardstore_retry_policy;
using DlqStateCounts = hardstore_dlq_state_counts;
using IdemInfo = hardstore_idem_info;
using LogTotals = hardstore_log_totals;
using RestorePointInfo = hardstore_restore_point_info;
using SpaceReport = hardstore_space_report;
/// The store's figures at one moment (Store::metrics_snapshot).
using MetricsSnapshot = hardstore_metrics_snapshot;
/// A rate limit: `count` per `period_us` sustained, at most `burst` at once (each at
/// least 1; the period at most 366 days). make_rate_limit builds one.
using RateLimit = hardstore_rate_limit;
/// One rate limit's keys in memory (`keys`), idle keys dropped to make room
/// (`evicted_idle`, nothing lost) and keys in use evicted because every key was in use
/// (`evicted_active`).
using RateLimitStats = hardstore_rate_limit_keys;
/// What a re-wrap step did: data keys re-wrapped by the primary (`rewrapped`) and live
/// subjects still wrapped by another key (`remaining`).
using RewrapReport = hardstore_rewrap_report;
/// The 32 bytes of a sealing key.
using SealingKey = std::array<uint8_t, HARDSTORE_SEALING_KEY_LEN>;

// ---------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------

/// A static name for a result code ("HARDSTORE_NOT_FOUND").
inline const char* result_name(hardstore_result code) noexcept {
  return hardstore_result_name(static_cast<uint32_t>(code));
}

/// The library's version.
inline std::string version() { return hardstore_version(); }

/// This thread's last error message (empty if no call on this thread failed).
inline std::string last_error_message() {
  char small[256];
  size_t n = 0;
  hardstore_result r = hardstore_last_error_message(small, sizeof small, &n);
  if (r == HARDSTORE_OK) return std::string(small, n);
  if (r != HARDSTORE_BUFFER_TOO_SMALL) return std::string();
  // n is the size needed, NUL included. Ask once more with room to spare.
  std::string big(n, '\0');
  size_t got = 0;
  if (hardstore_last_error_message(&big[0], big.size(), &got) != HARDSTORE_OK)
    return std::string();
  big.resize(got);
  return big;
}

/// Panics inside the library on purpose (hardstore_test_force_panic): always throws
/// Panic, with the panic's message. For tests of the panic boundary and of callers'
/// handling of Panic.
inline void test_force_panic();

/// Every failure: the result code and the library's message.
class Error : public std::runtime_error {
 public:
  Error(hardstore_result code, const std::string& message)
      : std::runtime_error(std::string(result_name(code)) +
                           (message.empty() ? std::string() : ": " + message)),
        code_(code),
        message_(message) {}
  hardstore_result code() const noexcept { return code_; }
  const char* name() const noexcept { return result_name(code_); }
  const std::string& message() const noexcept { return message_; }

 private:
  hardstore_result code_;
  std::string message_;
};

#define HARDSTORE_HPP_ERROR(Name, Base) \
  class Name : public Base {            \
   public:                              \
    using Base::Base;                   \
  }

/// An argument was rejected (also the base of NullArgument, InvalidUtf8, TooLong).
HARDSTORE_HPP_ERROR(InvalidArgument, Error);
HARDSTORE_HPP_ERROR(NullArgument, InvalidArgument);
HARDSTORE_HPP_ERROR(InvalidUtf8, InvalidArgument);
HARDSTORE_HPP_ERROR(TooLong, InvalidArgument);
/// The record does not exist.
HARDSTORE_HPP_ERROR(NotFound, Error);
/// Opening failed: the base of NotAStore, FormatTooNew and AlreadyOpen.
HARDSTORE_HPP_ERROR(OpenError, Error);
HARDSTORE_HPP_ERROR(NotAStore, OpenError);
HARDSTORE_HPP_ERROR(FormatTooNew, OpenError);
HARDSTORE_HPP_ERROR(AlreadyOpen, OpenError);
/// The store cannot take this call: ReadOnly, Poisoned, Closed.
HARDSTORE_HPP_ERROR(Unavailable, Error);
HARDSTORE_HPP_ERROR(ReadOnly, Unavailable);
HARDSTORE_HPP_ERROR(Poisoned, Unavailable);
HARDSTORE_HPP_ERROR(Closed, Unavailable);
/// Stored or given data is damaged: the base of UnknownRecordVersion.
HARDSTORE_HPP_ERROR(Corrupted, Error);
HARDSTORE_HPP_ERROR(UnknownRecordVersion, Corrupted);
/// Something did not verify: ProofInvalid, CheckpointInvalid.
HARDSTORE_HPP_ERROR(VerificationFailed, Error);
HARDSTORE_HPP_ERROR(ProofInvalid, VerificationFailed);
HARDSTORE_HPP_ERROR(CheckpointInvalid, VerificationFailed);
/// I/O and storage-layer errors.
HARDSTORE_HPP_ERROR(IoError, Error);
HARDSTORE_HPP_ERROR(StorageError, Error);
/// Rust code panicked inside the call.
HARDSTORE_HPP_ERROR(Panic, Error);
/// An output buffer was too small.
HARDSTORE_HPP_ERROR(BufferTooSmall, Error);
/// A lease holder (idempotency token, dead-letter claim) was fenced off.
HARDSTORE_HPP_ERROR(Fenced, Error);
/// A documented cap was reached.
HARDSTORE_HPP_ERROR(LimitReached, Error);
/// A backup is encrypted and no key, or the wrong one, was given.
HARDSTORE_HPP_ERROR(WrongKey, Error);
/// A change would delete stored data and the count given to confirm it was too small.
HARDSTORE_HPP_ERROR(ConfirmationRequired, Error);
/// A sealed field's subject was shredded: the field can never be read again.
HARDSTORE_HPP_ERROR(Shredded, Error);
/// A sealing key is not available: not given, disabled, destroyed, or other bytes than
/// the key the store knows by that id.
HARDSTORE_HPP_ERROR(KeyUnavailable, Error);
/// Bytes given as a sealed field are not one (cut, edited, of another store).
HARDSTORE_HPP_ERROR(SealedInvalid, Error);
/// A webhook's signature headers did not verify (missing, malformed, stale, or no
/// matching signature).
HARDSTORE_HPP_ERROR(SignatureInvalid, Error);

#undef HARDSTORE_HPP_ERROR

namespace detail {

[[noreturn]] inline void throw_error(hardstore_result code, const std::string& msg) {
  switch (code) {
    case HARDSTORE_NULL_ARGUMENT: throw NullArgument(code, msg);
    case HARDSTORE_INVALID_ARGUMENT: throw InvalidArgument(code, msg);
    case HARDSTORE_INVALID_UTF8: throw InvalidUtf8(code, msg);
    case HARDSTORE_TOO_LONG: throw TooLong(code, msg);
    case HARDSTORE_NOT_FOUND: throw NotFound(code, msg);
    case HARDSTORE_NOT_A_STORE: throw NotAStore(code, msg);
    case HARDSTORE_FORMAT_TOO_NEW: throw FormatTooNew(code, msg);
    case HARDSTORE_ALREADY_OPEN: throw AlreadyOpen(code, msg);
    case HARDSTORE_READ_ONLY: throw ReadOnly(code, msg);
    case HARDSTORE_POISONED: throw Poisoned(code, msg);
    case HARDSTORE_CLOSED: throw Closed(code, msg);
    case HARDSTORE_CORRUPTED: throw Corrupted(code, msg);
    case HARDSTORE_PROOF_INVALID: throw ProofInvalid(code, msg);
    case HARDSTORE_CHECKPOINT_INVALID: throw CheckpointInvalid(code, msg);
    case HARDSTORE_IO: throw IoError(code, msg);
    case HARDSTORE_STORAGE: throw StorageError(code, msg);
    case HARDSTORE_PANIC: throw Panic(code, msg);
    case HARDSTORE_BUFFER_TOO_SMALL: throw BufferTooSmall(code, msg);
    case HARDSTORE_UNKNOWN_RECORD_VERSION: throw UnknownRecordVersion(code, msg);
    case HARDSTORE_FENCED: throw Fenced(code, msg);
    case HARDSTORE_LIMIT_REACHED: throw LimitReached(code, msg);
    case HARDSTORE_WRONG_KEY: throw WrongKey(code, msg);
    case HARDSTORE_CONFIRMATION_REQUIRED: throw ConfirmationRequired(code, msg);
    case HARDSTORE_SHREDDED: throw Shredded(code, msg);
    case HARDSTORE_KEY_UNAVAILABLE: throw KeyUnavailable(code, msg);
    case HARDSTORE_SEALED_INVALID: throw SealedInvalid(code, msg);
    case HARDSTORE_SIGNATURE_INVALID: throw SignatureInvalid(code, msg);
    case HARDSTORE_OK: break;
  }
  throw Error(code, msg);
}

/// Throws the error for a failed result, with this thread's last message.
inline void check(hardstore_result r) {
  if (r != HARDSTORE_OK) throw_error(r, last_error_message());
}

inline const uint8_t* u8(std::string_view s) noexcept {
  return reinterpret_cast<const uint8_t*>(s.data());
}

inline std::string str(const uint8_t* p, size_t n) {
  return n == 0 ? std::string() : std::string(reinterpret_cast<const char*>(p), n);
}

inline std::vector<uint8_t> vec(const uint8_t* p, size_t n) {
  return n == 0 ? std::vector<uint8_t>() : std::vector<uint8_t>(p, p + n);
}

/// A deleter calling a hardstore _free / _close function (its result, if any, ignored).
template <auto Fn>
struct Deleter {
  template <class T>
  void operator()(T* p) const noexcept {
    (void)Fn(p);
  }
};

template <class T, auto Fn>
using Owned = std::unique_ptr<T, Deleter<Fn>>;

/// Takes a raw out-pointer, adopting what the C call wrote into it.
template <class T, auto Fn>
class OutPtr {
 public:
  explicit OutPtr(Owned<T, Fn>& owner) : owner_(owner) {}
  ~OutPtr() { owner_.reset(raw_); }
  OutPtr(const OutPtr&) = delete;
  OutPtr& operator=(const OutPtr&) = delete;
  operator T**() noexcept { return &raw_; }

 private:
  Owned<T, Fn>& owner_;
  T* raw_ = nullptr;
};

template <class T, auto Fn>
OutPtr<T, Fn> out(Owned<T, Fn>& owner) {
  return OutPtr<T, Fn>(owner);
}

}  // namespace detail

inline void test_force_panic() { detail::check(hardstore_test_force_panic()); }

// ---------------------------------------------------------------------------------
// Owned byte buffers, clocks, options
// ---------------------------------------------------------------------------------

/// A byte buffer the library allocated (proofs, checkpoints, cursors, values).
class Bytes {
 public:
  Bytes() = default;
  /// Adopts `raw` (freed by this object).
  explicit Bytes(hardstore_bytes* raw) noexcept : p_(raw) {}
  const uint8_t* data() const noexcept { return hardstore_bytes_data(p_.get()); }
  size_t size() const noexcept { return hardstore_bytes_len(p_.get()); }
  bool empty() const noexcept { return size() == 0; }
  explicit operator bool() const noexcept { return p_ != nullptr; }
  bytes_view view() const noexcept { return bytes_view(data(), size()); }
  std::vector<uint8_t> to_vector() const { return detail::vec(data(), size()); }
  std::string to_string() const { return detail::str(data(), size()); }
  /// Copies into `buf` of `len` bytes and returns the count; BufferTooSmall if it
  /// does not fit.
  size_t copy_to(uint8_t* buf, size_t len) const {
    size_t n = 0;
    detail::check(hardstore_bytes_copy(p_.get(), buf, len, &n));
    return n;
  }
  hardstore_bytes* get() const noexcept { return p_.get(); }

 private:
  detail::Owned<hardstore_bytes, hardstore_bytes_free> p_;
};

namespace detail {
/// Calls `fn(hardstore_bytes**)` and returns what it wrote as an owned Bytes.
template <class F>
Bytes take_bytes(F&& fn) {
  hardstore_bytes* raw = nullptr;
  hardstore_result r = fn(&raw);
  Bytes b(raw);  // owned before anything can throw
  check(r);
  return b;
}
}  // namespace detail

/// A clock that moves only when told to (for tests). Stores opened with options that
/// use it keep their own reference, so it may be destroyed before them.
class ManualClock {
 public:
  explicit ManualClock(uint64_t start_us) {
    hardstore_clock* raw = nullptr;
    detail::check(hardstore_clock_new_manual(start_us, &raw));
    p_.reset(raw);
  }
  void set(uint64_t now_us) const { detail::check(hardstore_clock_set(p_.get(), now_us)); }
  void advance(uint64_t us) const { detail::check(hardstore_clock_advance(p_.get(), us)); }
  const hardstore_clock* get() const noexcept { return p_.get(); }

 private:
  detail::Owned<hardstore_clock, hardstore_clock_free> p_;
};

/// The default retry policy (full jitter, base 1 s, cap 1 h, 5 attempts, unseeded).
inline RetryPolicy default_retry_policy() {
  RetryPolicy p{};
  detail::check(hardstore_retry_policy_default(&p));
  return p;
}

/// Where health grades healthy, degraded and critical: the C struct, built with the
/// library's defaults (hardstore_health_thresholds_default) so that only the fields to
/// change need setting. Durations are microseconds; 0 in `file_size_limit` means no
/// limit. Thresholds that grade nothing sensibly (critical before degraded, a zero
/// window) throw InvalidArgument where they are used.
struct HealthThresholds : hardstore_health_thresholds {
  /// The defaults: a 5 min window, errors 5% / 25%, p95 500 ms / 2 s, dead letters
  /// 1 / 1000, no file size limit, disk free 1 GiB / 256 MiB, backups not expected.
  HealthThresholds() : hardstore_health_thresholds{} {
    detail::check(hardstore_health_thresholds_default(this));
  }
  /// A copy of thresholds read from the C API.
  explicit HealthThresholds(const hardstore_health_thresholds& c) noexcept
      : hardstore_health_thresholds(c) {}
};

/// A sealing key source: the 32 bytes of key `key_id`, or nullopt when it does not have
/// that key. Called from any thread the store runs on, possibly at once (it must be
/// thread-safe), and it must not call back into the store.
using KeySourceFn = std::function<std::optional<SealingKey>(uint32_t key_id)>;

namespace detail {
/// What the C key callback's user data points at: shared by the Options and every Store
/// opened with them, so it lives until the last of them is gone.
struct KeySourceCtx {
  KeySourceFn fn;
};

inline bool key_source_trampoline(void* user, uint32_t key_id, uint8_t* out_key) noexcept {
  try {
    std::optional<SealingKey> key = static_cast<const KeySourceCtx*>(user)->fn(key_id);
    if (!key) return false;
    std::memcpy(out_key, key->data(), key->size());
    return true;
  } catch (...) {  // never unwinds into the library: no such key
    return false;
  }
}
}  // namespace detail

class Store;

/// Options for opening a store; setters chain and throw on a bad value.
class Options {
 public:
  Options() {
    hardstore_options* raw = nullptr;
    detail::check(hardstore_options_new(&raw));
    p_.reset(raw);
  }
  Options& flush_interval_ms(uint64_t ms) {
    detail::check(hardstore_options_set_flush_interval_ms(p_.get(), ms));
    return *this;
  }
  Options& max_batch(size_t n) {
    detail::check(hardstore_options_set_max_batch(p_.get(), n));
    return *this;
  }
  Options& audit_key(bytes_view key) {
    detail::check(hardstore_options_set_audit_key(p_.get(), key.data(), key.size()));
    return *this;
  }
  /// For a new store: the audit tree's hash (HARDSTORE_AUDIT_HASH_BLAKE3, the default,
  /// or HARDSTORE_AUDIT_HASH_SHA256: RFC 6962's tree). An existing store keeps its own.
  Options& audit_hash(uint32_t hash) {
    detail::check(hardstore_options_set_audit_hash(p_.get(), hash));
    return *this;
  }
  Options& log_capacity(uint64_t n) {
    detail::check(hardstore_options_set_log_capacity(p_.get(), n));
    return *this;
  }
  Options& redact_logs(bool on) {
    detail::check(hardstore_options_set_redact_logs(p_.get(), on));
    return *this;
  }
  /// Whether audit appends redact e-mail addresses and phone numbers in actors and
  /// detail values before they are hashed and stored (default false).
  Options& redact_audit(bool on) {
    detail::check(hardstore_options_set_redact_audit(p_.get(), on));
    return *this;
  }
  Options& clock(const ManualClock& c) {
    detail::check(hardstore_options_set_clock(p_.get(), c.get()));
    return *this;
  }
  Options& max_restore_points(size_t n) {
    detail::check(hardstore_options_set_max_restore_points(p_.get(), n));
    return *this;
  }
  Options& idempotency_ttl_ms(uint64_t ms) {
    detail::check(hardstore_options_set_idempotency_ttl_ms(p_.get(), ms));
    return *this;
  }
  Options& dlq_policy(const RetryPolicy& policy) {
    detail::check(hardstore_options_set_dlq_policy(p_.get(), &policy));
    return *this;
  }
  Options& dlq_purge_after_us(uint64_t us) {
    detail::check(hardstore_options_set_dlq_purge_after_us(p_.get(), us));
    return *this;
  }
  /// A new store's health thresholds (an existing store keeps its own); checked now.
  Options& health_thresholds(const hardstore_health_thresholds& t) {
    detail::check(hardstore_options_set_health_thresholds(p_.get(), &t));
    return *this;
  }
  /// For a new store: how long resolved alerts are kept before maintenance deletes them
  /// (default 30 days; an existing store keeps its own).
  Options& alert_retention_us(uint64_t us) {
    detail::check(hardstore_options_set_alert_retention_us(p_.get(), us));
    return *this;
  }
  /// Runs maintenance every `interval_us` (above 0: 0 throws InvalidArgument) on a
  /// thread of the store's own, from the open until the store closes; with a non-empty
  /// `backups_into` (a folder) it also runs the backups the schedule has due, into it.
  Options& janitor(uint64_t interval_us, std::string_view backups_into = {}) {
    detail::check(hardstore_options_set_janitor(p_.get(), interval_us, detail::u8(backups_into),
                                                backups_into.size()));
    return *this;
  }
  /// Each rate limit keeps at most `max_keys` keys in memory (default 1,000,000), and
  /// keys changed by checks are written to the store every `flush_us` (default 1 s): a
  /// crash forgets at most that much consumption. Either 0 throws InvalidArgument.
  Options& rate_limits(uint64_t max_keys, uint64_t flush_us) {
    detail::check(hardstore_options_set_rate_limits(p_.get(), max_keys, flush_us));
    return *this;
  }
  /// Adds sealing key `key_id` with its 32 bytes (copied; another length throws
  /// InvalidArgument). The store never writes it to its file: give the same keys at
  /// every open. Call once per key; it replaces a key source set before.
  Options& sealing_key(uint32_t key_id, bytes_view key) {
    detail::check(hardstore_options_set_sealing_key(p_.get(), key_id, key.data(), key.size()));
    key_source_.reset();  // stores opened with it keep their own reference
    return *this;
  }
  /// sealing_key for each (id, key) of `keys`.
  Options& sealing_keys(const std::map<uint32_t, SealingKey>& keys) {
    for (const auto& k : keys) sealing_key(k.first, k.second);
    return *this;
  }
  /// Makes `fn` the key source: it returns the 32 bytes of a key, or nullopt when it
  /// does not have it (see KeySourceFn: thread-safe, never calling the store). It
  /// replaces keys given by sealing_key. An exception it throws never reaches the
  /// library: it counts as "no such key" (the call that needed the key throws
  /// KeyUnavailable). These options and every Store opened with them keep it alive. An
  /// empty `fn` throws NullArgument.
  Options& sealing_key_source(KeySourceFn fn) {
    if (!fn) {
      detail::check(hardstore_options_set_sealing_key_callback(p_.get(), nullptr, nullptr));
      return *this;
    }
    auto ctx = std::make_shared<detail::KeySourceCtx>(detail::KeySourceCtx{std::move(fn)});
    detail::check(hardstore_options_set_sealing_key_callback(
        p_.get(), &detail::key_source_trampoline, ctx.get()));
    key_source_ = std::move(ctx);
    return *this;
  }
  const hardstore_options* get() const noexcept { return p_.get(); }

 private:
  friend class Store;
  detail::Owned<hardstore_options, hardstore_options_free> p_;
  std::shared_ptr<const detail::KeySourceCtx> key_source_;
};

// ---------------------------------------------------------------------------------
// Audit
// ---------------------------------------------------------------------------------

/// An audit event being built. Setters chain and throw on bad input (the event is
/// unchanged then).
class AuditEvent {
 public:
  AuditEvent(std::string_view tenant, std::string_view action) {
    hardstore_audit_event* raw = nullptr;
    detail::check(hardstore_audit_event_new(detail::u8(tenant), tenant.size(),
                                            detail::u8(action), action.size(), &raw));
    p_.reset(raw);
  }
  AuditEvent& actor(std::string_view v) {
    detail::check(hardstore_audit_event_set_actor(p_.get(), detail::u8(v), v.size()));
    return *this;
  }
  AuditEvent& resource(std::string_view v) {
    detail::check(hardstore_audit_event_set_resource(p_.get(), detail::u8(v), v.size()));
    return *this;
  }
  AuditEvent& outcome(std::string_view v) {
    detail::check(hardstore_audit_event_set_outcome(p_.get(), detail::u8(v), v.size()));
    return *this;
  }
  AuditEvent& user_agent(std::string_view v) {
    detail::check(hardstore_audit_event_set_user_agent(p_.get(), detail::u8(v), v.size()));
    return *this;
  }
  AuditEvent& ip(std::string_view v) {
    detail::check(hardstore_audit_event_set_ip(p_.get(), detail::u8(v), v.size()));
    return *this;
  }
  AuditEvent& detail(std::string_view key, std::string_view value) {
    detail::check(hardstore_audit_event_add_detail(p_.get(), detail::u8(key), key.size(),
                                                   detail::u8(value), value.size()));
    return *this;
  }
  const hardstore_audit_event* get() const noexcept { return p_.get(); }

 private:
  detail::Owned<hardstore_audit_event, hardstore_audit_event_free> p_;
};

/// An audit entry read from the store (an owned copy). A pruned() entry (see
/// Audit::prune) keeps its seq, time, tenant, action and leaf hash; its actor,
/// resource, outcome, IP, user agent and details are empty.
struct AuditEntry {
  uint64_t seq = 0;
  uint64_t time_us = 0;
  std::string tenant, actor, action, resource, outcome, ip, user_agent;
  std::vector<std::pair<std::string, std::string>> details;
  Hash leaf_hash{};
  bool pruned_ = false;  // set when read; read it with pruned()

  /// Whether retention pruned the entry's payload.
  bool pruned() const noexcept { return pruned_; }
};

/// What a prune takes: entries with a seq below the value, or entries appended at least
/// the value (microseconds, by the store's clock) ago.
enum class PruneBy : uint32_t {
  BelowSeq = HARDSTORE_PRUNE_BELOW_SEQ,
  OlderThan = HARDSTORE_PRUNE_OLDER_THAN,
};

/// The entries a prune would take: `from` (where pruning stopped before) to `to`
/// (exclusive).
struct PruneRange {
  uint64_t from = 0;
  uint64_t to = 0;
  uint64_t count() const noexcept { return to > from ? to - from : 0; }
};

/// What an append returns: the entry's seq and its Merkle leaf hash.
struct AuditReceipt {
  uint64_t seq = 0;
  Hash leaf_hash{};
};

/// A page of query results and the cursor of the next page (none: nothing more).
template <class T>
struct Page {
  std::vector<T> items;
  std::optional<std::vector<uint8_t>> next_cursor;
  bool has_more() const noexcept { return next_cursor.has_value(); }
};

/// An audit query: tenant required, oldest first, 100 a page unless set.
class AuditQuery {
 public:
  explicit AuditQuery(std::string_view tenant) {
    hardstore_audit_query* raw = nullptr;
    detail::check(hardstore_audit_query_new(detail::u8(tenant), tenant.size(), &raw));
    p_.reset(raw);
  }
  AuditQuery& actor(std::string_view v) {
    detail::check(hardstore_audit_query_set_actor(p_.get(), detail::u8(v), v.size()));
    return *this;
  }
  AuditQuery& action(std::string_view v) {
    detail::check(hardstore_audit_query_set_action(p_.get(), detail::u8(v), v.size()));
    return *this;
  }
  /// `from <= time < until`, microseconds (0 and UINT64_MAX: no bound).
  AuditQuery& time_range(uint64_t from, uint64_t until) {
    detail::check(hardstore_audit_query_set_time_range(p_.get(), from, until));
    return *this;
  }
  AuditQuery& newest_first(bool on = true) {
    detail::check(hardstore_audit_query_set_newest_first(p_.get(), on));
    return *this;
  }
  AuditQuery& limit(size_t n) {
    detail::check(hardstore_audit_query_set_limit(p_.get(), n));
    return *this;
  }
  AuditQuery& cursor(bytes_view c) {
    detail::check(hardstore_audit_query_set_cursor(p_.get(), c.data(), c.size()));
    return *this;
  }
  const hardstore_audit_query* get() const noexcept { return p_.get(); }

 private:
  detail::Owned<hardstore_audit_query, hardstore_audit_query_free> p_;
};

namespace detail {
inline std::string audit_field(const hardstore_audit_entry* e, uint32_t field) {
  const uint8_t* p = nullptr;
  size_t n = 0;
  check(hardstore_audit_entry_field(e, field, &p, &n));
  return str(p, n);
}

inline AuditEntry read_audit_entry(const hardstore_audit_entry* e) {
  AuditEntry out;
  out.seq = hardstore_audit_entry_seq(e);
  out.time_us = hardstore_audit_entry_time(e);
  out.tenant = audit_field(e, HARDSTORE_FIELD_TENANT);
  out.actor = audit_field(e, HARDSTORE_FIELD_ACTOR);
  out.action = audit_field(e, HARDSTORE_FIELD_ACTION);
  out.resource = audit_field(e, HARDSTORE_FIELD_RESOURCE);
  out.outcome = audit_field(e, HARDSTORE_FIELD_OUTCOME);
  out.ip = audit_field(e, HARDSTORE_FIELD_IP);
  out.user_agent = audit_field(e, HARDSTORE_FIELD_USER_AGENT);
  size_t n = hardstore_audit_entry_detail_count(e);
  out.details.reserve(n);
  for (size_t i = 0; i < n; i++) {
    const uint8_t *k = nullptr, *v = nullptr;
    size_t kl = 0, vl = 0;
    check(hardstore_audit_entry_detail(e, i, &k, &kl, &v, &vl));
    out.details.emplace_back(str(k, kl), str(v, vl));
  }
  check(hardstore_audit_entry_leaf_hash(e, out.leaf_hash.data()));
  out.pruned_ = hardstore_audit_entry_pruned(e);
  return out;
}

inline std::optional<std::vector<uint8_t>> cursor_of(const Bytes& b) {
  if (!b) return std::nullopt;
  return b.to_vector();
}
}  // namespace detail

/// A new checkpoint and the consistency proof from an older one to it.
struct ProofSince {
  std::vector<uint8_t> checkpoint;
  std::vector<uint8_t> proof;
};

/// An Ed25519 note key: a log's (signs checkpoints) or a witness's (cosigns them).
/// Its skey() text is a secret; its vkey() text is what verifiers are given.
class NoteSigner {
 public:
  /// A new key named `name` (no spaces, no '+') from the OS's CSPRNG.
  static NoteSigner generate(std::string_view name, bool witness = false) {
    NoteSigner k;
    detail::check(hardstore_note_signer_generate(detail::u8(name), name.size(), witness,
                                                 detail::out(k.p_)));
    return k;
  }
  /// The key of a `PRIVATE+KEY+...` text.
  static NoteSigner from_skey(std::string_view skey) {
    NoteSigner k;
    detail::check(
        hardstore_note_signer_from_skey(detail::u8(skey), skey.size(), detail::out(k.p_)));
    return k;
  }
  std::string skey() const {
    return detail::take_bytes([&](hardstore_bytes** o) {
             return hardstore_note_signer_skey(p_.get(), o);
           }).to_string();
  }
  std::string vkey() const {
    return detail::take_bytes([&](hardstore_bytes** o) {
             return hardstore_note_signer_vkey(p_.get(), o);
           }).to_string();
  }
  const hardstore_note_signer* get() const noexcept { return p_.get(); }

 private:
  NoteSigner() = default;
  detail::Owned<hardstore_note_signer, hardstore_note_signer_free> p_;
};

/// The audit log of a store (a view: must not outlive the Store).
class Audit {
 public:
  explicit Audit(const hardstore_store* s) noexcept : s_(s) {}

  AuditReceipt append(const AuditEvent& event, Durability d = Durability::Durable) const {
    AuditReceipt r;
    detail::check(hardstore_audit_append(s_, event.get(), static_cast<uint32_t>(d), &r.seq,
                                         r.leaf_hash.data()));
    return r;
  }
  uint64_t size() const {
    uint64_t n = 0;
    detail::check(hardstore_audit_size(s_, &n));
    return n;
  }
  /// The Merkle root of the first `size` entries.
  Hash root(uint64_t size) const {
    Hash h{};
    detail::check(hardstore_audit_root(s_, size, h.data()));
    return h;
  }
  /// Entry `seq`; NotFound past the end.
  AuditEntry get(uint64_t seq) const {
    detail::Owned<hardstore_audit_entry, hardstore_audit_entry_free> e;
    detail::check(hardstore_audit_get(s_, seq, detail::out(e)));
    return detail::read_audit_entry(e.get());
  }
  /// One page of what `q` matches (follow next_cursor with q.cursor()).
  Page<AuditEntry> query(const AuditQuery& q) const {
    detail::Owned<hardstore_audit_iter, hardstore_audit_iter_free> it;
    detail::check(hardstore_audit_query_run(s_, q.get(), detail::out(it)));
    Page<AuditEntry> page;
    for (;;) {
      const hardstore_audit_entry* e = nullptr;
      detail::check(hardstore_audit_iter_next(it.get(), &e));
      if (!e) break;
      page.items.push_back(detail::read_audit_entry(e));
    }
    Bytes c = detail::take_bytes(
        [&](hardstore_bytes** o) { return hardstore_audit_iter_cursor(it.get(), o); });
    page.next_cursor = detail::cursor_of(c);
    return page;
  }
  /// Writes what `q` matches (from its cursor on) to `path` as JSON Lines; the count.
  uint64_t export_jsonl(const AuditQuery& q, std::string_view path) const {
    uint64_t n = 0;
    detail::check(
        hardstore_audit_export_jsonl(s_, q.get(), detail::u8(path), path.size(), &n));
    return n;
  }
  std::vector<uint8_t> inclusion_proof(uint64_t seq, uint64_t tree_size) const {
    return detail::take_bytes([&](hardstore_bytes** o) {
             return hardstore_audit_inclusion_proof(s_, seq, tree_size, o);
           })
        .to_vector();
  }
  std::vector<uint8_t> consistency_proof(uint64_t old_size, uint64_t new_size) const {
    return detail::take_bytes([&](hardstore_bytes** o) {
             return hardstore_audit_consistency_proof(s_, old_size, new_size, o);
           })
        .to_vector();
  }
  /// A checkpoint (HARDSTORE_CHECKPOINT_LEN bytes; MAC'd when the store has a key).
  std::vector<uint8_t> checkpoint() const {
    return detail::take_bytes(
               [&](hardstore_bytes** o) { return hardstore_audit_checkpoint(s_, o); })
        .to_vector();
  }
  /// A new checkpoint and the consistency proof from `old_checkpoint` to it.
  ProofSince prove_since(bytes_view old_checkpoint) const {
    hardstore_bytes* cp = nullptr;
    hardstore_bytes* proof = nullptr;
    hardstore_result r = hardstore_audit_prove_since(s_, old_checkpoint.data(),
                                                     old_checkpoint.size(), &cp, &proof);
    Bytes cpb(cp), proofb(proof);
    detail::check(r);
    return ProofSince{cpb.to_vector(), proofb.to_vector()};
  }
  /// Recomputes every hash. A log that fails is reported (ok false), not thrown.
  VerifyReport verify() const {
    VerifyReport r{};
    detail::check(hardstore_audit_verify(s_, &r));
    return r;
  }

  // Retention: pruning the payloads of the oldest entries, keeping their leaf hashes
  // (the root, checkpoints, proofs and verify stay valid), after archiving them.

  /// The entries prune(by, value) would take now. Changes nothing.
  PruneRange prunable(PruneBy by, uint64_t value) const {
    PruneRange r;
    detail::check(hardstore_audit_prunable(s_, static_cast<uint32_t>(by), value, &r.from, &r.to));
    return r;
  }
  /// Prunes the payloads of the entries prunable(by, value) names, durably and audited
  /// (`audit.prune`). More than `confirm` entries throws ConfirmationRequired (the
  /// message names the count) and changes nothing. Returns how many it pruned.
  uint64_t prune(PruneBy by, uint64_t value, uint64_t confirm = 0) const {
    uint64_t n = 0;
    detail::check(hardstore_audit_prune(s_, static_cast<uint32_t>(by), value, confirm, &n));
    return n;
  }
  /// The bound below which every entry is pruned (0: none is).
  uint64_t pruned_below() const {
    uint64_t seq = 0;
    detail::check(hardstore_audit_pruned_below(s_, &seq));
    return seq;
  }
  /// Writes entries `from..to` to a NEW file at `path` as a JSON Lines archive: a header
  /// line (`archive`, `store_id`, `size`, `root`, `checkpoint`, `from`, `to`), then one
  /// line per entry with its `leaf_hash` and `inclusion_proof` (hex hashes) against
  /// `size`. An existing file throws IoError and is never replaced; a range outside the
  /// log throws InvalidArgument. Returns the entries written.
  uint64_t export_archive(uint64_t from, uint64_t to, std::string_view path) const {
    uint64_t n = 0;
    detail::check(
        hardstore_audit_export_archive(s_, from, to, detail::u8(path), path.size(), &n));
    return n;
  }

  /// The tree's hash (HARDSTORE_AUDIT_HASH_*), fixed when the store was created.
  uint32_t hash() const {
    uint32_t h = 0;
    detail::check(hardstore_audit_hash(s_, &h));
    return h;
  }
  /// The bytes entry `seq`'s leaf hash covers (docs/audit-entry-encoding.md). NotFound
  /// for a pruned entry.
  std::vector<uint8_t> leaf_bytes(uint64_t seq) const {
    hardstore_audit_entry* raw = nullptr;
    detail::check(hardstore_audit_get(s_, seq, &raw));
    detail::Owned<hardstore_audit_entry, hardstore_audit_entry_free> e(raw);
    return detail::take_bytes([&](hardstore_bytes** o) {
             return hardstore_audit_entry_leaf_bytes(e.get(), o);
           }).to_vector();
  }
  /// The log's size and root as a C2SP checkpoint note signed by `log` (its name is
  /// the origin).
  std::string sign_checkpoint(const NoteSigner& log) const {
    return detail::take_bytes([&](hardstore_bytes** o) {
             return hardstore_audit_checkpoint_sign(s_, log.get(), o);
           }).to_string();
  }
  /// A tlog-proof that entry `seq` is in the tree of checkpoint `note` of this log.
  std::string proof_bundle(uint64_t seq, std::string_view note) const {
    return detail::take_bytes([&](hardstore_bytes** o) {
             return hardstore_audit_proof_bundle(s_, seq, detail::u8(note), note.size(), o);
           }).to_string();
  }

 private:
  const hardstore_store* s_;
};

// ---------------------------------------------------------------------------------
// Signed checkpoints (C2SP signed-note, tlog-checkpoint, tlog-cosignature, tlog-proof)
// ---------------------------------------------------------------------------------

/// What verify_checkpoint_note proved.
struct VerifiedCheckpoint {
  uint64_t size = 0;
  Hash root{};
  size_t cosigned = 0;
};

/// The checkpoint note with `witness`'s cosignature at `time` (seconds) added.
inline std::string cosign_checkpoint_note(std::string_view note, const NoteSigner& witness,
                                          uint64_t time) {
  return detail::take_bytes([&](hardstore_bytes** o) {
           return hardstore_checkpoint_note_cosign(detail::u8(note), note.size(), witness.get(),
                                                   time, o);
         }).to_string();
}

/// Checks a checkpoint note: the log's signature and `quorum` cosignatures of
/// `witness_vkeys` (vkey lines). Throws SignatureInvalid / CheckpointInvalid.
inline VerifiedCheckpoint verify_checkpoint_note(std::string_view note, std::string_view log_vkey,
                                                 std::string_view witness_vkeys = {},
                                                 size_t quorum = 0) {
  VerifiedCheckpoint v;
  detail::check(hardstore_checkpoint_note_verify(
      detail::u8(note), note.size(), detail::u8(log_vkey), log_vkey.size(),
      detail::u8(witness_vkeys), witness_vkeys.size(), quorum, &v.size, v.root.data(),
      &v.cosigned));
  return v;
}

/// Verifies a tlog-proof bundle offline; returns (index, leaf bytes).
inline std::pair<uint64_t, std::vector<uint8_t>> verify_proof_bundle(
    std::string_view bundle, std::string_view log_vkey, std::string_view witness_vkeys,
    size_t quorum, uint32_t hash) {
  uint64_t index = 0;
  Bytes leaf = detail::take_bytes([&](hardstore_bytes** o) {
    return hardstore_proof_bundle_verify(detail::u8(bundle), bundle.size(), detail::u8(log_vkey),
                                         log_vkey.size(), detail::u8(witness_vkeys),
                                         witness_vkeys.size(), quorum, hash, &index, o);
  });
  return {index, leaf.to_vector()};
}

/// Whether `leaf` is leaf `index` of the tree of `tree_size` leaves with `root`.
/// False for a proof that does not verify (or has the wrong length); other errors throw.
/// `hash` is the tree's (HARDSTORE_AUDIT_HASH_*; Audit::hash() says a store's).
inline bool verify_inclusion(hash_view leaf, uint64_t index, uint64_t tree_size,
                             bytes_view proof, hash_view root,
                             uint32_t hash = HARDSTORE_AUDIT_HASH_BLAKE3) {
  hardstore_result r = hardstore_verify_inclusion_with_hash(
      hash, leaf.data(), index, tree_size, proof.data(), proof.size(), root.data());
  if (r == HARDSTORE_PROOF_INVALID) return false;
  detail::check(r);
  return true;
}

/// Whether the tree (`new_size`, `new_root`) extends (`old_size`, `old_root`).
inline bool verify_consistency(uint64_t old_size, uint64_t new_size, hash_view old_root,
                               hash_view new_root, bytes_view proof,
                               uint32_t hash = HARDSTORE_AUDIT_HASH_BLAKE3) {
  hardstore_result r = hardstore_verify_consistency_with_hash(
      hash, old_size, new_size, old_root.data(), new_root.data(), proof.data(), proof.size());
  if (r == HARDSTORE_PROOF_INVALID) return false;
  detail::check(r);
  return true;
}

/// The length an inclusion proof for (`index`, `tree_size`) has.
inline size_t inclusion_proof_len(uint64_t index, uint64_t tree_size) {
  size_t n = 0;
  detail::check(hardstore_inclusion_proof_len(index, tree_size, &n));
  return n;
}

/// A checkpoint's fields (its MAC is not checked). CheckpointInvalid if malformed.
inline CheckpointInfo parse_checkpoint(bytes_view checkpoint) {
  CheckpointInfo info{};
  detail::check(hardstore_checkpoint_parse(checkpoint.data(), checkpoint.size(), &info));
  return info;
}

/// Whether the checkpoint's MAC matches `key` (false too when it has none).
inline bool verify_checkpoint_mac(bytes_view checkpoint, bytes_view key) {
  hardstore_result r = hardstore_checkpoint_verify_mac(checkpoint.data(), checkpoint.size(),
                                                       key.data(), key.size());
  if (r == HARDSTORE_CHECKPOINT_INVALID) return false;
  detail::check(r);
  return true;
}

// ---------------------------------------------------------------------------------
// Logs
// ---------------------------------------------------------------------------------

/// A log record being built. Setters chain and throw on bad input.
class LogRecord {
 public:
  LogRecord(Level level, std::string_view message) {
    hardstore_log_record* raw = nullptr;
    detail::check(hardstore_log_record_new(static_cast<uint32_t>(level), detail::u8(message),
                                           message.size(), &raw));
    p_.reset(raw);
  }
  LogRecord& target(std::string_view v) {
    detail::check(hardstore_log_record_set_target(p_.get(), detail::u8(v), v.size()));
    return *this;
  }
  LogRecord& tenant(std::string_view v) {
    detail::check(hardstore_log_record_set_tenant(p_.get(), detail::u8(v), v.size()));
    return *this;
  }
  LogRecord& user(std::string_view v) {
    detail::check(hardstore_log_record_set_user(p_.get(), detail::u8(v), v.size()));
    return *this;
  }
  LogRecord& endpoint(std::string_view v) {
    detail::check(hardstore_log_record_set_endpoint(p_.get(), detail::u8(v), v.size()));
    return *this;
  }
  LogRecord& status(uint16_t s) {
    detail::check(hardstore_log_record_set_status(p_.get(), s));
    return *this;
  }
  LogRecord& duration_us(uint64_t us) {
    detail::check(hardstore_log_record_set_duration_us(p_.get(), us));
    return *this;
  }
  LogRecord& error(std::string_view message) {
    detail::check(
        hardstore_log_record_set_error(p_.get(), detail::u8(message), message.size()));
    return *this;
  }
  LogRecord& cause(std::string_view cause) {
    detail::check(hardstore_log_record_add_cause(p_.get(), detail::u8(cause), cause.size()));
    return *this;
  }
  LogRecord& field(std::string_view key, std::string_view value) {
    detail::check(hardstore_log_record_add_field(p_.get(), detail::u8(key), key.size(),
                                                 detail::u8(value), value.size()));
    return *this;
  }
  const hardstore_log_record* get() const noexcept { return p_.get(); }

 private:
  detail::Owned<hardstore_log_record, hardstore_log_record_free> p_;
};

/// A log entry read from the ring (an owned copy).
struct LogEntry {
  uint64_t seq = 0;
  uint64_t time_us = 0;
  Level level = Level::Trace;
  std::string message, target, tenant, user, endpoint;
  std::string error;  // empty when the entry has no error
  std::optional<uint16_t> status;
  std::optional<uint64_t> duration_us;
  std::vector<std::string> causes;
  std::vector<std::pair<std::string, std::string>> fields;
};

/// A logs query: every entry, newest first, 100 a page unless set.
class LogsQuery {
 public:
  LogsQuery() {
    hardstore_logs_query* raw = nullptr;
    detail::check(hardstore_logs_query_new(&raw));
    p_.reset(raw);
  }
  LogsQuery& min_level(Level l) {
    detail::check(hardstore_logs_query_set_min_level(p_.get(), static_cast<uint32_t>(l)));
    return *this;
  }
  LogsQuery& tenant(std::string_view v) {
    detail::check(hardstore_logs_query_set_tenant(p_.get(), detail::u8(v), v.size()));
    return *this;
  }
  LogsQuery& user(std::string_view v) {
    detail::check(hardstore_logs_query_set_user(p_.get(), detail::u8(v), v.size()));
    return *this;
  }
  LogsQuery& endpoint(std::string_view v) {
    detail::check(hardstore_logs_query_set_endpoint(p_.get(), detail::u8(v), v.size()));
    return *this;
  }
  LogsQuery& text(std::string_view v) {
    detail::check(hardstore_logs_query_set_text(p_.get(), detail::u8(v), v.size()));
    return *this;
  }
  LogsQuery& time_range(uint64_t from, uint64_t until) {
    detail::check(hardstore_logs_query_set_time_range(p_.get(), from, until));
    return *this;
  }
  LogsQuery& oldest_first(bool on = true) {
    detail::check(hardstore_logs_query_set_oldest_first(p_.get(), on));
    return *this;
  }
  LogsQuery& limit(size_t n) {
    detail::check(hardstore_logs_query_set_limit(p_.get(), n));
    return *this;
  }
  LogsQuery& cursor(bytes_view c) {
    detail::check(hardstore_logs_query_set_cursor(p_.get(), c.data(), c.size()));
    return *this;
  }
  const hardstore_logs_query* get() const noexcept { return p_.get(); }

 private:
  detail::Owned<hardstore_logs_query, hardstore_logs_query_free> p_;
};

/// One endpoint's figures.
struct EndpointStats {
  std::string endpoint;
  uint64_t count = 0;
  uint64_t errors = 0;
  bool has_duration = false;
  double mean_duration_us = 0;
  uint64_t p95_duration_us = 0;
};

/// Stats over a window of the ring.
struct LogStats {
  LogTotals totals{};
  std::vector<EndpointStats> endpoints;  // sorted by name
};

/// The live seq range of the ring: it holds [oldest, next).
struct LogRange {
  uint64_t oldest = 0;
  uint64_t next = 0;
};

namespace detail {
inline std::string log_field(const hardstore_log_entry* e, uint32_t field) {
  const uint8_t* p = nullptr;
  size_t n = 0;
  check(hardstore_log_entry_field(e, field, &p, &n));
  return str(p, n);
}

inline LogEntry read_log_entry(const hardstore_log_entry* e) {
  LogEntry out;
  out.seq = hardstore_log_entry_seq(e);
  out.time_us = hardstore_log_entry_time(e);
  out.level = static_cast<Level>(hardstore_log_entry_level(e));
  out.message = log_field(e, HARDSTORE_LOG_MESSAGE);
  out.target = log_field(e, HARDSTORE_LOG_TARGET);
  out.tenant = log_field(e, HARDSTORE_LOG_TENANT);
  out.user = log_field(e, HARDSTORE_LOG_USER);
  out.endpoint = log_field(e, HARDSTORE_LOG_ENDPOINT);
  out.error = log_field(e, HARDSTORE_LOG_ERROR);
  uint16_t status = 0;
  hardstore_result r = hardstore_log_entry_status(e, &status);
  if (r == HARDSTORE_OK) {
    out.status = status;
  } else if (r != HARDSTORE_NOT_FOUND) {
    check(r);
  }
  uint64_t d = 0;
  r = hardstore_log_entry_duration_us(e, &d);
  if (r == HARDSTORE_OK) {
    out.duration_us = d;
  } else if (r != HARDSTORE_NOT_FOUND) {
    check(r);
  }
  size_t nc = hardstore_log_entry_cause_count(e);
  for (size_t i = 0; i < nc; i++) {
    const uint8_t* p = nullptr;
    size_t n = 0;
    check(hardstore_log_entry_cause(e, i, &p, &n));
    out.causes.push_back(str(p, n));
  }
  size_t nf = hardstore_log_entry_field_count(e);
  for (size_t i = 0; i < nf; i++) {
    const uint8_t *k = nullptr, *v = nullptr;
    size_t kl = 0, vl = 0;
    check(hardstore_log_entry_kv(e, i, &k, &kl, &v, &vl));
    out.fields.emplace_back(str(k, kl), str(v, vl));
  }
  return out;
}
}  // namespace detail

/// The log ring of a store (a view: must not outlive the Store).
class Logs {
 public:
  explicit Logs(const hardstore_store* s) noexcept : s_(s) {}

  /// Appends a record; its seq.
  uint64_t append(const LogRecord& record, Durability d = Durability::Durable) const {
    uint64_t seq = 0;
    detail::check(hardstore_logs_append(s_, record.get(), static_cast<uint32_t>(d), &seq));
    return seq;
  }
  LogRange range() const {
    LogRange r;
    detail::check(hardstore_logs_range(s_, &r.oldest, &r.next));
    return r;
  }
  Page<LogEntry> query(const LogsQuery& q) const {
    detail::Owned<hardstore_logs_iter, hardstore_logs_iter_free> it;
    detail::check(hardstore_logs_query_run(s_, q.get(), detail::out(it)));
    Page<LogEntry> page;
    for (;;) {
      const hardstore_log_entry* e = nullptr;
      detail::check(hardstore_logs_iter_next(it.get(), &e));
      if (!e) break;
      page.items.push_back(detail::read_log_entry(e));
    }
    Bytes c = detail::take_bytes(
        [&](hardstore_bytes** o) { return hardstore_logs_iter_cursor(it.get(), o); });
    page.next_cursor = detail::cursor_of(c);
    return page;
  }
  /// Stats over entries with `from <= time < until` (0 and UINT64_MAX: no bound).
  LogStats stats(uint64_t from = 0, uint64_t until = UINT64_MAX) const {
    detail::Owned<hardstore_log_stats, hardstore_log_stats_free> st;
    detail::check(hardstore_logs_stats(s_, from, until, detail::out(st)));
    LogStats out;
    detail::check(hardstore_log_stats_totals(st.get(), &out.totals));
    for (size_t i = 0; i < out.totals.endpoints; i++) {
      hardstore_endpoint_stats ep{};
      detail::check(hardstore_log_stats_endpoint(st.get(), i, &ep));
      EndpointStats e;
      e.endpoint = detail::str(ep.endpoint, ep.endpoint_len);
      e.count = ep.count;
      e.errors = ep.errors;
      e.has_duration = ep.has_duration;
      e.mean_duration_us = ep.mean_duration_us;
      e.p95_duration_us = ep.p95_duration_us;
      out.endpoints.push_back(std::move(e));
    }
    return out;
  }

 private:
  const hardstore_store* s_;
};

// ---------------------------------------------------------------------------------
// Idempotency
// ---------------------------------------------------------------------------------

/// A recovery point an earlier holder saved.
struct IdemRecovery {
  std::string name;
  std::vector<uint8_t> data;
};

/// Proof of owning an idempotency key. Destroying it does not release the key.
class IdemToken {
 public:
  IdemToken() = default;
  explicit IdemToken(hardstore_idem_token* raw) noexcept : p_(raw) {}
  /// The fencing number.
  uint64_t fence() const noexcept { return hardstore_idem_token_fence(p_.get()); }
  /// The recovery point a crashed earlier holder saved, if any.
  std::optional<IdemRecovery> recovery() const {
    bool has = false;
    const uint8_t *name = nullptr, *data = nullptr;
    size_t name_len = 0, data_len = 0;
    detail::check(
        hardstore_idem_token_recovery(p_.get(), &has, &name, &name_len, &data, &data_len));
    if (!has) return std::nullopt;
    return IdemRecovery{detail::str(name, name_len), detail::vec(data, data_len)};
  }
  explicit operator bool() const noexcept { return p_ != nullptr; }
  const hardstore_idem_token* get() const noexcept { return p_.get(); }

 private:
  detail::Owned<hardstore_idem_token, hardstore_idem_token_free> p_;
};

/// A cached response (owned copy).
struct IdemResponse {
  std::vector<uint8_t> body;
  std::optional<uint16_t> status;
  bool failed = false;  // cached by a terminal failure rather than a completion
  std::string body_string() const { return detail::str(body.data(), body.size()); }
};

/// begin's four answers.
struct IdemStarted {
  IdemToken token;  // do the work, then complete, fail or release
};
struct IdemReplay {
  IdemResponse response;  // completed (or failed) before
};
struct IdemInProgress {
  uint64_t retry_after_us = 0;  // someone holds a live lease (HTTP 409)
};
struct IdemMismatch {};  // the key was used for a different request (HTTP 422)

using IdemBeginResult = std::variant<IdemStarted, IdemReplay, IdemInProgress, IdemMismatch>;

namespace detail {
inline std::optional<uint16_t> status_opt(bool has, uint16_t s) {
  return has ? std::optional<uint16_t>(s) : std::nullopt;
}
}  // namespace detail

/// Idempotency keys of a store (a view: must not outlive the Store).
class Idempotency {
 public:
  explicit Idempotency(const hardstore_store* s) noexcept : s_(s) {}

  /// Claims (tenant, key) for `request` with a lease of `lease_ms`.
  IdemBeginResult begin(std::string_view tenant, std::string_view key, bytes_view request,
                        uint64_t lease_ms = HARDSTORE_IDEM_DEFAULT_LEASE_MS) const {
    hardstore_idem_outcome outcome = HARDSTORE_IDEM_MISMATCH;
    hardstore_idem_token* token = nullptr;
    hardstore_idem_response* response = nullptr;
    uint64_t retry_after = 0;
    hardstore_result r = hardstore_idem_begin(
        s_, detail::u8(tenant), tenant.size(), detail::u8(key), key.size(), request.data(),
        request.size(), lease_ms, &outcome, &token, &response, &retry_after);
    IdemToken owned_token(token);
    detail::Owned<hardstore_idem_response, hardstore_idem_response_free> owned_resp(response);
    detail::check(r);
    switch (outcome) {
      case HARDSTORE_IDEM_STARTED:
        return IdemStarted{std::move(owned_token)};
      case HARDSTORE_IDEM_REPLAY: {
        const uint8_t* body = nullptr;
        size_t len = 0;
        bool has_status = false, failed = false;
        uint16_t status = 0;
        detail::check(hardstore_idem_response_get(owned_resp.get(), &body, &len, &has_status,
                                                  &status, &failed));
        IdemReplay rep;
        rep.response.body = detail::vec(body, len);
        rep.response.status = detail::status_opt(has_status, status);
        rep.response.failed = failed;
        return rep;
      }
      case HARDSTORE_IDEM_IN_PROGRESS:
        return IdemInProgress{retry_after};
      case HARDSTORE_IDEM_MISMATCH:
        break;
    }
    return IdemMismatch{};
  }
  /// Caches the response durably; Fenced if the holder was fenced off.
  void complete(const IdemToken& t, std::optional<uint16_t> status, bytes_view body) const {
    detail::check(hardstore_idem_complete(s_, t.get(), status.has_value(), status.value_or(0),
                                          body.data(), body.size()));
  }
  /// Caches a terminal failure durably; Fenced if the holder was fenced off.
  void fail(const IdemToken& t, std::optional<uint16_t> status, bytes_view body) const {
    detail::check(hardstore_idem_fail(s_, t.get(), status.has_value(), status.value_or(0),
                                      body.data(), body.size()));
  }
  /// Frees the key so a retry starts afresh.
  void release(const IdemToken& t) const { detail::check(hardstore_idem_release(s_, t.get())); }
  /// Ends the lease now, keeping the key and its recovery point.
  void abandon(const IdemToken& t) const { detail::check(hardstore_idem_abandon(s_, t.get())); }
  /// Extends the lease to `lease_ms` from now.
  void renew(const IdemToken& t, uint64_t lease_ms) const {
    detail::check(hardstore_idem_renew(s_, t.get(), lease_ms));
  }
  void save_recovery(const IdemToken& t, std::string_view name, bytes_view data) const {
    detail::check(hardstore_idem_save_recovery(s_, t.get(), detail::u8(name), name.size(),
                                               data.data(), data.size()));
  }
  /// Deletes up to `limit` expired keys; how many.
  size_t purge_expired(size_t limit) const {
    size_t n = 0;
    detail::check(hardstore_idem_purge_expired(s_, limit, &n));
    return n;
  }
  /// A key's state, if it exists and has not expired.
  std::optional<IdemInfo> get(std::string_view tenant, std::string_view key) const {
    bool found = false;
    IdemInfo info{};
    detail::check(hardstore_idem_get(s_, detail::u8(tenant), tenant.size(), detail::u8(key),
                                     key.size(), &found, &info));
    if (!found) return std::nullopt;
    return info;
  }

 private:
  const hardstore_store* s_;
};

// ---------------------------------------------------------------------------------
// App state (key/value)
// ---------------------------------------------------------------------------------

/// The app-state table of a store (a view: must not outlive the Store).
class AppState {
 public:
  explicit AppState(const hardstore_store* s) noexcept : s_(s) {}

  void put(std::string_view ns, bytes_view key, bytes_view value,
           Durability d = Durability::Durable) const {
    detail::check(hardstore_kv_put(s_, detail::u8(ns), ns.size(), key.data(), key.size(),
                                   value.data(), value.size(), static_cast<uint32_t>(d)));
  }
  /// Deletes (ns, key); whether it existed.
  bool remove(std::string_view ns, bytes_view key, Durability d = Durability::Durable) const {
    bool existed = false;
    detail::check(hardstore_kv_delete(s_, detail::u8(ns), ns.size(), key.data(), key.size(),
                                      static_cast<uint32_t>(d), &existed));
    return existed;
  }
  std::optional<std::vector<uint8_t>> get(std::string_view ns, bytes_view key) const {
    bool found = false;
    Bytes value = detail::take_bytes([&](hardstore_bytes** o) {
      return hardstore_kv_get(s_, detail::u8(ns), ns.size(), key.data(), key.size(), &found,
                              o);
    });
    if (!found) return std::nullopt;
    return value.to_vector();
  }
  /// get, as text.
  std::optional<std::string> get_string(std::string_view ns, bytes_view key) const {
    auto v = get(ns, key);
    if (!v) return std::nullopt;
    return detail::str(v->data(), v->size());
  }

 private:
  const hardstore_store* s_;
};

// ---------------------------------------------------------------------------------
// Dead letters
// ---------------------------------------------------------------------------------

/// A dead letter to record. Views: the strings and bytes must outlive the call.
struct NewDeadLetter {
  std::string_view tenant;
  std::string_view kind;  // 1..=128 bytes
  bytes_view payload;
  std::string_view error;       // empty: none
  uint32_t max_attempts = 0;    // 0: the store's default
  uint64_t first_attempt_at = 0;  // 0: due now
  bool permanent = false;         // recorded Dead at once
};

/// A claimed item, borrowed from its DlqClaims list (valid while the list lives).
class DlqClaim {
 public:
  explicit DlqClaim(const hardstore_dlq_claim* c) noexcept : c_(c) {}
  uint64_t id() const noexcept { return hardstore_dlq_claim_id(c_); }
  uint32_t attempt() const noexcept { return hardstore_dlq_claim_attempt(c_); }
  uint32_t max_attempts() const noexcept { return hardstore_dlq_claim_max_attempts(c_); }
  uint64_t lease_until() const noexcept { return hardstore_dlq_claim_lease_until(c_); }
  std::string tenant() const { return field_string(HARDSTORE_DLQ_TENANT); }
  std::string kind() const { return field_string(HARDSTORE_DLQ_KIND); }
  std::vector<uint8_t> payload() const {
    bytes_view v = field(HARDSTORE_DLQ_PAYLOAD);
    return v.to_vector();
  }
  /// A raw field (`HARDSTORE_DLQ_TENANT`, `_KIND`, `_PAYLOAD`), borrowed.
  bytes_view field(uint32_t which) const {
    const uint8_t* p = nullptr;
    size_t n = 0;
    detail::check(hardstore_dlq_claim_field(c_, which, &p, &n));
    return bytes_view(p, n);
  }
  const hardstore_dlq_claim* get() const noexcept { return c_; }

 private:
  std::string field_string(uint32_t which) const {
    bytes_view v = field(which);
    return detail::str(v.data(), v.size());
  }
  const hardstore_dlq_claim* c_;
};

/// The items one claim_due leased (owns them; the DlqClaim views borrow from it).
class DlqClaims {
 public:
  DlqClaims() = default;
  explicit DlqClaims(hardstore_dlq_claims* raw) noexcept : p_(raw) {}
  size_t size() const noexcept { return hardstore_dlq_claims_len(p_.get()); }
  bool empty() const noexcept { return size() == 0; }
  /// Claim `i`; NotFound past the last.
  DlqClaim at(size_t i) const {
    const hardstore_dlq_claim* c = nullptr;
    detail::check(hardstore_dlq_claims_get(p_.get(), i, &c));
    return DlqClaim(c);
  }
  DlqClaim operator[](size_t i) const { return at(i); }

  class iterator {
   public:
    iterator(const DlqClaims* list, size_t i) noexcept : list_(list), i_(i) {}
    DlqClaim operator*() const { return list_->at(i_); }
    iterator& operator++() noexcept {
      ++i_;
      return *this;
    }
    bool operator==(const iterator& o) const noexcept { return i_ == o.i_; }
    bool operator!=(const iterator& o) const noexcept { return i_ != o.i_; }

   private:
    const DlqClaims* list_;
    size_t i_;
  };
  iterator begin() const noexcept { return iterator(this, 0); }
  iterator end() const noexcept { return iterator(this, size()); }

 private:
  detail::Owned<hardstore_dlq_claims, hardstore_dlq_claims_free> p_;
};

/// One failure of an item's history.
struct DlqAttempt {
  uint32_t attempt = 0;  // 0: the failure that made it a dead letter
  uint64_t at_us = 0;
  bool retryable = false;
  std::string error;
};

/// A dead letter with its history (an owned copy).
struct DlqItem {
  uint64_t id = 0;
  DlqState state = DlqState::Pending;
  uint32_t attempts = 0;
  uint32_t max_attempts = 0;
  uint32_t redrives = 0;
  uint64_t created_us = 0;
  uint64_t time_us = 0;  // due (Pending), lease end (Leased), finished (Done, Dead)
  std::string tenant, kind;
  std::vector<uint8_t> payload;
  std::string last_error;
  std::vector<DlqAttempt> history;
};

/// What fail() did: rescheduled (Pending, next_attempt_at) or Dead (next 0).
struct DlqFailResult {
  DlqState state = DlqState::Pending;
  uint64_t next_attempt_at = 0;
};

/// A dead-letter list query: every item, in id order, 100 a page unless set.
class DlqQuery {
 public:
  DlqQuery() {
    hardstore_dlq_query* raw = nullptr;
    detail::check(hardstore_dlq_query_new(&raw));
    p_.reset(raw);
  }
  DlqQuery& state(DlqState s) {
    detail::check(hardstore_dlq_query_set_state(p_.get(), static_cast<uint32_t>(s)));
    return *this;
  }
  DlqQuery& kind(std::string_view v) {
    detail::check(hardstore_dlq_query_set_kind(p_.get(), detail::u8(v), v.size()));
    return *this;
  }
  DlqQuery& tenant(std::string_view v) {
    detail::check(hardstore_dlq_query_set_tenant(p_.get(), detail::u8(v), v.size()));
    return *this;
  }
  DlqQuery& time_range(uint64_t from, uint64_t until) {
    detail::check(hardstore_dlq_query_set_time_range(p_.get(), from, until));
    return *this;
  }
  DlqQuery& limit(size_t n) {
    detail::check(hardstore_dlq_query_set_limit(p_.get(), n));
    return *this;
  }
  DlqQuery& cursor(bytes_view c) {
    detail::check(hardstore_dlq_query_set_cursor(p_.get(), c.data(), c.size()));
    return *this;
  }
  const hardstore_dlq_query* get() const noexcept { return p_.get(); }

 private:
  detail::Owned<hardstore_dlq_query, hardstore_dlq_query_free> p_;
};

/// What the retry operation answers for one try.
struct DlqOpResult {
  uint32_t code = HARDSTORE_DLQ_OP_OK;  // HARDSTORE_DLQ_OP_*
  std::string message;                  // why it failed (at most 4096 bytes are kept)
  static DlqOpResult ok() { return DlqOpResult{HARDSTORE_DLQ_OP_OK, std::string()}; }
  static DlqOpResult retry(std::string msg) {
    return DlqOpResult{HARDSTORE_DLQ_OP_RETRY, std::move(msg)};
  }
  static DlqOpResult permanent(std::string msg) {
    return DlqOpResult{HARDSTORE_DLQ_OP_PERMANENT, std::move(msg)};
  }
};

/// The retry operation: given the try's number (from 1).
using DlqOp = std::function<DlqOpResult(uint32_t attempt)>;

/// What retry() did.
struct DlqRetryResult {
  bool succeeded = false;    // HARDSTORE_DLQ_RETRY_SUCCEEDED, else dead-lettered
  uint32_t attempts = 0;     // tries made
  uint64_t dead_letter = 0;  // the dead letter's id (0 when it succeeded)
};

namespace detail {
inline std::string dlq_item_field(const hardstore_dlq_item* item, uint32_t field) {
  const uint8_t* p = nullptr;
  size_t n = 0;
  check(hardstore_dlq_item_field(item, field, &p, &n));
  return str(p, n);
}

inline DlqItem read_dlq_item(const hardstore_dlq_item* item) {
  DlqItem out;
  out.id = hardstore_dlq_item_id(item);
  out.state = static_cast<DlqState>(hardstore_dlq_item_state(item));
  out.attempts = hardstore_dlq_item_attempts(item);
  out.max_attempts = hardstore_dlq_item_max_attempts(item);
  out.redrives = hardstore_dlq_item_redrives(item);
  out.created_us = hardstore_dlq_item_created(item);
  check(hardstore_dlq_item_time(item, &out.time_us));
  out.tenant = dlq_item_field(item, HARDSTORE_DLQ_TENANT);
  out.kind = dlq_item_field(item, HARDSTORE_DLQ_KIND);
  const uint8_t* p = nullptr;
  size_t n = 0;
  check(hardstore_dlq_item_field(item, HARDSTORE_DLQ_PAYLOAD, &p, &n));
  out.payload = vec(p, n);
  out.last_error = dlq_item_field(item, HARDSTORE_DLQ_LAST_ERROR);
  size_t h = hardstore_dlq_item_history_len(item);
  for (size_t i = 0; i < h; i++) {
    hardstore_dlq_attempt a{};
    check(hardstore_dlq_item_history(item, i, &a));
    out.history.push_back(DlqAttempt{a.attempt, a.at, a.retryable, str(a.error, a.error_len)});
  }
  return out;
}

inline uint32_t dlq_op_trampoline(void* userdata, uint32_t attempt, uint8_t* buf, size_t cap,
                                  size_t* out_len) noexcept {
  const DlqOp& op = *static_cast<const DlqOp*>(userdata);
  DlqOpResult r;
  try {
    r = op(attempt);
  } catch (const std::exception& e) {
    r.code = HARDSTORE_DLQ_OP_PERMANENT;
    r.message = e.what();
  } catch (...) {
    r.code = HARDSTORE_DLQ_OP_PERMANENT;
    r.message = "an unknown C++ exception";
  }
  if (r.code != HARDSTORE_DLQ_OP_OK && buf != nullptr && out_len != nullptr) {
    size_t n = r.message.size() < cap ? r.message.size() : cap;
    if (n > 0) std::memcpy(buf, r.message.data(), n);
    *out_len = n;
  }
  return r.code;
}
}  // namespace detail

/// Dead letters of a store (a view: must not outlive the Store).
class DeadLetters {
 public:
  explicit DeadLetters(const hardstore_store* s) noexcept : s_(s) {}

  /// Records a dead letter; its id.
  uint64_t record(const NewDeadLetter& dl, Durability d = Durability::Durable) const {
    uint64_t id = 0;
    detail::check(hardstore_dlq_record(
        s_, detail::u8(dl.tenant), dl.tenant.size(), detail::u8(dl.kind), dl.kind.size(),
        dl.payload.data(), dl.payload.size(), detail::u8(dl.error), dl.error.size(),
        dl.max_attempts, dl.first_attempt_at, dl.permanent, static_cast<uint32_t>(d), &id));
    return id;
  }
  /// Leases up to `limit` due items for `lease_us`.
  DlqClaims claim_due(size_t limit, uint64_t lease_us) const {
    hardstore_dlq_claims* raw = nullptr;
    hardstore_result r = hardstore_dlq_claim_due(s_, limit, lease_us, &raw);
    DlqClaims claims(raw);
    detail::check(r);
    return claims;
  }
  /// Marks a claimed item Done; Fenced if the lease is no longer held.
  void ack(const DlqClaim& c) const { detail::check(hardstore_dlq_ack(s_, c.get())); }
  /// Records a claimed item's failure; Fenced if the lease is no longer held.
  DlqFailResult fail(const DlqClaim& c, std::string_view error, bool retryable) const {
    uint32_t state = 0;
    DlqFailResult out;
    detail::check(hardstore_dlq_fail(s_, c.get(), detail::u8(error), error.size(), retryable,
                                     &state, &out.next_attempt_at));
    out.state = static_cast<DlqState>(state);
    return out;
  }
  /// Makes a Dead (or Pending) item Pending and due now.
  void redrive(uint64_t id) const { detail::check(hardstore_dlq_redrive(s_, id)); }
  /// Redrives every Dead item matching q's kind, tenant and time range; how many.
  uint64_t redrive_where(const DlqQuery& q) const {
    uint64_t n = 0;
    detail::check(hardstore_dlq_redrive_where(s_, q.get(), &n));
    return n;
  }
  DlqStateCounts counts() const {
    DlqStateCounts c{};
    detail::check(hardstore_dlq_counts(s_, &c));
    return c;
  }
  /// Deletes up to `limit` (0: no limit) old Done and Dead items; how many.
  uint64_t purge(size_t limit = 0) const {
    uint64_t n = 0;
    detail::check(hardstore_dlq_purge(s_, limit, &n));
    return n;
  }
  /// Item `id`; NotFound for an unknown (or purged) id.
  DlqItem get(uint64_t id) const {
    detail::Owned<hardstore_dlq_item, hardstore_dlq_item_free> item;
    detail::check(hardstore_dlq_get(s_, id, detail::out(item)));
    return detail::read_dlq_item(item.get());
  }
  Page<DlqItem> list(const DlqQuery& q) const {
    detail::Owned<hardstore_dlq_iter, hardstore_dlq_iter_free> it;
    detail::check(hardstore_dlq_list(s_, q.get(), detail::out(it)));
    Page<DlqItem> page;
    for (;;) {
      const hardstore_dlq_item* item = nullptr;
      detail::check(hardstore_dlq_iter_next(it.get(), &item));
      if (!item) break;
      page.items.push_back(detail::read_dlq_item(item));
    }
    Bytes c = detail::take_bytes(
        [&](hardstore_bytes** o) { return hardstore_dlq_iter_cursor(it.get(), o); });
    page.next_cursor = detail::cursor_of(c);
    return page;
  }
  /// Runs `op` up to the policy's max attempts in this thread (nullopt: the default
  /// policy), sleeping a backoff between tries; when every try failed (or one failed
  /// permanently) a dead letter is recorded. An exception thrown by `op` counts as a
  /// permanent failure with its what() as the message (it is not rethrown).
  DlqRetryResult retry(const std::optional<RetryPolicy>& policy, std::string_view tenant,
                       std::string_view kind, bytes_view payload, const DlqOp& op) const {
    uint32_t outcome = 0;
    DlqRetryResult out;
    detail::check(hardstore_dlq_retry(
        s_, policy ? &*policy : nullptr, detail::u8(tenant), tenant.size(), detail::u8(kind),
        kind.size(), payload.data(), payload.size(), op ? &detail::dlq_op_trampoline : nullptr,
        const_cast<void*>(static_cast<const void*>(&op)), &outcome, &out.attempts,
        &out.dead_letter));
    out.succeeded = outcome == HARDSTORE_DLQ_RETRY_SUCCEEDED;
    return out;
  }

 private:
  const hardstore_store* s_;
};

// ---------------------------------------------------------------------------------
// Alerts
// ---------------------------------------------------------------------------------

/// An alert to raise. Views: the strings must outlive the call.
struct NewAlert {
  std::string_view tenant;     // 1..=128 bytes
  std::string_view source;     // 1..=128 bytes: the component that raised it
  std::string_view dedup_key;  // 1..=256 bytes: what makes two raises the same alert
  Severity severity = Severity::Info;
  std::string_view message;  // at most 4096 bytes
};

/// What raise() did.
struct AlertRaised {
  uint64_t id = 0;
  uint64_t count = 0;    // raises counted on it, this one included
  bool created = false;  // this raise opened it (false: it repeated one not resolved)
  AlertState state = AlertState::Open;  // Open, or Acknowledged when it repeated one
};

/// An alert (an owned copy). Times are microseconds since the epoch, by the store's
/// clock; severity and message are the latest raise's.
struct Alert {
  uint64_t id = 0;  // grows in the order alerts were opened, never reused
  std::string tenant, source, dedup_key;
  Severity severity = Severity::Info;
  std::string message;
  AlertState state = AlertState::Open;
  uint64_t count = 0;
  uint64_t first_seen = 0;  // when it was opened
  uint64_t last_seen = 0;   // when it was last raised
  std::optional<uint64_t> acknowledged_at;
  std::string acknowledged_by;  // empty: nobody
  std::optional<uint64_t> resolved_at;
  std::string resolved_by;  // empty: nobody
  std::string resolution;
};

/// Alerts not resolved (open or acknowledged), and resolved ones not yet purged.
struct AlertCounts {
  uint64_t unresolved = 0;
  uint64_t resolved = 0;
};

/// An alert list query: a scope (Open unless given), tenant and source filters (empty:
/// any), a minimum severity, 100 a page unless set, a cursor. Alerts come newest first.
/// It holds copies of what it is given; Alerts::list checks it (InvalidArgument).
class AlertQuery {
 public:
  explicit AlertQuery(AlertScope scope = AlertScope::Open) noexcept : scope_(scope) {}
  AlertQuery& scope(AlertScope s) noexcept {
    scope_ = s;
    return *this;
  }
  AlertQuery& tenant(std::string_view v) {
    tenant_.assign(v.data(), v.size());
    return *this;
  }
  AlertQuery& source(std::string_view v) {
    source_.assign(v.data(), v.size());
    return *this;
  }
  AlertQuery& min_severity(Severity s) noexcept {
    min_severity_ = s;
    return *this;
  }
  /// 1..=10000.
  AlertQuery& limit(size_t n) noexcept {
    limit_ = n;
    return *this;
  }
  /// A page's next_cursor: continue after that page (empty: from the newest).
  AlertQuery& cursor(bytes_view c) {
    cursor_ = c.to_vector();
    return *this;
  }
  AlertScope scope() const noexcept { return scope_; }
  const std::string& tenant() const noexcept { return tenant_; }
  const std::string& source() const noexcept { return source_; }
  Severity min_severity() const noexcept { return min_severity_; }
  size_t limit() const noexcept { return limit_; }
  const std::vector<uint8_t>& cursor() const noexcept { return cursor_; }

 private:
  AlertScope scope_;
  std::string tenant_, source_;
  Severity min_severity_ = Severity::Info;
  size_t limit_ = 100;
  std::vector<uint8_t> cursor_;
};

namespace detail {
inline std::string alert_field(const hardstore_alert* a, uint32_t field) {
  const uint8_t* p = nullptr;
  size_t n = 0;
  check(hardstore_alert_field(a, field, &p, &n));
  return str(p, n);
}

inline Alert read_alert(const hardstore_alert* a) {
  hardstore_alert_info info{};
  check(hardstore_alert_get_info(a, &info));
  Alert out;
  out.id = info.id;
  out.tenant = alert_field(a, HARDSTORE_ALERT_TENANT);
  out.source = alert_field(a, HARDSTORE_ALERT_SOURCE);
  out.dedup_key = alert_field(a, HARDSTORE_ALERT_DEDUP_KEY);
  out.severity = static_cast<Severity>(info.severity);
  out.message = alert_field(a, HARDSTORE_ALERT_MESSAGE);
  out.state = static_cast<AlertState>(info.state);
  out.count = info.count;
  out.first_seen = info.first_seen;
  out.last_seen = info.last_seen;
  if (info.acknowledged_at != 0) out.acknowledged_at = info.acknowledged_at;
  out.acknowledged_by = alert_field(a, HARDSTORE_ALERT_ACKNOWLEDGED_BY);
  if (info.resolved_at != 0) out.resolved_at = info.resolved_at;
  out.resolved_by = alert_field(a, HARDSTORE_ALERT_RESOLVED_BY);
  out.resolution = alert_field(a, HARDSTORE_ALERT_RESOLUTION);
  return out;
}
}  // namespace detail

/// Alerts of a store (a view: must not outlive the Store). A raise under the same
/// tenant and dedup key while the alert is not resolved counts a repeat on it; after
/// it is resolved, a raise opens a new alert. Every change is audited in its write.
class Alerts {
 public:
  explicit Alerts(const hardstore_store* s) noexcept : s_(s) {}

  /// Raises `a`: counts a repeat on the alert not resolved under its tenant and dedup
  /// key (taking its severity and message), or opens a new one.
  AlertRaised raise(const NewAlert& a, Durability d = Durability::Durable) const {
    hardstore_alert_raised r{};
    detail::check(hardstore_alert_raise(
        s_, detail::u8(a.tenant), a.tenant.size(), detail::u8(a.source), a.source.size(),
        detail::u8(a.dedup_key), a.dedup_key.size(), static_cast<uint32_t>(a.severity),
        detail::u8(a.message), a.message.size(), static_cast<uint32_t>(d), &r));
    return AlertRaised{r.id, r.count, r.created, static_cast<AlertState>(r.state)};
  }
  /// Acknowledges alert `id` on behalf of `by` (at most 256 bytes), durably. Again:
  /// no change; a resolved alert: InvalidArgument; an unknown id: NotFound.
  void acknowledge(uint64_t id, std::string_view by = {}) const {
    detail::check(hardstore_alert_acknowledge(s_, id, detail::u8(by), by.size()));
  }
  /// Resolves alert `id` on behalf of `by` with a note (at most 4096 bytes), durably.
  /// Again: no change; an unknown id: NotFound.
  void resolve(uint64_t id, std::string_view by = {}, std::string_view resolution = {}) const {
    detail::check(hardstore_alert_resolve(s_, id, detail::u8(by), by.size(),
                                          detail::u8(resolution), resolution.size()));
  }
  /// Resolves the alert not resolved under (tenant, dedup_key), durably; its id, or
  /// nullopt when there was none.
  std::optional<uint64_t> resolve_key(std::string_view tenant, std::string_view dedup_key,
                                      std::string_view by = {},
                                      std::string_view resolution = {}) const {
    bool resolved = false;
    uint64_t id = 0;
    detail::check(hardstore_alert_resolve_key(
        s_, detail::u8(tenant), tenant.size(), detail::u8(dedup_key), dedup_key.size(),
        detail::u8(by), by.size(), detail::u8(resolution), resolution.size(), &resolved,
        &id));
    if (!resolved) return std::nullopt;
    return id;
  }
  /// Alert `id`; NotFound for an unknown (or purged) id.
  Alert get(uint64_t id) const {
    detail::Owned<hardstore_alert, hardstore_alert_free> a;
    detail::check(hardstore_alert_get(s_, id, detail::out(a)));
    return detail::read_alert(a.get());
  }
  /// One page of alerts, newest first, and the cursor of the next (none: nothing more).
  Page<Alert> list(const AlertQuery& q = AlertQuery()) const {
    detail::Owned<hardstore_alert_iter, hardstore_alert_iter_free> it;
    detail::check(hardstore_alert_list(
        s_, static_cast<uint32_t>(q.scope()), detail::u8(q.tenant()), q.tenant().size(),
        detail::u8(q.source()), q.source().size(), static_cast<uint32_t>(q.min_severity()),
        q.limit(), q.cursor().data(), q.cursor().size(), detail::out(it)));
    Page<Alert> page;
    for (;;) {
      const hardstore_alert* a = nullptr;
      detail::check(hardstore_alert_iter_next(it.get(), &a));
      if (!a) break;
      page.items.push_back(detail::read_alert(a));
    }
    Bytes c = detail::take_bytes(
        [&](hardstore_bytes** o) { return hardstore_alert_iter_cursor(it.get(), o); });
    page.next_cursor = detail::cursor_of(c);
    return page;
  }
  AlertCounts counts() const {
    AlertCounts c;
    detail::check(hardstore_alert_counts(s_, &c.unresolved, &c.resolved));
    return c;
  }
  /// How many alerts resolved at least `older_than_us` ago purge_resolved would delete
  /// now. Changes nothing.
  uint64_t purgeable(uint64_t older_than_us) const {
    uint64_t n = 0;
    detail::check(hardstore_alert_purgeable(s_, older_than_us, &n));
    return n;
  }
  /// Deletes the alerts resolved at least `older_than_us` ago, durably; how many. When
  /// that is more than `confirm`, deletes nothing and throws ConfirmationRequired (the
  /// message names the count; get it first with purgeable()).
  uint64_t purge_resolved(uint64_t older_than_us, uint64_t confirm) const {
    uint64_t n = 0;
    detail::check(hardstore_alert_purge_resolved(s_, older_than_us, confirm, &n));
    return n;
  }

 private:
  const hardstore_store* s_;
};

// ---------------------------------------------------------------------------------
// Health
// ---------------------------------------------------------------------------------

/// One check's outcome (an owned copy): its name (`writer`, `audit`, ...), grade, the
/// reason for a person, and the figure it measured in `unit` (`bytes`, `ratio`, `us`,
/// `entries`, `count`; nullopt when there was nothing to measure).
struct HealthComponent {
  std::string name;
  Grade status = Grade::Healthy;
  std::string reason;
  std::optional<double> value;
  std::string unit;
};

/// A health report (an owned copy): the store's grade (its worst component's), the
/// time since the store was opened, when the checks ran (the store's clock), every
/// component in the order they ran, and the alerts this check raised and resolved.
struct HealthReport {
  Grade grade = Grade::Healthy;
  uint64_t uptime_us = 0;
  uint64_t checked_at = 0;
  std::vector<HealthComponent> components;
  uint64_t alerts_raised = 0;
  uint64_t alerts_resolved = 0;

  /// The component named `name`; nullptr when there is none (valid while the report).
  const HealthComponent* component(std::string_view name) const noexcept {
    for (const auto& c : components)
      if (c.name == name) return &c;
    return nullptr;
  }
};

namespace detail {
/// Copies a report out (every string copied; the caller frees the report).
inline HealthReport read_health_report(const hardstore_health_report* r) {
  hardstore_health_summary sum{};
  check(hardstore_health_report_summary(r, &sum));
  HealthReport out;
  out.grade = static_cast<Grade>(sum.grade);
  out.uptime_us = sum.uptime_us;
  out.checked_at = sum.checked_at;
  out.alerts_raised = sum.alerts_raised;
  out.alerts_resolved = sum.alerts_resolved;
  out.components.reserve(sum.components);
  for (size_t i = 0; i < sum.components; i++) {
    hardstore_health_component c{};
    check(hardstore_health_report_component(r, i, &c));
    HealthComponent hc;
    hc.name = str(c.name, c.name_len);
    hc.status = static_cast<Grade>(c.status);
    hc.reason = str(c.reason, c.reason_len);
    if (c.has_value) hc.value = c.value;
    hc.unit = str(c.unit, c.unit_len);
    out.components.push_back(std::move(hc));
  }
  return out;
}
}  // namespace detail

// ---------------------------------------------------------------------------------
// Maintenance
// ---------------------------------------------------------------------------------

/// A task that failed in a maintenance run: its name (`idempotency`, `dead_letters`,
/// `alerts`, `backup` or `backup_retention`) and the error, for a person.
struct MaintenanceTaskError {
  std::string task;
  std::string error;
};

/// What one maintenance run did (an owned copy): the expired idempotency keys, dead
/// letters and resolved alerts it deleted, the catalog id of the due backup it ran
/// (nullopt when none ran), the backups the retention setting dropped, whether a task
/// stopped at its step with more left (run again), and the tasks that failed (the
/// others ran).
struct MaintenanceReport {
  uint64_t idempotency_expired = 0;
  uint64_t dead_letters_purged = 0;
  uint64_t alerts_purged = 0;
  std::optional<uint64_t> backup_id;
  uint64_t backups_pruned = 0;
  uint64_t keys_rewrapped = 0;  // sealed fields' data keys re-wrapped (a rotation's step)
  uint64_t audit_pruned = 0;    // audit payloads pruned past the audit retention
  bool more_due = false;
  std::vector<MaintenanceTaskError> errors;

  /// Whether a due backup was run (its id is `backup_id`).
  bool backup_run() const noexcept { return backup_id.has_value(); }
};

/// What the janitor did since the store was opened: runs finished, whether the last
/// run as a whole failed, and the tasks that failed in the last run.
struct JanitorStatus {
  uint64_t runs = 0;
  bool last_run_failed = false;
  size_t last_task_errors = 0;
};

namespace detail {
/// Copies a report out (every string copied; the caller frees the report).
inline MaintenanceReport read_maintenance_report(const hardstore_maintenance_report* r) {
  hardstore_maintenance_summary sum{};
  check(hardstore_maintenance_report_summary(r, &sum));
  MaintenanceReport out;
  out.idempotency_expired = sum.idempotency_expired;
  out.dead_letters_purged = sum.dead_letters_purged;
  out.alerts_purged = sum.alerts_purged;
  if (sum.backup_run) out.backup_id = sum.backup_id;
  out.backups_pruned = sum.backups_pruned;
  out.keys_rewrapped = sum.keys_rewrapped;
  out.audit_pruned = sum.audit_pruned;
  out.more_due = sum.more_due;
  out.errors.reserve(sum.errors);
  for (size_t i = 0; i < sum.errors; i++) {
    const uint8_t* task = nullptr;
    const uint8_t* error = nullptr;
    size_t task_len = 0, error_len = 0;
    check(hardstore_maintenance_report_error(r, i, &task, &task_len, &error, &error_len));
    out.errors.push_back(MaintenanceTaskError{str(task, task_len), str(error, error_len)});
  }
  return out;
}
}  // namespace detail

// ---------------------------------------------------------------------------------
// Metrics
// ---------------------------------------------------------------------------------

/// An app metric's labels: (name, value) pairs, in order. The first use of a metric
/// fixes its label names and their order; every later use gives the same names.
using MetricLabels = std::vector<std::pair<std::string_view, std::string_view>>;

namespace detail {
/// The C labels for `labels` (pointing into the caller's strings).
inline std::vector<hardstore_label> c_labels(const MetricLabels& labels) {
  std::vector<hardstore_label> out;
  out.reserve(labels.size());
  for (const auto& l : labels)
    out.push_back(hardstore_label{u8(l.first), l.first.size(), u8(l.second), l.second.size()});
  return out;
}
}  // namespace detail

// ---------------------------------------------------------------------------------
// Rate limits
// ---------------------------------------------------------------------------------

/// `count` per `period_us`, at most `burst` at once (nullopt: `count`).
inline RateLimit make_rate_limit(uint64_t count, uint64_t period_us,
                                 std::optional<uint64_t> burst = std::nullopt) {
  return RateLimit{count, period_us, burst.value_or(count)};
}

/// A check's answer (redis-cell's). Durations are microseconds.
struct RateDecision {
  bool allowed = false;  // whether the request conforms (a denied one consumed nothing)
  uint64_t limit = 0;      // the limit's burst
  uint64_t remaining = 0;  // cost still allowed right now
  /// Denied: until the same cost would be allowed. nullopt when allowed, and when the
  /// cost exceeds the burst (it never conforms: never()).
  std::optional<uint64_t> retry_after_us;
  uint64_t reset_after_us = 0;  // until the key's allowance is full again
  /// Denied for good: the cost exceeds the burst (HARDSTORE_RETRY_NEVER).
  bool never() const noexcept { return !allowed && !retry_after_us; }
};

/// A defined limit (an owned copy).
struct RateLimitInfo {
  std::string tenant;
  std::string name;
  RateLimit limit{};
};

namespace detail {
inline RateDecision rate_decision(const hardstore_rate_decision& d) {
  RateDecision out;
  out.allowed = d.allowed;
  out.limit = d.limit;
  out.remaining = d.remaining;
  if (!d.allowed && d.retry_after_us != HARDSTORE_RETRY_NEVER)
    out.retry_after_us = d.retry_after_us;
  out.reset_after_us = d.reset_after_us;
  return out;
}
}  // namespace detail

/// A handle on one limit (RateLimits::limiter): checks without the lookup by name, safe
/// from many threads at once. The destructor (or reset()) frees it. After the limit is
/// removed its checks throw NotFound; it may outlive its Store (checks then change
/// memory only).
class Limiter {
 public:
  Limiter() = default;
  /// Adopts `raw` (freed by this object).
  explicit Limiter(hardstore_limiter* raw) noexcept : p_(raw) {}
  /// RateLimits::check of `key` (1..=256 bytes) through this handle.
  RateDecision check(bytes_view key, uint64_t cost = 1) const {
    hardstore_rate_decision d{};
    detail::check(hardstore_limiter_check(p_.get(), key.data(), key.size(), cost, &d));
    return detail::rate_decision(d);
  }
  /// Frees the handle now (checks then throw NullArgument).
  void reset() noexcept { p_.reset(); }
  explicit operator bool() const noexcept { return p_ != nullptr; }
  const hardstore_limiter* get() const noexcept { return p_.get(); }

 private:
  detail::Owned<hardstore_limiter, hardstore_limiter_free> p_;
};

/// Rate limits of a store (a view: must not outlive the Store). Limits are defined per
/// (tenant, name), each 1..=128 bytes of UTF-8, stored and audited; checks run in memory
/// against a key (1..=256 bytes: an IP, a user id), and the keys they change are written
/// every Options::rate_limits flush interval and at close.
class RateLimits {
 public:
  explicit RateLimits(const hardstore_store* s) noexcept : s_(s) {}

  /// Defines (or redefines, keeping every key's state) the limit `name` of `tenant`,
  /// durably and audited. A zero count, burst or period: InvalidArgument.
  void define(std::string_view tenant, std::string_view name, const RateLimit& limit) const {
    detail::check(hardstore_rate_limit_define(s_, detail::u8(tenant), tenant.size(),
                                              detail::u8(name), name.size(), &limit));
  }
  /// Removes the limit and its keys, durably and audited; how many stored keys it
  /// deleted. NotFound when it is not defined (limiters on it throw NotFound from then).
  uint64_t remove(std::string_view tenant, std::string_view name) const {
    uint64_t deleted = 0;
    detail::check(hardstore_rate_limit_remove(s_, detail::u8(tenant), tenant.size(),
                                              detail::u8(name), name.size(), &deleted));
    return deleted;
  }
  /// The limit `name` of `tenant`; nullopt when it is not defined.
  std::optional<RateLimit> get(std::string_view tenant, std::string_view name) const {
    bool found = false;
    RateLimit l{};
    detail::check(hardstore_rate_limit_get(s_, detail::u8(tenant), tenant.size(),
                                           detail::u8(name), name.size(), &found, &l));
    if (!found) return std::nullopt;
    return l;
  }
  /// Every defined limit, in (tenant, name) order.
  std::vector<RateLimitInfo> list() const {
    detail::Owned<hardstore_rate_limits, hardstore_rate_limit_list_free> l;
    detail::check(hardstore_rate_limit_list(s_, detail::out(l)));
    std::vector<RateLimitInfo> v;
    size_t n = hardstore_rate_limit_list_len(l.get());
    v.reserve(n);
    for (size_t i = 0; i < n; i++) {
      const uint8_t *tp = nullptr, *np = nullptr;
      size_t tl = 0, nl = 0;
      RateLimitInfo info;
      detail::check(hardstore_rate_limit_list_get(l.get(), i, &tp, &tl, &np, &nl, &info.limit));
      info.tenant = detail::str(tp, tl);
      info.name = detail::str(np, nl);
      v.push_back(std::move(info));
    }
    return v;
  }
  /// Checks a request of `cost` (usually 1; 0 only reads) for `key` under the limit
  /// `name` of `tenant`, now. An allowed request consumes its cost, a denied one
  /// nothing. NotFound when the limit is not defined.
  RateDecision check(std::string_view tenant, std::string_view name, bytes_view key,
                     uint64_t cost = 1) const {
    hardstore_rate_decision d{};
    detail::check(hardstore_rate_limit_check(s_, detail::u8(tenant), tenant.size(),
                                             detail::u8(name), name.size(), key.data(),
                                             key.size(), cost, &d));
    return detail::rate_decision(d);
  }
  /// A handle on the limit `name` of `tenant`; NotFound when it is not defined.
  Limiter limiter(std::string_view tenant, std::string_view name) const {
    hardstore_limiter* raw = nullptr;
    hardstore_result r = hardstore_limiter_new(s_, detail::u8(tenant), tenant.size(),
                                               detail::u8(name), name.size(), &raw);
    Limiter h(raw);  // owned before anything can throw
    detail::check(r);
    return h;
  }
  /// The keys the limit holds in memory, and what eviction did.
  RateLimitStats stats(std::string_view tenant, std::string_view name) const {
    RateLimitStats st{};
    detail::check(hardstore_rate_limit_stats(s_, detail::u8(tenant), tenant.size(),
                                             detail::u8(name), name.size(), &st));
    return st;
  }
  /// Writes every key changed since the last flush now, durably; the rows written or
  /// deleted.
  uint64_t flush() const {
    uint64_t rows = 0;
    detail::check(hardstore_rate_limit_flush(s_, &rows));
    return rows;
  }

 private:
  const hardstore_store* s_;
};

// ---------------------------------------------------------------------------------
// IP rules
// ---------------------------------------------------------------------------------

/// An IP rule to put. Views: the strings must outlive the call.
struct NewIpRule {
  std::string_view cidr;    // `a.b.c.d/n` or `x::/n` (host bits set are refused); a bare
                            // address is a host rule
  IpAction action = IpAction::Deny;
  std::string_view tenant;  // empty: a global rule
  std::optional<uint64_t> expires_at;  // µs since the epoch; nullopt: never
  std::string_view reason;  // at most 1024 bytes
};

/// A stored rule (an owned copy).
struct IpRule {
  std::string tenant;  // the scope it was listed from; empty: global
  std::string cidr;    // its network, "10.0.0.0/8"
  IpAction action = IpAction::Allow;
  std::optional<uint64_t> expires_at;  // nullopt: never
  std::string reason;
  uint64_t updated_at = 0;  // when it was put (last)
  uint8_t prefix_len = 0;
};

/// The rule that decided a check.
struct IpMatch {
  std::string cidr;  // its network, "10.0.0.0/8"
  IpAction action = IpAction::Allow;
  bool global = false;  // a global rule (false: the tenant's)
  uint8_t prefix_len = 0;
};

/// A check's answer: whether the address may in, and the rule that decided (nullopt: no
/// rule covers it, allowed).
struct IpVerdict {
  bool allowed = true;
  std::optional<IpMatch> rule;
  bool matched() const noexcept { return rule.has_value(); }
};

namespace detail {
inline IpVerdict ip_verdict(const hardstore_ip_verdict& v) {
  IpVerdict out;
  out.allowed = v.allowed;
  if (v.matched) {
    size_t n = 0;  // NUL-terminated within the array
    while (n < HARDSTORE_IP_CIDR_TEXT && v.cidr[n] != 0) n++;
    out.rule = IpMatch{str(v.cidr, n), static_cast<IpAction>(v.action), v.global,
                       v.prefix_len};
  }
  return out;
}
}  // namespace detail

/// IP allow and deny rules of a store (a view: must not outlive the Store). Which rule
/// decides a check: only rules not expired, of the tenant and global, holding the
/// address; the longest prefix, then deny over allow, then the tenant's. No rule:
/// allowed. A mapped IPv4 address (`::ffff:a.b.c.d`) is checked as IPv4. Every change
/// is audited (global rules under tenant "hardstore").
class IpRules {
 public:
  explicit IpRules(const hardstore_store* s) noexcept : s_(s) {}

  /// Puts `r`, durably and audited, replacing the rule of the same scope and network;
  /// whether there was one.
  bool put(const NewIpRule& r) const {
    bool replaced = false;
    detail::check(hardstore_ip_rule_put(
        s_, detail::u8(r.tenant), r.tenant.size(), detail::u8(r.cidr), r.cidr.size(),
        static_cast<uint32_t>(r.action), r.expires_at.value_or(0), detail::u8(r.reason),
        r.reason.size(), &replaced));
    return replaced;
  }
  /// Removes the rule of `tenant` (empty: global) for `cidr`, durably and audited.
  /// NotFound when there is none.
  void remove(std::string_view cidr, std::string_view tenant = {}) const {
    detail::check(hardstore_ip_rule_remove(s_, detail::u8(tenant), tenant.size(),
                                           detail::u8(cidr), cidr.size()));
  }
  /// The rules of `tenant` (empty: the global ones), in network order, expired ones
  /// included.
  std::vector<IpRule> list(std::string_view tenant = {}) const {
    detail::Owned<hardstore_ip_rules, hardstore_ip_rule_list_free> l;
    detail::check(hardstore_ip_rule_list(s_, detail::u8(tenant), tenant.size(), detail::out(l)));
    std::vector<IpRule> v;
    size_t n = hardstore_ip_rule_list_len(l.get());
    v.reserve(n);
    for (size_t i = 0; i < n; i++) {
      const uint8_t *cp = nullptr, *rp = nullptr;
      size_t cl = 0, rl = 0;
      hardstore_ip_rule_info info{};
      detail::check(hardstore_ip_rule_list_get(l.get(), i, &cp, &cl, &rp, &rl, &info));
      IpRule rule;
      rule.tenant = std::string(tenant);
      rule.cidr = detail::str(cp, cl);
      rule.action = static_cast<IpAction>(info.action);
      if (info.expires_at != 0) rule.expires_at = info.expires_at;
      rule.reason = detail::str(rp, rl);
      rule.updated_at = info.updated_at;
      rule.prefix_len = info.prefix_len;
      v.push_back(std::move(rule));
    }
    return v;
  }
  /// Checks `ip` (text: a plain IPv4 or IPv6 address, no port) for `tenant` now.
  IpVerdict check(std::string_view tenant, std::string_view ip) const {
    hardstore_ip_verdict v{};
    detail::check(hardstore_ip_check(s_, detail::u8(tenant), tenant.size(), detail::u8(ip),
                                     ip.size(), &v));
    return detail::ip_verdict(v);
  }
  /// Checks an address given as bytes in network order: 4 (IPv4) or 16 (IPv6), as in
  /// `sin_addr` / `sin6_addr`; any other length throws InvalidArgument.
  IpVerdict check_bytes(std::string_view tenant, bytes_view addr) const {
    hardstore_ip_verdict v{};
    detail::check(hardstore_ip_check_bytes(s_, detail::u8(tenant), tenant.size(), addr.data(),
                                           addr.size(), &v));
    return detail::ip_verdict(v);
  }
  /// How many rules (every scope) have expired now. Changes nothing.
  uint64_t expired() const {
    uint64_t n = 0;
    detail::check(hardstore_ip_rules_expired(s_, &n));
    return n;
  }
  /// Deletes every expired rule, durably and audited; how many. When that is more than
  /// `confirm`, deletes nothing and throws ConfirmationRequired (the message names the
  /// count; get it first with expired()).
  uint64_t purge_expired(uint64_t confirm) const {
    uint64_t n = 0;
    detail::check(hardstore_ip_rules_purge_expired(s_, confirm, &n));
    return n;
  }

 private:
  const hardstore_store* s_;
};

// ---------------------------------------------------------------------------------
// Sealed fields
// ---------------------------------------------------------------------------------

/// A key of the store's keyset (Sealing::keys).
struct SealingKeyInfo {
  uint32_t id = 0;
  KeyStatus status = KeyStatus::Enabled;
  bool primary = false;    // new data keys are wrapped by it
  bool available = false;  // the key source gives the right bytes for it now
  uint64_t added_at = 0;   // µs since the epoch, the store's clock
  uint64_t subjects = 0;   // live subjects whose data key it wraps
};

/// Sealed fields of a store (a view: must not outlive the Store): values encrypted
/// (AES-256-GCM) for a subject, each subject with its own data key wrapped by the
/// keyset's primary, so that shredding the subject makes every field sealed for it,
/// every copy, unreadable (Shredded) while the audit log still verifies. Keys come from
/// the Options (sealing_key, sealing_key_source), never from the store's file. Subjects
/// are 1..=128 bytes of UTF-8, plaintexts at most 16 MiB. Every key change and shred is
/// audited (tenant "hardstore").
class Sealing {
 public:
  explicit Sealing(const hardstore_store* s) noexcept : s_(s) {}

  /// Adds key `key_id` (its bytes must come from the key source: KeyUnavailable
  /// otherwise) to the keyset, durably and audited; the first key added is the primary.
  void add_key(uint32_t key_id) const { detail::check(hardstore_sealing_add_key(s_, key_id)); }
  /// Makes key `key_id` (enabled and available) the primary, durably and audited; new
  /// data keys are wrapped by it, rewrap() moves the others.
  void set_primary(uint32_t key_id) const {
    detail::check(hardstore_sealing_set_primary(s_, key_id));
  }
  /// Disables key `key_id` (not the primary): the subjects it wraps cannot be read
  /// (KeyUnavailable) until enable_key.
  void disable_key(uint32_t key_id) const {
    detail::check(hardstore_sealing_disable_key(s_, key_id));
  }
  /// Enables a disabled key again (a destroyed one throws KeyUnavailable).
  void enable_key(uint32_t key_id) const {
    detail::check(hardstore_sealing_enable_key(s_, key_id));
  }
  /// Destroys key `key_id` (not the primary) for ever, durably and audited; how many
  /// subjects it made unreadable. When that is more than `confirm`, changes nothing and
  /// throws ConfirmationRequired (the message names the count): rewrap() first to lose
  /// none.
  uint64_t destroy_key(uint32_t key_id, uint64_t confirm = 0) const {
    uint64_t lost = 0;
    detail::check(hardstore_sealing_destroy_key(s_, key_id, confirm, &lost));
    return lost;
  }
  /// Seals `plaintext` for `subject`; the blob (about 40 bytes more than the plaintext)
  /// to keep anywhere. A new subject's data key is made durably first.
  std::vector<uint8_t> seal(std::string_view subject, bytes_view plaintext) const {
    return detail::take_bytes([&](hardstore_bytes** out) {
             return hardstore_sealing_seal(s_, detail::u8(subject), subject.size(),
                                           plaintext.data(), plaintext.size(), out);
           })
        .to_vector();
  }
  /// The plaintext of a blob from seal (or Transaction::kv_put_sealed). Shredded once
  /// its subject was shredded, SealedInvalid for bytes that are not an intact blob of
  /// this store, KeyUnavailable when the key wrapping its data key is not available.
  std::vector<uint8_t> open(bytes_view sealed) const {
    return open_bytes(sealed).to_vector();
  }
  /// open, as a std::string.
  std::string open_string(bytes_view sealed) const { return open_bytes(sealed).to_string(); }
  /// Shreds `subject`, durably and audited: every field sealed for it is unreadable from
  /// now on. Whether there was a live data key to destroy (false: never sealed for, or
  /// shredded already).
  bool shred(std::string_view subject) const {
    bool shredded = false;
    detail::check(
        hardstore_sealing_shred(s_, detail::u8(subject), subject.size(), &shredded));
    return shredded;
  }
  /// Re-wraps up to `step` data keys wrapped by keys other than the primary, durably;
  /// run it until `remaining` is 0 after a set_primary (maintenance runs steps too).
  RewrapReport rewrap(uint64_t step = 1000) const {
    RewrapReport r{};
    detail::check(hardstore_sealing_rewrap(s_, step, &r));
    return r;
  }
  /// The keyset, in id order.
  std::vector<SealingKeyInfo> keys() const {
    detail::Owned<hardstore_sealing_keys, hardstore_sealing_key_list_free> l;
    detail::check(hardstore_sealing_key_list(s_, detail::out(l)));
    std::vector<SealingKeyInfo> v;
    size_t n = hardstore_sealing_key_list_len(l.get());
    v.reserve(n);
    for (size_t i = 0; i < n; i++) {
      hardstore_sealing_key k{};
      detail::check(hardstore_sealing_key_list_get(l.get(), i, &k));
      v.push_back(SealingKeyInfo{k.id, static_cast<KeyStatus>(k.status), k.primary,
                                 k.available, k.added_at, k.subjects});
    }
    return v;
  }

 private:
  Bytes open_bytes(bytes_view sealed) const {
    return detail::take_bytes([&](hardstore_bytes** out) {
      return hardstore_sealing_open(s_, sealed.data(), sealed.size(), out);
    });
  }
  const hardstore_store* s_;
};

// ---------------------------------------------------------------------------------
// Webhook outbox
// ---------------------------------------------------------------------------------

/// An endpoint's state (Webhooks::endpoint): `enabled` (false once DISABLE_AFTER, 24,
/// attempts failed in a row), `failing` (failed attempts since its last delivery) and
/// `secrets` (how many; the secrets are not read back).
using WebhookEndpoint = hardstore_webhook_endpoint;

/// Secrets given as `whsec_...` texts (views: they must outlive the call), newest first:
/// one text, a braced list, or a std::vector of strings or views.
class WebhookSecrets {
 public:
  WebhookSecrets(std::string_view one) { add(one); }
  WebhookSecrets(const std::string& one) { add(one); }
  WebhookSecrets(const char* one) { add(one ? std::string_view(one) : std::string_view()); }
  WebhookSecrets(std::initializer_list<std::string_view> list) {
    for (std::string_view s : list) add(s);
  }
  WebhookSecrets(const std::vector<std::string>& list) {
    for (const std::string& s : list) add(s);
  }
  WebhookSecrets(const std::vector<std::string_view>& list) {
    for (std::string_view s : list) add(s);
  }
  const uint8_t* const* data() const noexcept { return ptrs_.empty() ? nullptr : ptrs_.data(); }
  const size_t* lens() const noexcept { return lens_.empty() ? nullptr : lens_.data(); }
  size_t size() const noexcept { return ptrs_.size(); }

 private:
  void add(std::string_view s) {
    ptrs_.push_back(detail::u8(s));
    lens_.push_back(s.size());
  }
  std::vector<const uint8_t*> ptrs_;
  std::vector<size_t> lens_;
};

/// What Webhooks::fail did: due again at `retry_at` (µs, the store's clock), or every
/// attempt failed (`dead`) and the message is now dead letter `dead_letter` (kind
/// "webhook", Dead, a JSON envelope with the payload in base64).
struct WebhookFailOutcome {
  bool dead = false;
  std::optional<uint64_t> retry_at;     // set when not dead
  std::optional<uint64_t> dead_letter;  // set when dead
};

/// Messages not delivered yet (waiting, due or leased), and of them the ones leased now.
struct OutboxCounts {
  uint64_t pending = 0;
  uint64_t leased = 0;
};

/// One delivery of a claim, borrowed from its WebhookClaim (valid while the claim lives,
/// and so are the views it gives). POST payload() to url() with headers(), then
/// Webhooks::ack or Webhooks::fail.
class WebhookDelivery {
 public:
  WebhookDelivery(const hardstore_webhook_deliveries* claim, size_t index,
                  const hardstore_webhook_delivery& d) noexcept
      : claim_(claim), index_(index), d_(d) {}
  /// The message's id.
  uint64_t id() const noexcept { return d_.id; }
  /// This attempt's number, from 1.
  uint32_t attempt() const noexcept { return d_.attempt; }
  /// When the lease ends (µs, the store's clock): then the message is due again and this
  /// delivery is fenced once claimed again.
  uint64_t lease_until() const noexcept { return d_.lease_until; }
  /// Where to POST it.
  std::string_view url() const noexcept { return view(d_.url, d_.url_len); }
  std::string_view event_type() const noexcept { return view(d_.event_type, d_.event_type_len); }
  /// The body to POST, exactly these bytes (they are what is signed).
  bytes_view payload() const noexcept { return bytes_view(d_.payload, d_.payload_len); }
  /// The `webhook-id` header's value (`msg_` and 16 hex digits), the same on every attempt.
  std::string_view webhook_id() const noexcept { return view(d_.webhook_id, d_.webhook_id_len); }
  /// The `webhook-timestamp` header's value: this attempt's time, seconds since the epoch.
  std::string_view webhook_timestamp() const noexcept {
    return view(d_.webhook_timestamp, d_.webhook_timestamp_len);
  }
  /// The `webhook-signature` header's value: `v1,<base64>` per secret, space-separated.
  std::string_view webhook_signature() const noexcept {
    return view(d_.webhook_signature, d_.webhook_signature_len);
  }
  /// webhook_timestamp() as a number.
  uint64_t timestamp() const noexcept {
    uint64_t t = 0;
    for (char c : webhook_timestamp()) t = t * 10 + static_cast<uint64_t>(c - '0');
    return t;
  }
  /// The three headers to send, as (name, value) copies: webhook-id, webhook-timestamp,
  /// webhook-signature.
  std::vector<std::pair<std::string, std::string>> headers() const {
    return {{"webhook-id", std::string(webhook_id())},
            {"webhook-timestamp", std::string(webhook_timestamp())},
            {"webhook-signature", std::string(webhook_signature())}};
  }
  const hardstore_webhook_deliveries* claim() const noexcept { return claim_; }
  size_t index() const noexcept { return index_; }

 private:
  static std::string_view view(const uint8_t* p, size_t n) noexcept {
    return n == 0 ? std::string_view() : std::string_view(reinterpret_cast<const char*>(p), n);
  }
  const hardstore_webhook_deliveries* claim_;
  size_t index_;
  hardstore_webhook_delivery d_;
};

/// The deliveries one Webhooks::claim leased, oldest due first (owns them; the
/// WebhookDelivery views borrow from it). Deliveries neither acked nor failed when it
/// is destroyed are due again once their lease ends.
class WebhookClaim {
 public:
  WebhookClaim() = default;
  /// Adopts `raw` (freed by this object).
  explicit WebhookClaim(hardstore_webhook_deliveries* raw) noexcept : p_(raw) {}
  size_t size() const noexcept { return hardstore_webhook_claim_len(p_.get()); }
  bool empty() const noexcept { return size() == 0; }
  /// Delivery `i`; InvalidArgument past the last.
  WebhookDelivery at(size_t i) const {
    hardstore_webhook_delivery d{};
    detail::check(hardstore_webhook_delivery_get(p_.get(), i, &d));
    return WebhookDelivery(p_.get(), i, d);
  }
  WebhookDelivery operator[](size_t i) const { return at(i); }
  /// Frees the claim now (its deliveries can no longer be acked or failed).
  void reset() noexcept { p_.reset(); }
  const hardstore_webhook_deliveries* get() const noexcept { return p_.get(); }

  class iterator {
   public:
    iterator(const WebhookClaim* claim, size_t i) noexcept : claim_(claim), i_(i) {}
    WebhookDelivery operator*() const { return claim_->at(i_); }
    iterator& operator++() noexcept {
      ++i_;
      return *this;
    }
    bool operator==(const iterator& o) const noexcept { return i_ == o.i_; }
    bool operator!=(const iterator& o) const noexcept { return i_ != o.i_; }

   private:
    const WebhookClaim* claim_;
    size_t i_;
  };
  iterator begin() const noexcept { return iterator(this, 0); }
  iterator end() const noexcept { return iterator(this, size()); }

 private:
  detail::Owned<hardstore_webhook_deliveries, hardstore_webhook_claim_free> p_;
};

/// A new random secret's `whsec_...` text (24 bytes from the OS), for put_endpoint and
/// the receiver.
inline std::string generate_webhook_secret() {
  return detail::take_bytes([](hardstore_bytes** out) {
           return hardstore_webhook_secret_generate(out);
         })
      .to_string();
}

/// For receivers: whether a webhook's three header values and body verify against
/// `secrets`: the timestamp within `tolerance_s` seconds of `now_s` (seconds since the
/// epoch; nullopt: the system clock) either way, and a `v1` signature matching one of
/// the secrets (compared in constant time). False when they do not
/// (HARDSTORE_SIGNATURE_INVALID: a header empty or malformed, a stale or future
/// timestamp, no matching signature; last_error_message() says which); a malformed
/// secret or none throws InvalidArgument.
inline bool verify_webhook(const WebhookSecrets& secrets, std::string_view webhook_id,
                           std::string_view webhook_timestamp, std::string_view webhook_signature,
                           bytes_view payload, uint64_t tolerance_s = 300,
                           std::optional<uint64_t> now_s = std::nullopt) {
  using std::chrono::seconds;
  using std::chrono::system_clock;
  const uint64_t now =
      now_s ? *now_s
            : static_cast<uint64_t>(
                  std::chrono::duration_cast<seconds>(system_clock::now().time_since_epoch())
                      .count());
  hardstore_result r = hardstore_webhook_verify(
      secrets.data(), secrets.lens(), secrets.size(), detail::u8(webhook_id), webhook_id.size(),
      detail::u8(webhook_timestamp), webhook_timestamp.size(), detail::u8(webhook_signature),
      webhook_signature.size(), payload.data(), payload.size(), tolerance_s, now);
  if (r == HARDSTORE_SIGNATURE_INVALID) return false;
  detail::check(r);
  return true;
}

/// The webhook outbox of a store (a view: must not outlive the Store): endpoints (a URL
/// and 1..=8 `whsec_...` secrets, all signing during a rotation; audited), messages
/// (here or Transaction::outbox_enqueue, committed with app state), claims of due
/// deliveries with Standard Webhooks headers, ack and fail on the standard's retry
/// schedule (at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; after the 8th
/// failure a dead letter), endpoints disabled after 24 failures in a row. Tenant,
/// endpoint id and event type are 1..=128 bytes of UTF-8, URLs at most 2048 bytes,
/// payloads at most 512 KiB.
class Webhooks {
 public:
  explicit Webhooks(const hardstore_store* s) noexcept : s_(s) {}

  /// generate_webhook_secret().
  static std::string generate_secret() { return generate_webhook_secret(); }
  /// Puts (or replaces, enabling it again) endpoint `endpoint` of `tenant` with `url`
  /// (http or https) and `secrets` (1..=8 `whsec_...` texts, newest first), durably and
  /// audited (not the secrets). A bad URL or secret, none or more than 8 throw
  /// InvalidArgument.
  void put_endpoint(std::string_view tenant, std::string_view endpoint, std::string_view url,
                    const WebhookSecrets& secrets) const {
    detail::check(hardstore_webhook_endpoint_put(
        s_, detail::u8(tenant), tenant.size(), detail::u8(endpoint), endpoint.size(),
        detail::u8(url), url.size(), secrets.data(), secrets.lens(), secrets.size()));
  }
  /// The endpoint's state; nullopt when there is none.
  std::optional<WebhookEndpoint> endpoint(std::string_view tenant,
                                          std::string_view endpoint) const {
    bool found = false;
    WebhookEndpoint e{};
    detail::check(hardstore_webhook_endpoint_get(s_, detail::u8(tenant), tenant.size(),
                                                 detail::u8(endpoint), endpoint.size(), &found,
                                                 &e));
    if (!found) return std::nullopt;
    return e;
  }
  /// Enables a disabled endpoint (its failure count starts over), durably and audited.
  /// NotFound when there is none.
  void enable_endpoint(std::string_view tenant, std::string_view endpoint) const {
    detail::check(hardstore_webhook_endpoint_enable(s_, detail::u8(tenant), tenant.size(),
                                                    detail::u8(endpoint), endpoint.size()));
  }
  /// Removes an endpoint and its pending messages, durably and audited; how many messages
  /// it deleted. When that is more than `confirm`, changes nothing and throws
  /// ConfirmationRequired (the message names the count). NotFound when there is none.
  uint64_t remove_endpoint(std::string_view tenant, std::string_view endpoint,
                           uint64_t confirm = 0) const {
    uint64_t deleted = 0;
    detail::check(hardstore_webhook_endpoint_remove(s_, detail::u8(tenant), tenant.size(),
                                                    detail::u8(endpoint), endpoint.size(),
                                                    confirm, &deleted));
    return deleted;
  }
  /// Enqueues a message in a write of its own, due at once; its id (never reused).
  /// NotFound when the endpoint does not exist. Transaction::outbox_enqueue commits one
  /// with app state.
  uint64_t enqueue(std::string_view tenant, std::string_view endpoint,
                   std::string_view event_type, bytes_view payload,
                   Durability d = Durability::Durable) const {
    uint64_t id = 0;
    detail::check(hardstore_webhook_enqueue(
        s_, detail::u8(tenant), tenant.size(), detail::u8(endpoint), endpoint.size(),
        detail::u8(event_type), event_type.size(), payload.data(), payload.size(),
        static_cast<uint32_t>(d), &id));
    return id;
  }
  /// Leases up to `limit` (1..=10000) due messages of enabled endpoints for `lease_us`
  /// (above 0), durably, with their signed headers; each counts an attempt.
  WebhookClaim claim(size_t limit = 100, uint64_t lease_us = 30 * 1000000ull) const {
    hardstore_webhook_deliveries* raw = nullptr;
    hardstore_result r = hardstore_webhook_claim(s_, limit, lease_us, &raw);
    WebhookClaim c(raw);  // owned before anything can throw
    detail::check(r);
    return c;
  }
  /// The endpoint answered 2xx: the message is done. Fenced when its lease lapsed and it
  /// was claimed again (or it was acked or failed already).
  void ack(const WebhookDelivery& d) const {
    detail::check(hardstore_webhook_ack(s_, d.claim(), d.index()));
  }
  /// Records a failed attempt with `error` (UTF-8, at most 4096 bytes; the store keeps
  /// 1024 characters): due again on the schedule, or a dead letter after the last
  /// attempt. Fenced as for ack.
  WebhookFailOutcome fail(const WebhookDelivery& d, std::string_view error) const {
    hardstore_webhook_fail_outcome o{};
    detail::check(hardstore_webhook_fail(s_, d.claim(), d.index(), detail::u8(error),
                                         error.size(), &o));
    WebhookFailOutcome out;
    out.dead = o.dead;
    if (o.dead)
      out.dead_letter = o.dead_letter;
    else
      out.retry_at = o.retry_at;
    return out;
  }
  /// Messages pending (waiting, due or leased), and of them leased now.
  OutboxCounts counts() const {
    OutboxCounts c;
    detail::check(hardstore_webhook_counts(s_, &c.pending, &c.leased));
    return c;
  }

 private:
  const hardstore_store* s_;
};

// ---------------------------------------------------------------------------------
// Restore points
// ---------------------------------------------------------------------------------

/// Restore points of a store (a view: must not outlive the Store).
class RestorePoints {
 public:
  explicit RestorePoints(const hardstore_store* s) noexcept : s_(s) {}

  /// Creates a point labelled `label`; LimitReached when the maximum exist.
  RestorePointInfo create(std::string_view label) const {
    RestorePointInfo p{};
    detail::check(hardstore_restore_point_create(s_, detail::u8(label), label.size(), &p));
    return p;
  }
  /// The ids of every point, oldest first.
  std::vector<uint64_t> list() const {
    std::vector<uint64_t> ids(8);
    for (;;) {
      size_t n = 0;
      hardstore_result r = hardstore_restore_point_list(s_, ids.data(), ids.size(), &n);
      if (r == HARDSTORE_BUFFER_TOO_SMALL) {
        ids.resize(n + 8);  // points may be created meanwhile: leave room
        continue;
      }
      detail::check(r);
      ids.resize(n);
      return ids;
    }
  }
  std::optional<RestorePointInfo> get(uint64_t id) const {
    bool found = false;
    RestorePointInfo p{};
    detail::check(hardstore_restore_point_get(s_, id, &found, &p));
    if (!found) return std::nullopt;
    return p;
  }
  /// A point's label; NotFound if there is no such point.
  std::string label(uint64_t id) const {
    return detail::take_bytes([&](hardstore_bytes** o) {
             return hardstore_restore_point_label(s_, id, o);
           })
        .to_string();
  }
  /// Deletes a point; whether it existed.
  bool remove(uint64_t id) const {
    bool existed = false;
    detail::check(hardstore_restore_point_delete(s_, id, &existed));
    return existed;
  }
  /// Checks the point's state still has its digest: Corrupted if not, NotFound.
  void verify(uint64_t id) const { detail::check(hardstore_restore_point_verify(s_, id)); }
  /// Rolls the mutable state back to point `id`; the seq of the audit entry it appends.
  uint64_t restore(uint64_t id, std::string_view actor) const {
    uint64_t seq = 0;
    detail::check(
        hardstore_restore_point_restore(s_, id, detail::u8(actor), actor.size(), &seq));
    return seq;
  }
  /// Writes point `id`'s state as a new store at `path` (must not exist); rows copied.
  uint64_t export_to(uint64_t id, std::string_view path) const {
    uint64_t rows = 0;
    detail::check(
        hardstore_restore_point_export(s_, id, detail::u8(path), path.size(), &rows));
    return rows;
  }
  SpaceReport space() const {
    SpaceReport r{};
    detail::check(hardstore_restore_point_space(s_, &r));
    return r;
  }

 private:
  const hardstore_store* s_;
};

// ---------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------

/// The store's own settings (`store.settings()`): kept in the store, changed only by
/// these audited calls. Each returns what it did (audit seq, entries deleted).
class StoreSettings {
 public:
  explicit StoreSettings(const hardstore_store* s) noexcept : s_(s) {}
  hardstore_settings get() const {
    hardstore_settings out{};
    detail::check(hardstore_settings_get(s_, &out));
    return out;
  }
  /// A capacity below the entries held evicts the oldest surplus: ConfirmationRequired
  /// unless `confirm_evict` is at least that count.
  hardstore_setting_change set_log_capacity(uint64_t capacity, uint64_t confirm_evict,
                                            std::string_view actor = {}) const {
    hardstore_setting_change c{};
    detail::check(hardstore_settings_set_log_capacity(s_, detail::u8(actor), actor.size(),
                                                      capacity, confirm_evict, &c));
    return c;
  }
  hardstore_setting_change set_idempotency_ttl_us(uint64_t ttl_us,
                                                  std::string_view actor = {}) const {
    hardstore_setting_change c{};
    detail::check(hardstore_settings_set_idempotency_ttl_us(s_, detail::u8(actor),
                                                            actor.size(), ttl_us, &c));
    return c;
  }
  hardstore_setting_change set_max_restore_points(uint64_t max_points,
                                                  std::string_view actor = {}) const {
    hardstore_setting_change c{};
    detail::check(hardstore_settings_set_max_restore_points(s_, detail::u8(actor),
                                                            actor.size(), max_points, &c));
    return c;
  }
  hardstore_setting_change set_dead_letter_purge_after_us(uint64_t age_us,
                                                          std::string_view actor = {}) const {
    hardstore_setting_change c{};
    detail::check(hardstore_settings_set_dead_letter_purge_after_us(
        s_, detail::u8(actor), actor.size(), age_us, &c));
    return c;
  }
  hardstore_setting_change set_dead_letter_policy(const hardstore_retry_policy& p,
                                                  std::string_view actor = {}) const {
    hardstore_setting_change c{};
    detail::check(hardstore_settings_set_dead_letter_policy(s_, detail::u8(actor),
                                                            actor.size(), &p, &c));
    return c;
  }
  hardstore_setting_change set_backup_retention(const hardstore_retention& r,
                                                std::string_view actor = {}) const {
    hardstore_setting_change c{};
    detail::check(hardstore_settings_set_backup_retention(s_, detail::u8(actor),
                                                          actor.size(), &r, &c));
    return c;
  }
  hardstore_setting_change set_backup_schedule(const hardstore_schedule& sch,
                                               std::string_view actor = {}) const {
    hardstore_setting_change c{};
    detail::check(hardstore_settings_set_backup_schedule(s_, detail::u8(actor),
                                                         actor.size(), &sch, &c));
    return c;
  }
  /// The store's health thresholds.
  HealthThresholds health_thresholds() const {
    hardstore_health_thresholds t{};
    detail::check(hardstore_settings_get_health_thresholds(s_, &t));
    return HealthThresholds(t);
  }
  /// Thresholds that grade nothing sensibly throw InvalidArgument and change nothing.
  hardstore_setting_change set_health_thresholds(const hardstore_health_thresholds& t,
                                                 std::string_view actor = {}) const {
    hardstore_setting_change c{};
    detail::check(hardstore_settings_set_health_thresholds(s_, detail::u8(actor),
                                                           actor.size(), &t, &c));
    return c;
  }
  /// How long resolved alerts are kept before maintenance deletes them, microseconds.
  uint64_t alert_retention_us() const {
    uint64_t us = 0;
    detail::check(hardstore_settings_get_alert_retention_us(s_, &us));
    return us;
  }
  /// Nothing is deleted until maintenance runs (Store::maintenance or the janitor).
  hardstore_setting_change set_alert_retention_us(uint64_t us,
                                                  std::string_view actor = {}) const {
    hardstore_setting_change c{};
    detail::check(hardstore_settings_set_alert_retention_us(s_, detail::u8(actor),
                                                            actor.size(), us, &c));
    return c;
  }
  /// How long audit entries keep their payloads before maintenance prunes them,
  /// microseconds (0, the default: for ever).
  uint64_t audit_retention_us() const {
    uint64_t us = 0;
    detail::check(hardstore_settings_get_audit_retention_us(s_, &us));
    return us;
  }
  /// 0 keeps audit payloads for ever; else at least one day (less throws
  /// InvalidArgument). Setting it is the confirmation maintenance's prunes run under;
  /// nothing is pruned until maintenance runs (MaintenanceReport::audit_pruned).
  hardstore_setting_change set_audit_retention_us(uint64_t age_us,
                                                  std::string_view actor = {}) const {
    hardstore_setting_change c{};
    detail::check(hardstore_settings_set_audit_retention_us(s_, detail::u8(actor),
                                                            actor.size(), age_us, &c));
    return c;
  }

 private:
  const hardstore_store* s_;
};

// ---------------------------------------------------------------------------------
// Backups
// ---------------------------------------------------------------------------------

/// One cataloged run (an owned copy).
struct BackupRecord {
  uint64_t id = 0;
  BackupKind kind = BackupKind::Full;
  BackupResult result = BackupResult::Running;
  uint64_t base_id = 0;
  std::string file;
  std::string error;  // empty when the run did not fail
  uint64_t started_us = 0;
  uint64_t ended_us = 0;
  uint64_t bytes = 0;
  uint64_t entries = 0;
  Hash digest{};
  uint64_t covered_from = 0;
  uint64_t covered_to = 0;
  uint64_t audit_size = 0;
  bool encrypted = false;
  uint32_t key_id = 0;
};

/// A list of catalog records the library allocated.
class BackupRecordList {
 public:
  BackupRecordList() = default;
  explicit BackupRecordList(hardstore_backup_records* raw) noexcept : p_(raw) {}
  size_t size() const noexcept { return hardstore_backup_records_len(p_.get()); }
  bool empty() const noexcept { return size() == 0; }
  /// Record `i` (a copy); NotFound past the end.
  BackupRecord at(size_t i) const {
    hardstore_backup_record r{};
    detail::check(hardstore_backup_records_get(p_.get(), i, &r));
    BackupRecord out;
    out.id = r.id;
    out.kind = static_cast<BackupKind>(r.kind);
    out.result = static_cast<BackupResult>(r.result);
    out.base_id = r.base_id;
    out.file = detail::str(r.file, r.file_len);
    out.error = detail::str(r.error, r.error_len);
    out.started_us = r.started_us;
    out.ended_us = r.ended_us;
    out.bytes = r.bytes;
    out.entries = r.entries;
    out.digest = to_hash(r.digest);
    out.covered_from = r.covered_from;
    out.covered_to = r.covered_to;
    out.audit_size = r.audit_size;
    out.encrypted = r.encrypted;
    out.key_id = r.key_id;
    return out;
  }
  BackupRecord operator[](size_t i) const { return at(i); }
  std::vector<BackupRecord> to_vector() const {
    std::vector<BackupRecord> v;
    size_t n = size();
    v.reserve(n);
    for (size_t i = 0; i < n; i++) v.push_back(at(i));
    return v;
  }
  /// The files, in order (for verify_chain / restore_chain).
  std::vector<std::string> files() const {
    std::vector<std::string> v;
    size_t n = size();
    for (size_t i = 0; i < n; i++) v.push_back(at(i).file);
    return v;
  }
  const hardstore_backup_records* get() const noexcept { return p_.get(); }

 private:
  detail::Owned<hardstore_backup_records, hardstore_backup_records_free> p_;
};

/// A background thread running due backups. Stops (waiting for a run in progress) in
/// its destructor or stop(); it keeps the store busy, so stop it before the Store goes.
class BackupSchedule {
 public:
  BackupSchedule() = default;
  explicit BackupSchedule(hardstore_backup_schedule* raw) noexcept : p_(raw) {}
  void stop() noexcept { p_.reset(); }
  bool running() const noexcept { return p_ != nullptr; }

 private:
  detail::Owned<hardstore_backup_schedule, hardstore_backup_schedule_stop> p_;
};

/// Progress of a backup: (bytes done, bytes total).
using ProgressFn = std::function<void(uint64_t done, uint64_t total)>;

/// What a run wrote: its catalog id and kind (an incremental or differential with no
/// usable base is promoted to full).
struct BackupRun {
  uint64_t id = 0;
  BackupKind kind = BackupKind::Full;
};

/// Runs that succeeded and runs that failed or were interrupted.
struct BackupSuccessRate {
  uint64_t ok = 0;
  uint64_t failed = 0;
};

/// The default schedule (full daily, incremental every 6 h, differential hourly,
/// pruning full backups older than 30 days), as `nullopt` means to the library.
inline Schedule default_schedule() {
  Schedule s{};
  s.full_every_secs = 86400;
  s.incremental_every_secs = 21600;
  s.differential_every_secs = 3600;
  s.prune = true;
  s.retention.max_age_secs = 30ull * 86400;
  s.retention.keep_fulls = 0;
  return s;
}

/// Makes a backup key from an id and 32 bytes of key material.
inline BackupKey make_backup_key(uint32_t id, const std::array<uint8_t, 32>& material) {
  BackupKey k{};
  k.id = id;
  std::memcpy(k.key, material.data(), sizeof k.key);
  return k;
}

namespace detail {
struct ProgressCtx {
  const ProgressFn* fn;
  std::exception_ptr error;
};

inline void progress_trampoline(void* user, uint64_t done, uint64_t total) noexcept {
  auto* ctx = static_cast<ProgressCtx*>(user);
  if (ctx->error) return;  // after a throw the callback is not called again
  try {
    (*ctx->fn)(done, total);
  } catch (...) {
    ctx->error = std::current_exception();
  }
}

/// Paths as the C chain functions want them (the strings must outlive the call).
struct PathArray {
  std::vector<const uint8_t*> ptrs;
  std::vector<size_t> lens;
  explicit PathArray(const std::vector<std::string>& paths) {
    for (const auto& p : paths) {
      ptrs.push_back(u8(p));
      lens.push_back(p.size());
    }
  }
};

inline const BackupKey* key_ptr(const std::optional<BackupKey>& k) { return k ? &*k : nullptr; }
}  // namespace detail

/// Backups of a store (a view: must not outlive the Store).
class Backups {
 public:
  explicit Backups(const hardstore_store* s) noexcept : s_(s) {}

  /// A standalone full backup (outside the catalog) to `path` (must not exist).
  BackupInfo full(std::string_view path) const {
    BackupInfo info{};
    detail::check(hardstore_backup_full(s_, detail::u8(path), path.size(), &info));
    return info;
  }
  /// Takes and catalogs a backup of `kind` into `folder`, encrypted when `key` is set.
  /// `progress` is called on this thread before this returns; if it throws, it is not
  /// called again, the backup still runs to its end, and the exception is rethrown
  /// once the run has returned (the run stays cataloged).
  BackupRun run(BackupKind kind, std::string_view folder,
                const std::optional<BackupKey>& key = std::nullopt,
                const ProgressFn& progress = nullptr) const {
    detail::ProgressCtx ctx{&progress, nullptr};
    uint64_t id = 0;
    uint32_t out_kind = 0;
    hardstore_result r = hardstore_backup_run(
        s_, static_cast<uint32_t>(kind), detail::u8(folder), folder.size(),
        detail::key_ptr(key), progress ? &detail::progress_trampoline : nullptr,
        progress ? &ctx : nullptr, &id, &out_kind);
    if (ctx.error) std::rethrow_exception(ctx.error);
    detail::check(r);
    return BackupRun{id, static_cast<BackupKind>(out_kind)};
  }
  /// Every cataloged run, oldest first.
  BackupRecordList list() const {
    hardstore_backup_records* raw = nullptr;
    hardstore_result r = hardstore_backup_list(s_, &raw);
    BackupRecordList l(raw);
    detail::check(r);
    return l;
  }
  /// The runs whose files restore backup `id`, full first; NotFound for an unknown id.
  BackupRecordList chain(uint64_t id) const {
    hardstore_backup_records* raw = nullptr;
    hardstore_result r = hardstore_backup_chain(s_, id, &raw);
    BackupRecordList l(raw);
    detail::check(r);
    return l;
  }
  /// Deletes (or with dry_run, lists) what `policy` (nullopt: fulls kept 30 days)
  /// drops as of `now_us`.
  BackupRecordList prune(const std::optional<Retention>& policy, uint64_t now_us,
                         bool dry_run) const {
    hardstore_backup_records* raw = nullptr;
    hardstore_result r =
        hardstore_backup_prune(s_, policy ? &*policy : nullptr, now_us, dry_run, &raw);
    BackupRecordList l(raw);
    detail::check(r);
    return l;
  }
  /// Runs what `sched` (nullopt: the defaults) says is due at `now_us`, then prunes;
  /// the id of the run, if one ran. Progress as for run().
  std::optional<uint64_t> run_due(uint64_t now_us, std::string_view folder,
                                  const std::optional<Schedule>& sched = std::nullopt,
                                  const std::optional<BackupKey>& key = std::nullopt,
                                  const ProgressFn& progress = nullptr) const {
    detail::ProgressCtx ctx{&progress, nullptr};
    bool ran = false;
    uint64_t id = 0;
    hardstore_result r = hardstore_backup_run_due(
        s_, now_us, detail::u8(folder), folder.size(), sched ? &*sched : nullptr,
        detail::key_ptr(key), progress ? &detail::progress_trampoline : nullptr,
        progress ? &ctx : nullptr, &ran, &id);
    if (ctx.error) std::rethrow_exception(ctx.error);
    detail::check(r);
    if (!ran) return std::nullopt;
    return id;
  }
  BackupSuccessRate success_rate(uint64_t since_us = 0) const {
    BackupSuccessRate s;
    detail::check(hardstore_backup_success_rate(s_, since_us, &s.ok, &s.failed));
    return s;
  }
  /// Starts a thread running due backups into `folder` every `check_every_ms`.
  BackupSchedule start_schedule(std::string_view folder,
                                const std::optional<Schedule>& sched,
                                const std::optional<BackupKey>& key,
                                uint64_t check_every_ms) const {
    hardstore_backup_schedule* raw = nullptr;
    hardstore_result r = hardstore_backup_schedule_start(
        s_, detail::u8(folder), folder.size(), sched ? &*sched : nullptr,
        detail::key_ptr(key), check_every_ms, &raw);
    BackupSchedule h(raw);
    detail::check(r);
    return h;
  }

 private:
  const hardstore_store* s_;
};

class Store;

/// Reads a backup file end to end (decrypting with `key` when set); what it holds.
/// Corrupted when damaged, WrongKey when encrypted and the key is missing or wrong.
inline BackupInfo backup_verify(std::string_view path,
                                const std::optional<BackupKey>& key = std::nullopt) {
  BackupInfo info{};
  if (key) {
    detail::check(
        hardstore_backup_verify_with_key(detail::u8(path), path.size(), &*key, &info));
  } else {
    detail::check(hardstore_backup_verify(detail::u8(path), path.size(), &info));
  }
  return info;
}

/// Verifies a chain (full first); what the last file holds.
inline BackupInfo backup_verify_chain(const std::vector<std::string>& paths,
                                      const std::optional<BackupKey>& key = std::nullopt) {
  detail::PathArray a(paths);
  BackupInfo info{};
  detail::check(hardstore_backup_verify_chain(a.ptrs.data(), a.lens.data(), a.ptrs.size(),
                                              detail::key_ptr(key), &info));
  return info;
}

inline BackupInfo backup_verify_chain(const BackupRecordList& chain,
                                      const std::optional<BackupKey>& key = std::nullopt) {
  return backup_verify_chain(chain.files(), key);
}

/// Writes a new store at `new_path` (must not exist) from one full backup file, created
/// with `options` (nullptr: the defaults). An encrypted file needs its `key` (the C
/// hardstore_backup_restore takes none, so that case goes through
/// hardstore_backup_restore_chain with a chain of one).
/// Writes a new store at `new_path` from the replica at `url`, through `to`
/// (HARDSTORE_RESTORE_LATEST, _CHANGE with the batch in `value`, _TIME with µs).
inline hardstore_replica_restore_info replica_restore(std::string_view url,
                                                      std::string_view new_path,
                                                      uint32_t to = HARDSTORE_RESTORE_LATEST,
                                                      uint64_t value = 0,
                                                      const Options* options = nullptr) {
  hardstore_replica_restore_info info{};
  detail::check(hardstore_replica_restore(detail::u8(url), url.size(), detail::u8(new_path),
                                          new_path.size(), to, value,
                                          options ? options->get() : nullptr, &info));
  return info;
}

inline BackupInfo backup_restore(std::string_view backup, std::string_view new_path,
                                 const std::optional<BackupKey>& key = std::nullopt,
                                 const Options* options = nullptr) {
  BackupInfo info{};
  const hardstore_options* o = options ? options->get() : nullptr;
  if (key) {
    const uint8_t* path = detail::u8(backup);
    size_t len = backup.size();
    detail::check(hardstore_backup_restore_chain(&path, &len, 1, detail::u8(new_path),
                                                 new_path.size(), o, &*key, &info));
  } else {
    detail::check(hardstore_backup_restore(detail::u8(backup), backup.size(),
                                           detail::u8(new_path), new_path.size(), o, &info));
  }
  return info;
}

/// Writes a new store at `new_path` equal to the source as of the chain's last backup.
inline BackupInfo backup_restore_chain(const std::vector<std::string>& paths,
                                       std::string_view new_path,
                                       const std::optional<BackupKey>& key = std::nullopt,
                                       const Options* options = nullptr) {
  detail::PathArray a(paths);
  BackupInfo info{};
  detail::check(hardstore_backup_restore_chain(
      a.ptrs.data(), a.lens.data(), a.ptrs.size(), detail::u8(new_path), new_path.size(),
      options ? options->get() : nullptr, detail::key_ptr(key), &info));
  return info;
}

inline BackupInfo backup_restore_chain(const BackupRecordList& chain,
                                       std::string_view new_path,
                                       const std::optional<BackupKey>& key = std::nullopt,
                                       const Options* options = nullptr) {
  return backup_restore_chain(chain.files(), new_path, key, options);
}

// ---------------------------------------------------------------------------------
// Transactions
// ---------------------------------------------------------------------------------

/// A multi-area write: operations are checked and recorded as they are added, then
/// committed atomically. The destructor discards it unless it was committed. A commit,
/// successful or not, finishes it. Use it from one thread; the Store must outlive it.
class Transaction {
 public:
  Transaction(const hardstore_store* s, Durability d) {
    hardstore_tx* raw = nullptr;
    detail::check(hardstore_tx_begin(s, static_cast<uint32_t>(d), &raw));
    p_.reset(raw);
  }
  Transaction(Transaction&&) noexcept = default;
  Transaction& operator=(Transaction&&) noexcept = default;
  ~Transaction() = default;  // hardstore_tx_free discards an uncommitted transaction

  Transaction& kv_put(std::string_view ns, bytes_view key, bytes_view value) {
    detail::check(hardstore_tx_kv_put(p_.get(), detail::u8(ns), ns.size(), key.data(),
                                      key.size(), value.data(), value.size()));
    return *this;
  }
  /// Adds `(ns, key) = plaintext` sealed for `subject`: sealed inside the commit (a new
  /// subject's data key commits with it); it must fit the value limit sealed (about 40
  /// bytes more than the plaintext). Open it with Sealing::open.
  Transaction& kv_put_sealed(std::string_view ns, bytes_view key, std::string_view subject,
                             bytes_view plaintext) {
    detail::check(hardstore_tx_kv_put_sealed(p_.get(), detail::u8(ns), ns.size(), key.data(),
                                             key.size(), detail::u8(subject), subject.size(),
                                             plaintext.data(), plaintext.size()));
    return *this;
  }
  Transaction& kv_delete(std::string_view ns, bytes_view key) {
    detail::check(
        hardstore_tx_kv_delete(p_.get(), detail::u8(ns), ns.size(), key.data(), key.size()));
    return *this;
  }
  /// Adds an audit append; its index among this transaction's appends (for audit_seq).
  size_t audit_append(const AuditEvent& event) {
    size_t index = 0;
    detail::check(hardstore_tx_audit_append(p_.get(), event.get(), &index));
    return index;
  }
  Transaction& idem_complete(const IdemToken& t, std::optional<uint16_t> status,
                             bytes_view body) {
    detail::check(hardstore_tx_idem_complete(p_.get(), t.get(), status.has_value(),
                                             status.value_or(0), body.data(), body.size()));
    return *this;
  }
  Transaction& idem_fail(const IdemToken& t, std::optional<uint16_t> status, bytes_view body) {
    detail::check(hardstore_tx_idem_fail(p_.get(), t.get(), status.has_value(),
                                         status.value_or(0), body.data(), body.size()));
    return *this;
  }
  Transaction& idem_release(const IdemToken& t) {
    detail::check(hardstore_tx_idem_release(p_.get(), t.get()));
    return *this;
  }
  Transaction& idem_save_recovery(const IdemToken& t, std::string_view name, bytes_view data) {
    detail::check(hardstore_tx_idem_save_recovery(p_.get(), t.get(), detail::u8(name),
                                                  name.size(), data.data(), data.size()));
    return *this;
  }
  Transaction& dlq_ack(const DlqClaim& c) {
    detail::check(hardstore_tx_dlq_ack(p_.get(), c.get()));
    return *this;
  }
  Transaction& dlq_fail(const DlqClaim& c, std::string_view error, bool retryable) {
    detail::check(
        hardstore_tx_dlq_fail(p_.get(), c.get(), detail::u8(error), error.size(), retryable));
    return *this;
  }
  /// Adds a dead letter; its index among this transaction's dead letters.
  size_t dlq_record(const NewDeadLetter& dl) {
    size_t index = 0;
    detail::check(hardstore_tx_dlq_record(
        p_.get(), detail::u8(dl.tenant), dl.tenant.size(), detail::u8(dl.kind),
        dl.kind.size(), dl.payload.data(), dl.payload.size(), detail::u8(dl.error),
        dl.error.size(), dl.max_attempts, dl.first_attempt_at, dl.permanent, &index));
    return index;
  }
  /// Adds a webhook message for endpoint `endpoint` of `tenant` (the transactional
  /// outbox): it commits with the rest or not at all, due at once. Checked now; the
  /// endpoint must exist at the commit (NotFound then, and nothing is written).
  Transaction& outbox_enqueue(std::string_view tenant, std::string_view endpoint,
                              std::string_view event_type, bytes_view payload) {
    detail::check(hardstore_tx_outbox_enqueue(p_.get(), detail::u8(tenant), tenant.size(),
                                              detail::u8(endpoint), endpoint.size(),
                                              detail::u8(event_type), event_type.size(),
                                              payload.data(), payload.size()));
    return *this;
  }
  /// Commits everything added, or nothing (Fenced for a stale token or claim).
  void commit() {
    detail::check(hardstore_tx_commit(p_.get()));
    committed_ = true;
  }
  /// Discards the transaction now (the destructor would too).
  void abort() noexcept { p_.reset(); }
  bool committed() const noexcept { return committed_; }
  /// After a commit: the seq of the `index`-th audit append.
  uint64_t audit_seq(size_t index) const {
    uint64_t seq = 0;
    detail::check(hardstore_tx_audit_seq(p_.get(), index, &seq));
    return seq;
  }
  /// After a commit: the id of the `index`-th dead letter.
  uint64_t dead_letter_id(size_t index) const {
    uint64_t id = 0;
    detail::check(hardstore_tx_dead_letter_id(p_.get(), index, &id));
    return id;
  }

 private:
  detail::Owned<hardstore_tx, hardstore_tx_free> p_;
  bool committed_ = false;
};

// ---------------------------------------------------------------------------------
// Store
// ---------------------------------------------------------------------------------

/// An open store. Thread-safe: one Store may be used from many threads at once.
/// The destructor closes it (ignoring errors); close() reports them.
class Store {
 public:
  /// Opens (or creates) the store at `path` with the default options.
  explicit Store(std::string_view path) { open(path, nullptr); }
  /// Opens (or creates) the store at `path` with `options` (only read; the store keeps
  /// its own reference to their sealing key source).
  Store(std::string_view path, const Options& options) : key_source_(options.key_source_) {
    open(path, options.get());
  }
  Store(Store&&) noexcept = default;
  /// Closes this store (ignoring errors), then takes `other`'s: the key source this
  /// store was opened with outlives its close.
  Store& operator=(Store&& other) noexcept {
    if (this != &other) {
      p_ = std::move(other.p_);
      key_source_ = std::move(other.key_source_);
    }
    return *this;
  }
  ~Store() = default;  // closes p_, then drops key_source_ (declared before it)

  /// Flushes and closes; the handle is gone whatever the result.
  void close() {
    hardstore_store* s = p_.release();
    hardstore_result r = hardstore_store_close(s);
    if (s) key_source_.reset();  // the library calls it no more
    detail::check(r);
  }
  bool is_open() const noexcept { return p_ != nullptr; }
  /// Makes every write acknowledged so far durable.
  void flush() const { detail::check(hardstore_store_flush(p_.get())); }
  /// Starts replicating to `url` (s3://, gs://, az://, file://): a snapshot, then every
  /// committed batch within `lag_ms`, until close.
  void replicate(std::string_view url, uint64_t lag_ms = 1000) const {
    detail::check(hardstore_store_replicate(p_.get(), detail::u8(url), url.size(), lag_ms));
  }
  /// Where replication stands (`replicating` false when this open does not replicate).
  hardstore_replication_status replication_status() const {
    hardstore_replication_status st{};
    detail::check(hardstore_store_replication_status(p_.get(), &st));
    return st;
  }
  /// The last upload's error ("" when none).
  std::string replication_last_error() const {
    return detail::take_bytes([&](hardstore_bytes** o) {
             return hardstore_replication_last_error(p_.get(), o);
           }).to_string();
  }
  /// Waits until every batch committed so far is in the replica; whether it is.
  bool wait_replicated(uint64_t timeout_ms = 30000) const {
    bool done = false;
    detail::check(hardstore_store_wait_replicated(p_.get(), timeout_ms, &done));
    return done;
  }
  StoreId id() const {
    StoreId id{};
    detail::check(hardstore_store_id(p_.get(), id.data()));
    return id;
  }

  Audit audit() const noexcept { return Audit(p_.get()); }
  Logs logs() const noexcept { return Logs(p_.get()); }
  Idempotency idempotency() const noexcept { return Idempotency(p_.get()); }
  AppState kv() const noexcept { return AppState(p_.get()); }
  DeadLetters dead_letters() const noexcept { return DeadLetters(p_.get()); }
  Alerts alerts() const noexcept { return Alerts(p_.get()); }
  RestorePoints restore_points() const noexcept { return RestorePoints(p_.get()); }
  Backups backups() const noexcept { return Backups(p_.get()); }
  StoreSettings settings() const noexcept { return StoreSettings(p_.get()); }
  RateLimits rate_limits() const noexcept { return RateLimits(p_.get()); }
  IpRules ip_rules() const noexcept { return IpRules(p_.get()); }
  Sealing sealing() const noexcept { return Sealing(p_.get()); }
  Webhooks webhooks() const noexcept { return Webhooks(p_.get()); }
  /// Runs the health checks: the fast ones, and with `deep` the integrity check (it
  /// reads the whole store). Writes nothing unless `raise_alerts`: then each component
  /// whose grade changed raises (degraded, critical) or resolves (healthy again) its
  /// alert (tenant "hardstore", source "health", dedup key the component's name).
  HealthReport health(bool deep = false, bool raise_alerts = false) const {
    detail::Owned<hardstore_health_report, hardstore_health_report_free> r;
    detail::check(hardstore_store_health(p_.get(), deep, raise_alerts, detail::out(r)));
    return detail::read_health_report(r.get());
  }
  /// Runs every cleanup that is due: expired idempotency keys, dead letters past the
  /// purge age and resolved alerts past the alert retention are deleted, at most `step`
  /// items per task (0: the default, 10,000; `more_due` says to run again); with a
  /// non-empty `backups_into` (a folder) the backup the schedule has due is run into it;
  /// backups the retention setting drops are deleted; audit payloads past the audit
  /// retention are pruned. A failed task is in `errors`.
  MaintenanceReport maintenance(size_t step = 0, std::string_view backups_into = {}) const {
    detail::Owned<hardstore_maintenance_report, hardstore_maintenance_report_free> r;
    detail::check(hardstore_store_maintenance(p_.get(), step, detail::u8(backups_into),
                                              backups_into.size(), detail::out(r)));
    return detail::read_maintenance_report(r.get());
  }
  /// What the janitor did; nullopt when the store was opened without one.
  std::optional<JanitorStatus> janitor_status() const {
    hardstore_janitor_status st{};
    detail::check(hardstore_store_janitor_status(p_.get(), &st));
    if (!st.present) return std::nullopt;
    return JanitorStatus{st.runs, st.last_run_failed, st.last_task_errors};
  }
  /// The store's figures now (reads only): audit and log entries appended, ring entries,
  /// dead letters and alerts per state, restore points, backup runs, file bytes, writes
  /// since the open, uptime.
  MetricsSnapshot metrics_snapshot() const {
    MetricsSnapshot m{};
    detail::check(hardstore_metrics_get(p_.get(), &m));
    return m;
  }
  /// Every figure, the store's then the app's, as an exposition text: the Prometheus
  /// text format 0.0.4 (Content-Type "text/plain; version=0.0.4; charset=utf-8"), or
  /// with `openmetrics` OpenMetrics 1.0 ending in "# EOF" (Content-Type
  /// "application/openmetrics-text; version=1.0.0; charset=utf-8"). Changed app
  /// counters are made durable first, so what a scrape shows never goes back.
  std::string metrics_text(bool openmetrics = false) const {
    const uint32_t format =
        openmetrics ? HARDSTORE_METRICS_OPENMETRICS : HARDSTORE_METRICS_PROMETHEUS;
    return detail::take_bytes([&](hardstore_bytes** out) {
             return hardstore_metrics_encode(p_.get(), format, out);
           })
        .to_string();
  }
  /// Adds `by` to the app counter `name` (exposed as `<name>_total`) for the labels'
  /// values, registering it on first use with `help` and the labels' names. Names are
  /// `[a-zA-Z_:][a-zA-Z0-9_:]*`, not starting `hardstore_`; a name registered as another
  /// kind or with other labels throws InvalidArgument, a new series past the store's cap
  /// LimitReached. Counters are durable (a scrape, a checkpoint or metrics_persist()
  /// writes them); `by` = 0 registers the counter, bringing its stored series back after
  /// a reopen.
  void counter_add(std::string_view name, uint64_t by = 1, const MetricLabels& labels = {},
                   std::string_view help = {}) const {
    std::vector<hardstore_label> l = detail::c_labels(labels);
    detail::check(hardstore_metrics_counter_add(p_.get(), detail::u8(name), name.size(),
                                                detail::u8(help), help.size(), l.data(),
                                                l.size(), by));
  }
  /// Sets the app gauge `name` for the labels' values (registered on first use). Gauges
  /// live in memory: 0 again at every open.
  void gauge_set(std::string_view name, int64_t value, const MetricLabels& labels = {},
                 std::string_view help = {}) const {
    std::vector<hardstore_label> l = detail::c_labels(labels);
    detail::check(hardstore_metrics_gauge_set(p_.get(), detail::u8(name), name.size(),
                                              detail::u8(help), help.size(), l.data(), l.size(),
                                              value));
  }
  /// Counts one observation of `value` in the app histogram `name` for the labels'
  /// values, registered on first use with `buckets`: the upper bounds, finite and
  /// strictly ascending, at least one (+Inf is added); every later use gives the same.
  /// Histograms live in memory.
  void histogram_observe(std::string_view name, double value, const std::vector<double>& buckets,
                         const MetricLabels& labels = {}, std::string_view help = {}) const {
    std::vector<hardstore_label> l = detail::c_labels(labels);
    detail::check(hardstore_metrics_histogram_observe(
        p_.get(), detail::u8(name), name.size(), detail::u8(help), help.size(), l.data(),
        l.size(), buckets.data(), buckets.size(), value));
  }
  /// Makes every app counter's current value durable (one durable write when any
  /// changed); returns how many series it wrote.
  uint64_t metrics_persist() const {
    uint64_t n = 0;
    detail::check(hardstore_metrics_persist(p_.get(), &n));
    return n;
  }
  /// Starts a multi-area transaction committing with `d`.
  Transaction begin(Durability d = Durability::Durable) const { return Transaction(p_.get(), d); }

  const hardstore_store* get() const noexcept { return p_.get(); }

 private:
  void open(std::string_view path, const hardstore_options* o) {
    hardstore_store* raw = nullptr;
    detail::check(hardstore_store_open(detail::u8(path), path.size(), o, &raw));
    p_.reset(raw);
  }
  // Declared before p_, so destroyed after the store is closed.
  std::shared_ptr<const detail::KeySourceCtx> key_source_;
  detail::Owned<hardstore_store, hardstore_store_close> p_;
};

}  // namespace hardstore

#endif  // HARDSTORE_HPP
