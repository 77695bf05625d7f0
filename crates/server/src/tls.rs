//! HTTPS with rustls (`--tls-cert`, `--tls-key`): the certificate chain and key are read
//! at start (a bad pair stops the start) and reloaded on SIGHUP or when either file
//! changes; new connections use the new pair, open ones keep theirs. A pair that fails
//! to load is logged and the previous one stays.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use arc_swap::ArcSwap;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The certificate in use, and where it comes from.
#[derive(Clone)]
pub struct Tls {
    config: Arc<ArcSwap<ServerConfig>>,
    cert: PathBuf,
    key: PathBuf,
    stamp: Arc<std::sync::Mutex<(Option<SystemTime>, Option<SystemTime>)>>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tls({}, <key>)", self.cert.display())
    }
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

fn load(cert: &Path, key: &Path) -> Result<ServerConfig, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("tls_cert: cannot read {}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("tls_cert: {} is not PEM certificates: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("tls_cert: no certificate in {}", cert.display()));
    }
    let private = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("tls_key: no usable private key in {}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut cfg = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("tls: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| format!("tls: the certificate and key do not make a pair: {e}"))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(cfg)
}

impl Tls {
    /// Loads the pair; an error names the file and what is wrong.
    pub fn load(cert: &Path, key: &Path) -> Result<Tls, String> {
        let cfg = load(cert, key)?;
        Ok(Tls {
            config: Arc::new(ArcSwap::from_pointee(cfg)),
            cert: cert.to_owned(),
            key: key.to_owned(),
            stamp: Arc::new(std::sync::Mutex::new((mtime(cert), mtime(key)))),
        })
    }

    /// The acceptor for a new connection.
    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.config.load_full())
    }

    /// Reads the pair again; on error the current one stays.
    pub fn reload(&self) -> Result<(), String> {
        let cfg = load(&self.cert, &self.key)?;
        self.config.store(Arc::new(cfg));
        Ok(())
    }

    /// Reloads when either file changed since the last look; whether it did.
    pub fn reload_if_changed(&self) -> Option<Result<(), String>> {
        let now = (mtime(&self.cert), mtime(&self.key));
        let mut stamp = self
            .stamp
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *stamp == now {
            return None;
        }
        *stamp = now;
        Some(self.reload())
    }
}
