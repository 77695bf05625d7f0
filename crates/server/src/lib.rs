//! # jwtshield-server
//!
//! The JWTShield HTTP service, as fixed by the contract: `POST /v1/validate/jwt`,
//! `POST /v1/inspect/token`, presets, issuer profiles, health, status, OpenAPI 3.1 at
//! `/openapi.json` with docs at `/docs`, Prometheus metrics at `/metrics`.
//!
//! [`app`] builds the router from an [`AppState`]; [`run`] loads the configuration,
//! binds, serves until SIGTERM/SIGINT (draining in-flight requests) and reloads the
//! profiles on SIGHUP or when the file changes. Run it with `jwtshield serve`.

pub mod admission;
pub mod config;
pub mod console;
pub mod demo;
pub mod fleet;
pub mod problem;
pub mod ratelimit;
pub mod revocations;
pub mod routes;
pub mod schema;
pub mod serve;
pub mod state;
pub mod telemetry;
pub mod tls;

use std::time::{Duration, SystemTime};

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::response::IntoResponse;
use tower::ServiceBuilder;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use crate::config::{ServeArgs, ServerConfig};
pub use crate::problem::Problem;
pub use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "JWTShield",
        description = "Tells whether a JWT access token is really good, and if not, exactly why. Every check of the product doc runs on every token; every failure is reported with evidence. The token is never stored or logged.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    tags(
        (name = "validate", description = "Validate and inspect tokens"),
        (name = "gateway", description = "Forward-auth for nginx auth_request, Traefik ForwardAuth, Envoy ext_authz"),
        (name = "presets", description = "Starter policies per identity provider"),
        (name = "profiles", description = "Issuer profiles loaded from configuration"),
        (name = "operations", description = "Health, status, metrics"),
        (name = "demo", description = "With `serve --demo` only: a local demo issuer"),
        (name = "admin", description = "Revocation rules; only when an admin credential is configured, then it is required")
    )
)]
struct ApiDoc;

/// The router and its OpenAPI document.
pub fn app_with_api(state: AppState) -> (Router, utoipa::openapi::OpenApi) {
    let router = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(routes::validate::validate))
        .routes(routes!(routes::validate::inspect))
        .routes(routes!(routes::authz::authz))
        .routes(routes!(routes::presets::list))
        .routes(routes!(routes::presets::get))
        .routes(routes!(routes::profiles::list))
        .routes(routes!(routes::profiles::get))
        .routes(routes!(routes::doctor::check))
        .routes(routes!(routes::health::healthz))
        .routes(routes!(routes::health::readyz))
        .routes(routes!(routes::health::status))
        .routes(routes!(routes::health::status_page))
        .routes(routes!(routes::metrics::metrics));
    let router = match state.demo() {
        Some(_) => router.routes(routes!(demo::token)),
        None => router,
    };
    let console = state.config().console;
    let router = match console {
        true => router.routes(routes!(console::index)),
        false => router,
    };
    // the admin API: closed unless configured; on --admin-listen only when that is given
    let admin_here = state.config().admin.enabled() && state.config().admin.listen.is_none();
    let router = match admin_here {
        true => router
            .routes(routes!(routes::revocations::add, routes::revocations::list))
            .routes(routes!(routes::revocations::delete)),
        false => router,
    };
    let (router, mut api) = router.split_for_parts();
    if admin_here {
        admin_security(&mut api);
    }
    api.info.version = env!("CARGO_PKG_VERSION").to_owned();
    exactly_one_policy_source(&mut api);
    unique_authz_operation_ids(&mut api);
    let cfg = state.config().clone();
    let admission = state.admission().clone();
    admission.spawn_monitor();
    let docs = utoipa_swagger_ui::SwaggerUi::new("/docs").url("/openapi.json", api.clone());
    let router = router
        // Envoy ext_authz appends the original path to the authorization path
        .route(
            "/v1/authz/{*path}",
            axum::routing::any(routes::authz::authz),
        )
        .with_state(state)
        .merge(docs)
        .merge(match console {
            true => Router::new().route("/console/{name}", axum::routing::get(console::asset)),
            false => Router::new(),
        })
        .fallback(|| async {
            Problem::not_found("not-found", "no such endpoint; see /openapi.json or /docs")
        })
        .method_not_allowed_fallback(|| async { Problem::method_not_allowed() })
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(overloaded))
                .timeout(cfg.request_timeout),
        )
        .layer(admission::AdmissionLayer(admission))
        .layer(axum::middleware::from_fn(telemetry::track));
    (router, api)
}

