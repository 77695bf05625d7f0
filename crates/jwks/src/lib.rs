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
//!   `JWKS_STALE` warning; past it, or cold, `JWKS_UNREACHABLE`;
//! - discovery keeps its last good answer while the provider is down (see
//!   [`discovery`]), so the stale window holds however the keys were
//!   found;
//! - one deadline, the fetch timeout, bounds a whole lookup (discovery and key set); a
//!   fetch runs in its own task and completes for the others when a request gives up;
//! - at most `max_waiters_per_set` requests wait on one set or issuer at a time; the
//!   rest are answered at once, so one issuer's outage cannot take everyone's capacity;
//! - a `kid` that could not be looked for because the refresh failed is
//!   `JWKS_UNREACHABLE` (the issuer's outage), not `KID_NOT_FOUND`.
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

pub mod discovery;
mod doctor;
mod entry;
pub mod fetch;
pub mod guard;
pub mod introspect;
pub mod verified;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jwtshield_core::revocation::RevocationSet;
use jwtshield_core::{CompiledPolicy, Extras, Freshness, KeySet, KeySummary, RejectedKey, Token};
use serde::Serialize;

use crate::discovery::{Discovery, Found};
use crate::entry::Entry;
use crate::fetch::Http;
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
    /// Requests that may wait at the same time for one key set's (or one issuer's
    /// discovery) fetch; more are answered at once with `JWKS_UNREACHABLE`. Defaults
    /// to 64.
    pub max_waiters_per_set: usize,
    /// CA certificates (PEM) trusted for key-set and discovery fetches besides the
    /// system's: an issuer on a private PKI. Defaults to none.
    pub extra_roots: Option<Vec<u8>>,
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
            max_waiters_per_set: 64,
            extra_roots: None,
        }
    }
}

impl Config {
    /// How long one request may spend looking up keys, discovery and key set together:
    /// the fetch timeout, plus a moment for a fetch that timed out to report its error.
    pub fn lookup_deadline(&self) -> Duration {
        self.fetch_timeout + Duration::from_millis(250)
    }

    fn ttl_for(&self, max_age: Option<u64>) -> Duration {
        match max_age {
            None => self.default_ttl,
            Some(s) => Duration::from_secs(s).clamp(self.min_ttl, self.max_ttl.max(self.min_ttl)),
        }
    }
}

/// The PEM certificates of `--jwks-ca-file` (a private CA to trust besides the system's),
/// read for [`Config::extra_roots`]; the error names the flag and the file.
pub fn read_ca_file(path: &std::path::Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read --jwks-ca-file {}: {e}", path.display()))
}

/// The wall clock in seconds since 1970 (0 before it): the `now` that the crates doing
/// I/O pass to the pure core.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
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
    /// When the refresher fetches the set again (RFC 3339): shortly before it expires
    /// for a set in use or kept warm, one cooldown after a failed attempt.
    pub next_refresh_at: Option<String>,
    /// The last fetch error, if the last attempt failed.
    pub last_error: Option<String>,
    /// Fetch attempts so far.
    pub fetch_count: u64,
    /// Failed fetch attempts so far.
    pub fetch_errors: u64,
    /// Past its lifetime and the refresh failed: serving the last good keys.
    pub stale: bool,
    /// Past the stale window (or never fetched) with the last fetch failed: no usable key.
    pub unusable: bool,
    /// Requests waiting for a fetch of this set now.
    pub waiting: usize,
    /// Kept warm for an issuer profile.
    pub warm: bool,
}

/// The discovery of one issuer, for `/v1/status`.
#[derive(Clone, Debug, Serialize)]
pub struct DiscoveryStatus {
    /// The issuer.
    pub issuer: String,
    /// Its discovery document URL.
    pub url: String,
    /// The key-set URL in use (the last good answer).
    pub jwks_uri: Option<String>,
    /// The last error, when the last attempt failed.
    pub last_error: Option<String>,
}

/// Where one policy's keys come from, and whether one is usable now.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct PolicyKeys {
    /// `inline`, `jwks_uri` or `discovery`.
    pub source: &'static str,
    /// The key-set URL in use, when known.
    pub url: Option<String>,
    /// At least one key is loaded and inside its lifetime or stale window.
    pub usable: bool,
    /// Why not, when not usable.
    pub reason: Option<String>,
}

pub(crate) struct Inner {
    pub(crate) cfg: Config,
    pub(crate) http: Http,
    started: Instant,
    warming: std::sync::atomic::AtomicUsize,
    entries: RwLock<HashMap<String, Arc<Entry>>>,
    discovery: RwLock<HashMap<String, Arc<Discovery>>>,
    verified: Option<VerifiedCache>,
    lookups: [AtomicU64; 3],
    revocations: arc_swap::ArcSwapOption<RevocationSet>,
    introspection: introspect::IntrospectionCache,
}

