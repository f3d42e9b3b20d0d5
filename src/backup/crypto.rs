//! Optional encryption of a backup file: AES-256-GCM over fixed-size chunks of the
//! plain backup stream (`format.rs`).
//!
//! ```text
//! header  magic "HSBKCRYP" | version u16 | key id u32 | salt [32] | chunk size u32
//!         | key check [16] | CRC32 of the above u32
//! chunk   last u8 (0 or 1) | sealed length u32 | ciphertext and tag
//! ```
//!
//! - Each file gets its own subkey, `BLAKE3 derive_key(caller key ‖ random salt)`, so
//!   nonces (the chunk index) never repeat under one key across files.
//! - Every chunk's associated data is a hash of the header (which holds the key id),
//!   the chunk index and the last flag: a chunk moved, dropped, duplicated or taken from
//!   another file fails authentication, and a file cut at a chunk boundary lacks its
//!   last chunk.
//! - The key check (a keyed hash of the salt under the subkey) tells a wrong key from a
//!   damaged chunk, so a wrong key is reported as such ([`Error::WrongKey`]).
//! - Plaintext is released only from chunks that authenticated; every chunk but the
//!   last holds exactly the chunk size.

use std::io::{self, Read, Write};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};

use crate::error::{Error, Result};

pub(crate) const MAGIC: &[u8; 8] = b"HSBKCRYP";
const VERSION: u16 = 1;
const HEADER_LEN: usize = 8 + 2 + 4 + 32 + 4 + 16;
const TAG: usize = 16;
/// Plaintext bytes per chunk.
pub(crate) const CHUNK: usize = 1 << 20;
const KDF_CONTEXT: &str = "hardstore 2026-11 backup file subkey";

/// A caller's backup key: 32 secret bytes and an id naming it (written in the file so
/// an operator can tell which key a backup needs; the key itself never is).
#[derive(Clone)]
pub struct BackupKey {
    id: u32,
    key: [u8; 32],
}

impl BackupKey {
    /// A key with id `id` (any number the caller uses to name its keys).
    pub fn new(id: u32, key: [u8; 32]) -> Self {
        Self { id, key }
    }

    /// The key's id.
    pub fn id(&self) -> u32 {
        self.id
    }

    fn subkey(&self, salt: &[u8; 32]) -> [u8; 32] {
        let mut material = [0u8; 64];
        material[..32].copy_from_slice(&self.key);
        material[32..].copy_from_slice(salt);
        blake3::derive_key(KDF_CONTEXT, &material)
    }
}

impl std::fmt::Debug for BackupKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BackupKey {{ id: {}, key: <redacted> }}", self.id)
    }
}

fn key_check(subkey: &[u8; 32], salt: &[u8; 32]) -> [u8; 16] {
    let h = blake3::keyed_hash(subkey, salt);
    let mut out = [0u8; 16];
    out.copy_from_slice(&h.as_bytes()[..16]);
    out
}

fn aad(header_hash: &[u8; 32], index: u64, last: bool) -> [u8; 41] {
    let mut a = [0u8; 41];
    a[..32].copy_from_slice(header_hash);
    a[32..40].copy_from_slice(&index.to_le_bytes());
    a[40] = u8::from(last);
    a
}

fn nonce(index: u64) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[..8].copy_from_slice(&index.to_le_bytes());
    n
}

/// Encrypts a plain backup stream as it is written.
pub(crate) struct EncryptWriter<W: Write> {
    out: W,
    cipher: Aes256Gcm,
    header_hash: [u8; 32],
    chunk: usize,
    index: u64,
    buf: Vec<u8>,
}

impl<W: Write> EncryptWriter<W> {
    pub(crate) fn new(out: W, key: &BackupKey) -> Result<Self> {
        let mut salt = [0u8; 32];
        getrandom::fill(&mut salt)
            .map_err(|e| Error::Storage(format!("no OS randomness for a backup salt: {e}")))?;
        Self::with_salt(out, key, salt, CHUNK)
    }