/// `ValidateRequest` takes `policy` or `issuer_profile_id`, exactly one, and `NewRule`
/// one of `jti`, `sub`, `client_id`: rules between members that derive(ToSchema) cannot
/// state, added as `allOf [object, oneOf]`.
fn exactly_one_policy_source(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, OneOfBuilder};
    let Some(components) = api.components.as_mut() else {
        return;
    };
    let exactly_one = [
        (
            "ValidateRequest",
            &["policy", "issuer_profile_id"][..],
            "A token and either an inline `policy` or an `issuer_profile_id`, exactly one. Unknown members and `null` members are refused.",
        ),
        (
            "IssuerCheckRequest",
            &["issuer", "issuer_profile_id"][..],
            "An `issuer` URL or an `issuer_profile_id`, exactly one. Unknown members and `null` members are refused.",
        ),
        (
            "NewRule",
            &["jti", "sub", "client_id"][..],
            "An issuer and exactly one of `jti`, `sub`, `client_id`. `issued_before` goes with `sub` or `client_id` only; `expires_at` must be in the future. Unknown members and `null` members are refused.",
        ),
    ];
    for (name, members, description) in exactly_one {
        let Some(object) = components.schemas.remove(name) else {
            continue;
        };
        let one_of = members.iter().fold(OneOfBuilder::new(), |b, m| {
            b.item(ObjectBuilder::new().required(*m))
        });
        let schema = AllOfBuilder::new()
            .item(object)
            .item(one_of)
            .description(Some(description));
        components.schemas.insert(name.to_owned(), schema.into());
    }
}

/// `/v1/authz` answers every method with one handler; OpenAPI wants one operation id per
/// method: `authz` for GET, `authzHead`, `authzPost`, ... for the others.
fn unique_authz_operation_ids(api: &mut utoipa::openapi::OpenApi) {
    let Some(item) = api.paths.paths.get_mut("/v1/authz") else {
        return;
    };
    let ops = [
        ("Head", &mut item.head),
        ("Post", &mut item.post),
        ("Put", &mut item.put),
        ("Patch", &mut item.patch),
        ("Delete", &mut item.delete),
        ("Options", &mut item.options),
    ];
    for (suffix, op) in ops {
        if let Some(op) = op.as_mut() {
            op.operation_id = Some(format!("authz{suffix}"));
        }
    }
}

/// The bearer scheme of the admin operations.
fn admin_security(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
    let components = api.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "admin",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "The admin token (--admin-token-file), or a JWT of the admin profile with the jwtshield:admin scope",
                ))
                .build(),
        ),
    );
}

/// The admin API alone, for `--admin-listen`: the revocation routes and `/healthz`.
pub fn admin_app(state: AppState) -> Router {
    let (router, _) = OpenApiRouter::new()
        .routes(routes!(routes::revocations::add, routes::revocations::list))
        .routes(routes!(routes::revocations::delete))
        .routes(routes!(routes::health::healthz))
        .split_for_parts();
    router
        .with_state(state)
        .fallback(|| async {
            Problem::not_found(
                "not-found",
                "the admin listener serves /v1/revocations only",
            )
        })
        .layer(axum::middleware::from_fn(telemetry::track))
}

/// The router (see [`app_with_api`]).
pub fn app(state: AppState) -> Router {
    app_with_api(state).0
}

async fn overloaded(err: tower::BoxError) -> axum::response::Response {
    if err.is::<tower::timeout::error::Elapsed>() {
        metrics::counter!("jwtshield_http_shed_total", "reason" => "timeout").increment(1);
        Problem::unavailable("the request took longer than the request timeout").into_response()
    } else {
        Problem::internal(format!("unhandled error: {err}")).into_response()
    }
}

