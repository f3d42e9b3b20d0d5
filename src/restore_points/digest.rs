//! The digest of a store's mutable state: what a restore point rolls back.
//!
//! BLAKE3 over every mutable table, in a fixed order, each as its name and then its rows
//! in key order, every key and value length-prefixed. The audit log and the log ring are
//! not in it: a restore never rolls them back.

use redb::{Key, ReadableTable, TableDefinition, TableHandle, Value};

use crate::error::Result;

/// Opens a table by its definition, from a read or a write transaction.
pub(crate) trait OpenTable {
    /// Adds `def`'s rows to `h`.
    fn hash_table<K: Key + 'static, V: Value + 'static>(
        &self,
        def: TableDefinition<K, V>,
        h: &mut blake3::Hasher,
    ) -> Result<()>;
}

// Read and write transactions open tables through the same-named inherent methods.
macro_rules! open_table_impl {
    ($($t:ty),*) => {$(
        impl OpenTable for $t {
            fn hash_table<K: Key + 'static, V: Value + 'static>(
                &self,
                def: TableDefinition<K, V>,
                h: &mut blake3::Hasher,
            ) -> Result<()> {
                hash_rows(&self.open_table(def)?, def.name(), h)
            }
        }
    )*};
}

open_table_impl!(redb::ReadTransaction, redb::WriteTransaction);

fn hash_rows<K: Key + 'static, V: Value + 'static>(
    t: &impl ReadableTable<K, V>,
    name: &str,
    h: &mut blake3::Hasher,
) -> Result<()> {
    let put = |h: &mut blake3::Hasher, b: &[u8]| {
        h.update(&(b.len() as u64).to_le_bytes());
        h.update(b);
    };
    put(h, name.as_bytes());
    for row in t.range::<K::SelfType<'_>>(..)? {
        let (k, v) = row?;
        put(h, K::as_bytes(&k.value()).as_ref());
        put(h, V::as_bytes(&v.value()).as_ref());
    }
    Ok(())
}

/// The digest of the mutable state `src` sees.
pub(crate) fn mutable_state(src: &impl OpenTable) -> Result<[u8; 32]> {
    use crate::dead_letters::tables as dlq;
    use crate::idempotency::tables as idem;
    let mut h = blake3::Hasher::new();
    h.update(b"hardstore restore point state v1");
    src.hash_table(crate::kv::KV, &mut h)?;
    src.hash_table(idem::KEYS, &mut h)?;
    src.hash_table(idem::EXPIRY, &mut h)?;
    src.hash_table(dlq::ITEMS, &mut h)?;
    src.hash_table(dlq::PAYLOADS, &mut h)?;
    src.hash_table(dlq::DUE, &mut h)?;
    src.hash_table(dlq::FINISHED, &mut h)?;
    src.hash_table(dlq::BY_STATE, &mut h)?;
    src.hash_table(dlq::COUNTS, &mut h)?;
    Ok(*h.finalize().as_bytes())
}
