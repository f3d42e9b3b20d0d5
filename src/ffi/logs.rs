//! The C ABI for the log ring: records, appends, queries through an iterator, stats.

use super::bytes::{give_bytes, hardstore_bytes};
use super::store::{durability_arg, hardstore_store};
use super::{arg, arg_mut, free_box, guard, hardstore_result, out, str_arg, FfiResult};
use crate::error::Error;
use crate::logs::{limits, Level, LogCursor, LogEntry, LogError, LogQuery, LogRecord, LogStats};

/// A log record being built: `hardstore_log_record_new`, setters, then
/// `hardstore_logs_append`. Free with `hardstore_log_record_free`.
pub struct hardstore_log_record {
    inner: LogRecord,
}

/// A log entry borrowed from a `hardstore_logs_iter`, valid until the iterator is freed.
pub struct hardstore_log_entry {
    inner: LogEntry,
}

/// A log query being built. Free with `hardstore_logs_query_free`.
pub struct hardstore_logs_query {
    inner: LogQuery,
}

/// One page of log query results. Free with `hardstore_logs_iter_free`.
pub struct hardstore_logs_iter {
    entries: Vec<hardstore_log_entry>,
    pos: usize,
    next: Option<LogCursor>,
}

/// Stats over a window of the ring. Free with `hardstore_log_stats_free`.
pub struct hardstore_log_stats {
    inner: LogStats,
}

/// Level values: trace.
pub const HARDSTORE_LEVEL_TRACE: u32 = 0;
/// Level debug.
pub const HARDSTORE_LEVEL_DEBUG: u32 = 1;
/// Level info.
pub const HARDSTORE_LEVEL_INFO: u32 = 2;
/// Level warn.
pub const HARDSTORE_LEVEL_WARN: u32 = 3;
/// Level error.
pub const HARDSTORE_LEVEL_ERROR: u32 = 4;
/// Level fatal.
pub const HARDSTORE_LEVEL_FATAL: u32 = 5;

/// Log entry string fields for `hardstore_log_entry_field`: the message.
pub const HARDSTORE_LOG_MESSAGE: u32 = 0;
/// The target.
pub const HARDSTORE_LOG_TARGET: u32 = 1;
/// The tenant.
pub const HARDSTORE_LOG_TENANT: u32 = 2;
/// The user.
pub const HARDSTORE_LOG_USER: u32 = 3;
/// The endpoint.
pub const HARDSTORE_LOG_ENDPOINT: u32 = 4;
/// The error message (empty when the entry has no error).
pub const HARDSTORE_LOG_ERROR: u32 = 5;

/// Longest log message, in bytes.
pub const HARDSTORE_LIMIT_LOG_MESSAGE: usize = 8192;

const _: () = assert!(HARDSTORE_LIMIT_LOG_MESSAGE == limits::MESSAGE);

/// The totals of `hardstore_log_stats`.
#[repr(C)]
pub struct hardstore_log_totals {
    /// Entries in the window.
    pub total: u64,
    /// Entries per level, indexed by `HARDSTORE_LEVEL_*`.
    pub per_level: [u64; 6],
    /// Error and fatal entries over total; 0 for an empty window.
    pub error_rate: f64,
    /// How many endpoints `hardstore_log_stats_endpoint` can return.
    pub endpoints: usize,
}

/// One endpoint's figures, from `hardstore_log_stats_endpoint`.
#[repr(C)]
pub struct hardstore_endpoint_stats {
    /// The endpoint name (UTF-8, not NUL-terminated), valid as long as the stats.
    pub endpoint: *const u8,
    /// Its length in bytes.
    pub endpoint_len: usize,
    /// Entries for it.
    pub count: u64,
    /// Of those, at level error or fatal.
    pub errors: u64,
    /// Whether any entry had a duration; the two fields below are 0 otherwise.
    pub has_duration: bool,
    /// Mean duration, microseconds.
    pub mean_duration_us: f64,
    /// 95th percentile duration (nearest rank), microseconds.
    pub p95_duration_us: u64,
}

fn level_arg(level: u32) -> FfiResult<Level> {
    u8::try_from(level)
        .ok()
        .and_then(Level::from_u8)
        .ok_or_else(|| Error::InvalidArgument(format!("level {level} is not 0..=5")).into())
}

