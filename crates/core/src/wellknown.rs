//! Where an issuer's documents are: its OpenID discovery document, and Auth0's
//! conventional key set for an issuer without one. One home for the service's key lookup
//! (`jwtshield-jwks`) and the issuer doctor, so that both look in the same places.

use std::borrow::Cow;

use crate::policy::{COMMON_TENANT, TENANT_PLACEHOLDER};

/// The discovery document's path under the issuer (OpenID Connect Discovery 1.0 §4).
pub const DISCOVERY_PATH: &str = ".well-known/openid-configuration";

/// The key set's conventional path under the issuer (Auth0's layout), used when there is
/// no discovery document or it names no `jwks_uri`.
pub const JWKS_PATH: &str = ".well-known/jwks.json";

/// Joins a path under an issuer without doubling the slash.
pub fn join(issuer: &str, path: &str) -> String {
    format!(
        "{}/{}",
        issuer.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// The issuer whose documents to fetch: an issuer template's `{tenantid}` replaced by
/// `common` (Entra's common discovery document names the template itself as its issuer).
pub fn discovery_base(issuer: &str) -> Cow<'_, str> {
    match issuer.contains(TENANT_PLACEHOLDER) {
        true => Cow::Owned(issuer.replace(TENANT_PLACEHOLDER, COMMON_TENANT)),
        false => Cow::Borrowed(issuer),
    }
}

/// The discovery document of `issuer` (of its `common` tenant for a template).
pub fn discovery_url(issuer: &str) -> String {
    join(&discovery_base(issuer), DISCOVERY_PATH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_under_an_issuer() {
        assert_eq!(
            join("https://acme.auth0.com/", JWKS_PATH),
            "https://acme.auth0.com/.well-known/jwks.json"
        );
        assert_eq!(
            discovery_url("https://x.okta.com/oauth2/default"),
            "https://x.okta.com/oauth2/default/.well-known/openid-configuration"
        );
        assert_eq!(
            discovery_url("https://login.microsoftonline.com/{tenantid}/v2.0"),
            "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration"
        );
    }
}
