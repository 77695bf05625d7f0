//! Shared state: configuration, the loaded issuer profiles (swapped atomically on
//! reload), the key-set cache and the metrics handle.

use std::path::Path;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use arc_swap::ArcSwap;
use jwtshield_core::{IssuerIndex, Profiles, parse_profiles};
use jwtshield_jwks::KeySets;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::config::{ConfigError, ServerConfig};

/// Everything a handler needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: ServerConfig,
    admission: Arc<crate::admission::Admission>,
    profiles: ArcSwap<Profiles>,
    issuers: ArcSwap<IssuerIndex>,
    keysets: KeySets,
    started: Instant,
    started_at: SystemTime,
    metrics: PrometheusHandle,
    demo: Option<crate::demo::Demo>,
    revocations: Arc<crate::revocations::Revocations>,
    limiter: crate::ratelimit::Limiter,
    replay: Arc<dyn jwtshield_middleware::ReplayCache>,
}

/// Reads and merges the profiles file and `ISSUER_PROFILES_JSON`; a profile id in
/// both is an error.
pub fn load_profiles(file: Option<&Path>, json: Option<&str>) -> Result<Profiles, ConfigError> {
    let mut out = Profiles::new();
    if let Some(text) = json {
        out =
            parse_profiles(text).map_err(|e| ConfigError(format!("ISSUER_PROFILES_JSON: {e}")))?;
    }
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError(format!("cannot read profiles file {}: {e}", path.display()))
        })?;
        let from_file = parse_profiles(&text)
            .map_err(|e| ConfigError(format!("profiles file {}: {e}", path.display())))?;
        for (id, p) in from_file {
            if out.contains_key(&id) {
                return Err(ConfigError(format!(
                    "profile \"{id}\" is defined both in ISSUER_PROFILES_JSON and in {}",
                    path.display()
                )));
            }
            out.insert(id, p);
        }
    }
    for (id, p) in &out {
        if let Some(i) = &p.policy().introspection
            && let Err(e) = std::fs::read_to_string(&i.client_secret_file)
        {
            return Err(ConfigError(format!(
                "profile \"{id}\": introspection.client_secret_file: cannot read {} ({})",
                i.client_secret_file,
                e.kind()
            )));
        }
    }
    Ok(out)
}

/// Adds the `demo` profile when the demo issuer runs; a configured profile of that
/// name is an error.
fn add_demo(profiles: &mut Profiles, demo: Option<&crate::demo::Demo>) -> Result<(), ConfigError> {
    let Some(demo) = demo else { return Ok(()) };
    if profiles.contains_key(crate::demo::PROFILE) {
        return Err(ConfigError(format!(
            "--demo adds the issuer profile \"{}\", and a configured profile has that id; rename it",
            crate::demo::PROFILE
        )));
    }
    profiles.insert(
        crate::demo::PROFILE.to_owned(),
        demo.policy().map_err(ConfigError)?,
    );
    Ok(())
}

impl AppState {
    /// The revocation rules and their store.
    pub fn revocations(&self) -> &Arc<crate::revocations::Revocations> {
        &self.inner.revocations
    }

    /// The per-caller rate limiter of gateway mode.
    pub fn limiter(&self) -> &crate::ratelimit::Limiter {
        &self.inner.limiter
    }

    /// The DPoP replay cache: Redis in fleet mode, else this process's.
    pub fn replay(&self) -> &dyn jwtshield_middleware::ReplayCache {
        self.inner.replay.as_ref()
    }

    /// The demo issuer, with `--demo`.
    pub fn demo(&self) -> Option<&crate::demo::Demo> {
        self.inner.demo.as_ref()
    }

