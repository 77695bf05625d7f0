//! Revocation rules: kept in a store (an embedded database in the data directory, or
//! Redis in fleet mode), mirrored in memory, and published to every validation as an
//! immutable [`RevocationSet`] (the hot path makes no store call).
//!
//! A write is acknowledged only after the store has it: the embedded store commits
//! durably (fsync) before the answer; Redis answers the write before the rule is
//! published to the other instances. When Redis is unreachable the last known rules keep
//! being enforced, the staleness shows in `/v1/status`, `/readyz` and `/metrics`, writes
//! get 503, and a resync catches up when it returns.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jwtshield_core::revocation::{RevocationSet, Rule, Target};
use jwtshield_jwks::{KeySets, unix_now};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::config::ConfigError;

/// Longest a rule lives when neither the request nor a profile says otherwise: no
/// token it could refuse lives longer than this in common setups.
pub const DEFAULT_RULE_LIFETIME: i64 = 24 * 3600;

/// Where rules are kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreConfig {
    /// In memory only (library use and tests; the CLI always gives a data directory).
    Memory,
    /// The embedded store in this directory.
    Embedded(PathBuf),
    /// Redis (`redis://` or `rediss://`), with an optional CA file for `rediss://`.
    Redis {
        /// The URL (may hold a password: never logged).
        url: String,
        /// PEM CA certificates for a private CA.
        ca_file: Option<PathBuf>,
    },
}

/// A store failed: the write was not acknowledged.
#[derive(Debug)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

const TABLE: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("revocations");
const REDIS_HASH: &str = "jwtshield:revocations";
const REDIS_CHANNEL: &str = "jwtshield:revocations:changed";

enum Store {
    Memory,
    Embedded(Arc<redb::Database>),
    Redis(crate::fleet::Redis),
}

/// Sync state, for status and metrics.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SyncState {
    /// Unix seconds of the last time the rules were known to match the store.
    pub last_sync: Option<i64>,
    /// The last error talking to the store, while it lasts.
    pub last_error: Option<String>,
    /// Fleet mode: the store's change counter at the last full load, and when that was.
    #[serde(skip)]
    pub loaded: Option<(u64, i64)>,
}

/// The rules of this process.
pub struct Revocations {
    store: Store,
    kind: &'static str,
    rules: Mutex<BTreeMap<String, Rule>>,
    keysets: KeySets,
    sync: Mutex<SyncState>,
}

fn encode(rule: &Rule) -> Vec<u8> {
    serde_json::to_vec(rule).unwrap_or_default()
}

fn decode(bytes: &[u8]) -> Option<Rule> {
    serde_json::from_slice(bytes).ok()
}

fn open_embedded(dir: &Path) -> Result<redb::Database, ConfigError> {
    let name = dir.display();
    std::fs::create_dir_all(dir)
        .map_err(|e| ConfigError(format!("data directory {name}: cannot create it: {e}")))?;
    let path = dir.join("jwtshield.redb");
    let db = redb::Database::create(&path).map_err(|e| {
        ConfigError(format!(
            "data directory {name}: cannot open the store {} ({e}); if another jwtshield uses it, give each instance its own --data-dir",
            path.display()
        ))
    })?;
    // a store that cannot be written is refused now, not at the first revocation
    let write = || -> Result<(), redb::Error> {
        let tx = db.begin_write()?;
        tx.open_table(TABLE)?;
        tx.commit()?;
        Ok(())
    };
    write().map_err(|e| {
        ConfigError(format!(
            "data directory {name}: the store is not writable: {e}"
        ))
    })?;
    Ok(db)
}

/// One durable write transaction on the rules table, off the async threads; answered
/// once committed.
async fn write_embedded<T: Send + 'static>(
    db: &Arc<redb::Database>,
    f: impl FnOnce(&mut redb::Table<'_, &str, &[u8]>) -> Result<T, redb::Error> + Send + 'static,
) -> Result<T, StoreError> {
    let db = db.clone();
    tokio::task::spawn_blocking(move || -> Result<T, redb::Error> {
        let tx = db.begin_write()?;
        let out = f(&mut tx.open_table(TABLE)?)?;
        tx.commit()?;
        Ok(out)
    })
    .await
    .map_err(|e| StoreError(e.to_string()))?
    .map_err(|e| StoreError(format!("the embedded store refused the write: {e}")))
}

