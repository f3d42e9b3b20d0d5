//! The alerts fuzz target's body: raises, acknowledges, resolves (by id and key),
//! purges and reopens against a model.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Bytes, SharedMemoryBackend};
use crate::alerts::{AlertQuery, AlertScope, AlertState, NewAlert, Severity};
use crate::{Durability, Error, ManualClock, Options, Store};

#[derive(Debug, Clone)]
struct M {
    tenant: &'static str,
    key: &'static str,
    severity: Severity,
    state: AlertState,
    count: u64,
    resolved_at: u64,
}

/// A sequence of alert operations against a model: ids, counts, states, dedup rows and
/// the audit entries every change appends all agree with it after every step and across
/// reopens; a purge refused for want of confirmation deletes nothing; bad ids are
/// `NotFound`, never a panic.
pub fn alerts_model(data: &[u8]) {
    const TENANTS: [&str; 2] = ["a", "b"];
    const KEYS: [&str; 3] = ["disk", "cpu", "backup"];
    const SEVERITIES: [Severity; 3] = [Severity::Info, Severity::Warning, Severity::Critical];
    let mut input = Bytes(data);
    let clock = ManualClock::new(1_000_000);
    let opts = || Options::new().clock(clock.clone());
    let backend = SharedMemoryBackend::default();
    let mut store = Store::open_with_backend(backend.clone(), opts()).expect("opens");
    let mut model: BTreeMap<u64, M> = BTreeMap::new();
    let mut next_id = 0u64;
    let mut audited = 0u64;
    let mut steps = 0;
    while !input.done() && steps < 200 {
        steps += 1;
        let alerts = store.alerts();
        let t = crate::Clock::now(&clock);
        let pick = |input: &mut Bytes<'_>| u64::from(input.u8()) % (next_id + 2);
        match input.u8() % 7 {
            0 => {
                let b = input.u8();
                let (tenant, key) = (TENANTS[usize::from(b & 1)], KEYS[usize::from(b >> 1) % 3]);
                let severity = SEVERITIES[usize::from(b >> 3) % 3];
                let d = if b & 0x80 != 0 {
                    Durability::Buffered
                } else {
                    Durability::Durable
                };
                let new = NewAlert::new(tenant, "fuzz", key, severity, "m");
                let r = alerts.raise(new, d).expect("valid raise");
                audited += 1;
                let open = model.iter_mut().find(|(_, m)| {
                    m.tenant == tenant && m.key == key && m.state != AlertState::Resolved
                });
                match open {
                    Some((&id, m)) => {
                        m.count += 1;
                        m.severity = severity;
                        assert_eq!(
                            (r.id, r.count, r.created, r.state),
                            (id, m.count, false, m.state)
                        );
                    }
                    None => {
                        assert_eq!((r.id, r.count, r.created), (next_id, 1, true));
                        model.insert(
                            next_id,
                            M {
                                tenant,
                                key,
                                severity,
                                state: AlertState::Open,
                                count: 1,
                                resolved_at: 0,
                            },
                        );
                        next_id += 1;
                    }
                }
            }
            1 => {
                let id = pick(&mut input);
                let res = alerts.acknowledge(id, "op");
                match model.get_mut(&id) {
                    None => assert!(matches!(res, Err(Error::NotFound(_))), "{res:?}"),
                    Some(m) => match m.state {
                        AlertState::Resolved => {
                            assert!(matches!(res, Err(Error::InvalidArgument(_))), "{res:?}")
                        }
                        AlertState::Acknowledged => {
                            assert_eq!(res.expect("ack").state, AlertState::Acknowledged)
                        }
                        AlertState::Open => {
                            assert_eq!(res.expect("ack").state, AlertState::Acknowledged);
                            m.state = AlertState::Acknowledged;
                            audited += 1;
                        }
                    },
                }
            }
            2 => {
                let id = pick(&mut input);
                let res = alerts.resolve(id, "op", "fixed");
                match model.get_mut(&id) {
                    None => assert!(matches!(res, Err(Error::NotFound(_))), "{res:?}"),
                    Some(m) => {
                        let a = res.expect("resolve");
                        if m.state != AlertState::Resolved {
                            m.state = AlertState::Resolved;
                            m.resolved_at = t;
                            audited += 1;
                        }
                        assert_eq!(
                            (a.state, a.resolved_at),
                            (AlertState::Resolved, Some(m.resolved_at))
                        );
                    }
                }
            }
            3 => {
                let b = input.u8();
                let (tenant, key) = (TENANTS[usize::from(b & 1)], KEYS[usize::from(b >> 1) % 3]);
                let got = alerts
                    .resolve_key(tenant, key, "op", "")
                    .expect("resolve_key");
                let open = model.iter_mut().find(|(_, m)| {
                    m.tenant == tenant && m.key == key && m.state != AlertState::Resolved
                });
                match open {
                    Some((&id, m)) => {
                        assert_eq!(got.map(|a| a.id), Some(id));
                        m.state = AlertState::Resolved;
                        m.resolved_at = t;
                        audited += 1;
                    }
                    None => assert_eq!(got, None),
                }
            }
            4 => {
                let age = u64::from(input.u8() % 8) * 100;
                let due: Vec<u64> = model
                    .iter()
                    .filter(|(_, m)| m.state == AlertState::Resolved && m.resolved_at + age <= t)
                    .map(|(&id, _)| id)
                    .collect();
                let n = due.len() as u64;
                let older = Duration::from_micros(age);
                assert_eq!(alerts.purgeable(older).expect("purgeable"), n);
                let confirm = if input.u8() & 1 == 0 {
                    n
                } else {
                    n.saturating_sub(1)
                };
                match alerts.purge_resolved(older, confirm) {
                    Ok(deleted) => {
                        assert_eq!(deleted, n);
                        for id in due {
                            model.remove(&id);
                        }
                        if n > 0 {
                            audited += 1;
                        }
                    }
                    Err(Error::ConfirmationRequired { deletes, .. }) => {
                        assert!(confirm < n);
                        assert_eq!(deletes, n);
                    }
                    Err(e) => panic!("purge: {e}"),
                }
            }
            5 => clock.advance(u64::from(input.u8()) * 8),
            _ => {
                store.close().expect("close");
                store = Store::open_with_backend(backend.clone(), opts()).expect("reopen");
            }
        }
        check(&store, &model, audited);
    }
    store.close().expect("close");
}

