//! The admin API for revocation rules: `POST /v1/revocations`, `GET /v1/revocations`,
//! `DELETE /v1/revocations/{id}`. Mounted only when an admin credential is configured
//! (`--admin-token-file`, `--admin-profile`); every call needs it. Every change is
//! logged (who, what; never a token) and counted.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jwtshield_core::revocation::Rule;
use jwtshield_jwks::unix_now;
use serde_json::json;

use super::{json_no_store, parse_body, read_body};
use crate::problem::{Problem, ProblemDetails};
use crate::revocations::{DEFAULT_RULE_LIFETIME, Filter, NewRule};
use crate::state::AppState;

/// The scope a JWT needs for the admin API.
pub const ADMIN_SCOPE: &str = "jwtshield:admin";

/// Who made a change, for the log.
pub struct Admin(String);

fn challenge(status: StatusCode, error: Option<&str>, description: &str) -> Response {
    let mut value = "Bearer realm=\"jwtshield-admin\"".to_owned();
    if let Some(e) = error {
        value.push_str(&format!(
            ", error=\"{e}\", error_description=\"{description}\""
        ));
        if e == "insufficient_scope" {
            value.push_str(&format!(", scope=\"{ADMIN_SCOPE}\""));
        }
    }
    let title = if status == StatusCode::FORBIDDEN {
        "Forbidden"
    } else {
        "Unauthorized"
    };
    let mut res = Problem::new(status, "admin-credentials", title, description).into_response();
    if let Ok(v) = HeaderValue::from_str(&value) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    res
}

/// Checks the admin credential: the static admin token (constant-time), or a JWT the
/// admin profile accepts with the `jwtshield:admin` scope.
pub async fn authorize(state: &AppState, headers: &HeaderMap) -> Result<Admin, Response> {
    let admin = &state.config().admin;
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(challenge(
            StatusCode::UNAUTHORIZED,
            None,
            "the admin API needs credentials: Authorization: Bearer <admin token>",
        ));
    };
    let presented = match value.to_str().ok().and_then(|v| {
        let (scheme, rest) = v.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
    }) {
        Some(t) if !t.is_empty() => t,
        _ => {
            return Err(challenge(
                StatusCode::UNAUTHORIZED,
                Some("invalid_request"),
                "use Authorization: Bearer <credential>",
            ));
        }
    };
    if let Some(token) = &admin.token {
        // digests first: equal lengths, so the comparison time says nothing about length
        let want = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.expose().as_bytes());
        let got = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, presented.as_bytes());
        if aws_lc_rs::constant_time::verify_slices_are_equal(want.as_ref(), got.as_ref()).is_ok() {
            return Ok(Admin("admin-token".into()));
        }
    }
    if let Some(profile) = &admin.profile {
        let profiles = state.profiles();
        if let Some(policy) = profiles.get(profile) {
            let token = jwtshield_core::Token::parse(presented, &state.config().limits);
            // as every other token: a revoked admin JWT is refused too
            let report = state.keysets().validate(policy, &token, unix_now()).await;
            if let Some(v) = report.verified() {
                if v.scopes_ref().iter().any(|s| s == ADMIN_SCOPE) {
                    let who = format!("{} (profile {profile})", v.subject().unwrap_or("?"));
                    return Ok(Admin(who));
                }
                return Err(challenge(
                    StatusCode::FORBIDDEN,
                    Some("insufficient_scope"),
                    "the token is valid but lacks the jwtshield:admin scope",
                ));
            }
        }
    }
    Err(challenge(
        StatusCode::UNAUTHORIZED,
        Some("invalid_token"),
        "the credential is not the admin token nor a valid admin JWT",
    ))
}

/// How long a new rule lives by default: the longest `max_ttl_seconds` (plus clock
/// skew) of the profiles of its issuer, else 24 hours.
fn default_lifetime(state: &AppState, issuer: &str) -> i64 {
    state
        .profiles()
        .values()
        .filter(|p| p.policy().issuer.contains(issuer))
        .filter_map(|p| {
            let ttl = p.policy().max_ttl_seconds?;
            Some(ttl.saturating_add(p.policy().clock_skew_seconds))
        })
        .max()
        .map(|s| i64::try_from(s).unwrap_or(i64::MAX))
        .unwrap_or(DEFAULT_RULE_LIFETIME)
}

