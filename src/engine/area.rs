//! The area interface: how an area plugs into the core without the core naming it.
//!
//! An area (audit, logs, idempotency, ...) owns its tables (declared in the catalog), and
//! gives the core an [`Area`]: hooks the core calls at open, around every batch, and
//! when settings change. What an area keeps in memory lives in one of two typed maps:
//!
//! - [`States`]: state derived from its tables that the writer carries between batches
//!   (the audit log's Merkle frontier, the ring's range). It is cloned for every batch and
//!   the clone published only when the batch commits, so an aborted batch leaves it as
//!   it was. An area reads and changes its state through `WriteTx::state_mut`.
//! - [`Shared`]: objects shared by the area's API and the write path for the whole open
//!   (keys in flight, the log queue, a derived key). Set at open, never replaced.
//!
//! A transaction's open tables (`WriteTx::part`) live in [`Slots`], one per family,
//! dropped with the transaction before it commits.
//!
//! Invariants:
//! - Each type appears at most once in a map: it is the area's key.
//! - Hooks run in the registry's order (`registry.rs`); an area never relies on another
//!   area's hook having run, except that the commit observers run in their listed order.

use std::any::{Any, TypeId};
use std::marker::PhantomData;
use std::sync::Arc;

use redb::Database;

use crate::error::{Error, Result};
use crate::options::Options;
use crate::settings::Settings;

/// What an area gets at open, to build its state and shared objects.
pub(crate) struct OpenCtx<'o> {
    pub(crate) db: &'o Database,
    pub(crate) opts: &'o Options,
    pub(crate) settings: &'o Settings,
    pub(crate) states: &'o mut States,
    pub(crate) shared: &'o mut Shared,
    /// Work queued outside batches that every batch writes first (the log queue).
    pub(crate) queue: &'o mut Option<Arc<dyn WriteQueue>>,
    /// Durable batches this open's recovery applied from the redo log (after a crash).
    pub(crate) replayed: u64,
}

/// Hooks of one area. Every method has a default that does nothing.
pub(crate) trait Area: Sync {
    /// Inside the transaction every open (or a store's creation) starts with, durable
    /// with it: writes an open makes each time (the idempotency epoch), at no commit of
    /// their own.
    fn begin_open(&self, _txn: &redb::WriteTransaction) -> Result<()> {
        Ok(())
    }

