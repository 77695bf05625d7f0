//! The reference for `scripts/bench-limit`: a minimal HTTP/1.1 server in std-only Rust
//! that reads each request (headers and `Content-Length` body, keep-alive) and answers a
//! small fixed JSON body without validating anything. What it costs per request is the
//! floor any HTTP service pays on this machine: the kernel's loopback, one read and one
//! write per request.
//!
//! With `--verify DIR` (a `bench_fixture` directory) it also verifies the fixture
//! token's RS256 signature once per request with the crypto crate: a measured
//! reference for "one minimal HTTP exchange plus one verify" on this machine.
//! Usage: `null_http ADDR [--verify DIR]`; one thread per connection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 15\r\n\r\n{\"valid\":true}\n";

fn header_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

fn content_length(head: &[u8]) -> usize {
    let text = String::from_utf8_lossy(head);
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0)
}

/// What `--verify` checks per request: a key and one token's signing input and signature.
struct Verify {
    keys: jwtshield_core::KeySet,
    input: String,
    sig: Vec<u8>,
}

impl Verify {
    fn load(dir: &str) -> Verify {
        let jwks = std::fs::read(format!("{dir}/.well-known/jwks.json")).expect("jwks.json");
        let jwks: serde_json::Value = serde_json::from_slice(&jwks).unwrap();
        let keys =
            jwtshield_core::KeySet::from_jwks(&jwks, jwtshield_core::KeyOrigin::RemoteJwks, false)
                .unwrap();
        let token = std::fs::read_to_string(format!("{dir}/token.txt")).expect("token.txt");
        let (input, sig) = token.trim().rsplit_once('.').unwrap();
        let v = Verify {
            keys,
            input: input.to_owned(),
            sig: jwtshield_core::b64::decode(sig).unwrap(),
        };
        assert!(v.check(), "the fixture token must verify");
        v
    }

    fn check(&self) -> bool {
        self.keys.keys()[0]
            .verify(jwtshield_core::Alg::RS256, self.input.as_bytes(), &self.sig)
            .is_ok()
    }
}

fn serve(mut conn: TcpStream, verify: Option<&Verify>) {
    let _ = conn.set_nodelay(true);
    let mut buf = vec![0u8; 64 * 1024];
    let mut have = 0;
    loop {
        // one request: headers, then the body they announce
        let (end, len) = loop {
            if let Some(end) = header_end(&buf[..have]) {
                break (end, content_length(&buf[..end]));
            }
            match conn.read(&mut buf[have..]) {
                Ok(0) | Err(_) => return,
                Ok(n) => have += n,
            }
        };
        while have < end + len {
            match conn.read(&mut buf[have..]) {
                Ok(0) | Err(_) => return,
                Ok(n) => have += n,
            }
        }
        if let Some(v) = verify {
            assert!(v.check());
        }
        if conn.write_all(RESPONSE).is_err() {
            return;
        }
        buf.copy_within(end + len..have, 0);
        have -= end + len;
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr = args
        .first()
        .cloned()
        .unwrap_or_else(|| "127.0.0.1:9000".into());
    let verify: Option<&'static Verify> = match args.get(1).map(String::as_str) {
        Some("--verify") => Some(Box::leak(Box::new(Verify::load(&args[2])))),
        _ => None,
    };
    let listener = TcpListener::bind(&addr).expect("bind");
    for conn in listener.incoming().flatten() {
        std::thread::spawn(move || serve(conn, verify));
    }
}
