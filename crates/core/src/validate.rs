//! The validation pipeline. Order follows jose and RFC 8725bis so cheap and dangerous
//! checks run first: size, structure, header JSON, `crit`, `alg` in the allowlist
//! (before any key lookup), key by `kid`/`kty`/`alg`/`use`, signature, then claims.
//! Unlike jose it does not stop at the first failure: every check that can run, runs.

use std::borrow::Cow;

use serde_json::{Value, json};

use crate::alg::Alg;
use crate::claims::{self, expected_shape, has_shape};
use crate::diagnostics;
use crate::finding::{Check, Checks, Code, Finding, State};
use crate::json::{JsonObject, raw_f64, raw_kind, raw_str, raw_str_list, raw_strs_any, raw_value};
use crate::keys::{Freshness, Key, KeySet, MAX_KID_LEN, SigError, Unusable};
use crate::policy::{CompiledPolicy, normalize_typ};
use crate::report::{KeyUsed, Report};
use crate::timefmt::{human_duration, numeric_date, numeric_date_f64, utc};
use crate::token::{self, Limits, strip_bearer};

/// Most keys tried for one token (several keys can match a token without `kid`).
pub const MAX_KEYS_TRIED: usize = 8;

/// Header parameters that carry keys or key URLs; they never choose a key.
const HEADER_KEY_PARAMS: [&str; 4] = ["jwk", "jku", "x5u", "x5c"];

struct Builder {
    findings: Vec<Finding>,
    checks: Checks,
    signature_ok: bool,
}

impl Builder {
    fn push(&mut self, f: Finding) {
        self.checks.note(&f);
        self.findings.push(f);
    }

    /// A finding about claims: marked when the signature did not verify.
    fn push_claim(&mut self, mut f: Finding) {
        if !self.signature_ok {
            f.unverified = true;
            f.message.push_str(" [from an unverified payload]");
        }
        self.push(f);
    }

    fn ran(&mut self, c: Check) {
        self.checks.mark(c, State::Ran);
    }
}

/// Validates a compact JWS against a policy with the keys in hand, at time `now`
/// (seconds since 1970). Pure: no I/O, no clock. Default [`Limits`].
pub fn validate(token: &str, keys: &KeySet, policy: &CompiledPolicy, now: i64) -> Report {
    validate_with_limits(token, keys, policy, now, &Limits::default())
}

/// [`validate`] with explicit size limits.
pub fn validate_with_limits(
    token: &str,
    keys: &KeySet,
    policy: &CompiledPolicy,
    now: i64,
    limits: &Limits,
) -> Report {
    let mut b = Builder {
        findings: Vec::new(),
        checks: Checks::new(),
        signature_ok: false,
    };
    let token = normalize(token, &mut b);
    let outcome = token::parse(token, limits);
    for f in outcome.findings {
        b.push(f);
    }
    let Some(parsed) = outcome.parsed else {
        let mut r = Report::new(b.findings, b.checks);
        r.header = outcome.jwe_header;
        return r;
    };
    let header = view_header(&parsed.header);
    let mut sig_buf = [0u8; token::MAX_SIGNATURE_BYTES];
    let kid = header_checks(&header, &mut b);
    let alg = algorithm_check(header.alg, policy, &mut b);
    let used = match kid {
        Ok(kid) => keys_and_signature(
            kid.as_deref(),
            alg,
            parsed.signature.map(|text| {
                parsed
                    .signature_into(&mut sig_buf)
                    .ok_or(text.len() * 3 / 4)
            }),
            parsed.signing_input,
            keys,
            &mut b,
        ),
        Err(()) => None,
    };
    if let Some(expected) = policy.expected_typ() {
        token_type_check(header.typ, expected, policy, &mut b);
    }
    if let Some(claims) = &parsed.claims {
        claim_checks(claims, policy, now, &mut b);
    }
    let mut r = Report::new(b.findings, b.checks);
    r.signature_verified = used.as_ref().map(|k| k.alg);
    r.key = used;
    r.header = Some(parsed.header);
    r.claims = parsed.claims;
    r
}

