//! IP rules: allow and deny lists of CIDR networks, per tenant and global, checked in
//! memory.
//!
//! A rule is a network (IPv4 or IPv6), an action (allow or deny), an optional expiry and
//! a reason, under a tenant or global. Rules are stored in the store, and every change
//! appends an audit entry in its transaction (`ip_rule.put`, `ip_rule.remove`,
//! `ip_rule.purge`; global rules under tenant `hardstore`). Checks read an in-memory
//! lookup built from the rules at open and after each change.
//!
//! **Which rule decides** a check of `ip` for `tenant`:
//! 1. Only rules not expired, of the tenant and global, whose network contains `ip`.
//! 2. The longest prefix wins (the most specific network).
//! 3. At equal length, deny beats allow.
//! 4. At equal length and action, the tenant's rule is the one reported.
//! 5. No rule: allowed. (For an allow list, add a deny of `0.0.0.0/0` and `::/0` and
//!    allows for what may in: every allowed network is longer than /0.)
//!
//! An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is checked as the IPv4 address.
//!
//! ```
//! use hardstore::ip_rules::{IpAction, NewIpRule};
//! use hardstore::{Options, Store};
//! let store = Store::in_memory(Options::new())?;
//! let rules = store.ip_rules();
//! rules.put(NewIpRule::new("10.0.0.0/8".parse()?, IpAction::Deny).reason("internal"))?;
//! rules.put(NewIpRule::new("10.1.0.0/16".parse()?, IpAction::Allow).tenant("acme"))?;
//! assert!(rules.check("acme", "10.1.2.3".parse().unwrap())?.allowed);
//! assert!(!rules.check("other", "10.1.2.3".parse().unwrap())?.allowed);
//! # Ok::<(), hardstore::Error>(())
//! ```

mod cidr;
mod lookup;
pub(crate) mod tables;

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::RwLock;

pub use cidr::{parse_ip, Cidr};

use crate::audit::AuditEvent;
use crate::clock::{Clock, Timestamp};
use crate::engine::fnv::FnvBuild;
use crate::error::{Error, Result};
use crate::options::Durability;
use crate::store::Store;
use crate::WriteTx;
use lookup::Lookup;
use tables::StoredRule;

/// Field limits, in bytes.
pub mod limits {
    /// A tenant: 1..=128 bytes, no NUL.
    pub const TENANT: usize = 128;
    /// A rule's reason: 0..=1024 bytes.
    pub const REASON: usize = 1024;
}

/// The tenant global rules are audited under.
pub const GLOBAL_AUDIT_TENANT: &str = "hardstore";

/// What a rule does to the addresses it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum IpAction {
    /// Let them in.
    Allow = 0,
    /// Keep them out.
    Deny = 1,
}

impl IpAction {
    /// "allow" or "deny".
    pub fn as_str(self) -> &'static str {
        match self {
            IpAction::Allow => "allow",
            IpAction::Deny => "deny",
        }
    }

    fn from_u8(v: u8) -> Option<IpAction> {
        match v {
            0 => Some(IpAction::Allow),
            1 => Some(IpAction::Deny),
            _ => None,
        }
    }
}

/// A rule to put.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIpRule {
    /// The tenant it applies to (`None`: every tenant).
    pub tenant: Option<String>,
    /// The network.
    pub cidr: Cidr,
    /// Allow or deny.
    pub action: IpAction,
    /// When it stops applying (`None`: never).
    pub expires_at: Option<Timestamp>,
    /// Why it exists (for the people reading the list and the audit log).
    pub reason: String,
}

impl NewIpRule {
    /// A global rule, no expiry, no reason.
    pub fn new(cidr: Cidr, action: IpAction) -> NewIpRule {
        NewIpRule {
            tenant: None,
            cidr,
            action,
            expires_at: None,
            reason: String::new(),
        }
    }

