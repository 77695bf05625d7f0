//! One home per check. Each module holds one check and nothing else: a `run` that reads
//! the token, the policy, the keys and `now` from the shared `Cx` and records its
//! findings and status there. [`crate::validate`] is the ordered list of these checks.

use std::borrow::Cow;
use std::sync::Arc;

use crate::alg::Alg;
use crate::finding::{Check, Checks, Finding, State};
use crate::json::JsonObject;
use crate::keys::{Key, KeySet};
use crate::policy::CompiledPolicy;
use crate::report::{KeyUsed, Report};
use crate::sigcache::SignatureCache;
use crate::token::{MAX_SIGNATURE_BYTES, Parts, Token};

pub mod algorithm;
pub mod audience;
pub mod expiry;
pub mod format;
pub mod header;
pub mod id_token;
pub mod introspection;
pub mod issued_at;
pub mod issuer;
pub mod key;
pub mod key_freshness;
pub mod max_ttl;
pub mod not_before;
pub mod required_claims;
pub mod revocation;
pub mod scopes;
pub mod signature;
pub mod time;
pub mod token_type;

/// Most keys tried for one token (several keys can match a token without `kid`).
pub const MAX_KEYS_TRIED: usize = 8;

/// The signature segment, decoded once.
pub(crate) enum Signature<'b> {
    /// Not strict base64url: `BASE64_INVALID` was reported by the parser.
    Undecodable,
    /// Longer than any supported key produces (about this many bytes).
    TooLong(usize),
    /// The decoded bytes (possibly empty).
    Bytes(&'b [u8]),
}

/// The usable keys for this token, in the order they are tried (no allocation).
#[derive(Default)]
pub(crate) struct Candidates {
    at: [usize; MAX_KEYS_TRIED],
    len: usize,
}

impl Candidates {
    pub(crate) fn push(&mut self, i: usize) -> bool {
        if self.len == MAX_KEYS_TRIED {
            return false;
        }
        self.at[self.len] = i;
        self.len += 1;
        true
    }

    pub(crate) fn iter<'k>(&self, keys: &'k KeySet) -> impl Iterator<Item = &'k Key> {
        self.at[..self.len]
            .iter()
            .filter_map(|i| keys.keys().get(*i))
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

/// What a validation may consult besides the token, keys, policy and clock.
#[derive(Clone, Copy, Default)]
pub struct Extras<'a> {
    /// Remembers exact tokens whose signature verified, so a token presented again
    /// skips the signature math (every other check still runs).
    pub signature_cache: Option<&'a dyn SignatureCache>,
    /// Revocation rules: with them the `revocation` check runs for verified tokens.
    pub revocations: Option<&'a crate::revocation::RevocationSet>,
}

/// The registered claims the checks read (their JSON text), found in one pass over
/// the payload.
#[derive(Clone, Copy, Default)]
pub(crate) struct Registered<'c> {
    pub iss: Option<&'c str>,
    /// The policy's audience claim (`aud` unless `audience_claim` says otherwise).
    pub aud: Option<&'c str>,
    pub exp: Option<&'c str>,
    pub nbf: Option<&'c str>,
    pub iat: Option<&'c str>,
    /// A claim only ID tokens carry (`nonce`, `at_hash`, `c_hash`, `token_use`, `typ`).
    pub id_token_signs: bool,
    /// What a revocation rule can name: `jti`, `sub`, `azp`, `client_id`, `cid`.
    pub jti: Option<&'c str>,
    pub sub: Option<&'c str>,
    pub clients: [Option<&'c str>; 3],
}

impl<'c> Registered<'c> {
    fn read(claims: &'c JsonObject, audience_claim: &str) -> Self {
        let mut r = Registered::default();
        for (name, raw) in claims.raw_iter() {
            match name {
                "iss" => r.iss = Some(raw),
                "exp" => r.exp = Some(raw),
                "nbf" => r.nbf = Some(raw),
                "iat" => r.iat = Some(raw),
                "nonce" | "at_hash" | "c_hash" | "token_use" | "typ" => r.id_token_signs = true,
                "jti" => r.jti = Some(raw),
                "sub" => r.sub = Some(raw),
                "azp" => r.clients[0] = Some(raw),
                "client_id" => r.clients[1] = Some(raw),
                "cid" => r.clients[2] = Some(raw),
                _ => {}
            }
            if name == audience_claim {
                r.aud = Some(raw);
            }
        }
        r
    }
}

