//! # jwtshield-middleware
//!
//! Protect an axum (or any tower) service with JWTShield: [`JwtAuth`] validates the
//! `Authorization: Bearer` token against a [`Policy`] with the same core and key sets
//! as the service, answers failures exactly like `GET /v1/authz` (RFC 6750 statuses and
//! `WWW-Authenticate` challenges), and hands handlers the verified claims through the
//! [`Auth`] extractor. [`require_scopes`], [`claim_equals`] and [`claim_includes`]
//! are per-route checks in the spirit of Auth0's `express-oauth2-jwt-bearer`.
//! DPoP-bound tokens (RFC 9449, `Authorization: DPoP` with a `DPoP` proof) are checked
//! as the service does, against the request's own method and URI
//! ([`JwtAuth::dpop_origin`]) and a [`ReplayCache`] of spent proofs.
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use jwtshield_middleware::{Auth, JwtAuth, require_scopes};
//!
//! # async fn demo() {
//! let auth = JwtAuth::new(serde_json::json!({
//!     "issuer": "https://acme.auth0.com/",
//!     "audiences": ["https://api.acme.com/"]
//! })).unwrap();
//! let app: Router = Router::new()
//!     .route("/api/admin", get(|Auth(t): Auth| async move { format!("hello {}", t.subject().unwrap_or("")) })
//!         .layer(require_scopes(&["admin:read"])))
//!     .route("/api/private", get(|Auth(t): Auth| async move { t.subject().unwrap_or("").to_owned() }))
//!     .layer(auth.layer());
//! # }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jwtshield_core::gateway::{self, Decision};
use jwtshield_core::ratelimit::{RateLimit, Verdict};
use jwtshield_core::{CompiledPolicy, Limits, Policy, PolicyError, Report, Token, Verified};
use jwtshield_jwks::KeySets;
use serde_json::Value;
use tower::{Layer, Service};

pub mod dpop;
pub use dpop::{LocalReplayCache, ReplayCache, Target};
pub use jwtshield_core::dpop::Scheme;

pub use jwtshield_core::Verified as VerifiedToken;

/// The outcome of checking a request's bearer token.
pub struct Outcome<'h> {
    /// What to answer: status 200 lets the request pass.
    pub decision: Decision,
    /// The verified token, exactly when the decision is 200.
    pub verified: Option<Verified>,
    /// The token and its report, when a token was validated (for logs and metrics).
    pub checked: Option<(Token<'h>, Report)>,
}

impl Outcome<'_> {
    fn denied(decision: Decision) -> Self {
        Outcome {
            decision,
            verified: None,
            checked: None,
        }
    }
}

/// The token of `headers` and the scheme it came with: exactly one `Authorization`
/// header of visible ASCII with well-formed `Bearer` (RFC 6750) or `DPoP` (RFC 9449)
/// credentials; `Decision::no_token()` when there is none.
pub fn credentials(headers: &HeaderMap) -> Result<(Scheme, &str), Decision> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(Decision::invalid_request(
            "more than one Authorization header",
        ));
    }
    let value = match first.map(|v| v.to_str()) {
        None => None,
        Some(Ok(v)) => Some(v),
        Some(Err(_)) => {
            return Err(Decision::invalid_request(
                "the Authorization header is not visible ASCII",
            ));
        }
    };
    match gateway::credentials(value)? {
        Some(c) => Ok(c),
        None => Err(Decision::no_token()),
    }
}

/// What checking one request needs besides its headers: the policy and its key sets,
/// scopes required on top of the policy's, the replay cache of DPoP proofs, and the
/// request a DPoP proof must name.
pub struct Call<'c> {
    /// The policy.
    pub policy: &'c CompiledPolicy,
    /// Where its keys come from.
    pub keysets: &'c KeySets,
    /// Scopes required on top of the policy's.
    pub extra_scopes: &'c [String],
    /// Remembers accepted DPoP proofs.
    pub replay: &'c dyn ReplayCache,
    /// The method and absolute URI of the client's request (worked out only for a
    /// request that involves DPoP).
    pub target: &'c (dyn Fn() -> Target + Send + Sync),
}

