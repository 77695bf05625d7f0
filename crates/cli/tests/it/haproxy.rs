//! A real HAProxy (Debian's package, 2.6 with Lua; `.ci/run` installs it) asking
//! `jwtshield serve` through docs/haproxy/jwtshield.lua (HAProxy's own HTTP client), in
//! front of a small upstream on loopback: the same cases as nginx and Caddy.

use std::process::{Command, Stdio};

use crate::gateway::{Stack, wait_for};
use crate::support::free_port;

/// The haproxy.cfg of docs/gateways.md, on loopback ports.
pub fn config(lua: &str, port: u16, jwtshield: u16, upstream: std::net::SocketAddr) -> String {
    let authz = format!("http://127.0.0.1:{jwtshield}/v1/authz?profile=api");
    format!(
        r#"global
  lua-load {lua}

defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s

frontend api
  bind 127.0.0.1:{port}
  acl admin path_beg /api/admin
  acl api path_beg /api/
  http-request lua.jwtshield {authz}&scope=admin:read x-tenant-id if admin
  http-request lua.jwtshield {authz} x-tenant-id if api !admin
  http-request return status 400 content-type application/json string '{{"error":"invalid_request"}}' hdr WWW-Authenticate "%[var(txn.jwtshield_challenge)]" if api {{ var(txn.jwtshield_status) -m int 400 }}
  http-request return status 401 content-type application/json string '{{"error":"invalid_token"}}' hdr WWW-Authenticate "%[var(txn.jwtshield_challenge)]" if api {{ var(txn.jwtshield_status) -m int 401 }}
  http-request return status 403 content-type application/json string '{{"error":"insufficient_scope"}}' hdr WWW-Authenticate "%[var(txn.jwtshield_challenge)]" if api {{ var(txn.jwtshield_status) -m int 403 }}
  http-request return status 429 content-type application/json string '{{"error":"rate_limited"}}' hdr Retry-After "%[var(txn.jwtshield_retry_after)]" if api {{ var(txn.jwtshield_status) -m int 429 }}
  http-request return status 503 content-type application/json string '{{"error":"temporarily_unavailable"}}' hdr Retry-After "%[var(txn.jwtshield_retry_after)]" if api {{ var(txn.jwtshield_status) -m int 503 }}
  # anything else that is not a 200 (an unknown profile, a bug): closed, never open
  http-request deny deny_status 500 if api !{{ var(txn.jwtshield_status) -m int 200 }}
  http-request return status 404 if !api
  default_backend app

backend app
  server app {upstream}
"#
    )
}

#[test]
fn haproxy_lua_forward_auth_in_front_of_an_upstream() {
    let binary = ["/usr/sbin/haproxy", "/usr/bin/haproxy"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("haproxy is not installed: .ci/run installs it (apt-get install haproxy)");
    let mut stack = Stack::start();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let lua = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/haproxy/jwtshield.lua"
    );
    let file = dir.path().join("haproxy.cfg");
    std::fs::write(&file, config(lua, port, stack.jp, stack.upstream)).unwrap();
    let check = Command::new(binary)
        .arg("-c")
        .arg("-f")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "haproxy -c: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let haproxy = Command::new(binary)
        .arg("-db")
        .arg("-f")
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    stack.procs.0.push(haproxy);
    wait_for(port, "/");
    stack.cases(port, "haproxy", 400);
}
