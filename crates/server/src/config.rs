//! Configuration: defaults in code, overlaid by a TOML file, then environment
//! variables, then flags; validated at start with messages naming the field.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use serde::Deserialize;

/// `jwtshield serve` flags. Every flag has an environment variable; anything unset
/// falls back to the config file, then to the documented default.
#[derive(Args, Debug, Default, Clone)]
pub struct ServeArgs {
    /// Address to listen on. Default 127.0.0.1:8080.
    #[arg(long, env = "JWTSHIELD_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
    /// TOML config file (see docs/config.md).
    #[arg(long, env = "JWTSHIELD_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Issuer profiles: a JSON object of profile id to policy. Reloaded on SIGHUP and
    /// when the file changes.
    #[arg(long, env = "JWTSHIELD_PROFILES_FILE", value_name = "FILE")]
    pub profiles: Option<PathBuf>,
    /// Development and tests only: allow http:// key URLs and loopback/private addresses.
    #[arg(long, env = "JWTSHIELD_JWKS_ALLOW_INSECURE", value_parser = clap::builder::FalseyValueParser::new())]
    pub jwks_allow_insecure: bool,
    /// Exact addresses (IP:port) allowed for key sets although private, e.g. an
    /// internal Keycloak. Comma-separated.
    #[arg(
        long,
        env = "JWTSHIELD_JWKS_ALLOW_ADDRS",
        value_delimiter = ',',
        value_name = "IP:PORT"
    )]
    pub jwks_allow_addrs: Vec<String>,
    /// CA certificates (PEM) trusted for key-set and discovery fetches besides the
    /// system's: an issuer on a private PKI.
    #[arg(long, env = "JWTSHIELD_JWKS_CA_FILE", value_name = "FILE")]
    pub jwks_ca_file: Option<PathBuf>,
    /// Log format: text or json. Default text.
    #[arg(long, env = "JWTSHIELD_LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<String>,
    /// Largest request body in bytes. Default 65536.
    #[arg(long, env = "JWTSHIELD_MAX_BODY_BYTES", value_name = "BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Largest token in bytes. Default 16384.
    #[arg(long, env = "JWTSHIELD_MAX_TOKEN_BYTES", value_name = "BYTES")]
    pub max_token_bytes: Option<usize>,
    /// Requests in flight before new ones get 503. Default 1024.
    #[arg(long, env = "JWTSHIELD_MAX_CONCURRENT_REQUESTS", value_name = "N")]
    pub max_concurrent_requests: Option<usize>,
    /// Per-request time limit in milliseconds (then 503). Default 10000.
    #[arg(long, env = "JWTSHIELD_REQUEST_TIMEOUT_MS", value_name = "MS")]
    pub request_timeout_ms: Option<u64>,
    /// Shed requests (503) while work waits longer than this for the CPU, in
    /// milliseconds. Default 100.
    #[arg(long, env = "JWTSHIELD_MAX_QUEUE_MS", value_name = "MS")]
    pub max_queue_ms: Option<u64>,
    /// Time for a client to send a request's headers, in milliseconds. Default 10000.
    #[arg(long, env = "JWTSHIELD_HEADER_READ_TIMEOUT_MS", value_name = "MS")]
    pub header_read_timeout_ms: Option<u64>,
    /// Close a keep-alive connection idle this long, in milliseconds. Default 60000.
    #[arg(long, env = "JWTSHIELD_IDLE_TIMEOUT_MS", value_name = "MS")]
    pub idle_timeout_ms: Option<u64>,
    /// Connections open at once (more wait in the listen backlog). Default 10000,
    /// lowered to fit the open-file limit.
    #[arg(long, env = "JWTSHIELD_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,
    /// On SIGTERM, how long in-flight requests may finish before every connection is
    /// closed, in milliseconds. Default 10000.
    #[arg(long, env = "JWTSHIELD_SHUTDOWN_DRAIN_MS", value_name = "MS")]
    pub shutdown_drain_ms: Option<u64>,
    /// Key-set fetch timeout in milliseconds. Default 5000.
    #[arg(long, env = "JWTSHIELD_JWKS_FETCH_TIMEOUT_MS", value_name = "MS")]
    pub jwks_fetch_timeout_ms: Option<u64>,
    /// Shortest key-set lifetime in seconds. Default 300.
    #[arg(long, env = "JWTSHIELD_JWKS_MIN_TTL_SECONDS", value_name = "S")]
    pub jwks_min_ttl_seconds: Option<u64>,
    /// Longest key-set lifetime in seconds. Default 86400.
    #[arg(long, env = "JWTSHIELD_JWKS_MAX_TTL_SECONDS", value_name = "S")]
    pub jwks_max_ttl_seconds: Option<u64>,
    /// Key-set lifetime without Cache-Control max-age, in seconds. Default 600.
    #[arg(long, env = "JWTSHIELD_JWKS_DEFAULT_TTL_SECONDS", value_name = "S")]
    pub jwks_default_ttl_seconds: Option<u64>,
    /// Cooldown after an unknown-kid refresh, in seconds. Default 30.
    #[arg(long, env = "JWTSHIELD_JWKS_COOLDOWN_SECONDS", value_name = "S")]
    pub jwks_cooldown_seconds: Option<u64>,
    /// How long expired keys keep serving while the JWKS is down, in seconds. Default 3600.
    #[arg(long, env = "JWTSHIELD_JWKS_STALE_WINDOW_SECONDS", value_name = "S")]
    pub jwks_stale_window_seconds: Option<u64>,
    /// Largest key-set response in bytes. Default 1048576.
    #[arg(long, env = "JWTSHIELD_JWKS_MAX_RESPONSE_BYTES", value_name = "BYTES")]
    pub jwks_max_response_bytes: Option<usize>,
    /// Entries of the verified-signature cache (a token presented again skips the
    /// signature math); 0 turns it off. Default 65536.
    #[arg(long, env = "JWTSHIELD_VERIFIED_CACHE_ENTRIES", value_name = "N")]
    pub verified_cache_entries: Option<usize>,
    /// A demo issuer for trying JWTShield without an identity provider: a key made at
    /// start (in memory only), an issuer profile `demo`, and POST /v1/demo/token to
    /// mint tokens. Loopback addresses only; never in production.
    #[arg(long, env = "JWTSHIELD_DEMO", value_parser = clap::builder::FalseyValueParser::new())]
    pub demo: bool,
    /// Do not serve the web console at `/` (the API is unchanged).
    #[arg(long, env = "JWTSHIELD_NO_CONSOLE", value_parser = clap::builder::FalseyValueParser::new())]
    pub no_console: bool,
    /// The embedded persistent store (revocation rules). Default
    /// $XDG_STATE_HOME/jwtshield, else ~/.local/state/jwtshield. Not used with --state-url.
    #[arg(long, env = "JWTSHIELD_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Fleet mode: keep shared state (revocation rules) in Redis, redis://HOST:PORT or
    /// rediss:// for TLS. Every instance with the same URL enforces the same rules.
    #[arg(long, env = "JWTSHIELD_STATE_URL", value_name = "URL")]
    pub state_url: Option<String>,
    /// PEM CA certificates that sign the Redis server's certificate (rediss://, private CA).
    #[arg(long, env = "JWTSHIELD_STATE_CA_FILE", value_name = "FILE")]
    pub state_ca_file: Option<PathBuf>,
    /// How often every rule is reloaded from the store (heals missed change notices), in
    /// milliseconds. Default 5000.
    #[arg(long, env = "JWTSHIELD_STATE_RESYNC_MS", value_name = "MS")]
    pub state_resync_ms: Option<u64>,
    /// A file holding the admin token: opens the admin API (revocations) to
    /// `Authorization: Bearer <token>`. At least 32 characters.
    #[arg(long, env = "JWTSHIELD_ADMIN_TOKEN_FILE", value_name = "FILE")]
    pub admin_token_file: Option<PathBuf>,
    /// An issuer profile whose tokens with the `jwtshield:admin` scope may use the admin API.
    #[arg(long, env = "JWTSHIELD_ADMIN_PROFILE", value_name = "ID")]
    pub admin_profile: Option<String>,
    /// Serve the admin API on this address only (not on --listen).
    #[arg(long, env = "JWTSHIELD_ADMIN_LISTEN", value_name = "ADDR")]
    pub admin_listen: Option<String>,
    /// Certificate-bound tokens (RFC 8705): the request header in which the gateway
    /// passes the client certificate (PEM, URL-encoded as nginx's
    /// $ssl_client_escaped_cert, or plain), e.g. X-Client-Cert. Needs --trusted-gateways.
    #[arg(
        long,
        env = "JWTSHIELD_CLIENT_CERT_HEADER",
        value_name = "NAME",
        requires = "trusted_gateways"
    )]
    pub client_cert_header: Option<String>,
    /// The gateway addresses (IPs or CIDRs, comma-separated) whose --client-cert-header
    /// is believed; from anywhere else it is ignored.
    #[arg(
        long,
        env = "JWTSHIELD_TRUSTED_GATEWAYS",
        value_delimiter = ',',
        value_name = "CIDR"
    )]
    pub trusted_gateways: Vec<String>,
    /// Serve HTTPS: the certificate chain (PEM). Reloaded on SIGHUP and when it changes.
    #[arg(
        long,
        env = "JWTSHIELD_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(
        long,
        env = "JWTSHIELD_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
}

