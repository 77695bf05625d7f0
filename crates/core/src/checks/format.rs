//! `format`: the token is a well-formed compact JWS. The parser found the problems
//! ([`crate::Token::findings`]); this check reports them.

use super::Cx;

/// Reports the parser's findings.
pub(crate) fn run(cx: &mut Cx<'_>) {
    for f in cx.token.findings() {
        cx.push(f.clone());
    }
}