/// Everything the checks read, and what they found so far.
pub(crate) struct Cx<'c> {
    /// The token and its parts; `None` for the claims of an introspection answer.
    pub token: Option<&'c Token<'c>>,
    pub parts: Option<&'c Parts<'c>>,
    pub header: &'c JsonObject,
    pub claims: Option<&'c JsonObject>,
    /// The registered claims of [`Cx::claims`].
    pub registered: Registered<'c>,
    pub policy: &'c CompiledPolicy,
    pub keys: &'c KeySet,
    pub now: i64,
    pub extras: Extras<'c>,
    pub signature: Signature<'c>,
    /// The header `alg`, when it is allowed by the policy.
    pub alg: Option<Alg>,
    /// The header `kid`: `Err` when it is unacceptable (no key is looked up then).
    pub kid: Result<Option<Cow<'c, str>>, ()>,
    /// False when the key set is unusable (unreachable, refused, unknown `kid`).
    pub keys_ok: bool,
    pub candidates: Candidates,
    pub used: Option<KeyUsed>,
    /// `exp` and `iat` as read by their checks, for `max_ttl`.
    pub exp: Option<f64>,
    pub iat: Option<f64>,
    pub missing_scopes: Vec<String>,
    /// Whether the verified-signature cache answered (see [`Report::signature_cached`]).
    pub signature_cached: Option<bool>,
    /// The claims are an introspection answer (RFC 7662): authentic without a signature.
    pub introspected: Option<Arc<JsonObject>>,
    findings: Vec<Finding>,
    checks: Checks,
}

impl<'c> Cx<'c> {
    pub(crate) fn new(
        token: &'c Token<'c>,
        parts: &'c Parts<'c>,
        keys: &'c KeySet,
        policy: &'c CompiledPolicy,
        now: i64,
        extras: Extras<'c>,
        sig_buf: &'c mut [u8; MAX_SIGNATURE_BYTES],
    ) -> Self {
        let signature = match parts.signature {
            None => Signature::Undecodable,
            Some(text) => match parts.signature_into(sig_buf) {
                Some(bytes) => Signature::Bytes(bytes),
                None => Signature::TooLong(text.len() * 3 / 4),
            },
        };
        let mut cx = Cx::base(
            &parts.header,
            parts.claims.as_deref(),
            keys,
            policy,
            now,
            extras,
        );
        cx.token = Some(token);
        cx.parts = Some(parts);
        cx.signature = signature;
        cx
    }

    /// What every context starts from: the parts to read, nothing found yet.
    fn base(
        header: &'c JsonObject,
        claims: Option<&'c JsonObject>,
        keys: &'c KeySet,
        policy: &'c CompiledPolicy,
        now: i64,
        extras: Extras<'c>,
    ) -> Self {
        Cx {
            token: None,
            parts: None,
            header,
            claims,
            registered: claims
                .map(|c| Registered::read(c, policy.audience_claim()))
                .unwrap_or_default(),
            policy,
            keys,
            now,
            extras,
            signature: Signature::Undecodable,
            alg: None,
            kid: Ok(None),
            keys_ok: false,
            candidates: Candidates::default(),
            used: None,
            exp: None,
            iat: None,
            missing_scopes: Vec::new(),
            signature_cached: None,
            introspected: None,
            findings: Vec::new(),
            checks: Checks::new(),
        }
    }

    /// The checks' view of an introspection answer (RFC 7662): its members are the
    /// claims, vouched for by the issuer instead of a signature; there is no header.
    pub(crate) fn introspected(
        claims: &'c Arc<JsonObject>,
        header: &'c JsonObject,
        policy: &'c CompiledPolicy,
        keys: &'c KeySet,
        now: i64,
        extras: Extras<'c>,
    ) -> Self {
        let mut cx = Cx::base(header, Some(claims), keys, policy, now, extras);
        cx.introspected = Some(claims.clone());
        cx
    }

    /// Whether the claims are authentic: the signature verified, or the issuer's
    /// introspection endpoint answered for them.
    pub(crate) fn authentic(&self) -> bool {
        self.used.is_some() || self.introspected.is_some()
    }

    /// Records a finding.
    pub(crate) fn push(&mut self, f: Finding) {
        self.checks.note(&f);
        self.findings.push(f);
    }

    /// Records a finding about claims, marked when the signature did not verify.
    pub(crate) fn push_claim(&mut self, mut f: Finding) {
        if !self.authentic() {
            f.unverified = true;
            f.message.push_str(" [from an unverified payload]");
        }
        self.push(f);
    }

    /// Marks a check as run (its status is `pass` unless an error names it).
    pub(crate) fn ran(&mut self, c: Check) {
        self.checks.mark(c, State::Ran);
    }

    /// The finished report of an introspection whose answer is not checked further
    /// (inactive, unreachable, unusable): no claims are shown.
    pub(crate) fn finish_without_claims(mut self) -> Report {
        self.introspected = None;
        self.finish()
    }

    /// The finished report.
    pub(crate) fn finish(self) -> Report {
        let mut r = Report::new(self.findings, self.checks);
        match self.parts {
            Some(parts) => {
                r.header = Some(parts.header.clone());
                r.claims = parts.claims.clone();
            }
            None => {
                r.claims = self.introspected;
                r.introspected = true;
            }
        }
        r.key = self.used;
        r.missing_scopes = self.missing_scopes;
        r.signature_cached = self.signature_cached;
        r
    }
}

/// The findings of a token that has no decodable header: only `format` ran.
pub(crate) fn format_only(token: &Token<'_>) -> Report {
    let mut checks = Checks::new();
    for f in token.findings() {
        checks.note(f);
    }
    let mut r = Report::new(token.findings().to_vec(), checks);
    r.header = token.header().cloned();
    r
}