    /// The rule applies to `tenant` only.
    pub fn tenant(mut self, tenant: impl Into<String>) -> NewIpRule {
        self.tenant = Some(tenant.into());
        self
    }

    /// The rule stops applying at `t` (microseconds since the epoch).
    pub fn expires_at(mut self, t: Timestamp) -> NewIpRule {
        self.expires_at = Some(t);
        self
    }

    /// Why the rule exists.
    pub fn reason(mut self, r: impl Into<String>) -> NewIpRule {
        self.reason = r.into();
        self
    }

    fn validate(&self) -> Result<()> {
        if let Some(t) = &self.tenant {
            check_tenant(t)?;
        }
        if self.reason.len() > limits::REASON {
            return Err(Error::TooLong {
                field: "reason",
                len: self.reason.len(),
                max: limits::REASON,
            });
        }
        if self.expires_at == Some(u64::MAX) {
            return Err(Error::InvalidArgument(
                "expires_at u64::MAX: use None for a rule that never expires".into(),
            ));
        }
        Ok(())
    }
}

fn check_tenant(t: &str) -> Result<()> {
    if t.is_empty() {
        return Err(Error::InvalidArgument("tenant must not be empty".into()));
    }
    if t.len() > limits::TENANT {
        return Err(Error::TooLong {
            field: "tenant",
            len: t.len(),
            max: limits::TENANT,
        });
    }
    if t.contains('\0') {
        return Err(Error::InvalidArgument("tenant holds a NUL byte".into()));
    }
    Ok(())
}

/// A stored rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpRule {
    /// The tenant it applies to (`None`: every tenant).
    pub tenant: Option<String>,
    /// The network.
    pub cidr: Cidr,
    /// Allow or deny.
    pub action: IpAction,
    /// When it stops applying.
    pub expires_at: Option<Timestamp>,
    /// Why it exists.
    pub reason: String,
    /// When it was put (last).
    pub updated_at: Timestamp,
}

/// The rule that decided a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpMatch {
    /// Its network.
    pub cidr: Cidr,
    /// Its action.
    pub action: IpAction,
    /// Whether it is a global rule (false: the tenant's).
    pub global: bool,
}

/// A check's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpVerdict {
    /// Whether the address may in.
    pub allowed: bool,
    /// The rule that decided (`None`: no rule covers it, allowed).
    pub rule: Option<IpMatch>,
}

/// One scope's rules in memory: the rows, and the lookup built from them on first use
/// after a change.
#[derive(Default)]
struct Scope {
    rules: BTreeMap<Cidr, StoredRule>,
    lookup: OnceLock<Lookup>,
}

impl Scope {
    fn lookup(&self) -> &Lookup {
        self.lookup.get_or_init(|| {
            let list: Vec<(Cidr, bool, u64)> = self
                .rules
                .iter()
                .map(|(c, r)| {
                    let exp = if r.expires_at == 0 {
                        u64::MAX
                    } else {
                        r.expires_at
                    };
                    (*c, r.action == IpAction::Deny as u8, exp)
                })
                .collect();
            Lookup::build(&list)
        })
    }
}

/// Every scope of one open (a shared object). Global rules are scope "".
pub(crate) struct Shared {
    scopes: RwLock<HashMap<String, Scope, FnvBuild>>,
    clock: Arc<dyn Clock>,
}

impl Shared {
    fn apply(&self, scope: &str, cidr: Cidr, rule: Option<StoredRule>) {
        let mut map = self.scopes.write();
        let s = map.entry(scope.to_owned()).or_default();
        match rule {
            Some(r) => {
                s.rules.insert(cidr, r);
            }
            None => {
                s.rules.remove(&cidr);
            }
        }
        s.lookup = OnceLock::new();
        if s.rules.is_empty() {
            map.remove(scope);
        }
    }
}

fn scope_key(tenant: Option<&str>) -> &str {
    tenant.unwrap_or("")
}

