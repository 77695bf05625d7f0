//! # jwtshield-jwks
//!
//! Key sets from the network, the eighth check of the product doc ("key freshness"):
//! find the issuer's JWKS (inline, `jwks_uri`, OpenID discovery whose `issuer` must
//! match, then `.well-known/jwks.json`), fetch it through the SSRF [`guard`], cache it
//! per URL for a lifetime taken from `Cache-Control: max-age` clamped to a floor and a
//! cap, and keep it fresh:
//!
//! - an unknown `kid` refreshes once, single-flight (any number of concurrent requests
//!   share one fetch), then a cooldown and a bounded negative cache stop a random-`kid`
//!   flood from costing more than one fetch per cooldown. The cooldown counts from the
//!   last refresh an unknown `kid` caused, never from a routine fetch;
//! - a failed or garbage refresh never evicts the good keys it would have replaced;
//! - sets in use (and profile sets, from start) are refreshed in the background before
//!   they expire, so a request waits only for a cold set or an unknown `kid`, and never
//!   longer than the fetch timeout;
//! - when the JWKS is down the last good keys serve for a bounded stale window with a
//!   `JWKS_STALE` warning; past it, or cold, `JWKS_UNREACHABLE`.
//!
//! It also holds the process's verified-signature cache ([`VerifiedCache`]), so the
//! service and the middleware share one fast path.
//!
//! ```no_run
//! # async fn demo(policy: &jwtshield_core::CompiledPolicy, raw: &str) {
//! use jwtshield_core::{Limits, Token};
//! use jwtshield_jwks::{Config, KeySets};
//! let sets = KeySets::new(Config::default()).unwrap();
//! let token = Token::parse(raw, &Limits::default());
//! let keys = sets.keys_for_token(policy, &token).await;
//! let report = jwtshield_core::validate_with(&token, &keys, policy, 1_700_000_000, sets.extras());
//! # }
//! ```

pub mod fetch;
pub mod guard;
pub mod verified;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwapOption;
use jwtshield_core::{
    CompiledPolicy, Extras, Freshness, KeyOrigin, KeySet, KeySummary, RejectedKey, Token, json,
};
use serde::Serialize;

use crate::fetch::{FetchError, Http};
pub use crate::guard::GuardConfig;
pub use crate::verified::VerifiedCache;

/// Every knob, with the defaults the issue and `docs/design.md` document.
#[derive(Clone, Debug)]
pub struct Config {
    /// Per-fetch timeout, connect to last byte. Defaults to 5 s.
    pub fetch_timeout: Duration,
    /// Largest key-set or discovery response. Defaults to 1 MiB.
    pub max_response_bytes: usize,
    /// Shortest lifetime, whatever `max-age` says. Defaults to 5 min.
    pub min_ttl: Duration,
    /// Longest lifetime, whatever `max-age` says. Defaults to 24 h.
    pub max_ttl: Duration,
    /// Lifetime when there is no `max-age` or it says `no-cache`. Defaults to 10 min.
    pub default_ttl: Duration,
    /// After a refresh caused by an unknown `kid`, no other one for this long. Defaults to 30 s.
    pub cooldown: Duration,
    /// How long past its lifetime a set keeps serving when refreshes fail. Defaults to 1 h.
    pub stale_window: Duration,
    /// Refresh a set in use this long before it expires (at most a tenth of its lifetime).
    /// Defaults to 60 s.
    pub refresh_ahead: Duration,
    /// Unknown `kid`s remembered per set, so they cannot trigger refreshes. Defaults to 256.
    pub negative_cache_size: usize,
    /// How long an unknown `kid` is remembered. Defaults to 5 min.
    pub negative_ttl: Duration,
    /// How often the background task looks for sets to refresh. Defaults to 1 s.
    pub tick: Duration,
    /// Most key-set URLs cached; the least recently used non-profile set goes first.
    /// Defaults to 1000.
    pub max_sets: usize,
    /// The SSRF guard.
    pub guard: GuardConfig,
    /// Entries of the verified-signature cache; 0 turns it off. Defaults to 65,536.
    pub verified_cache_entries: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            fetch_timeout: Duration::from_secs(5),
            max_response_bytes: 1024 * 1024,
            min_ttl: Duration::from_secs(5 * 60),
            max_ttl: Duration::from_secs(24 * 3600),
            default_ttl: Duration::from_secs(10 * 60),
            cooldown: Duration::from_secs(30),
            stale_window: Duration::from_secs(3600),
            refresh_ahead: Duration::from_secs(60),
            negative_cache_size: 256,
            negative_ttl: Duration::from_secs(5 * 60),
            tick: Duration::from_secs(1),
            max_sets: 1000,
            guard: GuardConfig::default(),
            verified_cache_entries: verified::DEFAULT_ENTRIES,
        }
    }
}

