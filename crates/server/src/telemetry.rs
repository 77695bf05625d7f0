//! Logs (tracing, text or JSON, to stderr) and metrics (Prometheus text). Nothing
//! here ever logs a token: requests are logged by route and status, and a validation
//! by its issuer, kid, outcome, failed checks and a hash-prefix fingerprint. The
//! per-request metrics use handles registered once, so a request pays a few atomic
//! adds, not registry lookups.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

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

/// Drains the recorder's histogram samples into their buckets every few seconds, so
/// memory stays flat between scrapes (samples are otherwise kept until rendered).
pub fn spawn_upkeep(handle: PrometheusHandle) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            handle.run_upkeep();
        }
    })
}

/// The endpoints that validate tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /v1/validate/jwt`.
    Validate,
    /// `GET /v1/authz`.
    Authz,
}

impl Endpoint {
    fn as_str(self) -> &'static str {
        match self {
            Endpoint::Validate => "validate",
            Endpoint::Authz => "authz",
        }
    }
}

/// Routes whose request metrics are registered once (a label set per status below);
/// anything else goes through the registry.
const ROUTES: [&str; 8] = [
    "/v1/validate/jwt",
    "/v1/authz",
    "/v1/authz/{*path}",
    "/v1/inspect/token",
    "/healthz",
    "/readyz",
    "/v1/status",
    "/metrics",
];
const STATUSES: [u16; 10] = [200, 400, 401, 403, 404, 405, 413, 415, 429, 503];

/// Metric handles of the per-request path, registered once: the registry lookup (a
/// hash of name and labels) is then paid at start, not per request.
struct Hot {
    requests: Vec<[metrics::Counter; STATUSES.len()]>,
    latency: Vec<metrics::Histogram>,
    validations: [[metrics::Counter; 2]; 2],
    validation_latency: [metrics::Histogram; 2],
    failures: Vec<metrics::Counter>,
    verified_cache: [metrics::Counter; 2],
}

fn hot() -> &'static Hot {
    static HOT: OnceLock<Hot> = OnceLock::new();
    HOT.get_or_init(|| {
        let endpoints = [Endpoint::Validate, Endpoint::Authz];
        Hot {
            requests: ROUTES
                .iter()
                .map(|r| {
                    STATUSES.map(|s| {
                        metrics::counter!("jwtshield_http_requests_total", "endpoint" => *r, "status" => s.to_string())
                    })
                })
                .collect(),
            latency: ROUTES
                .iter()
                .map(|r| metrics::histogram!("jwtshield_http_request_duration_seconds", "endpoint" => *r))
                .collect(),
            validations: endpoints.map(|e| {
                ["valid", "invalid"].map(|o| {
                    metrics::counter!("jwtshield_validations_total", "endpoint" => e.as_str(), "outcome" => o)
                })
            }),
            validation_latency: endpoints.map(|e| {
                metrics::histogram!("jwtshield_validation_duration_seconds", "endpoint" => e.as_str())
            }),
            failures: jwtshield_core::Check::ALL
                .iter()
                .map(|c| metrics::counter!("jwtshield_validation_failures_total", "check" => c.as_str()))
                .collect(),
            verified_cache: ["hit", "miss"].map(|r| {
                metrics::counter!("jwtshield_verified_cache_lookups_total", "result" => r)
            }),
        }
    })
}

static CACHE_COUNTS: [std::sync::atomic::AtomicU64; 2] = [
    std::sync::atomic::AtomicU64::new(0),
    std::sync::atomic::AtomicU64::new(0),
];

/// Verified-signature cache hits and misses of the validations recorded so far (for
/// `/v1/status`; `/metrics` has them as `jwtshield_verified_cache_lookups_total`).
pub fn verified_cache_counts() -> (u64, u64) {
    let n = |i: usize| CACHE_COUNTS[i].load(std::sync::atomic::Ordering::Relaxed);
    (n(0), n(1))
}