fn to_rule(scope: &str, cidr: Cidr, r: &StoredRule) -> Result<IpRule> {
    Ok(IpRule {
        tenant: (!scope.is_empty()).then(|| scope.to_owned()),
        cidr,
        action: IpAction::from_u8(r.action)
            .ok_or_else(|| Error::Corrupted(format!("IP rule action {}", r.action)))?,
        expires_at: (r.expires_at != 0).then_some(r.expires_at),
        reason: r.reason.clone(),
        updated_at: r.updated_at,
    })
}

/// The IP rules of a [`Store`]: `store.ip_rules()`.
#[derive(Debug, Clone, Copy)]
pub struct IpRules<'s> {
    store: &'s Store,
}

impl Store {
    /// The IP allow and deny rules.
    pub fn ip_rules(&self) -> IpRules<'_> {
        IpRules { store: self }
    }
}

/// Rules one purge transaction deletes at most.
const PURGE_BATCH: usize = 1000;

impl<'s> IpRules<'s> {
    fn shared(&self) -> Result<&'s Arc<Shared>> {
        self.store.shared::<Arc<Shared>>()
    }

    /// Puts `rule`, durably, replacing the rule of the same scope and network; returns
    /// the rule it replaced.
    pub fn put(&self, rule: NewIpRule) -> Result<Option<IpRule>> {
        rule.validate()?;
        self.store
            .write(Durability::Durable, move |tx| tx.ip_rule_put(&rule))
    }

    /// Puts every rule of `rules` in one durable transaction (an import: the lookup is
    /// rebuilt once); returns how many replaced a rule.
    pub fn put_all(&self, rules: Vec<NewIpRule>) -> Result<u64> {
        for r in &rules {
            r.validate()?;
        }
        self.store.write(Durability::Durable, move |tx| {
            let mut replaced = 0;
            for r in &rules {
                replaced += u64::from(tx.ip_rule_put(r)?.is_some());
            }
            Ok(replaced)
        })
    }

    /// Removes the rule of `tenant` (`None`: global) for `cidr`, durably; returns it.
    /// [`Error::NotFound`] when there is none.
    pub fn remove(&self, tenant: Option<&str>, cidr: Cidr) -> Result<IpRule> {
        if let Some(t) = tenant {
            check_tenant(t)?;
        }
        let t = tenant.map(str::to_owned);
        self.store.write(Durability::Durable, move |tx| {
            tx.ip_rule_remove(t.as_deref(), cidr)
        })
    }

    /// The rule of `tenant` (`None`: global) for `cidr`, if any.
    pub fn get(&self, tenant: Option<&str>, cidr: Cidr) -> Result<Option<IpRule>> {
        let scope = scope_key(tenant);
        let map = self.shared()?.scopes.read();
        match map.get(scope).and_then(|s| s.rules.get(&cidr)) {
            Some(r) => to_rule(scope, cidr, r).map(Some),
            None => Ok(None),
        }
    }

    /// The rules of `tenant` (`None`: the global ones), in network order, expired ones
    /// included.
    pub fn list(&self, tenant: Option<&str>) -> Result<Vec<IpRule>> {
        let scope = scope_key(tenant);
        let map = self.shared()?.scopes.read();
        map.get(scope).map_or(Ok(Vec::new()), |s| {
            s.rules.iter().map(|(c, r)| to_rule(scope, *c, r)).collect()
        })
    }

    /// Checks `ip` for `tenant` now (see the module docs for which rule decides). An
    /// empty `tenant` checks the global rules only (a service without tenants).
    pub fn check(&self, tenant: &str, ip: IpAddr) -> Result<IpVerdict> {
        let shared = self.shared()?;
        let ip = match ip {
            IpAddr::V6(a) => a.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let (v4, bits) = (ip.is_ipv4(), cidr::bits(&ip));
        let mut now_cache = None;
        let mut now = || *now_cache.get_or_insert_with(|| shared.clock.now());
        let map = shared.scopes.read();
        let mine = map
            .get(tenant)
            .filter(|_| !tenant.is_empty())
            .and_then(|s| s.lookup().find(v4, bits, &mut now).copied());
        let global = map
            .get("")
            .and_then(|s| s.lookup().find(v4, bits, &mut now).copied());
        drop(map);
        // Longest prefix, then deny, then the tenant's: the docs' rule, in that order.
        let pick = match (mine, global) {
            (Some(m), Some(g)) => {
                if (g.len, g.deny) > (m.len, m.deny) {
                    Some((g, true))
                } else {
                    Some((m, false))
                }
            }
            (Some(m), None) => Some((m, false)),
            (None, Some(g)) => Some((g, true)),
            (None, None) => None,
        };
        Ok(match pick {
            Some((n, global)) => IpVerdict {
                allowed: !n.deny,
                rule: Some(IpMatch {
                    cidr: n.cidr,
                    action: if n.deny {
                        IpAction::Deny
                    } else {
                        IpAction::Allow
                    },
                    global,
                }),
            },
            None => IpVerdict {
                allowed: true,
                rule: None,
            },
        })
    }

    /// [`IpRules::check`] of an address given as text (refused unless it is a plain
    /// IPv4 or IPv6 address).
    pub fn check_str(&self, tenant: &str, ip: &str) -> Result<IpVerdict> {
        self.check(tenant, parse_ip(ip)?)
    }

    /// How many rules (all scopes) have expired now. Changes nothing.
    pub fn expired(&self) -> Result<u64> {
        let now = self.store.clock_now();
        Ok(self
            .shared()?
            .scopes
            .read()
            .values()
            .flat_map(|s| s.rules.values())
            .filter(|r| r.expires_at != 0 && r.expires_at <= now)
            .count() as u64)
    }

    /// Deletes every expired rule, durably, each transaction of up to 1000 with its audit
    /// entry. Refused with [`Error::ConfirmationRequired`] (deleting nothing) when more
    /// than `confirm` have expired. Returns how many it deleted.
    pub fn purge_expired(&self, confirm: u64) -> Result<u64> {
        let now = self.store.clock_now();
        let due: Vec<(String, Cidr)> = self
            .shared()?
            .scopes
            .read()
            .iter()
            .flat_map(|(scope, s)| {
                s.rules
                    .iter()
                    .filter(|(_, r)| r.expires_at != 0 && r.expires_at <= now)
                    .map(move |(c, _)| (scope.clone(), *c))
            })
            .collect();
        if due.len() as u64 > confirm {
            return Err(Error::ConfirmationRequired {
                what: format!("a purge deletes {} expired IP rules", due.len()),
                deletes: due.len() as u64,
            });
        }
        let mut done = 0;
        for chunk in due.chunks(PURGE_BATCH) {
            let chunk = chunk.to_vec();
            done += self
                .store
                .write(Durability::Durable, move |tx| tx.ip_rule_purge(&chunk, now))?;
        }
        Ok(done)
    }
}

