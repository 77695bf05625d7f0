//! Claims to headers (gateway mode): a profile's `forward_claims` maps response header
//! names to claims, which `/v1/authz` sends with a 200 for the gateway to pass on
//! (nginx `auth_request_set`, Traefik `authResponseHeaders`, Caddy `copy_headers`).
//!
//! A claim is named as it is (`"https://acme.com/tenant_id"` is one claim) or, starting
//! with `/`, by a JSON Pointer into nested claims (RFC 6901: `"/org/id"`). Values are
//! made safe for a header: a string as it is, a number or boolean as its JSON text, an
//! array of scalars joined by `,`, an object as compact JSON; a value with a control
//! character (CR, LF, NUL, ...) or over [`MAX_VALUE_BYTES`] is not sent at all, so a
//! hostile claim can never add or split a header.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::json::JsonObject;

/// Most entries in one profile's `forward_claims`.
pub const MAX_ENTRIES: usize = 32;

/// Longest header value sent; a longer claim is left out.
pub const MAX_VALUE_BYTES: usize = 4096;

/// Headers a claim may never set: hop-by-hop, framing, credentials, cookies, and the
/// ones `/v1/authz` sets itself.
const RESERVED: [&str; 17] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "host",
    "content-length",
    "content-type",
    "content-encoding",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "www-authenticate",
    "location",
    "retry-after",
];

/// Prefixes of headers JWTShield sets itself.
const RESERVED_PREFIXES: [&str; 2] = ["x-auth-", "x-ratelimit-"];

fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Checks a `forward_claims` map: `Err((field, message))` for the first bad entry.
pub fn check(map: &BTreeMap<String, String>) -> Result<(), (String, String)> {
    if map.len() > MAX_ENTRIES {
        return Err((
            String::new(),
            format!("at most {MAX_ENTRIES} headers, found {}", map.len()),
        ));
    }
    for (name, claim) in map {
        if name.is_empty() || name.len() > 128 || !name.bytes().all(is_token_char) {
            return Err((
                name.clone(),
                "a header name is 1 to 128 letters, digits or !#$%&'*+-.^_`|~ (RFC 9110 token)"
                    .into(),
            ));
        }
        let lower = name.to_ascii_lowercase();
        if RESERVED.contains(&lower.as_str())
            || RESERVED_PREFIXES.iter().any(|p| lower.starts_with(p))
        {
            return Err((
                name.clone(),
                format!(
                    "`{name}` cannot be set from a claim (hop-by-hop, credentials, framing, or a header JWTShield sets itself)"
                ),
            ));
        }
        if claim.is_empty() {
            return Err((
                name.clone(),
                "the claim name or JSON Pointer is empty".into(),
            ));
        }
        if let Some(pointer) = claim.strip_prefix('/') {
            let bad_escape = pointer.split('/').any(|seg| {
                let mut chars = seg.chars();
                while let Some(c) = chars.next() {
                    if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
                        return true;
                    }
                }
                false
            });
            if bad_escape {
                return Err((
                    name.clone(),
                    "a JSON Pointer escapes `~` as `~0` and `/` as `~1` (RFC 6901)".into(),
                ));
            }
        }
    }
    Ok(())
}

/// The value of `claim` in `claims`: a claim name, or a JSON Pointer when it starts
/// with `/`.
pub fn lookup<'a>(claims: &'a JsonObject, claim: &str) -> Option<&'a Value> {
    let Some(pointer) = claim.strip_prefix('/') else {
        return claims.get(claim);
    };
    let (first, rest) = match pointer.split_once('/') {
        Some((f, r)) => (f, Some(r)),
        None => (pointer, None),
    };
    let first = first.replace("~1", "/").replace("~0", "~");
    let top = claims.get(&first)?;
    match rest {
        None => Some(top),
        Some(r) => top.pointer(&format!("/{r}")),
    }
}

/// The header value for a claim value, or `None` when it cannot be sent safely.
pub fn header_value(v: &Value) -> Option<String> {
    let text = match v {
        Value::Null => return None,
        Value::String(s) => s.clone(),
        Value::Bool(_) | Value::Number(_) => v.to_string(),
        Value::Array(items) => {
            let mut parts = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(s) => parts.push(s.clone()),
                    Value::Bool(_) | Value::Number(_) => parts.push(item.to_string()),
                    // nested structures: the array as JSON
                    _ => return safe(v.to_string()),
                }
            }
            parts.join(",")
        }
        Value::Object(_) => v.to_string(),
    };
    safe(text)
}

fn safe(text: String) -> Option<String> {
    let ok = text.len() <= MAX_VALUE_BYTES
        && !text.chars().any(|c| c.is_control())
        && text.trim() == text;
    ok.then_some(text)
}

/// Every header of `map` that the claims give a safe value, in name order.
pub fn headers<'m>(
    map: &'m BTreeMap<String, String>,
    claims: &JsonObject,
) -> Vec<(&'m str, String)> {
    map.iter()
        .filter_map(|(name, claim)| {
            let v = header_value(lookup(claims, claim)?)?;
            Some((name.as_str(), v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(v: Value) -> JsonObject {
        JsonObject::parse(v.to_string().into_bytes(), 64).unwrap()
    }

    #[test]
    fn names_are_checked() {
        let m = |k: &str, v: &str| BTreeMap::from([(k.to_owned(), v.to_owned())]);
        assert!(check(&m("X-Tenant-Id", "https://acme.com/tenant_id")).is_ok());
        assert!(check(&m("X-Org", "/org/id")).is_ok());
        for bad in [
            "Authorization",
            "set-cookie",
            "X-Auth-Subject",
            "x-ratelimit-limit",
            "Bad Name",
            "",
            "X:Y",
        ] {
            assert!(check(&m(bad, "sub")).is_err(), "{bad:?}");
        }
        assert!(check(&m("X-A", "")).is_err());
        assert!(check(&m("X-A", "/a~2b")).is_err());
    }

    #[test]
    fn values_are_looked_up_and_made_safe() {
        let c = object(json!({
            "https://acme.com/tenant_id": "t-42", "org": {"id": 7, "a/b": "slash"},
            "roles": ["admin", "ops"], "n": 3, "ok": true, "nested": [{"x": 1}],
            "evil": "x\r\nSet-Cookie: pwn=1", "nul": "a\u{0}b", "padded": " a", "nothing": null,
            "long": "y".repeat(MAX_VALUE_BYTES + 1), "utf8": "Zoë"
        }));
        let get = |p: &str| lookup(&c, p).and_then(header_value);
        assert_eq!(get("https://acme.com/tenant_id").as_deref(), Some("t-42"));
        assert_eq!(get("/org/id").as_deref(), Some("7"));
        assert_eq!(get("/org/a~1b").as_deref(), Some("slash"));
        assert_eq!(get("roles").as_deref(), Some("admin,ops"));
        assert_eq!(get("n").as_deref(), Some("3"));
        assert_eq!(get("ok").as_deref(), Some("true"));
        assert_eq!(get("org").as_deref(), Some(r#"{"id":7,"a/b":"slash"}"#));
        assert_eq!(get("nested").as_deref(), Some(r#"[{"x":1}]"#));
        assert_eq!(get("utf8").as_deref(), Some("Zoë"));
        for gone in [
            "evil",
            "nul",
            "padded",
            "nothing",
            "long",
            "missing",
            "/org/missing",
        ] {
            assert_eq!(get(gone), None, "{gone}");
        }
    }
}