/// Checks the token of `headers` against the policy: the shared logic of the
/// middleware and the service's `/v1/authz`. The token is parsed once under `limits`;
/// the verified-signature cache of the key sets is consulted.
pub async fn authorize<'h>(
    headers: &'h HeaderMap,
    call: &Call<'_>,
    limits: &Limits,
) -> Outcome<'h> {
    match credentials(headers) {
        Ok((scheme, raw)) => {
            authorize_token(scheme, Token::parse(raw, limits), headers, call).await
        }
        Err(d) if d.status == 401 && call.policy.dpop().required => Outcome::denied(
            d.with_dpop_challenge(&jwtshield_core::dpop::challenge_algs(call.policy)),
        ),
        Err(d) => Outcome::denied(d),
    }
}

/// [`authorize`] for a token already parsed (the service parses it once to choose the
/// profile by its issuer). After the token's own checks comes DPoP (RFC 9449): a bound
/// token (`cnf.jkt`), a DPoP-scheme request or a profile that requires DPoP needs a
/// valid proof in the `DPoP` header for `call.target`, and its `jti` must be new to
/// `call.replay`.
pub async fn authorize_token<'h>(
    scheme: Scheme,
    token: Token<'h>,
    headers: &HeaderMap,
    call: &Call<'_>,
) -> Outcome<'h> {
    let policy = call.policy;
    let now = jwtshield_jwks::unix_now();
    let mut report = call.keysets.validate(policy, &token, now).await;
    let proof = dpop::proof_header(headers);
    let challenge = scheme == Scheme::DPoP
        || policy.dpop().required
        || report
            .claims()
            .is_some_and(|c| jwtshield_core::dpop::bound_jkt(c).is_some());
    // the request's method and URI are worked out only when DPoP is in play
    let accepted = if challenge || proof != jwtshield_core::dpop::Proof::Absent {
        let target = (call.target)();
        if let Some(why) = &target.conflict {
            let algs = jwtshield_core::dpop::challenge_algs(policy);
            return Outcome {
                decision: Decision::invalid_request(why).with_dpop_challenge(&algs),
                verified: None,
                checked: Some((token, report)),
            };
        }
        let presented = jwtshield_core::dpop::Presented {
            proof,
            scheme: Some(scheme),
            method: &target.method,
            uri: &target.uri,
        };
        jwtshield_core::dpop::check(&mut report, token.compact(), policy, &presented, now)
    } else {
        None
    };
    if let Some(acc) = &accepted
        && report.valid()
    {
        match call.replay.first_use(&acc.replay_key(), acc.until).await {
            Ok(true) => {}
            Ok(false) => jwtshield_core::dpop::replayed(&mut report, acc),
            Err(e) => {
                tracing::warn!(target: "jwtshield::dpop", error = %e, "the DPoP replay cache cannot answer");
                return Outcome {
                    decision: Decision::unavailable("the DPoP replay cache cannot answer"),
                    verified: None,
                    checked: Some((token, report)),
                };
            }
        }
    }
    let mut decision =
        gateway::decide(&report, &policy.policy().required_scopes, call.extra_scopes);
    let verified = if decision.status == 200 {
        let v = report.verified();
        if v.is_none() {
            decision = Decision::invalid_token("the token is not valid");
        }
        v
    } else {
        None
    };
    if challenge {
        decision = decision.with_dpop_challenge(&jwtshield_core::dpop::challenge_algs(policy));
    }
    Outcome {
        decision,
        verified,
        checked: Some((token, report)),
    }
}