/// Who may use the admin API, and where.
#[derive(Clone, Debug, Default)]
pub struct AdminConfig {
    /// The static admin token.
    pub token: Option<jwtshield_core::Secret>,
    /// The issuer profile for admin JWTs.
    pub profile: Option<String>,
    /// A separate listener for the admin API.
    pub listen: Option<SocketAddr>,
}

impl AdminConfig {
    /// Whether the admin API is open at all.
    pub fn enabled(&self) -> bool {
        self.token.is_some() || self.profile.is_some()
    }
}

/// The default data directory: $XDG_STATE_HOME/jwtshield, else ~/.local/state/jwtshield,
/// else ./jwtshield-data.
pub fn default_data_dir() -> PathBuf {
    let from = |var: &str| {
        std::env::var_os(var)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(state) = from("XDG_STATE_HOME") {
        return state.join("jwtshield");
    }
    if let Some(home) = from("HOME") {
        return home.join(".local/state/jwtshield");
    }
    PathBuf::from("jwtshield-data")
}

/// The TOML file. Unknown keys are refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    listen: Option<String>,
    profiles_file: Option<PathBuf>,
    #[serde(default)]
    limits: FileLimits,
    #[serde(default)]
    jwks: FileJwks,
    #[serde(default)]
    log: FileLog,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLimits {
    max_body_bytes: Option<usize>,
    max_token_bytes: Option<usize>,
    max_concurrent_requests: Option<usize>,
    request_timeout_ms: Option<u64>,
    verified_cache_entries: Option<usize>,
    max_queue_ms: Option<u64>,
    header_read_timeout_ms: Option<u64>,
    idle_timeout_ms: Option<u64>,
    max_connections: Option<usize>,
    listen_backlog: Option<u32>,
    shutdown_drain_ms: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileJwks {
    fetch_timeout_ms: Option<u64>,
    max_response_bytes: Option<usize>,
    min_ttl_seconds: Option<u64>,
    max_ttl_seconds: Option<u64>,
    default_ttl_seconds: Option<u64>,
    cooldown_seconds: Option<u64>,
    stale_window_seconds: Option<u64>,
    refresh_ahead_seconds: Option<u64>,
    max_waiters_per_set: Option<usize>,
    allow_insecure: Option<bool>,
    allow_addrs: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLog {
    format: Option<String>,
}

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The resolved, validated configuration.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Listen address.
    pub listen: SocketAddr,
    /// Profiles file, if any.
    pub profiles_file: Option<PathBuf>,
    /// `ISSUER_PROFILES_JSON`, if set.
    pub profiles_json: Option<String>,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Token size and JSON limits for the core.
    pub limits: jwtshield_core::Limits,
    /// Requests in flight before 503.
    pub max_concurrent_requests: usize,
    /// Per-request time limit.
    pub request_timeout: Duration,
    /// Shed requests while work waits longer than this for the CPU.
    pub max_queue: Duration,
    /// Connection limits and timeouts.
    pub connections: crate::serve::Limits,
    /// Key-set behaviour.
    pub jwks: jwtshield_jwks::Config,
    /// Log format.
    pub log_format: LogFormat,
    /// `--demo`: the demo issuer and its profile.
    pub demo: bool,
    /// The web console at `/` (off with `--no-console`).
    pub console: bool,
    /// Where the client certificate comes from, for certificate-bound tokens.
    pub client_cert: Option<ClientCert>,
    /// Where revocation rules are kept.
    pub store: crate::revocations::StoreConfig,
    /// How often the rules are reloaded from the store.
    pub state_resync: Duration,
    /// The admin API.
    pub admin: AdminConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            profiles_file: None,
            profiles_json: None,
            max_body_bytes: 64 * 1024,
            limits: jwtshield_core::Limits::default(),
            max_concurrent_requests: 1024,
            request_timeout: Duration::from_secs(10),
            max_queue: Duration::from_millis(100),
            connections: crate::serve::Limits::default(),
            jwks: jwtshield_jwks::Config::default(),
            log_format: LogFormat::Text,
            demo: false,
            console: true,
            client_cert: None,
            store: crate::revocations::StoreConfig::Memory,
            state_resync: Duration::from_secs(5),
            admin: AdminConfig::default(),
        }
    }
}

