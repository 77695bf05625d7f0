//! `GET /v1/presets` and `GET /v1/presets/{name}`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use jwtshield_core::{PresetError, presets};
use serde_json::Value;

use crate::problem::{Problem, ProblemDetails};
use crate::schema;

/// The built-in presets, with their placeholders.
#[utoipa::path(
    get,
    path = "/v1/presets",
    operation_id = "listPresets",
    tag = "presets",
    responses((status = 200, description = "Every preset", body = Vec<schema::PresetInfo>))
)]
pub async fn list() -> Json<Value> {
    Json(serde_json::to_value(presets::all()).unwrap_or(Value::Null))
}

/// A starter policy for an identity provider. Query parameters fill its placeholders,
/// e.g. `?tenant=acme.auth0.com&audience=https://api.acme.com/`; once all are filled
/// the policy is validated and ready to use.
#[utoipa::path(
    get,
    path = "/v1/presets/{name}",
    operation_id = "getPreset",
    tag = "presets",
    params(("name" = String, Path, description = "Preset name, e.g. auth0")),
    responses(
        (status = 200, description = "The policy (placeholders left as {name} when not given)", body = schema::Policy),
        (status = 400, description = "Unknown parameter, or a filled value the policy refuses", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such preset", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn get(
    Path(name): Path<String>,
    Query(params): Query<BTreeMap<String, String>>,
) -> Result<Response, Problem> {
    let preset = presets::get(&name).map_err(|e| {
        Problem::not_found("unknown-preset", e.to_string())
            .with_extra(serde_json::json!({"presets": presets::names()}))
    })?;
    let filled = preset.fill_partial(&params).map_err(|e| match e {
        PresetError::UnknownParam(p) => Problem::bad_field(
            p.clone(),
            format!(
                "preset {name} has no parameter `{p}`; its parameters: {}",
                preset
                    .params
                    .iter()
                    .map(|x| x.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        other => Problem::bad_request(other.to_string()),
    })?;
    let missing = preset.missing(&filled);
    if missing.is_empty() {
        jwtshield_core::Policy::from_json(&filled)
            .and_then(jwtshield_core::Policy::compile)
            .map_err(|e| {
                Problem::bad_field(
                    e.field.clone(),
                    format!("the filled-in preset is invalid: {e}"),
                )
            })?;
    }
    let mut res = Json(filled).into_response();
    if !missing.is_empty()
        && let Ok(v) = axum::http::HeaderValue::from_str(&missing.join(","))
    {
        res.headers_mut().insert("x-jwtshield-missing-params", v);
    }
    Ok(res)
}
