//! `/healthz`, `/readyz`, `/v1/status` and the HTML status page `/status`.

use std::fmt::Write;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde_json::{Value, json};

use crate::schema;
use crate::state::AppState;

/// 200 while the process serves.
#[utoipa::path(get, path = "/healthz", operation_id = "healthz", tag = "operations", responses((status = 200, description = "Serving", body = String)))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// 200 when every issuer profile has a usable key; 503 while one has none (its first
/// fetch has not finished, or its issuer's outage outlasted the stale window). The body
/// names the profiles that are not ready and why.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Every issuer profile has a usable key", body = schema::Readiness),
        (status = 503, description = "Some issuer profiles have no usable key; `not_ready` names them", body = schema::Readiness),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let not_ready: Vec<schema::ProfileKeys> = state
        .profile_keys()
        .into_iter()
        .filter(|p| !p.usable)
        .collect();
    let ready = not_ready.is_empty();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let revocations = state.revocations().status();
    let mut res = (
        status,
        Json(schema::Readiness {
            ready,
            not_ready,
            revocations,
        }),
    )
        .into_response();
    res.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    res
}

fn status_value(state: &AppState) -> Value {
    let profile_keys = state.profile_keys();
    let secs = state
        .started_at()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": state.uptime(),
        "started_at": jwtshield_core::timefmt::utc(secs),
        "ready": profile_keys.iter().all(|p| p.usable),
        "jwks_insecure": state.config().insecure(),
        "profiles": state.profiles().keys().collect::<Vec<_>>(),
        "key_sets": state.keysets().status(),
        "profile_keys": profile_keys,
        "discovery": state.keysets().discovery_status(),
        "verified_cache": verified_cache(state),
        "revocations": state.revocations().status(),
        "rate_limits": {
            "mode": state.limiter().mode(),
            "refused": state.limiter().refused(),
        },
    })
}

fn verified_cache(state: &AppState) -> Value {
    let (hits, misses) = crate::telemetry::verified_cache_counts();
    match state.keysets().verified_cache() {
        Some(c) => {
            json!({"enabled": true, "entries": c.len(), "capacity": c.capacity(), "hits": hits, "misses": misses})
        }
        None => {
            json!({"enabled": false, "entries": 0, "capacity": 0, "hits": hits, "misses": misses})
        }
    }
}

