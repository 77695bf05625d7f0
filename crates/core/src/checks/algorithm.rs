//! `algorithm`: the header `alg` is a string that exactly names one of the policy's
//! `allowed_algs`, checked before any key is looked up. `none` in any letter case is
//! never accepted; an HS* token where public-key algorithms are expected is called out
//! as the key-confusion attack.

use serde_json::json;

use super::Cx;
use crate::alg::Alg;
use crate::finding::{Check, Code, Finding};
use crate::json::{raw_kind, raw_str, raw_value};

/// Sets [`Cx::alg`] when the header's algorithm is allowed.
pub(crate) fn run(cx: &mut Cx<'_>) {
    cx.ran(Check::Algorithm);
    let allowed = &cx.policy.policy().allowed_algs;
    let names = || allowed.iter().map(|a| a.as_str()).collect::<Vec<_>>();
    let Some(raw) = cx.header.raw("alg") else {
        let f = Finding::new(
            Code::ALG_MISSING,
            "the header has no `alg`",
            json!({"expected": names(), "actual": null}),
        );
        cx.push(f);
        return;
    };
    let Some(text) = raw_str(raw) else {
        let f = Finding::new(
            Code::ALG_INVALID,
            format!("the header `alg` is {}, not a string", raw_kind(raw)),
            json!({"expected": names(), "actual": raw_value(raw)}),
        );
        cx.push(f);
        return;
    };
    let name: &str = &text;
    if name.trim().eq_ignore_ascii_case("none") {
        let f = Finding::new(
            Code::ALG_NONE,
            format!("`alg: {name}` is an unsigned token; it is never accepted"),
            json!({"expected": names(), "actual": name}),
        );
        cx.push(f);
        return;
    }
    match Alg::from_name(name) {
        Some(alg) if allowed.contains(&alg) => cx.alg = Some(alg),
        found => {
            let mut msg = format!(
                "alg {name:?} is not in the policy's allowed_algs ({}); the signature was not checked",
                names().join(", ")
            );
            if found.is_some_and(Alg::is_hmac) && !allowed.iter().any(|a| a.is_hmac()) {
                msg.push_str(". An HS* token where public-key algorithms are expected is the key-confusion attack (CVE-2016-10555)");
            } else if found.is_none()
                && let Some(a) = allowed
                    .iter()
                    .find(|a| a.as_str().eq_ignore_ascii_case(name.trim()))
            {
                msg.push_str(&format!(
                    ". Algorithm names are exact and case-sensitive: {a} was expected"
                ));
            }
            let f = Finding::new(
                Code::ALG_NOT_ALLOWED,
                msg,
                json!({"expected": names(), "actual": name}),
            );
            cx.push(f);
        }
    }
}