/// Creates a record with a level (`HARDSTORE_LEVEL_*`) and a UTF-8 message of at most
/// 8192 bytes (a longer one is refused, never cut). The caller owns `*out_record`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_log_record_new(
    level: u32,
    message: *const u8,
    message_len: usize,
    out_record: *mut *mut hardstore_log_record,
) -> hardstore_result {
    guard(|| {
        let level = level_arg(level)?;
        let m = str_arg(message, message_len, "message", limits::MESSAGE)?;
        let o = out(out_record, "out_record")?;
        *o = Box::into_raw(Box::new(hardstore_log_record {
            inner: LogRecord::new(level, m),
        }));
        Ok(())
    })
}

unsafe fn set_str(
    record: *mut hardstore_log_record,
    value: *const u8,
    value_len: usize,
    name: &'static str,
    max: usize,
    field: fn(&mut LogRecord) -> &mut String,
) -> hardstore_result {
    guard(|| {
        let r = arg_mut(record, "record")?;
        let v = str_arg(value, value_len, name, max)?;
        *field(&mut r.inner) = v.to_owned();
        Ok(())
    })
}

/// Sets the target (at most 256 bytes). On error the record is unchanged.
#[no_mangle]
pub unsafe extern "C" fn hardstore_log_record_set_target(
    record: *mut hardstore_log_record,
    value: *const u8,
    value_len: usize,
) -> hardstore_result {
    set_str(record, value, value_len, "target", limits::TARGET, |r| {
        &mut r.target
    })
}

/// Sets the tenant (at most 128 bytes). On error the record is unchanged.
#[no_mangle]
pub unsafe extern "C" fn hardstore_log_record_set_tenant(
    record: *mut hardstore_log_record,
    value: *const u8,
    value_len: usize,
) -> hardstore_result {
    set_str(record, value, value_len, "tenant", limits::TENANT, |r| {
        &mut r.tenant
    })
}

/// Sets the user (at most 256 bytes). On error the record is unchanged.
#[no_mangle]
pub unsafe extern "C" fn hardstore_log_record_set_user(
    record: *mut hardstore_log_record,
    value: *const u8,
    value_len: usize,
) -> hardstore_result {
    set_str(record, value, value_len, "user", limits::USER, |r| {
        &mut r.user
    })
}

/// Sets the endpoint (at most 256 bytes). On error the record is unchanged.
#[no_mangle]
pub unsafe extern "C" fn hardstore_log_record_set_endpoint(
    record: *mut hardstore_log_record,
    value: *const u8,
    value_len: usize,
) -> hardstore_result {
    set_str(
        record,
        value,
        value_len,
        "endpoint",
        limits::ENDPOINT,
        |r| &mut r.endpoint,
    )
}

/// Sets the response status code.
#[no_mangle]
pub unsafe extern "C" fn hardstore_log_record_set_status(
    record: *mut hardstore_log_record,
    status: u16,
) -> hardstore_result {
    guard(|| {
        arg_mut(record, "record")?.inner.status = Some(status);
        Ok(())
    })
}

/// Sets the duration in microseconds.
#[no_mangle]
pub unsafe extern "C" fn hardstore_log_record_set_duration_us(
    record: *mut hardstore_log_record,
    duration_us: u64,
) -> hardstore_result {
    guard(|| {
        arg_mut(record, "record")?.inner.duration_us = Some(duration_us);
        Ok(())
    })
}

/// Sets the error message (at most 4096 bytes), keeping causes added so far.
#[no_mangle]
pub unsafe extern "C" fn hardstore_log_record_set_error(
    record: *mut hardstore_log_record,
    message: *const u8,
    message_len: usize,
) -> hardstore_result {
    guard(|| {
        let r = arg_mut(record, "record")?;
        let m = str_arg(message, message_len, "error message", limits::ERROR)?;
        r.inner.error.get_or_insert_with(LogError::default).message = m.to_owned();
        Ok(())
    })
}

/// Adds a cause (or stack line, at most 1024 bytes; at most 32) to the error.
#[no_mangle]
pub unsafe extern "C" fn hardstore_log_record_add_cause(
    record: *mut hardstore_log_record,
    cause: *const u8,
    cause_len: usize,
) -> hardstore_result {
    guard(|| {
        let r = arg_mut(record, "record")?;
        let c = str_arg(cause, cause_len, "error cause", limits::CAUSE)?;
        let e = r.inner.error.get_or_insert_with(LogError::default);
        if e.causes.len() >= limits::CAUSES {
            return Err(Error::TooLong {
                field: "error causes",
                len: e.causes.len() + 1,
                max: limits::CAUSES,
            }
            .into());
        }
        e.causes.push(c.to_owned());
        Ok(())
    })
}

