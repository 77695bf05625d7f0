//! What DPoP (RFC 9449) needs beyond the pure check in `jwtshield_core::dpop`: the
//! request's `DPoP` header, the method and absolute URI the proof must name, and a
//! replay cache that remembers each accepted proof's `jti` until the proof could no
//! longer pass anyway.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use axum::http::HeaderMap;
use jwtshield_core::dpop::Proof;

/// A boxed future, as the replay cache returns (no async-trait dependency).
pub type CacheFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, String>> + Send + 'a>>;

/// Remembers accepted DPoP proofs (by [`jwtshield_core::dpop::Accepted::replay_key`])
/// until `until` (Unix seconds). The service shares one through Redis across a fleet;
/// [`LocalReplayCache`] is the in-process one.
pub trait ReplayCache: Send + Sync {
    /// Records `key` if it is new: `Ok(true)` the first time, `Ok(false)` for a replay,
    /// `Err` when the cache cannot answer (the request is then refused with 503).
    fn first_use<'a>(&'a self, key: &'a str, until: i64) -> CacheFuture<'a, bool>;

    /// Whether `key` was recorded, without recording it (`POST /v1/validate/jwt`).
    fn seen<'a>(&'a self, key: &'a str) -> CacheFuture<'a, bool>;
}

/// The in-process replay cache: a map of key to expiry, at most `capacity` live entries
/// (expired ones are dropped when it fills; a full cache of live entries refuses).
#[derive(Debug)]
pub struct LocalReplayCache {
    seen: Mutex<HashMap<String, i64>>,
    capacity: usize,
}

impl Default for LocalReplayCache {
    fn default() -> Self {
        LocalReplayCache::with_capacity(1_000_000)
    }
}

impl LocalReplayCache {
    /// A cache of at most `capacity` live proofs.
    pub fn with_capacity(capacity: usize) -> LocalReplayCache {
        LocalReplayCache {
            seen: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// Records `key` at time `now`: the synchronous core of [`ReplayCache::first_use`].
    pub fn record(&self, key: &str, until: i64, now: i64) -> Result<bool, String> {
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(t) = seen.get(key)
            && *t >= now
        {
            return Ok(false);
        }
        if seen.len() >= self.capacity {
            seen.retain(|_, t| *t >= now);
            if seen.len() >= self.capacity {
                return Err(format!(
                    "the DPoP replay cache holds {} live proofs, its limit",
                    self.capacity
                ));
            }
        }
        seen.insert(key.to_owned(), until);
        Ok(true)
    }

    fn contains(&self, key: &str, now: i64) -> bool {
        let seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        seen.get(key).is_some_and(|t| *t >= now)
    }
}

impl ReplayCache for LocalReplayCache {
    fn first_use<'a>(&'a self, key: &'a str, until: i64) -> CacheFuture<'a, bool> {
        Box::pin(async move { self.record(key, until, jwtshield_jwks::unix_now()) })
    }

    fn seen<'a>(&'a self, key: &'a str) -> CacheFuture<'a, bool> {
        Box::pin(async move { Ok(self.contains(key, jwtshield_jwks::unix_now())) })
    }
}

/// The request's `DPoP` header(s).
pub fn proof_header(headers: &HeaderMap) -> Proof<'_> {
    let mut values = headers.get_all("dpop").iter();
    match (values.next(), values.next()) {
        (None, _) => Proof::Absent,
        (Some(v), None) => Proof::One(v.to_str().unwrap_or("")),
        (Some(_), Some(_)) => Proof::Several,
    }
}

/// The method and absolute URI a proof must name: those of the request the client made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The method, as sent (`GET`).
    pub method: String,
    /// The absolute URI (`https://api.example.com/orders?page=2`).
    pub uri: String,
    /// Why the request cannot be named: two forwarded headers that disagree (a client's
    /// own header passed on beside the gateway's). The request is then refused.
    pub conflict: Option<String>,
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

impl Target {
    /// The original request behind a gateway (`/v1/authz`): the method from
    /// `X-Forwarded-Method` (or `X-Original-Method`), the URI from `X-Forwarded-Uri` (or
    /// `X-Original-URI`): absolute as given, or a path joined to `X-Forwarded-Proto`
    /// (default `https`) and `X-Forwarded-Host` (or `Host`). What is missing comes from the
    /// request itself.
    pub fn forwarded(headers: &HeaderMap, method: &str, path: &str) -> Target {
        let mut conflict = None;
        for (a, b) in [
            ("x-forwarded-method", "x-original-method"),
            ("x-forwarded-uri", "x-original-uri"),
        ] {
            if let (Some(x), Some(y)) = (header(headers, a), header(headers, b))
                && x != y
            {
                conflict = Some(format!(
                    "the {a} and {b} headers name different requests: the gateway must set one and overwrite what the client sent"
                ));
            }
        }
        let mut target = Target::forwarded_unchecked(headers, method, path);
        target.conflict = conflict;
        target
    }

