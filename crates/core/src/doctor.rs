//! The issuer doctor: what a careful operator checks of an issuer before trusting its
//! tokens. The discovery document says the issuer exactly as its tokens will (trailing
//! slash included) and where the keys are; the key set is reachable over https, says how
//! long it may be cached, and holds keys that can verify the algorithms the profile
//! allows, each with a distinct `kid`, of a safe size.
//!
//! Pure like the rest of the core: the caller fetches ([`discovery_url`], then
//! [`jwks_uri_of`] tells where the key set is) and hands the answers to [`diagnose`].
//! The service's `POST /v1/issuers/check`, the console's doctor and `jwtshield check`
//! all print this report.

use serde::Serialize;
use serde_json::{Value, json};

use crate::alg::Alg;
use crate::keys::{KeyOrigin, KeySet, KeySummary, RejectedKey};

/// A key set that may be cached longer than this is a rotation that takes too long to
/// reach its verifiers.
pub const LONG_MAX_AGE: u64 = 24 * 3600;

/// One HTTP answer, as the doctor needs it.
#[derive(Clone, Debug)]
pub struct Fetch {
    /// The URL asked.
    pub url: String,
    /// The answer.
    pub outcome: Result<Answer, FetchFailure>,
}

/// A 2xx answer.
#[derive(Clone, Debug)]
pub struct Answer {
    /// The body.
    pub body: Vec<u8>,
    /// The `Cache-Control` header as sent, when sent.
    pub cache_control: Option<String>,
}

/// Why a fetch produced no document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchFailure {
    /// HTTP 404.
    NotFound,
    /// The SSRF guard (or the https-only rule) refused it; nothing was sent.
    Refused(String),
    /// Network error, timeout, another status, a body over the limit.
    Failed(String),
}

impl std::fmt::Display for FetchFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchFailure::NotFound => f.write_str("HTTP 404 Not Found"),
            FetchFailure::Refused(r) => write!(f, "refused: {r}"),
            FetchFailure::Failed(r) => f.write_str(r),
        }
    }
}

/// What was observed of one issuer.
#[derive(Clone, Debug)]
pub struct Observation {
    /// The issuer as the operator gave it (a profile's `issuer`, or typed).
    pub issuer: String,
    /// The algorithms the profile allows, when a profile was named.
    pub allowed_algs: Option<Vec<Alg>>,
    /// The discovery document's fetch.
    pub discovery: Fetch,
    /// The key set's fetch, when a key-set URL was found.
    pub jwks: Option<Fetch>,
}

/// The overall answer: `jwtshield check` exits 0, 1 or 2 for these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Nothing of severity `error`.
    Healthy,
    /// At least one `error`.
    Problems,
    /// The discovery document or the key set could not be fetched at all.
    Unreachable,
}

/// How serious a doctor's finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Worth knowing.
    Info,
    /// Works, but fragile or unusual.
    Warning,
    /// Tokens will be refused, or should be.
    Error,
}

/// One thing the doctor found.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DoctorFinding {
    /// Stable UPPER_SNAKE name.
    pub code: &'static str,
    /// How serious.
    pub severity: Level,
    /// What is wrong and what to do, in plain words.
    pub message: String,
    /// The values behind it (`expected`/`actual`, URLs, key ids).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub evidence: Value,
}

/// The doctor's report.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DoctorReport {
    /// The issuer examined, as given.
    pub issuer: String,
    /// `healthy`, `problems` or `unreachable`.
    pub verdict: Verdict,
    /// The discovery document's URL.
    pub discovery_url: String,
    /// `issuer` in the discovery document.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discovery_issuer: Option<String>,
    /// The key-set URL used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// The key set's `Cache-Control` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<String>,
    /// The usable keys: id, type, algorithm, curve or size, use.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub keys: Vec<KeySummary>,
    /// Keys refused, with the reason.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub skipped_keys: Vec<RejectedKey>,
    /// Algorithms some key of the set can verify.
    pub algorithms_offered: Vec<&'static str>,
    /// The profile's allowlist, when a profile was named.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub algorithms_allowed: Option<Vec<&'static str>>,
    /// Every finding, errors first.
    pub problems: Vec<DoctorFinding>,
}

