//! `hardstore tlog`: C2SP signed checkpoints of the audit log: note keys, signing,
//! cosigning, verifying, offline proof bundles.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use hardstore::audit::ProofBundle;
use hardstore::{
    AuditHash, Error, NoteKeyKind, NoteSigner, NoteVerifier, Result, SignedCheckpoint,
};
use serde_json::json;

use crate::{emit, hex, open};

#[derive(Subcommand)]
pub(crate) enum TlogCmd {
    /// Makes an Ed25519 note key NAME (a log's, or with --witness a cosigner's): writes
    /// its private key to a new file (never replacing one) and prints its public key.
    Keygen {
        name: String,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        witness: bool,
    },
    /// Prints the audit log's current size and root as a checkpoint signed with the key
    /// in --key (its name is the origin).
    Sign {
        store: PathBuf,
        #[arg(long)]
        key: PathBuf,
    },
    /// Prints a checkpoint note with a cosignature added by the witness key in --key, at
    /// --time (seconds since the epoch; default now).
    Cosign {
        note: PathBuf,
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        time: Option<u64>,
    },
    /// Checks a checkpoint note's signature (--vkey) and at least --quorum cosignatures
    /// of the --witness keys; exit code 4 if not.
    Verify {
        note: PathBuf,
        #[arg(long)]
        vkey: String,
        #[arg(long)]
        witness: Vec<String>,
        #[arg(long, default_value_t = 0)]
        quorum: usize,
        #[arg(long)]
        json: bool,
    },
    /// Prints an offline proof (tlog-proof) that entry SEQ is in the checkpoint's tree.
    Bundle {
        store: PathBuf,
        seq: u64,
        #[arg(long)]
        checkpoint: PathBuf,
    },
    /// Checks a tlog-proof file offline; exit code 4 if it does not verify.
    VerifyBundle {
        bundle: PathBuf,
        #[arg(long)]
        vkey: String,
        #[arg(long)]
        witness: Vec<String>,
        #[arg(long, default_value_t = 0)]
        quorum: usize,
        /// The log's tree hash: sha256 or blake3.
        #[arg(long, default_value = "sha256")]
        hash: String,
        #[arg(long)]
        json: bool,
    },
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::NotFound(format!("{}", path.display())),
        _ => e.into(),
    })
}

fn signer(path: &Path) -> Result<NoteSigner> {
    let text = String::from_utf8(read(path)?)
        .map_err(|_| Error::InvalidArgument(format!("{} is not text", path.display())))?;
    NoteSigner::from_skey(text.trim())
}

fn verifiers(keys: &[String]) -> Result<Vec<NoteVerifier>> {
    keys.iter().map(|k| NoteVerifier::from_vkey(k)).collect()
}

pub(crate) fn tlog(c: TlogCmd) -> Result<()> {
    match c {
        TlogCmd::Keygen { name, out, witness } => {
            let kind = if witness {
                NoteKeyKind::Cosignature
            } else {
                NoteKeyKind::Ed25519
            };
            let k = NoteSigner::generate(&name, kind)?;
            let mut o = std::fs::OpenOptions::new();
            o.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
            let mut f = o.open(&out)?;
            writeln!(f, "{}", k.to_skey())?;
            f.sync_all()?;
            println!("{}", k.verifier().to_vkey());
            Ok(())
        }
        TlogCmd::Sign { store, key } => {
            let k = signer(&key)?;
            let s = open(&store)?;
            let cp = s.audit().sign_checkpoint(&k)?;
            print!("{}", cp.to_note());
            s.close()
        }
        TlogCmd::Cosign { note, key, time } => {
            let k = signer(&key)?;
            let mut cp = SignedCheckpoint::parse(&read(&note)?)?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            cp.cosign(&k, time.unwrap_or(now))?;
            print!("{}", cp.to_note());
            Ok(())
        }
        TlogCmd::Verify {
            note,
            vkey,
            witness,
            quorum,
            json,
        } => {
            let cp = SignedCheckpoint::parse(&read(&note)?)?;
            cp.verify(&NoteVerifier::from_vkey(&vkey)?)?;
            let cos = cp.verify_cosignatures(&verifiers(&witness)?, quorum)?;
            let v = json!({
                "origin": cp.origin, "size": cp.size, "root": hex(&cp.root),
                "cosigned_by": cos.iter().map(|c| json!({"name": c.name, "time": c.time})).collect::<Vec<_>>(),
            });
            emit(json, v, || {
                println!(
                    "checkpoint of {} verified: {} entries, root {}; {} cosignatures",
                    cp.origin,
                    cp.size,
                    hex(&cp.root),
                    cos.len()
                )
            });
            Ok(())
        }
        TlogCmd::Bundle {
            store,
            seq,
            checkpoint,
        } => {
            let cp = SignedCheckpoint::parse(&read(&checkpoint)?)?;
            let s = open(&store)?;
            let b = s.audit().proof_bundle(seq, &cp)?;
            print!("{}", b.to_text());
            s.close()
        }
        TlogCmd::VerifyBundle {
            bundle,
            vkey,
            witness,
            quorum,
            hash,
            json,
        } => {
            let h: AuditHash = hash.parse()?;
            let b = ProofBundle::parse(&read(&bundle)?)?;
            let leaf = b.verify(
                &NoteVerifier::from_vkey(&vkey)?,
                &verifiers(&witness)?,
                quorum,
                h,
            )?;
            let v = json!({
                "index": b.index, "size": b.checkpoint.size, "root": hex(&b.checkpoint.root),
                "leaf_bytes": hex(&leaf),
            });
            emit(json, v, || {
                println!(
                    "entry {} is in the checkpoint of {} ({} entries)",
                    b.index, b.checkpoint.origin, b.checkpoint.size
                )
            });
            Ok(())
        }
    }
}
