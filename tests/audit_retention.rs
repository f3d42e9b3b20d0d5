//! Audit retention: pruning old entries' payloads keeps the root, proofs and verify;
//! pruned entries read as pruned; a prune asks for its count; the archive exported first
//! proves each entry on its own; pruning survives a reopen and a restore point; opt-in
//! redaction of actors and details.

mod common;

use std::time::Duration;

use common::TempDir;
use hardstore::audit::{InclusionProof, PruneBefore};
use hardstore::{AuditEvent, AuditQuery, Durability, Error, ManualClock, Options, Store};

const T0: u64 = 1_700_000_000_000_000;
const DAY: u64 = 86_400_000_000;

fn unhex(s: &str) -> [u8; 32] {
    let v: Vec<u8> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect();
    v.try_into().unwrap()
}

fn fill(store: &Store, clock: &ManualClock, n: u64) {
    for i in 0..n {
        store
            .audit()
            .append(
                AuditEvent::new("acme", "invoice.update")
                    .actor(format!("user:{i}"))
                    .resource(format!("invoice/{i}"))
                    .detail("amount", format!("{i}.00")),
                Durability::Durable,
            )
            .unwrap();
        clock.advance(DAY);
    }
}

#[test]
fn pruning_keeps_the_root_proofs_and_verify_and_asks_first() {
    let clock = ManualClock::new(T0);
    let store = Store::in_memory(Options::new().clock(clock.clone())).unwrap();
    fill(&store, &clock, 40);
    let audit = store.audit();
    let root = audit.root(40).unwrap();
    let leaf_7 = audit.get(7).unwrap().leaf_hash().unwrap();
    let consistency = audit.consistency_proof(10, 40).unwrap();

    let r = audit.prunable(PruneBefore::Seq(25)).unwrap();
    assert_eq!((r.from, r.to, r.count()), (0, 25, 25));
    match audit.prune(PruneBefore::Seq(25), 24) {
        Err(Error::ConfirmationRequired { deletes, .. }) => assert_eq!(deletes, 25),
        other => panic!("{other:?}"),
    }
    assert!(
        audit.get(0).unwrap().pruned.is_none(),
        "a refused prune changes nothing"
    );
    assert_eq!(audit.prune(PruneBefore::Seq(25), 25).unwrap(), 25);
    assert_eq!(audit.pruned_below().unwrap(), 25);

    let e = audit.get(7).unwrap();
    assert_eq!(
        e.pruned,
        Some(leaf_7),
        "pruned, not missing; the leaf hash kept"
    );
    assert_eq!(
        (e.seq, e.tenant.as_str(), e.action.as_str()),
        (7, "acme", "invoice.update")
    );
    assert!(e.actor.is_empty() && e.details.is_empty() && e.resource.is_empty());
    assert_eq!(e.leaf_hash().unwrap(), leaf_7);
    assert_eq!(
        audit.get(30).unwrap().actor,
        "user:30",
        "newer entries untouched"
    );

    // Root (of the first 40: the prune appended its own entry), proofs and verify.
    assert_eq!(audit.root(40).unwrap(), root);
    let size = audit.size().unwrap();
    assert_eq!(size, 41, "one audit.prune entry");
    audit
        .inclusion_proof(7, size)
        .unwrap()
        .verify(&leaf_7, &audit.root(size).unwrap())
        .unwrap();
    consistency.verify(&audit.root(10).unwrap(), &root).unwrap();
    let v = audit.verify().unwrap();
    assert_eq!((v.first_bad_seq, v.checked), (None, size), "{v:?}");

    // Queries list pruned entries as pruned, their actor gone from the index too.
    let page = audit.query(&AuditQuery::new("acme").limit(100)).unwrap();
    assert_eq!(page.entries.len(), 40);
    assert_eq!(
        page.entries.iter().filter(|e| e.pruned.is_some()).count(),
        25
    );
    let by_actor = audit
        .query(&AuditQuery::new("acme").actor("user:3").limit(10))
        .unwrap();
    assert!(
        by_actor.entries.is_empty(),
        "a pruned actor is not findable"
    );
    assert_eq!(
        audit.prune(PruneBefore::Seq(10), 0).unwrap(),
        0,
        "below the bound: nothing"
    );
}

