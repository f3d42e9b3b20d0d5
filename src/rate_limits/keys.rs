//! One limit's keys: a sharded map from key to TAT, bounded, in memory.
//!
//! Invariants:
//! - A shard holds at most `cap` keys. A new key in a full shard first sweeps the
//!   shard's idle keys (TAT at or before now: exactly the state of an absent key, so
//!   removing them loses nothing); if none is idle it evicts the keys with the earliest
//!   TATs (the closest to idle) down to 7/8 of `cap`, counted in `evicted_active`.
//! - `dirty` slots changed since the last flush; `gone` lists keys that are stored in
//!   `rate_limits.state` but no longer in memory, for the next flush to delete.
//! - The limit's parameters live in every shard (copied by a redefinition under each
//!   shard's lock), so a check reads them under the lock it takes anyway.

use std::collections::HashMap;
use std::hash::RandomState;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use parking_lot::Mutex;

use super::gcra::{Gcra, Verdict};

/// Shards per limit: enough that two threads rarely meet on one lock.
pub(crate) const SHARDS: usize = 64;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    pub(crate) tat: u64,
    /// Changed since the last flush.
    pub(crate) dirty: bool,
    /// Has a row in `rate_limits.state` (as of the last flush).
    pub(crate) stored: bool,
}

pub(crate) struct Shard {
    pub(crate) gcra: Gcra,
    /// Set when the limit is removed: checks through an old handle are refused.
    pub(crate) removed: bool,
    /// Keys are the caller's (an attacker picks IPs): std's keyed SipHash, not FNV.
    pub(crate) map: HashMap<Box<[u8]>, Slot, RandomState>,
    pub(crate) gone: Vec<Box<[u8]>>,
    pub(crate) any_dirty: bool,
}

/// Counters of one limit's key map.
#[derive(Debug, Default)]
pub(crate) struct Evictions {
    pub(crate) idle: AtomicU64,
    pub(crate) active: AtomicU64,
}

pub(crate) struct Keys {
    pub(crate) shards: Box<[Mutex<Shard>]>,
    /// A random seed for picking shards, so nobody can aim keys at one shard.
    seed: u64,
    cap: usize,
    pub(crate) evictions: Evictions,
}

