//! Not a check of its own: a warning (under `token_type`) when the claims look like an
//! OpenID ID token, the most common wrong token sent to an API.

use super::Cx;
use crate::diagnostics;

/// Adds the ID-token hint when the claims carry its signs.
pub(crate) fn run(cx: &mut Cx<'_>) {
    let Some(claims) = cx.claims else {
        return;
    };
    if cx.registered.id_token_signs
        && let Some(h) = diagnostics::id_token_hint(claims)
    {
        cx.push_claim(h);
    }
}
