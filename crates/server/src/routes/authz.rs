//! `GET /v1/authz`: gateway mode for nginx `auth_request`, Traefik ForwardAuth and
//! Envoy `ext_authz` (HTTP). The gateway forwards the client's headers; the answer is a
//! status it acts on, RFC 6750 challenges, and identity headers on success. Any method
//! is accepted, and any path under `/v1/authz/` (Envoy appends the original path).

use std::time::Instant;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use jwtshield_core::gateway::Decision;
use jwtshield_middleware::{
    Call, Scheme, Target, authorize, authorize_token, caller_key, credentials, deny_response,
    rate_limit_headers, rate_limited_response,
};
use serde::Deserialize;

use crate::problem::{Problem, ProblemDetails};
use crate::state::AppState;
use crate::telemetry;

/// The realm of the challenges.
pub const REALM: &str = "jwtshield";

/// The body of a refusal: the RFC 6750 error code and a description (the full
/// findings go to the log, never to the client).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct AuthzDenial {
    /// `invalid_request`, `invalid_token`, `invalid_dpop_proof`, `insufficient_scope`, `unauthorized` (no
    /// token sent), `rate_limited` or `temporarily_unavailable`.
    pub error: String,
    /// What failed, in a sentence.
    pub error_description: Option<String>,
}

/// Query parameters of `/v1/authz`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct AuthzQuery {
    /// The issuer profile (or header `X-JWTShield-Profile`). Without either, the
    /// token's `iss` chooses the profile that accepts it.
    #[param(example = "demo")]
    pub profile: Option<String>,
    /// Scopes required on top of the profile's, space- or comma-separated (or header
    /// `X-JWTShield-Required-Scopes`), e.g. per gateway location.
    pub scope: Option<String>,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
}

fn identity_headers(
    res: &mut Response,
    verified: &jwtshield_core::Verified,
    forward: &std::collections::BTreeMap<String, String>,
) {
    static SUBJECT: HeaderName = HeaderName::from_static("x-auth-subject");
    static SCOPES: HeaderName = HeaderName::from_static("x-auth-scopes");
    static ISSUER: HeaderName = HeaderName::from_static("x-auth-issuer");
    static CLAIMS: HeaderName = HeaderName::from_static("x-auth-claims");
    let h = res.headers_mut();
    let mut put = |name: &HeaderName, value: &str| {
        // UTF-8 is allowed as obs-text; control characters are not: then leave it out
        if let Ok(v) = HeaderValue::from_bytes(value.as_bytes()) {
            h.insert(name.clone(), v);
        }
    };
    if let Some(sub) = verified.subject() {
        put(&SUBJECT, sub);
    }
    put(&SCOPES, &verified.scopes_ref().join(" "));
    if let Some(iss) = verified.issuer() {
        put(&ISSUER, iss);
    }
    // the claims JSON as verified (its text, not re-serialized)
    put(
        &CLAIMS,
        &jwtshield_core::b64::encode(verified.claims().as_str()),
    );
    // the profile's forward_claims: names checked when the profile loaded, values
    // without control characters (else left out)
    for (name, value) in jwtshield_core::forward::headers(forward, verified.claims()) {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value).or_else(|_| HeaderValue::from_bytes(value.as_bytes())),
        ) {
            h.insert(n, v);
        }
    }
}