fn normalize<'a>(token: &'a str, b: &mut Builder) -> &'a str {
    let trimmed = token.trim_matches(|c: char| c.is_whitespace() || c == '"' || c == '\'');
    let mut t = trimmed;
    if trimmed.len() != token.len() {
        b.push(Finding::new(
            Code::TOKEN_WHITESPACE,
            "the token has surrounding whitespace or quotes (a copy-paste artefact); the trimmed token was analysed",
            json!({"expected": "the bare token", "actual": format!("{} extra characters", token.len() - trimmed.len())}),
        ));
    }
    if let Some(rest) = strip_bearer(t) {
        b.push(Finding::new(
            Code::TOKEN_BEARER_PREFIX,
            "the token starts with \"Bearer \": the whole Authorization header value was sent. Send only the token; the rest was analysed",
            json!({"expected": "the bare token", "actual": "Bearer <token>"}),
        ));
        t = rest;
    }
    t
}

/// The header parameters the checks read (as JSON text), gathered in one pass.
#[derive(Default)]
struct HeaderView<'a> {
    alg: Option<&'a str>,
    kid: Option<&'a str>,
    typ: Option<&'a str>,
    crit: Option<&'a str>,
    zip: Option<&'a str>,
    cty: Option<&'a str>,
    key_params: [bool; HEADER_KEY_PARAMS.len()],
}

fn view_header(header: &JsonObject) -> HeaderView<'_> {
    let mut v = HeaderView::default();
    for (k, raw) in header.raw_iter() {
        match k {
            "alg" => v.alg = Some(raw),
            "kid" => v.kid = Some(raw),
            "typ" => v.typ = Some(raw),
            "crit" => v.crit = Some(raw),
            "zip" => v.zip = Some(raw),
            "cty" => v.cty = Some(raw),
            "jwk" => v.key_params[0] = true,
            "jku" => v.key_params[1] = true,
            "x5u" => v.key_params[2] = true,
            "x5c" => v.key_params[3] = true,
            _ => {}
        }
    }
    v
}

/// The registered claims the checks read (as JSON text), gathered in one pass.
#[derive(Default)]
struct ClaimView<'a> {
    iss: Option<&'a str>,
    aud: Option<&'a str>,
    exp: Option<&'a str>,
    nbf: Option<&'a str>,
    iat: Option<&'a str>,
    id_token_signs: bool,
}

fn view_claims<'a>(claims: &'a JsonObject, aud_claim: &str) -> ClaimView<'a> {
    let mut v = ClaimView::default();
    for (k, raw) in claims.raw_iter() {
        match k {
            "iss" => v.iss = Some(raw),
            "exp" => v.exp = Some(raw),
            "nbf" => v.nbf = Some(raw),
            "iat" => v.iat = Some(raw),
            "nonce" | "at_hash" | "c_hash" | "token_use" | "typ" => v.id_token_signs = true,
            _ => {}
        }
        if k == aud_claim {
            v.aud = Some(raw);
        }
    }
    v
}

/// Header parameters other than `alg`. Returns the usable `kid`, or `Err` when the
/// `kid` itself is unacceptable.
fn header_checks<'h>(header: &HeaderView<'h>, b: &mut Builder) -> Result<Option<Cow<'h, str>>, ()> {
    if let Some(crit) = header.crit.map(raw_value) {
        let detail = match &crit {
            Value::Array(list) if list.is_empty() => {
                "an empty `crit` list is not allowed".to_owned()
            }
            Value::Array(list) => format!(
                "it lists {} as critical, and JWTShield understands no header extensions",
                list.iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => "`crit` must be an array of extension names".to_owned(),
        };
        b.push(Finding::new(
            Code::CRIT_UNSUPPORTED,
            format!(
                "the header's `crit` makes the token invalid here: {detail} (RFC 7515 §4.1.11)"
            ),
            json!({"expected": "no crit", "actual": crit}),
        ));
    }
    if let Some(zip) = header.zip.map(raw_value) {
        b.push(Finding::new(
            Code::ZIP_UNSUPPORTED,
            "the header asks for compressed content (`zip`); JWS does not allow it",
            json!({"expected": null, "actual": zip}),
        ));
    }
    if let Some(cty) = header.cty.map(raw_value) {
        let nested = cty.as_str().is_some_and(|c| normalize_typ(c) == "jwt");
        let (code, msg) = if nested {
            (
                Code::NESTED_JWT_UNSUPPORTED,
                "`cty: JWT` marks a nested token; nested JWTs are not accepted (each layer would need its own keys and policy)",
            )
        } else {
            (
                Code::CTY_UNSUPPORTED,
                "the header declares a content type (`cty`); a JWT payload is always JSON claims",
            )
        };
        b.push(Finding::new(
            code,
            msg,
            json!({"expected": null, "actual": cty}),
        ));
    }
    if header.key_params.contains(&true) {
        let present: Vec<&str> = HEADER_KEY_PARAMS
            .into_iter()
            .zip(header.key_params)
            .filter_map(|(p, here)| here.then_some(p))
            .collect();
        b.push(Finding::new(
            Code::HEADER_KEY_IGNORED,
            format!(
                "the header carries {}; keys from a token are never trusted, so this was ignored and only the policy's keys were used",
                present.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")
            ),
            json!({"expected": "keys from the policy only", "actual": present}),
        ));
    }
    let Some(raw) = header.kid else {
        return Ok(None);
    };
    match raw_str(raw) {
        Some(k) if k.len() <= MAX_KID_LEN && !k.chars().any(char::is_control) => Ok(Some(k)),
        other => {
            let why = match other {
                Some(k) if k.len() > MAX_KID_LEN => format!("longer than {MAX_KID_LEN} bytes"),
                Some(_) => "contains control characters".to_owned(),
                None => format!("{}, not a string", raw_kind(raw)),
            };
            b.push(Finding::new(
                Code::KID_INVALID,
                format!("the header `kid` is {why}; no key was looked up"),
                json!({"expected": format!("a string of at most {MAX_KID_LEN} bytes"), "actual": why}),
            ));
            Err(())
        }
    }
}

