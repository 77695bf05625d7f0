//! A real Caddy (Debian's package; `.ci/run` installs it) using `forward_auth` to
//! `jwtshield serve`, in front of a small upstream on loopback: the same cases as nginx.

use std::process::{Command, Stdio};

use crate::gateway::{Stack, wait_for};
use crate::support::free_port;

/// The Caddyfile of docs/gateways.md, on loopback ports.
fn caddyfile(port: u16, jwtshield: u16, upstream: std::net::SocketAddr) -> String {
    format!(
        r#"{{
	admin off
	auto_https off
}}

http://:{port} {{
	bind 127.0.0.1
	route /api/admin* {{
		# identity headers come from jwtshield only, never from the client
		request_header -X-Auth-Subject
		request_header -X-Auth-Scopes
		request_header -X-Tenant-Id
		forward_auth 127.0.0.1:{jwtshield} {{
			uri /v1/authz?profile=api&scope=admin:read
			copy_headers X-Auth-Subject X-Auth-Scopes X-Tenant-Id
		}}
		reverse_proxy {upstream}
	}}
	route /api/* {{
		request_header -X-Auth-Subject
		request_header -X-Auth-Scopes
		request_header -X-Tenant-Id
		forward_auth 127.0.0.1:{jwtshield} {{
			uri /v1/authz?profile=api
			copy_headers X-Auth-Subject X-Auth-Scopes X-Tenant-Id
		}}
		reverse_proxy {upstream}
	}}
	respond 404
}}
"#
    )
}

#[test]
fn caddy_forward_auth_in_front_of_an_upstream() {
    let binary = ["/usr/bin/caddy", "/usr/local/bin/caddy"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("caddy is not installed: .ci/run installs it (apt-get install caddy)");
    let mut stack = Stack::start();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let file = dir.path().join("Caddyfile");
    std::fs::write(&file, caddyfile(port, stack.jp, stack.upstream)).unwrap();
    let caddy = Command::new(binary)
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(&file)
        // its data and config directories in the test's own
        .env("XDG_DATA_HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path())
        .env("HOME", dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    stack.procs.0.push(caddy);
    wait_for(port, "/");
    stack.cases(port, "caddy", 400);
}