/// Decides whether the request's bearer token may pass.
#[utoipa::path(
    method(get, head, post, put, patch, delete, options),
    path = "/v1/authz",
    description = "Every method is answered the same way (gateways forward the original method), and any path under /v1/authz/ (Envoy appends the original path). The request body, if any, is ignored.",
    operation_id = "authz",
    tag = "gateway",
    params(
        AuthzQuery,
        ("Authorization" = Option<String>, Header, description = "Bearer <token>, or DPoP <token> for a DPoP-bound token (RFC 9449), forwarded by the gateway"),
        ("DPoP" = Option<String>, Header, description = "The DPoP proof JWT (RFC 9449), forwarded by the gateway: required for a token with cnf.jkt, or when the profile's dpop.required is true"),
        ("X-Forwarded-Method" = Option<String>, Header, description = "The client's request method, which a DPoP proof's htm must name (or X-Original-Method; default: this request's method)"),
        ("X-Forwarded-Uri" = Option<String>, Header, description = "The client's request URI (absolute, or a path joined to X-Forwarded-Proto, default https, and X-Forwarded-Host or Host), which a DPoP proof's htu must name (or X-Original-URI)"),
        ("X-JWTShield-Profile" = Option<String>, Header, description = "The profile, when not in the query"),
        ("X-JWTShield-Required-Scopes" = Option<String>, Header, description = "Scopes required on top of the profile's, when not in the query"),
    ),
    responses(
        (status = 200, description = "Valid. Headers X-Auth-Subject, X-Auth-Scopes (space-separated), X-Auth-Issuer, X-Auth-Claims (base64url of the claims JSON) and the profile's forward_claims for the gateway to forward"),
        (status = 400, description = "Malformed Authorization header, no profile named and several profiles accept the token's issuer, or (DPoP) X-Forwarded-Uri/X-Original-URI or X-Forwarded-Method/X-Original-Method that disagree: WWW-Authenticate error=\"invalid_request\"", body = AuthzDenial),
        (status = 401, description = "Invalid token: WWW-Authenticate error=\"invalid_token\" with error_description naming the failed check (ISSUER_UNKNOWN when no profile was named and none accepts the token's iss; CERTIFICATE_MISSING or CERTIFICATE_MISMATCH for a certificate-bound token, RFC 8705); error=\"invalid_dpop_proof\" when the DPoP proof is missing or fails (RFC 9449: the challenge is then `DPoP realm=..., algs=\"...\"`, as for any refusal of a DPoP-bound or DPoP-scheme token); without error when no token was sent", body = AuthzDenial),
        (status = 403, description = "Only required scopes are missing: error=\"insufficient_scope\", scope=\"...\"", body = AuthzDenial),
        (status = 404, description = "Unknown profile", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 429, description = "The profile's rate_limit for this caller is exceeded: Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset (Unix time)", body = AuthzDenial),
        (status = 503, description = "The issuer's keys are unreachable and no cached key is usable (never 200), the DPoP replay cache (Redis in fleet mode) cannot answer, or the service is overloaded; Retry-After says when to retry", body = AuthzDenial),
    )
)]
pub async fn authz(
    State(state): State<AppState>,
    Query(q): Query<AuthzQuery>,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    // the whole request, read in place: no copy of its headers or URI per request
    req: axum::extract::Request,
) -> Response {
    let (headers, method, uri) = (req.headers(), req.method(), req.uri());
    let profile_id = q
        .profile
        .as_deref()
        .filter(|p| !p.is_empty())
        .or_else(|| header(headers, "x-jwtshield-profile"));
    let profiles = state.profiles();
    let (profile_id, routed) = match profile_id {
        Some(id) => (std::borrow::Cow::Borrowed(id), None),
        // no profile named: the token's issuer chooses it
        None => match route(&state, headers) {
            Ok((token, id)) => (std::borrow::Cow::Owned(id), Some(token)),
            Err(d) => {
                tracing::info!(
                    target: "jwtshield::authz",
                    status = d.status,
                    reason = d.description.as_deref().unwrap_or(""),
                    "request refused: no profile named, and the token's issuer chose none"
                );
                return count(deny_response(&d, REALM));
            }
        },
    };
    let profile_id: &str = &profile_id;
    let Some(policy) = profiles.get(profile_id) else {
        if routed.is_some() {
            // the profiles were reloaded between the two reads, without this issuer
            let d =
                Decision::invalid_token("ISSUER_UNKNOWN: no profile accepts the token's issuer");
            return count(deny_response(&d, REALM));
        }
        return count(Problem::unknown_profile(profile_id, &profiles).into_response());
    };
    let extra: Vec<String> = q
        .scope
        .as_deref()
        .or_else(|| header(headers, "x-jwtshield-required-scopes"))
        .map(|s| {
            s.split([' ', ','])
                .filter(|x| !x.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let start = Instant::now();
    // the request a DPoP proof must name: the client's, as the gateway forwards it
    let target = || {
        Target::forwarded(
            headers,
            method.as_str(),
            uri.path_and_query().map_or("/", |p| p.as_str()),
        )
    };
    let call = Call {
        policy,
        keysets: state.keysets(),
        extra_scopes: &extra,
        replay: state.replay(),
        target: &target,
    };
    let outcome = match routed {
        Some((scheme, token)) => authorize_token(scheme, token, headers, &call).await,
        None => authorize(headers, &call, &state.config().limits).await,
    };
    let elapsed = start.elapsed();
    let peer = peer.map(|p| p.0.0);
    let bound = match &outcome.verified {
        Some(v) => certificate_binding(&state, headers, peer, v),
        None => Ok(()),
    };
    let res = match &outcome.verified {
        Some(_) if let Err(d) = &bound => deny_response(d, REALM),
        Some(verified) => match &policy.policy().rate_limit {
            None => {
                let mut res = StatusCode::OK.into_response();
                identity_headers(&mut res, verified, &policy.policy().forward_claims);
                res
            }
            Some(limit) => {
                let caller = caller_key(limit, verified, headers);
                let v = state.limiter().check(profile_id, limit, &caller).await;
                let mut res = if v.allowed {
                    let mut res = StatusCode::OK.into_response();
                    identity_headers(&mut res, verified, &policy.policy().forward_claims);
                    res
                } else {
                    rate_limited_response(
                        &v,
                        format!(
                            "rate limit of profile {profile_id} exceeded: {} per second per {}",
                            limit.per_second, limit.key
                        ),
                    )
                };
                rate_limit_headers(&mut res, &v);
                res
            }
        },
        None => {
            if let Some((_, report)) = &outcome.checked
                && tracing::enabled!(target: "jwtshield::authz", tracing::Level::INFO)
            {
                // the full findings go to the log, never to the client
                tracing::info!(
                    target: "jwtshield::authz",
                    profile = profile_id,
                    status = outcome.decision.status,
                    findings = %serde_json::to_string(report.findings()).unwrap_or_default(),
                    "request refused"
                );
            }
            deny_response(&outcome.decision, REALM)
        }
    };
    if let Some((token, report)) = &outcome.checked {
        telemetry::record_validation(
            telemetry::Endpoint::Authz,
            report,
            token,
            Some(profile_id),
            elapsed,
        );
    }
    count(res)
}

/// RFC 8705: a token bound to a client certificate (`cnf.x5t#S256`) passes only with
/// that certificate, taken from the configured header and believed only from a trusted
/// gateway address.
fn certificate_binding(
    state: &AppState,
    headers: &HeaderMap,
    peer: Option<std::net::SocketAddr>,
    verified: &jwtshield_core::Verified,
) -> Result<(), Decision> {
    use jwtshield_core::binding;
    let claims = verified.claims();
    if binding::bound_thumbprint(claims).is_none() {
        return Ok(());
    }
    let thumbprint = match (&state.config().client_cert, peer) {
        (Some(cc), Some(p)) if cc.trusts(p.ip()) => match headers.get(&cc.header) {
            None => None,
            Some(v) => Some(
                v.to_str()
                    .map_err(|_| ())
                    .and_then(|s| binding::thumbprint_of_header(s).map_err(|_| ()))
                    .map_err(|()| {
                        Decision::invalid_request(
                            "the client certificate header does not hold a PEM certificate",
                        )
                    })?,
            ),
        },
        _ => None,
    };
    binding::check(claims, thumbprint.as_deref())
}

/// The token of the request and the profile whose issuers include its `iss` (one map
/// lookup); the token is parsed once, here, and validated as parsed.
type Routed<'h> = ((Scheme, jwtshield_core::Token<'h>), String);

fn route<'h>(state: &AppState, headers: &'h HeaderMap) -> Result<Routed<'h>, Decision> {
    let (scheme, raw) = credentials(headers)?;
    let token = jwtshield_core::Token::parse(raw, &state.config().limits);
    let index = state.issuers();
    let id = jwtshield_core::gateway::route_by_issuer(&token, &index)?.to_owned();
    Ok(((scheme, token), id))
}

fn count(res: Response) -> Response {
    const LABELS: [&str; 8] = ["200", "400", "401", "403", "404", "429", "503", "other"];
    static COUNTERS: std::sync::OnceLock<Vec<metrics::Counter>> = std::sync::OnceLock::new();
    let counters = COUNTERS.get_or_init(|| {
        LABELS
            .iter()
            .map(|l| metrics::counter!("jwtshield_authz_decisions_total", "status" => *l))
            .collect()
    });
    let status = res.status().as_u16().to_string();
    let i = LABELS
        .iter()
        .position(|l| *l == status)
        .unwrap_or(LABELS.len() - 1);
    counters[i].increment(1);
    res
}