/// Adds a field: key 1..=128 bytes, value at most 2048 bytes, at most 32 fields.
#[no_mangle]
pub unsafe extern "C" fn hardstore_log_record_add_field(
    record: *mut hardstore_log_record,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
) -> hardstore_result {
    guard(|| {
        let r = arg_mut(record, "record")?;
        let k = str_arg(key, key_len, "field key", limits::FIELD_KEY)?;
        let v = str_arg(value, value_len, "field value", limits::FIELD_VALUE)?;
        if k.is_empty() {
            return Err(Error::InvalidArgument("field key must not be empty".into()).into());
        }
        if r.inner.fields.len() >= limits::FIELDS {
            return Err(Error::TooLong {
                field: "fields (pairs)",
                len: r.inner.fields.len() + 1,
                max: limits::FIELDS,
            }
            .into());
        }
        r.inner.fields.push((k.to_owned(), v.to_owned()));
        Ok(())
    })
}

/// Frees a record. NULL is allowed.
#[no_mangle]
pub unsafe extern "C" fn hardstore_log_record_free(record: *mut hardstore_log_record) {
    free_box(record);
}

/// Appends `record` (only read) to the ring and writes its seq to `out_seq`.
/// `HARDSTORE_BUFFERED` returns at once; `HARDSTORE_DURABLE` once it is on disk.
#[no_mangle]
pub unsafe extern "C" fn hardstore_logs_append(
    store: *const hardstore_store,
    record: *const hardstore_log_record,
    durability: u32,
    out_seq: *mut u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let r = arg(record, "record")?;
        let o = out(out_seq, "out_seq")?;
        let d = durability_arg(durability)?;
        *o = s.store.logs().append(r.inner.clone(), d)?;
        Ok(())
    })
}

/// Writes the live seq range: the ring holds `[*out_oldest, *out_next)`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_logs_range(
    store: *const hardstore_store,
    out_oldest: *mut u64,
    out_next: *mut u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let (a, b) = (out(out_oldest, "out_oldest")?, out(out_next, "out_next")?);
        let (oldest, next) = s.store.logs().range()?;
        *a = oldest;
        *b = next;
        Ok(())
    })
}

/// Creates a query matching every entry, newest first, 100 a page. Caller owns it.
#[no_mangle]
pub unsafe extern "C" fn hardstore_logs_query_new(
    out_query: *mut *mut hardstore_logs_query,
) -> hardstore_result {
    guard(|| {
        let o = out(out_query, "out_query")?;
        *o = Box::into_raw(Box::new(hardstore_logs_query {
            inner: LogQuery::new(),
        }));
        Ok(())
    })
}

/// Only entries at `level` (`HARDSTORE_LEVEL_*`) or above.
#[no_mangle]
pub unsafe extern "C" fn hardstore_logs_query_set_min_level(
    query: *mut hardstore_logs_query,
    level: u32,
) -> hardstore_result {
    guard(|| {
        let q = arg_mut(query, "query")?;
        q.inner.min_level = Some(level_arg(level)?);
        Ok(())
    })
}

unsafe fn set_query_str(
    query: *mut hardstore_logs_query,
    value: *const u8,
    value_len: usize,
    name: &'static str,
    max: usize,
    field: fn(&mut LogQuery) -> &mut Option<String>,
) -> hardstore_result {
    guard(|| {
        let q = arg_mut(query, "query")?;
        let v = str_arg(value, value_len, name, max)?;
        *field(&mut q.inner) = Some(v.to_owned());
        Ok(())
    })
}

/// Only entries of this tenant.
#[no_mangle]
pub unsafe extern "C" fn hardstore_logs_query_set_tenant(
    query: *mut hardstore_logs_query,
    tenant: *const u8,
    tenant_len: usize,
) -> hardstore_result {
    set_query_str(query, tenant, tenant_len, "tenant", limits::TENANT, |q| {
        &mut q.tenant
    })
}

/// Only entries of this user.
#[no_mangle]
pub unsafe extern "C" fn hardstore_logs_query_set_user(
    query: *mut hardstore_logs_query,
    user: *const u8,
    user_len: usize,
) -> hardstore_result {
    set_query_str(query, user, user_len, "user", limits::USER, |q| &mut q.user)
}

