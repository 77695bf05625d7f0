//! OpenAPI schemas for the fields of [`Policy`](crate::Policy) whose rules a plain type
//! cannot carry (feature `openapi`). Each states exactly what `Policy::compile` checks,
//! so a schema-valid field is never refused and a refused one is never schema-valid;
//! rules between fields (one key source, HMAC needs a secret) are in the descriptions.

use serde_json::{Value, json};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::{RefOr, schema::SchemaType};

use crate::alg::Alg;

/// The characters `str::trim` removes (Unicode `White_Space`), spelled the same in
/// ECMA-262 and Python regular expressions, so generators and the service agree.
const WS: &str = r"\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

/// Not empty, no surrounding whitespace.
pub(crate) fn trimmed_pattern() -> String {
    format!(r"^[^{WS}](?:[\s\S]*[^{WS}])?$")
}

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(SchemaType::new(Type::String))
}

fn trimmed() -> ObjectBuilder {
    string()
        .min_length(Some(1))
        .pattern(Some(trimmed_pattern()))
}

fn array_of(items: ObjectBuilder, min: usize) -> ArrayBuilder {
    ArrayBuilder::new().items(items).min_items(Some(min))
}

/// `issuer`: one exact issuer, or a non-empty array of them.
pub fn issuer() -> RefOr<Schema> {
    OneOfBuilder::new()
        .item(trimmed().examples([json!("https://acme.auth0.com/")]))
        .item(array_of(trimmed(), 1))
        .description(Some(
            "`iss` must equal it exactly (case-sensitive; the trailing slash matters). An array accepts any of several exact forms. Not empty, no surrounding whitespace.",
        ))
        .into()
}

/// `audiences`: a non-empty array of non-empty strings without surrounding whitespace.
pub fn audiences() -> RefOr<Schema> {
    array_of(trimmed(), 1)
        .description(Some(
            "`aud` (a string or an array) must contain at least one of these. Your API identifier, e.g. https://api.example.com/.",
        ))
        .examples([json!(["https://api.acme.com/"])])
        .into()
}

/// `allowed_algs`: supported algorithms only; `none` is not one of them.
pub fn allowed_algs() -> RefOr<Schema> {
    let names: Vec<Value> = Alg::ALL.iter().map(|a| json!(a.as_str())).collect();
    array_of(string().enum_values(Some(names)), 1)
        .description(Some(
            "Header `alg` must be one of these. Defaults to [\"RS256\"]; `none` is never accepted. HS256/384/512 need `secret` (or inline `jwks` with oct keys).",
        ))
        .default(Some(json!(["RS256"])))
        .into()
}

/// `dpop.allowed_algs`: asymmetric algorithms only.
pub fn dpop_algs() -> RefOr<Schema> {
    let names: Vec<Value> = crate::policy::DpopPolicy::default()
        .allowed_algs
        .iter()
        .map(|a| json!(a.as_str()))
        .collect();
    array_of(string().enum_values(Some(names.clone())), 1)
        .description(Some(
            "Algorithms a DPoP proof may be signed with: asymmetric only (never `none` or HMAC).",
        ))
        .default(Some(Value::Array(names)))
        .into()
}

/// `required_claims`: claim names.
pub fn claim_names() -> RefOr<Schema> {
    array_of(string().min_length(Some(1)), 0)
        .description(Some("Claims that must be present and not null."))
        .into()
}

/// `required_scopes`: scopes, each one word.
pub fn scopes() -> RefOr<Schema> {
    array_of(string().pattern(Some("^[^ ]+$")).min_length(Some(1)), 0)
        .description(Some(
            "Scopes that must each appear in `scope` (space-separated), `scp` or `permissions`. Each is one non-empty word without spaces.",
        ))
        .into()
}

