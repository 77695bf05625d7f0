//! Local HTTP servers for the binary's tests.

use std::net::SocketAddr;

use serde_json::Value;

/// A port on 127.0.0.1 that was free a moment ago (for a process that binds it itself).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Binds 127.0.0.1:0 and serves the router `make` builds for that address, from a
/// thread with its own runtime; `tls` wraps the listener in TLS.
fn spawn_serving(
    make: impl FnOnce(SocketAddr) -> axum::Router + Send + 'static,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = tcp.local_addr().unwrap();
            tx.send(addr).unwrap();
            match tls {
                None => axum::serve(tcp, make(addr)).await.unwrap(),
                Some(acceptor) => axum::serve(TlsListener { tcp, acceptor }, make(addr))
                    .await
                    .unwrap(),
            }
        });
    });
    rx.recv().unwrap()
}

/// Serves `router` on 127.0.0.1 from a thread with its own runtime.
pub fn spawn_http(router: axum::Router) -> SocketAddr {
    spawn_serving(move |_| router, None)
}

/// An identity provider serving `jwks` at /.well-known/jwks.json; returns its issuer URL.
pub fn idp(jwks: Value) -> String {
    let router = axum::Router::new().route(
        "/.well-known/jwks.json",
        axum::routing::get(move || {
            let j = jwks.clone();
            async move { axum::Json(j) }
        }),
    );
    format!("http://{}/", spawn_http(router))
}

/// A fresh data directory for one `jwtshield serve` (its embedded store is locked by
/// the process, so instances never share the default one). Left under target/ for
/// inspection; `cargo clean` removes it.
pub fn data_dir() -> String {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("data-{}-{n}", std::process::id()));
    dir.to_string_lossy().into_owned()
}

/// Starts Debian's nginx (`.ci/run` installs it) in the foreground with its files in
/// `dir`: the common preamble (pid, logs, temp paths, `user root` when running as root)
/// around `http_body`, the inside of the `http` block.
pub fn nginx(dir: &std::path::Path, http_body: &str) -> std::process::Child {
    let binary = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("nginx is not installed: .ci/run installs it (apt-get install nginx)");
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    let d = dir.display();
    let conf = format!(
        r#"{user}
worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
{http_body}
}}
"#,
        user = if root { "user root;" } else { "" }
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    std::process::Command::new(binary)
        .args(["-p", &d.to_string(), "-c", &format!("{d}/nginx.conf")])
        .args(["-e", &format!("{d}/error.log")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// A TLS listener for `axum::serve`: each accepted connection's handshake is done
/// before it is handed over (one at a time; enough for a test issuer).
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}

/// Serves over HTTPS on 127.0.0.1 the router `make` builds for the bound address, with
/// a certificate made here for 127.0.0.1; returns the address and the certificate (PEM)
/// for the client to trust.
pub fn spawn_https(
    make: impl FnOnce(SocketAddr) -> axum::Router + Send + 'static,
) -> (SocketAddr, String) {
    let ck =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let dir = tempfile::tempdir().unwrap().keep();
    let (cert, key) = (dir.join("issuer.crt"), dir.join("issuer.key"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    let tls = jwtshield_server::tls::Tls::load(&cert, &key).unwrap();
    (spawn_serving(make, Some(tls.acceptor())), ck.cert.pem())
}