/// Only entries of this endpoint.
#[no_mangle]
pub unsafe extern "C" fn hardstore_logs_query_set_endpoint(
    query: *mut hardstore_logs_query,
    endpoint: *const u8,
    endpoint_len: usize,
) -> hardstore_result {
    set_query_str(
        query,
        endpoint,
        endpoint_len,
        "endpoint",
        limits::ENDPOINT,
        |q| &mut q.endpoint,
    )
}

/// Only entries whose message contains `text` (case-sensitive).
#[no_mangle]
pub unsafe extern "C" fn hardstore_logs_query_set_text(
    query: *mut hardstore_logs_query,
    text: *const u8,
    text_len: usize,
) -> hardstore_result {
    set_query_str(query, text, text_len, "text", limits::MESSAGE, |q| {
        &mut q.text
    })
}

/// Only entries with `from <= time < until` (0 and `UINT64_MAX` for no bound).
#[no_mangle]
pub unsafe extern "C" fn hardstore_logs_query_set_time_range(
    query: *mut hardstore_logs_query,
    from: u64,
    until: u64,
) -> hardstore_result {
    guard(|| {
        let q = arg_mut(query, "query")?;
        if from > until {
            return Err(Error::InvalidArgument("time range starts after it ends".into()).into());
        }
        q.inner.from = (from > 0).then_some(from);
        q.inner.until = (until < u64::MAX).then_some(until);
        Ok(())
    })
}

/// Oldest first when `oldest_first` is true (default newest first).
#[no_mangle]
pub unsafe extern "C" fn hardstore_logs_query_set_oldest_first(
    query: *mut hardstore_logs_query,
    oldest_first: bool,
) -> hardstore_result {
    guard(|| {
        arg_mut(query, "query")?.inner.oldest_first = oldest_first;
        Ok(())
    })
}

/// The most entries a page returns, 1..=10000.
#[no_mangle]
pub unsafe extern "C" fn hardstore_logs_query_set_limit(
    query: *mut hardstore_logs_query,
    limit: usize,
) -> hardstore_result {
    guard(|| {
        let q = arg_mut(query, "query")?;
        if limit == 0 || limit > crate::logs::MAX_LOG_PAGE {
            return Err(
                Error::InvalidArgument(format!("limit {limit} is outside 1..=10000")).into(),
            );
        }
        q.inner.limit = limit;
        Ok(())
    })
}

/// Continue after the page whose cursor is given (from `hardstore_logs_iter_cursor`).
#[no_mangle]
pub unsafe extern "C" fn hardstore_logs_query_set_cursor(
    query: *mut hardstore_logs_query,
    cursor: *const u8,
    cursor_len: usize,
) -> hardstore_result {
    guard(|| {
        let q = arg_mut(query, "query")?;
        let c = LogCursor::from_bytes(super::bytes_arg(cursor, cursor_len, "cursor")?)?;
        q.inner.cursor = Some(c);
        Ok(())
    })
}

/// Frees a query. NULL is allowed.
#[no_mangle]
pub unsafe extern "C" fn hardstore_logs_query_free(query: *mut hardstore_logs_query) {
    free_box(query);
}

/// Runs `query` (only read) into a new `*out_iter` holding one page, owned by the caller.
#[no_mangle]
pub unsafe extern "C" fn hardstore_logs_query_run(
    store: *const hardstore_store,
    query: *const hardstore_logs_query,
    out_iter: *mut *mut hardstore_logs_iter,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let q = arg(query, "query")?;
        let o = out(out_iter, "out_iter")?;
        let page = s.store.logs().query(&q.inner)?;
        *o = Box::into_raw(Box::new(hardstore_logs_iter {
            entries: page
                .entries
                .into_iter()
                .map(|inner| hardstore_log_entry { inner })
                .collect(),
            pos: 0,
            next: page.next,
        }));
        Ok(())
    })
}

/// Writes the next entry to `*out_entry`, or NULL at the end of the page. The entry is
/// borrowed from the iterator.
#[no_mangle]
pub unsafe extern "C" fn hardstore_logs_iter_next(
    iter: *mut hardstore_logs_iter,
    out_entry: *mut *const hardstore_log_entry,
) -> hardstore_result {
    guard(|| {
        let it = arg_mut(iter, "iter")?;
        let o = out(out_entry, "out_entry")?;
        *o = match it.entries.get(it.pos) {
            Some(e) => {
                it.pos += 1;
                e as *const hardstore_log_entry
            }
            None => std::ptr::null(),
        };
        Ok(())
    })
}

