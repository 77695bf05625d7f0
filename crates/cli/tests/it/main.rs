//! The `jwtshield` binary, run as a user would: exit codes, output, files, stdin.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod caddy;
mod check;
mod commands;
mod console;
mod fleet;
mod gateway;
mod haproxy;
mod nginx;
mod readme;
mod serve;
mod support;
mod tls;
