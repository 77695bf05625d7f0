//! DPoP, sender-constrained access tokens (RFC 9449). A DPoP-bound token carries the
//! thumbprint of its client's public key in `cnf.jkt`; each request comes with a fresh
//! proof, a JWT signed by that key (`typ: dpop+jwt`, the public key in the header's
//! `jwk`) naming the request's method (`htm`) and URI (`htu`), when it was made (`iat`),
//! a unique id (`jti`) and the hash of the access token (`ath`). A stolen token is then
//! useless without the private key.
//!
//! This module is the pure part: it checks a proof against the verified token, the
//! request and the clock, and records the findings (check `dpop`) in the token's
//! report. Refusing a replayed `jti` needs memory shared across requests (and across
//! the fleet): the caller keeps it, keyed by [`Accepted::replay_key`], and reports a
//! replay with [`replayed`].

use serde_json::{Value, json};

use crate::alg::{Alg, Family};
use crate::finding::{Check, Code, Finding, State};
use crate::json::JsonObject;
use crate::keys::{KeyOrigin, KeySet};
use crate::policy::CompiledPolicy;
use crate::report::Report;
use crate::token::{Limits, MAX_SIGNATURE_BYTES, Token};

/// Longest proof read, in bytes (an RSA-4096 proof is about 1.5 KiB).
pub const MAX_PROOF_BYTES: usize = 8 * 1024;

/// Longest `jti` accepted in a proof.
pub const MAX_JTI_BYTES: usize = 256;

/// How a token came with the request (`Authorization: <scheme> <token>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// `Bearer` (RFC 6750).
    Bearer,
    /// `DPoP` (RFC 9449 §7.1).
    DPoP,
}

/// The `DPoP` header(s) of the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proof<'a> {
    /// None came.
    Absent,
    /// Exactly one.
    One(&'a str),
    /// More than one (RFC 9449 §4.3: refused).
    Several,
}

/// What the request brought and what it was: the proof, the scheme the token was sent
/// with (`None` for `POST /v1/validate/jwt`, where no Authorization header exists), and
/// the method and absolute URI of the request the proof must name.
#[derive(Clone, Copy, Debug)]
pub struct Presented<'a> {
    /// The `DPoP` header(s).
    pub proof: Proof<'a>,
    /// The Authorization scheme, when there is one.
    pub scheme: Option<Scheme>,
    /// The request method (`GET`, `POST`, ...), as received.
    pub method: &'a str,
    /// The request's absolute URI (`https://api.example.com/orders?page=2`).
    pub uri: &'a str,
}

/// A proof that passed every check: what the replay cache must remember, and until when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The proof's `jti`.
    pub jti: String,
    /// The RFC 7638 thumbprint of the proof's key.
    pub jkt: String,
    /// Until when the proof could be accepted again (its `iat` plus the window, plus the
    /// clock skew): the replay cache keeps the `jti` this long.
    pub until: i64,
}

impl Accepted {
    /// The replay cache's key: base64url SHA-256 of key thumbprint and `jti` (one client
    /// cannot burn another's `jti`, and the key has a fixed size).
    pub fn replay_key(&self) -> String {
        let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        ctx.update(self.jkt.as_bytes());
        ctx.update(b".");
        ctx.update(self.jti.as_bytes());
        crate::b64::encode(ctx.finish().as_ref())
    }
}

/// The `cnf.jkt` of a token: the thumbprint of the key it is bound to.
pub fn bound_jkt(claims: &JsonObject) -> Option<&str> {
    claims.get("cnf")?.get("jkt")?.as_str()
}

/// base64url SHA-256 of the access token: the `ath` a proof must carry.
pub fn ath(access_token: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, access_token.as_bytes());
    crate::b64::encode(d.as_ref())
}

/// The RFC 7638 thumbprint (SHA-256, base64url) of a public JWK: the required members of
/// its key type, in lexicographic order, without whitespace.
pub fn thumbprint(jwk: &Value) -> Result<String, String> {
    let kty = jwk
        .get("kty")
        .and_then(Value::as_str)
        .ok_or("the jwk has no kty")?;
    let members: &[&str] = match kty {
        "EC" => &["crv", "kty", "x", "y"],
        "RSA" => &["e", "kty", "n"],
        "OKP" => &["crv", "kty", "x"],
        other => return Err(format!("a jwk of kty {other} has no thumbprint here")),
    };
    let mut canonical = String::from("{");
    for (i, m) in members.iter().enumerate() {
        let v = jwk
            .get(*m)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("the jwk has no string `{m}`"))?;
        if i > 0 {
            canonical.push(',');
        }
        canonical.push_str(&json!(m).to_string());
        canonical.push(':');
        canonical.push_str(&json!(v).to_string());
    }
    canonical.push('}');
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
    Ok(crate::b64::encode(d.as_ref()))
}

