//! `GET /v1/issuer-profiles` and `GET /v1/issuer-profiles/{id}`.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use crate::problem::{Problem, ProblemDetails};
use crate::schema;
use crate::state::AppState;

fn profile_json(id: &str, p: &jwtshield_core::CompiledPolicy) -> Value {
    // Policy's serializer writes a secret as "<redacted>"
    json!({"id": id, "policy": p.policy()})
}

/// The loaded issuer profiles.
#[utoipa::path(
    get,
    path = "/v1/issuer-profiles",
    operation_id = "listIssuerProfiles",
    tag = "profiles",
    responses((status = 200, description = "Every loaded profile", body = Vec<schema::IssuerProfile>))
)]
pub async fn list(State(state): State<AppState>) -> Json<Value> {
    let profiles = state.profiles();
    Json(Value::Array(
        profiles.iter().map(|(id, p)| profile_json(id, p)).collect(),
    ))
}

/// One issuer profile.
#[utoipa::path(
    get,
    path = "/v1/issuer-profiles/{id}",
    operation_id = "getIssuerProfile",
    tag = "profiles",
    params(("id" = String, Path, description = "Profile id")),
    responses(
        (status = 200, description = "The profile", body = schema::IssuerProfile),
        (status = 404, description = "No such profile", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    let profiles = state.profiles();
    profiles
        .get(&id)
        .map(|p| Json(profile_json(&id, p)))
        .ok_or_else(|| Problem::unknown_profile(&id, &profiles))
}
