//! [`retry`]: in-process retries that leave a dead letter behind when they run out.

use std::time::Duration;

use crate::dead_letters::policy::{RetryPolicy, SplitMix64};
use crate::dead_letters::{limits, NewDeadLetter};
use crate::error::Result;
use crate::options::Durability;
use crate::store::Store;

/// Why one try failed, as [`retry`]'s operation reports it. A bare `String` or `&str`
/// converts to a retryable failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What went wrong.
    pub message: String,
    /// Whether trying again may help.
    pub retryable: bool,
}

impl Failure {
    /// A failure worth retrying (a timeout, a 503).
    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: true,
        }
    }

    /// A failure no retry will fix (a 400, a bad address): no more tries.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: false,
        }
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::retryable(message)
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Self {
        Failure::retryable(message)
    }
}

/// How [`retry`] ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryOutcome<T> {
    /// A try succeeded.
    Succeeded {
        /// What it returned.
        value: T,
        /// Tries made, from 1.
        attempts: u32,
    },
    /// Every try failed (or one failed permanently); a dead letter was recorded.
    DeadLettered {
        /// The dead letter's id.
        id: u64,
        /// Tries made.
        attempts: u32,
        /// The last failure's message.
        error: String,
    },
}

/// Runs `op` up to `policy.max_attempts` times in this thread, sleeping a backoff delay
/// from `policy` between tries (real time: `std::thread::sleep`, not the store clock).
/// `op` gets the try's number from 1.
///
/// When every try failed, or one failed with [`Failure::permanent`], a dead letter of
/// `kind` for `tenant` with `payload` is recorded durably and returned: Pending, so
/// workers retry it on the store's schedule with the store's default max attempts, or
/// Dead when the failure was permanent. Its error (history attempt 0) is the last
/// failure's message prefixed with the tries made, cut at 4 KiB so the dead letter is
/// never lost to a long message.
///
/// `Err` only when the arguments are refused (before `op` runs) or recording failed.
pub fn retry<T, E: Into<Failure>>(
    store: &Store,
    policy: &RetryPolicy,
    tenant: &str,
    kind: &str,
    payload: &[u8],
    mut op: impl FnMut(u32) -> std::result::Result<T, E>,
) -> Result<RetryOutcome<T>> {
    policy.validate()?;
    let template = NewDeadLetter::new(tenant, kind, payload.to_vec());
    template.validate()?;
    let mut rng = match policy.seed {
        Some(s) => SplitMix64::new(s),
        None => SplitMix64::from_entropy()?,
    };
    let mut previous = Duration::ZERO;
    let mut attempt = 1;
    loop {
        let failure = match op(attempt) {
            Ok(value) => {
                return Ok(RetryOutcome::Succeeded {
                    value,
                    attempts: attempt,
                })
            }
            Err(e) => e.into(),
        };
        if !failure.retryable || attempt >= policy.max_attempts {
            let message = cut(
                format!("after {attempt} in-process attempts: {}", failure.message),
                limits::ERROR,
            );
            let new = template.error(message).permanent(!failure.retryable);
            let id = store.dead_letters().record(new, Durability::Durable)?;
            return Ok(RetryOutcome::DeadLettered {
                id,
                attempts: attempt,
                error: failure.message,
            });
        }
        let delay = policy.delay(attempt - 1, previous, &mut rng);
        previous = delay;
        std::thread::sleep(delay);
        attempt += 1;
    }
}

/// `s` cut to at most `max` bytes on a char boundary.
fn cut(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}