/// Whether the DPoP check applies at all: the token is bound, the profile requires
/// DPoP, the token came with the DPoP scheme, or a proof came.
pub fn applies(claims: &JsonObject, policy: &CompiledPolicy, presented: &Presented<'_>) -> bool {
    bound_jkt(claims).is_some()
        || policy.dpop().required
        || presented.scheme == Some(Scheme::DPoP)
        || presented.proof != Proof::Absent
}

/// The algorithms a proof may use, space-separated (the `algs` of the challenge).
pub fn challenge_algs(policy: &CompiledPolicy) -> String {
    let algs: Vec<&str> = policy
        .dpop()
        .allowed_algs
        .iter()
        .map(|a| a.as_str())
        .collect();
    algs.join(" ")
}

/// Checks the request's DPoP proof for the token of `report` (RFC 9449 §4.3 and §7) and
/// records the findings under check `dpop`. Runs only for a token whose signature
/// verified or whose introspection answered (RFC 9449 §6.2: `cnf.jkt` in the answer;
/// the binding of an unverified token means nothing); returns what the replay
/// cache must remember when the proof passed.
pub fn check(
    report: &mut Report,
    access_token: &str,
    policy: &CompiledPolicy,
    presented: &Presented<'_>,
    now: i64,
) -> Option<Accepted> {
    if !applies(report.claims.as_deref()?, policy, presented) {
        return None;
    }
    let claims = report.claims.clone()?;
    if report.key.is_none() && !report.introspected {
        report.mark(Check::Dpop, State::Skipped);
        return None;
    }
    let mut findings = Vec::new();
    let accepted = run(&claims, access_token, policy, presented, now, &mut findings);
    report.mark(Check::Dpop, State::Ran);
    for f in findings {
        report.push(f);
    }
    accepted
}

/// Records that the proof's `jti` was seen before (the replay cache said so).
pub fn replayed(report: &mut Report, accepted: &Accepted) {
    report.push(Finding::new(
        Code::DPOP_PROOF_REPLAYED,
        "this DPoP proof was already used: each request needs a fresh proof with a new jti",
        json!({"expected": "a jti not seen before", "actual": accepted.jti}),
    ));
}

