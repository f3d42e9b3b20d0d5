//! The backup file format (version 2).
//!
//! ```text
//! header   magic "HSBACKUP" | version u16 | kind u8 | reserved u8 | store id [16]
//!          | backup id u64 | base id u64 | base digest [32] | created u64
//!          | covered from u64 | covered to u64 | audit size u64 | audit root [32]
//!          | CRC32 of the above u32
//! frame    tag (1 put, 2 delete) | table id u16 | key length u32 | value length u32
//!          | key | value | CRC32 of the frame's bytes before it u32
//! trailer  tag 0xFF | frames u64 | bytes before the trailer u64
//!          | BLAKE3 of every byte before the trailer [32] | CRC32 of the above u32
//! ```
//!
//! All integers little-endian. Table ids are the catalog's (`engine::catalog`): the same
//! append-only list names a table in both files. A delete carries no value. Kind 1 is a
//! full backup (puts only, no base), 2 incremental and 3 differential (puts and deletes
//! on top of the base, named by its id and digest). "Covered" is the change journal's
//! range: a backup holds every change numbered below `covered to`, and an incremental or
//! differential the changes from `covered from` on. The file ends exactly after the
//! trailer.
//!
//! Invariants: a reader hands out a frame only after its CRC matched, and reports the
//! whole file valid only once the trailer's counts and digest match what it read, so a
//! flipped bit anywhere, a cut, or bytes appended all fail verification.

use std::io::{Read, Write};

use crate::error::{Error, Result};

pub(crate) const MAGIC: &[u8; 8] = b"HSBACKUP";
pub(crate) const VERSION: u16 = 2;
const HEADER_LEN: usize = 8 + 2 + 1 + 1 + 16 + 8 + 8 + 32 + 8 + 8 + 8 + 8 + 32;
const PUT: u8 = 1;
const DEL: u8 = 2;
const TRAILER: u8 = 0xFF;
/// Longest key or value a frame may carry (a log chunk or a payload is far smaller).
const MAX_FIELD: u32 = 64 << 20;

/// What the header of a backup file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) kind: u8,
    pub(crate) store_id: [u8; 16],
    pub(crate) backup_id: u64,
    /// 0 (and a zero digest) for a full backup.
    pub(crate) base_id: u64,
    pub(crate) base_digest: [u8; 32],
    pub(crate) created: u64,
    pub(crate) covered_from: u64,
    pub(crate) covered_to: u64,
    pub(crate) audit_size: u64,
    pub(crate) audit_root: [u8; 32],
}

impl Header {
    fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(HEADER_LEN + 4);
        b.extend_from_slice(MAGIC);
        b.extend_from_slice(&VERSION.to_le_bytes());
        b.push(self.kind);
        b.push(0);
        b.extend_from_slice(&self.store_id);
        b.extend_from_slice(&self.backup_id.to_le_bytes());
        b.extend_from_slice(&self.base_id.to_le_bytes());
        b.extend_from_slice(&self.base_digest);
        b.extend_from_slice(&self.created.to_le_bytes());
        b.extend_from_slice(&self.covered_from.to_le_bytes());
        b.extend_from_slice(&self.covered_to.to_le_bytes());
        b.extend_from_slice(&self.audit_size.to_le_bytes());
        b.extend_from_slice(&self.audit_root);
        let crc = crc32fast::hash(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        b
    }

