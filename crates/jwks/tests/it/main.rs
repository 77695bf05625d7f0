//! Key sets against a real JWKS server on 127.0.0.1: rotation, floods, lifetimes,
//! outages, discovery, and the SSRF guard.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cache;
mod outage;
mod server;
mod ssrf;
