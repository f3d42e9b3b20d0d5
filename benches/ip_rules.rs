//! IP-rule benchmark, side by side in one run: a check of a random IPv4 address against
//! 100,000 rules (networks /8 to /32, nested, allow and deny, global and one tenant's),
//! against the same question hand-rolled in SQLite in memory (the rules as (first, last,
//! length, action) rows indexed by first address: the longest network containing the
//! address) and in raw redb (the same interval table the store builds, as a redb table,
//! read by a reverse range). Prints checks/s and ratios (target: >= 5M/s on 1 thread).
//!
//!     cargo bench --bench ip_rules

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use common::env_or;
use hardstore::ip_rules::{Cidr, IpAction, NewIpRule};
use hardstore::{Options, Store};
use redb::{ReadableDatabase, TableDefinition};

const RULES: usize = 100_000;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn network(addr: u32, len: u8) -> (u32, u8) {
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    (addr & mask, len)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let n = env_or("HARDSTORE_BENCH_OPS", 4_000_000) as usize;
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut seen = std::collections::HashSet::new();
    let mut rules = Vec::with_capacity(RULES);
    while rules.len() < RULES {
        // Mostly /24 to /32 (single offenders, small ranges), some wide ones.
        let len = match rng.next() % 10 {
            0 => 8 + (rng.next() % 8) as u8,
            1..=3 => 16 + (rng.next() % 8) as u8,
            _ => 24 + (rng.next() % 9) as u8,
        };
        let (a, l) = network(rng.next() as u32, len);
        let tenant = rng.next().is_multiple_of(4);
        if !seen.insert((a, l, tenant)) {
            continue;
        }
        let deny = !rng.next().is_multiple_of(3);
        rules.push((a, l, deny, tenant));
    }
    let store = Store::in_memory(Options::new()).unwrap();
    let started = Instant::now();
    store
        .ip_rules()
        .put_all(
            rules
                .iter()
                .map(|&(a, l, deny, tenant)| {
                    let c = Cidr::new(IpAddr::V4(Ipv4Addr::from(a)), l).unwrap();
                    let r = NewIpRule::new(
                        c,
                        if deny {
                            IpAction::Deny
                        } else {
                            IpAction::Allow
                        },
                    );
                    if tenant {
                        r.tenant("acme")
                    } else {
                        r
                    }
                })
                .collect(),
        )
        .unwrap();
    let put_all = started.elapsed();
    let probes: Vec<IpAddr> = (0..1 << 20)
        .map(|_| IpAddr::V4(Ipv4Addr::from(rng.next() as u32)))
        .collect();
    let r = store.ip_rules();
    let started = Instant::now();
    r.check("acme", probes[0]).unwrap(); // builds the lookups
    let build = started.elapsed();
    let mut denied = 0u64;
    let started = Instant::now();
    for i in 0..n {
        denied += u64::from(
            !r.check("acme", probes[i & ((1 << 20) - 1)])
                .unwrap()
                .allowed,
        );
    }
    let hs = n as f64 / started.elapsed().as_secs_f64();
    std::hint::black_box(denied);

    // SQLite: the longest network containing the address, tenant's or global.
    let sqlite = rusqlite::Connection::open_in_memory().unwrap();
    sqlite
        .execute_batch(
            "CREATE TABLE r(first INTEGER, last INTEGER, len INTEGER, deny INTEGER, tenant TEXT);
             CREATE INDEX r_first ON r(first);",
        )
        .unwrap();
    {
        let tx = sqlite.unchecked_transaction().unwrap();
        let mut ins = tx
            .prepare("INSERT INTO r VALUES (?1, ?2, ?3, ?4, ?5)")
            .unwrap();
        for &(a, l, deny, tenant) in &rules {
            let last = u64::from(a) | (u64::from(u32::MAX) >> l);
            ins.execute(rusqlite::params![
                a as i64,
                last as i64,
                l,
                deny,
                if tenant { "acme" } else { "" }
            ])
            .unwrap();
        }
        drop(ins);
        tx.commit().unwrap();
    }
    // Networks are at most /8 wide here, so a containing network starts at most 2^24
    // below the address: the index range stays bounded, as a careful hand-roll would.
    let mut q = sqlite
        .prepare(
            "SELECT deny FROM r WHERE first <= ?1 AND first >= ?1 - 16777216 AND last >= ?1
             AND tenant IN ('', 'acme') ORDER BY len DESC, deny DESC LIMIT 1",
        )
        .unwrap();
    let sqlite_n = n / 400;
    let started = Instant::now();
    for p in probes.iter().take(sqlite_n) {
        let IpAddr::V4(a) = p else { unreachable!() };
        let v = u32::from(*a) as i64;
        std::hint::black_box(q.query_row([v], |r| r.get::<_, bool>(0)).unwrap_or(false));
    }
    let sqlite_rate = sqlite_n as f64 / started.elapsed().as_secs_f64();

    // raw redb: an interval table (first address -> deciding action) as the store's
    // lookup holds it, read by the last start at or below the address.
    const T: TableDefinition<u32, u8> = TableDefinition::new("intervals");
    let db = redb::Database::builder()
        .create_with_backend(redb::backends::InMemoryBackend::new())
        .unwrap();
    {
        let w = db.begin_write().unwrap();
        {
            let mut t = w.open_table(T).unwrap();
            let mut sorted: Vec<_> = rules.iter().map(|&(a, _, deny, _)| (a, deny)).collect();
            sorted.sort();
            for (a, deny) in sorted {
                t.insert(a, u8::from(deny)).unwrap();
            }
        }
        w.commit().unwrap();
    }
    let read = db.begin_read().unwrap();
    let t = read.open_table(T).unwrap();
    let redb_n = n / 10;
    let started = Instant::now();
    for p in probes.iter().cycle().take(redb_n) {
        let IpAddr::V4(a) = p else { unreachable!() };
        let v = t
            .range(..=u32::from(*a))
            .unwrap()
            .next_back()
            .map(|r| r.unwrap().1.value());
        std::hint::black_box(v);
    }
    let redb_rate = redb_n as f64 / started.elapsed().as_secs_f64();

    println!("\n== An IP check against 100,000 rules, checks/s ==");
    println!(
        "rules put in one write: {:.0} ms; lookups built in {:.1} ms",
        put_all.as_secs_f64() * 1e3,
        build.as_secs_f64() * 1e3
    );
    println!("hardstore check          {:>12.0}   (target >= 5M)", hs);
    println!(
        "SQLite in memory         {:>12.0}   hardstore {:.0}x",
        sqlite_rate,
        hs / sqlite_rate
    );
    println!(
        "raw redb interval read   {:>12.0}   hardstore {:.1}x",
        redb_rate,
        hs / redb_rate
    );
}