/// Writes the next page's cursor to a new `*out_cursor` (owned by the caller), or NULL
/// when nothing more matches.
#[no_mangle]
pub unsafe extern "C" fn hardstore_logs_iter_cursor(
    iter: *const hardstore_logs_iter,
    out_cursor: *mut *mut hardstore_bytes,
) -> hardstore_result {
    guard(|| {
        let it = arg(iter, "iter")?;
        let o = out(out_cursor, "out_cursor")?;
        match &it.next {
            Some(c) => give_bytes(c.to_bytes(), o),
            None => *o = std::ptr::null_mut(),
        }
        Ok(())
    })
}

/// Frees an iterator and the entries borrowed from it. NULL is allowed.
#[no_mangle]
pub unsafe extern "C" fn hardstore_logs_iter_free(iter: *mut hardstore_logs_iter) {
    free_box(iter);
}

/// The entry's seq; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn hardstore_log_entry_seq(entry: *const hardstore_log_entry) -> u64 {
    entry.as_ref().map_or(0, |e| e.inner.seq)
}

/// The entry's time, microseconds since the epoch; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn hardstore_log_entry_time(entry: *const hardstore_log_entry) -> u64 {
    entry.as_ref().map_or(0, |e| e.inner.time)
}

/// The entry's level (`HARDSTORE_LEVEL_*`); 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn hardstore_log_entry_level(entry: *const hardstore_log_entry) -> u32 {
    entry.as_ref().map_or(0, |e| e.inner.level as u32)
}

/// Writes the status code to `out_status`; `HARDSTORE_NOT_FOUND` if the entry has none.
#[no_mangle]
pub unsafe extern "C" fn hardstore_log_entry_status(
    entry: *const hardstore_log_entry,
    out_status: *mut u16,
) -> hardstore_result {
    guard(|| {
        let e = arg(entry, "entry")?;
        let o = out(out_status, "out_status")?;
        *o = e
            .inner
            .status
            .ok_or_else(|| Error::NotFound("the entry has no status".into()))?;
        Ok(())
    })
}

/// Writes the duration to `out_duration_us`; `HARDSTORE_NOT_FOUND` if it has none.
#[no_mangle]
pub unsafe extern "C" fn hardstore_log_entry_duration_us(
    entry: *const hardstore_log_entry,
    out_duration_us: *mut u64,
) -> hardstore_result {
    guard(|| {
        let e = arg(entry, "entry")?;
        let o = out(out_duration_us, "out_duration_us")?;
        *o = e
            .inner
            .duration_us
            .ok_or_else(|| Error::NotFound("the entry has no duration".into()))?;
        Ok(())
    })
}

/// Points the out-parameters at a string field (`HARDSTORE_LOG_*`): UTF-8, not
/// NUL-terminated, valid as long as the entry.
#[no_mangle]
pub unsafe extern "C" fn hardstore_log_entry_field(
    entry: *const hardstore_log_entry,
    field: u32,
    out_ptr: *mut *const u8,
    out_len: *mut usize,
) -> hardstore_result {
    guard(|| {
        let e = &arg(entry, "entry")?.inner;
        let (p, l) = (out(out_ptr, "out_ptr")?, out(out_len, "out_len")?);
        let v: &str = match field {
            HARDSTORE_LOG_MESSAGE => &e.message,
            HARDSTORE_LOG_TARGET => &e.target,
            HARDSTORE_LOG_TENANT => &e.tenant,
            HARDSTORE_LOG_USER => &e.user,
            HARDSTORE_LOG_ENDPOINT => &e.endpoint,
            HARDSTORE_LOG_ERROR => e.error.as_ref().map_or("", |x| x.message.as_str()),
            other => {
                return Err(Error::InvalidArgument(format!("unknown log field {other}")).into())
            }
        };
        *p = v.as_ptr();
        *l = v.len();
        Ok(())
    })
}

/// The number of error causes; 0 for NULL or no error.
#[no_mangle]
pub unsafe extern "C" fn hardstore_log_entry_cause_count(
    entry: *const hardstore_log_entry,
) -> usize {
    entry
        .as_ref()
        .and_then(|e| e.inner.error.as_ref())
        .map_or(0, |x| x.causes.len())
}

