//! Key selection: the keys that may verify this token are those the `kid` names (or
//! every key when it names none, at most [`MAX_KEYS_TRIED`](super::MAX_KEYS_TRIED)),
//! of the algorithm's family, bound to its `alg` when the key names one, and allowed to
//! verify by `use`/`key_ops`. When none is left, the finding says why.

use serde_json::json;

use super::{Cx, Signature};
use crate::alg::Alg;
use crate::finding::{Check, Code, Finding};
use crate::keys::{Key, KeySet, Unusable};

/// Fills [`Cx::candidates`], or reports why no key can verify the token.
pub(crate) fn run(cx: &mut Cx<'_>) {
    let (true, Some(alg), Signature::Bytes(sig)) = (cx.keys_ok, cx.alg, &cx.signature) else {
        return;
    };
    if sig.is_empty() {
        return; // SIGNATURE_MISSING: nothing to verify
    }
    let kid = cx.kid.clone().ok().flatten();
    let kid = kid.as_deref();
    let keys = cx.keys;
    for (i, key) in keys.keys().iter().enumerate() {
        if named(key, kid) && key.can_verify(alg) && !cx.candidates.push(i) {
            break;
        }
    }
    if cx.candidates.len() == 0 {
        cx.ran(Check::Signature);
        cx.push(why_none(keys, kid, alg));
    }
}

/// Whether the token's `kid` (if any) names this key.
fn named(key: &Key, kid: Option<&str>) -> bool {
    match kid {
        Some(kid) => key.matches_any_kid() || key.kid() == Some(kid),
        None => true,
    }
}

/// Why no key of the set can verify this token.
fn why_none(keys: &KeySet, kid: Option<&str>, alg: Alg) -> Finding {
    let candidates: Vec<&Key> = keys.keys().iter().filter(|k| named(k, kid)).collect();
    // a specific reason when the token named the key (or only one key exists)
    let specific = kid.is_some() || candidates.len() == 1;
    if let Some(k) = candidates.first().filter(|_| specific)
        && let Err(why) = k.usable_for(alg)
    {
        let (code, text) = match why {
            Unusable::AlgMismatch(t) => (Code::KEY_ALG_MISMATCH, t),
            Unusable::Use(t) => (Code::KEY_USE_INVALID, t),
            Unusable::TooShort(t) => (Code::KEY_REJECTED, t),
        };
        Finding::new(
            code,
            format!(
                "the key{} cannot verify this token: {text}",
                kid.map(|k| format!(" \"{k}\"")).unwrap_or_default()
            ),
            json!({"expected": alg.family().describe(), "actual": k.family().describe(), "alg": alg, "key_alg": k.declared_alg()}),
        )
    } else if let Some(rejected) = kid.and_then(|kid| {
        keys.rejected()
            .iter()
            .find(|r| r.kid.as_deref() == Some(kid))
    }) {
        Finding::new(
            Code::KEY_REJECTED,
            format!(
                "the key \"{}\" was refused when the key set was loaded: {}",
                rejected.kid.as_deref().unwrap_or(""),
                rejected.reason
            ),
            json!({"expected": "a usable key", "actual": rejected.reason}),
        )
    } else if let (None, Some(rejected), true) =
        (kid, keys.rejected().first(), keys.keys().is_empty())
    {
        Finding::new(
            Code::KEY_REJECTED,
            format!("the configured key was refused: {}", rejected.reason),
            json!({"expected": "a usable key", "actual": rejected.reason}),
        )
    } else {
        let mut families: Vec<String> = keys.keys().iter().map(|k| k.family().describe()).collect();
        families.dedup();
        Finding::new(
            Code::NO_USABLE_KEY,
            if families.is_empty() {
                "no keys are configured for this policy".to_owned()
            } else {
                format!(
                    "no key in the key set can verify {alg} (it needs {}, the set has {})",
                    alg.family().describe(),
                    families.join(", ")
                )
            },
            json!({"expected": alg.family().describe(), "actual": families}),
        )
    }
}
