//! Integration tests of the validation core, all with a fixed clock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod algorithms;
mod attacks;
mod codes;
mod docs;
mod dpop;
mod gateway;
mod introspection;
mod props;
mod sigcache;
mod support;
mod wycheproof;