/// The HTTP answer for a refusal: status, `WWW-Authenticate` challenge, a small JSON
/// body with the same `error` and `error_description` (never the findings: a client
/// learns no more than RFC 6750 tells it).
pub fn deny_response(decision: &Decision, realm: &str) -> Response {
    let status = StatusCode::from_u16(decision.status).unwrap_or(StatusCode::UNAUTHORIZED);
    let body = serde_json::json!({
        "error": decision.error.map(|e| e.as_str()).unwrap_or(if decision.status == 503 { "temporarily_unavailable" } else { "unauthorized" }),
        "error_description": decision.description,
    });
    let mut res = (status, axum::Json(body)).into_response();
    let h = res.headers_mut();
    if let Some(challenge) = decision.www_authenticate(realm)
        && let Ok(v) = HeaderValue::from_str(&challenge)
    {
        h.insert(header::WWW_AUTHENTICATE, v);
    }
    if decision.status == 503 {
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

struct Inner {
    policy: CompiledPolicy,
    keysets: KeySets,
    realm: String,
    limits: Limits,
    /// The policy's `rate_limit`, per caller (this process only).
    rates: LocalRates,
    /// DPoP proofs already used.
    replay: Arc<dyn ReplayCache>,
    /// The public origin DPoP proofs name (`https://api.example.com`).
    origin: Option<String>,
}

/// Per-caller rate limits held by this process: the GCRA state (theoretical arrival
/// time) by caller key, pruned of idle callers past 100,000 entries. The middleware's
/// limit, and the service's without Redis.
#[derive(Debug, Default)]
pub struct LocalRates(std::sync::Mutex<std::collections::HashMap<String, f64>>);

impl LocalRates {
    /// One request of `caller` under `limit`, now.
    pub fn take(&self, caller: &str, limit: &RateLimit) -> Verdict {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let mut rates = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if rates.len() > 100_000 {
            rates.retain(|_, tat| *tat > now);
        }
        let tat = rates.get(caller).copied().unwrap_or(0.0);
        let (v, new_tat) = jwtshield_core::ratelimit::take(tat, now, 1, limit);
        if v.allowed {
            rates.insert(caller.to_owned(), new_tat);
        }
        v
    }
}

/// The caller a `rate_limit` counts: the claim named by `key` (its text; a missing claim
/// is one shared caller, so leaving it out gains nothing), or for `ip` the client
/// address a gateway forwarded (`X-Forwarded-For`, first entry, else `X-Real-IP`).
pub fn caller_key(limit: &RateLimit, verified: &Verified, headers: &HeaderMap) -> String {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
    };
    if limit.key == "ip" {
        return header("x-forwarded-for")
            .and_then(|v| v.split(',').next())
            .or_else(|| header("x-real-ip"))
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| "<no client address>".into());
    }
    match verified.claims().get(&limit.key) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => format!("<no {}>", limit.key),
    }
}

/// `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (Unix time, as
/// Auth0's APIs send it), and `Retry-After` when refused.
pub fn rate_limit_headers(res: &mut Response, v: &Verdict) {
    let reset = (jwtshield_jwks::unix_now() as f64 + v.reset).ceil() as i64;
    let h = res.headers_mut();
    for (name, value) in [
        ("x-ratelimit-limit", v.limit.to_string()),
        ("x-ratelimit-remaining", v.remaining.to_string()),
        ("x-ratelimit-reset", reset.to_string()),
    ] {
        if let Ok(val) = HeaderValue::from_str(&value) {
            h.insert(axum::http::HeaderName::from_static(name), val);
        }
    }
    if !v.allowed {
        let secs = v.retry_after.ceil().max(1.0) as u64;
        if let Ok(val) = HeaderValue::from_str(&secs.to_string()) {
            h.insert(header::RETRY_AFTER, val);
        }
    }
}

/// The 429 answer past a rate limit (headers from [`rate_limit_headers`]).
pub fn rate_limited_response(v: &Verdict, description: String) -> Response {
    let mut res = (
        StatusCode::TOO_MANY_REQUESTS,
        axum::Json(serde_json::json!({"error": "rate_limited", "error_description": description})),
    )
        .into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    rate_limit_headers(&mut res, v);
    res
}

/// Bearer-token protection for a service. Cheap to clone.
#[derive(Clone)]
pub struct JwtAuth {
    inner: Arc<Inner>,
}

impl JwtAuth {
    /// From a policy in JSON (the contract's Policy), with key sets fetched as the
    /// service fetches them (SSRF guard on). Needs a Tokio runtime when used.
    pub fn new(policy: Value) -> Result<JwtAuth, PolicyError> {
        let policy = Policy::from_json(&policy)?.compile()?;
        let keysets = KeySets::new(jwtshield_jwks::Config::default()).map_err(|e| PolicyError {
            field: String::new(),
            message: e,
        })?;
        Ok(JwtAuth::with_key_sets(policy, keysets))
    }

    /// From a compiled policy and a shared key-set cache (for several policies, or a
    /// tuned [`jwtshield_jwks::Config`]).
    pub fn with_key_sets(policy: CompiledPolicy, keysets: KeySets) -> JwtAuth {
        JwtAuth {
            inner: Arc::new(Inner {
                policy,
                keysets,
                realm: "jwtshield".to_owned(),
                limits: Limits::default(),
                rates: Default::default(),
                replay: Arc::new(LocalReplayCache::default()),
                origin: None,
            }),
        }
    }