impl Inner {
    pub(crate) fn count(&self, which: usize) {
        self.lookups[which].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn millis(&self) -> u64 {
        self.started.elapsed().as_millis() as u64 + 1
    }
}

pub(crate) const HIT: usize = 0;
pub(crate) const MISS: usize = 1;
pub(crate) const UNREACHABLE: usize = 2;

/// The key-set cache. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct KeySets {
    inner: Arc<Inner>,
}

pub use jwtshield_core::wellknown::join;

impl KeySets {
    /// A cache with this configuration. Needs a Tokio runtime when used.
    pub fn new(cfg: Config) -> Result<KeySets, String> {
        let http = Http::new(
            cfg.guard.clone(),
            cfg.fetch_timeout,
            cfg.max_response_bytes,
            cfg.extra_roots.as_deref(),
        )?;
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
                revocations: arc_swap::ArcSwapOption::empty(),
                introspection: Default::default(),
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
    /// Add the revocation rules with [`KeySets::revocations`]:
    /// `extras.revocations = rules.as_deref()`.
    pub fn extras(&self) -> Extras<'_> {
        Extras {
            signature_cache: self
                .inner
                .verified
                .as_ref()
                .map(|c| c as &dyn jwtshield_core::SignatureCache),
            revocations: None,
        }
    }

    /// The revocation rules in force, when the process keeps any (the service does;
    /// the CLI does not). Lock-free; swapped whole by [`KeySets::set_revocations`].
    pub fn revocations(&self) -> Option<Arc<RevocationSet>> {
        self.inner.revocations.load_full()
    }

    /// Replaces the revocation rules every validation consults from now on.
    pub fn set_revocations(&self, rules: Arc<RevocationSet>) {
        self.inner.revocations.store(Some(rules));
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

    /// Validates `token` against `policy` with everything these key sets hold: the keys
    /// (looked up as [`KeySets::keys_for_token`] does), the verified-signature cache and
    /// the revocation rules. The one way the service, the middleware and the admin API
    /// validate.
    pub async fn validate(
        &self,
        policy: &CompiledPolicy,
        token: &Token<'_>,
        now: i64,
    ) -> jwtshield_core::Report {
        let revocations = self.revocations();
        let mut extras = self.extras();
        extras.revocations = revocations.as_deref();
        if let Some(cfg) = &policy.policy().introspection
            && introspect::is_opaque(token)
        {
            // an opaque token: the issuer's introspection endpoint says what it is
            let result = self
                .inner
                .introspection
                .introspect(&self.inner.http, cfg, token, now)
                .await;
            return jwtshield_core::validate_introspected(token, &result, policy, now, extras);
        }
        let keys = self.keys_for_token(policy, token).await;
        jwtshield_core::validate_with(token, &keys, policy, now, extras)
    }

    /// The keys for `policy`, refreshing once for an unknown `kid` when allowed. The
    /// whole lookup (discovery and key set) ends within the fetch timeout.
    pub async fn keys_for(&self, policy: &CompiledPolicy, kid: Option<&str>) -> KeySet {
        if let Some(inline) = policy.inline_keys() {
            return inline.as_ref().clone();
        }
        let deadline = tokio::time::Instant::now() + self.inner.cfg.lookup_deadline();
        match self.entry_for(policy, deadline).await {
            Ok(entry) => entry.keys(&self.inner, kid, deadline).await,
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
        this.inner.warming.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            let deadline = tokio::time::Instant::now() + 2 * this.inner.cfg.fetch_timeout;
            if let Ok(entry) = this.entry_for(&policy, deadline).await {
                let (fresh, generation) = {
                    let mut st = lock(&entry.state);
                    st.warm = true;
                    (entry.good.load().is_some(), st.generation)
                };
                if !fresh {
                    let _ = entry.start_refresh(&this.inner, generation, false).await;
                }
            }
            this.inner.warming.fetch_sub(1, Ordering::SeqCst);
        });
    }

    /// Sets being warmed whose first fetch has not completed yet.
    pub fn warming(&self) -> usize {
        self.inner.warming.load(Ordering::SeqCst)
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
                let retry_ok = st.last_attempt.is_none_or(|t| t.elapsed() >= cfg.cooldown);
                let due = match e.good.load().as_deref() {
                    None => true,
                    Some(g) => {
                        let ahead = cfg.refresh_ahead.min(g.ttl / 10);
                        g.fetched.elapsed() + ahead >= g.ttl
                    }
                };
                (due && retry_ok && e.fetch.try_lock().is_ok(), st.generation)
            };
            if due {
                drop(e.start_refresh(&self.inner, generation, false));
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
        let e = Arc::new(Entry::new(url, &self.inner.cfg));
        map.insert(url.to_owned(), e.clone());
        e
    }

