//! Strict parsing of a compact JWS (RFC 7515 §7.1, RFC 7519 §7.2): exactly three
//! base64url segments, a JSON-object header and payload. Every deviation becomes a
//! `format` finding with the offending part as evidence; nothing here panics.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use serde_json::{Value, json};

use crate::b64;
use crate::finding::{Code, Finding};
use crate::json::{self, JsonError, JsonObject};
use crate::keys::MAX_KID_LEN;

/// Size and nesting limits for untrusted input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest token accepted, in bytes. Defaults to 16 KiB.
    pub max_token_bytes: usize,
    /// Deepest nesting of objects and arrays in header or payload. Defaults to 32.
    pub max_json_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_token_bytes: 16 * 1024,
            max_json_depth: json::DEFAULT_MAX_DEPTH,
        }
    }
}

/// The parts of a token whose header decoded. The payload and signature may still be
/// broken.
#[derive(Debug)]
pub struct Parts<'a> {
    /// The exact bytes the signature covers: `header.payload` as received.
    pub signing_input: &'a str,
    /// The decoded protected header.
    pub header: Arc<JsonObject>,
    /// The decoded claims, if the payload is a JSON object.
    pub claims: Option<Arc<JsonObject>>,
    /// The signature segment, if it is strict base64url (decode with
    /// [`Parts::signature_into`]).
    pub signature: Option<&'a str>,
}

/// Largest signature decoded: an RSA-8192 signature.
pub const MAX_SIGNATURE_BYTES: usize = 1024;

impl Parts<'_> {
    /// Decodes the signature into `buf`; `None` when absent or longer than `buf`.
    pub fn signature_into<'b>(&self, buf: &'b mut [u8]) -> Option<&'b [u8]> {
        b64::decode_into(self.signature?, buf)
    }
}

/// A token parsed once, at the edge, under the configured [`Limits`]: the key lookup,
/// [`crate::validate`], [`crate::inspect()`] and the logs all read this one value.
///
/// Parsing never fails: what does not decode becomes a `format` finding (see
/// [`Token::findings`]) and the parts that did decode stay available.
#[derive(Debug)]
pub struct Token<'a> {
    raw: &'a str,
    compact: &'a str,
    findings: Vec<Finding>,
    parts: Option<Parts<'a>>,
    jwe_header: Option<Arc<JsonObject>>,
    digest: OnceLock<Digest>,
}

/// The SHA-256 of a token's compact form: it covers every byte, signature included.
pub type Digest = [u8; 32];

impl<'a> Token<'a> {
    /// Parses `raw`: surrounding whitespace or quotes and a `Bearer ` prefix are removed
    /// (each a finding: a copy-paste artefact), then the compact JWS is decoded under
    /// `limits`.
    pub fn parse(raw: &'a str, limits: &Limits) -> Token<'a> {
        let mut findings = Vec::new();
        let compact = normalize(raw, &mut findings);
        let outcome = parse_compact(compact, limits, findings);
        Token {
            raw,
            compact,
            findings: outcome.findings,
            parts: outcome.parsed,
            jwe_header: outcome.jwe_header,
            digest: OnceLock::new(),
        }
    }

    /// The input as given.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// The token without surrounding whitespace, quotes or `Bearer `: what is verified.
    pub fn compact(&self) -> &'a str {
        self.compact
    }

    /// True when the input had whitespace, quotes or a `Bearer ` prefix around it.
    pub fn was_wrapped(&self) -> bool {
        self.compact.len() != self.raw.len()
    }