    fn decode(head: &[u8; HEADER_LEN + 4]) -> Result<Self> {
        let bad = |what: String| Error::Corrupted(format!("backup file: {what}"));
        if &head[..8] != MAGIC {
            return Err(bad("not a hardstore backup (bad magic)".into()));
        }
        let crc = u32::from_le_bytes(head[HEADER_LEN..].try_into().unwrap_or_default());
        if crc32fast::hash(&head[..HEADER_LEN]) != crc {
            return Err(bad("the header's CRC does not match".into()));
        }
        let version = u16::from_le_bytes([head[8], head[9]]);
        if version != VERSION {
            return Err(bad(format!("format version {version} is not supported")));
        }
        if head[11] != 0 {
            return Err(bad("the header's reserved byte is not zero".into()));
        }
        let mut at = 12;
        let mut take = |n: usize| {
            let s = &head[at..at + n];
            at += n;
            s
        };
        let mut store_id = [0; 16];
        store_id.copy_from_slice(take(16));
        let backup_id = u64_at(take(8), 0);
        let base_id = u64_at(take(8), 0);
        let mut base_digest = [0; 32];
        base_digest.copy_from_slice(take(32));
        let created = u64_at(take(8), 0);
        let covered_from = u64_at(take(8), 0);
        let covered_to = u64_at(take(8), 0);
        let audit_size = u64_at(take(8), 0);
        let mut audit_root = [0; 32];
        audit_root.copy_from_slice(take(32));
        let h = Header {
            kind: head[10],
            store_id,
            backup_id,
            base_id,
            base_digest,
            created,
            covered_from,
            covered_to,
            audit_size,
            audit_root,
        };
        match h.kind {
            1 if h.base_id != 0 || h.base_digest != [0; 32] || h.covered_from != 0 => {
                Err(bad("a full backup's header names a base".into()))
            }
            1..=3 if h.covered_from > h.covered_to => Err(bad(format!(
                "the covered range {}..{} is reversed",
                h.covered_from, h.covered_to
            ))),
            1..=3 => Ok(h),
            k => Err(bad(format!("kind {k} is not a backup kind"))),
        }
    }
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// Frames are gathered into blocks of about this size before they are hashed and
/// written: BLAKE3 hashes a large input several chunks at a time (SIMD), and the output
/// gets few large writes.
const BLOCK: usize = 1 << 20;

/// Writes a backup stream, hashing every byte.
pub(crate) struct FrameWriter<W: Write> {
    out: W,
    hasher: blake3::Hasher,
    /// Bytes hashed and written so far (the block in `buf` excluded).
    flushed: u64,
    frames: u64,
    /// Frames that were puts (the others are deletes).
    puts: u64,
    /// The block being gathered.
    buf: Vec<u8>,
}

impl<W: Write> FrameWriter<W> {
    pub(crate) fn new(out: W, h: &Header) -> Result<Self> {
        let mut buf = Vec::with_capacity(BLOCK + (1 << 16));
        buf.extend_from_slice(&h.encode());
        Ok(Self {
            out,
            hasher: blake3::Hasher::new(),
            flushed: 0,
            frames: 0,
            puts: 0,
            buf,
        })
    }

    fn flush_block(&mut self) -> Result<()> {
        self.hasher.update(&self.buf);
        self.out.write_all(&self.buf)?;
        self.flushed += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    /// Appends one row of table `table`: its value, or `None` for a deleted row.
    pub(crate) fn frame(&mut self, table: u16, key: &[u8], value: Option<&[u8]>) -> Result<()> {
        let too_long = |what: &'static str, n: usize| Error::TooLong {
            field: what,
            len: n,
            max: MAX_FIELD as usize,
        };
        if key.len() > MAX_FIELD as usize {
            return Err(too_long("backup frame key", key.len()));
        }
        let (tag, value) = match value {
            Some(v) => (PUT, v),
            None => (DEL, &[][..]),
        };
        if value.len() > MAX_FIELD as usize {
            return Err(too_long("backup frame value", value.len()));
        }
        let b = &mut self.buf;
        let start = b.len();
        b.push(tag);
        b.extend_from_slice(&table.to_le_bytes());
        b.extend_from_slice(&(key.len() as u32).to_le_bytes());
        b.extend_from_slice(&(value.len() as u32).to_le_bytes());
        b.extend_from_slice(key);
        b.extend_from_slice(value);
        let crc = crc32fast::hash(&b[start..]);
        b.extend_from_slice(&crc.to_le_bytes());
        self.frames += 1;
        self.puts += u64::from(tag == PUT);
        if self.buf.len() >= BLOCK {
            self.flush_block()?;
        }
        Ok(())
    }

