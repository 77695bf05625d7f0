//! `POST /v1/validate/jwt` and `POST /v1/inspect/token`.

use std::borrow::Cow;
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use jwtshield_core::dpop::{self, Presented, Proof};
use jwtshield_core::policy::not_null;
use jwtshield_core::{CompiledPolicy, Policy, Token};
use jwtshield_jwks::unix_now;
use serde::Deserialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;

use axum::http::HeaderMap;

use super::{OneOf, json_no_store, one_of, parse_body, read_body, report_response};
use crate::problem::{Problem, ProblemDetails};
use crate::schema;
use crate::state::AppState;
use crate::telemetry;

fn policy_problem(e: jwtshield_core::PolicyError) -> Problem {
    let field = if e.field.is_empty() {
        "policy".to_owned()
    } else {
        format!("policy.{}", e.field)
    };
    Problem::bad_field(field.clone(), format!("{field}: {}", e.message))
}

/// The policy of a request: compiled from the body, or a loaded profile (shared, not
/// copied).
pub enum RequestPolicy {
    /// From the request body.
    Inline(Box<CompiledPolicy>),
    /// An issuer profile.
    Profile(std::sync::Arc<jwtshield_core::Profiles>, String),
}

impl RequestPolicy {
    /// The compiled policy.
    pub fn get(&self) -> &CompiledPolicy {
        match self {
            RequestPolicy::Inline(p) => p,
            // present: looked up when this value was made
            RequestPolicy::Profile(all, id) => &all[id],
        }
    }

    /// The profile id, when it is one.
    pub fn profile(&self) -> Option<&str> {
        match self {
            RequestPolicy::Inline(_) => None,
            RequestPolicy::Profile(_, id) => Some(id),
        }
    }
}

/// The body of `POST /v1/validate/jwt`: a token and either an inline `policy` or an
/// `issuer_profile_id`, exactly one. Unknown or repeated members are refused, and so is
/// `null` for any member: leave a member out instead.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
// RFC 7515 appendix A.3: a real ES256 token and its key; it gets an answer with
// findings (expired in 2011, no `aud`), and nothing is fetched
#[schema(examples(json!({
    "token": "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q",
    "policy": {
        "issuer": "joe",
        "audiences": ["https://api.example.com/"],
        "allowed_algs": ["ES256"],
        "jwks": {"keys": [{"kty": "EC", "crv": "P-256",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}
    }
})))]
pub struct ValidateRequest<'a> {
    /// The compact JWS. Never stored or logged. Any string is accepted: a malformed
    /// token (a `Bearer ` prefix, whitespace, an opaque token) gets findings, not a 400.
    #[serde(borrow)]
    #[schema(value_type = String)]
    pub token: Cow<'a, str>,
    /// An inline Policy.
    #[serde(default, borrow, deserialize_with = "not_null")]
    #[schema(value_type = jwtshield_core::Policy)]
    pub policy: Option<&'a RawValue>,
    /// The id of a loaded issuer profile (`GET /v1/issuer-profiles`).
    #[serde(default, borrow, deserialize_with = "not_null")]
    #[schema(value_type = String)]
    pub issuer_profile_id: Option<Cow<'a, str>>,
    /// A DPoP proof (RFC 9449) and the request it was made for: reported under check
    /// `dpop`. Without it, a DPoP-bound token (`cnf.jkt`) gets `DPOP_PROOF_MISSING`.
    /// A proof's `jti` is never spent here; one already spent at `/v1/authz` is
    /// `DPOP_PROOF_REPLAYED`.
    #[serde(default, deserialize_with = "not_null")]
    pub dpop: Option<DpopInput>,
}

/// The `dpop` member of `POST /v1/validate/jwt`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DpopInput {
    /// The `DPoP` header's value: the proof JWT. Any string is accepted (a bad proof is
    /// a finding).
    pub proof: String,
    /// The method of the request the proof came with (`GET`).
    #[schema(min_length = 1, example = "GET")]
    pub method: String,
    /// The absolute http(s) URI of that request.
    #[schema(example = "https://api.example.com/orders")]
    pub uri: String,
}

impl DpopInput {
    /// A method is an HTTP token; the URI an absolute http(s) URL.
    fn check(&self) -> Result<(), Problem> {
        let token_char = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if self.method.is_empty() || !self.method.chars().all(token_char) {
            return Err(Problem::bad_field(
                "dpop.method",
                "`dpop.method` must be an HTTP method such as GET",
            ));
        }
        match url::Url::parse(&self.uri) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => Ok(()),
            _ => Err(Problem::bad_field(
                "dpop.uri",
                "`dpop.uri` must be the absolute http(s) URI of the request, e.g. https://api.example.com/orders",
            )),
        }
    }
}