fn load_embedded(db: &redb::Database) -> Result<Vec<Rule>, String> {
    use redb::{ReadableDatabase, ReadableTable};
    let tx = db.begin_read().map_err(|e| e.to_string())?;
    let table = tx.open_table(TABLE).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for item in table.iter().map_err(|e| e.to_string())? {
        let (k, v) = item.map_err(|e| e.to_string())?;
        match decode(v.value()) {
            Some(r) => out.push(r),
            None => return Err(format!("rule {} in the store is unreadable", k.value())),
        }
    }
    Ok(out)
}

impl Revocations {
    /// Opens the store and loads every rule. A data directory that cannot be created,
    /// opened, read or written is an error, never an empty list.
    pub fn open(cfg: &StoreConfig, keysets: KeySets) -> Result<Arc<Revocations>, ConfigError> {
        let (store, kind, loaded) = match cfg {
            StoreConfig::Memory => (Store::Memory, "memory", Vec::new()),
            StoreConfig::Embedded(dir) => {
                let db = open_embedded(dir)?;
                let rules = load_embedded(&db)
                    .map_err(|e| ConfigError(format!("data directory {}: {e}", dir.display())))?;
                (Store::Embedded(Arc::new(db)), "embedded", rules)
            }
            StoreConfig::Redis { url, ca_file } => {
                // nothing is loaded here: the sync task loads at once and keeps trying
                // while Redis is down (the rules are then empty and marked stale)
                let redis = crate::fleet::Redis::connect(url, ca_file.as_deref())
                    .map_err(|e| ConfigError(format!("state_url: {e}")))?;
                (Store::Redis(redis), "redis", Vec::new())
            }
        };
        let fleet = matches!(store, Store::Redis(_));
        let this = Arc::new(Revocations {
            store,
            kind,
            rules: Mutex::new(loaded.into_iter().map(|r| (r.id.clone(), r)).collect()),
            keysets,
            sync: Mutex::new(SyncState {
                last_sync: (!fleet).then(unix_now),
                last_error: fleet.then(|| "not loaded from Redis yet".to_owned()),
                loaded: None,
            }),
        });
        this.publish();
        Ok(this)
    }

    /// The Redis of fleet mode, for other shared state (rate limits).
    pub fn redis(&self) -> Option<&crate::fleet::Redis> {
        match &self.store {
            Store::Redis(r) => Some(r),
            _ => None,
        }
    }

    /// `memory`, `embedded` or `redis`.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// Rebuilds the in-memory index from the mirror and hands it to every validation.
    fn publish(&self) {
        let now = unix_now();
        let set = heavy(|| {
            let rules = lock(&self.rules);
            RevocationSet::new(rules.values().cloned(), now)
        });
        metrics::gauge!("jwtshield_revocation_rules").set(set.len() as f64);
        self.keysets.set_revocations(Arc::new(set));
    }

    /// Stores a rule, then enforces it here; other instances get it through the store.
    pub async fn add(&self, rule: Rule) -> Result<Rule, StoreError> {
        match &self.store {
            Store::Memory => {}
            Store::Embedded(db) => {
                let (id, bytes) = (rule.id.clone(), encode(&rule));
                write_embedded(db, move |t| {
                    t.insert(id.as_str(), bytes.as_slice())?;
                    Ok(())
                })
                .await?;
            }
            Store::Redis(r) => {
                r.put(REDIS_HASH, REDIS_CHANNEL, &rule.id, &encode(&rule))
                    .await
                    .map_err(|e| self.failed(e))?;
            }
        }
        lock(&self.rules).insert(rule.id.clone(), rule.clone());
        self.publish();
        metrics::counter!("jwtshield_revocation_changes_total", "action" => "add").increment(1);
        Ok(rule)
    }