    /// Writes the trailer; returns the output and what was written.
    pub(crate) fn finish(mut self) -> Result<(W, Written)> {
        self.flush_block()?;
        let digest = *self.hasher.finalize().as_bytes();
        let mut b = Vec::with_capacity(1 + 16 + 32 + 4);
        b.push(TRAILER);
        b.extend_from_slice(&self.frames.to_le_bytes());
        b.extend_from_slice(&self.flushed.to_le_bytes());
        b.extend_from_slice(&digest);
        let crc = crc32fast::hash(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        self.out.write_all(&b)?;
        let written = Written {
            frames: self.frames,
            puts: self.puts,
            bytes: self.flushed + b.len() as u64,
            digest,
        };
        Ok((self.out, written))
    }
}

/// What a finished writer wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Written {
    pub(crate) frames: u64,
    pub(crate) puts: u64,
    /// The file's length.
    pub(crate) bytes: u64,
    pub(crate) digest: [u8; 32],
}

/// Receives one frame: table id, key, value (`None` for a delete).
pub(crate) type FrameFn<'f> = dyn FnMut(u16, &[u8], Option<&[u8]>) -> Result<()> + 'f;

/// Receives the header, once its CRC matched, before any frame.
pub(crate) type HeaderFn<'f> = dyn FnMut(&Header) -> Result<()> + 'f;

/// What a complete, verified read found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Summary {
    pub(crate) header: Header,
    pub(crate) frames: u64,
    pub(crate) bytes: u64,
    pub(crate) digest: [u8; 32],
}

/// Reads a backup stream, calling `frame` with each row whose CRC matched. The caller
/// must not trust what `frame` received until this returns `Ok`: only then did the
/// trailer confirm the whole file.
pub(crate) fn read(
    input: impl Read,
    on_header: &mut HeaderFn<'_>,
    frame: &mut FrameFn<'_>,
) -> Result<Summary> {
    // The table ids a frame may name come from the catalog, whoever reads (a store, a
    // verify without one, the fuzz target).
    crate::areas::install();
    let mut r = Hashing {
        input,
        hasher: blake3::Hasher::new(),
        pending: Vec::with_capacity(BLOCK + (1 << 16)),
        bytes: 0,
    };
    let bad = |what: String| Error::Corrupted(format!("backup file: {what}"));
    let mut head = [0u8; HEADER_LEN + 4];
    r.fill(&mut head, "the header")?;
    let header = Header::decode(&head)?;
    on_header(&header)?;
    let mut frames = 0u64;
    let mut body = Vec::new();
    loop {
        let before = r.bytes;
        let mut tag = [0u8; 1];
        r.fill(&mut tag, "a frame or the trailer")?;
        match tag[0] {
            PUT | DEL => {
                let mut h = [0u8; 10];
                r.fill(&mut h, "a frame header")?;
                let table = u16::from_le_bytes([h[0], h[1]]);
                let klen = u32::from_le_bytes([h[2], h[3], h[4], h[5]]);
                let vlen = u32::from_le_bytes([h[6], h[7], h[8], h[9]]);
                if klen > MAX_FIELD || vlen > MAX_FIELD || (tag[0] == DEL && vlen != 0) {
                    return Err(bad(format!("frame {frames} at byte {before} is too long")));
                }
                body.clear();
                body.resize(klen as usize + vlen as usize + 4, 0);
                r.fill(&mut body, "a frame")?;
                let mut c = crc32fast::Hasher::new();
                c.update(&tag);
                c.update(&h);
                let n = body.len() - 4;
                c.update(&body[..n]);
                let want = u32::from_le_bytes(body[n..].try_into().unwrap_or_default());
                if c.finalize() != want {
                    return Err(bad(format!(
                        "frame {frames} at byte {before}: CRC does not match"
                    )));
                }
                if !crate::engine::catalog::is(table, |f| f.backed_up) {
                    return Err(bad(format!("frame {frames} names table id {table}")));
                }
                if tag[0] == DEL && header.kind == 1 {
                    return Err(bad(format!(
                        "frame {frames} deletes a row in a full backup"
                    )));
                }
                let value = (tag[0] == PUT).then(|| &body[klen as usize..n]);
                frame(table, &body[..klen as usize], value)?;
                frames += 1;
            }
            TRAILER => {
                let digest = r.digest_before_last_byte();
                let mut t = [0u8; 8 + 8 + 32 + 4];
                r.fill(&mut t, "the trailer")?;
                let mut c = crc32fast::Hasher::new();
                c.update(&tag);
                c.update(&t[..48]);
                if c.finalize() != u32::from_le_bytes(t[48..].try_into().unwrap_or_default()) {
                    return Err(bad("the trailer's CRC does not match".into()));
                }
                if u64_at(&t, 0) != frames || u64_at(&t, 8) != before {
                    return Err(bad(format!(
                        "the trailer counts {} frames in {} bytes; the file holds {frames} in {before}",
                        u64_at(&t, 0),
                        u64_at(&t, 8)
                    )));
                }
                if t[16..48] != digest {
                    return Err(bad("the BLAKE3 digest does not match".into()));
                }
                let mut extra = [0u8; 1];
                if r.input.read(&mut extra)? != 0 {
                    return Err(bad("bytes follow the trailer".into()));
                }
                return Ok(Summary {
                    header,
                    frames,
                    bytes: r.bytes,
                    digest,
                });
            }
            other => {
                return Err(bad(format!(
                    "byte {before}: tag {other:#04x} is neither a frame nor the trailer"
                )))
            }
        }
    }
}