/// Adds a revocation rule; answered once it is stored.
#[utoipa::path(
    post,
    path = "/v1/revocations",
    operation_id = "addRevocation",
    tag = "admin",
    security(("admin" = [])),
    request_body(content = NewRule, content_type = "application/json"),
    responses(
        (status = 201, description = "Stored; enforced here now and on every instance within a second. Location names it", body = Object),
        (status = 400, description = "The rule is wrong; `field` names the member", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "No or wrong admin credential", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "A valid JWT without the jwtshield:admin scope", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "Content-Type is not JSON", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "The store cannot take the write (Redis unreachable); nothing was stored", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn add(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    let admin = authorize(&state, &headers).await?;
    let bytes = read_body(&headers, body, state.config().max_body_bytes)
        .await
        .map_err(IntoResponse::into_response)?;
    let new: NewRule = parse_body(&bytes).map_err(IntoResponse::into_response)?;
    let lifetime = default_lifetime(&state, &new.issuer);
    let rule = new
        .into_rule(unix_now(), lifetime)
        .map_err(|(field, msg)| {
            Problem::bad_field(field, format!("`{field}` {msg}")).into_response()
        })?;
    let stored = state
        .revocations()
        .add(rule)
        .await
        .map_err(|e| Problem::unavailable(e.to_string()).into_response())?;
    log_change(&admin, "add", &stored);
    let mut res = (StatusCode::CREATED, json_no_store(&stored)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/v1/revocations/{}", stored.id)) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

fn log_change(admin: &Admin, action: &str, rule: &Rule) {
    let (kind, value) = match &rule.target {
        jwtshield_core::revocation::Target::Jti { jti } => ("jti", jti.as_str()),
        jwtshield_core::revocation::Target::Subject { sub, .. } => ("sub", sub.as_str()),
        jwtshield_core::revocation::Target::Client { client_id, .. } => {
            ("client_id", client_id.as_str())
        }
    };
    tracing::info!(
        target: "jwtshield::admin",
        who = %admin.0,
        action,
        rule = %rule.id,
        issuer = %rule.issuer,
        kind,
        value,
        reason = rule.reason.as_deref().unwrap_or(""),
        expires_at = rule.expires_at,
        "revocation rule changed"
    );
}

/// The live rules, filtered and paged.
#[utoipa::path(
    get,
    path = "/v1/revocations",
    operation_id = "listRevocations",
    tag = "admin",
    security(("admin" = [])),
    params(Filter),
    responses(
        (status = 200, description = "`rules` (by id), `total` matching, `offset`, `limit`", body = Object),
        (status = 400, description = "A bad filter", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "No or wrong admin credential", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "A valid JWT without the jwtshield:admin scope", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<Filter>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Response> {
    authorize(&state, &headers).await?;
    let Query(f) = query.map_err(|e| Problem::bad_request(e.body_text()).into_response())?;
    let limit = f.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Problem::bad_field("limit", "`limit` must be 1 to 1000").into_response());
    }
    let offset = f.offset.unwrap_or(0);
    if offset > 1_000_000_000 {
        return Err(
            Problem::bad_field("offset", "`offset` must be 0 to 1000000000").into_response(),
        );
    }
    let (offset, limit) = (offset as usize, limit as usize);
    let all = state.revocations().list(&f);
    let page: Vec<&Rule> = all.iter().skip(offset).take(limit).collect();
    Ok(json_no_store(&json!({
        "rules": page, "total": all.len(), "offset": offset, "limit": limit,
    })))
}

/// Deletes a rule.
#[utoipa::path(
    delete,
    path = "/v1/revocations/{id}",
    operation_id = "deleteRevocation",
    tag = "admin",
    security(("admin" = [])),
    params(("id" = String, Path, description = "The rule id")),
    responses(
        (status = 204, description = "Deleted here and, within a second, on every instance"),
        (status = 401, description = "No or wrong admin credential", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "A valid JWT without the jwtshield:admin scope", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No rule with that id", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "The store cannot take the write; nothing was deleted", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Response> {
    let admin = authorize(&state, &headers).await?;
    let before = state.revocations().get(&id);
    let existed = state
        .revocations()
        .remove(&id)
        .await
        .map_err(|e| Problem::unavailable(e.to_string()).into_response())?;
    match (existed, before) {
        (true, Some(rule)) => {
            log_change(&admin, "delete", &rule);
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        (true, None) => Ok(StatusCode::NO_CONTENT.into_response()),
        (false, _) => Err(Problem::not_found(
            "unknown-revocation",
            format!("no revocation rule {id}"),
        )
        .with_extra(json!({"id": id}))
        .into_response()),
    }
}
