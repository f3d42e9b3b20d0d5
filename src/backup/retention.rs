//! Retention: which backups to delete, never one a kept backup depends on.
//!
//! Full backups are kept while younger than `max_age` and while among the newest
//! `keep_fulls`; the newest successful full backup is always kept. An incremental or
//! differential is kept exactly when the full backup its chain starts from is kept (it
//! is useless without it, and every backup it depends on is in that chain). Runs that
//! failed or were interrupted are dropped from the catalog once older than the oldest
//! kept full backup.

use super::catalog::{self, BackupKind, BackupRecord, BackupResult};
use super::{BackupLock, Backups};
use crate::clock::Timestamp;
use crate::error::Result;
use crate::options::Durability;

pub use crate::engine::values::Retention;

impl Retention {
    /// The runs of `all` (oldest first) that the policy drops as of `now`.
    fn expired(&self, all: &[BackupRecord], now: Timestamp) -> Vec<BackupRecord> {
        let fulls: Vec<&BackupRecord> = all
            .iter()
            .filter(|r| r.kind == BackupKind::Full && r.result == BackupResult::Ok)
            .collect();
        let cutoff = self
            .max_age
            .map(|a| now.saturating_sub(a.as_micros() as u64));
        let keep_full = |rank_from_newest: usize, r: &BackupRecord| {
            rank_from_newest == 0
                || (cutoff.is_none_or(|c| r.started >= c)
                    && self.keep_fulls.is_none_or(|n| rank_from_newest < n))
        };
        let kept_fulls: Vec<u64> = fulls
            .iter()
            .rev()
            .enumerate()
            .filter(|(i, r)| keep_full(*i, r))
            .map(|(_, r)| r.id)
            .collect();
        let oldest_kept = all
            .iter()
            .filter(|r| kept_fulls.contains(&r.id))
            .map(|r| r.started)
            .min();
        let root_of = |r: &BackupRecord| {
            let mut at = r;
            while let Some(b) = at.base {
                match all.iter().find(|x| x.id == b) {
                    Some(x) => at = x,
                    None => return None,
                }
            }
            Some(at.id)
        };
        all.iter()
            .filter(|r| match r.result {
                BackupResult::Ok => !root_of(r).is_some_and(|root| kept_fulls.contains(&root)),
                BackupResult::Running => false,
                BackupResult::Failed | BackupResult::Interrupted => {
                    oldest_kept.is_some_and(|t| r.started < t)
                }
            })
            .cloned()
            .collect()
    }
}

impl Backups<'_> {
    /// Deletes the backups `policy` drops as of `now` (files first, then their catalog
    /// rows, so a crash in between leaves rows a later prune finishes) and returns them.
    /// With `dry_run`, deletes nothing and returns what would go.
    pub fn prune(
        &self,
        policy: &Retention,
        now: Timestamp,
        dry_run: bool,
    ) -> Result<Vec<BackupRecord>> {
        let _one_at_a_time = self.store.shared::<BackupLock>()?.0.lock();
        let all = catalog::list(&self.store.begin_read()?)?;
        let gone = policy.expired(&all, now);
        if dry_run || gone.is_empty() {
            return Ok(gone);
        }
        for r in gone.iter().filter(|r| r.result == BackupResult::Ok) {
            super::remove_if_present(r.path())?;
        }
        let ids: Vec<u64> = gone.iter().map(|r| r.id).collect();
        self.store.write(Durability::Durable, move |tx| {
            let mut t = tx.tracked(catalog::CATALOG)?;
            for id in &ids {
                t.remove(*id)?;
            }
            Ok(())
        })?;
        Ok(gone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: u64, kind: BackupKind, base: Option<u64>, started: u64) -> BackupRecord {
        BackupRecord {
            id,
            kind,
            base,
            file: format!("/nonexistent/{id}"),
            started,
            ended: Some(started),
            bytes: 1,
            entries: 1,
            digest: Some([0; 32]),
            result: BackupResult::Ok,
            error: None,
            covered_from: 0,
            covered_to: 0,
            audit_size: 0,
            key_id: None,
        }
    }

    #[test]
    fn chains_go_whole_and_the_newest_full_stays() {
        use BackupKind::*;
        let day = 24 * 3600 * 1_000_000u64;
        let all = vec![
            rec(1, Full, None, 0),
            rec(2, Incremental, Some(1), day),
            rec(3, Differential, Some(1), 2 * day),
            rec(4, Full, None, 40 * day),
            rec(5, Incremental, Some(4), 41 * day),
            rec(6, Incremental, Some(5), 42 * day),
        ];
        let ids = |v: Vec<BackupRecord>| v.iter().map(|r| r.id).collect::<Vec<_>>();
        let by_age = Retention::default();
        assert_eq!(ids(by_age.expired(&all, 45 * day)), [1, 2, 3]);
        // Everything is old, but the newest full and its chain stay.
        assert_eq!(ids(by_age.expired(&all, 400 * day)), [1, 2, 3]);
        let by_count = Retention {
            max_age: None,
            keep_fulls: Some(2),
        };
        assert!(by_count.expired(&all, 400 * day).is_empty());
        let one = Retention {
            max_age: None,
            keep_fulls: Some(1),
        };
        assert_eq!(ids(one.expired(&all, 0)), [1, 2, 3]);
    }
}
