//! R39: abuse limits. Logins, login links, password changes and resets, widget visitors, their contact
//! addresses and codes are limited per client (its IP address) and per address (the email or
//! account asked about), so that neither one machine nor one target can be hammered. Over the
//! limit, the answer is 429 with how long to wait.
//!
//! Each limit is a token bucket (GCRA, from `governor`): a burst allowed at once, then a steady
//! rate. The defaults below can be changed one by one (`--rate-limit login.address=5/1m`). The
//! buckets live in this process, on the app's clock; several nodes each apply them to their own
//! traffic.

use crate::{AppError, AppResult, Clock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
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
    /// Asking for a password reset link, or setting a password with an emailed link.
    PasswordReset,
    /// A new anonymous widget visitor.
    Visitor,
    /// A visitor giving an address (each sends a code).
    Contact,
    /// A visitor trying a code.
    Verify,
    /// An incoming email (R19, R45): per envelope sender (the From of a relayed mail), so a
    /// runaway exchange with another robot stops; per SMTP client, so one host cannot flood the
    /// listener.
    InboundMail,
    /// An incoming mail with the null reverse-path (`MAIL FROM:<>`: bounces and auto-replies,
    /// R45): a bucket of its own per client, since there is no sender to count it against.
    InboundBounce,
}

/// A bucket: `burst` at once, then one more every `every`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub burst: u32,
    pub every: Duration,
}

const fn rule(burst: u32, every_secs: u64) -> Rule {
    Rule { burst, every: Duration::from_secs(every_secs) }
}

impl Attempt {
    /// Every attempt, in declaration order: `ALL[a as usize] == a`.
    pub const ALL: [Attempt; 9] = [
        Attempt::Login,
        Attempt::LoginLink,
        Attempt::PasswordChange,
        Attempt::PasswordReset,
        Attempt::Visitor,
        Attempt::Contact,
        Attempt::Verify,
        Attempt::InboundMail,
        Attempt::InboundBounce,
    ];

    /// Per client IP address. A whole office behind one address must still get through, so these
    /// are wider than the per-address ones.
    fn per_client(self) -> Rule {
        match self {
            Attempt::Login => rule(30, 2),
            Attempt::LoginLink => rule(10, 30),
            Attempt::PasswordChange => rule(10, 30),
            Attempt::PasswordReset => rule(10, 30),
            Attempt::Visitor => rule(20, 3),
            Attempt::Contact => rule(10, 30),
            Attempt::Verify => rule(20, 10),
            Attempt::InboundMail => rule(200, 1),
            Attempt::InboundBounce => rule(30, 10),
        }
    }

    /// Per address (or account): what guessing one password or flooding one inbox needs.
    fn per_address(self) -> Option<Rule> {
        match self {
            Attempt::Login => Some(rule(5, 60)),
            Attempt::LoginLink => Some(rule(3, 300)),
            Attempt::PasswordChange => Some(rule(5, 60)),
            Attempt::PasswordReset => Some(rule(3, 300)),
            Attempt::Contact => Some(rule(3, 300)),
            // 20 mails at once, then one every 30 s: 20 in ten minutes, as a person never writes.
            Attempt::InboundMail => Some(rule(20, 30)),
            Attempt::Visitor | Attempt::Verify | Attempt::InboundBounce => None,
        }
    }

    /// The name settings use: `login`, `login_link`, `password_change`, `password_reset`, `visitor`, `contact`, `verify`,
    /// `inbound_mail`, `inbound_bounce`.
    pub fn name(self) -> &'static str {
        match self {
            Attempt::Login => "login",
            Attempt::LoginLink => "login_link",
            Attempt::PasswordChange => "password_change",
            Attempt::PasswordReset => "password_reset",
            Attempt::Visitor => "visitor",
            Attempt::Contact => "contact",
            Attempt::Verify => "verify",
            Attempt::InboundMail => "inbound_mail",
            Attempt::InboundBounce => "inbound_bounce",
        }
    }
}

/// Every limit: the defaults above, some changed by settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitSettings {
    per_client: [Rule; 9],
    per_address: [Option<Rule>; 9],
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            per_client: Attempt::ALL.map(Attempt::per_client),
            per_address: Attempt::ALL.map(Attempt::per_address),
        }
    }
}

impl LimitSettings {
    /// Changes one limit: `<attempt>.<client|address>=<burst>/<period>`, as in
    /// `login.address=5/1m` (5 at once, then one a minute) or `visitor.client=20/3s`. Periods are
    /// written `500ms`, `3s`, `1m` or `1h`.
    pub fn set(&mut self, setting: &str) -> Result<(), String> {
        let bad =
            || format!("'{setting}': expected <attempt>.<client|address>=<burst>/<period>, e.g. login.address=5/1m");
        let (target, value) = setting.split_once('=').ok_or_else(bad)?;
        let (name, scope) = target.trim().split_once('.').ok_or_else(bad)?;
        let attempt = Attempt::ALL
            .into_iter()
            .find(|a| a.name() == name)
            .ok_or_else(|| format!("'{name}' is not one of {}", Attempt::ALL.map(Attempt::name).join(", ")))?;
        let (burst, period) = value.trim().split_once('/').ok_or_else(bad)?;
        let burst: u32 = burst.trim().parse().ok().filter(|b| *b > 0).ok_or_else(bad)?;
        let every = parse_period(period.trim()).ok_or_else(bad)?;
        let rule = Rule { burst, every };
        match scope {
            "client" => self.per_client[attempt as usize] = rule,
            "address" if attempt.per_address().is_some() => self.per_address[attempt as usize] = Some(rule),
            "address" => return Err(format!("'{name}' is limited per client only")),
            _ => return Err(bad()),
        }
        Ok(())
    }