    /// Deletes a rule; `false` when there was none with that id.
    pub async fn remove(&self, id: &str) -> Result<bool, StoreError> {
        let existed = match &self.store {
            Store::Memory => lock(&self.rules).contains_key(id),
            Store::Embedded(db) => {
                let key = id.to_owned();
                write_embedded(db, move |t| Ok(t.remove(key.as_str())?.is_some())).await?
            }
            Store::Redis(r) => r
                .delete(REDIS_HASH, REDIS_CHANNEL, id)
                .await
                .map_err(|e| self.failed(e))?,
        };
        lock(&self.rules).remove(id);
        self.publish();
        if existed {
            metrics::counter!("jwtshield_revocation_changes_total", "action" => "delete")
                .increment(1);
        }
        Ok(existed)
    }

    fn failed(&self, e: String) -> StoreError {
        lock(&self.sync).last_error = Some(e.clone());
        StoreError(format!("the state store (Redis) is unreachable: {e}"))
    }

    /// One rule of the mirror, by id.
    pub fn get(&self, id: &str) -> Option<Rule> {
        lock(&self.rules).get(id).cloned()
    }

    /// The live rules matching the filters, by id.
    pub fn list(&self, f: &Filter) -> Vec<Rule> {
        let now = unix_now();
        lock(&self.rules)
            .values()
            .filter(|r| r.live(now))
            .filter(|r| f.issuer.as_deref().is_none_or(|i| r.issuer == i))
            .filter(|r| match (&r.target, &f.sub, &f.jti, &f.client_id) {
                (_, None, None, None) => true,
                (Target::Jti { jti }, None, Some(want), None) => jti == want,
                (Target::Subject { sub, .. }, Some(want), None, None) => sub == want,
                (Target::Client { client_id, .. }, None, None, Some(want)) => client_id == want,
                _ => false,
            })
            .cloned()
            .collect()
    }

    /// For `/v1/status`, `/readyz` and the status page.
    pub fn status(&self) -> Value {
        let now = unix_now();
        let sync = lock(&self.sync).clone();
        // the rules enforced now (published), not the mirror still being indexed
        let live = self.keysets.revocations().map_or(0, |set| set.len());
        let healthy = match &self.store {
            Store::Redis(r) => r.healthy(),
            _ => true,
        };
        json!({
            "store": self.kind,
            "rules": live,
            "healthy": healthy,
            "last_sync": sync.last_sync,
            "stale_seconds": sync.last_sync.map(|t| (now - t).max(0)),
            "last_error": if healthy { None } else { sync.last_error },
        })
    }

