//! Logs (tracing, text or JSON, to stderr) and metrics (Prometheus text). Nothing
//! here ever sees a token: requests are logged by method, route and status, and a
//! validation by its issuer, kid, outcome, failed checks and a hash-prefix fingerprint.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use jwtshield_core::json::JsonObject;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global tracing subscriber: `RUST_LOG` filter (default `info`), the
/// chosen format, stderr. Lines are formatted on the calling thread and written by a
/// background thread that batches them (one write per burst, flushed whenever the
/// queue empties), so a log line per validation does not cost a syscall each. Keep
/// the returned guard alive: dropping it flushes what is queued.
pub fn init_logging(format: LogFormat) -> tracing_appender::non_blocking::WorkerGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, guard) = tracing_appender::non_blocking(std::io::BufWriter::with_capacity(
        64 * 1024,
        std::io::stderr(),
    ));
    let _ = tracing::subscriber::set_global_default(subscriber(format, filter, writer));
    guard
}

/// The service's log subscriber writing to `writer` (tests capture logs with it).
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_target(true);
    match format {
        LogFormat::Json => Box::new(builder.json().flatten_event(true).finish()),
        LogFormat::Text => Box::new(builder.with_ansi(false).finish()),
    }
}

const LATENCY_BUCKETS: [f64; 14] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
    5.0,
];

/// The process-wide Prometheus recorder (installed once; later calls share it).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets(&LATENCY_BUCKETS)
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // another recorder may already be installed (tests); then ours only renders
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Counts requests by route and status and records their latency.
pub async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().clone();
    let start = Instant::now();
    let res = next.run(req).await;
    let elapsed = start.elapsed();
    let status = res.status().as_u16().to_string();
    metrics::counter!("jwtshield_http_requests_total", "endpoint" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("jwtshield_http_request_duration_seconds", "endpoint" => route.clone())
        .record(elapsed.as_secs_f64());
    tracing::debug!(target: "jwtshield::http", %method, %route, status = res.status().as_u16(), micros = elapsed.as_micros() as u64, "request");
    res
}

/// A short fingerprint of a token for correlating logs: the first 12 hex digits of its
/// SHA-256. It identifies a token without revealing any part of it.
pub fn fingerprint(token: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.trim().as_bytes());
    let mut out = String::with_capacity(12);
    for b in &d.as_ref()[..6] {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 15)] as char);
    }
    out
}

/// Untrusted text for a log field: at most 200 characters (logged with Debug, so
/// quotes and control characters are escaped).
fn clip(s: &str) -> &str {
    match s.char_indices().nth(200) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Records one validation in the metrics and the log.
pub fn record_validation(
    endpoint: &'static str,
    report: &jwtshield_core::Report,
    token: &str,
    profile: Option<&str>,
    elapsed: std::time::Duration,
) {
    let outcome = if report.valid { "valid" } else { "invalid" };
    metrics::counter!("jwtshield_validations_total", "endpoint" => endpoint, "outcome" => outcome)
        .increment(1);
    metrics::histogram!("jwtshield_validation_duration_seconds", "endpoint" => endpoint)
        .record(elapsed.as_secs_f64());
    let failed = report.failed_checks();
    for c in &failed {
        metrics::counter!("jwtshield_validation_failures_total", "check" => c.as_str())
            .increment(1);
    }
    if tracing::enabled!(tracing::Level::INFO) {
        // a string member of the header or claims, or "" (never the token itself)
        let member = |obj: Option<&JsonObject>, name: &str| {
            obj.and_then(|o| o.raw(name))
                .and_then(jwtshield_core::json::raw_str)
                .map(|s| s.into_owned())
                .unwrap_or_default()
        };
        let iss = member(report.claims.as_ref(), "iss");
        let kid = member(report.header.as_ref(), "kid");
        let failed: Vec<&str> = failed.iter().map(|c| c.as_str()).collect();
        let codes: Vec<&str> = report.errors().map(|f| f.code.as_str()).collect();
        tracing::info!(
            target: "jwtshield::validation",
            endpoint,
            outcome,
            iss = ?clip(&iss),
            kid = ?clip(&kid),
            profile = profile.unwrap_or(""),
            failed_checks = %failed.join(","),
            codes = %codes.join(","),
            token_fp = %fingerprint(token),
            micros = elapsed.as_micros() as u64,
            "validation"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_a_short_stable_hash() {
        let a = fingerprint("aaa.bbb.ccc");
        assert_eq!(a.len(), 12);
        assert_eq!(a, fingerprint(" aaa.bbb.ccc\n"));
        assert_ne!(a, fingerprint("aaa.bbb.ccd"));
        assert!(!a.contains("aaa"));
    }
}
