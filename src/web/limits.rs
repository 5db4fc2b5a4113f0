//! Rate limits at the door (API.md §3a): failed logins per username and per client address,
//! registrations per address, bids per user. Each is a keyed GCRA cell from `governor`, read
//! by the site's one clock, so a test that moves the clock moves the limits too.

use crate::clock::Clock;
use governor::clock::Clock as GovernorClock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;
use uuid::Uuid;

impl GovernorClock for Clock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        let nanos = self.now().timestamp_nanos_opt().unwrap_or(0).max(0);
        Nanos::from(nanos as u64)
    }
}

/// One limit as a setting: `N/SECONDS` (N at once, refilled evenly over SECONDS), or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate(Option<(NonZeroU32, Duration)>);

impl Rate {
    pub const fn off() -> Rate {
        Rate(None)
    }

    fn quota(self) -> Option<Quota> {
        let (burst, over) = self.0?;
        Quota::with_period(over / burst.get()).map(|q| q.allow_burst(burst))
    }
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(s: &str) -> Result<Rate, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("off") {
            return Ok(Rate::off());
        }
        let wrong = || format!("a limit is N/SECONDS (like 10/300) or off, not {s:?}");
        let (n, secs) = s.split_once('/').ok_or_else(wrong)?;
        let n: NonZeroU32 = n.trim().parse().map_err(|_| wrong())?;
        let secs: u64 = secs.trim().parse().map_err(|_| wrong())?;
        if secs == 0 {
            return Err(wrong());
        }
        Ok(Rate(Some((n, Duration::from_secs(secs)))))
    }
}

/// The site's limits as settings.
#[derive(Debug, Clone)]
pub struct RateSettings {
    pub login_failures_per_user: Rate,
    pub login_failures_per_address: Rate,
    pub registrations_per_address: Rate,
    pub bids_per_user: Rate,
}

impl Default for RateSettings {
    /// What a real site would use: a person never meets these, a script soon does.
    fn default() -> Self {
        let rate =
            |n: u32, secs: u64| Rate(NonZeroU32::new(n).map(|n| (n, Duration::from_secs(secs))));
        RateSettings {
            login_failures_per_user: rate(10, 300),
            login_failures_per_address: rate(50, 300),
            registrations_per_address: rate(20, 3600),
            bids_per_user: rate(30, 10),
        }
    }
}

impl RateSettings {
    pub fn off() -> Self {
        RateSettings {
            login_failures_per_user: Rate::off(),
            login_failures_per_address: Rate::off(),
            registrations_per_address: Rate::off(),
            bids_per_user: Rate::off(),
        }
    }
}

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, Clock, NoOpMiddleware<Nanos>>;

/// A keyed limit; `off` lets everything through.
struct Limit<K: Hash + Eq + Clone> {
    limiter: Option<Keyed<K>>,
    clock: Clock,
}

impl<K: Hash + Eq + Clone> Limit<K> {
    fn new(rate: Rate, clock: &Clock) -> Self {
        Limit {
            limiter: rate
                .quota()
                .map(|q| RateLimiter::dashmap_with_clock(q, clock.clone())),
            clock: clock.clone(),
        }
    }

    /// Takes one cell, or says how long until one is free.
    fn take(&self, key: &K) -> Result<(), Duration> {
        match &self.limiter {
            None => Ok(()),
            Some(l) => l
                .check_key(key)
                .map_err(|not_until| not_until.wait_time_from(GovernorClock::now(&self.clock))),
        }
    }

    fn forget_idle(&self) {
        if let Some(l) = &self.limiter {
            l.retain_recent();
        }
    }
}

/// A limit on failures: an attempt is let in unless the key's failures have run out; only a
/// failure takes a cell. `governor` has no look without taking, so a key whose cell was
/// refused is remembered until its cell is free.
struct FailureLimit<K: Hash + Eq + Clone> {
    limit: Limit<K>,
    blocked: Mutex<HashMap<K, Nanos>>,
}

/// Most keys remembered as blocked; past it the expired ones go, then the oldest half.
const MAX_BLOCKED: usize = 100_000;

impl<K: Hash + Eq + Clone> FailureLimit<K> {
    fn new(rate: Rate, clock: &Clock) -> Self {
        FailureLimit {
            limit: Limit::new(rate, clock),
            blocked: Mutex::new(HashMap::new()),
        }
    }

    fn now(&self) -> Nanos {
        GovernorClock::now(&self.limit.clock)
    }

    fn check(&self, key: &K) -> Result<(), Duration> {
        let now = self.now();
        let Ok(blocked) = self.blocked.lock() else {
            return Ok(());
        };
        match blocked.get(key) {
            Some(until) if *until > now => {
                Err(Duration::from_nanos(until.saturating_sub(now).as_u64()))
            }
            _ => Ok(()),
        }
    }

