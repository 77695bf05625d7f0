//! Reading claims: names with dots, scopes from their three usual homes, shapes.

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

fn push_scopes(raw: &str, out: &mut Vec<String>) {
    if let Some(s) = crate::json::raw_str(raw) {
        out.extend(s.split_ascii_whitespace().map(str::to_owned));
    } else if raw.starts_with('[')
        && let Value::Array(items) = crate::json::raw_value(raw)
    {
        out.extend(items.iter().filter_map(Value::as_str).map(str::to_owned));
    }
}

/// Every scope a token grants: `scope` (space-separated, RFC 8693 / RFC 9068), `scp`
/// (Okta and Entra, string or array) and Auth0's `permissions` array. Duplicates removed.
pub fn granted_scopes(claims: &JsonObject) -> Vec<String> {
    let mut out = Vec::new();
    for name in ["scope", "scp", "permissions"] {
        if let Some(raw) = claims.raw(name) {
            push_scopes(raw, &mut out);
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|s| seen.insert(s.clone()));
    out
}

/// The `required` scopes that `granted` (from [`granted_scopes`]) lacks, in order.
pub fn missing_scopes<'a>(required: &'a [String], granted: &[String]) -> Vec<&'a str> {
    required
        .iter()
        .map(String::as_str)
        .filter(|s| !granted.iter().any(|g| g == s))
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