    /// The `format` findings of parsing, in order.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// The decoded parts, when the header decoded.
    pub fn parts(&self) -> Option<&Parts<'a>> {
        self.parts.as_ref()
    }

    /// The decoded protected header (of a JWS, or of a JWE for diagnostics).
    pub fn header(&self) -> Option<&Arc<JsonObject>> {
        self.parts
            .as_ref()
            .map(|p| &p.header)
            .or(self.jwe_header.as_ref())
    }

    /// The decoded claims, verified or not.
    pub fn claims(&self) -> Option<&Arc<JsonObject>> {
        self.parts.as_ref().and_then(|p| p.claims.as_ref())
    }

    /// True for a JWE (five segments).
    pub fn is_jwe(&self) -> bool {
        self.findings.iter().any(|f| f.code == Code::TOKEN_IS_JWE)
    }

    /// The header's `kid` when it is a string a key could carry (short, no control
    /// characters); `None` otherwise. Never trusted for anything but a key lookup.
    pub fn kid(&self) -> Option<Cow<'_, str>> {
        let raw = self.parts.as_ref()?.header.raw("kid")?;
        json::raw_str(raw).filter(|k| k.len() <= MAX_KID_LEN && !k.chars().any(char::is_control))
    }

    /// SHA-256 of [`Token::compact`], computed once (the verified-signature cache key).
    pub fn digest(&self) -> &Digest {
        self.digest.get_or_init(|| {
            let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, self.compact.as_bytes());
            let mut out = [0u8; 32];
            out.copy_from_slice(d.as_ref());
            out
        })
    }

    /// A short fingerprint for correlating logs: the first 12 hex digits of
    /// [`Token::digest`]. It identifies a token without revealing any part of it.
    pub fn fingerprint(&self) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(12);
        for b in &self.digest()[..6] {
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
        out
    }
}

/// Removes surrounding whitespace or quotes and a `Bearer ` prefix, each recorded as a
/// finding.
fn normalize<'a>(token: &'a str, findings: &mut Vec<Finding>) -> &'a str {
    let trimmed = token.trim_matches(|c: char| c.is_whitespace() || c == '"' || c == '\'');
    let mut t = trimmed;
    if trimmed.len() != token.len() {
        findings.push(Finding::new(
            Code::TOKEN_WHITESPACE,
            "the token has surrounding whitespace or quotes (a copy-paste artefact); the trimmed token was analysed",
            json!({"expected": "the bare token", "actual": format!("{} extra characters", token.len() - trimmed.len())}),
        ));
    }
    if let Some(rest) = strip_bearer(t) {
        findings.push(Finding::new(
            Code::TOKEN_BEARER_PREFIX,
            "the token starts with \"Bearer \": the whole Authorization header value was sent. Send only the token; the rest was analysed",
            json!({"expected": "the bare token", "actual": "Bearer <token>"}),
        ));
        t = rest;
    }
    t
}

/// The result of parsing: the parts that decoded and the findings on the way.
struct ParseOutcome<'a> {
    parsed: Option<Parts<'a>>,
    jwe_header: Option<Arc<JsonObject>>,
    findings: Vec<Finding>,
}
fn segment_problem(seg: &str) -> String {
    if seg.contains('=') {
        "has `=` padding, which base64url in JWS omits".into()
    } else if seg.contains(['+', '/']) {
        "uses the standard base64 alphabet (`+` or `/`) instead of base64url (`-` and `_`)".into()
    } else if seg.chars().any(char::is_whitespace) {
        "contains whitespace".into()
    } else if let Some(c) = seg
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        format!("contains the character {c:?}, which is not base64url")
    } else if seg.len() % 4 == 1 {
        "has an impossible length for base64url".into()
    } else {
        "has non-zero unused bits in its last character (a non-canonical encoding)".into()
    }
}

fn decode_segment(name: &str, seg: &str, findings: &mut Vec<Finding>) -> Option<Vec<u8>> {
    let out = b64::decode(seg);
    if out.is_none() {
        findings.push(Finding::new(
            Code::BASE64_INVALID,
            format!("the {name} segment is not strict base64url: it {}", segment_problem(seg)),
            json!({"segment": name, "expected": "unpadded base64url (RFC 7515 §2)", "actual": segment_problem(seg), "length": seg.len()}),
        ));
    }
    out
}

