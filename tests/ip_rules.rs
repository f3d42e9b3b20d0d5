//! IP rules: which rule decides (longest prefix, deny at equal length, tenant over
//! global), expiry, IPv6 and mapped IPv4, every change audited and kept across a reopen,
//! rules inside an app's write, purge with confirmation, and bad input refused unchanged.

mod common;

use std::net::IpAddr;

use common::TempDir;
use hardstore::ip_rules::{Cidr, IpAction, IpVerdict, NewIpRule};
use hardstore::{AuditQuery, Durability, Error, ManualClock, Options, Store};

const T0: u64 = 1_700_000_000_000_000;
const SEC: u64 = 1_000_000;

fn c(s: &str) -> Cidr {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn decided(v: IpVerdict) -> Option<(String, IpAction, bool)> {
    v.rule.map(|m| (m.cidr.to_string(), m.action, m.global))
}

fn actions(store: &Store, tenant: &str) -> Vec<String> {
    let page = store
        .audit()
        .query(&AuditQuery::new(tenant).limit(1000))
        .unwrap();
    page.entries.into_iter().map(|e| e.action).collect()
}

#[test]
fn the_longest_prefix_decides_then_deny_then_the_tenant() {
    let store = Store::in_memory(Options::new()).unwrap();
    let r = store.ip_rules();
    r.put(NewIpRule::new(c("10.0.0.0/8"), IpAction::Deny))
        .unwrap();
    r.put(NewIpRule::new(c("10.1.0.0/16"), IpAction::Allow).tenant("acme"))
        .unwrap();
    r.put(NewIpRule::new(c("10.1.2.0/24"), IpAction::Deny).tenant("acme"))
        .unwrap();
    // Equal length, tenant allow vs global deny: deny.
    r.put(NewIpRule::new(c("192.0.2.0/24"), IpAction::Allow).tenant("acme"))
        .unwrap();
    r.put(NewIpRule::new(c("192.0.2.0/24"), IpAction::Deny))
        .unwrap();
    // Equal length and action: the tenant's is reported.
    r.put(NewIpRule::new(c("198.51.100.0/24"), IpAction::Allow).tenant("acme"))
        .unwrap();
    r.put(NewIpRule::new(c("198.51.100.0/24"), IpAction::Allow))
        .unwrap();

    let v = r.check("acme", ip("10.1.9.9")).unwrap();
    assert!(v.allowed);
    assert_eq!(
        decided(v),
        Some(("10.1.0.0/16".into(), IpAction::Allow, false))
    );
    let v = r.check("acme", ip("10.1.2.3")).unwrap();
    assert_eq!(
        decided(v),
        Some(("10.1.2.0/24".into(), IpAction::Deny, false))
    );
    let v = r.check("other", ip("10.1.9.9")).unwrap();
    assert!(!v.allowed);
    assert_eq!(
        decided(v),
        Some(("10.0.0.0/8".into(), IpAction::Deny, true))
    );
    let v = r.check("acme", ip("192.0.2.1")).unwrap();
    assert_eq!(
        decided(v),
        Some(("192.0.2.0/24".into(), IpAction::Deny, true))
    );
    let v = r.check("acme", ip("198.51.100.1")).unwrap();
    assert_eq!(
        decided(v),
        Some(("198.51.100.0/24".into(), IpAction::Allow, false))
    );
    let v = r.check("acme", ip("203.0.113.1")).unwrap();
    assert_eq!(
        v,
        IpVerdict {
            allowed: true,
            rule: None
        },
        "no rule: allowed"
    );
}

#[test]
fn an_allow_list_ipv6_and_mapped_ipv4() {
    let store = Store::in_memory(Options::new()).unwrap();
    let r = store.ip_rules();
    r.put_all(vec![
        NewIpRule::new(c("0.0.0.0/0"), IpAction::Deny).tenant("bank"),
        NewIpRule::new(c("::/0"), IpAction::Deny).tenant("bank"),
        NewIpRule::new(c("203.0.113.0/24"), IpAction::Allow).tenant("bank"),
        NewIpRule::new(c("2001:db8:1::/48"), IpAction::Allow).tenant("bank"),
    ])
    .unwrap();
    assert!(r.check("bank", ip("203.0.113.77")).unwrap().allowed);
    assert!(!r.check("bank", ip("8.8.8.8")).unwrap().allowed);
    assert!(r.check("bank", ip("2001:db8:1:ffff::1")).unwrap().allowed);
    assert!(!r.check("bank", ip("2001:db8:2::1")).unwrap().allowed);
    assert!(
        r.check("bank", ip("::ffff:203.0.113.5")).unwrap().allowed,
        "mapped v4"
    );
    assert!(r.check_str("bank", "203.0.113.9").unwrap().allowed);
    assert!(r.check("elsewhere", ip("8.8.8.8")).unwrap().allowed);
}

#[test]
fn expired_rules_stop_deciding_and_purge_asks_for_its_count() {
    let clock = ManualClock::new(T0);
    let store = Store::in_memory(Options::new().clock(clock.clone())).unwrap();
    let r = store.ip_rules();
    r.put(NewIpRule::new(c("10.0.0.0/8"), IpAction::Deny))
        .unwrap();
    r.put(
        NewIpRule::new(c("10.9.0.0/16"), IpAction::Allow)
            .expires_at(T0 + 60 * SEC)
            .reason("vendor's maintenance window"),
    )
    .unwrap();
    r.put(NewIpRule::new(c("10.9.9.9/32"), IpAction::Deny).expires_at(T0 + 10 * SEC))
        .unwrap();
    assert!(!r.check("t", ip("10.9.9.9")).unwrap().allowed);
    clock.advance(11 * SEC);
    let v = r.check("t", ip("10.9.9.9")).unwrap();
    assert!(v.allowed, "the /32 expired: the /16 decides");
    clock.advance(60 * SEC);
    let v = r.check("t", ip("10.9.9.9")).unwrap();
    assert_eq!(
        decided(v),
        Some(("10.0.0.0/8".into(), IpAction::Deny, true))
    );
    assert_eq!(r.expired().unwrap(), 2);
    match r.purge_expired(1) {
        Err(Error::ConfirmationRequired { deletes, .. }) => assert_eq!(deletes, 2),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        r.list(None).unwrap().len(),
        3,
        "a refused purge deletes nothing"
    );
    assert_eq!(r.purge_expired(2).unwrap(), 2);
    assert_eq!(r.list(None).unwrap().len(), 1);
    assert_eq!(
        actions(&store, "hardstore"),
        ["ip_rule.put", "ip_rule.put", "ip_rule.put", "ip_rule.purge"]
    );
}

#[test]
fn rules_are_audited_kept_across_a_reopen_and_joined_to_app_writes() {
    let dir = TempDir::new("ip-rules-reopen");
    let path = dir.file("s.hs");
    let store = Store::open(&path, Options::new()).unwrap();
    let r = store.ip_rules();
    assert!(r
        .put(
            NewIpRule::new(c("2001:db8::/32"), IpAction::Deny)
                .tenant("acme")
                .reason("abuse")
        )
        .unwrap()
        .is_none());
    let old = r
        .put(NewIpRule::new(c("2001:db8::/32"), IpAction::Allow).tenant("acme"))
        .unwrap()
        .unwrap();
    assert_eq!((old.action, old.reason.as_str()), (IpAction::Deny, "abuse"));
    // A rule inside an app's write: both or neither.
    let res: hardstore::Result<()> = store.write(Durability::Durable, |tx| {
        tx.ip_rule_put(&NewIpRule::new(c("192.0.2.0/24"), IpAction::Deny).tenant("acme"))?;
        Err(Error::InvalidArgument("the app's own check failed".into()))
    });
    assert!(res.is_err());
    assert!(
        r.check("acme", ip("192.0.2.1")).unwrap().allowed,
        "rolled back"
    );
    store
        .write(Durability::Durable, |tx| {
            tx.kv_put("ban-log", b"192.0.2.0/24", b"by ops")?;
            tx.ip_rule_put(&NewIpRule::new(c("192.0.2.0/24"), IpAction::Deny).tenant("acme"))
        })
        .unwrap();
    assert!(!r.check("acme", ip("192.0.2.1")).unwrap().allowed);
    store.close().unwrap();

    let store = Store::open(&path, Options::new()).unwrap();
    let r = store.ip_rules();
    assert!(
        !r.check("acme", ip("192.0.2.1")).unwrap().allowed,
        "rebuilt at open"
    );
    assert!(r.check("acme", ip("2001:db8::1")).unwrap().allowed);
    assert_eq!(r.list(Some("acme")).unwrap().len(), 2);
    let gone = r.remove(Some("acme"), c("192.0.2.0/24")).unwrap();
    assert_eq!(gone.action, IpAction::Deny);
    assert!(matches!(
        r.remove(Some("acme"), c("192.0.2.0/24")),
        Err(Error::NotFound(_))
    ));
    assert!(r.check("acme", ip("192.0.2.1")).unwrap().allowed);
    assert_eq!(
        actions(&store, "acme"),
        [
            "ip_rule.put",
            "ip_rule.put",
            "ip_rule.put",
            "ip_rule.remove"
        ]
    );
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let store = Store::in_memory(Options::new()).unwrap();
    let r = store.ip_rules();
    for bad in [
        "10.0.0.1/8",
        "10.0.0.0/33",
        "300.0.0.0/8",
        "10.0.0.0/-1",
        "::/129",
        "fe80::1%1",
        "10.0.0.0/8 ",
        "",
        "x",
    ] {
        assert!(bad.parse::<Cidr>().is_err(), "{bad:?}");
    }
    assert!(matches!(
        r.put(NewIpRule::new(c("10.0.0.0/8"), IpAction::Deny).tenant("")),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        r.put(NewIpRule::new(c("10.0.0.0/8"), IpAction::Deny).reason("r".repeat(1025))),
        Err(Error::TooLong { .. })
    ));
    assert!(matches!(
        r.put_all(vec![
            NewIpRule::new(c("10.0.0.0/8"), IpAction::Deny),
            NewIpRule::new(c("11.0.0.0/8"), IpAction::Deny).tenant("a\0b"),
        ]),
        Err(Error::InvalidArgument(_))
    ));
    for bad in [
        "1.2.3",
        "1.2.3.4.5",
        "::g",
        "1.2.3.4:80",
        "[::1]",
        " 1.2.3.4",
    ] {
        assert!(r.check_str("t", bad).is_err(), "{bad:?}");
    }
    assert!(r.list(None).unwrap().is_empty());
    assert!(actions(&store, "hardstore").is_empty());
}