impl Config {
    fn ttl_for(&self, max_age: Option<u64>) -> Duration {
        match max_age {
            None => self.default_ttl,
            Some(s) => Duration::from_secs(s).clamp(self.min_ttl, self.max_ttl.max(self.min_ttl)),
        }
    }
}

/// The wall clock in seconds since 1970 (0 before it): the `now` that the crates doing
/// I/O pass to the pure core.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn read<T>(m: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(m: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(PoisonError::into_inner)
}

fn unix(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    jwtshield_core::timefmt::utc(secs)
}

struct Good {
    keys: KeySet,
    fetched_at: SystemTime,
    fetched: Instant,
    ttl: Duration,
}

#[derive(Default)]
struct State {
    /// Completed fetch attempts; waiters compare it to know a fetch happened meanwhile.
    generation: u64,
    last_error: Option<FetchError>,
    last_error_at: Option<Instant>,
    last_attempt: Option<Instant>,
    last_forced: Option<Instant>,
    negative: VecDeque<(String, Instant)>,
    fetches: u64,
    fetch_errors: u64,
    warm: bool,
}

/// One key-set URL: its current keys (read without a lock), the rest of its state,
/// and its single fetch slot.
struct Entry {
    url: String,
    fetch: tokio::sync::Mutex<()>,
    good: ArcSwapOption<Good>,
    /// Milliseconds since the cache was made, at the last lookup (0: never used).
    last_used: AtomicU64,
    state: Mutex<State>,
}

/// Key lookups by how they were answered, for `/metrics` and `/v1/status`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LookupCounts {
    /// Answered from the cache.
    pub hit: u64,
    /// The request waited for a fetch.
    pub miss: u64,
    /// No usable keys.
    pub unreachable: u64,
}

/// The status of one cached key set, for `/v1/status` and metrics.
#[derive(Clone, Debug, Serialize)]
pub struct KeySetStatus {
    /// The key-set URL.
    pub url: String,
    /// Usable key ids.
    pub kids: Vec<String>,
    /// Usable keys.
    pub keys: Vec<KeySummary>,
    /// Keys skipped when loaded, with the reason.
    pub skipped_keys: Vec<RejectedKey>,
    /// Remarks made when loading.
    pub notes: Vec<String>,
    /// When the current keys were fetched (RFC 3339).
    pub fetched_at: Option<String>,
    /// When they expire (RFC 3339).
    pub expires_at: Option<String>,
    /// Their lifetime: `Cache-Control: max-age` clamped to the configured bounds.
    pub ttl_seconds: Option<u64>,
    /// The last fetch error, if the last attempt failed.
    pub last_error: Option<String>,
    /// Fetch attempts so far.
    pub fetch_count: u64,
    /// Failed fetch attempts so far.
    pub fetch_errors: u64,
    /// Past its lifetime and the refresh failed: serving the last good keys.
    pub stale: bool,
    /// Kept warm for an issuer profile.
    pub warm: bool,
}

enum Discovered {
    /// The key-set URL to use.
    Url(String),
    /// Discovery named another issuer.
    Mismatch { url: String, actual: String },
    /// Discovery URL refused by the guard.
    Refused { url: String, reason: String },
}

struct Cached {
    at: Instant,
    ttl: Duration,
    found: Arc<Discovered>,
}

struct DiscoveryEntry {
    fetch: tokio::sync::Mutex<()>,
    cached: ArcSwapOption<Cached>,
}

struct Inner {
    cfg: Config,
    http: Http,
    started: Instant,
    warming: std::sync::atomic::AtomicUsize,
    entries: RwLock<HashMap<String, Arc<Entry>>>,
    discovery: RwLock<HashMap<String, Arc<DiscoveryEntry>>>,
    verified: Option<VerifiedCache>,
    lookups: [AtomicU64; 3],
}