pub use crate::wellknown::discovery_url;
use crate::wellknown::{JWKS_PATH, join};

/// Where the key set is, from the discovery answer: its `jwks_uri`, or Auth0's
/// `/.well-known/jwks.json` when there is no discovery document or it names none (as
/// the service looks keys up). `None` when discovery could not be fetched at all.
pub fn jwks_uri_of(issuer: &str, discovery: &Fetch) -> Option<String> {
    match &discovery.outcome {
        Ok(a) => match serde_json::from_slice::<Value>(&a.body) {
            Ok(Value::Object(doc)) => match doc.get("jwks_uri") {
                Some(Value::String(u)) if !u.is_empty() => Some(u.clone()),
                _ => Some(join(issuer, JWKS_PATH)),
            },
            _ => None,
        },
        Err(FetchFailure::NotFound) => Some(join(issuer, JWKS_PATH)),
        Err(_) => None,
    }
}

struct Findings(Vec<DoctorFinding>);

impl Findings {
    fn push(&mut self, code: &'static str, severity: Level, message: String, evidence: Value) {
        self.0.push(DoctorFinding {
            code,
            severity,
            message,
            evidence,
        });
    }
}

/// Everything the doctor concludes from an observation.
pub fn diagnose(obs: &Observation) -> DoctorReport {
    let mut f = Findings(Vec::new());
    let mut report = DoctorReport {
        issuer: obs.issuer.clone(),
        verdict: Verdict::Healthy,
        discovery_url: obs.discovery.url.clone(),
        discovery_issuer: None,
        jwks_uri: obs.jwks.as_ref().map(|j| j.url.clone()),
        cache_control: None,
        keys: Vec::new(),
        skipped_keys: Vec::new(),
        algorithms_offered: Vec::new(),
        algorithms_allowed: obs
            .allowed_algs
            .as_ref()
            .map(|a| a.iter().map(|a| a.as_str()).collect()),
        problems: Vec::new(),
    };
    let mut unreachable = false;
    discovery(obs, &mut f, &mut report, &mut unreachable);
    if let Some(jwks) = &obs.jwks {
        key_set(obs, jwks, &mut f, &mut report, &mut unreachable);
    }
    f.0.sort_by_key(|p| std::cmp::Reverse(p.severity));
    report.verdict = if unreachable {
        Verdict::Unreachable
    } else if f.0.iter().any(|p| p.severity == Level::Error) {
        Verdict::Problems
    } else {
        Verdict::Healthy
    };
    report.problems = f.0;
    report
}