    /// Drops expired rules from the store, and in fleet mode follows the other
    /// instances: applies published changes at once and reloads everything every
    /// `resync` to heal missed messages (and to catch up after an outage).
    pub fn spawn_sync(self: &Arc<Self>, resync: Duration) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let mut changes = match &this.store {
                Store::Redis(r) => Some(r.subscribe(REDIS_CHANNEL)),
                _ => None,
            };
            let mut tick = tokio::time::interval(resync);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let changed = async {
                    match changes.as_mut() {
                        Some(rx) => rx.recv().await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    _ = tick.tick() => this.resync().await,
                    msg = changed => match msg {
                        // (re)subscribed: notices may have been missed meanwhile
                        Some(id) if id.is_empty() => this.resync().await,
                        Some(id) => this.apply_change(&id).await,
                        None => changes = None,
                    },
                }
                let age = lock(&this.sync)
                    .last_sync
                    .map(|t| unix_now() - t)
                    .unwrap_or(-1);
                metrics::gauge!("jwtshield_revocation_sync_age_seconds").set(age as f64);
            }
        })
    }

    /// One rule changed elsewhere: read it (or its absence) from Redis.
    async fn apply_change(&self, id: &str) {
        let Store::Redis(r) = &self.store else { return };
        match r.get(REDIS_HASH, id).await {
            Ok(Some(bytes)) => {
                if let Some(rule) = decode(&bytes) {
                    lock(&self.rules).insert(rule.id.clone(), rule);
                }
            }
            Ok(None) => {
                lock(&self.rules).remove(id);
            }
            Err(e) => {
                lock(&self.sync).last_error = Some(e);
                return;
            }
        }
        self.publish();
    }

    /// The rules, unless the store's change counter says nothing changed since the last
    /// full load (a full load of a million rules is not free; it is done at least every
    /// ten minutes anyway).
    async fn reload_if_changed(
        &self,
        r: &crate::fleet::Redis,
        now: i64,
    ) -> Result<Option<Vec<Rule>>, String> {
        let version = r.version(REDIS_HASH).await?;
        let unchanged = lock(&self.sync)
            .loaded
            .is_some_and(|(v, at)| v == version && now - at < 600);
        if unchanged {
            return Ok(None);
        }
        let rules = r.load(REDIS_HASH).await?;
        lock(&self.sync).loaded = Some((version, now));
        Ok(Some(rules))
    }

    async fn resync(&self) {
        let now = unix_now();
        let expired: Vec<String> = lock(&self.rules)
            .values()
            .filter(|r| !r.live(now))
            .map(|r| r.id.clone())
            .collect();
        match &self.store {
            Store::Memory => {}
            Store::Embedded(db) => {
                if !expired.is_empty() {
                    let ids = expired.clone();
                    // a failed clean-up is retried at the next resync
                    let _ = write_embedded(db, move |t| {
                        for id in &ids {
                            t.remove(id.as_str())?;
                        }
                        Ok(())
                    })
                    .await;
                }
            }
            Store::Redis(r) => match self.reload_if_changed(r, now).await {
                Ok(None) => {
                    let mut s = lock(&self.sync);
                    s.last_sync = Some(now);
                    s.last_error = None;
                    return;
                }
                Ok(Some(rules)) => {
                    for id in &expired {
                        let _ = r.delete(REDIS_HASH, REDIS_CHANNEL, id).await;
                    }
                    let fresh: BTreeMap<String, Rule> =
                        heavy(|| rules.into_iter().map(|r| (r.id.clone(), r)).collect());
                    *lock(&self.rules) = fresh;
                    let mut s = lock(&self.sync);
                    s.last_sync = Some(now);
                    s.last_error = None;
                }
                Err(e) => {
                    lock(&self.sync).last_error = Some(e);
                    return;
                }
            },
        }
        if !matches!(self.store, Store::Redis(_)) {
            lock(&self.sync).last_sync = Some(now);
        }
        let mut rules = lock(&self.rules);
        rules.retain(|_, r| r.live(now));
        drop(rules);
        self.publish();
    }
}

/// Runs CPU-heavy work (indexing a million rules takes about a second) without holding
/// up the other tasks of this worker thread: on the multi-threaded runtime the worker
/// hands its tasks to others first.
fn heavy<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Filters of `GET /v1/revocations`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// Only rules of this issuer.
    pub issuer: Option<String>,
    /// Only sign-outs of this subject.
    pub sub: Option<String>,
    /// Only the rule of this `jti`.
    pub jti: Option<String>,
    /// Only sign-outs of this client.
    pub client_id: Option<String>,
    /// Rules to skip (paging), 0 to 1000000000. Default 0.
    #[param(minimum = 0, maximum = 1_000_000_000)]
    pub offset: Option<u64>,
    /// Rules per page, 1 to 1000. Default 100.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u64>,
}