    fn discovery(&self, issuer: &str) -> Arc<Discovery> {
        if let Some(d) = read(&self.inner.discovery).get(issuer) {
            return d.clone();
        }
        let mut map = write(&self.inner.discovery);
        if map.len() >= self.inner.cfg.max_sets && !map.contains_key(issuer) {
            map.clear();
        }
        map.entry(issuer.to_owned())
            .or_insert_with(|| Arc::new(Discovery::new(issuer, &self.inner.cfg)))
            .clone()
    }

    /// The cache entry of the policy's keys: `jwks_uri`, else discovery (whose answer
    /// may be the conventional `.well-known/jwks.json`).
    async fn entry_for(
        &self,
        policy: &CompiledPolicy,
        deadline: tokio::time::Instant,
    ) -> Result<Arc<Entry>, KeySet> {
        if let Some(uri) = &policy.policy().jwks_uri {
            return Ok(self.entry(uri));
        }
        let issuers = policy.policy().issuer.all();
        // an issuer template's discovery is under its `common` tenant
        let primary = policy.policy().issuer.discovery_base();
        let found = self
            .discovery(&primary)
            .resolve(&self.inner, issuers, deadline)
            .await?;
        match found.as_ref() {
            Found::Url(u) => Ok(self.entry(u)),
            Found::Mismatch { url, actual } => Err(KeySet::empty().with_freshness(
                Freshness::DiscoveryMismatch {
                    url: url.clone(),
                    expected: policy.policy().issuer.primary().to_owned(),
                    actual: actual.clone(),
                },
            )),
            Found::Refused { url, reason } => {
                Err(KeySet::empty().with_freshness(Freshness::Refused {
                    url: url.clone(),
                    reason: reason.clone(),
                }))
            }
        }
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
                let usable = good.is_some_and(|g| g.fetched.elapsed() < g.ttl + cfg.stale_window);
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
                    next_refresh_at: match (&st.last_error, st.last_attempt, good) {
                        (Some(_), Some(t), _) => {
                            Some(unix(SystemTime::now() - t.elapsed() + cfg.cooldown))
                        }
                        (_, _, Some(g)) => Some(unix(
                            g.fetched_at + g.ttl - cfg.refresh_ahead.min(g.ttl / 10),
                        )),
                        _ => None,
                    },
                    last_error: st.last_error.as_ref().map(ToString::to_string),
                    fetch_count: st.fetches,
                    fetch_errors: st.fetch_errors,
                    stale: expired && failing && usable,
                    unusable: !usable && failing,
                    waiting: e.waiting(cfg),
                    warm: st.warm,
                }
            })
            .collect();
        out.sort_by(|a, b| a.url.cmp(&b.url));
        out
    }

    /// Where the keys of `policy` come from and whether one is usable now, without
    /// fetching anything (for `/readyz` and the status page).
    pub fn policy_keys(&self, policy: &CompiledPolicy) -> PolicyKeys {
        let cfg = &self.inner.cfg;
        if policy.inline_keys().is_some() {
            return PolicyKeys {
                source: "inline",
                url: None,
                usable: true,
                reason: None,
            };
        }
        let (source, url, discovery_error) = match &policy.policy().jwks_uri {
            Some(u) => ("jwks_uri", Some(u.clone()), None),
            None => {
                let primary = policy.policy().issuer.discovery_base();
                let status = read(&self.inner.discovery)
                    .get(primary.as_ref())
                    .map(|d| d.status());
                match status {
                    Some(st) => ("discovery", st.jwks_uri, st.last_error),
                    None => ("discovery", None, None),
                }
            }
        };
        let Some(url) = url else {
            return PolicyKeys {
                source,
                url: None,
                usable: false,
                reason: Some(match discovery_error {
                    Some(e) => format!("discovery failed: {e}"),
                    None => "discovery has not answered yet".to_owned(),
                }),
            };
        };
        let entry = read(&self.inner.entries).get(&url).cloned();
        let (usable, reason) = match entry {
            None => (
                false,
                Some("the key set has not been fetched yet".to_owned()),
            ),
            Some(e) => {
                let good = e.good.load_full();
                let usable = good
                    .as_deref()
                    .is_some_and(|g| g.fetched.elapsed() < g.ttl + cfg.stale_window);
                let last_error = lock(&e.state).last_error.as_ref().map(ToString::to_string);
                match (usable, last_error) {
                    (true, _) => (true, None),
                    (false, Some(err)) => (false, Some(err)),
                    (false, None) if good.is_some() => (
                        false,
                        Some("the keys are past their stale window".to_owned()),
                    ),
                    (false, None) => (false, Some("no fetch has finished yet".to_owned())),
                }
            }
        };
        PolicyKeys {
            source,
            url: Some(url),
            usable,
            reason,
        }
    }

    /// The discovery of every issuer looked up, sorted by issuer.
    pub fn discovery_status(&self) -> Vec<DiscoveryStatus> {
        let mut out: Vec<DiscoveryStatus> = read(&self.inner.discovery)
            .values()
            .map(|d| d.status())
            .collect();
        out.sort_by(|a, b| a.issuer.cmp(&b.issuer));
        out
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
