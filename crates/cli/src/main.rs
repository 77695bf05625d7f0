//! `jwtshield`: tells whether a JWT access token is really good, and if not, exactly why.
//!
//! ```text
//! jwtshield validate --preset auth0 --param tenant=acme.auth0.com \
//!     --param audience=https://api.acme.com/ "$TOKEN"
//! jwtshield validate --policy policy.json --jwks jwks.json --json - < token.txt
//! jwtshield decode "$TOKEN"
//! jwtshield presets [NAME]
//! jwtshield serve [--listen 127.0.0.1:8080] [--profiles profiles.json]
//! ```
//!
//! Exit codes of `validate`: 0 valid, 1 invalid, 2 usage or configuration error.

mod render;

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use jwtshield_core::{CompiledPolicy, KeyOrigin, KeySet, Limits, Policy, Token, presets};
use serde_json::Value;

#[derive(Parser)]
#[command(
    name = "jwtshield",
    version,
    about = "Tells whether a JWT access token is really good, and if not, exactly why."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a token against a policy, profile or preset. Exit 0 valid, 1 invalid, 2 error.
    Validate(ValidateArgs),
    /// Decode a token without verifying it: header, claims, times in words, warnings.
    /// Exit 0 when it decodes, 1 when it is not a JWT, 2 on a usage error.
    Decode(DecodeArgs),
    /// List the built-in presets, or print one as a policy.
    Presets(PresetsArgs),
    /// Run the HTTP service (POST /v1/validate/jwt and the rest; see /docs).
    Serve(Box<jwtshield_server::ServeArgs>),
    /// Print a token from a running `jwtshield serve --demo` (for trying JWTShield).
    DemoToken(DemoTokenArgs),
    /// Examine an issuer as a careful operator would: discovery document, key set,
    /// Cache-Control, key ids, sizes and algorithms. For CI and synthetic monitoring:
    /// exit 0 healthy, 1 problems, 2 unreachable (or a usage error).
    Check(CheckArgs),
    /// Revoke tokens through a running service's admin API: one token (--jti), every
    /// token of a subject (--sub) or client (--client-id) issued before now; or --list,
    /// --delete ID. Prints the stored rule as JSON.
    Revoke(RevokeArgs),
}

#[derive(Args)]
struct RevokeArgs {
    /// The service (its admin listener when it has one).
    #[arg(long, env = "JWTSHIELD_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The file holding the admin token (never on the command line, where `ps` shows it).
    #[arg(long, env = "JWTSHIELD_ADMIN_TOKEN_FILE", value_name = "FILE")]
    admin_token_file: PathBuf,
    /// The issuer of the tokens (exact `iss`).
    #[arg(long, required_unless_present_any = ["list", "delete"])]
    issuer: Option<String>,
    /// Revoke the token with this `jti`.
    #[arg(long, group = "what")]
    jti: Option<String>,
    /// Revoke every token of this subject issued before now (or --issued-before).
    #[arg(long, group = "what")]
    sub: Option<String>,
    /// Revoke every token of this client (azp / client_id) issued before now.
    #[arg(long, group = "what")]
    client_id: Option<String>,
    /// Instead of now: tokens issued before this Unix time.
    #[arg(long, value_name = "UNIX_SECONDS")]
    issued_before: Option<i64>,
    /// Why (kept with the rule, shown in findings).
    #[arg(long)]
    reason: Option<String>,
    /// When the rule is dropped (Unix time); default from the issuer's profiles, else 24 h.
    #[arg(long, value_name = "UNIX_SECONDS")]
    expires_at: Option<i64>,
    /// List the rules (with --issuer, --sub, --jti, --client-id as filters).
    #[arg(long, group = "what")]
    list: bool,
    /// Delete the rule with this id.
    #[arg(long, value_name = "ID", group = "what")]
    delete: Option<String>,
}

