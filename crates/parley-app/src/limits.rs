//! R39: abuse limits. Logins, login links, password changes, widget visitors, their contact
//! addresses and codes are limited per client (its IP address) and per address (the email or
//! account asked about), so that neither one machine nor one target can be hammered. Over the
//! limit, the answer is 429 with how long to wait.
//!
//! Each limit is a token bucket (GCRA, from `governor`): a burst allowed at once, then a steady
//! rate. The buckets live in this process; several nodes each apply them to their own traffic.

use crate::{AppError, AppResult};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What is being attempted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Attempt {
    /// A user or customer logging in with a password.
    Login,
    /// A customer asking for an emailed login link.
    LoginLink,
    /// Changing one's password (it checks the current one).
    PasswordChange,
    /// A new anonymous widget visitor.
    Visitor,
    /// A visitor giving an address (each sends a code).
    Contact,
    /// A visitor trying a code.
    Verify,
}

/// A bucket: `burst` at once, then one more every `every`.
#[derive(Debug, Clone, Copy)]
struct Rule {
    burst: u32,
    every: Duration,
}

const fn rule(burst: u32, every_secs: u64) -> Rule {
    Rule { burst, every: Duration::from_secs(every_secs) }
}

impl Attempt {
    /// Every attempt, in declaration order: `ALL[a as usize] == a`.
    const ALL: [Attempt; 6] = [
        Attempt::Login,
        Attempt::LoginLink,
        Attempt::PasswordChange,
        Attempt::Visitor,
        Attempt::Contact,
        Attempt::Verify,
    ];

    /// Per client IP address. A whole office behind one address must still get through, so these
    /// are wider than the per-address ones.
    fn per_client(self) -> Rule {
        match self {
            Attempt::Login => rule(30, 2),
            Attempt::LoginLink => rule(10, 30),
            Attempt::PasswordChange => rule(10, 30),
            Attempt::Visitor => rule(20, 3),
            Attempt::Contact => rule(10, 30),
            Attempt::Verify => rule(20, 10),
        }
    }

    /// Per address (or account): what guessing one password or flooding one inbox needs.
    fn per_address(self) -> Option<Rule> {
        match self {
            Attempt::Login => Some(rule(5, 60)),
            Attempt::LoginLink => Some(rule(3, 300)),
            Attempt::PasswordChange => Some(rule(5, 60)),
            Attempt::Contact => Some(rule(3, 300)),
            Attempt::Visitor | Attempt::Verify => None,
        }
    }
}

fn limiter(rule: Rule) -> DefaultKeyedRateLimiter<String> {
    let burst = NonZeroU32::new(rule.burst).unwrap_or(NonZeroU32::MIN);
    let quota = Quota::with_period(rule.every).unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN));
    DefaultKeyedRateLimiter::keyed(quota.allow_burst(burst))
}

/// The limits of one process. Turned off, every attempt passes (for load tests).
pub struct RateLimits {
    enabled: bool,
    per_client: Vec<DefaultKeyedRateLimiter<String>>,
    per_address: Vec<Option<DefaultKeyedRateLimiter<String>>>,
    checks: AtomicU64,
}

impl RateLimits {
    pub fn new(enabled: bool) -> Self {
        RateLimits {
            enabled,
            per_client: Attempt::ALL.iter().map(|a| limiter(a.per_client())).collect(),
            per_address: Attempt::ALL.iter().map(|a| a.per_address().map(limiter)).collect(),
            checks: AtomicU64::new(0),
        }
    }

    /// Counts an attempt by `client` about `address`; `TooManyRequests` with the wait when either
    /// is over its limit. Addresses are compared in their normalized form where they parse.
    pub fn check(&self, attempt: Attempt, client: Option<IpAddr>, address: Option<&str>) -> AppResult<()> {
        if !self.enabled {
            return Ok(());
        }
        self.forget_idle_now_and_then();
        let index = attempt as usize;
        let mut wait = Duration::ZERO;
        if let Some(ip) = client {
            wait = wait.max(wait_for(&self.per_client[index], ip.to_string()));
        }
        if let (Some(limiter), Some(address)) = (&self.per_address[index], address) {
            let key = parley_domain::EmailAddress::parse("email", address)
                .map(|e| e.to_string())
                .unwrap_or_else(|_| address.trim().to_lowercase());
            wait = wait.max(wait_for(limiter, key));
        }
        if wait.is_zero() {
            return Ok(());
        }
        tracing::info!(?attempt, ?client, "rate limited");
        Err(AppError::TooManyRequests { retry_after_secs: wait.as_secs_f64().ceil() as u64 })
    }

    fn forget_idle_now_and_then(&self) {
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            for limiter in self.per_client.iter().chain(self.per_address.iter().flatten()) {
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
        }
    }
}

/// Zero when allowed (and counted), else how long until it would be.
fn wait_for(limiter: &DefaultKeyedRateLimiter<String>, key: String) -> Duration {
    match limiter.check_key(&key) {
        Ok(()) => Duration::ZERO,
        Err(not_until) => not_until.wait_time_from(DefaultClock::default().now()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const HOME: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1)));
    const AWAY: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2)));

    #[test]
    fn r39_one_address_is_limited_whatever_the_client() {
        let limits = RateLimits::new(true);
        for _ in 0..5 {
            limits.check(Attempt::Login, HOME, Some("Ana@Example.com")).unwrap();
        }
        let refused = limits.check(Attempt::Login, AWAY, Some("ana@example.com"));
        assert!(matches!(refused, Err(AppError::TooManyRequests { retry_after_secs }) if retry_after_secs >= 1));
        limits.check(Attempt::Login, AWAY, Some("bo@example.com")).unwrap();
    }

    #[test]
    fn r39_one_client_is_limited_whatever_the_address() {
        let limits = RateLimits::new(true);
        for n in 0..30 {
            limits.check(Attempt::Login, HOME, Some(&format!("u{n}@example.com"))).unwrap();
        }
        assert!(limits.check(Attempt::Login, HOME, Some("new@example.com")).is_err());
        limits.check(Attempt::Login, AWAY, Some("new@example.com")).unwrap();
    }

    #[test]
    fn every_attempt_has_its_own_buckets() {
        for (i, attempt) in Attempt::ALL.iter().enumerate() {
            assert_eq!(*attempt as usize, i, "{attempt:?}");
        }
    }

    #[test]
    fn switched_off_nothing_is_limited() {
        let limits = RateLimits::new(false);
        for _ in 0..100 {
            limits.check(Attempt::Visitor, HOME, None).unwrap();
        }
    }
}