fn json_finding(part: &'static str, err: &JsonError) -> Finding {
    let code = match err {
        JsonError::Duplicate(_) => Code::JSON_DUPLICATE_MEMBER,
        JsonError::TooDeep(_) => Code::JSON_TOO_DEEP,
        _ if part == "header" => Code::HEADER_INVALID,
        _ => Code::PAYLOAD_INVALID,
    };
    let evidence = match err {
        JsonError::Duplicate(name) => {
            json!({"part": part, "expected": "unique member names", "actual": name})
        }
        JsonError::TooDeep(max) => {
            json!({"part": part, "expected": format!("at most {max} levels"), "actual": "deeper"})
        }
        JsonError::NotObject(kind) => {
            json!({"part": part, "expected": "a JSON object", "actual": kind})
        }
        JsonError::Syntax(e) => json!({"part": part, "expected": "a JSON object", "actual": e}),
    };
    Finding::new(
        code,
        format!("the {part} is not acceptable: {err}"),
        evidence,
    )
}

/// Counts the dots and remembers where the first two are, in one SIMD pass.
fn find_dots(token: &str) -> (usize, [usize; 2]) {
    let mut at = [0; 2];
    let mut n = 0;
    for i in memchr::memchr_iter(b'.', token.as_bytes()) {
        if n < 2 {
            at[n] = i;
        }
        n += 1;
    }
    (n, at)
}

/// Parses the token's structure, after [`normalize`].
fn parse_compact<'a>(token: &'a str, limits: &Limits, findings: Vec<Finding>) -> ParseOutcome<'a> {
    let mut out = ParseOutcome {
        parsed: None,
        jwe_header: None,
        findings,
    };
    match structure(token, limits) {
        Ok(at) => out.parsed = parts(token, at, limits, &mut out.findings),
        Err((f, jwe_header)) => {
            out.findings.push(f);
            out.jwe_header = jwe_header;
        }
    }
    out
}

/// Where the two dots of a compact JWS are, or the finding for any other shape (with
/// the header of a JWE, for diagnostics).
fn structure(
    token: &str,
    limits: &Limits,
) -> Result<[usize; 2], (Finding, Option<Arc<JsonObject>>)> {
    if token.is_empty() {
        return Err((
            Finding::new(
                Code::TOKEN_EMPTY,
                "the token is empty",
                json!({"expected": "a compact JWS (header.payload.signature)", "actual": ""}),
            ),
            None,
        ));
    }
    if token.len() > limits.max_token_bytes {
        return Err((
            Finding::new(
                Code::TOKEN_TOO_LARGE,
                format!(
                    "the token is {} bytes, over the {}-byte limit; it was not decoded",
                    token.len(),
                    limits.max_token_bytes
                ),
                json!({"expected": format!("at most {} bytes", limits.max_token_bytes), "actual": token.len()}),
            ),
            None,
        ));
    }
    if token.starts_with('{') {
        return Err((
            Finding::new(
                Code::TOKEN_JSON_SERIALIZATION,
                "this is a JWS JSON serialization; JWTs use the compact form header.payload.signature (RFC 7519 §1)",
                json!({"expected": "compact serialization", "actual": "JSON serialization"}),
            ),
            None,
        ));
    }
    let (dots, at) = find_dots(token);
    Err(match dots {
        2 => return Ok(at),
        0 => (
            Finding::new(
                Code::TOKEN_OPAQUE,
                "this is not a JWT but an opaque access token, which only its issuer can check \
                 (introspection, RFC 7662). Providers issue opaque tokens when the request does not \
                 name an API: add the standard `resource=<your API identifier>` parameter (RFC 8707), \
                 or Auth0's `audience=<your API identifier>`",
                json!({"expected": "header.payload.signature", "actual": format!("{} characters without dots", token.len())}),
            ),
            None,
        ),
        4 => jwe(token, limits),
        n => (
            Finding::new(
                Code::TOKEN_MALFORMED,
                format!(
                    "a JWT has exactly three segments separated by two dots; this has {}",
                    n + 1
                ),
                json!({"expected": 3, "actual": n + 1}),
            ),
            None,
        ),
    })
}