impl Keys {
    /// A map for `max_keys` keys in all (at least one per shard).
    pub(crate) fn new(gcra: Gcra, max_keys: usize) -> Keys {
        let cap = max_keys.div_ceil(SHARDS).max(1);
        Keys {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        gcra,
                        removed: false,
                        map: HashMap::with_hasher(RandomState::new()),
                        gone: Vec::new(),
                        any_dirty: false,
                    })
                })
                .collect(),
            cap,
            seed: std::hash::BuildHasher::hash_one(&RandomState::new(), 0u64) | 1,
            evictions: Evictions::default(),
        }
    }

    pub(crate) fn shard_of(&self, key: &[u8]) -> &Mutex<Shard> {
        // The top bits pick the shard; the map hashes again (its low bits pick a bucket).
        &self.shards[self.shard_index(key)]
    }

    fn shard_index(&self, key: &[u8]) -> usize {
        (crate::engine::fnv::hash(self.seed, key) >> 58) as usize % SHARDS
    }

    /// Runs a check of `cost` for `key` at `now` (nanoseconds); `None` when the limit was
    /// removed.
    pub(crate) fn check(&self, key: &[u8], now: u64, cost: u64) -> Option<(Verdict, u64)> {
        let mut s = self.shard_of(key).lock();
        if s.removed {
            return None;
        }
        let gcra = s.gcra;
        if let Some(slot) = s.map.get_mut(key) {
            let v = gcra.check(slot.tat, now, cost);
            if v.tat != slot.tat {
                slot.tat = v.tat;
                slot.dirty = true;
                s.any_dirty = true;
            }
            return Some((v, gcra.burst));
        }
        let v = gcra.check(0, now, cost);
        // A denial or a read leaves an absent key absent: its state is a new key's.
        if v.allowed && v.tat > now {
            if s.map.len() >= self.cap {
                self.make_room(&mut s, now);
            }
            s.map.insert(
                key.into(),
                Slot {
                    tat: v.tat,
                    dirty: true,
                    stored: false,
                },
            );
            s.any_dirty = true;
        }
        Some((v, gcra.burst))
    }

    /// Puts a stored key back at open.
    pub(crate) fn restore(&self, key: &[u8], tat: u64) {
        let mut s = self.shard_of(key).lock();
        if s.map.len() < self.cap {
            s.map.insert(
                key.into(),
                Slot {
                    tat,
                    dirty: false,
                    stored: true,
                },
            );
        } else {
            // More stored keys than the cap now allows (it was lowered): the next flush
            // deletes the row. Counted as an eviction of a key in use.
            s.gone.push(key.into());
            self.evictions.active.fetch_add(1, Relaxed);
        }
    }

    fn make_room(&self, s: &mut Shard, now: u64) {
        let before = s.map.len();
        let mut gone = std::mem::take(&mut s.gone);
        s.map.retain(|k, slot| {
            let keep = slot.tat > now;
            if !keep && slot.stored {
                gone.push(k.clone());
            }
            keep
        });
        self.evictions
            .idle
            .fetch_add((before - s.map.len()) as u64, Relaxed);
        if s.map.len() >= self.cap {
            // Every key is in use: evict the earliest TATs, down to 7/8 of the cap, so the
            // next inserts do not each pay a pass.
            let keep = self.cap - self.cap.div_ceil(8);
            let mut tats: Vec<u64> = s.map.values().map(|v| v.tat).collect();
            let n_evict = tats.len() - keep;
            let (_, cut, _) = tats.select_nth_unstable(n_evict - 1);
            let cut = *cut;
            let mut evicted = 0u64;
            let mut left = n_evict;
            s.map.retain(|k, slot| {
                if left > 0 && slot.tat <= cut {
                    left -= 1;
                    evicted += 1;
                    if slot.stored {
                        gone.push(k.clone());
                    }
                    false
                } else {
                    true
                }
            });
            self.evictions.active.fetch_add(evicted, Relaxed);
        }
        s.gone = gone;
    }

    /// Keys held now.
    pub(crate) fn len(&self) -> u64 {
        self.shards.iter().map(|s| s.lock().map.len() as u64).sum()
    }

    /// Sets the parameters (a redefinition) or marks the limit removed.
    pub(crate) fn set(&self, gcra: Gcra, removed: bool) {
        for s in self.shards.iter() {
            let mut s = s.lock();
            s.gcra = gcra;
            s.removed = removed;
            if removed {
                s.map.clear();
                s.gone.clear();
                s.any_dirty = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn a_full_shard_sweeps_idle_keys_then_evicts_the_earliest() {
        let k = Keys::new(
            Gcra {
                interval: S,
                burst: 10,
            },
            SHARDS * 8,
        );
        // Fill one shard with 8 keys, all in use.
        let mut same: Vec<Vec<u8>> = Vec::new();
        let target = k.shard_index(b"x0");
        let mut i = 0u32;
        while same.len() < 9 {
            let key = format!("k{i}").into_bytes();
            if k.shard_index(&key) == target {
                same.push(key);
            }
            i += 1;
        }
        for (n, key) in same[..8].iter().enumerate() {
            k.check(key, 100 * S + n as u64, 1).unwrap();
        }
        k.check(&same[8], 100 * S + 8, 1).unwrap();
        assert!(k.evictions.active.load(Relaxed) >= 1);
        let s = k.shard_of(&same[8]).lock();
        assert!(s.map.len() <= 8);
        assert!(s.map.contains_key(same[8].as_slice()), "the new key is in");
        assert!(
            !s.map.contains_key(same[0].as_slice()),
            "the earliest went first"
        );
        drop(s);
        // Later, every key is idle: a sweep frees them without evicting one in use.
        let active = k.evictions.active.load(Relaxed);
        for key in &same[..8] {
            k.check(key, 1000 * S, 1).unwrap();
        }
        assert_eq!(k.evictions.active.load(Relaxed), active);
        assert!(k.evictions.idle.load(Relaxed) > 0);
    }
}