/// `required_custom_claims`: claim name to a value or a constraint.
pub fn custom_claims() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::Object))
        .additional_properties(Some(
            ObjectBuilder::new().schema_type(SchemaType::from_iter([
                Type::String,
                Type::Number,
                Type::Integer,
                Type::Boolean,
                Type::Array,
                Type::Object,
            ])),
        ))
        .description(Some(
            "Claim name to required value: equal, or contained when the claim is an array. A value that is an object with the single member `one_of` (a non-empty array), `present` (true) or `prefix` (a string) is a constraint instead; any other shape of those three members is refused. `null` is refused (use {\"present\": true}).",
        ))
        .examples([json!({"org_id": "org_123", "role": {"one_of": ["admin", "editor"]}})])
        .into()
}

/// `token_type`: a media type with at least one non-space character.
pub fn token_type() -> RefOr<Schema> {
    string()
        .pattern(Some(format!("[^{WS}]")))
        .description(Some(
            "Header `typ` must match (case-insensitive, `application/` ignored), e.g. at+jwt.",
        ))
        .into()
}

/// `jwks_uri`: an absolute http(s) URL.
pub fn jwks_uri() -> RefOr<Schema> {
    string()
        .pattern(Some("^https?://"))
        .description(Some(
            "Where the issuer's keys are. Defaults to OpenID discovery under the issuer. Not with `jwks`, `public_key` or `secret`. http:// only with --jwks-allow-insecure.",
        ))
        .into()
}

/// `secret`: the HMAC secret; never echoed.
pub fn secret() -> RefOr<Schema> {
    string()
        .min_length(Some(1))
        .write_only(true)
        .description(Some(
            "The shared secret for HS256/384/512 (its UTF-8 bytes); nothing is fetched; never echoed. Needs an HS algorithm in `allowed_algs`. At most one of `jwks`, `public_key`, `secret`.",
        ))
        .into()
}

/// `audience_claim`: a claim name.
pub fn audience_claim() -> RefOr<Schema> {
    string()
        .min_length(Some(1))
        .description(Some(
            "The claim compared with `audiences`. Defaults to `aud`. For providers whose access tokens carry no `aud` (Cognito: client_id, Clerk: azp).",
        ))
        .into()
}

/// `allowed_tenants`: `"any"`, or tenant ids.
pub fn allowed_tenants() -> RefOr<Schema> {
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(SchemaType::new(Type::String))
                .enum_values(Some(["any"])),
        )
        .item(array_of(
            string().pattern(Some("^[^/?#\\s]+$")).min_length(Some(1)),
            1,
        ))
        .description(Some(
            "With an issuer template (`{tenantid}` in `issuer`): the tenant ids accepted, or `\"any\"`. The token's `tid` must equal the tenant in its `iss`. Required with a template, refused without one.",
        ))
        .into()
}

/// `forward_claims`: header name to claim name or JSON Pointer.
pub fn forward_claims() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::Object))
        .property_names(Some(
            string()
                .pattern(Some("^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$"))
                .build(),
        ))
        .additional_properties(Some(string().min_length(Some(1))))
        .max_properties(Some(crate::forward::MAX_ENTRIES))
        .description(Some(
            "Gateway mode: response header name to the claim it carries on a 200 (a claim name, or a JSON Pointer starting with `/` for nested claims). At most 32. Not allowed: hop-by-hop, credential, cookie and framing headers, and X-Auth-* / X-RateLimit-* (set by JWTShield). A value with a control character, or over 4096 bytes, is not sent.",
        ))
        .into()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_trim_pattern_says_what_trim_does() {
        // every character class member is one trim removes, and the reverse for
        // the characters it lists
        let ws: Vec<char> = (0..=0x3000u32)
            .filter_map(char::from_u32)
            .filter(|c| c.is_whitespace())
            .collect();
        let listed = [
            '\t', '\n', '\u{b}', '\u{c}', '\r', ' ', '\u{85}', '\u{a0}', '\u{1680}', '\u{2028}',
            '\u{2029}', '\u{202f}', '\u{205f}', '\u{3000}',
        ];
        for c in &ws {
            let in_range = ('\u{2000}'..='\u{200a}').contains(c);
            assert!(
                listed.contains(c) || in_range,
                "{c:?} is whitespace but not in WS"
            );
        }
        for c in listed {
            assert!(c.is_whitespace(), "{c:?} is in WS but not whitespace");
        }
    }
}