fn mtime(path: &std::path::Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Reloads the profiles file and the TLS certificate on SIGHUP and when their files
/// change (checked every 2 s). A bad file is refused and logged; the old one stays.
pub fn spawn_reloader(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let profiles_file = state.config().profiles_file.clone();
        let tls = state.config().connections.tls.clone();
        if profiles_file.is_none() && tls.is_none() {
            return;
        }
        let mut last = profiles_file.as_deref().and_then(mtime);
        #[cfg(unix)]
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        loop {
            #[cfg(unix)]
            let signalled = async {
                match hup.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            #[cfg(not(unix))]
            let signalled = std::future::pending::<()>();
            let hup = tokio::select! {
                _ = signalled => true,
                _ = tokio::time::sleep(Duration::from_secs(2)) => false,
            };
            let why = if hup { "SIGHUP" } else { "file change" };
            if let Some(tls) = &tls {
                let reloaded = if hup {
                    Some(tls.reload())
                } else {
                    tls.reload_if_changed()
                };
                match reloaded {
                    Some(Ok(())) => tracing::info!(reason = why, "TLS certificate reloaded"),
                    Some(Err(e)) => {
                        tracing::error!(reason = why, error = %e, "TLS certificate NOT reloaded; the previous one stays")
                    }
                    None => {}
                }
            }
            let Some(path) = &profiles_file else { continue };
            let now = mtime(path);
            if !hup && now == last {
                continue;
            }
            last = now;
            match state.reload_profiles() {
                Ok(n) => {
                    tracing::info!(reason = why, profiles = n, file = %path.display(), "issuer profiles reloaded")
                }
                Err(e) => {
                    tracing::error!(reason = why, error = %e, "issuer profiles NOT reloaded; the previous profiles stay")
                }
            }
        }
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: draining in-flight requests");
}

/// Loads everything, binds and serves until SIGTERM/SIGINT. Configuration problems
/// come back as errors naming the setting, profile and field.
pub async fn run(config: ServerConfig) -> Result<(), config::ConfigError> {
    let _log_guard = telemetry::init_logging(config.log_format);
    if config.insecure() {
        tracing::warn!(
            "--jwks-allow-insecure is on: http:// key URLs and loopback/private addresses are allowed (development and tests only)"
        );
    }
    let listen = config.listen;
    let mut limits = config.connections.clone();
    limits.max_connections = serve::connection_budget(limits.max_connections);
    let state = AppState::new(config, telemetry::metrics_handle())?;
    let profiles = state.profiles();
    state.set_profiles((*profiles).clone());
    let _refresher = state.keysets().spawn_refresher();
    let _upkeep = telemetry::spawn_upkeep(state.metrics().clone());
    let _reloader = spawn_reloader(state.clone());
    let _revocation_sync = state.revocations().spawn_sync(state.config().state_resync);
    let _admin = match state.config().admin.listen {
        Some(addr) => {
            let admin = serve::bind(addr, limits.backlog).map_err(|e| {
                config::ConfigError(format!("admin_listen: cannot bind {addr}: {e}"))
            })?;
            tracing::info!(address = %addr, "admin API listening");
            Some(tokio::spawn(serve::serve(
                admin,
                admin_app(state.clone()),
                limits.clone(),
                shutdown_signal(),
            )))
        }
        None => None,
    };
    let listener = serve::bind(listen, limits.backlog)
        .map_err(|e| config::ConfigError(format!("listen: cannot bind {listen}: {e}")))?;
    let scheme = if limits.tls.is_some() {
        "https"
    } else {
        "http"
    };
    tracing::info!(address = %listen, scheme, profiles = profiles.len(), max_connections = limits.max_connections, version = env!("CARGO_PKG_VERSION"), "jwtshield listening");
    if limits.tls.is_none() && !listen.ip().is_loopback() {
        tracing::warn!(address = %listen, "serving plain HTTP on a non-loopback address: bearer tokens cross the network in clear; use --tls-cert/--tls-key or a TLS-terminating proxy");
    }
    if let Some(demo) = state.demo() {
        tracing::warn!(
            "--demo is on: POST /v1/demo/token mints tokens that the `demo` profile accepts; for trying JWTShield, never for production"
        );
        // to stdout, for the person at the terminal (the log never holds a token)
        println!("{}", demo::banner(demo, listen));
    }
    serve::serve(listener, app(state), limits, shutdown_signal())
        .await
        .map_err(|e| config::ConfigError(format!("server error: {e}")))?;
    tracing::info!("stopped");
    Ok(())
}
