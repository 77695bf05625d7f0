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
//! ```
//! use jwtshield_core::{KeySet, Policy, validate};
//!
//! let policy = Policy::from_json(&serde_json::json!({
//!     "issuer": "https://acme.auth0.com/",
//!     "audiences": ["https://api.acme.com/"],
//!     "allowed_algs": ["HS256"],
//!     "secret": "a-shared-secret-of-at-least-32-bytes!"
//! })).unwrap().compile().unwrap();
//! let keys = policy.inline_keys().unwrap().clone();
//! let report = validate("not-a-jwt", &keys, &policy, 1_700_000_000);
//! assert!(!report.valid);
//! assert_eq!(report.findings[0].code.as_str(), "TOKEN_OPAQUE");
//! ```
#![warn(missing_docs)]

pub mod alg;
pub mod b64;
pub mod claims;
pub mod diagnostics;
pub mod finding;
pub mod gateway;
pub mod inspect;
pub mod json;
pub mod keys;
pub mod policy;
pub mod presets;
pub mod profiles;
pub mod report;
pub mod timefmt;
pub mod token;
mod validate;

pub use alg::{Alg, Curve, Family};
pub use finding::{Check, Checks, Code, Finding, Severity, Status};
pub use inspect::{Inspection, inspect};
pub use keys::{
    Freshness, Key, KeyOrigin, KeySet, KeySourceError, KeySummary, RejectedKey, SigError,
};
pub use policy::{ClaimRule, CompiledPolicy, Issuers, Policy, PolicyError, Secret};
pub use presets::{Preset, PresetError};
pub use profiles::{ProfileError, Profiles, parse_profiles};
pub use report::{KeyUsed, Report, Verified};
pub use token::{Limits, peek_header};
pub use validate::{MAX_KEYS_TRIED, validate, validate_with_limits};
