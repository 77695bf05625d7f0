//! One module per area; `crate::app` merges them.

pub mod authz;
pub mod doctor;
pub mod health;
pub mod metrics;
pub mod presets;
pub mod profiles;
pub mod revocations;
pub mod validate;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::problem::Problem;

/// Refuses a body that says it is not JSON: `Content-Type` must be `application/json`
/// or `application/<something>+json` (parameters such as `charset` are ignored). A body
/// without `Content-Type` is read as JSON, for minimal clients.
fn require_json(headers: &axum::http::HeaderMap) -> Result<(), Problem> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let essence = value
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let json = essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"));
    if json {
        return Ok(());
    }
    Err(Problem::unsupported_media_type(format!(
        "the body must be JSON: send `Content-Type: application/json` (got `{}`)",
        value.to_str().unwrap_or("<not text>")
    )))
}

/// Reads a JSON request body: the `Content-Type` checked (415 unless JSON), then the
/// bytes under the size limit, refused when empty.
pub async fn read_body(
    headers: &axum::http::HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, Problem> {
    require_json(headers)?;
    let bytes: Bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| Problem::too_large(limit))?;
    // an empty body is refused here, once
    if bytes.is_empty() {
        return Err(Problem::bad_request(
            "the request body is empty; send a JSON object such as {\"token\": \"...\", \"issuer_profile_id\": \"...\"}",
        ));
    }
    Ok(bytes)
}

/// Deserializes a JSON object body into a typed request (unknown and repeated members
/// refused), with problems that name the field.
pub fn parse_body<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, Problem> {
    // an object only: serde would also read a struct from an array of its members
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{')
        && let Ok(value) = serde_json::from_slice(bytes)
    {
        // the common case pays no path tracking; an error is parsed again to name the field
        return Ok(value);
    }
    if first != Some(&b'{') {
        return Err(match jwtshield_core::json::parse_value(bytes, 64) {
            Ok(other) => Problem::bad_request(format!(
                "the request body must be a JSON object, found {}",
                jwtshield_core::json::kind_of(&other)
            )),
            Err(e) => Problem::bad_request(format!("the request body is not valid JSON: {e}")),
        });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return Problem::bad_request(format!("the request body is not valid JSON: {inner}"));
        }
        let text = inner.to_string();
        let text = text.split(" at line ").next().unwrap_or_default();
        field_problem(&path, text)
    })?;
    de.end()
        .map_err(|e| Problem::bad_request(format!("the request body is not valid JSON: {e}")))?;
    Ok(value)
}

/// Which of two alternative members a request gave.
pub enum OneOf<A, B> {
    /// The first.
    First(A),
    /// The second.
    Second(B),
}

/// The rule "exactly one of `a` or `b`": both or neither is a 400 naming `a` (the
/// member a client most likely meant), with `missing` as the advice when neither came.
pub fn one_of<A, B>(
    (a, a_name): (Option<A>, &str),
    (b, b_name): (Option<B>, &str),
    missing: &str,
) -> Result<OneOf<A, B>, Problem> {
    match (a, b) {
        (Some(_), Some(_)) => Err(Problem::bad_field(
            a_name,
            format!("give either `{a_name}` or `{b_name}`, not both"),
        )),
        (None, None) => Err(Problem::bad_field(a_name, missing)),
        (Some(a), None) => Ok(OneOf::First(a)),
        (None, Some(b)) => Ok(OneOf::Second(b)),
    }
}

/// A deserialization error turned into a problem naming the field.
fn field_problem(path: &str, text: &str) -> Problem {
    let quoted = |prefix: &str| {
        text.strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned)
    };
    // a member of a nested object is named by its whole path (`dpop.uri`)
    let within = |name: String| match path {
        "." | "" => name,
        p if p.ends_with(&format!(".{name}")) || p == name => p.to_owned(),
        p => format!("{p}.{name}"),
    };
    if let Some(name) = quoted("missing field `").map(within) {
        return Problem::bad_field(name.clone(), format!("`{name}` is required"));
    }
    if let Some(name) = quoted("duplicate field `").map(within) {
        return Problem::bad_field(
            name.clone(),
            format!("member `{name}` appears more than once"),
        );
    }
    if text.starts_with("unknown field `") {
        let name = within(quoted("unknown field `").unwrap_or_default());
        let expected = text.split_once(", expected ").map(|(_, e)| e).unwrap_or("");
        return Problem::bad_field(
            name.clone(),
            format!("unknown field `{name}`; expected {expected}"),
        );
    }
    let field = if path == "." {
        String::new()
    } else {
        path.to_owned()
    };
    let message = match text
        .strip_prefix("invalid type: ")
        .and_then(|t| t.split_once(", expected "))
    {
        Some((found, expected)) => format!("must be {expected}, found {found}"),
        None => text.to_owned(),
    };
    if field.is_empty() {
        Problem::bad_request(message)
    } else {
        Problem::bad_field(field.clone(), format!("`{field}` {message}"))
    }
}

/// The ValidationResult of a report, not to be cached (it holds claims).
pub fn report_response(report: &jwtshield_core::Report) -> Response {
    let mut body = Vec::with_capacity(
        512 + report.header().map_or(0, |h| h.as_str().len())
            + report.claims().map_or(0, |c| c.as_str().len()),
    );
    match report.write_json(&mut body) {
        Ok(()) => no_store_json(body),
        Err(e) => Problem::internal(format!("cannot serialize the response: {e}")).into_response(),
    }
}

fn no_store_json(body: Vec<u8>) -> Response {
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// A JSON response that must not be cached (it may hold claims).
pub fn json_no_store<T: Serialize>(value: &T) -> Response {
    let mut body = Vec::with_capacity(2048);
    match serde_json::to_writer(&mut body, value) {
        Ok(()) => no_store_json(body),
        Err(e) => Problem::internal(format!("cannot serialize the response: {e}")).into_response(),
    }
}