#[derive(Args)]
struct CheckArgs {
    /// The issuer, exactly as its tokens carry it in `iss`.
    #[arg(required_unless_present = "profile", conflicts_with = "profile")]
    issuer: Option<String>,
    /// Examine an issuer profile instead: its issuer, `jwks_uri` and algorithm allowlist.
    #[arg(long, value_name = "ID")]
    profile: Option<String>,
    /// Profiles file (JSON object of id to policy).
    #[arg(long, value_name = "FILE", env = "JWTSHIELD_PROFILES_FILE")]
    profiles: Option<PathBuf>,
    /// Print the report as JSON (the same as POST /v1/issuers/check).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    fetch: FetchArgs,
}

/// How keys are fetched from the command line, as `serve` fetches them.
#[derive(Args)]
struct FetchArgs {
    /// Development and tests only: allow http:// key URLs and loopback/private addresses.
    #[arg(long, env = "JWTSHIELD_JWKS_ALLOW_INSECURE", value_parser = clap::builder::FalseyValueParser::new())]
    jwks_allow_insecure: bool,
    /// Exact addresses (IP:port) allowed although private, e.g. an internal Keycloak.
    #[arg(
        long,
        env = "JWTSHIELD_JWKS_ALLOW_ADDRS",
        value_delimiter = ',',
        value_name = "IP:PORT"
    )]
    jwks_allow_addrs: Vec<std::net::SocketAddr>,
    /// CA certificates (PEM) to trust besides the system's, for an issuer on a private PKI.
    #[arg(long, env = "JWTSHIELD_JWKS_CA_FILE", value_name = "FILE")]
    jwks_ca_file: Option<PathBuf>,
    /// Timeout of each fetch, in milliseconds.
    #[arg(
        long,
        env = "JWTSHIELD_JWKS_FETCH_TIMEOUT_MS",
        value_name = "MS",
        default_value_t = 5000
    )]
    jwks_fetch_timeout_ms: u64,
}

impl FetchArgs {
    fn config(&self) -> Result<jwtshield_jwks::Config, Fatal> {
        if self.jwks_allow_insecure {
            eprintln!(
                "jwtshield: warning: --jwks-allow-insecure: http and internal key URLs are allowed"
            );
        }
        let extra_roots = match &self.jwks_ca_file {
            Some(path) => Some(jwtshield_jwks::read_ca_file(path).map_err(Fatal)?),
            None => None,
        };
        Ok(jwtshield_jwks::Config {
            guard: jwtshield_jwks::GuardConfig {
                allow_http: self.jwks_allow_insecure,
                allow_private: self.jwks_allow_insecure,
                allowed_addrs: self.jwks_allow_addrs.clone(),
            },
            fetch_timeout: std::time::Duration::from_millis(self.jwks_fetch_timeout_ms.max(1)),
            extra_roots,
            // one lookup, nothing to keep
            verified_cache_entries: 0,
            ..jwtshield_jwks::Config::default()
        })
    }

    fn runtime() -> Result<tokio::runtime::Runtime, Fatal> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Fatal(format!("cannot start the runtime: {e}")))
    }
}

#[derive(Args)]
struct DemoTokenArgs {
    /// The demo service.
    #[arg(long, env = "JWTSHIELD_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// An expired token (exp ten minutes ago).
    #[arg(long)]
    expired: bool,
    /// `aud` instead of the demo API's https://api.example.com/.
    #[arg(long, value_name = "URL")]
    audience: Option<String>,
    /// `scope` instead of `read:messages`.
    #[arg(long)]
    scope: Option<String>,
    /// Print the whole JSON answer (token, profile, claims), not only the token.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct PolicySource {
    /// A JSON policy file.
    #[arg(long, value_name = "FILE", group = "source")]
    policy: Option<PathBuf>,
    /// An issuer profile id (from --profiles, JWTSHIELD_PROFILES_FILE or ISSUER_PROFILES_JSON).
    #[arg(long, value_name = "ID", group = "source")]
    profile: Option<String>,
    /// A built-in preset; fill its placeholders with --param.
    #[arg(long, value_name = "NAME", group = "source")]
    preset: Option<String>,
    /// A preset placeholder, e.g. --param tenant=acme.auth0.com (repeatable).
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = parse_kv)]
    params: Vec<(String, String)>,
    /// Profiles file (JSON object of id to policy).
    #[arg(long, value_name = "FILE", env = "JWTSHIELD_PROFILES_FILE")]
    profiles: Option<PathBuf>,
}

