//! RFC 7662 token introspection for profiles with `introspection`: an opaque token is
//! POSTed to the issuer's endpoint (through the SSRF guard, within the fetch timeout,
//! with the client's HTTP Basic credentials read from its secret file at each call) and
//! the answer is kept for at most the profile's `cache_seconds` and, when active, never
//! beyond its `exp`. The cache is keyed by the token's SHA-256 (never the token) and the
//! endpoint and client; failures are never cached. Concurrent requests with the same
//! token that find no answer share one call to the endpoint.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use jwtshield_core::json::JsonObject;
use jwtshield_core::policy::Introspection;
use jwtshield_core::{Introspected, Token};

use crate::fetch::{FetchError, Http};

/// Most answers kept.
pub const MAX_CACHED: usize = 100_000;

type Key = ([u8; 32], u64);

type Flight = Arc<tokio::sync::OnceCell<Introspected>>;

/// The answers of introspection endpoints, by token digest and endpoint, and the calls
/// in flight.
pub struct IntrospectionCache {
    answers: quick_cache::sync::Cache<Key, (Arc<JsonObject>, i64)>,
    in_flight: std::sync::Mutex<std::collections::HashMap<Key, Flight>>,
}

impl Default for IntrospectionCache {
    fn default() -> Self {
        IntrospectionCache {
            answers: quick_cache::sync::Cache::new(MAX_CACHED),
            in_flight: Default::default(),
        }
    }
}

/// Whether `token` is one introspection is for: not a JWT (no dots at all).
pub fn is_opaque(token: &Token<'_>) -> bool {
    token.parts().is_none()
        && token
            .findings()
            .iter()
            .any(|f| f.code == jwtshield_core::Code::TOKEN_OPAQUE)
}

fn key(cfg: &Introspection, token: &Token<'_>) -> Key {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (cfg.endpoint.as_str(), cfg.client_id.as_str()).hash(&mut h);
    (*token.digest(), h.finish())
}

impl IntrospectionCache {
    /// What the endpoint says about `token` now: from the cache, or asked.
    pub async fn introspect(
        &self,
        http: &Http,
        cfg: &Introspection,
        token: &Token<'_>,
        now: i64,
    ) -> Introspected {
        let key = key(cfg, token);
        if let Some((answer, until)) = self.answers.get(&key) {
            if until > now {
                metrics::counter!("jwtshield_introspections_total", "result" => "cached")
                    .increment(1);
                return Introspected::Answer(answer);
            }
            self.answers.remove(&key);
        }
        // one call per token at a time: the others wait for its answer (or failure)
        let flight = {
            let mut map = self
                .in_flight
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            map.entry(key).or_default().clone()
        };
        let result = flight
            .get_or_init(|| async {
                let result = ask(http, cfg, token).await;
                let label = match &result {
                    Introspected::Answer(a)
                        if a.get("active") == Some(&serde_json::Value::Bool(true)) =>
                    {
                        "active"
                    }
                    Introspected::Answer(_) => "inactive",
                    Introspected::Unreachable { .. } => "unreachable",
                    Introspected::Invalid { .. } => "invalid",
                };
                metrics::counter!("jwtshield_introspections_total", "result" => label).increment(1);
                result
            })
            .await
            .clone();
        {
            let mut map = self
                .in_flight
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if map.get(&key).is_some_and(|f| Arc::ptr_eq(f, &flight)) {
                map.remove(&key);
            }
        }
        if let Introspected::Answer(answer) = &result
            && let Some(until) = keep_until(answer, cfg.cache_seconds, now)
        {
            self.answers.insert(key, (answer.clone(), until));
        }
        result
    }
}

/// Until when an answer may be reused: at most `cache_seconds`; an active token's
/// answer never beyond its `exp`. `None`: not at all.
pub fn keep_until(answer: &JsonObject, cache_seconds: u64, now: i64) -> Option<i64> {
    let ceiling = now.checked_add(i64::try_from(cache_seconds).ok()?)?;
    let until = match answer.get("active")? {
        serde_json::Value::Bool(true) => match answer.get("exp") {
            None => ceiling,
            Some(exp) => match exp.as_f64() {
                Some(exp) if exp.is_finite() => ceiling.min(exp.floor() as i64),
                _ => return None, // not a NumericDate: judged afresh each time
            },
        },
        serde_json::Value::Bool(false) => ceiling,
        _ => return None,
    };
    (until > now).then_some(until)
}

async fn ask(http: &Http, cfg: &Introspection, token: &Token<'_>) -> Introspected {
    let url = cfg.endpoint.clone();
    let path = cfg.client_secret_file.clone();
    let read = tokio::task::spawn_blocking(move || std::fs::read_to_string(path))
        .await
        .unwrap_or_else(|_| Err(std::io::Error::other("the read was cancelled")));
    let secret = match read {
        Ok(s) => s.trim_end_matches(['\r', '\n']).to_owned(),
        Err(e) => {
            return Introspected::Unreachable {
                url,
                error: format!(
                    "the client secret file {} cannot be read ({})",
                    cfg.client_secret_file,
                    e.kind()
                ),
            };
        }
    };
    let form = [
        ("token", token.compact()),
        ("token_type_hint", "access_token"),
    ];
    match http
        .post_form(&cfg.endpoint, &form, (&cfg.client_id, &secret))
        .await
    {
        Ok(fetched) => match JsonObject::parse(fetched.body, 32) {
            Ok(answer) => Introspected::Answer(Arc::new(answer)),
            Err(e) => Introspected::Invalid {
                url,
                why: format!("not a JSON object ({e})"),
            },
        },
        Err(FetchError::Refused(r)) => Introspected::Unreachable {
            url,
            error: format!("refused: {r}"),
        },
        Err(e) => Introspected::Unreachable {
            url,
            error: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: serde_json::Value) -> JsonObject {
        JsonObject::parse(v.to_string().into_bytes(), 8).unwrap()
    }

    #[test]
    fn answers_are_kept_no_longer_than_exp_and_the_ceiling() {
        let now = 1_000;
        let active = |exp: serde_json::Value| obj(serde_json::json!({"active": true, "exp": exp}));
        assert_eq!(keep_until(&active(2_000.into()), 60, now), Some(1_060));
        assert_eq!(keep_until(&active(1_010.into()), 60, now), Some(1_010));
        assert_eq!(
            keep_until(&active(999.into()), 60, now),
            None,
            "already expired"
        );
        assert_eq!(
            keep_until(&obj(serde_json::json!({"active": true})), 60, now),
            Some(1_060)
        );
        assert_eq!(
            keep_until(&obj(serde_json::json!({"active": false})), 60, now),
            Some(1_060)
        );
        assert_eq!(keep_until(&active(2_000.into()), 0, now), None, "cache off");
        assert_eq!(
            keep_until(&obj(serde_json::json!({"active": "yes"})), 60, now),
            None
        );
        assert_eq!(keep_until(&active("soon".into()), 60, now), None);
    }
}
