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

/// A starter policy for an identity provider. Query parameters fill its placeholders,
/// e.g. `?tenant=acme.auth0.com&audience=https://api.acme.com/` (each preset's are
/// listed by `GET /v1/presets`). Filled in full, it is a Policy, validated and ready to
/// use. While parameters are missing it is the template: the placeholders stay as
/// `{name}` in the values and are listed under `placeholders` (and in the
/// `X-JWTShield-Placeholders` header); it is not a usable policy until they are filled.
#[utoipa::path(
    get,
    path = "/v1/presets/{name}",
    operation_id = "getPreset",
    tag = "presets",
    params(("name" = inline(PresetName), Path, description = "Preset name, e.g. auth0")),
    responses(
        (status = 200, description = "The policy when every parameter is given (validated); else the template with `placeholders` listing the missing ones (name, description, example)", body = Object),
        (status = 400, description = "An unknown parameter, or a value that makes the policy invalid", body = ProblemDetails, content_type = "application/problem+json"),
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
    if !missing.is_empty() {
        // a template: the placeholders named explicitly, in the body and a header
        let mut res = Json(preset.with_placeholders(filled)).into_response();
        if let Ok(v) = axum::http::HeaderValue::from_str(&missing.join(",")) {
            res.headers_mut().insert("x-jwtshield-placeholders", v);
        }
        return Ok(res);
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