    pub(crate) fn with_salt(
        mut out: W,
        key: &BackupKey,
        salt: [u8; 32],
        chunk: usize,
    ) -> Result<Self> {
        let subkey = key.subkey(&salt);
        let mut h = Vec::with_capacity(HEADER_LEN + 4);
        h.extend_from_slice(MAGIC);
        h.extend_from_slice(&VERSION.to_le_bytes());
        h.extend_from_slice(&key.id.to_le_bytes());
        h.extend_from_slice(&salt);
        h.extend_from_slice(&(chunk as u32).to_le_bytes());
        h.extend_from_slice(&key_check(&subkey, &salt));
        let crc = crc32fast::hash(&h);
        h.extend_from_slice(&crc.to_le_bytes());
        out.write_all(&h)?;
        Ok(Self {
            out,
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&subkey)),
            header_hash: *blake3::hash(&h).as_bytes(),
            chunk,
            index: 0,
            buf: Vec::with_capacity(chunk + 1),
        })
    }

    fn seal(&mut self, end: usize, last: bool) -> io::Result<()> {
        let aad = aad(&self.header_hash, self.index, last);
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce(self.index)),
                Payload {
                    msg: &self.buf[..end],
                    aad: &aad,
                },
            )
            .map_err(|_| io::Error::other("AES-GCM refused to seal a chunk"))?;
        self.out.write_all(&[u8::from(last)])?;
        self.out.write_all(&(sealed.len() as u32).to_le_bytes())?;
        self.out.write_all(&sealed)?;
        self.buf.drain(..end);
        self.index += 1;
        Ok(())
    }

    /// Seals what is left as the last chunk and returns the output.
    pub(crate) fn finish(mut self) -> Result<W> {
        let end = self.buf.len();
        self.seal(end, true)?;
        Ok(self.out)
    }
}

