//! Fleet mode: state shared by every instance through Redis (`--state-url`). One
//! auto-reconnecting connection for commands (every call bounded by a short timeout, so
//! an unreachable Redis fails a write fast instead of holding it), and one subscriber
//! connection that follows change notices and reconnects on its own.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use jwtshield_core::revocation::Rule;
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// How long one Redis call may take before it counts as a failure.
const CALL_TIMEOUT: Duration = Duration::from_secs(1);

/// A Redis the instance shares state through.
#[derive(Clone)]
pub struct Redis {
    client: redis::Client,
    conn: Arc<tokio::sync::Mutex<Option<ConnectionManager>>>,
    healthy: Arc<AtomicBool>,
}

/// The text of an error, without the URL (it may hold a password).
fn text(e: &redis::RedisError) -> String {
    let s = e.to_string();
    match s.find("redis://").or_else(|| s.find("rediss://")) {
        Some(i) => format!("{}<url>", &s[..i]),
        None => s,
    }
}

impl Redis {
    /// A client for `url` (`redis://` or `rediss://`); nothing is connected yet. For
    /// `rediss://` the server certificate is verified against the system roots, or
    /// against `ca_file` (PEM) for a private CA.
    pub fn connect(url: &str, ca_file: Option<&Path>) -> Result<Redis, String> {
        let client = match ca_file {
            None => redis::Client::open(url),
            Some(path) => {
                if !url.starts_with("rediss://") {
                    return Err("a CA file applies to rediss:// URLs only".into());
                }
                let root_cert = std::fs::read(path)
                    .map_err(|e| format!("cannot read the CA file {}: {e}", path.display()))?;
                redis::Client::build_with_tls(
                    url,
                    redis::TlsCertificates {
                        client_tls: None,
                        root_cert: Some(root_cert),
                    },
                )
            }
        }
        .map_err(|e| format!("not a usable Redis URL: {}", text(&e)))?;
        Ok(Redis {
            client,
            conn: Arc::new(tokio::sync::Mutex::new(None)),
            healthy: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Whether the last call succeeded.
    pub fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    async fn conn(&self) -> Result<ConnectionManager, String> {
        let mut slot = self.conn.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let cfg = ConnectionManagerConfig::new()
            .set_connection_timeout(CALL_TIMEOUT)
            .set_response_timeout(CALL_TIMEOUT)
            .set_number_of_retries(1);
        let c = tokio::time::timeout(
            CALL_TIMEOUT * 2,
            ConnectionManager::new_with_config(self.client.clone(), cfg),
        )
        .await
        .map_err(|_| "connecting timed out".to_owned())?
        .map_err(|e| text(&e))?;
        *slot = Some(c.clone());
        Ok(c)
    }

    /// Runs one call with the timeout, noting health.
    async fn call<T, F>(&self, f: impl FnOnce(ConnectionManager) -> F) -> Result<T, String>
    where
        F: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let result = async {
            let conn = self.conn().await?;
            tokio::time::timeout(CALL_TIMEOUT, f(conn))
                .await
                .map_err(|_| "Redis did not answer in time".to_owned())?
                .map_err(|e| text(&e))
        }
        .await;
        self.healthy.store(result.is_ok(), Ordering::Relaxed);
        if result.is_err() {
            // start from a fresh connection next time
            *self.conn.lock().await = None;
        }
        result
    }

    /// Every rule in the hash.
    pub async fn load(&self, hash: &str) -> Result<Vec<Rule>, String> {
        // HSCAN in pages: each call stays small and inside the call timeout, however
        // many rules there are (HGETALL of a million rules would not)
        let mut out = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, page): (u64, Vec<(String, Vec<u8>)>) = self
                .call(|mut c| async move {
                    redis::cmd("HSCAN")
                        .arg(hash)
                        .arg(cursor)
                        .arg("COUNT")
                        .arg(5000)
                        .query_async(&mut c)
                        .await
                })
                .await?;
            out.extend(
                page.into_iter()
                    .filter_map(|(_, v)| serde_json::from_slice::<Rule>(&v).ok()),
            );
            if next == 0 {
                // HSCAN may return an entry twice; the caller keys rules by id
                return Ok(out);
            }
            cursor = next;
        }
    }

    /// One rule, or `None` when it is gone.
    pub async fn get(&self, hash: &str, id: &str) -> Result<Option<Vec<u8>>, String> {
        self.call(|mut c| async move { c.hget(hash, id).await })
            .await
    }

    /// The change counter of `hash` (bumped by every write), 0 when never written.
    pub async fn version(&self, hash: &str) -> Result<u64, String> {
        let key = format!("{hash}:version");
        let v: Option<u64> = self.call(|mut c| async move { c.get(&key).await }).await?;
        Ok(v.unwrap_or(0))
    }