impl Inner {
    fn count(&self, which: usize) {
        self.lookups[which].fetch_add(1, Ordering::Relaxed);
    }

    fn millis(&self) -> u64 {
        self.started.elapsed().as_millis() as u64 + 1
    }
}

const HIT: usize = 0;
const MISS: usize = 1;
const UNREACHABLE: usize = 2;

/// The key-set cache. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct KeySets {
    inner: Arc<Inner>,
}

/// Joins a path under an issuer without doubling the slash.
pub fn join(issuer: &str, path: &str) -> String {
    format!(
        "{}/{}",
        issuer.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

impl KeySets {
    /// A cache with this configuration. Needs a Tokio runtime when used.
    pub fn new(cfg: Config) -> Result<KeySets, String> {
        let http = Http::new(cfg.guard.clone(), cfg.fetch_timeout, cfg.max_response_bytes)?;
        let verified = VerifiedCache::new(cfg.verified_cache_entries);
        Ok(KeySets {
            inner: Arc::new(Inner {
                cfg,
                http,
                started: Instant::now(),
                warming: std::sync::atomic::AtomicUsize::new(0),
                entries: RwLock::new(HashMap::new()),
                discovery: RwLock::new(HashMap::new()),
                verified,
                lookups: Default::default(),
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.cfg
    }

    /// The verified-signature cache, unless it is off.
    pub fn verified_cache(&self) -> Option<&VerifiedCache> {
        self.inner.verified.as_ref()
    }

    /// What a validation with these key sets may consult: the verified-signature cache.
    pub fn extras(&self) -> Extras<'_> {
        Extras {
            signature_cache: self
                .inner
                .verified
                .as_ref()
                .map(|c| c as &dyn jwtshield_core::SignatureCache),
        }
    }

    /// Key lookups so far, by how they were answered.
    pub fn lookup_counts(&self) -> LookupCounts {
        let n = |i: usize| self.inner.lookups[i].load(Ordering::Relaxed);
        LookupCounts {
            hit: n(HIT),
            miss: n(MISS),
            unreachable: n(UNREACHABLE),
        }
    }

    /// The keys to validate `token` with under `policy`: reads the token's `kid`
    /// (without trusting anything else in it) to decide whether a refresh is due.
    pub async fn keys_for_token(&self, policy: &CompiledPolicy, token: &Token<'_>) -> KeySet {
        if token.parts().is_none() && policy.inline_keys().is_none() {
            // not a JWS: validation stops before any key is needed, so fetch nothing
            return KeySet::empty();
        }
        self.keys_for(policy, token.kid().as_deref()).await
    }

    /// The keys for `policy`, refreshing once for an unknown `kid` when allowed.
    pub async fn keys_for(&self, policy: &CompiledPolicy, kid: Option<&str>) -> KeySet {
        if let Some(inline) = policy.inline_keys() {
            return inline.as_ref().clone();
        }
        match self.entry_for(policy).await {
            Ok(entry) => entry.keys(&self.inner, kid).await,
            Err(set) => set,
        }
    }

    /// Marks the set of `policy` as one to keep warm (issuer profiles), and fetches it
    /// now in the background.
    pub fn keep_warm(&self, policy: &CompiledPolicy) {
        if policy.inline_keys().is_some() {
            return;
        }
        let this = self.clone();
        let policy = policy.clone();
        this.inner
            .warming
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        tokio::spawn(async move {
            if let Ok(entry) = this.entry_for(&policy).await {
                let (fresh, generation) = {
                    let mut st = lock(&entry.state);
                    st.warm = true;
                    (entry.good.load().is_some(), st.generation)
                };
                if !fresh {
                    entry.refresh(&this.inner, generation, false).await;
                }
            }
            this.inner
                .warming
                .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        });
    }

    /// Sets being warmed whose first fetch has not completed yet.
    pub fn warming(&self) -> usize {
        self.inner.warming.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Runs the background refresher until the returned handle is aborted: refreshes
    /// sets in use or kept warm shortly before they expire, retries failing ones once
    /// per cooldown, and forgets sets unused for a long time.
    pub fn spawn_refresher(&self) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(this.inner.cfg.tick);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                this.maintain();
            }
        })
    }

    fn maintain(&self) {
        let cfg = &self.inner.cfg;
        let now = Instant::now();
        let now_ms = self.inner.millis();
        let entries: Vec<Arc<Entry>> = read(&self.inner.entries).values().cloned().collect();
        let mut forget = Vec::new();
        for e in entries {
            let (due, generation) = {
                let st = lock(&e.state);
                let used = e.last_used.load(Ordering::Relaxed);
                let idle =
                    used == 0 || now_ms.saturating_sub(used) > cfg.max_ttl.as_millis() as u64;
                if idle && !st.warm {
                    forget.push(e.url.clone());
                    continue;
                }
                let retry_ok = st
                    .last_attempt
                    .is_none_or(|t| now.duration_since(t) >= cfg.cooldown);
                let due = match e.good.load().as_deref() {
                    None => true,
                    Some(g) => {
                        let ahead = cfg.refresh_ahead.min(g.ttl / 10);
                        now.duration_since(g.fetched) + ahead >= g.ttl
                    }
                };
                (due && retry_ok && e.fetch.try_lock().is_ok(), st.generation)
            };
            if due {
                let inner = self.inner.clone();
                tokio::spawn(async move { e.refresh(&inner, generation, false).await });
            }
        }
        if !forget.is_empty() {
            let mut map = write(&self.inner.entries);
            for url in forget {
                map.remove(&url);
            }
        }
    }

    fn entry(&self, url: &str) -> Arc<Entry> {
        if let Some(e) = read(&self.inner.entries).get(url) {
            return e.clone();
        }
        let mut map = write(&self.inner.entries);
        if let Some(e) = map.get(url) {
            return e.clone();
        }
        if map.len() >= self.inner.cfg.max_sets {
            // evict the least recently used set that is not kept warm
            let victim = map
                .iter()
                .filter(|(_, e)| !lock(&e.state).warm)
                .min_by_key(|(_, e)| e.last_used.load(Ordering::Relaxed))
                .map(|(k, _)| k.clone());
            if let Some(v) = victim {
                map.remove(&v);
            }
        }
        let e = Arc::new(Entry {
            url: url.to_owned(),
            fetch: tokio::sync::Mutex::new(()),
            good: ArcSwapOption::empty(),
            last_used: AtomicU64::new(0),
            state: Mutex::new(State::default()),
        });
        map.insert(url.to_owned(), e.clone());
        e
    }

    /// The cache entry of the policy's keys: `jwks_uri`, else discovery, else Auth0's
    /// layout.
    async fn entry_for(&self, policy: &CompiledPolicy) -> Result<Arc<Entry>, KeySet> {
        if let Some(uri) = &policy.policy().jwks_uri {
            return Ok(self.entry(uri));
        }
        let issuers = policy.policy().issuer.all();
        let primary = policy.policy().issuer.primary();
        let d = self.discover(primary, issuers).await;
        match d.as_ref() {
            Discovered::Url(u) => Ok(self.entry(u)),
            Discovered::Mismatch { url, actual } => Err(KeySet::empty().with_freshness(
                Freshness::DiscoveryMismatch {
                    url: url.clone(),
                    expected: primary.to_owned(),
                    actual: actual.clone(),
                },
            )),
            Discovered::Refused { url, reason } => {
                Err(KeySet::empty().with_freshness(Freshness::Refused {
                    url: url.clone(),
                    reason: reason.clone(),
                }))
            }
        }
    }

    async fn discover(&self, issuer: &str, accepted: &[String]) -> Arc<Discovered> {
        let known = read(&self.inner.discovery).get(issuer).cloned();
        let entry = match known {
            Some(e) => e,
            None => {
                let mut map = write(&self.inner.discovery);
                if map.len() >= self.inner.cfg.max_sets {
                    map.clear();
                }
                map.entry(issuer.to_owned())
                    .or_insert_with(|| {
                        Arc::new(DiscoveryEntry {
                            fetch: tokio::sync::Mutex::new(()),
                            cached: ArcSwapOption::empty(),
                        })
                    })
                    .clone()
            }
        };
        let fresh = |e: &DiscoveryEntry| {
            e.cached
                .load()
                .as_ref()
                .filter(|c| c.at.elapsed() < c.ttl)
                .map(|c| c.found.clone())
        };
        if let Some(d) = fresh(&entry) {
            return d;
        }
        let _slot = entry.fetch.lock().await;
        if let Some(d) = fresh(&entry) {
            return d;
        }
        let cfg = &self.inner.cfg;
        let url = join(issuer, ".well-known/openid-configuration");
        let fallback = || Discovered::Url(join(issuer, ".well-known/jwks.json"));
        let (found, ttl) = match self.inner.http.get(&url).await {
            Ok(doc) => {
                metrics::counter!("jwtshield_discovery_fetches_total", "result" => "ok")
                    .increment(1);
                let parsed = json::parse_value(&doc.body, 32).ok();
                let obj = parsed.as_ref().and_then(serde_json::Value::as_object);
                let named = obj
                    .and_then(|o| o.get("issuer"))
                    .and_then(serde_json::Value::as_str);
                let jwks = obj
                    .and_then(|o| o.get("jwks_uri"))
                    .and_then(serde_json::Value::as_str);
                let d = match (named, jwks) {
                    (Some(n), _) if !accepted.iter().any(|a| a == n) => Discovered::Mismatch {
                        url: url.clone(),
                        actual: n.to_owned(),
                    },
                    (Some(_), Some(j)) => Discovered::Url(j.to_owned()),
                    _ => fallback(),
                };
                (d, cfg.ttl_for(doc.max_age))
            }
            Err(FetchError::Refused(reason)) => {
                metrics::counter!("jwtshield_discovery_fetches_total", "result" => "refused")
                    .increment(1);
                (
                    Discovered::Refused {
                        url: url.clone(),
                        reason,
                    },
                    cfg.cooldown,
                )
            }
            Err(e) => {
                metrics::counter!("jwtshield_discovery_fetches_total", "result" => "error")
                    .increment(1);
                tracing::warn!(%url, error = %e, "discovery failed; using {}", join(issuer, ".well-known/jwks.json"));
                // retry discovery after the cooldown, meanwhile use the conventional path
                (fallback(), cfg.cooldown)
            }
        };
        let d = Arc::new(found);
        entry.cached.store(Some(Arc::new(Cached {
            at: Instant::now(),
            ttl,
            found: d.clone(),
        })));
        d
    }

    /// The status of every cached key set, sorted by URL.
    pub fn status(&self) -> Vec<KeySetStatus> {
        let cfg = &self.inner.cfg;
        let mut out: Vec<KeySetStatus> = read(&self.inner.entries)
            .values()
            .map(|e| {
                let st = lock(&e.state);
                let good = e.good.load_full();
                let good = good.as_deref();
                let expired = good.is_some_and(|g| g.fetched.elapsed() >= g.ttl);
                let failing = st.last_error.is_some();
                KeySetStatus {
                    url: e.url.clone(),
                    kids: good
                        .map(|g| g.keys.kids().into_iter().map(str::to_owned).collect())
                        .unwrap_or_default(),
                    keys: good.map(|g| g.keys.summaries()).unwrap_or_default(),
                    skipped_keys: good.map(|g| g.keys.rejected().to_vec()).unwrap_or_default(),
                    notes: good.map(|g| g.keys.notes().to_vec()).unwrap_or_default(),
                    fetched_at: good.map(|g| unix(g.fetched_at)),
                    expires_at: good.map(|g| unix(g.fetched_at + g.ttl)),
                    ttl_seconds: good.map(|g| g.ttl.as_secs()),
                    last_error: st.last_error.as_ref().map(ToString::to_string),
                    fetch_count: st.fetches,
                    fetch_errors: st.fetch_errors,
                    stale: expired
                        && failing
                        && good.is_some_and(|g| g.fetched.elapsed() < g.ttl + cfg.stale_window),
                    warm: st.warm,
                }
            })
            .collect();
        out.sort_by(|a, b| a.url.cmp(&b.url));
        out
    }
}

impl Entry {
    /// The keys to use now for a token with `kid`.
    async fn keys(self: &Arc<Self>, inner: &Arc<Inner>, kid: Option<&str>) -> KeySet {
        let cfg = &inner.cfg;
        self.last_used.store(inner.millis(), Ordering::Relaxed);
        let good = self.good.load_full();
        // the common case, without a lock: fresh keys that know the kid
        if let Some(g) = &good
            && g.fetched.elapsed() < g.ttl
            && kid.is_none_or(|k| g.keys.knows_kid(k))
        {
            inner.count(HIT);
            return g.keys.clone();
        }
        let mut waited = false;
        let generation = lock(&self.state).generation;
        let mut good = match good {
            // fresh, or expired but inside the stale window: serve now
            Some(g) if g.fetched.elapsed() < g.ttl + cfg.stale_window => g,
            // cold, or too old to trust: this request waits for a fetch, unless one
            // failed less than a cooldown ago (a JWKS that is down is not hammered:
            // the answer is an immediate JWKS_UNREACHABLE until the next retry)
            _ => {
                let failed_recently = lock(&self.state)
                    .last_error_at
                    .is_some_and(|t| t.elapsed() < cfg.cooldown);
                if !failed_recently {
                    self.refresh(inner, generation, false).await;
                }
                waited = true;
                match self.good.load_full() {
                    Some(g) if g.fetched.elapsed() < g.ttl + cfg.stale_window => g,
                    _ => {
                        inner.count(UNREACHABLE);
                        return self.unusable();
                    }
                }
            }
        };
        if good.fetched.elapsed() >= good.ttl && !waited {
            // past its lifetime: refresh in the background (at most once per cooldown)
            self.spawn_retry(inner);
        }
        if let Some(kid) = kid
            && !good.keys.knows_kid(kid)
        {
            good = self.unknown_kid(inner, kid, good, waited).await;
        }
        inner.count(if waited { MISS } else { HIT });
        self.with_freshness(&good)
    }

    /// The keys, marked stale when past their lifetime and the last refresh failed.
    fn with_freshness(&self, good: &Good) -> KeySet {
        let age = good.fetched.elapsed();
        if age < good.ttl {
            return good.keys.clone();
        }
        let st = lock(&self.state);
        match (&st.last_error, st.last_error_at) {
            (Some(err), Some(at)) if at > good.fetched => {
                let expired_for = (age - good.ttl).as_secs();
                good.keys.with_freshness(Freshness::Stale {
                    url: self.url.clone(),
                    expired_seconds_ago: expired_for,
                    error: err.to_string(),
                })
            }
            // expired, refresh under way or not yet failed: the keys are still the issuer's latest
            _ => good.keys.clone(),
        }
    }

    fn unusable(&self) -> KeySet {
        let st = lock(&self.state);
        let error = st
            .last_error
            .clone()
            .unwrap_or(FetchError::Failed("no key set fetched yet".into()));
        let freshness = match error {
            FetchError::Refused(reason) => Freshness::Refused {
                url: self.url.clone(),
                reason,
            },
            other => Freshness::Unreachable {
                url: self.url.clone(),
                error: match self.good.load().as_ref() {
                    Some(_) => format!("{other}; the last good keys are past the stale window"),
                    None => other.to_string(),
                },
            },
        };
        KeySet::empty().with_freshness(freshness)
    }

    async fn unknown_kid(
        self: &Arc<Self>,
        inner: &Arc<Inner>,
        kid: &str,
        good: Arc<Good>,
        waited: bool,
    ) -> Arc<Good> {
        let cfg = &inner.cfg;
        let now = Instant::now();
        let (generation, known_bad, cooling) = {
            let mut st = lock(&self.state);
            st.negative
                .retain(|(_, at)| now.duration_since(*at) < cfg.negative_ttl);
            let known_bad = st.negative.iter().any(|(k, _)| k == kid);
            let cooling = st
                .last_forced
                .is_some_and(|t| now.duration_since(t) < cfg.cooldown);
            (st.generation, known_bad, cooling)
        };
        let in_flight = self.fetch.try_lock().is_err();
        if known_bad || (waited && !in_flight) || (cooling && !in_flight) {
            metrics::counter!("jwtshield_jwks_unknown_kid_total", "action" => "suppressed")
                .increment(1);
            self.remember_unknown(kid, cfg);
            return good;
        }
        // wait for the fetch under way, or make the one forced refresh of this cooldown
        metrics::counter!("jwtshield_jwks_unknown_kid_total", "action" => "refresh").increment(1);
        self.refresh(inner, generation, true).await;
        let latest = self.good.load_full().unwrap_or(good);
        if !latest.keys.knows_kid(kid) {
            self.remember_unknown(kid, cfg);
        }
        latest
    }

    fn remember_unknown(&self, kid: &str, cfg: &Config) {
        let mut st = lock(&self.state);
        if st.negative.iter().any(|(k, _)| k == kid) {
            return;
        }
        if st.negative.len() >= cfg.negative_cache_size {
            st.negative.pop_front();
        }
        st.negative.push_back((kid.to_owned(), Instant::now()));
    }

    fn spawn_retry(self: &Arc<Self>, inner: &Arc<Inner>) {
        let (generation, due) = {
            let st = lock(&self.state);
            let due = st
                .last_attempt
                .is_none_or(|t| t.elapsed() >= inner.cfg.cooldown);
            (st.generation, due)
        };
        if due && self.fetch.try_lock().is_ok() {
            let me = self.clone();
            let inner = inner.clone();
            tokio::spawn(async move { me.refresh(&inner, generation, false).await });
        }
    }

    /// Fetches once. Concurrent callers that saw the same generation share one fetch:
    /// whoever gets the slot fetches, the rest find the generation moved and return.
    /// A forced refresh (unknown `kid`) also respects the cooldown.
    async fn refresh(&self, inner: &Inner, seen: u64, forced: bool) {
        let cfg = &inner.cfg;
        let _slot = self.fetch.lock().await;
        {
            let mut st = lock(&self.state);
            if st.generation != seen {
                return;
            }
            if forced {
                if st.last_forced.is_some_and(|t| t.elapsed() < cfg.cooldown) {
                    return;
                }
                st.last_forced = Some(Instant::now());
            }
            st.last_attempt = Some(Instant::now());
        }
        let result = inner.http.get(&self.url).await;
        let parsed = result.and_then(|doc| {
            let value = json::parse_value(&doc.body, 32)
                .map_err(|e| FetchError::Failed(format!("the key set is not valid JSON: {e}")))?;
            let set = KeySet::from_jwks(&value, KeyOrigin::RemoteJwks, false)
                .map_err(|e| FetchError::Failed(format!("not a key set: {e}")))?;
            if set.keys().is_empty() {
                let why: Vec<String> = set
                    .rejected()
                    .iter()
                    .map(|r| format!("{}: {}", r.kid.as_deref().unwrap_or("(no kid)"), r.reason))
                    .collect();
                return Err(FetchError::Failed(format!(
                    "the key set has no usable key{}",
                    if why.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", why.join("; "))
                    }
                )));
            }
            Ok((set, cfg.ttl_for(doc.max_age)))
        });
        let mut st = lock(&self.state);
        st.generation += 1;
        st.fetches += 1;
        match parsed {
            Ok((keys, ttl)) => {
                metrics::counter!("jwtshield_jwks_fetches_total", "result" => "ok").increment(1);
                if let Some(old) = self.good.load().as_deref() {
                    let before: Vec<&str> = old.keys.kids();
                    let after: Vec<&str> = keys.kids();
                    if before != after {
                        tracing::info!(url = %self.url, ?before, ?after, "key set changed");
                    }
                }
                self.good.store(Some(Arc::new(Good {
                    keys,
                    fetched_at: SystemTime::now(),
                    fetched: Instant::now(),
                    ttl,
                })));
                st.last_error = None;
                st.last_error_at = None;
            }
            Err(e) => {
                let result = if matches!(e, FetchError::Refused(_)) {
                    "refused"
                } else {
                    "error"
                };
                metrics::counter!("jwtshield_jwks_fetches_total", "result" => result).increment(1);
                tracing::warn!(url = %self.url, error = %e, kept_keys = self.good.load().is_some(), "key set fetch failed");
                st.fetch_errors += 1;
                // the good keys stay: a failed or garbage refresh never evicts them
                st.last_error = Some(e);
                st.last_error_at = Some(Instant::now());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_is_clamped_both_ways() {
        let cfg = Config::default();
        assert_eq!(cfg.ttl_for(None), Duration::from_secs(600));
        assert_eq!(cfg.ttl_for(Some(10)), Duration::from_secs(300));
        assert_eq!(cfg.ttl_for(Some(3600)), Duration::from_secs(3600));
        assert_eq!(cfg.ttl_for(Some(7 * 86400)), Duration::from_secs(86400));
    }

    #[test]
    fn join_never_doubles_the_slash() {
        assert_eq!(
            join("https://acme.auth0.com/", ".well-known/jwks.json"),
            "https://acme.auth0.com/.well-known/jwks.json"
        );
        assert_eq!(
            join(
                "https://x.okta.com/oauth2/default",
                "/.well-known/openid-configuration"
            ),
            "https://x.okta.com/oauth2/default/.well-known/openid-configuration"
        );
    }
}
