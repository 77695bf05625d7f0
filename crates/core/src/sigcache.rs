//! The verified-signature cache, as the core sees it: "this exact token verified with
//! this key and algorithm". The core stays pure and holds no state; the cache is a
//! trait a caller may pass in ([`crate::Extras`]). `jwtshield-jwks` implements it.
//!
//! Why it is safe: the key of an entry is the SHA-256 of the whole compact token,
//! signature included, so a changed byte, a forged or re-encoded signature never hits;
//! an entry names the key by its [`KeyFingerprint`], so a hit counts only while that
//! very key is still one of the token's candidate keys (a rotated-out or removed key,
//! or another key set, never hits); and an entry is void after the token's `exp`.
//! Every other check (times with the current clock, issuer, audience, claims, scopes,
//! the policy's algorithms and keys) runs on every request.

use crate::alg::Alg;
use crate::keys::KeyFingerprint;
use crate::token::Digest;

/// What the cache remembers of one token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// The key that verified it.
    pub key: KeyFingerprint,
    /// The algorithm it verified with.
    pub alg: Alg,
    /// Unix seconds from which the entry is void: the token's `exp`.
    pub until: i64,
}

/// A store of verified signatures, bounded by its implementation.
pub trait SignatureCache: Send + Sync {
    /// The entry for a token digest, unless absent or void at `now` (`until <= now`).
    fn get(&self, token: &Digest, now: i64) -> Option<VerifiedSignature>;
    /// Remembers a verified signature.
    fn insert(&self, token: Digest, entry: VerifiedSignature);
}
