//! `POST /v1/issuers/check`: the issuer doctor. Fetches an issuer's discovery document
//! and key set afresh (through the SSRF guard, the fetch timeout and the size cap; the
//! key cache is neither read nor filled) and reports what a careful operator checks.

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use jwtshield_core::doctor::DoctorReport;
use jwtshield_core::policy::not_null;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{OneOf, json_no_store, one_of, parse_body, read_body};
use crate::problem::{Problem, ProblemDetails};
use crate::state::AppState;

/// The body of `POST /v1/issuers/check`: an `issuer` URL or an `issuer_profile_id`,
/// exactly one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
// an example that resolves nowhere (RFC 6761 .invalid): schemathesis sends it for real
#[schema(examples(json!({"issuer": "https://tenant.example.invalid/"})))]
pub struct IssuerCheckRequest {
    /// The issuer exactly as its tokens carry it in `iss` (an http or https URL).
    #[serde(default, deserialize_with = "not_null")]
    #[schema(
        pattern = r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?$",
        max_length = 2048
    )]
    pub issuer: Option<String>,
    /// A loaded issuer profile: its issuer, its `jwks_uri` when it sets one, and its
    /// algorithm allowlist.
    #[serde(default, deserialize_with = "not_null")]
    pub issuer_profile_id: Option<String>,
}

fn checked_issuer(issuer: &str) -> Result<(), Problem> {
    let bad = |why: &str| Problem::bad_field("issuer", format!("`issuer` {why}"));
    if issuer.len() > 2048 {
        return Err(bad("is longer than 2048 bytes"));
    }
    let url = url::Url::parse(issuer).map_err(|e| bad(&format!("is not a URL: {e}")))?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none_or(str::is_empty) {
        return Err(bad(
            "must be an https URL with a host (http only for local tests)",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad(
            "must not have a query or fragment (OpenID Connect Discovery §2)",
        ));
    }
    Ok(())
}

/// Examines an issuer: its discovery document (`issuer` equal to the one given,
/// trailing slash included; `jwks_uri`), then its key set (https, `Cache-Control`,
/// key types and sizes, duplicate or missing `kid`s, keys without `use`/`alg`, the
/// algorithms offered against the profile's allowlist). Always 200 with a report whose
/// `verdict` is `healthy`, `problems` or `unreachable`; nothing is cached.
#[utoipa::path(
    post,
    path = "/v1/issuers/check",
    operation_id = "checkIssuer",
    tag = "profiles",
    request_body(content = IssuerCheckRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The doctor's report", body = DoctorReport),
        (status = 400, description = "The request is wrong; `field` names the culprit", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "Unknown issuer profile", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "Body over --max-body-bytes", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "Content-Type is not JSON", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded or timed out; retry", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn check(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let bytes = read_body(&headers, body, state.config().max_body_bytes).await?;
    let req: IssuerCheckRequest = parse_body(&bytes)?;
    let keysets = state.keysets();
    let report = match one_of(
        (req.issuer, "issuer"),
        (req.issuer_profile_id, "issuer_profile_id"),
        "give an `issuer` URL or an `issuer_profile_id`",
    )? {
        OneOf::First(issuer) => {
            checked_issuer(&issuer)?;
            keysets.examine(&issuer, None, None).await
        }
        OneOf::Second(id) => {
            let profiles = state.profiles();
            let Some(p) = profiles.get(&id) else {
                return Err(Problem::unknown_profile(&id, &profiles));
            };
            keysets.examine_profile(p).await
        }
    };
    Ok(json_no_store(&report))
}
