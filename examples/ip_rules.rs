//! IP rules: a global deny of a scanner's range, one tenant's allow list (deny
//! everything, allow its office and VPN), a temporary ban that expires, and which rule
//! decided each check. Every change is in the audit log. Time is a manual clock.
//!
//!     cargo run --example ip_rules

use hardstore::ip_rules::{IpAction, NewIpRule};
use hardstore::{AuditQuery, ManualClock, Options, Result, Store};

const MINUTE_US: u64 = 60_000_000;

fn main() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("hardstore-ip-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("ip_rules.hardstore");
    let clock = ManualClock::new(1_714_564_800_000_000); // 2024-05-01 12:00 UTC
    let store = Store::open(&path, Options::new().clock(clock.clone()))?;
    let rules = store.ip_rules();

    rules.put(NewIpRule::new("192.0.2.0/24".parse()?, IpAction::Deny).reason("scanner range"))?;
    // The bank's allow list: everything denied but its office and its VPN.
    rules.put_all(vec![
        NewIpRule::new("0.0.0.0/0".parse()?, IpAction::Deny).tenant("bank"),
        NewIpRule::new("::/0".parse()?, IpAction::Deny).tenant("bank"),
        NewIpRule::new("203.0.113.0/24".parse()?, IpAction::Allow)
            .tenant("bank")
            .reason("office"),
        NewIpRule::new("2001:db8:42::/48".parse()?, IpAction::Allow)
            .tenant("bank")
            .reason("VPN"),
    ])?;
    // A ban for 10 minutes.
    rules.put(
        NewIpRule::new("198.51.100.23".parse()?, IpAction::Deny)
            .tenant("shop")
            .expires_at(clock_now(&clock) + 10 * MINUTE_US)
            .reason("credential stuffing"),
    )?;

    let show = |tenant: &str, ip: &str| -> Result<()> {
        let v = store.ip_rules().check_str(tenant, ip)?;
        let by = v.rule.map_or("no rule".to_string(), |m| {
            format!(
                "{} {} ({})",
                m.action.as_str(),
                m.cidr,
                if m.global { "global" } else { "tenant" }
            )
        });
        println!(
            "{tenant:>5} {ip:<18} {:<8} by {by}",
            if v.allowed { "allowed" } else { "denied" }
        );
        Ok(())
    };
    show("bank", "203.0.113.50")?;
    show("bank", "8.8.8.8")?;
    show("bank", "2001:db8:42::9")?;
    show("bank", "192.0.2.1")?;
    show("shop", "192.0.2.1")?;
    show("shop", "198.51.100.23")?;
    clock.advance(11 * MINUTE_US);
    println!("11 minutes later:");
    show("shop", "198.51.100.23")?;
    println!(
        "{} rule(s) expired; purge asks for the count first",
        rules.expired()?
    );
    let purged = rules.purge_expired(rules.expired()?)?;
    let audited = store
        .audit()
        .query(&AuditQuery::new("bank").limit(100))?
        .entries
        .len();
    println!("purged {purged}; the bank's rule changes in the audit log: {audited}");
    store.close()?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

fn clock_now(c: &ManualClock) -> u64 {
    hardstore::Clock::now(c)
}
