//! Per-caller rate limits of `/v1/authz` (a profile's `rate_limit`). Without Redis the
//! limit is per instance (the core's GCRA over a local map); in fleet mode it holds
//! across instances through Redis: the same GCRA as a Lua script, with local leases so
//! a busy caller costs one Redis call per lease, not per request. A lease holds 50 ms of
//! the caller's rate (at least 1, at most its burst), taken from the shared allowance,
//! and lapses after 50 ms: leases never admit more than the limit, only (briefly, by at
//! most a lease per instance) less.
//! When Redis is unreachable the instance falls back to its local limit.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use jwtshield_core::ratelimit::{RateLimit, Verdict};

use crate::fleet::Redis;

/// The GCRA of `jwtshield_core::ratelimit::take`, taking up to ARGV[3] at Redis's clock.
const SCRIPT: &str = r"
local t = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local base = math.max(tat, now)
local window = burst * t
local can = math.floor((now + window - base) / t + 1e-4)
local granted = math.min(n, can)
if granted <= 0 then
  return {0, 0, tostring(base - now), tostring(math.max(base + t - window - now, 0))}
end
local new_tat = base + granted * t
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil((new_tat - now) * 1000) + 1000)
return {granted, math.floor((now + window - new_tat) / t + 1e-4), tostring(new_tat - now), '0'}
";

/// How long a lease lasts, and how much of a caller's rate it holds.
const LEASE_SECONDS: f64 = 0.05;

struct Lease {
    left: u64,
    until: f64,
    remaining: u64,
    reset_at: f64,
}

/// The limiter of one process.
pub struct Limiter {
    local: jwtshield_middleware::LocalRates,
    leases: Mutex<HashMap<String, Lease>>,
    fleet: Option<(Redis, redis::Script)>,
    refused: std::sync::atomic::AtomicU64,
    /// One lease fetch per caller at a time: requests that find no lease wait for the
    /// one being fetched instead of each taking a lease (which would drain the shared
    /// allowance and refuse the others).
    fetching: Mutex<HashMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>>,
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Limiter {
    /// Per instance, or across the fleet through `redis`.
    pub fn new(redis: Option<Redis>) -> Limiter {
        Limiter {
            local: Default::default(),
            leases: Mutex::new(HashMap::new()),
            fleet: redis.map(|r| (r, redis::Script::new(SCRIPT))),
            refused: std::sync::atomic::AtomicU64::new(0),
            fetching: Mutex::new(HashMap::new()),
        }
    }

    /// `fleet` (Redis) or `local`.
    pub fn mode(&self) -> &'static str {
        if self.fleet.is_some() {
            "fleet"
        } else {
            "local"
        }
    }

    /// Requests refused (429) since start.
    pub fn refused(&self) -> u64 {
        self.refused.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// One request of `caller` under `profile`'s limit.
    pub async fn check(&self, profile: &str, limit: &RateLimit, caller: &str) -> Verdict {
        let key = format!("jwtshield:rl:{profile}:{caller}");
        let verdict = match &self.fleet {
            None => self.local.take(&key, limit),
            Some((redis, script)) => match self.leased(&key, limit) {
                Some(v) => v,
                None => {
                    let gate = {
                        let mut f = lock(&self.fetching);
                        if f.len() > 100_000 {
                            f.retain(|_, g| std::sync::Arc::strong_count(g) > 1);
                        }
                        f.entry(key.clone()).or_default().clone()
                    };
                    let _turn = gate.lock().await;
                    // the request before us may have fetched a lease meanwhile
                    match self.leased(&key, limit) {
                        Some(v) => v,
                        None => match self.fetch(redis, script, &key, limit).await {
                            Some(v) => v,
                            None => self.local.take(&key, limit),
                        },
                    }
                }
            },
        };
        if !verdict.allowed {
            self.refused
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            metrics::counter!("jwtshield_rate_limited_total", "profile" => profile.to_owned())
                .increment(1);
        }
        verdict
    }

    /// A request served from this instance's lease, when it has one left.
    fn leased(&self, key: &str, limit: &RateLimit) -> Option<Verdict> {
        let now = now();
        let mut leases = lock(&self.leases);
        let lease = leases.get_mut(key)?;
        if lease.left == 0 || lease.until <= now {
            leases.remove(key);
            return None;
        }
        lease.left -= 1;
        Some(Verdict {
            allowed: true,
            limit: limit.burst(),
            remaining: lease.remaining + lease.left,
            reset: (lease.reset_at - now).max(0.0),
            retry_after: 0.0,
        })
    }

    async fn fetch(
        &self,
        redis: &Redis,
        script: &redis::Script,
        key: &str,
        limit: &RateLimit,
    ) -> Option<Verdict> {
        let size = ((limit.per_second * LEASE_SECONDS).ceil() as u64).clamp(1, limit.burst());
        let answer: (u64, u64, String, String) = redis
            .script(script, key, limit.interval(), limit.burst(), size)
            .await
            .ok()?;
        let (granted, remaining, reset, retry) = answer;
        let now = now();
        let reset: f64 = reset.parse().unwrap_or(0.0);
        if granted == 0 {
            return Some(Verdict {
                allowed: false,
                limit: limit.burst(),
                remaining: 0,
                reset,
                retry_after: retry.parse().unwrap_or(limit.interval()),
            });
        }
        if granted > 1 {
            lock(&self.leases).insert(
                key.to_owned(),
                Lease {
                    left: granted - 1,
                    until: now + LEASE_SECONDS,
                    remaining,
                    reset_at: now + reset,
                },
            );
        }
        Some(Verdict {
            allowed: true,
            limit: limit.burst(),
            remaining: remaining + granted - 1,
            reset,
            retry_after: 0.0,
        })
    }
}
