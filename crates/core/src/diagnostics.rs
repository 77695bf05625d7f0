//! Hints that turn "issuer mismatch" into "you forgot the trailing slash": the mistakes
//! users of Auth0 and other providers lose hours to. Each returns `info`/`warning`
//! findings that accompany the error they explain.

use serde_json::{Value, json};

use crate::json::JsonObject;

use crate::finding::{Code, Finding};

struct Url<'a> {
    scheme: &'a str,
    host: &'a str,
    path: &'a str,
}

fn split_url(s: &str) -> Option<Url<'_>> {
    let (scheme, rest) = s.split_once("://")?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    (!host.is_empty()).then_some(Url { scheme, host, path })
}

const PROVIDERS: [(&str, &str); 11] = [
    ("auth0.com", "Auth0"),
    ("okta.com", "Okta"),
    ("oktapreview.com", "Okta"),
    ("amazonaws.com", "Amazon Cognito"),
    ("microsoftonline.com", "Microsoft Entra ID"),
    ("windows.net", "Microsoft Entra ID"),
    ("securetoken.google.com", "Firebase"),
    ("clerk.accounts.dev", "Clerk"),
    ("supabase.co", "Supabase"),
    ("githubusercontent.com", "GitHub Actions"),
    ("oryapis.com", "Ory"),
];

fn provider_of(host: &str) -> Option<&'static str> {
    PROVIDERS
        .iter()
        .find(|(suffix, _)| host == *suffix || host.ends_with(&format!(".{suffix}")))
        .map(|(_, name)| *name)
}

fn registrable(host: &str) -> &str {
    let mut dots = host.rmatch_indices('.');
    match (dots.next(), dots.next()) {
        (Some(_), Some((i, _))) => &host[i + 1..],
        _ => host,
    }
}

/// Hints for an `iss` that does not match. `expected` holds the policy's issuers.
pub fn issuer_hints(expected: &[String], actual: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    for e in expected {
        let ev = json!({"expected": e, "actual": actual});
        if e.trim_end_matches('/') == actual.trim_end_matches('/') {
            let slash_side = if e.ends_with('/') {
                "the policy's issuer"
            } else {
                "the token's iss"
            };
            out.push(Finding::new(
                Code::ISSUER_TRAILING_SLASH,
                format!(
                    "iss differs from the expected issuer only by the trailing slash ({slash_side} has it). \
                     Issuers compare exactly: Auth0 and Entra v1 issuers end with '/', Okta, Cognito and \
                     Entra v2 issuers do not. Copy `issuer` from the provider's discovery document"
                ),
                ev,
            ));
            return out;
        }
        if e.eq_ignore_ascii_case(actual) {
            out.push(Finding::new(
                Code::ISSUER_CASE_DIFFERS,
                "iss differs from the expected issuer only in letter case; issuers compare case-sensitively",
                ev,
            ));
            return out;
        }
        if let (Some(pe), Some(pa)) = (split_url(e), split_url(actual)) {
            if pe.scheme != pa.scheme && pe.host == pa.host && pe.path == pa.path {
                out.push(Finding::new(
                    Code::ISSUER_SCHEME_DIFFERS,
                    format!(
                        "iss uses {}:// where the policy expects {}://",
                        pa.scheme, pe.scheme
                    ),
                    ev,
                ));
                return out;
            }
            let same_host = pe.host.eq_ignore_ascii_case(pa.host);
            let same_domain = registrable(pe.host).eq_ignore_ascii_case(registrable(pa.host));
            let provider = provider_of(pe.host).or_else(|| provider_of(pa.host));
            if (same_host && pe.path != pa.path) || (!same_host && same_domain) {
                let what = if same_host {
                    format!(
                        "the same host {} but another path ({} instead of {})",
                        pa.host,
                        or_root(pa.path),
                        or_root(pe.path)
                    )
                } else {
                    format!("{} instead of {}", pa.host, pe.host)
                };
                let name = provider.map(|p| format!(" ({p})")).unwrap_or_default();
                out.push(Finding::new(
                    Code::ISSUER_OTHER_TENANT,
                    format!(
                        "the token comes from another tenant, realm or authorization server of the same \
                         identity provider{name}: {what}. Its signature can be genuine and it must still be \
                         refused: configure this API for the tenant that issues its tokens"
                    ),
                    ev,
                ));
                return out;
            }
        }
    }
    out
}

