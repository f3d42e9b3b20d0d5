//! `hardstore rate-limits`, `hardstore ip-rules` and `hardstore sealing`: the security
//! areas.

use std::path::PathBuf;

use clap::Subcommand;
use hardstore::ip_rules::{Cidr, IpAction, IpRule, NewIpRule};
use hardstore::rate_limits::{Limit, RateDecision};
use hardstore::{Error, Result};
use serde_json::json;

use crate::settings::parse_duration;
use crate::time::rfc3339;
use crate::{emit, open};

#[derive(Subcommand)]
pub(crate) enum RateLimitsCmd {
    /// Every defined limit.
    List {
        store: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Defines (or redefines, keeping keys) a limit: --count per --period, --burst at once.
    Define {
        store: PathBuf,
        tenant: String,
        name: String,
        #[arg(long)]
        count: u64,
        /// 1s, 1m, 1h, 1d...
        #[arg(long)]
        period: String,
        /// Default: --count.
        #[arg(long)]
        burst: Option<u64>,
        #[arg(long)]
        json: bool,
    },
    /// Removes a limit and its stored keys (says how many).
    Remove {
        store: PathBuf,
        tenant: String,
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Checks a key: with --cost 0 (the default here) it only reads; a cost consumes.
    Check {
        store: PathBuf,
        tenant: String,
        name: String,
        key: String,
        #[arg(long, default_value_t = 0)]
        cost: u64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub(crate) enum IpRulesCmd {
    /// The rules of --tenant, or the global ones.
    List {
        store: PathBuf,
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Puts a rule (replacing the one of the same scope and network).
    Put {
        store: PathBuf,
        cidr: String,
        /// allow or deny.
        #[arg(long)]
        action: String,
        #[arg(long)]
        tenant: Option<String>,
        /// The rule stops applying this long from now (1h, 7d...).
        #[arg(long)]
        expires_in: Option<String>,
        #[arg(long, default_value = "")]
        reason: String,
        #[arg(long)]
        json: bool,
    },
    /// Removes a rule.
    Remove {
        store: PathBuf,
        cidr: String,
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Which rule decides for an address, and whether it may in.
    Check {
        store: PathBuf,
        tenant: String,
        ip: String,
        #[arg(long)]
        json: bool,
    },
    /// Deletes expired rules. Says how many and changes nothing unless --confirm-evict
    /// allows at least that many.
    PurgeExpired {
        store: PathBuf,
        #[arg(long)]
        confirm_evict: Option<u64>,
        #[arg(long)]
        json: bool,
    },
}

fn limit_json(l: &Limit) -> serde_json::Value {
    json!({"count": l.count, "period_us": l.period.as_micros() as u64, "burst": l.burst})
}

fn decision_json(d: &RateDecision) -> serde_json::Value {
    json!({"allowed": d.allowed, "limit": d.limit, "remaining": d.remaining,
           "retry_after_us": d.retry_after.map(|r| r.as_micros() as u64),
           "reset_after_us": d.reset_after.as_micros() as u64})
}

pub(crate) fn rate_limits(c: RateLimitsCmd) -> Result<()> {
    match c {
        RateLimitsCmd::List { store, json } => {
            let s = open(&store)?;
            let all = s.rate_limits().list()?;
            let v: Vec<_> = all
                .iter()
                .map(|i| json!({"tenant": i.tenant, "name": i.name, "limit": limit_json(&i.limit)}))
                .collect();
            emit(json, json!(v), || {
                for i in &all {
                    println!(
                        "{}/{}  {} per {:?}, burst {}",
                        i.tenant, i.name, i.limit.count, i.limit.period, i.limit.burst
                    );
                }
            });
            s.close()
        }
        RateLimitsCmd::Define {
            store,
            tenant,
            name,
            count,
            period,
            burst,
            json,
        } => {
            let limit = Limit::new(count, parse_duration(&period)?).burst(burst.unwrap_or(count));
            let s = open(&store)?;
            s.rate_limits().define(&tenant, &name, limit)?;
            emit(json, limit_json(&limit), || {
                println!(
                    "{tenant}/{name} defined: {count} per {period}, burst {}",
                    limit.burst
                )
            });
            s.close()
        }
        RateLimitsCmd::Remove {
            store,
            tenant,
            name,
            json,
        } => {
            let s = open(&store)?;
            let n = s.rate_limits().remove(&tenant, &name)?;
            emit(json, json!({ "keys_deleted": n }), || {
                println!("{tenant}/{name} removed, {n} stored keys deleted")
            });
            s.close()
        }
        RateLimitsCmd::Check {
            store,
            tenant,
            name,
            key,
            cost,
            json,
        } => {
            let s = open(&store)?;
            let d = s
                .rate_limits()
                .check(&tenant, &name, key.as_bytes(), cost)?;
            emit(json, decision_json(&d), || {
                println!(
                    "{}  remaining {} of {}  reset after {:?}{}",
                    if d.allowed { "allowed" } else { "denied" },
                    d.remaining,
                    d.limit,
                    d.reset_after,
                    match (d.allowed, d.retry_after) {
                        (true, _) => String::new(),
                        (false, Some(r)) => format!("  retry after {r:?}"),
                        (false, None) => "  never (cost above the burst)".into(),
                    }
                )
            });
            s.close()
        }
    }
}

fn rule_json(r: &IpRule) -> serde_json::Value {
    json!({"tenant": r.tenant, "cidr": r.cidr.to_string(), "action": r.action.as_str(),
           "expires_at_us": r.expires_at, "reason": r.reason, "updated_at_us": r.updated_at})
}

fn action(s: &str) -> Result<IpAction> {
    match s {
        "allow" => Ok(IpAction::Allow),
        "deny" => Ok(IpAction::Deny),
        other => Err(Error::InvalidArgument(format!(
            "--action {other:?} is not allow or deny"
        ))),
    }
}

pub(crate) fn ip_rules(c: IpRulesCmd) -> Result<()> {
    match c {
        IpRulesCmd::List {
            store,
            tenant,
            json,
        } => {
            let s = open(&store)?;
            let rules = s.ip_rules().list(tenant.as_deref())?;
            emit(
                json,
                json!(rules.iter().map(rule_json).collect::<Vec<_>>()),
                || {
                    for r in &rules {
                        println!(
                            "{:<5}  {:<43}  {}{}",
                            r.action.as_str(),
                            r.cidr,
                            r.expires_at
                                .map_or(String::new(), |e| format!("until {}  ", rfc3339(e))),
                            r.reason
                        );
                    }
                },
            );
            s.close()
        }
        IpRulesCmd::Put {
            store,
            cidr,
            action: a,
            tenant,
            expires_in,
            reason,
            json,
        } => {
            let cidr: Cidr = cidr.parse()?;
            let mut r = NewIpRule::new(cidr, action(&a)?).reason(reason);
            if let Some(t) = tenant {
                r = r.tenant(t);
            }
            let ttl = expires_in.map(|e| parse_duration(&e)).transpose()?;
            let s = open(&store)?;
            if let Some(ttl) = ttl {
                r = r.expires_at(hardstore::ip_rules::expires_in(&s, ttl));
            }
            let old = s.ip_rules().put(r)?;
            emit(json, json!({ "replaced": old.is_some() }), || {
                println!(
                    "{cidr} {}",
                    if old.is_some() { "replaced" } else { "added" }
                )
            });
            s.close()
        }
        IpRulesCmd::Remove {
            store,
            cidr,
            tenant,
            json,
        } => {
            let cidr: Cidr = cidr.parse()?;
            let s = open(&store)?;
            let r = s.ip_rules().remove(tenant.as_deref(), cidr)?;
            emit(json, rule_json(&r), || println!("{cidr} removed"));
            s.close()
        }
        IpRulesCmd::Check {
            store,
            tenant,
            ip,
            json,
        } => {
            let s = open(&store)?;
            let v = s.ip_rules().check_str(&tenant, &ip)?;
            let rule = v.rule.map(|m| {
                json!({"cidr": m.cidr.to_string(), "action": m.action.as_str(), "global": m.global})
            });
            emit(json, json!({"allowed": v.allowed, "rule": rule}), || {
                let by = v.rule.map_or("no rule".to_string(), |m| {
                    format!(
                        "{} {} ({})",
                        m.action.as_str(),
                        m.cidr,
                        if m.global { "global" } else { "tenant" }
                    )
                });
                println!("{}  by {by}", if v.allowed { "allowed" } else { "denied" })
            });
            s.close()
        }
        IpRulesCmd::PurgeExpired {
            store,
            confirm_evict,
            json,
        } => {
            let s = open(&store)?;
            let n = s.ip_rules().purge_expired(confirm_evict.unwrap_or(0))?;
            emit(json, json!({ "purged": n }), || println!("{n} purged"));
            s.close()
        }
    }
}

#[derive(Subcommand)]
pub(crate) enum SealingCmd {
    /// The store's sealing keys: status, primary, the subjects each wraps (the key bytes
    /// are never in the store).
    Keys {
        store: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Shreds a subject: every field sealed for it becomes unreadable, for ever. Says
    /// what it would destroy and changes nothing unless --confirm-evict 1.
    Shred {
        store: PathBuf,
        subject: String,
        #[arg(long)]
        confirm_evict: Option<u64>,
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn sealing(c: SealingCmd) -> Result<()> {
    match c {
        SealingCmd::Keys { store, json } => {
            let s = open(&store)?;
            let keys = s.sealing().keys()?;
            let v: Vec<_> = keys
                .iter()
                .map(|k| {
                    json!({"id": k.id, "status": k.status.as_str(), "primary": k.primary,
                           "added_at_us": k.added_at, "subjects": k.subjects})
                })
                .collect();
            emit(json, json!(v), || {
                for k in &keys {
                    println!(
                        "key {:>4}  {:<9} {}  {} subjects  added {}",
                        k.id,
                        k.status.as_str(),
                        if k.primary { "primary" } else { "       " },
                        k.subjects,
                        rfc3339(k.added_at)
                    );
                }
            });
            s.close()
        }
        SealingCmd::Shred {
            store,
            subject,
            confirm_evict,
            json,
        } => {
            if confirm_evict.unwrap_or(0) < 1 {
                return Err(Error::ConfirmationRequired {
                    what: format!(
                        "shredding {subject:?} destroys its data key: every field sealed for it \
                         becomes unreadable for ever"
                    ),
                    deletes: 1,
                });
            }
            let s = open(&store)?;
            let done = s.sealing().shred(&subject)?;
            emit(json, json!({ "shredded": done }), || {
                if done {
                    println!("{subject} shredded");
                } else {
                    println!("{subject} had no live key (never sealed for, or shredded already)");
                }
            });
            s.close()
        }
    }
}

#[derive(Subcommand)]
pub(crate) enum WebhooksCmd {
    /// Messages pending in the outbox, and how many are leased now.
    Counts {
        store: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// An endpoint's state (its secrets are not shown).
    Endpoint {
        store: PathBuf,
        tenant: String,
        endpoint: String,
        #[arg(long)]
        json: bool,
    },
    /// Enables an endpoint disabled after failures.
    Enable {
        store: PathBuf,
        tenant: String,
        endpoint: String,
    },
    /// Removes an endpoint and its pending messages; says how many and changes nothing
    /// unless --confirm-evict allows at least that many.
    Remove {
        store: PathBuf,
        tenant: String,
        endpoint: String,
        #[arg(long)]
        confirm_evict: Option<u64>,
        #[arg(long)]
        json: bool,
    },
    /// Verifies a received webhook (a receiver's check, no store): exits 0 when it
    /// verifies. The secret comes from the environment variable named by --secret-env.
    Verify {
        #[arg(long, default_value = "WEBHOOK_SECRET")]
        secret_env: String,
        #[arg(long)]
        id: String,
        #[arg(long)]
        timestamp: String,
        #[arg(long)]
        signature: String,
        /// The body, from this file.
        #[arg(long)]
        payload_file: PathBuf,
        #[arg(long, default_value_t = hardstore::webhooks::DEFAULT_TOLERANCE_SECS)]
        tolerance: u64,
    },
}

pub(crate) fn webhooks(c: WebhooksCmd) -> Result<()> {
    use hardstore::webhooks::{verify_webhook, Secret};
    match c {
        WebhooksCmd::Counts { store, json } => {
            let s = open(&store)?;
            let c = s.webhooks().counts()?;
            emit(
                json,
                json!({"pending": c.pending, "leased": c.leased}),
                || println!("{} pending, {} leased", c.pending, c.leased),
            );
            s.close()
        }
        WebhooksCmd::Endpoint {
            store,
            tenant,
            endpoint,
            json,
        } => {
            let s = open(&store)?;
            let e = s
                .webhooks()
                .endpoint(&tenant, &endpoint)?
                .ok_or_else(|| Error::NotFound(format!("webhook endpoint {tenant}/{endpoint}")))?;
            emit(
                json,
                json!({"url": e.url, "enabled": e.enabled, "failing": e.failing, "secrets": e.secrets.len()}),
                || {
                    println!(
                        "{} {}  {} failed attempts in a row, {} secrets",
                        e.url,
                        if e.enabled { "enabled" } else { "DISABLED" },
                        e.failing,
                        e.secrets.len()
                    )
                },
            );
            s.close()
        }
        WebhooksCmd::Enable {
            store,
            tenant,
            endpoint,
        } => {
            let s = open(&store)?;
            s.webhooks().enable_endpoint(&tenant, &endpoint)?;
            println!("{tenant}/{endpoint} enabled");
            s.close()
        }
        WebhooksCmd::Remove {
            store,
            tenant,
            endpoint,
            confirm_evict,
            json,
        } => {
            let s = open(&store)?;
            let n = s
                .webhooks()
                .remove_endpoint(&tenant, &endpoint, confirm_evict.unwrap_or(0))?;
            emit(json, json!({ "messages_deleted": n }), || {
                println!("{tenant}/{endpoint} removed, {n} pending messages deleted")
            });
            s.close()
        }
        WebhooksCmd::Verify {
            secret_env,
            id,
            timestamp,
            signature,
            payload_file,
            tolerance,
        } => {
            let text = std::env::var(&secret_env).map_err(|_| {
                Error::InvalidArgument(format!(
                    "no secret in the environment variable {secret_env}"
                ))
            })?;
            let secret = Secret::parse(&text)?;
            let body = std::fs::read(&payload_file)?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let headers = [
                ("webhook-id", id.as_str()),
                ("webhook-timestamp", timestamp.as_str()),
                ("webhook-signature", signature.as_str()),
            ];
            verify_webhook(&[secret], headers, &body, tolerance, now)?;
            println!("verified");
            Ok(())
        }
    }
}