#[derive(Args)]
struct ValidateArgs {
    #[command(flatten)]
    source: PolicySource,
    /// Verify with the keys in this JWKS file instead of finding them; nothing is fetched.
    #[arg(long, value_name = "FILE")]
    jwks: Option<PathBuf>,
    #[command(flatten)]
    fetch: FetchArgs,
    /// Print the ValidationResult JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Validate as of this time (seconds since 1970) instead of now.
    #[arg(long, value_name = "UNIX_SECONDS")]
    now: Option<i64>,
    /// The token, or - to read it from standard input.
    token: String,
}

#[derive(Args)]
struct DecodeArgs {
    /// Print JSON instead of the human view.
    #[arg(long)]
    json: bool,
    /// Describe times relative to this instant (seconds since 1970) instead of now.
    #[arg(long, value_name = "UNIX_SECONDS")]
    now: Option<i64>,
    /// The token, or - to read it from standard input.
    token: String,
}

#[derive(Args)]
struct PresetsArgs {
    /// The preset to print; without it, the list.
    name: Option<String>,
    /// Fill a placeholder, e.g. --param tenant=acme.auth0.com (repeatable).
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = parse_kv)]
    params: Vec<(String, String)>,
    /// Print the list as JSON.
    #[arg(long)]
    json: bool,
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))
}

/// A usage or configuration problem: exit code 2.
struct Fatal(String);

