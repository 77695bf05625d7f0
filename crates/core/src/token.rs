//! Strict parsing of a compact JWS (RFC 7515 §7.1, RFC 7519 §7.2): exactly three
//! base64url segments, a JSON-object header and payload. Every deviation becomes a
//! `format` finding with the offending part as evidence; nothing here panics.

use serde_json::{Value, json};

use crate::b64;
use crate::finding::{Code, Finding};
use crate::json::{self, JsonError, JsonObject};

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

/// A token whose header decoded. The payload and signature may still be broken.
#[derive(Debug)]
pub struct Parsed<'a> {
    /// The exact bytes the signature covers: `header.payload` as received.
    pub signing_input: &'a str,
    /// The decoded protected header.
    pub header: JsonObject,
    /// The decoded claims, if the payload is a JSON object.
    pub claims: Option<JsonObject>,
    /// The signature segment, if it is strict base64url (decode with
    /// [`Parsed::signature_into`]).
    pub signature: Option<&'a str>,
}

/// Largest signature decoded: an RSA-8192 signature.
pub const MAX_SIGNATURE_BYTES: usize = 1024;

impl Parsed<'_> {
    /// Decodes the signature into `buf`; `None` when absent or longer than `buf`.
    pub fn signature_into<'b>(&self, buf: &'b mut [u8]) -> Option<&'b [u8]> {
        b64::decode_into(self.signature?, buf)
    }
}

/// The result of parsing: the parts that decoded and the findings on the way.
#[derive(Debug)]
pub struct ParseOutcome<'a> {
    /// Present when the header decoded; `None` means nothing else can be checked.
    pub parsed: Option<Parsed<'a>>,
    /// The header of a JWE, when it decoded (for diagnostics only).
    pub jwe_header: Option<JsonObject>,
    /// Format findings.
    pub findings: Vec<Finding>,
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