    pub fn per_client(&self, attempt: Attempt) -> Rule {
        self.per_client[attempt as usize]
    }

    pub fn per_address(&self, attempt: Attempt) -> Option<Rule> {
        self.per_address[attempt as usize]
    }
}

fn parse_period(s: &str) -> Option<Duration> {
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().ok().filter(|n| *n > 0)?;
    Some(match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        _ => return None,
    })
}

/// The app's clock as `governor` reads time, so limits reset when the app's time moves.
#[derive(Clone)]
struct LimitClock(Arc<dyn Clock>);

impl governor::clock::Clock for LimitClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.0.now_ms()).unwrap_or(0))
    }
}

type Limiter = RateLimiter<String, DefaultKeyedStateStore<String>, LimitClock, NoOpMiddleware<Duration>>;

fn limiter(rule: Rule, clock: &LimitClock) -> Limiter {
    let burst = NonZeroU32::new(rule.burst).unwrap_or(NonZeroU32::MIN);
    let quota = Quota::with_period(rule.every).unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN));
    RateLimiter::new(quota.allow_burst(burst), DefaultKeyedStateStore::default(), clock.clone())
}

/// The limits of one process. Turned off, every attempt passes (for load tests).
pub struct RateLimits {
    enabled: bool,
    clock: LimitClock,
    per_client: Vec<Limiter>,
    per_address: Vec<Option<Limiter>>,
    checks: AtomicU64,
}

impl RateLimits {
    pub fn new(enabled: bool, settings: &LimitSettings, clock: Arc<dyn Clock>) -> Self {
        let clock = LimitClock(clock);
        RateLimits {
            enabled,
            per_client: Attempt::ALL.iter().map(|a| limiter(settings.per_client(*a), &clock)).collect(),
            per_address: Attempt::ALL.iter().map(|a| settings.per_address(*a).map(|r| limiter(r, &clock))).collect(),
            clock,
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
            wait = wait.max(self.wait_for(&self.per_client[index], ip.to_string()));
        }
        if let (Some(limiter), Some(address)) = (&self.per_address[index], address) {
            let key = parley_domain::EmailAddress::parse("email", address)
                .map(|e| e.to_string())
                .unwrap_or_else(|_| address.trim().to_lowercase());
            wait = wait.max(self.wait_for(limiter, key));
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

    /// Zero when allowed (and counted), else how long until it would be.
    fn wait_for(&self, limiter: &Limiter, key: String) -> Duration {
        use governor::clock::Clock as _;
        match limiter.check_key(&key) {
            Ok(()) => Duration::ZERO,
            Err(not_until) => not_until.wait_time_from(self.clock.now()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn clock() -> Arc<dyn Clock> {
        Arc::new(crate::ManualClock::new(1_000_000))
    }

    #[test]
    fn r39_limits_are_settings() {
        let mut settings = LimitSettings::default();
        settings.set("login.address=2/90s").unwrap();
        settings.set("visitor.client=1/500ms").unwrap();
        assert_eq!(settings.per_address(Attempt::Login), Some(Rule { burst: 2, every: Duration::from_secs(90) }));
        assert_eq!(settings.per_client(Attempt::Visitor), Rule { burst: 1, every: Duration::from_millis(500) });
        for bad in [
            "login=2/1s",
            "login.address=0/1s",
            "login.address=2/1",
            "nobody.client=1/1s",
            "visitor.address=1/1s",
            "login.both=1/1s",
        ] {
            assert!(settings.clone().set(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn r39_a_limit_resets_when_its_period_passes_on_the_apps_clock() {
        let clock = Arc::new(crate::ManualClock::new(1_000_000));
        let mut settings = LimitSettings::default();
        settings.set("login.address=2/1m").unwrap();
        let limits = RateLimits::new(true, &settings, clock.clone());
        limits.check(Attempt::Login, HOME, Some("ana@example.com")).unwrap();
        limits.check(Attempt::Login, HOME, Some("ana@example.com")).unwrap();
        let refused = limits.check(Attempt::Login, HOME, Some("ana@example.com"));
        assert!(matches!(refused, Err(AppError::TooManyRequests { retry_after_secs: 60 })), "{refused:?}");
        clock.advance_ms(59_000);
        assert!(limits.check(Attempt::Login, HOME, Some("ana@example.com")).is_err());
        clock.advance_ms(1_000);
        limits.check(Attempt::Login, HOME, Some("ana@example.com")).unwrap();
    }

    const HOME: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1)));
    const AWAY: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2)));

    #[test]
    fn r39_one_address_is_limited_whatever_the_client() {
        let limits = RateLimits::new(true, &LimitSettings::default(), clock());
        for _ in 0..5 {
            limits.check(Attempt::Login, HOME, Some("Ana@Example.com")).unwrap();
        }
        let refused = limits.check(Attempt::Login, AWAY, Some("ana@example.com"));
        assert!(matches!(refused, Err(AppError::TooManyRequests { retry_after_secs }) if retry_after_secs >= 1));
        limits.check(Attempt::Login, AWAY, Some("bo@example.com")).unwrap();
    }

    #[test]
    fn r39_one_client_is_limited_whatever_the_address() {
        let limits = RateLimits::new(true, &LimitSettings::default(), clock());
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
        let limits = RateLimits::new(false, &LimitSettings::default(), clock());
        for _ in 0..100 {
            limits.check(Attempt::Visitor, HOME, None).unwrap();
        }
    }
}