    /// Stores a rule, then tells the other instances. Answers once Redis has it.
    pub async fn put(
        &self,
        hash: &str,
        channel: &str,
        id: &str,
        bytes: &[u8],
    ) -> Result<(), String> {
        let version = format!("{hash}:version");
        self.call(|mut c| async move {
            redis::pipe()
                .atomic()
                .hset(hash, id, bytes)
                .ignore()
                .incr(&version, 1)
                .ignore()
                .query_async::<()>(&mut c)
                .await
        })
        .await?;
        // a lost notice is healed by the periodic resync
        let _ = self
            .call(|mut c| async move { c.publish::<_, _, ()>(channel, id).await })
            .await;
        Ok(())
    }

    /// Deletes a rule, then tells the other instances; whether it existed.
    pub async fn delete(&self, hash: &str, channel: &str, id: &str) -> Result<bool, String> {
        let version = format!("{hash}:version");
        let (n,): (u64,) = self
            .call(|mut c| async move {
                redis::pipe()
                    .atomic()
                    .hdel(hash, id)
                    .incr(&version, 1)
                    .ignore()
                    .query_async(&mut c)
                    .await
            })
            .await?;
        let _ = self
            .call(|mut c| async move { c.publish::<_, _, ()>(channel, id).await })
            .await;
        Ok(n > 0)
    }

    /// Sets `key` unless it exists (`SET NX PX`), with a lifetime of `ttl_ms`: whether it
    /// was new. One atomic command, so two instances never both see a key as new.
    pub async fn set_once(&self, key: &str, ttl_ms: u64) -> Result<bool, String> {
        let set: Option<String> = self
            .call(|mut c| async move {
                redis::cmd("SET")
                    .arg(key)
                    .arg(1)
                    .arg("NX")
                    .arg("PX")
                    .arg(ttl_ms.max(1))
                    .query_async(&mut c)
                    .await
            })
            .await?;
        Ok(set.is_some())
    }

    /// Whether `key` exists.
    pub async fn exists(&self, key: &str) -> Result<bool, String> {
        self.call(|mut c| async move { c.exists(key).await }).await
    }

    /// Runs a Lua script on one key with three arguments (the rate limiter's GCRA).
    pub async fn script<T: redis::FromRedisValue>(
        &self,
        script: &redis::Script,
        key: &str,
        a: f64,
        b: u64,
        c: u64,
    ) -> Result<T, String> {
        self.call(|mut conn| async move {
            script
                .key(key)
                .arg(a)
                .arg(b)
                .arg(c)
                .invoke_async(&mut conn)
                .await
        })
        .await
    }

    /// Change notices on `channel`: a rule id per change, and an empty string after every
    /// (re)subscription, meaning "reload everything" (notices may have been missed).
    pub fn subscribe(&self, channel: &str) -> tokio::sync::mpsc::Receiver<String> {
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        let client = self.client.clone();
        let channel = channel.to_owned();
        tokio::spawn(async move {
            loop {
                if tx.is_closed() {
                    return;
                }
                let subscribed = async {
                    let mut ps = tokio::time::timeout(CALL_TIMEOUT * 2, client.get_async_pubsub())
                        .await
                        .ok()?
                        .ok()?;
                    ps.subscribe(&channel).await.ok()?;
                    Some(ps)
                }
                .await;
                if let Some(mut ps) = subscribed {
                    if tx.send(String::new()).await.is_err() {
                        return;
                    }
                    let mut messages = ps.on_message();
                    while let Some(m) = messages.next().await {
                        let id: String = m.get_payload().unwrap_or_default();
                        if !id.is_empty() && tx.send(id).await.is_err() {
                            return;
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
        rx
    }
}

/// The DPoP replay cache of a fleet: each accepted proof's key is set once in Redis
/// (`SET NX`) until the proof expires, so a proof spent at one instance is a replay at
/// every other. When Redis cannot answer, the request is refused (503), never let
/// through unchecked.
pub struct RedisReplayCache(pub Redis);

/// The prefix of the replay keys.
const REPLAY_PREFIX: &str = "jwtshield:dpop:";

impl jwtshield_middleware::ReplayCache for RedisReplayCache {
    fn first_use<'a>(
        &'a self,
        key: &'a str,
        until: i64,
    ) -> jwtshield_middleware::dpop::CacheFuture<'a, bool> {
        Box::pin(async move {
            let ttl_s = (until - jwtshield_jwks::unix_now()).max(1) as u64;
            self.0
                .set_once(&format!("{REPLAY_PREFIX}{key}"), ttl_s * 1000)
                .await
        })
    }

    fn seen<'a>(&'a self, key: &'a str) -> jwtshield_middleware::dpop::CacheFuture<'a, bool> {
        Box::pin(async move { self.0.exists(&format!("{REPLAY_PREFIX}{key}")).await })
    }
}