/// Parses the token's structure. Call with a token already trimmed of a `Bearer `
/// prefix and whitespace (see [`crate::validate`]).
pub fn parse<'a>(token: &'a str, limits: &Limits) -> ParseOutcome<'a> {
    let mut out = ParseOutcome {
        parsed: None,
        jwe_header: None,
        findings: Vec::new(),
    };
    if token.is_empty() {
        out.findings.push(Finding::new(
            Code::TOKEN_EMPTY,
            "the token is empty",
            json!({"expected": "a compact JWS (header.payload.signature)", "actual": ""}),
        ));
        return out;
    }
    if token.len() > limits.max_token_bytes {
        out.findings.push(Finding::new(
            Code::TOKEN_TOO_LARGE,
            format!(
                "the token is {} bytes, over the {}-byte limit; it was not decoded",
                token.len(),
                limits.max_token_bytes
            ),
            json!({"expected": format!("at most {} bytes", limits.max_token_bytes), "actual": token.len()}),
        ));
        return out;
    }
    if token.starts_with('{') {
        out.findings.push(Finding::new(
            Code::TOKEN_JSON_SERIALIZATION,
            "this is a JWS JSON serialization; JWTs use the compact form header.payload.signature (RFC 7519 §1)",
            json!({"expected": "compact serialization", "actual": "JSON serialization"}),
        ));
        return out;
    }
    let (dots, at) = find_dots(token);
    match dots {
        2 => {}
        0 => {
            out.findings.push(Finding::new(
                Code::TOKEN_OPAQUE,
                "this is not a JWT but an opaque access token, which only its issuer can check. \
                 Auth0 issues opaque access tokens when the authorize or token request has no \
                 `audience` parameter: request the token with audience=<your API identifier>",
                json!({"expected": "header.payload.signature", "actual": format!("{} characters without dots", token.len())}),
            ));
            return out;
        }
        4 => {
            let header = token
                .split('.')
                .next()
                .and_then(b64::decode)
                .and_then(|h| JsonObject::parse(h, limits.max_json_depth).ok());
            let enc = header
                .as_ref()
                .and_then(|h| h.get("enc"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            let alg = header
                .as_ref()
                .and_then(|h| h.get("alg"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            out.findings.push(Finding::new(
                Code::TOKEN_IS_JWE,
                "this is an encrypted JWE (five segments), not a signed JWT: it cannot be verified, \
                 and decrypting it would not authenticate it. Auth0 returns an encrypted access token \
                 usable only at /userinfo when no `audience` is requested: add audience=<your API identifier> \
                 to the authorize request",
                json!({"expected": "3 segments (JWS)", "actual": "5 segments (JWE)", "alg": alg, "enc": enc}),
            ));
            out.jwe_header = header;
            return out;
        }
        n => {
            out.findings.push(Finding::new(
                Code::TOKEN_MALFORMED,
                format!(
                    "a JWT has exactly three segments separated by two dots; this has {}",
                    n + 1
                ),
                json!({"expected": 3, "actual": n + 1}),
            ));
            return out;
        }
    }
    // dots are ASCII, so these are char boundaries
    let (Some(h), Some(p), Some(s), Some(signing_input)) = (
        token.get(..at[0]),
        token.get(at[0] + 1..at[1]),
        token.get(at[1] + 1..),
        token.get(..at[1]),
    ) else {
        return out;
    };
    if h.is_empty() {
        out.findings.push(Finding::new(
            Code::TOKEN_MALFORMED,
            "the header segment is empty",
            json!({"expected": "a base64url JSON header", "actual": ""}),
        ));
        return out;
    }
    let Some(header_bytes) = decode_segment("header", h, &mut out.findings) else {
        return out;
    };
    let header = match JsonObject::parse(header_bytes, limits.max_json_depth) {
        Ok(h) => h,
        Err(e) => {
            out.findings.push(json_finding("header", &e));
            return out;
        }
    };
    let claims = decode_segment("payload", p, &mut out.findings).and_then(|bytes| {
        match JsonObject::parse(bytes, limits.max_json_depth) {
            Ok(c) => Some(c),
            Err(e) => {
                out.findings.push(json_finding("payload", &e));
                None
            }
        }
    });
    let signature = if b64::is_valid(s) {
        Some(s)
    } else {
        decode_segment("signature", s, &mut out.findings);
        None
    };
    out.parsed = Some(Parsed {
        signing_input,
        header,
        claims,
        signature,
    });
    out
}

/// Reads `alg` and `kid` from a token's header without any other check, so a key
/// layer can decide whether to refresh before validating. `None` for anything that
/// is not a decodable compact JWS header.
pub fn peek_header(token: &str, limits: &Limits) -> Option<JsonObject> {
    let token = token.trim();
    let token = strip_bearer(token).unwrap_or(token);
    if token.len() > limits.max_token_bytes {
        return None;
    }
    let h = token.split('.').next()?;
    let bytes = b64::decode(h)?;
    JsonObject::parse(bytes, limits.max_json_depth).ok()
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
        parse(token, &Limits::default())
            .findings
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
        let out = parse(&t, &Limits::default());
        assert!(out.findings.is_empty());
        let p = out.parsed.unwrap();
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
            let out = parse(&token, &Limits::default());
            let f = out
                .findings
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
        let out = parse(&payload, &Limits::default());
        assert_eq!(out.findings[0].code, Code::PAYLOAD_INVALID);
        assert!(out.parsed.unwrap().claims.is_none());
    }

    #[test]
    fn bearer_and_peek() {
        assert_eq!(strip_bearer("Bearer abc"), Some("abc"));
        assert_eq!(strip_bearer("bearer  abc"), Some("abc"));
        assert_eq!(strip_bearer("Basic abc"), None);
        let t = format!("{}.x.y", enc(r#"{"alg":"ES256","kid":"k1"}"#));
        assert_eq!(peek_header(&t, &Limits::default()).unwrap()["kid"], "k1");
        assert!(peek_header("garbage", &Limits::default()).is_none());
    }
}
