//! A tour of every capability, on a store file in a temporary folder.
//!
//!     cargo run --release --example tour
//!
//! Appends audit entries from 4 threads, queries them, proves one entry is in the log,
//! proves the log only grew since a checkpoint, verifies the whole log, exports a query
//! to JSON Lines; fills the log ring and queries it; makes a request exactly-once with
//! an idempotency key (replay, in progress, mismatch, a crashed holder taken over);
//! retries a failed webhook as a dead letter; raises, repeats, acknowledges and resolves
//! an alert; grades the store's health; and shows that a tampered log is caught.

use std::path::Path;
use std::time::{Duration, Instant};

use hardstore::audit::{verify_consistency, verify_inclusion};
use hardstore::{
    AuditEvent, AuditQuery, Begin, Clock, Durability, Error, IdemToken, ManualClock, NewDeadLetter,
    Options, Order, Outcome, Result, RetryPolicy, Store, SystemClock,
};
use redb::ReadableTable;

fn main() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("hardstore-tour-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("tour.hardstore");
    let key = b"tour audit key: keep it outside the store";
    println!("hardstore tour: store file {}", path.display());

    let store = Store::open(&path, Options::new().audit_key(key))?;
    println!(
        "  opened store {} (format {})",
        store.id(),
        hardstore::FORMAT_VERSION
    );

    // 1. Append from 4 threads; durable appends share fsyncs through group commit.
    let started = Instant::now();
    let per_thread = 2_500u64;
    std::thread::scope(|s| -> Result<()> {
        let handles: Vec<_> = (0..4u64)
            .map(|t| {
                let store = store.clone();
                s.spawn(move || -> Result<()> {
                    for i in 0..per_thread {
                        let ev =
                            AuditEvent::new(["acme", "globex"][(i % 2) as usize], "invoice.update")
                                .actor(format!("user:{t}"))
                                .resource(format!("invoice/{i}"))
                                .outcome(if i % 10 == 0 { "denied" } else { "success" })
                                .ip("203.0.113.7")
                                .user_agent("tour/1.0")
                                .detail("amount", format!("{}.00", 10 + i));
                        store.audit().append(ev, Durability::Durable)?;
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join().expect("tour thread")?;
        }
        Ok(())
    })?;
    let audit = store.audit();
    let size = audit.size()?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "  appended {size} durable audit entries from 4 threads in {:.2} s ({:.0}/s)",
        secs,
        size as f64 / secs
    );

    // 2. Query: acme's entries by user:2, newest first, a page at a time.
    let q = AuditQuery::new("acme")
        .actor("user:2")
        .order(Order::NewestFirst)
        .limit(500);
    let mut pages = 0;
    let mut total = 0;
    let mut page = audit.query(&q)?;
    loop {
        pages += 1;
        total += page.entries.len();
        match page.next {
            Some(c) => page = audit.query(&q.clone().after(c))?,
            None => break,
        }
    }
    println!("  query acme / user:2, newest first: {total} entries in {pages} pages");

    // 3. A checkpoint the client keeps (MAC'd with the audit key).
    let checkpoint = audit.checkpoint()?;
    checkpoint.verify_mac(key)?;
    println!(
        "  checkpoint: size {}, root {}, MAC verified",
        checkpoint.size,
        hex(&checkpoint.root)
    );

    // 4. Inclusion proof for one entry, checked with nothing but the proof and the root.
    let seq = 4_242.min(size - 1);
    let entry = audit.get(seq)?;
    let proof = audit.inclusion_proof(seq, size)?;
    verify_inclusion(
        &entry.leaf_hash()?,
        seq,
        size,
        &proof.hashes,
        &checkpoint.root,
    )?;
    println!(
        "  inclusion proof for seq {seq}: {} hashes ({} bytes), verified",
        proof.hashes.len(),
        proof.to_bytes().len()
    );

    // 5. The log grows; prove it only grew since the checkpoint.
    for i in 0..100 {
        audit.append(
            AuditEvent::new("acme", "login").actor(format!("user:{i}")),
            Durability::Buffered,
        )?;
    }
    store.flush()?;
    let (now, growth) = audit.prove_since(&checkpoint)?;
    verify_consistency(
        checkpoint.size,
        now.size,
        &checkpoint.root,
        &now.root,
        &growth.hashes,
    )?;
    println!(
        "  consistency proof {} -> {}: {} hashes, verified",
        checkpoint.size,
        now.size,
        growth.hashes.len()
    );

    // 6. Verify the whole log.
    let started = Instant::now();
    let report = audit.verify()?;
    println!(
        "  verify: {} entries checked in {:.1} ms, ok = {}",
        report.checked,
        started.elapsed().as_secs_f64() * 1e3,
        report.is_ok()
    );

    // 7. Export a query to JSON Lines.
    let export = dir.join("acme-invoice-updates.jsonl");
    let n = audit.export_jsonl(
        &AuditQuery::new("acme")
            .action("invoice.update")
            .limit(1_000),
        std::io::BufWriter::new(std::fs::File::create(&export)?),
    )?;
    println!("  exported {n} entries to {}", export.display());
    store.close()?;

    // 8. The log ring: the last N entries, persistent, queryable, with stats.
    logs_tour(&dir)?;

    // 9. Idempotency keys: a POST made safe to retry, its response cached atomically
    //    with the app's state and audit entry.
    idempotency_tour(&dir)?;

    // 10. Dead letters: failed work retried on a schedule, then declared dead.
    dead_letters_tour(&dir)?;
    alerts_tour(&dir)?;
    gating_tour(&dir)?;
    sealing_tour(&dir)?;
    webhooks_tour(&dir)?;
    retention_tour(&dir)?;
    signed_checkpoints_tour(&dir)?;
    replication_tour(&dir)?;
    health_tour(&path)?;

    // 11. Restore points: roll app state back without rolling back the audit log.
    restore_points_tour(&dir)?;
    settings_tour(&dir)?;

    // 12. Full backups: an online snapshot into one self-verifying file, restored into a
    //     new store whose audit log verifies with the same root.
    backup_tour(&dir)?;

    // 13. Tamper with one stored byte behind hardstore's back: verify names the entry.
    tamper(&path, 1_234)?;
    let store = Store::open(&path, Options::new().audit_key(key))?;
    let report = store.audit().verify()?;
    println!(
        "  after flipping one byte of entry 1234 on disk: verify reports first bad seq {:?} ({})",
        report.first_bad_seq,
        report.problem.as_deref().unwrap_or("")
    );
    assert_eq!(report.first_bad_seq, Some(1_234));
    store.close()?;

    // HARDSTORE_TOUR_KEEP=1 keeps the files, to look at with the `hardstore` CLI.
    if std::env::var_os("HARDSTORE_TOUR_KEEP").is_some() {
        println!("files kept in {}", dir.display());
    } else {
        std::fs::remove_dir_all(&dir)?;
    }
    println!("tour complete");
    Ok(())
}

fn logs_tour(dir: &Path) -> Result<()> {
    use hardstore::logs::{Level, LogQuery, LogRecord};
    let path = dir.join("logs.hardstore");
    let store = Store::open(&path, Options::new().log_capacity(10_000))?;
    let endpoints = ["GET /cart", "POST /checkout", "GET /search"];
    let started = Instant::now();
    std::thread::scope(|s| -> Result<()> {
        let handles: Vec<_> = (0..4u64)
            .map(|t| {
                let store = store.clone();
                s.spawn(move || -> Result<()> {
                    for i in 0..10_000u64 {
                        let n = t * 10_000 + i;
                        let failed = n % 37 == 0;
                        let rec = LogRecord::new(
                            if failed { Level::Error } else { Level::Info },
                            if failed {
                                format!("payment for order {n} declined; receipt to jane.doe@example.com")
                            } else {
                                format!("served request {n}")
                            },
                        )
                        .tenant(["acme", "globex"][(n % 2) as usize])
                        .endpoint(endpoints[(n % 3) as usize])
                        .status(if failed { 502 } else { 200 })
                        .duration_us(300 + n % 5_000);
                        // Buffered: returns at once; written in batches, synced within 100 ms.
                        store.logs().append(rec, Durability::Buffered)?;
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join().expect("log thread")?;
        }
        Ok(())
    })?;
    let logs = store.logs();
    let (oldest, next) = logs.range()?;
    println!(
        "  log ring: 40000 buffered appends from 4 threads in {:.0} ms; the ring of {} holds seqs {oldest}..{next}",
        started.elapsed().as_secs_f64() * 1e3,
        logs.capacity()
    );
    let q = LogQuery::new()
        .min_level(Level::Error)
        .tenant("acme")
        .endpoint("POST /checkout")
        .time_range(Some(SystemClock.now() - 10 * 60 * 1_000_000), None)
        .limit(3);
    let page = logs.query(&q)?;
    println!("  errors on POST /checkout for acme in the last 10 minutes, newest 3:");
    for e in &page.entries {
        println!(
            "    #{} {} {:?}: {}",
            e.seq,
            e.level.as_str(),
            e.status,
            e.message
        );
    }
    let stats = logs.stats(None, None)?;
    println!(
        "  stats: {} entries, error rate {:.2}%",
        stats.total,
        stats.error_rate * 100.0
    );
    for ep in &stats.endpoints {
        println!(
            "    {:<16} count {:>5}  errors {:>4}  mean {:>6.0} us  p95 {:>5} us",
            ep.endpoint,
            ep.count,
            ep.errors,
            ep.mean_duration_us.unwrap_or(0.0),
            ep.p95_duration_us.unwrap_or(0)
        );
    }
    store.close()?;
    let store = Store::open(&path, Options::new().log_capacity(10_000))?;
    println!(
        "  reopened: the ring still holds {} entries (e-mail addresses were redacted before storage)",
        store.logs().len()?
    );
    store.close()
}

fn idempotency_tour(dir: &Path) -> Result<()> {
    // A manual clock, so leases and the 24 h TTL pass in an instant.
    let clock = ManualClock::new(SystemClock.now());
    let store = Store::open(
        dir.join("idem.hardstore"),
        Options::new().clock(clock.clone()),
    )?;
    let idem = store.idempotency();
    let lease = Duration::from_secs(60);
    // The fingerprint input: method, path and body.
    let request = b"POST /orders\n{\"sku\":\"A-1\",\"qty\":2}";

    let token = started(idem.begin("acme", "7f3a", request, lease)?);
    println!(
        "  idempotency: POST /orders with key 7f3a -> Started (fence {}): do the work",
        token.fence
    );
    clock.advance(2_000_000);
    if let Begin::InProgress { retry_after } = idem.begin("acme", "7f3a", request, lease)? {
        println!(
            "    a concurrent duplicate -> InProgress, retry after {} s (HTTP 409)",
            retry_after.as_secs()
        );
    }
    let other = b"POST /orders\n{\"sku\":\"A-1\",\"qty\":3}";
    let answer = idem.begin("acme", "7f3a", other, lease)?;
    println!("    the same key with another body -> {answer:?} (HTTP 422)");

    // The order, its audit entry and the cached response, in one durable write.
    let t = token.clone();
    let (seq, body) = store.write(Durability::Durable, move |tx| {
        tx.kv_put("orders", b"order/1", b"{\"sku\":\"A-1\",\"qty\":2}")?;
        let r = tx.audit_append(&AuditEvent::new("acme", "order.created").resource("order/1"))?;
        let body = b"{\"order\":1}".to_vec();
        tx.idem_complete(&t, Some(201), &body)?;
        Ok((r.seq, body))
    })?;
    println!(
        "    completed in one durable write with app state orders/order/1 and audit entry {seq}"
    );
    if let Begin::Replay(r) = idem.begin("acme", "7f3a", request, lease)? {
        println!(
            "    a retry -> Replay {} {}, identical bytes: {}",
            r.status.unwrap_or(200),
            String::from_utf8_lossy(&r.body),
            r.body == body
        );
    }

    // A holder crashes mid-work; after its lease the next retry takes over.
    let short = Duration::from_secs(30);
    let old = started(idem.begin("acme", "8b2c", request, short)?);
    idem.save_recovery(&old, "charged", b"ch_123")?;
    clock.advance(31_000_000);
    let new = started(idem.begin("acme", "8b2c", request, short)?);
    println!(
        "    the holder of key 8b2c (fence {}) saves a recovery point, then crashes",
        old.fence
    );
    println!(
        "    31 s later its lease has run out: a retry takes over with fence {}, recovery {:?}",
        new.fence,
        new.recovery
            .as_ref()
            .map(|(name, bytes)| (name.as_str(), String::from_utf8_lossy(bytes)))
    );
    match idem.complete(&old, Some(201), b"late") {
        Err(Error::Fenced(_)) => {
            println!("    the old holder's late complete -> Error::Fenced, nothing written")
        }
        other => panic!("expected Fenced, got {other:?}"),
    }
    idem.complete(&new, Some(201), b"{\"order\":2}")?;

    // Keys expire exactly at their TTL (24 h by default) and are purged in batches.
    clock.advance(24 * 3_600_000_000);
    println!(
        "    24 h later: key 7f3a is {}; purge_expired removed {} keys",
        if idem.get("acme", "7f3a")?.is_some() {
            "live"
        } else {
            "gone"
        },
        idem.purge_expired(100)?
    );
    store.close()
}

fn started(b: Begin) -> IdemToken {
    match b {
        Begin::Started(t) => t,
        other => panic!("expected Started, got {other:?}"),
    }
}

fn dead_letters_tour(dir: &Path) -> Result<()> {
    let clock = ManualClock::new(SystemClock.now());
    // Backoff from 30 s up to 1 h, 3 attempts, seeded so the delays repeat.
    let policy = RetryPolicy::new(Duration::from_secs(30), Duration::from_secs(3600))
        .max_attempts(3)
        .seed(7);
    let store = Store::open(
        dir.join("dlq.hardstore"),
        Options::new()
            .clock(clock.clone())
            .dead_letter_policy(policy),
    )?;
    let dl = store.dead_letters();
    let lease = Duration::from_secs(60);

    let id = dl.record(
        NewDeadLetter::new("acme", "webhook", b"{\"order\":1}".to_vec())
            .error("POST https://hooks.acme.test: 503"),
        Durability::Durable,
    )?;
    let c = claim_one(&store, lease)?;
    println!(
        "  dead letters: webhook {id} recorded; claimed for attempt {}/{}",
        c.attempt, c.max_attempts
    );
    let Outcome::Rescheduled { at } = dl.fail(&c, "503 again", true)? else {
        panic!("a retryable failure with attempts left is rescheduled");
    };
    println!(
        "    it fails again -> rescheduled in {:.1} s; claimable now: {}",
        (at - clock.now()) as f64 / 1e6,
        dl.claim_due(10, lease)?.len()
    );
    clock.set(at);
    let c = claim_one(&store, lease)?;
    dl.ack(&c)?;
    println!(
        "    at its due time: claimed for attempt {}, delivered, acked",
        c.attempt
    );
    if let Err(Error::Fenced(_)) = dl.ack(&c) {
        println!("    acking the same claim again -> Error::Fenced, nothing changes");
    }

    let mail = dl.record(
        NewDeadLetter::new("acme", "email", b"to: nobody@example.test".to_vec()),
        Durability::Durable,
    )?;
    let c = claim_one(&store, lease)?;
    let outcome = dl.fail(&c, "550 no such mailbox", false)?;
    println!(
        "    email {mail}: a permanent failure -> {outcome:?}; {}",
        counts(&store)?
    );
    dl.redrive(mail)?;
    let c = claim_one(&store, lease)?;
    dl.ack(&c)?;
    let item = dl.get(mail)?;
    println!(
        "    redriven (attempts reset), claimed, acked: {}, its history kept ({:?}); {}",
        item.state.as_str(),
        item.last_error().unwrap_or(""),
        counts(&store)?
    );
    store.close()
}

fn counts(store: &Store) -> Result<String> {
    let c = store.dead_letters().counts()?;
    Ok(format!(
        "counts: pending {}, leased {}, done {}, dead {}",
        c.pending, c.leased, c.done, c.dead
    ))
}

fn alerts_tour(dir: &Path) -> Result<()> {
    use hardstore::alerts::{NewAlert, Severity};
    let store = Store::open(dir.join("alerts.hardstore"), Options::new())?;
    let disk = || NewAlert::new("acme", "health", "disk-free", Severity::Warning, "8% free");
    let first = store.alerts().raise(disk(), Durability::Durable)?;
    let again = store.alerts().raise(disk(), Durability::Durable)?;
    store.alerts().acknowledge(first.id, "oncall:ana")?;
    let done = store
        .alerts()
        .resolve(first.id, "oncall:ana", "rotated the logs")?;
    let counts = store.alerts().counts()?;
    println!(
        "  alerts: a repeat counted on alert {} (count {}), acknowledged, resolved by {}; {} open, {} resolved kept; {} audit entries",
        again.id,
        again.count,
        done.resolved_by,
        counts.unresolved,
        counts.resolved,
        store.audit().size()?
    );
    assert_eq!((again.id, again.count, counts.resolved), (first.id, 2, 1));
    store.close()?;
    Ok(())
}

/// Request gating: a rate limit ("5 a minute per IP") and IP rules (a global deny of a
/// range, a tenant's allow inside it), both kept in the store.
fn gating_tour(dir: &Path) -> Result<()> {
    use hardstore::ip_rules::{IpAction, NewIpRule};
    use hardstore::rate_limits::Limit;
    let path = dir.join("gating.hardstore");
    let store = Store::open(&path, Options::new())?;
    store
        .rate_limits()
        .define("acme", "login", Limit::per_minute(5))?;
    let login = store.rate_limits().limiter("acme", "login")?;
    let allowed = (0..8)
        .filter(|_| login.check(b"203.0.113.9", 1).is_ok_and(|d| d.allowed))
        .count();
    store
        .ip_rules()
        .put(NewIpRule::new("198.51.100.0/24".parse()?, IpAction::Deny).reason("scanner range"))?;
    store.ip_rules().put(
        NewIpRule::new("198.51.100.7/32".parse()?, IpAction::Allow)
            .tenant("acme")
            .reason("partner's gateway"),
    )?;
    store.close()?;
    // Reopened: the limit's keys and the rules are still there.
    let store = Store::open(&path, Options::new())?;
    let left = store
        .rate_limits()
        .check("acme", "login", b"203.0.113.9", 0)?;
    let partner = store.ip_rules().check_str("acme", "198.51.100.7")?;
    let other = store.ip_rules().check_str("acme", "198.51.100.8")?;
    println!(
        "  gating: 5 of 8 logins a minute allowed ({allowed}); after a reopen {} left, full again in {:?}; 198.51.100.7 {} by its /32, .8 {} by the global /24",
        left.remaining,
        left.reset_after,
        if partner.allowed { "allowed" } else { "denied" },
        if other.allowed { "allowed" } else { "denied" },
    );
    assert_eq!((allowed, left.remaining), (5, 0));
    assert!(partner.allowed && !other.allowed);
    store.close()?;
    Ok(())
}

/// Sealed fields: a user's email sealed into app state and an audit detail, then the
/// user forgotten by one shred while the audit log still verifies.
fn sealing_tour(dir: &Path) -> Result<()> {
    use hardstore::sealing::Keyset;
    let keys = Keyset::new().with(1, [0x42; 32]); // from a secrets manager, never the store
    let store = Store::open(
        dir.join("sealing.hardstore"),
        Options::new().sealing_keys(keys),
    )?;
    store.sealing().add_key(1)?;
    let email = store.write(Durability::Durable, |tx| {
        let email = tx.seal("user:42", b"ana@example.com")?;
        tx.kv_put("users", b"42", &email)?;
        let card = tx.seal_text("user:42", "4111 1111 1111 1111")?;
        tx.audit_append(&AuditEvent::new("shop", "card.add").detail("card", card))?;
        Ok(email)
    })?;
    let before = String::from_utf8_lossy(&store.sealing().open(&email)?).into_owned();
    store.sealing().shred("user:42")?;
    let after = store.sealing().open(&email);
    let verified = store.audit().verify()?.first_bad_seq.is_none();
    println!(
        "  sealed fields: {before:?} sealed for user:42; after one shred: {}; audit log verifies: {verified}",
        if matches!(after, Err(hardstore::Error::Shredded(_))) { "shredded everywhere" } else { "READABLE" }
    );
    assert!(verified && after.is_err());
    store.close()?;
    Ok(())
}

/// The webhook outbox: an event committed with its order, claimed with Standard
/// Webhooks headers, verified as a receiver would, acknowledged.
fn webhooks_tour(dir: &Path) -> Result<()> {
    use hardstore::webhooks::{verify_webhook, Secret};
    let store = Store::open(dir.join("webhooks.hardstore"), Options::new())?;
    let secret = Secret::generate()?;
    store.webhooks().put_endpoint(
        "acme",
        "orders",
        "https://acme.example/hooks",
        std::slice::from_ref(&secret),
    )?;
    store.write(Durability::Durable, |tx| {
        tx.kv_put("orders", b"1001", b"paid")?;
        tx.outbox_enqueue("acme", "orders", "order.paid", br#"{"id":1001}"#)
    })?;
    let d = store
        .webhooks()
        .claim_due(10, Duration::from_secs(30))?
        .remove(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |t| t.as_secs());
    let headers: Vec<(&str, &str)> = d
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    verify_webhook(std::slice::from_ref(&secret), headers, &d.payload, 300, now)?;
    store.webhooks().ack(&d)?;
    println!(
        "  webhooks: order.paid committed with order 1001, delivered as {} and verified, {} pending",
        d.headers[0].1,
        store.webhooks().counts()?.pending
    );
    store.close()?;
    Ok(())
}

/// Audit retention: the oldest entries archived with proofs, then their payloads pruned;
/// the root is unchanged and the log verifies.
fn retention_tour(dir: &Path) -> Result<()> {
    use hardstore::audit::PruneBefore;
    let store = Store::open(dir.join("retention.hardstore"), Options::new())?;
    for i in 0..100 {
        store.audit().append(
            AuditEvent::new("acme", "login").actor(format!("user:{i}")),
            Durability::Buffered,
        )?;
    }
    let root = store.audit().root(100)?;
    let mut archive = Vec::new();
    let archived = store.audit().export_archive(0, 60, &mut archive)?;
    let pruned = store.audit().prune(PruneBefore::Seq(60), 60)?;
    let same = store.audit().root(100)? == root;
    let verified = store.audit().verify()?.first_bad_seq.is_none();
    println!(
        "  audit retention: {archived} entries archived ({} KiB with proofs), {pruned} payloads pruned; root unchanged: {same}; verifies: {verified}",
        archive.len() / 1024
    );
    assert!(same && verified && store.audit().get(0)?.pruned.is_some());
    store.close()?;
    Ok(())
}

/// Signed checkpoints: a SHA-256 store (RFC 6962's tree), its checkpoint signed as a
/// C2SP note, cosigned by a witness, verified offline, and an entry's offline proof
/// bundle carrying its leaf bytes.
fn signed_checkpoints_tour(dir: &Path) -> Result<()> {
    use hardstore::audit::ProofBundle;
    use hardstore::{AuditHash, NoteKeyKind, NoteSigner, SignedCheckpoint};
    let store = Store::open(
        dir.join("tlog.hardstore"),
        Options::new().audit_hash(AuditHash::Sha256),
    )?;
    for i in 0..50 {
        store.audit().append(
            AuditEvent::new("acme", "invoice.paid").actor(format!("user:{i}")),
            Durability::Buffered,
        )?;
    }
    let log = NoteSigner::generate("tour.example/audit", NoteKeyKind::Ed25519)?;
    let witness = NoteSigner::generate("witness.example/w1", NoteKeyKind::Cosignature)?;
    let mut cp = store.audit().sign_checkpoint(&log)?;
    cp.cosign(&witness, 1_767_225_600)?;
    let note = cp.to_note();
    let parsed = SignedCheckpoint::parse(note.as_bytes())?;
    parsed.verify(&log.verifier())?;
    let cosigned = parsed.verify_cosignatures(&[witness.verifier()], 1)?;
    let bundle = store.audit().proof_bundle(7, &parsed)?.to_text();
    let leaf = ProofBundle::parse(bundle.as_bytes())?.verify(
        &log.verifier(),
        &[witness.verifier()],
        1,
        AuditHash::Sha256,
    )?;
    println!(
        "  signed checkpoint (C2SP, SHA-256 tree): size {}, {} cosignature verified; proof bundle for entry 7: {} bytes, its {} leaf bytes proven",
        parsed.size,
        cosigned.len(),
        bundle.len(),
        leaf.len()
    );
    store.close()?;
    Ok(())
}

/// Replication: a store shipped to a bucket (a local folder here), restored elsewhere
/// from the bucket alone with the same audit root.
fn replication_tour(dir: &Path) -> Result<()> {
    let bucket = dir.join("replica-bucket");
    std::fs::create_dir_all(&bucket)?;
    let url = format!("file://{}", bucket.display());
    let store = Store::open(dir.join("replicated.hardstore"), Options::new())?;
    store.replicate(
        &url,
        hardstore::ReplicateOptions {
            lag: Duration::from_millis(100),
        },
    )?;
    for i in 0..200 {
        store.audit().append(
            AuditEvent::new("acme", "order.placed").resource(format!("order/{i}")),
            Durability::Durable,
        )?;
    }
    store.wait_replicated(Duration::from_secs(30))?;
    let st = store.replication_status().expect("replicating");
    let root = store.audit().root(200)?;
    store.close()?;
    let r = hardstore::replication::restore(
        &url,
        dir.join("restored-from-replica.hardstore"),
        hardstore::RestoreTo::Latest,
        &Options::new(),
    )?;
    println!(
        "  replication: {} segments shipped; restored elsewhere from the bucket alone: {} entries, same root: {}",
        st.segments,
        r.audit_size,
        r.audit_root == root
    );
    assert_eq!(r.audit_root, root);
    Ok(())
}

fn health_tour(path: &Path) -> Result<()> {
    // The tour's main store: its 10,000 audit entries verified, every table read.
    let store = Store::open(path, Options::new())?;
    let r = store.health_deep()?;
    println!(
        "  health: {} in {} components; {}",
        r.grade.as_str(),
        r.components.len(),
        r.component("integrity").map_or("", |c| c.reason.as_str())
    );
    store.close()?;
    Ok(())
}

fn restore_points_tour(dir: &Path) -> Result<()> {
    let store = Store::open(dir.join("restore.hardstore"), Options::new())?;
    store.kv_put("prices", b"sku-42", b"1200", Durability::Durable)?;
    let point = store
        .restore_points()
        .create("before the price migration")?;
    store.kv_put("prices", b"sku-42", b"12", Durability::Durable)?; // a bad migration
    store.audit().append(
        AuditEvent::new("acme", "price.migrate").actor("migration-7"),
        Durability::Durable,
    )?;
    let receipt = store
        .restore_points()
        .restore(point.id, "ops@example.com")?;
    let price = store.kv_get("prices", b"sku-42")?.unwrap_or_default();
    let audit = store.audit();
    let size = audit.size()?;
    println!(
        "  restore point {} ({:?}): price back to {}, audit log kept {} entries (restore recorded at seq {}), verify ok: {}",
        point.id,
        point.label,
        String::from_utf8_lossy(&price),
        size,
        receipt.audit_seq,
        audit.verify()?.first_bad_seq.is_none()
    );
    assert_eq!(price, b"1200");
    store.restore_points().verify(point.id)?;
    store.close()?;
    Ok(())
}

/// Settings live in the store: another open's options change nothing; a change is an
/// audited call that asks before it deletes.
fn settings_tour(dir: &Path) -> Result<()> {
    let path = dir.join("settings.hardstore");
    let store = Store::open(&path, Options::new().log_capacity(500))?;
    for i in 0..400 {
        store.logs().append(
            hardstore::LogRecord::new(hardstore::Level::Info, format!("line {i}")),
            Durability::Buffered,
        )?;
    }
    store.close()?;
    // An operator tool opening with the defaults sees, and keeps, the store's own.
    let store = Store::open(&path, Options::new().log_capacity(100))?;
    let settings = store.settings().by("ops@example.com");
    let (capacity, held) = (settings.get().log_capacity, store.logs().len()?);
    let refused = match settings.set_log_capacity(100, 0) {
        Err(hardstore::Error::ConfirmationRequired { deletes, .. }) => deletes,
        other => panic!("an unconfirmed eviction: {other:?}"),
    };
    let change = settings.set_log_capacity(100, refused)?;
    println!(
        "  settings: reopened with other options, capacity still {} holding {held}; a capacity of 100 asks first (evicts {refused}), confirmed: {} evicted, audit entry {}",
        capacity,
        change.deleted,
        change.audit_seq
    );
    assert_eq!((capacity, held, refused), (500, 400, 300));
    assert_eq!(store.logs().len()?, 100);
    store.close()?;
    Ok(())
}

fn backup_tour(dir: &Path) -> Result<()> {
    use hardstore::{backup, BackupKey, BackupKind, BackupOptions, Retention};
    let store = Store::open(dir.join("backup.hardstore"), Options::new())?;
    store.kv_put("orders", b"order-1", b"paid", Durability::Durable)?;
    store.kv_put("orders", b"order-2", b"paid", Durability::Durable)?;
    store.audit().append(
        AuditEvent::new("acme", "order.pay").actor("alice"),
        Durability::Durable,
    )?;
    // A standalone full backup: one file, verified and restored.
    let file = dir.join("full.hsb");
    let info = store.backups().full(&file)?;
    backup::verify(&file)?;
    let copy = dir.join("restored.hardstore");
    backup::restore(&file, &copy, &Options::new())?;
    let restored = Store::open(&copy, Options::new())?;
    let report = restored.audit().verify()?;
    println!(
        "  full backup: {} frames in {} bytes, verified; restored store has {} audit entries, same root: {}",
        info.frames,
        info.bytes,
        report.size,
        report.root == info.audit_root
    );
    assert_eq!(report.root, info.audit_root);
    assert_eq!(
        restored.kv_get("orders", b"order-1")?.as_deref(),
        Some(&b"paid"[..])
    );
    restored.close()?;

    // Cataloged, encrypted runs into a folder: full, then an incremental that carries
    // an overwrite and a delete.
    let folder = dir.join("backups");
    let key = BackupKey::new(1, [0x2a; 32]);
    let opts = BackupOptions {
        key: Some(key.clone()),
        progress: None,
    };
    let full = store.backups().run(BackupKind::Full, &folder, &opts)?;
    store.kv_put("orders", b"order-1", b"refunded", Durability::Durable)?;
    store.kv_delete("orders", b"order-2", Durability::Durable)?;
    let inc = store
        .backups()
        .run(BackupKind::Incremental, &folder, &opts)?;
    let chain = store.backups().chain(inc.id)?;
    backup::verify_chain(&chain, Some(&key))?;
    let wrong = backup::verify_chain(&chain, Some(&BackupKey::new(1, [0; 32])));
    let copy = dir.join("restored-chain.hardstore");
    backup::restore_chain(&chain, &copy, &Options::new(), Some(&key))?;
    let restored = Store::open(&copy, Options::new())?;
    println!(
        "  catalog: full #{} ({} bytes), incremental #{} ({} bytes, {} frames); wrong key: {}",
        full.id,
        full.bytes,
        inc.id,
        inc.bytes,
        inc.entries,
        wrong.map_or_else(|e| e.to_string(), |_| "accepted?!".into())
    );
    println!(
        "  chain restored: order-1 = {:?}, order-2 = {:?}",
        restored
            .kv_get("orders", b"order-1")?
            .map(|v| String::from_utf8_lossy(&v).into_owned()),
        restored.kv_get("orders", b"order-2")?
    );
    assert_eq!(
        restored.kv_get("orders", b"order-1")?.as_deref(),
        Some(&b"refunded"[..])
    );
    assert_eq!(restored.kv_get("orders", b"order-2")?, None);
    restored.close()?;
    let would_go = store
        .backups()
        .prune(&Retention::default(), store.created(), true)?;
    println!(
        "  retention (dry run): {} backups would go; success rate {:.0}%",
        would_go.len(),
        store.backups().success_rate(0)?.rate * 100.0
    );
    store.close()?;
    Ok(())
}

fn claim_one(store: &Store, lease: Duration) -> Result<hardstore::Claimed> {
    let mut got = store.dead_letters().claim_due(1, lease)?;
    Ok(got.pop().expect("one item is due"))
}

/// Flips a byte of a stored entry through raw redb, as an attacker with file access would.
fn tamper(path: &Path, seq: u64) -> Result<()> {
    const ENTRIES: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("audit.entries");
    let db = redb::Database::open(path).map_err(redb::Error::from)?;
    let txn = db.begin_write().map_err(redb::Error::from)?;
    {
        let mut t = txn.open_table(ENTRIES).map_err(redb::Error::from)?;
        let mut v = t
            .get(seq)
            .map_err(redb::Error::from)?
            .map(|g| g.value().to_vec())
            .unwrap_or_default();
        if let Some(b) = v.last_mut() {
            *b ^= 1;
        }
        t.insert(seq, v.as_slice()).map_err(redb::Error::from)?;
    }
    txn.commit().map_err(redb::Error::from)?;
    Ok(())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
