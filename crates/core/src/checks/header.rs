//! The protected header's parameters other than `alg`: `crit` (none are understood, so
//! any makes the JWS invalid, RFC 7515 §4.1.11), `zip` and `cty` (not for JWTs), keys
//! or key URLs in the header (`jwk`, `jku`, `x5u`, `x5c`: never trusted, a warning), and
//! a `kid` that is not a short string without control characters.

use serde_json::{Value, json};

use super::Cx;
use crate::finding::{Code, Finding};
use crate::json::{raw_kind, raw_str, raw_value};
use crate::keys::MAX_KID_LEN;
use crate::policy::normalize_typ;

/// Header parameters that carry keys or key URLs; they never choose a key.
const HEADER_KEY_PARAMS: [&str; 4] = ["jwk", "jku", "x5u", "x5c"];

/// Checks the header parameters and reads the `kid` into [`Cx::kid`].
pub(crate) fn run(cx: &mut Cx<'_>) {
    let header = cx.header;
    let mut kid = None;
    let mut key_params = [false; HEADER_KEY_PARAMS.len()];
    for (name, raw) in header.raw_iter() {
        match name {
            "crit" => cx.push(crit(raw_value(raw))),
            "zip" => cx.push(Finding::new(
                Code::ZIP_UNSUPPORTED,
                "the header asks for compressed content (`zip`); JWS does not allow it",
                json!({"expected": null, "actual": raw_value(raw)}),
            )),
            "cty" => cx.push(cty(raw_value(raw))),
            "kid" => kid = Some(raw),
            other => {
                if let Some(i) = HEADER_KEY_PARAMS.iter().position(|p| *p == other) {
                    key_params[i] = true;
                }
            }
        }
    }
    if key_params.contains(&true) {
        let present: Vec<&str> = HEADER_KEY_PARAMS
            .into_iter()
            .zip(key_params)
            .filter_map(|(p, here)| here.then_some(p))
            .collect();
        cx.push(Finding::new(
            Code::HEADER_KEY_IGNORED,
            format!(
                "the header carries {}; keys from a token are never trusted, so this was ignored and only the policy's keys were used",
                present.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")
            ),
            json!({"expected": "keys from the policy only", "actual": present}),
        ));
    }
    cx.kid = match kid {
        None => Ok(None),
        Some(raw) => match raw_str(raw) {
            Some(k) if k.len() <= MAX_KID_LEN && !k.chars().any(char::is_control) => Ok(Some(k)),
            other => {
                let why = match other {
                    Some(k) if k.len() > MAX_KID_LEN => format!("longer than {MAX_KID_LEN} bytes"),
                    Some(_) => "contains control characters".to_owned(),
                    None => format!("{}, not a string", raw_kind(raw)),
                };
                cx.push(Finding::new(
                    Code::KID_INVALID,
                    format!("the header `kid` is {why}; no key was looked up"),
                    json!({"expected": format!("a string of at most {MAX_KID_LEN} bytes"), "actual": why}),
                ));
                Err(())
            }
        },
    };
}

fn crit(crit: Value) -> Finding {
    let detail = match &crit {
        Value::Array(list) if list.is_empty() => "an empty `crit` list is not allowed".to_owned(),
        Value::Array(list) => format!(
            "it lists {} as critical, and JWTShield understands no header extensions",
            list.iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => "`crit` must be an array of extension names".to_owned(),
    };
    Finding::new(
        Code::CRIT_UNSUPPORTED,
        format!("the header's `crit` makes the token invalid here: {detail} (RFC 7515 §4.1.11)"),
        json!({"expected": "no crit", "actual": crit}),
    )
}

fn cty(cty: Value) -> Finding {
    let nested = cty.as_str().is_some_and(|c| normalize_typ(c) == "jwt");
    let (code, msg) = if nested {
        (
            Code::NESTED_JWT_UNSUPPORTED,
            "`cty: JWT` marks a nested token; nested JWTs are not accepted (each layer would need its own keys and policy)",
        )
    } else {
        (
            Code::CTY_UNSUPPORTED,
            "the header declares a content type (`cty`); a JWT payload is always JSON claims",
        )
    };
    Finding::new(code, msg, json!({"expected": null, "actual": cty}))
}
