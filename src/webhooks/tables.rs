//! The webhook outbox's tables. Only this module and `mod.rs` write them.
//!
//! Tables (prefix `webhooks.`):
//! - `ENDPOINTS`: (tenant, endpoint) -> endpoint record: URL, secrets, enabled, the
//!   failed attempts in a row. Kept across restores (configuration, like IP rules).
//! - `FRESH`: id -> message record, for every message never claimed: an enqueue writes
//!   this table only (ids grow, so id order is due order). Mutable state: a restore point
//!   rolls the outbox back with the app state its messages were committed with.
//! - `MESSAGES`: id -> message record, for every message claimed at least once and not
//!   yet delivered or given up. Mutable state, as `FRESH`.
//! - `DUE`: (due at, id) -> (), one row per `MESSAGES` row: its next attempt, or while
//!   leased the lease's end (a lapsed lease is due again: at-least-once).
//! - `META`: "next_id" -> a bound above every message id handed out: ids are reserved
//!   in blocks (the enqueue that passes the bound moves it, in its transaction), so ids
//!   and `webhook-id`s are never reused, across crashes and restores, while an enqueue
//!   writes one table.
//!
//! Invariants: a message is in `FRESH` or in `MESSAGES`, never both; every `MESSAGES`
//! row has exactly one `DUE` row, at `next_at` when not leased and at `leased_until`
//! when leased; every id ever handed out is below the committed `META` bound.

use redb::TableDefinition;
use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::engine::catalog::{CatalogTable, Flags, Table};

pub(crate) const ENDPOINTS: TableDefinition<(&str, &str), &[u8]> =
    TableDefinition::new("webhooks.endpoints");
pub(crate) const MESSAGES: TableDefinition<u64, &[u8]> = TableDefinition::new("webhooks.messages");
pub(crate) const FRESH: TableDefinition<u64, &[u8]> = TableDefinition::new("webhooks.fresh");
pub(crate) const DUE: TableDefinition<(u64, u64), ()> = TableDefinition::new("webhooks.due");
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("webhooks.meta");
pub(crate) const NEXT_ID: &str = "next_id";

pub(crate) static TABLES: [&dyn CatalogTable; 5] = [
    &Table::new(37, ENDPOINTS, Flags::KEPT),
    &Table::new(38, MESSAGES, Flags::MUTABLE),
    &Table::new(39, DUE, Flags::MUTABLE),
    &Table::new(40, META, Flags::KEPT),
    &Table::new(41, FRESH, Flags::MUTABLE),
];

/// Ids reserved at a time.
pub(crate) const ID_BLOCK: u64 = 65_536;

/// An endpoint (record version 1). Never change it: add a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredEndpoint {
    pub(crate) url: String,
    /// Secret bytes, newest first (all sign during a rotation).
    pub(crate) secrets: Vec<Vec<u8>>,
    pub(crate) enabled: bool,
    /// Failed attempts since the last delivery.
    pub(crate) failing: u32,
    pub(crate) disabled_at: Timestamp,
}

/// A message (record version 1). Never change it: add a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredMessage {
    pub(crate) tenant: String,
    pub(crate) endpoint: String,
    pub(crate) event_type: String,
    pub(crate) payload: Vec<u8>,
    pub(crate) created_at: Timestamp,
    /// Attempts claimed so far.
    pub(crate) attempts: u32,
    pub(crate) next_at: Timestamp,
    /// 0 when not leased.
    pub(crate) leased_until: Timestamp,
    /// The current lease's fence token.
    pub(crate) lease: u64,
    pub(crate) last_error: String,
}