fn or_root(p: &str) -> &str {
    if p.is_empty() { "/" } else { p }
}

/// An extra sentence for the ISSUER_MISMATCH message, when one applies.
pub fn issuer_mismatch_note(expected: &[String], actual: &str) -> Option<&'static str> {
    let v2 = expected
        .iter()
        .any(|e| e.contains("login.microsoftonline.com") && e.ends_with("/v2.0"));
    if v2 && actual.starts_with("https://sts.windows.net/") {
        return Some(
            " This is an Entra ID v1 token where v2 is expected: set accessTokenAcceptedVersion to 2 in the API's app manifest, or accept the v1 issuer.",
        );
    }
    let v1 = expected
        .iter()
        .any(|e| e.starts_with("https://sts.windows.net/"));
    if v1 && actual.contains("login.microsoftonline.com") && actual.ends_with("/v2.0") {
        return Some(" This is an Entra ID v2 token where v1 is expected.");
    }
    None
}

fn looks_like_client_id(s: &str) -> bool {
    let plain = (16..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    plain && !s.contains("://")
}

/// Hints for an audience that does not match.
pub fn audience_hints(expected: &[String], actual: &[&str], claim: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    for a in actual {
        if let Some(e) = expected
            .iter()
            .find(|e| e.trim_end_matches('/') == a.trim_end_matches('/'))
        {
            out.push(Finding::new(
                Code::AUDIENCE_TRAILING_SLASH,
                format!(
                    "{claim} \"{a}\" differs from the expected audience \"{e}\" only by a trailing slash; \
                     audiences compare exactly: use the API identifier exactly as configured at the provider"
                ),
                json!({"expected": e, "actual": a}),
            ));
            return out;
        }
    }
    let expects_identifier = expected.iter().any(|e| e.contains(':'));
    if expects_identifier && let Some(a) = actual.iter().find(|a| looks_like_client_id(a)) {
        out.push(Finding::new(
            Code::AUDIENCE_LOOKS_LIKE_CLIENT_ID,
            format!(
                "{claim} \"{a}\" looks like an application's client id, not an API identifier. This is \
                 usually an ID token sent where an access token belongs, or an access token requested \
                 without naming your API: the standard `resource` parameter (RFC 8707), Auth0's \
                 `audience` parameter, or your provider's API scope"
            ),
            json!({"expected": expected, "actual": a}),
        ));
    }
    if let Some(a) = actual.iter().find(|a| {
        a.ends_with("/api/v2/")
            && split_url(a).is_some_and(|u| provider_of(u.host) == Some("Auth0"))
    }) {
        out.push(Finding::new(
            Code::AUDIENCE_MANAGEMENT_API,
            format!(
                "{claim} \"{a}\" is the Auth0 Management API: this token is for calling Auth0, not your API. \
                 Request a token with audience=<your API identifier>"
            ),
            json!({"expected": expected, "actual": a}),
        ));
    }
    out
}

/// An extra sentence for AUDIENCE_MISMATCH when the only audience is Auth0's `/userinfo`.
pub fn audience_mismatch_note(actual: &[&str]) -> Option<&'static str> {
    (!actual.is_empty() && actual.iter().all(|a| a.ends_with("/userinfo"))).then_some(
        " The token's only audience is /userinfo: it was requested without naming your API (Auth0's `audience` parameter; RFC 8707's `resource` elsewhere).",
    )
}

/// A warning, when the audience did not match, that the token has the shape of an
/// OpenID ID token even without the claims only ID tokens carry: at least three of
/// `aud` equal to `azp`, `auth_time`, `amr`, no scope claim (`scope`, `scp`,
/// `permissions`), and a header `typ` other than `at+jwt`. Evidence lists the signs
/// found, each as the claim and its value.
pub fn id_token_shape(claims: &JsonObject, header_typ: Option<&str>) -> Option<Finding> {
    let mut signs = serde_json::Map::new();
    let aud = claims.get("aud");
    let single_aud = match aud {
        Some(Value::String(a)) => Some(a.as_str()),
        Some(Value::Array(list)) if list.len() == 1 => list[0].as_str(),
        _ => None,
    };
    if let (Some(a), Some(azp)) = (single_aud, claims.get("azp").and_then(Value::as_str))
        && a == azp
    {
        signs.insert("aud_equals_azp".into(), json!(azp));
    }
    for name in ["auth_time", "amr"] {
        if let Some(v) = claims.get(name) {
            signs.insert(name.into(), v.clone());
        }
    }
    if !["scope", "scp", "permissions"]
        .iter()
        .any(|n| claims.contains_key(n))
    {
        signs.insert("scope".into(), Value::Null);
    }
    let typ = header_typ.map(crate::policy::normalize_typ);
    if typ.as_deref() != Some("at+jwt") {
        signs.insert("typ".into(), json!(header_typ));
    }
    if signs.len() < 3 {
        return None;
    }
    let names: Vec<&str> = signs.keys().map(String::as_str).collect();
    Some(Finding::new(
        Code::ID_TOKEN_SUSPECTED,
        format!(
            "this has the shape of an OpenID ID token ({}): a login proof for the client application \
             whose id is in `aud`. APIs must accept access tokens: request one for your API (RFC 8707 \
             `resource`, Auth0 `audience`, or your provider's API scope) and send it instead",
            names.join(", ")
        ),
        json!({"expected": {"typ": "at+jwt"}, "actual": signs}),
    ))
}

