//! `GET /metrics`: Prometheus text format.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// Requests by endpoint and status, validations by outcome and failed check, latency
/// histograms, key-set fetches by result, cache hits, stale sets.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format", body = String, content_type = "text/plain"))
)]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let sets = state.keysets().status();
    metrics::gauge!("jwtshield_jwks_key_sets").set(sets.len() as f64);
    metrics::gauge!("jwtshield_jwks_stale_sets")
        .set(sets.iter().filter(|s| s.stale).count() as f64);
    metrics::gauge!("jwtshield_jwks_failing_sets")
        .set(sets.iter().filter(|s| s.last_error.is_some()).count() as f64);
    metrics::gauge!("jwtshield_profiles").set(state.profiles().len() as f64);
    metrics::gauge!("jwtshield_uptime_seconds").set(state.uptime() as f64);
    let lookups = state.keysets().lookup_counts();
    for (result, n) in [
        ("hit", lookups.hit),
        ("miss", lookups.miss),
        ("unreachable", lookups.unreachable),
    ] {
        metrics::counter!("jwtshield_jwks_lookups_total", "result" => result).absolute(n);
    }
    let (entries, capacity) = state
        .keysets()
        .verified_cache()
        .map(|c| (c.len(), c.capacity()))
        .unwrap_or_default();
    metrics::gauge!("jwtshield_verified_cache_entries").set(entries as f64);
    metrics::gauge!("jwtshield_verified_cache_capacity").set(capacity as f64);
    let admission = state.admission();
    metrics::gauge!("jwtshield_http_in_flight").set(admission.in_flight() as f64);
    metrics::gauge!("jwtshield_http_queue_delay_seconds")
        .set(admission.queue_delay().as_secs_f64());
    metrics::gauge!("jwtshield_http_queue_delay_peak_seconds")
        .set(admission.take_peak_delay().as_secs_f64());
    let mut res = state.metrics().render().into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    res
}