    /// At every open, before the writer starts (the redo log already applied): upgrade
    /// what earlier builds wrote, build in-memory state and shared objects.
    fn open(&self, ctx: &mut OpenCtx<'_>) -> Result<()>;

    /// A store written by an earlier build lacks settings: they are seeded from the
    /// options, which an area may change so that the open loses nothing it stored.
    fn seed_settings(&self, _read: &redb::ReadTransaction, _seed: &mut Settings) -> Result<()> {
        Ok(())
    }

    /// Once the store runs: writes an open needs, through the write path.
    fn after_open(&self, _store: &crate::Store) -> Result<()> {
        Ok(())
    }

    /// At [`Store::close`](crate::Store::close), before the writer stops: stop what the
    /// area runs on threads of its own (they may still write).
    fn close(&self, _shared: &Shared) {}

    /// At the final sync of a close or drop: whether the area holds work that a last
    /// synced commit must write (its commit observer writes it), though no batch is
    /// unsynced.
    fn pending_at_close(&self, _shared: &Shared) -> bool {
        false
    }

    /// Before a batch runs, with the state it starts from.
    fn begin_batch(&self, _states: &States, _redo: &crate::redo::RedoBuf) {}

    /// After a batch committed or failed, before any caller is answered.
    fn end_batch(&self, _shared: &Shared) {}

    /// The store's settings changed inside `tx`: apply them to this area's state (and
    /// tables); returns the entries that deleted.
    fn apply_settings(&self, _tx: &mut crate::WriteTx<'_>, _s: &Settings) -> Result<u64> {
        Ok(0)
    }
}

/// Work an area queues outside batches for the next batch to write first.
pub(crate) trait WriteQueue: Send + Sync {
    /// Takes everything queued so far.
    fn take(&self) -> Box<dyn Queued>;
    /// Whether nothing is queued.
    fn is_empty(&self) -> bool;
    /// Refuses further queueing (the store is closing).
    fn close(&self);
}

/// Queued work taken for a batch. A batch re-run without a failed job writes it again.
pub(crate) trait Queued: Send {
    fn is_empty(&self) -> bool;
    /// Writes it into the batch.
    fn write(&self, tx: &mut crate::WriteTx<'_>) -> Result<()>;
    /// Appends work taken later (queued while the batch ran) from the same queue; work
    /// of another kind is refused, never dropped.
    fn extend(&mut self, more: Box<dyn Queued>) -> Result<()>;
    /// For `extend`: the work as `Any`, to take it back as its own type.
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

/// An area's in-memory state, kept by the writer (see the module docs).
pub(crate) trait AreaState: Any + Send {
    fn clone_box(&self) -> Box<dyn AreaState>;
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Any + Send + Clone> AreaState for T {
    fn clone_box(&self) -> Box<dyn AreaState> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// The areas' states, one per type.
#[derive(Default)]
pub(crate) struct States(Vec<(TypeId, Box<dyn AreaState>)>);

impl Clone for States {
    fn clone(&self) -> Self {
        States(self.0.iter().map(|(t, s)| (*t, s.clone_box())).collect())
    }
}

impl std::fmt::Debug for States {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "States({} areas)", self.0.len())
    }
}

fn missing<T>() -> Error {
    Error::Storage(format!(
        "no area state {} (an area did not open)",
        std::any::type_name::<T>()
    ))
}

impl States {
    pub(crate) fn insert<T: AreaState + Clone>(&mut self, state: T) {
        let id = TypeId::of::<T>();
        self.0.retain(|(t, _)| *t != id);
        self.0.push((id, Box::new(state)));
    }

    pub(crate) fn get<T: 'static>(&self) -> Result<&T> {
        let id = TypeId::of::<T>();
        self.0
            .iter()
            .find(|(t, _)| *t == id)
            .and_then(|(_, s)| s.as_any().downcast_ref())
            .ok_or_else(missing::<T>)
    }

    pub(crate) fn get_mut<T: 'static>(&mut self) -> Result<&mut T> {
        let id = TypeId::of::<T>();
        self.0
            .iter_mut()
            .find(|(t, _)| *t == id)
            .and_then(|(_, s)| s.as_any_mut().downcast_mut())
            .ok_or_else(missing::<T>)
    }
}

/// The areas' shared objects, one per type (see the module docs).
#[derive(Default)]
pub(crate) struct Shared(Vec<(TypeId, Arc<dyn Any + Send + Sync>)>);

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Shared({} objects)", self.0.len())
    }
}

impl Shared {
    pub(crate) fn insert<T: Any + Send + Sync>(&mut self, value: Arc<T>) {
        let id = TypeId::of::<T>();
        self.0.retain(|(t, _)| *t != id);
        self.0.push((id, value));
    }

    /// The object of type `T`. Every area opens before the store runs, so a missing one
    /// is a bug; it is reported as a storage error, never a panic.
    pub(crate) fn get<T: Any + Send + Sync>(&self) -> Result<&T> {
        let id = TypeId::of::<T>();
        self.0
            .iter()
            .find(|(t, _)| *t == id)
            .and_then(|(_, v)| v.downcast_ref())
            .ok_or_else(missing::<T>)
    }
}

/// A family of types `Of<'a>` (an area's open tables, borrowing the transaction), named
/// by a `'static` marker type, so that a transaction can keep one value per family.
pub(crate) trait Family: 'static {
    type Of<'a>;
}

/// A slot: its family's TypeId, the boxed value, and the function that drops it.
type Slot = (TypeId, *mut (), unsafe fn(*mut ()));

/// One value per family, for the lifetime `'a` of a transaction.
pub(crate) struct Slots<'a> {
    items: Vec<Slot>,
    // Invariant in 'a: a slot made for one transaction is never read as another's.
    _lt: PhantomData<fn(&'a ()) -> &'a ()>,
}