fn run(
    claims: &JsonObject,
    access_token: &str,
    policy: &CompiledPolicy,
    presented: &Presented<'_>,
    now: i64,
    out: &mut Vec<Finding>,
) -> Option<Accepted> {
    let settings = policy.dpop();
    let bound = bound_jkt(claims);
    match (bound, presented.scheme) {
        (None, Some(Scheme::DPoP)) => out.push(Finding::new(
            Code::DPOP_TOKEN_NOT_BOUND,
            "the token was sent with the DPoP scheme but is not DPoP-bound (no cnf.jkt)",
            json!({"expected": "a cnf.jkt claim", "actual": claims.get("cnf")}),
        )),
        (None, _) if settings.required => out.push(Finding::new(
            Code::DPOP_TOKEN_NOT_BOUND,
            "the profile requires DPoP-bound tokens and this one has no cnf.jkt: ask the authorization server for a DPoP token (send a DPoP proof to its token endpoint)",
            json!({"expected": "a cnf.jkt claim", "actual": claims.get("cnf")}),
        )),
        (Some(_), Some(Scheme::Bearer)) => out.push(Finding::new(
            Code::DPOP_BOUND_TOKEN_AS_BEARER,
            "the token is DPoP-bound (cnf.jkt) but was sent with the Bearer scheme; send `Authorization: DPoP <token>` with a DPoP proof",
            json!({"expected": "Authorization: DPoP", "actual": "Authorization: Bearer"}),
        )),
        _ => {}
    }
    let proof = match presented.proof {
        Proof::One(p) => p,
        Proof::Absent => {
            out.push(Finding::new(
                Code::DPOP_PROOF_MISSING,
                "no DPoP proof came with the request (header `DPoP`)",
                json!({"expected": "one DPoP header", "actual": null}),
            ));
            return None;
        }
        Proof::Several => {
            out.push(invalid(
                "more than one DPoP header came with the request",
                json!("several DPoP headers"),
            ));
            return None;
        }
    };
    let (jkt, proof_claims) = verify_proof(proof, &settings.allowed_algs, out)?;
    let jti = proof_claims.get_str("jti").filter(|j| !j.is_empty());
    let jti = match jti {
        Some(j) if j.len() <= MAX_JTI_BYTES => Some(j),
        Some(j) => {
            out.push(invalid(
                &format!(
                    "the proof's jti is {} bytes, more than {MAX_JTI_BYTES}",
                    j.len()
                ),
                json!({"jti_bytes": j.len()}),
            ));
            None
        }
        None => {
            out.push(invalid(
                "the proof has no jti (a unique string)",
                json!({"jti": proof_claims.get("jti")}),
            ));
            None
        }
    };
    match proof_claims.get_str("htm") {
        Some(m) if m == presented.method => {}
        other => out.push(Finding::new(
            Code::DPOP_METHOD_MISMATCH,
            format!(
                "the proof was made for {} but the request is {}",
                other.map_or("no method (no htm)".to_owned(), |m| format!("method {m}")),
                presented.method
            ),
            json!({"expected": presented.method, "actual": proof_claims.get("htm")}),
        )),
    }
    let htu = proof_claims.get_str("htu");
    if !htu.is_some_and(|h| same_target(h, presented.uri)) {
        let request =
            target(presented.uri).map_or_else(|| presented.uri.to_owned(), |t| t.to_string());
        out.push(Finding::new(
            Code::DPOP_URI_MISMATCH,
            format!(
                "the proof names {} but the request is for {request} (query and fragment are not compared)",
                htu.map_or("no URI (no htu)".to_owned(), |h| format!("the URI {h}")),
            ),
            json!({"expected": request, "actual": proof_claims.get("htu")}),
        ));
    }
    let skew = policy.policy().clock_skew_seconds as i64;
    let window = settings.max_age_seconds as i64;
    let iat = proof_claims
        .get("iat")
        .and_then(Value::as_f64)
        .filter(|t| t.is_finite());
    let mut until = now + window + skew;
    match iat {
        None => out.push(invalid("the proof has no iat (a NumericDate)", json!({"iat": proof_claims.get("iat")}))),
        Some(t) if t < (now - window - skew) as f64 => out.push(Finding::new(
            Code::DPOP_PROOF_STALE,
            format!(
                "the proof was made {} ago; proofs are accepted for {window}s (clock skew {skew}s)",
                crate::timefmt::human_duration((now as f64 - t) as u64)
            ),
            json!({"expected": format!("iat >= now - {}s", window + skew), "actual": t, "now": now}),
        )),
        Some(t) if t > (now + skew) as f64 => out.push(Finding::new(
            Code::DPOP_PROOF_STALE,
            format!(
                "the proof is dated {} in the future (clock skew {skew}s): the client's clock is ahead",
                crate::timefmt::human_duration((t - now as f64) as u64)
            ),
            json!({"expected": format!("iat <= now + {skew}s"), "actual": t, "now": now}),
        )),
        Some(t) => until = t as i64 + window + skew + 1,
    }
    let expected_ath = ath(access_token);
    if proof_claims.get_str("ath") != Some(expected_ath.as_str()) {
        out.push(Finding::new(
            Code::DPOP_ATH_MISMATCH,
            match proof_claims.get("ath") {
                None => "the proof has no ath: it must carry the hash of the access token it comes with",
                Some(_) => "the proof's ath is not the hash of this access token: the proof was made for another token",
            },
            json!({"expected": expected_ath, "actual": proof_claims.get("ath")}),
        ));
    }
    if let Some(bound) = bound
        && bound != jkt
    {
        out.push(Finding::new(
            Code::DPOP_KEY_MISMATCH,
            "the proof is signed by another key than the one the token is bound to (cnf.jkt is not the thumbprint of the proof's jwk)",
            json!({"expected": bound, "actual": jkt}),
        ));
    }
    if out
        .iter()
        .any(|f| f.severity == crate::finding::Severity::Error)
    {
        return None;
    }
    Some(Accepted {
        jti: jti?.to_owned(),
        jkt,
        until,
    })
}

fn invalid(why: &str, evidence: Value) -> Finding {
    Finding::new(
        Code::DPOP_PROOF_INVALID,
        format!("the DPoP proof is not valid: {why}"),
        evidence,
    )
}

