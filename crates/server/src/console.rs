//! The web console at `/`: plain HTML, CSS and JavaScript modules embedded in the
//! binary (no build step, no CDN, works offline). Served with a strict
//! Content-Security-Policy (this origin only, no inline script or style),
//! `Referrer-Policy: no-referrer` and no caching of the page. `--no-console` leaves
//! these routes out.

use axum::extract::Path;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::problem::Problem;

/// The console's files: name, content type, body.
const ASSETS: [(&str, &str, &str); 3] = [
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../console/app.js"),
    ),
    (
        "view.js",
        "text/javascript; charset=utf-8",
        include_str!("../console/view.js"),
    ),
    (
        "console.css",
        "text/css; charset=utf-8",
        include_str!("../console/console.css"),
    ),
];

const INDEX: &str = include_str!("../console/index.html");

/// Only this origin, for everything; no inline code; no framing; forms post here only.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn with_headers(content_type: &'static str, body: &'static str) -> Response {
    let headers: [(HeaderName, HeaderValue); 6] = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        // a new binary's console is never mixed with an old one's cached files
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    (StatusCode::OK, headers, body).into_response()
}

/// The console page.
#[utoipa::path(
    get,
    path = "/",
    operation_id = "console",
    tag = "operations",
    responses((status = 200, description = "The web console (HTML); absent with --no-console", body = String, content_type = "text/html"))
)]
pub async fn index() -> Response {
    with_headers("text/html; charset=utf-8", INDEX)
}

/// One of the console's scripts or its stylesheet.
pub async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, ty, body)) => with_headers(ty, body),
        None => Problem::not_found("not-found", "no such console file").into_response(),
    }
}
