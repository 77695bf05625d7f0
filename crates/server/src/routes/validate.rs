//! `POST /v1/validate/jwt` and `POST /v1/inspect/token`.

use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use jwtshield_core::{CompiledPolicy, Policy};
use jwtshield_jwks::unix_now;
use serde_json::Value;

use super::{json_no_store, only_fields, read_object, token_field};
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

/// Finds the policy named by the request: inline, or an issuer profile.
fn request_policy(
    state: &AppState,
    body: &serde_json::Map<String, Value>,
) -> Result<RequestPolicy, Problem> {
    match (body.get("policy"), body.get("issuer_profile_id")) {
        (Some(_), Some(_)) => Err(Problem::bad_field(
            "policy",
            "give either `policy` or `issuer_profile_id`, not both",
        )),
        (None, None) => Err(Problem::bad_field(
            "policy",
            "give a `policy` object or an `issuer_profile_id` (see GET /v1/issuer-profiles and GET /v1/presets)",
        )),
        (Some(p), None) => {
            if !p.is_object() {
                return Err(Problem::bad_field(
                    "policy",
                    format!(
                        "`policy` must be an object, found {}",
                        jwtshield_core::json::kind_of(p)
                    ),
                ));
            }
            let policy = Policy::from_json(p)
                .and_then(Policy::compile)
                .map_err(policy_problem)?;
            Ok(RequestPolicy::Inline(Box::new(policy)))
        }
        (None, Some(Value::String(id))) => {
            let profiles = state.profiles();
            match profiles.contains_key(id) {
                true => Ok(RequestPolicy::Profile(profiles, id.clone())),
                false => Err(Problem::unknown_profile(id, &profiles)),
            }
        }
        (None, Some(other)) => Err(Problem::bad_field(
            "issuer_profile_id",
            format!(
                "`issuer_profile_id` must be a string, found {}",
                jwtshield_core::json::kind_of(other)
            ),
        )),
    }
}

/// Validates a token against an inline policy or an issuer profile.
#[utoipa::path(
    post,
    path = "/v1/validate/jwt",
    operation_id = "validateJwt",
    tag = "validate",
    request_body = schema::ValidateRequest,
    responses(
        (status = 200, description = "The verdict for any token, however broken", body = schema::ValidationResult),
        (status = 400, description = "The request is wrong; `field` names the culprit", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "Unknown issuer profile", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "Body over the limit", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded or timed out; retry", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn validate(State(state): State<AppState>, body: Body) -> Result<Response, Problem> {
    let body = read_object(body, state.config().max_body_bytes).await?;
    only_fields(&body, &["token", "policy", "issuer_profile_id"])?;
    let token = token_field(&body)?;
    let policy = request_policy(&state, &body)?;
    let start = Instant::now();
    let keys = state.keysets().keys_for_token(policy.get(), token).await;
    let report = jwtshield_core::validate_with_limits(
        token,
        &keys,
        policy.get(),
        unix_now(),
        &state.config().limits,
    );
    telemetry::record_validation(
        "validate",
        &report,
        token,
        policy.profile(),
        start.elapsed(),
    );
    Ok(json_no_store(&report))
}

/// Decodes a token without verifying it, with warnings about suspicious traits.
#[utoipa::path(
    post,
    path = "/v1/inspect/token",
    operation_id = "inspectToken",
    tag = "validate",
    request_body = schema::InspectRequest,
    responses(
        (status = 200, description = "Decoded parts, times and warnings; never says valid", body = schema::Inspection),
        (status = 400, description = "The request is wrong", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "Body over the limit", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn inspect(State(state): State<AppState>, body: Body) -> Result<Response, Problem> {
    let body = read_object(body, state.config().max_body_bytes).await?;
    only_fields(&body, &["token"])?;
    let token = token_field(&body)?;
    Ok(json_no_store(&jwtshield_core::inspect(token, unix_now())))
}
