//! One key-set URL: its current keys (read without a lock), the rest of its state, its
//! single fetch slot and the bound on requests waiting for it.
//!
//! A fetch runs as its own task: a request waits for it at most until its deadline and
//! the fetch still completes for the others. At most `max_waiters` requests wait on one
//! set; the rest are answered at once, so one issuer's outage can never hold the
//! capacity that other issuers (and `/healthz`) need.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwapOption;
use jwtshield_core::{Freshness, KeyOrigin, KeySet, Step, json};
use tokio::sync::Semaphore;

use crate::fetch::FetchError;
use crate::{Config, HIT, Inner, MISS, UNREACHABLE, lock};

pub(crate) struct Good {
    pub(crate) keys: KeySet,
    pub(crate) fetched_at: SystemTime,
    pub(crate) fetched: Instant,
    pub(crate) ttl: Duration,
}

impl Good {
    fn fresh(&self) -> bool {
        self.fetched.elapsed() < self.ttl
    }

    fn usable(&self, cfg: &Config) -> bool {
        self.fetched.elapsed() < self.ttl + cfg.stale_window
    }
}

#[derive(Default)]
pub(crate) struct State {
    /// Completed fetch attempts; waiters compare it to know a fetch happened meanwhile.
    pub(crate) generation: u64,
    pub(crate) last_error: Option<FetchError>,
    pub(crate) last_error_at: Option<Instant>,
    pub(crate) last_attempt: Option<Instant>,
    pub(crate) last_forced: Option<Instant>,
    pub(crate) negative: VecDeque<(String, Instant)>,
    pub(crate) fetches: u64,
    pub(crate) fetch_errors: u64,
    pub(crate) warm: bool,
}

impl State {
    /// The last attempt failed after the keys in hand were fetched.
    fn failing_since(&self, good: Option<&Good>) -> bool {
        match (self.last_error_at, good) {
            (Some(at), Some(g)) => at > g.fetched,
            (Some(_), None) => true,
            _ => false,
        }
    }
}

pub(crate) struct Entry {
    pub(crate) url: String,
    pub(crate) fetch: Arc<tokio::sync::Mutex<()>>,
    pub(crate) good: ArcSwapOption<Good>,
    /// Milliseconds since the cache was made, at the last lookup (0: never used).
    pub(crate) last_used: AtomicU64,
    pub(crate) state: Mutex<State>,
    /// Requests allowed to wait for a fetch of this set at the same time.
    waiters: Arc<Semaphore>,
}

impl Entry {
    pub(crate) fn new(url: &str, cfg: &Config) -> Entry {
        Entry {
            url: url.to_owned(),
            fetch: Arc::new(tokio::sync::Mutex::new(())),
            good: ArcSwapOption::empty(),
            last_used: AtomicU64::new(0),
            state: Mutex::new(State::default()),
            waiters: Arc::new(Semaphore::new(cfg.max_waiters_per_set.max(1))),
        }
    }

    /// Requests waiting for a fetch of this set now.
    pub(crate) fn waiting(&self, cfg: &Config) -> usize {
        cfg.max_waiters_per_set
            .max(1)
            .saturating_sub(self.waiters.available_permits())
    }

    /// The keys to use now for a token with `kid`, waiting for a fetch at most until
    /// `deadline`.
    pub(crate) async fn keys(
        self: &Arc<Self>,
        inner: &Arc<Inner>,
        kid: Option<&str>,
        deadline: tokio::time::Instant,
    ) -> KeySet {
        let cfg = &inner.cfg;
        self.last_used.store(inner.millis(), Ordering::Relaxed);
        let good = self.good.load_full();
        // the common case, without a lock: fresh keys that know the kid
        if let Some(g) = &good
            && g.fresh()
            && kid.is_none_or(|k| g.keys.knows_kid(k))
        {
            inner.count(HIT);
            return g.keys.clone();
        }
        let (good, waited) = match good.filter(|g| g.usable(cfg)) {
            // fresh, or expired but inside the stale window: serve now
            Some(g) => (g, false),
            None => match self.cold(inner, deadline).await {
                Ok(g) => (g, true),
                Err(set) => {
                    inner.count(UNREACHABLE);
                    return set;
                }
            },
        };
        if !good.fresh() && !waited {
            // past its lifetime: refresh in the background (at most once per cooldown)
            self.spawn_retry(inner);
        }
        if let Some(kid) = kid
            && !good.keys.knows_kid(kid)
        {
            return self.unknown_kid(inner, kid, good, waited, deadline).await;
        }
        inner.count(if waited { MISS } else { HIT });
        self.with_freshness(&good)
    }

