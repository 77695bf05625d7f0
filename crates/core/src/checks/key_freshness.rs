//! `key_freshness`: the token's key comes from a current key set. The layer that
//! fetches key sets (`jwtshield-jwks`) says how current a set is as a [`Freshness`];
//! its findings come from that value ([`Freshness::finding`]), and this check adds the
//! one the core sees itself: a `kid` the set does not hold.

use serde_json::json;

use super::Cx;
use crate::finding::{Check, Code, Finding, Severity};
use crate::keys::Key;
use crate::timefmt::human_duration;

/// The step of finding an issuer's keys that failed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Step {
    /// Reading the OpenID discovery document (for its `jwks_uri`).
    Discovery,
    /// Fetching the key set itself.
    #[default]
    KeySet,
}

impl Step {
    /// The step's name in evidence.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Discovery => "discovery",
            Step::KeySet => "key_set",
        }
    }
}

/// How current a key set is. Set by the layer that fetched it; the core turns it into
/// `key_freshness` findings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Freshness {
    /// Local keys, or a remote set within its lifetime.
    #[default]
    Fresh,
    /// Past its lifetime; the refresh failed; still inside the stale window.
    Stale {
        /// The key set URL.
        url: String,
        /// Seconds since the set expired.
        expired_seconds_ago: u64,
        /// Why the refresh failed.
        error: String,
    },
    /// The keys could not be fetched: with no keys, none is usable (cold, or past the
    /// stale window); with keys, the set could not be refreshed to look for a `kid` it
    /// does not hold.
    Unreachable {
        /// Which step failed.
        step: Step,
        /// The URL of that step.
        url: String,
        /// Why the fetch failed.
        error: String,
    },
    /// The key set URL was refused before any connection: not https, or it (or a
    /// redirect) points at a loopback, private or otherwise internal address.
    Refused {
        /// The refused URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The issuer's discovery document names another issuer, so its keys are not the
    /// policy issuer's keys.
    DiscoveryMismatch {
        /// The discovery document URL.
        url: String,
        /// The issuer the policy expects.
        expected: String,
        /// The `issuer` the document names.
        actual: String,
    },
}

impl Freshness {
    /// The finding this state means, if any: an error when no key can be used, a
    /// warning when stale keys are used.
    pub fn finding(&self) -> Option<Finding> {
        Some(match self {
            Freshness::Fresh => return None,
            Freshness::Stale {
                url,
                expired_seconds_ago,
                error,
            } => Finding::new(
                Code::JWKS_STALE,
                format!(
                    "the issuer's keys are stale: the key set expired {} ago and the refresh failed ({error}); the last good keys were used",
                    human_duration(*expired_seconds_ago)
                ),
                json!({"expected": "a key set within its lifetime", "actual": format!("expired {expired_seconds_ago}s ago"), "url": url, "error": error}),
            ),
            Freshness::Unreachable { step, url, error } => Finding::new(
                Code::JWKS_UNREACHABLE,
                match step {
                    Step::Discovery => format!(
                        "the issuer's discovery document at {url} could not be read and no earlier answer is usable: {error}"
                    ),
                    Step::KeySet => format!(
                        "the issuer's key set could not be fetched and no cached copy is usable: {error}"
                    ),
                },
                json!({"expected": match step {
                           Step::Discovery => "a reachable discovery document",
                           Step::KeySet => "a reachable key set",
                       },
                       "actual": error, "url": url, "step": step.as_str()}),
            ),
            Freshness::Refused { url, reason } => Finding::new(
                Code::JWKS_REFUSED,
                format!("the issuer's key set URL was refused, nothing was fetched: {reason}"),
                json!({"expected": "an https URL on a public address", "actual": url, "reason": reason}),
            ),
            Freshness::DiscoveryMismatch {
                url,
                expected,
                actual,
            } => Finding::new(
                Code::DISCOVERY_ISSUER_MISMATCH,
                format!(
                    "the discovery document at {url} names issuer \"{actual}\", not the policy's issuer \"{expected}\": its keys belong to another issuer and are not used"
                ),
                json!({"expected": expected, "actual": actual, "url": url}),
            ),
        })
    }
}

/// Sets [`Cx::keys_ok`] when the set can be used for this token.
pub(crate) fn run(cx: &mut Cx<'_>) {
    let kid = match &cx.kid {
        Ok(kid) => kid.clone(),
        Err(()) => return, // KID_INVALID: no key is looked up
    };
    let keys = cx.keys;
    match keys.freshness.finding() {
        // no key can be used: the reason is the finding
        Some(f) if f.severity == Severity::Error && keys.keys().is_empty() => {
            cx.push(f);
            return;
        }
        Some(f) if f.severity == Severity::Error => {}
        Some(stale) => cx.push(stale),
        None => {}
    }
    if let Some(kid) = kid.as_deref()
        && !keys.keys().iter().any(Key::matches_any_kid)
        && !keys.knows_kid(kid)
    {
        let failing = match &keys.freshness {
            Freshness::Unreachable { step, url, error } => Some((*step, url, error)),
            Freshness::Stale { url, error, .. } => Some((Step::KeySet, url, error)),
            _ => None,
        };
        if let Some((step, url, error)) = failing {
            // the kid could not be looked for: the issuer's outage, not the token's fault
            let f = Finding::new(
                Code::JWKS_UNREACHABLE,
                format!(
                    "kid \"{kid}\" is not among the cached keys, and the key set could not be refreshed to look for it: {error}"
                ),
                json!({"expected": "a reachable key set", "actual": error, "url": url, "kid": kid,
                       "step": step.as_str()}),
            );
            cx.push(f);
            return;
        }
        let known = keys.kids();
        let msg = if keys.keys().is_empty() && keys.rejected().is_empty() {
            format!("no keys are configured, so kid \"{kid}\" cannot resolve")
        } else {
            format!(
                "kid \"{kid}\" is not in the issuer's key set (it has {}); the token was signed with a key this issuer does not publish, or one rotated out",
                if known.is_empty() {
                    "no key ids".to_owned()
                } else {
                    known.join(", ")
                }
            )
        };
        let f = Finding::new(
            Code::KID_NOT_FOUND,
            msg,
            json!({"expected": known, "actual": kid}),
        );
        cx.push(f);
        return;
    }
    cx.ran(Check::KeyFreshness);
    cx.keys_ok = true;
}