/// A warning when the claims look like an OpenID ID token.
pub fn id_token_hint(claims: &JsonObject) -> Option<Finding> {
    let mut signs = Vec::new();
    for name in ["nonce", "at_hash", "c_hash"] {
        if claims.contains_key(name) {
            signs.push(format!("`{name}` claim"));
        }
    }
    if claims.get("token_use").and_then(Value::as_str) == Some("id") {
        signs.push("token_use \"id\" (Cognito)".into());
    }
    if claims.get("typ").and_then(Value::as_str) == Some("ID") {
        signs.push("typ \"ID\" (Keycloak)".into());
    }
    if signs.is_empty() {
        return None;
    }
    Some(Finding::new(
        Code::ID_TOKEN_SUSPECTED,
        format!(
            "this looks like an OpenID ID token ({}), which proves a login to the client application; \
             APIs must accept access tokens. Send the access token (requested with your API's audience) instead",
            signs.join(", ")
        ),
        json!({"expected": "an access token", "actual": "an ID token", "signs": signs}),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(v: Vec<Finding>) -> Vec<Code> {
        v.into_iter().map(|f| f.code).collect()
    }

    #[test]
    fn issuer() {
        let exp = vec!["https://acme.auth0.com/".to_owned()];
        assert_eq!(
            codes(issuer_hints(&exp, "https://acme.auth0.com")),
            [Code::ISSUER_TRAILING_SLASH]
        );
        assert_eq!(
            codes(issuer_hints(&exp, "https://ACME.auth0.com/")),
            [Code::ISSUER_CASE_DIFFERS]
        );
        assert_eq!(
            codes(issuer_hints(&exp, "http://acme.auth0.com/")),
            [Code::ISSUER_SCHEME_DIFFERS]
        );
        let other = issuer_hints(&exp, "https://evil.auth0.com/");
        assert_eq!(other[0].code, Code::ISSUER_OTHER_TENANT);
        assert!(other[0].message.contains("(Auth0)"));
        let pool = vec!["https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AAA".to_owned()];
        assert_eq!(
            codes(issuer_hints(
                &pool,
                "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_BBB"
            )),
            [Code::ISSUER_OTHER_TENANT]
        );
        assert!(issuer_hints(&exp, "https://login.example.org/").is_empty());
        let v2 = vec!["https://login.microsoftonline.com/t/v2.0".to_owned()];
        assert!(issuer_mismatch_note(&v2, "https://sts.windows.net/t/").is_some());
    }

    #[test]
    fn audience() {
        let exp = vec!["https://api.acme.com/".to_owned()];
        assert_eq!(
            codes(audience_hints(&exp, &["https://api.acme.com"], "aud")),
            [Code::AUDIENCE_TRAILING_SLASH]
        );
        assert_eq!(
            codes(audience_hints(
                &exp,
                &["ZmGLeMYsUQpvlpHeSbbv3xqW2lT0dY3K"],
                "aud"
            )),
            [Code::AUDIENCE_LOOKS_LIKE_CLIENT_ID]
        );
        assert_eq!(
            codes(audience_hints(
                &exp,
                &["https://acme.auth0.com/api/v2/"],
                "aud"
            )),
            [Code::AUDIENCE_MANAGEMENT_API]
        );
        assert!(audience_mismatch_note(&["https://acme.auth0.com/userinfo"]).is_some());
        assert!(audience_hints(&exp, &["https://other.example/"], "aud").is_empty());
    }
}