/// The body of `POST /v1/inspect/token`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InspectRequest<'a> {
    /// The token to decode. Any string is accepted.
    #[serde(borrow)]
    #[schema(value_type = String)]
    pub token: Cow<'a, str>,
}

/// Finds the policy named by the request: inline, or an issuer profile.
fn request_policy(state: &AppState, req: &ValidateRequest<'_>) -> Result<RequestPolicy, Problem> {
    match one_of(
        (req.policy, "policy"),
        (req.issuer_profile_id.as_deref(), "issuer_profile_id"),
        "give a `policy` object or an `issuer_profile_id` (see GET /v1/issuer-profiles and GET /v1/presets)",
    )? {
        OneOf::First(raw) => {
            // the strict reader: duplicate members refused at any depth
            let value =
                jwtshield_core::json::parse_value(raw.get().as_bytes(), 64).map_err(|e| {
                    Problem::bad_field("policy", format!("`policy` is not acceptable JSON: {e}"))
                })?;
            if !value.is_object() {
                return Err(Problem::bad_field(
                    "policy",
                    format!(
                        "`policy` must be an object, found {}",
                        jwtshield_core::json::kind_of(&value)
                    ),
                ));
            }
            let policy = Policy::from_json(&value)
                .and_then(Policy::compile)
                .map_err(policy_problem)?;
            if policy.policy().introspection.is_some() {
                // a request must not make the service read a file and send it away
                return Err(Problem::bad_field(
                    "policy.introspection",
                    "introspection names a client secret file, so it is configured in issuer profiles only: use issuer_profile_id",
                ));
            }
            Ok(RequestPolicy::Inline(Box::new(policy)))
        }
        OneOf::Second(id) => {
            let profiles = state.profiles();
            match profiles.contains_key(id) {
                true => Ok(RequestPolicy::Profile(profiles, id.to_owned())),
                false => Err(Problem::unknown_profile(id, &profiles)),
            }
        }
    }
}

/// Validates a token against an inline policy or an issuer profile.
#[utoipa::path(
    post,
    path = "/v1/validate/jwt",
    operation_id = "validateJwt",
    tag = "validate",
    request_body(content = ValidateRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The verdict for any token, however broken", body = schema::ValidationResult),
        (status = 400, description = "The request is wrong; `field` names the culprit", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "Unknown issuer profile", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "Body over --max-body-bytes", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "Content-Type is not JSON", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded or timed out; retry", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn validate(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let bytes = read_body(&headers, body, state.config().max_body_bytes).await?;
    let req: ValidateRequest<'_> = parse_body(&bytes)?;
    let policy = request_policy(&state, &req)?;
    if let Some(d) = &req.dpop {
        d.check()?;
    }
    let token = Token::parse(&req.token, &state.config().limits);
    let start = Instant::now();
    let now = unix_now();
    let mut report = state.keysets().validate(policy.get(), &token, now).await;
    let presented = match &req.dpop {
        Some(d) => Presented {
            proof: Proof::One(&d.proof),
            scheme: None,
            method: &d.method,
            uri: &d.uri,
        },
        None => Presented {
            proof: Proof::Absent,
            scheme: None,
            method: "",
            uri: "",
        },
    };
    let accepted = dpop::check(&mut report, token.compact(), policy.get(), &presented, now);
    if let Some(acc) = accepted
        && report.valid()
    {
        // read only: a check never spends the proof
        match state.replay().seen(&acc.replay_key()).await {
            Ok(true) => dpop::replayed(&mut report, &acc),
            Ok(false) => {}
            Err(e) => {
                return Err(Problem::unavailable(format!(
                    "the DPoP replay cache cannot answer: {e}"
                )));
            }
        }
    }
    telemetry::record_validation(
        telemetry::Endpoint::Validate,
        &report,
        &token,
        policy.profile(),
        start.elapsed(),
    );
    Ok(report_response(&report))
}

/// Decodes a token without verifying it, with warnings about suspicious traits.
#[utoipa::path(
    post,
    path = "/v1/inspect/token",
    operation_id = "inspectToken",
    tag = "validate",
    request_body(content = InspectRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Decoded parts, times and warnings; never says valid", body = schema::Inspection),
        (status = 400, description = "The request is wrong", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "Body over --max-body-bytes", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "Content-Type is not JSON", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded; retry after Retry-After", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn inspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let bytes = read_body(&headers, body, state.config().max_body_bytes).await?;
    let req: InspectRequest<'_> = parse_body(&bytes)?;
    let token = Token::parse(&req.token, &state.config().limits);
    Ok(json_no_store(&jwtshield_core::inspect(&token, unix_now())))
}