#[test]
fn pruning_by_age_and_the_archive_proves_each_entry() {
    let clock = ManualClock::new(T0);
    let store = Store::in_memory(Options::new().clock(clock.clone())).unwrap();
    fill(&store, &clock, 30);
    // Entries are one a day; now is day 30: at least 20 days old are days 0..=10.
    let r = store
        .audit()
        .prunable(PruneBefore::Age(Duration::from_micros(20 * DAY)))
        .unwrap();
    assert_eq!((r.from, r.to), (0, 11));
    let mut archive = Vec::new();
    let n = store
        .audit()
        .export_archive(r.from, r.to, &mut archive)
        .unwrap();
    assert_eq!(n, 11);
    let mut lines = std::str::from_utf8(&archive).unwrap().lines();
    let header: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    let (size, root) = (
        header["size"].as_u64().unwrap(),
        unhex(header["root"].as_str().unwrap()),
    );
    for (i, line) in lines.enumerate() {
        let e: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(e["seq"].as_u64(), Some(i as u64));
        assert_eq!(e["actor"].as_str(), Some(format!("user:{i}").as_str()));
        let proof = InclusionProof {
            leaf_index: i as u64,
            tree_size: size,
            hashes: e["inclusion_proof"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| unhex(h.as_str().unwrap()))
                .collect(),
            hash: hardstore::AuditHash::Blake3,
        };
        proof
            .verify(&unhex(e["leaf_hash"].as_str().unwrap()), &root)
            .unwrap();
    }
    assert_eq!(
        store
            .audit()
            .prune(PruneBefore::Age(Duration::from_micros(20 * DAY)), 11)
            .unwrap(),
        11
    );
    assert!(store.audit().get(10).unwrap().pruned.is_some());
    assert!(store.audit().get(11).unwrap().pruned.is_none());
    assert!(store
        .audit()
        .export_archive(5, 100, &mut Vec::new())
        .is_err());
}

#[test]
fn pruning_survives_a_reopen_and_a_restore_point() {
    let dir = TempDir::new("audit-retention");
    let path = dir.file("s.hs");
    let clock = ManualClock::new(T0);
    let store = Store::open(&path, Options::new().clock(clock.clone())).unwrap();
    fill(&store, &clock, 12);
    let point = store.restore_points().create("before the prune").unwrap();
    store.audit().prune(PruneBefore::Seq(6), 6).unwrap();
    store.restore_points().restore(point.id, "ops").unwrap();
    assert!(
        store.audit().get(3).unwrap().pruned.is_some(),
        "a restore does not unprune"
    );
    store.close().unwrap();
    let store = Store::open(&path, Options::new().clock(clock)).unwrap();
    assert!(store.audit().get(5).unwrap().pruned.is_some());
    assert_eq!(store.audit().pruned_below().unwrap(), 6);
    assert_eq!(store.audit().verify().unwrap().first_bad_seq, None);
}

#[test]
fn redaction_is_opt_in_and_the_log_commits_to_the_redacted_text() {
    let on = Store::in_memory(Options::new().redact_audit(true)).unwrap();
    let off = Store::in_memory(Options::new()).unwrap();
    let ev = AuditEvent::new("acme", "login")
        .actor("ana@example.com")
        .detail("phone", "+1 415 555 0100")
        .detail("plan", "pro");
    for s in [&on, &off] {
        s.audit().append(ev.clone(), Durability::Durable).unwrap();
    }
    let r = on.audit().get(0).unwrap();
    assert!(!r.actor.contains("ana@example.com"), "{}", r.actor);
    assert!(!r.details[0].1.contains("555"), "{}", r.details[0].1);
    assert_eq!(r.details[1].1, "pro");
    assert_eq!(on.audit().verify().unwrap().first_bad_seq, None);
    assert_eq!(
        off.audit().get(0).unwrap().actor,
        "ana@example.com",
        "off by default"
    );
}

#[test]
fn maintenance_prunes_past_the_audit_retention_setting_in_steps() {
    let clock = ManualClock::new(T0);
    let store = Store::in_memory(Options::new().clock(clock.clone())).unwrap();
    fill(&store, &clock, 30);
    let opts = hardstore::maintenance::MaintenanceOptions::new().step(5);
    assert_eq!(
        store.maintenance(&opts).unwrap().audit_pruned,
        0,
        "for ever by default"
    );
    assert!(
        store
            .settings()
            .set_audit_retention(Some(Duration::from_secs(3600)))
            .is_err(),
        "at least a day"
    );
    store
        .settings()
        .set_audit_retention(Some(Duration::from_micros(20 * DAY)))
        .unwrap();
    // Days 0..=10 are at least 20 days old: 11 entries, in steps of 5.
    let r = store.maintenance(&opts).unwrap();
    assert_eq!((r.audit_pruned, r.more_due), (5, true));
    assert_eq!(store.maintenance(&opts).unwrap().audit_pruned, 5);
    let r = store.maintenance(&opts).unwrap();
    assert_eq!((r.audit_pruned, r.more_due), (1, false));
    assert_eq!(store.audit().pruned_below().unwrap(), 11);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
}