/// A configuration error naming the setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

fn positive<T: PartialOrd + Default + Copy>(name: &str, v: T) -> Result<T, ConfigError> {
    if v > T::default() {
        Ok(v)
    } else {
        Err(ConfigError(format!("{name} must be greater than 0")))
    }
}

impl ServerConfig {
    /// Resolves flags and environment (already merged by clap) over the file over
    /// the defaults. `profiles_json` is `ISSUER_PROFILES_JSON`.
    pub fn resolve(
        args: &ServeArgs,
        profiles_json: Option<String>,
    ) -> Result<ServerConfig, ConfigError> {
        let file: FileConfig = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    ConfigError(format!("cannot read config file {}: {e}", path.display()))
                })?;
                toml::from_str(&text).map_err(|e| {
                    ConfigError(format!(
                        "config file {}: {}",
                        path.display(),
                        e.to_string().trim()
                    ))
                })?
            }
            None => FileConfig::default(),
        };
        let d = ServerConfig::default();
        let dj = jwtshield_jwks::Config::default();
        let listen_text = args
            .listen
            .clone()
            .or(file.listen)
            .unwrap_or_else(|| d.listen.to_string());
        let listen: SocketAddr = listen_text.parse().map_err(|e| {
            ConfigError(format!(
                "listen: \"{listen_text}\" is not an address like 127.0.0.1:8080 ({e})"
            ))
        })?;
        let log_format = match args.log_format.clone().or(file.log.format).as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError(format!(
                    "log format: \"{other}\" is not text or json"
                )));
            }
        };
        let secs = |name: &str,
                    flag: Option<u64>,
                    file: Option<u64>,
                    default: Duration|
         -> Result<Duration, ConfigError> {
            match flag.or(file) {
                Some(v) => Ok(Duration::from_secs(positive(name, v)?)),
                None => Ok(default),
            }
        };
        let millis = |name: &str,
                      flag: Option<u64>,
                      file: Option<u64>,
                      default: Duration|
         -> Result<Duration, ConfigError> {
            match flag.or(file) {
                Some(v) => Ok(Duration::from_millis(positive(name, v)?)),
                None => Ok(default),
            }
        };
        let allow_insecure = args.jwks_allow_insecure || file.jwks.allow_insecure.unwrap_or(false);
        let addr_texts = if args.jwks_allow_addrs.is_empty() {
            file.jwks.allow_addrs.unwrap_or_default()
        } else {
            args.jwks_allow_addrs.clone()
        };
        let mut allowed_addrs = Vec::new();
        for a in addr_texts
            .iter()
            .map(|a| a.trim())
            .filter(|a| !a.is_empty())
        {
            allowed_addrs.push(a.parse::<SocketAddr>().map_err(|e| {
                ConfigError(format!("jwks allow_addrs: \"{a}\" is not IP:PORT ({e})"))
            })?);
        }
        let extra_roots = match &args.jwks_ca_file {
            Some(path) => Some(jwtshield_jwks::read_ca_file(path).map_err(ConfigError)?),
            None => None,
        };
        let jwks = jwtshield_jwks::Config {
            extra_roots,
            fetch_timeout: millis(
                "jwks fetch_timeout_ms",
                args.jwks_fetch_timeout_ms,
                file.jwks.fetch_timeout_ms,
                dj.fetch_timeout,
            )?,
            max_response_bytes: positive(
                "jwks max_response_bytes",
                args.jwks_max_response_bytes
                    .or(file.jwks.max_response_bytes)
                    .unwrap_or(dj.max_response_bytes),
            )?,
            min_ttl: secs(
                "jwks min_ttl_seconds",
                args.jwks_min_ttl_seconds,
                file.jwks.min_ttl_seconds,
                dj.min_ttl,
            )?,
            max_ttl: secs(
                "jwks max_ttl_seconds",
                args.jwks_max_ttl_seconds,
                file.jwks.max_ttl_seconds,
                dj.max_ttl,
            )?,
            default_ttl: secs(
                "jwks default_ttl_seconds",
                args.jwks_default_ttl_seconds,
                file.jwks.default_ttl_seconds,
                dj.default_ttl,
            )?,
            cooldown: match args.jwks_cooldown_seconds.or(file.jwks.cooldown_seconds) {
                Some(v) => Duration::from_secs(v),
                None => dj.cooldown,
            },
            stale_window: match args
                .jwks_stale_window_seconds
                .or(file.jwks.stale_window_seconds)
            {
                Some(v) => Duration::from_secs(v),
                None => dj.stale_window,
            },
            refresh_ahead: match file.jwks.refresh_ahead_seconds {
                Some(v) => Duration::from_secs(v),
                None => dj.refresh_ahead,
            },
            guard: jwtshield_jwks::GuardConfig {
                allow_http: allow_insecure,
                allow_private: allow_insecure,
                allowed_addrs,
            },
            verified_cache_entries: args
                .verified_cache_entries
                .or(file.limits.verified_cache_entries)
                .unwrap_or(dj.verified_cache_entries),
            max_waiters_per_set: positive(
                "jwks max_waiters_per_set",
                file.jwks
                    .max_waiters_per_set
                    .unwrap_or(dj.max_waiters_per_set),
            )?,
            ..dj
        };
        if jwks.min_ttl > jwks.max_ttl {
            return Err(ConfigError(format!(
                "jwks min_ttl_seconds ({}) is more than max_ttl_seconds ({})",
                jwks.min_ttl.as_secs(),
                jwks.max_ttl.as_secs()
            )));
        }
        let max_token_bytes = positive(
            "max_token_bytes",
            args.max_token_bytes
                .or(file.limits.max_token_bytes)
                .unwrap_or(d.limits.max_token_bytes),
        )?;
        let store = match (&args.state_url, &args.data_dir) {
            (Some(url), _) => {
                if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                    return Err(ConfigError(
                        "state_url: must be redis://HOST:PORT or rediss://HOST:PORT".into(),
                    ));
                }
                crate::revocations::StoreConfig::Redis {
                    url: url.clone(),
                    ca_file: args.state_ca_file.clone(),
                }
            }
            (None, Some(dir)) => crate::revocations::StoreConfig::Embedded(dir.clone()),
            (None, None) => crate::revocations::StoreConfig::Embedded(default_data_dir()),
        };
        let state_resync = millis(
            "state_resync_ms",
            args.state_resync_ms,
            None,
            d.state_resync,
        )?;
        let admin = AdminConfig {
            token: match &args.admin_token_file {
                None => None,
                Some(path) => {
                    let text = std::fs::read_to_string(path).map_err(|e| {
                        ConfigError(format!(
                            "admin_token_file: cannot read {}: {e}",
                            path.display()
                        ))
                    })?;
                    let token = text.trim();
                    if token.chars().count() < 32 {
                        return Err(ConfigError(format!(
                            "admin_token_file: the token in {} is shorter than 32 characters; use e.g. `openssl rand -hex 32`",
                            path.display()
                        )));
                    }
                    Some(jwtshield_core::Secret::new(token))
                }
            },
            profile: args.admin_profile.clone(),
            listen: match &args.admin_listen {
                None => None,
                Some(a) => Some(a.parse().map_err(|e| {
                    ConfigError(format!(
                        "admin_listen: \"{a}\" is not an address like 127.0.0.1:9090 ({e})"
                    ))
                })?),
            },
        };
        if admin.listen.is_some() && !admin.enabled() {
            return Err(ConfigError(
                "admin_listen: the admin API is closed; give --admin-token-file or --admin-profile to open it"
                    .into(),
            ));
        }
        if args.demo && !listen.ip().is_loopback() {
            return Err(ConfigError(format!(
                "--demo: the demo issuer mints tokens for anyone who asks, so it listens on loopback only, not {listen}"
            )));
        }
        Ok(ServerConfig {
            listen,
            profiles_file: args.profiles.clone().or(file.profiles_file),
            profiles_json,
            max_body_bytes: positive(
                "max_body_bytes",
                args.max_body_bytes
                    .or(file.limits.max_body_bytes)
                    .unwrap_or(d.max_body_bytes),
            )?,
            limits: jwtshield_core::Limits {
                max_token_bytes,
                ..d.limits
            },
            max_concurrent_requests: positive(
                "max_concurrent_requests",
                args.max_concurrent_requests
                    .or(file.limits.max_concurrent_requests)
                    .unwrap_or(d.max_concurrent_requests),
            )?,
            request_timeout: millis(
                "request_timeout_ms",
                args.request_timeout_ms,
                file.limits.request_timeout_ms,
                d.request_timeout,
            )?,
            max_queue: millis(
                "max_queue_ms",
                args.max_queue_ms,
                file.limits.max_queue_ms,
                d.max_queue,
            )?,
            connections: crate::serve::Limits {
                header_read_timeout: millis(
                    "header_read_timeout_ms",
                    args.header_read_timeout_ms,
                    file.limits.header_read_timeout_ms,
                    d.connections.header_read_timeout,
                )?,
                idle_timeout: millis(
                    "idle_timeout_ms",
                    args.idle_timeout_ms,
                    file.limits.idle_timeout_ms,
                    d.connections.idle_timeout,
                )?,
                max_connections: positive(
                    "max_connections",
                    args.max_connections
                        .or(file.limits.max_connections)
                        .unwrap_or(d.connections.max_connections),
                )?,
                backlog: positive(
                    "listen_backlog",
                    file.limits.listen_backlog.unwrap_or(d.connections.backlog),
                )?,
                drain_timeout: millis(
                    "shutdown_drain_ms",
                    args.shutdown_drain_ms,
                    file.limits.shutdown_drain_ms,
                    d.connections.drain_timeout,
                )?,
                tls: match (&args.tls_cert, &args.tls_key) {
                    (Some(cert), Some(key)) => {
                        Some(crate::tls::Tls::load(cert, key).map_err(ConfigError)?)
                    }
                    _ => None,
                },
            },
            jwks,
            log_format,
            demo: args.demo,
            console: !args.no_console,
            client_cert: client_cert(args)?,
            store,
            state_resync,
            admin,
        })
    }

    /// True when the SSRF guard is lifted.
    pub fn insecure(&self) -> bool {
        self.jwks.guard.allow_http || self.jwks.guard.allow_private
    }
}