impl<E: std::fmt::Display> From<E> for Fatal {
    fn from(e: E) -> Self {
        Fatal(e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate(a) => validate(a),
        Command::Decode(a) => decode(a),
        Command::Presets(a) => list_presets(a),
        Command::Serve(a) => serve(*a),
        Command::DemoToken(a) => demo_token(a),
        Command::Revoke(a) => revoke(a),
        Command::Check(a) => check(a),
    };
    match result {
        Ok(code) => code,
        Err(Fatal(msg)) => {
            eprintln!("jwtshield: {msg}");
            ExitCode::from(2)
        }
    }
}

fn now_or(fixed: Option<i64>) -> i64 {
    fixed.unwrap_or_else(jwtshield_jwks::unix_now)
}

fn read_token(arg: &str) -> Result<String, Fatal> {
    if arg != "-" {
        return Ok(arg.to_owned());
    }
    let mut s = String::new();
    std::io::stdin()
        .take(1 << 20)
        .read_to_string(&mut s)
        .map_err(|e| Fatal(format!("cannot read the token from standard input: {e}")))?;
    Ok(s.trim().to_owned())
}

fn read_file(path: &PathBuf, what: &str) -> Result<String, Fatal> {
    std::fs::read_to_string(path)
        .map_err(|e| Fatal(format!("cannot read {what} {}: {e}", path.display())))
}

fn read_json(path: &PathBuf, what: &str) -> Result<Value, Fatal> {
    let text = read_file(path, what)?;
    jwtshield_core::json::parse_value(text.as_bytes(), 64)
        .map_err(|e| Fatal(format!("{what} {} is not valid JSON: {e}", path.display())))
}

fn load_profiles(file: Option<&PathBuf>) -> Result<jwtshield_core::Profiles, Fatal> {
    let text = match (file, std::env::var("ISSUER_PROFILES_JSON")) {
        (Some(path), _) => read_file(path, "profiles file")?,
        (None, Ok(json)) => json,
        (None, Err(_)) => {
            return Err(Fatal(
                "--profile needs profiles: give --profiles FILE, JWTSHIELD_PROFILES_FILE or ISSUER_PROFILES_JSON".into(),
            ));
        }
    };
    jwtshield_core::parse_profiles(&text).map_err(Fatal::from)
}

/// One profile of the loaded ones, or an error listing those there are.
fn load_profile(file: Option<&PathBuf>, id: &str) -> Result<CompiledPolicy, Fatal> {
    let profiles = load_profiles(file)?;
    profiles.get(id).cloned().ok_or_else(|| {
        Fatal(format!(
            "no profile \"{id}\"; loaded: {}",
            profiles.keys().cloned().collect::<Vec<_>>().join(", ")
        ))
    })
}

fn params_map(params: &[(String, String)]) -> BTreeMap<String, String> {
    params.iter().cloned().collect()
}

fn resolve_policy(src: &PolicySource) -> Result<CompiledPolicy, Fatal> {
    if let Some(path) = &src.policy {
        let json = read_json(path, "policy file")?;
        return Policy::from_json(&json)
            .and_then(Policy::compile)
            .map_err(|e| Fatal(format!("policy file {}: {e}", path.display())));
    }
    if let Some(id) = &src.profile {
        return load_profile(src.profiles.as_ref(), id);
    }
    if let Some(name) = &src.preset {
        let preset = presets::get(name)?;
        let policy = preset
            .instantiate(&params_map(&src.params))
            .map_err(|e| match e {
                jwtshield_core::PresetError::Missing(m) => Fatal(format!(
                    "preset {name} needs {}",
                    m.iter()
                        .map(|p| format!("--param {p}=…"))
                        .collect::<Vec<_>>()
                        .join(" ")
                )),
                other => Fatal(other.to_string()),
            })?;
        return policy.compile().map_err(Fatal::from);
    }
    Err(Fatal(
        "give a policy: --policy FILE, --profile ID or --preset NAME (see `jwtshield presets`)"
            .into(),
    ))
}

/// The keys: a `--jwks` file, the policy's inline keys, or fetched as the service
/// fetches them (discovery, SSRF guard, timeouts).
fn keys_for(
    policy: &CompiledPolicy,
    jwks: Option<&PathBuf>,
    fetch: &FetchArgs,
    token: &Token<'_>,
) -> Result<KeySet, Fatal> {
    if let Some(path) = jwks {
        let json = read_json(path, "JWKS file")?;
        return KeySet::from_jwks(&json, KeyOrigin::InlineJwks, true)
            .map_err(|e| Fatal(format!("JWKS file {}: {e}", path.display())));
    }
    if let Some(keys) = policy.inline_keys() {
        return Ok(keys.as_ref().clone());
    }
    let cfg = fetch.config()?;
    FetchArgs::runtime()?.block_on(async {
        let sets = jwtshield_jwks::KeySets::new(cfg).map_err(Fatal)?;
        Ok(sets.keys_for_token(policy, token).await)
    })
}

fn validate(a: ValidateArgs) -> Result<ExitCode, Fatal> {
    let policy = resolve_policy(&a.source)?;
    let text = read_token(&a.token)?;
    let token = Token::parse(&text, &Limits::default());
    let keys = keys_for(&policy, a.jwks.as_ref(), &a.fetch, &token)?;
    let report = jwtshield_core::validate(&token, &keys, &policy, now_or(a.now));
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!(
            "{}",
            render::report(&report, std::io::stdout().is_terminal())
        );
    }
    Ok(if report.valid() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn check(a: CheckArgs) -> Result<ExitCode, Fatal> {
    enum Target {
        Issuer(String),
        Profile(Box<CompiledPolicy>),
    }
    let target = match (&a.issuer, &a.profile) {
        (Some(issuer), _) => Target::Issuer(issuer.clone()),
        (None, Some(id)) => Target::Profile(Box::new(load_profile(a.profiles.as_ref(), id)?)),
        (None, None) => return Err(Fatal("give an ISSUER or --profile ID".into())),
    };
    let cfg = a.fetch.config()?;
    let report = FetchArgs::runtime()?.block_on(async {
        let sets = jwtshield_jwks::KeySets::new(cfg).map_err(Fatal)?;
        Ok::<_, Fatal>(match &target {
            Target::Issuer(issuer) => sets.examine(issuer, None, None).await,
            Target::Profile(p) => sets.examine_profile(p).await,
        })
    })?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!(
            "{}",
            render::doctor(&report, std::io::stdout().is_terminal())
        );
    }
    Ok(match report.verdict {
        jwtshield_core::doctor::Verdict::Healthy => ExitCode::SUCCESS,
        jwtshield_core::doctor::Verdict::Problems => ExitCode::from(1),
        jwtshield_core::doctor::Verdict::Unreachable => ExitCode::from(2),
    })
}

fn serve(a: jwtshield_server::ServeArgs) -> Result<ExitCode, Fatal> {
    let config =
        jwtshield_server::ServerConfig::resolve(&a, std::env::var("ISSUER_PROFILES_JSON").ok())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Fatal(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(jwtshield_server::run(config))?;
    Ok(ExitCode::SUCCESS)
}

/// One HTTP/1.1 exchange over plain TCP (the CLI talks to a local service): the status
/// and the body.
fn http_call(
    url: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<(u16, String), Fatal> {
    use std::io::{Read, Write};
    let authority = url
        .strip_prefix("http://")
        .ok_or_else(|| Fatal(format!("--url must be http://HOST:PORT, got {url}")))?
        .trim_end_matches('/');
    let addr: std::net::SocketAddr = std::net::ToSocketAddrs::to_socket_addrs(authority)
        .ok()
        .and_then(|mut it| it.next())
        .ok_or_else(|| Fatal(format!("cannot resolve {authority}")))?;
    let unreachable = |e: std::io::Error| Fatal(format!("cannot reach {url}: {e}"));
    let mut conn = std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(5))
        .map_err(unreachable)?;
    conn.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {authority}\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    write!(conn, "{head}\r\n{body}").map_err(unreachable)?;
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).map_err(unreachable)?;
    let raw = String::from_utf8_lossy(&raw);
    let (head, payload) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Fatal(format!("{url} did not answer HTTP")))?;
    Ok((status, payload.to_owned()))
}