    /// The realm in `WWW-Authenticate` challenges. Defaults to `jwtshield`.
    pub fn realm(self, realm: &str) -> JwtAuth {
        self.with(|i| i.realm = realm.to_owned())
    }

    /// The public origin of the protected API (`https://api.example.com`): DPoP proofs
    /// must name it in `htu`. Without it, the request's `Host` header (over `http`,
    /// unless the request line is absolute) is used, as express-oauth2-jwt-bearer does;
    /// behind a TLS-terminating proxy, set it.
    pub fn dpop_origin(self, origin: &str) -> JwtAuth {
        self.with(|i| i.origin = Some(origin.trim_end_matches('/').to_owned()))
    }

    /// The replay cache of DPoP proofs (default: [`LocalReplayCache`], this process
    /// only). Several replicas behind one load balancer need a shared one.
    pub fn replay_cache(self, cache: Arc<dyn ReplayCache>) -> JwtAuth {
        self.with(|i| i.replay = cache)
    }

    fn with(self, f: impl FnOnce(&mut Inner)) -> JwtAuth {
        let mut inner = Arc::try_unwrap(self.inner).unwrap_or_else(|a| Inner {
            policy: a.policy.clone(),
            keysets: a.keysets.clone(),
            realm: a.realm.clone(),
            limits: a.limits,
            rates: Default::default(),
            replay: a.replay.clone(),
            origin: a.origin.clone(),
        });
        f(&mut inner);
        JwtAuth {
            inner: Arc::new(inner),
        }
    }

    /// The policy.
    pub fn policy(&self) -> &CompiledPolicy {
        &self.inner.policy
    }

    /// The key-set cache (for status pages).
    pub fn key_sets(&self) -> &KeySets {
        &self.inner.keysets
    }

    /// The tower layer.
    pub fn layer(&self) -> JwtAuthLayer {
        JwtAuthLayer { auth: self.clone() }
    }
}

/// The [`Layer`] of [`JwtAuth`].
#[derive(Clone)]
pub struct JwtAuthLayer {
    auth: JwtAuth,
}

impl<S> Layer<S> for JwtAuthLayer {
    type Service = JwtAuthService<S>;

    fn layer(&self, inner: S) -> JwtAuthService<S> {
        JwtAuthService {
            inner,
            auth: self.auth.clone(),
        }
    }
}

/// The [`Service`] of [`JwtAuthLayer`].
#[derive(Clone)]
pub struct JwtAuthService<S> {
    inner: S,
    auth: JwtAuth,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The service that was polled ready goes into the future; a fresh clone stays for
/// the next call (the tower idiom for cloning services).
fn take_ready<S: Clone>(slot: &mut S) -> S {
    let clone = slot.clone();
    std::mem::replace(slot, clone)
}

impl<S> Service<Request<Body>> for JwtAuthService<S>
where
    S: Service<Request<Body>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let auth = self.auth.clone();
        let mut inner = take_ready(&mut self.inner);
        Box::pin(async move {
            let a = &auth.inner;
            let (mut parts, body) = req.into_parts();
            // worked out only when DPoP is in play
            let target = || Target::direct(&parts, a.origin.as_deref());
            let call = Call {
                policy: &a.policy,
                keysets: &a.keysets,
                extra_scopes: &[],
                replay: a.replay.as_ref(),
                target: &target,
            };
            let outcome = authorize(&parts.headers, &call, &a.limits).await;
            if let Some(verified) = outcome.verified {
                let Some(limit) = &a.policy.policy().rate_limit else {
                    parts.extensions.insert(verified);
                    return inner.call(Request::from_parts(parts, body)).await;
                };
                let caller = caller_key(limit, &verified, &parts.headers);
                let verdict = a.rates.take(&caller, limit);
                if !verdict.allowed {
                    return Ok(rate_limited_response(
                        &verdict,
                        format!(
                            "rate limit exceeded: {} per second per {}",
                            limit.per_second, limit.key
                        ),
                    ));
                }
                parts.extensions.insert(verified);
                let mut res = inner.call(Request::from_parts(parts, body)).await?;
                rate_limit_headers(&mut res, &verdict);
                return Ok(res);
            }
            if let Some((_, r)) = &outcome.checked {
                tracing::info!(
                    target: "jwtshield::middleware",
                    status = outcome.decision.status,
                    codes = %r.errors().map(|f| f.code.as_str()).collect::<Vec<_>>().join(","),
                    "request refused"
                );
            }
            Ok(deny_response(&outcome.decision, &a.realm))
        })
    }
}

