//! Writing and reading one backup file: the plain stream (`format.rs`), sealed by
//! `crypto.rs` when a key is given, through `<path>.partial` renamed when complete.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufReader, BufWriter, Cursor, Read, Write};
use std::path::{Path, PathBuf};

use super::crypto::{self, BackupKey, DecryptReader, EncryptWriter};
use super::format::{self, FrameFn, Header, HeaderFn, Summary, Written};
use super::Progress;
use crate::engine::catalog;
use crate::error::{Error, Result};

/// Which rows a backup file holds.
pub(crate) enum Rows {
    /// Every row of every backed-up table.
    All,
    /// These rows (their value as of the snapshot, or a delete when gone).
    Touched(BTreeSet<(u16, Vec<u8>)>),
}

/// Where the stream goes: the file, through the cipher when a key is given.
enum Sink {
    Plain(BufWriter<File>),
    Sealed(Box<EncryptWriter<BufWriter<File>>>),
}

impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Plain(w) => w.write(b),
            Sink::Sealed(w) => w.write(b),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Plain(w) => w.flush(),
            Sink::Sealed(w) => w.flush(),
        }
    }
}

impl Sink {
    fn into_file(self) -> Result<File> {
        let buffered = match self {
            Sink::Plain(w) => w,
            Sink::Sealed(w) => w.finish()?,
        };
        buffered.into_inner().map_err(|e| Error::Io(e.into_error()))
    }
}

/// Hands the stream's blocks to a thread that seals (when encrypting) and writes them,
/// so reading the snapshot overlaps with the write path.
struct Spool {
    tx: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
    thread: Option<std::thread::JoinHandle<std::io::Result<Sink>>>,
}

impl Spool {
    fn new(mut sink: Sink) -> Result<Self> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
        let thread = std::thread::Builder::new()
            .name("hardstore-backup-write".into())
            .spawn(move || {
                for block in rx {
                    sink.write_all(&block)?;
                }
                Ok(sink)
            })?;
        Ok(Self {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Waits for every block to be written; returns the sink.
    fn finish(mut self) -> Result<Sink> {
        self.tx = None;
        self.join()
    }

    fn join(&mut self) -> Result<Sink> {
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(r)) => Ok(r?),
            Some(Err(_)) => Err(Error::Panicked("the backup writer thread panicked".into())),
            None => Err(Error::Storage("the backup writer thread is gone".into())),
        }
    }
}

impl Write for Spool {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        let sent = match &self.tx {
            Some(tx) => tx.send(b.to_vec()).is_ok(),
            None => false,
        };
        if sent {
            return Ok(b.len());
        }
        // The thread stopped: it failed; report its error.
        self.tx = None;
        Err(match self.join() {
            Err(Error::Io(e)) => e,
            Err(e) => std::io::Error::other(e.to_string()),
            Ok(_) => std::io::Error::other("the backup writer thread stopped early"),
        })
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        self.tx = None;
        let _ = self.join();
    }
}

/// Reports progress at most every this many bytes.
const PROGRESS_EVERY: u64 = 1 << 20;