    fn forwarded_unchecked(headers: &HeaderMap, method: &str, path: &str) -> Target {
        let method = header(headers, "x-forwarded-method")
            .or_else(|| header(headers, "x-original-method"))
            .unwrap_or(method)
            .to_owned();
        let uri = header(headers, "x-forwarded-uri")
            .or_else(|| header(headers, "x-original-uri"))
            .unwrap_or(path);
        if uri.contains("://") {
            return Target {
                method,
                uri: uri.to_owned(),
                conflict: None,
            };
        }
        let proto = header(headers, "x-forwarded-proto")
            .and_then(|p| p.split(',').next())
            .map(str::trim)
            .unwrap_or("https");
        let host = header(headers, "x-forwarded-host")
            .and_then(|h| h.split(',').next())
            .map(str::trim)
            .or_else(|| header(headers, "host"))
            .unwrap_or("");
        Target {
            method,
            uri: format!("{proto}://{host}{uri}"),
            conflict: None,
        }
    }

    /// The request an application received (the middleware): its method, and its URI
    /// joined to `origin` when configured (`https://api.example.com`), else to the
    /// request's own scheme and authority (absolute-form), else `http://` and `Host`.
    pub fn direct(parts: &axum::http::request::Parts, origin: Option<&str>) -> Target {
        let u = &parts.uri;
        let path = u.path_and_query().map_or("/", |p| p.as_str());
        let uri = match (origin, u.scheme_str(), u.authority()) {
            (Some(o), _, _) => format!("{}{path}", o.trim_end_matches('/')),
            (None, Some(s), Some(a)) => format!("{s}://{a}{path}"),
            _ => format!(
                "http://{}{path}",
                header(&parts.headers, "host").unwrap_or("")
            ),
        };
        Target {
            method: parts.method.as_str().to_owned(),
            uri,
            conflict: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_refuses_a_second_use_until_expiry_and_stays_bounded() {
        let c = LocalReplayCache::with_capacity(2);
        assert_eq!(c.record("a", 100, 10), Ok(true));
        assert_eq!(c.record("a", 100, 50), Ok(false));
        assert!(c.contains("a", 50));
        // past its expiry the proof could not pass anyway: the entry is free again
        assert_eq!(c.record("a", 300, 101), Ok(true));
        assert_eq!(c.record("b", 300, 101), Ok(true));
        // full of live entries: refused (the caller answers 503), never forgotten
        assert!(c.record("c", 300, 102).is_err());
        assert_eq!(c.record("a", 300, 102), Ok(false));
        // once they expire there is room
        assert_eq!(c.record("c", 500, 301), Ok(true));
    }

    #[test]
    fn the_target_comes_from_the_gateway_headers() {
        let mut h = HeaderMap::new();
        h.insert("host", "jwtshield:8080".parse().unwrap());
        let t = Target::forwarded(&h, "GET", "/v1/authz");
        assert_eq!(t.uri, "https://jwtshield:8080/v1/authz");
        h.insert("x-forwarded-method", "POST".parse().unwrap());
        h.insert("x-forwarded-proto", "http".parse().unwrap());
        h.insert("x-forwarded-host", "api.acme.com".parse().unwrap());
        h.insert("x-forwarded-uri", "/orders?x=1".parse().unwrap());
        let t = Target::forwarded(&h, "GET", "/v1/authz");
        assert_eq!(
            (t.method.as_str(), t.uri.as_str()),
            ("POST", "http://api.acme.com/orders?x=1")
        );
        let mut h = HeaderMap::new();
        h.insert("x-original-uri", "https://api.acme.com/a".parse().unwrap());
        h.insert("x-original-method", "DELETE".parse().unwrap());
        let t = Target::forwarded(&h, "GET", "/v1/authz");
        assert_eq!(
            (t.method.as_str(), t.uri.as_str()),
            ("DELETE", "https://api.acme.com/a")
        );
    }
}