/// The verified token of a request protected by [`JwtAuth`].
#[derive(Clone, Debug)]
pub struct Auth(pub Verified);

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Auth, Response> {
        match parts.extensions.get::<Verified>() {
            Some(v) => Ok(Auth(v.clone())),
            None => Err((
                StatusCode::INTERNAL_SERVER_ERROR,
                "the Auth extractor needs the JwtAuth layer on this route",
            )
                .into_response()),
        }
    }
}

type Check = dyn Fn(&Verified) -> Result<(), Decision> + Send + Sync;

/// A per-route requirement on the verified token; apply it inside [`JwtAuth`].
#[derive(Clone)]
pub struct RequireLayer {
    check: Arc<Check>,
    realm: Arc<str>,
}

impl RequireLayer {
    /// The realm of this check's challenges. Defaults to `jwtshield`.
    pub fn realm(mut self, realm: &str) -> RequireLayer {
        self.realm = Arc::from(realm);
        self
    }
}

fn require(
    check: impl Fn(&Verified) -> Result<(), Decision> + Send + Sync + 'static,
) -> RequireLayer {
    RequireLayer {
        check: Arc::new(check),
        realm: Arc::from("jwtshield"),
    }
}

/// Every listed scope must be granted (`scope`, `scp` or `permissions`); else 403
/// `insufficient_scope` with `scope="..."`, as `requiredScopes` does.
pub fn require_scopes(scopes: &[&str]) -> RequireLayer {
    let required: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
    require(move |v| {
        let missing = jwtshield_core::claims::missing_scopes(&required, &v.scopes());
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Decision::insufficient_scope(&required, &missing))
        }
    })
}

fn claim_matches(claim: Option<&Value>, want: &Value, includes: bool) -> bool {
    match (claim, includes) {
        (Some(Value::Array(items)), true) => items.contains(want),
        (Some(Value::String(s)), true) => want
            .as_str()
            .is_some_and(|w| s.split_ascii_whitespace().any(|x| x == w)),
        (Some(v), false) => v == want,
        _ => false,
    }
}

/// The claim must equal `value`; else 401 `invalid_token`, as `claimEquals` does.
pub fn claim_equals(name: &str, value: impl Into<Value>) -> RequireLayer {
    let (name, want) = (name.to_owned(), value.into());
    require(move |v| {
        if claim_matches(v.claim(&name), &want, false) {
            Ok(())
        } else {
            Err(Decision::invalid_token(&format!(
                "unexpected '{name}' value"
            )))
        }
    })
}

/// The claim (an array, or a space-separated string) must include `value`; else 401
/// `invalid_token`, as `claimIncludes` does.
pub fn claim_includes(name: &str, value: impl Into<Value>) -> RequireLayer {
    let (name, want) = (name.to_owned(), value.into());
    require(move |v| {
        if claim_matches(v.claim(&name), &want, true) {
            Ok(())
        } else {
            Err(Decision::invalid_token(&format!(
                "'{name}' does not include the required value"
            )))
        }
    })
}

/// Any check on the verified token, as `claimCheck` does: `Err(description)` is 401
/// `invalid_token`.
pub fn claim_check(
    check: impl Fn(&Verified) -> Result<(), String> + Send + Sync + 'static,
) -> RequireLayer {
    require(move |v| check(v).map_err(|d| Decision::invalid_token(&d)))
}

impl<S> Layer<S> for RequireLayer {
    type Service = RequireService<S>;

    fn layer(&self, inner: S) -> RequireService<S> {
        RequireService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The [`Service`] of [`RequireLayer`].
#[derive(Clone)]
pub struct RequireService<S> {
    inner: S,
    layer: RequireLayer,
}

impl<S> Service<Request<Body>> for RequireService<S>
where
    S: Service<Request<Body>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let verdict = match req.extensions().get::<Verified>() {
            Some(v) => (self.layer.check)(v),
            // no JwtAuth in front: nothing was verified
            None => Err(Decision::no_token()),
        };
        match verdict {
            Ok(()) => {
                let mut inner = take_ready(&mut self.inner);
                Box::pin(async move { inner.call(req).await })
            }
            Err(d) => {
                let res = deny_response(&d, &self.layer.realm);
                Box::pin(async move { Ok(res) })
            }
        }
    }
}