/// The finding for a five-segment JWE, with its header when it decodes.
fn jwe(token: &str, limits: &Limits) -> (Finding, Option<Arc<JsonObject>>) {
    let header = token
        .split('.')
        .next()
        .and_then(b64::decode)
        .and_then(|h| JsonObject::parse(h, limits.max_json_depth).ok());
    let member = |name| {
        header
            .as_ref()
            .and_then(|h| h.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let f = Finding::new(
        Code::TOKEN_IS_JWE,
        "this is an encrypted JWE (five segments), not a signed JWT: it cannot be verified, \
         and decrypting it would not authenticate it. Auth0 returns an encrypted access token \
         usable only at /userinfo when no `audience` is requested: add audience=<your API identifier> \
         to the authorize request",
        json!({"expected": "3 segments (JWS)", "actual": "5 segments (JWE)", "alg": member("alg"), "enc": member("enc")}),
    );
    (f, header.map(Arc::new))
}

/// Decodes the three segments of a token whose dots are `at`.
fn parts<'a>(
    token: &'a str,
    at: [usize; 2],
    limits: &Limits,
    findings: &mut Vec<Finding>,
) -> Option<Parts<'a>> {
    // dots are ASCII, so these are char boundaries
    let (h, p, s, signing_input) = (
        token.get(..at[0])?,
        token.get(at[0] + 1..at[1])?,
        token.get(at[1] + 1..)?,
        token.get(..at[1])?,
    );
    if h.is_empty() {
        findings.push(Finding::new(
            Code::TOKEN_MALFORMED,
            "the header segment is empty",
            json!({"expected": "a base64url JSON header", "actual": ""}),
        ));
        return None;
    }
    let header_bytes = decode_segment("header", h, findings)?;
    let header = JsonObject::parse(header_bytes, limits.max_json_depth)
        .map_err(|e| findings.push(json_finding("header", &e)))
        .ok()?;
    let claims = decode_segment("payload", p, findings).and_then(|bytes| {
        JsonObject::parse(bytes, limits.max_json_depth)
            .map_err(|e| findings.push(json_finding("payload", &e)))
            .ok()
    });
    let signature = if b64::is_valid(s) {
        Some(s)
    } else {
        decode_segment("signature", s, findings);
        None
    };
    Some(Parts {
        signing_input,
        header: Arc::new(header),
        claims: claims.map(Arc::new),
        signature,
    })
}