/// The audit entry of a change to a rule.
fn audit_event(scope: &str, action: &str, cidr: Cidr) -> AuditEvent {
    let tenant = if scope.is_empty() {
        GLOBAL_AUDIT_TENANT
    } else {
        scope
    };
    AuditEvent::new(tenant, action)
        .resource(format!("ip_rule/{}", cidr))
        .detail("scope", if scope.is_empty() { "global" } else { "tenant" })
}

impl WriteTx<'_> {
    /// Puts an IP rule in this transaction, with its audit entry (see [`IpRules::put`]);
    /// checks see it once the transaction commits.
    pub fn ip_rule_put(&mut self, rule: &NewIpRule) -> Result<Option<IpRule>> {
        rule.validate()?;
        let scope = scope_key(rule.tenant.as_deref()).to_owned();
        let stored = StoredRule {
            action: rule.action as u8,
            expires_at: rule.expires_at.unwrap_or(0),
            reason: rule.reason.clone(),
            updated_at: self.now(),
        };
        let old = tables::put(self, &scope, rule.cidr, &stored)?;
        let mut ev = audit_event(&scope, "ip_rule.put", rule.cidr)
            .outcome(if old.is_some() { "replaced" } else { "added" })
            .detail("action", rule.action.as_str())
            .detail("reason", rule.reason.clone());
        if let Some(e) = rule.expires_at {
            ev = ev.detail("expires_at", e.to_string());
        }
        self.audit_append(&ev)?;
        let shared = self.shared::<Arc<Shared>>()?.clone();
        let (cidr, s2) = (rule.cidr, scope.clone());
        self.after(Box::new(move |committed| {
            if committed {
                shared.apply(&s2, cidr, Some(stored));
            }
        }));
        old.map(|o| to_rule(&scope, rule.cidr, &o)).transpose()
    }

    /// Removes an IP rule in this transaction, with its audit entry (see
    /// [`IpRules::remove`]).
    pub fn ip_rule_remove(&mut self, tenant: Option<&str>, cidr: Cidr) -> Result<IpRule> {
        if let Some(t) = tenant {
            check_tenant(t)?;
        }
        let scope = scope_key(tenant).to_owned();
        let old = tables::remove(self, &scope, cidr)?
            .ok_or_else(|| Error::NotFound(format!("IP rule {cidr} of {scope:?}")))?;
        self.audit_append(&audit_event(&scope, "ip_rule.remove", cidr))?;
        let shared = self.shared::<Arc<Shared>>()?.clone();
        let s2 = scope.clone();
        self.after(Box::new(move |committed| {
            if committed {
                shared.apply(&s2, cidr, None);
            }
        }));
        to_rule(&scope, cidr, &old)
    }

    fn ip_rule_purge(&mut self, due: &[(String, Cidr)], now: Timestamp) -> Result<u64> {
        let mut gone = Vec::new();
        for (scope, cidr) in due {
            // Put again since the list was taken (a new expiry): keep it.
            let still = tables::get(self, scope, *cidr)?
                .is_some_and(|r| r.expires_at != 0 && r.expires_at <= now);
            if still {
                tables::remove(self, scope, *cidr)?;
                gone.push((scope.clone(), *cidr));
            }
        }
        if !gone.is_empty() {
            let ev = AuditEvent::new(GLOBAL_AUDIT_TENANT, "ip_rule.purge")
                .detail("deleted", gone.len().to_string())
                .detail("expired_before", now.to_string());
            self.audit_append(&ev)?;
        }
        let n = gone.len() as u64;
        let shared = self.shared::<Arc<Shared>>()?.clone();
        self.after(Box::new(move |committed| {
            if committed {
                for (s, c) in gone {
                    shared.apply(&s, c, None);
                }
            }
        }));
        Ok(n)
    }
}

/// How long until `d` from the store's clock, for callers with a TTL.
pub fn expires_in(store: &Store, d: Duration) -> Timestamp {
    store
        .clock_now()
        .saturating_add(u64::try_from(d.as_micros()).unwrap_or(u64::MAX - 1))
        .min(u64::MAX - 1)
}

/// IP rules' hooks: the rules are read into memory at open.
pub(crate) struct IpRulesArea;

impl crate::engine::area::Area for IpRulesArea {
    fn open(&self, ctx: &mut crate::engine::area::OpenCtx<'_>) -> Result<()> {
        let read = redb::ReadableDatabase::begin_read(ctx.db)?;
        let mut scopes: HashMap<String, Scope, FnvBuild> = HashMap::default();
        tables::read_all(&read, |scope, cidr, rule| {
            scopes
                .entry(scope.to_owned())
                .or_default()
                .rules
                .insert(cidr, rule);
        })?;
        ctx.shared.insert(Arc::new(Arc::new(Shared {
            scopes: RwLock::new(scopes),
            clock: ctx.opts.clock.clone(),
        })));
        Ok(())
    }
}