    /// No usable keys in hand: wait for a fetch (unless one failed less than a cooldown
    /// ago: a JWKS that is down is not hammered, the answer is JWKS_UNREACHABLE at once
    /// until the next retry).
    async fn cold(
        self: &Arc<Self>,
        inner: &Arc<Inner>,
        deadline: tokio::time::Instant,
    ) -> Result<Arc<Good>, KeySet> {
        let cfg = &inner.cfg;
        let (failed_recently, generation) = {
            let st = lock(&self.state);
            let recent = st.last_error_at.is_some_and(|t| t.elapsed() < cfg.cooldown);
            (recent, st.generation)
        };
        let mut timed_out = false;
        if !failed_recently {
            let Ok(_permit) = self.waiters.clone().try_acquire_owned() else {
                return Err(self.busy());
            };
            let fetch = self.start_refresh(inner, generation, false);
            timed_out = tokio::time::timeout_at(deadline, fetch).await.is_err();
        }
        match self.good.load_full() {
            Some(g) if g.usable(cfg) => Ok(g),
            _ => Err(self.unusable(timed_out.then_some(cfg.fetch_timeout))),
        }
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

    /// No usable keys: why. `timed_out` when this request gave up waiting.
    fn unusable(&self, timed_out: Option<Duration>) -> KeySet {
        let st = lock(&self.state);
        let error = match (timed_out, st.last_error.clone()) {
            (Some(t), _) => FetchError::Failed(format!(
                "timed out: no answer within the {} ms fetch timeout",
                t.as_millis()
            )),
            (None, Some(e)) => e,
            (None, None) => FetchError::Failed("no key set fetched yet".into()),
        };
        let freshness = match error {
            FetchError::Refused(reason) => Freshness::Refused {
                url: self.url.clone(),
                reason,
            },
            other => Freshness::Unreachable {
                step: Step::KeySet,
                url: self.url.clone(),
                error: match self.good.load().as_ref() {
                    Some(_) => format!("{other}; the last good keys are past the stale window"),
                    None => other.to_string(),
                },
            },
        };
        KeySet::empty().with_freshness(freshness)
    }

    /// Every waiting slot of this set is taken.
    fn busy(&self) -> KeySet {
        KeySet::empty().with_freshness(Freshness::Unreachable {
            step: Step::KeySet,
            url: self.url.clone(),
            error: "too many requests are already waiting for this key set; not queued".into(),
        })
    }

    /// The set in hand does not hold `kid`: refresh once (single flight, cooldown,
    /// negative cache). When the kid could not be looked for (the refresh failed, timed
    /// out or was not allowed while the set is failing), the keys come back marked
    /// unreachable, so the answer is JWKS_UNREACHABLE, not KID_NOT_FOUND.
    async fn unknown_kid(
        self: &Arc<Self>,
        inner: &Arc<Inner>,
        kid: &str,
        good: Arc<Good>,
        waited: bool,
        deadline: tokio::time::Instant,
    ) -> KeySet {
        let cfg = &inner.cfg;
        let now = Instant::now();
        let (generation, known_bad, cooling) = {
            let mut st = lock(&self.state);
            st.negative
                .retain(|(_, at)| now.duration_since(*at) < cfg.negative_ttl);
            let known_bad = st.negative.iter().any(|(k, _)| k == kid);
            // after a forced refresh, and after any failed attempt: no other one for a
            // cooldown (a JWKS that is down or hangs is not hammered)
            let cooling = [st.last_forced, st.last_error_at]
                .into_iter()
                .flatten()
                .any(|t| now.duration_since(t) < cfg.cooldown);
            (st.generation, known_bad, cooling)
        };
        let in_flight = self.fetch.try_lock().is_err();
        let suppressed = known_bad || (waited && !in_flight) || (cooling && !in_flight);
        let mut timed_out = false;
        if suppressed {
            metrics::counter!("jwtshield_jwks_unknown_kid_total", "action" => "suppressed")
                .increment(1);
        } else {
            let Ok(_permit) = self.waiters.clone().try_acquire_owned() else {
                inner.count(UNREACHABLE);
                return good.keys.with_freshness(self.busy().freshness);
            };
            // wait for the fetch under way, or make the one forced refresh of this cooldown
            metrics::counter!("jwtshield_jwks_unknown_kid_total", "action" => "refresh")
                .increment(1);
            let fetch = self.start_refresh(inner, generation, true);
            timed_out = tokio::time::timeout_at(deadline, fetch).await.is_err();
        }
        let latest = self.good.load_full().unwrap_or(good);
        if latest.keys.knows_kid(kid) {
            inner.count(MISS);
            return self.with_freshness(&latest);
        }
        let failing = lock(&self.state).failing_since(Some(&latest));
        if timed_out || failing {
            inner.count(UNREACHABLE);
            let error = match (timed_out, &lock(&self.state).last_error) {
                (true, _) => format!(
                    "timed out: no answer within the {} ms fetch timeout",
                    cfg.fetch_timeout.as_millis()
                ),
                (false, Some(e)) => e.to_string(),
                (false, None) => "the refresh failed".into(),
            };
            return latest.keys.with_freshness(Freshness::Unreachable {
                step: Step::KeySet,
                url: self.url.clone(),
                error,
            });
        }
        // looked for, and the issuer does not publish it
        self.remember_unknown(kid, cfg);
        inner.count(if waited { MISS } else { HIT });
        self.with_freshness(&latest)
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

    pub(crate) fn spawn_retry(self: &Arc<Self>, inner: &Arc<Inner>) {
        let (generation, due) = {
            let st = lock(&self.state);
            let due = st
                .last_attempt
                .is_none_or(|t| t.elapsed() >= inner.cfg.cooldown);
            (st.generation, due)
        };
        if due && self.fetch.try_lock().is_ok() {
            drop(self.start_refresh(inner, generation, false));
        }
    }

    /// Starts a fetch in its own task (it completes even when the requests that wait
    /// for it give up at their deadline).
    pub(crate) fn start_refresh(
        self: &Arc<Self>,
        inner: &Arc<Inner>,
        seen: u64,
        forced: bool,
    ) -> tokio::task::JoinHandle<()> {
        let (me, inner) = (self.clone(), inner.clone());
        tokio::spawn(async move { me.refresh(&inner, seen, forced).await })
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
        let parsed =
            result.and_then(|doc| load(&doc.body).map(|set| (set, cfg.ttl_for(doc.max_age))));
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

/// A fetched key set, with the keys it refused; an error when it has no usable key.
fn load(body: &[u8]) -> Result<KeySet, FetchError> {
    let value = json::parse_value(body, 32)
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
    Ok(set)
}
