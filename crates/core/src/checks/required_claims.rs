//! `required_claims`: each claim in `required_claims` is present, not null and, for
//! well-known claims, of the right JSON type; each rule in `required_custom_claims`
//! holds (equal to a value, contained in an array claim, one of several values,
//! present, or a string prefix). Claim names with dots also find nested claims.

use std::borrow::Cow;

use serde_json::{Value, json};

use super::Cx;
use crate::claims;
use crate::finding::{Check, Code, Finding};
use crate::json::{JsonObject, raw_kind, raw_value};

/// Checks the required and custom claims.
pub(crate) fn run(cx: &mut Cx<'_>) {
    let Some(claims) = cx.claims else {
        return;
    };
    cx.ran(Check::RequiredClaims);
    let policy = cx.policy;
    for name in &policy.policy().required_claims {
        let raw = claims
            .raw(name)
            .map(Cow::Borrowed)
            .or_else(|| claims::lookup(claims, name).map(|v| Cow::Owned(v.to_string())));
        match raw.as_deref() {
            None | Some("null") => cx.push_claim(Finding::new(
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
                    cx.push_claim(Finding::new(
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
        let (code, msg) = match found.as_deref() {
            Some(v) if rule.matches(v) => continue,
            None | Some(Value::Null) => (
                Code::CLAIM_MISSING,
                format!("the required claim `{name}` is missing"),
            ),
            Some(_) => (
                Code::CLAIM_VALUE_MISMATCH,
                format!("the claim `{name}` does not have the required value"),
            ),
        };
        cx.push_claim(Finding::new(
            code,
            msg,
            json!({"expected": rule.expected(), "actual": found, "claim": name}),
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

/// The JSON shape a well-known claim must have, if it has a fixed one.
pub fn expected_shape(name: &str) -> Option<&'static str> {
    match name {
        "sub" | "iss" | "jti" | "azp" | "client_id" | "sid" | "nonce" | "scope" | "cid" => {
            Some("string")
        }
        "exp" | "nbf" | "iat" | "auth_time" => Some("number"),
        "aud" => Some("string or array of strings"),
        "permissions" | "roles" | "groups" | "amr" => Some("array"),
        _ => None,
    }
}

/// Whether a claim's JSON text has the shape named by [`expected_shape`].
pub fn has_shape(raw: &str, shape: &str) -> bool {
    match shape {
        "string" => raw.starts_with('"'),
        "number" => crate::json::raw_f64(raw).is_some(),
        "array" => raw.starts_with('['),
        "string or array of strings" => crate::json::raw_str_list(raw).is_some(),
        _ => true,
    }
}

/// A constraint on one custom claim.
#[derive(Clone, Debug, PartialEq)]
pub enum ClaimRule {
    /// Equal to this value; an array claim passes when it contains this scalar.
    Equals(Value),
    /// Equal to one of these values.
    OneOf(Vec<Value>),
    /// Present and not null.
    Present,
    /// A string starting with this prefix.
    Prefix(String),
}

impl ClaimRule {
    /// Reads a rule from a `required_custom_claims` value.
    pub fn from_value(v: &Value) -> Result<ClaimRule, String> {
        if v.is_null() {
            return Err(
                "null is not a rule: use {\"present\": true}, or leave the claim out".into(),
            );
        }
        if let Value::Object(o) = v
            && o.len() == 1
        {
            match o.iter().next() {
                Some((k, Value::Array(list))) if k == "one_of" => {
                    if list.is_empty() {
                        return Err("`one_of` must not be empty".into());
                    }
                    return Ok(ClaimRule::OneOf(list.clone()));
                }
                Some((k, _)) if k == "one_of" => return Err("`one_of` must be an array".into()),
                Some((k, Value::Bool(true))) if k == "present" => return Ok(ClaimRule::Present),
                Some((k, _)) if k == "present" => {
                    return Err("`present` must be true (to forbid a claim, leave it out)".into());
                }
                Some((k, Value::String(p))) if k == "prefix" => {
                    return Ok(ClaimRule::Prefix(p.clone()));
                }
                Some((k, _)) if k == "prefix" => return Err("`prefix` must be a string".into()),
                _ => {}
            }
        }
        Ok(ClaimRule::Equals(v.clone()))
    }

    /// Whether a claim value satisfies the rule.
    pub fn matches(&self, claim: &Value) -> bool {
        match self {
            ClaimRule::Equals(want) => value_matches(claim, want),
            ClaimRule::OneOf(list) => list.iter().any(|w| value_matches(claim, w)),
            ClaimRule::Present => !claim.is_null(),
            ClaimRule::Prefix(p) => claim.as_str().is_some_and(|s| s.starts_with(p.as_str())),
        }
    }

    /// What the rule expects, for evidence.
    pub fn expected(&self) -> Value {
        match self {
            ClaimRule::Equals(v) => v.clone(),
            ClaimRule::OneOf(list) => serde_json::json!({ "one_of": list }),
            ClaimRule::Present => serde_json::json!({ "present": true }),
            ClaimRule::Prefix(p) => serde_json::json!({ "prefix": p }),
        }
    }
}

fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn value_matches(claim: &Value, want: &Value) -> bool {
    if json_eq(claim, want) {
        return true;
    }
    match (claim, want) {
        (Value::Array(items), w) if !w.is_array() && !w.is_object() => {
            items.iter().any(|i| json_eq(i, w))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_rules() {
        let eq = ClaimRule::from_value(&json!("acme-prod")).unwrap();
        assert!(eq.matches(&json!("acme-prod")));
        assert!(eq.matches(&json!(["x", "acme-prod"])));
        assert!(!eq.matches(&json!("acme-dev")));
        let num = ClaimRule::from_value(&json!(1)).unwrap();
        assert!(num.matches(&json!(1.0)));
        let one_of = ClaimRule::from_value(&json!({"one_of": ["a", "b"]})).unwrap();
        assert!(one_of.matches(&json!("b")) && !one_of.matches(&json!("c")));
        assert_eq!(
            ClaimRule::from_value(&json!({"present": true})).unwrap(),
            ClaimRule::Present
        );
        let prefix = ClaimRule::from_value(&json!({"prefix": "system:serviceaccount:"})).unwrap();
        assert!(prefix.matches(&json!("system:serviceaccount:ns:sa")));
        assert!(!prefix.matches(&json!(3)));
        // an object that is not a single-key constraint is compared literally
        let lit = ClaimRule::from_value(&json!({"a": 1, "b": 2})).unwrap();
        assert!(lit.matches(&json!({"b": 2, "a": 1})));
    }

    #[test]
    fn shapes() {
        assert!(has_shape(r#"["a"]"#, expected_shape("aud").unwrap()));
        assert!(!has_shape("[1]", expected_shape("aud").unwrap()));
        assert!(!has_shape("5", expected_shape("sub").unwrap()));
        assert!(has_shape("1.5e9", expected_shape("exp").unwrap()));
        assert_eq!(expected_shape("https://acme.com/role"), None);
    }
}
