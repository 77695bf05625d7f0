//! Issuer profiles: named policies loaded from configuration (`ISSUER_PROFILES_JSON`,
//! `--profiles FILE`). Parsing is pure; callers read the text.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use crate::json;
use crate::policy::{CompiledPolicy, Policy};

/// A profile that cannot be loaded, naming the profile and the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileError {
    /// The profile id, when the error is inside one.
    pub profile: Option<String>,
    /// The field inside the profile's policy, when known.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.profile, &self.field) {
            (Some(p), Some(field)) if !field.is_empty() => {
                write!(f, "profile \"{p}\", field `{field}`: {}", self.message)
            }
            (Some(p), _) => write!(f, "profile \"{p}\": {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ProfileError {}

/// Loaded, validated profiles by id.
pub type Profiles = BTreeMap<String, CompiledPolicy>;

/// Which profile accepts a token's `iss`, for a gateway request that names no profile:
/// a hash map from every issuer of every profile, built once per load, so that routing
/// costs one lookup whatever the number of issuers (never a trial of each profile).
#[derive(Clone, Debug, Default)]
pub struct IssuerIndex {
    map: std::collections::HashMap<String, Vec<String>>,
    /// Issuer templates (`{tenantid}`): tried after the exact map, each a prefix and
    /// suffix comparison.
    templates: Vec<(crate::policy::Issuers, String)>,
}

/// Where an `iss` leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route<'a> {
    /// Exactly one profile accepts it.
    Profile(&'a str),
    /// Several do (say, one per audience): the request must name one.
    Ambiguous(&'a [String]),
    /// None does.
    Unknown,
}

impl IssuerIndex {
    /// The index of every issuer of `profiles` (a profile may list several).
    pub fn build(profiles: &Profiles) -> IssuerIndex {
        let mut map: std::collections::HashMap<String, Vec<String>> = Default::default();
        let mut templates = Vec::new();
        for (id, p) in profiles {
            if p.policy().issuer.template().is_some() {
                templates.push((p.policy().issuer.clone(), id.clone()));
                continue;
            }
            for iss in p.policy().issuer.all() {
                let ids = map.entry(iss.clone()).or_default();
                if !ids.contains(id) {
                    ids.push(id.clone());
                }
            }
        }
        IssuerIndex { map, templates }
    }

    /// The profile for `iss` (compared exactly, as the issuer check does).
    pub fn route(&self, iss: &str) -> Route<'_> {
        match self.map.get(iss).map(Vec::as_slice) {
            Some([one]) => return Route::Profile(one),
            Some(many) if !many.is_empty() => return Route::Ambiguous(many),
            _ => {}
        }
        let mut fits = self
            .templates
            .iter()
            .filter(|(t, _)| t.tenant_of(iss).is_some());
        match (fits.next(), fits.next()) {
            (Some((_, id)), None) => Route::Profile(id),
            (Some(_), Some(_)) => Route::Ambiguous(&[]),
            _ => Route::Unknown,
        }
    }

    /// Distinct issuers (and issuer templates) indexed.
    pub fn len(&self) -> usize {
        self.map.len() + self.templates.len()
    }

    /// True when no profile is loaded.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty() && self.templates.is_empty()
    }
}

/// Most bytes of profile configuration accepted.
pub const MAX_PROFILES_BYTES: usize = 4 * 1024 * 1024;

/// Parses a JSON object of profile id to Policy, validating every profile.
pub fn parse_profiles(text: &str) -> Result<Profiles, ProfileError> {
    let top = |message: String| ProfileError {
        profile: None,
        field: None,
        message,
    };
    if text.len() > MAX_PROFILES_BYTES {
        return Err(top(format!(
            "profiles are {} bytes, over the {MAX_PROFILES_BYTES}-byte limit",
            text.len()
        )));
    }
    let value = json::parse_value(text.as_bytes(), 64)
        .map_err(|e| top(format!("profiles are not valid JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(top(format!(
            "profiles must be a JSON object of profile id to policy, found {}",
            json::kind_of(&value)
        )));
    };
    let mut out = Profiles::new();
    for (id, policy) in map {
        if id.is_empty() || id.len() > 128 || id.chars().any(|c| c.is_control() || c == '/') {
            return Err(top(format!(
                "profile id {id:?} is not allowed: use 1 to 128 characters without '/' or control characters"
            )));
        }
        let compiled = Policy::from_json(&policy)
            .and_then(Policy::compile)
            .map_err(|e| ProfileError {
                profile: Some(id.clone()),
                field: Some(e.field.clone()),
                message: e.message.clone(),
            })?;
        out.insert(id, compiled);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_route_to_their_profile() {
        let profiles = parse_profiles(
            r#"{"a": {"issuer": ["https://a.example/", "https://login.a.example/"], "audiences": ["x"]},
                "b-read": {"issuer": "https://b.example/", "audiences": ["read"]},
                "b-write": {"issuer": "https://b.example/", "audiences": ["write"]}}"#,
        )
        .unwrap();
        let index = IssuerIndex::build(&profiles);
        assert_eq!(index.len(), 3);
        assert_eq!(index.route("https://a.example/"), Route::Profile("a"));
        assert_eq!(index.route("https://login.a.example/"), Route::Profile("a"));
        assert_eq!(
            index.route("https://b.example/"),
            Route::Ambiguous(&["b-read".to_owned(), "b-write".to_owned()])
        );
        // exact: no trailing-slash or case folding
        assert_eq!(index.route("https://a.example"), Route::Unknown);
        assert_eq!(index.route("HTTPS://A.EXAMPLE/"), Route::Unknown);
    }

    #[test]
    fn loads_and_names_the_broken_profile_and_field() {
        let ok = parse_profiles(
            r#"{"acme-auth0": {"issuer": "https://acme.auth0.com/", "audiences": ["https://api.acme.com/"]}}"#,
        )
        .unwrap();
        assert!(ok.contains_key("acme-auth0"));
        let e = parse_profiles(
            r#"{"good": {"issuer": "i", "audiences": ["a"]}, "bad": {"issuer": "i", "audiences": ["a"], "allowed_algs": ["none"]}}"#,
        )
        .unwrap_err();
        assert_eq!(e.profile.as_deref(), Some("bad"));
        assert_eq!(e.field.as_deref(), Some("allowed_algs[0]"));
        assert!(
            e.to_string()
                .contains("profile \"bad\", field `allowed_algs[0]`"),
            "{e}"
        );
        assert!(
            parse_profiles("[1]")
                .unwrap_err()
                .message
                .contains("JSON object")
        );
        assert!(
            parse_profiles("{")
                .unwrap_err()
                .message
                .contains("not valid JSON")
        );
        assert!(
            parse_profiles(r#"{"a":{},"a":{}}"#)
                .unwrap_err()
                .message
                .contains("more than once")
        );
        assert!(parse_profiles(r#"{"a/b": {"issuer":"i","audiences":["a"]}}"#).is_err());
    }
}
