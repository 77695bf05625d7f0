//! `signature`: the signature verifies over the signing input with one of the selected
//! keys. A token whose exact bytes already verified with one of those keys (the
//! verified-signature cache, keyed by the SHA-256 of the whole token) skips the math;
//! its verdict is the same by construction.

use std::sync::Arc;

use serde_json::json;

use super::{Cx, Signature, time};
use crate::alg::Alg;
use crate::finding::{Check, Code, Finding};
use crate::keys::{Key, KeySet, SigError};
use crate::report::KeyUsed;
use crate::sigcache::VerifiedSignature;
use crate::token::MAX_SIGNATURE_BYTES;

/// Verifies the signature; sets [`Cx::used`] when it verifies.
pub(crate) fn run(cx: &mut Cx<'_>) {
    let (true, Some(alg), Some(token), Some(parts)) = (cx.keys_ok, cx.alg, cx.token, cx.parts)
    else {
        return; // no usable key set, or the algorithm was refused: never verify
    };
    let Some(sig) = present(cx, alg) else {
        return;
    };
    if cx.candidates.len() == 0 {
        return; // key selection said why
    }
    let keys = cx.keys;
    let cache = cx.extras.signature_cache;
    if let Some(key) = cached(cx, alg) {
        cx.used = Some(used(cx, key, alg));
        cx.signature_cached = Some(true);
        return;
    }
    cx.signature_cached = cache.map(|_| false);
    let mut malformed = None;
    let input = parts.signing_input.as_bytes();
    for key in cx.candidates.iter(keys) {
        match key.verify(alg, input, sig) {
            Ok(()) => {
                if let Some(cache) = cache
                    && let Some(until) = expires(cx)
                {
                    let entry = VerifiedSignature {
                        key: *key.fingerprint(),
                        alg,
                        until,
                    };
                    cache.insert(*token.digest(), entry);
                }
                cx.used = Some(used(cx, key, alg));
                return;
            }
            Err(SigError::Malformed { expected, actual }) => malformed = Some((expected, actual)),
            Err(_) => {}
        }
    }
    cx.push(failure(alg, cx.candidates.len(), malformed));
}

/// The signature bytes, or `None` after reporting why there are none to verify.
fn present<'c>(cx: &mut Cx<'c>, alg: Alg) -> Option<&'c [u8]> {
    let sig = match cx.signature {
        Signature::Undecodable => return None, // BASE64_INVALID already reported
        Signature::TooLong(len) => {
            cx.ran(Check::Signature);
            cx.push(Finding::new(
                Code::SIGNATURE_MALFORMED,
                format!(
                    "the signature is about {len} bytes, longer than any supported key produces"
                ),
                json!({"expected": format!("at most {MAX_SIGNATURE_BYTES} bytes"), "actual": len}),
            ));
            return None;
        }
        Signature::Bytes(sig) => sig,
    };
    cx.ran(Check::Signature);
    if sig.is_empty() {
        cx.push(Finding::new(
            Code::SIGNATURE_MISSING,
            "the signature segment is empty: the token is unsigned",
            json!({"expected": format!("a {alg} signature"), "actual": ""}),
        ));
        return None;
    }
    Some(sig)
}

/// The candidate key that already verified these exact token bytes, if the cache
/// remembers one.
fn cached<'c>(cx: &Cx<'c>, alg: Alg) -> Option<&'c Key> {
    let hit = cx.extras.signature_cache?.get(cx.token?.digest(), cx.now)?;
    let keys: &'c KeySet = cx.keys;
    (hit.alg == alg)
        .then(|| {
            cx.candidates
                .iter(keys)
                .find(|k| k.fingerprint() == &hit.key)
        })
        .flatten()
}

/// The finding when no candidate key verified the signature.
fn failure(alg: Alg, tried: usize, malformed: Option<(usize, usize)>) -> Finding {
    match malformed {
        Some((expected, actual)) if tried == 1 => {
            let hint = if alg.family().kty() == "EC" && actual > expected {
                " (a DER-encoded ECDSA signature? JWS uses the raw r||s form)"
            } else {
                ""
            };
            Finding::new(
                Code::SIGNATURE_MALFORMED,
                format!(
                    "the {alg} signature is {actual} bytes; this key needs exactly {expected}{hint}"
                ),
                json!({"expected": expected, "actual": actual}),
            )
        }
        _ => Finding::new(
            Code::SIGNATURE_INVALID,
            format!(
                "the {alg} signature does not verify with {}: the token was altered, or signed by another key",
                if tried == 1 {
                    "the issuer's key".to_owned()
                } else {
                    format!("any of the {tried} candidate keys")
                }
            ),
            json!({"expected": "a valid signature", "actual": "invalid", "alg": alg, "keys_tried": tried}),
        ),
    }
}

fn used(cx: &Cx<'_>, key: &Key, alg: Alg) -> KeyUsed {
    KeyUsed {
        kid: key.kid_shared().cloned().or_else(|| {
            cx.kid
                .as_ref()
                .ok()
                .and_then(|k| k.as_deref())
                .map(Arc::from)
        }),
        kty: key.family().kty(),
        alg,
        origin: key.origin(),
    }
}

/// Until when a verified signature may be remembered: the token's `exp`, when it is a
/// valid time still in the future (a token without one is refused anyway).
fn expires(cx: &Cx<'_>) -> Option<i64> {
    let exp = time::numeric(cx.registered.exp?).ok()?;
    let until = exp.floor() as i64;
    (until > cx.now).then_some(until)
}
