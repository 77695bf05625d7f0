//! Reading claims: names with dots, scopes from their three usual homes, shapes.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::json::JsonObject;

/// Finds a claim by exact name, or (when absent and the name has dots) by walking
/// nested objects: `kubernetes.io.namespace` finds `{"kubernetes.io":{"namespace":..}}`
/// only if no top-level claim has that exact name. Auth0's namespaced claims such as
/// `https://acme.com/tenant_id` match exactly.
pub fn lookup<'a>(claims: &'a JsonObject, name: &str) -> Option<&'a Value> {
    if let Some(v) = claims.get(name) {
        return Some(v);
    }
    if !name.contains('.') {
        return None;
    }
    for (i, _) in name.match_indices('.') {
        let (head, rest) = (&name[..i], &name[i + 1..]);
        if let Some(Value::Object(inner)) = claims.get(head)
            && let Some(v) = inner.get(rest).or_else(|| walk(inner, rest))
        {
            return Some(v);
        }
    }
    None
}

fn walk<'a>(obj: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    // try every split point so keys that contain dots themselves still resolve
    for (i, _) in path.match_indices('.') {
        let (head, rest) = (&path[..i], &path[i + 1..]);
        if let Some(Value::Object(inner)) = obj.get(head) {
            if let Some(v) = inner.get(rest) {
                return Some(v);
            }
            if let Some(v) = walk(inner, rest) {
                return Some(v);
            }
        }
    }
    None
}

fn push_scopes<'a>(raw: &'a str, out: &mut Vec<Cow<'a, str>>) {
    if let Some(s) = crate::json::raw_str(raw) {
        match s {
            Cow::Borrowed(s) => out.extend(s.split_ascii_whitespace().map(Cow::Borrowed)),
            Cow::Owned(s) => {
                out.extend(s.split_ascii_whitespace().map(|x| Cow::Owned(x.to_owned())))
            }
        }
    } else if raw.starts_with('[') {
        // an array of strings; anything else in it is ignored
        if let Ok(items) = serde_json::from_str::<Vec<Cow<'a, str>>>(raw) {
            out.extend(items);
        } else if let Value::Array(items) = crate::json::raw_value(raw) {
            out.extend(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|s| Cow::Owned(s.to_owned())),
            );
        }
    }
}

/// Every scope a token grants, borrowed from the claims where possible: `scope`
/// (space-separated, RFC 8693 / RFC 9068), `scp` (Okta and Entra, string or array) and
/// Auth0's `permissions` array. Duplicates removed, first occurrence kept.
pub fn granted_scopes_ref(claims: &JsonObject) -> Vec<Cow<'_, str>> {
    let mut out = Vec::new();
    for name in ["scope", "scp", "permissions"] {
        if let Some(raw) = claims.raw(name) {
            push_scopes(raw, &mut out);
        }
    }
    let mut i = 0;
    while i < out.len() {
        if out[..i].contains(&out[i]) {
            out.remove(i);
        } else {
            i += 1;
        }
    }
    out
}

/// Every scope a token grants (see [`granted_scopes_ref`]), owned.
pub fn granted_scopes(claims: &JsonObject) -> Vec<String> {
    granted_scopes_ref(claims)
        .into_iter()
        .map(Cow::into_owned)
        .collect()
}

/// The `required` scopes that `granted` (from [`granted_scopes`]) lacks, in order.
pub fn missing_scopes<'a, G: AsRef<str>>(required: &'a [String], granted: &[G]) -> Vec<&'a str> {
    required
        .iter()
        .map(String::as_str)
        .filter(|s| !granted.iter().any(|g| g.as_ref() == *s))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> JsonObject {
        JsonObject::parse(v.to_string().into_bytes(), 32).unwrap()
    }

    #[test]
    fn lookup_exact_then_nested() {
        let c = map(json!({
            "https://acme.com/tenant_id": "acme-prod",
            "kubernetes.io": {"namespace": "default", "serviceaccount": {"name": "sa"}},
            "firebase": {"sign_in_provider": "password"}
        }));
        assert_eq!(
            lookup(&c, "https://acme.com/tenant_id").unwrap(),
            "acme-prod"
        );
        assert_eq!(lookup(&c, "kubernetes.io.namespace").unwrap(), "default");
        assert_eq!(
            lookup(&c, "kubernetes.io.serviceaccount.name").unwrap(),
            "sa"
        );
        assert_eq!(lookup(&c, "firebase.sign_in_provider").unwrap(), "password");
        assert!(lookup(&c, "firebase.tenant").is_none());
        assert!(lookup(&c, "missing").is_none());
    }

    #[test]
    fn scopes_from_three_homes() {
        let c = map(
            json!({"scope": "read:a  write:a", "scp": ["okta.x"], "permissions": ["read:a", "admin"]}),
        );
        assert_eq!(granted_scopes(&c), ["read:a", "write:a", "okta.x", "admin"]);
        let entra = map(json!({"scp": "User.Read Files.Read"}));
        assert_eq!(granted_scopes(&entra), ["User.Read", "Files.Read"]);
    }
}