/// Asks a local `serve --demo` for a token (loopback only).
fn demo_token(a: DemoTokenArgs) -> Result<ExitCode, Fatal> {
    let authority = a
        .url
        .strip_prefix("http://")
        .unwrap_or(&a.url)
        .trim_end_matches('/');
    let loopback = std::net::ToSocketAddrs::to_socket_addrs(authority)
        .ok()
        .and_then(|mut it| it.next())
        .is_some_and(|addr| addr.ip().is_loopback());
    if a.url.starts_with("http://") && !loopback {
        return Err(Fatal(format!(
            "the demo service listens on loopback only, not {authority}"
        )));
    }
    let mut body = serde_json::Map::new();
    if a.expired {
        body.insert("expires_in".into(), serde_json::json!(-600));
    }
    if let Some(aud) = a.audience {
        body.insert("audience".into(), aud.into());
    }
    if let Some(scope) = a.scope {
        body.insert("scope".into(), scope.into());
    }
    let body = serde_json::Value::Object(body).to_string();
    let (status, payload) = http_call(
        &a.url,
        "POST",
        "/v1/demo/token",
        &[("content-type", "application/json")],
        &body,
    )
    .map_err(|Fatal(e)| Fatal(format!("{e}; start it with `jwtshield serve --demo`")))?;
    let answer: serde_json::Value = serde_json::from_str(&payload).unwrap_or_default();
    if status != 200 {
        let why = answer["detail"].as_str().unwrap_or(&payload);
        return Err(Fatal(format!("{} answered {status}: {why}", a.url)));
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
    } else {
        println!("{}", answer["token"].as_str().unwrap_or_default());
    }
    Ok(ExitCode::SUCCESS)
}