/// Version, uptime, profiles and every cached key set: key ids, fetched and expiry
/// times, stale flag, last error, fetch count, skipped keys.
#[utoipa::path(get, path = "/v1/status", operation_id = "getStatus", tag = "operations", responses((status = 200, description = "Service status", body = schema::Status)))]
pub async fn status(State(state): State<AppState>) -> Json<Value> {
    Json(status_value(&state))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The same status for people, as one self-contained HTML page (no external assets).
#[utoipa::path(get, path = "/status", operation_id = "statusPage", tag = "operations", responses((status = 200, description = "HTML status page", body = String, content_type = "text/html")))]
pub async fn status_page(State(state): State<AppState>) -> Response {
    let v = status_value(&state);
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>JWTShield status</title>\
         <style>body{{font:14px system-ui,sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse;margin:1em 0}}\
         td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}}.bad{{color:#b00}}.ok{{color:#070}}code{{font-size:12px}}</style>\
         </head><body><h1>JWTShield</h1><p>version {} · up {} s · {} · SSRF guard {}</p>",
        esc(v["version"].as_str().unwrap_or("")),
        v["uptime_seconds"],
        if v["ready"] == true {
            "<span class=ok>ready</span>"
        } else {
            "<span class=bad>not ready: a profile has no usable key</span>"
        },
        if v["jwks_insecure"] == true {
            "<span class=bad>OFF (insecure)</span>"
        } else {
            "<span class=ok>on</span>"
        },
    );
    let _ = write!(
        h,
        "<h2>Issuer profiles</h2><table><tr><th>profile</th><th>keys from</th><th>key-set URL</th><th>state</th></tr>"
    );
    for p in v["profile_keys"].as_array().into_iter().flatten() {
        let state = match (p["usable"].as_bool(), p["reason"].as_str()) {
            (Some(true), _) => "<span class=ok>usable key</span>".to_owned(),
            (_, reason) => format!(
                "<span class=bad>no usable key: {}</span>",
                esc(reason.unwrap_or("unknown"))
            ),
        };
        let _ = write!(
            h,
            "<tr><td><code>{}</code></td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            esc(p["profile"].as_str().unwrap_or("")),
            esc(p["source"].as_str().unwrap_or("")),
            esc(p["url"].as_str().unwrap_or("-")),
            state,
        );
    }
    let _ = write!(
        h,
        "</table><h2>Key sets</h2><table><tr><th>URL</th><th>key ids</th><th>fetched</th><th>expires</th><th>fetches</th><th>state</th><th>skipped keys</th></tr>"
    );
    for s in v["key_sets"].as_array().into_iter().flatten() {
        let kids: Vec<&str> = s["kids"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let state = match (s["stale"].as_bool(), s["last_error"].as_str()) {
            _ if s["unusable"] == true => format!(
                "<span class=bad>unusable: {}</span>",
                esc(s["last_error"].as_str().unwrap_or("never fetched"))
            ),
            (Some(true), Some(e)) => format!("<span class=bad>stale: {}</span>", esc(e)),
            (_, Some(e)) => format!("<span class=bad>{}</span>", esc(e)),
            _ => "<span class=ok>fresh</span>".to_owned(),
        };
        let skipped: Vec<String> = s["skipped_keys"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|k| {
                format!(
                    "{}: {}",
                    esc(k["kid"].as_str().unwrap_or("?")),
                    esc(k["reason"].as_str().unwrap_or(""))
                )
            })
            .collect();
        let _ = write!(
            h,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(s["url"].as_str().unwrap_or("")),
            esc(&kids.join(", ")),
            esc(s["fetched_at"].as_str().unwrap_or("-")),
            esc(s["expires_at"].as_str().unwrap_or("-")),
            s["fetch_count"],
            state,
            skipped.join("<br>"),
        );
    }
    let _ = write!(
        h,
        "</table><h2>Discovery</h2><table><tr><th>issuer</th><th>key-set URL</th><th>state</th></tr>"
    );
    for d in v["discovery"].as_array().into_iter().flatten() {
        let state = match d["last_error"].as_str() {
            Some(e) => format!("<span class=bad>{}</span>", esc(e)),
            None => "<span class=ok>ok</span>".to_owned(),
        };
        let _ = write!(
            h,
            "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td></tr>",
            esc(d["issuer"].as_str().unwrap_or("")),
            esc(d["jwks_uri"].as_str().unwrap_or("-")),
            state,
        );
    }
    let r = &v["revocations"];
    let state = match (r["healthy"].as_bool(), r["last_error"].as_str()) {
        (Some(true), _) => "<span class=ok>in sync</span>".to_owned(),
        (_, e) => format!(
            "<span class=bad>store unreachable, enforcing the last known rules: {}</span>",
            esc(e.unwrap_or("unknown"))
        ),
    };
    let _ = write!(
        h,
        "</table><h2>Revocations</h2><p>store <code>{}</code> · {} live rules · last sync {} s ago · {}</p>\
         <h2>Rate limits</h2><p>{} · {} requests refused (429) since start</p>",
        esc(r["store"].as_str().unwrap_or("")),
        r["rules"],
        r["stale_seconds"],
        state,
        esc(v["rate_limits"]["mode"].as_str().unwrap_or("")),
        v["rate_limits"]["refused"],
    );
    let _ = write!(
        h,
        "<p><a href=\"/v1/status\">JSON</a> · <a href=\"/metrics\">metrics</a> · <a href=\"/docs/\">API docs</a></p></body></html>"
    );
    (StatusCode::OK, Html(h)).into_response()
}