fn algorithm_check(alg: Option<&str>, policy: &CompiledPolicy, b: &mut Builder) -> Option<Alg> {
    b.ran(Check::Algorithm);
    let allowed = &policy.policy().allowed_algs;
    let allowed_names = || allowed.iter().map(|a| a.as_str()).collect::<Vec<_>>();
    let text = match alg {
        None => {
            b.push(Finding::new(
                Code::ALG_MISSING,
                "the header has no `alg`",
                json!({"expected": allowed_names(), "actual": null}),
            ));
            return None;
        }
        Some(raw) => match raw_str(raw) {
            Some(s) => s,
            None => {
                b.push(Finding::new(
                    Code::ALG_INVALID,
                    format!("the header `alg` is {}, not a string", raw_kind(raw)),
                    json!({"expected": allowed_names(), "actual": raw_value(raw)}),
                ));
                return None;
            }
        },
    };
    let raw: &str = &text;
    if raw.trim().eq_ignore_ascii_case("none") {
        b.push(Finding::new(
            Code::ALG_NONE,
            format!("`alg: {raw}` is an unsigned token; it is never accepted"),
            json!({"expected": allowed_names(), "actual": raw}),
        ));
        return None;
    }
    match Alg::from_name(raw) {
        Some(alg) if allowed.contains(&alg) => Some(alg),
        found => {
            let mut msg = format!(
                "alg {raw:?} is not in the policy's allowed_algs ({}); the signature was not checked",
                allowed_names().join(", ")
            );
            if found.is_some_and(Alg::is_hmac) && !allowed.iter().any(|a| a.is_hmac()) {
                msg.push_str(". An HS* token where public-key algorithms are expected is the key-confusion attack (CVE-2016-10555)");
            } else if found.is_none()
                && let Some(a) = allowed
                    .iter()
                    .find(|a| a.as_str().eq_ignore_ascii_case(raw.trim()))
            {
                msg.push_str(&format!(
                    ". Algorithm names are exact and case-sensitive: {a} was expected"
                ));
            }
            b.push(Finding::new(
                Code::ALG_NOT_ALLOWED,
                msg,
                json!({"expected": allowed_names(), "actual": raw}),
            ));
            None
        }
    }
}

fn families(keys: &[&Key]) -> Vec<String> {
    let mut v: Vec<String> = keys.iter().map(|k| k.family().describe()).collect();
    v.dedup();
    v
}

