//! One module per area; `crate::app` merges them.

pub mod authz;
pub mod health;
pub mod metrics;
pub mod presets;
pub mod profiles;
pub mod validate;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::problem::Problem;

/// Reads a JSON object body under the size limit, with the core's strict JSON rules
/// (duplicate members refused).
pub async fn read_object(body: Body, limit: usize) -> Result<Map<String, Value>, Problem> {
    let bytes: Bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| Problem::too_large(limit))?;
    if bytes.is_empty() {
        return Err(Problem::bad_request(
            "the request body is empty; send a JSON object such as {\"token\": \"...\", \"issuer_profile_id\": \"...\"}",
        ));
    }
    let value = jwtshield_core::json::parse_value(&bytes, 64)
        .map_err(|e| Problem::bad_request(format!("the request body is not valid JSON: {e}")))?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(Problem::bad_request(format!(
            "the request body must be a JSON object, found {}",
            jwtshield_core::json::kind_of(&other)
        ))),
    }
}

/// The `token` member: required, a string.
pub fn token_field(body: &Map<String, Value>) -> Result<&str, Problem> {
    match body.get("token") {
        Some(Value::String(t)) => Ok(t),
        Some(other) => Err(Problem::bad_field(
            "token",
            format!(
                "`token` must be a string, found {}",
                jwtshield_core::json::kind_of(other)
            ),
        )),
        None => Err(Problem::bad_field("token", "`token` is required")),
    }
}

/// Refuses members other than `allowed`, naming the first unknown one.
pub fn only_fields(body: &Map<String, Value>, allowed: &[&str]) -> Result<(), Problem> {
    match body.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(Problem::bad_field(
            k.clone(),
            format!("unknown field `{k}`; expected {}", allowed.join(", ")),
        )),
        None => Ok(()),
    }
}

/// A JSON response that must not be cached (it may hold claims).
pub fn json_no_store<T: Serialize>(value: &T) -> Response {
    let mut body = Vec::with_capacity(2048);
    match serde_json::to_writer(&mut body, value) {
        Ok(()) => {
            let mut res = body.into_response();
            let h = res.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(e) => Problem::internal(format!("cannot serialize the response: {e}")).into_response(),
    }
}