    fn failed(&self, key: &K) {
        if let Err(wait) = self.limit.take(key) {
            let now = self.now();
            let until = now + Nanos::from(wait);
            if let Ok(mut blocked) = self.blocked.lock() {
                if blocked.len() >= MAX_BLOCKED {
                    blocked.retain(|_, u| *u > now);
                }
                if blocked.len() >= MAX_BLOCKED {
                    blocked.clear();
                }
                blocked.insert(key.clone(), until);
            }
        }
    }
}

/// A refusal: 429 with `Retry-After` of this many whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited(pub u64);

/// The wait in whole seconds, rounded up, and never 0 (a client must wait for something).
fn limited(wait: Duration) -> Limited {
    Limited((wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1))
}

/// Every limit of the site, shared by all workers.
pub struct RateLimits {
    login_by_user: FailureLimit<String>,
    login_by_address: FailureLimit<IpAddr>,
    registrations: Limit<IpAddr>,
    bids: Limit<Uuid>,
}

impl RateLimits {
    pub fn new(settings: &RateSettings, clock: &Clock) -> Self {
        RateLimits {
            login_by_user: FailureLimit::new(settings.login_failures_per_user, clock),
            login_by_address: FailureLimit::new(settings.login_failures_per_address, clock),
            registrations: Limit::new(settings.registrations_per_address, clock),
            bids: Limit::new(settings.bids_per_user, clock),
        }
    }

    /// Before a password is checked: has this name or address failed too often?
    pub fn may_try_login(&self, username: &str, from: IpAddr) -> Result<(), Limited> {
        let name = username.trim().to_lowercase();
        self.login_by_user.check(&name).map_err(limited)?;
        self.login_by_address.check(&from).map_err(limited)
    }

    pub fn login_failed(&self, username: &str, from: IpAddr) {
        self.login_by_user.failed(&username.trim().to_lowercase());
        self.login_by_address.failed(&from);
    }

    pub fn may_register(&self, from: IpAddr) -> Result<(), Limited> {
        self.registrations.take(&from).map_err(limited)
    }

    pub fn may_bid(&self, user: Uuid) -> Result<(), Limited> {
        self.bids.take(&user).map_err(limited)
    }

    /// Drops the cells of keys that have been quiet long enough to be full again.
    pub fn forget_idle(&self) {
        self.login_by_user.limit.forget_idle();
        self.login_by_address.limit.forget_idle();
        self.registrations.forget_idle();
        self.bids.forget_idle();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use chrono::{TimeZone, Utc};

    fn clock() -> Clock {
        Clock::manual(
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
                .single()
                .unwrap_or_default(),
        )
    }

    #[test]
    fn reads_limits_as_settings() {
        assert_eq!("off".parse::<Rate>(), Ok(Rate::off()));
        assert!("10/300".parse::<Rate>().is_ok());
        for bad in ["10", "0/5", "5/0", "x/1", "-1/4", ""] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
    }

    #[test]
    fn failed_logins_block_a_name_until_the_clock_refills_it() {
        let clock = clock();
        let settings = RateSettings {
            login_failures_per_user: "3/60".parse().unwrap_or(Rate::off()),
            ..RateSettings::off()
        };
        let limits = RateLimits::new(&settings, &clock);
        let addr: IpAddr = [127, 0, 0, 1].into();
        for _ in 0..3 {
            assert_eq!(limits.may_try_login("Bea", addr), Ok(()));
            limits.login_failed("bea", addr);
        }
        assert_eq!(
            limits.may_try_login("bea", addr),
            Ok(()),
            "three failures allowed"
        );
        limits.login_failed("bea", addr);
        assert_eq!(limits.may_try_login("BEA", addr), Err(Limited(20)));
        assert_eq!(
            limits.may_try_login("bob", addr),
            Ok(()),
            "other names unaffected"
        );
        clock.advance(chrono::Duration::seconds(20));
        assert_eq!(limits.may_try_login("bea", addr), Ok(()));
    }

    #[test]
    fn bids_per_user_refill_evenly() {
        let clock = clock();
        let settings = RateSettings {
            bids_per_user: "2/10".parse().unwrap_or(Rate::off()),
            ..RateSettings::off()
        };
        let limits = RateLimits::new(&settings, &clock);
        let (bea, bob) = (Uuid::now_v7(), Uuid::now_v7());
        assert!(limits.may_bid(bea).is_ok() && limits.may_bid(bea).is_ok());
        assert_eq!(limits.may_bid(bea), Err(Limited(5)));
        assert!(limits.may_bid(bob).is_ok());
        clock.advance(chrono::Duration::seconds(5));
        assert!(limits.may_bid(bea).is_ok());
    }
}