/// Points the out-parameters at cause `index`. `HARDSTORE_NOT_FOUND` past the last.
#[no_mangle]
pub unsafe extern "C" fn hardstore_log_entry_cause(
    entry: *const hardstore_log_entry,
    index: usize,
    out_ptr: *mut *const u8,
    out_len: *mut usize,
) -> hardstore_result {
    guard(|| {
        let e = &arg(entry, "entry")?.inner;
        let (p, l) = (out(out_ptr, "out_ptr")?, out(out_len, "out_len")?);
        let c = e
            .error
            .as_ref()
            .and_then(|x| x.causes.get(index))
            .ok_or_else(|| Error::NotFound(format!("cause {index}")))?;
        *p = c.as_ptr();
        *l = c.len();
        Ok(())
    })
}

/// The number of fields; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn hardstore_log_entry_field_count(
    entry: *const hardstore_log_entry,
) -> usize {
    entry.as_ref().map_or(0, |e| e.inner.fields.len())
}

/// Points the out-parameters at field `index`. `HARDSTORE_NOT_FOUND` past the last.
#[no_mangle]
pub unsafe extern "C" fn hardstore_log_entry_kv(
    entry: *const hardstore_log_entry,
    index: usize,
    out_key: *mut *const u8,
    out_key_len: *mut usize,
    out_value: *mut *const u8,
    out_value_len: *mut usize,
) -> hardstore_result {
    guard(|| {
        let e = &arg(entry, "entry")?.inner;
        let (kp, kl) = (out(out_key, "out_key")?, out(out_key_len, "out_key_len")?);
        let (vp, vl) = (
            out(out_value, "out_value")?,
            out(out_value_len, "out_value_len")?,
        );
        let (k, v) = e
            .fields
            .get(index)
            .ok_or_else(|| Error::NotFound(format!("field {index}")))?;
        *kp = k.as_ptr();
        *kl = k.len();
        *vp = v.as_ptr();
        *vl = v.len();
        Ok(())
    })
}

/// Computes stats over entries with `from <= time < until` (0 and `UINT64_MAX` for no
/// bound) into a new `*out_stats`, owned by the caller (`hardstore_log_stats_free`).
#[no_mangle]
pub unsafe extern "C" fn hardstore_logs_stats(
    store: *const hardstore_store,
    from: u64,
    until: u64,
    out_stats: *mut *mut hardstore_log_stats,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_stats, "out_stats")?;
        let inner = s.store.logs().stats(
            (from > 0).then_some(from),
            (until < u64::MAX).then_some(until),
        )?;
        *o = Box::into_raw(Box::new(hardstore_log_stats { inner }));
        Ok(())
    })
}

/// Writes the totals to `*out_totals`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_log_stats_totals(
    stats: *const hardstore_log_stats,
    out_totals: *mut hardstore_log_totals,
) -> hardstore_result {
    guard(|| {
        let s = &arg(stats, "stats")?.inner;
        let o = out(out_totals, "out_totals")?;
        *o = hardstore_log_totals {
            total: s.total,
            per_level: s.per_level,
            error_rate: s.error_rate,
            endpoints: s.endpoints.len(),
        };
        Ok(())
    })
}

/// Writes endpoint `index`'s figures (endpoints sorted by name) to `*out_endpoint`.
/// `HARDSTORE_NOT_FOUND` past the last.
#[no_mangle]
pub unsafe extern "C" fn hardstore_log_stats_endpoint(
    stats: *const hardstore_log_stats,
    index: usize,
    out_endpoint: *mut hardstore_endpoint_stats,
) -> hardstore_result {
    guard(|| {
        let s = &arg(stats, "stats")?.inner;
        let o = out(out_endpoint, "out_endpoint")?;
        let e = s
            .endpoints
            .get(index)
            .ok_or_else(|| Error::NotFound(format!("endpoint {index}")))?;
        *o = hardstore_endpoint_stats {
            endpoint: e.endpoint.as_ptr(),
            endpoint_len: e.endpoint.len(),
            count: e.count,
            errors: e.errors,
            has_duration: e.mean_duration_us.is_some(),
            mean_duration_us: e.mean_duration_us.unwrap_or(0.0),
            p95_duration_us: e.p95_duration_us.unwrap_or(0),
        };
        Ok(())
    })
}

/// Frees stats. NULL is allowed.
#[no_mangle]
pub unsafe extern "C" fn hardstore_log_stats_free(stats: *mut hardstore_log_stats) {
    free_box(stats);
}