fn discovery(obs: &Observation, f: &mut Findings, report: &mut DoctorReport, down: &mut bool) {
    let url = &obs.discovery.url;
    if !obs.issuer.starts_with("https://") {
        f.push(
            "ISSUER_NOT_HTTPS",
            Level::Error,
            "the issuer is not an https URL: OpenID Connect issuers are https URLs, and keys found through an http one can be swapped on the way".into(),
            json!({"actual": obs.issuer}),
        );
    }
    let answer = match &obs.discovery.outcome {
        Ok(a) => a,
        Err(FetchFailure::NotFound) => {
            f.push(
                "DISCOVERY_NOT_FOUND",
                Level::Warning,
                "no OpenID discovery document (HTTP 404); the keys are looked for at /.well-known/jwks.json under the issuer, Auth0's layout".into(),
                json!({"url": url}),
            );
            return;
        }
        Err(FetchFailure::Refused(r)) => {
            f.push(
                "DISCOVERY_REFUSED",
                Level::Error,
                format!("the discovery document was not fetched: {r}"),
                json!({"url": url, "error": r}),
            );
            return;
        }
        Err(FetchFailure::Failed(e)) => {
            *down = true;
            f.push(
                "DISCOVERY_UNREACHABLE",
                Level::Error,
                format!("the discovery document could not be fetched: {e}"),
                json!({"url": url, "error": e}),
            );
            return;
        }
    };
    let doc = match serde_json::from_slice::<Value>(&answer.body) {
        Ok(Value::Object(doc)) => doc,
        Ok(other) => {
            f.push(
                "DISCOVERY_INVALID",
                Level::Error,
                format!(
                    "the discovery document is {}, not a JSON object",
                    crate::json::kind_of(&other)
                ),
                json!({"url": url}),
            );
            return;
        }
        Err(e) => {
            f.push(
                "DISCOVERY_INVALID",
                Level::Error,
                format!("the discovery document is not JSON: {e}"),
                json!({"url": url}),
            );
            return;
        }
    };
    match doc.get("issuer") {
        Some(Value::String(iss)) => {
            report.discovery_issuer = Some(iss.clone());
            if *iss != obs.issuer {
                let hint = crate::diagnostics::issuer_hints(std::slice::from_ref(iss), &obs.issuer)
                    .into_iter()
                    .next()
                    .map(|h| format!(" {}.", h.message.trim_end_matches('.')))
                    .unwrap_or_default();
                f.push(
                    "ISSUER_MISMATCH",
                    Level::Error,
                    format!(
                        "the discovery document says the issuer is \"{iss}\", not \"{}\": tokens carry `iss` exactly as the document says, so a policy with the other spelling refuses every one of them.{hint} Use \"{iss}\"",
                        obs.issuer
                    ),
                    json!({"expected": obs.issuer, "actual": iss}),
                );
            }
        }
        _ => f.push(
            "DISCOVERY_INVALID",
            Level::Error,
            "the discovery document has no `issuer` string (OpenID Connect Discovery §3 requires it)".into(),
            json!({"url": url}),
        ),
    }
    match doc.get("jwks_uri") {
        Some(Value::String(u)) if !u.is_empty() => {}
        _ => f.push(
            "JWKS_URI_MISSING",
            Level::Warning,
            "the discovery document names no `jwks_uri`; the keys are looked for at /.well-known/jwks.json under the issuer".into(),
            json!({"url": url}),
        ),
    }
}

fn key_set(
    obs: &Observation,
    jwks: &Fetch,
    f: &mut Findings,
    report: &mut DoctorReport,
    down: &mut bool,
) {
    let url = &jwks.url;
    if !url.starts_with("https://") {
        f.push(
            "JWKS_URI_NOT_HTTPS",
            Level::Error,
            "the key set is not served over https: whoever sits on the path can replace the keys and sign any token. Publish it at an https URL".into(),
            json!({"actual": url}),
        );
    }
    let answer = match &jwks.outcome {
        Ok(a) => a,
        Err(FetchFailure::Refused(r)) => {
            f.push(
                "JWKS_REFUSED",
                Level::Error,
                format!("the key set was not fetched: {r}"),
                json!({"url": url, "error": r}),
            );
            return;
        }
        Err(e) => {
            *down = true;
            f.push(
                "JWKS_UNREACHABLE",
                Level::Error,
                format!("the key set could not be fetched: {e}"),
                json!({"url": url, "error": e.to_string()}),
            );
            return;
        }
    };
    cache_control(answer.cache_control.as_deref(), url, f);
    report.cache_control = answer.cache_control.clone();
    let json = match serde_json::from_slice::<Value>(&answer.body) {
        Ok(v) => v,
        Err(e) => {
            f.push(
                "JWKS_INVALID",
                Level::Error,
                format!("the key set is not JSON: {e}"),
                json!({"url": url}),
            );
            return;
        }
    };
    let set = match KeySet::from_jwks(&json, KeyOrigin::RemoteJwks, false) {
        Ok(set) => set,
        Err(e) => {
            f.push(
                "JWKS_INVALID",
                Level::Error,
                format!("the key set cannot be read: {e}"),
                json!({"url": url}),
            );
            return;
        }
    };
    report.keys = set.summaries();
    report.skipped_keys = set.rejected().to_vec();
    keys(&json, &set, f);
    algorithms(obs, &set, f, report);
}