/// The token without a leading `Bearer ` (any case), if it had one. Looks only at the
/// start of the string.
pub fn strip_bearer(token: &str) -> Option<&str> {
    let scheme = token.get(..6)?;
    let rest = token.get(6..)?;
    (scheme.eq_ignore_ascii_case("bearer") && rest.starts_with([' ', '\t']))
        .then(|| rest.trim_start())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(token: &str) -> Vec<Code> {
        Token::parse(token, &Limits::default())
            .findings()
            .iter()
            .map(|f| f.code)
            .collect()
    }

    fn enc(s: &str) -> String {
        b64::encode(s)
    }

    #[test]
    fn well_formed_parts() {
        let t = format!(
            "{}.{}.{}",
            enc(r#"{"alg":"RS256"}"#),
            enc(r#"{"sub":"x"}"#),
            enc("sig")
        );
        let out = Token::parse(&t, &Limits::default());
        assert!(out.findings().is_empty());
        let p = out.parts().unwrap();
        assert_eq!(p.header["alg"], "RS256");
        assert_eq!(p.claims.as_ref().unwrap()["sub"], "x");
        assert_eq!(p.signature_into(&mut [0; 8]).unwrap(), b"sig");
        assert_eq!(p.signing_input, &t[..t.rfind('.').unwrap()]);
    }

    #[test]
    fn structure_findings() {
        let h = enc(r#"{"alg":"RS256"}"#);
        let p = enc("{}");
        assert_eq!(codes(""), [Code::TOKEN_EMPTY]);
        assert_eq!(codes("abcdef"), [Code::TOKEN_OPAQUE]);
        assert_eq!(codes(&format!("{h}.{p}")), [Code::TOKEN_MALFORMED]);
        assert_eq!(codes(&format!("{h}.{p}.s.x")), [Code::TOKEN_MALFORMED]);
        assert_eq!(codes(&format!("{h}.{p}.s.")), [Code::TOKEN_MALFORMED]);
        assert_eq!(
            codes(&format!(
                "{}.a.b.c.d",
                enc(r#"{"alg":"dir","enc":"A256GCM"}"#)
            )),
            [Code::TOKEN_IS_JWE]
        );
        assert_eq!(
            codes(r#"{"payload":"x"}"#),
            [Code::TOKEN_JSON_SERIALIZATION]
        );
        assert_eq!(codes(&".".repeat(20_000)), [Code::TOKEN_TOO_LARGE]);
        assert_eq!(codes(&format!(".{p}.")), [Code::TOKEN_MALFORMED]);
    }

    #[test]
    fn base64_findings_name_the_segment_and_problem() {
        let h = enc(r#"{"alg":"RS256"}"#);
        let p = enc("{}");
        for (token, needle) in [
            (format!("{h}=.{p}.AA"), "padding"),
            (format!("{h}.{p}.A+A"), "standard base64"),
            (format!("{h}.{p} .AA"), "whitespace"),
            (format!("{h}.{p}.A*A"), "'*'"),
            (format!("{h}.{p}.AB"), "non-canonical"),
        ] {
            let out = Token::parse(&token, &Limits::default());
            let f = out
                .findings()
                .iter()
                .find(|f| f.code == Code::BASE64_INVALID)
                .expect(&token);
            assert!(f.message.contains(needle), "{token}: {}", f.message);
        }
    }

    #[test]
    fn json_findings() {
        let s = "AA";
        let dup = format!(
            "{}.{}.{s}",
            enc(r#"{"alg":"RS256","alg":"none"}"#),
            enc("{}")
        );
        assert_eq!(codes(&dup), [Code::JSON_DUPLICATE_MEMBER]);
        let arr = format!("{}.{}.{s}", enc("[1]"), enc("{}"));
        assert_eq!(codes(&arr), [Code::HEADER_INVALID]);
        let payload = format!("{}.{}.{s}", enc(r#"{"alg":"RS256"}"#), enc(r#"{"a":1}x"#));
        let out = Token::parse(&payload, &Limits::default());
        assert_eq!(out.findings()[0].code, Code::PAYLOAD_INVALID);
        assert!(out.claims().is_none());
    }

    #[test]
    fn bearer_kid_and_digest() {
        assert_eq!(strip_bearer("Bearer abc"), Some("abc"));
        assert_eq!(strip_bearer("bearer  abc"), Some("abc"));
        assert_eq!(strip_bearer("Basic abc"), None);
        let t = format!("{}.{}.AA", enc(r#"{"alg":"ES256","kid":"k1"}"#), enc("{}"));
        let parsed = Token::parse(&t, &Limits::default());
        assert_eq!(parsed.kid().as_deref(), Some("k1"));
        assert!(Token::parse("garbage", &Limits::default()).kid().is_none());
        let bad_kid = format!(
            "{}.{}.AA",
            enc(r#"{"alg":"ES256","kid":"a\nb"}"#),
            enc("{}")
        );
        assert!(Token::parse(&bad_kid, &Limits::default()).kid().is_none());
        // the wrapped and the bare token are the same token: same digest, same fingerprint
        let wrapped_text = format!(" Bearer {t}\n");
        let wrapped = Token::parse(&wrapped_text, &Limits::default());
        assert!(wrapped.was_wrapped() && !parsed.was_wrapped());
        assert_eq!(wrapped.compact(), t);
        assert_eq!(wrapped.digest(), parsed.digest());
        assert_eq!(wrapped.fingerprint().len(), 12);
        assert!(!wrapped.fingerprint().contains(&t[..6]));
        let other = format!("{}B", &t[..t.len() - 1]);
        assert_ne!(
            Token::parse(&other, &Limits::default()).digest(),
            parsed.digest()
        );
        // the configured limit applies
        let small = Limits {
            max_token_bytes: 10,
            ..Limits::default()
        };
        assert_eq!(
            Token::parse(&t, &small).findings()[0].code,
            Code::TOKEN_TOO_LARGE
        );
    }
}