fn keys_and_signature(
    kid: Option<&str>,
    alg: Option<Alg>,
    signature: Option<Result<&[u8], usize>>,
    signing_input: &str,
    keys: &KeySet,
    b: &mut Builder,
) -> Option<KeyUsed> {
    // key_freshness: does the kid resolve? Without any key, the reason is the finding.
    if keys.keys().is_empty() {
        let no_keys = match &keys.freshness {
            Freshness::Unreachable { url, error } => Some((
                Code::JWKS_UNREACHABLE,
                format!(
                    "the issuer's key set could not be fetched and no cached copy is usable: {error}"
                ),
                json!({"expected": "a reachable key set", "actual": error, "url": url}),
            )),
            Freshness::Refused { url, reason } => Some((
                Code::JWKS_REFUSED,
                format!("the issuer's key set URL was refused, nothing was fetched: {reason}"),
                json!({"expected": "an https URL on a public address", "actual": url, "reason": reason}),
            )),
            Freshness::DiscoveryMismatch { url, actual } => Some((
                Code::DISCOVERY_ISSUER_MISMATCH,
                format!(
                    "the discovery document at {url} names issuer \"{actual}\", not the policy's issuer: its keys belong to another issuer and are not used"
                ),
                json!({"expected": "the policy's issuer", "actual": actual, "url": url}),
            )),
            _ => None,
        };
        if let Some((code, message, evidence)) = no_keys {
            b.push(Finding::new(code, message, evidence));
            return None;
        }
    }
    if let Freshness::Stale {
        url,
        expired_seconds_ago,
        error,
    } = &keys.freshness
    {
        b.push(Finding::new(
            Code::JWKS_STALE,
            format!(
                "the issuer's keys are stale: the key set expired {} ago and the refresh failed ({error}); the last good keys were used",
                human_duration(*expired_seconds_ago)
            ),
            json!({"expected": "a key set within its lifetime", "actual": format!("expired {expired_seconds_ago}s ago"), "url": url, "error": error}),
        ));
    }
    let any_kid_keys = keys.keys().iter().any(Key::matches_any_kid);
    if let Some(kid) = kid
        && !any_kid_keys
        && !keys.knows_kid(kid)
    {
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
        b.push(Finding::new(
            Code::KID_NOT_FOUND,
            msg,
            json!({"expected": known, "actual": kid}),
        ));
        return None;
    }
    b.ran(Check::KeyFreshness);

    let alg = alg?; // algorithm refused: never verify with it
    let sig = match signature {
        None => return None, // BASE64_INVALID already reported for the signature segment
        Some(Ok(sig)) => sig,
        Some(Err(len)) => {
            b.ran(Check::Signature);
            b.push(Finding::new(
                Code::SIGNATURE_MALFORMED,
                format!("the signature is about {len} bytes, longer than any supported key produces"),
                json!({"expected": format!("at most {} bytes", token::MAX_SIGNATURE_BYTES), "actual": len}),
            ));
            return None;
        }
    };
    b.ran(Check::Signature);
    if sig.is_empty() {
        b.push(Finding::new(
            Code::SIGNATURE_MISSING,
            "the signature segment is empty: the token is unsigned",
            json!({"expected": format!("a {alg} signature"), "actual": ""}),
        ));
        return None;
    }
    let is_candidate = |k: &&Key| match kid {
        Some(kid) => k.matches_any_kid() || k.kid() == Some(kid),
        None => true,
    };
    // the common path: try the usable candidates, no allocation
    let mut tried = 0;
    let mut malformed = None;
    for key in keys
        .keys()
        .iter()
        .filter(is_candidate)
        .filter(|k| k.can_verify(alg))
        .take(MAX_KEYS_TRIED)
    {
        tried += 1;
        match key.verify(alg, signing_input.as_bytes(), sig) {
            Ok(()) => {
                b.signature_ok = true;
                return Some(KeyUsed {
                    kid: key
                        .kid()
                        .map(str::to_owned)
                        .or_else(|| kid.map(str::to_owned)),
                    kty: key.family().kty(),
                    alg,
                    origin: key.origin(),
                });
            }
            Err(SigError::Malformed { expected, actual }) => malformed = Some((expected, actual)),
            Err(_) => {}
        }
    }
    if tried == 0 {
        let candidates: Vec<&Key> = keys.keys().iter().filter(is_candidate).collect();
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
            b.push(Finding::new(
                code,
                format!("the key{} cannot verify this token: {text}", kid.map(|k| format!(" \"{k}\"")).unwrap_or_default()),
                json!({"expected": alg.family().describe(), "actual": k.family().describe(), "alg": alg, "key_alg": k.declared_alg()}),
            ));
        } else if let Some(rejected) = kid.and_then(|kid| {
            keys.rejected()
                .iter()
                .find(|r| r.kid.as_deref() == Some(kid))
        }) {
            b.push(Finding::new(
                Code::KEY_REJECTED,
                format!(
                    "the key \"{}\" was refused when the key set was loaded: {}",
                    rejected.kid.as_deref().unwrap_or(""),
                    rejected.reason
                ),
                json!({"expected": "a usable key", "actual": rejected.reason}),
            ));
        } else if let (None, Some(rejected), true) =
            (kid, keys.rejected().first(), keys.keys().is_empty())
        {
            b.push(Finding::new(
                Code::KEY_REJECTED,
                format!("the configured key was refused: {}", rejected.reason),
                json!({"expected": "a usable key", "actual": rejected.reason}),
            ));
        } else {
            let all: Vec<&Key> = keys.keys().iter().collect();
            b.push(Finding::new(
                Code::NO_USABLE_KEY,
                if all.is_empty() {
                    "no keys are configured for this policy".to_owned()
                } else {
                    format!(
                        "no key in the key set can verify {alg} (it needs {}, the set has {})",
                        alg.family().describe(),
                        families(&all).join(", ")
                    )
                },
                json!({"expected": alg.family().describe(), "actual": families(&all)}),
            ));
        }
        return None;
    }
    match malformed {
        Some((expected, actual)) if tried == 1 => {
            let hint = if alg.family().kty() == "EC" && actual > expected {
                " (a DER-encoded ECDSA signature? JWS uses the raw r||s form)"
            } else {
                ""
            };
            b.push(Finding::new(
                Code::SIGNATURE_MALFORMED,
                format!("the {alg} signature is {actual} bytes; this key needs exactly {expected}{hint}"),
                json!({"expected": expected, "actual": actual}),
            ));
        }
        _ => b.push(Finding::new(
            Code::SIGNATURE_INVALID,
            format!(
                "the {alg} signature does not verify with {}: the token was altered, or signed by another key",
                if tried == 1 { "the issuer's key".to_owned() } else { format!("any of the {tried} candidate keys") }
            ),
            json!({"expected": "a valid signature", "actual": "invalid", "alg": alg, "keys_tried": tried}),
        )),
    }
    None
}

