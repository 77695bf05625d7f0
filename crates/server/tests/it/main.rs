//! The service end to end over real HTTP, with a real JWKS server on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod authz;
mod cache;
mod dpop;
mod exact;
mod introspection;
mod ops;
mod ratelimit;
mod resilience;
mod revocation;
mod support;
