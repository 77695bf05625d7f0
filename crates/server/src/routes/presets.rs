//! `GET /v1/presets` and `GET /v1/presets/{name}`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use jwtshield_core::{PresetError, presets};
use serde_json::Value;

use crate::problem::{Problem, ProblemDetails};
use crate::schema;

/// A preset name: one of the built-in presets.
pub struct PresetName;

impl utoipa::PartialSchema for PresetName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(presets::names()))
            .into()
    }
}

impl utoipa::ToSchema for PresetName {}

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

/// A starter policy for an identity provider, ready to use. Query parameters fill its
/// placeholders, e.g. `?tenant=acme.auth0.com&audience=https://api.acme.com/`; every
/// parameter the preset lists (`GET /v1/presets`) is required, and the filled policy is
/// validated. Parameters are per preset, so they are not listed here.
#[utoipa::path(
    get,
    path = "/v1/presets/{name}",
    operation_id = "getPreset",
    tag = "presets",
    params(("name" = inline(PresetName), Path, description = "Preset name, e.g. auth0")),
    responses(
        (status = 200, description = "The policy, every placeholder filled and validated", body = jwtshield_core::Policy),
        (status = 400, description = "A parameter is missing (`missing` lists them, `template` shows where they go), unknown, or its value makes the policy invalid", body = ProblemDetails, content_type = "application/problem+json"),
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
    let names = || {
        preset
            .params
            .iter()
            .map(|x| x.name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let filled = preset.fill_partial(&params).map_err(|e| match e {
        PresetError::UnknownParam(p) => Problem::bad_field(
            p.clone(),
            format!(
                "preset {name} has no parameter `{p}`; its parameters: {}",
                names()
            ),
        ),
        other => Problem::bad_request(other.to_string()),
    })?;
    let missing = preset.missing(&filled);
    if let Some(first) = missing.first() {
        let example = preset
            .params
            .iter()
            .map(|p| format!("{}={}", p.name, p.example))
            .collect::<Vec<_>>()
            .join("&");
        return Err(Problem::bad_field(
            first.clone(),
            format!(
                "preset {name} needs the parameters {}; e.g. GET /v1/presets/{name}?{example}",
                missing.join(", ")
            ),
        )
        .with_extra(serde_json::json!({"missing": missing, "template": preset.template()})));
    }
    jwtshield_core::Policy::from_json(&filled)
        .and_then(jwtshield_core::Policy::compile)
        .map_err(|e| {
            Problem::bad_field(
                e.field.clone(),
                format!("the filled-in preset is invalid: {e}"),
            )
        })?;
    Ok(Json(filled).into_response())
}