fn token_type_check(
    actual: Option<&str>,
    expected: &str,
    policy: &CompiledPolicy,
    b: &mut Builder,
) {
    b.ran(Check::TokenType);
    let given = policy.policy().token_type.as_deref().unwrap_or(expected);
    let ok = actual
        .and_then(raw_str)
        .is_some_and(|t| normalize_typ(&t) == expected);
    if !ok {
        b.push(Finding::new(
            Code::TOKEN_TYPE_MISMATCH,
            format!(
                "header typ is {} but the policy requires \"{given}\" (compared case-insensitively, without `application/`)",
                actual.unwrap_or("absent")
            ),
            json!({"expected": given, "actual": actual.map(raw_value)}),
        ));
    }
}

/// A claim's value by name (exact, else a dotted path), parsed.
fn claim_value<'a>(claims: &'a JsonObject, name: &str) -> Option<Cow<'a, Value>> {
    match claims.raw(name) {
        Some(raw) => Some(Cow::Owned(raw_value(raw))),
        None => claims::lookup(claims, name).map(Cow::Borrowed),
    }
}

fn claim_checks(claims: &JsonObject, policy: &CompiledPolicy, now: i64, b: &mut Builder) {
    let p = policy.policy();
    let skew = p.clock_skew_seconds as f64;
    let nowf = now as f64;
    let view = view_claims(claims, policy.audience_claim());

    // issuer
    b.ran(Check::Issuer);
    let expected_iss = p.issuer.all();
    let iss_expected = || {
        if expected_iss.len() == 1 {
            json!(expected_iss[0])
        } else {
            json!(expected_iss)
        }
    };
    match view.iss.map(|raw| (raw, raw_str(raw))) {
        None => b.push_claim(Finding::new(
            Code::ISSUER_MISSING,
            "the token has no `iss` claim",
            json!({"expected": iss_expected(), "actual": null}),
        )),
        Some((_, Some(iss))) if p.issuer.contains(&iss) => {}
        Some((_, Some(iss))) => {
            let note = diagnostics::issuer_mismatch_note(expected_iss, &iss).unwrap_or("");
            b.push_claim(Finding::new(
                Code::ISSUER_MISMATCH,
                format!(
                    "iss \"{iss}\" is not the expected issuer \"{}\"{note}",
                    expected_iss.join("\" or \"")
                ),
                json!({"expected": iss_expected(), "actual": iss}),
            ));
            for h in diagnostics::issuer_hints(expected_iss, &iss) {
                b.push_claim(h);
            }
        }
        Some((raw, None)) => b.push_claim(Finding::new(
            Code::ISSUER_INVALID,
            format!("iss is {}, not a string", raw_kind(raw)),
            json!({"expected": iss_expected(), "actual": raw_value(raw)}),
        )),
    }

    // audience
    b.ran(Check::Audience);
    let aud_claim = policy.audience_claim();
    match view.aud.filter(|raw| *raw != "null") {
        None => b.push_claim(Finding::new(
            Code::AUDIENCE_MISSING,
            format!("the token has no `{aud_claim}` claim; it was not issued for a specific API"),
            json!({"expected": p.audiences, "actual": null}),
        )),
        Some(raw) if raw_strs_any(raw, |a| p.audiences.iter().any(|e| e == a)) == Some(true) => {}
        Some(raw) => match raw_str_list(raw) {
            None => b.push_claim(Finding::new(
                Code::AUDIENCE_INVALID,
                format!(
                    "`{aud_claim}` must be a string or an array of strings, found {}",
                    if raw.starts_with('[') {
                        "an array with other values"
                    } else {
                        raw_kind(raw)
                    }
                ),
                json!({"expected": p.audiences, "actual": raw_value(raw)}),
            )),
            Some(list) => {
                let list: Vec<&str> = list.iter().map(|a| a.as_ref()).collect();
                let note = diagnostics::audience_mismatch_note(&list).unwrap_or("");
                b.push_claim(Finding::new(
                    Code::AUDIENCE_MISMATCH,
                    format!("{aud_claim} does not contain any of the policy's audiences{note}"),
                    json!({"expected": p.audiences, "actual": raw_value(raw)}),
                ));
                for h in diagnostics::audience_hints(&p.audiences, &list, aud_claim) {
                    b.push_claim(h);
                }
            }
        },
    }

    // expiry (required)
    b.ran(Check::Expiry);
    let exp = time_claim(view.exp, "exp", Code::EXPIRY_INVALID, b);
    match (view.exp, exp) {
        (None, _) => b.push_claim(Finding::new(
            Code::EXPIRY_MISSING,
            "the token has no `exp`; a token without an expiry would be valid forever and is refused",
            json!({"expected": "an exp claim", "actual": null}),
        )),
        (Some(raw), Some(exp)) if exp <= nowf - skew => {
            let ago = (nowf - exp).max(0.0) as u64;
            b.push_claim(Finding::new(
                Code::TOKEN_EXPIRED,
                format!("the token expired {} ago, at {} (clock skew allowed: {}s)", human_duration(ago), utc(exp), p.clock_skew_seconds),
                json!({"expected": format!("exp > now - {}s", p.clock_skew_seconds), "actual": raw_value(raw), "now": now,
                       "exp_utc": utc(exp), "now_utc": utc(nowf), "expired_seconds_ago": ago}),
            ));
        }
        _ => {}
    }

    // not before
    b.ran(Check::NotBefore);
    if let Some(nbf) = time_claim(view.nbf, "nbf", Code::NOT_BEFORE_INVALID, b)
        && nbf > nowf + skew
    {
        let wait = (nbf - nowf) as u64;
        b.push_claim(Finding::new(
            Code::TOKEN_NOT_YET_VALID,
            format!("the token is not valid for another {}, until {} (clock skew allowed: {}s); check the issuer's clock", human_duration(wait), utc(nbf), p.clock_skew_seconds),
            json!({"expected": format!("nbf <= now + {}s", p.clock_skew_seconds), "actual": view.nbf.map(raw_value), "now": now, "nbf_utc": utc(nbf), "now_utc": utc(nowf)}),
        ));
    }

    // issued at
    let iat = if view.iat.is_some() {
        b.ran(Check::IssuedAt);
        let iat = time_claim(view.iat, "iat", Code::ISSUED_AT_INVALID, b);
        if let Some(iat) = iat
            && iat > nowf + skew
        {
            b.push_claim(Finding::new(
                Code::ISSUED_IN_FUTURE,
                format!("iat is {} in the future ({}); the issuer's clock or this machine's clock is wrong", human_duration((iat - nowf) as u64), utc(iat)),
                json!({"expected": format!("iat <= now + {}s", p.clock_skew_seconds), "actual": view.iat.map(raw_value), "now": now, "iat_utc": utc(iat)}),
            ));
        }
        iat
    } else {
        None
    };

    // max ttl
    if let Some(max) = p.max_ttl_seconds {
        b.ran(Check::MaxTtl);
        let maxf = max as f64;
        if let Some(exp) = exp {
            match iat {
                Some(iat) if exp - iat > maxf => b.push_claim(Finding::new(
                    Code::MAX_TTL_EXCEEDED,
                    format!("the token lives {} (exp - iat), more than max_ttl_seconds {max} ({})", human_duration((exp - iat) as u64), human_duration(max)),
                    json!({"expected": max, "actual": exp - iat, "basis": "exp - iat"}),
                )),
                None if exp - nowf > maxf + skew => b.push_claim(Finding::new(
                    Code::MAX_TTL_EXCEEDED,
                    format!("the token has no iat and still has {} to live, more than max_ttl_seconds {max}", human_duration((exp - nowf) as u64)),
                    json!({"expected": max, "actual": exp - nowf, "basis": "exp - now"}),
                )),
                _ => {}
            }
        }
    }

    // required claims: presence and shape, read from the text without parsing
    b.ran(Check::RequiredClaims);
    for name in &p.required_claims {
        let raw = claims
            .raw(name)
            .map(Cow::Borrowed)
            .or_else(|| claims::lookup(claims, name).map(|v| Cow::Owned(v.to_string())));
        match raw.as_deref() {
            None | Some("null") => b.push_claim(Finding::new(
                Code::CLAIM_MISSING,
                format!(
                    "the required claim `{name}` is {}",
                    if raw.is_some() { "null" } else { "missing" }
                ),
                json!({"expected": name, "actual": null, "claim": name}),
            )),
            Some(raw) => {
                if let Some(shape) = expected_shape(name)
                    && !has_shape(raw, shape)
                {
                    b.push_claim(Finding::new(
                        Code::CLAIM_INVALID_TYPE,
                        format!(
                            "the claim `{name}` must be a {shape}, found {}",
                            raw_kind(raw)
                        ),
                        json!({"expected": shape, "actual": raw_value(raw), "claim": name}),
                    ));
                }
            }
        }
    }
    for (name, rule) in policy.rules() {
        let found = claim_value(claims, name);
        match found.as_deref() {
            Some(v) if rule.matches(v) => {}
            other => {
                let (code, msg) = match other {
                    None | Some(Value::Null) => (
                        Code::CLAIM_MISSING,
                        format!("the required claim `{name}` is missing"),
                    ),
                    Some(_) => (
                        Code::CLAIM_VALUE_MISMATCH,
                        format!("the claim `{name}` does not have the required value"),
                    ),
                };
                b.push_claim(Finding::new(
                    code,
                    msg,
                    json!({"expected": rule.expected(), "actual": other, "claim": name}),
                ));
            }
        }
    }

    // scopes
    if !p.required_scopes.is_empty() {
        b.ran(Check::Scopes);
        let granted = claims::granted_scopes(claims);
        let missing = claims::missing_scopes(&p.required_scopes, &granted);
        if !missing.is_empty() {
            b.push_claim(Finding::new(
                Code::SCOPE_MISSING,
                format!(
                    "the token lacks the scope{} {} (granted: {})",
                    if missing.len() == 1 { "" } else { "s" },
                    missing.join(", "),
                    if granted.is_empty() {
                        "none".to_owned()
                    } else {
                        granted.join(" ")
                    }
                ),
                json!({"expected": p.required_scopes, "actual": granted, "missing": missing}),
            ));
        }
    }

    if view.id_token_signs
        && let Some(h) = diagnostics::id_token_hint(claims)
    {
        b.push_claim(h);
    }
}

fn time_claim(raw: Option<&str>, name: &str, invalid: Code, b: &mut Builder) -> Option<f64> {
    let raw = raw?;
    let parsed = match raw_f64(raw) {
        Some(f) => numeric_date_f64(f),
        None => numeric_date(&raw_value(raw)),
    };
    match parsed {
        Ok(t) => Some(t),
        Err(why) => {
            b.push_claim(Finding::new(
                invalid,
                format!("`{name}` {why}"),
                json!({"expected": "a NumericDate (JSON number of seconds since 1970)", "actual": raw_value(raw)}),
            ));
            None
        }
    }
}
