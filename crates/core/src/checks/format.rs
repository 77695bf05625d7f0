//! `format`: the token is a well-formed compact JWS. The parser found the problems
//! ([`crate::Token::findings`]); this check reports them.

use super::Cx;

/// Reports the parser's findings.
pub(crate) fn run(cx: &mut Cx<'_>) {
    let Some(token) = cx.token else { return };
    for f in token.findings() {
        cx.push(f.clone());
    }
}