    /// Builds the state: loads and validates the profiles, creates the key-set cache.
    pub fn new(config: ServerConfig, metrics: PrometheusHandle) -> Result<AppState, ConfigError> {
        let demo = match config.demo {
            true => Some(crate::demo::Demo::new().map_err(ConfigError)?),
            false => None,
        };
        let mut profiles = load_profiles(
            config.profiles_file.as_deref(),
            config.profiles_json.as_deref(),
        )?;
        add_demo(&mut profiles, demo.as_ref())?;
        let keysets = KeySets::new(config.jwks.clone()).map_err(ConfigError)?;
        let revocations = crate::revocations::Revocations::open(&config.store, keysets.clone())?;
        let limiter = crate::ratelimit::Limiter::new(revocations.redis().cloned());
        let replay: Arc<dyn jwtshield_middleware::ReplayCache> = match revocations.redis() {
            Some(r) => Arc::new(crate::fleet::RedisReplayCache(r.clone())),
            None => Arc::new(jwtshield_middleware::LocalReplayCache::default()),
        };
        if let Some(id) = &config.admin.profile
            && !profiles.contains_key(id)
        {
            return Err(ConfigError(format!(
                "admin_profile: no issuer profile \"{id}\" is loaded"
            )));
        }
        let admission =
            crate::admission::Admission::new(config.max_concurrent_requests, config.max_queue);
        Ok(AppState {
            inner: Arc::new(Inner {
                admission,
                config,
                issuers: ArcSwap::from_pointee(IssuerIndex::build(&profiles)),
                profiles: ArcSwap::from_pointee(profiles),
                keysets,
                started: Instant::now(),
                started_at: SystemTime::now(),
                metrics,
                demo,
                revocations,
                limiter,
                replay,
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    /// The current profiles.
    pub fn profiles(&self) -> Arc<Profiles> {
        self.inner.profiles.load_full()
    }

    /// Which profile accepts which issuer (for gateway requests that name none).
    pub fn issuers(&self) -> arc_swap::Guard<Arc<IssuerIndex>> {
        self.inner.issuers.load()
    }

    /// Replaces the profiles atomically and starts warming their key sets.
    pub fn set_profiles(&self, profiles: Profiles) {
        for p in profiles.values() {
            self.inner.keysets.keep_warm(p);
        }
        metrics::gauge!("jwtshield_profiles").set(profiles.len() as f64);
        let index = IssuerIndex::build(&profiles);
        metrics::gauge!("jwtshield_issuers").set(index.len() as f64);
        self.inner.profiles.store(Arc::new(profiles));
        // a request between the two stores may route by the old index: its profile id
        // is looked up in the new profiles, and a missing one is an unknown issuer
        self.inner.issuers.store(Arc::new(index));
    }

    /// Re-reads the profiles file; a bad file is refused and the old profiles stay.
    pub fn reload_profiles(&self) -> Result<usize, ConfigError> {
        let cfg = &self.inner.config;
        let mut loaded = load_profiles(cfg.profiles_file.as_deref(), cfg.profiles_json.as_deref())?;
        add_demo(&mut loaded, self.demo())?;
        let n = loaded.len();
        self.set_profiles(loaded);
        Ok(n)
    }

    /// Admission control (shedding under overload).
    pub fn admission(&self) -> &Arc<crate::admission::Admission> {
        &self.inner.admission
    }

    /// The key-set cache.
    pub fn keysets(&self) -> &KeySets {
        &self.inner.keysets
    }

    /// Seconds since start.
    pub fn uptime(&self) -> u64 {
        self.inner.started.elapsed().as_secs()
    }

    /// When the service started.
    pub fn started_at(&self) -> SystemTime {
        self.inner.started_at
    }

    /// The Prometheus exporter.
    pub fn metrics(&self) -> &PrometheusHandle {
        &self.inner.metrics
    }

    /// Where each issuer profile's keys come from and whether it has a usable key,
    /// by profile id.
    pub fn profile_keys(&self) -> Vec<crate::schema::ProfileKeys> {
        let profiles = self.profiles();
        let keysets = self.keysets();
        profiles
            .iter()
            .map(|(id, policy)| {
                let k = keysets.policy_keys(policy);
                crate::schema::ProfileKeys {
                    profile: id.clone(),
                    source: k.source.to_owned(),
                    url: k.url,
                    usable: k.usable,
                    reason: k.reason,
                }
            })
            .collect()
    }
}