fn cache_control(header: Option<&str>, url: &str, f: &mut Findings) {
    let Some(h) = header else {
        f.push(
            "CACHE_CONTROL_MISSING",
            Level::Warning,
            "the key set has no Cache-Control header: verifiers guess how long to keep it (JWTShield: 10 minutes). Send `Cache-Control: public, max-age=...` so that a rotation reaches them in a known time".into(),
            json!({"url": url}),
        );
        return;
    };
    // read as the key cache reads it; max-age is what every cache obeys (s-maxage
    // only shared ones)
    let directives = crate::cache_control::Directives::parse([h]);
    if directives.no_cache {
        f.push(
            "CACHE_CONTROL_NO_CACHE",
            Level::Warning,
            format!("the key set says `{h}`: a verifier that obeys fetches it for every token, and an outage of the issuer then refuses every token at once"),
            json!({"actual": h}),
        );
        return;
    }
    let max_age = directives.max_age;
    match max_age {
        None => f.push(
            "CACHE_CONTROL_MISSING",
            Level::Warning,
            format!("the key set's Cache-Control (`{h}`) has no max-age: verifiers guess how long to keep it"),
            json!({"actual": h}),
        ),
        Some(s) if s > LONG_MAX_AGE => f.push(
            "CACHE_CONTROL_LONG",
            Level::Warning,
            format!("the key set may be cached for {s} s (over a day): a verifier that obeys sees a new key that late, and keeps a revoked one as long. JWTShield caps it at 24 h"),
            json!({"actual": h, "max_age_seconds": s}),
        ),
        Some(_) => {}
    }
}

fn keys(json: &Value, set: &KeySet, f: &mut Findings) {
    let raw: &[Value] = match json.get("keys") {
        Some(Value::Array(a)) => a,
        _ => &[],
    };
    let mut kids: Vec<&str> = raw
        .iter()
        .filter_map(|k| k.get("kid").and_then(Value::as_str))
        .collect();
    kids.sort_unstable();
    let mut duplicated: Vec<&str> = kids
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0])
        .collect();
    duplicated.dedup();
    for kid in &duplicated {
        let n = kids.iter().filter(|k| *k == kid).count();
        f.push(
            "DUPLICATE_KID",
            Level::Error,
            format!("{n} keys share the kid \"{kid}\": a token naming it cannot be matched to one key, so tokens signed with it are refused. Give every key its own kid"),
            json!({"kid": kid, "count": n}),
        );
    }
    let without_kid = raw.iter().filter(|k| k.get("kid").is_none()).count();
    if without_kid > 0 {
        f.push(
            "KID_MISSING",
            Level::Warning,
            format!("{without_kid} key(s) have no kid: a verifier cannot pick the key by the token's kid and must try each, and a rotation cannot be told apart"),
            json!({"count": without_kid}),
        );
    }
    for r in set.rejected() {
        if r.kid.as_deref().is_some_and(|k| duplicated.contains(&k)) {
            continue;
        }
        let unsupported = r.reason.starts_with("unsupported");
        f.push(
            "KEY_REJECTED",
            if unsupported {
                Level::Warning
            } else {
                Level::Error
            },
            format!(
                "key {}: {}",
                r.kid
                    .as_deref()
                    .map_or("(no kid)".to_owned(), |k| format!("\"{k}\"")),
                r.reason
            ),
            json!({"kid": r.kid, "kty": r.kty, "reason": r.reason}),
        );
    }
    let summaries = set.summaries();
    let no_use: Vec<String> = summaries
        .iter()
        .filter(|k| k.use_.is_none())
        .map(|k| k.kid.clone().unwrap_or_else(|| "(no kid)".into()))
        .collect();
    if !no_use.is_empty() {
        f.push(
            "KEY_USE_MISSING",
            Level::Info,
            format!("key(s) {} do not say `use: sig`: nothing stops them from being used to encrypt as well", no_use.join(", ")),
            json!({"kids": no_use}),
        );
    }
    let no_alg: Vec<String> = summaries
        .iter()
        .filter(|k| k.alg.is_none())
        .map(|k| k.kid.clone().unwrap_or_else(|| "(no kid)".into()))
        .collect();
    if !no_alg.is_empty() {
        f.push(
            "KEY_ALG_MISSING",
            Level::Info,
            format!("key(s) {} do not pin an `alg`: each verifies every algorithm of its family, so the policy's allowlist is the only limit", no_alg.join(", ")),
            json!({"kids": no_alg}),
        );
    }
    if set.keys().is_empty() {
        f.push(
            "NO_USABLE_KEYS",
            Level::Error,
            "the key set holds no usable public key: every token is refused".into(),
            json!({"skipped": set.rejected().len()}),
        );
    }
}

