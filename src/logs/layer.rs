//! A `tracing` layer that feeds the log ring (cargo feature `tracing`).
//!
//! ```ignore
//! use tracing_subscriber::prelude::*;
//! let store = hardstore::Store::open("app.hardstore", hardstore::Options::new())?;
//! tracing_subscriber::registry().with(hardstore::logs::RingLayer::new(store.clone())).init();
//! tracing::info!(tenant = "acme", endpoint = "POST /checkout", status = 200u16, "order placed");
//! ```
//!
//! Mapping: the event's level (TRACE..ERROR), target and `message` field; the fields
//! `tenant`, `user`, `endpoint`, `status` (a number) and `duration_us` (a number) fill
//! the entry's columns of those names, from the event or any enclosing span; every other
//! field of the event and its spans (outermost span first) becomes a field of the entry.
//!
//! The layer never blocks on disk and never panics the application: it queues entries
//! with [`Logs::try_append`](crate::logs::Logs::try_append), and an entry that cannot be
//! queued (invalid, store closed or failing, queue full) is dropped and counted
//! ([`RingLayer::dropped`]).

use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::logs::{Level, LogRecord};
use crate::store::Store;

/// The layer. Cheap to clone the store into; see the module docs.
#[derive(Debug, Clone)]
pub struct RingLayer {
    store: Store,
}

impl RingLayer {
    /// A layer appending to `store`'s log ring.
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Entries dropped since the store was opened (see the module docs).
    pub fn dropped(&self) -> u64 {
        self.store.logs().dropped()
    }
}

/// Fields recorded on a span, kept in its extensions.
#[derive(Default)]
struct SpanFields(Vec<(String, String)>);

/// Collects an event's or span's fields.
#[derive(Default)]
struct Collect {
    message: Option<String>,
    fields: Vec<(String, String)>,
}

impl Visit for Collect {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let mut s = String::new();
        let _ = write!(s, "{value:?}");
        self.push(field.name(), s);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field.name(), value.to_owned());
    }
}

impl Collect {
    fn push(&mut self, name: &str, value: String) {
        if name == "message" {
            self.message = Some(value);
        } else {
            self.fields.push((name.to_owned(), value));
        }
    }
}

fn level_of(l: &tracing::Level) -> Level {
    match *l {
        tracing::Level::TRACE => Level::Trace,
        tracing::Level::DEBUG => Level::Debug,
        tracing::Level::INFO => Level::Info,
        tracing::Level::WARN => Level::Warn,
        _ => Level::Error,
    }
}

/// Moves the well-known fields into the record's columns; the rest stay fields.
fn place(rec: &mut LogRecord, fields: Vec<(String, String)>) {
    for (k, v) in fields {
        match k.as_str() {
            "tenant" => rec.tenant = v,
            "user" => rec.user = v,
            "endpoint" => rec.endpoint = v,
            "status" => match v.parse() {
                Ok(s) => rec.status = Some(s),
                Err(_) => rec.fields.push((k, v)),
            },
            "duration_us" => match v.parse() {
                Ok(d) => rec.duration_us = Some(d),
                Err(_) => rec.fields.push((k, v)),
            },
            _ => rec.fields.push((k, v)),
        }
    }
}

impl<S> Layer<S> for RingLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let _ = catch_unwind(AssertUnwindSafe(|| {
            let mut c = Collect::default();
            attrs.record(&mut c);
            if let Some(span) = ctx.span(id) {
                span.extensions_mut().insert(SpanFields(c.fields));
            }
        }));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let _ = catch_unwind(AssertUnwindSafe(|| {
            let mut c = Collect::default();
            values.record(&mut c);
            if let Some(span) = ctx.span(id) {
                let mut ext = span.extensions_mut();
                match ext.get_mut::<SpanFields>() {
                    Some(f) => f.0.extend(c.fields),
                    None => ext.insert(SpanFields(c.fields)),
                }
            }
        }));
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let done = catch_unwind(AssertUnwindSafe(|| {
            let meta = event.metadata();
            let mut c = Collect::default();
            event.record(&mut c);
            let mut rec = LogRecord::new(level_of(meta.level()), c.message.unwrap_or_default())
                .target(meta.target());
            if let Some(scope) = ctx.event_scope(event) {
                for span in scope.from_root() {
                    if let Some(f) = span.extensions().get::<SpanFields>() {
                        place(&mut rec, f.0.clone());
                    }
                }
            }
            place(&mut rec, c.fields);
            self.store.logs().try_append(rec)
        }));
        if done.is_err() {
            if let Ok(q) = self.store.shared::<super::LogQueue>() {
                q.count_dropped();
            }
        }
    }
}