fn check(store: &Store, model: &BTreeMap<u64, M>, audited: u64) {
    let alerts = store.alerts();
    let c = alerts.counts().expect("counts");
    let resolved = model
        .values()
        .filter(|m| m.state == AlertState::Resolved)
        .count() as u64;
    assert_eq!(
        (c.unresolved, c.resolved),
        (model.len() as u64 - resolved, resolved)
    );
    assert_eq!(store.audit().size().expect("size"), audited);
    let page = alerts
        .list(&AlertQuery::new(AlertScope::All).limit(1000))
        .expect("list");
    let ids: Vec<u64> = page.alerts.iter().map(|a| a.id).collect();
    let want: Vec<u64> = model.keys().rev().copied().collect();
    assert_eq!(ids, want);
    for a in &page.alerts {
        let m = &model[&a.id];
        assert_eq!(
            (
                a.tenant.as_str(),
                a.dedup_key.as_str(),
                a.severity,
                a.state,
                a.count
            ),
            (m.tenant, m.key, m.severity, m.state, m.count)
        );
        let open = alerts
            .open_by_key(&a.tenant, &a.dedup_key)
            .expect("open_by_key");
        if a.state != AlertState::Resolved {
            assert_eq!(open.map(|o| o.id), Some(a.id));
        }
    }
}
