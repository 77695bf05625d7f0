//! OpenID discovery per issuer: `{issuer}/.well-known/openid-configuration`, whose
//! `issuer` must be the policy's and whose `jwks_uri` names the key set.
//!
//! The last good answer is kept: while re-discovery fails (the provider is down, hangs
//! or answers garbage) the issuer's keys keep coming from the `jwks_uri` it published,
//! so the key set's stale window applies exactly as when `jwks_uri` is configured. The
//! conventional `{issuer}/.well-known/jwks.json` (Auth0's layout) is used only when the
//! provider answers that it has no discovery document (404) or a document without
//! `jwks_uri`, never because of a network error. An expired answer is served at once
//! and refreshed in the background; only a cold issuer waits, at most until the
//! request's deadline.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use jwtshield_core::wellknown::{DISCOVERY_PATH, JWKS_PATH};
use jwtshield_core::{Freshness, KeySet, Step, json};
use tokio::sync::Semaphore;

use crate::fetch::FetchError;
use crate::{Config, Inner, join};

/// What discovery concluded.
pub(crate) enum Found {
    /// The key-set URL to use.
    Url(String),
    /// The document names another issuer.
    Mismatch { url: String, actual: String },
    /// The discovery URL was refused by the guard.
    Refused { url: String, reason: String },
}

/// One answer and when it stops being current.
struct Answer {
    at: Instant,
    ttl: Duration,
    found: Arc<Found>,
}

/// The last attempt that failed, and why.
struct Failure {
    at: Instant,
    error: String,
}

pub(crate) struct Discovery {
    issuer: String,
    fetch: Arc<tokio::sync::Mutex<()>>,
    answer: ArcSwapOption<Answer>,
    failure: ArcSwapOption<Failure>,
    waiters: Arc<Semaphore>,
}

impl Discovery {
    pub(crate) fn new(issuer: &str, cfg: &Config) -> Discovery {
        Discovery {
            issuer: issuer.to_owned(),
            fetch: Arc::new(tokio::sync::Mutex::new(())),
            answer: ArcSwapOption::empty(),
            failure: ArcSwapOption::empty(),
            waiters: Arc::new(Semaphore::new(cfg.max_waiters_per_set.max(1))),
        }
    }

    fn url(&self) -> String {
        join(&self.issuer, DISCOVERY_PATH)
    }

    /// The key-set URL (or why there is none), waiting for a cold issuer at most until
    /// `deadline`.
    pub(crate) async fn resolve(
        self: &Arc<Self>,
        inner: &Arc<Inner>,
        accepted: &[String],
        deadline: tokio::time::Instant,
    ) -> Result<Arc<Found>, KeySet> {
        if let Some(a) = self.answer.load_full() {
            if a.at.elapsed() >= a.ttl && self.due(&inner.cfg) {
                drop(self.spawn_refresh(inner, accepted));
            }
            return Ok(a.found.clone());
        }
        // cold: nothing answered yet
        if let Some(f) = self.failure.load_full()
            && f.at.elapsed() < inner.cfg.cooldown
        {
            return Err(self.unreachable(&f.error));
        }
        let Ok(_permit) = self.waiters.clone().try_acquire_owned() else {
            return Err(self.unreachable(
                "too many requests are already waiting for this issuer's discovery; not queued",
            ));
        };
        let task = self.spawn_refresh(inner, accepted);
        let timed_out = tokio::time::timeout_at(deadline, task).await.is_err();
        match (self.answer.load_full(), self.failure.load_full()) {
            (Some(a), _) => Ok(a.found.clone()),
            _ if timed_out => Err(self.unreachable(&format!(
                "timed out: no answer within the {} ms fetch timeout",
                inner.cfg.fetch_timeout.as_millis()
            ))),
            (None, Some(f)) => Err(self.unreachable(&f.error)),
            (None, None) => Err(self.unreachable("discovery did not complete")),
        }
    }

    /// A re-discovery may start: none runs and none failed less than a cooldown ago.
    fn due(&self, cfg: &Config) -> bool {
        let recent_failure = self
            .failure
            .load()
            .as_ref()
            .is_some_and(|f| f.at.elapsed() < cfg.cooldown);
        !recent_failure && self.fetch.try_lock().is_ok()
    }

