//! RFC 9457 problem details: the one error type of the service.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// An RFC 9457 problem, boxed so `Result<_, Problem>` stays small.
#[derive(Clone, Debug)]
pub struct Problem(Box<ProblemDetails>);

/// An RFC 9457 problem: `application/problem+json`.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Problem)]
pub struct ProblemDetails {
    /// A URI naming the problem type, e.g. `urn:jwtshield:problem:invalid-request`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the problem type.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong, for a person.
    pub detail: String,
    /// The request field at fault, as a path such as `policy.audiences`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Extra facts (for example the available profile ids).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub extra: Option<serde_json::Value>,
    #[serde(skip)]
    retry_after: Option<u64>,
}

impl Problem {
    /// A problem with this status, `type` slug, title and detail.
    pub fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Problem {
        Problem(Box::new(ProblemDetails {
            kind: format!("urn:jwtshield:problem:{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
            extra: None,
            retry_after: None,
        }))
    }

    /// The details.
    pub fn details(&self) -> &ProblemDetails {
        &self.0
    }

    /// 400: the request itself is wrong.
    pub fn bad_request(detail: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-request",
            "Invalid request",
            detail,
        )
    }

    /// 400 naming the field at fault.
    pub fn bad_field(field: impl Into<String>, detail: impl Into<String>) -> Problem {
        let mut p = Problem::bad_request(detail);
        p.0.field = Some(field.into());
        p
    }

    /// 404: no such thing.
    pub fn not_found(slug: &str, detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, slug, "Not found", detail)
    }

    /// 404 for an issuer profile id that is not loaded, listing the ones that are.
    pub fn unknown_profile(id: &str, profiles: &jwtshield_core::Profiles) -> Problem {
        Problem::not_found(
            "unknown-issuer-profile",
            format!("no issuer profile \"{id}\""),
        )
        .with_extra(serde_json::json!({"profiles": profiles.keys().collect::<Vec<_>>()}))
    }

    /// 413: body over the limit.
    pub fn too_large(limit: usize) -> Problem {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            "Request body too large",
            format!(
                "the request body is over the {limit}-byte limit (--max-body-bytes, JWTSHIELD_MAX_BODY_BYTES)"
            ),
        )
    }

    /// 415: not JSON.
    pub fn unsupported_media_type(detail: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            detail,
        )
    }

    /// 503: overloaded or too slow; try again shortly.
    pub fn unavailable(detail: impl Into<String>) -> Problem {
        let mut p = Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
            detail,
        );
        p.0.retry_after = Some(1);
        p
    }

    /// 405.
    pub fn method_not_allowed() -> Problem {
        Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
            "this endpoint does not accept that method; see /openapi.json",
        )
    }

    /// 500: a bug; never caused by a token or a key set.
    pub fn internal(detail: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            detail,
        )
    }

    /// Adds extra facts.
    pub fn with_extra(mut self, extra: serde_json::Value) -> Problem {
        self.0.extra = Some(extra);
        self
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let p = self.0;
        let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&p).unwrap_or_default();
        let mut res = (status, body).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(s) = p.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        res
    }
}