/// Writes the rows `rows` of the snapshot `read` as a backup file at `path` (which must
/// not exist) and makes it durable; nothing is left at `path` or `<path>.partial` on
/// failure.
pub(crate) fn write(
    read: &redb::ReadTransaction,
    header: &Header,
    rows: &Rows,
    path: &Path,
    key: Option<&BackupKey>,
    progress: Option<&Progress>,
) -> Result<Written> {
    refuse_existing(path, "a backup")?;
    let tmp = partial(path);
    let written = (|| {
        let total = match (rows, progress) {
            (_, None) => 0,
            (Rows::All, Some(_)) => catalog::with(|f| f.backed_up)
                .map(|t| t.stored_bytes(read))
                .sum::<Result<u64>>()?,
            (Rows::Touched(set), Some(_)) => {
                let mut n = 0;
                for (id, k) in set {
                    n += k.len() as u64
                        + crate::engine::catalog::get_row(read, *id, k)?
                            .map_or(0, |v| v.len() as u64);
                }
                n
            }
        };
        let file = BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
        let sink = match key {
            Some(k) => Sink::Sealed(Box::new(EncryptWriter::new(file, k)?)),
            None => Sink::Plain(file),
        };
        let mut w = format::FrameWriter::new(Spool::new(sink)?, header)?;
        let (mut done, mut reported) = (0u64, 0u64);
        let mut frame = |w: &mut format::FrameWriter<Spool>, id, k: &[u8], v: Option<&[u8]>| {
            w.frame(id, k, v)?;
            done += (k.len() + v.map_or(0, <[u8]>::len)) as u64;
            if let Some(p) = progress {
                if done - reported >= PROGRESS_EVERY {
                    reported = done;
                    p(done.min(total), total);
                }
            }
            Ok::<_, Error>(())
        };
        match rows {
            Rows::All => {
                for t in catalog::with(|f| f.backed_up) {
                    let id = t.id();
                    t.for_each_row(read, &mut |k, v| frame(&mut w, id, k, Some(v)))?;
                }
            }
            Rows::Touched(set) => {
                for (id, k) in set {
                    let v = crate::engine::catalog::get_row(read, *id, k)?;
                    frame(&mut w, *id, k, v.as_deref())?;
                }
            }
        }
        let (spool, written) = w.finish()?;
        spool.finish()?.into_file()?.sync_all()?;
        if let Some(p) = progress {
            p(done, done);
        }
        Ok::<_, Error>(written)
    })();
    match written {
        Ok(w) => {
            publish(&tmp, path)?;
            Ok(w)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// The bytes of a file being read: plain, or decrypted chunk by chunk.
enum Input {
    Plain(std::io::Chain<Cursor<[u8; 8]>, BufReader<File>>),
    Sealed(Box<DecryptReader<BufReader<File>>>),
}

impl Read for Input {
    fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Input::Plain(r) => r.read(b),
            Input::Sealed(r) => r.read(b),
        }
    }
}

/// Reads and verifies the backup at `path` end to end (decrypting it with `key` when it
/// is encrypted), handing its header and frames to the callbacks; returns its summary and
/// the key id it was encrypted with.
pub(crate) fn read(
    path: &Path,
    key: Option<&BackupKey>,
    on_header: &mut HeaderFn<'_>,
    frame: &mut FrameFn<'_>,
) -> Result<(Summary, Option<u32>)> {
    let mut file = BufReader::with_capacity(1 << 20, File::open(path)?);
    let mut magic = [0u8; 8];
    let n = read_up_to(&mut file, &mut magic)?;
    if n < 8 {
        return Err(Error::Corrupted(format!(
            "backup file: truncated in the header (after byte {n})"
        )));
    }
    let (mut input, key_id) = if &magic == crypto::MAGIC {
        (
            Input::Sealed(Box::new(DecryptReader::new(file, key)?)),
            key.map(BackupKey::id),
        )
    } else {
        (Input::Plain(Read::chain(Cursor::new(magic), file)), None)
    };
    let summary = match format::read(&mut input, on_header, frame) {
        Ok(s) => s,
        Err(e) => {
            return Err(match (&mut input, e) {
                (Input::Sealed(r), Error::Io(io)) => r.take_error().unwrap_or(Error::Io(io)),
                (_, e) => e,
            })
        }
    };
    Ok((summary, key_id))
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Refuses a path `what` cannot write a new file at: empty, holding a NUL byte (no
/// file system takes one), or naming something that exists.
pub(crate) fn refuse_existing(path: &Path, what: &str) -> Result<()> {
    check_path(path, what)?;
    if path.exists() {
        return Err(Error::InvalidArgument(format!(
            "{} exists; {what} writes a new file",
            path.display()
        )));
    }
    Ok(())
}

/// Refuses an empty path, or one holding a NUL byte, before anything is written.
pub(crate) fn check_path(path: &Path, what: &str) -> Result<()> {
    if path.as_os_str().is_empty() {
        return Err(Error::InvalidArgument(format!(
            "{what} needs a path; it is empty"
        )));
    }
    if path.as_os_str().as_encoded_bytes().contains(&0) {
        return Err(Error::InvalidArgument(format!(
            "{what}: the path {path:?} holds a NUL byte"
        )));
    }
    Ok(())
}

/// Renames the finished `tmp` to `path` and makes the name durable; on failure, removes
/// `tmp`, so nothing is left behind.
pub(crate) fn publish(tmp: &Path, path: &Path) -> Result<()> {
    let done = std::fs::rename(tmp, path)
        .map_err(Error::from)
        .and_then(|()| sync_dir(path));
    if done.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    done
}

pub(crate) fn partial(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".partial");
    PathBuf::from(p)
}

/// Makes a rename durable: a file's name lives in its folder.
pub(crate) fn sync_dir(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    File::open(dir)?.sync_all()?;
    Ok(())
}