    fn unreachable(&self, error: &str) -> KeySet {
        KeySet::empty().with_freshness(Freshness::Unreachable {
            step: Step::Discovery,
            url: self.url(),
            error: error.to_owned(),
        })
    }

    /// Starts a discovery fetch in its own task, unless one runs or failed less than a
    /// cooldown ago (then the returned task ends at once).
    pub(crate) fn spawn_refresh(
        self: &Arc<Self>,
        inner: &Arc<Inner>,
        accepted: &[String],
    ) -> tokio::task::JoinHandle<()> {
        let (me, inner) = (self.clone(), inner.clone());
        let accepted = accepted.to_vec();
        tokio::spawn(async move { me.refresh(&inner, &accepted).await })
    }

    async fn refresh(&self, inner: &Inner, accepted: &[String]) {
        let Ok(_slot) = self.fetch.try_lock() else {
            // one runs: wait for it to finish instead of starting another
            let _ = self.fetch.lock().await;
            return;
        };
        let cfg = &inner.cfg;
        let fresh = self
            .answer
            .load()
            .as_ref()
            .is_some_and(|a| a.at.elapsed() < a.ttl);
        let recent_failure = self
            .failure
            .load()
            .as_ref()
            .is_some_and(|f| f.at.elapsed() < cfg.cooldown);
        if fresh || recent_failure {
            return;
        }
        let url = self.url();
        let outcome = match inner.http.get(&url).await {
            Ok(doc) => read_document(&doc.body, accepted, &url, &self.issuer)
                .map(|found| (found, cfg.ttl_for(doc.max_age))),
            Err(FetchError::NotFound) => Ok((
                // no discovery document: Auth0's layout
                Found::Url(join(&self.issuer, JWKS_PATH)),
                cfg.default_ttl,
            )),
            Err(FetchError::Refused(reason)) => Ok((
                Found::Refused {
                    url: url.clone(),
                    reason,
                },
                cfg.cooldown,
            )),
            Err(e) => Err(e.to_string()),
        };
        match outcome {
            Ok((found, ttl)) => {
                metrics::counter!("jwtshield_discovery_fetches_total", "result" => "ok")
                    .increment(1);
                self.answer.store(Some(Arc::new(Answer {
                    at: Instant::now(),
                    ttl,
                    found: Arc::new(found),
                })));
                self.failure.store(None);
            }
            Err(error) => {
                metrics::counter!("jwtshield_discovery_fetches_total", "result" => "error")
                    .increment(1);
                tracing::warn!(%url, %error, kept = self.answer.load().is_some(), "discovery failed; the last answer (if any) stays in use");
                self.failure.store(Some(Arc::new(Failure {
                    at: Instant::now(),
                    error: format!("discovery failed: {error}"),
                })));
            }
        }
    }

    /// The issuer, its last good `jwks_uri` and its last error, for `/v1/status`.
    pub(crate) fn status(&self) -> crate::DiscoveryStatus {
        let answer = self.answer.load_full();
        crate::DiscoveryStatus {
            issuer: self.issuer.clone(),
            url: self.url(),
            jwks_uri: answer.as_ref().and_then(|a| match a.found.as_ref() {
                Found::Url(u) => Some(u.clone()),
                _ => None,
            }),
            last_error: self.failure.load().as_ref().map(|f| f.error.clone()),
        }
    }
}

/// What a discovery document says: its `jwks_uri` when it names an accepted issuer.
fn read_document(
    body: &[u8],
    accepted: &[String],
    url: &str,
    issuer: &str,
) -> Result<Found, String> {
    let parsed = json::parse_value(body, 32)
        .map_err(|e| format!("the discovery document is not valid JSON: {e}"))?;
    let obj = parsed
        .as_object()
        .ok_or("the discovery document is not a JSON object")?;
    let named = obj.get("issuer").and_then(serde_json::Value::as_str);
    let jwks = obj.get("jwks_uri").and_then(serde_json::Value::as_str);
    Ok(match (named, jwks) {
        (Some(n), _) if !accepted.iter().any(|a| a == n) => Found::Mismatch {
            url: url.to_owned(),
            actual: n.to_owned(),
        },
        (Some(_), Some(j)) => Found::Url(j.to_owned()),
        // a document without `jwks_uri` (or `issuer`): the conventional place
        _ => Found::Url(join(issuer, JWKS_PATH)),
    })
}
