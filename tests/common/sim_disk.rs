//! A simulated disk for redb, for the reliability tests: it injects I/O failures at a
//! chosen operation, and it can lose power.
//!
//! - `live`: what reads see (every write so far).
//! - `durable`: the image as of the last successful `sync_data`.
//! - `unsynced`: the writes since, in order. A crash image is `durable` plus a random
//!   subset of them, each either whole or torn at a 512-byte boundary (a sector write
//!   that was cut). The file length follows `set_len` at once (file systems journal it).
//! - A fault plan fails operation number k (writes, `set_len` and `sync_data` counted
//!   together, from 1), once or for ever. A frozen disk (after `freeze_at`) fails every
//!   mutation from operation k on, as a process that lost power would never write again.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

/// Which operations count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Fail operation k only.
    Once(u64),
    /// Fail operation k and every mutation after it.
    Forever(u64),
}

#[derive(Debug, Default)]
struct State {
    live: Vec<u8>,
    durable: Vec<u8>,
    unsynced: Vec<(u64, Vec<u8>)>,
    ops: u64,
    fault: Option<Fault>,
    /// Operations that were failed.
    failed: u64,
}

/// A handle on a simulated disk; clones share it.
#[derive(Debug, Clone, Default)]
pub struct SimDisk(Arc<Mutex<State>>);

/// A small deterministic random source (SplitMix64).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

impl SimDisk {
    /// A disk holding `image`, fully durable.
    pub fn from_image(image: Vec<u8>) -> SimDisk {
        SimDisk(Arc::new(Mutex::new(State {
            durable: image.clone(),
            live: image,
            ..State::default()
        })))
    }

    pub fn set_fault(&self, f: Option<Fault>) {
        let mut s = self.0.lock().unwrap();
        s.fault = f;
        s.ops = 0;
        s.failed = 0;
    }

    /// Mutations counted since the fault plan was set.
    pub fn ops(&self) -> u64 {
        self.0.lock().unwrap().ops
    }

    pub fn failed(&self) -> u64 {
        self.0.lock().unwrap().failed
    }

    /// What reads see now.
    pub fn live(&self) -> Vec<u8> {
        self.0.lock().unwrap().live.clone()
    }

    /// The image after a power loss now: the durable image, plus each unsynced write
    /// with probability 1/2, a third of those torn at a 512-byte boundary.
    pub fn crash_image(&self, rng: &mut Rng) -> Vec<u8> {
        let s = self.0.lock().unwrap();
        let mut img = s.durable.clone();
        img.resize(s.live.len(), 0);
        for (off, data) in &s.unsynced {
            if rng.below(2) == 0 {
                continue;
            }
            let mut n = data.len();
            if rng.below(3) == 0 && n > 512 {
                n = (rng.below((n / 512) as u64) as usize) * 512;
            }
            let off = *off as usize;
            if off >= img.len() {
                continue;
            }
            let end = (off + n).min(img.len());
            img[off..end].copy_from_slice(&data[..end - off]);
        }
        img
    }

    /// Counts a mutation; `Err` if the plan fails it.
    fn count(s: &mut State) -> std::io::Result<()> {
        s.ops += 1;
        let fail = match s.fault {
            Some(Fault::Once(k)) => s.ops == k,
            Some(Fault::Forever(k)) => s.ops >= k,
            None => false,
        };
        if fail {
            s.failed += 1;
            return Err(std::io::Error::other(format!(
                "injected failure at operation {}",
                s.ops
            )));
        }
        Ok(())
    }
}

impl redb::StorageBackend for SimDisk {
    fn len(&self) -> std::io::Result<u64> {
        Ok(self.0.lock().unwrap().live.len() as u64)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> std::io::Result<()> {
        let s = self.0.lock().unwrap();
        let start = offset as usize;
        let end = start + out.len();
        if end > s.live.len() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "read past the end",
            ));
        }
        out.copy_from_slice(&s.live[start..end]);
        Ok(())
    }

    fn set_len(&self, len: u64) -> std::io::Result<()> {
        let mut s = self.0.lock().unwrap();
        Self::count(&mut s)?;
        s.live.resize(len as usize, 0);
        Ok(())
    }

    fn sync_data(&self) -> std::io::Result<()> {
        let mut s = self.0.lock().unwrap();
        Self::count(&mut s)?;
        s.durable = s.live.clone();
        s.unsynced.clear();
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        let mut s = self.0.lock().unwrap();
        Self::count(&mut s)?;
        let end = offset as usize + data.len();
        if end > s.live.len() {
            s.live.resize(end, 0);
        }
        s.live[offset as usize..end].copy_from_slice(data);
        s.unsynced.push((offset, data.to_vec()));
        Ok(())
    }
}
