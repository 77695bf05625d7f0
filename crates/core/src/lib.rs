//! # jwtshield-core
//!
//! The validation core of JWTShield: it tells whether a JWT access token is really good,
//! and if not, exactly why. [`validate`] runs every check of a [`Policy`] on a compact
//! JWS with the keys in hand and returns a [`Report`] holding every finding with its
//! evidence, not just the first.
//!
//! The crate is pure: no network, no files, no clock. The current time is a parameter,
//! so every check is testable with a fixed clock; fetching key sets lives in
//! `jwtshield-jwks`, HTTP in `jwtshield-server`.
//!
//! A token is parsed once, at the edge, under the configured [`Limits`] ([`Token`]);
//! the key lookup, [`validate`], [`inspect()`] and the logs all read that one value. Each
//! check lives in its own module under [`checks`]. Claims reach an application only
//! through [`Verified`], which only the core can make.
//!
//! ```
//! use jwtshield_core::{Limits, Policy, Token, validate};
//!
//! let policy = Policy::from_json(&serde_json::json!({
//!     "issuer": "https://acme.auth0.com/",
//!     "audiences": ["https://api.acme.com/"],
//!     "allowed_algs": ["HS256"],
//!     "secret": "a-shared-secret-of-at-least-32-bytes!"
//! })).unwrap().compile().unwrap();
//! let keys = policy.inline_keys().unwrap().clone();
//! let token = Token::parse("not-a-jwt", &Limits::default());
//! let report = validate(&token, &keys, &policy, 1_700_000_000);
//! assert!(!report.valid());
//! assert_eq!(report.findings()[0].code.as_str(), "TOKEN_OPAQUE");
//! assert!(report.verified().is_none());
//! ```
#![warn(missing_docs)]

pub mod alg;
pub mod b64;
pub mod binding;
pub mod cache_control;
pub mod checks;
pub mod claims;
pub mod diagnostics;
pub mod doctor;
pub mod dpop;
pub mod finding;
pub mod forward;
pub mod gateway;
pub mod inspect;
pub mod json;
pub mod keys;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod policy;
pub mod presets;
pub mod profiles;
pub mod ratelimit;
pub mod report;
pub mod revocation;
pub mod sigcache;
pub mod timefmt;
pub mod token;
mod validate;
pub mod wellknown;

pub use alg::{Alg, Curve, Family};
pub use checks::key_freshness::{Freshness, Step};
pub use checks::{Extras, MAX_KEYS_TRIED};
pub use finding::{Check, Checks, Code, Finding, Severity, Status};
pub use inspect::{Inspection, inspect};
pub use keys::{
    Key, KeyFingerprint, KeyOrigin, KeySet, KeySourceError, KeySummary, RejectedKey, SigError,
};
pub use policy::{ClaimRule, CompiledPolicy, Issuers, Policy, PolicyError, Secret, Tenants};
pub use presets::{Preset, PresetError};
pub use profiles::{IssuerIndex, ProfileError, Profiles, Route, parse_profiles};
pub use report::{KeyUsed, Report, Verified};
pub use sigcache::{SignatureCache, VerifiedSignature};
pub use token::{Digest, Limits, Token};
pub use validate::{Introspected, validate, validate_introspected, validate_with};