/// Reads and hashes. Bytes read are hashed a block at a time (see `BLOCK`); `pending`
/// holds those not hashed yet.
struct Hashing<R> {
    input: R,
    hasher: blake3::Hasher,
    pending: Vec<u8>,
    bytes: u64,
}

impl<R: Read> Hashing<R> {
    /// The digest of every byte read but the last (the trailer's tag, just read).
    fn digest_before_last_byte(&self) -> [u8; 32] {
        let mut h = self.hasher.clone();
        h.update(&self.pending[..self.pending.len().saturating_sub(1)]);
        *h.finalize().as_bytes()
    }

    fn fill(&mut self, buf: &mut [u8], what: &str) -> Result<()> {
        // Hashed before more is read, so the last byte read is always still pending.
        if self.pending.len() >= BLOCK {
            self.hasher.update(&self.pending);
            self.pending.clear();
        }
        match self.input.read_exact(buf) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err(Error::Corrupted(format!(
                    "backup file: truncated in {what} (after byte {})",
                    self.bytes
                )))
            }
            Err(e) => return Err(e.into()),
        }
        self.pending.extend_from_slice(buf);
        self.bytes += buf.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Vec<u8> {
        let h = Header {
            kind: 2,
            store_id: [7; 16],
            backup_id: 2,
            base_id: 1,
            base_digest: [5; 32],
            created: 42,
            covered_from: 10,
            covered_to: 12,
            audit_size: 3,
            audit_root: [9; 32],
        };
        let mut w = FrameWriter::new(Vec::new(), &h).unwrap();
        w.frame(7, b"ns\0k", Some(b"v")).unwrap();
        w.frame(7, b"ns\0gone", None).unwrap();
        w.frame(0, &1u64.to_le_bytes(), Some(b"entry")).unwrap();
        w.finish().unwrap().0
    }

    #[test]
    fn every_flipped_bit_and_every_cut_is_refused() {
        let good = sample();
        let s = read(&good[..], &mut |_| Ok(()), &mut |_, _, _| Ok(())).unwrap();
        assert_eq!((s.frames, s.bytes), (3, good.len() as u64));
        for bit in 0..good.len() * 8 {
            let mut b = good.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            assert!(
                read(&b[..], &mut |_| Ok(()), &mut |_, _, _| Ok(())).is_err(),
                "bit {bit}"
            );
        }
        for cut in 0..good.len() {
            assert!(
                read(&good[..cut], &mut |_| Ok(()), &mut |_, _, _| Ok(())).is_err(),
                "cut {cut}"
            );
        }
        let mut longer = good.clone();
        longer.push(0);
        assert!(read(&longer[..], &mut |_| Ok(()), &mut |_, _, _| Ok(())).is_err());
    }
}