fn algorithms(obs: &Observation, set: &KeySet, f: &mut Findings, report: &mut DoctorReport) {
    let offered: Vec<Alg> = Alg::ALL
        .into_iter()
        .filter(|a| set.keys().iter().any(|k| k.can_verify(*a)))
        .collect();
    report.algorithms_offered = offered.iter().map(|a| a.as_str()).collect();
    let Some(allowed) = &obs.allowed_algs else {
        return;
    };
    if set.keys().is_empty() {
        return;
    }
    let usable: Vec<&str> = allowed
        .iter()
        .filter(|a| offered.contains(a))
        .map(|a| a.as_str())
        .collect();
    if usable.is_empty() {
        f.push(
            "ALGORITHMS_NOT_OFFERED",
            Level::Error,
            format!(
                "no key of the set can verify an algorithm the profile allows ({}); the keys verify {}. Every token is refused: allow the issuer's algorithm",
                names(allowed),
                report.algorithms_offered.join(", ")
            ),
            json!({"expected": names(allowed), "actual": report.algorithms_offered}),
        );
    }
}

fn names(algs: &[Alg]) -> String {
    algs.iter()
        .map(|a| a.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA_N: &str = "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw";

    fn rsa(kid: &str) -> Value {
        json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": RSA_N, "e": "AQAB"})
    }

    fn ok(url: &str, body: Value, cache: Option<&str>) -> Fetch {
        Fetch {
            url: url.into(),
            outcome: Ok(Answer {
                body: serde_json::to_vec(&body).unwrap(),
                cache_control: cache.map(str::to_owned),
            }),
        }
    }

    fn observe(issuer: &str, doc_issuer: &str, jwks_uri: &str, jwks: Value) -> Observation {
        let discovery = ok(
            &discovery_url(issuer),
            json!({"issuer": doc_issuer, "jwks_uri": jwks_uri}),
            None,
        );
        assert_eq!(jwks_uri_of(issuer, &discovery).as_deref(), Some(jwks_uri));
        Observation {
            issuer: issuer.into(),
            allowed_algs: Some(vec![Alg::RS256]),
            discovery,
            jwks: Some(ok(jwks_uri, jwks, Some("public, max-age=600"))),
        }
    }

    fn codes(r: &DoctorReport) -> Vec<&'static str> {
        r.problems.iter().map(|p| p.code).collect()
    }

    const ISS: &str = "https://acme.example/";
    const JWKS: &str = "https://acme.example/.well-known/jwks.json";

    #[test]
    fn a_healthy_issuer() {
        let r = diagnose(&observe(ISS, ISS, JWKS, json!({"keys": [rsa("a")]})));
        assert_eq!(r.verdict, Verdict::Healthy, "{:?}", r.problems);
        assert!(codes(&r).is_empty(), "{:?}", r.problems);
        assert_eq!(r.algorithms_offered, ["RS256"]);
        assert_eq!(r.keys[0].bits, Some(2048));
        assert_eq!(
            r.discovery_url,
            "https://acme.example/.well-known/openid-configuration"
        );
    }

    #[test]
    fn a_missing_trailing_slash_is_named() {
        let r = diagnose(&observe(
            "https://acme.example",
            ISS,
            JWKS,
            json!({"keys": [rsa("a")]}),
        ));
        assert_eq!(r.verdict, Verdict::Problems);
        assert_eq!(codes(&r), ["ISSUER_MISMATCH"]);
        assert!(
            r.problems[0].message.contains("trailing slash"),
            "{}",
            r.problems[0].message
        );
        assert_eq!(r.problems[0].evidence["actual"], ISS);
    }

    #[test]
    fn http_key_set_duplicate_kids_and_algorithms() {
        let mut obs = observe(
            ISS,
            ISS,
            "http://acme.example/jwks",
            json!({"keys": [rsa("a"), rsa("a"), {"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}),
        );
        obs.allowed_algs = Some(vec![Alg::PS512]);
        let r = diagnose(&obs);
        let c = codes(&r);
        assert_eq!(r.verdict, Verdict::Problems);
        for want in [
            "JWKS_URI_NOT_HTTPS",
            "DUPLICATE_KID",
            "KID_MISSING",
            "KEY_USE_MISSING",
            "KEY_ALG_MISSING",
        ] {
            assert!(c.contains(&want), "{want} in {c:?}");
        }
        // the EC key is the only usable one and offers ES256, not the profile's PS512
        assert!(c.contains(&"ALGORITHMS_NOT_OFFERED"), "{c:?}");
        assert_eq!(r.algorithms_offered, ["ES256"]);
        assert_eq!(c.iter().filter(|c| **c == "DUPLICATE_KID").count(), 1);
        assert!(
            !c.contains(&"KEY_REJECTED"),
            "duplicates are reported once: {c:?}"
        );
    }

    #[test]
    fn a_weak_key_and_cache_control() {
        // a 1024-bit modulus (the top bit set)
        let n = crate::b64::encode([0xc5u8; 128]);
        let mut obs = observe(
            ISS,
            ISS,
            JWKS,
            json!({"keys": [{"kty": "RSA", "kid": "weak", "n": n, "e": "AQAB"}]}),
        );
        if let Some(j) = obs.jwks.as_mut()
            && let Ok(a) = j.outcome.as_mut()
        {
            a.cache_control = Some("no-store".into());
        }
        let r = diagnose(&obs);
        let c = codes(&r);
        assert!(
            c.contains(&"KEY_REJECTED") && c.contains(&"NO_USABLE_KEYS"),
            "{c:?}"
        );
        assert!(c.contains(&"CACHE_CONTROL_NO_CACHE"), "{c:?}");
        let weak = r
            .problems
            .iter()
            .find(|p| p.code == "KEY_REJECTED")
            .unwrap();
        assert!(weak.message.contains("1024 bits"), "{}", weak.message);
        assert_eq!(r.problems[0].severity, Level::Error, "errors first");
    }

    #[test]
    fn unreachable_and_not_found() {
        let issuer = ISS;
        let down = Fetch {
            url: discovery_url(issuer),
            outcome: Err(FetchFailure::Failed("connection refused".into())),
        };
        assert_eq!(jwks_uri_of(issuer, &down), None);
        let r = diagnose(&Observation {
            issuer: issuer.into(),
            allowed_algs: None,
            discovery: down,
            jwks: None,
        });
        assert_eq!(r.verdict, Verdict::Unreachable);
        assert_eq!(codes(&r), ["DISCOVERY_UNREACHABLE"]);

        let missing = Fetch {
            url: discovery_url(issuer),
            outcome: Err(FetchFailure::NotFound),
        };
        assert_eq!(jwks_uri_of(issuer, &missing).as_deref(), Some(JWKS));
        let r = diagnose(&Observation {
            issuer: issuer.into(),
            allowed_algs: None,
            discovery: missing,
            jwks: Some(ok(JWKS, json!({"keys": [rsa("a")]}), Some("max-age=86401"))),
        });
        assert_eq!(r.verdict, Verdict::Healthy);
        assert_eq!(codes(&r), ["DISCOVERY_NOT_FOUND", "CACHE_CONTROL_LONG"]);
    }
}