/// Parses and verifies the proof JWS with the key in its own header; its key's
/// thumbprint and its claims.
fn verify_proof(
    proof: &str,
    allowed: &[Alg],
    out: &mut Vec<Finding>,
) -> Option<(String, std::sync::Arc<JsonObject>)> {
    if proof.len() > MAX_PROOF_BYTES {
        out.push(invalid(
            &format!("it is {} bytes, more than {MAX_PROOF_BYTES}", proof.len()),
            json!({"proof_bytes": proof.len()}),
        ));
        return None;
    }
    let token = Token::parse(proof, &Limits::default());
    let (Some(parts), None) = (token.parts(), token.findings().first()) else {
        let why = token
            .findings()
            .first()
            .map_or("it is not a compact JWS".to_owned(), |f| {
                format!("it is not a compact JWS ({}: {})", f.code, f.message)
            });
        out.push(invalid(
            &why,
            json!({"format": token.findings().first().map(|f| f.code)}),
        ));
        return None;
    };
    let header = &parts.header;
    let typ = header.get_str("typ");
    if typ.map(crate::policy::normalize_typ).as_deref() != Some("dpop+jwt") {
        out.push(invalid(
            "its header typ must be dpop+jwt",
            json!({"expected": "dpop+jwt", "actual": header.get("typ")}),
        ));
        return None;
    }
    let alg = match header.get_str("alg").map(str::parse::<Alg>) {
        Some(Ok(a)) if allowed.contains(&a) && a.family() != Family::Hmac => a,
        _ => {
            out.push(invalid(
                "its alg is not one of the algorithms allowed for proofs (never none or HMAC)",
                json!({"expected": allowed, "actual": header.get("alg")}),
            ));
            return None;
        }
    };
    let Some(jwk) = header.get("jwk").filter(|j| j.is_object()) else {
        out.push(invalid(
            "its header has no jwk (the public key the proof is signed with)",
            json!({"expected": "a jwk object", "actual": header.get("jwk")}),
        ));
        return None;
    };
    // the key is read as an untrusted remote key: public material only, never oct
    let set = match KeySet::from_jwks(jwk, KeyOrigin::RemoteJwks, false) {
        Ok(set) => set,
        Err(e) => {
            out.push(invalid(
                &format!("its jwk is not a key: {}", e.0),
                json!({"jwk_kty": jwk.get("kty")}),
            ));
            return None;
        }
    };
    let key = match (set.keys(), set.rejected()) {
        ([k], []) => k,
        (_, [r, ..]) => {
            out.push(invalid(
                &format!("its jwk is refused: {}", r.reason),
                json!({"jwk_kty": jwk.get("kty")}),
            ));
            return None;
        }
        _ => {
            out.push(invalid(
                "its jwk is not one usable public key",
                json!({"jwk_kty": jwk.get("kty")}),
            ));
            return None;
        }
    };
    if let Err(
        crate::keys::Unusable::AlgMismatch(why)
        | crate::keys::Unusable::Use(why)
        | crate::keys::Unusable::TooShort(why),
    ) = key.usable_for(alg)
    {
        out.push(invalid(
            &format!("its jwk cannot verify {alg}: {why}"),
            json!({"alg": alg, "jwk_kty": jwk.get("kty")}),
        ));
        return None;
    }
    let mut buf = [0u8; MAX_SIGNATURE_BYTES];
    let verified = parts
        .signature_into(&mut buf)
        .is_some_and(|sig| key.verify(alg, parts.signing_input.as_bytes(), sig).is_ok());
    if !verified {
        out.push(invalid(
            "its signature does not verify with the jwk in its header",
            json!({"alg": alg}),
        ));
        return None;
    }
    let Some(claims) = parts.claims.clone() else {
        out.push(invalid("its payload is not a JSON object", Value::Null));
        return None;
    };
    let jkt = match thumbprint(jwk) {
        Ok(t) => t,
        Err(e) => {
            out.push(invalid(&e, json!({"jwk_kty": jwk.get("kty")})));
            return None;
        }
    };
    Some((jkt, claims))
}

/// A URI as the proof and the request are compared (RFC 9449 §4.3: without query and
/// fragment, after RFC 3986 syntax- and scheme-based normalization: case of scheme and
/// host, default port, dot segments, percent-encoding case).
fn target(uri: &str) -> Option<url::Url> {
    let mut u = url::Url::parse(uri).ok()?;
    if u.cannot_be_a_base() || !u.username().is_empty() || u.password().is_some() {
        return None;
    }
    u.set_query(None);
    u.set_fragment(None);
    Some(u)
}

fn same_target(htu: &str, request: &str) -> bool {
    match (target(htu), target(request)) {
        (Some(a), Some(b)) => {
            a.scheme() == b.scheme()
                && a.host_str() == b.host_str()
                && a.port_or_known_default() == b.port_or_known_default()
                && percent_upper(a.path()) == percent_upper(b.path())
        }
        _ => false,
    }
}

/// `%2f` and `%2F` are the same octet (RFC 3986 §6.2.2.1).
fn percent_upper(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '%' {
            for _ in 0..2 {
                if let Some(h) = chars.next() {
                    out.push(h.to_ascii_uppercase());
                }
            }
        }
    }
    out
}