/// The body of `POST /v1/revocations`: an issuer and exactly one of `jti`, `sub` or
/// `client_id`. Unknown members and `null` are refused.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"issuer": "https://acme.auth0.com/", "sub": "auth0|alice", "reason": "laptop stolen"})))]
pub struct NewRule {
    /// The issuer whose tokens the rule refuses (exact `iss`).
    #[schema(min_length = 1)]
    pub issuer: String,
    /// Refuse the one token with this `jti`.
    #[serde(default, deserialize_with = "jwtshield_core::policy::not_null")]
    #[schema(value_type = String, min_length = 1)]
    pub jti: Option<String>,
    /// Refuse every token of this subject issued before `issued_before`.
    #[serde(default, deserialize_with = "jwtshield_core::policy::not_null")]
    #[schema(value_type = String, min_length = 1)]
    pub sub: Option<String>,
    /// Refuse every token of this client (`azp`, `client_id` or `cid`) issued before
    /// `issued_before`.
    #[serde(default, deserialize_with = "jwtshield_core::policy::not_null")]
    #[schema(value_type = String, min_length = 1)]
    pub client_id: Option<String>,
    /// With `sub` or `client_id`: tokens whose `iat` is before this instant (seconds since
    /// 1970) are refused. Default: now.
    #[serde(default, deserialize_with = "jwtshield_core::policy::whole_i64_opt")]
    #[schema(value_type = i64, minimum = 0)]
    pub issued_before: Option<i64>,
    /// Why, kept with the rule and shown in the finding (at most 500 characters).
    #[serde(default, deserialize_with = "jwtshield_core::policy::not_null")]
    #[schema(value_type = String, max_length = 500)]
    pub reason: Option<String>,
    /// When the rule is dropped (seconds since 1970, in the future). Default: now plus
    /// the longest `max_ttl_seconds` of the profiles of that issuer, else 24 hours.
    #[serde(default, deserialize_with = "jwtshield_core::policy::whole_i64_opt")]
    #[schema(value_type = i64, minimum = 0)]
    pub expires_at: Option<i64>,
}

impl NewRule {
    /// The rule, or the member that is wrong and why.
    pub fn into_rule(
        self,
        now: i64,
        default_lifetime: i64,
    ) -> Result<Rule, (&'static str, String)> {
        if self.issuer.trim().is_empty() || self.issuer.trim() != self.issuer {
            return Err((
                "issuer",
                "must be the exact, non-empty `iss` of the tokens".into(),
            ));
        }
        if let Some(t) = self.issued_before
            && t < 0
        {
            return Err((
                "issued_before",
                "must be a Unix time (seconds, not negative)".into(),
            ));
        }
        let target = match (self.jti, self.sub, self.client_id) {
            (Some(jti), None, None) => {
                if self.issued_before.is_some() {
                    return Err((
                        "issued_before",
                        "applies to `sub` and `client_id` rules; a `jti` rule refuses that one token".into(),
                    ));
                }
                Target::Jti { jti }
            }
            (None, Some(sub), None) => Target::Subject {
                sub,
                issued_before: self.issued_before.unwrap_or(now),
            },
            (None, None, Some(client_id)) => Target::Client {
                client_id,
                issued_before: self.issued_before.unwrap_or(now),
            },
            (None, None, None) => {
                return Err((
                    "jti",
                    "give one of `jti` (one token), `sub` (sign a subject out) or `client_id` (a leaked client)".into(),
                ));
            }
            _ => {
                return Err((
                    "jti",
                    "give exactly one of `jti`, `sub` and `client_id`".into(),
                ));
            }
        };
        let empty = match &target {
            Target::Jti { jti: v } => v.is_empty().then_some("jti"),
            Target::Subject { sub: v, .. } => v.is_empty().then_some("sub"),
            Target::Client { client_id: v, .. } => v.is_empty().then_some("client_id"),
        };
        if let Some(field) = empty {
            return Err((field, "must not be empty".into()));
        }
        if let Some(r) = &self.reason
            && r.chars().count() > 500
        {
            return Err(("reason", "at most 500 characters".into()));
        }
        let expires_at = self.expires_at.unwrap_or(now + default_lifetime);
        if expires_at <= now {
            return Err((
                "expires_at",
                format!(
                    "must be in the future (now is {now}); a rule that has expired refuses nothing"
                ),
            ));
        }
        Ok(Rule {
            id: new_id(),
            issuer: self.issuer,
            target,
            reason: self.reason,
            created_at: now,
            expires_at,
        })
    }
}

/// A random rule id: 16 bytes, hex.
fn new_id() -> String {
    let mut b = [0u8; 16];
    // the system RNG does not fail on supported platforms; a zero id would still be unique enough
    let _ = aws_lc_rs::rand::fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}