/// Counts requests by route and status and records their latency.
pub async fn track(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|p| {
        let p = p.as_str();
        (ROUTES.iter().position(|r| *r == p), p.to_owned())
    });
    let start = Instant::now();
    let res = next.run(req).await;
    let elapsed = start.elapsed();
    let status = res.status().as_u16();
    let known = route.as_ref().and_then(|(i, _)| *i);
    match (known, STATUSES.iter().position(|s| *s == status)) {
        (Some(r), Some(si)) => {
            let hot = hot();
            hot.requests[r][si].increment(1);
            hot.latency[r].record(elapsed.as_secs_f64());
        }
        _ => {
            let route = route
                .map(|(_, p)| p)
                .unwrap_or_else(|| "unmatched".to_owned());
            metrics::counter!("jwtshield_http_requests_total", "endpoint" => route.clone(), "status" => status.to_string()).increment(1);
            metrics::histogram!("jwtshield_http_request_duration_seconds", "endpoint" => route)
                .record(elapsed.as_secs_f64());
        }
    }
    if tracing::enabled!(target: "jwtshield::http", tracing::Level::DEBUG) {
        tracing::debug!(target: "jwtshield::http", status, micros = elapsed.as_micros() as u64, "request");
    }
    res
}

/// Untrusted text for a log field: at most 200 characters (logged with Debug, so
/// quotes and control characters are escaped).
fn clip(s: &str) -> &str {
    match s.char_indices().nth(200) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Records one validation in the metrics and the log: an invalid token is logged at
/// `info`, a valid one at `debug` (`RUST_LOG=jwtshield::validation=debug` logs every
/// validation).
pub fn record_validation(
    endpoint: Endpoint,
    report: &jwtshield_core::Report,
    token: &jwtshield_core::Token<'_>,
    profile: Option<&str>,
    elapsed: std::time::Duration,
) {
    let hot = hot();
    let e = endpoint as usize;
    let valid = report.valid();
    hot.validations[e][usize::from(!valid)].increment(1);
    hot.validation_latency[e].record(elapsed.as_secs_f64());
    if let Some(hit) = report.signature_cached() {
        hot.verified_cache[usize::from(!hit)].increment(1);
        CACHE_COUNTS[usize::from(!hit)].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    if valid {
        if tracing::enabled!(target: "jwtshield::validation", tracing::Level::DEBUG) {
            log_validation(endpoint, report, token, profile, elapsed);
        }
        return;
    }
    let failed = report.failed_checks();
    for c in &failed {
        if let Some(i) = jwtshield_core::Check::ALL.iter().position(|x| x == c) {
            hot.failures[i].increment(1);
        }
    }
    if tracing::enabled!(target: "jwtshield::validation", tracing::Level::INFO) {
        log_validation(endpoint, report, token, profile, elapsed);
    }
}

/// One log line: issuer, kid, outcome, failed checks, codes and a fingerprint of the
/// token (never the token).
fn log_validation(
    endpoint: Endpoint,
    report: &jwtshield_core::Report,
    token: &jwtshield_core::Token<'_>,
    profile: Option<&str>,
    elapsed: std::time::Duration,
) {
    let member = |obj: Option<&JsonObject>, name: &str| {
        obj.and_then(|o| o.raw(name))
            .and_then(jwtshield_core::json::raw_str)
            .map(|s| s.into_owned())
            .unwrap_or_default()
    };
    let iss = member(report.claims(), "iss");
    let kid = member(report.header(), "kid");
    let failed: Vec<&str> = report.failed_checks().iter().map(|c| c.as_str()).collect();
    let codes: Vec<&str> = report.errors().map(|f| f.code.as_str()).collect();
    let outcome = if report.valid() { "valid" } else { "invalid" };
    if report.valid() {
        tracing::debug!(
            target: "jwtshield::validation",
            endpoint = endpoint.as_str(),
            outcome,
            iss = ?clip(&iss),
            kid = ?clip(&kid),
            profile = profile.unwrap_or(""),
            cached = report.signature_cached().unwrap_or(false),
            token_fp = %token.fingerprint(),
            micros = elapsed.as_micros() as u64,
            "validation"
        );
    } else {
        tracing::info!(
            target: "jwtshield::validation",
            endpoint = endpoint.as_str(),
            outcome,
            iss = ?clip(&iss),
            kid = ?clip(&kid),
            profile = profile.unwrap_or(""),
            failed_checks = %failed.join(","),
            codes = %codes.join(","),
            token_fp = %token.fingerprint(),
            micros = elapsed.as_micros() as u64,
            "validation"
        );
    }
}