impl Default for Slots<'_> {
    fn default() -> Self {
        Slots {
            items: Vec::new(),
            _lt: PhantomData,
        }
    }
}

/// Drops a boxed `F::Of<'_>`. Drop glue does not depend on lifetimes; the value is
/// dropped while what it borrows is still alive (`Slots<'a>` ends before `'a` does).
unsafe fn drop_slot<F: Family>(p: *mut ()) {
    // SAFETY: `p` came from `Box::into_raw` of a `Box<F::Of<'_>>` (see `get_or_insert`).
    drop(unsafe { Box::from_raw(p as *mut F::Of<'static>) });
}

impl<'a> Slots<'a> {
    /// The value of family `F`, if it was made.
    pub(crate) fn get_mut<F: Family>(&mut self) -> Option<&mut F::Of<'a>> {
        let id = TypeId::of::<F>();
        let at = self.items.iter().position(|(t, ..)| *t == id)?;
        // SAFETY: as in `get_or_insert`.
        Some(unsafe { &mut *(self.items[at].1 as *mut F::Of<'a>) })
    }

    /// The value of family `F`, made by `make` on first use.
    pub(crate) fn get_or_insert<F: Family>(
        &mut self,
        make: impl FnOnce() -> Result<F::Of<'a>>,
    ) -> Result<&mut F::Of<'a>> {
        let id = TypeId::of::<F>();
        let at = match self.items.iter().position(|(t, ..)| *t == id) {
            Some(at) => at,
            None => {
                let boxed: Box<F::Of<'a>> = Box::new(make()?);
                self.items
                    .push((id, Box::into_raw(boxed) as *mut (), drop_slot::<F>));
                self.items.len() - 1
            }
        };
        // SAFETY: the pointer under `F`'s TypeId was made from a `Box<F::Of<'a>>` for
        // this same `'a` (`Slots` is invariant in it) and stays valid until `self` drops;
        // the `&mut self` borrow makes the reference unique.
        Ok(unsafe { &mut *(self.items[at].1 as *mut F::Of<'a>) })
    }
}

impl Drop for Slots<'_> {
    fn drop(&mut self) {
        for (_, p, drop_fn) in self.items.drain(..) {
            // SAFETY: each pointer is dropped once, with the drop made for its type.
            unsafe { drop_fn(p) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counter;
    impl Family for Counter {
        type Of<'a> = (&'a std::cell::Cell<u32>, u32);
    }
    struct Named;
    impl Family for Named {
        type Of<'a> = String;
    }

    #[test]
    fn a_slot_is_made_once_per_family_and_dropped_with_the_slots() {
        let cell = std::cell::Cell::new(0);
        let rc = std::rc::Rc::new(());
        {
            let mut slots = Slots::default();
            let made = std::cell::Cell::new(0);
            for _ in 0..3 {
                let v = slots
                    .get_or_insert::<Counter>(|| {
                        made.set(made.get() + 1);
                        Ok((&cell, 7))
                    })
                    .unwrap();
                v.0.set(v.0.get() + v.1);
            }
            slots
                .get_or_insert::<Named>(|| Ok(format!("{}", std::rc::Rc::strong_count(&rc))))
                .unwrap()
                .push('!');
            assert_eq!(
                slots.get_or_insert::<Named>(|| Ok(String::new())).unwrap(),
                "1!"
            );
            assert_eq!(made.get(), 1);
            assert!(slots
                .get_or_insert::<Counter>(|| Err(Error::Closed))
                .is_ok());
        }
        assert_eq!(cell.get(), 21);
    }

    #[test]
    fn states_clone_independently_and_a_missing_one_is_an_error() {
        let mut s = States::default();
        s.insert(5u64);
        let mut c = s.clone();
        *c.get_mut::<u64>().unwrap() = 9;
        assert_eq!((*s.get::<u64>().unwrap(), *c.get::<u64>().unwrap()), (5, 9));
        assert!(s.get::<u32>().is_err());
        let mut sh = Shared::default();
        sh.insert(Arc::new(String::from("x")));
        assert_eq!(sh.get::<String>().unwrap(), "x");
        assert!(sh.get::<u8>().is_err());
    }
}