/// `jwtshield revoke`: the admin API from the command line.
fn revoke(a: RevokeArgs) -> Result<ExitCode, Fatal> {
    let token = std::fs::read_to_string(&a.admin_token_file).map_err(|e| {
        Fatal(format!(
            "cannot read the admin token file {}: {e}",
            a.admin_token_file.display()
        ))
    })?;
    let auth = format!("Bearer {}", token.trim());
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    let (status, payload) = if a.list {
        let mut q = Vec::new();
        for (k, v) in [
            ("issuer", &a.issuer),
            ("sub", &a.sub),
            ("jti", &a.jti),
            ("client_id", &a.client_id),
        ] {
            if let Some(v) = v {
                q.push(format!("{k}={}", encode_query(v)));
            }
        }
        let path = format!("/v1/revocations?{}", q.join("&"));
        http_call(&a.url, "GET", &path, &headers, "")?
    } else if let Some(id) = &a.delete {
        http_call(
            &a.url,
            "DELETE",
            &format!("/v1/revocations/{}", encode_query(id)),
            &headers,
            "",
        )?
    } else {
        let mut rule = serde_json::Map::new();
        rule.insert("issuer".into(), a.issuer.clone().unwrap_or_default().into());
        for (k, v) in [
            ("jti", &a.jti),
            ("sub", &a.sub),
            ("client_id", &a.client_id),
            ("reason", &a.reason),
        ] {
            if let Some(v) = v {
                rule.insert(k.into(), v.clone().into());
            }
        }
        for (k, v) in [
            ("issued_before", a.issued_before),
            ("expires_at", a.expires_at),
        ] {
            if let Some(v) = v {
                rule.insert(k.into(), v.into());
            }
        }
        let body = serde_json::Value::Object(rule).to_string();
        http_call(&a.url, "POST", "/v1/revocations", &headers, &body)?
    };
    if !(200..300).contains(&status) {
        let answer: serde_json::Value = serde_json::from_str(&payload).unwrap_or_default();
        let why = answer["detail"].as_str().unwrap_or(&payload);
        return Err(Fatal(format!("{} answered {status}: {why}", a.url)));
    }
    if !payload.is_empty() {
        let v: serde_json::Value = serde_json::from_str(&payload)?;
        println!("{}", serde_json::to_string_pretty(&v)?);
    }
    Ok(ExitCode::SUCCESS)
}

/// Percent-encodes a query value.
fn encode_query(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn decode(a: DecodeArgs) -> Result<ExitCode, Fatal> {
    let text = read_token(&a.token)?;
    let token = Token::parse(&text, &Limits::default());
    let inspection = jwtshield_core::inspect(&token, now_or(a.now));
    if a.json {
        println!("{}", serde_json::to_string_pretty(&inspection)?);
    } else {
        print!("{}", render::inspection(&inspection));
    }
    // exit 1 when it is not a decodable JWT (as `validate` does for an invalid token)
    Ok(match inspection.format_errors.is_empty() {
        true => ExitCode::SUCCESS,
        false => ExitCode::from(1),
    })
}

fn list_presets(a: PresetsArgs) -> Result<ExitCode, Fatal> {
    let Some(name) = a.name else {
        if a.json {
            println!("{}", serde_json::to_string_pretty(presets::all())?);
        } else {
            print!("{}", render::preset_list(presets::all()));
        }
        return Ok(ExitCode::SUCCESS);
    };
    let preset = presets::get(&name)?;
    let filled = preset.fill_partial(&params_map(&a.params))?;
    let missing = preset.missing(&filled);
    if !missing.is_empty() {
        // as GET /v1/presets/{name}: the template, its placeholders listed explicitly
        let example = preset
            .params
            .iter()
            .map(|p| format!("--param {}={}", p.name, p.example))
            .collect::<Vec<_>>()
            .join(" ");
        eprintln!(
            "jwtshield: a template, not a usable policy until {} filled; e.g. jwtshield presets {name} {example}",
            missing.join(", ")
        );
        println!(
            "{}",
            serde_json::to_string_pretty(&preset.with_placeholders(filled))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    // validate the filled policy so a bad value is caught here, not at use
    Policy::from_json(&filled)
        .and_then(Policy::compile)
        .map_err(|e| Fatal(format!("preset {name}: {e}")))?;
    println!("{}", serde_json::to_string_pretty(&filled)?);
    Ok(ExitCode::SUCCESS)
}