/// The gateway's client-certificate header and the addresses it is believed from.
#[derive(Clone, Debug)]
pub struct ClientCert {
    /// The header (lower case).
    pub header: axum::http::HeaderName,
    /// Gateways whose header is believed.
    pub trusted: Vec<ipnet::IpNet>,
}

impl ClientCert {
    /// Whether a request from `peer` may pass a client certificate.
    pub fn trusts(&self, peer: std::net::IpAddr) -> bool {
        let peer = match peer {
            std::net::IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .map_or(std::net::IpAddr::V6(v6), std::net::IpAddr::V4),
            v4 => v4,
        };
        self.trusted.iter().any(|n| n.contains(&peer))
    }
}

fn client_cert(args: &ServeArgs) -> Result<Option<ClientCert>, ConfigError> {
    let Some(name) = &args.client_cert_header else {
        return Ok(None);
    };
    let header = axum::http::HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
        ConfigError(format!(
            "client_cert_header: \"{name}\" is not a header name"
        ))
    })?;
    let mut trusted = Vec::new();
    for t in args
        .trusted_gateways
        .iter()
        .map(|t| t.trim())
        .filter(|t| !t.is_empty())
    {
        let net = t
            .parse::<ipnet::IpNet>()
            .or_else(|_| t.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
            .map_err(|_| {
                ConfigError(format!(
                    "trusted_gateways: \"{t}\" is not an IP address or CIDR"
                ))
            })?;
        trusted.push(net);
    }
    if trusted.is_empty() {
        return Err(ConfigError(
            "client_cert_header needs --trusted-gateways: the addresses of the gateways that set it".into(),
        ));
    }
    Ok(Some(ClientCert { header, trusted }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_file_env_flags() {
        let c = ServerConfig::resolve(&ServeArgs::default(), None).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.max_body_bytes, 65536);
        assert!(!c.insecure());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "listen = \"0.0.0.0:9000\"\n[limits]\nmax_body_bytes = 1000\n[jwks]\ncooldown_seconds = 5\nallow_addrs = [\"10.0.0.5:8443\"]\n").unwrap();
        let args = ServeArgs {
            config: Some(path.clone()),
            ..ServeArgs::default()
        };
        let c = ServerConfig::resolve(&args, None).unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.max_body_bytes, 1000);
        assert_eq!(c.jwks.cooldown, Duration::from_secs(5));
        assert_eq!(c.jwks.guard.allowed_addrs[0].to_string(), "10.0.0.5:8443");
        // flags (and their environment variables) beat the file
        let args = ServeArgs {
            config: Some(path),
            listen: Some("127.0.0.1:7000".into()),
            ..ServeArgs::default()
        };
        assert_eq!(
            ServerConfig::resolve(&args, None).unwrap().listen.port(),
            7000
        );
    }

    #[test]
    fn errors_name_the_setting() {
        let bad = |args: ServeArgs| ServerConfig::resolve(&args, None).unwrap_err().0;
        assert!(
            bad(ServeArgs {
                listen: Some("nope".into()),
                ..ServeArgs::default()
            })
            .starts_with("listen:")
        );
        assert!(
            bad(ServeArgs {
                log_format: Some("xml".into()),
                ..ServeArgs::default()
            })
            .contains("log format")
        );
        assert!(
            bad(ServeArgs {
                max_body_bytes: Some(0),
                ..ServeArgs::default()
            })
            .contains("max_body_bytes")
        );
        assert!(
            bad(ServeArgs {
                jwks_allow_addrs: vec!["x".into()],
                ..ServeArgs::default()
            })
            .contains("allow_addrs")
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[limits]\nmax_bdy_bytes = 1\n").unwrap();
        let e = bad(ServeArgs {
            config: Some(path),
            ..ServeArgs::default()
        });
        assert!(e.contains("max_bdy_bytes"), "{e}");
    }
}