impl<W: Write> Write for EncryptWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        // A full chunk is sealed only once more data follows: the last chunk must be
        // known to be the last.
        while self.buf.len() > self.chunk {
            self.seal(self.chunk, false)?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Decrypts an encrypted backup as it is read. A failure is kept (see
/// [`DecryptReader::take_error`]) and surfaces to `Read` callers as an I/O error.
pub(crate) struct DecryptReader<R: Read> {
    input: R,
    cipher: Aes256Gcm,
    header_hash: [u8; 32],
    chunk: usize,
    index: u64,
    plain: Vec<u8>,
    pos: usize,
    done: bool,
    error: Option<Error>,
}

impl<R: Read> DecryptReader<R> {
    /// Reads the header (its magic already consumed into `magic`) and checks the key.
    pub(crate) fn new(mut input: R, key: Option<&BackupKey>) -> Result<Self> {
        let bad = |what: &str| Error::Corrupted(format!("encrypted backup: {what}"));
        let mut h = [0u8; HEADER_LEN + 4];
        h[..8].copy_from_slice(MAGIC);
        read_full(&mut input, &mut h[8..], "the header")?;
        let crc = u32::from_le_bytes(h[HEADER_LEN..].try_into().unwrap_or_default());
        if crc32fast::hash(&h[..HEADER_LEN]) != crc {
            return Err(bad("the header's CRC does not match"));
        }
        let version = u16::from_le_bytes([h[8], h[9]]);
        if version != VERSION {
            return Err(bad(&format!(
                "encryption version {version} is not supported"
            )));
        }
        let key_id = u32::from_le_bytes(h[10..14].try_into().unwrap_or_default());
        let mut salt = [0u8; 32];
        salt.copy_from_slice(&h[14..46]);
        let chunk = u32::from_le_bytes(h[46..50].try_into().unwrap_or_default()) as usize;
        if chunk == 0 || chunk > 64 << 20 {
            return Err(bad(&format!("chunk size {chunk} is out of range")));
        }
        let key = key.ok_or_else(|| {
            Error::WrongKey(format!(
                "the backup is encrypted with key id {key_id}; no key was given"
            ))
        })?;
        if key.id != key_id {
            return Err(Error::WrongKey(format!(
                "the backup is encrypted with key id {key_id}; the key given has id {}",
                key.id
            )));
        }
        let subkey = key.subkey(&salt);
        if h[50..66] != key_check(&subkey, &salt) {
            return Err(Error::WrongKey(format!(
                "the key given (id {key_id}) is not the key this backup was encrypted with"
            )));
        }
        Ok(Self {
            input,
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&subkey)),
            header_hash: *blake3::hash(&h).as_bytes(),
            chunk,
            index: 0,
            plain: Vec::new(),
            pos: 0,
            done: false,
            error: None,
        })
    }

    /// The failure behind the last I/O error `read` returned, if it was this reader's.
    pub(crate) fn take_error(&mut self) -> Option<Error> {
        self.error.take()
    }

    fn next_chunk(&mut self) -> Result<()> {
        let i = self.index;
        let bad = |what: String| Error::Corrupted(format!("encrypted backup: {what}"));
        let mut head = [0u8; 5];
        match self.input.read(&mut head[..1])? {
            0 => {
                return Err(bad(format!(
                    "truncated: chunk {i} is missing (no last chunk)"
                )))
            }
            _ => read_full(&mut self.input, &mut head[1..], "a chunk header")?,
        }
        let last = match head[0] {
            0 => false,
            1 => true,
            f => return Err(bad(format!("chunk {i}: flag {f} is neither 0 nor 1"))),
        };
        let len = u32::from_le_bytes(head[1..5].try_into().unwrap_or_default()) as usize;
        let ok_len = if last {
            (TAG..=self.chunk + TAG).contains(&len)
        } else {
            len == self.chunk + TAG
        };
        if !ok_len {
            return Err(bad(format!("chunk {i}: sealed length {len} is impossible")));
        }
        let mut sealed = vec![0u8; len];
        read_full(&mut self.input, &mut sealed, "a chunk")?;
        let aad = aad(&self.header_hash, i, last);
        self.plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(&nonce(i)),
                Payload {
                    msg: &sealed,
                    aad: &aad,
                },
            )
            .map_err(|_| {
                bad(format!(
                    "chunk {i} does not authenticate (damaged, moved, or from another file)"
                ))
            })?;
        self.pos = 0;
        self.index += 1;
        if last {
            self.done = true;
            let mut extra = [0u8; 1];
            if self.input.read(&mut extra)? != 0 {
                return Err(bad("bytes follow the last chunk".into()));
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for DecryptReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.pos < self.plain.len() {
                let n = out.len().min(self.plain.len() - self.pos);
                out[..n].copy_from_slice(&self.plain[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            if self.done || out.is_empty() {
                return Ok(0);
            }
            if let Err(e) = self.next_chunk() {
                let msg = e.to_string();
                self.error = Some(e);
                return Err(io::Error::other(msg));
            }
        }
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8], what: &str) -> Result<()> {
    r.read_exact(buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            Error::Corrupted(format!("encrypted backup: truncated in {what}"))
        } else {
            Error::Io(e)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealed(plain: &[u8], chunk: usize) -> Vec<u8> {
        let key = BackupKey::new(7, [3; 32]);
        let mut w = EncryptWriter::with_salt(Vec::new(), &key, [9; 32], chunk).unwrap();
        w.write_all(plain).unwrap();
        w.finish().unwrap()
    }

    fn open(file: &[u8], key: &BackupKey) -> Result<Vec<u8>> {
        if file.len() < 8 || &file[..8] != MAGIC {
            return Err(Error::Corrupted("magic".into()));
        }
        let mut r = DecryptReader::new(&file[8..], Some(key))?;
        let mut out = Vec::new();
        match r.read_to_end(&mut out) {
            Ok(_) => Ok(out),
            Err(e) => Err(r.take_error().unwrap_or(Error::Io(e))),
        }
    }

    #[test]
    fn round_trip_and_every_flipped_bit_or_cut_is_refused() {
        let plain: Vec<u8> = (0..100u8).collect();
        let key = BackupKey::new(7, [3; 32]);
        for chunk in [16, 50, 100, 1000] {
            assert_eq!(open(&sealed(&plain, chunk), &key).unwrap(), plain);
        }
        let good = sealed(&plain, 32);
        for bit in 0..good.len() * 8 {
            let mut b = good.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            assert!(open(&b, &key).is_err(), "bit {bit}");
        }
        for cut in 0..good.len() {
            assert!(open(&good[..cut], &key).is_err(), "cut {cut}");
        }
        let mut longer = good.clone();
        longer.push(0);
        assert!(open(&longer, &key).is_err());
    }

    #[test]
    fn a_wrong_key_is_named_as_such() {
        let file = sealed(b"secret rows", 64);
        for wrong in [BackupKey::new(7, [4; 32]), BackupKey::new(8, [3; 32])] {
            assert!(matches!(open(&file, &wrong), Err(Error::WrongKey(_))));
        }
        assert!(matches!(
            DecryptReader::new(&file[8..], None),
            Err(Error::WrongKey(_))
        ));
    }
}
